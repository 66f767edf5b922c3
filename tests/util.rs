//! The one harness of the integration tests: an `Export` (flags, settings-file lines and
//! environment for one export against a simulator) that resolves through `config` exactly
//! as the command line does and runs in-process or as the `jclake` binary; `jclake()` for
//! the other subcommands; and readers of a local lake's Parquet files.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use jclake::config::{self, ExportSettings, Flags, Layers};
use jclake::export::{ExportConfig, ExportError};
use jclake::model::RunManifest;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

pub use jclake_sim as sim;

/// The day the tests' runs take as today, unless they pass `--snapshot-date`.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")
}

/// One export: its flags, its settings file and its environment.
#[derive(Debug, Clone)]
pub struct Export {
    args: Vec<String>,
    file: String,
    env: Vec<(String, String)>,
}

impl Export {
    /// An export of the simulator at `base_url` into `lake`, with the simulator's key.
    pub fn new(base_url: &str, lake: impl Display) -> Export {
        Export {
            args: vec![
                "--lake".into(),
                lake.to_string(),
                "--base-url".into(),
                base_url.into(),
            ],
            file: String::new(),
            env: vec![("JUMPCLOUD_API_KEY".into(), sim::DEFAULT_API_KEY.into())],
        }
    }

    /// A flag and its value, e.g. `.arg("--tables", "users")`.
    pub fn arg(mut self, flag: &str, value: impl Display) -> Export {
        self.args.push(flag.into());
        self.args.push(value.to_string());
        self
    }

    /// A flag without a value, e.g. `.switch("--allow-http")`.
    pub fn switch(mut self, flag: &str) -> Export {
        self.args.push(flag.into());
        self
    }

    /// Lines of the settings file (TOML), appended.
    pub fn settings(mut self, toml: &str) -> Export {
        self.file.push_str(toml);
        self.file.push('\n');
        self
    }

    /// Sets an environment variable of the run (in-process and for the binary).
    pub fn env(mut self, var: &str, value: impl Display) -> Export {
        self.env.retain(|(k, _)| k != var);
        self.env.push((var.into(), value.to_string()));
        self
    }

    /// Removes an environment variable of the run (e.g. the default key).
    pub fn without_env(mut self, var: &str) -> Export {
        self.env.retain(|(k, _)| k != var);
        self
    }

    /// The settings resolved as `jclake export` resolves them, or the error it would print.
    pub fn try_config(&self) -> Result<ExportConfig, String> {
        let flags = Flags::<ExportSettings>::parse(&self.args).map_err(|e| e.to_string())?;
        let env = self.env.iter().cloned().collect();
        let layers = Layers::with(&flags, env)
            .and_then(|l| l.file_text("settings.toml", &self.file))
            .map_err(|e| e.to_string())?;
        config::resolve(&layers, today()).map_err(|e| e.to_string())
    }

    pub fn config(&self) -> ExportConfig {
        self.try_config()
            .unwrap_or_else(|e| panic!("settings: {e}"))
    }

    /// Runs the export in this process.
    pub async fn try_run(&self) -> Result<RunManifest, ExportError> {
        jclake::export::run(&self.config()).await
    }

    /// Runs the export in this process; it must succeed.
    pub async fn run(&self) -> RunManifest {
        self.try_run()
            .await
            .unwrap_or_else(|e| panic!("export failed: {e}"))
    }

    /// The `jclake export` command for these settings (the file written next to a temporary
    /// folder that lives as long as the returned guard).
    pub fn command(&self) -> (Command, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("settings.toml");
        std::fs::write(&file, &self.file).expect("write settings");
        let mut c = Command::new(env!("CARGO_BIN_EXE_jclake"));
        c.arg("export")
            .args(&self.args)
            .arg("--config")
            .arg(&file)
            .env_remove("JUMPCLOUD_API_KEY")
            .env_remove("JUMPCLOUD_ORG_ID")
            .env_remove("JUMPCLOUD_CLIENT_ID")
            .env_remove("JUMPCLOUD_CLIENT_SECRET")
            .env("JCLAKE_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        (c, dir)
    }

    /// Runs `jclake export` as a process, with extra environment (e.g. a crash point).
    pub fn bin(&self, extra_env: &[(&str, &str)]) -> Output {
        let (mut c, _dir) = self.command();
        for (k, v) in extra_env {
            c.env(k, v);
        }
        Output::of(&mut c)
    }
}

/// What a process printed and how it ended.
#[derive(Debug)]
pub struct Output {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn of(c: &mut Command) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let o = c.output().expect("the process runs");
        Output {
            code: o.status.code(),
            signal: o.status.signal(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Both streams, for messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The last line on stderr.
    pub fn last_error(&self) -> &str {
        self.stderr.lines().last().unwrap_or("")
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(self.code, Some(code), "{}", self.all());
        self
    }
}

/// Runs `jclake` with `args` (no environment of the tests' making).
pub fn jclake<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(env!("CARGO_BIN_EXE_jclake"));
    c.args(args).env("JCLAKE_LOG", "warn");
    Output::of(&mut c)
}

/// Every file below `dir`, depth first.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every Parquet file below `dir`, sorted.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    out
}

/// The record batches of some Parquet files, in order.
pub fn read_batches(files: &[PathBuf]) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for f in files {
        let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet footer")
            .build()
            .expect("reader");
        out.extend(reader.map(|b| b.expect("batch")));
    }
    out
}

/// A batch as JSON objects, one per row (timestamps as `+00:00` strings: arrow's JSON
/// writer has no time-zone database).
pub fn json_rows(batch: &RecordBatch) -> Vec<Value> {
    use jclake::model::batch::{conform, offset_utc};
    let offset = Arc::new(offset_utc(&batch.schema()));
    let b = conform(batch, &offset).expect("relabel time zone");
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    w.write(&b).expect("to json");
    w.finish().expect("finish");
    serde_json::from_slice(&w.into_inner()).expect("json rows")
}
