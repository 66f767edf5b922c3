//! (Legacy decoder.) One record onto the table's columns: values looked up by source path, fitted to their
//! column type (RFC 3339 → microseconds, objects → JSON text), misfits and fields no column
//! reads kept in `_rescued`, secrets counted and dropped.

use serde_json::{Map, Value};

use super::super::discover::{path_join, unescape_key, Consumed};
use super::DecodeError;
use crate::decode::parse_timestamp_us;
use crate::model::{ColumnType, TableSchema, RESCUED};

/// One record projected onto the columns, with what it rescued and excluded.
pub(super) struct Projected {
    pub row: Value,
    /// Source paths of the values put in `_rescued`.
    pub rescued: Vec<String>,
    pub excluded: u64,
}

pub(super) fn project(
    schema: &TableSchema,
    consumed: &Consumed,
    rec: &Value,
    parent: Option<&str>,
) -> Result<Projected, DecodeError> {
    let obj = rec.as_object().ok_or_else(|| DecodeError::NotAnObject {
        table: schema.table.clone(),
        found: truncate(&rec.to_string(), 80),
    })?;
    let mut rescued = Map::new();
    let mut row = Map::new();
    for c in &schema.columns {
        let v = match c.source() {
            "$parent" => parent
                .map(|p| Value::String(p.into()))
                .unwrap_or(Value::Null),
            path => lookup(rec, path)
                .map(|v| coerce(&c.ty, v, path, &mut rescued))
                .unwrap_or(Value::Null),
        };
        if v.is_null() && !c.nullable {
            return Err(DecodeError::MissingRequired {
                table: schema.table.clone(),
                column: c.name.clone(),
                record: truncate(&rec.to_string(), 120),
            });
        }
        row.insert(c.name.clone(), v);
    }
    unknown_fields(obj, consumed, "", &mut rescued);
    let excluded = schema
        .exclude
        .iter()
        .filter(|e| lookup(rec, e).is_some_and(|v| !v.is_null()))
        .count() as u64;
    let keys = rescued.keys().cloned().collect();
    if !rescued.is_empty() {
        row.insert(
            RESCUED.into(),
            Value::String(Value::Object(rescued).to_string()),
        );
    }
    Ok(Projected {
        row: Value::Object(row),
        rescued: keys,
        excluded,
    })
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The value at a source path (`a/b`), if any.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for segment in path.split('/') {
        cur = cur.get(unescape_key(segment).as_ref())?;
    }
    Some(cur)
}

/// The non-null values under keys the columns do not read, with their paths.
pub(super) fn unknown_paths<'a>(
    obj: &'a Map<String, Value>,
    consumed: &Consumed,
    prefix: &str,
    out: &mut Vec<(String, &'a Value)>,
) {
    // Paths are built only for what is reported or descended into: most keys are read by
    // a column, and this runs for every record.
    for (k, v) in obj {
        match consumed.children.get(k) {
            None if !v.is_null() => out.push((path_join(prefix, k), v)),
            Some(node) if !node.whole => {
                if let Value::Object(inner) = v {
                    unknown_paths(inner, node, &path_join(prefix, k), out);
                }
            }
            _ => {}
        }
    }
}

/// Rescues every non-null value under keys the columns do not read.
fn unknown_fields(
    obj: &Map<String, Value>,
    consumed: &Consumed,
    prefix: &str,
    rescued: &mut Map<String, Value>,
) {
    let mut found = Vec::new();
    unknown_paths(obj, consumed, prefix, &mut found);
    for (path, v) in found {
        rescued.insert(path, v.clone());
    }
}

/// Fits `v` to `ty`; a misfit is recorded under `path` and becomes null.
fn coerce(ty: &ColumnType, v: &Value, path: &str, rescued: &mut Map<String, Value>) -> Value {
    let fitted = match (ty, v) {
        (_, Value::Null) => Some(Value::Null),
        (ColumnType::String, Value::String(_))
        | (ColumnType::Bool, Value::Bool(_))
        | (ColumnType::Float64, Value::Number(_)) => Some(v.clone()),
        (ColumnType::Int64, Value::Number(n)) if n.is_i64() => Some(v.clone()),
        // JumpCloud sends "" for an unset date.
        (ColumnType::Timestamp, Value::String(s)) if s.is_empty() => Some(Value::Null),
        (ColumnType::Timestamp, Value::String(s)) => parse_timestamp_us(s).map(Value::from),
        (ColumnType::Json, _) => Some(Value::String(v.to_string())),
        (ColumnType::Struct(cols), Value::Object(m)) => {
            let mut out = Map::new();
            let mut consumed = Consumed::default();
            for c in cols {
                let sub = path_join(path, c.source());
                let x = lookup(v, c.source())
                    .map(|x| coerce(&c.ty, x, &sub, rescued))
                    .unwrap_or(Value::Null);
                out.insert(c.name.clone(), x);
                consumed.insert(c.source());
            }
            unknown_fields(m, &consumed, path, rescued);
            Some(Value::Object(out))
        }
        (ColumnType::List(inner), Value::Array(items)) => {
            let mut misfits = Map::new();
            let out: Vec<Value> = items
                .iter()
                .map(|x| coerce(inner, x, path, &mut misfits))
                .collect();
            // A list keeps its elements together: one misfit rescues the whole list.
            misfits.is_empty().then_some(Value::Array(out))
        }
        _ => None,
    };
    fitted.unwrap_or_else(|| {
        rescued.insert(path.to_string(), v.clone());
        Value::Null
    })
}
