//! Contract tests of the built-in JumpCloud simulator against the wire facts in
//! `shared/jumpcloud-api.md`: auth (API key, MSP `x-org-id`, OAuth bearer), the v1 envelope,
//! v2 bare arrays and graph routes, Directory Insights cursors and headers, 429s, injected
//! faults, schema drift and mutation, the v2 graph (associations of every pair type,
//! effective-access traversals: `graph`), the further read routes of
//! `shared/jumpcloud-api-extended.md` §3 (`collections`), and the write routes with their
//! lag and applied-then-failed knobs (`writes`). Each test starts its own small
//! simulator in-process and talks to it over real HTTP with reqwest. This file holds the
//! shared helpers; the tests sit in one module per route family.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jclake_sim::{
    self as sim, Drift, Faults, Mutation, OrgSize, SimConfig, SimHandle, DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_FORBIDDEN_KEY, DEFAULT_MSP_KEY, SERVICES,
};
use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};

const USERS: usize = 250;
const EVENTS: usize = 1500;

fn config() -> SimConfig {
    SimConfig {
        size: OrgSize {
            users: USERS,
            systems: 60,
            events: EVENTS,
            ..OrgSize::default()
        },
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

async fn small() -> SimHandle {
    start(config()).await
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn array(&self) -> &Vec<Value> {
        self.body
            .as_array()
            .unwrap_or_else(|| panic!("expected a JSON array, got {}", self.body))
    }

    /// The error-body contract: a JSON object with a non-empty string `message`.
    fn message(&self) -> &str {
        let m = self
            .body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("expected {{\"message\": ...}}, got {}", self.body));
        assert!(!m.is_empty(), "empty error message");
        m
    }
}

async fn send(rb: RequestBuilder) -> Answer {
    let resp = rb.send().await.expect("a response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("a complete body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "status {status}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET base + path` with the plain API key.
async fn get(c: &Client, h: &SimHandle, path: &str) -> Answer {
    send(
        c.get(format!("{}{path}", h.base_url()))
            .header("x-api-key", DEFAULT_API_KEY)
            .header("accept", "application/json"),
    )
    .await
}

/// `POST /insights/directory/v1/<route>` with a JSON body and the plain API key.
async fn insights(c: &Client, h: &SimHandle, route: &str, body: &Value) -> Answer {
    insights_raw(c, h, route, body.to_string()).await
}

async fn insights_raw(c: &Client, h: &SimHandle, route: &str, body: String) -> Answer {
    send(
        c.post(format!("{}/insights/directory/v1/{route}", h.base_url()))
            .header("x-api-key", DEFAULT_API_KEY)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

fn days_ago(d: i64) -> String {
    (Utc::now() - chrono::Duration::days(d)).to_rfc3339()
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {k:?} in {v}"))
}

fn ids_of(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| str_field(v, key).to_string())
        .collect()
}

/// Every user of org 0 via v1 paging with `limit=100`, in list order.
async fn all_users(c: &Client, h: &SimHandle) -> Vec<Value> {
    let mut out = Vec::new();
    let mut total = None;
    for skip in (0..).step_by(100) {
        let a = get(c, h, &format!("/api/systemusers?limit=100&skip={skip}")).await;
        assert_eq!(a.status, StatusCode::OK);
        let t = a.body["totalCount"].as_u64().expect("totalCount");
        assert_eq!(
            *total.get_or_insert(t),
            t,
            "totalCount changed between pages"
        );
        let page = a.body["results"].as_array().expect("results").clone();
        let n = page.len();
        out.extend(page);
        if n < 100 {
            break;
        }
    }
    assert_eq!(out.len() as u64, total.unwrap_or(0));
    out
}

/// Every element of a v2 list route, paged with `limit=100` until a short page.
async fn v2_all(c: &Client, h: &SimHandle, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    for skip in (0..).step_by(100) {
        let a = get(c, h, &format!("{path}{sep}limit=100&skip={skip}")).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        let page = a.array().clone();
        let n = page.len();
        out.extend(page);
        if n < 100 {
            break;
        }
    }
    out
}

fn search_after(a: &Answer) -> Value {
    let raw = a.header("x-search_after").expect("X-Search_after header");
    let v: Value = serde_json::from_str(raw).expect("X-Search_after is JSON");
    let arr = v.as_array().expect("X-Search_after is an array");
    assert_eq!(arr.len(), 2, "X-Search_after {raw}");
    assert!(
        arr[0].is_i64(),
        "X-Search_after[0] is a ms timestamp: {raw}"
    );
    assert!(arr[1].is_string(), "X-Search_after[1] is a string: {raw}");
    v
}

fn header_num(a: &Answer, name: &str) -> usize {
    a.header(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

/// Chains `search_after` until `X-Result-Count < X-Limit`; returns every event and the
/// `X-Search_after` ms of every page.
async fn all_events(c: &Client, h: &SimHandle, mut q: Value) -> (Vec<Value>, Vec<i64>) {
    let mut events = Vec::new();
    let mut cursors_ms = Vec::new();
    for _ in 0..10_000 {
        let a = insights(c, h, "events", &q).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let count = header_num(&a, "x-result-count");
        let limit = header_num(&a, "x-limit");
        assert_eq!(count, a.array().len(), "X-Result-Count is this page's size");
        let cursor = search_after(&a);
        cursors_ms.push(cursor[0].as_i64().unwrap_or_default());
        events.extend(a.array().iter().cloned());
        if count < limit {
            return (events, cursors_ms);
        }
        q["search_after"] = cursor;
    }
    panic!("Directory Insights paging did not end");
}

fn parse_ts(e: &Value) -> DateTime<Utc> {
    let s = str_field(e, "timestamp");
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|_| panic!("timestamp {s:?} is not RFC 3339"))
        .with_timezone(&Utc)
}

mod auth;
mod collections;
mod drift;
mod faults;
mod graph;
mod insights;
mod sysinsights;
mod v1v2;
mod writes;
