//! Tokens → model AST. This file has the cursor and the `model` blocks with their clauses; further
//! `impl Parser` blocks are in `parser/selector.rs` (selectors, relations, fields, literals),
//! `parser/expr.rs` (`when` conditions and expressions) and `parser/check.rs` (`check` blocks).
//!
//! Hand-written recursive descent rather than a parser generator: every error can point at the exact
//! token with the exact list of what would have been accepted there (and a hint for the usual
//! mistakes), names are resolved while parsing (unknown field, unknown or duplicate let), and there is
//! no build step or generated code to keep in sync with the grammar. The grammar is small and LL(1)
//! except for `when` conditions, which need one decision after a selector (see `parser/expr.rs`).
//!
//! Decisions:
//! - `let` names must be declared before they are used, and are unique within a model.
//! - A model has at most one `when` (join conditions with `and`) and at least one `expect`.
//! - Titles are unique within a file (reports name violations by title).
//! - Bare words are enum values: `kind = server`, `status != error`. For `kind` and `status`, a quoted
//!   valid value is stored as the enum too (`kind = "server"` is `kind = server`); any other bare word
//!   in a predicate is an error suggesting quotes.

use std::ops::Range;

use super::ast::*;
use super::cursor::Cursor;
use super::diag::ModelError;
use super::lexer::{describe, lex, Comment, Keyword, Tok, Token};

mod check;
mod expr;
mod selector;

/// Parses a model file.
///
/// ```
/// use tracecheck::model::{parse_file, ast::Item};
/// let file = parse_file(r#"
///     model "No rollback without a withdrawal" {
///         when span(name = "rollback")
///         expect span(name = "withdrawal")
///     }
/// "#).unwrap();
/// assert!(matches!(&file.items[0], Item::Model(m) if m.expects.len() == 1));
/// ```
pub fn parse_file(source: &str) -> Result<File, ModelError> {
    let lexed = lex(source)?;
    let mut parser = Parser {
        cursor: Cursor::new(source, lexed.tokens),
        comments: lexed.comments,
        next_comment: 0,
        lets: Vec::new(),
        nesting: 0,
    };
    parser.file()
}

pub(crate) type PResult<T> = Result<T, ModelError>;

/// Parser state: the tokens, the comments not yet attached, and the lets of the current model.
pub(crate) struct Parser<'a> {
    /// The source, its tokens and the position (`cursor.rs`); the parser derefs to it.
    cursor: Cursor<'a, Token>,
    comments: Vec<Comment>,
    next_comment: usize,
    /// Let names declared so far in the current model, with where.
    pub(crate) lets: Vec<Spanned<String>>,
    /// Parentheses and unary minus open around the cursor (see [`MAX_NESTING`]).
    pub(crate) nesting: usize,
}

/// How deeply expressions may nest (parentheses, unary minus). Every later stage walks an
/// expression recursively, so a limit here, with a clear error, is what keeps a pathological model
/// from overflowing the stack anywhere; no real model comes near it.
pub(crate) const MAX_NESTING: usize = 64;

/// How many `expect` clauses one model may have. Each becomes a join in the compiled query, and
/// DataFusion's planning time grows faster than linearly in them (2,170 expects took minutes to
/// plan); no real model comes near this.
pub(crate) const MAX_EXPECTS: usize = 512;

/// Comparison operators as listed in errors.
pub(crate) const CMP_OPS: [&str; 8] = ["`=`", "`!=`", "`<`", "`<=`", "`>`", "`>=`", "`=~`", "`contains`"];

impl<'a> std::ops::Deref for Parser<'a> {
    type Target = Cursor<'a, Token>;
    fn deref(&self) -> &Self::Target {
        &self.cursor
    }
}

impl std::ops::DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cursor
    }
}

// Cursor helpers of the model language.
impl Parser<'_> {
    pub(crate) fn is_kw(&self, kw: Keyword) -> bool {
        *self.peek() == Tok::Keyword(kw)
    }

    pub(crate) fn eat_kw(&mut self, kw: Keyword) -> Option<Range<usize>> {
        self.is_kw(kw).then(|| self.advance().span)
    }

    /// Consumes `tok` or fails with "expected `what`".
    pub(crate) fn expect_tok(&mut self, tok: &Tok, what: &str) -> PResult<Range<usize>> {
        self.eat(tok).ok_or_else(|| self.unexpected_after(&[what]))
    }

    /// "expected X, found Y" at the next token.
    pub(crate) fn unexpected<S: AsRef<str>>(&self, expected: &[S]) -> ModelError {
        let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
        let found = describe(self.peek());
        let list = match expected.as_slice() {
            [one] => one.to_string(),
            [init @ .., last] => format!("one of {} or {last}", init.join(", ")),
            [] => "something else".to_string(),
        };
        ModelError::new(self.here(), format!("expected {list}, found {found}")).with_expected(expected)
    }

    /// Like [`unexpected`](Self::unexpected), for something that should continue the current line:
    /// when the next token starts a new line, the mistake is at the end of the previous line (a
    /// missing operator or parenthesis), so the error points there.
    pub(crate) fn unexpected_after<S: AsRef<str>>(&self, expected: &[S]) -> ModelError {
        let mut err = self.unexpected(expected);
        if let Some(end) = self.missing_at_line_end() {
            err.span = end..end;
        }
        err
    }

    /// 1-based line of a byte offset, for hints that refer to another place.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.source[..offset.min(self.source.len())].matches('\n').count() + 1
    }

    /// Comments that start before the next token and were not attached yet.
    pub(crate) fn take_comments(&mut self) -> Comments {
        let limit = match self.peek() {
            Tok::Eof => usize::MAX,
            _ => self.here().start,
        };
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.span.start >= limit {
                break;
            }
            out.push(c.text.clone());
            self.next_comment += 1;
        }
        Comments(out)
    }
}

// Blocks and clauses.
impl Parser<'_> {
    fn file(&mut self) -> PResult<File> {
        let mut file = File::default();
        let mut titles: Vec<Spanned<String>> = Vec::new();
        loop {
            let comments = self.take_comments();
            let item = match self.peek() {
                Tok::Keyword(Keyword::Model) => Item::Model(self.model(comments)?),
                Tok::Keyword(Keyword::Check) => Item::Check(self.check(comments)?),
                Tok::Eof => {
                    file.trailing_comments = comments;
                    return Ok(file);
                }
                tok => {
                    let clause = matches!(tok, Tok::Keyword(Keyword::Let | Keyword::When | Keyword::Expect));
                    let err = self.unexpected(&["`model`", "`check`", "end of file"]);
                    return Err(if clause {
                        err.with_hint("clauses go inside a block: model \"title\" { ... }")
                    } else {
                        err
                    });
                }
            };
            let title = match &item {
                Item::Model(m) => &m.title,
                Item::Check(c) => &c.title,
            };
            if let Some(first) = titles.iter().find(|t| t.node == title.node) {
                return Err(
                    ModelError::new(title.span.range(), format!("duplicate title {:?}", title.node)).with_hint(
                        format!(
                            "the title is first used on line {}; reports name rules by title",
                            self.line_of(first.span.0.start)
                        ),
                    ),
                );
            }
            titles.push(title.clone());
            file.items.push(item);
        }
    }

    pub(crate) fn title(&mut self) -> PResult<Spanned<String>> {
        match self.peek().clone() {
            Tok::Str(s) => Ok(Spanned::at(s, self.advance().span)),
            _ => Err(self.unexpected(&["a title string"])),
        }
    }

    /// `{` after a title.
    fn open_block(&mut self) -> PResult<Range<usize>> {
        self.expect_tok(&Tok::LBrace, "`{`")
    }

    /// Adds "the block is never closed" to an error found where a clause was expected.
    pub(crate) fn unclosed(&self, err: ModelError, open: &Range<usize>) -> ModelError {
        if matches!(self.peek(), Tok::Eof | Tok::Keyword(Keyword::Model | Keyword::Check)) {
            err.with_hint(format!("the `{{` on line {} is never closed", self.line_of(open.start)))
        } else {
            err
        }
    }

    fn model(&mut self, comments: Comments) -> PResult<Model> {
        let start = self.advance().span.start;
        let title = self.title()?;
        let open = self.open_block()?;
        self.lets.clear();
        let mut model = Model {
            title,
            lets: Vec::new(),
            when: None,
            expects: Vec::new(),
            comments,
            trailing_comments: Comments::default(),
            span: Span::default(),
        };
        loop {
            let comments = self.take_comments();
            match self.peek() {
                Tok::Keyword(Keyword::Let) => {
                    let l = self.let_clause(comments)?;
                    self.lets.push(l.name.clone());
                    model.lets.push(l);
                }
                Tok::Keyword(Keyword::When) => {
                    if let Some(first) = &model.when {
                        return Err(
                            ModelError::new(self.here(), "a model has at most one `when` clause").with_hint(format!(
                                "the first `when` is on line {}; join conditions with `and`",
                                self.line_of(first.span.0.start)
                            )),
                        );
                    }
                    model.when = Some(self.when_clause(comments)?);
                }
                Tok::Keyword(Keyword::Expect) => {
                    if model.expects.len() >= MAX_EXPECTS {
                        return Err(ModelError::new(
                            self.here(),
                            format!("a model has at most {MAX_EXPECTS} `expect` clauses"),
                        )
                        .with_hint("split it into several models with the same `when`"));
                    }
                    model.expects.push(self.expect_clause(comments)?)
                }
                Tok::RBrace => {
                    model.trailing_comments = comments;
                    self.advance();
                    break;
                }
                _ => {
                    let err = self.unexpected(&["`let`", "`when`", "`expect`", "`}`"]);
                    return Err(self.unclosed(err, &open));
                }
            }
        }
        model.span = self.since(start);
        if model.expects.is_empty() {
            return Err(ModelError::new(
                model.title.span.range(),
                format!("model {:?} has no `expect` clause", model.title.node),
            )
            .with_hint("add a clause such as: expect span(name = \"...\")"));
        }
        Ok(model)
    }

    fn let_clause(&mut self, comments: Comments) -> PResult<Let> {
        let start = self.advance().span.start;
        let name = match self.peek().clone() {
            Tok::Ident(name) => Spanned::at(name, self.advance().span),
            Tok::Keyword(kw) => {
                return Err(ModelError::new(
                    self.here(),
                    format!("`{}` is a keyword and cannot name a span", kw.as_str()),
                )
                .with_expected(["a name"]))
            }
            _ => return Err(self.unexpected(&["a name"])),
        };
        if let Some(first) = self.lets.iter().find(|l| l.node == name.node) {
            return Err(
                ModelError::new(name.span.range(), format!("duplicate let `{}`", name.node)).with_hint(format!(
                    "`{}` is first declared on line {}",
                    name.node,
                    self.line_of(first.span.0.start)
                )),
            );
        }
        self.expect_tok(&Tok::Eq, "`=`")?;
        if !self.is_kw(Keyword::Span) {
            let err = self.unexpected(&["`span(...)`"]);
            return Err(match self.peek() {
                Tok::Ident(_) => err.with_hint(format!(
                    "a let names a new span: let {} = span(name = \"...\")",
                    name.node
                )),
                _ => err,
            });
        }
        let selector = self.inline_selector()?;
        Ok(Let {
            name,
            selector,
            comments,
            span: self.since(start),
        })
    }

    fn when_clause(&mut self, comments: Comments) -> PResult<When> {
        let start = self.advance().span.start;
        let mut conditions = vec![self.condition()?];
        while self.eat_kw(Keyword::And).is_some() {
            conditions.push(self.condition()?);
        }
        Ok(When {
            conditions,
            comments,
            span: self.since(start),
        })
    }

    fn expect_clause(&mut self, comments: Comments) -> PResult<Expect> {
        let start = self.advance().span.start;
        let quantifier = if self.eat_kw(Keyword::No).is_some() {
            Quantifier::No
        } else if self.eat_kw(Keyword::At).is_some() {
            if self.eat_kw(Keyword::Least).is_some() {
                Quantifier::AtLeast(self.count()?)
            } else if self.eat_kw(Keyword::Most).is_some() {
                Quantifier::AtMost(self.count()?)
            } else {
                return Err(self.unexpected(&["`least`", "`most`"]));
            }
        } else if let Tok::Int(n) = *self.peek() {
            self.advance();
            Quantifier::Exactly(n)
        } else if matches!(self.peek(), Tok::Ident(w) if w == "not") {
            return Err(self
                .unexpected(&["`no`", "a count", "`at`", "`span(...)`"])
                .with_hint("write `expect no span(...)` for spans that must not exist"));
        } else {
            Quantifier::Some
        };
        let term = self.span_term()?;
        Ok(Expect {
            quantifier,
            term,
            comments,
            span: self.since(start),
        })
    }

    fn count(&mut self) -> PResult<u64> {
        match *self.peek() {
            Tok::Int(n) => {
                self.advance();
                Ok(n)
            }
            _ => Err(self.unexpected(&["a count"])),
        }
    }
}
