//! [`SpanCapture`]: an OpenTelemetry span exporter that keeps finished spans in memory and hands them
//! over in the form every other input takes ([`Span`], the rows of the four tables).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::convert::{convert, OtlpResource};
use crate::error::{Error, Result};
use crate::ingest::Span;

/// The service name of [`SpanCapture::tracer_provider`] when none is given.
pub const DEFAULT_SERVICE_NAME: &str = "test";

/// Finished spans of one test, in memory: a cloneable handle (clones share the spans) that implements
/// the OpenTelemetry SDK's [`SpanExporter`].
///
/// [`SpanCapture::tracer_provider`] builds a tracer provider whose *simple* (synchronous) processor
/// exports to this capture, so a span is captured the moment it ends. Each test makes its own
/// capture and provider, so tests running in parallel never see each other's spans. Spans are
/// converted (when first read) exactly as an OTLP export of them would be ingested: the same
/// resource, scope, kind, status, events, links, dropped counts, parent, trace state and flags.
///
/// ```
/// use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
/// use tracecheck::testing::SpanCapture;
///
/// let capture = SpanCapture::new().with_service_name("bank");
/// let tracer = capture.tracer_provider().tracer("bank");
/// tracer.in_span("withdrawal", |_cx| {
///     tracer.start("fetch-balance").end();
/// });
/// let spans = capture.spans().unwrap();
/// assert_eq!(spans.len(), 2);
/// assert_eq!(spans[0].name, "fetch-balance"); // spans arrive as they end
/// assert_eq!(spans[1].service, "bank");
/// assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
/// ```
#[derive(Clone)]
pub struct SpanCapture {
    store: Arc<Mutex<Store>>,
    /// The resource of the providers this handle builds.
    resource: Resource,
    /// The resource of the provider exporting to this handle (set by the SDK through
    /// [`SpanExporter::set_resource`]). Per handle, not shared: two providers with different
    /// resources can export to clones of one capture.
    exporting: Arc<OtlpResource>,
}

#[derive(Default)]
struct Store {
    /// Finished spans not converted yet, in runs that share a resource. Exporting only moves the
    /// span here, as the SDK's in-memory exporter does; conversion waits for the first read, where
    /// a whole batch converts at once (the scope and resource once per batch, not once per span).
    pending: Vec<(Arc<OtlpResource>, Vec<SpanData>)>,
    spans: Vec<Span>,
    rejected: Vec<String>,
}

impl Store {
    fn convert_pending(&mut self) {
        for (resource, batch) in std::mem::take(&mut self.pending) {
            let converted = convert(batch, &resource);
            self.spans.extend(converted.spans);
            self.rejected.extend(converted.rejected);
        }
    }
}

impl Default for SpanCapture {
    fn default() -> SpanCapture {
        SpanCapture::new()
    }
}

impl fmt::Debug for SpanCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.lock();
        let pending: usize = store.pending.iter().map(|(_, b)| b.len()).sum();
        f.debug_struct("SpanCapture")
            .field("spans", &(store.spans.len() + pending))
            .field("rejected", &store.rejected.len())
            .field("resource", &self.resource)
            .finish()
    }
}

impl SpanCapture {
    /// An empty capture; its providers have the service name [`DEFAULT_SERVICE_NAME`].
    pub fn new() -> SpanCapture {
        SpanCapture {
            store: Arc::default(),
            resource: Resource::builder_empty()
                .with_service_name(DEFAULT_SERVICE_NAME)
                .build(),
            exporting: Arc::default(),
        }
    }

    /// The same spans, with `service.name` set to `name` in the resource of the providers this handle
    /// builds (other resource attributes are kept).
    pub fn with_service_name(self, name: impl Into<String>) -> SpanCapture {
        let resource = Resource::builder_empty()
            .with_attributes(
                self.resource
                    .iter()
                    .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone())),
            )
            .with_service_name(name.into())
            .build();
        SpanCapture { resource, ..self }
    }

    /// The same spans, with `resource` as the resource of the providers this handle builds. Two
    /// handles of one capture with different resources stand for two services of one system:
    ///
    /// ```
    /// use opentelemetry::trace::{Tracer, TracerProvider as _};
    /// use opentelemetry::KeyValue;
    /// use opentelemetry_sdk::Resource;
    /// use tracecheck::testing::SpanCapture;
    ///
    /// let capture = SpanCapture::new();
    /// let gateway = capture.clone().with_service_name("gateway").tracer_provider();
    /// let bank = capture.clone()
    ///     .with_resource(Resource::builder_empty().with_service_name("bank")
    ///         .with_attribute(KeyValue::new("deployment.environment", "test")).build())
    ///     .tracer_provider();
    /// gateway.tracer("t").in_span("POST /withdraw", |_| bank.tracer("t").in_span("withdrawal", |_| {}));
    /// let services: Vec<String> = capture.spans().unwrap().into_iter().map(|s| s.service).collect();
    /// assert_eq!(services, ["bank", "gateway"]);
    /// ```
    pub fn with_resource(self, resource: Resource) -> SpanCapture {
        SpanCapture { resource, ..self }
    }

    /// A tracer provider exporting every finished span to this capture, synchronously (a *simple*
    /// span processor), with this handle's resource. Keep it (or its tracers) for as long as the
    /// code under test makes spans.
    pub fn tracer_provider(&self) -> SdkTracerProvider {
        SdkTracerProvider::builder()
            .with_simple_exporter(self.clone())
            .with_resource(self.resource.clone())
            .build()
    }

    /// The captured spans, in the order they ended. An error if the capture had to reject a span
    /// (one that no ingest would accept, e.g. with an all-zero id).
    pub fn spans(&self) -> Result<Vec<Span>> {
        let mut store = self.lock();
        store.convert_pending();
        if let Some(first) = store.rejected.first() {
            return Err(Error::decode(
                "<capture>",
                format!("{} rejected span(s), the first", store.rejected.len()),
                first.clone(),
            ));
        }
        Ok(store.spans.clone())
    }

    /// How many spans were captured.
    pub fn len(&self) -> usize {
        let mut store = self.lock();
        store.convert_pending();
        store.spans.len()
    }

    /// Whether no span was captured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every captured span (e.g. between two phases of one test).
    pub fn clear(&self) {
        let mut store = self.lock();
        store.pending.clear();
        store.spans.clear();
        store.rejected.clear();
    }

    /// A DataFusion session over the captured spans (`spans`, `tags`, `refs`, `logs`), for SQL.
    ///
    /// ```
    /// # async fn f() -> tracecheck::Result<()> {
    /// use opentelemetry::trace::{Tracer, TracerProvider as _};
    /// let capture = tracecheck::testing::SpanCapture::new();
    /// capture.tracer_provider().tracer("t").in_span("a", |_| {});
    /// let ctx = capture.context().await?;
    /// assert_eq!(ctx.sql("SELECT * FROM spans WHERE service = 'test'").await?.count().await?, 1);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
    /// ```
    pub async fn context(&self) -> Result<datafusion::prelude::SessionContext> {
        crate::engine::open_spans(self.spans()?).await
    }

    /// The store stays usable after a test thread panicked while holding it.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpanExporter for SpanCapture {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let mut store = self.lock();
        match store.pending.last_mut() {
            Some((resource, spans)) if Arc::ptr_eq(resource, &self.exporting) => spans.extend(batch),
            _ => store.pending.push((self.exporting.clone(), batch)),
        }
        // Spans the ingest rules reject are reported when the spans are read (`spans`, `check`).
        std::future::ready(Ok(()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporting = Arc::new(OtlpResource::new(resource));
    }
}
