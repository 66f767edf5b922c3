//! The JumpCloud resources jclake exports: each table's name, its family, where its records
//! come from (a v1 or v2 collection, a System Insights table, a fan-out over the objects of
//! a parent collection, possibly askable from either end, or the event stream) and its
//! declared schema from `schemas/<table>.json`, compiled into the binary.

use std::sync::Arc;

use crate::model::{SchemaError, TableSchema};
use crate::source::Api;

/// The objects a fan-out runs over: a collection, listed by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parents {
    pub api: Api,
    pub route: &'static str,
}

/// The same edges asked from their other end: the fan-out a table may take instead when
/// that end has fewer objects (one request per object at least, so fewer objects is
/// fewer requests).
#[derive(Debug, Clone, Copy)]
pub struct OtherEnd {
    pub parents: Parents,
    pub path: &'static str,
}

/// Where a table's records come from.
#[derive(Debug, Clone, Copy)]
pub enum Fetch {
    /// One paged collection.
    Collection { api: Api, route: &'static str },
    /// One System Insights table, `/api/v2/systeminsights/{name}`: rows of every system,
    /// 10,000 a page (never per system: the service rate-limits these routes), sorted by
    /// the table's key.
    Insights { name: &'static str },
    /// For every object of `parents`, one v2 list at `/api/v2/{path}`, `{id}` replaced by
    /// the parent's id and `{route}` by the route of the parent's directory type.
    FanOut {
        parents: Parents,
        path: &'static str,
        /// Whether the list pages with `limit`/`skip`; `false` for routes that take no
        /// paging parameters and answer everything at once.
        paged: bool,
        other_end: Option<OtherEnd>,
    },
    /// A history (policy or command results), append-only: each day's partition holds
    /// the records first committed that day, read oldest first by `time_field` from where
    /// the last run stopped; with `detail` each record is fetched whole (`{route}/{id}`).
    History {
        api: Api,
        route: &'static str,
        time_field: &'static str,
        detail: bool,
    },
    /// The Directory Insights event stream, incremental, partitioned by event date.
    Events,
}

/// What a table is about, for `jclake tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Directory,
    Configuration,
    Membership,
    Access,
    Inventory,
    Activity,
}

impl Family {
    pub fn title(self) -> &'static str {
        match self {
            Family::Directory => "Directory: people, devices, apps, groups, admins",
            Family::Configuration => {
                "Configuration: policies, commands, conditional access, software"
            }
            Family::Membership => "Memberships and associations (the graph's edges)",
            Family::Access => "Effective access (who reaches what, through which path)",
            Family::Inventory => "Device inventory (System Insights, MDM)",
            Family::Activity => "Activity: Directory Insights events, command and policy results",
        }
    }
}

/// One exported table.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    pub table: &'static str,
    pub fetch: Fetch,
    pub family: Family,
    schema_json: &'static str,
}

macro_rules! resource {
    ($family:ident, $table:literal, $fetch:expr) => {
        Resource {
            table: $table,
            fetch: $fetch,
            family: Family::$family,
            schema_json: include_str!(concat!("../schemas/", $table, ".json")),
        }
    };
}

use Api::{V1, V2};
use Fetch::{Collection, FanOut};

const fn v1(route: &'static str) -> Parents {
    Parents { api: V1, route }
}

const fn v2(route: &'static str) -> Parents {
    Parents { api: V2, route }
}

/// A paged fan-out asked from `parents` only.
const fn each(parents: Parents, path: &'static str) -> Fetch {
    FanOut {
        parents,
        path,
        paged: true,
        other_end: None,
    }
}

/// The graph type an association path asks for (`…?targets=<type>`).
pub fn target_type(path: &str) -> Option<&str> {
    path.split_once("targets=")
        .map(|(_, t)| t.split('&').next().unwrap_or(t))
}

/// An association asked from whichever end has fewer objects.
const fn edge(
    parents: Parents,
    path: &'static str,
    other: Parents,
    other_path: &'static str,
) -> Fetch {
    FanOut {
        parents,
        path,
        paged: true,
        other_end: Some(OtherEnd {
            parents: other,
            path: other_path,
        }),
    }
}

/// Every table but System Insights, in export order.
const CORE: &[Resource] = &[
    resource!(
        Directory,
        "users",
        Collection {
            api: V1,
            route: "systemusers"
        }
    ),
    resource!(
        Directory,
        "systems",
        Collection {
            api: V1,
            route: "systems"
        }
    ),
    resource!(
        Directory,
        "applications",
        Collection {
            api: V1,
            route: "applications"
        }
    ),
    resource!(
        Directory,
        "organizations",
        Collection {
            api: V1,
            route: "organizations"
        }
    ),
    resource!(
        Configuration,
        "commands",
        Collection {
            api: V1,
            route: "commands"
        }
    ),
    resource!(
        Directory,
        "radius_servers",
        Collection {
            api: V1,
            route: "radiusservers"
        }
    ),
    resource!(
        Directory,
        "user_groups",
        Collection {
            api: V2,
            route: "usergroups"
        }
    ),
    resource!(
        Directory,
        "system_groups",
        Collection {
            api: V2,
            route: "systemgroups"
        }
    ),
    resource!(
        Configuration,
        "policies",
        Collection {
            api: V2,
            route: "policies"
        }
    ),
    resource!(
        Directory,
        "directories",
        Collection {
            api: V2,
            route: "directories"
        }
    ),
    resource!(
        Membership,
        "user_group_members",
        each(v2("usergroups"), "usergroups/{id}/members")
    ),
    resource!(
        Membership,
        "system_group_members",
        each(v2("systemgroups"), "systemgroups/{id}/members")
    ),
    resource!(
        Membership,
        "user_system_associations",
        edge(
            v1("systemusers"),
            "users/{id}/associations?targets=system",
            v1("systems"),
            "systems/{id}/associations?targets=user",
        )
    ),
    resource!(
        Membership,
        "application_user_group_associations",
        edge(
            v1("applications"),
            "applications/{id}/associations?targets=user_group",
            v2("usergroups"),
            "usergroups/{id}/associations?targets=application",
        )
    ),
    resource!(
        Membership,
        "user_group_system_group_associations",
        edge(
            v2("usergroups"),
            "usergroups/{id}/associations?targets=system_group",
            v2("systemgroups"),
            "systemgroups/{id}/associations?targets=user_group",
        )
    ),
    resource!(
        Membership,
        "policy_system_group_associations",
        edge(
            v2("policies"),
            "policies/{id}/associations?targets=system_group",
            v2("systemgroups"),
            "systemgroups/{id}/associations?targets=policy",
        )
    ),
    resource!(
        Membership,
        "radius_server_user_group_associations",
        edge(
            v1("radiusservers"),
            "radiusservers/{id}/associations?targets=user_group",
            v2("usergroups"),
            "usergroups/{id}/associations?targets=radius_server",
        )
    ),
    resource!(
        Membership,
        "user_group_system_associations",
        edge(
            v2("usergroups"),
            "usergroups/{id}/associations?targets=system",
            v1("systems"),
            "systems/{id}/associations?targets=user_group",
        )
    ),
    resource!(
        Membership,
        "user_system_group_associations",
        edge(
            v2("systemgroups"),
            "systemgroups/{id}/associations?targets=user",
            v1("systemusers"),
            "users/{id}/associations?targets=system_group",
        )
    ),
    resource!(
        Membership,
        "application_user_associations",
        edge(
            v1("applications"),
            "applications/{id}/associations?targets=user",
            v1("systemusers"),
            "users/{id}/associations?targets=application",
        )
    ),
    resource!(
        Membership,
        "radius_server_user_associations",
        edge(
            v1("radiusservers"),
            "radiusservers/{id}/associations?targets=user",
            v1("systemusers"),
            "users/{id}/associations?targets=radius_server",
        )
    ),
    resource!(
        Membership,
        "directory_user_associations",
        each(v2("directories"), "{route}/{id}/associations?targets=user")
    ),
    resource!(
        Membership,
        "directory_user_group_associations",
        each(
            v2("directories"),
            "{route}/{id}/associations?targets=user_group"
        )
    ),
    resource!(
        Membership,
        "command_system_associations",
        edge(
            v1("commands"),
            "commands/{id}/associations?targets=system",
            v1("systems"),
            "systems/{id}/associations?targets=command",
        )
    ),
    resource!(
        Membership,
        "command_system_group_associations",
        edge(
            v1("commands"),
            "commands/{id}/associations?targets=system_group",
            v2("systemgroups"),
            "systemgroups/{id}/associations?targets=command",
        )
    ),
    resource!(
        Membership,
        "policy_system_associations",
        edge(
            v2("policies"),
            "policies/{id}/associations?targets=system",
            v1("systems"),
            "systems/{id}/associations?targets=policy",
        )
    ),
    resource!(
        Membership,
        "software_app_system_associations",
        each(
            v2("softwareapps"),
            "softwareapps/{id}/associations?targets=system"
        )
    ),
    resource!(
        Membership,
        "software_app_system_group_associations",
        each(
            v2("softwareapps"),
            "softwareapps/{id}/associations?targets=system_group"
        )
    ),
    resource!(
        Access,
        "user_system_access",
        each(v1("systems"), "systems/{id}/users")
    ),
    resource!(
        Access,
        "user_application_access",
        each(v1("applications"), "applications/{id}/users")
    ),
    resource!(
        Directory,
        "administrators",
        Collection {
            api: V1,
            route: "users"
        }
    ),
    resource!(
        Directory,
        "user_push_endpoints",
        FanOut {
            parents: v1("systemusers"),
            path: "users/{id}/pushendpoints",
            paged: false,
            other_end: None,
        }
    ),
    resource!(
        Configuration,
        "authn_policies",
        Collection {
            api: V2,
            route: "authn/policies"
        }
    ),
    resource!(
        Configuration,
        "ip_lists",
        Collection {
            api: V2,
            route: "iplists"
        }
    ),
    resource!(
        Configuration,
        "software_apps",
        Collection {
            api: V2,
            route: "softwareapps"
        }
    ),
    resource!(
        Inventory,
        "software_app_statuses",
        each(v2("softwareapps"), "softwareapps/{id}/statuses")
    ),
    resource!(
        Configuration,
        "apple_mdms",
        Collection {
            api: V2,
            route: "applemdms"
        }
    ),
    resource!(
        Inventory,
        "apple_mdm_devices",
        each(v2("applemdms"), "applemdms/{id}/devices")
    ),
    resource!(
        Activity,
        "policy_statuses",
        each(v2("policies"), "policies/{id}/policystatuses")
    ),
    resource!(
        Activity,
        "command_results",
        Fetch::History {
            api: V1,
            route: "commandresults",
            time_field: "responseTime",
            detail: true,
        }
    ),
    resource!(
        Activity,
        "policy_results",
        Fetch::History {
            api: V2,
            route: "policyresults",
            time_field: "endedAt",
            detail: false,
        }
    ),
    resource!(Activity, "events", Fetch::Events),
];

macro_rules! insights {
    ($($name:literal),* $(,)?) => {
        &[$(Resource {
            table: concat!("system_insights_", $name),
            fetch: Fetch::Insights { name: $name },
            family: Family::Inventory,
            schema_json: include_str!(concat!("../schemas/system_insights_", $name, ".json")),
        }),*]
    };
}

/// The System Insights tables: every one the API serves (2026).
const INSIGHTS: &[Resource] = insights!(
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
);

/// The System Insights tables exported unless configured otherwise: what teams ask of
/// device inventory first (software, OS, hardware, encryption, local accounts, browsers,
/// patches, uptime, certificates).
pub const DEFAULT_INSIGHTS: &[&str] = &[
    "apps",
    "programs",
    "linux_packages",
    "os_version",
    "system_info",
    "disk_encryption",
    "bitlocker_info",
    "users",
    "logged_in_users",
    "chrome_extensions",
    "browser_plugins",
    "patches",
    "uptime",
    "certificates",
];

/// Every table: the core tables, then every System Insights table.
pub fn resources() -> impl Iterator<Item = &'static Resource> {
    CORE.iter().chain(INSIGHTS)
}

/// The tables a run exports when none are named: every core table, and the System
/// Insights tables named in `insights` (names without the `system_insights_` prefix).
pub fn default_tables(insights: &[String]) -> Vec<&'static Resource> {
    CORE.iter()
        .chain(INSIGHTS.iter().filter(|r| match r.fetch {
            Fetch::Insights { name } => insights.iter().any(|i| i == name),
            _ => false,
        }))
        .collect()
}

/// The System Insights table names (without prefix).
pub fn insights_names() -> Vec<&'static str> {
    INSIGHTS
        .iter()
        .filter_map(|r| match r.fetch {
            Fetch::Insights { name } => Some(name),
            _ => None,
        })
        .collect()
}
impl Resource {
    pub fn schema(&self) -> Result<Arc<TableSchema>, SchemaError> {
        let s = TableSchema::parse(&format!("schemas/{}.json", self.table), self.schema_json)?;
        if s.table != self.table {
            return Err(SchemaError::Invalid {
                file: format!("schemas/{}.json", self.table),
                message: format!("declares table {:?}", s.table),
            });
        }
        Ok(Arc::new(s))
    }
}

/// Directory Insights services (the API also accepts `all`).
pub const EVENT_SERVICES: &[&str] = &[
    "directory",
    "sso",
    "radius",
    "systems",
    "ldap",
    "mdm",
    "password_manager",
    "software",
    "object_storage",
    "alerts",
    "access_management",
    "saas_app_management",
];

/// The resource of a table name.
pub fn find(table: &str) -> Option<&'static Resource> {
    resources().find(|r| r.table == table)
}

/// Every table name, in export order.
pub fn table_names() -> Vec<&'static str> {
    resources().map(|r| r.table).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_schema_parses_and_names_its_table() {
        for r in resources() {
            let s = r.schema().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.table, r.table);
            assert!(!s.columns.is_empty(), "{}", r.table);
            assert!(
                s.columns.iter().all(|c| !c.description.is_empty()),
                "{}: every column is described",
                r.table
            );
        }
        assert_eq!(CORE.len(), 42);
        assert_eq!(INSIGHTS.len(), 60);
        for name in DEFAULT_INSIGHTS {
            assert!(insights_names().contains(name), "{name}");
        }
        // An edge asked from either end names, at each end, the other end's type.
        let graph_type = |route: &str| match route {
            "systemusers" => "user",
            "systems" => "system",
            "usergroups" => "user_group",
            "systemgroups" => "system_group",
            "applications" => "application",
            "policies" => "policy",
            "radiusservers" => "radius_server",
            "commands" => "command",
            other => panic!("no graph type for {other}"),
        };
        let mut two_ended = 0;
        for r in CORE {
            if let Fetch::FanOut {
                parents,
                path,
                other_end: Some(o),
                ..
            } = r.fetch
            {
                assert_eq!(
                    target_type(path),
                    Some(graph_type(o.parents.route)),
                    "{}",
                    r.table
                );
                assert_eq!(
                    target_type(o.path),
                    Some(graph_type(parents.route)),
                    "{}",
                    r.table
                );
                two_ended += 1;
            }
        }
        assert_eq!(two_ended, 12);
        for r in INSIGHTS {
            let s = r.schema().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !s.key.is_empty(),
                "{}: a System Insights table has a key",
                r.table
            );
            assert_eq!(s.columns[0].name, "system_id", "{}", r.table);
        }
    }
}
