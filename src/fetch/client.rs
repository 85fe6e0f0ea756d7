//! HTTP GETs against a trace backend: a timeout per request, an optional bearer token, and retries
//! with exponential backoff for what may pass (connection errors, timeouts, 429, 5xx).
//!
//! Any other status fails at once: a 404 or a 401 will not change by asking again, and the error
//! names the URL, the status and the start of the body (where backends say what is wrong).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::error::{Error, Result, Setting};

/// Bytes of an error response's body quoted in the error message.
const BODY_QUOTE_BYTES: usize = 200;

/// How requests are retried and timed out.
///
/// ```
/// use std::time::Duration;
/// let p = tracecheck::fetch::RetryPolicy::default();
/// assert_eq!(p.retries, 4);
/// assert_eq!(p.backoff(0), Duration::from_millis(100));
/// assert_eq!(p.backoff(3), Duration::from_millis(800));
/// assert_eq!(p.backoff(9), Duration::from_millis(800));
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `retries + 1` attempts in all).
    pub retries: u32,
    /// The wait before the first retry; each further retry doubles it, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest wait between attempts (unless the server asks for longer with `Retry-After`).
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a server asking for more is waited on this long.
    pub max_retry_after: Duration,
    /// The whole of one request (connect, headers, body) must finish within this.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(800),
            max_retry_after: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first), without `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// A failed GET: the status when the server answered, and a message for people.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub url: String,
    pub status: Option<StatusCode>,
    pub message: String,
    /// The server's certificate was not trusted.
    pub untrusted: bool,
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Error {
        if e.untrusted {
            return Error::Untrusted {
                url: e.url,
                message: e.message,
            };
        }
        // The URL takes the place of a path: the error reads "URL: what went wrong".
        Error::io(e.url, std::io::Error::other(e.message))
    }
}

/// One attempt's outcome, before the retry decision.
enum Attempt {
    Done(Vec<u8>),
    /// Worth another try; with the wait the server asked for, if any.
    Transient {
        message: String,
        status: Option<StatusCode>,
        retry_after: Option<Duration>,
    },
    Permanent {
        message: String,
        status: Option<StatusCode>,
        untrusted: bool,
    },
}

/// An HTTP client for one backend.
pub(crate) struct Client {
    http: reqwest::Client,
    token: Option<String>,
    policy: RetryPolicy,
    retries: AtomicU64,
}

impl Client {
    /// A client; `ca_cert` is a PEM file of certificates trusted besides the system's roots.
    pub fn new(policy: RetryPolicy, token: Option<String>, ca_cert: Option<&Path>) -> Result<Client> {
        let mut builder = crate::net::client_builder()
            .timeout(policy.timeout)
            .user_agent(concat!("tracecheck/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            builder = builder.tls_certs_merge(read_ca_certs(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Usage(format!("cannot create the HTTP client: {}", chain(&e))))?;
        Ok(Client {
            http,
            token: token.filter(|t| !t.is_empty()),
            policy,
            retries: AtomicU64::new(0),
        })
    }

    /// Retries made so far (all requests).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// GETs `url` asking for JSON; retries transient failures; returns the body of a 2xx answer.
    pub async fn get_json(&self, url: &Url) -> std::result::Result<Vec<u8>, HttpError> {
        let mut retry = 0;
        loop {
            let (message, status, retry_after) = match self.attempt(url).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Permanent {
                    message,
                    status,
                    untrusted,
                } => {
                    return Err(HttpError {
                        url: url.to_string(),
                        status,
                        message,
                        untrusted,
                    })
                }
                Attempt::Transient {
                    message,
                    status,
                    retry_after,
                } => (message, status, retry_after),
            };
            if retry >= self.policy.retries {
                let attempts = retry + 1;
                return Err(HttpError {
                    url: url.to_string(),
                    status,
                    message: format!("{message} (gave up after {attempts} attempts)"),
                    untrusted: false,
                });
            }
            let wait = match retry_after {
                Some(asked) => asked.min(self.policy.max_retry_after),
                None => self.policy.backoff(retry),
            };
            self.retries.fetch_add(1, Ordering::Relaxed);
            retry += 1;
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, url: &Url) -> Attempt {
        let mut req = self.http.get(url.clone()).header(ACCEPT, "application/json");
        if let Some(token) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let resp = match req.send().await {
            Ok(r) => r,
            // A certificate that is not trusted will not be trusted on the next attempt either.
            Err(e) if tls_error(&e) => {
                return Attempt::Permanent {
                    message: chain(&e.without_url()),
                    status: None,
                    untrusted: true,
                };
            }
            // The URL leads the final message already.
            Err(e) => return transient(chain(&e.without_url()), None, None),
        };
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        // A body cut off by a dropped connection or the timeout is as transient as no answer.
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return transient(
                    format!("HTTP {status}, then reading the body: {}", chain(&e.without_url())),
                    None,
                    None,
                )
            }
        };
        if status.is_success() {
            return Attempt::Done(body.to_vec());
        }
        let message = format!("HTTP {status}{}", quote_body(&body));
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            transient(message, Some(status), retry_after)
        } else {
            Attempt::Permanent {
                message,
                status: Some(status),
                untrusted: false,
            }
        }
    }
}

fn transient(message: String, status: Option<StatusCode>, retry_after: Option<Duration>) -> Attempt {
    Attempt::Transient {
        message,
        status,
        retry_after,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare on APIs and falls back to the backoff).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `": <first 200 bytes of the body>"` on one line, or nothing for an empty body.
fn quote_body(body: &[u8]) -> String {
    let head = &body[..body.len().min(BODY_QUOTE_BYTES)];
    let text = String::from_utf8_lossy(head);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match (line.is_empty(), body.len() > BODY_QUOTE_BYTES) {
        (true, _) => String::new(),
        (false, true) => format!(": {line} …"),
        (false, false) => format!(": {line}"),
    }
}

/// The certificates of a PEM file ([`Setting::CaCert`]): one or more `BEGIN CERTIFICATE` blocks.
fn read_ca_certs(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Setting {
        setting: Setting::CaCert,
        message: format!("{}: not a PEM certificate file ({e})", path.display()),
    })?;
    if certs.is_empty() {
        return Err(Error::Setting {
            setting: Setting::CaCert,
            message: format!(
                "{}: no \"-----BEGIN CERTIFICATE-----\" block in it; expected the CA's certificate in PEM",
                path.display()
            ),
        });
    }
    Ok(certs)
}

/// Whether a request failed in the TLS handshake (an untrusted or invalid certificate, a protocol
/// mismatch), found as a rustls error among its causes.
fn tls_error(e: &reqwest::Error) -> bool {
    std::error::Error::source(e).is_some_and(is_rustls)
}

fn is_rustls(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    // rustls errors reach reqwest wrapped in io::Errors (twice), whose `source` skips what they wrap.
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
        && is_rustls(inner)
    {
        return true;
    }
    e.source().is_some_and(is_rustls)
}

/// An error and its causes on one line (reqwest's own message alone says "error sending request").
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_quotes_are_one_short_line() {
        assert_eq!(quote_body(b""), "");
        assert_eq!(quote_body(b"404 page\nnot found\n"), ": 404 page not found");
        let long = vec![b'x'; 500];
        let q = quote_body(&long);
        assert!(q.ends_with(" …"));
        assert_eq!(q.matches('x').count(), BODY_QUOTE_BYTES);
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<u128> = (0..5).map(|r| p.backoff(r).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 800]);
    }
}
