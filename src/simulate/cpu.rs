//! NxtPort's CPu surface, exactly as the seed writes it: one handler per call, one file per
//! resource (the route table is `super::configure`). Each handler authenticates, parses into the
//! core's newtypes, calls the world, and maps the answer. This file holds what they share.

pub mod entities;
pub mod notifications;
pub mod pickup_rights;
mod query;
pub mod release_detail;
pub mod release_rights;
pub mod terminal;
pub mod token;
pub mod validations;

use super::edge::{authenticate, equipment, locode, read_json, same, CpuCall};
use super::error::ApiError;
use super::state::{Principal, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveTime};
use cpu_contract::EXTERNAL_REFERENCE_ID;
use cpu_contract::*;
use cpu_simulator as sim;
use cpu_simulator::{
    Action, Command, NotificationQuery, PickupTarget, ReleaseRightCommand, RightSelector,
    TerminalEventCommand,
};
use std::sync::Arc;

type Result<T> = std::result::Result<T, ApiError>;

fn accepted(call: &CpuCall, reference: sim::PublicReferenceId) -> HttpResponse {
    let mut b = HttpResponse::build(StatusCode::ACCEPTED);
    if let Some(e) = &call.external_reference_id {
        b.insert_header((EXTERNAL_REFERENCE_ID, e.as_str()));
    }
    b.json(AcceptedResponse {
        public_reference_id: reference.to_string(),
        external_reference_id: call.external_reference_id.clone(),
    })
}

fn ok_json<T: serde::Serialize>(call: &CpuCall, body: &T) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    if let Some(e) = &call.external_reference_id {
        b.insert_header((EXTERNAL_REFERENCE_ID, e.as_str()));
    }
    b.json(body)
}

/// Apply a command to the caller's world and queue the notifications for webhook delivery.
fn apply(
    state: &SimState,
    call: &CpuCall,
    locode: sim::UnLocode,
    equipment: sim::EquipmentNumber,
    action: Action,
) -> Result<sim::PublicReferenceId> {
    let outcome = call.world.apply(Command::Act {
        caller: call.party.nxt_entity_id.clone(),
        locode,
        equipment,
        external_reference_id: call.external_reference_id.as_deref().map(Arc::from),
        action: Box::new(action),
    })?;
    super::webhooks::enqueue(state, &call.world, outcome.notifications);
    outcome.public_reference_id.ok_or(ApiError::Internal(500))
}

/// A company reference of a request; an Alfapass names a driver and is refused here, at the edge.
fn ident(id: &Identification) -> Result<Identification> {
    if id.identification_type == IdentificationType::Alfapass {
        return Err(ApiError::field(
            "identificationType",
            "Alfapass identifies a driver, not a company",
        ));
    }
    Ok(id.clone())
}

fn terminal_code(s: &str) -> Result<sim::TerminalCode> {
    sim::TerminalCode::parse(s).map_err(|e| ApiError::field("terminalCode", e.to_string()))
}

/// The common start of a write on one container: credentials, the path's port and container,
/// the JSON body, and the body's own `equipmentNumber` / `portLoCode` (when given) agreeing with
/// the path. `repeated` returns those two body fields.
async fn container_write<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    state: &SimState,
    path: &(String, String),
    payload: web::Payload,
    repeated: impl Fn(&T) -> (Option<&str>, Option<&str>),
) -> Result<(CpuCall, sim::UnLocode, sim::EquipmentNumber, T)> {
    let call = authenticate(req, state, true).await?;
    let (l, e) = (locode(&path.0)?, equipment(&path.1)?);
    let body: T = read_json(req, payload, state.config.max_body_bytes).await?;
    let (body_equipment, body_locode) = repeated(&body);
    same("equipmentNumber", body_equipment, e.as_str())?;
    same("portLoCode", body_locode, l.as_str())?;
    Ok((call, l, e, body))
}
