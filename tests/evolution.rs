//! Schema drift end to end, with the simulator's drift knobs: a field that appears mid-table,
//! fields whose JSON type changes on some records, a nested key that appears later, and
//! custom attributes with free-form names. Every value must reach the lake, in its column or
//! in `_rescued`, with exact row counts; the schema only widens across runs; the `freeze`
//! and `fail` policies do what they say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use jclake::decode::SchemaPolicy;
use jclake::model::RunOutcome;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use crate::util::sim::{self, Drift, SimConfig, SimHandle};
use crate::util::{jclake, json_rows, Export};

fn cfg(sim: &SimHandle, lake: &Path, date: &str, policy: Option<SchemaPolicy>) -> Export {
    let e = Export::new(sim.base_url(), lake.display())
        .arg("--tables", "users")
        .arg("--snapshot-date", date);
    match policy {
        None => e,
        // `users = "freeze"`: the policy as the settings file spells it.
        Some(p) => e.settings(&format!(
            "[schema_policy]\nusers = {}",
            serde_json::to_string(&p).expect("policy")
        )),
    }
}

fn drift_sim() -> SimConfig {
    SimConfig {
        drift: Drift {
            field_after: Some(100),
            type_every: Some(7),
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

fn read_partition(lake: &Path, date: &str) -> Vec<RecordBatch> {
    let dir = lake.join("users").join(format!("snapshot_date={date}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("partition")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).expect("open"))
            .expect("footer")
            .build()
            .expect("reader");
        out.extend(r.map(|b| b.expect("batch")));
    }
    out
}

/// id → (column → JSON value of the row), for comparing with the simulator's records.
fn rows_by_id(batches: &[RecordBatch]) -> BTreeMap<String, serde_json::Map<String, Value>> {
    let mut out = BTreeMap::new();
    for b in batches {
        for r in json_rows(b) {
            if let Value::Object(m) = r {
                let id = m.get("id").and_then(Value::as_str).expect("id").to_string();
                out.insert(id, m);
            }
        }
    }
    out
}

#[tokio::test]
async fn drift_reaches_the_lake_in_columns_or_rescued_and_the_schema_only_widens() {
    let sim = sim::start(drift_sim()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = cfg(&sim, &lake, "2026-11-20", None).run().await;
    let t = &run.tables[0];
    assert_eq!(t.rows, 250);
    assert_eq!(
        t.schema_changes,
        [
            "added column drift_new_field (string) from drift_new_field",
            "added field mfa.drift_nested (int64)"
        ]
    );
    // 250 users, every 7th (index 6, 13, …) with unix_uid and employeeIdentifier retyped.
    assert_eq!(t.rescued.get("unix_uid"), Some(&35));
    assert_eq!(t.rescued.get("employeeIdentifier"), Some(&35));
    assert_eq!(t.rescued.len(), 2);

    let batches = read_partition(&lake, "2026-11-20");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 250);
    let schema = batches[0].schema();
    assert_eq!(
        schema
            .field_with_name("drift_new_field")
            .expect("new column")
            .data_type(),
        &DataType::Utf8
    );
    let DataType::Struct(mfa) = schema
        .field_with_name("mfa")
        .expect("mfa")
        .data_type()
        .clone()
    else {
        panic!("mfa is a struct")
    };
    assert_eq!(
        mfa.find("drift_nested").map(|(_, f)| f.data_type().clone()),
        Some(DataType::Int64)
    );

    // Every value of every record is in the lake: compare with the simulator's records.
    let rows = rows_by_id(&batches);
    let records = sim.records(0, "systemusers");
    assert_eq!(rows.len(), records.len());
    let mut seen_attr = 0;
    for rec in &records {
        let id = rec["_id"].as_str().expect("id");
        let row = rows.get(id).unwrap_or_else(|| panic!("user {id} missing"));
        let rescued: Value = row
            .get("_rescued")
            .and_then(Value::as_str)
            .map(|s| serde_json::from_str(s).expect("json"))
            .unwrap_or(json!({}));
        assert_eq!(
            row.get("drift_new_field").cloned().unwrap_or(Value::Null),
            rec.get("drift_new_field").cloned().unwrap_or(Value::Null),
            "{id}"
        );
        let nested = row
            .get("mfa")
            .and_then(|m| m.get("drift_nested"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            nested,
            rec["mfa"]
                .get("drift_nested")
                .cloned()
                .unwrap_or(Value::Null),
            "{id}"
        );
        match &rec["unix_uid"] {
            Value::String(_) => {
                assert_eq!(rescued["unix_uid"], rec["unix_uid"], "{id}");
                assert_eq!(
                    rescued["employeeIdentifier"], rec["employeeIdentifier"],
                    "{id}"
                );
                assert!(row.get("unix_uid").is_none_or(Value::is_null));
            }
            v => {
                assert_eq!(row.get("unix_uid"), Some(v), "{id}");
                assert_eq!(rescued, json!({}), "{id}");
            }
        }
        // Free-form custom attribute names ("a.b c", "Team Name", "部署") stay intact in JSON.
        let attrs: Value =
            serde_json::from_str(row["attributes"].as_str().expect("attributes")).expect("json");
        assert_eq!(attrs, rec["attributes"], "{id}");
        seen_attr += attrs
            .as_array()
            .map(|a| a.iter().filter(|x| x["name"] == "a.b c").count())
            .unwrap_or(0);
    }
    assert!(seen_attr > 0, "some users carry the attribute `a.b c`");

    // The effective schema is kept; describe shows where a column came from.
    let stored: Value = serde_json::from_slice(
        &std::fs::read(lake.join("_jclake/schemas/users.json")).expect("schema file"),
    )
    .expect("json");
    let col = stored["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "drift_new_field")
        .expect("stored column")
        .clone();
    assert_eq!(col["origin"], "discovered");
    assert_eq!(col["since_run"], run.run_id.as_str());
    let out = jclake(["describe", "users", "--lake", &lake.display().to_string()]);
    let text = &out.stdout;
    assert!(
        text.lines().any(|l| l.starts_with("drift_new_field ")
            && l.contains(&format!("discovered (run {})", run.run_id))),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("mfa.drift_nested ")
            && l.contains("int64")
            && l.contains("discovered")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("username ") && l.contains("declared")),
        "{text}"
    );
    // The lake named by a settings file, as `verify --config` takes it: the same view.
    let settings = lake.with_extension("toml");
    std::fs::write(
        &settings,
        format!("lake = {:?}\n", lake.display().to_string()),
    )
    .expect("write settings");
    let by_config = jclake([
        "describe",
        "users",
        "--config",
        &settings.display().to_string(),
    ]);
    assert_eq!(&by_config.stdout, text);
    drop(sim);

    // Next day the field is gone from the data: the column stays (only widens), all null.
    let plain = sim::start(SimConfig::default()).await.expect("sim");
    let run2 = cfg(&plain, &lake, "2026-11-21", None).run().await;
    assert!(run2.tables[0].schema_changes.is_empty());
    let b2 = read_partition(&lake, "2026-11-21");
    let col = b2[0]
        .column_by_name("drift_new_field")
        .expect("column kept");
    assert_eq!(col.null_count(), 250);
    assert_eq!(
        b2[0]
            .schema()
            .field_with_name("mfa")
            .expect("mfa")
            .data_type(),
        schema.field_with_name("mfa").expect("mfa").data_type()
    );
    let uid = b2[0]
        .column_by_name("unix_uid")
        .expect("uid")
        .as_primitive::<Int64Type>();
    assert_eq!(uid.null_count(), 0);
}

#[tokio::test]
async fn freeze_keeps_the_schema_and_rescues_new_fields() {
    let sim = sim::start(drift_sim()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = cfg(&sim, &lake, "2026-11-20", Some(SchemaPolicy::Freeze))
        .run()
        .await;
    let t = &run.tables[0];
    assert!(t.schema_changes.is_empty());
    assert_eq!(t.rescued.get("drift_new_field"), Some(&150));
    assert_eq!(t.rescued.get("mfa/drift_nested"), Some(&150));
    let batches = read_partition(&lake, "2026-11-20");
    assert!(batches[0]
        .schema()
        .field_with_name("drift_new_field")
        .is_err());
    let rows = rows_by_id(&batches);
    for rec in sim.records(0, "systemusers") {
        let row = &rows[rec["_id"].as_str().expect("id")];
        if let Some(v) = rec.get("drift_new_field") {
            let rescued: Value =
                serde_json::from_str(row["_rescued"].as_str().expect("rescued")).expect("json");
            assert_eq!(&rescued["drift_new_field"], v);
            assert_eq!(rescued["mfa/drift_nested"], rec["mfa"]["drift_nested"]);
        }
    }
    assert!(
        !lake.join("_jclake/schemas/users.json").exists(),
        "freeze writes no schema"
    );
}

#[tokio::test]
async fn fail_policy_stops_the_table_with_field_and_record() {
    let sim = sim::start(drift_sim()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = cfg(&sim, &lake, "2026-11-20", Some(SchemaPolicy::Fail))
        .run()
        .await;
    assert_eq!(run.outcome, RunOutcome::Failed);
    let err = run.tables[0].error.clone().expect("error");
    // The 101st user (index 100) is the first with the new field.
    let first = sim.records(0, "systemusers")[100]["_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        err,
        format!("table users: field drift_new_field is not in the schema (schema policy `fail`); example record id {first}")
    );
    assert!(!lake.join("users").exists(), "nothing published");
}
