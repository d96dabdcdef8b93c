//! The baseline of the throughput benchmarks: the most trivial actix-web handler (it reads the
//! JSON body and answers a constant JSON), on the same runtime settings as the simulator.
//! Usage: `cargo run --release --example trivial_server -- 127.0.0.1:18090`

use actix_web::{web, App, HttpResponse, HttpServer};

// The same allocator as `cpu-gateway`, so the comparison is of the handlers only.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn handler(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(format!("{{\"received\":{}}}", body.len()))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    HttpServer::new(|| App::new().default_service(web::to(handler)))
        .bind(addr)?
        .run()
        .await
}
