//! Helpers shared by the integration tests: walking a local lake and reading its Parquet
//! files back as JSON rows.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

/// Every file below `dir`, depth first.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every Parquet file below `dir`, sorted.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    out
}

/// The record batches of some Parquet files, in order.
pub fn read_batches(files: &[PathBuf]) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for f in files {
        let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet footer")
            .build()
            .expect("reader");
        out.extend(reader.map(|b| b.expect("batch")));
    }
    out
}

/// A batch as JSON objects, one per row (timestamps as `+00:00` strings: arrow's JSON
/// writer has no time-zone database).
pub fn json_rows(batch: &RecordBatch) -> Vec<Value> {
    let offset = Arc::new(jclake::decode::offset_utc(&batch.schema()));
    let b = jclake::decode::conform(batch, &offset).expect("relabel time zone");
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    w.write(&b).expect("to json");
    w.finish().expect("finish");
    let rows: Vec<Value> = serde_json::from_slice(&w.into_inner()).expect("json rows");
    rows
}
