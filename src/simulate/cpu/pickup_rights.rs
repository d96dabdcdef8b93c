//! Pickup-right actions of the transport operator, and the barge/rail pickup right.

use super::*;

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
