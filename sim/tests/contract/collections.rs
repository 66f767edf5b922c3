//! The further read routes (`shared/jumpcloud-api-extended.md` §3): administrators, command
//! results (the list cut to 40 characters, the single record in full), policy results and
//! statuses, authn policies and IP lists (`x-total-count`), software apps and statuses, the
//! Apple MDM (default `limit` 1) and its devices, push endpoints (no paging), the counted
//! `fdekey`, `/groups`, and the `new_results` mutation.

use std::collections::HashMap;

use jclake_sim::id_of;

use super::*;

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("expected an object, got {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted(mut k: Vec<&str>) -> Vec<&str> {
    k.sort_unstable();
    k
}

/// Every element of a v1 list, paged with `limit=100`.
async fn v1_all(c: &Client, h: &SimHandle, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    for skip in (0..).step_by(100) {
        let a = get(c, h, &format!("{path}{sep}limit=100&skip={skip}")).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        let total = a.body["totalCount"].as_u64().expect("totalCount") as usize;
        let page = a.body["results"].as_array().expect("results").clone();
        let n = page.len();
        out.extend(page);
        if n < 100 {
            assert_eq!(out.len(), total, "{path}: totalCount");
            break;
        }
    }
    out
}

/// `GET` with the MSP key for org `org`.
async fn get_org(c: &Client, h: &SimHandle, org: usize, path: &str) -> Answer {
    send(
        c.get(format!("{}{path}", h.base_url()))
            .header("x-api-key", DEFAULT_MSP_KEY)
            .header("x-org-id", h.org_ids()[org].as_str())
            .header("accept", "application/json"),
    )
    .await
}

fn ts_field(v: &Value, k: &str) -> DateTime<Utc> {
    let s = str_field(v, k);
    assert_eq!(s.len(), 24, "{k} {s:?} is YYYY-MM-DDTHH:MM:SS.mmmZ");
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|_| panic!("{k} {s:?} is not RFC 3339"))
        .with_timezone(&Utc)
}

#[tokio::test]
async fn administrators_v1_envelope() {
    let h = small().await;
    let c = client();
    let a = get(&c, &h, "/api/users").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(keys(&a.body), ["results", "totalCount"]);
    assert_eq!(a.body["totalCount"], 4, "4 + org_no admins");
    let admins = a.body["results"].as_array().expect("results").clone();
    assert_eq!(admins, h.records(0, "users"));
    assert!(ids_of(&admins, "_id").windows(2).all(|w| w[0] < w[1]));
    for u in &admins {
        for k in [
            "_id",
            "email",
            "firstname",
            "lastname",
            "roleName",
            "enableMultiFactor",
            "totpEnrolled",
            "created",
            "suspended",
        ] {
            assert!(u.get(k).is_some(), "admin lacks {k}: {u}");
        }
        assert!(u.get("organization").is_none(), "organization is unset");
        assert_eq!(
            u.get("totpUpdatedAt").is_some(),
            u["totpEnrolled"] == json!(true),
            "{u}"
        );
        ts_field(u, "created");
    }
    let with_mfa =
        |u: &&Value| u["enableMultiFactor"] == json!(true) && u["totpEnrolled"] == json!(true);
    assert!(admins.iter().any(|u| !with_mfa(&u)), "some admins lack MFA");
    assert!(admins.iter().any(|u| with_mfa(&u)));

    // Paging, projection (space-separated), sort; a filter is ignored.
    let a = get(&c, &h, "/api/users?limit=2&skip=2").await;
    assert_eq!(a.body["totalCount"], 4);
    assert_eq!(a.body["results"], json!(admins[2..4]));
    let a = get(&c, &h, "/api/users?fields=email%20roleName").await;
    for u in a.body["results"].as_array().expect("results") {
        assert_eq!(keys(u), ["_id", "email", "roleName"]);
    }
    let a = get(&c, &h, "/api/users?sort=-created").await;
    let created: Vec<&str> = a.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| str_field(u, "created"))
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
    let a = get(&c, &h, "/api/users?filter=roleName:$eq:nobody").await;
    assert_eq!(a.body["totalCount"], 4);
    let a = get(&c, &h, "/api/users?limit=101").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("exceeds maximum value of 100"));

    // Org 1 (MSP key) has its own five.
    let a = get_org(&c, &h, 1, "/api/users").await;
    assert_eq!(a.body["totalCount"], 5);
    assert_eq!(a.body["results"], json!(h.records(1, "users")));
    // `/api/users` does not shadow `/api/systemusers`, nor v2 `/users/{id}/...`.
    assert_eq!(
        get(&c, &h, "/api/systemusers").await.body["totalCount"],
        USERS
    );
}

#[tokio::test]
async fn command_results_list_truncates_single_is_full() {
    let h = small().await;
    let c = client();
    let full = h.records(0, "commandresults");
    assert!(full.len() >= 10, "{} command results", full.len());
    let list = v1_all(&c, &h, "/api/commandresults").await;
    assert_eq!(ids_of(&list, "_id"), ids_of(&full, "_id"));
    let systems: HashMap<String, Value> = h
        .records(0, "systems")
        .into_iter()
        .map(|s| (id_of(&s).to_string(), s))
        .collect();
    let commands = h.ids(0, "commands");
    let mut cut = 0;
    for (l, f) in list.iter().zip(&full) {
        assert_eq!(
            keys(l),
            sorted(vec![
                "_id",
                "name",
                "command",
                "exitCode",
                "requestTime",
                "responseTime",
                "response",
                "sudo",
                "system",
                "systemId",
                "user",
                "workflowId"
            ])
        );
        assert_eq!(keys(&l["response"]), ["data", "error"]);
        assert_eq!(keys(&l["response"]["data"]), ["exitCode", "output"]);
        for (lv, fv) in [
            (
                &l["response"]["data"]["output"],
                &f["response"]["data"]["output"],
            ),
            (&l["response"]["error"], &f["response"]["error"]),
        ] {
            let (ls, fs) = (lv.as_str().expect("text"), fv.as_str().expect("text"));
            assert!(ls.chars().count() <= 40, "{ls:?}");
            assert_eq!(ls, fs.chars().take(40).collect::<String>());
            if fs.chars().count() > 40 {
                cut += 1;
            }
        }
        // The full record has what the list leaves out.
        for k in ["organization", "files", "workflowInstanceId"] {
            assert!(f.get(k).is_some(), "full record lacks {k}");
        }
        assert!(f["response"]["id"].is_string());
        assert_eq!(f["organization"], json!(h.org_ids()[0]));
        let sys = &systems[str_field(f, "systemId")];
        assert_eq!(f["system"], sys["displayName"]);
        assert!(commands.contains(&str_field(f, "workflowId").to_string()));
        assert_eq!(f["exitCode"], f["response"]["data"]["exitCode"]);
        let (req, resp) = (ts_field(f, "requestTime"), ts_field(f, "responseTime"));
        assert!(req <= resp && resp <= Utc::now(), "{f}");
        assert!(req >= Utc::now() - chrono::Duration::days(8));
    }
    assert!(cut > 5, "only {cut} texts were longer than 40 characters");
    assert!(
        full.iter()
            .any(|f| str_field(&f["response"]["data"], "output").contains('\n')),
        "multi-line output"
    );

    // The single record is the full one.
    for f in full.iter().step_by(7) {
        let a = get(
            &c,
            &h,
            &format!("/api/commandresults/{}", str_field(f, "_id")),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(&a.body, f);
    }
    let a = get(&c, &h, "/api/commandresults/000000000000000000000000").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();

    // Only fields, limit, skip and sort: a filter changes nothing.
    let a = get(&c, &h, "/api/commandresults?filter=exitCode:$eq:1").await;
    assert_eq!(a.body["totalCount"], full.len());
    let a = get(&c, &h, "/api/commandresults?limit=100&sort=-requestTime").await;
    let times: Vec<&str> = a.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| str_field(r, "requestTime"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    let a = get(&c, &h, "/api/commandresults?fields=name%20exitCode&limit=3").await;
    for r in a.body["results"].as_array().expect("results") {
        assert_eq!(keys(r), ["_id", "exitCode", "name"]);
    }
}

/// The latest result per system of one policy, from the history.
fn latest_per_system(history: &[Value], policy: &str) -> Vec<Value> {
    let mut latest: HashMap<&str, &Value> = HashMap::new();
    for r in history.iter().filter(|r| r["policyID"] == json!(policy)) {
        let s = str_field(r, "systemID");
        let newer = latest.get(s).is_none_or(|o| {
            (str_field(r, "startedAt"), str_field(r, "id"))
                > (str_field(o, "startedAt"), str_field(o, "id"))
        });
        if newer {
            latest.insert(s, r);
        }
    }
    let mut out: Vec<Value> = latest.into_values().cloned().collect();
    out.sort_by(|a, b| str_field(a, "id").cmp(str_field(b, "id")));
    out
}

#[tokio::test]
async fn policy_results_history_filters_and_statuses() {
    let h = small().await;
    let c = client();
    let history = v2_all(&c, &h, "/api/v2/policyresults").await;
    assert_eq!(history, h.records(0, "policyresults"));
    assert!(history.len() > 100, "{} results", history.len());
    let mut per_pair: HashMap<(String, String), usize> = HashMap::new();
    for r in &history {
        assert_eq!(
            keys(r),
            sorted(vec![
                "id",
                "policyID",
                "systemID",
                "startedAt",
                "endedAt",
                "success",
                "state",
                "exitStatus",
                "stdOut",
                "stdErr",
                "detail"
            ])
        );
        assert!(ts_field(r, "startedAt") <= ts_field(r, "endedAt"));
        assert_eq!(r["success"] == json!(true), r["state"] == json!("success"));
        // Every result is of a system the policy reaches (system groups, or directly).
        let (p, s) = (str_field(r, "policyID"), str_field(r, "systemID"));
        let reached = h
            .associations(0, "policy", p, "system")
            .contains(&s.to_string())
            || h.associations(0, "policy", p, "system_group")
                .iter()
                .any(|g| {
                    h.members(0, g)
                        .contains(&("system".to_string(), s.to_string()))
                });
        assert!(reached, "policy {p} does not reach system {s}");
        *per_pair.entry((p.into(), s.into())).or_default() += 1;
    }
    assert!(
        per_pair.values().any(|&n| n > 1),
        "several results per pair"
    );

    // Filters on startedAt split the history; `ge`/`gte` and `le`/`lte` agree.
    let mut starts: Vec<&str> = history.iter().map(|r| str_field(r, "startedAt")).collect();
    starts.sort_unstable();
    let mid = starts[starts.len() / 2];
    let after = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:gt:{mid}"),
    )
    .await;
    let upto = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:le:{mid}"),
    )
    .await;
    assert_eq!(after.len() + upto.len(), history.len());
    assert!(after.iter().all(|r| str_field(r, "startedAt") > mid));
    assert!(!after.is_empty() && !upto.is_empty());
    let from = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:gte:{mid}"),
    )
    .await;
    let from2 = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:ge:{mid}"),
    )
    .await;
    let before = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:lt:{mid}"),
    )
    .await;
    assert_eq!(from, from2);
    assert_eq!(from.len() + before.len(), history.len());
    let last_end = history
        .iter()
        .map(|r| str_field(r, "endedAt"))
        .max()
        .expect("one");
    let none = get(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=endedAt:gt:{last_end}"),
    )
    .await;
    assert_eq!(none.array().len(), 0);
    // Sort, fields, single result.
    let a = get(&c, &h, "/api/v2/policyresults?sort=-startedAt&limit=50").await;
    let s: Vec<&str> = a
        .array()
        .iter()
        .map(|r| str_field(r, "startedAt"))
        .collect();
    assert!(s.windows(2).all(|w| w[0] >= w[1]));
    let a = get(
        &c,
        &h,
        "/api/v2/policyresults?fields=state,systemID&limit=5",
    )
    .await;
    for r in a.array() {
        assert_eq!(keys(r), ["id", "state", "systemID"]);
    }
    let one = &history[history.len() / 3];
    let a = get(
        &c,
        &h,
        &format!("/api/v2/policyresults/{}", str_field(one, "id")),
    )
    .await;
    assert_eq!(&a.body, one);

    // Statuses: the latest result per system of that policy, paged.
    let mut with_status = 0;
    for p in h.ids(0, "policies") {
        let want = latest_per_system(&history, &p);
        assert_eq!(h.policy_statuses(0, &p), want);
        let mut got = Vec::new();
        for skip in (0..).step_by(7) {
            let a = get(
                &c,
                &h,
                &format!("/api/v2/policies/{p}/policystatuses?limit=7&skip={skip}"),
            )
            .await;
            assert_eq!(a.status, StatusCode::OK);
            let n = a.array().len();
            got.extend(a.array().iter().cloned());
            if n < 7 {
                break;
            }
        }
        assert_eq!(got, want, "policy {p}");
        with_status += usize::from(!want.is_empty());
        let own = v2_all(&c, &h, &format!("/api/v2/policies/{p}/policyresults")).await;
        assert!(own.iter().all(|r| r["policyID"] == json!(p)));
    }
    assert!(with_status > 5);
    let a = get(
        &c,
        &h,
        "/api/v2/policies/000000000000000000000000/policystatuses",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // There is no org-wide list of statuses.
    let a = get(&c, &h, "/api/v2/policystatuses").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();
    // Per system: the latest of each policy.
    let sid = str_field(&history[0], "systemID");
    let a = v2_all(&c, &h, &format!("/api/v2/systems/{sid}/policystatuses")).await;
    assert!(!a.is_empty());
    assert!(a.iter().all(|r| r["systemID"] == json!(sid)));
}

#[tokio::test]
async fn authn_policies_and_ip_lists() {
    let h = small().await;
    let c = client();
    let a = get(&c, &h, "/api/v2/iplists").await;
    assert_eq!(a.status, StatusCode::OK);
    let lists = a.array().clone();
    assert_eq!(lists, h.records(0, "iplists"));
    assert_eq!(header_num(&a, "x-total-count"), lists.len());
    assert!(lists.len() >= 2);
    for l in &lists {
        assert_eq!(keys(l), ["description", "id", "ips", "name"]);
    }
    let ips: Vec<&str> = lists
        .iter()
        .flat_map(|l| l["ips"].as_array().expect("ips"))
        .map(|v| v.as_str().expect("ip"))
        .collect();
    assert!(ips.iter().any(|i| i.contains('/')), "a CIDR");
    assert!(ips.iter().any(|i| i.contains('-')), "a range");
    assert!(
        ips.iter().any(|i| !i.contains('/') && !i.contains('-')),
        "an IP"
    );
    let list_ids = ids_of(&lists, "id");
    let a = get(&c, &h, &format!("/api/v2/iplists/{}", list_ids[0])).await;
    assert_eq!(a.body, lists[0]);

    let a = get(&c, &h, "/api/v2/authn/policies?limit=1&skip=1").await;
    assert_eq!(a.array().len(), 1);
    let total = header_num(&a, "x-total-count");
    let policies = v2_all(&c, &h, "/api/v2/authn/policies").await;
    assert_eq!(policies, h.records(0, "authn/policies"));
    assert_eq!(total, policies.len());
    assert_eq!(a.array()[0], policies[1]);
    let groups = h.ids(0, "usergroups");
    let apps = h.ids(0, "applications");
    let mut types = Vec::new();
    let mut referenced_lists = Vec::new();
    for p in &policies {
        for k in [
            "id",
            "name",
            "description",
            "disabled",
            "type",
            "effect",
            "targets",
            "conditions",
        ] {
            assert!(p.get(k).is_some(), "authn policy lacks {k}: {p}");
        }
        types.push(str_field(p, "type").to_string());
        assert!(["allow", "deny"].contains(&str_field(&p["effect"], "action")));
        let g = &p["targets"]["userGroups"];
        for id in ["inclusions", "exclusions"]
            .iter()
            .filter_map(|k| g.get(*k).and_then(Value::as_array))
            .flatten()
        {
            assert!(groups.contains(&id.as_str().expect("id").to_string()));
        }
        for r in p["targets"]["resources"].as_array().expect("resources") {
            if let Some(id) = r.get("id") {
                assert_eq!(r["type"], "application");
                assert!(apps.contains(&id.as_str().expect("id").to_string()));
            }
        }
        // IP list ids anywhere in the conditions.
        let text = p["conditions"].to_string();
        referenced_lists.extend(
            list_ids
                .iter()
                .filter(|id| text.contains(id.as_str()))
                .cloned(),
        );
    }
    types.sort();
    types.dedup();
    assert_eq!(types, ["application", "ldap", "user_portal"]);
    assert!(!referenced_lists.is_empty(), "conditions name IP lists");
    let ldap = policies.iter().find(|p| p["type"] == "ldap").expect("ldap");
    assert_eq!(
        ldap["targets"]["userAttributes"]["inclusions"][0]["field"],
        "ldap_binding_user"
    );
    let a = get(
        &c,
        &h,
        &format!("/api/v2/authn/policies/{}", str_field(&policies[0], "id")),
    )
    .await;
    assert_eq!(a.body, policies[0]);
}

#[tokio::test]
async fn software_apps_and_statuses() {
    let h = small().await;
    let c = client();
    let apps = v2_all(&c, &h, "/api/v2/softwareapps").await;
    assert_eq!(apps, h.records(0, "softwareapps"));
    assert!(apps.len() >= 3);
    let systems = h.ids(0, "systems");
    let mut statuses_seen = 0;
    for app in &apps {
        assert_eq!(
            keys(app),
            ["createdAt", "displayName", "id", "settings", "updatedAt"]
        );
        let s = &app["settings"][0];
        for k in [
            "packageId",
            "packageManager",
            "packageKind",
            "packageVersion",
            "desiredState",
            "autoUpdate",
            "location",
        ] {
            assert!(s.get(k).is_some(), "setting lacks {k}: {s}");
        }
        // The list leaves the VPP configuration out; the single app has it.
        let id = str_field(app, "id");
        let one = get(&c, &h, &format!("/api/v2/softwareapps/{id}")).await;
        assert_eq!(one.status, StatusCode::OK);
        if let Some(vpp) = s.get("appleVpp") {
            assert!(vpp.get("isConfigEnabled").is_none());
            assert!(one.body["settings"][0]["appleVpp"]["isConfigEnabled"].is_boolean());
            assert!(one.body["settings"][0]["appleVpp"]["appConfiguration"].is_string());
        } else {
            assert_eq!(&one.body, app);
        }
        let want = h.software_app_statuses(0, id);
        let got = v2_all(&c, &h, &format!("/api/v2/softwareapps/{id}/statuses")).await;
        assert_eq!(got, want);
        let two = get(
            &c,
            &h,
            &format!("/api/v2/softwareapps/{id}/statuses?limit=2&skip=1"),
        )
        .await;
        assert_eq!(
            two.array().as_slice(),
            &want[1.min(want.len())..want.len().min(3)]
        );
        for st in &got {
            assert_eq!(
                keys(st),
                [
                    "code",
                    "details",
                    "id",
                    "softwareAppId",
                    "state",
                    "systemId",
                    "timestamp",
                    "version"
                ]
            );
            assert_eq!(st["softwareAppId"], json!(id));
            assert!(systems.contains(&str_field(st, "systemId").to_string()));
        }
        statuses_seen += got.len();
    }
    assert!(statuses_seen > 10);
    assert!(apps
        .iter()
        .any(|a| a["settings"][0].get("appleVpp").is_some()));
    let a = get(
        &c,
        &h,
        "/api/v2/softwareapps/000000000000000000000000/statuses",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn apple_mdm_default_limit_one_and_devices() {
    let h = small().await;
    let c = client();
    // The quirk: one item without a limit; one MDM per org anyway.
    let a = get(&c, &h, "/api/v2/applemdms").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.array().len(), 1);
    let a100 = get(&c, &h, "/api/v2/applemdms?limit=100").await;
    assert_eq!(a100.array(), a.array());
    assert_eq!(a.body, json!(h.records(0, "applemdms")));
    let mdm = a.array()[0].clone();
    assert_eq!(mdm["organization"], json!(h.org_ids()[0]));
    assert_eq!(
        get(&c, &h, "/api/v2/applemdms?limit=101").await.status,
        StatusCode::BAD_REQUEST
    );
    let mdm_id = str_field(&mdm, "id").to_string();

    let want = h.apple_mdm_devices(0, &mdm_id);
    assert!(want.len() >= 3, "{} devices", want.len());
    let first = get(&c, &h, &format!("/api/v2/applemdms/{mdm_id}/devices")).await;
    assert_eq!(first.array().len(), 10.min(want.len()), "default limit 10");
    assert_eq!(header_num(&first, "x-total-count"), want.len());
    let mut got = Vec::new();
    for skip in (0..).step_by(4) {
        let a = get(
            &c,
            &h,
            &format!("/api/v2/applemdms/{mdm_id}/devices?limit=4&skip={skip}"),
        )
        .await;
        assert_eq!(header_num(&a, "x-total-count"), want.len());
        let n = a.array().len();
        got.extend(a.array().iter().cloned());
        if n < 4 {
            break;
        }
    }
    assert_eq!(got, want);
    let serials: Vec<String> = h
        .records(0, "systems")
        .iter()
        .filter(|s| s["osFamily"] == "darwin")
        .map(|s| str_field(s, "serialNumber").to_string())
        .collect();
    let mut macs = 0;
    for d in &want {
        for k in [
            "id",
            "udid",
            "serialNumber",
            "osVersion",
            "enrolled",
            "depRegistered",
            "createdAt",
            "mdmOsFamily",
            "modelFamily",
            "hasActivationLockBypassCodes",
            "deviceInformation",
            "securityInfo",
        ] {
            assert!(d.get(k).is_some(), "device lacks {k}: {d}");
        }
        for k in [
            "deviceName",
            "modelName",
            "osBuildVersion",
            "isAppleSilicon",
            "deviceCapacity",
            "wifiMac",
        ] {
            assert!(
                d["deviceInformation"].get(k).is_some(),
                "deviceInformation lacks {k}"
            );
        }
        for k in [
            "enrolledViaDep",
            "filevaultEnabled",
            "passcodePresent",
            "isUserEnrollment",
        ] {
            assert!(d["securityInfo"].get(k).is_some(), "securityInfo lacks {k}");
        }
        if d["mdmOsFamily"] == "macOS" {
            macs += 1;
            assert!(serials.contains(&str_field(d, "serialNumber").to_string()));
        }
    }
    assert!(
        macs >= 2 && macs < want.len(),
        "macs and mobiles: {macs} of {}",
        want.len()
    );
    let a = get(
        &c,
        &h,
        &format!("/api/v2/applemdms/{mdm_id}/devices?filter=mdmOsFamily:eq:macOS&limit=100"),
    )
    .await;
    assert_eq!(a.array().len(), macs);
    assert_eq!(header_num(&a, "x-total-count"), macs);
    let a = get(&c, &h, "/api/v2/applemdms/000000000000000000000000/devices").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn push_endpoints_take_no_paging() {
    let h = small().await;
    let c = client();
    let users = h.ids(0, "systemusers");
    let counts: Vec<usize> = users.iter().map(|u| h.push_endpoints(0, u).len()).collect();
    assert!(
        counts.iter().filter(|&&n| n == 0).count() > users.len() / 2,
        "most have none"
    );
    let two = users[counts
        .iter()
        .position(|&n| n == 2)
        .expect("a user with two")]
    .clone();
    let none = users[counts
        .iter()
        .position(|&n| n == 0)
        .expect("a user with none")]
    .clone();
    let want = h.push_endpoints(0, &two);
    for q in ["", "?limit=1", "?limit=1&skip=1", "?skip=5", "?limit=1000"] {
        let a = get(&c, &h, &format!("/api/v2/users/{two}/pushendpoints{q}")).await;
        assert_eq!(a.status, StatusCode::OK, "{q}");
        assert_eq!(
            a.array(),
            &want,
            "{q}: every endpoint, whatever the parameters"
        );
    }
    for e in &want {
        for k in ["id", "name", "state", "enrollmentDate", "device"] {
            assert!(e.get(k).is_some(), "endpoint lacks {k}: {e}");
        }
        assert!(["active", "inactive"].contains(&str_field(e, "state")));
        assert_eq!(
            keys(&e["device"]),
            [
                "appVersion",
                "make",
                "model",
                "os",
                "osVersion",
                "uvEnabled"
            ]
        );
    }
    let a = get(&c, &h, &format!("/api/v2/users/{none}/pushendpoints")).await;
    assert_eq!(a.body, json!([]));
    let a = get(
        &c,
        &h,
        "/api/v2/users/000000000000000000000000/pushendpoints",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();
}

#[tokio::test]
async fn fdekey_requests_are_counted() {
    let h = small().await;
    let c = client();
    assert_eq!(h.stats().fdekey_requests, 0);
    let systems = h.records(0, "systems");
    let keyed = systems
        .iter()
        .find(|s| s["fde"]["active"] == json!(true) && s["fde"]["keyPresent"] == json!(true))
        .expect("a system with a key");
    let a = get(&c, &h, &format!("/api/v2/systems/{}/fdekey", id_of(keyed))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(keys(&a.body), ["key"]);
    assert!(!str_field(&a.body, "key").is_empty());
    let a = get(&c, &h, "/api/v2/systems/000000000000000000000000/fdekey").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.stats().fdekey_requests,
        2,
        "every request counts, found or not"
    );
    // Other routes do not count.
    get(
        &c,
        &h,
        &format!("/api/v2/systems/{}/policystatuses", id_of(keyed)),
    )
    .await;
    assert_eq!(h.stats().fdekey_requests, 2);
}

#[tokio::test]
async fn groups_of_every_kind() {
    let h = small().await;
    let c = client();
    let a = get(&c, &h, "/api/v2/groups?limit=5").await;
    let n = h.ids(0, "usergroups").len() + h.ids(0, "systemgroups").len();
    assert_eq!(header_num(&a, "x-total-count"), n);
    let all = v2_all(&c, &h, "/api/v2/groups").await;
    assert_eq!(all.len(), n);
    assert!(ids_of(&all, "id").windows(2).all(|w| w[0] < w[1]));
    for g in &all {
        for k in ["id", "name", "type", "description", "email", "attributes"] {
            assert!(g.get(k).is_some(), "group lacks {k}: {g}");
        }
    }
    let sys = v2_all(&c, &h, "/api/v2/groups?filter=type:eq:system_group").await;
    assert_eq!(ids_of(&sys, "id").len(), h.ids(0, "systemgroups").len());
}

#[tokio::test]
async fn new_results_mutation_appends_later_results() {
    let h = small().await;
    let c = client();
    let policy_before = h.records(0, "policyresults");
    let command_before = h.records(0, "commandresults");
    let last_started = policy_before
        .iter()
        .map(|r| str_field(r, "startedAt").to_string())
        .max()
        .expect("results");
    let last_request = command_before
        .iter()
        .map(|r| str_field(r, "requestTime").to_string())
        .max()
        .expect("results");
    let users_before = h.records(0, "systemusers");
    let events_before = h.event_ids(0);

    let report = h.mutate(
        0,
        &Mutation {
            new_results: 6,
            ..Default::default()
        },
    );
    assert_eq!(
        (report.new_policy_results, report.new_command_results),
        (6, 6)
    );
    let now = Utc::now();
    // Nothing else changed.
    assert_eq!(h.records(0, "systemusers"), users_before);
    assert_eq!(h.event_ids(0), events_before);

    let policy_after = h.records(0, "policyresults");
    assert_eq!(policy_after.len(), policy_before.len() + 6);
    assert!(
        policy_before.iter().all(|r| policy_after.contains(r)),
        "old results stay"
    );
    let fresh = v2_all(
        &c,
        &h,
        &format!("/api/v2/policyresults?filter=startedAt:gt:{last_started}"),
    )
    .await;
    assert_eq!(fresh.len(), 6);
    for r in &fresh {
        assert!(ts_field(r, "startedAt") <= now && ts_field(r, "endedAt") <= now);
    }
    assert!(ids_of(&policy_after, "id").windows(2).all(|w| w[0] < w[1]));

    let command_after = v1_all(&c, &h, "/api/commandresults").await;
    assert_eq!(command_after.len(), command_before.len() + 6);
    let newer: Vec<&Value> = command_after
        .iter()
        .filter(|r| str_field(r, "requestTime") > last_request.as_str())
        .collect();
    assert_eq!(newer.len(), 6);
    for r in newer {
        assert!(ts_field(r, "requestTime") <= now && ts_field(r, "responseTime") <= now);
    }
    // Statuses follow: a fresh result is its system's latest for its policy.
    let r = fresh.last().expect("one");
    let statuses = h.policy_statuses(0, str_field(r, "policyID"));
    assert!(statuses.contains(r));
}

#[tokio::test]
async fn same_seed_same_collections() {
    let now = Utc::now() - chrono::Duration::hours(3);
    let fixed = || SimConfig {
        now: Some(now),
        ..config()
    };
    let (a, b) = (start(fixed()).await, start(fixed()).await);
    for k in [
        "users",
        "commandresults",
        "policyresults",
        "authn/policies",
        "iplists",
        "softwareapps",
        "applemdms",
    ] {
        assert!(!a.records(0, k).is_empty(), "{k}");
        assert_eq!(a.records(0, k), b.records(0, k), "{k}");
    }
    let mdm = a.ids(0, "applemdms")[0].clone();
    assert_eq!(a.apple_mdm_devices(0, &mdm), b.apple_mdm_devices(0, &mdm));
    for u in a.ids(0, "systemusers") {
        assert_eq!(a.push_endpoints(0, &u), b.push_endpoints(0, &u));
    }
    // Another seed, other data.
    let c = start(SimConfig { seed: 7, ..fixed() }).await;
    assert_ne!(
        a.records(0, "commandresults"),
        c.records(0, "commandresults")
    );
}
