//! The log's compact encodings: a call's container in 5 bytes, and which change each
//! receiver entry tells in 12 bytes per 64 entries.

use super::low;
use crate::ids::EquipmentNumber;

/// A container number packed in 5 bytes instead of the 12 of an `Option<EquipmentNumber>`
/// (the low 32 and the high 4 of its 36 bits; `high` `NO_EQUIPMENT`: none): a call is 36 bytes
/// instead of 40.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Packed {
    low: u32,
    high: u8,
}

impl Packed {
    const NO_EQUIPMENT: u8 = u8::MAX;

    pub(super) fn new(e: Option<EquipmentNumber>) -> Self {
        e.map_or(
            Packed {
                low: 0,
                high: Self::NO_EQUIPMENT,
            },
            |e| {
                let v = e.packed();
                Packed {
                    low: low(v),
                    // Below 2^36: the high bits fit (truncation intended).
                    high: (v >> 32) as u8,
                }
            },
        )
    }

    pub(super) fn get(self) -> Option<EquipmentNumber> {
        if self.high == Self::NO_EQUIPMENT {
            return None;
        }
        EquipmentNumber::from_packed(u64::from(self.high) << 32 | u64::from(self.low))
    }
}

/// Entries per [`Starts`] block.
pub(super) const BLOCK: u64 = 64;

/// Which change each entry tells, in 12 bytes per 64 entries instead of 4 bytes per entry (a
/// million stays keep 26 million entries). The entries of a change follow each other and
/// every change has one at least, so a bit per entry ("the first of its change") and, per
/// block of 64 entries, the change of the block's first entry give any entry's change: that
/// one plus the starts before the entry in its block (a rank, one `count_ones`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Starts {
    /// The low 32 bits of the position of the change of the block's first entry.
    pub(super) first_change: u32,
    /// Bit `i`: entry `i` of the block is the first of its change (kept as two halves, so a
    /// block is 12 bytes).
    bits: [u32; 2],
}

impl Starts {
    /// A block whose first entry tells the change at `first_change` (low bits), no start set.
    pub(super) fn new(first_change: u32) -> Self {
        Starts {
            first_change,
            bits: [0; 2],
        }
    }

    fn bits(&self) -> u64 {
        u64::from(self.bits[1]) << 32 | u64::from(self.bits[0])
    }

    /// Changes begun after the block's first entry, up to entry `i` of the block.
    pub(super) fn begun_by(&self, i: u64) -> u32 {
        let upto = u64::MAX >> (BLOCK - 1 - i.min(BLOCK - 1));
        (self.bits() & upto & !1).count_ones()
    }

    pub(super) fn set(&mut self, i: u64) {
        let bits = self.bits() | 1 << i.min(BLOCK - 1);
        self.bits = [low(bits), low(bits >> 32)];
    }
}
