//! A cursor over a lexer's tokens: the moves and positions both front ends' parsers are written
//! with (the model language's and TraceQL's), each over its own token type.

use std::ops::Range;

use super::ast::Span;

/// A token as the cursor needs it: what it is and where (TraceQL's tokens implement it in
/// `traceql::lexer`, so the model stage does not import TraceQL).
pub(crate) trait Lexeme: Clone {
    /// The token's kind (`Tok` of each lexer).
    type Kind: PartialEq;
    /// The kind.
    fn kind(&self) -> &Self::Kind;
    /// The byte range in the source.
    fn range(&self) -> &Range<usize>;
}

impl Lexeme for super::lexer::Token {
    type Kind = super::lexer::Tok;
    fn kind(&self) -> &Self::Kind {
        &self.tok
    }
    fn range(&self) -> &Range<usize> {
        &self.span
    }
}

/// The source, its tokens (the last one marks the end of input and is never passed) and the
/// position of the next token.
pub(crate) struct Cursor<'a, T> {
    pub(crate) source: &'a str,
    tokens: Vec<T>,
    pub(crate) pos: usize,
}

impl<'a, T: Lexeme> Cursor<'a, T> {
    /// A cursor at the first of `tokens`, which must end with an end-of-input token.
    pub(crate) fn new(source: &'a str, tokens: Vec<T>) -> Self {
        assert!(!tokens.is_empty(), "a lexer ends its tokens with an end-of-input token");
        Cursor { source, tokens, pos: 0 }
    }

    pub(crate) fn peek(&self) -> &T::Kind {
        self.tokens[self.pos].kind()
    }

    pub(crate) fn peek_at(&self, n: usize) -> &T::Kind {
        let i = (self.pos + n).min(self.tokens.len() - 1);
        self.tokens[i].kind()
    }

    /// The last consumed token.
    pub(crate) fn previous(&self) -> Option<&T> {
        self.pos.checked_sub(1).map(|i| &self.tokens[i])
    }

    /// The span of the next token.
    pub(crate) fn here(&self) -> Range<usize> {
        self.tokens[self.pos].range().clone()
    }

    /// The end of the last consumed token.
    pub(crate) fn prev_end(&self) -> usize {
        self.previous().map_or(0, |t| t.range().end)
    }

    /// A span from `start` to the end of the last consumed token.
    pub(crate) fn since(&self, start: usize) -> Span {
        Span(start..self.prev_end().max(start))
    }

    pub(crate) fn advance(&mut self) -> T {
        let t = self.tokens[self.pos].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn eat(&mut self, tok: &T::Kind) -> Option<Range<usize>> {
        (self.peek() == tok).then(|| self.advance().range().clone())
    }

    /// Where an error about something missing should point: when the next token starts a new line,
    /// the mistake is at the end of the previous line (a missing `}`, `)` or operator), so the end
    /// of the last consumed token; otherwise `None` (the next token).
    pub(crate) fn missing_at_line_end(&self) -> Option<usize> {
        let prev = self.prev_end();
        (self.pos > 0 && self.source[prev..self.here().start].contains('\n')).then_some(prev)
    }
}
