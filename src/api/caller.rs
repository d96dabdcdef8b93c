//! The authenticated [`Caller`] of a `/v1` request, and the [`Authenticator`] behind it.
//!
//! Every `/v1` route of the application (the gateway's and Data Sources') extracts the caller
//! the same way: `Authorization: Bearer <token>` (scheme case-insensitive), checked against a
//! short-lived cache keyed by the token's SHA-256, then the token's own quota (429 with
//! `Retry-After`), then `X-Act-For-Entity` for support tokens (audited as `impersonate`).

use super::error::ApiError;
use crate::store::{now_millis, Actor, AuditLog, AuditRecord, Role, Store, TokenInfo};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use dashmap::DashMap;
use futures::future::LocalBoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Header a support token uses to act for another entity (id or name).
pub const ACT_FOR_ENTITY: &str = "X-Act-For-Entity";

/// How long a checked token is trusted without asking the database again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most tokens cached at once (the cache is cleared when full).
const TOKEN_CACHE_MAX: usize = 10_000;

/// Token checks, quotas and token-use records of one application. Build it once (outside
/// `HttpServer::new`) and register it as `web::Data<Authenticator>`.
pub struct Authenticator {
    store: Store,
    quota: Option<DefaultKeyedRateLimiter<String>>,
    touched: DashMap<String, i64>,
    /// Tokens checked recently (by their SHA-256, as raw bytes: the database's hex form would
    /// cost an encoding and an allocation per request), so a busy caller costs no database
    /// round trip per request. Entries live [`TOKEN_CACHE_TTL`]: a token revoked by the CLI
    /// (another process) stops working within that time.
    token_cache: DashMap<[u8; 32], (Arc<TokenInfo>, Instant)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("quota", &self.quota.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Over `store`, with `per_minute` requests per token (0: no quota) and `burst` at once
    /// (0: `per_minute`).
    pub fn new(store: Store, per_minute: u32, burst: u32) -> Self {
        let quota = NonZeroU32::new(per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(burst).unwrap_or(per_minute);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self {
            store,
            quota,
            touched: DashMap::new(),
            token_cache: DashMap::new(),
        }
    }

    /// The token's info, from the short-lived cache or the database.
    pub async fn authenticate_token(
        &self,
        presented: &str,
    ) -> Result<Option<TokenInfo>, crate::store::StoreError> {
        Ok(self
            .checked_token(presented)
            .await?
            .map(|info| TokenInfo::clone(&info)))
    }

    /// [`Self::authenticate_token`], shared with the cache (no copy of the info per request).
    async fn checked_token(
        &self,
        presented: &str,
    ) -> Result<Option<Arc<TokenInfo>>, crate::store::StoreError> {
        let key: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        if let Some(hit) = self.token_cache.get(&key) {
            if hit.1.elapsed() < TOKEN_CACHE_TTL {
                return Ok(Some(Arc::clone(&hit.0)));
            }
        }
        let info = self
            .store
            .authenticate_token(presented)
            .await?
            .map(Arc::new);
        match &info {
            Some(i) => {
                if self.token_cache.len() >= TOKEN_CACHE_MAX {
                    self.token_cache.clear();
                }
                self.token_cache
                    .insert(key, (Arc::clone(i), Instant::now()));
            }
            None => {
                self.token_cache.remove(&key);
            }
        }
        Ok(info)
    }

    /// Enforce the caller's own quota (429 with Retry-After when over).
    pub fn check_quota(&self, token_id: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.quota else {
            return Ok(());
        };
        match limiter.check_key(&token_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                // Rounded up, and at least 1: the cell may already be free by the time the
                // clock is read again, and `Retry-After: 0` invites an immediate retry storm.
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::RateLimited {
                    retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
                })
            }
        }
    }

    /// Record a token's use, at most once a minute per token (a write per request would cost
    /// an fsync per request on SQLite).
    pub fn touch_token(&self, token_id: &str) {
        let now = now_millis();
        let due = self
            .touched
            .get(token_id)
            .is_none_or(|last| now - *last > 60_000);
        if !due {
            return;
        }
        self.touched.insert(token_id.to_owned(), now);
        let store = self.store.clone();
        let id = token_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id, now).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }

    /// The caller of `req`: token, quota, then impersonation (audited).
    async fn caller_of(&self, req: &HttpRequest) -> Result<Caller, ApiError> {
        let token = bearer(req).ok_or(ApiError::Unauthorized)?;
        let info = self
            .checked_token(token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        self.check_quota(&info.id)?;
        self.touch_token(&info.id);
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
            let entity = match self.store.entity(target).await? {
                Some(e) => Some(e),
                None => self.store.entity_by_name(target).await?,
            };
            let entity = entity.ok_or(ApiError::NotFound("entity"))?;
            caller.impersonating = entity.id != info.entity_id;
            caller.entity_id = entity.id;
            if caller.impersonating {
                AuditLog::record(
                    &self.store,
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
        Ok(caller)
    }
}

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

/// The bearer token of a request, if any (scheme case-insensitive, surrounding space ignored).
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
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
            let auth = req
                .app_data::<web::Data<Authenticator>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("authenticator missing")))?;
            let caller = auth.caller_of(&req).await?;
            req.extensions_mut().insert(caller.clone());
            Ok(caller)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer  cgw_abc "))
            .to_http_request();
        assert_eq!(bearer(&req), Some("cgw_abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "bearer cgw_abc"))
            .to_http_request();
        assert_eq!(bearer(&req), Some("cgw_abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic abc"))
            .to_http_request();
        assert_eq!(bearer(&req), None);
    }
}
