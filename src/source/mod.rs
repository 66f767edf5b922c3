//! The source stage: one HTTP client under every JumpCloud API family. In come endpoints,
//! credentials and routes; out come pages of JSON records. It owns auth headers, retries
//! with jittered exponential backoff (5xx, 429 with `Retry-After`, resets, truncated or
//! unparsable bodies), request counting, and pagination (`pages`).

pub mod body;
pub mod history;
pub mod insights;
pub mod limit;
pub mod pages;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use history::HistoryPages;
pub use insights::{EventDayPages, EventPages, EventQuery, PrefetchedPages};
pub use limit::Pacer;
pub use pages::{
    count_hint, count_objects, directory_route, Api, FanOutPages, Page, PageStream, Pages,
    INSIGHTS_PAGE_LIMIT, PAGE_LIMIT,
};

/// A JumpCloud API key. It is sent as a sensitive header and never printed: `Debug` shows
/// `ApiKey(***)` and there is no `Display`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    fn header(&self) -> Result<HeaderValue, SourceError> {
        let mut v = HeaderValue::from_str(self.0.trim()).map_err(|_| SourceError::BadKey)?;
        v.set_sensitive(true);
        Ok(v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where the API families live: `{base}/api`, `{base}/api/v2`, `{insights}/insights/directory/v1`.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub base_url: String,
    pub insights_url: String,
}

/// Request counters for the run summary.
#[derive(Debug, Default)]
pub struct RequestStats {
    pub requests: AtomicU64,
    pub retried: AtomicU64,
    pub throttled: AtomicU64,
    /// Service-account tokens fetched.
    pub tokens: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the API key is not a valid HTTP header value")]
    BadKey,
    #[error(
        "JumpCloud rejected the API key ({status} on {url}): {message}; check JUMPCLOUD_API_KEY"
    )]
    Unauthorized {
        url: String,
        status: u16,
        message: String,
    },
    #[error("JumpCloud denied access ({status} on {url}): {message}")]
    Forbidden {
        url: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach {url} after {attempts} attempts: {message}")]
    Unreachable {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("{url}: HTTP {status} after {attempts} attempts: {message}")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
        message: String,
    },
    #[error("{url}: unreadable answer after {attempts} attempts: {message}")]
    Body {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{url}: the page fetch stopped before the last page")]
    Stopped { url: String },
}

/// What the service said to a write.
#[derive(Debug)]
pub enum WriteAnswer {
    /// An answer that says what happened: a 2xx, or a 4xx other than 401, 403 and 429.
    /// `body` is the JSON answer (`Null` when empty or not JSON), `message` its error text.
    Answered {
        status: u16,
        body: Value,
        message: String,
        request_id: Option<String>,
    },
    /// No answer that says whether the write was done: a 5xx, a reset, a timeout or a
    /// body cut short.
    Unknown {
        status: Option<u16>,
        message: String,
    },
}

/// Retry bounds; the defaults fit a nightly job against the real service.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// How requests authenticate.
#[derive(Clone)]
pub enum Credentials {
    /// `x-api-key`.
    ApiKey(ApiKey),
    /// OAuth 2.0 client credentials: a bearer token from `token_url`, cached and renewed
    /// before it expires.
    ServiceAccount {
        client_id: String,
        client_secret: ApiKey,
        token_url: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey(_) => f.write_str("ApiKey(***)"),
            Credentials::ServiceAccount {
                client_id,
                token_url,
                ..
            } => {
                write!(f, "ServiceAccount {{ client_id: {client_id:?}, client_secret: ***, token_url: {token_url:?} }}")
            }
        }
    }
}

/// How fast and how wide a run may go.
#[derive(Debug, Clone)]
pub struct PacePolicy {
    /// A ceiling in requests per minute; none: learn the service's limit from its 429s.
    pub rate_limit_rpm: Option<u32>,
    pub max_in_flight: usize,
}

impl Default for PacePolicy {
    fn default() -> Self {
        PacePolicy {
            rate_limit_rpm: None,
            max_in_flight: 16,
        }
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// The one HTTP client of a run.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    retry: RetryPolicy,
    credentials: Credentials,
    /// `x-org-id` of this client's org, when it differs from the run's default.
    org: Option<HeaderValue>,
    token: Arc<tokio::sync::Mutex<Option<Token>>>,
    pub pacer: Arc<Pacer>,
    pub stats: Arc<RequestStats>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

enum Attempt<T> {
    Done(T, HeaderMap),
    Retry {
        message: String,
        status: Option<u16>,
        wait: Option<Duration>,
        transport: bool,
    },
}

impl ApiClient {
    pub fn with_credentials(
        endpoints: Endpoints,
        credentials: Credentials,
        org_id: Option<&str>,
        retry: RetryPolicy,
        pace: &PacePolicy,
    ) -> Result<ApiClient, SourceError> {
        let mut headers = HeaderMap::new();
        if let Credentials::ApiKey(key) = &credentials {
            headers.insert("x-api-key", key.header()?);
        }
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(org) = org_id.filter(|o| !o.is_empty()) {
            let v = HeaderValue::from_str(org).map_err(|_| {
                SourceError::Client(format!("org id {org:?} is not a valid header value"))
            })?;
            headers.insert("x-org-id", v);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("jclake/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SourceError::Client(e.to_string()))?;
        Ok(ApiClient {
            http,
            endpoints,
            retry,
            credentials,
            org: None,
            token: Arc::new(tokio::sync::Mutex::new(None)),
            pacer: Arc::new(Pacer::new(pace.rate_limit_rpm, pace.max_in_flight)),
            stats: Arc::new(RequestStats::default()),
        })
    }

    /// The same client (connections, pacer, counters, token) for another org of a
    /// multi-tenant key.
    pub fn for_org(&self, org_id: &str) -> Result<ApiClient, SourceError> {
        let v = HeaderValue::from_str(org_id).map_err(|_| {
            SourceError::Client(format!("org id {org_id:?} is not a valid header value"))
        })?;
        Ok(ApiClient {
            org: Some(v),
            ..self.clone()
        })
    }

    /// A bearer token for a service account, fetched or renewed when needed.
    async fn bearer(&self, force: bool) -> Result<Option<HeaderValue>, SourceError> {
        let Credentials::ServiceAccount {
            client_id,
            client_secret,
            token_url,
        } = &self.credentials
        else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        let fresh = cached.as_ref().is_some_and(|t| t.renew_at > Instant::now());
        if force || !fresh {
            let resp = self
                .http
                .post(token_url.as_str())
                .basic_auth(client_id, Some(client_secret.0.as_str()))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=api")
                .send()
                .await
                .map_err(|e| SourceError::Unreachable {
                    url: token_url.clone(),
                    attempts: 1,
                    message: error_chain(&e),
                })?;
            let status = resp.status();
            let body = resp.bytes().await.unwrap_or_default();
            if !status.is_success() {
                return Err(SourceError::Unauthorized {
                    url: token_url.clone(),
                    status: status.as_u16(),
                    message: format!("service account token refused: {}", error_message(&body)),
                });
            }
            let v: Value = serde_json::from_slice(&body).map_err(|e| SourceError::Body {
                url: token_url.clone(),
                attempts: 1,
                message: e.to_string(),
            })?;
            let value = v
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| SourceError::Body {
                    url: token_url.clone(),
                    attempts: 1,
                    message: "no access_token in the token answer".into(),
                })?;
            let ttl =
                Duration::from_secs(v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600));
            // Renew a minute early, or at three quarters of a short lifetime.
            let margin = (ttl / 4).min(Duration::from_secs(60));
            *cached = Some(Token {
                value: value.to_string(),
                renew_at: Instant::now() + ttl.saturating_sub(margin),
            });
            self.stats.tokens.fetch_add(1, Ordering::Relaxed);
        }
        let token = cached.as_ref().map(|t| t.value.clone()).unwrap_or_default();
        let mut h =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| SourceError::BadKey)?;
        h.set_sensitive(true);
        Ok(Some(h))
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// One object (`/commandresults/{id}`), as the bytes it came in, checked to be a JSON
    /// object; retried like a page.
    pub async fn get_object(&self, url: &str) -> Result<bytes::Bytes, SourceError> {
        self.send(url, None, history::object).await.map(|(b, _)| b)
    }

    /// `GET {base}/api/{path}` (v1) or `{base}/api/v2/{path}` (v2), parsed as JSON, retried.
    pub async fn get_json(&self, url: &str) -> Result<Value, SourceError> {
        self.send(url, None, value).await.map(|(v, _)| v)
    }

    /// Like `get_json`, with the response headers.
    pub async fn get_with_headers(&self, url: &str) -> Result<(Value, HeaderMap), SourceError> {
        self.send(url, None, value).await
    }

    /// `POST url` with a JSON body, retried like a GET (Directory Insights queries are
    /// reads: re-sending one is safe). Returns the body and the response headers.
    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
    ) -> Result<(Value, HeaderMap), SourceError> {
        self.send(url, Some(body), value).await
    }

    /// A page of records: `GET url`, or `POST url` with `query`; the answer's records are
    /// located, not parsed (see `body`).
    pub async fn get_page(
        &self,
        url: &str,
        query: Option<&Value>,
    ) -> Result<(body::Shape, HeaderMap), SourceError> {
        self.send(url, query, body::split).await
    }

    async fn send<T>(
        &self,
        url: &str,
        body: Option<&Value>,
        parse: fn(bytes::Bytes) -> Result<T, String>,
    ) -> Result<(T, HeaderMap), SourceError> {
        let mut attempt = 0;
        let mut renewals = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.pacer.acquire().await;
                // The token is taken after the wait for a slot, so it cannot age in the queue.
                let bearer = self.bearer(false).await?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let o = self.try_send(url, body, bearer, parse).await;
                match &o {
                    Ok(Attempt::Done(..)) => self.pacer.on_success(t0.elapsed()),
                    Ok(Attempt::Retry {
                        status: Some(429),
                        wait,
                        ..
                    }) => self.pacer.on_throttle(*wait),
                    // A 5xx, a reset or a cut body is noise, not a sign of load: the
                    // request's own backoff handles it; the pacer is left as it is.
                    _ => {}
                }
                o
            };
            let outcome = match outcome {
                // An expired or revoked token: renew it and go again (twice at most: a
                // refused fresh token is a refused account).
                Err(SourceError::Unauthorized { .. })
                    if matches!(self.credentials, Credentials::ServiceAccount { .. })
                        && renewals < 2 =>
                {
                    renewals += 1;
                    self.bearer(true).await?;
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                other => other?,
            };
            match outcome {
                Attempt::Done(v, h) => return Ok((v, h)),
                Attempt::Retry {
                    message,
                    status,
                    wait,
                    transport,
                } => {
                    if attempt >= self.retry.max_attempts {
                        return Err(match (status, transport) {
                            (Some(status), _) => SourceError::Status {
                                url: url.into(),
                                status,
                                attempts: attempt,
                                message,
                            },
                            (None, true) => SourceError::Unreachable {
                                url: url.into(),
                                attempts: attempt,
                                message,
                            },
                            (None, false) => SourceError::Body {
                                url: url.into(),
                                attempts: attempt,
                                message,
                            },
                        });
                    }
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    // A 429 with Retry-After has paused the pacer for everyone; otherwise back off.
                    let delay = match (status, wait) {
                        (Some(429), Some(_)) => Duration::ZERO,
                        (_, Some(w)) => w.min(self.retry.max_delay),
                        _ => self.backoff(attempt),
                    };
                    tracing::debug!(url, attempt, ?status, %message, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.min(16).saturating_sub(1));
        let capped = exp.min(self.retry.max_delay);
        // Full jitter keeps concurrent fan-out requests from retrying in lockstep.
        capped.mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// A request with this client's auth and org headers; a body goes as JSON.
    fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        bearer: Option<HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).unwrap_or_default());
        }
        if let Some(b) = bearer {
            req = req.header(AUTHORIZATION, b);
        }
        if let Some(o) = &self.org {
            req = req.header("x-org-id", o.clone());
        }
        req
    }

    /// One write (`POST`, `PUT`, `DELETE`) and what the service said to it. Unlike a read,
    /// a write is sent again only when the service cannot have done it: a 429, or an
    /// expired service-account token. A 5xx, a reset, a timeout or a body cut short comes
    /// back as `WriteAnswer::Unknown`: the write may have been done (a 502 after the write
    /// is real, and the service has no idempotency keys), so the caller looks first.
    pub async fn write(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<WriteAnswer, SourceError> {
        let mut attempt = 0;
        let mut renewals = 0;
        loop {
            attempt += 1;
            let (sent, t0) = {
                let _permit = self.pacer.acquire().await;
                let bearer = self.bearer(false).await?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                (
                    self.request(method.clone(), url, body, bearer).send().await,
                    t0,
                )
            };
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    return Ok(WriteAnswer::Unknown {
                        status: None,
                        message: error_chain(&e),
                    })
                }
            };
            let status = resp.status();
            let request_id = ["x-request-id", "x-amzn-requestid", "x-jc-request-id"]
                .iter()
                .find_map(|h| resp.headers().get(*h))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let wait = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    return Ok(WriteAnswer::Unknown {
                        status: Some(status.as_u16()),
                        message: format!("body cut short: {}", error_chain(&e)),
                    })
                }
            };
            let message = error_message(&bytes);
            match status {
                StatusCode::TOO_MANY_REQUESTS if attempt < self.retry.max_attempts => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    self.pacer.on_throttle(wait);
                    let delay = match wait {
                        Some(_) => Duration::ZERO,
                        None => self.backoff(attempt),
                    };
                    tokio::time::sleep(delay).await;
                }
                StatusCode::UNAUTHORIZED
                    if matches!(self.credentials, Credentials::ServiceAccount { .. })
                        && renewals < 2 =>
                {
                    renewals += 1;
                    self.bearer(true).await?;
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(SourceError::Unauthorized {
                        url: url.into(),
                        status: status.as_u16(),
                        message,
                    })
                }
                StatusCode::FORBIDDEN => {
                    return Err(SourceError::Forbidden {
                        url: url.into(),
                        status: status.as_u16(),
                        message,
                    })
                }
                s if s.is_server_error() => {
                    return Ok(WriteAnswer::Unknown {
                        status: Some(s.as_u16()),
                        message,
                    })
                }
                s => {
                    if s.is_success() {
                        self.pacer.on_success(t0.elapsed());
                    }
                    let body = if bytes.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                    };
                    return Ok(WriteAnswer::Answered {
                        status: s.as_u16(),
                        body,
                        message,
                        request_id,
                    });
                }
            }
        }
    }

    async fn try_send<T>(
        &self,
        url: &str,
        body: Option<&Value>,
        bearer: Option<HeaderValue>,
        parse: fn(bytes::Bytes) -> Result<T, String>,
    ) -> Result<Attempt<T>, SourceError> {
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let resp = match self.request(method, url, body, bearer).send().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Attempt::Retry {
                    message: error_chain(&e),
                    status: None,
                    wait: None,
                    transport: true,
                });
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Ok(Attempt::Retry {
                    message: format!("body cut short: {}", error_chain(&e)),
                    status: None,
                    wait: None,
                    transport: false,
                })
            }
        };
        if status.is_success() {
            return match parse(body) {
                Ok(v) => Ok(Attempt::Done(v, headers)),
                Err(e) => Ok(Attempt::Retry {
                    message: format!("invalid JSON: {e}"),
                    status: None,
                    wait: None,
                    transport: false,
                }),
            };
        }
        let message = error_message(&body);
        match status {
            StatusCode::UNAUTHORIZED => Err(SourceError::Unauthorized {
                url: url.into(),
                status: status.as_u16(),
                message,
            }),
            StatusCode::FORBIDDEN => Err(SourceError::Forbidden {
                url: url.into(),
                status: status.as_u16(),
                message,
            }),
            StatusCode::TOO_MANY_REQUESTS => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                Ok(Attempt::Retry {
                    message,
                    status: Some(status.as_u16()),
                    wait: retry_after,
                    transport: false,
                })
            }
            s if s.is_server_error() => Ok(Attempt::Retry {
                message,
                status: Some(s.as_u16()),
                wait: None,
                transport: false,
            }),
            s => Err(SourceError::Status {
                url: url.into(),
                status: s.as_u16(),
                attempts: 1,
                message,
            }),
        }
    }
}

fn value(body: bytes::Bytes) -> Result<Value, String> {
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The `message` of a JSON error body (whatever its shape), or the start of a non-JSON one.
fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        for k in ["message", "error", "status"] {
            if let Some(m) = v.get(k).and_then(Value::as_str) {
                return m.to_string();
            }
        }
        return cut(&v.to_string(), 200);
    }
    cut(String::from_utf8_lossy(body).trim(), 200)
}

fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The error and its causes on one line (reqwest hides the useful part in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
