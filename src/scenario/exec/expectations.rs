//! What a step expects, checked: the response of a call (status, headers, body), a container's
//! state, the notifications and the webhook deliveries of the scenario's world.

use super::*;

impl Run<'_> {
    /// `expect` with its templates rendered.
    pub(super) fn render_expect(&self, e: &Expect) -> Result<Expect, StepError> {
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

    pub(super) async fn expect_container(
        &mut self,
        spec: &ExpectContainer,
    ) -> Result<Response, StepError> {
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

    pub(super) async fn expect_notifications(
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

    pub(super) async fn expect_webhooks(
        &mut self,
        spec: &ExpectWebhooks,
    ) -> Result<Response, StepError> {
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

    pub(super) fn filter_and_count(
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

pub(super) fn describe_count(spec: &Value) -> String {
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
pub(super) fn summarize(item: &Value) -> String {
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

pub(super) fn mismatch_error(prefix: &str, mismatches: &[Mismatch], doc: &Value) -> StepError {
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
pub(super) fn check_response(expect: Option<&Expect>, resp: &Response) -> Result<(), StepError> {
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
