//! Ids minted from numbers: a world turns a pair of 61-bit numbers into a GUID that looks random
//! (version 4, like NxtPort's) and turns the GUID back into its numbers without an index.
//!
//! Two kinds of ids are minted this way:
//! - public reference ids ([`ReferenceMint`]): the world numbers its calls (0, 1, 2, ...); the
//!   pair is the world's 61-bit tag and the call number. Why: a world of a million stays holds
//!   eight million calls; keeping each call's 16-byte GUID and a hash index from GUID to call
//!   cost about 270 bytes per stay, a tenth of the world. A call keeps its 32-bit number and a
//!   query finds it through a dense table by number.
//! - release ids ([`ReleaseMint`]): the pair is the packed key of the right's stay (port and
//!   container, [`crate::stay::pack_key`]) and a number the world never gives twice. The id
//!   names its stay, so the world finds a right without a map from release id to stay (about
//!   70 bytes per stay at a million stays).
//!
//! How: a 4-round Feistel network (a keyed permutation) over 122 bits, the bits a version-4
//! GUID leaves free; the halves are the two 61-bit numbers. The keys are random per world: ids
//! of one world mean nothing to another. A GUID this world did not mint decodes to some pair;
//! the tag (public reference ids, a chance of 2^-61 of a false match) or the right found under
//! the stay key having exactly this id (release ids) makes it "unknown", exactly as a random
//! GUID was before. This is not encryption against an attacker (ids were never secret; access
//! is checked by party), only a bijection that looks random.

use crate::ids::{PublicReferenceId, ReleaseId};
use crate::stay::{pack_key, unpack_key, StayKey};

const HALF: u32 = 61;
/// The largest number a half holds (every half is masked to it).
pub(crate) const MASK: u64 = (1 << HALF) - 1;

/// The keyed bijection between pairs of 61-bit numbers and version-4 GUIDs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mint {
    keys: [u64; 4],
}

impl Default for Mint {
    fn default() -> Self {
        Mint::random()
    }
}

/// A round function: the half mixed with the round key (SplitMix64's finaliser).
fn round(key: u64, half: u64) -> u64 {
    let mut z = half ^ key;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & MASK
}

/// A random 64-bit number from the system's random source (through `uuid`'s v4).
fn random_u64() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

impl Mint {
    /// Keys from the system's random source.
    pub(crate) fn random() -> Self {
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        let (c, d) = uuid::Uuid::new_v4().as_u64_pair();
        Mint { keys: [a, b, c, d] }
    }

    /// The GUID of the pair (`hi`, `lo`), each taken below 2^61 (higher bits are dropped).
    pub(crate) fn encode(&self, hi: u64, lo: u64) -> uuid::Uuid {
        let (mut l, mut r) = (hi & MASK, lo & MASK);
        for k in self.keys {
            (l, r) = (r, l ^ round(k, r));
        }
        let v = (u128::from(l) << HALF) | u128::from(r);
        // 48 bits, the version nibble (4), 12 bits, the variant (0b10), 62 bits.
        let u = ((v >> 74) << 80) | (0x4 << 76) | (((v >> 62) & 0xfff) << 64) | (0b10 << 62) | {
            v & ((1 << 62) - 1)
        };
        uuid::Uuid::from_u128(u)
    }

    /// The pair a GUID encodes, or `None` when it is not a version-4 GUID of the RFC 4122
    /// variant. Every such GUID decodes to some pair: the caller checks that it is one it gave.
    pub(crate) fn decode(&self, id: uuid::Uuid) -> Option<(u64, u64)> {
        let u = id.as_u128();
        if (u >> 76) & 0xf != 0x4 || (u >> 62) & 0b11 != 0b10 {
            return None;
        }
        let v = ((u >> 80) << 74) | (((u >> 64) & 0xfff) << 62) | (u & ((1 << 62) - 1));
        // Truncation intended: each half is 61 bits.
        let (mut l, mut r) = ((v >> HALF) as u64 & MASK, v as u64 & MASK);
        for k in self.keys.iter().rev() {
            (l, r) = (r ^ round(*k, l), l);
        }
        Some((l, r))
    }
}

/// Public reference ids: the GUID of the pair (the world's random tag, the call number).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReferenceMint {
    mint: Mint,
    tag: u64,
}

impl Default for ReferenceMint {
    fn default() -> Self {
        ReferenceMint::random()
    }
}

impl ReferenceMint {
    /// Keys and tag from the system's random source.
    pub(crate) fn random() -> Self {
        ReferenceMint {
            mint: Mint::random(),
            tag: random_u64() & MASK,
        }
    }

    /// The GUID of call number `n` (`n` below 2^61: a world makes far fewer calls).
    pub(crate) fn encode(&self, n: u64) -> PublicReferenceId {
        PublicReferenceId(self.mint.encode(self.tag, n))
    }

    /// The call number of a GUID this mint made, or `None`.
    pub(crate) fn decode(&self, id: PublicReferenceId) -> Option<u64> {
        self.mint
            .decode(id.0)
            .and_then(|(tag, n)| (tag == self.tag).then_some(n))
    }
}

/// Release ids: the GUID of the pair (the packed key of the right's stay, the right's number).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReleaseMint {
    mint: Mint,
}

impl ReleaseMint {
    /// The id of the right numbered `number` (below 2^61, never given twice by the world) of
    /// the stay `key`.
    pub(crate) fn encode(&self, key: StayKey, number: u64) -> ReleaseId {
        ReleaseId(self.mint.encode(pack_key(key), number))
    }

    /// The stay key and number an id names, if it names a stay key at all. An id this mint did
    /// not make may still name one (by chance, or another world's id of the same container):
    /// the caller compares the id with the rights it finds there.
    pub(crate) fn decode(&self, id: ReleaseId) -> Option<(StayKey, u64)> {
        let (hi, number) = self.mint.decode(id.0)?;
        Some((unpack_key(hi)?, number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EquipmentNumber, UnLocode};

    #[test]
    fn numbers_round_trip_as_version_4_guids_and_other_ids_are_unknown() {
        let mint = ReferenceMint::random();
        for n in [0, 1, 2, 41, 1 << 32, MASK] {
            let id = mint.encode(n);
            assert_eq!(id.0.get_version_num(), 4, "{id}");
            assert_eq!(id.0.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(mint.decode(id), Some(n), "{id}");
        }
        // Neighbouring numbers give unrelated ids.
        let (a, b) = (mint.encode(7).0.as_u128(), mint.encode(8).0.as_u128());
        assert!((a ^ b).count_ones() > 20, "{a:x} {b:x}");
        // Another world's ids and random GUIDs are not this world's.
        let other = ReferenceMint::random();
        assert_eq!(mint.decode(other.encode(7)), None);
        for _ in 0..1000 {
            assert_eq!(mint.decode(PublicReferenceId::new()), None);
        }
    }

    #[test]
    fn pairs_round_trip_and_only_version_4_guids_decode() {
        let mint = Mint::random();
        for (hi, lo) in [(0, 0), (1, 0), (0, 1), (MASK, MASK), (12_345, 1 << 40)] {
            let u = mint.encode(hi, lo);
            assert_eq!(u.get_version_num(), 4, "{u}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{u}");
            assert_eq!(mint.decode(u), Some((hi, lo)), "{u}");
        }
        // Bits above the 61 of a half are dropped.
        assert_eq!(mint.decode(mint.encode(u64::MAX, 3)), Some((MASK, 3)));
        assert_eq!(mint.decode(uuid::Uuid::nil()), None);
        assert_eq!(mint.decode(uuid::Uuid::max()), None);
        // A version-1-looking GUID.
        let v1 = uuid::Uuid::from_u128(mint.encode(5, 5).as_u128() & !(0xf << 76) | (0x1 << 76));
        assert_eq!(mint.decode(v1), None);
    }

    #[test]
    fn release_ids_name_their_stay_and_number() {
        let mint = ReleaseMint::default();
        let antwerp = UnLocode::antwerp();
        let rotterdam = UnLocode::parse("NLRTM").unwrap();
        let a = EquipmentNumber::parse("MSCU1234566").unwrap();
        let b = EquipmentNumber::from_serial("ZZZU", 999_999).unwrap();
        let mut seen = std::collections::HashSet::new();
        for key in [(antwerp, a), (antwerp, b), (rotterdam, a)] {
            for n in [1, 2, MASK] {
                let id = mint.encode(key, n);
                assert_eq!(id.0.get_version_num(), 4, "{id}");
                assert_eq!(mint.decode(id), Some((key, n)), "{id}");
                assert!(seen.insert(id), "{id} twice");
            }
        }
        // Another world's mint names other (or no) stays for the same container.
        let other = ReleaseMint::default();
        assert_ne!(
            other.decode(mint.encode((antwerp, a), 1)),
            Some(((antwerp, a), 1))
        );
        // Most random GUIDs name no stay key at all (the packed keys fill about 2^60.3 of 2^61).
        let named = (0..1000)
            .filter(|_| mint.decode(ReleaseId(uuid::Uuid::new_v4())).is_some())
            .count();
        assert!(named < 1000, "{named}");
    }
}
