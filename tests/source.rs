//! The source under a hostile network: with the simulator's faults on (5 % 5xx, 1 % resets,
//! 1 % truncated bodies, 429 bursts) the lake is identical, row by row, to a fault-free
//! run's; against a rate limit the run converges near it without being told; a service
//! account's token is renewed mid-run; `--plan` fetches no records.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jclake::model::RunOutcome;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::sim::{self, Faults, OrgSize, SimConfig, SimHandle};
use crate::util::{jclake, json_rows, parquet_files, read_batches, Export};

fn org(users: usize, events: usize) -> OrgSize {
    OrgSize {
        users,
        systems: 40,
        user_groups: 8,
        system_groups: 4,
        applications: 5,
        commands: 3,
        radius_servers: 1,
        policies: 4,
        directories: 2,
        events,
        event_days: 3,
    }
}

/// An export of `tables` (default: all) for 2026-11-20, with the simulator's key.
fn export(sim: &SimHandle, lake: &Path, tables: Option<&str>) -> Export {
    let e = Export::new(sim.base_url(), lake.display())
        .arg("--snapshot-date", "2026-11-20")
        .arg("--events-since", "2026-01-01");
    match tables {
        Some(t) => e.arg("--tables", t),
        None => e,
    }
}

/// Partition (relative folder) → every row as JSON text, sorted.
fn rows(lake: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in parquet_files(lake) {
        let rel = f
            .parent()
            .and_then(|p| p.strip_prefix(lake).ok())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if rel.starts_with("_jclake") {
            continue;
        }
        for b in read_batches(&[f]) {
            out.entry(rel.clone())
                .or_default()
                .extend(json_rows(&b).iter().map(|r| r.to_string()));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_leave_the_lake_identical_to_a_fault_free_run() {
    let size = org(150, 2000);
    // Both simulators generate the same org: same seed, same "now".
    let now = Some(chrono::Utc::now());
    let clean = sim::start(SimConfig {
        size: size.clone(),
        now,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let faulty = sim::start(SimConfig {
        size,
        now,
        faults: Faults {
            error_rate: 0.05,
            reset_rate: 0.01,
            truncate_rate: 0.01,
            throttle_rate: 0.01,
            retry_after: true,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("clean"), dir.path().join("faulty"));
    // Small pages: enough requests for every kind of fault to strike.
    let settings = "events_page_size = 100";
    let run_a = export(&clean, &a, None).settings(settings).run().await;
    let run_b = export(&faulty, &b, None).settings(settings).run().await;
    assert_eq!(run_a.outcome, RunOutcome::Succeeded);
    assert_eq!(
        run_b.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        run_b
            .tables
            .iter()
            .filter_map(|t| t.error.as_ref())
            .collect::<Vec<_>>()
    );
    let stats = faulty.stats();
    assert!(
        stats.injected_errors > 10
            && stats.resets > 0
            && stats.truncated > 0
            && stats.throttled > 0,
        "{stats:?}"
    );
    assert!(
        run_b.requests.retried >= stats.injected_errors + stats.resets + stats.truncated,
        "{:?} vs {stats:?}",
        run_b.requests
    );
    assert_eq!(run_a.requests.retried, 0);
    eprintln!(
        "fault-free: {:?}\nfaulty: {:?}\nsimulator: {stats:?}",
        run_a.requests, run_b.requests
    );
    let (ra, rb) = (rows(&a), rows(&b));
    assert!(ra.len() > 17, "all tables and event days: {}", ra.len());
    assert_eq!(ra.keys().collect::<Vec<_>>(), rb.keys().collect::<Vec<_>>());
    for (p, rows_a) in &ra {
        assert_eq!(rows_a.len(), rb[p].len(), "{p}: row count");
        assert!(rows_a == &rb[p], "{p}: rows differ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_converges_near_an_unannounced_rate_limit() {
    // 1800 requests per minute (30/s), per key; ~330 fan-out requests take about 11 s.
    let limit = 1800.0;
    let sim = sim::start(SimConfig {
        size: org(320, 0),
        faults: Faults {
            rate_limit_rpm: Some(limit as u32),
            retry_after: true,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = export(
        &sim,
        &dir.path().join("lake"),
        Some("users,user_push_endpoints"),
    )
    .try_run()
    .await
    .expect("never fails");
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    let r = &run.requests;
    assert!(
        r.accepted_per_minute >= 0.9 * limit,
        "accepted {:.0}/min, limit {limit}/min: {r:?}",
        r.accepted_per_minute
    );
    assert!(r.accepted_per_minute <= 1.1 * limit, "{r:?}");
    assert!(r.throttled * 10 < r.made, "429s stay rare: {r:?}");
    assert!(
        r.limit_learnt
            && r.limit_per_minute
                .is_some_and(|l| l > 0.5 * limit && l <= 1.2 * limit),
        "{r:?}"
    );
    assert!(run.tables.iter().map(|t| t.rows).sum::<u64>() > 320);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_rate_limit_is_never_exceeded() {
    let sim = sim::start(SimConfig {
        size: org(60, 0),
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = export(
        &sim,
        &dir.path().join("lake"),
        Some("users,user_push_endpoints"),
    )
    .settings("rate_limit_rpm = 1200")
    .run()
    .await;
    let r = &run.requests;
    // One token to start, then 20/s: the average stays at or under the ceiling.
    assert!(r.made >= 60, "{r:?}");
    assert!(r.accepted_per_minute <= 1200.0 * 1.1, "{r:?}");
    assert_eq!((r.limit_per_minute, r.limit_learnt), (Some(1200.0), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_token_is_renewed_mid_run() {
    let sim = sim::start(SimConfig {
        size: org(200, 0),
        token_ttl: Duration::from_secs(1),
        faults: Faults {
            latency_ms: 25,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let e = export(
        &sim,
        &dir.path().join("lake"),
        Some("users,user_push_endpoints"),
    )
    .without_env("JUMPCLOUD_API_KEY")
    .env("JUMPCLOUD_CLIENT_ID", sim::DEFAULT_CLIENT_ID)
    .env("JUMPCLOUD_CLIENT_SECRET", sim::DEFAULT_CLIENT_SECRET)
    .settings("max_in_flight = 2");
    assert!(format!("{:?}", e.config().credentials)
        .starts_with("ServiceAccount { client_id: \"sim-client\", client_secret: ***"));
    let t0 = std::time::Instant::now();
    let run = e.run().await;
    assert!(
        t0.elapsed() > Duration::from_secs(2),
        "the run outlives two tokens: {:?}",
        t0.elapsed()
    );
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(run.tables[0].rows, 200);
    assert!(run.requests.tokens >= 2, "{:?}", run.requests);
    assert_eq!(sim.stats().tokens_issued, run.requests.tokens);

    // A wrong secret is one clear error about the credentials.
    let err = export(&sim, &dir.path().join("lake2"), Some("users"))
        .without_env("JUMPCLOUD_API_KEY")
        .env("JUMPCLOUD_CLIENT_ID", "sim-client")
        .env("JUMPCLOUD_CLIENT_SECRET", "wrong")
        .try_run()
        .await
        .expect_err("refused");
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.to_string()
            .contains("service account token refused: invalid_client"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_counts_without_fetching_records() {
    let sim = sim::start(SimConfig {
        size: org(250, 1000),
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let before = sim.stats().requests;
    let out = tokio::task::block_in_place(|| {
        Export::new(sim.base_url(), lake.display())
            .switch("--plan")
            .arg("--rate-limit-rpm", 600)
            .bin(&[])
    });
    let text = &out.stdout;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        text.lines()
            .any(|l| l.starts_with("users ") && l.contains("~3") && l.contains("250 objects")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("user_system_associations ")
                && l.contains("~41")
                && l.contains("for each of /systems")
                && l.contains("250 at the other")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("events ") && l.contains("1000 events")),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("total: at least ~"),
        "{text}"
    );
    // About a count per table and per fan-out end (a v2 route without `x-total-count` is
    // counted by listing its ids); no record pages.
    assert!(
        sim.stats().requests - before <= 80,
        "{} requests",
        sim.stats().requests - before
    );
    assert!(!lake.exists(), "a plan writes nothing");
}

/// Sorted `id`s of every Parquet file below `dir`.
fn ids_under(dir: &Path) -> Vec<String> {
    use arrow::array::{Array, AsArray};
    let mut ids = Vec::new();
    for f in parquet_files(dir) {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).expect("open"))
                .expect("footer")
                .build()
                .expect("reader");
        for b in reader {
            let b = b.expect("batch");
            let c = b.column_by_name("id").expect("id").as_string::<i32>();
            ids.extend((0..c.len()).map(|i| c.value(i).to_string()));
        }
    }
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_orgs_in_one_run_land_in_one_lake_partitioned_by_org() {
    let sim = sim::start(SimConfig {
        size: org(80, 600),
        orgs: 2,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let orgs = sim.org_ids();
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let settings = format!(
        "[[orgs]]\norg_id = \"{}\"\n\n[[orgs]]\norg_id = \"{}\"\n",
        orgs[0], orgs[1]
    );
    let msp = || {
        export(&sim, &lake, None)
            .settings(&settings)
            .env("JUMPCLOUD_API_KEY", sim::DEFAULT_MSP_KEY)
    };
    let run = msp().run().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(run.orgs, orgs);
    for (i, org) in orgs.iter().enumerate() {
        let mut users = sim.ids(i, "systemusers");
        users.sort();
        assert_eq!(
            ids_under(&lake.join(format!("users/org_id={org}/snapshot_date=2026-11-20"))),
            users,
            "org {org}"
        );
        let mut events = sim.event_ids(i);
        events.sort();
        assert_eq!(
            ids_under(&lake.join(format!("events/org_id={org}"))),
            events,
            "org {org} events"
        );
    }
    assert_ne!(sim.ids(0, "systemusers"), sim.ids(1, "systemusers"));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_jclake/state.json")).expect("state"))
            .expect("json");
    assert_eq!(state["layout"], "org_id");
    assert!(
        state["events_by_org"][&orgs[0]]["complete_through"].is_string()
            && state["events_by_org"][&orgs[1]]["complete_through"].is_string()
    );
    assert!(state["tables"][format!("users/org_id={}", orgs[1])]["rows"].as_u64() == Some(80));

    // Incremental again, then verify.
    sim.mutate(
        1,
        &sim::Mutation {
            add_users: 3,
            new_events: 40,
            ..sim::Mutation::default()
        },
    );
    msp().run().await;
    let mut events = sim.event_ids(1);
    events.sort();
    assert_eq!(
        ids_under(&lake.join(format!("events/org_id={}", orgs[1]))),
        events
    );
    assert_eq!(
        ids_under(&lake.join(format!("users/org_id={}/snapshot_date=2026-11-20", orgs[1]))).len(),
        83
    );
    let out =
        tokio::task::block_in_place(|| jclake(["verify", "--lake", &lake.display().to_string()]));
    assert_eq!(out.code, Some(0), "{}", out.stdout);

    // A one-org run on a multi-org lake is refused: the layouts would mix.
    let err = export(&sim, &lake, Some("users"))
        .try_run()
        .await
        .expect_err("layout");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("has the org_id layout"), "{err}");
}

/// Prefetched fan-out requests hold client slots: with far fewer slots than prefetches,
/// and parents whose lists run over several pages, the run must still finish (it once
/// waited forever with every slot held by a request nobody polled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_outs_finish_with_fewer_slots_than_prefetched_requests() {
    let sim = sim::start(SimConfig {
        size: OrgSize {
            users: 1200,
            user_groups: 30,
            systems: 450,
            system_groups: 12,
            ..org(1200, 0)
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let e = export(
        &sim,
        &dir.path().join("lake"),
        Some("user_group_members,system_group_members,user_system_access"),
    )
    .settings("max_in_flight = 2\nfanout_concurrency = 8\nconcurrency = 3");
    let run = tokio::time::timeout(Duration::from_secs(120), e.run())
        .await
        .expect("the run finishes");
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    let members = run
        .tables
        .iter()
        .find(|t| t.table == "user_group_members")
        .map(|t| t.rows)
        .unwrap_or(0);
    let expected: usize = sim
        .ids(0, "usergroups")
        .iter()
        .map(|g| sim.members(0, g).len())
        .sum();
    assert_eq!(members, expected as u64);
    for groups in ["usergroups", "systemgroups"] {
        assert!(
            sim.ids(0, groups)
                .iter()
                .any(|g| sim.members(0, g).len() > 100),
            "some of {groups} have members over a page"
        );
    }
}
