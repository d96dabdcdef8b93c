//! The synchronous validations: pick-up validation truck (v1) and barge & rail (v2), Validate
//! Alfapass and Validate Truck Release Right (ownership).

use super::{light, ready_for, ready_for_truck};
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

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
