//! The `cpu-gateway` command line: one binary, one subcommand per job.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cpu-gateway",
    version,
    about = "Gateway and offline simulator for NxtPort Certified Pick-up (CPu)"
)]
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
    /// Start the gateway (sim mode with an embedded simulator unless --mode uat|prd).
    Serve(crate::gateway::ServeArgs),
    /// Manage the gateway's API tokens and webhook secrets.
    Token(crate::gateway::TokenArgs),
    /// Maintain the credential vault (master key rotation).
    Vault(crate::gateway::VaultArgs),
    /// The go-live check: configuration, database and each entity's NxtPort connection
    /// (password grant, subscription key, ingestion id, terminal code), with what to fix.
    Check(crate::gateway::check::CheckArgs),
}

/// Run the parsed command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Scenario runs and the go-live check keep the terminal for their own output unless
    // RUST_LOG asks for logs.
    if !matches!(cli.command, Command::Scenario(_) | Command::Check(_))
        || std::env::var_os("RUST_LOG").is_some()
    {
        crate::telemetry::init(cli.log_json);
    }
    match cli.command {
        Command::Simulate(args) => crate::simulate::run(args).await,
        Command::Scenario(args) => crate::scenario::cli(args).await,
        Command::Serve(args) => crate::gateway::serve(args).await,
        Command::Token(args) => crate::gateway::token(args).await,
        Command::Vault(args) => crate::gateway::vault(args).await,
        Command::Check(args) => crate::gateway::check::run(args).await,
    }
}
