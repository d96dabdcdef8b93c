//! The release detail: asked for as a notification, or read by `releaseId` by the terminal
//! operator the right is assigned to.

use super::*;

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
