//! Settings: in come command-line flags, the environment and a TOML file (`layers`, in
//! that order of precedence); out comes one validated `export::ExportConfig`. Every
//! setting is defined once in `defs`; `resolve` is split by concern (lake, endpoints,
//! credentials, orgs, tables, events, writing, pacing), each checked on its own.

pub mod defs;
mod docs;
mod layers;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::catalog::{self, Resource};
use crate::change::MatchKey;
use crate::decode::SchemaPolicy;
pub use crate::export::{EventsSettings, ExportConfig, OrgSpec};
use crate::sink::{LakeLocation, S3Options, WriteOptions};
use crate::source::insights::MAX_EVENTS_PAGE;
use crate::source::{ApiKey, Credentials, Endpoints, PacePolicy, RetryPolicy};
use defs::*;
pub use docs::{example_toml, markdown_tables, text_table};
pub use layers::{ExportSettings, Flags, LakeSettings, Layers, SettingSet, WriteBackSettings};

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

/// One org of a multi-org run, as the file gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgEntry {
    org_id: String,
    /// The environment variable holding this org's own API key (default: the run's
    /// credentials, e.g. a multi-tenant key, with `x-org-id`).
    api_key_env: Option<String>,
}

/// Every layer merged and checked, for a run whose snapshot date defaults to `today`.
pub fn resolve(l: &Layers, today: NaiveDate) -> Result<ExportConfig, ConfigError> {
    let (lake, s3) = lake(l)?;
    let (endpoints, custom_base) = endpoints(l)?;
    let (tables, schema_policy) = tables(l)?;
    let snapshot_date = match l.get::<String>(&SNAPSHOT_DATE)? {
        None => today,
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            ConfigError::Invalid(format!("--snapshot-date {d:?} is not a date (YYYY-MM-DD)"))
        })?,
    };
    Ok(ExportConfig {
        credentials: credentials(l, &endpoints, custom_base)?,
        orgs: orgs(l)?,
        org_id: l.get(&ORG_ID)?,
        events: events(l)?,
        write: write(l)?,
        pace: PacePolicy {
            rate_limit_rpm: l.get(&RATE_LIMIT_RPM)?,
            max_in_flight: l.value::<usize>(&MAX_IN_FLIGHT)?.max(1),
        },
        retry: RetryPolicy {
            max_attempts: l.value(&RETRY_MAX_ATTEMPTS)?,
            ..RetryPolicy::default()
        },
        keep_snapshots: l.get(&KEEP_SNAPSHOTS)?,
        lock_ttl: Duration::from_secs(l.value::<u64>(&LOCK_TTL_SECONDS)?.max(10)),
        wait_for_lock: l.get(&WAIT_FOR_LOCK)?.map(Duration::from_secs),
        concurrency: l.value(&CONCURRENCY)?,
        memory_limit_mb: l.value(&MEMORY_LIMIT_MB)?,
        fanout_concurrency: l.value(&FANOUT_CONCURRENCY)?,
        command_results_per_run: l.value(&COMMAND_RESULTS_PER_RUN)?,
        lake,
        s3,
        endpoints,
        tables,
        schema_policy,
        snapshot_date,
    })
}

/// What `plan` and `apply` are told: the org and how to reach it, the lake (optional for
/// `plan`), and their own settings.
#[derive(Debug)]
pub struct WriteBackConfig {
    pub lake: Option<LakeLocation>,
    pub s3: S3Options,
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub org_id: Option<String>,
    pub pace: PacePolicy,
    pub retry: RetryPolicy,
    pub match_key: MatchKey,
    pub max_changes: usize,
    pub write_concurrency: usize,
    pub lock_ttl: Duration,
    pub wait_for_lock: Option<Duration>,
    pub write: WriteOptions,
}

/// Every layer merged and checked for `plan` or `apply`.
pub fn write_back(l: &Layers) -> Result<WriteBackConfig, ConfigError> {
    let (endpoints, custom_base) = endpoints(l)?;
    let lake = match l.get::<String>(&LAKE)? {
        None => None,
        Some(root) => {
            Some(LakeLocation::parse(&root).map_err(|e| ConfigError::Invalid(e.to_string()))?)
        }
    };
    Ok(WriteBackConfig {
        lake,
        s3: s3(l)?,
        credentials: credentials(l, &endpoints, custom_base)?,
        endpoints,
        org_id: l.get(&ORG_ID)?,
        pace: PacePolicy {
            rate_limit_rpm: l.get(&RATE_LIMIT_RPM)?,
            max_in_flight: l.value::<usize>(&MAX_IN_FLIGHT)?.max(1),
        },
        retry: RetryPolicy {
            max_attempts: l.value(&RETRY_MAX_ATTEMPTS)?,
            ..RetryPolicy::default()
        },
        match_key: MatchKey::parse(&l.value::<String>(&MATCH_KEY)?)
            .map_err(ConfigError::Invalid)?,
        max_changes: l.value(&MAX_CHANGES)?,
        write_concurrency: l.value(&WRITE_CONCURRENCY)?,
        lock_ttl: Duration::from_secs(l.value::<u64>(&LOCK_TTL_SECONDS)?.max(10)),
        wait_for_lock: l.get(&WAIT_FOR_LOCK)?.map(Duration::from_secs),
        write: write(l)?,
    })
}

/// The lake root and the `[s3]` settings.
pub fn lake(l: &Layers) -> Result<(LakeLocation, S3Options), ConfigError> {
    let root: String = l.get(&LAKE)?.ok_or(ConfigError::NoLake)?;
    let location = LakeLocation::parse(&root).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    Ok((location, s3(l)?))
}

/// The `[s3]` settings alone (for a command that may name no lake).
pub fn s3(l: &Layers) -> Result<S3Options, ConfigError> {
    Ok(S3Options {
        endpoint: l.get(&S3_ENDPOINT)?,
        region: l.get(&S3_REGION)?,
        allow_http: l.value(&S3_ALLOW_HTTP)?,
        virtual_hosted_style: l.value(&S3_VIRTUAL_HOSTED_STYLE)?,
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

/// The API and Directory Insights hosts, and whether the base URL is a custom one.
fn endpoints(l: &Layers) -> Result<(Endpoints, bool), ConfigError> {
    let allow_http = l.value(&ALLOW_HTTP)?;
    let (region_base, region_insights) = regional_hosts(&l.value::<String>(&REGION)?)?;
    let base: Option<String> = l.get(&BASE_URL)?;
    // A custom base URL serves Directory Insights too unless told otherwise.
    let insights = l
        .get::<String>(&INSIGHTS_URL)?
        .or_else(|| base.clone())
        .unwrap_or_else(|| region_insights.into());
    let base = base.unwrap_or_else(|| region_base.into());
    let endpoints = Endpoints {
        base_url: check_base_url("--base-url", &base, allow_http)?,
        insights_url: check_base_url("--insights-url", &insights, allow_http)?,
    };
    Ok((endpoints, base != region_base))
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

/// An API key, or a service account when both its id and secret are given.
fn credentials(
    l: &Layers,
    endpoints: &Endpoints,
    custom_base: bool,
) -> Result<Credentials, ConfigError> {
    let id: Option<String> = l.get(&CLIENT_ID)?;
    let secret: Option<String> = l.get(&CLIENT_SECRET)?;
    match (id, secret) {
        (Some(client_id), Some(secret)) => {
            let token_url = match l.get::<String>(&TOKEN_URL)? {
                Some(u) => u,
                None if custom_base => format!("{}/oauth2/token", endpoints.base_url),
                None => "https://admin-oauth.id.jumpcloud.com/oauth2/token".into(),
            };
            let parsed = reqwest::Url::parse(&token_url)
                .map_err(|e| ConfigError::Invalid(format!("token_url {token_url:?}: {e}")))?;
            let origin = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            let origin = match parsed.port() {
                Some(p) => format!("{origin}:{p}"),
                None => origin,
            };
            check_base_url("token_url", &origin, l.value(&ALLOW_HTTP)?)?;
            Ok(Credentials::ServiceAccount {
                client_id,
                client_secret: ApiKey::new(secret),
                token_url,
            })
        }
        (Some(_), None) | (None, Some(_)) => Err(ConfigError::Invalid(
            "a service account needs both JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET".into(),
        )),
        (None, None) => {
            let key = ApiKey::new(l.get::<String>(&API_KEY)?.ok_or(ConfigError::NoKey)?);
            if key.is_empty() {
                return Err(ConfigError::NoKey);
            }
            Ok(Credentials::ApiKey(key))
        }
    }
}

/// The orgs of a multi-org run, each with its own key if it names one.
fn orgs(l: &Layers) -> Result<Vec<OrgSpec>, ConfigError> {
    let entries: Vec<OrgEntry> = l.get(&ORGS)?.unwrap_or_default();
    let mut orgs: Vec<OrgSpec> = Vec::new();
    for o in entries {
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
                // The name is not echoed: a key pasted here by mistake must not reach a log.
                let key = l.env_var(&var).ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "orgs: org {id}: the environment variable that api_key_env names is not set"
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
    Ok(orgs)
}

/// The tables to export (catalog order of the names given, each once) and every table's
/// schema policy.
fn tables(
    l: &Layers,
) -> Result<(Vec<&'static Resource>, BTreeMap<String, SchemaPolicy>), ConfigError> {
    let insights = match l.get::<Vec<String>>(&SYSTEM_INSIGHTS_TABLES)? {
        None => catalog::DEFAULT_INSIGHTS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Some(names) if names.iter().any(|n| n.trim() == "all") => catalog::insights_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
        Some(names) => {
            let known = catalog::insights_names();
            let mut out: Vec<String> = Vec::new();
            for n in names
                .iter()
                .map(|n| n.trim().trim_start_matches("system_insights_"))
            {
                if !known.contains(&n) {
                    return Err(ConfigError::Invalid(format!(
                        "unknown System Insights table {n:?}; known tables: {}",
                        known.join(", ")
                    )));
                }
                if !out.iter().any(|o| o == n) {
                    out.push(n.to_string());
                }
            }
            out
        }
    };
    let tables = match l.get::<Vec<String>>(&TABLES)? {
        None => catalog::default_tables(&insights),
        Some(names) if names.is_empty() => {
            return Err(ConfigError::Invalid("--tables names no table".into()))
        }
        Some(names) => {
            let mut out: Vec<&'static Resource> = Vec::new();
            for n in names.iter().map(|n| n.trim()) {
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
    let given: BTreeMap<String, SchemaPolicy> = l.value(&SCHEMA_POLICY)?;
    for name in given.keys() {
        if name != "default" && catalog::find(name).is_none() {
            return Err(ConfigError::Invalid(format!(
                "schema_policy names unknown table {name:?}"
            )));
        }
    }
    let default = given.get("default").copied().unwrap_or_default();
    let policy = catalog::resources()
        .map(|r| {
            let p = given.get(r.table).copied().unwrap_or(default);
            (r.table.to_string(), p)
        })
        .collect();
    Ok((tables, policy))
}

/// `events_since`: RFC 3339, or a date meaning its midnight UTC.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, ConfigError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "events_since {s:?} is neither RFC 3339 nor YYYY-MM-DD"
            ))
        })
}

/// The event stream's start, services, look-back and page size.
fn events(l: &Layers) -> Result<EventsSettings, ConfigError> {
    let since = match l.get::<String>(&EVENTS_SINCE)? {
        None => None,
        Some(s) => Some(parse_since(&s)?),
    };
    let mut services: Vec<String> = l.value(&EVENTS_SERVICES)?;
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
    let lookback: u64 = l.value(&EVENTS_LOOKBACK_MINUTES)?;
    Ok(EventsSettings {
        since,
        services,
        lookback: chrono::Duration::minutes(lookback.min(60 * 24 * 90) as i64),
        page_size: l.value::<usize>(&EVENTS_PAGE_SIZE)?.min(MAX_EVENTS_PAGE),
    })
}

/// Parquet row groups and files.
fn write(l: &Layers) -> Result<WriteOptions, ConfigError> {
    Ok(WriteOptions {
        row_group_rows: l.value(&ROW_GROUP_ROWS)?,
        file_rows: l.value(&FILE_ROWS)?,
        ..WriteOptions::default()
    })
}

#[cfg(test)]
mod tests;
