//! A plan: the changes that take the org from what it is (`LiveOrg`) to the desired state,
//! each a `Change` on one object with what it was (`before`, and a fingerprint of the whole
//! record) and what it becomes (`after`). `make` computes it; `Plan` is also the plan file
//! (`--out`), which `apply` reads back and applies exactly. It never holds the key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::desired::{DesiredMemberships, DesiredUsers, MatchKey};
use super::live::{LiveOrg, LiveUser};
use super::ChangeError;
use crate::model::digest;

/// The plan file format this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    CreateGroup,
    CreateUser,
    UpdateUser,
    AddMember,
    RemoveMember,
    DeleteUser,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::CreateGroup => "create_group",
            Op::CreateUser => "create_user",
            Op::UpdateUser => "update_user",
            Op::AddMember => "add_member",
            Op::RemoveMember => "remove_member",
            Op::DeleteUser => "delete_user",
        }
    }
}

/// A user a change names: its match-key value, and its id when it exists at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A group a change names: its name, and its id when it exists at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One change on one object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// 1-based, in the order changes are applied.
    pub step: u32,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupRef>,
    /// The fields that change, as they were (`null`: empty).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub before: Map<String, Value>,
    /// The fields that change, as they become; for a new user every field it gets.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub after: Map<String, Value>,
    /// The touched record at plan time: a digest of its managed fields, `absent` for one
    /// that did not exist, `member`/`not_member` for a membership.
    pub fingerprint: String,
}

impl Change {
    /// `user alice`, `group Eng`, `member alice of Eng`.
    pub fn object(&self) -> String {
        let user = self.user.as_ref().map(|u| u.key.as_str()).unwrap_or("?");
        let group = self.group.as_ref().map(|g| g.name.as_str()).unwrap_or("?");
        match self.op {
            Op::CreateGroup => format!("group {group}"),
            Op::AddMember | Op::RemoveMember => format!("member {user} of {group}"),
            _ => format!("user {user}"),
        }
    }

    /// The kinds a summary counts this change under (an update may also suspend).
    pub fn kinds(&self) -> Vec<Kind> {
        match self.op {
            Op::CreateGroup => vec![Kind::CreateGroup],
            Op::CreateUser => vec![Kind::CreateUser],
            Op::DeleteUser => vec![Kind::DeleteUser],
            Op::AddMember => vec![Kind::AddMember],
            Op::RemoveMember => vec![Kind::RemoveMember],
            Op::UpdateUser => {
                let mut k = Vec::new();
                if self.after.keys().any(|f| f != "state") {
                    k.push(Kind::UpdateUser);
                }
                match self.after.get("state").and_then(Value::as_str) {
                    Some("SUSPENDED") => k.push(Kind::Suspend),
                    Some("ACTIVATED") => k.push(Kind::Reactivate),
                    _ => {}
                }
                k
            }
        }
    }
}

/// The kinds of change a plan's summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    CreateUser,
    UpdateUser,
    Suspend,
    Reactivate,
    DeleteUser,
    CreateGroup,
    AddMember,
    RemoveMember,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::CreateUser,
        Kind::UpdateUser,
        Kind::Suspend,
        Kind::Reactivate,
        Kind::DeleteUser,
        Kind::CreateGroup,
        Kind::AddMember,
        Kind::RemoveMember,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::CreateUser => "users to create",
            Kind::UpdateUser => "users to update",
            Kind::Suspend => "users to suspend",
            Kind::Reactivate => "users to reactivate",
            Kind::DeleteUser => "users to delete",
            Kind::CreateGroup => "groups to create",
            Kind::AddMember => "members to add",
            Kind::RemoveMember => "members to remove",
        }
    }
}

/// Where a plan was made against; `apply` refuses another org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// Which live users missing from the desired state are deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteScope {
    /// Every user of the org.
    All,
    /// Users whose field (or `attributes.<name>`) has this value.
    Field { field: String, value: String },
}

impl DeleteScope {
    pub fn parse(s: &str) -> Result<DeleteScope, String> {
        if s == "all" {
            return Ok(DeleteScope::All);
        }
        match s.split_once('=') {
            Some((f, v)) if !f.trim().is_empty() => Ok(DeleteScope::Field {
                field: f.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(format!(
                "--scope {s:?}: use all, or FIELD=VALUE (e.g. department=Engineering or attributes.source=hr)"
            )),
        }
    }

    fn holds(&self, u: &LiveUser) -> bool {
        match self {
            DeleteScope::All => true,
            DeleteScope::Field { field, value } => u.text(field).as_deref() == Some(value),
        }
    }
}

impl std::fmt::Display for DeleteScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteScope::All => f.write_str("all"),
            DeleteScope::Field { field, value } => write!(f, "{field}={value}"),
        }
    }
}

/// A plan, as printed and as written to the plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub plan_id: String,
    pub created_at: DateTime<Utc>,
    pub jclake_version: String,
    pub target: PlanTarget,
    pub desired: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memberships: Option<String>,
    pub match_key: MatchKey,
    /// The fields the desired state manages.
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_scope: Option<DeleteScope>,
    pub changes: Vec<Change>,
}

impl Plan {
    /// Changes per kind, every kind listed.
    pub fn summary(&self) -> Vec<(Kind, usize)> {
        let mut n: HashMap<Kind, usize> = HashMap::new();
        for c in &self.changes {
            for k in c.kinds() {
                *n.entry(k).or_default() += 1;
            }
        }
        Kind::ALL
            .iter()
            .map(|k| (*k, n.get(k).copied().unwrap_or(0)))
            .collect()
    }
}

/// What a plan is made from, besides the two states.
pub struct PlanOptions {
    pub target: PlanTarget,
    pub match_key: MatchKey,
    pub delete_scope: Option<DeleteScope>,
}

/// The digest of a user's managed fields: what `apply` compares to see whether the user
/// changed since the plan.
pub fn fingerprint(u: &LiveUser, fields: &[String]) -> String {
    let mut text = String::new();
    for f in fields {
        text.push_str(f);
        text.push('=');
        text.push_str(&u.text(f).unwrap_or_default());
        text.push('\n');
    }
    digest(text.as_bytes())
}

pub const ABSENT: &str = "absent";
pub const MEMBER: &str = "member";
pub const NOT_MEMBER: &str = "not_member";

fn text_value(v: Option<&str>) -> Value {
    v.map(|s| Value::String(s.to_string()))
        .unwrap_or(Value::Null)
}

/// Whether a desired value equals a live one, for this field.
pub fn same(field: &str, desired: Option<&str>, live: Option<&str>, key: MatchKey) -> bool {
    match (desired, live) {
        (None, None) => true,
        (Some(d), Some(l)) => match field {
            "username" | "email" => d.eq_ignore_ascii_case(l),
            "state" => d.eq_ignore_ascii_case(l),
            "manager" => key.normalise(d) == key.normalise(l),
            _ => d == l,
        },
        _ => false,
    }
}

/// The live value of a field as the desired state writes it: a manager is named by the
/// manager's match key, not its id.
pub fn live_value(
    u: &LiveUser,
    field: &str,
    key: MatchKey,
    by_id: &HashMap<&str, &LiveUser>,
) -> Option<String> {
    let v = u.text(field)?;
    if field == "manager" {
        return Some(
            by_id
                .get(v.as_str())
                .and_then(|m| m.text(key.field()))
                .unwrap_or(v),
        );
    }
    Some(v)
}

/// The plan from `live` to `desired` (and `memberships`).
pub fn make(
    desired: &DesiredUsers,
    memberships: Option<&DesiredMemberships>,
    live: &LiveOrg,
    opts: PlanOptions,
) -> Result<Plan, ChangeError> {
    let key = opts.match_key;
    let by_key = live.by_key(key);
    let by_id = live.by_id();
    let desired_keys: BTreeSet<String> = desired
        .users
        .iter()
        .filter_map(|u| u.get(key.field()).map(|k| key.normalise(k)))
        .collect();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for d in &desired.users {
        let k = d.get(key.field()).unwrap_or_default();
        if let Some(m) = d.get("manager") {
            let known =
                desired_keys.contains(&key.normalise(m)) || by_key.contains_key(&key.normalise(m));
            if !known {
                return Err(ChangeError::Desired {
                    location: desired.source.clone(),
                    message: format!(
                        "{}: manager {m:?} is no user of the org nor of the desired state ({} values name managers)",
                        d.at,
                        key.field()
                    ),
                });
            }
        }
        match by_key.get(&key.normalise(k)) {
            None => {
                for need in ["username", "email"] {
                    if d.get(need).is_none() {
                        return Err(ChangeError::Desired {
                            location: desired.source.clone(),
                            message: format!(
                                "{}: user {k:?} is new and JumpCloud needs a {need} to create a user",
                                d.at
                            ),
                        });
                    }
                }
                let after: Map<String, Value> = d
                    .values
                    .iter()
                    .filter(|(_, v)| v.is_some())
                    .map(|(f, v)| (f.clone(), text_value(v.as_deref())))
                    .collect();
                creates.push((
                    d.get("manager").map(|m| key.normalise(m)),
                    Change {
                        step: 0,
                        op: Op::CreateUser,
                        user: Some(UserRef {
                            key: k.to_string(),
                            id: None,
                        }),
                        group: None,
                        before: Map::new(),
                        after,
                        fingerprint: ABSENT.into(),
                    },
                ));
            }
            Some(u) => {
                let mut before = Map::new();
                let mut after = Map::new();
                for f in &desired.fields {
                    let want = d.get(f);
                    // An empty state cell leaves the state alone (STAGED users included).
                    if f == "state" && want.is_none() {
                        continue;
                    }
                    let have = live_value(u, f, key, &by_id);
                    if !same(f, want, have.as_deref(), key) {
                        before.insert(f.clone(), text_value(have.as_deref()));
                        after.insert(f.clone(), text_value(want));
                    }
                }
                if !after.is_empty() {
                    updates.push(Change {
                        step: 0,
                        op: Op::UpdateUser,
                        user: Some(UserRef {
                            key: k.to_string(),
                            id: Some(u.id.clone()),
                        }),
                        group: None,
                        before,
                        after,
                        fingerprint: fingerprint(u, &desired.fields),
                    });
                }
            }
        }
    }
    // A manager created in this plan is created before the users who report to them.
    let created: BTreeSet<String> = creates
        .iter()
        .filter_map(|(_, c)| c.user.as_ref().map(|u| key.normalise(&u.key)))
        .collect();
    let mut ordered = Vec::with_capacity(creates.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while !creates.is_empty() {
        let (mut wave, rest): (Vec<_>, Vec<_>) = creates.into_iter().partition(|(m, _)| {
            m.as_ref()
                .is_none_or(|m| !created.contains(m) || placed.contains(m))
        });
        creates = rest;
        if wave.is_empty() {
            // Managers in a loop: the rest in file order.
            wave = std::mem::take(&mut creates);
        }
        for (_, c) in wave {
            if let Some(u) = &c.user {
                placed.insert(key.normalise(&u.key));
            }
            ordered.push(c);
        }
    }

    let mut deletes = Vec::new();
    if let Some(scope) = &opts.delete_scope {
        for u in &live.users {
            let Some(k) = u.text(key.field()) else {
                continue;
            };
            if !desired_keys.contains(&key.normalise(&k)) && scope.holds(u) {
                deletes.push(Change {
                    step: 0,
                    op: Op::DeleteUser,
                    user: Some(UserRef {
                        key: k,
                        id: Some(u.id.clone()),
                    }),
                    group: None,
                    before: Map::new(),
                    after: Map::new(),
                    fingerprint: fingerprint(u, &desired.fields),
                });
            }
        }
    }
    let deleted: BTreeSet<&str> = deletes
        .iter()
        .filter_map(|c| c.user.as_ref().and_then(|u| u.id.as_deref()))
        .collect();

    let mut group_creates = Vec::new();
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    if let Some(ms) = memberships {
        let groups = live.group_by_name();
        let mut wanted: BTreeMap<&str, BTreeMap<String, &str>> = BTreeMap::new();
        for r in &ms.rows {
            let k = key.normalise(&r.member);
            if !desired_keys.contains(&k) && !by_key.contains_key(&k) {
                return Err(ChangeError::Desired {
                    location: ms.source.clone(),
                    message: format!(
                        "{}: member {:?} of {:?} is no user of the org nor of the desired state",
                        r.at, r.member, r.group
                    ),
                });
            }
            wanted
                .entry(r.group.as_str())
                .or_default()
                .insert(k, r.member.as_str());
        }
        for (name, members) in wanted {
            let group = groups.get(name);
            if group.is_none() {
                group_creates.push(Change {
                    step: 0,
                    op: Op::CreateGroup,
                    user: None,
                    group: Some(GroupRef {
                        name: name.to_string(),
                        id: None,
                    }),
                    before: Map::new(),
                    after: Map::from_iter([("name".to_string(), Value::String(name.into()))]),
                    fingerprint: ABSENT.into(),
                });
            }
            let current: BTreeSet<String> = group
                .and_then(|g| live.members.get(&g.id))
                .cloned()
                .unwrap_or_default();
            let gref = GroupRef {
                name: name.to_string(),
                id: group.map(|g| g.id.clone()),
            };
            for (k, shown) in &members {
                let user = by_key.get(k);
                if user.is_some_and(|u| current.contains(&u.id)) {
                    continue;
                }
                adds.push(Change {
                    step: 0,
                    op: Op::AddMember,
                    user: Some(UserRef {
                        key: shown.to_string(),
                        id: user.map(|u| u.id.clone()),
                    }),
                    group: Some(gref.clone()),
                    before: Map::new(),
                    after: Map::new(),
                    fingerprint: NOT_MEMBER.into(),
                });
            }
            for id in &current {
                if deleted.contains(id.as_str()) {
                    continue;
                }
                let Some(u) = by_id.get(id.as_str()) else {
                    continue;
                };
                let k = u.text(key.field()).unwrap_or_else(|| u.id.clone());
                if members.contains_key(&key.normalise(&k)) {
                    continue;
                }
                removes.push(Change {
                    step: 0,
                    op: Op::RemoveMember,
                    user: Some(UserRef {
                        key: k,
                        id: Some(u.id.clone()),
                    }),
                    group: Some(gref.clone()),
                    before: Map::new(),
                    after: Map::new(),
                    fingerprint: MEMBER.into(),
                });
            }
        }
    }

    let mut changes: Vec<Change> = group_creates
        .into_iter()
        .chain(ordered)
        .chain(updates)
        .chain(adds)
        .chain(removes)
        .chain(deletes)
        .collect();
    for (i, c) in changes.iter_mut().enumerate() {
        c.step = i as u32 + 1;
    }
    let created_at = Utc::now();
    Ok(Plan {
        version: PLAN_VERSION,
        plan_id: format!(
            "{}-{:06x}",
            created_at.format("%Y%m%dT%H%M%SZ"),
            fastrand::u32(..0x0100_0000)
        ),
        created_at,
        jclake_version: env!("CARGO_PKG_VERSION").into(),
        target: opts.target,
        desired: desired.source.clone(),
        memberships: memberships.map(|m| m.source.clone()),
        match_key: key,
        fields: desired.fields.clone(),
        delete_scope: opts.delete_scope,
        changes,
    })
}

/// The plan as people read it: a summary line per kind, then each change.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let total = plan.changes.len();
    out.push_str(&format!(
        "plan {} for {}{}: {total} change{}\n",
        plan.plan_id,
        plan.target.base_url,
        plan.target
            .org_id
            .as_ref()
            .map(|o| format!(" (org {o})"))
            .unwrap_or_default(),
        if total == 1 { "" } else { "s" }
    ));
    for (k, n) in plan.summary() {
        out.push_str(&format!("  {:<20} {n}\n", k.label()));
    }
    if total == 0 {
        out.push_str("no changes: the org matches the desired state\n");
        return out;
    }
    out.push('\n');
    for c in &plan.changes {
        let sign = match c.op {
            Op::CreateGroup | Op::CreateUser | Op::AddMember => '+',
            Op::UpdateUser => '~',
            Op::RemoveMember | Op::DeleteUser => '-',
        };
        out.push_str(&format!(
            "{sign} {:>4} {:<14} {}",
            c.step,
            c.op.as_str(),
            c.object()
        ));
        match c.op {
            Op::UpdateUser => {
                let parts: Vec<String> = c
                    .after
                    .iter()
                    .map(|(f, a)| format!("{f}: {} -> {}", show(c.before.get(f)), show(Some(a))))
                    .collect();
                out.push_str(&format!(": {}", parts.join(", ")));
            }
            Op::CreateUser => {
                let parts: Vec<String> = c
                    .after
                    .iter()
                    .filter(|(f, _)| f.as_str() != "username")
                    .map(|(f, a)| format!("{f}={}", show(Some(a))))
                    .collect();
                out.push_str(&format!(": {}", parts.join(", ")));
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(empty)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}
