//! The active stays, found by their key (port, container) or by the id of one of their release
//! rights.
//!
//! A hash table of boxed stays keyed by the key each stay holds (`locode`, `equipment`): a slot
//! is the 8-byte box, not a 24-byte (key, box) pair; at a million stays the table has 2^21
//! slots, 32 MiB less. A release id names its stay ([`ReleaseMint`]), so no map from release id
//! to stay is kept either.

use crate::ids::ReleaseId;
use crate::mint::ReleaseMint;
use crate::stay::{ReleaseRight, Stay, StayKey};
use hashbrown::HashTable;
use std::hash::{BuildHasher, RandomState};

/// The active stays of a world and the mint of their release ids.
#[derive(Debug, Default)]
pub(super) struct Stays {
    /// Boxed: the slots stay small, so growing the table (old and new at once) costs little
    /// at a million stays.
    table: HashTable<Box<Stay>>,
    hasher: RandomState,
    releases: ReleaseMint,
}

fn key_of(stay: &Stay) -> StayKey {
    (stay.locode, stay.equipment)
}

impl Stays {
    fn hash(&self, key: StayKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The stay of `key`.
    pub(super) fn get(&self, key: StayKey) -> Option<&Stay> {
        self.table
            .find(self.hash(key), |s| key_of(s) == key)
            .map(|s| &**s)
    }

    /// The stay of `key`, to change (its key must stay as it is).
    pub(super) fn get_mut(&mut self, key: StayKey) -> Option<&mut Stay> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |s| key_of(s) == key)
            .map(|s| &mut **s)
    }

    /// Whether `key` has a stay.
    pub(super) fn contains(&self, key: StayKey) -> bool {
        self.get(key).is_some()
    }

    /// The stay of `key`, made by `new` (a stay with this key) when there is none.
    pub(super) fn entry_or_insert_with(
        &mut self,
        key: StayKey,
        new: impl FnOnce() -> Stay,
    ) -> &mut Stay {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        self.table
            .entry(hash, |s| key_of(s) == key, |s| hasher.hash_one(key_of(s)))
            .or_insert_with(|| Box::new(new()))
            .into_mut()
    }

    /// Takes the stay of `key` out.
    pub(super) fn remove(&mut self, key: StayKey) -> Option<Box<Stay>> {
        let hash = self.hash(key);
        let entry = self.table.find_entry(hash, |s| key_of(s) == key).ok()?;
        Some(entry.remove().0)
    }

    /// Number of stays.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Every stay, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Stay> {
        self.table.iter().map(|s| &**s)
    }

    /// Room for `additional` more stays.
    pub(super) fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.table
            .reserve(additional, |s| hasher.hash_one(key_of(s)));
    }

    /// The id of a new release right of the stay `key`. `number` is one the world never gives
    /// twice (the sequence number of the right's first expiry timer, far below the 2^61 the
    /// mint keeps): the pair, and so the id, is unique in the world.
    pub(super) fn release_id(&self, key: StayKey, number: u64) -> ReleaseId {
        self.releases.encode(key, number)
    }

    /// The number a release id of this world was minted with ([`Self::release_id`]).
    pub(super) fn release_number(&self, id: ReleaseId) -> Option<u64> {
        self.releases.decode(id).map(|(_, n)| n)
    }

    /// The right with this id and its stay: the id names the stay, and the right is the one
    /// there whose id it is. An id of another world, a random GUID or the id of an archived
    /// stay's right (the stay named is gone, or is the container's next stay, whose rights have
    /// other ids) finds nothing.
    pub(super) fn right(&self, id: ReleaseId) -> Option<(&Stay, &ReleaseRight)> {
        let (key, _) = self.releases.decode(id)?;
        let stay = self.get(key)?;
        let right = stay.release_rights.iter().find(|r| r.release_id == id)?;
        Some((stay, right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EquipmentNumber, UnLocode};

    fn key(i: u32) -> StayKey {
        (
            UnLocode::antwerp(),
            EquipmentNumber::from_serial("TESU", i).unwrap(),
        )
    }

    #[test]
    fn stays_are_found_by_their_own_key() {
        let mut stays = Stays::default();
        stays.reserve(10);
        for i in 0..1000 {
            let k = key(i);
            stays
                .entry_or_insert_with(k, || Stay::new(k.0, k.1))
                .stay_number = Some(i.to_string().into());
        }
        assert_eq!(stays.len(), 1000);
        // An existing stay is returned, not replaced.
        let k = key(7);
        let s = stays.entry_or_insert_with(k, || Stay::new(k.0, k.1));
        assert_eq!(s.stay_number.as_deref(), Some("7"));
        assert_eq!(stays.len(), 1000);
        assert!(stays.contains(key(999)) && !stays.contains(key(1000)));
        stays.get_mut(key(3)).unwrap().stay_number = None;
        assert_eq!(stays.get(key(3)).unwrap().stay_number, None);
        let gone = stays.remove(key(3)).unwrap();
        assert_eq!(key_of(&gone), key(3));
        assert!(stays.get(key(3)).is_none() && stays.remove(key(3)).is_none());
        assert_eq!(stays.len(), 999);
        assert_eq!(stays.values().count(), 999);
        assert!(stays.values().all(|s| stays.get(key_of(s)).is_some()));
    }
}
