//! What the routes look up again and again, derived from a tenant's data on first use and
//! kept until the data changes: the position of each object by id (per collection), the
//! groups that directly contain each object, the policy results of each policy and of each
//! system, the System Insights rows of each table, and the order of a list under a `sort`.
//!
//! It lives in `Tenant::derived`, behind locks of its own (the routes hold the tenants only
//! for reading). Nothing here is a source of truth: every view is a pure function of the
//! tenant's fields, made on demand, and [`Tenant::generate`], [`Tenant::mutate`] and
//! [`Tenant::apply`] (writes) drop the whole of it when they are done, so a view never
//! outlives the data it was made from (a clone starts without one). Generation and mutation
//! themselves never read it (they see their own half-made state); writes read it only to
//! check a request, before they change anything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::collections::POLICY_RESULTS;
use super::{id_of, sysinsights, Tenant};

/// Sort orders kept at most; past it the cache starts over (clients may ask any `sort`).
const MAX_ORDERS: usize = 256;

/// One table's rows, made once by whichever request asks first.
type RowsCell = Arc<OnceLock<Arc<Vec<Value>>>>;

/// The derived views of one tenant (see the module docs); empty until first asked.
#[derive(Default)]
pub struct Derived {
    lookup: OnceLock<Lookup>,
    /// table → its rows, each table made once (by whichever request asks first).
    insights: Mutex<HashMap<String, RowsCell>>,
    /// caller's key (list and sort) → positions in sorted order.
    orders: Mutex<HashMap<String, Arc<Vec<usize>>>>,
}

/// A cloned tenant makes its own views: they hold positions into the data they came from.
impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("lookup", &self.lookup.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The indices, made together in one pass over the tenant.
struct Lookup {
    /// collection → id → position of the first object with that id.
    positions: HashMap<&'static str, HashMap<String, usize>>,
    /// member type → member id → the groups that list it directly, in id order, each once.
    parents: HashMap<&'static str, HashMap<String, Vec<String>>>,
    /// `policyID` / `systemID` → that id → positions in the policy results, in stored order.
    results_by: HashMap<&'static str, HashMap<String, Vec<usize>>>,
}

impl Lookup {
    fn new(t: &Tenant) -> Lookup {
        let mut positions: HashMap<&'static str, HashMap<String, usize>> = HashMap::new();
        for (&name, items) in &t.collections {
            let ix = positions.entry(name).or_default();
            for (i, v) in items.iter().enumerate() {
                ix.entry(id_of(v).to_string()).or_insert(i);
            }
        }
        let mut parents: HashMap<&'static str, HashMap<String, Vec<String>>> = HashMap::new();
        for (g, members) in &t.members {
            for (kind, id) in members {
                parents
                    .entry(kind)
                    .or_default()
                    .entry(id.clone())
                    .or_default()
                    .push(g.clone());
            }
        }
        for groups in parents.values_mut().flat_map(HashMap::values_mut) {
            groups.sort_unstable();
            groups.dedup();
        }
        let mut results_by: HashMap<&'static str, HashMap<String, Vec<usize>>> = HashMap::new();
        let results = t.collections.get(POLICY_RESULTS).map(Vec::as_slice);
        for key in ["policyID", "systemID"] {
            let ix = results_by.entry(key).or_default();
            for (i, r) in results.unwrap_or(&[]).iter().enumerate() {
                if let Some(id) = r[key].as_str() {
                    ix.entry(id.to_string()).or_default().push(i);
                }
            }
        }
        Lookup {
            positions,
            parents,
            results_by,
        }
    }
}

impl Tenant {
    fn lookup(&self) -> &Lookup {
        self.derived.lookup.get_or_init(|| Lookup::new(self))
    }

    /// The first object of `collection` (route name) whose `_id` or `id` is `id`.
    pub fn find(&self, collection: &str, id: &str) -> Option<&Value> {
        let i = *self.lookup().positions.get(collection)?.get(id)?;
        self.collections.get(collection)?.get(i)
    }

    /// The ids of the groups that list (`kind`, `id`) among their direct members, in id
    /// order.
    pub(crate) fn parent_groups(&self, kind: &str, id: &str) -> &[String] {
        self.lookup()
            .parents
            .get(kind)
            .and_then(|m| m.get(id))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The policy results whose `key` (`policyID` or `systemID`) is `id`, in stored order.
    pub(crate) fn policy_results_of(&self, key: &str, id: &str) -> Vec<&Value> {
        let results = self
            .collections
            .get(POLICY_RESULTS)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        self.lookup()
            .results_by
            .get(key)
            .and_then(|m| m.get(id))
            .map(|ix| ix.iter().filter_map(|&i| results.get(i)).collect())
            .unwrap_or_default()
    }

    /// Every System Insights row of `table`, exactly as [`sysinsights::rows`] makes them,
    /// made once per table.
    pub fn insight_rows(&self, table: &str) -> Arc<Vec<Value>> {
        if !sysinsights::TABLES.contains(&table) {
            return Arc::default();
        }
        let cell = {
            let mut m = self
                .derived
                .insights
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            m.entry(table.to_string()).or_default().clone()
        };
        // Made outside the map's lock: other tables are made meanwhile, the same one once.
        cell.get_or_init(|| Arc::new(sysinsights::rows(self, table)))
            .clone()
    }

    /// The positions of a list in a sort order, kept under `key` (which must name the list
    /// and the order completely); `make` computes them when they are not kept yet.
    pub(crate) fn sort_order(
        &self,
        key: String,
        make: impl FnOnce() -> Vec<usize>,
    ) -> Arc<Vec<usize>> {
        let lock = || {
            self.derived
                .orders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if let Some(o) = lock().get(&key) {
            return o.clone();
        }
        let order = Arc::new(make());
        let mut m = lock();
        if m.len() >= MAX_ORDERS {
            m.clear();
        }
        m.entry(key).or_insert(order).clone()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::super::{Drift, Mutation, OrgSize};
    use super::*;

    fn tenant() -> Tenant {
        let size = OrgSize {
            users: 60,
            systems: 40,
            user_groups: 8,
            system_groups: 4,
            events: 50,
            ..OrgSize::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        Tenant::generate(0, 3, &size, Drift::default(), now)
    }

    /// What the views must equal: the same questions answered by scanning the data.
    fn check_against_scans(t: &Tenant) {
        for (&name, items) in &t.collections {
            for v in items {
                let first = items.iter().find(|x| id_of(x) == id_of(v));
                assert!(std::ptr::eq(
                    t.find(name, id_of(v)).unwrap(),
                    first.unwrap()
                ));
            }
            assert!(t.find(name, "no-such-id").is_none());
        }
        for kind in ["user", "system", "user_group", "system_group"] {
            let coll = match kind {
                "user" => "systemusers",
                "system" => "systems",
                "user_group" => "usergroups",
                _ => "systemgroups",
            };
            for v in &t.collections[coll] {
                let id = id_of(v);
                let mut scanned: Vec<&str> = t
                    .members
                    .iter()
                    .filter(|(_, m)| m.iter().any(|(k, m)| *k == kind && m == id))
                    .map(|(g, _)| g.as_str())
                    .collect();
                scanned.sort_unstable();
                assert_eq!(t.parent_groups(kind, id), scanned, "{kind} {id}");
            }
        }
        let results = &t.collections[POLICY_RESULTS];
        for key in ["policyID", "systemID"] {
            for r in results {
                let id = r[key].as_str().unwrap();
                let scanned: Vec<&Value> = results
                    .iter()
                    .filter(|x| x[key].as_str() == Some(id))
                    .collect();
                assert_eq!(t.policy_results_of(key, id), scanned);
            }
        }
        for table in ["apps", "users", "patches", "uptime"] {
            assert_eq!(
                *t.insight_rows(table),
                sysinsights::rows(t, table),
                "{table}"
            );
        }
        assert!(t.insight_rows("no_such_table").is_empty());
    }

    #[test]
    fn views_answer_what_scans_answer() {
        check_against_scans(&tenant());
    }

    #[test]
    fn a_mutation_drops_every_view() {
        let mut t = tenant();
        check_against_scans(&t);
        let order = t.sort_order("k".into(), || vec![1, 2, 3]);
        assert_eq!(*order, [1, 2, 3]);
        let m = Mutation {
            add_users: 5,
            remove_users: 7,
            change_users: 3,
            new_results: 20,
            ..Mutation::default()
        };
        let report = t.mutate(&m, Utc.with_ymd_and_hms(2026, 5, 2, 12, 0, 0).unwrap());
        check_against_scans(&t);
        for id in &report.added_users {
            assert!(t.find("systemusers", id).is_some(), "added {id}");
        }
        for id in &report.removed_users {
            assert!(t.find("systemusers", id).is_none(), "removed {id}");
            assert!(t.parent_groups("user", id).is_empty(), "removed {id}");
        }
        // A kept order is gone too: asked again, it is made again.
        assert_eq!(*t.sort_order("k".into(), || vec![9]), [9]);
    }
}
