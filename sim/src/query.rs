//! What the list routes (`v1v2`, `collections`, `sysinsights`) share of their query
//! handling: a record's field as text, text compared as numbers when both read as numbers,
//! and a stable sort of record positions by several fields, each key computed once per
//! record. Each route keeps its own parameter rules and error texts, as the service does.

use std::cmp::Ordering;

use serde_json::Value;

/// The value at a dotted path as filter and sort text: strings as they are, numbers and
/// booleans as JSON prints them; absent or null is no value.
pub(crate) fn field_text(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.get(p)?;
    }
    match cur {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Numbers as numbers, everything else as text (uniform ISO timestamps sort as text).
pub(crate) fn compare_text(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// One sort field's value, with its number when it reads as one.
pub(crate) type SortKey = Option<(String, Option<f64>)>;

/// The key `compare_text` sorts a field by.
pub(crate) fn text_key(v: &Value, field: &str) -> SortKey {
    field_text(v, field).map(|s| {
        let n = s.parse::<f64>().ok();
        (s, n)
    })
}

/// Keys compared: numbers when both are, text otherwise, absent first.
fn compare_keys(a: &SortKey, b: &SortKey) -> Ordering {
    match (a, b) {
        (Some((_, Some(x))), Some((_, Some(y)))) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Some((x, _)), Some((y, _))) => x.cmp(y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The positions `sel` (into `items`, in stored order) sorted by `sort` (field, descending),
/// stably, with `key` computed once per record and field.
pub(crate) fn sort_positions(
    items: &[Value],
    sort: &[(String, bool)],
    sel: Vec<usize>,
    key: impl Fn(&Value, &str) -> SortKey,
) -> Vec<usize> {
    let keys: Vec<Vec<SortKey>> = sel
        .iter()
        .map(|&i| sort.iter().map(|(f, _)| key(&items[i], f)).collect())
        .collect();
    let mut order: Vec<usize> = (0..sel.len()).collect();
    order.sort_by(|&a, &b| {
        for (k, (_, desc)) in sort.iter().enumerate() {
            let c = compare_keys(&keys[a][k], &keys[b][k]);
            let c = if *desc { c.reverse() } else { c };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    });
    order.into_iter().map(|k| sel[k]).collect()
}

/// `sort=a,-b` (v2) or `sort=a -b` (v1): fields and whether each is descending.
pub(crate) fn parse_sort(v: &str, into: &mut Vec<(String, bool)>) {
    for f in v.split([',', ' ']).filter(|f| !f.is_empty()) {
        match f.strip_prefix('-') {
            Some(name) => into.push((name.to_string(), true)),
            None => into.push((f.to_string(), false)),
        }
    }
}
