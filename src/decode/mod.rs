//! JSON to Arrow: in come pages of raw JSON records (`RawPage`), out go Arrow record batches
//! in the table's effective schema. Each record is parsed once from the page's bytes
//! (`value`, strings borrowed) and walked straight into one builder per column (`build`):
//! renames, RFC 3339 → microsecond timestamps, arbitrary-key objects → JSON text. Under the
//! `evolve` policy a field the schema does not know becomes a new nullable column (or struct
//! field) before its page is written (`discover`); a value that does not fit its column goes
//! into the `_rescued` JSON column; nothing is dropped. A page is split among the cores, so
//! memory is a page and its batches.

mod build;
mod discover;
mod graph;
#[cfg(feature = "test-hooks")]
mod legacy;
mod value;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::DateTime;
use rayon::prelude::*;

use crate::model::schema::type_name;
use crate::model::{Column, RawPage, TableSchema};
use discover::{infer, lookup, sanitize, unique_name, unknown_paths, widen, Consumed};
pub use discover::{path_join, path_keys, unescape_key};
pub use graph::Reversed;
pub use value::Val;

/// Rows of one batch at most: a page is decoded in pieces of this size or smaller.
const CHUNK_ROWS: usize = 8192;

/// Below this many records a page is decoded on the calling thread: not worth a fork.
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
    stats: DecodeStats,
    changes: Vec<String>,
    /// Set when an edge table is fanned out from its other end.
    reversed: Option<Reversed>,
    /// The decoder the golden test compares with, when `JCLAKE_TEST_DECODER=legacy`.
    #[cfg(feature = "test-hooks")]
    legacy: Option<legacy::BatchDecoder>,
}

impl BatchDecoder {
    /// `schema` is the table's effective schema (declared plus what earlier runs found);
    /// `run_id` is recorded on every column this run discovers.
    pub fn with_policy(
        schema: TableSchema,
        policy: SchemaPolicy,
        run_id: &str,
    ) -> Result<BatchDecoder, DecodeError> {
        Ok(BatchDecoder {
            arrow: schema.arrow_schema(),
            schema,
            shared: None,
            policy,
            run_id: run_id.into(),
            stats: DecodeStats::default(),
            changes: Vec::new(),
            reversed: None,
            #[cfg(feature = "test-hooks")]
            legacy: None,
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
        #[cfg(feature = "test-hooks")]
        if std::env::var("JCLAKE_TEST_DECODER").as_deref() == Ok("legacy") {
            d.legacy = Some(legacy::BatchDecoder::sharing(shared, policy, run_id)?);
        }
        Ok(d)
    }

    /// Reads the pages of an edge table fanned out from its other end (see [`Reversed`]).
    pub fn reverse(&mut self, reversed: Reversed) {
        self.reversed = Some(reversed);
    }

    /// The schema of the batches decoded last (it only ever widens).
    pub fn arrow_schema(&self) -> SchemaRef {
        #[cfg(feature = "test-hooks")]
        if let Some(l) = &self.legacy {
            return l.arrow_schema();
        }
        self.arrow.clone()
    }

    /// The effective schema, with whatever this run discovered.
    pub fn table_schema(&self) -> &TableSchema {
        #[cfg(feature = "test-hooks")]
        if let Some(l) = &self.legacy {
            return l.table_schema();
        }
        &self.schema
    }

    /// Schema changes made by this decoder, one line each.
    pub fn changes(&self) -> &[String] {
        #[cfg(feature = "test-hooks")]
        if let Some(l) = &self.legacy {
            return l.changes();
        }
        &self.changes
    }

    pub fn stats(&self) -> &DecodeStats {
        #[cfg(feature = "test-hooks")]
        if let Some(l) = &self.legacy {
            return l.stats();
        }
        &self.stats
    }

    /// Decodes one page. `parent` is the parent object's id for fan-out tables.
    pub fn decode(
        &mut self,
        page: &RawPage,
        parent: Option<&str>,
    ) -> Result<Vec<RecordBatch>, DecodeError> {
        #[cfg(feature = "test-hooks")]
        if let Some(l) = &mut self.legacy {
            let records = page
                .records()
                .map(serde_json::from_slice)
                .collect::<Result<Vec<serde_json::Value>, _>>()
                .map_err(|e| DecodeError::NotAnObject {
                    table: self.schema.table.clone(),
                    found: e.to_string(),
                })?;
            return l.decode(&records, parent);
        }
        if self.adopt() {
            self.arrow = self.schema.arrow_schema();
        }
        let mut discovered = self.policy == SchemaPolicy::Freeze;
        loop {
            let decoded = self.decode_pieces(page, parent);
            // Decoding tells whether any key was unknown; only then can discovery find
            // anything, and then the page is decoded again in the wider schema. A page
            // that fails is checked first too, so `fail` names the unknown field as before.
            let unknown = match &decoded {
                Ok(pieces) => pieces.iter().any(|r| r.unknown),
                Err(_) => true,
            };
            if unknown && !discovered {
                discovered = true;
                if self.widen_for(page)? {
                    self.arrow = self.schema.arrow_schema();
                    continue;
                }
            }
            let mut out = Vec::new();
            for rows in decoded? {
                self.stats.rows += rows.batch.num_rows() as u64;
                self.stats.excluded += rows.excluded;
                for k in rows.rescued {
                    *self.stats.rescued.entry(k).or_default() += 1;
                }
                out.push(rows.batch);
            }
            return Ok(out);
        }
    }

    /// The page in pieces of at most `CHUNK_ROWS`, spread over the cores, in page order.
    fn decode_pieces(
        &self,
        page: &RawPage,
        parent: Option<&str>,
    ) -> Result<Vec<build::Rows>, DecodeError> {
        let n = page.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let (schema, arrow, reversed) = (&self.schema, &self.arrow, self.reversed);
        let one = |range: std::ops::Range<usize>| {
            build::decode_records(
                schema,
                arrow,
                range.map(|i| page.record(i)),
                parent,
                reversed,
            )
        };
        if n < PARALLEL_ROWS {
            return Ok(vec![one(0..n)?]);
        }
        let pieces = n
            .div_ceil(CHUNK_ROWS)
            .max(rayon::current_num_threads().min(n / PARALLEL_ROWS));
        let size = n.div_ceil(pieces);
        // Every piece is decoded; the error reported is the first in page order.
        let decoded: Vec<Result<build::Rows, DecodeError>> = (0..pieces)
            .into_par_iter()
            .map(|p| one(p * size..((p + 1) * size).min(n)))
            .collect();
        decoded.into_iter().collect()
    }

    /// Takes what other decoders of the table discovered; returns whether it was anything.
    fn adopt(&mut self) -> bool {
        let Some((shared, version)) = self.shared.clone() else {
            return false;
        };
        let guard = shared.lock();
        if guard.0 == version {
            return false;
        }
        self.schema = guard.1.clone();
        self.shared = Some((shared.clone(), guard.0));
        true
    }

    /// Adopts what other decoders of the table discovered, then discovers in `page`;
    /// returns whether this decoder's schema changed.
    fn widen_for(&mut self, page: &RawPage) -> Result<bool, DecodeError> {
        let Some((shared, version)) = self.shared.clone() else {
            return self.discover(page);
        };
        let mut guard = shared.lock();
        let adopted = guard.0 != version;
        if adopted {
            self.schema = guard.1.clone();
        }
        let found = self.discover(page)?;
        if found {
            guard.0 += 1;
            guard.1 = self.schema.clone();
        }
        self.shared = Some((shared.clone(), guard.0));
        Ok(adopted || found)
    }

    /// Finds fields the schema does not know; under `evolve` adds them, under `fail` stops.
    /// Returns whether the schema changed.
    fn discover(&mut self, page: &RawPage) -> Result<bool, DecodeError> {
        let mut changed = false;
        let mut consumed = Consumed::of(&self.schema);
        for text in page.records() {
            let Ok(rec) = Val::parse(text) else { continue };
            let Val::Obj(obj) = &rec else { continue };
            let mut unknown = Vec::new();
            unknown_paths(obj, &consumed, "", &mut unknown);
            for (path, v) in unknown {
                self.refuse_if_fail(&path, &rec)?;
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
                consumed.insert(&path);
                changed = true;
            }
            let (policy, run_id) = (self.policy, self.run_id.clone());
            let mut nested = Vec::new();
            for c in self.schema.columns.iter_mut() {
                if c.source().starts_with('$') {
                    continue;
                }
                if let Some(v) = lookup(&rec, c.source()) {
                    widen(&mut c.ty, v, &c.name, &run_id, &mut nested);
                }
            }
            if let Some((field, _)) = nested.first() {
                if policy == SchemaPolicy::Fail {
                    return Err(self.unknown_field(field, &rec));
                }
            }
            for (_, line) in nested {
                self.changes.push(line);
                changed = true;
            }
        }
        Ok(changed)
    }

    fn refuse_if_fail(&self, field: &str, rec: &Val) -> Result<(), DecodeError> {
        if self.policy == SchemaPolicy::Fail {
            return Err(self.unknown_field(field, rec));
        }
        Ok(())
    }

    fn unknown_field(&self, field: &str, rec: &Val) -> DecodeError {
        let id = ["_id", "id"]
            .iter()
            .find_map(|k| rec.get(k).and_then(Val::as_str))
            .unwrap_or("(none)");
        DecodeError::UnknownField {
            table: self.schema.table.clone(),
            field: field.into(),
            record: id.into(),
        }
    }
}

/// Microseconds since the epoch of an RFC 3339 string.
pub fn parse_timestamp_us(s: &str) -> Option<i64> {
    // Some System Insights tables send the whole row lower-case: `2019-06-03t19:41:31.125z`.
    let t = DateTime::parse_from_rfc3339(s)
        .or_else(|e| match s.bytes().any(|b| b == b't' || b == b'z') {
            true => DateTime::parse_from_rfc3339(&s.to_ascii_uppercase()),
            false => Err(e),
        })
        .ok()?;
    t.timestamp()
        .checked_mul(1_000_000)?
        .checked_add(t.timestamp_subsec_micros() as i64)
}

#[cfg(test)]
mod tests;
