//! The import lifecycle for truck, barge and rail as every party.

use crate::sim_helpers::*;
use serde_json::json;

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
