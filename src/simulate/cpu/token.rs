//! The OAuth2 token endpoint.

use super::*;

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
