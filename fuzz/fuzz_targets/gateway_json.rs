//! The gateway's JSON edge: every `/v1` request body through the same parser the handlers use
//! (`ValidJson` -> `extract::parse_json`), query strings through `routes::parse_query`, and
//! NxtPort's answers (notification details, as the webhook and the poller read them). Nothing
//! may panic; a refusal must be an envelope that serializes; a timestamp the gateway accepts
//! must survive its own serialization unchanged (the leap-second rewrite of `23:59:60.5Z` into
//! `23:59:60.15Z` was such a bug).

#![no_main]

use arbitrary::Arbitrary;
use cpu_gateway::gateway::domain::UtcTimestamp;
use cpu_gateway::gateway::error::ApiError;
use cpu_gateway::gateway::extract::parse_json;
use cpu_gateway::gateway::routes::{
    connections, events, notifications, operations, parse_limit, parse_query, registry, validations,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    kind: u8,
    data: &'a [u8],
}

fn body<T: DeserializeOwned>(data: &[u8]) {
    if let Err(e) = parse_json::<T>(data) {
        refusal(&e);
    }
}

fn refusal(e: &ApiError) {
    let envelope = e.envelope();
    // A body or query that does not parse is the caller's mistake, never an internal error.
    assert_ne!(envelope.error.code, cpu_gateway::api::ErrorCode::Internal);
    serde_json::to_vec(&envelope).expect("the envelope serializes");
    assert!(
        !envelope.error.message.contains("cpu_gateway::"),
        "a Rust path in an error message: {}",
        envelope.error.message
    );
}

fn query<T: DeserializeOwned>(data: &[u8]) {
    let q = String::from_utf8_lossy(data);
    let req = actix_web::test::TestRequest::default();
    let uri = format!("/x?{}", q.replace(['#', ' '], ""));
    if uri.parse::<actix_web::http::Uri>().is_err() {
        return;
    }
    let req = req.uri(&uri).to_http_request();
    if let Err(e) = parse_query::<T>(&req) {
        refusal(&e);
    }
}

fn timestamp(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(t) = UtcTimestamp::parse(&s) {
        let json = serde_json::to_string(&t).expect("serialize");
        let back: UtcTimestamp = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{s:?} was accepted but its own form {json} is not: {e}"));
        assert_eq!(back, t, "{s:?} changed into {json}");
    }
    if let Ok(t) = cpu_contract::lenient_utc::parse(&s) {
        let text = cpu_contract::lenient_utc::format(&t);
        let back = cpu_contract::lenient_utc::parse(&text)
            .unwrap_or_else(|e| panic!("{s:?} was accepted but its own form {text} is not: {e}"));
        assert_eq!(back, t, "{s:?} changed into {text}");
    }
}

fuzz_target!(|input: Input| {
    let d = input.data;
    match input.kind % 16 {
        0 => body::<events::TerminalReleaseInput>(d),
        1 => body::<events::DischargeInput>(d),
        2 => body::<events::GateInInput>(d),
        3 => body::<events::GateOutInput>(d),
        4 => body::<connections::ConnectionInput>(d),
        5 => body::<validations::TruckPickupValidationInput>(d),
        6 => body::<validations::BargeRailPickupValidationInput>(d),
        7 => body::<validations::AlfapassValidationInput>(d),
        8 => body::<validations::TruckReleaseRightValidationInput>(d),
        9 => query::<notifications::NotificationsParams>(d),
        10 => query::<registry::CompaniesParams>(d),
        11 => query::<registry::ReleaseDetailParams>(d),
        12 => query::<operations::OperationsQuery>(d),
        13 => {
            let _ = parse_limit(Some(&String::from_utf8_lossy(d)));
        }
        14 => {
            if let Ok(details) =
                serde_json::from_slice::<Vec<cpu_contract::NotificationDetail>>(d)
            {
                for n in &details {
                    let _ = cpu_gateway::gateway::intake::envelope_of(n);
                }
            }
        }
        _ => timestamp(d),
    }
});
