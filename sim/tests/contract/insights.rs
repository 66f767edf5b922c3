//! Directory Insights: headers, the `X-Search_after` cursor, same-millisecond bursts, forgiving limits and sorts, bad queries, services, windows and fields, several orgs; the order is the rendered timestamps' (whole-second ones included), before and after a mutation.

use super::*;

#[tokio::test]
async fn insights_headers_and_cursor() {
    let h = small().await;
    let c = client();
    let q = json!({"service": ["all"], "start_time": days_ago(30)});
    let a = insights(&c, &h, "events", &q).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(header_num(&a, "x-result-count"), 1000);
    assert_eq!(header_num(&a, "x-limit"), 1000, "default limit");
    assert_eq!(a.header("x-sort"), Some("ASC"));
    assert!(!a.header("x-request-id").unwrap_or("").is_empty());
    let c1 = search_after(&a);
    let last = a.array().last().expect("events");
    // The cursor's ms is the last event's time; its opaque part is not the event id.
    if str_field(last, "timestamp").contains('.') {
        assert_eq!(c1[0].as_i64(), Some(parse_ts(last).timestamp_millis()));
    } else {
        // A timestamp written with no fraction has lost its ms; compare seconds.
        assert_eq!(
            c1[0].as_i64().map(|m| m.div_euclid(1000)),
            Some(parse_ts(last).timestamp())
        );
    }
    assert_ne!(c1[1], last["id"]);

    // The same call again: same events, different cursor and request id.
    let b = insights(&c, &h, "events", &q).await;
    assert_eq!(a.body, b.body);
    assert_ne!(search_after(&b), c1, "the cursor changes on every call");
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));

    // The last page still carries a cursor; following it gives an empty page, with one too.
    let mut q2 = q.clone();
    q2["search_after"] = c1;
    let p2 = insights(&c, &h, "events", &q2).await;
    assert_eq!(header_num(&p2, "x-result-count"), EVENTS - 1000);
    assert_eq!(header_num(&p2, "x-limit"), 1000);
    let c2 = search_after(&p2);
    q2["search_after"] = c2;
    let p3 = insights(&c, &h, "events", &q2).await;
    assert_eq!(p3.status, StatusCode::OK);
    assert_eq!(p3.body, json!([]));
    assert_eq!(header_num(&p3, "x-result-count"), 0);
    search_after(&p3);
}

#[tokio::test]
async fn insights_search_after_yields_every_event_once() {
    let h = small().await;
    let c = client();
    let (events, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": days_ago(30), "limit": 100}),
    )
    .await;
    let got = ids_of(&events, "id");
    assert_eq!(got.len(), EVENTS);
    assert_eq!(got, h.event_ids(0));
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        EVENTS,
        "no repeats"
    );
    let secs: Vec<i64> = events.iter().map(|e| parse_ts(e).timestamp()).collect();
    assert!(secs.windows(2).all(|w| w[0] <= w[1]), "ASC by timestamp");

    let a = insights(
        &c,
        &h,
        "events/count",
        &json!({"service": ["all"], "start_time": days_ago(30)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({"count": EVENTS}));
}

/// Pages of 10 through an org whose events come in same-millisecond bursts: a page must be
/// able to end inside a burst and the next one continue it, losing and repeating nothing.
#[tokio::test]
async fn insights_cursor_splits_same_millisecond_bursts() {
    let h = start(SimConfig {
        size: OrgSize {
            users: 50,
            systems: 10,
            events: 600,
            ..OrgSize::default()
        },
        ..SimConfig::default()
    })
    .await;
    let c = client();
    let (events, cursors_ms) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": days_ago(30), "limit": 10}),
    )
    .await;
    let got = ids_of(&events, "id");
    assert_eq!(got, h.event_ids(0));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 600);
    let same_ms_boundaries = cursors_ms.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(
        same_ms_boundaries > 0,
        "some page lies wholly inside one millisecond burst"
    );
}

#[tokio::test]
async fn insights_limit_and_sort_are_forgiving() {
    let h = small().await;
    let c = client();
    for limit in [json!(20_000), json!(-5), json!("abc"), json!(0), json!(1.5)] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": limit}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "limit {limit}");
        assert_eq!(header_num(&a, "x-limit"), 1000, "limit {limit}");
        assert_eq!(a.array().len(), 1000, "limit {limit}");
    }
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": days_ago(30), "limit": 10000}),
    )
    .await;
    assert_eq!(header_num(&a, "x-limit"), 10000, "the maximum is allowed");
    assert_eq!(a.array().len(), EVENTS);

    for sort in ["desc", "DESC", "Desc"] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": 200, "sort": sort}),
        )
        .await;
        assert_eq!(a.header("x-sort"), Some("DESC"), "sort {sort}");
        let secs: Vec<i64> = a.array().iter().map(|e| parse_ts(e).timestamp()).collect();
        assert!(secs.windows(2).all(|w| w[0] >= w[1]), "descending");
        let newest = h.event_ids(0).last().cloned();
        assert_eq!(a.array()[0]["id"].as_str(), newest.as_deref());
    }
    for sort in [json!("bogus"), json!(7), json!("asc")] {
        let a = insights(
            &c,
            &h,
            "events",
            &json!({"service": ["all"], "start_time": days_ago(30), "limit": 50, "sort": sort}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header("x-sort"), Some("ASC"), "sort {sort}");
        assert_eq!(ids_of(a.array(), "id"), h.event_ids(0)[..50].to_vec());
    }
}

#[tokio::test]
async fn insights_rejects_bad_queries() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);

    let a = insights(&c, &h, "events", &json!({"start_time": start})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing service");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["nope"], "start_time": start}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "unknown service");
    let m = a.message();
    for s in SERVICES {
        assert!(m.contains(s), "the message lists {s}: {m}");
    }

    let a = insights(&c, &h, "events", &json!({"service": ["all"]})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing start_time");

    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": future}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "start in the future");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "end_time": days_ago(31)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "end before start");
    a.message();

    let a = insights_raw(&c, &h, "events", "{\"service\": [\"all\"],".into()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "malformed JSON");
    a.message();

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "fields": []}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "empty fields");
    a.message();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "fields": ["no_such_field"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no known field");

    // A cursor from another query (different start_time) is refused.
    let q = json!({"service": ["all"], "start_time": start, "limit": 10});
    let first = insights(&c, &h, "events", &q).await;
    let cursor = search_after(&first);
    let other = json!({"service": ["all"], "start_time": days_ago(20), "limit": 10, "search_after": cursor});
    let a = insights(&c, &h, "events", &other).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "foreign cursor");
    a.message();
    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 10, "search_after": [1, "made-up"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "made-up cursor");

    // The same query with its own cursor works.
    let mut own = q.clone();
    own["search_after"] = cursor;
    assert_eq!(
        insights(&c, &h, "events", &own).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn insights_services_window_and_fields() {
    let h = small().await;
    let c = client();
    let start = days_ago(30);
    let (all, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000}),
    )
    .await;

    let (sso, _) = all_events(
        &c,
        &h,
        json!({"service": ["sso", "ldap"], "start_time": start, "limit": 10000}),
    )
    .await;
    let want: Vec<&Value> = all
        .iter()
        .filter(|e| e["service"] == "sso" || e["service"] == "ldap")
        .collect();
    assert!(!want.is_empty());
    assert_eq!(sso.iter().collect::<Vec<_>>(), want);

    // search_term: an `or` of field matches.
    let (picked, _) = all_events(
        &c,
        &h,
        json!({"service": ["all"], "start_time": start, "limit": 10000,
               "search_term": {"or": [{"event_type": "ldap_bind"}, {"service": "radius"}]}}),
    )
    .await;
    let want: Vec<&Value> = all
        .iter()
        .filter(|e| e["event_type"] == "ldap_bind" || e["service"] == "radius")
        .collect();
    assert!(!want.is_empty());
    assert_eq!(picked.iter().collect::<Vec<_>>(), want);

    // end_time bounds the window; count agrees with the pages.
    let mid = parse_ts(&all[all.len() / 2]) + chrono::Duration::seconds(1);
    let q = json!({"service": ["all"], "start_time": start, "end_time": mid.to_rfc3339(), "limit": 10000});
    let (early, _) = all_events(&c, &h, q.clone()).await;
    assert!(!early.is_empty() && early.len() < all.len());
    assert!(early.iter().all(|e| parse_ts(e) < mid));
    let n = insights(&c, &h, "events/count", &q).await;
    assert_eq!(n.body, json!({"count": early.len()}));

    let a = insights(
        &c,
        &h,
        "events",
        &json!({"service": ["all"], "start_time": start, "limit": 5, "fields": ["id", "service", "nope"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    for e in a.array() {
        let mut keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "service"]);
    }

    // Every event carries the common fields; ids are 24 hex or an uppercase UUID.
    for e in &all {
        for k in [
            "id",
            "timestamp",
            "service",
            "event_type",
            "organization",
            "client_ip",
            "success",
            "initiated_by",
            "geoip",
            "useragent",
            "@version",
            "provider",
        ] {
            assert!(e.get(k).is_some(), "event lacks {k}: {e}");
        }
        let id = str_field(e, "id");
        let hex24 = id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let uuid = id.len() == 36 && id == id.to_uppercase();
        assert!(hex24 || uuid, "event id {id}");
    }
}

#[tokio::test]
async fn insights_msp_several_orgs() {
    let h = small().await;
    let c = client();
    let orgs = h.org_ids();
    let a = send(
        c.post(format!(
            "{}/insights/directory/v1/events/count",
            h.base_url()
        ))
        .header("x-api-key", DEFAULT_MSP_KEY)
        .header("x-org-id", orgs[0].as_str())
        .header("x-org-id", orgs[1].as_str())
        .body(json!({"service": ["all"], "start_time": days_ago(30)}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({"count": h.event_ids(0).len() + h.event_ids(1).len()})
    );
    // v1 takes exactly one.
    let a = send(
        c.get(format!("{}/api/systemusers", h.base_url()))
            .header("x-api-key", DEFAULT_MSP_KEY)
            .header("x-org-id", orgs[0].as_str())
            .header("x-org-id", orgs[1].as_str()),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

/// The service sorts by the time it stores, which is the time it renders: a timestamp
/// written in whole seconds (`…:59Z`) never follows a later one of the same second
/// (`…:59.244Z`), in either direction, before or after new and late events arrive.
#[tokio::test]
async fn insights_rendered_timestamps_never_go_backwards() {
    let h = small().await;
    let c = client();
    let in_order = |events: &[Value], desc: bool| {
        let ts: Vec<DateTime<Utc>> = events.iter().map(parse_ts).collect();
        for (k, w) in ts.windows(2).enumerate() {
            let ok = if desc { w[0] >= w[1] } else { w[0] <= w[1] };
            assert!(
                ok,
                "{} then {}",
                events[k]["timestamp"],
                events[k + 1]["timestamp"]
            );
        }
    };
    let q = |sort: &str| json!({"service": ["all"], "start_time": days_ago(30), "limit": 97, "sort": sort});
    let (events, _) = all_events(&c, &h, q("ASC")).await;
    assert_eq!(events.len(), EVENTS);
    in_order(&events, false);
    let whole = |e: &&Value| !str_field(e, "timestamp").contains('.');
    assert!(
        events
            .iter()
            .filter(whole)
            .any(|e| e["service"] == "radius"),
        "some RADIUS events are written in whole seconds"
    );
    let (radius, _) = all_events(
        &c,
        &h,
        json!({"service": ["radius"], "start_time": days_ago(30), "limit": 10}),
    )
    .await;
    in_order(&radius, false);

    h.mutate(
        0,
        &Mutation {
            new_events: 200,
            late_events: 100,
            late_by_ms: 600_000,
            ..Default::default()
        },
    );
    let (asc, _) = all_events(&c, &h, q("ASC")).await;
    assert_eq!(asc.len(), EVENTS + 300);
    in_order(&asc, false);
    let (desc, _) = all_events(&c, &h, q("DESC")).await;
    in_order(&desc, true);
}
