//! UN/EDIFACT intake: COARRI (container discharge/loading report) and CODECO (container
//! gate-in/gate-out report), the messages PSA Antwerp and DP World exchange with their partners.
//!
//! A small parser of our own (see docs/ASSUMPTIONS.md for why no crate): ISO 9735 syntax with the
//! UNA service string advice (custom separators), the release character, and the UNH/UNT
//! envelope whose segment count (data element 0074) is checked. Each message is validated and
//! mapped on its own: a bad one is quarantined with a stable reason code and its verbatim text,
//! the good ones around it are stored. The message structure follows the UN/EDIFACT directories
//! (D.95B) and the SMDG user manuals:
//!
//! - `BGM` 1001: COARRI 44 discharge report / 46 loading report; CODECO 34 gate-out report /
//!   36 gate-in report (SMDG). Other codes: `unknown_qualifier`.
//! - `TDT+20` main carriage: voyage (8028) and vessel name (C222, 8212).
//! - `EQD+CN+<container>+<size type>+<supplier>+<status>+<full/empty>`: one equipment group per
//!   container; the number must pass ISO 6346 (`invalid_check_digit`); 8169 4 = empty, 5 = full.
//! - `RFF+BM:<number>`: bill of lading; `DTM+203` (execution, COARRI) or `DTM+7` (effective,
//!   CODECO) with format 203 (CCYYMMDDHHMM), 204 (..SS) or 102 (CCYYMMDD): the event time;
//!   `DTM+132` / `DTM+133`: estimated arrival / departure (events with `time_kind` estimated);
//!   `LOC+165` place of transfer: the quay; `LOC+147` stowage cell / `LOC+ZZZ` yard (a bilateral
//!   code): kept as the position.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::event::{
    parse_equipment_number, Document, EventKind, FullEmpty, NormalizedEvent, TimeKind,
};
use super::Terminal;

/// The separators of an interchange (UNA, else the ISO 9735 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub component: char,
    pub element: char,
    pub release: char,
    pub terminator: char,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            component: ':',
            element: '+',
            release: '?',
            terminator: '\'',
        }
    }
}

/// One segment: its tag and its data elements, each a list of components (unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub tag: String,
    pub elements: Vec<Vec<String>>,
    /// Byte range of the segment (terminator included) in the input.
    pub span: (usize, usize),
}

impl Segment {
    /// Component `c` of element `e` (0-based, after the tag); "" when absent.
    pub fn get(&self, e: usize, c: usize) -> &str {
        self.elements
            .get(e)
            .and_then(|el| el.get(c))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Why a whole input or one message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Stable code: `invalid_syntax`, `segment_count_mismatch`, `reference_mismatch`,
    /// `missing_trailer`, `unknown_message_type`, `unknown_qualifier`, `invalid_check_digit`,
    /// `missing_equipment`, `invalid_time`, `missing_time`, `segment_outside_message`,
    /// `missing_interchange_trailer`, `interchange_count_mismatch`,
    /// `interchange_reference_mismatch`.
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Split an interchange into segments (UNA honoured, release character unescaped).
pub fn segments(input: &str) -> Result<Vec<Segment>, Refusal> {
    let mut d = Delimiters::default();
    let mut start = 0;
    let trimmed = input.trim_start();
    let offset = input.len() - trimmed.len();
    if let Some(rest) = trimmed.strip_prefix("UNA") {
        let chars: Vec<char> = rest.chars().take(6).collect();
        if chars.len() < 6 {
            return Err(refuse(
                "invalid_syntax",
                "UNA must be followed by six service characters",
            ));
        }
        d = Delimiters {
            component: chars[0],
            element: chars[1],
            release: chars[3],
            terminator: chars[5],
        };
        let distinct = [d.component, d.element, d.release, d.terminator];
        if (0..4).any(|i| (i + 1..4).any(|j| distinct[i] == distinct[j])) {
            return Err(refuse(
                "invalid_syntax",
                "UNA separators must be distinct characters",
            ));
        }
        start = offset + 3 + chars.iter().map(|c| c.len_utf8()).sum::<usize>();
    }
    let mut out = Vec::new();
    let mut seg_start: Option<usize> = None;
    let mut elements: Vec<Vec<String>> = Vec::new();
    let mut components: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for (i, ch) in input[start..].char_indices() {
        let pos = start + i;
        if seg_start.is_none() {
            if ch.is_whitespace() {
                continue; // line breaks between segments are common and harmless
            }
            seg_start = Some(pos);
        }
        if escaped {
            cur.push(ch);
            escaped = false;
            continue;
        }
        if ch == d.release {
            escaped = true;
        } else if ch == d.component {
            components.push(std::mem::take(&mut cur));
        } else if ch == d.element {
            components.push(std::mem::take(&mut cur));
            elements.push(std::mem::take(&mut components));
        } else if ch == d.terminator {
            components.push(std::mem::take(&mut cur));
            elements.push(std::mem::take(&mut components));
            let tag_el = elements.remove(0);
            let tag = tag_el.into_iter().next().unwrap_or_default();
            if tag.len() != 3
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(refuse(
                    "invalid_syntax",
                    format!(
                        "segment {} has no valid tag ('{}')",
                        out.len() + 1,
                        tag.chars().take(10).collect::<String>()
                    ),
                ));
            }
            out.push(Segment {
                tag,
                elements: std::mem::take(&mut elements),
                span: (seg_start.unwrap_or(pos), pos + ch.len_utf8()),
            });
            seg_start = None;
        } else {
            cur.push(ch);
        }
    }
    if seg_start.is_some() {
        return Err(refuse(
            "invalid_syntax",
            "the input ends inside a segment (missing segment terminator)",
        ));
    }
    Ok(out)
}

/// A message envelope found in an interchange: its reference, type and segments (UNH..UNT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub reference: String,
    pub message_type: String,
    pub segments: Vec<Segment>,
    /// The verbatim text (UNH to UNT, or to where the message broke off).
    pub content: String,
}

/// A message that could not even be delimited (kept for the quarantine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub reference: Option<String>,
    pub refusal: Refusal,
    pub content: String,
}

/// Split segments into messages; envelope errors (UNT count or reference, missing UNT, a
/// segment outside any message) are per message.
pub fn messages(input: &str, segs: Vec<Segment>) -> (Vec<RawMessage>, Vec<Broken>) {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    let mut open: Option<(String, String, Vec<Segment>)> = None;
    let text = |segs: &[Segment]| -> String {
        match (segs.first(), segs.last()) {
            (Some(a), Some(b)) => input.get(a.span.0..b.span.1).unwrap_or("").to_string(),
            _ => String::new(),
        }
    };
    for s in segs {
        match s.tag.as_str() {
            "UNB" | "UNZ" | "UNG" | "UNE" if open.is_none() => {}
            "UNH" => {
                if let Some((reference, _, segs)) = open.take() {
                    broken.push(Broken {
                        reference: Some(reference.clone()),
                        refusal: refuse(
                            "missing_trailer",
                            format!("message {reference} has no UNT before the next UNH"),
                        ),
                        content: text(&segs),
                    });
                }
                let reference = s.get(0, 0).to_string();
                let message_type = s.get(1, 0).to_string();
                open = Some((reference, message_type, vec![s]));
            }
            "UNT" => {
                let Some((reference, message_type, mut segs)) = open.take() else {
                    broken.push(Broken {
                        reference: Some(s.get(1, 0).to_string()),
                        refusal: refuse("segment_outside_message", "UNT without a UNH"),
                        content: input.get(s.span.0..s.span.1).unwrap_or("").to_string(),
                    });
                    continue;
                };
                let declared = s.get(0, 0).to_string();
                let trailer_ref = s.get(1, 0).to_string();
                segs.push(s);
                let content = text(&segs);
                let refusal = if declared.parse::<usize>().ok() != Some(segs.len()) {
                    Some(refuse(
                        "segment_count_mismatch",
                        format!(
                            "message {reference}: UNT declares {} segments, the message has {} (UNH and UNT included)",
                            declared.chars().take(10).collect::<String>(),
                            segs.len()
                        ),
                    ))
                } else if trailer_ref != reference {
                    Some(refuse(
                        "reference_mismatch",
                        format!("message {reference}: UNT names reference '{trailer_ref}'"),
                    ))
                } else {
                    None
                };
                match refusal {
                    Some(refusal) => broken.push(Broken {
                        reference: Some(reference),
                        refusal,
                        content,
                    }),
                    None => ok.push(RawMessage {
                        reference,
                        message_type,
                        segments: segs,
                        content,
                    }),
                }
            }
            _ => match open.as_mut() {
                Some((_, _, segs)) => segs.push(s),
                None => broken.push(Broken {
                    reference: None,
                    refusal: refuse(
                        "segment_outside_message",
                        format!("segment {} outside a UNH..UNT message", s.tag),
                    ),
                    content: input.get(s.span.0..s.span.1).unwrap_or("").to_string(),
                }),
            },
        }
    }
    if let Some((reference, _, segs)) = open {
        broken.push(Broken {
            reference: Some(reference.clone()),
            refusal: refuse("missing_trailer", format!("message {reference} has no UNT")),
            content: text(&segs),
        });
    }
    (ok, broken)
}

/// The interchange's own envelope, when it has one (UNB): UNZ must follow, declare how many
/// messages (or functional groups, when UNG..UNE are used) the interchange holds and repeat
/// UNB's control reference. Otherwise the file is not whole (a transfer cut short, two files
/// run together): the messages that are whole by their own UNT are still read, and the
/// interchange is quarantined with the reason, so its sync shows `partial`.
fn interchange_refusal(input: &str, segs: &[Segment]) -> Option<Broken> {
    let unb = segs.iter().find(|s| s.tag == "UNB")?;
    let control = unb.get(4, 0).to_string();
    let text = |s: &Segment| input.get(s.span.0..s.span.1).unwrap_or("").to_string();
    let broken = |unz: &Segment, code, message: String| Broken {
        reference: Some(control.clone()),
        refusal: refuse(code, message),
        content: text(unz),
    };
    let Some(unz) = segs.iter().rev().find(|s| s.tag == "UNZ") else {
        return Some(broken(
            unb,
            "missing_interchange_trailer",
            format!("interchange {control} has no UNZ: the file may have been cut short"),
        ));
    };
    let groups = segs.iter().filter(|s| s.tag == "UNG").count();
    let (counted, what) = match groups {
        0 => (segs.iter().filter(|s| s.tag == "UNH").count(), "messages"),
        n => (n, "functional groups"),
    };
    let declared = unz.get(0, 0);
    if declared.parse::<usize>().ok() != Some(counted) {
        return Some(broken(
            unz,
            "interchange_count_mismatch",
            format!(
                "interchange {control}: UNZ declares {} {what}, the interchange has {counted}",
                declared.chars().take(10).collect::<String>()
            ),
        ));
    }
    let trailer = unz.get(1, 0);
    (trailer != control).then(|| {
        broken(
            unz,
            "interchange_reference_mismatch",
            format!(
                "interchange {control}: UNZ names control reference '{}'",
                trailer.chars().take(20).collect::<String>()
            ),
        )
    })
}

fn parse_time(value: &str, format: &str) -> Option<DateTime<Utc>> {
    let naive = match format {
        "203" => NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M").ok()?,
        "204" => NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S").ok()?,
        "102" => NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?,
        _ => return None,
    };
    // Times are taken as UTC (the SMDG manuals leave the zone to the partners).
    Some(Utc.from_utc_datetime(&naive))
}

/// Map one delimited message to events (one per equipment group, plus estimated times).
pub fn map_message(t: Terminal, m: &RawMessage) -> Result<Vec<NormalizedEvent>, Refusal> {
    let r = &m.reference;
    let bgm = m
        .segments
        .iter()
        .find(|s| s.tag == "BGM")
        .ok_or_else(|| refuse("unknown_qualifier", format!("message {r}: no BGM segment")))?;
    let code = bgm.get(0, 0);
    let kind = match (m.message_type.as_str(), code) {
        ("COARRI", "44") => EventKind::Discharge,
        ("COARRI", "46") => EventKind::Load,
        ("CODECO", "34") => EventKind::GateOut,
        ("CODECO", "36") => EventKind::GateIn,
        ("COARRI" | "CODECO", other) => {
            return Err(refuse(
                "unknown_qualifier",
                format!(
                    "message {r}: BGM document code '{}' is not a {} report this intake knows (COARRI 44/46, CODECO 34/36)",
                    other.chars().take(10).collect::<String>(),
                    m.message_type
                ),
            ))
        }
        (other, _) => {
            return Err(refuse(
                "unknown_message_type",
                format!(
                    "message {r}: type '{}' (only COARRI and CODECO are read)",
                    other.chars().take(10).collect::<String>()
                ),
            ))
        }
    };
    let document = bgm.get(1, 0);
    let source_id = format!(
        "{}:{}",
        m.message_type,
        if document.is_empty() { r } else { document }
    );
    let tdt = m
        .segments
        .iter()
        .find(|s| s.tag == "TDT" && s.get(0, 0) == "20");
    let voyage = tdt.map(|s| s.get(1, 0)).filter(|v| !v.is_empty());
    let vessel = tdt
        .map(|s| s.get(7, 3))
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let mut events = Vec::new();
    // Message-level estimated times (before the first EQD).
    let first_eqd = m
        .segments
        .iter()
        .position(|s| s.tag == "EQD")
        .ok_or_else(|| refuse("missing_equipment", format!("message {r}: no EQD segment")))?;
    let mut estimates: Vec<(EventKind, DateTime<Utc>)> = Vec::new();
    for s in &m.segments[..first_eqd] {
        if s.tag == "DTM" {
            let k = match s.get(0, 0) {
                "132" => EventKind::VesselArrival,
                "133" => EventKind::VesselDeparture,
                _ => continue,
            };
            let at = parse_time(s.get(0, 1), s.get(0, 2)).ok_or_else(|| {
                refuse(
                    "invalid_time",
                    format!("message {r}: DTM+{} is not a valid date/time", s.get(0, 0)),
                )
            })?;
            estimates.push((k, at));
        }
    }
    // Equipment groups: EQD up to the next EQD / CNT / UNT.
    let mut i = first_eqd;
    while i < m.segments.len() {
        let eqd = &m.segments[i];
        if eqd.tag != "EQD" {
            i += 1;
            continue;
        }
        let end = m.segments[i + 1..]
            .iter()
            .position(|s| matches!(s.tag.as_str(), "EQD" | "CNT" | "UNT"))
            .map(|p| i + 1 + p)
            .unwrap_or(m.segments.len());
        let group = &m.segments[i + 1..end];
        if eqd.get(0, 0) != "CN" {
            return Err(refuse(
                "unknown_qualifier",
                format!(
                    "message {r}: EQD qualifier '{}' (only CN, container, is read)",
                    eqd.get(0, 0).chars().take(10).collect::<String>()
                ),
            ));
        }
        let raw = eqd.get(1, 0);
        let equipment = parse_equipment_number(raw).ok_or_else(|| {
            refuse(
                "invalid_check_digit",
                format!(
                    "message {r}: '{}' is not an ISO 6346 container number (category U, J or Z, check digit)",
                    raw.chars().take(20).collect::<String>()
                ),
            )
        })?;
        let full_empty = match eqd.get(5, 0) {
            "" => None,
            "5" => Some(FullEmpty::Full),
            "4" => Some(FullEmpty::Empty),
            other => {
                return Err(refuse(
                    "unknown_qualifier",
                    format!(
                        "message {r}: full/empty indicator '{}' (4 empty, 5 full)",
                        other.chars().take(10).collect::<String>()
                    ),
                ))
            }
        };
        let mut at = None;
        let mut documents = Vec::new();
        let mut quay = None;
        let mut position = None;
        for s in group {
            match (s.tag.as_str(), s.get(0, 0)) {
                ("DTM", "203" | "7") => {
                    at = Some(parse_time(s.get(0, 1), s.get(0, 2)).ok_or_else(|| {
                        refuse(
                            "invalid_time",
                            format!(
                                "message {r}: DTM+{} '{}' is not a valid date/time (formats 203, 204, 102)",
                                s.get(0, 0),
                                s.get(0, 1).chars().take(20).collect::<String>()
                            ),
                        )
                    })?)
                }
                ("RFF", "BM") if !s.get(0, 1).is_empty() => {
                    documents.push(Document::bill_of_lading(s.get(0, 1)))
                }
                ("LOC", "165") if !s.get(1, 0).is_empty() => quay = Some(s.get(1, 0).to_string()),
                ("LOC", "147" | "ZZZ") if !s.get(1, 0).is_empty() => {
                    position = Some(s.get(1, 0).to_string())
                }
                _ => {}
            }
        }
        let at = at.ok_or_else(|| {
            refuse(
                "missing_time",
                format!("message {r}: container {equipment} has no DTM+203/DTM+7 time"),
            )
        })?;
        events.push(NormalizedEvent {
            yard_position: position,
            quay: quay.clone(),
            vessel: vessel.clone(),
            full_empty,
            documents: documents.clone(),
            status: voyage.map(|v| format!("VOYAGE {v}")),
            ..NormalizedEvent::new(t, source_id.clone(), equipment.clone(), kind, at)
        });
        for (k, eta) in &estimates {
            events.push(NormalizedEvent {
                time_kind: TimeKind::Estimated,
                vessel: vessel.clone(),
                quay: quay.clone(),
                documents: documents.clone(),
                ..NormalizedEvent::new(t, source_id.clone(), equipment.clone(), *k, *eta)
            });
        }
        i = end;
    }
    Ok(events)
}

/// The result of reading one interchange.
#[derive(Debug, Default)]
pub struct Intake {
    /// Messages read (good and bad).
    pub messages: usize,
    pub events: Vec<NormalizedEvent>,
    /// `(message reference, refusal, verbatim text)`.
    pub quarantined: Vec<(Option<String>, Refusal, String)>,
}

/// Parse an interchange and map every message; `Err` when the input is not EDIFACT at all.
pub fn read(t: Terminal, input: &str) -> Result<Intake, Refusal> {
    let segs = segments(input)?;
    if !segs.iter().any(|s| s.tag == "UNH") {
        return Err(refuse(
            "invalid_syntax",
            "no UNH message header: not a UN/EDIFACT interchange",
        ));
    }
    let whole = interchange_refusal(input, &segs);
    let (ok, broken) = messages(input, segs);
    let mut intake = Intake {
        messages: ok.len() + broken.len(),
        ..Intake::default()
    };
    for b in broken.into_iter().chain(whole) {
        intake.quarantined.push((b.reference, b.refusal, b.content));
    }
    for m in ok {
        match map_message(t, &m) {
            Ok(evs) => intake.events.extend(evs),
            Err(refusal) => intake
                .quarantined
                .push((Some(m.reference), refusal, m.content)),
        }
    }
    Ok(intake)
}

/// One container move to write as a message (emulations, tests, benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub kind: EventKind,
    pub equipment: String,
    pub at: DateTime<Utc>,
    pub full: bool,
    pub bill_of_lading: Option<String>,
    pub vessel: Option<String>,
    pub voyage: Option<String>,
    pub quay: Option<String>,
    pub position: Option<String>,
}

/// Escape a value for the default separators.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '?' | ':' | '+' | '\'') {
            out.push('?');
        }
        out.push(c);
    }
    out
}

/// A COARRI (discharge, load) or CODECO (gate in, gate out) message; `None` for other kinds.
pub fn write_message(reference: &str, document: &str, m: &Move) -> Option<String> {
    let (ty, code) = match m.kind {
        EventKind::Discharge => ("COARRI", "44"),
        EventKind::Load => ("COARRI", "46"),
        EventKind::GateOut => ("CODECO", "34"),
        EventKind::GateIn => ("CODECO", "36"),
        _ => return None,
    };
    let dtm = if ty == "COARRI" { "203" } else { "7" };
    let mut segs = vec![
        format!("UNH+{}+{ty}:D:95B:UN:SMDG20", escape(reference)),
        format!("BGM+{code}+{}+9", escape(document)),
    ];
    if m.vessel.is_some() || m.voyage.is_some() {
        segs.push(format!(
            "TDT+20+{}+1+++++:103::{}",
            escape(m.voyage.as_deref().unwrap_or("")),
            escape(m.vessel.as_deref().unwrap_or(""))
        ));
    }
    segs.push(format!(
        "EQD+CN+{}+45G1:102:5++{}+{}",
        m.equipment,
        if ty == "COARRI" { "3" } else { "2" },
        if m.full { "5" } else { "4" }
    ));
    if let Some(bl) = &m.bill_of_lading {
        segs.push(format!("RFF+BM:{}", escape(bl)));
    }
    segs.push(format!("DTM+{dtm}:{}:203", m.at.format("%Y%m%d%H%M")));
    if let Some(q) = &m.quay {
        segs.push(format!("LOC+165+{}:TER:ZZZ", escape(q)));
    }
    if let Some(p) = &m.position {
        segs.push(format!("LOC+147+{}::5", escape(p)));
    }
    segs.push("CNT+16:1".to_string());
    let count = segs.len() + 1;
    segs.push(format!("UNT+{count}+{}", escape(reference)));
    let mut out = segs.join("'\n");
    out.push_str("'\n");
    Some(out)
}

/// An interchange (UNA, UNB..UNZ) around messages written by [`write_message`].
pub fn write_interchange(sender: &str, control: &str, messages: &[String]) -> String {
    let mut out = format!(
        "UNA:+.? '\nUNB+UNOA:2+{}+DOCKFLOW+{}+{}'\n",
        escape(sender),
        Utc::now().format("%y%m%d:%H%M"),
        escape(control)
    );
    for m in messages {
        out.push_str(m);
    }
    out.push_str(&format!("UNZ+{}+{}'\n", messages.len(), escape(control)));
    out
}

#[cfg(test)]
mod tests;
