//! The manifest stage: in come a run's staged files and statistics; out go the published
//! table partitions, the run manifest `_jclake/runs/<run_id>.json` and `_jclake/state.json`,
//! written in that order (see ARCHITECTURE.md, "Commit"). It owns the commit order and the
//! JSON formats of both files.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::decode::TableSchema;
use crate::sink::{key, Lake, SinkError};

pub mod commit;
pub mod lock;
pub mod verify;

pub const META_DIR: &str = "_jclake";

/// One data file of a run, as published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path below the lake root.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// One table of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRun {
    pub table: String,
    /// `snapshot_date=YYYY-MM-DD`.
    pub partition: String,
    /// `committed` or `failed`.
    pub outcome: String,
    pub rows: u64,
    pub bytes: u64,
    pub files: Vec<FileEntry>,
    pub schema_fingerprint: String,
    /// Source path → values kept in `_rescued` instead of their column.
    pub rescued: BTreeMap<String, u64>,
    /// Columns and struct fields this run added to the table's schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_changes: Vec<String>,
    /// Values of secret fields that were dropped.
    pub excluded: u64,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `_jclake/runs/<run_id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    pub jclake_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `succeeded`, `partial` (some tables failed) or `failed`.
    pub outcome: String,
    pub snapshot_date: NaiveDate,
    pub source: SourceInfo,
    pub requests: RequestCounts,
    pub tables: Vec<TableRun>,
    /// Snapshot partitions (`users/snapshot_date=…`) this run deleted under retention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
    /// The orgs of a multi-org run (empty for one org).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
}

/// Where the data came from; never the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    pub base_url: String,
    pub insights_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestCounts {
    pub made: u64,
    pub retried: u64,
    pub throttled: u64,
    /// Requests the service accepted (not 429) per minute, over the run.
    #[serde(default)]
    pub accepted_per_minute: f64,
    /// The limit the run held to: configured, or learnt from the service's 429s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_per_minute: Option<f64>,
    #[serde(default)]
    pub limit_learnt: bool,
    /// Service-account tokens fetched.
    #[serde(default)]
    pub tokens: u64,
}

/// `_jclake/state.json`: what the next run starts from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub last_run_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub tables: BTreeMap<String, TableState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsState>,
    /// The event stream of each org of a multi-org lake.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events_by_org: BTreeMap<String, EventsState>,
    /// `single`, or `org_id` for a multi-org lake (every table partitioned by org first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
}

/// Where the event stream stands. Directory Insights cursors live only within one query,
/// so a run resumes from a time: every UTC day from the day of
/// `complete_through - lookback` on is read again whole and replaces its partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsState {
    /// Start of the stream (the first run's `--since`).
    pub since: DateTime<Utc>,
    /// Every event with a timestamp before this is committed (as far as the service had
    /// indexed it when it was read).
    pub complete_through: DateTime<Utc>,
    pub last_run_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableState {
    pub last_snapshot_date: NaiveDate,
    pub last_run_id: String,
    pub rows: u64,
    pub schema_fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("cannot finish an interrupted commit: staged file {staged} is gone and {target} is not there")]
    Lost { staged: String, target: String },
    #[error("another run holds the lake's lock: run {run_id} (host {host}, pid {pid}) since {since}, until {until}; wait for it, or pass --wait-for-lock SECONDS")]
    Locked {
        run_id: String,
        host: String,
        pid: u32,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
}

pub fn run_path(run_id: &str) -> object_store::path::Path {
    key([META_DIR, "runs", &format!("{run_id}.json")])
}

pub fn state_path() -> object_store::path::Path {
    key([META_DIR, "state.json"])
}

/// `_jclake/schemas/<table>.json`: the table's effective schema (declared columns plus
/// those discovered by earlier runs). It only ever widens.
pub fn schema_path(table: &str) -> object_store::path::Path {
    key([META_DIR, "schemas", &format!("{table}.json")])
}

pub async fn read_table_schema(
    lake: &Lake,
    table: &str,
) -> Result<Option<TableSchema>, ManifestError> {
    read_json(lake, &schema_path(table)).await
}

pub async fn write_table_schema(lake: &Lake, schema: &TableSchema) -> Result<(), ManifestError> {
    write_json(lake, &schema_path(&schema.table), schema).await
}

/// A JSON document of the lake, if it is there.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    lake: &Lake,
    path: &object_store::path::Path,
) -> Result<Option<T>, ManifestError> {
    match lake.get(path).await? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| ManifestError::Json {
                path: path.to_string(),
                source,
            }),
    }
}

/// Writes a JSON document in one atomic put.
pub(crate) async fn write_json<T: Serialize>(
    lake: &Lake,
    path: &object_store::path::Path,
    value: &T,
) -> Result<(), ManifestError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ManifestError::Json {
        path: path.to_string(),
        source,
    })?;
    lake.put(path, bytes).await?;
    Ok(())
}

/// The staging folder of a run: outside every table folder, so no reader of a table sees it.
pub fn staging_dir(run_id: &str) -> Vec<String> {
    vec![META_DIR.into(), "staging".into(), run_id.into()]
}

pub(crate) async fn write_run(lake: &Lake, run: &RunManifest) -> Result<(), ManifestError> {
    write_json(lake, &run_path(&run.run_id), run).await
}

pub(crate) async fn write_state(lake: &Lake, state: &State) -> Result<(), ManifestError> {
    write_json(lake, &state_path(), state).await
}

pub async fn read_state(lake: &Lake) -> Result<Option<State>, ManifestError> {
    read_json(lake, &state_path()).await
}
