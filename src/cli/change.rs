//! `jclake plan` and `jclake apply`: the desired state in, a plan out (printed, and as
//! JSON with `--out`); a plan file in, its writes, the journal and the audit out. Exit
//! codes: `plan` 0 without changes, 10 with; `apply` 0, 9 when an action failed, 11 for a
//! stale plan, 12 when a guard refused it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::change::{
    self, desired, live::LiveOrg, ApplyOptions, ChangeError, PlanOptions, PlanTarget, Status,
};
use crate::config::{self, ConfigError, Flags, WriteBackConfig, WriteBackSettings};
use crate::model::exit;
use crate::sink::Lake;
use crate::source::ApiClient;

use super::{fail, init_logs, layers};

/// Settings resolved, logs started.
fn resolve(flags: &Flags<WriteBackSettings>) -> Result<WriteBackConfig, ExitCode> {
    let l = layers(flags)?;
    let format: String = l
        .value(&config::defs::LOG_FORMAT)
        .map_err(|e| fail(exit::CONFIG, e))?;
    init_logs(&format).map_err(|e| fail(exit::CONFIG, e))?;
    config::write_back(&l).map_err(|e: ConfigError| fail(exit::CONFIG, e))
}

fn client(cfg: &WriteBackConfig) -> Result<ApiClient, ExitCode> {
    ApiClient::with_credentials(
        cfg.endpoints.clone(),
        cfg.credentials.clone(),
        cfg.org_id.as_deref(),
        cfg.retry.clone(),
        &cfg.pace,
    )
    .map_err(|e| fail(exit::CONFIG, e))
}

fn target(cfg: &WriteBackConfig) -> PlanTarget {
    PlanTarget {
        base_url: cfg.endpoints.base_url.clone(),
        org_id: cfg.org_id.clone(),
    }
}

pub(super) struct PlanArgs {
    pub desired: String,
    pub memberships: Option<String>,
    pub out: Option<std::path::PathBuf>,
    pub delete_missing: bool,
    pub scope: Option<String>,
}

pub(super) async fn plan(args: PlanArgs, flags: &Flags<WriteBackSettings>) -> ExitCode {
    let cfg = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let scope = match (&args.scope, args.delete_missing) {
        (Some(s), true) => match change::DeleteScope::parse(s) {
            Ok(s) => Some(s),
            Err(e) => return fail(exit::CONFIG, e),
        },
        (None, true) => {
            return fail(
                exit::CONFIG,
                "--delete-missing needs --scope: all, or FIELD=VALUE naming the users the desired state governs",
            )
        }
        (Some(_), false) => {
            return fail(exit::CONFIG, "--scope only applies with --delete-missing")
        }
        (None, false) => None,
    };
    let client = match client(&cfg) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let made = async {
        let users = desired::read_users(&args.desired, &cfg.s3, cfg.match_key).await?;
        let memberships = match &args.memberships {
            Some(m) => Some(desired::read_memberships(m, &cfg.s3, cfg.match_key).await?),
            None => None,
        };
        let groups: BTreeSet<String> = memberships
            .iter()
            .flat_map(|m| m.rows.iter().map(|r| r.group.clone()))
            .collect();
        let org = LiveOrg::read(&client, &groups).await?;
        change::plan::make(
            &users,
            memberships.as_ref(),
            &org,
            PlanOptions {
                target: target(&cfg),
                match_key: cfg.match_key,
                delete_scope: scope,
            },
        )
    };
    let plan = match made.await {
        Ok(p) => p,
        Err(e) => return fail(e.exit_code(), e),
    };
    out!("{}", change::plan::render(&plan).trim_end());
    if let Some(path) = &args.out {
        if let Err(e) = write_plan(path, &plan) {
            return fail(
                exit::CONFIG,
                format!("cannot write the plan to {}: {e}", path.display()),
            );
        }
        out!(
            "plan written to {}; apply it with: jclake apply {}",
            path.display(),
            path.display()
        );
    }
    if plan.changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::CHANGES)
    }
}

/// Written beside its place, then renamed: a plan file is whole or absent.
fn write_plan(path: &Path, plan: &change::Plan) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(plan)?;
    let tmp = path.with_extension("json.partial");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// `user@host` of this process.
fn run_by() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host}")
}

pub(super) async fn apply(
    plan_path: &Path,
    allow_delete: bool,
    flags: &Flags<WriteBackSettings>,
) -> ExitCode {
    let cfg = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(location) = cfg.lake.clone() else {
        return fail(exit::CONFIG, ConfigError::NoLake);
    };
    let plan = match change::apply::read_plan(&plan_path.display().to_string()) {
        Ok(p) => p,
        Err(e) => return fail(e.exit_code(), e),
    };
    if plan.match_key != cfg.match_key {
        tracing::debug!(plan = %plan.match_key, "the plan's match key is used");
    }
    let client = match client(&cfg) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = ApplyOptions {
        max_changes: cfg.max_changes,
        allow_delete,
        concurrency: cfg.write_concurrency,
        run_by: run_by(),
        lock_ttl: cfg.lock_ttl,
        wait_for_lock: cfg.wait_for_lock,
        write: cfg.write.clone(),
        settle: Duration::from_secs(30),
    };
    let applied = async {
        let lake = Lake::open(&location, &cfg.s3)?;
        change::apply(&client, &lake, &plan, &target(&cfg), &opts).await
    };
    let report = match applied.await {
        Ok(r) => r,
        Err(e @ ChangeError::Stale { .. }) => {
            if let ChangeError::Stale { conflicts, .. } = &e {
                for c in conflicts {
                    eprintln!("jclake: stale: {c}");
                }
            }
            return fail(e.exit_code(), e);
        }
        Err(e) => return fail(e.exit_code(), e),
    };
    for a in &report.actions {
        out!(
            "{:<12} {:>4} {:<14} {}{}",
            a.status.as_str(),
            a.step,
            a.operation.as_str(),
            a.object,
            a.message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
    }
    let failed: Vec<_> = report.failed().collect();
    out!(
        "plan {}: {} changes; this run {} applied, {} already done, {} failed; {} done by earlier runs; audit: {} ({} rows), journal: _jclake/apply/{}/",
        report.plan_id,
        report.changes,
        report.count(Status::Applied),
        report.count(Status::AlreadyDone),
        failed.len(),
        report.done_before,
        report.audit_partition,
        report.audit_rows,
        report.plan_id
    );
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    for a in &failed {
        eprintln!(
            "jclake: step {} {} {} failed: {}",
            a.step,
            a.operation.as_str(),
            a.object,
            a.message.as_deref().unwrap_or("")
        );
    }
    eprintln!(
        "jclake: {} of {} changes failed; fix their cause and run jclake apply {} again (done changes are skipped)",
        failed.len(),
        report.changes,
        plan_path.display()
    );
    ExitCode::from(exit::ACTIONS_FAILED)
}
