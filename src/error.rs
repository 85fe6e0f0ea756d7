//! One error type for the library, with the context a user needs to act on it.
//!
//! Library code returns [`Error`]; only `main.rs` turns it into a message and exit code 2.

use std::path::PathBuf;

/// Everything that can go wrong in tracecheck.
///
/// ```
/// let e = tracecheck::Error::decode("traces.json", "line 3, column 7", "expected a string");
/// assert_eq!(e.to_string(), "traces.json: line 3, column 7: expected a string");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that is not a valid trace file: names the input and where in it.
    #[error("{input}: {at}: {message}")]
    Decode {
        /// File name (or `<stdin>`, `<memory>`).
        input: String,
        /// Position: byte offset, line/column or JSON path.
        at: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A dataset folder that is missing, unreadable or of another schema version.
    #[error("dataset {}: {message}", path.display())]
    Dataset {
        /// The dataset folder.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Wrong command-line use.
    #[error("{0}")]
    Usage(String),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// DataFusion failed (planning or running a query).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A model file that does not parse or compile. Rendered with the source line underlined by
    /// [`Error::render`]; `Display` gives the one-line form `file:line:column: message`.
    #[error("{file}:{}:{}: {}", error.line_col(source_text).0, error.line_col(source_text).1, error.message)]
    Model {
        /// The file name (or `<builder>` for a model made in Rust).
        file: String,
        /// The model text, for positions and rendering.
        source_text: String,
        /// What is wrong, and where (boxed: it is large, and errors travel in every `Result`).
        error: Box<crate::diag::ModelError>,
    },
    /// An internal invariant broke.
    #[error("internal error: {0} (this is a bug in tracecheck, please report it)")]
    Bug(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error for people: model errors with their source line and the offending text
    /// underlined, every other error as its `Display` text.
    ///
    /// ```
    /// let src = "model \"m\" { expect span(nmae = \"x\") }";
    /// let error = tracecheck::model::parse_file(src).unwrap_err();
    /// let e = tracecheck::Error::Model { file: "m.model".into(), source_text: src.into(), error: error.into() };
    /// assert!(e.to_string().starts_with("m.model:1:25: unknown field"));
    /// assert!(e.render().contains("m.model:1:25"));
    /// ```
    pub fn render(&self) -> String {
        match self {
            Error::Model {
                file,
                source_text,
                error,
            } => error.render(file, source_text),
            other => format!("error: {other}\n"),
        }
    }

    /// A decode error at a position of an input.
    ///
    /// ```
    /// let e = tracecheck::Error::decode("a.pb", "byte 17", "truncated message");
    /// assert!(e.to_string().contains("byte 17"));
    /// ```
    pub fn decode(input: impl Into<String>, at: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Decode {
            input: input.into(),
            at: at.into(),
            message: message.into(),
        }
    }

    /// An I/O error on a path.
    ///
    /// ```
    /// let e = tracecheck::Error::io("x.json", std::io::Error::other("gone"));
    /// assert_eq!(e.to_string(), "x.json: gone");
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
