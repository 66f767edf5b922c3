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
/// lock, 8 `verify` found mismatches.
pub mod exit {
    pub const CONFIG: u8 = 2;
    pub const CREDENTIALS: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
    pub const LAKE: u8 = 5;
    pub const PARTIAL: u8 = 6;
    pub const LOCKED: u8 = 7;
    pub const MISMATCH: u8 = 8;
}
