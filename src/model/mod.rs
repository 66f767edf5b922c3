//! The bottom layer: names, types and on-disk formats every stage shares, and nothing
//! else. Partitions and the lake layout (`partition`), the run manifest (`run`) and the
//! state file (`state`) with their format versions, table schemas (`schema`), a page of raw
//! JSON records as it passes from source to decoder (`page`), exit codes and crash
//! points. It imports no other module of the crate.

pub mod batch;
pub mod hooks;
pub mod page;
pub mod partition;
pub mod run;
pub mod schema;
pub mod state;

pub use page::RawPage;
pub use partition::{DateKey, Layout, Partition, EVENTS};
pub use run::{
    FileEntry, RequestCounts, RunManifest, RunOutcome, SourceInfo, TableOutcome, TableRun,
    RUN_MANIFEST_VERSION,
};
pub use schema::{Column, ColumnType, SchemaError, TableSchema, RESCUED};
pub use state::{EventsState, HistoryCursor, HistoryMark, State, TableState, STATE_VERSION};

/// The lake's own folder, beside the tables: manifests, state, schemas, lock, staging.
pub const META_DIR: &str = "_jclake";

/// Process exit codes: 0 ok, 2 usage or config, 3 key rejected, 4 host unreachable, 5 lake
/// not writable, 6 API or data failure (some tables failed), 7 another run holds the lake's
/// lock, 8 `verify` found mismatches, 9 `apply`: some actions failed, 10 `plan`: the plan
/// has changes (not an error: `terraform plan -detailed-exitcode` style), 11 `apply`
/// refused: objects changed since the plan, 12 `apply` refused by a guard
/// (`--max-changes`, `--allow-delete`).
pub mod exit {
    pub const CONFIG: u8 = 2;
    pub const CREDENTIALS: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
    pub const LAKE: u8 = 5;
    pub const PARTIAL: u8 = 6;
    pub const LOCKED: u8 = 7;
    pub const MISMATCH: u8 = 8;
    pub const ACTIONS_FAILED: u8 = 9;
    pub const CHANGES: u8 = 10;
    pub const STALE_PLAN: u8 = 11;
    pub const GUARD: u8 = 12;
}

/// A stable 64-bit digest (FNV-1a) as 16 hex digits: the same on every build and machine,
/// for fingerprints written to disk.
pub fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
