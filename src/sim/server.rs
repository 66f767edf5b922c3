//! The simulator's HTTP front: accepts connections, applies the fault knobs (latency, 5xx,
//! connection resets, truncated bodies, 429 bursts), authenticates (API key, MSP key with
//! `x-org-id`, OAuth bearer tokens), enforces the per-key rate limit, and hands the request
//! to the API family it names. It owns the mutable simulator state behind one lock.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::data::{Mutation, MutationReport, Tenant};
use super::{insights, v1v2, SimConfig};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// Fault and realism knobs; every rate is a probability per request in `[0, 1]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Faults {
    /// Requests per minute per key (or bearer token); above it, 429.
    pub rate_limit_rpm: Option<u32>,
    /// Send `Retry-After` on rate-limit 429s (the reference: "when present").
    pub retry_after: bool,
    /// Added to every API response.
    pub latency_ms: u64,
    /// 500/502/503/504, some with an HTML gateway body.
    pub error_rate: f64,
    /// The connection is closed with no response.
    pub reset_rate: f64,
    /// The body stops half-way, short of its `Content-Length`.
    pub truncate_rate: f64,
    /// 429 regardless of the rate limit (bursts of throttling).
    pub throttle_rate: f64,
    /// Every API request from this number on (1-based, counted since start) is reset:
    /// "the connection drops at page N".
    pub reset_from_request: Option<u64>,
}

/// What the simulator has seen, for tests and benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SimStats {
    pub requests: u64,
    pub throttled: u64,
    pub injected_errors: u64,
    pub resets: u64,
    pub truncated: u64,
    pub tokens_issued: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub(super) struct SimState {
    pub config: SimConfig,
    pub tenants: RwLock<Vec<Tenant>>,
    faults: RwLock<Faults>,
    rng: Mutex<fastrand::Rng>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// bearer token → expiry.
    tokens: Mutex<HashMap<String, Instant>>,
    requests: AtomicU64,
    stats: Mutex<SimStats>,
    pub query_nonce: AtomicU64,
}

/// Who a request is from, once authenticated: the tenants (org indices) it may read.
pub(super) struct Caller {
    pub orgs: Vec<usize>,
}

/// The three API families, each with its own error body shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Family {
    V1,
    V2,
    Insights,
}

impl SimState {
    pub fn new(config: SimConfig) -> SimState {
        let now = config.now.unwrap_or_else(Utc::now);
        let tenants = (0..config.orgs.max(1))
            .map(|i| Tenant::generate(i, config.seed, &config.size, config.drift.clone(), now))
            .collect();
        SimState {
            faults: RwLock::new(config.faults.clone()),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed.wrapping_add(7))),
            tenants: RwLock::new(tenants),
            buckets: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            stats: Mutex::new(SimStats::default()),
            query_nonce: AtomicU64::new(1),
            config,
        }
    }

    pub fn org_ids(&self) -> Vec<String> {
        read(&self.tenants)
            .iter()
            .map(|t| t.org_id.clone())
            .collect()
    }

    pub fn ids(&self, org: usize, collection: &str) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.collections.get(collection))
            .map(|c| c.iter().map(|v| super::id_of(v).to_string()).collect())
            .unwrap_or_default()
    }

    pub fn records(&self, org: usize, collection: &str) -> Vec<Value> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.collections.get(collection))
            .cloned()
            .unwrap_or_default()
    }

    pub fn event_ids(&self, org: usize) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .map(|t| {
                t.events
                    .iter()
                    .filter_map(|e| e.body.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn members(&self, org: usize, group_id: &str) -> Vec<(String, String)> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.members.get(group_id))
            .map(|m| {
                m.iter()
                    .map(|(k, id)| (k.to_string(), id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn associations(
        &self,
        org: usize,
        kind: &'static str,
        id: &str,
        target: &str,
    ) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .map(|t| {
                t.associations(kind, id, target)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn mutate(&self, org: usize, m: &Mutation) -> MutationReport {
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        match tenants.get_mut(org) {
            Some(t) => t.mutate(m, Utc::now()),
            None => MutationReport::default(),
        }
    }

    pub fn set_faults(&self, f: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub fn stats(&self) -> SimStats {
        let mut s = lock(&self.stats).clone();
        s.requests = self.requests.load(Ordering::Relaxed);
        s
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0 && lock(&self.rng).f64() < p
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    fn take_token(&self, key: &str, rpm: u32) -> Result<(), Duration> {
        let rate = rpm.max(1) as f64 / 60.0;
        let burst = rate.max(1.0);
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections until `stop` fires.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<SimState>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { handle(state, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .title_case_headers(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

/// An injected connection reset: returning it from the service makes hyper drop the
/// connection without an answer.
#[derive(Debug)]
pub(super) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for Reset {}

async fn handle(state: Arc<SimState>, req: Request<Incoming>) -> Result<Response<Body>, Reset> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_sim/") {
        return Ok(control(&state, rest, req).await);
    }
    let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let faults = read(&state.faults).clone();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.reset_from_request.is_some_and(|from| n >= from) || state.roll(faults.reset_rate) {
        lock(&state.stats).resets += 1;
        return Err(Reset);
    }
    if state.roll(faults.error_rate) {
        lock(&state.stats).injected_errors += 1;
        return Ok(gateway_error(&state));
    }
    let family = if path.starts_with("/api/v2/") {
        Family::V2
    } else if path.starts_with("/api/") {
        Family::V1
    } else {
        Family::Insights
    };
    if path == "/oauth2/token" {
        return Ok(token(&state, req).await);
    }

    let caller = match authenticate(&state, &req, family, &path) {
        Ok(c) => c,
        Err(resp) => return Ok(resp),
    };
    if state.roll(faults.throttle_rate) {
        lock(&state.stats).throttled += 1;
        return Ok(too_many(
            family,
            faults.retry_after.then_some(Duration::from_secs(1)),
        ));
    }
    if let Some(rpm) = faults.rate_limit_rpm {
        let key = rate_key(&req);
        if let Err(wait) = state.take_token(&key, rpm) {
            lock(&state.stats).throttled += 1;
            return Ok(too_many(family, faults.retry_after.then_some(wait)));
        }
    }

    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(Reset),
    };
    let resp = if let Some(rest) = path.strip_prefix("/insights/directory/v1/") {
        insights::handle(&state, &caller, &method, rest, &body)
    } else if let Some(rest) = path.strip_prefix("/api/v2/") {
        v1v2::handle_v2(&state, &caller, &method, rest, &query)
    } else if let Some(rest) = path.strip_prefix("/api/") {
        v1v2::handle_v1(&state, &caller, &method, rest, &query)
    } else {
        error(family, StatusCode::NOT_FOUND, "Not Found")
    };
    if state.roll(faults.truncate_rate) {
        lock(&state.stats).truncated += 1;
        return Ok(truncate(resp).await);
    }
    Ok(resp)
}

fn rate_key(req: &Request<Incoming>) -> String {
    let h = req.headers();
    h.get("x-api-key")
        .or_else(|| h.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn authenticate(
    state: &SimState,
    req: &Request<Incoming>,
    family: Family,
    path: &str,
) -> Result<Caller, Response<Body>> {
    let h = req.headers();
    let cfg = &state.config;
    let n_orgs = read(&state.tenants).len();
    if let Some(auth) = h.get("authorization").and_then(|v| v.to_str().ok()) {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "));
        let valid = token.is_some_and(|t| {
            lock(&state.tokens)
                .get(t)
                .is_some_and(|exp| *exp > Instant::now())
        });
        if valid {
            return Ok(Caller { orgs: vec![0] });
        }
        if h.get("x-api-key").is_none() {
            return Err(error(
                family,
                StatusCode::UNAUTHORIZED,
                "Unauthorized: invalid or expired token",
            ));
        }
    }
    let key = h
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.is_empty() {
        return Err(error(family, StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    if key == cfg.forbidden_key {
        return Err(error(
            family,
            StatusCode::FORBIDDEN,
            "Forbidden: API access is not enabled for this administrator",
        ));
    }
    if key == cfg.api_key {
        return Ok(Caller { orgs: vec![0] });
    }
    if key != cfg.msp_key {
        return Err(error(family, StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    // A multi-tenant key: x-org-id picks the org; Directory Insights accepts several.
    let org_headers: Vec<&str> = h
        .get_all("x-org-id")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if org_headers.is_empty() {
        return Err(error(
            family,
            StatusCode::UNAUTHORIZED,
            "Unauthorized: x-org-id is required for a multi-tenant administrator",
        ));
    }
    if org_headers.len() > 1 && !path.starts_with("/insights/") {
        return Err(error(
            family,
            StatusCode::BAD_REQUEST,
            "Bad Request: one x-org-id header expected",
        ));
    }
    let ids = state.org_ids();
    let mut orgs = Vec::new();
    for o in org_headers {
        if o.len() != 24 || !o.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(error(
                family,
                StatusCode::BAD_REQUEST,
                "Bad Request: malformed x-org-id",
            ));
        }
        match ids.iter().position(|i| i == o) {
            Some(i) if i < n_orgs => orgs.push(i),
            _ => {
                return Err(error(
                    family,
                    StatusCode::NOT_FOUND,
                    "Not Found: organization",
                ))
            }
        }
    }
    Ok(Caller { orgs })
}

/// `POST /oauth2/token`: client credentials in HTTP Basic auth, form body
/// `grant_type=client_credentials&scope=api`.
async fn token(state: &SimState, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "invalid_request"}),
        );
    }
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let form = String::from_utf8_lossy(&body).to_string();
    let grant_ok = form
        .split('&')
        .any(|kv| kv == "grant_type=client_credentials");
    if !grant_ok {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}),
        );
    }
    let cfg = &state.config;
    let expected = format!("{}:{}", cfg.client_id, cfg.client_secret);
    if basic.as_deref() != Some(expected.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        );
    }
    let n = state.query_nonce.fetch_add(1, Ordering::Relaxed);
    let token = format!("simtok.{:016x}.{:08x}", lock(&state.rng).u64(..), n);
    lock(&state.tokens).insert(token.clone(), Instant::now() + cfg.token_ttl);
    lock(&state.stats).tokens_issued += 1;
    json_response(
        StatusCode::OK,
        &json!({"access_token": token, "token_type": "bearer", "expires_in": cfg.token_ttl.as_secs(), "scope": "api"}),
    )
}

async fn control(state: &SimState, rest: &str, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let org = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("org="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    match (method, rest) {
        (Method::GET, "stats") => json_response(StatusCode::OK, &json!(state.stats())),
        (Method::POST, "mutate") => match serde_json::from_slice::<Mutation>(&body) {
            Ok(m) => json_response(StatusCode::OK, &json!(state.mutate(org, &m))),
            Err(e) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"message": format!("bad mutation: {e}")}),
            ),
        },
        (Method::POST, "faults") => match serde_json::from_slice::<Faults>(&body) {
            Ok(f) => {
                state.set_faults(f);
                json_response(StatusCode::OK, &json!({"ok": true}))
            }
            Err(e) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"message": format!("bad faults: {e}")}),
            ),
        },
        _ => json_response(StatusCode::NOT_FOUND, &json!({"message": "Not Found"})),
    }
}

pub(super) fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

pub(super) fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes_response(status, bytes)
}

pub(super) fn bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The error body of each family (the reference: "shape varies by route: never assume one").
pub(super) fn error(family: Family, status: StatusCode, message: &str) -> Response<Body> {
    let body = match family {
        Family::V1 => json!({"message": message}),
        Family::V2 => {
            json!({"message": message, "error": status.canonical_reason().unwrap_or("error")})
        }
        Family::Insights => {
            json!({"code": status.as_u16(), "message": message, "status": status.canonical_reason().unwrap_or("error")})
        }
    };
    json_response(status, &body)
}

fn too_many(family: Family, retry_after: Option<Duration>) -> Response<Body> {
    let mut r = error(family, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if let Some(wait) = retry_after {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
    }
    r
}

fn gateway_error(state: &SimState) -> Response<Body> {
    let statuses = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ];
    let (status, html) = {
        let mut rng = lock(&state.rng);
        (statuses[rng.usize(..statuses.len())], rng.bool())
    };
    if html {
        // Gateways answer with HTML.
        let body = format!(
            "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>",
            status
        );
        let mut r = Response::new(full(body));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        r
    } else {
        json_response(
            status,
            &json!({"message": status.canonical_reason().unwrap_or("error")}),
        )
    }
}

/// Sends the headers and half the body, then breaks the connection.
async fn truncate(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len().max(1)));
    // hyper drops a connection whose body fails without flushing what it buffered, so the
    // error comes only after a pause in which the headers and the half are written out.
    // State: the half still to send, then the error, then the end.
    let stream = futures::stream::unfold(Some(Some(half)), |state| async move {
        match state? {
            Some(h) => Some((Ok(Frame::data(h)), Some(None))),
            None => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let e =
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected truncation");
                Some((Err(e), None))
            }
        }
    });
    Response::from_parts(parts, StreamBody::new(stream).boxed())
}
