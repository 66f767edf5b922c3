//! jclake exports a whole JumpCloud organization into a Hive-partitioned Parquet lake.
//!
//! Data flows `source` (HTTP, auth, pagination) → `decode` (JSON to Arrow) → `sink`
//! (Parquet over object_store) → `manifest` (runs, state, commit); `export` runs one export
//! through them. `catalog` declares the JumpCloud resources, `cli` and `config` face the
//! user, `sim` is the simulator that the demo, the tests and the benchmarks run against.
//! See ARCHITECTURE.md.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod decode;
pub mod export;
pub mod manifest;
pub mod sim;
pub mod sink;
pub mod source;
