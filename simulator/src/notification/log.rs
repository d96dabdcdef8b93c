//! The notification log: each change kept once in a compact form, one small entry per receiver,
//! and the indexes the queries read.
//!
//! Memory is what bounds a world of a million stays, so the log keeps three compact queues:
//! - calls ([`Call`], 40 bytes): what the changes of one command share (time, the number of its
//!   public reference id, container, sender) and the link of the container chain;
//! - changes ([`Change`], 40 bytes): type, event and the body kept compact (`body.rs`: party ids
//!   and Alfapass numbers interned as `u32`, the part of a release right that does not change
//!   from one notification to the next shared by the changes that show it, light values as small
//!   indexes), rendered into the contract's body only when read;
//! - entries ([`Entry`], 12 bytes): one per receiver, with the link of the receiver's chain.
//!
//! What few records carry sits in two side queues ordered by position (found by binary search):
//! a change's rare fields (caller's reference, reason, a release id its body does not show) and
//! a call's link to the previous call of its public reference id (most ids have one call).
//!
//! The indexes are chains: every entry links back to its receiver's previous entry, every call
//! to the previous call of its container and of its public reference id; two maps (keyed by
//! `u32`) hold the newest entry of each receiver and call of each container, and a dense table by
//! number the newest call of each public reference id (the log mints the ids from numbers:
//! `mint.rs`). A query walks only the chain it asks for (a container's notifications, a call's, a
//! receiver's), whatever the size of the world.

use super::{
    notified_party, Notification, NotificationEvent, NotificationQuery, NotificationType,
    QueryError, StoredBody,
};
use crate::ids::{
    AlfapassNumber, EquipmentNumber, NxtEntityId, PublicReferenceId, ReleaseId, TerminalCode,
};
use crate::party::Party;
use chrono::{DateTime, Utc};
use cpu_contract::NotifiedParty;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

mod body;
mod records;
use crate::mint::ReferenceMint as Mint;
use body::{Body, RightFixed};
use records::{Packed, Starts, BLOCK};

/// No party (an interned id that is absent).
const NONE: u32 = u32::MAX;

/// Values interned as `u32`, never forgotten: party ids, Alfapass numbers and terminal codes, a
/// set bounded by the parties of the world and the badges and codes their commands name.
#[derive(Debug)]
struct Interner<T> {
    values: Vec<T>,
    index: HashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Interner<T> {
    fn id(&mut self, v: &T) -> u32 {
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        // Four billion distinct parties cannot be named by one world; saturate rather than wrap.
        let i = u32::try_from(self.values.len()).unwrap_or(NONE - 1);
        self.values.push(v.clone());
        self.index.insert(v.clone(), i);
        i
    }

    fn find(&self, v: &T) -> Option<u32> {
        self.index.get(v).copied()
    }

    fn get(&self, i: u32) -> Option<&T> {
        self.values.get(usize::try_from(i).ok()?)
    }
}

/// Fields few changes carry.
#[derive(Debug)]
struct Rare {
    external_reference_id: Option<Arc<str>>,
    release_id: Option<ReleaseId>,
    /// A release right action's `reasonForAction`.
    reason: Option<String>,
}

/// What the changes of one call share (one command emits a few changes in a row): when, who,
/// which public reference id (the low 32 bits of its number) and container, where its
/// receivers' entries start, and the link of the container chain.
#[derive(Debug)]
struct Call {
    stored_on: DateTime<Utc>,
    reference: u32,
    equipment: Packed,
    sender: u32,
    /// The low 32 bits of the sequence number of its first entry (the entries of its changes
    /// follow each other, up to the next call's first).
    first_entry: u32,
    /// How many calls back the previous call of the same container is (0: none). The link of
    /// the public reference id chain, rarely set, is kept apart (`reference_links`).
    prev_equipment: u32,
}

/// What one change told its receivers: a notification without its receiver and without what
/// its call holds.
#[derive(Debug)]
pub(super) struct Change {
    /// The low 32 bits of its call's position.
    call: u32,
    kind: NotificationType,
    event: NotificationEvent,
    /// The change's release id is that of its body's right (else its rare fields hold it, if
    /// any).
    release_of_body: bool,
    /// The log keeps rare fields for this change (see `NotificationLog::rare`).
    has_rare: bool,
    body: Body,
}

/// A stored change with its rare fields, as the log reads it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen<'a> {
    change: &'a Change,
    rare: Option<&'a Rare>,
}

impl std::ops::Deref for Seen<'_> {
    type Target = Change;

    fn deref(&self) -> &Change {
        self.change
    }
}

impl Seen<'_> {
    fn release_id(&self) -> Option<ReleaseId> {
        if self.release_of_body {
            self.body.right().map(|r| r.fixed.release_id)
        } else {
            self.rare.and_then(|r| r.release_id)
        }
    }

    fn external_reference_id(&self) -> Option<&Arc<str>> {
        self.rare.and_then(|r| r.external_reference_id.as_ref())
    }

    fn reason(&self) -> Option<&String> {
        self.rare.and_then(|r| r.reason.as_ref())
    }
}

impl NotificationQuery {
    /// Whether a notification matches; `reference` is the low bits of the number of the
    /// query's public reference id (the caller has turned away ids the world did not mint).
    fn matches(&self, call: &Call, n: &Seen<'_>, reference: Option<u32>) -> bool {
        self.event.is_none_or(|e| e == n.event)
            && self
                .equipment
                .is_none_or(|e| Packed::new(Some(e)) == call.equipment)
            && reference.is_none_or(|r| r == call.reference)
            && self.release_id.is_none_or(|r| Some(r) == n.release_id())
            && self
                .stored_on
                .is_none_or(|d| call.stored_on.date_naive() == d)
            && self.window.is_none_or(|(from, to)| {
                let t = call.stored_on.time();
                t >= from && t <= to
            })
    }
}

/// One receiver's notification: who, and the link of the receiver's chain (how many positions
/// back the receiver's previous entry is; 0: none). Which change it tells is kept apart, in
/// [`Starts`]. The container and public reference id chains link calls, since every receiver
/// of a call's changes shares them.
#[derive(Debug, Clone, Copy)]
struct Entry {
    receiver: u32,
    prev_receiver: u32,
}

/// The low 32 bits of a position: enough to find it among the stored ones, since fewer than
/// 2^32 are ever stored at once (truncation intended).
fn low(n: u64) -> u32 {
    n as u32
}

/// The link from `seq` back to the entry at `prev` (low bits; 0: none).
fn link(seq: u64, prev: Option<u32>) -> u32 {
    prev.map_or(0, |p| low(seq).wrapping_sub(p))
}

/// The key of a container in the index: its number hashed to 32 bits (FNV-1a). Containers that
/// share a key share a chain, and readers keep their own (a world stores a million containers or
/// so: chains are rarely shared, and then by two or three).
fn equipment_key(e: EquipmentNumber) -> u32 {
    e.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// How many calls back a new change looks along its container's chain for a change showing
/// the same fixed part of a right, to share it: a right's notifications follow each other on
/// its container, so a few calls find it; when they do not, the part is kept twice.
const SHARE_LOOKBACK: usize = 16;

/// The notification log of one world.
#[derive(Debug, Default)]
pub struct NotificationLog {
    calls: VecDeque<Call>,
    call_base: u64,
    changes: VecDeque<Change>,
    change_base: u64,
    /// The rare fields of the few changes that have them, by change position (ascending): kept
    /// apart so that every other change is 8 bytes smaller.
    rare: VecDeque<(u64, Rare)>,
    /// The public reference id chain's links (call position, how many calls back) of the few
    /// calls whose id had an earlier call, by call position (ascending).
    reference_links: VecDeque<(u64, u32)>,
    /// Mints the public reference ids from their numbers and back.
    mint: Mint,
    /// The newest call (low bits of its position; `NONE`: none yet) of each public reference
    /// number from `ref_base` on, one slot per number taken.
    refs: VecDeque<u32>,
    ref_base: u64,
    /// The newest call of the few numbers below `ref_base` that got a call after their slot was
    /// pruned (a terminal event that waited longer than the retention for its release).
    late_refs: HashMap<u64, u32>,
    items: VecDeque<Entry>,
    base: u64,
    /// The change of every entry: one block per 64 sequence numbers, from block
    /// `base / BLOCK` on.
    starts: VecDeque<Starts>,
    /// The newest entry (low bits of its position) of each receiver, and the newest call of
    /// each container (by [`equipment_key`]).
    by_receiver: HashMap<u32, u32>,
    by_equipment: HashMap<u32, u32>,
    ids: Interner<NxtEntityId>,
    alfapass: Interner<AlfapassNumber>,
    /// Terminal codes named by registered bodies.
    terminals: Interner<TerminalCode>,
    /// Light values named by light changes.
    values: Vec<&'static str>,
    /// The block of every party of the world, added to bodies on read.
    parties: HashMap<NxtEntityId, NotifiedParty>,
}

impl NotificationLog {
    /// An empty log for a world with these parties.
    pub(crate) fn new(parties: &[Party]) -> Self {
        NotificationLog {
            parties: parties
                .iter()
                .map(|p| {
                    (
                        p.nxt_entity_id.clone(),
                        notified_party(&p.nxt_entity_id, Some(p)),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Number of stored notifications.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    /// The number the next public reference id gets.
    fn next_ref(&self) -> u64 {
        self.ref_base + self.refs.len() as u64
    }

    /// The public reference id the next [`Self::take_reference`] gives (a command that may be
    /// refused names it first and takes it once accepted, so refusals use no number).
    pub(crate) fn next_reference(&self) -> PublicReferenceId {
        self.mint.encode(self.next_ref())
    }

    /// A new public reference id.
    pub(crate) fn take_reference(&mut self) -> PublicReferenceId {
        let id = self.next_reference();
        self.refs.push_back(NONE);
        id
    }

    /// The number of a public reference id this log minted and gave out, if it is one.
    fn number_of(&self, id: PublicReferenceId) -> Option<u64> {
        self.mint.decode(id).filter(|n| *n < self.next_ref())
    }

    /// A public reference number from its low 32 bits (numbers in use are fewer than 2^32
    /// apart).
    fn number_from_low(&self, low_bits: u32) -> u64 {
        let next = self.next_ref();
        next.wrapping_sub(u64::from(low(next).wrapping_sub(low_bits)))
    }

    /// The low 32 bits of the number of a public reference id this log minted (what a stay's
    /// history keeps); `NONE` for another id.
    pub(crate) fn reference_bits(&self, id: PublicReferenceId) -> u32 {
        self.mint.decode(id).map_or(NONE, low)
    }

    /// The public reference id of a number from its low 32 bits.
    pub(crate) fn reference_id(&self, low_bits: u32) -> PublicReferenceId {
        self.mint.encode(self.number_from_low(low_bits))
    }

    /// The newest call of a public reference number.
    fn newest_of_reference(&self, n: u64) -> Option<u32> {
        let slot = match n.checked_sub(self.ref_base) {
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| self.refs.get(i))
                .copied(),
            None => self.late_refs.get(&n).copied(),
        };
        slot.filter(|s| *s != NONE)
    }

    /// Make `call` (low bits) the newest call of number `n`; the previous newest, if any.
    fn set_newest_of_reference(&mut self, n: u64, call: u32) -> Option<u32> {
        let previous = match n.checked_sub(self.ref_base) {
            Some(i) => {
                let slot = usize::try_from(i).ok().and_then(|i| self.refs.get_mut(i));
                slot.map(|s| std::mem::replace(s, call))
            }
            None => self.late_refs.insert(n, call),
        };
        previous.filter(|p| *p != NONE)
    }

    /// The first `Some` that `find` gives for the bodies of the recent changes of a container,
    /// newest first (see [`SHARE_LOOKBACK`]).
    fn recent<T>(&self, e: EquipmentNumber, find: impl Fn(&Body) -> Option<T>) -> Option<T> {
        let newest = self.by_equipment.get(&equipment_key(e))?;
        let mut at = self.call_at(*newest)?;
        for _ in 0..SHARE_LOOKBACK {
            for change in self.call_changes(at).rev() {
                if let Some(found) = self.change(change).and_then(|c| find(&c.body)) {
                    return Some(found);
                }
            }
            let back = self.call(at)?.prev_equipment;
            if back == 0 {
                return None;
            }
            at = at.checked_sub(u64::from(back))?;
        }
        None
    }

    /// The fixed part of a right equal to `fixed` that a recent change of its container already
    /// shows, if any.
    fn shared_fixed(&self, fixed: &RightFixed) -> Option<Arc<RightFixed>> {
        self.recent(fixed.equipment, |b| {
            b.right()
                .filter(|r| *r.fixed == *fixed)
                .map(|r| Arc::clone(&r.fixed))
        })
    }

    /// Store one change for its receivers (in order) and return their notifications.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        receivers: Vec<NxtEntityId>,
        stored_on: DateTime<Utc>,
        sender: Option<&NxtEntityId>,
        public_reference_id: PublicReferenceId,
        external_reference_id: Option<Arc<str>>,
        (kind, event): (NotificationType, NotificationEvent),
        equipment: Option<EquipmentNumber>,
        release_id: Option<ReleaseId>,
        body: StoredBody,
    ) -> Vec<Notification> {
        if receivers.is_empty() {
            return Vec::new();
        }
        let (body, reason) = self.compact(body);
        let release_of_body =
            release_id.is_some() && release_id == body.right().map(|r| r.fixed.release_id);
        let rare = (external_reference_id.is_some()
            || reason.is_some()
            || (release_id.is_some() && !release_of_body))
            .then(|| Rare {
                external_reference_id: external_reference_id.clone(),
                release_id: release_id.filter(|_| !release_of_body),
                reason,
            });
        let sender_id = sender.map_or(NONE, |s| self.ids.id(s));
        // Every id the world records was minted here; one that was not (no caller does that)
        // gets a number of its own rather than sharing a chain.
        let number = match self.number_of(public_reference_id) {
            Some(n) => n,
            None => {
                self.take_reference();
                self.next_ref() - 1
            }
        };
        let call = Call {
            stored_on,
            reference: low(number),
            equipment: Packed::new(equipment),
            sender: sender_id,
            first_entry: low(self.next_seq()),
            prev_equipment: 0,
        };
        let same_call = self.calls.back().is_some_and(|last| {
            (last.stored_on, last.reference, last.equipment, last.sender)
                == (stored_on, low(number), Packed::new(equipment), sender_id)
        });
        if !same_call {
            let at = self.call_base + self.calls.len() as u64;
            let prev_equipment = equipment.map_or(0, |e| {
                link(at, self.by_equipment.insert(equipment_key(e), low(at)))
            });
            let prev_reference = link(at, self.set_newest_of_reference(number, low(at)));
            if prev_reference != 0 {
                self.reference_links.push_back((at, prev_reference));
            }
            self.calls.push_back(Call {
                prev_equipment,
                ..call
            });
        }
        let change = Change {
            call: low(self.call_base + self.calls.len() as u64 - 1),
            kind,
            event,
            release_of_body,
            has_rare: rare.is_some(),
            body,
        };
        let rendered = Arc::new(self.render(Seen {
            change: &change,
            rare: rare.as_ref(),
        }));
        let at = self.change_base + self.changes.len() as u64;
        if let Some(rare) = rare {
            self.rare.push_back((at, rare));
        }
        let mut out = Vec::with_capacity(receivers.len());
        for (i, receiver) in receivers.into_iter().enumerate() {
            let seq = self.next_seq();
            let r = self.ids.id(&receiver);
            let prev_receiver = link(seq, self.by_receiver.insert(r, low(seq)));
            self.mark_change(seq, at, i == 0);
            self.items.push_back(Entry {
                receiver: r,
                prev_receiver,
            });
            out.push(Notification {
                seq,
                stored_on,
                receiver,
                sender: sender.cloned(),
                public_reference_id,
                external_reference_id: external_reference_id.clone(),
                kind,
                event,
                equipment,
                release_id,
                body: Arc::clone(&rendered),
                errors: Vec::new(),
            });
        }
        self.changes.push_back(change);
        out
    }

    /// Note that entry `seq` tells change `change` (`first`: the change's first entry).
    fn mark_change(&mut self, seq: u64, change: u64, first: bool) {
        let i = seq % BLOCK;
        match self.starts.back_mut() {
            Some(block) if i != 0 => {
                if first {
                    block.set(i);
                }
            }
            _ => {
                let mut block = Starts::new(low(change));
                if first {
                    block.set(0);
                }
                self.starts.push_back(block);
            }
        }
    }

    /// The position of the change a stored entry tells.
    fn change_of(&self, seq: u64) -> Option<u64> {
        let block = (seq / BLOCK).checked_sub(self.base / BLOCK)?;
        let b = self.starts.get(usize::try_from(block).ok()?)?;
        let low_bits = b.first_change.wrapping_add(b.begun_by(seq % BLOCK));
        Some(self.change_base + u64::from(low_bits.wrapping_sub(low(self.change_base))))
    }

    /// The position of a stored call from the low 32 bits of it.
    fn call_at(&self, low_bits: u32) -> Option<u64> {
        let at = self.call_base + u64::from(low_bits.wrapping_sub(low(self.call_base)));
        (at < self.call_base + self.calls.len() as u64).then_some(at)
    }

    /// The stored call at a position.
    fn call(&self, at: u64) -> Option<&Call> {
        let i = at.checked_sub(self.call_base)?;
        self.calls.get(usize::try_from(i).ok()?)
    }

    /// The stored change at a position.
    fn change(&self, at: u64) -> Option<&Change> {
        let i = at.checked_sub(self.change_base)?;
        self.changes.get(usize::try_from(i).ok()?)
    }

    /// The sequence number of a stored entry from the low 32 bits of it.
    fn seq_at(&self, low_bits: u32) -> u64 {
        self.base + u64::from(low_bits.wrapping_sub(low(self.base)))
    }

    /// The sequence numbers of a call's entries.
    fn call_seqs(&self, at: u64) -> std::ops::Range<u64> {
        let Some(c) = self.call(at) else {
            return 0..0;
        };
        let first = self.seq_at(c.first_entry);
        let end = self
            .call(at + 1)
            .map_or(self.next_seq(), |n| self.seq_at(n.first_entry));
        first..end.max(first)
    }

    /// The positions of a call's changes (every change has an entry: the first entry of a call
    /// names its first change).
    fn call_changes(&self, at: u64) -> std::ops::Range<u64> {
        let first_change = |at: u64| self.change_of(self.seq_at(self.call(at)?.first_entry));
        let Some(first) = first_change(at) else {
            return 0..0;
        };
        let end = if at + 1 < self.call_base + self.calls.len() as u64 {
            first_change(at + 1).unwrap_or(first)
        } else {
            self.change_base + self.changes.len() as u64
        };
        first..end.max(first)
    }

    fn entry(&self, seq: u64) -> Option<(&Entry, Seen<'_>, &Call)> {
        let e = seq
            .checked_sub(self.base)
            .and_then(|i| self.items.get(usize::try_from(i).ok()?))?;
        let at = self.change_of(seq)?;
        let c = self.change(at)?;
        let rare = if c.has_rare { self.rare_of(at) } else { None };
        let i = c.call.wrapping_sub(low(self.call_base));
        let call = self.calls.get(usize::try_from(i).ok()?)?;
        Some((e, Seen { change: c, rare }, call))
    }

    /// How many calls back the previous call of the public reference id key of the call at a
    /// position is (0: none).
    fn reference_link(&self, at: u64) -> u32 {
        self.reference_links
            .binary_search_by_key(&at, |(p, _)| *p)
            .ok()
            .and_then(|i| self.reference_links.get(i))
            .map_or(0, |(_, back)| *back)
    }

    /// The rare fields of the change at a position, if it has any.
    fn rare_of(&self, at: u64) -> Option<&Rare> {
        let i = self.rare.binary_search_by_key(&at, |(p, _)| *p).ok()?;
        self.rare.get(i).map(|(_, r)| r)
    }

    fn notification(&self, seq: u64, e: &Entry, c: Seen<'_>, call: &Call) -> Option<Notification> {
        Some(Notification {
            seq,
            stored_on: call.stored_on,
            receiver: self.ids.get(e.receiver)?.clone(),
            sender: self.ids.get(call.sender).cloned(),
            public_reference_id: self.reference_id(call.reference),
            external_reference_id: c.external_reference_id().cloned(),
            kind: c.kind,
            event: c.event,
            equipment: call.equipment.get(),
            release_id: c.release_id(),
            body: Arc::new(self.render(c)),
            errors: Vec::new(),
        })
    }

    /// Drop notifications stored before `cutoff`.
    pub(crate) fn prune(&mut self, cutoff: DateTime<Utc>) {
        while self.calls.front().is_some_and(|c| c.stored_on < cutoff) {
            let Some(call) = self.calls.pop_front() else {
                break;
            };
            let at = self.call_base;
            self.call_base += 1;
            while self.reference_links.front().is_some_and(|(p, _)| *p <= at) {
                self.reference_links.pop_front();
            }
            while self.changes.front().is_some_and(|c| c.call == low(at)) {
                self.changes.pop_front();
                let change = self.change_base;
                self.change_base += 1;
                while self.rare.front().is_some_and(|(p, _)| *p <= change) {
                    self.rare.pop_front();
                }
                while !self.items.is_empty() && self.change_of(self.base) == Some(change) {
                    let Some(n) = self.items.pop_front() else {
                        break;
                    };
                    let seq = self.base;
                    self.base += 1;
                    if self.base % BLOCK == 0 {
                        self.starts.pop_front();
                    }
                    // A key whose newest entry goes has no entry left.
                    if self.by_receiver.get(&n.receiver) == Some(&low(seq)) {
                        self.by_receiver.remove(&n.receiver);
                    }
                }
            }
            if let Some(e) = call.equipment.get().map(equipment_key) {
                if self.by_equipment.get(&e) == Some(&low(at)) {
                    self.by_equipment.remove(&e);
                }
            }
            if !self.late_refs.is_empty() {
                let n = self.number_from_low(call.reference);
                if self.late_refs.get(&n) == Some(&low(at)) {
                    self.late_refs.remove(&n);
                }
            }
        }
        // The slots of numbers whose calls are all gone (or that never had one) go too, up to
        // the first number with a call still stored.
        while let Some(&slot) = self.refs.front() {
            if slot != NONE && self.call_at(slot).is_some() {
                break;
            }
            self.refs.pop_front();
            self.ref_base += 1;
        }
    }

    /// The sequence numbers of a receiver's chain from its newest entry back, oldest first.
    fn chain(&self, newest: Option<&u32>) -> Vec<u64> {
        let mut out = Vec::new();
        let mut at = newest.map(|&n| self.base + u64::from(n.wrapping_sub(low(self.base))));
        while let Some(seq) = at {
            let Some((e, ..)) = self.entry(seq) else {
                break;
            };
            out.push(seq);
            at = match e.prev_receiver {
                0 => None,
                back => seq.checked_sub(u64::from(back)),
            };
        }
        out.reverse();
        out
    }

    /// The sequence numbers of the entries of a chain of calls (container or public reference
    /// id) from its newest call back, oldest first, of the calls `keep` keeps.
    fn call_chain(
        &self,
        newest: Option<&u32>,
        prev: impl Fn(u64, &Call) -> u32,
        keep: impl Fn(&Call) -> bool,
    ) -> Vec<u64> {
        let mut calls = Vec::new();
        let mut at = newest.and_then(|&n| self.call_at(n));
        while let Some(pos) = at {
            let Some(c) = self.call(pos) else {
                break;
            };
            if keep(c) {
                calls.push(pos);
            }
            at = match prev(pos, c) {
                0 => None,
                back => pos.checked_sub(u64::from(back)),
            };
        }
        calls
            .iter()
            .rev()
            .flat_map(|&c| self.call_seqs(c))
            .collect()
    }

    /// The notifications of these sequence numbers that match `keep`, rendered, oldest first.
    fn collect(
        &self,
        seqs: &[u64],
        keep: impl Fn(&Entry, &Seen<'_>, &Call) -> bool,
    ) -> Vec<Notification> {
        seqs.iter()
            .filter_map(|&s| self.entry(s).map(|(e, c, call)| (s, e, c, call)))
            .filter(|(_, e, c, call)| keep(e, c, call))
            .filter_map(|(s, e, c, call)| self.notification(s, e, c, call))
            .collect()
    }

    fn of_receiver(&self, receiver: &NxtEntityId) -> Vec<u64> {
        self.ids
            .find(receiver)
            .map_or_else(Vec::new, |r| self.chain(self.by_receiver.get(&r)))
    }

    /// Notifications for `receiver` matching `q`, oldest first.
    pub fn query(
        &self,
        receiver: &NxtEntityId,
        q: &NotificationQuery,
    ) -> Result<Vec<Notification>, QueryError> {
        let me = self.ids.find(receiver);
        let mine = |e: &Entry| Some(e.receiver) == me;
        // An id this world did not mint matches nothing.
        let number = match q.public_reference_id.map(|p| self.number_of(p)) {
            Some(None) => return Err(QueryError::NoneMatch),
            Some(Some(n)) => Some(n),
            None => None,
        };
        let reference = number.map(low);
        let found = if let Some(n) = number {
            let all = self.call_chain(
                self.newest_of_reference(n).as_ref(),
                |pos, _| self.reference_link(pos),
                |c| Some(c.reference) == reference,
            );
            let any_mine = all
                .iter()
                .filter_map(|&s| self.entry(s))
                .any(|(e, ..)| mine(e));
            if !any_mine && !all.is_empty() {
                return Err(QueryError::NotYours);
            }
            self.collect(&all, |e, c, call| mine(e) && q.matches(call, c, reference))
        } else if let Some(e) = q.equipment {
            let all = self.call_chain(
                self.by_equipment.get(&equipment_key(e)),
                |_, c| c.prev_equipment,
                |c| c.equipment == Packed::new(Some(e)),
            );
            self.collect(&all, |e, c, call| mine(e) && q.matches(call, c, reference))
        } else {
            self.collect(&self.of_receiver(receiver), |_, c, call| {
                q.matches(call, c, reference)
            })
        };
        if found.is_empty() {
            Err(QueryError::NoneMatch)
        } else {
            Ok(found)
        }
    }

    /// Every notification of one receiver (control API), oldest first.
    pub fn for_receiver(&self, receiver: &NxtEntityId) -> Vec<Notification> {
        self.collect(&self.of_receiver(receiver), |_, _, _| true)
    }

    /// Every stored notification, oldest first (rendered as it is read).
    pub fn iter(&self) -> impl Iterator<Item = Notification> + '_ {
        (self.base..self.next_seq()).filter_map(|s| {
            self.entry(s)
                .and_then(|(e, c, call)| self.notification(s, e, c, call))
        })
    }
}

#[cfg(test)]
mod tests;
