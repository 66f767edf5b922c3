//! The rest of the association graph: every pair type the API offers (§2 and §4 of
//! `shared/jumpcloud-api-extended.md`) that the first pass of `generate` leaves out, and one
//! `active_directory` directory. In comes a tenant already generated (collections, members,
//! edges, events); out it goes with one row appended to `directories` and edges appended
//! after the existing ones. Everything here draws from its own rng, seeded from the org's
//! seed, so the earlier data keeps every byte and its order.
//!
//! New pair types: user_group–system, user–system_group, user–application,
//! user–radius_server, user–directory (g_suite, office_365, ldap_server, active_directory,
//! workday when the org has one), user_group–active_directory, system–command,
//! system_group–command, system–policy. Policy groups and software apps are not made here.
//! Edges between a user or user group and a system or system group carry
//! `{"sudo":{"enabled","withoutPassword"}}` about half the time, `null` otherwise.

use serde_json::{json, Value};

use super::*;

/// Mixed into the org's seed for this pass's own rng.
const SALT: u64 = 0x5EED_6A7F;

impl Tenant {
    /// Appends the `active_directory` directory and the edges of the new pair types.
    pub(super) fn add_bindings(&mut self, seed: u64) {
        let mut rng = fastrand::Rng::with_seed(seed ^ SALT ^ self.org_no as u64);
        let ids = |name: &str| -> Vec<String> {
            self.collections
                .get(name)
                .map(|c| c.iter().map(|v| id_of(v).to_string()).collect())
                .unwrap_or_default()
        };
        let users = ids("systemusers");
        let systems = ids("systems");
        let apps = ids("applications");
        let commands = ids("commands");
        let radius = ids("radiusservers");
        let ugroups = ids("usergroups");
        let sgroups = ids("systemgroups");
        let policies = ids("policies");

        // One Active Directory, for orgs that have directories at all; its id sorts after
        // the others' (created later), and the list stays in id order regardless.
        let mut directories = self.collections.remove("directories").unwrap_or_default();
        if !directories.is_empty() {
            let created = self.now - Duration::days(1);
            directories.push(json!({
                "id": object_id(&mut rng, created),
                "name": "Active Directory",
                "type": "active_directory",
            }));
            directories.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        }
        let dirs: Vec<(&'static str, String)> = directories
            .iter()
            .map(|d| {
                let ty = match d.get("type").and_then(Value::as_str) {
                    Some("active_directory") => "active_directory",
                    _ => directory_target(d),
                };
                (ty, id_of(d).to_string())
            })
            .collect();
        self.collections.insert("directories", directories);

        // user_group–system: groups that nest another group first (access through nesting),
        // then a few more.
        let mut nesting: Vec<String> = ugroups
            .iter()
            .filter(|g| {
                self.members
                    .get(*g)
                    .is_some_and(|m| m.iter().any(|(k, _)| *k == "user_group"))
            })
            .cloned()
            .collect();
        nesting.extend(pick(&mut rng, &ugroups, 4));
        for gid in nesting {
            for sid in pick(&mut rng, &systems, 2) {
                let attrs = sudo(&mut rng);
                self.bind(("user_group", gid.clone()), ("system", sid), attrs);
            }
        }
        // user–system_group.
        for uid in pick(&mut rng, &users, 10) {
            for sg in pick(&mut rng, &sgroups, 1) {
                let attrs = sudo(&mut rng);
                self.bind(("user", uid.clone()), ("system_group", sg), attrs);
            }
        }
        // application–user.
        for aid in &apps {
            for uid in pick(&mut rng, &users, 2) {
                self.bind(("application", aid.clone()), ("user", uid), Value::Null);
            }
        }
        // radius_server–user.
        for rid in &radius {
            for uid in pick(&mut rng, &users, 3) {
                self.bind(("radius_server", rid.clone()), ("user", uid), Value::Null);
            }
        }
        // directory–user, and active_directory–user_group (the other directory types have
        // their user groups from the first pass).
        for (ty, did) in &dirs {
            for uid in pick(&mut rng, &users, 3) {
                self.bind((ty, did.clone()), ("user", uid), Value::Null);
            }
            if *ty == "active_directory" {
                for gid in pick(&mut rng, &ugroups, 2) {
                    self.bind((ty, did.clone()), ("user_group", gid), Value::Null);
                }
            }
        }
        // command–system, command–system_group.
        for cid in &commands {
            for sid in pick(&mut rng, &systems, 2) {
                self.bind(("command", cid.clone()), ("system", sid), Value::Null);
            }
            if rng.bool() {
                for sg in pick(&mut rng, &sgroups, 1) {
                    self.bind(("command", cid.clone()), ("system_group", sg), Value::Null);
                }
            }
        }
        if let (Some(cid), Some(sg)) = (commands.first(), sgroups.first()) {
            // At least one, whatever the coin said.
            self.bind(
                ("command", cid.clone()),
                ("system_group", sg.clone()),
                Value::Null,
            );
        }
        // policy–system.
        for pid in &policies {
            for sid in pick(&mut rng, &systems, 1) {
                self.bind(("policy", pid.clone()), ("system", sid), Value::Null);
            }
        }
    }

    /// Adds an edge unless the pair is already bound.
    fn bind(&mut self, a: (&'static str, String), b: (&'static str, String), attributes: Value) {
        if !self.edge_exists(a.0, &a.1, b.0, &b.1) {
            self.add_edge(a, b, attributes);
        }
    }
}

/// `{"sudo": …}` half the time, `null` otherwise.
fn sudo(rng: &mut fastrand::Rng) -> Value {
    if rng.bool() {
        json!({"sudo": {"enabled": rng.bool(), "withoutPassword": rng.bool()}})
    } else {
        Value::Null
    }
}
