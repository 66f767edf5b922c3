//! Every setting, defined once: its TOML key (the flag is the same name with `-` for `_`),
//! where it may be given, its environment variable, its default and its doc line. The
//! command line, the settings file, `jclake settings` (and through it README's tables and
//! `example.toml`, checked by a test) are all made from these definitions.

/// A setting's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A whole number in `min..=max`.
    Int {
        min: u64,
        max: u64,
    },
    /// On the command line a switch; in the file `true` or `false`.
    Bool,
    /// On the command line comma-separated; in the file an array of strings.
    List,
    /// A TOML table (or array of tables): only in the file.
    Table,
}

/// Where a setting may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A flag and a file key.
    Both,
    /// Only in the file (secrets, which must not show in a process list, and tables).
    File,
    /// Only on the command line.
    Flag,
}

/// A setting's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No value: the setting is off or must be given.
    None,
    /// This TOML value.
    Value(&'static str),
    /// Worked out from other settings, as described.
    Derived(&'static str),
}

/// One setting.
#[derive(Debug)]
pub struct Setting {
    /// The file key; `s3.endpoint` is `endpoint` in the `[s3]` table.
    pub key: &'static str,
    pub kind: Kind,
    pub scope: Scope,
    pub env: Option<&'static str>,
    pub default: DefaultValue,
    /// The value's placeholder in `--help` and README.
    pub value_name: &'static str,
    /// An example value (TOML) for `example.toml` when there is no default to show.
    pub example: Option<&'static str>,
    pub doc: &'static str,
    /// Earlier flag names, still accepted with a warning.
    pub old_flags: &'static [&'static str],
    /// A secret: its value is never shown, not even in an error about it.
    pub secret: bool,
}

impl Setting {
    /// `--base-url` for `base_url`; `None` for a file-only setting.
    pub fn flag(&self) -> Option<String> {
        (self.scope != Scope::File).then(|| self.key.replace('_', "-"))
    }

    pub fn in_file(&self) -> bool {
        self.scope != Scope::Flag
    }
}

const fn setting(key: &'static str, kind: Kind, doc: &'static str) -> Setting {
    Setting {
        key,
        kind,
        scope: Scope::Both,
        env: None,
        default: DefaultValue::None,
        value_name: "",
        example: None,
        doc,
        old_flags: &[],
        secret: false,
    }
}

const TEXT: Kind = Kind::Text;
const fn int(min: u64, max: u64) -> Kind {
    Kind::Int { min, max }
}

pub const CONFIG: Setting = Setting {
    scope: Scope::Flag,
    value_name: "FILE",
    ..setting("config", TEXT, "TOML settings file (see example.toml)")
};
pub const LAKE: Setting = Setting {
    value_name: "PATH | s3://bucket/prefix",
    example: Some("\"./demo-lake\""),
    ..setting(
        "lake",
        TEXT,
        "lake root: a local folder or s3://bucket/prefix",
    )
};
pub const REGION: Setting = Setting {
    default: DefaultValue::Value("\"us\""),
    value_name: "us|eu|in",
    ..setting(
        "region",
        TEXT,
        "JumpCloud region whose hosts are the default",
    )
};
pub const BASE_URL: Setting = Setting {
    default: DefaultValue::Derived("the region's console host, https://console.jumpcloud.com"),
    value_name: "URL",
    example: Some("\"https://console.jumpcloud.com\""),
    ..setting(
        "base_url",
        TEXT,
        "host of the v1 and v2 APIs, scheme and host only; /api and /api/v2 are appended. A custom base URL also serves Directory Insights and the token endpoint unless they are set",
    )
};
pub const INSIGHTS_URL: Setting = Setting {
    default: DefaultValue::Derived("the region's api host, or base_url when that is custom"),
    value_name: "URL",
    example: Some("\"https://api.jumpcloud.com\""),
    ..setting(
        "insights_url",
        TEXT,
        "Directory Insights host, when it is not base_url",
    )
};
pub const ALLOW_HTTP: Setting = Setting {
    default: DefaultValue::Value("false"),
    ..setting(
        "allow_http",
        Kind::Bool,
        "allow plain http to a non-loopback host (loopback is always allowed; otherwise https is required)",
    )
};
pub const API_KEY: Setting = Setting {
    scope: Scope::File,
    secret: true,
    env: Some("JUMPCLOUD_API_KEY"),
    value_name: "KEY",
    example: Some("\"...\""),
    ..setting(
        "api_key",
        TEXT,
        "the API key; prefer the environment variable, which wins; never printed or stored",
    )
};
pub const ORG_ID: Setting = Setting {
    env: Some("JUMPCLOUD_ORG_ID"),
    value_name: "ID",
    example: Some("\"5ff2d910ca71d87c76983989\""),
    ..setting(
        "org_id",
        TEXT,
        "organization id, required for a multi-tenant (MSP) key",
    )
};
pub const CLIENT_ID: Setting = Setting {
    scope: Scope::File,
    env: Some("JUMPCLOUD_CLIENT_ID"),
    value_name: "ID",
    example: Some("\"...\""),
    ..setting(
        "client_id",
        TEXT,
        "service account (OAuth client credentials) instead of an API key, with client_secret",
    )
};
pub const CLIENT_SECRET: Setting = Setting {
    scope: Scope::File,
    secret: true,
    env: Some("JUMPCLOUD_CLIENT_SECRET"),
    value_name: "SECRET",
    example: Some("\"...\""),
    ..setting(
        "client_secret",
        TEXT,
        "the service account's secret; never printed or stored",
    )
};
pub const TOKEN_URL: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Derived(
        "JumpCloud's, or <base_url>/oauth2/token with a custom base_url",
    ),
    value_name: "URL",
    example: Some("\"https://admin-oauth.id.jumpcloud.com/oauth2/token\""),
    ..setting("token_url", TEXT, "token endpoint of service accounts")
};
pub const TABLES: Setting = Setting {
    default: DefaultValue::Derived(
        "every table but the System Insights ones not in system_insights_tables; `jclake tables` lists them",
    ),
    value_name: "a,b,c",
    example: Some("[\"users\", \"systems\", \"user_groups\", \"user_group_members\"]"),
    ..setting("tables", Kind::List, "tables to export")
};
pub const SYSTEM_INSIGHTS_TABLES: Setting = Setting {
    default: DefaultValue::Derived(
        "apps, programs, linux_packages, os_version, system_info, disk_encryption, bitlocker_info, users, logged_in_users, chrome_extensions, browser_plugins, patches, uptime, certificates",
    ),
    value_name: "a,b,c|all",
    example: Some("[\"apps\", \"programs\", \"os_version\", \"battery\"]"),
    ..setting(
        "system_insights_tables",
        Kind::List,
        "System Insights tables (API names) exported when `tables` is not given; `all` for every one, an empty list for none",
    )
};
pub const SNAPSHOT_DATE: Setting = Setting {
    scope: Scope::Flag,
    default: DefaultValue::Derived("today, UTC"),
    value_name: "YYYY-MM-DD",
    ..setting(
        "snapshot_date",
        TEXT,
        "partition date of the snapshot tables",
    )
};
pub const RATE_LIMIT_RPM: Setting = Setting {
    default: DefaultValue::Derived("none; the limit is learnt from 429s"),
    value_name: "RPM",
    example: Some("600"),
    old_flags: &["rate-limit"],
    ..setting(
        "rate_limit_rpm",
        int(1, u32::MAX as u64),
        "ceiling in requests per minute",
    )
};
pub const MAX_IN_FLIGHT: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("16"),
    value_name: "N",
    ..setting(
        "max_in_flight",
        int(0, u64::MAX),
        "requests in flight at most; the pacer adapts below it",
    )
};
pub const RETRY_MAX_ATTEMPTS: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("10"),
    value_name: "N",
    ..setting(
        "retry_max_attempts",
        int(1, u32::MAX as u64),
        "attempts per request before a transient failure (5xx, 429, reset, cut body) counts",
    )
};
pub const CONCURRENCY: Setting = Setting {
    default: DefaultValue::Value("4"),
    value_name: "N",
    ..setting(
        "concurrency",
        int(1, u64::MAX),
        "snapshot tables exported at once; the event stream runs beside them",
    )
};
pub const MEMORY_LIMIT_MB: Setting = Setting {
    default: DefaultValue::Value("128"),
    value_name: "MIB",
    ..setting(
        "memory_limit_mb",
        int(32, 1 << 20),
        "memory budget in MiB, shared by pages in flight, row groups held and upload buffers: peak RSS stays near it whatever the org's size",
    )
};
pub const FANOUT_CONCURRENCY: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("8"),
    value_name: "N",
    ..setting(
        "fanout_concurrency",
        int(1, u64::MAX),
        "per-parent requests in flight in a membership or association table",
    )
};
pub const COMMAND_RESULTS_PER_RUN: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("2000"),
    value_name: "N",
    ..setting(
        "command_results_per_run",
        int(1, u64::MAX),
        "new command results whose full output a run fetches (one request each; the rest wait for the next run; a rerun the same day fetches that day's again, plus as many)",
    )
};
pub const ROW_GROUP_ROWS: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("65536"),
    value_name: "N",
    ..setting(
        "row_group_rows",
        int(1, u64::MAX),
        "rows per Parquet row group at most (a row group is also cut at its share of memory_limit_mb)",
    )
};
pub const FILE_ROWS: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("1000000"),
    value_name: "N",
    ..setting("file_rows", int(1, u64::MAX), "rows per Parquet file")
};
pub const KEEP_SNAPSHOTS: Setting = Setting {
    default: DefaultValue::Derived("keep all"),
    value_name: "N",
    example: Some("30"),
    ..setting(
        "keep_snapshots",
        int(1, u64::MAX),
        "keep the newest N snapshot partitions per table, delete older ones after the commit; events are never deleted",
    )
};
pub const LOCK_TTL_SECONDS: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("600"),
    value_name: "SECONDS",
    ..setting(
        "lock_ttl_seconds",
        int(0, u64::MAX),
        "a run's lock expires this long after its last heartbeat (at least 10; a killed run's lock on this host is taken over at once)",
    )
};
pub const WAIT_FOR_LOCK: Setting = Setting {
    default: DefaultValue::Derived("do not wait: exit 7"),
    value_name: "SECONDS",
    example: Some("900"),
    ..setting(
        "wait_for_lock",
        int(0, u64::MAX),
        "wait this long for another run on the same lake to finish",
    )
};
pub const EVENTS_SINCE: Setting = Setting {
    default: DefaultValue::Derived("90 days before the run"),
    value_name: "TIME",
    example: Some("\"2026-09-01\""),
    old_flags: &["since"],
    ..setting(
        "events_since",
        TEXT,
        "start of a new lake's event stream: RFC 3339, or a date meaning its midnight UTC; ignored once the lake has a stream",
    )
};
pub const EVENTS_SERVICES: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("[\"all\"]"),
    value_name: "LIST",
    ..setting(
        "events_services",
        Kind::List,
        "Directory Insights services: all, or some of directory, sso, radius, systems, ldap, mdm, password_manager, software, object_storage, alerts, access_management, saas_app_management",
    )
};
pub const EVENTS_LOOKBACK_MINUTES: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("60"),
    value_name: "MINUTES",
    ..setting(
        "events_lookback_minutes",
        int(0, u64::MAX),
        "how far behind the committed point each run re-reads, for events indexed late (capped at 90 days)",
    )
};
pub const EVENTS_PAGE_SIZE: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("10000"),
    value_name: "N",
    ..setting("events_page_size", int(1, 10_000), "events per page")
};
pub const LOG_FORMAT: Setting = Setting {
    default: DefaultValue::Value("\"text\""),
    value_name: "text|json",
    ..setting("log_format", TEXT, "log format on stderr")
};
pub const ORGS: Setting = Setting {
    scope: Scope::File,
    ..setting(
        "orgs",
        Kind::Table,
        "several orgs in one run: [[orgs]] tables with org_id and, for an org's own key, api_key_env (the variable holding it)",
    )
};
pub const SCHEMA_POLICY: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("{ default = \"evolve\" }"),
    ..setting(
        "schema_policy",
        Kind::Table,
        "per table evolve, freeze or fail when fields appear that the schema lacks; the key default sets the rest",
    )
};
pub const S3_ENDPOINT: Setting = Setting {
    scope: Scope::File,
    value_name: "URL",
    example: Some("\"http://127.0.0.1:8333\""),
    ..setting(
        "s3.endpoint",
        TEXT,
        "endpoint of an S3-compatible store (SeaweedFS, MinIO, …)",
    )
};
pub const S3_REGION: Setting = Setting {
    scope: Scope::File,
    value_name: "REGION",
    example: Some("\"us-east-1\""),
    ..setting("s3.region", TEXT, "the bucket's region")
};
pub const S3_ALLOW_HTTP: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("false"),
    ..setting("s3.allow_http", Kind::Bool, "plain http to the endpoint")
};
pub const S3_VIRTUAL_HOSTED_STYLE: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("false"),
    ..setting(
        "s3.virtual_hosted_style",
        Kind::Bool,
        "virtual-hosted-style addressing; false: path-style (only with endpoint)",
    )
};

pub const MATCH_KEY: Setting = Setting {
    default: DefaultValue::Value("\"username\""),
    value_name: "username|email|employeeIdentifier",
    ..setting(
        "match_key",
        TEXT,
        "plan/apply: the column that matches a desired row to a user of the org",
    )
};
pub const MAX_CHANGES: Setting = Setting {
    default: DefaultValue::Value("500"),
    value_name: "N",
    ..setting(
        "max_changes",
        int(0, u64::MAX),
        "apply: refuse a plan with more changes still to make than this",
    )
};
pub const WRITE_CONCURRENCY: Setting = Setting {
    scope: Scope::File,
    default: DefaultValue::Value("4"),
    value_name: "N",
    ..setting(
        "write_concurrency",
        int(1, 64),
        "apply: objects written at once (writes on one object are always one after another)",
    )
};

/// Every setting, in the order `--help`, README and `example.toml` show them.
pub const ALL: &[&Setting] = &[
    &CONFIG,
    &LAKE,
    &REGION,
    &BASE_URL,
    &INSIGHTS_URL,
    &ALLOW_HTTP,
    &API_KEY,
    &ORG_ID,
    &CLIENT_ID,
    &CLIENT_SECRET,
    &TOKEN_URL,
    &TABLES,
    &SYSTEM_INSIGHTS_TABLES,
    &SNAPSHOT_DATE,
    &RATE_LIMIT_RPM,
    &MAX_IN_FLIGHT,
    &RETRY_MAX_ATTEMPTS,
    &CONCURRENCY,
    &MEMORY_LIMIT_MB,
    &FANOUT_CONCURRENCY,
    &COMMAND_RESULTS_PER_RUN,
    &ROW_GROUP_ROWS,
    &FILE_ROWS,
    &KEEP_SNAPSHOTS,
    &LOCK_TTL_SECONDS,
    &WAIT_FOR_LOCK,
    &EVENTS_SINCE,
    &EVENTS_SERVICES,
    &EVENTS_LOOKBACK_MINUTES,
    &EVENTS_PAGE_SIZE,
    &LOG_FORMAT,
    &MATCH_KEY,
    &MAX_CHANGES,
    &WRITE_CONCURRENCY,
    &ORGS,
    &SCHEMA_POLICY,
    &S3_ENDPOINT,
    &S3_REGION,
    &S3_ALLOW_HTTP,
    &S3_VIRTUAL_HOSTED_STYLE,
];

/// Settings only `plan` and `apply` take.
pub const WRITE_BACK_ONLY: &[&Setting] = &[&MATCH_KEY, &MAX_CHANGES, &WRITE_CONCURRENCY];

/// What `plan` and `apply` take: where the org and the lake are, how to talk to the API,
/// and their own settings.
pub const WRITE_BACK: &[&Setting] = &[
    &CONFIG,
    &LAKE,
    &REGION,
    &BASE_URL,
    &ALLOW_HTTP,
    &API_KEY,
    &ORG_ID,
    &CLIENT_ID,
    &CLIENT_SECRET,
    &TOKEN_URL,
    &RATE_LIMIT_RPM,
    &MAX_IN_FLIGHT,
    &RETRY_MAX_ATTEMPTS,
    &LOCK_TTL_SECONDS,
    &WAIT_FOR_LOCK,
    &LOG_FORMAT,
    &S3_ENDPOINT,
    &S3_REGION,
    &S3_ALLOW_HTTP,
    &S3_VIRTUAL_HOSTED_STYLE,
    &MATCH_KEY,
    &MAX_CHANGES,
    &WRITE_CONCURRENCY,
];

/// What `verify` and `describe` read: where the lake is.
pub const LAKE_ONLY: &[&Setting] = &[&CONFIG, &LAKE];
