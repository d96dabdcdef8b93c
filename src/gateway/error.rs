//! The gateway answers with the `/v1` API's one error envelope (defined in [`crate::api`],
//! shared with Data Sources).

pub use crate::api::error::{ApiError, ErrorBody, ErrorCode, ErrorEnvelope};
