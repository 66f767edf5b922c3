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
    pub fanout_concurrency: usize,
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
