//! `_jclake/runs/<run_id>.json`: what one run did, per table and per event day. Written
//! by each commit of the run (event days, then the final one); `verify` replays them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::partition::Partition;

/// The run manifest format this build writes; manifests without `version` are version 1.
pub const RUN_MANIFEST_VERSION: u32 = 1;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// Event days are committing; for good if the run died after some.
    Running,
    Succeeded,
    /// Some tables failed.
    Partial,
    Failed,
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        })
    }
}

/// How one table (or event day) of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableOutcome {
    Committed,
    Failed,
}

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
    pub partition: Partition,
    pub outcome: TableOutcome,
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
    /// A history table's position after this partition, recorded in the state with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<super::state::HistoryCursor>,
}

impl TableRun {
    /// The entry of a table (or event day) that failed.
    pub fn failed(table: &str, partition: Partition, error: String) -> TableRun {
        TableRun {
            table: table.into(),
            partition,
            outcome: TableOutcome::Failed,
            rows: 0,
            bytes: 0,
            files: Vec::new(),
            schema_fingerprint: String::new(),
            rescued: Default::default(),
            schema_changes: Vec::new(),
            excluded: 0,
            seconds: 0.0,
            error: Some(error),
            history: None,
        }
    }
}

fn version_1() -> u32 {
    1
}

/// `_jclake/runs/<run_id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunManifest {
    #[serde(default = "version_1")]
    pub version: u32,
    pub run_id: String,
    pub jclake_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: RunOutcome,
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
