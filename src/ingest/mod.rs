//! Decoders: trace files of every common format into [`RawTables`] (Arrow builders).
//!
//! Each decoder reads its input as a stream and hands spans one at a time to a [`SpanSink`]; the sink
//! appends them to Arrow columns, so memory holds columns, never the whole file as span objects.
//!
//! ```
//! use tracecheck::ingest::{decode_bytes, RawTables};
//! let json = br#"[{"traceId":"a03ee8fff1dcd9b9","id":"15fc03927f0f68df","name":"get",
//!                  "timestamp":1571896375322000,"duration":14000,
//!                  "localEndpoint":{"serviceName":"mobile_api"}}]"#;
//! let mut raw = RawTables::new(false);
//! decode_bytes("<memory>", json, &mut raw).unwrap();
//! assert_eq!(raw.span_count(), 1);
//! ```

mod detect;
mod documents;
mod format;
mod jaeger;
mod json_stream;
mod otlp_json;
mod otlp_proto;
pub(crate) mod packed;
mod raw;
pub(crate) mod rejects;
mod semconv;
mod shape;
mod span;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod test_sink;
mod zipkin;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use detect::detect_format;
pub use format::Format;
/// The capture of `tracecheck::testing` converts the SDK's spans with this same code.
#[cfg(feature = "testing")]
pub(crate) use otlp_proto::convert_resource_spans;
pub use raw::{render_value, RawTables};
pub use semconv::Promoted;
pub use span::*;

use crate::error::{Error, Result};

/// Receives decoded spans.
///
/// Decoders call [`SpanSink::push`] for every span and [`SpanSink::reject`] for a record they cannot
/// turn into a span; the sink decides whether that stops the input (the default) or is counted and
/// skipped (`--keep-going`).
pub trait SpanSink {
    /// Takes one decoded, validated span.
    fn push(&mut self, span: Span) -> Result<()>;
    /// A record that was skipped because of `err`. Returns `Err(err)` unless the sink keeps going.
    fn reject(&mut self, err: Error) -> Result<()>;
}

/// A vector collects spans; a record that cannot be decoded fails the input (no `--keep-going`).
///
/// ```
/// use tracecheck::ingest::{Span, SpanSink};
/// let mut spans: Vec<Span> = Vec::new();
/// spans.push(Span { trace_id: 1, span_id: 1, ..Default::default() });
/// SpanSink::push(&mut spans, Span { trace_id: 1, span_id: 2, ..Default::default() }).unwrap();
/// assert_eq!(spans.len(), 2);
/// ```
impl SpanSink for Vec<Span> {
    fn push(&mut self, span: Span) -> Result<()> {
        Vec::push(self, span);
        Ok(())
    }
    fn reject(&mut self, err: Error) -> Result<()> {
        Err(err)
    }
}

/// Checks the rules every span must satisfy; `Err` says what is wrong (without position: the caller
/// knows where the span came from).
///
/// ```
/// use tracecheck::ingest::{validate, Span};
/// let bad = Span { trace_id: 1, span_id: 1, start_ns: Some(5), end_ns: Some(4), ..Default::default() };
/// assert!(validate(&bad).unwrap_err().contains("ends before it starts"));
/// ```
pub fn validate(span: &Span) -> std::result::Result<(), String> {
    if span.trace_id == 0 {
        return Err("missing or all-zero trace id".into());
    }
    if span.span_id == 0 {
        return Err("missing or all-zero span id".into());
    }
    if let (Some(s), Some(e)) = (span.start_ns, span.end_ns)
        && e < s
    {
        return Err(format!(
            "span {:016x} ends before it starts (start {s} ns, end {e} ns)",
            span.span_id
        ));
    }
    Ok(())
}

/// Validates `span` and pushes it, or rejects it with `at` as its position.
pub(crate) fn push_checked(
    sink: &mut dyn SpanSink,
    input: &str,
    at: impl FnOnce() -> String,
    span: Span,
) -> Result<()> {
    match validate(&span) {
        Ok(()) => sink.push(span),
        Err(msg) => sink.reject(Error::decode(input, at(), msg)),
    }
}

/// Decodes one file (gzip or not, any supported format detected from its content) into `sink`.
///
/// ```no_run
/// let mut raw = tracecheck::ingest::RawTables::new(false);
/// tracecheck::ingest::decode_file("traces.json".as_ref(), &mut raw).unwrap();
/// ```
pub fn decode_file(path: &Path, sink: &mut dyn SpanSink) -> Result<Format> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    decode_reader(&name, BufReader::with_capacity(1 << 16, file), sink)
}

/// Decodes bytes held in memory (gzip or not, format detected).
///
/// ```
/// let mut raw = tracecheck::ingest::RawTables::new(false);
/// let err = tracecheck::ingest::decode_bytes("empty.json", b"", &mut raw).unwrap_err();
/// assert!(err.to_string().contains("empty"));
/// ```
pub fn decode_bytes(name: &str, bytes: &[u8], sink: &mut dyn SpanSink) -> Result<Format> {
    decode_reader(name, BufReader::new(bytes), sink)
}

/// Decodes a buffered stream: unwraps gzip, detects the format from the first bytes, runs its decoder.
pub fn decode_reader<R: BufRead>(name: &str, mut reader: R, sink: &mut dyn SpanSink) -> Result<Format> {
    let head = reader.fill_buf().map_err(|e| Error::io(name, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        return decode_plain(name, BufReader::with_capacity(1 << 16, gz), sink);
    }
    decode_plain(name, reader, sink)
}

fn decode_plain<R: BufRead>(name: &str, mut reader: R, sink: &mut dyn SpanSink) -> Result<Format> {
    let head = reader.fill_buf().map_err(|e| Error::io(name, e))?;
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if json {
        return decode_documents(name, reader, sink);
    }
    // Detection looks at what the 64 KiB buffer holds now; a short first read (gzip) gives a
    // shorter prefix, which protobuf detection (a few bytes) tolerates.
    let format = detect_format(head).map_err(|msg| Error::decode(name, "byte 0", msg))?;
    match format {
        Format::OtlpProto => otlp_proto::decode_message(name, reader, sink)?,
        Format::OtlpProtoDelimited => otlp_proto::decode_delimited(name, reader, sink)?,
        _ => unreachable!("JSON formats are decoded as documents"),
    }
    Ok(format)
}

/// Decodes JSON documents one after another (one, or JSON lines), each detected on its own; returns
/// the first one's format.
fn decode_documents<R: BufRead>(name: &str, reader: R, sink: &mut dyn SpanSink) -> Result<Format> {
    let mut docs = documents::Documents::new(reader);
    let mut first = None;
    let mut index = 0;
    while docs.next_start().map_err(|e| Error::io(name, e))? {
        index += 1;
        let (line, offset) = docs.position();
        let placed = |e| documents::place(e, index, line);
        let mut doc = BufReader::with_capacity(1 << 16, docs.document());
        // A document's structure is told from its first 64 KiB (or all of it, when shorter).
        let head = doc.fill_buf().map_err(|e| Error::io(name, e))?;
        // After a first JSON document only more JSON documents may follow (`[]1` is not a trace
        // file): detection alone would take a stray byte for protobuf.
        if !matches!(head.first(), Some(b'{' | b'[')) {
            let found = head
                .first()
                .map_or("the end".to_string(), |b| format!("{:?}", char::from(*b)));
            return Err(placed(Error::decode(
                name,
                format!("byte {offset}"),
                format!("expected another JSON document (`{{` or `[`) or the end of the input, found {found}"),
            )));
        }
        let format = detect_format(head).map_err(|msg| placed(Error::decode(name, format!("byte {offset}"), msg)))?;
        let mut sink = documents::Placed {
            inner: &mut *sink,
            index,
            line,
        };
        decode_json(name, format, doc, &mut sink).map_err(placed)?;
        first.get_or_insert(format);
    }
    first.ok_or_else(|| Error::decode(name, "byte 0", "the input is empty"))
}

fn decode_json<R: BufRead>(name: &str, format: Format, doc: R, sink: &mut dyn SpanSink) -> Result<()> {
    match format {
        Format::OtlpJson => otlp_json::decode(name, doc, "$.resourceSpans", sink),
        Format::TempoJson => otlp_json::decode(name, doc, "$.batches", sink),
        Format::JaegerV3Json => otlp_json::decode(name, doc, "$.result.resourceSpans", sink),
        Format::JaegerJson => jaeger::decode(name, doc, sink),
        Format::JaegerProtoJson => jaeger::decode_proto_json(name, doc, sink),
        Format::ZipkinJson => zipkin::decode(name, doc, sink),
        // `read_documents` hands over only documents that start with `{` or `[`.
        Format::OtlpProto | Format::OtlpProtoDelimited => {
            Err(Error::Bug("a JSON document detected as protobuf".into()))
        }
    }
}

/// Reads a whole stream into memory (for formats whose unit is the whole input).
pub(crate) fn read_all<R: Read>(name: &str, mut reader: R) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.read_to_end(&mut buf).map_err(|e| Error::io(name, e))?;
    Ok(buf)
}

/// Converts an OTLP request decoded elsewhere (the collector's gRPC layer) into spans.
pub(crate) fn otlp_request_to_spans(
    name: &str,
    req: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    sink: &mut dyn SpanSink,
) -> Result<()> {
    otlp_proto::convert_request(name, "", req, sink)
}

/// Decodes an OTLP protobuf request held in memory (the collector's HTTP receiver), legacy
/// `instrumentation_library_spans` included.
pub(crate) fn otlp_request_decode(
    body: &[u8],
) -> std::result::Result<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest, prost::DecodeError>
{
    otlp_proto::decode_request(body)
}

/// Decodes an OTLP/JSON body held in memory (the collector's HTTP receiver).
pub(crate) fn otlp_json_decode(name: &str, body: &[u8], sink: &mut dyn SpanSink) -> Result<()> {
    otlp_json::decode(name, body, "$.resourceSpans", sink)
}
