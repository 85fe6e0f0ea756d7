//! Running a fetch: check the names, read the ids already present, then page through the window,
//! writing parts as spans accumulate, until done, stopped, or failed (writing what was fetched
//! in every case).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use reqwest::Url;

use super::archive::Archive;
use super::client::Client;
use super::pager::{Pager, Window};
use super::resume::KnownTraces;
use super::{jaeger, tempo, Backend, Fetch, FetchProgress, FetchStats};
use crate::error::{Error, Result, Setting};
use crate::store::Dataset;

/// Consecutive pages without a trace this run had not seen before, after which the backend is taken
/// to ignore the time window. Legitimate runs of such pages come from traces that look alike to the
/// search: each instant they share costs up to three searches (before, at and after it), and a page
/// without times halves its window (about 40 levels for a day in µs).
const MAX_BARREN_PAGES: u32 = 500;

enum Api {
    Jaeger(jaeger::Jaeger),
    Tempo(tempo::Tempo),
}

impl Fetch {
    /// Fetches everything in the window.
    pub async fn run(&self) -> Result<FetchStats> {
        self.run_until(std::future::pending()).await
    }

    /// Fetches until done or until `stop` completes (e.g. on Ctrl-C); either way, and on an error,
    /// what was fetched is written before returning.
    pub async fn run_until(&self, stop: impl Future<Output = ()>) -> Result<FetchStats> {
        let started = Instant::now();
        let api = self.api()?;
        if self.page_limit == 0 {
            return Err(Error::Setting {
                setting: Setting::PageLimit,
                message: "must be at least 1".into(),
            });
        }
        if self.start_ns >= self.end_ns {
            return Err(Error::Usage(
                "the time window is empty: its start is not before its end".into(),
            ));
        }
        let client = Arc::new(Client::new(
            self.retry.clone(),
            self.auth_token.clone(),
            self.ca_cert.as_deref(),
        )?);
        let mut stats = FetchStats::default();
        // Names first: a typo fails before anything is written.
        match &api {
            Api::Jaeger(j) => j.check_names(&client).await?,
            Api::Tempo(t) => stats.warnings.extend(t.check_service(&client).await?),
        }
        let dataset = Dataset::create_or_open(&self.output)?;
        let mut known = KnownTraces::load(&self.output, self.start_ns, self.end_ns).await?;
        let mut archive = Archive::new(dataset, self.flush_spans, self.keep_going);
        let unit = self.backend.unit_ns();
        let window = Window {
            start: self.start_ns.div_euclid(unit),
            end: self.end_ns.div_euclid(unit) + i64::from(self.end_ns.rem_euclid(unit) != 0),
        };
        let mut pager = Pager::new(window, self.page_limit, self.paging());
        self.report_progress(&pager, &archive, &stats, &client);
        let outcome = {
            let work = self.pages(&api, &client, &mut pager, &mut known, &mut archive, &mut stats);
            tokio::pin!(stop);
            tokio::select! {
                r = work => Some(r),
                () = &mut stop => None,
            }
        };
        // Whatever happened, pending whole traces are written: the next run skips them.
        let flushed = archive.flush();
        stats.interrupted = outcome.is_none();
        stats.retries = client.retries();
        stats.spans = archive.spans;
        stats.parts = archive.parts;
        stats.bytes = archive.bytes;
        stats.rejected = archive.rejected;
        stats.rejected_messages = std::mem::take(&mut archive.rejected_messages);
        stats.truncated = pager
            .truncated
            .iter()
            .map(|w| (w.start * unit, (w.end + 1) * unit - 1))
            .collect();
        stats.seconds = started.elapsed().as_secs_f64();
        outcome.unwrap_or(Ok(()))?;
        flushed?;
        Ok(stats)
    }

    fn api(&self) -> Result<Api> {
        let setting = match self.backend {
            Backend::Jaeger => Setting::JaegerUrl,
            Backend::Tempo => Setting::TempoUrl,
        };
        let mut base = Url::parse(&self.url).map_err(|e| Error::Setting {
            setting,
            message: format!("{:?} is not a URL: {e}", self.url),
        })?;
        match base.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Error::Usage(format!(
                    "{}: unsupported scheme {other:?}; use http:// or https://",
                    self.url
                )))
            }
        }
        // A base path (`http://host/jaeger`) is kept: endpoints go below it.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let (service, operation) = (self.service.clone(), self.operation.clone());
        Ok(match self.backend {
            Backend::Jaeger => Api::Jaeger(jaeger::Jaeger {
                base,
                service,
                operation,
            }),
            Backend::Tempo => Api::Tempo(tempo::Tempo {
                base,
                service,
                operation,
            }),
        })
    }

    /// Tells the progress observer, if any, how far the fetch has come.
    fn report_progress(&self, pager: &Pager, archive: &Archive, stats: &FetchStats, client: &Client) {
        if let Some(observer) = &self.progress {
            observer.notify(&FetchProgress {
                covered: pager.covered(),
                total: pager.total(),
                traces_fetched: stats.traces_fetched,
                spans: archive.spans + archive.pending_spans() as u64,
                traces_skipped: stats.traces_skipped,
                pages: stats.pages,
                retries: client.retries(),
            });
        }
    }

    /// Searches window after window until the pager has none left.
    #[allow(clippy::too_many_arguments)]
    async fn pages(
        &self,
        api: &Api,
        client: &Arc<Client>,
        pager: &mut Pager,
        known: &mut KnownTraces,
        archive: &mut Archive,
        stats: &mut FetchStats,
    ) -> Result<()> {
        let mut barren = 0;
        while let Some(w) = pager.next() {
            let page = match api {
                Api::Jaeger(j) => j.page(client, w, self.page_limit, known, archive).await?,
                Api::Tempo(t) => {
                    t.page(client, w, self.page_limit, self.concurrency, known, archive)
                        .await?
                }
            };
            stats.pages += 1;
            stats.traces_fetched += page.fetched as u64;
            stats.traces_skipped += page.skipped as u64;
            stats.traces_missing += page.missing as u64;
            barren = if page.new + page.skipped > 0 { 0 } else { barren + 1 };
            if barren >= MAX_BARREN_PAGES {
                return Err(Error::Usage(format!(
                    "{} answered {barren} searches in a row with traces already seen: it seems to ignore \
                     the start and end of the search, so paging cannot go on",
                    self.backend.name()
                )));
            }
            pager.record(w, page.traces, &page.keys);
            archive.flush_if_due()?;
            self.report_progress(pager, archive, stats, client);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_urls_and_windows_are_usage_errors() {
        let f = |url: &str| Fetch::new(Backend::Jaeger, url, "s", "/nonexistent/out");
        for (url, says) in [
            ("localhost:16686", "unsupported scheme"),
            ("ftp://jaeger", "unsupported scheme"),
            ("not a url", "is not a URL"),
        ] {
            let e = f(url).run().await.unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
        }
        let e = f("http://127.0.0.1:9")
            .with_window(5, 5)
            .run()
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("window is empty"), "{e}");
    }
}
