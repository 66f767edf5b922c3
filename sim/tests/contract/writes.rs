//! The write routes: users created, updated and deleted (v1), user groups created and group
//! members added and removed (v2), each status and body of the wire reference; reads and
//! derived views showing a write, the read-after-write lag, the applied-then-failed knobs,
//! and the write counters.

use std::time::Instant;

use reqwest::Method;

use super::*;

/// A write's answer: the body as JSON (null when empty or not JSON) and as text.
struct Raw {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn try_call(
    c: &Client,
    h: &SimHandle,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Result<Raw> {
    let mut rb = c
        .request(method, format!("{}{path}", h.base_url()))
        .header("x-api-key", DEFAULT_API_KEY)
        .header("accept", "application/json");
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = rb.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    Ok(Raw {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

async fn call(c: &Client, h: &SimHandle, method: Method, path: &str, body: Option<&Value>) -> Raw {
    try_call(c, h, method, path, body)
        .await
        .expect("a response")
}

async fn post(c: &Client, h: &SimHandle, path: &str, body: &Value) -> Raw {
    call(c, h, Method::POST, path, Some(body)).await
}

async fn put(c: &Client, h: &SimHandle, path: &str, body: &Value) -> Raw {
    call(c, h, Method::PUT, path, Some(body)).await
}

async fn delete(c: &Client, h: &SimHandle, path: &str) -> Raw {
    call(c, h, Method::DELETE, path, None).await
}

async fn members_op(
    c: &Client,
    h: &SimHandle,
    route: &str,
    group: &str,
    op: &str,
    kind: &str,
    id: &str,
) -> Raw {
    let body = json!({"op": op, "type": kind, "id": id});
    post(c, h, &format!("/api/v2/{route}/{group}/members"), &body).await
}

fn invalid_argument(r: &Raw, message: Option<&str>) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["code"], 400, "{}", r.text);
    assert_eq!(r.body["status"], "INVALID_ARGUMENT", "{}", r.text);
    assert_eq!(r.body["details"], json!([]), "{}", r.text);
    let m = r.body["message"].as_str().expect("a message");
    match message {
        Some(want) => assert_eq!(m, want),
        None => assert!(!m.is_empty()),
    }
}

fn duplicate_400(r: &Raw) {
    assert_eq!(
        r.body,
        json!({"code": 400, "message": "User already exists", "status": "INVALID_ARGUMENT", "details": []}),
        "{}",
        r.text
    );
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

fn user_of<'a>(h_users: &'a [Value], id: &str) -> Option<&'a Value> {
    h_users.iter().find(|u| u["_id"] == id)
}

fn member_ids(h: &SimHandle, group: &str) -> Vec<String> {
    h.members(0, group).into_iter().map(|(_, id)| id).collect()
}

async fn direct_members(c: &Client, h: &SimHandle, route: &str, group: &str) -> Vec<String> {
    v2_all(c, h, &format!("/api/v2/{route}/{group}/members"))
        .await
        .iter()
        .map(|m| str_field(&m["to"], "id").to_string())
        .collect()
}

async fn group_ids_of(c: &Client, h: &SimHandle, path: &str) -> Vec<String> {
    ids_of(&v2_all(c, h, path).await, "id")
}

#[tokio::test]
async fn create_user_answers_200_with_the_full_record() {
    let h = small().await;
    let c = client();
    let before = h.records(0, "systemusers");
    let manager = str_field(&before[3], "_id").to_string();
    let body = json!({
        "username": "new.user",
        "email": "New.User@example.com",
        "firstname": "New",
        "lastname": "User",
        "displayname": "New User",
        "department": "Engineering",
        "jobTitle": "Builder",
        "employeeIdentifier": "X-1",
        "manager": manager,
        "company": "Example Corp",
        "costCenter": "CC-1",
        "employeeType": "full-time",
        "location": "HQ",
        "description": "made by a test",
        "attributes": [{"name": "team", "value": "core"}],
        "password": "s3cret-Passw0rd!",
    });
    let t0 = Utc::now() - chrono::Duration::seconds(5);
    let r = post(&c, &h, "/api/systemusers", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body;
    let id = str_field(u, "_id").to_string();
    assert_eq!(u["id"], u["_id"]);
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(before.iter().all(|x| x["_id"] != id), "a new id");
    for (k, v) in body.as_object().unwrap() {
        if k != "password" {
            assert_eq!(&u[k], v, "{k}");
        }
    }
    assert!(
        u.get("password").is_none(),
        "the password is never returned"
    );
    assert!(!r.text.contains("s3cret"), "nor stored: {}", r.text);
    // No state sent: the org default for new users (STAGED), suspended following it.
    assert_eq!(u["state"], "STAGED");
    assert_eq!(u["suspended"], false);
    assert_eq!(u["activated"], false);
    let created = DateTime::parse_from_rfc3339(str_field(u, "created")).expect("created");
    assert!(created >= t0 && created <= Utc::now() + chrono::Duration::seconds(5));
    // The shape of a generated user: every key all of them carry, with the same JSON type.
    let kind = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    let always: Vec<&String> = before[0]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| before.iter().all(|x| x.get(k.as_str()).is_some()))
        .collect();
    assert!(always.len() > 20, "{always:?}");
    for k in always {
        let v = u.get(k.as_str()).unwrap_or_else(|| panic!("no {k} in {u}"));
        assert_eq!(kind(v), kind(&before[0][k.as_str()]), "{k}: {v}");
    }
    assert_eq!(u["organization"], h.org_ids()[0]);

    // The GET of it, the list, the filter and the accessor all show the same record.
    let a = get(&c, &h, &format!("/api/systemusers/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(&a.body, u);
    let a = get(&c, &h, "/api/systemusers?filter=username:eq:new.user").await;
    assert_eq!(a.body["totalCount"], 1);
    assert_eq!(&a.body["results"][0], u);
    assert_eq!(all_users(&c, &h).await.len(), USERS + 1);
    assert_eq!(user_of(&h.records(0, "systemusers"), &id), Some(u));
    assert_eq!(
        get(&c, &h, &format!("/api/v2/users/{id}/memberof"))
            .await
            .array()
            .len(),
        0
    );

    // States on create: ACTIVATED, SUSPENDED or STAGED; suspended follows.
    for (state, suspended, activated) in [
        ("ACTIVATED", false, true),
        ("SUSPENDED", true, false),
        ("STAGED", false, false),
    ] {
        let lower = state.to_lowercase();
        let b = json!({"username": lower, "email": format!("{lower}@example.com"), "state": state});
        let r = post(&c, &h, "/api/systemusers", &b).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["state"], state);
        assert_eq!(r.body["suspended"], suspended);
        assert_eq!(r.body["activated"], activated);
    }
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &json!({"username": "s2", "email": "s2@example.com", "suspended": true}),
    )
    .await;
    assert_eq!(r.body["state"], "SUSPENDED", "{}", r.text);

    // The default state of new users is the org's setting.
    h.set_faults(Faults {
        new_user_state: "ACTIVATED".into(),
        ..Faults::default()
    });
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &json!({"username": "act", "email": "act@example.com"}),
    )
    .await;
    assert_eq!(r.body["state"], "ACTIVATED", "{}", r.text);
    assert_eq!(r.body["activated"], true);
    h.set_faults(Faults::default());

    let s = h.stats();
    assert_eq!((s.user_creates, s.user_create_requests), (6, 6));
}

#[tokio::test]
async fn create_user_rejects_what_the_service_rejects() {
    let h = small().await;
    let c = client();
    let users = h.records(0, "systemusers");
    let taken = users
        .iter()
        .find(|u| u["employeeIdentifier"].is_string())
        .expect("a user with an employeeIdentifier");
    let long = |n: usize| "x".repeat(n);
    let ok = |extra: Value| {
        let mut b = json!({"username": "fresh", "email": "fresh@example.com"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let bad = [
        json!({"email": "a@example.com"}),
        json!({"username": "a"}),
        json!({"username": "", "email": "a@example.com"}),
        ok(json!({"state": "DELETED"})),
        ok(json!({"state": "activated"})),
        ok(json!({"employeeIdentifier": long(257)})),
        ok(json!({"description": long(1025)})),
        ok(json!({"attributes": [{"name": "n", "value": long(1025)}]})),
        ok(json!({"attributes": {"name": "n"}})),
        json!(["not", "an", "object"]),
    ];
    for b in &bad {
        let r = post(&c, &h, "/api/systemusers", b).await;
        invalid_argument(&r, None);
    }
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &ok(json!({"state": "ACTIVATED", "suspended": true})),
    )
    .await;
    invalid_argument(
        &r,
        Some("Cannot save conflicting state and suspended fields"),
    );
    // At the limits is fine.
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &ok(
            json!({"employeeIdentifier": long(256), "description": long(1024),
            "attributes": [{"name": "n", "value": long(1024)}]}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Duplicates: username or email in any case, employeeIdentifier.
    let first = &users[0];
    let dups = [
        json!({"username": str_field(first, "username").to_uppercase(), "email": "other1@example.com"}),
        json!({"username": "other2", "email": str_field(first, "email").to_uppercase()}),
        json!({"username": "other3", "email": "other3@example.com", "employeeIdentifier": taken["employeeIdentifier"]}),
        json!({"username": "FRESH", "email": "other4@example.com"}),
    ];
    for b in &dups {
        duplicate_400(&post(&c, &h, "/api/systemusers", b).await);
    }
    // … or 409 with a bare message, as a public client mocks it.
    h.set_faults(Faults {
        duplicate_user_status: 409,
        ..Faults::default()
    });
    for b in &dups {
        let r = post(&c, &h, "/api/systemusers", b).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.body, json!({"message": "User already exists"}));
    }
    h.set_faults(Faults::default());

    // Writes pass the same front as reads: no key, no write (but the request is counted).
    let r = c
        .post(format!("{}/api/systemusers", h.base_url()))
        .header("content-type", "application/json")
        .body(json!({"username": "nokey", "email": "nokey@example.com"}).to_string())
        .send()
        .await
        .expect("a response");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.records(0, "systemusers").len(), USERS + 1);
    let s = h.stats();
    assert_eq!(s.user_creates, 1);
    assert_eq!(s.user_create_requests, bad.len() as u64 + 2 + 2 * 4 + 1);
}

#[tokio::test]
async fn update_user_changes_only_what_is_sent() {
    let h = small().await;
    let c = client();
    let users = h.records(0, "systemusers");
    let target = users
        .iter()
        .find(|u| u["state"] == "ACTIVATED")
        .expect("an active user")
        .clone();
    let id = str_field(&target, "_id").to_string();
    let other = users.iter().find(|u| u["_id"] != id).unwrap().clone();
    let path = format!("/api/systemusers/{id}");

    let attrs = json!([{"name": "only", "value": "this"}]);
    let r = put(
        &c,
        &h,
        &path,
        &json!({"jobTitle": "Chief", "attributes": attrs, "manager": other["_id"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut want = target.clone();
    want["jobTitle"] = json!("Chief");
    want["attributes"] = attrs.clone();
    want["manager"] = other["_id"].clone();
    assert_eq!(
        r.body, want,
        "only the sent keys change; attributes replaced whole"
    );
    assert_eq!(get(&c, &h, &path).await.body, want);
    assert_eq!(user_of(&h.records(0, "systemusers"), &id), Some(&want));

    // manager: null clears it.
    let r = put(&c, &h, &path, &json!({"manager": null})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["manager"].is_null(), "{}", r.body);

    // State: only ACTIVATED or SUSPENDED; suspended kept in step.
    let r = put(&c, &h, &path, &json!({"state": "SUSPENDED"})).await;
    assert_eq!(
        (r.body["state"].clone(), r.body["suspended"].clone()),
        (json!("SUSPENDED"), json!(true))
    );
    let r = put(&c, &h, &path, &json!({"suspended": false})).await;
    assert_eq!(
        (r.body["state"].clone(), r.body["suspended"].clone()),
        (json!("ACTIVATED"), json!(false))
    );
    let r = put(&c, &h, &path, &json!({"suspended": true})).await;
    assert_eq!(r.body["state"], "SUSPENDED");
    let r = put(
        &c,
        &h,
        &path,
        &json!({"state": "ACTIVATED", "suspended": false}),
    )
    .await;
    assert_eq!(
        (r.body["state"].clone(), r.body["suspended"].clone()),
        (json!("ACTIVATED"), json!(false))
    );
    for b in [json!({"state": "STAGED"}), json!({"state": "NOPE"})] {
        invalid_argument(&put(&c, &h, &path, &b).await, None);
    }
    let r = put(
        &c,
        &h,
        &path,
        &json!({"state": "SUSPENDED", "suspended": false}),
    )
    .await;
    invalid_argument(
        &r,
        Some("Cannot save conflicting state and suspended fields"),
    );
    invalid_argument(
        &put(&c, &h, &path, &json!({"description": "d".repeat(1025)})).await,
        None,
    );
    assert_eq!(
        get(&c, &h, &path).await.body["state"],
        "ACTIVATED",
        "a refused PUT changes nothing"
    );

    // Taking another user's username, email or employeeIdentifier is a duplicate.
    let with_eid = users
        .iter()
        .find(|u| u["_id"] != id && u["employeeIdentifier"].is_string())
        .unwrap();
    for b in [
        json!({"username": str_field(&other, "username").to_uppercase()}),
        json!({"email": other["email"]}),
        json!({"employeeIdentifier": with_eid["employeeIdentifier"]}),
    ] {
        duplicate_400(&put(&c, &h, &path, &b).await);
    }
    // Its own username again is no duplicate.
    let r = put(&c, &h, &path, &json!({"username": target["username"]})).await;
    assert_eq!(r.status, StatusCode::OK);

    let r = put(
        &c,
        &h,
        "/api/systemusers/0123456789abcdef01234567",
        &json!({"jobTitle": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"message": "Not Found"}));
    assert_eq!(h.stats().user_updates, 7);
}

#[tokio::test]
async fn delete_user_with_reports_needs_cascade_manager() {
    let h = small().await;
    let c = client();
    let create = |name: &str, manager: Option<&str>| {
        let mut b = json!({"username": name, "email": format!("{name}@example.com")});
        if let Some(m) = manager {
            b["manager"] = json!(m);
        }
        b
    };
    let mut ids = Vec::new();
    for (name, manager) in [("boss", None), ("heir", None)] {
        let r = post(&c, &h, "/api/systemusers", &create(name, manager)).await;
        ids.push(str_field(&r.body, "_id").to_string());
    }
    let (boss, heir) = (ids[0].clone(), ids[1].clone());
    let mut reports = Vec::new();
    for name in ["r1", "r2"] {
        let r = post(&c, &h, "/api/systemusers", &create(name, Some(&boss))).await;
        assert_eq!(r.body["manager"], boss.as_str());
        reports.push(str_field(&r.body, "_id").to_string());
    }

    let r = delete(&c, &h, &format!("/api/systemusers/{boss}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.body,
        json!({"code": 409, "message": "", "status": "FAILED_PRECONDITION"})
    );
    assert!(user_of(&h.records(0, "systemusers"), &boss).is_some());

    let before = get(&c, &h, &format!("/api/systemusers/{boss}")).await.body;
    let r = delete(
        &c,
        &h,
        &format!("/api/systemusers/{boss}?cascade_manager={heir}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, before, "the deleted user");
    for id in &reports {
        let u = get(&c, &h, &format!("/api/systemusers/{id}")).await;
        assert_eq!(u.body["manager"], heir.as_str());
    }
    let r = delete(
        &c,
        &h,
        &format!("/api/systemusers/{heir}?cascade_manager=null"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for id in &reports {
        assert!(get(&c, &h, &format!("/api/systemusers/{id}")).await.body["manager"].is_null());
    }
    let a = get(&c, &h, &format!("/api/systemusers/{boss}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let r = delete(&c, &h, &format!("/api/systemusers/{boss}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"message": "Not Found"}));

    // A generated user in groups and with edges: deleted from every group and edge.
    let edges = h.edges(0);
    let users = h.records(0, "systemusers");
    let groups = h.ids(0, "usergroups");
    let victim = users
        .iter()
        .map(|u| str_field(u, "_id").to_string())
        .find(|u| {
            edges.iter().any(|e| &e.1 == u || &e.3 == u)
                && groups.iter().any(|g| member_ids(&h, g).contains(u))
        })
        .expect("a user with edges and groups");
    let held_by = group_ids_of(&c, &h, &format!("/api/v2/users/{victim}/memberof")).await;
    assert!(!held_by.is_empty());
    let r = delete(
        &c,
        &h,
        &format!("/api/systemusers/{victim}?cascade_manager=null"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(h.edges(0).iter().all(|e| e.1 != victim && e.3 != victim));
    for g in &groups {
        assert!(!member_ids(&h, g).contains(&victim));
        assert!(!direct_members(&c, &h, "usergroups", g)
            .await
            .contains(&victim));
    }
    let a = get(&c, &h, &format!("/api/v2/users/{victim}/memberof")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let s = h.stats();
    assert_eq!((s.user_creates, s.user_deletes), (4, 3));
}

#[tokio::test]
async fn create_user_group_answers_201_and_lists_it() {
    let h = small().await;
    let c = client();
    let n_groups = h.ids(0, "usergroups").len();
    let body =
        json!({"name": "Writers", "description": "they write", "email": "writers@example.com"});
    let r = post(&c, &h, "/api/v2/usergroups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let g = r.body.clone();
    let id = str_field(&g, "id").to_string();
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(g["name"], "Writers");
    assert_eq!(g["type"], "user_group");
    assert_eq!(g["description"], "they write");
    assert_eq!(g["email"], "writers@example.com");
    assert_eq!(g["membershipMethod"], "STATIC");
    assert_eq!(
        g["suggestionCounts"],
        json!({"add": 0, "remove": 0, "total": 0})
    );
    assert!(g.get("attributes").is_some());
    // Every key a generated group always has.
    let generated = h.records(0, "usergroups");
    for k in generated[0].as_object().unwrap().keys() {
        if generated.iter().all(|x| x.get(k.as_str()).is_some()) {
            assert!(g.get(k.as_str()).is_some(), "{k}");
        }
    }

    assert_eq!(
        get(&c, &h, &format!("/api/v2/usergroups/{id}")).await.body,
        g
    );
    let a = get(&c, &h, "/api/v2/usergroups?filter=name:eq:Writers").await;
    assert_eq!(a.array(), &vec![g.clone()]);
    assert_eq!(a.header("x-total-count"), Some("1"));
    assert_eq!(
        v2_all(&c, &h, "/api/v2/usergroups").await.len(),
        n_groups + 1
    );
    assert_eq!(
        get(&c, &h, &format!("/api/v2/usergroups/{id}/members"))
            .await
            .array()
            .len(),
        0
    );
    assert!(h.records(0, "usergroups").contains(&g));

    let r = post(&c, &h, "/api/v2/usergroups", &json!({"name": "Writers"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body, json!({"message": "Already Exists"}));
    // Names match exactly: another case is another group.
    let r = post(&c, &h, "/api/v2/usergroups", &json!({"name": "writers"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    for b in [
        json!({"description": "no name"}),
        json!({"name": ""}),
        json!({"name": 7}),
    ] {
        let r = post(&c, &h, "/api/v2/usergroups", &b).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}");
        assert!(r.body["message"].is_string());
    }
    assert_eq!(h.stats().group_creates, 2);
}

#[tokio::test]
async fn group_members_add_and_remove_refresh_every_view() {
    let h = small().await;
    let c = client();
    // A user group bound to an application, and a user it does not hold.
    let edges = h.edges(0);
    let (app, group) = edges
        .iter()
        .find_map(|(at, a, bt, b, _)| match (at.as_str(), bt.as_str()) {
            ("application", "user_group") => Some((a.clone(), b.clone())),
            ("user_group", "application") => Some((b.clone(), a.clone())),
            _ => None,
        })
        .expect("an application bound to a user group");
    let mut user = None;
    for u in h.ids(0, "systemusers") {
        let apps = group_ids_of(&c, &h, &format!("/api/v2/users/{u}/applications")).await;
        if !apps.contains(&app) && !member_ids(&h, &group).contains(&u) {
            user = Some(u);
            break;
        }
    }
    let user = user.expect("a user out of the group");
    // The views are made (and cached) before the change.
    let memberof = format!("/api/v2/users/{user}/memberof");
    assert!(!group_ids_of(&c, &h, &memberof).await.contains(&group));
    assert!(!direct_members(&c, &h, "usergroups", &group)
        .await
        .contains(&user));

    let r = members_op(&c, &h, "usergroups", &group, "add", "user", &user).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    assert!(member_ids(&h, &group).contains(&user));
    assert!(direct_members(&c, &h, "usergroups", &group)
        .await
        .contains(&user));
    let resolved = group_ids_of(&c, &h, &format!("/api/v2/usergroups/{group}/membership")).await;
    assert!(resolved.contains(&user));
    assert!(group_ids_of(&c, &h, &memberof).await.contains(&group));
    let apps = group_ids_of(&c, &h, &format!("/api/v2/users/{user}/applications")).await;
    assert!(apps.contains(&app), "reached through the new membership");

    let r = members_op(&c, &h, "usergroups", &group, "add", "user", &user).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body, json!({"message": "Already Exists"}));

    let r = members_op(&c, &h, "usergroups", &group, "remove", "user", &user).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!direct_members(&c, &h, "usergroups", &group)
        .await
        .contains(&user));
    assert!(!group_ids_of(&c, &h, &memberof).await.contains(&group));
    let apps = group_ids_of(&c, &h, &format!("/api/v2/users/{user}/applications")).await;
    assert!(!apps.contains(&app));

    let r = members_op(&c, &h, "usergroups", &group, "remove", "user", &user).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"message": "Not Found"}));
    let nobody = "0123456789abcdef01234567";
    let r = members_op(&c, &h, "usergroups", nobody, "add", "user", &user).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = members_op(&c, &h, "usergroups", &group, "add", "user", nobody).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (op, kind) in [("replace", "user"), ("add", "system"), ("add", "")] {
        let r = members_op(&c, &h, "usergroups", &group, op, kind, &user).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{op} {kind}");
    }

    // System groups the same, with systems.
    let sgroup = h.ids(0, "systemgroups")[0].clone();
    let system = h
        .ids(0, "systems")
        .into_iter()
        .find(|s| !member_ids(&h, &sgroup).contains(s))
        .expect("a system out of the group");
    let r = members_op(&c, &h, "systemgroups", &sgroup, "add", "system", &system).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(direct_members(&c, &h, "systemgroups", &sgroup)
        .await
        .contains(&system));
    let held = group_ids_of(&c, &h, &format!("/api/v2/systems/{system}/memberof")).await;
    assert!(held.contains(&sgroup));
    let r = members_op(&c, &h, "systemgroups", &sgroup, "add", "system", &system).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::CONFLICT, json!({"message": "Already Exists"}))
    );
    let r = members_op(&c, &h, "systemgroups", &sgroup, "add", "user", &user).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = members_op(&c, &h, "systemgroups", &sgroup, "remove", "system", &system).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = members_op(&c, &h, "systemgroups", &sgroup, "remove", "system", &system).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
    );

    // A new group and a new user, through the API alone.
    let g = post(&c, &h, "/api/v2/usergroups", &json!({"name": "Fresh"}))
        .await
        .body;
    let gid = str_field(&g, "id").to_string();
    let u = post(
        &c,
        &h,
        "/api/systemusers",
        &json!({"username": "joiner", "email": "joiner@example.com"}),
    )
    .await
    .body;
    let uid = str_field(&u, "_id").to_string();
    let r = members_op(&c, &h, "usergroups", &gid, "add", "user", &uid).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        direct_members(&c, &h, "usergroups", &gid).await,
        vec![uid.clone()]
    );
    assert_eq!(
        group_ids_of(&c, &h, &format!("/api/v2/users/{uid}/memberof")).await,
        vec![gid.clone()]
    );
    assert_eq!(h.members(0, &gid), vec![("user".to_string(), uid)]);

    let s = h.stats();
    assert_eq!(
        (s.member_adds, s.member_removes, s.group_creates),
        (3, 2, 1)
    );
}

#[tokio::test]
async fn write_lag_hides_writes_from_reads_until_due() {
    let h = small().await;
    let c = client();
    const LAG_MS: u64 = 2500;
    h.set_faults(Faults {
        write_lag_ms: LAG_MS,
        ..Faults::default()
    });
    let group = h.ids(0, "usergroups")[0].clone();
    let members_before = direct_members(&c, &h, "usergroups", &group).await;
    let target = h.ids(0, "systemusers")[0].clone();
    let title_before = get(&c, &h, &format!("/api/systemusers/{target}"))
        .await
        .body["jobTitle"]
        .clone();

    let t0 = Instant::now();
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &json!({"username": "lagged", "email": "lagged@example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let id = str_field(&r.body, "_id").to_string();
    let r = put(
        &c,
        &h,
        &format!("/api/systemusers/{target}"),
        &json!({"jobTitle": "Lagging"}),
    )
    .await;
    assert_eq!(
        r.body["jobTitle"], "Lagging",
        "the write answers with the new state"
    );
    // Writes validate against the latest state: the new user exists for them.
    duplicate_400(
        &post(
            &c,
            &h,
            "/api/systemusers",
            &json!({"username": "LAGGED", "email": "x@example.com"}),
        )
        .await,
    );
    let r = members_op(&c, &h, "usergroups", &group, "add", "user", &id).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = members_op(&c, &h, "usergroups", &group, "add", "user", &id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let g = post(&c, &h, "/api/v2/usergroups", &json!({"name": "Later"}))
        .await
        .body;
    let gid = str_field(&g, "id").to_string();
    let last_write = Instant::now();

    // Reads still answer as before the writes.
    assert_eq!(
        get(&c, &h, &format!("/api/systemusers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let a = get(&c, &h, "/api/systemusers?filter=username:eq:lagged").await;
    assert_eq!(a.body["totalCount"], 0);
    assert_eq!(
        get(&c, &h, "/api/systemusers").await.body["totalCount"],
        USERS
    );
    assert_eq!(
        get(&c, &h, &format!("/api/systemusers/{target}"))
            .await
            .body["jobTitle"],
        title_before
    );
    assert_eq!(
        direct_members(&c, &h, "usergroups", &group).await,
        members_before
    );
    assert_eq!(
        get(&c, &h, &format!("/api/v2/users/{id}/memberof"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&c, &h, &format!("/api/v2/usergroups/{gid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        t0.elapsed().as_millis() < LAG_MS as u128,
        "the checks ran inside the lag"
    );
    // The accessors show the latest org.
    assert!(h.ids(0, "systemusers").contains(&id));
    assert!(member_ids(&h, &group).contains(&id));
    assert!(h.ids(0, "usergroups").contains(&gid));

    let due = last_write + Duration::from_millis(LAG_MS + 200);
    tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
    assert_eq!(
        get(&c, &h, &format!("/api/systemusers/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&c, &h, "/api/systemusers").await.body["totalCount"],
        USERS + 1
    );
    assert_eq!(
        get(&c, &h, &format!("/api/systemusers/{target}"))
            .await
            .body["jobTitle"],
        "Lagging"
    );
    assert!(direct_members(&c, &h, "usergroups", &group)
        .await
        .contains(&id));
    assert_eq!(
        group_ids_of(&c, &h, &format!("/api/v2/users/{id}/memberof")).await,
        vec![group.clone()]
    );
    assert_eq!(
        get(&c, &h, &format!("/api/v2/usergroups/{gid}")).await.body,
        g
    );

    // Without the lag a write shows at once.
    h.set_faults(Faults::default());
    let r = delete(&c, &h, &format!("/api/systemusers/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        get(&c, &h, &format!("/api/systemusers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!direct_members(&c, &h, "usergroups", &group)
        .await
        .contains(&id));
}

#[tokio::test]
async fn applied_then_502_or_reset_keeps_the_write() {
    let h = small().await;
    let c = client();
    h.set_faults(Faults {
        applied_then_502_rate: 1.0,
        ..Faults::default()
    });
    let body = json!({"username": "ghost", "email": "ghost@example.com"});
    let r = post(&c, &h, "/api/systemusers", &body).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.text.contains("502") || r.body["message"] == "Bad Gateway",
        "a gateway body: {}",
        r.text
    );
    // Reads are not writes: they answer normally.
    let a = get(&c, &h, "/api/systemusers?filter=username:eq:ghost").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], 1, "the write happened");
    let id = str_field(&a.body["results"][0], "_id").to_string();
    let group = h.ids(0, "usergroups")[0].clone();
    let r = members_op(&c, &h, "usergroups", &group, "add", "user", &id).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(member_ids(&h, &group).contains(&id));

    h.set_faults(Faults {
        applied_then_reset_rate: 1.0,
        ..Faults::default()
    });
    let path = format!("/api/systemusers/{id}");
    let r = try_call(
        &c,
        &h,
        Method::PUT,
        &path,
        Some(&json!({"jobTitle": "Haunting"})),
    )
    .await;
    assert!(r.is_err(), "a reset connection gives no response");
    let u = user_of(&h.records(0, "systemusers"), &id)
        .cloned()
        .expect("the user");
    assert_eq!(u["jobTitle"], "Haunting");

    // A client that retries the create learns the user exists.
    h.set_faults(Faults::default());
    duplicate_400(&post(&c, &h, "/api/systemusers", &body).await);
    let s = h.stats();
    assert_eq!((s.writes_then_502, s.writes_then_reset), (2, 1));
    assert_eq!(
        (
            s.user_creates,
            s.user_create_requests,
            s.user_updates,
            s.member_adds
        ),
        (1, 2, 1, 1)
    );

    // The counters and knobs are on the control routes too.
    let base = h.base_url();
    let st = send(c.get(format!("{base}/_sim/stats"))).await.body;
    for k in [
        "user_creates",
        "user_create_requests",
        "user_updates",
        "user_deletes",
        "group_creates",
        "member_adds",
        "member_removes",
        "writes_then_502",
        "writes_then_reset",
    ] {
        assert!(st[k].is_u64(), "{k} in {st}");
    }
    assert_eq!(st["writes_then_502"], 2);
    let a = send(
        c.post(format!("{base}/_sim/faults"))
            .body(r#"{"duplicate_user_status": 409, "new_user_state": "SUSPENDED"}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let r = post(&c, &h, "/api/systemusers", &body).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::CONFLICT,
            json!({"message": "User already exists"})
        )
    );
    let r = post(
        &c,
        &h,
        "/api/systemusers",
        &json!({"username": "sus", "email": "sus@example.com"}),
    )
    .await;
    assert_eq!(r.body["state"], "SUSPENDED");
    // Older knob JSON keeps working, with the defaults.
    send(c.post(format!("{base}/_sim/faults")).body("{}")).await;
    duplicate_400(&post(&c, &h, "/api/systemusers", &body).await);
}
