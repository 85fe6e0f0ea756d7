//! The model language front end: model text (or the Rust builder) → model AST.
//!
//! | stage | input | output | module |
//! | --- | --- | --- | --- |
//! | lex | model text | [`lexer::Token`]s (with byte spans) and comments | [`lexer`] |
//! | parse | tokens | [`ast::File`] (names resolved: fields, lets) | [`parser`] (+ [`field`]) |
//! | build | Rust calls | the same [`ast::File`] / [`ast::Model`] | [`builder`] (+ `validate`) |
//! | print | [`ast::File`] | canonical model text | [`format`](mod@format) |
//! | report | [`ModelError`] + source | text with the offending span underlined | [`diag`] |
//!
//! The next stages (resolving types against the span schema, compiling to SQL) live in other
//! modules and start from the AST; a second front end (e.g. TraceQL) only needs a parser that
//! produces the same AST.
//!
//! ```
//! use tracecheck::model::{parse_file, format_file};
//! let source = r#"
//! model "Commit only after a successful balance check" {
//!     let w = span(name = "withdrawal")
//!     when   w
//!     expect span(name = "fetch-balance", status != error) before w
//!     expect at most 1 span(name = "commit") descendant of w
//! }
//! "#;
//! let file = parse_file(source).unwrap();
//! let text = format_file(&file);
//! assert!(text.contains("    when w\n"));
//! assert_eq!(parse_file(&text).unwrap(), file);
//!
//! let err = parse_file("model \"m\" { expect span(name = \"x\" }").unwrap_err();
//! assert!(err.render("m.model", "model \"m\" { expect span(name = \"x\" }").contains("m.model:1:36"));
//! ```

pub mod ast;
pub mod builder;
pub(crate) mod cursor;
pub mod diag;
pub mod field;
pub mod format;
pub mod lexer;
pub mod parser;
mod validate;

#[cfg(test)]
mod tests;

pub use ast::{Check, File, Item, Model};
pub use diag::ModelError;
pub use format::format_file;
pub use parser::parse_file;
