//! The bank's withdraw logic: no web framework, no database, so the same code runs in the HTTP
//! service (`examples/bank/main.rs`, over SQLite) and in a unit test (over a mock [`Store`]), and
//! both make the same spans.
//!
//! A test includes this file as a module:
//!
//! ```ignore
//! #[path = "../../examples/bank/logic.rs"]
//! mod logic;
//! ```
//!
//! The span tree of one withdrawal is the one `queries/bank.model` and `docs/BANK.md` describe:
//!
//! ```text
//! /:account/withdraw     server    http.request.method, http.route, url.path, http.response.status_code
//! ├─ fetch-balance       internal  amount = balance, account.id
//! │  └─ select-balance   client    SELECT balance FROM accounts WHERE id = ?
//! └─ withdrawal          internal  amount = requested amount, account.id
//!    ├─ begin            client    BEGIN
//!    ├─ update-balance   client    UPDATE accounts SET balance = ? WHERE id = ?   (when committing)
//!    └─ commit | rollback client   COMMIT / ROLLBACK
//! ```
//!
//! The tracer is handed in by the caller (never the global provider), so parallel tests, each with
//! its own tracer provider, keep their spans apart. It is a type-erased
//! [`BoxedTracer`](opentelemetry::global::BoxedTracer) so that `Bank` has one type parameter (the
//! store) whatever SDK or exporter made the tracer.

// Not every item is used by every includer (the service does not read `Reply::message`, a test may
// not create accounts).
#![allow(dead_code)]

use std::fmt;
use std::sync::Mutex;

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde_json::{json, Value};

/// The route of the withdraw endpoint, also the name of its server span.
pub const WITHDRAW_ROUTE: &str = "/:account/withdraw";

/// A failed database call; the message ends up as the failing span's status description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The database operations the bank needs. One open transaction at a time: [`Bank`] never calls
/// `begin` again before `commit` or `rollback`, and makes no other call while a transaction is
/// open except `update_balance`, so a store may be a single connection.
///
/// ```ignore
/// struct Nothing;
/// impl Store for Nothing {
///     fn create_account(&self, _: &str, _: i64) -> Result<bool, StoreError> { Ok(true) }
///     fn read_balance(&self, _: &str) -> Result<Option<i64>, StoreError> { Ok(None) }
///     fn begin(&self) -> Result<(), StoreError> { Ok(()) }
///     fn update_balance(&self, _: &str, _: i64) -> Result<(), StoreError> { Ok(()) }
///     fn commit(&self) -> Result<(), StoreError> { Ok(()) }
///     fn rollback(&self) -> Result<(), StoreError> { Ok(()) }
/// }
/// ```
pub trait Store: Send + Sync {
    /// Creates an account with a balance; `Ok(false)` if the id is taken (nothing changes).
    fn create_account(&self, id: &str, balance: i64) -> Result<bool, StoreError>;
    /// `SELECT balance FROM accounts WHERE id = ?`; `Ok(None)` for an unknown account.
    fn read_balance(&self, id: &str) -> Result<Option<i64>, StoreError>;
    /// `BEGIN`.
    fn begin(&self) -> Result<(), StoreError>;
    /// `UPDATE accounts SET balance = ? WHERE id = ?`, inside the open transaction.
    fn update_balance(&self, id: &str, balance: i64) -> Result<(), StoreError>;
    /// `COMMIT`.
    fn commit(&self) -> Result<(), StoreError>;
    /// `ROLLBACK`.
    fn rollback(&self) -> Result<(), StoreError>;
}

/// An HTTP answer without the HTTP: a status code and a JSON body (`{"error": ...}` for 4xx/5xx).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    fn ok(status: u16, body: Value) -> Reply {
        Reply { status, body }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            body: json!({ "error": message }),
        }
    }

    /// The error message of a 4xx/5xx reply.
    pub fn message(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
}

/// The bank: withdrawals over a [`Store`], traced with the tracer it was built with.
///
/// One operation runs at a time (an internal lock around each public method): the balance is
/// read before the transaction opens (that is the trace shape of the seed), so two concurrent
/// withdrawals from one account would otherwise both pass the check against the same balance, and
/// a single-connection store would mix their statements into one transaction.
///
/// ```ignore
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let tracer = BoxedTracer::new(Box::new(provider.tracer("bank-instrumentation")));
/// let bank = Bank::new(MockStore::default(), tracer).with_balance_check(false);
/// bank.create_account("acct-1", 300);
/// let reply = bank.withdraw_endpoint(&Context::new(), "acct-1", 600);
/// assert_eq!(reply.status, 200); // the seed's bug: the overdraft is committed
/// ```
pub struct Bank<S: Store> {
    store: S,
    tracer: BoxedTracer,
    balance_check: bool,
    /// Held for the whole of each operation (see the type's documentation).
    serial: Mutex<()>,
}

/// The database calls of a withdrawal: span name, `db.operation.name`, `db.query.text`.
#[derive(Clone, Copy)]
enum DbOp {
    Select,
    Begin,
    Update,
    Commit,
    Rollback,
}

impl DbOp {
    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            DbOp::Select => ("select-balance", "SELECT", "SELECT balance FROM accounts WHERE id = ?"),
            DbOp::Begin => ("begin", "BEGIN", "BEGIN"),
            DbOp::Update => (
                "update-balance",
                "UPDATE",
                "UPDATE accounts SET balance = ? WHERE id = ?",
            ),
            DbOp::Commit => ("commit", "COMMIT", "COMMIT"),
            DbOp::Rollback => ("rollback", "ROLLBACK", "ROLLBACK"),
        }
    }
}

impl<S: Store> Bank<S> {
    /// A correct bank (it checks the balance) over `store`, tracing with `tracer`.
    pub fn new(store: S, tracer: BoxedTracer) -> Bank<S> {
        Bank {
            store,
            tracer,
            balance_check: true,
            serial: Mutex::new(()),
        }
    }

    /// `false` is the seed's bug: no balance check, so an overdraft is committed and the balance
    /// goes negative.
    pub fn with_balance_check(mut self, check: bool) -> Bank<S> {
        self.balance_check = check;
        self
    }

    /// The store, for tests that look at it after a withdrawal.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// `POST /accounts`: 201 with the account, 409 if the id is taken, 400 for an empty id or a
    /// negative balance, 500 on a store error. Not traced: the models are about withdrawals.
    pub fn create_account(&self, id: &str, balance: i64) -> Reply {
        if id.is_empty() || id.contains('/') {
            return Reply::error(400, "the account id must be non-empty and without '/'");
        }
        if balance < 0 {
            return Reply::error(400, "the balance must not be negative");
        }
        let _serial = self.lock();
        match self.store.create_account(id, balance) {
            Ok(true) => Reply::ok(201, json!({ "id": id, "balance": balance })),
            Ok(false) => Reply::error(409, "the account exists"),
            Err(e) => Reply::error(500, &e.0),
        }
    }

    /// `GET /{account}/balance`: 200 with the balance, 404 for an unknown account, 500 on a store
    /// error. Not traced.
    pub fn balance(&self, id: &str) -> Reply {
        let _serial = self.lock();
        match self.store.read_balance(id) {
            Ok(Some(balance)) => Reply::ok(200, json!({ "id": id, "balance": balance })),
            Ok(None) => Reply::error(404, "no such account"),
            Err(e) => Reply::error(500, &e.0),
        }
    }

    /// `POST /{account}/withdraw`: withdraws `amount` and makes the whole span tree under a server
    /// span whose parent is `parent` (a remote parent from a `traceparent` header, or
    /// `Context::new()` for a new trace).
    ///
    /// Replies: 200 `{"id", "balance"}` (the new balance); 500 for an overdraft (correct bank
    /// only) or a store error; 404 for an unknown account (no withdrawal span); 400 for an amount
    /// that is not positive (no child spans). The server span's status is error exactly on 5xx.
    pub fn withdraw_endpoint(&self, parent: &Context, account: &str, amount: i64) -> Reply {
        let server = self
            .tracer
            .span_builder(WITHDRAW_ROUTE)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("http.route", WITHDRAW_ROUTE),
                KeyValue::new("url.path", format!("/{account}/withdraw")),
            ])
            .start_with_context(&self.tracer, parent);
        let cx = parent.with_span(server);
        let reply = if amount <= 0 {
            Reply::error(400, "the amount must be positive")
        } else {
            let _serial = self.lock();
            self.withdraw(&cx, account, amount)
        };
        let span = cx.span();
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(reply.status)));
        if reply.status >= 500 {
            span.set_status(Status::error(reply.message().unwrap_or_default().to_string()));
        }
        span.end();
        reply
    }

    /// fetch-balance, then withdrawal, under the server span in `cx`.
    fn withdraw(&self, cx: &Context, account: &str, amount: i64) -> Reply {
        let balance = {
            let fetch = self.internal(cx, "fetch-balance", account);
            let read = self.db(&fetch, DbOp::Select, |s| s.read_balance(account));
            if let Ok(Some(balance)) = read {
                fetch.span().set_attribute(KeyValue::new("amount", balance));
            }
            fetch.span().end();
            match read {
                Ok(Some(balance)) => balance,
                Ok(None) => return Reply::error(404, "no such account"),
                Err(e) => return Reply::error(500, &e.0),
            }
        };
        let w = self.internal(cx, "withdrawal", account);
        w.span().set_attribute(KeyValue::new("amount", amount));
        let reply = self.transaction(&w, account, balance, amount);
        w.span().end();
        reply
    }

    /// begin, then update-balance and commit, or rollback; under the withdrawal span in `w`.
    fn transaction(&self, w: &Context, account: &str, balance: i64, amount: i64) -> Reply {
        if let Err(e) = self.db(w, DbOp::Begin, |s| s.begin()) {
            // Nothing is open, so there is nothing to roll back.
            return Reply::error(500, &e.0);
        }
        if self.balance_check && amount > balance {
            // A failed rollback still leaves the answer at "insufficient funds"; its span says why.
            let _ = self.db(w, DbOp::Rollback, |s| s.rollback());
            return Reply::error(500, "insufficient funds");
        }
        let new_balance = balance - amount;
        let written = self
            .db(w, DbOp::Update, |s| s.update_balance(account, new_balance))
            .and_then(|()| self.db(w, DbOp::Commit, |s| s.commit()));
        match written {
            Ok(()) => Reply::ok(200, json!({ "id": account, "balance": new_balance })),
            Err(e) => {
                let _ = self.db(w, DbOp::Rollback, |s| s.rollback());
                Reply::error(500, &e.0)
            }
        }
    }

    /// Starts an internal span named `name` with `account.id` under `parent`; returns its context.
    fn internal(&self, parent: &Context, name: &'static str, account: &str) -> Context {
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("account.id", account.to_string())])
            .start_with_context(&self.tracer, parent);
        parent.with_span(span)
    }

    /// Runs one store call inside a client span under `parent`; a failure sets the span's status
    /// to error and records an `exception` event.
    fn db<T>(
        &self,
        parent: &Context,
        op: DbOp,
        call: impl FnOnce(&S) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (name, operation, query) = op.describe();
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", "sqlite"),
                KeyValue::new("db.namespace", "bank"),
                KeyValue::new("db.user", "bank"),
                KeyValue::new("db.operation.name", operation),
                KeyValue::new("db.query.text", query),
            ])
            .start_with_context(&self.tracer, parent);
        let cx = parent.with_span(span);
        let result = call(&self.store);
        if let Err(e) = &result {
            let span = cx.span();
            span.set_status(Status::error(e.0.clone()));
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", "StoreError"),
                    KeyValue::new("exception.message", e.0.clone()),
                ],
            );
        }
        cx.span().end();
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data, so a panic while it was held leaves nothing inconsistent.
        self.serial.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
