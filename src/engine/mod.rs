//! The query engine: DataFusion sessions with the four trace tables registered.
//!
//! The data of a session is dataset folders (read in place as Parquet listing tables) or raw trace
//! files and folders of them (decoded by the pipeline's decode step, `pipeline::decode_paths`,
//! assembled in memory, then registered as memory tables): the same SQL answers the same way on
//! both.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::sqlparser::ast::{Query, Statement};

use crate::error::{Error, Result, Setting};
use crate::ingest::{RawTables, Span, SpanSink};
use crate::pipeline::{decode_paths, DecodeOptions};
use crate::schema::{table_schema, TABLES};
use crate::store::{assemble, is_dataset, Dataset, Manifest};

mod choice;
mod passes;
pub(crate) use choice::is_distributed;
pub use choice::{check_env, Engine};
pub use passes::{pass_session, pass_sessions, trace_ranges, TraceRange};

/// Runs a query the compiler built, handing DataFusion its syntax tree rather than its text.
///
/// Printing the SQL and parsing it again costs time and more: DataFusion's SQL parser stops at 50
/// levels of recursion (a model with 44 predicates in one selector, or 48 expects, went past it)
/// and backtracks through nested function calls (a sum of 44 durations took minutes to parse).
/// The tree is planned exactly as the parsed text would be. `explain` still prints the text, which
/// is what other engines are given.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> tracecheck::Result<()> {
/// use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
/// let ctx = datafusion::prelude::SessionContext::new();
/// let stmt = Parser::parse_sql(&GenericDialect {}, "SELECT 1 + 1 AS two").unwrap().remove(0);
/// let datafusion::sql::sqlparser::ast::Statement::Query(q) = stmt else { unreachable!() };
/// let batches = tracecheck::engine::run_query(&ctx, &q).await?.collect().await?;
/// assert_eq!(batches[0].num_rows(), 1);
/// # Ok(()) }
/// ```
pub async fn run_query(ctx: &SessionContext, query: &Query) -> Result<DataFrame> {
    let query = crate::compile::sql::for_planner(query);
    let statement = datafusion::sql::parser::Statement::Statement(Box::new(Statement::Query(Box::new(query))));
    let plan = ctx.state().statement_to_plan(statement).await?;
    Ok(ctx.execute_logical_plan(plan).await?)
}

/// The plan of `query` as `EXPLAIN` would show it, planned from the tree like [`run_query`] (so
/// a model that `check` runs can always be explained, whatever its size).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> tracecheck::Result<()> {
/// use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
/// let ctx = datafusion::prelude::SessionContext::new();
/// let stmt = Parser::parse_sql(&GenericDialect {}, "SELECT 1 AS one").unwrap().remove(0);
/// let datafusion::sql::sqlparser::ast::Statement::Query(q) = stmt else { unreachable!() };
/// let batches = tracecheck::engine::explain_query(&ctx, &q).await?.collect().await?;
/// assert!(batches.iter().map(|b| b.num_rows()).sum::<usize>() >= 2, "a logical and a physical plan");
/// # Ok(()) }
/// ```
pub async fn explain_query(ctx: &SessionContext, query: &Query) -> Result<DataFrame> {
    use datafusion::sql::parser::{ExplainStatement, Statement as DfStatement};
    let query = crate::compile::sql::for_planner(query);
    let inner = DfStatement::Statement(Box::new(Statement::Query(Box::new(query))));
    let statement = DfStatement::Explain(ExplainStatement {
        options: Default::default(),
        statement: Box::new(inner),
    });
    let plan = ctx.state().statement_to_plan(statement).await?;
    Ok(ctx.execute_logical_plan(plan).await?)
}

/// A fresh DataFusion session configured for trace queries.
///
/// ```
/// let ctx = tracecheck::engine::session();
/// assert!(ctx.state().config().target_partitions() >= 1);
/// ```
pub fn session() -> SessionContext {
    SessionContext::new_with_config(choice::base_config())
}

/// Opens `paths` (datasets, or raw trace files / folders of them) in a new session.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
/// # Ok(()) }
/// ```
pub async fn open(paths: &[PathBuf]) -> Result<SessionContext> {
    open_on(&Engine::Local, paths).await
}

/// Opens `paths` in a new session on `engine`. Distributed engines read datasets only: their
/// executors open the dataset's Parquet files themselves, by the same (absolute) paths.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::engine::{open_on, Engine};
/// let ctx = open_on(&"ballista://127.0.0.1:50050".parse()?, &["datasets/bank".into()]).await?;
/// # Ok(()) }
/// ```
pub async fn open_on(engine: &Engine, paths: &[PathBuf]) -> Result<SessionContext> {
    if engine.is_distributed()
        && let Some(raw) = paths.iter().find(|p| !is_dataset(p))
    {
        return Err(Error::Setting {
            setting: Setting::Engine,
            message: format!(
                "{engine} reads datasets only, and {} is not one: its executors cannot see files \
                     decoded in this process; ingest it into a dataset first (`pipeline::ingest_paths`)",
                raw.display()
            ),
        });
    }
    let ctx = engine.session().await?;
    register(&ctx, paths).await?;
    Ok(ctx)
}

/// Registers the four tables of `paths` in `ctx`.
pub async fn register(ctx: &SessionContext, paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Setting {
            setting: Setting::Data,
            message: "is empty: give datasets or trace files".into(),
        });
    }
    let datasets: Vec<&PathBuf> = paths.iter().filter(|p| is_dataset(p)).collect();
    if datasets.len() == paths.len() {
        for d in &datasets {
            Dataset::check_meta(d)?;
        }
        return register_datasets(ctx, &datasets).await;
    }
    if !datasets.is_empty() {
        return Err(Error::Setting {
            setting: Setting::Data,
            message: format!(
                "mixes datasets ({}) with raw trace files; ingest the files into a dataset first",
                datasets[0].display()
            ),
        });
    }
    let raw = decode_paths(paths, &DecodeOptions::default())?;
    register_raw(ctx, raw.tables)
}

/// Opens spans held in memory (e.g. made by a test) in a new session: they are assembled exactly as
/// `ingest` would (ids, structure columns, tags) and registered as memory tables.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::ingest::Span;
/// let spans = vec![Span { trace_id: 1, span_id: 2, name: "a".into(), ..Span::default() }];
/// let ctx = tracecheck::engine::open_spans(spans).await?;
/// let n = ctx.sql("SELECT count(*) FROM spans").await?.count().await?;
/// assert_eq!(n, 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn open_spans(spans: Vec<Span>) -> Result<SessionContext> {
    let mut raw = RawTables::new(false);
    for s in spans {
        raw.push(s)?;
    }
    let ctx = session();
    register_raw(&ctx, raw)?;
    Ok(ctx)
}

/// Assembles decoded tables in memory and registers them in `ctx`.
pub fn register_raw(ctx: &SessionContext, raw: RawTables) -> Result<()> {
    let (parts, _) = assemble(raw, usize::MAX)?;
    for table in TABLES {
        let schema = table_schema(table).expect("known table");
        let batches = parts.iter().map(|p| p.table(table).clone()).collect();
        let mem = MemTable::try_new(schema, vec![batches])?;
        ctx.register_table(table, Arc::new(mem))?;
    }
    Ok(())
}

async fn register_datasets(ctx: &SessionContext, datasets: &[&PathBuf]) -> Result<()> {
    // One manifest read per dataset: all four tables see the same parts.
    let manifests = datasets.iter().map(|d| Manifest::load(d)).collect::<Result<Vec<_>>>()?;
    for table in TABLES {
        let mut urls = Vec::new();
        for (d, m) in datasets.iter().zip(&manifests) {
            match m {
                Some(m) => {
                    let dir = d.join(table);
                    let abs = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
                    for part in &m.parts {
                        let file = abs.join(format!("{part}.parquet"));
                        urls.push(ListingTableUrl::parse(file.display().to_string())?);
                    }
                }
                // Written before manifests: every file in the folder.
                None => urls.push(table_url(d, table)?),
            }
        }
        let mut schema = table_schema(table).expect("known table");
        if is_distributed(ctx) {
            // Ballista 55 rebuilds a stage's output schema from the plan it receives and loses
            // the nullability a LEFT JOIN gives the right side's columns ("declared as
            // non-nullable but contains null values"): declared nullable, they survive it.
            let fields: Vec<_> = schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect();
            schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        }
        if urls.is_empty() {
            ctx.register_table(table, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
            continue;
        }
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        ctx.register_table(table, Arc::new(ListingTable::try_new(config)?))?;
    }
    Ok(())
}

fn table_url(dataset: &Path, table: &str) -> Result<ListingTableUrl> {
    let dir = dataset.join(table);
    let abs = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    // A trailing slash makes the URL a folder to list, not a file.
    Ok(ListingTableUrl::parse(format!("{}/", abs.display()))?)
}
