//! The bank's HTTP routes (axum) over [`Bank`]: JSON in, the logic's [`Reply`] out.
//!
//! The bank's calls block (rusqlite), so each runs on tokio's blocking pool with
//! `spawn_blocking` rather than on an async worker: a slow statement then never stalls the other
//! requests' I/O, and the bank's own lock keeps its operations one at a time anyway.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::logic::{Bank, Reply, Store};

/// `POST /accounts` body.
#[derive(Deserialize)]
struct NewAccount {
    id: String,
    balance: i64,
}

/// `POST /{account}/withdraw` body.
#[derive(Deserialize)]
struct Withdrawal {
    amount: i64,
}

/// The routes: `POST /accounts`, `GET /{account}/balance`, `POST /{account}/withdraw`.
///
/// ```ignore
/// axum::serve(listener, routes::router(Arc::new(bank))).await?;
/// ```
pub fn router<S: Store + 'static>(bank: Arc<Bank<S>>) -> Router {
    Router::new()
        .route("/accounts", post(create_account::<S>))
        .route("/{account}/balance", get(balance::<S>))
        .route("/{account}/withdraw", post(withdraw::<S>))
        .with_state(bank)
}

async fn create_account<S: Store + 'static>(State(bank): State<Arc<Bank<S>>>, body: Bytes) -> Response {
    match parse::<NewAccount>(&body) {
        Ok(new) => blocking(move || bank.create_account(&new.id, new.balance)).await,
        Err(reply) => respond(reply),
    }
}

async fn balance<S: Store + 'static>(State(bank): State<Arc<Bank<S>>>, Path(account): Path<String>) -> Response {
    blocking(move || bank.balance(&account)).await
}

async fn withdraw<S: Store + 'static>(
    State(bank): State<Arc<Bank<S>>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The caller's span (W3C `traceparent`/`tracestate`) becomes the server span's remote parent;
    // without the header the withdrawal starts a new trace.
    let parent = TraceContextPropagator::new().extract_with_context(&Context::new(), &Headers(&headers));
    match parse::<Withdrawal>(&body) {
        Ok(w) => blocking(move || bank.withdraw_endpoint(&parent, &account, w.amount)).await,
        Err(reply) => respond(reply),
    }
}

/// Runs a blocking bank call on the blocking pool and turns its reply into a response.
async fn blocking(call: impl FnOnce() -> Reply + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(call).await {
        Ok(reply) => respond(reply),
        Err(e) => respond(Reply {
            status: 500,
            body: json!({ "error": format!("the request failed: {e}") }),
        }),
    }
}

/// A JSON request body, or a 400 reply saying what is wrong with it.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| Reply {
        status: 400,
        body: json!({ "error": format!("invalid JSON body: {e}") }),
    })
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        reply.body.to_string(),
    )
        .into_response()
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
