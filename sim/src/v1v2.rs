//! The v1 (`/api/...`) and v2 (`/api/v2/...`) routes: collections with `limit`/`skip`,
//! `sort`, `fields` and `filter`; v1 in the `{totalCount, results}` envelope, v2 as bare
//! arrays; group members and resolved membership; `associations?targets=` (the targets each
//! route offers, else 400); the traversal routes (`/systems/{id}/users`, …) of `graph`. A
//! graph route's id must name an object of the route's type (a G Suite id under
//! `/ldapservers/` is a 404). The routes of
//! `collections` (admins, results, authn policies, MDM, …) are asked first.

use std::cmp::Ordering;
use std::collections::HashMap;

use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::data::{Tenant, V1_COLLECTIONS, V2_COLLECTIONS};
use crate::graph;
use crate::http::{error, json_response, Body, Family};
use crate::query::{compare_text, field_text, parse_sort, sort_positions, text_key};
use crate::state::{Caller, SimState};

/// Page-size rules shared by v1 and v2: default 10, maximum 100.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

struct ListQuery {
    limit: usize,
    skip: usize,
    sort: Vec<(String, bool)>,
    fields: Option<Vec<String>>,
    filters: Vec<Filter>,
    targets: Option<String>,
}

struct Filter {
    field: String,
    op: String,
    value: String,
}

fn parse_query(query: &str, family: Family) -> Result<ListQuery, Response<Body>> {
    let bad = |m: String| error(family, StatusCode::BAD_REQUEST, &m);
    let mut q = ListQuery {
        limit: DEFAULT_LIMIT,
        skip: 0,
        sort: Vec::new(),
        fields: None,
        filters: Vec::new(),
        targets: None,
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "limit" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(format!("Bad Request: invalid limit {v:?}")))?;
                if n < 0 || n as usize > MAX_LIMIT {
                    return Err(bad(format!(
                        "Bad Request: limit must be between 0 and {MAX_LIMIT}"
                    )));
                }
                q.limit = if n == 0 { DEFAULT_LIMIT } else { n as usize };
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
                let part = v.as_ref();
                let mut it = part.splitn(3, ':');
                let (Some(field), Some(op), Some(value)) = (it.next(), it.next(), it.next()) else {
                    return Err(bad(format!("Bad Request: invalid filter {part:?}")));
                };
                let op = op.trim_start_matches('$').to_string();
                if !matches!(
                    op.as_str(),
                    "eq" | "ne"
                        | "gt"
                        | "ge"
                        | "gte"
                        | "lt"
                        | "le"
                        | "lte"
                        | "in"
                        | "search"
                        | "between"
                ) {
                    return Err(bad(format!("Bad Request: invalid filter operator {op:?}")));
                }
                q.filters.push(Filter {
                    field: field.to_string(),
                    op,
                    value: value.to_string(),
                });
            }
            "targets" => q.targets = Some(v.to_string()),
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
        "between" => {
            let mut it = f.value.splitn(2, ',');
            match (got, it.next(), it.next()) {
                (Some(g), Some(lo), Some(hi)) => {
                    compare_text(&g, lo) != Ordering::Less
                        && compare_text(&g, hi) != Ordering::Greater
                }
                _ => false,
            }
        }
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

/// Filters, sorts and pages one collection; returns (total after filtering, page).
fn page<'a>(items: &'a [Value], q: &ListQuery) -> (usize, Vec<&'a Value>) {
    // Stored order is `_id` order, so the common cases (no filter, sort by id) slice directly.
    let by_id = q
        .sort
        .iter()
        .all(|(f, desc)| (f == "_id" || f == "id") && !desc);
    if q.filters.is_empty() && by_id {
        let page = items.iter().skip(q.skip).take(q.limit).collect();
        return (items.len(), page);
    }
    let mut sel: Vec<usize> = (0..items.len())
        .filter(|&i| q.filters.iter().all(|f| matches(&items[i], f)))
        .collect();
    if !q.sort.is_empty() {
        sel = sort_positions(items, &q.sort, sel, text_key);
    }
    let total = sel.len();
    let page = sel.into_iter().skip(q.skip).take(q.limit);
    (total, page.map(|i| &items[i]).collect())
}

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

fn tenant_of<'a>(tenants: &'a [Tenant], caller: &Caller) -> Option<&'a Tenant> {
    caller.orgs.first().and_then(|&i| tenants.get(i))
}

pub(super) fn handle_v1(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    query: &str,
) -> Response<Body> {
    if let Some(r) = crate::collections::handle_v1(state, caller, method, rest, query) {
        return r;
    }
    let fam = Family::V1;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let Some(&coll) = segs.first() else {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    };
    if !V1_COLLECTIONS.contains(&coll) || segs.len() > 2 {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    }
    if method != Method::GET {
        return error(fam, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let q = match parse_query(query, fam) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let tenants = state.view();
    let Some(t) = tenant_of(&tenants, caller) else {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    };
    let items = t.collections.get(coll).map(Vec::as_slice).unwrap_or(&[]);
    if let Some(id) = segs.get(1) {
        return match t.find(coll, id) {
            Some(v) => json_response(StatusCode::OK, &project(v, &q.fields, "_id")),
            None => error(fam, StatusCode::NOT_FOUND, "Not Found"),
        };
    }
    let (total, page) = page(items, &q);
    let results: Vec<Value> = page
        .into_iter()
        .map(|v| project(v, &q.fields, "_id"))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"totalCount": total, "results": results}),
    )
}

/// v2 route name → graph type name.
fn graph_type(route: &str) -> Option<&'static str> {
    Some(match route {
        "users" => "user",
        "systems" => "system",
        "usergroups" => "user_group",
        "systemgroups" => "system_group",
        "applications" => "application",
        "policies" => "policy",
        "radiusservers" => "radius_server",
        "gsuites" => "g_suite",
        "office365s" => "office_365",
        "ldapservers" => "ldap_server",
        "workdays" => "workday",
        "commands" => "command",
        "softwareapps" => "software_app",
        "activedirectories" => "active_directory",
        _ => return None,
    })
}

/// Where the objects of a graph type live in the tenant.
fn collection_of(kind: &str) -> &'static str {
    match kind {
        "user" => "systemusers",
        "system" => "systems",
        "user_group" => "usergroups",
        "system_group" => "systemgroups",
        "application" => "applications",
        "policy" => "policies",
        "radius_server" => "radiusservers",
        "command" => "commands",
        "software_app" => "softwareapps",
        _ => "directories",
    }
}

/// Whether object `id` exists with graph type `kind` (directories: of that `type`).
fn object_exists(t: &Tenant, kind: &str, id: &str) -> bool {
    let directory = graph::DIRECTORY_TYPES.contains(&kind);
    t.find(collection_of(kind), id)
        .is_some_and(|v| !directory || v.get("type").and_then(Value::as_str) == Some(kind))
}

fn connection(id: &str, kind: &str, attributes: Value) -> Value {
    json!({"to": {"id": id, "type": kind, "attributes": null}, "attributes": attributes})
}

fn bare_page(items: Vec<Value>, q: &ListQuery, total_header: bool) -> Response<Body> {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(q.skip).take(q.limit).collect();
    let mut r = json_response(StatusCode::OK, &Value::Array(page));
    if total_header {
        r.headers_mut()
            .insert("x-total-count", HeaderValue::from(total));
    }
    r
}

pub(super) fn handle_v2(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    query: &str,
) -> Response<Body> {
    if let Some(r) = crate::collections::handle_v2(state, caller, method, rest, query) {
        return r;
    }
    let fam = Family::V2;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() || segs.len() > 3 {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    }
    if method != Method::GET {
        return error(fam, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let q = match parse_query(query, fam) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let tenants = state.view();
    let Some(t) = tenant_of(&tenants, caller) else {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    };
    let route = segs[0];
    match segs.len() {
        1 => {
            if !V2_COLLECTIONS.contains(&route) {
                return error(fam, StatusCode::NOT_FOUND, "Not Found");
            }
            let items = t.collections.get(route).map(Vec::as_slice).unwrap_or(&[]);
            let (total, page) = page(items, &q);
            let body: Vec<Value> = page
                .into_iter()
                .map(|v| project(v, &q.fields, "id"))
                .collect();
            let mut r = json_response(StatusCode::OK, &Value::Array(body));
            // Only some routes send the header; clients must not rely on it.
            if route == "usergroups" || route == "systemgroups" {
                r.headers_mut()
                    .insert("x-total-count", HeaderValue::from(total));
            }
            r
        }
        2 => {
            if !V2_COLLECTIONS.contains(&route) {
                return error(fam, StatusCode::NOT_FOUND, "Not Found");
            }
            match t.find(route, segs[1]) {
                Some(v) => json_response(StatusCode::OK, v),
                None => error(fam, StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        _ => {
            let (id, sub) = (segs[1], segs[2]);
            let Some(kind) = graph_type(route) else {
                return error(fam, StatusCode::NOT_FOUND, "Not Found");
            };
            if !object_exists(t, kind, id) {
                return error(
                    fam,
                    StatusCode::NOT_FOUND,
                    &format!("Not Found: {kind} {id}"),
                );
            }
            match sub {
                "members" if kind == "user_group" || kind == "system_group" => {
                    let members = t.members.get(id).map(Vec::as_slice).unwrap_or(&[]);
                    let page: Vec<Value> = members
                        .iter()
                        .skip(q.skip)
                        .take(q.limit)
                        .map(|(k, mid)| connection(mid, k, Value::Null))
                        .collect();
                    json_response(StatusCode::OK, &Value::Array(page))
                }
                "membership" if kind == "user_group" || kind == "system_group" => {
                    bare_page(membership(t, id), &q, false)
                }
                "associations" => {
                    let Some(target) = q.targets.as_deref() else {
                        return error(
                            fam,
                            StatusCode::BAD_REQUEST,
                            "Bad Request: targets is required",
                        );
                    };
                    if !graph::association_targets(kind).contains(&target) {
                        return error(
                            fam,
                            StatusCode::BAD_REQUEST,
                            &format!("Bad Request: invalid targets {target:?}"),
                        );
                    }
                    let items = t
                        .associations(kind, id, target)
                        .into_iter()
                        .map(|(oid, attrs)| connection(&oid, target, attrs))
                        .collect();
                    bare_page(items, &q, false)
                }
                _ => match graph::traversal(kind, sub) {
                    Some(how) => {
                        let page = graph::traverse(t, kind, id, how, q.skip, q.limit);
                        json_response(StatusCode::OK, &Value::Array(page))
                    }
                    None => error(fam, StatusCode::NOT_FOUND, "Not Found"),
                },
            }
        }
    }
}

/// Members resolved through nested groups, each with the paths that reach it.
fn membership(t: &Tenant, group: &str) -> Vec<Value> {
    let mut found: Vec<(String, &'static str, Vec<Vec<Value>>)> = Vec::new();
    // member id → its place in `found`.
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<(String, Vec<Value>)> = vec![(group.to_string(), Vec::new())];
    let mut seen_groups = vec![group.to_string()];
    while let Some((g, path)) = stack.pop() {
        for (kind, mid) in t.members.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
            let mut p = path.clone();
            p.push(connection(mid, kind, Value::Null));
            if *kind == "user_group" || *kind == "system_group" {
                if !seen_groups.contains(mid) {
                    seen_groups.push(mid.clone());
                    stack.push((mid.clone(), p));
                }
            } else if let Some(&i) = at.get(mid) {
                found[i].2.push(p);
            } else {
                at.insert(mid.clone(), found.len());
                found.push((mid.clone(), kind, vec![p]));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(id, kind, paths)| {
            json!({"id": id, "type": kind, "compiledAttributes": null, "paths": paths})
        })
        .collect()
}
