//! Public reference ids minted from a number: the world numbers its calls (0, 1, 2, ...) and
//! each number becomes a GUID that looks random (version 4, like NxtPort's) and turns back into
//! its number without an index.
//!
//! Why: a world of a million stays holds eight million calls; keeping each call's 16-byte GUID
//! and a hash index from GUID to call cost about 270 bytes per stay, a tenth of the world. A
//! call now keeps its 32-bit number and a query finds it through a dense table by number.
//!
//! How: a 4-round Feistel network (a keyed permutation) over 122 bits, the bits a version-4
//! GUID leaves free. The plaintext is the world's 61-bit tag and the 61-bit number; decoding a
//! GUID that this world did not mint gives another tag (a chance of 2^-61 of a false match), so
//! it is "unknown", exactly as a random GUID was before. The keys and the tag are random per
//! world: ids of one world mean nothing to another. This is not encryption against an attacker
//! (ids were never secret; access is checked by party), only a bijection that looks random.

use crate::ids::PublicReferenceId;

const HALF: u32 = 61;
const MASK: u64 = (1 << HALF) - 1;

/// The keyed bijection between a world's call numbers and their GUIDs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mint {
    keys: [u64; 4],
    tag: u64,
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

impl Mint {
    /// Keys and tag from the system's random source (through `uuid`'s v4).
    pub(crate) fn random() -> Self {
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        let (c, d) = uuid::Uuid::new_v4().as_u64_pair();
        let (e, _) = uuid::Uuid::new_v4().as_u64_pair();
        Mint {
            keys: [a, b, c, d],
            tag: e & MASK,
        }
    }

    /// The GUID of call number `n` (`n` below 2^61: a world makes far fewer calls).
    pub(crate) fn encode(&self, n: u64) -> PublicReferenceId {
        let (mut l, mut r) = (self.tag, n & MASK);
        for k in self.keys {
            (l, r) = (r, l ^ round(k, r));
        }
        let v = (u128::from(l) << HALF) | u128::from(r);
        // 48 bits, the version nibble (4), 12 bits, the variant (0b10), 62 bits.
        let u = ((v >> 74) << 80) | (0x4 << 76) | (((v >> 62) & 0xfff) << 64) | (0b10 << 62) | {
            v & ((1 << 62) - 1)
        };
        PublicReferenceId(uuid::Uuid::from_u128(u))
    }

    /// The call number of a GUID this mint made, or `None`.
    pub(crate) fn decode(&self, id: PublicReferenceId) -> Option<u64> {
        let u = id.0.as_u128();
        if (u >> 76) & 0xf != 0x4 || (u >> 62) & 0b11 != 0b10 {
            return None;
        }
        let v = ((u >> 80) << 74) | (((u >> 64) & 0xfff) << 62) | (u & ((1 << 62) - 1));
        // Truncation intended: each half is 61 bits.
        let (mut l, mut r) = ((v >> HALF) as u64 & MASK, v as u64 & MASK);
        for k in self.keys.iter().rev() {
            (l, r) = (r ^ round(*k, l), l);
        }
        (l == self.tag).then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_as_version_4_guids_and_other_ids_are_unknown() {
        let mint = Mint::random();
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
        let other = Mint::random();
        assert_eq!(mint.decode(other.encode(7)), None);
        for _ in 0..1000 {
            assert_eq!(mint.decode(PublicReferenceId::new()), None);
        }
    }
}
