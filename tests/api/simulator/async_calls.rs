//! Direct responses to asynchronous calls (the seed's table "Direct API responses to
//! asynchronous calls"): 202 and the notifications it sends, bad input, wrong credentials and
//! roles.

use super::state_light;
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

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
