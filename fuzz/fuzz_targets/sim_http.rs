//! The simulator's HTTP edge, in process: every NxtPort call of `cpu-gateway simulate` (and the
//! token endpoint) with an authenticated party, a body that is either raw bytes or a valid body
//! with arbitrary edits (any field set to any JSON value, timestamps with odd years, leap
//! seconds), and an arbitrary query string. The world persists across inputs (reset every
//! 2,000), so sequences reach deep states. Nothing may panic; every refusal must be a JSON body.
//!
//! The actix runtime and service live on a worker thread of their own that never ends: libFuzzer
//! hands each input over a channel and waits for the answer. When libFuzzer ends the run it
//! calls `exit` on its own thread, so nothing of actix is torn down (its thread-local request
//! pool, dropped after the thread-local storage it needs, read as a crash of the empty input
//! when the harness lived in libFuzzer's thread). A panic on the worker still aborts the process
//! through libfuzzer-sys' panic hook, with the input that caused it.

#![no_main]

use actix_web::body::MessageBody;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use arbitrary::Arbitrary;
use cpu_gateway::simulate::state::{Principal, DEFAULT_WORLD};
use cpu_gateway::simulate::{SimConfig, SimState};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{channel, sync_channel, Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Arbitrary)]
enum Json {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A timestamp with an arbitrary (signed, long) year and seconds field.
    Time {
        year: i32,
        sign: bool,
        second: u8,
        fraction: u16,
        suffix: u8,
    },
    List(Vec<String>),
    Party {
        kind: u8,
        code: String,
    },
}

#[derive(Debug, Arbitrary)]
enum Body {
    Raw(Vec<u8>),
    Edited(Vec<(u8, Json)>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    route: u8,
    caller: u8,
    container: u8,
    body: Body,
    query: String,
}

const FIELDS: [&str; 24] = [
    "equipmentNumber",
    "portLoCode",
    "terminalCode",
    "actionType",
    "releaseDateTimeUtc",
    "expirationDateTimeUtc",
    "validFrom",
    "timestamp",
    "operationType",
    "fullEmptyIndicator",
    "modeOfTransport",
    "billOfLadingNumbers",
    "equipmentStatus",
    "releaseTo",
    "carrier",
    "releaseIdentification",
    "releaseId",
    "pickupParty",
    "alfapassNumber",
    "ownerNxtEntityId",
    "transportOperator",
    "meansOfTransport",
    "identificationType",
    "stayNumber",
];

const KEYS: [&str; 9] = [
    "psa",
    "dpworld",
    "agent",
    "forwarder",
    "trucker",
    "trucker2",
    "barge",
    "rail",
    "customs",
];

const CONTAINERS: [&str; 3] = ["MSCU1234566", "CSQU3054383", "MSCU1234565"];

type Call =
    Box<dyn Fn(actix_http::Request) -> Pin<Box<dyn Future<Output = (u16, Vec<u8>, String)>>>>;

struct Harness {
    runtime: actix_web::rt::SystemRunner,
    call: Call,
    state: Arc<SimState>,
    /// (token, subscription key, ingestion id) per party of `KEYS`.
    callers: Vec<(String, String, String)>,
    inputs: u64,
}

impl Harness {
    fn new() -> Harness {
        let runtime = actix_web::rt::System::new();
        let config = SimConfig {
            rate_limit: None,
            frozen_clock: chrono::DateTime::from_timestamp(1_780_000_000, 0),
            ..SimConfig::default()
        };
        let (state, _rx) = SimState::new(config).expect("state");
        let world = state.world(DEFAULT_WORLD).expect("world");
        let callers = KEYS
            .iter()
            .map(|k| {
                let p = world
                    .read()
                    .parties()
                    .iter()
                    .find(|p| p.key == *k)
                    .cloned()
                    .expect("party");
                let (token, _, _) = state
                    .issue_token(&Principal {
                        world: DEFAULT_WORLD.into(),
                        party: p.nxt_entity_id.clone(),
                    })
                    .expect("token");
                (
                    token,
                    p.credentials.subscription_key.clone(),
                    p.ingestion_id.map(|i| i.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        let data = web::Data::from(Arc::clone(&state));
        let service = runtime.block_on(test::init_service(
            // As `simulate::Application::build` assembles it (less the call journal).
            App::new()
                .app_data(data)
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service;
                    let fut = srv.call(req);
                    async move { Ok(cpu_gateway::simulate::problem_refusal(fut.await?)) }
                })
                .configure(cpu_gateway::simulate::configure)
                .default_service(web::to(cpu_gateway::simulate::not_found)),
        ));
        let service = std::rc::Rc::new(service);
        let call: Call = Box::new(move |req| {
            let service = std::rc::Rc::clone(&service);
            Box::pin(async move {
                let resp = test::call_service(&*service, req).await;
                let status = resp.status().as_u16();
                let ctype = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body = resp
                    .into_body()
                    .try_into_bytes()
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                (status, body, ctype)
            })
        });
        Harness {
            runtime,
            call,
            state,
            callers,
            inputs: 0,
        }
    }
}

/// The worker's inbox: an input and where to say it is done.
type Job = (Input, SyncSender<()>);

/// The worker thread (started on the first input, never joined, never dropped).
fn worker() -> &'static Mutex<Sender<Job>> {
    static WORKER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("sim_http-harness".into())
            .spawn(move || {
                let mut h = Harness::new();
                for (input, done) in rx {
                    run(&mut h, &input);
                    let _ = done.send(());
                }
            })
            .expect("spawn the harness thread");
        Mutex::new(tx)
    })
}

fn value(v: &Json) -> Value {
    match v {
        Json::Str(s) => json!(s),
        Json::Int(i) => json!(i),
        Json::Float(f) => json!(f),
        Json::Bool(b) => json!(b),
        Json::Null => Value::Null,
        Json::Time {
            year,
            sign,
            second,
            fraction,
            suffix,
        } => {
            let y = if *sign {
                format!("{year:+}")
            } else {
                format!("{:04}", year.unsigned_abs() % 100_000)
            };
            let tail = ["Z", "", "+00:00", "+02:00", "-23:59"][*suffix as usize % 5];
            json!(format!(
                "{y}-12-31T23:59:{:02}.{fraction}{tail}",
                second % 62
            ))
        }
        Json::List(l) => json!(l),
        Json::Party { kind, code } => {
            json!({"identificationType": kind % 9, "identificationCode": code})
        }
    }
}

fn base(route: u8, eq: &str) -> Value {
    match route {
        0 => json!({"equipmentNumber": eq, "portLoCode": "BEANR", "terminalCode": "869",
                    "actionType": "Release", "releaseDateTimeUtc": "2026-05-28T10:00:00Z"}),
        1 => json!({"equipmentNumber": eq, "portLoCode": "BEANR", "terminalCode": "869",
                    "operationType": "Discharge", "timestamp": "2026-05-28T10:00:00Z"}),
        2 => json!({"actionType": "Release", "terminalCode": "869",
                    "releaseTo": {"identificationType": "NxtEntityId", "identificationCode": "NXT00000000004"},
                    "releaseIdentification": "R1"}),
        3 => json!({"actionType": "Assign", "pickupParty": {"partyType": "Truck",
                    "identificationType": "Alfapass", "identificationCode": "AP1000001"}}),
        4 => json!({"actionType": "Assign", "releaseIdentifier": {"equipmentNumber": eq},
                    "dataBrokerNxtEntityId": "NXT00000000007"}),
        5 => {
            json!({"alfapassNumber": "AP1000001", "releaseIdentification": [{"equipmentNumber": eq}]})
        }
        6 => json!({"equipmentNumber": eq, "billOfLadingNumbers": [], "meansOfTransport": "Barge",
                    "transportOperator": {"identificationType": "NxtEntityId", "identificationCode": "NXT00000000007"}}),
        7 => json!({"identificationType": "Alfapass", "identificationCode": "AP1000001"}),
        8 => json!({"ownerNxtEntityId": "NXT00000000005", "equipmentNumber": eq}),
        _ => json!({}),
    }
}

fuzz_target!(|input: Input| {
    let (done, wait) = sync_channel(1);
    worker()
        .lock()
        .expect("harness inbox")
        .send((input, done))
        .expect("harness thread alive");
    // A panic on the worker aborts the process before this returns.
    wait.recv().expect("harness thread alive");
});

/// One input against the simulator's HTTP edge (on the worker thread).
fn run(h: &mut Harness, input: &Input) {
    h.inputs += 1;
    if h.inputs % 2_000 == 0 {
        if let Ok(w) = h.state.world(DEFAULT_WORLD) {
            let _ = h.state.reset_world(&w);
        }
    }
    let (token, key, ingestion) = &h.callers[input.caller as usize % KEYS.len()];
    let eq = CONTAINERS[input.container as usize % CONTAINERS.len()];
    let route = input.route % 13;
    let body = match &input.body {
        Body::Raw(b) => b.clone(),
        Body::Edited(edits) => {
            let mut v = base(route, eq);
            for (field, new) in edits.iter().take(8) {
                if let Value::Object(m) = &mut v {
                    m.insert(FIELDS[*field as usize % FIELDS.len()].into(), value(new));
                }
            }
            v.to_string().into_bytes()
        }
    };
    let q: String = input
        .query
        .chars()
        .filter(|c| !c.is_control() && *c != ' ' && *c != '#')
        .take(200)
        .collect();
    let (method, path) = match route {
        0 => (
            "PUT",
            format!("/certified-pickup/v1/BEANR/containers/{eq}/import/terminal-release"),
        ),
        1 => ("POST", format!("/ingestion/v1/ingestion/{ingestion}")),
        2 => (
            "PUT",
            format!("/certified-pickup/v1/BEANR/containers/{eq}/import/release-rights"),
        ),
        3 => (
            "PUT",
            format!("/certified-pickup/v1/BEANR/containers/{eq}/import/pickup-rights"),
        ),
        4 => (
            "PUT",
            "/certified-pickup/v1/pickup-rights/barge-rail".into(),
        ),
        5 => (
            "POST",
            "/certified-pickup/v1/BEANR/sync-validation/pickup/containers".into(),
        ),
        6 => (
            "POST",
            "/certified-pickup/v2/BEANR/sync-validation/pickup/barge-rail/containers".into(),
        ),
        7 => (
            "POST",
            "/certified-pickup/v1/BEANR/validation/pickup/identification".into(),
        ),
        8 => (
            "POST",
            "/certified-pickup/v1/BEANR/validation/ownership/truck".into(),
        ),
        9 => (
            "GET",
            format!("/certified-pickup/v1/BEANR/containers/import/release-rights/{eq}"),
        ),
        10 => ("GET", format!("/certified-pickup/v1/notifications?{q}")),
        11 => ("GET", format!("/certified-pickup/v1/entities?{q}")),
        _ => ("POST", "/connect/token".into()),
    };
    let Ok(method) = actix_web::http::Method::from_bytes(method.as_bytes()) else {
        return;
    };
    // TestRequest panics on a URI that does not parse; a real client could not send it.
    if path.parse::<actix_web::http::Uri>().is_err() {
        return;
    }
    let req = TestRequest::default()
        .method(method)
        .uri(&path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Ocp-Apim-Subscription-Key", key.as_str()))
        .insert_header((
            "Content-Type",
            if route == 12 {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            },
        ))
        .set_payload(body)
        .to_request();
    let (status, body, ctype) = h.runtime.block_on((h.call)(req));
    if status >= 400 {
        assert!(
            ctype.starts_with("application/json"),
            "{status} answered {ctype} on {path}"
        );
        assert!(
            serde_json::from_slice::<Value>(&body).is_ok(),
            "{status} on {path} is not JSON: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // The ownership validation documents a 500 for bodies CPu cannot use; nothing else may.
    assert!(
        status < 500 || route == 8,
        "{status} on {path}: {}",
        String::from_utf8_lossy(&body)
    );
}
