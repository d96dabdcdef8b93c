//! Fault injection from a form: answer the NxtPort calls of the shown world with a status,
//! a delay or a dropped connection (the next N calls, or a fraction of them), list the active
//! faults, clear them. Checked by the same [`Fault::problem`] as `POST /simulator/v1/faults`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::chrome::{render, see_other, world, Chrome, Result, SandboxForm};
use crate::http_edge::forms::FormState;
use crate::simulate::state::{Fault, SimState, WorldHandle};

/// The add form's name and inputs (a refusal names one of them).
const FORM: &str = "fault";
const INPUTS: [&str; 7] = [
    "path",
    "method",
    "status",
    "latency_ms",
    "drop",
    "count",
    "fraction",
];

/// One active fault as the table shows it.
pub struct FaultRow {
    path: String,
    method: String,
    effect: String,
    applies: String,
}

/// The add form's fields, trimmed.
#[derive(Default)]
struct FaultForm {
    path: String,
    method: String,
    status: String,
    latency_ms: String,
    drop: bool,
    count: String,
    fraction: String,
}

#[derive(Template)]
#[template(path = "sandbox/faults.html")]
struct FaultsPage {
    chrome: Chrome,
    error: Option<String>,
    notice: Option<&'static str>,
    faults: Vec<FaultRow>,
    /// The add form after a refusal (its values as typed, the message at its input).
    form: FormState,
    methods: [&'static str; 4],
}

fn row(f: &Fault) -> FaultRow {
    let mut effect = Vec::new();
    if let Some(s) = f.status {
        effect.push(format!("answer {s}"));
    }
    if let Some(ms) = f.latency_ms {
        effect.push(format!("wait {ms} ms"));
    }
    if f.drop {
        effect.push("drop the connection".to_owned());
    }
    let applies = match (f.count, f.fraction) {
        (Some(n), Some(p)) => format!("next {n} calls, {:.0}% of them", p * 100.0),
        (Some(n), None) => format!("next {n} calls"),
        (None, Some(p)) => format!("{:.0}% of calls", p * 100.0),
        (None, None) => "every call".to_owned(),
    };
    FaultRow {
        path: f.path.clone(),
        method: f.method.clone().unwrap_or_else(|| "any".into()),
        effect: effect.join(", "),
        applies,
    }
}

fn page(
    req: &HttpRequest,
    state: &SimState,
    w: &WorldHandle,
    status: StatusCode,
    form: FormState,
    notice: Option<&'static str>,
) -> Result<HttpResponse> {
    let faults = w.faults().iter().map(row).collect();
    render(
        status,
        &FaultsPage {
            chrome: Chrome::new(req, state, w, "faults"),
            error: None,
            notice,
            faults,
            form,
            methods: ["GET", "POST", "PUT", "DELETE"],
        },
    )
}

/// `?done=`.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /sandbox/faults`.
#[tracing::instrument(skip_all)]
pub async fn faults(
    req: HttpRequest,
    state: web::Data<SimState>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let notice = match q.done.as_deref() {
        Some("added") => Some("Fault injected: matching NxtPort calls of this world now get it."),
        Some("cleared") => Some("Every fault removed."),
        _ => None,
    };
    page(
        &req,
        &state,
        &w,
        StatusCode::OK,
        FormState::default(),
        notice,
    )
}

/// The fault a form describes, or the field and what is wrong with it.
fn parse(form: &FaultForm) -> std::result::Result<Fault, (&'static str, String)> {
    fn number<T: std::str::FromStr>(
        field: &'static str,
        raw: &str,
        what: &str,
    ) -> std::result::Result<Option<T>, (&'static str, String)> {
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| (field, format!("{what}, or leave it blank")))
    }
    let method = match form.method.as_str() {
        "" => None,
        m if ["GET", "POST", "PUT", "DELETE"].contains(&m) => Some(m.to_owned()),
        _ => return Err(("method", "pick a method from the list".into())),
    };
    let fault = Fault {
        path: form.path.clone(),
        method,
        status: number("status", &form.status, "an HTTP status such as 503")?,
        latency_ms: number("latency_ms", &form.latency_ms, "milliseconds")?,
        drop: form.drop,
        count: number("count", &form.count, "a whole number of calls")?,
        fraction: number("fraction", &form.fraction, "a number from 0 to 1")?,
    };
    if fault.count == Some(0) {
        return Err(("count", "at least 1, or leave it blank".into()));
    }
    match fault.problem() {
        Some((field, problem)) => {
            let field = match field {
                "path" => "path",
                "fraction" => "fraction",
                _ => "status",
            };
            Err((field, problem.to_owned()))
        }
        None => Ok(fault),
    }
}

/// `POST /sandbox/faults`: inject one fault; the form again with the field's message on 400.
#[tracing::instrument(skip_all)]
pub async fn add(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().chars().take(200).collect::<String>())
            .unwrap_or_default()
    };
    let typed = FaultForm {
        path: get("path"),
        method: get("method").to_ascii_uppercase(),
        status: get("status"),
        latency_ms: get("latency_ms"),
        drop: form.contains_key("drop"),
        count: get("count"),
        fraction: get("fraction"),
    };
    match parse(&typed) {
        Ok(fault) => {
            w.add_fault(fault);
            Ok(see_other("/sandbox/faults?done=added"))
        }
        Err((field, message)) => {
            let again = FormState::new(FORM, form.0).refused(Some(field), &INPUTS, message);
            page(&req, &state, &w, StatusCode::BAD_REQUEST, again, None)
        }
    }
}

/// `POST /sandbox/faults/clear`: remove every fault of the shown world.
#[tracing::instrument(skip_all)]
pub async fn clear(
    req: HttpRequest,
    state: web::Data<SimState>,
    _form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    w.clear_faults();
    Ok(see_other("/sandbox/faults?done=cleared"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(fields: &[(&str, &str)]) -> FaultForm {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        FaultForm {
            path: get("path"),
            method: get("method"),
            status: get("status"),
            latency_ms: get("latency_ms"),
            drop: !get("drop").is_empty(),
            count: get("count"),
            fraction: get("fraction"),
        }
    }

    #[test]
    fn a_form_becomes_a_fault_or_names_its_field() {
        let f = parse(&typed(&[
            ("path", "/ingestion"),
            ("status", "503"),
            ("count", "2"),
        ]))
        .expect("fault");
        assert_eq!((f.status, f.count, f.method), (Some(503), Some(2), None));
        let field = |fields: &[(&str, &str)]| parse(&typed(fields)).map(|_| ()).unwrap_err().0;
        assert_eq!(field(&[("path", "/"), ("status", "99")]), "status");
        assert_eq!(field(&[("path", "/"), ("status", "abc")]), "status");
        assert_eq!(
            field(&[("path", "/")]),
            "status",
            "a fault must do something"
        );
        assert_eq!(field(&[("path", "ingestion"), ("drop", "on")]), "path");
        assert_eq!(
            field(&[("path", "/"), ("drop", "on"), ("fraction", "2")]),
            "fraction"
        );
        assert_eq!(
            field(&[("path", "/"), ("drop", "on"), ("count", "0")]),
            "count"
        );
        assert_eq!(
            field(&[("path", "/"), ("drop", "on"), ("method", "TRACE")]),
            "method"
        );
        assert_eq!(field(&[("path", "/"), ("latency_ms", "-5")]), "latency_ms");
        let slow = parse(&typed(&[
            ("path", "/"),
            ("latency_ms", "250"),
            ("method", "PUT"),
        ]))
        .expect("fault");
        assert_eq!(slow.latency_ms, Some(250));
        assert_eq!(slow.method.as_deref(), Some("PUT"));
        assert_eq!(row(&slow).effect, "wait 250 ms");
        assert_eq!(row(&slow).applies, "every call");
    }
}
