//! The NxtPort Certified Pick-up (CPu) world as pure Rust.
//!
//! Parties with roles, container stays, release rights with their chain of stakeholders, pickup
//! rights, the green lights and the overall status derived from them, the notification log and a
//! virtual clock. No HTTP, no database: every change goes through [`World::apply`] and returns
//! the notifications it causes; queries (validations, registry, notifications) borrow the world.
//! The HTTP face lives in the `cpu-gateway` crate (`src/simulate/`).

pub mod command;
pub mod ids;
pub mod lights;
mod mint;
pub mod notification;
pub mod party;
mod queries;
pub mod stay;
pub mod world;

pub use command::{
    Action, Command, Identification, Outcome, PickupAction, PickupTarget, ReleaseAction,
    ReleaseRightCommand, RightSelector, SimError, TerminalEventCommand,
};
pub use ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, ParseError, PublicReferenceId, ReleaseId,
    TerminalCode, UnLocode,
};
pub use lights::{CustomsValue, LightColor, LightName, Lights, OverallStatus};
pub use notification::{
    Notification, NotificationEvent, NotificationQuery, NotificationType, QueryError,
};
pub use party::{Fixture, FixtureError, IdentificationType, Party, Role, TransportMode};
pub use stay::{BillsOfLading, FullEmpty, ModeOfTransport, Stay, TerminalAction};
pub use world::{
    check_time, time_problem, Clock, OwnershipValidation, PickupValidation, PreloadStay,
    RegistryFilter, World, WorldConfig, EARLIEST, LATEST,
};
