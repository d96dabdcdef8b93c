//! Request extractors: the authenticated [`Caller`] (shared with Data Sources, see
//! [`crate::api`]) and [`ValidJson`] bodies.
//!
//! Both fail with the `/v1` error envelope, so a handler never sees an unauthenticated
//! request or a body that does not parse into its typed request.

use super::error::ApiError;
use super::state::GatewayState;
pub use crate::api::caller::{bearer, Caller, ACT_FOR_ENTITY};
pub use crate::api::query::parse_json;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;

/// A JSON body parsed into `T`; errors name the offending field (`releases[0].equipmentNumber`).
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<GatewayState>>()
            .map(|s| s.settings.limits.max_body_bytes)
            .unwrap_or(64 * 1024);
        let json_type = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json_type {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::MalformedJson(format!("could not read the request body: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Err(ApiError::MalformedJson("request body is empty".into()));
            }
            parse_json(&body).map(ValidJson)
        })
    }
}
