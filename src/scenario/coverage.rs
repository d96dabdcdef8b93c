//! State coverage: which lights and light values, overall statuses, notification events and
//! error responses a run exercised, against the full lists, so QA sees what is untested.
//!
//! Observations are taken from every response the runner sees (container states, validation
//! results, notification lists, webhook deliveries), not from what scenarios claim to test.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// Every light and its values, from the simulator core (so the lists cannot drift).
pub fn lights() -> Vec<(&'static str, &'static [&'static str])> {
    cpu_simulator::LightName::ALL
        .iter()
        .map(|l| (l.as_str(), l.values()))
        .collect()
}

/// Every overall container status (issue 2).
pub const STATUSES: &[&str] = &[
    "NOTRELEASED",
    "RELEASED",
    "BLOCKED",
    "SELECTEDFORSCAN",
    "FAVV",
    "TRANSHIPMENT",
    "PORTEQUALISATION",
];

/// The `NotificationEvent` enum of NxtPort's CPu OpenAPI.
pub const EVENTS: &[&str] = &[
    "Release",
    "Update",
    "Delete",
    "Block",
    "Unblock",
    "Revoke",
    "TerminalRelease",
    "TerminalBlocked",
    "TerminalScan",
    "Transferred",
    "DeclinedByNextParty",
    "AcceptedByNextParty",
    "RevokedByPreviousParty",
    "NotValidated",
    "ThrownException",
    "PickedUpByParty",
    "ExpiredReleaseRights",
    "InactiveReleaseRights",
    "GateOut",
    "GetReleaseDetail",
    "ReleaseLightChanged",
    "ReleaseLightRegistered",
    "AlfapassPickUpValidation",
];

/// Events of [`EVENTS`] that the simulator never sends, with why, so the coverage report counts
/// only what a scenario can exercise and says what it cannot.
pub const NOT_SENT: &[(&str, &str)] = &[
    (
        "ThrownException",
        "NxtPort's own processing failure; the simulator's failures are direct answers, injected as faults",
    ),
    (
        "PickedUpByParty",
        "no source says what sends it; a pickup ends with the terminal's GateOut",
    ),
    (
        "AlfapassPickUpValidation",
        "the Alfapass validation answers at once with true or false; no source describes a notification",
    ),
];

/// Every error row of the seed's response tables: (operation, status).
pub const ERRORS: &[(&str, u16)] = &[
    ("truck-validation", 401),
    ("truck-validation", 429),
    ("truck-validation", 500),
    ("barge-rail-validation", 401),
    ("barge-rail-validation", 429),
    ("barge-rail-validation", 500),
    ("ownership-validation", 400),
    ("ownership-validation", 429),
    ("ownership-validation", 500),
    ("registry", 400),
    ("registry", 401),
    ("registry", 405),
    ("registry", 429),
    ("registry", 500),
    ("notifications", 401),
    ("notifications", 403),
    ("notifications", 405),
    ("notifications", 429),
    ("notifications", 500),
    ("terminal-release", 400),
    ("terminal-release", 401),
    ("terminal-release", 429),
    ("terminal-release", 500),
    ("ingestion", 400),
    ("ingestion", 401),
    ("ingestion", 429),
    ("ingestion", 500),
    ("release-rights", 400),
    ("release-rights", 401),
    ("release-rights", 429),
    ("release-rights", 500),
    ("pickup-rights", 400),
    ("pickup-rights", 401),
    ("pickup-rights", 429),
    ("pickup-rights", 500),
    ("barge-rail-pickup-rights", 400),
    ("barge-rail-pickup-rights", 401),
    ("release-detail", 400),
    ("release-detail", 401),
];

/// What one scenario (or a whole run) exercised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub light_values: BTreeSet<(String, String)>,
    pub statuses: BTreeSet<String>,
    pub events: BTreeSet<String>,
    pub errors: BTreeSet<(String, u16)>,
}

/// The operation name of a NxtPort-surface path, as used in [`ERRORS`].
pub fn operation(method: &str, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path);
    if path == "/connect/token" {
        "token"
    } else if path.starts_with("/ingestion/") {
        "ingestion"
    } else if path.ends_with("/terminal-release") {
        "terminal-release"
    } else if path.ends_with("/barge-rail/containers") {
        "barge-rail-validation"
    } else if path.ends_with("/sync-validation/pickup/containers") {
        "truck-validation"
    } else if path.ends_with("/validation/pickup/identification") {
        "alfapass-validation"
    } else if path.ends_with("/validation/ownership/truck") {
        "ownership-validation"
    } else if path.ends_with("/entities") {
        "registry"
    } else if path.ends_with("/notifications") {
        "notifications"
    } else if path.ends_with("/pickup-rights/barge-rail") {
        "barge-rail-pickup-rights"
    } else if path.ends_with("/import/pickup-rights") {
        "pickup-rights"
    } else if path.ends_with("/import/release-rights") {
        "release-rights"
    } else if method == "GET" && path.contains("/import/release-rights/") {
        "release-detail"
    } else {
        "other"
    }
}

impl Coverage {
    pub fn merge(&mut self, other: &Coverage) {
        self.light_values.extend(other.light_values.iter().cloned());
        self.statuses.extend(other.statuses.iter().cloned());
        self.events.extend(other.events.iter().cloned());
        self.errors.extend(other.errors.iter().cloned());
    }

    /// Record a response of the NxtPort surface or the control API.
    pub fn observe(&mut self, method: &str, path: &str, status: u16, body: &Value) {
        if status >= 400 && !path.starts_with("/simulator/") {
            let op = operation(method, path);
            if op != "other" {
                self.errors.insert((op.to_owned(), status));
            }
        }
        if path.starts_with("/simulator/") && path.contains("/containers/") {
            if let Some(s) = body.get("status").and_then(Value::as_str) {
                self.statuses.insert(s.to_owned());
            }
        }
        self.walk(body, 0);
    }

    fn walk(&mut self, value: &Value, depth: usize) {
        if depth > 8 {
            return;
        }
        match value {
            Value::Object(map) => {
                let name = map
                    .get("greenLightName")
                    .or_else(|| map.get("name").filter(|_| map.contains_key("color")));
                let light_value = map
                    .get("greenLightValue")
                    .or_else(|| map.get("newValue"))
                    .or_else(|| map.get("value"));
                if let (Some(Value::String(n)), Some(Value::String(v))) = (name, light_value) {
                    self.light_values.insert((n.clone(), v.clone()));
                }
                if map.contains_key("isValid") {
                    if let Some(Value::String(s)) = map.get("status") {
                        self.statuses.insert(s.clone());
                    }
                }
                if let Some(Value::String(e)) = map.get("event") {
                    if map.contains_key("type") || map.contains_key("publicReferenceId") {
                        self.events.insert(e.clone());
                    }
                }
                for v in map.values() {
                    self.walk(v, depth + 1);
                }
            }
            Value::Array(items) => {
                for v in items {
                    self.walk(v, depth + 1);
                }
            }
            Value::String(s) if s.starts_with('{') => {
                if let Ok(inner) = serde_json::from_str::<Value>(s) {
                    self.walk(&inner, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Exercised and missing entries per category.
    pub fn report(&self) -> CoverageReport {
        let seen_lights: BTreeSet<&str> =
            self.light_values.iter().map(|(n, _)| n.as_str()).collect();
        let mut values = Category::default();
        let mut light_names = Category::default();
        let all_lights = lights();
        for (light, all) in &all_lights {
            if seen_lights.contains(light) {
                light_names.exercised.push((*light).to_owned());
            } else {
                light_names.missing.push((*light).to_owned());
            }
            for v in *all {
                let key = format!("{light}={v}");
                if self
                    .light_values
                    .contains(&((*light).to_owned(), (*v).to_owned()))
                {
                    values.exercised.push(key);
                } else {
                    values.missing.push(key);
                }
            }
        }
        for (light, value) in &self.light_values {
            let known = all_lights
                .iter()
                .any(|(l, vs)| l == light && vs.contains(&value.as_str()));
            if !known {
                values.extra.push(format!("{light}={value}"));
            }
        }
        CoverageReport {
            lights: light_names,
            values,
            statuses: Category::of(STATUSES.iter().map(|s| (*s).to_owned()), &self.statuses),
            events: {
                let mut c = Category::of(
                    EVENTS
                        .iter()
                        .filter(|e| !NOT_SENT.iter().any(|(n, _)| n == *e))
                        .map(|s| (*s).to_owned()),
                    &self.events,
                );
                // One of them seen after all shows as extra: the list is then out of date.
                c.not_sent = NOT_SENT
                    .iter()
                    .map(|(n, why)| format!("{n} ({why})"))
                    .collect();
                c
            },
            errors: Category::of(
                ERRORS.iter().map(|(op, s)| format!("{op} {s}")),
                &self
                    .errors
                    .iter()
                    .map(|(op, s)| format!("{op} {s}"))
                    .collect(),
            ),
        }
    }
}

/// One category of the coverage report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Category {
    pub exercised: Vec<String>,
    pub missing: Vec<String>,
    /// Seen but not in the full list (a value the list does not know).
    pub extra: Vec<String>,
    /// In the full list, but never produced by the simulator (with why); not counted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_sent: Vec<String>,
}

impl Category {
    fn of(all: impl Iterator<Item = String>, seen: &BTreeSet<String>) -> Self {
        let mut c = Category::default();
        let all: Vec<String> = all.collect();
        for item in &all {
            if seen.contains(item) {
                c.exercised.push(item.clone());
            } else {
                c.missing.push(item.clone());
            }
        }
        c.extra = seen.iter().filter(|s| !all.contains(s)).cloned().collect();
        c
    }

    fn line(&self, title: &str) -> String {
        let total = self.exercised.len() + self.missing.len();
        let mut line = format!("{title}: {}/{total}", self.exercised.len());
        if !self.missing.is_empty() {
            line.push_str(&format!("; untested: {}", self.missing.join(", ")));
        }
        if !self.extra.is_empty() {
            line.push_str(&format!("; not in the list: {}", self.extra.join(", ")));
        }
        if !self.not_sent.is_empty() {
            line.push_str(&format!(
                "; never sent by the simulator: {}",
                self.not_sent.join(", ")
            ));
        }
        line
    }
}

/// The coverage of a run, per category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoverageReport {
    pub lights: Category,
    pub values: Category,
    pub statuses: Category,
    pub events: Category,
    pub errors: Category,
}

impl CoverageReport {
    /// Human-readable lines.
    pub fn text(&self) -> String {
        [
            self.lights.line("lights"),
            self.values.line("light values"),
            self.statuses.line("overall statuses"),
            self.events.line("notification events"),
            self.errors.line("error responses"),
        ]
        .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn observes_lights_statuses_events_and_errors() {
        let mut c = Coverage::default();
        c.observe(
            "GET",
            "/simulator/v1/BEANR/containers/X",
            200,
            &json!({"status": "RELEASED", "lights": [{"name": "Customs", "value": "RELEASED", "color": "Green"}]}),
        );
        c.observe(
            "GET",
            "/certified-pickup/v1/notifications",
            200,
            &json!([{"event": "TerminalRelease", "type": "ReleaseLight", "message": "{\"body\": {\"greenLightName\": \"TerminalRelease\", \"newValue\": \"RELEASED\"}}"}]),
        );
        c.observe(
            "POST",
            "/certified-pickup/v1/BEANR/sync-validation/pickup/containers",
            401,
            &json!({}),
        );
        let r = c.report();
        assert!(r.values.exercised.contains(&"Customs=RELEASED".to_owned()));
        assert!(r
            .values
            .exercised
            .contains(&"TerminalRelease=RELEASED".to_owned()));
        assert_eq!(r.statuses.exercised, vec!["RELEASED".to_owned()]);
        assert_eq!(r.events.exercised, vec!["TerminalRelease".to_owned()]);
        assert_eq!(r.errors.exercised, vec!["truck-validation 401".to_owned()]);
        assert!(r.text().contains("error responses: 1/"));
        // Events the simulator never sends are named with why, not counted as untested.
        assert_eq!(
            r.events.exercised.len() + r.events.missing.len(),
            EVENTS.len() - NOT_SENT.len()
        );
        assert!(!r.events.missing.contains(&"ThrownException".to_owned()));
        assert!(
            r.text()
                .contains("never sent by the simulator: ThrownException ("),
            "{}",
            r.text()
        );
    }
}
