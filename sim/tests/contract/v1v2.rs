//! The v1 envelope (limits, skip, sort, fields, filter, single objects) and v2 bare arrays, members and associations.

use super::*;

#[tokio::test]
async fn v1_envelope_limits_and_skip() {
    let h = small().await;
    let c = client();
    let ids = h.ids(0, "systemusers");
    assert_eq!(ids.len(), USERS);

    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.status, StatusCode::OK);
    let obj = a.body.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["results", "totalCount"]);
    assert_eq!(a.body["totalCount"], USERS);
    let page = a.body["results"].as_array().expect("results");
    assert_eq!(page.len(), 10, "default limit is 10");
    assert_eq!(ids_of(page, "_id"), ids[..10].to_vec());
    // `id` mirrors `_id`, and ids are 24 hex characters.
    for u in page {
        assert_eq!(u["id"], u["_id"]);
        let id = str_field(u, "_id");
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    let a = get(&c, &h, "/api/systemusers?limit=100&skip=200").await;
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(50));

    let a = get(&c, &h, "/api/systemusers?limit=101").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    a.message();

    let a = get(&c, &h, "/api/systemusers?limit=10&skip=10000").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"], json!([]));
}

#[tokio::test]
async fn v1_paging_yields_every_user_once() {
    let h = small().await;
    let c = client();
    let users = all_users(&c, &h).await;
    let got = ids_of(&users, "_id");
    assert_eq!(got, h.ids(0, "systemusers"));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), USERS);
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "the default list order is `_id` order"
    );
    // Sorting by `_id` explicitly (JumpCloud's advice) gives the same order.
    let a = get(&c, &h, "/api/systemusers?limit=100&skip=100&sort=_id").await;
    assert_eq!(
        ids_of(a.body["results"].as_array().expect("results"), "_id"),
        got[100..200].to_vec()
    );
}

#[tokio::test]
async fn v1_sort_fields_and_filter() {
    let h = small().await;
    let c = client();

    let a = get(&c, &h, "/api/systemusers?limit=100&sort=-created").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    let page = a.body["results"].as_array().expect("results");
    assert_eq!(page.len(), 100);
    let created: Vec<&str> = page.iter().map(|u| str_field(u, "created")).collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "sort=-created is descending"
    );
    // The newest user first.
    let users = all_users(&c, &h).await;
    let newest = users
        .iter()
        .map(|u| str_field(u, "created"))
        .max()
        .expect("users");
    assert_eq!(created[0], newest);

    let a = get(&c, &h, "/api/systemusers?limit=5&fields=username%20email").await;
    for u in a.body["results"].as_array().expect("results") {
        let mut keys: Vec<&str> = u
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["_id", "email", "username"]);
    }

    let target = &users[137];
    let name = str_field(target, "username");
    for op in ["$eq", "eq"] {
        let a = get(
            &c,
            &h,
            &format!("/api/systemusers?filter=username:{op}:{name}"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "filter op {op}");
        assert_eq!(a.body["totalCount"], 1, "filter op {op}");
        assert_eq!(a.body["results"], json!([target]), "filter op {op}");
    }
    let a = get(&c, &h, "/api/systemusers?filter=username:$eq:nobody.at.all").await;
    assert_eq!(a.body["totalCount"], 0);
    assert_eq!(a.body["results"], json!([]));
}

#[tokio::test]
async fn v1_single_object_and_unknown_routes() {
    let h = small().await;
    let c = client();
    let users = all_users(&c, &h).await;
    let id = str_field(&users[42], "_id");
    let a = get(&c, &h, &format!("/api/systemusers/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, users[42]);

    let a = get(&c, &h, "/api/systemusers/0123456789abcdef01234567").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();

    for path in [
        "/api/nosuchthing",
        "/api/v2/nosuchthing",
        "/nowhere/at/all",
        "/insights/directory/v1/nothing",
    ] {
        let a = get(&c, &h, path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        a.message();
    }

    // The other v1 collections answer in the same envelope.
    for (route, n) in [("systems", 60), ("organizations", 1)] {
        let a = get(&c, &h, &format!("/api/{route}?limit=100")).await;
        assert_eq!(a.body["totalCount"], n, "{route}");
        assert_eq!(
            ids_of(a.body["results"].as_array().expect("results"), "_id"),
            h.ids(0, route),
            "{route}"
        );
    }
}

#[tokio::test]
async fn v2_bare_arrays_and_limits() {
    let h = small().await;
    let c = client();
    let groups = h.ids(0, "usergroups");
    assert_eq!(groups.len(), 20);

    let a = get(&c, &h, "/api/v2/usergroups").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.array().len(), 10, "default limit is 10");
    assert_eq!(ids_of(a.array(), "id"), groups[..10].to_vec());

    let a = get(&c, &h, "/api/v2/usergroups?limit=100").await;
    assert_eq!(
        ids_of(a.array(), "id"),
        groups,
        "a short page ends the list"
    );
    for g in a.array() {
        assert_eq!(g["type"], "user_group");
    }

    let a = get(&c, &h, "/api/v2/usergroups?limit=10&skip=15").await;
    assert_eq!(ids_of(a.array(), "id"), groups[15..].to_vec());

    let a = get(&c, &h, "/api/v2/usergroups?limit=10&skip=500").await;
    assert_eq!(a.body, json!([]));

    let a = get(&c, &h, "/api/v2/usergroups?limit=101").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    a.message();

    for route in ["systemgroups", "policies", "directories"] {
        let got = ids_of(&v2_all(&c, &h, &format!("/api/v2/{route}")).await, "id");
        assert_eq!(got, h.ids(0, route), "{route}");
    }

    // The reference's own example form (`+` for a space), and several filters ANDed.
    for q in [
        "filter=name:eq:Team%203",
        "filter=name:eq:Team+3",
        "filter=name:eq:Team+3&filter=type:eq:user_group",
    ] {
        let a = get(&c, &h, &format!("/api/v2/usergroups?{q}")).await;
        assert_eq!(ids_of(a.array(), "id"), vec![groups[3].clone()], "{q}");
    }
    let a = get(
        &c,
        &h,
        "/api/v2/usergroups?filter=name:eq:Team+3&filter=type:eq:system_group",
    )
    .await;
    assert_eq!(a.body, json!([]), "filters are ANDed");
    let a = get(&c, &h, "/api/v2/usergroups?filter=name:eq:team+3").await;
    assert_eq!(a.body, json!([]), "values are case sensitive");
}

#[tokio::test]
async fn v2_members_and_nested_membership() {
    let h = small().await;
    let c = client();
    let users: HashSet<String> = h.ids(0, "systemusers").into_iter().collect();
    let groups = h.ids(0, "usergroups");
    let group_set: HashSet<&String> = groups.iter().collect();

    let mut direct_users: Vec<HashSet<String>> = Vec::new();
    let mut nested: Vec<(usize, String)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let members = v2_all(&c, &h, &format!("/api/v2/usergroups/{g}/members")).await;
        let mut mine = HashSet::new();
        for m in &members {
            let obj = m.as_object().expect("connection object");
            assert_eq!(obj.len(), 2, "connection keys: {m}");
            assert!(m["attributes"].is_null() || m["attributes"].is_object());
            let to = m["to"].as_object().expect("to");
            assert_eq!(to.len(), 3, "to keys: {m}");
            assert!(to.contains_key("attributes"));
            let id = str_field(&m["to"], "id").to_string();
            match str_field(&m["to"], "type") {
                "user" => {
                    assert!(users.contains(&id), "member {id} is no user");
                    mine.insert(id);
                }
                "user_group" => {
                    assert!(group_set.contains(&id), "member {id} is no group");
                    nested.push((gi, id));
                }
                other => panic!("unexpected member type {other}"),
            }
        }
        direct_users.push(mine);
    }
    assert!(
        !nested.is_empty(),
        "the default org nests at least one group"
    );

    for (gi, inner) in &nested {
        let inner_i = groups.iter().position(|g| g == inner).expect("inner group");
        let resolved = v2_all(
            &c,
            &h,
            &format!("/api/v2/usergroups/{}/membership", groups[*gi]),
        )
        .await;
        let mut got = HashSet::new();
        for r in &resolved {
            assert_eq!(r["type"], "user");
            let paths = r["paths"].as_array().expect("paths");
            assert!(!paths.is_empty());
            for p in paths {
                let last = p.as_array().and_then(|p| p.last()).expect("a path");
                assert_eq!(last["to"]["id"], r["id"], "a path ends at the member");
            }
            got.insert(str_field(r, "id").to_string());
        }
        assert!(
            direct_users[*gi].is_subset(&got),
            "membership keeps the direct members"
        );
        assert!(
            direct_users[inner_i].is_subset(&got),
            "membership of group {gi} resolves the nested group {inner_i}"
        );
        // Users reached only through the nested group have a two-step path.
        if let Some(via) = direct_users[inner_i].difference(&direct_users[*gi]).next() {
            let r = resolved
                .iter()
                .find(|r| r["id"] == via.as_str())
                .expect("r");
            let p = r["paths"][0].as_array().expect("path");
            assert!(p.len() >= 2, "{r}");
        }
    }
}

#[tokio::test]
async fn v2_associations() {
    let h = small().await;
    let c = client();
    let systems: HashSet<String> = h.ids(0, "systems").into_iter().collect();
    let mut seen = 0;
    for uid in h.ids(0, "systemusers").iter().take(40) {
        let a = get(
            &c,
            &h,
            &format!("/api/v2/users/{uid}/associations?targets=system"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        for conn in a.array() {
            assert_eq!(conn["to"]["type"], "system");
            let sid = str_field(&conn["to"], "id");
            assert!(systems.contains(sid), "associated system {sid} exists");
            seen += 1;
        }
    }
    assert!(seen > 0, "some users are bound to systems");

    let uid = &h.ids(0, "systemusers")[0];
    let a = get(&c, &h, &format!("/api/v2/users/{uid}/associations")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "targets is required");
    a.message();

    let a = get(
        &c,
        &h,
        "/api/v2/users/0123456789abcdef01234567/associations?targets=system",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();
}
