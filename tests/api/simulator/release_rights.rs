//! Release-right actions out of order, customs, the terminal's overrule, and expiry and archive
//! on the virtual clock.

use super::{ready_for_truck, state_light};
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::json;

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
