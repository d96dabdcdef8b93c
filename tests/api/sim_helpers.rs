//! Helpers for the simulator's integration tests: a real server on port 0 per test, parties
//! logged in through `/connect/token`, one short verb per CPu call, and the control API.
//!
//! Each test starts its own `Application` (its own state, limiter and worlds), so tests never
//! share state and can run in parallel. The default helper freezes the virtual clock at
//! [`T0`] so that `storedOn` filters and expiries are deterministic; `Sim::start_with` can undo it.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use cpu_gateway::simulate::{Application, SimConfig};
use parking_lot::Mutex;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Antwerp.
pub const LOCODE: &str = "BEANR";
/// The frozen start of the virtual clock (a Wednesday, 10:00 UTC).
pub const T0: &str = "2024-05-01T10:00:00Z";
/// Timestamps sent in bodies.
pub const TS: &str = "2024-05-01T09:30:00.000Z";

/// ISO 6346 check digit of the first 10 characters: the simulator core's (the one implementation).
pub fn check_digit(prefix: &str) -> u32 {
    u32::from(cpu_simulator::ids::EquipmentNumber::check_digit(
        prefix.as_bytes(),
    ))
}

/// A valid container number, distinct per `n`.
pub fn container(n: u32) -> String {
    let prefix = format!("MSCU{:06}", n % 1_000_000);
    format!("{prefix}{}", check_digit(&prefix))
}

/// The same number with category X (ISO 6346 allows U, J and Z) and the check digit that fits
/// it, so that only the category letter is wrong.
pub fn bad_category(eq: &str) -> String {
    let prefix = format!("{}X{}", &eq[..3], &eq[4..10]);
    format!("{prefix}{}", check_digit(&prefix))
}

/// The same number with a wrong check digit.
pub fn bad_check_digit(eq: &str) -> String {
    let (prefix, last) = eq.split_at(10);
    let d = last.parse::<u32>().expect("digit");
    format!("{prefix}{}", (d + 1) % 10)
}

/// A party as `GET /simulator/v1/parties` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub key: String,
    pub role: String,
    pub name: String,
    pub nxt_entity_id: String,
    pub username: String,
    pub password: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
    pub terminal_code: Option<String>,
    pub ingestion_id: Option<String>,
    #[serde(default)]
    pub alfapass_numbers: Vec<String>,
    pub vat: Option<String>,
    pub eori: Option<String>,
    pub duns: Option<String>,
    pub apcs_code: Option<String>,
}

/// An answer, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("read body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Assert a ProblemDetails with this status; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        self.expect(status);
        assert_eq!(self.body["status"], json!(status), "{}", self.text);
        assert!(self.body["title"].is_string(), "{}", self.text);
        assert!(self.body["type"].is_string(), "{}", self.text);
        &self.body
    }

    /// Assert a 400 ProblemDetails whose `errors` names `field`; returns the messages.
    #[track_caller]
    pub fn bad_field(&self, field: &str) -> String {
        let p = self.problem(400);
        let msgs = &p["errors"][field];
        assert!(
            msgs.as_array().is_some_and(|a| !a.is_empty()),
            "expected errors[{field}] in {}",
            self.text
        );
        msgs.to_string()
    }

    /// The `publicReferenceId` of a 202.
    #[track_caller]
    pub fn reference(&self) -> String {
        self.expect(202);
        let r = self.body["publicReferenceId"]
            .as_str()
            .unwrap_or_else(|| panic!("no publicReferenceId in {}", self.text));
        uuid::Uuid::parse_str(r).expect("publicReferenceId is a GUID");
        r.to_owned()
    }
}

/// How long the tests' clients keep an idle pooled connection: shorter than the servers' 5 s
/// keep-alive, so a request never goes out on a connection the server is closing at that moment
/// (hyper then fails it with `IncompleteMessage`; it happened once in CI).
const IDLE_CONNECTION: Duration = Duration::from_secs(2);

/// The HTTP client of the integration tests (no overall timeout: some calls long-poll).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(IDLE_CONNECTION)
        .build()
        .expect("client")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(IDLE_CONNECTION)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A running simulator and one of its worlds.
#[derive(Clone)]
pub struct Sim {
    pub base: String,
    pub http: reqwest::Client,
    /// `None` = the default world.
    pub world: Option<String>,
    pub parties: HashMap<String, Party>,
}

/// Frozen clock at [`T0`], everything else as the defaults.
pub fn test_config() -> SimConfig {
    SimConfig {
        frozen_clock: Some(T0.parse().expect("T0")),
        ..SimConfig::default()
    }
}

impl Sim {
    /// A fresh simulator with a frozen clock.
    pub async fn start() -> Sim {
        Self::start_with(|_| {}).await
    }

    /// A fresh simulator with a tweaked configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut SimConfig)) -> Sim {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
        }
        let mut config = test_config();
        tweak(&mut config);
        let app = Application::build(config, "127.0.0.1:0")
            .await
            .expect("build the simulator");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let http = client();
        let mut sim = Sim {
            base,
            http,
            world: None,
            parties: HashMap::new(),
        };
        let list = sim
            .control(Method::GET, "/simulator/v1/parties", None)
            .await;
        list.expect(200);
        sim.parties = parse_parties(&list.body);
        sim
    }

    /// A new isolated world on the same server.
    pub async fn new_world(&self) -> Sim {
        let r = self
            .control(Method::POST, "/simulator/v1/worlds", None)
            .await;
        r.expect(201);
        Sim {
            base: self.base.clone(),
            http: self.http.clone(),
            world: Some(r.body["worldId"].as_str().expect("worldId").to_owned()),
            parties: parse_parties(&r.body["parties"]),
        }
    }

    /// A party of this world by key (`psa`, `agent`, `trucker`, ...).
    pub fn party(&self, key: &str) -> &Party {
        self.parties
            .get(key)
            .unwrap_or_else(|| panic!("no party {key}"))
    }

    /// `POST /connect/token` with a form.
    pub async fn token(&self, form: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(format!("{}/connect/token", self.base))
            .form(form)
            .send()
            .await
            .expect("token request");
        Resp::read(r).await
    }

    /// Log a party in with the password grant.
    pub async fn login(&self, key: &str) -> Caller {
        let p = self.party(key).clone();
        let r = self
            .token(&[
                ("grant_type", "password"),
                ("username", &p.username),
                ("password", &p.password),
                ("client_id", &p.client_id),
                ("client_secret", &p.client_secret),
            ])
            .await;
        r.expect(200);
        Caller {
            token: r.body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            key: Some(p.subscription_key.clone()),
            party: p,
            sim: self.clone(),
        }
    }

    /// Every party of the default fixture, logged in.
    pub async fn cast(&self) -> Cast {
        Cast {
            psa: self.login("psa").await,
            dpworld: self.login("dpworld").await,
            agent: self.login("agent").await,
            forwarder: self.login("forwarder").await,
            trucker: self.login("trucker").await,
            trucker2: self.login("trucker2").await,
            barge: self.login("barge").await,
            rail: self.login("rail").await,
        }
    }

    /// A control-API call in this world.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(w) = &self.world {
            req = req.header("X-Sim-World", w);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Resp::read(req.send().await.expect("control call")).await
    }

    /// `GET /simulator/v1/{locode}/containers/{eq}`.
    pub async fn container(&self, eq: &str) -> Resp {
        self.control(
            Method::GET,
            &format!("/simulator/v1/{LOCODE}/containers/{eq}"),
            None,
        )
        .await
    }

    /// The container's state (asserting 200).
    pub async fn state(&self, eq: &str) -> Value {
        let r = self.container(eq).await;
        r.expect(200);
        r.body
    }

    /// The container's derived status.
    pub async fn status(&self, eq: &str) -> String {
        self.state(eq).await["status"]
            .as_str()
            .expect("status")
            .to_owned()
    }

    /// A snapshot to compare before/after a refused call: the state, or `null` if unknown.
    pub async fn snapshot(&self, eq: &str) -> Value {
        let r = self.container(eq).await;
        match r.status {
            200 => r.body,
            404 => Value::Null,
            s => panic!("container snapshot: {s} {}", r.text),
        }
    }

    /// Assert the container is exactly as in `before`.
    #[track_caller]
    pub fn same(before: &Value, after: &Value) {
        assert_eq!(before, after, "a refused call changed the world");
    }

    /// Set the customs light.
    pub async fn customs(&self, eq: &str, status: &str) {
        self.control(
            Method::PUT,
            &format!("/simulator/v1/{LOCODE}/containers/{eq}/customs"),
            Some(json!({ "status": status })),
        )
        .await
        .expect(200);
    }

    /// Advance the virtual clock; returns the new now.
    pub async fn advance(&self, seconds: i64) -> DateTime<Utc> {
        let r = self
            .control(
                Method::POST,
                "/simulator/v1/clock/advance",
                Some(json!({ "seconds": seconds })),
            )
            .await;
        r.expect(200);
        r.body["now"].as_str().expect("now").parse().expect("time")
    }

    /// The NxtPort call journal.
    pub async fn calls(&self) -> Vec<Value> {
        let r = self.control(Method::GET, "/simulator/v1/calls", None).await;
        r.expect(200);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// The webhook delivery journal.
    pub async fn deliveries(&self) -> Vec<Value> {
        let r = self
            .control(Method::GET, "/simulator/v1/webhook-deliveries", None)
            .await;
        r.expect(200);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// Inject a fault.
    pub async fn fault(&self, fault: Value) {
        self.control(Method::POST, "/simulator/v1/faults", Some(fault))
            .await
            .expect(201);
    }

    /// Every notification a party holds (control API), as `NotificationDetail`s.
    async fn inbox(&self, key: &str) -> Vec<Value> {
        let r = self
            .control(
                Method::GET,
                &format!("/simulator/v1/parties/{key}/notifications"),
                None,
            )
            .await;
        r.expect(200);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// Events a party received for a container, in order.
    pub async fn events(&self, key: &str, eq: &str) -> Vec<String> {
        self.inbox(key)
            .await
            .iter()
            .filter(|n| n["equipmentNumber"] == json!(eq))
            .map(|n| n["event"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn parse_parties(v: &Value) -> HashMap<String, Party> {
    serde_json::from_value::<Vec<Party>>(v.clone())
        .expect("parties")
        .into_iter()
        .map(|p| (p.key.clone(), p))
        .collect()
}

/// The parties of the default fixture, logged in.
pub struct Cast {
    pub psa: Caller,
    pub dpworld: Caller,
    pub agent: Caller,
    pub forwarder: Caller,
    pub trucker: Caller,
    pub trucker2: Caller,
    pub barge: Caller,
    pub rail: Caller,
}

/// `{"identificationType": 0, "identificationCode": id}` (NxtEntityId by int value).
pub fn by_id(p: &Party) -> Value {
    json!({ "identificationType": 0, "identificationCode": p.nxt_entity_id })
}

/// Merge the fields of `extra` into `base` (both objects).
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
    base
}

/// A logged-in party.
#[derive(Clone)]
pub struct Caller {
    pub party: Party,
    pub token: String,
    /// Subscription key sent as `Ocp-Apim-Subscription-Key` (None: not sent).
    pub key: Option<String>,
    pub sim: Sim,
}

impl Caller {
    /// The same party with other credentials (to test refusals).
    pub fn with(&self, token: &str, key: Option<&str>) -> Caller {
        Caller {
            token: token.to_owned(),
            key: key.map(str::to_owned),
            ..self.clone()
        }
    }

    /// A request with this caller's credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .sim
            .http
            .request(method, format!("{}{path}", self.sim.base));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(k) = &self.key {
            req = req.header("Ocp-Apim-Subscription-Key", k);
        }
        req
    }

    /// Send a request with a JSON body (or none).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        Resp::read(req.send().await.expect("send")).await
    }

    /// Send a raw body as `application/json`.
    pub async fn raw(&self, method: Method, path: &str, body: impl Into<reqwest::Body>) -> Resp {
        let req = self
            .request(method, path)
            .header("Content-Type", "application/json")
            .body(body);
        Resp::read(req.send().await.expect("send")).await
    }

    // ----- terminal operator -----

    /// The terminal-release body.
    pub fn terminal_release_body(&self, eq: &str, action: &str) -> Value {
        json!({
            "equipmentNumber": eq,
            "portLoCode": LOCODE,
            "terminalCode": self.party.terminal_code,
            "actionType": action,
            "releaseDateTimeUtc": TS,
            "stayNumber": "STAY-1",
        })
    }

    /// `PUT .../terminal-release` (Release, Block, Scanning).
    pub async fn terminal_release(&self, eq: &str, action: &str) -> Resp {
        self.call(
            Method::PUT,
            &terminal_release_path(eq),
            Some(&self.terminal_release_body(eq, action)),
        )
        .await
    }

    /// The ingestion path of this terminal.
    pub fn ingestion_path(&self) -> String {
        format!(
            "/ingestion/v1/ingestion/{}",
            self.party.ingestion_id.as_deref().expect("ingestion id")
        )
    }

    /// The ingestion body.
    pub fn ingestion_body(&self, eq: &str, op: &str, extra: Value) -> Value {
        merge(
            json!({
                "portLoCode": LOCODE,
                "equipmentNumber": eq,
                "timestamp": TS,
                "terminalCode": self.party.terminal_code,
                "stayNumber": "STAY-1",
                "operationType": op,
            }),
            extra,
        )
    }

    /// `POST /ingestion/v1/ingestion/{id}` (Discharge, GateIn, GateOut).
    pub async fn ingest(&self, eq: &str, op: &str, extra: Value) -> Resp {
        self.call(
            Method::POST,
            &self.ingestion_path(),
            Some(&self.ingestion_body(eq, op, extra)),
        )
        .await
    }

    // ----- shipping agent, release parties, transport operators -----

    /// `PUT .../import/release-rights` with `actionType` and extra fields.
    pub async fn release_rights(&self, eq: &str, action: &str, extra: Value) -> Resp {
        let body = merge(json!({ "actionType": action }), extra);
        self.call(Method::PUT, &release_rights_path(eq), Some(&body))
            .await
    }

    /// Shipping agent: release to `to` at terminal 869.
    pub async fn release_to(&self, eq: &str, to: &Party) -> Resp {
        self.release_rights(
            eq,
            "Release",
            json!({
                "terminalCode": "869",
                "releaseTo": by_id(to),
                "billOfLadingNumbers": ["BL-1"],
                "equipmentNumber": eq,
                "portLoCode": LOCODE,
            }),
        )
        .await
    }

    /// Transport operator: assign/update/revoke a truck pickup right to an Alfapass.
    pub async fn pickup(&self, eq: &str, action: &str, alfapass: &str) -> Resp {
        let body = json!({
            "actionType": action,
            "pickupParty": {
                "partyType": "Truck",
                "identificationType": "Alfapass",
                "identificationCode": alfapass,
            },
        });
        self.call(Method::PUT, &pickup_rights_path(eq), Some(&body))
            .await
    }

    /// Barge/rail operator: name itself as the pickup party.
    pub async fn barge_rail_pickup(&self, eq: &str) -> Resp {
        let body = json!({
            "releaseIdentifier": { "equipmentNumber": eq },
            "dataBrokerNxtEntityId": self.party.nxt_entity_id,
            "actionType": 0,
            "portLoCode": LOCODE,
        });
        self.call(
            Method::PUT,
            "/certified-pickup/v1/pickup-rights/barge-rail",
            Some(&body),
        )
        .await
    }

    // ----- synchronous queries -----

    /// Truck sync validation of one container; returns the whole response.
    pub async fn truck_validation(&self, alfapass: &str, eq: &str) -> Resp {
        let body = json!({
            "alfapassNumber": alfapass,
            "releaseIdentification": [{ "equipmentNumber": eq, "billOfLadingNumbers": ["BL-1"] }],
        });
        self.call(Method::POST, &truck_validation_path(), Some(&body))
            .await
    }

    /// Barge/rail v2 validation.
    pub async fn barge_rail_validation(&self, eq: &str, mode: Value, operator: &Party) -> Resp {
        let body = json!({
            "equipmentNumber": eq,
            "billOfLadingNumbers": [],
            "meansOfTransport": mode,
            "transportOperator": by_id(operator),
        });
        self.call(Method::POST, &barge_rail_validation_path(), Some(&body))
            .await
    }

    /// Truck ownership validation.
    pub async fn ownership(&self, owner: &str, alfapass: Option<&str>, eq: &str) -> Resp {
        let mut body = json!({
            "portLoCode": LOCODE,
            "ownerNxtEntityId": owner,
            "equipmentNumber": eq,
        });
        if let Some(a) = alfapass {
            body["alfapassNumber"] = json!(a);
        }
        self.call(Method::POST, &ownership_path(), Some(&body))
            .await
    }

    /// `GET /certified-pickup/v1/notifications?{query}`.
    pub async fn notifications(&self, query: &str) -> Resp {
        self.call(
            Method::GET,
            &format!("/certified-pickup/v1/notifications?{query}"),
            None,
        )
        .await
    }

    /// Notifications for a container (asserting 200).
    pub async fn notifications_for(&self, eq: &str) -> Vec<Value> {
        let r = self.notifications(&format!("equipmentNumber={eq}")).await;
        r.expect(200);
        r.body.as_array().cloned().unwrap_or_default()
    }
}

/// The envelope inside a `NotificationDetail`.
pub fn envelope(detail: &Value) -> Value {
    serde_json::from_str(detail["message"].as_str().expect("message")).expect("envelope JSON")
}

pub fn terminal_release_path(eq: &str) -> String {
    format!("/certified-pickup/v1/{LOCODE}/containers/{eq}/import/terminal-release")
}
pub fn release_rights_path(eq: &str) -> String {
    format!("/certified-pickup/v1/{LOCODE}/containers/{eq}/import/release-rights")
}
pub fn pickup_rights_path(eq: &str) -> String {
    format!("/certified-pickup/v1/{LOCODE}/containers/{eq}/import/pickup-rights")
}
pub fn release_detail_path(eq: &str) -> String {
    format!("/certified-pickup/v1/{LOCODE}/containers/import/release-rights/{eq}")
}
pub fn truck_validation_path() -> String {
    format!("/certified-pickup/v1/{LOCODE}/sync-validation/pickup/containers")
}
pub fn barge_rail_validation_path() -> String {
    format!("/certified-pickup/v2/{LOCODE}/sync-validation/pickup/barge-rail/containers")
}
pub fn identification_path() -> String {
    format!("/certified-pickup/v1/{LOCODE}/validation/pickup/identification")
}
pub fn ownership_path() -> String {
    format!("/certified-pickup/v1/{LOCODE}/validation/ownership/truck")
}

/// Poll until a condition holds (bounded): the shared helper.
pub use super::poll::eventually;

/// A tiny webhook receiver on port 0 that answers `status` and records every JSON body.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = Arc::clone(&got);
        let server = HttpServer::new(move || {
            let sink = Arc::clone(&sink);
            App::new().default_service(web::to(move |body: web::Bytes| {
                let sink = Arc::clone(&sink);
                async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        sink.lock().push(v);
                    }
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status).expect("status"),
                    )
                    .finish()
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind receiver");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            got,
        }
    }
}
