//! Fields of a span: intrinsics (`span:name`, `duration`) and attributes (`span.http.method`).

use super::Span;

/// A reference to one field of a span: an intrinsic or an attribute.
///
/// ```
/// use tracecheck::traceql::{parse, ast::*};
/// let q = parse("{ } | select(span:id, .a)").unwrap();
/// let Stage::Select { fields, .. } = &q.pipeline.stages[1] else { panic!() };
/// assert!(matches!(fields[0], FieldRef::Intrinsic { intrinsic: Intrinsic::SpanId, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FieldRef {
    /// A field every span has (`name`, `span:status`, `trace:duration`).
    Intrinsic {
        /// Which one (aliases normalised).
        intrinsic: Intrinsic,
        /// Its text.
        span: Span,
    },
    /// A key-value attribute (`span.http.method`, `.region`).
    Attribute(Attribute),
}

impl FieldRef {
    /// The text of the field.
    ///
    /// ```
    /// use tracecheck::traceql::ast::*;
    /// let f = FieldRef::Intrinsic { intrinsic: Intrinsic::SpanName, span: Span(3..7) };
    /// assert_eq!(f.span().range(), 3..7);
    /// ```
    pub fn span(&self) -> &Span {
        match self {
            FieldRef::Intrinsic { span, .. } => span,
            FieldRef::Attribute(a) => &a.span,
        }
    }
}

/// An attribute: a scope and a name (`span.http.status_code` is scope [`AttributeScope::Span`],
/// name `http.status_code`).
///
/// ```
/// use tracecheck::traceql::ast::*;
/// let a = Attribute { scope: AttributeScope::Resource, name: "service.name".into(), span: Span::default() };
/// assert_eq!(a.to_string(), "resource.service.name");
/// let b = Attribute { scope: AttributeScope::Unscoped, name: "with space".into(), span: Span::default() };
/// assert_eq!(b.to_string(), ".\"with space\"");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Where the attribute is looked up.
    pub scope: AttributeScope,
    /// The name, quotes and escapes resolved; never empty.
    pub name: String,
    /// From the scope (or the leading `.`) to the end of the name.
    pub span: Span,
}

/// Where an attribute is looked up.
///
/// ```
/// assert_eq!(tracecheck::traceql::ast::AttributeScope::Instrumentation.prefix(), "instrumentation.");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttributeScope {
    /// `.x`: the span's attributes, then the resource's.
    Unscoped,
    /// `span.x`
    Span,
    /// `resource.x`
    Resource,
    /// `event.x`: attributes of the span's events.
    Event,
    /// `link.x`: attributes of the span's links.
    Link,
    /// `instrumentation.x`: attributes of the instrumentation scope.
    Instrumentation,
}

impl AttributeScope {
    /// Every named scope with its word (`span` in `span.x`).
    pub const NAMED: [(&'static str, AttributeScope); 5] = [
        ("span", AttributeScope::Span),
        ("resource", AttributeScope::Resource),
        ("event", AttributeScope::Event),
        ("link", AttributeScope::Link),
        ("instrumentation", AttributeScope::Instrumentation),
    ];

    /// What precedes the name: `span.`, or `.` when unscoped.
    pub fn prefix(self) -> &'static str {
        match self {
            AttributeScope::Unscoped => ".",
            AttributeScope::Span => "span.",
            AttributeScope::Resource => "resource.",
            AttributeScope::Event => "event.",
            AttributeScope::Link => "link.",
            AttributeScope::Instrumentation => "instrumentation.",
        }
    }
}

/// Fields every span has. Each has one canonical, scoped spelling ([`as_str`](Self::as_str));
/// the older unscoped spellings (`name`, `rootServiceName`, ...) are aliases.
///
/// ```
/// use tracecheck::traceql::ast::Intrinsic;
/// assert_eq!(Intrinsic::TraceRootService.as_str(), "trace:rootService");
/// assert_eq!(Intrinsic::lookup(None, "rootServiceName"), Some(Intrinsic::TraceRootService));
/// assert_eq!(Intrinsic::lookup(Some("trace"), "rootService"), Some(Intrinsic::TraceRootService));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// `span:name` (`name`)
    SpanName,
    /// `span:status` (`status`)
    SpanStatus,
    /// `span:statusMessage` (`statusMessage`)
    SpanStatusMessage,
    /// `span:kind` (`kind`)
    SpanKind,
    /// `span:duration` (`duration`)
    SpanDuration,
    /// `span:id`
    SpanId,
    /// `span:parentID`
    SpanParentId,
    /// `span:childCount`
    SpanChildCount,
    /// `trace:rootName` (`rootName`)
    TraceRootName,
    /// `trace:rootService` (`rootServiceName`)
    TraceRootService,
    /// `trace:duration` (`traceDuration`)
    TraceDuration,
    /// `trace:id`
    TraceId,
    /// `event:name`
    EventName,
    /// `event:timeSinceStart`
    EventTimeSinceStart,
    /// `link:traceID`
    LinkTraceId,
    /// `link:spanID`
    LinkSpanId,
    /// `instrumentation:name`
    InstrumentationName,
    /// `instrumentation:version`
    InstrumentationVersion,
}

/// Every scoped spelling `scope:name`, the canonical one of each intrinsic first.
pub const SCOPED_INTRINSICS: [(&str, &str, Intrinsic); 18] = [
    ("span", "name", Intrinsic::SpanName),
    ("span", "status", Intrinsic::SpanStatus),
    ("span", "statusMessage", Intrinsic::SpanStatusMessage),
    ("span", "kind", Intrinsic::SpanKind),
    ("span", "duration", Intrinsic::SpanDuration),
    ("span", "id", Intrinsic::SpanId),
    ("span", "parentID", Intrinsic::SpanParentId),
    ("span", "childCount", Intrinsic::SpanChildCount),
    ("trace", "rootName", Intrinsic::TraceRootName),
    ("trace", "rootService", Intrinsic::TraceRootService),
    ("trace", "duration", Intrinsic::TraceDuration),
    ("trace", "id", Intrinsic::TraceId),
    ("event", "name", Intrinsic::EventName),
    ("event", "timeSinceStart", Intrinsic::EventTimeSinceStart),
    ("link", "traceID", Intrinsic::LinkTraceId),
    ("link", "spanID", Intrinsic::LinkSpanId),
    ("instrumentation", "name", Intrinsic::InstrumentationName),
    ("instrumentation", "version", Intrinsic::InstrumentationVersion),
];

/// The unscoped spellings (written without `scope:`).
pub const UNSCOPED_INTRINSICS: [(&str, Intrinsic); 8] = [
    ("name", Intrinsic::SpanName),
    ("status", Intrinsic::SpanStatus),
    ("statusMessage", Intrinsic::SpanStatusMessage),
    ("kind", Intrinsic::SpanKind),
    ("duration", Intrinsic::SpanDuration),
    ("rootName", Intrinsic::TraceRootName),
    ("rootServiceName", Intrinsic::TraceRootService),
    ("traceDuration", Intrinsic::TraceDuration),
];

impl Intrinsic {
    /// The intrinsic spelt `scope:name` (`scope` is `Some`) or `name`, if any.
    pub fn lookup(scope: Option<&str>, name: &str) -> Option<Intrinsic> {
        match scope {
            Some(scope) => SCOPED_INTRINSICS
                .iter()
                .find(|(s, n, _)| *s == scope && *n == name)
                .map(|(_, _, i)| *i),
            None => UNSCOPED_INTRINSICS.iter().find(|(n, _)| *n == name).map(|(_, i)| *i),
        }
    }

    /// The canonical spelling, `scope:name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Intrinsic::SpanName => "span:name",
            Intrinsic::SpanStatus => "span:status",
            Intrinsic::SpanStatusMessage => "span:statusMessage",
            Intrinsic::SpanKind => "span:kind",
            Intrinsic::SpanDuration => "span:duration",
            Intrinsic::SpanId => "span:id",
            Intrinsic::SpanParentId => "span:parentID",
            Intrinsic::SpanChildCount => "span:childCount",
            Intrinsic::TraceRootName => "trace:rootName",
            Intrinsic::TraceRootService => "trace:rootService",
            Intrinsic::TraceDuration => "trace:duration",
            Intrinsic::TraceId => "trace:id",
            Intrinsic::EventName => "event:name",
            Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
            Intrinsic::LinkTraceId => "link:traceID",
            Intrinsic::LinkSpanId => "link:spanID",
            Intrinsic::InstrumentationName => "instrumentation:name",
            Intrinsic::InstrumentationVersion => "instrumentation:version",
        }
    }
}
