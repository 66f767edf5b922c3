//! One schema per table across the orgs of a run: what one org discovers widens the table
//! for all, so every org's files agree on each column's type and on struct field order,
//! and `union_by_name` / `mergeSchema` readers can read the table as one.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::datatypes::DataType;
use jclake::model::RunOutcome;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{parquet_files, sim, Export};

/// Whether two files' types of one column can be read as one: equal, or structs whose
/// fields are one list in one order (one file may have fewer, at the end), recursively.
fn agree(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::Struct(x), DataType::Struct(y)) => x
            .iter()
            .zip(y.iter())
            .all(|(f, g)| f.name() == g.name() && agree(f.data_type(), g.data_type())),
        (DataType::List(x), DataType::List(y)) => agree(x.data_type(), y.data_type()),
        _ => a == b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orgs_of_a_run_share_one_schema_per_table() {
    let org = sim::start(sim::SimConfig {
        orgs: 3,
        // Org 0's first user has an SSH key, the others' first users an empty list.
        drift: sim::Drift {
            ssh_keys: true,
            ..sim::Drift::default()
        },
        size: sim::OrgSize {
            events: 900,
            event_days: 2,
            ..sim::OrgSize::default()
        },
        ..sim::SimConfig::default()
    })
    .await
    .expect("sim");
    let ids = org.org_ids();
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = tmp.path().join("lake");
    let orgs: String = ids
        .iter()
        .map(|id| format!("[[orgs]]\norg_id = \"{id}\"\n"))
        .collect();
    let run = Export::new(org.base_url(), lake.display())
        .arg("--snapshot-date", "2026-11-20")
        .arg(
            "--events-since",
            (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339(),
        )
        .settings(&orgs)
        .env("JUMPCLOUD_API_KEY", sim::DEFAULT_MSP_KEY)
        .run()
        .await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(run.orgs.len(), 3);

    let mut disagreements = Vec::new();
    let mut tables = 0;
    for table in std::fs::read_dir(&lake).expect("lake").flatten() {
        let name = table.file_name().to_string_lossy().to_string();
        if name.starts_with('_') {
            continue;
        }
        tables += 1;
        let mut types: BTreeMap<String, Vec<(String, DataType)>> = BTreeMap::new();
        for f in parquet_files(&table.path()) {
            let file = std::fs::File::open(&f).expect("open");
            let schema = ParquetRecordBatchReaderBuilder::try_new(file)
                .expect("footer")
                .schema()
                .clone();
            let rel = f
                .strip_prefix(&lake)
                .unwrap_or(Path::new("?"))
                .display()
                .to_string();
            for field in schema.fields() {
                types
                    .entry(field.name().clone())
                    .or_default()
                    .push((rel.clone(), field.data_type().clone()));
            }
        }
        for (column, seen) in types {
            let (first_file, first) = &seen[0];
            for (file, t) in &seen[1..] {
                if !agree(first, t) {
                    disagreements.push(format!(
                        "{name}.{column}: {first} in {first_file} but {t} in {file}"
                    ));
                }
            }
        }
    }
    assert_eq!(tables, 56);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
