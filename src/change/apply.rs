//! Applies a plan file, exactly: in come a `Plan`, the client and the lake; out go the
//! writes, a journal entry per attempt (`_jclake/apply/<plan>/steps/`), and the `actions`
//! audit partition of the day the plan was first applied. Before any write, the org is
//! read again and every change checked against its fingerprint: a change found already
//! made counts as done, one whose object changed otherwise makes the whole plan stale and
//! nothing is written. A write whose answer was lost (5xx, reset, timeout) is not sent
//! again blindly: the object is looked up first. "Already exists" and "already a member"
//! (409) and "not a member" (404) count as done. A killed apply is finished by running it
//! again: the journal says which changes are done, the rest are checked like the first time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::desired::{MatchKey, ATTRIBUTE_PREFIX};
use super::live::{self, LiveOrg, LiveUser};
use super::plan::{self, Change, Op, Plan, PlanTarget, PLAN_VERSION};
use super::ChangeError;
use crate::export::audit::{commit_rows, RowsRun};
use crate::export::new_run_id;
use crate::manifest::{self, commit, lock};
use crate::model::{DateKey, Layout, Partition, SourceInfo, TableSchema, META_DIR};
use crate::sink::{key, Lake, WriteOptions};
use crate::source::{ApiClient, SourceError, WriteAnswer};

/// The `actions` table's declared schema.
const ACTIONS_SCHEMA: &str = include_str!("../../schemas/actions.json");

/// A write whose answer was lost is tried this many times in all.
const WRITE_ATTEMPTS: u32 = 5;

/// What an apply is told besides the plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Refuse a plan with more changes still to make than this.
    pub max_changes: usize,
    /// Deletes are made only with this.
    pub allow_delete: bool,
    /// Objects written at once.
    pub concurrency: usize,
    /// `user@host`, recorded in the audit.
    pub run_by: String,
    pub lock_ttl: Duration,
    pub wait_for_lock: Option<Duration>,
    pub write: WriteOptions,
    /// How long to keep looking for an object the service says exists but does not show
    /// yet (its reads lag its writes).
    pub settle: Duration,
}

/// How one attempt at a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    /// Found made: by an earlier attempt whose answer was lost, or by someone else.
    AlreadyDone,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::AlreadyDone => "already_done",
            Status::Failed => "failed",
        }
    }
}

/// One attempt at one change: a journal entry and a row of `actions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub plan_id: String,
    pub run_id: String,
    pub step: u32,
    pub operation: Op,
    pub object: String,
    pub object_id: Option<String>,
    pub group_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub status: Status,
    pub http_status: Option<u16>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub time: DateTime<Utc>,
    pub run_by: String,
    pub org_id: Option<String>,
}

/// What an apply did.
#[derive(Debug)]
pub struct ApplyReport {
    pub plan_id: String,
    pub run_id: String,
    pub changes: usize,
    /// Changes the journal already had as done.
    pub done_before: usize,
    /// This run's attempts.
    pub actions: Vec<Action>,
    /// Rows of the `actions` partition committed.
    pub audit_rows: u64,
    pub audit_partition: String,
}

impl ApplyReport {
    pub fn failed(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.status == Status::Failed)
    }

    pub fn count(&self, s: Status) -> usize {
        self.actions.iter().filter(|a| a.status == s).count()
    }
}

/// `_jclake/apply/<plan>/applied.json`: the plan as first applied, and when.
#[derive(Debug, Serialize, Deserialize)]
struct Applied {
    plan_id: String,
    first_applied_at: DateTime<Utc>,
    plan: Plan,
}

fn apply_dir(plan_id: &str) -> Vec<String> {
    vec![META_DIR.into(), "apply".into(), plan_id.into()]
}

fn applied_path(plan_id: &str) -> object_store::path::Path {
    let mut p = apply_dir(plan_id);
    p.push("applied.json".into());
    key(p)
}

fn steps_dir(plan_id: &str) -> object_store::path::Path {
    let mut p = apply_dir(plan_id);
    p.push("steps".into());
    key(p)
}

fn step_path(a: &Action) -> object_store::path::Path {
    let mut p = apply_dir(&a.plan_id);
    p.push("steps".into());
    p.push(format!("{:06}-{}.json", a.step, a.run_id));
    key(p)
}

/// Reads a plan file and checks its format.
pub fn read_plan(path: &str) -> Result<Plan, ChangeError> {
    let bad = |message: String| ChangeError::PlanFile {
        path: path.to_string(),
        message,
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != PLAN_VERSION as u64 {
        return Err(bad(format!(
            "format version {version}; this jclake reads version {PLAN_VERSION}"
        )));
    }
    serde_json::from_value(v).map_err(|e| bad(e.to_string()))
}

/// Applies `plan` to the org of `client`, journalled and audited in `lake`.
pub async fn apply(
    client: &ApiClient,
    lake: &Lake,
    plan: &Plan,
    target: &PlanTarget,
    opts: &ApplyOptions,
) -> Result<ApplyReport, ChangeError> {
    if &plan.target != target {
        return Err(ChangeError::Guard(format!(
            "plan {} was made for {}{}, not for {}{}; apply it with the settings it was made with",
            plan.plan_id,
            plan.target.base_url,
            org_text(&plan.target.org_id),
            target.base_url,
            org_text(&target.org_id)
        )));
    }
    let run_id = new_run_id();
    let started_at = Utc::now();
    lake.probe(&run_id).await?;
    let held = lock::acquire(lake, &run_id, opts.lock_ttl, opts.wait_for_lock).await?;
    let result = apply_locked(client, lake, plan, opts, &run_id, started_at).await;
    let released = held.release().await;
    let report = result?;
    released?;
    Ok(report)
}

fn org_text(org: &Option<String>) -> String {
    org.as_ref()
        .map(|o| format!(" (org {o})"))
        .unwrap_or_default()
}

async fn apply_locked(
    client: &ApiClient,
    lake: &Lake,
    plan: &Plan,
    opts: &ApplyOptions,
    run_id: &str,
    started_at: DateTime<Utc>,
) -> Result<ApplyReport, ChangeError> {
    let recovered = commit::recover(lake, run_id).await?;
    if !recovered.is_empty() {
        tracing::warn!(runs = ?recovered, "finished or undid interrupted runs");
    }
    let first_applied =
        match manifest::read_json::<Applied>(lake, &applied_path(&plan.plan_id)).await? {
            Some(a) => {
                let same = serde_json::to_value(&a.plan.changes).ok()
                    == serde_json::to_value(&plan.changes).ok();
                if !same {
                    return Err(ChangeError::PlanFile {
                        path: plan.plan_id.clone(),
                        message: "the lake's journal holds another plan under this id".into(),
                    });
                }
                a.first_applied_at
            }
            None => started_at,
        };
    let journal = read_journal(lake, &plan.plan_id).await?;
    let done: BTreeSet<u32> = journal
        .iter()
        .filter(|a| a.status != Status::Failed)
        .map(|a| a.step)
        .collect();
    let pending: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| !done.contains(&c.step))
        .collect();
    let mut report = ApplyReport {
        plan_id: plan.plan_id.clone(),
        run_id: run_id.to_string(),
        changes: plan.changes.len(),
        done_before: plan.changes.len() - pending.len(),
        actions: Vec::new(),
        audit_rows: 0,
        audit_partition: String::new(),
    };
    if !pending.is_empty() {
        let deletes = pending.iter().filter(|c| c.op == Op::DeleteUser).count();
        if deletes > 0 && !opts.allow_delete {
            return Err(ChangeError::Guard(format!(
                "plan {} deletes {deletes} user(s); pass --allow-delete to apply it",
                plan.plan_id
            )));
        }
        if pending.len() > opts.max_changes {
            return Err(ChangeError::Guard(format!(
                "plan {} has {} changes to make, more than --max-changes {}; check the plan, then pass --max-changes {}",
                plan.plan_id,
                pending.len(),
                opts.max_changes,
                pending.len()
            )));
        }
        let header = Applied {
            plan_id: plan.plan_id.clone(),
            first_applied_at: first_applied,
            plan: plan.clone(),
        };
        manifest::write_json(lake, &applied_path(&plan.plan_id), &header).await?;
        report.actions = run_changes(client, lake, plan, &pending, opts, run_id).await?;
    }
    let (rows, partition) =
        commit_audit(lake, plan, opts, first_applied.date_naive(), started_at).await?;
    report.audit_rows = rows;
    report.audit_partition = partition;
    Ok(report)
}

/// Every attempt journalled for a plan.
async fn read_journal(lake: &Lake, plan_id: &str) -> Result<Vec<Action>, ChangeError> {
    let objects = lake.list(&steps_dir(plan_id)).await?;
    let mut out: Vec<Action> = futures::stream::iter(objects)
        .map(|o| async move {
            let a: Option<Action> = manifest::read_json(lake, &o.location).await?;
            Ok::<_, ChangeError>(a)
        })
        .buffer_unordered(16)
        .try_filter_map(|a| async move { Ok(a) })
        .try_collect()
        .await?;
    out.sort_by_key(|a| (a.step, a.time));
    Ok(out)
}

/// What the check before writing found for a change.
enum Check {
    Todo,
    Done(String),
    Conflict(String),
}

/// Checks every pending change against the org as it is now, then makes those still to
/// make, phase by phase (groups, users — managers first —, updates, memberships, deletes),
/// objects in parallel within a phase.
async fn run_changes(
    client: &ApiClient,
    lake: &Lake,
    plan: &Plan,
    pending: &[&Change],
    opts: &ApplyOptions,
    run_id: &str,
) -> Result<Vec<Action>, ChangeError> {
    let groups: BTreeSet<String> = pending
        .iter()
        .filter(|c| matches!(c.op, Op::AddMember | Op::RemoveMember))
        .filter_map(|c| c.group.as_ref().map(|g| g.name.clone()))
        .collect();
    let org = LiveOrg::read(client, &groups).await?;
    let key = plan.match_key;
    let created_in_plan: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| c.op == Op::CreateUser)
        .filter_map(|c| c.user.as_ref().map(|u| key.normalise(&u.key)))
        .collect();
    let groups_in_plan: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.op == Op::CreateGroup)
        .filter_map(|c| c.group.as_ref().map(|g| g.name.as_str()))
        .collect();
    let mut checks = Vec::with_capacity(pending.len());
    let mut conflicts = Vec::new();
    for c in pending {
        let check = check(c, plan, &org, &created_in_plan, &groups_in_plan);
        if let Check::Conflict(why) = &check {
            conflicts.push(format!("step {} {}: {why}", c.step, c.object()));
        }
        checks.push(check);
    }
    if !conflicts.is_empty() {
        return Err(ChangeError::Stale {
            plan_id: plan.plan_id.clone(),
            conflicts,
        });
    }
    let ctx = Ctx {
        client,
        key,
        base: client.endpoints().base_url.clone(),
        users: Mutex::new(
            org.by_key(key)
                .into_iter()
                .map(|(k, u)| (k, u.id.clone()))
                .collect(),
        ),
        groups: Mutex::new(
            org.groups
                .iter()
                .map(|g| (g.name.clone(), g.id.clone()))
                .collect(),
        ),
        attributes: org
            .users
            .iter()
            .map(|u| (u.id.clone(), u.attributes()))
            .collect(),
        settle: opts.settle,
        plan,
        run_id,
        run_by: &opts.run_by,
        lake,
    };
    let mut actions = Vec::with_capacity(pending.len());
    // Found done by the check: journalled without a write.
    let mut todo = Vec::new();
    for (c, check) in pending.iter().zip(checks) {
        match check {
            Check::Done(why) => {
                let a = ctx.action(c, Outcome::done(why, ids_of(c, &ctx)));
                ctx.journal(&a).await?;
                actions.push(a);
            }
            Check::Todo => todo.push(*c),
            Check::Conflict(_) => {}
        }
    }
    for phase in phases(&todo, key) {
        let done: Vec<Result<Action, ChangeError>> = futures::stream::iter(phase)
            .map(|c| {
                let ctx = &ctx;
                async move {
                    let outcome = ctx.execute(c).await;
                    let a = ctx.action(c, outcome);
                    ctx.journal(&a).await?;
                    Ok(a)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        for a in done {
            actions.push(a?);
        }
    }
    actions.sort_by_key(|a| a.step);
    Ok(actions)
}

/// The changes in the order they must be made: group creates; user creates in waves (a
/// manager created in the plan before the users reporting to them); updates; memberships;
/// deletes.
fn phases<'a>(todo: &[&'a Change], key: MatchKey) -> Vec<Vec<&'a Change>> {
    let mut out: Vec<Vec<&Change>> = Vec::new();
    let of = |op: Op| -> Vec<&Change> { todo.iter().copied().filter(|c| c.op == op).collect() };
    out.push(of(Op::CreateGroup));
    let creates = of(Op::CreateUser);
    let mut depth: HashMap<String, usize> = HashMap::new();
    let mut waves: BTreeMap<usize, Vec<&Change>> = BTreeMap::new();
    for c in creates {
        let manager = c
            .after
            .get("manager")
            .and_then(Value::as_str)
            .map(|m| key.normalise(m));
        let d = manager
            .and_then(|m| depth.get(&m).map(|d| d + 1))
            .unwrap_or(0);
        if let Some(u) = &c.user {
            depth.insert(key.normalise(&u.key), d);
        }
        waves.entry(d).or_default().push(c);
    }
    out.extend(waves.into_values());
    out.push(of(Op::UpdateUser));
    let mut members = of(Op::AddMember);
    members.extend(of(Op::RemoveMember));
    out.push(members);
    out.push(of(Op::DeleteUser));
    out.retain(|p| !p.is_empty());
    out
}

fn ids_of(c: &Change, ctx: &Ctx<'_>) -> (Option<String>, Option<String>) {
    let user = c
        .user
        .as_ref()
        .and_then(|u| u.id.clone().or_else(|| ctx.user_id(&u.key)));
    let group = c
        .group
        .as_ref()
        .and_then(|g| g.id.clone().or_else(|| ctx.group_id(&g.name)));
    (user, group)
}

fn user_of<'a>(
    c: &Change,
    org: &'a LiveOrg,
    by_key: &HashMap<String, &'a LiveUser>,
    key: MatchKey,
) -> Option<&'a LiveUser> {
    let u = c.user.as_ref()?;
    match &u.id {
        Some(id) => org.users.iter().find(|x| &x.id == id),
        None => by_key.get(&key.normalise(&u.key)).copied(),
    }
}

/// Whether a change is still to make, already made, or in conflict with the org now.
fn check(
    c: &Change,
    plan: &Plan,
    org: &LiveOrg,
    created_in_plan: &BTreeSet<String>,
    groups_in_plan: &BTreeSet<&str>,
) -> Check {
    let key = plan.match_key;
    let by_key = org.by_key(key);
    let by_id = org.by_id();
    let matches_after = |u: &LiveUser| {
        c.after.iter().all(|(f, v)| {
            plan::same(
                f,
                v.as_str(),
                plan::live_value(u, f, key, &by_id).as_deref(),
                key,
            )
        })
    };
    match c.op {
        Op::CreateGroup => {
            let name = c
                .group
                .as_ref()
                .map(|g| g.name.as_str())
                .unwrap_or_default();
            match org.groups.iter().find(|g| g.name == name) {
                Some(g) => Check::Done(format!("group exists (id {})", g.id)),
                None => Check::Todo,
            }
        }
        Op::CreateUser => match user_of(c, org, &by_key, key) {
            None => Check::Todo,
            Some(u) if matches_after(u) => Check::Done(format!("user exists (id {})", u.id)),
            Some(u) => Check::Conflict(format!(
                "a user with this {} exists now (id {}) with other values",
                key.field(),
                u.id
            )),
        },
        Op::UpdateUser => match user_of(c, org, &by_key, key) {
            None => Check::Conflict("the user is gone".into()),
            Some(u) if plan::fingerprint(u, &plan.fields) == c.fingerprint => Check::Todo,
            Some(u) if matches_after(u) => Check::Done("the fields have their new values".into()),
            Some(_) => Check::Conflict("the user changed since the plan".into()),
        },
        Op::DeleteUser => match user_of(c, org, &by_key, key) {
            None => Check::Done("the user is gone".into()),
            Some(u) if plan::fingerprint(u, &plan.fields) == c.fingerprint => Check::Todo,
            Some(_) => Check::Conflict("the user changed since the plan".into()),
        },
        Op::AddMember | Op::RemoveMember => {
            let name = c
                .group
                .as_ref()
                .map(|g| g.name.as_str())
                .unwrap_or_default();
            let group = org.groups.iter().find(|g| g.name == name);
            let user = user_of(c, org, &by_key, key);
            let member = match (group, user) {
                (Some(g), Some(u)) => org.members.get(&g.id).is_some_and(|m| m.contains(&u.id)),
                _ => false,
            };
            let user_key = c
                .user
                .as_ref()
                .map(|u| key.normalise(&u.key))
                .unwrap_or_default();
            if c.op == Op::RemoveMember {
                return if member {
                    Check::Todo
                } else {
                    Check::Done("not a member".into())
                };
            }
            if member {
                return Check::Done("already a member".into());
            }
            if user.is_none() && !created_in_plan.contains(&user_key) {
                return Check::Conflict("the user is gone".into());
            }
            if group.is_none() && !groups_in_plan.contains(name) {
                return Check::Conflict("the group is gone".into());
            }
            Check::Todo
        }
    }
}

/// How a change ended: status, the ids it touched, the last answer.
struct Outcome {
    status: Status,
    user_id: Option<String>,
    group_id: Option<String>,
    http_status: Option<u16>,
    message: Option<String>,
    request_id: Option<String>,
}

impl Outcome {
    fn done(why: String, (user_id, group_id): (Option<String>, Option<String>)) -> Outcome {
        Outcome {
            status: Status::AlreadyDone,
            user_id,
            group_id,
            http_status: None,
            message: Some(why),
            request_id: None,
        }
    }

    fn failed(message: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Failed,
            user_id: None,
            group_id: None,
            http_status: None,
            message: Some(message.into()),
            request_id: None,
        }
    }
}

/// What every write of an apply shares.
struct Ctx<'a> {
    client: &'a ApiClient,
    key: MatchKey,
    base: String,
    /// Normalised match key → user id, growing as users are created.
    users: Mutex<HashMap<String, String>>,
    /// Group name → id, growing as groups are created.
    groups: Mutex<HashMap<String, String>>,
    /// User id → custom attributes when the apply started (`attributes` is replaced whole).
    attributes: HashMap<String, Vec<(String, Value)>>,
    settle: Duration,
    plan: &'a Plan,
    run_id: &'a str,
    run_by: &'a str,
    lake: &'a Lake,
}

/// The last answer of a write that was answered.
struct Answer {
    status: u16,
    body: Value,
    message: String,
    request_id: Option<String>,
}

/// A write's result after its lost answers were looked into.
enum Written {
    Answered(Answer),
    /// The write (or one of its lost attempts) was found made.
    FoundMade(Option<String>),
    /// Every attempt's answer was lost and the object does not show the write.
    Lost(String),
}

impl Ctx<'_> {
    fn user_id(&self, k: &str) -> Option<String> {
        guard(&self.users).get(&self.key.normalise(k)).cloned()
    }

    fn group_id(&self, name: &str) -> Option<String> {
        guard(&self.groups).get(name).cloned()
    }

    fn action(&self, c: &Change, o: Outcome) -> Action {
        let json_text =
            |m: &Map<String, Value>| (!m.is_empty()).then(|| Value::Object(m.clone()).to_string());
        Action {
            plan_id: self.plan.plan_id.clone(),
            run_id: self.run_id.to_string(),
            step: c.step,
            operation: c.op,
            object: c.object(),
            object_id: o.user_id.or_else(|| {
                (c.op == Op::CreateGroup)
                    .then(|| o.group_id.clone())
                    .flatten()
            }),
            group_id: c
                .group
                .as_ref()
                .and_then(|g| g.id.clone().or_else(|| self.group_id(&g.name))),
            before: json_text(&c.before),
            after: json_text(&c.after),
            status: o.status,
            http_status: o.http_status,
            message: o.message,
            request_id: o.request_id,
            time: Utc::now(),
            run_by: self.run_by.to_string(),
            org_id: self.plan.target.org_id.clone(),
        }
    }

    async fn journal(&self, a: &Action) -> Result<(), ChangeError> {
        manifest::write_json(self.lake, &step_path(a), a).await?;
        Ok(())
    }

    /// Sends a write; when its answer is lost, asks `made` whether it was made before
    /// sending it again (at most `WRITE_ATTEMPTS` times).
    async fn write<F, Fut>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        made: F,
    ) -> Result<Written, SourceError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<String>, SourceError>>,
    {
        let mut last = String::new();
        for attempt in 1..=WRITE_ATTEMPTS {
            match self.client.write(method.clone(), url, body).await? {
                WriteAnswer::Answered {
                    status,
                    body,
                    message,
                    request_id,
                } => {
                    return Ok(Written::Answered(Answer {
                        status,
                        body,
                        message,
                        request_id,
                    }))
                }
                WriteAnswer::Unknown { status, message } => {
                    last = match status {
                        Some(s) => format!("HTTP {s}: {message}"),
                        None => message,
                    };
                    tracing::debug!(url, attempt, %last, "write answer lost; looking before sending again");
                    if let Some(id) = made().await? {
                        return Ok(Written::FoundMade(Some(id)));
                    }
                    tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
                }
            }
        }
        Ok(Written::Lost(format!(
            "{WRITE_ATTEMPTS} attempts without an answer, the last: {last}"
        )))
    }

    /// Looks with `find` until it finds, or `settle` has passed (reads lag writes).
    async fn settle<F, Fut>(&self, find: F) -> Result<Option<String>, SourceError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<String>, SourceError>>,
    {
        let deadline = Instant::now() + self.settle;
        let mut wait = Duration::from_millis(100);
        loop {
            if let Some(id) = find().await? {
                return Ok(Some(id));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    async fn execute(&self, c: &Change) -> Outcome {
        let result = match c.op {
            Op::CreateGroup => self.create_group(c).await,
            Op::CreateUser => self.create_user(c).await,
            Op::UpdateUser => self.update_user(c).await,
            Op::DeleteUser => self.delete_user(c).await,
            Op::AddMember | Op::RemoveMember => self.membership(c).await,
        };
        result.unwrap_or_else(|e| Outcome::failed(e.to_string()))
    }

    async fn find_user_id(&self, k: &str) -> Result<Option<String>, SourceError> {
        Ok(live::find_user(self.client, self.key, k)
            .await?
            .map(|u| u.id))
    }

    async fn find_group_id(&self, name: &str) -> Result<Option<String>, SourceError> {
        Ok(live::find_group(self.client, name).await?.map(|g| g.id))
    }

    async fn create_group(&self, c: &Change) -> Result<Outcome, SourceError> {
        let name = c.group.as_ref().map(|g| g.name.clone()).unwrap_or_default();
        let url = format!("{}/api/v2/usergroups", self.base);
        let body = json!({"name": name});
        let written = self
            .write(Method::POST, &url, Some(&body), || {
                self.find_group_id(&name)
            })
            .await?;
        let (status, id, answer) = match written {
            Written::FoundMade(id) => (Status::Applied, id, None),
            Written::Lost(m) => return Ok(Outcome::failed(m)),
            Written::Answered(a) if (200..300).contains(&a.status) => {
                let id = a.body.get("id").and_then(Value::as_str).map(str::to_string);
                (Status::Applied, id, Some(a))
            }
            Written::Answered(a) if already_exists(&a) => {
                let id = self.settle(|| self.find_group_id(&name)).await?;
                if id.is_none() {
                    return Ok(answered_failure(
                        a,
                        "the service says the group exists but it does not show",
                    ));
                }
                (Status::AlreadyDone, id, Some(a))
            }
            Written::Answered(a) => return Ok(answered_failure(a, "")),
        };
        if let Some(id) = &id {
            guard(&self.groups).insert(name, id.clone());
        }
        Ok(with_answer(
            Outcome {
                status,
                user_id: None,
                group_id: id,
                http_status: None,
                message: None,
                request_id: None,
            },
            answer,
        ))
    }

    /// A user's JSON body from the fields of a change.
    fn user_body(&self, c: &Change, current: Option<&[(String, Value)]>) -> Result<Value, String> {
        let mut body = Map::new();
        let mut attributes: Option<Vec<(String, Value)>> = None;
        for (f, v) in &c.after {
            if let Some(name) = f.strip_prefix(ATTRIBUTE_PREFIX) {
                let list = attributes
                    .get_or_insert_with(|| current.map(<[_]>::to_vec).unwrap_or_default());
                match list.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) if !v.is_null() => slot.1 = v.clone(),
                    Some(_) => list.retain(|(n, _)| n != name),
                    None if !v.is_null() => list.push((name.to_string(), v.clone())),
                    None => {}
                }
            } else if f == "manager" {
                let id =
                    match v.as_str() {
                        None => Value::Null,
                        Some(k) => Value::String(self.user_id(k).ok_or_else(|| {
                            format!("manager {k:?} has no id: it was not created")
                        })?),
                    };
                body.insert(f.clone(), id);
            } else {
                body.insert(f.clone(), v.clone());
            }
        }
        if let Some(list) = attributes {
            body.insert(
                "attributes".into(),
                Value::Array(
                    list.into_iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect(),
                ),
            );
        }
        Ok(Value::Object(body))
    }

    async fn create_user(&self, c: &Change) -> Result<Outcome, SourceError> {
        let k = c.user.as_ref().map(|u| u.key.clone()).unwrap_or_default();
        let body = match self.user_body(c, None) {
            Ok(b) => b,
            Err(m) => return Ok(Outcome::failed(m)),
        };
        let url = format!("{}/api/systemusers", self.base);
        let written = self
            .write(Method::POST, &url, Some(&body), || self.find_user_id(&k))
            .await?;
        let (status, id, answer) = match written {
            Written::FoundMade(id) => (Status::Applied, id, None),
            Written::Lost(m) => return Ok(Outcome::failed(m)),
            Written::Answered(a) if (200..300).contains(&a.status) => {
                let id = a
                    .body
                    .get("_id")
                    .or_else(|| a.body.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (Status::Applied, id, Some(a))
            }
            Written::Answered(a) if already_exists(&a) => {
                // Ours (an attempt whose answer was lost, not visible yet) or another
                // user's email or employee id.
                match self.settle(|| self.find_user_id(&k)).await? {
                    Some(id) => (Status::AlreadyDone, Some(id), Some(a)),
                    None => {
                        return Ok(answered_failure(
                            a,
                            "no user has this key: another user holds the email, username or employee id",
                        ))
                    }
                }
            }
            Written::Answered(a) => return Ok(answered_failure(a, "")),
        };
        if let Some(id) = &id {
            guard(&self.users).insert(self.key.normalise(&k), id.clone());
        }
        Ok(with_answer(
            Outcome {
                status,
                user_id: id,
                group_id: None,
                http_status: None,
                message: None,
                request_id: None,
            },
            answer,
        ))
    }

    async fn update_user(&self, c: &Change) -> Result<Outcome, SourceError> {
        let Some(id) = c.user.as_ref().and_then(|u| u.id.clone()) else {
            return Ok(Outcome::failed("the plan names no user id"));
        };
        let body = match self.user_body(c, self.attributes.get(&id).map(Vec::as_slice)) {
            Ok(b) => b,
            Err(m) => return Ok(Outcome::failed(m)),
        };
        let url = format!("{}/api/systemusers/{id}", self.base);
        // A PUT of the same fields is safe to send again: nothing to look up first.
        let written = self
            .write(Method::PUT, &url, Some(&body), || async { Ok(None) })
            .await?;
        Ok(match written {
            Written::Answered(a) if (200..300).contains(&a.status) => with_answer(
                Outcome {
                    status: Status::Applied,
                    user_id: Some(id),
                    group_id: None,
                    http_status: None,
                    message: None,
                    request_id: None,
                },
                Some(a),
            ),
            Written::Answered(a) => with_id(answered_failure(a, ""), &id),
            Written::FoundMade(_) => unreachable_found(),
            Written::Lost(m) => with_id(Outcome::failed(m), &id),
        })
    }

    async fn delete_user(&self, c: &Change) -> Result<Outcome, SourceError> {
        let Some(id) = c.user.as_ref().and_then(|u| u.id.clone()) else {
            return Ok(Outcome::failed("the plan names no user id"));
        };
        let url = format!("{}/api/systemusers/{id}", self.base);
        let gone = || async {
            Ok(match live::get_user(self.client, &id).await? {
                None => Some(id.clone()),
                Some(_) => None,
            })
        };
        let written = self.write(Method::DELETE, &url, None, gone).await?;
        let outcome = |status| Outcome {
            status,
            user_id: Some(id.clone()),
            group_id: None,
            http_status: None,
            message: None,
            request_id: None,
        };
        Ok(match written {
            Written::FoundMade(_) => outcome(Status::Applied),
            Written::Lost(m) => with_id(Outcome::failed(m), &id),
            Written::Answered(a) if (200..300).contains(&a.status) => {
                with_answer(outcome(Status::Applied), Some(a))
            }
            Written::Answered(a) if a.status == 404 => {
                with_answer(outcome(Status::AlreadyDone), Some(a))
            }
            Written::Answered(a) if a.status == 409 => with_id(
                answered_failure(
                    a,
                    "the user manages other users; give them another manager first",
                ),
                &id,
            ),
            Written::Answered(a) => with_id(answered_failure(a, ""), &id),
        })
    }

    async fn membership(&self, c: &Change) -> Result<Outcome, SourceError> {
        let add = c.op == Op::AddMember;
        let user_id = c
            .user
            .as_ref()
            .and_then(|u| u.id.clone().or_else(|| self.user_id(&u.key)));
        let group_id = c
            .group
            .as_ref()
            .and_then(|g| g.id.clone().or_else(|| self.group_id(&g.name)));
        let (Some(uid), Some(gid)) = (user_id.clone(), group_id.clone()) else {
            let mut o = Outcome::failed(match user_id {
                None => "the user has no id: it was not created",
                Some(_) => "the group has no id: it was not created",
            });
            o.user_id = user_id;
            o.group_id = group_id;
            return Ok(o);
        };
        let url = format!("{}/api/v2/usergroups/{gid}/members", self.base);
        let body = json!({"op": if add { "add" } else { "remove" }, "type": "user", "id": uid});
        let is_done = || async {
            let members = live::members(self.client, &gid).await?;
            Ok((members.contains(&uid) == add).then(|| uid.clone()))
        };
        let written = self.write(Method::POST, &url, Some(&body), is_done).await?;
        let outcome = |status| Outcome {
            status,
            user_id: Some(uid.clone()),
            group_id: Some(gid.clone()),
            http_status: None,
            message: None,
            request_id: None,
        };
        Ok(match written {
            Written::FoundMade(_) => outcome(Status::Applied),
            Written::Lost(m) => {
                let mut o = Outcome::failed(m);
                o.user_id = Some(uid.clone());
                o.group_id = Some(gid.clone());
                o
            }
            Written::Answered(a) if (200..300).contains(&a.status) => {
                with_answer(outcome(Status::Applied), Some(a))
            }
            // 409 "already a member", 404 "not a member": what the change wanted.
            Written::Answered(a) if (add && a.status == 409) || (!add && a.status == 404) => {
                with_answer(outcome(Status::AlreadyDone), Some(a))
            }
            Written::Answered(a) => {
                let mut o = answered_failure(a, "");
                o.user_id = Some(uid.clone());
                o.group_id = Some(gid.clone());
                o
            }
        })
    }
}

fn unreachable_found() -> Outcome {
    Outcome::failed("internal: a PUT has no look-up")
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A 400 or 409 whose text says the object exists: JumpCloud's duplicate answer (400 per
/// its spec, 409 in some clients' experience).
fn already_exists(a: &Answer) -> bool {
    matches!(a.status, 400 | 409) && a.message.to_lowercase().contains("already exist")
}

fn with_answer(mut o: Outcome, a: Option<Answer>) -> Outcome {
    if let Some(a) = a {
        o.http_status = Some(a.status);
        o.request_id = a.request_id;
        if o.message.is_none() && !a.message.is_empty() && a.status >= 300 {
            o.message = Some(a.message);
        }
    }
    o
}

fn with_id(mut o: Outcome, id: &str) -> Outcome {
    o.user_id = Some(id.to_string());
    o
}

fn answered_failure(a: Answer, why: &str) -> Outcome {
    let text = match (why.is_empty(), a.message.is_empty()) {
        (true, _) => format!("HTTP {}: {}", a.status, a.message),
        (false, true) => format!("HTTP {}: {why}", a.status),
        (false, false) => format!("HTTP {}: {} ({why})", a.status, a.message),
    };
    Outcome {
        status: Status::Failed,
        user_id: None,
        group_id: None,
        http_status: Some(a.status),
        message: Some(text),
        request_id: a.request_id,
    }
}

/// Rebuilds the `actions` partition of `day` from the journals of every plan first
/// applied that day, and commits it; returns its rows and folder.
async fn commit_audit(
    lake: &Lake,
    plan: &Plan,
    opts: &ApplyOptions,
    day: NaiveDate,
    started_at: DateTime<Utc>,
) -> Result<(u64, String), ChangeError> {
    let schema = TableSchema::parse("schemas/actions.json", ACTIONS_SCHEMA).map_err(|e| {
        ChangeError::PlanFile {
            path: "schemas/actions.json".into(),
            message: e.to_string(),
        }
    })?;
    let mut plans = BTreeSet::new();
    for o in lake.list(&key([META_DIR, "apply"])).await? {
        if o.location.filename() == Some("applied.json") {
            if let Some(a) = manifest::read_json::<Applied>(lake, &o.location).await? {
                if a.first_applied_at.date_naive() == day {
                    plans.insert(a.plan_id);
                }
            }
        }
    }
    plans.insert(plan.plan_id.clone());
    let mut rows = Vec::new();
    for p in &plans {
        for a in read_journal(lake, p).await? {
            let mut v = serde_json::to_value(&a).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                // Whole microseconds, as the column holds them.
                m.insert(
                    "time".into(),
                    Value::String(a.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
                );
            }
            rows.push(v);
        }
    }
    let layout = manifest::read_state(lake).await?.and_then(|s| s.layout);
    let org = match layout {
        Some(Layout::OrgId) => plan.target.org_id.clone(),
        _ => None,
    };
    let partition = Partition {
        org: org.clone(),
        date: DateKey::Applied(day),
    };
    let folder = partition.path_in(&schema.table).join("/");
    let run = commit_rows(
        lake,
        &opts.write,
        &schema,
        partition,
        &rows,
        RowsRun {
            source: SourceInfo {
                base_url: plan.target.base_url.clone(),
                insights_url: String::new(),
                org_id: plan.target.org_id.clone(),
            },
            started_at,
            orgs: org.into_iter().collect(),
        },
    )
    .await?;
    let committed = run.tables.first().map(|t| t.rows).unwrap_or(0);
    Ok((committed, folder))
}
