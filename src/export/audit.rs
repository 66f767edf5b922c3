//! Rows made outside an export — the `actions` of `jclake apply` — committed as one
//! partition of their table through the same staging pipeline (`Stager`) and commit
//! protocol as every exported table: staged Parquet, an intent, the run manifest, the
//! state. The caller holds the lake's lock.

use chrono::{DateTime, Utc};

use super::stage::Stager;
use super::{new_run_id, ExportError};
use crate::decode::SchemaPolicy;
use crate::manifest::commit::{self, Intent};
use crate::model::{
    Partition, RawPage, RequestCounts, RunManifest, RunOutcome, SourceInfo, TableOutcome,
    TableSchema, RUN_MANIFEST_VERSION,
};
use crate::sink::{Lake, WriteOptions};
use crate::source::{Page, Pages, SourceError};

/// Rows already in memory, as one page.
struct Rows(Option<RawPage>);

impl Pages for Rows {
    async fn next_page(&mut self) -> Result<Option<Page>, SourceError> {
        Ok(self.0.take().map(|records| Page {
            records,
            parent: None,
        }))
    }
}

/// What the run manifest of such a commit says about its origin.
pub struct RowsRun {
    pub source: SourceInfo,
    pub started_at: DateTime<Utc>,
    /// The orgs of a multi-org lake (the partition's org), else empty.
    pub orgs: Vec<String>,
}

/// Replaces `partition` of `schema.table` with `rows` (JSON objects named by the schema's
/// sources) and records it in a run manifest of its own.
pub async fn commit_rows(
    lake: &Lake,
    write: &WriteOptions,
    schema: &TableSchema,
    partition: Partition,
    rows: &[serde_json::Value],
    run: RowsRun,
) -> Result<RunManifest, ExportError> {
    let run_id = new_run_id();
    let stager = Stager::new(lake.clone(), &run_id, write.clone());
    let table_err = |e: super::TableError| ExportError::Table {
        table: schema.table.clone(),
        source: Box::new(e),
    };
    let mut decoder = stager
        .decoder(&schema.table, schema, SchemaPolicy::Freeze)
        .await
        .map_err(table_err)?;
    let staged = stager
        .stage(
            &schema.table,
            &partition,
            Rows(Some(RawPage::from_values(rows))),
            &mut decoder,
        )
        .await
        .map_err(table_err)?;
    let outcome = match staged.run.outcome {
        TableOutcome::Committed => RunOutcome::Succeeded,
        TableOutcome::Failed => RunOutcome::Failed,
    };
    let manifest = RunManifest {
        version: RUN_MANIFEST_VERSION,
        run_id: run_id.clone(),
        jclake_version: env!("CARGO_PKG_VERSION").into(),
        started_at: run.started_at,
        finished_at: Utc::now(),
        outcome,
        snapshot_date: run.started_at.date_naive(),
        source: run.source,
        requests: RequestCounts::default(),
        tables: vec![staged.run],
        retired: Vec::new(),
        orgs: run.orgs,
    };
    let intent = Intent {
        manifest: manifest.clone(),
        publish: staged.step.into_iter().collect(),
        events: None,
        events_org: None,
        retire: Vec::new(),
        schemas: Vec::new(),
    };
    commit::commit(lake, &intent, 0).await?;
    commit::clear_staging(lake, &run_id).await?;
    Ok(manifest)
}
