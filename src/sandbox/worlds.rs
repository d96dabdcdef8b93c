//! The world picker: switch this browser to another world, create a fresh isolated world
//! (new credentials), reset the shown world to its start, delete it. The same operations as
//! `POST /simulator/v1/worlds`, `/reset` and `DELETE /simulator/v1/worlds/{id}`, through the
//! same [`SimState`] methods; the choice lives in a cookie, so every tab of the browser shows
//! the picked world and an API caller is not affected.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::chrome::{see_other, world, world_cookie, Result, SandboxError, SandboxForm};
use crate::http_edge::forms::FormState;
use crate::simulate::state::{SimState, DEFAULT_WORLD};

fn switch_to(id: Option<&str>) -> HttpResponse {
    let mut res = see_other("/");
    // A cookie built here always encodes; failure would be a bug, not input.
    let _ = res.add_cookie(&world_cookie(id));
    res
}

/// `POST /sandbox/world`: show the world picked in the form.
#[tracing::instrument(skip_all)]
pub async fn pick(state: web::Data<SimState>, form: SandboxForm) -> Result<HttpResponse> {
    let id = form.get("world").map(|v| v.trim()).unwrap_or_default();
    let w = state.world(id).map_err(|_| {
        SandboxError::NotFound(format!(
            "no world '{}'",
            id.chars().take(40).collect::<String>()
        ))
    })?;
    Ok(switch_to((w.id() != DEFAULT_WORLD).then_some(w.id())))
}

/// `POST /sandbox/worlds`: a fresh world with the simulator's parties and new credentials.
#[tracing::instrument(skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<SimState>,
    _form: SandboxForm,
) -> Result<HttpResponse> {
    match state.create_world(None) {
        Ok(w) => Ok(switch_to(Some(w.id()))),
        Err(e) => {
            let current = world(&req, &state)?;
            super::pages::index_page(
                &req,
                &state,
                &current,
                StatusCode::BAD_REQUEST,
                Some(e.to_string()),
                FormState::default(),
            )
        }
    }
}

/// `POST /sandbox/world/reset`: the shown world back to its start (same credentials).
#[tracing::instrument(skip_all)]
pub async fn reset(
    req: HttpRequest,
    state: web::Data<SimState>,
    _form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    state
        .reset_world(&w)
        .map_err(|e| SandboxError::Internal(format!("reset world: {e}")))?;
    Ok(see_other("/"))
}

/// `POST /sandbox/world/delete`: delete the shown world (not the default one) and go back to
/// the default world.
#[tracing::instrument(skip_all)]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<SimState>,
    _form: SandboxForm,
) -> Result<HttpResponse> {
    let w = world(&req, &state)?;
    if w.id() != DEFAULT_WORLD {
        state
            .delete_world(w.id())
            .map_err(|e| SandboxError::Internal(format!("delete world: {e}")))?;
    }
    Ok(switch_to(None))
}
