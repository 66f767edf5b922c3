//! The event stream: Directory Insights events into `events/event_date=YYYY-MM-DD/`, one
//! UTC day per window. A run reads every day from the day of `complete_through - lookback`
//! (or from `since` on the first run) up to its own start, each day as one query paged to
//! its end, de-duplicated by event id, written whole and published over that day's
//! partition; only then does `state.json` advance past the day. Several days are read at
//! once (`days_in_flight`, one pacer for all) and committed in day order; a leading run of
//! days without events is found with `/events/count` queries and not read at all,
//! and days without events are committed with the next day that has some. A rerun after
//! any failure reads the unfinished days again and replaces them: no event twice, none
//! skipped, late events inside the look-back picked up.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;

use super::stage::{from_manifest, Staged, Stager};
use super::{EventsSettings, TableError};
use crate::catalog;
use crate::decode::{BatchDecoder, SchemaPolicy};
use crate::manifest;
use crate::manifest::commit::{self, Intent};
use crate::model::hooks::{crash_point, CrashPoint};
use crate::model::{EventsState, Partition, RunManifest, TableOutcome, TableRun, EVENTS};
use crate::source::{ApiClient, EventDayPages, EventQuery};

/// How far back Directory Insights keeps events on most plans.
pub const RETENTION_DAYS: i64 = 90;

pub(super) struct EventsJob {
    pub client: ApiClient,
    pub stager: Stager,
    pub policy: SchemaPolicy,
    pub settings: EventsSettings,
    /// Day queries in flight at once.
    pub days_in_flight: usize,
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
        let days = day_windows(from, since, self.end);
        let skip = self.leading_empty_days(&days).await;
        let (stager, client, org) = (self.stager.clone(), self.client.clone(), self.org.clone());
        let (settings, policy) = (self.settings.clone(), self.policy);
        let mut staged = futures::stream::iter(days.into_iter().enumerate())
            .map(move |(i, (day, start, stop))| {
                let (stager, client) = (stager.clone(), client.clone());
                let (declared, settings) = (declared.clone(), settings.clone());
                let partition = Partition::event_day(org.as_deref(), Some(day));
                async move {
                    if i < skip {
                        return Ok((empty_day(partition, &declared), stop));
                    }
                    // Each day its own decoder, over the table's one schema for the run.
                    let mut decoder: BatchDecoder = stager
                        .decoder(EVENTS, &declared, policy)
                        .await
                        .map_err(|e| (partition.clone(), e))?;
                    let query = EventQuery {
                        services: settings.services.clone(),
                        start,
                        end: stop,
                        page_size: settings.page_size,
                    };
                    // The next page is fetched while this one is decoded and written.
                    let pages = EventDayPages::new(&client, &query);
                    let staged = stager
                        .stage(EVENTS, &partition, pages, &mut decoder)
                        .await
                        .map_err(|e| (partition.clone(), e))?;
                    Ok((staged, stop))
                }
            })
            .buffered(self.days_in_flight.max(1));
        // Days commit in day order. A day without events publishes nothing, so it waits
        // to be committed with the next day that has some, or with the last day.
        let mut waiting: Vec<TableRun> = Vec::new();
        let mut last = None;
        // A day enters `windows` (the run's report) only once it is committed: days that
        // wait when a later one fails were not, and the next run reads them again.
        while let Some(next) = staged.next().await {
            let (day, stop) = next?;
            let partition = day.run.partition.clone();
            waiting.push(day.run);
            match day.step {
                None => last = Some((partition, stop)),
                Some(step) => {
                    last = None;
                    let days = std::mem::take(&mut waiting);
                    self.commit(days, Some(step), since, stop, windows)
                        .await
                        .map_err(|e| (partition, e))?;
                }
            }
        }
        drop(staged);
        if let Some((partition, stop)) = last {
            let days = std::mem::take(&mut waiting);
            self.commit(days, None, since, stop, windows)
                .await
                .map_err(|e| (partition, e))?;
        }
        Ok(())
    }

    /// How many days at the start of `days` have no events, from `/events/count` over
    /// eight slices of the range, asked at once: a new lake's 90-day backfill of an org with
    /// a month of events then costs eight counts (one round trip) instead of two months of
    /// empty queries. A short range is not worth a count; a count that fails skips nothing.
    async fn leading_empty_days(
        &self,
        days: &[(NaiveDate, DateTime<Utc>, DateTime<Utc>)],
    ) -> usize {
        const SLICES: usize = 8;
        let n = days.len();
        if n <= SLICES {
            return 0;
        }
        let size = n.div_ceil(SLICES);
        let counts = futures::future::join_all((0..n).step_by(size).map(|a| {
            let b = (a + size).min(n) - 1;
            let query = EventQuery {
                services: self.settings.services.clone(),
                start: days[a].1,
                end: days[b].2,
                page_size: self.settings.page_size,
            };
            let client = self.client.clone();
            async move { query.count(&client).await }
        }))
        .await;
        let mut skip = 0;
        for c in counts {
            match c {
                Ok(0) => skip += size,
                Ok(_) => return skip,
                Err(e) => {
                    tracing::debug!(error = %e, "event count failed; every day is queried");
                    return 0;
                }
            }
        }
        n
    }

    /// Commits `days` (their entries) with the files of the last of them, if it has any,
    /// and moves the stream's state to `through`; then, and only then, they join
    /// `windows` and the run's list of committed days.
    async fn commit(
        &mut self,
        days: Vec<TableRun>,
        step: Option<crate::manifest::commit::PublishStep>,
        since: DateTime<Utc>,
        through: DateTime<Utc>,
        windows: &mut Vec<TableRun>,
    ) -> Result<(), TableError> {
        let lake = &self.stager.lake;
        let rows: u64 = days.iter().map(|d| d.rows).sum();
        let (first, last) = match (days.first(), days.last()) {
            (Some(a), Some(b)) => (a.partition.to_string(), b.partition.to_string()),
            _ => return Ok(()),
        };
        let n = days.len();
        let mut committed = self.committed.lock().await;
        let mut tables = committed.clone();
        tables.extend(days.iter().cloned());
        self.header.tables = tables.clone();
        let seq = tables.len() as u32;
        let intent = Intent {
            manifest: self.header.clone(),
            publish: step.into_iter().collect(),
            events: Some(EventsState {
                since,
                complete_through: through,
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
            .map_err(|e| from_manifest(e, EVENTS))?;
        *committed = tables;
        drop(committed);
        windows.extend(days);
        if n == 1 {
            tracing::info!(partition = %last, rows, "events day committed");
        } else {
            tracing::info!(from = %first, to = %last, days = n, rows, "events days committed");
        }
        crash_point(CrashPoint::AfterEventsDay);
        Ok(())
    }
}

/// A day the counts showed to have no events: nothing read, nothing to publish.
fn empty_day(partition: Partition, declared: &crate::model::TableSchema) -> Staged {
    Staged {
        run: TableRun {
            table: EVENTS.into(),
            partition,
            outcome: TableOutcome::Committed,
            rows: 0,
            bytes: 0,
            files: Vec::new(),
            schema_fingerprint: declared.fingerprint(),
            rescued: Default::default(),
            schema_changes: Vec::new(),
            excluded: 0,
            seconds: 0.0,
            error: None,
            history: None,
        },
        step: None,
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
