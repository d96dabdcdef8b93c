//! The simulator's control API: injected faults, the call journal, isolated worlds and their
//! parties, and webhooks.

use super::{every_call, state_light};
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[actix_web::test]
async fn injected_500_answers_every_call_opaquely_and_changes_nothing() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(109);
    sim.fault(json!({"path": "/", "status": 500})).await;
    for (method, path, body) in every_call(&psa, &psa.party, &eq) {
        let r = psa.call(method.clone(), &path, body.as_ref()).await;
        assert_eq!(r.status, 500, "{method} {path}");
        assert_eq!(r.body["detail"], json!("Error accessing API"), "{}", r.text);
    }
    assert!(sim.snapshot(&eq).await.is_null());
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await
        .expect(204);
    psa.terminal_release(&eq, "Release").await.reference();
}

#[actix_web::test]
async fn call_journal_records_method_path_status_party_and_external_reference() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(110);
    psa.request(Method::PUT, &terminal_release_path(&eq))
        .header("External-Reference-Id", "j-1")
        .json(&psa.terminal_release_body(&eq, "Release"))
        .send()
        .await
        .expect("send");
    psa.raw(Method::PUT, &terminal_release_path(&eq), "{")
        .await
        .expect(400);
    let calls = sim.calls().await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["method"], json!("PUT"));
    assert_eq!(calls[0]["path"], json!(terminal_release_path(&eq)));
    assert_eq!(calls[0]["status"], json!(202));
    assert_eq!(calls[0]["party"], json!("psa"));
    assert_eq!(calls[0]["externalReferenceId"], json!("j-1"));
    assert_eq!(calls[1]["status"], json!(400));
}

// ---------------------------------------------------------------------------------------------
// Isolated worlds
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn isolated_worlds_keep_credentials_and_containers_apart() {
    let a = Sim::start().await;
    let b = a.new_world().await;
    assert_ne!(
        a.party("psa").subscription_key,
        b.party("psa").subscription_key
    );
    let (psa_a, psa_b) = (a.login("psa").await, b.login("psa").await);
    let eq = container(701);

    // A's token with B's key, and the other way round: 401.
    psa_a
        .with(&psa_a.token, psa_b.key.as_deref())
        .terminal_release(&eq, "Release")
        .await
        .problem(401);
    psa_b
        .with(&psa_b.token, psa_a.key.as_deref())
        .terminal_release(&eq, "Release")
        .await
        .problem(401);
    // A's user with B's client: invalid_grant.
    let (pa, pb) = (a.party("psa"), b.party("psa"));
    let r = a
        .token(&[
            ("grant_type", "password"),
            ("username", &pa.username),
            ("password", &pa.password),
            ("client_id", &pb.client_id),
            ("client_secret", &pb.client_secret),
        ])
        .await;
    assert_eq!(r.body["error"], json!("invalid_grant"));

    // The same container in both worlds does not cross-talk.
    let (agent_a, agent_b) = (a.login("agent").await, b.login("agent").await);
    agent_a
        .release_to(&eq, &a.party("trucker").clone())
        .await
        .reference();
    assert!(b.snapshot(&eq).await.is_null());
    psa_b
        .notifications(&format!("equipmentNumber={eq}"))
        .await
        .problem(405);
    let before_a = a.snapshot(&eq).await;
    agent_b
        .release_to(&eq, &b.party("trucker").clone())
        .await
        .reference();
    psa_b.terminal_release(&eq, "Release").await.reference();
    Sim::same(&before_a, &a.snapshot(&eq).await);
    assert_eq!(
        state_light(&b.state(&eq).await, "TerminalRelease").0,
        "RELEASED"
    );
    // Clocks are per world.
    b.advance(3600 * 24).await;
    let now_a = a
        .control(Method::GET, "/simulator/v1/clock", None)
        .await
        .body["now"]
        .clone();
    assert_eq!(now_a, json!("2024-05-01T10:00:00Z"));

    // Unknown world: 404; deleted world: its credentials are gone.
    let ghost = Sim {
        world: Some("no-such-world".into()),
        ..a.clone()
    };
    ghost
        .control(Method::GET, "/simulator/v1/parties", None)
        .await
        .expect(404);
    let b_id = b.world.clone().expect("id");
    a.control(
        Method::DELETE,
        &format!("/simulator/v1/worlds/{b_id}"),
        None,
    )
    .await
    .expect(204);
    psa_b.terminal_release(&eq, "Release").await.problem(401);
    a.control(Method::DELETE, "/simulator/v1/worlds/default", None)
        .await
        .expect(400);
}

/// `POST /simulator/v1/worlds` with `{"parties": [...]}` builds the world from those parties
/// (credentials generated); a fixture that does not hold together is a 400 and creates nothing.
#[actix_web::test]
async fn worlds_can_declare_their_own_parties() {
    let sim = Sim::start().await;
    let body = json!({"parties": [
        {"key": "t1", "role": "TerminalOperator", "nxtEntityId": "NXT77", "name": "Inline Terminal",
         "terminalCode": "4242", "ingestionId": "7e570000-0000-0000-0000-000000000001"},
        {"key": "a1", "role": "ShippingAgent", "nxtEntityId": "NXT78", "name": "Inline Agent"}
    ]});
    let r = sim
        .control(Method::POST, "/simulator/v1/worlds", Some(body))
        .await;
    r.expect(201);
    let parties = r.body["parties"].as_array().expect("parties");
    assert_eq!(parties.len(), 2);
    assert_eq!(parties[0]["terminalCode"], "4242");
    assert!(!parties[0]["password"].as_str().unwrap_or("").is_empty());
    let bad = json!({"parties": [{"key": "t1", "role": "TerminalOperator", "nxtEntityId": "NXT77", "name": "No terminal code"}]});
    let r = sim
        .control(Method::POST, "/simulator/v1/worlds", Some(bad))
        .await;
    r.bad_field("parties");
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn webhook_receives_the_envelope_and_the_journal_says_delivered() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let hook = Receiver::start(200).await;
    let r = sim
        .control(
            Method::PUT,
            "/simulator/v1/parties/psa/webhooks",
            Some(json!({"url": hook.url, "headers": {"X-Hook": "1"}})),
        )
        .await;
    r.expect(200);
    let eq = container(801);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let reference = c.psa.terminal_release(&eq, "Release").await.reference();

    let got = eventually(Duration::from_secs(5), || {
        let got = hook.got.lock().clone();
        let reference = reference.clone();
        async move {
            got.into_iter()
                .find(|e| e["publicReferenceId"] == json!(reference))
        }
    })
    .await
    .expect("webhook delivery within 5 s");
    assert_eq!(got["event"], json!("TerminalRelease"));
    assert_eq!(got["receiverId"], json!(c.psa.party.nxt_entity_id));
    assert_eq!(
        got["assetId"],
        json!("00000000-0000-0001-0000-000000000037")
    );
    assert_eq!(got["id"], json!(eq));
    let delivery = eventually(Duration::from_secs(5), || {
        let sim = sim.clone();
        let reference = reference.clone();
        async move {
            sim.deliveries()
                .await
                .into_iter()
                .find(|d| d["publicReferenceId"] == json!(reference))
        }
    })
    .await
    .expect("journal entry");
    assert_eq!(delivery["outcome"], json!("delivered"));
    assert_eq!(delivery["attempts"], json!(1));
    assert_eq!(delivery["lastStatus"], json!(200));
    assert_eq!(delivery["event"], json!("TerminalRelease"));
    // Only the registered party's notifications were posted.
    assert!(hook
        .got
        .lock()
        .iter()
        .all(|e| e["receiverId"] == json!(c.psa.party.nxt_entity_id)));

    // Registration refusals.
    sim.control(
        Method::PUT,
        "/simulator/v1/parties/psa/webhooks",
        Some(json!({"url": "ftp://example"})),
    )
    .await
    .bad_field("url");
    sim.control(
        Method::PUT,
        "/simulator/v1/parties/nobody/webhooks",
        Some(json!({"url": hook.url})),
    )
    .await
    .expect(404);
}

#[actix_web::test]
async fn webhook_answering_500_ends_failed_after_retries() {
    let sim = Sim::start_with(|c| c.webhook_attempts = 2).await;
    let agent = sim.login("agent").await;
    let hook = Receiver::start(500).await;
    sim.control(
        Method::PUT,
        "/simulator/v1/parties/agent/webhooks",
        Some(json!({"url": hook.url})),
    )
    .await
    .expect(200);
    let eq = container(802);
    let reference = agent
        .release_to(&eq, &sim.party("trucker").clone())
        .await
        .reference();
    let delivery = eventually(Duration::from_secs(5), || {
        let sim = sim.clone();
        let reference = reference.clone();
        async move {
            sim.deliveries().await.into_iter().find(|d| {
                d["publicReferenceId"] == json!(reference) && d["event"] == json!("Release")
            })
        }
    })
    .await
    .expect("journal entry within 5 s");
    assert_eq!(delivery["outcome"], json!("failed"));
    assert_eq!(delivery["attempts"], json!(2));
    assert_eq!(delivery["lastStatus"], json!(500));
    let posts = hook
        .got
        .lock()
        .iter()
        .filter(|e| e["publicReferenceId"] == json!(reference) && e["event"] == json!("Release"))
        .count();
    assert_eq!(posts, 2);
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn faults_by_count_fraction_latency_and_drop() {
    let sim = Sim::start().await;
    let psa = sim.login("psa").await;
    let eq = container(901);
    let path = truck_validation_path();
    let validate = || psa.truck_validation("AP1000001", &eq);

    // Count: the next two calls answer 503, then normal service.
    sim.fault(json!({"path": path, "status": 503, "count": 2}))
        .await;
    validate().await.expect(503);
    validate().await.expect(503);
    validate().await.expect(200);
    // Method filter: only POST.
    sim.fault(json!({"path": "/certified-pickup", "method": "GET", "status": 500, "count": 1}))
        .await;
    validate().await.expect(200);
    psa.notifications("storedOn=2024-05-01").await.expect(500);
    // Fraction 0: never; fraction 1: always; 0.5: about half.
    sim.fault(json!({"path": path, "status": 500, "fraction": 0.0}))
        .await;
    for _ in 0..10 {
        validate().await.expect(200);
    }
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await
        .expect(204);
    sim.fault(json!({"path": path, "status": 500, "fraction": 0.5}))
        .await;
    let mut failed = 0;
    for _ in 0..100 {
        if validate().await.status == 500 {
            failed += 1;
        }
    }
    assert!((15..=85).contains(&failed), "{failed} of 100");
    sim.control(Method::DELETE, "/simulator/v1/faults", None)
        .await
        .expect(204);
    // Latency.
    sim.fault(json!({"path": path, "latencyMs": 300, "count": 1}))
        .await;
    let start = Instant::now();
    validate().await.expect(200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    validate().await.expect(200);
    assert!(start.elapsed() < Duration::from_millis(300));
    // Drop: the client sees a connection error.
    sim.fault(json!({"path": path, "drop": true, "count": 1}))
        .await;
    let dropped = match psa
        .request(Method::POST, &path)
        .json(&json!({"alfapassNumber": "AP1000001", "releaseIdentification": [{"equipmentNumber": eq}]}))
        .send()
        .await
    {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(dropped, "the connection should have been dropped");
    validate().await.expect(200);
    // Listing; refusals.
    sim.fault(json!({"path": "/x", "status": 500})).await;
    let r = sim.control(Method::GET, "/simulator/v1/faults", None).await;
    assert_eq!(r.expect(200).body.as_array().map(Vec::len), Some(1));
    for bad in [
        json!({"path": "x", "status": 500}),
        json!({"path": "/", "status": 500, "fraction": 2.0}),
        json!({"path": "/", "status": 99}),
        json!({"path": "/"}),
        json!({"path": "/", "status": 500, "oops": 1}),
    ] {
        let r = sim
            .control(Method::POST, "/simulator/v1/faults", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
}

#[actix_web::test]
async fn control_api_refuses_bad_input() {
    let sim = Sim::start().await;
    let cases: Vec<(Method, String, Option<Value>, u16)> = vec![
        (
            Method::POST,
            "/simulator/v1/clock/advance".into(),
            Some(json!({"seconds": -1})),
            400,
        ),
        (
            Method::POST,
            "/simulator/v1/clock/advance".into(),
            Some(json!({"seconds": "x"})),
            400,
        ),
        (
            Method::POST,
            "/simulator/v1/clock/advance".into(),
            None,
            400,
        ),
        (
            Method::GET,
            format!(
                "/simulator/v1/{LOCODE}/containers/{}",
                bad_check_digit(&container(1))
            ),
            None,
            400,
        ),
        (
            Method::GET,
            format!("/simulator/v1/{LOCODE}/containers/{}", container(1)),
            None,
            404,
        ),
        (Method::GET, "/simulator/v1/nothing-here".into(), None, 404),
        (Method::PATCH, "/simulator/v1/clock".into(), None, 405),
    ];
    for (method, path, body, status) in cases {
        let r = sim.control(method.clone(), &path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
    }
    // The parties and their demo credentials.
    let roles: Vec<(&str, &str)> = vec![
        ("psa", "TerminalOperator"),
        ("dpworld", "TerminalOperator"),
        ("agent", "ShippingAgent"),
        ("forwarder", "ReleaseParty"),
        ("trucker", "TransportOperator"),
        ("trucker2", "TransportOperator"),
        ("barge", "TransportOperator"),
        ("rail", "TransportOperator"),
        ("customs", "Customs"),
    ];
    for (key, role) in roles {
        assert_eq!(sim.party(key).role, role, "{key}");
    }
    assert_eq!(sim.party("psa").terminal_code.as_deref(), Some("869"));
    assert_eq!(sim.party("dpworld").terminal_code.as_deref(), Some("1700"));
    assert!(sim.party("psa").ingestion_id.is_some());
    assert!(sim
        .party("trucker")
        .alfapass_numbers
        .contains(&"AP1000001".to_owned()));
    // Reset empties the world.
    let agent = sim.login("agent").await;
    let eq = container(2);
    agent
        .release_to(&eq, &sim.party("trucker").clone())
        .await
        .reference();
    sim.control(Method::POST, "/simulator/v1/reset", None)
        .await
        .expect(204);
    assert!(sim.snapshot(&eq).await.is_null());
    // The OpenAPI document is served.
    let r = sim.control(Method::GET, "/openapi.json", None).await;
    assert!(r.expect(200).body["paths"]["/connect/token"].is_object());
}
