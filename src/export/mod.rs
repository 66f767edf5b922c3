//! One export run, wiring the stages together: for each table (several at once), pages from
//! `source` go through `decode` into a `sink::SnapshotWriter` in staging; then `manifest`
//! publishes every table that completed, writes the run manifest and advances the state.
//! A table that fails is reported and left as it was; the others still land.

pub mod events;
pub mod plan;

use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::catalog::{Fetch, Resource};
use crate::config::ExportConfig;
use crate::decode::schema::SchemaError;
use crate::decode::{BatchDecoder, DecodeError, SchemaPolicy, TableSchema};
use crate::manifest::commit::{self, crash_point, Intent, PublishStep};
use crate::manifest::{
    self, lock, FileEntry, ManifestError, RequestCounts, RunManifest, SourceInfo, TableRun,
};
use crate::sink::{Lake, SinkError, SnapshotWriter, StagedFile};
use crate::source::{ApiClient, PageStream, SourceError};

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
        have: String,
        want: String,
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
}

impl ExportError {
    /// The process exit code: 3 auth, 4 unreachable, 5 lake, 6 API or data, 7 locked.
    pub fn exit_code(&self) -> u8 {
        use crate::cli::exit;
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

/// What a table produced in staging.
struct Staged {
    files: Vec<StagedFile>,
    stats: crate::decode::DecodeStats,
    fingerprint: String,
    changes: Vec<String>,
    schema: TableSchema,
    seconds: f64,
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

/// One org of a run: its client, and its partition folder in a multi-org lake.
#[derive(Clone)]
struct OrgRun {
    client: ApiClient,
    /// `org_id=…` in a multi-org lake.
    folder: Option<String>,
    org: Option<String>,
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
            folder: Some(format!("org_id={}", o.org_id)),
            org: Some(o.org_id.clone()),
        });
    }
    if orgs.is_empty() {
        orgs.push(OrgRun {
            client: client.clone(),
            folder: None,
            org: None,
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
        "single"
    } else {
        "org_id"
    };
    if let Some(have) = manifest::read_state(lake).await?.and_then(|s| s.layout) {
        if have != layout {
            return Err(ExportError::Layout {
                lake: cfg.lake.to_string(),
                have,
                want: layout.into(),
            });
        }
    }
    tracing::info!(run_id, lake = %cfg.lake, tables = cfg.tables.len(), orgs = orgs.len(), "export started");
    let header = RunManifest {
        run_id: run_id.to_string(),
        jclake_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        finished_at: started_at,
        outcome: "running".into(),
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
    let committed_days = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let wants_events = cfg.tables.iter().any(|r| matches!(r.fetch, Fetch::Events));
    let events_tasks: Vec<_> = orgs
        .iter()
        .filter(|_| wants_events)
        .map(|o| {
            let job = events::EventsJob {
                client: o.client.clone(),
                lake: lake.clone(),
                run_id: run_id.to_string(),
                write: cfg.write.clone(),
                policy: cfg.schema_policy.get("events").copied().unwrap_or_default(),
                settings: cfg.events.clone(),
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

    let date = format!("snapshot_date={}", cfg.snapshot_date.format("%Y-%m-%d"));
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
                let partition: Vec<String> =
                    o.folder.iter().cloned().chain([date.clone()]).collect();
                let job = TableJob {
                    client: o.client.clone(),
                    lake: lake.clone(),
                    run_id: run_id.to_string(),
                    partition,
                    write: cfg.write.clone(),
                    fanout: cfg.fanout_concurrency,
                    policy: cfg.schema_policy.get(r.table).copied().unwrap_or_default(),
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
    let mut schemas: Vec<TableSchema> = Vec::new();
    let mut fatal = None;
    for (o, r, res) in results {
        let org_folder: Vec<String> = std::iter::once(r.table.to_string())
            .chain(o.folder.iter().cloned())
            .collect();
        let partition = o
            .folder
            .iter()
            .cloned()
            .chain([date.clone()])
            .collect::<Vec<_>>()
            .join("/");
        match res {
            Ok(staged) => {
                let mut folder = org_folder.clone();
                folder.push(date.clone());
                publish.push(PublishStep::new(folder, &staged.files));
                if !staged.changes.is_empty() {
                    for c in &staged.changes {
                        tracing::info!(table = r.table, change = %c, "schema widened");
                    }
                    schemas.push(staged.schema.clone());
                }
                if let Some(keep) = cfg.keep_snapshots {
                    retire
                        .extend(commit::retired_partitions(lake, &org_folder, &date, keep).await?);
                }
                let files = file_entries(&staged.files);
                tracing::info!(
                    table = r.table,
                    org = o.org.as_deref().unwrap_or(""),
                    rows = staged.stats.rows,
                    files = files.len(),
                    "table staged"
                );
                tables.push(TableRun {
                    table: r.table.into(),
                    partition,
                    outcome: "committed".into(),
                    rows: files.iter().map(|f| f.rows).sum(),
                    bytes: files.iter().map(|f| f.bytes).sum(),
                    files,
                    schema_fingerprint: staged.fingerprint,
                    rescued: staged.stats.rescued,
                    schema_changes: staged.changes,
                    excluded: staged.stats.excluded,
                    seconds: staged.seconds,
                    error: None,
                });
            }
            Err(e) => {
                tracing::error!(table = r.table, org = o.org.as_deref().unwrap_or(""), error = %e, "table failed");
                tables.push(failed_run(r.table, partition, &e));
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
            tracing::error!(table = "events", error = %e, "event stream stopped");
            if is_fatal(&e) && fatal.is_none() {
                fatal = Some(ExportError::Table {
                    table: "events".into(),
                    source: Box::new(e),
                });
            }
        }
        tables.extend(outcome.windows);
    }
    let failed = tables.iter().filter(|t| t.outcome != "committed").count();
    let clients: Vec<&ApiClient> = orgs.iter().map(|o| &o.client).collect();
    let run = RunManifest {
        finished_at: Utc::now(),
        outcome: match failed {
            0 => "succeeded",
            n if n == tables.len() => "failed",
            _ => "partial",
        }
        .into(),
        requests: request_counts(&clients, started_at),
        tables,
        retired: retire.clone(),
        ..header
    };
    crash_point("before-commit");
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

/// Manifest entries of staged files, under their published paths.
pub(crate) fn file_entries(files: &[StagedFile]) -> Vec<FileEntry> {
    files
        .iter()
        .map(|f| FileEntry {
            path: f.target.to_string(),
            rows: f.rows,
            bytes: f.bytes,
        })
        .collect()
}

/// Errors after which going on makes no sense: the key is refused or the lake is failing.
fn is_fatal(e: &TableError) -> bool {
    matches!(
        e,
        TableError::Source(SourceError::Unauthorized { .. } | SourceError::Forbidden { .. })
            | TableError::Sink(_)
    )
}

/// The manifest entry of a table (or events day) that failed.
pub(crate) fn failed_run(table: &str, partition: String, e: &TableError) -> TableRun {
    TableRun {
        table: table.into(),
        partition,
        outcome: "failed".into(),
        rows: 0,
        bytes: 0,
        files: Vec::new(),
        schema_fingerprint: String::new(),
        rescued: Default::default(),
        schema_changes: Vec::new(),
        excluded: 0,
        seconds: 0.0,
        error: Some(e.to_string()),
    }
}

impl TableError {
    fn from_manifest(e: ManifestError, table: &str) -> TableError {
        match e {
            ManifestError::Sink(s) => TableError::Sink(s),
            other => TableError::Schema(SchemaError::Invalid {
                file: manifest::schema_path(table).to_string(),
                message: other.to_string(),
            }),
        }
    }
}

/// Everything one table's export needs, owned so that it can run on its own task.
struct TableJob {
    client: ApiClient,
    lake: Lake,
    run_id: String,
    /// Folders below the table: `[org_id=…,] snapshot_date=…`.
    partition: Vec<String>,
    write: crate::sink::WriteOptions,
    fanout: usize,
    policy: SchemaPolicy,
}

impl TableJob {
    async fn run(&self, r: &'static Resource) -> Result<Staged, TableError> {
        let TableJob {
            client,
            lake,
            run_id,
            partition,
            write,
            fanout,
            policy,
        } = self;
        let (run_id, fanout, policy) = (run_id.as_str(), *fanout, *policy);
        let t0 = Instant::now();
        let declared = r.schema()?;
        let stored = manifest::read_table_schema(lake, r.table)
            .await
            .map_err(|e| TableError::from_manifest(e, r.table))?;
        let mut decoder =
            BatchDecoder::with_policy(TableSchema::merged(stored, &declared), policy, run_id)?;
        let mut staging = manifest::staging_dir(run_id);
        let target: Vec<String> = std::iter::once(r.table.to_string())
            .chain(partition.iter().cloned())
            .collect();
        staging.extend(target.iter().cloned());
        let mut writer = SnapshotWriter::new(lake, decoder.arrow_schema(), write, staging, target);
        match r.fetch {
            Fetch::Events => {
                return Err(TableError::Task(
                    "the event stream is exported by export::events".into(),
                ))
            }
            Fetch::Collection { api, route } => {
                let mut pages = PageStream::collection(client, api, route);
                while let Some(page) = pages.next_page().await? {
                    crash_point("mid-download");
                    for b in decoder.decode(&page, None)? {
                        writer.write(&b).await?;
                    }
                }
            }
            Fetch::FanOut {
                parent_api,
                parent_route,
                path,
            } => {
                let mut parents = PageStream::ids(client, parent_api, parent_route);
                while let Some(page) = parents.next_page().await? {
                    let ids = page
                        .iter()
                        .map(|p| parent_id(p, client, parent_route))
                        .collect::<Result<Vec<_>, _>>()?;
                    // Each parent's first page is fetched concurrently; the rest of a long list is
                    // read page by page when its turn comes, so memory holds at most `fanout`
                    // pages. `buffered` keeps parent order: a rerun writes the same rows in the
                    // same order.
                    let mut children = futures::stream::iter(ids)
                        .map(|id| async move {
                            let mut s = PageStream::v2_list(client, path.replace("{id}", &id));
                            let first = s.next_page().await?;
                            Ok::<_, SourceError>((id, s, first))
                        })
                        .buffered(fanout);
                    while let Some((id, mut rest, first)) = children.try_next().await? {
                        let mut page = first;
                        while let Some(recs) = page {
                            for b in decoder.decode(&recs, Some(&id))? {
                                writer.write(&b).await?;
                            }
                            page = rest.next_page().await?;
                        }
                    }
                }
            }
        }
        let files = writer.finish().await?;
        crash_point("after-stage");
        Ok(Staged {
            files,
            stats: decoder.stats().clone(),
            fingerprint: decoder.table_schema().fingerprint(),
            changes: decoder.changes().to_vec(),
            schema: decoder.table_schema().clone(),
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

/// A parent object's id, checked before it goes into a URL path.
fn parent_id(v: &Value, client: &ApiClient, route: &str) -> Result<String, SourceError> {
    let id = crate::catalog::object_id(v);
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
    Ok(id.to_string())
}
