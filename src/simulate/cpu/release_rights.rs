//! Release-right actions of the shipping agent and the release parties.

use super::*;

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
