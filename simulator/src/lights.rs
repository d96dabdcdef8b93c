//! The green lights of a container stay and the overall status derived from them.
//!
//! Values and colours follow the seed (`cpu-terminal-operator-spec.txt`) and the reference notes
//! section 1: values are UPPERCASE as in CPu notifications, colours are the `LightColor` enum.
//! Where the seed and the notes disagree the seed wins: the conditional customs values
//! (SELECTEDFORSCAN, FAVV, TRANSHIPMENT, PORTEQUALISATION) are YELLOW, NOTAPPLICABLE is ORANGE.
//! The overall status is never stored: [`Lights::status`] computes it.

use serde::{Deserialize, Serialize};
use std::fmt;

pub use cpu_contract::LightColor;

/// Names of the lights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum LightName {
    /// Shipping agent's commercial release.
    CommercialRelease,
    /// Customs status (CCRM).
    Customs,
    /// Terminal discharge / gate-in confirmation.
    TerminalOperation,
    /// Terminal release (Release / Scanning / Block).
    TerminalRelease,
    /// Gate out.
    GateOperation,
}

impl LightName {
    /// All lights in display order.
    pub const ALL: [LightName; 5] = [
        Self::CommercialRelease,
        Self::Customs,
        Self::TerminalOperation,
        Self::TerminalRelease,
        Self::GateOperation,
    ];
    /// Name as in CPu.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommercialRelease => "CommercialRelease",
            Self::Customs => "Customs",
            Self::TerminalOperation => "TerminalOperation",
            Self::TerminalRelease => "TerminalRelease",
            Self::GateOperation => "GateOperation",
        }
    }
    /// Every value this light can take, as text (for coverage reports).
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Self::CommercialRelease => &["UNKNOWN", "OK", "NOK", "BLOCKED", "EXPIRED"],
            Self::Customs => &[
                "NOTRELEASED",
                "RELEASED",
                "SELECTEDFORSCAN",
                "FAVV",
                "TRANSHIPMENT",
                "PORTEQUALISATION",
                "DOCUMENTARYCONTROL",
                "NOTAPPLICABLE",
            ],
            Self::TerminalOperation => &["UNKNOWN", "DISCHARGED", "GATEIN"],
            Self::TerminalRelease => &["UNKNOWN", "RELEASED", "SCANNING", "BLOCKED"],
            Self::GateOperation => &["UNKNOWN", "GATEOUTRECEIVED"],
        }
    }
}

impl fmt::Display for LightName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! light_values {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident => $s:literal, $c:ident;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$vdoc])* $v,)+
        }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// Value as in CPu notifications (UPPERCASE).
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)+ }
            }
            /// Colour of the light with this value.
            pub fn color(self) -> LightColor {
                match self { $(Self::$v => LightColor::$c,)+ }
            }
            /// Parse a value (case-insensitive, `_`, `-` and spaces ignored).
            pub fn parse(input: &str) -> Option<Self> {
                let norm: String = input
                    .chars()
                    .filter(|c| !matches!(c, '_' | '-' | ' '))
                    .collect::<String>()
                    .to_ascii_uppercase();
                match norm.as_str() { $($s => Some(Self::$v),)+ _ => None }
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!(
                        "unknown value '{s}', expected one of {}",
                        allowed.join(", ")
                    ))
                })
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

light_values!(
    /// CommercialRelease light: the shipping agent's release.
    CommercialReleaseValue {
        /// No commercial release received yet.
        #[default]
        Unknown => "UNKNOWN", Grey;
        /// Released.
        Ok => "OK", Green;
        /// Commercially not OK (release deleted).
        Nok => "NOK", Red;
        /// Blocked by the shipping agent.
        Blocked => "BLOCKED", Red;
        /// Release expired.
        Expired => "EXPIRED", Red;
    }
);

light_values!(
    /// Customs light (CCRM).
    CustomsValue {
        /// Nothing received from customs yet.
        #[default]
        NotReleased => "NOTRELEASED", Grey;
        /// Released by customs.
        Released => "RELEASED", Green;
        /// Selected for scanning: follow the scan procedure.
        SelectedForScan => "SELECTEDFORSCAN", Yellow;
        /// May leave under FAVV (food agency) control.
        Favv => "FAVV", Yellow;
        /// May leave under transhipment.
        Transhipment => "TRANSHIPMENT", Yellow;
        /// May leave under port equalisation.
        PortEqualisation => "PORTEQUALISATION", Yellow;
        /// Under documentary control: cannot leave.
        DocumentaryControl => "DOCUMENTARYCONTROL", Red;
        /// Empty container (deprecated since CPu 4.1.1).
        NotApplicable => "NOTAPPLICABLE", Orange;
    }
);

light_values!(
    /// TerminalOperation light: discharge or gate in.
    TerminalOperationValue {
        /// Not on the terminal yet.
        #[default]
        Unknown => "UNKNOWN", Grey;
        /// Discharged from the vessel.
        Discharged => "DISCHARGED", Green;
        /// Arrived from another deep-sea terminal.
        GateIn => "GATEIN", Green;
    }
);

light_values!(
    /// TerminalRelease light: the terminal's release decision.
    TerminalReleaseValue {
        /// No decision yet.
        #[default]
        Unknown => "UNKNOWN", Grey;
        /// Released by the terminal.
        Released => "RELEASED", Green;
        /// Released subject to scanning at the terminal.
        Scanning => "SCANNING", Yellow;
        /// Blocked by the terminal.
        Blocked => "BLOCKED", Red;
    }
);

light_values!(
    /// GateOperation light.
    GateOperationValue {
        /// Not left the terminal yet.
        #[default]
        Unknown => "UNKNOWN", Grey;
        /// Gate out received from the terminal.
        GateOutReceived => "GATEOUTRECEIVED", Green;
    }
);

/// The overall status of a container, derived from its lights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverallStatus {
    /// All required lights green.
    Released,
    /// At least one light red.
    Blocked,
    /// Released with a scan to do.
    SelectedForScan,
    /// Released under FAVV control.
    Favv,
    /// Released under transhipment.
    Transhipment,
    /// Released under port equalisation.
    PortEqualisation,
    /// Not yet released: at least one required light is still grey.
    NotReleased,
}

impl OverallStatus {
    /// Every status.
    pub const ALL: [OverallStatus; 7] = [
        Self::Released,
        Self::Blocked,
        Self::SelectedForScan,
        Self::Favv,
        Self::Transhipment,
        Self::PortEqualisation,
        Self::NotReleased,
    ];
    /// As in CPu responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Released => "RELEASED",
            Self::Blocked => "BLOCKED",
            Self::SelectedForScan => "SELECTEDFORSCAN",
            Self::Favv => "FAVV",
            Self::Transhipment => "TRANSHIPMENT",
            Self::PortEqualisation => "PORTEQUALISATION",
            Self::NotReleased => "NOTRELEASED",
        }
    }
    /// Whether a container with this status may be picked up (possibly with a condition).
    pub fn is_pickable(self) -> bool {
        !matches!(self, Self::Blocked | Self::NotReleased)
    }
}

impl Serialize for OverallStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for OverallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lights of one container stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lights {
    /// Shipping agent.
    pub commercial_release: CommercialReleaseValue,
    /// Customs.
    pub customs: CustomsValue,
    /// Terminal: discharge / gate in.
    pub terminal_operation: TerminalOperationValue,
    /// Terminal: release decision.
    pub terminal_release: TerminalReleaseValue,
    /// Terminal: gate out.
    pub gate_operation: GateOperationValue,
}

/// One light as shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LightView {
    /// Light name.
    pub name: LightName,
    /// Current value.
    pub value: &'static str,
    /// Colour of that value.
    pub color: LightColor,
}

impl Lights {
    /// Value and colour of one light.
    pub fn get(&self, name: LightName) -> (&'static str, LightColor) {
        match name {
            LightName::CommercialRelease => (
                self.commercial_release.as_str(),
                self.commercial_release.color(),
            ),
            LightName::Customs => (self.customs.as_str(), self.customs.color()),
            LightName::TerminalOperation => (
                self.terminal_operation.as_str(),
                self.terminal_operation.color(),
            ),
            LightName::TerminalRelease => (
                self.terminal_release.as_str(),
                self.terminal_release.color(),
            ),
            LightName::GateOperation => (self.gate_operation.as_str(), self.gate_operation.color()),
        }
    }

    /// All lights in display order.
    pub fn views(&self) -> Vec<LightView> {
        LightName::ALL
            .iter()
            .map(|&name| {
                let (value, color) = self.get(name);
                LightView { name, value, color }
            })
            .collect()
    }

    /// The lights that must be green (or yellow) for a pickup: all but GateOperation.
    const REQUIRED: [LightName; 4] = [
        LightName::CommercialRelease,
        LightName::Customs,
        LightName::TerminalOperation,
        LightName::TerminalRelease,
    ];

    /// The overall status, derived (never stored):
    /// any red light -> BLOCKED; any required light grey -> NOTRELEASED; all required green
    /// (customs NOTAPPLICABLE counts as green) -> RELEASED; otherwise the condition of the yellow
    /// light, scanning first, then FAVV, TRANSHIPMENT, PORTEQUALISATION.
    pub fn status(&self) -> OverallStatus {
        let colors = LightName::ALL.map(|n| self.get(n).1);
        if colors.contains(&LightColor::Red) {
            return OverallStatus::Blocked;
        }
        if Self::REQUIRED
            .iter()
            .any(|&n| self.get(n).1 == LightColor::Grey)
        {
            return OverallStatus::NotReleased;
        }
        if self.customs == CustomsValue::SelectedForScan
            || self.terminal_release == TerminalReleaseValue::Scanning
        {
            return OverallStatus::SelectedForScan;
        }
        match self.customs {
            CustomsValue::Favv => OverallStatus::Favv,
            CustomsValue::Transhipment => OverallStatus::Transhipment,
            CustomsValue::PortEqualisation => OverallStatus::PortEqualisation,
            _ => OverallStatus::Released,
        }
    }

    /// Names of the lights that are red, for error messages.
    pub fn red_lights(&self) -> Vec<LightName> {
        LightName::ALL
            .into_iter()
            .filter(|&n| self.get(n).1 == LightColor::Red)
            .collect()
    }

    /// Names of the required lights that are still grey.
    pub fn missing_lights(&self) -> Vec<LightName> {
        Self::REQUIRED
            .into_iter()
            .filter(|&n| self.get(n).1 == LightColor::Grey)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn released() -> Lights {
        Lights {
            commercial_release: CommercialReleaseValue::Ok,
            customs: CustomsValue::Released,
            terminal_operation: TerminalOperationValue::Discharged,
            terminal_release: TerminalReleaseValue::Released,
            gate_operation: GateOperationValue::Unknown,
        }
    }

    #[test]
    fn default_is_not_released() {
        assert_eq!(Lights::default().status(), OverallStatus::NotReleased);
    }

    #[test]
    fn all_green_is_released() {
        assert_eq!(released().status(), OverallStatus::Released);
    }

    #[test]
    fn red_wins() {
        let mut l = released();
        l.terminal_release = TerminalReleaseValue::Blocked;
        assert_eq!(l.status(), OverallStatus::Blocked);
        let l = Lights {
            commercial_release: CommercialReleaseValue::Expired,
            ..Lights::default()
        };
        assert_eq!(l.status(), OverallStatus::Blocked);
    }

    #[test]
    fn conditions() {
        for (c, s) in [
            (
                CustomsValue::SelectedForScan,
                OverallStatus::SelectedForScan,
            ),
            (CustomsValue::Favv, OverallStatus::Favv),
            (CustomsValue::Transhipment, OverallStatus::Transhipment),
            (
                CustomsValue::PortEqualisation,
                OverallStatus::PortEqualisation,
            ),
            (CustomsValue::NotApplicable, OverallStatus::Released),
        ] {
            let mut l = released();
            l.customs = c;
            assert_eq!(l.status(), s, "{c}");
        }
        let mut l = released();
        l.terminal_release = TerminalReleaseValue::Scanning;
        l.customs = CustomsValue::Favv;
        assert_eq!(l.status(), OverallStatus::SelectedForScan);
    }

    #[test]
    fn parse_values() {
        assert_eq!(
            CustomsValue::parse("port_equalisation"),
            Some(CustomsValue::PortEqualisation)
        );
        assert_eq!(
            CustomsValue::parse("released"),
            Some(CustomsValue::Released)
        );
        assert_eq!(CustomsValue::parse("nope"), None);
        let e = serde_json::from_str::<CustomsValue>("\"GREEN\"").unwrap_err();
        assert!(e.to_string().contains("expected one of NOTRELEASED"), "{e}");
        for n in LightName::ALL {
            assert!(n.values().contains(&Lights::default().get(n).0));
        }
    }
}
