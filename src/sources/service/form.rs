//! A credentials body checked against the terminal's connect form (the catalogue): only its
//! fields, right types, trimmed, bounded, required ones present, secrets kept apart.

use secrecy::SecretString;

use super::super::catalogue::{AuthType, FieldType, Terminal};
use super::SourcesError;
use crate::api::ErrorCode;
use crate::store::SecretFields;

/// Credentials parsed from a request body.
pub(super) struct Parsed {
    pub identifier: String,
    pub public: serde_json::Map<String, serde_json::Value>,
    pub secrets: SecretFields,
}

/// Validate a body against the terminal's form: only its fields, right types, trimmed, bounded,
/// required ones present and not blank. Secrets named in `stored` may be omitted (kept).
pub(super) fn parse_body(
    t: Terminal,
    body: &serde_json::Value,
    stored: &[String],
    max_len: usize,
) -> Result<Parsed, SourcesError> {
    let Some(obj) = body.as_object() else {
        return Err(SourcesError::Invalid {
            code: ErrorCode::InvalidBody,
            field: None,
            message: "the body must be a JSON object".into(),
        });
    };
    let fields = t.auth_type().fields();
    if let Some(unknown) = obj
        .keys()
        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        let allowed: Vec<_> = fields.iter().map(|f| f.name).collect();
        return Err(SourcesError::invalid(
            ErrorCode::UnknownField,
            unknown,
            format!(
                "'{}' is not a field of {} ({}); expected {}",
                unknown.chars().take(40).collect::<String>(),
                t.info().name,
                serde_json::to_value(t.auth_type())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                allowed.join(", ")
            ),
        ));
    }
    let mut public = serde_json::Map::new();
    let mut secrets = SecretFields::new();
    for f in fields {
        let v = obj.get(f.name).filter(|v| !v.is_null());
        match f.field_type {
            FieldType::Boolean => match v {
                None => {
                    public.insert(f.name.into(), false.into());
                }
                Some(serde_json::Value::Bool(b)) => {
                    public.insert(f.name.into(), (*b).into());
                }
                Some(_) => {
                    return Err(SourcesError::invalid(
                        ErrorCode::InvalidType,
                        f.name,
                        format!("{} must be true or false", f.name),
                    ))
                }
            },
            FieldType::String => {
                let s = match v {
                    None => None,
                    Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
                    Some(_) => {
                        return Err(SourcesError::invalid(
                            ErrorCode::InvalidType,
                            f.name,
                            format!("{} must be a string", f.name),
                        ))
                    }
                };
                if let Some(s) = &s {
                    if s.chars().count() > max_len {
                        return Err(SourcesError::invalid(
                            ErrorCode::TooLong,
                            f.name,
                            format!("{} is longer than {max_len} characters", f.name),
                        ));
                    }
                    if s.is_empty() && f.required {
                        return Err(SourcesError::invalid(
                            ErrorCode::Blank,
                            f.name,
                            format!("{} must not be blank", f.label),
                        ));
                    }
                    if s.chars().any(char::is_control) {
                        return Err(SourcesError::invalid(
                            ErrorCode::InvalidCharacters,
                            f.name,
                            format!("{} contains control characters", f.name),
                        ));
                    }
                }
                match (s, f.secret) {
                    (Some(s), true) => {
                        secrets.insert(f.name.into(), SecretString::from(s));
                    }
                    (Some(s), false) => {
                        public.insert(f.name.into(), s.into());
                    }
                    (None, true) if f.required && !stored.iter().any(|n| n == f.name) => {
                        return Err(SourcesError::invalid(
                            ErrorCode::Required,
                            f.name,
                            format!("{} is required", f.label),
                        ));
                    }
                    (None, false) if f.required => {
                        return Err(SourcesError::invalid(
                            ErrorCode::Required,
                            f.name,
                            format!("{} is required", f.label),
                        ));
                    }
                    (None, _) => {}
                }
            }
        }
    }
    let id_field = t.auth_type().identifier_field();
    let identifier = public
        .get(id_field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if t.auth_type() == AuthType::UuidToken && uuid::Uuid::parse_str(&identifier).is_err() {
        return Err(SourcesError::invalid(
            ErrorCode::InvalidUuid,
            id_field,
            "Application UUID must be a UUID (8-4-4-4-12 hex digits)".into(),
        ));
    }
    Ok(Parsed {
        identifier,
        public,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err_code(r: Result<Parsed, SourcesError>) -> (&'static str, Option<String>) {
        match r {
            Err(SourcesError::Invalid { code, field, .. }) => (code.as_str(), field),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn body_validation() {
        let ok = parse_body(
            Terminal::Psa,
            &json!({"username": "  bob ", "password": " pw "}),
            &[],
            256,
        )
        .expect("valid");
        assert_eq!(ok.identifier, "bob");
        assert_eq!(ok.secrets.len(), 1);
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob"}),
                &[],
                256
            )),
            ("required", Some("password".into()))
        );
        // On update an omitted secret is fine, a blank one is not.
        assert!(parse_body(
            Terminal::Psa,
            &json!({"username": "bob"}),
            &["password".into()],
            256
        )
        .is_ok());
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob", "password": "  "}),
                &[],
                256
            ))
            .0,
            "blank"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "bob", "password": "x", "uuid": "u"}),
                &[],
                256
            ))
            .0,
            "unknown_field"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": 5, "password": "x"}),
                &[],
                256
            ))
            .0,
            "invalid_type"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Psa,
                &json!({"username": "b".repeat(300), "password": "x"}),
                &[],
                256
            ))
            .0,
            "too_long"
        );
        assert_eq!(
            err_code(parse_body(
                Terminal::Mpet,
                &json!({"uuid": "nope", "token": "x"}),
                &[],
                256
            ))
            .0,
            "invalid_uuid"
        );
        assert_eq!(
            err_code(parse_body(Terminal::Psa, &json!([1]), &[], 256)).0,
            "invalid_body"
        );
        let ect = parse_body(Terminal::Ect, &json!({"clientId": "c", "clientSecret": "s", "subscriptionKey": "k", "extendedPermissions": true}), &[], 256)
            .expect("ect");
        assert_eq!(ect.public.get("extendedPermissions"), Some(&json!(true)));
        assert_eq!(ect.secrets.len(), 2);
    }
}
