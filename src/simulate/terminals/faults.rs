//! Fault injection for the terminal emulations (`POST /emulations/{terminal}/faults`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the emulated terminal does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Login / token request refused as invalid credentials (401), even with the right ones.
    WrongPassword,
    /// 403 ProblemDetails: the account exists but API access has not been activated.
    ApiNotActivated,
    /// 403 `{statusCode, message}` "Out of call volume quota" (Azure API Management's shape).
    QuotaExceeded,
    /// 429 with `Retry-After` (`retryAfterSecs`, default 30) and API Management's body.
    RateLimited,
    /// 503 ProblemDetails on every request.
    ServerError,
    /// Answer normally after `latencyMs` (default 5,000 ms).
    Slow,
}

/// A fault as posted to the control endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// How many requests it affects; absent: until `DELETE /emulations/{terminal}/faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Delay for `slow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Seconds announced by `rate_limited` (Retry-After) and `quota_exceeded` (replenish time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Only requests of this account (username, UUID or client id); absent: all accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// Which step of the terminal's protocol a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Login or token request (or a header-authenticated request, which is both).
    Auth,
    Data,
}

/// What the emulation must do for one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub delay_ms: u64,
    pub fail: Option<FaultKind>,
    /// Seconds the failure announces (429 Retry-After, quota replenish time).
    pub retry_after_secs: Option<u64>,
}

/// The active faults of one terminal.
#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<FaultSpec>,
}

impl Faults {
    pub fn add(&mut self, f: FaultSpec) {
        self.active.push(f);
    }
    pub fn clear(&mut self) {
        self.active.clear();
    }
    pub fn list(&self) -> Vec<FaultSpec> {
        self.active.clone()
    }

    /// Decide the fate of one request; counted faults are consumed.
    pub fn judge(&mut self, phase: Phase, account: Option<&str>) -> Verdict {
        let mut v = Verdict::default();
        for f in &mut self.active {
            if let (Some(only), Some(acc)) = (&f.account, account) {
                if !only.eq_ignore_ascii_case(acc) {
                    continue;
                }
            }
            let applies = match f.kind {
                FaultKind::WrongPassword => phase == Phase::Auth,
                FaultKind::ApiNotActivated
                | FaultKind::QuotaExceeded
                | FaultKind::RateLimited
                | FaultKind::ServerError => true,
                FaultKind::Slow => true,
            };
            if !applies || (f.kind != FaultKind::Slow && v.fail.is_some()) {
                continue;
            }
            if f.kind == FaultKind::Slow {
                v.delay_ms = v.delay_ms.max(f.latency_ms.unwrap_or(5_000));
            } else {
                v.fail = Some(f.kind);
                v.retry_after_secs = f.retry_after_secs;
            }
            if let Some(c) = f.count.as_mut() {
                *c = c.saturating_sub(1);
            }
        }
        self.active.retain(|f| f.count != Some(0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_are_consumed_and_auth_faults_skip_data() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            kind: FaultKind::WrongPassword,
            count: Some(1),
            latency_ms: None,
            retry_after_secs: None,
            account: None,
        });
        assert_eq!(f.judge(Phase::Data, Some("a")).fail, None);
        assert_eq!(
            f.judge(Phase::Auth, Some("a")).fail,
            Some(FaultKind::WrongPassword)
        );
        assert_eq!(f.judge(Phase::Auth, Some("a")).fail, None);
    }

    #[test]
    fn account_scoped_and_slow() {
        let mut f = Faults::default();
        f.add(FaultSpec {
            kind: FaultKind::ServerError,
            count: None,
            latency_ms: None,
            retry_after_secs: None,
            account: Some("bob".into()),
        });
        f.add(FaultSpec {
            kind: FaultKind::Slow,
            count: None,
            latency_ms: Some(10),
            retry_after_secs: None,
            account: None,
        });
        let v = f.judge(Phase::Data, Some("alice"));
        assert_eq!(
            v,
            Verdict {
                delay_ms: 10,
                fail: None,
                retry_after_secs: None
            }
        );
        assert_eq!(
            f.judge(Phase::Data, Some("BOB")).fail,
            Some(FaultKind::ServerError)
        );
    }
}
