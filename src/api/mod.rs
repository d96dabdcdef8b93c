//! Plumbing of the `/v1` API shared by the gateway and Data Sources, below both of them.
//!
//! - [`error`]: the one error envelope `{"error": {"code", "message", "field"?}}` with one
//!   machine-code enum ([`ErrorCode`]) for every `/v1` route, in the OpenAPI document.
//! - [`caller`]: the production [`Caller`] extractor (bearer token with a short cache, the
//!   caller's quota, support impersonation audited) over an [`Authenticator`] registered as
//!   app data.
//! - [`query`]: the edge's parsers (JSON bodies, query strings, UTC timestamps).
//! - [`audit`]: the audit views' query and paged answer (gateway and Data Sources).
//!
//! Design constraint: this module knows the store (tokens, entities, audit) and actix, never
//! the gateway's state or Data Sources, so both mount their routes on one application and
//! authenticate the same way.

pub mod audit;
pub mod caller;
pub mod error;
pub mod query;

pub use caller::{bearer, Authenticator, Caller, ACT_FOR_ENTITY, TOKEN_CACHE_TTL};
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorEnvelope};
pub use query::UtcTimestamp;
