//! One run at a time per lake: `_jclake/lock.json`, created with a conditional put
//! (`If-None-Match: *` on S3, an exclusive create on disk). It names its run, host and pid
//! and carries an expiry that a heartbeat pushes forward while the run lives. A lock past
//! its expiry, or held by a process of this host that no longer exists, is taken over
//! (with `If-Match`, or on disk by setting the dead lock aside under a name of its own), so a
//! killed run never blocks the next, and of several runs racing for a dead lock one wins.

use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::{ManifestError, META_DIR};
use crate::sink::{key, Lake};

/// What the lock object says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockBody {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A held lock; release it with [`LakeLock::release`].
pub struct LakeLock {
    lake: Lake,
    run_id: String,
    heartbeat: JoinHandle<()>,
}

fn lock_path() -> Path {
    key([META_DIR, "lock.json"])
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// A holder is dead when its expiry has passed, or when it ran on this host and its
/// process is gone.
fn is_dead(b: &LockBody, now: DateTime<Utc>) -> bool {
    if b.expires_at <= now {
        return true;
    }
    cfg!(target_os = "linux")
        && b.host == host()
        && b.pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{}", b.pid)).exists()
}

fn body(run_id: &str, ttl: Duration) -> LockBody {
    let now = Utc::now();
    LockBody {
        run_id: run_id.into(),
        host: host(),
        pid: std::process::id(),
        acquired_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10)),
    }
}

fn to_bytes(b: &LockBody) -> Vec<u8> {
    serde_json::to_vec_pretty(b).unwrap_or_default()
}

/// Takes the lake's lock for `run_id`, waiting up to `wait` for a live holder to finish.
pub async fn acquire(
    lake: &Lake,
    run_id: &str,
    ttl: Duration,
    wait: Option<Duration>,
) -> Result<LakeLock, ManifestError> {
    let path = lock_path();
    let deadline = wait.map(|w| tokio::time::Instant::now() + w);
    loop {
        match lake
            .put_mode(&path, to_bytes(&body(run_id, ttl)), PutMode::Create)
            .await
        {
            Ok(r) => return Ok(held(lake, run_id, ttl, r.e_tag, r.version)),
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(lake.error(&path, e).into()),
        }
        let Some((bytes, version)) = lake.get_versioned(&path).await? else {
            continue;
        };
        let holder: Option<LockBody> = serde_json::from_slice(&bytes).ok();
        match holder {
            Some(h) if !is_dead(&h, Utc::now()) => {
                if deadline.is_some_and(|d| tokio::time::Instant::now() < d) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                return Err(ManifestError::Locked {
                    run_id: h.run_id,
                    host: h.host,
                    pid: h.pid,
                    since: h.acquired_at,
                    until: h.expires_at,
                });
            }
            dead => {
                if let Some(h) = &dead {
                    tracing::warn!(run = %h.run_id, host = %h.host, pid = h.pid, "taking over the lock of a dead run");
                }
                if let Some(taken) = take_over(lake, run_id, ttl, version).await? {
                    return Ok(taken);
                }
            }
        }
    }
}

/// Replaces a dead holder's lock; `None` when another run was faster.
async fn take_over(
    lake: &Lake,
    run_id: &str,
    ttl: Duration,
    version: UpdateVersion,
) -> Result<Option<LakeLock>, ManifestError> {
    let path = lock_path();
    match lake
        .put_mode(
            &path,
            to_bytes(&body(run_id, ttl)),
            PutMode::Update(version.clone()),
        )
        .await
    {
        Ok(r) => Ok(Some(held(lake, run_id, ttl, r.e_tag, r.version))),
        Err(object_store::Error::Precondition { .. }) => Ok(None),
        Err(object_store::Error::NotImplemented { .. }) => {
            set_aside(lake, version).await?;
            Ok(None)
        }
        Err(e) => Err(lake.error(&path, e).into()),
    }
}

/// Where dead locks are set aside on stores without compare-and-swap.
const TAKEN_DIR: &str = "lock-taken";

/// Compare-and-swap for the local filesystem, which has none. The dead lock is first linked
/// to a name of its own (its e-tag: inode, modification time, size); a link never replaces
/// a name, so of the runs that saw this very lock only one gets there, and since the name
/// stays, a slower run cannot later move the winner's fresh lock aside. The winner deletes
/// the dead lock; every run then goes back to the exclusive create.
async fn set_aside(lake: &Lake, dead: UpdateVersion) -> Result<(), ManifestError> {
    let path = lock_path();
    let Some(id) = dead.e_tag else {
        lake.delete(&path).await?;
        return Ok(());
    };
    let aside = key([META_DIR, TAKEN_DIR, &id]);
    match lake.store().copy_if_not_exists(&path, &aside).await {
        Ok(()) => {
            lake.delete(&path).await?;
            prune_set_aside(lake).await;
            Ok(())
        }
        // Another run set it aside first, or has already replaced it: look again shortly.
        Err(object_store::Error::AlreadyExists { .. } | object_store::Error::NotFound { .. }) => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(())
        }
        Err(e) => Err(lake.error(&aside, e).into()),
    }
}

/// Set-aside locks older than a day are of no use to any run still racing: deleted, best effort.
async fn prune_set_aside(lake: &Lake) {
    let cutoff = Utc::now() - chrono::Duration::days(1);
    if let Ok(old) = lake.list(&key([META_DIR, TAKEN_DIR])).await {
        for o in old.into_iter().filter(|o| o.last_modified < cutoff) {
            let _ = lake.delete(&o.location).await;
        }
    }
}

fn held(
    lake: &Lake,
    run_id: &str,
    ttl: Duration,
    e_tag: Option<String>,
    version: Option<String>,
) -> LakeLock {
    let (hb_lake, hb_run) = (lake.clone(), run_id.to_string());
    let heartbeat = tokio::spawn(async move {
        let mut current = UpdateVersion { e_tag, version };
        let path = lock_path();
        loop {
            tokio::time::sleep(ttl / 3).await;
            let mut b = body(&hb_run, ttl);
            if let Ok(Some((bytes, _))) = hb_lake.get_versioned(&path).await {
                if let Ok(old) = serde_json::from_slice::<LockBody>(&bytes) {
                    if old.run_id != hb_run {
                        // This run stalled past its expiry and was taken over: never
                        // overwrite the new holder's lock.
                        tracing::error!(holder = %old.run_id, "the lake lock was taken over by another run");
                        break;
                    }
                    b.acquired_at = old.acquired_at;
                }
            }
            match hb_lake
                .put_mode(&path, to_bytes(&b), PutMode::Update(current.clone()))
                .await
            {
                Ok(r) => {
                    current = UpdateVersion {
                        e_tag: r.e_tag,
                        version: r.version,
                    }
                }
                Err(object_store::Error::NotImplemented { .. }) => {
                    let _ = hb_lake.put(&path, to_bytes(&b)).await;
                }
                Err(e) => tracing::error!(error = %e, "cannot extend the lake lock"),
            }
        }
    });
    LakeLock {
        lake: lake.clone(),
        run_id: run_id.into(),
        heartbeat,
    }
}

impl LakeLock {
    /// Stops the heartbeat and deletes the lock if it is still this run's.
    pub async fn release(self) -> Result<(), ManifestError> {
        self.heartbeat.abort();
        let path = lock_path();
        if let Some((bytes, _)) = self.lake.get_versioned(&path).await? {
            let ours =
                serde_json::from_slice::<LockBody>(&bytes).is_ok_and(|b| b.run_id == self.run_id);
            if ours {
                self.lake.delete(&path).await?;
            }
        }
        Ok(())
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}
