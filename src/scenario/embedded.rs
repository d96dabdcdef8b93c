//! The simulator started inside the runner's process (the default target): one server on
//! 127.0.0.1 and an ephemeral port for the whole run, one world per scenario in it.

use super::runner::RunError;
use crate::simulate::{Application, SimConfig};

/// A simulator running in this process.
pub struct Embedded {
    base_url: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Embedded {
    /// Start the simulator (default configuration: NxtPort's 500 calls/min, 168 h retention,
    /// 14-day archive) on 127.0.0.1:0.
    pub async fn start() -> Result<Self, RunError> {
        Self::start_with(SimConfig::default()).await
    }

    /// Start the simulator with a given configuration on 127.0.0.1:0.
    pub async fn start_with(config: SimConfig) -> Result<Self, RunError> {
        let app = Application::build(config, "127.0.0.1:0")
            .await
            .map_err(|e| RunError::Embedded(format!("{e:#}")))?;
        let base_url = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        Ok(Embedded { base_url, server })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stop serving.
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
    }
}
