//! History lists (policy results, command results): in comes a list route, its time field
//! and where the last run stopped (`HistoryMark`); out come pages of only the records
//! after that point, oldest first, and the new mark. A v2 route is filtered by the service
//! (`filter=<field>:gt:<time>`); a v1 list takes no filter, so it is read newest first
//! down to the mark (with `detail`) or from its start, older records skipped here. Records are read again for an overlap before the mark,
//! since results are reported late, and skipped when the mark lists their id. With
//! `detail`, each new record is replaced by its full record (`<route>/{id}`: the list cuts
//! command output to 40 characters), at most `max_details` a run; the rest waits for the
//! next run.

use std::collections::{HashSet, VecDeque};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::StreamExt;

use super::body::{record_field, record_id, split, Shape};
use super::pages::{Api, Page, PageStream, Pages, PAGE_LIMIT};
use super::{ApiClient, SourceError};
use crate::model::{HistoryMark, RawPage};

/// How far before the mark records are read again.
pub const OVERLAP_MINUTES: i64 = 60;

/// The records of a history list after a mark, oldest first.
pub struct HistoryPages<'a> {
    now: DateTime<Utc>,
    client: &'a ApiClient,
    list: PageStream<'a>,
    api: Api,
    route: &'static str,
    time_field: &'static str,
    after: Option<DateTime<Utc>>,
    seen: HashSet<String>,
    detail: bool,
    /// Records fetched whole in a run, at most.
    max_details: usize,
    fanout: usize,
    /// The newest time committed, and the ids within the overlap before it.
    newest: Option<DateTime<Utc>>,
    recent: VecDeque<(DateTime<Utc>, String)>,
    /// With `detail`: the new records' times and ids, oldest first, still to fetch whole.
    queue: Option<VecDeque<(DateTime<Utc>, String)>>,
}

impl<'a> HistoryPages<'a> {
    /// `now`, the run's start, caps the mark: a record dated in the future (an agent's
    /// clock) must not move the next run's start past records still to come.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        now: DateTime<Utc>,
        client: &'a ApiClient,
        api: Api,
        route: &'static str,
        time_field: &'static str,
        mark: Option<&HistoryMark>,
        detail: bool,
        max_details: usize,
        fanout: usize,
    ) -> HistoryPages<'a> {
        let after = mark.map(|m| m.through - Duration::minutes(OVERLAP_MINUTES));
        // Ties broken by id, so that skip-paging never shows one record twice or skips one.
        let (sort, filter) = match api {
            // Newest first, read only down to the mark (see `next_page`).
            Api::V1 if detail => (format!("sort=-{time_field}%20-_id"), String::new()),
            Api::V1 => (format!("sort={time_field}%20_id"), String::new()),
            Api::V2 => (
                format!("sort={time_field},id"),
                after
                    .map(|t| {
                        let t = t.to_rfc3339_opts(SecondsFormat::Millis, true);
                        format!("&filter={time_field}:gt:{t}")
                    })
                    .unwrap_or_default(),
            ),
        };
        HistoryPages {
            now,
            client,
            list: PageStream::sorted(client, api, route, format!("{sort}{filter}")),
            api,
            route,
            time_field,
            after,
            seen: mark
                .map(|m| m.recent.iter().cloned().collect())
                .unwrap_or_default(),
            detail,
            max_details,
            fanout: fanout.max(1),
            newest: mark.map(|m| m.through),
            recent: mark
                .map(|m| m.recent.iter().map(|id| (m.through, id.clone())).collect())
                .unwrap_or_default(),
            queue: None,
        }
    }

    /// The new records of a list that takes no filter, read newest first down to the
    /// mark (not the whole history every run), then put oldest first and cut to the run's
    /// share. What is held is a time and an id per new record.
    async fn new_records(&mut self) -> Result<VecDeque<(DateTime<Utc>, String)>, SourceError> {
        let mut found: Vec<(DateTime<Utc>, String)> = Vec::new();
        while let Some(page) = self.list.next_records().await? {
            let mut older = false;
            for r in page.records() {
                let (Some(at), Some(id)) = (
                    record_field(r, self.time_field)
                        .as_deref()
                        .and_then(parse_time),
                    record_id(r),
                ) else {
                    continue;
                };
                if self.after.is_some_and(|a| at <= a) {
                    older = true;
                } else if !self.seen.contains(&id) {
                    found.push((at, id));
                }
            }
            if older {
                break;
            }
        }
        found.sort();
        found.dedup();
        if found.len() > self.max_details {
            tracing::warn!(
                route = self.route,
                new = found.len(),
                fetched = self.max_details,
                "command results per run reached: the rest follow on the next run"
            );
            found.truncate(self.max_details);
        }
        Ok(found.into())
    }

    /// Where the history stands after the records read so far.
    pub fn mark(&self) -> Option<HistoryMark> {
        self.newest.map(|through| HistoryMark {
            through,
            recent: self.recent.iter().map(|(_, id)| id.clone()).collect(),
        })
    }

    /// Keeps a record's time and id; the ids older than the overlap are forgotten, so
    /// what a run holds is the last hour's ids, not the whole history.
    fn note(&mut self, at: DateTime<Utc>, id: String) {
        let at = at.min(self.now);
        if self.newest.is_none_or(|n| at > n) {
            self.newest = Some(at);
        }
        self.seen.insert(id.clone());
        self.recent.push_back((at, id));
        let horizon = self.newest.unwrap_or(at) - Duration::minutes(OVERLAP_MINUTES);
        while let Some((_, id)) = self.recent.front().filter(|(t, _)| *t < horizon) {
            self.seen.remove(id);
            self.recent.pop_front();
        }
    }

    /// The full records of `ids`, fetched `fanout` at a time, as one page.
    async fn details(&self, ids: &[String]) -> Result<RawPage, SourceError> {
        let base = self.client.endpoints().base_url.trim_end_matches('/');
        let family = match self.api {
            Api::V1 => "api",
            Api::V2 => "api/v2",
        };
        let urls: Vec<String> = ids
            .iter()
            .map(|id| format!("{base}/{family}/{}/{id}", self.route))
            .collect();
        let client = self.client;
        let bodies: Vec<Bytes> = futures::stream::iter(urls)
            .map(move |url| async move {
                match client.get_object(&url).await {
                    // Deleted between the list and now: nothing to keep.
                    Err(SourceError::Status { status: 404, .. }) => Ok(None),
                    other => other.map(Some),
                }
            })
            .buffered(self.fanout)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<Option<Bytes>>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let mut buf = BytesMut::new();
        let mut spans = Vec::with_capacity(bodies.len());
        for b in bodies {
            let start = buf.len();
            buf.extend_from_slice(&b);
            spans.push(start..buf.len());
        }
        Ok(RawPage::new(buf.freeze(), spans))
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Pages for HistoryPages<'_> {
    async fn next_page(&mut self) -> Result<Option<Page>, SourceError> {
        if self.detail {
            if self.queue.is_none() {
                self.queue = Some(self.new_records().await?);
            }
            let queue = self.queue.get_or_insert_with(VecDeque::new);
            let batch: Vec<(DateTime<Utc>, String)> =
                queue.drain(..queue.len().min(PAGE_LIMIT)).collect();
            if batch.is_empty() {
                return Ok(None);
            }
            let ids: Vec<String> = batch.iter().map(|(_, id)| id.clone()).collect();
            let records = self.details(&ids).await?;
            for (at, id) in batch {
                self.note(at, id);
            }
            return Ok(Some(Page {
                records,
                parent: None,
            }));
        }
        loop {
            let Some(mut page) = self.list.next_records().await? else {
                return Ok(None);
            };
            // Oldest first: a record without its time yet (still running) waits for a
            // later run; one before the overlap, or already committed, is skipped.
            let mut kept: Vec<(DateTime<Utc>, String)> = Vec::new();
            let (after, field) = (self.after, self.time_field);
            page.retain(|r| {
                let (Some(at), Some(id)) = (
                    record_field(r, field).as_deref().and_then(parse_time),
                    record_id(r),
                ) else {
                    return false;
                };
                if after.is_some_and(|a| at <= a) || self.seen.contains(&id) {
                    return false;
                }
                kept.push((at, id));
                true
            });
            if kept.is_empty() {
                continue;
            }
            for (at, id) in kept {
                self.note(at, id);
            }
            return Ok(Some(Page {
                records: page,
                parent: None,
            }));
        }
    }
}

/// A body that is one JSON object, as it came.
pub(super) fn object(body: Bytes) -> Result<Bytes, String> {
    match split(body.clone())? {
        Shape::Object { .. } => Ok(body),
        _ => Err("not a JSON object".into()),
    }
}
