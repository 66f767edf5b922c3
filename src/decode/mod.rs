//! JSON to Arrow: in come the records of one API page (`serde_json::Value`s), out go Arrow
//! record batches in the table's effective schema. Each record is projected onto the
//! columns (renames, RFC 3339 → microsecond timestamps, arbitrary-key objects → JSON text).
//! Under the `evolve` policy a field the schema does not know becomes a new nullable column
//! (or struct field) before the page is decoded; a value that does not fit its column goes
//! into the `_rescued` JSON column; nothing is dropped. Rows then go through arrow-json's
//! `Decoder`, one page at a time, so memory is bounded by the page size.

mod discover;
mod project;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::json::reader::{Decoder, ReaderBuilder};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use serde_json::Value;

use crate::model::batch::{conform, offset_utc};
use crate::model::schema::type_name;
use crate::model::{Column, TableSchema};
use discover::{infer, sanitize, unique_name, widen};
pub use discover::{path_join, path_keys, unescape_key};
pub use project::parse_timestamp_us;
use project::{lookup, project, unknown_paths, Consumed, Projected};

/// Rows handed to arrow-json at once; pages are at most this large or are split.
const CHUNK_ROWS: usize = 8192;

/// Below this many rows a chunk is projected on the calling thread: not worth a fork.
const PARALLEL_ROWS: usize = 512;

/// What to do with a field the schema does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaPolicy {
    /// Add it as a new nullable column (or struct field); the schema only widens.
    #[default]
    Evolve,
    /// Keep it in `_rescued`; the schema never changes.
    Freeze,
    /// Stop the table with a message naming the field and a record id.
    Fail,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("table {table}: record {record} has no value for required column {column}")]
    MissingRequired {
        table: String,
        column: String,
        record: String,
    },
    #[error("table {table}: a record is not a JSON object: {found}")]
    NotAnObject { table: String, found: String },
    #[error("table {table}: field {field} is not in the schema (schema policy `fail`); example record id {record}")]
    UnknownField {
        table: String,
        field: String,
        record: String,
    },
    #[error("table {table}: arrow decoder: {source}")]
    Arrow { table: String, source: ArrowError },
}

/// What decoding saw, for the run summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DecodeStats {
    pub rows: u64,
    /// Source path → number of values rescued from it.
    pub rescued: BTreeMap<String, u64>,
    /// Values of excluded (secret) fields dropped.
    pub excluded: u64,
}

/// One table's effective schema, shared by every decoder of the table in a run (one per
/// org). A decoder adopts what the others discovered before it looks for more, under one
/// lock, so the orgs' files agree on each column's name and type and on struct field order,
/// and the schema a commit saves is never narrower than one saved before it.
#[derive(Clone)]
pub struct SharedSchema(Arc<Mutex<(u64, TableSchema)>>);

impl SharedSchema {
    pub fn new(schema: TableSchema) -> SharedSchema {
        SharedSchema(Arc::new(Mutex::new((0, schema))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, TableSchema)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The schema, if any decoder of the run widened it: what a commit of any of the
    /// table's partitions must save, since its files may hold columns another org found.
    pub fn widened(&self) -> Option<TableSchema> {
        let guard = self.lock();
        (guard.0 > 0).then(|| guard.1.clone())
    }
}

/// Turns pages of JSON records into record batches of one table.
pub struct BatchDecoder {
    schema: TableSchema,
    /// The run's schema of this table, and the version of it this decoder has.
    shared: Option<(SharedSchema, u64)>,
    policy: SchemaPolicy,
    run_id: String,
    arrow: SchemaRef,
    decoder: Decoder,
    consumed: Consumed,
    stats: DecodeStats,
    changes: Vec<String>,
}

fn build_decoder(schema: &TableSchema) -> Result<(SchemaRef, Decoder), DecodeError> {
    let arrow = schema.arrow_schema();
    let decoder = ReaderBuilder::new(Arc::new(offset_utc(&arrow)))
        .with_batch_size(CHUNK_ROWS)
        .build_decoder()
        .map_err(|source| DecodeError::Arrow {
            table: schema.table.clone(),
            source,
        })?;
    Ok((arrow, decoder))
}

impl BatchDecoder {
    /// `schema` is the table's effective schema (declared plus what earlier runs found);
    /// `run_id` is recorded on every column this run discovers.
    pub fn with_policy(
        schema: TableSchema,
        policy: SchemaPolicy,
        run_id: &str,
    ) -> Result<BatchDecoder, DecodeError> {
        let (arrow, decoder) = build_decoder(&schema)?;
        let consumed = Consumed::of(&schema);
        Ok(BatchDecoder {
            schema,
            shared: None,
            policy,
            run_id: run_id.into(),
            arrow,
            decoder,
            consumed,
            stats: DecodeStats::default(),
            changes: Vec::new(),
        })
    }

    /// A decoder of a table whose schema other decoders of the run widen too.
    pub fn sharing(
        shared: &SharedSchema,
        policy: SchemaPolicy,
        run_id: &str,
    ) -> Result<BatchDecoder, DecodeError> {
        let (version, schema) = shared.lock().clone();
        let mut d = BatchDecoder::with_policy(schema, policy, run_id)?;
        d.shared = Some((shared.clone(), version));
        Ok(d)
    }

    /// The schema of the batches decoded last (it only ever widens).
    pub fn arrow_schema(&self) -> SchemaRef {
        self.arrow.clone()
    }

    /// The effective schema, with whatever this run discovered.
    pub fn table_schema(&self) -> &TableSchema {
        &self.schema
    }

    /// Schema changes made by this decoder, one line each.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Decodes one page. `parent` is the parent object's id for fan-out tables.
    pub fn decode(
        &mut self,
        records: &[Value],
        parent: Option<&str>,
    ) -> Result<Vec<RecordBatch>, DecodeError> {
        if self.policy != SchemaPolicy::Freeze && self.widen_for(records)? {
            let (arrow, decoder) = build_decoder(&self.schema)?;
            self.arrow = arrow;
            self.decoder = decoder;
            self.consumed = Consumed::of(&self.schema);
        }
        let mut out = Vec::new();
        for chunk in records.chunks(CHUNK_ROWS) {
            // Projection is per record and the costliest step: rayon spreads it over the
            // cores; the results keep the page's order.
            let (schema, consumed) = (&self.schema, &self.consumed);
            let one = |r: &Value| project(schema, consumed, r, parent);
            let projected: Vec<Result<Projected, DecodeError>> = if chunk.len() >= PARALLEL_ROWS {
                chunk.par_iter().map(one).collect()
            } else {
                chunk.iter().map(one).collect()
            };
            let mut rows = Vec::with_capacity(projected.len());
            for p in projected {
                let p = p?;
                self.stats.rows += 1;
                self.stats.excluded += p.excluded;
                for k in p.rescued {
                    *self.stats.rescued.entry(k).or_default() += 1;
                }
                rows.push(p.row);
            }
            let err = |source| DecodeError::Arrow {
                table: self.schema.table.clone(),
                source,
            };
            self.decoder.serialize(&rows).map_err(err)?;
            if let Some(b) = self.decoder.flush().map_err(err)? {
                out.push(conform(&b, &self.arrow).map_err(err)?);
            }
        }
        Ok(out)
    }

    /// Adopts what other decoders of the table discovered, then discovers in `records`;
    /// returns whether this decoder's schema changed.
    fn widen_for(&mut self, records: &[Value]) -> Result<bool, DecodeError> {
        let Some((shared, version)) = self.shared.clone() else {
            return self.discover(records);
        };
        let mut guard = shared.lock();
        let adopted = guard.0 != version;
        if adopted {
            self.schema = guard.1.clone();
            self.consumed = Consumed::of(&self.schema);
        }
        let found = self.discover(records)?;
        if found {
            guard.0 += 1;
            guard.1 = self.schema.clone();
        }
        self.shared = Some((shared.clone(), guard.0));
        Ok(adopted || found)
    }

    /// Finds fields the schema does not know; under `evolve` adds them, under `fail` stops.
    /// Returns whether the schema changed.
    fn discover(&mut self, records: &[Value]) -> Result<bool, DecodeError> {
        let mut changed = false;
        for rec in records {
            let Some(obj) = rec.as_object() else { continue };
            let mut unknown = Vec::new();
            unknown_paths(obj, &self.consumed, "", &mut unknown);
            for (path, v) in unknown {
                self.refuse_if_fail(&path, rec)?;
                let Some(ty) = infer(v) else { continue };
                let taken: Vec<&str> = self
                    .schema
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                let name = unique_name(&sanitize(&path.replace('/', "_")), &taken);
                self.changes.push(format!(
                    "added column {name} ({}) from {path}",
                    type_name(&ty)
                ));
                self.schema
                    .columns
                    .push(Column::discovered(name, path.clone(), ty, &self.run_id));
                self.consumed.insert(&path);
                changed = true;
            }
            let (policy, run_id) = (self.policy, self.run_id.clone());
            let mut nested = Vec::new();
            for c in self.schema.columns.iter_mut() {
                if c.source().starts_with('$') {
                    continue;
                }
                if let Some(v) = lookup(rec, c.source()) {
                    widen(&mut c.ty, v, &c.name, &run_id, &mut nested);
                }
            }
            if let Some((field, _)) = nested.first() {
                if policy == SchemaPolicy::Fail {
                    return Err(self.unknown_field(field, rec));
                }
            }
            for (_, line) in nested {
                self.changes.push(line);
                changed = true;
            }
        }
        Ok(changed)
    }

    fn refuse_if_fail(&self, field: &str, rec: &Value) -> Result<(), DecodeError> {
        if self.policy == SchemaPolicy::Fail {
            return Err(self.unknown_field(field, rec));
        }
        Ok(())
    }

    fn unknown_field(&self, field: &str, rec: &Value) -> DecodeError {
        let id = ["_id", "id"]
            .iter()
            .find_map(|k| rec.get(*k).and_then(Value::as_str))
            .unwrap_or("(none)");
        DecodeError::UnknownField {
            table: self.schema.table.clone(),
            field: field.into(),
            record: id.into(),
        }
    }
}

#[cfg(test)]
mod tests;
