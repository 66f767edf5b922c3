//! Declared table schemas: `schemas/<table>.json` parsed into `TableSchema`, the Arrow
//! schema each table is written with, and the fingerprint recorded in run manifests.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// The column that keeps every value that did not fit its declared column, as a JSON object
/// of source path → original value.
pub const RESCUED: &str = "_rescued";

/// Field metadata key holding the JSON path a column was read from.
pub const SOURCE_KEY: &str = "jclake.source";
/// Field metadata key marking a UTF-8 column that holds JSON text.
pub const JSON_KEY: &str = "jclake.json";

/// A column type as the schema files spell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Int64,
    Float64,
    Bool,
    /// UTC timestamp in microseconds, from an RFC 3339 string.
    Timestamp,
    /// Any JSON value kept as its JSON text (objects with arbitrary keys).
    Json,
    Struct(Vec<Column>),
    List(Box<ColumnType>),
}

/// One column (or struct field) of a declared schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    #[serde(default = "yes")]
    pub nullable: bool,
    /// Where the value comes from: a key, or keys joined by `/` for nested values (JSON
    /// Pointer escapes: `~1` is `/`, `~0` is `~`); defaults to `name`. `$parent` is the id
    /// of the parent object of a fan-out table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `None` for a declared column; `discovered` for one found in the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The run that discovered the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_run: Option<String>,
}

fn yes() -> bool {
    true
}

impl Column {
    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.name)
    }

    /// A column found in the data: named from its source, typed from its first value.
    pub fn discovered(name: String, source: String, ty: ColumnType, run_id: &str) -> Column {
        Column {
            description: format!("Discovered field {source}."),
            name,
            ty,
            nullable: true,
            source: Some(source),
            origin: Some("discovered".into()),
            since_run: Some(run_id.into()),
        }
    }
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

/// A table's declared schema, as in `schemas/<table>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableSchema {
    pub table: String,
    #[serde(default)]
    pub description: String,
    /// Source fields that are never exported (secrets such as RADIUS shared secrets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Source fields that repeat a declared column (v1 sends both `_id` and `id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    pub columns: Vec<Column>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("schema {file}: {source}")]
    Parse {
        file: String,
        source: serde_json::Error,
    },
    #[error("schema {file}: {message}")]
    Invalid { file: String, message: String },
}

impl TableSchema {
    pub fn parse(file: &str, text: &str) -> Result<TableSchema, SchemaError> {
        let s: TableSchema = serde_json::from_str(text).map_err(|source| SchemaError::Parse {
            file: file.into(),
            source,
        })?;
        s.validate(file)?;
        Ok(s)
    }

    /// The effective schema of a lake: what earlier runs wrote (`stored`, never narrowed,
    /// never retyped), plus declared columns it does not have yet.
    pub fn merged(stored: Option<TableSchema>, declared: &TableSchema) -> TableSchema {
        let Some(mut s) = stored else {
            return declared.clone();
        };
        for c in &declared.columns {
            if !s.columns.iter().any(|x| x.name == c.name) {
                s.columns.push(c.clone());
            }
        }
        s.exclude = declared.exclude.clone();
        s.ignore = declared.ignore.clone();
        s.description = declared.description.clone();
        s
    }

    fn validate(&self, file: &str) -> Result<(), SchemaError> {
        fn check(cols: &[Column], file: &str) -> Result<(), SchemaError> {
            let mut seen = HashMap::new();
            for c in cols {
                let safe = !c.name.is_empty()
                    && c.name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    && !c.name.as_bytes()[0].is_ascii_digit();
                if !safe {
                    return Err(SchemaError::Invalid {
                        file: file.into(),
                        message: format!("column name {:?} is not lower_snake_case", c.name),
                    });
                }
                if seen.insert(c.name.clone(), ()).is_some() || c.name == RESCUED {
                    return Err(SchemaError::Invalid {
                        file: file.into(),
                        message: format!("column {:?} declared twice", c.name),
                    });
                }
                if let ColumnType::Struct(fields) = &c.ty {
                    check(fields, file)?;
                }
            }
            Ok(())
        }
        check(&self.columns, file)
    }

    /// The Arrow schema written to every file of the table: declared columns, then `_rescued`.
    pub fn arrow_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self.columns.iter().map(arrow_field).collect();
        fields.push(
            Field::new(RESCUED, DataType::Utf8, true)
                .with_metadata(HashMap::from([(JSON_KEY.to_string(), "true".to_string())])),
        );
        Arc::new(Schema::new(fields))
    }

    /// A stable digest of the column names and types, for manifests.
    pub fn fingerprint(&self) -> String {
        let text = self
            .arrow_schema()
            .fields()
            .iter()
            .map(|f| format!("{}:{}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(",");
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

pub fn arrow_type(t: &ColumnType) -> DataType {
    match t {
        ColumnType::String | ColumnType::Json => DataType::Utf8,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Struct(cols) => DataType::Struct(Fields::from(
            cols.iter().map(arrow_field).collect::<Vec<_>>(),
        )),
        ColumnType::List(inner) => {
            DataType::List(Arc::new(Field::new("item", arrow_type(inner), true)))
        }
    }
}

fn arrow_field(c: &Column) -> Field {
    let mut meta = HashMap::from([(SOURCE_KEY.to_string(), c.source().to_string())]);
    if c.ty == ColumnType::Json {
        meta.insert(JSON_KEY.to_string(), "true".to_string());
    }
    Field::new(&c.name, arrow_type(&c.ty), c.nullable).with_metadata(meta)
}

/// A short human name of a column type, for `jclake describe`.
pub fn type_name(t: &ColumnType) -> String {
    match t {
        ColumnType::String => "string".into(),
        ColumnType::Int64 => "int64".into(),
        ColumnType::Float64 => "float64".into(),
        ColumnType::Bool => "bool".into(),
        ColumnType::Timestamp => "timestamp[us, UTC]".into(),
        ColumnType::Json => "json (string)".into(),
        ColumnType::Struct(cols) => format!(
            "struct<{}>",
            cols.iter()
                .map(|c| format!("{}: {}", c.name, type_name(&c.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ColumnType::List(inner) => format!("list<{}>", type_name(inner)),
    }
}
