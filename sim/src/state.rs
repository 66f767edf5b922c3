//! The simulator's state: the generated tenants, the fault knobs, the per-key token
//! buckets and bearer tokens, and the counters tests read (among them `fdekey_requests`).
//! Handlers (`v1v2`, `insights`, `collections`, `writes`) and the front (`server`) share it;
//! it imports neither. Writes change the primary tenants at once; with `write_lag_ms` the
//! read routes meanwhile see a lagged copy ([`SimState::view`]) that each queued write
//! reaches once it is due, while writes and the `SimHandle` accessors see the primary.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use crate::data::{Mutation, MutationReport, Tenant, Write};
use crate::SimConfig;

/// Fault and realism knobs; every rate is a probability per request in `[0, 1]`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Faults {
    /// Requests per minute per key (or bearer token); above it, 429.
    pub rate_limit_rpm: Option<u32>,
    /// Send `Retry-After` on rate-limit 429s (the reference: "when present").
    pub retry_after: bool,
    /// Added to every API response.
    pub latency_ms: u64,
    /// 500/502/503/504, some with an HTML gateway body.
    pub error_rate: f64,
    /// The connection is closed with no response.
    pub reset_rate: f64,
    /// The body stops half-way, short of its `Content-Length`.
    pub truncate_rate: f64,
    /// 429 regardless of the rate limit (bursts of throttling).
    pub throttle_rate: f64,
    /// Every API request from this number on (1-based, counted since start) is reset:
    /// "the connection drops at page N".
    pub reset_from_request: Option<u64>,
    /// Read-after-write lag: for this long after a write, every read route answers as
    /// before it (writes themselves validate against the latest state).
    pub write_lag_ms: u64,
    /// Write requests (POST/PUT/DELETE under `/api/`) that are carried out and then answered
    /// with a gateway 502.
    pub applied_then_502_rate: f64,
    /// … carried out and then answered by resetting the connection.
    pub applied_then_reset_rate: f64,
    /// The status of "User already exists": 400 (the service's ErrorDetails body) or 409
    /// (`{"message": …}`, as a public client mocks it).
    pub duplicate_user_status: u16,
    /// The state of users created without one (the org's
    /// `newSystemUserStateDefaults.manualEntry`): `STAGED`, `ACTIVATED` or `SUSPENDED`.
    pub new_user_state: String,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_limit_rpm: None,
            retry_after: false,
            latency_ms: 0,
            error_rate: 0.0,
            reset_rate: 0.0,
            truncate_rate: 0.0,
            throttle_rate: 0.0,
            reset_from_request: None,
            write_lag_ms: 0,
            applied_then_502_rate: 0.0,
            applied_then_reset_rate: 0.0,
            duplicate_user_status: 400,
            new_user_state: "STAGED".into(),
        }
    }
}

/// What the simulator has seen, for tests and benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SimStats {
    pub requests: u64,
    pub throttled: u64,
    pub injected_errors: u64,
    pub resets: u64,
    pub truncated: u64,
    pub tokens_issued: u64,
    /// Requests to `/api/v2/systems/{id}/fdekey` (a secret the exporter must never ask for).
    pub fdekey_requests: u64,
    /// Users created by `POST /api/systemusers`.
    pub user_creates: u64,
    /// `POST /api/systemusers` requests, whatever their answer (counted at the front).
    pub user_create_requests: u64,
    /// Users changed by `PUT /api/systemusers/{id}`.
    pub user_updates: u64,
    /// Users removed by `DELETE /api/systemusers/{id}`.
    pub user_deletes: u64,
    /// Groups created by `POST /api/v2/usergroups`.
    pub group_creates: u64,
    /// Members added and removed through `POST /api/v2/{user,system}groups/{id}/members`.
    pub member_adds: u64,
    pub member_removes: u64,
    /// Write requests carried out and then answered 502 (`applied_then_502_rate`).
    pub writes_then_502: u64,
    /// … and then reset (`applied_then_reset_rate`).
    pub writes_then_reset: u64,
}

/// The read routes' copy of the tenants while writes are lagging, and the writes not yet
/// applied to it, in the order they were made.
pub(crate) struct Lagged {
    copy: Vec<Tenant>,
    queue: VecDeque<Pending>,
}

struct Pending {
    due: Instant,
    org: usize,
    write: Write,
}

/// The tenants as the read routes see them: the lagged copy while there is one, else the
/// primary. Holds the primary's read lock throughout, so no write lands in between.
pub(crate) struct View<'a> {
    primary: RwLockReadGuard<'a, Vec<Tenant>>,
    lagged: RwLockReadGuard<'a, Option<Lagged>>,
}

impl std::ops::Deref for View<'_> {
    type Target = Vec<Tenant>;

    fn deref(&self) -> &Vec<Tenant> {
        match &*self.lagged {
            Some(l) => &l.copy,
            None => &self.primary,
        }
    }
}

pub(crate) struct Bucket {
    pub(crate) tokens: f64,
    last: Instant,
}

pub(crate) struct SimState {
    pub config: SimConfig,
    /// The primary (latest) tenants. Lock order: `tenants` before `lagged`.
    pub tenants: RwLock<Vec<Tenant>>,
    /// Present while some write is not yet visible to the read routes.
    pub(crate) lagged: RwLock<Option<Lagged>>,
    /// Ids of written objects: its own stream, so fault rolls stay as they were.
    pub(crate) write_rng: Mutex<fastrand::Rng>,
    pub(crate) faults: RwLock<Faults>,
    pub(crate) rng: Mutex<fastrand::Rng>,
    pub(crate) buckets: Mutex<HashMap<String, Bucket>>,
    /// bearer token → expiry.
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) requests: AtomicU64,
    pub(crate) stats: Mutex<SimStats>,
    pub query_nonce: AtomicU64,
}

/// Who a request is from, once authenticated: the tenants (org indices) it may read.
pub(crate) struct Caller {
    pub orgs: Vec<usize>,
}

impl SimState {
    pub fn new(config: SimConfig) -> SimState {
        let now = config.now.unwrap_or_else(Utc::now);
        let tenants = (0..config.orgs.max(1))
            .map(|i| Tenant::generate(i, config.seed, &config.size, config.drift.clone(), now))
            .collect();
        SimState {
            faults: RwLock::new(config.faults.clone()),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed.wrapping_add(7))),
            tenants: RwLock::new(tenants),
            lagged: RwLock::new(None),
            write_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x5772_17E5)),
            buckets: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            stats: Mutex::new(SimStats::default()),
            query_nonce: AtomicU64::new(1),
            config,
        }
    }

    pub fn org_ids(&self) -> Vec<String> {
        read(&self.tenants)
            .iter()
            .map(|t| t.org_id.clone())
            .collect()
    }

    pub fn ids(&self, org: usize, collection: &str) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.collections.get(collection))
            .map(|c| {
                c.iter()
                    .map(|v| crate::data::id_of(v).to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn records(&self, org: usize, collection: &str) -> Vec<Value> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.collections.get(collection))
            .cloned()
            .unwrap_or_default()
    }

    pub fn event_ids(&self, org: usize) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .map(|t| {
                t.events
                    .iter()
                    .filter_map(|e| e.body.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn members(&self, org: usize, group_id: &str) -> Vec<(String, String)> {
        read(&self.tenants)
            .get(org)
            .and_then(|t| t.members.get(group_id))
            .map(|m| {
                m.iter()
                    .map(|(k, id)| (k.to_string(), id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn associations(
        &self,
        org: usize,
        kind: &'static str,
        id: &str,
        target: &str,
    ) -> Vec<String> {
        read(&self.tenants)
            .get(org)
            .map(|t| {
                t.associations(kind, id, target)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn edges(&self, org: usize) -> Vec<(String, String, String, String, Value)> {
        read(&self.tenants)
            .get(org)
            .map(|t| {
                t.edges
                    .iter()
                    .map(|e| {
                        let (a, b) = (&e.a, &e.b);
                        (
                            a.0.into(),
                            a.1.clone(),
                            b.0.into(),
                            b.1.clone(),
                            e.attributes.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn mutate(&self, org: usize, m: &Mutation) -> MutationReport {
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let report = match tenants.get_mut(org) {
            Some(t) => t.mutate(m, Utc::now()),
            None => MutationReport::default(),
        };
        // A mutation draws from the tenant's rng and cannot be replayed on the copy: reads
        // see the primary from here on (pending writes included).
        *write(&self.lagged) = None;
        report
    }

    /// The tenants for a read route: first every due write is applied to the lagged copy
    /// (and the copy dropped once nothing is pending), then the copy or the primary.
    pub(crate) fn view(&self) -> View<'_> {
        let primary = read(&self.tenants);
        let now = Instant::now();
        let due = |l: &Option<Lagged>| {
            l.as_ref()
                .is_some_and(|l| l.queue.front().is_none_or(|p| p.due <= now))
        };
        if due(&read(&self.lagged)) {
            let mut lagged = write(&self.lagged);
            if let Some(l) = lagged.as_mut() {
                while l.queue.front().is_some_and(|p| p.due <= now) {
                    if let Some(p) = l.queue.pop_front() {
                        if let Some(t) = l.copy.get_mut(p.org) {
                            t.apply(&p.write);
                        }
                    }
                }
                if l.queue.is_empty() {
                    *lagged = None;
                }
            }
        }
        View {
            primary,
            lagged: read(&self.lagged),
        }
    }

    /// Applies `w` to org `org` of the primary `tenants` (the caller holds their write
    /// lock); with a lag, or writes still pending, it also queues `w` for the read copy,
    /// made from the primary as it was before this write if there is none yet.
    pub(crate) fn commit(&self, tenants: &mut [Tenant], org: usize, w: Write, lag_ms: u64) {
        let mut lagged = write(&self.lagged);
        if lag_ms > 0 || lagged.is_some() {
            let l = lagged.get_or_insert_with(|| Lagged {
                copy: tenants.iter().map(Tenant::clone).collect(),
                queue: VecDeque::new(),
            });
            if let Some(t) = tenants.get_mut(org) {
                t.apply(&w);
            }
            l.queue.push_back(Pending {
                // Capped (at ~49 days) so that no knob value overflows an `Instant`.
                due: Instant::now() + Duration::from_millis(lag_ms.min(u32::MAX.into())),
                org,
                write: w,
            });
        } else if let Some(t) = tenants.get_mut(org) {
            t.apply(&w);
        }
    }

    pub fn set_faults(&self, f: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub fn stats(&self) -> SimStats {
        let mut s = lock(&self.stats).clone();
        s.requests = self.requests.load(Ordering::Relaxed);
        s
    }

    pub(crate) fn roll(&self, p: f64) -> bool {
        p > 0.0 && lock(&self.rng).f64() < p
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub(crate) fn take_token(&self, key: &str, rpm: u32) -> Result<(), Duration> {
        let rate = rpm.max(1) as f64 / 60.0;
        let burst = rate.max(1.0);
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
