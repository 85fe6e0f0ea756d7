//! The TraceQL front end: query text → TraceQL AST.
//!
//! [TraceQL](https://grafana.com/docs/tempo/latest/traceql/) is the trace query language of Grafana
//! Tempo. A query selects spans with spanset filters (`{ span.http.status_code >= 500 }`),
//! combines spansets with logical and structural operators (`{ .a } >> { .b }`: spans matching
//! `.b` below spans matching `.a`), refines them in a pipeline (`| count() > 2`, `| by(...)`,
//! `| select(...)`), and may end in a metrics function (`| rate() by (resource.service.name)`).
//!
//! | stage | input | output | module |
//! | --- | --- | --- | --- |
//! | lex | query text | [`lexer::Token`]s with byte spans | [`lexer`] |
//! | parse | tokens | [`Query`] (aliases normalised, spans on nodes) | [`parser`] |
//! | print | [`Query`] | fully parenthesised TraceQL (`Display`) | [`ast`] |
//! | report | [`TraceQlError`] + query | text with the offending span underlined (ariadne) | [`error`] |
//! | compile | [`Query`] | SQL over the four tables, and the shape of its rows | [`compile`] |
//! | run | SQL | Arrow record batches, on any engine | [`run()`] |
//!
//! Parsing knows nothing of the schema, so types are not checked there (`{ name > 5 }` parses and
//! matches nothing, as in Tempo).
//!
//! The grammar follows Tempo's (`pkg/traceql/expr.y` and `lexer.go`) and Grafana's documentation;
//! the precedence rules are listed in [`parser`], the lexical ones in [`lexer`].
//!
//! ```
//! use tracecheck::traceql::{parse, ast::*};
//! let q = parse(r#"{ resource.service.name = "bank" && span:name = "withdrawal" } >> { status = error }
//!                  | count() > 1"#).unwrap();
//! assert_eq!(q.pipeline.stages.len(), 2);
//! let text = q.to_string();
//! assert_eq!(parse(&text).unwrap(), q);
//!
//! let query = "{ duration > 1h30 }";
//! let err = parse(query).unwrap_err();
//! assert_eq!(err.message, "a duration needs a unit");
//! assert!(err.render("query", query).contains("query:1:16"));
//! ```

pub mod ast;
pub mod compile;
pub mod error;
pub mod lexer;
pub mod parser;
mod run;

#[cfg(test)]
mod tests;

pub use ast::Query;
pub use error::TraceQlError;
pub use run::{data_range, execute, run, session_for};

/// Parses a TraceQL query into its AST.
///
/// ```
/// let q = tracecheck::traceql::parse("{ span.http.method = \"GET\" } | rate() by (span:name)").unwrap();
/// assert_eq!(q.to_string(), "{ (span.http.method = \"GET\") } | rate() by (span:name)");
/// assert!(tracecheck::traceql::parse("{ .a = }").is_err());
/// ```
pub fn parse(text: &str) -> Result<Query, TraceQlError> {
    parser::parse(text)
}
