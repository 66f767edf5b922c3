//! What one export run is told to do, fully resolved and validated: `config` builds it
//! from the settings file, the environment and flags; `export` only reads it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::Resource;
use crate::decode::SchemaPolicy;
use crate::sink::{LakeLocation, S3Options, WriteOptions};
use crate::source::{Credentials, Endpoints, PacePolicy, RetryPolicy};

/// A validated export configuration.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    pub lake: LakeLocation,
    pub s3: S3Options,
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub pace: PacePolicy,
    /// Orgs of a multi-org run (empty: one org, `org_id`).
    pub orgs: Vec<OrgSpec>,
    pub org_id: Option<String>,
    pub tables: Vec<&'static Resource>,
    pub snapshot_date: NaiveDate,
    pub concurrency: usize,
    /// The run's memory budget in MiB (see [`MemoryBudget`]).
    pub memory_limit_mb: usize,
    pub fanout_concurrency: usize,
    /// Full command results fetched per run at most.
    pub command_results_per_run: usize,
    pub write: WriteOptions,
    pub events: EventsSettings,
    pub retry: RetryPolicy,
    pub keep_snapshots: Option<usize>,
    pub lock_ttl: Duration,
    pub wait_for_lock: Option<Duration>,
    /// Schema policy per table (every exported table has an entry).
    pub schema_policy: BTreeMap<String, SchemaPolicy>,
}

impl ExportConfig {
    /// The schema policy of `table`.
    pub fn policy(&self, table: &str) -> SchemaPolicy {
        self.schema_policy.get(table).copied().unwrap_or_default()
    }

    /// How `memory_limit_mb` is shared out for this run.
    pub fn budget(&self) -> MemoryBudget {
        MemoryBudget::new(
            self.memory_limit_mb,
            self.concurrency,
            self.orgs.len().max(1),
            self.events.page_size,
        )
    }
}

/// One memory budget for every buffer of a run, so peak memory follows the setting and not
/// the org's size. Half goes to the row groups writers hold (one writer per snapshot table
/// in progress and per event day in flight), a quarter to event pages in flight (a page
/// being received, one waiting, one being decoded, per day in flight), and a quarter is
/// left for the rest: upload buffers, the encoder's pages, the runtime. Snapshot pages
/// (100 records) are small beside these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// A writer ends its row group once it holds this many bytes.
    pub row_group_bytes: usize,
    /// Events asked per page (at most the `events_page_size` setting).
    pub event_page_size: usize,
    /// Day queries of one org's event stream in flight at once.
    pub event_days_in_flight: usize,
}

/// A Directory Insights event as JSON, generously: pages are sized with this.
const EVENT_BYTES: usize = 1536;
/// Event pages held per day in flight: received, waiting, decoded.
const PAGES_PER_DAY: usize = 4;

impl MemoryBudget {
    pub fn new(limit_mb: usize, snapshot_tables: usize, streams: usize, max_page: usize) -> Self {
        const MIB: usize = 1 << 20;
        let limit = limit_mb.max(1) * MIB;
        let days = (limit_mb / 64 / streams).clamp(1, 4);
        let writers = snapshot_tables.max(1) + streams * days;
        let pages = streams * days * PAGES_PER_DAY;
        MemoryBudget {
            row_group_bytes: (limit / 2 / writers).max(MIB),
            event_page_size: (limit / 4 / pages / EVENT_BYTES)
                .max(100)
                .min(max_page.max(1)),
            event_days_in_flight: days,
        }
    }
}

/// One org of a multi-org run, resolved.
#[derive(Debug, Clone)]
pub struct OrgSpec {
    pub org_id: String,
    /// Its own credentials, or `None` for the run's.
    pub credentials: Option<Credentials>,
}

/// Event-stream settings.
#[derive(Debug, Clone)]
pub struct EventsSettings {
    /// Where a new lake's stream starts (default: the retention limit).
    pub since: Option<DateTime<Utc>>,
    /// Service names, or `["all"]`.
    pub services: Vec<String>,
    /// Re-read this far behind the last committed point, for events indexed late.
    pub lookback: chrono::Duration,
    pub page_size: usize,
}

#[cfg(test)]
mod tests {
    use super::MemoryBudget;

    #[test]
    fn the_budget_is_shared_out_and_scales_with_the_setting() {
        const MIB: usize = 1 << 20;
        // 128 MiB, 4 snapshot tables, one org: 2 days in flight, 6 writers.
        let b = MemoryBudget::new(128, 4, 1, 10_000);
        assert_eq!(b.event_days_in_flight, 2);
        assert_eq!(b.row_group_bytes, 128 * MIB / 2 / 6);
        assert_eq!(b.event_page_size, 128 * MIB / 4 / 8 / 1536);
        // Twice the budget: twice the days, pages of the same size.
        let big = MemoryBudget::new(256, 4, 1, 10_000);
        assert_eq!(big.event_days_in_flight, 4);
        assert_eq!(big.event_page_size, b.event_page_size);
        // The smallest budget still reads one day, in pages of at least 100 events, and
        // never asks for more than the setting allows.
        let small = MemoryBudget::new(32, 4, 3, 10_000);
        assert_eq!(small.event_days_in_flight, 1);
        assert!(small.event_page_size >= 100 && small.row_group_bytes >= MIB);
        assert_eq!(MemoryBudget::new(1024, 4, 1, 500).event_page_size, 500);
        assert_eq!(MemoryBudget::new(128, 4, 1, 50).event_page_size, 50);
    }
}
