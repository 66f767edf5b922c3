//! Write-back: in comes a desired state (users and, optionally, group memberships, from
//! CSV, JSON Lines or Parquet); out go a plan of changes to the org (`plan`) and, from a
//! plan file, the writes that make them (`apply`), journalled in the lake under
//! `_jclake/apply/<plan>/` and audited in the `actions` table. It owns the desired-state
//! format (`desired`), the org's current state as a plan sees it (`live`), the plan file
//! (`plan`), and the write protocol: look before re-sending a write whose answer was lost,
//! count "already exists" and "not a member" as done, refuse a plan whose objects changed
//! (`apply`). It reads and writes through the source stage's one client and commits the
//! audit through export's staging pipeline.

pub mod apply;
pub mod desired;
pub mod live;
pub mod plan;

use crate::export::ExportError;
use crate::manifest::ManifestError;
use crate::model::exit;
use crate::sink::SinkError;
use crate::source::SourceError;

pub use apply::{apply, ApplyOptions, ApplyReport, Status};
pub use desired::MatchKey;
pub use plan::{DeleteScope, Plan, PlanOptions, PlanTarget};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("desired state {location}: {message}")]
    Desired { location: String, message: String },
    #[error("plan file {path}: {message}")]
    PlanFile { path: String, message: String },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("committing the actions table: {0}")]
    Audit(Box<ExportError>),
    #[error("plan {plan_id} is stale: {} object(s) changed since it was made ({}); nothing was written; make a new plan", conflicts.len(), conflicts.join("; "))]
    Stale {
        plan_id: String,
        conflicts: Vec<String>,
    },
    #[error("{0}")]
    Guard(String),
}

impl From<ExportError> for ChangeError {
    fn from(e: ExportError) -> Self {
        ChangeError::Audit(Box::new(e))
    }
}

impl ChangeError {
    /// The process exit code (`model::exit`).
    pub fn exit_code(&self) -> u8 {
        match self {
            ChangeError::Desired { .. } | ChangeError::PlanFile { .. } => exit::CONFIG,
            ChangeError::Source(
                SourceError::Unauthorized { .. }
                | SourceError::Forbidden { .. }
                | SourceError::BadKey,
            ) => exit::CREDENTIALS,
            ChangeError::Source(SourceError::Unreachable { .. }) => exit::UNREACHABLE,
            ChangeError::Source(_) => exit::PARTIAL,
            ChangeError::Manifest(ManifestError::Locked { .. }) => exit::LOCKED,
            ChangeError::Sink(_) | ChangeError::Manifest(_) => exit::LAKE,
            ChangeError::Audit(e) => e.exit_code(),
            ChangeError::Stale { .. } => exit::STALE_PLAN,
            ChangeError::Guard(_) => exit::GUARD,
        }
    }
}
