//! Verbs that build a request by hand (`request`), ask for a token, or call the simulator's
//! control API (`control:` steps).

use reqwest::Method;
use serde_json::{json, Value};

use super::{seg, Body, HttpCall, VResult, VerbContext};
use crate::scenario::model::{Control, RawRequest, TokenArgs};
use cpu_contract::paths;

pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn request(a: &RawRequest, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let method = Method::from_bytes(ctx.r(&a.method)?.to_uppercase().as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", a.method))?;
    let path = ctx.r(&a.path)?;
    let mut call = HttpCall::new(method, path.clone(), ctx.acting.map(str::to_owned));
    call.world = path.starts_with("/simulator/");
    for (k, v) in &a.query {
        call.query.push((k.clone(), scalar_text(&ctx.rv(v)?)));
    }
    for (k, v) in &a.headers {
        call.headers.push((k.clone(), ctx.r(v)?));
    }
    let bodies = [a.body.is_some(), a.raw_body.is_some(), a.form.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err("`request` takes one of body, raw_body, form".to_owned());
    }
    if let Some(body) = &a.body {
        call.body = Body::Json(ctx.rv(body)?);
    } else if let Some(raw) = &a.raw_body {
        call.body = Body::Raw {
            text: ctx.r(raw)?,
            content_type: ctx
                .ro(a.content_type.as_ref())?
                .unwrap_or_else(|| "application/json".to_owned()),
        };
    } else if let Some(form) = &a.form {
        let mut fields = Vec::new();
        for (k, v) in form {
            fields.push((k.clone(), scalar_text(&ctx.rv(v)?)));
        }
        call.body = Body::Form(fields);
    }
    Ok(call)
}

pub(super) fn token(a: &TokenArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let grant = ctx
        .ro(a.grant.as_ref())?
        .unwrap_or_else(|| "password".to_owned());
    let field = |given: Option<&String>, party_field: &str| -> VResult<Option<String>> {
        Ok(match ctx.ro(given)? {
            Some(v) => Some(v),
            None => ctx.acting_field(party_field),
        })
    };
    let mut form = vec![("grant_type".to_owned(), grant.clone())];
    if grant == "password" {
        if let Some(u) = field(a.username.as_ref(), "username")? {
            form.push(("username".to_owned(), u));
        }
        if let Some(p) = field(a.password.as_ref(), "password")? {
            form.push(("password".to_owned(), p));
        }
    }
    if let Some(t) = ctx.ro(a.refresh_token.as_ref())? {
        form.push(("refresh_token".to_owned(), t));
    }
    if let Some(c) = field(a.client_id.as_ref(), "clientId")? {
        form.push(("client_id".to_owned(), c));
    }
    if let Some(s) = field(a.client_secret.as_ref(), "clientSecret")? {
        form.push(("client_secret".to_owned(), s));
    }
    if let Some(s) = ctx.ro(a.scope.as_ref())? {
        form.push(("scope".to_owned(), s));
    }
    let mut call = HttpCall::new(Method::POST, paths::TOKEN.to_owned(), None);
    call.body = Body::Form(form);
    Ok(call)
}

/// The control API request of a `control:` step.
pub fn control(c: &Control, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let mut call = if let Some(customs) = &c.customs {
        let locode = ctx.locode(customs.locode.as_ref())?;
        HttpCall::new(
            Method::PUT,
            format!(
                "/simulator/v1/{}/containers/{}/customs",
                seg(&locode),
                seg(&ctx.r(&customs.equipment)?)
            ),
            None,
        )
        .json(json!({"status": ctx.r(&customs.status)?}))
    } else if let Some(advance) = &c.advance_clock {
        let seconds = match ctx.rv(advance)? {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| format!("advance_clock: `{n}` is not a whole number of seconds"))?,
            Value::String(s) => crate::scenario::load::parse_duration(&s)?.as_secs(),
            other => return Err(format!("advance_clock: `{other}` is not a duration")),
        };
        HttpCall::new(Method::POST, "/simulator/v1/clock/advance".to_owned(), None)
            .json(json!({"seconds": seconds}))
    } else if let Some(fault) = &c.fault {
        HttpCall::new(Method::POST, "/simulator/v1/faults".to_owned(), None).json(ctx.rv(fault)?)
    } else if c.clear_faults.is_some() {
        HttpCall::new(Method::DELETE, "/simulator/v1/faults".to_owned(), None)
    } else if let Some(hook) = &c.webhook {
        let id = ctx.entity_id(&hook.party)?;
        HttpCall::new(
            Method::PUT,
            format!("/simulator/v1/parties/{}/webhooks", seg(&id)),
            None,
        )
        .json(json!({"url": ctx.r(&hook.url)?}))
    } else if c.reset.is_some() {
        HttpCall::new(Method::POST, "/simulator/v1/reset".to_owned(), None)
    } else {
        return Err("`control` needs one action".to_owned());
    };
    call.world = true;
    Ok(call)
}

/// Merge `patch` into `target`: objects merge key by key, `null` removes a key, anything else
/// replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if let Some(existing) = t.get_mut(k) {
                    merge(existing, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
