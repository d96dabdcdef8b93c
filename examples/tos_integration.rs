//! A terminal operating system's integration with the gateway, in a page of Rust.
//!
//! What a terminal does in production, through `cpu-gateway serve`:
//! 1. push a container's events (discharge, terminal release, gate out) and keep each
//!    operation id the gateway answers with (202: durably queued, delivered once);
//! 2. validate a truck at the gate, synchronously (the gate's calls go first in the budget);
//! 3. wait for each operation's NxtPort notification (`GET /v1/operations/{id}`).
//!
//! In sim mode, pass `--simulator` (the embedded simulator's address that `serve` prints) and the
//! example also plays the other parties there (the shipping agent's commercial release, the
//! transport operator's acceptance and Alfapass, customs), so the truck at the gate is valid.
//! Each run uses a fresh container number, so it can be run again.
//!
//! ```sh
//! cargo run --release -- serve      # prints the demo token and the simulator's address
//! cargo run --release --example tos_integration -- \
//!     --gateway http://127.0.0.1:8081 --token cgw_... --simulator http://127.0.0.1:8082
//! ```

use anyhow::{bail, Context};
use cpu_simulator::ids::EquipmentNumber;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Args {
    gateway: String,
    token: String,
    simulator: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut gateway = "http://127.0.0.1:8081".to_owned();
    let mut token = std::env::var("CPU_GATEWAY_TOKEN").ok();
    let mut simulator = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--gateway" => gateway = value,
            "--token" => token = Some(value),
            "--simulator" => simulator = Some(value),
            other => {
                bail!("unknown flag {other} (--gateway URL --token cgw_... [--simulator URL])")
            }
        }
    }
    Ok(Args {
        gateway: gateway.trim_end_matches('/').to_owned(),
        token: token
            .context("--token (or CPU_GATEWAY_TOKEN) is required: the token `serve` printed")?,
        simulator: simulator.map(|s| s.trim_end_matches('/').to_owned()),
    })
}

/// The gateway's API, as the terminal's integration calls it.
struct Gateway {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Gateway {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// Queue a write; the answer is 202 with the operation id.
    async fn write(&self, path: &str, body: Value) -> anyhow::Result<String> {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await?;
        if status != 202 {
            bail!("{path} answered {status}: {answer}");
        }
        let id = answer["operationId"].as_str().context("no operationId")?;
        println!("  {path:<22} 202 operation {id}");
        Ok(id.to_owned())
    }

    /// Wait (bounded) until the operation is completed or failed.
    async fn settle(&self, id: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, op) = self
                .call(reqwest::Method::GET, &format!("/v1/operations/{id}"), None)
                .await?;
            match op["status"].as_str() {
                Some("completed" | "failed") => return Ok(op),
                _ if Instant::now() > deadline => {
                    bail!("operation {id} still {} after 60 s", op["status"])
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// The other parties, played on the simulator (sim mode only).
async fn other_parties(sim: &str, eq: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let parties: Vec<Value> = http
        .get(format!("{sim}/simulator/v1/parties"))
        .send()
        .await?
        .json()
        .await?;
    let party = |key: &str| {
        parties
            .iter()
            .find(|p| p["key"] == key)
            .cloned()
            .with_context(|| format!("no party {key}"))
    };
    let login = |p: Value| {
        let http = http.clone();
        async move {
            let form = [
                ("grant_type", "password"),
                ("username", p["username"].as_str().unwrap_or_default()),
                ("password", p["password"].as_str().unwrap_or_default()),
                ("client_id", p["clientId"].as_str().unwrap_or_default()),
                (
                    "client_secret",
                    p["clientSecret"].as_str().unwrap_or_default(),
                ),
            ];
            let token: Value = http
                .post(format!("{sim}/connect/token"))
                .form(&form)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok((
                token["access_token"]
                    .as_str()
                    .context("no access token")?
                    .to_owned(),
                p["subscriptionKey"].as_str().unwrap_or_default().to_owned(),
            ))
        }
    };
    let rights = format!("{sim}/certified-pickup/v1/BEANR/containers/{eq}/import");
    let trucker = party("trucker")?;
    for (who, path, body) in [
        (
            party("agent")?,
            "release-rights",
            json!({"actionType": "Release", "terminalCode": "869",
                   "releaseTo": {"identificationType": 0, "identificationCode": trucker["nxtEntityId"]}}),
        ),
        (
            trucker.clone(),
            "release-rights",
            json!({"actionType": "Accept"}),
        ),
        (
            trucker.clone(),
            "pickup-rights",
            json!({"actionType": "Assign", "pickupParty":
                   {"partyType": "Truck", "identificationType": "Alfapass", "identificationCode": "AP1000001"}}),
        ),
    ] {
        let (token, key) = login(who.clone()).await?;
        let resp = http
            .put(format!("{rights}/{path}"))
            .bearer_auth(token)
            .header("Ocp-Apim-Subscription-Key", key)
            .json(&body)
            .send()
            .await?;
        println!(
            "  [simulator] {:<8} {path:<15} {}",
            who["key"].as_str().unwrap_or("?"),
            resp.status()
        );
        if !resp.status().is_success() {
            bail!(
                "{} answered {}: {}",
                who["key"],
                resp.status(),
                resp.text().await?
            );
        }
    }
    let resp = http
        .put(format!("{sim}/simulator/v1/BEANR/containers/{eq}/customs"))
        .json(&json!({"status": "RELEASED"}))
        .send()
        .await?;
    println!("  [simulator] customs  released        {}", resp.status());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let gw = Gateway {
        http: reqwest::Client::new(),
        base: args.gateway.clone(),
        token: args.token.clone(),
    };
    // A fresh container number (ISO 6346, check digit computed) for every run.
    let serial = (chrono::Utc::now().timestamp_millis() % 1_000_000) as u32;
    let eq = EquipmentNumber::from_serial("MSCU", serial)?
        .as_str()
        .to_owned();
    let now = chrono::Utc::now();
    let at = |minutes: i64| {
        (now + chrono::Duration::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    println!("Container {eq}");

    let discharge = gw
        .write(
            "/v1/discharges",
            json!({"equipmentNumber": eq, "timestamp": at(-30)}),
        )
        .await?;
    if let Some(sim) = &args.simulator {
        other_parties(sim, &eq).await?;
    }
    let release = gw
        .write(
            "/v1/terminal-releases",
            json!({"equipmentNumber": eq, "actionType": "Release", "releaseDateTimeUtc": at(-10)}),
        )
        .await?;
    // Wait for the release to reach NxtPort before the truck arrives.
    gw.settle(&release).await?;

    // The truck at the gate: synchronous.
    let (status, answer) = gw
        .call(
            reqwest::Method::POST,
            "/v1/pickup-validations/truck",
            Some(json!({"alfapassNumber": "AP1000001", "releaseIdentification": [{"equipmentNumber": eq}]})),
        )
        .await?;
    println!("  gate: truck validation {status}: {answer}");

    let gate_out = gw
        .write(
            "/v1/gate-outs",
            json!({"equipmentNumber": eq, "timestamp": at(0), "modeOfTransport": "Truck"}),
        )
        .await?;
    for id in [discharge, release, gate_out] {
        let op = gw.settle(&id).await?;
        println!(
            "  {:<16} {:<11} notification {}",
            op["kind"].as_str().unwrap_or("?"),
            op["status"].as_str().unwrap_or("?"),
            op["notification"]["event"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}
