//! Directory Insights: `POST /events` and `POST /events/count`. In comes the JSON query
//! body (service, start/end time, limit, sort, search_after, search_term, fields, skip); out
//! goes a bare array of events with `X-Result-Count`, `X-Limit`, `X-Sort`, `X-Request-Id` and
//! an opaque `X-Search_after` cursor that changes on every call and is only valid for the
//! query it came from.

use std::sync::atomic::Ordering;

use base64::Engine;
use chrono::{DateTime, Utc};
use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::data::{StoredEvent, Tenant, SERVICES};
use crate::http::{error, json_response, Body, Family};
use crate::state::{Caller, SimState};

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

/// Fields a `fields` projection may name (common ones and each service's own).
const KNOWN_FIELDS: &[&str] = &[
    "id",
    "timestamp",
    "service",
    "event_type",
    "organization",
    "client_ip",
    "success",
    "initiated_by",
    "geoip",
    "useragent",
    "@version",
    "provider",
    "resource",
    "changes",
    "auth_method",
    "mfa",
    "application",
    "sso_type",
    "idp_initiated",
    "auth_context",
    "auth_type",
    "nas_mfa_state",
    "mfa_meta",
    "eap_type",
    "system",
    "process_name",
    "username",
    "message",
    "dn",
    "operation_type",
    "error_code",
    "command_type",
    "command_status",
    "profiles",
    "item",
    "software",
    "bucket",
    "object_key",
    "alert",
    "request",
    "app",
];

/// A position in the merged event order of the orgs of one query.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Pos {
    ts_ms: i64,
    org: usize,
    seq: u64,
}

struct Query {
    services: Option<Vec<String>>,
    start_ms: i64,
    end_ms: i64,
    limit: usize,
    desc: bool,
    after: Option<Pos>,
    search_term: Option<Value>,
    fields: Option<Vec<String>>,
    skip: usize,
    fingerprint: u32,
}

fn bad(m: impl AsRef<str>) -> Response<Body> {
    error(Family::Insights, StatusCode::BAD_REQUEST, m.as_ref())
}

fn parse_time(v: &Value, name: &str) -> Result<DateTime<Utc>, Response<Body>> {
    let s = v
        .as_str()
        .ok_or_else(|| bad(format!("{name} must be an RFC 3339 string")))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(format!("invalid {name}: {s:?} is not RFC 3339")))
}

fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn encode_cursor(pos: Pos, fingerprint: u32, nonce: u64) -> Value {
    let raw = format!(
        "{:x}.{:x}.{:x}.{:x}",
        pos.org,
        pos.seq ^ 0x5bd1_e995,
        fingerprint,
        nonce
    );
    json!([
        pos.ts_ms,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    ])
}

fn decode_cursor(v: &Value, fingerprint: u32) -> Result<Pos, Response<Body>> {
    let invalid = || {
        bad("invalid search_after: pass the X-Search_after header of the previous page of the same query")
    };
    let arr = v.as_array().filter(|a| a.len() == 2).ok_or_else(invalid)?;
    let ts_ms = arr[0].as_i64().ok_or_else(invalid)?;
    let raw = arr[1]
        .as_str()
        .and_then(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let parts: Vec<u64> = raw
        .split('.')
        .filter_map(|p| u64::from_str_radix(p, 16).ok())
        .collect();
    match parts.as_slice() {
        [org, seq, fp, _nonce] if *fp as u32 == fingerprint => Ok(Pos {
            ts_ms,
            org: *org as usize,
            seq: seq ^ 0x5bd1_e995,
        }),
        _ => Err(invalid()),
    }
}

fn parse(body: &[u8], orgs: &[usize], now: DateTime<Utc>) -> Result<Query, Response<Body>> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("malformed JSON body: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the request body must be a JSON object"))?;
    let services = match obj.get("service") {
        None | Some(Value::Null) => return Err(bad("service is required")),
        Some(Value::Array(a)) if !a.is_empty() => {
            let names: Vec<String> = a
                .iter()
                .map(|s| s.as_str().unwrap_or("").to_lowercase())
                .collect();
            if let Some(unknown) = names
                .iter()
                .find(|n| n.as_str() != "all" && !SERVICES.contains(&n.as_str()))
            {
                return Err(bad(format!(
                    "invalid service {unknown:?}; valid services: all, {}",
                    SERVICES.join(", ")
                )));
            }
            if names.iter().any(|n| n == "all") {
                None
            } else {
                Some(names)
            }
        }
        Some(_) => {
            return Err(bad(format!(
                "service must be a non-empty array; valid services: all, {}",
                SERVICES.join(", ")
            )))
        }
    };
    let start = parse_time(
        obj.get("start_time")
            .ok_or_else(|| bad("start_time is required"))?,
        "start_time",
    )?;
    if start > now {
        return Err(bad("start_time is in the future"));
    }
    let end = match obj.get("end_time") {
        None | Some(Value::Null) => None,
        Some(e) => {
            let e = parse_time(e, "end_time")?;
            if e <= start {
                return Err(bad("end_time must be after start_time"));
            }
            Some(e)
        }
    };
    // A nonsensical limit silently means the default.
    let limit = match obj.get("limit") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|&n| (1..=MAX_LIMIT as u64).contains(&n))
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_LIMIT),
        _ => DEFAULT_LIMIT,
    };
    let desc = obj
        .get("sort")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("desc"));
    let fields = match obj.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let f: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            if !f
                .iter()
                .any(|x| KNOWN_FIELDS.contains(&x.split('.').next().unwrap_or("")))
            {
                return Err(bad("fields must name at least one known field"));
            }
            Some(f)
        }
        Some(_) => return Err(bad("fields must be an array")),
    };
    let skip = obj.get("skip").and_then(Value::as_u64).unwrap_or(0) as usize;
    let search_term = obj.get("search_term").filter(|s| !s.is_null()).cloned();
    let canonical = format!(
        "{orgs:?}|{services:?}|{}|{:?}|{desc}|{}",
        start.timestamp_millis(),
        end.map(|e| e.timestamp_millis()),
        search_term
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    );
    let fingerprint = fnv(&canonical);
    let after = match obj.get("search_after") {
        None | Some(Value::Null) => None,
        Some(c) => Some(decode_cursor(c, fingerprint)?),
    };
    Ok(Query {
        services,
        start_ms: start.timestamp_millis(),
        end_ms: end.map(|e| e.timestamp_millis()).unwrap_or(i64::MAX),
        limit,
        desc,
        after,
        search_term,
        fields,
        skip,
        fingerprint,
    })
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.get(p)?;
    }
    Some(cur)
}

fn term_matches(e: &Value, term: &Value) -> bool {
    let Some(obj) = term.as_object() else {
        return true;
    };
    if let Some(Value::Array(all)) = obj.get("and") {
        return all.iter().all(|t| term_matches(e, t));
    }
    if let Some(Value::Array(any)) = obj.get("or") {
        return any.iter().any(|t| term_matches(e, t));
    }
    obj.iter().all(|(k, want)| {
        let got = lookup(e, k);
        let eq = |w: &Value| match (got, w) {
            (Some(Value::String(g)), Value::String(w)) => g.eq_ignore_ascii_case(w),
            (Some(g), w) => g == w,
            (None, _) => false,
        };
        match want {
            Value::Array(ws) => ws.iter().any(eq),
            w => eq(w),
        }
    })
}

fn selected(e: &StoredEvent, q: &Query) -> bool {
    e.ts_ms >= q.start_ms
        && e.ts_ms < q.end_ms
        && q.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == e.service))
        && q.search_term
            .as_ref()
            .is_none_or(|t| term_matches(&e.body, t))
}

/// Up to `n` matching events of one org strictly after (or before, descending) `after`.
fn org_page<'a>(t: &'a Tenant, org: usize, q: &Query, n: usize) -> Vec<(Pos, &'a StoredEvent)> {
    let pos = |e: &StoredEvent| Pos {
        ts_ms: e.ts_ms,
        org,
        seq: e.seq,
    };
    let ev = &t.events;
    let mut out = Vec::new();
    if !q.desc {
        let from = match q.after {
            Some(a) => ev.partition_point(|e| pos(e) <= a),
            None => ev.partition_point(|e| e.ts_ms < q.start_ms),
        };
        for e in &ev[from..] {
            if e.ts_ms >= q.end_ms || out.len() >= n {
                break;
            }
            if selected(e, q) {
                out.push((pos(e), e));
            }
        }
    } else {
        let to = match q.after {
            Some(a) => ev.partition_point(|e| pos(e) < a),
            None => ev.partition_point(|e| e.ts_ms < q.end_ms),
        };
        for e in ev[..to].iter().rev() {
            if e.ts_ms < q.start_ms || out.len() >= n {
                break;
            }
            if selected(e, q) {
                out.push((pos(e), e));
            }
        }
    }
    out
}

fn project(e: &Value, fields: &Option<Vec<String>>) -> Value {
    let Some(fields) = fields else {
        return e.clone();
    };
    let mut out = Map::new();
    for f in fields {
        let root = f.split('.').next().unwrap_or("");
        if let Some(v) = e.get(root) {
            out.insert(root.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

pub(super) fn handle(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    body: &[u8],
) -> Response<Body> {
    let fam = Family::Insights;
    let route = rest.trim_end_matches('/');
    if route != "events" && route != "events/count" {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    }
    if method != Method::POST {
        return error(fam, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let q = match parse(
        body,
        &caller.orgs,
        Utc::now().max(state.config.now.unwrap_or_else(Utc::now)),
    ) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let tenants = state.view();
    if route == "events/count" {
        let count: usize = caller
            .orgs
            .iter()
            .filter_map(|&o| tenants.get(o))
            .map(|t| t.events.iter().filter(|e| selected(e, &q)).count())
            .sum();
        return json_response(StatusCode::OK, &json!({"count": count}));
    }
    let want = q.skip + q.limit;
    let mut merged: Vec<(Pos, &StoredEvent)> = caller
        .orgs
        .iter()
        .filter_map(|&o| tenants.get(o).map(|t| org_page(t, o, &q, want)))
        .flatten()
        .collect();
    merged.sort_by_key(|(p, _)| *p);
    if q.desc {
        merged.reverse();
    }
    let page: Vec<(Pos, &StoredEvent)> = merged.into_iter().skip(q.skip).take(q.limit).collect();
    let last = page.last().map(|(p, _)| *p).or(q.after).unwrap_or(Pos {
        ts_ms: if q.desc {
            q.end_ms.min(Utc::now().timestamp_millis())
        } else {
            q.start_ms
        },
        org: caller.orgs.first().copied().unwrap_or(0),
        seq: 0,
    });
    let events: Vec<Value> = page
        .iter()
        .map(|(_, e)| project(&e.body, &q.fields))
        .collect();
    let nonce = state.query_nonce.fetch_add(1, Ordering::Relaxed);
    let mut r = json_response(StatusCode::OK, &Value::Array(events));
    let h = r.headers_mut();
    h.insert("x-result-count", HeaderValue::from(page.len()));
    h.insert("x-limit", HeaderValue::from(q.limit));
    h.insert(
        "x-sort",
        HeaderValue::from_static(if q.desc { "DESC" } else { "ASC" }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{:016x}{:08x}",
        nonce.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        q.fingerprint
    )) {
        h.insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&encode_cursor(last, q.fingerprint, nonce).to_string()) {
        h.insert("x-search_after", v);
    }
    r
}
