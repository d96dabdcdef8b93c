//! Pushed and dropped data: T-Mining `onRelease` webhooks and UN/EDIFACT files.
//!
//! **Webhooks** (T-Mining documents push-then-fetch): each connection gets a receiver
//! `POST /v1/data-sources/{terminal}/webhook/{webhookId}` and a secret, stored in the vault
//! (kind `datasource-webhook:<terminal>`). A delivery is accepted when it carries the secret as
//! `Authorization: Bearer <secret>` or a signature `X-Scr-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>` at most five minutes old, and its body is exactly the
//! documented `{release, event, organization, vat}` (event compared case-insensitively). It is
//! queued, one row per release: a burst about one release is one fetch. A drain (its own lease
//! per connection, so one at a time across replicas) GETs each queued release and stores its
//! state. Replays and out-of-order deliveries are harmless: the drain always reads the release's
//! *current* state and events are deduplicated. Refused deliveries are written to the sync
//! history (`trigger: webhook, status: refused`) with their reason.
//!
//! **EDIFACT**: `POST /v1/data-sources/{terminal}/edifact` with an interchange of COARRI/CODECO
//! messages. Good messages are stored, bad ones quarantined verbatim with their reason
//! (`GET .../quarantine`); the run, with its counts and first reason, is in the sync history.

mod delivery;
mod edifact;
mod webhooks;

use std::time::Duration;

use super::catalogue::Terminal;
use super::service::SourcesError;
use super::Sources;
use crate::api::ErrorCode;
use crate::store::{Actor, AuditLog, AuditRecord};

pub use delivery::{
    sign, WebhookAuth, WebhookError, MAX_SKEW_SECS, MAX_WEBHOOK_BODY, ON_RELEASE_EVENTS,
    SIGNATURE_HEADER,
};
pub use edifact::{EDIFACT_TERMINALS, MAX_EDIFACT_BYTES};
pub(crate) use webhooks::CachedHook;
pub use webhooks::{webhook_vault_kind, WebhookSetup, WEBHOOK_TERMINALS};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Sources {
    /// The caller's entity, once `t` is a terminal of this channel (else 400 `code` with
    /// `refusal(terminal name)`) and connected.
    async fn connected_channel<'a>(
        &self,
        actor: &'a Actor,
        t: Terminal,
        channel: &[Terminal],
        code: ErrorCode,
        refusal: impl FnOnce(&str) -> String,
    ) -> Result<&'a str, SourcesError> {
        if !channel.contains(&t) {
            return Err(SourcesError::Invalid {
                code,
                field: None,
                message: refusal(t.info().name),
            });
        }
        let entity_id = actor.entity_id.as_str();
        match self.store.sources().get_connection(entity_id, t).await? {
            Some(_) => Ok(entity_id),
            None => Err(SourcesError::NotConnected(t.info().name)),
        }
    }

    async fn intake_audit(
        &self,
        actor: &Actor,
        action: &str,
        t: Terminal,
        detail: serde_json::Value,
    ) {
        let target = super::vault_kind(t);
        if let Err(e) = AuditLog::record(
            &self.store,
            actor,
            &AuditRecord {
                action,
                target: &target,
                outcome: "ok",
                detail: Some(detail),
            },
        )
        .await
        {
            tracing::error!(error = %e, action, "cannot write audit entry");
        }
    }
}
