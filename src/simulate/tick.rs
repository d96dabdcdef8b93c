//! The tick task: on the real clock, timers (release expiry, archive after gate out) fire when
//! they fall due, not only inside the next command. The core stays pure: this task only applies
//! `Command::Tick` to each world whose earliest timer is due, and hands the notifications to
//! webhook delivery, exactly as a command's would be.

use super::state::SimState;
use cpu_simulator::Command;
use std::sync::Arc;
use std::time::Duration;

/// Fire what is due in every world; returns the number of notifications caused.
pub fn tick_all(state: &SimState) -> usize {
    let mut fired = 0;
    for handle in state.all_worlds() {
        let due = {
            let w = handle.read();
            w.next_due().is_some_and(|at| at <= w.now())
        };
        if !due {
            continue;
        }
        let outcome = handle.apply(Command::Tick);
        if let Ok(outcome) = outcome {
            fired += outcome.notifications.len();
            super::webhooks::enqueue(state, &handle, outcome.notifications);
        }
    }
    fired
}

/// Tick every `every` until the process stops (tokio's clock: tests pause and advance it).
pub async fn run(state: Arc<SimState>, every: Duration) {
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let fired = tick_all(&state);
        if fired > 0 {
            tracing::debug!(fired, "timers fired on the real clock");
        }
    }
}
