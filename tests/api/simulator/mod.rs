//! The simulator over real HTTP: every response row of the seed's tables
//! (`cpu-terminal-operator-spec.txt`), the token endpoint, isolated worlds, webhooks, faults, the
//! clock, and the import lifecycle for truck, barge and rail as every party.
//!
//! Each test starts its own server on port 0 (see `sim_helpers`). Refused calls assert that the
//! world did not change (container snapshot before == after).

use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

mod access;
mod async_calls;
mod control;
mod ingestion;
mod lifecycle;
mod queries;
mod release_rights;
mod validation;

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
