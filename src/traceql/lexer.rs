//! TraceQL text → tokens, each with its byte span.
//!
//! Decisions (following Tempo's lexer, `pkg/traceql/lexer.go`, where it is stricter or looser than
//! it looks):
//! - Whitespace only separates tokens. There are no comments.
//! - Words (`[A-Za-z_][A-Za-z0-9_]*`) are [`Tok::Ident`]; the parser gives them meaning by where they
//!   stand (`count` is an aggregate after `|`, `error` a status value inside `{ }`), so that an
//!   unknown word gets an error naming the closest known ones.
//! - Attributes are lexed whole, because their names follow other rules than words: a scope word
//!   directly followed by `.` (`span.`, `resource.`, `event.`, `link.`, `instrumentation.`) or a lone
//!   `.` starts one, and the name runs to the first whitespace or one of `{ } ( ) = ~ ! < > & | ^ ,`.
//!   So `span.http.status_code`, `.k8s/pod-name` and `.a:b` are names, and `.a-1` is the attribute
//!   `a-1`, not a subtraction (as in Tempo). Parts of the name may be quoted, `span."with space"` or
//!   `.a."b c"`, with the escapes `\"` and `\\`. A `.` followed by a digit starts a number (`.5`).
//! - A scope word directly followed by `:` (`span:`, `trace:`, `event:`, `link:`, `instrumentation:`)
//!   and a word is one [`Tok::ScopedIntrinsic`] (`span:name`); the parser resolves it.
//! - Numbers: `42`, `1.5`, `.5`, `1e3`, `2.5E-3`. A number directly followed by letters is a
//!   duration: one or more number–unit pairs (`1.5s`, `1h30m`) with units `ns us µs ms s m h d w y`
//!   (Tempo's, Go's and Prometheus's together; `d` is 24 h, `w` 7 d, `y` 365 d), in whole nanoseconds.
//!   Any other letters directly after a number are an error, not a number and a name.
//! - Strings: `"..."` and `'...'` with the escapes `\" \' \\ \n \r \t \a \b \f \v \xHH \uHHHH
//!   \UHHHHHHHH` (Go's, which Tempo uses), and raw `` `...` `` without escapes (may span lines). Tempo
//!   itself does not accept single quotes.
//! - Operators are taken longest first: `&>>` is one token, `!~` is one token (the parser reads it as
//!   "does not match" inside `{ }` and "not sibling of" between spansets), `! ~` is two.
//! - The first error stops lexing.

use std::ops::Range;
use std::time::Duration;

use super::ast::AttributeScope;
use super::error::TraceQlError;
use crate::model::cursor::Lexeme;

mod number;

/// A token and where it is.
///
/// ```
/// let tokens = tracecheck::traceql::lexer::lex("{ span.a }").unwrap();
/// assert_eq!(tokens[1].span, 2..8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its text, as a byte range.
    pub span: Range<usize>,
}

impl Lexeme for Token {
    type Kind = Tok;
    fn kind(&self) -> &Self::Kind {
        &self.tok
    }
    fn range(&self) -> &Range<usize> {
        &self.span
    }
}

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A word: an intrinsic, a literal keyword (`true`, `error`, `server`, `nil`), a function name.
    Ident(String),
    /// `scope:name`, e.g. `span:name` (`name` may be empty: `span:` alone).
    ScopedIntrinsic {
        /// The word before `:`.
        scope: String,
        /// The word after `:`.
        name: String,
    },
    /// An attribute: `span.x`, `.x`, `resource."a b"`.
    Attribute {
        /// The scope.
        scope: AttributeScope,
        /// The name, quotes and escapes resolved.
        name: String,
    },
    /// A string literal, escapes resolved.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A duration.
    Duration(Duration),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`
    Regex,
    /// `!~`
    NotTilde,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `^`
    Caret,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!`
    Not,
    /// `|`
    Pipe,
    /// `>>`
    GtGt,
    /// `<<`
    LtLt,
    /// `~`
    Tilde,
    /// `!>`
    NotGt,
    /// `!<`
    NotLt,
    /// `!>>`
    NotGtGt,
    /// `!<<`
    NotLtLt,
    /// `&>`
    AmpGt,
    /// `&<`
    AmpLt,
    /// `&>>`
    AmpGtGt,
    /// `&<<`
    AmpLtLt,
    /// `&~`
    AmpTilde,
    /// The end of the query (always the last token).
    Eof,
}

/// Operators, longest first so that the first match is the longest.
const OPERATORS: [(&str, Tok); 35] = [
    ("!>>", Tok::NotGtGt),
    ("!<<", Tok::NotLtLt),
    ("&>>", Tok::AmpGtGt),
    ("&<<", Tok::AmpLtLt),
    ("!=", Tok::Ne),
    ("<=", Tok::Le),
    (">=", Tok::Ge),
    ("=~", Tok::Regex),
    ("!~", Tok::NotTilde),
    ("&&", Tok::AndAnd),
    ("||", Tok::OrOr),
    (">>", Tok::GtGt),
    ("<<", Tok::LtLt),
    ("!>", Tok::NotGt),
    ("!<", Tok::NotLt),
    ("&>", Tok::AmpGt),
    ("&<", Tok::AmpLt),
    ("&~", Tok::AmpTilde),
    ("{", Tok::LBrace),
    ("}", Tok::RBrace),
    ("(", Tok::LParen),
    (")", Tok::RParen),
    (",", Tok::Comma),
    ("=", Tok::Eq),
    ("<", Tok::Lt),
    (">", Tok::Gt),
    ("+", Tok::Plus),
    ("-", Tok::Minus),
    ("*", Tok::Star),
    ("/", Tok::Slash),
    ("%", Tok::Percent),
    ("^", Tok::Caret),
    ("!", Tok::Not),
    ("|", Tok::Pipe),
    ("~", Tok::Tilde),
];

/// Scope words of intrinsics (`span:name`).
pub const INTRINSIC_SCOPES: [&str; 5] = ["span", "trace", "event", "link", "instrumentation"];

/// Splits a query into tokens; the last one is [`Tok::Eof`], spanning the end of the text.
///
/// ```
/// use tracecheck::traceql::lexer::{lex, Tok};
/// let toks: Vec<Tok> = lex("{ duration > 1.5s } &>> {}").unwrap().into_iter().map(|t| t.tok).collect();
/// assert_eq!(toks[2], Tok::Gt);
/// assert_eq!(toks[3], Tok::Duration(std::time::Duration::from_millis(1500)));
/// assert_eq!(toks[5], Tok::AmpGtGt);
/// assert!(lex("{ .a = \"x }").unwrap_err().message.contains("unterminated string"));
/// ```
pub fn lex(source: &str) -> Result<Vec<Token>, TraceQlError> {
    let mut lexer = Lexer { src: source, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_whitespace();
        let start = lexer.pos;
        let Some(c) = lexer.peek() else {
            tokens.push(Token {
                tok: Tok::Eof,
                span: start..start,
            });
            return Ok(tokens);
        };
        let tok = lexer.token(c)?;
        tokens.push(Token {
            tok,
            span: start..lexer.pos,
        });
    }
}

/// A token as errors name it: `` `}` ``, `` `count` ``, `string "x"`, `end of query`.
///
/// ```
/// use tracecheck::traceql::lexer::{describe, Tok};
/// assert_eq!(describe(&Tok::AmpGtGt), "`&>>`");
/// assert_eq!(describe(&Tok::Eof), "end of query");
/// ```
pub fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::ScopedIntrinsic { scope, name } => format!("`{scope}:{name}`"),
        Tok::Attribute { .. } => "an attribute".to_string(),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Int(i) => format!("`{i}`"),
        Tok::Float(f) => format!("`{f:?}`"),
        Tok::Duration(_) => "a duration".to_string(),
        Tok::Eof => "end of query".to_string(),
        punct => format!("`{}`", punct_str(punct)),
    }
}

/// The text of an operator or punctuation token.
pub(crate) fn punct_str(tok: &Tok) -> &'static str {
    OPERATORS.iter().find(|(_, t)| t == tok).map_or("?", |(s, _)| s)
}

/// Whether `c` may appear unquoted in an attribute name (Tempo's rule).
///
/// ```
/// use tracecheck::traceql::lexer::is_attribute_char;
/// assert!(is_attribute_char('/') && is_attribute_char('-') && is_attribute_char(':'));
/// assert!(!is_attribute_char('=') && !is_attribute_char(' ') && !is_attribute_char('"'));
/// ```
pub fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace() && !"{}()=~!<>&|^,\"".contains(c)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> TraceQlError {
        TraceQlError::new(span, message)
    }

    fn token(&mut self, c: char) -> Result<Tok, TraceQlError> {
        let start = self.pos;
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c == '.' {
            self.bump();
            return self.attribute(AttributeScope::Unscoped, start);
        }
        if c == '"' || c == '\'' {
            return self.quoted_string(c);
        }
        if c == '`' {
            return self.raw_string();
        }
        if c.is_ascii_alphabetic() || c == '_' {
            return self.word();
        }
        let rest = &self.src[self.pos..];
        if let Some((text, tok)) = OPERATORS.iter().find(|(text, _)| rest.starts_with(text)) {
            self.pos += text.len();
            return Ok(tok.clone());
        }
        self.bump();
        let mut err = self.error(start..self.pos, format!("unexpected character `{c}`"));
        if c == '&' {
            err = err
                .with_expected(["`&&`", "`&>`", "`&>>`", "`&<`", "`&<<`", "`&~`"])
                .with_hint("`&` alone is not an operator; `and` is written `&&`");
        }
        Err(err)
    }

    /// A word, or a scope word starting an attribute (`span.`) or an intrinsic (`span:`).
    fn word(&mut self) -> Result<Tok, TraceQlError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.bump();
        }
        let word = self.src[start..self.pos].to_string();
        match self.peek() {
            Some('.') => {
                let scope = AttributeScope::NAMED.iter().find(|(w, _)| *w == word).map(|(_, s)| *s);
                let Some(scope) = scope else {
                    let names = AttributeScope::NAMED.map(|(w, _)| w);
                    let err = self
                        .error(start..self.pos, format!("unknown attribute scope `{word}`"))
                        .with_expected(names.iter().map(|w| format!("`{w}.`")).chain(["`.`".to_string()]))
                        .with_hint_opt(crate::diag::did_you_mean(&word, names));
                    return Err(if word == "trace" {
                        err.with_hint("traces have intrinsics only: `trace:id`, `trace:duration`, `trace:rootName`, `trace:rootService`")
                    } else {
                        err.with_hint(format!("an attribute without a scope is written `.{word}...`"))
                    });
                };
                self.bump();
                self.attribute(scope, start)
            }
            Some(':') => {
                if !INTRINSIC_SCOPES.contains(&word.as_str()) {
                    return Err(self
                        .error(start..self.pos + 1, format!("unknown intrinsic scope `{word}:`"))
                        .with_expected(INTRINSIC_SCOPES.iter().map(|s| format!("`{s}:`")))
                        .with_hint_opt(crate::diag::did_you_mean(&word, INTRINSIC_SCOPES)));
                }
                self.bump();
                let name_start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.bump();
                }
                Ok(Tok::ScopedIntrinsic {
                    scope: word,
                    name: self.src[name_start..self.pos].to_string(),
                })
            }
            _ => Ok(Tok::Ident(word)),
        }
    }

    /// The name of an attribute whose prefix (`span.` or `.`, from `start`) is consumed.
    fn attribute(&mut self, scope: AttributeScope, start: usize) -> Result<Tok, TraceQlError> {
        let mut name = String::new();
        loop {
            match self.peek() {
                Some('"') => self.quoted_attribute_part(&mut name)?,
                Some(c) if is_attribute_char(c) => {
                    name.push(c);
                    self.bump();
                }
                _ => break,
            }
        }
        if name.is_empty() {
            let found = self.peek().map_or("end of query".to_string(), |c| format!("`{c}`"));
            return Err(self
                .error(
                    start..self.pos,
                    format!("expected an attribute name after `{}`, found {found}", scope.prefix()),
                )
                .with_expected(["an attribute name"])
                .with_hint("a name with spaces or operators in it is quoted: `span.\"my name\"`"));
        }
        Ok(Tok::Attribute { scope, name })
    }

    fn quoted_attribute_part(&mut self, name: &mut String) -> Result<(), TraceQlError> {
        let open = self.pos;
        self.bump();
        loop {
            let at = self.pos;
            match self.bump() {
                None => {
                    return Err(self
                        .error(open..self.pos, "unterminated quoted attribute name")
                        .with_expected(["`\"`"]))
                }
                Some('"') => return Ok(()),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => name.push(c),
                    _ => {
                        return Err(self
                            .error(at..self.pos, "invalid escape in a quoted attribute name")
                            .with_expected(["`\\\"`", "`\\\\`"]))
                    }
                },
                Some(c) => name.push(c),
            }
        }
    }

    fn quoted_string(&mut self, quote: char) -> Result<Tok, TraceQlError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None | Some('\n') => {
                    let end = if self.src[open..self.pos].ends_with('\n') {
                        self.pos - 1
                    } else {
                        self.pos
                    };
                    return Err(self
                        .error(open..end, "unterminated string")
                        .with_expected([format!("`{quote}`")])
                        .with_hint("a string ends on the line it starts; use a raw string (`...`) for several lines"));
                }
                Some(c) if c == quote => return Ok(Tok::Str(out)),
                Some('\\') => out.push(self.escape(at)?),
                Some(c) => out.push(c),
            }
        }
    }

    /// The character of an escape whose `\` is at `at` (consumed).
    fn escape(&mut self, at: usize) -> Result<char, TraceQlError> {
        let c = self.bump();
        let digits = match c {
            Some('n') => return Ok('\n'),
            Some('r') => return Ok('\r'),
            Some('t') => return Ok('\t'),
            Some('a') => return Ok('\u{7}'),
            Some('b') => return Ok('\u{8}'),
            Some('f') => return Ok('\u{c}'),
            Some('v') => return Ok('\u{b}'),
            Some(c @ ('\\' | '"' | '\'')) => return Ok(c),
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => {
                return Err(self.error(at..self.pos, "invalid escape in a string").with_expected([
                    "`\\\"`",
                    "`\\\\`",
                    "`\\n`",
                    "`\\t`",
                    "`\\uHHHH`",
                ]))
            }
        };
        let hex_start = self.pos;
        for _ in 0..digits {
            if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                return Err(self
                    .error(
                        at..self.pos,
                        format!("expected {digits} hexadecimal digits in the escape"),
                    )
                    .with_expected(["a hexadecimal digit"]));
            }
            self.bump();
        }
        let code = u32::from_str_radix(&self.src[hex_start..self.pos], 16).unwrap_or(u32::MAX);
        char::from_u32(code).ok_or_else(|| self.error(at..self.pos, "the escape is not a Unicode character"))
    }

    fn raw_string(&mut self) -> Result<Tok, TraceQlError> {
        let open = self.pos;
        self.bump();
        let body = self.pos;
        match self.src[body..].find('`') {
            Some(len) => {
                self.pos = body + len + 1;
                Ok(Tok::Str(self.src[body..body + len].to_string()))
            }
            None => Err(self
                .error(open..self.src.len(), "unterminated string")
                .with_expected(["`` ` ``"])),
        }
    }
}
