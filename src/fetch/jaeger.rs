//! Jaeger's HTTP query API (the one its UI uses): `GET /api/services`,
//! `GET /api/services/S/operations`, and `GET /api/traces?service=S&operation=O&start=µs&end=µs&limit=N`,
//! whose answer (`{"data":[trace, ...], "errors": ...}`) is decoded by the Jaeger JSON decoder of
//! `ingest`, like a file.

use std::collections::HashMap;

use reqwest::Url;
use serde::Deserialize;

use super::archive::Archive;
use super::client::Client;
use super::pager::Window;
use super::resume::KnownTraces;
use super::{endpoint, unknown_name, Page};
use crate::error::{Error, Result};
use crate::ingest::{decode_bytes, Format, RawTables, Span, SpanSink};

/// A Jaeger query service and what to search for.
pub(crate) struct Jaeger {
    pub base: Url,
    pub service: String,
    pub operation: Option<String>,
}

/// The fields of the envelope that the span decoder does not read.
#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    data: Option<T>,
    #[serde(default)]
    errors: Option<Vec<ApiError>>,
}

#[derive(Deserialize, Debug)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
}

impl Jaeger {
    /// Checks that the service (and the operation, if given) exist, naming the closest ones if not.
    pub async fn check_names(&self, client: &Client) -> Result<()> {
        let services = self.names(client, endpoint(&self.base, &["api", "services"])).await?;
        if !services.contains(&self.service) {
            return Err(unknown_name("Jaeger", &self.base, "service", &self.service, &services));
        }
        if let Some(op) = &self.operation {
            let url = endpoint(&self.base, &["api", "services", &self.service, "operations"]);
            let operations = self.names(client, url).await?;
            if !operations.contains(op) {
                let what = format!("operation of {}", self.service);
                return Err(unknown_name("Jaeger", &self.base, &what, op, &operations));
            }
        }
        Ok(())
    }

    /// A list of names (`{"data": ["a", "b"]}`).
    async fn names(&self, client: &Client, url: Url) -> Result<Vec<String>> {
        let body = client.get_json(&url).await?;
        let env: Envelope<Vec<String>> = serde_json::from_slice(&body).map_err(|e| {
            Error::decode(
                url.as_str(),
                format!("line {}, column {}", e.line(), e.column()),
                format!("expected {{\"data\": [names]}}: {e}"),
            )
        })?;
        api_errors(&url, env.errors)?;
        Ok(env.data.unwrap_or_default())
    }

    /// The search URL of one page.
    pub fn page_url(&self, w: Window, limit: usize) -> Url {
        let mut url = endpoint(&self.base, &["api", "traces"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("service", &self.service);
            if let Some(op) = &self.operation {
                q.append_pair("operation", op);
            }
            q.append_pair("start", &w.start.to_string());
            q.append_pair("end", &w.end.to_string());
            q.append_pair("limit", &limit.to_string());
        }
        url
    }

    /// Searches one window; the spans of traces not known yet go to `archive`.
    pub async fn page(
        &self,
        client: &Client,
        w: Window,
        limit: usize,
        known: &mut KnownTraces,
        archive: &mut Archive,
    ) -> Result<Page> {
        let url = self.page_url(w, limit);
        let body = client.get_json(&url).await?;
        let env: Envelope<serde::de::IgnoredAny> = serde_json::from_slice(&body).map_err(|e| {
            Error::decode(
                url.as_str(),
                format!("line {}, column {}", e.line(), e.column()),
                format!("not a Jaeger answer: {e}"),
            )
        })?;
        api_errors(&url, env.errors)?;
        let mut sink = PageSink {
            raw: archive.sink(),
            known,
            service: &self.service,
            operation: self.operation.as_deref(),
            window: w,
            traces: HashMap::new(),
        };
        let format = decode_bytes(url.as_str(), &body, &mut sink)?;
        if format != Format::JaegerJson {
            return Err(Error::decode(
                url.as_str(),
                "byte 0",
                format!("expected Jaeger JSON ({{\"data\": [...]}}), got {}", format.name()),
            ));
        }
        let traces = sink.traces;
        let mut page = Page {
            traces: traces.len(),
            keys: traces.values().flatten().copied().collect(),
            ..Page::default()
        };
        for id in traces.keys() {
            page.count(known.sight(*id));
            known.mark_done(*id);
        }
        // A new trace's spans went to the archive with this page.
        page.fetched = page.new;
        Ok(page)
    }
}

/// Jaeger's `errors` list, which it may send with a 200 answer: fetching on would miss traces.
fn api_errors(url: &Url, errors: Option<Vec<ApiError>>) -> Result<()> {
    let errors = errors.unwrap_or_default();
    if errors.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{} (code {})",
                e.msg.as_deref().unwrap_or("no message"),
                e.code.unwrap_or(0)
            )
        })
        .collect();
    Err(Error::io(
        url.as_str(),
        std::io::Error::other(format!("Jaeger reported errors: {}", text.join("; "))),
    ))
}

/// Receives a page's spans: notes each trace and its key, passes on the spans of new traces.
struct PageSink<'a> {
    raw: &'a mut RawTables,
    known: &'a KnownTraces,
    service: &'a str,
    operation: Option<&'a str>,
    window: Window,
    /// Every trace in the page, with the latest start (µs) of its matching spans in the window.
    traces: HashMap<u128, Option<i64>>,
}

impl SpanSink for PageSink<'_> {
    fn push(&mut self, span: Span) -> Result<()> {
        let key = self.traces.entry(span.trace_id).or_insert(None);
        let matches = span.service == self.service && self.operation.is_none_or(|o| span.name == o);
        if let (true, Some(ns)) = (matches, span.start_ns) {
            let us = ns.div_euclid(1000);
            if (self.window.start..=self.window.end).contains(&us) {
                *key = Some(key.map_or(us, |k| k.max(us)));
            }
        }
        if self.known.is_known(span.trace_id) {
            return Ok(());
        }
        self.raw.push(span)
    }

    fn reject(&mut self, err: Error) -> Result<()> {
        self.raw.reject(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_carry_the_search() {
        let j = Jaeger {
            base: Url::parse("http://jaeger:16686/jaeger/").unwrap(),
            service: "bank api".into(),
            operation: Some("GET /a&b".into()),
        };
        let url = j.page_url(Window { start: 10, end: 20 }, 50);
        assert_eq!(
            url.as_str(),
            "http://jaeger:16686/jaeger/api/traces?service=bank+api&operation=GET+%2Fa%26b&start=10&end=20&limit=50"
        );
    }

    #[test]
    fn reported_errors_fail_the_page() {
        let url = Url::parse("http://j/api/traces").unwrap();
        assert!(api_errors(&url, None).is_ok());
        let errs = vec![ApiError {
            code: Some(500),
            msg: Some("storage down".into()),
        }];
        let e = api_errors(&url, Some(errs)).unwrap_err().to_string();
        assert!(e.contains("storage down (code 500)"), "{e}");
    }
}
