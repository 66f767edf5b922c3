//! Auth: API key, MSP `x-org-id`, the plain key, OAuth client credentials and token expiry.

use super::*;

#[tokio::test]
async fn auth_missing_wrong_and_forbidden_keys() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers", h.base_url());

    let a = send(c.get(&url)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = send(c.get(&url).header("x-api-key", "not-a-key")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = send(c.get(&url).header("x-api-key", DEFAULT_FORBIDDEN_KEY)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    a.message();

    // The same rules hold on v2 and Directory Insights.
    let a = send(c.get(format!("{}/api/v2/usergroups", h.base_url()))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();
    let a = send(
        c.post(format!("{}/insights/directory/v1/events", h.base_url()))
            .header("x-api-key", DEFAULT_FORBIDDEN_KEY)
            .body(json!({"service": ["all"], "start_time": days_ago(1)}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    a.message();

    let a = get(&c, &h, "/api/systemusers").await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn auth_msp_key_needs_a_valid_org_id() {
    let h = small().await;
    let c = client();
    let url = format!("{}/api/systemusers?limit=100", h.base_url());
    let orgs = h.org_ids();
    assert_eq!(orgs.len(), 2);
    let msp = |org: Option<&str>| {
        let rb = c.get(&url).header("x-api-key", DEFAULT_MSP_KEY);
        match org {
            Some(o) => rb.header("x-org-id", o.to_string()),
            None => rb,
        }
    };

    let a = send(msp(None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    for malformed in ["xyz", "0123456789abcdef0123456", "0123456789abcdef0123456g"] {
        let a = send(msp(Some(malformed))).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "x-org-id {malformed:?}");
        a.message();
    }

    let unknown = "0123456789abcdef01234567";
    assert!(!orgs.iter().any(|o| o == unknown));
    let a = send(msp(Some(unknown))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.message();

    let a0 = send(msp(Some(&orgs[0]))).await;
    let a1 = send(msp(Some(&orgs[1]))).await;
    assert_eq!(a0.status, StatusCode::OK);
    assert_eq!(a1.status, StatusCode::OK);
    let ids0 = ids_of(a0.body["results"].as_array().expect("results"), "_id");
    let ids1 = ids_of(a1.body["results"].as_array().expect("results"), "_id");
    assert_eq!(ids0, h.ids(0, "systemusers")[..100].to_vec());
    assert_eq!(ids1, h.ids(1, "systemusers")[..100].to_vec());
    let s0: HashSet<_> = ids0.iter().collect();
    assert!(ids1.iter().all(|i| !s0.contains(i)), "orgs share users");
    assert_eq!(
        str_field(&a1.body["results"][0], "organization"),
        orgs[1],
        "org 1's users belong to org 1"
    );
}

#[tokio::test]
async fn auth_plain_key_ignores_org_id() {
    let h = small().await;
    let c = client();
    let orgs = h.org_ids();
    for org in [orgs[1].as_str(), "garbage", "0123456789abcdef01234567"] {
        let a = send(
            c.get(format!("{}/api/systemusers?limit=5", h.base_url()))
                .header("x-api-key", DEFAULT_API_KEY)
                .header("x-org-id", org),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "x-org-id {org:?}");
        let ids = ids_of(a.body["results"].as_array().expect("results"), "_id");
        assert_eq!(ids, h.ids(0, "systemusers")[..5].to_vec());
    }
}

async fn token(c: &Client, h: &SimHandle, secret: &str) -> Answer {
    send(
        c.post(format!("{}/oauth2/token", h.base_url()))
            .basic_auth(DEFAULT_CLIENT_ID, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=api"),
    )
    .await
}

async fn with_bearer(c: &Client, h: &SimHandle, token: &str) -> Answer {
    send(
        c.get(format!("{}/api/systemusers?limit=3", h.base_url()))
            .bearer_auth(token),
    )
    .await
}

#[tokio::test]
async fn oauth_client_credentials() {
    let h = small().await;
    let c = client();
    let a = token(&c, &h, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(a.status, StatusCode::OK);
    let tok = str_field(&a.body, "access_token").to_string();
    assert!(!tok.is_empty());
    assert_eq!(a.body["token_type"], "bearer");
    assert_eq!(a.body["expires_in"], 3600, "default lifetime is an hour");

    let a = with_bearer(&c, &h, &tok).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalCount"], USERS);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(3));

    let a = with_bearer(&c, &h, "simtok.not-issued").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();

    let a = token(&c, &h, "wrong-secret").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.get("access_token").is_none());
    assert_eq!(h.stats().tokens_issued, 1);
}

#[tokio::test]
async fn oauth_token_expires() {
    let h = start(SimConfig {
        token_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let c = client();
    let a = token(&c, &h, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["expires_in"], 1);
    let tok = str_field(&a.body, "access_token").to_string();
    assert_eq!(with_bearer(&c, &h, &tok).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let a = with_bearer(&c, &h, &tok).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.message();
}
