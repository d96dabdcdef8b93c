//! The simulator started inside the runner's process (the default target).

use super::runner::RunError;

/// A simulator running in this process on 127.0.0.1 and an ephemeral port.
pub struct Embedded {
    base_url: String,
}

impl Embedded {
    /// Start the simulator on 127.0.0.1:0.
    pub async fn start() -> Result<Self, RunError> {
        Err(RunError::Embedded(
            "the simulator is not built into this binary yet; use --target URL".to_owned(),
        ))
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stop the simulator.
    pub async fn stop(self) {}
}
