//! The HTTP face of the simulator: NxtPort-compatible CPu routes, the token endpoint, the
//! `/simulator/v1` control API, webhook delivery, faults, the rate limit, and the terminal
//! emulations of Data Sources under `/emulations`.
//!
//! Handlers are thin (see `cpu.rs`, `control.rs`): parse at the edge into the core's newtypes,
//! call `World::apply` or a query, map the answer. The state is built once in
//! [`Application::build`], outside `HttpServer::new`, so all workers share the worlds.

pub mod control;
pub mod cpu;
pub mod edge;
pub mod error;
pub mod limit;
pub mod state;
pub mod terminals;
pub mod tick;
pub mod webhooks;

use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer};
use anyhow::Context;
use edge::JournalTag;
pub use error::ApiError;
use state::CallRecord;
pub use state::{SimConfig, SimState};
use std::net::TcpListener;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::OpenApi;

/// Arguments of `cpu-gateway simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CPU_SIM_LISTEN")]
    pub listen: String,
    /// A world file (JSON or YAML: `{parties: [...]}`) to use instead of the default world.
    #[arg(long, env = "CPU_SIM_FIXTURE")]
    pub fixture: Option<PathBuf>,
    /// Calls per minute per subscription key (NxtPort: 500); 0 turns the limit off.
    #[arg(long, default_value_t = 500, env = "CPU_SIM_RATE_LIMIT")]
    pub rate_limit: u32,
    /// Access token lifetime in seconds (virtual clock).
    #[arg(long, default_value_t = 3600, env = "CPU_SIM_TOKEN_TTL")]
    pub token_ttl: i64,
    /// Days a stay stays visible after gate out.
    #[arg(long, default_value_t = 14, env = "CPU_SIM_ARCHIVE_DAYS")]
    pub archive_days: i64,
    /// Hours notifications are kept.
    #[arg(long, default_value_t = 168, env = "CPU_SIM_RETENTION_HOURS")]
    pub retention_hours: i64,
    /// Default validity of a commercial release, in days.
    #[arg(long, default_value_t = 60, env = "CPU_SIM_RELEASE_DAYS")]
    pub release_days: i64,
}

impl SimulateArgs {
    /// The simulator configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        let mut config = SimConfig {
            rate_limit: NonZeroU32::new(self.rate_limit),
            token_ttl: (1..=315_360_000)
                .contains(&self.token_ttl)
                .then(|| chrono::Duration::try_seconds(self.token_ttl))
                .flatten()
                .context("--token-ttl must be between 1 and 315360000 seconds")?,
            ..SimConfig::default()
        };
        // Bounded so that no date arithmetic of the world can overflow (chrono panics past
        // about 2^63 milliseconds).
        let bounded = |name: &str, value: i64, unit: fn(i64) -> Option<chrono::Duration>| {
            (0..=3_660_000)
                .contains(&value)
                .then(|| unit(value))
                .flatten()
                .with_context(|| format!("--{name} must be between 0 and 3660000"))
        };
        config.world.archive_after = bounded(
            "archive-days",
            self.archive_days,
            chrono::Duration::try_days,
        )?;
        config.world.notification_retention = bounded(
            "retention-hours",
            self.retention_hours,
            chrono::Duration::try_hours,
        )?;
        config.world.release_validity = bounded(
            "release-days",
            self.release_days,
            chrono::Duration::try_days,
        )?;
        if let Some(path) = &self.fixture {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading fixture {}", path.display()))?;
            let fixture: cpu_simulator::Fixture =
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    serde_yaml::from_str(&text)
                        .with_context(|| format!("parsing fixture {}", path.display()))?
                } else {
                    serde_json::from_str(&text)
                        .with_context(|| format!("parsing fixture {}", path.display()))?
                };
            fixture
                .validate()
                .with_context(|| format!("fixture {}", path.display()))?;
            config.fixture = fixture;
        }
        Ok(config)
    }
}

/// Run `cpu-gateway simulate` until stopped.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let app = Application::build(config, &args.listen).await?;
    tracing::info!(
        "CPu simulator listening on http://127.0.0.1:{} (parties and demo credentials: GET /simulator/v1/parties, API docs: /docs)",
        app.port()
    );
    println!(
        "Sandbox: http://127.0.0.1:{}/ (act as any party, watch the lights)",
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(())
}

/// The OpenAPI document of the simulator (NxtPort surface + control API).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cpu-gateway simulator",
        description = "Offline NxtPort Certified Pick-up (CPu) sandbox: NxtPort's terminal-operator and party calls, the token endpoint, and the /simulator/v1 control API."
    ),
    paths(
        cpu::token::token,
        cpu::terminal::terminal_release,
        cpu::terminal::ingestion,
        cpu::validations::truck_validation,
        cpu::validations::barge_rail_validation,
        cpu::validations::identification_validation,
        cpu::validations::ownership_validation,
        cpu::release_detail::release_detail,
        cpu::release_detail::release_right_by_id,
        cpu::entities::entities,
        cpu::notifications::notifications,
        cpu::release_rights::release_rights,
        cpu::pickup_rights::pickup_rights,
        cpu::pickup_rights::barge_rail_pickup_rights,
        control::parties,
        control::create_world,
        control::delete_world,
        control::reset,
        control::customs,
        control::advance,
        control::clock,
        control::container,
        control::put_webhook,
        control::get_webhooks,
        control::delete_webhooks,
        control::party_notifications,
        control::deliveries,
        control::calls,
        control::add_fault,
        control::list_faults,
        control::clear_faults,
    ),
    components(schemas(cpu_contract::NotificationDetail))
)]
pub struct SimulatorApiDoc;

/// The simulator's whole OpenAPI document: the CPu surface, the control API and the terminal
/// emulations behind Data Sources (`/emulations/...`, with their demo accounts).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = SimulatorApiDoc::openapi();
    doc.merge(terminals::EmulationsApiDoc::openapi());
    doc
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(openapi_document())
}

/// The methods a simulator path allows, from its OpenAPI document.
fn allowed(path: &str) -> Vec<&'static str> {
    static ROUTES: std::sync::OnceLock<crate::http_edge::RouteTable> = std::sync::OnceLock::new();
    ROUTES
        .get_or_init(|| crate::http_edge::RouteTable::of(&openapi_document()))
        .allowed(path)
}

async fn method_not_allowed(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        allow: allowed(req.path()).join(", "),
    })
}

/// The default service: 405 with `Allow` when the path exists with other methods, else 404.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let allow = allowed(req.path());
    if !allow.is_empty() && !allow.contains(&req.method().as_str()) {
        return Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow: allow.join(", "),
        });
    }
    Err(ApiError::NotFound("No such resource".into()))
}

/// A refusal that is not JSON (a framework answer: body over actix's limit, a query or path
/// that does not deserialize) becomes ProblemDetails, like every other refusal.
pub fn problem_refusal<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::dev::ServiceResponse<actix_web::body::BoxBody> {
    use actix_web::ResponseError;
    let status = res.status();
    if status.as_u16() < 400 || crate::http_edge::refusal_has_own_body(res.headers()) {
        return res.map_into_boxed_body();
    }
    let error = match status.as_u16() {
        401 => ApiError::Unauthorized("Unauthorized".into()),
        404 => ApiError::NotFound("No such resource".into()),
        405 => ApiError::InvalidInput("Invalid input".into()),
        413 => ApiError::PayloadTooLarge(
            res.request()
                .app_data::<web::Data<SimState>>()
                .map_or(0, |s| s.config.max_body_bytes),
        ),
        429 => ApiError::TooManyRequests(1),
        s if s >= 500 => ApiError::Internal(s),
        _ => ApiError::BadRequest {
            field: None,
            detail: "The request is malformed".into(),
        },
    };
    let mut resp = error.error_response();
    for (k, v) in res.headers() {
        if matches!(k.as_str(), "allow" | "retry-after") {
            resp.headers_mut().insert(k.clone(), v.clone());
        }
    }
    res.into_response(resp)
}

/// Mount every simulator route (also used by the gateway's embedded sim mode).
pub fn configure(cfg: &mut web::ServiceConfig) {
    use cpu_contract::paths as p;
    let res =
        |path: &str| web::resource(path.to_owned()).default_service(web::to(method_not_allowed));
    cfg.service(res(p::TOKEN).route(web::post().to(cpu::token::token)))
        .service(
            res(p::TERMINAL_RELEASE_ROUTE).route(web::put().to(cpu::terminal::terminal_release)),
        )
        .service(res(p::INGESTION_ROUTE).route(web::post().to(cpu::terminal::ingestion)))
        .service(
            res(p::TRUCK_SYNC_VALIDATION_ROUTE)
                .route(web::post().to(cpu::validations::truck_validation)),
        )
        .service(
            res(p::BARGE_RAIL_SYNC_VALIDATION_ROUTE)
                .route(web::post().to(cpu::validations::barge_rail_validation)),
        )
        .service(
            res(p::IDENTIFICATION_VALIDATION_ROUTE)
                .route(web::post().to(cpu::validations::identification_validation)),
        )
        .service(
            res(p::TRUCK_OWNERSHIP_VALIDATION_ROUTE)
                .route(web::post().to(cpu::validations::ownership_validation)),
        )
        .service(
            res(p::RELEASE_DETAIL_ROUTE).route(web::get().to(cpu::release_detail::release_detail)),
        )
        .service(
            res("/certified-pickup/v1/release-rights")
                .route(web::get().to(cpu::release_detail::release_right_by_id)),
        )
        .service(res(p::ENTITIES).route(web::get().to(cpu::entities::entities)))
        .service(res(p::NOTIFICATIONS).route(web::get().to(cpu::notifications::notifications)))
        .service(
            res(p::RELEASE_RIGHTS_ROUTE).route(web::put().to(cpu::release_rights::release_rights)),
        )
        .service(
            res(p::PICKUP_RIGHTS_ROUTE).route(web::put().to(cpu::pickup_rights::pickup_rights)),
        )
        .service(
            res(p::BARGE_RAIL_PICKUP_RIGHTS)
                .route(web::put().to(cpu::pickup_rights::barge_rail_pickup_rights)),
        )
        .service(res("/simulator/v1/parties").route(web::get().to(control::parties)))
        .service(res("/simulator/v1/worlds").route(web::post().to(control::create_world)))
        .service(res("/simulator/v1/worlds/{id}").route(web::delete().to(control::delete_world)))
        .service(res("/simulator/v1/reset").route(web::post().to(control::reset)))
        .service(res("/simulator/v1/clock").route(web::get().to(control::clock)))
        .service(res("/simulator/v1/clock/advance").route(web::post().to(control::advance)))
        .service(res("/simulator/v1/webhook-deliveries").route(web::get().to(control::deliveries)))
        .service(res("/simulator/v1/calls").route(web::get().to(control::calls)))
        .service(
            res("/simulator/v1/faults")
                .route(web::post().to(control::add_fault))
                .route(web::get().to(control::list_faults))
                .route(web::delete().to(control::clear_faults)),
        )
        .service(
            res("/simulator/v1/parties/{party}/webhooks")
                .route(web::put().to(control::put_webhook))
                .route(web::get().to(control::get_webhooks))
                .route(web::delete().to(control::delete_webhooks)),
        )
        .service(
            res("/simulator/v1/parties/{party}/notifications")
                .route(web::get().to(control::party_notifications)),
        )
        .service(
            res("/simulator/v1/{locode}/containers/{equipment}/customs")
                .route(web::put().to(control::customs)),
        )
        .service(
            res("/simulator/v1/{locode}/containers/{equipment}")
                .route(web::get().to(control::container)),
        )
        .route("/openapi.json", web::get().to(openapi_json))
        .route(
            "/health",
            web::get()
                .to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
        );
}

/// A running simulator server.
pub struct Application {
    port: u16,
    server: Server,
    state: Arc<SimState>,
}

impl Application {
    /// Bind `listen` (use port 0 in tests), build the state and the server, start webhook delivery.
    pub async fn build(config: SimConfig, listen: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
        let port = listener.local_addr()?.port();
        let (state, rx) = SimState::new(config)?;
        tokio::spawn(webhooks::run(Arc::clone(&state), rx));
        tokio::spawn(tick::run(Arc::clone(&state), state.config.tick_interval));
        let data = web::Data::from(Arc::clone(&state));
        let emulations = terminals::EmulationsState::new();
        let server = HttpServer::new(move || {
            let emulations = emulations.clone();
            App::new()
                .app_data(data.clone())
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    ApiError::BadRequest {
                        field: None,
                        detail: crate::http_edge::clean_serde_message(&e.to_string()),
                    }
                    .into()
                }))
                .app_data(web::PathConfig::default().error_handler(|e, _| {
                    ApiError::BadRequest {
                        field: None,
                        detail: crate::http_edge::clean_serde_message(&e.to_string()),
                    }
                    .into()
                }))
                .wrap_fn(|req, srv| {
                    let fut = srv.call(req);
                    async move { Ok(problem_refusal(fut.await?)) }
                })
                .wrap_fn(|req, srv| {
                    let (method, path) = (req.method().to_string(), req.path().to_owned());
                    let external = req
                        .headers()
                        .get(cpu_contract::EXTERNAL_REFERENCE_ID)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        let tag = res.request().extensions().get::<JournalTag>().cloned();
                        if let Some(tag) = tag {
                            tag.world.record_call(CallRecord {
                                method,
                                path,
                                status: res.status().as_u16(),
                                party: Some(tag.party.key.clone()),
                                external_reference_id: external,
                                at: chrono::Utc::now(),
                            });
                        }
                        Ok(res)
                    }
                })
                // The sandbox pages (`/`, `/sandbox`) and the offline `/docs` first.
                .configure(crate::sandbox::configure)
                .configure(configure)
                .configure(move |cfg| terminals::configure_emulations(cfg, emulations))
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .disable_signals()
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests, embedding).
    pub fn state(&self) -> Arc<SimState> {
        Arc::clone(&self.state)
    }

    /// Serve until the process stops (Ctrl-C stops it).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                handle.stop(true).await;
            }
        });
        self.server.await
    }
}
