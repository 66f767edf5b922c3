//! Export settings: in come a TOML file, the environment and command-line flags (flags win
//! over the environment, which wins over the file); out comes one validated `ExportConfig`.
//! Every setting is documented in `example.toml`.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::catalog::{self, Resource};
use crate::decode::SchemaPolicy;
use crate::export::events::EventsSettings;
use crate::sink::{LakeLocation, S3Options, WriteOptions};
use crate::source::{ApiKey, Credentials, Endpoints, PacePolicy, RetryPolicy};

/// The settings file, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub lake: Option<String>,
    pub base_url: Option<String>,
    pub insights_url: Option<String>,
    pub region: Option<String>,
    pub api_key: Option<String>,
    /// Service account (OAuth client credentials) instead of an API key.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Token endpoint of service accounts (default: JumpCloud's, or `{base_url}/oauth2/token`
    /// with a custom base URL).
    pub token_url: Option<String>,
    /// A ceiling in requests per minute (default: none, learn the limit from 429s).
    pub rate_limit_rpm: Option<u32>,
    /// Requests in flight at most (the pacer adapts below this).
    pub max_in_flight: Option<usize>,
    pub org_id: Option<String>,
    pub tables: Option<Vec<String>>,
    pub allow_http: Option<bool>,
    pub concurrency: Option<usize>,
    pub fanout_concurrency: Option<usize>,
    pub row_group_rows: Option<usize>,
    pub file_rows: Option<usize>,
    /// Where a new lake's event stream starts: RFC 3339 or YYYY-MM-DD (default: 90 days back).
    pub events_since: Option<String>,
    /// Directory Insights services to export (default: all).
    pub events_services: Option<Vec<String>>,
    /// Minutes re-read behind the last committed event time, for late events.
    pub events_lookback_minutes: Option<u64>,
    /// Events per page (at most 10000).
    pub events_page_size: Option<usize>,
    /// Attempts per request before a transient failure counts.
    pub retry_max_attempts: Option<u32>,
    /// Snapshot partitions kept per table; older ones are deleted after a commit.
    pub keep_snapshots: Option<usize>,
    /// Seconds a run's lake lock lasts without a heartbeat (a dead run's lock expires).
    pub lock_ttl_seconds: Option<u64>,
    /// Several orgs in one run, into one lake partitioned by `org_id`.
    #[serde(default)]
    pub orgs: Vec<OrgFile>,
    /// Per table `evolve`, `freeze` or `fail`; the key `default` sets the rest.
    #[serde(default)]
    pub schema_policy: std::collections::BTreeMap<String, SchemaPolicy>,
    #[serde(default)]
    pub s3: S3File,
}

/// One org of a multi-org run.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    pub org_id: String,
    /// The environment variable holding this org's own API key (default: the run's
    /// credentials, e.g. a multi-tenant key, with `x-org-id`).
    pub api_key_env: Option<String>,
}

/// One org of a multi-org run, resolved.
#[derive(Debug, Clone)]
pub struct OrgSpec {
    pub org_id: String,
    /// Its own credentials, or `None` for the run's.
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: Option<bool>,
    pub virtual_hosted_style: Option<bool>,
}

/// What the command line says (None: not given).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub lake: Option<String>,
    pub base_url: Option<String>,
    pub insights_url: Option<String>,
    pub region: Option<String>,
    pub org_id: Option<String>,
    pub tables: Option<String>,
    pub allow_http: bool,
    pub snapshot_date: Option<String>,
    pub concurrency: Option<usize>,
    pub since: Option<String>,
    pub rate_limit: Option<u32>,
    pub keep_snapshots: Option<usize>,
    /// Seconds to wait for another run's lock.
    pub wait_for_lock: Option<u64>,
}

/// A validated export configuration.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    pub lake: LakeLocation,
    pub s3: S3Options,
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub pace: PacePolicy,
    /// Orgs of a multi-org run (empty: one org, `org_id`).
    pub orgs: Vec<OrgSpec>,
    pub org_id: Option<String>,
    pub tables: Vec<&'static Resource>,
    pub snapshot_date: NaiveDate,
    pub concurrency: usize,
    pub fanout_concurrency: usize,
    pub write: WriteOptions,
    pub events: EventsSettings,
    pub retry: RetryPolicy,
    pub keep_snapshots: Option<usize>,
    pub lock_ttl: std::time::Duration,
    pub wait_for_lock: Option<std::time::Duration>,
    /// Schema policy per table (every exported table has an entry).
    pub schema_policy: std::collections::BTreeMap<String, SchemaPolicy>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error(
        "no lake given: pass --lake <path | s3://bucket/prefix> or set `lake` in the config file"
    )]
    NoLake,
    #[error("no API key: set JUMPCLOUD_API_KEY (or `api_key` in the config file), or a service account with JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET")]
    NoKey,
    #[error("{0}")]
    Invalid(String),
}

/// The environment variables jclake reads, as Steampipe's plugin names them.
#[derive(Default)]
pub struct Env {
    pub api_key: Option<String>,
    pub org_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Env {
            api_key: get("JUMPCLOUD_API_KEY"),
            org_id: get("JUMPCLOUD_ORG_ID"),
            client_id: get("JUMPCLOUD_CLIENT_ID"),
            client_secret: get("JUMPCLOUD_CLIENT_SECRET"),
        }
    }
}

pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

fn regional_hosts(region: &str) -> Result<(&'static str, &'static str), ConfigError> {
    match region {
        "us" => Ok(("https://console.jumpcloud.com", "https://api.jumpcloud.com")),
        "eu" => Ok((
            "https://console.eu.jumpcloud.com",
            "https://api.eu.jumpcloud.com",
        )),
        "in" => Ok((
            "https://console.in.jumpcloud.com",
            "https://api.in.jumpcloud.com",
        )),
        other => Err(ConfigError::Invalid(format!(
            "unknown region {other:?}: use us, eu or in"
        ))),
    }
}

/// Checks a base URL: scheme and host only; `https` unless the host is a loopback address
/// or plain HTTP is explicitly allowed.
fn check_base_url(name: &str, url: &str, allow_http: bool) -> Result<String, ConfigError> {
    let bad = |why: &str| ConfigError::Invalid(format!("{name} {url:?}: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(
            "give scheme and host only (e.g. https://console.jumpcloud.com); /api is appended",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    let host = parsed.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
        || host == "[::1]";
    match parsed.scheme() {
        "https" => {}
        "http" if loopback || allow_http => {}
        "http" => {
            return Err(bad(
                "plain http is only allowed for loopback addresses (or with --allow-http)",
            ))
        }
        _ => return Err(bad("the scheme must be https")),
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The `[s3]` settings of a file.
pub fn s3_options(file: &FileConfig) -> S3Options {
    S3Options {
        endpoint: file.s3.endpoint.clone(),
        region: file.s3.region.clone(),
        allow_http: file.s3.allow_http.unwrap_or(false),
        virtual_hosted_style: file.s3.virtual_hosted_style.unwrap_or(false),
    }
}

/// `--since`: RFC 3339, or a date meaning its midnight UTC.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, ConfigError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ConfigError::Invalid(format!("--since {s:?} is neither RFC 3339 nor YYYY-MM-DD"))
        })
}

/// Merges file, environment and flags, in that order of precedence (lowest first).
pub fn resolve(
    file: FileConfig,
    env: Env,
    flags: Overrides,
    today: NaiveDate,
) -> Result<ExportConfig, ConfigError> {
    let lake = flags.lake.or(file.lake).ok_or(ConfigError::NoLake)?;
    let lake = LakeLocation::parse(&lake).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let allow_http = flags.allow_http || file.allow_http.unwrap_or(false);
    let region = flags.region.or(file.region).unwrap_or_else(|| "us".into());
    let (us_base, us_insights) = regional_hosts(&region)?;
    let base = flags.base_url.or(file.base_url);
    let insights = flags.insights_url.or(file.insights_url);
    // A custom base URL serves Directory Insights too unless told otherwise.
    let insights = insights
        .or_else(|| base.clone())
        .unwrap_or_else(|| us_insights.into());
    let base = base.unwrap_or_else(|| us_base.into());
    let endpoints = Endpoints {
        base_url: check_base_url("--base-url", &base, allow_http)?,
        insights_url: check_base_url("--insights-url", &insights, allow_http)?,
    };
    let client_id = env.client_id.or(file.client_id);
    let client_secret = env.client_secret.or(file.client_secret);
    let credentials = match (client_id, client_secret) {
        (Some(id), Some(secret)) => {
            let custom_base = base != us_base;
            let token_url = match file.token_url {
                Some(u) => u,
                None if custom_base => format!("{}/oauth2/token", base.trim_end_matches('/')),
                None => "https://admin-oauth.id.jumpcloud.com/oauth2/token".into(),
            };
            let parsed = reqwest::Url::parse(&token_url)
                .map_err(|e| ConfigError::Invalid(format!("token_url {token_url:?}: {e}")))?;
            let origin = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            let origin = match parsed.port() {
                Some(p) => format!("{origin}:{p}"),
                None => origin,
            };
            check_base_url("token_url", &origin, allow_http)?;
            Credentials::ServiceAccount {
                client_id: id,
                client_secret: ApiKey::new(secret),
                token_url,
            }
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::Invalid(
                "a service account needs both JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET"
                    .into(),
            ))
        }
        (None, None) => {
            let key = ApiKey::new(env.api_key.or(file.api_key).ok_or(ConfigError::NoKey)?);
            if key.is_empty() {
                return Err(ConfigError::NoKey);
            }
            Credentials::ApiKey(key)
        }
    };
    let mut orgs: Vec<OrgSpec> = Vec::new();
    for o in file.orgs {
        let id = o.org_id.trim().to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::Invalid(format!(
                "orgs: org_id {:?} is not an organization id",
                o.org_id
            )));
        }
        if orgs.iter().any(|x| x.org_id == id) {
            return Err(ConfigError::Invalid(format!(
                "orgs: org {id} is listed twice"
            )));
        }
        let credentials = match o.api_key_env {
            None => None,
            Some(var) => {
                let key = std::env::var(&var).ok().filter(|k| !k.trim().is_empty());
                let key = key.ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "orgs: org {id}: environment variable {var} is not set"
                    ))
                })?;
                Some(Credentials::ApiKey(ApiKey::new(key)))
            }
        };
        orgs.push(OrgSpec {
            org_id: id,
            credentials,
        });
    }
    let pace = PacePolicy {
        rate_limit_rpm: match flags.rate_limit.or(file.rate_limit_rpm) {
            Some(0) => {
                return Err(ConfigError::Invalid(
                    "rate_limit_rpm must be at least 1".into(),
                ))
            }
            r => r,
        },
        max_in_flight: file
            .max_in_flight
            .unwrap_or(PacePolicy::default().max_in_flight)
            .max(1),
    };
    let org_id = flags.org_id.or(env.org_id).or(file.org_id);
    let table_names: Option<Vec<String>> = flags
        .tables
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .or(file.tables);
    let tables = match table_names {
        None => catalog::RESOURCES.iter().collect(),
        Some(names) if names.is_empty() => {
            return Err(ConfigError::Invalid("--tables names no table".into()))
        }
        Some(names) => {
            let mut out: Vec<&'static Resource> = Vec::new();
            for n in &names {
                let r = catalog::find(n).ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "unknown table {n:?}; known tables: {}",
                        catalog::table_names().join(", ")
                    ))
                })?;
                if !out.iter().any(|o| o.table == r.table) {
                    out.push(r);
                }
            }
            out
        }
    };
    let snapshot_date = match flags.snapshot_date {
        None => today,
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            ConfigError::Invalid(format!("--snapshot-date {d:?} is not a date (YYYY-MM-DD)"))
        })?,
    };
    let positive = |name: &str, v: Option<usize>, default: usize| -> Result<usize, ConfigError> {
        match v {
            Some(0) => Err(ConfigError::Invalid(format!("{name} must be at least 1"))),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    };
    let default_policy = file
        .schema_policy
        .get("default")
        .copied()
        .unwrap_or_default();
    for name in file.schema_policy.keys() {
        if name != "default" && catalog::find(name).is_none() {
            return Err(ConfigError::Invalid(format!(
                "schema_policy names unknown table {name:?}"
            )));
        }
    }
    let schema_policy = catalog::RESOURCES
        .iter()
        .map(|r| {
            (
                r.table.to_string(),
                file.schema_policy
                    .get(r.table)
                    .copied()
                    .unwrap_or(default_policy),
            )
        })
        .collect();
    let defaults = WriteOptions::default();
    let since = match flags.since.or(file.events_since) {
        None => None,
        Some(s) => Some(parse_since(&s)?),
    };
    let mut services = file.events_services.unwrap_or_else(|| vec!["all".into()]);
    services
        .iter_mut()
        .for_each(|s| *s = s.trim().to_lowercase());
    if services.is_empty() {
        return Err(ConfigError::Invalid(
            "events_services names no service".into(),
        ));
    }
    if let Some(bad) = services
        .iter()
        .find(|s| s.as_str() != "all" && !catalog::EVENT_SERVICES.contains(&s.as_str()))
    {
        return Err(ConfigError::Invalid(format!(
            "unknown events service {bad:?}; known services: all, {}",
            catalog::EVENT_SERVICES.join(", ")
        )));
    }
    let page_size = positive(
        "events_page_size",
        file.events_page_size,
        crate::source::insights::MAX_EVENTS_PAGE,
    )?;
    if page_size > crate::source::insights::MAX_EVENTS_PAGE {
        return Err(ConfigError::Invalid(format!(
            "events_page_size must be at most {}",
            crate::source::insights::MAX_EVENTS_PAGE
        )));
    }
    let events = EventsSettings {
        since,
        services,
        lookback: chrono::Duration::minutes(
            file.events_lookback_minutes.unwrap_or(60).min(60 * 24 * 90) as i64,
        ),
        page_size,
    };
    let retry = RetryPolicy {
        max_attempts: positive(
            "retry_max_attempts",
            file.retry_max_attempts.map(|n| n as usize),
            RetryPolicy::default().max_attempts as usize,
        )? as u32,
        ..RetryPolicy::default()
    };
    let keep_snapshots = match flags.keep_snapshots.or(file.keep_snapshots) {
        Some(0) => {
            return Err(ConfigError::Invalid(
                "keep_snapshots must be at least 1".into(),
            ))
        }
        k => k,
    };
    let lock_ttl = std::time::Duration::from_secs(file.lock_ttl_seconds.unwrap_or(600).max(10));
    Ok(ExportConfig {
        events,
        retry,
        keep_snapshots,
        lock_ttl,
        wait_for_lock: flags.wait_for_lock.map(std::time::Duration::from_secs),
        schema_policy,
        lake,
        s3: S3Options {
            endpoint: file.s3.endpoint,
            region: file.s3.region,
            allow_http: file.s3.allow_http.unwrap_or(false),
            virtual_hosted_style: file.s3.virtual_hosted_style.unwrap_or(false),
        },
        endpoints,
        credentials,
        pace,
        orgs,
        org_id,
        tables,
        snapshot_date,
        concurrency: positive("concurrency", flags.concurrency.or(file.concurrency), 4)?,
        fanout_concurrency: positive("fanout_concurrency", file.fanout_concurrency, 8)?,
        write: WriteOptions {
            row_group_rows: positive(
                "row_group_rows",
                file.row_group_rows,
                defaults.row_group_rows,
            )?,
            file_rows: positive("file_rows", file.file_rows, defaults.file_rows)?,
            zstd_level: defaults.zstd_level,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    fn env(key: Option<&str>) -> Env {
        Env {
            api_key: key.map(str::to_string),
            org_id: None,
            ..Env::default()
        }
    }

    #[test]
    fn flags_win_over_env_over_file() {
        let file: FileConfig = toml::from_str(
            "lake = \"/file-lake\"\napi_key = \"file-key\"\norg_id = \"file-org\"\ntables = [\"users\"]\nbase_url = \"https://file.example.com\"",
        )
        .expect("toml");
        let flags = Overrides {
            lake: Some("/flag-lake".into()),
            tables: Some("systems,users".into()),
            ..Overrides::default()
        };
        let env = Env {
            api_key: Some("env-key".into()),
            org_id: Some("env-org".into()),
            ..Env::default()
        };
        let c = resolve(file, env, flags, today()).expect("config");
        assert_eq!(c.lake, LakeLocation::Local("/flag-lake".into()));
        assert_eq!(c.org_id.as_deref(), Some("env-org"));
        assert_eq!(
            c.tables.iter().map(|t| t.table).collect::<Vec<_>>(),
            ["systems", "users"]
        );
        assert_eq!(c.endpoints.base_url, "https://file.example.com");
        assert_eq!(c.endpoints.insights_url, "https://file.example.com");
        assert_eq!(format!("{:?}", c.credentials), "ApiKey(***)");
        assert!(!format!("{c:?}").contains("env-key"));
    }

    #[test]
    fn example_toml_documents_valid_settings() {
        let file: FileConfig =
            toml::from_str(include_str!("../example.toml")).expect("example.toml parses");
        assert_eq!(file.lake.as_deref(), Some("./demo-lake"));
        let c = resolve(file, env(Some("k")), Overrides::default(), today())
            .expect("example.toml resolves");
        assert_eq!(c.tables.len(), catalog::RESOURCES.len());
        assert_eq!(c.endpoints.base_url, "https://console.jumpcloud.com");
    }

    #[test]
    fn regions_and_url_rules() {
        let flags = Overrides {
            lake: Some("l".into()),
            region: Some("eu".into()),
            ..Overrides::default()
        };
        let c = resolve(FileConfig::default(), env(Some("k")), flags, today()).expect("config");
        assert_eq!(c.endpoints.base_url, "https://console.eu.jumpcloud.com");
        assert_eq!(c.endpoints.insights_url, "https://api.eu.jumpcloud.com");

        let with = |url: &str| Overrides {
            lake: Some("l".into()),
            base_url: Some(url.into()),
            ..Overrides::default()
        };
        let err = |url: &str| {
            resolve(FileConfig::default(), env(Some("k")), with(url), today())
                .expect_err(url)
                .to_string()
        };
        assert!(err("http://example.com").contains("plain http is only allowed for loopback"));
        assert!(err("https://example.com/api").contains("scheme and host only"));
        assert!(resolve(
            FileConfig::default(),
            env(Some("k")),
            with("http://127.0.0.1:8080"),
            today()
        )
        .is_ok());
    }

    #[test]
    fn clear_errors_for_missing_or_bad_settings() {
        let lake = || Overrides {
            lake: Some("l".into()),
            ..Overrides::default()
        };
        assert_eq!(
            resolve(FileConfig::default(), env(None), lake(), today())
                .expect_err("no key")
                .to_string(),
            ConfigError::NoKey.to_string()
        );
        let t = Overrides {
            tables: Some("users,nope".into()),
            ..lake()
        };
        let e = resolve(FileConfig::default(), env(Some("k")), t, today())
            .expect_err("bad table")
            .to_string();
        assert!(
            e.starts_with("unknown table \"nope\"; known tables: users, systems"),
            "{e}"
        );
        assert!(matches!(
            resolve(
                FileConfig::default(),
                env(Some("k")),
                Overrides::default(),
                today()
            ),
            Err(ConfigError::NoLake)
        ));
        let bad: Result<FileConfig, _> = toml::from_str("lakes = 1");
        assert!(bad.is_err());
    }
}
