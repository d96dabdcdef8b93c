//! Shorthand verbs: each CPu call written in a few words, turned into the real NxtPort request
//! (path, headers, body) with defaults taken from the acting party (its terminal code, its
//! ingestion id, its Alfapass numbers, ...). The `request` verb builds anything by hand.
//!
//! Here: the call and the context verbs read, and the dispatch of an action to its verb. The
//! verbs, by concern: [`requests`] (a request by hand, a token, the control API), [`terminal`]
//! (terminal releases, ingestions, pickup validations), [`queries`] (release detail, registry,
//! notifications), [`rights`] (release, pickup and barge/rail pickup rights).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use super::model::Action;
use super::template::Vars;
use cpu_contract::paths;

mod queries;
mod requests;
mod rights;
mod terminal;
#[cfg(test)]
mod tests;

pub use queries::notification_query;
use queries::{notifications, registry, release_detail};
pub use requests::{control, merge};
use requests::{request, token};
use rights::{barge_rail_pickup_right, pickup_right, release_right};
use terminal::{
    alfapass_validation, barge_rail_validation, ingestion, ownership_validation, terminal_release,
    truck_validation,
};

/// The port of Antwerp-Bruges, the default `locode`.
pub const DEFAULT_LOCODE: &str = "BEANR";

/// `identificationType` sent for a NxtEntityId (the seed: "use int value: 0 (NxtEntityId)").
const NXT_ENTITY_ID_TYPE: i64 = 0;

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(Value),
    Raw { text: String, content_type: String },
    Form(Vec<(String, String)>),
}

/// Which credentials a call carries by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAuth {
    /// Party whose credentials are used (None: anonymous).
    pub party: Option<String>,
    /// Send `Authorization: Bearer <token>`.
    pub token: bool,
    /// Send `Ocp-Apim-Subscription-Key`.
    pub key: bool,
}

/// A request ready to send (path relative to the target's base URL).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub auth: CallAuth,
    /// Send `X-Sim-World` (control API calls).
    pub world: bool,
}

impl HttpCall {
    fn new(method: Method, path: String, party: Option<String>) -> Self {
        let anonymous = party.is_none();
        HttpCall {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            auth: CallAuth {
                party,
                token: !anonymous,
                key: !anonymous,
            },
            world: false,
        }
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
}

/// What verbs need to know about the world.
pub struct VerbContext<'a> {
    pub vars: &'a Vars,
    pub parties: &'a BTreeMap<String, Value>,
    /// The acting party's key.
    pub acting: Option<&'a str>,
}

type VResult<T> = Result<T, String>;

impl VerbContext<'_> {
    fn r(&self, s: &str) -> VResult<String> {
        self.vars.render_str(s).map_err(|e| e.to_string())
    }

    fn ro(&self, s: Option<&String>) -> VResult<Option<String>> {
        s.map(|s| self.r(s)).transpose()
    }

    fn rv(&self, v: &Value) -> VResult<Value> {
        self.vars.render_value(v).map_err(|e| e.to_string())
    }

    fn party(&self, key: &str) -> Option<&Value> {
        self.parties.get(key)
    }

    fn party_field(&self, key: &str, field: &str) -> Option<String> {
        self.party(key)?.get(field)?.as_str().map(str::to_owned)
    }

    fn acting_field(&self, field: &str) -> Option<String> {
        self.acting.and_then(|p| self.party_field(p, field))
    }

    fn locode(&self, value: Option<&String>) -> VResult<String> {
        Ok(self.ro(value)?.unwrap_or_else(|| DEFAULT_LOCODE.to_owned()))
    }

    /// A terminal party key or a literal code; default: the acting party's code, else psa's.
    fn terminal_code(&self, value: Option<&String>) -> VResult<String> {
        if let Some(v) = self.ro(value)? {
            return Ok(self.party_field(&v, "terminalCode").unwrap_or(v));
        }
        self.acting_field("terminalCode")
            .or_else(|| self.party_field("psa", "terminalCode"))
            .ok_or_else(|| {
                "no terminal code: give `terminal:` (a terminal party key or code)".to_owned()
            })
    }

    /// A party key or a literal NxtEntityId.
    fn entity_id(&self, value: &str) -> VResult<String> {
        let v = self.r(value)?;
        Ok(self.party_field(&v, "nxtEntityId").unwrap_or(v))
    }

    /// A party key (or NxtEntityId) as `{identificationType: 0, identificationCode}`, or an
    /// object written out in full.
    fn identification(&self, value: &Value) -> VResult<Value> {
        match self.rv(value)? {
            Value::String(s) => Ok(json!({
                "identificationType": NXT_ENTITY_ID_TYPE,
                "identificationCode": self.party_field(&s, "nxtEntityId").unwrap_or(s),
            })),
            other => Ok(other),
        }
    }

    fn acting_alfapass(&self) -> Option<String> {
        let party = self.party(self.acting?)?;
        party
            .get("alfapassNumbers")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Current time as NxtPort writes it.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn seg(s: &str) -> String {
    paths::segment(s)
}

/// The default acting party of a verb when the step has no `as`.
pub fn default_party(action: &Action) -> Option<&'static str> {
    match action {
        Action::ReleaseRight(_) => Some("agent"),
        Action::PickupRight(_) => Some("trucker"),
        Action::BargeRailPickupRight(_) => Some("barge"),
        Action::Request(_)
        | Action::Control(_)
        | Action::ExpectContainer(_)
        | Action::ExpectNotifications(_)
        | Action::ExpectWebhooks(_)
        | Action::Wait(_)
        | Action::Group(_) => None,
        _ => Some("psa"),
    }
}

/// Build the request of an HTTP action; None for actions that are not one request.
pub fn build(action: &Action, ctx: &VerbContext<'_>) -> Option<VResult<HttpCall>> {
    Some(match action {
        Action::Request(a) => request(a, ctx),
        Action::Token(a) => token(a, ctx),
        Action::TerminalRelease(a) => terminal_release(a, ctx),
        Action::Ingestion(kind, a) => ingestion(*kind, a, ctx),
        Action::ValidateTruckPickup(a) => truck_validation(a, ctx),
        Action::ValidateBargeRailPickup(a) => barge_rail_validation(a, ctx),
        Action::ValidateAlfapass(a) => alfapass_validation(a, ctx),
        Action::ValidateOwnership(a) => ownership_validation(a, ctx),
        Action::ReleaseDetail(a) => release_detail(a, ctx),
        Action::Registry(a) => registry(a, ctx),
        Action::Notifications(a) => notifications(a, ctx),
        Action::ReleaseRight(a) => release_right(a, ctx),
        Action::PickupRight(a) => pickup_right(a, ctx),
        Action::BargeRailPickupRight(a) => barge_rail_pickup_right(a, ctx),
        Action::Control(c) => control(c, ctx),
        Action::ExpectContainer(_)
        | Action::ExpectNotifications(_)
        | Action::ExpectWebhooks(_)
        | Action::Wait(_)
        | Action::Group(_) => return None,
    })
}
