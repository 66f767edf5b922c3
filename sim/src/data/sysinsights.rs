//! System Insights rows (the osquery-style tables of `GET /api/v2/systeminsights/<table>`):
//! in come the org id, its system records and a table name; out come that table's rows for
//! every system whose `systemInsights.state` is `enabled`, systems in `_id` order, each
//! system's rows in the order it reported them. Fields and JSON types follow the V2
//! definitions `system-insights-<table>` and the samples of `shared/jumpcloud-api-extended.md`
//! §1, typing quirks included: numbers sent as strings, osquery 0/1 flags, `users` with JSON
//! booleans, the all-lower-case `chrome_extensions` row, free-text dates, `""` for unset
//! values, trailing spaces, `devide_id`, rows without `collection_time`, repeated keys, and a
//! few values that do not parse as their declared type.
//!
//! Rows are made on demand and not stored here (the routes keep each table's rows once made,
//! in the tenant's `derived` views): each (org, system, table) draws from its own
//! `fastrand::Rng`, seeded from a hash of the three, so the same org gives the same rows on
//! every call and the tenant's own random stream is never touched.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::{id_of, Tenant};

/// The 60 tables with a GET route (V2, 2026), in the reference's order of names.
pub const TABLES: &[&str] = &[
    "alf",
    "alf_exceptions",
    "alf_explicit_auths",
    "appcompat_shims",
    "apps",
    "authorized_keys",
    "azure_instance_metadata",
    "azure_instance_tags",
    "battery",
    "bitlocker_info",
    "browser_plugins",
    "certificates",
    "chassis_info",
    "chrome_extensions",
    "connectivity",
    "crashes",
    "cups_destinations",
    "disk_encryption",
    "disk_info",
    "dns_resolvers",
    "etc_hosts",
    "firefox_addons",
    "groups",
    "ie_extensions",
    "interface_addresses",
    "interface_details",
    "kernel_info",
    "launchd",
    "linux_packages",
    "logged_in_users",
    "logical_drives",
    "managed_policies",
    "mounts",
    "os_version",
    "patches",
    "programs",
    "python_packages",
    "safari_extensions",
    "scheduled_tasks",
    "secureboot",
    "services",
    "shadow",
    "shared_folders",
    "shared_resources",
    "sharing_preferences",
    "sip_config",
    "startup_items",
    "system_controls",
    "system_info",
    "tpm_info",
    "uptime",
    "usb_devices",
    "user_groups",
    "user_ssh_keys",
    "userassist",
    "users",
    "wifi_networks",
    "wifi_status",
    "windows_security_center",
    "windows_security_products",
];

/// The tables whose rows carry no `collection_time` (§1.2).
pub const NO_COLLECTION_TIME: &[&str] = &[
    "certificates",
    "cups_destinations",
    "interface_details",
    "linux_packages",
    "python_packages",
    "scheduled_tasks",
    "services",
    "startup_items",
];

/// The state a system record reports in `systemInsights.state` (`enabled`, `disabled`,
/// `deferred`); only `enabled` systems have rows.
pub fn state(system: &Value) -> &str {
    system
        .get("systemInsights")
        .and_then(|s| s.get("state"))
        .and_then(Value::as_str)
        .unwrap_or("disabled")
}

/// The state of the `i`-th system of an org, from its index alone (the tenant's random
/// stream is not touched): one in seven disabled, one in eleven deferred.
pub fn state_of_index(i: usize) -> &'static str {
    if i % 7 == 3 {
        "disabled"
    } else if i % 11 == 5 {
        "deferred"
    } else {
        "enabled"
    }
}

/// Every row of `table` in the tenant, in the route's natural order; empty for an unknown
/// table.
pub fn rows(t: &Tenant, table: &str) -> Vec<Value> {
    let Some(systems) = t.collections.get("systems") else {
        return Vec::new();
    };
    rows_of(&t.org_id, systems, table)
}

/// Every row of `table` for `systems` of org `org_id`: enabled systems in `_id` order, each
/// system's rows in report order.
pub fn rows_of(org_id: &str, systems: &[Value], table: &str) -> Vec<Value> {
    if !TABLES.contains(&table) {
        return Vec::new();
    }
    let mut ordered: Vec<&Value> = systems.iter().collect();
    ordered.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    let mut out = Vec::new();
    for s in ordered {
        if state(s) == "enabled" {
            out.extend(system_rows(org_id, s, table));
        }
    }
    out
}

/// FNV-1a over the parts, each followed by a separator byte.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn rng_for(parts: &[&str]) -> fastrand::Rng {
    fastrand::Rng::with_seed(hash(parts))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Os {
    Mac,
    Windows,
    Linux,
}

/// A local account of a human on the system.
struct Person {
    login: String,
    full: String,
    uid: i64,
}

/// What one system's tables agree on: its identity, hardware, people and clock.
struct Sys {
    id: String,
    os: Os,
    /// The record's `os` and `version` (`Mac OS X` / `14.4.1`, `Ubuntu` / `22.04`, …).
    os_name: String,
    version: String,
    hostname: String,
    serial: String,
    arm: bool,
    laptop: bool,
    /// Hardware model, vendor, version as osquery reports them (Apple's with a trailing space).
    model: &'static str,
    vendor: &'static str,
    hw_version: &'static str,
    cpu: (&'static str, &'static str, &'static str, i64, i64),
    memory: u64,
    uuid: String,
    people: Vec<Person>,
    /// Windows: the machine's domain SID prefix (`S-1-5-21-a-b-c`).
    sid_prefix: String,
    /// Set on Azure VMs.
    azure_vm: Option<String>,
    /// When the agent last collected (each table a few ms apart).
    collected: DateTime<Utc>,
    /// Seconds since boot at collection.
    up: i64,
}

const FIRST: &[(&str, &str)] = &[
    ("ada", "Ada Lovelace"),
    ("grace", "Grace Hopper"),
    ("linus", "Linus Pauling"),
    ("margaret", "Margaret Hamilton"),
    ("alan", "Alan Turing"),
    ("barbara", "Barbara Liskov"),
    ("ken", "Ken Thompson"),
    ("radia", "Radia Perlman"),
    ("dennis", "Dennis Ritchie"),
    ("frances", "Frances Allen"),
    ("hedy", "Hedy Lamarr"),
    ("edsger", "Edsger Dijkstra"),
    ("katherine", "Katherine Johnson"),
    ("donald", "Donald Knuth"),
];

const MAC_MODELS: &[(&str, bool, bool)] = &[
    // (model, laptop, arm)
    ("MacBookPro14,3 ", true, false),
    ("MacBookPro16,1 ", true, false),
    ("MacBookPro18,3 ", true, true),
    ("Mac14,7 ", true, true),
    ("MacBookAir10,1 ", true, true),
    ("Macmini9,1 ", false, true),
    ("iMac21,1 ", false, true),
];

const PC_MODELS: &[(&str, &str, &str, bool)] = &[
    // (vendor, model, version, laptop)
    ("Dell Inc.", "Latitude 7420", "", true),
    ("Dell Inc.", "OptiPlex 7090", "", false),
    ("LENOVO", "20XW003JUS", "ThinkPad X1 Carbon Gen 9", true),
    ("LENOVO", "21CB007CUS", "ThinkPad T14 Gen 3", true),
    ("HP", "HP EliteBook 840 G8 Notebook PC", "SBKPF", true),
    (
        "Microsoft Corporation",
        "Virtual Machine",
        "Hyper-V UEFI Release v4.1",
        false,
    ),
];

const CPUS_X86: &[(&str, &str, &str, i64, i64)] = &[
    // (brand, type, subtype, logical, physical)
    (
        "Intel(R) Core(TM) i7-7820HQ CPU @ 2.90GHz",
        "x86_64h",
        "Intel x86-64h Haswell",
        8,
        4,
    ),
    (
        "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz",
        "x86_64",
        "-1",
        8,
        4,
    ),
    (
        "Intel(R) Core(TM) i5-10310U CPU @ 1.70GHz",
        "x86_64",
        "-1",
        8,
        4,
    ),
    (
        "AMD Ryzen 7 PRO 5850U with Radeon Graphics",
        "x86_64",
        "-1",
        16,
        8,
    ),
];

const CPUS_ARM: &[(&str, &str, &str, i64, i64)] = &[
    ("Apple M1", "arm64e", "ARM64E", 8, 8),
    ("Apple M1 Pro", "arm64e", "ARM64E", 10, 10),
    ("Apple M2", "arm64e", "ARM64E", 8, 8),
    ("Apple M3 Max", "arm64e", "ARM64E", 16, 16),
];

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
        .collect()
}

fn guid(rng: &mut fastrand::Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 12)
    )
    .to_uppercase()
}

fn one<'a, T>(rng: &mut fastrand::Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.usize(..xs.len())]
}

/// Distinct indices of `0..len`, as many as `n` draws (at most `len`), in a random order.
fn sample(rng: &mut fastrand::Rng, len: usize, n: std::ops::RangeInclusive<usize>) -> Vec<usize> {
    let n = rng.usize(n);
    let mut ix: Vec<usize> = (0..len).collect();
    rng.shuffle(&mut ix);
    ix.truncate(n.min(len));
    ix
}

fn ts_ms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A float number of seconds as osquery's CSV layer prints it: `1.55668896350383E9`.
fn sci(x: f64) -> String {
    let m = format!("{:.14}", x / 1e9);
    let m = m.trim_end_matches('0').trim_end_matches('.');
    format!("{m}E9")
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

impl Sys {
    fn new(org_id: &str, s: &Value) -> Sys {
        let id = id_of(s).to_string();
        let mut rng = rng_for(&[org_id, &id, "~system"]);
        let os = match field(s, "osFamily") {
            "darwin" => Os::Mac,
            "windows" => Os::Windows,
            _ => Os::Linux,
        };
        let arm_rec = field(s, "arch") == "arm64";
        let (model, vendor, hw_version, laptop, arm) = match os {
            Os::Mac => {
                let (m, l, a) = *one(&mut rng, MAC_MODELS);
                (m, "Apple Inc. ", "1.0 ", l, a)
            }
            _ => {
                let (v, m, ver, l) = *one(&mut rng, PC_MODELS);
                (m, v, ver, l, arm_rec && os == Os::Linux)
            }
        };
        let cpu = if arm {
            *one(&mut rng, CPUS_ARM)
        } else {
            *one(&mut rng, CPUS_X86)
        };
        let memory = [8u64, 16, 16, 32, 64][rng.usize(..5)] << 30;
        let base_uid = match os {
            Os::Mac => 501,
            Os::Windows => 1001,
            Os::Linux => 1000,
        };
        let people = (0..rng.usize(1..=2))
            .map(|k| {
                let (login, full) = *one(&mut rng, FIRST);
                Person {
                    login: if k == 0 {
                        login.to_string()
                    } else {
                        format!("{login}.admin")
                    },
                    full: full.to_string(),
                    uid: base_uid + k as i64,
                }
            })
            .collect();
        let sid_prefix = format!(
            "S-1-5-21-{}-{}-{}",
            rng.u32(1_000_000_000..4_000_000_000),
            rng.u32(1_000_000_000..4_000_000_000),
            rng.u32(1_000_000_000..4_000_000_000)
        );
        let azure_vm = (os != Os::Mac && rng.u8(..5) == 0).then(|| guid(&mut rng).to_lowercase());
        let seen = [field(s, "lastContact"), field(s, "created")]
            .into_iter()
            .find_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| {
                Utc.timestamp_opt(1_700_000_000, 0)
                    .single()
                    .unwrap_or_default()
            });
        let collected = seen - Duration::milliseconds(rng.i64(0..6 * 3600 * 1000));
        Sys {
            os,
            os_name: field(s, "os").to_string(),
            version: field(s, "version").to_string(),
            hostname: field(s, "hostname").to_string(),
            serial: field(s, "serialNumber").to_string(),
            arm,
            laptop,
            model,
            vendor,
            hw_version,
            cpu,
            memory,
            uuid: guid(&mut rng),
            people,
            sid_prefix,
            azure_vm,
            collected,
            up: rng.i64(300..40 * 86_400),
            id,
        }
    }

    fn home(&self, login: &str) -> String {
        match self.os {
            Os::Mac => format!("/Users/{login}"),
            Os::Windows => format!(r"C:\Users\{login}"),
            Os::Linux => format!("/home/{login}"),
        }
    }

    fn person<'a>(&'a self, rng: &mut fastrand::Rng) -> &'a Person {
        one(rng, &self.people)
    }

    fn user_sid(&self, rid: i64) -> String {
        format!("{}-{rid}", self.sid_prefix)
    }

    fn epoch(&self) -> i64 {
        self.collected.timestamp()
    }
}

/// One system's rows of one table, as the route serves them.
pub fn system_rows(org_id: &str, system: &Value, table: &str) -> Vec<Value> {
    let sys = Sys::new(org_id, system);
    let mut rng = rng_for(&[org_id, &sys.id, table]);
    let raw = generate(table, &sys, &mut rng);
    let stamp = sys.collected + Duration::milliseconds((hash(&[table]) % 1500) as i64);
    let timed = !NO_COLLECTION_TIME.contains(&table);
    let mut rows: Vec<Value> = raw
        .into_iter()
        .map(|r| {
            let Value::Object(mut m) = r else {
                return r;
            };
            m.insert("system_id".into(), json!(sys.id));
            // About one row in fifty comes without its collection time.
            if timed && rng.u8(..50) != 0 {
                m.insert("collection_time".into(), json!(ts_ms(stamp)));
            }
            // Keys in name order, as the API sends them.
            let mut keys: Vec<(String, Value)> = m.into_iter().collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            let mut m: Map<String, Value> = keys.into_iter().collect();
            if table == "chrome_extensions" {
                for v in m.values_mut() {
                    if let Value::String(s) = v {
                        *s = s.to_lowercase();
                    }
                }
            }
            Value::Object(m)
        })
        .collect();
    // Some Windows systems report one hotfix twice, identically.
    if table == "patches" && (1..15).contains(&rows.len()) && rng.u8(..3) == 0 {
        let i = rng.usize(..rows.len());
        let again = rows[i].clone();
        rows.insert(i + 1, again);
    }
    rows
}

fn generate(table: &str, s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    use Os::*;
    let os = s.os;
    let on = |oses: &[Os]| oses.contains(&os);
    match table {
        "alf" if on(&[Mac]) => alf(rng),
        "alf_exceptions" if on(&[Mac]) => alf_exceptions(rng),
        "alf_explicit_auths" if on(&[Mac]) => alf_explicit_auths(rng),
        "appcompat_shims" if on(&[Windows]) => appcompat_shims(rng),
        "apps" if on(&[Mac]) => apps(s, rng),
        "authorized_keys" if on(&[Mac, Linux]) => authorized_keys(s, rng),
        "azure_instance_metadata" if s.azure_vm.is_some() => azure_instance_metadata(s, rng),
        "azure_instance_tags" if s.azure_vm.is_some() => azure_instance_tags(s, rng),
        "battery" if on(&[Mac]) && s.laptop => battery(s, rng),
        "bitlocker_info" if on(&[Windows]) => bitlocker_info(rng),
        "browser_plugins" if on(&[Mac]) => browser_plugins(s, rng),
        "certificates" if on(&[Mac, Windows]) => certificates(s, rng),
        "chassis_info" if on(&[Windows]) => chassis_info(s, rng),
        "chrome_extensions" => chrome_extensions(s, rng),
        "connectivity" if on(&[Windows]) => connectivity(rng),
        "crashes" if on(&[Mac]) => crashes(s, rng),
        "cups_destinations" if on(&[Mac]) => cups_destinations(rng),
        "disk_encryption" if on(&[Mac, Linux]) => disk_encryption(s, rng),
        "disk_info" if on(&[Windows]) => disk_info(s, rng),
        "dns_resolvers" if on(&[Mac, Linux]) => dns_resolvers(rng),
        "etc_hosts" => etc_hosts(s, rng),
        "firefox_addons" => firefox_addons(s, rng),
        "groups" => groups(s, rng),
        "ie_extensions" if on(&[Windows]) => ie_extensions(rng),
        "interface_addresses" => interface_addresses(s, rng),
        "interface_details" => interface_details(s, rng),
        "kernel_info" => kernel_info(s, rng),
        "launchd" if on(&[Mac]) => launchd(rng),
        "linux_packages" if on(&[Linux]) => linux_packages(s, rng),
        "logged_in_users" => logged_in_users(s, rng),
        "logical_drives" if on(&[Windows]) => logical_drives(rng),
        "managed_policies" if on(&[Mac]) => managed_policies(s, rng),
        "mounts" if on(&[Mac, Linux]) => mounts(s, rng),
        "os_version" => os_version(s, rng),
        "patches" if on(&[Windows]) => patches(s, rng),
        "programs" if on(&[Windows]) => programs(rng),
        "python_packages" => python_packages(s, rng),
        "safari_extensions" if on(&[Mac]) => safari_extensions(s, rng),
        "scheduled_tasks" if on(&[Windows]) => scheduled_tasks(s, rng),
        "secureboot" => secureboot(s, rng),
        "services" if on(&[Windows]) => services(rng),
        "shadow" if on(&[Linux]) => shadow(s, rng),
        "shared_folders" if on(&[Mac]) => shared_folders(s, rng),
        "shared_resources" if on(&[Windows]) => shared_resources(rng),
        "sharing_preferences" if on(&[Mac]) => sharing_preferences(rng),
        "sip_config" if on(&[Mac]) => sip_config(rng),
        "startup_items" if on(&[Mac, Windows]) => startup_items(s, rng),
        "system_controls" if on(&[Mac, Linux]) => system_controls(s, rng),
        "system_info" => system_info(s, rng),
        "tpm_info" if on(&[Windows]) => tpm_info(rng),
        "uptime" => uptime(s, rng),
        "usb_devices" if on(&[Mac, Linux]) => usb_devices(rng),
        "user_groups" => user_groups(s, rng),
        "user_ssh_keys" if on(&[Mac, Linux]) => user_ssh_keys(s, rng),
        "userassist" if on(&[Windows]) => userassist(s, rng),
        "users" => users(s, rng),
        "wifi_networks" if on(&[Mac]) => wifi_networks(rng),
        "wifi_status" if on(&[Mac]) && s.laptop => wifi_status(rng),
        "windows_security_center" if on(&[Windows]) => windows_security_center(rng),
        "windows_security_products" if on(&[Windows]) => windows_security_products(s, rng),
        _ => Vec::new(),
    }
}

fn flag(rng: &mut fastrand::Rng, one_in: u8) -> i64 {
    i64::from(rng.u8(..one_in) == 0)
}

// ---- macOS ----------------------------------------------------------------------------

fn alf(rng: &mut fastrand::Rng) -> Vec<Value> {
    vec![json!({
        "allow_signed_enabled": 1 - flag(rng, 6),
        "firewall_unload": 0,
        "global_state": rng.i64(0..3),
        "logging_enabled": flag(rng, 2),
        "logging_option": 0,
        "stealth_enabled": flag(rng, 3),
        "version": "1.6",
    })]
}

fn alf_exceptions(rng: &mut fastrand::Rng) -> Vec<Value> {
    const PATHS: &[&str] = &[
        "/System/Library/PrivateFrameworks/Admin.framework/Versions/A/Resources/readconfig",
        "/System/Library/CoreServices/UniversalControl.app/",
        "/usr/libexec/remoted",
        "/usr/sbin/sshd-keygen-wrapper",
        "/Applications/zoom.us.app/",
        "/Applications/Spotify.app/",
    ];
    sample(rng, PATHS.len(), 0..=3)
        .into_iter()
        .map(|i| json!({"path": PATHS[i], "state": ([0, 3][rng.usize(..2)])}))
        .collect()
}

fn alf_explicit_auths(rng: &mut fastrand::Rng) -> Vec<Value> {
    const PROCS: &[&str] = &[
        "org.python.python.app",
        "com.apple.ruby",
        "com.apple.a2p",
        "com.apple.javajdk16.cmd",
        "com.apple.php",
        "com.apple.nc",
        "com.apple.ksh",
    ];
    sample(rng, PROCS.len(), 0..=3)
        .into_iter()
        .map(|i| json!({"process": PROCS[i]}))
        .collect()
}

/// (display name, bundle id, category, short version, bundle version, minimum macOS)
const MAC_APPS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "App Store",
        "com.apple.AppStore",
        "public.app-category.utilities",
        "3.0",
        "1",
        "14.4",
    ),
    (
        "Safari",
        "com.apple.Safari",
        "public.app-category.productivity",
        "17.4.1",
        "19618.1.15.11.14",
        "14.4",
    ),
    (
        "Mail",
        "com.apple.mail",
        "public.app-category.productivity",
        "16.0",
        "3774.500.171.1.1",
        "14.4",
    ),
    (
        "Calendar",
        "com.apple.iCal",
        "public.app-category.productivity",
        "11.0",
        "2800.4.5",
        "14.4",
    ),
    (
        "Notes",
        "com.apple.Notes",
        "public.app-category.productivity",
        "4.11",
        "2689",
        "14.4",
    ),
    (
        "Preview",
        "com.apple.Preview",
        "public.app-category.productivity",
        "11.0",
        "1056.5.1",
        "14.4",
    ),
    (
        "Terminal",
        "com.apple.Terminal",
        "public.app-category.utilities",
        "2.14",
        "453",
        "14.4",
    ),
    (
        "TextEdit",
        "com.apple.TextEdit",
        "public.app-category.productivity",
        "1.19",
        "378",
        "14.4",
    ),
    (
        "System Settings",
        "com.apple.systempreferences",
        "",
        "15.0",
        "15.0",
        "14.4",
    ),
    (
        "Photos",
        "com.apple.Photos",
        "public.app-category.photography",
        "9.0",
        "640.0.110",
        "14.4",
    ),
    (
        "Xcode",
        "com.apple.dt.Xcode",
        "public.app-category.developer-tools",
        "15.3",
        "22618",
        "13.5",
    ),
    (
        "Keynote",
        "com.apple.iWork.Keynote",
        "public.app-category.productivity",
        "14.0",
        "7040.0.73",
        "13.0",
    ),
    (
        "Pages",
        "com.apple.iWork.Pages",
        "public.app-category.productivity",
        "14.0",
        "8040.0.73",
        "13.0",
    ),
    (
        "Numbers",
        "com.apple.iWork.Numbers",
        "public.app-category.productivity",
        "14.0",
        "11040.0.73",
        "13.0",
    ),
    (
        "Google Chrome",
        "com.google.Chrome",
        "public.app-category.productivity",
        "124.0.6367.91",
        "6367.91",
        "10.15",
    ),
    (
        "Firefox",
        "org.mozilla.firefox",
        "public.app-category.productivity",
        "125.0.3",
        "12524.4.23",
        "10.15.0",
    ),
    (
        "Microsoft Edge",
        "com.microsoft.edgemac",
        "public.app-category.productivity",
        "124.0.2478.67",
        "2478.67.2",
        "10.15",
    ),
    (
        "Slack",
        "com.tinyspeck.slackmacgap",
        "public.app-category.business",
        "4.38.115",
        "438000115",
        "10.15",
    ),
    (
        "zoom.us",
        "us.zoom.xos",
        "",
        "6.0.2 (33403)",
        "6.0.2.33403",
        "10.13.0",
    ),
    (
        "Microsoft Word",
        "com.microsoft.Word",
        "public.app-category.productivity",
        "16.84",
        "16.84.24041420",
        "12.0",
    ),
    (
        "Microsoft Excel",
        "com.microsoft.Excel",
        "public.app-category.productivity",
        "16.84",
        "16.84.24041420",
        "12.0",
    ),
    (
        "Microsoft Outlook",
        "com.microsoft.Outlook",
        "public.app-category.productivity",
        "16.84",
        "16.84.24041420",
        "12.0",
    ),
    (
        "Microsoft Teams",
        "com.microsoft.teams2",
        "public.app-category.business",
        "24074.2321.2810.3500",
        "24074.2321.2810.3500",
        "11.0",
    ),
    (
        "Visual Studio Code",
        "com.microsoft.VSCode",
        "public.app-category.developer-tools",
        "1.88.1",
        "1.88.1",
        "10.15",
    ),
    (
        "iTerm",
        "com.googlecode.iterm2",
        "public.app-category.developer-tools",
        "3.4.23",
        "3.4.23",
        "10.14",
    ),
    (
        "Docker",
        "com.docker.docker",
        "public.app-category.developer-tools",
        "4.29.0",
        "145265",
        "12.0.0",
    ),
    (
        "1Password 7",
        "com.agilebits.onepassword7",
        "public.app-category.productivity",
        "7.9.11",
        "70911000",
        "10.14",
    ),
    (
        "Spotify",
        "com.spotify.client",
        "public.app-category.music",
        "1.2.35.663",
        "1.2.35.663",
        "10.15",
    ),
    (
        "Figma",
        "com.figma.Desktop",
        "public.app-category.graphics-design",
        "124.0.2",
        "124.0.2",
        "10.15",
    ),
    (
        "Notion",
        "notion.id",
        "public.app-category.productivity",
        "3.5.0",
        "3.5.0",
        "10.15",
    ),
    (
        "Postman",
        "com.postmanlabs.mac",
        "public.app-category.developer-tools",
        "10.24.16",
        "10.24.16",
        "10.13",
    ),
    (
        "Tunnelblick",
        "net.tunnelblick.tunnelblick",
        "",
        "4.0.1 (build 5971)",
        "6030",
        "10.10.0",
    ),
    (
        "Rectangle",
        "com.knollsoft.Rectangle",
        "public.app-category.productivity",
        "0.77",
        "85",
        "10.15",
    ),
    (
        "The Unarchiver",
        "cx.c3.theunarchiver",
        "public.app-category.utilities",
        "4.3.8",
        "4.3.8",
        "10.13",
    ),
    (
        "VLC",
        "org.videolan.vlc",
        "public.app-category.entertainment",
        "3.0.20",
        "3.0.20",
        "10.7.5",
    ),
    (
        "JumpCloud Password Manager",
        "com.jumpcloud.passwordmanager",
        "public.app-category.productivity",
        "1.37.0",
        "1.37.0",
        "11.0",
    ),
];

fn app_row(
    s: &Sys,
    rng: &mut fastrand::Rng,
    app: &(&str, &str, &str, &str, &str, &str),
    path: String,
) -> Value {
    let (name, id, category, short, version, min) = *app;
    let apple = id.starts_with("com.apple.");
    // Seconds since the epoch as a float; most as osquery's scientific-notation string, some
    // as a plain JSON number; never-opened apps say -1.
    let opened = s.epoch() as f64 - rng.f64() * 90.0 * 86_400.0;
    let opened = (opened * 100_000.0).round() / 100_000.0;
    let last_opened = match rng.u8(..10) {
        0 => json!(opened),
        1 if !apple => json!("-1.0"),
        _ => json!(sci(opened)),
    };
    json!({
        "applescript_enabled": if apple || rng.u8(..3) == 0 { "1" } else { "0" },
        "bundle_executable": name,
        "bundle_identifier": id,
        "bundle_name": name,
        "bundle_package_type": "APPL",
        "bundle_short_version": short,
        "bundle_version": version,
        "category": category,
        "compiler": "com.apple.compilers.llvm.clang.1_0",
        "copyright": if apple { "Copyright © 2024 Apple Inc. All rights reserved.".to_string() } else if rng.bool() { String::new() } else { format!("© 2024 {name}") },
        "development_region": (["English", "en", "en"][rng.usize(..3)]),
        "display_name": if rng.u8(..4) == 0 { "" } else { name },
        "element": "",
        "environment": "",
        "info_string": "",
        "last_opened_time": last_opened,
        "minimum_system_version": min,
        "name": format!("{name}.app"),
        "path": path,
    })
}

fn apps(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let n = rng.usize(5..=29);
    let mut out: Vec<Value> = sample(rng, MAC_APPS.len(), n..=n)
        .into_iter()
        .map(|i| {
            let path = format!("/Applications/{}.app", MAC_APPS[i].0);
            app_row(s, rng, &MAC_APPS[i], path)
        })
        .collect();
    // One system in three also has a second copy of an app (same bundle id, other path).
    if rng.u8(..3) == 0 {
        let pick = out[rng.usize(..out.len())].clone();
        let id = field(&pick, "bundle_identifier");
        if let Some(app) = MAC_APPS.iter().find(|a| a.1 == id) {
            let login = &s.person(rng).login;
            let path = format!("/Users/{login}/Applications/{}.app", app.0);
            let at = rng.usize(..=out.len());
            let row = app_row(s, rng, app, path);
            out.insert(at, row);
        }
    }
    out
}

fn battery(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let designed = rng.i64(4_300..8_700);
    let max = designed * rng.i64(75..101) / 100;
    let pct = rng.i64(5..101);
    let charging = i64::from(pct < 100 && rng.bool());
    vec![json!({
        "amperage": if charging == 1 { rng.i64(200..3_000) } else { -rng.i64(200..2_000) },
        "charged": i64::from(pct == 100),
        "charging": charging,
        "condition": if max * 100 / designed < 80 { "Service Recommended" } else { "Normal" },
        "current_capacity": max * pct / 100,
        "cycle_count": rng.i64(3..900),
        "designed_capacity": designed,
        "health": if max * 100 / designed < 80 { "Fair" } else { "Good" },
        "manufacture_date": s.epoch() - rng.i64(100..1_200) * 86_400,
        "manufacturer": (["SMP", "DSY", "SWD"][rng.usize(..3)]),
        "max_capacity": max,
        "minutes_to_full_charge": if charging == 1 { rng.i64(5..180) } else { -1 },
        "minutes_until_empty": if charging == 1 { -1 } else { rng.i64(30..900) },
        "model": "bq20z451",
        "percent_remaining": pct,
        "serial_number": format!("D86{}", hex(rng, 13).to_uppercase()),
        "state": if charging == 1 { "AC Power" } else { "Battery Power" },
        "voltage": rng.i64(11_400..13_100),
    })]
}

fn browser_plugins(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const PLUGINS: &[(&str, &str, &str, &str, &str)] = &[
        (
            "LastPass",
            "com.lastpass.nplastpass",
            "LastPass Plugin",
            "nplastpass.plugin",
            "4.1.7",
        ),
        (
            "Java Applet Plug-in",
            "com.oracle.java.JavaAppletPlugin",
            "Displays Java applet content",
            "JavaAppletPlugin.plugin",
            "Java 8 Update 411",
        ),
        (
            "Silverlight Plug-In",
            "com.microsoft.SilverlightPlugin",
            "5.1.50918.0",
            "Silverlight.plugin",
            "5.1.50918.0",
        ),
        (
            "AdobeAAMDetect",
            "com.adobe.AAM.AdobeAAMDetectPlugin",
            "AdobeAAMDetect",
            "AdobeAAMDetect.plugin",
            "3.0.0.0",
        ),
        (
            "Google Earth Plugin",
            "com.google.googleearthplugin",
            "Google Earth Plugin",
            "Google Earth Web Plug-in.plugin",
            "7.1.8.3036",
        ),
        (
            "Default Browser",
            "com.google.chrome.defaultbrowser",
            "Provides information about the default web browser",
            "Default Browser.plugin",
            "2",
        ),
    ];
    sample(rng, PLUGINS.len(), 0..=4)
        .into_iter()
        .map(|i| {
            let (name, id, desc, file, version) = PLUGINS[i];
            let user = rng.u8(..3) == 0;
            let p = s.person(rng);
            json!({
                "description": desc,
                "development_region": (["en-US", "English", ""][rng.usize(..3)]),
                "disabled": flag(rng, 5),
                "identifier": id,
                "name": name,
                "native": flag(rng, 4),
                "path": if user { format!("{}/Library/Internet Plug-Ins/{file}/", s.home(&p.login)) } else { format!("/Library/Internet Plug-Ins/{file}/") },
                "sdk": (["7D175", "", "macosx10.9"][rng.usize(..3)]),
                "uid": if user { p.uid.to_string() } else { "0".into() },
                "version": version,
            })
        })
        .collect()
}

fn crashes(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const APPS: &[(&str, &str, &str)] = &[
        ("Slack", "com.tinyspeck.slackmacgap", "/Applications/Slack.app/Contents/MacOS/Slack"),
        ("zoom.us", "us.zoom.xos", "/Applications/zoom.us.app/Contents/MacOS/zoom.us"),
        ("Google Chrome Helper (Renderer)", "com.google.Chrome.helper.renderer", "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework.framework/Versions/124.0.6367.91/Helpers/Google Chrome Helper (Renderer).app/Contents/MacOS/Google Chrome Helper (Renderer)"),
        ("Finder", "com.apple.finder", "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder"),
    ];
    (0..rng.usize(0..=3))
        .map(|_| {
            let (name, id, path) = *one(rng, APPS);
            let p = s.person(rng);
            let when = s.collected - Duration::minutes(rng.i64(10..60 * 24 * 30));
            let pid = rng.u32(300..90_000);
            json!({
                "crash_path": format!("{}/Library/Logs/DiagnosticReports/{name}-{}.ips", s.home(&p.login), when.format("%Y-%m-%d-%H%M%S")),
                "crashed_thread": rng.u32(0..40).to_string(),
                "datetime": when.format("%Y-%m-%d %H:%M:%S.%3f %z").to_string(),
                "exception_codes": "0x0000000000000001, 0x0000000000000000",
                "exception_notes": "EXC_CORPSE_NOTIFY",
                "exception_type": (["EXC_BAD_ACCESS (SIGSEGV)", "EXC_CRASH (SIGABRT)", "EXC_BREAKPOINT (SIGTRAP)"][rng.usize(..3)]),
                "identifier": id,
                "parent": "1",
                "path": path,
                "pid": pid.to_string(),
                "registers": format!("rax:0x{} rbx:0x{}", hex(rng, 16), hex(rng, 16)),
                "responsible": format!("{name} [{pid}]"),
                "stack_trace": format!("libsystem_kernel.dylib 0x{} __pthread_kill + 8", hex(rng, 12)),
                "type": "application",
                "uid": p.uid,
                "version": format!("{}.{}.{}", rng.u8(1..30), rng.u8(..20), rng.u8(..200)),
            })
        })
        .collect()
}

fn cups_destinations(rng: &mut fastrand::Rng) -> Vec<Value> {
    const PRINTERS: &[&str] = &[
        "HP_LaserJet_Pro_M404",
        "Brother_HL_L2350DW",
        "Canon_iR_ADV_C5535",
    ];
    const OPTIONS: &[(&str, &str)] = &[
        (
            "device-uri",
            "dnssd://Printer._ipp._tcp.local./?uuid=6c2f1c0a",
        ),
        ("printer-is-shared", "false"),
        ("printer-location", "3rd floor"),
        ("printer-make-and-model", "Generic PostScript Printer"),
        ("printer-state", "3"),
    ];
    let printer = *one(rng, PRINTERS);
    sample(rng, OPTIONS.len(), 0..=3)
        .into_iter()
        .map(
            |i| json!({"name": printer, "option_name": OPTIONS[i].0, "option_value": OPTIONS[i].1}),
        )
        .collect()
}

fn launchd(rng: &mut fastrand::Rng) -> Vec<Value> {
    const JOBS: &[(&str, &str, &str)] = &[
        ("com.jumpcloud.darwin-agent", "/opt/jc/bin/jumpcloud-agent", "/Library/LaunchDaemons/com.jumpcloud.darwin-agent.plist"),
        ("com.apple.sshd", "/usr/libexec/sshd-keygen-wrapper", "/System/Library/LaunchDaemons/ssh.plist"),
        ("com.google.keystone.daemon", "/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Helpers/GoogleSoftwareUpdateDaemon", "/Library/LaunchDaemons/com.google.keystone.daemon.plist"),
        ("com.docker.vmnetd", "/Library/PrivilegedHelperTools/com.docker.vmnetd", "/Library/LaunchDaemons/com.docker.vmnetd.plist"),
        ("us.zoom.ZoomDaemon", "/Library/PrivilegedHelperTools/us.zoom.ZoomDaemon", "/Library/LaunchDaemons/us.zoom.ZoomDaemon.plist"),
    ];
    sample(rng, JOBS.len(), 1..=3)
        .into_iter()
        .map(|i| {
            let (label, program, path) = JOBS[i];
            json!({
                "disabled": "",
                "groupname": "",
                "inetd_compatibility": if label == "com.apple.sshd" { "1" } else { "" },
                "keep_alive": if rng.bool() { "1" } else { "" },
                "label": label,
                "name": path.rsplit('/').next().unwrap_or(path),
                "on_demand": "",
                "path": path,
                "process_type": if rng.bool() { "Interactive" } else { "" },
                "program": if rng.bool() { program } else { "" },
                "program_arguments": program,
                "queue_directories": "",
                "root_directory": "",
                "run_at_load": "1",
                "start_interval": if rng.u8(..3) == 0 { "3600" } else { "" },
                "start_on_mount": "",
                "stderr_path": "",
                "stdout_path": "",
                "username": "",
                "watch_paths": "",
                "working_directory": "",
            })
        })
        .collect()
}

fn managed_policies(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const POLICIES: &[(&str, &str, &str)] = &[
        ("com.apple.screensaver", "askForPassword", "1"),
        ("com.apple.screensaver", "idleTime", "600"),
        (
            "com.apple.SoftwareUpdate",
            "AutomaticallyInstallMacOSUpdates",
            "1",
        ),
        ("com.apple.applicationaccess", "allowCamera", "1"),
        ("com.apple.MCX", "DisableGuestAccount", "1"),
        ("com.apple.loginwindow", "SHOWFULLNAME", "0"),
    ];
    sample(rng, POLICIES.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (domain, name, value) = POLICIES[i];
            let user = rng.u8(..4) == 0;
            json!({
                "domain": domain,
                "manual": 0,
                "name": name,
                "username": if user { s.person(rng).login.clone() } else { String::new() },
                "uuid": guid(rng),
                "value": value,
            })
        })
        .collect()
}

fn safari_extensions(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const EXT: &[(&str, &str, &str, &str)] = &[
        (
            "1Password for Safari",
            "com.1password.safari.extension",
            "2BUA8C4S2C",
            "2.21.0",
        ),
        (
            "AdBlock",
            "com.betafish.adblock-mac.SafariMenu",
            "UL5WM99K2A",
            "2.1.2",
        ),
        (
            "Grammarly for Safari",
            "com.grammarly.safari.extension",
            "W8F64X92K3",
            "9.78",
        ),
    ];
    sample(rng, EXT.len(), 0..=2)
        .into_iter()
        .map(|i| {
            let (name, id, team, version) = EXT[i];
            let p = s.person(rng);
            json!({
                "author": "",
                "description": "",
                "developer_id": team,
                "identifier": id,
                "name": name,
                "path": format!("/Applications/{name}.app/Contents/PlugIns/{name} Extension.appex"),
                "sdk": "6.0",
                "uid": p.uid.to_string(),
                "update_url": "",
                "version": version,
            })
        })
        .collect()
}

fn shared_folders(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let p = s.person(rng);
    let all = [
        (
            format!("{}'s Public Folder", p.full),
            format!("{}/Public", s.home(&p.login)),
        ),
        ("Shared".to_string(), "/Users/Shared".to_string()),
    ];
    sample(rng, all.len(), 0..=2)
        .into_iter()
        .map(|i| json!({"name": all[i].0, "path": all[i].1}))
        .collect()
}

fn sharing_preferences(rng: &mut fastrand::Rng) -> Vec<Value> {
    vec![json!({
        "bluetooth_sharing": 0,
        "content_caching": flag(rng, 6),
        "disc_sharing": 0,
        "file_sharing": flag(rng, 5),
        "internet_sharing": 0,
        "printer_sharing": flag(rng, 8),
        "remote_apple_events": 0,
        "remote_login": flag(rng, 3),
        "remote_management": flag(rng, 4),
        "screen_sharing": flag(rng, 4),
    })]
}

fn sip_config(rng: &mut fastrand::Rng) -> Vec<Value> {
    const FLAGS: &[&str] = &[
        "allow_apple_internal",
        "allow_task_for_pid",
        "allow_unrestricted_fs",
        "allow_untrusted_kexts",
        "csr_allow_device_configuration",
    ];
    let on = rng.u8(..15) != 0;
    sample(rng, FLAGS.len(), 1..=3)
        .into_iter()
        .map(|i| {
            json!({
                "config_flag": FLAGS[i],
                "enabled": i64::from(!on),
                "enabled_nvram": i64::from(!on),
            })
        })
        .collect()
}

fn wifi_networks(rng: &mut fastrand::Rng) -> Vec<Value> {
    const NETS: &[(&str, &str)] = &[
        ("CorpWiFi", "WPA2 Enterprise"),
        ("Guest", "Open"),
        ("HomeNet-5G", "WPA2 Personal"),
        ("Airport Free WiFi", "Open"),
        ("Pixel_7829", "WPA3 Personal"),
    ];
    sample(rng, NETS.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (name, sec) = NETS[i];
            let ssid: String = name.bytes().map(|b| format!("{b:02x}")).collect();
            json!({
                "auto_login": 1,
                "captive_portal": i64::from(sec == "Open" && rng.bool()),
                "disabled": 0,
                "last_connected": rng.i64(1_650_000_000..1_716_000_000),
                "network_name": name,
                "passpoint": 0,
                "possibly_hidden": 0,
                "roaming": 0,
                "roaming_profile": (["None", "Single", "Dual"][rng.usize(..3)]),
                "security_type": sec,
                "ssid": ssid,
                "temporarily_disabled": flag(rng, 10),
            })
        })
        .collect()
}

fn wifi_status(rng: &mut fastrand::Rng) -> Vec<Value> {
    if rng.u8(..4) == 0 {
        return Vec::new();
    }
    let five = rng.bool();
    vec![json!({
        "bssid": (0..6).map(|_| format!("{:02x}", rng.u8(..))).collect::<Vec<_>>().join(":"),
        "channel": if five { [36, 44, 149, 157][rng.usize(..4)] } else { [1, 6, 11][rng.usize(..3)] },
        "channel_band": if five { 5 } else { 2 },
        "channel_width": if five { 80 } else { 20 },
        "country_code": "US",
        "interface": "en0",
        "mode": "Station",
        "network_name": "CorpWiFi",
        "noise": -rng.i64(85..100),
        "rssi": -rng.i64(35..80),
        "security_type": "WPA2 Enterprise",
        "ssid": "436f727057694669",
        "transmit_rate": format!("{}", [144, 300, 576, 866, 1200][rng.usize(..5)]),
    })]
}

// ---- Windows ----------------------------------------------------------------------------

fn appcompat_shims(rng: &mut fastrand::Rng) -> Vec<Value> {
    const SHIMS: &[(&str, &str)] = &[
        ("legacyapp.exe", "Compatibility fix for LegacyApp 4.2"),
        ("setup.exe", "Vendor installer shim"),
        ("acrord32.exe", "RunAsInvoker for Acrobat Reader"),
    ];
    sample(rng, SHIMS.len(), 0..=2)
        .into_iter()
        .map(|i| {
            let id = guid(rng).to_lowercase();
            json!({
                "description": SHIMS[i].1,
                "executable": SHIMS[i].0,
                "install_time": rng.i64(1_600_000_000..1_716_000_000),
                "path": format!(r"C:\Windows\AppPatch\Custom\{{{id}}}.sdb"),
                "sdb_id": id,
                "type": "Custom",
            })
        })
        .collect()
}

fn bitlocker_info(rng: &mut fastrand::Rng) -> Vec<Value> {
    let on = rng.u8(..4) != 0;
    ["C:", "D:"][..rng.usize(1..=2)]
        .iter()
        .map(|letter| {
            let encrypted = on && (*letter == "C:" || rng.bool());
            let id = format!(r"\\\\?\\Volume{{{}}}\", guid(rng).to_lowercase());
            let mut r = json!({
                "conversion_status": i64::from(encrypted),
                "drive_letter": letter,
                "encryption_method": if encrypted { ["XTS_AES_128", "XTS_AES_256"][rng.usize(..2)] } else { "None" },
                "persistent_volume_id": if encrypted { format!("{{{}}}", guid(rng)) } else { String::new() },
                "protection_status": if encrypted { [1, 1, 1, 2][rng.usize(..4)] } else { 0 },
            });
            // Spec drift: some agents still send the 2019 example's spelling, without the
            // newer percentage_encrypted.
            if rng.u8(..3) == 0 {
                r["devide_id"] = json!(id);
            } else {
                r["device_id"] = json!(id);
                r["percentage_encrypted"] = json!(if encrypted { 100 } else { 0 });
            }
            r
        })
        .collect()
}

fn chassis_info(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    vec![json!({
        "audible_alarm": "False",
        "breach_description": "",
        "chassis_types": if s.laptop { "10" } else { "3" },
        "description": "",
        "lock": "False",
        "manufacturer": s.vendor,
        "model": "",
        "security_breach": (["Unknown", "None"][rng.usize(..2)]),
        "serial": s.serial,
        "sku": "",
        "smbios_tag": "",
        "status": "",
        "visible_alarm": "False",
    })]
}

fn connectivity(rng: &mut fastrand::Rng) -> Vec<Value> {
    let up = rng.u8(..12) != 0;
    vec![json!({
        "disconnected": i64::from(!up),
        "ipv4_internet": i64::from(up),
        "ipv4_local_network": 0,
        "ipv4_no_traffic": i64::from(!up),
        "ipv4_subnet": 0,
        "ipv6_internet": i64::from(up && rng.bool()),
        "ipv6_local_network": 0,
        "ipv6_no_traffic": 1,
        "ipv6_subnet": 0,
    })]
}

fn disk_info(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const DISKS: &[(&str, &str)] = &[
        ("NVMe PC711 NVMe SK hynix 512GB", "NVMe"),
        ("Samsung SSD 980 PRO 1TB", "NVMe"),
        ("KXG60ZNV512G TOSHIBA", "NVMe"),
    ];
    (0..rng.usize(1..=2))
        .map(|k| {
            let (model, _) = *one(rng, DISKS);
            let size: u64 = if k == 0 { [512_105_932_800u64, 1_024_203_640_320][rng.usize(..2)] } else { rng.u64(16..128) << 30 };
            json!({
                "description": "Disk drive",
                "disk_index": k as i64,
                "disk_size": size.to_string(),
                "hardware_model": if k == 0 { model } else { "USB  SanDisk 3.2Gen1 USB Device" },
                "id": format!(r"\\.\PHYSICALDRIVE{k}"),
                "manufacturer": "(Standard disk drives)",
                "name": format!(r"\\.\PHYSICALDRIVE{k}"),
                "partitions": if k == 0 { 3 } else { 1 },
                "pnp_device_id": format!(r"SCSI\DISK&VEN_NVME&PROD_{}\5&{}&0&000000", hex(rng, 8).to_uppercase(), hex(rng, 7)),
                "serial": if k == 0 { format!("{}_{}.", hex(rng, 4).to_uppercase(), s.serial) } else { String::new() },
                "type": if k == 0 { "SCSI" } else { "USB" },
            })
        })
        .collect()
}

fn ie_extensions(rng: &mut fastrand::Rng) -> Vec<Value> {
    const EXT: &[(&str, &str, &str)] = &[
        (
            "Microsoft Windows Media Player",
            r"C:\Program Files\Windows Media Player\wmplayer.exe",
            "12.0.22621.3527",
        ),
        (
            "Java(tm) Plug-In SSV Helper",
            r"C:\Program Files\Java\jre1.8.0_411\bin\ssv.dll",
            "8.0.4110.9",
        ),
        (
            "Adobe PDF Link Helper",
            r"C:\Program Files\Common Files\Adobe\Acrobat\ActiveX\AcroIEHelperShim64.dll",
            "24.2.20687.0",
        ),
    ];
    sample(rng, EXT.len(), 0..=2)
        .into_iter()
        .map(|i| {
            json!({
                "name": EXT[i].0,
                "path": EXT[i].1,
                "registry_path": format!(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\Browser Helper Objects\{{{}}}", guid(rng)),
                "version": EXT[i].2,
            })
        })
        .collect()
}

fn logical_drives(rng: &mut fastrand::Rng) -> Vec<Value> {
    (0..rng.usize(1..=2))
        .map(|k| {
            let size: u64 = if k == 0 { [254_721_126_400u64, 510_770_802_688, 1_022_870_175_744][rng.usize(..3)] } else { 63_778_582_528 };
            let free = size / 100 * rng.u64(5..80);
            json!({
                "boot_partition": i64::from(k == 0),
                "device_id": (["C:", "D:"][k]),
                "file_system": if k == 0 { "NTFS" } else { ["NTFS", "exFAT", "FAT32"][rng.usize(..3)] },
                "free_space": free.to_string(),
                "size": size.to_string(),
                "type": if k == 0 { "Local Disk" } else { ["Removable Disk", "Unknown"][rng.usize(..2)] },
            })
        })
        .collect()
}

fn patches(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let n = rng.usize(3..=15);
    let mut kb = 5_030_000 + rng.u64(..9_000);
    let kbs: Vec<u64> = (0..n)
        .map(|_| {
            kb += rng.u64(40..400);
            kb
        })
        .collect();
    let csname = s.hostname.to_uppercase();
    kbs.into_iter()
        .map(|kb| {
            let when = s.collected - Duration::days(rng.i64(1..700));
            let security = rng.u8(..3) != 0;
            json!({
                "caption": format!("http://support.microsoft.com/?kbid={kb}"),
                "csname": csname,
                "description": if security { "Security Update" } else { "Update" },
                "fix_comments": "",
                "hotfix_id": format!("KB{kb}"),
                "install_date": "",
                "installed_by": if rng.u8(..4) == 0 { String::new() } else if rng.bool() { r"NT AUTHORITY\SYSTEM".to_string() } else { format!(r"{csname}\{}", s.person(rng).login) },
                "installed_on": when.format("%-m/%-d/%Y").to_string(),
            })
        })
        .collect()
}

/// (name, publisher, version, an MSI package)
const PROGRAMS: &[(&str, &str, &str, bool)] = &[
    ("Google Chrome", "Google LLC", "124.0.6367.91", true),
    ("Mozilla Firefox (x64 en-US)", "Mozilla", "125.0.3", false),
    (
        "Microsoft Edge",
        "Microsoft Corporation",
        "124.0.2478.67",
        false,
    ),
    (
        "Microsoft 365 Apps for enterprise - en-us",
        "Microsoft Corporation",
        "16.0.17425.20176",
        false,
    ),
    (
        "Microsoft Teams",
        "Microsoft Corporation",
        "24074.2321.2810.3500",
        false,
    ),
    (
        "Microsoft OneDrive",
        "Microsoft Corporation",
        "24.070.0407.0003",
        false,
    ),
    (
        "Microsoft Visual Studio Code",
        "Microsoft Corporation",
        "1.88.1",
        false,
    ),
    (
        "Microsoft Update Health Tools",
        "Microsoft Corporation",
        "5.72.0.0",
        true,
    ),
    (
        "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135",
        "Microsoft Corporation",
        "14.38.33135.0",
        false,
    ),
    (
        "Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.38.33135",
        "Microsoft Corporation",
        "14.38.33135.0",
        false,
    ),
    (
        "Microsoft Visual C++ 2013 Redistributable (x64) - 12.0.40664",
        "Microsoft Corporation",
        "12.0.40664.0",
        false,
    ),
    (
        "Microsoft Visual C++ 2012 Redistributable (x64) - 11.0.61030",
        "Microsoft Corporation",
        "11.0.61030.0",
        false,
    ),
    (
        "Microsoft Visual C++ 2010  x64 Redistributable - 10.0.40219",
        "Microsoft Corporation",
        "10.0.40219",
        true,
    ),
    (
        "Microsoft .NET Runtime - 8.0.4 (x64)",
        "Microsoft Corporation",
        "64.16.23232",
        true,
    ),
    (
        "Microsoft Windows Desktop Runtime - 6.0.29 (x64)",
        "Microsoft Corporation",
        "48.119.23345",
        true,
    ),
    (
        "Update for Windows 10 for x64-based Systems (KB4480730)",
        "Microsoft Corporation",
        "2.51.0.0",
        true,
    ),
    (
        "Update for Windows 10 for x64-based Systems (KB5001716)",
        "Microsoft Corporation",
        "8.94.0.0",
        true,
    ),
    ("JumpCloud Agent", "JumpCloud Inc.", "1.152.0", true),
    (
        "JumpCloud Remote Assist",
        "JumpCloud Inc.",
        "0.186.0",
        false,
    ),
    (
        "Zoom Workplace (64-bit)",
        "Zoom Video Communications, Inc.",
        "6.0.2.33403",
        true,
    ),
    (
        "Slack (Machine - MSI)",
        "Slack Technologies Inc.",
        "4.38.115.0",
        true,
    ),
    ("7-Zip 23.01 (x64)", "Igor Pavlov", "23.01", false),
    ("Notepad++ (64-bit x64)", "Notepad++ Team", "8.6.5", false),
    ("Git", "The Git Development Community", "2.44.0", false),
    (
        "Python 3.12.3 (64-bit)",
        "Python Software Foundation",
        "3.12.3150.0",
        false,
    ),
    ("Adobe Acrobat (64-bit)", "Adobe", "24.002.20687", true),
    ("VLC media player", "VideoLAN", "3.0.20", false),
    (
        "PuTTY release 0.81 (64-bit)",
        "Simon Tatham",
        "0.81.0.0",
        true,
    ),
    ("WinSCP 6.3.3", "Martin Prikryl", "6.3.3", false),
    ("Docker Desktop", "Docker Inc.", "4.29.0", false),
    (
        "Dell Command | Update for Windows Universal",
        "Dell Inc.",
        "5.2.0",
        true,
    ),
    (
        "Intel(R) Management Engine Components",
        "Intel Corporation",
        "2228.4.3.0",
        false,
    ),
    (
        "Realtek Audio Driver",
        "Realtek Semiconductor Corp.",
        "6.0.9373.1",
        false,
    ),
    (
        "Lenovo Vantage Service",
        "Lenovo Group Ltd.",
        "4.1.70.0",
        false,
    ),
    (
        "CrowdStrike Windows Sensor",
        "CrowdStrike, Inc.",
        "7.13.18308.0",
        true,
    ),
    (
        "Cisco Secure Client - AnyConnect VPN",
        "Cisco Systems, Inc.",
        "5.1.2.42",
        true,
    ),
    (
        "Microsoft Azure CLI (64-bit)",
        "Microsoft Corporation",
        "2.59.0",
        true,
    ),
    ("Node.js", "Node.js Foundation", "20.12.2", true),
    (
        "Java 8 Update 411 (64-bit)",
        "Oracle Corporation",
        "8.0.4110.9",
        true,
    ),
    (
        "Windows PC Health Check",
        "Microsoft Corporation",
        "3.7.2204.15001",
        true,
    ),
    (
        "Microsoft Edge WebView2 Runtime",
        "Microsoft Corporation",
        "124.0.2478.67",
        false,
    ),
    (
        "Teams Machine-Wide Installer",
        "Microsoft Corporation",
        "1.7.0.6058",
        true,
    ),
];

fn programs(rng: &mut fastrand::Rng) -> Vec<Value> {
    let n = rng.usize(10..=40);
    sample(rng, PROGRAMS.len(), n..=n)
        .into_iter()
        .map(|i| {
            let (name, publisher, version, msi) = PROGRAMS[i];
            let id = format!("{{{}}}", guid(rng));
            let folder = name.split(" (").next().unwrap_or(name);
            let year = rng.i64(2019..2025);
            let date = if rng.u8(..8) == 0 {
                String::new()
            } else {
                format!("{year}{:02}{:02}", rng.u8(1..13), rng.u8(1..29))
            };
            let location = if rng.u8(..3) == 0 {
                String::new()
            } else {
                format!(r"C:\Program Files\{folder}\")
            };
            json!({
                "identifying_number": if msi { id.clone() } else { String::new() },
                "install_date": date,
                "install_location": location,
                "install_source": if msi { format!(r"C:\Windows\SoftwareDistribution\Download\{}\img\", hex(rng, 32)) } else { String::new() },
                "language": if msi && rng.bool() { "1033" } else { "0" },
                "name": name,
                "publisher": publisher,
                "uninstall_string": if msi { format!("MsiExec.exe /X{id}") } else { format!(r#""C:\Program Files\{folder}\uninstall.exe""#) },
                "version": version,
            })
        })
        .collect()
}

fn scheduled_tasks(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const TASKS: &[(&str, &str, &str)] = &[
        (
            "ScheduledDefrag",
            r"\Microsoft\Windows\Defrag\",
            r"%windir%\system32\defrag.exe -c -h -o -$",
        ),
        (
            "GoogleUpdateTaskMachineUA",
            r"\",
            r"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe /ua /installsource scheduler",
        ),
        (
            "OneDrive Standalone Update Task-S-1-5-21",
            r"\",
            r"%localappdata%\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe",
        ),
        (
            "Proxy",
            r"\Microsoft\Windows\Autochk\",
            r"%windir%\system32\rundll32.exe /d acproxy.dll,PerformAutochkOperations",
        ),
        (
            "MicrosoftEdgeUpdateTaskMachineCore",
            r"\",
            r"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe /c",
        ),
    ];
    sample(rng, TASKS.len(), 1..=3)
        .into_iter()
        .map(|i| {
            let (name, folder, action) = TASKS[i];
            let last = s.epoch() - rng.i64(60..7 * 86_400);
            let enabled = rng.u8(..6) != 0;
            json!({
                "action": action,
                "enabled": i64::from(enabled),
                "hidden": flag(rng, 3),
                "last_run_code": (["0", "0", "2147750687", "267011"][rng.usize(..4)]),
                "last_run_message": "The operation completed successfully.",
                "last_run_time": last.to_string(),
                "name": name,
                "next_run_time": if enabled { (s.epoch() + rng.i64(60..7 * 86_400)).to_string() } else { "0".into() },
                "path": format!("{folder}{name}"),
                "state": if enabled { "ready" } else { "disabled" },
            })
        })
        .collect()
}

fn services(rng: &mut fastrand::Rng) -> Vec<Value> {
    const SERVICES: &[(&str, &str, &str, &str)] = &[
        (
            "jumpcloud-agent",
            "JumpCloud Agent",
            r#""C:\Program Files\JumpCloud\jumpcloud-agent.exe""#,
            "LocalSystem",
        ),
        (
            "WinDefend",
            "Microsoft Defender Antivirus Service",
            r#""C:\ProgramData\Microsoft\Windows Defender\platform\4.18.24030.9-0\MsMpEng.exe""#,
            "LocalSystem",
        ),
        (
            "wuauserv",
            "Windows Update",
            r"C:\Windows\system32\svchost.exe -k netsvcs -p",
            "LocalSystem",
        ),
        (
            "Spooler",
            "Print Spooler",
            r"C:\Windows\System32\spoolsv.exe",
            "LocalSystem",
        ),
        (
            "Dnscache",
            "DNS Client",
            r"C:\Windows\system32\svchost.exe -k NetworkService -p",
            r"NT AUTHORITY\NetworkService",
        ),
        (
            "BITS",
            "Background Intelligent Transfer Service",
            r"C:\Windows\System32\svchost.exe -k netsvcs -p",
            "LocalSystem",
        ),
    ];
    sample(rng, SERVICES.len(), 1..=3)
        .into_iter()
        .map(|i| {
            let (name, display, path, account) = SERVICES[i];
            let running = rng.u8(..5) != 0;
            json!({
                "description": format!("{display}."),
                "display_name": display,
                "module_path": if path.contains("svchost") { format!(r"C:\Windows\system32\{}.dll", name.to_lowercase()) } else { String::new() },
                "name": name,
                "path": path,
                "pid": if running { rng.i64(400..20_000) } else { 0 },
                "service_exit_code": 0,
                "service_type": if path.contains("svchost") { "SHARE_PROCESS" } else { "OWN_PROCESS" },
                "start_type": if running { "AUTO_START" } else { "DEMAND_START" },
                "status": if running { "RUNNING" } else { "STOPPED" },
                "user_account": account,
                "win32_exit_code": if running { 0 } else { 1077 },
            })
        })
        .collect()
}

fn shared_resources(rng: &mut fastrand::Rng) -> Vec<Value> {
    const SHARES: &[(&str, &str, &str, &str)] = &[
        ("ADMIN$", "Remote Admin", r"C:\Windows", "2147483648"),
        ("C$", "Default share", r"C:\", "2147483648"),
        ("IPC$", "Remote IPC", "", "2147483651"),
        ("Scans", "", r"C:\Scans", "0"),
    ];
    SHARES[..rng.usize(1..=3)]
        .iter()
        .map(|(name, desc, path, ty)| {
            json!({
                "allow_maximum": 1,
                "description": desc,
                "install_date": "",
                "maximum_allowed": if rng.u8(..4) == 0 { "4294967295" } else { "" },
                "name": name,
                "path": path,
                "status": "OK",
                "type": ty,
            })
        })
        .collect()
}

fn tpm_info(rng: &mut fastrand::Rng) -> Vec<Value> {
    if rng.u8(..5) == 0 {
        return Vec::new();
    }
    let (id, name) = *one(
        rng,
        &[
            (1_229_870_147i64, "INTC"),
            (1_314_145_024, "NTC"),
            (1_398_033_696, "STM"),
        ],
    );
    vec![json!({
        "activated": 1,
        "enabled": 1,
        "manufacturer_id": id,
        "manufacturer_name": name,
        "manufacturer_version": format!("{}.{}.{}.{}", rng.u8(..20), rng.u8(..10), rng.u8(..5), rng.u8(..5)),
        "owned": 1 - flag(rng, 8),
        "physical_presence_version": "1.3",
        "product_name": "",
        "spec_version": "2.0, 0, 1.59",
    })]
}

fn userassist(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const PATHS: &[&str] = &[
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"{6D809377-6AF0-444B-8957-A3773F02200E}\Microsoft Office\root\Office16\OUTLOOK.EXE",
        r"Microsoft.Windows.Explorer",
        r"{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\cmd.exe",
        r"Microsoft.Windows.ControlPanel",
    ];
    let p = s.person(rng);
    let sid = s.user_sid(p.uid);
    sample(rng, PATHS.len(), 0..=3)
        .into_iter()
        .map(|i| {
            json!({
                "count": rng.i64(1..400),
                "last_execution_time": s.epoch() - rng.i64(60..30 * 86_400),
                "path": PATHS[i],
                "sid": sid,
            })
        })
        .collect()
}

fn windows_security_center(rng: &mut fastrand::Rng) -> Vec<Value> {
    let good = |rng: &mut fastrand::Rng| if rng.u8(..10) == 0 { "Poor" } else { "Good" };
    vec![json!({
        "antispyware": good(rng),
        "antivirus": good(rng),
        "autoupdate": good(rng),
        "firewall": good(rng),
        "internet_settings": "Good",
        "user_account_control": good(rng),
        "windows_security_center_service": "Good",
    })]
}

fn windows_security_products(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const PRODUCTS: &[(&str, &str, &str)] = &[
        (
            "Firewall",
            "Windows Firewall",
            r"%windir%\system32\firewall.cpl",
        ),
        ("Antivirus", "Windows Defender", r"windowsdefender://"),
        (
            "Antivirus",
            "CrowdStrike Falcon Sensor",
            r"C:\Program Files\CrowdStrike\CSFalconService.exe",
        ),
    ];
    PRODUCTS[..rng.usize(1..=3)]
        .iter()
        .map(|(ty, name, path)| {
            let on = rng.u8(..8) != 0;
            json!({
                "name": name,
                "remediation_path": path,
                "signatures_up_to_date": i64::from(*ty == "Firewall" || rng.u8(..6) != 0),
                "state": if on { "On" } else { "Off" },
                "state_timestamp": (s.collected - Duration::hours(rng.i64(1..500))).format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                "type": ty,
            })
        })
        .collect()
}

// ---- Linux (and posix) --------------------------------------------------------------------

/// (name, section)
const LINUX_PACKAGES: &[(&str, &str)] = &[
    ("adduser", "admin"),
    ("apt", "admin"),
    ("base-files", "admin"),
    ("bash", "shells"),
    ("bind9-host", "net"),
    ("bsdutils", "utils"),
    ("bzip2", "utils"),
    ("ca-certificates", "misc"),
    ("coreutils", "utils"),
    ("cron", "admin"),
    ("curl", "web"),
    ("dash", "shells"),
    ("dbus", "admin"),
    ("debconf", "admin"),
    ("diffutils", "utils"),
    ("dirmngr", "utils"),
    ("dpkg", "admin"),
    ("e2fsprogs", "admin"),
    ("file", "utils"),
    ("findutils", "utils"),
    ("gcc-12-base", "libs"),
    ("git", "vcs"),
    ("gnupg", "utils"),
    ("grep", "utils"),
    ("gzip", "utils"),
    ("hostname", "admin"),
    ("init-system-helpers", "admin"),
    ("iproute2", "net"),
    ("iputils-ping", "net"),
    ("jq", "utils"),
    ("kmod", "admin"),
    ("less", "text"),
    ("libacl1", "libs"),
    ("libapt-pkg6.0", "libs"),
    ("libc6", "libs"),
    ("libcurl4", "libs"),
    ("libffi8", "libs"),
    ("libgcc-s1", "libs"),
    ("libglib2.0-0", "libs"),
    ("libgnutls30", "libs"),
    ("liblzma5", "libs"),
    ("libncursesw6", "libs"),
    ("libpam0g", "libs"),
    ("libpcre2-8-0", "libs"),
    ("libpython3.10", "libs"),
    ("libselinux1", "libs"),
    ("libsqlite3-0", "libs"),
    ("libssl3", "libs"),
    ("libstdc++6", "libs"),
    ("libsystemd0", "libs"),
    ("libudev1", "libs"),
    ("libuuid1", "libs"),
    ("libxml2", "libs"),
    ("libzstd1", "libs"),
    ("locales", "localization"),
    ("login", "admin"),
    ("logrotate", "admin"),
    ("lsb-release", "misc"),
    ("man-db", "doc"),
    ("mawk", "interpreters"),
    ("mount", "admin"),
    ("nano", "editors"),
    ("ncurses-base", "misc"),
    ("netbase", "admin"),
    ("openssh-client", "net"),
    ("openssh-server", "net"),
    ("openssl", "utils"),
    ("passwd", "admin"),
    ("perl-base", "perl"),
    ("procps", "admin"),
    ("python3", "python"),
    ("python3-apt", "python"),
    ("python3-yaml", "python"),
    ("rsync", "net"),
    ("sed", "utils"),
    ("sudo", "admin"),
    ("systemd", "admin"),
    ("systemd-sysv", "admin"),
    ("tar", "utils"),
    ("tzdata", "localization"),
    ("ubuntu-keyring", "misc"),
    ("ufw", "admin"),
    ("unzip", "utils"),
    ("util-linux", "utils"),
    ("vim-tiny", "editors"),
    ("wget", "web"),
    ("xz-utils", "utils"),
    ("zip", "utils"),
    ("zlib1g", "libs"),
    ("jumpcloud-agent", "admin"),
];

fn linux_packages(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let deb = s.os_name != "Fedora";
    let arch = match (deb, s.arm) {
        (true, false) => "amd64",
        (true, true) => "arm64",
        (false, false) => "x86_64",
        (false, true) => "aarch64",
    };
    let n = rng.usize(20..=80);
    sample(rng, LINUX_PACKAGES.len(), n..=n)
        .into_iter()
        .map(|i| {
            let (name, section) = LINUX_PACKAGES[i];
            // The same package has the same version on every system of a distribution.
            let mut v = rng_for(&[name, &s.os_name]);
            let upstream = format!("{}.{}.{}", v.u8(..10), v.u8(..20), v.u8(..30));
            let (version, release) = if deb {
                let rev = match v.u8(..3) {
                    0 => format!("{}build1", v.u8(1..12)),
                    1 => format!("{}ubuntu0.22.04.{}", v.u8(1..4), v.u8(1..5)),
                    _ => format!("{}", v.u8(1..6)),
                };
                (format!("{upstream}-{rev}"), rev)
            } else {
                (upstream, format!("{}.fc39", v.u8(1..9)))
            };
            let arch = if section == "misc" || section == "localization" || section == "doc" {
                if deb { "all" } else { "noarch" }
            } else {
                arch
            };
            // About one package in forty has no size the agent could read.
            let size = if rng.u8(..40) == 0 {
                "n/a".to_string()
            } else {
                (v.u64(8..40_000) * 1024).to_string()
            };
            json!({
                "arch": arch,
                "install_time": if deb { 0 } else { s.epoch() - rng.i64(86_400..400 * 86_400) },
                "maintainer_or_vendor": if deb { "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>" } else { "Fedora Project" },
                "mount_namespace_id": "",
                "name": name,
                "package_format": if deb { "deb" } else { "rpm" },
                "package_group_or_section": if deb { section } else { "Unspecified" },
                "pid_with_namespace": 0,
                "release_or_revision": release,
                "size": size,
                "version": version,
            })
        })
        .collect()
}

fn shadow(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let day = s.epoch() / 86_400;
    let mut names: Vec<(String, bool)> = vec![("root".into(), false)];
    names.extend(s.people.iter().map(|p| (p.login.clone(), true)));
    names.push(("daemon".into(), false));
    names.truncate(rng.usize(1..=3));
    names
        .into_iter()
        .map(|(name, human)| {
            json!({
                "expire": "",
                "flag": "",
                "hash_alg": if human { "SHA512" } else { "" },
                "inactive": "",
                "last_change": (day - rng.i64(1..600)).to_string(),
                "max": "99999",
                "min": "0",
                "password_status": if human { "active" } else { "locked" },
                "username": name,
                "warning": "7",
            })
        })
        .collect()
}

// ---- every platform -------------------------------------------------------------------

fn authorized_keys(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    (0..rng.usize(0..=3))
        .map(|_| {
            let p = s.person(rng);
            let ed = rng.bool();
            json!({
                "algorithm": if ed { "ssh-ed25519" } else { "ssh-rsa" },
                "key": if ed { format!("AAAAC3NzaC1lZDI1NTE5AAAAI{}", hex(rng, 43)) } else { format!("AAAAB3NzaC1yc2EAAAADAQABAAABgQ{}", hex(rng, 64)) },
                "key_file": format!("{}/.ssh/authorized_keys", s.home(&p.login)),
                "uid": p.uid.to_string(),
            })
        })
        .collect()
}

fn azure_instance_metadata(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let windows = s.os == Os::Windows;
    vec![json!({
        "location": (["eastus", "westeurope", "westus2"][rng.usize(..3)]),
        "name": s.hostname,
        "offer": if windows { "WindowsServer" } else { "0001-com-ubuntu-server-jammy" },
        "os_type": if windows { "Windows" } else { "Linux" },
        "placement_group_id": "",
        "platform_fault_domain": rng.u8(..3).to_string(),
        "platform_update_domain": rng.u8(..5).to_string(),
        "publisher": if windows { "MicrosoftWindowsServer" } else { "Canonical" },
        "resource_group_name": "rg-endpoints",
        "sku": if windows { "2022-datacenter-azure-edition" } else { "22_04-lts-gen2" },
        "subscription_id": guid(rng).to_lowercase(),
        "version": "latest",
        "vm_id": s.azure_vm.clone().unwrap_or_default(),
        "vm_scale_set_name": "",
        "vm_size": (["Standard_D2s_v5", "Standard_B2ms"][rng.usize(..2)]),
        "zone": (["1", "2", ""][rng.usize(..3)]),
    })]
}

fn azure_instance_tags(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const TAGS: &[(&str, &str)] = &[
        ("environment", "production"),
        ("owner", "it-ops"),
        ("costcenter", "4711"),
        ("managed-by", "jumpcloud"),
    ];
    sample(rng, TAGS.len(), 0..=3)
        .into_iter()
        .map(|i| json!({"key": TAGS[i].0, "value": TAGS[i].1, "vm_id": s.azure_vm.clone().unwrap_or_default()}))
        .collect()
}

/// (common name, organisation, a CA)
const CERTS: &[(&str, &str, bool)] = &[
    ("DigiCert Global Root G2", "DigiCert Inc", true),
    ("DigiCert Global Root CA", "DigiCert Inc", true),
    ("ISRG Root X1", "Internet Security Research Group", true),
    ("GlobalSign Root CA", "GlobalSign nv-sa", true),
    ("Baltimore CyberTrust Root", "Baltimore", true),
    (
        "Microsoft Root Certificate Authority 2011",
        "Microsoft Corporation",
        true,
    ),
    (
        "USERTrust RSA Certification Authority",
        "The USERTRUST Network",
        true,
    ),
    ("Amazon Root CA 1", "Amazon", true),
    ("Apple Root CA", "Apple Inc.", true),
    ("JumpCloud Radius CA", "JumpCloud", true),
    ("corp-proxy.example.com", "Example Corp", false),
    ("Example Corp Issuing CA", "Example Corp", true),
];

fn certificates(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let mac = s.os == Os::Mac;
    let p = s.person(rng);
    sample(rng, CERTS.len(), 2..=8)
        .into_iter()
        .map(|i| {
            let (cn, org, ca) = CERTS[i];
            // A certificate is the same on every system.
            let mut c = rng_for(&["certificate", cn]);
            let subject = format!("/C=US/O={org}/CN={cn}");
            let before = c.i64(1_000_000_000..1_600_000_000);
            let user = !mac && rng.u8(..3) == 0;
            json!({
                "authority_key_id": if ca { String::new() } else { hex(&mut c, 40) },
                "ca": i64::from(ca),
                "common_name": cn,
                "issuer": if ca { subject.clone() } else { "/C=US/O=Example Corp/CN=Example Corp Issuing CA".into() },
                "key_algorithm": "rsaEncryption",
                "key_strength": (["2048", "4096"][c.usize(..2)]),
                "key_usage": if ca { "Certificate Sign, CRL Sign" } else { "Digital Signature, Key Encipherment" },
                "not_valid_after": (before + c.i64(if ca { 20..36 } else { 2..6 }) * 365 * 86_400).to_string(),
                "not_valid_before": before.to_string(),
                "path": if mac { "/System/Library/Keychains/SystemRootCertificates.keychain".to_string() } else if user { format!(r"{}\Root", s.user_sid(p.uid)) } else { r"LocalMachine\Root".to_string() },
                "self_signed": i64::from(ca),
                "serial": hex(&mut c, 32),
                "sha1": hex(&mut c, 40),
                "sid": if mac { String::new() } else if user { s.user_sid(p.uid) } else { "S-1-5-18".into() },
                "signing_algorithm": "sha256WithRSAEncryption",
                "store": if mac { "" } else { "Root" },
                "store_id": if mac { "" } else if user { "CurrentUser" } else { "LocalMachine" },
                "store_location": if mac { "" } else if user { "CurrentUser" } else { "LocalMachine" },
                "subject": subject,
                "subject_key_id": hex(&mut c, 40),
                "username": if mac { String::new() } else if user { p.login.clone() } else { "SYSTEM".into() },
            })
        })
        .collect()
}

fn chrome_extensions(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const EXT: &[(&str, &str, &str, &str, &str)] = &[
        ("Chrome Media Router", "pkedcjkdefgpdelpbcmbmeomcjbeemfm", "7419.311.0.1", "Provider for discovery and services for mirroring of Chrome Media Router", "alarms, cast, cast.streaming, declarativeWebRequest, desktopCapture, gcm, http://*/*, identity, identity.email, management, mdns, mediaRouterPrivate, metricsPrivate, networkingPrivate, processes, storage, system.cpu, settingsPrivate, tabCapture, tabs, webview, https://hangouts.google.com/*, https://*.google.com/cast/chromecast/home/gsse"),
        ("Google Docs Offline", "ghbmnnjooekpmoecnnnilnnbdlolhkhi", "1.79.1", "Edit, create, and view your documents, spreadsheets, and presentations — all without internet access.", "alarms, storage, unlimitedStorage, https://docs.google.com/*, https://drive.google.com/*"),
        ("1Password – Password Manager", "aeblfdkhhhdcdjpifhhbdiojplfjncoa", "2.24.1", "The best way to experience 1Password in your browser.", "contextMenus, nativeMessaging, notifications, privacy, scripting, storage, tabs, webNavigation, webRequest"),
        ("uBlock Origin", "cjpalhdlnbpafiamejdnhcphjbkeiagm", "1.57.2", "Finally, an efficient blocker. Easy on CPU and memory.", "contextMenus, privacy, storage, tabs, unlimitedStorage, webNavigation, webRequest, webRequestBlocking, <all_urls>"),
        ("Grammarly: AI Writing and Grammar Checker App", "kbfnbcaeplbcioakkpcpgfkobkghlhen", "14.1170.0", "Improve your writing with all-in-one assistance.", "notifications, cookies, tabs, storage, scripting, http://*/*, https://*/*"),
        ("JumpCloud Password Manager", "nmaoaiehbgclkgheikdklapblheocmfh", "1.18.0", "JumpCloud Password Manager browser extension", "activeTab, contextMenus, nativeMessaging, storage, tabs"),
        ("Zoom Scheduler", "kgjfgplpablkjnlkjmjdecgdpfankdle", "1.9.6", "Schedule Zoom meetings directly from Google Calendar.", "cookies, storage, https://calendar.google.com/*"),
    ];
    let p = s.person(rng);
    let profile = if rng.u8(..4) == 0 {
        "Profile 1"
    } else {
        "Default"
    };
    sample(rng, EXT.len(), 0..=6)
        .into_iter()
        .map(|i| {
            let (name, id, version, desc, perms) = EXT[i];
            let dir = match s.os {
                Os::Mac => format!("{}/Library/Application Support/Google/Chrome/{profile}/Extensions/{id}/{version}_0/", s.home(&p.login)),
                Os::Windows => format!(r"{}\AppData\Local\Google\Chrome\User Data\{profile}\Extensions\{id}\{version}_0\", s.home(&p.login)),
                Os::Linux => format!("{}/.config/google-chrome/{profile}/Extensions/{id}/{version}_0/", s.home(&p.login)),
            };
            json!({
                "author": if rng.u8(..3) == 0 { name.split_whitespace().next().unwrap_or("") } else { "" },
                "description": desc,
                "identifier": id,
                "locale": if rng.u8(..5) == 0 { "" } else { "en" },
                "name": name,
                "path": dir,
                "permissions": perms,
                "persistent": flag(rng, 6),
                "uid": p.uid.to_string(),
                "update_url": "https://clients2.google.com/service/update2/crx",
                "version": version,
            })
        })
        .collect()
}

fn disk_encryption(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let on = rng.u8(..5) != 0;
    let (main, other) = match s.os {
        Os::Mac => ("/dev/disk3s1", "/dev/disk1s2"),
        _ => ("/dev/dm-0", "/dev/nvme0n1p1"),
    };
    let p = s.person(rng);
    let mut out = vec![if s.os == Os::Mac {
        json!({
            "encrypted": i64::from(on),
            "encryption_status": if on { "encrypted" } else { "undefined" },
            "name": main,
            "type": if on { "APFS Encryption" } else { "" },
            "uid": if on { p.uid.to_string() } else { String::new() },
            "user_uuid": if on { guid(rng) } else { String::new() },
            "uuid": guid(rng),
        })
    } else {
        json!({
            "encrypted": i64::from(on),
            "encryption_status": if on { "encrypted" } else { "not encrypted" },
            "name": main,
            "type": if on { "aes-xts-plain64" } else { "" },
            "uid": "",
            "user_uuid": "",
            "uuid": if on { guid(rng).to_lowercase() } else { String::new() },
        })
    }];
    if rng.bool() {
        out.push(json!({
            "encrypted": 0,
            "encryption_status": "undefined",
            "name": other,
            "type": "",
            "uid": "",
            "user_uuid": "",
            "uuid": "",
        }));
    }
    out
}

fn dns_resolvers(rng: &mut fastrand::Rng) -> Vec<Value> {
    let mut out = vec![json!({
        "address": (["10.0.0.2", "127.0.0.53", "192.168.1.1"][rng.usize(..3)]),
        "id": 0,
        "netmask": "32",
        "options": "705",
        "type": "nameserver",
    })];
    if rng.bool() {
        out.push(json!({"address": "1.1.1.1", "id": 1, "netmask": "32", "options": "705", "type": "nameserver"}));
    }
    if rng.bool() {
        out.push(json!({"address": "corp.example.com", "id": 0, "netmask": "", "options": "705", "type": "search"}));
    }
    out
}

fn etc_hosts(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let all = [
        ("127.0.0.1", "localhost".to_string()),
        ("::1", "localhost".to_string()),
        (
            if s.os == Os::Mac {
                "255.255.255.255"
            } else {
                "127.0.1.1"
            },
            if s.os == Os::Mac {
                "broadcasthost".to_string()
            } else {
                s.hostname.clone()
            },
        ),
    ];
    all[..rng.usize(1..=3)]
        .iter()
        .map(|(a, h)| json!({"address": a, "hostnames": h}))
        .collect()
}

fn firefox_addons(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const ADDONS: &[(&str, &str, &str, &str, &str)] = &[
        (
            "uBlock Origin",
            "uBlock0@raymondhill.net",
            "Raymond Hill & contributors",
            "extension",
            "1.57.2",
        ),
        (
            "Firefox Multi-Account Containers",
            "@testpilot-containers",
            "Mozilla Firefox",
            "extension",
            "8.1.3",
        ),
        (
            "Add-ons Search Detection",
            "addons-search-detection@mozilla.com",
            "",
            "extension",
            "2.0.0",
        ),
        (
            "English (US) Language Pack",
            "langpack-en-US@firefox.mozilla.org",
            "Mozilla",
            "locale",
            "125.0.20240419",
        ),
    ];
    let p = s.person(rng);
    sample(rng, ADDONS.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (name, id, creator, ty, version) = ADDONS[i];
            let system = id.ends_with("@mozilla.com");
            let profile = match s.os {
                Os::Mac => format!("{}/Library/Application Support/Firefox/Profiles/x7k2m9qa.default-release", s.home(&p.login)),
                Os::Windows => format!(r"{}\AppData\Roaming\Mozilla\Firefox\Profiles\x7k2m9qa.default-release", s.home(&p.login)),
                Os::Linux => format!("{}/.mozilla/firefox/x7k2m9qa.default-release", s.home(&p.login)),
            };
            json!({
                "active": 1 - flag(rng, 8),
                "autoupdate": 1,
                "creator": creator,
                "description": "",
                "disabled": 0,
                "identifier": id,
                "location": if system { "app-builtin" } else { "app-profile" },
                "name": name,
                "path": format!("{profile}/extensions/{id}.xpi"),
                "source_url": if system { String::new() } else { format!("https://addons.mozilla.org/firefox/downloads/file/{}/addon.xpi", rng.u32(4_000_000..4_300_000)) },
                "type": ty,
                "uid": p.uid.to_string(),
                "version": version,
                "visible": i64::from(!system),
            })
        })
        .collect()
}

fn groups(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let all: &[(&str, i64, &str, &str)] = match s.os {
        Os::Mac => &[("admin", 80, "Administrators", ""), ("staff", 20, "Staff", ""), ("wheel", 0, "System Group", ""), ("everyone", 12, "Everyone", "")],
        Os::Windows => &[
            ("Administrators", 544, "Administrators have complete and unrestricted access to the computer/domain", "S-1-5-32-544"),
            ("Users", 545, "Users are prevented from making accidental or intentional system-wide changes and can run most applications", "S-1-5-32-545"),
            ("Remote Desktop Users", 555, "Members in this group are granted the right to logon remotely", "S-1-5-32-555"),
        ],
        Os::Linux => &[("root", 0, "", ""), ("sudo", 27, "", ""), ("adm", 4, "", ""), ("jumpcloud", 1001, "", "")],
    };
    sample(rng, all.len(), 1..=3)
        .into_iter()
        .map(|i| {
            let (name, gid, comment, sid) = all[i];
            // Windows reports the RID as unsigned and signed alike; macOS nobody is -2.
            json!({
                "comment": comment,
                "gid": gid.to_string(),
                "gid_signed": gid.to_string(),
                "group_sid": sid,
                "groupname": name,
            })
        })
        .collect()
}

fn interface_addresses(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let nic = match s.os {
        Os::Mac => "en0",
        Os::Windows => "Ethernet",
        Os::Linux => "eth0",
    };
    let lo = match s.os {
        Os::Mac => "lo0",
        Os::Windows => "Loopback Pseudo-Interface 1",
        Os::Linux => "lo",
    };
    let mut out = vec![json!({
        "address": format!("10.0.{}.{}", rng.u8(..255), rng.u8(1..255)),
        "broadcast": "10.0.255.255",
        "friendly_name": if s.os == Os::Windows { nic } else { "" },
        "interface": nic,
        "mask": "255.255.0.0",
        "point_to_point": "",
        "type": if s.os == Os::Windows { "dhcp" } else { "unknown" },
    })];
    if rng.bool() {
        out.push(json!({"address": "127.0.0.1", "broadcast": "", "friendly_name": "", "interface": lo, "mask": "255.0.0.0", "point_to_point": "127.0.0.1", "type": "unknown"}));
    }
    if rng.bool() {
        out.push(json!({"address": format!("fe80::{}:{}:{}:{}%{nic}", hex(rng, 4), hex(rng, 4), hex(rng, 4), hex(rng, 4)), "broadcast": "", "friendly_name": "", "interface": nic, "mask": "ffff:ffff:ffff:ffff::", "point_to_point": "", "type": "unknown"}));
    }
    out
}

fn interface_details(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let win = s.os == Os::Windows;
    let nics: &[&str] = match s.os {
        Os::Mac => &["en0", "lo0"],
        Os::Windows => &["Ethernet", "Wi-Fi"],
        Os::Linux => &["eth0", "lo"],
    };
    nics[..rng.usize(1..=2)]
        .iter()
        .map(|nic| {
            let lo = nic.starts_with("lo");
            let big = |rng: &mut fastrand::Rng, n: u64| rng.u64(..n).to_string();
            let mac = (0..6).map(|_| format!("{:02x}", rng.u8(..))).collect::<Vec<_>>().join(":");
            json!({
                "collisions": "0",
                "connection_id": if win { *nic } else { "" },
                "connection_status": if win { "2" } else { "" },
                "description": if win { "Intel(R) Ethernet Connection (13) I219-LM" } else { "" },
                "dhcp_enabled": i64::from(win),
                "dhcp_lease_expires": if win { (s.epoch() + 86_400).to_string() } else { String::new() },
                "dhcp_lease_obtained": if win { (s.epoch() - 3_600).to_string() } else { String::new() },
                "dhcp_server": if win { "10.0.0.1" } else { "" },
                "dns_domain": "",
                "dns_domain_suffix_search_order": if win { "corp.example.com" } else { "" },
                "dns_host_name": if win { s.hostname.as_str() } else { "" },
                "dns_server_search_order": if win { "10.0.0.2, 1.1.1.1" } else { "" },
                "enabled": i64::from(win),
                "flags": if lo { 32_841 } else { 34_915 },
                "friendly_name": if win { *nic } else { "" },
                "ibytes": big(rng, 90_000_000_000),
                "idrops": big(rng, 500),
                "ierrors": "0",
                "interface": nic,
                "ipackets": big(rng, 90_000_000),
                "last_change": if s.os == Os::Linux { "-1".to_string() } else { (s.epoch() - rng.i64(60..86_400)).to_string() },
                "link_speed": if lo { "0".to_string() } else { (1_000_000_000u64).to_string() },
                "mac": if lo { "00:00:00:00:00:00".to_string() } else { mac },
                "manufacturer": if win { "Intel Corporation" } else { "" },
                "metric": if win { 25 } else { 0 },
                "mtu": if lo { 16_384 } else { 1_500 },
                "obytes": big(rng, 20_000_000_000),
                "odrops": "0",
                "oerrors": big(rng, 10),
                "opackets": big(rng, 40_000_000),
                "pci_slot": if s.os == Os::Linux && !lo { "0000:00:1f.6" } else { "" },
                "physical_adapter": i64::from(win && !lo),
                "service": if win { "e1dexpress" } else { "" },
                "speed": if win { 1_000_000_000 } else { 0 },
                "type": if lo { 24 } else { 6 },
            })
        })
        .collect()
}

fn kernel_info(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    vec![match s.os {
        Os::Mac => {
            json!({"arguments": "", "device": "", "path": "/System/Library/Kernels/kernel", "version": "23.4.0"})
        }
        Os::Windows => {
            json!({"arguments": "", "device": "", "path": r"C:\Windows\system32\ntoskrnl.exe", "version": format!("10.0.{}.{}", s.version.rsplit('.').next().unwrap_or("22631"), rng.u16(3000..3600))})
        }
        Os::Linux => {
            let fedora = s.os_name == "Fedora";
            json!({
                "arguments": "ro quiet splash",
                "device": "/dev/mapper/vgubuntu-root",
                "path": if fedora { "/boot/vmlinuz-6.8.7-200.fc39.x86_64" } else { "/boot/vmlinuz-6.5.0-28-generic" },
                "version": if fedora { "6.8.7-200.fc39.x86_64" } else { "6.5.0-28-generic" },
            })
        }
    }]
}

fn logged_in_users(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    (0..rng.usize(0..=3))
        .map(|k| {
            let p = s.person(rng);
            let tty = match (s.os, k) {
                (Os::Mac, 0) => "console".to_string(),
                (Os::Mac, _) => format!("ttys{:03}", k - 1),
                (Os::Windows, 0) => "console".to_string(),
                (Os::Windows, _) => format!("rdp-tcp#{}", k - 1),
                (Os::Linux, 0) => "tty2".to_string(),
                (Os::Linux, _) => format!("pts/{}", k - 1),
            };
            json!({
                "host": if k == 0 { String::new() } else { format!("10.0.{}.{}", rng.u8(..255), rng.u8(1..255)) },
                "pid": rng.i64(200..90_000),
                "time": s.epoch() - rng.i64(60..(s.up.max(61))),
                "tty": tty,
                "type": "user",
                "user": p.login,
            })
        })
        .collect()
}

fn mounts(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let all: Vec<(&str, &str, &str, u64)> = match s.os {
        Os::Mac => vec![
            ("/dev/disk3s1s1", "/", "apfs", 4096),
            ("/dev/disk3s5", "/System/Volumes/Data", "apfs", 4096),
            ("devfs", "/dev", "devfs", 512),
        ],
        _ => vec![
            ("/dev/mapper/vgubuntu-root", "/", "ext4", 4096),
            ("/dev/nvme0n1p1", "/boot/efi", "vfat", 4096),
            ("tmpfs", "/run", "tmpfs", 4096),
        ],
    };
    all[..rng.usize(1..=3)]
        .iter()
        .map(|(dev, path, ty, bs)| {
            let blocks = rng.u64(100_000..250_000_000);
            let free = blocks / 100 * rng.u64(3..90);
            let inodes = if s.os == Os::Mac { 4_294_967_279u64 } else { blocks / 4 };
            json!({
                "blocks": blocks.to_string(),
                "blocks_available": (free - free / 20).to_string(),
                "blocks_free": free.to_string(),
                "blocks_size": bs.to_string(),
                "device": dev,
                "device_alias": dev,
                "flags": if s.os == Os::Mac { ["70292505", "1085292576", "872468505"][rng.usize(..3)].to_string() } else { ["4096", "1024", "1062"][rng.usize(..3)].to_string() },
                "inodes": inodes.to_string(),
                "inodes_free": (inodes - rng.u64(1_000..(inodes / 2).max(1_001))).to_string(),
                "path": path,
                "type": ty,
            })
        })
        .collect()
}

fn os_version(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let nums: Vec<i64> = s
        .version
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let num = |i: usize| nums.get(i).copied().unwrap_or(0);
    let row = match s.os {
        Os::Mac => json!({
            "build": "23E224",
            "codename": "",
            "install_date": "",
            "major": num(0),
            "minor": num(1),
            "name": "macOS",
            "patch": num(2),
            "platform": "darwin",
            "platform_like": "darwin",
            "version": s.version,
        }),
        Os::Windows => json!({
            "build": num(2).to_string(),
            "codename": "",
            "install_date": format!("20{:02}{:02}{:02}093012.000000-420", rng.u8(21..24), rng.u8(1..13), rng.u8(1..29)),
            "major": num(0),
            "minor": num(1),
            "name": "Microsoft Windows 11 Pro",
            "patch": 0,
            "platform": "windows",
            "platform_like": "windows",
            "version": s.version,
        }),
        Os::Linux if s.os_name == "Fedora" => json!({
            "build": "",
            "codename": "",
            "install_date": "",
            "major": num(0),
            "minor": 0,
            "name": "Fedora Linux",
            "patch": 0,
            "platform": "fedora",
            "platform_like": "",
            "version": format!("{} (Workstation Edition)", s.version),
        }),
        Os::Linux => json!({
            "build": "",
            "codename": "jammy",
            "install_date": "",
            "major": num(0),
            "minor": num(1),
            "name": "Ubuntu",
            "patch": 0,
            "platform": "ubuntu",
            "platform_like": "debian",
            "version": format!("{}.4 LTS (Jammy Jellyfish)", s.version),
        }),
    };
    vec![row]
}

fn python_packages(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const PKGS: &[(&str, &str, &str, &str)] = &[
        (
            "pip",
            "24.0",
            "MIT",
            "The PyPA recommended tool for installing Python packages.",
        ),
        (
            "setuptools",
            "69.5.1",
            "MIT License",
            "Easily download, build, install, upgrade, and uninstall Python packages",
        ),
        (
            "requests",
            "2.31.0",
            "Apache 2.0",
            "Python HTTP for Humans.",
        ),
        (
            "six",
            "1.16.0",
            "MIT",
            "Python 2 and 3 compatibility utilities",
        ),
        (
            "PyYAML",
            "6.0.1",
            "MIT",
            "YAML parser and emitter for Python",
        ),
    ];
    let dir = match s.os {
        Os::Mac => "/Library/Developer/CommandLineTools/Library/Frameworks/Python3.framework/Versions/3.9/lib/python3.9/site-packages",
        Os::Windows => r"C:\Program Files\Python312\Lib\site-packages",
        Os::Linux => "/usr/lib/python3/dist-packages",
    };
    sample(rng, PKGS.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (name, version, license, summary) = PKGS[i];
            let sep = if s.os == Os::Windows { "\\" } else { "/" };
            json!({
                "auther": "",
                "directory": dir,
                "license": license,
                "name": name,
                "path": format!("{dir}{sep}{name}-{version}.dist-info{sep}"),
                "summary": summary,
                "version": version,
            })
        })
        .collect()
}

fn secureboot(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    if (s.os == Os::Mac && s.arm) || rng.u8(..6) == 0 {
        // Apple silicon and some firmware do not expose the EFI variables.
        return Vec::new();
    }
    vec![json!({"secure_boot": 1 - flag(rng, 8), "setup_mode": 0})]
}

fn startup_items(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let p = s.person(rng);
    let all: Vec<(String, String, String, String, String)> = match s.os {
        Os::Windows => vec![
            (
                "OneDrive".into(),
                format!(
                    r"{}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
                    s.home(&p.login)
                ),
                "/background".into(),
                r"HKEY_USERS\S-1-5-21\SOFTWARE\Microsoft\Windows\CurrentVersion\Run".into(),
                "Startup Item".into(),
            ),
            (
                "SecurityHealth".into(),
                r"%windir%\system32\SecurityHealthSystray.exe".into(),
                String::new(),
                r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run".into(),
                "Startup Item".into(),
            ),
            (
                "Slack".into(),
                format!(r"{}\AppData\Local\slack\slack.exe", s.home(&p.login)),
                "--process-start-args --startup".into(),
                r"HKEY_USERS\S-1-5-21\SOFTWARE\Microsoft\Windows\CurrentVersion\Run".into(),
                "Startup Item".into(),
            ),
        ],
        _ => vec![
            (
                "Slack".into(),
                "/Applications/Slack.app".into(),
                String::new(),
                "Login Items".into(),
                "Login Item".into(),
            ),
            (
                "Rectangle".into(),
                "/Applications/Rectangle.app".into(),
                String::new(),
                "Login Items".into(),
                "Login Item".into(),
            ),
            (
                "Google Drive".into(),
                "/Applications/Google Drive.app".into(),
                String::new(),
                "Login Items".into(),
                "Login Item".into(),
            ),
        ],
    };
    sample(rng, all.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (name, path, args, source, ty) = &all[i];
            json!({
                "args": args,
                "name": name,
                "path": path,
                "source": source,
                "status": if rng.u8(..5) == 0 { "disabled" } else { "enabled" },
                "type": ty,
                "username": p.login,
            })
        })
        .collect()
}

fn system_controls(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let all: &[(&str, &str, &str, &str, &str)] = match s.os {
        Os::Mac => &[
            ("kern.hostname", "1.10", "kern", "hostname", "string"),
            ("kern.maxfiles", "1.29", "kern", "maxfiles", "int"),
            (
                "net.inet.ip.forwarding",
                "4.2.0.1",
                "net",
                "forwarding",
                "int",
            ),
            ("security.mac.amfi.hsp_enable", "", "security", "", "int"),
        ],
        _ => &[
            ("kernel.randomize_va_space", "", "kernel", "", "int"),
            ("net.ipv4.ip_forward", "", "net", "", "int"),
            ("fs.file-max", "", "fs", "", "int"),
            ("kernel.hostname", "", "kernel", "", "string"),
        ],
    };
    sample(rng, all.len(), 1..=3)
        .into_iter()
        .map(|i| {
            let (name, oid, sub, field_name, ty) = all[i];
            let value = match name {
                "kern.hostname" | "kernel.hostname" => s.hostname.clone(),
                "kern.maxfiles" => "245760".into(),
                "fs.file-max" => "9223372036854775807".into(),
                "kernel.randomize_va_space" => "2".into(),
                _ => rng.u8(..2).to_string(),
            };
            json!({
                "config_value": "",
                "current_value": value,
                "field_name": field_name,
                "name": name,
                "oid": oid,
                "subsystem": sub,
                "type": ty,
            })
        })
        .collect()
}

fn system_info(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let (brand, ty, sub, logical, physical) = s.cpu;
    let p = &s.people[0];
    let computer = match s.os {
        Os::Mac => format!(
            "{}'s {}",
            p.full.split_whitespace().next().unwrap_or(""),
            if s.laptop { "MacBook Pro" } else { "Mac" }
        ),
        Os::Windows => s.hostname.to_uppercase(),
        Os::Linux => s.hostname.clone(),
    };
    vec![json!({
        "computer_name": computer,
        "cpu_brand": brand,
        "cpu_logical_cores": logical,
        "cpu_microcode": if s.os == Os::Mac { String::new() } else { format!("0x{}", hex(rng, 2)) },
        "cpu_physical_cores": physical,
        "cpu_subtype": sub,
        "cpu_type": ty,
        "hardware_model": s.model,
        "hardware_serial": s.serial,
        "hardware_vendor": s.vendor,
        "hardware_version": s.hw_version,
        "hostname": if s.os == Os::Mac { format!("{}.local", s.hostname) } else { s.hostname.clone() },
        "local_hostname": s.hostname,
        "physical_memory": s.memory.to_string(),
        "uuid": s.uuid,
    })]
}

fn uptime(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let t = s.up;
    // The spec says string; some agents send a number (JCCLI reads an int64).
    let total = if rng.u8(..4) == 0 {
        json!(t)
    } else {
        json!(t.to_string())
    };
    vec![json!({
        "days": t / 86_400,
        "hours": t / 3_600 % 24,
        "minutes": t / 60 % 60,
        "seconds": t % 60,
        "total_seconds": total,
    })]
}

fn usb_devices(rng: &mut fastrand::Rng) -> Vec<Value> {
    const DEVICES: &[(&str, &str, &str, &str, &str)] = &[
        (
            "Apple Inc.",
            "05ac",
            "USB-C Digital AV Multiport Adapter",
            "1460",
            "9",
        ),
        ("Logitech", "046d", "USB Receiver", "c52b", "0"),
        ("YubiKey", "1050", "YubiKey OTP+FIDO+CCID", "0407", "0"),
        ("SanDisk", "0781", "Ultra USB 3.0", "5591", "8"),
    ];
    sample(rng, DEVICES.len(), 0..=3)
        .into_iter()
        .map(|i| {
            let (vendor, vid, model, pid, class) = DEVICES[i];
            json!({
                "class": class,
                "model": model,
                "model_id": pid,
                "protocol": "",
                "removable": i64::from(class == "8" || rng.u8(..3) == 0),
                "serial": if class == "8" { hex(rng, 20).to_uppercase() } else { String::new() },
                "subclass": "",
                "usb_address": rng.i64(1..20),
                "usb_port": rng.i64(1..6),
                "vendor": vendor,
                "vendor_id": vid,
                "version": format!("{}.{:02}", rng.u8(..10), rng.u8(..100)),
            })
        })
        .collect()
}

fn user_groups(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    let gids: &[i64] = match s.os {
        Os::Mac => &[20, 80, 12, 701],
        Os::Windows => &[544, 545, 555],
        Os::Linux => &[27, 4, 1000, 24],
    };
    let p = s.person(rng);
    sample(rng, gids.len(), 1..=3)
        .into_iter()
        .map(|i| json!({"gid": gids[i].to_string(), "uid": p.uid.to_string()}))
        .collect()
}

fn user_ssh_keys(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    const FILES: &[&str] = &["id_ed25519", "id_rsa"];
    let p = s.person(rng);
    sample(rng, FILES.len(), 0..=2)
        .into_iter()
        .map(|i| {
            json!({
                "encrypted": flag(rng, 2),
                "path": format!("{}/.ssh/{}", s.home(&p.login), FILES[i]),
                "uid": p.uid.to_string(),
            })
        })
        .collect()
}

fn users(s: &Sys, rng: &mut fastrand::Rng) -> Vec<Value> {
    // (name, uid, uid_signed, gid, description, directory, shell, real user, admin)
    type Account = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        bool,
        bool,
    );
    let mut all: Vec<Account> = Vec::new();
    let acct = |n: &str,
                uid: i64,
                signed: i64,
                gid: i64,
                desc: &str,
                dir: &str,
                shell: &str,
                real: bool,
                admin: bool|
     -> Account {
        (
            n.into(),
            uid.to_string(),
            signed.to_string(),
            gid.to_string(),
            desc.into(),
            dir.into(),
            shell.into(),
            real,
            admin,
        )
    };
    let (system, human_gid, shell): (Vec<Account>, i64, &str) = match s.os {
        Os::Mac => (
            vec![
                acct("root", 0, 0, 0, "System Administrator", "/var/root", "/bin/sh", false, true),
                acct("daemon", 1, 1, 1, "System Services", "/var/root", "/usr/bin/false", false, false),
                acct("nobody", 4_294_967_294, -2, 4_294_967_294, "Unprivileged User", "/var/empty", "/usr/bin/false", false, false),
                acct("_appleevents", 55, 55, 55, "AppleEvents Daemon", "/var/empty", "/usr/bin/false", false, false),
                acct("_spotlight", 89, 89, 89, "Spotlight", "/var/empty", "/usr/bin/false", false, false),
                acct("_www", 70, 70, 70, "World Wide Web Server", "/Library/WebServer", "/usr/bin/false", false, false),
                acct("_windowserver", 88, 88, 88, "WindowServer", "/var/empty", "/usr/bin/false", false, false),
                acct("_softwareupdate", 200, 200, 200, "Software Update Service", "/var/db/softwareupdate", "/usr/bin/false", false, false),
            ],
            20,
            "/bin/zsh",
        ),
        Os::Windows => (
            vec![
                acct("Administrator", 500, 500, 544, "Built-in account for administering the computer/domain", "", r"C:\Windows\system32\cmd.exe", true, true),
                acct("Guest", 501, 501, 546, "Built-in account for guest access to the computer/domain", "", r"C:\Windows\system32\cmd.exe", false, false),
                acct("DefaultAccount", 503, 503, 513, "A user account managed by the system.", "", r"C:\Windows\system32\cmd.exe", false, false),
                acct("WDAGUtilityAccount", 504, 504, 513, "A user account managed and used by the system for Windows Defender Application Guard scenarios.", "", r"C:\Windows\system32\cmd.exe", false, false),
                acct("SYSTEM", 18, 18, 18, "", r"%systemroot%\system32\config\systemprofile", r"C:\Windows\system32\cmd.exe", false, false),
                acct("LOCAL SERVICE", 19, 19, 19, "", r"%systemroot%\ServiceProfiles\LocalService", r"C:\Windows\system32\cmd.exe", false, false),
                acct("NETWORK SERVICE", 20, 20, 20, "", r"%systemroot%\ServiceProfiles\NetworkService", r"C:\Windows\system32\cmd.exe", false, false),
            ],
            544,
            r"C:\Windows\system32\cmd.exe",
        ),
        Os::Linux => (
            vec![
                acct("root", 0, 0, 0, "root", "/root", "/bin/bash", false, true),
                acct("daemon", 1, 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin", false, false),
                acct("bin", 2, 2, 2, "bin", "/bin", "/usr/sbin/nologin", false, false),
                acct("sys", 3, 3, 3, "sys", "/dev", "/usr/sbin/nologin", false, false),
                acct("systemd-network", 100, 100, 102, "systemd Network Management,,,", "/run/systemd", "/usr/sbin/nologin", false, false),
                acct("sshd", 105, 105, 65_534, "", "/run/sshd", "/usr/sbin/nologin", false, false),
                acct("nobody", 65_534, 65_534, 65_534, "nobody", "/nonexistent", "/usr/sbin/nologin", false, false),
            ],
            1000,
            "/bin/bash",
        ),
    };
    for p in &s.people {
        all.push(acct(
            &p.login,
            p.uid,
            p.uid,
            if s.os == Os::Linux { p.uid } else { human_gid },
            &p.full,
            &s.home(&p.login),
            shell,
            true,
            true,
        ));
    }
    let n = rng.usize(3..=10).max(s.people.len() + 1);
    let keep = n.saturating_sub(s.people.len()).min(system.len());
    all.extend(system.into_iter().take(keep));
    all.into_iter()
        .map(|(name, uid, signed, gid, desc, dir, sh, real, admin)| {
            let human = real && name != "Administrator";
            // 32-bit ids above i32::MAX read back negative when signed (macOS nobody: -2).
            let gid_signed = match gid.parse::<i64>() {
                Ok(g) if g > i64::from(i32::MAX) => (g - (1 << 32)).to_string(),
                _ => gid.clone(),
            };
            let last_login = if human && rng.u8(..6) != 0 {
                (s.epoch() - rng.i64(60..20 * 86_400)).to_string()
            } else {
                "-1".to_string()
            };
            let uuid = match s.os {
                Os::Mac if human => guid(rng),
                Os::Mac => format!("FFFFEEEE-DDDD-CCCC-BBBB-AAAA{:08X}", signed.parse::<i64>().unwrap_or(0) as u32),
                Os::Windows => s.user_sid(uid.parse().unwrap_or(0)),
                Os::Linux => String::new(),
            };
            // About one row in forty comes with an empty uid (the agent could not read it).
            let uid = if rng.u8(..40) == 0 { String::new() } else { uid };
            json!({
                "ad_managed": s.os == Os::Windows && human && rng.u8(..4) == 0,
                "admin": admin,
                "description": desc,
                "directory": dir,
                "gid": gid,
                "gid_signed": gid_signed,
                "last_login": last_login,
                "managed": human,
                "real_user": real,
                "shell": sh,
                "suspended": false,
                "type": if s.os == Os::Windows { if name.contains(' ') || name == "SYSTEM" { "special" } else { "local" } } else { "" },
                "uid": uid,
                "uid_signed": signed,
                "username": name,
                "uuid": uuid,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    use super::*;
    use crate::data::{Drift, OrgSize};

    fn org(systems: usize) -> Tenant {
        let now = Utc
            .with_ymd_and_hms(2024, 5, 20, 12, 0, 0)
            .single()
            .expect("a time");
        let size = OrgSize {
            systems,
            ..OrgSize::default()
        };
        Tenant::generate(0, 42, &size, Drift::default(), now)
    }

    fn default_org() -> Tenant {
        org(OrgSize::default().systems)
    }

    /// `schemas/system_insights_<table>.json`, parsed, by table.
    fn schemas() -> BTreeMap<String, Value> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(&dir).expect("schemas/") {
            let path = e.expect("an entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(table) = name
                .strip_prefix("system_insights_")
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("readable");
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.insert(table.to_string(), v);
        }
        out
    }

    fn columns(schema: &Value) -> &Vec<Value> {
        schema["columns"].as_array().expect("columns")
    }

    fn source(c: &Value) -> &str {
        c.get("source")
            .and_then(Value::as_str)
            .unwrap_or_else(|| c["name"].as_str().expect("a name"))
    }

    /// Does the wire value fit the declared column (what the exporter keeps out of `_rescued`)?
    fn fits(c: &Value, v: &Value) -> bool {
        let lenient = c.get("lenient").and_then(Value::as_bool).unwrap_or(false);
        let num_str = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
        match (c["type"].as_str().unwrap_or(""), v) {
            ("string", Value::String(_)) => true,
            ("timestamp", Value::String(s)) => {
                chrono::DateTime::parse_from_rfc3339(&s.to_uppercase()).is_ok()
            }
            ("int64", v) if v.is_i64() => true,
            ("int64", Value::String(s)) if lenient => {
                s.parse::<i64>().is_ok() || num_str(v).is_some_and(|f| f.fract() == 0.0)
            }
            ("float64", Value::Number(_)) => true,
            ("float64", Value::String(_)) if lenient => num_str(v).is_some(),
            ("bool", Value::Bool(_)) => true,
            ("bool", v) if lenient => {
                matches!(v.as_i64(), Some(0 | 1)) || matches!(v.as_str(), Some("0" | "1"))
            }
            _ => false,
        }
    }

    #[test]
    fn sixty_tables_each_with_a_schema() {
        let set: HashSet<&&str> = TABLES.iter().collect();
        assert_eq!(TABLES.len(), 60);
        assert_eq!(set.len(), 60);
        let s = schemas();
        assert_eq!(s.len(), 60, "schemas/system_insights_*.json files");
        for (table, schema) in &s {
            assert!(TABLES.contains(&table.as_str()), "{table} is no table");
            assert_eq!(schema["table"], format!("system_insights_{table}"));
            let desc = schema["description"].as_str().unwrap_or("");
            assert!(
                desc.contains(&format!("v2 /systeminsights/{table}")),
                "{table}"
            );
            let cols = columns(schema);
            assert_eq!(cols[0]["name"], "system_id", "{table}: system_id first");
            assert_eq!(cols[0]["nullable"], false, "{table}");
            let names: Vec<&str> = cols
                .iter()
                .map(|c| c["name"].as_str().unwrap_or(""))
                .collect();
            let key: Vec<&str> = schema["key"]
                .as_array()
                .expect("a key")
                .iter()
                .map(|k| k.as_str().unwrap_or(""))
                .collect();
            assert_eq!(key.first(), Some(&"system_id"), "{table}");
            for k in &key {
                assert!(names.contains(k), "{table}: key {k} is no column");
            }
            for c in cols {
                let ty = c["type"].as_str().unwrap_or("");
                assert!(
                    !c["description"].as_str().unwrap_or("").is_empty(),
                    "{table}: {c}"
                );
                if c.get("lenient").is_some() {
                    assert!(matches!(ty, "int64" | "float64" | "bool"), "{table}: {c}");
                }
                if c["name"] == "collection_time" {
                    assert_eq!(ty, "timestamp", "{table}");
                }
            }
            let timed = names.contains(&"collection_time");
            assert_eq!(
                timed,
                !NO_COLLECTION_TIME.contains(&table.as_str()),
                "{table}"
            );
        }
    }

    #[test]
    fn schemas_declare_every_field_sent_with_a_fitting_type() {
        let s = schemas();
        let t = default_org();
        for (table, schema) in &s {
            let by_source: HashMap<&str, &Value> =
                columns(schema).iter().map(|c| (source(c), c)).collect();
            let rows = rows(&t, table);
            assert!(!rows.is_empty(), "{table}: no rows in the default org");
            let mut sent = HashSet::new();
            for r in &rows {
                for (k, v) in r.as_object().expect("an object") {
                    sent.insert(k.as_str());
                    let c = by_source
                        .get(k.as_str())
                        .unwrap_or_else(|| panic!("{table}: {k} is not declared"));
                    // The deliberate misfits, for the exporter's rescue path.
                    let misfit = matches!(
                        (table.as_str(), k.as_str(), v.as_str()),
                        ("users", "uid", Some("")) | ("linux_packages", "size", Some("n/a"))
                    );
                    assert_eq!(fits(c, v), !misfit, "{table}.{k} = {v}");
                }
            }
            for src in by_source.keys() {
                assert!(sent.contains(src), "{table}: {src} declared, never sent");
            }
        }
    }

    #[test]
    fn rows_are_deterministic_and_only_for_enabled_systems() {
        let (a, b) = (org(40), org(40));
        for table in TABLES {
            assert_eq!(rows(&a, table), rows(&b, table), "{table}");
        }
        let systems = &a.collections["systems"];
        for (i, s) in systems.iter().enumerate() {
            assert_eq!(state(s), state_of_index(i));
            let id = id_of(s);
            for table in TABLES {
                let mine = system_rows(&a.org_id, s, table);
                assert!(mine.iter().all(|r| r["system_id"] == id));
                if state(s) != "enabled" {
                    assert!(
                        !rows(&a, table).iter().any(|r| r["system_id"] == id),
                        "{table}: rows of a {} system",
                        state(s)
                    );
                }
            }
        }
        assert!(rows(&a, "no_such_table").is_empty());
    }

    #[test]
    fn rows_per_system_within_bounds() {
        let t = default_org();
        let bounds = |table: &str| match table {
            "apps" => (5, 30),
            "programs" => (10, 40),
            "linux_packages" => (20, 80),
            "patches" => (3, 15),
            "certificates" => (2, 8),
            "chrome_extensions" => (0, 6),
            "browser_plugins" => (0, 4),
            "users" => (3, 10),
            "os_version" | "system_info" | "uptime" => (1, 1),
            "disk_encryption" | "bitlocker_info" => (1, 2),
            _ => (0, 3),
        };
        let mut total = 0;
        for table in TABLES {
            let mut per: HashMap<String, usize> = HashMap::new();
            for r in rows(&t, table) {
                *per.entry(r["system_id"].as_str().unwrap_or("").to_string())
                    .or_default() += 1;
                total += 1;
            }
            let (lo, hi) = bounds(table);
            println!("{table:28} {:6} rows", per.values().sum::<usize>());
            for (sid, n) in per {
                assert!(n >= lo.max(1) && n <= hi, "{table}: {n} rows for {sid}");
            }
        }
        println!("{:28} {total:6} rows", "all");
        assert!((3_000..40_000).contains(&total), "{total} rows in all");
    }

    /// The quirks of §1.3, counted over an org.
    fn quirks(t: &Tenant) -> BTreeMap<&'static str, usize> {
        let mut q: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut bump = |k: &'static str, yes: bool| *q.entry(k).or_default() += usize::from(yes);
        for table in TABLES {
            let rows = rows(t, table);
            let mut seen: HashMap<(String, String), usize> = HashMap::new();
            for (i, r) in rows.iter().enumerate() {
                let m = r.as_object().expect("an object");
                let s = |k: &str| m.get(k).and_then(Value::as_str);
                if !NO_COLLECTION_TIME.contains(table) {
                    bump(
                        "collection_time missing",
                        !m.contains_key("collection_time"),
                    );
                }
                for v in m.values() {
                    bump("empty string values", v.as_str() == Some(""));
                    bump(
                        "trailing-space values",
                        v.as_str().is_some_and(|s| s.ends_with(' ')),
                    );
                    assert!(!v.is_null(), "{table}: null in {r}");
                }
                match *table {
                    "chrome_extensions" => bump(
                        "chrome_extensions lower-case collection_time",
                        s("collection_time").is_some_and(|c| c.contains('t') && c.ends_with('z')),
                    ),
                    "apps" => {
                        let lot = &m["last_opened_time"];
                        bump(
                            "apps.last_opened_time scientific string",
                            lot.as_str().is_some_and(|x| x.contains('E')),
                        );
                        bump("apps.last_opened_time JSON number", lot.is_number());
                        bump(
                            "apps.applescript_enabled \"1\"/\"0\"",
                            matches!(s("applescript_enabled"), Some("1" | "0")),
                        );
                        let key = (
                            s("system_id").unwrap_or("").to_string(),
                            s("bundle_identifier").unwrap_or("").to_string(),
                        );
                        if let Some(&j) = seen.get(&key) {
                            bump(
                                "apps repeated bundle_identifier (other path)",
                                rows[j]["path"] != r["path"],
                            );
                        }
                        seen.insert(key, i);
                    }
                    "patches" => bump(
                        "patches rows repeated identically",
                        i > 0 && rows[i - 1] == *r,
                    ),
                    "uptime" => {
                        bump(
                            "uptime.total_seconds string",
                            m["total_seconds"].is_string(),
                        );
                        bump(
                            "uptime.total_seconds JSON number",
                            m["total_seconds"].is_number(),
                        );
                    }
                    "users" => {
                        bump("users.uid \"\" (unparseable)", s("uid") == Some(""));
                        bump("users.last_login \"-1\"", s("last_login") == Some("-1"));
                        bump("users rows with JSON booleans", m["admin"].is_boolean());
                    }
                    "linux_packages" => {
                        bump(
                            "linux_packages.size \"n/a\" (unparseable)",
                            s("size") == Some("n/a"),
                        );
                        bump(
                            "linux_packages.size numeric string",
                            s("size").is_some_and(|x| x.parse::<u64>().is_ok()),
                        );
                    }
                    "bitlocker_info" => {
                        bump("bitlocker_info devide_id", m.contains_key("devide_id"))
                    }
                    "system_info" => bump(
                        "system_info.physical_memory string",
                        s("physical_memory").is_some(),
                    ),
                    "programs" => {
                        bump("programs.language \"0\"", s("language") == Some("0"));
                        bump(
                            "programs.install_date YYYYMMDD",
                            s("install_date").is_some_and(|d| d.len() == 8),
                        );
                    }
                    "logical_drives" => bump("logical_drives.size string", s("size").is_some()),
                    "mounts" => bump("mounts.blocks string", s("blocks").is_some()),
                    "browser_plugins" => bump("browser_plugins.uid string", s("uid").is_some()),
                    "os_version" => bump(
                        "os_version.install_date \"\"",
                        s("install_date") == Some(""),
                    ),
                    _ => {}
                }
            }
        }
        q
    }

    #[test]
    fn quirks_present_in_default_and_small_orgs() {
        for t in [default_org(), org(60)] {
            let q = quirks(&t);
            for (k, n) in &q {
                println!("{n:6}  {k}");
                assert!(*n > 0, "no {k}");
            }
            // Every quirk was looked for (its table had rows), and found.
            assert_eq!(q.len(), 24, "{q:?}");
            println!();
        }
    }
}
