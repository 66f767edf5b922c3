//! The org's further read collections (`shared/jumpcloud-api-extended.md` §3): console
//! administrators (v1 `/users`), command results, policy results, conditional-access (authn)
//! policies, IP lists, software apps and their statuses, the Apple MDM and its devices,
//! JumpCloud Protect push endpoints, and FDE recovery keys.
//!
//! They are made last, from their own rng (`seed ^ SALT ^ org_no`, kept in
//! [`Extras::seed`]), and only read what the org already has (users, systems, commands,
//! policies, groups, applications, the policy → system group edges), so every collection,
//! member, edge and event made before them stays byte-for-byte what it was. Top-level lists
//! live in `Tenant::collections` under their route names ([`ADMINS`], [`COMMAND_RESULTS`], …,
//! each in id order); what hangs below another object lives in `Tenant::extras`.
//! Results (command and policy) are spread over the event window (`event_days` before
//! `now`); [`Tenant::append_results`] adds later ones for `Mutation::new_results`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::*;

/// Route names, which are also the keys in `Tenant::collections`.
pub const ADMINS: &str = "users";
/// Full records (as `GET /commandresults/{id}` serves them); the list truncates.
pub const COMMAND_RESULTS: &str = "commandresults";
pub const POLICY_RESULTS: &str = "policyresults";
pub const AUTHN_POLICIES: &str = "authn/policies";
pub const IP_LISTS: &str = "iplists";
pub const SOFTWARE_APPS: &str = "softwareapps";
pub const APPLE_MDMS: &str = "applemdms";

/// Mixed into the seed of these collections' own rng.
pub const SALT: u64 = 0xC011_EC71;

/// The list of `/commandresults` cuts `response.data.output` and `response.error` to this
/// many characters.
pub const LIST_TRUNCATE: usize = 40;
/// … and `command` to this many.
pub const COMMAND_TRUNCATE: usize = 10_000;

/// What hangs below another object, each list in id order.
#[derive(Debug, Default, Clone)]
pub struct Extras {
    /// The seed these collections were made from: `seed ^ SALT ^ org_no`.
    pub seed: u64,
    /// Continues after generation, for `Mutation::new_results`.
    rng: Option<fastrand::Rng>,
    /// software app id → its statuses (one per system).
    pub software_app_statuses: HashMap<String, Vec<Value>>,
    /// Apple MDM id → its devices.
    pub mdm_devices: HashMap<String, Vec<Value>>,
    /// user id → JumpCloud Protect devices (most users have none).
    pub push_endpoints: HashMap<String, Vec<Value>>,
    /// system id → FDE recovery key (systems with `fde.keyPresent`).
    pub fde_keys: HashMap<String, String>,
}

/// What these collections need to know of one system.
struct Sys {
    id: String,
    family: String,
    name: String,
    host: String,
    serial: String,
    version: String,
    arm: bool,
    created: DateTime<Utc>,
    fde_key: bool,
}

const ROLES: &[&str] = &[
    "Administrator With Billing",
    "Administrator",
    "Manager",
    "Help Desk",
    "Read Only",
    "Command Runner",
];

const PROCESSES: &[&str] = &[
    "svchost",
    "explorer",
    "jumpcloud-agent",
    "MsMpEng",
    "OneDrive",
    "Teams",
    "chrome",
    "lsass",
    "SearchHost",
];

fn ts(t: DateTime<Utc>) -> String {
    ts_ms(t)
}

fn parse_ts(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A uniform time in `[a, b)` (or `a` when the span is empty), in whole milliseconds.
fn between(rng: &mut fastrand::Rng, a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    let span = (b - a).num_milliseconds();
    if span <= 0 {
        a
    } else {
        a + Duration::milliseconds(rng.i64(0..span))
    }
}

fn hex24(rng: &mut fastrand::Rng) -> String {
    format!("{:08x}{:016x}", rng.u32(..), rng.u64(..))
}

fn uuid_upper(rng: &mut fastrand::Rng) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        rng.u32(..),
        rng.u16(..),
        rng.u16(..),
        rng.u16(..),
        rng.u64(..1 << 48)
    )
}

fn sort_by_id(v: &mut [Value]) {
    v.sort_by(|a, b| id_of(a).cmp(id_of(b)));
}

/// `s` cut to its first `n` characters (not bytes).
pub fn truncate_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A command result as the `/commandresults` list shows it: without `organization`, `files`,
/// `workflowInstanceId` and `response.id`, with output and error cut to 40 characters.
pub fn command_result_list_view(full: &Value) -> Value {
    let text = |v: &Value| -> String {
        v.as_str()
            .map(|s| truncate_chars(s, LIST_TRUNCATE))
            .unwrap_or_default()
    };
    let resp = &full["response"];
    let mut m = Map::new();
    for k in ["_id", "name"] {
        m.insert(k.into(), full[k].clone());
    }
    let command = full["command"]
        .as_str()
        .map(|s| truncate_chars(s, COMMAND_TRUNCATE))
        .unwrap_or_default();
    m.insert("command".into(), json!(command));
    for k in ["exitCode", "requestTime", "responseTime"] {
        m.insert(k.into(), full[k].clone());
    }
    m.insert(
        "response".into(),
        json!({
            "data": {
                "exitCode": resp["data"]["exitCode"].clone(),
                "output": text(&resp["data"]["output"]),
            },
            "error": text(&resp["error"]),
        }),
    );
    for k in ["sudo", "system", "systemId", "user", "workflowId"] {
        m.insert(k.into(), full[k].clone());
    }
    Value::Object(m)
}

impl Tenant {
    /// Makes every collection of this module (see the module docs). Draws nothing from the
    /// org's main rng and changes nothing made before.
    pub(super) fn generate_collections(&mut self, seed: u64, size: &OrgSize) {
        let seed = seed ^ SALT ^ self.org_no as u64;
        let mut rng = fastrand::Rng::with_seed(seed);
        let now = self.now;
        let base = Utc
            .with_ymd_and_hms(2021, 1, 4, 9, 0, 0)
            .single()
            .unwrap_or(now);
        let start = now - Duration::days(size.event_days as i64);
        let systems = self.systems_info();

        let admins = self.make_admins(&mut rng, base);
        self.collections.insert(ADMINS, admins);

        let mut results = self.make_command_results(&mut rng, &systems, start);
        sort_by_id(&mut results);
        self.collections.insert(COMMAND_RESULTS, results);

        let mut results = self.make_policy_results(&mut rng, start);
        sort_by_id(&mut results);
        self.collections.insert(POLICY_RESULTS, results);

        let iplists = make_ip_lists(&mut rng, base, now);
        let iplist_ids: Vec<String> = iplists.iter().map(|v| id_of(v).to_string()).collect();
        self.collections.insert(IP_LISTS, iplists);
        let authn = self.make_authn_policies(&mut rng, base, &iplist_ids);
        self.collections.insert(AUTHN_POLICIES, authn);

        self.make_software_apps(&mut rng, &systems, base);
        self.make_apple_mdm(&mut rng, &systems, base);
        self.make_push_endpoints(&mut rng, base);
        for s in systems.iter().filter(|s| s.fde_key) {
            let key = recovery_key(&mut rng, &s.family);
            self.extras.fde_keys.insert(s.id.clone(), key);
        }
        self.bind_software_apps(&mut rng);
        self.extras.seed = seed;
        self.extras.rng = Some(rng);
    }

    /// Software apps are bound to systems and system groups (`/softwareapps/{id}/
    /// associations`): some systems with a status directly, and one system group for
    /// every other app.
    fn bind_software_apps(&mut self, rng: &mut fastrand::Rng) {
        let groups: Vec<String> = self
            .collections
            .get("systemgroups")
            .map(|g| g.iter().map(|v| id_of(v).to_string()).collect())
            .unwrap_or_default();
        let mut apps: Vec<String> = self.extras.software_app_statuses.keys().cloned().collect();
        apps.sort();
        for (k, app) in apps.iter().enumerate() {
            let systems: Vec<String> = self.extras.software_app_statuses[app]
                .iter()
                .filter_map(|s| {
                    s.get("systemId")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            for s in systems.iter().take(1 + rng.usize(..3)) {
                self.add_edge(
                    ("software_app", app.clone()),
                    ("system", s.clone()),
                    Value::Null,
                );
            }
            if k % 2 == 0 && !groups.is_empty() {
                let g = groups[rng.usize(..groups.len())].clone();
                self.add_edge(
                    ("software_app", app.clone()),
                    ("system_group", g),
                    Value::Null,
                );
            }
        }
    }

    fn systems_info(&self) -> Vec<Sys> {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        self.collections
            .get("systems")
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|s| Sys {
                id: id_of(s).to_string(),
                family: text(s, "osFamily"),
                name: text(s, "displayName"),
                host: text(s, "hostname"),
                serial: text(s, "serialNumber"),
                version: text(s, "version"),
                arm: s.get("arch").and_then(Value::as_str) == Some("arm64"),
                created: parse_ts(s, "created").unwrap_or(self.now),
                fde_key: s["fde"]["active"] == json!(true) && s["fde"]["keyPresent"] == json!(true),
            })
            .collect()
    }

    /// Console administrators: `4 + org_no`, the first with billing and an API key; every
    /// third has MFA off, the fourth turned MFA on but never enrolled TOTP. `organization` is
    /// unset (absent), as the service sends it to multi-tenant keys.
    fn make_admins(&self, rng: &mut fastrand::Rng, base: DateTime<Utc>) -> Vec<Value> {
        let now = self.now;
        let n = 4 + self.org_no;
        let span = (now - base).num_milliseconds().max(1) as f64;
        let mut out: Vec<Value> = (0..n)
            .map(|i| {
                let frac = (i as f64 + rng.f64()) / n as f64;
                let created = base + Duration::milliseconds((frac * span * 0.9) as i64);
                let first = FIRST[rng.usize(..FIRST.len())];
                let last = LAST[rng.usize(..LAST.len())];
                let role = if i == 0 {
                    ROLES[0]
                } else {
                    ROLES[rng.usize(1..ROLES.len())]
                };
                let mfa = i % 3 != 2;
                let totp = mfa && i != 3;
                let mut a = Map::new();
                a.insert("_id".into(), json!(object_id(rng, created)));
                a.insert(
                    "email".into(),
                    json!(format!(
                        "{}.{}.admin{i}@org{}.example.com",
                        ascii(first),
                        ascii(last),
                        self.org_no
                    )),
                );
                a.insert("firstname".into(), json!(cap(first)));
                a.insert("lastname".into(), json!(cap(last)));
                a.insert("roleName".into(), json!(role));
                a.insert("enableMultiFactor".into(), json!(mfa));
                a.insert("totpEnrolled".into(), json!(totp));
                if totp {
                    a.insert(
                        "totpUpdatedAt".into(),
                        json!(ts(between(rng, created, now))),
                    );
                }
                if i == 0 || rng.bool() {
                    a.insert(
                        "apiKeyUpdatedAt".into(),
                        json!(ts(between(rng, created, now))),
                    );
                }
                a.insert("created".into(), json!(ts(created)));
                a.insert("suspended".into(), json!(i > 0 && rng.u8(..5) == 0));
                Value::Object(a)
            })
            .collect();
        sort_by_id(&mut out);
        out
    }

    /// Each command ran 1–4 times in the window, each run on 1–6 systems of its OS family;
    /// one run shares its `workflowInstanceId` and `requestTime`. `workflowId` is the
    /// command's id.
    fn make_command_results(
        &self,
        rng: &mut fastrand::Rng,
        systems: &[Sys],
        start: DateTime<Utc>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let commands = self
            .collections
            .get("commands")
            .cloned()
            .unwrap_or_default();
        for c in &commands {
            let targets = command_targets(c, systems);
            if targets.is_empty() {
                continue;
            }
            for _ in 0..rng.usize(1..=4) {
                let request = between(rng, start, self.now);
                let instance = hex24(rng);
                let k = rng.usize(1..=targets.len().min(6));
                let mut picked: Vec<usize> = (0..k).map(|_| rng.usize(..targets.len())).collect();
                picked.sort_unstable();
                picked.dedup();
                for i in picked {
                    out.push(self.command_result(rng, c, targets[i], request, &instance));
                }
            }
        }
        out
    }

    /// One full command result (`GET /commandresults/{id}`).
    fn command_result(
        &self,
        rng: &mut fastrand::Rng,
        c: &Value,
        s: &Sys,
        request: DateTime<Utc>,
        instance: &str,
    ) -> Value {
        let exit: i64 = match rng.u8(..10) {
            0 => 1,
            1 => 127,
            _ => 0,
        };
        let response = (request + Duration::milliseconds(rng.i64(800..300_000))).min(self.now);
        let (output, error) = command_output(rng, s, exit, response);
        json!({
            "_id": object_id(rng, request),
            "name": c["name"].clone(),
            "command": c["command"].clone(),
            "system": s.name,
            "systemId": s.id,
            "organization": self.org_id,
            "workflowId": id_of(c),
            "workflowInstanceId": instance,
            "user": c["user"].clone(),
            "sudo": c["sudo"].clone(),
            "files": c.get("files").cloned().unwrap_or_else(|| json!([])),
            "requestTime": ts(request),
            "responseTime": ts(response),
            "exitCode": exit,
            "response": {
                "id": hex24(rng),
                "data": {"exitCode": exit, "output": output},
                "error": error,
            },
        })
    }

    /// The systems a policy reaches: its direct system edges and the system members of its
    /// system groups, in id order.
    fn policy_systems(&self, policy_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .associations("policy", policy_id, "system")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for (g, _) in self.associations("policy", policy_id, "system_group") {
            if let Some(m) = self.members.get(&g) {
                out.extend(
                    m.iter()
                        .filter(|(k, _)| *k == "system")
                        .map(|(_, id)| id.clone()),
                );
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// 1–3 results per (policy, system) the policy reaches (one pair in ten never
    /// reported), spread over the window; only a pair's latest may be `pending`.
    fn make_policy_results(&self, rng: &mut fastrand::Rng, start: DateTime<Utc>) -> Vec<Value> {
        let mut out = Vec::new();
        let policies = self
            .collections
            .get("policies")
            .cloned()
            .unwrap_or_default();
        for p in &policies {
            for sid in self.policy_systems(id_of(p)) {
                if rng.u8(..10) == 0 {
                    continue;
                }
                let n = rng.usize(1..=3);
                let mut times: Vec<DateTime<Utc>> =
                    (0..n).map(|_| between(rng, start, self.now)).collect();
                times.sort();
                for (k, t) in times.into_iter().enumerate() {
                    out.push(policy_result(rng, p, &sid, t, self.now, k + 1 == n));
                }
            }
        }
        out
    }

    /// Four policies, one of each kind: the user portal with MFA outside the office IPs,
    /// an application denied off the VPN for two groups, LDAP for bind users, and a
    /// disabled one by country. They name real user groups, IP lists and applications.
    fn make_authn_policies(
        &self,
        rng: &mut fastrand::Rng,
        base: DateTime<Utc>,
        iplists: &[String],
    ) -> Vec<Value> {
        let groups = self.ids_of("usergroups");
        let apps = self.ids_of("applications");
        let nth = |v: &[String], i: usize| -> Vec<String> {
            if v.is_empty() {
                Vec::new()
            } else {
                vec![v[i % v.len()].clone()]
            }
        };
        let id = |rng: &mut fastrand::Rng| {
            let t = between(rng, base, self.now);
            object_id(rng, t)
        };
        let mut app_resource = json!({"type": "application"});
        if let Some(a) = apps.get(self.org_no % apps.len().max(1)) {
            app_resource["id"] = json!(a);
        }
        let mut two_groups = nth(&groups, 1);
        two_groups.extend(nth(&groups, 2));
        two_groups.dedup();
        let mut out = vec![
            json!({
                "id": id(rng),
                "name": "MFA outside the office",
                "description": "Users signing in to the user portal from outside the office networks must use MFA.",
                "disabled": false,
                "type": "user_portal",
                "effect": {"action": "allow", "obligations": {"mfa": {"required": true}, "userVerification": {"requirement": "none"}}},
                "targets": {
                    "users": {"inclusions": ["ALL"]},
                    "userGroups": {"inclusions": [], "exclusions": nth(&groups, 0)},
                    "resources": [{"type": "user_portal"}],
                },
                "conditions": {"not": {"ipAddressIn": iplists.first().cloned().into_iter().collect::<Vec<_>>()}},
            }),
            json!({
                "id": id(rng),
                "name": "VPN only",
                "description": "",
                "disabled": false,
                "type": "application",
                "effect": {"action": "deny"},
                "targets": {
                    "userGroups": {"inclusions": two_groups, "exclusions": []},
                    "resources": [app_resource],
                },
                "conditions": {"all": [
                    {"not": {"ipAddressIn": iplists.iter().skip(1).take(1).cloned().collect::<Vec<_>>()}},
                    {"deviceManaged": false},
                ]},
            }),
            json!({
                "id": id(rng),
                "name": "LDAP bind users",
                "description": "Service accounts bind without MFA.",
                "disabled": false,
                "type": "ldap",
                "effect": {"action": "allow", "obligations": {"mfa": {"required": false}, "userVerification": {"requirement": "optional"}}},
                "targets": {
                    "userAttributes": {
                        "inclusions": [{"field": "ldap_binding_user", "operator": "EQ", "value": true}],
                        "exclusions": [{"field": "ldap_binding_user", "operator": "EQ", "value": false}],
                    },
                    "resources": [{"type": "ldap"}],
                },
                "conditions": {},
            }),
            json!({
                "id": id(rng),
                "name": "EU sign-ins (legacy)",
                "description": "Kept for reference.",
                "disabled": true,
                "type": "user_portal",
                "effect": {"action": "allow", "obligations": {"mfa": {"required": true}, "userVerification": {"requirement": "required"}}},
                "targets": {
                    "users": {"inclusions": ["ALL"]},
                    "resources": [{"type": "user_portal"}],
                },
                "conditions": {"any": [{"locationIn": {"countries": ["DE", "FR"]}}, {"deviceEncrypted": true}]},
            }),
        ];
        sort_by_id(&mut out);
        out
    }

    /// Five apps (Chocolatey, the Microsoft Store, Apple VPP and a custom macOS package);
    /// each has a status on about 60 % of the systems of its OS family.
    fn make_software_apps(
        &mut self,
        rng: &mut fastrand::Rng,
        systems: &[Sys],
        base: DateTime<Utc>,
    ) {
        let now = self.now;
        let mut apps = Vec::new();
        for (k, (name, manager, family, package, version, location)) in SOFTWARE.iter().enumerate()
        {
            let created = between(rng, base, now - Duration::days(30));
            let updated = between(rng, created, now);
            let id = object_id(rng, created);
            let mut setting = json!({
                "packageId": package,
                "packageManager": manager,
                "packageKind": if *manager == "APPLE_VPP" { "" } else { "software-package" },
                "packageVersion": version,
                "desiredState": if k == 4 { "Uninstall" } else { "Install" },
                "autoUpdate": rng.bool(),
                "allowUpdateDelay": false,
                "location": location,
                "createdAt": ts(created),
                "updatedAt": ts(updated),
            });
            match *manager {
                "APPLE_VPP" => {
                    let total = 10 + rng.i64(0..90);
                    let assigned = rng.i64(0..=total);
                    setting["appleVpp"] = json!({
                        "assignedLicenses": assigned,
                        "availableLicenses": total - assigned,
                        "totalLicenses": total,
                        "supportedDeviceFamilies": ["MAC", "IPHONE", "IPAD"],
                        "details": {"trackName": name, "bundleId": format!("com.tinyspeck.{}", package), "price": 0},
                    });
                    setting["bundleId"] = json!("com.tinyspeck.slackmacgap");
                }
                "MICROSOFT_STORE" => {
                    setting["microsoftStore"] = json!({
                        "packageFamilyName": "MSTeams_8wekyb3d8bbwe",
                        "doNotUpdate": false,
                        "nonRemovable": false,
                    });
                }
                "APPLE_CUSTOM" => {
                    setting["architectures"] = json!(["arm64", "x86_64"]);
                    setting["shortVersion"] = json!(version);
                }
                _ => {}
            }
            let mut statuses = Vec::new();
            for s in systems.iter().filter(|s| s.family == *family) {
                if rng.u8(..10) >= 6 {
                    continue;
                }
                statuses.push(software_status(rng, &id, &s.id, version, updated, now));
            }
            sort_by_id(&mut statuses);
            self.extras
                .software_app_statuses
                .insert(id.clone(), statuses);
            apps.push(json!({
                "id": id,
                "displayName": name,
                "createdAt": ts(created),
                "updatedAt": ts(updated),
                "settings": [setting],
            }));
        }
        sort_by_id(&mut apps);
        self.collections.insert(SOFTWARE_APPS, apps);
    }

    /// One Apple MDM per org; its devices are three in four of the org's macOS systems
    /// (same serial number) plus one to three iPhones and iPads.
    fn make_apple_mdm(&mut self, rng: &mut fastrand::Rng, systems: &[Sys], base: DateTime<Utc>) {
        let now = self.now;
        let created = between(rng, base, base + Duration::days(30));
        let id = object_id(rng, created);
        let default_group = self
            .ids_of("systemgroups")
            .first()
            .cloned()
            .unwrap_or_default();
        let mdm = json!({
            "id": id,
            "name": "JumpCloud MDM",
            "organization": self.org_id,
            "apnsPushTopic": format!("com.apple.mgmt.External.{}", uuid_upper(rng).to_lowercase()),
            "apnsCertExpiry": ts(now + Duration::days(rng.i64(20..360))),
            "appleCertSerialNumber": format!("{:016X}", rng.u64(..)),
            "appleCertCreatorAppleID": format!("mdm-admin@org{}.example.com", self.org_no),
            "defaultSystemGroupID": default_group,
            "defaultIosUserEnrollmentDeviceGroupID": "",
            "allowMobileUserEnrollment": rng.bool(),
            "depServerTokenState": "valid",
            "depAccessTokenExpiry": ts(now + Duration::days(rng.i64(20..360))),
            "dep": {
                "enableZeroTouchEnrollment": rng.bool(),
                "setupAssistantOptions": [{"option": "accessibility"}, {"option": "siri"}],
                "welcomeScreen": {"title": "Welcome", "paragraph": "Your device is managed by JumpCloud.", "button": "Continue"},
            },
        });
        let mut devices = Vec::new();
        for s in systems.iter().filter(|s| s.family == "darwin") {
            if rng.u8(..4) == 0 {
                continue;
            }
            devices.push(mac_device(rng, s, now));
        }
        for k in 0..1 + self.org_no % 3 {
            let t = between(rng, base, now);
            devices.push(mobile_device(rng, k, t));
        }
        sort_by_id(&mut devices);
        self.extras.mdm_devices.insert(id, devices);
        self.collections.insert(APPLE_MDMS, vec![mdm]);
    }

    /// Seven users in ten have no Protect device, two have one, one has two.
    fn make_push_endpoints(&mut self, rng: &mut fastrand::Rng, base: DateTime<Utc>) {
        let now = self.now;
        let users: Vec<(String, DateTime<Utc>)> = self
            .collections
            .get("systemusers")
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|u| (id_of(u).to_string(), parse_ts(u, "created").unwrap_or(base)))
            .collect();
        for (uid, created) in users {
            let n = match rng.u8(..10) {
                0..=6 => 0,
                7 | 8 => 1,
                _ => 2,
            };
            if n == 0 {
                continue;
            }
            let mut eps: Vec<Value> = (0..n).map(|_| push_endpoint(rng, created, now)).collect();
            sort_by_id(&mut eps);
            self.extras.push_endpoints.insert(uid, eps);
        }
    }

    fn ids_of(&self, collection: &str) -> Vec<String> {
        self.collections
            .get(collection)
            .map(|c| c.iter().map(|v| id_of(v).to_string()).collect())
            .unwrap_or_default()
    }

    /// `Mutation::new_results`: `n` new policy results (on pairs that already have results)
    /// and `n` new command results, every one later than the latest of its kind and before
    /// `now` (or, when `now` is not after the latest, within `n` ms after it). Returns how
    /// many were added: (policy, command).
    pub(super) fn append_results(&mut self, n: usize, now: DateTime<Utc>) -> (usize, usize) {
        if n == 0 {
            return (0, 0);
        }
        let mut rng = self
            .extras
            .rng
            .take()
            .unwrap_or_else(|| fastrand::Rng::with_seed(self.extras.seed));
        let later = |rng: &mut fastrand::Rng, last: DateTime<Utc>| -> Vec<DateTime<Utc>> {
            // After `last`, before `now`; past `now` only when `now` is not after `last`.
            let end = if now > last + Duration::milliseconds(1) {
                now
            } else {
                last + Duration::milliseconds(1 + n as i64)
            };
            let mut t: Vec<DateTime<Utc>> = (0..n)
                .map(|_| between(rng, last + Duration::milliseconds(1), end))
                .collect();
            t.sort();
            t
        };

        // Policy results, on the (policy, system) pairs seen so far.
        let mut results = self.collections.remove(POLICY_RESULTS).unwrap_or_default();
        let mut pairs: Vec<(String, String)> = results
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
                (s("policyID"), s("systemID"))
            })
            .collect();
        pairs.sort();
        pairs.dedup();
        let policies = self
            .collections
            .get("policies")
            .cloned()
            .unwrap_or_default();
        let last = results
            .iter()
            .filter_map(|r| parse_ts(r, "startedAt"))
            .max()
            .unwrap_or(self.now);
        let mut added = (0, 0);
        if !pairs.is_empty() {
            for t in later(&mut rng, last) {
                let (pid, sid) = &pairs[rng.usize(..pairs.len())];
                let Some(p) = policies.iter().find(|p| id_of(p) == pid) else {
                    continue;
                };
                let end = now.max(t);
                results.push(policy_result(&mut rng, p, sid, t, end, false));
                added.0 += 1;
            }
        }
        sort_by_id(&mut results);
        self.collections.insert(POLICY_RESULTS, results);

        // Command results, each a run of one command on one system.
        let systems = self.systems_info();
        let commands = self
            .collections
            .get("commands")
            .cloned()
            .unwrap_or_default();
        let runnable: Vec<(&Value, Vec<&Sys>)> = commands
            .iter()
            .map(|c| (c, command_targets(c, &systems)))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        let mut results = self.collections.remove(COMMAND_RESULTS).unwrap_or_default();
        let last = results
            .iter()
            .filter_map(|r| parse_ts(r, "requestTime"))
            .max()
            .unwrap_or(self.now);
        if !runnable.is_empty() {
            let saved_now = self.now;
            for t in later(&mut rng, last) {
                let (c, targets) = &runnable[rng.usize(..runnable.len())];
                let s = targets[rng.usize(..targets.len())];
                let instance = hex24(&mut rng);
                // Responses come no later than the mutation's `now` (or the request).
                self.now = now.max(t);
                results.push(self.command_result(&mut rng, c, s, t, &instance));
                added.1 += 1;
            }
            self.now = saved_now;
        }
        sort_by_id(&mut results);
        self.collections.insert(COMMAND_RESULTS, results);
        self.extras.rng = Some(rng);
        added
    }

    /// The latest result of every system for one policy (`/policies/{id}/policystatuses`),
    /// in id order; `None` for an unknown policy.
    pub fn policy_statuses(&self, policy_id: &str) -> Option<Vec<Value>> {
        self.find("policies", policy_id)?;
        Some(self.latest_results("policyID", policy_id, "systemID"))
    }

    /// The latest result of every policy on one system (`/systems/{id}/policystatuses`).
    pub fn system_policy_statuses(&self, system_id: &str) -> Option<Vec<Value>> {
        self.find("systems", system_id)?;
        Some(self.latest_results("systemID", system_id, "policyID"))
    }

    /// Results whose `key` is `id`, the latest (by `startedAt`, then id) per `per`.
    fn latest_results(&self, key: &str, id: &str, per: &str) -> Vec<Value> {
        let mut latest: HashMap<&str, &Value> = HashMap::new();
        for r in self.policy_results_of(key, id) {
            let k = r[per].as_str().unwrap_or("");
            let newer = latest.get(k).is_none_or(|old| {
                (r["startedAt"].as_str(), id_of(r)) > (old["startedAt"].as_str(), id_of(old))
            });
            if newer {
                latest.insert(k, r);
            }
        }
        let mut out: Vec<Value> = latest.into_values().cloned().collect();
        sort_by_id(&mut out);
        out
    }

    /// The statuses of one software app; `None` for an unknown app.
    pub fn software_app_statuses(&self, app_id: &str) -> Option<&[Value]> {
        self.extras
            .software_app_statuses
            .get(app_id)
            .map(Vec::as_slice)
    }

    /// The devices of one Apple MDM; `None` for an unknown MDM.
    pub fn apple_mdm_devices(&self, mdm_id: &str) -> Option<&[Value]> {
        self.extras.mdm_devices.get(mdm_id).map(Vec::as_slice)
    }

    /// The Protect devices of one user (often none); `None` for an unknown user.
    pub fn push_endpoints(&self, user_id: &str) -> Option<&[Value]> {
        self.find("systemusers", user_id)?;
        Some(
            self.extras
                .push_endpoints
                .get(user_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        )
    }

    /// `Some(Some(key))` for a system with a recovery key, `Some(None)` for one without,
    /// `None` for an unknown system.
    pub fn fde_key(&self, system_id: &str) -> Option<Option<&str>> {
        self.find("systems", system_id)?;
        Some(self.extras.fde_keys.get(system_id).map(String::as_str))
    }
}

/// The systems a command can run on: those of its type's OS family.
fn command_targets<'a>(c: &Value, systems: &'a [Sys]) -> Vec<&'a Sys> {
    let family = match c.get("commandType").and_then(Value::as_str) {
        Some("mac") => "darwin",
        Some("windows") => "windows",
        _ => "linux",
    };
    systems.iter().filter(|s| s.family == family).collect()
}

/// What a command printed: `uptime` on macOS and Linux, a `Get-Process` table (CRLF) on
/// Windows; most longer than the list's 40 characters, errors too (some with non-ASCII
/// characters before the cut).
fn command_output(
    rng: &mut fastrand::Rng,
    s: &Sys,
    exit: i64,
    at: DateTime<Utc>,
) -> (String, String) {
    if s.family == "windows" {
        if exit != 0 {
            return (
                String::new(),
                "Get-Process : Cannot find a process with the name \"jcagent\". Verify the process name and call the cmdlet again.\r\n".to_string(),
            );
        }
        let mut out = String::from(
            "\r\nHandles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName\r\n-------  ------    -----      -----     ------     --  -- -----------\r\n",
        );
        for _ in 0..rng.usize(3..9) {
            out.push_str(&format!(
                "{:>7} {:>7} {:>8} {:>10} {:>10.2} {:>6} {:>3} {}\r\n",
                rng.u32(80..2000),
                rng.u32(5..90),
                rng.u32(1000..400_000),
                rng.u32(4000..600_000),
                rng.f64() * 900.0,
                rng.u32(4..30_000),
                rng.u8(0..2),
                PROCESSES[rng.usize(..PROCESSES.len())],
            ));
        }
        return (out, String::new());
    }
    match exit {
        0 => {
            let line = format!(
                " {} up {} days, {:2}:{:02},  {} users,  load average: {:.2}, {:.2}, {:.2}\n",
                at.format("%H:%M:%S"),
                rng.u32(1..200),
                rng.u8(..24),
                rng.u8(..60),
                rng.u8(1..5),
                rng.f64() * 3.0,
                rng.f64() * 3.0,
                rng.f64() * 3.0,
            );
            if rng.u8(..3) == 0 {
                // A short one-liner: under the list's cut.
                (format!("up {} days\n", rng.u32(1..200)), String::new())
            } else {
                (line, String::new())
            }
        }
        127 => (
            String::new(),
            format!(
                "/bin/bash: line 1: uptime: command not found\n/bin/bash: warning: setlocale: LC_ALL: cannot change locale (de_DE.UTF-8) on {}\n",
                s.host
            ),
        ),
        _ => (
            "partial output before the failure\n".to_string(),
            "uptime: sysctl(kern.boottime) — échec: operation not permitted\n".to_string(),
        ),
    }
}

fn policy_result(
    rng: &mut fastrand::Rng,
    p: &Value,
    system_id: &str,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    may_pend: bool,
) -> Value {
    let template = p["template"]["name"].as_str().unwrap_or("policy");
    let roll = rng.u8(..20);
    let (state, exit): (&str, i64) = if may_pend && roll == 0 {
        ("pending", 0)
    } else if roll < 4 {
        ("failed", [1, 2, 127][rng.usize(..3)])
    } else {
        ("success", 0)
    };
    let ended = if state == "pending" {
        started
    } else {
        (started + Duration::milliseconds(rng.i64(300..30_000))).min(now.max(started))
    };
    let (out, err, detail) = match state {
        "success" => (
            if rng.bool() {
                format!("{template}: applied\n")
            } else {
                String::new()
            },
            String::new(),
            String::new(),
        ),
        "failed" => (
            String::new(),
            format!("exit status {exit}: {template}: the setting could not be applied\n"),
            "Policy failed to apply".to_string(),
        ),
        _ => (
            String::new(),
            String::new(),
            "Waiting for the agent to report".to_string(),
        ),
    };
    json!({
        "id": object_id(rng, started),
        "policyID": id_of(p),
        "systemID": system_id,
        "startedAt": ts(started),
        "endedAt": ts(ended),
        "success": state == "success",
        "state": state,
        "exitStatus": exit,
        "stdOut": out,
        "stdErr": err,
        "detail": detail,
    })
}

fn make_ip_lists(rng: &mut fastrand::Rng, base: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Value> {
    let lists: [(&str, &str, Vec<String>); 3] = [
        (
            "Office networks",
            "HQ and branch egress",
            vec![
                format!("203.0.113.0/{}", 24 + rng.u8(..4)),
                format!("198.51.100.{}", rng.u8(1..255)),
            ],
        ),
        (
            "VPN egress",
            "",
            vec![
                "192.0.2.10-192.0.2.20".to_string(),
                "2001:db8:4::/48".to_string(),
                format!("192.0.2.{}", rng.u8(100..200)),
            ],
        ),
        (
            "Blocked ranges",
            "Carrier-grade NAT and a known bad actor",
            vec!["100.64.0.0/10".to_string(), "198.18.0.1".to_string()],
        ),
    ];
    let mut out: Vec<Value> = lists
        .into_iter()
        .map(|(name, desc, ips)| {
            let t = between(rng, base, now);
            json!({"id": object_id(rng, t), "name": name, "description": desc, "ips": ips})
        })
        .collect();
    sort_by_id(&mut out);
    out
}

/// (display name, package manager, OS family, package id, version, location).
const SOFTWARE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "Google Chrome",
        "CHOCOLATEY",
        "windows",
        "googlechrome",
        "124.0.6367.91",
        "https://community.chocolatey.org/api/v2/",
    ),
    (
        "Zoom",
        "CHOCOLATEY",
        "windows",
        "zoom",
        "6.0.2.33403",
        "https://community.chocolatey.org/api/v2/",
    ),
    (
        "Microsoft Teams",
        "MICROSOFT_STORE",
        "windows",
        "XP8BT8DW290MPQ",
        "24091.214.2846.1452",
        "",
    ),
    ("Slack", "APPLE_VPP", "darwin", "803453959", "4.38.125", ""),
    (
        "Firefox",
        "APPLE_CUSTOM",
        "darwin",
        "org.mozilla.firefox",
        "125.0.2",
        "https://download.mozilla.org/?product=firefox-latest&os=osx",
    ),
];

fn software_status(
    rng: &mut fastrand::Rng,
    app_id: &str,
    system_id: &str,
    version: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let at = between(rng, since, now);
    let (state, code, details, v) = match rng.u8(..10) {
        0 => (
            "FAILED",
            1603,
            "installation failed: exit code 1603 (fatal error during installation)",
            "",
        ),
        1 => ("PENDING", 0, "", ""),
        2 => ("INSTALLING", 0, "downloading", ""),
        _ => ("INSTALLED", 0, "", version),
    };
    json!({
        "id": object_id(rng, at),
        "softwareAppId": app_id,
        "systemId": system_id,
        "state": state,
        "code": code,
        "details": details,
        "version": v,
        "timestamp": ts(at),
    })
}

fn mac_device(rng: &mut fastrand::Rng, s: &Sys, now: DateTime<Utc>) -> Value {
    let created = (s.created + Duration::hours(rng.i64(1..72))).min(now);
    let (model, number, marketing) = if s.arm {
        (
            "MacBook Pro",
            "MacBookPro18,3",
            "MacBook Pro (14-inch, 2021)",
        )
    } else {
        ("MacBook Air", "MacBookAir9,1", "MacBook Air (Retina, 2020)")
    };
    let capacity = [245.11, 494.38, 994.66][rng.usize(..3)];
    let dep = rng.bool();
    json!({
        "id": object_id(rng, created),
        "udid": uuid_upper(rng),
        "serialNumber": s.serial,
        "osVersion": s.version,
        "enrolled": rng.u8(..12) != 0,
        "depRegistered": dep,
        "createdAt": ts(created),
        "mdmOsFamily": "macOS",
        "modelFamily": "Mac",
        "hasActivationLockBypassCodes": false,
        "deviceInformation": {
            "deviceName": s.host,
            "modelName": model,
            "modelNumber": number,
            "modelMarketingName": marketing,
            "osBuildVersion": format!("23E{}", rng.u16(100..300)),
            "osMarketingName": "macOS Sonoma",
            "isSupervised": dep,
            "isAppleSilicon": s.arm,
            "deviceCapacity": capacity,
            "availableDeviceCapacity": (capacity * rng.f64() * 100.0).round() / 100.0,
            "wifiMac": mac_address(rng),
            "imei": "",
            "iccid": "",
        },
        "securityInfo": {
            "enrolledViaDep": dep,
            "filevaultEnabled": rng.u8(..5) != 0,
            "passcodePresent": true,
            "passcodeCompliant": rng.u8(..6) != 0,
            "recoveryLockEnabled": s.arm && rng.bool(),
            "userApprovedEnrollment": true,
            "isUserEnrollment": false,
            "isActivationLockManageable": dep,
        },
    })
}

fn mobile_device(rng: &mut fastrand::Rng, k: usize, created: DateTime<Utc>) -> Value {
    let ipad = k % 2 == 1;
    let (family, os_family, model, number, marketing, os, os_name) = if ipad {
        (
            "iPad",
            "iPadOS",
            "iPad Air",
            "iPad13,16",
            "iPad Air (5th generation)",
            "17.4.1",
            "iPadOS 17",
        )
    } else {
        (
            "iPhone",
            "iOS",
            "iPhone 15",
            "iPhone15,4",
            "iPhone 15",
            "17.4.1",
            "iOS 17",
        )
    };
    let user_enrollment = !ipad && rng.bool();
    json!({
        "id": object_id(rng, created),
        "udid": format!("{:08X}-{:016X}", rng.u32(..), rng.u64(..)),
        "serialNumber": format!("F{:010X}", rng.u64(..1 << 40)),
        "osVersion": os,
        "enrolled": true,
        "depRegistered": !user_enrollment,
        "createdAt": ts(created),
        "mdmOsFamily": os_family,
        "modelFamily": family,
        "hasActivationLockBypassCodes": !user_enrollment && rng.bool(),
        "deviceInformation": {
            "deviceName": format!("{model} {k}"),
            "modelName": model,
            "modelNumber": number,
            "modelMarketingName": marketing,
            "osBuildVersion": "21E236",
            "osMarketingName": os_name,
            "isSupervised": !user_enrollment,
            "isAppleSilicon": true,
            "deviceCapacity": 128.0,
            "availableDeviceCapacity": (128.0 * rng.f64() * 100.0).round() / 100.0,
            "wifiMac": mac_address(rng),
            "imei": if ipad { String::new() } else { format!("35 {:06} {:06} {}", rng.u32(..1_000_000), rng.u32(..1_000_000), rng.u8(..10)) },
            "iccid": if ipad { String::new() } else { format!("8901{:015}", rng.u64(..1_000_000_000_000_000)) },
        },
        "securityInfo": {
            "enrolledViaDep": !user_enrollment,
            "filevaultEnabled": false,
            "passcodePresent": true,
            "passcodeCompliant": true,
            "recoveryLockEnabled": false,
            "userApprovedEnrollment": true,
            "isUserEnrollment": user_enrollment,
            "isActivationLockManageable": !user_enrollment,
        },
    })
}

fn mac_address(rng: &mut fastrand::Rng) -> String {
    format!(
        "a4:83:e7:{:02x}:{:02x}:{:02x}",
        rng.u8(..),
        rng.u8(..),
        rng.u8(..)
    )
}

fn push_endpoint(
    rng: &mut fastrand::Rng,
    user_created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let enrolled = between(rng, user_created, now);
    let (make, model, os, os_version, name) = match rng.u8(..3) {
        0 => ("Apple", "iPhone15,2", "iOS", "17.4.1", "iPhone"),
        1 => ("Google", "Pixel 8", "Android", "14", "Pixel 8"),
        _ => ("samsung", "SM-S911B", "Android", "14", "Galaxy S23"),
    };
    let mut e = Map::new();
    e.insert("id".into(), json!(object_id(rng, enrolled)));
    e.insert("name".into(), json!(name));
    e.insert(
        "state".into(),
        json!(if rng.u8(..8) == 0 {
            "inactive"
        } else {
            "active"
        }),
    );
    e.insert("enrollmentDate".into(), json!(ts(enrolled)));
    // Never used since enrolment: no `lastUsedDate`.
    if rng.u8(..6) != 0 {
        e.insert(
            "lastUsedDate".into(),
            json!(ts(between(rng, enrolled, now))),
        );
    }
    e.insert(
        "device".into(),
        json!({
            "make": make,
            "model": model,
            "os": os,
            "osVersion": os_version,
            "appVersion": format!("2.{}.{}", rng.u8(10..20), rng.u8(..10)),
            "uvEnabled": rng.bool(),
        }),
    );
    Value::Object(e)
}

/// A recovery key in the form of the system's FDE: a FileVault personal recovery key,
/// a BitLocker recovery password, or a LUKS passphrase.
fn recovery_key(rng: &mut fastrand::Rng, family: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let group = |rng: &mut fastrand::Rng, n: usize| -> String {
        (0..n)
            .map(|_| ALNUM[rng.usize(..ALNUM.len())] as char)
            .collect()
    };
    match family {
        "darwin" => (0..6).map(|_| group(rng, 4)).collect::<Vec<_>>().join("-"),
        "windows" => (0..8)
            .map(|_| format!("{:06}", rng.u32(..1_000_000)))
            .collect::<Vec<_>>()
            .join("-"),
        _ => group(rng, 32).to_lowercase(),
    }
}
