//! The sandbox's world pages: parties and containers (`/`), a container with its lights, rights,
//! history and notifications, and the forms that act as a party, run the gate's validation or
//! advance the clock (each turned into one core command).

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use cpu_simulator as sim;
use sim::{
    Action, Command, CustomsValue, Identification, IdentificationType, PickupAction, PickupTarget,
    ReleaseAction, ReleaseRightCommand, RightSelector, Role, SimError, TerminalAction,
    TerminalEventCommand,
};

use super::chrome::{render, version_of, world, Chrome, Result, SandboxError, SandboxForm};
use crate::http_edge::forms::{field_message, input_for, FormState};
use crate::simulate::state::{SimState, WorldHandle};

/// The sandbox's forms (the hidden `form` field) and the inputs each shows: a refusal naming
/// one of them is shown next to it, any other above the form.
const FORMS: [(&str, &[&str]); 7] = [
    (
        "release",
        &["party", "equipment", "locode", "terminal", "to"],
    ),
    ("rights", &["party", "action", "to"]),
    ("pickup", &["party", "alfapass"]),
    ("customs", &["customs"]),
    ("terminal", &["party", "action"]),
    ("gate", &["alfapass"]),
    ("clock", &["hours"]),
];

/// The form a post came from (none of them: its message goes above the page).
fn form_state(form: &SandboxForm) -> (FormState, &'static [&'static str]) {
    let posted = form.get("form").map(|f| f.trim()).unwrap_or_default();
    match FORMS.iter().find(|(name, _)| *name == posted) {
        Some((name, inputs)) => (FormState::new(name, form.0.clone()), inputs),
        None => (FormState::default(), &[]),
    }
}

/// The core's JSON fields and the inputs of the sandbox's forms that fill them.
const CORE_FIELDS: [(&str, &str); 6] = [
    ("releaseTo", "to"),
    ("terminalCode", "terminal"),
    ("pickupParty", "alfapass"),
    ("equipmentNumber", "equipment"),
    ("customsStatus", "customs"),
    ("seconds", "hours"),
];

/// Why a form's command was refused: the input at fault (when one is) and the message.
type Refusal = (Option<&'static str>, String);

/// A refusal of the core, with the input it names.
fn core_refusal(e: SimError) -> Refusal {
    match &e {
        SimError::InvalidField { field, message } => match input_for(field, &CORE_FIELDS) {
            Some(input) => (Some(input), field_message(field, message)),
            None => (None, e.to_string()),
        },
        SimError::UnknownParty { field, .. } => match input_for(field, &CORE_FIELDS) {
            Some(input) => (Some(input), field_message(field, &e.to_string())),
            None => (None, e.to_string()),
        },
        // The acting party may not do this (its role, or it is unknown in this world).
        SimError::NotAllowed(_) | SimError::UnknownCaller(_) => {
            (Some("party"), field_message("", &e.to_string()))
        }
        SimError::UnknownContainer(_) => (Some("equipment"), field_message("", &e.to_string())),
        SimError::InvalidState(_) | SimError::ClockBackwards => (None, e.to_string()),
    }
}

/// `GET /sandbox/version`: what the page script compares with the page's own version.
#[tracing::instrument(skip_all)]
pub async fn version(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain")
        .body(version_of(&w)))
}

pub struct LightView {
    pub name: &'static str,
    pub value: &'static str,
    pub color: String,
}

fn lights(l: &sim::Lights) -> Vec<LightView> {
    l.views()
        .iter()
        .map(|v| LightView {
            name: v.name.as_str(),
            value: v.value,
            color: v.color.as_str().to_ascii_lowercase(),
        })
        .collect()
}

pub struct PartyRow {
    key: String,
    role: &'static str,
    name: String,
    nxt: String,
    username: String,
    password: String,
    client_id: String,
    client_secret: String,
    subscription_key: String,
    extra: String,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::ShippingAgent => "Shipping agent",
        Role::ReleaseParty => "Forwarder (release party)",
        Role::TransportOperator => "Transport operator",
        Role::TerminalOperator => "Terminal operator",
        Role::Customs => "Customs",
    }
}

pub struct ContainerRow {
    locode: String,
    equipment: String,
    terminal: String,
    status: &'static str,
    lights: Vec<LightView>,
}

pub struct Choice {
    key: String,
    label: String,
}

#[derive(Template)]
#[template(path = "sandbox/index.html")]
struct IndexPage {
    chrome: Chrome,
    parties: Vec<PartyRow>,
    containers: Vec<ContainerRow>,
    agents: Vec<Choice>,
    forwarders: Vec<Choice>,
    terminals: Vec<Choice>,
    error: Option<String>,
    /// A refused form, shown again.
    form: FormState,
}

fn choices(world: &sim::World, role: Role) -> Vec<Choice> {
    world
        .parties()
        .iter()
        .filter(|p| p.role == role)
        .map(|p| Choice {
            key: p.key.clone(),
            label: format!("{} ({})", p.name, p.key),
        })
        .collect()
}

pub(super) fn index_page(
    req: &HttpRequest,
    state: &SimState,
    w: &WorldHandle,
    status: StatusCode,
    error: Option<String>,
    form: FormState,
) -> Result<HttpResponse> {
    let chrome = Chrome::new(req, state, w, "containers");
    let world = w.read();
    let parties = world
        .parties()
        .iter()
        .map(|p| {
            let c = &p.credentials;
            let mut extra = Vec::new();
            if let Some(t) = &p.terminal_code {
                extra.push(format!("terminal {}", t.as_str()));
            }
            if let Some(i) = p.ingestion_id {
                extra.push(format!("ingestion {i}"));
            }
            if !p.alfapass_numbers.is_empty() {
                let a: Vec<&str> = p.alfapass_numbers.iter().map(|a| a.as_str()).collect();
                extra.push(format!("Alfapass {}", a.join(", ")));
            }
            PartyRow {
                key: p.key.clone(),
                role: role_name(p.role),
                name: p.name.clone(),
                nxt: p.nxt_entity_id.as_str().to_owned(),
                username: c.username.clone(),
                password: c.password.clone(),
                client_id: c.client_id.clone(),
                client_secret: c.client_secret.clone(),
                subscription_key: c.subscription_key.clone(),
                extra: extra.join(" · "),
            }
        })
        .collect();
    let mut containers: Vec<ContainerRow> = world
        .stays()
        .map(|s| ContainerRow {
            locode: s.locode.as_str().to_owned(),
            equipment: s.equipment.as_str().to_owned(),
            terminal: s
                .terminal_code
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            status: s.lights.status().as_str(),
            lights: lights(&s.lights),
        })
        .collect();
    containers.sort_by(|a, b| a.equipment.cmp(&b.equipment));
    let page = IndexPage {
        chrome,
        parties,
        containers,
        agents: choices(&world, Role::ShippingAgent),
        forwarders: choices(&world, Role::ReleaseParty),
        terminals: choices(&world, Role::TerminalOperator),
        error,
        form,
    };
    drop(world);
    render(status, &page)
}

/// `GET /`: parties, containers, clock.
#[tracing::instrument(skip_all)]
pub async fn index(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    index_page(&req, &state, &w, StatusCode::OK, None, FormState::default())
}

pub struct RightRow {
    id: String,
    status: &'static str,
    terminal: String,
    chain: Vec<String>,
    holder: String,
    pickup: String,
}

pub struct HistoryRow {
    at: String,
    actor: String,
    action: String,
}

pub struct NotificationRow {
    at: String,
    receiver: String,
    event: String,
}

pub struct ValidationView {
    valid: bool,
    status: String,
    messages: String,
    alfapass: String,
}

#[derive(Template)]
#[template(path = "sandbox/container.html")]
struct ContainerPage {
    chrome: Chrome,
    locode: String,
    equipment: String,
    status: &'static str,
    lights: Vec<LightView>,
    rights: Vec<RightRow>,
    history: Vec<HistoryRow>,
    notifications: Vec<NotificationRow>,
    parties: Vec<Choice>,
    transport: Vec<Choice>,
    terminals: Vec<Choice>,
    alfapasses: Vec<String>,
    customs_values: Vec<&'static str>,
    error: Option<String>,
    validation: Option<ValidationView>,
    /// A refused form, shown again.
    form: FormState,
}

fn party_label(world: &sim::World, id: &sim::NxtEntityId) -> String {
    world
        .party(id)
        .map(|p| format!("{} ({})", p.name, p.key))
        .unwrap_or_else(|| id.as_str().to_owned())
}

/// What a container page shows besides the container: a refused form, the gate's answer.
#[derive(Default)]
struct Shown {
    form: FormState,
    validation: Option<ValidationView>,
    /// A message above the page.
    error: Option<String>,
}

fn container_page(
    req: &HttpRequest,
    state: &SimState,
    w: &WorldHandle,
    (locode, equipment): (&str, &str),
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse> {
    let l = sim::UnLocode::parse(locode).map_err(|e| SandboxError::NotFound(e.to_string()))?;
    let e = sim::EquipmentNumber::parse(equipment)
        .map_err(|e| SandboxError::NotFound(e.to_string()))?;
    let chrome = Chrome::new(req, state, w, "containers");
    let world = w.read();
    let stay = world
        .stay(l, e)
        .or_else(|| world.archived_stays(l, e).last())
        .ok_or_else(|| SandboxError::NotFound(format!("container {e} is unknown in {l}")))?;
    let rights = stay
        .release_rights
        .iter()
        .map(|r| RightRow {
            id: r.release_id.to_string(),
            status: r.status().as_str(),
            terminal: r.terminal_code.as_str().to_owned(),
            chain: std::iter::once(party_label(&world, &r.shipping_agent))
                .chain(r.chain.iter().map(|s| {
                    format!(
                        "{}{}",
                        party_label(&world, &s.party),
                        if s.state == sim::stay::StakeholderState::Pending {
                            " (pending)"
                        } else {
                            ""
                        }
                    )
                }))
                .collect(),
            holder: party_label(&world, r.holder()),
            pickup: match &r.pickup {
                None => String::new(),
                Some(p) => match &p.party {
                    sim::stay::PickupParty::Truck { alfapass_number } => {
                        format!("truck, Alfapass {}", alfapass_number.as_str())
                    }
                    sim::stay::PickupParty::Barge { nxt_entity_id } => {
                        format!("barge, {}", party_label(&world, nxt_entity_id))
                    }
                    sim::stay::PickupParty::Rail { nxt_entity_id } => {
                        format!("rail, {}", party_label(&world, nxt_entity_id))
                    }
                },
            },
        })
        .collect();
    let history = world
        .history(stay)
        .iter()
        .rev()
        .map(|h| HistoryRow {
            at: h.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: h
                .actor
                .as_ref()
                .map(|a| party_label(&world, a))
                .unwrap_or_else(|| "clock".into()),
            action: h.action.to_string(),
        })
        .collect();
    let notifications = world
        .notifications()
        .iter()
        .filter(|n| n.equipment == Some(e))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(100)
        .map(|n| NotificationRow {
            at: n.stored_on.format("%Y-%m-%d %H:%M:%S").to_string(),
            receiver: party_label(&world, &n.receiver),
            event: n.event.as_str().to_owned(),
        })
        .collect();
    let all: Vec<Choice> = world
        .parties()
        .iter()
        .map(|p| Choice {
            key: p.key.clone(),
            label: format!("{} · {} ({})", role_name(p.role), p.name, p.key),
        })
        .collect();
    let alfapasses = world
        .parties()
        .iter()
        .flat_map(|p| p.alfapass_numbers.iter().map(|a| a.as_str().to_owned()))
        .collect();
    let page = ContainerPage {
        chrome,
        locode: l.as_str().to_owned(),
        equipment: e.as_str().to_owned(),
        status: stay.lights.status().as_str(),
        lights: lights(&stay.lights),
        rights,
        history,
        notifications,
        parties: all,
        transport: choices(&world, Role::TransportOperator),
        terminals: choices(&world, Role::TerminalOperator),
        alfapasses,
        customs_values: CustomsValue::ALL.iter().map(|c| c.as_str()).collect(),
        error: shown.error,
        validation: shown.validation,
        form: shown.form,
    };
    drop(world);
    render(status, &page)
}

/// `GET /sandbox/containers/{locode}/{equipment}`.
#[tracing::instrument(skip_all)]
pub async fn container(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let notifications = w
        .apply(Command::Tick)
        .map(|o| o.notifications)
        .unwrap_or_default();
    crate::simulate::webhooks::enqueue(&state, &w, notifications);
    container_page(
        &req,
        &state,
        &w,
        (&path.0, &path.1),
        StatusCode::OK,
        Shown::default(),
    )
}

fn field<'a>(
    form: &'a HashMap<String, String>,
    name: &'static str,
) -> std::result::Result<&'a str, Refusal> {
    form.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or((Some(name), "This field is required.".to_owned()))
}

fn party_by_key<'a>(
    world: &'a sim::World,
    form: &HashMap<String, String>,
    name: &'static str,
) -> std::result::Result<&'a sim::Party, Refusal> {
    let key = field(form, name)?;
    world.party_by_key(key).ok_or_else(|| {
        (
            Some(name),
            format!(
                "There is no party '{}' in this world.",
                key.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// The command a sandbox form describes (acting party, action and its fields).
fn command(
    world: &sim::World,
    form: &HashMap<String, String>,
) -> std::result::Result<Command, Refusal> {
    let actor = party_by_key(world, form, "party")?;
    let locode = sim::UnLocode::parse(form.get("locode").map_or("BEANR", |s| s.trim()))
        .map_err(|e| (Some("locode"), field_message("", &e.message)))?;
    let equipment = sim::EquipmentNumber::parse(field(form, "equipment")?)
        .map_err(|e| (Some("equipment"), field_message("", &e.message)))?;
    let to = |name: &'static str| -> std::result::Result<Identification, Refusal> {
        let p = party_by_key(world, form, name)?;
        Ok(Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: p.nxt_entity_id.as_str().to_owned(),
        })
    };
    let now = world.now();
    let terminal_code = || -> std::result::Result<sim::TerminalCode, Refusal> {
        match &actor.terminal_code {
            Some(t) => Ok(t.clone()),
            None => Err((
                Some("party"),
                format!("{} is not a terminal operator.", actor.name),
            )),
        }
    };
    let terminal = |a: TerminalAction| -> std::result::Result<Action, Refusal> {
        Ok(Action::Terminal(TerminalEventCommand {
            action: a,
            terminal_code: terminal_code()?,
            occurred_at: now,
            import: true,
            full_empty: Some(sim::FullEmpty::Full),
            mode_of_transport: matches!(a, TerminalAction::GateOut | TerminalAction::GateIn)
                .then_some(sim::ModeOfTransport::Truck),
            bill_of_lading_numbers: Vec::new(),
            stay_number: None,
        }))
    };
    let rr = |a: ReleaseAction| ReleaseRightCommand {
        selector: RightSelector::default(),
        ..ReleaseRightCommand::new(a)
    };
    let action = match field(form, "action")? {
        "release" => {
            let t = party_by_key(world, form, "terminal")?;
            let mut c = rr(ReleaseAction::Release);
            c.terminal_code = Some(
                t.terminal_code
                    .clone()
                    .ok_or_else(|| (Some("terminal"), format!("{} is not a terminal.", t.name)))?,
            );
            c.release_to = Some(to("to")?);
            c.release_at = Some(now);
            Action::ReleaseRight(c)
        }
        "accept" => Action::ReleaseRight(rr(ReleaseAction::Accept)),
        "decline" => Action::ReleaseRight(rr(ReleaseAction::Decline)),
        "transfer" => {
            let mut c = rr(ReleaseAction::Transfer);
            c.release_to = Some(to("to")?);
            Action::ReleaseRight(c)
        }
        "block_release" => Action::ReleaseRight(rr(ReleaseAction::Block)),
        "unblock_release" => Action::ReleaseRight(rr(ReleaseAction::Unblock)),
        "pickup" => {
            let a = sim::AlfapassNumber::parse(field(form, "alfapass")?)
                .map_err(|e| (Some("alfapass"), field_message("", &e.message)))?;
            Action::PickupRight {
                action: PickupAction::Assign,
                selector: RightSelector::default(),
                target: Some(PickupTarget::Truck(a)),
            }
        }
        "customs" => Action::SetCustoms(
            CustomsValue::parse(field(form, "customs")?)
                .ok_or((Some("customs"), "Unknown customs status.".to_owned()))?,
        ),
        "discharge" => terminal(TerminalAction::Discharge)?,
        "gate_in" => terminal(TerminalAction::GateIn)?,
        "terminal_release" => terminal(TerminalAction::Release)?,
        "terminal_block" => terminal(TerminalAction::Block)?,
        "gate_out" => terminal(TerminalAction::GateOut)?,
        other => {
            return Err((
                Some("action"),
                format!(
                    "Unknown action '{}'.",
                    other.chars().take(30).collect::<String>()
                ),
            ))
        }
    };
    Ok(Command::Act {
        caller: actor.nxt_entity_id.clone(),
        locode,
        equipment,
        external_reference_id: None,
        action: Box::new(action),
    })
}

/// The container page a form was posted from (its hidden `locode` and `equipment`, or the
/// `back` path of the clock form).
fn container_of(form: &SandboxForm) -> Option<(String, String)> {
    if let Some(rest) = form
        .get("back")
        .and_then(|b| b.strip_prefix("/sandbox/containers/"))
    {
        let (l, e) = rest.split_once('/')?;
        return Some((l.to_owned(), e.to_owned()));
    }
    if form.get("back").map(String::as_str) == Some("index") {
        return None;
    }
    let equipment = form.get("equipment")?.trim().to_ascii_uppercase();
    let locode = form.get("locode").map_or("BEANR", |s| s.trim()).to_owned();
    Some((locode, equipment))
}

/// The page a refused form came from, again, with the form as posted and its message: the
/// container page, or the index when the form is the index's (or the container is unknown).
fn refused_page(
    req: &HttpRequest,
    state: &SimState,
    w: &WorldHandle,
    form: &SandboxForm,
    (field, message): Refusal,
) -> Result<HttpResponse> {
    let (again, inputs) = form_state(form);
    // The message shows in its form; a post from no known form shows it above the page.
    let top = inputs.is_empty().then(|| message.clone());
    let again = again.refused(field, inputs, message.clone());
    if let Some((l, e)) = container_of(form) {
        let shown = Shown {
            form: again.clone(),
            validation: None,
            error: top,
        };
        match container_page(req, state, w, (&l, &e), StatusCode::BAD_REQUEST, shown) {
            Err(SandboxError::NotFound(_)) => {}
            other => return other,
        }
        // An unknown container: the index, with the message above it.
        return index_page(req, state, w, StatusCode::BAD_REQUEST, Some(message), again);
    }
    index_page(req, state, w, StatusCode::BAD_REQUEST, top, again)
}

/// `POST /sandbox/act`: act as a party; back to the container page, or the form again with
/// the refusal next to the input at fault (the core changes nothing when it refuses).
#[tracing::instrument(skip_all)]
pub async fn act(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    match w.apply_with(|world| command(world, &form), core_refusal) {
        Ok(outcome) => {
            crate::simulate::webhooks::enqueue(&state, &w, outcome.notifications);
            let locode = form.get("locode").map_or("BEANR", |s| s.trim());
            let equipment = form
                .get("equipment")
                .map(|s| s.trim().to_ascii_uppercase())
                .unwrap_or_default();
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/sandbox/containers/{locode}/{equipment}"),
                ))
                .finish())
        }
        Err(refusal) => refused_page(&req, &state, &w, &form, refusal),
    }
}

/// `POST /sandbox/validate`: what the terminal's gate sees for a truck (synchronous
/// pickup validation).
#[tracing::instrument(skip_all)]
pub async fn validate(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let locode = form.get("locode").map_or("BEANR", |s| s.trim()).to_owned();
    let equipment = form
        .get("equipment")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let parsed = sim::UnLocode::parse(&locode)
        .map_err(|e| e.to_string())
        .and_then(|l| {
            Ok((
                l,
                sim::EquipmentNumber::parse(&equipment).map_err(|e| e.to_string())?,
            ))
        });
    let (l, e) = match parsed {
        Ok(v) => v,
        Err(m) => return refused_page(&req, &state, &w, &form, (None, m)),
    };
    let alfapass = match field(&form, "alfapass") {
        Ok(a) => a.to_owned(),
        Err(refusal) => return refused_page(&req, &state, &w, &form, refusal),
    };
    let v = w.read().validate_truck_pickup(l, &alfapass, e, &[], None);
    let shown = Shown {
        validation: Some(ValidationView {
            valid: v.is_valid,
            status: v.status,
            messages: v.error_messages.join("; "),
            alfapass,
        }),
        ..Shown::default()
    };
    container_page(
        &req,
        &state,
        &w,
        (&locode, &equipment),
        StatusCode::OK,
        shown,
    )
}

/// `POST /sandbox/clock`: advance the virtual clock by hours.
#[tracing::instrument(skip_all)]
pub async fn clock(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    let hours = form.get("hours").map(|s| s.trim()).unwrap_or_default();
    let hours: i64 = match hours.parse() {
        Ok(h) if (0..=24 * 365).contains(&h) => h,
        _ => {
            let refusal = (
                Some("hours"),
                "A whole number of hours from 0 to 8760.".to_owned(),
            );
            return refused_page(&req, &state, &w, &form, refusal);
        }
    };
    let outcome = match w.apply(Command::AdvanceClock {
        seconds: hours * 3600,
    }) {
        Ok(o) => o,
        Err(e) => return refused_page(&req, &state, &w, &form, core_refusal(e)),
    };
    crate::simulate::webhooks::enqueue(&state, &w, outcome.notifications);
    let to = form
        .get("back")
        .filter(|b| b.starts_with("/sandbox/containers/"))
        .cloned()
        .unwrap_or_else(|| "/".into());
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish())
}
