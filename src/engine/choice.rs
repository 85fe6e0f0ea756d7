//! The engine: where queries run. `local` is DataFusion in this process; the Ballista engines send
//! the same plans to a Ballista scheduler (a running cluster, or one started inside the process).

use std::fmt;
use std::str::FromStr;

use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result, Setting};

/// The engine that runs a session's queries.
///
/// ```
/// use tracecheck::engine::Engine;
/// assert_eq!("local".parse::<Engine>().unwrap(), Engine::Local);
/// assert_eq!(
///     "ballista://10.0.0.5:50050".parse::<Engine>().unwrap(),
///     Engine::Ballista { host: "10.0.0.5".into(), port: 50050 }
/// );
/// assert!("spark://x".parse::<Engine>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A running Ballista scheduler (`ballista://HOST:PORT`, port 50050 when omitted).
    Ballista {
        /// The scheduler's host name or address.
        host: String,
        /// The scheduler's gRPC port.
        port: u16,
    },
    /// A Ballista scheduler and executor started inside this process: the distributed planner,
    /// the plan serialization and the shuffle files of a cluster, on one machine.
    BallistaStandalone,
}

impl FromStr for Engine {
    type Err = Error;

    fn from_str(s: &str) -> Result<Engine> {
        let usage = |why: String| Error::Setting {
            setting: Setting::Engine,
            message: format!("{s:?}: {why}; expected `local`, `ballista://HOST:PORT` or `ballista-standalone`"),
        };
        match s {
            "local" => Ok(Engine::Local),
            "ballista-standalone" => Ok(Engine::BallistaStandalone),
            _ => {
                let Some(rest) = s.strip_prefix("ballista://") else {
                    return Err(usage("unknown engine".into()));
                };
                let rest = rest.trim_end_matches('/');
                let (host, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => (h, p.parse::<u16>().map_err(|_| usage(format!("{p:?} is not a port")))?),
                    None => (rest, 50050),
                };
                if host.is_empty() || host.contains('/') {
                    return Err(usage("the scheduler's host is missing".into()));
                }
                Ok(Engine::Ballista {
                    host: host.to_string(),
                    port,
                })
            }
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
            Engine::BallistaStandalone => f.write_str("ballista-standalone"),
        }
    }
}

/// Marks a session whose plans run elsewhere: memory tables of this process cannot be read there,
/// so `check` runs the standalone SQL instead of staging assignments in memory.
#[derive(Debug)]
#[cfg_attr(not(feature = "ballista"), allow(dead_code))]
pub(crate) struct Distributed;

impl Engine {
    /// Whether queries leave this process (memory tables are not available to them).
    pub fn is_distributed(&self) -> bool {
        !matches!(self, Engine::Local)
    }

    /// A new session on this engine, configured like [`super::session`].
    ///
    /// ```
    /// # async fn f() -> tracecheck::Result<()> {
    /// let ctx = tracecheck::engine::Engine::Local.session().await?;
    /// assert_eq!(ctx.sql("SELECT 1").await?.count().await?, 1);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
    /// ```
    pub async fn session(&self) -> Result<SessionContext> {
        match self {
            Engine::Local => Ok(SessionContext::new_with_config(base_config())),
            _ => self.distributed().await,
        }
    }

    #[cfg(feature = "ballista")]
    async fn distributed(&self) -> Result<SessionContext> {
        use ballista::prelude::{SessionConfigExt, SessionContextExt};
        use datafusion::execution::SessionStateBuilder;

        // Ballista 55's adaptive planner loops forever (re-planning stages it cannot cancel) on
        // plans with several joins of the compiled models; the static distributed planner runs
        // them. Found with the bank models; tests/it/ballista.rs runs every model on it.
        let config = base_config()
            .with_extension(std::sync::Arc::new(Distributed))
            .upgrade_for_ballista()
            .with_ballista_adaptive_query_planner(false)
            // Ballista prefers sort-merge joins (they spill); DataFusion 55's sort-merge join
            // panics on the join filters of models with let pairs ("index out of bounds" in
            // `sort_merge_join/filter.rs`), so the hash join it replaced is chosen again.
            .set_bool("datafusion.optimizer.prefer_hash_join", true);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        let ctx =
            match self {
                Engine::Ballista { host, port } => {
                    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state).await?;
                    // The client connects lazily: ask now, so a wrong address fails before any work.
                    ctx.sql("SELECT 1").await?.collect().await.map_err(|e| {
                        Error::Usage(format!("cannot reach the Ballista scheduler at {host}:{port}: {e}"))
                    })?;
                    ctx
                }
                Engine::BallistaStandalone => SessionContext::standalone_with_state(state).await?,
                Engine::Local => unreachable!("local sessions are made above"),
            };
        Ok(ctx)
    }

    #[cfg(not(feature = "ballista"))]
    async fn distributed(&self) -> Result<SessionContext> {
        Err(Error::Setting {
            setting: Setting::Engine,
            message: format!(
                "{self}: this tracecheck was built without Ballista; rebuild it with \
                 `cargo install --path . --features ballista`"
            ),
        })
    }
}

/// Whether `ctx` runs its plans outside this process.
pub(crate) fn is_distributed(ctx: &SessionContext) -> bool {
    ctx.state().config().get_extension::<Distributed>().is_some()
}

/// The config shared by every engine: DataFusion's defaults, changed by any `DATAFUSION_*`
/// environment variable (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`, ...; the command line checks
/// them first with [`check_env`], so an invalid one is an error there, not ignored here).
pub(crate) fn base_config() -> SessionConfig {
    SessionConfig::from_env()
        .unwrap_or_default()
        .with_information_schema(true)
        .with_default_catalog_and_schema("tracecheck", "public")
}

/// Checks the `DATAFUSION_*` environment variables that sessions read (see [`base_config`]).
///
/// ```
/// assert!(tracecheck::engine::check_env().is_ok());
/// ```
pub fn check_env() -> Result<()> {
    SessionConfig::from_env()
        .map(|_| ())
        .map_err(|e| Error::Usage(format!("a DATAFUSION_* environment variable is invalid: {e}")))
}
