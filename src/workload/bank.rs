//! The `bank` workload; the trace shape and the faults are described in the [module
//! documentation](super).

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::random::{log_normal_ns, scale_ns, span_id, trace_id, uniform_ns, MS, US};
use super::{Fault, GroundTruth};
use crate::error::Result;
use crate::ingest::{trace_id_hex, Attr, Event, Span, SpanKind, SpanSink, StatusCode, Value};

mod options;

pub use options::BankOptions;

/// Generates the `bank` workload into `sink`, span by span, and returns which traces carry which
/// fault. See the [module documentation](super) for the traces and faults.
///
/// Errors: [`Error::Usage`](crate::Error::Usage) for options out of range (fault rate outside
/// 0..=1, slow factor not in (0, 1000], times beyond what `i64` nanoseconds hold), and whatever
/// the sink returns.
///
/// ```
/// use tracecheck::workload::{generate_bank, BankOptions};
/// let mut raw = tracecheck::ingest::RawTables::new(false);
/// let truth = generate_bank(&BankOptions::new(50).with_seed(1), &mut raw).unwrap();
/// assert_eq!(truth.traces, 50);
/// assert!(truth.spans >= 50 * 6);
/// assert!(generate_bank(&BankOptions::new(1).with_fault_rate(2.0), &mut raw).is_err());
/// ```
pub fn generate_bank(opts: &BankOptions, sink: &mut dyn SpanSink) -> Result<GroundTruth> {
    opts.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed());
    let resources = Resources::new();
    let mut truth = GroundTruth::new();
    let mut start = opts.start_ns();
    for i in 0..opts.traces() {
        if i > 0 {
            start += uniform_ns(&mut rng, MS, 5 * MS);
        }
        let plan = Plan::draw(&mut rng, opts.fault_rate());
        let times = Times::draw(&mut rng, &plan, start, opts.slow_factor());
        truth.spans += emit(&mut rng, &plan, &times, &resources, sink)?;
        truth.traces += 1;
        if let Some(fault) = plan.fault {
            truth.faults.entry(fault).or_default().push(trace_id_hex(plan.trace_id));
        }
    }
    for ids in truth.faults.values_mut() {
        ids.sort_unstable();
    }
    Ok(truth)
}

/// What happens in one trace.
struct Plan {
    trace_id: u128,
    fault: Option<Fault>,
    account: u32,
    /// The balance read by `fetch-balance`.
    balance: i64,
    /// The amount asked for by `withdrawal`.
    amount: i64,
    auth: bool,
    begin: bool,
    /// Index of the bank host.
    host: usize,
    /// `update-balance` and `commit` happen.
    commit: bool,
    rollback: bool,
    /// The answer is 200 (else 500).
    ok: bool,
}

impl Plan {
    fn draw<R: Rng>(rng: &mut R, fault_rate: f64) -> Plan {
        let trace_id = trace_id(rng);
        let u = rng.random::<f64>();
        let fault = (u < fault_rate).then(|| {
            let i = (u / (fault_rate / Fault::ALL.len() as f64)) as usize;
            Fault::ALL[i.min(Fault::ALL.len() - 1)]
        });
        let overdraft = match fault {
            Some(Fault::OverdraftCommitted | Fault::MissingRollback | Fault::WrongStatusCode) => true,
            Some(Fault::SlowWithdrawal | Fault::Error) => false,
            None => rng.random_bool(0.5),
        };
        let (balance, amount) = if overdraft {
            let balance = rng.random_range(0..=5_000);
            (balance, balance + rng.random_range(1..=5_000))
        } else {
            let balance = rng.random_range(100..=10_000);
            (balance, rng.random_range(1..=balance))
        };
        let (commit, rollback, ok) = match (overdraft, fault) {
            (_, Some(Fault::OverdraftCommitted)) => (true, false, true),
            (_, Some(Fault::MissingRollback)) => (false, false, false),
            (_, Some(Fault::WrongStatusCode)) => (false, true, true),
            (_, Some(Fault::Error)) => (true, false, false),
            (true, _) => (false, true, false),
            (false, _) => (true, false, true),
        };
        Plan {
            trace_id,
            fault,
            account: rng.random_range(1..=500),
            balance,
            amount,
            auth: rng.random_bool(0.8),
            begin: rng.random_bool(0.7),
            host: rng.random_range(0..2u32) as usize,
            commit,
            rollback,
            ok,
        }
    }

    /// The database spans under `withdrawal`, in order.
    fn transaction(&self) -> Vec<DbOp> {
        let mut ops = Vec::with_capacity(3);
        if self.begin {
            ops.push(DbOp::Begin);
        }
        if self.commit {
            ops.push(DbOp::Update);
            ops.push(DbOp::Commit);
        }
        if self.rollback {
            ops.push(DbOp::Rollback);
        }
        ops
    }
}

/// A database call of the bank.
#[derive(Clone, Copy, PartialEq)]
enum DbOp {
    Select,
    Begin,
    Update,
    Commit,
    Rollback,
}

impl DbOp {
    /// Span name, `db.operation.name`, `db.query.text`.
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

/// Start and end, ns since the Unix epoch.
#[derive(Clone, Copy, Debug)]
struct Interval {
    start: i64,
    end: i64,
}

/// The times of every span of one trace.
struct Times {
    root: Interval,
    auth: Option<Interval>,
    server: Interval,
    fetch: Interval,
    select: Interval,
    withdrawal: Interval,
    transaction: Vec<(DbOp, Interval)>,
}

impl Times {
    /// Lays a trace out from its start: children within parents, siblings one after the other.
    fn draw<R: Rng>(rng: &mut R, plan: &Plan, start: i64, slow_factor: f64) -> Times {
        let db = |rng: &mut R| log_normal_ns(rng, 2 * MS, 0.4, MS, 5 * MS);
        let mut at = start + uniform_ns(rng, 200 * US, MS);
        let auth = plan.auth.then(|| {
            let iv = Interval {
                start: at,
                end: at + log_normal_ns(rng, 1_500 * US, 0.4, 500 * US, 6 * MS),
            };
            at = iv.end + uniform_ns(rng, 100 * US, 500 * US);
            iv
        });
        let server_start = at;

        let fetch_start = server_start + uniform_ns(rng, 50 * US, 300 * US);
        let select_start = fetch_start + uniform_ns(rng, 20 * US, 200 * US);
        let select = Interval {
            start: select_start,
            end: select_start + db(rng),
        };
        let fetch_len = log_normal_ns(rng, 4 * MS, 0.35, 2 * MS, 8 * MS);
        let fetch = Interval {
            start: fetch_start,
            end: (fetch_start + fetch_len).max(select.end + uniform_ns(rng, 20 * US, 200 * US)),
        };

        let w_start = fetch.end + uniform_ns(rng, 50 * US, 500 * US);
        let ops = plan.transaction();
        let lens: Vec<i64> = ops.iter().map(|_| db(rng)).collect();
        let gaps: Vec<i64> = ops.iter().skip(1).map(|_| uniform_ns(rng, 20 * US, 200 * US)).collect();
        let busy = lens.iter().sum::<i64>() + gaps.iter().sum::<i64>();
        let wanted = if plan.fault == Some(Fault::SlowWithdrawal) {
            uniform_ns(rng, 300 * MS, 900 * MS)
        } else {
            log_normal_ns(rng, 15 * MS, 0.5, 5 * MS, 120 * MS)
        };
        let pad = 50 * US;
        let w_len = scale_ns(wanted, slow_factor).max(busy + 2 * pad);
        let slack = w_len - busy - 2 * pad;
        let mut at = w_start + pad + (slack as f64 * rng.random::<f64>()) as i64;
        let mut transaction = Vec::with_capacity(ops.len());
        for (i, (op, len)) in ops.iter().zip(&lens).enumerate() {
            if i > 0 {
                at += gaps[i - 1];
            }
            transaction.push((
                *op,
                Interval {
                    start: at,
                    end: at + len,
                },
            ));
            at += len;
        }
        let withdrawal = Interval {
            start: w_start,
            end: w_start + w_len,
        };

        let server = Interval {
            start: server_start,
            end: withdrawal.end + uniform_ns(rng, 100 * US, MS),
        };
        let root = Interval {
            start,
            end: server.end + uniform_ns(rng, 200 * US, MS),
        };
        Times {
            root,
            auth,
            server,
            fetch,
            select,
            withdrawal,
            transaction,
        }
    }
}

/// Resource attributes of the services, shared by their spans.
struct Resources {
    gateway: Arc<Vec<Attr>>,
    auth: Arc<Vec<Attr>>,
    bank: [Arc<Vec<Attr>>; 2],
    scope: Arc<Vec<Attr>>,
}

impl Resources {
    fn new() -> Resources {
        let res = |service: &str, version: &str, host: &str| {
            Arc::new(vec![
                str_attr("service.name", service),
                str_attr("service.version", version),
                str_attr("host.name", host),
            ])
        };
        Resources {
            gateway: res("gateway", "2.4.1", "gateway-0"),
            auth: res("auth", "1.3.0", "auth-0"),
            bank: [res("bank", "0.1.0", "bank-0"), res("bank", "0.1.0", "bank-1")],
            scope: Arc::new(Vec::new()),
        }
    }
}

fn str_attr(key: &str, value: &str) -> Attr {
    Attr::new(key, Value::Str(value.to_string()))
}

fn int_attr(key: &str, value: i64) -> Attr {
    Attr::new(key, Value::Int(value))
}

/// Makes the spans of one trace and pushes them, parents first; returns how many.
fn emit<R: Rng>(rng: &mut R, plan: &Plan, times: &Times, res: &Resources, sink: &mut dyn SpanSink) -> Result<usize> {
    let mut used = Vec::with_capacity(10);
    let status_code = if plan.ok { 200 } else { 500 };
    let http_status = if plan.ok { StatusCode::Unset } else { StatusCode::Error };
    let url = format!("http://bank/acct-{}/withdraw", plan.account);
    let account = format!("acct-{}", plan.account);
    let bank = &res.bank[plan.host];
    let new = |rng: &mut R, used: &mut Vec<u64>, parent: Option<u64>, name: &str, iv: Interval| Span {
        trace_id: plan.trace_id,
        span_id: span_id(rng, used),
        parent_span_id: parent,
        name: name.to_string(),
        service: "bank".to_string(),
        kind: SpanKind::Internal,
        start_ns: Some(iv.start),
        end_ns: Some(iv.end),
        scope_name: Some("bank-instrumentation".to_string()),
        scope_version: Some("0.1.0".to_string()),
        resource: Arc::clone(bank),
        scope_attributes: Arc::clone(&res.scope),
        ..Span::default()
    };
    let db_attrs = |op: DbOp| {
        let (_, operation, query) = op.describe();
        vec![
            str_attr("db.system.name", "sqlite"),
            str_attr("db.namespace", "bank"),
            str_attr("db.user", "bank"),
            str_attr("db.operation.name", operation),
            str_attr("db.query.text", query),
        ]
    };
    let mut count = 0;

    let mut root = new(rng, &mut used, None, "POST /withdraw", times.root);
    let root_id = root.span_id;
    root.service = "gateway".to_string();
    root.kind = SpanKind::Client;
    root.resource = Arc::clone(&res.gateway);
    root.status = http_status;
    root.attributes = vec![
        str_attr("http.request.method", "POST"),
        str_attr("url.full", &url),
        str_attr("server.address", "bank"),
        int_attr("http.response.status_code", status_code),
    ];
    sink.push(root)?;
    count += 1;

    if let Some(iv) = times.auth {
        let mut auth = new(rng, &mut used, Some(root_id), "POST /check", iv);
        auth.service = "auth".to_string();
        auth.kind = SpanKind::Server;
        auth.resource = Arc::clone(&res.auth);
        auth.attributes = vec![
            str_attr("http.request.method", "POST"),
            str_attr("http.route", "/check"),
            str_attr("url.full", "http://auth/check"),
            int_attr("http.response.status_code", 200),
        ];
        sink.push(auth)?;
        count += 1;
    }

    let mut server = new(rng, &mut used, Some(root_id), "/:account/withdraw", times.server);
    let server_id = server.span_id;
    server.kind = SpanKind::Server;
    server.status = http_status;
    server.attributes = vec![
        str_attr("http.request.method", "POST"),
        str_attr("http.route", "/:account/withdraw"),
        str_attr("url.full", &url),
        int_attr("http.response.status_code", status_code),
    ];
    sink.push(server)?;
    count += 1;

    let mut fetch = new(rng, &mut used, Some(server_id), "fetch-balance", times.fetch);
    let fetch_id = fetch.span_id;
    fetch.attributes = vec![int_attr("amount", plan.balance), str_attr("account.id", &account)];
    sink.push(fetch)?;
    count += 1;

    let (name, _, _) = DbOp::Select.describe();
    let mut select = new(rng, &mut used, Some(fetch_id), name, times.select);
    select.kind = SpanKind::Client;
    select.attributes = db_attrs(DbOp::Select);
    sink.push(select)?;
    count += 1;

    let mut withdrawal = new(rng, &mut used, Some(server_id), "withdrawal", times.withdrawal);
    let withdrawal_id = withdrawal.span_id;
    withdrawal.attributes = vec![int_attr("amount", plan.amount), str_attr("account.id", &account)];
    sink.push(withdrawal)?;
    count += 1;

    for &(op, iv) in &times.transaction {
        let (name, _, _) = op.describe();
        let mut span = new(rng, &mut used, Some(withdrawal_id), name, iv);
        span.kind = SpanKind::Client;
        span.attributes = db_attrs(op);
        if op == DbOp::Commit && plan.fault == Some(Fault::Error) {
            span.status = StatusCode::Error;
            span.status_message = Some("database is locked".to_string());
            span.events = vec![Event {
                time_ns: Some(iv.end),
                name: "exception".to_string(),
                attributes: vec![
                    str_attr("exception.type", "SqliteFailure"),
                    str_attr("exception.message", "database is locked"),
                ],
                dropped_attributes_count: 0,
            }];
        }
        sink.push(span)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests;
