//! `jclake verify`: the lake against its manifests. Replaying the run manifests in order
//! gives, for every partition, the files its latest committing run published (retired
//! partitions drop out). Every such file must be there with its size and its row count (read
//! from the Parquet footer), and no other data file may sit in a table folder.

use std::collections::BTreeMap;

use object_store::ObjectStoreExt;
use parquet::file::metadata::ParquetMetaDataReader;

use super::{check_version, ManifestError, META_DIR};
use crate::model::{FileEntry, RunManifest, TableOutcome, RUN_MANIFEST_VERSION};
use crate::sink::{key, Lake};

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub runs: usize,
    pub partitions: usize,
    pub files: usize,
    /// One line per mismatch; empty when the lake matches its manifests.
    pub problems: Vec<String>,
    /// Things worth knowing that are not mismatches (a dead run's staging, a held lock).
    pub notes: Vec<String>,
}

pub async fn verify(lake: &Lake) -> Result<Report, ManifestError> {
    let mut report = Report::default();
    let mut manifests: Vec<RunManifest> = Vec::new();
    for obj in lake.list(&key([META_DIR, "runs"])).await? {
        let Some(bytes) = lake.get(&obj.location).await? else {
            continue;
        };
        match serde_json::from_slice::<RunManifest>(&bytes) {
            Ok(m) => {
                check_version(&obj.location, m.version, RUN_MANIFEST_VERSION)?;
                manifests.push(m)
            }
            Err(e) => report
                .problems
                .push(format!("unreadable manifest {}: {e}", obj.location)),
        }
    }
    manifests.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
    report.runs = manifests.len();

    let mut expected: BTreeMap<String, Vec<FileEntry>> = BTreeMap::new();
    for m in &manifests {
        for t in m
            .tables
            .iter()
            .filter(|t| t.outcome == TableOutcome::Committed && !t.files.is_empty())
        {
            expected.insert(format!("{}/{}", t.table, t.partition), t.files.clone());
        }
        for p in &m.retired {
            expected.remove(p);
        }
    }
    report.partitions = expected.len();

    let mut present: BTreeMap<String, u64> = BTreeMap::new();
    for obj in lake.list(&object_store::path::Path::default()).await? {
        let path = obj.location.to_string();
        if path.starts_with(&format!("{META_DIR}/")) {
            if path.starts_with(&format!("{META_DIR}/staging/")) {
                report.notes.push(format!(
                    "staged by an unfinished run (the next run cleans it up): {path}"
                ));
            }
            continue;
        }
        present.insert(path, obj.size);
    }
    let store = lake.store();
    for files in expected.values() {
        for f in files {
            report.files += 1;
            let Some(size) = present.remove(&f.path) else {
                report.problems.push(format!(
                    "missing: {} (listed with {} rows, {} bytes)",
                    f.path, f.rows, f.bytes
                ));
                continue;
            };
            if size != f.bytes {
                report.problems.push(format!(
                    "size differs: {} is {size} bytes, manifest says {}",
                    f.path, f.bytes
                ));
            }
            match footer_rows(store.as_ref(), &f.path, size).await {
                Ok(rows) if rows != f.rows => report.problems.push(format!(
                    "row count differs: {} has {rows} rows, manifest says {}",
                    f.path, f.rows
                )),
                Ok(_) => {}
                Err(e) => report
                    .problems
                    .push(format!("not a readable Parquet file: {}: {e}", f.path)),
            }
        }
    }
    for (path, _) in present {
        report.problems.push(format!("not in any manifest: {path}"));
    }
    if lake.exists(&key([META_DIR, "lock.json"])).await? {
        report
            .notes
            .push("a run holds the lock (or died holding it)".into());
    }
    Ok(report)
}

/// The row count in a Parquet file's footer, reading only the footer.
async fn footer_rows(
    store: &dyn object_store::ObjectStore,
    path: &str,
    size: u64,
) -> Result<u64, String> {
    let path = object_store::path::Path::parse(path).map_err(|e| e.to_string())?;
    if size < 12 {
        return Err("too short".into());
    }
    let tail = store
        .get_range(&path, size - 8..size)
        .await
        .map_err(|e| e.to_string())?;
    if &tail[4..8] != b"PAR1" {
        return Err("no PAR1 magic at the end".into());
    }
    let len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if len + 12 > size {
        return Err("footer longer than the file".into());
    }
    let footer = store
        .get_range(&path, size - 8 - len..size - 8)
        .await
        .map_err(|e| e.to_string())?;
    let meta = ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| e.to_string())?;
    Ok(meta.file_metadata().num_rows() as u64)
}
