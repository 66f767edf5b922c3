//! One record of each collection, and one event, as the API serves them: generated from a
//! seeded random source, with the field shapes and quirks of the wire reference.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::*;

pub(super) const FIRST: &[&str] = &[
    "ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "alan", "radia",
    "john", "sophie", "zoë", "jürgen", "maría", "søren", "chloé", "aiko", "olu", "priya",
];
pub(super) const LAST: &[&str] = &[
    "lovelace",
    "hopper",
    "torvalds",
    "hamilton",
    "thompson",
    "liskov",
    "ritchie",
    "allen",
    "turing",
    "perlman",
    "backus",
    "wilson",
    "o'brien",
    "müller",
    "garcía",
    "kierkegaard",
    "dupont",
    "tanaka",
    "adeyemi",
    "patel",
];
pub(super) const DEPARTMENTS: &[&str] =
    &["Engineering", "Sales", "Finance", "IT", "Support", "Legal"];
pub(super) const ATTR_NAMES: &[&str] = &[
    "Team Name",
    "team name",
    "a.b c",
    "cost-center",
    "Kostenstelle",
    "部署",
    "badge #",
    "emoji 🚀",
];
pub(super) const OS: &[(&str, &str, &str)] = &[
    ("Mac OS X", "darwin", "14.4.1"),
    ("Windows", "windows", "10.0.22631"),
    ("Ubuntu", "linux", "22.04"),
    ("Fedora", "linux", "39"),
];
pub(super) const APPS: &[&str] = &[
    "Slack",
    "GitHub",
    "Zoom",
    "Salesforce",
    "AWS",
    "Google Workspace",
    "Jira",
    "Okta Bridge",
    "Notion",
    "Figma",
    "Workday",
    "Box",
];

/// A user as `GET /api/systemusers` serves it, with the drift knobs applied.
impl Tenant {
    pub(super) fn user(&self, rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
        let id = object_id(rng, created);
        let first = FIRST[rng.usize(..FIRST.len())];
        let last = LAST[rng.usize(..LAST.len())];
        let username = format!("{}.{}{}", ascii(first), ascii(last), i);
        let state = match rng.u8(..20) {
            0 => "SUSPENDED",
            1 => "STAGED",
            _ => "ACTIVATED",
        };
        let mut u = Map::new();
        u.insert("_id".into(), json!(id));
        u.insert("id".into(), json!(id));
        u.insert("username".into(), json!(username));
        u.insert("email".into(), json!(format!("{username}@example.com")));
        u.insert("firstname".into(), json!(cap(first)));
        u.insert("lastname".into(), json!(cap(last)));
        optional(rng, &mut u, "middlename", || json!("Q."));
        u.insert(
            "displayname".into(),
            json!(format!("{} {}", cap(first), cap(last))),
        );
        u.insert("activated".into(), json!(state == "ACTIVATED"));
        u.insert("suspended".into(), json!(state == "SUSPENDED"));
        u.insert("state".into(), json!(state));
        u.insert("account_locked".into(), json!(rng.u8(..30) == 0));
        u.insert("created".into(), json!(ts_ms(created)));
        let pw = created + Duration::days(rng.i64(30..400));
        optional(rng, &mut u, "password_expiration_date", || json!(ts_ms(pw)));
        u.insert("password_expired".into(), json!(rng.u8(..25) == 0));
        u.insert("passwordless_sudo".into(), json!(rng.u8(..10) == 0));
        u.insert("sudo".into(), json!(rng.u8(..8) == 0));
        u.insert("enable_managed_uid".into(), json!(rng.bool()));
        u.insert("unix_uid".into(), json!(5000 + i as i64));
        u.insert("unix_guid".into(), json!(5000 + i as i64));
        let mut mfa = json!({"configured": rng.bool(), "exclusion": rng.u8(..6) == 0});
        if rng.u8(..4) == 0 {
            mfa["exclusionUntil"] = json!(ts_ms(created + Duration::days(14)));
        }
        u.insert("mfa".into(), mfa);
        u.insert("totp_enabled".into(), json!(rng.bool()));
        let addresses: Vec<Value> = (0..rng.usize(0..3))
            .map(|k| {
                let mut a = json!({
                    "type": if k == 0 { "work" } else { "home" },
                    "streetAddress": format!("{} Main St", 10 + rng.u32(..900)),
                    "locality": (["Boulder", "Berlin", "Paris", "Tokyo"][rng.usize(..4)]),
                    "region": "CO",
                    "postalCode": format!("{:05}", rng.u32(..99999)),
                    "country": (["US", "DE", "FR", "JP"][rng.usize(..4)]),
                });
                if rng.bool() {
                    a["poBox"] = Value::Null;
                }
                a
            })
            .collect();
        optional(rng, &mut u, "addresses", || json!(addresses));
        let phones: Vec<Value> = (0..rng.usize(0..3))
            .map(|k| json!({"type": (["mobile", "work", "home"][k]), "number": format!("+1 303 555 {:04}", rng.u32(..9999))}))
            .collect();
        u.insert("phoneNumbers".into(), json!(phones));
        let attrs: Vec<Value> = (0..rng.usize(0..4))
            .map(|_| {
                let name = ATTR_NAMES[rng.usize(..ATTR_NAMES.len())];
                json!({"name": name, "value": format!("v{}", rng.u32(..1000))})
            })
            .collect();
        u.insert("attributes".into(), json!(attrs));
        optional(rng, &mut u, "employeeIdentifier", || {
            json!(format!("E{:06}", i))
        });
        let et = ["full-time", "contractor"][rng.usize(..2)];
        optional(rng, &mut u, "employeeType", || json!(et));
        let dept = DEPARTMENTS[rng.usize(..DEPARTMENTS.len())];
        optional(rng, &mut u, "department", || json!(dept));
        let cc = format!("CC-{}", rng.u32(100..999));
        optional(rng, &mut u, "costCenter", || json!(cc));
        optional(rng, &mut u, "jobTitle", || json!("Engineer"));
        optional(rng, &mut u, "company", || json!("Example Corp"));
        optional(rng, &mut u, "location", || json!("HQ"));
        optional(rng, &mut u, "description", || json!("synthetic user"));
        u.insert("externally_managed".into(), json!(rng.u8(..10) == 0));
        u.insert("ldap_binding_user".into(), json!(false));
        u.insert("organization".into(), json!(self.org_id));
        let mut v = Value::Object(u);
        self.apply_drift(&mut v, i);
        v
    }

    fn apply_drift(&self, u: &mut Value, i: usize) {
        if let Some(n) = self.drift.field_after {
            if i >= n {
                u["drift_new_field"] = json!(format!("drift-{i}"));
                if u["mfa"].is_object() {
                    u["mfa"]["drift_nested"] = json!(i as i64);
                }
            }
        }
        if self.drift.ssh_keys {
            let keyed = if self.org_no == 0 {
                i % 5 == 0
            } else {
                i % 5 == 4
            };
            u["ssh_keys"] = if keyed {
                json!([{
                    "_id": format!("{:024x}", 0x5ee0_0000_u64 + i as u64),
                    "create_date": "2024-03-01T10:00:00.000Z",
                    "name": "laptop",
                    "public_key": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{i:08}"),
                }])
            } else {
                json!([])
            };
        }
        if let Some(k) = self.drift.type_every {
            if k > 0 && i % k == k - 1 {
                u["unix_uid"] = json!(format!("uid-{}", 5000 + i));
                u["employeeIdentifier"] = json!(i as i64);
            }
        }
    }
}

pub(super) fn object_id(rng: &mut fastrand::Rng, at: DateTime<Utc>) -> String {
    format!("{:08x}{:016x}", at.timestamp().max(0) as u32, rng.u64(..))
}

pub(super) fn ts_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Absent one time in five, `null` one time in five, present otherwise.
pub(super) fn optional(
    rng: &mut fastrand::Rng,
    m: &mut Map<String, Value>,
    key: &str,
    v: impl FnOnce() -> Value,
) {
    match rng.u8(..5) {
        0 => {}
        1 => {
            m.insert(key.into(), Value::Null);
        }
        _ => {
            m.insert(key.into(), v());
        }
    }
}

pub(super) fn pick(rng: &mut fastrand::Rng, from: &[String], n: usize) -> Vec<String> {
    if from.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<String> = (0..n)
        .map(|_| from[rng.usize(..from.len())].clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(super) fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ë' => 'e',
            'ü' => 'u',
            'í' => 'i',
            'ø' => 'o',
            'é' => 'e',
            '\'' => 'x',
            c => c,
        })
        .collect()
}

pub(super) fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub(super) fn system(
    rng: &mut fastrand::Rng,
    org: &str,
    i: usize,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let (os, family, version) = OS[rng.usize(..OS.len())];
    let host = format!("host-{i:05}");
    let mut s = Map::new();
    s.insert("_id".into(), json!(object_id(rng, created)));
    s.insert("hostname".into(), json!(host));
    s.insert("displayName".into(), json!(format!("{host}.local")));
    s.insert("os".into(), json!(os));
    s.insert("osFamily".into(), json!(family));
    s.insert("version".into(), json!(version));
    s.insert("arch".into(), json!(["x86_64", "arm64"][rng.usize(..2)]));
    s.insert(
        "agentVersion".into(),
        json!(format!("1.{}.{}", rng.u32(100..200), rng.u32(..10))),
    );
    s.insert("created".into(), json!(ts_ms(created)));
    let last = now - Duration::minutes(rng.i64(1..60 * 24 * 30));
    optional(rng, &mut s, "lastContact", || json!(ts_ms(last)));
    s.insert("active".into(), json!(rng.u8(..4) != 0));
    s.insert(
        "serialNumber".into(),
        json!(format!("C02{:08X}", rng.u32(..))),
    );
    s.insert(
        "remoteIP".into(),
        json!(format!("203.0.113.{}", rng.u8(1..255))),
    );
    s.insert("systemTimezone".into(), json!(-420 + 60 * rng.i64(0..12)));
    s.insert(
        "fde".into(),
        json!({"active": rng.bool(), "keyPresent": rng.bool()}),
    );
    let nics: Vec<Value> = (0..rng.usize(1..3))
        .map(|k| json!({"name": format!("en{k}"), "address": format!("10.0.{}.{}", rng.u8(..255), rng.u8(1..255)), "family": "IPv4", "internal": false}))
        .collect();
    s.insert("networkInterfaces".into(), json!(nics));
    s.insert(
        "sshdParams".into(),
        json!([{"name": "PermitRootLogin", "value": "no"}]),
    );
    s.insert("allowSshPasswordAuthentication".into(), json!(rng.bool()));
    s.insert("allowMultiFactorAuthentication".into(), json!(rng.bool()));
    s.insert("organization".into(), json!(org));
    let prov = json!({"provisioner": {"provisionerId": format!("{:024x}", rng.u128(..) & ((1u128 << 96) - 1)), "type": "administrator"}});
    optional(rng, &mut s, "provisionMetadata", || prov);
    s.insert("serviceAccountState".into(), json!({"hasSecureToken": rng.bool(), "passwordAPFSValid": rng.bool(), "passwordODValid": rng.bool()}));
    optional(
        rng,
        &mut s,
        "domainInfo",
        || json!({"domainName": "corp.example.com", "partOfDomain": true}),
    );
    if family == "darwin" || family == "windows" {
        let mdm = json!({"vendor": "internal", "dep": rng.bool(), "userApproved": rng.bool(), "internal": {"deviceId": format!("{:08x}", rng.u32(..))}});
        optional(rng, &mut s, "mdm", || mdm);
    }
    // From the index, not the random stream: every other value stays as it was.
    s.insert(
        "systemInsights".into(),
        json!({"state": super::sysinsights::state_of_index(i)}),
    );
    Value::Object(s)
}

pub(super) fn application(
    rng: &mut fastrand::Rng,
    org: &str,
    i: usize,
    created: DateTime<Utc>,
) -> Value {
    let name = APPS[i % APPS.len()];
    let slug = name.to_lowercase().replace(' ', "");
    json!({
        "_id": object_id(rng, created),
        "name": slug,
        "displayName": name,
        "displayLabel": if i >= APPS.len() { format!("{name} {i}") } else { name.to_string() },
        "ssoUrl": format!("https://sso.jumpcloud.com/saml2/{slug}"),
        "learnMore": format!("https://support.jumpcloud.com/{slug}"),
        "organization": org,
        "active": rng.u8(..6) != 0,
        "beta": false,
        "created": ts_ms(created),
        "config": {"acsUrl": {"type": "text", "value": format!("https://{slug}.example.com/acs"), "label": "ACS URL"}, "idpEntityId": {"value": "JumpCloud"}},
        "sso": {"type": "saml", "idpCertExpirationAt": ts_ms(created + Duration::days(730))},
    })
}

pub(super) fn command(
    rng: &mut fastrand::Rng,
    org: &str,
    i: usize,
    created: DateTime<Utc>,
) -> Value {
    let ty = ["linux", "windows", "mac"][rng.usize(..3)];
    let mut c = json!({
        "_id": object_id(rng, created),
        "name": format!("command {i}"),
        "command": if ty == "windows" { "Get-Process" } else { "uptime" },
        "commandType": ty,
        "user": "000000000000000000000000",
        "launchType": (["manual", "trigger", "repeated"][rng.usize(..3)]),
        "schedule": "",
        "scheduleRepeatType": "",
        "timeout": format!("{}", 60 * rng.u32(1..10)),
        "shell": if ty == "windows" { "powershell" } else { "/bin/bash" },
        "sudo": false,
        "organization": org,
        "files": [],
        "created": ts_ms(created),
    });
    if rng.bool() {
        c["trigger"] = json!(format!("trigger-{i}"));
    }
    c
}

pub(super) fn radius_server(
    rng: &mut fastrand::Rng,
    org: &str,
    i: usize,
    created: DateTime<Utc>,
) -> Value {
    json!({
        "_id": object_id(rng, created),
        "name": format!("radius-{i}"),
        "networkSourceIp": format!("198.51.100.{}", 10 + i),
        "sharedSecret": format!("s3cr3t-{:08x}", rng.u32(..)),
        "mfa": (["DISABLED", "ENABLED", "REQUIRED"][rng.usize(..3)]),
        "userLockoutAction": "REMOVE",
        "userPasswordExpirationAction": "MAINTAIN",
        "organization": org,
        "tagNames": [],
    })
}

pub(super) fn group(rng: &mut fastrand::Rng, ty: &str, i: usize, created: DateTime<Utc>) -> Value {
    let dynamic = rng.u8(..5) == 0;
    let attributes = match rng.u8(..3) {
        0 => Value::Null,
        1 => json!({"sudo": {"enabled": rng.bool(), "withoutPassword": false}}),
        _ => {
            json!({"ldapGroups": [{"name": format!("ldap-{i}")}], "posixGroups": [{"id": 7000 + i, "name": format!("posix{i}")}], "radius": {"reply": [{"name": "Tunnel-Type", "value": "VLAN"}]}})
        }
    };
    let mut g = json!({
        "id": object_id(rng, created),
        "name": format!("{} {i}", if ty == "user_group" { "Team" } else { "Fleet" }),
        "type": ty,
        "attributes": attributes,
        "description": if rng.bool() { json!(format!("group number {i}")) } else { json!("") },
        "email": if ty == "user_group" { json!(format!("team{i}@example.com")) } else { json!("") },
        "membershipMethod": if dynamic { "DYNAMIC_AUTOMATED" } else { "STATIC" },
        "memberQuery": if dynamic { json!({"queryType": "FilterQuery", "filters": [{"field": "department", "operator": "eq", "value": "Engineering"}]}) } else { Value::Null },
    });
    if rng.bool() {
        g["memberSuggestionsNotify"] = json!(false);
    }
    g
}

pub(super) fn policy(rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
    let fam = ["darwin", "windows", "linux"][rng.usize(..3)];
    json!({
        "id": object_id(rng, created),
        "name": format!("{fam} policy {i}"),
        "template": {
            "id": format!("{:024x}", (i as u128) << 40 | 0xabc),
            "name": format!("{fam}_lock_screen"),
            "displayName": "Lock Screen",
            "osMetaFamily": fam,
            "description": "Locks the screen after idle time",
            "activation": "",
            "behavior": "",
            "state": "",
        },
        "osMetaFamily": fam,
    })
}

pub(super) fn directory(rng: &mut fastrand::Rng, i: usize, created: DateTime<Utc>) -> Value {
    let ty = ["g_suite", "office_365", "ldap_server", "workday"][i % 4];
    let mut d = json!({
        "id": object_id(rng, created),
        "name": match ty { "g_suite" => "Google Workspace", "office_365" => "Microsoft 365", "ldap_server" => "JumpCloud LDAP", _ => "Workday" },
        "type": ty,
    });
    if ty != "ldap_server" {
        d["oAuthStatus"] = json!({"status": "valid"});
    }
    d
}

pub(super) fn directory_target(d: &Value) -> &'static str {
    match d.get("type").and_then(Value::as_str) {
        Some("g_suite") => "g_suite",
        Some("office_365") => "office_365",
        Some("workday") => "workday",
        _ => "ldap_server",
    }
}

pub(super) fn event(
    rng: &mut fastrand::Rng,
    service: &'static str,
    ts: DateTime<Utc>,
    org: &str,
    users: &[String],
    systems: &[String],
    apps: &[String],
) -> Value {
    // Some services use uppercase UUIDs instead of 24-hex ids.
    let id = if matches!(service, "password_manager" | "saas_app_management") {
        format!(
            "{:08X}-{:04X}-4{:03X}-A{:03X}-{:012X}",
            rng.u32(..),
            rng.u16(..),
            rng.u16(..0x1000),
            rng.u16(..0x1000),
            rng.u64(..1 << 48)
        )
    } else {
        format!("{:08x}{:016x}", ts.timestamp() as u32, rng.u64(..))
    };
    // Fractional digits vary: none, milliseconds, or nanoseconds.
    let timestamp = match rng.u8(..4) {
        0 => ts.to_rfc3339_opts(SecondsFormat::Secs, true),
        1 => ts.to_rfc3339_opts(SecondsFormat::Nanos, true),
        _ => ts.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    let user = |rng: &mut fastrand::Rng| -> String {
        if users.is_empty() {
            "000000000000000000000000".into()
        } else {
            users[rng.usize(..users.len())].clone()
        }
    };
    let uid = user(rng);
    let mut e = json!({
        "id": id,
        "timestamp": timestamp,
        "service": service,
        "organization": org,
        "client_ip": format!("198.51.100.{}", rng.u8(1..255)),
        "success": rng.u8(..8) != 0,
        "initiated_by": {"id": uid, "type": if rng.u8(..4) == 0 { "admin" } else { "user" }, "username": format!("user{}", rng.u32(..1000))},
        "geoip": {"country_code": "us", "region_name": "colorado", "continent_code": "na", "timezone": "america/denver", "latitude": 39.7392, "longitude": -104.9903},
        "useragent": {"name": "chrome", "os": "mac os x", "device": "mac", "version": "120.0.0", "major": "120", "os_name": "mac os x"},
        "@version": "1",
        "provider": Value::Null,
    });
    let (event_type, extra) = match service {
        "directory" => (
            [
                "user_update",
                "user_create",
                "admin_login_attempt",
                "group_update",
            ][rng.usize(..4)],
            json!({"resource": {"id": user(rng), "type": "user", "username": "someone"}, "changes": [{"field": "jobtitle", "from": "engineer", "to": "senior engineer"}], "auth_method": "password", "mfa": rng.bool()}),
        ),
        "sso" => (
            "sso_auth",
            json!({"application": {"id": apps.first().cloned().unwrap_or_default(), "name": "slack", "display_label": "slack"}, "sso_type": "saml", "idp_initiated": rng.bool(), "auth_context": {"jumpcloud_protocol": "saml"}}),
        ),
        "radius" => (
            "radius_auth_attempt",
            json!({"auth_type": "pap", "nas_mfa_state": "disabled", "mfa_meta": {"type": "totp"}, "eap_type": Value::Null}),
        ),
        "systems" => (
            "login_attempt",
            json!({"system": {"id": systems.first().cloned().unwrap_or_default(), "hostname": "host-00001", "displayName": "host-00001.local"}, "process_name": "loginwindow", "username": "ada", "message": "authenticated"}),
        ),
        "ldap" => (
            "ldap_bind",
            json!({"dn": "uid=ada,ou=users,o=example,dc=jumpcloud,dc=com", "operation_type": "bind", "auth_method": "simple", "error_code": rng.u8(..2) as i64}),
        ),
        "mdm" => (
            "mdm_command_result",
            json!({"command_type": "installprofile", "command_status": "acknowledged", "profiles": (0..rng.usize(0..4)).map(|k| json!({"identifier": format!("com.example.p{k}")})).collect::<Vec<_>>()}),
        ),
        "password_manager" => ("item_viewed", json!({"item": {"type": "login"}})),
        "software" => (
            "software_add",
            json!({"software": {"name": "firefox", "version": "121.0"}}),
        ),
        "object_storage" => (
            "object_download",
            json!({"bucket": "backups", "object_key": "2024/db.tar"}),
        ),
        "alerts" => (
            "alert_created",
            json!({"alert": {"severity": "high", "rule": "impossible travel"}}),
        ),
        "access_management" => (
            "access_request_created",
            json!({"request": {"resource_type": "application", "status": "pending"}}),
        ),
        _ => (
            "saas_app_discovered",
            json!({"app": {"name": "dropbox", "category": "storage"}}),
        ),
    };
    e["event_type"] = json!(event_type);
    if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
        e.extend(extra);
    }
    e
}
