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

    /// The schema as every decoder of the table has widened it so far.
    pub fn snapshot(&self) -> TableSchema {
        self.lock().1.clone()
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
mod tests {
    use super::*;
    use crate::model::{schema, RESCUED};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
    use serde_json::json;

    fn schema() -> TableSchema {
        TableSchema::parse(
            "t.json",
            r#"{"table": "t", "exclude": ["secret"], "columns": [
                {"name": "id", "type": "string", "nullable": false, "source": "_id"},
                {"name": "uid", "type": "int64", "source": "unix_uid"},
                {"name": "created", "type": "timestamp"},
                {"name": "mfa", "type": {"struct": [{"name": "configured", "type": "bool"}]}},
                {"name": "tags", "type": {"list": "string"}},
                {"name": "attributes", "type": "json"},
                {"name": "to_id", "type": "string", "source": "to/id"},
                {"name": "parent_id", "type": "string", "source": "$parent"}
            ]}"#,
        )
        .expect("schema")
    }

    fn strings(b: &RecordBatch, c: &str) -> Vec<Option<String>> {
        let a = b
            .column_by_name(c)
            .unwrap_or_else(|| panic!("column {c}"))
            .as_string::<i32>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn projects_types_and_rescues_misfits() {
        let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
        let recs = vec![
            json!({"_id": "a", "unix_uid": 5, "created": "2024-03-05T17:21:09.123Z", "mfa": {"configured": true}, "tags": ["x"], "attributes": [{"name": "a.b c", "value": "1"}], "secret": "s", "to": {"id": "t1"}}),
            json!({"_id": "b", "unix_uid": "uid-6", "created": null, "mfa": {"configured": true, "new_key": 1}, "tags": ["x", 2], "extra": "e", "to": {"id": "t2", "type": "user"}}),
        ];
        let batches = d.decode(&recs, Some("p1")).expect("decode");
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let uid = b
            .column_by_name("uid")
            .expect("uid")
            .as_primitive::<Int64Type>();
        assert_eq!(uid.value(0), 5);
        assert!(uid.is_null(1));
        let created = b
            .column_by_name("created")
            .expect("created")
            .as_primitive::<TimestampMicrosecondType>();
        assert_eq!(created.value(0), 1_709_659_269_123_000);
        assert_eq!(
            strings(b, "attributes")[0].as_deref(),
            Some(r#"[{"name":"a.b c","value":"1"}]"#)
        );
        assert_eq!(strings(b, "parent_id")[1].as_deref(), Some("p1"));
        assert_eq!(
            strings(b, "to_id"),
            [Some("t1".to_string()), Some("t2".to_string())]
        );
        let rescued = strings(b, RESCUED);
        assert_eq!(rescued[0], None, "the secret is excluded, not rescued");
        let r1: Value =
            serde_json::from_str(rescued[1].as_deref().expect("rescued")).expect("json");
        assert_eq!(
            r1,
            json!({"unix_uid": "uid-6", "mfa/new_key": 1, "tags": ["x", 2], "extra": "e", "to/type": "user"})
        );
        assert_eq!(d.stats().rows, 2);
        assert_eq!(d.stats().excluded, 1);
        assert_eq!(d.stats().rescued.get("unix_uid"), Some(&1));
        assert!(d.changes().is_empty(), "freeze never changes the schema");
    }

    #[test]
    fn a_large_page_projected_in_parallel_equals_small_pages_in_order() {
        // 3000 records: one page takes the rayon path (>= PARALLEL_ROWS), pages of 100 do not.
        let recs: Vec<Value> = (0..3000)
            .map(|i| {
                let uid = if i % 7 == 0 { json!(format!("u{i}")) } else { json!(i) };
                json!({"_id": format!("r{i:04}"), "unix_uid": uid, "extra": (i % 5 == 0).then_some(i), "secret": "s"})
            })
            .collect();
        let decode = |pages: &[&[Value]]| {
            let mut d =
                BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
            let batches: Vec<RecordBatch> = pages
                .iter()
                .flat_map(|p| d.decode(p, None).expect("decode"))
                .collect();
            let b = arrow::compute::concat_batches(&d.arrow_schema(), &batches).expect("concat");
            (b, d.stats().clone())
        };
        let (whole, s1) = decode(&[&recs]);
        let small: Vec<&[Value]> = recs.chunks(100).collect();
        let (paged, s2) = decode(&small);
        assert_eq!(whole, paged);
        assert_eq!(whole.num_rows(), 3000);
        let ids = strings(&whole, "id");
        assert_eq!(ids[0].as_deref(), Some("r0000"));
        assert_eq!(ids[2999].as_deref(), Some("r2999"));
        assert_eq!((s1.rows, s1.excluded), (3000, 3000));
        assert_eq!(s1.rescued.get("unix_uid"), Some(&429), "every 7th of 3000");
        assert_eq!(s1.rescued.get("extra"), Some(&600), "every 5th, 0 included");
        assert_eq!(
            (s1.rows, s1.excluded, &s1.rescued),
            (s2.rows, s2.excluded, &s2.rescued)
        );
    }

    #[test]
    fn evolve_adds_columns_and_struct_fields_and_keeps_misfits() {
        let mut d =
            BatchDecoder::with_policy(schema(), SchemaPolicy::Evolve, "run-1").expect("decoder");
        let first = d
            .decode(&[json!({"_id": "a", "mfa": {"configured": true}})], None)
            .expect("page 1");
        assert_eq!(first[0].num_columns(), 9);
        let page2 = vec![
            json!({"_id": "b", "a.b c": "dots", "A.b C": "collides", "Team Name": 3, "mfa": {"configured": false, "enrolledAt": "x"}, "to": {"id": "t", "kind": "k"}}),
            json!({"_id": "c", "a.b c": 7, "unix_uid": 1.5}),
        ];
        let batches = d.decode(&page2, None).expect("page 2");
        let b = &batches[0];
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "uid",
                "created",
                "mfa",
                "tags",
                "attributes",
                "to_id",
                "parent_id",
                "a_b_c",
                "a_b_c_2",
                "team_name",
                "to_kind",
                "_rescued"
            ]
        );
        let f = b
            .schema()
            .field_with_name("a_b_c_2")
            .expect("field")
            .clone();
        assert_eq!(
            f.metadata().get(schema::SOURCE_KEY).map(String::as_str),
            Some("A.b C")
        );
        assert_eq!(strings(b, "a_b_c"), [Some("dots".to_string()), None]);
        assert_eq!(strings(b, "to_kind"), [Some("k".to_string()), None]);
        let DataType::Struct(mfa) = b
            .schema()
            .field_with_name("mfa")
            .expect("mfa")
            .data_type()
            .clone()
        else {
            panic!("struct")
        };
        assert_eq!(
            mfa.iter().map(|f| f.name().as_str()).collect::<Vec<_>>(),
            ["configured", "enrolled_at"]
        );
        // 7 does not fit the string column `a_b_c`, 1.5 does not fit int64: both rescued.
        let r: Value = serde_json::from_str(strings(b, RESCUED)[1].as_deref().expect("rescued"))
            .expect("json");
        assert_eq!(r, json!({"a.b c": 7, "unix_uid": 1.5}));
        assert_eq!(
            d.changes(),
            [
                "added column a_b_c (string) from a.b c",
                "added column a_b_c_2 (string) from A.b C",
                "added column team_name (int64) from Team Name",
                "added column to_kind (string) from to/kind",
                "added field mfa.enrolled_at (string)",
            ]
        );
        let disc = d
            .table_schema()
            .columns
            .iter()
            .find(|c| c.name == "team_name")
            .expect("team_name");
        assert_eq!(
            (disc.origin.as_deref(), disc.since_run.as_deref()),
            (Some("discovered"), Some("run-1"))
        );
        // A batch decoded before the change conforms to the wider schema.
        let wide = conform(&first[0], &d.arrow_schema()).expect("conform");
        assert_eq!(wide.num_columns(), 13);
        assert_eq!(wide.column_by_name("a_b_c").expect("a_b_c").null_count(), 1);
    }

    #[test]
    fn fail_policy_names_table_field_and_record() {
        let mut d =
            BatchDecoder::with_policy(schema(), SchemaPolicy::Fail, "run-1").expect("decoder");
        let err = d
            .decode(
                &[json!({"_id": "a"}), json!({"_id": "rec-9", "surprise": 1})],
                None,
            )
            .expect_err("fails");
        assert_eq!(err.to_string(), "table t: field surprise is not in the schema (schema policy `fail`); example record id rec-9");
        let err = d
            .decode(&[json!({"_id": "rec-3", "mfa": {"new": true}})], None)
            .expect_err("fails");
        assert_eq!(err.to_string(), "table t: field mfa/new is not in the schema (schema policy `fail`); example record id rec-3");
    }

    #[test]
    fn sanitised_names_are_sql_safe_and_deterministic() {
        assert_eq!(sanitize("Team Name"), "team_name");
        assert_eq!(sanitize("a.b c"), "a_b_c");
        assert_eq!(sanitize("employeeIdentifier"), "employee_identifier");
        assert_eq!(sanitize("部署"), "u90e8_u7f72");
        assert_eq!(sanitize("emoji 🚀"), "emoji_u1f680");
        assert_eq!(sanitize("@version"), "version");
        assert_eq!(sanitize("2fa"), "c_2fa");
        assert_eq!(sanitize("../.."), "field");
        assert_eq!(
            unique_name("team_name", &["team_name", "team_name_2"]),
            "team_name_3"
        );
        assert_eq!(unique_name("_rescued", &[]), "_rescued_2");
    }

    #[test]
    fn missing_required_column_names_table_and_column() {
        let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
        let err = d
            .decode(&[json!({"unix_uid": 1})], None)
            .expect_err("must fail");
        assert!(
            err.to_string().starts_with(
                "table t: record {\"unix_uid\":1} has no value for required column id"
            ),
            "{err}"
        );
    }

    #[test]
    fn nanosecond_timestamps_keep_microseconds() {
        assert_eq!(
            parse_timestamp_us("2026-11-16T13:17:39.422123456Z"),
            Some(1_794_835_059_422_123)
        );
        assert_eq!(
            parse_timestamp_us("2026-11-16T13:17:39+01:00"),
            Some(1_794_831_459_000_000)
        );
        assert_eq!(parse_timestamp_us("yesterday"), None);
    }

    /// Two orgs of one run, whose first values disagree: the first to discover a field
    /// decides its column for both, struct fields keep one order, nothing is added twice.
    #[test]
    fn decoders_sharing_a_schema_agree_on_every_column() {
        let shared = SharedSchema::new(schema());
        let mut a = BatchDecoder::sharing(&shared, SchemaPolicy::Evolve, "r").expect("a");
        let mut b = BatchDecoder::sharing(&shared, SchemaPolicy::Evolve, "r").expect("b");
        // Org b sees an empty list first (JSON text), org a a list of objects.
        b.decode(&[json!({"_id": "b1", "keys": [], "mfa": {"y": 1}})], None)
            .expect("b");
        let batches = a
            .decode(
                &[json!({"_id": "a1", "keys": [{"k": "v"}], "mfa": {"x": true}})],
                None,
            )
            .expect("a");
        // a adopted b's column: its list of objects is JSON text in it, not a second type.
        assert_eq!(
            strings(&batches[0], "keys"),
            [Some("[{\"k\":\"v\"}]".into())]
        );
        assert_eq!(a.changes(), ["added field mfa.x (bool)"]);
        assert_eq!(
            b.changes(),
            [
                "added column keys (json (string)) from keys",
                "added field mfa.y (int64)"
            ]
        );
        // b's next page adopts a's field: one schema, one field order, for both.
        b.decode(&[json!({"_id": "b2"})], None).expect("b again");
        assert_eq!(a.arrow_schema(), b.arrow_schema());
        assert_eq!(shared.snapshot().columns, a.table_schema().columns);
        let DataType::Struct(mfa) = a
            .arrow_schema()
            .field_with_name("mfa")
            .expect("mfa")
            .data_type()
            .clone()
        else {
            panic!("mfa is a struct")
        };
        let names: Vec<&str> = mfa.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["configured", "y", "x"]);
        let keys = a
            .table_schema()
            .columns
            .iter()
            .filter(|c| c.source() == "keys")
            .count();
        assert_eq!(keys, 1, "adopted columns are not discovered again");
    }
}
