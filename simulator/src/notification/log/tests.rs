//! The log's records and their reading back.

use super::*;

/// The sizes the module documentation and the world_scale figures count on.
#[test]
fn records_stay_small() {
    assert!(std::mem::size_of::<Call>() <= 36);
    assert!(std::mem::size_of::<Change>() <= 40);
    assert!(std::mem::size_of::<Entry>() <= 8);
    assert!(std::mem::size_of::<Starts>() <= 12);
}

/// Changes with one to five receivers each, over several blocks of [`Starts`], read back
/// (every entry's change found through the blocks) exactly as they were recorded, before
/// and after the oldest are pruned at every point of a block.
#[test]
fn every_entry_reads_back_its_own_change_across_blocks_and_pruning() {
    use crate::stay::TerminalAction;
    let parties: Vec<NxtEntityId> = (0..5)
        .map(|i| NxtEntityId::parse(&format!("NXT{i}")).expect("id"))
        .collect();
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("time");
    let mut log = NotificationLog::default();
    let mut recorded = Vec::new();
    for i in 0..300u32 {
        let e = EquipmentNumber::from_serial("TSTU", i).expect("serial");
        let at = start + chrono::Duration::seconds(i64::from(i));
        let receivers = parties[..1 + (i as usize * 7) % 5].to_vec();
        let reference = log.take_reference();
        recorded.extend(log.record(
            receivers,
            at,
            Some(&parties[0]),
            reference,
            None,
            (
                NotificationType::TerminalEvent,
                NotificationEvent::ReleaseLightRegistered,
            ),
            Some(e),
            None,
            StoredBody::Registered {
                locode: crate::ids::UnLocode::antwerp(),
                equipment: e,
                terminal_code: TerminalCode::parse(&format!("T{i}")).expect("code"),
                action: TerminalAction::Discharge,
            },
        ));
    }
    assert!(recorded.len() as u64 > 8 * BLOCK, "{}", recorded.len());
    assert_eq!(log.iter().collect::<Vec<_>>(), recorded);
    for cut in [1, 5, 63, 64, 65, 130, 299, 300] {
        log.prune(start + chrono::Duration::seconds(cut));
        let kept: Vec<_> = recorded
            .iter()
            .filter(|n| n.stored_on >= start + chrono::Duration::seconds(cut))
            .cloned()
            .collect();
        assert_eq!(log.iter().collect::<Vec<_>>(), kept, "cut at {cut}");
        // The blocks kept are those of the stored entries (and the block the next entry
        // goes to, once begun).
        let blocks = if log.is_empty() {
            u64::from(log.base % BLOCK != 0)
        } else {
            (log.next_seq() - 1) / BLOCK - log.base / BLOCK + 1
        };
        assert_eq!(log.starts.len() as u64, blocks, "cut at {cut}");
    }
}
