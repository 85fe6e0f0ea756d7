//! The compiler: model AST → SQL (a sqlparser AST, printed for `explain` and for the engine).
//!
//! | stage | input | output | module |
//! | --- | --- | --- | --- |
//! | type | [`Model`], [`Check`](crate::model::Check) | [`TypedModel`], [`TypedCheck`]: fields resolved, every value and comparison typed; or a [`ModelError`] at the offending text | [`typed`] (rules in [`types`]) |
//! | build | [`TypedModel`], [`TypedCheck`] | [`CompiledModel`]: the violations query and the statistics query; [`CompiledCheck`]: a query per rule | `model`, `check`, `values`, [`sql`] |
//! | print | sqlparser AST | SQL text any engine (DataFusion, Ballista, DuckDB) can run | [`CompiledModel::sql`] |
//!
//! The violations query returns one row per violation with the columns `model`, `clause` (1-based
//! index of the failing `expect`), `trace_id`, one `let_NAME` column per let (the assigned span id),
//! `matched` (how many spans matched the clause) and `witnesses` (their span ids, comma-separated, in
//! ascending order). docs/LANGUAGE.md states the exact semantics.
//!
//! ```
//! use tracecheck::model::parse_file;
//! use tracecheck::compile::compile_model;
//! use tracecheck::model::Item;
//!
//! let file = parse_file(r#"model "m" { expect no span(name = "x'; DROP TABLE spans; --") }"#).unwrap();
//! let Item::Model(m) = &file.items[0] else { unreachable!() };
//! let sql = compile_model(m).unwrap().sql();
//! assert!(sql.contains("'x''; DROP TABLE spans; --'"));
//! ```

mod block;
mod check;
mod model;
pub mod sql;
pub mod typed;
pub mod types;
mod values;

use datafusion::sql::sqlparser::ast::Query;

pub use check::{build_check, compile_check, CompiledCheck, CompiledRule};
pub use typed::{type_check, type_model, TypedCheck, TypedModel, Unit};

use crate::model::{Model, ModelError};

/// A compiled model.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// The model's title.
    pub title: String,
    /// The let names, in order (the `let_NAME` columns).
    pub let_names: Vec<String>,
    /// The query whose rows are the violations.
    pub violations: Query,
    /// A query returning one row: `assignments` (how often `when` held, per let tuple) and `traces`
    /// (in how many traces).
    pub stats: Query,
    /// The staged form that `check` runs: `staged_assignments` gives the rows of `a` (the
    /// assignments); registered as the table [`STAGED_A`], `staged_violations` and `staged_stats`
    /// give the same rows as `violations` and `stats`. An engine inlines a CTE at every use, and
    /// `a` is used once per `expect` plus once for the statistics.
    pub staged_assignments: Query,
    /// See [`CompiledModel::staged_assignments`].
    pub staged_violations: Query,
    /// See [`CompiledModel::staged_assignments`].
    pub staged_stats: Query,
    /// The tag keys the model reads. The staged queries read the values of each from the table
    /// named [`shared_tag_table`], which must hold the rows of [`tag_values_sql`] (`check` fills
    /// it once per run, for all the models of a file).
    pub tag_keys: Vec<String>,
}

/// The table the staged queries read the values of tag `key` from.
///
/// ```
/// assert_eq!(tracecheck::compile::shared_tag_table("ab"), "tracecheck_tag_6162");
/// ```
pub fn shared_tag_table(key: &str) -> String {
    values::shared_tag_table(key)
}

/// The query whose rows fill [`shared_tag_table`]: the values of tag `key` per span (its span
/// attribute, else its resource attribute), the same rows the standalone SQL's `tag_i` CTE has.
///
/// ```
/// assert!(tracecheck::compile::tag_values_sql("amount").contains("'amount'"));
/// ```
pub fn tag_values_sql(key: &str) -> String {
    format!("{:#}", values::tag_values(key))
}

/// [`tag_values_sql`] as a syntax tree (what `check` hands the engine).
pub fn tag_values_query(key: &str) -> Query {
    values::tag_values(key)
}

/// The table name the staged queries read the assignments from.
pub const STAGED_A: &str = model::STAGED_A;

impl CompiledModel {
    /// The violations query as formatted SQL.
    ///
    /// ```
    /// # use tracecheck::model::builder::*;
    /// let sql = tracecheck::compile::compile_model(&Model::new("m").expect(span().name("a"))).unwrap().sql();
    /// assert!(sql.starts_with("WITH"));
    /// ```
    pub fn sql(&self) -> String {
        format!("{:#}", self.violations)
    }

    /// The statistics query as SQL.
    ///
    /// ```
    /// # use tracecheck::model::builder::*;
    /// let c = tracecheck::compile::compile_model(&Model::new("m").expect(span())).unwrap();
    /// assert!(c.stats_sql().contains("count(DISTINCT a.trace_id)"));
    /// ```
    pub fn stats_sql(&self) -> String {
        self.stats.to_string()
    }
}

/// Compiles a model (type checks included).
///
/// ```
/// let bad = tracecheck::model::parse_file(r#"model "m" { expect span(duration > 5) }"#).unwrap();
/// let tracecheck::model::Item::Model(bad) = &bad.items[0] else { unreachable!() };
/// let err = tracecheck::compile::compile_model(bad).unwrap_err();
/// assert!(err.message.contains("cannot compare a duration with a number"));
/// ```
pub fn compile_model(model: &Model) -> Result<CompiledModel, ModelError> {
    Ok(build_model(&type_model(model)?))
}

/// Builds the queries of a typed model (the second half of [`compile_model`]).
///
/// ```
/// use tracecheck::model::builder::*;
/// let typed = tracecheck::compile::type_model(&Model::new("m").expect(span().name("a"))).unwrap();
/// let built = tracecheck::compile::build_model(&typed);
/// assert_eq!(built.title, "m");
/// assert!(built.sql().contains("'a'"));
/// ```
pub fn build_model(typed: &TypedModel) -> CompiledModel {
    let q = model::ModelCompiler::new(typed).compile();
    CompiledModel {
        title: typed.title.clone(),
        let_names: q.let_names,
        violations: q.violations,
        stats: q.stats,
        staged_assignments: q.staged_assignments,
        staged_violations: q.staged_violations,
        staged_stats: q.staged_stats,
        tag_keys: q.tag_keys,
    }
}

#[cfg(test)]
mod tests;
