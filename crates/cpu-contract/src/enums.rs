//! NxtPort CPu enums. Each accepts its int value or its name (any letter case) on input and is
//! serialized as its name; see [`crate::wire_enum`].
//!
//! Int values: where the seed lists them (ModeOfTransport, IdentificationType) they are the
//! seed's; elsewhere they follow the declaration order of NxtPort's OpenAPI (that is how .NET
//! numbers an enum without explicit values). Documented in docs/ASSUMPTIONS.md.

use crate::wire_enum::wire_enum;

wire_enum! {
    /// Mode of transport (`modeOfTransport` of a gate out, `meansOfTransport` of a barge/rail
    /// validation and of a release detail). Seed: 0 Unknown, 1 Truck, 2 Barge, 3 Rail.
    pub enum ModeOfTransport {
        Unknown = "Unknown" (0),
        Truck = "Truck" (1),
        Barge = "Barge" (2),
        Rail = "Rail" (3),
    }
}

wire_enum! {
    /// How a party is identified. Seed: 0 NxtEntityId ... 6 ExternalId. `Alfapass` (no int)
    /// is the type of the Alfapass validation endpoint and of a truck pickup party.
    pub enum IdentificationType {
        NxtEntityId = "NxtEntityId" (0),
        Tin = "Tin" (1),
        Eori = "Eori" (2),
        Duns = "Duns" (3),
        Scac = "SCAC" (4),
        Apcs = "Apcs" (5),
        ExternalId = "ExternalId" (6),
        Alfapass = "Alfapass",
    }
}

wire_enum! {
    /// `operationType` of an ingestion (terminal event).
    pub enum OperationType {
        Discharge = "Discharge" (0),
        GateIn = "GateIn" (1),
        GateOut = "GateOut" (2),
    }
}

wire_enum! {
    /// `fullEmptyIndicator` of a discharge. Lower-case on the wire, as in the seed.
    pub enum FullEmptyIndicator {
        Full = "full",
        Empty = "empty",
    }
}

wire_enum! {
    /// `actionType` of a release-right action (shipping agent and release parties).
    pub enum ActionType {
        Transfer = "Transfer" (0),
        Accept = "Accept" (1),
        Decline = "Decline" (2),
        Revoke = "Revoke" (3),
        Release = "Release" (4),
        Update = "Update" (5),
        Block = "Block" (6),
        Unblock = "Unblock" (7),
        Delete = "Delete" (8),
    }
}

wire_enum! {
    /// `actionType` of a terminal release.
    pub enum TerminalReleaseActionType {
        Release = "Release" (0),
        Scanning = "Scanning" (1),
        Block = "Block" (2),
    }
}

wire_enum! {
    /// `actionType` of a pickup right (transport operator).
    pub enum PickupRightActionType {
        Assign = "Assign" (0),
        Update = "Update" (1),
        Revoke = "Revoke" (2),
    }
}

wire_enum! {
    /// `partyType` of a pickup party.
    pub enum PartyType {
        Truck = "Truck" (0),
        Rail = "Rail" (1),
        Barge = "Barge" (2),
    }
}

wire_enum! {
    /// `type` of a notification (reference notes section 2.1).
    pub enum NotificationType {
        ReleaseRight = "ReleaseRight" (0),
        ReleaseLight = "ReleaseLight" (1),
        TerminalEvent = "TerminalEvent" (2),
    }
}

wire_enum! {
    /// Colour of a green light.
    pub enum LightColor {
        Green = "Green" (0),
        Red = "Red" (1),
        Orange = "Orange" (2),
        Grey = "Grey" (3),
        Yellow = "Yellow" (4),
    }
}

wire_enum! {
    /// `event` of a notification: the 29 names of NxtPort's `NotificationEvent`.
    pub enum NotificationEvent {
        Unknown = "Unknown" (0),
        Release = "Release" (1),
        Update = "Update" (2),
        Delete = "Delete" (3),
        Block = "Block" (4),
        Unblock = "Unblock" (5),
        Revoke = "Revoke" (6),
        TerminalRelease = "TerminalRelease" (7),
        TerminalBlocked = "TerminalBlocked" (8),
        TerminalScan = "TerminalScan" (9),
        Transferred = "Transferred" (10),
        DeclinedByNextParty = "DeclinedByNextParty" (11),
        AcceptedByNextParty = "AcceptedByNextParty" (12),
        RevokedByPreviousParty = "RevokedByPreviousParty" (13),
        NotValidated = "NotValidated" (14),
        ThrownException = "ThrownException" (15),
        GetPagedContainers = "GetPagedContainers" (16),
        PickedUpByParty = "PickedUpByParty" (17),
        GetAllReleaseLights = "GetAllReleaseLights" (18),
        GetCombinedGreenLight = "GetCombinedGreenLight" (19),
        ExpiredReleaseRights = "ExpiredReleaseRights" (20),
        InactiveReleaseRights = "InactiveReleaseRights" (21),
        GateOut = "GateOut" (22),
        DigitalKeyCreated = "DigitalKeyCreated" (23),
        DigitalKeyRevoked = "DigitalKeyRevoked" (24),
        GetReleaseDetail = "GetReleaseDetail" (25),
        ReleaseLightChanged = "ReleaseLightChanged" (26),
        ReleaseLightRegistered = "ReleaseLightRegistered" (27),
        AlfapassPickUpValidation = "AlfapassPickUpValidation" (28),
    }
}

wire_enum! {
    /// `releaseRightStatus` in notification bodies: the lifecycle state of a release right.
    pub enum ReleaseRightStatus {
        Assigned = "Assigned",
        Pending = "Pending",
        Accepted = "Accepted",
        Blocked = "Blocked",
        Deleted = "Deleted",
        Expired = "Expired",
        Archived = "Archived",
    }
}
