//! System Insights: `GET /api/v2/systeminsights/<table>` for the 60 tables of
//! `shared/jumpcloud-api-extended.md` §1.2. In comes the table name and the query: `limit`
//! (default 10, at most 10000), `skip`, `sort` (comma list, `-` for descending, stable),
//! `filter` (`field:eq:value`, `field:in:a|b|c`, `uptime` also `gte`; several ANDed, as
//! repeated `filter=`, as `filter[0]=…&filter[1]=…`, or comma-joined). Out goes a bare JSON
//! array of the rows of every system of the caller's org that reports (`systemInsights.state`
//! `enabled`), each with `system_id`; `patches` also sends `x-total-count`. An unknown table
//! is a 404, a bad `limit`, `skip` or filter a 400, both in the v2 error shape. The rows come
//! from `data::sysinsights`, made once per table and kept by the tenant (`derived`) with the
//! order of each unfiltered `sort` asked; auth, `x-org-id`, faults and rate limits are the
//! front's.

use std::cmp::Ordering;
use std::sync::Arc;

use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use crate::data::sysinsights::TABLES;
use crate::http::{error, json_response, Body, Family};
use crate::query::{sort_positions, SortKey};
use crate::state::{read, Caller, SimState};

const DEFAULT_LIMIT: usize = 10;
/// `trait:systemInsightsLimit`.
const MAX_LIMIT: usize = 10_000;

/// Every row the route serves for `table` in org `org`, in its natural order.
pub(crate) fn rows(state: &SimState, org: usize, table: &str) -> Vec<Value> {
    read(&state.tenants)
        .get(org)
        .map(|t| t.insight_rows(table).to_vec())
        .unwrap_or_default()
}

struct Filter {
    field: String,
    op: &'static str,
    value: String,
}

struct Query {
    limit: usize,
    skip: usize,
    sort: Vec<(String, bool)>,
    filters: Vec<Filter>,
}

/// Tables whose filter trait names the fields it accepts (besides `system_id`).
fn filter_fields(table: &str) -> Option<&'static [&'static str]> {
    match table {
        "certificates" => Some(&["system_id", "common_name"]),
        "system_controls" => Some(&["system_id", "name"]),
        _ => None,
    }
}

/// Splits a comma-joined filter value (`a:eq:x,b:in:y|z`) into its filters; a comma that
/// does not start a new `field:op:` stays part of the value.
fn split_filters(v: &str) -> Vec<String> {
    let starts_filter = |p: &str| {
        let mut it = p.splitn(3, ':');
        matches!((it.next(), it.next(), it.next()), (Some(f), Some(op), Some(_))
            if !f.is_empty()
                && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                && !op.is_empty()
                && op.bytes().all(|b| b.is_ascii_alphabetic() || b == b'$'))
    };
    let mut out: Vec<String> = Vec::new();
    for piece in v.split(',') {
        match out.last_mut() {
            Some(last) if !starts_filter(piece) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => out.push(piece.to_string()),
        }
    }
    out
}

fn parse_query(table: &str, query: &str) -> Result<Query, Response<Body>> {
    let bad = |m: String| error(Family::V2, StatusCode::BAD_REQUEST, &m);
    let mut q = Query {
        limit: DEFAULT_LIMIT,
        skip: 0,
        sort: Vec::new(),
        filters: Vec::new(),
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let indexed = k
            .strip_prefix("filter[")
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
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
            "sort" => {
                for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    match f.strip_prefix('-') {
                        Some(name) => q.sort.push((name.to_string(), true)),
                        None => q.sort.push((f.to_string(), false)),
                    }
                }
            }
            _ if k == "filter" || indexed => {
                for part in split_filters(&v) {
                    let mut it = part.splitn(3, ':');
                    let (Some(field), Some(op), Some(value)) = (it.next(), it.next(), it.next())
                    else {
                        return Err(bad(format!("Bad Request: invalid filter {part:?}")));
                    };
                    if field.is_empty() {
                        return Err(bad(format!("Bad Request: invalid filter {part:?}")));
                    }
                    let op = match op {
                        "eq" => "eq",
                        "in" => "in",
                        "gte" if table == "uptime" => "gte",
                        _ => {
                            return Err(bad(format!("Bad Request: invalid filter operator {op:?}")))
                        }
                    };
                    if let Some(allowed) = filter_fields(table) {
                        if !allowed.contains(&field) {
                            return Err(bad(format!(
                                "Bad Request: cannot filter {table} by {field:?}"
                            )));
                        }
                    }
                    q.filters.push(Filter {
                        field: field.to_string(),
                        op,
                        value: value.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(q)
}

/// A row's value as filter text: strings as they are, numbers and booleans as JSON prints
/// them; absent or null is no value.
fn text(row: &Value, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Plain decimal text (`-12`, `3.5`): not ids that happen to read as floats (`6012e45…`),
/// nor `inf` or `NaN`.
fn decimal(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if ok(whole) && parts.next().is_none_or(ok) {
        s.parse().ok()
    } else {
        None
    }
}

/// Numbers (and decimal strings) by value, anything else by its text.
fn compare(a: &str, b: &str) -> Ordering {
    match (decimal(a), decimal(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// The key `compare` sorts a field by.
fn decimal_key(row: &Value, field: &str) -> SortKey {
    text(row, field).map(|s| {
        let n = decimal(&s);
        (s, n)
    })
}

fn matches(row: &Value, f: &Filter) -> bool {
    let Some(got) = text(row, &f.field) else {
        return false;
    };
    match f.op {
        "eq" => got == f.value,
        "in" => f.value.split('|').any(|v| v == got),
        _ => compare(&got, &f.value) != Ordering::Less,
    }
}

pub(super) fn handle(
    state: &SimState,
    caller: &Caller,
    method: &Method,
    rest: &str,
    query: &str,
) -> Response<Body> {
    let fam = Family::V2;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let table = match segs.as_slice() {
        [t] if TABLES.contains(t) => *t,
        [t] => {
            return error(
                fam,
                StatusCode::NOT_FOUND,
                &format!("Not Found: no System Insights table {t:?}"),
            )
        }
        // The per-system routes (`/systeminsights/{system_id}/<table>`) have no GET.
        _ => return error(fam, StatusCode::NOT_FOUND, "Not Found"),
    };
    if method != Method::GET {
        return error(fam, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let q = match parse_query(table, query) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let Some(&org) = caller.orgs.first() else {
        return error(fam, StatusCode::NOT_FOUND, "Not Found");
    };
    let tenants = state.view();
    let t = tenants.get(org);
    let all = t.map(|t| t.insight_rows(table)).unwrap_or_default();
    let order = if q.sort.is_empty() {
        Arc::new(
            (0..all.len())
                .filter(|&i| q.filters.iter().all(|f| matches(&all[i], f)))
                .collect(),
        )
    } else if let Some(t) = t.filter(|_| q.filters.is_empty()) {
        // Kept per tenant: the exporter pages a table in one order, 10,000 rows at a time.
        t.sort_order(format!("systeminsights {table:?} {:?}", q.sort), || {
            sort_positions(&all, &q.sort, (0..all.len()).collect(), decimal_key)
        })
    } else {
        let sel = (0..all.len())
            .filter(|&i| q.filters.iter().all(|f| matches(&all[i], f)))
            .collect();
        Arc::new(sort_positions(&all, &q.sort, sel, decimal_key))
    };
    let total = order.len();
    let page: Vec<Value> = order
        .iter()
        .skip(q.skip)
        .take(q.limit)
        .map(|&i| all[i].clone())
        .collect();
    let mut r = json_response(StatusCode::OK, &Value::Array(page));
    // JumpCloud's PowerShell module pages `patches` by this header; no other table sends it.
    if table == "patches" {
        r.headers_mut()
            .insert("x-total-count", HeaderValue::from(total));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::{compare, decimal, split_filters};

    #[test]
    fn comma_joined_filters_split_only_where_a_filter_starts() {
        assert_eq!(
            split_filters("system_id:in:a|b,name:eq:Safari"),
            ["system_id:in:a|b", "name:eq:Safari"]
        );
        assert_eq!(
            split_filters("hardware_model:eq:MacBookPro14,3 "),
            ["hardware_model:eq:MacBookPro14,3 "]
        );
        assert_eq!(split_filters("a:eq:x,y,b:in:1|2"), ["a:eq:x,y", "b:in:1|2"]);
    }

    #[test]
    fn numbers_compare_by_value_and_ids_by_text() {
        use std::cmp::Ordering::*;
        assert_eq!(compare("9", "10"), Less);
        assert_eq!(compare("-1", "0.5"), Less);
        assert_eq!(compare("601234e5", "6012ab"), Less);
        assert_eq!(compare("nan", "inf"), Greater);
        assert_eq!(decimal("1.5E9"), None);
        assert_eq!(decimal("12."), None);
    }
}
