//! `jclake export --plan`: which endpoints a run would call for each table and about how
//! many requests that takes, from counts alone (v1 `totalCount`, v2 `x-total-count` where
//! a route sends it, else a list of ids; Directory Insights `/events/count`); no records
//! are fetched. A fan-out with two ends shows the end the run would ask from.

use chrono::Utc;

use super::events::{day_windows, stream_start};
use super::{ExportConfig, ExportError, ObjectCounts};
use crate::catalog::Fetch;
use crate::manifest;
use crate::sink::{Lake, LakeLocation};
use crate::source::{count_hint, Api, ApiClient, EventQuery, INSIGHTS_PAGE_LIMIT, PAGE_LIMIT};

/// One table of the plan.
#[derive(Debug, Clone)]
pub struct PlanLine {
    pub table: &'static str,
    pub endpoint: String,
    /// What the estimate rests on.
    pub basis: String,
    /// Requests, when the counts allow an estimate.
    pub requests: Option<u64>,
}

fn pages(n: u64, size: u64) -> u64 {
    n.div_ceil(size).max(1)
}

/// Counts what `cfg` would export and estimates the requests.
pub async fn plan(cfg: &ExportConfig, client: &ApiClient) -> Result<Vec<PlanLine>, ExportError> {
    let mut lines = Vec::new();
    let counts = ObjectCounts::default();
    for r in &cfg.tables {
        let line = match r.fetch {
            Fetch::Collection { api, route } => {
                let n = count_hint(client, api, route).await?;
                let family = if api == Api::V1 { "/api" } else { "/api/v2" };
                PlanLine {
                    table: r.table,
                    endpoint: format!("GET {family}/{route}?limit={PAGE_LIMIT}&skip=…"),
                    basis: n
                        .map(|n| format!("{n} objects"))
                        .unwrap_or_else(|| "count unknown (no x-total-count)".into()),
                    requests: n.map(|n| pages(n, PAGE_LIMIT as u64)),
                }
            }
            Fetch::Insights { name } => {
                let route = format!("systeminsights/{name}");
                let n = count_hint(client, Api::V2, &route).await?;
                let size = INSIGHTS_PAGE_LIMIT as u64;
                PlanLine {
                    table: r.table,
                    endpoint: format!("GET /api/v2/{route}?limit={size}&skip=…"),
                    basis: n.map(|n| format!("{n} rows")).unwrap_or_else(|| {
                        format!("row count unknown: one request per {size} rows")
                    }),
                    requests: n.map(|n| pages(n, size)),
                }
            }
            Fetch::FanOut {
                parents,
                path,
                other_end,
                ..
            } => {
                let c = counts.choose(client, parents, path, other_end).await?;
                let n = counts.of(client, c.parents).await?;
                let route = c.parents.route;
                PlanLine {
                    table: r.table,
                    endpoint: format!(
                        "GET /api/v2/{} for each of /{route}",
                        c.path.replace("{route}", "{ldapservers|gsuites|office365s|activedirectories}")
                    ),
                    basis: match c.counts {
                        Some((_, other)) => format!(
                            "{n} parents, the smaller end ({other} at the other), one page each at least"
                        ),
                        None => format!("{n} parents, one page each at least"),
                    },
                    requests: Some(pages(n, PAGE_LIMIT as u64) + n),
                }
            }
            Fetch::History {
                api,
                route,
                time_field,
                detail,
            } => {
                let family = if api == Api::V1 { "/api" } else { "/api/v2" };
                let filter = match api {
                    Api::V2 => format!("&filter={time_field}:gt:…"),
                    Api::V1 => String::new(),
                };
                PlanLine {
                    table: r.table,
                    endpoint: format!(
                        "GET {family}/{route}?sort={time_field}{filter}&limit={PAGE_LIMIT}&skip=…{}",
                        if detail { format!(", then {family}/{route}/{{id}} per new record") } else { String::new() }
                    ),
                    basis: "records since the last run".into(),
                    requests: None,
                }
            }
            Fetch::Events => {
                // A plan writes nothing: a local lake that does not exist yet has no state.
                let fresh = matches!(&cfg.lake, LakeLocation::Local(p) if !p.exists());
                let prior = if fresh {
                    None
                } else {
                    manifest::read_state(&Lake::open(&cfg.lake, &cfg.s3)?)
                        .await?
                        .and_then(|s| s.events)
                };
                let end = Utc::now();
                let (since, from) = stream_start(prior.as_ref(), &cfg.events, end);
                let days = day_windows(from, since, end);
                let start = days.first().map(|d| d.1).unwrap_or(end);
                let query = EventQuery {
                    services: cfg.events.services.clone(),
                    start,
                    end,
                    page_size: cfg.events.page_size,
                };
                let n = query.count(client).await.ok();
                let size = cfg.budget().event_page_size as u64;
                PlanLine {
                    table: r.table,
                    endpoint: format!("POST /insights/directory/v1/events, one query per UTC day, {size} per page"),
                    basis: match n {
                        Some(n) => format!("{n} events over {} days from {}", days.len(), start.format("%Y-%m-%d %H:%M")),
                        None => "event count unknown".into(),
                    },
                    requests: n.map(|n| n.div_ceil(size) + days.len() as u64),
                }
            }
        };
        lines.push(line);
    }
    Ok(lines)
}
