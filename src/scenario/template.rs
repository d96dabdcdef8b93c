//! Variables and `{{...}}` templates.
//!
//! `{{name}}` is a variable (from `vars:`, a given container, a capture, a group parameter or a
//! built-in); `{{name.path}}` reads into it with the same path syntax as expectations
//! (`{{trucker.alfapass}}`, `{{psa.terminalCode}}`, `{{ref.items[0].id}}`). A string that is
//! exactly one template keeps the variable's JSON type (a number stays a number); anywhere else
//! the value is written into the string.

use std::collections::BTreeMap;

use serde_json::Value;

use super::matcher::{lookup, parse_path};

/// The variables of a running scenario.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: BTreeMap<String, Value>,
}

/// A template that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable `{name}` in `{template}` (known: {known})")]
    Unknown {
        name: String,
        template: String,
        known: String,
    },
    #[error("`{{{{{expr}}}}}`: `{name}` has no `{path}`")]
    NoPath {
        expr: String,
        name: String,
        path: String,
    },
    #[error("unclosed `{{{{` in `{0}`")]
    Unclosed(String),
}

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.map.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    /// Evaluate `name` or `name.path`.
    pub fn eval(&self, expr: &str, template: &str) -> Result<Value, TemplateError> {
        let expr = expr.trim();
        if let Some(repeated) = repeat_literal(expr) {
            return Ok(Value::String(repeated));
        }
        let split = expr.find(['.', '[']).unwrap_or(expr.len());
        let (name, rest) = expr.split_at(split);
        let Some(root) = self.map.get(name) else {
            return Err(TemplateError::Unknown {
                name: name.to_owned(),
                template: template.to_owned(),
                known: self.known(),
            });
        };
        if rest.is_empty() {
            return Ok(root.clone());
        }
        let path = rest.strip_prefix('.').unwrap_or(rest);
        let segments = parse_path(path).map_err(|_| TemplateError::NoPath {
            expr: expr.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
        })?;
        lookup(root, &segments).ok_or_else(|| TemplateError::NoPath {
            expr: expr.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
        })
    }

    fn known(&self) -> String {
        let names: Vec<&str> = self.map.keys().map(String::as_str).collect();
        names.join(", ")
    }

    /// Render a string template to a string.
    pub fn render_str(&self, template: &str) -> Result<String, TemplateError> {
        if !template.contains("{{") {
            return Ok(template.to_owned());
        }
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(TemplateError::Unclosed(template.to_owned()));
            };
            let value = self.eval(&after[..end], template)?;
            match value {
                Value::String(s) => out.push_str(&s),
                Value::Null => out.push_str("null"),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Render every string inside a JSON value; `"{{x}}"` alone keeps x's type.
    pub fn render_value(&self, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => {
                let trimmed = s.trim();
                if let Some(inner) = trimmed
                    .strip_prefix("{{")
                    .and_then(|t| t.strip_suffix("}}"))
                    .filter(|inner| !inner.contains("{{") && !inner.contains("}}"))
                {
                    self.eval(inner, s)?
                } else {
                    Value::String(self.render_str(s)?)
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    out.insert(self.render_str(k)?, self.render_value(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Render an optional string.
    pub fn render_opt(&self, value: Option<&String>) -> Result<Option<String>, TemplateError> {
        value.map(|v| self.render_str(v)).transpose()
    }
}

/// Longest string `{{ "x" * N }}` may build (for oversize-body tests).
const MAX_REPEAT_BYTES: usize = 10 * 1024 * 1024;

/// `"text" * N`: the text repeated N times (e.g. `{{ "x" * 70000 }}` for an oversize body).
fn repeat_literal(expr: &str) -> Option<String> {
    let (text, count) = expr.rsplit_once('*')?;
    let text = text.trim().strip_prefix('"')?.strip_suffix('"')?;
    let count: usize = count.trim().parse().ok()?;
    (text.len().saturating_mul(count) <= MAX_REPEAT_BYTES).then(|| text.repeat(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.set("equipment", json!("MSCU1234565"));
        v.set("n", json!(3));
        v.set(
            "trucker",
            json!({"alfapass": "A1", "alfapassNumbers": ["A1", "A2"], "nxtEntityId": "NXT1"}),
        );
        v
    }

    #[test]
    fn renders_strings_and_paths() {
        let v = vars();
        assert_eq!(v.render_str("eq={{equipment}}").unwrap(), "eq=MSCU1234565");
        assert_eq!(
            v.render_str("{{ trucker.alfapassNumbers[1] }}").unwrap(),
            "A2"
        );
        assert_eq!(v.render_str("n={{n}}").unwrap(), "n=3");
        assert_eq!(v.render_str("no templates").unwrap(), "no templates");
    }

    #[test]
    fn a_lone_template_keeps_its_type() {
        let v = vars();
        assert_eq!(v.render_value(&json!("{{n}}")).unwrap(), json!(3));
        assert_eq!(
            v.render_value(&json!({"a": ["{{trucker.alfapassNumbers}}", "x{{n}}"]}))
                .unwrap(),
            json!({"a": [["A1", "A2"], "x3"]})
        );
    }

    #[test]
    fn repeated_literals() {
        let v = vars();
        assert_eq!(v.render_str("{{ \"ab\" * 3 }}").unwrap(), "ababab");
        assert!(v.render_str("{{ \"ab\" * 99999999 }}").is_err());
    }

    #[test]
    fn errors_name_the_variable() {
        let v = vars();
        let err = v.render_str("{{equipmnt}}").unwrap_err();
        assert!(
            err.to_string().contains("unknown variable `equipmnt`"),
            "{err}"
        );
        assert!(err.to_string().contains("equipment"), "{err}");
        let err = v.render_str("{{trucker.nope}}").unwrap_err();
        assert!(err.to_string().contains("has no `nope`"), "{err}");
        assert!(matches!(
            v.render_str("{{x"),
            Err(TemplateError::Unclosed(_))
        ));
    }
}
