//! The simulator's HTTP front: accepts connections, applies the fault knobs (latency, 5xx,
//! connection resets, truncated bodies, 429 bursts), authenticates (API key, MSP key with
//! `x-org-id`, OAuth bearer tokens), enforces the per-key rate limit, and hands the request
//! to the API family it names (`writes` for the write routes, then `v1v2`, `insights`,
//! `sysinsights` for `/api/v2/systeminsights/`). A write (POST/PUT/DELETE under `/api/`)
//! may be carried out and then answered 502 or reset (`applied_then_*` knobs).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::oneshot;

use crate::data::Mutation;
use crate::http::{error, full, json_response, Body, Family};
use crate::state::{lock, read, Caller, Faults, SimState};
use crate::{insights, sysinsights, v1v2, writes};

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
    if req.method() == Method::POST && path.trim_end_matches('/') == "/api/systemusers" {
        lock(&state.stats).user_create_requests += 1;
    }
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
    let resp =
        if let Some(r) = writes::handle(&state, &caller, &faults, &method, &path, &query, &body) {
            r
        } else if let Some(rest) = path.strip_prefix("/insights/directory/v1/") {
            insights::handle(&state, &caller, &method, rest, &body)
        } else if let Some(rest) = path.strip_prefix("/api/v2/systeminsights/") {
            sysinsights::handle(&state, &caller, &method, rest, &query)
        } else if let Some(rest) = path.strip_prefix("/api/v2/") {
            v1v2::handle_v2(&state, &caller, &method, rest, &query)
        } else if let Some(rest) = path.strip_prefix("/api/") {
            v1v2::handle_v1(&state, &caller, &method, rest, &query)
        } else {
            error(family, StatusCode::NOT_FOUND, "Not Found")
        };
    // Whatever the write did stays done; only the answer is lost.
    if writes::is_write(&method) && path.starts_with("/api/") {
        if state.roll(faults.applied_then_502_rate) {
            lock(&state.stats).writes_then_502 += 1;
            let html = lock(&state.rng).bool();
            return Ok(gateway_answer(StatusCode::BAD_GATEWAY, html));
        }
        if state.roll(faults.applied_then_reset_rate) {
            lock(&state.stats).writes_then_reset += 1;
            return Err(Reset);
        }
    }
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
        (Method::GET, "orgs") => json_response(StatusCode::OK, &json!(state.org_ids())),
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
    gateway_answer(status, html)
}

/// A gateway error of `status`: an HTML page or a JSON `message`.
fn gateway_answer(status: StatusCode, html: bool) -> Response<Body> {
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
