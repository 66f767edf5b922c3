//! What a run prints on stdout: the export summary (one line per table, event days summed)
//! and the `--plan` table.

use crate::export::plan::PlanLine;
use crate::export::ExportConfig;
use crate::model::{RunManifest, TableRun};

/// The `--plan` table: each table's endpoint and estimated requests, then the total.
pub(super) fn print_plan(cfg: &ExportConfig, lines: &[PlanLine]) {
    out!("plan: {} -> {}", cfg.endpoints.base_url, cfg.lake);
    out!("{:<40} {:>9}  endpoint; basis", "table", "requests");
    let mut total = 0u64;
    let mut known = true;
    for l in lines {
        let n = l
            .requests
            .map(|n| format!("~{n}"))
            .unwrap_or_else(|| "?".into());
        out!("{:<40} {:>9}  {}; {}", l.table, n, l.endpoint, l.basis);
        match l.requests {
            Some(n) => total += n,
            None => known = false,
        }
    }
    let at_least = if known { "" } else { "at least " };
    match cfg.pace.rate_limit_rpm {
        Some(rpm) => out!(
            "total: {at_least}~{total} requests, ~{:.1} min at {rpm} requests/min",
            total as f64 / rpm as f64
        ),
        None => out!("total: {at_least}~{total} requests"),
    }
}

fn human_bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// One line per table (the event stream's days summed into one), then the totals.
pub(super) fn print_summary(run: &RunManifest, cfg: &ExportConfig, seconds: f64) {
    out!(
        "run {} {} -> {} ({})",
        run.run_id,
        run.outcome,
        cfg.lake,
        run.snapshot_date
    );
    out!(
        "{:<40} {:>10} {:>6} {:>12} {:>8}  rescued",
        "table",
        "rows",
        "files",
        "bytes",
        "seconds"
    );
    let mut order: Vec<&str> = Vec::new();
    let mut by_table: std::collections::BTreeMap<&str, Vec<&TableRun>> = Default::default();
    for t in &run.tables {
        if !order.contains(&t.table.as_str()) {
            order.push(&t.table);
        }
        by_table.entry(&t.table).or_default().push(t);
    }
    let (mut rows, mut files, mut bytes) = (0u64, 0usize, 0u64);
    for name in order {
        let parts = &by_table[name];
        let t_rows: u64 = parts.iter().map(|t| t.rows).sum();
        let t_files: usize = parts.iter().map(|t| t.files.len()).sum();
        let t_bytes: u64 = parts.iter().map(|t| t.bytes).sum();
        let t_secs: f64 = parts.iter().map(|t| t.seconds).sum();
        let mut rescued: std::collections::BTreeMap<&str, u64> = Default::default();
        for t in parts {
            for (k, n) in &t.rescued {
                *rescued.entry(k).or_default() += n;
            }
        }
        let label = if parts.len() > 1 {
            format!("{name} ({} partitions)", parts.len())
        } else {
            name.to_string()
        };
        let failures: Vec<&str> = parts.iter().filter_map(|t| t.error.as_deref()).collect();
        let status = if failures.is_empty() {
            String::new()
        } else {
            format!("  FAILED: {}", failures.join("; "))
        };
        out!(
            "{:<40} {:>10} {:>6} {:>12} {:>8.2}  {}{}",
            label,
            t_rows,
            t_files,
            human_bytes(t_bytes),
            t_secs,
            rescued.values().sum::<u64>(),
            status
        );
        for (path, n) in &rescued {
            out!("    rescued {path}: {n}");
        }
        for c in parts.iter().flat_map(|t| &t.schema_changes) {
            out!("    schema: {c}");
        }
        rows += t_rows;
        files += t_files;
        bytes += t_bytes;
    }
    out!(
        "{:<40} {:>10} {:>6} {:>12} {:>8.2}",
        "total",
        rows,
        files,
        human_bytes(bytes),
        seconds
    );
    let r = &run.requests;
    let against = match r.limit_per_minute {
        Some(l) if l > 0.0 => format!(
            " against a {} limit of {:.0}/min ({:.0} %)",
            if r.limit_learnt {
                "learnt"
            } else {
                "configured"
            },
            l,
            100.0 * r.accepted_per_minute / l
        ),
        _ => String::new(),
    };
    out!(
        "requests: {} made, {} retried, {} throttled; {:.0} accepted/min{against}",
        r.made,
        r.retried,
        r.throttled,
        r.accepted_per_minute
    );
}
