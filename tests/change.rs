//! `jclake plan` against the simulator: a desired CSV made from the org with known
//! differences gives exactly those changes, exit 10; the org itself gives none, exit 0;
//! bad input is refused with one line and exit 2. `jclake apply` against the simulator's
//! write routes, with writes answered 502 after being made.

use std::collections::BTreeSet;
use std::process::Command;

use jclake_sim::{self as sim, SimConfig};
use serde_json::Value;

use crate::util::Output;

fn plan(base: &str, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jclake"));
    c.arg("plan")
        .args(args)
        .args(["--base-url", base])
        .current_dir(dir)
        .env("JCLAKE_LOG", "warn")
        .env("JUMPCLOUD_API_KEY", "sim-api-key");
    Output::of(&mut c)
}

fn text(u: &Value, f: &str) -> String {
    match &u[f] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desired_csv_plans_exactly_its_differences() {
    let sim = sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let users = sim.records(0, "systemusers");
    assert!(users.len() >= 200);
    let mut csv = String::from("username,email,department,state\n");
    let (mut updated, mut suspended) = (0, 0);
    for (i, u) in users.iter().take(200).enumerate() {
        let mut dept = text(u, "department");
        let live_state = text(u, "state");
        let mut state = if live_state == "STAGED" {
            String::new()
        } else {
            live_state.clone()
        };
        if i % 10 == 0 {
            dept = format!("Dept {i}");
            updated += 1;
        }
        if i % 25 == 1 && live_state == "ACTIVATED" {
            state = "suspended".into();
            suspended += 1;
        }
        csv.push_str(&format!(
            "{},{},{dept},{state}\n",
            text(u, "username"),
            text(u, "email")
        ));
    }
    for i in 0..7 {
        csv.push_str(&format!("hire{i},hire{i}@example.com,Sales,ACTIVATED\n"));
    }
    std::fs::write(dir.path().join("hr.csv"), &csv).expect("write");

    // One group given one member less and one new; a new group of two.
    let groups = sim.records(0, "usergroups");
    let g = &groups[0];
    let ids: BTreeSet<String> = users.iter().map(|u| text(u, "_id")).collect();
    let current: Vec<String> = sim
        .members(0, &text(g, "id"))
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .filter(|x| ids.contains(x))
        .collect();
    assert!(current.len() >= 2, "{current:?}");
    let name_of = |id: &str| {
        users
            .iter()
            .find(|u| text(u, "_id") == id)
            .map(|u| text(u, "username"))
            .expect("member is a user")
    };
    let mut m = String::from("group,username\n");
    for id in &current[1..] {
        m.push_str(&format!("{},{}\n", text(g, "name"), name_of(id)));
    }
    m.push_str(&format!(
        "{},hire0\nBrand New,hire1\nBrand New,{}\n",
        text(g, "name"),
        name_of(&current[0])
    ));
    std::fs::write(dir.path().join("members.csv"), &m).expect("write");

    let base = sim.base_url().to_string();
    let out = plan(
        &base,
        dir.path(),
        &[
            "--desired",
            "hr.csv",
            "--memberships",
            "members.csv",
            "--out",
            "plan.json",
        ],
    );
    out.expect_code(10);
    let stdout = &out.stdout;
    for (label, n) in [
        ("users to create", 7),
        ("users to update", updated),
        ("users to suspend", suspended),
        ("groups to create", 1),
        ("members to add", 3),
        ("members to remove", 1),
        ("users to delete", 0),
    ] {
        assert!(
            stdout.contains(&format!("  {label:<20} {n}\n")),
            "{label} {n}:\n{stdout}"
        );
    }
    let p: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).expect("plan"))
            .expect("json");
    let changes = p["changes"].as_array().expect("changes");
    assert_eq!(
        changes.len(),
        7 + updated + suspended - overlap(&users, 200) + 1 + 3 + 1
    );
    assert_eq!(changes[0]["op"], "create_group");
    assert!(
        !String::from_utf8_lossy(&std::fs::read(dir.path().join("plan.json")).expect("plan"))
            .contains("sim-api-key")
    );

    // The org as desired state: nothing to do.
    let mut same = String::from("username,email,department\n");
    for u in users.iter().take(50) {
        same.push_str(&format!(
            "{},{},{}\n",
            text(u, "username"),
            text(u, "email"),
            text(u, "department")
        ));
    }
    std::fs::write(dir.path().join("same.csv"), &same).expect("write");
    let out = plan(&base, dir.path(), &["--desired", "same.csv"]);
    out.expect_code(0);
    assert!(out.stdout.contains("no changes"), "{}", out.stdout);

    std::fs::write(
        dir.path().join("pw.csv"),
        "username,email,Password\na,a@x.org,secret\n",
    )
    .expect("write");
    let out = plan(&base, dir.path(), &["--desired", "pw.csv"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("column \"Password\": jclake never sets passwords"),
        "{}",
        out.stderr
    );
    let out = plan(
        &base,
        dir.path(),
        &["--desired", "hr.csv", "--delete-missing"],
    );
    out.expect_code(2);
    assert!(
        out.stderr.contains("--delete-missing needs --scope"),
        "{}",
        out.stderr
    );
    sim.shutdown();
}

/// Users among the first `n` both updated (every 10th) and suspended (every 25th from 1):
/// one change each. Indexes 10k and 25j+1 never meet below 200 except where both hold.
fn overlap(users: &[Value], n: usize) -> usize {
    (0..n)
        .filter(|i| i % 10 == 0 && i % 25 == 1 && text(&users[*i], "state") == "ACTIVATED")
        .count()
}

fn apply(base: &str, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jclake"));
    c.arg("apply")
        .args(args)
        .args(["--base-url", base, "--lake", "lake"])
        .current_dir(dir)
        .env("JCLAKE_LOG", "warn")
        .env("JUMPCLOUD_API_KEY", "sim-api-key");
    Output::of(&mut c)
}

/// A desired CSV → plan → apply: the org holds the desired state; the same apply again
/// writes nothing; with writes answered 502 after being made, no user or membership is
/// made twice; a plan whose user changed since is refused and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_makes_the_org_the_desired_state_once() {
    let sim = sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = sim.base_url().to_string();
    let users = sim.records(0, "systemusers");
    let mut csv = String::from("username,email,department,state\n");
    for (i, u) in users.iter().take(100).enumerate() {
        let dept = if i % 10 == 0 {
            format!("Dept {i}")
        } else {
            text(u, "department")
        };
        let state = match (i % 20 == 3, text(u, "state").as_str()) {
            (true, _) => "SUSPENDED".to_string(),
            (false, "STAGED") => String::new(),
            (false, s) => s.to_string(),
        };
        csv.push_str(&format!(
            "{},{},{dept},{state}\n",
            text(u, "username"),
            text(u, "email")
        ));
    }
    for i in 0..20 {
        csv.push_str(&format!("hire{i},hire{i}@example.com,Sales,ACTIVATED\n"));
    }
    std::fs::write(dir.path().join("hr.csv"), &csv).expect("write");
    let mut m = String::from("group,username\n");
    for i in 0..20 {
        m.push_str(&format!("Hires,hire{i}\n"));
    }
    std::fs::write(dir.path().join("members.csv"), &m).expect("write");
    // One write in twenty is made and then answered 502.
    sim.set_faults(jclake_sim::Faults {
        applied_then_502_rate: 0.05,
        ..Default::default()
    });
    plan(
        &base,
        dir.path(),
        &[
            "--desired",
            "hr.csv",
            "--memberships",
            "members.csv",
            "--out",
            "plan.json",
        ],
    )
    .expect_code(10);
    let out = apply(&base, dir.path(), &["plan.json"]);
    out.expect_code(0);
    let stats = sim.stats();
    assert!(
        stats.writes_then_502 >= 1,
        "no write was answered 502: {stats:?}"
    );
    assert_eq!(stats.user_creates, 20, "{stats:?}");
    assert_eq!(stats.group_creates, 1, "{stats:?}");
    assert_eq!(stats.member_adds, 20, "{stats:?}");
    let now = sim.records(0, "systemusers");
    assert_eq!(now.len(), users.len() + 20);
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let u = now
            .iter()
            .find(|u| text(u, "username") == f[0])
            .expect("user exists");
        assert_eq!(text(u, "department"), f[2], "{}", f[0]);
        if !f[3].is_empty() {
            assert_eq!(text(u, "state"), f[3], "{}", f[0]);
        }
    }
    let group = sim
        .records(0, "usergroups")
        .into_iter()
        .find(|g| text(g, "name") == "Hires")
        .expect("group created");
    assert_eq!(sim.members(0, &text(&group, "id")).len(), 20);
    // The same plan again: nothing written.
    sim.set_faults(jclake_sim::Faults::default());
    let before = sim.stats();
    let out = apply(&base, dir.path(), &["plan.json"]);
    out.expect_code(0);
    let after = sim.stats();
    assert_eq!(
        (after.user_creates, after.user_updates, after.member_adds),
        (before.user_creates, before.user_updates, before.member_adds)
    );
    assert!(
        out.stdout
            .contains("this run 0 applied, 0 already done, 0 failed"),
        "{}",
        out.stdout
    );
    // A new plan, then its user changes behind its back: refused, nothing written.
    let csv2 = csv.replace(
        "hire0,hire0@example.com,Sales",
        "hire0,hire0@example.com,Legal",
    );
    std::fs::write(dir.path().join("hr2.csv"), &csv2).expect("write");
    plan(
        &base,
        dir.path(),
        &["--desired", "hr2.csv", "--out", "plan2.json"],
    )
    .expect_code(10);
    let hire0 = sim
        .records(0, "systemusers")
        .into_iter()
        .find(|u| text(u, "username") == "hire0")
        .expect("hire0");
    let c = reqwest::Client::new();
    let r = c
        .put(format!("{base}/api/systemusers/{}", text(&hire0, "_id")))
        .header("x-api-key", "sim-api-key")
        .header("content-type", "application/json")
        .body(r#"{"department": "Ops"}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    let before = sim.stats();
    let out = apply(&base, dir.path(), &["plan2.json"]);
    out.expect_code(11);
    assert!(
        out.stderr
            .contains("user hire0: the user changed since the plan"),
        "{}",
        out.stderr
    );
    assert_eq!(sim.stats().user_updates, before.user_updates);
    sim.shutdown();
}
