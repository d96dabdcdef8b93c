//! Every call of the contract: its method, path and types.

use super::{client, fast_retry, ingestion, truck_validation, Double};
use chrono::Utc;
use cpu_contract::*;
use cpu_gateway::nxtport::*;

// ---------------------------------------------------------------------------------------------
// Every call of the contract
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_contract_call_uses_its_method_path_and_types() {
    let double = Double::start().await;
    let client = client(&double, fast_retry(2));
    let o = CallOptions::with_reference("ref");
    let t = Utc::now();
    client
        .terminal_release(
            "BEANR",
            "MSCU1234565",
            &TerminalReleaseRequest {
                equipment_number: "MSCU1234565".into(),
                port_lo_code: "BEANR".into(),
                terminal_code: "869".into(),
                action_type: TerminalReleaseActionType::Scanning,
                release_date_time_utc: t,
                stay_number: Some("S1".into()),
            },
            &o,
        )
        .await
        .unwrap();
    for op in [
        OperationType::Discharge,
        OperationType::GateIn,
        OperationType::GateOut,
    ] {
        client
            .ingestion("ingest-42", &ingestion(op), &o)
            .await
            .unwrap();
    }
    let truck = client
        .validate_truck_pickup("BEANR", &truck_validation(), &o)
        .await
        .unwrap();
    assert_eq!(truck.alfapass_number, "12345678");
    assert_eq!(
        truck.release_identification[0].green_lights[0].green_light_color,
        LightColor::Green
    );
    let barge = client
        .validate_barge_rail_pickup(
            "BEANR",
            &BargeRailPickupValidationRequest {
                equipment_number: "MSCU1234565".into(),
                bill_of_lading_numbers: vec![],
                release_id: None,
                means_of_transport: ModeOfTransport::Barge,
                transport_operator: Identification {
                    identification_type: IdentificationType::NxtEntityId,
                    identification_code: "NXTBARGE".into(),
                },
                carrier: None,
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(barge.transport_operator.identification_code, "NXTBARGE");
    let valid = client
        .validate_identification(
            "BEANR",
            &IdentificationValidationRequest {
                identification_type: IdentificationType::Alfapass,
                identification_code: "12345678".into(),
            },
            &o,
        )
        .await
        .unwrap();
    assert!(valid);
    let ownership = client
        .validate_truck_ownership(
            "BEANR",
            &TruckOwnershipValidationRequest {
                port_lo_code: Some("BEANR".into()),
                owner_nxt_entity_id: "NXTTRUCK".into(),
                alfapass_number: None,
                equipment_number: "MSCU1234565".into(),
            },
            &o,
        )
        .await
        .unwrap();
    assert!(!ownership.is_valid);
    assert_eq!(ownership.error_messages, ["Release Right is unknown"]);
    client
        .request_release_detail(
            "BEANR",
            "MSCU1234565",
            &ReleaseDetailQuery {
                bill_of_lading_numbers: Some("BL1,BL2".into()),
                release_identification: None,
            },
            &o,
        )
        .await
        .unwrap();
    let phone = client
        .search_entities(
            &EntitySearchQuery {
                eori: Some("BE0123".into()),
                ..EntitySearchQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(phone.phone_book_items[0].name, "PSA Antwerp");
    assert_eq!(phone.search_filter.eori.as_deref(), Some("BE0123"));
    let notifications = client
        .notifications(
            &NotificationsQuery {
                notification_event: Some(NotificationEvent::GateOut),
                ..NotificationsQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(
        notifications[0].notification().unwrap().event,
        NotificationEvent::GateOut
    );
    let none = client
        .notifications(
            &NotificationsQuery {
                equipment_number: Some("NONE0000000".into()),
                ..NotificationsQuery::default()
            },
            &o,
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "405 = no matching notifications");
    client
        .release_right_action(
            "BEANR",
            "MSCU1234565",
            &ReleaseRightActionRequest {
                release_identification: None,
                terminal_code: Some("869".into()),
                action_type: ActionType::Transfer,
                reason_for_action: None,
                bill_of_lading_numbers: None,
                release_from: None,
                release_to: Some(Identification {
                    identification_type: IdentificationType::Eori,
                    identification_code: "BE0999".into(),
                }),
                carrier: None,
                release_date_time_utc: None,
                expiration_date_time_utc: None,
                valid_from: None,
                equipment_number: None,
                port_lo_code: None,
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    client
        .pickup_right_action(
            "BEANR",
            "MSCU1234565",
            &SubmitPickupRightRequest {
                terminal_code: None,
                bill_of_lading_numbers: None,
                release_identification: None,
                pickup_party: PickupParty {
                    party_type: PartyType::Truck,
                    identification_type: IdentificationType::Alfapass,
                    identification_code: "12345678".into(),
                },
                timestamp: Some(t),
                action_type: PickupRightActionType::Assign,
                equipment_number: None,
                port_lo_code: None,
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    client
        .barge_rail_pickup_right(
            &SubmitBargeRailPickupRightRequest {
                terminal_code: None,
                release_identifier: ReleaseRightIdentifier {
                    bill_of_lading_numbers: None,
                    equipment_number: "MSCU1234565".into(),
                    release_identification: None,
                },
                data_broker_nxt_entity_id: "NXTBARGE".into(),
                action_type: PickupRightActionType::Assign,
                port_lo_code: Some("BEANR".into()),
                release_id: None,
            },
            &o,
        )
        .await
        .unwrap();
    let seen: Vec<(String, String, String)> = double
        .calls()
        .into_iter()
        .map(|c| (c.method, c.path, c.query))
        .collect();
    let expected = [
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release",
            "",
        ),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        ("POST", "/ingestion/v1/ingestion/ingest-42", ""),
        (
            "POST",
            "/certified-pickup/v1/BEANR/sync-validation/pickup/containers",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v2/BEANR/sync-validation/pickup/barge-rail/containers",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v1/BEANR/validation/pickup/identification",
            "",
        ),
        (
            "POST",
            "/certified-pickup/v1/BEANR/validation/ownership/truck",
            "",
        ),
        (
            "GET",
            "/certified-pickup/v1/BEANR/containers/import/release-rights/MSCU1234565",
            "billOfLadingNumbers=BL1%2CBL2",
        ),
        ("GET", "/certified-pickup/v1/entities", "EORI=BE0123"),
        (
            "GET",
            "/certified-pickup/v1/notifications",
            "notificationEvent=GateOut",
        ),
        (
            "GET",
            "/certified-pickup/v1/notifications",
            "equipmentNumber=NONE0000000",
        ),
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/release-rights",
            "",
        ),
        (
            "PUT",
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/pickup-rights",
            "",
        ),
        ("PUT", "/certified-pickup/v1/pickup-rights/barge-rail", ""),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(m, p, q)| (m.to_string(), p.to_string(), q.to_string()))
        .collect();
    assert_eq!(seen, expected);
    let ops: Vec<String> = double.calls()[1..4]
        .iter()
        .map(|c| {
            serde_json::from_str::<serde_json::Value>(&c.body).unwrap()["operationType"].to_string()
        })
        .collect();
    assert_eq!(ops, ["\"Discharge\"", "\"GateIn\"", "\"GateOut\""]);
}
