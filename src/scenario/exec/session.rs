//! The scenario's session with the simulator: its own world (created, then freed), the parties'
//! credentials and cached tokens, and the HTTP calls themselves (recorded in the coverage).

use super::*;

impl Run<'_> {
    pub(super) async fn create_world(&mut self, scenario: &Scenario) -> Result<(), StepError> {
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
    pub(super) async fn delete_world(&mut self) {
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

    /// A party key as written (`trucker`, `"{{holder}}"`); a template may also name a party
    /// object (`"{{trucker}}"`), whose key is used.
    pub(super) fn party_ref(&self, written: &str) -> Result<String, StepError> {
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

    pub(super) fn unknown_party(&self, key: &str) -> StepError {
        let known: Vec<&str> = self.parties.keys().map(String::as_str).collect();
        StepError::msg(format!(
            "unknown party `{key}` (this world has: {})",
            known.join(", ")
        ))
    }

    /// Resolve the bearer token and subscription key a call sends.
    pub(super) async fn credentials(
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
    pub(super) async fn token(&mut self, key: &str) -> Result<String, StepError> {
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

    pub(super) async fn send(
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

    pub(super) async fn control_get(&mut self, path: String) -> Result<Response, StepError> {
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
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
