use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::error::Error;
use crate::ingest::validate;

fn run(opts: &BankOptions) -> (GroundTruth, Vec<Span>) {
    let mut spans = Vec::new();
    let truth = generate_bank(opts, &mut spans).unwrap();
    (truth, spans)
}

/// The spans grouped by trace, in the order the traces were made.
fn by_trace(spans: &[Span]) -> Vec<&[Span]> {
    spans.chunk_by(|a, b| a.trace_id == b.trace_id).collect()
}

fn int_tag(span: &Span, key: &str) -> i64 {
    match span.attributes.iter().find(|a| a.key == key) {
        Some(Attr {
            value: Value::Int(v), ..
        }) => *v,
        other => panic!("span {} has no Int tag {key}: {other:?}", span.name),
    }
}

fn one<'a>(trace: &'a [Span], name: &str) -> &'a Span {
    let found: Vec<&Span> = trace.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "expected one span {name}");
    found[0]
}

fn dur(span: &Span) -> i64 {
    span.duration_ns().unwrap()
}

/// What a checker would find in a trace, from its spans alone (`None` = correct trace). Panics on
/// a trace that is neither correct nor one of the faults.
fn classify(trace: &[Span], slow_factor: f64) -> Option<Fault> {
    let balance = int_tag(one(trace, "fetch-balance"), "amount");
    let withdrawal = one(trace, "withdrawal");
    let amount = int_tag(withdrawal, "amount");
    let server = one(trace, "/:account/withdraw");
    let code = int_tag(server, "http.response.status_code");
    let count = |name: &str| trace.iter().filter(|s| s.name == name).count();
    let (commits, rollbacks, updates) = (count("commit"), count("rollback"), count("update-balance"));
    assert!(commits <= 1 && rollbacks <= 1 && commits + rollbacks <= 1);
    assert_eq!(updates, commits, "update-balance exactly when committing");
    let commit_failed = trace
        .iter()
        .any(|s| s.name == "commit" && s.status == StatusCode::Error);
    assert_eq!(
        server.status == StatusCode::Error,
        code == 500,
        "server status follows the status code"
    );
    let root = trace.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    assert_eq!(int_tag(root, "http.response.status_code"), code);
    assert_eq!(root.status, server.status);
    let errors = trace.iter().filter(|s| s.status == StatusCode::Error).count();
    assert_eq!(errors, if code == 500 { 2 } else { 0 } + commit_failed as usize);

    if amount > balance {
        assert!(!commit_failed);
        match (commits, rollbacks, code) {
            (0, 1, 500) => None,
            (1, 0, 200) => Some(Fault::OverdraftCommitted),
            (0, 0, 500) => Some(Fault::MissingRollback),
            (0, 1, 200) => Some(Fault::WrongStatusCode),
            other => panic!("unexpected overdraft trace {other:?}"),
        }
    } else {
        assert_eq!((commits, rollbacks), (1, 0), "a normal withdrawal commits");
        let slow = dur(withdrawal) >= 250 * MS;
        match (commit_failed, code, slow) {
            (false, 200, false) => {
                let cap = (120.0 * MS as f64 * slow_factor) as i64;
                assert!(dur(withdrawal) <= cap.max(20 * MS));
                None
            }
            (false, 200, true) => {
                assert!(dur(withdrawal) >= (300.0 * MS as f64 * slow_factor) as i64 - 1);
                Some(Fault::SlowWithdrawal)
            }
            (true, 500, false) => Some(Fault::Error),
            other => panic!("unexpected normal trace {other:?}"),
        }
    }
}

/// One root; unique non-zero ids; parents exist and come first; children within parents; siblings
/// in sequence, each ending before the next starts.
fn check_structure(trace: &[Span]) {
    let roots: Vec<&Span> = trace.iter().filter(|s| s.parent_span_id.is_none()).collect();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].name, "POST /withdraw");
    assert_eq!(roots[0].service, "gateway");
    let mut by_id: HashMap<u64, &Span> = HashMap::new();
    for span in trace {
        assert_eq!(validate(span), Ok(()));
        assert!(span.start_ns.is_some() && span.end_ns.is_some());
        assert_eq!(span.scope_name.as_deref(), Some("bank-instrumentation"));
        assert_eq!(span.scope_version.as_deref(), Some("0.1.0"));
        let service = span.resource.iter().find(|a| a.key == "service.name").unwrap();
        assert_eq!(service.value, Value::Str(span.service.clone()));
        assert!(span.resource.iter().any(|a| a.key == "host.name"));
        if let Some(parent) = span.parent_span_id {
            let p = by_id.get(&parent).expect("parent pushed before its child");
            assert!(p.start_ns <= span.start_ns && span.end_ns <= p.end_ns);
        }
        assert!(by_id.insert(span.span_id, span).is_none(), "duplicate span id");
    }
    let mut children: BTreeMap<u64, Vec<&Span>> = BTreeMap::new();
    for span in trace {
        if let Some(parent) = span.parent_span_id {
            children.entry(parent).or_default().push(span);
        }
    }
    for siblings in children.values() {
        for pair in siblings.windows(2) {
            assert!(
                pair[0].end_ns < pair[1].start_ns,
                "{} overlaps {}",
                pair[0].name,
                pair[1].name
            );
        }
    }
    // The shape: what hangs under what.
    let parent_name = |name: &str| {
        let span = trace.iter().find(|s| s.name == name)?;
        Some(by_id[&span.parent_span_id?].name.as_str())
    };
    assert_eq!(parent_name("/:account/withdraw"), Some("POST /withdraw"));
    assert_eq!(parent_name("fetch-balance"), Some("/:account/withdraw"));
    assert_eq!(parent_name("select-balance"), Some("fetch-balance"));
    assert_eq!(parent_name("withdrawal"), Some("/:account/withdraw"));
    for name in ["begin", "update-balance", "commit", "rollback"] {
        let found = parent_name(name);
        assert!(found.is_none() || found == Some("withdrawal"), "{name} under {found:?}");
    }
    // fetch-balance ends before withdrawal starts ("before" in the model language).
    assert!(one(trace, "fetch-balance").end_ns < one(trace, "withdrawal").start_ns);
}

#[test]
fn same_seed_same_spans_other_seed_other_spans() {
    let opts = BankOptions::new(300).with_seed(1).with_fault_rate(0.3);
    let (truth_a, a) = run(&opts);
    let (truth_b, b) = run(&opts);
    assert_eq!(truth_a, truth_b);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let (truth_c, c) = run(&opts.clone().with_seed(2));
    assert_ne!(truth_a, truth_c);
    assert_ne!(format!("{a:?}"), format!("{c:?}"));
    assert_ne!(a[0].trace_id, c[0].trace_id);
}

#[test]
fn a_seed_gives_the_same_first_trace_forever() {
    // Pins the output of the default seed, so that a change to the generator that alters existing
    // datasets (and the expectations written against them) is noticed.
    let (truth, spans) = run(&BankOptions::new(1));
    assert_eq!(spans[0].start_ns, Some(BankOptions::DEFAULT_START_NS));
    assert_eq!(truth.traces, 1);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "POST /withdraw",
            "POST /check",
            "/:account/withdraw",
            "fetch-balance",
            "select-balance",
            "withdrawal",
            "begin",
            "update-balance",
            "commit"
        ]
    );
    assert_eq!(spans[0].span_id, 0xf34d17f3e94088ec);
    assert_eq!(spans[0].end_ns, Some(1_767_225_600_024_635_674));
    assert_eq!(int_tag(&spans[3], "amount"), 2957);
    assert_eq!(int_tag(&spans[5], "amount"), 444);
    assert_eq!(spans[5].duration_ns(), Some(14_467_061));
    let (again, spans_again) = run(&BankOptions::new(1));
    assert_eq!(truth, again);
    assert_eq!(format!("{spans:?}"), format!("{spans_again:?}"));
}

#[test]
fn fault_counts_follow_the_fault_rate() {
    let (truth, spans) = run(&BankOptions::new(10_000).with_seed(11));
    assert_eq!(truth.traces, 10_000);
    assert_eq!(truth.spans, spans.len());
    assert_eq!(by_trace(&spans).len(), 10_000);
    // Each fault: binomial(10 000, 0.01), mean 100, sd about 10.
    for fault in Fault::ALL {
        let n = truth.faults[&fault].len();
        assert!((50..=150).contains(&n), "{fault}: {n} traces");
    }
    let total = truth.faulty_traces();
    assert!((400..=600).contains(&total), "{total} faulty traces");

    let (none, _) = run(&BankOptions::new(2_000).with_fault_rate(0.0));
    assert_eq!(none.faulty_traces(), 0);
    let (all, _) = run(&BankOptions::new(500).with_fault_rate(1.0));
    assert_eq!(all.faulty_traces(), 500);
    assert!(Fault::ALL.iter().all(|f| all.faults[f].len() > 50));
}

#[test]
fn ground_truth_is_exactly_what_the_spans_show() {
    let slow_factor = 1.0;
    let (truth, spans) = run(&BankOptions::new(3_000).with_seed(5).with_fault_rate(0.5));
    let mut found: BTreeMap<Fault, Vec<String>> = Fault::ALL.into_iter().map(|f| (f, Vec::new())).collect();
    let mut overdrafts = 0;
    for trace in by_trace(&spans) {
        check_structure(trace);
        if int_tag(one(trace, "withdrawal"), "amount") > int_tag(one(trace, "fetch-balance"), "amount") {
            overdrafts += 1;
        }
        if let Some(fault) = classify(trace, slow_factor) {
            found.get_mut(&fault).unwrap().push(trace_id_hex(trace[0].trace_id));
        }
    }
    for ids in found.values_mut() {
        ids.sort();
    }
    assert_eq!(found, truth.faults);
    // Half of the correct traces and three fifths of the faulty ones are overdrafts: about 55%.
    assert!((1_400..=1_900).contains(&overdrafts), "{overdrafts} overdrafts");
    for ids in truth.faults.values() {
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids
            .iter()
            .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
        assert!(ids.iter().all(|id| truth.fault_of(id).is_some()));
    }
}

#[test]
fn correct_traces_are_correct() {
    let (truth, spans) = run(&BankOptions::new(2_000).with_seed(8).with_fault_rate(0.0));
    assert_eq!(truth.faulty_traces(), 0);
    let mut max_withdrawal = 0;
    for trace in by_trace(&spans) {
        check_structure(trace);
        assert_eq!(classify(trace, 1.0), None);
        max_withdrawal = max_withdrawal.max(dur(one(trace, "withdrawal")));
    }
    assert!(max_withdrawal <= 120 * MS);
}

#[test]
fn traces_start_in_order_a_few_ms_apart() {
    let (_, spans) = run(&BankOptions::new(500).with_start_ns(1_000));
    let starts: Vec<i64> = by_trace(&spans).iter().map(|t| t[0].start_ns.unwrap()).collect();
    assert_eq!(starts[0], 1_000);
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((MS..=5 * MS).contains(&gap), "gap {gap}");
    }
}

/// The `q` quantile of the withdrawal durations, nearest rank.
fn withdrawal_quantile(spans: &[Span], q: f64) -> i64 {
    let mut d: Vec<i64> = spans.iter().filter(|s| s.name == "withdrawal").map(dur).collect();
    d.sort_unstable();
    d[((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1]
}

#[test]
fn slow_factor_scales_withdrawals_and_slow_faults_move_the_p99() {
    let base = BankOptions::new(4_000).with_seed(3).with_fault_rate(0.0);
    let (_, normal) = run(&base);
    let (_, slower) = run(&base.clone().with_slow_factor(2.0));
    let (m1, m2) = (withdrawal_quantile(&normal, 0.5), withdrawal_quantile(&slower, 0.5));
    assert!(m2 > m1 * 19 / 10 && m2 < m1 * 21 / 10, "median {m1} -> {m2}");
    assert!(withdrawal_quantile(&normal, 0.99) < 100 * MS);
    for trace in by_trace(&slower) {
        check_structure(trace);
        assert!(dur(one(trace, "withdrawal")) <= 240 * MS);
    }

    // At a 10% fault rate, 2% of the withdrawals are slow: the p99 is well above 250 ms.
    let (truth, faulty) = run(&BankOptions::new(10_000).with_seed(3).with_fault_rate(0.1));
    assert!(truth.faults[&Fault::SlowWithdrawal].len() > 150);
    assert!(withdrawal_quantile(&faulty, 0.99) >= 250 * MS);
}

#[test]
fn error_fault_has_a_failed_commit_with_an_exception() {
    let (truth, spans) = run(&BankOptions::new(500).with_fault_rate(1.0).with_seed(4));
    let errors = &truth.faults[&Fault::Error];
    assert!(!errors.is_empty());
    for trace in by_trace(&spans) {
        if truth.fault_of(&trace_id_hex(trace[0].trace_id)) != Some(Fault::Error) {
            continue;
        }
        let commit = one(trace, "commit");
        assert_eq!(commit.status, StatusCode::Error);
        assert_eq!(commit.status_message.as_deref(), Some("database is locked"));
        assert_eq!(commit.events.len(), 1);
        assert_eq!(commit.events[0].name, "exception");
        assert_eq!(
            int_tag(one(trace, "/:account/withdraw"), "http.response.status_code"),
            500
        );
    }
}

#[test]
fn bad_options_are_usage_errors() {
    let mut sink: Vec<Span> = Vec::new();
    for opts in [
        BankOptions::new(1).with_fault_rate(-0.1),
        BankOptions::new(1).with_fault_rate(1.5),
        BankOptions::new(1).with_fault_rate(f64::NAN),
        BankOptions::new(1).with_slow_factor(0.0),
        BankOptions::new(1).with_slow_factor(f64::INFINITY),
        BankOptions::new(1).with_start_ns(i64::MAX - 1_000),
    ] {
        let err = generate_bank(&opts, &mut sink).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{opts:?}: {err}");
    }
    assert!(sink.is_empty());
    let (truth, spans) = run(&BankOptions::new(0));
    assert_eq!((truth.traces, truth.spans, spans.len()), (0, 0, 0));
}

#[test]
fn sink_errors_stop_the_generator() {
    struct FailAt(usize);
    impl SpanSink for FailAt {
        fn push(&mut self, _: Span) -> Result<()> {
            if self.0 == 0 {
                return Err(Error::Bug("full".into()));
            }
            self.0 -= 1;
            Ok(())
        }
        fn reject(&mut self, err: Error) -> Result<()> {
            Err(err)
        }
    }
    let err = generate_bank(&BankOptions::new(10), &mut FailAt(15)).unwrap_err();
    assert!(err.to_string().contains("full"));
}

#[test]
fn ground_truth_json_names_every_fault() {
    let (truth, _) = run(&BankOptions::new(300).with_fault_rate(0.5));
    let v: serde_json::Value = serde_json::from_str(&truth.to_json()).unwrap();
    assert_eq!(v["traces"], 300);
    assert_eq!(v["spans"], truth.spans);
    for fault in Fault::ALL {
        let ids = v["faults"][fault.as_str()].as_array().unwrap();
        assert_eq!(ids.len(), truth.faults[&fault].len());
    }
}
