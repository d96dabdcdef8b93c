//! The console's request extractors, so a handler starts from a checked request:
//!
//! - [`SignedIn`]: the live session behind the cookie (a revoked token ends its sessions);
//!   otherwise the browser goes to the sign-in page.
//! - [`Posted`]: a signed-in form carrying this session's CSRF secret (otherwise 403 and
//!   nothing changes).
//! - [`ActingEditor`]: a posted form of a role that may change data, with the thing it acts on
//!   parsed from the path (a [`Terminal`], an [`OperationId`]): the preamble of every console
//!   form that changes something.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;

use super::session::{same_secret, Session, SESSION_COOKIE};
use super::{Console, ConsoleError};
use crate::gateway::state::GatewayState;
use crate::sources::catalogue::Terminal;
use crate::sources::service::parse_terminal;

type Result<T> = std::result::Result<T, ConsoleError>;

/// The fields of a posted form.
pub type FormFields = HashMap<String, String>;

fn data<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>> {
    req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
        ConsoleError::Internal(anyhow::anyhow!(
            "{} missing on the app",
            std::any::type_name::<T>()
        ))
    })
}

/// A browser with a live console session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie value (to close or change the session).
    pub cookie: String,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    async fn extract(req: HttpRequest) -> Result<Self> {
        let console = data::<Console>(&req)?;
        let gw = data::<GatewayState>(&req)?;
        let cookie = req
            .cookie(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or(ConsoleError::SignedOut)?;
        let session = console
            .sessions
            .get(&cookie)
            .ok_or(ConsoleError::SignedOut)?;
        let active = gw
            .store
            .tokens(&session.token_entity_id)
            .await
            .map_err(|e| ConsoleError::Internal(e.into()))?
            .into_iter()
            .any(|t| t.id == session.token_id && t.revoked_at.is_none());
        if !active {
            console.sessions.close(&cookie);
            return Err(ConsoleError::SignedOut);
        }
        Ok(SignedIn { cookie, session })
    }
}

impl FromRequest for SignedIn {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::extract(req.clone()))
    }
}

/// A form posted from this session (its CSRF secret checked).
#[derive(Debug)]
pub struct Posted {
    /// Who posted it.
    pub signed: SignedIn,
    /// Its fields (`csrf` included).
    pub form: FormFields,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<FormFields>::from_request(req, payload);
        let signed = SignedIn::extract(req.clone());
        Box::pin(async move {
            let signed = signed.await?;
            let form = form.await.map_err(|_| ConsoleError::BadForm)?.into_inner();
            match form.get(crate::http_edge::csrf::FIELD) {
                Some(v) if same_secret(&signed.session.csrf, v) => Ok(Posted { signed, form }),
                _ => Err(ConsoleError::Csrf),
            }
        })
    }
}

/// What a console form acts on, parsed from one segment of its path.
pub trait Target: Sized {
    /// Name of the path segment.
    const PARAM: &'static str;
    /// What it is, for "no such ..." (404).
    const WHAT: &'static str;
    /// `None` when the segment names nothing of this kind.
    fn parse(raw: &str) -> Option<Self>;
}

impl Target for Terminal {
    const PARAM: &'static str = "terminal";
    const WHAT: &'static str = "terminal";
    fn parse(raw: &str) -> Option<Self> {
        parse_terminal(raw).ok()
    }
}

/// An operation id from the path (a UUID, canonical form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationId(pub String);

impl Target for OperationId {
    const PARAM: &'static str = "id";
    const WHAT: &'static str = "operation";
    fn parse(raw: &str) -> Option<Self> {
        uuid::Uuid::parse_str(raw.trim())
            .ok()
            .map(|u| OperationId(u.to_string()))
    }
}

/// A form of an editor (or support) acting on `T`: signed in, CSRF checked, allowed to
/// change data, target parsed.
#[derive(Debug)]
pub struct ActingEditor<T> {
    /// The session (its actor is the audit's).
    pub session: Session,
    /// The posted fields.
    pub form: FormFields,
    /// What the form acts on.
    pub target: T,
}

impl<T: Target + 'static> FromRequest for ActingEditor<T> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let posted = Posted::from_request(req, payload);
        let raw = req.match_info().get(T::PARAM).map(str::to_owned);
        Box::pin(async move {
            let Posted { signed, form } = posted.await?;
            if !signed.session.can_write() {
                return Err(ConsoleError::Forbidden(
                    "Your token is read-only (viewer); an editor can make this change.".into(),
                ));
            }
            let target = raw
                .as_deref()
                .and_then(T::parse)
                .ok_or(ConsoleError::NotFound(T::WHAT))?;
            Ok(ActingEditor {
                session: signed.session,
                form,
                target,
            })
        })
    }
}
