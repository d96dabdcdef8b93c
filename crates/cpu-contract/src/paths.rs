//! Paths and header names of NxtPort's CPu API: one source for the simulator's routes, the
//! client's requests and the tests.
//!
//! Route patterns (`*_ROUTE`, actix syntax `{name}`) are what the simulator registers; the
//! functions build the concrete path for the client, percent-encoding each segment so that a
//! value taken from input cannot change the path (`../`, `?`, `#`, `/`).

/// Header carrying the subscription (API) key.
pub const SUBSCRIPTION_KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";
/// Query parameter that may carry the subscription key instead of the header.
pub const SUBSCRIPTION_KEY_QUERY: &str = "subscription-key";
/// Caller's own reference, echoed in the answer and in the notifications.
pub const EXTERNAL_REFERENCE_ID: &str = "External-Reference-Id";

/// Token endpoint of the simulator (relative to its base URL). NxtPort's own is on another host.
pub const TOKEN: &str = "/connect/token";

/// `PUT` terminal release (Release, Scanning, Block).
pub const TERMINAL_RELEASE_ROUTE: &str =
    "/certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release";
/// `POST` ingestion (Discharge, GateIn, GateOut).
pub const INGESTION_ROUTE: &str = "/ingestion/v1/ingestion/{ingestionId}";
/// `POST` synchronous truck pickup validation.
pub const TRUCK_SYNC_VALIDATION_ROUTE: &str =
    "/certified-pickup/v1/{locode}/sync-validation/pickup/containers";
/// `POST` synchronous barge/rail pickup validation (v2).
pub const BARGE_RAIL_SYNC_VALIDATION_ROUTE: &str =
    "/certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers";
/// `POST` Alfapass (identification) validation.
pub const IDENTIFICATION_VALIDATION_ROUTE: &str =
    "/certified-pickup/v1/{locode}/validation/pickup/identification";
/// `POST` truck release-right (ownership) validation.
pub const TRUCK_OWNERSHIP_VALIDATION_ROUTE: &str =
    "/certified-pickup/v1/{locode}/validation/ownership/truck";
/// `GET` release detail (answer by notification).
pub const RELEASE_DETAIL_ROUTE: &str =
    "/certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}";
/// `GET` company registry.
pub const ENTITIES: &str = "/certified-pickup/v1/entities";
/// `GET` notifications.
pub const NOTIFICATIONS: &str = "/certified-pickup/v1/notifications";
/// `PUT` release-right actions (shipping agent, release parties).
pub const RELEASE_RIGHTS_ROUTE: &str =
    "/certified-pickup/v1/{locode}/containers/{equipment}/import/release-rights";
/// `PUT` pickup-right actions (transport operator).
pub const PICKUP_RIGHTS_ROUTE: &str =
    "/certified-pickup/v1/{locode}/containers/{equipment}/import/pickup-rights";
/// `PUT` barge/rail pickup right.
pub const BARGE_RAIL_PICKUP_RIGHTS: &str = "/certified-pickup/v1/pickup-rights/barge-rail";

/// Percent-encode one path segment (everything but RFC 3986 unreserved characters).
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    // `.` and `..` alone are path navigation even when unreserved.
    match out.as_str() {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => out,
    }
}

/// `/certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release`
pub fn terminal_release(locode: &str, equipment: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/containers/{}/import/terminal-release",
        segment(locode),
        segment(equipment)
    )
}

/// `/ingestion/v1/ingestion/{ingestionId}`
pub fn ingestion(ingestion_id: &str) -> String {
    format!("/ingestion/v1/ingestion/{}", segment(ingestion_id))
}

/// `/certified-pickup/v1/{locode}/sync-validation/pickup/containers`
pub fn truck_sync_validation(locode: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/sync-validation/pickup/containers",
        segment(locode)
    )
}

/// `/certified-pickup/v2/{locode}/sync-validation/pickup/barge-rail/containers`
pub fn barge_rail_sync_validation(locode: &str) -> String {
    format!(
        "/certified-pickup/v2/{}/sync-validation/pickup/barge-rail/containers",
        segment(locode)
    )
}

/// `/certified-pickup/v1/{locode}/validation/pickup/identification`
pub fn identification_validation(locode: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/validation/pickup/identification",
        segment(locode)
    )
}

/// `/certified-pickup/v1/{locode}/validation/ownership/truck`
pub fn truck_ownership_validation(locode: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/validation/ownership/truck",
        segment(locode)
    )
}

/// `/certified-pickup/v1/{locode}/containers/import/release-rights/{equipment}`
pub fn release_detail(locode: &str, equipment: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/containers/import/release-rights/{}",
        segment(locode),
        segment(equipment)
    )
}

/// `/certified-pickup/v1/entities`
pub fn entities() -> String {
    ENTITIES.to_owned()
}

/// `/certified-pickup/v1/notifications`
pub fn notifications() -> String {
    NOTIFICATIONS.to_owned()
}

/// `/certified-pickup/v1/{locode}/containers/{equipment}/import/release-rights`
pub fn release_rights(locode: &str, equipment: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/containers/{}/import/release-rights",
        segment(locode),
        segment(equipment)
    )
}

/// `/certified-pickup/v1/{locode}/containers/{equipment}/import/pickup-rights`
pub fn pickup_rights(locode: &str, equipment: &str) -> String {
    format!(
        "/certified-pickup/v1/{}/containers/{}/import/pickup-rights",
        segment(locode),
        segment(equipment)
    )
}

/// `/certified-pickup/v1/pickup-rights/barge-rail`
pub fn barge_rail_pickup_rights() -> String {
    BARGE_RAIL_PICKUP_RIGHTS.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fill a route pattern the way actix would match it, to prove builders and routes agree.
    fn fill(route: &str, values: &[(&str, &str)]) -> String {
        values.iter().fold(route.to_owned(), |acc, (name, value)| {
            acc.replace(&format!("{{{name}}}"), value)
        })
    }

    #[test]
    fn builders_match_route_patterns() {
        let l = [("locode", "BEANR"), ("equipment", "MSCU1234565")];
        assert_eq!(
            terminal_release("BEANR", "MSCU1234565"),
            fill(TERMINAL_RELEASE_ROUTE, &l)
        );
        assert_eq!(
            release_detail("BEANR", "MSCU1234565"),
            fill(RELEASE_DETAIL_ROUTE, &l)
        );
        assert_eq!(
            release_rights("BEANR", "MSCU1234565"),
            fill(RELEASE_RIGHTS_ROUTE, &l)
        );
        assert_eq!(
            pickup_rights("BEANR", "MSCU1234565"),
            fill(PICKUP_RIGHTS_ROUTE, &l)
        );
        assert_eq!(
            truck_sync_validation("BEANR"),
            fill(TRUCK_SYNC_VALIDATION_ROUTE, &l)
        );
        assert_eq!(
            barge_rail_sync_validation("BEANR"),
            fill(BARGE_RAIL_SYNC_VALIDATION_ROUTE, &l)
        );
        assert_eq!(
            identification_validation("BEANR"),
            fill(IDENTIFICATION_VALIDATION_ROUTE, &l)
        );
        assert_eq!(
            truck_ownership_validation("BEANR"),
            fill(TRUCK_OWNERSHIP_VALIDATION_ROUTE, &l)
        );
        assert_eq!(
            ingestion("abc"),
            fill(INGESTION_ROUTE, &[("ingestionId", "abc")])
        );
        assert_eq!(
            terminal_release("BEANR", "MSCU1234565"),
            "/certified-pickup/v1/BEANR/containers/MSCU1234565/import/terminal-release"
        );
        assert_eq!(entities(), "/certified-pickup/v1/entities");
        assert_eq!(notifications(), "/certified-pickup/v1/notifications");
        assert_eq!(
            barge_rail_pickup_rights(),
            "/certified-pickup/v1/pickup-rights/barge-rail"
        );
    }

    #[test]
    fn segments_cannot_escape_the_path() {
        assert_eq!(segment("../x"), "..%2Fx");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(
            terminal_release("BE/ANR", "X"),
            "/certified-pickup/v1/BE%2FANR/containers/X/import/terminal-release"
        );
        assert_eq!(segment("é"), "%C3%A9");
    }
}
