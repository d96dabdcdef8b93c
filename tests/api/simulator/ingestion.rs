//! Ingestion: Discharge, GateIn, GateOut and the terminal lights they set.

use super::state_light;
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::json;

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
