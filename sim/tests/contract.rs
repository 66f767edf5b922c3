//! Contract tests of the built-in JumpCloud simulator against the wire facts in
//! `shared/jumpcloud-api.md`: auth (API key, MSP `x-org-id`, OAuth bearer), the v1 envelope,
//! v2 bare arrays and graph routes, Directory Insights cursors and headers, 429s, injected
//! faults, schema drift and mutation. Each test starts its own small simulator in-process and
//! talks to it over real HTTP with reqwest.

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

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn auth_missing_wrong_and_forbidden_keys() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers", h.base_url());

    let a = send(c.get(&url)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = send(c.get(&url).header("x-api-key", "not-a-key")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = send(c.get(&url).header("x-api-key", DEFAULT_FORBIDDEN_KEY)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    a.message();

    // The same rules hold on v2 and Directory Insights.
    let a = send(c.get(format!("{}/api/v2/usergroups", h.base_url()))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();
    let a = send(
        c.post(format!("{}/insights/directory/v1/events", h.base_url()))
            .header("x-api-key", DEFAULT_FORBIDDEN_KEY)
            .body(json!({"service": ["all"], "start_time": days_ago(1)}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    a.message();

    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn auth_msp_key_needs_a_valid_org_id() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=100", h.base_url());
    let orgs = h.org_ids();
    assert_eq!(orgs.len(), 2);
    let msp = |org: Option<&str>| {
        let rb = c.get(&url).header("x-api-key", DEFAULT_MSP_KEY);
        match org {
            Some(o) => rb.header("x-org-id", o.to_string()),
            None => rb,
        }
    };

    let a = send(msp(None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    for malformed in ["xyz", "0123456789abcdef0123456", "0123456789abcdef0123456g"] {
        let a = send(msp(Some(malformed))).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "x-org-id {malformed:?}");
        a.message();
    }

    let unknown = "0123456789abcdef01234567";
    assert!(!orgs.iter().any(|o| o == unknown));
    let a = send(msp(Some(unknown))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();

    let a0 = send(msp(Some(&orgs[0]))).await;
    let a1 = send(msp(Some(&orgs[1]))).await;
    assert_eq!(a0.status, StatusCode::OK);
    assert_eq!(a1.status, StatusCode::OK);
    let ids0 = ids_of(a0.body["results"].as_array().expect("results"), "_id");
    let ids1 = ids_of(a1.body["results"].as_array().expect("results"), "_id");
    assert_eq!(ids0, h.ids(0, "systemusers")[..100].to_vec());
    assert_eq!(ids1, h.ids(1, "systemusers")[..100].to_vec());
    let s0: HashSet<_> = ids0.iter().collect();
    assert!(ids1.iter().all(|i| !s0.contains(i)), "orgs share users");
    assert_eq!(
        str_field(&a1.body["results"][0], "organization"),
        orgs[1],
        "org 1's users belong to org 1"
    );
}

#[tokio::test]
async fn auth_plain_key_ignores_org_id() {
    let h = small().await;
    let c = client();
    let orgs = h.org_ids();
    for org in [orgs[1].as_str(), "garbage", "0123456789abcdef01234567"] {
        let a = send(
            c.get(format!("{}/api/systemusers?limit=5", h.base_url()))
                .header("x-api-key", DEFAULT_API_KEY)
                .header("x-org-id", org),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "x-org-id {org:?}");
        let ids = ids_of(a.body["results"].as_array().expect("results"), "_id");
        assert_eq!(ids, h.ids(0, "systemusers")[..5].to_vec());
    }
}

// ---------------------------------------------------------------- OAuth

async fn token(c: &Client, h: &SimHandle, secret: &str) -> Answer {
    send(
        c.post(format!("{}/oauth2/token", h.base_url()))
            .basic_auth(DEFAULT_CLIENT_ID, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=api"),
    )
    .await
}

async fn with_bearer(c: &Client, h: &SimHandle, token: &str) -> Answer {
    send(
        c.get(format!("{}/api/systemusers?limit=3", h.base_url()))
            .bearer_auth(token),
    )
    .await
}

#[tokio::test]
async fn oauth_client_credentials() {
    let h = small().await;
    let c = client();
    let a = token(&c, &h, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(a.status, StatusCode::OK);
    let tok = str_field(&a.body, "access_token").to_string();
    assert!(!tok.is_empty());
    assert_eq!(a.body["token_type"], "bearer");
    assert_eq!(a.body["expires_in"], 3600, "default lifetime is an hour");

    let a = with_bearer(&c, &h, &tok).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(3));

    let a = with_bearer(&c, &h, "simtok.not-issued").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = token(&c, &h, "wrong-secret").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.get("access_token").is_none());
    assert_eq!(h.stats().tokens_issued, 1);
}

#[tokio::test]
async fn oauth_token_expires() {
    let h = start(SimConfig {
        token_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let c = client();
    let a = token(&c, &h, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["expires_in"], 1);
    let tok = str_field(&a.body, "access_token").to_string();
    assert_eq!(with_bearer(&c, &h, &tok).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let a = with_bearer(&c, &h, &tok).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();
}

// ---------------------------------------------------------------- v1

#[tokio::test]
async fn v1_envelope_limits_and_skip() {
    let h = small().await;
    let c = client();
    let ids = h.ids(0, "systemusers");
    assert_eq!(ids.len(), USERS);

    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.status, StatusCode::OK);
    let obj = a.body.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["results", "totalCount"]);
    assert_eq!(a.body["totalCount"], USERS);
    let page = a.body["results"].as_array().expect("results");
    assert_eq!(page.len(), 10, "default limit is 10");
    assert_eq!(ids_of(page, "_id"), ids[..10].to_vec());
    // `id` mirrors `_id`, and ids are 24 hex characters.
    for u in page {
        assert_eq!(u["id"], u["_id"]);
        let id = str_field(u, "_id");
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    let a = get(&c, &h, "/api/systemusers?limit=100&skip=200").await;
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(50));

    let a = get(&c, &h, "/api/systemusers?limit=101").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    a.message();

    let a = get(&c, &h, "/api/systemusers?limit=10&skip=10000").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"], json!([]));
}

#[tokio::test]
async fn v1_paging_yields_every_user_once() {
    let h = small().await;
    let c = client();
    let users = all_users(&c, &h).await;
    let got = ids_of(&users, "_id");
    assert_eq!(got, h.ids(0, "systemusers"));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), USERS);
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "the default list order is `_id` order"
    );
    // Sorting by `_id` explicitly (JumpCloud's advice) gives the same order.
    let a = get(&c, &h, "/api/systemusers?limit=100&skip=100&sort=_id").await;
    assert_eq!(
        ids_of(a.body["results"].as_array().expect("results"), "_id"),
        got[100..200].to_vec()
    );
}

#[tokio::test]
async fn v1_sort_fields_and_filter() {
    let h = small().await;
    let c = client();

    let a = get(&c, &h, "/api/systemusers?limit=100&sort=-created").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    let page = a.body["results"].as_array().expect("results");
    assert_eq!(page.len(), 100);
    let created: Vec<&str> = page.iter().map(|u| str_field(u, "created")).collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "sort=-created is descending"
    );
    // The newest user first.
    let users = all_users(&c, &h).await;
    let newest = users
        .iter()
        .map(|u| str_field(u, "created"))
        .max()
        .expect("users");
    assert_eq!(created[0], newest);

    let a = get(&c, &h, "/api/systemusers?limit=5&fields=username%20email").await;
    for u in a.body["results"].as_array().expect("results") {
        let mut keys: Vec<&str> = u
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["_id", "email", "username"]);
    }

    let target = &users[137];
    let name = str_field(target, "username");
    for op in ["$eq", "eq"] {
        let a = get(
            &c,
            &h,
            &format!("/api/systemusers?filter=username:{op}:{name}"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "filter op {op}");
        assert_eq!(a.body["totalCount"], 1, "filter op {op}");
        assert_eq!(a.body["results"], json!([target]), "filter op {op}");
    }
    let a = get(&c, &h, "/api/systemusers?filter=username:$eq:nobody.at.all").await;
    assert_eq!(a.body["totalCount"], 0);
    assert_eq!(a.body["results"], json!([]));
}

#[tokio::test]
async fn v1_single_object_and_unknown_routes() {
    let h = small().await;
    let c = client();
    let users = all_users(&c, &h).await;
    let id = str_field(&users[42], "_id");
    let a = get(&c, &h, &format!("/api/systemusers/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, users[42]);

    let a = get(&c, &h, "/api/systemusers/0123456789abcdef01234567").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();

    for path in [
        "/api/nosuchthing",
        "/api/v2/nosuchthing",
        "/nowhere/at/all",
        "/insights/directory/v1/nothing",
    ] {
        let a = get(&c, &h, path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        a.message();
    }

    // The other v1 collections answer in the same envelope.
    for (route, n) in [("systems", 60), ("organizations", 1)] {
        let a = get(&c, &h, &format!("/api/{route}?limit=100")).await;
        assert_eq!(a.body["totalCount"], n, "{route}");
        assert_eq!(
            ids_of(a.body["results"].as_array().expect("results"), "_id"),
            h.ids(0, route),
            "{route}"
        );
    }
}

// ---------------------------------------------------------------- v2

#[tokio::test]
async fn v2_bare_arrays_and_limits() {
    let h = small().await;
    let c = client();
    let groups = h.ids(0, "usergroups");
    assert_eq!(groups.len(), 20);

    let a = get(&c, &h, "/api/v2/usergroups").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.array().len(), 10, "default limit is 10");
    assert_eq!(ids_of(a.array(), "id"), groups[..10].to_vec());

    let a = get(&c, &h, "/api/v2/usergroups?limit=100").await;
    assert_eq!(
        ids_of(a.array(), "id"),
        groups,
        "a short page ends the list"
    );
    for g in a.array() {
        assert_eq!(g["type"], "user_group");
    }

    let a = get(&c, &h, "/api/v2/usergroups?limit=10&skip=15").await;
    assert_eq!(ids_of(a.array(), "id"), groups[15..].to_vec());

    let a = get(&c, &h, "/api/v2/usergroups?limit=10&skip=500").await;
    assert_eq!(a.body, json!([]));

    let a = get(&c, &h, "/api/v2/usergroups?limit=101").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    a.message();

    for route in ["systemgroups", "policies", "directories"] {
        let got = ids_of(&v2_all(&c, &h, &format!("/api/v2/{route}")).await, "id");
        assert_eq!(got, h.ids(0, route), "{route}");
    }

    // The reference's own example form (`+` for a space), and several filters ANDed.
    for q in [
        "filter=name:eq:Team%203",
        "filter=name:eq:Team+3",
        "filter=name:eq:Team+3&filter=type:eq:user_group",
    ] {
        let a = get(&c, &h, &format!("/api/v2/usergroups?{q}")).await;
        assert_eq!(ids_of(a.array(), "id"), vec![groups[3].clone()], "{q}");
    }
    let a = get(
        &c,
        &h,
        "/api/v2/usergroups?filter=name:eq:Team+3&filter=type:eq:system_group",
    )
    .await;
    assert_eq!(a.body, json!([]), "filters are ANDed");
    let a = get(&c, &h, "/api/v2/usergroups?filter=name:eq:team+3").await;
    assert_eq!(a.body, json!([]), "values are case sensitive");
}

#[tokio::test]
async fn v2_members_and_nested_membership() {
    let h = small().await;
    let c = client();
    let users: HashSet<String> = h.ids(0, "systemusers").into_iter().collect();
    let groups = h.ids(0, "usergroups");
    let group_set: HashSet<&String> = groups.iter().collect();

    let mut direct_users: Vec<HashSet<String>> = Vec::new();
    let mut nested: Vec<(usize, String)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let members = v2_all(&c, &h, &format!("/api/v2/usergroups/{g}/members")).await;
        let mut mine = HashSet::new();
        for m in &members {
            let obj = m.as_object().expect("connection object");
            assert_eq!(obj.len(), 2, "connection keys: {m}");
            assert!(m["attributes"].is_null() || m["attributes"].is_object());
            let to = m["to"].as_object().expect("to");
            assert_eq!(to.len(), 3, "to keys: {m}");
            assert!(to.contains_key("attributes"));
            let id = str_field(&m["to"], "id").to_string();
            match str_field(&m["to"], "type") {
                "user" => {
                    assert!(users.contains(&id), "member {id} is no user");
                    mine.insert(id);
                }
                "user_group" => {
                    assert!(group_set.contains(&id), "member {id} is no group");
                    nested.push((gi, id));
                }
                other => panic!("unexpected member type {other}"),
            }
        }
        direct_users.push(mine);
    }
    assert!(
        !nested.is_empty(),
        "the default org nests at least one group"
    );

    for (gi, inner) in &nested {
        let inner_i = groups.iter().position(|g| g == inner).expect("inner group");
        let resolved = v2_all(
            &c,
            &h,
            &format!("/api/v2/usergroups/{}/membership", groups[*gi]),
        )
        .await;
        let mut got = HashSet::new();
        for r in &resolved {
            assert_eq!(r["type"], "user");
            let paths = r["paths"].as_array().expect("paths");
            assert!(!paths.is_empty());
            for p in paths {
                let last = p.as_array().and_then(|p| p.last()).expect("a path");
                assert_eq!(last["to"]["id"], r["id"], "a path ends at the member");
            }
            got.insert(str_field(r, "id").to_string());
        }
        assert!(
            direct_users[*gi].is_subset(&got),
            "membership keeps the direct members"
        );
        assert!(
            direct_users[inner_i].is_subset(&got),
            "membership of group {gi} resolves the nested group {inner_i}"
        );
        // Users reached only through the nested group have a two-step path.
        if let Some(via) = direct_users[inner_i].difference(&direct_users[*gi]).next() {
            let r = resolved
                .iter()
                .find(|r| r["id"] == via.as_str())
                .expect("r");
            let p = r["paths"][0].as_array().expect("path");
            assert!(p.len() >= 2, "{r}");
        }
    }
}

#[tokio::test]
async fn v2_associations() {
    let h = small().await;
    let c = client();
    let systems: HashSet<String> = h.ids(0, "systems").into_iter().collect();
    let mut seen = 0;
    for uid in h.ids(0, "systemusers").iter().take(40) {
        let a = get(
            &c,
            &h,
            &format!("/api/v2/users/{uid}/associations?targets=system"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        for conn in a.array() {
            assert_eq!(conn["to"]["type"], "system");
            let sid = str_field(&conn["to"], "id");
            assert!(systems.contains(sid), "associated system {sid} exists");
            seen += 1;
        }
    }
    assert!(seen > 0, "some users are bound to systems");

    let uid = &h.ids(0, "systemusers")[0];
    let a = get(&c, &h, &format!("/api/v2/users/{uid}/associations")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "targets is required");
    a.message();

    let a = get(
        &c,
        &h,
        "/api/v2/users/0123456789abcdef01234567/associations?targets=system",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();
}

// ---------------------------------------------------------------- Directory Insights

#[tokio::test]
async fn insights_headers_and_cursor() {
    let h = small().await;
    let c = client();
    let q = json!({"service": ["all"], "start_time": days_ago(30)});
    let a = insights(&c, &h, "events", &q).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(header_num(&a, "x-result-count"), 1000);
    assert_eq!(header_num(&a, "x-limit"), 1000, "default limit");
    assert_eq!(a.header("x-sort"), Some("ASC"));
    assert!(!a.header("x-request-id").unwrap_or("").is_empty());
    let c1 = search_after(&a);
    let last = a.array().last().expect("events");
    // The cursor's ms is the last event's time; its opaque part is not the event id.
    if str_field(last, "timestamp").contains('.') {
        assert_eq!(c1[0].as_i64(), Some(parse_ts(last).timestamp_millis()));
    } else {
        // A timestamp written with no fraction has lost its ms; compare seconds.
        assert_eq!(
            c1[0].as_i64().map(|m| m.div_euclid(1000)),
            Some(parse_ts(last).timestamp())
        );
    }
    assert_ne!(c1[1], last["id"]);

    // The same call again: same events, different cursor and request id.
    let b = insights(&c, &h, "events", &q).await;
    assert_eq!(a.body, b.body);
    assert_ne!(search_after(&b), c1, "the cursor changes on every call");
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));

    // The last page still carries a cursor; following it gives an empty page, with one too.
    let mut q2 = q.clone();
    q2["search_after"] = c1;
    let p2 = insights(&c, &h, "events", &q2).await;
    assert_eq!(header_num(&p2, "x-result-count"), EVENTS - 1000);
    assert_eq!(header_num(&p2, "x-limit"), 1000);
    let c2 = search_after(&p2);
    q2["search_after"] = c2;
    let p3 = insights(&c, &h, "events", &q2).await;
    assert_eq!(p3.status, StatusCode::OK);
    assert_eq!(p3.body, json!([]));
    assert_eq!(header_num(&p3, "x-result-count"), 0);
    search_after(&p3);
}

#[tokio::test]
async fn insights_search_after_yields_every_event_once() {
    let h = small().await;
    let c = client();
    let (events, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": days_ago(30), "limit": 100}),
    )
    .await;
    let got = ids_of(&events, "id");
    assert_eq!(got.len(), EVENTS);
    assert_eq!(got, h.event_ids(0));
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        EVENTS,
        "no repeats"
    );
    let secs: Vec<i64> = events.iter().map(|e| parse_ts(e).timestamp()).collect();
    assert!(secs.windows(2).all(|w| w[0] <= w[1]), "ASC by timestamp");

    let a = insights(
        &c,
        &h,
        "events/count",
        &json!({"service": ["all"], "start_time": days_ago(30)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({"count": EVENTS}));
}

/// Pages of 10 through an org whose events come in same-millisecond bursts: a page must be
/// able to end inside a burst and the next one continue it, losing and repeating nothing.
#[tokio::test]
async fn insights_cursor_splits_same_millisecond_bursts() {
    let h = start(SimConfig {
        size: OrgSize {
            users: 50,
            systems: 10,
            events: 600,
            ..OrgSize::default()
        },
        ..SimConfig::default()
    })
    .await;
    let c = client();
    let (events, cursors_ms) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": days_ago(30), "limit": 10}),
    )
    .await;
    let got = ids_of(&events, "id");
    assert_eq!(got, h.event_ids(0));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 600);
    let same_ms_boundaries = cursors_ms.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(
        same_ms_boundaries > 0,
        "some page lies wholly inside one millisecond burst"
    );
}

#[tokio::test]
async fn insights_limit_and_sort_are_forgiving() {
    let h = small().await;
    let c = client();
    for limit in [json!(20_000), json!(-5), json!("abc"), json!(0), json!(1.5)] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": limit}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "limit {limit}");
        assert_eq!(header_num(&a, "x-limit"), 1000, "limit {limit}");
        assert_eq!(a.array().len(), 1000, "limit {limit}");
    }
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": days_ago(30), "limit": 10000}),
    )
    .await;
    assert_eq!(header_num(&a, "x-limit"), 10000, "the maximum is allowed");
    assert_eq!(a.array().len(), EVENTS);

    for sort in ["desc", "DESC", "Desc"] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": 200, "sort": sort}),
        )
        .await;
        assert_eq!(a.header("x-sort"), Some("DESC"), "sort {sort}");
        let secs: Vec<i64> = a.array().iter().map(|e| parse_ts(e).timestamp()).collect();
        assert!(secs.windows(2).all(|w| w[0] >= w[1]), "descending");
        let newest = h.event_ids(0).last().cloned();
        assert_eq!(a.array()[0]["id"].as_str(), newest.as_deref());
    }
    for sort in [json!("bogus"), json!(7), json!("asc")] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": 50, "sort": sort}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header("x-sort"), Some("ASC"), "sort {sort}");
        assert_eq!(ids_of(a.array(), "id"), h.event_ids(0)[..50].to_vec());
    }
}

#[tokio::test]
async fn insights_rejects_bad_queries() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);

    let a = insights(&c, &h, "events", &json!({"start_time": start})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing service");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["nope"], "start_time": start}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "unknown service");
    let m = a.message();
    for s in SERVICES {
        assert!(m.contains(s), "the message lists {s}: {m}");
    }

    let a = insights(&c, &h, "events", &json!({"service": ["all"]})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing start_time");

    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": future}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "start in the future");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "end_time": days_ago(31)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "end before start");
    a.message();

    let a = insights_raw(&c, &h, "events", "{\"service\": [\"all\"],".into()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "malformed JSON");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "fields": []}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "empty fields");
    a.message();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "fields": ["no_such_field"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no known field");

    // A cursor from another query (different start_time) is refused.
    let q = json!({"service": ["all"], "start_time": start, "limit": 10});
    let first = insights(&c, &h, "events", &q).await;
    let cursor = search_after(&first);
    let other = json!({"service": ["all"], "start_time": days_ago(20), "limit": 10, "search_after": cursor});
    let a = insights(&c, &h, "events", &other).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "foreign cursor");
    a.message();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 10, "search_after": [1, "made-up"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "made-up cursor");

    // The same query with its own cursor works.
    let mut own = q.clone();
    own["search_after"] = cursor;
    assert_eq!(
        insights(&c, &h, "events", &own).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn insights_services_window_and_fields() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);
    let (all, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000}),
    )
    .await;

    let (sso, _) = all_events(
        &c,
        &h,
        json!({"service": ["sso", "ldap"], "start_time": start, "limit": 10000}),
    )
    .await;
    let want: Vec<&Value> = all
        .iter()
        .filter(|e| e["service"] == "sso" || e["service"] == "ldap")
        .collect();
    assert!(!want.is_empty());
    assert_eq!(sso.iter().collect::<Vec<_>>(), want);

    // search_term: an `or` of field matches.
    let (picked, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000,
               "search_term": {"or": [{"event_type": "ldap_bind"}, {"service": "radius"}]}}),
    )
    .await;
    let want: Vec<&Value> = all
        .iter()
        .filter(|e| e["event_type"] == "ldap_bind" || e["service"] == "radius")
        .collect();
    assert!(!want.is_empty());
    assert_eq!(picked.iter().collect::<Vec<_>>(), want);

    // end_time bounds the window; count agrees with the pages.
    let mid = parse_ts(&all[all.len() / 2]) + chrono::Duration::seconds(1);
    let q = json!({"service": ["all"], "start_time": start, "end_time": mid.to_rfc3339(), "limit": 10000});
    let (early, _) = all_events(&c, &h, q.clone()).await;
    assert!(!early.is_empty() && early.len() < all.len());
    assert!(early.iter().all(|e| parse_ts(e) < mid));
    let n = insights(&c, &h, "events/count", &q).await;
    assert_eq!(n.body, json!({"count": early.len()}));

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 5, "fields": ["id", "service", "nope"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    for e in a.array() {
        let mut keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "service"]);
    }

    // Every event carries the common fields; ids are 24 hex or an uppercase UUID.
    for e in &all {
        for k in [
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
        ] {
            assert!(e.get(k).is_some(), "event lacks {k}: {e}");
        }
        let id = str_field(e, "id");
        let hex24 = id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let uuid = id.len() == 36 && id == id.to_uppercase();
        assert!(hex24 || uuid, "event id {id}");
    }
}

#[tokio::test]
async fn insights_msp_several_orgs() {
    let h = small().await;
    let c = client();
    let orgs = h.org_ids();
    let a = send(
        c.post(format!(
            "{}/insights/directory/v1/events/count",
            h.base_url()
        ))
        .header("x-api-key", DEFAULT_MSP_KEY)
        .header("x-org-id", orgs[0].as_str())
        .header("x-org-id", orgs[1].as_str())
        .body(json!({"service": ["all"], "start_time": days_ago(30)}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({"count": h.event_ids(0).len() + h.event_ids(1).len()})
    );
    // v1 takes exactly one.
    let a = send(
        c.get(format!("{}/api/systemusers", h.base_url()))
            .header("x-api-key", DEFAULT_MSP_KEY)
            .header("x-org-id", orgs[0].as_str())
            .header("x-org-id", orgs[1].as_str()),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- 429 and faults

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let h = start(SimConfig {
        faults: Faults {
            rate_limit_rpm: Some(60),
            retry_after: true,
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let a = get(&c, &h, "/api/systemusers?limit=1").await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = a
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("Retry-After in seconds");
            assert!((1..=60).contains(&secs), "Retry-After {secs}");
            a.message();
        }
        statuses.push(a.status.as_u16());
    }
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1..].iter().all(|&s| s == 429), "{statuses:?}");
    assert_eq!(h.stats().throttled, 5);

    // Without `retry_after`, the 429 carries no header.
    h.set_faults(Faults {
        rate_limit_rpm: Some(60),
        ..Faults::default()
    });
    let a = get(&c, &h, "/api/systemusers?limit=1").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.header("retry-after").is_none());

    h.set_faults(Faults::default());
    assert_eq!(
        get(&c, &h, "/api/systemusers?limit=1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fault_error_rate_gives_5xx() {
    let h = small().await;
    let c = client();
    h.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let mut seen = HashSet::new();
    for i in 0..24 {
        let url = if i % 2 == 0 {
            format!("{}/api/systemusers", h.base_url())
        } else {
            format!("{}/api/v2/usergroups", h.base_url())
        };
        let resp = c
            .get(url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await
            .expect("a response");
        let s = resp.status().as_u16();
        assert!([500, 502, 503, 504].contains(&s), "status {s}");
        seen.insert(s);
        resp.bytes().await.expect("a body");
    }
    assert!(seen.len() > 1, "several gateway statuses: {seen:?}");
    assert_eq!(h.stats().injected_errors, 24);
    h.set_faults(Faults::default());
    assert_eq!(get(&c, &h, "/api/systemusers").await.status, StatusCode::OK);
}

#[tokio::test]
async fn fault_reset_and_truncate() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=100", h.base_url());

    h.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        let r = c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await;
        assert!(r.is_err(), "a reset connection gives no response");
    }
    assert!(h.stats().resets >= 3);

    h.set_faults(Faults {
        truncate_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        let outcome = match c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await
        {
            Err(_) => "no response",
            Ok(resp) => match resp.bytes().await {
                Err(_) => "body error",
                Ok(b) if serde_json::from_slice::<Value>(&b).is_err() => "invalid JSON",
                Ok(_) => "complete",
            },
        };
        assert_ne!(outcome, "complete", "a truncated body must not parse");
        assert_ne!(outcome, "no response", "truncation sends the headers");
    }
    assert_eq!(h.stats().truncated, 3);

    h.set_faults(Faults::default());
    let a = get(&c, &h, "/api/systemusers?limit=100").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn fault_reset_from_request_n() {
    let h = start(SimConfig {
        faults: Faults {
            reset_from_request: Some(4),
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=10", h.base_url());
    let mut ok = Vec::new();
    for _ in 0..6 {
        let r = c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await;
        ok.push(r.is_ok_and(|r| r.status() == StatusCode::OK));
    }
    assert_eq!(ok, [true, true, true, false, false, false]);
    h.set_faults(Faults::default());
    assert_eq!(get(&c, &h, "/api/systemusers").await.status, StatusCode::OK);
}

#[tokio::test]
async fn control_routes() {
    let h = small().await;
    let c = client();
    let base = h.base_url().to_string();

    let r = c
        .post(format!("{base}/_sim/faults"))
        .body(json!({"error_rate": 1.0}).to_string())
        .send()
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);
    let s = c
        .get(format!("{base}/api/systemusers"))
        .header("x-api-key", DEFAULT_API_KEY)
        .send()
        .await
        .expect("response")
        .status();
    assert!(s.is_server_error());
    let r = c
        .post(format!("{base}/_sim/faults"))
        .body("{}")
        .send()
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);

    let a = send(
        c.post(format!("{base}/_sim/mutate?org=0"))
            .body(json!({"add_users": 3}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["added_users"].as_array().map(Vec::len), Some(3));
    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.body["totalCount"], USERS + 3);

    let a = send(c.post(format!("{base}/_sim/faults")).body("not json")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let a = send(c.get(format!("{base}/_sim/stats"))).await;
    assert_eq!(a.status, StatusCode::OK);
    // Control routes are not counted: two API requests so far.
    assert_eq!(a.body["requests"], 2);
    assert_eq!(a.body["injected_errors"], 1);
}

// ---------------------------------------------------------------- drift and mutation

#[tokio::test]
async fn drift_adds_fields_and_changes_types() {
    let h = start(SimConfig {
        drift: Drift {
            field_after: Some(100),
            type_every: Some(7),
            ..Default::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let users = all_users(&c, &h).await;
    assert_eq!(users.len(), USERS);
    for (i, u) in users.iter().enumerate() {
        let drifted = i >= 100;
        assert_eq!(u.get("drift_new_field").is_some(), drifted, "user {i}");
        assert_eq!(u["mfa"].get("drift_nested").is_some(), drifted, "user {i}");
        let uid = &u["unix_uid"];
        if i % 7 == 6 {
            assert!(uid.is_string(), "user {i}: unix_uid {uid}");
        } else {
            assert!(uid.is_i64(), "user {i}: unix_uid {uid}");
        }
    }

    // Without drift, no user has the new fields and unix_uid is always a number.
    let plain = small().await;
    for u in all_users(&c, &plain).await {
        assert!(u.get("drift_new_field").is_none());
        assert!(u["mfa"].get("drift_nested").is_none());
        assert!(u["unix_uid"].is_i64());
    }
}

#[tokio::test]
async fn mutation_changes_users_and_events() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);
    let before = ids_of(&all_users(&c, &h).await, "_id");
    assert_eq!(before.len(), USERS);
    let count_q = json!({"service": ["all"], "start_time": start});
    let n0 = insights(&c, &h, "events/count", &count_q).await.body["count"]
        .as_u64()
        .expect("count");
    assert_eq!(n0, EVENTS as u64);
    let newest = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 1, "sort": "DESC"}),
    )
    .await;
    let newest_id = str_field(&newest.array()[0], "id").to_string();
    let old_events: HashSet<String> = h.event_ids(0).into_iter().collect();

    let report = h.mutate(
        0,
        &Mutation {
            add_users: 5,
            remove_users: 3,
            change_users: 4,
            new_events: 50,
            late_events: 10,
            late_by_ms: 3_600_000,
        },
    );
    assert_eq!(report.added_users.len(), 5);
    assert_eq!(report.removed_users.len(), 3);
    assert_eq!(report.changed_users.len(), 4);
    assert_eq!(report.new_events, 60);

    let users = all_users(&c, &h).await;
    let after = ids_of(&users, "_id");
    assert_eq!(after.len(), USERS + 2);
    assert_eq!(after, h.ids(0, "systemusers"));
    let after_set: HashSet<&String> = after.iter().collect();
    for id in &report.removed_users {
        assert!(before.contains(id));
        assert!(!after_set.contains(id), "removed {id} is gone");
        let a = get(&c, &h, &format!("/api/systemusers/{id}")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
    for id in &report.added_users {
        assert!(!before.contains(id));
        assert!(after_set.contains(id), "added {id} is listed");
    }
    let mut sorted = after.clone();
    sorted.sort();
    assert_eq!(after, sorted, "the list stays in _id order");
    for id in &report.changed_users {
        let u = users
            .iter()
            .find(|u| u["_id"] == id.as_str())
            .expect("changed user");
        assert!(str_field(u, "jobTitle").starts_with("Senior Engineer"));
    }
    // Removed users leave no dangling group members.
    for g in h.ids(0, "usergroups") {
        for m in v2_all(&c, &h, &format!("/api/v2/usergroups/{g}/members")).await {
            assert!(!report
                .removed_users
                .iter()
                .any(|r| m["to"]["id"] == r.as_str()));
        }
    }

    let n1 = insights(&c, &h, "events/count", &count_q).await.body["count"]
        .as_u64()
        .expect("count");
    assert_eq!(n1, n0 + 60);
    let (events, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000}),
    )
    .await;
    let ids = ids_of(&events, "id");
    assert_eq!(ids, h.event_ids(0));
    let pivot = ids
        .iter()
        .position(|i| *i == newest_id)
        .expect("old newest");
    let new_before = ids[..pivot]
        .iter()
        .filter(|i| !old_events.contains(*i))
        .count();
    let new_after = ids[pivot..]
        .iter()
        .filter(|i| !old_events.contains(*i))
        .count();
    assert_eq!(
        new_before, 10,
        "late events sort before the previous newest"
    );
    assert_eq!(new_after, 50, "new events sort after it");
    let pivot_ts = parse_ts(&events[pivot]);
    for e in events[..pivot]
        .iter()
        .filter(|e| !old_events.contains(str_field(e, "id")))
    {
        assert!(
            parse_ts(e) <= pivot_ts + chrono::Duration::seconds(1)
                && parse_ts(e) >= pivot_ts - chrono::Duration::milliseconds(3_601_000),
            "a late event lies within late_by_ms before the previous newest"
        );
    }
}

#[tokio::test]
async fn mutation_on_a_timer_changes_every_org() {
    let sim = jclake_sim::start(jclake_sim::SimConfig::default())
        .await
        .expect("sim");
    let before: Vec<usize> = (0..2).map(|o| sim.ids(o, "systemusers").len()).collect();
    let events: Vec<usize> = (0..2).map(|o| sim.event_ids(o).len()).collect();
    let step = jclake_sim::Mutation {
        add_users: 4,
        remove_users: 1,
        new_events: 10,
        late_events: 2,
        late_by_ms: 1000,
        ..Default::default()
    };
    sim.mutate_every(Duration::from_millis(150), step);
    // Wait (at most 10 s) until both orgs have seen at least two steps.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (0..2).any(|o| sim.ids(o, "systemusers").len() < before[o] + 6) {
        assert!(
            std::time::Instant::now() < deadline,
            "the timer did not mutate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for o in 0..2 {
        // Each step: +4 -1 users and 10 + 2 events.
        let users = sim.ids(o, "systemusers").len() - before[o];
        let new_events = sim.event_ids(o).len() - events[o];
        assert_eq!(users % 3, 0, "org {o}");
        assert_eq!(new_events % 12, 0, "org {o}");
        assert!(
            new_events / 12 >= 2 && users / 3 >= 2,
            "org {o}: {users} users, {new_events} events"
        );
    }
}
