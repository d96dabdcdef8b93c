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
    ReleaseAction, ReleaseRightCommand, RightSelector, Role, TerminalAction, TerminalEventCommand,
};

use super::chrome::{render, same_site, version_of, world, Chrome, Result, SandboxError};
use crate::simulate::state::{SimState, WorldHandle};

type Form = web::Form<HashMap<String, String>>;

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
    state: &SimState,
    w: &WorldHandle,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse> {
    let chrome = Chrome::new(state, w, "containers");
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
    };
    drop(world);
    render(status, &page)
}

/// `GET /`: parties, containers, clock.
#[tracing::instrument(skip_all)]
pub async fn index(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    index_page(&state, &w, StatusCode::OK, None)
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
}

fn party_label(world: &sim::World, id: &sim::NxtEntityId) -> String {
    world
        .party(id)
        .map(|p| format!("{} ({})", p.name, p.key))
        .unwrap_or_else(|| id.as_str().to_owned())
}

fn container_page(
    state: &SimState,
    w: &WorldHandle,
    locode: &str,
    equipment: &str,
    status: StatusCode,
    error: Option<String>,
    validation: Option<ValidationView>,
) -> Result<HttpResponse> {
    let l = sim::UnLocode::parse(locode).map_err(|e| SandboxError::NotFound(e.to_string()))?;
    let e = sim::EquipmentNumber::parse(equipment)
        .map_err(|e| SandboxError::NotFound(e.to_string()))?;
    let chrome = Chrome::new(state, w, "containers");
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
    let history = stay
        .history
        .iter()
        .rev()
        .map(|h| HistoryRow {
            at: h.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: h
                .actor
                .as_ref()
                .map(|a| party_label(&world, a))
                .unwrap_or_else(|| "clock".into()),
            action: h.action.clone(),
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
        error,
        validation,
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
    container_page(&state, &w, &path.0, &path.1, StatusCode::OK, None, None)
}

fn field<'a>(
    form: &'a HashMap<String, String>,
    name: &str,
) -> std::result::Result<&'a str, String> {
    form.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is required"))
}

fn party_by_key<'a>(
    world: &'a sim::World,
    key: &str,
) -> std::result::Result<&'a sim::Party, String> {
    world
        .parties()
        .iter()
        .find(|p| p.key == key)
        .ok_or_else(|| format!("no party '{key}' in this world"))
}

/// The command a sandbox form describes (acting party, action and its fields).
fn command(
    world: &sim::World,
    form: &HashMap<String, String>,
) -> std::result::Result<Command, String> {
    let actor = party_by_key(world, field(form, "party")?)?;
    let locode = sim::UnLocode::parse(form.get("locode").map_or("BEANR", |s| s.trim()))
        .map_err(|e| format!("locode: {e}"))?;
    let equipment = sim::EquipmentNumber::parse(field(form, "equipment")?)
        .map_err(|e| format!("equipment: {e}"))?;
    let to = |name: &str| -> std::result::Result<Identification, String> {
        let p = party_by_key(world, field(form, name)?)?;
        Ok(Identification {
            identification_type: IdentificationType::NxtEntityId,
            identification_code: p.nxt_entity_id.as_str().to_owned(),
        })
    };
    let now = world.now();
    let terminal_code = || -> std::result::Result<sim::TerminalCode, String> {
        match &actor.terminal_code {
            Some(t) => Ok(t.clone()),
            None => Err(format!("{} is not a terminal operator", actor.name)),
        }
    };
    let terminal = |a: TerminalAction| -> std::result::Result<Action, String> {
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
            let t = party_by_key(world, field(form, "terminal")?)?;
            let mut c = rr(ReleaseAction::Release);
            c.terminal_code = Some(
                t.terminal_code
                    .clone()
                    .ok_or_else(|| format!("{} is not a terminal", t.name))?,
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
                .map_err(|e| format!("alfapass: {e}"))?;
            Action::PickupRight {
                action: PickupAction::Assign,
                selector: RightSelector::default(),
                target: Some(PickupTarget::Truck(a)),
            }
        }
        "customs" => Action::SetCustoms(
            CustomsValue::parse(field(form, "customs")?)
                .ok_or_else(|| "customs: unknown value".to_owned())?,
        ),
        "discharge" => terminal(TerminalAction::Discharge)?,
        "gate_in" => terminal(TerminalAction::GateIn)?,
        "terminal_release" => terminal(TerminalAction::Release)?,
        "terminal_block" => terminal(TerminalAction::Block)?,
        "gate_out" => terminal(TerminalAction::GateOut)?,
        other => {
            return Err(format!(
                "unknown action '{}'",
                other.chars().take(30).collect::<String>()
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

/// `POST /sandbox/act`: act as a party; back to the container page (or the page again with
/// the core's refusal).
#[tracing::instrument(skip_all)]
pub async fn act(req: HttpRequest, state: web::Data<SimState>, form: Form) -> Result<HttpResponse> {
    same_site(&req)?;
    let w = world(&req, &state)?;
    let locode = form.get("locode").map_or("BEANR", |s| s.trim()).to_owned();
    let equipment = form
        .get("equipment")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let result = w.apply_with(|world| command(world, &form), |e| e.to_string());
    let back = form.get("back").map(String::as_str) == Some("index");
    match result {
        Ok(outcome) => {
            crate::simulate::webhooks::enqueue(&state, &w, outcome.notifications);
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/sandbox/containers/{locode}/{equipment}"),
                ))
                .finish())
        }
        Err(message) if back => index_page(&state, &w, StatusCode::BAD_REQUEST, Some(message)),
        Err(message) => {
            match container_page(
                &state,
                &w,
                &locode,
                &equipment,
                StatusCode::BAD_REQUEST,
                Some(message.clone()),
                None,
            ) {
                Ok(page) => Ok(page),
                Err(SandboxError::NotFound(_)) => {
                    index_page(&state, &w, StatusCode::BAD_REQUEST, Some(message))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// `POST /sandbox/validate`: what the terminal's gate sees for a truck (synchronous
/// pickup validation).
#[tracing::instrument(skip_all)]
pub async fn validate(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: Form,
) -> Result<HttpResponse> {
    same_site(&req)?;
    let w = world(&req, &state)?;
    let locode = form.get("locode").map_or("BEANR", |s| s.trim()).to_owned();
    let equipment = form
        .get("equipment")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let alfapass = form
        .get("alfapass")
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
        Err(m) => return index_page(&state, &w, StatusCode::BAD_REQUEST, Some(m)),
    };
    if alfapass.is_empty() {
        return container_page(
            &state,
            &w,
            &locode,
            &equipment,
            StatusCode::BAD_REQUEST,
            Some("alfapass is required".into()),
            None,
        );
    }
    let v = w.read().validate_truck_pickup(l, &alfapass, e, &[], None);
    container_page(
        &state,
        &w,
        &locode,
        &equipment,
        StatusCode::OK,
        None,
        Some(ValidationView {
            valid: v.is_valid,
            status: v.status,
            messages: v.error_messages.join("; "),
            alfapass,
        }),
    )
}

/// `POST /sandbox/clock`: advance the virtual clock by hours.
#[tracing::instrument(skip_all)]
pub async fn clock(
    req: HttpRequest,
    state: web::Data<SimState>,
    form: Form,
) -> Result<HttpResponse> {
    same_site(&req)?;
    let w = world(&req, &state)?;
    let hours = form.get("hours").map(|s| s.trim()).unwrap_or_default();
    let hours: i64 = match hours.parse() {
        Ok(h) if (0..=24 * 365).contains(&h) => h,
        _ => {
            return index_page(
                &state,
                &w,
                StatusCode::BAD_REQUEST,
                Some("hours: a whole number from 0 to 8760".into()),
            )
        }
    };
    let outcome = w
        .apply(Command::AdvanceClock {
            seconds: hours * 3600,
        })
        .map_err(|e| SandboxError::Internal(e.to_string()))?;
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
