//! Pagination of v1 and v2 lists: `limit`/`skip` pages sorted by id (JumpCloud's advice
//! for paging a changing collection). v1 answers `{totalCount, results}`; v2 answers a bare
//! array and its `x-total-count` is not promised, so a short page ends a list.

use serde_json::Value;

use super::{ApiClient, SourceError};
use crate::catalog::Api;

/// The largest page v1 and v2 allow.
pub const PAGE_LIMIT: usize = 100;

/// The pages of one list, fetched one at a time.
pub struct PageStream<'a> {
    client: &'a ApiClient,
    api: Api,
    /// Route with any query it already carries, e.g. `users/{id}/associations?targets=system`.
    route: String,
    /// Extra query pairs, already encoded (`sort=_id`, `fields=_id`).
    extra: String,
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
            skip: 0,
            done: false,
        }
    }

    /// Only the ids of a collection (v1 projects with `fields`).
    pub fn ids(client: &'a ApiClient, api: Api, route: &str) -> PageStream<'a> {
        let mut s = PageStream::collection(client, api, route);
        if api == Api::V1 {
            s.extra.push_str("&fields=_id");
        }
        s
    }

    /// A v2 sub-list such as `usergroups/{id}/members`.
    pub fn v2_list(client: &'a ApiClient, route: String) -> PageStream<'a> {
        PageStream {
            client,
            api: Api::V2,
            route,
            extra: String::new(),
            skip: 0,
            done: false,
        }
    }

    fn url(&self) -> String {
        let base = self.client.endpoints().base_url.trim_end_matches('/');
        let family = match self.api {
            Api::V1 => "api",
            Api::V2 => "api/v2",
        };
        let sep = if self.route.contains('?') { '&' } else { '?' };
        let extra = if self.extra.is_empty() {
            String::new()
        } else {
            format!("&{}", self.extra)
        };
        format!(
            "{base}/{family}/{}{sep}limit={PAGE_LIMIT}&skip={}{extra}",
            self.route, self.skip
        )
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let url = self.url();
        let body = self.client.get_json(&url).await?;
        let (records, total) = match (self.api, body) {
            (Api::V1, Value::Object(mut m)) => {
                let total = m.get("totalCount").and_then(Value::as_u64);
                match m.remove("results") {
                    Some(Value::Array(a)) => (a, total),
                    _ => return Err(shape_error(&url, "a v1 envelope without a results array")),
                }
            }
            (Api::V2, Value::Array(a)) => (a, None),
            (Api::V1, _) => return Err(shape_error(&url, "not a {totalCount, results} envelope")),
            (Api::V2, _) => return Err(shape_error(&url, "not a JSON array")),
        };
        self.skip += records.len();
        let past_total = total.is_some_and(|t| self.skip as u64 >= t);
        if records.len() < PAGE_LIMIT || past_total {
            self.done = true;
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(Some(records))
    }
}

fn shape_error(url: &str, what: &str) -> SourceError {
    SourceError::Body {
        url: url.to_string(),
        attempts: 1,
        message: format!("unexpected answer: {what}"),
    }
}
