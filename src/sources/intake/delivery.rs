//! A webhook delivery, checked: its credentials (bearer secret or a fresh HMAC signature) and
//! its body (exactly the documented `onRelease`).

use hmac::Mac;
use serde::Deserialize;

use crate::api::ErrorCode;
use crate::sources::service::SourcesError;

pub use crate::terminals::tmining::{sign, SIGNATURE_HEADER};
/// Oldest accepted signature timestamp, and the furthest in the future.
pub const MAX_SKEW_SECS: i64 = 300;
/// Largest accepted webhook body.
pub const MAX_WEBHOOK_BODY: usize = 4 * 1024;
/// The documented `onRelease` events.
pub const ON_RELEASE_EVENTS: [&str; 7] = [
    "transfer",
    "update",
    "block",
    "unblock",
    "delete",
    "revoke",
    "greenlights",
];

/// The documented `onRelease` body, exactly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnRelease {
    release: String,
    event: String,
    #[expect(
        dead_code,
        reason = "documented field, required but not used for routing"
    )]
    organization: String,
    #[expect(
        dead_code,
        reason = "documented field, required but not used for routing"
    )]
    vat: String,
}

/// How a delivery presented itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookAuth<'a> {
    pub authorization: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook with this id")]
    UnknownWebhook,
    #[error("{message}")]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    #[error(transparent)]
    Internal(#[from] SourcesError),
}

fn refused(status: u16, code: ErrorCode, message: impl Into<String>) -> WebhookError {
    WebhookError::Refused {
        status,
        code,
        message: message.into(),
    }
}

/// Check a delivery's credentials against the connection's secret.
pub(super) fn verify(
    secret: &str,
    auth: WebhookAuth<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    if let Some(token) = auth
        .authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
    {
        use subtle_eq::ct_eq;
        if ct_eq(token.as_bytes(), secret.as_bytes()) {
            return Ok(());
        }
        return Err(refused(
            401,
            ErrorCode::InvalidSignature,
            "the bearer token is not this webhook's secret",
        ));
    }
    let Some(sig) = auth.signature else {
        return Err(refused(
            401,
            ErrorCode::MissingSignature,
            format!("neither Authorization: Bearer nor {SIGNATURE_HEADER} was sent"),
        ));
    };
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(refused(
            401,
            ErrorCode::InvalidSignature,
            format!("{SIGNATURE_HEADER} must be t=<unix seconds>,v1=<hex HMAC-SHA256>"),
        ));
    };
    if (now_secs - t).abs() > MAX_SKEW_SECS {
        return Err(refused(
            401,
            ErrorCode::StaleSignature,
            format!("the signature is {} s away from now (at most {MAX_SKEW_SECS} s): a replay or a wrong clock", (now_secs - t).abs()),
        ));
    }
    crate::terminals::tmining::mac(secret, t, body)
        .verify_slice(&v1)
        .map_err(|_| {
            refused(
                401,
                ErrorCode::InvalidSignature,
                "the signature does not match the body and this webhook's secret",
            )
        })
}

/// Constant-time comparison without another dependency.
mod subtle_eq {
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Parse and check a delivery body: `(release, event)`.
pub(super) fn parse_on_release(body: &[u8]) -> Result<(String, String), WebhookError> {
    if body.len() > MAX_WEBHOOK_BODY {
        return Err(refused(
            413,
            ErrorCode::PayloadTooLarge,
            format!("webhook bodies are at most {MAX_WEBHOOK_BODY} bytes"),
        ));
    }
    let b: OnRelease = serde_json::from_slice(body).map_err(|e| {
        refused(
            400,
            ErrorCode::InvalidWebhookBody,
            format!(
                "the body must be exactly {{release, event, organization, vat}} (strings): {}",
                e.to_string().chars().take(120).collect::<String>()
            ),
        )
    })?;
    let event = b.event.trim().to_ascii_lowercase();
    if !ON_RELEASE_EVENTS.contains(&event.as_str()) {
        return Err(refused(
            400,
            ErrorCode::UnknownEvent,
            format!(
                "event '{}' is not an onRelease event ({})",
                b.event.chars().take(30).collect::<String>(),
                ON_RELEASE_EVENTS.join(", ")
            ),
        ));
    }
    let release = b.release.trim();
    let hex = release.strip_prefix("0x").unwrap_or("");
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(refused(
            400,
            ErrorCode::InvalidWebhookBody,
            "release must be a release address (0x followed by hex digits)",
        ));
    }
    Ok((release.to_string(), event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_bearer() {
        let body = br#"{"release":"0x01","event":"TRANSFER","organization":"0x02","vat":"BE1"}"#;
        let sig = sign("s3cret", 1_000, body);
        let ok = |auth| verify("s3cret", auth, body, 1_100);
        assert!(ok(WebhookAuth {
            authorization: None,
            signature: Some(&sig)
        })
        .is_ok());
        assert!(ok(WebhookAuth {
            authorization: Some("Bearer s3cret"),
            signature: None
        })
        .is_ok());
        let code = |r: Result<(), WebhookError>| match r {
            Err(WebhookError::Refused { code, .. }) => code.as_str(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(ok(WebhookAuth {
                authorization: Some("Bearer nope"),
                signature: None
            })),
            "invalid_signature"
        );
        assert_eq!(code(ok(WebhookAuth::default())), "missing_signature");
        assert_eq!(
            code(verify(
                "other",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                body,
                1_100
            )),
            "invalid_signature"
        );
        // A replay after five minutes.
        assert_eq!(
            code(verify(
                "s3cret",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                body,
                1_000 + MAX_SKEW_SECS + 1
            )),
            "stale_signature"
        );
        // The body is part of the signature.
        assert_eq!(
            code(verify(
                "s3cret",
                WebhookAuth {
                    authorization: None,
                    signature: Some(&sig)
                },
                b"{}",
                1_100
            )),
            "invalid_signature"
        );
    }

    #[test]
    fn only_the_documented_body() {
        assert_eq!(
            parse_on_release(br#"{"release":"0x24Fc2D465AaAbf47DA7284920A7B5c3b368EC1D9","event":"TRANSFER","organization":"0x78f1","vat":"BE2020112701"}"#).expect("ok"),
            ("0x24Fc2D465AaAbf47DA7284920A7B5c3b368EC1D9".to_string(), "transfer".to_string())
        );
        for e in ON_RELEASE_EVENTS {
            let b = format!(
                r#"{{"release":"0xab","event":"{}","organization":"0x1","vat":"BE1"}}"#,
                e.to_ascii_uppercase()
            );
            assert!(parse_on_release(b.as_bytes()).is_ok(), "{e}");
        }
        let code = |b: &[u8]| match parse_on_release(b) {
            Err(WebhookError::Refused { code, .. }) => code.as_str(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(br#"{"release":"0xab","event":"explode","organization":"0x1","vat":"BE1"}"#),
            "unknown_event"
        );
        assert_eq!(
            code(br#"{"release":"0xab","event":"update","organization":"0x1"}"#),
            "invalid_webhook_body"
        );
        assert_eq!(code(br#"{"release":"0xab","event":"update","organization":"0x1","vat":"BE1","containerNumber":"X"}"#), "invalid_webhook_body");
        assert_eq!(
            code(br#"{"release":"abc","event":"update","organization":"0x1","vat":"BE1"}"#),
            "invalid_webhook_body"
        );
    }
}
