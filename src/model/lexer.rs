//! Model text → tokens, each with its byte span.
//!
//! Decisions:
//! - Whitespace (including newlines) only separates tokens; clauses are recognised by their keyword.
//! - Comments (`# ...` and `// ...` to the end of the line) are returned separately, so the parser
//!   sees only tokens and the formatter can still print the comments.
//! - Keywords are reserved (a `let` cannot be called `span`); field names are not keywords.
//! - Numbers: `42` (unsigned; the parser applies a leading `-`), `1.5`; a number directly followed by
//!   letters is a duration with a unit among `ns us ms s m h` (`250ms`, `1.5s`), converted exactly to
//!   integer nanoseconds (a fraction of a nanosecond is an error). No exponents, no `_` separators.
//! - Strings: `"..."` on one line, with escapes `\" \\ \n \r \t \u{HEX}`.
//! - The first error stops lexing.

use std::ops::Range;

use super::diag::ModelError;

/// Reserved words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the keyword of the same name
pub enum Keyword {
    Model,
    Check,
    Let,
    When,
    Expect,
    No,
    At,
    Least,
    Most,
    And,
    Child,
    Parent,
    Descendant,
    Ancestor,
    Sibling,
    Of,
    Before,
    After,
    During,
    Span,
    Tag,
    Trace,
    True,
    False,
    Contains,
    By,
    Per,
    Baseline,
}

/// Every keyword with its spelling.
pub const KEYWORDS: [(&str, Keyword); 28] = [
    ("model", Keyword::Model),
    ("check", Keyword::Check),
    ("let", Keyword::Let),
    ("when", Keyword::When),
    ("expect", Keyword::Expect),
    ("no", Keyword::No),
    ("at", Keyword::At),
    ("least", Keyword::Least),
    ("most", Keyword::Most),
    ("and", Keyword::And),
    ("child", Keyword::Child),
    ("parent", Keyword::Parent),
    ("descendant", Keyword::Descendant),
    ("ancestor", Keyword::Ancestor),
    ("sibling", Keyword::Sibling),
    ("of", Keyword::Of),
    ("before", Keyword::Before),
    ("after", Keyword::After),
    ("during", Keyword::During),
    ("span", Keyword::Span),
    ("tag", Keyword::Tag),
    ("trace", Keyword::Trace),
    ("true", Keyword::True),
    ("false", Keyword::False),
    ("contains", Keyword::Contains),
    ("by", Keyword::By),
    ("per", Keyword::Per),
    ("baseline", Keyword::Baseline),
];

impl Keyword {
    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        KEYWORDS.iter().find(|(_, k)| *k == self).map_or("?", |(s, _)| s)
    }
}

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name that is not a keyword: a let name, a field path segment, an aggregate, an enum value.
    Ident(String),
    /// A reserved word.
    Keyword(Keyword),
    /// A string literal, escapes resolved.
    Str(String),
    /// An unsigned integer.
    Int(u64),
    /// An unsigned decimal number with a fraction.
    Float(f64),
    /// A duration with a unit, in nanoseconds.
    Duration(i64),
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
    /// `.`
    Dot,
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
    Match,
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
    /// The end of the input (always the last token; its span is empty).
    Eof,
}

/// A token and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its byte range in the source.
    pub span: Range<usize>,
}

/// A comment, with its marker (`# note` or `// note`), trailing whitespace removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The text.
    pub text: String,
    /// Its byte range in the source.
    pub span: Range<usize>,
}

/// The output of [`lex`].
#[derive(Clone, Debug, PartialEq)]
pub struct Lexed {
    /// The tokens, ending with [`Tok::Eof`].
    pub tokens: Vec<Token>,
    /// The comments, in source order.
    pub comments: Vec<Comment>,
}

/// Duration units and their length in nanoseconds.
pub const UNITS: [(&str, u128); 6] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Splits model text into tokens and comments.
///
/// ```
/// use tracecheck::model::lexer::{lex, Tok};
/// let lexed = lex("expect span(duration > 1.5s) # slow").unwrap();
/// assert_eq!(lexed.tokens[5].tok, Tok::Duration(1_500_000_000));
/// assert_eq!(lexed.comments[0].text, "# slow");
/// ```
pub fn lex(source: &str) -> Result<Lexed, ModelError> {
    let mut lexer = Lexer {
        src: source,
        pos: 0,
        out: Lexed {
            tokens: Vec::new(),
            comments: Vec::new(),
        },
    };
    lexer.run()?;
    Ok(lexer.out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Lexed,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.tokens.push(Token {
            tok,
            span: start..self.pos,
        });
    }

    fn run(&mut self) -> Result<(), ModelError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == '#' || (c == '/' && self.peek2() == Some('/')) {
                let end = self.src[start..].find('\n').map_or(self.src.len(), |i| start + i);
                let text = self.src[start..end].trim_end().to_string();
                self.pos = end;
                self.out.comments.push(Comment {
                    text,
                    span: start..start + self.src[start..end].trim_end().len(),
                });
            } else if c == '"' {
                let s = self.string()?;
                self.push(Tok::Str(s), start);
            } else if c.is_ascii_digit() {
                let tok = self.number()?;
                self.push(tok, start);
            } else if c.is_ascii_alphabetic() || c == '_' {
                let word = self.word();
                let tok = match KEYWORDS.iter().find(|(k, _)| *k == word) {
                    Some((_, kw)) => Tok::Keyword(*kw),
                    None => Tok::Ident(word.to_string()),
                };
                self.push(tok, start);
            } else {
                let tok = self.punct(c)?;
                self.push(tok, start);
            }
        }
        let end = self.src.len();
        self.out.tokens.push(Token {
            tok: Tok::Eof,
            span: end..end,
        });
        Ok(())
    }

    fn word(&mut self) -> &str {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn punct(&mut self, c: char) -> Result<Tok, ModelError> {
        let start = self.pos;
        let next = self.peek2();
        let (tok, len) = match (c, next) {
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('.', _) => (Tok::Dot, 1),
            ('=', Some('~')) => (Tok::Match, 2),
            ('=', Some('=')) => {
                return Err(ModelError::new(start..start + 2, "unexpected `==`")
                    .with_expected(["`=`"])
                    .with_hint("equality is written with a single `=`"))
            }
            ('=', _) => (Tok::Eq, 1),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('<', _) => (Tok::Lt, 1),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('>', _) => (Tok::Gt, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('%', _) => (Tok::Percent, 1),
            _ => {
                let end = start + c.len_utf8();
                let err = ModelError::new(start..end, format!("unexpected character `{c}`"));
                return Err(match c {
                    '!' => err.with_expected(["`!=`"]),
                    '\'' => err.with_hint("strings are written in double quotes: \"...\""),
                    'µ' | 'μ' => err.with_hint("microseconds are written `us`, e.g. 5us"),
                    _ => err,
                });
            }
        };
        self.pos += len;
        Ok(tok)
    }

    /// A string literal; `self.pos` is at the opening quote.
    fn string(&mut self) -> Result<String, ModelError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                '\n' => return Err(self.unterminated(start)),
                '\\' => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    out.push(self.escape(esc_start)?);
                }
                c => {
                    self.pos += c.len_utf8();
                    out.push(c);
                }
            }
        }
    }

    fn unterminated(&self, start: usize) -> ModelError {
        let end = self.src[start..].find('\n').map_or(self.src.len(), |i| start + i);
        ModelError::new(start..end, "unterminated string")
            .with_expected(["`\"`"])
            .with_hint("strings end on the line they start; write a line break as \\n")
    }

    /// The character of an escape; `self.pos` is just after the backslash.
    fn escape(&mut self, esc_start: usize) -> Result<char, ModelError> {
        let expected = ["`\\\"`", "`\\\\`", "`\\n`", "`\\r`", "`\\t`", "`\\u{...}`"];
        let Some(c) = self.peek() else {
            return Err(self.unterminated(esc_start - 1));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            '"' => Some('"'),
            '\\' => Some('\\'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            _ => None,
        };
        if let Some(ch) = simple {
            return Ok(ch);
        }
        if c != 'u' {
            return Err(ModelError::new(esc_start..self.pos, format!("unknown escape `\\{c}`")).with_expected(expected));
        }
        let rest = &self.src[self.pos..];
        let bad = |end: usize| {
            ModelError::new(esc_start..end, "malformed unicode escape")
                .with_expected(["`\\u{` and 1 to 6 hex digits and `}`"])
        };
        if !rest.starts_with('{') {
            return Err(bad(self.pos));
        }
        let Some(close) = rest.find('}') else {
            return Err(bad(self.pos + 1));
        };
        let hex = &rest[1..close];
        let end = self.pos + close + 1;
        if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(end));
        }
        let code = u32::from_str_radix(hex, 16).map_err(|_| bad(end))?;
        let ch = char::from_u32(code)
            .ok_or_else(|| ModelError::new(esc_start..end, format!("`\\u{{{hex}}}` is not a unicode character")))?;
        self.pos = end;
        Ok(ch)
    }

    /// An integer, decimal or duration; `self.pos` is at the first digit.
    fn number(&mut self) -> Result<Tok, ModelError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let int_part = &self.src[start..self.pos];
        let mut frac_part = "";
        if self.peek() == Some('.') && matches!(self.peek2(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
            let frac_start = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
            frac_part = &self.src[frac_start..self.pos];
        }
        let number_end = self.pos;
        if matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == '_') {
            let unit_start = self.pos;
            let unit = self.word().to_string();
            return duration(int_part, frac_part, &unit, start..self.pos, unit_start);
        }
        let text = &self.src[start..number_end];
        if frac_part.is_empty() {
            text.parse::<u64>().map(Tok::Int).map_err(|_| {
                ModelError::new(start..number_end, "integer too large")
                    .with_hint(format!("integers range up to {}", i64::MAX))
            })
        } else {
            // A decimal text of digits always parses as an f64.
            Ok(Tok::Float(text.parse::<f64>().unwrap_or(f64::NAN)))
        }
    }
}

/// Exact conversion of `INT[.FRAC]UNIT` to nanoseconds.
fn duration(
    int_part: &str,
    frac_part: &str,
    unit: &str,
    span: Range<usize>,
    unit_start: usize,
) -> Result<Tok, ModelError> {
    let Some((_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        let names: Vec<&str> = UNITS.iter().map(|(u, _)| *u).collect();
        let mut err = ModelError::new(unit_start..span.end, format!("unknown unit `{unit}`"))
            .with_expected(names.iter().map(|u| format!("`{u}`")));
        if let Some(hint) = super::diag::did_you_mean(unit, names.iter().copied()) {
            err = err.with_hint(hint);
        }
        if unit.eq_ignore_ascii_case("sec") || unit.eq_ignore_ascii_case("min") {
            err = err.with_hint("durations are written like `1s`, `5m`, `250ms`");
        }
        return Err(err);
    };
    let too_large =
        || ModelError::new(span.clone(), "duration too large").with_hint("durations range up to about 292 years");
    let int: u128 = int_part.parse().map_err(|_| too_large())?;
    let mut ns = int.checked_mul(*scale).ok_or_else(too_large)?;
    if !frac_part.is_empty() {
        let digits = frac_part.trim_end_matches('0');
        let denom = 10u128.checked_pow(digits.len() as u32).ok_or_else(too_large)?;
        let frac: u128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| too_large())?
        };
        let scaled = frac.checked_mul(*scale).ok_or_else(too_large)?;
        if scaled % denom != 0 {
            return Err(
                ModelError::new(span.clone(), "duration is not a whole number of nanoseconds")
                    .with_hint("use a smaller unit, e.g. `1500us` instead of `1.5ms`"),
            );
        }
        ns = ns.checked_add(scaled / denom).ok_or_else(too_large)?;
    }
    i64::try_from(ns).map(Tok::Duration).map_err(|_| too_large())
}

/// A token as it would be written, for error messages (`` `foo` ``, `a string`, `end of file`).
pub fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Keyword(k) => format!("`{}`", k.as_str()),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Int(i) => format!("`{i}`"),
        Tok::Float(f) => format!("`{f}`"),
        Tok::Duration(_) => "a duration".to_string(),
        Tok::Eof => "end of file".to_string(),
        punct => format!("`{}`", punct_str(punct)),
    }
}

fn punct_str(tok: &Tok) -> &'static str {
    match tok {
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::Comma => ",",
        Tok::Dot => ".",
        Tok::Eq => "=",
        Tok::Ne => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Match => "=~",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        _ => "?",
    }
}
