//! One run at a time per lake: `_jclake/lock.json`, created with a conditional put
//! (`If-None-Match: *` on S3, an exclusive create on disk). It names its run, host and pid
//! and carries an expiry that a heartbeat pushes forward while the run lives. A lock past
//! its expiry, or held by a process of this host that no longer exists, is taken over
//! (with `If-Match`, or on disk after an exclusive claim on that very lock), so a killed run
//! never blocks the next, and of several runs racing for a dead lock one wins.

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
    /// The holder's start time (`/proc/<pid>/stat`, clock ticks since boot), so that
    /// another process that later gets the same pid is not taken for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// The holder's pid namespace (`/proc/self/ns/pid`): containers may share a host name
    /// but not their pids, and a pid means something only in its own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<String>,
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

/// State and start time of a process of this host, from `/proc/<pid>/stat`; `None` when
/// there is no such process.
fn process_stat(pid: u32) -> Option<(char, Option<u64>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so fields are
    // counted from the last `)`. The start time is field 22, the 20th after comm.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18).and_then(|f| f.parse().ok());
    Some((state, start))
}

/// This process's pid namespace, e.g. `pid:[4026531836]`.
fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.display().to_string())
}

/// A holder is dead when its expiry has passed, or when it ran on this host, in this pid
/// namespace, and its process is gone: no such pid, a zombie (killed, not yet reaped by its
/// parent), or a process that started at another time and so merely reuses the pid.
fn is_dead(b: &LockBody, now: DateTime<Utc>) -> bool {
    if b.expires_at <= now {
        return true;
    }
    let same_namespace = b.pid_ns.is_none() || b.pid_ns == pid_namespace();
    if !cfg!(target_os = "linux")
        || b.host != host()
        || !same_namespace
        || b.pid == std::process::id()
    {
        return false;
    }
    match process_stat(b.pid) {
        None => true,
        Some(('Z' | 'X' | 'x', _)) => true,
        Some((_, start)) => b.pid_start.is_some() && start.is_some() && b.pid_start != start,
    }
}

fn body(run_id: &str, ttl: Duration) -> LockBody {
    let now = Utc::now();
    LockBody {
        run_id: run_id.into(),
        host: host(),
        pid: std::process::id(),
        pid_start: process_stat(std::process::id()).and_then(|(_, start)| start),
        pid_ns: pid_namespace(),
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
            claim_and_delete(lake, version).await?;
            Ok(None)
        }
        Err(e) => Err(lake.error(&path, e).into()),
    }
}

/// Claims on dead locks, on stores without compare-and-swap.
const TAKEN_DIR: &str = "lock-taken";

/// A claim this old belongs to a run that died between claiming and deleting (which takes
/// milliseconds): the next run makes the next claim.
const CLAIM_GRACE: Duration = Duration::from_secs(30);

/// Compare-and-swap for the local filesystem, which has none. Of the runs that saw the dead
/// lock with e-tag E (inode, modification time, size), the one that creates the claim
/// `_jclake/lock-taken/E-0` exclusively deletes the lock, if it still has that tag; the
/// others look again shortly. The claim stays, so a slower run that saw the same dead lock
/// cannot claim it later and delete the winner's fresh lock. A stale claim (its run died
/// before deleting) is followed by `E-1`, and so on.
async fn claim_and_delete(lake: &Lake, dead: UpdateVersion) -> Result<(), ManifestError> {
    let path = lock_path();
    let Some(tag) = dead.e_tag else {
        lake.delete(&path).await?;
        return Ok(());
    };
    for n in 0..16 {
        let claim = key([META_DIR, TAKEN_DIR, &format!("{tag}-{n}")]);
        match lake.put_mode(&claim, Vec::new(), PutMode::Create).await {
            Ok(_) => {
                let still_dead = match lake.store().head(&path).await {
                    Ok(meta) => meta.e_tag.as_deref() == Some(tag.as_str()),
                    Err(object_store::Error::NotFound { .. }) => false,
                    Err(e) => return Err(lake.error(&path, e).into()),
                };
                if still_dead {
                    lake.delete(&path).await?;
                }
                prune_claims(lake).await;
                return Ok(());
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                let age = match lake.store().head(&claim).await {
                    Ok(meta) => Utc::now()
                        .signed_duration_since(meta.last_modified)
                        .to_std()
                        .unwrap_or_default(),
                    Err(object_store::Error::NotFound { .. }) => return Ok(()),
                    Err(e) => return Err(lake.error(&claim, e).into()),
                };
                if age < CLAIM_GRACE {
                    // Another run holds this claim and is replacing the lock.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return Ok(());
                }
            }
            Err(e) => return Err(lake.error(&claim, e).into()),
        }
    }
    // Sixteen runs died mid-takeover of one lock: past any race worth guarding.
    lake.delete(&path).await?;
    Ok(())
}

/// Claims older than a day are of no use to any run still racing: deleted, best effort.
async fn prune_claims(lake: &Lake) {
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
            match hb_lake.get_versioned(&path).await {
                Ok(Some((bytes, _))) => {
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
                Ok(None) => {
                    tracing::error!("the lake lock was removed by another run");
                    break;
                }
                // A failed read: the conditional put below decides.
                Err(_) => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32, pid_start: Option<u64>) -> LockBody {
        let now = Utc::now();
        LockBody {
            run_id: "r".into(),
            host: host(),
            pid,
            pid_start,
            pid_ns: pid_namespace(),
            acquired_at: now,
            expires_at: now + chrono::Duration::minutes(10),
        }
    }

    #[test]
    fn a_zombie_or_a_reused_pid_is_a_dead_holder() {
        let now = Utc::now();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let start = process_stat(live.id()).and_then(|(_, s)| s);
        assert!(start.is_some());
        assert!(!is_dead(&holder(live.id(), start), now));
        // Written before pid_start existed: a live pid still counts as alive.
        assert!(!is_dead(&holder(live.id(), None), now));
        // The same pid with another start time is another process.
        assert!(is_dead(&holder(live.id(), start.map(|s| s + 1)), now));
        // Killed and not reaped: a zombie, which is dead.
        live.kill().expect("kill");
        let mut state = None;
        for _ in 0..100 {
            state = process_stat(live.id()).map(|(s, _)| s);
            if state == Some('Z') {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(state, Some('Z'));
        assert!(is_dead(&holder(live.id(), start), now));
        live.wait().expect("reap");
        assert!(is_dead(&holder(live.id(), start), now));
        // A holder in another pid namespace (a container with this host name): its pid
        // says nothing here, only its expiry counts.
        let mut elsewhere = holder(live.id(), start);
        elsewhere.pid_ns = Some("pid:[1]".into());
        assert!(!is_dead(&elsewhere, now));
        let mut expired = holder(std::process::id(), None);
        expired.expires_at = now - chrono::Duration::seconds(1);
        assert!(is_dead(&expired, now));
    }
}
