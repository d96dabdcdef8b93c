//! The simulator over real HTTP: every response row of the seed's tables
//! (`cpu-terminal-operator-spec.txt`), the token endpoint, isolated worlds, webhooks, faults, the
//! clock, and the import lifecycle for truck, barge and rail as every party.
//!
//! Each test starts its own server on port 0 (see `sim_helpers`). Refused calls assert that the
//! world did not change (container snapshot before == after).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::sim_helpers::*;

// ---------------------------------------------------------------------------------------------
// Scenario helpers
// ---------------------------------------------------------------------------------------------

/// Agent releases to the trucker, trucker accepts and assigns AP1000001, PSA discharges, customs
/// releases, PSA releases: status RELEASED.
async fn ready_for_truck(sim: &Sim, c: &Cast, eq: &str) {
    c.agent.release_to(eq, &c.trucker.party).await.reference();
    c.trucker
        .release_rights(eq, "Accept", json!({}))
        .await
        .reference();
    c.trucker
        .pickup(eq, "Assign", "AP1000001")
        .await
        .reference();
    c.psa
        .ingest(eq, "Discharge", json!({ "fullEmptyIndicator": "full" }))
        .await
        .reference();
    sim.customs(eq, "RELEASED").await;
    c.psa.terminal_release(eq, "Release").await.reference();
    assert_eq!(sim.status(eq).await, "RELEASED");
}

/// Agent releases to `op` (barge or rail), it accepts and names itself; PSA discharges, customs
/// releases, PSA releases.
async fn ready_for(sim: &Sim, c: &Cast, op: &Caller, eq: &str) {
    c.agent.release_to(eq, &op.party).await.reference();
    op.release_rights(eq, "Accept", json!({})).await.reference();
    op.barge_rail_pickup(eq).await.reference();
    c.psa.ingest(eq, "Discharge", json!({})).await.reference();
    sim.customs(eq, "RELEASED").await;
    c.psa.terminal_release(eq, "Release").await.reference();
    assert_eq!(sim.status(eq).await, "RELEASED");
}

/// One light of a validation result by name: (value, colour).
fn light(result: &Value, name: &str) -> (String, String) {
    let l = result["greenLights"]
        .as_array()
        .and_then(|a| a.iter().find(|l| l["greenLightName"] == json!(name)))
        .unwrap_or_else(|| panic!("no light {name} in {result}"));
    (
        l["greenLightValue"].as_str().unwrap_or_default().to_owned(),
        l["greenLightColor"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A light of the control API's container view: (value, colour).
fn state_light(state: &Value, name: &str) -> (String, String) {
    let l = state["lights"]
        .as_array()
        .and_then(|a| a.iter().find(|l| l["name"] == json!(name)))
        .unwrap_or_else(|| panic!("no light {name} in {state}"));
    (
        l["value"].as_str().unwrap_or_default().to_owned(),
        l["color"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Every NxtPort call with a plausible request, for the 401 / 429 / 500 sweeps.
fn every_call(c: &Caller, psa: &Party, eq: &str) -> Vec<(Method, String, Option<Value>)> {
    let ingestion = format!(
        "/ingestion/v1/ingestion/{}",
        psa.ingestion_id.as_deref().unwrap_or_default()
    );
    vec![
        (
            Method::PUT,
            terminal_release_path(eq),
            Some(c.terminal_release_body(eq, "Release")),
        ),
        (
            Method::POST,
            ingestion,
            Some(
                json!({"portLoCode": LOCODE, "equipmentNumber": eq, "timestamp": TS,
                "terminalCode": "869", "operationType": "Discharge"}),
            ),
        ),
        (
            Method::POST,
            truck_validation_path(),
            Some(
                json!({"alfapassNumber": "AP1000001", "releaseIdentification": [{"equipmentNumber": eq}]}),
            ),
        ),
        (
            Method::POST,
            barge_rail_validation_path(),
            Some(
                json!({"equipmentNumber": eq, "billOfLadingNumbers": [], "meansOfTransport": 2,
                "transportOperator": {"identificationType": 0, "identificationCode": "NXT50000000001"}}),
            ),
        ),
        (
            Method::POST,
            identification_path(),
            Some(json!({"identificationType": "Alfapass", "identificationCode": "AP1000001"})),
        ),
        (
            Method::POST,
            ownership_path(),
            Some(json!({"ownerNxtEntityId": "NXT40000000001", "equipmentNumber": eq})),
        ),
        (Method::GET, release_detail_path(eq), None),
        (
            Method::GET,
            "/certified-pickup/v1/entities?entityName=a".into(),
            None,
        ),
        (
            Method::GET,
            format!("/certified-pickup/v1/notifications?equipmentNumber={eq}"),
            None,
        ),
        (
            Method::PUT,
            release_rights_path(eq),
            Some(json!({"actionType": "Release", "terminalCode": "869"})),
        ),
        (
            Method::PUT,
            pickup_rights_path(eq),
            Some(
                json!({"actionType": "Assign", "pickupParty": {"partyType": "Truck",
                "identificationType": "Alfapass", "identificationCode": "AP1000001"}}),
            ),
        ),
        (
            Method::PUT,
            "/certified-pickup/v1/pickup-rights/barge-rail".into(),
            Some(json!({"releaseIdentifier": {"equipmentNumber": eq},
                "dataBrokerNxtEntityId": "NXT50000000001", "actionType": "Assign"})),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers checked
// ---------------------------------------------------------------------------------------------

#[test]
fn check_digit_helper_matches_the_iso_6346_example() {
    assert_eq!(check_digit("CSQU305438"), 3);
    assert_eq!(container(1).len(), 11);
    assert_ne!(bad_check_digit(&container(1)), container(1));
}

// ---------------------------------------------------------------------------------------------
// Direct responses to asynchronous calls (table "Direct API responses to asynchronous calls")
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn terminal_release_block_and_scan_answer_202_and_notify_terminal_agent_and_owner() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(101);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    c.trucker
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();

    // 202 with publicReferenceId, externalReferenceId echoed in the body and the header.
    let r = c
        .psa
        .request(Method::PUT, &terminal_release_path(&eq))
        .header("External-Reference-Id", "my-ref-42")
        .json(&c.psa.terminal_release_body(&eq, "Release"))
        .send()
        .await
        .expect("send");
    let ext = r
        .headers()
        .get("External-Reference-Id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = r.json().await.expect("json");
    assert_eq!(ext.as_deref(), Some("my-ref-42"));
    assert_eq!(body["externalReferenceId"], json!("my-ref-42"));
    let reference = body["publicReferenceId"].as_str().expect("ref").to_owned();
    uuid::Uuid::parse_str(&reference).expect("GUID");
    let (v, col) = state_light(&sim.state(&eq).await, "TerminalRelease");
    assert_eq!((v.as_str(), col.as_str()), ("RELEASED", "Green"));

    // ReleaseLight / TerminalRelease to the terminal, the shipping agent and the owner.
    for who in [&c.psa, &c.agent, &c.trucker] {
        let r = who
            .notifications(&format!("publicReferenceId={reference}"))
            .await;
        r.expect(200);
        let n = &r.body[0];
        assert_eq!(n["event"], json!("TerminalRelease"), "{}", r.text);
        assert_eq!(n["type"], json!("ReleaseLight"));
        assert_eq!(n["nxtEntityId"], json!(who.party.nxt_entity_id));
        assert_eq!(n["externalReferenceId"], json!("my-ref-42"));
        let env = envelope(n);
        assert_eq!(env["publicReferenceId"], json!(reference));
        assert_eq!(env["receiverId"], json!(who.party.nxt_entity_id));
        assert_eq!(env["body"]["greenLightName"], json!("TerminalRelease"));
    }

    // Block: TerminalRelease light RED, TerminalBlocked notification, status BLOCKED.
    let blocked = c.psa.terminal_release(&eq, "Block").await.reference();
    assert_eq!(sim.status(&eq).await, "BLOCKED");
    let (v, col) = state_light(&sim.state(&eq).await, "TerminalRelease");
    assert_eq!((v.as_str(), col.as_str()), ("BLOCKED", "Red"));
    for who in [&c.psa, &c.agent, &c.trucker] {
        let r = who
            .notifications(&format!("publicReferenceId={blocked}"))
            .await;
        assert_eq!(r.expect(200).body[0]["event"], json!("TerminalBlocked"));
    }
    // Scanning (official spec, int value 1): SCANNING, yellow.
    let mut body = c.psa.terminal_release_body(&eq, "Release");
    body["actionType"] = json!(1);
    c.psa
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await
        .reference();
    let (v, col) = state_light(&sim.state(&eq).await, "TerminalRelease");
    assert_eq!((v.as_str(), col.as_str()), ("SCANNING", "Yellow"));
    // No External-Reference-Id sent: none echoed.
    let r = c.psa.terminal_release(&eq, "Release").await;
    r.reference();
    assert!(r.header("External-Reference-Id").is_none());
}

#[actix_web::test]
async fn terminal_release_bad_input_is_400_naming_the_problem_and_changes_nothing() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(102);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let before = sim.snapshot(&eq).await;
    let good = c.psa.terminal_release_body(&eq, "Release");
    let path = terminal_release_path(&eq);

    // Malformed JSON, empty body.
    let r = c
        .psa
        .raw(Method::PUT, &path, "{\"equipmentNumber\": ")
        .await;
    assert!(r.bad_field("$").contains("JSON"), "{}", r.text);
    c.psa.raw(Method::PUT, &path, "").await.bad_field("$");
    // Missing required field: named.
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(good.clone(), json!({"actionType": null}))),
        )
        .await;
    r.bad_field("actionType");
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(good.clone(), json!({"terminalCode": null}))),
        )
        .await;
    r.bad_field("terminalCode");
    // Wrong type and unknown enum value: 400 whose message says what was wrong.
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(good.clone(), json!({"releaseDateTimeUtc": 5}))),
        )
        .await;
    assert!(r.problem(400)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("invalid type")));
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(good.clone(), json!({"actionType": "Explode"}))),
        )
        .await;
    let detail = r.problem(400)["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Explode") && detail.contains("Release"),
        "{detail}"
    );
    // Bad ISO 6346 check digit in the path.
    let bad = bad_check_digit(&eq);
    let r = c
        .psa
        .call(
            Method::PUT,
            &terminal_release_path(&bad),
            Some(&merge(good.clone(), json!({"equipmentNumber": bad}))),
        )
        .await;
    assert!(r.bad_field("equipmentNumber").contains("check digit"));
    // A category letter ISO 6346 does not allow (check digit right for it).
    let odd = bad_category(&eq);
    let r = c
        .psa
        .call(
            Method::PUT,
            &terminal_release_path(&odd),
            Some(&merge(good.clone(), json!({"equipmentNumber": odd}))),
        )
        .await;
    assert!(r.bad_field("equipmentNumber").contains("category"));
    // Body and path disagree.
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(
                good.clone(),
                json!({"equipmentNumber": container(103)}),
            )),
        )
        .await;
    r.bad_field("equipmentNumber");
    let r = c
        .psa
        .call(
            Method::PUT,
            &path,
            Some(&merge(good.clone(), json!({"portLoCode": "NLRTM"}))),
        )
        .await;
    r.bad_field("portLoCode");
    // Bad locode in the path.
    let r = c
        .psa
        .call(Method::PUT, &path.replace(LOCODE, "B1"), Some(&good))
        .await;
    r.bad_field("portLoCode");

    Sim::same(&before, &sim.snapshot(&eq).await);
    // The journal saw each refusal, for PSA, with status 400.
    let calls = sim.calls().await;
    let refused = calls
        .iter()
        .filter(|c| c["status"] == json!(400) && c["party"] == json!("psa"))
        .count();
    assert_eq!(refused, 11, "{calls:?}");
}

#[actix_web::test]
async fn async_calls_refuse_wrong_credentials_and_roles_with_401_and_change_nothing() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(104);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let before = sim.snapshot(&eq).await;
    let psa = &c.psa;
    let dp_key = c.dpworld.party.subscription_key.as_str();

    let wrong: Vec<(&str, Caller)> = vec![
        ("no subscription key", psa.with(&psa.token, None)),
        (
            "unknown subscription key",
            psa.with(&psa.token, Some("nope")),
        ),
        ("another company's key", psa.with(&psa.token, Some(dp_key))),
        ("no bearer token", psa.with("", psa.key.as_deref())),
        (
            "unknown bearer token",
            psa.with("sim_at_forged", psa.key.as_deref()),
        ),
    ];
    for (why, caller) in &wrong {
        let r = caller.terminal_release(&eq, "Release").await;
        r.problem(401);
        assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"), "{why}");
        assert!(!r.text.contains(&psa.token), "{why}: token echoed");
    }
    // A malformed Authorization header.
    let r = psa
        .with("", psa.key.as_deref())
        .request(Method::PUT, &terminal_release_path(&eq))
        .header("Authorization", "Basic abc")
        .json(&psa.terminal_release_body(&eq, "Release"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    // Roles: a trucker cannot release at a terminal; a forwarder cannot block a release right;
    // PSA cannot use DP World's terminal code or ingestion id.
    let mut body = psa.terminal_release_body(&eq, "Release");
    c.trucker
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await
        .problem(401);
    c.forwarder
        .release_rights(&eq, "Block", json!({}))
        .await
        .problem(401);
    body["terminalCode"] = json!("1700");
    let r = psa
        .call(Method::PUT, &terminal_release_path(&eq), Some(&body))
        .await;
    assert!(r.problem(401)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("1700")));
    let r = psa
        .call(
            Method::POST,
            &c.dpworld.ingestion_path(),
            Some(&psa.ingestion_body(&eq, "Discharge", json!({}))),
        )
        .await;
    r.problem(401);
    // Ingestion needs only the bearer token (no key) but a token it needs.
    psa.with("", None)
        .ingest(&eq, "Discharge", json!({}))
        .await
        .problem(401);
    Sim::same(&before, &sim.snapshot(&eq).await);

    // The key may also come as the `subscription-key` query parameter.
    let r = psa
        .with(&psa.token, None)
        .call(
            Method::GET,
            &format!(
                "/certified-pickup/v1/entities?entityName=psa&subscription-key={}",
                psa.party.subscription_key
            ),
            None,
        )
        .await;
    r.expect(200);
    psa.with(&psa.token, None)
        .ingest(&eq, "Discharge", json!({}))
        .await
        .reference();
}

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
// Ingestion: Discharge, GateIn, GateOut
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn ingestion_sets_terminal_lights_and_refuses_bad_bodies() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(111);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();

    // Discharge of an empty container: DISCHARGED green; customs NOTAPPLICABLE orange.
    let r = c
        .psa
        .ingest(&eq, "Discharge", json!({"fullEmptyIndicator": "empty"}))
        .await;
    r.reference();
    let s = sim.state(&eq).await;
    assert_eq!(state_light(&s, "TerminalOperation").0, "DISCHARGED");
    assert_eq!(state_light(&s, "TerminalOperation").1, "Green");
    assert_eq!(
        state_light(&s, "Customs"),
        ("NOTAPPLICABLE".into(), "Orange".into())
    );
    // GateIn (int value 1) with equipmentStatus import: GATEIN, customs PORTEQUALISATION yellow,
    // bills of lading recorded.
    let r = c
        .psa
        .ingest(
            &eq,
            "Discharge",
            json!({"operationType": 1, "equipmentStatus": "import", "billOfLadingNumbers": ["BL-9"]}),
        )
        .await;
    r.reference();
    let s = sim.state(&eq).await;
    assert_eq!(
        state_light(&s, "TerminalOperation"),
        ("GATEIN".into(), "Green".into())
    );
    assert_eq!(
        state_light(&s, "Customs"),
        ("PORTEQUALISATION".into(), "Yellow".into())
    );
    assert!(s["billOfLadingNumbers"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("BL-9"))));

    // Refusals, none of which changes the stay.
    let before = sim.snapshot(&eq).await;
    let path = c.psa.ingestion_path();
    let good = c
        .psa
        .ingestion_body(&eq, "GateOut", json!({"modeOfTransport": 1}));
    c.psa
        .raw(Method::POST, &path, "not json")
        .await
        .bad_field("$");
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"operationType": null}))),
        )
        .await
        .bad_field("operationType");
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"timestamp": null}))),
        )
        .await
        .bad_field("timestamp");
    let r = c
        .psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"operationType": "Teleport"}))),
        )
        .await;
    assert!(r.problem(400)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Teleport")));
    let r = c
        .psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"modeOfTransport": 7}))),
        )
        .await;
    r.problem(400);
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"equipmentStatus": "export"}))),
        )
        .await
        .bad_field("equipmentStatus");
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(
                good.clone(),
                json!({"equipmentNumber": bad_check_digit(&eq)}),
            )),
        )
        .await
        .bad_field("equipmentNumber");
    c.psa
        .call(
            Method::POST,
            "/ingestion/v1/ingestion/not-a-guid",
            Some(&good),
        )
        .await
        .bad_field("ingestionId");
    Sim::same(&before, &sim.snapshot(&eq).await);

    // GateOut with modeOfTransport by name: GATEOUTRECEIVED, GateOut notification.
    let r = c
        .psa
        .ingest(&eq, "GateOut", json!({"modeOfTransport": "truck"}))
        .await;
    let reference = r.reference();
    let s = sim.state(&eq).await;
    assert_eq!(
        state_light(&s, "GateOperation"),
        ("GATEOUTRECEIVED".into(), "Green".into())
    );
    let n = c
        .psa
        .notifications(&format!(
            "publicReferenceId={reference}&notificationEvent=GateOut"
        ))
        .await;
    n.expect(200);
    assert_eq!(
        envelope(&n.body[0])["body"]["modeOfTransport"],
        json!("Truck")
    );
}

#[actix_web::test]
async fn terminal_events_before_the_commercial_release_wait_and_attach() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(112);
    let discharge = c.psa.ingest(&eq, "Discharge", json!({})).await.reference();
    let n = c
        .psa
        .notifications(&format!("publicReferenceId={discharge}"))
        .await;
    assert_eq!(
        n.expect(200).body[0]["event"],
        json!("ReleaseLightRegistered")
    );
    let s = sim.state(&eq).await;
    assert_eq!(state_light(&s, "TerminalOperation").0, "UNKNOWN");
    assert_eq!(s["waitingTerminalEvents"].as_array().map(Vec::len), Some(1));
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    let s = sim.state(&eq).await;
    assert_eq!(state_light(&s, "TerminalOperation").0, "DISCHARGED");
    assert_eq!(s["waitingTerminalEvents"].as_array().map(Vec::len), Some(0));
    // The attached event answers under its own publicReferenceId.
    let n = c
        .agent
        .notifications(&format!("publicReferenceId={discharge}"))
        .await;
    assert_eq!(n.expect(200).body[0]["event"], json!("ReleaseLightChanged"));
}

// ---------------------------------------------------------------------------------------------
// Synchronous pick-up validation truck (v1)
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn truck_sync_validation_covers_every_row() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let (eq1, eq2, eq3) = (container(201), container(202), container(203));
    for eq in [&eq1, &eq2, &eq3] {
        ready_for_truck(&sim, &c, eq).await;
    }

    // Row 1: release valid, RELEASED, all lights green, GateOperation grey.
    let r = c.psa.truck_validation("AP1000001", &eq1).await;
    r.expect(200);
    assert_eq!(r.body["alfapassNumber"], json!("AP1000001"));
    let v = &r.body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(true), "{v}");
    assert_eq!(v["status"], json!("RELEASED"));
    assert_eq!(v["equipmentNumber"], json!(eq1));
    assert_eq!(v["errorMessages"], json!(""));
    for name in [
        "CommercialRelease",
        "Customs",
        "TerminalOperation",
        "TerminalRelease",
    ] {
        assert_eq!(light(v, name).1, "Green", "{name}");
    }
    assert_eq!(light(v, "GateOperation").1, "Grey");

    // Row 2: valid with a condition (customs FAVV): lights green or yellow.
    sim.customs(&eq2, "FAVV").await;
    let r = c.psa.truck_validation("AP1000001", &eq2).await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(true), "{v}");
    assert_eq!(v["status"], json!("FAVV"));
    assert_eq!(light(v, "Customs"), ("FAVV".into(), "Yellow".into()));

    // Row 3: not valid, container available: wrong Alfapass (a valid one of another trucker).
    let r = c.psa.truck_validation("AP2000001", &eq1).await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(false));
    assert_eq!(v["status"], json!("RELEASED"));
    assert!(v["errorMessages"]
        .as_str()
        .is_some_and(|m| m.contains("AP2000001")));

    // Row 4: not valid, container blocked (terminal block: a red light).
    c.psa.terminal_release(&eq3, "Block").await.reference();
    let r = c.psa.truck_validation("AP1000001", &eq3).await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(false));
    assert_eq!(v["status"], json!("BLOCKED"));
    assert_eq!(
        light(v, "TerminalRelease"),
        ("BLOCKED".into(), "Red".into())
    );
    assert!(v["errorMessages"]
        .as_str()
        .is_some_and(|m| m.contains("BLOCKED")));

    // Several containers in one call, an unknown one included; carrier by int type.
    let body = json!({
        "alfapassNumber": "AP1000001",
        "releaseIdentification": [
            {"equipmentNumber": eq1},
            {"equipmentNumber": container(299)},
        ],
    });
    let r = c
        .trucker
        .call(Method::POST, &truck_validation_path(), Some(&body))
        .await;
    let items = r.expect(200).body["releaseIdentification"].clone();
    assert_eq!(items[0]["isValid"], json!(true));
    assert_eq!(items[1]["isValid"], json!(false));
    assert_eq!(items[1]["status"], json!("UNKNOWN"));

    // 400s name the field; they change nothing.
    let before = sim.snapshot(&eq1).await;
    let bad = json!({"alfapassNumber": "AP1000001",
        "releaseIdentification": [{"equipmentNumber": bad_check_digit(&eq1)}]});
    c.psa
        .call(Method::POST, &truck_validation_path(), Some(&bad))
        .await
        .bad_field("releaseIdentification[0].equipmentNumber");
    let no_pass =
        json!({"alfapassNumber": " ", "releaseIdentification": [{"equipmentNumber": eq1}]});
    c.psa
        .call(Method::POST, &truck_validation_path(), Some(&no_pass))
        .await
        .bad_field("alfapassNumber");
    let none = json!({"alfapassNumber": "AP1000001", "releaseIdentification": []});
    c.psa
        .call(Method::POST, &truck_validation_path(), Some(&none))
        .await
        .bad_field("releaseIdentification");
    c.psa
        .call(
            Method::POST,
            &truck_validation_path(),
            Some(&json!({"alfapassNumber": "AP1000001"})),
        )
        .await
        .bad_field("releaseIdentification");
    Sim::same(&before, &sim.snapshot(&eq1).await);

    // Error - unauthorized (401) and server error (500); 429 is in the rate-limit sweep.
    c.psa
        .with(&c.psa.token, Some("wrong"))
        .truck_validation("AP1000001", &eq1)
        .await
        .problem(401);
    sim.fault(json!({"path": truck_validation_path(), "status": 500, "count": 1}))
        .await;
    c.psa.truck_validation("AP1000001", &eq1).await.problem(500);
    c.psa.truck_validation("AP1000001", &eq1).await.expect(200);
}

// ---------------------------------------------------------------------------------------------
// Synchronous pick-up validation barge & rail (v2)
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn barge_rail_sync_validation_covers_every_row() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let (eqb, eqr) = (container(301), container(302));
    ready_for(&sim, &c, &c.barge, &eqb).await;

    // Pickup valid, RELEASED (meansOfTransport as int 2).
    let r = c
        .psa
        .barge_rail_validation(&eqb, json!(2), &c.barge.party)
        .await;
    r.expect(200);
    assert_eq!(
        r.body["transportOperator"]["identificationCode"],
        json!(c.barge.party.nxt_entity_id)
    );
    let v = &r.body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(true), "{v}");
    assert_eq!(v["status"], json!("RELEASED"));

    // Pickup valid with a condition: rail, gate in as import -> PORTEQUALISATION (by name).
    c.agent.release_to(&eqr, &c.rail.party).await.reference();
    c.rail
        .release_rights(&eqr, "Accept", json!({}))
        .await
        .reference();
    c.rail.barge_rail_pickup(&eqr).await.reference();
    c.psa
        .ingest(&eqr, "GateIn", json!({"equipmentStatus": "import"}))
        .await
        .reference();
    c.psa.terminal_release(&eqr, "Release").await.reference();
    let r = c
        .psa
        .barge_rail_validation(&eqr, json!("rail"), &c.rail.party)
        .await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(true), "{v}");
    assert_eq!(v["status"], json!("PORTEQUALISATION"));
    assert_eq!(light(v, "Customs").1, "Yellow");

    // Pickup not valid, container available: the wrong operator asks.
    let r = c
        .psa
        .barge_rail_validation(&eqb, json!(3), &c.rail.party)
        .await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(false));
    assert_eq!(v["status"], json!("RELEASED"));
    assert!(!v["errorMessages"].as_str().unwrap_or_default().is_empty());

    // Pickup not valid, container blocked: the shipping agent blocks its release right.
    c.agent
        .release_rights(&eqb, "Block", json!({}))
        .await
        .reference();
    let r = c
        .psa
        .barge_rail_validation(&eqb, json!("Barge"), &c.barge.party)
        .await;
    let v = &r.expect(200).body["releaseIdentification"][0];
    assert_eq!(v["isValid"], json!(false));
    assert_eq!(v["status"], json!("BLOCKED"));
    assert_eq!(light(v, "CommercialRelease").1, "Red");

    // 400: unknown enum value, missing field, bad container number; unchanged.
    let before = sim.snapshot(&eqb).await;
    let good = json!({"equipmentNumber": eqb, "billOfLadingNumbers": [], "meansOfTransport": 2,
        "transportOperator": by_id(&c.barge.party)});
    let path = barge_rail_validation_path();
    let r = c
        .psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"meansOfTransport": "plane"}))),
        )
        .await;
    assert!(r.problem(400)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("plane")));
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"transportOperator": null}))),
        )
        .await
        .bad_field("transportOperator");
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"billOfLadingNumbers": null}))),
        )
        .await
        .bad_field("billOfLadingNumbers");
    c.psa
        .call(
            Method::POST,
            &path,
            Some(&merge(good.clone(), json!({"equipmentNumber": "ABC"}))),
        )
        .await
        .bad_field("equipmentNumber");
    Sim::same(&before, &sim.snapshot(&eqb).await);
    // 401 and 500.
    c.psa
        .with("sim_at_nope", c.psa.key.as_deref())
        .barge_rail_validation(&eqb, json!(2), &c.barge.party)
        .await
        .problem(401);
    sim.fault(json!({"path": path, "status": 500, "count": 1}))
        .await;
    c.psa
        .barge_rail_validation(&eqb, json!(2), &c.barge.party)
        .await
        .problem(500);
}

// ---------------------------------------------------------------------------------------------
// Validate Alfapass
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn validate_alfapass_answers_true_or_false() {
    let sim = Sim::start().await;
    let forwarder = sim.login("forwarder").await;
    let check = |code: &str| json!({"identificationType": "Alfapass", "identificationCode": code});
    for (code, want) in [
        ("AP1000001", true),
        ("AP2000001", true),
        ("AP9999999", false),
        ("", false),
    ] {
        let r = forwarder
            .call(Method::POST, &identification_path(), Some(&check(code)))
            .await;
        r.expect(200);
        assert_eq!(r.body, json!(want), "{code}");
    }
    let r = forwarder
        .call(
            Method::POST,
            &identification_path(),
            Some(&json!({"identificationType": 0, "identificationCode": "NXT40000000001"})),
        )
        .await;
    r.bad_field("identificationType");
    forwarder
        .call(
            Method::POST,
            &identification_path(),
            Some(&json!({"identificationType": "Alfapass"})),
        )
        .await
        .bad_field("identificationCode");
    forwarder
        .with(&forwarder.token, None)
        .call(
            Method::POST,
            &identification_path(),
            Some(&check("AP1000001")),
        )
        .await
        .problem(401);
}

// ---------------------------------------------------------------------------------------------
// Validate Truck Release Right (ownership)
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn ownership_validation_covers_every_row() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(401);
    c.agent.release_to(&eq, &c.trucker.party).await.reference();
    c.trucker
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.trucker
        .pickup(&eq, "Assign", "AP1000001")
        .await
        .reference();
    let trucker = c.trucker.party.nxt_entity_id.as_str();
    let release_id = sim.state(&eq).await["releaseRights"][0]["releaseId"].clone();

    let check = |r: Resp, valid: bool, messages: &[&str]| {
        r.expect(200);
        assert_eq!(r.body["isValid"], json!(valid), "{}", r.text);
        let got: Vec<&str> = r.body["errorMessages"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(got, messages, "{}", r.text);
        r
    };
    // Valid: company level, and with the assigned Alfapass.
    let r = check(c.psa.ownership(trucker, None, &eq).await, true, &[]);
    assert_eq!(r.body["releaseId"], release_id);
    assert_eq!(r.body["ownerNxtEntityId"], json!(trucker));
    check(
        c.psa.ownership(trucker, Some("AP1000001"), &eq).await,
        true,
        &[],
    );
    // Row 1: not a transport operator / unknown company.
    let fwd = c.forwarder.party.nxt_entity_id.as_str();
    check(
        c.psa.ownership(fwd, None, &eq).await,
        false,
        &["Queried company is not a Transport Operator"],
    );
    check(
        c.psa.ownership("NXT99999999999", None, &eq).await,
        false,
        &["Queried company is unknown"],
    );
    // Row 2: invalid Alfapass; both invalid -> two messages.
    check(
        c.psa.ownership(trucker, Some("AP9999999"), &eq).await,
        false,
        &["Provided Alfapass number is invalid or unknown"],
    );
    check(
        c.psa.ownership(fwd, Some("AP9999999"), &eq).await,
        false,
        &[
            "Queried company is not a Transport Operator",
            "Provided Alfapass number is invalid or unknown",
        ],
    );
    // A valid Alfapass not assigned to this container.
    check(
        c.psa.ownership(trucker, Some("AP2000001"), &eq).await,
        false,
        &["Provided Alfapass number is not assigned to pick up this container"],
    );
    // Row 3: not the owner.
    check(
        c.psa
            .ownership(&c.trucker2.party.nxt_entity_id, None, &eq)
            .await,
        false,
        &["Queried company is not the owner of the Release Right"],
    );
    // Row 4: unknown release right.
    check(
        c.psa.ownership(trucker, None, &container(402)).await,
        false,
        &["Release Right is unknown, non-existing or no longer active"],
    );
    // Row 5: assigned to a different terminal (DP World asks about a PSA release).
    check(
        c.dpworld.ownership(trucker, None, &eq).await,
        false,
        &["Release Right is assigned to a different terminal by the Shipping Agent"],
    );
    // Rows 6, 7: several release rights in their window.
    let eqm = container(403);
    for ri in ["R-1", "R-2"] {
        c.agent
            .release_rights(
                &eqm,
                "Release",
                json!({"terminalCode": "869", "releaseIdentification": ri,
                    "releaseTo": by_id(&c.trucker.party)}),
            )
            .await
            .reference();
        c.trucker
            .release_rights(&eqm, "Accept", json!({"releaseIdentification": ri}))
            .await
            .reference();
    }
    check(
        c.psa.ownership(trucker, None, &eqm).await,
        false,
        &["Multiple Release Rights found for queried equipment number"],
    );
    check(
        c.psa
            .ownership(&c.trucker2.party.nxt_entity_id, None, &eqm)
            .await,
        false,
        &["Multiple Release Rights found, at least one is within the given time window but OwnerEntityId does not match the last stakeholder"],
    );
    // Row 9: several, all outside their window; and a single one outside its window.
    let (eqw, eqv) = (container(404), container(405));
    for (eq, ri) in [(&eqw, "W-1"), (&eqw, "W-2"), (&eqv, "V-1")] {
        c.agent
            .release_rights(
                eq,
                "Release",
                json!({"terminalCode": "869", "releaseIdentification": ri,
                    "releaseTo": by_id(&c.trucker.party), "validFrom": "2024-05-03T00:00:00Z"}),
            )
            .await
            .reference();
        c.trucker
            .release_rights(eq, "Accept", json!({"releaseIdentification": ri}))
            .await
            .reference();
    }
    check(
        c.psa.ownership(trucker, None, &eqw).await,
        false,
        &["Multiple Release Rights found, all outside the time window"],
    );
    check(
        c.psa.ownership(trucker, None, &eqv).await,
        false,
        &["Release Right is outside its time window"],
    );

    // 400: malformed body, missing or empty owner.
    let before = sim.snapshot(&eq).await;
    c.psa
        .raw(Method::POST, &ownership_path(), "[1,2")
        .await
        .bad_field("$");
    c.psa
        .call(
            Method::POST,
            &ownership_path(),
            Some(&json!({"equipmentNumber": eq})),
        )
        .await
        .bad_field("ownerNxtEntityId");
    c.psa
        .ownership("  ", None, &eq)
        .await
        .bad_field("ownerNxtEntityId");
    c.psa
        .call(
            Method::POST,
            &ownership_path(),
            Some(
                &json!({"ownerNxtEntityId": trucker, "equipmentNumber": eq, "portLoCode": "NLRTM"}),
            ),
        )
        .await
        .bad_field("portLoCode");
    // 500: a well-formed body CPu cannot use (bad equipment number).
    let r = c.psa.ownership(trucker, None, "NOTACONTAINER").await;
    let p = r.problem(500);
    assert_eq!(
        p["title"],
        json!("Something went wrong. Check your request body.")
    );
    assert!(p["detail"]
        .as_str()
        .is_some_and(|d| d.contains("equipmentNumber")));
    // 401.
    c.psa
        .with(&c.trucker.token, c.psa.key.as_deref())
        .ownership(trucker, None, &eq)
        .await
        .problem(401);
    Sim::same(&before, &sim.snapshot(&eq).await);
}

// ---------------------------------------------------------------------------------------------
// Get release detail
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn release_detail_answers_202_then_a_get_release_detail_notification() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(501);
    ready_for_truck(&sim, &c, &eq).await;
    let r = c
        .psa
        .request(Method::GET, &release_detail_path(&eq))
        .header("External-Reference-Id", "detail-1")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.headers()
            .get("External-Reference-Id")
            .and_then(|v| v.to_str().ok()),
        Some("detail-1")
    );
    let body: Value = r.json().await.expect("json");
    let reference = body["publicReferenceId"].as_str().expect("ref");
    let n = c
        .psa
        .notifications(&format!("publicReferenceId={reference}"))
        .await;
    n.expect(200);
    assert_eq!(n.body.as_array().map(Vec::len), Some(1));
    assert_eq!(n.body[0]["event"], json!("GetReleaseDetail"));
    let detail = envelope(&n.body[0])["body"].clone();
    assert_eq!(detail["equipmentNumber"], json!(eq));
    assert_eq!(detail["status"], json!("RELEASED"));
    assert_eq!(detail["terminalCode"], json!("869"));
    let lights = detail["lights"].as_array().expect("lights");
    assert_eq!(lights.len(), 5);
    assert!(lights
        .iter()
        .any(|l| l["greenLightName"] == json!("TerminalRelease") && l["color"] == json!("Green")));
    // The owner and the agent may ask too.
    c.trucker
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .reference();
    c.agent
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .reference();

    // An uninvolved party: 401, and no notification is created for it.
    let before = sim.snapshot(&eq).await;
    c.trucker2
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .problem(401);
    c.trucker2
        .notifications(&format!("equipmentNumber={eq}"))
        .await
        .problem(405);
    Sim::same(&before, &sim.snapshot(&eq).await);
    // Bad container number: 400. Unknown container: 202 then NotValidated.
    c.psa
        .call(
            Method::GET,
            &release_detail_path(&bad_check_digit(&eq)),
            None,
        )
        .await
        .bad_field("equipmentNumber");
    let reference = c
        .psa
        .call(Method::GET, &release_detail_path(&container(502)), None)
        .await
        .reference();
    let n = c
        .psa
        .notifications(&format!("publicReferenceId={reference}"))
        .await;
    assert_eq!(n.expect(200).body[0]["event"], json!("NotValidated"));
}

// ---------------------------------------------------------------------------------------------
// Company registry
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn company_registry_filters_pages_and_refuses() {
    let sim = Sim::start().await;
    let agent = sim.login("agent").await;
    let psa = sim.party("psa").clone();
    let search = |q: String| {
        let agent = agent.clone();
        async move {
            agent
                .call(
                    Method::GET,
                    &format!("/certified-pickup/v1/entities?{q}"),
                    None,
                )
                .await
        }
    };

    // Each filter alone finds PSA.
    for q in [
        format!("EORI={}", psa.eori.clone().unwrap_or_default()),
        format!("DUNS={}", psa.duns.clone().unwrap_or_default()),
        format!("VAT={}", psa.vat.clone().unwrap_or_default()),
        format!("NxtEntityId={}", psa.nxt_entity_id),
        format!("apcsCode={}", psa.apcs_code.clone().unwrap_or_default()),
    ] {
        let r = search(q.clone()).await;
        r.expect(200);
        assert_eq!(r.body["totalRows"], json!(1), "{q}: {}", r.text);
        assert_eq!(
            r.body["phoneBookItems"][0]["nxtEntityId"],
            json!(psa.nxt_entity_id)
        );
        assert_eq!(r.body["phoneBookItems"][0]["name"], json!(psa.name));
    }
    // Partial, case-insensitive name.
    let r = search("entityName=aNtWeRp".into()).await;
    let names: Vec<&str> = r.body["phoneBookItems"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    let want: Vec<&str> = sim
        .parties
        .values()
        .filter(|p| p.name.to_lowercase().contains("antwerp"))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names.len(), want.len(), "{names:?}");
    assert!(names.len() >= 3);
    // Filters are ANDed.
    let r = search(format!(
        "VAT={}&entityName=PSA",
        psa.vat.clone().unwrap_or_default()
    ))
    .await;
    assert_eq!(r.expect(200).body["totalRows"], json!(1));
    let r = search(format!(
        "VAT={}&entityName=DP%20World",
        psa.vat.clone().unwrap_or_default()
    ))
    .await;
    assert_eq!(r.expect(200).body["totalRows"], json!(0));
    assert_eq!(r.body["phoneBookItems"], json!([]));
    // Paging: default page size 25; page 2 of size 3.
    let total = sim
        .parties
        .values()
        .filter(|p| p.name.to_lowercase().contains('a'))
        .count();
    assert!(total > 6);
    let r = search("entityName=a".into()).await;
    assert_eq!(r.body["searchFilter"]["pageSize"], json!(25));
    assert_eq!(r.body["searchFilter"]["page"], json!(1));
    assert_eq!(r.body["totalRows"], json!(total));
    let r = search("entityName=a&page=2&pageSize=3".into()).await;
    assert_eq!(r.body["phoneBookItems"].as_array().map(Vec::len), Some(3));
    assert_eq!(r.body["totalPages"], json!(total.div_ceil(3)));
    let r = search(format!(
        "entityName=a&page={}&pageSize=3",
        total.div_ceil(3)
    ))
    .await;
    assert_eq!(
        r.body["phoneBookItems"].as_array().map(Vec::len),
        Some(total - 3 * (total.div_ceil(3) - 1))
    );
    // 400: no filter at all; bad paging.
    search(String::new()).await.bad_field("query");
    search("page=1&pageSize=10".into()).await.bad_field("query");
    search("entityName=a&pageSize=0".into())
        .await
        .bad_field("pageSize");
    search("entityName=a&page=0".into()).await.bad_field("page");
    search("entityName=a&page=x".into()).await.problem(400);
    // 405 for another method; 401.
    agent
        .call(
            Method::POST,
            "/certified-pickup/v1/entities?entityName=a",
            None,
        )
        .await
        .problem(405);
    agent
        .with("", agent.key.as_deref())
        .call(
            Method::GET,
            "/certified-pickup/v1/entities?entityName=a",
            None,
        )
        .await
        .problem(401);
}

// ---------------------------------------------------------------------------------------------
// Notification service
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn notifications_filter_window_and_refusals() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let (eq1, eq2) = (container(601), container(602));
    c.agent.release_to(&eq1, &c.trucker.party).await.reference();
    c.agent.release_to(&eq2, &c.trucker.party).await.reference();
    let tr = c.psa.terminal_release(&eq1, "Release").await.reference();
    let release_id = sim.state(&eq1).await["releaseRights"][0]["releaseId"]
        .as_str()
        .expect("releaseId")
        .to_owned();
    let events = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n["event"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    // Filters.
    let r = c.psa.notifications(&format!("equipmentNumber={eq1}")).await;
    r.expect(200);
    let ev = events(&r);
    assert!(ev.contains(&"Release".to_owned()) && ev.contains(&"TerminalRelease".to_owned()));
    assert!(r
        .body
        .as_array()
        .is_some_and(|a| a.iter().all(|n| n["equipmentNumber"] == json!(eq1)
            && n["nxtEntityId"] == json!(c.psa.party.nxt_entity_id))));
    let r = c
        .psa
        .notifications("notificationEvent=TerminalRelease")
        .await;
    assert_eq!(events(r.expect(200)), vec!["TerminalRelease"]);
    let r = c.psa.notifications("notificationEvent=Release").await;
    assert_eq!(events(r.expect(200)).len(), 2);
    let r = c
        .psa
        .notifications(&format!("notificationEvent=Release&equipmentNumber={eq2}"))
        .await;
    assert_eq!(events(r.expect(200)).len(), 1);
    let r = c
        .psa
        .notifications(&format!("publicReferenceId={tr}"))
        .await;
    assert!(r
        .expect(200)
        .body
        .as_array()
        .is_some_and(|a| a.iter().all(|n| n["publicReferenceId"] == json!(tr))));
    let r = c
        .agent
        .notifications(&format!("releaseId={release_id}"))
        .await;
    assert!(r
        .expect(200)
        .body
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|n| n["releaseId"] == json!(release_id))));
    // storedOn, with and without a time window (the clock stands at 10:00 UTC).
    c.psa.notifications("storedOn=2024-05-01").await.expect(200);
    c.psa
        .notifications("storedOn=2024-05-01T00:00:00Z")
        .await
        .expect(200);
    c.psa
        .notifications("storedOn=2024-05-01&timeWindowFrom=09:00&timeWindowTo=11:00")
        .await
        .expect(200);
    c.psa
        .notifications("storedOn=2024-05-01&timeWindowFrom=10:00&timeWindowTo=10:00:00")
        .await
        .expect(200);

    // 405: nothing matching, no parameters, window without storedOn, To < From, half a window.
    for q in [
        "storedOn=2024-05-02".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=10:30&timeWindowTo=11:00".to_owned(),
        format!("notificationEvent=TerminalRelease&equipmentNumber={eq2}"),
        format!("publicReferenceId={}", uuid::Uuid::new_v4()),
        String::new(),
        "timeWindowFrom=09:00&timeWindowTo=11:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=11:00&timeWindowTo=09:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=09:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=25:99&timeWindowTo=26:00".to_owned(),
        "storedOn=yesterday".to_owned(),
        "notificationEvent=Fireworks".to_owned(),
        "publicReferenceId=not-a-guid".to_owned(),
    ] {
        let r = c.psa.notifications(&q).await;
        assert_eq!(r.status, 405, "{q}: {}", r.text);
    }
    // 403: a notification sent to another company.
    let r = c
        .trucker2
        .notifications(&format!("publicReferenceId={tr}"))
        .await;
    r.problem(403);
    // 401.
    c.psa
        .with(&c.psa.token, None)
        .notifications(&format!("equipmentNumber={eq1}"))
        .await
        .problem(401);

    // Retention: 168 h.
    sim.advance(167 * 3600).await;
    let psa = sim.login("psa").await;
    psa.notifications(&format!("publicReferenceId={tr}"))
        .await
        .expect(200);
    sim.advance(2 * 3600).await;
    let psa = sim.login("psa").await;
    psa.notifications(&format!("publicReferenceId={tr}"))
        .await
        .problem(405);
    psa.notifications(&format!("equipmentNumber={eq1}"))
        .await
        .problem(405);
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

// ---------------------------------------------------------------------------------------------
// The import lifecycle as every party
// ---------------------------------------------------------------------------------------------

/// The events a party sees for a container through the NxtPort notifications call.
async fn seen(who: &Caller, eq: &str) -> Vec<String> {
    who.notifications_for(eq)
        .await
        .iter()
        .map(|n| n["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[track_caller]
fn has_all(events: &[String], want: &[&str]) {
    for w in want {
        assert!(events.iter().any(|e| e == w), "missing {w} in {events:?}");
    }
}

#[actix_web::test]
async fn truck_lifecycle_agent_forwarder_trucker_terminal_on_the_real_clock() {
    let sim = Sim::start_with(|c| c.frozen_clock = None).await;
    let c = sim.cast().await;
    let eq = container(1001);
    // Agent -> forwarder -> trucker.
    c.agent
        .release_to(&eq, &c.forwarder.party)
        .await
        .reference();
    assert_eq!(
        sim.state(&eq).await["releaseRights"][0]["status"],
        json!("Pending")
    );
    c.forwarder
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.forwarder
        .release_rights(
            &eq,
            "Transfer",
            json!({"releaseTo": by_id(&c.trucker.party)}),
        )
        .await
        .reference();
    c.trucker
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    let s = sim.state(&eq).await;
    assert_eq!(
        s["releaseRights"][0]["holder"],
        json!(c.trucker.party.nxt_entity_id)
    );
    assert_eq!(s["releaseRights"][0]["status"], json!("Accepted"));
    c.trucker
        .pickup(&eq, "Assign", "AP1000002")
        .await
        .reference();
    c.trucker
        .pickup(&eq, "Update", "AP1000001")
        .await
        .reference();
    // Terminal and customs.
    c.psa
        .ingest(&eq, "Discharge", json!({"fullEmptyIndicator": "full"}))
        .await
        .reference();
    assert_eq!(sim.status(&eq).await, "NOTRELEASED");
    sim.customs(&eq, "RELEASED").await;
    c.psa.terminal_release(&eq, "Release").await.reference();
    assert_eq!(sim.status(&eq).await, "RELEASED");
    let v = c.psa.truck_validation("AP1000001", &eq).await;
    assert_eq!(v.body["releaseIdentification"][0]["isValid"], json!(true));
    let v = c.psa.truck_validation("AP1000002", &eq).await;
    assert_eq!(v.body["releaseIdentification"][0]["isValid"], json!(false));
    // Gate out by truck.
    c.psa
        .ingest(&eq, "GateOut", json!({"modeOfTransport": 1}))
        .await
        .reference();
    let v = c.psa.truck_validation("AP1000001", &eq).await;
    assert_eq!(v.body["releaseIdentification"][0]["isValid"], json!(false));
    // What each party saw.
    has_all(
        &seen(&c.agent, &eq).await,
        &[
            "Release",
            "AcceptedByNextParty",
            "Transferred",
            "DigitalKeyCreated",
            "ReleaseLightChanged",
            "TerminalRelease",
            "GateOut",
        ],
    );
    has_all(
        &seen(&c.forwarder, &eq).await,
        &[
            "Release",
            "AcceptedByNextParty",
            "Transferred",
            "TerminalRelease",
            "GateOut",
        ],
    );
    has_all(
        &seen(&c.trucker, &eq).await,
        &[
            "Transferred",
            "AcceptedByNextParty",
            "DigitalKeyCreated",
            "TerminalRelease",
            "GateOut",
        ],
    );
    has_all(
        &seen(&c.psa, &eq).await,
        &[
            "Release",
            "DigitalKeyCreated",
            "ReleaseLightChanged",
            "TerminalRelease",
            "GateOut",
        ],
    );
    // Nothing for a party that is not involved.
    c.trucker2
        .notifications(&format!("equipmentNumber={eq}"))
        .await
        .problem(405);
    // The control API's inbox agrees with what the NxtPort call returns.
    assert_eq!(sim.events("agent", &eq).await, seen(&c.agent, &eq).await);
    // History records every step.
    let history = sim.state(&eq).await["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(10));
}

#[actix_web::test]
async fn barge_lifecycle_via_forwarder_with_barge_rail_pickup_right() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1002);
    c.agent
        .release_to(&eq, &c.forwarder.party)
        .await
        .reference();
    c.forwarder
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.forwarder
        .release_rights(&eq, "Transfer", json!({"releaseTo": by_id(&c.barge.party)}))
        .await
        .reference();
    c.barge
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.barge.barge_rail_pickup(&eq).await.reference();
    let s = sim.state(&eq).await;
    assert_eq!(s["pickupRights"][0]["party"]["partyType"], json!("Barge"));
    c.psa.ingest(&eq, "Discharge", json!({})).await.reference();
    sim.customs(&eq, "RELEASED").await;
    c.psa.terminal_release(&eq, "Release").await.reference();
    let v = c
        .psa
        .barge_rail_validation(&eq, json!("Barge"), &c.barge.party)
        .await;
    assert_eq!(
        v.body["releaseIdentification"][0]["isValid"],
        json!(true),
        "{}",
        v.text
    );
    let gate_out = c
        .psa
        .ingest(&eq, "GateOut", json!({"modeOfTransport": 2}))
        .await
        .reference();
    let n = c
        .barge
        .notifications(&format!("publicReferenceId={gate_out}"))
        .await;
    assert_eq!(
        envelope(&n.expect(200).body[0])["body"]["modeOfTransport"],
        json!("Barge")
    );
    has_all(
        &seen(&c.barge, &eq).await,
        &[
            "Transferred",
            "AcceptedByNextParty",
            "DigitalKeyCreated",
            "TerminalRelease",
            "GateOut",
        ],
    );
    has_all(
        &seen(&c.forwarder, &eq).await,
        &["Release", "Transferred", "GateOut"],
    );
    has_all(
        &seen(&c.agent, &eq).await,
        &["Release", "TerminalRelease", "GateOut"],
    );
    // A barge operator cannot assign a truck pickup right.
    let eq2 = container(1003);
    c.agent.release_to(&eq2, &c.barge.party).await.reference();
    c.barge
        .release_rights(&eq2, "Accept", json!({}))
        .await
        .reference();
    let before = sim.snapshot(&eq2).await;
    c.barge
        .pickup(&eq2, "Assign", "AP1000001")
        .await
        .problem(401);
    Sim::same(&before, &sim.snapshot(&eq2).await);
}

#[actix_web::test]
async fn rail_lifecycle_direct_from_the_agent_with_gate_in_as_import() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1004);
    c.agent.release_to(&eq, &c.rail.party).await.reference();
    c.rail
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    c.rail.barge_rail_pickup(&eq).await.reference();
    assert_eq!(
        sim.state(&eq).await["pickupRights"][0]["party"]["partyType"],
        json!("Rail")
    );
    c.psa
        .ingest(&eq, "GateIn", json!({"equipmentStatus": "IMPORT"}))
        .await
        .reference();
    c.psa.terminal_release(&eq, "Release").await.reference();
    assert_eq!(sim.status(&eq).await, "PORTEQUALISATION");
    let v = c
        .psa
        .barge_rail_validation(&eq, json!(3), &c.rail.party)
        .await;
    assert_eq!(
        v.body["releaseIdentification"][0]["isValid"],
        json!(true),
        "{}",
        v.text
    );
    c.psa
        .ingest(&eq, "GateOut", json!({"modeOfTransport": "Rail"}))
        .await
        .reference();
    has_all(
        &seen(&c.rail, &eq).await,
        &[
            "Release",
            "AcceptedByNextParty",
            "DigitalKeyCreated",
            "ReleaseLightChanged",
            "TerminalRelease",
            "GateOut",
        ],
    );
    has_all(
        &seen(&c.psa, &eq).await,
        &["Release", "TerminalRelease", "GateOut"],
    );
}

#[actix_web::test]
async fn release_right_actions_out_of_order_or_unknown_are_refused_and_change_nothing() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1101);
    // Before any release: actions on an unknown container.
    c.agent
        .release_rights(&eq, "Block", json!({}))
        .await
        .problem(400);
    assert!(sim.snapshot(&eq).await.is_null());
    // Release without terminal, to an unknown party, to a terminal operator, to an unknown terminal.
    c.agent
        .release_rights(&eq, "Release", json!({}))
        .await
        .bad_field("terminalCode");
    c.agent
        .release_rights(
            &eq,
            "Release",
            json!({"terminalCode": "869", "releaseTo": {"identificationType": 0, "identificationCode": "NXT99999999999"}}),
        )
        .await
        .bad_field("releaseTo");
    c.agent
        .release_rights(
            &eq,
            "Release",
            json!({"terminalCode": "869", "releaseTo": by_id(&c.psa.party)}),
        )
        .await
        .bad_field("releaseTo");
    c.agent
        .release_rights(&eq, "Release", json!({"terminalCode": "4242"}))
        .await
        .bad_field("terminalCode");
    c.agent
        .release_rights(
            &eq,
            "Release",
            json!({"terminalCode": "869", "actionType": "Explode"}),
        )
        .await
        .problem(400);
    assert!(sim.snapshot(&eq).await.is_null());

    c.agent
        .release_to(&eq, &c.forwarder.party)
        .await
        .reference();
    let before = sim.snapshot(&eq).await;
    // The trucker is not in the chain; the forwarder has not accepted yet.
    c.trucker
        .release_rights(&eq, "Accept", json!({}))
        .await
        .problem(401);
    c.forwarder
        .release_rights(
            &eq,
            "Transfer",
            json!({"releaseTo": by_id(&c.trucker.party)}),
        )
        .await
        .problem(401);
    c.agent
        .release_rights(&eq, "Unblock", json!({}))
        .await
        .problem(400);
    c.trucker
        .pickup(&eq, "Assign", "AP1000001")
        .await
        .problem(401);
    c.agent
        .release_rights(
            &eq,
            "Release",
            json!({"terminalCode": "869", "releaseFrom": by_id(&c.forwarder.party)}),
        )
        .await
        .bad_field("releaseFrom");
    Sim::same(&before, &sim.snapshot(&eq).await);
    // Accept, then Accept again: out of order.
    c.forwarder
        .release_rights(&eq, "Accept", json!({}))
        .await
        .reference();
    let before = sim.snapshot(&eq).await;
    c.forwarder
        .release_rights(&eq, "Accept", json!({}))
        .await
        .problem(400);
    c.forwarder
        .release_rights(&eq, "Transfer", json!({}))
        .await
        .bad_field("releaseTo");
    Sim::same(&before, &sim.snapshot(&eq).await);
    // Decline and revoke work in order.
    c.forwarder
        .release_rights(
            &eq,
            "Transfer",
            json!({"releaseTo": by_id(&c.trucker.party)}),
        )
        .await
        .reference();
    c.trucker
        .release_rights(&eq, "Decline", json!({}))
        .await
        .reference();
    c.agent
        .release_rights(&eq, "Revoke", json!({}))
        .await
        .reference();
    assert_eq!(
        sim.state(&eq).await["releaseRights"][0]["status"],
        json!("Assigned")
    );
    // Block / unblock / delete by the agent: the commercial light follows.
    c.agent
        .release_rights(&eq, "Block", json!({}))
        .await
        .reference();
    assert_eq!(
        state_light(&sim.state(&eq).await, "CommercialRelease").0,
        "BLOCKED"
    );
    c.agent
        .release_rights(&eq, "Unblock", json!({}))
        .await
        .reference();
    assert_eq!(
        state_light(&sim.state(&eq).await, "CommercialRelease").0,
        "OK"
    );
    c.agent
        .release_rights(&eq, "Delete", json!({}))
        .await
        .reference();
    assert_eq!(
        state_light(&sim.state(&eq).await, "CommercialRelease").0,
        "NOK"
    );
}

// ---------------------------------------------------------------------------------------------
// Customs, terminal overrule, expiry and archive
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn customs_values_drive_the_status_and_the_truck_validation() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1201);
    ready_for_truck(&sim, &c, &eq).await;
    for (customs, status, colour, valid) in [
        ("FAVV", "FAVV", "Yellow", true),
        ("SELECTEDFORSCAN", "SELECTEDFORSCAN", "Yellow", true),
        ("TRANSHIPMENT", "TRANSHIPMENT", "Yellow", true),
        ("PORTEQUALISATION", "PORTEQUALISATION", "Yellow", true),
        ("DOCUMENTARYCONTROL", "BLOCKED", "Red", false),
        ("NOTAPPLICABLE", "RELEASED", "Orange", true),
        ("NOTRELEASED", "NOTRELEASED", "Grey", false),
        ("RELEASED", "RELEASED", "Green", true),
    ] {
        sim.customs(&eq, customs).await;
        let s = sim.state(&eq).await;
        assert_eq!(s["status"], json!(status), "{customs}");
        assert_eq!(
            state_light(&s, "Customs"),
            (customs.to_owned(), colour.to_owned())
        );
        let v = c.psa.truck_validation("AP1000001", &eq).await;
        let item = &v.body["releaseIdentification"][0];
        assert_eq!(item["isValid"], json!(valid), "{customs}: {item}");
        assert_eq!(item["status"], json!(status));
    }
    // Every customs change is a ReleaseLightChanged for the terminal.
    let n = c
        .psa
        .notifications(&format!(
            "equipmentNumber={eq}&notificationEvent=ReleaseLightChanged"
        ))
        .await;
    let customs_changes = n
        .expect(200)
        .body
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|n| envelope(n)["body"]["greenLightName"] == json!("Customs"))
                .count()
        })
        .unwrap_or_default();
    assert_eq!(customs_changes, 9);
    // Terminal scanning: SELECTEDFORSCAN.
    c.psa.terminal_release(&eq, "Scanning").await.reference();
    assert_eq!(sim.status(&eq).await, "SELECTEDFORSCAN");
    // Bad customs input: 400, unchanged.
    let before = sim.snapshot(&eq).await;
    for bad in [
        json!({"status": "MAYBE"}),
        json!({}),
        json!({"status": "RELEASED", "x": 1}),
    ] {
        let r = sim
            .control(
                Method::PUT,
                &format!("/simulator/v1/{LOCODE}/containers/{eq}/customs"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    Sim::same(&before, &sim.snapshot(&eq).await);
}

#[actix_web::test]
async fn terminal_overrule_gate_out_of_a_blocked_container_is_accepted_and_flagged() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1301);
    ready_for_truck(&sim, &c, &eq).await;
    c.psa.terminal_release(&eq, "Block").await.reference();
    assert_eq!(sim.status(&eq).await, "BLOCKED");
    let reference = c
        .psa
        .ingest(&eq, "GateOut", json!({"modeOfTransport": 1}))
        .await
        .reference();
    let n = c
        .psa
        .notifications(&format!(
            "publicReferenceId={reference}&notificationEvent=GateOut"
        ))
        .await;
    let body = envelope(&n.expect(200).body[0])["body"].clone();
    assert_eq!(body["statusAtGateOut"], json!("BLOCKED"));
    assert!(body["terminalOverrule"]
        .as_str()
        .is_some_and(|s| s.contains("overrule")));
    // The agent hears it too.
    let n = c
        .agent
        .notifications(&format!(
            "publicReferenceId={reference}&notificationEvent=GateOut"
        ))
        .await;
    assert!(envelope(&n.expect(200).body[0])["body"]["terminalOverrule"].is_string());
    // A normal gate out carries no overrule.
    let eq2 = container(1302);
    ready_for_truck(&sim, &c, &eq2).await;
    let reference = c.psa.ingest(&eq2, "GateOut", json!({})).await.reference();
    let n = c
        .psa
        .notifications(&format!(
            "publicReferenceId={reference}&notificationEvent=GateOut"
        ))
        .await;
    assert!(envelope(&n.expect(200).body[0])["body"]
        .get("terminalOverrule")
        .is_none());
    // After gate out: no more blocking, no release-right changes; unchanged.
    let before = sim.snapshot(&eq).await;
    c.psa.terminal_release(&eq, "Block").await.problem(400);
    c.agent
        .release_rights(&eq, "Block", json!({}))
        .await
        .problem(400);
    c.trucker
        .pickup(&eq, "Revoke", "AP1000001")
        .await
        .problem(400);
    Sim::same(&before, &sim.snapshot(&eq).await);
}

#[actix_web::test]
async fn gate_out_archives_after_14_days_on_the_virtual_clock() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1401);
    ready_for_truck(&sim, &c, &eq).await;
    c.psa.ingest(&eq, "GateOut", json!({})).await.reference();
    sim.advance(14 * 86_400 - 1).await;
    let s = sim.state(&eq).await;
    assert_eq!(s["archived"], json!(false));
    assert!(s["gatedOutAt"].is_string());
    sim.advance(1).await;
    let s = sim.state(&eq).await;
    assert_eq!(s["archived"], json!(true), "{s}");
    assert!(s["archivedAt"].is_string());
    assert_eq!(s["releaseRights"][0]["state"], json!("Archived"));
    let agent = sim.login("agent").await;
    let r = agent
        .notifications(&format!(
            "equipmentNumber={eq}&notificationEvent=InactiveReleaseRights"
        ))
        .await;
    r.expect(200);
    // The archived stay no longer validates.
    let psa = sim.login("psa").await;
    let v = psa.truck_validation("AP1000001", &eq).await;
    assert_eq!(v.body["releaseIdentification"][0]["isValid"], json!(false));
}

#[actix_web::test]
async fn release_right_expires_after_its_validity_on_the_virtual_clock() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(1402);
    ready_for_truck(&sim, &c, &eq).await;
    sim.advance(60 * 86_400).await;
    let s = sim.state(&eq).await;
    assert_eq!(
        state_light(&s, "CommercialRelease"),
        ("EXPIRED".into(), "Red".into())
    );
    assert_eq!(s["status"], json!("BLOCKED"));
    let agent = sim.login("agent").await;
    agent
        .notifications(&format!(
            "equipmentNumber={eq}&notificationEvent=ExpiredReleaseRights"
        ))
        .await
        .expect(200);
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
