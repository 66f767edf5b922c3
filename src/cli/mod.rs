//! The command line: in come arguments, out go exit codes and one clear line per failure.
//! `jclake export`, `plan`, `apply`, `verify`, `tables`, `describe <table>`, `settings` and, in a build with
//! the `sim` feature, `sim serve`. Settings flags come from `config::defs`, each defined once.

/// `println!` that gives up quietly when stdout is closed (`jclake tables | head`) instead
/// of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod change;
mod describe;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{
    self, ConfigError, ExportSettings, Flags, LakeSettings, Layers, WriteBackSettings,
};
use crate::model::{exit, RunOutcome};
use crate::sink::{Lake, LakeLocation, S3Options};

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
    Export {
        #[command(flatten)]
        settings: Flags<ExportSettings>,
        /// Print which endpoints the run would call and about how many requests, then stop.
        #[arg(long)]
        plan: bool,
    },
    /// Plan changes to the org (users, groups, memberships) from a desired state, as
    /// `terraform plan` does: print them, and with --out write the plan for `jclake apply`.
    #[command(after_help = PLAN_HELP)]
    Plan {
        /// The desired users: a CSV, JSON Lines or Parquet file, or a folder of them, local
        /// or s3://bucket/key. One row per user; the columns present are the fields managed
        /// (username, email, firstname, lastname, displayname, department, jobTitle, manager,
        /// employeeIdentifier, state ACTIVATED|SUSPENDED, attributes.<name>, …); an empty cell
        /// empties the field; a password column is refused.
        #[arg(long, value_name = "FILE | FOLDER | s3://…")]
        desired: String,
        /// The desired memberships: columns `group` (a user group's name) and `username` (or
        /// the match key). Each group named gets exactly these members (others are removed);
        /// a group not named is left alone; a group that does not exist is created.
        #[arg(long, value_name = "FILE | FOLDER | s3://…")]
        memberships: Option<String>,
        /// Write the plan here as JSON, for `jclake apply`.
        #[arg(long, value_name = "plan.json")]
        out: Option<std::path::PathBuf>,
        /// Also plan to delete the users in --scope that the desired state does not list.
        #[arg(long)]
        delete_missing: bool,
        /// The users the desired state governs, for --delete-missing: `all`, or FIELD=VALUE
        /// (e.g. department=Engineering, attributes.source=hr).
        #[arg(long, value_name = "all | FIELD=VALUE")]
        scope: Option<String>,
        #[command(flatten)]
        settings: Flags<WriteBackSettings>,
    },
    /// Apply a plan file written by `jclake plan --out`: exactly its changes and nothing else.
    #[command(after_help = APPLY_HELP)]
    Apply {
        /// The plan file.
        #[arg(value_name = "plan.json")]
        plan: std::path::PathBuf,
        /// Make the plan's deletes; without it a plan that deletes users is refused.
        #[arg(long)]
        allow_delete: bool,
        #[command(flatten)]
        settings: Flags<WriteBackSettings>,
    },
    /// Check a lake against its manifests: every listed file there with its size and row
    /// count, no unlisted data file in a table folder.
    Verify {
        #[command(flatten)]
        settings: Flags<LakeSettings>,
    },
    /// List the tables jclake exports.
    Tables,
    /// Print a table's declared columns, or with a lake the columns that lake has.
    Describe {
        /// A table name from `jclake tables`.
        table: String,
        #[command(flatten)]
        settings: Flags<LakeSettings>,
    },
    /// List every setting: its flag, settings-file key, environment variable and default.
    Settings {
        #[arg(long, value_enum, default_value_t = SettingsFormat::Text)]
        format: SettingsFormat,
    },
    /// The built-in JumpCloud simulator.
    #[cfg(feature = "sim")]
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
}

const PLAN_HELP: &str = "\
The plan reads the org through the same client as `export` (key, org, base URL as for export)
and compares it with the desired state, matched on `match_key` (username, email or
employeeIdentifier). Nothing is written to the org.

Exit codes: 0 no changes; 10 changes planned; 2 bad input or settings; 3 key rejected;
4 host unreachable.";

const APPLY_HELP: &str = "\
Guards:
  --max-changes N   refuse a plan with more than N changes still to make (default 500)
  --allow-delete    needed to apply a plan that deletes users
  fingerprints      before any write the org is read again; if an object the plan touches
                    changed since the plan (other than by this plan), nothing is written
                    and the apply exits 11: make a new plan
Safety: a create whose answer is lost (5xx, reset, timeout) is looked up before it is sent
again; \"already exists\", \"already a member\" and \"not a member\" count as done. Each
attempt is journalled in the lake under _jclake/apply/<plan>/ and recorded in the `actions`
table: run the same apply again after a crash and it finishes the plan; run it again after
it succeeded and nothing changes. Needs --lake.

Exit codes: 0 every change made; 9 some changes failed (named on stderr); 11 stale plan;
12 refused by a guard; 2 bad plan file or settings; 3 key rejected; 7 lake locked.";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SettingsFormat {
    /// One block per setting.
    Text,
    /// README's table.
    Markdown,
    /// example.toml.
    Toml,
}

#[cfg(feature = "sim")]
#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Serve a simulated org on 127.0.0.1; prints the base URL on the first line of stdout.
    Serve(jclake_sim::cli::ServeArgs),
}

/// Runs the command line and maps every failure to one line on stderr and an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::CONFIG } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, format!("cannot start the async runtime: {e}")),
    };
    match cli.command {
        Command::Export { settings, plan } => rt.block_on(export(&settings, plan)),
        Command::Plan {
            desired,
            memberships,
            out,
            delete_missing,
            scope,
            settings,
        } => rt.block_on(change::plan(
            change::PlanArgs {
                desired,
                memberships,
                out,
                delete_missing,
                scope,
            },
            &settings,
        )),
        Command::Apply {
            plan,
            allow_delete,
            settings,
        } => rt.block_on(change::apply(&plan, allow_delete, &settings)),
        Command::Verify { settings } => rt.block_on(verify(&settings)),
        Command::Tables => tables(),
        Command::Describe { table, settings } => rt.block_on(describe::describe(&table, &settings)),
        Command::Settings { format } => {
            out!(
                "{}",
                match format {
                    SettingsFormat::Text => config::text_table(),
                    SettingsFormat::Markdown => config::markdown_tables(),
                    SettingsFormat::Toml => config::example_toml(),
                }
                .trim_end()
            );
            ExitCode::SUCCESS
        }
        #[cfg(feature = "sim")]
        Command::Sim {
            command: SimCommand::Serve(args),
        } => rt.block_on(jclake_sim::cli::serve(args)),
    }
}

/// One line on stderr, and the exit code.
fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("jclake: {message}");
    ExitCode::from(code)
}

/// Every layer of a command's settings, its warnings printed.
fn layers<S>(flags: &Flags<S>) -> Result<Layers, ExitCode> {
    let layers = Layers::load(flags).map_err(|e| fail(exit::CONFIG, e))?;
    for w in layers.warnings() {
        eprintln!("jclake: warning: {w}");
    }
    Ok(layers)
}

/// A lake to read: a well-formed location, and for a local one a folder that exists (a
/// reading command must not create it).
fn existing_lake(layers: &Layers) -> Result<(LakeLocation, S3Options), ExitCode> {
    let (location, s3) = config::lake(layers).map_err(|e| fail(exit::CONFIG, e))?;
    if let LakeLocation::Local(p) = &location {
        if !p.is_dir() {
            return Err(fail(
                exit::CONFIG,
                format!("lake {} does not exist", p.display()),
            ));
        }
    }
    Ok((location, s3))
}

async fn verify(flags: &Flags<LakeSettings>) -> ExitCode {
    let (location, s3) = match layers(flags).and_then(|l| existing_lake(&l)) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let report = async {
        let lake = Lake::open(&location, &s3)?;
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

async fn export(flags: &Flags<ExportSettings>, plan: bool) -> ExitCode {
    let resolved = layers(flags).and_then(|l| {
        let format: String = l
            .value(&config::defs::LOG_FORMAT)
            .map_err(|e| fail(exit::CONFIG, e))?;
        init_logs(&format).map_err(|e| fail(exit::CONFIG, e))?;
        config::resolve(&l, chrono::Utc::now().date_naive())
            .map_err(|e: ConfigError| fail(exit::CONFIG, e))
    });
    let cfg = match resolved {
        Ok(c) => c,
        Err(code) => return code,
    };
    if plan {
        let lines = async {
            let client = crate::export::client(&cfg)?;
            crate::export::plan::plan(&cfg, &client).await
        };
        return match lines.await {
            Ok(lines) => {
                report::print_plan(&cfg, &lines);
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.exit_code(), e),
        };
    }
    let t0 = std::time::Instant::now();
    match crate::export::run(&cfg).await {
        Ok(run) => {
            report::print_summary(&run, &cfg, t0.elapsed().as_secs_f64());
            if run.outcome == RunOutcome::Succeeded {
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
        Err(e) => fail(e.exit_code(), e),
    }
}

/// Every table by family; a System Insights table exported by default is marked `*`.
fn tables() -> ExitCode {
    let mut all: Vec<_> = crate::catalog::resources().collect();
    all.sort_by_key(|r| r.family);
    let mut family = None;
    for r in all {
        if family != Some(r.family) {
            if family.is_some() {
                out!("");
            }
            out!("{}", r.family.title());
            family = Some(r.family);
        }
        let default = match r.fetch {
            crate::catalog::Fetch::Insights { name }
                if crate::catalog::DEFAULT_INSIGHTS.contains(&name) =>
            {
                "*"
            }
            _ => " ",
        };
        match r.schema() {
            Ok(s) => out!("  {default}{:<44} {}", r.table, s.description),
            Err(e) => {
                eprintln!("jclake: {e}");
                return ExitCode::from(1);
            }
        }
    }
    out!("");
    out!("* exported by default (setting system_insights_tables); the other System Insights tables by name");
    ExitCode::SUCCESS
}
