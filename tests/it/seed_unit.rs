//! The seed's unit test: the bank's withdraw logic (`examples/bank/logic.rs`) over a mock database
//! holding 300, a withdrawal of 500, and the seed's model (the first of `queries/bank.model`)
//! checked on the spans captured in process. The correct bank passes; with the seed's bug (no
//! balance check) the assertion fails, and the test pins the message it fails with.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Context;
use tracecheck::check::ModelReport;
use tracecheck::model::builder::*;
use tracecheck::testing::{check, try_assert_holds, Models, SpanCapture};

// bank_logic.rs includes the same file; a copy of its own keeps this test independent of that
// module's private items.
#[allow(clippy::duplicate_mod)]
#[path = "../../examples/bank/logic.rs"]
mod logic;

use logic::{Bank, Store, StoreError};

use super::common;

const SEED_MODEL: &str = "Accounts cannot withdraw more than their balance";

/// The database: balances, and the writes of the open transaction until it commits.
#[derive(Default)]
struct MockDatabase {
    balances: Mutex<HashMap<String, i64>>,
    staged: Mutex<Option<HashMap<String, i64>>>,
}

impl Store for MockDatabase {
    fn create_account(&self, id: &str, balance: i64) -> Result<bool, StoreError> {
        let mut balances = self.balances.lock().unwrap();
        Ok(balances.insert(id.to_string(), balance).is_none())
    }

    fn read_balance(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.balances.lock().unwrap().get(id).copied())
    }

    fn begin(&self) -> Result<(), StoreError> {
        *self.staged.lock().unwrap() = Some(HashMap::new());
        Ok(())
    }

    fn update_balance(&self, id: &str, balance: i64) -> Result<(), StoreError> {
        let mut staged = self.staged.lock().unwrap();
        let writes = staged.as_mut().ok_or_else(|| StoreError("no transaction".into()))?;
        writes.insert(id.to_string(), balance);
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        let writes = self
            .staged
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| StoreError("no transaction".into()))?;
        self.balances.lock().unwrap().extend(writes);
        Ok(())
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.staged.lock().unwrap().take();
        Ok(())
    }
}

/// A bank over a mock database where `acct-1` holds 300, tracing into a capture of its own.
fn bank(balance_check: bool) -> (Bank<MockDatabase>, SpanCapture) {
    let capture = SpanCapture::new().with_service_name("bank");
    let tracer = BoxedTracer::new(Box::new(capture.tracer_provider().tracer("bank")));
    let bank = Bank::new(MockDatabase::default(), tracer).with_balance_check(balance_check);
    assert_eq!(bank.create_account("acct-1", 300).status, 201);
    (bank, capture)
}

/// The seed's model: the first of queries/bank.model.
fn seed_model() -> Models {
    let file = Models::load("queries/bank.model").unwrap();
    assert_eq!(file.titles()[0], SEED_MODEL);
    file.only(SEED_MODEL).unwrap()
}

/// Trace ids and durations change from run to run.
fn redact(message: &str) -> String {
    let ids = regex::Regex::new("[0-9a-f]{32}").unwrap();
    let durations = regex::Regex::new(r" *\d+\.\d{3}ms").unwrap();
    durations
        .replace_all(&ids.replace_all(message, "<trace id>"), " <duration>")
        .into_owned()
}

#[tokio::test]
async fn seed_unit_correct_bank_refuses_the_overdraft_and_the_model_holds() {
    let (bank, capture) = bank(true);
    let reply = bank.withdraw_endpoint(&Context::new(), "acct-1", 500);
    assert_eq!((reply.status, reply.message()), (500, Some("insufficient funds")));
    assert_eq!(bank.balance("acct-1").body["balance"], 300);

    let report = tracecheck::assert_holds!(seed_model(), &capture);
    let model = &report.files[0].models[0];
    assert_eq!(
        (model.title.as_str(), model.traces),
        (SEED_MODEL, 1),
        "the model applied"
    );
}

#[tokio::test]
async fn seed_unit_buggy_bank_commits_the_overdraft_and_the_model_fails() {
    let (bank, capture) = bank(false);
    let reply = bank.withdraw_endpoint(&Context::new(), "acct-1", 500);
    assert_eq!(reply.status, 200, "the seed's bug: the overdraft is committed");
    assert_eq!(bank.balance("acct-1").body["balance"], -200);

    let failure = try_assert_holds(seed_model(), &capture).await.unwrap_err();
    let model = &failure.report().expect("the check ran").files[0].models[0];
    let clauses: Vec<usize> = model.violations.iter().map(|v| v.clause).collect();
    assert_eq!(clauses, [1, 2, 3], "no rollback, a commit, and 200 instead of 500");
    insta::assert_snapshot!(redact(&failure.message()));

    // The macro fails the test with that same message (coloured only on a terminal).
    let panicked = tokio::spawn(async move {
        tracecheck::assert_holds!(seed_model(), &capture);
    })
    .await
    .expect_err("assert_holds! panics");
    let payload = panicked.into_panic();
    let text = payload.downcast_ref::<String>().expect("a formatted panic message");
    let no_colour = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    assert_eq!(no_colour.replace_all(text, ""), failure.message());
}

/// The seed's model written in Rust.
fn built_seed_model() -> Model {
    common::seed_model(SEED_MODEL).expect(span().name("/:account/withdraw").http_status_code(500))
}

#[tokio::test]
async fn seed_unit_file_text_and_builder_give_the_same_verdict() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/queries/bank.model")).unwrap();
    let first_model = &text[..text.find("\n# Holds on every generated trace").unwrap()];
    for balance_check in [true, false] {
        let (bank, capture) = bank(balance_check);
        bank.withdraw_endpoint(&Context::new(), "acct-1", 500);
        let verdicts: Vec<ModelReport> = [
            check(seed_model(), &capture).await.unwrap(),
            check(Models::parse(first_model).unwrap(), &capture).await.unwrap(),
            check(built_seed_model(), &capture).await.unwrap(),
        ]
        .into_iter()
        .map(|r| r.files[0].models[0].clone())
        .collect();
        let labels = ["file", "text", "builder"];
        for (v, label) in verdicts.iter().zip(labels) {
            assert_eq!(v.title, SEED_MODEL, "{label}");
            assert_eq!(v.holds(), balance_check, "{label}");
            assert_eq!(
                (&v.clauses, v.assignments, v.traces, &v.violations, &v.warnings),
                (
                    &verdicts[0].clauses,
                    verdicts[0].assignments,
                    verdicts[0].traces,
                    &verdicts[0].violations,
                    &verdicts[0].warnings
                ),
                "{label} and file differ"
            );
        }
    }
}

#[tokio::test]
async fn seed_unit_every_bank_model_on_one_overdraft() {
    // Correct bank: the models that concern an overdraft hold, the others are vacuous (no commit, no
    // covered withdrawal, no balance update), and the assertion passes because some applied.
    let (correct, capture) = bank(true);
    correct.withdraw_endpoint(&Context::new(), "acct-1", 500);
    let report = tracecheck::assert_holds!("queries/bank.model", &capture);
    let vacuous: Vec<&str> = report
        .models()
        .filter(|m| m.vacuous())
        .map(|m| m.title.as_str())
        .collect();
    assert_eq!(
        vacuous,
        [
            "Commits never fail",
            "A withdrawal the balance covers is answered 200",
            "The balance is read before it is written"
        ]
    );

    // Buggy bank: only the seed's model fails.
    let (buggy, capture) = bank(false);
    buggy.withdraw_endpoint(&Context::new(), "acct-1", 500);
    let report = tracecheck::assert_violates!("queries/bank.model", &capture);
    let failing: Vec<&str> = report
        .models()
        .filter(|m| !m.holds())
        .map(|m| m.title.as_str())
        .collect();
    assert_eq!(failing, [SEED_MODEL]);
}
