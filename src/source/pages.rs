//! Pagination of v1 and v2 lists: `limit`/`skip` pages sorted by id (JumpCloud's advice
//! for paging a changing collection). v1 answers `{totalCount, results}`; v2 answers a bare
//! array and its `x-total-count` is not promised, so a short page ends a list. `Pages` is
//! what every paginator offers the pipeline: a collection (`PageStream`), the lists under
//! each object of a parent collection (`FanOutPages`) and an events query (`EventDayPages`).

use std::future::Future;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::body::{record_field, record_id, Shape};
use super::{ApiClient, SourceError};
use crate::model::RawPage;

/// The API family of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/api/...`: `{totalCount, results}` envelope, `_id`.
    V1,
    /// `/api/v2/...`: bare arrays, `id`.
    V2,
}

/// One page of records, as the bytes they came in; in a fan-out, the id of the parent
/// object they belong to.
#[derive(Debug, Default)]
pub struct Page {
    pub records: RawPage,
    pub parent: Option<String>,
}

/// A paginator: pages in order until `None`.
pub trait Pages: Send {
    fn next_page(&mut self) -> impl Future<Output = Result<Option<Page>, SourceError>> + Send;
}

impl<P: Pages> Pages for &mut P {
    fn next_page(&mut self) -> impl Future<Output = Result<Option<Page>, SourceError>> + Send {
        (**self).next_page()
    }
}

/// The largest page v1 and v2 allow.
pub const PAGE_LIMIT: usize = 100;

/// The largest page System Insights allows.
pub const INSIGHTS_PAGE_LIMIT: usize = 10_000;

/// The route of a directory's own v2 routes, from its `type` in `/v2/directories`. The
/// API describes association routes for these four types only (a Workday directory has
/// none), so other types are left out of the directory association tables.
pub fn directory_route(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "g_suite" => "gsuites",
        "office_365" => "office365s",
        "ldap_server" => "ldapservers",
        "active_directory" => "activedirectories",
        _ => return None,
    })
}

/// The pages of one list, fetched one at a time.
pub struct PageStream<'a> {
    client: &'a ApiClient,
    api: Api,
    /// Route with any query it already carries, e.g. `users/{id}/associations?targets=system`.
    route: String,
    /// Extra query pairs, already encoded (`sort=_id`, `fields=_id`).
    extra: String,
    limit: usize,
    /// `false` for a route that takes no paging parameters: one request answers all.
    paged: bool,
    skip: usize,
    done: bool,
}

impl<'a> PageStream<'a> {
    /// A collection list, sorted by id so that skip-paging is stable.
    pub fn collection(client: &'a ApiClient, api: Api, route: &str) -> PageStream<'a> {
        let extra = match api {
            Api::V1 => "sort=_id",
            Api::V2 => "sort=id",
        };
        PageStream {
            client,
            api,
            route: route.to_string(),
            extra: extra.into(),
            limit: PAGE_LIMIT,
            paged: true,
            skip: 0,
            done: false,
        }
    }

    /// A System Insights table, 10,000 rows a page, sorted by `key` (its columns' sources)
    /// so that skip-paging is stable.
    pub fn insights(client: &'a ApiClient, name: &str, key: &[&str]) -> PageStream<'a> {
        PageStream {
            client,
            api: Api::V2,
            route: format!("systeminsights/{name}"),
            extra: format!("sort={}", key.join(",")),
            limit: INSIGHTS_PAGE_LIMIT,
            paged: true,
            skip: 0,
            done: false,
        }
    }

    /// A collection in the order (and with the filter) `query` gives, e.g.
    /// `sort=endedAt&filter=endedAt:gt:…`.
    pub fn sorted(client: &'a ApiClient, api: Api, route: &str, query: String) -> PageStream<'a> {
        let mut s = PageStream::collection(client, api, route);
        s.extra = query;
        s
    }

    /// Only the ids of a collection (v1 projects with `fields`).
    pub fn ids(client: &'a ApiClient, api: Api, route: &str) -> PageStream<'a> {
        let mut s = PageStream::collection(client, api, route);
        if api == Api::V1 {
            s.extra.push_str("&fields=_id");
        }
        s
    }

    /// A v2 sub-list such as `usergroups/{id}/members`; `paged: false` for a route that
    /// takes no paging parameters (one request answers it).
    pub fn v2_list(client: &'a ApiClient, route: String, paged: bool) -> PageStream<'a> {
        PageStream {
            client,
            api: Api::V2,
            route,
            extra: String::new(),
            limit: PAGE_LIMIT,
            paged,
            skip: 0,
            done: false,
        }
    }

    /// Continues after a first page of `n` records read elsewhere.
    fn resume_after(&mut self, n: usize) {
        self.skip = n;
        self.done = !self.paged || n < self.limit;
    }

    fn url(&self) -> String {
        let base = self.client.endpoints().base_url.trim_end_matches('/');
        let family = match self.api {
            Api::V1 => "api",
            Api::V2 => "api/v2",
        };
        let mut query: Vec<String> = Vec::new();
        if self.paged {
            query.push(format!("limit={}&skip={}", self.limit, self.skip));
        }
        if !self.extra.is_empty() {
            query.push(self.extra.clone());
        }
        if query.is_empty() {
            return format!("{base}/{family}/{}", self.route);
        }
        let sep = if self.route.contains('?') { '&' } else { '?' };
        format!("{base}/{family}/{}{sep}{}", self.route, query.join("&"))
    }

    /// The next page's records, or `None` after the last.
    pub async fn next_records(&mut self) -> Result<Option<RawPage>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let url = self.url();
        let (body, _) = self.client.get_page(&url, None).await?;
        let (records, total) = match (self.api, body) {
            (
                Api::V1,
                Shape::Object {
                    total_count,
                    results,
                },
            ) => match results {
                Some(a) => (a, total_count),
                None => return Err(shape_error(&url, "a v1 envelope without a results array")),
            },
            (Api::V2, Shape::Array(a)) => (a, None),
            (Api::V1, _) => return Err(shape_error(&url, "not a {totalCount, results} envelope")),
            (Api::V2, _) => return Err(shape_error(&url, "not a JSON array")),
        };
        self.skip += records.len();
        let past_total = total.is_some_and(|t| self.skip as u64 >= t);
        if !self.paged || records.len() < self.limit || past_total {
            self.done = true;
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(Some(records))
    }
}

/// The number of objects of a collection as the service tells it in one request: v1's
/// `totalCount`, or a v2 route's `x-total-count` where it sends one.
pub async fn count_hint(
    client: &ApiClient,
    api: Api,
    route: &str,
) -> Result<Option<u64>, SourceError> {
    let base = client.endpoints().base_url.trim_end_matches('/');
    Ok(match api {
        Api::V1 => client
            .get_json(&format!("{base}/api/{route}?limit=1&fields=_id"))
            .await?
            .get("totalCount")
            .and_then(serde_json::Value::as_u64),
        Api::V2 => client
            .get_with_headers(&format!("{base}/api/v2/{route}?limit=1"))
            .await?
            .1
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    })
}

/// The number of objects of a collection: [`count_hint`], or, where a route tells none,
/// by listing its ids (one request per 100 objects).
pub async fn count_objects(client: &ApiClient, api: Api, route: &str) -> Result<u64, SourceError> {
    if let Some(n) = count_hint(client, api, route).await? {
        return Ok(n);
    }
    let mut ids = PageStream::ids(client, api, route);
    let mut n = 0;
    while let Some(page) = ids.next_records().await? {
        n += page.len() as u64;
    }
    Ok(n)
}

fn shape_error(url: &str, what: &str) -> SourceError {
    SourceError::Body {
        url: url.to_string(),
        attempts: 1,
        message: format!("unexpected answer: {what}"),
    }
}

impl Pages for PageStream<'_> {
    async fn next_page(&mut self) -> Result<Option<Page>, SourceError> {
        Ok(self.next_records().await?.map(|records| Page {
            records,
            parent: None,
        }))
    }
}

type Child<'a> = (String, PageStream<'a>, Option<RawPage>);

/// For every object of a parent collection, the pages of one v2 list at `path` with `{id}`
/// replaced by the parent's id, in parent order. Each parent's first page is fetched
/// concurrently (`fanout` at once, per page of parents); the rest of a long list is read
/// page by page when its turn comes, so at most `fanout` pages are held. Parent order is
/// kept: a rerun writes the same rows in the same order.
pub struct FanOutPages<'a> {
    client: &'a ApiClient,
    parents: PageStream<'a>,
    parent_route: &'a str,
    path: &'a str,
    paged: bool,
    fanout: usize,
    children: Option<BoxStream<'a, Result<Child<'a>, SourceError>>>,
    current: Option<(String, PageStream<'a>)>,
}

impl<'a> FanOutPages<'a> {
    pub fn new(
        client: &'a ApiClient,
        parent_api: Api,
        parent_route: &'a str,
        path: &'a str,
        paged: bool,
        fanout: usize,
    ) -> FanOutPages<'a> {
        FanOutPages {
            client,
            parents: PageStream::ids(client, parent_api, parent_route),
            parent_route,
            path,
            paged,
            fanout: fanout.max(1),
            children: None,
            current: None,
        }
    }
}

impl Pages for FanOutPages<'_> {
    async fn next_page(&mut self) -> Result<Option<Page>, SourceError> {
        loop {
            if let Some((id, rest)) = &mut self.current {
                if let Some(records) = rest.next_records().await? {
                    let parent = Some(id.clone());
                    return Ok(Some(Page { records, parent }));
                }
                self.current = None;
            }
            if let Some(children) = &mut self.children {
                match children.try_next().await? {
                    Some((id, rest, first)) => {
                        self.current = Some((id.clone(), rest));
                        if let Some(records) = first {
                            let parent = Some(id);
                            return Ok(Some(Page { records, parent }));
                        }
                        continue;
                    }
                    None => self.children = None,
                }
            }
            let Some(page) = self.parents.next_records().await? else {
                return Ok(None);
            };
            let mut parents = Vec::new();
            for p in page.records() {
                let id = parent_id(p, self.client, self.parent_route)?;
                // A directory's lists live under the route of its type.
                if !self.path.contains("{route}") {
                    parents.push((id.clone(), self.path.replace("{id}", &id)));
                    continue;
                }
                let kind = record_field(p, "type").unwrap_or_default();
                match directory_route(&kind) {
                    Some(route) => parents.push((
                        id.clone(),
                        self.path.replace("{route}", route).replace("{id}", &id),
                    )),
                    None => {
                        tracing::debug!(%id, %kind, "no association routes for this directory type")
                    }
                }
            }
            let (client, paged) = (self.client, self.paged);
            // Each first page is fetched on a task of its own: a request that holds one of
            // the client's slots then finishes even while this stream is not polled (its
            // reader busy with an earlier parent's further pages, which need slots too).
            let children = futures::stream::iter(parents)
                .map(move |(id, route)| {
                    let owned = client.clone();
                    let again = route.clone();
                    let first = Aborting(tokio::spawn(async move {
                        PageStream::v2_list(&owned, route, paged)
                            .next_records()
                            .await
                    }));
                    async move {
                        let first = first.await.map_err(|e| SourceError::Body {
                            url: again.clone(),
                            attempts: 1,
                            message: format!("fan-out task failed: {e}"),
                        })??;
                        let mut s = PageStream::v2_list(client, again, paged);
                        s.resume_after(first.as_ref().map_or(0, RawPage::len));
                        Ok::<_, SourceError>((id, s, first))
                    }
                })
                .buffered(self.fanout);
            self.children = Some(children.boxed());
        }
    }
}

/// A spawned task that stops when its handle is dropped: a fan-out that ends early (its
/// table failed) leaves no request behind holding a client slot.
struct Aborting<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for Aborting<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// A parent object's id, checked before it goes into a URL path.
fn parent_id(record: &[u8], client: &ApiClient, route: &str) -> Result<String, SourceError> {
    let id = record_id(record).unwrap_or_default();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SourceError::Body {
            url: format!("{}/api/.../{route}", client.endpoints().base_url),
            attempts: 1,
            message: format!(
                "unexpected object id {:?}",
                id.chars().take(40).collect::<String>()
            ),
        });
    }
    Ok(id)
}
