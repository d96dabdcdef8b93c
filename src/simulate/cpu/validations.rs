//! Synchronous validations: truck and barge/rail pickup, identification (Alfapass) and truck
//! ownership.

use super::*;

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
