//! Deterministic org data for the simulator: in come a seed and sizes, out comes a `Tenant`
//! (every collection as JSON objects in `_id` order, the membership and association graph,
//! and the Directory Insights event log). Shapes follow `shared/jumpcloud-api.md`: optional
//! fields are sometimes absent and sometimes `null`, custom attribute names are free-form, and
//! every edge points at an object that exists. `bindings` adds, from a separate rng after
//! everything else, the association pair types the first pass leaves out. An event's stored
//! time (the order Directory Insights pages in) is the time it renders: whole seconds when
//! its timestamp is written without a fraction. `collections` adds, last and from its own
//! rng, the further read collections (admins, command and policy results, authn policies, IP
//! lists, software apps, the Apple MDM, push endpoints, recovery keys). `derived` holds what
//! the routes look up (objects by id, the groups holding an object, results per policy and
//! system, System Insights rows, sort orders), made on first use and dropped when the tenant
//! is generated, mutated or written. `writes` checks the write routes' requests against a
//! tenant and applies them (`Write`), replayable on a lagged copy.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

mod bindings;
pub(crate) mod collections;
mod derived;
mod mutate;
mod records;
pub mod sysinsights;
mod writes;

pub use mutate::{Mutation, MutationReport};
use records::*;
pub use writes::{Rejection, Write};

/// How many objects of each kind an org has, and the span of its event log.
#[derive(Debug, Clone)]
pub struct OrgSize {
    pub users: usize,
    pub systems: usize,
    pub user_groups: usize,
    pub system_groups: usize,
    pub applications: usize,
    pub commands: usize,
    pub radius_servers: usize,
    pub policies: usize,
    pub directories: usize,
    pub events: usize,
    /// Events are spread over the `event_days` days before `now`.
    pub event_days: u32,
}

impl Default for OrgSize {
    fn default() -> Self {
        OrgSize {
            users: 250,
            systems: 120,
            user_groups: 20,
            system_groups: 10,
            applications: 12,
            commands: 8,
            radius_servers: 2,
            policies: 15,
            directories: 3,
            events: 3000,
            event_days: 7,
        }
    }
}

/// Schema drift knobs: what changes in the shape of `systemusers` records.
#[derive(Debug, Clone, Default)]
pub struct Drift {
    /// Users from this index on carry a new top-level field `drift_new_field` and a new
    /// nested key `mfa.drift_nested`.
    pub field_after: Option<usize>,
    /// Every n-th user has `unix_uid` as a string and `employeeIdentifier` as a number.
    pub type_every: Option<usize>,
    /// Users carry `ssh_keys` as the API sends them: an empty list for most, one key
    /// object for every fifth. Orgs differ in shape as real ones do: in org 0 the first
    /// user has a key, in the others the first users have none.
    pub ssh_keys: bool,
}

/// One edge of the v2 graph, stored once and served from both ends.
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: (&'static str, String),
    pub b: (&'static str, String),
    pub attributes: Value,
}

/// All data of one organization. A clone starts with no derived views (they are remade).
#[derive(Debug, Default, Clone)]
pub struct Tenant {
    pub org_id: String,
    /// Its index among the simulator's orgs.
    pub org_no: usize,
    pub collections: HashMap<&'static str, Vec<Value>>,
    /// group id → direct members as (type, id), in insertion order.
    pub members: HashMap<String, Vec<(&'static str, String)>>,
    pub edges: Vec<Edge>,
    /// (type, id) → indices into `edges`.
    pub edge_index: HashMap<(&'static str, String), Vec<usize>>,
    /// Sorted by (timestamp ms, seq): the order Directory Insights pages in.
    pub events: Vec<StoredEvent>,
    pub next_event_seq: u64,
    pub next_user_no: usize,
    rng: Option<fastrand::Rng>,
    now: DateTime<Utc>,
    drift: Drift,
    /// What `collections` hangs below other objects (statuses, devices, push endpoints,
    /// recovery keys); its top-level lists are in `collections`.
    pub extras: collections::Extras,
    /// Indices and caches the routes read, made from the fields above on first use and
    /// dropped whenever they change (`derived`).
    pub(crate) derived: derived::Derived,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub ts_ms: i64,
    /// Internal search position; never shown to clients as is.
    pub seq: u64,
    pub service: &'static str,
    pub body: Value,
}

/// Directory Insights services, each with its own event shape.
pub const SERVICES: &[&str] = &[
    "directory",
    "sso",
    "radius",
    "systems",
    "ldap",
    "mdm",
    "password_manager",
    "software",
    "object_storage",
    "alerts",
    "access_management",
    "saas_app_management",
];

/// Collection names as the routes name them.
pub const V1_COLLECTIONS: &[&str] = &[
    "systemusers",
    "systems",
    "applications",
    "organizations",
    "commands",
    "radiusservers",
];
pub const V2_COLLECTIONS: &[&str] = &["usergroups", "systemgroups", "policies", "directories"];

impl Tenant {
    /// Builds an org from `seed`; the same seed and sizes give the same bytes on every call.
    pub fn generate(
        org_no: usize,
        seed: u64,
        size: &OrgSize,
        drift: Drift,
        now: DateTime<Utc>,
    ) -> Tenant {
        let mut rng =
            fastrand::Rng::with_seed(seed ^ (org_no as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let base = Utc
            .with_ymd_and_hms(2021, 1, 4, 9, 0, 0)
            .single()
            .unwrap_or(now);
        let org_id = object_id(&mut rng, base);
        let mut t = Tenant {
            org_id: org_id.clone(),
            org_no,
            now,
            drift,
            ..Tenant::default()
        };
        let span = (now - base).num_seconds().max(1);
        let created = |rng: &mut fastrand::Rng, i: usize, n: usize| -> DateTime<Utc> {
            // Creation times grow with the index so that `_id` order is creation order.
            let frac = (i as f64 + rng.f64()) / (n.max(1) as f64);
            base + Duration::milliseconds((frac * span as f64 * 1000.0 * 0.9) as i64)
        };

        let org = json!({
            "_id": org_id,
            "displayName": format!("Org {org_no} Inc."),
            "logoUrl": "",
            "created": ts_ms(base),
            "settings": {"passwordPolicy": {"minLength": 12 + org_no as i64}, "emailDisclaimer": null},
            "maxSystemUsers": 100_000,
        });
        t.collections.insert("organizations", vec![org]);

        let mut users = Vec::with_capacity(size.users);
        for i in 0..size.users {
            let c = created(&mut rng, i, size.users);
            users.push(t.user(&mut rng, i, c));
        }
        t.next_user_no = size.users;
        // Managers point at existing users.
        let user_ids: Vec<String> = users.iter().map(|u| id_of(u).to_string()).collect();
        for (i, u) in users.iter_mut().enumerate() {
            if i > 0 && rng.u8(..4) == 0 {
                u["manager"] = json!(user_ids[rng.usize(..i)]);
            }
        }
        t.collections.insert("systemusers", users);

        let systems: Vec<Value> = (0..size.systems)
            .map(|i| {
                let c = created(&mut rng, i, size.systems);
                system(&mut rng, &t.org_id, i, c, now)
            })
            .collect();
        let system_ids: Vec<String> = systems.iter().map(|s| id_of(s).to_string()).collect();
        t.collections.insert("systems", systems);

        let apps: Vec<Value> = (0..size.applications)
            .map(|i| {
                let c = created(&mut rng, i, size.applications);
                application(&mut rng, &t.org_id, i, c)
            })
            .collect();
        let app_ids: Vec<String> = apps.iter().map(|a| id_of(a).to_string()).collect();
        t.collections.insert("applications", apps);

        let commands: Vec<Value> = (0..size.commands)
            .map(|i| {
                let c = created(&mut rng, i, size.commands);
                command(&mut rng, &t.org_id, i, c)
            })
            .collect();
        t.collections.insert("commands", commands);

        let radius: Vec<Value> = (0..size.radius_servers)
            .map(|i| {
                let c = created(&mut rng, i, size.radius_servers);
                radius_server(&mut rng, &t.org_id, i, c)
            })
            .collect();
        let radius_ids: Vec<String> = radius.iter().map(|r| id_of(r).to_string()).collect();
        t.collections.insert("radiusservers", radius);

        let ugroups: Vec<Value> = (0..size.user_groups)
            .map(|i| {
                let c = created(&mut rng, i, size.user_groups);
                group(&mut rng, "user_group", i, c)
            })
            .collect();
        let ugroup_ids: Vec<String> = ugroups.iter().map(|g| id_of(g).to_string()).collect();
        t.collections.insert("usergroups", ugroups);

        let sgroups: Vec<Value> = (0..size.system_groups)
            .map(|i| {
                let c = created(&mut rng, i, size.system_groups);
                group(&mut rng, "system_group", i, c)
            })
            .collect();
        let sgroup_ids: Vec<String> = sgroups.iter().map(|g| id_of(g).to_string()).collect();
        t.collections.insert("systemgroups", sgroups);

        let policies: Vec<Value> = (0..size.policies)
            .map(|i| {
                let c = created(&mut rng, i, size.policies);
                policy(&mut rng, i, c)
            })
            .collect();
        let policy_ids: Vec<String> = policies.iter().map(|p| id_of(p).to_string()).collect();
        t.collections.insert("policies", policies);

        let directories: Vec<Value> = (0..size.directories)
            .map(|i| {
                let c = created(&mut rng, i, size.directories);
                directory(&mut rng, i, c)
            })
            .collect();
        let dir_targets: Vec<(&'static str, String)> = directories
            .iter()
            .map(|d| (directory_target(d), id_of(d).to_string()))
            .collect();
        t.collections.insert("directories", directories);

        // Group members: users into user groups, systems into system groups; a few nested.
        for (gi, gid) in ugroup_ids.iter().enumerate() {
            let mut m: Vec<(&'static str, String)> = Vec::new();
            if !user_ids.is_empty() {
                let n = rng.usize(0..=(user_ids.len() / 4).clamp(1, 400));
                let mut picked: Vec<usize> = (0..n).map(|_| rng.usize(..user_ids.len())).collect();
                picked.sort_unstable();
                picked.dedup();
                m.extend(picked.into_iter().map(|u| ("user", user_ids[u].clone())));
            }
            // Nest an earlier group into every fifth group (no cycles: earlier only).
            if gi > 0 && gi % 5 == 0 {
                m.push(("user_group", ugroup_ids[rng.usize(..gi)].clone()));
            }
            t.members.insert(gid.clone(), m);
        }
        for gid in &sgroup_ids {
            let mut m: Vec<(&'static str, String)> = Vec::new();
            if !system_ids.is_empty() {
                let n = rng.usize(0..=(system_ids.len() / 3).clamp(1, 300));
                let mut picked: Vec<usize> =
                    (0..n).map(|_| rng.usize(..system_ids.len())).collect();
                picked.sort_unstable();
                picked.dedup();
                m.extend(
                    picked
                        .into_iter()
                        .map(|s| ("system", system_ids[s].clone())),
                );
            }
            t.members.insert(gid.clone(), m);
        }

        // Associations.
        for uid in &user_ids {
            if system_ids.is_empty() {
                break;
            }
            for _ in 0..rng.usize(0..3) {
                let sid = system_ids[rng.usize(..system_ids.len())].clone();
                if t.edge_exists("user", uid, "system", &sid) {
                    continue;
                }
                let attrs = if rng.bool() {
                    json!({"sudo": {"enabled": rng.bool(), "withoutPassword": rng.bool()}})
                } else {
                    Value::Null
                };
                t.add_edge(("user", uid.clone()), ("system", sid), attrs);
            }
        }
        for aid in &app_ids {
            for gid in pick(&mut rng, &ugroup_ids, 3) {
                t.add_edge(
                    ("application", aid.clone()),
                    ("user_group", gid),
                    Value::Null,
                );
            }
        }
        for pid in &policy_ids {
            for gid in pick(&mut rng, &sgroup_ids, 2) {
                t.add_edge(("policy", pid.clone()), ("system_group", gid), Value::Null);
            }
        }
        for rid in &radius_ids {
            for gid in pick(&mut rng, &ugroup_ids, 2) {
                t.add_edge(
                    ("radius_server", rid.clone()),
                    ("user_group", gid),
                    Value::Null,
                );
            }
        }
        for (dtype, did) in &dir_targets {
            for gid in pick(&mut rng, &ugroup_ids, 2) {
                t.add_edge((dtype, did.clone()), ("user_group", gid), Value::Null);
            }
        }
        for gid in pick(&mut rng, &ugroup_ids, ugroup_ids.len().min(4)) {
            for sg in pick(&mut rng, &sgroup_ids, 1) {
                t.add_edge(
                    ("user_group", gid.clone()),
                    ("system_group", sg),
                    Value::Null,
                );
            }
        }

        // Events, spread over the window, with bursts that share one millisecond.
        let start = now - Duration::days(size.event_days as i64);
        let window_ms = (now - start).num_milliseconds().max(1);
        let mut i = 0;
        while i < size.events {
            let ts = start.timestamp_millis() + rng.i64(0..window_ms);
            let burst = if rng.u8(..10) == 0 {
                rng.usize(2..40)
            } else {
                1
            };
            for _ in 0..burst.min(size.events - i) {
                t.push_event(&mut rng, ts, i64::MIN, &user_ids, &system_ids, &app_ids);
                i += 1;
            }
        }
        t.events.sort_by_key(|e| (e.ts_ms, e.seq));
        t.rng = Some(rng);
        t.add_bindings(seed);
        t.generate_collections(seed, size);
        t.derived = derived::Derived::default();
        t
    }

    fn edge_exists(&self, at: &'static str, a: &str, bt: &'static str, b: &str) -> bool {
        self.edge_index
            .get(&(at, a.to_string()))
            .map(|ix| {
                ix.iter().any(|&i| {
                    let e = &self.edges[i];
                    (e.a.0 == at && e.a.1 == a && e.b.0 == bt && e.b.1 == b)
                        || (e.b.0 == at && e.b.1 == a && e.a.0 == bt && e.a.1 == b)
                })
            })
            .unwrap_or(false)
    }

    pub(super) fn add_edge(
        &mut self,
        a: (&'static str, String),
        b: (&'static str, String),
        attributes: Value,
    ) {
        let i = self.edges.len();
        self.edge_index.entry(a.clone()).or_default().push(i);
        self.edge_index.entry(b.clone()).or_default().push(i);
        self.edges.push(Edge { a, b, attributes });
    }

    /// The connections of one object towards `target` type, as (other id, edge attributes).
    pub fn associations(&self, kind: &'static str, id: &str, target: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(ix) = self.edge_index.get(&(kind, id.to_string())) {
            for &i in ix {
                let e = &self.edges[i];
                let other = if e.a.0 == kind && e.a.1 == id {
                    &e.b
                } else {
                    &e.a
                };
                if other.0 == target {
                    out.push((other.1.clone(), e.attributes.clone()));
                }
            }
        }
        out
    }

    /// Adds one event at `ts_ms_v`, stored no earlier than `floor_ms`.
    fn push_event(
        &mut self,
        rng: &mut fastrand::Rng,
        ts_ms_v: i64,
        floor_ms: i64,
        users: &[String],
        systems: &[String],
        apps: &[String],
    ) {
        let service = SERVICES[rng.usize(..SERVICES.len())];
        let ts = Utc
            .timestamp_millis_opt(ts_ms_v)
            .single()
            .unwrap_or(self.now);
        let mut body = event(rng, service, ts, &self.org_id, users, systems, apps);
        // The service sorts by the time it stores, and renders that time: a timestamp written
        // in whole seconds is stored in whole seconds (the same second, so the same UTC day).
        // Below the floor (a new event must not sort before older ones) it keeps its ms.
        let mut stored = ts_ms_v;
        if body["timestamp"].as_str().is_some_and(|s| !s.contains('.')) {
            let whole = ts_ms_v - ts_ms_v.rem_euclid(1000);
            if whole >= floor_ms {
                stored = whole;
            } else {
                body["timestamp"] = json!(ts_ms(ts));
            }
        }
        let seq = self.next_event_seq;
        self.next_event_seq += 1;
        self.events.push(StoredEvent {
            ts_ms: stored,
            seq,
            service,
            body,
        });
    }
}

/// The `_id` (v1) or `id` (v2) of an object.
pub fn id_of(v: &Value) -> &str {
    v.get("_id")
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("")
}
