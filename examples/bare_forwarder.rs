//! The ceiling of any HTTP gateway on this machine, for `bench/gateway_overhead.sh`: an
//! actix-web handler that forwards the request body to one upstream URL with reqwest (one
//! shared client, keep-alive pool) and returns the upstream's body. No authentication, input
//! validation, budget, retries, metrics or logging: what is left is the cost of the second HTTP
//! hop itself (server + client + two more socket round trips), on the same runtime settings
//! and allocator as `cpu-gateway`.
//! Usage: `bare_forwarder LISTEN UPSTREAM_URL AUTHORIZATION SUBSCRIPTION_KEY`

use actix_web::{web, App, HttpResponse, HttpServer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Upstream {
    client: reqwest::Client,
    url: String,
    authorization: String,
    subscription_key: String,
}

async fn forward(upstream: web::Data<Upstream>, body: web::Bytes) -> HttpResponse {
    let sent = upstream
        .client
        .post(&upstream.url)
        .header("Authorization", &upstream.authorization)
        .header("Ocp-Apim-Subscription-Key", &upstream.subscription_key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(response) => response.bytes().await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/json")
            .body(bytes),
        Err(e) => HttpResponse::BadGateway().body(e.to_string()),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, url, authorization, subscription_key] = args.as_slice() else {
        eprintln!("usage: bare_forwarder LISTEN UPSTREAM_URL AUTHORIZATION SUBSCRIPTION_KEY");
        std::process::exit(2);
    };
    let upstream = web::Data::new(Upstream {
        client: reqwest::Client::new(),
        url: url.clone(),
        authorization: authorization.clone(),
        subscription_key: subscription_key.clone(),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(upstream.clone())
            .default_service(web::to(forward))
    })
    .bind(listen.as_str())?
    .run()
    .await
}
