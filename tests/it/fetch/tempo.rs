//! `tracecheck fetch --tempo` against a fake Tempo serving the OTLP JSON fixtures: search, trace by
//! id in each body shape, bisection of full windows, resumption, traces gone since the search.

use super::fake::{integration_traces, restamp_otlp, tempo, FakeServer, TempoTrace};
use super::{spans_per_trace, Setup};
use crate::it::common::fixtures;

/// The fake Tempo: every OTLP trace of the Jaeger integration suite, moved 10 s apart, plus the
/// opentelemetry-proto example; `gone` names a trace the search lists but the API no longer has.
fn tempo_archive(gone: &str) -> FakeServer {
    let dir = fixtures().join("jaeger/integration/traces");
    let mut traces: Vec<TempoTrace> = integration_traces(&dir)
        .iter()
        .enumerate()
        .map(|(i, name)| TempoTrace {
            otlp: restamp_otlp(&format!("jaeger/integration/traces/{name}"), 10 * i as i64),
            gone: name == gone,
        })
        .collect();
    traces.push(TempoTrace {
        otlp: restamp_otlp("otlp/opentelemetry-proto_examples_trace.json", 0),
        gone: false,
    });
    tempo(traces)
}

const TEMPO_WINDOW: [&str; 4] = ["--start", "2017-01-26T00:00:00Z", "--end", "2017-01-27T00:00:00Z"];

/// [`tempo_archive`] in [`TEMPO_WINDOW`].
fn setup(gone: &str) -> Setup {
    Setup::new("--tempo", &TEMPO_WINDOW, tempo_archive(gone))
}

#[test]
fn tempo_search_and_trace_by_id_in_every_body_shape() {
    let setup = setup("");
    let (server, dir, ds) = (&setup.server, &setup.dir, &setup.ds);
    // query22-service has three traces (multiple1..3); query24-service three, one of 5 services.
    let err = setup.fetch_ok("query22-service", &["--page-limit", "2"]);
    let want: Vec<(String, usize)> = ["221", "222", "223"]
        .iter()
        .map(|id| (format!("{id:0>32}"), 1))
        .collect();
    assert_eq!(spans_per_trace(ds), want);
    assert!(err.contains("fetched 3 traces (3 spans)"), "{err}");
    // The fake answers the oldest traces first, as Tempo may: the full window is bisected.
    let searches = server.requests_to("/api/search?");
    assert!(searches.len() >= 3, "{searches:#?}");
    assert!(
        searches
            .iter()
            .all(|s| s.contains("tags=service.name%3Dquery22-service")),
        "{searches:#?}"
    );
    // Each trace was asked for once, by the id the search printed (no leading zeros).
    let gets = server.requests_to("/api/traces/");
    assert_eq!(gets.len(), 3, "{gets:#?}");
    assert!(gets.contains(&"/api/traces/221".to_string()), "{gets:#?}");

    // A trace of several services and resources; the span name is a logfmt tag.
    assert!(setup
        .fetch_ok("example-service-1", &[])
        .contains("fetched 1 trace (5 spans)"));
    let out = setup.fetch_into(
        "query22-service",
        &dir.path().join("none"),
        &["--operation", "no such span"],
    );
    assert!(super::assert_ok(&out).contains("no traces of service \"query22-service\" with operation \"no such span\""));
    assert!(server
        .requests()
        .iter()
        .any(|r| r.contains("name%3D%22no+such+span%22")));
}

#[test]
fn tempo_resumes_and_counts_traces_gone_since_the_search() {
    let setup = setup("multiple2_trace.json");
    let server = &setup.server;
    let args = ["--page-limit", "2"];
    let err = setup.fetch_ok("query22-service", &args);
    assert!(err.contains("fetched 2 traces"), "{err}");
    assert!(err.contains("1 listed but no longer found"), "{err}");
    let gets = server.requests_to("/api/traces/").len();
    // Again: the two present are skipped before their trace request; the gone one is asked again.
    let err = setup.fetch_ok("query22-service", &args);
    assert!(err.contains("nothing new: the 2 traces found are already in"), "{err}");
    assert_eq!(server.requests_to("/api/traces/").len(), gets + 1);
    assert_eq!(spans_per_trace(&setup.ds).len(), 2);
}

#[test]
fn tempo_warns_about_a_service_it_does_not_list() {
    let err = setup("").fetch_ok("query22-servic", &[]);
    assert!(err.contains("warning: Tempo at"), "{err}");
    assert!(err.contains("did you mean \"query22-service\""), "{err}");
}
