//! `/docs` on both servers: Swagger UI with its assets compiled into the binary
//! (utoipa-swagger-ui's `vendored` feature), so the API reference works offline and every
//! request it makes goes to the same origin (the validator badge, which would call
//! validator.swagger.io, is turned off).

use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::{Config, SwaggerUi};

async fn to_docs() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// Mount `/docs` (redirect) and `/docs/...` (Swagger UI reading `openapi_url`, served by the
/// app itself). Register before any other `/docs` route.
pub fn configure(openapi_url: &'static str) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.route("/docs", web::get().to(to_docs)).service(
            SwaggerUi::new("/docs/{_:.*}").config(
                Config::new([openapi_url])
                    .validator_url("none")
                    .try_it_out_enabled(true),
            ),
        );
    }
}
