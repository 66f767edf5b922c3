//! The simulator's state: the generated tenants, the fault knobs, the per-key token
//! buckets and bearer tokens, and the counters tests read (among them `fdekey_requests`).
//! Handlers (`v1v2`, `insights`, `collections`) and the front (`server`) share it; it
//! imports neither.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use crate::data::{Mutation, MutationReport, Tenant};
use crate::SimConfig;

/// Fault and realism knobs; every rate is a probability per request in `[0, 1]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
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
}

pub(crate) struct Bucket {
    pub(crate) tokens: f64,
    last: Instant,
}

pub(crate) struct SimState {
    pub config: SimConfig,
    pub tenants: RwLock<Vec<Tenant>>,
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
        match tenants.get_mut(org) {
            Some(t) => t.mutate(m, Utc::now()),
            None => MutationReport::default(),
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

pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
