//! EDIFACT intake (good messages stored, bad ones quarantined) and the reads of what intake
//! stored (quarantine, reported containers).

use crate::api::ErrorCode;
use crate::sources::catalogue::Terminal;
use crate::sources::service::SourcesError;
use crate::sources::views::{Quarantined, ReportedContainer, SyncRun};
use crate::sources::Sources;
use crate::store::sources::IntakeRun;
use crate::store::{now_millis, Actor};
use crate::terminals::edifact;

/// Largest accepted EDIFACT interchange.
pub const MAX_EDIFACT_BYTES: usize = 32 * 1024 * 1024;
/// Terminals that may deliver EDIFACT files (the ones without a public REST API).
pub const EDIFACT_TERMINALS: [Terminal; 4] = [
    Terminal::Psa,
    Terminal::Dpworld,
    Terminal::Mpet,
    Terminal::Ect,
];

impl Sources {
    /// Read an EDIFACT interchange for a connection: good messages stored, bad ones quarantined.
    /// A file that is not EDIFACT at all is refused (and recorded) as a whole.
    pub async fn intake_edifact(
        &self,
        actor: &Actor,
        t: Terminal,
        body: &[u8],
    ) -> Result<SyncRun, SourcesError> {
        let entity_id = self
            .connected_channel(actor, t, &EDIFACT_TERMINALS, ErrorCode::NoEdifact, |name| {
                format!("{name} has an API of its own; EDIFACT intake is for PSA, DP World, MPET and ECT")
            })
            .await?;
        if body.len() > MAX_EDIFACT_BYTES {
            return Err(SourcesError::Invalid {
                code: ErrorCode::PayloadTooLarge,
                field: None,
                message: format!("an interchange is at most {MAX_EDIFACT_BYTES} bytes"),
            });
        }
        let text = String::from_utf8_lossy(body);
        let started = now_millis();
        let sync_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.sources().begin().await?;
        let summary = match edifact::read(t, &text) {
            Err(refusal) => {
                let content: String = text.chars().take(64 * 1024).collect();
                tx.insert_quarantine(
                    entity_id,
                    t,
                    &sync_id,
                    &[(None, refusal.code, refusal.message.clone(), content)],
                )
                .await?;
                tx.insert_intake_run(
                    &sync_id,
                    entity_id,
                    t,
                    &IntakeRun {
                        trigger: "edifact",
                        status: "refused",
                        started_at: started,
                        quarantined: 1,
                        error: Some((refusal.code, &refusal.message)),
                        ..IntakeRun::default()
                    },
                )
                .await?;
                serde_json::json!({ "syncId": sync_id, "refused": refusal.code })
            }
            Ok(intake) => {
                let stored = tx.insert_events(entity_id, t, &intake.events).await?;
                let q: Vec<_> = intake
                    .quarantined
                    .iter()
                    .map(|(r, refusal, content)| {
                        (
                            r.clone(),
                            refusal.code,
                            refusal.message.clone(),
                            content.clone(),
                        )
                    })
                    .collect();
                tx.insert_quarantine(entity_id, t, &sync_id, &q).await?;
                let first = intake.quarantined.first().map(|(_, r, _)| r);
                let message = first.map(|r| {
                    if intake.quarantined.len() > 1 {
                        format!(
                            "{} (and {} more quarantined)",
                            r.message,
                            intake.quarantined.len() - 1
                        )
                    } else {
                        r.message.clone()
                    }
                });
                tx.insert_intake_run(
                    &sync_id,
                    entity_id,
                    t,
                    &IntakeRun {
                        trigger: "edifact",
                        status: if q.is_empty() { "succeeded" } else { "partial" },
                        started_at: started,
                        fetched: i64::try_from(intake.messages).unwrap_or(i64::MAX),
                        stored: i64::try_from(stored).unwrap_or(i64::MAX),
                        skipped: 0,
                        quarantined: i64::try_from(q.len()).unwrap_or(i64::MAX),
                        error: first.zip(message.as_deref()).map(|(r, m)| (r.code, m)),
                    },
                )
                .await?;
                serde_json::json!({ "syncId": sync_id, "messages": intake.messages, "stored": stored, "quarantined": q.len() })
            }
        };
        tx.commit().await?;
        self.intake_audit(actor, "datasource.edifact", t, summary)
            .await;
        self.store
            .sources()
            .sync_run(entity_id, &sync_id)
            .await?
            .map(SyncRun::from)
            .ok_or_else(|| SourcesError::Internal("intake run vanished".into()))
    }

    /// Quarantined messages of a connection, newest first.
    pub async fn quarantine(
        &self,
        entity_id: &str,
        t: Terminal,
        limit: i64,
    ) -> Result<Vec<Quarantined>, SourcesError> {
        Ok(self
            .store
            .sources()
            .quarantine_list(entity_id, t, limit.clamp(1, 500))
            .await?
            .into_iter()
            .map(Quarantined::from)
            .collect())
    }

    /// Containers a terminal reported for this entity, by equipment number, after `after`.
    pub async fn reported_containers(
        &self,
        entity_id: &str,
        t: Terminal,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReportedContainer>, SourcesError> {
        Ok(self
            .store
            .sources()
            .reported_containers(entity_id, t, after, limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(ReportedContainer::from)
            .collect())
    }
}
