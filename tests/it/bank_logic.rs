//! The bank's withdraw logic (`examples/bank/logic.rs`) against a mock store, traced into an
//! in-memory exporter: the span tree that the bank models expect, for a covered withdrawal, an
//! overdraft refused by the correct bank, an overdraft committed by the buggy bank, and a failing
//! commit.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{SpanId, Status, TracerProvider};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

#[path = "../../examples/bank/logic.rs"]
mod logic;

use logic::{Bank, Store, StoreError};

/// Balances in a map; a transaction stages its writes until `commit`. `fail` names one operation
/// ("commit", ...) that always fails.
#[derive(Default)]
struct MockStore {
    balances: Mutex<HashMap<String, i64>>,
    staged: Mutex<Option<HashMap<String, i64>>>,
    fail: Option<&'static str>,
}

impl MockStore {
    fn check(&self, op: &str) -> Result<(), StoreError> {
        match self.fail {
            Some(f) if f == op => Err(StoreError(format!("{op} failed: database is locked"))),
            _ => Ok(()),
        }
    }
}

impl Store for MockStore {
    fn create_account(&self, id: &str, balance: i64) -> Result<bool, StoreError> {
        let mut balances = self.balances.lock().unwrap();
        if balances.contains_key(id) {
            return Ok(false);
        }
        balances.insert(id.to_string(), balance);
        Ok(true)
    }

    fn read_balance(&self, id: &str) -> Result<Option<i64>, StoreError> {
        self.check("select")?;
        Ok(self.balances.lock().unwrap().get(id).copied())
    }

    fn begin(&self) -> Result<(), StoreError> {
        self.check("begin")?;
        let mut staged = self.staged.lock().unwrap();
        assert!(staged.is_none(), "BEGIN inside a transaction");
        *staged = Some(HashMap::new());
        Ok(())
    }

    fn update_balance(&self, id: &str, balance: i64) -> Result<(), StoreError> {
        self.check("update")?;
        let mut staged = self.staged.lock().unwrap();
        staged
            .as_mut()
            .expect("UPDATE outside a transaction")
            .insert(id.to_string(), balance);
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.check("commit")?;
        let writes = self
            .staged
            .lock()
            .unwrap()
            .take()
            .expect("COMMIT outside a transaction");
        self.balances.lock().unwrap().extend(writes);
        Ok(())
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.check("rollback")?;
        self.staged
            .lock()
            .unwrap()
            .take()
            .expect("ROLLBACK outside a transaction");
        Ok(())
    }
}

/// A bank with account `acct-1` holding 300, tracing into its own in-memory exporter.
fn bank(store: MockStore, balance_check: bool) -> (Bank<MockStore>, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = BoxedTracer::new(Box::new(provider.tracer("bank-instrumentation")));
    let bank = Bank::new(store, tracer).with_balance_check(balance_check);
    assert_eq!(bank.create_account("acct-1", 300).status, 201);
    (bank, exporter)
}

/// The spans as an indented tree, one `name kind` line per span, children in start order.
fn tree(spans: &[SpanData]) -> String {
    fn walk(spans: &[SpanData], parent: SpanId, depth: usize, out: &mut String) {
        let mut children: Vec<&SpanData> = spans.iter().filter(|s| s.parent_span_id == parent).collect();
        children.sort_by_key(|s| s.start_time);
        for s in children {
            let kind = format!("{:?}", s.span_kind).to_lowercase();
            out.push_str(&format!("{}{} {kind}\n", "  ".repeat(depth), s.name));
            walk(spans, s.span_context.span_id(), depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(spans, SpanId::INVALID, 0, &mut out);
    out
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// Runs one withdrawal of `amount` from `acct-1`; returns the reply and the finished spans.
fn withdraw(bank: &Bank<MockStore>, exporter: &InMemorySpanExporter, amount: i64) -> (logic::Reply, Vec<SpanData>) {
    let reply = bank.withdraw_endpoint(&Context::new(), "acct-1", amount);
    let spans = exporter.get_finished_spans().unwrap();
    let trace = spans[0].span_context.trace_id();
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace), "one trace");
    (reply, spans)
}

/// The attributes every withdrawal has, whatever the outcome.
fn assert_common(spans: &[SpanData], balance: i64, amount: i64, status_code: i64) {
    let server = span(spans, "/:account/withdraw");
    assert_eq!(attr(server, "http.request.method"), Some("POST".into()));
    assert_eq!(attr(server, "http.route"), Some("/:account/withdraw".into()));
    assert_eq!(attr(server, "url.path"), Some("/acct-1/withdraw".into()));
    assert_eq!(attr(server, "http.response.status_code"), Some(status_code.into()));
    assert_eq!(attr(span(spans, "fetch-balance"), "amount"), Some(balance.into()));
    assert_eq!(attr(span(spans, "withdrawal"), "amount"), Some(amount.into()));
    assert_eq!(attr(span(spans, "withdrawal"), "account.id"), Some("acct-1".into()));
    let select = span(spans, "select-balance");
    assert_eq!(attr(select, "db.system.name"), Some("sqlite".into()));
    assert_eq!(attr(select, "db.namespace"), Some("bank".into()));
    assert_eq!(attr(select, "db.operation.name"), Some("SELECT".into()));
    assert_eq!(
        attr(select, "db.query.text"),
        Some("SELECT balance FROM accounts WHERE id = ?".into())
    );
    for s in spans {
        assert_eq!(s.instrumentation_scope.name(), "bank-instrumentation");
        assert!(s.start_time <= s.end_time, "{}", s.name);
    }
}

#[test]
fn bank_logic_covered_withdrawal_commits() {
    let (bank, exporter) = bank(MockStore::default(), true);
    let (reply, spans) = withdraw(&bank, &exporter, 200);
    assert_eq!((reply.status, &reply.body["balance"]), (200, &100.into()));
    assert_eq!(
        tree(&spans),
        "/:account/withdraw server\n  fetch-balance internal\n    select-balance client\n  \
         withdrawal internal\n    begin client\n    update-balance client\n    commit client\n"
    );
    assert_common(&spans, 300, 200, 200);
    assert_eq!(
        attr(span(&spans, "update-balance"), "db.query.text"),
        Some("UPDATE accounts SET balance = ? WHERE id = ?".into())
    );
    assert_eq!(attr(span(&spans, "commit"), "db.query.text"), Some("COMMIT".into()));
    assert!(spans.iter().all(|s| s.status == Status::Unset), "no span has a status");
    assert_eq!(bank.balance("acct-1").body["balance"], 100);
}

#[test]
fn bank_logic_correct_bank_rolls_back_an_overdraft() {
    let (bank, exporter) = bank(MockStore::default(), true);
    let (reply, spans) = withdraw(&bank, &exporter, 600);
    assert_eq!((reply.status, reply.message()), (500, Some("insufficient funds")));
    assert_eq!(
        tree(&spans),
        "/:account/withdraw server\n  fetch-balance internal\n    select-balance client\n  \
         withdrawal internal\n    begin client\n    rollback client\n"
    );
    assert_common(&spans, 300, 600, 500);
    assert_eq!(attr(span(&spans, "rollback"), "db.query.text"), Some("ROLLBACK".into()));
    assert_eq!(
        span(&spans, "/:account/withdraw").status,
        Status::error("insufficient funds")
    );
    let others = spans.iter().filter(|s| s.name != "/:account/withdraw");
    assert!(
        others.into_iter().all(|s| s.status == Status::Unset),
        "only the server span errs"
    );
    assert_eq!(bank.balance("acct-1").body["balance"], 300);
}

#[test]
fn bank_logic_buggy_bank_commits_an_overdraft() {
    let (bank, exporter) = bank(MockStore::default(), false);
    let (reply, spans) = withdraw(&bank, &exporter, 600);
    assert_eq!((reply.status, &reply.body["balance"]), (200, &(-300).into()));
    assert_eq!(
        tree(&spans),
        "/:account/withdraw server\n  fetch-balance internal\n    select-balance client\n  \
         withdrawal internal\n    begin client\n    update-balance client\n    commit client\n"
    );
    assert_common(&spans, 300, 600, 200);
    assert!(spans.iter().all(|s| s.status == Status::Unset));
    assert_eq!(
        bank.balance("acct-1").body["balance"],
        -300,
        "the overdraft is committed"
    );
}

#[test]
fn bank_logic_failing_commit_rolls_back_with_an_error_span() {
    let store = MockStore {
        fail: Some("commit"),
        ..MockStore::default()
    };
    let (bank, exporter) = bank(store, true);
    let (reply, spans) = withdraw(&bank, &exporter, 200);
    assert_eq!(reply.status, 500);
    assert_eq!(
        tree(&spans),
        "/:account/withdraw server\n  fetch-balance internal\n    select-balance client\n  \
         withdrawal internal\n    begin client\n    update-balance client\n    commit client\n    \
         rollback client\n"
    );
    assert_common(&spans, 300, 200, 500);
    let commit = span(&spans, "commit");
    assert_eq!(commit.status, Status::error("commit failed: database is locked"));
    assert_eq!(commit.events.events[0].name, "exception");
    assert!(matches!(
        span(&spans, "/:account/withdraw").status,
        Status::Error { .. }
    ));
    assert_eq!(span(&spans, "rollback").status, Status::Unset);
    assert_eq!(bank.balance("acct-1").body["balance"], 300);
}

#[test]
fn bank_logic_unknown_account_and_bad_amount() {
    let (bank, exporter) = bank(MockStore::default(), true);
    let reply = bank.withdraw_endpoint(&Context::new(), "nobody", 10);
    assert_eq!(reply.status, 404);
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(
        tree(&spans),
        "/:account/withdraw server\n  fetch-balance internal\n    select-balance client\n"
    );
    assert_eq!(
        span(&spans, "/:account/withdraw").status,
        Status::Unset,
        "4xx is not a server error"
    );
    exporter.reset();
    assert_eq!(bank.withdraw_endpoint(&Context::new(), "acct-1", 0).status, 400);
    assert_eq!(
        tree(&exporter.get_finished_spans().unwrap()),
        "/:account/withdraw server\n"
    );
    assert_eq!(bank.create_account("acct-1", 5).status, 409);
}
