//! Grafana Tempo's HTTP API: `GET /api/search?tags=...&start=s&end=s&limit=N` lists trace ids with
//! their start, then `GET /api/traces/<id>` (JSON) returns each trace as OTLP JSON, decoded by the
//! OTLP JSON decoder of `ingest`.
//!
//! Tempo's tag search takes one logfmt string: `service.name=S`, and `name=O` for the span name.
//! A trace body comes in one of three shapes: `{"batches": [...]}` (Tempo 1 and 2, `/api/traces`),
//! `{"trace": {"resourceSpans": [...]}}` (the v2 API) or plain OTLP `{"resourceSpans": [...]}`. All
//! hold a list of OTLP `ResourceSpans`, which is handed to the decoder as `{"resourceSpans": [...]}`.

use std::sync::Arc;

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::task::JoinSet;

use super::archive::Archive;
use super::client::{Client, HttpError};
use super::pager::Window;
use super::resume::{KnownTraces, Sighting};
use super::{endpoint, Page};
use crate::error::{Error, Result};
use crate::ingest::{parse_hex_id, RawTables};

/// A Tempo query frontend and what to search for.
pub(crate) struct Tempo {
    pub base: Url,
    pub service: String,
    pub operation: Option<String>,
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    traces: Option<Vec<Hit>>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Hit {
    traceID: String,
    /// A string in Tempo's JSON (64-bit integers are), a number in some proxies.
    #[serde(default)]
    startTimeUnixNano: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TagValues {
    #[serde(default, rename = "tagValues")]
    tag_values: Option<Vec<serde_json::Value>>,
}

impl Tempo {
    /// A warning when Tempo's list of service names lacks the service. Only a warning: the list
    /// may cover recent data only, and older Tempo versions lack the endpoint (404: no warning).
    pub async fn check_service(&self, client: &Client) -> Result<Option<String>> {
        let url = endpoint(&self.base, &["api", "search", "tag", "service.name", "values"]);
        let body = match client.get_json(&url).await {
            Ok(b) => b,
            Err(HttpError {
                status: Some(StatusCode::NOT_FOUND),
                ..
            }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let names: Vec<String> = serde_json::from_slice::<TagValues>(&body)
            .ok()
            .and_then(|t| t.tag_values)
            .unwrap_or_default()
            .into_iter()
            // v1 answers strings, v2 objects with a `value`.
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Object(o) => o.get("value").and_then(|v| v.as_str()).map(str::to_string),
                _ => None,
            })
            .collect();
        if names.is_empty() || names.contains(&self.service) {
            return Ok(None);
        }
        let e = super::unknown_name("Tempo", &self.base, "service", &self.service, &names);
        Ok(Some(format!(
            "{e}; searching anyway (Tempo lists recent services only)"
        )))
    }

    /// The search URL of one page.
    pub fn page_url(&self, w: Window, limit: usize) -> Url {
        let mut tags = format!("service.name={}", logfmt_value(&self.service));
        if let Some(op) = &self.operation {
            tags.push_str(&format!(" name={}", logfmt_value(op)));
        }
        let mut url = endpoint(&self.base, &["api", "search"]);
        url.query_pairs_mut()
            .append_pair("tags", &tags)
            .append_pair("start", &w.start.to_string())
            .append_pair("end", &w.end.to_string())
            .append_pair("limit", &limit.to_string());
        url
    }

    /// Searches one window, then fetches the traces not known yet, `concurrency` at a time.
    pub async fn page(
        &self,
        client: &Arc<Client>,
        w: Window,
        limit: usize,
        concurrency: usize,
        known: &mut KnownTraces,
        archive: &mut Archive,
    ) -> Result<Page> {
        let url = self.page_url(w, limit);
        let body = client.get_json(&url).await?;
        let answer: SearchAnswer = serde_json::from_slice(&body).map_err(|e| {
            let at = format!("line {}, column {}", e.line(), e.column());
            Error::decode(
                url.as_str(),
                at,
                format!("not a Tempo search answer ({{\"traces\": [...]}}): {e}"),
            )
        })?;
        let hits = answer.traces.unwrap_or_default();
        let mut page = Page {
            traces: hits.len(),
            ..Page::default()
        };
        let mut todo = Vec::new();
        for hit in &hits {
            let id = parse_hex_id(&hit.traceID, 32).ok_or_else(|| {
                Error::decode(
                    url.as_str(),
                    "$.traces",
                    format!("trace id {:?} is not hex", hit.traceID),
                )
            })?;
            if let Some(ns) = hit.startTimeUnixNano.as_ref().and_then(nanos) {
                page.keys.push(ns.div_euclid(1_000_000_000));
            }
            let sighting = known.sight(id);
            page.count(sighting);
            if sighting == Sighting::New {
                // Marked before the request: a trace listed twice is requested once.
                known.mark_done(id);
                todo.push(hit.traceID.clone());
            }
        }
        let mut todo = todo.into_iter();
        let mut running = JoinSet::new();
        let start_one = |running: &mut JoinSet<_>, id: String| {
            let client = Arc::clone(client);
            let url = endpoint(&self.base, &["api", "traces", &id]);
            running.spawn(async move {
                let body = client.get_json(&url).await;
                (url, body)
            });
        };
        for id in todo.by_ref().take(concurrency.max(1)) {
            start_one(&mut running, id);
        }
        while let Some(joined) = running.join_next().await {
            let (url, body) = joined.map_err(|e| Error::Bug(format!("trace request task failed: {e}")))?;
            match body {
                Ok(body) if decode_trace(url.as_str(), &body, archive.sink())? > 0 => page.fetched += 1,
                // Listed by the search but gone (or empty) by the time it is asked for.
                Ok(_)
                | Err(HttpError {
                    status: Some(StatusCode::NOT_FOUND),
                    ..
                }) => page.missing += 1,
                Err(e) => return Err(e.into()),
            }
            if let Some(id) = todo.next() {
                start_one(&mut running, id);
            }
        }
        Ok(page)
    }
}

/// `startTimeUnixNano` as a string or a number.
fn nanos(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

/// A logfmt value: bare when it can be, else quoted with `"` and `\` escaped.
fn logfmt_value(v: &str) -> String {
    let bare = !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\');
    if bare {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The shapes of a trace-by-id answer (see the module documentation).
#[derive(Deserialize)]
struct TraceBody<'a> {
    #[serde(borrow, default)]
    batches: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Option<&'a RawValue>,
    #[serde(borrow, default)]
    trace: Option<Box<TraceBody<'a>>>,
}

impl<'a> TraceBody<'a> {
    fn resource_spans(&self) -> Option<&'a RawValue> {
        self.batches
            .or(self.resource_spans)
            .or_else(|| self.trace.as_ref().and_then(|t| t.resource_spans()))
    }
}

/// Decodes one trace-by-id answer into `raw`; returns the spans it held.
pub(crate) fn decode_trace(name: &str, body: &[u8], raw: &mut RawTables) -> Result<usize> {
    let parsed: TraceBody = serde_json::from_slice(body).map_err(|e| {
        let at = format!("line {}, column {}", e.line(), e.column());
        Error::decode(
            name,
            at,
            format!("not a Tempo trace ({{\"batches\": [...]}} or OTLP JSON): {e}"),
        )
    })?;
    let Some(list) = parsed.resource_spans() else {
        return Ok(0);
    };
    let before = raw.span_count();
    let doc = format!("{{\"resourceSpans\":{}}}", list.get());
    crate::ingest::otlp_json_decode(name, doc.as_bytes(), raw)?;
    Ok(raw.span_count() - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPANS: &str = r#"[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
        "scopeSpans":[{"spans":[{"traceId":"AAAAAAAAAAAAAAAAAAAAAQ==","spanId":"AAAAAAAAAAI=","name":"GET",
        "startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]"#;

    #[test]
    fn every_trace_shape_decodes() {
        for body in [
            format!(r#"{{"batches":{SPANS}}}"#),
            format!(r#"{{"trace":{{"resourceSpans":{SPANS}}},"status":"complete"}}"#),
            format!(r#"{{"resourceSpans":{SPANS}}}"#),
        ] {
            let mut raw = RawTables::new(false);
            assert_eq!(decode_trace("t", body.as_bytes(), &mut raw).unwrap(), 1, "{body}");
        }
        let mut raw = RawTables::new(false);
        assert_eq!(decode_trace("t", b"{}", &mut raw).unwrap(), 0);
        assert!(decode_trace("t", b"<html>", &mut raw).is_err());
    }

    #[test]
    fn search_urls_use_logfmt_tags() {
        let t = Tempo {
            base: Url::parse("http://tempo:3200").unwrap(),
            service: "bank".into(),
            operation: Some("GET /x".into()),
        };
        let url = t.page_url(Window { start: 5, end: 9 }, 20);
        assert_eq!(
            url.as_str(),
            "http://tempo:3200/api/search?tags=service.name%3Dbank+name%3D%22GET+%2Fx%22&start=5&end=9&limit=20"
        );
        assert_eq!(logfmt_value(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(logfmt_value(""), r#""""#);
    }
}
