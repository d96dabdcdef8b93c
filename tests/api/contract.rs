//! The contract test: every seed call goes through a real simulator over HTTP, and every answer
//! is read into the typed `cpu_contract` struct the gateway's client would read it into.
//!
//! - Strict: a body is parsed into its type and written back; the two JSON documents must be
//!   equal. A field the type does not know would be dropped on the way (unknown fields are
//!   refused), a field the type misnames or mistypes fails the parse.
//! - Notifications: each `message` is parsed as the envelope, and its `body` in the shape its
//!   event carries (`NotificationBody::from_event`), strictly too; every event the simulator
//!   sends must have a known shape.
//! - NxtPort's own OpenAPI (`openapi/reference/nxtport-cpu-v1.openapi.yaml`): the bodies it
//!   describes are validated against its schemas with the `jsonschema` crate.

use std::collections::BTreeSet;

use cpu_contract::{
    AcceptedResponse, BargeRailPickupValidationResponse, BodyKind, Notification, NotificationBody,
    NotificationDetail, NotificationEvent, PhoneBookResponse, ProblemDetails, ReleaseDetail,
    TokenResponse, TruckOwnershipValidationResponse, TruckPickupValidationResponse,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::sim_helpers::*;

/// Parse `body` into `T` and write it back: the result must be the same JSON.
#[track_caller]
fn strict<T: DeserializeOwned + Serialize>(what: &str, body: &Value) -> T {
    let parsed: T = serde_path_to_error::deserialize(body)
        .unwrap_or_else(|e| panic!("{what}: does not parse as its contract type: {e}\n{body:#}"));
    let back = serde_json::to_value(&parsed).expect("serialize");
    if &back != body {
        panic!(
            "{what}: the contract type does not read the body as it is (unknown, renamed or \
             reshaped field)\nsent:      {body}\nround trip: {back}"
        );
    }
    parsed
}

/// NxtPort's OpenAPI document, and a validator for one of its schemas.
struct Reference {
    doc: Value,
}

impl Reference {
    fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/reference/nxtport-cpu-v1.openapi.yaml"
        );
        let text = std::fs::read_to_string(path).expect("read the reference OpenAPI");
        let doc: Value = serde_yaml::from_str(&text).expect("parse the reference OpenAPI");
        Reference { doc }
    }

    /// The schema of a response in the reference (`path` as the document writes it).
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Value {
        let schema = &self.doc["paths"][path][method]["responses"][status.to_string()]["content"]
            ["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "the reference has no schema for {method} {path} {status}"
        );
        schema.clone()
    }

    /// A named component schema.
    fn component(&self, name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// Validate `body` against `schema` (resolving `#/components/...` in the document).
    #[track_caller]
    fn check(&self, what: &str, schema: Value, body: &Value) {
        let mut root = schema;
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::validator_for(&root).expect("compile the reference schema");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: does not match NxtPort's OpenAPI:\n{}\n{body:#}",
            errors.join("\n")
        );
    }
}

/// A 202 of an asynchronous call: `BaseApiResponse` in the reference.
#[track_caller]
fn accepted(reference: &Reference, what: &str, path: &str, method: &str, r: &Resp) -> String {
    r.expect(202);
    let a: AcceptedResponse = strict(what, &r.body);
    reference.check(what, reference.response_schema(method, path, 202), &r.body);
    a.public_reference_id
}

const TERMINAL_RELEASE: &str =
    "/{port-locode}/containers/{equipment-number}/import/terminal-release";
const RELEASE_RIGHTS: &str = "/{port-locode}/containers/{equipment-number}/import/release-rights";
const PICKUP_RIGHTS: &str = "/{port-locode}/containers/{equipment-number}/import/pickup-rights";
const RELEASE_DETAIL: &str = "/{port-locode}/containers/import/release-rights/{equipment-number}";

#[actix_web::test]
async fn every_seed_call_answers_in_the_contract_types_and_nxtports_schemas() {
    let reference = Reference::load();
    let sim = Sim::start().await;

    // Token endpoint (password grant).
    let p = sim.party("psa").clone();
    let r = sim
        .token(&[
            ("grant_type", "password"),
            ("username", &p.username),
            ("password", &p.password),
            ("client_id", &p.client_id),
            ("client_secret", &p.client_secret),
        ])
        .await;
    r.expect(200);
    let _: TokenResponse = strict("token", &r.body);

    let c = sim.cast().await;
    let (eq, eq2, eq3) = (container(7101), container(7102), container(7103));

    // Release rights (shipping agent, then the transport operator) and a pickup right.
    let r = c.agent.release_to(&eq, &c.trucker.party).await;
    accepted(&reference, "release", RELEASE_RIGHTS, "put", &r);
    let r = c.trucker.release_rights(&eq, "Accept", json!({})).await;
    accepted(&reference, "accept", RELEASE_RIGHTS, "put", &r);
    let r = c.trucker.pickup(&eq, "Assign", "AP1000001").await;
    accepted(&reference, "pickup right", PICKUP_RIGHTS, "put", &r);
    let r = c.agent.release_to(&eq2, &c.barge.party).await;
    accepted(&reference, "release to barge", RELEASE_RIGHTS, "put", &r);
    c.barge
        .release_rights(&eq2, "Accept", json!({}))
        .await
        .reference();
    let r = c.barge.barge_rail_pickup(&eq2).await;
    accepted(
        &reference,
        "barge pickup right",
        "/pickup-rights/barge-rail",
        "put",
        &r,
    );

    // Terminal events: discharge, gate in, terminal release (Release, Scanning, Block).
    for (e, op, extra) in [
        (&eq, "Discharge", json!({ "fullEmptyIndicator": "full" })),
        (&eq2, "Discharge", json!({})),
        (
            &eq3,
            "GateIn",
            json!({ "equipmentStatus": "import", "billOfLadingNumbers": ["BL-3"] }),
        ),
    ] {
        let r = c.psa.ingest(e, op, extra).await;
        r.expect(202);
        let _: AcceptedResponse = strict(op, &r.body);
    }
    sim.customs(&eq, "RELEASED").await;
    sim.customs(&eq2, "RELEASED").await;
    for (e, action) in [
        (&eq, "Release"),
        (&eq2, "Scanning"),
        (&eq2, "Release"),
        (&eq3, "Block"),
    ] {
        let r = c.psa.terminal_release(e, action).await;
        accepted(&reference, action, TERMINAL_RELEASE, "put", &r);
    }

    // Synchronous validations.
    let r = c.psa.truck_validation("AP1000001", &eq).await;
    r.expect(200);
    let v: TruckPickupValidationResponse = strict("truck validation", &r.body);
    assert!(v.release_identification[0].is_valid, "{}", r.text);
    reference.check(
        "truck validation",
        reference.response_schema(
            "post",
            "/{port-locode}/sync-validation/pickup/containers",
            200,
        ),
        &r.body,
    );
    let r = c
        .psa
        .barge_rail_validation(&eq2, json!("Barge"), &c.barge.party)
        .await;
    r.expect(200);
    let _: BargeRailPickupValidationResponse = strict("barge/rail validation", &r.body);
    let r = c
        .psa
        .call(
            Method::POST,
            &format!("/certified-pickup/v1/{LOCODE}/validation/pickup/identification"),
            Some(&json!({"identificationType": "Alfapass", "identificationCode": "AP1000001"})),
        )
        .await;
    r.expect(200);
    let _: bool = strict("identification validation", &r.body);
    reference.check(
        "identification validation",
        reference.response_schema(
            "post",
            "/{port-locode}/validation/pickup/identification",
            200,
        ),
        &r.body,
    );
    let trucker_id = c.trucker.party.nxt_entity_id.clone();
    let r = c.psa.ownership(&trucker_id, Some("AP1000001"), &eq).await;
    r.expect(200);
    let o: TruckOwnershipValidationResponse = strict("ownership validation", &r.body);
    let release_id = o.release_id.expect("the trucker holds a release right");

    // Release detail: asked (202, answered by notification) and read by id (200).
    let r = c
        .psa
        .call(
            Method::GET,
            &format!("/certified-pickup/v1/{LOCODE}/containers/import/release-rights/{eq}"),
            None,
        )
        .await;
    accepted(&reference, "release detail", RELEASE_DETAIL, "get", &r);
    let r = c
        .psa
        .call(
            Method::GET,
            &format!("/certified-pickup/v1/release-rights?releaseId={release_id}"),
            None,
        )
        .await;
    r.expect(200);
    let _: ReleaseDetail = strict("release right by id", &r.body);
    reference.check(
        "release right by id",
        reference.response_schema("get", "/release-rights", 200),
        &r.body,
    );

    // Company registry.
    let r = c
        .psa
        .call(
            Method::GET,
            "/certified-pickup/v1/entities?entityName=a&pageSize=5",
            None,
        )
        .await;
    r.expect(200);
    let _: PhoneBookResponse = strict("entities", &r.body);
    reference.check(
        "entities",
        reference.response_schema("get", "/entities", 200),
        &r.body,
    );

    // A terminal block on a released container.
    let r = c.psa.terminal_release(&eq2, "Block").await;
    accepted(&reference, "Block", TERMINAL_RELEASE, "put", &r);

    // Gate out, then everything each party was told.
    let r = c
        .psa
        .ingest(&eq, "GateOut", json!({ "modeOfTransport": 1 }))
        .await;
    r.expect(202);
    let _: AcceptedResponse = strict("GateOut", &r.body);
    let mut seen = BTreeSet::new();
    for (who, caller) in [
        ("psa", &c.psa),
        ("agent", &c.agent),
        ("trucker", &c.trucker),
        ("barge", &c.barge),
    ] {
        for e in [&eq, &eq2, &eq3] {
            let r = caller.notifications(&format!("equipmentNumber={e}")).await;
            if r.status == 405 {
                continue; // nothing for this party on this container
            }
            r.expect(200);
            let list: Vec<NotificationDetail> = strict(&format!("notifications of {who}"), &r.body);
            reference.check(
                "notifications",
                reference.response_schema("get", "/notifications", 200),
                &r.body,
            );
            for (detail, raw) in list.iter().zip(r.body.as_array().into_iter().flatten()) {
                let what = format!("{who} {} {}", detail.event, detail.equipment_number);
                let message: Value = serde_json::from_str(&detail.message).expect("message JSON");
                let envelope: Notification = strict(&format!("{what} envelope"), &message);
                assert_eq!(envelope.event, detail.event, "{what}");
                let kind = BodyKind::of(envelope.event);
                assert_ne!(
                    kind,
                    BodyKind::Other,
                    "{what}: an event without a body shape"
                );
                let body = NotificationBody::from_event(envelope.event, envelope.body.clone())
                    .unwrap_or_else(|e| panic!("{what}: body: {e}\n{:#}", envelope.body));
                assert_eq!(body.kind(), kind, "{what}");
                let back = serde_json::to_value(&body).expect("serialize body");
                assert_eq!(back, envelope.body, "{what}: body round trip");
                if let NotificationBody::ReleaseDetail(_) = body {
                    reference.check(
                        &what,
                        reference.component("TerminalReleaseRightDetailResponse"),
                        &envelope.body,
                    );
                }
                assert_eq!(raw["event"], json!(detail.event.as_str()));
                seen.insert(envelope.event);
            }
        }
    }
    for event in [
        NotificationEvent::Release,
        NotificationEvent::AcceptedByNextParty,
        NotificationEvent::DigitalKeyCreated,
        NotificationEvent::ReleaseLightChanged,
        NotificationEvent::TerminalRelease,
        NotificationEvent::TerminalScan,
        NotificationEvent::TerminalBlocked,
        NotificationEvent::ReleaseLightRegistered,
        NotificationEvent::GetReleaseDetail,
        NotificationEvent::GateOut,
    ] {
        assert!(seen.contains(&event), "no {event} notification in {seen:?}");
    }

    // An error: ProblemDetails, as the reference describes it.
    let mut bad = c.psa.terminal_release_body(&eq3, "Release");
    bad["actionType"] = json!("Nope");
    let r = c
        .psa
        .call(Method::PUT, &terminal_release_path(&eq3), Some(&bad))
        .await;
    r.expect(400);
    let _: ProblemDetails = strict("problem", &r.body);
    reference.check(
        "problem",
        reference.response_schema("put", TERMINAL_RELEASE, 400),
        &r.body,
    );
}
