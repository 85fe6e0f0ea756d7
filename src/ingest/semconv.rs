//! Promoted columns: the semantic-convention attributes that models name most, lifted out of the
//! tags into typed `spans` columns.
//!
//! Each column is filled from the current OpenTelemetry name first, then the older names, then the
//! OpenTracing / Jaeger / Zipkin conventions; the first one present wins. The attribute stays in
//! `tags` too, so nothing is lost by promotion.

use super::span::{Attr, Value};

/// The promoted columns of one span.
///
/// ```
/// use tracecheck::ingest::{Attr, Promoted, Value};
/// let p = Promoted::from_attributes(&[Attr::new("http.status_code", Value::Str("503".into()))]);
/// assert_eq!(p.http_status_code, Some(503));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Promoted {
    /// `http.request.method`, `http.method`.
    pub http_method: Option<String>,
    /// `url.full`, `http.url`.
    pub http_url: Option<String>,
    /// `http.route`.
    pub http_route: Option<String>,
    /// `http.response.status_code`, `http.status_code` (strings holding integers are parsed).
    pub http_status_code: Option<i64>,
    /// `db.system.name`, `db.system`, `db.type` (OpenTracing).
    pub db_system: Option<String>,
    /// `db.namespace`, `db.name`, `db.instance` (OpenTracing).
    pub db_name: Option<String>,
    /// `db.user`.
    pub db_user: Option<String>,
    /// `db.query.text`, `db.statement`.
    pub db_statement: Option<String>,
}

/// Source attribute names per promoted column, most current first. Documented in docs/SCHEMA.md.
pub const HTTP_METHOD: &[&str] = &["http.request.method", "http.method"];
/// See [`HTTP_METHOD`].
pub const HTTP_URL: &[&str] = &["url.full", "http.url"];
/// See [`HTTP_METHOD`].
pub const HTTP_ROUTE: &[&str] = &["http.route"];
/// See [`HTTP_METHOD`].
pub const HTTP_STATUS_CODE: &[&str] = &["http.response.status_code", "http.status_code"];
/// See [`HTTP_METHOD`].
pub const DB_SYSTEM: &[&str] = &["db.system.name", "db.system", "db.type"];
/// See [`HTTP_METHOD`].
pub const DB_NAME: &[&str] = &["db.namespace", "db.name", "db.instance"];
/// See [`HTTP_METHOD`].
pub const DB_USER: &[&str] = &["db.user"];
/// See [`HTTP_METHOD`].
pub const DB_STATEMENT: &[&str] = &["db.query.text", "db.statement"];

impl Promoted {
    /// Computes the promoted columns from a span's attributes.
    ///
    /// ```
    /// use tracecheck::ingest::{Attr, Promoted, Value};
    /// let p = Promoted::from_attributes(&[
    ///     Attr::new("db.system", Value::Str("sqlite".into())),
    ///     Attr::new("db.system.name", Value::Str("postgresql".into())),
    /// ]);
    /// assert_eq!(p.db_system.as_deref(), Some("postgresql"));
    /// ```
    pub fn from_attributes(attrs: &[Attr]) -> Promoted {
        Promoted {
            http_method: text(attrs, HTTP_METHOD),
            http_url: text(attrs, HTTP_URL),
            http_route: text(attrs, HTTP_ROUTE),
            http_status_code: int(attrs, HTTP_STATUS_CODE),
            db_system: text(attrs, DB_SYSTEM),
            db_name: text(attrs, DB_NAME),
            db_user: text(attrs, DB_USER),
            db_statement: text(attrs, DB_STATEMENT),
        }
    }
}

fn find<'a>(attrs: &'a [Attr], names: &'static [&'static str]) -> impl Iterator<Item = &'a Value> + 'a {
    names
        .iter()
        .filter_map(move |n| attrs.iter().find(|a| a.key == *n).map(|a| &a.value))
}

fn text(attrs: &[Attr], names: &'static [&'static str]) -> Option<String> {
    find(attrs, names).find_map(|v| match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    })
}

fn int(attrs: &[Attr], names: &'static [&'static str]) -> Option<i64> {
    find(attrs, names).find_map(|v| match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 1e15 => Some(*d as i64),
        _ => None,
    })
}
