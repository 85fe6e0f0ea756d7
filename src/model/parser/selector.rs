//! Selectors, relations, fields and literals (part of the parser).

use std::ops::Range;

use super::{PResult, Parser, CMP_OPS};
use crate::model::ast::*;
use crate::model::diag::{did_you_mean, ModelError};
use crate::model::lexer::{Keyword, Tok};

impl Parser<'_> {
    /// A selector followed by an optional relation.
    pub(crate) fn span_term(&mut self) -> PResult<SpanTerm> {
        let selector = self.selector()?;
        self.finish_span_term(selector)
    }

    /// The optional relation after an already parsed selector.
    pub(crate) fn finish_span_term(&mut self, selector: Selector) -> PResult<SpanTerm> {
        let start = selector.span().0.start;
        let relation = self.relation()?;
        if relation.is_some() && self.relation_kind().is_some() {
            return Err(
                ModelError::new(self.here(), "only one relation per selector is supported")
                    .with_hint("name the middle span with `let` and relate it in a `when` condition"),
            );
        }
        Ok(SpanTerm {
            selector,
            relation,
            span: self.since(start),
        })
    }

    /// The relation keyword at the cursor, if any.
    fn relation_kind(&self) -> Option<RelationKind> {
        Some(match self.peek() {
            Tok::Keyword(Keyword::Child) => RelationKind::ChildOf,
            Tok::Keyword(Keyword::Parent) => RelationKind::ParentOf,
            Tok::Keyword(Keyword::Descendant) => RelationKind::DescendantOf,
            Tok::Keyword(Keyword::Ancestor) => RelationKind::AncestorOf,
            Tok::Keyword(Keyword::Sibling) => RelationKind::SiblingOf,
            Tok::Keyword(Keyword::Before) => RelationKind::Before,
            Tok::Keyword(Keyword::After) => RelationKind::After,
            Tok::Keyword(Keyword::During) => RelationKind::During,
            _ => return None,
        })
    }

    fn relation(&mut self) -> PResult<Option<Relation>> {
        let Some(kind) = self.relation_kind() else {
            return Ok(None);
        };
        let start = self.advance().span.start;
        if matches!(
            kind,
            RelationKind::ChildOf
                | RelationKind::ParentOf
                | RelationKind::DescendantOf
                | RelationKind::AncestorOf
                | RelationKind::SiblingOf
        ) {
            self.expect_tok(&Tok::Keyword(Keyword::Of), "`of`")?;
        }
        let target = self.selector()?;
        Ok(Some(Relation {
            kind,
            target,
            span: self.since(start),
        }))
    }

    /// `span(...)` or a declared let name.
    pub(crate) fn selector(&mut self) -> PResult<Selector> {
        match self.peek().clone() {
            Tok::Keyword(Keyword::Span) => self.inline_selector(),
            Tok::Ident(name) => {
                let span = self.here();
                if self.lets.iter().any(|l| l.node == name) {
                    self.advance();
                    Ok(Selector::Ref(Spanned::at(name, span)))
                } else {
                    Err(self.unknown_name(&name, span))
                }
            }
            _ => {
                let mut expected = vec!["`span(...)`".to_string()];
                expected.extend(self.lets.iter().map(|l| format!("`{}`", l.node)));
                Err(self.unexpected(&expected))
            }
        }
    }

    /// "unknown name" for a word where a let name was expected.
    pub(crate) fn unknown_name(&self, name: &str, span: Range<usize>) -> ModelError {
        let mut expected = vec!["`span(...)`".to_string()];
        expected.extend(self.lets.iter().map(|l| format!("`{}`", l.node)));
        let err = ModelError::new(span, format!("unknown name `{name}`")).with_expected(expected);
        if *self.peek_at(1) == Tok::LParen {
            return err.with_hint("selectors are written span(...)");
        }
        match did_you_mean(name, self.lets.iter().map(|l| l.node.as_str())) {
            Some(hint) => err.with_hint(hint),
            None if self.lets.is_empty() => err.with_hint(format!(
                "declare it first: let {name} = span(...), or select spans inline with span(...)"
            )),
            None => err,
        }
    }

    /// `span( [PRED {, PRED} [,]] )`.
    pub(crate) fn inline_selector(&mut self) -> PResult<Selector> {
        let start = self.advance().span.start;
        self.expect_tok(&Tok::LParen, "`(`")?;
        let mut predicates = Vec::new();
        while self.eat(&Tok::RParen).is_none() {
            predicates.push(self.predicate()?);
            if self.eat(&Tok::Comma).is_none() {
                if self.eat(&Tok::RParen).is_none() {
                    return Err(self.unexpected_after(&["`,`", "`)`"]));
                }
                break;
            }
        }
        Ok(Selector::Inline {
            predicates,
            span: self.since(start),
        })
    }

    fn predicate(&mut self) -> PResult<Predicate> {
        let start = self.here().start;
        let field = self.field()?;
        let op = self.cmp_op()?;
        let value = self.literal_for(&field)?;
        Ok(Predicate {
            field,
            op,
            value,
            span: self.since(start),
        })
    }

    /// The comparison operator at the cursor, if any.
    pub(crate) fn cmp_op_next(&self) -> Option<CmpOp> {
        Some(match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Match => CmpOp::Match,
            Tok::Keyword(Keyword::Contains) => CmpOp::Contains,
            _ => return None,
        })
    }

    pub(crate) fn cmp_op(&mut self) -> PResult<Spanned<CmpOp>> {
        match self.cmp_op_next() {
            Some(op) => Ok(Spanned::at(op, self.advance().span)),
            None => Err(self.unexpected_after(&CMP_OPS)),
        }
    }

    /// `tag("key")` or a dotted field path such as `http.status_code`.
    pub(crate) fn field(&mut self) -> PResult<Spanned<Field>> {
        let start = self.here().start;
        if self.eat_kw(Keyword::Tag).is_some() {
            self.expect_tok(&Tok::LParen, "`(`")?;
            let key = match self.peek().clone() {
                Tok::Str(k) if !k.is_empty() => {
                    self.advance();
                    k
                }
                Tok::Str(_) => return Err(ModelError::new(self.here(), "empty tag key")),
                _ => return Err(self.unexpected(&["a tag key string"])),
            };
            self.expect_tok(&Tok::RParen, "`)`")?;
            return Ok(Spanned::at(Field::Tag(key), self.since(start)));
        }
        let mut path = match self.peek() {
            Tok::Ident(s) => s.clone(),
            Tok::Keyword(Keyword::Trace) => "trace".to_string(),
            _ => return Err(self.unexpected(&["a field", "`tag(\"...\")`"])),
        };
        self.advance();
        while *self.peek() == Tok::Dot {
            let segment = match self.peek_at(1) {
                Tok::Ident(s) => s.clone(),
                Tok::Keyword(k) => k.as_str().to_string(),
                _ => break,
            };
            self.advance();
            self.advance();
            path.push('.');
            path.push_str(&segment);
        }
        let span = self.since(start);
        match Field::from_path(&path) {
            Some(f) => Ok(Spanned::at(f, span)),
            None => Err(unknown_field(&path, span.range())),
        }
    }

    /// A literal in a predicate on `field`: numbers (with an optional `-`), durations, strings,
    /// `true`/`false`, and bare enum words for `kind` and `status`.
    fn literal_for(&mut self, field: &Spanned<Field>) -> PResult<Spanned<Literal>> {
        let start = self.here().start;
        let enums = field.node.enum_values();
        match self.peek().clone() {
            Tok::Ident(word) => {
                let span = self.here();
                match enums {
                    Some(values) if values.contains(&word.as_str()) => {
                        self.advance();
                        Ok(Spanned::at(Literal::Enum(word), span))
                    }
                    Some(values) => Err(bad_enum(&field.node, &word, values, span)),
                    None => Err(ModelError::new(span, format!("expected a literal, found `{word}`"))
                        .with_expected(["a string", "a number", "a duration", "`true`", "`false`"])
                        .with_hint(format!(
                            "strings are quoted: \"{word}\" (bare words are only values of `kind` and `status`)"
                        ))),
                }
            }
            Tok::Str(s) => {
                let span = self.here();
                match enums {
                    Some(values) if values.contains(&s.as_str()) => {
                        self.advance();
                        Ok(Spanned::at(Literal::Enum(s), span))
                    }
                    Some(values) => Err(bad_enum(&field.node, &s, values, span)),
                    None => {
                        self.advance();
                        Ok(Spanned::at(Literal::Str(s), span))
                    }
                }
            }
            Tok::Keyword(Keyword::True) => Ok(Spanned::at(Literal::Bool(true), self.advance().span)),
            Tok::Keyword(Keyword::False) => Ok(Spanned::at(Literal::Bool(false), self.advance().span)),
            Tok::Minus | Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) => {
                let negative = self.eat(&Tok::Minus).is_some();
                let lit = self.number(negative)?;
                Ok(Spanned::at(lit, self.since(start)))
            }
            _ => {
                let mut expected: Vec<String> = ["a string", "a number", "a duration", "`true`", "`false`"]
                    .map(String::from)
                    .to_vec();
                if let Some(values) = enums {
                    expected.extend(values.iter().map(|v| format!("`{v}`")));
                }
                Err(self.unexpected(&expected))
            }
        }
    }

    /// A number or duration token, negated if `negative` (the `-` is already consumed).
    pub(crate) fn number(&mut self, negative: bool) -> PResult<Literal> {
        let span = self.here();
        let lit = match *self.peek() {
            Tok::Int(n) => {
                let value = if negative {
                    0i64.checked_sub_unsigned(n)
                } else {
                    i64::try_from(n).ok()
                };
                Literal::Int(value.ok_or_else(|| {
                    ModelError::new(span.clone(), "integer too large")
                        .with_hint(format!("integers range up to {}", i64::MAX))
                })?)
            }
            Tok::Float(f) => Literal::Float(if negative { -f } else { f }),
            Tok::Duration(d) => Literal::Duration(if negative { -d } else { d }),
            _ => return Err(self.unexpected(&["a number", "a duration"])),
        };
        self.advance();
        Ok(lit)
    }
}

/// "unknown field" with the closest names.
pub(crate) fn unknown_field(path: &str, span: Range<usize>) -> ModelError {
    let mut expected: Vec<String> = FIELDS.iter().map(|(p, _)| format!("`{p}`")).collect();
    expected.push("`tag(\"...\")`".to_string());
    let mut err = ModelError::new(span, format!("unknown field `{path}`")).with_expected(expected);
    if let Some(hint) = did_you_mean(path, FIELDS.iter().map(|(p, _)| *p)) {
        err = err.with_hint(hint);
    }
    err.with_hint(format!("for any other attribute write tag(\"{path}\")"))
}

fn bad_enum(field: &Field, word: &str, values: &[&str], span: Range<usize>) -> ModelError {
    let name = field.path().unwrap_or("field");
    let mut err = ModelError::new(span, format!("`{word}` is not a {name}"))
        .with_expected(values.iter().map(|v| format!("`{v}`")));
    if let Some(hint) = did_you_mean(word, values.iter().copied()) {
        err = err.with_hint(hint);
    }
    err
}
