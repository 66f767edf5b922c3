//! The org as it is, read through the source stage's paginators: users (the fields a plan
//! compares, not whole records), user groups, and the user members of chosen groups. Also
//! the single-object look-ups an apply makes: a user by id or by its match key, a group by
//! name. It owns how a live record's field reads as the text a desired cell is compared to.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::desired::{MatchKey, ATTRIBUTE_PREFIX};
use crate::source::{Api, ApiClient, PageStream, Pages, SourceError};

/// The user fields kept from a live record: every field a plan may manage.
const KEPT: &[&str] = &[
    "_id",
    "username",
    "email",
    "firstname",
    "middlename",
    "lastname",
    "displayname",
    "department",
    "jobTitle",
    "manager",
    "employeeIdentifier",
    "employeeType",
    "company",
    "costCenter",
    "location",
    "description",
    "alternateEmail",
    "state",
    "attributes",
];

/// A user of the org: its id and the fields a plan may manage.
#[derive(Debug, Clone)]
pub struct LiveUser {
    pub id: String,
    pub record: Map<String, Value>,
}

impl LiveUser {
    pub fn from_record(mut v: Map<String, Value>) -> Option<LiveUser> {
        v.retain(|k, _| KEPT.contains(&k.as_str()));
        let id = v.get("_id").and_then(Value::as_str)?.to_string();
        Some(LiveUser { id, record: v })
    }

    /// A field as text (`attributes.<name>` from the attribute list); empty is `None`.
    pub fn text(&self, field: &str) -> Option<String> {
        let v = match field.strip_prefix(ATTRIBUTE_PREFIX) {
            Some(name) => self
                .record
                .get("attributes")
                .and_then(Value::as_array)?
                .iter()
                .find(|a| a.get("name").and_then(Value::as_str) == Some(name))?
                .get("value")?,
            None => self.record.get(field)?,
        };
        match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The custom attributes, in order.
    pub fn attributes(&self) -> Vec<(String, Value)> {
        self.record
            .get("attributes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        Some((
                            x.get("name")?.as_str()?.to_string(),
                            x.get("value").cloned().unwrap_or(Value::Null),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A user group: id and name.
#[derive(Debug, Clone)]
pub struct LiveGroup {
    pub id: String,
    pub name: String,
}

/// The org as a plan or an apply reads it.
#[derive(Debug, Default)]
pub struct LiveOrg {
    pub users: Vec<LiveUser>,
    pub groups: Vec<LiveGroup>,
    /// Group id → its user members' ids (only the groups asked for).
    pub members: HashMap<String, BTreeSet<String>>,
}

impl LiveOrg {
    /// The org's users and groups, and the members of the groups named in `groups`.
    pub async fn read(
        client: &ApiClient,
        groups: &BTreeSet<String>,
    ) -> Result<LiveOrg, SourceError> {
        let mut org = LiveOrg::default();
        let mut users = PageStream::collection(client, Api::V1, "systemusers");
        while let Some(page) = users.next_page().await? {
            for r in page.records.records() {
                if let Some(u) = serde_json::from_slice::<Map<String, Value>>(r)
                    .ok()
                    .and_then(LiveUser::from_record)
                {
                    org.users.push(u);
                }
            }
        }
        let mut list = PageStream::collection(client, Api::V2, "usergroups");
        while let Some(page) = list.next_page().await? {
            for r in page.records.records() {
                if let Some(g) = group_of(r) {
                    org.groups.push(g);
                }
            }
        }
        let wanted: Vec<LiveGroup> = org
            .groups
            .iter()
            .filter(|g| groups.contains(&g.name))
            .cloned()
            .collect();
        for g in wanted {
            let m = members(client, &g.id).await?;
            org.members.insert(g.id.clone(), m);
        }
        Ok(org)
    }

    /// Users by normalised match-key value.
    pub fn by_key(&self, key: MatchKey) -> HashMap<String, &LiveUser> {
        self.users
            .iter()
            .filter_map(|u| u.text(key.field()).map(|k| (key.normalise(&k), u)))
            .collect()
    }

    pub fn by_id(&self) -> HashMap<&str, &LiveUser> {
        self.users.iter().map(|u| (u.id.as_str(), u)).collect()
    }

    pub fn group_by_name(&self) -> BTreeMap<&str, &LiveGroup> {
        self.groups.iter().map(|g| (g.name.as_str(), g)).collect()
    }
}

fn group_of(r: &[u8]) -> Option<LiveGroup> {
    let v: Value = serde_json::from_slice(r).ok()?;
    Some(LiveGroup {
        id: v.get("id")?.as_str()?.to_string(),
        name: v.get("name")?.as_str()?.to_string(),
    })
}

/// The user members (ids) of a user group.
pub async fn members(client: &ApiClient, group_id: &str) -> Result<BTreeSet<String>, SourceError> {
    let mut out = BTreeSet::new();
    let mut pages = PageStream::v2_list(client, format!("usergroups/{group_id}/members"), true);
    while let Some(page) = pages.next_page().await? {
        for r in page.records.records() {
            let Ok(v) = serde_json::from_slice::<Value>(r) else {
                continue;
            };
            let to = &v["to"];
            if to["type"] == "user" {
                if let Some(id) = to["id"].as_str() {
                    out.insert(id.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// `url` with `query` pairs added, encoded.
fn with_query(url: &str, query: &[(&str, &str)]) -> Result<String, SourceError> {
    let mut u = reqwest::Url::parse(url).map_err(|e| SourceError::Client(format!("{url}: {e}")))?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in query {
            q.append_pair(k, v);
        }
    }
    Ok(u.to_string())
}

/// The user whose match key is `value`, if any (v1 `filter=<field>:$eq:<value>`; the
/// answer is checked again here, since usernames and emails compare without case).
pub async fn find_user(
    client: &ApiClient,
    key: MatchKey,
    value: &str,
) -> Result<Option<LiveUser>, SourceError> {
    let base = format!("{}/api/systemusers", client.endpoints().base_url);
    let filter = format!("{}:$eq:{value}", key.field());
    let url = with_query(&base, &[("filter", &filter), ("limit", "10")])?;
    let v = client.get_json(&url).await?;
    let want = key.normalise(value);
    Ok(v.get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object().cloned().and_then(LiveUser::from_record))
        .find(|u| {
            u.text(key.field())
                .is_some_and(|k| key.normalise(&k) == want)
        }))
}

/// A user by id; `None` when the service says 404.
pub async fn get_user(client: &ApiClient, id: &str) -> Result<Option<LiveUser>, SourceError> {
    let url = format!("{}/api/systemusers/{id}", client.endpoints().base_url);
    match client.get_json(&url).await {
        Ok(Value::Object(m)) => Ok(LiveUser::from_record(m)),
        Ok(_) => Ok(None),
        Err(SourceError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The user group named `name`, if any.
pub async fn find_group(client: &ApiClient, name: &str) -> Result<Option<LiveGroup>, SourceError> {
    let base = format!("{}/api/v2/usergroups", client.endpoints().base_url);
    let filter = format!("name:eq:{name}");
    let url = with_query(&base, &[("filter", &filter), ("limit", "100")])?;
    let v = client.get_json(&url).await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| group_of(g.to_string().as_bytes()))
        .find(|g| g.name == name))
}
