//! The bank's tracer provider: spans batched and exported over OTLP/gRPC, with export failures
//! reported on stderr (the SDK itself only logs them through `tracing`, which the bank does not
//! set up, so a collector that is down would otherwise lose the spans silently).

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// How many spans could not be exported; shared with the exporter inside the provider.
#[derive(Clone, Default)]
pub struct Lost(Arc<AtomicUsize>);

impl Lost {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// A provider that batches spans and exports them over OTLP/gRPC to `endpoint`, with a resource
/// naming the service (`service.name`, `service.version`), and the count of spans it lost. Must
/// be called inside the tokio runtime: the gRPC channel lives on it.
///
/// ```ignore
/// let (provider, lost) = telemetry::provider("http://127.0.0.1:4317", "bank")?;
/// // ... serve ...
/// provider.shutdown()?; // blocks until the last batch is exported (or has failed)
/// assert_eq!(lost.get(), 0);
/// ```
pub fn provider(endpoint: &str, service_name: &str) -> Result<(SdkTracerProvider, Lost), Box<dyn Error + Send + Sync>> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("cannot set up the OTLP exporter for {endpoint}: {e}"))?;
    let lost = Lost::default();
    let exporter = Reporting {
        inner: exporter,
        endpoint: endpoint.to_string(),
        lost: lost.clone(),
    };
    let resource = Resource::builder()
        .with_service_name(service_name.to_string())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build();
    Ok((provider, lost))
}

/// Passes batches to `inner`; a failed batch is printed on stderr and counted in `lost`.
struct Reporting<E> {
    inner: E,
    endpoint: String,
    lost: Lost,
}

impl<E> fmt::Debug for Reporting<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporting").field("endpoint", &self.endpoint).finish()
    }
}

impl<E: SpanExporter> SpanExporter for Reporting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        if let Err(e) = &result {
            self.lost.0.fetch_add(spans, Ordering::Relaxed);
            eprintln!("bank: exporting {spans} spans to {} failed: {e}", self.endpoint);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
