//! `SnapshotWriter`: one partition's record batches as zstd Parquet files in staging,
//! rolled every `file_rows` rows, each file in one schema.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{key, Lake, SinkError, WriteOptions};
use crate::model::batch::conform;

/// A Parquet file written to staging, waiting to be published.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub staged: Path,
    pub target: Path,
    pub rows: u64,
    pub bytes: u64,
}

/// Writes one table partition as Parquet files in staging, rolling to a new file every
/// `file_rows` rows. The first row group waits in memory until it is full, so a column
/// discovered in it still makes the first file; a schema that widens after a file is open
/// closes that file and opens the next with the wider schema. Memory: one row group, which
/// ends at `row_group_rows` rows or `row_group_bytes` bytes, whichever comes first, and
/// an upload buffer of at most `UPLOAD_PART` bytes times `UPLOAD_PARTS`.
pub struct SnapshotWriter {
    lake: Lake,
    schema: SchemaRef,
    props: WriterProperties,
    file_rows: usize,
    row_group_rows: usize,
    row_group_bytes: usize,
    staging: Vec<String>,
    target: Vec<String>,
    writer: Option<OpenFile>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    files: Vec<StagedFile>,
}

/// The upload buffer: a file this small is one PUT; a larger one goes up in parts of this
/// size (S3's smallest part), at most `UPLOAD_PARTS` at once.
const UPLOAD_PART: usize = 5 << 20;
const UPLOAD_PARTS: usize = 2;

struct OpenFile {
    writer: AsyncArrowWriter<BufWriter>,
    schema: SchemaRef,
    staged: Path,
    target: Path,
    rows: u64,
}

impl SnapshotWriter {
    /// `schema` is the schema of an empty table; `staging` and `target` are the folder
    /// parts below the lake root.
    pub fn new(
        lake: &Lake,
        schema: SchemaRef,
        opts: &WriteOptions,
        staging: Vec<String>,
        target: Vec<String>,
    ) -> SnapshotWriter {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(opts.zstd_level).unwrap_or_default(),
            ))
            .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
            .set_created_by(concat!("jclake ", env!("CARGO_PKG_VERSION")).to_string())
            .build();
        SnapshotWriter {
            lake: lake.clone(),
            schema,
            props,
            file_rows: opts.file_rows.max(1),
            row_group_rows: opts.row_group_rows.max(1),
            row_group_bytes: opts.row_group_bytes.max(1),
            staging,
            target,
            writer: None,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            files: Vec::new(),
        }
    }

    fn parquet_err(&self, path: &Path, source: parquet::errors::ParquetError) -> SinkError {
        SinkError::Parquet {
            root: self.lake.location.to_string(),
            path: path.to_string(),
            source,
        }
    }

    fn open(&mut self, schema: SchemaRef) -> Result<(), SinkError> {
        let name = format!("part-{:05}.parquet", self.files.len());
        let staged = key(self
            .staging
            .iter()
            .map(String::as_str)
            .chain([name.as_str()]));
        let target = key(self
            .target
            .iter()
            .map(String::as_str)
            .chain([name.as_str()]));
        let upload = BufWriter::with_capacity(self.lake.store(), staged.clone(), UPLOAD_PART)
            .with_max_concurrency(UPLOAD_PARTS);
        let writer = AsyncArrowWriter::try_new(upload, schema.clone(), Some(self.props.clone()))
            .map_err(|e| self.parquet_err(&staged, e))?;
        self.writer = Some(OpenFile {
            writer,
            schema,
            staged,
            target,
            rows: 0,
        });
        Ok(())
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.schema = batch.schema();
        if let Some(open) = &self.writer {
            if open.schema != batch.schema() {
                self.close_file().await?;
            }
        }
        if self.writer.is_none() && self.files.is_empty() {
            self.pending.push(batch.clone());
            self.pending_rows += batch.num_rows();
            self.pending_bytes += batch.get_array_memory_size();
            if self.pending_rows >= self.row_group_rows
                || self.pending_bytes >= self.row_group_bytes
            {
                self.drain_pending().await?;
            }
            return Ok(());
        }
        self.write_rows(batch).await
    }

    /// Writes the waiting batches, widened to the latest schema.
    async fn drain_pending(&mut self) -> Result<(), SinkError> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.pending_bytes = 0;
        for b in pending {
            let wide = conform(&b, &self.schema).map_err(|e| {
                self.parquet_err(
                    &key(self.staging.iter()),
                    parquet::errors::ParquetError::ArrowError(e.to_string()),
                )
            })?;
            self.write_rows(&wide).await?;
        }
        Ok(())
    }

    async fn write_rows(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.writer.is_none() {
                self.open(batch.schema())?;
            }
            let Some(open) = self.writer.as_mut() else {
                break;
            };
            let room = (self.file_rows as u64 - open.rows) as usize;
            let n = room.min(batch.num_rows() - offset);
            if let Err(e) = open.writer.write(&batch.slice(offset, n)).await {
                let staged = open.staged.clone();
                return Err(self.parquet_err(&staged, e));
            }
            open.rows += n as u64;
            offset += n;
            if open.rows >= self.file_rows as u64 {
                self.close_file().await?;
            } else if open.writer.memory_size() >= self.row_group_bytes {
                // The row group is cut here, at its share of the memory budget.
                if let Err(e) = open.writer.flush().await {
                    let staged = open.staged.clone();
                    return Err(self.parquet_err(&staged, e));
                }
            }
        }
        Ok(())
    }

    async fn close_file(&mut self) -> Result<(), SinkError> {
        if let Some(open) = self.writer.take() {
            let bytes = open.writer.bytes_written() as u64;
            let meta = open
                .writer
                .close()
                .await
                .map_err(|e| self.parquet_err(&open.staged, e))?;
            let rows = meta.file_metadata().num_rows() as u64;
            debug_assert_eq!(rows, open.rows);
            self.files.push(StagedFile {
                staged: open.staged,
                target: open.target,
                rows,
                bytes,
            });
        }
        Ok(())
    }

    /// Whether no row has been written (nothing is in staging then).
    pub fn is_empty(&self) -> bool {
        self.pending_rows == 0 && self.writer.is_none() && self.files.is_empty()
    }

    /// Closes the last file. A table with no rows still gets one empty file, so that the
    /// partition exists and readers see the table's schema.
    pub async fn finish(mut self) -> Result<Vec<StagedFile>, SinkError> {
        self.drain_pending().await?;
        if self.writer.is_none() && self.files.is_empty() {
            self.open(self.schema.clone())?;
        }
        self.close_file().await?;
        // `bytes_written` counts what the encoder produced; the store's size is the truth.
        for f in &mut self.files {
            if let Ok(meta) = self.lake.store.head(&f.staged).await {
                f.bytes = meta.size;
            }
        }
        Ok(std::mem::take(&mut self.files))
    }
}

impl Drop for SnapshotWriter {
    /// A writer dropped with a file open belongs to a table that failed: its upload is
    /// aborted, so an error leaves no incomplete multipart upload in the bucket (a killed
    /// process cannot do this; README suggests a lifecycle rule for that case).
    fn drop(&mut self) {
        let Some(open) = self.writer.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut upload = open.writer.into_inner();
                if let Err(e) = upload.abort().await {
                    tracing::debug!(file = %open.staged, error = %e, "cannot abort an upload");
                }
            });
        }
    }
}
