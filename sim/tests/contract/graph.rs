//! The v2 graph: every association pair type the API offers is present in the default org;
//! `associations?targets=` agrees from both ends with `edges()`, answers 400 for a target
//! the route does not offer and 404 for an id of another type; the traversal routes
//! (`/systems/{id}/users`, `/applications/{id}/users`, `/users/{id}/systems`, …) return
//! exactly what memberships and associations imply, computed here independently from
//! `members()` and `edges()`: the set of objects, every path (from the queried object to the
//! result) and the compiled sudo attributes. `/usergroups/{id}/users` does not exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::*;

type Node = (String, String);

fn node(kind: &str, id: &str) -> Node {
    (kind.to_string(), id.to_string())
}

/// The v2 route of a graph type.
fn route_of(kind: &str) -> &'static str {
    match kind {
        "user" => "users",
        "system" => "systems",
        "user_group" => "usergroups",
        "system_group" => "systemgroups",
        "application" => "applications",
        "policy" => "policies",
        "command" => "commands",
        "radius_server" => "radiusservers",
        "ldap_server" => "ldapservers",
        "g_suite" => "gsuites",
        "office_365" => "office365s",
        "active_directory" => "activedirectories",
        "workday" => "workdays",
        "software_app" => "softwareapps",
        other => panic!("no route for {other}"),
    }
}

const DIRECTORIES: &[&str] = &[
    "g_suite",
    "office_365",
    "ldap_server",
    "active_directory",
    "workday",
];

/// The association targets each route offers (the reference's §4 and §2).
fn offered(kind: &str) -> &'static [&'static str] {
    match kind {
        "user" | "user_group" => &[
            "active_directory",
            "application",
            "g_suite",
            "ldap_server",
            "office_365",
            "radius_server",
            "system",
            "system_group",
            "workday",
        ],
        "system" | "system_group" => &["command", "policy", "policy_group", "user", "user_group"],
        "policy" | "command" | "software_app" => &["system", "system_group"],
        _ => &["user", "user_group"],
    }
}

/// The org's graph, read through the test accessors only.
struct Graph {
    /// (type, id) → direct members.
    members: HashMap<Node, Vec<Node>>,
    /// member → the groups that directly contain it.
    parents: HashMap<Node, Vec<Node>>,
    /// (type, id) → (other end, attributes) of every edge.
    adj: HashMap<Node, Vec<(Node, Value)>>,
    /// graph type → ids.
    objects: BTreeMap<String, Vec<String>>,
    edges: Vec<(Node, Node, Value)>,
}

fn graph(h: &SimHandle) -> Graph {
    let mut objects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, coll) in [
        ("user", "systemusers"),
        ("system", "systems"),
        ("user_group", "usergroups"),
        ("system_group", "systemgroups"),
        ("application", "applications"),
        ("policy", "policies"),
        ("command", "commands"),
        ("radius_server", "radiusservers"),
        ("software_app", "softwareapps"),
    ] {
        objects.insert(kind.into(), h.ids(0, coll));
    }
    for d in h.records(0, "directories") {
        objects
            .entry(str_field(&d, "type").to_string())
            .or_default()
            .push(str_field(&d, "id").to_string());
    }
    let mut members = HashMap::new();
    let mut parents: HashMap<Node, Vec<Node>> = HashMap::new();
    for kind in ["user_group", "system_group"] {
        for g in &objects[kind] {
            let m: Vec<Node> = h.members(0, g);
            for x in &m {
                parents.entry(x.clone()).or_default().push(node(kind, g));
            }
            members.insert(node(kind, g), m);
        }
    }
    let mut adj: HashMap<Node, Vec<(Node, Value)>> = HashMap::new();
    let mut edges = Vec::new();
    for (at, a, bt, b, attrs) in h.edges(0) {
        let (x, y) = ((at, a), (bt, b));
        adj.entry(x.clone())
            .or_default()
            .push((y.clone(), attrs.clone()));
        adj.entry(y.clone())
            .or_default()
            .push((x.clone(), attrs.clone()));
        edges.push((x, y, attrs));
    }
    Graph {
        members,
        parents,
        adj,
        objects,
        edges,
    }
}

impl Graph {
    fn exists(&self, n: &Node) -> bool {
        self.objects.get(&n.0).is_some_and(|ids| ids.contains(&n.1))
    }

    /// Every user in user group `g`, nested groups included.
    fn users_in(&self, g: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut todo = vec![g.to_string()];
        while let Some(g) = todo.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            for (k, id) in &self.members[&node("user_group", &g)] {
                match k.as_str() {
                    "user" => {
                        out.insert(id.clone());
                    }
                    "user_group" => todo.push(id.clone()),
                    other => panic!("a user group holds a {other}"),
                }
            }
        }
        out
    }

    /// `n` and every group that contains it, nested ones included.
    fn holders(&self, n: &Node) -> BTreeSet<Node> {
        let mut out = BTreeSet::new();
        let mut todo = vec![n.clone()];
        while let Some(x) = todo.pop() {
            if out.insert(x.clone()) {
                todo.extend(self.parents.get(&x).cloned().unwrap_or_default());
            }
        }
        out
    }

    /// The users who reach system `s`, by the rules as stated: a direct user–system edge, a
    /// user–system group edge with `s` in the group, membership (nested) in a user group
    /// bound to `s` or to a system group holding `s`.
    fn users_of_system(&self, s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for h in self.holders(&node("system", s)) {
            for ((k, id), _) in self.adj.get(&h).map(Vec::as_slice).unwrap_or(&[]) {
                match k.as_str() {
                    "user" => {
                        out.insert(id.clone());
                    }
                    "user_group" => out.extend(self.users_in(id)),
                    _ => {}
                }
            }
        }
        out
    }

    /// Every path from `start` to an object of a `targets` type: up through containing
    /// groups, one edge, down through the members of the targets' group type. Each path is a
    /// list of (next node, attributes of the step there); keyed by the result.
    fn paths(&self, start: &Node, targets: &[&str]) -> BTreeMap<Node, Vec<Vec<(Node, Value)>>> {
        let group_of = |k: &str| match k {
            "user" | "user_group" => Some("user_group"),
            "system" | "system_group" => Some("system_group"),
            _ => None,
        };
        let descend: Vec<&str> = targets.iter().filter_map(|k| group_of(k)).collect();
        let mut out: BTreeMap<Node, Vec<Vec<(Node, Value)>>> = BTreeMap::new();
        // All chains up.
        let mut ups: Vec<Vec<(Node, Value)>> = Vec::new();
        let mut todo: Vec<Vec<(Node, Value)>> = vec![Vec::new()];
        while let Some(chain) = todo.pop() {
            let at = chain.last().map(|s| s.0.clone()).unwrap_or(start.clone());
            for p in self.parents.get(&at).cloned().unwrap_or_default() {
                if p != *start && !chain.iter().any(|s| s.0 == p) {
                    let mut c = chain.clone();
                    c.push((p, Value::Null));
                    todo.push(c);
                }
            }
            ups.push(chain);
        }
        for up in ups {
            let at = up.last().map(|s| s.0.clone()).unwrap_or(start.clone());
            for (other, attrs) in self.adj.get(&at).cloned().unwrap_or_default() {
                let mut first = up.clone();
                first.push((other, attrs));
                let mut todo = vec![first];
                while let Some(p) = todo.pop() {
                    let end = p.last().map(|s| s.0.clone()).unwrap_or(start.clone());
                    if targets.contains(&end.0.as_str()) {
                        out.entry(end.clone()).or_default().push(p.clone());
                    }
                    if descend.contains(&end.0.as_str()) {
                        for m in self.members.get(&end).cloned().unwrap_or_default() {
                            if m != *start && !p.iter().any(|s| s.0 == m) {
                                let mut q = p.clone();
                                q.push((m, Value::Null));
                                todo.push(q);
                            }
                        }
                    }
                }
            }
        }
        for paths in out.values_mut() {
            paths.sort_by_key(|p| format!("{p:?}"));
        }
        out
    }
}

/// The compiled attributes the reference implies for a set of paths.
fn compiled(paths: &[Vec<(Node, Value)>]) -> Value {
    let steps = || paths.iter().flatten().map(|(_, a)| a);
    if steps().all(Value::is_null) {
        return Value::Null;
    }
    let on = |a: &Value, k: &str| a["sudo"][k] == json!(true);
    let enabled = steps().any(|a| on(a, "enabled"));
    let without = steps().any(|a| on(a, "enabled") && on(a, "withoutPassword"));
    json!({"sudo": {"enabled": enabled, "withoutPassword": without}})
}

/// One traversal item checked for shape and turned into (id, paths as steps): every path
/// starts at `start` and each connection's `from` is the previous one's `to`.
fn item_paths(item: &Value, start: &Node) -> Vec<Vec<(Node, Value)>> {
    let obj = item.as_object().expect("an object");
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "type", "compiledAttributes", "paths"]),
        "{item}"
    );
    let mut out = Vec::new();
    for p in item["paths"].as_array().expect("paths") {
        let p = p.as_array().expect("a path");
        assert!(!p.is_empty(), "empty path in {item}");
        let mut at = start.clone();
        let mut steps = Vec::new();
        for conn in p {
            for end in ["from", "to"] {
                assert_eq!(conn[end]["attributes"], Value::Null, "{conn}");
            }
            let from = node(
                str_field(&conn["from"], "type"),
                str_field(&conn["from"], "id"),
            );
            assert_eq!(
                from, at,
                "a path is a chain from the queried object: {item}"
            );
            at = node(str_field(&conn["to"], "type"), str_field(&conn["to"], "id"));
            steps.push((at.clone(), conn["attributes"].clone()));
        }
        assert_eq!(
            at,
            node(str_field(item, "type"), str_field(item, "id")),
            "a path ends at the result"
        );
        out.push(steps);
    }
    out.sort_by_key(|p| format!("{p:?}"));
    out
}

/// A traversal route against the independent computation; returns the items.
async fn check_traversal(
    c: &Client,
    h: &SimHandle,
    g: &Graph,
    start: &Node,
    sub: &str,
    targets: &[&str],
) -> Vec<Value> {
    let path = format!("/api/v2/{}/{}/{sub}", route_of(&start.0), start.1);
    let items = v2_all(c, h, &path).await;
    let expected = g.paths(start, targets);
    let got_ids: Vec<&str> = items.iter().map(|i| str_field(i, "id")).collect();
    let want_ids: Vec<&str> = expected.keys().map(|n| n.1.as_str()).collect();
    let mut sorted = want_ids.clone();
    sorted.sort_unstable();
    assert_eq!(
        got_ids, sorted,
        "{path}: one item per reachable object, by id"
    );
    for item in &items {
        let n = node(str_field(item, "type"), str_field(item, "id"));
        let want = &expected[&n];
        assert_eq!(&item_paths(item, start), want, "{path}: paths of {n:?}");
        assert_eq!(
            item["compiledAttributes"],
            compiled(want),
            "{path}: compiledAttributes of {n:?}"
        );
    }
    items
}

#[tokio::test]
async fn the_default_org_has_every_pair_type() {
    let h = start(SimConfig::default()).await;
    let g = graph(&h);
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (a, b, attrs) in &g.edges {
        assert!(g.exists(a) && g.exists(b), "edge {a:?}–{b:?} has both ends");
        // Software apps' bindings are listed from the app's end only (§2).
        let one_way = a.0 == "software_app" || b.0 == "software_app";
        assert!(
            offered(&a.0).contains(&b.0.as_str())
                && (one_way || offered(&b.0).contains(&a.0.as_str())),
            "{a:?}–{b:?} is a pair the API offers"
        );
        let principal = ["user", "user_group"].contains(&a.0.as_str())
            || ["user", "user_group"].contains(&b.0.as_str());
        let device = ["system", "system_group"].contains(&a.0.as_str())
            || ["system", "system_group"].contains(&b.0.as_str());
        if !(principal && device) {
            assert_eq!(attrs, &Value::Null, "only access edges carry sudo");
        } else if !attrs.is_null() {
            assert!(attrs["sudo"]["enabled"].is_boolean(), "{attrs}");
            assert!(attrs["sudo"]["withoutPassword"].is_boolean(), "{attrs}");
        }
        let mut k = [a.0.clone(), b.0.clone()];
        k.sort();
        let [x, y] = k;
        *count.entry((x, y)).or_default() += 1;
    }
    let pairs = [
        ("system", "user"),
        ("system_group", "user"),
        ("application", "user"),
        ("radius_server", "user"),
        ("g_suite", "user"),
        ("office_365", "user"),
        ("ldap_server", "user"),
        ("active_directory", "user"),
        ("system", "user_group"),
        ("system_group", "user_group"),
        ("application", "user_group"),
        ("radius_server", "user_group"),
        ("g_suite", "user_group"),
        ("office_365", "user_group"),
        ("ldap_server", "user_group"),
        ("active_directory", "user_group"),
        ("command", "system"),
        ("command", "system_group"),
        ("policy", "system"),
        ("policy", "system_group"),
        ("software_app", "system"),
        ("software_app", "system_group"),
    ];
    for (a, b) in pairs {
        let n = count.get(&(a.to_string(), b.to_string())).copied();
        assert!(n.unwrap_or(0) >= 2, "{a}–{b}: {n:?} edges");
    }
    let sudo = |v: &Value| g.edges.iter().any(|(_, _, a)| a["sudo"] == *v);
    assert!(sudo(&json!({"enabled": true, "withoutPassword": true})));
    assert!(sudo(&json!({"enabled": true, "withoutPassword": false})));
    let access = |a: &Node, b: &Node| {
        let (x, y) = (a.0.as_str(), b.0.as_str());
        (x.starts_with("user") && y.starts_with("system"))
            || (y.starts_with("user") && x.starts_with("system"))
    };
    assert!(g
        .edges
        .iter()
        .any(|(a, b, attrs)| attrs.is_null() && access(a, b)));
    assert_eq!(
        g.objects["active_directory"].len(),
        1,
        "one Active Directory"
    );
}

#[tokio::test]
async fn associations_agree_from_both_ends() {
    let h = small().await;
    let c = client();
    let g = graph(&h);
    // Both ends of every pair type: each object with an edge of that type (at most 25 a
    // type), and one without, must list exactly its edges, with their attributes.
    let mut asked = 0;
    for (kind, ids) in &g.objects {
        for target in offered(kind) {
            let mut with: Vec<&String> = ids
                .iter()
                .filter(|id| {
                    g.adj
                        .get(&node(kind, id))
                        .is_some_and(|e| e.iter().any(|(o, _)| o.0 == *target))
                })
                .take(25)
                .collect();
            if let Some(none) = ids.iter().find(|id| !with.contains(id)) {
                with.push(none);
            }
            for id in with {
                let path = format!(
                    "/api/v2/{}/{id}/associations?targets={target}",
                    route_of(kind)
                );
                let got: BTreeSet<(String, String)> = v2_all(&c, &h, &path)
                    .await
                    .iter()
                    .map(|conn| {
                        let keys: Vec<&String> = conn.as_object().expect("object").keys().collect();
                        assert_eq!(keys.len(), 2, "{conn}");
                        assert_eq!(conn["to"]["type"], *target, "{path}: {conn}");
                        assert_eq!(conn["to"]["attributes"], Value::Null);
                        (
                            str_field(&conn["to"], "id").to_string(),
                            conn["attributes"].to_string(),
                        )
                    })
                    .collect();
                let want: BTreeSet<(String, String)> = g
                    .adj
                    .get(&node(kind, id))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .filter(|(o, _)| o.0 == *target)
                    .map(|(o, a)| (o.1.clone(), a.to_string()))
                    .collect();
                assert_eq!(got, want, "{path}");
                asked += 1;
            }
        }
    }
    assert!(asked > 300, "{asked}");

    // Paging: default 10, limit ≤ 100, skip.
    let (u, _) = g.objects["user"]
        .iter()
        .map(|u| (u, g.adj.get(&node("user", u)).map_or(0, Vec::len)))
        .max_by_key(|x| x.1)
        .expect("a user");
    let all = v2_all(
        &c,
        &h,
        &format!("/api/v2/users/{u}/associations?targets=system"),
    )
    .await;
    let a = get(
        &c,
        &h,
        &format!("/api/v2/users/{u}/associations?targets=system&limit=1&skip=1"),
    )
    .await;
    assert_eq!(a.array().as_slice(), &all[1..2.min(all.len())]);
    let a = get(
        &c,
        &h,
        &format!("/api/v2/users/{u}/associations?targets=system&limit=101"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    a.message();
}

#[tokio::test]
async fn association_and_traversal_errors() {
    let h = small().await;
    let c = client();
    let g = graph(&h);
    let first = |k: &str| g.objects[k][0].clone();
    // A target the route does not offer, or no such type at all: 400.
    for (kind, target) in [
        ("user", "command"),
        ("user", "policy"),
        ("user", "user_group"),
        ("user_group", "user"),
        ("system", "system"),
        ("system", "application"),
        ("system_group", "radius_server"),
        ("application", "system"),
        ("policy", "user"),
        ("command", "user_group"),
        ("radius_server", "system"),
        ("g_suite", "system_group"),
        ("active_directory", "application"),
        ("user", "bogus"),
    ] {
        let path = format!(
            "/api/v2/{}/{}/associations?targets={target}",
            route_of(kind),
            first(kind)
        );
        let a = get(&c, &h, &path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}");
        a.message();
    }
    // An id of another type, or of nothing: 404, on associations and traversals alike.
    for (route, id) in [
        ("ldapservers", first("g_suite")),
        ("gsuites", first("active_directory")),
        ("activedirectories", first("office_365")),
        ("systems", first("user")),
        ("users", first("system")),
        ("commands", first("policy")),
        ("commands", "0123456789abcdef01234567".to_string()),
    ] {
        for sub in ["associations?targets=user", "users"] {
            let path = format!("/api/v2/{route}/{id}/{sub}");
            let a = get(&c, &h, &path).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            a.message();
        }
    }
    // Routes the reference does not list.
    for path in [
        format!("/api/v2/usergroups/{}/users", first("user_group")),
        format!("/api/v2/users/{}/users", first("user")),
        format!("/api/v2/applications/{}/systems", first("application")),
        format!("/api/v2/policies/{}/users", first("policy")),
    ] {
        let a = get(&c, &h, &path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        a.message();
    }
}

#[tokio::test]
async fn systems_users_is_what_memberships_and_associations_imply() {
    let h = small().await;
    let c = client();
    let g = graph(&h);
    let (mut via_nested_only, mut via_system_group) = (0, 0);
    let mut compiled_seen = BTreeSet::new();
    for s in &g.objects["system"] {
        let start = node("system", s);
        let items = check_traversal(&c, &h, &g, &start, "users", &["user"]).await;
        let ids: BTreeSet<String> = items
            .iter()
            .map(|i| str_field(i, "id").to_string())
            .collect();
        assert_eq!(ids, g.users_of_system(s), "/systems/{s}/users");
        for item in &items {
            assert_eq!(item["type"], "user");
            compiled_seen.insert(item["compiledAttributes"].to_string());
            let paths = item_paths(item, &start);
            let nested = |p: &Vec<(Node, Value)>| {
                p.windows(2)
                    .any(|w| w[0].0 .0 == "user_group" && w[1].0 .0 == "user_group")
            };
            if paths.iter().all(nested) {
                via_nested_only += 1;
            }
            if paths.iter().any(|p| p[0].0 .0 == "system_group") {
                via_system_group += 1;
            }
        }
    }
    assert!(
        via_nested_only > 0,
        "a user reached only through a nested group"
    );
    assert!(
        via_system_group > 0,
        "a user reached through a system group"
    );
    for want in [
        "null",
        r#"{"sudo":{"enabled":true,"withoutPassword":true}}"#,
        r#"{"sudo":{"enabled":true,"withoutPassword":false}}"#,
        r#"{"sudo":{"enabled":false,"withoutPassword":false}}"#,
    ] {
        assert!(
            compiled_seen.contains(want),
            "compiledAttributes {want} seen"
        );
    }

    // Paging: default 10, `limit`, `skip`, limit ≤ 100.
    let s = g.objects["system"]
        .iter()
        .max_by_key(|s| g.users_of_system(s).len())
        .expect("a system");
    let all = v2_all(&c, &h, &format!("/api/v2/systems/{s}/users")).await;
    assert!(all.len() > 10);
    let a = get(&c, &h, &format!("/api/v2/systems/{s}/users")).await;
    assert_eq!(a.array().as_slice(), &all[..10], "default limit 10");
    let a = get(&c, &h, &format!("/api/v2/systems/{s}/users?limit=3&skip=4")).await;
    assert_eq!(a.array().as_slice(), &all[4..7]);
    let a = get(&c, &h, &format!("/api/v2/systems/{s}/users?limit=101")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_traversals_follow_the_same_graph() {
    let h = small().await;
    let c = client();
    let g = graph(&h);
    for a in &g.objects["application"] {
        let start = node("application", a);
        let users = check_traversal(&c, &h, &g, &start, "users", &["user"]).await;
        // Direct users plus the (nested) users of bound groups.
        let mut want = BTreeSet::new();
        for ((k, id), _) in &g.adj[&start] {
            match k.as_str() {
                "user" => {
                    want.insert(id.clone());
                }
                "user_group" => want.extend(g.users_in(id)),
                _ => {}
            }
        }
        let got: BTreeSet<String> = users
            .iter()
            .map(|i| str_field(i, "id").to_string())
            .collect();
        assert_eq!(got, want, "/applications/{a}/users");
        check_traversal(&c, &h, &g, &start, "usergroups", &["user_group"]).await;
    }
    // From users: the same access seen from the other end.
    let some_users: Vec<&String> = g.objects["user"].iter().step_by(7).collect();
    for u in some_users {
        let start = node("user", u);
        let systems = check_traversal(&c, &h, &g, &start, "systems", &["system"]).await;
        for s in &systems {
            let sid = str_field(s, "id");
            assert!(g.users_of_system(sid).contains(u), "{u} reaches {sid}");
        }
        check_traversal(&c, &h, &g, &start, "applications", &["application"]).await;
        check_traversal(&c, &h, &g, &start, "systemgroups", &["system_group"]).await;
        check_traversal(&c, &h, &g, &start, "radiusservers", &["radius_server"]).await;
        check_traversal(&c, &h, &g, &start, "directories", DIRECTORIES).await;
        // memberof: the (nested) user groups that hold the user.
        let groups = v2_all(&c, &h, &format!("/api/v2/users/{u}/memberof")).await;
        let got: BTreeSet<Node> = groups
            .iter()
            .map(|i| {
                item_paths(i, &start);
                assert_eq!(i["compiledAttributes"], Value::Null);
                node(str_field(i, "type"), str_field(i, "id"))
            })
            .collect();
        let mut want = g.holders(&start);
        want.remove(&start);
        assert_eq!(got, want, "/users/{u}/memberof");
    }
    for s in g.objects["system"].iter().take(15) {
        let start = node("system", s);
        check_traversal(&c, &h, &g, &start, "usergroups", &["user_group"]).await;
        check_traversal(&c, &h, &g, &start, "policies", &["policy"]).await;
        check_traversal(&c, &h, &g, &start, "commands", &["command"]).await;
        let got: BTreeSet<String> = v2_all(&c, &h, &format!("/api/v2/systems/{s}/memberof"))
            .await
            .iter()
            .map(|i| str_field(i, "id").to_string())
            .collect();
        let want: BTreeSet<String> = g
            .holders(&start)
            .into_iter()
            .filter(|n| n != &start)
            .map(|n| n.1)
            .collect();
        assert_eq!(got, want, "/systems/{s}/memberof");
    }
    for sg in &g.objects["system_group"] {
        let start = node("system_group", sg);
        check_traversal(&c, &h, &g, &start, "users", &["user"]).await;
        check_traversal(&c, &h, &g, &start, "usergroups", &["user_group"]).await;
    }
    for (kind, sub, targets) in [
        ("command", "systems", &["system"][..]),
        ("policy", "systems", &["system"][..]),
        ("policy", "systemgroups", &["system_group"][..]),
        ("radius_server", "users", &["user"][..]),
        ("g_suite", "users", &["user"][..]),
        ("active_directory", "usergroups", &["user_group"][..]),
    ] {
        for id in g.objects[kind].iter().take(4) {
            check_traversal(&c, &h, &g, &node(kind, id), sub, targets).await;
        }
    }
    // Nested groups bound to a system reach it too (membership, not only direct binding).
    let ug = g.objects["user_group"]
        .iter()
        .find(|ug| {
            g.members[&node("user_group", ug)]
                .iter()
                .any(|m| m.0 == "user_group")
        })
        .expect("a nesting group");
    let items = v2_all(&c, &h, &format!("/api/v2/usergroups/{ug}/membership")).await;
    for i in &items {
        assert_eq!(i["compiledAttributes"], Value::Null, "{i}");
    }
}
