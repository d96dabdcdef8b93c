//! What the templates show, built from the service's types in one place (rows and API types
//! never reach a template). Every string here is escaped by the template engine on output.

use std::collections::HashMap;

use crate::sources::catalogue::{AuthType, FieldType, Region};
use crate::sources::service::{ConnectionState, DataSource, DataSourceList};

/// Time as the pages show it.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The heading of a region group, as the seed names it.
pub fn region_label(r: Region) -> &'static str {
    match r {
        Region::BelgiumAntwerp => "Belgium - Antwerp",
        Region::NetherlandsRotterdam => "Netherlands - Rotterdam",
        Region::Additional => "Additional Integrations",
    }
}

/// The authentication type, as the seed's tables name it.
pub fn auth_label(a: AuthType) -> &'static str {
    match a {
        AuthType::UsernamePassword => "Username/Password",
        AuthType::UuidToken => "UUID/Token",
        AuthType::OauthClientCredentials => "OAuth (Client Credentials)",
        AuthType::OauthPasswordApiKey => "OAuth (Password Grant) + API Key",
    }
}

/// The navigation bar and who is signed in.
#[derive(Debug, Clone)]
pub struct Nav {
    pub active: &'static str,
    pub entity_name: String,
    pub role: &'static str,
    pub csrf: String,
    pub can_write: bool,
    /// Support: the entities to pick from (id, name, selected).
    pub entities: Vec<(String, String, bool)>,
    pub impersonating: bool,
}

/// One input of a connect form.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `password` or `checkbox`.
    pub input_type: &'static str,
    /// Marked with an asterisk.
    pub marked_required: bool,
    /// The browser insists (a secret already stored may be left blank).
    pub html_required: bool,
    pub value: String,
    pub checked: bool,
    pub error: Option<String>,
    pub hint: Option<&'static str>,
}

/// The outcome of "Test connection".
#[derive(Debug, Clone)]
pub struct TestView {
    pub ok: bool,
    pub message: String,
}

/// One terminal card and its dialogs.
#[derive(Debug, Clone)]
pub struct CardView {
    pub terminal: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub auth_label: &'static str,
    /// not_connected | verifying | connected | error
    pub status: &'static str,
    pub status_label: &'static str,
    pub identifier: Option<String>,
    pub last_sync: Option<String>,
    pub message: Option<String>,
    pub warning: Option<String>,
    pub connected: bool,
    pub fields: Vec<FieldView>,
    /// Re-open the connect dialog (a 4xx or a test result to show).
    pub open: bool,
    pub form_error: Option<String>,
    pub test: Option<TestView>,
}

/// One region of cards.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub label: &'static str,
    pub cards: Vec<CardView>,
}

/// A form as posted back, to re-display after a 4xx or a test.
#[derive(Debug, Clone, Default)]
pub struct Redisplay {
    pub terminal: &'static str,
    pub values: HashMap<String, String>,
    pub field: Option<String>,
    pub message: Option<String>,
    pub test: Option<TestView>,
}

fn card(
    ds: &DataSource,
    public: Option<&serde_json::Map<String, serde_json::Value>>,
    again: Option<&Redisplay>,
) -> CardView {
    let (status, status_label, identifier, last_sync, message, warning) = match &ds.state {
        ConnectionState::NotConnected => ("not_connected", "Not Connected", None, None, None, None),
        ConnectionState::Verifying { identifier, .. } => (
            "verifying",
            "Verifying",
            Some(identifier.clone()),
            None,
            None,
            None,
        ),
        ConnectionState::Connected {
            identifier,
            last_sync_at,
            warning,
            ..
        } => (
            "connected",
            "Connected",
            Some(identifier.clone()),
            last_sync_at.map(when),
            None,
            warning.as_ref().map(|w| w.message.clone()),
        ),
        ConnectionState::Error {
            identifier,
            message,
            ..
        } => (
            "error",
            "Error",
            Some(identifier.clone()),
            None,
            Some(message.clone()),
            None,
        ),
    };
    let connected = !matches!(ds.state, ConnectionState::NotConnected);
    let id_field = ds.auth_type.identifier_field();
    let fields = ds
        .fields
        .iter()
        .map(|f| {
            let posted = again.and_then(|a| a.values.get(f.name));
            let stored = public.and_then(|p| p.get(f.name));
            let (value, checked) = match f.field_type {
                FieldType::Boolean => (
                    String::new(),
                    match again {
                        Some(_) => posted.is_some(),
                        None => stored.and_then(|v| v.as_bool()).unwrap_or(false),
                    },
                ),
                // Secrets are never written back into a page, not even the one just typed.
                FieldType::String if f.secret => (String::new(), false),
                FieldType::String => (
                    posted
                        .cloned()
                        .or_else(|| stored.and_then(|v| v.as_str()).map(str::to_owned))
                        .or_else(|| (f.name == id_field).then(|| identifier.clone()).flatten())
                        .unwrap_or_default(),
                    false,
                ),
            };
            FieldView {
                name: f.name,
                label: f.label,
                input_type: match (f.field_type, f.secret) {
                    (FieldType::Boolean, _) => "checkbox",
                    (FieldType::String, true) => "password",
                    (FieldType::String, false) => "text",
                },
                marked_required: f.required,
                html_required: f.required && !(f.secret && connected),
                value,
                checked,
                error: again
                    .filter(|a| a.field.as_deref() == Some(f.name))
                    .and_then(|a| a.message.clone()),
                hint: (f.secret && connected).then_some("Stored; leave blank to keep it."),
            }
        })
        .collect();
    let form_error = again
        .filter(|a| {
            a.field.is_none() || !ds.fields.iter().any(|f| Some(f.name) == a.field.as_deref())
        })
        .and_then(|a| a.message.clone());
    CardView {
        terminal: ds.terminal.as_str(),
        name: ds.name,
        description: ds.description,
        auth_label: auth_label(ds.auth_type),
        status,
        status_label,
        identifier,
        last_sync,
        message,
        warning,
        connected,
        fields,
        open: again.is_some(),
        form_error,
        test: again.and_then(|a| a.test.clone()),
    }
}

/// The cards of the Data Sources page, grouped by region; `again` re-opens one card's form.
pub fn groups(
    list: &DataSourceList,
    publics: &HashMap<&'static str, serde_json::Map<String, serde_json::Value>>,
    again: Option<&Redisplay>,
) -> Vec<GroupView> {
    list.groups
        .iter()
        .map(|g| GroupView {
            label: region_label(g.region),
            cards: g
                .data_sources
                .iter()
                .map(|ds| {
                    let t = ds.terminal.as_str();
                    card(ds, publics.get(t), again.filter(|a| a.terminal == t))
                })
                .collect(),
        })
        .collect()
}

/// The JSON body of the service from a posted connect form: only the terminal's fields,
/// secrets left blank are omitted (kept on update), a checkbox is present or not.
pub fn credentials_body(auth: AuthType, form: &HashMap<String, String>) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    for f in auth.fields() {
        match f.field_type {
            FieldType::Boolean => {
                body.insert(f.name.into(), form.contains_key(f.name).into());
            }
            FieldType::String => {
                let v = form.get(f.name).map(|s| s.trim()).unwrap_or_default();
                if v.is_empty() && f.secret {
                    continue;
                }
                body.insert(f.name.into(), v.into());
            }
        }
    }
    serde_json::Value::Object(body)
}

/// The non-secret values of a posted form (what may be shown again).
pub fn public_values(auth: AuthType, form: &HashMap<String, String>) -> HashMap<String, String> {
    auth.fields()
        .iter()
        .filter(|f| !f.secret)
        .filter_map(|f| {
            form.get(f.name)
                .map(|v| (f.name.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_secrets_are_omitted_and_checkboxes_are_booleans() {
        let form: HashMap<String, String> = [
            ("clientId", " c "),
            ("clientSecret", ""),
            ("subscriptionKey", "k"),
            ("extendedPermissions", "on"),
            ("csrf", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let body = credentials_body(AuthType::OauthClientCredentials, &form);
        assert_eq!(
            body,
            serde_json::json!({"clientId": "c", "subscriptionKey": "k", "extendedPermissions": true})
        );
        let shown = public_values(AuthType::OauthClientCredentials, &form);
        assert_eq!(shown.get("clientId").map(String::as_str), Some("c"));
        assert!(
            !shown.contains_key("subscriptionKey"),
            "no secret is shown again"
        );
    }
}
