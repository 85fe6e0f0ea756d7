//! The fields a model can name: span intrinsics, promoted semantic-convention columns, tags and
//! trace-level values, with their spelling in models and their `spans` column.
//!
//! Decisions: the intrinsics are the columns of `spans` minus storage details (`start` and `end`
//! stand for `start_time` and `end_time`; flags, trace state and dropped counts are not offered);
//! promoted columns are written with dots as in OpenTelemetry (`http.status_code`); any other
//! attribute is `tag("key")`; `trace.*` fields are computed per trace by the compiler.

/// Values of the `kind` field (enum literals).
pub const KIND_VALUES: [&str; 6] = ["server", "client", "producer", "consumer", "internal", "unspecified"];

/// Values of the `status` field (enum literals).
pub const STATUS_VALUES: [&str; 3] = ["unset", "ok", "error"];

/// A field of a span (or of its trace) that predicates, values, aggregates and `by` can name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `name`
    Name,
    /// `service`
    Service,
    /// `kind` (enum: server, client, producer, consumer, internal, unspecified)
    Kind,
    /// `status` (enum: unset, ok, error)
    Status,
    /// `status_message`
    StatusMessage,
    /// `duration` (nanoseconds; compare with duration literals)
    Duration,
    /// `start` (the `start_time` column)
    Start,
    /// `end` (the `end_time` column)
    End,
    /// `scope_name`
    ScopeName,
    /// `scope_version`
    ScopeVersion,
    /// `trace_id`
    TraceId,
    /// `span_id`
    SpanId,
    /// `parent_span_id`
    ParentSpanId,
    /// `depth` (0 for a root span)
    Depth,
    /// `http.method`
    HttpMethod,
    /// `http.url`
    HttpUrl,
    /// `http.route`
    HttpRoute,
    /// `http.status_code`
    HttpStatusCode,
    /// `db.system`
    DbSystem,
    /// `db.name`
    DbName,
    /// `db.user`
    DbUser,
    /// `db.statement`
    DbStatement,
    /// `trace.duration`: from the earliest start to the latest end in the trace.
    TraceDuration,
    /// `trace.span_count`
    TraceSpanCount,
    /// `trace.service_count`: distinct services in the trace.
    TraceServiceCount,
    /// `trace.root.name`: the name of the trace's root span.
    TraceRootName,
    /// `tag("key")`: a span tag, else a resource tag, with that key.
    Tag(String),
}

/// Every named field with its path, in documentation order (tags are written `tag("key")`).
pub const FIELDS: [(&str, Field); 26] = [
    ("name", Field::Name),
    ("service", Field::Service),
    ("kind", Field::Kind),
    ("status", Field::Status),
    ("status_message", Field::StatusMessage),
    ("duration", Field::Duration),
    ("start", Field::Start),
    ("end", Field::End),
    ("scope_name", Field::ScopeName),
    ("scope_version", Field::ScopeVersion),
    ("trace_id", Field::TraceId),
    ("span_id", Field::SpanId),
    ("parent_span_id", Field::ParentSpanId),
    ("depth", Field::Depth),
    ("http.method", Field::HttpMethod),
    ("http.url", Field::HttpUrl),
    ("http.route", Field::HttpRoute),
    ("http.status_code", Field::HttpStatusCode),
    ("db.system", Field::DbSystem),
    ("db.name", Field::DbName),
    ("db.user", Field::DbUser),
    ("db.statement", Field::DbStatement),
    ("trace.duration", Field::TraceDuration),
    ("trace.span_count", Field::TraceSpanCount),
    ("trace.service_count", Field::TraceServiceCount),
    ("trace.root.name", Field::TraceRootName),
];

impl Field {
    /// The field named by a dotted path such as `http.status_code` (not `tag(...)`).
    ///
    /// ```
    /// use tracecheck::model::ast::Field;
    /// assert_eq!(Field::from_path("db.name"), Some(Field::DbName));
    /// assert_eq!(Field::from_path("nmae"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Field> {
        FIELDS.iter().find(|(p, _)| *p == path).map(|(_, f)| f.clone())
    }

    /// The path as written in a model; `None` for tags.
    pub fn path(&self) -> Option<&'static str> {
        FIELDS.iter().find(|(_, f)| f == self).map(|(p, _)| *p)
    }

    /// The `spans` column holding this field, if it is one column of that table.
    pub fn column(&self) -> Option<&'static str> {
        Some(match self {
            Field::Start => "start_time",
            Field::End => "end_time",
            Field::HttpMethod => "http_method",
            Field::HttpUrl => "http_url",
            Field::HttpRoute => "http_route",
            Field::HttpStatusCode => "http_status_code",
            Field::DbSystem => "db_system",
            Field::DbName => "db_name",
            Field::DbUser => "db_user",
            Field::DbStatement => "db_statement",
            Field::Tag(_)
            | Field::TraceDuration
            | Field::TraceSpanCount
            | Field::TraceServiceCount
            | Field::TraceRootName => return None,
            // The remaining intrinsics are named like their columns.
            other => return other.path(),
        })
    }

    /// Whether the field belongs to the trace (`trace.*`) rather than to the span.
    pub fn is_trace_field(&self) -> bool {
        matches!(
            self,
            Field::TraceDuration | Field::TraceSpanCount | Field::TraceServiceCount | Field::TraceRootName
        )
    }

    /// The enum values the field takes, for `kind` and `status`.
    pub fn enum_values(&self) -> Option<&'static [&'static str]> {
        match self {
            Field::Kind => Some(&KIND_VALUES),
            Field::Status => Some(&STATUS_VALUES),
            _ => None,
        }
    }
}
