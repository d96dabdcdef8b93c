//! The scenario file format: what QA writes, as serde types.
//!
//! Every struct denies unknown keys, so a typo (`equipmnt:`) is an error with file and line
//! instead of a silently ignored setting. A step is a map with exactly one *action* key
//! (`discharge`, `request`, `control`, `expect_container`, `include`, ...) and optional
//! *modifiers* (`as`, `expect`, `capture`, `eventually`, `repeat`, ...). The raw form
//! ([`RawStep`]) is what serde reads; [`Step`] is the checked form the executor runs.
//!
//! Strings may contain `{{var}}` templates; they are rendered when the step runs, so a
//! value captured by an earlier step can be used by a later one.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Human name, shown in reports; also matched by `--filter`.
    pub name: String,
    /// Free text; not used by the runner.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags, matched by `--filter`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Variables available as `{{name}}` in every step.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    /// The starting world: inline parties and containers with their starting stage.
    #[serde(default)]
    pub given: Given,
    /// Step groups local to this file, used with `use: <name>`.
    #[serde(default)]
    pub groups: BTreeMap<String, GroupFile>,
    /// What happens, in order.
    pub steps: Vec<RawStep>,
    /// The scenario must fail, with a failure message containing this text
    /// (used by `scenarios/fail/`, which tests the runner's own failure reporting).
    #[serde(default)]
    pub expected_failure: Option<String>,
}

/// A reusable list of steps: a file under `groups/` (or any path given to `include:`), or an
/// entry of a scenario's `groups:` map.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// Free text; not used by the runner.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameters and their defaults; `with:` at the call site overrides them.
    /// A parameter whose default is `null` is required.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    pub steps: Vec<RawStep>,
}

/// The starting world of a scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// Extra parties for this scenario's world, sent with the world creation request.
    #[serde(default)]
    pub parties: Vec<Value>,
    /// Containers and the stage they start in.
    #[serde(default)]
    pub containers: Vec<GivenContainer>,
}

/// A container of the starting world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GivenContainer {
    /// ISO 6346 container number.
    pub equipment: String,
    /// Variable name holding the container number (default `equipment` for the first
    /// container, `equipment2`, `equipment3`, ... for the next).
    #[serde(default)]
    pub var: Option<String>,
    /// Terminal party key (default `psa`).
    #[serde(default)]
    pub terminal: Option<String>,
    /// Shipping agent party key (default `agent`).
    #[serde(default)]
    pub agent: Option<String>,
    /// Party the shipping agent releases to (default `forwarder`).
    #[serde(default)]
    pub release_to: Option<String>,
    /// Bill of lading numbers (default none).
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    /// How far the container has come when the scenario starts (default `none`).
    #[serde(default)]
    pub stage: Stage,
}

/// Starting stages of a given container, in lifecycle order; each includes the ones before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Nothing happened yet: the container number is only a variable.
    #[default]
    None,
    /// The shipping agent released the container to `releaseTo`.
    CommerciallyReleased,
    /// ... and the terminal discharged it.
    Discharged,
    /// ... and customs released it.
    CustomsReleased,
    /// ... and the terminal released it: every light is green.
    Released,
}

/// Retry an expectation until it holds or a timeout passes: `eventually: 2s`,
/// `eventually: true` (5 s) or `eventually: { timeout: 2s, interval: 50ms }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EventuallySpec {
    On(bool),
    Timeout(String),
    Full {
        timeout: String,
        #[serde(default)]
        interval: Option<String>,
    },
}

/// Expectations on an HTTP response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Status code, or a matcher such as `{ oneOf: [200, 202] }`.
    #[serde(default)]
    pub status: Option<Value>,
    /// Response headers (name case-insensitive) and their matchers.
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    /// A map of JSON paths to matchers, or (when not a map) the whole body.
    #[serde(default)]
    pub body: Option<Value>,
}

/// Override the credentials a step sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthOverride {
    /// `none` (no Authorization header), `invalid` (a made-up token), or a party key
    /// (that party's token).
    #[serde(default)]
    pub token: Option<String>,
    /// `none` (no subscription key), `invalid`, `query` (send it as `subscription-key`
    /// query parameter instead of the header), or a party key (that party's key).
    #[serde(default)]
    pub key: Option<String>,
}

/// The raw escape hatch: any request, built by hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body.
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent byte for byte (for malformed JSON); content type `application/json`
    /// unless `content_type` says otherwise.
    #[serde(default)]
    pub raw_body: Option<String>,
    /// A form-encoded body (`application/x-www-form-urlencoded`), e.g. for `/connect/token`.
    #[serde(default)]
    pub form: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub content_type: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// `POST /connect/token`, with the acting party's credentials unless overridden.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenArgs {
    /// `password` (default), `client_credentials` or `refresh_token`.
    #[serde(default)]
    pub grant: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// `PUT .../import/terminal-release` (Release, Block or Scanning).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TerminalReleaseArgs {
    pub equipment: String,
    /// `Release` (default), `Block` or `Scanning`.
    #[serde(default)]
    pub action: Option<String>,
    /// Terminal party key or terminal code (default: the acting party's code).
    pub terminal: Option<String>,
    pub locode: Option<String>,
    pub stay_number: Option<String>,
    pub release_date_time_utc: Option<String>,
}

/// `POST /ingestion/v1/ingestion/{ingestionId}` with `operationType` Discharge, GateIn or GateOut.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngestionArgs {
    pub equipment: String,
    pub terminal: Option<String>,
    pub locode: Option<String>,
    pub stay_number: Option<String>,
    pub timestamp: Option<String>,
    /// Discharge: `full` (default) or `empty`.
    pub full_empty_indicator: Option<String>,
    /// `import` (default for Discharge; opt-in for GateIn, where it means port equalisation).
    pub equipment_status: Option<String>,
    #[serde(default)]
    pub bill_of_lading_numbers: Option<Vec<String>>,
    /// GateOut: 0-3 or a name.
    pub mode_of_transport: Option<Value>,
    /// The ingestion id in the path (default: the acting party's).
    pub ingestion_id: Option<String>,
}

/// One container of a truck validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerRef {
    pub equipment: String,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
}

/// `POST /certified-pickup/v1/{locode}/sync-validation/pickup/containers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TruckValidationArgs {
    pub alfapass: String,
    /// One container (shorthand) ...
    pub equipment: Option<String>,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    /// ... or several.
    #[serde(default)]
    pub containers: Vec<ContainerRef>,
    /// Carrier: a party key or `{identificationType, identificationCode}`.
    pub carrier: Option<Value>,
    pub locode: Option<String>,
}

/// `POST /certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BargeRailValidationArgs {
    pub equipment: String,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    pub release_id: Option<String>,
    /// 0-3 or a name (default: from the transport operator's mode).
    pub means_of_transport: Option<Value>,
    /// A party key (default `barge`) or `{identificationType, identificationCode}`.
    pub transport_operator: Option<Value>,
    pub carrier: Option<Value>,
    pub locode: Option<String>,
}

/// `POST /certified-pickup/v1/{locode}/validation/pickup/identification`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlfapassValidationArgs {
    pub alfapass: String,
    /// Default `Alfapass`.
    pub identification_type: Option<String>,
    pub locode: Option<String>,
}

/// `POST /certified-pickup/v1/{locode}/validation/ownership/truck`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OwnershipValidationArgs {
    /// Party key or NxtEntityId of the transport operator to check.
    pub owner: String,
    pub alfapass: Option<String>,
    pub equipment: String,
    pub locode: Option<String>,
}

/// `GET /certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseDetailArgs {
    pub equipment: String,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    pub release_identification: Option<String>,
    pub locode: Option<String>,
}

/// `GET /certified-pickup/v1/entities` query parameters, spelled as NxtPort spells them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryArgs {
    #[serde(rename = "EORI")]
    pub eori: Option<String>,
    #[serde(rename = "DUNS")]
    pub duns: Option<String>,
    #[serde(rename = "VAT")]
    pub vat: Option<String>,
    #[serde(rename = "NxtEntityId")]
    pub nxt_entity_id: Option<String>,
    #[serde(rename = "entityName")]
    pub entity_name: Option<String>,
    #[serde(rename = "apcsCode")]
    pub apcs_code: Option<String>,
    pub page: Option<Value>,
    #[serde(rename = "pageSize")]
    pub page_size: Option<Value>,
}

/// `GET /certified-pickup/v1/notifications` query parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NotificationQuery {
    pub notification_event: Option<String>,
    pub equipment_number: Option<String>,
    pub public_reference_id: Option<String>,
    pub release_id: Option<String>,
    pub stored_on: Option<String>,
    pub time_window_from: Option<String>,
    pub time_window_to: Option<String>,
}

/// `PUT .../import/release-rights` (shipping agent and release parties).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseRightArgs {
    /// Release (default), Transfer, Accept, Decline, Revoke, Block, Unblock, Update, Delete.
    #[serde(default)]
    pub action: Option<String>,
    pub equipment: String,
    /// Party key or NxtEntityId the right goes from (default: the acting party).
    pub from: Option<String>,
    /// Party key or NxtEntityId the right goes to.
    pub to: Option<String>,
    /// Terminal party key or terminal code (default `psa`).
    pub terminal: Option<String>,
    pub carrier: Option<Value>,
    pub release_identification: Option<String>,
    pub bill_of_lading_numbers: Option<Vec<String>>,
    pub reason: Option<String>,
    pub release_date_time_utc: Option<String>,
    pub expiration_date_time_utc: Option<String>,
    pub valid_from: Option<String>,
    pub locode: Option<String>,
    /// Target one release right when the container has several (simulator extension).
    pub release_id: Option<String>,
}

/// `PUT .../import/pickup-rights` (transport operator assigns an Alfapass).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PickupRightArgs {
    /// Assign (default), Update, Revoke.
    #[serde(default)]
    pub action: Option<String>,
    pub equipment: String,
    /// Default: the acting party's first Alfapass number.
    pub alfapass: Option<String>,
    /// Truck (default), Barge, Rail.
    pub party_type: Option<String>,
    /// Default `Alfapass`.
    pub identification_type: Option<String>,
    pub terminal: Option<String>,
    pub release_identification: Option<String>,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    pub locode: Option<String>,
    /// Target one release right when the container has several (simulator extension).
    pub release_id: Option<String>,
}

/// `PUT /certified-pickup/v1/pickup-rights/barge-rail`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BargeRailPickupRightArgs {
    #[serde(default)]
    pub action: Option<String>,
    pub equipment: String,
    pub terminal: Option<String>,
    /// Party key or NxtEntityId (default: the acting party).
    pub data_broker: Option<String>,
    pub release_identification: Option<String>,
    #[serde(default)]
    pub bill_of_lading_numbers: Vec<String>,
    /// Target one release right when the container has several (simulator extension).
    pub release_id: Option<String>,
}

/// Control API actions (`/simulator/v1`), one per step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Set what customs says about a container.
    pub customs: Option<CustomsArgs>,
    /// Move the virtual clock: seconds, or a duration such as `14d`, `169h`.
    pub advance_clock: Option<Value>,
    /// Inject a fault: `{path, status?, latencyMs?, drop?, count?, fraction?}`.
    pub fault: Option<Value>,
    /// Remove every fault.
    pub clear_faults: Option<bool>,
    /// Register a party's webhook.
    pub webhook: Option<WebhookArgs>,
    /// Reset this scenario's world.
    pub reset: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomsArgs {
    pub equipment: String,
    pub status: String,
    pub locode: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookArgs {
    pub party: String,
    pub url: String,
}

/// Check a container's state through the control API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectContainer {
    pub equipment: String,
    pub locode: Option<String>,
    /// `false`: the container must be unknown (404).
    #[serde(default)]
    pub found: Option<bool>,
    /// Overall status matcher.
    pub status: Option<Value>,
    /// Light name -> value matcher, or `{value, color}`.
    #[serde(default)]
    pub lights: BTreeMap<String, Value>,
    pub archived: Option<Value>,
    /// Any other field: JSON path -> matcher.
    #[serde(default)]
    pub body: Option<Value>,
}

/// Check the notifications a party received.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectNotifications {
    /// Whose notifications (default: the step's `as`, else `psa`).
    pub party: Option<String>,
    /// Query filters sent to the API (default: `equipmentNumber` of the first given container).
    #[serde(default)]
    pub query: NotificationQuery,
    /// Only count notifications matching this (JSON path -> matcher; `message` is parsed).
    #[serde(default, rename = "where")]
    pub where_: Option<Value>,
    /// How many must match (default `{gte: 1}`).
    pub count: Option<Value>,
}

/// Check the webhook deliveries of this world.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectWebhooks {
    #[serde(default, rename = "where")]
    pub where_: Option<Value>,
    pub count: Option<Value>,
}

/// A step as written. Exactly one action key must be present.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    // ---- modifiers
    /// A label shown in reports.
    pub name: Option<String>,
    /// The party acting (its token and subscription key are sent).
    #[serde(rename = "as")]
    pub as_: Option<String>,
    /// Extra request headers (e.g. `External-Reference-Id`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub auth: Option<AuthOverride>,
    pub expect: Option<Expect>,
    /// Variable name -> `body.<path>`, `header.<name>` or `status`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    pub eventually: Option<EventuallySpec>,
    /// Send the same request N times (expectations checked on each).
    pub repeat: Option<u32>,
    /// Parameters for `include` / `use`.
    #[serde(default)]
    pub with: BTreeMap<String, Value>,
    /// Merged into the generated JSON body (`null` removes a field).
    #[serde(rename = "override")]
    pub override_: Option<Value>,

    // ---- actions
    pub request: Option<RawRequest>,
    pub token: Option<TokenArgs>,
    pub terminal_release: Option<TerminalReleaseArgs>,
    pub discharge: Option<IngestionArgs>,
    pub gate_in: Option<IngestionArgs>,
    pub gate_out: Option<IngestionArgs>,
    pub validate_truck_pickup: Option<TruckValidationArgs>,
    pub validate_barge_rail_pickup: Option<BargeRailValidationArgs>,
    pub validate_alfapass: Option<AlfapassValidationArgs>,
    pub validate_ownership: Option<OwnershipValidationArgs>,
    pub release_detail: Option<ReleaseDetailArgs>,
    pub registry: Option<RegistryArgs>,
    pub notifications: Option<NotificationQuery>,
    pub release_right: Option<ReleaseRightArgs>,
    pub pickup_right: Option<PickupRightArgs>,
    pub barge_rail_pickup_right: Option<BargeRailPickupRightArgs>,
    pub control: Option<Control>,
    pub expect_container: Option<ExpectContainer>,
    pub expect_notifications: Option<ExpectNotifications>,
    pub expect_webhooks: Option<ExpectWebhooks>,
    pub include: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// Wait this long (wall clock), e.g. `wait: 1s`. The virtual clock is `control: { advance_clock }`.
    pub wait: Option<String>,
}

/// Which ingestion operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingestion {
    Discharge,
    GateIn,
    GateOut,
}

impl Ingestion {
    pub fn operation_type(self) -> &'static str {
        match self {
            Ingestion::Discharge => "Discharge",
            Ingestion::GateIn => "GateIn",
            Ingestion::GateOut => "GateOut",
        }
    }
}

/// The one thing a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Request(RawRequest),
    Token(TokenArgs),
    TerminalRelease(TerminalReleaseArgs),
    Ingestion(Ingestion, IngestionArgs),
    ValidateTruckPickup(TruckValidationArgs),
    ValidateBargeRailPickup(BargeRailValidationArgs),
    ValidateAlfapass(AlfapassValidationArgs),
    ValidateOwnership(OwnershipValidationArgs),
    ReleaseDetail(ReleaseDetailArgs),
    Registry(RegistryArgs),
    Notifications(NotificationQuery),
    ReleaseRight(ReleaseRightArgs),
    PickupRight(PickupRightArgs),
    BargeRailPickupRight(BargeRailPickupRightArgs),
    Control(Control),
    ExpectContainer(ExpectContainer),
    ExpectNotifications(ExpectNotifications),
    ExpectWebhooks(ExpectWebhooks),
    /// Wait (wall clock).
    Wait(Duration),
    /// An included file or a `use`d group, already loaded.
    Group(Group),
}

/// A loaded step group with its call-site parameters.
#[derive(Debug, Clone)]
pub struct Group {
    /// `include: path` or `use: name`, for labels.
    pub name: String,
    /// Declared parameters with defaults (`null` = required).
    pub params: BTreeMap<String, Value>,
    /// Call-site `with:` values (templates rendered in the caller's variables).
    pub with: BTreeMap<String, Value>,
    pub steps: Vec<Step>,
}

/// Where a step was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: Option<usize>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file, line),
            None => f.write_str(&self.file),
        }
    }
}

/// Retry settings of an `eventually` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eventually {
    pub timeout: Duration,
    pub interval: Duration,
}

/// A checked step, ready to run.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: Option<String>,
    pub origin: Origin,
    pub party: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub auth: Option<AuthOverride>,
    pub expect: Option<Expect>,
    pub capture: BTreeMap<String, String>,
    pub eventually: Option<Eventually>,
    pub repeat: u32,
    pub override_body: Option<Value>,
    pub action: Action,
}

impl Step {
    /// Short description used in reports: the label, or `party: action`.
    pub fn describe(&self) -> String {
        if let Some(label) = &self.label {
            return label.clone();
        }
        let action = self.action_name();
        match &self.party {
            Some(party) => format!("{party}: {action}"),
            None => action.to_owned(),
        }
    }

    /// The action key as written in the file.
    pub fn action_name(&self) -> &str {
        match &self.action {
            Action::Request(_) => "request",
            Action::Token(_) => "token",
            Action::TerminalRelease(_) => "terminal_release",
            Action::Ingestion(Ingestion::Discharge, _) => "discharge",
            Action::Ingestion(Ingestion::GateIn, _) => "gate_in",
            Action::Ingestion(Ingestion::GateOut, _) => "gate_out",
            Action::ValidateTruckPickup(_) => "validate_truck_pickup",
            Action::ValidateBargeRailPickup(_) => "validate_barge_rail_pickup",
            Action::ValidateAlfapass(_) => "validate_alfapass",
            Action::ValidateOwnership(_) => "validate_ownership",
            Action::ReleaseDetail(_) => "release_detail",
            Action::Registry(_) => "registry",
            Action::Notifications(_) => "notifications",
            Action::ReleaseRight(_) => "release_right",
            Action::PickupRight(_) => "pickup_right",
            Action::BargeRailPickupRight(_) => "barge_rail_pickup_right",
            Action::Control(_) => "control",
            Action::ExpectContainer(_) => "expect_container",
            Action::ExpectNotifications(_) => "expect_notifications",
            Action::ExpectWebhooks(_) => "expect_webhooks",
            Action::Wait(_) => "wait",
            Action::Group(group) => &group.name,
        }
    }
}

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub tags: Vec<String>,
    pub vars: BTreeMap<String, Value>,
    pub given: Given,
    pub steps: Vec<Step>,
    pub expected_failure: Option<String>,
}
