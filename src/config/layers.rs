//! Where setting values come from, in order of precedence: command-line flags, then the
//! environment, then the settings file, then each setting's default. In come flags (as
//! clap parsed them), a snapshot of the environment and the file's text; out come typed
//! values per `Setting`, with the layer a bad value came from named in the error.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde::de::DeserializeOwned;

use super::defs::{self, DefaultValue, Kind, Scope, Setting};
use super::ConfigError;

/// The settings one command takes as flags.
pub trait SettingSet {
    const SETTINGS: &'static [&'static Setting];
    /// Whether the command takes this setting of `SETTINGS` as a flag.
    fn takes(_: &Setting) -> bool {
        true
    }
}

/// `jclake export`: every setting but those of `plan` and `apply`.
#[derive(Debug)]
pub struct ExportSettings;
impl SettingSet for ExportSettings {
    const SETTINGS: &'static [&'static Setting] = defs::ALL;
    fn takes(s: &Setting) -> bool {
        !defs::WRITE_BACK_ONLY.iter().any(|w| w.key == s.key)
    }
}

/// `jclake plan` and `apply`: the org, the API, the lake and their own settings.
#[derive(Debug)]
pub struct WriteBackSettings;
impl SettingSet for WriteBackSettings {
    const SETTINGS: &'static [&'static Setting] = defs::WRITE_BACK;
}

/// `jclake verify` and `describe`: the lake and the settings file.
#[derive(Debug)]
pub struct LakeSettings;
impl SettingSet for LakeSettings {
    const SETTINGS: &'static [&'static Setting] = defs::LAKE_ONLY;
}

/// The flags given for the settings of `S`, as clap parsed them.
#[derive(Debug)]
pub struct Flags<S> {
    given: Vec<(&'static Setting, String)>,
    warnings: Vec<String>,
    set: PhantomData<S>,
}

impl<S> Clone for Flags<S> {
    fn clone(&self) -> Self {
        Flags {
            given: self.given.clone(),
            warnings: self.warnings.clone(),
            set: PhantomData,
        }
    }
}

/// The clap argument of a setting: its flag, value name and help with default and variable.
fn arg(s: &'static Setting) -> Option<Arg> {
    let flag = s.flag()?;
    let mut help = s.doc.to_string();
    match s.default {
        DefaultValue::Value(v) => help.push_str(&format!(" [default: {}]", v.trim_matches('"'))),
        DefaultValue::Derived(d) => help.push_str(&format!(" [default: {d}]")),
        DefaultValue::None => {}
    }
    if let Some(var) = s.env {
        help.push_str(&format!(" [env: {var}]"));
    }
    if s.scope == Scope::Both {
        help.push_str(&format!(" [file: {}]", s.key));
    }
    let a = Arg::new(s.key).long(flag).help(help);
    Some(match s.kind {
        Kind::Bool => a.action(ArgAction::SetTrue),
        _ => a.value_name(s.value_name).action(ArgAction::Set),
    })
}

impl<S: SettingSet> clap::Args for Flags<S> {
    fn augment_args(mut cmd: Command) -> Command {
        for s in S::SETTINGS.iter().filter(|s| S::takes(s)) {
            let Some(a) = arg(s) else { continue };
            cmd = cmd.arg(a);
            for old in s.old_flags {
                let hidden = Arg::new(*old).long(*old).hide(true);
                cmd = cmd.arg(match s.kind {
                    Kind::Bool => hidden.action(ArgAction::SetTrue),
                    _ => hidden.action(ArgAction::Set),
                });
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<S: SettingSet> clap::FromArgMatches for Flags<S> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Flags {
            given: Vec::new(),
            warnings: Vec::new(),
            set: PhantomData,
        };
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        let value = |id: &str, kind: Kind| -> Option<String> {
            match kind {
                Kind::Bool => m.get_flag(id).then(|| "true".to_string()),
                _ => m.get_one::<String>(id).cloned(),
            }
        };
        for s in S::SETTINGS
            .iter()
            .filter(|s| s.flag().is_some() && S::takes(s))
        {
            let mut v = value(s.key, s.kind);
            for old in s.old_flags {
                if let Some(o) = value(old, s.kind) {
                    let new = s.flag().unwrap_or_default();
                    self.warnings.push(format!(
                        "--{old} is now --{new}; the old name still works for now"
                    ));
                    v = v.or(Some(o));
                }
            }
            if let Some(v) = v {
                self.given.push((s, v));
            }
        }
        Ok(())
    }
}

impl<S: SettingSet> Flags<S> {
    /// Flags parsed from `args` (no program name), as the command line would.
    pub fn parse<I, T>(args: I) -> Result<Flags<S>, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{Args, FromArgMatches};
        let cmd = Self::augment_args(Command::new("jclake").no_binary_name(true));
        Self::from_arg_matches(&cmd.try_get_matches_from(args)?)
    }
}

/// Which layer a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Flag,
    Env(&'static str),
    File,
    Default,
}

/// Every layer of settings of one command. Its `Debug` names variables and file keys but
/// shows no value of either: they hold keys and secrets.
#[derive(Clone, Default)]
pub struct Layers {
    flags: BTreeMap<&'static str, String>,
    env: BTreeMap<String, String>,
    /// File keys flattened: `s3.endpoint` for `endpoint` in `[s3]`.
    file: BTreeMap<String, toml::Value>,
    file_path: Option<String>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers")
            .field("flags", &self.flags)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("file", &self.file.keys().collect::<Vec<_>>())
            .field("file_path", &self.file_path)
            .finish()
    }
}

impl Layers {
    /// The flags of a command, the process environment, and the settings file the flags
    /// name (`--config`), if any.
    pub fn load<S>(flags: &Flags<S>) -> Result<Layers, ConfigError> {
        let env = std::env::vars().collect();
        Layers::with(flags, env)
    }

    /// As `load`, with the environment given.
    pub fn with<S>(flags: &Flags<S>, env: BTreeMap<String, String>) -> Result<Layers, ConfigError> {
        let mut layers = Layers {
            flags: flags
                .given
                .iter()
                .map(|(s, v)| (s.key, v.clone()))
                .collect(),
            env,
            warnings: flags.warnings.clone(),
            ..Layers::default()
        };
        if let Some(path) = layers.flags.get(defs::CONFIG.key).cloned() {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                path: path.clone(),
                message: e.to_string(),
            })?;
            layers = layers.file_text(&path, &text)?;
        }
        Ok(layers)
    }

    /// Adds a settings file's contents (`path` names it in errors). Unknown keys are errors.
    pub fn file_text(mut self, path: &str, text: &str) -> Result<Layers, ConfigError> {
        let bad = |message: String| ConfigError::File {
            path: path.to_string(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
        let known = |key: &str| defs::ALL.iter().find(|s| s.key == key && s.in_file());
        // Every value is checked, also one that a flag or variable overrides: a broken file
        // is an error wherever its value would end up.
        let typed = |s: &Setting, v: &toml::Value| match misfit(s.kind, v) {
            Some(expected) => Err(bad(format!("{}: {} is not {expected}", s.key, shown(s, v)))),
            None => Ok(()),
        };
        for (k, v) in table {
            match (known(&k), v) {
                (Some(s), v) => {
                    typed(s, &v)?;
                    self.file.insert(s.key.to_string(), v);
                }
                (None, toml::Value::Table(t))
                    if defs::ALL
                        .iter()
                        .any(|s| s.key.starts_with(&format!("{k}."))) =>
                {
                    for (sub, v) in t {
                        let key = format!("{k}.{sub}");
                        let Some(s) = known(&key) else {
                            return Err(bad(format!("unknown setting {sub:?} in [{k}]")));
                        };
                        typed(s, &v)?;
                        self.file.insert(key, v);
                    }
                }
                (None, _) => {
                    let keys: Vec<&str> = defs::ALL
                        .iter()
                        .filter(|s| s.in_file() && !s.key.contains('.'))
                        .map(|s| s.key)
                        .collect();
                    return Err(bad(format!(
                        "unknown setting {k:?}; known settings: {}",
                        keys.join(", ")
                    )));
                }
            }
        }
        self.file_path = Some(path.to_string());
        Ok(self)
    }

    /// Sets one environment variable of this snapshot (tests).
    pub fn env(mut self, var: &str, value: &str) -> Layers {
        self.env.insert(var.to_string(), value.to_string());
        self
    }

    /// What renamed flags and keys said; the caller prints them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// An environment variable of this snapshot, if set and not blank.
    pub fn env_var(&self, var: &str) -> Option<&str> {
        self.env
            .get(var)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn raw(&self, s: &'static Setting) -> Option<(Origin, toml::Value)> {
        if let Some(v) = self.flags.get(s.key) {
            return Some((Origin::Flag, text_value(s, v)));
        }
        if let Some(var) = s.env {
            if let Some(v) = self.env_var(var) {
                return Some((Origin::Env(var), text_value(s, v)));
            }
        }
        if let Some(v) = self.file.get(s.key) {
            return Some((Origin::File, v.clone()));
        }
        match s.default {
            DefaultValue::Value(text) => toml::from_str::<toml::Table>(&format!("v = {text}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .map(|v| (Origin::Default, v)),
            _ => None,
        }
    }

    fn invalid(&self, s: &Setting, origin: Origin, why: &str) -> ConfigError {
        let name = match origin {
            Origin::Flag => format!("--{}", s.flag().unwrap_or_default()),
            Origin::Env(var) => var.to_string(),
            Origin::File => format!(
                "{} in {}",
                s.key,
                self.file_path.as_deref().unwrap_or("the settings file")
            ),
            Origin::Default => format!("the default of {}", s.key),
        };
        ConfigError::Invalid(format!("{name}: {why}"))
    }

    /// The value of `s` from the first layer that has one, as `T`.
    pub fn get<T: DeserializeOwned>(&self, s: &'static Setting) -> Result<Option<T>, ConfigError> {
        let Some((origin, v)) = self.raw(s) else {
            return Ok(None);
        };
        if let (Kind::Int { min, max }, toml::Value::Integer(n)) = (s.kind, &v) {
            if *n < 0 || (*n as u64) < min {
                return Err(self.invalid(s, origin, &format!("must be at least {min}")));
            }
            if *n as u64 > max {
                return Err(self.invalid(s, origin, &format!("must be at most {max}")));
            }
        }
        let text = shown(s, &v);
        if let Some(expected) = misfit(s.kind, &v) {
            return Err(self.invalid(s, origin, &format!("{text} is not {expected}")));
        }
        v.try_into().map(Some).map_err(|e: toml::de::Error| {
            self.invalid(s, origin, &format!("{text} is not valid: {}", e.message()))
        })
    }

    /// As `get`, for a setting with a default value.
    pub fn value<T: DeserializeOwned>(&self, s: &'static Setting) -> Result<T, ConfigError> {
        self.get(s)?
            .ok_or_else(|| ConfigError::Invalid(format!("{} has no value", s.key)))
    }
}

/// A value as an error may show it: a secret's never.
fn shown(s: &Setting, v: &toml::Value) -> String {
    if s.secret {
        "its value".into()
    } else {
        v.to_string()
    }
}

/// What a value of the wrong TOML type should have been, or `None` when it fits `kind`.
fn misfit(kind: Kind, v: &toml::Value) -> Option<&'static str> {
    match (kind, v) {
        (Kind::Int { .. }, toml::Value::Integer(_))
        | (Kind::Bool, toml::Value::Boolean(_))
        | (Kind::List, toml::Value::Array(_))
        | (Kind::Text, toml::Value::String(_))
        | (Kind::Table, _) => None,
        (Kind::Int { .. }, _) => Some("a whole number"),
        (Kind::Bool, _) => Some("true or false"),
        (Kind::List, _) => Some("a list of names"),
        (Kind::Text, _) => Some("a string"),
    }
}

/// A flag's or variable's text as the TOML value the file would hold.
fn text_value(s: &Setting, v: &str) -> toml::Value {
    match s.kind {
        Kind::Int { .. } => v
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(v.to_string())),
        Kind::Bool => match v.trim() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            other => toml::Value::String(other.to_string()),
        },
        Kind::List => toml::Value::Array(
            v.split(',')
                .map(|x| x.trim())
                .filter(|x| !x.is_empty())
                .map(|x| toml::Value::String(x.to_string()))
                .collect(),
        ),
        Kind::Text | Kind::Table => toml::Value::String(v.to_string()),
    }
}
