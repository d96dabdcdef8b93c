//! A granted slot and its settling: the grant counts as in flight until the call's answer came
//! back, then from that instant.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{local, Inner, RedisBudgetStore};
use crate::sliding_window::Ticket;

/// Where a slot's grant lives until it is settled.
pub(super) enum Held {
    /// Nothing to settle (GCRA).
    Nothing,
    /// A held grant of the in-process window.
    Local(Arc<Inner>, Ticket),
    /// A grant in the shared window (store, key id, member).
    Shared(Arc<RedisBudgetStore>, String, String),
}

/// A granted slot (see [`super::Budget::acquire_slot`]). Settle it when the call's answer (or
/// error answer) came back; a slot never settled leaves the window only after its
/// [`super::BudgetConfig::in_flight_hold`] (never earlier than it should).
#[must_use = "settle the slot when the call completed"]
pub struct Slot {
    /// How long the caller waited for it.
    pub waited: Duration,
    pub(super) held: Held,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("waited", &self.waited)
            .field("shared", &matches!(self.held, Held::Shared(..)))
            .finish()
    }
}

impl Slot {
    /// The call completed (an answer was read): the grant now counts from this instant, so it
    /// leaves the window one `window` after the upstream stamped the call at the latest. Does
    /// not wait (in the shared window: one Redis round trip in a task of its own).
    pub fn settle(self) {
        match self.held {
            Held::Nothing => {}
            Held::Local(inner, ticket) => local::settle(&inner, ticket),
            Held::Shared(store, key_id, member) => {
                tokio::spawn(async move { store.settle(&key_id, &member).await });
            }
        }
    }
}
