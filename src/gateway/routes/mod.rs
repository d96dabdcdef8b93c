//! The gateway's route table (one file per resource) and small query helpers.

pub mod audit;
pub mod connections;
pub mod events;
pub mod health;
pub mod notifications;
pub mod operations;
pub mod registry;
pub mod validations;
pub mod webhooks;

use super::error::ApiError;
use super::extract::parse_json;
use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;

/// Parse the query string into `T` (all fields `Option<String>`; unknown names are an error
/// naming the parameter).
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::MalformedJson(format!("query string is malformed: {e}")))?;
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if map
            .insert(k.clone(), serde_json::Value::String(v))
            .is_some()
        {
            return Err(ApiError::field(&k, format!("{k} is given more than once")));
        }
    }
    let bytes = serde_json::Value::Object(map).to_string();
    parse_json(bytes.as_bytes()).map_err(|e| match e {
        ApiError::MalformedJson(m) => ApiError::MalformedJson(m),
        ApiError::InvalidField { field, message } => ApiError::InvalidField {
            message: message.replace("unknown field", "unknown query parameter"),
            field,
        },
        other => other,
    })
}

/// `limit`: 1..=1000, default 100.
pub fn parse_limit(v: Option<&str>) -> Result<i64, ApiError> {
    match v {
        None => Ok(100),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                "limit must be a number from 1 to 1000",
            )),
        },
    }
}

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
