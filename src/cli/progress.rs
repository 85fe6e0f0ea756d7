//! Progress bars on stderr (indicatif) drawn from the library's progress events: the library only
//! reports how far it has come (`tracecheck::observe`), and only the command line draws.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use tracecheck::fetch::FetchProgress;
use tracecheck::observe::{Observer, Progress, Step};

/// Decoding gets a bar only for inputs at least this large: smaller ones are done before a bar says
/// anything.
const DECODE_BAR_BYTES: u64 = 64 << 20;

/// A bar per step of `ingest` (decoding; writing trace-id ranges after a spill).
pub fn steps() -> Observer<Progress> {
    let current: Mutex<Option<ProgressBar>> = Mutex::new(None);
    Observer::new(move |p: &Progress| {
        let mut current = current.lock().expect("progress bar lock");
        match *p {
            Progress::Start { step, total } => {
                if let Some(old) = current.replace(step_bar(step, total)) {
                    old.finish_and_clear();
                }
            }
            Progress::Advance(n) => {
                if let Some(bar) = current.as_ref() {
                    bar.inc(n);
                }
            }
            Progress::Finish => {
                if let Some(bar) = current.take() {
                    bar.finish_and_clear();
                }
            }
        }
    })
}

fn step_bar(step: Step, total: u64) -> ProgressBar {
    let template = match step {
        Step::Decode if total < DECODE_BAR_BYTES => return ProgressBar::hidden(),
        Step::Decode => "{spinner} decoding [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        Step::WriteRanges => "{spinner} writing trace-id ranges [{bar:40}] {percent}% eta {eta}",
        _ => "{spinner} [{bar:40}] {percent}% eta {eta}",
    };
    styled(ProgressBar::new(total), template)
}

/// The bar of a `fetch`, and the observer that moves it; the caller clears the bar when the fetch
/// returns.
pub fn fetch() -> (Observer<FetchProgress>, ProgressBar) {
    let bar = styled(
        ProgressBar::new(0),
        "{spinner} fetching [{bar:30}] {percent:>3}% of the window, {msg}",
    );
    let moved = bar.clone();
    let observer = Observer::new(move |p: &FetchProgress| {
        moved.set_length(p.total);
        moved.set_position(p.covered);
        moved.set_message(format!(
            "{} traces, {} spans, {} already present, {} pages, {} retries",
            p.traces_fetched, p.spans, p.traces_skipped, p.pages, p.retries
        ));
    });
    (observer, bar)
}

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
