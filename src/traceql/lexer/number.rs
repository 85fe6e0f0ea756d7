//! Numbers and durations: `42`, `1.5`, `.5`, `1e3`, `1.5s`, `1h30m`.

use std::time::Duration;

use super::{Lexer, Tok};
use crate::traceql::error::TraceQlError;

/// Duration units and their length in nanoseconds.
const UNITS: [(&str, u128); 11] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("y", 31_536_000_000_000_000),
];

/// Units as listed in errors.
const UNIT_NAMES: [&str; 10] = ["`ns`", "`us`", "`µs`", "`ms`", "`s`", "`m`", "`h`", "`d`", "`w`", "`y`"];

impl Lexer<'_> {
    /// `42`, `1.5`, `.5`, `1e3`, or a duration.
    pub(super) fn number(&mut self) -> Result<Tok, TraceQlError> {
        let start = self.pos;
        let float = self.decimal();
        let number_end = self.pos;
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            return self.duration(start).map(Tok::Duration);
        }
        let text = &self.src[start..number_end];
        if float {
            match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
                _ => Err(self.error(start..number_end, "number out of range")),
            }
        } else {
            text.parse::<i64>().map(Tok::Int).map_err(|_| {
                self.error(start..number_end, "integer too large")
                    .with_hint("the largest integer is 9223372036854775807")
            })
        }
    }

    /// Consumes digits with an optional fraction and exponent; whether there was either.
    fn decimal(&mut self) -> bool {
        let mut float = false;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let signed = matches!(self.peek_at(1), Some('+' | '-'));
            let digit_at = if signed { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                for _ in 0..digit_at {
                    self.bump();
                }
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
        }
        float
    }

    /// A duration from `start`, where a number has been read and letters follow: number–unit pairs.
    fn duration(&mut self, start: usize) -> Result<Duration, TraceQlError> {
        self.pos = start;
        let mut total: u128 = 0;
        loop {
            let number_start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                self.bump();
            }
            let number = &self.src[number_start..self.pos];
            let unit_start = self.pos;
            while self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
                self.bump();
            }
            let unit = &self.src[unit_start..self.pos];
            if unit.is_empty() {
                return Err(self
                    .error(number_start..self.pos, "a duration needs a unit")
                    .with_expected(UNIT_NAMES)
                    .with_hint(format!(
                        "write the unit of `{number}` directly after it, e.g. `{number}ms`"
                    )));
            }
            let Some((_, nanos)) = UNITS.iter().find(|(u, _)| *u == unit) else {
                let known = UNITS.map(|(u, _)| u);
                return Err(self
                    .error(unit_start..self.pos, format!("unknown duration unit `{unit}`"))
                    .with_expected(UNIT_NAMES)
                    .with_hint_opt(crate::diag::did_you_mean(unit, known))
                    .with_hint("a number directly followed by letters is a duration; put a space or an operator after a number"));
            };
            let value = scaled(number, *nanos).ok_or_else(|| {
                if number.contains('.') && scaled(number.split('.').next().unwrap_or(""), *nanos).is_some() {
                    self.error(
                        number_start..self.pos,
                        "a duration must be a whole number of nanoseconds",
                    )
                } else {
                    self.error(number_start..self.pos, "duration too large")
                }
            })?;
            total = total
                .checked_add(value)
                .filter(|t| *t <= u128::from(u64::MAX))
                .ok_or_else(|| self.error(start..self.pos, "duration too large"))?;
            if !self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                break;
            }
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric()) {
            return Err(self.error(start..self.pos + 1, "unexpected character in a duration"));
        }
        Ok(Duration::from_nanos(u64::try_from(total).unwrap_or(u64::MAX)))
    }
}

/// `number` (digits, optionally with one `.`) × `unit`, exactly, if it is a whole number.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') || frac.len() > 30 {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value: u128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let frac_nanos = frac_value.checked_mul(unit)?;
    if !frac_nanos.is_multiple_of(scale) {
        return None;
    }
    int.checked_mul(unit)?.checked_add(frac_nanos / scale)
}
