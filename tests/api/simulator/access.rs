//! Access to every NxtPort call: credentials (401), the token endpoint, the body size limit
//! (413) and the per-key rate limit (429).

use super::every_call;
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

#[actix_web::test]
async fn every_nxtport_call_without_credentials_is_401() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(105);
    let anonymous = psa.with("", None);
    for (method, path, body) in every_call(&psa, &psa.party, &eq) {
        let r = anonymous.call(method.clone(), &path, body.as_ref()).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        assert_eq!(r.body["status"], json!(401));
    }
    assert!(sim.snapshot(&eq).await.is_null());
}

#[actix_web::test]
async fn expired_token_is_401_and_a_new_token_works() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(106);
    psa.terminal_release(&eq, "Release").await.reference();
    sim.advance(3601).await;
    let r = psa.terminal_release(&eq, "Block").await;
    assert!(r.problem(401)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("expired")));
    let again = sim.login("psa").await;
    again.terminal_release(&eq, "Release").await.reference();
}

#[actix_web::test]
async fn oversize_body_is_413_and_changes_nothing() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(107);
    let mut body = psa.terminal_release_body(&eq, "Release");
    body["stayNumber"] = json!("x".repeat(100 * 1024));
    let r = psa
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await;
    r.problem(413);
    assert!(sim.snapshot(&eq).await.is_null());
    let r = psa
        .call(
            Method::POST,
            &psa.ingestion_path(),
            Some(&psa.ingestion_body(&eq, "GateIn", json!({"stayNumber": "y".repeat(70_000)}))),
        )
        .await;
    r.problem(413);
    assert!(sim.snapshot(&eq).await.is_null());
}

#[actix_web::test]
async fn over_the_rate_limit_every_call_is_429_with_retry_after_per_subscription_key() {
    let sim = Sim::start_with(|c| c.rate_limit = std::num::NonZeroU32::new(5)).await;
    let psa = sim.login("psa").await;
    let dp = sim.login("dpworld").await;
    let eq = container(108);
    for _ in 0..5 {
        psa.call(
            Method::GET,
            "/certified-pickup/v1/entities?entityName=a",
            None,
        )
        .await
        .expect(200);
    }
    for (method, path, body) in every_call(&psa, &psa.party, &eq) {
        let r = psa.call(method.clone(), &path, body.as_ref()).await;
        assert_eq!(r.status, 429, "{method} {path}: {}", r.text);
        let secs: u64 = r
            .header("Retry-After")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("Retry-After on {path}"));
        assert!((1..=60).contains(&secs), "{secs}");
    }
    // The same key in the query string counts against the same budget.
    let r = psa
        .with(&psa.token, None)
        .call(
            Method::GET,
            &format!(
                "/certified-pickup/v1/entities?entityName=a&subscription-key={}",
                psa.party.subscription_key
            ),
            None,
        )
        .await;
    r.expect(429);
    // Another key still passes.
    dp.call(
        Method::GET,
        "/certified-pickup/v1/entities?entityName=a",
        None,
    )
    .await
    .expect(200);
    assert!(sim.snapshot(&eq).await.is_null(), "a 429 changed the world");
    dp.terminal_release(&eq, "Release").await.reference();
    assert!(sim.snapshot(&eq).await["waitingTerminalEvents"]
        .as_array()
        .is_some_and(|h| h.len() == 1));
}

/// NxtPort accepts no more than N calls in any window: after a burst of N, calls stay refused until
/// the oldest call leaves the window (a token bucket would let a call through ~window/N later).
/// The window runs on the world's clock (frozen here): the test moves it instead of sleeping.
#[actix_web::test]
async fn rate_limit_is_a_strict_sliding_window() {
    let sim = Sim::start_with(|c| {
        c.rate_limit = std::num::NonZeroU32::new(10);
        c.rate_limit_window = std::time::Duration::from_secs(60);
    })
    .await;
    let psa = sim.login("psa").await;
    let path = "/certified-pickup/v1/entities?entityName=a";
    for _ in 0..10 {
        psa.call(Method::GET, path, None).await.expect(200);
    }
    // Well past window/N (6 s) but inside the window: still refused, told to wait the rest.
    sim.advance(20).await;
    let r = psa.call(Method::GET, path, None).await;
    r.expect(429);
    assert_eq!(r.header("retry-after"), Some("40"), "{}", r.text);
    sim.advance(39).await;
    psa.call(Method::GET, path, None).await.expect(429);
    // Once the window has passed, calls are accepted again.
    sim.advance(1).await;
    psa.call(Method::GET, path, None).await.expect(200);
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

/// A form for `/connect/token`.
type Form<'a> = Vec<(&'a str, &'a str)>;

#[actix_web::test]
async fn token_endpoint_grants_rotates_and_refuses_like_rfc_6749() {
    let sim = Sim::start().await;
    let p = sim.party("agent").clone();
    let probe = |token: String| {
        let sim = sim.clone();
        let key = p.subscription_key.clone();
        async move {
            sim.http
                .get(format!(
                    "{}/certified-pickup/v1/entities?entityName=a",
                    sim.base
                ))
                .bearer_auth(token)
                .header("Ocp-Apim-Subscription-Key", key)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    // Password grant.
    let r = sim
        .token(&[
            ("grant_type", "password"),
            ("username", &p.username),
            ("password", &p.password),
            ("client_id", &p.client_id),
            ("client_secret", &p.client_secret),
            ("scope", "openid"),
        ])
        .await;
    r.expect(200);
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.body["token_type"], json!("Bearer"));
    assert_eq!(r.body["expires_in"], json!(3600));
    assert_eq!(r.body["scope"], json!("openid"));
    let access = r.body["access_token"].as_str().expect("access").to_owned();
    let refresh = r.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(probe(access.clone()).await, 200);
    // Client credentials: no refresh token.
    let r = sim
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &p.client_id),
            ("client_secret", &p.client_secret),
        ])
        .await;
    r.expect(200);
    assert!(r.body.get("refresh_token").is_none_or(Value::is_null));
    assert_eq!(
        probe(r.body["access_token"].as_str().expect("t").to_owned()).await,
        200
    );
    // Refresh rotates: a new pair; the old refresh token is spent.
    let refresh_with = |rt: String| {
        let sim = sim.clone();
        let p = p.clone();
        async move {
            sim.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ])
            .await
        }
    };
    let r = refresh_with(refresh.clone()).await;
    r.expect(200);
    let access2 = r.body["access_token"].as_str().expect("a2").to_owned();
    let refresh2 = r.body["refresh_token"].as_str().expect("r2").to_owned();
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh);
    assert_eq!(probe(access2).await, 200);
    let r = refresh_with(refresh).await;
    r.expect(400);
    assert_eq!(r.body["error"], json!("invalid_grant"));
    refresh_with(refresh2).await.expect(200);

    // Errors.
    let cases: Vec<(Form, u16, &str)> = vec![
        (
            vec![
                ("grant_type", "password"),
                ("username", &p.username),
                ("password", "wrong"),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "nobody"),
                ("password", &p.password),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &p.client_id),
                ("client_secret", "wrong-secret"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", &p.client_secret),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", &p.username),
                ("password", &p.password),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ],
            400,
            "invalid_request",
        ),
        (vec![("grant_type", "")], 400, "invalid_request"),
        (vec![], 400, "invalid_request"),
    ];
    for (form, status, error) in cases {
        let r = sim.token(&form).await;
        assert_eq!(r.status, status, "{form:?}: {}", r.text);
        assert_eq!(r.body["error"], json!(error), "{form:?}");
        assert!(r.body["error_description"].is_string());
        for secret in [&p.password, &p.client_secret] {
            assert!(
                !r.text.contains(secret.as_str()),
                "secret echoed: {}",
                r.text
            );
        }
    }
    // A JSON body instead of the form.
    let r = sim
        .http
        .post(format!("{}/connect/token", sim.base))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    // Wrong method.
    let r = sim
        .http
        .get(format!("{}/connect/token", sim.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 405);
}
