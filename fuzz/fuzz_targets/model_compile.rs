//! The model language end to end, short of running queries: model text → `parse_file` → canonical
//! print (`format_file`) → `check::compile_file` (validation, types, SQL for every `model` and
//! `check` block) → a DataFusion logical plan for every compiled query (`engine::run_query` builds
//! the plan and a DataFrame; nothing is collected), over empty tables with the dataset schema. The
//! staged queries see empty tag tables and an empty `a` with the schemas their queries produce, as
//! `check` registers them. Non-UTF-8 inputs return early.
//!
//! Planning errors are not failures by default (DataFusion may refuse what the compiler accepted,
//! e.g. a literal it cannot coerce); with `FUZZ_STRICT_PLAN=1` a compiled query that does not plan
//! panics, to find models that compile into SQL the engine refuses.
#![no_main]

use std::sync::{Arc, OnceLock};

use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::sqlparser::ast::Query;
use libfuzzer_sys::fuzz_target;
use tracecheck::check::{compile_file, Compiled};
use tracecheck::compile::{shared_tag_table, tag_values_query, CompiledModel, STAGED_A};
use tracecheck::engine::{register_raw, run_query, session};
use tracecheck::ingest::RawTables;
use tracecheck::model::{format_file, parse_file};

struct Env {
    rt: tokio::runtime::Runtime,
    ctx: SessionContext,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let ctx = session();
        // The four tables, empty, with the schema of a dataset.
        register_raw(&ctx, RawTables::new(false)).expect("empty tables");
        Env { rt, ctx }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = parse_file(source) else {
        return;
    };
    let _ = format_file(&file);
    let Ok(blocks) = compile_file("fuzz.model", source, &file) else {
        return;
    };
    let env = env();
    env.rt.block_on(async {
        for block in &blocks {
            match block {
                Compiled::Model(_, compiled) => plan_model(&env.ctx, compiled).await,
                Compiled::Check(check) => {
                    for rule in &check.rules {
                        let _ = rule.sql();
                        let _ = plan(&env.ctx, &rule.query).await;
                        // The sliding windows of `watch`.
                        if let Ok(live) = rule.windowed(60_000_000_000, 10_000_000_000) {
                            let _ = plan(&env.ctx, &live.query).await;
                        }
                    }
                }
            }
        }
    });
});

async fn plan(ctx: &SessionContext, query: &Query) -> Option<DataFrame> {
    static STRICT: OnceLock<bool> = OnceLock::new();
    let strict = *STRICT.get_or_init(|| std::env::var_os("FUZZ_STRICT_PLAN").is_some_and(|v| v != "0"));
    match run_query(ctx, query).await {
        Ok(df) => Some(df),
        Err(e) if strict => panic!("a compiled query does not plan: {e}\n{query}"),
        Err(_) => None,
    }
}

/// Registers an empty memory table with the schema of `df` (what `check` fills with its rows).
fn register_empty(ctx: &SessionContext, name: &str, df: &DataFrame) -> bool {
    let schema = Arc::new(df.schema().as_arrow().clone());
    match MemTable::try_new(schema, vec![vec![]]) {
        Ok(table) => ctx.register_table(name, Arc::new(table)).is_ok(),
        Err(_) => false,
    }
}

async fn plan_model(ctx: &SessionContext, compiled: &CompiledModel) {
    let _ = compiled.sql();
    let _ = compiled.stats_sql();
    // The standalone queries (`explain`, distributed engines).
    let _ = plan(ctx, &compiled.violations).await;
    let _ = plan(ctx, &compiled.stats).await;
    // The staged queries (`check` on the local engine).
    let mut registered = Vec::new();
    for key in &compiled.tag_keys {
        let name = shared_tag_table(key);
        if registered.contains(&name) {
            continue;
        }
        if let Some(df) = plan(ctx, &tag_values_query(key)).await {
            if register_empty(ctx, &name, &df) {
                registered.push(name);
            }
        }
    }
    if let Some(df) = plan(ctx, &compiled.staged_assignments).await {
        if register_empty(ctx, STAGED_A, &df) {
            registered.push(STAGED_A.to_string());
            let _ = plan(ctx, &compiled.staged_violations).await;
            let _ = plan(ctx, &compiled.staged_stats).await;
        }
    }
    for name in registered {
        let _ = ctx.deregister_table(name.as_str());
    }
}
