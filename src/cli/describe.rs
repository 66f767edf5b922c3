//! `jclake describe <table>`: a table's columns (name, type, nullable, source path, origin,
//! description), declared or as a lake has them.

use std::process::ExitCode;

use super::{existing_lake, fail, layers};
use crate::config::{Flags, LakeSettings};
use crate::model::{exit, Column, ColumnType, TableSchema, RESCUED};
use crate::sink::{Lake, S3Options};

pub(super) async fn describe(table: &str, flags: &Flags<LakeSettings>) -> ExitCode {
    let Some(r) = crate::catalog::find(table) else {
        return fail(
            exit::CONFIG,
            format!(
                "unknown table {table:?}; known tables: {}",
                crate::catalog::table_names().join(", ")
            ),
        );
    };
    let declared = match r.schema() {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };
    let layers = match layers(flags) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let given = layers.get::<String>(&crate::config::defs::LAKE);
    let stored = match given {
        Err(e) => return fail(exit::CONFIG, e),
        Ok(None) => None,
        Ok(Some(_)) => {
            let (location, s3) = match existing_lake(&layers) {
                Ok(x) => x,
                Err(code) => return code,
            };
            match read_stored(&location, &s3, table).await {
                Ok(s) => s,
                Err(e) => return fail(e.exit_code(), e),
            }
        }
    };
    let s = TableSchema::merged(stored, &declared);
    out!("{}: {}", s.table, s.description);
    if !s.key.is_empty() {
        out!(
            "key: {} (rows may repeat a key; every row is kept)",
            s.key.join(", ")
        );
    }
    out!(
        "{:<34} {:<28} {:<9} {:<26} {:<34} description",
        "column",
        "type",
        "nullable",
        "source",
        "origin"
    );
    let mut rows = Vec::new();
    describe_rows(&s.columns, "", "", None, &mut rows);
    for (name, ty, nullable, source, origin, description) in rows {
        out!("{name:<34} {ty:<28} {nullable:<9} {source:<26} {origin:<34} {description}");
    }
    out!(
        "{:<34} {:<28} {:<9} {:<26} {:<34} Values that did not fit their column, and undeclared fields: {{source path: original value}}.",
        RESCUED,
        "json (string)",
        "yes",
        "(any)",
        "declared"
    );
    if !s.exclude.is_empty() {
        out!("never exported: {}", s.exclude.join(", "));
    }
    ExitCode::SUCCESS
}

type DescribeRow = (String, String, &'static str, String, String, String);

/// One row per column, then one per struct field (`parent.child`), so that discovered
/// nested fields show their origin too.
fn describe_rows(
    cols: &[Column],
    prefix: &str,
    source_prefix: &str,
    parent_origin: Option<&str>,
    out: &mut Vec<DescribeRow>,
) {
    for c in cols {
        let name = if prefix.is_empty() {
            c.name.clone()
        } else {
            format!("{prefix}.{}", c.name)
        };
        let source = if source_prefix.is_empty() {
            c.source().to_string()
        } else {
            format!("{source_prefix}/{}", c.source())
        };
        // Fields inside a discovered struct were discovered with it.
        let origin = match (&c.origin, &c.since_run, parent_origin) {
            (Some(o), Some(run), _) => format!("{o} (run {run})"),
            (Some(o), None, _) => o.clone(),
            (None, _, Some(p)) => p.to_string(),
            _ => "declared".into(),
        };
        let nullable = if c.nullable { "yes" } else { "no" };
        let ty = match &c.ty {
            ColumnType::Struct(_) => "struct".to_string(),
            ColumnType::List(inner) if matches!(inner.as_ref(), ColumnType::Struct(_)) => {
                "list<struct>".to_string()
            }
            t => crate::model::schema::type_name(t),
        };
        out.push((
            name.clone(),
            ty,
            nullable,
            source.clone(),
            origin.clone(),
            c.description.clone(),
        ));
        let inherited = (origin != "declared").then_some(origin.as_str());
        match &c.ty {
            ColumnType::Struct(fields) => describe_rows(fields, &name, &source, inherited, out),
            ColumnType::List(inner) => {
                if let ColumnType::Struct(fields) = inner.as_ref() {
                    describe_rows(fields, &format!("{name}[]"), &source, inherited, out);
                }
            }
            _ => {}
        }
    }
}

/// The effective schema a lake saved for `table`, if a run widened it.
async fn read_stored(
    location: &crate::sink::LakeLocation,
    s3: &S3Options,
    table: &str,
) -> Result<Option<TableSchema>, crate::export::ExportError> {
    let lake = Lake::open(location, s3)?;
    Ok(crate::manifest::read_table_schema(&lake, table).await?)
}
