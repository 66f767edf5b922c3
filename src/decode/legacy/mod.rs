//! The decoder before page bytes went straight into Arrow, kept only for the golden test
//! (`tests/golden.rs`, `JCLAKE_TEST_DECODER=legacy`): records as `serde_json::Value`s,
//! projected to a second `Value` per record, then through arrow-json's `Decoder`. It is
//! compiled in only with the `test-hooks` feature.

mod discover;
mod project;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::json::reader::{Decoder, ReaderBuilder};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use serde_json::Value;

use super::discover::{sanitize, unique_name, Consumed};
use super::{DecodeError, DecodeStats, SchemaPolicy, SharedSchema};
use crate::model::batch::{conform, offset_utc};
use crate::model::schema::type_name;
use crate::model::{Column, TableSchema};
use discover::{infer, widen};
use project::{lookup, project, unknown_paths, Projected};

/// Rows handed to arrow-json at once; pages are at most this large or are split.
const CHUNK_ROWS: usize = 8192;

/// Below this many rows a chunk is projected on the calling thread: not worth a fork.
const PARALLEL_ROWS: usize = 512;

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
