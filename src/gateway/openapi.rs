//! The gateway's OpenAPI document ([`GatewayApiDoc`]), served at `/openapi.json` and rendered at
//! `/docs` (Scalar from a CDN; the document itself is served locally).

use super::error::{ErrorBody, ErrorEnvelope};
use super::routes::{
    audit, connections, events, health, notifications, operations, registry, validations, webhooks,
};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The gateway API (`cpu-gateway serve`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cpu-gateway",
        description = "Typed, durable gateway to NxtPort Certified Pick-up (CPu) for terminal operators. \
Writes are stored in an outbox and answered 202 with an operation id; delivery to NxtPort happens \
in the background, in order per container, within the 500 calls/min budget. Errors use one \
envelope: {\"error\": {\"code\", \"message\", \"field\"?}}."
    ),
    paths(
        connections::put_connection,
        connections::get_connection,
        connections::delete_connection,
        events::post_terminal_release,
        events::post_discharge,
        events::post_gate_in,
        events::post_gate_out,
        operations::get_operation,
        operations::list_operations,
        operations::retry_operation,
        operations::cancel_operation,
        notifications::list_notifications,
        webhooks::receive,
        validations::truck_pickup,
        validations::barge_rail_pickup,
        validations::alfapass,
        validations::truck_release_right,
        registry::release_detail,
        registry::companies,
        audit::list_audit,
        health::health,
        health::ready,
        health::metrics,
    ),
    components(schemas(
        ErrorEnvelope,
        ErrorBody,
        connections::ConnectionInput,
        connections::ConnectionView,
        events::TerminalReleaseInput,
        events::DischargeInput,
        events::GateInInput,
        events::GateOutInput,
        events::EquipmentStatus,
        events::Accepted,
        operations::OperationView,
        operations::PublicStatus,
        crate::store::notifications::StoredNotification,
        webhooks::WebhookReceipt,
        validations::IdentificationInput,
        validations::PickupContainerInput,
        validations::TruckPickupValidationInput,
        validations::BargeRailPickupValidationInput,
        validations::AlfapassValidationInput,
        validations::AlfapassValidation,
        validations::TruckReleaseRightValidationInput,
        registry::ReleaseDetailAnswer,
        crate::store::AuditEntry,
        health::Health,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "connections", description = "The entity's NxtPort CPu credentials (secrets write-only)"),
        (name = "events", description = "Terminal events, durably queued for NxtPort"),
        (name = "operations", description = "Delivery state of queued events"),
        (name = "validations", description = "Synchronous CPu checks passed through to NxtPort"),
        (name = "notifications", description = "Notifications from NxtPort (webhook + polling)"),
        (name = "audit", description = "Who did what for the entity (support's acts included)"),
        (name = "operability", description = "Health, readiness, metrics")
    )
)]
pub struct GatewayApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cgw_...")
                    .description(Some(
                        "Token from `cpu-gateway token create`; support tokens may add X-Act-For-Entity",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document the gateway serves: its own API and Data Sources, with the statuses the
/// request edge can answer on every operation ([`edge_statuses`]) and the input patterns.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = GatewayApiDoc::openapi();
    doc.merge(crate::sources::SourcesApiDoc::openapi());
    edge_statuses(&mut doc);
    input_patterns(&mut doc);
    doc
}

/// Statuses that the request edge (not the handler) can answer, added where an operation does
/// not document them yet, each with the error envelope:
/// - every `/v1` operation: 400 (malformed query or body), 401 (token), 403 (role, or
///   `X-Act-For-Entity` without support), 404 (`X-Act-For-Entity` naming no entity), 429 (the
///   NxtPort budget of the key had no slot in time, on calls that reach NxtPort; or the
///   caller's quota), 500;
/// - with a request body: 408 (body deadline), 413 (size), 415 (content type);
/// - calls that reach NxtPort or need the entity's connection (validations, release details,
///   companies, connections, Data Sources): 409 (no connection), 422 (NxtPort refused the
///   input), 502 (NxtPort refused the credentials), 503 (NxtPort unavailable).
fn edge_statuses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let envelope = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let upstream = [
            "/v1/pickup-validations",
            "/v1/alfapass-validations",
            "/v1/release-right-validations",
            "/v1/release-details",
            "/v1/companies",
            "/v1/connections",
            "/v1/data-sources",
        ]
        .iter()
        .any(|p| path.starts_with(p));
        let webhook = path.starts_with("/v1/webhooks/");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let mut add = vec![
                ("400", "Invalid input"),
                ("401", "Missing or invalid token"),
                ("500", "Internal error (opaque)"),
            ];
            if !webhook {
                add.extend([
                    ("403", "The token's role may not do this"),
                    ("404", "Not found (or X-Act-For-Entity names no entity)"),
                    (
                        "429",
                        if upstream {
                            "Over the caller's quota, or the key's NxtPort budget had no slot in time; see Retry-After"
                        } else {
                            "Over the caller's quota; see Retry-After"
                        },
                    ),
                ]);
            }
            if op.request_body.is_some() {
                add.extend([
                    ("408", "The request body did not arrive in time"),
                    ("413", "Request body too large"),
                    ("415", "Content type must be application/json"),
                ]);
            }
            if upstream {
                add.extend([
                    ("409", "The entity has no NxtPort connection"),
                    ("422", "NxtPort refused the request"),
                    ("502", "NxtPort refused the entity's credentials"),
                    ("503", "NxtPort is unavailable; retry later"),
                ]);
            }
            for (code, description) in add {
                if !op.responses.responses.contains_key(code) {
                    op.responses
                        .responses
                        .insert(code.to_owned(), envelope(description).into());
                }
            }
        }
    }
}

/// Patterns of the identifiers the gateway parses at its edge, on every schema property of that
/// name, so a generated client (or schemathesis) sends what the gateway accepts.
fn input_patterns(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Object, Schema};
    use utoipa::openapi::RefOr;
    const PATTERNS: [(&str, &str); 8] = [
        // ISO 6346: owner code, category U/J/Z, serial, check digit (verified by the gateway).
        ("equipmentNumber", "^[A-Z]{3}[UJZ][0-9]{7}$"),
        // UN/LOCODE: country, then three letters or digits 2-9.
        ("portLoCode", "^[A-Z]{2}[A-Z2-9]{3}$"),
        // The lengths are the core's (`cpu_simulator::ids`): terminal code 16, Alfapass 20.
        ("terminalCode", "^[A-Za-z0-9]{1,16}$"),
        // RFC 3339 in UTC, years 1970..=9999 (the seconds field stops at 59).
        ("releaseDateTimeUtc", UTC_PATTERN),
        ("timestamp", UTC_PATTERN),
        ("expirationDateTimeUtc", UTC_PATTERN),
        ("alfapassNumber", "^[A-Za-z0-9]{1,20}$"),
        ("ownerNxtEntityId", "^NXT[0-9]{11}$"),
    ];
    fn patch(schema: &mut RefOr<Schema>) {
        let RefOr::T(Schema::Object(object)) = schema else {
            return;
        };
        for (name, prop) in object.properties.iter_mut() {
            if let Some((_, pattern)) = PATTERNS.iter().find(|(n, _)| n == name) {
                if let RefOr::T(Schema::Object(o)) = prop {
                    set_pattern(o, pattern);
                }
            }
        }
    }
    fn set_pattern(o: &mut Object, pattern: &str) {
        if o.pattern.is_none() {
            o.pattern = Some(pattern.to_owned());
        }
    }
    if let Some(components) = doc.components.as_mut() {
        for schema in components.schemas.values_mut() {
            patch(schema);
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for param in op.parameters.iter_mut().flatten() {
                let name = if param.name == "equipment" {
                    "equipmentNumber"
                } else {
                    param.name.as_str()
                };
                let Some((_, pattern)) = PATTERNS.iter().find(|(n, _)| *n == name) else {
                    continue;
                };
                if let Some(RefOr::T(Schema::Object(o))) = param.schema.as_mut() {
                    set_pattern(o, pattern);
                }
            }
        }
    }
}

const UTC_PATTERN: &str = "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|\\+00:00)$";

/// `GET /openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_v1_route_is_documented() {
        let doc = GatewayApiDoc::openapi();
        for path in [
            "/v1/connections/nxtport",
            "/v1/terminal-releases",
            "/v1/discharges",
            "/v1/gate-ins",
            "/v1/gate-outs",
            "/v1/operations/{id}",
            "/v1/notifications",
            "/v1/webhooks/nxtport/{entity_id}",
            "/v1/pickup-validations/truck",
            "/v1/pickup-validations/barge-rail",
            "/v1/alfapass-validations",
            "/v1/release-right-validations/truck",
            "/v1/release-details/{equipment}",
            "/v1/companies",
            "/v1/audit",
            "/health",
            "/ready",
            "/metrics",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path} missing");
        }
        let json = serde_json::to_string(&doc).expect("json");
        assert!(json.contains("\"bearer\""));
    }
}
