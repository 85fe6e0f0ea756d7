//! `tracecheck explain MODELS...`: the SQL each model compiles to, ready to paste into any engine;
//! with `--data`, also the plan that `--engine` makes of it (which proves the SQL runs there).
//! `--stage ast` and `--stage typed` print the compiler's earlier representations instead: the
//! model AST as parsed, and the typed form the SQL is built from.

use std::io::Write;
use std::path::PathBuf;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Query;
use tracecheck::check::{compile_files, Compiled};
use tracecheck::model::{in_file, Item};
use tracecheck::{compile, engine, Error, Result};

/// Which representation of the models `explain` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The model AST, as the parser produced it (Rust debug form, with byte ranges).
    Ast,
    /// The typed representation: fields resolved, each value's type, each comparison's kind.
    Typed,
    /// The SQL the engine runs.
    Sql,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `.model` files.
    #[arg(required_unless_present = "traceql")]
    models: Vec<PathBuf>,
    /// Print the SQL of this TraceQL query instead (a metrics query takes its range from
    /// --start/--end/--step, or from --data).
    #[arg(long, value_name = "QUERY", conflicts_with = "models")]
    traceql: Option<String>,
    /// Which representation of the models to print.
    #[arg(long, value_enum, default_value = "sql", conflicts_with = "traceql")]
    stage: Stage,
    #[command(flatten)]
    range: super::query_cmd::RangeArgs,
    /// Also plan each query on this data (a dataset, or trace files with `--engine local`) and print
    /// the plans as SQL comments.
    #[arg(short, long, num_args = 1..)]
    data: Vec<PathBuf>,
    #[command(flatten)]
    engine: super::engine_arg::EngineArg,
}

pub async fn run(a: Args) -> Result<u8> {
    if let Some(text) = &a.traceql {
        return explain_traceql(&a, text).await;
    }
    if a.stage != Stage::Sql {
        if !a.data.is_empty() {
            return Err(Error::Usage("--data plans the SQL; it goes with --stage sql".into()));
        }
        return explain_stage(&a.models, a.stage);
    }
    let mut queries = Vec::new();
    for (name, blocks) in compile_files(&a.models)? {
        for block in blocks {
            // SQL comments cannot end early: a title holding a newline is printed on one line.
            match block {
                Compiled::Model(_, c) => {
                    let title = c.title.replace(['\n', '\r'], " ");
                    queries.push((format!("{name}: model {title:?}"), c.violations));
                }
                Compiled::Check(c) => {
                    let title = c.title.replace(['\n', '\r'], " ");
                    for r in &c.rules {
                        let text = r.text.replace(['\n', '\r'], " ");
                        queries.push((
                            format!("{name}: check {title:?}, rule {}: {text}", r.index),
                            r.query.clone(),
                        ));
                    }
                }
            }
        }
    }
    let ctx = match a.data.is_empty() {
        true => {
            // The SQL is the same for every engine; only a plan needs one. Said once, on stderr,
            // so that stdout stays the SQL (an engine from TRACECHECK_ENGINE is not worth a note).
            if a.engine.engine != engine::Engine::Local && std::env::var_os(super::engine_arg::ENGINE_ENV).is_none() {
                eprintln!(
                    "tracecheck: note: --engine {} has nothing to plan without --data; the SQL is the same on every engine",
                    a.engine.engine
                );
            }
            None
        }
        false => Some(a.engine.open(&a.data).await?),
    };
    let mut out = std::io::stdout().lock();
    for (heading, query) in queries {
        let mut text = format!("-- {heading}\n{query:#};\n");
        if let Some(ctx) = &ctx {
            text.push_str(&format!("-- plan on {}:\n", a.engine.engine));
            for line in plan(ctx, &query).await?.lines() {
                text.push_str(&format!("--   {line}\n"));
            }
        }
        writeln!(out, "{text}").map_err(|e| Error::io("<stdout>", e))?;
    }
    Ok(0)
}

/// `explain --stage ast|typed`: each block of each file in that representation, under the same
/// `-- FILE: model "TITLE"` headings as the SQL.
fn explain_stage(models: &[PathBuf], stage: Stage) -> Result<u8> {
    let mut out = String::new();
    for path in models {
        let (name, source, file) = tracecheck::model::read_file(path)?;
        let located = in_file(&name, &source);
        if stage == Stage::Typed {
            // What `check` rejects (duplicate titles across blocks) is not typed either.
            file.validate().map_err(&located)?;
        }
        for item in &file.items {
            let (heading, text) = match item {
                Item::Model(m) => (
                    format!("model {:?}", m.title.node),
                    match stage {
                        Stage::Ast => format!("{m:#?}\n"),
                        _ => compile::type_model(m).map_err(&located)?.to_string(),
                    },
                ),
                Item::Check(c) => (
                    format!("check {:?}", c.title.node),
                    match stage {
                        Stage::Ast => format!("{c:#?}\n"),
                        _ => compile::type_check(c).map_err(&located)?.to_string(),
                    },
                ),
            };
            // As in the SQL's headings, a title holding a newline is printed on one line.
            let heading = heading.replace(['\n', '\r'], " ");
            out.push_str(&format!("-- {name}: {heading}\n{text}\n"));
        }
    }
    print(&out)
}

/// `explain --traceql`: the SQL a TraceQL query runs as (and with --data its plan), ready for any
/// engine that has the four tables.
async fn explain_traceql(a: &Args, text: &str) -> Result<u8> {
    let parsed = tracecheck::traceql::parse(text).map_err(|e| e.into_error("query", text))?;
    let ctx = match a.data.is_empty() {
        true => None,
        false => Some(a.engine.open(&a.data).await?),
    };
    let range = match parsed.metrics {
        Some(_) => Some(a.range.resolve(ctx.as_ref()).await?.ok_or_else(|| {
            Error::Usage("a metrics query needs its range: --start, --end and --step, or --data".into())
        })?),
        None => None,
    };
    let compiled = tracecheck::traceql::compile::compile(&parsed, range).map_err(|e| e.into_error("query", text))?;
    let mut out = format!("-- TraceQL: {}\n{};\n", text.replace(['\n', '\r'], " "), compiled.sql);
    if let Some(ctx) = &ctx {
        out.push_str(&format!("-- plan on {}:\n", a.engine.engine));
        let batches = tracecheck::traceql::session_for(ctx)
            .sql(&format!("EXPLAIN {}", compiled.sql))
            .await?
            .collect()
            .await?;
        for line in physical_plan(&batches)?.lines() {
            out.push_str(&format!("--   {line}\n"));
        }
    }
    print(&out)
}

/// The physical plan of `query` on the session's engine, planned from the tree as `check` runs it
/// (the text would meet the SQL parser's recursion limit on large models).
async fn plan(ctx: &SessionContext, query: &Query) -> Result<String> {
    let batches = engine::explain_query(ctx, query).await?.collect().await?;
    physical_plan(&batches)
}

/// The `physical_plan` rows of an `EXPLAIN` result.
fn physical_plan(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Result<String> {
    let mut text = String::new();
    for b in batches {
        // Text columns, whatever string type the engine answers with.
        let (kind, plan) = (cast(b.column(0), &DataType::Utf8)?, cast(b.column(1), &DataType::Utf8)?);
        let (kind, plan) = (kind.as_string::<i32>(), plan.as_string::<i32>());
        for i in 0..b.num_rows() {
            if kind.value(i) == "physical_plan" {
                text.push_str(plan.value(i));
            }
        }
    }
    Ok(text)
}

/// Writes `out` to stdout: the command's whole output, at once.
fn print(out: &str) -> Result<u8> {
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(0)
}
