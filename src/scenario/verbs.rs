//! Shorthand verbs: each CPu call written in a few words, turned into the real NxtPort request
//! (path, headers, body) with defaults taken from the acting party (its terminal code, its
//! ingestion id, its Alfapass numbers, ...). The `request` verb builds anything by hand.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::model::{
    Action, AlfapassValidationArgs, BargeRailPickupRightArgs, BargeRailValidationArgs, Control,
    Ingestion, IngestionArgs, NotificationQuery, OwnershipValidationArgs, PickupRightArgs,
    RawRequest, RegistryArgs, ReleaseDetailArgs, ReleaseRightArgs, TerminalReleaseArgs, TokenArgs,
    TruckValidationArgs,
};
use super::template::Vars;
use cpu_contract::paths;

/// The port of Antwerp-Bruges, the default `locode`.
pub const DEFAULT_LOCODE: &str = "BEANR";

/// `identificationType` sent for a NxtEntityId (the seed: "use int value: 0 (NxtEntityId)").
const NXT_ENTITY_ID_TYPE: i64 = 0;

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(Value),
    Raw { text: String, content_type: String },
    Form(Vec<(String, String)>),
}

/// Which credentials a call carries by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAuth {
    /// Party whose credentials are used (None: anonymous).
    pub party: Option<String>,
    /// Send `Authorization: Bearer <token>`.
    pub token: bool,
    /// Send `Ocp-Apim-Subscription-Key`.
    pub key: bool,
}

/// A request ready to send (path relative to the target's base URL).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub auth: CallAuth,
    /// Send `X-Sim-World` (control API calls).
    pub world: bool,
}

impl HttpCall {
    fn new(method: Method, path: String, party: Option<String>) -> Self {
        let anonymous = party.is_none();
        HttpCall {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            auth: CallAuth {
                party,
                token: !anonymous,
                key: !anonymous,
            },
            world: false,
        }
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
}

/// What verbs need to know about the world.
pub struct VerbContext<'a> {
    pub vars: &'a Vars,
    pub parties: &'a BTreeMap<String, Value>,
    /// The acting party's key.
    pub acting: Option<&'a str>,
}

type VResult<T> = Result<T, String>;

impl VerbContext<'_> {
    fn r(&self, s: &str) -> VResult<String> {
        self.vars.render_str(s).map_err(|e| e.to_string())
    }

    fn ro(&self, s: Option<&String>) -> VResult<Option<String>> {
        s.map(|s| self.r(s)).transpose()
    }

    fn rv(&self, v: &Value) -> VResult<Value> {
        self.vars.render_value(v).map_err(|e| e.to_string())
    }

    fn party(&self, key: &str) -> Option<&Value> {
        self.parties.get(key)
    }

    fn party_field(&self, key: &str, field: &str) -> Option<String> {
        self.party(key)?.get(field)?.as_str().map(str::to_owned)
    }

    fn acting_field(&self, field: &str) -> Option<String> {
        self.acting.and_then(|p| self.party_field(p, field))
    }

    fn locode(&self, value: Option<&String>) -> VResult<String> {
        Ok(self.ro(value)?.unwrap_or_else(|| DEFAULT_LOCODE.to_owned()))
    }

    /// A terminal party key or a literal code; default: the acting party's code, else psa's.
    fn terminal_code(&self, value: Option<&String>) -> VResult<String> {
        if let Some(v) = self.ro(value)? {
            return Ok(self.party_field(&v, "terminalCode").unwrap_or(v));
        }
        self.acting_field("terminalCode")
            .or_else(|| self.party_field("psa", "terminalCode"))
            .ok_or_else(|| {
                "no terminal code: give `terminal:` (a terminal party key or code)".to_owned()
            })
    }

    /// A party key or a literal NxtEntityId.
    fn entity_id(&self, value: &str) -> VResult<String> {
        let v = self.r(value)?;
        Ok(self.party_field(&v, "nxtEntityId").unwrap_or(v))
    }

    /// A party key (or NxtEntityId) as `{identificationType: 0, identificationCode}`, or an
    /// object written out in full.
    fn identification(&self, value: &Value) -> VResult<Value> {
        match self.rv(value)? {
            Value::String(s) => Ok(json!({
                "identificationType": NXT_ENTITY_ID_TYPE,
                "identificationCode": self.party_field(&s, "nxtEntityId").unwrap_or(s),
            })),
            other => Ok(other),
        }
    }

    fn acting_alfapass(&self) -> Option<String> {
        let party = self.party(self.acting?)?;
        party
            .get("alfapassNumbers")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Current time as NxtPort writes it.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn seg(s: &str) -> String {
    paths::segment(s)
}

/// The default acting party of a verb when the step has no `as`.
pub fn default_party(action: &Action) -> Option<&'static str> {
    match action {
        Action::ReleaseRight(_) => Some("agent"),
        Action::PickupRight(_) => Some("trucker"),
        Action::BargeRailPickupRight(_) => Some("barge"),
        Action::Request(_)
        | Action::Control(_)
        | Action::ExpectContainer(_)
        | Action::ExpectNotifications(_)
        | Action::ExpectWebhooks(_)
        | Action::Wait(_)
        | Action::Group(_) => None,
        _ => Some("psa"),
    }
}

/// Build the request of an HTTP action; None for actions that are not one request.
pub fn build(action: &Action, ctx: &VerbContext<'_>) -> Option<VResult<HttpCall>> {
    Some(match action {
        Action::Request(a) => request(a, ctx),
        Action::Token(a) => token(a, ctx),
        Action::TerminalRelease(a) => terminal_release(a, ctx),
        Action::Ingestion(kind, a) => ingestion(*kind, a, ctx),
        Action::ValidateTruckPickup(a) => truck_validation(a, ctx),
        Action::ValidateBargeRailPickup(a) => barge_rail_validation(a, ctx),
        Action::ValidateAlfapass(a) => alfapass_validation(a, ctx),
        Action::ValidateOwnership(a) => ownership_validation(a, ctx),
        Action::ReleaseDetail(a) => release_detail(a, ctx),
        Action::Registry(a) => registry(a, ctx),
        Action::Notifications(a) => notifications(a, ctx),
        Action::ReleaseRight(a) => release_right(a, ctx),
        Action::PickupRight(a) => pickup_right(a, ctx),
        Action::BargeRailPickupRight(a) => barge_rail_pickup_right(a, ctx),
        Action::Control(c) => control(c, ctx),
        Action::ExpectContainer(_)
        | Action::ExpectNotifications(_)
        | Action::ExpectWebhooks(_)
        | Action::Wait(_)
        | Action::Group(_) => return None,
    })
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn request(a: &RawRequest, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
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

fn token(a: &TokenArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
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

fn terminal_release(a: &TerminalReleaseArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(a.terminal.as_ref())?),
    );
    body.insert(
        "actionType".into(),
        json!(ctx
            .ro(a.action.as_ref())?
            .unwrap_or_else(|| "Release".to_owned())),
    );
    body.insert(
        "releaseDateTimeUtc".into(),
        json!(ctx
            .ro(a.release_date_time_utc.as_ref())?
            .unwrap_or_else(now_iso)),
    );
    if let Some(stay) = ctx.ro(a.stay_number.as_ref())? {
        body.insert("stayNumber".into(), json!(stay));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::terminal_release(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

fn ingestion(kind: Ingestion, a: &IngestionArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let ingestion_id = match ctx.ro(a.ingestion_id.as_ref())? {
        Some(id) => id,
        None => ctx.acting_field("ingestionId").ok_or_else(|| {
            format!(
                "party `{}` has no ingestionId: act as a terminal (`as: psa`) or give `ingestionId:`",
                ctx.acting.unwrap_or("?")
            )
        })?,
    };
    let mut body = Map::new();
    body.insert("portLoCode".into(), json!(ctx.locode(a.locode.as_ref())?));
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    let status = match (kind, ctx.ro(a.equipment_status.as_ref())?) {
        (_, Some(s)) => Some(s),
        (Ingestion::Discharge, None) => Some("import".to_owned()),
        _ => None,
    };
    if let Some(status) = status {
        body.insert("equipmentStatus".into(), json!(status));
    }
    if let Some(bls) = &a.bill_of_lading_numbers {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        body.insert("billOfLadingNumbers".into(), json!(bls));
    }
    body.insert(
        "timestamp".into(),
        json!(ctx.ro(a.timestamp.as_ref())?.unwrap_or_else(now_iso)),
    );
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(a.terminal.as_ref())?),
    );
    if let Some(stay) = ctx.ro(a.stay_number.as_ref())? {
        body.insert("stayNumber".into(), json!(stay));
    }
    body.insert("operationType".into(), json!(kind.operation_type()));
    if kind == Ingestion::Discharge {
        body.insert(
            "fullEmptyIndicator".into(),
            json!(ctx
                .ro(a.full_empty_indicator.as_ref())?
                .unwrap_or_else(|| "full".to_owned())),
        );
    } else if let Some(fe) = ctx.ro(a.full_empty_indicator.as_ref())? {
        body.insert("fullEmptyIndicator".into(), json!(fe));
    }
    if let Some(mode) = &a.mode_of_transport {
        body.insert("modeOfTransport".into(), ctx.rv(mode)?);
    }
    let mut call = HttpCall::new(
        Method::POST,
        paths::ingestion(&ingestion_id),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body));
    // Ingestion needs only the bearer token.
    call.auth.key = false;
    Ok(call)
}

fn truck_validation(a: &TruckValidationArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let carrier = a
        .carrier
        .as_ref()
        .map(|c| ctx.identification(c))
        .transpose()?;
    let mut items = Vec::new();
    let mut push = |equipment: &str, bls: &[String]| -> VResult<()> {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        let mut item = json!({"equipmentNumber": ctx.r(equipment)?, "billOfLadingNumbers": bls});
        if let (Some(c), Some(obj)) = (&carrier, item.as_object_mut()) {
            obj.insert("carrier".into(), c.clone());
        }
        items.push(item);
        Ok(())
    };
    if let Some(eq) = &a.equipment {
        push(eq, &a.bill_of_lading_numbers)?;
    }
    for c in &a.containers {
        push(&c.equipment, &c.bill_of_lading_numbers)?;
    }
    if items.is_empty() {
        return Err("validate_truck_pickup needs `equipment` or `containers`".to_owned());
    }
    Ok(HttpCall::new(
        Method::POST,
        paths::truck_sync_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(json!({"alfapassNumber": ctx.r(&a.alfapass)?, "releaseIdentification": items})))
}

fn means_of_transport_of(ctx: &VerbContext<'_>, operator_key: Option<&str>) -> Value {
    let mode = operator_key.and_then(|k| ctx.party_field(k, "transportMode"));
    match mode.as_deref() {
        Some("Truck") => json!(1),
        Some("Rail") => json!(3),
        _ => json!(2),
    }
}

fn barge_rail_validation(a: &BargeRailValidationArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let operator = a
        .transport_operator
        .clone()
        .unwrap_or_else(|| Value::String("barge".to_owned()));
    let operator = ctx.rv(&operator)?;
    let operator_key = operator.as_str().map(str::to_owned);
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    body.insert("billOfLadingNumbers".into(), json!(bls));
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    body.insert(
        "meansOfTransport".into(),
        match &a.means_of_transport {
            Some(m) => ctx.rv(m)?,
            None => means_of_transport_of(ctx, operator_key.as_deref()),
        },
    );
    body.insert("transportOperator".into(), ctx.identification(&operator)?);
    if let Some(c) = &a.carrier {
        body.insert("carrier".into(), ctx.identification(c)?);
    }
    Ok(HttpCall::new(
        Method::POST,
        paths::barge_rail_sync_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

fn alfapass_validation(a: &AlfapassValidationArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    Ok(HttpCall::new(
        Method::POST,
        paths::identification_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(json!({
        "identificationType": ctx.ro(a.identification_type.as_ref())?.unwrap_or_else(|| "Alfapass".to_owned()),
        "identificationCode": ctx.r(&a.alfapass)?,
    })))
}

fn ownership_validation(a: &OwnershipValidationArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let mut body = Map::new();
    body.insert("portLoCode".into(), json!(locode));
    body.insert("ownerNxtEntityId".into(), json!(ctx.entity_id(&a.owner)?));
    if let Some(alfapass) = ctx.ro(a.alfapass.as_ref())? {
        body.insert("alfapassNumber".into(), json!(alfapass));
    }
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    Ok(HttpCall::new(
        Method::POST,
        paths::truck_ownership_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

fn release_detail(a: &ReleaseDetailArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let mut call = HttpCall::new(
        Method::GET,
        paths::release_detail(&locode, &ctx.r(&a.equipment)?),
        ctx.acting.map(str::to_owned),
    );
    if !a.bill_of_lading_numbers.is_empty() {
        let bls: Vec<String> = a
            .bill_of_lading_numbers
            .iter()
            .map(|b| ctx.r(b))
            .collect::<VResult<_>>()?;
        // `style: form, explode: false`: one comma-separated value.
        call.query
            .push(("billOfLadingNumbers".to_owned(), bls.join(",")));
    }
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        call.query.push(("releaseIdentification".to_owned(), r));
    }
    Ok(call)
}

fn registry(a: &RegistryArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let mut call = HttpCall::new(
        Method::GET,
        paths::entities(),
        ctx.acting.map(str::to_owned),
    );
    let pairs = [
        ("EORI", a.eori.as_ref()),
        ("DUNS", a.duns.as_ref()),
        ("VAT", a.vat.as_ref()),
        ("NxtEntityId", a.nxt_entity_id.as_ref()),
        ("entityName", a.entity_name.as_ref()),
        ("apcsCode", a.apcs_code.as_ref()),
    ];
    for (name, value) in pairs {
        if let Some(v) = ctx.ro(value)? {
            call.query.push((name.to_owned(), v));
        }
    }
    for (name, value) in [("page", &a.page), ("pageSize", &a.page_size)] {
        if let Some(v) = value {
            call.query.push((name.to_owned(), scalar_text(&ctx.rv(v)?)));
        }
    }
    Ok(call)
}

/// The query pairs of a notification query (rendered).
pub fn notification_query(q: &NotificationQuery, vars: &Vars) -> VResult<Vec<(String, String)>> {
    let pairs = [
        ("notificationEvent", q.notification_event.as_ref()),
        ("equipmentNumber", q.equipment_number.as_ref()),
        ("publicReferenceId", q.public_reference_id.as_ref()),
        ("releaseId", q.release_id.as_ref()),
        ("storedOn", q.stored_on.as_ref()),
        ("timeWindowFrom", q.time_window_from.as_ref()),
        ("timeWindowTo", q.time_window_to.as_ref()),
    ];
    let mut out = Vec::new();
    for (name, value) in pairs {
        if let Some(v) = value {
            out.push((
                name.to_owned(),
                vars.render_str(v).map_err(|e| e.to_string())?,
            ));
        }
    }
    Ok(out)
}

fn notifications(a: &NotificationQuery, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let mut call = HttpCall::new(
        Method::GET,
        paths::notifications(),
        ctx.acting.map(str::to_owned),
    );
    call.query = notification_query(a, ctx.vars)?;
    Ok(call)
}

fn release_right(a: &ReleaseRightArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let action = ctx
        .ro(a.action.as_ref())?
        .unwrap_or_else(|| "Release".to_owned());
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(Some(
            &a.terminal.clone().unwrap_or_else(|| "psa".to_owned())
        ))?),
    );
    body.insert("actionType".into(), json!(action));
    let from = match &a.from {
        Some(f) => Some(ctx.identification(&Value::String(f.clone()))?),
        None => ctx
            .acting
            .map(|p| ctx.identification(&Value::String(p.to_owned())))
            .transpose()?,
    };
    if let Some(from) = from {
        body.insert("releaseFrom".into(), from);
    }
    if let Some(to) = &a.to {
        body.insert(
            "releaseTo".into(),
            ctx.identification(&Value::String(to.clone()))?,
        );
    }
    if let Some(c) = &a.carrier {
        body.insert("carrier".into(), ctx.identification(c)?);
    }
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        body.insert("releaseIdentification".into(), json!(r));
    }
    if let Some(bls) = &a.bill_of_lading_numbers {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        body.insert("billOfLadingNumbers".into(), json!(bls));
    }
    if let Some(r) = ctx.ro(a.reason.as_ref())? {
        body.insert("reasonForAction".into(), json!(r));
    }
    let release_time = ctx.ro(a.release_date_time_utc.as_ref())?;
    if let Some(t) = release_time {
        body.insert("releaseDateTimeUtc".into(), json!(t));
    } else if action == "Release" {
        body.insert("releaseDateTimeUtc".into(), json!(now_iso()));
    }
    if let Some(t) = ctx.ro(a.expiration_date_time_utc.as_ref())? {
        body.insert("expirationDateTimeUtc".into(), json!(t));
    }
    if let Some(t) = ctx.ro(a.valid_from.as_ref())? {
        body.insert("validFrom".into(), json!(t));
    }
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::release_rights(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

fn pickup_right(a: &PickupRightArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let alfapass = match ctx.ro(a.alfapass.as_ref())? {
        Some(a) => a,
        None => ctx.acting_alfapass().ok_or_else(|| {
            "no Alfapass: give `alfapass:` or act as a party with alfapassNumbers".to_owned()
        })?,
    };
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut body = Map::new();
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(Some(
            &a.terminal.clone().unwrap_or_else(|| "psa".to_owned())
        ))?),
    );
    body.insert("billOfLadingNumbers".into(), json!(bls));
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        body.insert("releaseIdentification".into(), json!(r));
    }
    body.insert(
        "pickupParty".into(),
        json!({
            "partyType": ctx.ro(a.party_type.as_ref())?.unwrap_or_else(|| "Truck".to_owned()),
            "identificationType": ctx.ro(a.identification_type.as_ref())?.unwrap_or_else(|| "Alfapass".to_owned()),
            "identificationCode": alfapass,
        }),
    );
    body.insert("timestamp".into(), json!(now_iso()));
    body.insert(
        "actionType".into(),
        json!(ctx
            .ro(a.action.as_ref())?
            .unwrap_or_else(|| "Assign".to_owned())),
    );
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::pickup_rights(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

fn barge_rail_pickup_right(
    a: &BargeRailPickupRightArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let broker = match &a.data_broker {
        Some(b) => ctx.entity_id(b)?,
        None => ctx
            .acting_field("nxtEntityId")
            .ok_or_else(|| "no data broker: give `dataBroker:`".to_owned())?,
    };
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut identifier = json!({
        "billOfLadingNumbers": bls,
        "equipmentNumber": ctx.r(&a.equipment)?,
    });
    if let (Some(r), Some(obj)) = (
        ctx.ro(a.release_identification.as_ref())?,
        identifier.as_object_mut(),
    ) {
        obj.insert("releaseIdentification".into(), json!(r));
    }
    let mut body = json!({
        "terminalCode": ctx.terminal_code(Some(&a.terminal.clone().unwrap_or_else(|| "psa".to_owned())))?,
        "releaseIdentifier": identifier,
        "dataBrokerNxtEntityId": broker,
        "actionType": ctx.ro(a.action.as_ref())?.unwrap_or_else(|| "Assign".to_owned()),
    });
    if let (Some(id), Some(obj)) = (ctx.ro(a.release_id.as_ref())?, body.as_object_mut()) {
        obj.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::barge_rail_pickup_rights(),
        ctx.acting.map(str::to_owned),
    )
    .json(body))
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
            Value::String(s) => super::load::parse_duration(&s)?.as_secs(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::ContainerRef;

    fn parties() -> BTreeMap<String, Value> {
        let mut p = BTreeMap::new();
        p.insert("psa".into(), json!({"key": "psa", "terminalCode": "869", "ingestionId": "ing-1", "nxtEntityId": "NXT-PSA"}));
        p.insert("trucker".into(), json!({"key": "trucker", "alfapassNumbers": ["AP1"], "nxtEntityId": "NXT-TR", "transportMode": "Truck"}));
        p.insert(
            "rail".into(),
            json!({"key": "rail", "nxtEntityId": "NXT-RAIL", "transportMode": "Rail"}),
        );
        p.insert(
            "agent".into(),
            json!({"key": "agent", "nxtEntityId": "NXT-AG"}),
        );
        p
    }

    #[test]
    fn discharge_uses_the_terminal_ingestion_id_and_bearer_only() {
        let mut vars = Vars::new();
        vars.set("equipment", json!("MSCU1234565"));
        let parties = parties();
        let ctx = VerbContext {
            vars: &vars,
            parties: &parties,
            acting: Some("psa"),
        };
        let args = IngestionArgs {
            equipment: "{{equipment}}".into(),
            terminal: None,
            locode: None,
            stay_number: Some("S1".into()),
            timestamp: Some("T".into()),
            full_empty_indicator: None,
            equipment_status: None,
            bill_of_lading_numbers: None,
            mode_of_transport: None,
            ingestion_id: None,
        };
        let call = ingestion(Ingestion::Discharge, &args, &ctx).unwrap();
        assert_eq!(call.path, "/ingestion/v1/ingestion/ing-1");
        assert!(call.auth.token && !call.auth.key);
        assert_eq!(
            call.body,
            Body::Json(
                json!({"portLoCode": "BEANR", "equipmentNumber": "MSCU1234565", "equipmentStatus": "import",
                "timestamp": "T", "terminalCode": "869", "stayNumber": "S1", "operationType": "Discharge", "fullEmptyIndicator": "full"})
            )
        );
    }

    #[test]
    fn truck_validation_and_release_right_bodies() {
        let vars = Vars::new();
        let parties = parties();
        let ctx = VerbContext {
            vars: &vars,
            parties: &parties,
            acting: Some("psa"),
        };
        let call = truck_validation(
            &TruckValidationArgs {
                alfapass: "AP1".into(),
                equipment: Some("A".into()),
                bill_of_lading_numbers: vec![],
                containers: vec![ContainerRef {
                    equipment: "B".into(),
                    bill_of_lading_numbers: vec!["BL".into()],
                }],
                carrier: None,
                locode: None,
            },
            &ctx,
        )
        .unwrap();
        assert_eq!(
            call.body,
            Body::Json(json!({"alfapassNumber": "AP1", "releaseIdentification": [
                {"equipmentNumber": "A", "billOfLadingNumbers": []},
                {"equipmentNumber": "B", "billOfLadingNumbers": ["BL"]}]}))
        );
        let ctx = VerbContext {
            vars: &vars,
            parties: &parties,
            acting: Some("agent"),
        };
        let call = release_right(
            &ReleaseRightArgs {
                action: Some("Transfer".into()),
                equipment: "A".into(),
                from: None,
                to: Some("trucker".into()),
                terminal: None,
                carrier: None,
                release_identification: None,
                bill_of_lading_numbers: None,
                reason: None,
                release_date_time_utc: None,
                expiration_date_time_utc: None,
                valid_from: None,
                locode: None,
                release_id: None,
            },
            &ctx,
        )
        .unwrap();
        let Body::Json(body) = call.body else {
            panic!()
        };
        assert_eq!(
            body["releaseTo"],
            json!({"identificationType": 0, "identificationCode": "NXT-TR"})
        );
        assert_eq!(body["releaseFrom"]["identificationCode"], json!("NXT-AG"));
        assert_eq!(body["terminalCode"], json!("869"));
        assert!(body.get("releaseDateTimeUtc").is_none());
    }

    #[test]
    fn barge_rail_mode_follows_the_operator() {
        let vars = Vars::new();
        let parties = parties();
        let ctx = VerbContext {
            vars: &vars,
            parties: &parties,
            acting: Some("psa"),
        };
        let call = barge_rail_validation(
            &BargeRailValidationArgs {
                equipment: "A".into(),
                bill_of_lading_numbers: vec![],
                release_id: None,
                means_of_transport: None,
                transport_operator: Some(json!("rail")),
                carrier: None,
                locode: None,
            },
            &ctx,
        )
        .unwrap();
        let Body::Json(body) = call.body else {
            panic!()
        };
        assert_eq!(body["meansOfTransport"], json!(3));
        assert_eq!(
            body["transportOperator"]["identificationCode"],
            json!("NXT-RAIL")
        );
    }

    /// Every verb's default body parses as the shared wire type: the runner and the
    /// simulator cannot drift apart.
    #[test]
    fn default_bodies_parse_as_the_wire_types() {
        use crate::scenario::load::parse_scenario;
        use cpu_contract as wire;
        let text = r#"
name: all verbs
steps:
  - as: psa
    terminal_release: { equipment: MSCU1234565, action: Block, stayNumber: S1 }
  - as: psa
    discharge: { equipment: MSCU1234565 }
  - as: psa
    gate_in: { equipment: MSCU1234565, billOfLadingNumbers: [BL1], equipmentStatus: import }
  - as: psa
    gate_out: { equipment: MSCU1234565, modeOfTransport: 1 }
  - as: psa
    validate_truck_pickup: { alfapass: AP1, equipment: MSCU1234565, carrier: agent }
  - as: psa
    validate_barge_rail_pickup: { equipment: MSCU1234565, transportOperator: rail }
  - as: psa
    validate_alfapass: { alfapass: AP1 }
  - as: psa
    validate_ownership: { owner: trucker, alfapass: AP1, equipment: MSCU1234565 }
  - as: agent
    release_right: { equipment: MSCU1234565, to: trucker, releaseId: 3fa85f64-5717-4562-b3fc-2c963f66afa6 }
  - as: trucker
    pickup_right: { equipment: MSCU1234565 }
  - as: rail
    barge_rail_pickup_right: { equipment: MSCU1234565 }
"#;
        let scenario = parse_scenario(text, std::path::Path::new("t.yaml")).unwrap();
        let vars = Vars::new();
        let parties = parties();
        for step in &scenario.steps {
            let ctx = VerbContext {
                vars: &vars,
                parties: &parties,
                acting: step.party.as_deref(),
            };
            let call = build(&step.action, &ctx).unwrap().unwrap();
            let Body::Json(body) = call.body else {
                panic!("{} has no JSON body", step.action_name())
            };
            let parsed = match step.action_name() {
                "terminal_release" => {
                    serde_json::from_value::<wire::TerminalReleaseRequest>(body.clone()).map(|_| ())
                }
                "discharge" | "gate_in" | "gate_out" => {
                    serde_json::from_value::<wire::IngestionRequest>(body.clone()).map(|_| ())
                }
                "validate_truck_pickup" => {
                    serde_json::from_value::<wire::TruckPickupValidationRequest>(body.clone())
                        .map(|_| ())
                }
                "validate_barge_rail_pickup" => {
                    serde_json::from_value::<wire::BargeRailPickupValidationRequest>(body.clone())
                        .map(|_| ())
                }
                "validate_alfapass" => {
                    serde_json::from_value::<wire::IdentificationValidationRequest>(body.clone())
                        .map(|_| ())
                }
                "validate_ownership" => {
                    serde_json::from_value::<wire::TruckOwnershipValidationRequest>(body.clone())
                        .map(|_| ())
                }
                "release_right" => {
                    serde_json::from_value::<wire::ReleaseRightActionRequest>(body.clone())
                        .map(|_| ())
                }
                "pickup_right" => {
                    serde_json::from_value::<wire::SubmitPickupRightRequest>(body.clone())
                        .map(|_| ())
                }
                "barge_rail_pickup_right" => {
                    serde_json::from_value::<wire::SubmitBargeRailPickupRightRequest>(body.clone())
                        .map(|_| ())
                }
                other => panic!("untested verb {other}"),
            };
            assert!(
                parsed.is_ok(),
                "{}: {:?} for {body}",
                step.action_name(),
                parsed.err()
            );
        }
    }

    #[test]
    fn merge_patches_and_removes() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(&mut v, &json!({"a": null, "b": {"c": "x"}, "e": [1]}));
        assert_eq!(v, json!({"b": {"c": "x", "d": 3}, "e": [1]}));
    }
}
