//! Terminal operator writes: terminal release (release, scanning, block) and ingestion
//! (discharge, gate in, gate out).

use super::*;

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
            full_empty: body.full_empty_indicator,
            mode_of_transport: body.mode_of_transport,
            bill_of_lading_numbers: body.bill_of_lading_numbers.unwrap_or_default(),
            stay_number: body.stay_number,
        }),
    )?;
    Ok(accepted(&call, reference))
}
