//! The models a test checks: from a `.model` file (relative to the crate being tested), from model
//! text, or built in Rust. All three are parsed or validated and compiled before any span is read,
//! exactly as `tracecheck check` does, so a typo fails with the file, line and column.

use std::path::{Path, PathBuf};

use crate::check::{compile_file, Compiled};
use crate::error::{Error, Result};
use crate::model::{File, Model};

/// Compiled `model` and `check` blocks, with the label reports name them by (the path as given,
/// `<text>` or `<builder>`).
///
/// ```
/// use tracecheck::testing::Models;
/// use tracecheck::model::builder::*;
///
/// let from_file = Models::load("queries/bank.model").unwrap();
/// assert_eq!(from_file.titles()[0], "Accounts cannot withdraw more than their balance");
///
/// let seed = from_file.only("Accounts cannot withdraw more than their balance").unwrap();
/// let from_text = Models::parse(r#"model "no commit" { expect no span(name = "commit") }"#).unwrap();
/// let built = Models::from_model(Model::new("no commit").not_expect(span().name("commit"))).unwrap();
/// assert_eq!((seed.len(), from_text.label(), built.label()), (1, "<text>", "<builder>"));
///
/// let typo = Models::parse(r#"model "m" { expect span(nmae = "x") }"#).unwrap_err();
/// assert!(typo.to_string().starts_with("<text>:1:25: unknown field"));
/// ```
#[derive(Clone, Debug)]
pub struct Models {
    label: String,
    blocks: Vec<Compiled>,
}

impl Models {
    /// Reads and compiles a model file. A relative path is taken from `CARGO_MANIFEST_DIR` (the
    /// folder of the crate whose tests run; cargo sets it for `cargo test`), else from the current
    /// directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Models> {
        let given = path.as_ref();
        let full = resolve(given);
        let source = std::fs::read_to_string(&full).map_err(|e| {
            let hint = given.to_str().filter(|s| s.contains('{') || s.contains('\n'));
            match hint {
                // A &str is taken as a path; model text ends up here by mistake.
                Some(_) => Error::Usage(
                    "a string given as models is read as a file path, and this one looks like model text: \
                     use Models::parse(text) for text"
                        .into(),
                ),
                None => Error::io(&full, e),
            }
        })?;
        Models::compile(&given.display().to_string(), &source)
    }

    /// Parses and compiles model text (`model` and `check` blocks); reports call it `<text>`.
    pub fn parse(text: &str) -> Result<Models> {
        Models::compile("<text>", text)
    }

    /// Parses and compiles model text read from `label` (a file the caller read itself); reports
    /// and errors call it `label`.
    ///
    /// ```
    /// use tracecheck::testing::Models;
    /// let m = Models::from_source("rules/bank.model", r#"model "m" { expect span() }"#).unwrap();
    /// assert_eq!(m.label(), "rules/bank.model");
    /// let typo = Models::from_source("rules/bank.model", "model \"m\" {\n  expect span(nmae = \"x\")\n}").unwrap_err();
    /// assert!(typo.to_string().starts_with("rules/bank.model:2:15: unknown field"), "{typo}");
    /// ```
    pub fn from_source(label: &str, text: &str) -> Result<Models> {
        Models::compile(label, text)
    }

    /// Validates and compiles a model made with the Rust builder ([`crate::model::builder`]).
    pub fn from_model(model: Model) -> Result<Models> {
        let file = File::from(model);
        Ok(Models {
            label: "<builder>".into(),
            blocks: compile_file("<builder>", "", &file)?,
        })
    }

    fn compile(label: &str, source: &str) -> Result<Models> {
        let file = crate::model::parse_named(label, source)?;
        Ok(Models {
            label: label.to_string(),
            blocks: compile_file(label, source, &file)?,
        })
    }

    /// Keeps only the block titled `title` (a model or a check); an error naming the titles there
    /// are if none has it.
    pub fn only(self, title: &str) -> Result<Models> {
        let titles: Vec<String> = self.titles().into_iter().map(str::to_string).collect();
        let blocks: Vec<Compiled> = self.blocks.into_iter().filter(|b| block_title(b) == title).collect();
        if blocks.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no model or check titled {title:?}; there are {titles:?}",
                self.label
            )));
        }
        Ok(Models { blocks, ..self })
    }

    /// The titles of the blocks, in file order.
    pub fn titles(&self) -> Vec<&str> {
        self.blocks.iter().map(block_title).collect()
    }

    /// Where the models came from, as reports name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The number of blocks (models and checks).
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub(crate) fn blocks(&self) -> &[Compiled] {
        &self.blocks
    }

    /// The model AST of the block titled `title`, for the failure message.
    pub(crate) fn model(&self, title: &str) -> Option<&Model> {
        self.blocks.iter().find_map(|b| match b {
            Compiled::Model(m, _) if m.title.node == title => Some(&**m),
            _ => None,
        })
    }
}

fn block_title(b: &Compiled) -> &str {
    match b {
        Compiled::Model(m, _) => &m.title.node,
        Compiled::Check(c) => &c.title,
    }
}

fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => Path::new(&dir).join(path),
        None => path.to_path_buf(),
    }
}

/// What [`check`](super::check) and the assertions accept as models: a path (`&str`, `String`,
/// `&Path`, `PathBuf`) of a model file, a built [`Model`], [`Models`], or the result of
/// [`Models::parse`] / [`Models::load`] (an error then fails the assertion with the model text
/// underlined).
///
/// ```
/// use tracecheck::testing::IntoModels;
/// use tracecheck::model::builder::*;
/// assert_eq!("queries/slo.model".into_models().unwrap().label(), "queries/slo.model");
/// assert_eq!(Model::new("m").expect(span()).into_models().unwrap().titles(), ["m"]);
/// ```
pub trait IntoModels {
    /// Compiles (or loads and compiles) the models.
    fn into_models(self) -> Result<Models>;
}

impl IntoModels for Models {
    fn into_models(self) -> Result<Models> {
        Ok(self)
    }
}

impl IntoModels for &Models {
    fn into_models(self) -> Result<Models> {
        Ok(self.clone())
    }
}

/// So `Models::parse(text)` can be passed without `unwrap()`: an error fails the assertion with the
/// offending model text underlined.
impl IntoModels for Result<Models> {
    fn into_models(self) -> Result<Models> {
        self
    }
}

impl IntoModels for Model {
    fn into_models(self) -> Result<Models> {
        Models::from_model(self)
    }
}

impl IntoModels for &Model {
    fn into_models(self) -> Result<Models> {
        Models::from_model(self.clone())
    }
}

impl IntoModels for &str {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}

impl IntoModels for String {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}

impl IntoModels for &String {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}

impl IntoModels for &Path {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}

impl IntoModels for PathBuf {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}

impl IntoModels for &PathBuf {
    fn into_models(self) -> Result<Models> {
        Models::load(self)
    }
}
