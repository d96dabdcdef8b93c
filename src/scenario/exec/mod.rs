//! Running one scenario against a simulator over HTTP.
//!
//! Each scenario first creates its own world (`POST /simulator/v1/worlds`) and from then on
//! uses only that world's parties and credentials, so scenarios running in parallel (or two
//! scenarios using the same container number) never see each other. Tokens are fetched per
//! party with the password grant and cached for the scenario. Control calls carry the world in
//! `X-Sim-World`. Steps run in order; the first failing step ends the scenario.
//!
//! This module holds the run and its control flow (steps, groups, repeats, `eventually`,
//! captures); [`session`] the world, the credentials and the HTTP calls; [`expectations`] the
//! checks of responses, containers, notifications and webhooks against what a step expects.

mod expectations;
mod session;

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
use expectations::check_response;

/// Per-request timeout (a fault with latency must not hang a run).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// An idle pooled connection is dropped before the simulator's 5 s keep-alive closes it, so no
/// step goes out on a connection the server is closing (it would fail as an incomplete message).
const IDLE_CONNECTION: Duration = Duration::from_secs(2);

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
            .pool_idle_timeout(IDLE_CONNECTION)
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
