//! Values as SQL: a TraceQL value is dynamically typed (an attribute may be a string in
//! one span and an integer in the next), so a value compiles to one SQL expression per type it may
//! have ([`Val`]); at most one of them is non-NULL on a row. Comparisons, arithmetic and printing
//! combine the parts pairwise, which is how TraceQL's type rules (an int equals a float, a string
//! never equals a number) become plain SQL that any engine runs.

use crate::traceql::ast::Literal;

/// A value as SQL: one expression per type it may take on a row (`None`: never that type). The
/// expressions read the columns of the joins in [`Joins`](super::joins::Joins).
#[derive(Clone, Debug, Default)]
pub(super) struct Val {
    /// A string.
    pub s: Option<String>,
    /// An integer (BIGINT).
    pub i: Option<String>,
    /// A float (DOUBLE).
    pub f: Option<String>,
    /// A boolean.
    pub b: Option<String>,
    /// A duration in nanoseconds (BIGINT).
    pub d: Option<String>,
    /// A status keyword, as stored (`ok`, `error`, `unset`).
    pub status: Option<String>,
    /// A kind keyword, as stored.
    pub kind: Option<String>,
    /// Whether the value exists on the row; `None`: whenever one of the parts is non-NULL.
    /// Attributes of types with no part (arrays, maps, bytes) still exist.
    pub present: Option<String>,
    /// The stored text of a float attribute (`tags.value`), printed as the data gave it.
    pub float_text: Option<String>,
    /// The literal `nil`.
    pub nil: bool,
}

impl Val {
    fn parts(&self) -> impl Iterator<Item = &String> {
        [&self.s, &self.i, &self.f, &self.b, &self.d, &self.status, &self.kind]
            .into_iter()
            .flatten()
    }

    /// SQL that is true when the value exists.
    pub fn present_sql(&self) -> String {
        if self.nil {
            return "FALSE".into();
        }
        match &self.present {
            Some(p) => p.clone(),
            None => {
                let parts: Vec<String> = self.parts().map(|p| format!("{p} IS NOT NULL")).collect();
                if parts.is_empty() {
                    "FALSE".into()
                } else {
                    format!("({})", parts.join(" OR "))
                }
            }
        }
    }

    /// The numeric parts, for arithmetic and numeric comparison: (sql, kind).
    pub(super) fn numbers(&self) -> Vec<(&String, Num)> {
        let mut out = Vec::new();
        if let Some(i) = &self.i {
            out.push((i, Num::Int));
        }
        if let Some(f) = &self.f {
            out.push((f, Num::Float));
        }
        if let Some(d) = &self.d {
            out.push((d, Num::Duration));
        }
        out
    }

    /// The value as one DOUBLE (aggregates and metrics), durations in `duration_unit`
    /// (1 for nanoseconds, 1e9 for seconds); NULL when it is not a number.
    pub fn number_sql(&self, duration_divisor: f64) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.i {
            parts.push(format!("CAST({i} AS DOUBLE)"));
        }
        if let Some(f) = &self.f {
            parts.push(f.clone());
        }
        if let Some(d) = &self.d {
            if duration_divisor == 1.0 {
                parts.push(format!("CAST({d} AS DOUBLE)"));
            } else {
                parts.push(format!("CAST({d} AS DOUBLE) / {}", float_lit(duration_divisor)));
            }
        }
        coalesce(parts)
    }

    /// The value printed as the case format and `query` print values (strings quoted, floats
    /// with a fraction, durations in `ns`, `nil` when absent): always a non-NULL string.
    pub fn display_sql(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.s {
            parts.push(format!(
                "'\"' || replace(replace({s}, '\\', '\\\\'), '\"', '\\\"') || '\"'"
            ));
        }
        if let Some(i) = &self.i {
            parts.push(format!("CAST({i} AS VARCHAR)"));
        }
        if let Some(f) = &self.f {
            match &self.float_text {
                // The stored text is Rust's shortest round-trip form; a fraction is added to
                // integral values so that a float never prints like an int.
                Some(t) => parts.push(format!(
                    "CASE WHEN {f} IS NULL THEN NULL WHEN {t} LIKE '%.%' OR {t} IN ('NaN', 'inf', '-inf') \
                     THEN {t} ELSE {t} || '.0' END"
                )),
                None => parts.push(format!("CAST({f} AS VARCHAR)")),
            }
        }
        if let Some(b) = &self.b {
            parts.push(format!("CASE WHEN {b} THEN 'true' WHEN NOT {b} THEN 'false' END"));
        }
        if let Some(d) = &self.d {
            parts.push(format!("CAST({d} AS VARCHAR) || 'ns'"));
        }
        if let Some(st) = &self.status {
            parts.push(st.clone());
        }
        if let Some(k) = &self.kind {
            parts.push(k.clone());
        }
        parts.push("'nil'".into());
        coalesce(parts)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Num {
    Int,
    Float,
    Duration,
}

pub(super) fn coalesce(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "NULL".into(),
        1 => parts.into_iter().next().expect("one"),
        _ => format!("COALESCE({})", parts.join(", ")),
    }
}

/// A DOUBLE literal that every engine reads as a DOUBLE.
pub(super) fn float_lit(x: f64) -> String {
    if x.is_nan() {
        "CAST('NaN' AS DOUBLE)".into()
    } else if x.is_infinite() {
        format!("CAST('{}' AS DOUBLE)", if x > 0.0 { "inf" } else { "-inf" })
    } else {
        format!("CAST({x:?} AS DOUBLE)")
    }
}

/// A SQL string literal (standard SQL: quotes doubled, backslashes ordinary).
pub(super) fn str_lit(s: &str) -> String {
    crate::compile::sql::quote_string(s)
}

fn int_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807 - 1)".into()
    } else if n < 0 {
        format!("({n})")
    } else {
        n.to_string()
    }
}

/// The value of a literal.
pub(super) fn literal(l: &Literal) -> Val {
    match l {
        Literal::Str(s) => Val {
            s: Some(str_lit(s)),
            ..Val::default()
        },
        Literal::Int(n) => Val {
            i: Some(int_lit(*n)),
            ..Val::default()
        },
        Literal::Float(x) => Val {
            f: Some(float_lit(*x)),
            ..Val::default()
        },
        Literal::Duration(d) => Val {
            d: Some(int_lit(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))),
            ..Val::default()
        },
        Literal::Bool(b) => Val {
            b: Some(if *b { "TRUE" } else { "FALSE" }.into()),
            ..Val::default()
        },
        Literal::Nil => Val {
            nil: true,
            ..Val::default()
        },
        Literal::Status(st) => Val {
            status: Some(str_lit(st.as_str())),
            ..Val::default()
        },
        Literal::Kind(k) => Val {
            kind: Some(str_lit(k.as_str())),
            ..Val::default()
        },
    }
}
