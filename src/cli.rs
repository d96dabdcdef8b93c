//! The `cpu-gateway` command line: one binary, one subcommand per job.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cpu-gateway", version, about = "Gateway and offline simulator for NxtPort Certified Pick-up (CPu)")]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true, env = "CPU_GATEWAY_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the offline CPu simulator (NxtPort-compatible API + /simulator/v1 control API).
    Simulate(crate::simulate::SimulateArgs),
    /// Run QA scenario files against the simulator.
    Scenario(crate::scenario::ScenarioArgs),
}

/// Run the parsed command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::telemetry::init(cli.log_json);
    match cli.command {
        Command::Simulate(args) => crate::simulate::run(args).await,
        Command::Scenario(args) => crate::scenario::cli(args).await,
    }
}
