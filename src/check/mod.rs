//! Running compiled models on a session: violations, how often each rule applied, and warnings.
//!
//! ```
//! # async fn f() -> tracecheck::Result<()> {
//! use tracecheck::model::builder::*;
//! let model = Model::new("Accounts cannot withdraw more than their balance")
//!     .when(less_than(span().name("fetch-balance").tag("amount"), span().name("withdrawal").tag("amount")))
//!     .expect(span().name("rollback"))
//!     .not_expect(span().name("commit"));
//! let data = tracecheck::engine::open(&["datasets/bank".into()]).await?;
//! let report = tracecheck::check::check(&model, &data).await?;
//! println!("{} violations", report.violation_count());
//! # Ok(()) }
//! ```

mod aggregate;
mod names;
mod rows;
pub mod traces;

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::compile::{compile_check, compile_model, CompiledCheck, CompiledModel, STAGED_A};
use crate::error::{Error, Result};
use crate::model::{File, Item, Model};
pub use aggregate::{display_value, run_check, CheckReport, Measurement, RuleReport};
pub use names::DataNames;

/// One failing (trace, clause, assignment of the lets).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    /// The model's title.
    pub model: String,
    /// 1-based index of the failing `expect` in the model.
    pub clause: usize,
    /// The trace (32 lowercase hex digits).
    pub trace_id: String,
    /// The span assigned to each let, in let order: (name, span id).
    pub assignment: Vec<(String, String)>,
    /// How many spans matched the clause.
    pub matched: i64,
    /// The span ids that matched the clause, ascending.
    pub witnesses: Vec<String>,
}

/// The outcome of one model on one dataset.
#[derive(Clone, Debug, Serialize)]
pub struct ModelReport {
    /// The model's title.
    pub title: String,
    /// The `expect` clauses as written (canonical form), clause 1 first.
    pub clauses: Vec<String>,
    /// How many let tuples (or traces, without lets) satisfied `when`.
    pub assignments: u64,
    /// In how many traces `when` held.
    pub traces: u64,
    /// Every violation, ordered by clause, trace and assignment.
    pub violations: Vec<Violation>,
    /// Vacuity and unknown-name warnings.
    pub warnings: Vec<String>,
}

impl ModelReport {
    /// No violation (warnings aside).
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }

    /// `when` never held: the model proved nothing on this data.
    pub fn vacuous(&self) -> bool {
        self.assignments == 0
    }

    /// The number of distinct traces with a violation.
    pub fn violating_traces(&self) -> usize {
        let mut ids: Vec<&str> = self.violations.iter().map(|v| v.trace_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// The outcome of the models of one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The file name as given (or a label for models made in Rust).
    pub path: String,
    /// One report per model, in file order.
    pub models: Vec<ModelReport>,
    /// One report per `check` block, in file order.
    pub checks: Vec<CheckReport>,
}

/// The outcome of a whole `check` run.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Report {
    /// One entry per model file.
    pub files: Vec<FileReport>,
    /// Whether warnings count as failures (`--strict`).
    pub strict: bool,
}

impl Report {
    /// All violations of all models.
    pub fn violation_count(&self) -> usize {
        self.models().map(|m| m.violations.len()).sum()
    }

    /// Every model report.
    pub fn models(&self) -> impl Iterator<Item = &ModelReport> {
        self.files.iter().flat_map(|f| &f.models)
    }

    /// Every check report.
    pub fn checks(&self) -> impl Iterator<Item = &CheckReport> {
        self.files.iter().flat_map(|f| &f.checks)
    }

    /// Whether every model and check holds (and, when strict, no warning was raised).
    pub fn holds(&self) -> bool {
        self.models()
            .all(|m| m.holds() && (!self.strict || m.warnings.is_empty()))
            && self
                .checks()
                .all(|c| c.holds() && (!self.strict || c.warnings().next().is_none()))
    }

    /// The process exit code: 0 all hold, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.holds() {
            0
        } else {
            1
        }
    }
}

/// Checks one model against the data in `ctx` (the seed's `Check(model, data)`).
pub async fn check(model: &Model, ctx: &SessionContext) -> Result<Report> {
    let names = DataNames::load(ctx).await?;
    let blocks = [Compiled::Model(
        Box::new(model.clone()),
        Box::new(compile_built(model)?),
    )];
    let file = check_compiled("<builder>", &blocks, ctx, &names, None).await?;
    Ok(Report {
        files: vec![file],
        strict: false,
    })
}

/// A compiled block of a model file.
#[derive(Clone, Debug)]
pub enum Compiled {
    /// A `model` block and its queries (boxed: a compiled model holds whole SQL trees).
    Model(Box<Model>, Box<CompiledModel>),
    /// A `check` block and its queries.
    Check(CompiledCheck),
}

/// Compiles every block of a parsed file; errors name the file and the offending text.
pub fn compile_file(path: &str, source: &str, file: &File) -> Result<Vec<Compiled>> {
    let model_error = |error: crate::model::ModelError| Error::Model {
        file: path.to_string(),
        source_text: source.to_string(),
        error: error.into(),
    };
    file.validate().map_err(model_error)?;
    file.items
        .iter()
        .map(|item| match item {
            Item::Model(m) => Ok(Compiled::Model(
                Box::new(m.clone()),
                Box::new(compile_model(m).map_err(model_error)?),
            )),
            Item::Check(c) => Ok(Compiled::Check(compile_check(c).map_err(model_error)?)),
        })
        .collect()
}

/// Reads, parses and compiles model files, each named as given, before any data is read (so a
/// typo fails in milliseconds): the one way the commands (`check`, `explain`, `watch`) load models.
///
/// ```
/// let files = tracecheck::check::compile_files(&["queries/bank.model".into()]).unwrap();
/// assert_eq!(files[0].0, "queries/bank.model");
/// assert_eq!(files[0].1.len(), 7);
/// assert!(tracecheck::check::compile_files(&["no/such.model".into()]).is_err());
/// ```
pub fn compile_files(paths: &[std::path::PathBuf]) -> Result<Vec<(String, Vec<Compiled>)>> {
    paths
        .iter()
        .map(|path| {
            let (name, source, file) = crate::model::read_file(path)?;
            let blocks = compile_file(&name, &source, &file)?;
            Ok((name, blocks))
        })
        .collect()
}

/// Runs the compiled blocks of one file. `baseline` is the data that `baseline` thresholds refer to.
pub async fn check_compiled(
    path: &str,
    blocks: &[Compiled],
    ctx: &SessionContext,
    names: &DataNames,
    baseline: Option<&SessionContext>,
) -> Result<FileReport> {
    check_compiled_in_passes(path, blocks, ctx, &[], names, baseline).await
}

/// [`check_compiled`], with the models run once per session of `passes` (each over one range of
/// trace ids, from [`crate::engine::pass_sessions`]; none: over `ctx` at once) and their results
/// added up. Models relate spans of one trace, so the report is the same whatever the passes;
/// what changes is that a pass holds one range's traces in memory. Checks (aggregates over all
/// traces) run over `ctx`.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::check::{check_compiled_in_passes, compile_file, DataNames};
/// use tracecheck::engine::{open, pass_sessions};
/// let source = std::fs::read_to_string("queries/bank.model").unwrap();
/// let blocks = compile_file("bank", &source, &tracecheck::model::parse_file(&source).unwrap())?;
/// let data = vec!["big-dataset".into()];
/// let ctx = open(&data).await?;
/// let passes = pass_sessions(&ctx, &data, 20_000_000).await?;
/// let names = DataNames::load(&ctx).await?;
/// let report = check_compiled_in_passes("bank", &blocks, &ctx, &passes, &names, None).await?;
/// # Ok(()) }
/// ```
pub async fn check_compiled_in_passes(
    path: &str,
    blocks: &[Compiled],
    ctx: &SessionContext,
    passes: &[SessionContext],
    names: &DataNames,
    baseline: Option<&SessionContext>,
) -> Result<FileReport> {
    let sessions: Vec<&SessionContext> = match passes {
        [] => vec![ctx],
        _ => passes.iter().collect(),
    };
    let models: Vec<(&Model, &CompiledModel)> = blocks
        .iter()
        .filter_map(|b| match b {
            Compiled::Model(m, c) => Some((m.as_ref(), c.as_ref())),
            Compiled::Check(_) => None,
        })
        .collect();
    let mut found: Vec<(Vec<Violation>, u64, u64)> = vec![(Vec::new(), 0, 0); models.len()];
    for session in sessions {
        // Tag values computed for one model are reused by the next ones of the file (per pass).
        let mut tags = SharedTags::new(session);
        for ((_, compiled), sum) in models.iter().zip(&mut found) {
            let (violations, stats) = staged(compiled, session, true, &mut tags).await?;
            let (assignments, traces) = stats.unwrap_or_default();
            sum.0.extend(violations);
            sum.1 += assignments;
            sum.2 += traces;
        }
    }
    let models = models
        .iter()
        .zip(found)
        .map(|((model, _), (mut violations, assignments, traces))| {
            violations.sort();
            model_report(model, names, violations, assignments, traces)
        })
        .collect();
    let mut checks = Vec::new();
    for block in blocks {
        if let Compiled::Check(c) = block {
            checks.push(run_check(c, ctx, baseline).await?);
        }
    }
    Ok(FileReport {
        path: path.to_string(),
        models,
        checks,
    })
}

/// A model's report from its violations and counts, with its warnings.
fn model_report(
    model: &Model,
    names: &DataNames,
    violations: Vec<Violation>,
    assignments: u64,
    traces: u64,
) -> ModelReport {
    let mut warnings = names.unknown_in(model);
    if assignments == 0 {
        let what = if model.when.is_some() {
            "`when` never held"
        } else {
            "no trace had spans for its lets"
        };
        warnings.insert(0, format!("vacuous: {what} in this data, so the model proved nothing"));
    }
    ModelReport {
        title: model.title.node.clone(),
        clauses: model.expects.iter().map(|e| e.to_string()).collect(),
        assignments,
        traces,
        violations,
        warnings,
    }
}

/// The violations of a compiled model, computed the staged way (assignments once, in memory; on a
/// distributed engine the standalone SQL instead), and with `stats` the number of assignments and
/// traces where `when` held.
async fn staged(
    compiled: &CompiledModel,
    ctx: &SessionContext,
    stats: bool,
    tags: &mut SharedTags<'_>,
) -> Result<(Vec<Violation>, Option<(u64, u64)>)> {
    if crate::engine::is_distributed(ctx) {
        // A memory table of this process cannot be read by remote executors: the standalone SQL
        // (the one `explain` prints) computes the assignments inside each query instead.
        let violations = run_violations(compiled, ctx).await?;
        let stats = match stats {
            true => Some(rows::stats(ctx, &compiled.stats).await?),
            false => None,
        };
        return Ok((violations, stats));
    }
    // Each tag's values are computed once per run (a file of models) and shared by its models (a
    // model that reads a tag twice, or two models reading one tag, would each scan `tags` again).
    tags.ensure(compiled).await?;
    // The assignments are computed once and held in memory while the expects and the statistics
    // read them (the standalone SQL of `explain` would compute them once per expect).
    let df = crate::engine::run_query(ctx, &compiled.staged_assignments).await?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let rows_of_a = df.collect().await?;
    let table = datafusion::datasource::MemTable::try_new(schema, vec![rows_of_a])?;
    ctx.register_table(STAGED_A, std::sync::Arc::new(table))?;
    let result = async {
        let batches = crate::engine::run_query(ctx, &compiled.staged_violations)
            .await?
            .collect()
            .await?;
        let violations = rows::violations(&batches, &compiled.let_names)?;
        let stats = match stats {
            true => Some(rows::stats(ctx, &compiled.staged_stats).await?),
            false => None,
        };
        Ok::<_, Error>((violations, stats))
    }
    .await;
    ctx.deregister_table(STAGED_A)?;
    result
}

/// The tag tables of the staged plan ([`crate::compile::shared_tag_table`]) that one run registered
/// in a session. They are dropped when the run ends (even on an error), so a session whose tables
/// change afterwards never reads stale values.
struct SharedTags<'a> {
    ctx: &'a SessionContext,
    registered: Vec<String>,
}

impl<'a> SharedTags<'a> {
    fn new(ctx: &'a SessionContext) -> Self {
        SharedTags {
            ctx,
            registered: Vec::new(),
        }
    }

    /// Registers a memory table with the values of each tag key of `compiled` not registered yet.
    async fn ensure(&mut self, compiled: &CompiledModel) -> Result<()> {
        for key in &compiled.tag_keys {
            let name = crate::compile::shared_tag_table(key);
            if self.registered.contains(&name) {
                continue;
            }
            let df = crate::engine::run_query(self.ctx, &crate::compile::tag_values_query(key)).await?;
            let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
            let rows = df.collect().await?;
            let table = datafusion::datasource::MemTable::try_new(schema, vec![rows])?;
            self.ctx.register_table(name.as_str(), std::sync::Arc::new(table))?;
            self.registered.push(name);
        }
        Ok(())
    }
}

impl Drop for SharedTags<'_> {
    fn drop(&mut self) {
        for name in &self.registered {
            // Deregistering a table this run registered cannot fail in a way worth reporting.
            let _ = self.ctx.deregister_table(name.as_str());
        }
    }
}

/// Only the violations of a compiled model (no statistics): what a live checker needs, with one
/// query fewer than [`check_compiled`].
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::model::builder::*;
/// let model = Model::new("m").not_expect(span().name("rollback"));
/// let compiled = tracecheck::compile::compile_model(&model).unwrap();
/// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// let v = tracecheck::check::violations_only(&compiled, &ctx).await?;
/// assert!(!v.is_empty());
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn violations_only(compiled: &CompiledModel, ctx: &SessionContext) -> Result<Vec<Violation>> {
    Ok(staged(compiled, ctx, false, &mut SharedTags::new(ctx)).await?.0)
}

async fn run_violations(compiled: &CompiledModel, ctx: &SessionContext) -> Result<Vec<Violation>> {
    let batches = crate::engine::run_query(ctx, &compiled.violations)
        .await?
        .collect()
        .await?;
    rows::violations(&batches, &compiled.let_names)
}

/// The violations of `model` in the data of `ctx`, ordered by clause, trace id and assignment.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::model::builder::*;
/// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// let v = tracecheck::check::model_violations(&Model::new("m").not_expect(span().name("nope")), &ctx).await?;
/// assert!(v.is_empty());
/// # Ok(()) }
/// ```
pub async fn model_violations(model: &Model, ctx: &SessionContext) -> Result<Vec<Violation>> {
    let compiled = compile_built(model)?;
    run_violations(&compiled, ctx).await
}

/// Compiles a model made in Rust (no source text to point into).
fn compile_built(model: &Model) -> Result<CompiledModel> {
    compile_model(model).map_err(|error| Error::Model {
        file: "<builder>".into(),
        source_text: String::new(),
        error: error.into(),
    })
}
