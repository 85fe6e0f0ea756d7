//! What a JSON document is, told from its structure (the keys at its top levels), never from a
//! substring: a Tempo search answer mentions `traceID` but holds no spans, and must not pass for a
//! Jaeger trace.
//!
//! [`skim`] reads the first bytes of a document (the input may be cut anywhere) and records the
//! keys it meets down to a few levels, as paths (`trace.batches`, `[].traceId`); [`json_format`]
//! matches those paths against the shapes each format documents and otherwise describes what it
//! found, for an error that says why the file was refused.

use super::format::Format;

/// How deep keys are recorded (`[].annotations[].endpoint` is four levels).
const MAX_DEPTH: usize = 4;

/// The kind of a JSON value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    fn of(b: u8) -> Option<Kind> {
        Some(match b {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => return None,
        })
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Object => "objects",
            Kind::Array => "arrays",
            Kind::String => "strings",
            Kind::Number => "numbers",
            Kind::Bool => "booleans",
            Kind::Null => "nulls",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Kind::Object => "a JSON object",
            Kind::Array => "a JSON array",
            Kind::String => "a JSON string",
            Kind::Number => "a JSON number",
            Kind::Bool => "a JSON boolean",
            Kind::Null => "JSON null",
        }
    }
}

/// The structure seen at the start of a JSON document.
#[derive(Debug, Default)]
pub(crate) struct Skim {
    /// The document's own kind; `None` when it does not start like JSON.
    pub root: Option<Kind>,
    /// Every key met (first element of each array only), as a path, with its value's kind.
    pub keys: Vec<(String, Kind)>,
    /// The root is an array that closes with no element.
    pub empty_array: bool,
}

impl Skim {
    /// The kind of the value at `path`, if it was seen.
    pub fn kind(&self, path: &str) -> Option<Kind> {
        self.keys.iter().find(|(p, _)| p == path).map(|(_, k)| *k)
    }

    fn has(&self, path: &str) -> bool {
        self.kind(path).is_some()
    }

    fn any(&self, paths: &[&str]) -> bool {
        paths.iter().any(|p| self.has(p))
    }

    /// The keys directly under `prefix` ("" for the root object, "[]" for the first element).
    fn keys_under(&self, prefix: &str) -> Vec<&str> {
        self.keys
            .iter()
            .filter_map(|(p, _)| {
                let rest = if prefix.is_empty() {
                    p.as_str()
                } else {
                    // "[]" children are written "[].key", like object children.
                    p.strip_prefix(prefix)?.strip_prefix('.')?
                };
                (!rest.contains('.') && !rest.ends_with("[]")).then_some(rest)
            })
            .collect()
    }
}

/// Records the structure of the first bytes of a JSON document: for
/// `{"trace": {"batches": [{"resource": {}}]}}`, the paths `trace`, `trace.batches`,
/// `trace.batches[]` and `trace.batches[].resource` (see the tests below).
pub(crate) fn skim(head: &[u8]) -> Skim {
    let mut s = Skimmer {
        b: head,
        i: 0,
        out: Skim::default(),
    };
    s.ws();
    s.out.root = s.b.get(s.i).copied().and_then(Kind::of);
    let _ = s.value("", 0);
    s.out
}

struct Skimmer<'a> {
    b: &'a [u8],
    i: usize,
    out: Skim,
}

/// `None`: the head ended (or is not JSON) before the value did; what was recorded stays.
type Step = Option<()>;

impl Skimmer<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A value at `path` (already recorded by the caller), its children recorded down to MAX_DEPTH.
    fn value(&mut self, path: &str, depth: usize) -> Step {
        let kind = Kind::of(self.peek()?)?;
        if depth >= MAX_DEPTH {
            return self.skip();
        }
        match kind {
            Kind::Object => {
                self.i += 1;
                loop {
                    match self.peek()? {
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        b'"' => {
                            let key = self.string()?;
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.i += 1;
                            let child = if path.is_empty() { key } else { format!("{path}.{key}") };
                            let kind = Kind::of(self.peek()?)?;
                            self.out.keys.push((child.clone(), kind));
                            self.value(&child, depth + 1)?;
                        }
                        _ => return None,
                    }
                }
            }
            Kind::Array => {
                self.i += 1;
                let mut first = true;
                loop {
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            if first && depth == 0 {
                                self.out.empty_array = true;
                            }
                            return Some(());
                        }
                        b',' => self.i += 1,
                        b if first => {
                            first = false;
                            let child = format!("{path}[]");
                            self.out.keys.push((child.clone(), Kind::of(b)?));
                            self.value(&child, depth + 1)?;
                        }
                        _ => self.skip()?,
                    }
                }
            }
            _ => self.skip(),
        }
    }

    /// A string's raw text (escapes kept as written: keys we look for have none).
    fn string(&mut self) -> Option<String> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            match *self.b.get(j)? {
                b'\\' => j += 2,
                b'"' => break,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        Some(String::from_utf8_lossy(&self.b[start..j]).into_owned())
    }

    /// Skips one value without recording anything inside it.
    fn skip(&mut self) -> Step {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match *self.b.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                let start = self.i;
                while self.b.get(self.i).is_some_and(|b| !b",}] \t\r\n".contains(b)) {
                    self.i += 1;
                }
                // Nothing consumed: a stray `}` where a value should be (`[0}`) is not JSON, and
                // the caller's loop would otherwise stand still on it forever.
                if self.i == start {
                    return None;
                }
                // A scalar that runs to the end of the head may be cut short.
                (self.i < self.b.len()).then_some(())
            }
        }
    }
}

const OTLP_KEYS: &[&str] = &["resourceSpans", "resource_spans"];

/// The format of a JSON document from the structure at its start, or a description of what it is.
pub(crate) fn json_format(head: &[u8]) -> Result<Format, String> {
    let s = skim(head);
    let found = match s.root {
        Some(Kind::Object) => {
            if let Some(f) = object_format(&s) {
                return Ok(f);
            }
            describe_object(&s)
        }
        Some(Kind::Array) => {
            if s.empty_array {
                // Zipkin's and Jaeger's span lists look alike when empty; both mean "no spans".
                return Ok(Format::ZipkinJson);
            }
            match s.kind("[]") {
                Some(Kind::Object) => {
                    if let Some(f) = span_list_format(&s)? {
                        return Ok(f);
                    }
                    format!("a JSON array of objects with keys {}", quoted(&s.keys_under("[]")))
                }
                Some(k) => format!("a JSON array of {}", k.plural()),
                None => "a JSON array".into(),
            }
        }
        Some(k) => k.article().into(),
        None => "not JSON".into(),
    };
    let hint = if s.has("traces[].traceID") || s.has("traces[].spanSet") || s.has("traces[].spanSets") {
        "; this looks like a Tempo search answer, which lists trace ids without their spans: \
         fetch the whole traces by id (Tempo's /api/traces/ID, which tracecheck's fetch step calls)"
    } else {
        ""
    };
    Err(format!(
        "{found} is not a trace tracecheck reads; expected OTLP JSON (\"resourceSpans\"), Tempo \
         (\"batches\" or \"trace\"), Jaeger (\"data\", a trace with \"traceID\" and \"spans\", \
         api_v2 \"batch\"/\"spans\", api_v3 \"result\") or a Zipkin v2 span list{hint}"
    ))
}

fn object_format(s: &Skim) -> Option<Format> {
    if s.any(OTLP_KEYS) {
        return Some(Format::OtlpJson);
    }
    if s.kind("batches") == Some(Kind::Array) {
        return Some(Format::TempoJson);
    }
    if s.kind("trace") == Some(Kind::Object) {
        let inner = ["trace.resourceSpans", "trace.resource_spans", "trace.batches"];
        if s.any(&inner) || s.keys_under("trace").is_empty() {
            return Some(Format::TempoJson);
        }
    }
    if s.kind("result") == Some(Kind::Object) {
        if s.any(&["result.resourceSpans", "result.resource_spans"]) {
            return Some(Format::JaegerV3Json);
        }
        if s.has("result.spans") {
            return Some(Format::JaegerProtoJson);
        }
    }
    if s.kind("batch") == Some(Kind::Object) {
        return Some(Format::JaegerProtoJson);
    }
    // Jaeger's envelope, unless its first element is an object that is plainly not a trace (other
    // APIs answer `{"data": [...]}` too).
    let data_is_traces = match s.kind("data[]") {
        Some(Kind::Object) => s.any(&["data[].traceID", "data[].spans", "data[].processes"]),
        _ => true,
    };
    if matches!(s.kind("data"), Some(Kind::Array | Kind::Null)) && data_is_traces {
        return Some(Format::JaegerJson);
    }
    if s.has("traceID") || s.has("processes") {
        return Some(Format::JaegerJson);
    }
    if s.kind("spans") == Some(Kind::Array) {
        // A trace object without its id (UI spelling: traceID, spanID) or an api_v2 Batch or
        // chunk (protobuf JSON: traceId or trace_id, with the process beside the spans).
        let ui = s.any(&["spans[].traceID", "spans[].spanID", "spans[].processID"]);
        return Some(if ui {
            Format::JaegerJson
        } else {
            Format::JaegerProtoJson
        });
    }
    None
}

/// The format of a list of spans, by the keys of its first element.
fn span_list_format(s: &Skim) -> Result<Option<Format>, String> {
    if s.has("[].traceId") && (s.has("[].binaryAnnotations") || s.has("[].annotations[].endpoint")) {
        return Err(
            "a Zipkin v1 span list (\"binaryAnnotations\", annotations with endpoints) is not read; \
                    Zipkin serves v2 at /api/v2/traces, and zipkin2's SpanBytesDecoder converts v1 files"
                .into(),
        );
    }
    if s.has("[].traceId") && (s.has("[].id") || s.has("[].localEndpoint")) {
        return Ok(Some(Format::ZipkinJson));
    }
    if s.any(&["[].traceID", "[].spanID", "[].operationName"]) {
        return Ok(Some(Format::JaegerJson));
    }
    Ok(None)
}

fn describe_object(s: &Skim) -> String {
    let keys = s.keys_under("");
    if keys.is_empty() {
        "an empty JSON object".into()
    } else {
        format!("a JSON object with keys {}", quoted(&keys))
    }
}

/// `"a", "b", "c"`, at most eight.
fn quoted(keys: &[&str]) -> String {
    let mut out: Vec<String> = keys.iter().take(8).map(|k| format!("{k:?}")).collect();
    if keys.len() > 8 {
        out.push(format!("and {} more", keys.len() - 8));
    }
    if out.is_empty() {
        "(none)".into()
    } else {
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_paths_of_a_cut_document() {
        let s = skim(br#"{"trace": {"batches": [{"resource": {"attributes": [{"key": "servi"#);
        assert_eq!(s.root, Some(Kind::Object));
        assert_eq!(s.kind("trace"), Some(Kind::Object));
        assert_eq!(s.kind("trace.batches"), Some(Kind::Array));
        assert_eq!(s.kind("trace.batches[]"), Some(Kind::Object));
        assert_eq!(s.kind("trace.batches[].resource"), Some(Kind::Object));
    }

    #[test]
    fn formats_from_structure() {
        let cases: &[(&str, Format)] = &[
            (r#"{"resourceSpans": []}"#, Format::OtlpJson),
            (
                r#"{"batches": [{"instrumentationLibrarySpans": []}]}"#,
                Format::TempoJson,
            ),
            (r#"{"trace": {"resourceSpans": []}}"#, Format::TempoJson),
            (r#"{"result": {"resourceSpans": []}}"#, Format::JaegerV3Json),
            (r#"{"batch": {"spans": [], "process": {}}}"#, Format::JaegerProtoJson),
            (r#"{"result": {"spans": []}}"#, Format::JaegerProtoJson),
            (
                r#"{"spans": [{"traceId": "AAA=", "operationName": "x"}]}"#,
                Format::JaegerProtoJson,
            ),
            (
                r#"{"spans": [{"traceID": "1", "spanID": "2"}], "processes": {}}"#,
                Format::JaegerJson,
            ),
            (r#"{"data": null, "errors": null}"#, Format::JaegerJson),
            (r#"[{"traceId": "1", "id": "2"}]"#, Format::ZipkinJson),
            (r#"[]"#, Format::ZipkinJson),
            (
                r#"[{"traceID": "1", "operationName": "x", "process": {}}]"#,
                Format::JaegerJson,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(json_format(json.as_bytes()), Ok(*want), "{json}");
        }
    }

    #[test]
    fn foreign_shapes_are_described() {
        let err =
            json_format(br#"{"traces": [{"traceID": "2f3e", "rootServiceName": "a"}], "metrics": {}}"#).unwrap_err();
        assert!(
            err.starts_with(r#"a JSON object with keys "traces", "metrics" is not a trace"#),
            "{err}"
        );
        assert!(err.contains("Tempo search answer"), "{err}");
        assert!(json_format(b"{}").unwrap_err().starts_with("an empty JSON object"));
        assert!(json_format(b"[1, 2]")
            .unwrap_err()
            .starts_with("a JSON array of numbers"));
        assert!(json_format(br#"{"status":"success","data":{"resultType":"vector"}}"#)
            .unwrap_err()
            .contains(r#""status", "data""#));
        let spans_api = br#"{"data": [{"id": "AAAA", "type": "spans", "attributes": {}}]}"#;
        assert!(json_format(spans_api).unwrap_err().contains(r#"keys "data""#));
        let v1 = br#"[{"traceId": "1", "id": "2", "binaryAnnotations": []}]"#;
        assert!(json_format(v1).unwrap_err().contains("Zipkin v1"));
    }
}
