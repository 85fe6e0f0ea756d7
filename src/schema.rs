//! The four trace tables, defined once.
//!
//! Every other module builds or reads these schemas through the functions here, so a column is named,
//! typed and documented in exactly one place. `docs/SCHEMA.md` explains each column for users.
//!
//! ```
//! let spans = tracecheck::schema::spans_schema();
//! assert!(spans.field_with_name("nested_left").is_ok());
//! ```

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Version of the on-disk layout, written into every new dataset's `tracecheck.json`.
///
/// Version 2 has the columns of version 1 and clusters rows inside each row group (spans by
/// name, tags by key; `store::layout`), so statistics prune lookups. Version-1 datasets are read
/// as they are and appended to (new parts in the version-2 order); `tracecheck upgrade` rewrites
/// their parts.
pub const SCHEMA_VERSION: u32 = 2;

/// The schema versions this tracecheck reads.
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];

/// The link attribute that carries a Jaeger reference type (`follows_from`, `child_of`): written by
/// the OTLP export (references other than the parent become links) and read back by the OTLP
/// decoder, so it lives here, below both.
pub(crate) const REF_TYPE_KEY: &str = "tracecheck.ref_type";

/// Names of the four tables, in the order they are written (spans last, so that a reader that sees a
/// spans file can rely on its tags, refs and logs being in place).
pub const TABLES: [&str; 4] = ["tags", "refs", "logs", "spans"];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// `spans`: one row per span.
///
/// ```
/// let s = tracecheck::schema::spans_schema();
/// assert_eq!(s.field(0).name(), "trace_id");
/// ```
pub fn spans_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("trace_id", false),
        utf8("span_id", false),
        utf8("parent_span_id", true),
        utf8("name", false),
        utf8("service", false),
        utf8("kind", false),
        Field::new("start_time", ts(), true),
        Field::new("end_time", ts(), true),
        Field::new("duration", DataType::Int64, true),
        utf8("status", false),
        utf8("status_message", true),
        utf8("scope_name", true),
        utf8("scope_version", true),
        utf8("trace_state", true),
        Field::new("flags", DataType::Int64, true),
        Field::new("dropped_attributes_count", DataType::Int64, false),
        Field::new("dropped_events_count", DataType::Int64, false),
        Field::new("dropped_links_count", DataType::Int64, false),
        utf8("http_method", true),
        utf8("http_url", true),
        utf8("http_route", true),
        Field::new("http_status_code", DataType::Int64, true),
        utf8("db_system", true),
        utf8("db_name", true),
        utf8("db_user", true),
        utf8("db_statement", true),
        Field::new("depth", DataType::Int32, false),
        Field::new("nested_left", DataType::Int32, false),
        Field::new("nested_right", DataType::Int32, false),
    ]))
}

/// `tags`: one row per attribute of a span, its resource, its instrumentation scope, one of its
/// events (logs) or one of its links.
///
/// ```
/// let t = tracecheck::schema::tags_schema();
/// assert!(t.field_with_name("int_value").is_ok());
/// ```
pub fn tags_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("trace_id", false),
        utf8("span_id", false),
        utf8("scope", false),
        Field::new("position", DataType::Int32, true),
        utf8("key", false),
        utf8("type", false),
        utf8("str_value", true),
        Field::new("int_value", DataType::Int64, true),
        Field::new("double_value", DataType::Float64, true),
        Field::new("bool_value", DataType::Boolean, true),
        utf8("value", false),
    ]))
}

/// `refs`: one row per reference from a span to another span: its parent (`child_of`), Jaeger
/// `follows_from` references and OpenTelemetry links (`link`).
///
/// ```
/// let r = tracecheck::schema::refs_schema();
/// assert_eq!(r.fields().len(), 7);
/// ```
pub fn refs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("trace_id", false),
        utf8("span_id", false),
        Field::new("position", DataType::Int32, false),
        utf8("ref_type", false),
        utf8("ref_trace_id", false),
        utf8("ref_span_id", false),
        utf8("trace_state", true),
    ]))
}

/// `logs`: one row per span event (OpenTelemetry), log (Jaeger) or annotation (Zipkin).
///
/// ```
/// let l = tracecheck::schema::logs_schema();
/// assert!(l.field_with_name("fields").is_ok());
/// ```
pub fn logs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("trace_id", false),
        utf8("span_id", false),
        Field::new("position", DataType::Int32, false),
        Field::new("time", ts(), true),
        utf8("name", false),
        utf8("fields", false),
    ]))
}

/// The schema of a table by name.
///
/// ```
/// assert!(tracecheck::schema::table_schema("refs").is_some());
/// assert!(tracecheck::schema::table_schema("nope").is_none());
/// ```
pub fn table_schema(name: &str) -> Option<SchemaRef> {
    match name {
        "spans" => Some(spans_schema()),
        "tags" => Some(tags_schema()),
        "refs" => Some(refs_schema()),
        "logs" => Some(logs_schema()),
        _ => None,
    }
}
