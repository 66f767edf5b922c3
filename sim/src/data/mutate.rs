//! An org that changes between runs: users added, removed and changed, new events and
//! late ones (indexed after runs may have read their day). New events never sort before the
//! previous newest: one written in whole seconds keeps its ms rather than fall below it.
//! New policy and command results (`new_results`) come after the latest ones.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;

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
    /// New policy results and as many new command results, each later than the latest of
    /// its kind (up to `now`), for incremental exports of the result histories.
    pub new_results: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MutationReport {
    pub added_users: Vec<String>,
    pub removed_users: Vec<String>,
    pub changed_users: Vec<String>,
    pub new_events: usize,
    /// Policy results added.
    pub new_policy_results: usize,
    /// Command results added.
    pub new_command_results: usize,
}

impl Tenant {
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
            self.push_event(&mut rng, ts, last, &user_ids, &system_ids, &app_ids);
        }
        for _ in 0..m.late_events {
            let back = rng.i64(1..=m.late_by_ms.max(1));
            let ts = last - back;
            self.push_event(&mut rng, ts, i64::MIN, &user_ids, &system_ids, &app_ids);
        }
        report.new_events = m.new_events + m.late_events;
        self.events.sort_by_key(|e| (e.ts_ms, e.seq));
        self.rng = Some(rng);
        // From the collections' own rng: the steps above draw what they always drew.
        (report.new_policy_results, report.new_command_results) =
            self.append_results(m.new_results, now);
        // Every index and cache was made from the data as it was.
        self.derived = derived::Derived::default();
        report
    }

    fn ids(&self, collection: &str) -> Vec<String> {
        self.collections
            .get(collection)
            .map(|c| c.iter().map(|v| id_of(v).to_string()).collect())
            .unwrap_or_default()
    }

    pub(super) fn drop_edges(&mut self, kind: &'static str, id: &str) {
        self.edges
            .retain(|e| !((e.a.0 == kind && e.a.1 == id) || (e.b.0 == kind && e.b.1 == id)));
        self.edge_index.clear();
        for (i, e) in self.edges.iter().enumerate() {
            self.edge_index.entry(e.a.clone()).or_default().push(i);
            self.edge_index.entry(e.b.clone()).or_default().push(i);
        }
    }
}
