//! The commit protocol. A commit is described first, in an intent written to the run's
//! staging folder (`_jclake/staging/<run>/intents/NNNNN.json`): the files to publish, the
//! run manifest, the events progress and the snapshot partitions to retire. Then, in this
//! order: staged files are renamed onto their `part-NNNNN` names in the table folders and
//! other files of those partitions are deleted; the run manifest is written; `state.json`
//! advances; retired partitions are deleted; the intent is deleted. Every step can be done
//! twice, so a run that finds a dead run's intent rolls it forward by applying it again,
//! and deletes whatever that run staged without an intent (roll back).

use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::{read_state, staging_dir, write_run, write_state, ManifestError, META_DIR};
use crate::model::hooks::{crash_point, CrashPoint};
use crate::model::{
    EventsState, Layout, RunManifest, RunOutcome, TableOutcome, TableSchema, TableState, EVENTS,
    STATE_VERSION,
};
use crate::sink::{key, Lake, SinkError, StagedFile};

/// One staged file and where it goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StagedEntry {
    pub staged: String,
    pub target: String,
}

/// The files of one partition, which become the whole partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishStep {
    /// `["users", "snapshot_date=2026-11-23"]`.
    pub partition: Vec<String>,
    pub files: Vec<StagedEntry>,
}

impl PublishStep {
    pub fn new(partition: Vec<String>, files: &[StagedFile]) -> PublishStep {
        let files = files
            .iter()
            .map(|f| StagedEntry {
                staged: f.staged.to_string(),
                target: f.target.to_string(),
            })
            .collect();
        PublishStep { partition, files }
    }
}

/// Everything one commit does, written down before any of it is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub manifest: RunManifest,
    pub publish: Vec<PublishStep>,
    /// Events progress to record once the files are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsState>,
    /// The org whose event stream `events` is, in a multi-org run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_org: Option<String>,
    /// Partition folders (`users/snapshot_date=…`) deleted after the commit (retention).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retire: Vec<String>,
    /// Effective schemas this commit widened (`_jclake/schemas/<table>.json`), saved with
    /// the data that needs them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<TableSchema>,
}

fn intent_path(run_id: &str, seq: u32) -> Path {
    let mut parts = staging_dir(run_id);
    parts.extend(["intents".to_string(), format!("{seq:05}.json")]);
    key(parts)
}

/// Writes the intent, then applies it.
pub async fn commit(lake: &Lake, intent: &Intent, seq: u32) -> Result<(), ManifestError> {
    let path = intent_path(&intent.manifest.run_id, seq);
    super::write_json(lake, &path, intent).await?;
    crash_point(CrashPoint::AfterIntent);
    apply(lake, intent).await?;
    lake.delete(&path).await?;
    Ok(())
}

/// Applies an intent; doing it again changes nothing.
async fn apply(lake: &Lake, intent: &Intent) -> Result<(), ManifestError> {
    for step in &intent.publish {
        publish(lake, step).await?;
        crash_point(CrashPoint::MidPublish);
    }
    crash_point(CrashPoint::AfterPublish);
    for schema in &intent.schemas {
        super::write_table_schema(lake, schema).await?;
    }
    write_run(lake, &intent.manifest).await?;
    crash_point(CrashPoint::AfterManifest);
    let run = &intent.manifest;
    let mut state = read_state(lake).await?.unwrap_or_default();
    state.version = STATE_VERSION;
    for t in run
        .tables
        .iter()
        .filter(|t| t.outcome == TableOutcome::Committed && t.table != EVENTS)
    {
        // In a multi-org lake: one entry per org.
        let name = match t.partition.org_folder() {
            Some(org) => format!("{}/{org}", t.table),
            None => t.table.clone(),
        };
        state.tables.insert(
            name,
            TableState {
                last_snapshot_date: run.snapshot_date,
                last_run_id: run.run_id.clone(),
                rows: t.rows,
                schema_fingerprint: t.schema_fingerprint.clone(),
                history: t.history.clone(),
            },
        );
    }
    match (&intent.events, &intent.events_org) {
        (Some(e), Some(org)) => {
            state.events_by_org.insert(org.clone(), e.clone());
        }
        (Some(e), None) => state.events = Some(e.clone()),
        _ => {}
    }
    state.layout = Some(if run.orgs.is_empty() {
        Layout::Single
    } else {
        Layout::OrgId
    });
    if run.outcome != RunOutcome::Running {
        state.last_run_id = Some(run.run_id.clone());
        state.updated_at = Some(run.finished_at);
    }
    write_state(lake, &state).await?;
    crash_point(CrashPoint::AfterState);
    for folder in &intent.retire {
        let dir = key(folder.split('/'));
        for obj in lake.list(&dir).await? {
            lake.delete(&obj.location).await?;
        }
        lake.remove_empty_folders(&folder.split('/').map(str::to_string).collect::<Vec<_>>());
    }
    Ok(())
}

/// Makes a partition hold exactly the step's files: each staged file is renamed onto its
/// target (a staged file already moved is found at its target), then every other file of
/// the partition is deleted. Files are named `part-NNNNN`, so each rename replaces its
/// namesake atomically and a one-file partition flips in one step.
async fn publish(lake: &Lake, step: &PublishStep) -> Result<(), ManifestError> {
    for f in &step.files {
        let parse = |p: &str| {
            Path::parse(p).map_err(|_| ManifestError::Lost {
                staged: f.staged.clone(),
                target: f.target.clone(),
            })
        };
        let (staged, target) = (parse(&f.staged)?, parse(&f.target)?);
        if lake.exists(&staged).await? {
            lake.rename(&staged, &target).await?;
        } else if !lake.exists(&target).await? {
            return Err(ManifestError::Lost {
                staged: f.staged.clone(),
                target: f.target.clone(),
            });
        }
    }
    for obj in lake.list(&key(&step.partition)).await? {
        if !step.files.iter().any(|f| f.target == obj.location.as_ref()) {
            lake.delete(&obj.location).await?;
        }
    }
    Ok(())
}

/// Finishes or undoes what dead runs left in staging: intents are applied again (roll
/// forward), everything else they staged is deleted (roll back). Call it holding the lock,
/// so that no other run's staging is live. Returns the runs it cleaned up.
pub async fn recover(lake: &Lake, current_run: &str) -> Result<Vec<String>, ManifestError> {
    let staging = key([META_DIR, "staging"]);
    let runs = lake.folders(&staging).await?;
    let mut recovered = Vec::new();
    for run in runs.into_iter().filter(|r| r != current_run) {
        let mut intents_dir = staging_dir(&run);
        intents_dir.push("intents".into());
        let mut intents: Vec<Path> = lake
            .list(&key(&intents_dir))
            .await?
            .into_iter()
            .map(|o| o.location)
            .collect();
        intents.sort();
        for path in intents {
            let Some(intent) = super::read_json::<Intent>(lake, &path).await? else {
                continue;
            };
            tracing::warn!(run = %run, intent = %path, "rolling forward an interrupted commit");
            apply(lake, &intent).await?;
            lake.delete(&path).await?;
        }
        clear_staging(lake, &run).await?;
        tracing::warn!(run = %run, "removed an interrupted run's staging");
        recovered.push(run);
    }
    Ok(recovered)
}

/// Deletes a run's staging folder.
pub async fn clear_staging(lake: &Lake, run_id: &str) -> Result<(), ManifestError> {
    let dir = key(staging_dir(run_id));
    for obj in lake.list(&dir).await? {
        lake.delete(&obj.location).await?;
    }
    lake.remove_local_tree(&staging_dir(run_id));
    Ok(())
}

/// Snapshot partitions in `folder` (a table, or a table's org folder) beyond the newest
/// `keep` (the one being committed, named `current`, always counts as kept).
pub async fn retired_partitions(
    lake: &Lake,
    folder: &[String],
    current: &str,
    keep: usize,
) -> Result<Vec<String>, SinkError> {
    let table = folder.join("/");
    let mut dates: Vec<String> = lake
        .folders(&key(folder))
        .await?
        .into_iter()
        .filter(|p| p.starts_with("snapshot_date="))
        .collect();
    if !dates.iter().any(|d| d == current) {
        dates.push(current.to_string());
    }
    dates.sort();
    dates.reverse();
    Ok(dates
        .into_iter()
        .skip(keep.max(1))
        .filter(|d| d.as_str() < current)
        .map(|d| format!("{table}/{d}"))
        .collect())
}
