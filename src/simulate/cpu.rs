//! NxtPort's CPu surface, exactly as the seed writes it: one handler per call. Each handler
//! authenticates, parses into the core's newtypes, calls the world, and maps the answer.

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

/// Submit, block or scan a terminal release (`TerminalRelease` light).
#[utoipa::path(put, path = "/certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release",
    tag = "CPu terminal operator", request_body = TerminalReleaseRequest,
    params(("locode" = String, Path, description = "UN/LOCODE, e.g. BEANR"), ("equipment" = String, Path, description = "ISO 6346 container number")),
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests"), (status = 500, description = "Error accessing API")))]
pub async fn terminal_release(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let (call, l, e, body) = container_write(
        &req,
        &state,
        &path,
        payload,
        |b: &TerminalReleaseRequest| (Some(&b.equipment_number), Some(&b.port_lo_code)),
    )
    .await?;
    let reference = apply(
        &state,
        &call,
        l,
        e,
        Action::Terminal(TerminalEventCommand {
            action: body.action_type.into(),
            terminal_code: terminal_code(&body.terminal_code)?,
            occurred_at: body.release_date_time_utc,
            import: false,
            full_empty: None,
            mode_of_transport: None,
            bill_of_lading_numbers: Vec::new(),
            stay_number: body.stay_number,
        }),
    )?;
    Ok(accepted(&call, reference))
}

/// Discharge, gate in or gate out (`operationType`).
#[utoipa::path(post, path = "/ingestion/v1/ingestion/{ingestionId}", tag = "CPu terminal operator",
    request_body = IngestionRequest, params(("ingestionId" = String, Path, description = "Your ingestion GUID")),
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests")))]
pub async fn ingestion(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, false).await?;
    let ingestion_id = uuid::Uuid::parse_str(path.trim())
        .map_err(|_| ApiError::field("ingestionId", "must be a GUID"))?;
    if call.party.ingestion_id != Some(ingestion_id) {
        return Err(ApiError::Unauthorized(
            "this ingestion id does not belong to your company".into(),
        ));
    }
    let body: IngestionRequest = read_json(&req, payload, state.config.max_body_bytes).await?;
    let (l, e) = (
        locode(&body.port_lo_code)?,
        equipment(&body.equipment_number)?,
    );
    let import = match body.equipment_status.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(s) if s.eq_ignore_ascii_case("import") => true,
        Some(other) => {
            return Err(ApiError::field(
                "equipmentStatus",
                format!("'{other}' is not supported: use \"import\""),
            ))
        }
    };
    let reference = apply(
        &state,
        &call,
        l,
        e,
        Action::Terminal(TerminalEventCommand {
            action: body.operation_type.into(),
            terminal_code: terminal_code(&body.terminal_code)?,
            occurred_at: body.timestamp,
            import,
            full_empty: body.full_empty_indicator.map(Into::into),
            mode_of_transport: body.mode_of_transport,
            bill_of_lading_numbers: body.bill_of_lading_numbers.unwrap_or_default(),
            stay_number: body.stay_number,
        }),
    )?;
    Ok(accepted(&call, reference))
}

fn light_results(v: &sim::PickupValidation) -> PickupValidationResult {
    PickupValidationResult {
        is_valid: v.is_valid,
        error_messages: v.error_messages.join("; "),
        status: v.status.clone(),
        green_lights: v
            .lights
            .iter()
            .map(|l| GreenLightResult {
                green_light_name: l.name.as_str().to_owned(),
                green_light_value: l.value.to_owned(),
                green_light_color: l.color,
            })
            .collect(),
        equipment_number: v.equipment.clone(),
        bill_of_lading_numbers: v.bill_of_lading_numbers.clone(),
    }
}

/// Synchronous truck pickup validation: may this Alfapass pick up these containers now?
#[utoipa::path(post, path = "/certified-pickup/v1/{locode}/sync-validation/pickup/containers", tag = "CPu terminal operator",
    request_body = TruckPickupValidationRequest, params(("locode" = String, Path, description = "UN/LOCODE")),
    responses((status = 200, body = TruckPickupValidationResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests"), (status = 500, description = "Error accessing API")))]
pub async fn truck_validation(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let l = locode(&path)?;
    let body: TruckPickupValidationRequest =
        read_json(&req, payload, state.config.max_body_bytes).await?;
    if body.alfapass_number.trim().is_empty() {
        return Err(ApiError::field("alfapassNumber", "is required"));
    }
    if body.release_identification.is_empty() {
        return Err(ApiError::field(
            "releaseIdentification",
            "at least one container is required",
        ));
    }
    let mut items = Vec::with_capacity(body.release_identification.len());
    for (i, item) in body.release_identification.iter().enumerate() {
        let e = sim::EquipmentNumber::parse(&item.equipment_number).map_err(|err| {
            ApiError::field(
                format!("releaseIdentification[{i}].equipmentNumber"),
                err.to_string(),
            )
        })?;
        let carrier = item.carrier.as_ref().map(ident).transpose()?;
        items.push((
            e,
            item.bill_of_lading_numbers.clone().unwrap_or_default(),
            carrier,
        ));
    }
    let world = call.world.read();
    let results = items
        .iter()
        .map(|(e, bls, carrier)| {
            light_results(&world.validate_truck_pickup(
                l,
                &body.alfapass_number,
                *e,
                bls,
                carrier.as_ref(),
            ))
        })
        .collect();
    drop(world);
    Ok(ok_json(
        &call,
        &TruckPickupValidationResponse {
            alfapass_number: body.alfapass_number.trim().to_owned(),
            release_identification: results,
        },
    ))
}

/// Synchronous barge/rail pickup validation (v2).
#[utoipa::path(post, path = "/certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers", tag = "CPu terminal operator",
    request_body = BargeRailPickupValidationRequest, params(("locode" = String, Path, description = "UN/LOCODE")),
    responses((status = 200, body = BargeRailPickupValidationResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests"), (status = 500, description = "Error accessing API")))]
pub async fn barge_rail_validation(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let l = locode(&path)?;
    let body: BargeRailPickupValidationRequest =
        read_json(&req, payload, state.config.max_body_bytes).await?;
    let e = equipment(&body.equipment_number)?;
    let operator = ident(&body.transport_operator)?;
    let m = sim::TransportMode::of(body.means_of_transport);
    let v = call.world.read().validate_barge_rail_pickup(
        l,
        e,
        &body.bill_of_lading_numbers,
        body.release_id.map(sim::ReleaseId),
        m,
        &operator,
    );
    Ok(ok_json(
        &call,
        &BargeRailPickupValidationResponse {
            transport_operator: body.transport_operator.clone(),
            release_identification: vec![light_results(&v)],
        },
    ))
}

/// Validate an Alfapass: `true` or `false`.
#[utoipa::path(post, path = "/certified-pickup/v1/{locode}/validation/pickup/identification", tag = "CPu generic",
    request_body = IdentificationValidationRequest, params(("locode" = String, Path, description = "UN/LOCODE")),
    responses((status = 200, body = bool), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails)))]
pub async fn identification_validation(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    locode(&path)?;
    let body: IdentificationValidationRequest =
        read_json(&req, payload, state.config.max_body_bytes).await?;
    if body.identification_type != IdentificationType::Alfapass {
        return Err(ApiError::field(
            "identificationType",
            "only Alfapass is allowed for the Port of Antwerp",
        ));
    }
    let valid = call
        .world
        .read()
        .alfapass_is_valid(&body.identification_code);
    Ok(ok_json(&call, &valid))
}

/// Validate that a transport operator holds the release right (truck).
#[utoipa::path(post, path = "/certified-pickup/v1/{locode}/validation/ownership/truck", tag = "CPu terminal operator",
    request_body = TruckOwnershipValidationRequest, params(("locode" = String, Path, description = "UN/LOCODE")),
    responses((status = 200, body = TruckOwnershipValidationResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests"), (status = 500, body = ProblemDetails, description = "Something went wrong. Check your request body.")))]
pub async fn ownership_validation(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let l = locode(&path)?;
    let body: TruckOwnershipValidationRequest =
        read_json(&req, payload, state.config.max_body_bytes).await?;
    same("portLoCode", body.port_lo_code.as_deref(), l.as_str())?;
    if body.owner_nxt_entity_id.trim().is_empty() {
        return Err(ApiError::field("ownerNxtEntityId", "is required"));
    }
    // The seed documents a 500 "check your request body" for well-formed bodies CPu cannot use.
    let e = sim::EquipmentNumber::parse(&body.equipment_number).map_err(|err| {
        ApiError::CheckRequestBody(format!(
            "Something went wrong. Check your request body. Possible causes: equipmentNumber: {err}"
        ))
    })?;
    let v = call.world.read().validate_truck_ownership(
        &call.party,
        l,
        &body.owner_nxt_entity_id,
        body.alfapass_number.as_deref(),
        e,
    );
    Ok(ok_json(
        &call,
        &TruckOwnershipValidationResponse {
            is_valid: v.is_valid,
            error_messages: v.error_messages,
            owner_nxt_entity_id: body.owner_nxt_entity_id.trim().to_owned(),
            alfapass_number: body.alfapass_number.clone(),
            equipment_number: e.as_str().to_owned(),
            release_id: v.release_id.map(|r| r.0),
        },
    ))
}

/// Ask for the release detail; it arrives as a `GetReleaseDetail` notification.
#[utoipa::path(get, path = "/certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}", tag = "CPu generic",
    params(("locode" = String, Path, description = "UN/LOCODE"), ("equipment" = String, Path, description = "Container number")),
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails)))]
pub async fn release_detail(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let (l, e) = (locode(&path.0)?, equipment(&path.1)?);
    let reference = apply(&state, &call, l, e, Action::RequestReleaseDetail)?;
    Ok(accepted(&call, reference))
}

/// `GET /certified-pickup/v1/release-rights?releaseId=`: one release right's detail, at once, for
/// the terminal operator it names ("Get Release Right Details as Terminal Operator").
#[utoipa::path(get, path = "/certified-pickup/v1/release-rights", tag = "CPu terminal operator",
    params(("releaseId" = uuid::Uuid, Query, description = "The release right's id (from its notifications)")),
    responses((status = 200, body = ReleaseDetail), (status = 401, body = ProblemDetails), (status = 405, body = ProblemDetails, description = "Invalid input: no such release right, or releaseId missing or not a GUID"), (status = 429, description = "Too many requests")))]
pub async fn release_right_by_id(
    req: HttpRequest,
    state: web::Data<SimState>,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::InvalidInput("the query string is malformed".into()))?;
    let raw = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("releaseId"))
        .map(|(_, v)| v.trim())
        .ok_or_else(|| ApiError::InvalidInput("releaseId is required".into()))?;
    let id = uuid::Uuid::parse_str(raw)
        .map_err(|_| ApiError::InvalidInput("releaseId: must be a GUID".into()))?;
    let detail = call
        .world
        .read()
        .release_right_detail(&call.party.nxt_entity_id, sim::ReleaseId(id))
        .map_err(|e| match e {
            sim::SimError::NotAllowed(_) | sim::SimError::UnknownCaller(_) => ApiError::from(e),
            other => ApiError::InvalidInput(other.to_string()),
        })?;
    Ok(ok_json(&call, &detail))
}

/// Search the company registry (filters ANDed; at least one).
#[utoipa::path(get, path = "/certified-pickup/v1/entities", tag = "CPu generic",
    params(EntitySearchQuery),
    responses((status = 200, body = PhoneBookResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 405, body = ProblemDetails)))]
pub async fn entities(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let q: EntitySearchQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::field("query", e.to_string()))?;
    let filter = sim::RegistryFilter {
        eori: q.eori.clone(),
        duns: q.duns.clone(),
        vat: q.vat.clone(),
        nxt_entity_id: q.nxt_entity_id.clone(),
        entity_name: q.entity_name.clone(),
        apcs_code: q.apcs_code.clone(),
    };
    if filter.is_empty() {
        return Err(ApiError::field(
            "query",
            "at least one of EORI, DUNS, VAT, NxtEntityId, entityName or apcsCode is required",
        ));
    }
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(25);
    if page == 0 {
        return Err(ApiError::field("page", "must be 1 or more"));
    }
    if !(1..=1000).contains(&page_size) {
        return Err(ApiError::field("pageSize", "must be between 1 and 1000"));
    }
    let world = call.world.read();
    let (items, total) = world.registry_search(&filter, page as usize, page_size as usize);
    let items: Vec<PhoneBookItem> = items
        .into_iter()
        .map(|p| PhoneBookItem {
            apcs_code: p.apcs_code.clone(),
            addresses: p
                .addresses
                .iter()
                .map(|a| EntityAddress {
                    address_type_code: a.address_type_code.clone(),
                    street: a.street.clone(),
                    postal_code: a.postal_code.clone(),
                    city: a.city.clone(),
                    country: a.country.clone(),
                    contact_name: None,
                    contact_email: None,
                })
                .collect(),
            nxt_entity_id: p.nxt_entity_id.as_str().to_owned(),
            name: p.name.clone(),
            vat: p.vat.clone(),
            duns: p.duns.clone(),
            eori: p.eori.clone(),
            scac: p.scac.clone(),
            apcs: p.apcs_code.clone(),
        })
        .collect();
    drop(world);
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    Ok(ok_json(
        &call,
        &PhoneBookResponse {
            search_filter: SearchEntityFilter {
                eori: q.eori,
                duns: q.duns,
                vat: q.vat,
                nxt_entity_id: q.nxt_entity_id,
                entity_name: q.entity_name,
                apcs_code: q.apcs_code,
                page: Some(page),
                page_size: Some(page_size),
            },
            phone_book_items: items,
            total_rows: total,
            total_pages: total.div_ceil(page_size),
            public_reference_id: Some(uuid::Uuid::new_v4().to_string()),
            external_reference_id: call.external_reference_id.clone(),
        },
    ))
}

fn parse_time(field: &str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .map_err(|_| ApiError::InvalidInput(format!("{field}: '{s}' is not a time like 07:30")))
}

/// Notifications sent to your company (168 h), filtered (at least one filter; ANDed).
#[utoipa::path(get, path = "/certified-pickup/v1/notifications", tag = "CPu generic",
    params(NotificationsQuery),
    responses((status = 200, body = [NotificationDetail]), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails, description = "The notification was not sent to your company"), (status = 405, body = ProblemDetails, description = "No matching notifications found, or invalid input"), (status = 429, description = "Too many requests")))]
pub async fn notifications(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let q: NotificationsQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::InvalidInput(format!("invalid query: {e}")))?;
    let mut query = NotificationQuery {
        event: q.notification_event,
        ..Default::default()
    };
    if let Some(e) = &q.equipment_number {
        query.equipment = Some(
            sim::EquipmentNumber::parse(e)
                .map_err(|err| ApiError::InvalidInput(format!("equipmentNumber: {err}")))?,
        );
    }
    if let Some(p) = &q.public_reference_id {
        query.public_reference_id = Some(sim::PublicReferenceId(
            uuid::Uuid::parse_str(p.trim())
                .map_err(|_| ApiError::InvalidInput("publicReferenceId: must be a GUID".into()))?,
        ));
    }
    if let Some(r) = &q.release_id {
        query.release_id = Some(sim::ReleaseId(
            uuid::Uuid::parse_str(r.trim())
                .map_err(|_| ApiError::InvalidInput("releaseId: must be a GUID".into()))?,
        ));
    }
    if let Some(s) = &q.stored_on {
        let s = s.trim();
        let date =
            NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map_err(|_| {
                ApiError::InvalidInput(format!("storedOn: '{s}' is not an ISO date or timestamp"))
            })?;
        query.stored_on = Some(date);
    }
    match (&q.time_window_from, &q.time_window_to) {
        (None, None) => {}
        (Some(from), Some(to)) => {
            if query.stored_on.is_none() {
                return Err(ApiError::InvalidInput(
                    "timeWindowFrom/timeWindowTo filter within the date given in storedOn: storedOn is required".into(),
                ));
            }
            let (from, to) = (
                parse_time("timeWindowFrom", from)?,
                parse_time("timeWindowTo", to)?,
            );
            if to < from {
                return Err(ApiError::InvalidInput(
                    "timeWindowTo may not be earlier than timeWindowFrom".into(),
                ));
            }
            query.window = Some((from, to));
        }
        _ => {
            return Err(ApiError::InvalidInput(
                "timeWindowFrom and timeWindowTo must be used together".into(),
            ))
        }
    }
    if query.is_empty() {
        return Err(ApiError::InvalidInput(
            "at least one query parameter is required".into(),
        ));
    }
    let world = call.world.read();
    let found = world.query_notifications(&call.party.nxt_entity_id, &query)?;
    let details: Vec<NotificationDetail> = found.into_iter().map(detail).collect();
    drop(world);
    Ok(ok_json(&call, &details))
}

/// A stored notification as `NotificationDetail`.
pub fn detail(n: &sim::Notification) -> NotificationDetail {
    NotificationDetail {
        nxt_entity_id: n.receiver.as_str().to_owned(),
        equipment_number: n
            .equipment
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        public_reference_id: n.public_reference_id.to_string(),
        external_reference_id: n.external_reference_id.as_deref().map(str::to_owned),
        stored_on: n.stored_on,
        // Serializing a tree of strings, numbers and plain structs cannot fail.
        message: serde_json::to_string(&n.envelope()).unwrap_or_default(),
        type_: n.kind,
        event: n.event,
        release_id: n.release_id.map(|r| r.0),
    }
}

/// Release-right actions of the shipping agent and the release parties (`ActionType`).
#[utoipa::path(put, path = "/certified-pickup/v1/{locode}/containers/{equipment}/import/release-rights", tag = "CPu other parties",
    request_body = ReleaseRightActionRequest,
    params(("locode" = String, Path, description = "UN/LOCODE"), ("equipment" = String, Path, description = "Container number")),
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 429, description = "Too many requests")))]
pub async fn release_rights(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let (call, l, e, body) = container_write(
        &req,
        &state,
        &path,
        payload,
        |b: &ReleaseRightActionRequest| (b.equipment_number.as_deref(), b.port_lo_code.as_deref()),
    )
    .await?;
    let mut cmd = ReleaseRightCommand::new(body.action_type);
    cmd.selector = RightSelector {
        release_id: body.release_id.map(sim::ReleaseId),
        release_identification: body
            .release_identification
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    };
    cmd.terminal_code = body
        .terminal_code
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(terminal_code)
        .transpose()?;
    cmd.bill_of_lading_numbers = body.bill_of_lading_numbers.unwrap_or_default();
    cmd.release_to = body.release_to.as_ref().map(ident).transpose()?;
    cmd.carrier = body.carrier.as_ref().map(ident).transpose()?;
    cmd.release_at = body.release_date_time_utc;
    cmd.expires_at = body.expiration_date_time_utc;
    cmd.valid_from = body.valid_from;
    cmd.reason = body.reason_for_action;
    if let Some(from) = &body.release_from {
        let from = ident(from)?;
        if !call
            .party
            .matches(from.identification_type, &from.identification_code)
        {
            return Err(ApiError::field(
                "releaseFrom",
                "must identify the calling company",
            ));
        }
    }
    let reference = apply(&state, &call, l, e, Action::ReleaseRight(cmd))?;
    Ok(accepted(&call, reference))
}

/// Pickup-right actions of the transport operator holding the release right.
#[utoipa::path(put, path = "/certified-pickup/v1/{locode}/containers/{equipment}/import/pickup-rights", tag = "CPu other parties",
    request_body = SubmitPickupRightRequest,
    params(("locode" = String, Path, description = "UN/LOCODE"), ("equipment" = String, Path, description = "Container number")),
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails)))]
pub async fn pickup_rights(
    req: HttpRequest,
    state: web::Data<SimState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let (call, l, e, body) = container_write(
        &req,
        &state,
        &path,
        payload,
        |b: &SubmitPickupRightRequest| (b.equipment_number.as_deref(), b.port_lo_code.as_deref()),
    )
    .await?;
    let p = &body.pickup_party;
    let target = match p.party_type {
        PartyType::Truck => {
            PickupTarget::Truck(sim::AlfapassNumber::parse(&p.identification_code).map_err(
                |err| ApiError::field("pickupParty.identificationCode", err.to_string()),
            )?)
        }
        PartyType::Barge => PickupTarget::Barge(ident(&Identification {
            identification_type: p.identification_type,
            identification_code: p.identification_code.clone(),
        })?),
        PartyType::Rail => PickupTarget::Rail(ident(&Identification {
            identification_type: p.identification_type,
            identification_code: p.identification_code.clone(),
        })?),
    };
    let action = Action::PickupRight {
        action: body.action_type,
        selector: RightSelector {
            release_id: body.release_id.map(sim::ReleaseId),
            release_identification: body.release_identification.filter(|s| !s.trim().is_empty()),
        },
        target: Some(target),
    };
    let reference = apply(&state, &call, l, e, action)?;
    Ok(accepted(&call, reference))
}

/// Barge/rail pickup right: the barge or rail operator names itself (or its data broker).
#[utoipa::path(put, path = "/certified-pickup/v1/pickup-rights/barge-rail", tag = "CPu other parties",
    request_body = SubmitBargeRailPickupRightRequest,
    responses((status = 202, body = AcceptedResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails)))]
pub async fn barge_rail_pickup_rights(
    req: HttpRequest,
    state: web::Data<SimState>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let body: SubmitBargeRailPickupRightRequest =
        read_json(&req, payload, state.config.max_body_bytes).await?;
    let l = locode(body.port_lo_code.as_deref().unwrap_or("BEANR"))?;
    let e = equipment(&body.release_identifier.equipment_number)?;
    let operator = Identification {
        identification_type: IdentificationType::NxtEntityId,
        identification_code: body.data_broker_nxt_entity_id.clone(),
    };
    let target = match call.party.transport_mode {
        Some(sim::TransportMode::Rail) => PickupTarget::Rail(operator),
        _ => PickupTarget::Barge(operator),
    };
    let action = Action::PickupRight {
        action: body.action_type,
        selector: RightSelector {
            release_id: body.release_id.map(sim::ReleaseId),
            release_identification: body
                .release_identifier
                .release_identification
                .clone()
                .filter(|s| !s.trim().is_empty()),
        },
        target: Some(target),
    };
    let reference = apply(&state, &call, l, e, action)?;
    Ok(accepted(&call, reference))
}

/// OAuth2 token endpoint (form-encoded): password, refresh_token and client_credentials grants.
#[utoipa::path(post, path = "/connect/token", tag = "Auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError), (status = 401, body = OAuthError)))]
pub async fn token(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse> {
    let oauth = |status: StatusCode, error: &str, description: &str| {
        ApiError::OAuth(status, OAuthError::new(error, description))
    };
    if body.len() > state.config.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(state.config.max_body_bytes));
    }
    let form: TokenRequest = serde_urlencoded::from_bytes(&body).map_err(|_| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded with grant_type",
        )
    })?;
    let client = |form: &TokenRequest| -> Result<Principal> {
        let (Some(id), Some(secret)) = (&form.client_id, &form.client_secret) else {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id and client_secret are required",
            ));
        };
        let principal =
            state.clients.get(id).map(|p| p.clone()).ok_or_else(|| {
                oauth(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client")
            })?;
        let world = state.world(&principal.world)?;
        let party = world
            .party(&principal.party)
            .ok_or(ApiError::Internal(500))?;
        if party.credentials.client_secret != secret.expose() {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            ));
        }
        Ok(principal)
    };
    let principal = match form.grant_type.as_str() {
        "password" => {
            let client_principal = client(&form)?;
            let (Some(user), Some(password)) = (&form.username, &form.password) else {
                return Err(oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required for the password grant",
                ));
            };
            let principal = state.users.get(user.trim()).map(|p| p.clone());
            let valid = match &principal {
                Some(p) if p.world == client_principal.world => state
                    .world(&p.world)?
                    .party(&p.party)
                    .is_some_and(|party| party.credentials.password == password.expose()),
                _ => false,
            };
            match (valid, principal) {
                (true, Some(p)) => p,
                _ => {
                    return Err(oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "invalid username or password",
                    ))
                }
            }
        }
        "client_credentials" => client(&form)?,
        "refresh_token" => {
            let client_principal = client(&form)?;
            let rt = form.refresh_token.as_ref().ok_or_else(|| {
                oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                )
            })?;
            let (_, info) = state.refresh_tokens.remove(rt.expose()).ok_or_else(|| {
                oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown, used or expired refresh token",
                )
            })?;
            if info.world.id() != client_principal.world {
                return Err(oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token was issued to another client",
                ));
            }
            Principal {
                world: info.world.id().to_owned(),
                party: info.party.nxt_entity_id.clone(),
            }
        }
        "" => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ))
        }
        other => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type '{other}' is not supported"),
            ))
        }
    };
    let (access, refresh, ttl) = state.issue_token(&principal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: Sensitive::new(access),
            token_type: "Bearer".into(),
            expires_in: u64::try_from(ttl).unwrap_or(0),
            refresh_token: (form.grant_type != "client_credentials")
                .then(|| Sensitive::new(refresh)),
            scope: form.scope.clone(),
        }))
}
