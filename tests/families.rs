//! The table families beyond the directory collections, against the simulator's org: System
//! Insights (the exact multiset of rows, every value in its column or in `_rescued`, SQL
//! types), effective access (equal to what memberships and associations imply, nested
//! groups included), every association pair type (the exact pairs, asked from the smaller
//! end) and the further collections (exact id sets, fan-outs per parent). One export feeds
//! every check: the org is the simulator's default.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use jclake::model::RunOutcome;
use serde_json::Value;

use crate::util::sim::{self, SimConfig, SimHandle};
use crate::util::{json_rows, parquet_files, read_batches, Export};

fn batches(lake: &Path, table: &str) -> Vec<RecordBatch> {
    read_batches(&parquet_files(&lake.join(table)))
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let c = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("column {column}"));
        let a = c.as_string::<i32>();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
    }
    out
}

fn pairs(batches: &[RecordBatch], a: &str, b: &str) -> Vec<(String, String)> {
    strings(batches, a)
        .into_iter()
        .zip(strings(batches, b))
        .map(|(x, y)| (x.expect("a"), y.expect("b")))
        .collect()
}

/// A value as both the wire and the lake can hold it: numbers (sent as text or not, flags
/// as 0/1) as numbers, timestamps (any letter case) as epoch milliseconds, text as text.
fn norm(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(format!("n:{}", u8::from(*b))),
        Value::Number(n) => Some(format!("n:{}", n.as_f64().expect("f64"))),
        Value::String(s) => {
            if let Some(f) = s.parse::<f64>().ok().filter(|f| f.is_finite()) {
                return Some(format!("n:{f}"));
            }
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&s.to_ascii_uppercase()) {
                return Some(format!("t:{}", t.timestamp_millis()));
            }
            Some(format!("s:{s}"))
        }
        other => Some(format!("j:{other}")),
    }
}

/// A JSON value flattened to `path = normalised scalar` lines: objects by key (`a/b`),
/// arrays whole (elements normalised), nulls left out, as both the wire and the lake can
/// be read.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}/{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|x| {
                    let mut o = Vec::new();
                    flatten("", x, &mut o);
                    o.sort();
                    o.join(",")
                })
                .collect();
            out.push(format!("{prefix}=[{}]", inner.join(";")));
        }
        scalar => out.extend(norm(scalar).map(|n| format!("{prefix}={n}"))),
    }
}

/// One record as one comparable line.
fn canonical(record: &Value) -> String {
    let mut lines = Vec::new();
    flatten("", record, &mut lines);
    lines.sort();
    lines.join("\u{1f}")
}

/// A lake value put back in the wire's shape: struct fields under their source keys, JSON
/// text parsed.
fn unlake(field: &arrow::datatypes::Field, v: &Value) -> Value {
    if field.metadata().contains_key("jclake.json") {
        return v
            .as_str()
            .map(|t| serde_json::from_str(t).expect("json text"))
            .unwrap_or(Value::Null);
    }
    match (field.data_type(), v) {
        (DataType::Struct(children), Value::Object(m)) => {
            let mut out = serde_json::Map::new();
            for c in children {
                if let Some(x) = m.get(c.name()) {
                    let key = c
                        .metadata()
                        .get("jclake.source")
                        .cloned()
                        .unwrap_or_else(|| c.name().clone());
                    insert_path(&mut out, &key, unlake(c, x));
                }
            }
            Value::Object(out)
        }
        (DataType::List(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|x| unlake(item, x)).collect())
        }
        _ => v.clone(),
    }
}

/// `a/b` → `{"a": {"b": v}}` inside `out`.
fn insert_path(out: &mut serde_json::Map<String, Value>, path: &str, v: Value) {
    match path.split_once('/') {
        None => {
            out.insert(path.to_string(), v);
        }
        Some((head, rest)) => {
            let slot = out
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(m) = slot {
                insert_path(m, rest, v);
            }
        }
    }
}

/// Every row of a lake table put back as the record it came from: each column's value
/// under its source path (computed `$` columns left out), each rescued value under its own.
fn source_records(batches: &[RecordBatch]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        for row in json_rows(b) {
            let mut rec = serde_json::Map::new();
            for (col, v) in row.as_object().expect("row") {
                if col == "_rescued" {
                    let r: Value = serde_json::from_str(v.as_str().expect("text")).expect("json");
                    for (k, x) in r.as_object().expect("object") {
                        insert_path(&mut rec, k, x.clone());
                    }
                    continue;
                }
                let field = schema.field_with_name(col).expect("field");
                let source = field
                    .metadata()
                    .get("jclake.source")
                    .cloned()
                    .unwrap_or_else(|| col.clone());
                if !source.starts_with('$') {
                    insert_path(&mut rec, &source, unlake(field, v));
                }
            }
            out.push(Value::Object(rec));
        }
    }
    out
}

/// The lake table holds exactly `wire`: record for record, every value in its column or in
/// `_rescued`.
fn holds_exactly(lake: &Path, table: &str, wire: &[Value]) {
    let got = batches(lake, table);
    let mut have: Vec<String> = source_records(&got).iter().map(canonical).collect();
    let mut want: Vec<String> = wire.iter().map(canonical).collect();
    have.sort();
    want.sort();
    assert_eq!(have.len(), want.len(), "{table}: rows");
    if let Some((h, w)) = have.iter().zip(&want).find(|(h, w)| h != w) {
        panic!("{table}: a record differs\nlake: {h}\nwire: {w}");
    }
}

async fn exported() -> (SimHandle, tempfile::TempDir) {
    let sim = sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = Export::new(sim.base_url(), dir.path().join("lake").display())
        .arg("--snapshot-date", "2026-11-20")
        .run()
        .await;
    let failed: Vec<_> = run
        .tables
        .iter()
        .filter(|t| t.error.is_some())
        .map(|t| (&t.table, &t.error))
        .collect();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{failed:?}");
    (sim, dir)
}

#[tokio::test]
async fn every_family_lands_whole_and_exactly_as_the_org_holds_it() {
    let (sim, dir) = exported().await;
    let lake = dir.path().join("lake");
    let defaults = jclake::catalog::DEFAULT_INSIGHTS;
    for r in jclake::catalog::resources() {
        let exported = match r.fetch {
            jclake::catalog::Fetch::Insights { name } => defaults.contains(&name),
            _ => true,
        };
        assert_eq!(lake.join(r.table).exists(), exported, "{}", r.table);
    }
    system_insights(&sim, &lake);
    effective_access(&sim, &lake);
    associations(&sim, &lake);
    collections(&sim, &lake);
    assert_eq!(
        sim.stats().fdekey_requests,
        0,
        "recovery keys are never fetched"
    );

    // The plan asks each edge from its smaller end: 120 systems, not 250 users.
    let e = Export::new(sim.base_url(), lake.display());
    let cfg = e.config();
    let client = jclake::export::client(&cfg).expect("client");
    let plan = jclake::export::plan::plan(&cfg, &client)
        .await
        .expect("plan");
    let line = |t: &str| plan.iter().find(|l| l.table == t).expect("planned").clone();
    let usa = line("user_system_associations");
    assert_eq!(
        usa.endpoint,
        "GET /api/v2/systems/{id}/associations?targets=user for each of /systems"
    );
    assert_eq!(usa.requests, Some(2 + 120));
    assert!(usa.basis.contains("250 at the other"), "{}", usa.basis);
    let apps = line("system_insights_apps");
    assert!(apps
        .endpoint
        .starts_with("GET /api/v2/systeminsights/apps?limit=10000"));
}

fn system_insights(sim: &SimHandle, lake: &Path) {
    let defaults = jclake::catalog::DEFAULT_INSIGHTS;
    assert_eq!(defaults.len(), 14);
    for name in defaults {
        let table = format!("system_insights_{name}");
        let got = batches(lake, &table);
        let wire = sim.system_insights(0, name);
        assert!(!wire.is_empty(), "{name}: the org has rows");
        holds_exactly(lake, &table, &wire);
        // Only a value that does not parse is rescued.
        let rescued = strings(&got, "_rescued").into_iter().flatten().count();
        let unparsable = match *name {
            "linux_packages" | "users" => 1,
            _ => 0,
        };
        assert_eq!(rescued > 0, unparsable > 0, "{table}: rescued {rescued}");
    }
    let ty = |table: &str, column: &str| -> DataType {
        let b = batches(lake, &format!("system_insights_{table}"));
        b[0].schema()
            .field_with_name(column)
            .unwrap_or_else(|_| panic!("{table}.{column}"))
            .data_type()
            .clone()
    };
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(ty("system_info", "physical_memory"), DataType::Int64);
    assert_eq!(ty("uptime", "total_seconds"), DataType::Int64);
    assert_eq!(ty("users", "uid"), DataType::Int64);
    assert_eq!(ty("linux_packages", "size"), DataType::Int64);
    assert_eq!(ty("disk_encryption", "encrypted"), DataType::Boolean);
    assert_eq!(ty("chrome_extensions", "persistent"), DataType::Boolean);
    assert_eq!(ty("apps", "last_opened_time"), DataType::Float64);
    assert_eq!(ty("chrome_extensions", "collection_time"), ts);
    assert_eq!(ty("programs", "install_date"), DataType::Utf8);
    // The lower-case timestamps of chrome_extensions are read, not rescued.
    let chrome = batches(lake, "system_insights_chrome_extensions");
    let with_time = sim
        .system_insights(0, "chrome_extensions")
        .iter()
        .filter(|r| r.get("collection_time").is_some())
        .count();
    let t = chrome
        .iter()
        .map(|b| {
            b.column_by_name("collection_time").expect("ct").len()
                - b.column_by_name("collection_time")
                    .expect("ct")
                    .null_count()
        })
        .sum::<usize>();
    assert_eq!(t, with_time);
}

/// Users of a user group, nested groups included.
fn users_of(sim: &SimHandle, group: &str, seen: &mut BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !seen.insert(group.to_string()) {
        return out;
    }
    for (kind, id) in sim.members(0, group) {
        match kind.as_str() {
            "user" => {
                out.insert(id);
            }
            "user_group" => out.extend(users_of(sim, &id, seen)),
            _ => {}
        }
    }
    out
}

fn effective_access(sim: &SimHandle, lake: &Path) {
    let edges = sim.edges(0);
    let linked = |a: &str, b: &str| -> Vec<(String, String)> {
        edges
            .iter()
            .filter_map(|(at, ai, bt, bi, _)| {
                if at == a && bt == b {
                    Some((ai.clone(), bi.clone()))
                } else if at == b && bt == a {
                    Some((bi.clone(), ai.clone()))
                } else {
                    None
                }
            })
            .collect()
    };
    let groups = |g: &str| users_of(sim, g, &mut BTreeSet::new());
    let systems_of = |sg: &str| -> BTreeSet<String> {
        sim.members(0, sg)
            .into_iter()
            .filter(|(k, _)| k == "system")
            .map(|(_, id)| id)
            .collect()
    };
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    let mut direct: BTreeSet<(String, String)> = BTreeSet::new();
    for (u, s) in linked("user", "system") {
        direct.insert((s.clone(), u.clone()));
        expected.insert((s, u));
    }
    for (g, s) in linked("user_group", "system") {
        expected.extend(groups(&g).into_iter().map(|u| (s.clone(), u)));
    }
    for (u, sg) in linked("user", "system_group") {
        expected.extend(systems_of(&sg).into_iter().map(|s| (s, u.clone())));
    }
    for (g, sg) in linked("user_group", "system_group") {
        for s in systems_of(&sg) {
            expected.extend(groups(&g).into_iter().map(|u| (s.clone(), u)));
        }
    }
    let got = batches(lake, "user_system_access");
    let rows = pairs(&got, "system_id", "user_id");
    assert_eq!(
        rows.len(),
        expected.len(),
        "user_system_access: one row per pair"
    );
    assert_eq!(rows.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let flags: Vec<bool> = got
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("direct")
                .expect("direct")
                .as_boolean()
                .clone();
            (0..a.len()).map(move |i| a.value(i))
        })
        .collect();
    for ((s, u), d) in rows.iter().zip(flags) {
        assert_eq!(
            d,
            direct.contains(&(s.clone(), u.clone())),
            "direct {s} {u}"
        );
    }
    // Someone reaches a system only through a nested group.
    let nested = sim.ids(0, "usergroups").into_iter().any(|g| {
        sim.members(0, &g).iter().any(|(k, _)| k == "user_group")
            && linked("user_group", "system").iter().any(|(x, _)| *x == g)
    });
    assert!(nested, "the org has access through a nested group");

    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for (a, u) in linked("application", "user") {
        expected.insert((a, u));
    }
    for (a, g) in linked("application", "user_group") {
        expected.extend(groups(&g).into_iter().map(|u| (a.clone(), u)));
    }
    let got = batches(lake, "user_application_access");
    let rows = pairs(&got, "application_id", "user_id");
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows.into_iter().collect::<BTreeSet<_>>(), expected);
}

fn associations(sim: &SimHandle, lake: &Path) {
    // Workday directories have no association routes in the API description.
    let dirs = ["ldap_server", "g_suite", "office_365", "active_directory"];
    let edges = sim.edges(0);
    let mut total = 0;
    for (table, a, b) in [
        ("user_system_associations", "user", "system"),
        (
            "application_user_group_associations",
            "application",
            "user_group",
        ),
        (
            "user_group_system_group_associations",
            "user_group",
            "system_group",
        ),
        ("policy_system_group_associations", "policy", "system_group"),
        (
            "radius_server_user_group_associations",
            "radius_server",
            "user_group",
        ),
        ("user_group_system_associations", "user_group", "system"),
        ("user_system_group_associations", "system_group", "user"),
        ("application_user_associations", "application", "user"),
        ("radius_server_user_associations", "radius_server", "user"),
        ("directory_user_associations", "directory", "user"),
        (
            "directory_user_group_associations",
            "directory",
            "user_group",
        ),
        ("command_system_associations", "command", "system"),
        (
            "command_system_group_associations",
            "command",
            "system_group",
        ),
        ("policy_system_associations", "policy", "system"),
        ("software_app_system_associations", "software_app", "system"),
        (
            "software_app_system_group_associations",
            "software_app",
            "system_group",
        ),
    ] {
        let is = |t: &str, want: &str| t == want || (want == "directory" && dirs.contains(&t));
        let mut expected = BTreeSet::new();
        let mut bound: BTreeMap<(String, String), Value> = BTreeMap::new();
        for (at, ai, bt, bi, attrs) in &edges {
            let pair = if is(at, a) && is(bt, b) {
                (ai.clone(), bi.clone())
            } else if is(bt, a) && is(at, b) {
                (bi.clone(), ai.clone())
            } else {
                continue;
            };
            expected.insert(pair.clone());
            bound.insert(pair, attrs.clone());
        }
        assert!(!expected.is_empty(), "{table}: the org has such edges");
        let got = batches(lake, table);
        let schema = got[0].schema();
        let (ca, cb) = (
            schema.field(0).name().clone(),
            schema.field(1).name().clone(),
        );
        let rows = pairs(&got, &ca, &cb);
        assert_eq!(rows.len(), expected.len(), "{table}: each edge once");
        // The binding's attributes (sudo) are the edge's, whichever end was asked.
        for (pair, attrs) in rows.iter().zip(strings(&got, "attributes")) {
            let attrs: Value =
                attrs.map_or(Value::Null, |t| serde_json::from_str(&t).expect("json"));
            assert_eq!(&attrs, &bound[pair], "{table} {pair:?}");
        }
        assert_eq!(
            rows.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{table}"
        );
        // Whichever end it was asked from, a row names the forward target's type.
        let types: BTreeSet<String> = strings(&got, "target_type").into_iter().flatten().collect();
        assert_eq!(types.len(), 1, "{table}: {types:?}");
        let t = types.into_iter().next().unwrap_or_default();
        assert!(is(&t, b), "{table}: target type {t}, expected {b}");
        total += expected.len();
    }
    assert!(total > 0);
}

fn collections(sim: &SimHandle, lake: &Path) {
    let ids = |table: &str| -> BTreeSet<String> {
        strings(&batches(lake, table), "id")
            .into_iter()
            .map(|i| i.expect("id"))
            .collect()
    };
    for (table, route) in [
        ("administrators", "users"),
        ("authn_policies", "authn/policies"),
        ("ip_lists", "iplists"),
        ("software_apps", "softwareapps"),
        ("apple_mdms", "applemdms"),
        ("command_results", "commandresults"),
        ("policy_results", "policyresults"),
    ] {
        let expected: BTreeSet<String> = sim
            .records(0, route)
            .iter()
            .map(|r| sim::id_of(r).to_string())
            .collect();
        assert!(!expected.is_empty(), "{table}: the org has some");
        assert_eq!(ids(table), expected, "{table}");
        let n = batches(lake, table)
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>();
        assert_eq!(n, expected.len(), "{table}: each once");
        holds_exactly(lake, table, &sim.records(0, route));
    }
    let every = |parents: Vec<String>, f: &dyn Fn(&str) -> Vec<Value>| -> Vec<Value> {
        parents.iter().flat_map(|p| f(p)).collect()
    };
    holds_exactly(
        lake,
        "policy_statuses",
        &every(sim.ids(0, "policies"), &|p| sim.policy_statuses(0, p)),
    );
    holds_exactly(
        lake,
        "software_app_statuses",
        &every(sim.ids(0, "softwareapps"), &|p| {
            sim.software_app_statuses(0, p)
        }),
    );
    holds_exactly(
        lake,
        "apple_mdm_devices",
        &every(sim.ids(0, "applemdms"), &|p| sim.apple_mdm_devices(0, p)),
    );
    holds_exactly(
        lake,
        "user_push_endpoints",
        &every(sim.ids(0, "systemusers"), &|p| sim.push_endpoints(0, p)),
    );
    let per_parent = |table: &str, parent_col: &str| -> BTreeMap<String, BTreeSet<String>> {
        let b = batches(lake, table);
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (p, i) in pairs(&b, parent_col, "id") {
            m.entry(p).or_default().insert(i);
        }
        m
    };
    let expect = |parents: Vec<String>, f: &dyn Fn(&str) -> Vec<Value>| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in parents {
            let got: BTreeSet<String> = f(&p).iter().map(|r| sim::id_of(r).to_string()).collect();
            if !got.is_empty() {
                m.insert(p, got);
            }
        }
        m
    };
    let policies = sim.ids(0, "policies");
    let statuses = per_parent("policy_statuses", "policy_id");
    assert_eq!(statuses, expect(policies, &|p| sim.policy_statuses(0, p)));
    let apps = sim.ids(0, "softwareapps");
    assert_eq!(
        per_parent("software_app_statuses", "software_app_id"),
        expect(apps, &|p| sim.software_app_statuses(0, p))
    );
    let mdms = sim.ids(0, "applemdms");
    assert_eq!(
        per_parent("apple_mdm_devices", "apple_mdm_id"),
        expect(mdms, &|p| sim.apple_mdm_devices(0, p))
    );
    let users = sim.ids(0, "systemusers");
    let push = per_parent("user_push_endpoints", "user_id");
    assert!(!push.is_empty());
    assert_eq!(push, expect(users, &|u| sim.push_endpoints(0, u)));
}

/// The ids of every partition of a table, by partition folder.
fn ids_by_partition(lake: &Path, table: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in parquet_files(&lake.join(table)) {
        let part = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let b = read_batches(&[f]);
        out.entry(part)
            .or_default()
            .extend(strings(&b, "id").into_iter().flatten());
    }
    // A day without new records may hold an empty file (it carries the schema).
    out.retain(|_, ids| !ids.is_empty());
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

fn sorted_ids(records: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| sim::id_of(r).to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn results_are_a_history_each_record_once_with_full_command_output() {
    let sim = sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let export = |date: &str, per_run: usize| {
        Export::new(sim.base_url(), lake.display())
            .arg("--snapshot-date", date)
            .arg("--tables", "command_results,policy_results")
            .settings(&format!("command_results_per_run = {per_run}"))
    };
    // A run fetches the full output of at most `per_run` results, oldest first.
    let all_commands = sim.records(0, "commandresults");
    let done: Vec<&Value> = all_commands
        .iter()
        .filter(|r| r.get("responseTime").is_some())
        .collect();
    assert!(done.len() > 30, "{}", done.len());
    let run = export("2026-11-20", 20).run().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    let first = ids_by_partition(&lake, "command_results");
    let mut by_time: Vec<(&str, &str)> = done
        .iter()
        .map(|r| (r["responseTime"].as_str().expect("time"), sim::id_of(r)))
        .collect();
    by_time.sort();
    let mut oldest: Vec<String> = by_time[..20].iter().map(|(_, id)| id.to_string()).collect();
    oldest.sort();
    assert_eq!(first["snapshot_date=2026-11-20"], oldest);
    // A rerun the same day rebuilds the day and takes its own share of the backlog.
    export("2026-11-20", 20).run().await;
    let again = ids_by_partition(&lake, "command_results");
    assert_eq!(again["snapshot_date=2026-11-20"].len(), 40);
    assert!(oldest
        .iter()
        .all(|id| again["snapshot_date=2026-11-20"].contains(id)));
    // The rest follows the next day, and the whole policy history came at once.
    export("2026-11-21", 10_000).run().await;
    let second = ids_by_partition(&lake, "command_results");
    assert_eq!(
        second["snapshot_date=2026-11-21"].len(),
        done.len() - 40,
        "the rest"
    );
    let policy = ids_by_partition(&lake, "policy_results");
    assert_eq!(policy.len(), 1);
    assert_eq!(
        policy["snapshot_date=2026-11-20"],
        sorted_ids(&sim.records(0, "policyresults"))
    );

    // Output is whole, not the list's 40 characters.
    let full: BTreeMap<String, String> = done
        .iter()
        .map(|r| {
            (
                sim::id_of(r).to_string(),
                r["response"]["data"]["output"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert!(full.values().any(|o| o.chars().count() > 40));
    let b = batches(&lake, "command_results");
    let outputs: Vec<Option<String>> = b
        .iter()
        .flat_map(|b| {
            let r = b.column_by_name("response").expect("response").as_struct();
            let d = r.column_by_name("data").expect("data").as_struct();
            let o = d
                .column_by_name("output")
                .expect("output")
                .as_string::<i32>()
                .clone();
            (0..o.len()).map(move |i| o.is_valid(i).then(|| o.value(i).to_string()))
        })
        .collect();
    let ids: Vec<String> = strings(&b, "id").into_iter().flatten().collect();
    for (id, out) in ids.iter().zip(outputs) {
        assert_eq!(out.unwrap_or_default(), full[id], "{id}: full output");
    }

    // New results land in the next day's partition only; a rerun that day rebuilds it.
    let report = sim.mutate(
        0,
        &sim::Mutation {
            new_results: 6,
            ..Default::default()
        },
    );
    assert!(report.new_policy_results > 0 && report.new_command_results > 0);
    export("2026-11-22", 10_000).run().await;
    export("2026-11-22", 10_000).run().await;
    let policy = ids_by_partition(&lake, "policy_results");
    assert_eq!(
        policy["snapshot_date=2026-11-22"].len(),
        report.new_policy_results
    );
    let commands = ids_by_partition(&lake, "command_results");
    assert_eq!(
        commands["snapshot_date=2026-11-22"].len(),
        report.new_command_results
    );
    for (table, route) in [
        ("policy_results", "policyresults"),
        ("command_results", "commandresults"),
    ] {
        let mut union: Vec<String> = ids_by_partition(&lake, table)
            .into_values()
            .flatten()
            .collect();
        union.sort();
        let expected: Vec<String> = sorted_ids(
            &sim.records(0, route)
                .into_iter()
                .filter(|r| route != "commandresults" || r.get("responseTime").is_some())
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            union, expected,
            "{table}: every record once across the days"
        );
    }
    // A run for an earlier day would rewrite that day's history: refused, nothing touched.
    let before = ids_by_partition(&lake, "command_results");
    let run = export("2026-11-21", 10_000).run().await;
    assert_eq!(run.outcome, RunOutcome::Failed);
    let err = run.tables[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("is a history committed through the run of 2026-11-22"),
        "{err}"
    );
    assert_eq!(ids_by_partition(&lake, "command_results"), before);
    // Retention never retires a history.
    let run = export("2026-11-23", 10_000)
        .arg("--keep-snapshots", 1)
        .run()
        .await;
    assert!(run.retired.is_empty(), "{:?}", run.retired);
}
