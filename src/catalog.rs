//! The JumpCloud resources jclake exports: each table's name, where its records come from
//! (a v1 or v2 collection, or a fan-out over the objects of a parent collection) and its
//! declared schema from `schemas/<table>.json`, compiled into the binary.

use std::sync::Arc;

use crate::model::{SchemaError, TableSchema};
use crate::source::Api;

/// Where a table's records come from.
#[derive(Debug, Clone, Copy)]
pub enum Fetch {
    /// One paged collection.
    Collection { api: Api, route: &'static str },
    /// For every object of a parent collection, one paged v2 list at
    /// `/api/v2/{path}` with `{id}` replaced by the parent id.
    FanOut {
        parent_api: Api,
        parent_route: &'static str,
        path: &'static str,
    },
    /// The Directory Insights event stream, incremental, partitioned by event date.
    Events,
}

/// One exported table.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    pub table: &'static str,
    pub fetch: Fetch,
    schema_json: &'static str,
}

macro_rules! resource {
    ($table:literal, $fetch:expr) => {
        Resource {
            table: $table,
            fetch: $fetch,
            schema_json: include_str!(concat!("../schemas/", $table, ".json")),
        }
    };
}

use Api::{V1, V2};
use Fetch::{Collection, FanOut};

/// Every table, snapshot collections first, then the edge tables fanned out from them.
pub const RESOURCES: &[Resource] = &[
    resource!(
        "users",
        Collection {
            api: V1,
            route: "systemusers"
        }
    ),
    resource!(
        "systems",
        Collection {
            api: V1,
            route: "systems"
        }
    ),
    resource!(
        "applications",
        Collection {
            api: V1,
            route: "applications"
        }
    ),
    resource!(
        "organizations",
        Collection {
            api: V1,
            route: "organizations"
        }
    ),
    resource!(
        "commands",
        Collection {
            api: V1,
            route: "commands"
        }
    ),
    resource!(
        "radius_servers",
        Collection {
            api: V1,
            route: "radiusservers"
        }
    ),
    resource!(
        "user_groups",
        Collection {
            api: V2,
            route: "usergroups"
        }
    ),
    resource!(
        "system_groups",
        Collection {
            api: V2,
            route: "systemgroups"
        }
    ),
    resource!(
        "policies",
        Collection {
            api: V2,
            route: "policies"
        }
    ),
    resource!(
        "directories",
        Collection {
            api: V2,
            route: "directories"
        }
    ),
    resource!(
        "user_group_members",
        FanOut {
            parent_api: V2,
            parent_route: "usergroups",
            path: "usergroups/{id}/members"
        }
    ),
    resource!(
        "system_group_members",
        FanOut {
            parent_api: V2,
            parent_route: "systemgroups",
            path: "systemgroups/{id}/members"
        }
    ),
    resource!(
        "user_system_associations",
        FanOut {
            parent_api: V1,
            parent_route: "systemusers",
            path: "users/{id}/associations?targets=system"
        }
    ),
    resource!(
        "application_user_group_associations",
        FanOut {
            parent_api: V1,
            parent_route: "applications",
            path: "applications/{id}/associations?targets=user_group"
        }
    ),
    resource!(
        "user_group_system_group_associations",
        FanOut {
            parent_api: V2,
            parent_route: "usergroups",
            path: "usergroups/{id}/associations?targets=system_group"
        }
    ),
    resource!(
        "policy_system_group_associations",
        FanOut {
            parent_api: V2,
            parent_route: "policies",
            path: "policies/{id}/associations?targets=system_group"
        }
    ),
    resource!(
        "radius_server_user_group_associations",
        FanOut {
            parent_api: V1,
            parent_route: "radiusservers",
            path: "radiusservers/{id}/associations?targets=user_group"
        }
    ),
    resource!("events", Fetch::Events),
];

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
    RESOURCES.iter().find(|r| r.table == table)
}

/// Every table name, in export order.
pub fn table_names() -> Vec<&'static str> {
    RESOURCES.iter().map(|r| r.table).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_schema_parses_and_names_its_table() {
        for r in RESOURCES {
            let s = r.schema().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.table, r.table);
            assert!(!s.columns.is_empty(), "{}", r.table);
            assert!(
                s.columns.iter().all(|c| !c.description.is_empty()),
                "{}: every column is described",
                r.table
            );
        }
        assert_eq!(RESOURCES.len(), 18);
    }
}
