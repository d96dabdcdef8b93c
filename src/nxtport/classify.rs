//! What an error from NxtPort means for the caller: the one place that decides whether a failed
//! call heals by itself (retry), heals when the connection is fixed (retry, slower), or never
//! heals (fail now with NxtPort's own message).
//!
//! A 401 is ambiguous at NxtPort: its API management answers 401 for a missing, expired or
//! wrong token or subscription key, and CPu answers 401 for "not available for your role" or
//! "release right is not assigned to you" (seed) and "terminalCode ... does not belong to ..."
//! (observed). The client already fetched a new token once before giving up, so a 401 whose
//! message does not name a credential is a CPu refusal.

use std::time::Duration;

use super::client::NxtPortError;

/// The meaning of a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Try again later: 5xx, 408, 429, no answer (`retry_after` when NxtPort said).
    Transient {
        /// NxtPort's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The shared budget (Redis) cannot be consulted: nothing was sent.
    BudgetUnavailable,
    /// The key's budget had no slot within a synchronous call's wait: nothing was sent.
    BudgetSpent,
    /// The entity's credentials, token, subscription key or ingestion id were refused:
    /// heals when the connection is fixed.
    Credentials,
    /// NxtPort refused this request for a CPu reason (400, 403, 404, 409, 422, or a 401 that
    /// names a CPu condition); `message` is NxtPort's own explanation. Never heals.
    Refused {
        /// NxtPort's status.
        status: u16,
        /// NxtPort's explanation (ProblemDetails title/detail/errors, or the body).
        message: String,
    },
    /// NxtPort accepted the call but its answer could not be read, or the request could not be
    /// built: retrying would not help.
    Broken,
}

/// Words of NxtPort's API management (and the simulator's edge) when it refuses a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "token",
    "subscription key",
    "access denied",
    "ingestion id",
    "authorization",
    "credentials",
];

/// Classify a client error.
pub fn classify(e: &NxtPortError) -> Answer {
    match e {
        NxtPortError::RetriesExhausted { last, .. } => classify(last),
        NxtPortError::Budget(_) => Answer::BudgetUnavailable,
        NxtPortError::BudgetSpent(_) => Answer::BudgetSpent,
        NxtPortError::Token { .. } if e.is_transient() => Answer::Transient { retry_after: None },
        NxtPortError::Token { .. } => Answer::Credentials,
        NxtPortError::Transport { .. } => Answer::Transient { retry_after: None },
        NxtPortError::Status {
            status,
            retry_after,
            ..
        } => match *status {
            s if s >= 500 || s == 408 || s == 429 => Answer::Transient {
                retry_after: *retry_after,
            },
            401 => {
                let message = detail(e);
                let lower = message.to_ascii_lowercase();
                if message.is_empty() || CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) {
                    Answer::Credentials
                } else {
                    Answer::Refused {
                        status: 401,
                        message,
                    }
                }
            }
            s => Answer::Refused {
                status: s,
                message: detail(e),
            },
        },
        NxtPortError::Decode { .. } | NxtPortError::InvalidRequest(_) | NxtPortError::Config(_) => {
            Answer::Broken
        }
    }
}

/// NxtPort's explanation of a rejection (ProblemDetails title/detail/errors, or the body).
pub fn detail(e: &NxtPortError) -> String {
    match e.problem() {
        Some(p) => {
            let generic = p.title.starts_with("Unauthorized, role or scope");
            let mut out = match (p.title.is_empty() || generic, p.detail.is_empty()) {
                (false, false) => format!("{}: {}", p.title, p.detail),
                (false, true) => p.title.clone(),
                (true, false) => p.detail.clone(),
                (true, true) => p.title.clone(),
            };
            if let Some(errors) = &p.errors {
                for (field, msgs) in errors {
                    out.push_str(&format!("; {field}: {}", msgs.join(", ")));
                }
            }
            out
        }
        None => match e {
            NxtPortError::Status { body, .. } => body.clone(),
            NxtPortError::RetriesExhausted { last, .. } => detail(last),
            other => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpu_contract::ProblemDetails;
    use reqwest::Method;

    fn status(code: u16, detail: &str) -> NxtPortError {
        NxtPortError::Status {
            method: Method::POST,
            path: "/x".into(),
            status: code,
            problem: Some(Box::new(ProblemDetails::new(code, "Bad", detail))),
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn cpu_refusals_are_told_from_credential_problems() {
        for (code, text) in [
            (400, "equipmentNumber is wrong"),
            (404, "unknown container"),
            (403, "not yours"),
            (401, "terminalCode 9999 does not belong to PSA Antwerp"),
            (401, "the release right is not assigned to you"),
        ] {
            match classify(&status(code, text)) {
                Answer::Refused { status, message } => {
                    assert_eq!(status, code);
                    assert!(message.contains(text), "{message}");
                }
                other => panic!("{code} {text}: {other:?}"),
            }
        }
        for text in [
            "The bearer token has expired",
            "Access denied due to invalid subscription key.",
            "this ingestion id does not belong to your company",
        ] {
            assert_eq!(classify(&status(401, text)), Answer::Credentials, "{text}");
        }
        let bare = NxtPortError::Status {
            method: Method::GET,
            path: "/x".into(),
            status: 401,
            problem: None,
            body: String::new(),
            retry_after: None,
        };
        assert_eq!(classify(&bare), Answer::Credentials);
        let token = NxtPortError::Token {
            status: 400,
            error: "invalid_grant".into(),
            description: None,
        };
        assert_eq!(classify(&token), Answer::Credentials);
    }

    #[test]
    fn transient_answers_keep_retry_after() {
        let mut e = status(429, "slow down");
        if let NxtPortError::Status { retry_after, .. } = &mut e {
            *retry_after = Some(Duration::from_secs(3));
        }
        assert_eq!(
            classify(&e),
            Answer::Transient {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        let exhausted = NxtPortError::RetriesExhausted {
            attempts: 3,
            last: Box::new(status(503, "down")),
        };
        assert_eq!(
            classify(&exhausted),
            Answer::Transient { retry_after: None }
        );
        assert_eq!(
            classify(&NxtPortError::Budget("redis down".into())),
            Answer::BudgetUnavailable
        );
        assert_eq!(
            classify(&NxtPortError::BudgetSpent("no slot within 5 s".into())),
            Answer::BudgetSpent
        );
    }
}
