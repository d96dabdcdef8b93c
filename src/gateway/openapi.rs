//! The gateway's OpenAPI document ([`GatewayApiDoc`]), served at `/openapi.json` and rendered at
//! `/docs` (Scalar from a CDN; the document itself is served locally).

use super::error::{ErrorBody, ErrorEnvelope};
use super::routes::{
    connections, events, health, notifications, operations, registry, validations, webhooks,
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
        health::Health,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "connections", description = "The entity's NxtPort CPu credentials (secrets write-only)"),
        (name = "events", description = "Terminal events, durably queued for NxtPort"),
        (name = "operations", description = "Delivery state of queued events"),
        (name = "validations", description = "Synchronous CPu checks passed through to NxtPort"),
        (name = "notifications", description = "Notifications from NxtPort (webhook + polling)"),
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

/// The whole document the gateway serves: its own API and Data Sources.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = GatewayApiDoc::openapi();
    doc.merge(crate::sources::SourcesApiDoc::openapi());
    doc
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

const DOCS_HTML: &str = r#"<!doctype html>
<html>
  <head>
    <title>cpu-gateway API</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>
"#;

/// `GET /docs`: API reference page.
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_HTML)
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
