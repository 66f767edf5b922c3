//! The sink stage: Arrow record batches in, zstd Parquet files out, on local disk or S3
//! through `object_store`. It owns the lake root (`Lake`: no key is ever built outside it),
//! the Hive layout `<table>/snapshot_date=YYYY-MM-DD/part-NNNNN.parquet`, file rolling, and
//! the publish step that moves staged files from `_jclake/staging/<run>/` into the table.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::{Path, PathPart};
use object_store::prefix::PrefixStore;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion,
};

mod writer;

pub use writer::{SnapshotWriter, StagedFile};

/// Where a lake lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    Local(std::path::PathBuf),
    S3 { bucket: String, prefix: String },
}

impl LakeLocation {
    /// `s3://bucket/prefix` or a filesystem path.
    pub fn parse(s: &str) -> Result<LakeLocation, SinkError> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(SinkError::Location(format!("{s:?} names no bucket")));
            }
            return Ok(LakeLocation::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        if s.contains("://") {
            return Err(SinkError::Location(format!(
                "{s:?}: only local paths and s3:// are supported"
            )));
        }
        if s.is_empty() {
            return Err(SinkError::Location("the lake path is empty".into()));
        }
        Ok(LakeLocation::Local(s.into()))
    }
}

impl std::fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeLocation::Local(p) => write!(f, "{}", p.display()),
            LakeLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// S3 connection settings beyond the AWS_* environment (for S3-compatible stores).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
    pub virtual_hosted_style: bool,
}

/// Parquet writer settings; they bound the writer's memory.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub row_group_rows: usize,
    /// A row group also ends once the writer holds this many bytes (batches waiting for
    /// the first row group, or encoded pages of the current one).
    pub row_group_bytes: usize,
    pub file_rows: usize,
    pub zstd_level: i32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 65_536,
            row_group_bytes: 16 << 20,
            file_rows: 1_000_000,
            zstd_level: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("lake location {0}")]
    Location(String),
    #[error("lake {root} is not writable: {message}")]
    Unwritable { root: String, message: String },
    #[error("lake {root}: {path}: {source}")]
    Store {
        root: String,
        path: String,
        source: object_store::Error,
    },
    #[error("lake {root}: {path}: parquet: {source}")]
    Parquet {
        root: String,
        path: String,
        source: parquet::errors::ParquetError,
    },
}

/// A lake root: every key it writes is below it.
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    location: LakeLocation,
}

/// A key below the lake root made of parts; each part is escaped, so a value holding `/`,
/// `..` or control characters can never leave its folder.
pub fn key<I: IntoIterator<Item = S>, S: AsRef<str>>(parts: I) -> Path {
    Path::from_iter(
        parts
            .into_iter()
            .map(|p| PathPart::from(p.as_ref().to_string())),
    )
}

impl Lake {
    pub fn open(location: &LakeLocation, s3: &S3Options) -> Result<Lake, SinkError> {
        let store: Arc<dyn ObjectStore> = match location {
            LakeLocation::Local(path) => {
                std::fs::create_dir_all(path).map_err(|e| SinkError::Unwritable {
                    root: location.to_string(),
                    message: e.to_string(),
                })?;
                // Cleanup removes the folders a deleted staging file leaves empty.
                let fs = LocalFileSystem::new_with_prefix(path)
                    .map_err(|e| SinkError::Unwritable {
                        root: location.to_string(),
                        message: e.to_string(),
                    })?
                    .with_automatic_cleanup(true);
                Arc::new(fs)
            }
            LakeLocation::S3 { bucket, prefix } => {
                // The AWS_* environment first (credentials, AWS_ENDPOINT, AWS_ALLOW_HTTP, …), then
                // what the config file says on top.
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if s3.allow_http {
                    b = b.with_allow_http(true);
                }
                if let Some(e) = &s3.endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_virtual_hosted_style_request(s3.virtual_hosted_style);
                }
                if let Some(r) = &s3.region {
                    b = b.with_region(r);
                }
                let s3store = b
                    .build()
                    .map_err(|e| SinkError::Location(format!("{location}: {e}")))?;
                if prefix.is_empty() {
                    Arc::new(s3store)
                } else {
                    Arc::new(PrefixStore::new(s3store, key(prefix.split('/'))))
                }
            }
        };
        Ok(Lake {
            store,
            location: location.clone(),
        })
    }

    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    fn err(&self, path: &Path, source: object_store::Error) -> SinkError {
        SinkError::Store {
            root: self.location.to_string(),
            path: path.to_string(),
            source,
        }
    }

    /// Writes and deletes a probe object, so an unwritable root fails before any API call.
    pub async fn probe(&self, run_id: &str) -> Result<(), SinkError> {
        let p = key(["_jclake", &format!(".probe-{run_id}")]);
        let unwritable = |e: object_store::Error| SinkError::Unwritable {
            root: self.location.to_string(),
            message: e.to_string(),
        };
        self.store
            .put(&p, PutPayload::from_static(b"probe"))
            .await
            .map_err(unwritable)?;
        self.store.delete(&p).await.map_err(unwritable)?;
        Ok(())
    }

    /// One atomic object write.
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.store
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.err(path, e))
    }

    pub async fn get(&self, path: &Path) -> Result<Option<bytes::Bytes>, SinkError> {
        match self.store.get(path).await {
            Ok(r) => r.bytes().await.map(Some).map_err(|e| self.err(path, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(path, e)),
        }
    }

    /// Every object below `prefix`.
    pub async fn list(&self, prefix: &Path) -> Result<Vec<object_store::ObjectMeta>, SinkError> {
        self.store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|e| self.err(prefix, e))
    }

    pub async fn delete(&self, path: &Path) -> Result<(), SinkError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(path, e)),
        }
    }

    /// A conditional write (`PutMode::Create` / `Update`); the raw store error is returned so
    /// that callers can tell "already exists" and "changed meanwhile" from failures.
    pub async fn put_mode(
        &self,
        path: &Path,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<PutResult, object_store::Error> {
        self.store
            .put_opts(
                path,
                PutPayload::from(bytes),
                PutOptions {
                    mode,
                    ..PutOptions::default()
                },
            )
            .await
    }

    /// An object's bytes with the version to make a conditional update against.
    pub async fn get_versioned(
        &self,
        path: &Path,
    ) -> Result<Option<(bytes::Bytes, UpdateVersion)>, SinkError> {
        match self.store.get(path).await {
            Ok(r) => {
                let version = UpdateVersion {
                    e_tag: r.meta.e_tag.clone(),
                    version: r.meta.version.clone(),
                };
                let b = r.bytes().await.map_err(|e| self.err(path, e))?;
                Ok(Some((b, version)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(path, e)),
        }
    }

    pub async fn exists(&self, path: &Path) -> Result<bool, SinkError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(path, e)),
        }
    }

    /// The immediate sub-folders of `prefix` (their last part).
    pub async fn folders(&self, prefix: &Path) -> Result<Vec<String>, SinkError> {
        let listing = self
            .store
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(|e| self.err(prefix, e))?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect())
    }

    pub fn error(&self, path: &Path, source: object_store::Error) -> SinkError {
        self.err(path, source)
    }

    /// Removes a folder tree that holds no more objects. Object stores have no folders; on
    /// local disk a rename leaves its empty source folders behind.
    pub fn remove_empty_folders(&self, parts: &[String]) {
        if let LakeLocation::Local(root) = &self.location {
            let dir = parts.iter().fold(root.clone(), |p, part| p.join(part));
            remove_empty(&dir);
        }
    }

    /// Removes a whole folder of a local lake, in-progress upload files included (the local
    /// store writes a multipart upload to `<name>#<n>` beside its target and does not list
    /// it). Only for a dead run's staging, under the lock.
    pub fn remove_local_tree(&self, parts: &[String]) {
        if let LakeLocation::Local(root) = &self.location {
            if parts.is_empty() {
                return;
            }
            let dir = parts.iter().fold(root.clone(), |p, part| p.join(part));
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Moves a staged object into place; on S3 a server-side copy, then a delete.
    pub async fn rename(&self, from: &Path, to: &Path) -> Result<(), SinkError> {
        self.store
            .rename(from, to)
            .await
            .map_err(|e| self.err(to, e))
    }
}

fn remove_empty(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_empty(&e.path());
            }
        }
    }
    // Fails, as it should, on a folder that still holds a file.
    let _ = std::fs::remove_dir(dir);
}
