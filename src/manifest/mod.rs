//! The manifest stage: in come a run's staged files and statistics; out go the published
//! table partitions, the run manifest `_jclake/runs/<run_id>.json` and `_jclake/state.json`,
//! written in that order (see ARCHITECTURE.md, "Commit"). It owns the commit protocol
//! (`commit`), the lake lock (`lock`), `verify`, and where each `_jclake/` document lives;
//! the documents' formats are in `model`.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::model::META_DIR;
use crate::model::{RunManifest, State, TableSchema, STATE_VERSION};
use crate::sink::{key, Lake, SinkError};

pub mod commit;
pub mod lock;
pub mod verify;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "{path}: format version {found} is newer than this jclake reads ({known}); upgrade jclake"
    )]
    Version {
        path: String,
        found: u32,
        known: u32,
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
    let state: Option<State> = read_json(lake, &state_path()).await?;
    if let Some(s) = &state {
        check_version(&state_path(), s.version, STATE_VERSION)?;
    }
    Ok(state)
}

pub(crate) fn check_version(
    path: &object_store::path::Path,
    found: u32,
    known: u32,
) -> Result<(), ManifestError> {
    if found > known {
        return Err(ManifestError::Version {
            path: path.to_string(),
            found,
            known,
        });
    }
    Ok(())
}
