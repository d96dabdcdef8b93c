//! The CPu calls, one method each: path, query, body, default priority; the answer typed by
//! the contract.

use reqwest::Method;

use super::super::limiter::Priority;
use super::{CallOptions, NxtPortClient, NxtPortError};
use cpu_contract::paths;
use cpu_contract::*;

impl NxtPortClient {
    /// Make sure a token is at hand (from the cache, or a grant now): checks the credentials
    /// without a CPu call (Data Sources' connection test).
    pub async fn sign_in(&self) -> Result<(), NxtPortError> {
        self.inner.tokens.bearer().await.map(|_| ())
    }

    // ---- the CPu calls --------------------------------------------------------------------

    /// `PUT .../import/terminal-release` (Release, Scanning, Block) -> 202.
    pub async fn terminal_release(
        &self,
        locode: &str,
        equipment: &str,
        body: &TerminalReleaseRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::terminal_release(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// `POST /ingestion/v1/ingestion/{ingestionId}` (Discharge, GateIn, GateOut) -> 202.
    pub async fn ingestion(
        &self,
        ingestion_id: &str,
        body: &IngestionRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::ingestion(ingestion_id);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// The go-live check's probe of an ingestion id (`cpu-gateway check`): an empty body, which
    /// NxtPort refuses with 400 after it has checked the id (401 when the id is not yours), so
    /// nothing is ingested.
    pub async fn probe_ingestion(
        &self,
        ingestion_id: &str,
    ) -> Result<AcceptedResponse, NxtPortError> {
        self.send(
            Method::POST,
            paths::ingestion(ingestion_id),
            None::<&()>,
            Some(&serde_json::json!({})),
            &CallOptions::default(),
            Priority::Interactive,
        )
        .await
    }

    /// Synchronous truck pickup validation (interactive by default).
    pub async fn validate_truck_pickup(
        &self,
        locode: &str,
        body: &TruckPickupValidationRequest,
        options: &CallOptions,
    ) -> Result<TruckPickupValidationResponse, NxtPortError> {
        let path = paths::truck_sync_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Synchronous barge/rail pickup validation, v2 (interactive by default).
    pub async fn validate_barge_rail_pickup(
        &self,
        locode: &str,
        body: &BargeRailPickupValidationRequest,
        options: &CallOptions,
    ) -> Result<BargeRailPickupValidationResponse, NxtPortError> {
        let path = paths::barge_rail_sync_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Alfapass (identification) validation -> `true | false` (interactive by default).
    pub async fn validate_identification(
        &self,
        locode: &str,
        body: &IdentificationValidationRequest,
        options: &CallOptions,
    ) -> Result<bool, NxtPortError> {
        let path = paths::identification_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Truck release-right validation (interactive by default).
    pub async fn validate_truck_ownership(
        &self,
        locode: &str,
        body: &TruckOwnershipValidationRequest,
        options: &CallOptions,
    ) -> Result<TruckOwnershipValidationResponse, NxtPortError> {
        let path = paths::truck_ownership_validation(locode);
        self.send(
            Method::POST,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Interactive,
        )
        .await
    }

    /// Ask for a release detail -> 202; the detail arrives as a `GetReleaseDetail` notification.
    pub async fn request_release_detail(
        &self,
        locode: &str,
        equipment: &str,
        query: &ReleaseDetailQuery,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::release_detail(locode, equipment);
        self.send(
            Method::GET,
            path,
            Some(query),
            None::<&()>,
            options,
            Priority::Background,
        )
        .await
    }

    /// Company registry search.
    pub async fn search_entities(
        &self,
        query: &EntitySearchQuery,
        options: &CallOptions,
    ) -> Result<PhoneBookResponse, NxtPortError> {
        self.send(
            Method::GET,
            paths::entities(),
            Some(query),
            None::<&()>,
            options,
            Priority::Background,
        )
        .await
    }

    /// Stored notifications. NxtPort answers 405 when none match: that is an empty list here.
    pub async fn notifications(
        &self,
        query: &NotificationsQuery,
        options: &CallOptions,
    ) -> Result<Vec<NotificationDetail>, NxtPortError> {
        let result = self
            .send(
                Method::GET,
                paths::notifications(),
                Some(query),
                None::<&()>,
                options,
                Priority::Background,
            )
            .await;
        match result {
            Err(NxtPortError::Status { status: 405, .. }) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Release-right action (shipping agent, release parties) -> 202.
    pub async fn release_right_action(
        &self,
        locode: &str,
        equipment: &str,
        body: &ReleaseRightActionRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::release_rights(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// Pickup-right action (transport operator) -> 202.
    pub async fn pickup_right_action(
        &self,
        locode: &str,
        equipment: &str,
        body: &SubmitPickupRightRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        let path = paths::pickup_rights(locode, equipment);
        self.send(
            Method::PUT,
            path,
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }

    /// Barge/rail pickup right -> 202.
    pub async fn barge_rail_pickup_right(
        &self,
        body: &SubmitBargeRailPickupRightRequest,
        options: &CallOptions,
    ) -> Result<AcceptedResponse, NxtPortError> {
        self.send(
            Method::PUT,
            paths::barge_rail_pickup_rights(),
            None::<&()>,
            Some(body),
            options,
            Priority::Background,
        )
        .await
    }
}
