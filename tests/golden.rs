//! The golden test of the decoder: the same simulated org, drift on, every table the old
//! decoder knew and the event stream, exported twice into two lakes, once by today's decoder (page bytes
//! straight into Arrow) and once by the one it replaced (`serde_json::Value` per record,
//! then arrow-json; `JCLAKE_TEST_DECODER=legacy`, compiled in only with `test-hooks`). The
//! lakes must agree file for file and value for value: schemas with their metadata,
//! columns, `_rescued`, row order, and what each run reports it rescued and discovered.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::compute::concat_batches;
use serde_json::Value;

use crate::util::{parquet_files, read_batches, sim, Export};

/// The tables the old decoder can write: the ones it was made for. (Lenient osquery
/// columns, effective-access columns and edges read from their other end came after it.)
const GOLDEN_TABLES: &[&str] = &[
    "users",
    "systems",
    "applications",
    "organizations",
    "commands",
    "radius_servers",
    "user_groups",
    "system_groups",
    "policies",
    "directories",
    "user_group_members",
    "system_group_members",
    "application_user_group_associations",
    "radius_server_user_group_associations",
    "events",
];

fn run(org: &sim::SimHandle, lake: &Path, date: &str, legacy: bool) {
    let env: &[(&str, &str)] = if legacy {
        &[("JCLAKE_TEST_DECODER", "legacy")]
    } else {
        &[]
    };
    Export::new(org.base_url(), lake.display())
        .arg("--snapshot-date", date)
        .arg("--tables", GOLDEN_TABLES.join(","))
        .settings("events_page_size = 700")
        .bin(env)
        .expect_code(0);
}

/// Every run manifest's tables: rows, files, rescued counts and schema changes, by
/// table and partition (run ids and timings differ between lakes and are left out).
fn reports(lake: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let runs = lake.join("_jclake").join("runs");
    for f in std::fs::read_dir(&runs).expect("runs").flatten() {
        let m: Value =
            serde_json::from_slice(&std::fs::read(f.path()).expect("manifest")).expect("json");
        for t in m["tables"].as_array().expect("tables") {
            let key = format!("{} {}", t["table"], t["partition"]);
            let keep = [
                "rows",
                "files",
                "rescued",
                "schema_changes",
                "excluded",
                "outcome",
            ];
            let v: serde_json::Map<String, Value> = keep
                .iter()
                .map(|k| (k.to_string(), t[*k].clone()))
                .collect();
            out.insert(key, Value::Object(v));
        }
    }
    out
}

/// The saved schema of every table, without the run ids it records.
fn schemas(lake: &Path) -> BTreeMap<String, String> {
    let dir = lake.join("_jclake").join("schemas");
    std::fs::read_dir(&dir)
        .expect("schemas")
        .flatten()
        .map(|f| {
            let text = std::fs::read_to_string(f.path()).expect("schema");
            let mut v: Value = serde_json::from_str(&text).expect("json");
            strip_run_ids(&mut v);
            (f.file_name().to_string_lossy().into_owned(), v.to_string())
        })
        .collect()
}

fn strip_run_ids(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("since_run");
            m.values_mut().for_each(strip_run_ids);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_run_ids),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_decoder_writes_the_lake_the_old_one_wrote() {
    let org = sim::start(sim::SimConfig {
        drift: sim::Drift {
            field_after: Some(60),
            type_every: Some(7),
            ssh_keys: true,
        },
        size: sim::OrgSize {
            events: 6000,
            event_days: 3,
            ..sim::OrgSize::default()
        },
        ..sim::SimConfig::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for date in ["2026-11-20", "2026-11-21"] {
        run(&org, &old, date, true);
        run(&org, &new, date, false);
    }
    let rel = |lake: &Path| -> Vec<String> {
        parquet_files(lake)
            .iter()
            .map(|f| f.strip_prefix(lake).expect("in lake").display().to_string())
            .collect()
    };
    let files = rel(&old);
    assert_eq!(files, rel(&new), "the same files");
    let tables: std::collections::BTreeSet<&str> =
        files.iter().filter_map(|f| f.split('/').next()).collect();
    let all: std::collections::BTreeSet<&str> = GOLDEN_TABLES.iter().copied().collect();
    assert_eq!(tables, all, "every table");
    let mut rows = 0;
    for f in &files {
        let (a, b) = (read_batches(&[old.join(f)]), read_batches(&[new.join(f)]));
        let (sa, sb) = (a[0].schema(), b[0].schema());
        assert_eq!(sa, sb, "{f}: schema");
        let (a, b) = (
            concat_batches(&sa, &a).expect("concat"),
            concat_batches(&sb, &b).expect("concat"),
        );
        for (i, field) in sa.fields().iter().enumerate() {
            assert_eq!(
                a.column(i).as_ref(),
                b.column(i).as_ref(),
                "{f}: column {}",
                field.name()
            );
        }
        rows += a.num_rows();
    }
    assert!(rows > 6000, "rows compared: {rows}");
    // The drift reached the lake: discovered columns and rescued values, reported alike.
    let (ra, rb) = (reports(&old), reports(&new));
    assert_eq!(ra, rb);
    let users = ra
        .iter()
        .find(|(k, _)| k.starts_with("\"users\""))
        .map(|(_, v)| v.clone())
        .expect("users reported");
    assert!(
        users["rescued"].as_object().is_some_and(|m| !m.is_empty()),
        "{users}"
    );
    assert!(
        users["schema_changes"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{users}"
    );
    assert_eq!(schemas(&old), schemas(&new));
}
