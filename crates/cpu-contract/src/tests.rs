//! Unit tests of the wire contract: enum parsing, seed bodies, exact error JSON.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::wire_enum::WireEnum;
use crate::*;

/// Every variant parses from its name in three letter cases, from its int (number and numeric
/// string), serializes as its name; an unknown name and an unknown int are errors naming the
/// type and listing the allowed values.
fn check_enum<T: WireEnum + serde::Serialize + DeserializeOwned + std::str::FromStr>() {
    for &v in T::all() {
        let name = v.as_str();
        for text in [name.to_owned(), name.to_lowercase(), name.to_uppercase()] {
            let parsed: T = serde_json::from_value(json!(text))
                .unwrap_or_else(|e| panic!("{} {text}: {e}", T::TYPE_NAME));
            assert_eq!(parsed, v, "{} from {text}", T::TYPE_NAME);
        }
        assert_eq!(serde_json::to_value(v).unwrap(), json!(name));
        if let Some(code) = v.code() {
            let from_int: T = serde_json::from_value(json!(code)).unwrap();
            assert_eq!(from_int, v, "{} from {code}", T::TYPE_NAME);
            let from_text: T = serde_json::from_value(json!(code.to_string())).unwrap();
            assert_eq!(from_text, v, "{} from \"{code}\"", T::TYPE_NAME);
        }
        assert!(name.parse::<T>().is_ok());
    }
    for bad in [
        json!("NoSuchValue"),
        json!(999),
        json!(-1),
        json!(""),
        json!(true),
        json!(1.5),
    ] {
        let err = serde_json::from_value::<T>(bad.clone())
            .expect_err(&format!("{} accepted {bad}", T::TYPE_NAME))
            .to_string();
        assert!(err.contains(T::TYPE_NAME), "{err}");
        for &v in T::all() {
            assert!(err.contains(v.as_str()), "{err} lacks {}", v.as_str());
        }
    }
}

#[test]
fn every_enum_accepts_ints_and_names_and_rejects_unknown_values() {
    check_enum::<ModeOfTransport>();
    check_enum::<IdentificationType>();
    check_enum::<OperationType>();
    check_enum::<FullEmptyIndicator>();
    check_enum::<ActionType>();
    check_enum::<TerminalReleaseActionType>();
    check_enum::<PickupRightActionType>();
    check_enum::<PartyType>();
    check_enum::<NotificationType>();
    check_enum::<LightColor>();
    check_enum::<NotificationEvent>();
}

#[test]
fn enum_codes_follow_the_seed_and_the_openapi() {
    let codes = |all: &[ModeOfTransport]| {
        all.iter()
            .map(|v| (v.as_str(), v.code()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes(ModeOfTransport::ALL),
        [
            ("Unknown", Some(0)),
            ("Truck", Some(1)),
            ("Barge", Some(2)),
            ("Rail", Some(3))
        ]
    );
    let ids: Vec<_> = IdentificationType::ALL
        .iter()
        .map(|v| (v.as_str(), v.code()))
        .collect();
    assert_eq!(
        ids,
        [
            ("NxtEntityId", Some(0)),
            ("Tin", Some(1)),
            ("Eori", Some(2)),
            ("Duns", Some(3)),
            ("SCAC", Some(4)),
            ("Apcs", Some(5)),
            ("ExternalId", Some(6)),
            ("Alfapass", None)
        ]
    );
    assert_eq!(NotificationEvent::ALL.len(), 29);
    assert_eq!(
        NotificationEvent::from_code(28),
        Some(NotificationEvent::AlfapassPickUpValidation)
    );
    assert_eq!(
        serde_json::to_value(FullEmptyIndicator::Empty).unwrap(),
        json!("empty")
    );
    assert_eq!(
        serde_json::from_value::<IdentificationType>(json!("alfapass")).unwrap(),
        IdentificationType::Alfapass
    );
    assert_eq!(
        serde_json::from_value::<IdentificationType>(json!(" scac ")).unwrap(),
        IdentificationType::Scac
    );
}

#[test]
fn unknown_enum_value_error_is_readable() {
    let err = serde_json::from_value::<ModeOfTransport>(json!("plane"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "unknown ModeOfTransport `plane`; allowed: 0 (Unknown), 1 (Truck), 2 (Barge), 3 (Rail)"
    );
    let err = serde_json::from_value::<ModeOfTransport>(json!(7))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("unknown ModeOfTransport `7`"), "{err}");
    // Inside a body the field path and position come with it.
    let err = serde_json::from_str::<IngestionRequest>(
        r#"{"portLoCode":"BEANR","equipmentNumber":"MSCU1234565","timestamp":"2023-12-20T08:14:31Z","terminalCode":"869","operationType":"Lift"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "unknown OperationType `Lift`; allowed: 0 (Discharge), 1 (GateIn), 2 (GateOut)"
        ),
        "{err}"
    );
}

#[cfg(feature = "openapi")]
#[test]
fn enum_schema_lists_names_and_documents_ints() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(ModeOfTransport::schema()).unwrap();
    assert_eq!(schema["type"], "string");
    assert_eq!(schema["enum"], json!(["Unknown", "Truck", "Barge", "Rail"]));
    let description = schema["description"].as_str().unwrap();
    assert!(description.contains("1 (Truck)"), "{description}");
    let schema = serde_json::to_value(FullEmptyIndicator::schema()).unwrap();
    assert_eq!(schema["enum"], json!(["full", "empty"]));
}

/// Parse `body`, serialize it back, and compare with `expected` (the body with the value
/// normalisations we make: enum names, `Z` timestamps).
fn round_trip<T: serde::Serialize + DeserializeOwned + std::fmt::Debug + PartialEq>(
    body: Value,
    expected: Value,
) -> T {
    let parsed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, expected);
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(again, parsed);
    parsed
}

#[test]
fn seed_terminal_release_round_trips() {
    for action in ["Release", "Block", "Scanning"] {
        let body = json!({
            "equipmentNumber": "MSCU1234565", "portLoCode": "BEANR", "terminalCode": "869",
            "actionType": action, "releaseDateTimeUtc": "2023-12-20T08:14:31.123Z", "stayNumber": "123456"
        });
        round_trip::<TerminalReleaseRequest>(body.clone(), body);
    }
    // Ints, lower case, unknown fields and an offset timestamp are accepted and normalised.
    let parsed = round_trip::<TerminalReleaseRequest>(
        json!({"equipmentNumber": "MSCU1234565", "portLoCode": "BEANR", "terminalCode": "869",
               "actionType": 2, "releaseDateTimeUtc": "2023-12-20T09:14:31+01:00", "somethingNew": 1}),
        json!({"equipmentNumber": "MSCU1234565", "portLoCode": "BEANR", "terminalCode": "869",
               "actionType": "Block", "releaseDateTimeUtc": "2023-12-20T08:14:31Z"}),
    );
    assert_eq!(parsed.stay_number, None);
    let naive: TerminalReleaseRequest = serde_json::from_value(json!({"equipmentNumber": "X", "portLoCode": "BEANR",
        "terminalCode": "869", "actionType": "release", "releaseDateTimeUtc": "2023-12-20T08:14:31.5"})).unwrap();
    assert_eq!(
        lenient_utc::format(&naive.release_date_time_utc),
        "2023-12-20T08:14:31.5Z"
    );
}

#[test]
fn seed_ingestion_bodies_round_trip() {
    let discharge = json!({"portLoCode": "BEANR", "equipmentNumber": "MSCU1234565", "equipmentStatus": "import",
        "timestamp": "2023-12-20T08:14:31.123Z", "terminalCode": "869", "stayNumber": "123456",
        "operationType": "Discharge", "fullEmptyIndicator": "full"});
    round_trip::<IngestionRequest>(discharge.clone(), discharge);
    let gate_in = json!({"portLoCode": "BEANR", "equipmentNumber": "MSCU1234565", "billOfLadingNumbers": ["BL1"],
        "equipmentStatus": "import", "timestamp": "2023-12-20T08:14:31.123Z", "terminalCode": "869",
        "stayNumber": "123456", "operationType": "GateIn"});
    round_trip::<IngestionRequest>(gate_in.clone(), gate_in);
    let gate_out = json!({"portLoCode": "BEANR", "equipmentNumber": "MSCU1234565", "billOfLadingNumbers": ["BL1"],
        "stayNumber": "123456", "terminalCode": "869", "timestamp": "2023-12-20T08:14:31.123Z",
        "operationType": "GateOut", "modeOfTransport": 1});
    let parsed: IngestionRequest = round_trip(gate_out.clone(), {
        let mut e = gate_out;
        e["modeOfTransport"] = json!("Truck");
        e
    });
    assert_eq!(parsed.mode_of_transport, Some(ModeOfTransport::Truck));
}

#[test]
fn seed_validation_bodies_round_trip() {
    let truck = json!({"alfapassNumber": "12345678", "releaseIdentification": [{"equipmentNumber": "MSCU1234565",
        "billOfLadingNumbers": ["BL1"], "carrier": {"identificationType": 0, "identificationCode": "NXT1"}}]});
    let mut expected = truck.clone();
    expected["releaseIdentification"][0]["carrier"]["identificationType"] = json!("NxtEntityId");
    round_trip::<TruckPickupValidationRequest>(truck, expected);

    let barge = json!({"equipmentNumber": "MSCU1234565", "billOfLadingNumbers": [],
        "releaseId": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "meansOfTransport": "barge",
        "transportOperator": {"identificationType": 0, "identificationCode": "NXT2"},
        "carrier": {"identificationType": "eori", "identificationCode": "BE123"}});
    let mut expected = barge.clone();
    expected["meansOfTransport"] = json!("Barge");
    expected["transportOperator"]["identificationType"] = json!("NxtEntityId");
    expected["carrier"]["identificationType"] = json!("Eori");
    round_trip::<BargeRailPickupValidationRequest>(barge, expected);

    let ident = json!({"identificationType": "Alfapass", "identificationCode": "12345678"});
    round_trip::<IdentificationValidationRequest>(ident.clone(), ident);

    let owner = json!({"portLoCode": "BEANR", "ownerNxtEntityId": "NXT3", "alfapassNumber": "12345678",
        "equipmentNumber": "MSCU1234565"});
    round_trip::<TruckOwnershipValidationRequest>(owner.clone(), owner);
}

#[test]
fn party_action_bodies_round_trip() {
    let release = json!({"releaseIdentification": "REL-1", "terminalCode": "869", "actionType": "Release",
        "reasonForAction": "paid", "billOfLadingNumbers": ["BL1"],
        "releaseFrom": {"identificationType": "NxtEntityId", "identificationCode": "NXTAGENT"},
        "releaseTo": {"identificationType": "NxtEntityId", "identificationCode": "NXTFWD"},
        "carrier": {"identificationType": "SCAC", "identificationCode": "MSCU"},
        "releaseDateTimeUtc": "2023-12-20T08:14:31Z", "expirationDateTimeUtc": "2024-02-18T08:14:31Z",
        "validFrom": "2023-12-20T08:14:31Z", "equipmentNumber": "MSCU1234565", "portLoCode": "BEANR",
        "releaseId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"});
    round_trip::<ReleaseRightActionRequest>(release.clone(), release);
    let minimal = json!({"actionType": 1});
    round_trip::<ReleaseRightActionRequest>(minimal, json!({"actionType": "Accept"}));

    let pickup = json!({"terminalCode": "869", "billOfLadingNumbers": ["BL1"], "releaseIdentification": "REL-1",
        "pickupParty": {"partyType": "Truck", "identificationType": "Alfapass", "identificationCode": "12345678"},
        "timestamp": "2023-12-20T08:14:31Z", "actionType": "Assign", "equipmentNumber": "MSCU1234565",
        "portLoCode": "BEANR"});
    round_trip::<SubmitPickupRightRequest>(pickup.clone(), pickup);

    let barge = json!({"terminalCode": "869", "releaseIdentifier": {"billOfLadingNumbers": ["BL1"],
        "equipmentNumber": "MSCU1234565", "releaseIdentification": "REL-1"},
        "dataBrokerNxtEntityId": "NXTBARGE", "actionType": "Revoke"});
    round_trip::<SubmitBargeRailPickupRightRequest>(barge.clone(), barge);
}

#[test]
fn missing_fields_and_wrong_types_are_errors_naming_the_field() {
    let err = serde_json::from_value::<TerminalReleaseRequest>(
        json!({"portLoCode": "BEANR", "terminalCode": "869",
        "actionType": "Release", "releaseDateTimeUtc": "2023-12-20T08:14:31Z"}),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "missing field `equipmentNumber`");
    let err = serde_json::from_value::<TerminalReleaseRequest>(
        json!({"equipmentNumber": "X", "portLoCode": "BEANR",
        "terminalCode": "869", "actionType": "Release", "releaseDateTimeUtc": "yesterday"}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("invalid timestamp `yesterday`"), "{err}");
    assert!(serde_json::from_value::<BargeRailPickupValidationRequest>(
        json!({"equipmentNumber": "X",
        "billOfLadingNumbers": "BL1", "meansOfTransport": 2,
        "transportOperator": {"identificationType": 0, "identificationCode": "N"}})
    )
    .is_err());
}

#[test]
fn problem_details_exact_json() {
    let problem = ProblemDetails::new(
        400,
        "One or more validation errors occurred.",
        "equipmentNumber: bad check digit",
    )
    .with_field_error("equipmentNumber", "check digit 4 expected, got 5")
    .with_instance("/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release");
    assert_eq!(
        serde_json::to_string(&problem).unwrap(),
        r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,"detail":"equipmentNumber: bad check digit","instance":"/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release","errors":{"equipmentNumber":["check digit 4 expected, got 5"]}}"#
    );
    assert_eq!(
        serde_json::to_string(&ProblemDetails::new(
            401,
            "Unauthorized",
            "Access denied due to missing subscription key."
        ))
        .unwrap(),
        r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Unauthorized","status":401,"detail":"Access denied due to missing subscription key."}"#
    );
    // ASP.NET's validation problem (no detail, traceId, extension members) parses.
    let parsed: ProblemDetails =
        serde_json::from_value(json!({"type": "t", "title": "x", "status": 400,
        "traceId": "00-abc", "errors": {"$.actionType": ["bad"]}, "extra": true}))
        .unwrap();
    assert_eq!(parsed.detail, "");
    assert_eq!(parsed.trace_id.as_deref(), Some("00-abc"));
}

#[test]
fn accepted_response_exact_json() {
    let accepted = AcceptedResponse {
        public_reference_id: "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
        external_reference_id: Some("op-1".into()),
    };
    assert_eq!(
        serde_json::to_string(&accepted).unwrap(),
        r#"{"publicReferenceId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","externalReferenceId":"op-1"}"#
    );
    let bare = AcceptedResponse {
        public_reference_id: "x".into(),
        external_reference_id: None,
    };
    assert_eq!(
        serde_json::to_string(&bare).unwrap(),
        r#"{"publicReferenceId":"x"}"#
    );
}

#[test]
fn responses_tolerate_nulls_and_round_trip() {
    let truck: TruckPickupValidationResponse = serde_json::from_value(json!({"alfapassNumber": "1",
        "releaseIdentification": [{"isValid": false, "errorMessages": null, "status": "BLOCKED",
        "greenLights": [{"greenLightName": "Customs", "greenLightValue": "NOTRELEASED", "greenLightColor": "GREY"}],
        "equipmentNumber": "MSCU1234565", "billOfLadingNumbers": null}]}))
    .unwrap();
    let result = &truck.release_identification[0];
    assert_eq!(result.error_messages, "");
    assert_eq!(result.green_lights[0].green_light_color, LightColor::Grey);
    assert!(result.bill_of_lading_numbers.is_empty());

    let ownership = json!({"isValid": false, "errorMessages": ["a", "b"], "ownerNxtEntityId": "N",
        "equipmentNumber": "MSCU1234565"});
    round_trip::<TruckOwnershipValidationResponse>(ownership.clone(), ownership);

    let phone = json!({"searchFilter": {"eori": "BE1"}, "phoneBookItems": [{"addresses": [{"city": "Antwerp"}],
        "nxtEntityId": "N", "name": "PSA"}], "totalRows": 1, "totalPages": 1, "publicReferenceId": "p"});
    round_trip::<PhoneBookResponse>(phone.clone(), phone);

    let envelope = json!({"assetId": CPU_ASSET_ID, "id": "MSCU1234565", "publicReferenceId": "p",
        "receiverId": "NXT1", "senderId": null, "timestamp": "2023-12-20T08:14:31.1234567Z",
        "type": "ReleaseLight", "event": "ReleaseLightChanged", "errors": [], "warnings": [],
        "body": {"greenLightName": "CommercialRelease", "originalValue": "UNKNOWN", "newValue": "OK"}});
    let notification: Notification = round_trip(envelope.clone(), envelope);
    let detail = NotificationDetail {
        nxt_entity_id: "NXT1".into(),
        equipment_number: "MSCU1234565".into(),
        public_reference_id: "p".into(),
        external_reference_id: None,
        stored_on: notification.timestamp,
        message: serde_json::to_string(&notification).unwrap(),
        type_: NotificationType::ReleaseLight,
        event: NotificationEvent::ReleaseLightChanged,
        release_id: None,
    };
    assert_eq!(detail.notification().unwrap(), notification);
    let json = serde_json::to_value(&detail).unwrap();
    assert_eq!(json["type"], "ReleaseLight");
    assert_eq!(json["storedOn"], "2023-12-20T08:14:31.1234567Z");

    let release = json!({"releaseId": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "equipmentNumber": "MSCU1234565",
        "lights": [{"greenLightName": "Customs", "greenLightValue": "RELEASED", "color": "Green",
        "dateLastUpdated": "2023-12-20T08:14:31Z"}], "meansOfTransport": "Truck",
        "transportOperator": {"name": "Trucker", "cpuRoles": ["TransportOperator"]}});
    round_trip::<ReleaseDetail>(release.clone(), release);
}

#[test]
fn oauth_types_are_snake_case_and_redact_secrets() {
    let token: TokenResponse =
        serde_json::from_value(json!({"access_token": "eyJsecret", "token_type": "Bearer",
        "expires_in": 3600, "refresh_token": "rt-secret"}))
        .unwrap();
    let debug = format!("{token:?}");
    assert!(
        !debug.contains("eyJsecret") && !debug.contains("rt-secret"),
        "{debug}"
    );
    assert_eq!(token.access_token.expose(), "eyJsecret");
    assert_eq!(
        serde_json::to_string(&token).unwrap(),
        r#"{"access_token":"eyJsecret","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-secret"}"#
    );
    let request = TokenRequest {
        grant_type: "password".into(),
        username: Some("u".into()),
        password: Some(Sensitive::new("pw-secret")),
        client_id: Some("c".into()),
        client_secret: Some(Sensitive::new("cs-secret")),
        scope: None,
        refresh_token: None,
    };
    assert!(!format!("{request:?}").contains("secret\""));
    assert_eq!(
        serde_urlencoded::to_string(&request).unwrap(),
        "grant_type=password&username=u&password=pw-secret&client_id=c&client_secret=cs-secret"
    );
    assert_eq!(
        serde_json::to_string(&OAuthError::new("invalid_grant", "wrong password")).unwrap(),
        r#"{"error":"invalid_grant","error_description":"wrong password"}"#
    );
}

#[test]
fn query_types_use_the_seed_names_and_read_the_openapi_ones() {
    let q = EntitySearchQuery {
        eori: Some("BE1".into()),
        page_size: Some(10),
        ..Default::default()
    };
    assert_eq!(
        serde_urlencoded::to_string(&q).unwrap(),
        "EORI=BE1&pageSize=10"
    );
    let read: EntitySearchQuery =
        serde_urlencoded::from_str("Eori=BE1&EntityName=psa&Page=2").unwrap();
    assert_eq!(read.eori.as_deref(), Some("BE1"));
    assert_eq!(read.entity_name.as_deref(), Some("psa"));
    assert_eq!(read.page, Some(2));
    let n: NotificationsQuery =
        serde_urlencoded::from_str("NotificationEvent=26&equipmentNumber=X").unwrap();
    assert_eq!(
        n.notification_event,
        Some(NotificationEvent::ReleaseLightChanged)
    );
    let n = NotificationsQuery {
        notification_event: Some(NotificationEvent::GateOut),
        ..Default::default()
    };
    assert_eq!(
        serde_urlencoded::to_string(&n).unwrap(),
        "notificationEvent=GateOut"
    );
    assert!(serde_urlencoded::from_str::<NotificationsQuery>("notificationEvent=Nope").is_err());
}

#[cfg(feature = "openapi")]
#[test]
fn openapi_collects_nested_wire_enums() {
    use utoipa::OpenApi;
    #[derive(OpenApi)]
    #[openapi(components(schemas(IngestionRequest, Notification, ReleaseDetail, TokenResponse)))]
    struct Doc;
    let doc = serde_json::to_value(Doc::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ModeOfTransport",
        "OperationType",
        "FullEmptyIndicator",
        "NotificationEvent",
        "LightColor",
    ] {
        assert_eq!(schemas[name]["type"], "string", "{name} missing: {schemas}");
    }
    let mode = schemas["IngestionRequest"]["properties"]["modeOfTransport"].to_string();
    assert!(
        mode.contains("#/components/schemas/ModeOfTransport"),
        "{mode}"
    );
    let token = &schemas["TokenResponse"]["properties"];
    assert_eq!(token["access_token"]["type"], "string");
    assert_eq!(token["refresh_token"]["type"], json!(["string", "null"]));
    assert!(schemas.get("Sensitive").is_none());
    let required = schemas["IngestionRequest"]["required"].as_array().unwrap();
    assert!(required.contains(&json!("operationType")) && !required.contains(&json!("stayNumber")));
}
