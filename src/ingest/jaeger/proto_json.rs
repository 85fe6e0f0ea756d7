//! Jaeger api_v2 in protobuf JSON: what Jaeger's gRPC API and its clients write when the protobuf
//! messages of `jaeger.api_v2` are printed as JSON (protojson, or the gRPC gateway).
//!
//! Shapes: `{"batch": {"spans": [...], "process": {...}}}` (`PostSpansRequest`), a `Batch` or a
//! `SpansResponseChunk` on its own (`{"spans": [...]}`, with `process` or not), the gateway's
//! stream element `{"result": {"spans": [...]}}`, and a `model.Trace` with `processMap`.
//!
//! Each span is translated into the UI form's span (the query JSON that `jaeger.rs` reads) and
//! converted by the same code, so both forms mean exactly the same. The differences are spelling:
//! - field names in lowerCamelCase (`traceId`, `operationName`) or as in the .proto (`trace_id`);
//! - ids are base64 of their bytes (16 for a trace, 8 for a span); hex is accepted too;
//! - `startTime` is an RFC 3339 timestamp and `duration` a protobuf duration (`"0.001500s"`); Jaeger
//!   keeps microseconds, and finer digits are cut to the microsecond like Jaeger's own model;
//! - a tag is `{key, vType, vStr | vBool | vInt64 | vFloat64 | vBinary}`; protobuf JSON leaves out
//!   zero values, so a missing `vType` is STRING and a missing value is the type's zero;
//! - `refType` is `CHILD_OF` / `FOLLOWS_FROM` or 0 / 1, missing meaning CHILD_OF;
//! - a span's own `process` wins over the batch's; `processId` is looked up in `processMap`.

use std::io::Read;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::{Bad, Conv, Decoder, JLog, JProcess, JRef, JSpan, JTag, Processes};
use crate::error::{Error, Result};
use crate::ingest::json_stream::{element_error, json_error, parse_element};
use crate::ingest::{push_checked, SpanSink};

/// The document: any of the shapes above (the wrappers are looked into first). Spans stay raw
/// until each is parsed on its own, so one bad span is rejected alone.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PDoc<'a> {
    #[serde(borrow)]
    batch: Option<PBatch<'a>>,
    #[serde(borrow)]
    result: Option<PBatch<'a>>,
    #[serde(borrow)]
    spans: Option<Vec<&'a RawValue>>,
    process: Option<PProcess>,
    #[serde(alias = "process_map", rename = "processMap")]
    process_map: Option<Vec<PMapping>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PBatch<'a> {
    #[serde(borrow)]
    spans: Option<Vec<&'a RawValue>>,
    process: Option<PProcess>,
    #[serde(alias = "process_map", rename = "processMap")]
    process_map: Option<Vec<PMapping>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
#[allow(non_snake_case)]
struct PProcess {
    #[serde(alias = "service_name")]
    serviceName: Option<String>,
    tags: Option<Vec<PTag>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct PMapping {
    #[serde(alias = "process_id")]
    processId: Option<String>,
    process: Option<PProcess>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct PSpan {
    #[serde(alias = "trace_id")]
    traceId: Option<String>,
    #[serde(alias = "span_id")]
    spanId: Option<String>,
    #[serde(alias = "operation_name")]
    operationName: Option<String>,
    references: Option<Vec<PRef>>,
    flags: Option<u32>,
    #[serde(alias = "start_time")]
    startTime: Option<String>,
    duration: Option<String>,
    tags: Option<Vec<PTag>>,
    logs: Option<Vec<PLog>>,
    process: Option<PProcess>,
    #[serde(alias = "process_id")]
    processId: Option<String>,
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
struct PRef {
    #[serde(alias = "trace_id")]
    traceId: Option<String>,
    #[serde(alias = "span_id")]
    spanId: Option<String>,
    #[serde(alias = "ref_type")]
    refType: Option<Json>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
#[allow(non_snake_case)]
struct PTag {
    key: String,
    #[serde(alias = "v_type")]
    vType: Option<Json>,
    #[serde(alias = "v_str")]
    vStr: Option<String>,
    #[serde(alias = "v_bool")]
    vBool: Option<Json>,
    #[serde(alias = "v_int64")]
    vInt64: Option<Json>,
    #[serde(alias = "v_float64")]
    vFloat64: Option<Json>,
    #[serde(alias = "v_binary")]
    vBinary: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PLog {
    timestamp: Option<String>,
    fields: Option<Vec<PTag>>,
}

/// The process id given to spans that use the batch's process.
const BATCH_PROCESS: &str = "\u{0}batch";

/// Decodes one api_v2 document (read whole: the batch's `process` follows its `spans`).
pub(crate) fn decode<R: Read>(name: &str, reader: R, sink: &mut dyn SpanSink) -> Result<()> {
    let bytes = crate::ingest::read_all(name, reader)?;
    let doc = match serde_json::from_slice::<PDoc>(&bytes) {
        Ok(doc) => doc,
        // Wrong types outside the spans spoil this document; broken syntax is fatal either way.
        Err(e) if e.is_data() => return sink.reject(json_error(name, &e)),
        Err(e) => return Err(json_error(name, &e)),
    };
    let (batch, at) = match (doc.batch, doc.result) {
        (Some(b), _) => (b, "$.batch"),
        (None, Some(r)) => (r, "$.result"),
        (None, None) => {
            let bare = PBatch {
                spans: doc.spans,
                process: doc.process,
                process_map: doc.process_map,
            };
            (bare, "$")
        }
    };
    let mut procs = Processes::new();
    if let Some(p) = batch.process {
        procs.insert(
            BATCH_PROCESS.into(),
            super::process(to_process(p), || format!("{at}.process")),
        );
    }
    for (i, m) in batch.process_map.unwrap_or_default().into_iter().enumerate() {
        let (Some(id), Some(p)) = (m.processId, m.process) else {
            continue;
        };
        procs.insert(
            id,
            super::process(to_process(p), || format!("{at}.processMap[{i}].process")),
        );
    }
    let mut dec = Decoder {
        name,
        sink,
        last_process: None,
    };
    for (i, raw) in batch.spans.unwrap_or_default().iter().enumerate() {
        let at = format!("{at}.spans[{i}]");
        let span = match parse_element::<PSpan>(raw) {
            Ok(s) => s,
            Err(e) => {
                dec.sink.reject(element_error(name, &at, &e))?;
                continue;
            }
        };
        let converted = to_span(span, &at, &procs).and_then(|js| dec.convert(js, &at, &Ok(None), &procs));
        match converted {
            Ok(span) => push_checked(dec.sink, name, || at, span)?,
            Err(Bad(path, msg)) => dec.sink.reject(Error::decode(name, path, msg))?,
        }
    }
    Ok(())
}

fn to_process(p: PProcess) -> JProcess {
    JProcess {
        serviceName: p.serviceName,
        tags: p.tags.map(|t| t.into_iter().map(to_tag).collect()),
    }
}

fn to_span(s: PSpan, at: &str, procs: &Processes) -> Conv<JSpan> {
    let field = |f: &str| format!("{at}.{f}");
    let mut references = Vec::new();
    for (i, r) in s.references.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{at}.references[{i}]");
        references.push(JRef {
            refType: ref_type(r.refType, &at)?,
            traceID: hex(r.traceId, 16, || format!("{at}.traceId"))?,
            spanID: hex(r.spanId, 8, || format!("{at}.spanId"))?,
        });
    }
    let mut logs = Vec::new();
    for (i, l) in s.logs.unwrap_or_default().into_iter().enumerate() {
        logs.push(JLog {
            timestamp: timestamp(l.timestamp.as_deref(), || format!("{at}.logs[{i}].timestamp"))?,
            fields: l.fields.map(|f| f.into_iter().map(to_tag).collect()),
        });
    }
    // The span's own process, else its processId in the map, else the batch's.
    let process_id = match (&s.process, s.processId) {
        (Some(_), _) => None,
        (None, Some(id)) if procs.contains_key(&id) => Some(id),
        (None, _) if procs.contains_key(BATCH_PROCESS) => Some(BATCH_PROCESS.to_string()),
        (None, id) => id,
    };
    Ok(JSpan {
        traceID: hex(s.traceId, 16, || field("traceId"))?,
        spanID: hex(s.spanId, 8, || field("spanId"))?,
        operationName: s.operationName,
        references: Some(references),
        flags: s.flags,
        startTime: timestamp(s.startTime.as_deref(), || field("startTime"))?,
        duration: duration(s.duration.as_deref(), || field("duration"))?,
        tags: s.tags.map(|t| t.into_iter().map(to_tag).collect()),
        logs: Some(logs),
        processID: process_id,
        process: s.process.map(to_process),
        warnings: s.warnings,
    })
}

/// A tag as the UI form types it (`type` and `value`).
fn to_tag(t: PTag) -> JTag {
    let ty = match t.vType {
        None | Some(Json::Null) => "STRING".to_string(),
        Some(Json::Number(n)) => match n.as_i64() {
            Some(0) => "STRING",
            Some(1) => "BOOL",
            Some(2) => "INT64",
            Some(3) => "FLOAT64",
            Some(4) => "BINARY",
            // Left for the tag conversion to reject with the key in the message.
            _ => "unknown",
        }
        .to_string(),
        Some(Json::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let value = match ty.to_ascii_uppercase().as_str() {
        "STRING" => Json::String(t.vStr.unwrap_or_default()),
        "BOOL" => t.vBool.unwrap_or(Json::Bool(false)),
        "INT64" => t.vInt64.unwrap_or(Json::from(0)),
        "FLOAT64" => match t.vFloat64 {
            // protojson writes the non-finite doubles as strings.
            Some(Json::String(s)) if s == "NaN" || s.ends_with("Infinity") => Json::String(s),
            Some(v) => v,
            None => Json::from(0.0),
        },
        "BINARY" => Json::String(t.vBinary.unwrap_or_default()),
        _ => Json::Null,
    };
    JTag {
        key: t.key,
        ty: Some(ty),
        value,
    }
}

fn ref_type(v: Option<Json>, at: &str) -> Conv<Option<String>> {
    Ok(match v {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s),
        Some(Json::Number(n)) if n.as_i64() == Some(0) => Some("CHILD_OF".into()),
        Some(Json::Number(n)) if n.as_i64() == Some(1) => Some("FOLLOWS_FROM".into()),
        Some(other) => {
            return Err(Bad(
                format!("{at}.refType"),
                format!("unknown reference type {other}; expected \"CHILD_OF\" or \"FOLLOWS_FROM\""),
            ))
        }
    })
}

/// Base64 id bytes (or hex) as the hex text the UI form carries.
fn hex(v: Option<String>, bytes: usize, at: impl FnOnce() -> String) -> Conv<Option<String>> {
    let Some(s) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    // Padded base64 of 8 or 16 bytes ends with '=', so all-hex text is hex.
    if s.len() <= 2 * bytes && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Some(s));
    }
    match base64::engine::general_purpose::STANDARD.decode(&s) {
        Ok(b) if b.len() == bytes => Ok(Some(b.iter().map(|x| format!("{x:02x}")).collect())),
        _ => Err(Bad(
            at(),
            format!(
                "expected base64 of a {bytes}-byte id (or {} hex digits), found {s:?}",
                2 * bytes
            ),
        )),
    }
}

/// An RFC 3339 timestamp in microseconds since the epoch (cut to the microsecond).
fn timestamp(v: Option<&str>, at: impl FnOnce() -> String) -> Conv<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| Bad(at(), format!("expected an RFC 3339 timestamp, found {s:?} ({e})")))?;
    Ok(Some(t.timestamp_micros()))
}

/// A protobuf JSON duration (`"1.5s"`, `"-0.000001s"`) in microseconds (cut to the microsecond).
fn duration(v: Option<&str>, at: impl Fn() -> String) -> Conv<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    let bad = || Bad(at(), format!("expected a duration such as \"0.001500s\", found {s:?}"));
    let body = s.strip_suffix('s').ok_or_else(bad)?;
    let (neg, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    if secs.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let micros: i64 = format!("{frac:0<6}")[..6].parse().map_err(|_| bad())?;
    let total = secs
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(micros))
        .ok_or_else(bad)?;
    Ok(Some(if neg { -total } else { total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_timestamps() {
        let at = || "x".to_string();
        assert_eq!(duration(Some("0.001500s"), at).unwrap(), Some(1500));
        assert_eq!(duration(Some("2s"), at).unwrap(), Some(2_000_000));
        assert_eq!(duration(Some("1.000000999s"), at).unwrap(), Some(1_000_000));
        assert!(duration(Some("1.5"), at).is_err());
        assert!(duration(Some("s"), at).is_err());
        let t = timestamp(Some("2019-10-24T05:52:55.322000Z"), at).unwrap().unwrap();
        assert_eq!(t, 1_571_896_375_322_000);
        assert!(timestamp(Some("yesterday"), at).is_err());
    }

    #[test]
    fn ids_in_base64_or_hex() {
        let at = || "x".to_string();
        let b64 = base64::engine::general_purpose::STANDARD.encode([0u8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            hex(Some(b64), 16, at).unwrap().unwrap(),
            "00000000000000000102030405060708"
        );
        assert_eq!(
            hex(Some("0102030405060708".into()), 8, at).unwrap().unwrap(),
            "0102030405060708"
        );
        assert!(hex(Some("AQID".into()), 8, at).is_err());
    }
}
