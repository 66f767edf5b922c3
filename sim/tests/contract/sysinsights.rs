//! System Insights (`GET /api/v2/systeminsights/<table>`, `shared/jumpcloud-api-extended.md`
//! §1): limit 10..10000, skip paging, sort, `eq`/`in`/`gte` filters, errors, reporting
//! systems only, and the typing quirks of §1.3 on the wire.

use super::*;

const SI: &str = "/api/v2/systeminsights";

/// Every row of a table over HTTP, paged with `limit` until a short page.
async fn si_all(c: &Client, h: &SimHandle, table: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for skip in (0..).step_by(limit) {
        let a = get(
            c,
            h,
            &format!("{SI}/{table}?{query}&limit={limit}&skip={skip}"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{table}: {}", a.body);
        let page = a.array().clone();
        let n = page.len();
        out.extend(page);
        if n < limit {
            break;
        }
    }
    out
}

fn system_ids(rows: &[Value]) -> Vec<String> {
    let mut ids = ids_of(rows, "system_id");
    ids.dedup();
    ids
}

/// The 400/404 contract of v2: `{"message", "error"}`.
fn v2_error(a: &Answer, status: StatusCode) -> String {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.body.get("error").is_some(), "v2 error shape: {}", a.body);
    a.message().to_string()
}

#[tokio::test]
async fn systeminsights_limits_default_page_and_total_header() {
    let h = small().await;
    let c = client();
    let apps = h.system_insights(0, "apps");
    assert!(apps.len() > 20, "{} apps rows", apps.len());

    let a = get(&c, &h, &format!("{SI}/apps")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(*a.array(), apps[..10].to_vec(), "default limit is 10");
    assert!(a.header("x-total-count").is_none(), "only patches sends it");

    let packages = h.system_insights(0, "linux_packages");
    assert!(packages.len() > 100 && packages.len() < 10_000);
    let a = get(&c, &h, &format!("{SI}/linux_packages?limit=10000")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(*a.array(), packages, "limit=10000 is one page");

    for bad in ["10001", "-1", "ten"] {
        let a = get(&c, &h, &format!("{SI}/apps?limit={bad}")).await;
        let m = v2_error(&a, StatusCode::BAD_REQUEST);
        assert!(m.starts_with("Bad Request"), "{m}");
        if bad == "10001" {
            assert_eq!(m, "Bad Request: limit must be between 0 and 10000");
        }
    }
    let a = get(&c, &h, &format!("{SI}/apps?skip=-3")).await;
    v2_error(&a, StatusCode::BAD_REQUEST);
    let a = get(&c, &h, &format!("{SI}/apps?limit=10&skip=100000")).await;
    assert_eq!(a.body, json!([]));

    // patches sends x-total-count: the total after filtering, on every page.
    let patches = h.system_insights(0, "patches");
    let a = get(&c, &h, &format!("{SI}/patches?limit=5&skip=5")).await;
    assert_eq!(header_num(&a, "x-total-count"), patches.len());
    assert_eq!(*a.array(), patches[5..10].to_vec());
    let sid = str_field(&patches[0], "system_id");
    let a = get(&c, &h, &format!("{SI}/patches?filter=system_id:eq:{sid}")).await;
    let mine = patches.iter().filter(|r| r["system_id"] == sid).count();
    assert_eq!(header_num(&a, "x-total-count"), mine);
}

#[tokio::test]
async fn systeminsights_skip_paging_yields_every_row_once() {
    let h = small().await;
    let c = client();
    for (table, limit) in [("users", 100), ("patches", 7), ("chrome_extensions", 50)] {
        let want = h.system_insights(0, table);
        assert!(!want.is_empty(), "{table}");
        let got = si_all(&c, &h, table, "", limit).await;
        assert_eq!(got, want, "{table}: paging gives every row once, in order");
    }
    // Natural order: systems in `_id` order, each system's rows together.
    let rows = h.system_insights(0, "users");
    let ids = system_ids(&rows);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "systems in _id order");
    for table in ["os_version", "system_info", "uptime"] {
        let rows = h.system_insights(0, table);
        assert_eq!(
            system_ids(&rows).len(),
            rows.len(),
            "{table}: one row per system"
        );
    }
}

#[tokio::test]
async fn systeminsights_sort_is_stable_and_descends_with_minus() {
    let h = small().await;
    let c = client();
    let all = h.system_insights(0, "programs");
    let got = si_all(&c, &h, "programs", "sort=-system_id,name", 1000).await;
    let mut want = all.clone();
    want.sort_by(|a, b| {
        str_field(b, "system_id")
            .cmp(str_field(a, "system_id"))
            .then_with(|| str_field(a, "name").cmp(str_field(b, "name")))
    });
    assert_eq!(got, want);
    assert!(system_ids(&got).windows(2).all(|w| w[0] > w[1]));

    // Stable: rows equal in the sort field keep their natural order.
    let got = si_all(&c, &h, "programs", "sort=publisher", 1000).await;
    let mut want = all.clone();
    want.sort_by(|a, b| str_field(a, "publisher").cmp(str_field(b, "publisher")));
    assert_eq!(got, want);

    // Numbers by value, descending.
    let got = si_all(&c, &h, "uptime", "sort=-days", 1000).await;
    let days: Vec<i64> = got
        .iter()
        .map(|r| r["days"].as_i64().unwrap_or(-1))
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
}

#[tokio::test]
async fn systeminsights_filters() {
    let h = small().await;
    let c = client();
    let all = h.system_insights(0, "apps");
    let ids = system_ids(&all);
    assert!(ids.len() >= 3);
    let (a, b) = (&ids[0], &ids[2]);

    let got = si_all(&c, &h, "apps", &format!("filter=system_id:eq:{a}"), 100).await;
    let want: Vec<Value> = all
        .iter()
        .filter(|r| r["system_id"] == **a)
        .cloned()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);

    let got = si_all(&c, &h, "apps", &format!("filter=system_id:in:{a}|{b}"), 100).await;
    let want: Vec<Value> = all
        .iter()
        .filter(|r| r["system_id"] == **a || r["system_id"] == **b)
        .cloned()
        .collect();
    assert_eq!(got, want);

    // Several filters are ANDed, sent repeated, indexed or comma-joined.
    let name = str_field(&want[0], "bundle_name").to_string();
    let both: Vec<Value> = want
        .iter()
        .filter(|r| r["bundle_name"] == name.as_str())
        .cloned()
        .collect();
    let enc = |s: &str| s.replace(' ', "%20");
    for q in [
        format!(
            "filter=system_id:in:{a}|{b}&filter=bundle_name:eq:{}",
            enc(&name)
        ),
        format!(
            "filter[0]=system_id:in:{a}|{b}&filter[1]=bundle_name:eq:{}",
            enc(&name)
        ),
        format!("filter=system_id:in:{a}|{b},bundle_name:eq:{}", enc(&name)),
    ] {
        let got = si_all(&c, &h, "apps", &q, 100).await;
        assert_eq!(got, both, "{q}");
    }

    // A field the rows lack matches nothing.
    let a_ = get(&c, &h, &format!("{SI}/apps?filter=no_such_field:eq:1")).await;
    assert_eq!(a_.body, json!([]));

    // uptime also takes gte (by value).
    let up = h.system_insights(0, "uptime");
    let got = si_all(&c, &h, "uptime", "filter=days:gte:10", 1000).await;
    let want: Vec<Value> = up
        .iter()
        .filter(|r| r["days"].as_i64().unwrap_or(0) >= 10)
        .cloned()
        .collect();
    assert!(!want.is_empty() && want.len() < up.len());
    assert_eq!(got, want);

    // Any other operator is a 400: gte outside uptime, ne, $eq, a filter without one.
    for q in [
        "filter=days:gte:1",
        "filter=system_id:ne:x",
        "filter=system_id:$eq:x",
        "filter=system_id",
        "filter[0]=name:lt:b",
    ] {
        let a_ = get(&c, &h, &format!("{SI}/apps?{q}")).await;
        let m = v2_error(&a_, StatusCode::BAD_REQUEST);
        assert!(m.starts_with("Bad Request"), "{q}: {m}");
    }
    // certificates filters only by system_id and common_name.
    let a_ = get(&c, &h, &format!("{SI}/certificates?filter=sha1:eq:x")).await;
    v2_error(&a_, StatusCode::BAD_REQUEST);
    let a_ = get(
        &c,
        &h,
        &format!("{SI}/certificates?filter=common_name:eq:ISRG%20Root%20X1"),
    )
    .await;
    assert_eq!(a_.status, StatusCode::OK);
}

#[tokio::test]
async fn systeminsights_unknown_table_other_methods_and_orgs() {
    let h = small().await;
    let c = client();
    for path in [
        format!("{SI}/no_such_table"),
        format!("{SI}/windows_crashes"),
        format!("{SI}/{}/apps", h.ids(0, "systems")[0]),
    ] {
        let a = get(&c, &h, &path).await;
        v2_error(&a, StatusCode::NOT_FOUND);
    }
    let a = send(
        c.post(format!("{}{SI}/apps", h.base_url()))
            .header("x-api-key", DEFAULT_API_KEY)
            .body("{}"),
    )
    .await;
    v2_error(&a, StatusCode::METHOD_NOT_ALLOWED);
    let a = send(c.get(format!("{}{SI}/apps", h.base_url()))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // A multi-tenant key reads the org its x-org-id names.
    let org1 = h.org_ids()[1].clone();
    let a = send(
        c.get(format!("{}{SI}/os_version?limit=10000", h.base_url()))
            .header("x-api-key", DEFAULT_MSP_KEY)
            .header("x-org-id", org1),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(*a.array(), h.system_insights(1, "os_version"));
    assert_ne!(
        h.system_insights(1, "os_version"),
        h.system_insights(0, "os_version")
    );
}

#[tokio::test]
async fn systeminsights_only_enabled_systems_report() {
    let h = small().await;
    let c = client();
    let systems = h.records(0, "systems");
    let state = |s: &Value| {
        s["systemInsights"]["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let quiet: Vec<String> = systems
        .iter()
        .filter(|s| state(s) != "enabled")
        .map(|s| str_field(s, "_id").to_string())
        .collect();
    let states: HashSet<String> = systems.iter().map(state).collect();
    assert_eq!(
        states.len(),
        3,
        "enabled, disabled and deferred: {states:?}"
    );
    let ids = quiet.join("|");
    for table in ["os_version", "users", "apps", "programs", "linux_packages"] {
        let a = get(
            &c,
            &h,
            &format!("{SI}/{table}?limit=10000&filter=system_id:in:{ids}"),
        )
        .await;
        assert_eq!(
            a.body,
            json!([]),
            "{table}: rows of a disabled or deferred system"
        );
    }
    // Every enabled system reports os_version.
    let enabled = systems.len() - quiet.len();
    let rows = si_all(&c, &h, "os_version", "", 10_000).await;
    assert_eq!(rows.len(), enabled);
}

#[tokio::test]
async fn systeminsights_quirks_on_the_wire() {
    let h = small().await;
    let c = client();
    let table = |t: &'static str| {
        let (c, h) = (&c, &h);
        async move { si_all(c, h, t, "", 10_000).await }
    };
    let is_ms_utc = |s: &str, t: char, z: char| {
        let b = s.as_bytes();
        s.len() == 24 && b[10] == t as u8 && b[19] == b'.' && b[23] == z as u8
    };

    // chrome_extensions: the whole row lower-case, the timestamp too.
    let ext = table("chrome_extensions").await;
    assert!(!ext.is_empty());
    for r in &ext {
        for v in r.as_object().expect("an object").values() {
            if let Some(s) = v.as_str() {
                assert_eq!(s, s.to_lowercase(), "{r}");
            }
        }
        assert!(r["uid"].is_string() && r["persistent"].is_i64(), "{r}");
    }
    assert!(ext
        .iter()
        .filter_map(|r| r["collection_time"].as_str())
        .all(|t| is_ms_utc(t, 't', 'z')));

    // Elsewhere UTC with ms and `Z`; about one row in fifty without collection_time.
    let users = table("users").await;
    let times: Vec<&str> = users
        .iter()
        .filter_map(|r| r["collection_time"].as_str())
        .collect();
    assert!(times.iter().all(|t| is_ms_utc(t, 'T', 'Z')), "{times:?}");
    let mut missing = users.len() - times.len();
    for t in ["apps", "programs", "patches"] {
        missing += table(t)
            .await
            .iter()
            .filter(|r| r.get("collection_time").is_none())
            .count();
    }
    assert!(missing > 0, "no row without collection_time");
    // Tables without collection_time never send it.
    assert!(table("linux_packages")
        .await
        .iter()
        .all(|r| r.get("collection_time").is_none()));

    // users: numbers as strings (some "" that do not parse), "-1" last logins, JSON booleans.
    for r in &users {
        for k in ["uid", "gid", "uid_signed", "gid_signed", "last_login"] {
            assert!(r[k].is_string(), "users.{k}: {r}");
        }
        for k in ["ad_managed", "admin", "managed", "real_user", "suspended"] {
            assert!(r[k].is_boolean(), "users.{k}: {r}");
        }
    }
    assert!(users.iter().any(|r| r["last_login"] == "-1"));
    assert!(users.iter().any(|r| r["uid"] == ""));

    // apps: last_opened_time mostly "1.55668896350383E9", some plain numbers; "1"/"0";
    // some systems list one bundle id twice, at two paths.
    let apps = table("apps").await;
    let sci = apps
        .iter()
        .filter(|r| {
            r["last_opened_time"]
                .as_str()
                .is_some_and(|s| s.contains('E'))
        })
        .count();
    let num = apps
        .iter()
        .filter(|r| r["last_opened_time"].is_number())
        .count();
    assert!(
        sci > apps.len() / 2 && num > 0,
        "{sci} scientific, {num} numbers"
    );
    assert!(apps
        .iter()
        .all(|r| matches!(r["applescript_enabled"].as_str(), Some("0" | "1"))));
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let repeated = apps
        .iter()
        .filter(|r| {
            let key = (
                str_field(r, "system_id").to_string(),
                str_field(r, "bundle_identifier").to_string(),
            );
            !seen.insert(key)
        })
        .count();
    assert!(repeated > 0, "no repeated bundle_identifier");

    // patches: some rows repeated identically; free-text dates.
    let patches = table("patches").await;
    assert!(
        patches.windows(2).any(|w| w[0] == w[1]),
        "no repeated patch"
    );
    assert!(patches
        .iter()
        .all(|r| str_field(r, "installed_on").split('/').count() == 3));

    // Numbers as strings, and one sometimes a number.
    let info = table("system_info").await;
    assert!(info
        .iter()
        .all(|r| r["physical_memory"].is_string() && r["cpu_logical_cores"].is_i64()));
    assert!(
        info.iter()
            .any(|r| str_field(r, "hardware_model").ends_with(' ')),
        "trailing spaces kept"
    );
    let up = table("uptime").await;
    assert!(up.iter().any(|r| r["total_seconds"].is_string()));
    assert!(up.iter().any(|r| r["total_seconds"].is_number()));
    let pk = table("linux_packages").await;
    assert!(pk
        .iter()
        .all(|r| r["size"].is_string() && r["install_time"].is_i64()));
    assert!(pk.iter().any(|r| r["size"] == "n/a"));
    let drives = table("logical_drives").await;
    assert!(drives
        .iter()
        .all(|r| r["size"].is_string() && r["free_space"].is_string()));
    assert!(table("programs").await.iter().any(|r| r["language"] == "0"));

    // bitlocker_info: some rows spell the drive id `devide_id`.
    let bl = table("bitlocker_info").await;
    assert!(bl
        .iter()
        .any(|r| r.get("devide_id").is_some() && r.get("device_id").is_none()));
    assert!(bl.iter().any(|r| r.get("device_id").is_some()));

    // Unset values are "", never null.
    for t in ["os_version", "disk_encryption", "certificates"] {
        for r in table(t).await {
            assert!(
                r.as_object()
                    .expect("an object")
                    .values()
                    .all(|v| !v.is_null()),
                "{t}: {r}"
            );
        }
    }
    assert!(table("os_version")
        .await
        .iter()
        .any(|r| r["install_date"] == ""));
}
