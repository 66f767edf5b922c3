//! The old decoder's type inference and struct widening, on `serde_json::Value`.

use serde_json::Value;

use super::super::discover::{path_join, sanitize, unescape_key, unique_name};
use crate::model::schema::{type_name, Column, ColumnType};

/// The column type of a JSON value, or `None` for null (nothing to learn yet). Objects whose
/// keys look free-form (spaces, dots, non-ASCII) stay JSON text; so do empty objects and
/// arrays whose elements disagree.
pub fn infer(v: &serde_json::Value) -> Option<ColumnType> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(ColumnType::Bool),
        Value::Number(n) if n.is_i64() => Some(ColumnType::Int64),
        Value::Number(_) => Some(ColumnType::Float64),
        Value::String(_) => Some(ColumnType::String),
        Value::Array(items) => {
            let mut elem: Option<ColumnType> = None;
            for x in items {
                match (infer(x), &elem) {
                    (None, _) => {}
                    (Some(t), None) => elem = Some(t),
                    (Some(t), Some(e)) if &t == e => {}
                    _ => return Some(ColumnType::Json),
                }
            }
            Some(match elem {
                Some(t) => ColumnType::List(Box::new(t)),
                None => ColumnType::Json,
            })
        }
        Value::Object(m) => {
            let fixed = !m.is_empty()
                && m.keys().all(|k| {
                    k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '$')
                });
            if !fixed {
                return Some(ColumnType::Json);
            }
            let mut cols: Vec<Column> = Vec::new();
            for (k, x) in m {
                if let Some(t) = infer(x) {
                    let taken: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                    let name = unique_name(&sanitize(k), &taken);
                    let source = path_join("", k);
                    cols.push(Column {
                        description: format!("Discovered field {k}."),
                        source: (name != source).then_some(source),
                        name,
                        ty: t,
                        nullable: true,
                        lenient: false,
                        origin: None,
                        since_run: None,
                    });
                }
            }
            Some(if cols.is_empty() {
                ColumnType::Json
            } else {
                ColumnType::Struct(cols)
            })
        }
    }
}

/// Adds to struct types (also inside lists) every key of `v` they do not have; returns the
/// changes as (field path, description).
pub(super) fn widen(
    ty: &mut ColumnType,
    v: &Value,
    path: &str,
    run_id: &str,
    changes: &mut Vec<(String, String)>,
) {
    match (ty, v) {
        (ColumnType::Struct(cols), Value::Object(m)) => {
            for (k, x) in m {
                if x.is_null() {
                    continue;
                }
                let first = |c: &Column| {
                    c.source()
                        .split('/')
                        .next()
                        .is_some_and(|s| unescape_key(s) == k.as_str())
                };
                match cols.iter_mut().find(|c| first(c)) {
                    // Only objects and arrays can widen a type (this runs for every record).
                    Some(c) if matches!(x, Value::Object(_) | Value::Array(_)) => {
                        let sub = format!("{path}.{}", c.name);
                        widen(&mut c.ty, x, &sub, run_id, changes);
                    }
                    Some(_) => {}
                    None => {
                        let Some(t) = infer(x) else { continue };
                        let taken: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                        let name = unique_name(&sanitize(k), &taken);
                        let line = format!("added field {path}.{name} ({})", type_name(&t));
                        cols.push(Column::discovered(name, path_join("", k), t, run_id));
                        changes.push((format!("{path}/{k}"), line));
                    }
                }
            }
        }
        (ColumnType::List(inner), Value::Array(items)) => {
            for x in items {
                widen(inner, x, path, run_id, changes);
            }
        }
        _ => {}
    }
}
