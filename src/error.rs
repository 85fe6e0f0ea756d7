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
    /// Wrong use: arguments that do not fit together, names that do not exist, values out of range.
    #[error("{0}")]
    Usage(String),
    /// A value given for one of the library's settings is unusable. `Display` names the setting in
    /// the library's terms ([`Setting::describe`]); a front end that took the value from a flag of
    /// its own names the flag instead (the command line does).
    #[error("{} {message}", setting.describe())]
    Setting {
        /// Which setting.
        setting: Setting,
        /// What is wrong with its value, written to follow the setting's name.
        message: String,
    },
    /// A server's certificate is not trusted (by the system's roots, nor by the CA certificates
    /// given with [`Setting::CaCert`]). Not retried: it will not be trusted on the next attempt.
    #[error("{url}: {message} (is the server's certificate signed by a private CA? trust that CA with {})", Setting::CaCert.describe())]
    Untrusted {
        /// The URL asked for.
        url: String,
        /// The TLS error.
        message: String,
    },
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

/// A setting of the library that a value is given for, named in [`Error::Setting`] and
/// [`Error::Untrusted`].
///
/// ```
/// use tracecheck::{Error, Setting};
/// let e = Error::Setting { setting: Setting::PageLimit, message: "must be at least 1".into() };
/// assert_eq!(e.to_string(), "the page limit must be at least 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// The datasets or trace files a session opens (`engine::open`).
    Data,
    /// The engine queries run on (`engine::Engine`).
    Engine,
    /// The URL of a Jaeger query service (`fetch::Fetch::new`).
    JaegerUrl,
    /// The URL of a Tempo query frontend (`fetch::Fetch::new`).
    TempoUrl,
    /// The PEM file of CA certificates a fetch trusts (`fetch::Fetch::with_ca_cert`).
    CaCert,
    /// The traces per search request of a fetch (`fetch::Fetch::with_page_limit`).
    PageLimit,
    /// The data a check's `baseline` thresholds compare with (`check::check_compiled`).
    Baseline,
}

impl Setting {
    /// The setting's name in messages of the library.
    ///
    /// ```
    /// assert_eq!(tracecheck::Setting::CaCert.describe(), "the CA certificate file");
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            Setting::Data => "the data",
            Setting::Engine => "the engine",
            Setting::JaegerUrl => "the Jaeger URL",
            Setting::TempoUrl => "the Tempo URL",
            Setting::CaCert => "the CA certificate file",
            Setting::PageLimit => "the page limit",
            Setting::Baseline => "the baseline data",
        }
    }
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
