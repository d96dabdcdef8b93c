//! Terminal events the terminal operator sends: the terminal release (Release, Scanning, Block)
//! and the ingestion (Discharge, GateIn, GateOut).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::enums::{FullEmptyIndicator, ModeOfTransport, OperationType, TerminalReleaseActionType};
use crate::time::lenient_utc;

/// `PUT /certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TerminalReleaseRequest {
    /// Container number (ISO 6346).
    pub equipment_number: String,
    /// UN/LOCODE of the port, e.g. `BEANR`.
    pub port_lo_code: String,
    /// The terminal's own code as given to NxtPort at onboarding.
    pub terminal_code: String,
    /// Release (light GREEN), Scanning or Block (light RED).
    pub action_type: TerminalReleaseActionType,
    /// When the action happened (UTC).
    #[serde(with = "lenient_utc")]
    pub release_date_time_utc: DateTime<Utc>,
    /// The vessel stay number from the Port Authority (recommended).
    pub stay_number: Option<String>,
}

/// `POST /ingestion/v1/ingestion/{ingestionId}`: Discharge, GateIn or GateOut.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IngestionRequest {
    /// UN/LOCODE of the port.
    pub port_lo_code: String,
    /// Container number (ISO 6346).
    pub equipment_number: String,
    /// `import` for import containers (on GateIn: Customs light PORTEQUALISATION, YELLOW).
    pub equipment_status: Option<String>,
    /// When the operation happened (UTC).
    #[serde(with = "lenient_utc")]
    pub timestamp: DateTime<Utc>,
    /// The terminal's own code.
    pub terminal_code: String,
    /// The vessel stay number (recommended).
    pub stay_number: Option<String>,
    /// Discharge, GateIn or GateOut.
    pub operation_type: OperationType,
    /// `full` or `empty` (discharge).
    pub full_empty_indicator: Option<FullEmptyIndicator>,
    /// Bills of lading of the container (GateIn, GateOut).
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// How the container leaves the terminal (GateOut).
    pub mode_of_transport: Option<ModeOfTransport>,
}
