//! Schema discovery: for fields found in the data, SQL-safe column names made unique, the
//! column type a JSON value implies, struct types widened by new keys, source paths (JSON
//! Pointer escapes), and which keys of a record the columns already read (`Consumed`).

use std::collections::HashMap;

use super::value::Val;
use crate::model::schema::{type_name, Column, ColumnType, RESCUED};
use crate::model::TableSchema;

/// Which parts of a source record the columns read: a leaf consumes its whole subtree, an
/// inner node only the keys below it.
#[derive(Debug, Default)]
pub(super) struct Consumed {
    pub(super) children: HashMap<String, Consumed>,
    pub(super) whole: bool,
}

impl Consumed {
    pub(super) fn insert(&mut self, path: &str) {
        let mut node = self;
        for part in path_keys(path) {
            node = node.children.entry(part).or_default();
        }
        node.whole = true;
    }

    pub(super) fn of(schema: &TableSchema) -> Consumed {
        let mut c = Consumed::default();
        for col in &schema.columns {
            if !col.source().starts_with('$') {
                c.insert(col.source());
            }
        }
        for e in schema.exclude.iter().chain(&schema.ignore) {
            c.insert(e);
        }
        c
    }
}

/// The non-null values under keys the columns do not read, with their paths.
pub(super) fn unknown_paths<'v, 'a>(
    obj: &'v [(std::borrow::Cow<'a, str>, Val<'a>)],
    consumed: &Consumed,
    prefix: &str,
    out: &mut Vec<(String, &'v Val<'a>)>,
) {
    for (k, v) in obj {
        match consumed.children.get(k.as_ref()) {
            None if !v.is_null() => out.push((path_join(prefix, k), v)),
            Some(node) if !node.whole => {
                if let Val::Obj(inner) = v {
                    unknown_paths(inner, node, &path_join(prefix, k), out);
                }
            }
            _ => {}
        }
    }
}

/// The value at a source path (`a/b`), if any.
pub fn lookup<'v, 'a>(v: &'v Val<'a>, path: &str) -> Option<&'v Val<'a>> {
    let mut cur = v;
    for segment in path.split('/') {
        cur = cur.get(unescape_key(segment).as_ref())?;
    }
    Some(cur)
}

/// The keys of a source path (`a/b` → `a`, `b`), JSON Pointer escapes undone.
pub fn path_keys(source: &str) -> Vec<String> {
    source
        .split('/')
        .map(|k| unescape_key(k).into_owned())
        .collect()
}

/// One escaped path segment as its key; borrowed when there is nothing to unescape (the
/// usual case, and this runs for every column of every record).
pub fn unescape_key(segment: &str) -> std::borrow::Cow<'_, str> {
    if segment.contains('~') {
        segment.replace("~1", "/").replace("~0", "~").into()
    } else {
        segment.into()
    }
}

/// `prefix/key` with the key escaped.
pub fn path_join(prefix: &str, key: &str) -> String {
    let k: std::borrow::Cow<'_, str> = if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    };
    if prefix.is_empty() {
        k.into_owned()
    } else {
        format!("{prefix}/{k}")
    }
}

/// A SQL-safe column name for any source key: lower_snake_case ASCII, camelCase split,
/// every other character `_`, non-ASCII letters as their code point (`部` → `u90e8`), never
/// starting with a digit. Deterministic, so the same key always gets the same name.
pub fn sanitize(key: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for ch in key.chars() {
        if ch.is_ascii_alphanumeric() {
            if ch.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
            prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        } else if ch.is_ascii() {
            out.push('_');
            prev_lower = false;
        } else {
            out.push_str(&format!("_u{:04x}_", ch as u32));
            prev_lower = false;
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for ch in out.chars() {
        if !(ch == '_' && collapsed.ends_with('_')) {
            collapsed.push(ch);
        }
    }
    let trimmed = collapsed.trim_matches('_').to_string();
    match trimmed.chars().next() {
        None => "field".into(),
        Some(c) if c.is_ascii_digit() => format!("c_{trimmed}"),
        Some(_) => trimmed,
    }
}

/// `base`, or `base_2`, `base_3`, … whichever is not taken (names compare case-insensitively
/// in SQL engines; sanitised names are already lowercase).
pub fn unique_name(base: &str, taken: &[&str]) -> String {
    if !taken.contains(&base) && base != RESCUED {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken.contains(&n.as_str()))
        .unwrap_or_else(|| base.to_string())
}

/// The column type of a JSON value, or `None` for null (nothing to learn yet). Objects whose
/// keys look free-form (spaces, dots, non-ASCII) stay JSON text; so do empty objects and
/// arrays whose elements disagree.
pub fn infer(v: &Val) -> Option<ColumnType> {
    match v {
        Val::Null => None,
        Val::Bool(_) => Some(ColumnType::Bool),
        Val::I64(_) => Some(ColumnType::Int64),
        Val::U64(u) if i64::try_from(*u).is_ok() => Some(ColumnType::Int64),
        Val::U64(_) | Val::F64(_) => Some(ColumnType::Float64),
        Val::Str(_) => Some(ColumnType::String),
        Val::Arr(items) => {
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
        Val::Obj(m) => {
            let fixed = !m.is_empty()
                && m.iter().map(|(k, _)| k).all(|k| {
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
    v: &Val,
    path: &str,
    run_id: &str,
    changes: &mut Vec<(String, String)>,
) {
    match (ty, v) {
        (ColumnType::Struct(cols), Val::Obj(m)) => {
            for (k, x) in m {
                if x.is_null() {
                    continue;
                }
                let first = |c: &Column| {
                    c.source()
                        .split('/')
                        .next()
                        .is_some_and(|s| unescape_key(s) == k.as_ref())
                };
                match cols.iter_mut().find(|c| first(c)) {
                    // Only objects and arrays can widen a type (this runs for every record).
                    Some(c) if matches!(x, Val::Obj(_) | Val::Arr(_)) => {
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
        (ColumnType::List(inner), Val::Arr(items)) => {
            for x in items {
                widen(inner, x, path, run_id, changes);
            }
        }
        _ => {}
    }
}
