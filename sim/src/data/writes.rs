//! The org side of the write routes: each request is checked against a tenant and turned
//! into a [`Write`] (or a [`Rejection`] saying why not), then [`Tenant::apply`] carries it
//! out. Checking reads, applying does not decide anything: a `Write` holds the whole
//! outcome (the new record, the manager the orphans get), so applying it again to a lagged
//! copy of the tenant (`state`) gives exactly what it gave the primary. Users follow the
//! shape of the generated ones (`records`); a user's `password` is accepted and dropped.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::records::{object_id, ts_ms};
use super::{derived, id_of, Tenant};

/// One change to a tenant, as decided when the request was checked.
#[derive(Debug, Clone)]
pub enum Write {
    /// A user created or replaced whole (`systemusers`, by id).
    PutUser(Value),
    /// A user removed with its memberships and edges; the users it managed get
    /// `new_manager` (null or another user's id).
    DeleteUser { id: String, new_manager: Value },
    /// A group created in `collection` (`usergroups`, `systemgroups`), with no members.
    PutGroup {
        collection: &'static str,
        group: Value,
    },
    /// A direct member added to or removed from a group.
    Member {
        group: String,
        kind: &'static str,
        id: String,
        add: bool,
    },
}

/// Why a write is refused; the routes (`writes`) give each its status and body.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// 400 with this message.
    Invalid(String),
    /// A user with this username, email or employeeIdentifier exists (400 or 409).
    DuplicateUser,
    /// 404.
    NotFound,
    /// Other users have this user as manager and no `cascade_manager` says what they get.
    HasReports,
    /// 409: a group of that name, or a member already there.
    AlreadyExists,
}

/// States a user may be created with; an update may only activate or suspend.
const CREATE_STATES: &[&str] = &["ACTIVATED", "SUSPENDED", "STAGED"];
const UPDATE_STATES: &[&str] = &["ACTIVATED", "SUSPENDED"];
const MEMBERSHIP_METHODS: &[&str] = &["STATIC", "DYNAMIC_REVIEW_REQUIRED", "DYNAMIC_AUTOMATED"];

/// Text fields a user may be given (string or null).
const TEXT_FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "middlename",
    "displayname",
    "department",
    "jobTitle",
    "company",
    "costCenter",
    "employeeType",
    "location",
    "description",
];
const BOOL_FIELDS: &[&str] = &[
    "account_locked",
    "sudo",
    "passwordless_sudo",
    "enable_managed_uid",
    "externally_managed",
    "ldap_binding_user",
    "password_never_expires",
];
const INT_FIELDS: &[&str] = &["unix_uid", "unix_guid"];
const LIST_FIELDS: &[&str] = &["addresses", "phoneNumbers"];

const MAX_EMPLOYEE_ID: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_ATTRIBUTE_VALUE: usize = 1024;

fn invalid(m: impl Into<String>) -> Rejection {
    Rejection::Invalid(m.into())
}

/// A value as comparison text: strings (non-empty) as they are, numbers as JSON prints
/// them; nothing else identifies anyone.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    }
}

impl Tenant {
    fn users(&self) -> &[Value] {
        self.collections
            .get("systemusers")
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A new 24-hex id, created `now`, that no user or group has.
    pub fn fresh_id(&self, rng: &mut fastrand::Rng, now: DateTime<Utc>) -> String {
        loop {
            let id = object_id(rng, now);
            let taken = ["systemusers", "usergroups", "systemgroups"]
                .iter()
                .any(|c| self.find(c, &id).is_some());
            if !taken {
                return id;
            }
        }
    }

    /// Checks the fields of a user body, for a create (`existing` None) or an update.
    fn check_user_fields(
        &self,
        body: &Map<String, Value>,
        existing: Option<&str>,
    ) -> Result<(), Rejection> {
        for key in ["username", "email"] {
            match body.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                None if existing.is_some() => {}
                _ => return Err(invalid(format!("Bad Request: {key} is required"))),
            }
        }
        if let Some(Value::String(e)) = body.get("email") {
            let ok = e
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !e.contains(' '));
            if !ok {
                return Err(invalid("Bad Request: invalid email"));
            }
        }
        for &key in TEXT_FIELDS {
            if !matches!(body.get(key), None | Some(Value::Null | Value::String(_))) {
                return Err(invalid(format!("Bad Request: {key} must be a string")));
            }
        }
        for &key in BOOL_FIELDS {
            if !matches!(body.get(key), None | Some(Value::Bool(_))) {
                return Err(invalid(format!("Bad Request: {key} must be a boolean")));
            }
        }
        for &key in INT_FIELDS {
            if body.get(key).is_some_and(|v| !v.is_u64()) {
                return Err(invalid(format!("Bad Request: {key} must be a number")));
            }
        }
        for &key in LIST_FIELDS {
            if !matches!(body.get(key), None | Some(Value::Array(_))) {
                return Err(invalid(format!("Bad Request: {key} must be an array")));
            }
        }
        if !matches!(body.get("mfa"), None | Some(Value::Object(_))) {
            return Err(invalid("Bad Request: mfa must be an object"));
        }
        if !matches!(body.get("password"), None | Some(Value::String(_))) {
            return Err(invalid("Bad Request: password must be a string"));
        }
        match body.get("employeeIdentifier") {
            None | Some(Value::Null) => {}
            Some(v @ (Value::String(_) | Value::Number(_))) => {
                if len(v) > MAX_EMPLOYEE_ID {
                    return Err(invalid(format!(
                        "Bad Request: employeeIdentifier must be at most {MAX_EMPLOYEE_ID} characters"
                    )));
                }
            }
            Some(_) => return Err(invalid("Bad Request: employeeIdentifier must be a string")),
        }
        if body
            .get("description")
            .is_some_and(|d| len(d) > MAX_DESCRIPTION)
        {
            return Err(invalid(format!(
                "Bad Request: description must be at most {MAX_DESCRIPTION} characters"
            )));
        }
        match body.get("attributes") {
            None => {}
            Some(Value::Array(attrs)) => {
                for a in attrs {
                    let name_ok = a
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.is_empty());
                    let value = a.get("value");
                    let value_ok = matches!(
                        value,
                        Some(Value::String(_) | Value::Number(_) | Value::Bool(_))
                    );
                    if !name_ok || !value_ok {
                        return Err(invalid(
                            "Bad Request: attributes must be a list of {name, value}",
                        ));
                    }
                    if value.is_some_and(|v| len(v) > MAX_ATTRIBUTE_VALUE) {
                        return Err(invalid(format!(
                            "Bad Request: attribute values must be at most {MAX_ATTRIBUTE_VALUE} characters"
                        )));
                    }
                }
            }
            Some(_) => return Err(invalid("Bad Request: attributes must be an array")),
        }
        match body.get("manager") {
            None | Some(Value::Null) => {}
            Some(Value::String(m)) => {
                if existing == Some(m.as_str()) || self.find("systemusers", m).is_none() {
                    return Err(invalid(format!("Bad Request: invalid manager {m:?}")));
                }
            }
            Some(_) => return Err(invalid("Bad Request: manager must be a user id")),
        }
        Ok(())
    }

    /// The state a body asks for, checked: `states` allowed for `state`, and `suspended`,
    /// when both are sent, agreeing with it. None when the body names neither.
    fn asked_state(
        body: &Map<String, Value>,
        states: &[&str],
        current: Option<&str>,
    ) -> Result<Option<String>, Rejection> {
        let state = match body.get("state") {
            None => None,
            Some(Value::String(s)) if states.contains(&s.as_str()) => Some(s.as_str()),
            Some(_) => {
                return Err(invalid(format!(
                    "Bad Request: state must be one of {}",
                    states.join(", ")
                )))
            }
        };
        let suspended = match body.get("suspended") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(invalid("Bad Request: suspended must be a boolean")),
        };
        Ok(match (state, suspended) {
            (Some(s), Some(b)) if (s == "SUSPENDED") != b => {
                return Err(invalid(
                    "Cannot save conflicting state and suspended fields",
                ))
            }
            (Some(s), _) => Some(s.to_string()),
            (None, Some(true)) => Some("SUSPENDED".into()),
            // Not suspended: a suspended user is activated, any other keeps its state.
            (None, Some(false)) => match current {
                Some("SUSPENDED") => Some("ACTIVATED".into()),
                Some(c) => Some(c.to_string()),
                None => None,
            },
            (None, None) => None,
        })
    }

    /// Whether another user than `except` has `candidate`'s username, email (either case)
    /// or employeeIdentifier.
    fn duplicates(&self, candidate: &Value, except: Option<&str>) -> bool {
        let lower = |v: Option<&Value>| text(v).map(|s| s.to_lowercase());
        let (name, email) = (
            lower(candidate.get("username")),
            lower(candidate.get("email")),
        );
        let employee = text(candidate.get("employeeIdentifier"));
        self.users()
            .iter()
            .filter(|u| Some(id_of(u)) != except)
            .any(|u| {
                (name.is_some() && lower(u.get("username")) == name)
                    || (email.is_some() && lower(u.get("email")) == email)
                    || (employee.is_some() && text(u.get("employeeIdentifier")) == employee)
            })
    }

    /// The user `POST /api/systemusers` creates from `body`, with id `id`: the shape of a
    /// generated user with everything unsent at its default.
    pub fn new_user(
        &self,
        body: &Value,
        id: &str,
        default_state: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, Rejection> {
        let Some(body) = body.as_object() else {
            return Err(invalid("Bad Request: the body must be a JSON object"));
        };
        self.check_user_fields(body, None)?;
        let fallback = if CREATE_STATES.contains(&default_state) {
            default_state
        } else {
            "STAGED"
        };
        let state =
            Self::asked_state(body, CREATE_STATES, None)?.unwrap_or_else(|| fallback.to_string());
        let uid = 5000 + self.next_user_no as u64;
        let mut u = Map::new();
        u.insert("_id".into(), json!(id));
        u.insert("id".into(), json!(id));
        for key in [
            "username",
            "email",
            "firstname",
            "lastname",
            "middlename",
            "displayname",
        ] {
            u.insert(key.into(), json!(""));
        }
        u.insert("activated".into(), json!(false));
        u.insert("suspended".into(), json!(false));
        u.insert("state".into(), json!(""));
        u.insert("account_locked".into(), json!(false));
        u.insert("created".into(), json!(ts_ms(now)));
        u.insert("password_expired".into(), json!(false));
        u.insert("passwordless_sudo".into(), json!(false));
        u.insert("sudo".into(), json!(false));
        u.insert("enable_managed_uid".into(), json!(false));
        u.insert("unix_uid".into(), json!(uid));
        u.insert("unix_guid".into(), json!(uid));
        u.insert(
            "mfa".into(),
            json!({"configured": false, "exclusion": false}),
        );
        u.insert("totp_enabled".into(), json!(false));
        u.insert("addresses".into(), json!([]));
        u.insert("phoneNumbers".into(), json!([]));
        u.insert("attributes".into(), json!([]));
        u.insert("employeeIdentifier".into(), Value::Null);
        for key in [
            "employeeType",
            "department",
            "costCenter",
            "jobTitle",
            "company",
            "location",
            "description",
        ] {
            u.insert(key.into(), json!(""));
        }
        u.insert("externally_managed".into(), json!(false));
        u.insert("ldap_binding_user".into(), json!(false));
        u.insert("organization".into(), json!(self.org_id));
        if self.drift.ssh_keys {
            u.insert("ssh_keys".into(), json!([]));
        }
        let mut u = Value::Object(u);
        merge(&mut u, body);
        set_state(&mut u, &state);
        if self.duplicates(&u, None) {
            return Err(Rejection::DuplicateUser);
        }
        Ok(u)
    }

    /// User `id` as `PUT /api/systemusers/{id}` leaves it: only the keys sent change.
    pub fn updated_user(&self, id: &str, body: &Value) -> Result<Value, Rejection> {
        let Some(current) = self.find("systemusers", id) else {
            return Err(Rejection::NotFound);
        };
        let Some(body) = body.as_object() else {
            return Err(invalid("Bad Request: the body must be a JSON object"));
        };
        // The stored id (`_id`), whichever of `_id` and `id` the route was given.
        let id = id_of(current);
        self.check_user_fields(body, Some(id))?;
        let now_state = current.get("state").and_then(Value::as_str);
        let state = Self::asked_state(body, UPDATE_STATES, now_state)?;
        let mut u = current.clone();
        merge(&mut u, body);
        if let Some(s) = state {
            set_state(&mut u, &s);
        }
        if self.duplicates(&u, Some(id)) {
            return Err(Rejection::DuplicateUser);
        }
        Ok(u)
    }

    /// What `DELETE /api/systemusers/{id}?cascade_manager=…` does: the user as it was, and
    /// the write. `cascade` is the query value (`null` or a user id), if sent.
    pub fn user_deletion(
        &self,
        id: &str,
        cascade: Option<&str>,
    ) -> Result<(Value, Write), Rejection> {
        let Some(user) = self.find("systemusers", id) else {
            return Err(Rejection::NotFound);
        };
        let id = id_of(user).to_string();
        let has_reports = self
            .users()
            .iter()
            .any(|u| id_of(u) != id && u.get("manager").and_then(Value::as_str) == Some(&id));
        let new_manager = match cascade {
            None if has_reports => return Err(Rejection::HasReports),
            None | Some("null") => Value::Null,
            Some(m) => match self.find("systemusers", m) {
                Some(heir) if id_of(heir) != id => json!(id_of(heir)),
                _ => {
                    return Err(invalid(format!(
                        "Bad Request: invalid cascade_manager {m:?}"
                    )))
                }
            },
        };
        Ok((user.clone(), Write::DeleteUser { id, new_manager }))
    }

    /// The group `POST /api/v2/usergroups` (`collection`) creates from `body`.
    pub fn new_group(
        &self,
        collection: &'static str,
        body: &Value,
        id: &str,
    ) -> Result<Value, Rejection> {
        let Some(body) = body.as_object() else {
            return Err(invalid("Bad Request: the body must be a JSON object"));
        };
        let name = match body.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
            _ => return Err(invalid("Bad Request: name is required")),
        };
        let text_or_empty = |key: &str| match body.get(key) {
            None | Some(Value::Null) => Ok(json!("")),
            Some(v @ Value::String(_)) => Ok(v.clone()),
            Some(_) => Err(invalid(format!("Bad Request: {key} must be a string"))),
        };
        let description = text_or_empty("description")?;
        let email = text_or_empty("email")?;
        let attributes = match body.get("attributes") {
            None | Some(Value::Null) => Value::Null,
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => return Err(invalid("Bad Request: attributes must be an object")),
        };
        let method = match body.get("membershipMethod") {
            None | Some(Value::Null) => "STATIC",
            Some(Value::String(m)) if MEMBERSHIP_METHODS.contains(&m.as_str()) => m.as_str(),
            Some(_) => return Err(invalid("Bad Request: invalid membershipMethod")),
        };
        let exists = self.collections.get(collection).is_some_and(|gs| {
            gs.iter()
                .any(|g| g.get("name").and_then(Value::as_str) == Some(&name))
        });
        if exists {
            return Err(Rejection::AlreadyExists);
        }
        let kind = if collection == "systemgroups" {
            "system_group"
        } else {
            "user_group"
        };
        Ok(json!({
            "id": id,
            "name": name,
            "type": kind,
            "attributes": attributes,
            "description": description,
            "email": email,
            "membershipMethod": method,
            "memberQuery": null,
            "suggestionCounts": {"add": 0, "remove": 0, "total": 0},
        }))
    }

    /// What `POST /api/v2/<collection>/{group}/members` with `body` (`{op, type, id}`) does.
    pub fn member_change(
        &self,
        collection: &str,
        group: &str,
        body: &Value,
    ) -> Result<Write, Rejection> {
        let (kind, of) = match collection {
            "usergroups" => ("user", "systemusers"),
            _ => ("system", "systems"),
        };
        let Some(g) = self.find(collection, group) else {
            return Err(Rejection::NotFound);
        };
        let group = id_of(g).to_string();
        let add = match body.get("op").and_then(Value::as_str) {
            Some("add") => true,
            Some("remove") => false,
            _ => return Err(invalid("Bad Request: op must be add or remove")),
        };
        if body.get("type").and_then(Value::as_str) != Some(kind) {
            return Err(invalid(format!("Bad Request: type must be {kind}")));
        }
        let Some(id) = body
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(invalid("Bad Request: id is required"));
        };
        let present = self
            .members
            .get(&group)
            .is_some_and(|m| m.iter().any(|(k, m)| *k == kind && m == id));
        match (add, present) {
            (true, true) => Err(Rejection::AlreadyExists),
            (true, false) if self.find(of, id).is_none() => Err(Rejection::NotFound),
            (false, false) => Err(Rejection::NotFound),
            _ => Ok(Write::Member {
                group,
                kind,
                id: id.to_string(),
                add,
            }),
        }
    }

    /// Carries out `w` (checked beforehand), then drops every derived view.
    pub fn apply(&mut self, w: &Write) {
        match w {
            Write::PutUser(u) => {
                if self.put_record("systemusers", u) {
                    self.next_user_no += 1;
                }
            }
            Write::DeleteUser { id, new_manager } => {
                if let Some(users) = self.collections.get_mut("systemusers") {
                    users.retain(|u| id_of(u) != id);
                    for u in users.iter_mut() {
                        if u.get("manager").and_then(Value::as_str) == Some(id) {
                            u["manager"] = new_manager.clone();
                        }
                    }
                }
                for members in self.members.values_mut() {
                    members.retain(|(k, m)| !(*k == "user" && m == id));
                }
                self.drop_edges("user", id);
                self.extras.push_endpoints.remove(id);
            }
            Write::PutGroup { collection, group } => {
                self.put_record(collection, group);
                self.members.entry(id_of(group).to_string()).or_default();
            }
            Write::Member {
                group,
                kind,
                id,
                add,
            } => {
                let members = self.members.entry(group.clone()).or_default();
                if *add {
                    members.push((kind, id.clone()));
                } else {
                    members.retain(|(k, m)| !(k == kind && m == id));
                }
            }
        }
        // Every index and cache was made from the data as it was.
        self.derived = derived::Derived::default();
    }

    /// Replaces the record with `v`'s id, or inserts `v` in id order; true if inserted.
    fn put_record(&mut self, collection: &'static str, v: &Value) -> bool {
        let items = self.collections.entry(collection).or_default();
        let id = id_of(v);
        if let Some(x) = items.iter_mut().find(|x| id_of(x) == id) {
            *x = v.clone();
            return false;
        }
        let at = items.partition_point(|x| id_of(x) < id);
        items.insert(at, v.clone());
        true
    }
}

/// The writable keys of `body` over `u`; ids, `created`, `organization`, the state (see
/// [`set_state`]), `password` and unknown keys are left alone.
fn merge(u: &mut Value, body: &Map<String, Value>) {
    let writable = |k: &str| {
        [
            "username",
            "email",
            "employeeIdentifier",
            "manager",
            "attributes",
            "mfa",
        ]
        .contains(&k)
            || TEXT_FIELDS.contains(&k)
            || BOOL_FIELDS.contains(&k)
            || INT_FIELDS.contains(&k)
            || LIST_FIELDS.contains(&k)
    };
    for (k, v) in body {
        if writable(k) {
            u[k.as_str()] = v.clone();
        }
    }
}

/// `state` with the flags that follow it.
fn set_state(u: &mut Value, state: &str) {
    u["state"] = json!(state);
    u["activated"] = json!(state == "ACTIVATED");
    u["suspended"] = json!(state == "SUSPENDED");
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::{Drift, OrgSize};
    use super::*;

    fn tenant() -> Tenant {
        let size = OrgSize {
            users: 30,
            systems: 10,
            user_groups: 4,
            system_groups: 2,
            events: 10,
            ..OrgSize::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        Tenant::generate(0, 5, &size, Drift::default(), now)
    }

    /// A write applied to a clone gives the same data as applied to the original.
    #[test]
    fn a_write_replays_the_same_on_a_copy() {
        let mut t = tenant();
        let mut copy = t.clone();
        let now = Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap();
        let id = t.fresh_id(&mut fastrand::Rng::with_seed(1), now);
        let u = t
            .new_user(
                &json!({"username": "new.one", "email": "n@example.com"}),
                &id,
                "STAGED",
                now,
            )
            .unwrap();
        let g = t.collections["usergroups"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let writes = [
            Write::PutUser(u),
            Write::Member {
                group: g.clone(),
                kind: "user",
                id: id.clone(),
                add: true,
            },
        ];
        for w in &writes {
            t.apply(w);
            copy.apply(w);
        }
        let (_, w) = t.user_deletion(&id, None).unwrap();
        t.apply(&w);
        copy.apply(&w);
        assert_eq!(t.collections, copy.collections);
        assert_eq!(t.members, copy.members);
        assert!(t.find("systemusers", &id).is_none());
        assert!(!t.members[&g].iter().any(|(_, m)| m == &id));
    }
}
