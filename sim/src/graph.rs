//! The v2 graph as the routes see it: which association targets each object type offers,
//! which traversal routes (`/v2/<from>/{id}/<target>`) exist, and the traversal itself. In
//! comes a `&Tenant` (direct group members, with its index of the groups holding each
//! object, and association edges); out come `GraphObjectWithPaths` items
//! `{"id","type","compiledAttributes","paths"}` sorted by id. Pure functions: `v1v2` parses,
//! pages and renders errors.
//!
//! **Semantics** (`shared/jumpcloud-api-extended.md` §2). An object reaches a target
//! object along a path of three legs:
//! 1. *up*: from the queried object through the groups that contain it, nested ones included
//!    (a group inside another group is a member of it, recursively; no node twice);
//! 2. exactly one association edge;
//! 3. *down*: from the other end through the members of groups of the target's group type
//!    (user group → its users and nested user groups, system group → its systems), ending
//!    at an object of the target type.
//!
//! So a user reaches a system by a direct user–system edge, by a user–system group edge
//! whose group holds the system, through a (nested) user group bound to the system, or to a
//! system group holding it. Binding to a member does not bind its group: `up` starts at the
//! queried object and `down` only at the far end of the edge. `/memberof` is leg 1 alone.
//!
//! **Path direction**: every path runs from the queried object to the result. Each
//! connection is `{"from": <earlier node>, "to": <later node>, "attributes": …}` whatever
//! the direction of the underlying relation: the first `from` is the queried object, the
//! last `to` the result, and each `to` is the next connection's `from`. A membership step
//! carries `attributes: null`; an association step carries the edge's attributes.
//! `/systems/{s}/users` thus gives e.g. system → system group → user group → (nested user
//! group →) user, and `/users/{u}/systems` the same chain reversed.
//!
//! **compiledAttributes**: `null` when no connection on any path carries attributes;
//! otherwise `{"sudo": {"enabled": any path whose binding has sudo.enabled true,
//! "withoutPassword": any path whose binding has both true}}`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::data::Tenant;

/// Directory object types (the `directories` collection's `type`), in route order.
pub(crate) const DIRECTORY_TYPES: &[&str] = &[
    "g_suite",
    "office_365",
    "ldap_server",
    "active_directory",
    "workday",
];

const USER_SIDE_TARGETS: &[&str] = &[
    "active_directory",
    "application",
    "g_suite",
    "ldap_server",
    "office_365",
    "radius_server",
    "system",
    "system_group",
    "workday",
];
const SYSTEM_SIDE_TARGETS: &[&str] = &["command", "policy", "policy_group", "user", "user_group"];
const PRINCIPALS: &[&str] = &["user", "user_group"];
const DEVICES: &[&str] = &["system", "system_group"];

/// The `targets=` an object type's `/associations` route accepts (§4, §2); empty for a type
/// with no such route.
pub(crate) fn association_targets(kind: &str) -> &'static [&'static str] {
    match kind {
        "user" | "user_group" => USER_SIDE_TARGETS,
        "system" | "system_group" => SYSTEM_SIDE_TARGETS,
        "policy" | "command" | "software_app" => DEVICES,
        "application" | "radius_server" | "ldap_server" | "g_suite" | "office_365"
        | "active_directory" | "workday" => PRINCIPALS,
        _ => &[],
    }
}

/// What a traversal route returns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Traversal {
    /// Objects of these types reached through memberships and one association.
    Reach(&'static [&'static str]),
    /// The groups that contain the object, nested ones included.
    MemberOf,
}

/// The traversal behind `/v2/<route of kind>/{id}/<sub>`, when the reference lists it
/// (§2); `None` → 404. Not here: `/usergroups/{id}/users` (does not exist), `membership`
/// (served by `v1v2`), policy groups and software apps (not simulated by this module).
pub(crate) fn traversal(kind: &str, sub: &str) -> Option<Traversal> {
    use Traversal::*;
    let to = |t: &'static [&'static str]| Some(Reach(t));
    let user_side = |sub: &str| match sub {
        "applications" => to(&["application"]),
        "systems" => to(&["system"]),
        "systemgroups" => to(&["system_group"]),
        "directories" => to(DIRECTORY_TYPES),
        "gsuites" => to(&["g_suite"]),
        "office365s" => to(&["office_365"]),
        "ldapservers" => to(&["ldap_server"]),
        "radiusservers" => to(&["radius_server"]),
        "activedirectories" => to(&["active_directory"]),
        _ => None,
    };
    match (kind, sub) {
        ("user", "memberof") => Some(MemberOf),
        ("user" | "user_group", _) => user_side(sub),
        ("system", "memberof") => Some(MemberOf),
        ("system" | "system_group", "users") => to(&["user"]),
        ("system" | "system_group", "usergroups") => to(&["user_group"]),
        ("system" | "system_group", "policies") => to(&["policy"]),
        ("system" | "system_group", "commands") => to(&["command"]),
        ("application", "users") => to(&["user"]),
        ("application", "usergroups") => to(&["user_group"]),
        ("policy", "systems") => to(&["system"]),
        ("policy", "systemgroups") => to(&["system_group"]),
        ("policy", "memberof") => Some(MemberOf),
        ("command", "systems") => to(&["system"]),
        ("command", "systemgroups") => to(&["system_group"]),
        (
            "radius_server" | "ldap_server" | "g_suite" | "office_365" | "active_directory",
            "users",
        ) => to(&["user"]),
        (
            "radius_server" | "ldap_server" | "g_suite" | "office_365" | "active_directory",
            "usergroups",
        ) => to(&["user_group"]),
        _ => None,
    }
}

/// The type of the groups that hold objects of `kind`.
fn group_type(kind: &str) -> Option<&'static str> {
    match kind {
        "user" | "user_group" => Some("user_group"),
        "system" | "system_group" => Some("system_group"),
        "policy" | "policy_group" => Some("policy_group"),
        _ => None,
    }
}

type Node<'a> = (&'static str, &'a str);

/// One step of a path: from, to, the attributes of the relation (membership: none).
#[derive(Clone)]
struct Step<'a> {
    from: Node<'a>,
    to: Node<'a>,
    attributes: Option<&'a Value>,
}

/// Everything reached so far: id → (type, paths), in id order.
type Found<'a> = BTreeMap<&'a str, (&'static str, Vec<Vec<Step<'a>>>)>;

struct Walk<'a> {
    t: &'a Tenant,
    targets: &'static [&'static str],
    /// Group types `down` may descend through.
    descend: Vec<&'static str>,
    found: Found<'a>,
}

impl<'a> Walk<'a> {
    /// The groups that directly contain `node`, in id order.
    fn parents(&self, node: Node<'a>) -> Vec<Node<'a>> {
        let Some(gt) = group_type(node.0) else {
            return Vec::new();
        };
        self.t
            .parent_groups(node.0, node.1)
            .iter()
            .map(|g| (gt, g.as_str()))
            .collect()
    }

    /// The association edges of `node`: (other end, edge attributes), in edge order.
    fn edges(&self, node: Node<'a>) -> Vec<(Node<'a>, &'a Value)> {
        let t = self.t;
        let Some(ix) = t.edge_index.get(&(node.0, node.1.to_string())) else {
            return Vec::new();
        };
        ix.iter()
            .map(|&i| {
                let e = &t.edges[i];
                let other = if e.a.0 == node.0 && e.a.1 == node.1 {
                    &e.b
                } else {
                    &e.a
                };
                ((other.0, other.1.as_str()), &e.attributes)
            })
            .collect()
    }

    fn emit(&mut self, node: Node<'a>, path: &[Step<'a>]) {
        self.found
            .entry(node.1)
            .or_insert_with(|| (node.0, Vec::new()))
            .1
            .push(path.to_vec());
    }

    /// Leg 1 and, for `Reach`, legs 2 and 3 from every node of the way up.
    fn up(&mut self, node: Node<'a>, path: &mut Vec<Step<'a>>, on_path: &mut Vec<Node<'a>>) {
        for (other, attrs) in self.edges(node) {
            if on_path.contains(&other) {
                continue;
            }
            path.push(Step {
                from: node,
                to: other,
                attributes: Some(attrs),
            });
            on_path.push(other);
            self.down(other, path, on_path);
            on_path.pop();
            path.pop();
        }
        for parent in self.parents(node) {
            if on_path.contains(&parent) {
                continue;
            }
            path.push(Step {
                from: node,
                to: parent,
                attributes: None,
            });
            on_path.push(parent);
            self.up(parent, path, on_path);
            on_path.pop();
            path.pop();
        }
    }

    /// Leg 3: `node` itself when of a target type, then the members of a target group type.
    fn down(&mut self, node: Node<'a>, path: &mut Vec<Step<'a>>, on_path: &mut Vec<Node<'a>>) {
        if self.targets.contains(&node.0) {
            self.emit(node, path);
        }
        if !self.descend.contains(&node.0) {
            return;
        }
        let t = self.t;
        for (kind, id) in t.members.get(node.1).map(Vec::as_slice).unwrap_or(&[]) {
            let member: Node<'a> = (kind, id.as_str());
            if on_path.contains(&member) {
                continue;
            }
            path.push(Step {
                from: node,
                to: member,
                attributes: None,
            });
            on_path.push(member);
            self.down(member, path, on_path);
            on_path.pop();
            path.pop();
        }
    }

    /// Leg 1 alone: every containing group, with every chain of memberships up to it.
    fn member_of(&mut self, node: Node<'a>, path: &mut Vec<Step<'a>>, on_path: &mut Vec<Node<'a>>) {
        for parent in self.parents(node) {
            if on_path.contains(&parent) {
                continue;
            }
            path.push(Step {
                from: node,
                to: parent,
                attributes: None,
            });
            on_path.push(parent);
            self.emit(parent, path);
            self.member_of(parent, path, on_path);
            on_path.pop();
            path.pop();
        }
    }
}

/// Runs a traversal from (`kind`, `id`), which must exist; of the items in id order, those
/// from `skip` on, at most `limit` (only they are rendered).
pub(crate) fn traverse(
    t: &Tenant,
    kind: &'static str,
    id: &str,
    how: Traversal,
    skip: usize,
    limit: usize,
) -> Vec<Value> {
    let targets: &'static [&'static str] = match how {
        Traversal::Reach(ts) => ts,
        Traversal::MemberOf => &[],
    };
    let mut descend: Vec<&'static str> = targets.iter().filter_map(|k| group_type(k)).collect();
    descend.dedup();
    let mut w = Walk {
        t,
        targets,
        descend,
        found: BTreeMap::new(),
    };
    let start: Node<'_> = (kind, id);
    let mut path = Vec::new();
    let mut on_path = vec![start];
    match how {
        Traversal::Reach(_) => w.up(start, &mut path, &mut on_path),
        Traversal::MemberOf => w.member_of(start, &mut path, &mut on_path),
    }
    w.found
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|(id, (kind, paths))| {
            json!({
                "id": id,
                "type": kind,
                "compiledAttributes": compiled(&paths),
                "paths": paths.iter().map(|p| p.iter().map(render).collect::<Vec<_>>()).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn node_json(n: Node<'_>) -> Value {
    json!({"id": n.1, "type": n.0, "attributes": null})
}

fn render(s: &Step<'_>) -> Value {
    json!({
        "from": node_json(s.from),
        "to": node_json(s.to),
        "attributes": s.attributes.cloned().unwrap_or(Value::Null),
    })
}

/// The attributes compiled over all paths (see the module doc).
fn compiled(paths: &[Vec<Step<'_>>]) -> Value {
    let carried = |s: &Step<'_>| s.attributes.is_some_and(|a| !a.is_null());
    if !paths.iter().flatten().any(carried) {
        return Value::Null;
    }
    let flag = |a: &Value, k: &str| a["sudo"][k].as_bool().unwrap_or(false);
    let (mut enabled, mut without_password) = (false, false);
    for s in paths.iter().flatten() {
        if let Some(a) = s.attributes {
            if flag(a, "enabled") {
                enabled = true;
                without_password |= flag(a, "withoutPassword");
            }
        }
    }
    json!({"sudo": {"enabled": enabled, "withoutPassword": without_password}})
}
