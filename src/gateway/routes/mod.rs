//! The gateway's route table (one file per resource); the query helpers live in
//! [`crate::api::query`] (shared with Data Sources).

pub mod audit;
pub mod connections;
pub mod events;
pub mod health;
pub mod notifications;
pub mod operations;
pub mod registry;
pub mod validations;
pub mod webhooks;

pub use crate::api::query::{parse_limit, parse_query};
use actix_web::web;

/// Register every gateway route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(health::metrics))
        .route("/openapi.json", web::get().to(super::openapi::openapi_json))
        .service(
            web::scope("/v1")
                .route(
                    "/connections/nxtport",
                    web::put().to(connections::put_connection),
                )
                .route(
                    "/connections/nxtport",
                    web::get().to(connections::get_connection),
                )
                .route(
                    "/connections/nxtport",
                    web::delete().to(connections::delete_connection),
                )
                .route(
                    "/terminal-releases",
                    web::post().to(events::post_terminal_release),
                )
                .route("/discharges", web::post().to(events::post_discharge))
                .route("/gate-ins", web::post().to(events::post_gate_in))
                .route("/gate-outs", web::post().to(events::post_gate_out))
                .route("/operations", web::get().to(operations::list_operations))
                .route("/operations/{id}", web::get().to(operations::get_operation))
                .route(
                    "/operations/{id}/retry",
                    web::post().to(operations::retry_operation),
                )
                .route(
                    "/operations/{id}/cancel",
                    web::post().to(operations::cancel_operation),
                )
                .route(
                    "/notifications",
                    web::get().to(notifications::list_notifications),
                )
                .route(
                    "/pickup-validations/truck",
                    web::post().to(validations::truck_pickup),
                )
                .route(
                    "/pickup-validations/barge-rail",
                    web::post().to(validations::barge_rail_pickup),
                )
                .route(
                    "/alfapass-validations",
                    web::post().to(validations::alfapass),
                )
                .route(
                    "/release-right-validations/truck",
                    web::post().to(validations::truck_release_right),
                )
                .route(
                    "/release-details/{equipment}",
                    web::get().to(registry::release_detail),
                )
                .route("/companies", web::get().to(registry::companies))
                .route("/audit", web::get().to(audit::list_audit))
                .route(
                    "/webhooks/nxtport/{entity_id}",
                    web::post().to(webhooks::receive),
                ),
        );
}
