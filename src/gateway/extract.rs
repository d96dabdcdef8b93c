//! Request extractors: the authenticated [`Caller`] and [`ValidJson`] bodies.
//!
//! Both fail with the gateway's error envelope, so a handler never sees an unauthenticated
//! request or a body that does not parse into its typed request.

use super::error::ApiError;
use super::state::GatewayState;
use crate::store::{Actor, AuditLog, AuditRecord, Role};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;

/// Header a support token uses to act for another entity (id or name).
pub const ACT_FOR_ENTITY: &str = "X-Act-For-Entity";

/// The authenticated caller of a `/v1` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Entity acted for (own entity, or the impersonated one for support).
    pub entity_id: String,
    /// Role of the token.
    pub role: Role,
    /// Token id.
    pub token_id: String,
    /// Entity owning the token.
    pub token_entity_id: String,
    /// Support acting for another entity.
    pub impersonating: bool,
}

impl Caller {
    /// The audit actor for this caller.
    pub fn actor(&self) -> Actor {
        Actor {
            token_id: Some(self.token_id.clone()),
            actor_entity_id: Some(self.token_entity_id.clone()),
            entity_id: self.entity_id.clone(),
            impersonation: self.impersonating,
        }
    }

    /// Fail with 403 unless the role may change data.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "role '{}' may only read; this needs an editor token",
                self.role.as_str()
            )))
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn state_of(req: &HttpRequest) -> Result<web::Data<GatewayState>, ApiError> {
    req.app_data::<web::Data<GatewayState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("gateway state missing")))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(caller) = req.extensions().get::<Caller>() {
                return Ok(caller.clone());
            }
            let state = state_of(&req)?;
            let token = bearer(&req).ok_or(ApiError::Unauthorized)?;
            let info = state
                .authenticate_token(token)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            state.check_quota(&info.id)?;
            state.touch_token(&info.id);
            let act_for = req
                .headers()
                .get(ACT_FOR_ENTITY)
                .map(|v| v.to_str().map(str::trim))
                .transpose()
                .map_err(|_| ApiError::field(ACT_FOR_ENTITY, "must be an entity id or name"))?
                .filter(|v| !v.is_empty());
            let mut caller = Caller {
                entity_id: info.entity_id.clone(),
                role: info.role,
                token_id: info.id.clone(),
                token_entity_id: info.entity_id.clone(),
                impersonating: false,
            };
            if let Some(target) = act_for {
                if info.role != Role::Support {
                    return Err(ApiError::Forbidden(format!(
                        "only support tokens may use {ACT_FOR_ENTITY}"
                    )));
                }
                let entity = match state.store.entity(target).await? {
                    Some(e) => Some(e),
                    None => state.store.entity_by_name(target).await?,
                };
                let entity = entity.ok_or(ApiError::NotFound("entity"))?;
                caller.impersonating = entity.id != info.entity_id;
                caller.entity_id = entity.id;
                if caller.impersonating {
                    AuditLog::record(
                        &state.store,
                        &caller.actor(),
                        &AuditRecord {
                            action: "impersonate",
                            target: &format!("{} {}", req.method(), req.path()),
                            outcome: "ok",
                            detail: None,
                        },
                    )
                    .await?;
                }
            }
            req.extensions_mut().insert(caller.clone());
            Ok(caller)
        })
    }
}

/// A JSON body parsed into `T`; errors name the offending field (`releases[0].equipmentNumber`).
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

/// Parse `bytes` as `T`, mapping errors to the envelope (the field path and message come from
/// [`crate::http_edge::json_failure`], shared with the simulator).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::http_edge::parse_json_body(bytes).map_err(|f| match f.field {
        _ if f.syntax => ApiError::MalformedJson(format!("body is not valid JSON: {}", f.message)),
        Some(field) => ApiError::InvalidField {
            message: format!("{field}: {}", f.message),
            field,
        },
        None => ApiError::MalformedJson(format!("body has the wrong shape: {}", f.message)),
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are only deserialized")]
    struct Item {
        equipment_number: cpu_simulator::EquipmentNumber,
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[expect(dead_code, reason = "fields are only deserialized")]
    struct Outer {
        items: Vec<Item>,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Outer>(body.as_bytes()).expect_err("must fail")
    }

    #[test]
    fn field_paths_are_named() {
        match err(
            r#"{"items":[{"equipmentNumber":"MSCU1234566","count":1},{"equipmentNumber":"MSCU1234565","count":1}]}"#,
        ) {
            ApiError::InvalidField { field, message } => {
                assert_eq!(field, "items[1].equipmentNumber");
                assert!(message.contains("check digit"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[{"equipmentNumber":"MSCU1234566","count":"x"}]}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items[0].count"),
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[{"equipmentNumber":"MSCU1234566"}]}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items[0].count"),
            other => panic!("{other:?}"),
        }
        match err(r#"{}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "items"),
            other => panic!("{other:?}"),
        }
        match err(r#"{"items":[], "extra": 1}"#) {
            ApiError::InvalidField { field, .. } => assert_eq!(field, "extra"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_its_own_code() {
        assert!(matches!(err(r#"{"items": [}"#), ApiError::MalformedJson(_)));
        assert!(matches!(err(r#"{"items": "#), ApiError::MalformedJson(_)));
    }

    #[test]
    fn bearer_parsing() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer  cgw_abc "))
            .to_http_request();
        assert_eq!(bearer(&req), Some("cgw_abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic abc"))
            .to_http_request();
        assert_eq!(bearer(&req), None);
    }
}
