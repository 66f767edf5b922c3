//! The further read routes of `shared/jumpcloud-api-extended.md` §3, answered before the
//! generic collections of `v1v2` (its handlers ask [`handle_v1`] / [`handle_v2`] first; `None`
//! means "not mine"). Each keeps its route's quirks:
//!
//! - v1 `GET /api/users` (administrators) and `/api/commandresults`: the `{totalCount,
//!   results}` envelope, `limit` ≤ 100, `skip`, `sort`, `fields`; no `filter` (ignored). The
//!   command results list cuts `response.data.output` and `response.error` to 40 characters
//!   and leaves out `organization`, `files`, `workflowInstanceId`, `response.id`;
//!   `/api/commandresults/{id}` has them all, in full.
//! - v2 `/policyresults` (+`/{id}`), `/policies/{id}/policyresults`,
//!   `/policies/{id}/policystatuses` and `/systems/{id}/policystatuses` (the latest result per
//!   system, or per policy); no top-level `/policystatuses` (404).
//! - v2 `/authn/policies` and `/iplists` (+`/{id}`) send `x-total-count`.
//! - v2 `/softwareapps` (+`/{id}`, which alone carries `appleVpp.isConfigEnabled` and
//!   `appConfiguration`) and `/softwareapps/{id}/statuses`.
//! - v2 `/applemdms`: `limit` defaults to **1** (max 100); `/applemdms/{id}/devices`
//!   (+`/{device_id}`) sends `x-total-count`.
//! - v2 `/users/{id}/pushendpoints` (+`/{id}`): no paging parameters, every endpoint at once
//!   (`limit`, `skip` and the rest are ignored).
//! - v2 `/systems/{id}/fdekey`: `{"key"}`, a secret; every request to it is counted in
//!   `SimStats::fdekey_requests` so the exporter's tests can assert it never asks.
//! - v2 `/groups`: user and system groups together, in id order, with `x-total-count`.
//!
//! Sorting is stable (stored id order breaks ties). A stored list's order under a `sort` is
//! kept by the tenant (`derived`) while no filter applies, so paging through a long list
//! (the policy results by `endedAt`) sorts it once, not once a page.
//!
//! The `SimHandle` accessors for what the fan-out routes serve are here too.

use std::cmp::Ordering;
use std::sync::Arc;

use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::data::collections::{
    command_result_list_view, ADMINS, APPLE_MDMS, AUTHN_POLICIES, COMMAND_RESULTS, IP_LISTS,
    POLICY_RESULTS, SOFTWARE_APPS,
};
use crate::data::{id_of, Tenant};
use crate::http::{error, json_response, Body, Family};
use crate::query::{compare_text, field_text, parse_sort, sort_positions, text_key};
use crate::state::{lock, read, Caller, SimState};
use crate::SimHandle;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;
/// `/applemdms` alone defaults to one.
const MDM_DEFAULT_LIMIT: usize = 1;

struct Query {
    limit: usize,
    skip: usize,
    sort: Vec<(String, bool)>,
    fields: Option<Vec<String>>,
    filters: Vec<Filter>,
}

struct Filter {
    field: String,
    op: String,
    value: String,
}

fn parse(query: &str, fam: Family, default_limit: usize) -> Result<Query, Response<Body>> {
    let bad = |m: String| error(fam, StatusCode::BAD_REQUEST, &m);
    let mut q = Query {
        limit: default_limit,
        skip: 0,
        sort: Vec::new(),
        fields: None,
        filters: Vec::new(),
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "limit" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(format!("Bad Request: invalid limit {v:?}")))?;
                if n < 0 {
                    return Err(bad("Bad Request: limit must be 0 or more".into()));
                }
                if n as usize > MAX_LIMIT {
                    return Err(bad(format!(
                        "Bad Request: request parameter \"limit\" exceeds maximum value of {MAX_LIMIT}"
                    )));
                }
                q.limit = if n == 0 { default_limit } else { n as usize };
            }
            "skip" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(format!("Bad Request: invalid skip {v:?}")))?;
                if n < 0 {
                    return Err(bad("Bad Request: skip must be 0 or more".into()));
                }
                q.skip = n as usize;
            }
            // v1 separates with spaces, v2 with commas; both are taken.
            "sort" => parse_sort(&v, &mut q.sort),
            "fields" => {
                q.fields = Some(
                    v.split([' ', ','])
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            "filter" => {
                let mut it = v.splitn(3, ':');
                let (Some(field), Some(op), Some(value)) = (it.next(), it.next(), it.next()) else {
                    return Err(bad(format!("Bad Request: invalid filter {v:?}")));
                };
                let op = op.trim_start_matches('$').to_string();
                if !matches!(
                    op.as_str(),
                    "eq" | "ne" | "gt" | "ge" | "gte" | "lt" | "le" | "lte" | "in" | "search"
                ) {
                    return Err(bad(format!("Bad Request: invalid filter operator {op:?}")));
                }
                q.filters.push(Filter {
                    field: field.to_string(),
                    op,
                    value: value.to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(q)
}

fn matches(v: &Value, f: &Filter) -> bool {
    let got = field_text(v, &f.field);
    match f.op.as_str() {
        "eq" => got.as_deref() == Some(f.value.as_str()),
        "ne" => got.as_deref() != Some(f.value.as_str()),
        "in" => got.is_some_and(|g| f.value.split('|').any(|x| x == g)),
        "search" => got.is_some_and(|g| g.to_lowercase().contains(&f.value.to_lowercase())),
        op => got.is_some_and(|g| {
            let c = compare_text(&g, &f.value);
            match op {
                "gt" => c == Ordering::Greater,
                "ge" | "gte" => c != Ordering::Less,
                "lt" => c == Ordering::Less,
                _ => c != Ordering::Greater,
            }
        }),
    }
}

/// A list a route pages: one of the tenant's stored collections (whose sort orders are kept
/// until the tenant changes) or one made for this request.
#[derive(Clone, Copy)]
enum List<'a> {
    Stored(&'a Tenant, &'static str),
    Made(&'a [Value]),
}

impl<'a> List<'a> {
    fn items(self) -> &'a [Value] {
        match self {
            List::Stored(t, name) => coll(t, name),
            List::Made(items) => items,
        }
    }
}

/// Filters (when the route takes them), sorts (stably: stored id order breaks ties) and
/// pages; returns the total after filtering and the page. A stored collection's order
/// under a `sort` is kept while nothing filters it.
fn select<'a>(list: List<'a>, q: &Query, filter: bool) -> (usize, Vec<&'a Value>) {
    let items = list.items();
    let keep = |v: &Value| !filter || q.filters.iter().all(|f| matches(v, f));
    if q.sort.is_empty() {
        let sel: Vec<&Value> = items.iter().filter(|v| keep(v)).collect();
        let total = sel.len();
        return (total, sel.into_iter().skip(q.skip).take(q.limit).collect());
    }
    let unfiltered = !filter || q.filters.is_empty();
    let order = match list {
        List::Stored(t, name) if unfiltered => t
            .sort_order(format!("collections {name:?} {:?}", q.sort), || {
                sort_positions(items, &q.sort, (0..items.len()).collect(), text_key)
            }),
        _ => {
            let sel = (0..items.len()).filter(|&i| keep(&items[i])).collect();
            Arc::new(sort_positions(items, &q.sort, sel, text_key))
        }
    };
    let page = order
        .iter()
        .skip(q.skip)
        .take(q.limit)
        .map(|&i| &items[i])
        .collect();
    (order.len(), page)
}

/// `fields` keeps the id and the named top-level fields.
fn project(v: &Value, fields: &Option<Vec<String>>, id_key: &str) -> Value {
    let Some(fields) = fields else {
        return v.clone();
    };
    let mut out = Map::new();
    if let Some(id) = v.get(id_key) {
        out.insert(id_key.to_string(), id.clone());
    }
    for f in fields {
        if let Some(x) = v.get(f) {
            out.insert(f.clone(), x.clone());
        }
    }
    Value::Object(out)
}

/// A v2 page: filtered, sorted, paged, projected; `x-total-count` when the route sends it.
fn v2_list(list: List<'_>, q: &Query, total_header: bool) -> Response<Body> {
    let (total, page) = select(list, q, true);
    let body: Vec<Value> = page
        .into_iter()
        .map(|v| project(v, &q.fields, "id"))
        .collect();
    let mut r = json_response(StatusCode::OK, &Value::Array(body));
    if total_header {
        r.headers_mut()
            .insert("x-total-count", HeaderValue::from(total));
    }
    r
}

fn v2_one(items: &[Value], id: &str, what: &str) -> Response<Body> {
    match items.iter().find(|v| id_of(v) == id) {
        Some(v) => json_response(StatusCode::OK, v),
        None => not_found(Family::V2, what, id),
    }
}

/// One object of a stored collection by id.
fn stored_one(t: &Tenant, name: &str, id: &str, what: &str) -> Response<Body> {
    match t.find(name, id) {
        Some(v) => json_response(StatusCode::OK, v),
        None => not_found(Family::V2, what, id),
    }
}

fn not_found(fam: Family, what: &str, id: &str) -> Response<Body> {
    error(
        fam,
        StatusCode::NOT_FOUND,
        &format!("Not Found: {what} {id}"),
    )
}

fn coll<'a>(t: &'a Tenant, name: &str) -> &'a [Value] {
    t.collections.get(name).map(Vec::as_slice).unwrap_or(&[])
}

fn segments(rest: &str) -> Vec<&str> {
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

/// v1 routes of this module; `None` for every other path.
pub(crate) fn handle_v1(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    query: &str,
) -> Option<Response<Body>> {
    let fam = Family::V1;
    let segs = segments(rest);
    if !matches!(
        segs.as_slice(),
        ["users"] | ["commandresults"] | ["commandresults", _]
    ) {
        return None;
    }
    if method != Method::GET {
        return Some(error(
            fam,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ));
    }
    let q = match parse(query, fam, DEFAULT_LIMIT) {
        Ok(q) => q,
        Err(r) => return Some(r),
    };
    let tenants = state.view();
    let Some(t) = caller.orgs.first().and_then(|&i| tenants.get(i)) else {
        return Some(error(fam, StatusCode::NOT_FOUND, "Not Found"));
    };
    let envelope = |total: usize, results: Vec<Value>| {
        json_response(
            StatusCode::OK,
            &json!({"totalCount": total, "results": results}),
        )
    };
    Some(match segs.as_slice() {
        // Neither list takes `filter`: it is ignored.
        ["users"] => {
            let (total, page) = select(List::Stored(t, ADMINS), &q, false);
            envelope(
                total,
                page.into_iter()
                    .map(|v| project(v, &q.fields, "_id"))
                    .collect(),
            )
        }
        ["commandresults"] => {
            let (total, page) = select(List::Stored(t, COMMAND_RESULTS), &q, false);
            envelope(
                total,
                page.into_iter()
                    .map(|v| project(&command_result_list_view(v), &q.fields, "_id"))
                    .collect(),
            )
        }
        [_, id] => match t.find(COMMAND_RESULTS, id) {
            Some(v) => json_response(StatusCode::OK, &project(v, &q.fields, "_id")),
            None => not_found(fam, "command result", id),
        },
        _ => error(fam, StatusCode::NOT_FOUND, "Not Found"),
    })
}

/// v2 routes of this module; `None` for every other path.
pub(crate) fn handle_v2(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    query: &str,
) -> Option<Response<Body>> {
    let fam = Family::V2;
    let segs = segments(rest);
    let mine = matches!(
        segs.as_slice(),
        ["policyresults"]
            | ["policyresults", _]
            | ["policystatuses", ..]
            | ["policies", _, "policystatuses" | "policyresults"]
            | ["systems", _, "policystatuses" | "fdekey"]
            | ["authn", "policies"]
            | ["authn", "policies", _]
            | ["iplists"]
            | ["iplists", _]
            | ["softwareapps"]
            | ["softwareapps", _]
            | ["softwareapps", _, "statuses"]
            | ["applemdms"]
            | ["applemdms", _, "devices"]
            | ["applemdms", _, "devices", _]
            | ["users", _, "pushendpoints"]
            | ["users", _, "pushendpoints", _]
            | ["groups"]
    );
    if !mine {
        return None;
    }
    if matches!(segs.as_slice(), ["systems", _, "fdekey"]) {
        // Counted before anything else: asking at all is what the tests look for.
        lock(&state.stats).fdekey_requests += 1;
    }
    if segs[0] == "policystatuses" {
        // Only per policy or per system; there is no org-wide list.
        return Some(error(fam, StatusCode::NOT_FOUND, "Not Found"));
    }
    if method != Method::GET {
        return Some(error(
            fam,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ));
    }
    let default_limit = if segs.as_slice() == ["applemdms"] {
        MDM_DEFAULT_LIMIT
    } else {
        DEFAULT_LIMIT
    };
    // Push endpoints take no parameters at all: a bad `limit` there is no error either.
    let q = if segs.get(2) == Some(&"pushendpoints") {
        parse("", fam, default_limit)
    } else {
        parse(query, fam, default_limit)
    };
    let q = match q {
        Ok(q) => q,
        Err(r) => return Some(r),
    };
    let tenants = state.view();
    let Some(t) = caller.orgs.first().and_then(|&i| tenants.get(i)) else {
        return Some(error(fam, StatusCode::NOT_FOUND, "Not Found"));
    };
    Some(match segs.as_slice() {
        ["policyresults"] => v2_list(List::Stored(t, POLICY_RESULTS), &q, false),
        ["policyresults", id] => stored_one(t, POLICY_RESULTS, id, "policy result"),
        ["policies", id, "policystatuses"] => match t.policy_statuses(id) {
            Some(items) => v2_list(List::Made(&items), &q, false),
            None => not_found(fam, "policy", id),
        },
        ["policies", id, "policyresults"] => {
            if t.find("policies", id).is_none() {
                return Some(not_found(fam, "policy", id));
            }
            let items: Vec<Value> = t
                .policy_results_of("policyID", id)
                .into_iter()
                .cloned()
                .collect();
            v2_list(List::Made(&items), &q, false)
        }
        ["systems", id, "policystatuses"] => match t.system_policy_statuses(id) {
            Some(items) => v2_list(List::Made(&items), &q, false),
            None => not_found(fam, "system", id),
        },
        ["systems", id, "fdekey"] => match t.fde_key(id) {
            Some(Some(key)) => json_response(StatusCode::OK, &json!({ "key": key })),
            Some(None) => error(
                fam,
                StatusCode::NOT_FOUND,
                &format!("Not Found: no recovery key for system {id}"),
            ),
            None => not_found(fam, "system", id),
        },
        ["authn", "policies"] => v2_list(List::Stored(t, AUTHN_POLICIES), &q, true),
        ["authn", "policies", id] => stored_one(t, AUTHN_POLICIES, id, "authn policy"),
        ["iplists"] => v2_list(List::Stored(t, IP_LISTS), &q, true),
        ["iplists", id] => stored_one(t, IP_LISTS, id, "ip list"),
        ["softwareapps"] => v2_list(List::Stored(t, SOFTWARE_APPS), &q, false),
        ["softwareapps", id] => match t.find(SOFTWARE_APPS, id) {
            Some(v) => json_response(StatusCode::OK, &software_app_in_full(v)),
            None => not_found(fam, "software app", id),
        },
        ["softwareapps", id, "statuses"] => match t.software_app_statuses(id) {
            Some(items) => v2_list(List::Made(items), &q, false),
            None => not_found(fam, "software app", id),
        },
        ["applemdms"] => v2_list(List::Stored(t, APPLE_MDMS), &q, false),
        ["applemdms", id, "devices"] => match t.apple_mdm_devices(id) {
            Some(items) => v2_list(List::Made(items), &q, true),
            None => not_found(fam, "apple mdm", id),
        },
        ["applemdms", id, "devices", dev] => match t.apple_mdm_devices(id) {
            Some(items) => v2_one(items, dev, "device"),
            None => not_found(fam, "apple mdm", id),
        },
        ["users", id, "pushendpoints"] => match t.push_endpoints(id) {
            Some(items) => json_response(StatusCode::OK, &Value::Array(items.to_vec())),
            None => not_found(fam, "user", id),
        },
        ["users", id, "pushendpoints", pe] => match t.push_endpoints(id) {
            Some(items) => v2_one(items, pe, "push endpoint"),
            None => not_found(fam, "user", id),
        },
        ["groups"] => v2_list(List::Made(&all_groups(t)), &q, true),
        _ => error(fam, StatusCode::NOT_FOUND, "Not Found"),
    })
}

/// `GET /softwareapps/{id}` adds what the list leaves out: `appleVpp.isConfigEnabled` and
/// `appleVpp.appConfiguration`.
fn software_app_in_full(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(settings) = v.get_mut("settings").and_then(Value::as_array_mut) {
        for s in settings {
            if let Some(vpp) = s.get_mut("appleVpp").and_then(Value::as_object_mut) {
                vpp.insert("isConfigEnabled".into(), json!(false));
                vpp.insert(
                    "appConfiguration".into(),
                    json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict/></plist>"),
                );
            }
        }
    }
    v
}

/// `/groups`: user and system groups as one list, in id order.
fn all_groups(t: &Tenant) -> Vec<Value> {
    let mut out: Vec<Value> = coll(t, "usergroups")
        .iter()
        .chain(coll(t, "systemgroups"))
        .map(|g| {
            let mut m = Map::new();
            for k in ["id", "name", "type", "description", "email", "attributes"] {
                if let Some(x) = g.get(k) {
                    m.insert(k.into(), x.clone());
                }
            }
            if g["membershipMethod"] != json!("STATIC") {
                m.insert("memberQueryErrorFlags".into(), json!([]));
            }
            m.insert("organizationObjectId".into(), json!(t.org_id));
            Value::Object(m)
        })
        .collect();
    out.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    out
}

/// What the fan-out routes of this module serve, for tests (org by index, as elsewhere).
impl SimHandle {
    fn with_tenant<T: Default>(&self, org: usize, f: impl FnOnce(&Tenant) -> T) -> T {
        read(&self.state.tenants)
            .get(org)
            .map(f)
            .unwrap_or_default()
    }

    /// `GET /api/v2/policies/{policy_id}/policystatuses` whole: the latest result of every
    /// system the policy has results on, in id order.
    pub fn policy_statuses(&self, org: usize, policy_id: &str) -> Vec<Value> {
        self.with_tenant(org, |t| t.policy_statuses(policy_id).unwrap_or_default())
    }

    /// `GET /api/v2/softwareapps/{app_id}/statuses` whole, in id order.
    pub fn software_app_statuses(&self, org: usize, app_id: &str) -> Vec<Value> {
        self.with_tenant(org, |t| {
            t.software_app_statuses(app_id)
                .map(<[Value]>::to_vec)
                .unwrap_or_default()
        })
    }

    /// `GET /api/v2/applemdms/{mdm_id}/devices` whole, in id order.
    pub fn apple_mdm_devices(&self, org: usize, mdm_id: &str) -> Vec<Value> {
        self.with_tenant(org, |t| {
            t.apple_mdm_devices(mdm_id)
                .map(<[Value]>::to_vec)
                .unwrap_or_default()
        })
    }

    /// `GET /api/v2/users/{user_id}/pushendpoints`: the user's Protect devices (often none).
    pub fn push_endpoints(&self, org: usize, user_id: &str) -> Vec<Value> {
        self.with_tenant(org, |t| {
            t.push_endpoints(user_id)
                .map(<[Value]>::to_vec)
                .unwrap_or_default()
        })
    }
}
