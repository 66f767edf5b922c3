//! `_jclake/state.json`: what the next run starts from: per snapshot table its last
//! committed snapshot, the event stream's position (per org in a multi-org lake), and the
//! lake's layout. Each commit rewrites it after the run manifest.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::partition::Layout;

/// The state format this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// `_jclake/state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub last_run_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// `<table>`, or `<table>/org_id=<id>` in a multi-org lake.
    pub tables: BTreeMap<String, TableState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsState>,
    /// The event stream of each org of a multi-org lake.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events_by_org: BTreeMap<String, EventsState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
}

/// Where the event stream stands. Directory Insights cursors live only within one query,
/// so a run resumes from a time: every UTC day from the day of
/// `complete_through - lookback` on is read again whole and replaces its partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsState {
    /// Start of the stream (the first run's `events_since`).
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
    /// For a history table, where its record stream stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryCursor>,
}

/// Where a history table (policy and command results) stands. Such a table is
/// append-only: each day's partition holds the records first committed that day, so the
/// partitions together hold every record once. A rerun on the same day starts again from
/// `start` and replaces the day's partition; a run on a later day starts from `end`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCursor {
    /// Where the day's first run started (`None`: the beginning of the history).
    pub start: Option<HistoryMark>,
    /// How far the records are committed.
    pub end: Option<HistoryMark>,
}

/// A point in a history: every record up to `through` is committed, except records
/// reported late; those within the overlap before `through` are read again next time and
/// skipped when their id is in `recent` (the ids committed in that overlap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryMark {
    pub through: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<String>,
}
