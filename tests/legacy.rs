//! A lake written by the release before the restructuring (commit e4e1e58) is read and
//! continued by this build. `tests/fixtures/lake-e4e1e58` was made with that commit's
//! binary: `jclake sim serve --seed 11 --users 20 --systems 6 --user-groups 3
//! --system-groups 2 --applications 2 --commands 2 --radius-servers 1 --policies 2
//! --directories 1 --events 240 --event-days 3 --orgs 1`, then `jclake export` with
//! `--snapshot-date 2026-11-20` and again with `2026-11-21` (events since 2026-11-27).

use std::path::Path;

use jclake::model::{Partition, RunOutcome, State, EVENTS};

use crate::util::{jclake, parquet_files, read_batches, sim, Export};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixture").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

fn state(lake: &Path) -> State {
    let text = std::fs::read_to_string(lake.join("_jclake/state.json")).expect("state");
    serde_json::from_str(&text).expect("state parses")
}

fn columns(dir: &Path) -> Vec<String> {
    let batches = read_batches(&parquet_files(dir));
    let b = batches.first().expect("a batch");
    b.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_of_the_previous_release_verifies_and_continues() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = tmp.path().join("lake");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lake-e4e1e58");
    copy_tree(&fixture, &lake);
    let root = lake.display().to_string();

    let v = jclake(["verify", "--lake", &root]);
    v.expect_code(0);
    assert!(
        v.stdout
            .contains(": 2 runs, 38 partitions, 38 files match their manifests"),
        "{}",
        v.all()
    );
    let before = state(&lake);
    let old_events = before.events.clone().expect("the old lake has a stream");

    // The org now carries a field the old lake never saw: the users schema widens.
    let org = sim::start(sim::SimConfig {
        seed: 11,
        size: sim::OrgSize {
            users: 20,
            systems: 6,
            user_groups: 3,
            system_groups: 2,
            applications: 2,
            commands: 2,
            radius_servers: 1,
            policies: 2,
            directories: 1,
            events: 240,
            event_days: 3,
        },
        orgs: 1,
        drift: sim::Drift {
            field_after: Some(0),
            type_every: None,
            ..Default::default()
        },
        ..sim::SimConfig::default()
    })
    .await
    .expect("sim");
    let run = Export::new(org.base_url(), &root)
        .arg("--snapshot-date", "2026-11-22")
        .arg("--keep-snapshots", 2)
        .run()
        .await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);

    // Retention: the oldest of three snapshots goes, for each of the 17 snapshot tables.
    assert_eq!(run.retired.len(), 17, "{:?}", run.retired);
    assert!(run
        .retired
        .contains(&"users/snapshot_date=2026-11-20".to_string()));
    assert!(!lake.join("users/snapshot_date=2026-11-20").exists());
    assert!(lake.join("users/snapshot_date=2026-11-21").is_dir());

    // Events resume from the old state: same stream start, re-read from its look-back.
    let after = state(&lake);
    let events = after.events.expect("stream");
    assert_eq!(events.since, old_events.since);
    assert!(events.complete_through > old_events.complete_through);
    assert_eq!(events.last_run_id, run.run_id);
    let first_day = (old_events.complete_through - chrono::Duration::minutes(60)).date_naive();
    let days: Vec<&Partition> = run
        .tables
        .iter()
        .filter(|t| t.table == EVENTS)
        .map(|t| &t.partition)
        .collect();
    assert_eq!(
        days.first(),
        Some(&&Partition::event_day(None, Some(first_day)))
    );
    assert_eq!(after.layout, before.layout);
    assert_eq!(
        after.tables["users"].last_snapshot_date.to_string(),
        "2026-11-22"
    );

    // The schema widened: saved for the lake, in the new partition's file, not the old.
    let users = run
        .tables
        .iter()
        .find(|t| t.table == "users")
        .expect("users");
    assert!(
        users
            .schema_changes
            .iter()
            .any(|c| c.starts_with("added column drift_new_field (string)")),
        "{:?}",
        users.schema_changes
    );
    let saved = std::fs::read_to_string(lake.join("_jclake/schemas/users.json")).expect("saved");
    assert!(saved.contains(&run.run_id) && saved.contains("drift_new_field"));
    assert!(columns(&lake.join("users/snapshot_date=2026-11-22"))
        .contains(&"drift_new_field".to_string()));
    assert!(!columns(&lake.join("users/snapshot_date=2026-11-21"))
        .contains(&"drift_new_field".to_string()));

    let v = jclake(["verify", "--lake", &root]);
    v.expect_code(0);
    assert!(v.stdout.contains(": 3 runs, "), "{}", v.all());
}
