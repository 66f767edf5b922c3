//! 429s with Retry-After, injected 5xx, resets and truncated bodies, and the control routes.

use super::*;

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let h = start(SimConfig {
        faults: Faults {
            rate_limit_rpm: Some(60),
            retry_after: true,
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let a = get(&c, &h, "/api/systemusers?limit=1").await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = a
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("Retry-After in seconds");
            assert!((1..=60).contains(&secs), "Retry-After {secs}");
            a.message();
        }
        statuses.push(a.status.as_u16());
    }
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1..].iter().all(|&s| s == 429), "{statuses:?}");
    assert_eq!(h.stats().throttled, 5);

    // Without `retry_after`, the 429 carries no header.
    h.set_faults(Faults {
        rate_limit_rpm: Some(60),
        ..Faults::default()
    });
    let a = get(&c, &h, "/api/systemusers?limit=1").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.header("retry-after").is_none());

    h.set_faults(Faults::default());
    assert_eq!(
        get(&c, &h, "/api/systemusers?limit=1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fault_error_rate_gives_5xx() {
    let h = small().await;
    let c = client();
    h.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let mut seen = HashSet::new();
    for i in 0..24 {
        let url = if i % 2 == 0 {
            format!("{}/api/systemusers", h.base_url())
        } else {
            format!("{}/api/v2/usergroups", h.base_url())
        };
        let resp = c
            .get(url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await
            .expect("a response");
        let s = resp.status().as_u16();
        assert!([500, 502, 503, 504].contains(&s), "status {s}");
        seen.insert(s);
        resp.bytes().await.expect("a body");
    }
    assert!(seen.len() > 1, "several gateway statuses: {seen:?}");
    assert_eq!(h.stats().injected_errors, 24);
    h.set_faults(Faults::default());
    assert_eq!(get(&c, &h, "/api/systemusers").await.status, StatusCode::OK);
}

#[tokio::test]
async fn fault_reset_and_truncate() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=100", h.base_url());

    h.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        let r = c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await;
        assert!(r.is_err(), "a reset connection gives no response");
    }
    assert!(h.stats().resets >= 3);

    h.set_faults(Faults {
        truncate_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        let outcome = match c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await
        {
            Err(_) => "no response",
            Ok(resp) => match resp.bytes().await {
                Err(_) => "body error",
                Ok(b) if serde_json::from_slice::<Value>(&b).is_err() => "invalid JSON",
                Ok(_) => "complete",
            },
        };
        assert_ne!(outcome, "complete", "a truncated body must not parse");
        assert_ne!(outcome, "no response", "truncation sends the headers");
    }
    assert_eq!(h.stats().truncated, 3);

    h.set_faults(Faults::default());
    let a = get(&c, &h, "/api/systemusers?limit=100").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn fault_reset_from_request_n() {
    let h = start(SimConfig {
        faults: Faults {
            reset_from_request: Some(4),
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=10", h.base_url());
    let mut ok = Vec::new();
    for _ in 0..6 {
        let r = c
            .get(&url)
            .header("x-api-key", DEFAULT_API_KEY)
            .send()
            .await;
        ok.push(r.is_ok_and(|r| r.status() == StatusCode::OK));
    }
    assert_eq!(ok, [true, true, true, false, false, false]);
    h.set_faults(Faults::default());
    assert_eq!(get(&c, &h, "/api/systemusers").await.status, StatusCode::OK);
}

#[tokio::test]
async fn control_routes() {
    let h = small().await;
    let c = client();
    let base = h.base_url().to_string();

    let r = c
        .post(format!("{base}/_sim/faults"))
        .body(json!({"error_rate": 1.0}).to_string())
        .send()
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);
    let s = c
        .get(format!("{base}/api/systemusers"))
        .header("x-api-key", DEFAULT_API_KEY)
        .send()
        .await
        .expect("response")
        .status();
    assert!(s.is_server_error());
    let r = c
        .post(format!("{base}/_sim/faults"))
        .body("{}")
        .send()
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);

    let a = send(
        c.post(format!("{base}/_sim/mutate?org=0"))
            .body(json!({"add_users": 3}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["added_users"].as_array().map(Vec::len), Some(3));
    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.body["totalCount"], USERS + 3);

    let a = send(c.post(format!("{base}/_sim/faults")).body("not json")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let a = send(c.get(format!("{base}/_sim/stats"))).await;
    assert_eq!(a.status, StatusCode::OK);
    // Control routes are not counted: two API requests so far.
    assert_eq!(a.body["requests"], 2);
    assert_eq!(a.body["injected_errors"], 1);
}
