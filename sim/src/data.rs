//! Deterministic org data for the simulator: in come a seed and sizes, out comes a `Tenant`
//! (every collection as JSON objects in `_id` order, the membership and association graph,
//! and the Directory Insights event log). Shapes follow `shared/jumpcloud-api.md`: optional
//! fields are sometimes absent and sometimes `null`, custom attribute names are free-form, and
//! every edge points at an object that exists.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};

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
}

/// One edge of the v2 graph, stored once and served from both ends.
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: (&'static str, String),
    pub b: (&'static str, String),
    pub attributes: Value,
}

/// All data of one organization.
#[derive(Debug, Default)]
pub struct Tenant {
    pub org_id: String,
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

const FIRST: &[&str] = &[
    "ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "alan", "radia",
    "john", "sophie", "zoë", "jürgen", "maría", "søren", "chloé", "aiko", "olu", "priya",
];
const LAST: &[&str] = &[
    "lovelace",
    "hopper",
    "torvalds",
    "hamilton",
    "thompson",
    "liskov",
    "ritchie",
    "allen",
    "turing",
    "perlman",
    "backus",
    "wilson",
    "o'brien",
    "müller",
    "garcía",
    "kierkegaard",
    "dupont",
    "tanaka",
    "adeyemi",
    "patel",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance", "IT", "Support", "Legal"];
const ATTR_NAMES: &[&str] = &[
    "Team Name",
    "team name",
    "a.b c",
    "cost-center",
    "Kostenstelle",
    "部署",
    "badge #",
    "emoji 🚀",
];
const OS: &[(&str, &str, &str)] = &[
    ("Mac OS X", "darwin", "14.4.1"),
    ("Windows", "windows", "10.0.22631"),
    ("Ubuntu", "linux", "22.04"),
    ("Fedora", "linux", "39"),
];
const APPS: &[&str] = &[
    "Slack",
    "GitHub",
    "Zoom",
    "Salesforce",
    "AWS",
    "Google Workspace",
    "Jira",
    "Okta Bridge",
    "Notion",
    "Figma",
    "Workday",
    "Box",
];

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
                t.push_event(&mut rng, ts, &user_ids, &system_ids, &app_ids);
                i += 1;
            }
        }
        t.events.sort_by_key(|e| (e.ts_ms, e.seq));
        t.rng = Some(rng);
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

    fn add_edge(
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

    fn user(&self, rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
        let id = object_id(rng, created);
        let first = FIRST[rng.usize(..FIRST.len())];
        let last = LAST[rng.usize(..LAST.len())];
        let username = format!("{}.{}{}", ascii(first), ascii(last), i);
        let state = match rng.u8(..20) {
            0 => "SUSPENDED",
            1 => "STAGED",
            _ => "ACTIVATED",
        };
        let mut u = Map::new();
        u.insert("_id".into(), json!(id));
        u.insert("id".into(), json!(id));
        u.insert("username".into(), json!(username));
        u.insert("email".into(), json!(format!("{username}@example.com")));
        u.insert("firstname".into(), json!(cap(first)));
        u.insert("lastname".into(), json!(cap(last)));
        optional(rng, &mut u, "middlename", || json!("Q."));
        u.insert(
            "displayname".into(),
            json!(format!("{} {}", cap(first), cap(last))),
        );
        u.insert("activated".into(), json!(state == "ACTIVATED"));
        u.insert("suspended".into(), json!(state == "SUSPENDED"));
        u.insert("state".into(), json!(state));
        u.insert("account_locked".into(), json!(rng.u8(..30) == 0));
        u.insert("created".into(), json!(ts_ms(created)));
        let pw = created + Duration::days(rng.i64(30..400));
        optional(rng, &mut u, "password_expiration_date", || json!(ts_ms(pw)));
        u.insert("password_expired".into(), json!(rng.u8(..25) == 0));
        u.insert("passwordless_sudo".into(), json!(rng.u8(..10) == 0));
        u.insert("sudo".into(), json!(rng.u8(..8) == 0));
        u.insert("enable_managed_uid".into(), json!(rng.bool()));
        u.insert("unix_uid".into(), json!(5000 + i as i64));
        u.insert("unix_guid".into(), json!(5000 + i as i64));
        let mut mfa = json!({"configured": rng.bool(), "exclusion": rng.u8(..6) == 0});
        if rng.u8(..4) == 0 {
            mfa["exclusionUntil"] = json!(ts_ms(created + Duration::days(14)));
        }
        u.insert("mfa".into(), mfa);
        u.insert("totp_enabled".into(), json!(rng.bool()));
        let addresses: Vec<Value> = (0..rng.usize(0..3))
            .map(|k| {
                let mut a = json!({
                    "type": if k == 0 { "work" } else { "home" },
                    "streetAddress": format!("{} Main St", 10 + rng.u32(..900)),
                    "locality": (["Boulder", "Berlin", "Paris", "Tokyo"][rng.usize(..4)]),
                    "region": "CO",
                    "postalCode": format!("{:05}", rng.u32(..99999)),
                    "country": (["US", "DE", "FR", "JP"][rng.usize(..4)]),
                });
                if rng.bool() {
                    a["poBox"] = Value::Null;
                }
                a
            })
            .collect();
        optional(rng, &mut u, "addresses", || json!(addresses));
        let phones: Vec<Value> = (0..rng.usize(0..3))
            .map(|k| json!({"type": (["mobile", "work", "home"][k]), "number": format!("+1 303 555 {:04}", rng.u32(..9999))}))
            .collect();
        u.insert("phoneNumbers".into(), json!(phones));
        let attrs: Vec<Value> = (0..rng.usize(0..4))
            .map(|_| {
                let name = ATTR_NAMES[rng.usize(..ATTR_NAMES.len())];
                json!({"name": name, "value": format!("v{}", rng.u32(..1000))})
            })
            .collect();
        u.insert("attributes".into(), json!(attrs));
        optional(rng, &mut u, "employeeIdentifier", || {
            json!(format!("E{:06}", i))
        });
        let et = ["full-time", "contractor"][rng.usize(..2)];
        optional(rng, &mut u, "employeeType", || json!(et));
        let dept = DEPARTMENTS[rng.usize(..DEPARTMENTS.len())];
        optional(rng, &mut u, "department", || json!(dept));
        let cc = format!("CC-{}", rng.u32(100..999));
        optional(rng, &mut u, "costCenter", || json!(cc));
        optional(rng, &mut u, "jobTitle", || json!("Engineer"));
        optional(rng, &mut u, "company", || json!("Example Corp"));
        optional(rng, &mut u, "location", || json!("HQ"));
        optional(rng, &mut u, "description", || json!("synthetic user"));
        u.insert("externally_managed".into(), json!(rng.u8(..10) == 0));
        u.insert("ldap_binding_user".into(), json!(false));
        u.insert("organization".into(), json!(self.org_id));
        let mut v = Value::Object(u);
        self.apply_drift(&mut v, i);
        v
    }

    fn apply_drift(&self, u: &mut Value, i: usize) {
        if let Some(n) = self.drift.field_after {
            if i >= n {
                u["drift_new_field"] = json!(format!("drift-{i}"));
                if u["mfa"].is_object() {
                    u["mfa"]["drift_nested"] = json!(i as i64);
                }
            }
        }
        if let Some(k) = self.drift.type_every {
            if k > 0 && i % k == k - 1 {
                u["unix_uid"] = json!(format!("uid-{}", 5000 + i));
                u["employeeIdentifier"] = json!(i as i64);
            }
        }
    }

    fn push_event(
        &mut self,
        rng: &mut fastrand::Rng,
        ts_ms_v: i64,
        users: &[String],
        systems: &[String],
        apps: &[String],
    ) {
        let service = SERVICES[rng.usize(..SERVICES.len())];
        let ts = Utc
            .timestamp_millis_opt(ts_ms_v)
            .single()
            .unwrap_or(self.now);
        let body = event(rng, service, ts, &self.org_id, users, systems, apps);
        let seq = self.next_event_seq;
        self.next_event_seq += 1;
        self.events.push(StoredEvent {
            ts_ms: ts_ms_v,
            seq,
            service,
            body,
        });
    }

    /// Applies one mutation step: users added, removed and changed; new events, some late.
    pub fn mutate(&mut self, m: &Mutation, now: DateTime<Utc>) -> MutationReport {
        let mut rng = self
            .rng
            .take()
            .unwrap_or_else(|| fastrand::Rng::with_seed(1));
        let mut report = MutationReport::default();
        let mut users = self.collections.remove("systemusers").unwrap_or_default();
        for _ in 0..m.remove_users.min(users.len()) {
            let k = rng.usize(..users.len());
            let gone = users.remove(k);
            let gid = id_of(&gone).to_string();
            for members in self.members.values_mut() {
                members.retain(|(_, id)| id != &gid);
            }
            self.drop_edges("user", &gid);
            report.removed_users.push(gid);
        }
        for _ in 0..m.change_users.min(users.len()) {
            let k = rng.usize(..users.len());
            let u = &mut users[k];
            u["jobTitle"] = json!(format!("Senior Engineer {}", rng.u32(..100)));
            u["department"] = json!(DEPARTMENTS[rng.usize(..DEPARTMENTS.len())]);
            report.changed_users.push(id_of(u).to_string());
        }
        for _ in 0..m.add_users {
            let no = self.next_user_no;
            self.next_user_no += 1;
            let u = self.user(&mut rng, no, now);
            report.added_users.push(id_of(&u).to_string());
            users.push(u);
        }
        users.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        let user_ids: Vec<String> = users.iter().map(|u| id_of(u).to_string()).collect();
        self.collections.insert("systemusers", users);
        let system_ids: Vec<String> = self.ids("systems");
        let app_ids: Vec<String> = self.ids("applications");

        let last = self
            .events
            .iter()
            .map(|e| e.ts_ms)
            .max()
            .unwrap_or(now.timestamp_millis());
        let now_ms = now.timestamp_millis().max(last + 1);
        for k in 0..m.new_events {
            // Half of the new events share the last existing millisecond.
            let ts = if k % 2 == 0 {
                last
            } else {
                last + 1 + rng.i64(0..(now_ms - last).max(1))
            };
            self.push_event(&mut rng, ts, &user_ids, &system_ids, &app_ids);
        }
        for _ in 0..m.late_events {
            let back = rng.i64(1..=m.late_by_ms.max(1));
            self.push_event(&mut rng, last - back, &user_ids, &system_ids, &app_ids);
        }
        report.new_events = m.new_events + m.late_events;
        self.events.sort_by_key(|e| (e.ts_ms, e.seq));
        self.rng = Some(rng);
        report
    }

    fn ids(&self, collection: &str) -> Vec<String> {
        self.collections
            .get(collection)
            .map(|c| c.iter().map(|v| id_of(v).to_string()).collect())
            .unwrap_or_default()
    }

    fn drop_edges(&mut self, kind: &'static str, id: &str) {
        self.edges
            .retain(|e| !((e.a.0 == kind && e.a.1 == id) || (e.b.0 == kind && e.b.1 == id)));
        self.edge_index.clear();
        for (i, e) in self.edges.iter().enumerate() {
            self.edge_index.entry(e.a.clone()).or_default().push(i);
            self.edge_index.entry(e.b.clone()).or_default().push(i);
        }
    }
}

/// What one mutation step does.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Mutation {
    pub add_users: usize,
    pub remove_users: usize,
    pub change_users: usize,
    /// New events at or after the latest existing timestamp (half share its millisecond).
    pub new_events: usize,
    /// Events indexed late: timestamps up to `late_by_ms` before the latest existing one.
    pub late_events: usize,
    pub late_by_ms: i64,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MutationReport {
    pub added_users: Vec<String>,
    pub removed_users: Vec<String>,
    pub changed_users: Vec<String>,
    pub new_events: usize,
}

/// The `_id` (v1) or `id` (v2) of an object.
pub fn id_of(v: &Value) -> &str {
    v.get("_id")
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn object_id(rng: &mut fastrand::Rng, at: DateTime<Utc>) -> String {
    format!("{:08x}{:016x}", at.timestamp().max(0) as u32, rng.u64(..))
}

fn ts_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Absent one time in five, `null` one time in five, present otherwise.
fn optional(
    rng: &mut fastrand::Rng,
    m: &mut Map<String, Value>,
    key: &str,
    v: impl FnOnce() -> Value,
) {
    match rng.u8(..5) {
        0 => {}
        1 => {
            m.insert(key.into(), Value::Null);
        }
        _ => {
            m.insert(key.into(), v());
        }
    }
}

fn pick(rng: &mut fastrand::Rng, from: &[String], n: usize) -> Vec<String> {
    if from.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<String> = (0..n)
        .map(|_| from[rng.usize(..from.len())].clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ë' => 'e',
            'ü' => 'u',
            'í' => 'i',
            'ø' => 'o',
            'é' => 'e',
            '\'' => 'x',
            c => c,
        })
        .collect()
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn system(
    rng: &mut fastrand::Rng,
    org: &str,
    i: usize,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let (os, family, version) = OS[rng.usize(..OS.len())];
    let host = format!("host-{i:05}");
    let mut s = Map::new();
    s.insert("_id".into(), json!(object_id(rng, created)));
    s.insert("hostname".into(), json!(host));
    s.insert("displayName".into(), json!(format!("{host}.local")));
    s.insert("os".into(), json!(os));
    s.insert("osFamily".into(), json!(family));
    s.insert("version".into(), json!(version));
    s.insert("arch".into(), json!(["x86_64", "arm64"][rng.usize(..2)]));
    s.insert(
        "agentVersion".into(),
        json!(format!("1.{}.{}", rng.u32(100..200), rng.u32(..10))),
    );
    s.insert("created".into(), json!(ts_ms(created)));
    let last = now - Duration::minutes(rng.i64(1..60 * 24 * 30));
    optional(rng, &mut s, "lastContact", || json!(ts_ms(last)));
    s.insert("active".into(), json!(rng.u8(..4) != 0));
    s.insert(
        "serialNumber".into(),
        json!(format!("C02{:08X}", rng.u32(..))),
    );
    s.insert(
        "remoteIP".into(),
        json!(format!("203.0.113.{}", rng.u8(1..255))),
    );
    s.insert("systemTimezone".into(), json!(-420 + 60 * rng.i64(0..12)));
    s.insert(
        "fde".into(),
        json!({"active": rng.bool(), "keyPresent": rng.bool()}),
    );
    let nics: Vec<Value> = (0..rng.usize(1..3))
        .map(|k| json!({"name": format!("en{k}"), "address": format!("10.0.{}.{}", rng.u8(..255), rng.u8(1..255)), "family": "IPv4", "internal": false}))
        .collect();
    s.insert("networkInterfaces".into(), json!(nics));
    s.insert(
        "sshdParams".into(),
        json!([{"name": "PermitRootLogin", "value": "no"}]),
    );
    s.insert("allowSshPasswordAuthentication".into(), json!(rng.bool()));
    s.insert("allowMultiFactorAuthentication".into(), json!(rng.bool()));
    s.insert("organization".into(), json!(org));
    let prov = json!({"provisioner": {"provisionerId": format!("{:024x}", rng.u128(..) & ((1u128 << 96) - 1)), "type": "administrator"}});
    optional(rng, &mut s, "provisionMetadata", || prov);
    s.insert("serviceAccountState".into(), json!({"hasSecureToken": rng.bool(), "passwordAPFSValid": rng.bool(), "passwordODValid": rng.bool()}));
    optional(
        rng,
        &mut s,
        "domainInfo",
        || json!({"domainName": "corp.example.com", "partOfDomain": true}),
    );
    if family == "darwin" || family == "windows" {
        let mdm = json!({"vendor": "internal", "dep": rng.bool(), "userApproved": rng.bool(), "internal": {"deviceId": format!("{:08x}", rng.u32(..))}});
        optional(rng, &mut s, "mdm", || mdm);
    }
    Value::Object(s)
}

fn application(rng: &mut fastrand::Rng, org: &str, i: usize, created: DateTime<Utc>) -> Value {
    let name = APPS[i % APPS.len()];
    let slug = name.to_lowercase().replace(' ', "");
    json!({
        "_id": object_id(rng, created),
        "name": slug,
        "displayName": name,
        "displayLabel": if i >= APPS.len() { format!("{name} {i}") } else { name.to_string() },
        "ssoUrl": format!("https://sso.jumpcloud.com/saml2/{slug}"),
        "learnMore": format!("https://support.jumpcloud.com/{slug}"),
        "organization": org,
        "active": rng.u8(..6) != 0,
        "beta": false,
        "created": ts_ms(created),
        "config": {"acsUrl": {"type": "text", "value": format!("https://{slug}.example.com/acs"), "label": "ACS URL"}, "idpEntityId": {"value": "JumpCloud"}},
        "sso": {"type": "saml", "idpCertExpirationAt": ts_ms(created + Duration::days(730))},
    })
}

fn command(rng: &mut fastrand::Rng, org: &str, i: usize, created: DateTime<Utc>) -> Value {
    let ty = ["linux", "windows", "mac"][rng.usize(..3)];
    let mut c = json!({
        "_id": object_id(rng, created),
        "name": format!("command {i}"),
        "command": if ty == "windows" { "Get-Process" } else { "uptime" },
        "commandType": ty,
        "user": "000000000000000000000000",
        "launchType": (["manual", "trigger", "repeated"][rng.usize(..3)]),
        "schedule": "",
        "scheduleRepeatType": "",
        "timeout": format!("{}", 60 * rng.u32(1..10)),
        "shell": if ty == "windows" { "powershell" } else { "/bin/bash" },
        "sudo": false,
        "organization": org,
        "files": [],
        "created": ts_ms(created),
    });
    if rng.bool() {
        c["trigger"] = json!(format!("trigger-{i}"));
    }
    c
}

fn radius_server(rng: &mut fastrand::Rng, org: &str, i: usize, created: DateTime<Utc>) -> Value {
    json!({
        "_id": object_id(rng, created),
        "name": format!("radius-{i}"),
        "networkSourceIp": format!("198.51.100.{}", 10 + i),
        "sharedSecret": format!("s3cr3t-{:08x}", rng.u32(..)),
        "mfa": (["DISABLED", "ENABLED", "REQUIRED"][rng.usize(..3)]),
        "userLockoutAction": "REMOVE",
        "userPasswordExpirationAction": "MAINTAIN",
        "organization": org,
        "tagNames": [],
    })
}

fn group(rng: &mut fastrand::Rng, ty: &str, i: usize, created: DateTime<Utc>) -> Value {
    let dynamic = rng.u8(..5) == 0;
    let attributes = match rng.u8(..3) {
        0 => Value::Null,
        1 => json!({"sudo": {"enabled": rng.bool(), "withoutPassword": false}}),
        _ => {
            json!({"ldapGroups": [{"name": format!("ldap-{i}")}], "posixGroups": [{"id": 7000 + i, "name": format!("posix{i}")}], "radius": {"reply": [{"name": "Tunnel-Type", "value": "VLAN"}]}})
        }
    };
    let mut g = json!({
        "id": object_id(rng, created),
        "name": format!("{} {i}", if ty == "user_group" { "Team" } else { "Fleet" }),
        "type": ty,
        "attributes": attributes,
        "description": if rng.bool() { json!(format!("group number {i}")) } else { json!("") },
        "email": if ty == "user_group" { json!(format!("team{i}@example.com")) } else { json!("") },
        "membershipMethod": if dynamic { "DYNAMIC_AUTOMATED" } else { "STATIC" },
        "memberQuery": if dynamic { json!({"queryType": "FilterQuery", "filters": [{"field": "department", "operator": "eq", "value": "Engineering"}]}) } else { Value::Null },
    });
    if rng.bool() {
        g["memberSuggestionsNotify"] = json!(false);
    }
    g
}

fn policy(rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
    let fam = ["darwin", "windows", "linux"][rng.usize(..3)];
    json!({
        "id": object_id(rng, created),
        "name": format!("{fam} policy {i}"),
        "template": {
            "id": format!("{:024x}", (i as u128) << 40 | 0xabc),
            "name": format!("{fam}_lock_screen"),
            "displayName": "Lock Screen",
            "osMetaFamily": fam,
            "description": "Locks the screen after idle time",
            "activation": "",
            "behavior": "",
            "state": "",
        },
        "osMetaFamily": fam,
    })
}

fn directory(rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
    let ty = ["g_suite", "office_365", "ldap_server", "workday"][i % 4];
    let mut d = json!({
        "id": object_id(rng, created),
        "name": match ty { "g_suite" => "Google Workspace", "office_365" => "Microsoft 365", "ldap_server" => "JumpCloud LDAP", _ => "Workday" },
        "type": ty,
    });
    if ty != "ldap_server" {
        d["oAuthStatus"] = json!({"status": "valid"});
    }
    d
}

fn directory_target(d: &Value) -> &'static str {
    match d.get("type").and_then(Value::as_str) {
        Some("g_suite") => "g_suite",
        Some("office_365") => "office_365",
        Some("workday") => "workday",
        _ => "ldap_server",
    }
}

fn event(
    rng: &mut fastrand::Rng,
    service: &'static str,
    ts: DateTime<Utc>,
    org: &str,
    users: &[String],
    systems: &[String],
    apps: &[String],
) -> Value {
    // Some services use uppercase UUIDs instead of 24-hex ids.
    let id = if matches!(service, "password_manager" | "saas_app_management") {
        format!(
            "{:08X}-{:04X}-4{:03X}-A{:03X}-{:012X}",
            rng.u32(..),
            rng.u16(..),
            rng.u16(..0x1000),
            rng.u16(..0x1000),
            rng.u64(..1 << 48)
        )
    } else {
        format!("{:08x}{:016x}", ts.timestamp() as u32, rng.u64(..))
    };
    // Fractional digits vary: none, milliseconds, or nanoseconds.
    let timestamp = match rng.u8(..4) {
        0 => ts.to_rfc3339_opts(SecondsFormat::Secs, true),
        1 => ts.to_rfc3339_opts(SecondsFormat::Nanos, true),
        _ => ts.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    let user = |rng: &mut fastrand::Rng| -> String {
        if users.is_empty() {
            "000000000000000000000000".into()
        } else {
            users[rng.usize(..users.len())].clone()
        }
    };
    let uid = user(rng);
    let mut e = json!({
        "id": id,
        "timestamp": timestamp,
        "service": service,
        "organization": org,
        "client_ip": format!("198.51.100.{}", rng.u8(1..255)),
        "success": rng.u8(..8) != 0,
        "initiated_by": {"id": uid, "type": if rng.u8(..4) == 0 { "admin" } else { "user" }, "username": format!("user{}", rng.u32(..1000))},
        "geoip": {"country_code": "us", "region_name": "colorado", "continent_code": "na", "timezone": "america/denver", "latitude": 39.7392, "longitude": -104.9903},
        "useragent": {"name": "chrome", "os": "mac os x", "device": "mac", "version": "120.0.0", "major": "120", "os_name": "mac os x"},
        "@version": "1",
        "provider": Value::Null,
    });
    let (event_type, extra) = match service {
        "directory" => (
            [
                "user_update",
                "user_create",
                "admin_login_attempt",
                "group_update",
            ][rng.usize(..4)],
            json!({"resource": {"id": user(rng), "type": "user", "username": "someone"}, "changes": [{"field": "jobtitle", "from": "engineer", "to": "senior engineer"}], "auth_method": "password", "mfa": rng.bool()}),
        ),
        "sso" => (
            "sso_auth",
            json!({"application": {"id": apps.first().cloned().unwrap_or_default(), "name": "slack", "display_label": "slack"}, "sso_type": "saml", "idp_initiated": rng.bool(), "auth_context": {"jumpcloud_protocol": "saml"}}),
        ),
        "radius" => (
            "radius_auth_attempt",
            json!({"auth_type": "pap", "nas_mfa_state": "disabled", "mfa_meta": {"type": "totp"}, "eap_type": Value::Null}),
        ),
        "systems" => (
            "login_attempt",
            json!({"system": {"id": systems.first().cloned().unwrap_or_default(), "hostname": "host-00001", "displayName": "host-00001.local"}, "process_name": "loginwindow", "username": "ada", "message": "authenticated"}),
        ),
        "ldap" => (
            "ldap_bind",
            json!({"dn": "uid=ada,ou=users,o=example,dc=jumpcloud,dc=com", "operation_type": "bind", "auth_method": "simple", "error_code": rng.u8(..2) as i64}),
        ),
        "mdm" => (
            "mdm_command_result",
            json!({"command_type": "installprofile", "command_status": "acknowledged", "profiles": (0..rng.usize(0..4)).map(|k| json!({"identifier": format!("com.example.p{k}")})).collect::<Vec<_>>()}),
        ),
        "password_manager" => ("item_viewed", json!({"item": {"type": "login"}})),
        "software" => (
            "software_add",
            json!({"software": {"name": "firefox", "version": "121.0"}}),
        ),
        "object_storage" => (
            "object_download",
            json!({"bucket": "backups", "object_key": "2024/db.tar"}),
        ),
        "alerts" => (
            "alert_created",
            json!({"alert": {"severity": "high", "rule": "impossible travel"}}),
        ),
        "access_management" => (
            "access_request_created",
            json!({"request": {"resource_type": "application", "status": "pending"}}),
        ),
        _ => (
            "saas_app_discovered",
            json!({"app": {"name": "dropbox", "category": "storage"}}),
        ),
    };
    e["event_type"] = json!(event_type);
    if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
        e.extend(extra);
    }
    e
}
