//! `jclake plan` against the simulator: a desired CSV made from the org with known
//! differences gives exactly those changes, exit 10; the org itself gives none, exit 0;
//! bad input is refused with one line and exit 2. (`apply` needs the simulator's write
//! routes; its end-to-end tests come with them.)

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
