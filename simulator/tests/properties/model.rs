//! An independent model of the lights: the colour table of the seed and the status rule,
//! recomputed here rather than taken from the code under test.

use cpu_simulator::lights::LightView;
use cpu_simulator::*;

/// Colour of a light value, from the seed's tables (not from `LightColor` of the crate).
pub fn color_of(light: LightName, value: &str) -> &'static str {
    match (light, value) {
        (_, "UNKNOWN") | (LightName::Customs, "NOTRELEASED") => "Grey",
        (LightName::CommercialRelease, "OK")
        | (LightName::Customs, "RELEASED")
        | (LightName::TerminalOperation, "DISCHARGED" | "GATEIN")
        | (LightName::TerminalRelease, "RELEASED")
        | (LightName::GateOperation, "GATEOUTRECEIVED") => "Green",
        (LightName::CommercialRelease, "NOK" | "BLOCKED" | "EXPIRED")
        | (LightName::Customs, "DOCUMENTARYCONTROL")
        | (LightName::TerminalRelease, "BLOCKED") => "Red",
        (LightName::Customs, "SELECTEDFORSCAN" | "FAVV" | "TRANSHIPMENT" | "PORTEQUALISATION")
        | (LightName::TerminalRelease, "SCANNING") => "Yellow",
        (LightName::Customs, "NOTAPPLICABLE") => "Orange",
        (l, v) => panic!("light {l} has a value the seed does not know: {v}"),
    }
}

/// The overall status, recomputed: any red -> BLOCKED; any required light (all but
/// GateOperation) grey -> NOTRELEASED; a scan (customs or terminal) -> SELECTEDFORSCAN; then the
/// customs condition; else RELEASED.
pub fn expected_status(views: &[LightView]) -> &'static str {
    let value = |n: LightName| views.iter().find(|v| v.name == n).unwrap().value;
    if views.iter().any(|v| color_of(v.name, v.value) == "Red") {
        return "BLOCKED";
    }
    if views
        .iter()
        .any(|v| v.name != LightName::GateOperation && color_of(v.name, v.value) == "Grey")
    {
        return "NOTRELEASED";
    }
    let customs = value(LightName::Customs);
    if customs == "SELECTEDFORSCAN" || value(LightName::TerminalRelease) == "SCANNING" {
        return "SELECTEDFORSCAN";
    }
    match customs {
        "FAVV" | "TRANSHIPMENT" | "PORTEQUALISATION" => customs,
        _ => "RELEASED",
    }
}
