//! Schema drift and mutation, by request and on a timer.

use super::*;

#[tokio::test]
async fn drift_adds_fields_and_changes_types() {
    let h = start(SimConfig {
        drift: Drift {
            field_after: Some(100),
            type_every: Some(7),
            ..Default::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let users = all_users(&c, &h).await;
    assert_eq!(users.len(), USERS);
    for (i, u) in users.iter().enumerate() {
        let drifted = i >= 100;
        assert_eq!(u.get("drift_new_field").is_some(), drifted, "user {i}");
        assert_eq!(u["mfa"].get("drift_nested").is_some(), drifted, "user {i}");
        let uid = &u["unix_uid"];
        if i % 7 == 6 {
            assert!(uid.is_string(), "user {i}: unix_uid {uid}");
        } else {
            assert!(uid.is_i64(), "user {i}: unix_uid {uid}");
        }
    }

    // Without drift, no user has the new fields and unix_uid is always a number.
    let plain = small().await;
    for u in all_users(&c, &plain).await {
        assert!(u.get("drift_new_field").is_none());
        assert!(u["mfa"].get("drift_nested").is_none());
        assert!(u["unix_uid"].is_i64());
    }
}

#[tokio::test]
async fn mutation_changes_users_and_events() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);
    let before = ids_of(&all_users(&c, &h).await, "_id");
    assert_eq!(before.len(), USERS);
    let count_q = json!({"service": ["all"], "start_time": start});
    let n0 = insights(&c, &h, "events/count", &count_q).await.body["count"]
        .as_u64()
        .expect("count");
    assert_eq!(n0, EVENTS as u64);
    let newest = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 1, "sort": "DESC"}),
    )
    .await;
    let newest_id = str_field(&newest.array()[0], "id").to_string();
    let old_events: HashSet<String> = h.event_ids(0).into_iter().collect();

    let report = h.mutate(
        0,
        &Mutation {
            add_users: 5,
            remove_users: 3,
            change_users: 4,
            new_events: 50,
            late_events: 10,
            late_by_ms: 3_600_000,
            ..Default::default()
        },
    );
    assert_eq!(report.added_users.len(), 5);
    assert_eq!(report.removed_users.len(), 3);
    assert_eq!(report.changed_users.len(), 4);
    assert_eq!(report.new_events, 60);

    let users = all_users(&c, &h).await;
    let after = ids_of(&users, "_id");
    assert_eq!(after.len(), USERS + 2);
    assert_eq!(after, h.ids(0, "systemusers"));
    let after_set: HashSet<&String> = after.iter().collect();
    for id in &report.removed_users {
        assert!(before.contains(id));
        assert!(!after_set.contains(id), "removed {id} is gone");
        let a = get(&c, &h, &format!("/api/systemusers/{id}")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
    for id in &report.added_users {
        assert!(!before.contains(id));
        assert!(after_set.contains(id), "added {id} is listed");
    }
    let mut sorted = after.clone();
    sorted.sort();
    assert_eq!(after, sorted, "the list stays in _id order");
    for id in &report.changed_users {
        let u = users
            .iter()
            .find(|u| u["_id"] == id.as_str())
            .expect("changed user");
        assert!(str_field(u, "jobTitle").starts_with("Senior Engineer"));
    }
    // Removed users leave no dangling group members.
    for g in h.ids(0, "usergroups") {
        for m in v2_all(&c, &h, &format!("/api/v2/usergroups/{g}/members")).await {
            assert!(!report
                .removed_users
                .iter()
                .any(|r| m["to"]["id"] == r.as_str()));
        }
    }

    let n1 = insights(&c, &h, "events/count", &count_q).await.body["count"]
        .as_u64()
        .expect("count");
    assert_eq!(n1, n0 + 60);
    let (events, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000}),
    )
    .await;
    let ids = ids_of(&events, "id");
    assert_eq!(ids, h.event_ids(0));
    let pivot = ids
        .iter()
        .position(|i| *i == newest_id)
        .expect("old newest");
    let new_before = ids[..pivot]
        .iter()
        .filter(|i| !old_events.contains(*i))
        .count();
    let new_after = ids[pivot..]
        .iter()
        .filter(|i| !old_events.contains(*i))
        .count();
    assert_eq!(
        new_before, 10,
        "late events sort before the previous newest"
    );
    assert_eq!(new_after, 50, "new events sort after it");
    let pivot_ts = parse_ts(&events[pivot]);
    for e in events[..pivot]
        .iter()
        .filter(|e| !old_events.contains(str_field(e, "id")))
    {
        assert!(
            parse_ts(e) <= pivot_ts + chrono::Duration::seconds(1)
                && parse_ts(e) >= pivot_ts - chrono::Duration::milliseconds(3_601_000),
            "a late event lies within late_by_ms before the previous newest"
        );
    }
}

/// The routes keep indices and caches (objects by id, the groups holding each object,
/// results per policy, sort orders); a mutation must leave none of them stale.
#[tokio::test]
async fn answers_after_a_mutation_are_made_from_the_new_data() {
    let h = small().await;
    let c = client();
    let users = h.ids(0, "systemusers");
    let systems = h.ids(0, "systems");
    let policies = h.ids(0, "policies");
    // Ask everything once, so that every view is made from the data before the mutation.
    for u in &users {
        let a = get(&c, &h, &format!("/api/v2/users/{u}/pushendpoints")).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let reach_before: usize = {
        let mut n = 0;
        for s in &systems {
            n += v2_all(&c, &h, &format!("/api/v2/systems/{s}/users"))
                .await
                .len();
        }
        n
    };
    let results_before = v2_all(&c, &h, "/api/v2/policyresults?sort=endedAt").await;
    for p in &policies {
        v2_all(&c, &h, &format!("/api/v2/policies/{p}/policystatuses")).await;
    }

    let report = h.mutate(
        0,
        &Mutation {
            add_users: 4,
            remove_users: 30,
            new_results: 15,
            ..Default::default()
        },
    );
    assert_eq!(report.new_policy_results, 15);
    for id in &report.removed_users {
        for path in [
            format!("/api/systemusers/{id}"),
            format!("/api/v2/users/{id}/pushendpoints"),
            format!("/api/v2/users/{id}/memberof"),
        ] {
            let a = get(&c, &h, &path).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        }
    }
    for id in &report.added_users {
        let a = get(&c, &h, &format!("/api/v2/users/{id}/pushendpoints")).await;
        assert_eq!(a.status, StatusCode::OK, "added {id}");
        assert_eq!(a.array().len(), 0, "a new user has no Protect devices");
    }
    // Removed users are reached by no system any more (their edges and memberships went).
    let mut reach_after = 0;
    for s in &systems {
        let reached = v2_all(&c, &h, &format!("/api/v2/systems/{s}/users")).await;
        for u in &reached {
            let id = str_field(u, "id");
            assert!(!report.removed_users.iter().any(|r| r == id), "{s} → {id}");
        }
        reach_after += reached.len();
    }
    assert!(reach_after < reach_before, "{reach_after} < {reach_before}");
    // The sorted list has the new results, in order, at its end.
    let results = v2_all(&c, &h, "/api/v2/policyresults?sort=endedAt").await;
    assert_eq!(results.len(), results_before.len() + 15);
    let ended: Vec<&str> = results.iter().map(|r| str_field(r, "endedAt")).collect();
    assert!(ended.windows(2).all(|w| w[0] <= w[1]), "sorted by endedAt");
    let old: HashSet<&str> = results_before.iter().map(|r| str_field(r, "id")).collect();
    assert!(results[..results_before.len()]
        .iter()
        .all(|r| old.contains(str_field(r, "id"))));
    // Each policy's statuses are the latest of its results, new ones included.
    let mut statuses = 0;
    for p in &policies {
        statuses += v2_all(&c, &h, &format!("/api/v2/policies/{p}/policystatuses"))
            .await
            .len();
    }
    let mut pairs: HashSet<(&str, &str)> = HashSet::new();
    for r in &results {
        pairs.insert((str_field(r, "policyID"), str_field(r, "systemID")));
    }
    assert_eq!(statuses, pairs.len());
}

#[tokio::test]
async fn mutation_on_a_timer_changes_every_org() {
    let sim = jclake_sim::start(jclake_sim::SimConfig::default())
        .await
        .expect("sim");
    let before: Vec<usize> = (0..2).map(|o| sim.ids(o, "systemusers").len()).collect();
    let events: Vec<usize> = (0..2).map(|o| sim.event_ids(o).len()).collect();
    let step = jclake_sim::Mutation {
        add_users: 4,
        remove_users: 1,
        new_events: 10,
        late_events: 2,
        late_by_ms: 1000,
        ..Default::default()
    };
    sim.mutate_every(Duration::from_millis(150), step);
    // Wait (at most 10 s) until both orgs have seen at least two steps.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (0..2).any(|o| sim.ids(o, "systemusers").len() < before[o] + 6) {
        assert!(
            std::time::Instant::now() < deadline,
            "the timer did not mutate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for o in 0..2 {
        // Each step: +4 -1 users and 10 + 2 events.
        let users = sim.ids(o, "systemusers").len() - before[o];
        let new_events = sim.event_ids(o).len() - events[o];
        assert_eq!(users % 3, 0, "org {o}");
        assert_eq!(new_events % 12, 0, "org {o}");
        assert!(
            new_events / 12 >= 2 && users / 3 >= 2,
            "org {o}: {users} users, {new_events} events"
        );
    }
}
