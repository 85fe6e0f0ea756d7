//! `RawTables`: decoded spans appended to Arrow columns, in input order, before assembly.
//!
//! Ids, parents and the owner of each tag/ref/log row are kept as plain integer vectors: assembly
//! (`store::assemble`) sorts and groups by them, renames duplicate span ids and computes the trace
//! structure without touching the wide columns, which it then gathers with one `interleave` per column.

use std::sync::Arc;

use base64::Engine;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::rejects::Rejects;
use super::semconv::Promoted;
use super::span::{Attr, Span, SpanKind, Value};
use super::SpanSink;
use crate::error::{Error, Result};

/// Rows per chunk: chunks keep every string column far below Arrow's 2 GiB offset limit.
const CHUNK_SPANS: usize = 1 << 16;

/// Decoded spans of one ingest run, as Arrow column chunks plus id vectors.
///
/// ```
/// use tracecheck::ingest::{RawTables, Span, SpanSink};
/// let mut raw = RawTables::new(false);
/// raw.push(Span { trace_id: 7, span_id: 1, name: "a".into(), ..Default::default() }).unwrap();
/// assert_eq!(raw.span_count(), 1);
/// ```
pub struct RawTables {
    /// Records skipped with `--keep-going`.
    rejects: Rejects,
    // Per span, global index = position in these vectors.
    pub(crate) trace_ids: Vec<u128>,
    pub(crate) span_ids: Vec<u64>,
    pub(crate) parents: Vec<Option<u64>>,
    pub(crate) kinds: Vec<SpanKind>,
    pub(crate) starts: Vec<Option<i64>>,
    pub(crate) services: Vec<Arc<str>>,
    pub(crate) span_chunks: Vec<Vec<ArrayRef>>,
    spans: SpanCols,
    // Per tag / ref / log row: the global index of the span that owns it.
    pub(crate) tag_owner: Vec<u32>,
    pub(crate) tag_chunks: Vec<RecordBatch>,
    tags: TagCols,
    pub(crate) ref_owner: Vec<u32>,
    pub(crate) ref_positions: Vec<i32>,
    pub(crate) ref_trace_ids: Vec<u128>,
    pub(crate) ref_span_ids: Vec<u64>,
    pub(crate) ref_chunks: Vec<RecordBatch>,
    refs: RefCols,
    pub(crate) log_owner: Vec<u32>,
    pub(crate) log_chunks: Vec<RecordBatch>,
    logs: LogCols,
    last_service: Option<Arc<str>>,
}

impl RawTables {
    /// Empty tables. With `keep_going`, rejected records are counted and skipped instead of failing.
    ///
    /// ```
    /// let raw = tracecheck::ingest::RawTables::new(true);
    /// assert_eq!(raw.rejected_count(), 0);
    /// ```
    pub fn new(keep_going: bool) -> RawTables {
        RawTables {
            rejects: Rejects::new(keep_going),
            trace_ids: Vec::new(),
            span_ids: Vec::new(),
            parents: Vec::new(),
            kinds: Vec::new(),
            starts: Vec::new(),
            services: Vec::new(),
            span_chunks: Vec::new(),
            spans: SpanCols::default(),
            tag_owner: Vec::new(),
            tag_chunks: Vec::new(),
            tags: TagCols::default(),
            ref_owner: Vec::new(),
            ref_positions: Vec::new(),
            ref_trace_ids: Vec::new(),
            ref_span_ids: Vec::new(),
            ref_chunks: Vec::new(),
            refs: RefCols::default(),
            log_owner: Vec::new(),
            log_chunks: Vec::new(),
            logs: LogCols::default(),
            last_service: None,
        }
    }

    /// Spans pushed so far.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::RawTables::new(false).span_count(), 0);
    /// ```
    pub fn span_count(&self) -> usize {
        self.span_ids.len()
    }

    /// Records skipped with `--keep-going`.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::RawTables::new(true).rejected_count(), 0);
    /// ```
    pub fn rejected_count(&self) -> usize {
        self.rejects.count()
    }

    /// The first rejected records' errors (at most 20).
    ///
    /// ```
    /// assert!(tracecheck::ingest::RawTables::new(true).rejected().is_empty());
    /// ```
    pub fn rejected(&self) -> &[Error] {
        self.rejects.first()
    }

    /// Takes the kept rejected records' errors out (the count stays).
    pub(crate) fn take_rejected(&mut self) -> Vec<Error> {
        self.rejects.take_first()
    }

    /// Closes the open chunk so that every pushed row is in `*_chunks`.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.spans.len > 0 {
            self.span_chunks.push(self.spans.finish());
        }
        if self.tags.len > 0 {
            self.tag_chunks.push(self.tags.finish()?);
        }
        if self.refs.len > 0 {
            self.ref_chunks.push(self.refs.finish()?);
        }
        if self.logs.len > 0 {
            self.log_chunks.push(self.logs.finish()?);
        }
        Ok(())
    }

    /// Spans per chunk: global span `i` is row `i % size` of chunk `i / size`.
    pub(crate) fn span_chunk_size() -> usize {
        CHUNK_SPANS
    }

    fn service_arc(&mut self, s: &str) -> Arc<str> {
        // Consecutive spans mostly share a service: reuse its allocation.
        match &self.last_service {
            Some(a) if &**a == s => a.clone(),
            _ => {
                let a: Arc<str> = Arc::from(s);
                self.last_service = Some(a.clone());
                a
            }
        }
    }
}

impl SpanSink for RawTables {
    fn push(&mut self, span: Span) -> Result<()> {
        let seq = self.span_ids.len();
        let owner = u32::try_from(seq).map_err(|_| Error::Usage("more than 4 billion spans in one ingest".into()))?;
        let promoted = Promoted::from_attributes(&span.attributes);
        let service = if span.service.is_empty() {
            "unknown_service"
        } else {
            &span.service
        };
        let service = self.service_arc(service);
        self.trace_ids.push(span.trace_id);
        self.span_ids.push(span.span_id);
        self.parents.push(span.parent_span_id.filter(|p| *p != 0));
        self.kinds.push(span.kind);
        self.starts.push(span.start_ns);
        self.services.push(service.clone());
        self.spans.append(&span, &service, &promoted, seq);

        for (scope, attrs) in [
            ("span", &span.attributes[..]),
            ("resource", &span.resource[..]),
            ("scope", &span.scope_attributes[..]),
        ] {
            for a in attrs {
                self.tag_owner.push(owner);
                self.tags.append(scope, None, a);
            }
        }
        // Position 0 of refs is the parent (`child_of`); other references follow from 1.
        if let Some(parent) = span.parent_span_id.filter(|p| *p != 0) {
            self.ref_owner.push(owner);
            self.ref_positions.push(0);
            self.ref_trace_ids.push(span.trace_id);
            self.ref_span_ids.push(parent);
            self.refs.append("child_of", None);
        }
        for (i, r) in span.refs.iter().enumerate() {
            let pos = i as i32 + 1;
            self.ref_owner.push(owner);
            self.ref_positions.push(pos);
            self.ref_trace_ids.push(r.trace_id);
            self.ref_span_ids.push(r.span_id);
            self.refs.append(r.ref_type.as_str(), r.trace_state.as_deref());
            for a in &r.attributes {
                self.tag_owner.push(owner);
                self.tags.append("link", Some(pos), a);
            }
        }
        for (i, e) in span.events.iter().enumerate() {
            let pos = i as i32;
            self.log_owner.push(owner);
            self.logs.append(pos, e.time_ns, &e.name, &e.attributes);
            for a in &e.attributes {
                self.tag_owner.push(owner);
                self.tags.append("event", Some(pos), a);
            }
        }
        if self.spans.len >= CHUNK_SPANS {
            self.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, err: Error) -> Result<()> {
        self.rejects.reject(err)
    }
}

#[derive(Default)]
struct SpanCols {
    len: usize,
    name: StringBuilder,
    service: StringBuilder,
    kind: StringBuilder,
    start: TimestampNanosecondBuilder,
    end: TimestampNanosecondBuilder,
    duration: Int64Builder,
    status: StringBuilder,
    status_message: StringBuilder,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    trace_state: StringBuilder,
    flags: Int64Builder,
    dropped_attributes: Int64Builder,
    dropped_events: Int64Builder,
    dropped_links: Int64Builder,
    http_method: StringBuilder,
    http_url: StringBuilder,
    http_route: StringBuilder,
    http_status_code: Int64Builder,
    db_system: StringBuilder,
    db_name: StringBuilder,
    db_user: StringBuilder,
    db_statement: StringBuilder,
    kind_code: Int32Builder,
    zipkin_shared: BooleanBuilder,
    seq: Int64Builder,
}

impl SpanCols {
    fn append(&mut self, s: &Span, service: &str, p: &Promoted, seq: usize) {
        self.len += 1;
        self.name.append_value(&s.name);
        self.service.append_value(service);
        self.kind.append_value(s.kind.as_str());
        self.start.append_option(s.start_ns);
        self.end.append_option(s.end_ns);
        self.duration.append_option(s.duration_ns());
        self.status.append_value(s.status.as_str());
        self.status_message
            .append_option(s.status_message.as_deref().filter(|m| !m.is_empty()));
        self.scope_name.append_option(s.scope_name.as_deref());
        self.scope_version.append_option(s.scope_version.as_deref());
        self.trace_state
            .append_option(s.trace_state.as_deref().filter(|t| !t.is_empty()));
        self.flags.append_option(s.flags.map(i64::from));
        self.dropped_attributes
            .append_value(i64::from(s.dropped_attributes_count));
        self.dropped_events.append_value(i64::from(s.dropped_events_count));
        self.dropped_links.append_value(i64::from(s.dropped_links_count));
        self.http_method.append_option(p.http_method.as_deref());
        self.http_url.append_option(p.http_url.as_deref());
        self.http_route.append_option(p.http_route.as_deref());
        self.http_status_code.append_option(p.http_status_code);
        self.db_system.append_option(p.db_system.as_deref());
        self.db_name.append_option(p.db_name.as_deref());
        self.db_user.append_option(p.db_user.as_deref());
        self.db_statement.append_option(p.db_statement.as_deref());
        self.kind_code.append_value(s.kind.otlp_code());
        let shared = s
            .attributes
            .iter()
            .any(|a| a.key == "zipkin.shared" && a.value == Value::Bool(true));
        self.zipkin_shared.append_value(shared);
        self.seq.append_value(seq as i64);
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.len = 0;
        vec![
            Arc::new(self.name.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.start.finish().with_timezone("UTC")),
            Arc::new(self.end.finish().with_timezone("UTC")),
            Arc::new(self.duration.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.status_message.finish()),
            Arc::new(self.scope_name.finish()),
            Arc::new(self.scope_version.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.dropped_attributes.finish()),
            Arc::new(self.dropped_events.finish()),
            Arc::new(self.dropped_links.finish()),
            Arc::new(self.http_method.finish()),
            Arc::new(self.http_url.finish()),
            Arc::new(self.http_route.finish()),
            Arc::new(self.http_status_code.finish()),
            Arc::new(self.db_system.finish()),
            Arc::new(self.db_name.finish()),
            Arc::new(self.db_user.finish()),
            Arc::new(self.db_statement.finish()),
            Arc::new(self.kind_code.finish()),
            Arc::new(self.zipkin_shared.finish()),
            Arc::new(self.seq.finish()),
        ]
    }
}

/// The columns of `tags` after trace_id and span_id.
#[derive(Default)]
struct TagCols {
    len: usize,
    scope: StringBuilder,
    position: Int32Builder,
    key: StringBuilder,
    ty: StringBuilder,
    str_value: StringBuilder,
    int_value: Int64Builder,
    double_value: Float64Builder,
    bool_value: BooleanBuilder,
    value: StringBuilder,
}

impl TagCols {
    fn append(&mut self, scope: &str, position: Option<i32>, a: &Attr) {
        self.len += 1;
        self.scope.append_value(scope);
        self.position.append_option(position);
        self.key.append_value(&a.key);
        let (ty, s, i, d, b) = match &a.value {
            Value::Str(v) => ("string", Some(v.as_str()), None, None, None),
            Value::Int(v) => ("int", None, Some(*v), None, None),
            Value::Double(v) => ("double", None, None, Some(*v), None),
            Value::Bool(v) => ("bool", None, None, None, Some(*v)),
            Value::Bytes(_) => ("bytes", None, None, None, None),
            Value::Array(_) => ("array", None, None, None, None),
            Value::Map(_) => ("map", None, None, None, None),
            Value::Empty => ("empty", None, None, None, None),
        };
        self.ty.append_value(ty);
        self.str_value.append_option(s);
        self.int_value.append_option(i);
        self.double_value.append_option(d);
        self.bool_value.append_option(b);
        self.value.append_value(render_value(&a.value));
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.len = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.scope.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.ty.finish()),
            Arc::new(self.str_value.finish()),
            Arc::new(self.int_value.finish()),
            Arc::new(self.double_value.finish()),
            Arc::new(self.bool_value.finish()),
            Arc::new(self.value.finish()),
        ];
        Ok(RecordBatch::try_new(tail_schema(&crate::schema::tags_schema()), cols)?)
    }
}

#[derive(Default)]
struct RefCols {
    len: usize,
    ref_type: StringBuilder,
    trace_state: StringBuilder,
}

impl RefCols {
    fn append(&mut self, ref_type: &str, trace_state: Option<&str>) {
        self.len += 1;
        self.ref_type.append_value(ref_type);
        self.trace_state.append_option(trace_state.filter(|t| !t.is_empty()));
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.len = 0;
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            crate::schema::refs_schema().field_with_name("ref_type")?.clone(),
            crate::schema::refs_schema().field_with_name("trace_state")?.clone(),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![Arc::new(self.ref_type.finish()), Arc::new(self.trace_state.finish())],
        )?)
    }
}

#[derive(Default)]
struct LogCols {
    len: usize,
    position: Int32Builder,
    time: TimestampNanosecondBuilder,
    name: StringBuilder,
    fields: StringBuilder,
}

impl LogCols {
    fn append(&mut self, position: i32, time: Option<i64>, name: &str, attrs: &[Attr]) {
        self.len += 1;
        self.position.append_value(position);
        self.time.append_option(time);
        self.name.append_value(name);
        self.fields.append_value(render_value(&Value::Map(attrs.to_vec())));
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.len = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.position.finish()),
            Arc::new(self.time.finish().with_timezone("UTC")),
            Arc::new(self.name.finish()),
            Arc::new(self.fields.finish()),
        ];
        Ok(RecordBatch::try_new(tail_schema(&crate::schema::logs_schema()), cols)?)
    }
}

/// A table's schema without its first two columns (trace_id, span_id), which assembly adds.
pub(crate) fn tail_schema(full: &datafusion::arrow::datatypes::SchemaRef) -> datafusion::arrow::datatypes::SchemaRef {
    Arc::new(datafusion::arrow::datatypes::Schema::new(full.fields()[2..].to_vec()))
}

/// The text rendering stored in `tags.value`: strings as they are, numbers and booleans as SQL would
/// print them, bytes as base64, arrays and maps as JSON.
///
/// ```
/// use tracecheck::ingest::{render_value, Value};
/// assert_eq!(render_value(&Value::Int(-3)), "-3");
/// assert_eq!(render_value(&Value::Array(vec![Value::Str("a".into()), Value::Bool(true)])), r#"["a",true]"#);
/// ```
pub fn render_value(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Value::Empty => String::new(),
        Value::Array(_) | Value::Map(_) => to_json(v).to_string(),
    }
}

/// JSON form of a value (used for arrays, maps and log fields).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Str(s) => J::String(s.clone()),
        Value::Int(i) => J::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(d.to_string())),
        Value::Bool(b) => J::Bool(*b),
        Value::Bytes(_) => J::String(render_value(v)),
        Value::Empty => J::Null,
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(kvs) => J::Object(kvs.iter().map(|a| (a.key.clone(), to_json(&a.value))).collect()),
    }
}
