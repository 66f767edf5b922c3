//! The command line: in come arguments, out go exit codes and one clear line per failure.
//! `jclake export`, `jclake tables`, `jclake describe <table>` and `jclake sim serve`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// `println!` that gives up quietly when stdout is closed (`jclake tables | head`) instead
/// of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use crate::{config, sim};

#[derive(Parser, Debug)]
#[command(
    name = "jclake",
    version,
    about = "Export a JumpCloud organization into a Parquet lake"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Export the org into the lake (settings: --config file < environment < flags).
    Export(ExportArgs),
    /// Check a lake against its manifests: every listed file there with its size and row
    /// count, no unlisted data file in a table folder.
    Verify(VerifyArgs),
    /// List the tables jclake exports.
    Tables,
    /// Print a table's declared columns.
    Describe {
        /// A table name from `jclake tables`.
        table: String,
        /// Show the table as a lake has it: declared columns plus those runs discovered.
        #[arg(long)]
        lake: Option<String>,
        /// TOML settings file: its `lake` (unless --lake is given) and `[s3]` settings.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// The built-in JumpCloud simulator.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// TOML settings file (see example.toml).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Lake root: a local path or s3://bucket/prefix.
    #[arg(long)]
    lake: Option<String>,
    /// JumpCloud base URL, scheme and host only; /api and /api/v2 are appended.
    #[arg(long)]
    base_url: Option<String>,
    /// Directory Insights base URL, when it is not --base-url.
    #[arg(long)]
    insights_url: Option<String>,
    /// JumpCloud region for the default hosts: us, eu or in.
    #[arg(long)]
    region: Option<String>,
    /// Comma-separated tables (default: all; see `jclake tables`).
    #[arg(long)]
    tables: Option<String>,
    /// Organization id for a multi-tenant key (also JUMPCLOUD_ORG_ID).
    #[arg(long)]
    org_id: Option<String>,
    /// Allow plain http to a non-loopback host.
    #[arg(long)]
    allow_http: bool,
    /// Partition date of the snapshot (default: today, UTC).
    #[arg(long)]
    snapshot_date: Option<String>,
    /// Start of the event stream for a new lake: RFC 3339 or YYYY-MM-DD (default: 90 days back).
    #[arg(long)]
    since: Option<String>,
    /// A ceiling in requests per minute (default: learn the service's limit from its 429s).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Keep this many snapshot partitions per table; older ones are deleted after the commit.
    #[arg(long)]
    keep_snapshots: Option<usize>,
    /// Wait up to this many seconds for another run on the same lake to finish.
    #[arg(long)]
    wait_for_lock: Option<u64>,
    /// Tables exported at once.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Print which endpoints the run would call and about how many requests, then stop.
    #[arg(long)]
    plan: bool,
    /// Log format on stderr: text or json.
    #[arg(long, default_value = "text")]
    log_format: String,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// Lake root: a local path or s3://bucket/prefix.
    #[arg(long)]
    lake: Option<String>,
    /// TOML settings file (for `lake` and `[s3]`).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Serve a simulated org on 127.0.0.1; prints the base URL on the first line of stdout.
    Serve(SimServeArgs),
}

#[derive(Args, Debug)]
struct SimServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 250)]
    users: usize,
    #[arg(long, default_value_t = 120)]
    systems: usize,
    #[arg(long, default_value_t = 20)]
    user_groups: usize,
    #[arg(long, default_value_t = 10)]
    system_groups: usize,
    #[arg(long, default_value_t = 12)]
    applications: usize,
    #[arg(long, default_value_t = 8)]
    commands: usize,
    #[arg(long, default_value_t = 2)]
    radius_servers: usize,
    #[arg(long, default_value_t = 15)]
    policies: usize,
    #[arg(long, default_value_t = 3)]
    directories: usize,
    #[arg(long, default_value_t = 3000)]
    events: usize,
    /// Events are spread over this many days before now.
    #[arg(long, default_value_t = 7)]
    event_days: u32,
    /// Orgs behind the multi-tenant key (org 0 is also the plain key's org).
    #[arg(long, default_value_t = 2)]
    orgs: usize,
    /// Accepted `x-api-key`.
    #[arg(long, default_value = sim::DEFAULT_API_KEY)]
    api_key: String,
    /// Lifetime of OAuth service-account tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Requests per minute per key; more get 429.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Leave `Retry-After` off rate-limit answers.
    #[arg(long)]
    no_retry_after: bool,
    /// Milliseconds added to every API answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered 500/502/503/504.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of requests whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    reset_rate: f64,
    /// Share of answers cut off half-way through the body.
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Share of requests answered 429 whatever the rate.
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Drop the connection of every API request from this number on.
    #[arg(long)]
    reset_from_request: Option<u64>,
    /// Users from this index on carry a new field and a new nested key.
    #[arg(long)]
    drift_field_after: Option<usize>,
    /// Every n-th user has fields of another JSON type.
    #[arg(long)]
    drift_type_every: Option<usize>,
    /// Mutate every org every this many seconds: 5 users added, 2 removed, 3 changed, 200
    /// new events (half in the newest millisecond) and 20 late ones (up to 30 min back).
    /// `POST /_sim/mutate` does one step on demand.
    #[arg(long)]
    mutate_every: Option<u64>,
}

impl SimServeArgs {
    fn config(&self) -> sim::SimConfig {
        sim::SimConfig {
            port: self.port,
            seed: self.seed,
            size: sim::OrgSize {
                users: self.users,
                systems: self.systems,
                user_groups: self.user_groups,
                system_groups: self.system_groups,
                applications: self.applications,
                commands: self.commands,
                radius_servers: self.radius_servers,
                policies: self.policies,
                directories: self.directories,
                events: self.events,
                event_days: self.event_days,
            },
            orgs: self.orgs,
            api_key: self.api_key.clone(),
            token_ttl: Duration::from_secs(self.token_ttl),
            faults: sim::Faults {
                rate_limit_rpm: self.rate_limit,
                retry_after: !self.no_retry_after,
                latency_ms: self.latency_ms,
                error_rate: self.error_rate,
                reset_rate: self.reset_rate,
                truncate_rate: self.truncate_rate,
                throttle_rate: self.throttle_rate,
                reset_from_request: self.reset_from_request,
            },
            drift: sim::Drift {
                field_after: self.drift_field_after,
                type_every: self.drift_type_every,
            },
            ..sim::SimConfig::default()
        }
    }
}

/// Runs the command line and maps every failure to one line on stderr and an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jclake: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Command::Export(args) => rt.block_on(export(args)),
        Command::Verify(args) => rt.block_on(verify(args)),
        Command::Tables => tables(),
        Command::Describe {
            table,
            lake,
            config,
        } => rt.block_on(describe(&table, lake, config.as_deref())),
        Command::Sim {
            command: SimCommand::Serve(args),
        } => rt.block_on(sim_serve(args)),
    }
}

/// Exit codes: 0 ok, 2 usage or config, 3 key rejected, 4 host unreachable, 5 lake not
/// writable, 6 API or data failure (some tables failed), 7 another run holds the lake's
/// lock, 8 `verify` found mismatches.
pub mod exit {
    pub const CONFIG: u8 = 2;
    pub const CREDENTIALS: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
    pub const LAKE: u8 = 5;
    pub const PARTIAL: u8 = 6;
    pub const LOCKED: u8 = 7;
    pub const MISMATCH: u8 = 8;
}

/// A lake to read: a well-formed location, and for a local one a folder that exists (a
/// reading command must not create it).
fn existing_lake(root: &str) -> Result<crate::sink::LakeLocation, ExitCode> {
    let location = crate::sink::LakeLocation::parse(root).map_err(|e| {
        eprintln!("jclake: {e}");
        ExitCode::from(exit::CONFIG)
    })?;
    if let crate::sink::LakeLocation::Local(p) = &location {
        if !p.is_dir() {
            eprintln!("jclake: lake {} does not exist", p.display());
            return Err(ExitCode::from(exit::CONFIG));
        }
    }
    Ok(location)
}

/// The settings file, or defaults when none is given.
fn settings_file(path: Option<&std::path::Path>) -> Result<config::FileConfig, ExitCode> {
    match path {
        None => Ok(config::FileConfig::default()),
        Some(p) => config::read_file(p).map_err(|e| {
            eprintln!("jclake: {e}");
            ExitCode::from(exit::CONFIG)
        }),
    }
}

async fn verify(args: VerifyArgs) -> ExitCode {
    let file = match settings_file(args.config.as_deref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let Some(root) = args.lake.or(file.lake.clone()) else {
        eprintln!("jclake: no lake given: pass --lake <path | s3://bucket/prefix>");
        return ExitCode::from(exit::CONFIG);
    };
    let location = match existing_lake(&root) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let s3 = config::s3_options(&file);
    let report = async {
        let lake = crate::sink::Lake::open(&location, &s3)?;
        crate::manifest::verify::verify(&lake).await
    };
    match report.await {
        Ok(r) => {
            for n in &r.notes {
                out!("note: {n}");
            }
            for p in &r.problems {
                out!("MISMATCH: {p}");
            }
            if r.problems.is_empty() {
                out!(
                    "verified {location}: {} runs, {} partitions, {} files match their manifests",
                    r.runs,
                    r.partitions,
                    r.files
                );
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "jclake: {location}: {} mismatches between the lake and its manifests",
                    r.problems.len()
                );
                ExitCode::from(exit::MISMATCH)
            }
        }
        Err(e) => {
            eprintln!("jclake: {e}");
            ExitCode::from(exit::LAKE)
        }
    }
}

fn init_logs(format: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JCLAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let res = match format {
        "text" => builder.try_init(),
        "json" => builder.json().try_init(),
        other => return Err(format!("--log-format {other:?}: use text or json")),
    };
    res.map_err(|e| e.to_string())
}

async fn export(args: ExportArgs) -> ExitCode {
    if let Err(e) = init_logs(&args.log_format) {
        eprintln!("jclake: {e}");
        return ExitCode::from(exit::CONFIG);
    }
    let file = match settings_file(args.config.as_deref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let flags = config::Overrides {
        lake: args.lake,
        base_url: args.base_url,
        insights_url: args.insights_url,
        region: args.region,
        org_id: args.org_id,
        tables: args.tables,
        allow_http: args.allow_http,
        snapshot_date: args.snapshot_date,
        concurrency: args.concurrency,
        since: args.since,
        rate_limit: args.rate_limit,
        keep_snapshots: args.keep_snapshots,
        wait_for_lock: args.wait_for_lock,
    };
    let cfg = match config::resolve(
        file,
        config::Env::from_process(),
        flags,
        chrono::Utc::now().date_naive(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jclake: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    if args.plan {
        return plan(&cfg).await;
    }
    let t0 = std::time::Instant::now();
    match crate::export::run(&cfg).await {
        Ok(run) => {
            print_summary(&run, &cfg, t0.elapsed().as_secs_f64());
            if run.outcome == "succeeded" {
                ExitCode::SUCCESS
            } else {
                for t in run.tables.iter().filter(|t| t.error.is_some()) {
                    eprintln!(
                        "jclake: table {} failed: {}",
                        t.table,
                        t.error.as_deref().unwrap_or("")
                    );
                }
                ExitCode::from(exit::PARTIAL)
            }
        }
        Err(e) => {
            eprintln!("jclake: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn plan(cfg: &config::ExportConfig) -> ExitCode {
    let result = async {
        let client = crate::export::client(cfg)?;
        crate::export::plan::plan(cfg, &client).await
    };
    let lines = match result.await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("jclake: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    out!("plan: {} -> {}", cfg.endpoints.base_url, cfg.lake);
    out!("{:<40} {:>9}  endpoint; basis", "table", "requests");
    let mut total = 0u64;
    let mut known = true;
    for l in &lines {
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
    ExitCode::SUCCESS
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
fn print_summary(run: &crate::manifest::RunManifest, cfg: &config::ExportConfig, seconds: f64) {
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
    let mut by_table: std::collections::BTreeMap<&str, Vec<&crate::manifest::TableRun>> =
        Default::default();
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

fn tables() -> ExitCode {
    for r in crate::catalog::RESOURCES {
        match r.schema() {
            Ok(s) => out!("{:<40} {}", r.table, s.description),
            Err(e) => {
                eprintln!("jclake: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

async fn describe(table: &str, lake: Option<String>, config: Option<&std::path::Path>) -> ExitCode {
    let Some(r) = crate::catalog::find(table) else {
        eprintln!(
            "jclake: unknown table {table:?}; known tables: {}",
            crate::catalog::table_names().join(", ")
        );
        return ExitCode::from(exit::CONFIG);
    };
    let declared = match r.schema() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jclake: {e}");
            return ExitCode::from(1);
        }
    };
    let (lake, s3) = match config {
        None => (lake, crate::sink::S3Options::default()),
        Some(path) => match settings_file(Some(path)) {
            Ok(file) => (lake.or(file.lake.clone()), config::s3_options(&file)),
            Err(code) => return code,
        },
    };
    let stored = match lake {
        None => None,
        Some(root) => {
            let loc = match existing_lake(&root) {
                Ok(l) => l,
                Err(code) => return code,
            };
            let read = async {
                let lake = crate::sink::Lake::open(&loc, &s3)?;
                Ok::<_, crate::export::ExportError>(
                    crate::manifest::read_table_schema(&lake, table).await?,
                )
            };
            match read.await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("jclake: {e}");
                    return ExitCode::from(e.exit_code());
                }
            }
        }
    };
    let s = crate::decode::TableSchema::merged(stored, &declared);
    out!("{}: {}", s.table, s.description);
    out!(
        "{:<34} {:<28} {:<9} {:<26} {:<34} description",
        "column",
        "type",
        "nullable",
        "source",
        "origin"
    );
    let mut rows = Vec::new();
    describe_rows(&s.columns, "", "", None, &mut rows);
    for (name, ty, nullable, source, origin, description) in rows {
        out!("{name:<34} {ty:<28} {nullable:<9} {source:<26} {origin:<34} {description}");
    }
    out!(
        "{:<34} {:<28} {:<9} {:<26} {:<34} Values that did not fit their column, and undeclared fields: {{source path: original value}}.",
        crate::decode::RESCUED,
        "json (string)",
        "yes",
        "(any)",
        "declared"
    );
    if !s.exclude.is_empty() {
        out!("never exported: {}", s.exclude.join(", "));
    }
    ExitCode::SUCCESS
}

type DescribeRow = (String, String, &'static str, String, String, String);

/// One row per column, then one per struct field (`parent.child`), so that discovered
/// nested fields show their origin too.
fn describe_rows(
    cols: &[crate::decode::Column],
    prefix: &str,
    source_prefix: &str,
    parent_origin: Option<&str>,
    out: &mut Vec<DescribeRow>,
) {
    use crate::decode::ColumnType;
    for c in cols {
        let name = if prefix.is_empty() {
            c.name.clone()
        } else {
            format!("{prefix}.{}", c.name)
        };
        let source = if source_prefix.is_empty() {
            c.source().to_string()
        } else {
            format!("{source_prefix}/{}", c.source())
        };
        // Fields inside a discovered struct were discovered with it.
        let origin = match (&c.origin, &c.since_run, parent_origin) {
            (Some(o), Some(run), _) => format!("{o} (run {run})"),
            (Some(o), None, _) => o.clone(),
            (None, _, Some(p)) => p.to_string(),
            _ => "declared".into(),
        };
        let nullable = if c.nullable { "yes" } else { "no" };
        let ty = match &c.ty {
            ColumnType::Struct(_) => "struct".to_string(),
            ColumnType::List(inner) if matches!(inner.as_ref(), ColumnType::Struct(_)) => {
                "list<struct>".to_string()
            }
            t => crate::decode::schema::type_name(t),
        };
        out.push((
            name.clone(),
            ty,
            nullable,
            source.clone(),
            origin.clone(),
            c.description.clone(),
        ));
        let inherited = (origin != "declared").then_some(origin.as_str());
        match &c.ty {
            ColumnType::Struct(fields) => describe_rows(fields, &name, &source, inherited, out),
            ColumnType::List(inner) => {
                if let ColumnType::Struct(fields) = inner.as_ref() {
                    describe_rows(fields, &format!("{name}[]"), &source, inherited, out);
                }
            }
            _ => {}
        }
    }
}

async fn sim_serve(args: SimServeArgs) -> ExitCode {
    let handle = match sim::start(args.config()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("jclake: {e}");
            return ExitCode::from(1);
        }
    };
    use std::io::Write;
    out!("{}", handle.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "jclake sim: serving org {} on {} (x-api-key: {}); Ctrl-C stops",
        handle.org_ids().first().map(String::as_str).unwrap_or("?"),
        handle.base_url(),
        args.api_key
    );
    if let Some(secs) = args.mutate_every.filter(|s| *s > 0) {
        let step = sim::Mutation {
            add_users: 5,
            remove_users: 2,
            change_users: 3,
            new_events: 200,
            late_events: 20,
            late_by_ms: 30 * 60 * 1000,
        };
        handle.mutate_every(Duration::from_secs(secs), step);
    }
    wait_for_stop().await;
    handle.shutdown();
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
