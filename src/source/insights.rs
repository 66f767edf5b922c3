//! Directory Insights: one query (services, a time range, ascending) paged to its end with
//! the opaque `X-Search_after` cursor, which is re-sent unchanged and never kept beyond the
//! query. The first page with `X-Result-Count < X-Limit` is the last; `X-Limit` is read,
//! since the service may use another page size than the one asked for.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use std::collections::HashSet;

use super::body::{event_id, Shape};
use super::pages::{Page, Pages};
use super::{ApiClient, SourceError};
use crate::model::RawPage;

/// The largest page the service allows.
pub const MAX_EVENTS_PAGE: usize = 10_000;

/// One events query over `[start, end)`.
#[derive(Debug, Clone)]
pub struct EventQuery {
    /// Service names, or `["all"]`.
    pub services: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub page_size: usize,
}

impl EventQuery {
    fn body(&self) -> Value {
        json!({
            "service": self.services,
            "start_time": self.start.to_rfc3339_opts(SecondsFormat::Millis, true),
            "end_time": self.end.to_rfc3339_opts(SecondsFormat::Millis, true),
            "limit": self.page_size.clamp(1, MAX_EVENTS_PAGE),
            "sort": "ASC",
        })
    }

    /// How many events the query would return: one `POST /events/count`.
    pub async fn count(&self, client: &ApiClient) -> Result<u64, SourceError> {
        let url = format!(
            "{}/insights/directory/v1/events/count",
            client.endpoints().insights_url.trim_end_matches('/')
        );
        let mut body = self.body();
        if let Value::Object(m) = &mut body {
            m.remove("limit");
            m.remove("sort");
        }
        let (v, _) = client.post_json(&url, &body).await?;
        v.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| SourceError::Body {
                url,
                attempts: 1,
                message: "unexpected answer: no count".into(),
            })
    }
}

/// The pages of one events query.
pub struct EventPages {
    client: ApiClient,
    url: String,
    body: Value,
    cursor: Option<Value>,
    page: u32,
    done: bool,
}

impl EventPages {
    pub fn new(client: &ApiClient, q: &EventQuery) -> EventPages {
        let url = format!(
            "{}/insights/directory/v1/events",
            client.endpoints().insights_url.trim_end_matches('/')
        );
        let body = q.body();
        EventPages {
            client: client.clone(),
            url,
            body,
            cursor: None,
            page: 0,
            done: false,
        }
    }

    /// The next page of events, or `None` after the last.
    pub async fn next_records(&mut self) -> Result<Option<RawPage>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let mut body = self.body.clone();
        if let (Some(c), Value::Object(m)) = (&self.cursor, &mut body) {
            m.insert("search_after".into(), c.clone());
        }
        self.page += 1;
        let (v, headers) = self.client.get_page(&self.url, Some(&body)).await?;
        let Shape::Array(events) = v else {
            return Err(SourceError::Body {
                url: format!("{} (page {})", self.url, self.page),
                attempts: 1,
                message: "unexpected answer: not a JSON array of events".into(),
            });
        };
        let count = header_usize(&headers, "x-result-count").unwrap_or(events.len());
        let limit = header_usize(&headers, "x-limit")
            .or_else(|| self.body["limit"].as_u64().map(|l| l as usize));
        self.cursor = headers
            .get("x-search_after")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(|c| !c.is_null());
        if limit.is_none_or(|l| count < l) || self.cursor.is_none() {
            self.done = true;
        }
        if events.is_empty() {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(events))
    }

    /// Fetches one page ahead on its own task, so the next request is in flight while the
    /// caller decodes and writes. A slot in the channel is taken before each fetch, so at
    /// most two pages are held: the caller's and the one waiting for it.
    pub fn prefetch(mut self) -> PrefetchedPages {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let url = self.url.clone();
        let task = tokio::spawn(async move {
            // A closed channel means the consumer has stopped: so does the fetch.
            while let Ok(slot) = tx.reserve().await {
                let next = self.next_records().await;
                let last = !matches!(next, Ok(Some(_)));
                slot.send(next);
                if last {
                    break;
                }
            }
        });
        PrefetchedPages {
            rx,
            task,
            url,
            done: false,
        }
    }
}

/// The pages of one events query, fetched ahead by [`EventPages::prefetch`]. Dropping it
/// stops the fetch, retries included.
pub struct PrefetchedPages {
    rx: tokio::sync::mpsc::Receiver<Result<Option<RawPage>, SourceError>>,
    task: tokio::task::JoinHandle<()>,
    url: String,
    done: bool,
}

impl PrefetchedPages {
    /// The next page of events, or `None` after the last. A fetch task that ended without
    /// saying so is an error, never a short day.
    pub async fn next_records(&mut self) -> Result<Option<RawPage>, SourceError> {
        if self.done {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Ok(Some(page))) => Ok(Some(page)),
            Some(other) => {
                self.done = true;
                other
            }
            None => {
                self.done = true;
                Err(SourceError::Stopped {
                    url: self.url.clone(),
                })
            }
        }
    }
}

impl Drop for PrefetchedPages {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The events of one query (a UTC day), fetched a page ahead, each event once: within one
/// query every event should come once, and the set of ids (one day's) guards against the
/// service repeating one across pages.
pub struct EventDayPages {
    pages: PrefetchedPages,
    /// 128-bit digests of the ids seen, not the ids: 16 bytes an event.
    seen: HashSet<u128>,
}

impl EventDayPages {
    pub fn new(client: &ApiClient, q: &EventQuery) -> EventDayPages {
        EventDayPages {
            pages: EventPages::new(client, q).prefetch(),
            seen: HashSet::new(),
        }
    }
}

impl Pages for EventDayPages {
    async fn next_page(&mut self) -> Result<Option<Page>, SourceError> {
        let Some(mut records) = self.pages.next_records().await? else {
            return Ok(None);
        };
        let seen = &mut self.seen;
        records.retain(|e| match event_id(e) {
            Some(id) => seen.insert(digest(&id)),
            None => true,
        });
        Ok(Some(Page {
            records,
            parent: None,
        }))
    }
}

/// Two independent 64-bit hashes of an event id: a false repeat (which would drop an event)
/// is about as likely as 2^-100 among a day's ids.
fn digest(id: &str) -> u128 {
    use std::hash::BuildHasher;
    let a = foldhash::quality::FixedState::with_seed(0x6a63_6c61_6b65).hash_one(id);
    let b = foldhash::quality::FixedState::with_seed(0x6576_656e_7473).hash_one(id);
    (u128::from(a) << 64) | u128::from(b)
}

fn header_usize(h: &HeaderMap, name: &str) -> Option<usize> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
