//! The decoded form of one span, as every decoder hands it over.
//!
//! A [`Span`] lives only between a decoder and [`crate::ingest::RawTables::push`]: decoders build one,
//! push it, and drop it, so memory holds Arrow columns, never a whole file of span objects.

use std::sync::Arc;

/// What a span is to its trace, as in OpenTelemetry's `SpanKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// No kind given.
    #[default]
    Unspecified,
    /// An operation inside one service.
    Internal,
    /// The server side of a synchronous call.
    Server,
    /// The client side of a synchronous call.
    Client,
    /// The sender of an asynchronous message.
    Producer,
    /// The receiver of an asynchronous message.
    Consumer,
}

impl SpanKind {
    /// Every kind, in the order of the OpenTelemetry enum.
    ///
    /// ```
    /// use tracecheck::ingest::SpanKind;
    /// assert_eq!(SpanKind::ALL.map(SpanKind::as_str)[2], "server");
    /// ```
    pub const ALL: [SpanKind; 6] = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];

    /// The lowercase name stored in the `kind` column.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::SpanKind::Server.as_str(), "server");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Parses the lowercase names and the OpenTelemetry, Jaeger and Zipkin spellings
    /// (`SPAN_KIND_SERVER`, `server`, `SERVER`); `None` for anything else.
    ///
    /// ```
    /// use tracecheck::ingest::SpanKind;
    /// assert_eq!(SpanKind::parse("SPAN_KIND_CLIENT"), Some(SpanKind::Client));
    /// assert_eq!(SpanKind::parse("CONSUMER"), Some(SpanKind::Consumer));
    /// ```
    pub fn parse(s: &str) -> Option<SpanKind> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("span_kind_").unwrap_or(&lower);
        Some(match name {
            "unspecified" | "" => SpanKind::Unspecified,
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }

    /// The OpenTelemetry protobuf enum number.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::SpanKind::Client.otlp_code(), 3);
    /// ```
    pub fn otlp_code(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }

    /// From the OpenTelemetry protobuf enum number.
    ///
    /// ```
    /// use tracecheck::ingest::SpanKind;
    /// assert_eq!(SpanKind::from_otlp_code(2), Some(SpanKind::Server));
    /// assert_eq!(SpanKind::from_otlp_code(9), None);
    /// ```
    pub fn from_otlp_code(code: i64) -> Option<SpanKind> {
        Some(match code {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => return None,
        })
    }
}

/// A span's status, as in OpenTelemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    /// No status set.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed.
    Error,
}

impl StatusCode {
    /// Every status, in the order of the OpenTelemetry enum.
    ///
    /// ```
    /// use tracecheck::ingest::StatusCode;
    /// assert_eq!(StatusCode::ALL.map(StatusCode::as_str), ["unset", "ok", "error"]);
    /// ```
    pub const ALL: [StatusCode; 3] = [StatusCode::Unset, StatusCode::Ok, StatusCode::Error];

    /// The lowercase name stored in the `status` column.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::StatusCode::Error.as_str(), "error");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }

    /// Parses `unset` / `ok` / `error` and `STATUS_CODE_*` spellings in any case.
    ///
    /// ```
    /// use tracecheck::ingest::StatusCode;
    /// assert_eq!(StatusCode::parse("STATUS_CODE_ERROR"), Some(StatusCode::Error));
    /// ```
    pub fn parse(s: &str) -> Option<StatusCode> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("status_code_").unwrap_or(&lower);
        Some(match name {
            "unset" | "" => StatusCode::Unset,
            "ok" => StatusCode::Ok,
            "error" => StatusCode::Error,
            _ => return None,
        })
    }

    /// From the OpenTelemetry protobuf enum number.
    ///
    /// ```
    /// use tracecheck::ingest::StatusCode;
    /// assert_eq!(StatusCode::from_otlp_code(2), Some(StatusCode::Error));
    /// ```
    pub fn from_otlp_code(code: i64) -> Option<StatusCode> {
        Some(match code {
            0 => StatusCode::Unset,
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => return None,
        })
    }

    /// The OpenTelemetry protobuf enum number.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::StatusCode::Ok.otlp_code(), 1);
    /// ```
    pub fn otlp_code(self) -> i32 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        }
    }
}

/// A typed attribute value (OpenTelemetry `AnyValue`, Jaeger tag, Zipkin tag).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(String),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values.
    Array(Vec<Value>),
    /// A list of key/value pairs.
    Map(Vec<Attr>),
    /// An `AnyValue` with no value set.
    Empty,
}

/// A key and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The attribute key, e.g. `http.status_code`.
    pub key: String,
    /// The typed value.
    pub value: Value,
}

impl Attr {
    /// A key/value pair.
    ///
    /// ```
    /// use tracecheck::ingest::{Attr, Value};
    /// let a = Attr::new("amount", Value::Int(300));
    /// assert_eq!(a.key, "amount");
    /// ```
    pub fn new(key: impl Into<String>, value: Value) -> Attr {
        Attr { key: key.into(), value }
    }
}

/// A timestamped event of a span (OpenTelemetry event, Jaeger log, Zipkin annotation).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// Nanoseconds since the Unix epoch.
    pub time_ns: Option<i64>,
    /// The event name (`event` field of a Jaeger log, the value of a Zipkin annotation).
    pub name: String,
    /// Fields of the event.
    pub attributes: Vec<Attr>,
    /// OpenTelemetry `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
}

/// How a reference relates two spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    /// The referenced span is the parent (OpenTracing/Jaeger `CHILD_OF`).
    ChildOf,
    /// Jaeger `FOLLOWS_FROM`.
    FollowsFrom,
    /// An OpenTelemetry link.
    Link,
}

impl RefType {
    /// The name stored in the `ref_type` column.
    ///
    /// ```
    /// assert_eq!(tracecheck::ingest::RefType::FollowsFrom.as_str(), "follows_from");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RefType::ChildOf => "child_of",
            RefType::FollowsFrom => "follows_from",
            RefType::Link => "link",
        }
    }
}

/// A reference from a span to another span, other than its parent (the parent is
/// [`Span::parent_span_id`]; its `child_of` row is added when the tables are assembled).
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    /// Kind of reference.
    pub ref_type: RefType,
    /// Trace of the referenced span.
    pub trace_id: u128,
    /// The referenced span.
    pub span_id: u64,
    /// W3C trace state of a link.
    pub trace_state: Option<String>,
    /// Attributes of a link.
    pub attributes: Vec<Attr>,
    /// OpenTelemetry `dropped_attributes_count` of a link.
    pub dropped_attributes_count: u32,
}

/// One decoded span. Ids are numbers here and become lowercase hex (32 and 16 digits) in the tables.
///
/// ```
/// use tracecheck::ingest::{Span, SpanKind};
/// let s = Span { trace_id: 1, span_id: 2, name: "withdrawal".into(), kind: SpanKind::Internal,
///                ..Span::default() };
/// assert_eq!(s.duration_ns(), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Span {
    /// 128-bit trace id (64-bit ids are zero-extended).
    pub trace_id: u128,
    /// 64-bit span id.
    pub span_id: u64,
    /// Parent span id, `None` for a root.
    pub parent_span_id: Option<u64>,
    /// Operation name.
    pub name: String,
    /// Service name (`service.name`, Jaeger process, Zipkin local endpoint).
    pub service: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start, nanoseconds since the Unix epoch.
    pub start_ns: Option<i64>,
    /// End, nanoseconds since the Unix epoch.
    pub end_ns: Option<i64>,
    /// Status code.
    pub status: StatusCode,
    /// Status message (or the Zipkin `error` tag / Jaeger `otel.status_description`).
    pub status_message: Option<String>,
    /// Instrumentation scope name.
    pub scope_name: Option<String>,
    /// Instrumentation scope version.
    pub scope_version: Option<String>,
    /// W3C trace state.
    pub trace_state: Option<String>,
    /// OpenTelemetry / Jaeger span flags.
    pub flags: Option<u32>,
    /// Span attributes (Jaeger tags, Zipkin tags).
    pub attributes: Vec<Attr>,
    /// Resource attributes (Jaeger process tags), shared by the spans of one resource.
    pub resource: Arc<Vec<Attr>>,
    /// Instrumentation-scope attributes, shared by the spans of one scope.
    pub scope_attributes: Arc<Vec<Attr>>,
    /// Events / logs / annotations.
    pub events: Vec<Event>,
    /// References other than the parent: links, `FOLLOWS_FROM`, further `CHILD_OF`.
    pub refs: Vec<Ref>,
    /// OpenTelemetry `dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// OpenTelemetry `dropped_events_count`.
    pub dropped_events_count: u32,
    /// OpenTelemetry `dropped_links_count`.
    pub dropped_links_count: u32,
}

impl Span {
    /// End minus start in nanoseconds, when both are known.
    ///
    /// ```
    /// let s = tracecheck::ingest::Span { start_ns: Some(10), end_ns: Some(25), ..Default::default() };
    /// assert_eq!(s.duration_ns(), Some(15));
    /// ```
    pub fn duration_ns(&self) -> Option<i64> {
        Some(self.end_ns? - self.start_ns?)
    }
}

/// Lowercase hex of a trace id, left-padded to 32 digits.
///
/// ```
/// assert_eq!(tracecheck::ingest::trace_id_hex(0xab), format!("{:0>32}", "ab"));
/// ```
pub fn trace_id_hex(id: u128) -> String {
    format!("{id:032x}")
}

/// Lowercase hex of a span id, left-padded to 16 digits.
///
/// ```
/// assert_eq!(tracecheck::ingest::span_id_hex(0x1f), "000000000000001f");
/// ```
pub fn span_id_hex(id: u64) -> String {
    format!("{id:016x}")
}

/// Parses a hex id of at most `max_digits` digits (either case); `None` if empty, too long or not hex.
///
/// ```
/// assert_eq!(tracecheck::ingest::parse_hex_id("00FF", 16), Some(255));
/// assert_eq!(tracecheck::ingest::parse_hex_id("xyz", 16), None);
/// ```
pub fn parse_hex_id(s: &str, max_digits: usize) -> Option<u128> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

/// An id for text that is not a hex id (some Jaeger UI test data uses ids like `trace-123`): the
/// 64-bit FNV-1a hash of the text (two hashes for 32 digits), never zero. The same text always gives
/// the same id, so references between such spans still resolve.
///
/// ```
/// let a = tracecheck::ingest::id_from_text("span-1", 16);
/// assert_eq!(a, tracecheck::ingest::id_from_text("span-1", 16));
/// assert!(a != 0 && a <= u128::from(u64::MAX));
/// ```
pub fn id_from_text(s: &str, digits: usize) -> u128 {
    fn fnv(bytes: &[u8], seed: u64) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    let lo = fnv(s.as_bytes(), 0);
    let id = if digits > 16 {
        (u128::from(fnv(s.as_bytes(), 0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(lo)
    } else {
        u128::from(lo)
    };
    id.max(1)
}
