//! Crash points: places on the commit path where the crash tests kill a run with SIGKILL
//! (`JCLAKE_CRASH_AT=<name>`), to prove that the next run finishes or undoes its work.
//! Only a build with the `test-hooks` feature looks at the variable; in any other build
//! `crash_point` is empty and the names are not compiled in.

/// Every point at which a test may kill a run, in the order a run passes them.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "test-hooks", derive(Debug))]
pub enum CrashPoint {
    /// After a page of a snapshot table was fetched.
    MidDownload,
    /// After a snapshot table's files are staged.
    AfterStage,
    /// After an event day is committed.
    AfterEventsDay,
    /// Before the final commit's intent is written.
    BeforeCommit,
    /// After an intent is written, before any of it is applied.
    AfterIntent,
    /// After one partition of a commit is published.
    MidPublish,
    /// After every partition of a commit is published.
    AfterPublish,
    /// After the run manifest is written.
    AfterManifest,
    /// After `state.json` is written.
    AfterState,
}

#[cfg(feature = "test-hooks")]
impl CrashPoint {
    /// The environment variable naming the point to crash at.
    pub const ENV: &'static str = "JCLAKE_CRASH_AT";

    pub const ALL: [CrashPoint; 9] = [
        CrashPoint::MidDownload,
        CrashPoint::AfterStage,
        CrashPoint::AfterEventsDay,
        CrashPoint::BeforeCommit,
        CrashPoint::AfterIntent,
        CrashPoint::MidPublish,
        CrashPoint::AfterPublish,
        CrashPoint::AfterManifest,
        CrashPoint::AfterState,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::MidDownload => "mid-download",
            CrashPoint::AfterStage => "after-stage",
            CrashPoint::AfterEventsDay => "after-events-day",
            CrashPoint::BeforeCommit => "before-commit",
            CrashPoint::AfterIntent => "after-intent",
            CrashPoint::MidPublish => "mid-publish",
            CrashPoint::AfterPublish => "after-publish",
            CrashPoint::AfterManifest => "after-manifest",
            CrashPoint::AfterState => "after-state",
        }
    }
}

/// Kills this process with SIGKILL if a test asked for it at `point`; otherwise nothing.
#[inline]
pub fn crash_point(point: CrashPoint) {
    #[cfg(feature = "test-hooks")]
    if std::env::var(CrashPoint::ENV).is_ok_and(|p| p == point.name()) {
        tracing::warn!(point = point.name(), "crash point: killing this process");
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
        std::process::abort();
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = point;
}
