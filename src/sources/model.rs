//! The normalized container event every adapter maps to. It lives in [`crate::terminals::event`],
//! beside the terminal emulations' vocabulary; this module keeps the adapters' paths.

pub use crate::terminals::event::{
    parse_equipment_number, Document, DocumentKind, EventKind, FullEmpty, NormalizedEvent, TimeKind,
};
