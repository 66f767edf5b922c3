//! The event stream: Directory Insights events into `events/event_date=YYYY-MM-DD/`, one
//! UTC day per window. A run reads every day from the day of `complete_through - lookback`
//! (or from `since` on the first run) up to its own start, each day as one query paged to
//! its end, de-duplicated by event id, written whole and published over that day's
//! partition; only then does `state.json` advance past the day. A rerun after any failure
//! reads the unfinished days again and replaces them: no event twice, none skipped, late
//! events inside the look-back picked up.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::stage::{from_manifest, Stager};
use super::{EventsSettings, TableError};
use crate::catalog;
use crate::decode::{BatchDecoder, SchemaPolicy};
use crate::manifest;
use crate::manifest::commit::{self, Intent};
use crate::model::hooks::{crash_point, CrashPoint};
use crate::model::{EventsState, Partition, RunManifest, TableRun, EVENTS};
use crate::source::{ApiClient, EventDayPages, EventQuery};

/// How far back Directory Insights keeps events on most plans.
pub const RETENTION_DAYS: i64 = 90;

pub(super) struct EventsJob {
    pub client: ApiClient,
    pub stager: Stager,
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
                windows.push(TableRun::failed(EVENTS, partition, e.to_string()));
                EventsOutcome {
                    windows,
                    error: Some(e),
                }
            }
        }
    }

    async fn stream(&mut self, windows: &mut Vec<TableRun>) -> Result<(), (Partition, TableError)> {
        let org = self.org.clone();
        let fail = |e: TableError| (Partition::event_day(org.as_deref(), None), e);
        let lake = &self.stager.lake;
        let state = manifest::read_state(lake)
            .await
            .map_err(|e| fail(from_manifest(e, EVENTS)))?;
        let prior = state.and_then(|s| match &self.org {
            Some(org) => s.events_by_org.get(org).cloned(),
            None => s.events,
        });
        let (since, from) = stream_start(prior.as_ref(), &self.settings, self.end);
        let Some(resource) = catalog::find(EVENTS) else {
            return Ok(());
        };
        let declared = resource.schema().map_err(|e| fail(e.into()))?;
        let mut decoder: BatchDecoder = self
            .stager
            .decoder(EVENTS, &declared, self.policy)
            .await
            .map_err(fail)?;
        for (day, start, stop) in day_windows(from, since, self.end) {
            let partition = Partition::event_day(self.org.as_deref(), Some(day));
            let query = EventQuery {
                services: self.settings.services.clone(),
                start,
                end: stop,
                page_size: self.settings.page_size,
            };
            // The next page is fetched while this one is decoded and written: the network
            // and the JSON parse on one core, decode and Parquet encode on the other.
            let pages = EventDayPages::new(&self.client, &query);
            let staged = self
                .stager
                .stage(EVENTS, &partition, pages, &mut decoder)
                .await
                .map_err(|e| (partition.clone(), e))?;
            let rows = staged.run.rows;
            windows.push(staged.run.clone());
            let mut committed = self.committed.lock().await;
            committed.push(staged.run);
            self.header.tables = committed.clone();
            let seq = committed.len() as u32;
            let intent = Intent {
                manifest: self.header.clone(),
                publish: staged.step.into_iter().collect(),
                events: Some(EventsState {
                    since,
                    complete_through: stop,
                    last_run_id: self.stager.run_id.clone(),
                }),
                events_org: self.org.clone(),
                retire: Vec::new(),
                // A widened schema is saved with the first day that may hold its columns,
                // as the run has it now (with what other orgs' streams added).
                schemas: self.stager.widened(EVENTS).into_iter().collect(),
            };
            // Event days commit in order, before the run's final commit (the last intent).
            commit::commit(lake, &intent, seq)
                .await
                .map_err(|e| (partition.clone(), from_manifest(e, EVENTS)))?;
            tracing::info!(%partition, rows, "events day committed");
            crash_point(CrashPoint::AfterEventsDay);
        }
        Ok(())
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
