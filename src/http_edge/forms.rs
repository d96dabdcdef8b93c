//! A form shown again after a refusal (a 4xx), for the pages of both servers (the console's
//! filters, the sandbox's party forms): the values as typed, and the message next to the input
//! at fault, or above the form when no input of it is at fault. The refusal comes from the
//! service or the simulator core, which name a JSON field; [`input_for`] maps that field to the
//! form's input. The templates render it with the macros of `templates/forms.html`.

use std::collections::HashMap;

/// The state of the forms of one page: which form (if any) was refused, with what it held.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    form: &'static str,
    values: HashMap<String, String>,
    field: Option<&'static str>,
    message: Option<String>,
}

impl FormState {
    /// Form `form` of the page as posted (its CSRF field left out), not refused (yet).
    pub fn new(form: &'static str, mut values: HashMap<String, String>) -> FormState {
        values.remove(super::csrf::FIELD);
        FormState {
            form,
            values,
            field: None,
            message: None,
        }
    }

    /// Refused: `message` goes next to `field` when that is one of the form's `inputs`, above
    /// the form otherwise.
    pub fn refused(
        mut self,
        field: Option<&str>,
        inputs: &[&'static str],
        message: impl Into<String>,
    ) -> FormState {
        self.field = field.and_then(|f| inputs.iter().copied().find(|i| *i == f));
        self.message = Some(message.into());
        self
    }

    /// Was a form of the page refused?
    pub fn is_refused(&self) -> bool {
        self.message.is_some()
    }

    fn mine(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }

    /// The value typed into `name` of `form` (empty when that form was not posted).
    pub fn value(&self, form: &str, name: &str) -> &str {
        self.value_or(form, name, "")
    }

    /// The value typed into `name` of `form`, or `default` when that form was not posted.
    pub fn value_or<'a>(&'a self, form: &str, name: &str, default: &'a str) -> &'a str {
        match self.values.get(name) {
            Some(v) if self.mine(form) => v.as_str(),
            _ => default,
        }
    }

    /// Is `option` the one to select in select `name` of `form`: the posted choice when that
    /// form was posted, `default` otherwise.
    pub fn picked(&self, form: &str, name: &str, option: &str, default: &str) -> bool {
        match self.values.get(name) {
            Some(v) if self.mine(form) => v.trim() == option,
            _ => option == default,
        }
    }

    /// The message for input `name` of `form`.
    pub fn error(&self, form: &str, name: &str) -> Option<&str> {
        match (&self.message, self.field) {
            (Some(m), Some(f)) if f == name && self.mine(form) => Some(m.as_str()),
            _ => None,
        }
    }

    /// The message of `form` that no single input explains.
    pub fn form_error(&self, form: &str) -> Option<&str> {
        match (&self.message, self.field) {
            (Some(m), None) if self.mine(form) => Some(m.as_str()),
            _ => None,
        }
    }
}

/// The form input an API's field belongs to: the first entry of `inputs` (API field, input
/// name) equal to `api_field` or to one of its parents (`pickupParty` for
/// `pickupParty.identificationCode`, `releases` for `releases[0].equipmentNumber`).
pub fn input_for(api_field: &str, inputs: &[(&str, &'static str)]) -> Option<&'static str> {
    inputs.iter().find_map(|(api, input)| {
        let rest = api_field.strip_prefix(api)?;
        (rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')).then_some(*input)
    })
}

/// A message to show next to its input: the JSON field name some messages start with is
/// dropped (the input's label says which field), and a bare predicate (`is required`) reads
/// as a sentence.
pub fn field_message(api_field: &str, message: &str) -> String {
    let m = message
        .strip_prefix(api_field)
        .and_then(|r| r.strip_prefix(": "))
        .unwrap_or(message)
        .trim();
    let sentence = if m.starts_with("is ") || m.starts_with("must ") {
        format!("This field {m}")
    } else {
        let mut c = m.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    };
    if sentence.ends_with('.') {
        sentence
    } else {
        format!("{sentence}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_refusal_goes_next_to_its_input_of_its_form_only() {
        let f = FormState::new(
            "rights",
            posted(&[("party", "forwarder"), ("to", "agent"), ("csrf", "x")]),
        )
        .refused(Some("to"), &["party", "action", "to"], "Cannot.");
        assert!(f.is_refused());
        assert_eq!(f.error("rights", "to"), Some("Cannot."));
        assert_eq!(f.error("rights", "party"), None);
        assert_eq!(f.error("pickup", "to"), None, "another form of the page");
        assert_eq!(f.form_error("rights"), None);
        assert!(f.picked("rights", "party", "forwarder", "agent"));
        assert!(
            !f.picked("rights", "party", "agent", "agent"),
            "the posted choice wins"
        );
        assert!(
            f.picked("pickup", "party", "agent", "agent"),
            "another form: its default"
        );
        assert_eq!(f.value("rights", "csrf"), "", "the CSRF value is not kept");
        assert_eq!(f.value_or("pickup", "to", "d"), "d");

        // A field the form does not show: above the form.
        let f =
            FormState::new("customs", posted(&[])).refused(Some("equipment"), &["customs"], "No.");
        assert_eq!(f.error("customs", "equipment"), None);
        assert_eq!(f.form_error("customs"), Some("No."));
        let none = FormState::default();
        assert!(!none.is_refused());
        assert_eq!(none.form_error(""), None);
    }

    #[test]
    fn api_fields_map_to_inputs() {
        let inputs = [("releaseTo", "to"), ("pickupParty", "alfapass")];
        assert_eq!(input_for("releaseTo", &inputs), Some("to"));
        assert_eq!(
            input_for("pickupParty.identificationCode", &inputs),
            Some("alfapass")
        );
        assert_eq!(input_for("pickupPartyX", &inputs), None);
        assert_eq!(input_for("terminalCode", &inputs), None);
        assert_eq!(
            field_message("releaseTo", "is required to transfer"),
            "This field is required to transfer."
        );
        assert_eq!(
            field_message("releaseTo", "releaseTo: no party with NxtEntityId 'x'"),
            "No party with NxtEntityId 'x'."
        );
    }
}
