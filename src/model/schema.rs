//! A table's schema, one format for three places: the declared `schemas/<table>.json`
//! compiled into the binary, the effective `_jclake/schemas/<table>.json` of a lake, and the
//! Arrow schema (with field metadata) of every Parquet file written for the table.

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
    /// Also accept the value as osquery sends it (System Insights): an integer or float as
    /// a decimal or scientific string, a boolean as `0`/`1` or `"0"`/`"1"`. What still does
    /// not parse goes to `_rescued`, as everywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lenient: bool,
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
            lenient: false,
            source: Some(source),
            origin: Some("discovered".into()),
            since_run: Some(run_id.into()),
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
    /// Columns that name a row (System Insights rows carry no id): the sort order of its
    /// pages and the key to join on. Not unique: rows that repeat a key are all kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
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
        s.key = declared.key.clone();
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
        check(&self.columns, file)?;
        if let Some(k) = self
            .key
            .iter()
            .find(|k| !self.columns.iter().any(|c| &c.name == *k))
        {
            return Err(SchemaError::Invalid {
                file: file.into(),
                message: format!("key column {k:?} is not declared"),
            });
        }
        Ok(())
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
        super::digest(text.as_bytes())
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
