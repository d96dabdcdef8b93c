//! Sim-mode helpers: connect a gateway entity to a simulator party and register the gateway's
//! webhook there. Used by `cpu-gateway serve` with no configuration (the demo entity) and by
//! tests that run the UAT code path against a simulator on loopback.

use super::state::GatewayState;
use crate::connection::{secret, NxtPortConnection, NXTPORT_KIND};
use crate::store::vault::SecretMerge;
use crate::store::{Actor, Role, SecretFields};
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Name of the demo entity.
pub const DEMO_ENTITY: &str = "demo";
/// Simulator party the demo entity acts as (PSA, terminal 869).
pub const DEMO_PARTY: &str = "psa";

/// A simulator party as `GET /simulator/v1/parties` lists it (only what the gateway needs).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimParty {
    /// Handle (`psa`, `dpworld`, ...).
    pub key: String,
    /// NxtEntityId.
    pub nxt_entity_id: String,
    /// OAuth user.
    pub username: String,
    /// OAuth password.
    pub password: SecretString,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// API key.
    pub subscription_key: SecretString,
    /// Terminal code (terminal operators).
    #[serde(default)]
    pub terminal_code: Option<String>,
    /// Ingestion id (terminal operators).
    #[serde(default)]
    pub ingestion_id: Option<String>,
}

impl std::fmt::Debug for SimParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimParty")
            .field("key", &self.key)
            .field("nxt_entity_id", &self.nxt_entity_id)
            .finish_non_exhaustive()
    }
}

/// What the demo setup created.
#[derive(Debug)]
pub struct DemoSetup {
    /// Entity id.
    pub entity_id: String,
    /// The editor token (shown once in the banner).
    pub token: SecretString,
    /// The webhook secret the embedded simulator sends (shown once in the banner; the control
    /// API never hands it out).
    pub webhook_secret: SecretString,
    /// The simulator party the entity acts as.
    pub party: SimParty,
}

impl DemoSetup {
    /// The text printed on start.
    pub fn banner(&self, port: u16, simulator: Option<&str>) -> String {
        let t = self.token.expose_secret();
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let mut lines = vec![
            String::new(),
            "cpu-gateway is running in sim mode (embedded CPu simulator, SQLite in .cpu-gateway/).".to_owned(),
            format!(
                "Demo entity '{DEMO_ENTITY}' is connected as simulator party '{}' ({}, terminal {}).",
                self.party.key,
                self.party.nxt_entity_id,
                self.party.terminal_code.as_deref().unwrap_or("-")
            ),
            format!("Demo editor token (keep it; it is stored hashed): {t}"),
            format!(
                "Demo webhook secret (the embedded simulator sends it as 'Authorization: Bearer <secret>'; \
                 issued at each start, shown only here): {}",
                self.webhook_secret.expose_secret()
            ),
            String::new(),
            "Try it:".to_owned(),
            format!("  curl -s -X POST http://127.0.0.1:{port}/v1/discharges \\"),
            format!("    -H 'Authorization: Bearer {t}' -H 'Content-Type: application/json' \\"),
            format!("    -d '{{\"equipmentNumber\":\"MSCU1234566\",\"timestamp\":\"{now}\"}}'"),
            format!("  curl -s http://127.0.0.1:{port}/v1/operations/<operationId> -H 'Authorization: Bearer {t}'"),
            format!("API reference: http://127.0.0.1:{port}/docs"),
        ];
        if let Some(sim) = simulator {
            lines.extend([
                String::new(),
                format!("Embedded CPu simulator: {sim} (API docs: {sim}/docs)"),
                format!("  parties and their demo credentials: curl -s {sim}/simulator/v1/parties"),
                format!("  a container as every party sees it:  curl -s {sim}/simulator/v1/BEANR/containers/MSCU1234566"),
                "  act there as the shipping agent, customs or a transport operator (README: \"The gateway in sim mode\")".to_owned(),
            ]);
        }
        lines.join("\n")
    }
}

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?)
}

/// The parties of a simulator world.
pub async fn parties(sim_base: &str, world: Option<&str>) -> anyhow::Result<Vec<SimParty>> {
    let mut req = http()?.get(format!(
        "{}/simulator/v1/parties",
        sim_base.trim_end_matches('/')
    ));
    if let Some(w) = world {
        req = req.header("X-Sim-World", w);
    }
    let resp = req.send().await.context("listing simulator parties")?;
    anyhow::ensure!(
        resp.status().is_success(),
        "simulator answered {} to GET parties",
        resp.status()
    );
    Ok(resp.json().await?)
}

/// Save the party's credentials as the entity's CPu connection (audited as the system).
pub async fn connect_entity(
    state: &GatewayState,
    entity_id: &str,
    party: &SimParty,
    port_lo_code: &str,
) -> anyhow::Result<()> {
    let public = NxtPortConnection::from_public(&serde_json::json!({
        "clientId": party.client_id,
        "username": party.username,
        "ingestionId": party
            .ingestion_id
            .as_deref()
            .context("party has no ingestion id (not a terminal operator)")?,
        "terminalCode": party
            .terminal_code
            .as_deref()
            .context("party has no terminal code (not a terminal operator)")?,
        "portLoCode": port_lo_code,
    }))?;
    let mut secrets = SecretFields::new();
    secrets.insert(secret::CLIENT_SECRET.into(), party.client_secret.clone());
    secrets.insert(secret::PASSWORD.into(), party.password.clone());
    secrets.insert(secret::API_KEY.into(), party.subscription_key.clone());
    state
        .vault
        .put(
            &Actor::system(entity_id),
            NXTPORT_KIND,
            public.to_public(),
            secrets,
            SecretMerge::Replace,
        )
        .await?;
    state.upstreams.forget(entity_id);
    Ok(())
}

/// Issue a webhook secret for the entity and register the gateway's webhook for the party.
/// Returns the secret (the simulator's control API never shows it again).
pub async fn register_webhook(
    state: &GatewayState,
    sim_base: &str,
    world: Option<&str>,
    entity_id: &str,
    party_nxt_entity_id: &str,
) -> anyhow::Result<SecretString> {
    let secret = state.store.rotate_webhook_secret(entity_id).await?;
    put_webhook(
        sim_base,
        world,
        party_nxt_entity_id,
        &state.webhook_url(entity_id),
        &secret,
    )
    .await?;
    Ok(secret)
}

/// Register `url` with `secret` as the party's webhook at the simulator.
async fn put_webhook(
    sim_base: &str,
    world: Option<&str>,
    party_nxt_entity_id: &str,
    url: &str,
    secret: &SecretString,
) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "url": url,
        "headers": {"Authorization": format!("Bearer {}", secret.expose_secret())},
    });
    let mut req = http()?
        .put(format!(
            "{}/simulator/v1/parties/{party_nxt_entity_id}/webhooks",
            sim_base.trim_end_matches('/')
        ))
        .json(&body);
    if let Some(w) = world {
        req = req.header("X-Sim-World", w);
    }
    let resp = req.send().await.context("registering the webhook")?;
    anyhow::ensure!(
        resp.status().is_success(),
        "simulator answered {} to the webhook registration",
        resp.status()
    );
    Ok(())
}

async fn demo_token(state: &GatewayState, entity_id: &str) -> anyhow::Result<SecretString> {
    let path = state.settings.data_dir.join("demo-token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim().to_owned();
        if let Some(info) = state.store.authenticate_token(&text).await? {
            if info.entity_id == entity_id {
                return Ok(SecretString::from(text));
            }
        }
        std::fs::remove_file(&path)
            .with_context(|| format!("removing stale {}", path.display()))?;
    }
    let (_, token) = state
        .store
        .create_token(entity_id, Role::Editor, Some("demo"))
        .await?;
    std::fs::create_dir_all(&state.settings.data_dir)?;
    super::write_private(&path, token.expose_secret())?;
    Ok(token)
}

/// Sim mode with no configuration: demo entity + editor token + connection to the embedded
/// simulator's PSA party + webhook.
pub async fn setup_demo(state: &GatewayState) -> anyhow::Result<DemoSetup> {
    let base = state
        .upstreams
        .api_base_url()
        .context("simulator address unknown")?;
    let party = parties(&base, None)
        .await?
        .into_iter()
        .find(|p| p.key == DEMO_PARTY)
        .with_context(|| format!("the simulator has no '{DEMO_PARTY}' party"))?;
    let (entity, _) = state.store.ensure_entity(DEMO_ENTITY).await?;
    connect_entity(state, &entity.id, &party, "BEANR").await?;
    let webhook_secret =
        register_webhook(state, &base, None, &entity.id, &party.nxt_entity_id).await?;
    let token = demo_token(state, &entity.id).await?;
    Ok(DemoSetup {
        entity_id: entity.id,
        token,
        webhook_secret,
        party,
    })
}

/// A webhook registration as the simulator's control API shows it (secrets redacted).
#[derive(Deserialize)]
struct SimWebhook {
    url: String,
}

/// After `cpu-gateway token webhook` rotated `entity_id`'s secret: give the new secret to every
/// registration of the simulator at `sim_base` that delivers to this entity's webhook path (the
/// embedded simulator of a running sim-mode gateway), so its deliveries keep verifying.
/// Returns how many registrations were updated.
pub async fn rotate_simulator_webhooks(
    sim_base: &str,
    entity_id: &str,
    secret: &SecretString,
) -> anyhow::Result<usize> {
    let path = format!("/v1/webhooks/nxtport/{entity_id}");
    let mut updated = 0;
    for party in parties(sim_base, None).await? {
        let resp = http()?
            .get(format!(
                "{}/simulator/v1/parties/{}/webhooks",
                sim_base.trim_end_matches('/'),
                party.nxt_entity_id
            ))
            .send()
            .await
            .context("reading the simulator's webhooks")?;
        anyhow::ensure!(
            resp.status().is_success(),
            "simulator answered {} to GET webhooks",
            resp.status()
        );
        let hooks: Vec<SimWebhook> = resp.json().await?;
        let ours = hooks.into_iter().find(|h| {
            reqwest::Url::parse(&h.url).is_ok_and(|u| u.path().trim_end_matches('/') == path)
        });
        if let Some(hook) = ours {
            put_webhook(
                sim_base,
                None,
                party.nxt_entity_id.as_str(),
                &hook.url,
                secret,
            )
            .await?;
            updated += 1;
        }
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_shows_the_demo_webhook_secret() {
        let secret = |s: &str| SecretString::from(s.to_owned());
        let demo = DemoSetup {
            entity_id: "e1".into(),
            token: secret("cgw_demo-token"),
            webhook_secret: secret("whk_demo-secret"),
            party: SimParty {
                key: DEMO_PARTY.into(),
                nxt_entity_id: "NXT00000000869".into(),
                username: "psa".into(),
                password: secret("pw"),
                client_id: "c".into(),
                client_secret: secret("cs"),
                subscription_key: secret("k"),
                terminal_code: Some("869".into()),
                ingestion_id: None,
            },
        };
        let text = demo.banner(8081, Some("http://127.0.0.1:8082"));
        assert_eq!(text.matches("whk_demo-secret").count(), 1, "{text}");
        assert!(text.contains("cgw_demo-token"), "{text}");
    }
}
