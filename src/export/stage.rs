//! The one staging pipeline: pages (any `source::Pages`) → `decode::BatchDecoder` →
//! `sink::SnapshotWriter` in the run's staging folder → a `Staged` partition: its manifest
//! entry and its publish step. It also keeps the run's one schema per table, which every
//! org's decoders of the table widen together. Snapshot tables, fan-out tables and
//! event days all go through `Stager::stage`; a new table family needs a paginator and a
//! catalog entry, not another copy of this loop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::decode::{BatchDecoder, DecodeStats, SchemaPolicy, SharedSchema};
use crate::manifest::commit::PublishStep;
use crate::manifest::{self, ManifestError};
use crate::model::hooks::{crash_point, CrashPoint};
use crate::model::{
    FileEntry, Partition, SchemaError, TableOutcome, TableRun, TableSchema, EVENTS,
};
use crate::sink::{Lake, SnapshotWriter, StagedFile, WriteOptions};
use crate::source::{Pages, PAGE_LIMIT};

use super::TableError;

/// One partition in staging, ready to commit.
pub(super) struct Staged {
    /// Its manifest entry.
    pub run: TableRun,
    /// Its files and where they go; `None` for an event day without events (publishing
    /// nothing leaves what an earlier run committed for that day).
    pub step: Option<PublishStep>,
}

/// What every staged partition of a run shares, the run's one schema per table included.
#[derive(Clone)]
pub(super) struct Stager {
    pub lake: Lake,
    pub run_id: String,
    pub write: WriteOptions,
    pub schemas: Arc<Mutex<HashMap<String, SharedSchema>>>,
}

impl Stager {
    pub fn new(lake: Lake, run_id: &str, write: WriteOptions) -> Stager {
        Stager {
            lake,
            run_id: run_id.into(),
            write,
            schemas: Arc::default(),
        }
    }

    fn schemas(&self) -> std::sync::MutexGuard<'_, HashMap<String, SharedSchema>> {
        self.schemas.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A decoder for `table` in the run's schema of it: at first the lake's effective
    /// schema (declared columns plus those earlier runs discovered), then widened by every
    /// decoder of the table (one per org), so all the orgs' files agree.
    pub async fn decoder(
        &self,
        table: &str,
        declared: &TableSchema,
        policy: SchemaPolicy,
    ) -> Result<BatchDecoder, TableError> {
        let existing = self.schemas().get(table).cloned();
        let shared = match existing {
            Some(s) => s,
            None => {
                let stored = manifest::read_table_schema(&self.lake, table)
                    .await
                    .map_err(|e| from_manifest(e, table))?;
                let fresh = SharedSchema::new(TableSchema::merged(stored, declared));
                // Another org's task may have been first: theirs is the one.
                self.schemas()
                    .entry(table.to_string())
                    .or_insert(fresh)
                    .clone()
            }
        };
        Ok(BatchDecoder::sharing(&shared, policy, &self.run_id)?)
    }

    /// The run's schema of `table` as it stands, if any decoder of it (of any org)
    /// widened it: a commit of the table saves it, whichever decoder found what, so a
    /// column in a published file is always in the saved schema, and a later save is
    /// never narrower than an earlier one.
    pub fn widened(&self, table: &str) -> Option<TableSchema> {
        self.schemas().get(table).and_then(SharedSchema::widened)
    }

    /// Reads every page into staging for `partition` of `table`. The decoder may carry on
    /// from earlier partitions (event days share one); the entry counts only this one.
    pub async fn stage(
        &self,
        table: &str,
        partition: &Partition,
        mut pages: impl Pages,
        decoder: &mut BatchDecoder,
    ) -> Result<Staged, TableError> {
        let t0 = Instant::now();
        let stats_before = decoder.stats().clone();
        let changes_before = decoder.changes().len();
        let target = partition.path_in(table);
        let mut staging = manifest::staging_dir(&self.run_id);
        staging.extend(target.iter().cloned());
        let mut writer = SnapshotWriter::new(
            &self.lake,
            decoder.arrow_schema(),
            &self.write,
            staging,
            target.clone(),
        );
        let snapshot = table != EVENTS;
        while let Some(page) = pages.next_page().await? {
            if snapshot {
                crash_point(CrashPoint::MidDownload);
            }
            let parent = page.parent.as_deref();
            // Handing the worker's other tasks to another thread costs more than decoding
            // a v1/v2 page of 100 records; only event pages are worth it.
            let batches = if page.records.len() > PAGE_LIMIT {
                off_runtime(|| decoder.decode(&page.records, parent))?
            } else {
                decoder.decode(&page.records, parent)?
            };
            for b in batches {
                writer.write(&b).await?;
            }
        }
        // An event day without events publishes nothing: an empty answer must never erase
        // what an earlier read committed. A snapshot table without rows still gets its
        // (empty) file, so the partition exists and readers see the schema.
        let files = if !snapshot && writer.is_empty() {
            Vec::new()
        } else {
            writer.finish().await?
        };
        if snapshot {
            crash_point(CrashPoint::AfterStage);
        }
        let stats = stats_since(decoder.stats(), &stats_before);
        let changes = decoder.changes()[changes_before..].to_vec();
        let entries = file_entries(&files);
        let run = TableRun {
            table: table.into(),
            partition: partition.clone(),
            outcome: TableOutcome::Committed,
            rows: entries.iter().map(|f| f.rows).sum(),
            bytes: entries.iter().map(|f| f.bytes).sum(),
            files: entries,
            schema_fingerprint: decoder.table_schema().fingerprint(),
            rescued: stats.rescued,
            schema_changes: changes,
            excluded: stats.excluded,
            seconds: t0.elapsed().as_secs_f64(),
            error: None,
            history: None,
        };
        Ok(Staged {
            step: (!files.is_empty()).then(|| PublishStep::new(target, &files)),
            run,
        })
    }
}

/// Runs CPU-bound work (decoding a page) without stalling the runtime: on a multi-thread
/// runtime the worker hands its other tasks to another thread first, so fetches in flight
/// keep going; on a current-thread runtime it simply runs.
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Manifest entries of staged files, under their published paths.
fn file_entries(files: &[StagedFile]) -> Vec<FileEntry> {
    files
        .iter()
        .map(|f| FileEntry {
            path: f.target.to_string(),
            rows: f.rows,
            bytes: f.bytes,
        })
        .collect()
}

/// What a decoder saw since `before`.
fn stats_since(now: &DecodeStats, before: &DecodeStats) -> DecodeStats {
    let rescued = now
        .rescued
        .iter()
        .filter_map(|(k, n)| {
            let d = n - before.rescued.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect();
    DecodeStats {
        rows: now.rows - before.rows,
        rescued,
        excluded: now.excluded - before.excluded,
    }
}

/// A manifest-stage error met while exporting `table`: storage stays storage (exit 5),
/// anything else is an unreadable schema file.
pub(super) fn from_manifest(e: ManifestError, table: &str) -> TableError {
    match e {
        ManifestError::Sink(s) => TableError::Sink(s),
        other => TableError::Schema(SchemaError::Invalid {
            file: manifest::schema_path(table).to_string(),
            message: other.to_string(),
        }),
    }
}
