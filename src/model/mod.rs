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
pub use crate::diag;
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

/// Parses model text that goes by `name` (a file name, `<text>`), with a parse error as the crate's
/// [`Error::Model`](crate::Error::Model): positions and the underlined line rendered against
/// `source`.
///
/// ```
/// let e = tracecheck::model::parse_named("rules.model", "model \"m\" {\n  expect span(nmae = \"x\")\n}").unwrap_err();
/// assert!(e.to_string().starts_with("rules.model:2:15: unknown field"), "{e}");
/// assert_eq!(tracecheck::model::parse_named("r.model", "model \"m\" { expect span() }").unwrap().items.len(), 1);
/// ```
pub fn parse_named(name: &str, source: &str) -> crate::Result<File> {
    parse_file(source).map_err(in_file(name, source))
}

/// A model error placed in its file (`name`, text `source`), so it renders with the offending
/// text underlined.
///
/// ```
/// let src = r#"model "m" { expect span(duration > 5) }"#;
/// let file = tracecheck::model::parse_file(src).unwrap();
/// let tracecheck::model::Item::Model(m) = &file.items[0] else { unreachable!() };
/// let err = tracecheck::compile::type_model(m).map_err(tracecheck::model::in_file("m.model", src));
/// assert!(err.unwrap_err().to_string().starts_with("m.model:1:25: cannot compare"));
/// ```
pub fn in_file<'a>(name: &'a str, source: &'a str) -> impl Fn(ModelError) -> crate::Error + 'a {
    move |error| crate::Error::Model {
        file: name.to_string(),
        source_text: source.to_string(),
        error: error.into(),
    }
}

/// Reads and parses a model file: its name as given, its text (for reports and compiled SQL) and
/// the AST. The commands (`check`, `explain`, `watch`) load model files through
/// `check::compile_files`, which calls this.
///
/// ```
/// let (name, source, file) = tracecheck::model::read_file("queries/bank.model".as_ref()).unwrap();
/// assert_eq!(name, "queries/bank.model");
/// assert!(source.contains("model"));
/// assert_eq!(file.items.len(), 7);
/// assert!(tracecheck::model::read_file("no/such.model".as_ref()).is_err());
/// ```
pub fn read_file(path: &std::path::Path) -> crate::Result<(String, String, File)> {
    let source = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
    let name = path.display().to_string();
    let file = parse_named(&name, &source)?;
    Ok((name, source, file))
}
