//! One export run, wiring the stages together: for each table (several at once), pages from
//! `source` go through `decode` into a `sink::SnapshotWriter` in staging; then `manifest`
//! publishes every table that completed, writes the run manifest and advances the state.
//! A table that fails is reported and left as it was; the others still land.

pub mod audit;
pub mod events;
mod fanout;
pub mod plan;
mod settings;
pub(crate) use fanout::ObjectCounts;
mod stage;

use std::sync::atomic::Ordering;

use chrono::Utc;
use futures::StreamExt;

use crate::catalog::{Fetch, Resource};
use crate::decode::DecodeError;
use crate::manifest::commit::{self, Intent};
use crate::manifest::{self, lock, ManifestError};
use crate::model::exit;
use crate::model::hooks::{crash_point, CrashPoint};
use crate::model::{HistoryCursor, TableState};
use crate::model::{
    Layout, Partition, RequestCounts, RunManifest, RunOutcome, SchemaError, SourceInfo,
    TableOutcome, TableRun, TableSchema, EVENTS, RUN_MANIFEST_VERSION,
};
use crate::sink::{Lake, SinkError, WriteOptions};
use crate::source::{ApiClient, FanOutPages, HistoryPages, PageStream, SourceError};
pub use settings::{EventsSettings, ExportConfig, MemoryBudget, OrgSpec};
use stage::{Staged, Stager};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("table {table}: {source}")]
    Table {
        table: String,
        source: Box<TableError>,
    },
    #[error("lake {lake} has the {have} layout; a run with the {want} layout (orgs listed or not) needs another lake")]
    Layout {
        lake: String,
        have: Layout,
        want: Layout,
    },
}

/// Why one table failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("task failed: {0}")]
    Task(String),
    #[error("{table} is a history committed through the run of {last}; a run for the earlier {asked} would rewrite that day's records: export for {last} or later")]
    HistoryBackwards {
        table: String,
        last: chrono::NaiveDate,
        asked: chrono::NaiveDate,
    },
}

impl ExportError {
    /// The process exit code: 3 auth, 4 unreachable, 5 lake, 6 API or data, 7 locked.
    pub fn exit_code(&self) -> u8 {
        let source = match self {
            ExportError::Source(s) => s,
            ExportError::Table { source, .. } => match source.as_ref() {
                TableError::Source(s) => s,
                TableError::Sink(_) => return exit::LAKE,
                _ => return exit::PARTIAL,
            },
            ExportError::Manifest(ManifestError::Locked { .. }) => return exit::LOCKED,
            ExportError::Sink(_) | ExportError::Manifest(_) => return exit::LAKE,
            ExportError::Layout { .. } => return exit::CONFIG,
        };
        match source {
            SourceError::Unauthorized { .. }
            | SourceError::Forbidden { .. }
            | SourceError::BadKey => exit::CREDENTIALS,
            SourceError::Unreachable { .. } => exit::UNREACHABLE,
            _ => exit::PARTIAL,
        }
    }
}

/// A fresh run id: UTC time, then random hex so that two runs in one second differ.
pub fn new_run_id() -> String {
    format!(
        "{}-{:06x}",
        Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        fastrand::u32(..0x0100_0000)
    )
}

/// The final commit's intent comes after every events day's.
const FINAL_INTENT: u32 = 99_999;

/// One org of a run: its client, and its org id in a multi-org lake.
#[derive(Clone)]
struct OrgRun {
    client: ApiClient,
    org: Option<String>,
    counts: ObjectCounts,
}

/// Runs one export and returns its manifest (already committed). Errors that stop the whole
/// run (lake not writable, key rejected, host unreachable, lake locked) come back as `Err`;
/// a table that fails on its own is recorded in the manifest with outcome `partial`.
pub async fn run(cfg: &ExportConfig) -> Result<RunManifest, ExportError> {
    let started_at = Utc::now();
    let run_id = new_run_id();
    let lake = Lake::open(&cfg.lake, &cfg.s3)?;
    lake.probe(&run_id).await?;
    let client = client(cfg)?;
    let mut orgs = Vec::new();
    for o in &cfg.orgs {
        // Orgs with their own key get their own client (and rate limit); the others share
        // the run's client, each with its x-org-id.
        let c = match &o.credentials {
            Some(cred) => ApiClient::with_credentials(
                cfg.endpoints.clone(),
                cred.clone(),
                Some(&o.org_id),
                cfg.retry.clone(),
                &cfg.pace,
            )?,
            None => client.for_org(&o.org_id)?,
        };
        orgs.push(OrgRun {
            client: c,
            org: Some(o.org_id.clone()),
            counts: ObjectCounts::default(),
        });
    }
    if orgs.is_empty() {
        orgs.push(OrgRun {
            client: client.clone(),
            org: None,
            counts: ObjectCounts::default(),
        });
    }
    // One cheap request per org first: a bad key or an unreachable host fails before any work.
    for o in &orgs {
        o.client
            .get_json(&format!(
                "{}/api/organizations?limit=1&fields=_id",
                cfg.endpoints.base_url
            ))
            .await?;
    }
    let lock = lock::acquire(&lake, &run_id, cfg.lock_ttl, cfg.wait_for_lock).await?;
    let result = run_locked(cfg, &lake, &orgs, &run_id, started_at).await;
    let released = lock.release().await;
    let run = result?;
    released?;
    Ok(run)
}

async fn run_locked(
    cfg: &ExportConfig,
    lake: &Lake,
    orgs: &[OrgRun],
    run_id: &str,
    started_at: chrono::DateTime<Utc>,
) -> Result<RunManifest, ExportError> {
    let recovered = commit::recover(lake, run_id).await?;
    if !recovered.is_empty() {
        tracing::warn!(runs = ?recovered, "finished or undid interrupted runs");
    }
    let layout = if cfg.orgs.is_empty() {
        Layout::Single
    } else {
        Layout::OrgId
    };
    let prior_state = manifest::read_state(lake).await?;
    if let Some(have) = prior_state.as_ref().and_then(|s| s.layout) {
        if have != layout {
            return Err(ExportError::Layout {
                lake: cfg.lake.to_string(),
                have,
                want: layout,
            });
        }
    }
    tracing::info!(run_id, lake = %cfg.lake, tables = cfg.tables.len(), orgs = orgs.len(), "export started");
    let header = RunManifest {
        version: RUN_MANIFEST_VERSION,
        run_id: run_id.to_string(),
        jclake_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        finished_at: started_at,
        outcome: RunOutcome::Running,
        snapshot_date: cfg.snapshot_date,
        source: SourceInfo {
            base_url: cfg.endpoints.base_url.clone(),
            insights_url: cfg.endpoints.insights_url.clone(),
            org_id: cfg.org_id.clone(),
        },
        requests: RequestCounts::default(),
        tables: Vec::new(),
        retired: Vec::new(),
        orgs: cfg.orgs.iter().map(|o| o.org_id.clone()).collect(),
    };
    let budget = cfg.budget();
    tracing::debug!(?budget, "memory budget");
    let write = WriteOptions {
        row_group_bytes: budget.row_group_bytes,
        ..cfg.write.clone()
    };
    let stager = Stager::new(lake.clone(), run_id, write);
    let committed_days = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let wants_events = cfg.tables.iter().any(|r| matches!(r.fetch, Fetch::Events));
    let events_tasks: Vec<_> = orgs
        .iter()
        .filter(|_| wants_events)
        .map(|o| {
            let job = events::EventsJob {
                client: o.client.clone(),
                stager: stager.clone(),
                policy: cfg.policy(EVENTS),
                settings: EventsSettings {
                    page_size: budget.event_page_size,
                    ..cfg.events.clone()
                },
                days_in_flight: budget.event_days_in_flight,
                // Whole milliseconds: the service's resolution.
                end: chrono::DateTime::from_timestamp_millis(started_at.timestamp_millis())
                    .unwrap_or(started_at),
                header: header.clone(),
                org: o.org.clone(),
                committed: committed_days.clone(),
            };
            tokio::spawn(job.run())
        })
        .collect();

    let jobs: Vec<(&OrgRun, &'static Resource)> = orgs
        .iter()
        .flat_map(|o| {
            cfg.tables
                .iter()
                .copied()
                .filter(|r| !matches!(r.fetch, Fetch::Events))
                .map(move |r| (o, r))
        })
        .collect();
    let results: Vec<(&OrgRun, &'static Resource, Result<Staged, TableError>)> =
        futures::stream::iter(jobs)
            .map(|(o, r)| {
                let job = SnapshotJob {
                    client: o.client.clone(),
                    stager: stager.clone(),
                    partition: Partition::snapshot(o.org.as_deref(), cfg.snapshot_date),
                    fanout: cfg.fanout_concurrency,
                    policy: cfg.policy(r.table),
                    counts: o.counts.clone(),
                    prior: prior_state.as_ref().and_then(|s| {
                        let key = match &o.org {
                            Some(org) => format!("{}/org_id={org}", r.table),
                            None => r.table.to_string(),
                        };
                        s.tables.get(&key).cloned()
                    }),
                    snapshot_date: cfg.snapshot_date,
                    started_at,
                    command_results_per_run: cfg.command_results_per_run,
                };
                async move {
                    // A task per table lets decode and encode of different tables use every core.
                    let task = tokio::spawn(async move { job.run(r).await });
                    let res = task
                        .await
                        .unwrap_or_else(|e| Err(TableError::Task(e.to_string())));
                    (o, r, res)
                }
            })
            .buffer_unordered(cfg.concurrency)
            .collect()
            .await;

    let mut tables = Vec::new();
    let mut publish = Vec::new();
    let mut retire = Vec::new();
    let mut committed: Vec<&'static str> = Vec::new();
    let mut fatal = None;
    for (o, r, res) in results {
        let partition = Partition::snapshot(o.org.as_deref(), cfg.snapshot_date);
        match res {
            Ok(staged) => {
                publish.extend(staged.step);
                for c in &staged.run.schema_changes {
                    tracing::info!(table = r.table, change = %c, "schema widened");
                }
                if !committed.contains(&r.table) {
                    committed.push(r.table);
                }
                // A history table's partitions are its history: never retired.
                let history = matches!(r.fetch, Fetch::History { .. });
                if let Some(keep) = cfg.keep_snapshots.filter(|_| !history) {
                    let folder: Vec<String> = std::iter::once(r.table.to_string())
                        .chain(partition.org_folder())
                        .collect();
                    let current = partition.date.to_string();
                    retire.extend(commit::retired_partitions(lake, &folder, &current, keep).await?);
                }
                tracing::info!(
                    table = r.table,
                    org = o.org.as_deref().unwrap_or(""),
                    rows = staged.run.rows,
                    files = staged.run.files.len(),
                    "table staged"
                );
                tables.push(staged.run);
            }
            Err(e) => {
                tracing::error!(table = r.table, org = o.org.as_deref().unwrap_or(""), error = %e, "table failed");
                tables.push(TableRun::failed(r.table, partition, e.to_string()));
                if is_fatal(&e) && fatal.is_none() {
                    fatal = Some(ExportError::Table {
                        table: r.table.into(),
                        source: Box::new(e),
                    });
                }
            }
        }
    }
    // Keep the catalog's order (then the org's) in the manifest, whatever order tables
    // finished in.
    tables.sort_by_key(|t| {
        (
            cfg.tables.iter().position(|r| r.table == t.table),
            t.partition.clone(),
        )
    });
    for task in events_tasks {
        let outcome = task.await.unwrap_or_else(|e| events::EventsOutcome {
            windows: Vec::new(),
            error: Some(TableError::Task(e.to_string())),
        });
        if let Some(e) = outcome.error {
            tracing::error!(table = EVENTS, error = %e, "event stream stopped");
            if is_fatal(&e) && fatal.is_none() {
                fatal = Some(ExportError::Table {
                    table: EVENTS.into(),
                    source: Box::new(e),
                });
            }
        }
        tables.extend(outcome.windows);
    }
    let failed = tables
        .iter()
        .filter(|t| t.outcome != TableOutcome::Committed)
        .count();
    let clients: Vec<&ApiClient> = orgs.iter().map(|o| &o.client).collect();
    let run = RunManifest {
        finished_at: Utc::now(),
        outcome: match failed {
            0 => RunOutcome::Succeeded,
            n if n == tables.len() => RunOutcome::Failed,
            _ => RunOutcome::Partial,
        },
        requests: request_counts(&clients, started_at),
        tables,
        retired: retire.clone(),
        ..header
    };
    // One schema per committed table, as every org's decoders left it, if they widened it.
    let schemas: Vec<TableSchema> = committed.iter().filter_map(|t| stager.widened(t)).collect();
    crash_point(CrashPoint::BeforeCommit);
    let intent = Intent {
        manifest: run.clone(),
        publish,
        events: None,
        events_org: None,
        retire,
        schemas,
    };
    commit::commit(lake, &intent, FINAL_INTENT).await?;
    commit::clear_staging(lake, run_id).await?;
    match fatal {
        Some(e) => Err(e),
        None => Ok(run),
    }
}

/// The clients' counters (each counted once: orgs sharing a client share its counters),
/// and the rate achieved against the limit.
fn request_counts(clients: &[&ApiClient], started_at: chrono::DateTime<Utc>) -> RequestCounts {
    let mut seen: Vec<*const crate::source::RequestStats> = Vec::new();
    let (mut made, mut retried, mut throttled, mut tokens) = (0, 0, 0, 0);
    for c in clients {
        let ptr = std::sync::Arc::as_ptr(&c.stats);
        if seen.contains(&ptr) {
            continue;
        }
        seen.push(ptr);
        made += c.stats.requests.load(Ordering::Relaxed);
        retried += c.stats.retried.load(Ordering::Relaxed);
        throttled += c.stats.throttled.load(Ordering::Relaxed);
        tokens += c.stats.tokens.load(Ordering::Relaxed);
    }
    let minutes = ((Utc::now() - started_at).num_milliseconds().max(1) as f64) / 60_000.0;
    let pacer = clients.first().map(|c| c.pacer.clone());
    let configured = pacer.as_ref().and_then(|p| p.configured_per_minute());
    let learnt = pacer.as_ref().and_then(|p| p.rate_per_minute());
    RequestCounts {
        made,
        retried,
        throttled,
        accepted_per_minute: (made - throttled.min(made)) as f64 / minutes,
        limit_per_minute: configured.or(learnt),
        limit_learnt: configured.is_none() && learnt.is_some(),
        tokens,
    }
}

/// The run's API client, as `run` builds it.
pub fn client(cfg: &ExportConfig) -> Result<ApiClient, ExportError> {
    Ok(ApiClient::with_credentials(
        cfg.endpoints.clone(),
        cfg.credentials.clone(),
        cfg.org_id.as_deref(),
        cfg.retry.clone(),
        &cfg.pace,
    )?)
}

/// Errors after which going on makes no sense: the key is refused or the lake is failing.
fn is_fatal(e: &TableError) -> bool {
    matches!(
        e,
        TableError::Source(SourceError::Unauthorized { .. } | SourceError::Forbidden { .. })
            | TableError::Sink(_)
    )
}

/// One snapshot table of one org, owned so that it can run on its own task.
struct SnapshotJob {
    client: ApiClient,
    stager: Stager,
    partition: Partition,
    fanout: usize,
    policy: crate::decode::SchemaPolicy,
    counts: ObjectCounts,
    /// The table's state after the last run (history tables start from it).
    prior: Option<TableState>,
    snapshot_date: chrono::NaiveDate,
    started_at: chrono::DateTime<Utc>,
    command_results_per_run: usize,
}

impl SnapshotJob {
    async fn run(&self, r: &'static Resource) -> Result<Staged, TableError> {
        let declared = r.schema()?;
        let mut decoder = self.stager.decoder(r.table, &declared, self.policy).await?;
        let (stager, client, p) = (&self.stager, &self.client, &self.partition);
        match r.fetch {
            Fetch::Collection { api, route } => {
                let pages = PageStream::collection(client, api, route);
                stager.stage(r.table, p, pages, &mut decoder).await
            }
            Fetch::Insights { name } => {
                let key: Vec<&str> = declared
                    .key
                    .iter()
                    .filter_map(|k| declared.columns.iter().find(|c| &c.name == k))
                    .map(|c| c.source())
                    .collect();
                let pages = PageStream::insights(client, name, &key);
                stager.stage(r.table, p, pages, &mut decoder).await
            }
            Fetch::FanOut {
                parents,
                path,
                paged,
                other_end,
            } => {
                let choice = self.counts.choose(client, parents, path, other_end).await?;
                if let Some(rev) = choice.reversed {
                    decoder.reverse(rev);
                }
                if let Some((n, other)) = choice.counts {
                    tracing::info!(
                        table = r.table,
                        from = choice.parents.route,
                        objects = n,
                        other_end_objects = other,
                        "fan-out from the smaller end"
                    );
                }
                let pages = FanOutPages::new(
                    client,
                    choice.parents.api,
                    choice.parents.route,
                    choice.path,
                    paged,
                    self.fanout,
                );
                stager.stage(r.table, p, pages, &mut decoder).await
            }
            Fetch::History {
                api,
                route,
                time_field,
                detail,
            } => {
                // A rerun on the same day starts where the day's first run did, so the
                // day's partition is rebuilt whole; a later day starts where it ended. An
                // earlier day would replace that day's partition with other records.
                if let Some(t) = self.prior.as_ref().filter(|t| t.history.is_some()) {
                    if t.last_snapshot_date > self.snapshot_date {
                        return Err(TableError::HistoryBackwards {
                            table: r.table.into(),
                            last: t.last_snapshot_date,
                            asked: self.snapshot_date,
                        });
                    }
                }
                let start = self.prior.as_ref().and_then(|t| {
                    let h = t.history.as_ref()?;
                    match t.last_snapshot_date == self.snapshot_date {
                        true => h.start.clone(),
                        false => h.end.clone(),
                    }
                });
                // The day's partition is rebuilt whole, so a rerun fetches the day's records
                // again and still gets its own share of new ones: a backlog drains.
                let again = self
                    .prior
                    .as_ref()
                    .filter(|t| t.last_snapshot_date == self.snapshot_date)
                    .map_or(0, |t| t.rows as usize);
                let mut pages = HistoryPages::new(
                    self.started_at,
                    client,
                    api,
                    route,
                    time_field,
                    start.as_ref(),
                    detail,
                    again + self.command_results_per_run,
                    self.fanout,
                );
                let mut staged = stager.stage(r.table, p, &mut pages, &mut decoder).await?;
                let end = pages.mark().or_else(|| start.clone());
                staged.run.history = Some(HistoryCursor { start, end });
                Ok(staged)
            }
            Fetch::Events => Err(TableError::Task(
                "the event stream is exported by export::events".into(),
            )),
        }
    }
}
