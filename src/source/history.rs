//! History lists (policy results, command results): in comes a list route, its time field
//! and where the last run stopped (`HistoryMark`); out come pages of only the records
//! after that point, oldest first, and the new mark. A v2 route is filtered by the service
//! (`filter=<field>:gt:<time>`); a v1 list takes no filter, so it is read from its start and
//! older records are skipped here. Records are read again for an overlap before the mark,
//! since results are reported late, and skipped when the mark lists their id. With
//! `detail`, each new record is replaced by its full record (`<route>/{id}`: the list cuts
//! command output to 40 characters), at most `max_details` a run; the rest waits for the
//! next run.

use std::collections::{HashSet, VecDeque};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::StreamExt;

use super::body::{record_field, record_id, split, Shape};
use super::pages::{Api, Page, PageStream, Pages};
use super::{ApiClient, SourceError};
use crate::model::{HistoryMark, RawPage};

/// How far before the mark records are read again.
pub const OVERLAP_MINUTES: i64 = 60;

/// The records of a history list after a mark, oldest first.
pub struct HistoryPages<'a> {
    client: &'a ApiClient,
    list: PageStream<'a>,
    api: Api,
    route: &'static str,
    time_field: &'static str,
    after: Option<DateTime<Utc>>,
    seen: HashSet<String>,
    detail: bool,
    /// Full records still allowed this run.
    details_left: usize,
    fanout: usize,
    /// The newest time committed, and the ids within the overlap before it.
    newest: Option<DateTime<Utc>>,
    recent: VecDeque<(DateTime<Utc>, String)>,
    done: bool,
}

impl<'a> HistoryPages<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
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
        let (sort, filter) = match api {
            Api::V1 => (format!("sort={time_field}"), String::new()),
            Api::V2 => (
                format!("sort={time_field}"),
                after
                    .map(|t| {
                        let t = t.to_rfc3339_opts(SecondsFormat::Millis, true);
                        format!("&filter={time_field}:gt:{t}")
                    })
                    .unwrap_or_default(),
            ),
        };
        HistoryPages {
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
            details_left: max_details,
            fanout: fanout.max(1),
            newest: mark.map(|m| m.through),
            recent: mark
                .map(|m| m.recent.iter().map(|id| (m.through, id.clone())).collect())
                .unwrap_or_default(),
            done: false,
        }
    }

    /// Where the history stands after the records read so far.
    pub fn mark(&self) -> Option<HistoryMark> {
        self.newest.map(|through| HistoryMark {
            through,
            recent: self.recent.iter().map(|(_, id)| id.clone()).collect(),
        })
    }

    /// Keeps a record's time and id; the ids older than the overlap are forgotten.
    fn note(&mut self, at: DateTime<Utc>, id: String) {
        if self.newest.is_none_or(|n| at > n) {
            self.newest = Some(at);
        }
        self.recent.push_back((at, id));
        let horizon = self.newest.unwrap_or(at) - Duration::minutes(OVERLAP_MINUTES);
        while self.recent.front().is_some_and(|(t, _)| *t < horizon) {
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
            .map(move |url| async move { client.get_object(&url).await })
            .buffered(self.fanout)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
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
        loop {
            if self.done || (self.detail && self.details_left == 0) {
                return Ok(None);
            }
            let Some(mut page) = self.list.next_records().await? else {
                return Ok(None);
            };
            // Oldest first: a record without its time yet (still running) waits for a
            // later run; one before the overlap, or already committed, is skipped.
            let mut kept: Vec<(DateTime<Utc>, String)> = Vec::new();
            let (after, field) = (self.after, self.time_field);
            let budget = if self.detail {
                self.details_left
            } else {
                usize::MAX
            };
            page.retain(|r| {
                let (Some(at), Some(id)) = (
                    record_field(r, field).as_deref().and_then(parse_time),
                    record_id(r),
                ) else {
                    return false;
                };
                let new = after.is_none_or(|a| at > a) && !self.seen.contains(&id);
                if !new || kept.len() >= budget {
                    return false;
                }
                kept.push((at, id));
                true
            });
            if self.detail && kept.len() >= self.details_left {
                self.done = true;
            }
            if kept.is_empty() {
                continue;
            }
            // Skip-paging a list that grows can show a record twice.
            self.seen.extend(kept.iter().map(|(_, id)| id.clone()));
            let ids: Vec<String> = kept.iter().map(|(_, id)| id.clone()).collect();
            let records = if self.detail {
                self.details_left -= kept.len();
                self.details(&ids).await?
            } else {
                page
            };
            for (at, id) in kept {
                self.note(at, id);
            }
            return Ok(Some(Page {
                records,
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
