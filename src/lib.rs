//! jclake exports a whole JumpCloud organization into a Hive-partitioned Parquet lake.
//!
//! Data flows `source` (HTTP, auth, pagination) → `decode` (JSON to Arrow) → `sink`
//! (Parquet over object_store) → `manifest` (runs, state, commit); `export` runs one export
//! through them; `change` plans and applies writes back to the org (users, groups,
//! memberships) from a desired state. `model` at the bottom holds the shared types and on-disk formats;
//! `catalog` declares the JumpCloud resources; `config` and `cli` face the user. The
//! simulator is the separate `jclake-sim` crate. See ARCHITECTURE.md.

pub mod catalog;
pub mod change;
pub mod cli;
pub mod config;
pub mod decode;
pub mod export;
pub mod manifest;
pub mod model;
pub mod sink;
pub mod source;
