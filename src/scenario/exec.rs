//! Running one scenario against a simulator over HTTP.
//!
//! Each scenario first creates its own world (`POST /simulator/v1/worlds`) and from then on
//! uses only that world's parties and credentials, so scenarios running in parallel (or two
//! scenarios using the same container number) never see each other. Tokens are fetched per
//! party with the password grant and cached for the scenario. Control calls carry the world in
//! `X-Sim-World`. Steps run in order; the first failing step ends the scenario.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::coverage::Coverage;
use super::matcher::{self, check, diff, lookup, parse_path, Mismatch};
use super::model::{
    Action, Expect, ExpectContainer, ExpectNotifications, ExpectWebhooks, Group, Origin, Scenario,
    Step,
};
use super::template::Vars;
use super::verbs::{self, Body, HttpCall, VerbContext};

/// Per-request timeout (a fault with latency must not hang a run).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Response fields never shown in failure output.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "password",
    "clientSecret",
    "client_secret",
    "subscriptionKey",
];

/// An HTTP client bound to a simulator base URL, shared by all scenarios of a run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }
}

/// Why a scenario failed: where, and what differed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// Step number (`3`, or `2.4` for step 4 of the group called by step 2); None before steps.
    pub step: Option<String>,
    /// The step's label or `party: action`.
    pub description: Option<String>,
    /// File and line of the step.
    pub location: Option<String>,
    /// What was expected and what came.
    pub message: String,
    /// Unified diff of the body, expected against actual.
    pub diff: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.step, &self.description) {
            (Some(step), Some(desc)) => write!(f, "step {step} `{desc}`")?,
            (Some(step), None) => write!(f, "step {step}")?,
            (None, Some(desc)) => f.write_str(desc)?,
            (None, None) => f.write_str("setup")?,
        }
        if let Some(location) = &self.location {
            write!(f, " ({location})")?;
        }
        writeln!(f)?;
        for line in self.message.lines() {
            writeln!(f, "  {line}")?;
        }
        if let Some(diff) = &self.diff {
            for line in diff.lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

/// What running one scenario produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: Result<(), Failure>,
    pub steps_run: usize,
    pub coverage: Coverage,
    pub world: Option<String>,
}

/// A step error before it is placed (step number, location).
#[derive(Debug, Clone)]
struct StepError {
    message: String,
    diff: Option<String>,
}

impl StepError {
    fn msg(message: impl Into<String>) -> Self {
        StepError {
            message: message.into(),
            diff: None,
        }
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::msg(message)
    }
}

/// A response as the runner sees it.
#[derive(Debug, Clone)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A copy of `value` with secret fields masked, for messages.
fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    if SECRET_FIELDS.contains(&k.as_str()) && !v.is_null() {
                        (k.clone(), Value::String("[redacted]".to_owned()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Run one scenario to completion.
pub async fn run_scenario(client: &Client, scenario: &Scenario) -> Outcome {
    let mut run = Run {
        client,
        world: String::new(),
        parties: BTreeMap::new(),
        tokens: HashMap::new(),
        vars: Vars::new(),
        coverage: Coverage::default(),
        steps_run: 0,
    };
    if let Err(e) = run.create_world(scenario).await {
        return Outcome {
            result: Err(Failure {
                step: None,
                description: Some("create world".to_owned()),
                location: Some(scenario.file.clone()),
                message: e.message,
                diff: e.diff,
            }),
            steps_run: 0,
            coverage: run.coverage,
            world: None,
        };
    }
    let result = run.run_steps(&scenario.steps, String::new()).await;
    run.delete_world().await;
    Outcome {
        result,
        steps_run: run.steps_run,
        coverage: run.coverage,
        world: Some(run.world),
    }
}

struct Run<'a> {
    client: &'a Client,
    world: String,
    parties: BTreeMap<String, Value>,
    tokens: HashMap<String, String>,
    vars: Vars,
    coverage: Coverage,
    steps_run: usize,
}

type StepFuture<'b> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'b>>;

impl<'a> Run<'a> {
    async fn create_world(&mut self, scenario: &Scenario) -> Result<(), StepError> {
        let body = if scenario.given.parties.is_empty() {
            json!({})
        } else {
            json!({"parties": scenario.given.parties})
        };
        let call = HttpCall {
            method: Method::POST,
            path: "/simulator/v1/worlds".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Json(body),
            auth: verbs::CallAuth {
                party: None,
                token: false,
                key: false,
            },
            world: false,
        };
        let resp = self.send(&call, None, None, None).await?;
        if !(200..300).contains(&resp.status) {
            return Err(StepError::msg(format!(
                "POST /simulator/v1/worlds answered {}: {}",
                resp.status,
                matcher::show(&resp.body)
            )));
        }
        self.world = match resp.body.get("worldId") {
            Some(Value::String(s)) => s.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => {
                return Err(StepError::msg(format!(
                    "POST /simulator/v1/worlds gave no worldId: {}",
                    matcher::show(&resp.body)
                )))
            }
        };
        let parties = resp
            .body
            .get("parties")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for mut party in parties {
            let Some(key) = party.get("key").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            if let Some(obj) = party.as_object_mut() {
                let first_alfapass = obj.get("alfapassNumbers").and_then(|a| a.get(0)).cloned();
                if let Some(a) = first_alfapass {
                    obj.entry("alfapass").or_insert(a);
                }
                if let Some(id) = obj.get("nxtEntityId").cloned() {
                    obj.entry("id").or_insert(id);
                }
            }
            self.vars.set(key.clone(), party.clone());
            self.parties.insert(key, party);
        }
        self.vars.set("world", Value::String(self.world.clone()));
        self.vars
            .set("base_url", Value::String(self.client.base.clone()));
        self.vars
            .set("locode", Value::String(verbs::DEFAULT_LOCODE.to_owned()));
        self.vars.set("now", Value::String(verbs::now_iso()));
        self.vars
            .set("uuid", Value::String(uuid::Uuid::new_v4().to_string()));
        // Set every variable first, then render: a variable may use another one.
        for (name, value) in &scenario.vars {
            self.vars.set(name.clone(), value.clone());
        }
        for (name, value) in &scenario.vars {
            let rendered = self.vars.render_value(value).map_err(|e| e.to_string())?;
            self.vars.set(name.clone(), rendered);
        }
        Ok(())
    }

    /// Free the world (best effort: a simulator without DELETE keeps it).
    async fn delete_world(&mut self) {
        let call = HttpCall {
            method: Method::DELETE,
            path: format!(
                "/simulator/v1/worlds/{}",
                cpu_contract::paths::segment(&self.world)
            ),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            auth: verbs::CallAuth {
                party: None,
                token: false,
                key: false,
            },
            world: false,
        };
        let _ = self.send(&call, None, None, None).await;
    }

    fn run_steps<'b>(&'b mut self, steps: &'b [Step], prefix: String) -> StepFuture<'b>
    where
        'a: 'b,
    {
        Box::pin(async move {
            for (index, step) in steps.iter().enumerate() {
                let number = format!("{prefix}{}", index + 1);
                if let Action::Group(group) = &step.action {
                    self.run_group(step, group, number).await?;
                    continue;
                }
                self.steps_run += 1;
                if let Err(e) = self.run_step(step).await {
                    return Err(placed(step, &number, e));
                }
            }
            Ok(())
        })
    }

    async fn run_group(
        &mut self,
        step: &Step,
        group: &Group,
        number: String,
    ) -> Result<(), Failure> {
        // Parameters: call-site values rendered in the caller's variables, else defaults.
        let mut saved: Vec<(String, Option<Value>)> = Vec::new();
        let mut values = Vec::new();
        for (name, default) in &group.params {
            let value = match group.with.get(name) {
                Some(v) => self.vars.render_value(v),
                None => self.vars.render_value(default),
            }
            .map_err(|e| placed(step, &number, StepError::msg(e.to_string())))?;
            if value.is_null() {
                return Err(placed(
                    step,
                    &number,
                    StepError::msg(format!(
                        "`{}` needs the parameter `{name}`: add `with: {{ {name}: ... }}`",
                        group.name
                    )),
                ));
            }
            values.push((name.clone(), value));
        }
        for (name, value) in values {
            saved.push((name.clone(), self.vars.get(&name).cloned()));
            self.vars.set(name, value);
        }
        let result = self.run_steps(&group.steps, format!("{number}.")).await;
        for (name, previous) in saved {
            match previous {
                Some(v) => self.vars.set(name, v),
                None => {
                    self.vars.remove(&name);
                }
            }
        }
        result
    }

    async fn run_step(&mut self, step: &Step) -> Result<(), StepError> {
        for i in 0..step.repeat {
            let response = match step.eventually {
                None => self.attempt(step).await,
                Some(ev) => {
                    let deadline = Instant::now() + ev.timeout;
                    loop {
                        match self.attempt(step).await {
                            Ok(r) => break Ok(r),
                            Err(e) if Instant::now() >= deadline => {
                                break Err(StepError {
                                    message: format!(
                                        "{}\n(still failing after {})",
                                        e.message,
                                        humantime::format_duration(ev.timeout)
                                    ),
                                    diff: e.diff,
                                })
                            }
                            Err(_) => tokio::time::sleep(ev.interval).await,
                        }
                    }
                }
            };
            let response = response.map_err(|e| {
                if step.repeat > 1 {
                    StepError {
                        message: format!("request {} of {}: {}", i + 1, step.repeat, e.message),
                        diff: e.diff,
                    }
                } else {
                    e
                }
            })?;
            if i + 1 == step.repeat {
                self.capture(step, &response)?;
            }
            if let Action::Control(c) = &step.action {
                if c.advance_clock.is_some() || c.reset.is_some() {
                    // Tokens live on the virtual clock: fetch fresh ones after it moved.
                    self.tokens.clear();
                }
            }
        }
        Ok(())
    }

    async fn attempt(&mut self, step: &Step) -> Result<Response, StepError> {
        match &step.action {
            Action::ExpectContainer(spec) => self.expect_container(spec).await,
            Action::ExpectNotifications(spec) => self.expect_notifications(step, spec).await,
            Action::ExpectWebhooks(spec) => self.expect_webhooks(spec).await,
            Action::Wait(duration) => {
                tokio::time::sleep(*duration).await;
                Ok(Response {
                    status: 200,
                    headers: Vec::new(),
                    body: Value::Null,
                })
            }
            Action::Group(_) => Err(StepError::msg("internal: group run as a step")),
            action => {
                let party = match &step.party {
                    Some(p) => Some(self.party_ref(p)?),
                    None => verbs::default_party(action).map(str::to_owned),
                };
                if let Some(p) = &party {
                    if !self.parties.contains_key(p) && !matches!(action, Action::Control(_)) {
                        return Err(self.unknown_party(p));
                    }
                }
                let ctx = VerbContext {
                    vars: &self.vars,
                    parties: &self.parties,
                    acting: if matches!(action, Action::Control(_)) {
                        None
                    } else {
                        party.as_deref()
                    },
                };
                let mut call = match verbs::build(action, &ctx) {
                    Some(call) => call?,
                    None => return Err(StepError::msg("internal: not a request")),
                };
                if let Some(patch) = &step.override_body {
                    let patch = self.vars.render_value(patch).map_err(|e| e.to_string())?;
                    match &mut call.body {
                        Body::Json(body) => verbs::merge(body, &patch),
                        _ => {
                            return Err(StepError::msg("`override` needs a step with a JSON body"))
                        }
                    }
                }
                for (k, v) in &step.headers {
                    let v = self.vars.render_str(v).map_err(|e| e.to_string())?;
                    call.headers.push((k.clone(), v));
                }
                let (bearer, key_header, key_query) = self.credentials(&call, step).await?;
                let response = self.send(&call, bearer, key_header, key_query).await?;
                let expect = match &step.expect {
                    Some(e) => Some(self.render_expect(e)?),
                    None => None,
                };
                check_response(expect.as_ref(), &response)?;
                Ok(response)
            }
        }
    }

    /// A party key as written (`trucker`, `"{{holder}}"`); a template may also name a party
    /// object (`"{{trucker}}"`), whose key is used.
    fn party_ref(&self, written: &str) -> Result<String, StepError> {
        match self
            .vars
            .render_value(&Value::String(written.to_owned()))
            .map_err(|e| StepError::msg(e.to_string()))?
        {
            Value::String(s) => Ok(s),
            Value::Object(map) => map
                .get("key")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StepError::msg(format!("`{written}` is not a party"))),
            other => Err(StepError::msg(format!(
                "`{written}` is {other}, not a party key"
            ))),
        }
    }

    /// `expect` with its templates rendered.
    fn render_expect(&self, e: &Expect) -> Result<Expect, StepError> {
        let r = |v: &Value| {
            self.vars
                .render_value(v)
                .map_err(|e| StepError::msg(e.to_string()))
        };
        let mut headers = BTreeMap::new();
        for (k, v) in &e.headers {
            headers.insert(k.clone(), r(v)?);
        }
        Ok(Expect {
            status: e.status.as_ref().map(r).transpose()?,
            headers,
            body: e.body.as_ref().map(r).transpose()?,
        })
    }

    fn unknown_party(&self, key: &str) -> StepError {
        let known: Vec<&str> = self.parties.keys().map(String::as_str).collect();
        StepError::msg(format!(
            "unknown party `{key}` (this world has: {})",
            known.join(", ")
        ))
    }

    /// Resolve the bearer token and subscription key a call sends.
    async fn credentials(
        &mut self,
        call: &HttpCall,
        step: &Step,
    ) -> Result<(Option<String>, Option<String>, Option<String>), StepError> {
        let over = step.auth.clone().unwrap_or_default();
        let party = call.auth.party.clone();
        let bearer = match over.token.as_deref() {
            Some("none") => None,
            Some("invalid") => Some("invalid-token".to_owned()),
            Some(other) => {
                let who = self.party_ref(other)?;
                Some(self.token(&who).await?)
            }
            None if call.auth.token => match &party {
                Some(p) => Some(self.token(p).await?),
                None => None,
            },
            None => None,
        };
        let own_key = |run: &Self, who: &str| -> Result<String, StepError> {
            run.parties
                .get(who)
                .and_then(|p| p.get("subscriptionKey"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| run.unknown_party(who))
        };
        let (header, query) = match over.key.as_deref() {
            Some("none") => (None, None),
            Some("invalid") => (Some("invalid-subscription-key".to_owned()), None),
            Some("query") => match &party {
                Some(p) => (None, Some(own_key(self, p)?)),
                None => return Err(StepError::msg("`auth: { key: query }` needs `as:`")),
            },
            Some(other) => {
                let who = self.party_ref(other)?;
                (Some(own_key(self, &who)?), None)
            }
            None if call.auth.key => match &party {
                Some(p) => (Some(own_key(self, p)?), None),
                None => (None, None),
            },
            None => (None, None),
        };
        Ok((bearer, header, query))
    }

    /// The party's access token (password grant), cached for this scenario.
    async fn token(&mut self, key: &str) -> Result<String, StepError> {
        if let Some(t) = self.tokens.get(key) {
            return Ok(t.clone());
        }
        let party = self
            .parties
            .get(key)
            .ok_or_else(|| self.unknown_party(key))?;
        let field = |name: &str| {
            party
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let form = vec![
            ("grant_type".to_owned(), "password".to_owned()),
            ("username".to_owned(), field("username")),
            ("password".to_owned(), field("password")),
            ("client_id".to_owned(), field("clientId")),
            ("client_secret".to_owned(), field("clientSecret")),
        ];
        let call = HttpCall {
            method: Method::POST,
            path: "/connect/token".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Form(form),
            auth: verbs::CallAuth {
                party: None,
                token: false,
                key: false,
            },
            world: false,
        };
        let resp = self.send(&call, None, None, None).await?;
        let token = resp
            .body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|_| resp.status == 200)
            .ok_or_else(|| {
                StepError::msg(format!(
                    "could not get a token for `{key}`: POST /connect/token answered {} {}",
                    resp.status,
                    matcher::show(&redact(&resp.body))
                ))
            })?
            .to_owned();
        self.tokens.insert(key.to_owned(), token.clone());
        Ok(token)
    }

    async fn send(
        &mut self,
        call: &HttpCall,
        bearer: Option<String>,
        key_header: Option<String>,
        key_query: Option<String>,
    ) -> Result<Response, StepError> {
        let url = format!("{}{}", self.client.base, call.path);
        let mut req = self.client.http.request(call.method.clone(), &url);
        let mut query = call.query.clone();
        if let Some(k) = key_query {
            query.push(("subscription-key".to_owned(), k));
        }
        if !query.is_empty() {
            req = req.query(&query);
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key_header {
            req = req.header("Ocp-Apim-Subscription-Key", k);
        }
        if call.world && !self.world.is_empty() {
            req = req.header("X-Sim-World", &self.world);
        }
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req = match &call.body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::Raw { text, content_type } => req
                .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                .body(text.clone()),
            Body::Form(fields) => req.form(fields),
        };
        let resp = req.send().await.map_err(|e| {
            StepError::msg(format!(
                "{} {} failed: {}",
                call.method,
                call.path,
                error_chain(&e)
            ))
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let bytes = resp.bytes().await.map_err(|e| {
            StepError::msg(format!(
                "{} {}: reading the body failed: {}",
                call.method,
                call.path,
                error_chain(&e)
            ))
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        self.coverage
            .observe(call.method.as_str(), &call.path, status, &body);
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn capture(&mut self, step: &Step, response: &Response) -> Result<(), StepError> {
        for (name, source) in &step.capture {
            let value = if source == "status" {
                Some(Value::from(response.status))
            } else if let Some(header) = source.strip_prefix("header.") {
                response.header(header).map(|v| Value::String(v.to_owned()))
            } else {
                let path = source.strip_prefix("body").unwrap_or(source);
                let segments = parse_path(path).map_err(StepError::msg)?;
                lookup(&response.body, &segments)
            };
            match value {
                Some(v) => self.vars.set(name.clone(), v),
                None => {
                    return Err(StepError::msg(format!(
                        "capture `{name}`: the response has no `{source}`; body: {}",
                        matcher::show(&redact(&response.body))
                    )))
                }
            }
        }
        Ok(())
    }

    fn render(&self, s: &str) -> Result<String, StepError> {
        self.vars
            .render_str(s)
            .map_err(|e| StepError::msg(e.to_string()))
    }

    async fn control_get(&mut self, path: String) -> Result<Response, StepError> {
        let call = HttpCall {
            method: Method::GET,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            auth: verbs::CallAuth {
                party: None,
                token: false,
                key: false,
            },
            world: true,
        };
        self.send(&call, None, None, None).await
    }

    async fn expect_container(&mut self, spec: &ExpectContainer) -> Result<Response, StepError> {
        let equipment = self.render(&spec.equipment)?;
        let locode = match &spec.locode {
            Some(l) => self.render(l)?,
            None => verbs::DEFAULT_LOCODE.to_owned(),
        };
        let resp = self
            .control_get(format!("/simulator/v1/{locode}/containers/{equipment}"))
            .await?;
        if spec.found == Some(false) {
            if resp.status == 404 {
                return Ok(resp);
            }
            return Err(StepError::msg(format!(
                "expected container {equipment} to be unknown (404), got {}: {}",
                resp.status,
                matcher::show(&resp.body)
            )));
        }
        if resp.status != 200 {
            return Err(StepError::msg(format!(
                "GET container {equipment} answered {}: {}",
                resp.status,
                matcher::show(&resp.body)
            )));
        }
        let mut mismatches: Vec<Mismatch> = Vec::new();
        if let Some(status) = &spec.status {
            let status = self.vars.render_value(status).map_err(|e| e.to_string())?;
            check(&status, resp.body.get("status"), "status", &mut mismatches);
        }
        if let Some(archived) = &spec.archived {
            check(
                archived,
                resp.body.get("archived"),
                "archived",
                &mut mismatches,
            );
        }
        for (light, want) in &spec.lights {
            let want = self.vars.render_value(want).map_err(|e| e.to_string())?;
            let found = resp
                .body
                .get("lights")
                .and_then(Value::as_array)
                .and_then(|ls| {
                    ls.iter()
                        .find(|l| l.get("name").and_then(Value::as_str) == Some(light.as_str()))
                });
            let base = format!("lights[name={light}]");
            let Some(found) = found else {
                let names: Vec<&str> = resp
                    .body
                    .get("lights")
                    .and_then(Value::as_array)
                    .map(|ls| ls.iter().filter_map(|l| l.get("name")?.as_str()).collect())
                    .unwrap_or_default();
                mismatches.push(Mismatch {
                    path: base,
                    message: format!("no light `{light}` (lights: {})", names.join(", ")),
                    expected: None,
                });
                continue;
            };
            match &want {
                Value::Object(map)
                    if !matcher::is_matcher(map)
                        && map.keys().all(|k| k == "value" || k == "color") =>
                {
                    for (field, sub) in map {
                        check(
                            sub,
                            found.get(field),
                            &format!("{base}.{field}"),
                            &mut mismatches,
                        );
                    }
                }
                _ => check(
                    &want,
                    found.get("value"),
                    &format!("{base}.value"),
                    &mut mismatches,
                ),
            }
        }
        if let Some(body) = &spec.body {
            let body = self.vars.render_value(body).map_err(|e| e.to_string())?;
            check(&body, Some(&resp.body), "", &mut mismatches);
        }
        if mismatches.is_empty() {
            Ok(resp)
        } else {
            Err(mismatch_error(
                &format!("container {equipment}"),
                &mismatches,
                &resp.body,
            ))
        }
    }

    async fn expect_notifications(
        &mut self,
        step: &Step,
        spec: &ExpectNotifications,
    ) -> Result<Response, StepError> {
        let party = spec
            .party
            .clone()
            .or_else(|| step.party.clone())
            .unwrap_or_else(|| "psa".to_owned());
        let party = self.party_ref(&party)?;
        if !self.parties.contains_key(&party) {
            return Err(self.unknown_party(&party));
        }
        let mut query = verbs::notification_query(&spec.query, &self.vars)?;
        if query.is_empty() {
            match self.vars.get("equipment").and_then(Value::as_str) {
                Some(eq) => query.push(("equipmentNumber".to_owned(), eq.to_owned())),
                None => {
                    return Err(StepError::msg(
                        "expect_notifications needs a `query` (the API wants at least one filter)",
                    ))
                }
            }
        }
        let mut call = HttpCall {
            method: Method::GET,
            path: "/certified-pickup/v1/notifications".to_owned(),
            query,
            headers: Vec::new(),
            body: Body::None,
            auth: verbs::CallAuth {
                party: Some(party.clone()),
                token: true,
                key: true,
            },
            world: false,
        };
        let key = self
            .parties
            .get(&party)
            .and_then(|p| p.get("subscriptionKey"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let token = self.token(&party).await?;
        call.auth.party = Some(party.clone());
        let resp = self.send(&call, Some(token), key, None).await?;
        let items = match resp.status {
            200 => resp.body.as_array().cloned().unwrap_or_default(),
            405 => Vec::new(),
            other => {
                return Err(StepError::msg(format!(
                    "GET notifications as {party} answered {other}: {}",
                    matcher::show(&resp.body)
                )))
            }
        };
        let what = format!("notification(s) of {party}");
        self.filter_and_count(
            &what,
            items,
            spec.where_.as_ref(),
            spec.count.as_ref(),
            resp,
        )
    }

    async fn expect_webhooks(&mut self, spec: &ExpectWebhooks) -> Result<Response, StepError> {
        let resp = self
            .control_get("/simulator/v1/webhook-deliveries".to_owned())
            .await?;
        if resp.status != 200 {
            return Err(StepError::msg(format!(
                "GET webhook deliveries answered {}: {}",
                resp.status,
                matcher::show(&resp.body)
            )));
        }
        let items = match &resp.body {
            Value::Array(items) => items.clone(),
            other => other
                .get("deliveries")
                .or_else(|| other.get("items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        self.filter_and_count(
            "webhook deliveries",
            items,
            spec.where_.as_ref(),
            spec.count.as_ref(),
            resp,
        )
    }

    fn filter_and_count(
        &self,
        what: &str,
        items: Vec<Value>,
        where_: Option<&Value>,
        count: Option<&Value>,
        resp: Response,
    ) -> Result<Response, StepError> {
        let where_ = where_
            .map(|w| self.vars.render_value(w))
            .transpose()
            .map_err(|e| e.to_string())?;
        let total = items.len();
        let matching: Vec<Value> = items
            .iter()
            .filter(|item| {
                where_.as_ref().is_none_or(|w| {
                    let mut m = Vec::new();
                    check(w, Some(item), "", &mut m);
                    m.is_empty()
                })
            })
            .cloned()
            .collect();
        let count_spec = match count {
            Some(c) => self.vars.render_value(c).map_err(|e| e.to_string())?,
            None => json!({"gte": 1}),
        };
        let mut m = Vec::new();
        check(
            &count_spec,
            Some(&Value::from(matching.len())),
            "count",
            &mut m,
        );
        if m.is_empty() {
            return Ok(Response {
                status: resp.status,
                headers: resp.headers,
                body: Value::Array(matching),
            });
        }
        let filter = where_
            .as_ref()
            .map(|w| format!(" matching {}", matcher::show(w)))
            .unwrap_or_default();
        let mut message = format!(
            "expected {} {what}{filter}, found {} (of {total} received)",
            describe_count(&count_spec),
            matching.len()
        );
        if total > 0 {
            message.push_str("\nreceived:");
            for item in items.iter().take(20) {
                message.push_str(&format!("\n  - {}", summarize(item)));
            }
            if total > 20 {
                message.push_str(&format!("\n  ... and {} more", total - 20));
            }
        }
        Err(StepError::msg(message))
    }
}

fn describe_count(spec: &Value) -> String {
    match spec {
        Value::Number(n) => format!("exactly {n}"),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let word = match k.as_str() {
                    "gte" => "at least",
                    "gt" => "more than",
                    "lte" => "at most",
                    "lt" => "fewer than",
                    other => other,
                };
                format!("{word} {v}")
            })
            .collect::<Vec<_>>()
            .join(" and "),
        other => other.to_string(),
    }
}

/// One line about a notification or delivery: its type, event and ids.
fn summarize(item: &Value) -> String {
    let mut parts = Vec::new();
    for key in [
        "type",
        "event",
        "equipmentNumber",
        "publicReferenceId",
        "status",
        "url",
    ] {
        if let Some(v) = item.get(key).filter(|v| !v.is_null()) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{key}={text}"));
        }
    }
    if parts.is_empty() {
        matcher::show(&redact(item))
    } else {
        parts.join(" ")
    }
}

fn placed(step: &Step, number: &str, e: StepError) -> Failure {
    Failure {
        step: Some(number.to_owned()),
        description: Some(step.describe()),
        location: Some(origin_text(&step.origin)),
        message: e.message,
        diff: e.diff,
    }
}

fn origin_text(origin: &Origin) -> String {
    origin.to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn mismatch_error(prefix: &str, mismatches: &[Mismatch], doc: &Value) -> StepError {
    let shown = redact(doc);
    let lines: Vec<String> = mismatches
        .iter()
        .map(|m| {
            if m.path.is_empty() {
                format!("{prefix}: {}", m.message)
            } else {
                format!("{prefix} {}: {}", m.path, m.message)
            }
        })
        .collect();
    StepError {
        message: lines.join("\n"),
        diff: diff(&shown, mismatches),
    }
}

/// Check a response against `expect` (a 2xx status is expected when none is given).
fn check_response(expect: Option<&Expect>, resp: &Response) -> Result<(), StepError> {
    let mut lines = Vec::new();
    let default_status = Value::Object(
        [
            ("gte".to_owned(), json!(200)),
            ("lt".to_owned(), json!(300)),
        ]
        .into_iter()
        .collect(),
    );
    let status_spec = expect
        .and_then(|e| e.status.as_ref())
        .unwrap_or(&default_status);
    let mut m = Vec::new();
    check(
        status_spec,
        Some(&Value::from(resp.status)),
        "status",
        &mut m,
    );
    let status_failed = !m.is_empty();
    if status_failed {
        let expected = match status_spec {
            Value::Object(_) if std::ptr::eq(status_spec, &default_status) => {
                "a 2xx status".to_owned()
            }
            Value::Number(n) => format!("status {n}"),
            other => format!("status {}", matcher::show(other)),
        };
        lines.push(format!("expected {expected}, got {}", resp.status));
    }
    if let Some(expect) = expect {
        for (name, spec) in &expect.headers {
            let mut hm = Vec::new();
            let value = resp.header(name).map(|v| Value::String(v.to_owned()));
            check(spec, value.as_ref(), name, &mut hm);
            for mm in hm {
                lines.push(format!("header {name}: {}", mm.message));
            }
        }
        if let Some(spec) = &expect.body {
            let mut bm = Vec::new();
            check(spec, Some(&resp.body), "", &mut bm);
            if !bm.is_empty() {
                let err = mismatch_error("body", &bm, &resp.body);
                lines.push(err.message);
                let diff = err.diff;
                if status_failed && diff.is_none() {
                    lines.push(format!(
                        "response body: {}",
                        matcher::show(&redact(&resp.body))
                    ));
                }
                return Err(StepError {
                    message: lines.join("\n"),
                    diff,
                });
            }
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    if status_failed {
        lines.push(format!(
            "response body: {}",
            matcher::show(&redact(&resp.body))
        ));
    }
    Err(StepError::msg(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![("External-Reference-Id".into(), "abc".into())],
            body,
        }
    }

    #[test]
    fn default_expectation_is_2xx() {
        assert!(check_response(None, &resp(202, json!({}))).is_ok());
        let e = check_response(None, &resp(401, json!({"title": "Unauthorized"}))).unwrap_err();
        assert!(
            e.message.starts_with("expected a 2xx status, got 401"),
            "{}",
            e.message
        );
        assert!(e.message.contains("Unauthorized"), "{}", e.message);
    }

    #[test]
    fn body_and_header_mismatches_are_listed_with_a_diff() {
        let expect = Expect {
            status: Some(json!(200)),
            headers: [("external-reference-id".to_owned(), json!("xyz"))]
                .into_iter()
                .collect(),
            body: Some(json!({"releaseIdentification[0].isValid": true})),
        };
        let e = check_response(
            Some(&expect),
            &resp(
                200,
                json!({"releaseIdentification": [{"isValid": false}], "access_token": "secret"}),
            ),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("header external-reference-id: expected \"xyz\", got \"abc\""),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("body releaseIdentification[0].isValid: expected true, got false"),
            "{}",
            e.message
        );
        let diff = e.diff.unwrap();
        assert!(
            diff.contains("[redacted]") && !diff.contains("secret"),
            "{diff}"
        );
    }

    #[test]
    fn counts_are_described() {
        assert_eq!(describe_count(&json!(2)), "exactly 2");
        assert_eq!(describe_count(&json!({"gte": 1})), "at least 1");
    }
}
