//! End-to-end: the simulator in-process, `jclake export` into a temporary lake, and the lake
//! read back: exact row counts and id sets per table, partition layout, column types,
//! manifests, same-day replacement, and the CLI's exit codes and error lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use jclake::model::RunOutcome;

use crate::util::sim::{self, Mutation, SimConfig, SimHandle};
use crate::util::{jclake, parquet_files, read_batches, walk, Export, Output};

async fn start_sim(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

fn export(sim: &SimHandle, lake: &Path, tables: Option<&str>, date: &str) -> Export {
    let e = Export::new(sim.base_url(), lake.display()).arg("--snapshot-date", date);
    match tables {
        Some(t) => e.arg("--tables", t),
        None => e,
    }
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let c = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("column {column}"));
        let s = c.as_string::<i32>();
        for i in 0..s.len() {
            out.push(s.value(i).to_string());
        }
    }
    out
}

fn partition_files(lake: &Path, table: &str, date: &str) -> Vec<String> {
    let dir = lake.join(table).join(format!("snapshot_date={date}"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn sorted(v: Vec<String>) -> Vec<String> {
    let mut v = v;
    v.sort();
    v
}

#[tokio::test]
async fn full_export_matches_the_simulator_table_by_table() {
    let sim = start_sim(SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = export(&sim, &lake, None, "2026-11-20").run().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(
        run.tables.iter().filter(|t| t.table != "events").count(),
        55
    );
    assert!(run.tables.iter().any(|t| t.table == "events" && t.rows > 0));

    // Layout: <root>/<table>/snapshot_date=YYYY-MM-DD/part-00000.parquet, one file each.
    for t in run.tables.iter().filter(|t| t.table != "events") {
        assert_eq!(
            partition_files(&lake, &t.table, "2026-11-20"),
            ["part-00000.parquet"],
            "{}",
            t.table
        );
    }

    // Collections: the exact id set, each once.
    for (table, route) in [
        ("users", "systemusers"),
        ("systems", "systems"),
        ("applications", "applications"),
        ("organizations", "organizations"),
        ("commands", "commands"),
        ("radius_servers", "radiusservers"),
        ("user_groups", "usergroups"),
        ("system_groups", "systemgroups"),
        ("policies", "policies"),
        ("directories", "directories"),
    ] {
        let batches = read_batches(&parquet_files(&lake.join(table)));
        let ids = strings(&batches, "id");
        let expected = sorted(sim.ids(0, route));
        assert!(!expected.is_empty(), "{table} has data");
        assert_eq!(sorted(ids.clone()), expected, "{table}: ids");
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            ids.len(),
            "{table}: no duplicates"
        );
        let manifest_rows = run.tables.iter().find(|t| t.table == table).map(|t| t.rows);
        assert_eq!(
            manifest_rows,
            Some(expected.len() as u64),
            "{table}: manifest rows"
        );
    }
    assert_eq!(sim.ids(0, "systemusers").len(), 250);

    // Edge tables: the exact (parent, member) pairs.
    let batches = read_batches(&parquet_files(&lake.join("user_group_members")));
    let got: BTreeSet<(String, String, String)> = strings(&batches, "group_id")
        .into_iter()
        .zip(strings(&batches, "member_id"))
        .zip(strings(&batches, "member_type"))
        .map(|((g, m), t)| (g, m, t))
        .collect();
    let mut expected = BTreeSet::new();
    for g in sim.ids(0, "usergroups") {
        for (kind, id) in sim.members(0, &g) {
            expected.insert((g.clone(), id, kind));
        }
    }
    assert!(
        expected.iter().any(|(_, _, k)| k == "user_group"),
        "nested groups are exported too"
    );
    assert_eq!(got, expected);
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        expected.len()
    );

    let batches = read_batches(&parquet_files(&lake.join("user_system_associations")));
    let got: BTreeSet<(String, String)> = strings(&batches, "user_id")
        .into_iter()
        .zip(strings(&batches, "system_id"))
        .collect();
    let mut expected = BTreeSet::new();
    for u in sim.ids(0, "systemusers") {
        for s in sim.associations(0, "user", &u, "system") {
            expected.insert((u.clone(), s));
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(got, expected);

    // Types every reader accepts.
    let users = read_batches(&parquet_files(&lake.join("users")));
    let schema = users[0].schema();
    let ty = |c: &str| {
        schema
            .field_with_name(c)
            .unwrap_or_else(|_| panic!("{c}"))
            .data_type()
            .clone()
    };
    assert_eq!(
        ty("created"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("unix_uid"), DataType::Int64);
    assert_eq!(ty("activated"), DataType::Boolean);
    assert_eq!(ty("attributes"), DataType::Utf8);
    assert!(matches!(ty("mfa"), DataType::Struct(_)));
    assert!(matches!(ty("addresses"), DataType::List(_)));
    assert!(!schema.field_with_name("id").expect("id").is_nullable());
    // Every column name is SQL-safe.
    for f in schema.fields() {
        assert!(
            f.name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            f.name()
        );
    }
    // Nothing was rescued from the simulator's declared shapes, and free-form attribute
    // names stay inside the JSON column.
    let rescued = users
        .iter()
        .map(|b| b.column_by_name("_rescued").expect("_rescued").null_count())
        .sum::<usize>();
    assert_eq!(rescued, 250);
    assert!(
        strings(&users, "attributes")
            .iter()
            .any(|a| a.contains("a.b c"))
            || strings(&users, "attributes")
                .iter()
                .any(|a| a.contains("Team Name"))
    );

    // The RADIUS shared secret is never exported.
    let radius = read_batches(&parquet_files(&lake.join("radius_servers")));
    assert!(radius[0]
        .schema()
        .fields()
        .iter()
        .all(|f| !f.name().contains("secret")));
    assert_eq!(
        radius[0]
            .column_by_name("_rescued")
            .expect("_rescued")
            .null_count(),
        radius[0].num_rows()
    );
    assert_eq!(
        run.tables
            .iter()
            .find(|t| t.table == "radius_servers")
            .map(|t| t.excluded),
        Some(2)
    );

    // Manifest and state.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            lake.join("_jclake/runs")
                .join(format!("{}.json", run.run_id)),
        )
        .expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["outcome"], "succeeded");
    assert_eq!(manifest["tables"][0]["table"], "users");
    assert_eq!(manifest["tables"][0]["rows"], 250);
    assert_eq!(
        manifest["tables"][0]["files"][0]["path"],
        "users/snapshot_date=2026-11-20/part-00000.parquet"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_jclake/state.json")).expect("state"))
            .expect("json");
    assert_eq!(state["last_run_id"], run.run_id.as_str());
    assert_eq!(state["tables"]["users"]["rows"], 250);
    assert_eq!(state["tables"]["users"]["last_snapshot_date"], "2026-11-20");
    assert!(
        parquet_files(&lake.join("_jclake")).is_empty(),
        "staging is cleared"
    );
}

#[tokio::test]
async fn same_day_rerun_replaces_the_snapshot_and_earlier_days_stay() {
    let sim = start_sim(SimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let day1_ids = sorted(sim.ids(0, "systemusers"));
    export(&sim, &lake, Some("users"), "2026-11-20").run().await;

    sim.mutate(
        0,
        &Mutation {
            add_users: 5,
            remove_users: 3,
            change_users: 2,
            ..Mutation::default()
        },
    );
    // Small files first: 252 users in three files.
    let run = export(&sim, &lake, Some("users"), "2026-11-21")
        .settings("file_rows = 100")
        .run()
        .await;
    assert_eq!(run.tables[0].files.len(), 3);
    assert_eq!(
        partition_files(&lake, "users", "2026-11-21"),
        [
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );

    sim.mutate(
        0,
        &Mutation {
            add_users: 1,
            ..Mutation::default()
        },
    );
    let day2_ids = sorted(sim.ids(0, "systemusers"));
    assert_eq!(day2_ids.len(), 253);
    export(&sim, &lake, Some("users"), "2026-11-21").run().await;

    // The rerun replaced day 2 whole (no stale part-00001/2), and day 1 is untouched.
    assert_eq!(
        partition_files(&lake, "users", "2026-11-21"),
        ["part-00000.parquet"]
    );
    let d2 = read_batches(&parquet_files(&lake.join("users/snapshot_date=2026-11-21")));
    assert_eq!(sorted(strings(&d2, "id")), day2_ids);
    let d1 = read_batches(&parquet_files(&lake.join("users/snapshot_date=2026-11-20")));
    assert_eq!(sorted(strings(&d1, "id")), day1_ids);
    let runs = std::fs::read_dir(lake.join("_jclake/runs"))
        .expect("runs")
        .count();
    assert_eq!(runs, 3);
}

/// `jclake export` of the lake `lake` from `base_url`, as a process, colours off.
fn cli(base_url: &str, lake: impl std::fmt::Display) -> Export {
    Export::new(base_url, lake).env("NO_COLOR", "1")
}

/// Runs the binary off the test's runtime (which serves the simulator).
async fn bin(e: Export) -> Output {
    tokio::task::spawn_blocking(move || e.bin(&[]))
        .await
        .expect("join")
}

#[tokio::test]
async fn cli_errors_are_one_line_with_distinct_exit_codes_and_never_show_the_key() {
    let secret = "sekrit-KEY-0123456789";
    let sim = start_sim(SimConfig {
        api_key: secret.into(),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let lake_s = lake.display().to_string();
    let base = sim.base_url().to_string();

    // Wrong key: exit 3.
    let o = bin(cli(&base, &lake_s).env("JUMPCLOUD_API_KEY", "wrong-key-987")).await;
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(
        o.last_error()
            .starts_with("jclake: JumpCloud rejected the API key (401 on http://127.0.0.1:"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("wrong-key-987") && !o.stdout.contains("wrong-key-987"));

    // No key: exit 2.
    let o = bin(cli(&base, &lake_s).without_env("JUMPCLOUD_API_KEY")).await;
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.stderr.trim(),
        "jclake: no API key: set JUMPCLOUD_API_KEY (or `api_key` in the config file), or a service account with JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET"
    );

    // Unknown table and bad config file: exit 2.
    let o = bin(cli(&base, &lake_s)
        .arg("--tables", "users,gadgets")
        .env("JUMPCLOUD_API_KEY", secret))
    .await;
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .trim()
            .starts_with("jclake: unknown table \"gadgets\"; known tables: users, systems,"),
        "{}",
        o.stderr
    );
    // A value of the wrong type is an error even where a flag would win over it.
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "lake = 3\n").expect("write");
    let bad = bad_toml.display().to_string();
    let o =
        tokio::task::spawn_blocking(move || jclake(["export", "--lake", "l", "--config", &bad]))
            .await
            .expect("join");
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr.trim().starts_with(&format!(
            "jclake: config file {}: lake: 3 is not a string",
            bad_toml.display()
        )),
        "{}",
        o.stderr
    );

    // Unwritable lake root (its parent is a file): exit 5, before any API call.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    let o = bin(cli(&base, blocker.join("lake").display()).env("JUMPCLOUD_API_KEY", secret)).await;
    assert_eq!(o.code, Some(5), "{}", o.stderr);
    assert!(
        o.last_error().starts_with("jclake: lake ") && o.last_error().contains("is not writable"),
        "{}",
        o.stderr
    );

    // Unreachable host: exit 4 (after two attempts, to keep the test short).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let o = bin(cli(&format!("http://127.0.0.1:{port}"), &lake_s)
        .settings("retry_max_attempts = 2")
        .env("JUMPCLOUD_API_KEY", secret))
    .await;
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    assert!(
        o.last_error().starts_with(&format!(
            "jclake: cannot reach http://127.0.0.1:{port}/api/organizations"
        )) && o.last_error().contains(" after 2 attempts: "),
        "{}",
        o.stderr
    );

    // A good run: exit 0, a summary, and the key nowhere in output or lake. Logs at the
    // default level (info), each line JSON.
    let o = bin(cli(&base, &lake_s)
        .arg("--log-format", "json")
        .env("JCLAKE_LOG", "info")
        .env("JUMPCLOUD_API_KEY", secret))
    .await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.contains("succeeded"), "{}", o.stdout);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with("users ") && l.split_whitespace().nth(1) == Some("250")),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains(secret) && !o.stderr.contains(secret));
    for line in o.stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("JSON log line {line:?}: {e}"));
    }
    let mut seen = BTreeMap::new();
    for f in walk(&lake) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "key leaked into {}",
            f.display()
        );
        *seen
            .entry(
                f.extension()
                    .map(|e| e.to_string_lossy().to_string())
                    .unwrap_or_default(),
            )
            .or_insert(0) += 1;
    }
    let snapshot_files = walk(&lake)
        .iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet") && !p.starts_with(lake.join("events"))
        })
        .count();
    assert_eq!(snapshot_files, 55);
    assert!(
        seen.get("parquet").copied().unwrap_or(0) > 55,
        "event partitions too"
    );
    assert_eq!(
        seen.get("json"),
        Some(&2),
        "one run manifest and state.json"
    );
}

#[test]
fn tables_and_describe_print_the_declared_schemas() {
    let o = jclake(["tables"]);
    assert_eq!(o.code, Some(0));
    // By family: a title, then one line per table; System Insights defaults marked `*`.
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "Directory: people, devices, apps, groups, admins");
    assert!(lines[1].starts_with("   users "), "{}", lines[1]);
    let tables: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.get(3..)?.split_whitespace().next())
        .collect();
    assert_eq!(tables.len(), 42 + 60);
    let marked: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("  *"))
        .filter_map(|l| l[3..].split_whitespace().next())
        .collect();
    assert_eq!(marked.len(), 14);
    assert!(marked.contains(&"system_insights_apps"));
    assert!(
        tables.contains(&"system_insights_battery") && !marked.contains(&"system_insights_battery")
    );
    let o = jclake(["describe", "users"]);
    assert_eq!(o.code, Some(0));
    assert!(o.stdout.lines().any(|l| l.starts_with("created ")
        && l.contains("timestamp[us, UTC]")
        && l.contains("When the user was created")));
    assert!(o
        .stdout
        .lines()
        .any(|l| l.starts_with("id ") && l.contains(" no ") && l.contains("_id")));
    let o = jclake(["describe", "system_insights_apps"]);
    assert_eq!(o.code, Some(0));
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines[1],
        "key: system_id, bundle_identifier, path (rows may repeat a key; every row is kept)"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("last_opened_time ") && l.contains("float64")));
    let o = jclake(["describe", "gadgets"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.starts_with("jclake: unknown table \"gadgets\""));
}
