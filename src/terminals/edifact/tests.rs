//! The EDIFACT reader's tests: the shared sample interchange, refusals, separators, properties.

use super::*;
use proptest::prelude::*;

/// A discharge report and a gate-out report written after the UN/EDIFACT D.95B structure
/// (UNH, BGM, TDT, EQD group with RFF, DTM, LOC, CNT, UNT).
/// (`tests/fixtures/psa-coarri-codeco.edi`, also posted by the Data Sources API tests.)
pub(crate) const SAMPLE: &str = include_str!("../../../tests/fixtures/psa-coarri-codeco.edi");

#[test]
fn coarri_and_codeco_map_to_discharge_and_gate_out() {
    let intake = read(Terminal::Psa, SAMPLE).expect("reads");
    assert_eq!(intake.messages, 2);
    assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
    let kinds: Vec<_> = intake
        .events
        .iter()
        .map(|e| (e.kind, e.time_kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::Discharge, TimeKind::Actual),
            (EventKind::VesselArrival, TimeKind::Estimated),
            (EventKind::GateOut, TimeKind::Actual),
        ]
    );
    let d = &intake.events[0];
    assert_eq!(d.equipment_number, "CSQU3054383");
    assert_eq!(d.vessel.as_deref(), Some("MSC ISABELLA"));
    assert_eq!(d.quay.as_deref(), Some("869"));
    assert_eq!(d.yard_position.as_deref(), Some("0120482"));
    assert_eq!(d.full_empty, Some(FullEmpty::Full));
    // The release character kept the '+' inside the bill of lading number.
    assert_eq!(d.documents, vec![Document::bill_of_lading("BL+0001")]);
    assert_eq!(d.occurred_at.to_rfc3339(), "2026-03-01T10:12:00+00:00");
}

#[test]
fn bad_messages_are_quarantined_with_their_reason_and_the_good_ones_kept() {
    let bad_count = SAMPLE.replace("UNT+11+M1", "UNT+12+M1");
    let i = read(Terminal::Psa, &bad_count).expect("reads");
    assert_eq!(i.quarantined.len(), 1);
    assert_eq!(i.quarantined[0].1.code, "segment_count_mismatch");
    assert!(i.quarantined[0].2.starts_with("UNH+M1"));
    assert!(i.events.iter().all(|e| e.kind == EventKind::GateOut));

    let bad_digit = SAMPLE.replacen("CSQU3054383", "CSQU3054384", 1);
    let i = read(Terminal::Psa, &bad_digit).expect("reads");
    assert_eq!(i.quarantined[0].1.code, "invalid_check_digit");
    // Category X with the check digit that fits it: refused all the same (U, J, Z only).
    let bad_category = SAMPLE.replacen("CSQU3054383", "CSQX3054382", 1);
    let i = read(Terminal::Psa, &bad_category).expect("reads");
    assert_eq!(i.quarantined[0].1.code, "invalid_check_digit");

    let bad_qualifier = SAMPLE.replace("BGM+34+", "BGM+99+");
    let i = read(Terminal::Psa, &bad_qualifier).expect("reads");
    assert_eq!(i.quarantined[0].1.code, "unknown_qualifier");
    assert_eq!(i.quarantined[0].0.as_deref(), Some("M2"));

    let bad_ref = SAMPLE.replace("UNT+8+M2", "UNT+8+M3");
    assert_eq!(
        read(Terminal::Psa, &bad_ref).expect("reads").quarantined[0]
            .1
            .code,
        "reference_mismatch"
    );
    let truncated = &SAMPLE[..SAMPLE.find("UNT+8+M2").expect("UNT")];
    let i = read(Terminal::Psa, truncated).expect("reads");
    assert_eq!(i.quarantined[0].1.code, "missing_trailer");
    // The interchange is not whole either: no UNZ.
    assert_eq!(i.quarantined[1].1.code, "missing_interchange_trailer");
    assert_eq!(i.quarantined[1].0.as_deref(), Some("IC0001"));
    assert_eq!(i.quarantined.len(), 2);
    assert_eq!(
        read(Terminal::Psa, "hello").unwrap_err().code,
        "invalid_syntax"
    );
    assert_eq!(
        read(Terminal::Psa, "UNB+UNOA:2+A+B+1+1'").unwrap_err().code,
        "invalid_syntax"
    );
}

#[test]
fn an_interchange_that_is_not_whole_is_quarantined_and_its_whole_messages_kept() {
    // One message lost in transfer: UNZ still declares two.
    let start = SAMPLE.find("UNH+M2").expect("M2");
    let end = SAMPLE.find("UNZ").expect("UNZ");
    let lost = format!("{}{}", &SAMPLE[..start], &SAMPLE[end..]);
    let i = read(Terminal::Psa, &lost).expect("reads");
    assert_eq!(i.quarantined.len(), 1, "{:?}", i.quarantined);
    let (reference, refusal, content) = &i.quarantined[0];
    assert_eq!(refusal.code, "interchange_count_mismatch");
    assert_eq!(reference.as_deref(), Some("IC0001"));
    assert!(refusal.message.contains("declares 2 messages"), "{refusal}");
    assert!(content.starts_with("UNZ+2+IC0001"), "{content}");
    assert_eq!(i.messages, 1);
    assert!(i.events.iter().all(|e| e.kind != EventKind::GateOut));
    assert!(!i.events.is_empty());

    let other = SAMPLE.replace("UNZ+2+IC0001", "UNZ+2+IC0002");
    let i = read(Terminal::Psa, &other).expect("reads");
    assert_eq!(i.quarantined.len(), 1);
    assert_eq!(i.quarantined[0].1.code, "interchange_reference_mismatch");
    assert_eq!(i.events.len(), 3);

    // Functional groups: UNZ counts the groups, not the messages.
    let grouped = SAMPLE
        .replace("UNH+M1", "UNG+COARRI+A+B+260301:1015+G1+UN+D:95B'\nUNH+M1")
        .replace("UNZ+2", "UNE+2+G1'\nUNZ+1");
    let i = read(Terminal::Psa, &grouped).expect("reads");
    assert!(i.quarantined.is_empty(), "{:?}", i.quarantined);
    assert_eq!(i.events.len(), 3);
}

#[test]
fn una_with_other_separators() {
    let custom = "UNA~|.^ #UNH|1|CODECO~D~95B~UN#BGM|36|GI^#1|9#EQD|CN|CSQU3054383|45G1||2|4#DTM|7~202603011200~203#UNT|5|1#";
    let i = read(Terminal::Dpworld, custom).expect("reads");
    assert!(i.quarantined.is_empty(), "{:?}", i.quarantined);
    assert_eq!(i.events[0].kind, EventKind::GateIn);
    assert_eq!(i.events[0].full_empty, Some(FullEmpty::Empty));
    assert_eq!(i.events[0].source_event_id, "CODECO:GI#1");
}

fn container(serial: u32) -> String {
    match cpu_simulator::ids::EquipmentNumber::from_serial("MSCU", serial) {
        Ok(e) => e.as_str().to_owned(),
        Err(e) => panic!("MSCU{serial}: {e}"),
    }
}

proptest! {
    /// Whatever the input, the reader answers (no panic) and never keeps more events than
    /// equipment groups allow.
    #[test]
    fn never_panics(input in ".{0,400}") {
        let _ = read(Terminal::Psa, &input);
    }

    /// Written moves read back as the same events, whatever the values (separators and the
    /// release character included).
    #[test]
    fn write_then_read_round_trips(
        serial in 0u32..1_000_000,
        kind in prop::sample::select(vec![EventKind::Discharge, EventKind::Load, EventKind::GateIn, EventKind::GateOut]),
        minutes in 0i64..5_000_000,
        full in any::<bool>(),
        bl in "[A-Z0-9+:?' ]{1,20}",
        vessel in "[A-Za-z0-9 +:?']{1,30}",
        reference in "[A-Z0-9]{1,14}",
    ) {
        let at = DateTime::from_timestamp(1_699_999_980 + minutes * 60, 0).expect("ts");
        let m = Move { kind, equipment: container(serial), at, full, bill_of_lading: Some(bl.clone()), vessel: Some(vessel.clone()), voyage: Some("1N".into()), quay: Some("1700".into()), position: None };
        let text = write_interchange("DPW", "1", &[write_message(&reference, "D1", &m).expect("msg")]);
        let i = read(Terminal::Dpworld, &text).expect("reads");
        prop_assert!(i.quarantined.is_empty(), "{:?}", i.quarantined);
        prop_assert_eq!(i.events.len(), 1);
        let e = &i.events[0];
        prop_assert_eq!(e.kind, kind);
        prop_assert_eq!(&e.equipment_number, &m.equipment);
        prop_assert_eq!(e.occurred_at, at);
        prop_assert_eq!(e.full_empty, Some(if full { FullEmpty::Full } else { FullEmpty::Empty }));
        prop_assert_eq!(&e.documents, &vec![Document::bill_of_lading(bl)]);
        prop_assert_eq!(e.vessel.as_deref(), Some(vessel.as_str()));
    }

    /// A wrong UNT segment count is always refused, never stored.
    #[test]
    fn a_wrong_segment_count_is_always_quarantined(serial in 0u32..1_000_000, delta in 1usize..5) {
        let m = Move { kind: EventKind::GateIn, equipment: container(serial), at: DateTime::from_timestamp(1_700_000_000, 0).expect("ts"), full: true, bill_of_lading: None, vessel: None, voyage: None, quay: None, position: None };
        let msg = write_message("R1", "D1", &m).expect("msg");
        let n: usize = msg.lines().count();
        let bad = msg.replace(&format!("UNT+{n}+R1"), &format!("UNT+{}+R1", n + delta));
        let i = read(Terminal::Psa, &write_interchange("P", "1", &[bad])).expect("reads");
        prop_assert!(i.events.is_empty());
        prop_assert_eq!(i.quarantined.len(), 1);
        prop_assert_eq!(i.quarantined[0].1.code, "segment_count_mismatch");
    }
}
