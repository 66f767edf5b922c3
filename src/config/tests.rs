//! Each concern of `resolve` on its own, the order of the layers, and the documents made
//! from the definitions.

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

fn layers(args: &[&str], file: &str, env: &[(&str, &str)]) -> Layers {
    let flags = Flags::<ExportSettings>::parse(args).expect("flags parse");
    let mut l = Layers::with(&flags, BTreeMap::new())
        .expect("layers")
        .file_text("test.toml", file)
        .expect("file parses");
    for (k, v) in env {
        l = l.env(k, v);
    }
    l
}

fn resolved(args: &[&str], file: &str, env: &[(&str, &str)]) -> Result<ExportConfig, String> {
    resolve(&layers(args, file, env), today()).map_err(|e| e.to_string())
}

const KEY: &[(&str, &str)] = &[("JUMPCLOUD_API_KEY", "k")];

#[test]
fn flags_win_over_env_over_file() {
    let file = "lake = \"/file-lake\"\napi_key = \"file-key\"\norg_id = \"file-org\"\ntables = [\"users\"]\nbase_url = \"https://file.example.com\"";
    let l = layers(
        &["--lake", "/flag-lake", "--tables", "systems,users"],
        file,
        &[
            ("JUMPCLOUD_API_KEY", "env-key"),
            ("JUMPCLOUD_ORG_ID", "env-org"),
        ],
    );
    let c = resolve(&l, today()).expect("config");
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
    // The file's key counts when the environment has none; a flag beats the environment.
    let c = resolved(
        &["--lake", "l", "--org-id", "flag-org"],
        file,
        &[("JUMPCLOUD_ORG_ID", "env-org")],
    )
    .expect("config");
    assert_eq!(c.org_id.as_deref(), Some("flag-org"));
    assert!(matches!(c.credentials, Credentials::ApiKey(_)));
}

#[test]
fn defaults_come_from_the_definitions() {
    let c = resolved(&["--lake", "l"], "", KEY).expect("config");
    assert_eq!(c.concurrency, 4);
    assert_eq!(c.memory_limit_mb, 128);
    assert_eq!(c.fanout_concurrency, 8);
    assert_eq!(c.pace.max_in_flight, 16);
    assert_eq!(c.pace.rate_limit_rpm, None);
    assert_eq!(c.retry.max_attempts, 10);
    assert_eq!(c.write.row_group_rows, 65_536);
    assert_eq!(c.write.file_rows, 1_000_000);
    assert_eq!(c.lock_ttl, Duration::from_secs(600));
    assert_eq!(c.wait_for_lock, None);
    assert_eq!(c.keep_snapshots, None);
    assert_eq!(c.events.services, ["all"]);
    assert_eq!(c.events.lookback, chrono::Duration::minutes(60));
    assert_eq!(c.events.page_size, 10_000);
    assert_eq!(c.events.since, None);
    assert_eq!(c.snapshot_date, today());
    assert_eq!(c.tables.len(), catalog::resources().count() - 46);
    assert_eq!(c.endpoints.base_url, "https://console.jumpcloud.com");
    assert_eq!(c.endpoints.insights_url, "https://api.jumpcloud.com");
    assert!(c.schema_policy.values().all(|p| *p == SchemaPolicy::Evolve));
}

#[test]
fn lake_and_s3() {
    let (loc, s3) = lake(&layers(
        &["--lake", "s3://bucket/pre/fix"],
        "[s3]\nendpoint = \"http://127.0.0.1:8333\"\nallow_http = true",
        &[],
    ))
    .expect("lake");
    assert_eq!(
        loc,
        LakeLocation::S3 {
            bucket: "bucket".into(),
            prefix: "pre/fix".into()
        }
    );
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
    assert!(s3.allow_http && !s3.virtual_hosted_style);
    assert!(matches!(
        lake(&layers(&[], "", &[])),
        Err(ConfigError::NoLake)
    ));
}

#[test]
fn endpoints_regions_and_url_rules() {
    let (e, custom) = endpoints(&layers(&["--region", "eu"], "", &[])).expect("eu");
    assert_eq!(e.base_url, "https://console.eu.jumpcloud.com");
    assert_eq!(e.insights_url, "https://api.eu.jumpcloud.com");
    assert!(!custom);
    let err = |url: &str| {
        endpoints(&layers(&["--base-url", url], "", &[]))
            .expect_err(url)
            .to_string()
    };
    assert!(err("http://example.com").contains("plain http is only allowed for loopback"));
    assert!(err("https://example.com/api").contains("scheme and host only"));
    assert!(err("https://user:pw@example.com").contains("credentials do not belong"));
    let (e, custom) =
        endpoints(&layers(&["--base-url", "http://127.0.0.1:8080"], "", &[])).expect("loopback");
    assert_eq!(e.insights_url, "http://127.0.0.1:8080");
    assert!(custom);
    assert!(endpoints(&layers(
        &["--base-url", "http://example.com", "--allow-http"],
        "",
        &[]
    ))
    .is_ok());
    assert_eq!(
        endpoints(&layers(&["--region", "mars"], "", &[]))
            .expect_err("region")
            .to_string(),
        "unknown region \"mars\": use us, eu or in"
    );
}

#[test]
fn credentials_api_key_or_service_account() {
    let c = |file: &str, env: &[(&str, &str)]| {
        let l = layers(&["--base-url", "http://127.0.0.1:9"], file, env);
        let (e, custom) = endpoints(&l).expect("endpoints");
        credentials(&l, &e, custom)
    };
    assert!(matches!(c("", &[]), Err(ConfigError::NoKey)));
    assert!(matches!(
        c("", &[("JUMPCLOUD_API_KEY", "  ")]),
        Err(ConfigError::NoKey)
    ));
    let sa = c(
        "",
        &[
            ("JUMPCLOUD_CLIENT_ID", "id"),
            ("JUMPCLOUD_CLIENT_SECRET", "s3cr3t"),
        ],
    )
    .expect("service account");
    match &sa {
        Credentials::ServiceAccount { token_url, .. } => {
            assert_eq!(token_url, "http://127.0.0.1:9/oauth2/token")
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{sa:?}").contains("s3cr3t"));
    assert_eq!(
        c("", &[("JUMPCLOUD_CLIENT_ID", "id")])
            .expect_err("half")
            .to_string(),
        "a service account needs both JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET"
    );
}

#[test]
fn orgs_from_the_file() {
    let l = layers(
        &[],
        "[[orgs]]\norg_id = \"aaa\"\n[[orgs]]\norg_id = \"bbb\"\napi_key_env = \"KEY_B\"",
        &[("KEY_B", "b-key")],
    );
    let o = orgs(&l).expect("orgs");
    assert_eq!(o.len(), 2);
    assert!(o[0].credentials.is_none() && o[1].credentials.is_some());
    let err = |file: &str| orgs(&layers(&[], file, &[])).expect_err(file).to_string();
    assert_eq!(
        err("[[orgs]]\norg_id = \"a\"\n[[orgs]]\norg_id = \"a\""),
        "orgs: org a is listed twice"
    );
    assert_eq!(
        err("[[orgs]]\norg_id = \"a/b\""),
        "orgs: org_id \"a/b\" is not an organization id"
    );
    assert_eq!(
        err("[[orgs]]\norg_id = \"a\"\napi_key_env = \"NOPE\""),
        "orgs: org a: the environment variable that api_key_env names is not set"
    );
}

#[test]
fn tables_and_schema_policies() {
    let (t, p) = tables(&layers(
        &["--tables", "users, events,users"],
        "[schema_policy]\ndefault = \"freeze\"\nusers = \"fail\"",
        &[],
    ))
    .expect("tables");
    assert_eq!(
        t.iter().map(|r| r.table).collect::<Vec<_>>(),
        ["users", "events"]
    );
    assert_eq!(p["users"], SchemaPolicy::Fail);
    assert_eq!(p["systems"], SchemaPolicy::Freeze);
    let e = tables(&layers(&["--tables", "users,nope"], "", &[]))
        .expect_err("bad table")
        .to_string();
    assert!(
        e.starts_with("unknown table \"nope\"; known tables: users, systems"),
        "{e}"
    );
    let e = tables(&layers(&[], "[schema_policy]\nusres = \"fail\"", &[]))
        .expect_err("bad policy table")
        .to_string();
    assert_eq!(e, "schema_policy names unknown table \"usres\"");
}

#[test]
fn events_settings() {
    let e = events(&layers(
        &["--events-since", "2026-09-01"],
        "events_services = [\"SSO\", \"directory\"]\nevents_lookback_minutes = 999999\nevents_page_size = 200",
        &[],
    ))
    .expect("events");
    assert_eq!(
        e.since.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-09-01T00:00:00+00:00")
    );
    assert_eq!(e.services, ["sso", "directory"]);
    assert_eq!(e.lookback, chrono::Duration::days(90));
    assert_eq!(e.page_size, 200);
    let err = |args: &[&str], file: &str| {
        events(&layers(args, file, &[]))
            .expect_err(file)
            .to_string()
    };
    assert_eq!(
        err(&["--events-since", "last week"], ""),
        "events_since \"last week\" is neither RFC 3339 nor YYYY-MM-DD"
    );
    assert!(err(&[], "events_services = [\"nope\"]").starts_with("unknown events service \"nope\""));
    assert_eq!(
        err(&[], "events_page_size = 10001"),
        "events_page_size in test.toml: must be at most 10000"
    );
}

#[test]
fn write_options_and_bad_numbers() {
    let w = write(&layers(&[], "row_group_rows = 100\nfile_rows = 25", &[])).expect("write");
    assert_eq!((w.row_group_rows, w.file_rows), (100, 25));
    assert_eq!(
        resolved(&["--lake", "l", "--concurrency", "0"], "", KEY).expect_err("zero"),
        "--concurrency: must be at least 1"
    );
    assert_eq!(
        resolved(&["--lake", "l", "--memory-limit-mb", "16"], "", KEY).expect_err("small"),
        "--memory-limit-mb: must be at least 32"
    );
    assert_eq!(
        resolved(&["--lake", "l"], "memory_limit_mb = 256", KEY)
            .expect("file")
            .memory_limit_mb,
        256
    );
    assert_eq!(
        resolved(&["--lake", "l", "--keep-snapshots", "many"], "", KEY).expect_err("text"),
        "--keep-snapshots: \"many\" is not a whole number"
    );
    assert_eq!(
        resolved(&["--lake", "l"], "file_rows = 0", KEY).expect_err("zero rows"),
        "file_rows in test.toml: must be at least 1"
    );
    let file_error = |text: &str| {
        Layers::default()
            .file_text("t.toml", text)
            .expect_err(text)
            .to_string()
    };
    assert_eq!(
        file_error("allow_http = \"yes\""),
        "config file t.toml: allow_http: \"yes\" is not true or false"
    );
    // A secret's value is never shown, nor is any value in `Debug`.
    assert_eq!(
        file_error("api_key = 123456789"),
        "config file t.toml: api_key: its value is not a string"
    );
    let l = layers(
        &["--lake", "l"],
        "api_key = \"file-s3cr3t\"",
        &[("JUMPCLOUD_CLIENT_SECRET", "env-s3cr3t")],
    );
    let shown = format!("{l:?}");
    assert!(
        !shown.contains("s3cr3t") && shown.contains("api_key"),
        "{shown}"
    );
    // Checked even where a flag would win.
    assert_eq!(
        file_error("lake = 3"),
        "config file t.toml: lake: 3 is not a string"
    );
    assert_eq!(
        resolved(
            &["--lake", "l"],
            "",
            &[("JUMPCLOUD_API_KEY", "k"), ("JUMPCLOUD_ORG_ID", "")]
        )
        .map(|c| c.org_id),
        Ok(None)
    );
    assert_eq!(
        file_error("tables = \"users\""),
        "config file t.toml: tables: \"users\" is not a list of names"
    );
    assert_eq!(
        resolved(
            &["--lake", "l", "--concurrency", "2"],
            "",
            &[("JUMPCLOUD_API_KEY", "k")]
        )
        .map(|c| c.concurrency),
        Ok(2)
    );
}

#[test]
fn old_flag_names_still_work_with_a_warning() {
    let flags = Flags::<ExportSettings>::parse(["--since", "2026-01-02", "--rate-limit", "90"])
        .expect("old names parse");
    let l = Layers::with(&flags, BTreeMap::new()).expect("layers");
    assert_eq!(
        l.warnings(),
        [
            "--rate-limit is now --rate-limit-rpm; the old name still works for now",
            "--since is now --events-since; the old name still works for now",
        ]
    );
    let c = resolve(
        &l.env("JUMPCLOUD_API_KEY", "k")
            .file_text("t", "lake = \"l\"")
            .expect("file"),
        today(),
    )
    .expect("config");
    assert_eq!(c.pace.rate_limit_rpm, Some(90));
    assert!(c.events.since.is_some());
}

#[test]
fn unknown_file_keys_and_secrets_on_the_command_line_are_refused() {
    let e = Layers::default()
        .file_text("t.toml", "lakes = 1")
        .expect_err("unknown key")
        .to_string();
    assert!(
        e.starts_with("config file t.toml: unknown setting \"lakes\"; known settings: lake, "),
        "{e}"
    );
    let e = Layers::default()
        .file_text("t.toml", "[s3]\nbucket = \"b\"")
        .expect_err("unknown s3 key")
        .to_string();
    assert_eq!(e, "config file t.toml: unknown setting \"bucket\" in [s3]");
    // Keys have no flag: a process list must not show them.
    assert!(Flags::<ExportSettings>::parse(["--api-key", "k"]).is_err());
    assert!(Flags::<ExportSettings>::parse(["--client-secret", "k"]).is_err());
    // A flag-only setting is no file key.
    assert!(Layers::default().file_text("t", "config = \"x\"").is_err());
}

#[test]
fn every_setting_is_well_defined() {
    for s in defs::ALL {
        assert!(!s.doc.is_empty(), "{}", s.key);
        if let defs::DefaultValue::Value(v) = s.default {
            let table: toml::Table =
                toml::from_str(&format!("v = {v}")).unwrap_or_else(|e| panic!("{}: {e}", s.key));
            assert!(table.contains_key("v"));
        }
        if s.kind != defs::Kind::Bool && s.flag().is_some() {
            assert!(!s.value_name.is_empty(), "{} needs a value name", s.key);
        }
        let twice = defs::ALL.iter().filter(|o| o.key == s.key).count();
        assert_eq!(twice, 1, "{} defined {twice} times", s.key);
    }
}

/// README's settings table and example.toml are what `jclake settings` prints.
#[test]
fn readme_and_example_toml_match_the_definitions() {
    let readme = include_str!("../../README.md");
    let table = markdown_tables();
    let (begin, end) = ("<!-- settings: begin -->\n", "<!-- settings: end -->");
    let start = readme.find(begin).expect("README has the settings markers") + begin.len();
    let stop = readme[start..].find(end).expect("end marker") + start;
    assert!(
        readme[start..stop] == table,
        "README's settings table is out of date; replace it with `jclake settings --format markdown`:\n{table}"
    );
    let example = include_str!("../../example.toml");
    assert!(
        example.trim_end() == example_toml().trim_end(),
        "example.toml is out of date; regenerate it with `jclake settings --format toml > example.toml`"
    );
    // And it is a valid settings file.
    let l = layers(&["--lake", "./demo-lake"], example, KEY);
    let c = resolve(&l, today()).expect("example.toml resolves");
    assert_eq!(c.tables.len(), catalog::resources().count() - 46);
}

#[test]
fn system_insights_tables_pick_the_inventory_a_run_exports() {
    let insights = |file: &str| -> Vec<String> {
        let (t, _) = tables(&layers(&[], file, &[])).expect(file);
        t.iter()
            .filter_map(|r| r.table.strip_prefix("system_insights_"))
            .map(str::to_string)
            .collect()
    };
    let mut defaults: Vec<&str> = catalog::DEFAULT_INSIGHTS.to_vec();
    defaults.sort();
    assert_eq!(insights(""), defaults, "catalog (alphabetical) order");
    assert_eq!(
        insights("system_insights_tables = []"),
        Vec::<String>::new()
    );
    assert_eq!(
        insights("system_insights_tables = [\"battery\", \"system_insights_apps\", \"battery\"]"),
        ["apps", "battery"],
        "names with or without the prefix, each once, in catalog order"
    );
    assert_eq!(insights("system_insights_tables = [\"all\"]").len(), 60);
    // Every other table is exported either way.
    let (t, _) = tables(&layers(&[], "system_insights_tables = []", &[])).expect("none");
    assert_eq!(t.len(), 42);
    let e = tables(&layers(&[], "system_insights_tables = [\"baterry\"]", &[]))
        .expect_err("unknown")
        .to_string();
    assert!(
        e.starts_with("unknown System Insights table \"baterry\"; known tables: alf, "),
        "{e}"
    );
    // Named tables win over the setting.
    let (t, _) = tables(&layers(
        &["--tables", "system_insights_battery"],
        "system_insights_tables = []",
        &[],
    ))
    .expect("named");
    assert_eq!(t.len(), 1);
}
