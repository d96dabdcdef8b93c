use super::*;
use crate::scenario::model::{
    BargeRailValidationArgs, ContainerRef, Ingestion, IngestionArgs, ReleaseRightArgs,
    TruckValidationArgs,
};
use serde_json::json;

fn parties() -> BTreeMap<String, Value> {
    let mut p = BTreeMap::new();
    p.insert("psa".into(), json!({"key": "psa", "terminalCode": "869", "ingestionId": "ing-1", "nxtEntityId": "NXT-PSA"}));
    p.insert("trucker".into(), json!({"key": "trucker", "alfapassNumbers": ["AP1"], "nxtEntityId": "NXT-TR", "transportMode": "Truck"}));
    p.insert(
        "rail".into(),
        json!({"key": "rail", "nxtEntityId": "NXT-RAIL", "transportMode": "Rail"}),
    );
    p.insert(
        "agent".into(),
        json!({"key": "agent", "nxtEntityId": "NXT-AG"}),
    );
    p
}

#[test]
fn discharge_uses_the_terminal_ingestion_id_and_bearer_only() {
    let mut vars = Vars::new();
    vars.set("equipment", json!("MSCU1234565"));
    let parties = parties();
    let ctx = VerbContext {
        vars: &vars,
        parties: &parties,
        acting: Some("psa"),
    };
    let args = IngestionArgs {
        equipment: "{{equipment}}".into(),
        terminal: None,
        locode: None,
        stay_number: Some("S1".into()),
        timestamp: Some("T".into()),
        full_empty_indicator: None,
        equipment_status: None,
        bill_of_lading_numbers: None,
        mode_of_transport: None,
        ingestion_id: None,
    };
    let call = ingestion(Ingestion::Discharge, &args, &ctx).unwrap();
    assert_eq!(call.path, "/ingestion/v1/ingestion/ing-1");
    assert!(call.auth.token && !call.auth.key);
    assert_eq!(
        call.body,
        Body::Json(
            json!({"portLoCode": "BEANR", "equipmentNumber": "MSCU1234565", "equipmentStatus": "import",
                "timestamp": "T", "terminalCode": "869", "stayNumber": "S1", "operationType": "Discharge", "fullEmptyIndicator": "full"})
        )
    );
}

#[test]
fn truck_validation_and_release_right_bodies() {
    let vars = Vars::new();
    let parties = parties();
    let ctx = VerbContext {
        vars: &vars,
        parties: &parties,
        acting: Some("psa"),
    };
    let call = truck_validation(
        &TruckValidationArgs {
            alfapass: "AP1".into(),
            equipment: Some("A".into()),
            bill_of_lading_numbers: vec![],
            containers: vec![ContainerRef {
                equipment: "B".into(),
                bill_of_lading_numbers: vec!["BL".into()],
            }],
            carrier: None,
            locode: None,
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(
        call.body,
        Body::Json(json!({"alfapassNumber": "AP1", "releaseIdentification": [
                {"equipmentNumber": "A", "billOfLadingNumbers": []},
                {"equipmentNumber": "B", "billOfLadingNumbers": ["BL"]}]}))
    );
    let ctx = VerbContext {
        vars: &vars,
        parties: &parties,
        acting: Some("agent"),
    };
    let call = release_right(
        &ReleaseRightArgs {
            action: Some("Transfer".into()),
            equipment: "A".into(),
            from: None,
            to: Some("trucker".into()),
            terminal: None,
            carrier: None,
            release_identification: None,
            bill_of_lading_numbers: None,
            reason: None,
            release_date_time_utc: None,
            expiration_date_time_utc: None,
            valid_from: None,
            locode: None,
            release_id: None,
        },
        &ctx,
    )
    .unwrap();
    let Body::Json(body) = call.body else {
        panic!()
    };
    assert_eq!(
        body["releaseTo"],
        json!({"identificationType": 0, "identificationCode": "NXT-TR"})
    );
    assert_eq!(body["releaseFrom"]["identificationCode"], json!("NXT-AG"));
    assert_eq!(body["terminalCode"], json!("869"));
    assert!(body.get("releaseDateTimeUtc").is_none());
}

#[test]
fn barge_rail_mode_follows_the_operator() {
    let vars = Vars::new();
    let parties = parties();
    let ctx = VerbContext {
        vars: &vars,
        parties: &parties,
        acting: Some("psa"),
    };
    let call = barge_rail_validation(
        &BargeRailValidationArgs {
            equipment: "A".into(),
            bill_of_lading_numbers: vec![],
            release_id: None,
            means_of_transport: None,
            transport_operator: Some(json!("rail")),
            carrier: None,
            locode: None,
        },
        &ctx,
    )
    .unwrap();
    let Body::Json(body) = call.body else {
        panic!()
    };
    assert_eq!(body["meansOfTransport"], json!(3));
    assert_eq!(
        body["transportOperator"]["identificationCode"],
        json!("NXT-RAIL")
    );
}

/// Every verb's default body parses as the shared wire type: the runner and the
/// simulator cannot drift apart.
#[test]
fn default_bodies_parse_as_the_wire_types() {
    use crate::scenario::load::parse_scenario;
    use cpu_contract as wire;
    let text = r#"
name: all verbs
steps:
  - as: psa
    terminal_release: { equipment: MSCU1234565, action: Block, stayNumber: S1 }
  - as: psa
    discharge: { equipment: MSCU1234565 }
  - as: psa
    gate_in: { equipment: MSCU1234565, billOfLadingNumbers: [BL1], equipmentStatus: import }
  - as: psa
    gate_out: { equipment: MSCU1234565, modeOfTransport: 1 }
  - as: psa
    validate_truck_pickup: { alfapass: AP1, equipment: MSCU1234565, carrier: agent }
  - as: psa
    validate_barge_rail_pickup: { equipment: MSCU1234565, transportOperator: rail }
  - as: psa
    validate_alfapass: { alfapass: AP1 }
  - as: psa
    validate_ownership: { owner: trucker, alfapass: AP1, equipment: MSCU1234565 }
  - as: agent
    release_right: { equipment: MSCU1234565, to: trucker, releaseId: 3fa85f64-5717-4562-b3fc-2c963f66afa6 }
  - as: trucker
    pickup_right: { equipment: MSCU1234565 }
  - as: rail
    barge_rail_pickup_right: { equipment: MSCU1234565 }
"#;
    let scenario = parse_scenario(text, std::path::Path::new("t.yaml")).unwrap();
    let vars = Vars::new();
    let parties = parties();
    for step in &scenario.steps {
        let ctx = VerbContext {
            vars: &vars,
            parties: &parties,
            acting: step.party.as_deref(),
        };
        let call = build(&step.action, &ctx).unwrap().unwrap();
        let Body::Json(body) = call.body else {
            panic!("{} has no JSON body", step.action_name())
        };
        let parsed = match step.action_name() {
            "terminal_release" => {
                serde_json::from_value::<wire::TerminalReleaseRequest>(body.clone()).map(|_| ())
            }
            "discharge" | "gate_in" | "gate_out" => {
                serde_json::from_value::<wire::IngestionRequest>(body.clone()).map(|_| ())
            }
            "validate_truck_pickup" => {
                serde_json::from_value::<wire::TruckPickupValidationRequest>(body.clone())
                    .map(|_| ())
            }
            "validate_barge_rail_pickup" => {
                serde_json::from_value::<wire::BargeRailPickupValidationRequest>(body.clone())
                    .map(|_| ())
            }
            "validate_alfapass" => {
                serde_json::from_value::<wire::IdentificationValidationRequest>(body.clone())
                    .map(|_| ())
            }
            "validate_ownership" => {
                serde_json::from_value::<wire::TruckOwnershipValidationRequest>(body.clone())
                    .map(|_| ())
            }
            "release_right" => {
                serde_json::from_value::<wire::ReleaseRightActionRequest>(body.clone()).map(|_| ())
            }
            "pickup_right" => {
                serde_json::from_value::<wire::SubmitPickupRightRequest>(body.clone()).map(|_| ())
            }
            "barge_rail_pickup_right" => {
                serde_json::from_value::<wire::SubmitBargeRailPickupRightRequest>(body.clone())
                    .map(|_| ())
            }
            other => panic!("untested verb {other}"),
        };
        assert!(
            parsed.is_ok(),
            "{}: {:?} for {body}",
            step.action_name(),
            parsed.err()
        );
    }
}

#[test]
fn merge_patches_and_removes() {
    let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
    merge(&mut v, &json!({"a": null, "b": {"c": "x"}, "e": [1]}));
    assert_eq!(v, json!({"b": {"c": "x", "d": 3}, "e": [1]}));
}
