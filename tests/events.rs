//! The Directory Insights event stream end to end: incremental runs, late events, events
//! sharing one millisecond, a run that dies mid-way and its rerun. After every run the
//! lake must hold exactly the simulator's event ids, each once, each in the partition of
//! its own UTC date.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::{Duration, Utc};
use jclake::model::{RunOutcome, TableOutcome};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::sim::{self, Faults, Mutation, OrgSize, SimConfig, SimHandle};
use crate::util::{parquet_files, walk, Export};

fn sim_config() -> SimConfig {
    SimConfig {
        size: OrgSize {
            users: 50,
            events: 3000,
            event_days: 5,
            ..OrgSize::default()
        },
        ..SimConfig::default()
    }
}

fn cfg(sim: &SimHandle, lake: &Path) -> Export {
    // Small pages: many page boundaries, some inside runs of same-millisecond events.
    Export::new(sim.base_url(), lake.display())
        .arg("--tables", "events")
        .arg(
            "--events-since",
            (Utc::now() - Duration::days(6)).to_rfc3339(),
        )
        .settings("events_page_size = 150\nevents_lookback_minutes = 60\nretry_max_attempts = 2")
}

/// Every event id in the lake (with repeats, if any), after checking that each sits in the
/// partition of its own date.
fn lake_event_ids(lake: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for f in parquet_files(&lake.join("events")) {
        let date = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .expect("partition");
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).expect("open"))
            .expect("footer")
            .build()
            .expect("reader");
        for b in r {
            let b = b.expect("batch");
            let id = b.column_by_name("id").expect("id").as_string::<i32>();
            let ts = b
                .column_by_name("timestamp")
                .expect("timestamp")
                .as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                ids.push(id.value(i).to_string());
                let day = chrono::DateTime::from_timestamp_micros(ts.value(i))
                    .expect("ts")
                    .date_naive();
                assert_eq!(
                    date,
                    format!("event_date={day}"),
                    "event {} in the wrong partition",
                    id.value(i)
                );
            }
        }
    }
    ids
}

/// The stream's state after a run: `state.json`'s `events` object and its
/// `complete_through`, compared as a time (RFC 3339 text drops a zero fraction: `…:05Z`
/// sorts after `…:05.001Z`).
fn events_state(lake: &Path) -> (serde_json::Value, chrono::DateTime<Utc>) {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_jclake/state.json")).expect("state"))
            .expect("json");
    let through = state["events"]["complete_through"]
        .as_str()
        .expect("complete_through")
        .parse()
        .expect("an RFC 3339 time");
    (state["events"].clone(), through)
}

fn assert_exactly(lake: &Path, sim: &SimHandle) {
    let got = lake_event_ids(lake);
    let set: BTreeSet<&String> = got.iter().collect();
    let dups: Vec<&String> = {
        let mut count: BTreeMap<&String, usize> = BTreeMap::new();
        got.iter().for_each(|i| *count.entry(i).or_default() += 1);
        count
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(i, _)| i)
            .collect()
    };
    assert!(
        dups.is_empty(),
        "{} events written twice, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let expected: BTreeSet<String> = sim.event_ids(0).into_iter().collect();
    let missing = expected.iter().filter(|i| !set.contains(i)).count();
    let extra = set.iter().filter(|i| !expected.contains(**i)).count();
    assert_eq!(
        (missing, extra),
        (0, 0),
        "lake vs simulator: {missing} missing, {extra} not in the simulator"
    );
    assert_eq!(got.len(), expected.len());
}

#[tokio::test]
async fn incremental_runs_hold_every_event_exactly_once() {
    let sim = sim::start(sim_config()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = cfg(&sim, &lake).run().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_exactly(&lake, &sim);
    assert_eq!(run.tables.iter().map(|t| t.rows).sum::<u64>(), 3000);
    let (state, through) = events_state(&lake);

    // New events (half of them in the last millisecond already read) and late ones, up to
    // 30 minutes before the newest event, inside the 60-minute look-back.
    let report = sim.mutate(
        0,
        &Mutation {
            new_events: 400,
            late_events: 100,
            late_by_ms: 30 * 60 * 1000,
            ..Mutation::default()
        },
    );
    assert_eq!(report.new_events, 500);
    let run2 = cfg(&sim, &lake).run().await;
    assert_eq!(run2.outcome, RunOutcome::Succeeded);
    assert_exactly(&lake, &sim);
    // The second run re-read only the recent day(s), not the whole stream.
    assert!(run2.tables.len() <= 2, "{} days re-read", run2.tables.len());
    let (state2, through2) = events_state(&lake);
    assert!(through2 > through, "{through2} after {through}");
    assert_eq!(
        state2["since"], state["since"],
        "since stays the first run's"
    );

    // A third run with nothing new changes nothing.
    cfg(&sim, &lake).run().await;
    assert_exactly(&lake, &sim);
}

#[tokio::test]
async fn a_run_that_dies_mid_stream_is_completed_by_the_rerun() {
    let sim = sim::start(sim_config()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    cfg(&sim, &lake).run().await;
    sim.mutate(
        0,
        &Mutation {
            new_events: 600,
            late_events: 50,
            late_by_ms: 20 * 60 * 1000,
            ..Mutation::default()
        },
    );

    // The connection drops from the 4th request of the next run on: the preflight and two
    // pages get through, then every page fails (twice each, the retry bound).
    let n = sim.stats().requests;
    sim.set_faults(Faults {
        reset_from_request: Some(n + 4),
        ..Faults::default()
    });
    let run = cfg(&sim, &lake)
        .try_run()
        .await
        .expect("the run ends with a manifest");
    assert_ne!(run.outcome, RunOutcome::Succeeded);
    let failed = run
        .tables
        .iter()
        .find(|t| t.outcome == TableOutcome::Failed)
        .expect("a failed day");
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("/insights/directory/v1/events"),
        "{:?}",
        failed.error
    );
    // Whatever the failed run left is consistent: no event twice, none unknown.
    let ids = lake_event_ids(&lake);
    let set: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "no duplicates after the failure");
    let all: BTreeSet<String> = sim.event_ids(0).into_iter().collect();
    assert!(set.iter().all(|i| all.contains(*i)));
    let left: Vec<PathBuf> = walk(&lake.join("_jclake/staging"));
    assert!(left.is_empty(), "staging cleared, found {left:?}");

    sim.set_faults(Faults::default());
    let rerun = cfg(&sim, &lake).run().await;
    assert_eq!(rerun.outcome, RunOutcome::Succeeded);
    assert_exactly(&lake, &sim);
}

/// A new lake's default backfill (90 days) of an org whose events span its last 5 days:
/// the empty days before them cost a few `/events/count` queries, not a query each, and
/// are committed with the first day that has events. Every day is still in the manifest,
/// in day order, and the state ends at the run's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_days_before_the_first_event_cost_a_few_counts_not_a_query_each() {
    let sim = sim::start(sim_config()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let run = Export::new(sim.base_url(), lake.display())
        .arg("--tables", "events")
        .run()
        .await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_exactly(&lake, &sim);
    let days: Vec<String> = run.tables.iter().map(|t| t.partition.to_string()).collect();
    assert!((91..=92).contains(&days.len()), "{} days", days.len());
    let mut sorted = days.clone();
    sorted.sort();
    assert_eq!(days, sorted, "days in the manifest in day order");
    assert!(run
        .tables
        .iter()
        .all(|t| t.outcome == TableOutcome::Committed));
    let with_events = run.tables.iter().filter(|t| t.rows > 0).count();
    assert!(
        (5..=7).contains(&with_events),
        "{with_events} days with events"
    );
    // One org probe, eight counts (slices of 12 days, at once), then one query per day
    // from the start of the first slice with events (3,000 events: one page a day).
    let made = run.requests.made;
    assert!(
        made <= 1 + 8 + 12,
        "{made} requests for {} days, {with_events} with events",
        days.len()
    );
    let (_, through) = events_state(&lake);
    assert!(
        Utc::now() - through < Duration::minutes(5),
        "state at the run's end: {through}"
    );
}
