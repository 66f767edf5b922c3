//! The event stream: Directory Insights events into `events/event_date=YYYY-MM-DD/`, one
//! UTC day per window. A run reads every day from the day of `complete_through - lookback`
//! (or from `since` on the first run) up to its own start, each day as one query paged to
//! its end, de-duplicated by event id, written whole and published over that day's
//! partition; only then does `state.json` advance past the day. A rerun after any failure
//! reads the unfinished days again and replaces them: no event twice, none skipped, late
//! events inside the look-back picked up.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::{failed_run, TableError};
use crate::decode::{BatchDecoder, DecodeStats, SchemaPolicy, TableSchema};
use crate::manifest::commit::{self, crash_point, Intent, PublishStep};
use crate::manifest::{self, EventsState, RunManifest, TableRun};
use crate::sink::{Lake, SnapshotWriter, WriteOptions};
use crate::source::{ApiClient, EventPages, EventQuery};

/// How far back Directory Insights keeps events on most plans.
pub const RETENTION_DAYS: i64 = 90;

/// Event-stream settings from the configuration.
#[derive(Debug, Clone)]
pub struct EventsSettings {
    /// Where a new lake's stream starts (default: the retention limit).
    pub since: Option<DateTime<Utc>>,
    /// Service names, or `["all"]`.
    pub services: Vec<String>,
    /// Re-read this far behind the last committed point, for events indexed late.
    pub lookback: Duration,
    pub page_size: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            since: None,
            services: vec!["all".into()],
            lookback: Duration::hours(1),
            page_size: crate::source::insights::MAX_EVENTS_PAGE,
        }
    }
}

pub(super) struct EventsJob {
    pub client: ApiClient,
    pub lake: Lake,
    pub run_id: String,
    pub write: WriteOptions,
    pub policy: SchemaPolicy,
    pub settings: EventsSettings,
    /// The run's fixed end: every query stops here, so a page never moves under us.
    pub end: DateTime<Utc>,
    /// The run manifest so far (no tables), rewritten after each committed day.
    pub header: RunManifest,
    /// The org of a multi-org run: its stream has its own state and partitions.
    pub org: Option<String>,
    /// Days committed so far by every events job of the run: each commit rewrites the run
    /// manifest with all of them, one commit at a time.
    pub committed: std::sync::Arc<tokio::sync::Mutex<Vec<TableRun>>>,
}

/// The committed days, and the error that stopped the stream, if any.
pub(super) struct EventsOutcome {
    pub windows: Vec<TableRun>,
    pub error: Option<TableError>,
}

/// Where a stream starts and where this run reads from: a new stream from `since` (default:
/// the retention limit), a known one from `complete_through - lookback`, never before its
/// `since`.
pub fn stream_start(
    prior: Option<&EventsState>,
    settings: &EventsSettings,
    end: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let since = prior
        .map(|p| p.since)
        .or(settings.since)
        .unwrap_or(end - Duration::days(RETENTION_DAYS));
    let from = prior
        .map(|p| (p.complete_through - settings.lookback).max(since))
        .unwrap_or(since);
    (since, from)
}

/// UTC days `[start, end)` cut at midnight, each with its partition date.
pub fn day_windows(
    from: DateTime<Utc>,
    since: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut day = Some(from.date_naive());
    while let Some(d) = day {
        let day_start = d.and_time(chrono::NaiveTime::MIN).and_utc();
        if day_start >= end {
            break;
        }
        let start = day_start.max(since);
        let stop = (day_start + Duration::days(1)).min(end);
        if start < stop {
            out.push((d, start, stop));
        }
        day = d.succ_opt();
    }
    out
}

impl EventsJob {
    pub async fn run(mut self) -> EventsOutcome {
        let mut windows = Vec::new();
        match self.stream(&mut windows).await {
            Ok(()) => EventsOutcome {
                windows,
                error: None,
            },
            Err((partition, e)) => {
                windows.push(failed_run("events", partition, &e));
                EventsOutcome {
                    windows,
                    error: Some(e),
                }
            }
        }
    }

    async fn stream(&mut self, windows: &mut Vec<TableRun>) -> Result<(), (String, TableError)> {
        let fail = |e: TableError| ("event_date=?".to_string(), e);
        let state = manifest::read_state(&self.lake)
            .await
            .map_err(|e| fail(TableError::from_manifest(e, "events")))?;
        let prior = state.and_then(|s| match &self.org {
            Some(org) => s.events_by_org.get(org).cloned(),
            None => s.events,
        });
        let (since, from) = stream_start(prior.as_ref(), &self.settings, self.end);
        let declared = crate::catalog::find("events")
            .map(|r| r.schema())
            .transpose()
            .map_err(|e| fail(e.into()))?;
        let Some(declared) = declared else {
            return Ok(());
        };
        let stored = manifest::read_table_schema(&self.lake, "events")
            .await
            .map_err(|e| fail(TableError::from_manifest(e, "events")))?;
        let mut decoder = BatchDecoder::with_policy(
            TableSchema::merged(stored, &declared),
            self.policy,
            &self.run_id,
        )
        .map_err(|e| fail(e.into()))?;
        for (day, start, stop) in day_windows(from, since, self.end) {
            let date = format!("event_date={}", day.format("%Y-%m-%d"));
            let partition = match &self.org {
                Some(org) => format!("org_id={org}/{date}"),
                None => date,
            };
            let (w, step) = self
                .window(&mut decoder, &partition, start, stop)
                .await
                .map_err(|e| (partition.clone(), e))?;
            let w_changes = w.schema_changes.clone();
            windows.push(w.clone());
            let mut committed = self.committed.lock().await;
            committed.push(w);
            self.header.tables = committed.clone();
            let seq = committed.len() as u32;
            let intent = Intent {
                manifest: self.header.clone(),
                publish: step.into_iter().collect(),
                events: Some(EventsState {
                    since,
                    complete_through: stop,
                    last_run_id: self.run_id.clone(),
                }),
                events_org: self.org.clone(),
                retire: Vec::new(),
                // The widened schema is saved with the day that widened it.
                schemas: (!w_changes.is_empty())
                    .then(|| decoder.table_schema().clone())
                    .into_iter()
                    .collect(),
            };
            // Event days commit in order, before the run's final commit (the last intent).
            commit::commit(&self.lake, &intent, seq)
                .await
                .map_err(|e| (partition.clone(), TableError::from_manifest(e, "events")))?;
            tracing::info!(
                partition,
                rows = windows.last().map(|w| w.rows).unwrap_or(0),
                "events day committed"
            );
            crash_point("after-events-day");
        }
        Ok(())
    }

    /// Reads one day whole, writes it to staging, publishes it over its partition.
    /// Reads one day whole into staging; returns its manifest entry and its publish step
    /// (none for a day without events).
    async fn window(
        &self,
        decoder: &mut BatchDecoder,
        partition: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(TableRun, Option<PublishStep>), TableError> {
        let t0 = std::time::Instant::now();
        let before = decoder.stats().clone();
        let changes_before = decoder.changes().len();
        let mut staging = manifest::staging_dir(&self.run_id);
        let mut target = vec!["events".to_string()];
        target.extend(partition.split('/').map(str::to_string));
        staging.extend(target.iter().cloned());
        let mut writer = SnapshotWriter::new(
            &self.lake,
            decoder.arrow_schema(),
            &self.write,
            staging,
            target.clone(),
        );
        let q = EventQuery {
            services: self.settings.services.clone(),
            start,
            end,
            page_size: self.settings.page_size,
        };
        // The next page is fetched while this one is decoded and written: the network and
        // the JSON parse on one core, decode and Parquet encode on the other; two pages are
        // held at most.
        let mut pages = EventPages::new(&self.client, &q).prefetch();
        // Within one query every event comes once; the set guards against the service
        // repeating one across pages. It holds one day's ids.
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(page) = pages.next_page().await? {
            let fresh: Vec<Value> = page
                .into_iter()
                .filter(|e| match e.get("id").and_then(Value::as_str) {
                    Some(id) => seen.insert(id.to_string()),
                    None => true,
                })
                .collect();
            for b in crate::decode::off_runtime(|| decoder.decode(&fresh, None))? {
                writer.write(&b).await?;
            }
        }
        if writer.is_empty() {
            // No events that day: write nothing and leave the partition as it is (an empty
            // answer must never erase what an earlier read committed).
            return Ok((
                TableRun {
                    table: "events".into(),
                    partition: partition.to_string(),
                    outcome: "committed".into(),
                    rows: 0,
                    bytes: 0,
                    files: Vec::new(),
                    schema_fingerprint: decoder.table_schema().fingerprint(),
                    rescued: Default::default(),
                    schema_changes: Vec::new(),
                    excluded: 0,
                    seconds: t0.elapsed().as_secs_f64(),
                    error: None,
                },
                None,
            ));
        }
        let staged = writer.finish().await?;
        let files = super::file_entries(&staged);
        let stats = stats_since(decoder.stats(), &before);
        let step = PublishStep::new(target, &staged);
        let run = TableRun {
            table: "events".into(),
            partition: partition.to_string(),
            outcome: "committed".into(),
            rows: files.iter().map(|f| f.rows).sum(),
            bytes: files.iter().map(|f| f.bytes).sum(),
            files,
            schema_fingerprint: decoder.table_schema().fingerprint(),
            rescued: stats.rescued,
            schema_changes: decoder.changes()[changes_before..].to_vec(),
            excluded: stats.excluded,
            seconds: t0.elapsed().as_secs_f64(),
            error: None,
        };
        Ok((run, Some(step)))
    }
}

fn stats_since(now: &DecodeStats, before: &DecodeStats) -> DecodeStats {
    let rescued: BTreeMap<String, u64> = now
        .rescued
        .iter()
        .filter_map(|(k, n)| {
            let d = n - before.rescued.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect();
    DecodeStats {
        rows: now.rows - before.rows,
        rescued,
        excluded: now.excluded - before.excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn days_are_cut_at_midnight_and_bounded_by_since_and_end() {
        let w = day_windows(t(20, 15), t(19, 12), t(22, 9));
        let got: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = w
            .into_iter()
            .map(|(d, a, b)| (d.to_string(), a, b))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-11-20".to_string(), t(20, 0), t(21, 0)),
                ("2026-11-21".to_string(), t(21, 0), t(22, 0)),
                ("2026-11-22".to_string(), t(22, 0), t(22, 9)),
            ]
        );
        // The first day of a stream starts at `since`, not at midnight.
        let first = day_windows(t(19, 12), t(19, 12), t(20, 1));
        assert_eq!(first[0].1, t(19, 12));
        assert_eq!(first.len(), 2);
        // A rerun re-reads the day of its starting point whole.
        assert_eq!(
            day_windows(t(22, 9), t(19, 0), t(22, 10)),
            [(t(22, 0).date_naive(), t(22, 0), t(22, 10))]
        );
        assert!(day_windows(t(22, 0), t(19, 0), t(22, 0)).is_empty());
    }
}
