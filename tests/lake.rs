//! The commit protocol's conformance suite, run on the local filesystem and on a real
//! S3-compatible server: same-day replacement, the lock, retention, `verify`, and a
//! crash (SIGKILL) at every step of a run followed by a rerun, after which `verify` passes
//! and the lake equals the one a clean run writes.
//!
//! The S3 variants are `#[ignore]`d unless an S3 server is configured: `make test` starts
//! SeaweedFS on 127.0.0.1 and runs them with `--include-ignored` and these variables:
//! `JCLAKE_TEST_S3_BUCKET`, `AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_ALLOW_HTTP=true`, `AWS_REGION`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use futures::TryStreamExt;
use jclake::manifest::lock;
use jclake::model::hooks::CrashPoint;
use jclake::model::RunOutcome;
use jclake::sink::{Lake, LakeLocation, S3Options};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::sim::{self, OrgSize, SimConfig, SimHandle};
use crate::util::{jclake, Export, Output};

/// Where a test's lake lives.
struct Backend {
    /// `--lake` value.
    root: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn local() -> Backend {
        let dir = tempfile::tempdir().expect("tempdir");
        Backend {
            root: dir.path().join("lake").display().to_string(),
            _dir: Some(dir),
        }
    }

    fn s3(test: &str) -> Backend {
        let bucket = std::env::var("JCLAKE_TEST_S3_BUCKET")
            .expect("JCLAKE_TEST_S3_BUCKET (run through `make test`)");
        let prefix = format!("{test}-{:08x}", fastrand::u32(..));
        Backend {
            root: format!("s3://{bucket}/{prefix}"),
            _dir: None,
        }
    }

    fn lake(&self) -> Lake {
        Lake::open(
            &LakeLocation::parse(&self.root).expect("location"),
            &S3Options::default(),
        )
        .expect("lake")
    }

    fn store(&self) -> Arc<dyn ObjectStore> {
        self.lake().store()
    }

    /// The lake's folder, when it is on local disk.
    fn local_root(&self) -> Option<&std::path::Path> {
        (!self.root.starts_with("s3://")).then(|| std::path::Path::new(&self.root))
    }
}

/// Writes `_jclake/lock.json` as another run would have left it.
async fn plant_lock(lake: &Lake, body: serde_json::Value) {
    lake.store()
        .put(
            &ObjPath::from("_jclake/lock.json"),
            PutPayload::from(body.to_string().into_bytes()),
        )
        .await
        .expect("plant lock");
}

fn small_org() -> SimConfig {
    SimConfig {
        size: OrgSize {
            users: 60,
            systems: 20,
            user_groups: 6,
            system_groups: 3,
            applications: 4,
            commands: 2,
            radius_servers: 1,
            policies: 3,
            directories: 2,
            events: 1500,
            event_days: 3,
        },
        ..SimConfig::default()
    }
}

const SETTINGS: &str =
    "file_rows = 25\nevents_page_size = 200\nretry_max_attempts = 2\nlock_ttl_seconds = 60\n";

/// An export of the whole org into `b` for `date`, keeping `keep` snapshots if given.
fn export(sim: &SimHandle, b: &Backend, date: &str, keep: Option<usize>) -> Export {
    let e = Export::new(sim.base_url(), &b.root)
        .arg("--snapshot-date", date)
        .arg("--events-since", "2026-01-01")
        .settings(SETTINGS);
    match keep {
        Some(k) => e.arg("--keep-snapshots", k),
        None => e,
    }
}

/// Every object key below the lake root.
async fn keys(b: &Backend) -> Vec<String> {
    let store = b.store();
    let mut k: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    k.sort();
    k
}

/// Per table partition: a sorted key per row — its `id`, or for edge tables the pair of
/// its first two columns (a repeated row appears twice).
async fn contents(b: &Backend) -> BTreeMap<String, Vec<String>> {
    let store = b.store();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in keys(b)
        .await
        .into_iter()
        .filter(|k| k.ends_with(".parquet") && !k.starts_with("_jclake/"))
    {
        let bytes = store
            .get(&ObjPath::from(k.as_str()))
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        let partition = k
            .rsplit_once('/')
            .map(|(p, _)| p.to_string())
            .unwrap_or_default();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .expect("footer")
            .build()
            .expect("reader");
        let ids = out.entry(partition).or_default();
        for batch in reader {
            let batch = batch.expect("batch");
            match batch.column_by_name("id") {
                Some(c) => {
                    let c = c.as_string::<i32>();
                    ids.extend((0..c.len()).map(|i| c.value(i).to_string()));
                }
                // A table without ids: the whole row.
                None => {
                    let opts = arrow::util::display::FormatOptions::default();
                    // Timestamps as integers: the formatter knows no "UTC" without chrono-tz.
                    let plain: Vec<arrow::array::ArrayRef> = batch
                        .columns()
                        .iter()
                        .map(|c| match c.data_type() {
                            arrow::datatypes::DataType::Timestamp(..) => {
                                arrow::compute::cast(c, &arrow::datatypes::DataType::Int64)
                                    .expect("cast")
                            }
                            _ => c.clone(),
                        })
                        .collect();
                    let cols: Vec<_> = plain
                        .iter()
                        .map(|c| {
                            arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts)
                                .expect("formatter")
                        })
                        .collect();
                    ids.extend((0..batch.num_rows()).map(|i| {
                        cols.iter()
                            .map(|f| f.value(i).to_string())
                            .collect::<Vec<_>>()
                            .join("|")
                    }));
                }
            }
        }
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

/// `jclake export` as a process, for 2026-11-20, killed at `crash_at` if given.
fn export_bin(sim: &SimHandle, b: &Backend, crash_at: Option<CrashPoint>) -> Output {
    let e = export(sim, b, "2026-11-20", None);
    match crash_at {
        Some(p) => e.bin(&[(CrashPoint::ENV, p.name())]),
        None => e.bin(&[]),
    }
}

fn verify(b: &Backend) -> (Option<i32>, String) {
    let out = jclake(["verify", "--lake", &b.root]);
    (out.code, out.all())
}

async fn same_day_rerun_replaces_and_verify_passes(b: Backend) {
    let sim = sim::start(small_org()).await.expect("sim");
    let run = export(&sim, &b, "2026-11-20", None).run().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    let users: Vec<String> = keys(&b)
        .await
        .into_iter()
        .filter(|k| k.starts_with("users/"))
        .collect();
    assert_eq!(
        users,
        [
            "users/snapshot_date=2026-11-20/part-00000.parquet",
            "users/snapshot_date=2026-11-20/part-00001.parquet",
            "users/snapshot_date=2026-11-20/part-00002.parquet"
        ]
    );
    sim.mutate(
        0,
        &sim::Mutation {
            remove_users: 20,
            ..Default::default()
        },
    );
    export(&sim, &b, "2026-11-20", None).run().await;
    let users: Vec<String> = keys(&b)
        .await
        .into_iter()
        .filter(|k| k.starts_with("users/"))
        .collect();
    assert_eq!(
        users,
        [
            "users/snapshot_date=2026-11-20/part-00000.parquet",
            "users/snapshot_date=2026-11-20/part-00001.parquet"
        ]
    );
    let c = contents(&b).await;
    let mut expected = sim.ids(0, "systemusers");
    expected.sort();
    assert_eq!(c["users/snapshot_date=2026-11-20"], expected);
    assert!(!keys(&b)
        .await
        .iter()
        .any(|k| k.starts_with("_jclake/staging/") || k == "_jclake/lock.json"));
    let (code, out) = verify(&b);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("match their manifests"), "{out}");
}

async fn lock_stops_a_second_run_and_a_dead_runs_lock_is_taken_over(b: Backend) {
    let sim = sim::start(small_org()).await.expect("sim");
    let lake = b.lake();
    let held = lock::acquire(&lake, "other-run", std::time::Duration::from_secs(60), None)
        .await
        .expect("lock");
    let err = export(&sim, &b, "2026-11-20", None)
        .try_run()
        .await
        .expect_err("locked");
    assert_eq!(err.exit_code(), 7);
    assert!(
        err.to_string()
            .starts_with("another run holds the lake's lock: run other-run (host "),
        "{err}"
    );
    held.release().await.expect("release");
    // Runs once the lock is free.
    export(&sim, &b, "2026-11-20", None).run().await;

    // A lock left by a process that no longer exists on this host is taken over at once.
    let mut dead = Command::new("true").spawn().expect("spawn");
    let pid = dead.id();
    dead.wait().expect("wait");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = serde_json::json!({"run_id": "dead-run", "host": host, "pid": pid, "acquired_at": "2026-11-20T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"});
    plant_lock(&lake, body).await;
    // Takes over a dead run's lock.
    export(&sim, &b, "2026-11-21", None).run().await;
    // A live holder on another host, until its expiry, blocks the CLI with exit code 7.
    let body = serde_json::json!({"run_id": "remote-run", "host": "elsewhere", "pid": 1, "acquired_at": "2026-11-20T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"});
    plant_lock(&lake, body).await;
    let out = tokio::task::block_in_place(|| export_bin(&sim, &b, None));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(out
        .stderr
        .contains("run remote-run (host elsewhere, pid 1)"));
}

async fn retention_keeps_the_newest_snapshots(b: Backend) {
    let sim = sim::start(small_org()).await.expect("sim");
    for d in ["2026-11-18", "2026-11-19", "2026-11-20"] {
        export(&sim, &b, d, None).run().await;
    }
    let run = export(&sim, &b, "2026-11-21", Some(2)).run().await;
    // Every snapshot table but the two histories (command and policy results).
    assert_eq!(run.retired.len(), 2 * 53, "{:?}", run.retired);
    assert!(
        run.retired
            .contains(&"users/snapshot_date=2026-11-18".to_string()),
        "{:?}",
        run.retired
    );
    assert!(run
        .retired
        .contains(&"users/snapshot_date=2026-11-19".to_string()));
    let dates: BTreeSet<String> = keys(&b)
        .await
        .into_iter()
        .filter_map(|k| {
            k.strip_prefix("users/")
                .and_then(|r| r.split('/').next())
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        dates,
        BTreeSet::from([
            "snapshot_date=2026-11-20".to_string(),
            "snapshot_date=2026-11-21".to_string()
        ])
    );
    assert!(
        keys(&b).await.iter().any(|k| k.starts_with("events/")),
        "events are never retired"
    );
    let (code, out) = verify(&b);
    assert_eq!(code, Some(0), "{out}");
}

async fn verify_lists_every_mismatch(b: Backend) {
    let sim = sim::start(small_org()).await.expect("sim");
    export(&sim, &b, "2026-11-20", None).run().await;
    let store = b.store();
    store
        .delete(&ObjPath::from(
            "users/snapshot_date=2026-11-20/part-00001.parquet",
        ))
        .await
        .expect("delete");
    store
        .put(
            &ObjPath::from("systems/snapshot_date=2026-11-20/stray.parquet"),
            PutPayload::from_static(b"PAR1"),
        )
        .await
        .expect("put");
    let (code, out) = verify(&b);
    assert_eq!(code, Some(8), "{out}");
    assert!(out.contains("MISMATCH: missing: users/snapshot_date=2026-11-20/part-00001.parquet (listed with 25 rows"), "{out}");
    assert!(
        out.contains(
            "MISMATCH: not in any manifest: systems/snapshot_date=2026-11-20/stray.parquet"
        ),
        "{out}"
    );
    assert!(
        out.contains("jclake: ") && out.contains("2 mismatches"),
        "{out}"
    );
}

/// A file past the upload buffer (5 MiB) goes up as a multipart upload and lands whole;
/// its row groups end at their byte budget long before their row limit.
async fn large_files_are_uploaded_whole(b: Backend) {
    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let lake = b.lake();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
    let opts = jclake::sink::WriteOptions {
        row_group_rows: 1_000_000,
        row_group_bytes: 4 << 20,
        file_rows: 1_000_000,
        zstd_level: 1,
    };
    let mut w = jclake::sink::SnapshotWriter::new(
        &lake,
        schema.clone(),
        &opts,
        vec!["_jclake".into(), "staging".into(), "big".into()],
        vec!["big".into()],
    );
    let mut rng = fastrand::Rng::with_seed(7);
    let mut rows = 0;
    // Random hex does not compress below half: 48 × 1000 × 512 chars ≈ 24 MB raw.
    let mut random_ids = || {
        let ids: Vec<String> = (0..1000)
            .map(|_| (0..32).map(|_| format!("{:016x}", rng.u64(..))).collect())
            .collect();
        RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(ids))]).expect("batch")
    };
    for _ in 0..48 {
        let batch = random_ids();
        rows += batch.num_rows();
        w.write(&batch).await.expect("write");
    }
    let files = w.finish().await.expect("finish");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].rows, rows as u64);
    assert!(
        files[0].bytes > 11 * 1024 * 1024,
        "{} bytes: past the 5 MiB buffer",
        files[0].bytes
    );
    let meta = lake.store().head(&files[0].staged).await.expect("uploaded");
    assert_eq!(meta.size, files[0].bytes);
    let bytes = lake
        .store()
        .get(&files[0].staged)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("footer");
    // 24 MB of text (about 12 MB encoded) in row groups of at most 4 MiB held: never one
    // row group of 48,000 rows.
    let groups = reader.metadata().num_row_groups();
    assert!((3..=48).contains(&groups), "{groups} row groups");
    let n: usize = reader
        .build()
        .expect("reader")
        .map(|b| b.expect("batch").num_rows())
        .sum();
    assert_eq!(n, rows);

    // A writer dropped past the 5 MiB buffer (a table that failed mid-file) aborts its
    // multipart upload: the store lists no incomplete upload under it.
    let mut w = jclake::sink::SnapshotWriter::new(
        &lake,
        schema.clone(),
        &opts,
        vec!["_jclake".into(), "staging".into(), "abandoned".into()],
        vec!["abandoned".into()],
    );
    for _ in 0..64 {
        w.write(&random_ids()).await.expect("write");
    }
    if let Some(prefix) = b.root.strip_prefix("s3://") {
        assert_eq!(uploads(prefix, "_jclake/staging/abandoned/").len(), 1);
        drop(w);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert_eq!(
            uploads(prefix, "_jclake/staging/abandoned/"),
            Vec::<String>::new()
        );
    }
}

/// The keys of the incomplete multipart uploads under `bucket/prefix` + `under`, from the
/// S3 server's own listing (`GET ?uploads`, which `object_store` does not offer), by curl
/// as the Makefile uses it.
fn uploads(bucket_prefix: &str, under: &str) -> Vec<String> {
    let (bucket, prefix) = bucket_prefix.split_once('/').expect("bucket/prefix");
    let env =
        |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} (run through `make test`)"));
    let out = Command::new("curl")
        .args([
            "-sf",
            "--aws-sigv4",
            &format!("aws:amz:{}:s3", env("AWS_REGION")),
            "--user",
            &format!(
                "{}:{}",
                env("AWS_ACCESS_KEY_ID"),
                env("AWS_SECRET_ACCESS_KEY")
            ),
            &format!(
                "{}/{bucket}?prefix={}&uploads=",
                env("AWS_ENDPOINT"),
                // Signed as S3 canonicalises it: `/` percent-encoded in a query value.
                format!("{prefix}/{under}").replace('/', "%2F")
            ),
        ])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8_lossy(&out.stdout);
    xml.split("<Key>")
        .skip(1)
        .filter_map(|k| k.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

async fn crash_anywhere_then_rerun_equals_a_clean_run(b: Backend, clean: Backend) {
    let sim = sim::start(small_org()).await.expect("sim");
    let out = tokio::task::block_in_place(|| export_bin(&sim, &clean, None));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let reference = contents(&clean).await;
    assert!(
        reference.keys().any(|p| p.starts_with("events/"))
            && reference.contains_key("users/snapshot_date=2026-11-20")
    );

    // Where a run can die: while pages arrive, once a table is staged, after an events day
    // is committed, before the final commit, after its intent, between two published
    // partitions, between publish and manifest, between manifest and state.
    for (i, crash) in CrashPoint::ALL.into_iter().enumerate() {
        let point = crash.name();
        let lake = Backend {
            root: format!("{}/{i}-{point}", b.root),
            _dir: None,
        };
        let out = tokio::task::block_in_place(|| export_bin(&sim, &lake, Some(crash)));
        assert_eq!(
            out.signal,
            Some(9),
            "{point}: the run is killed (code {:?}) {}",
            out.code,
            out.stderr
        );
        let out = tokio::task::block_in_place(|| export_bin(&sim, &lake, None));
        assert_eq!(out.code, Some(0), "{point}: rerun: {}", out.stderr);
        let (code, report) = tokio::task::block_in_place(|| verify(&lake));
        assert_eq!(code, Some(0), "{point}: verify after rerun: {report}");
        let got = contents(&lake).await;
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "{point}: partitions"
        );
        for (p, ids) in &reference {
            assert_eq!(&got[p], ids, "{point}: {p} differs from a clean run");
            // System Insights rows carry no id and may repeat; the equality above counts them.
            if !p.starts_with("system_insights_") {
                let unique: BTreeSet<&String> = got[p].iter().collect();
                assert_eq!(unique.len(), got[p].len(), "{point}: {p} has duplicates");
            }
        }
        let left = keys(&lake).await;
        assert!(
            !left
                .iter()
                .any(|k| k.starts_with("_jclake/staging/") || k == "_jclake/lock.json"),
            "{point}: {left:?}"
        );
    }
}

/// Several runs find the same expired lock at once: exactly one takes it over, the others
/// are told who holds it. Twenty rounds, eight racers each.
async fn racing_takeovers_of_a_dead_lock_have_one_winner(b: Backend) {
    let lake = b.lake();
    // Long enough that no winner's lock expires within a round, however slow the store is
    // under load (a round on SeaweedFS has taken over a minute beside the crash tests).
    let ttl = std::time::Duration::from_secs(600);
    for round in 0..20 {
        let body = serde_json::json!({"run_id": format!("expired-{round}"), "host": "elsewhere", "pid": 1, "acquired_at": "2000-01-01T00:00:00Z", "expires_at": "2000-01-01T00:10:00Z"});
        plant_lock(&lake, body).await;
        if let Some(root) = b.local_root() {
            // A lock last written days ago, as a nightly run killed yesterday leaves it.
            touch(&root.join("_jclake/lock.json"), "2 days ago");
        }
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let lake = lake.clone();
                tokio::spawn(async move {
                    lock::acquire(&lake, &format!("racer-{round}-{i}"), ttl, None).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut refused = Vec::new();
        for r in racers {
            match r.await.expect("join") {
                Ok(held) => winners.push(held),
                Err(e) => refused.push(e.to_string()),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {refused:?}");
        assert_eq!(refused.len(), 7);
        assert!(
            refused.iter().all(|e| e.starts_with(&format!(
                "another run holds the lake's lock: run racer-{round}-"
            ))),
            "round {round}: {refused:?}"
        );
        for held in winners {
            held.release().await.expect("release");
        }
        assert!(!lake
            .exists(&ObjPath::from("_jclake/lock.json"))
            .await
            .expect("exists"));
    }

    // On disk: a run that died after claiming a dead lock, before deleting it, does not
    // block the lake; the next run claims it again once the claim is stale.
    if let Some(root) = b.local_root() {
        let body = serde_json::json!({"run_id": "expired-x", "host": "elsewhere", "pid": 1, "acquired_at": "2000-01-01T00:00:00Z", "expires_at": "2000-01-01T00:10:00Z"});
        plant_lock(&lake, body).await;
        let lock_path = ObjPath::from("_jclake/lock.json");
        let tag = lake
            .store()
            .head(&lock_path)
            .await
            .expect("head")
            .e_tag
            .expect("e-tag");
        let claim = root.join(format!("_jclake/lock-taken/{tag}-0"));
        std::fs::write(&claim, b"").expect("plant claim");
        touch(&claim, "1 minute ago");
        let held = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            lock::acquire(&lake, "after-a-stale-claim", ttl, None),
        )
        .await
        .expect("does not hang")
        .expect("takes the lock");
        assert!(root.join(format!("_jclake/lock-taken/{tag}-1")).exists());
        held.release().await.expect("release");
    }
}

/// Sets a file's modification time (`touch -d`).
fn touch(path: &std::path::Path, when: &str) {
    let ok = Command::new("touch")
        .args(["-d", when])
        .arg(path)
        .status()
        .expect("touch")
        .success();
    assert!(ok, "touch -d {when} {}", path.display());
}

mod local {
    use super::*;

    #[tokio::test]
    async fn same_day_rerun_replaces_and_verify_passes() {
        super::same_day_rerun_replaces_and_verify_passes(Backend::local()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_stops_a_second_run_and_a_dead_runs_lock_is_taken_over() {
        super::lock_stops_a_second_run_and_a_dead_runs_lock_is_taken_over(Backend::local()).await
    }

    #[tokio::test]
    async fn retention_keeps_the_newest_snapshots() {
        super::retention_keeps_the_newest_snapshots(Backend::local()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_takeovers_of_a_dead_lock_have_one_winner() {
        super::racing_takeovers_of_a_dead_lock_have_one_winner(Backend::local()).await
    }

    #[tokio::test]
    async fn verify_lists_every_mismatch() {
        super::verify_lists_every_mismatch(Backend::local()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crash_anywhere_then_rerun_equals_a_clean_run() {
        super::crash_anywhere_then_rerun_equals_a_clean_run(Backend::local(), Backend::local())
            .await
    }

    #[tokio::test]
    async fn large_files_are_uploaded_whole() {
        super::large_files_are_uploaded_whole(Backend::local()).await
    }

    #[test]
    fn keys_never_leave_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("lake");
        let lake =
            Lake::open(&LakeLocation::Local(root.clone()), &S3Options::default()).expect("lake");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let long = "x".repeat(5000);
        for hostile in [
            "../escape",
            "/etc/passwd",
            "a/../../b",
            "%2F..%2F",
            "nul\0byte",
            "..",
            ".",
            long.as_str(),
        ] {
            let k = jclake::sink::key(["events", hostile, "f.parquet"]);
            assert_eq!(k.parts().count(), 3, "{hostile:?} stays one path part: {k}");
            // Writing it either lands inside the root or fails; it never lands outside.
            let _ = rt.block_on(lake.put(&k, b"x".to_vec()));
        }
        let outside: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            outside,
            [std::ffi::OsString::from("lake")],
            "nothing written beside the root"
        );
        assert!(!std::path::Path::new("/etc/passwd/f.parquet").exists());
    }
}

mod s3 {
    use super::*;

    #[tokio::test]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn same_day_rerun_replaces_and_verify_passes() {
        super::same_day_rerun_replaces_and_verify_passes(Backend::s3("replace")).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn lock_stops_a_second_run_and_a_dead_runs_lock_is_taken_over() {
        super::lock_stops_a_second_run_and_a_dead_runs_lock_is_taken_over(Backend::s3("lock")).await
    }

    #[tokio::test]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn retention_keeps_the_newest_snapshots() {
        super::retention_keeps_the_newest_snapshots(Backend::s3("retention")).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn racing_takeovers_of_a_dead_lock_have_one_winner() {
        super::racing_takeovers_of_a_dead_lock_have_one_winner(Backend::s3("race")).await
    }

    #[tokio::test]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn verify_lists_every_mismatch() {
        super::verify_lists_every_mismatch(Backend::s3("verify")).await
    }

    #[tokio::test]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn large_files_are_uploaded_whole() {
        super::large_files_are_uploaded_whole(Backend::s3("large")).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs an S3 server: make test starts one"]
    async fn crash_anywhere_then_rerun_equals_a_clean_run() {
        super::crash_anywhere_then_rerun_equals_a_clean_run(
            Backend::s3("crash"),
            Backend::s3("clean"),
        )
        .await
    }
}
