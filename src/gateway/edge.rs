//! The gateway's request edge, for every route (its own `/v1` API and Data Sources alike):
//!
//! - a **body deadline**: a request body that has not fully arrived `limits.body_timeout_ms`
//!   after the request reached a handler is cut with 408 and the connection closed (actix only
//!   bounds the time to receive the headers);
//! - **one error envelope**: the extractors of actix (query, JSON, path, form) fail with the
//!   envelope, a wrong method answers 405 with `Allow` (computed from the OpenAPI document, so
//!   a route added there is covered), and any refusal that still is not JSON (a framework
//!   `text/plain` answer) is rewritten into the envelope, so a client only ever parses one shape.

use super::error::ApiError;
use crate::http_edge::{clean_serde_message, RouteTable};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use futures::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// Set on a request whose body missed its deadline.
#[derive(Clone, Default)]
struct TimedOut(Arc<AtomicBool>);

/// A payload that fails once its deadline has passed.
struct Deadline<S> {
    inner: S,
    sleep: Pin<Box<tokio::time::Sleep>>,
    flag: TimedOut,
    done: bool,
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    type Item = Result<Bytes, actix_web::error::PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.flag.0.store(true, Ordering::Relaxed);
                    self.done = true;
                    Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timed out"),
                    ))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Put the body deadline on a request (call before the handler runs).
pub fn start_body_deadline(req: &mut ServiceRequest, timeout: Duration) -> impl Fn() -> bool {
    let flag = TimedOut::default();
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        let inner = req.take_payload();
        let timed = Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            flag: flag.clone(),
            done: false,
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(timed),
        });
    }
    move || flag.0.load(Ordering::Relaxed)
}

/// The answer to a request whose body missed its deadline (whatever the handler made of it).
pub fn timed_out<B>(res: ServiceResponse<B>) -> ServiceResponse<BoxBody> {
    let mut resp = ApiError::RequestTimeout.error_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res.into_response(resp)
}

/// Turn a refusal that is not JSON (a framework answer) into the envelope.
pub fn envelope_refusal<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if status.as_u16() < 400 || crate::http_edge::refusal_has_own_body(res.headers()) {
        return res.map_into_boxed_body();
    }
    let error = match status.as_u16() {
        400 => ApiError::MalformedJson("the request is malformed".into()),
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden("forbidden".into()),
        404 => ApiError::NotFound("route"),
        405 => ApiError::MethodNotAllowed(String::new()),
        408 => ApiError::RequestTimeout,
        413 => ApiError::PayloadTooLarge(0),
        415 => ApiError::UnsupportedMediaType,
        429 => ApiError::RateLimited {
            retry_after_secs: 1,
        },
        _ => ApiError::Internal(anyhow::anyhow!("{status} answered without a JSON body")),
    };
    let keep: Vec<(header::HeaderName, HeaderValue)> = res
        .headers()
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "allow" | "retry-after" | "www-authenticate" | "connection"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut resp = HttpResponse::build(status);
    for kv in keep {
        resp.insert_header(kv);
    }
    let mut envelope = error.envelope();
    if status.as_u16() == 413 {
        envelope.error.message = "request body too large".into();
    }
    let resp = resp.json(envelope);
    res.into_response(resp)
}

/// The route pattern of each request path (`/v1/operations/{id}`), for the access log and the
/// request counter. actix's `match_pattern` walks the whole route table, running the regex of
/// every dynamic route on the way, on each call (about 12,000 instructions per request, more than
/// the rest of the logging and metrics); the table does not change once the server runs, so the
/// pattern of a static route's path is kept after its first request. Paths of dynamic routes
/// (ids) and unmatched paths are looked up every time: the kept set is bounded by the number of
/// static routes, whatever the callers send.
#[derive(Debug, Default)]
pub struct RoutePatterns {
    static_routes: dashmap::DashMap<String, Arc<str>>,
}

impl RoutePatterns {
    /// The pattern of `req`'s route, or `unmatched`.
    pub fn of(&self, req: &ServiceRequest) -> Arc<str> {
        if let Some(known) = self.static_routes.get(req.path()) {
            return Arc::clone(&known);
        }
        let Some(pattern) = req.match_pattern() else {
            return Arc::from("unmatched");
        };
        let pattern: Arc<str> = Arc::from(pattern);
        if *pattern == *req.path() {
            self.static_routes
                .insert(req.path().to_owned(), Arc::clone(&pattern));
        }
        pattern
    }
}

/// The methods a path of the gateway allows (empty: no such route), from its OpenAPI document.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    static ROUTES: OnceLock<RouteTable> = OnceLock::new();
    ROUTES
        .get_or_init(|| RouteTable::of(&super::openapi_document()))
        .allowed(path)
}

/// The default service: 405 with `Allow` when the path exists with other methods, else 404.
pub async fn fallback(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return Err(ApiError::NotFound("route"));
    }
    Err(ApiError::MethodNotAllowed(allowed.join(", ")))
}

/// Extractor configurations whose errors are the envelope (query strings, JSON, paths, forms).
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default().error_handler(|e, _| {
            ApiError::InvalidQuery(clean_serde_message(&e.to_string())).into()
        }),
    )
    .app_data(web::JsonConfig::default().error_handler(|e, _| {
        use actix_web::error::JsonPayloadError as J;
        match e {
            J::OverflowKnownLength { limit, .. } | J::Overflow { limit } => {
                ApiError::PayloadTooLarge(limit).into()
            }
            J::ContentType => ApiError::UnsupportedMediaType.into(),
            other => ApiError::MalformedJson(format!(
                "body is not valid JSON: {}",
                clean_serde_message(&other.to_string())
            ))
            .into(),
        }
    }))
    .app_data(
        web::PathConfig::default().error_handler(|e, _| {
            ApiError::field("path", clean_serde_message(&e.to_string())).into()
        }),
    )
    .app_data(
        web::FormConfig::default().error_handler(|e, _| {
            ApiError::MalformedJson(clean_serde_message(&e.to_string())).into()
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_come_from_the_document() {
        assert_eq!(allowed_methods("/v1/discharges"), vec!["POST"]);
        assert_eq!(
            allowed_methods("/v1/connections/nxtport"),
            vec!["DELETE", "GET", "PUT"]
        );
        assert_eq!(allowed_methods("/v1/operations/abc"), vec!["GET"]);
        assert!(allowed_methods("/v1/nope").is_empty());
    }
}
