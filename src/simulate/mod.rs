//! The HTTP face of the simulator (in progress).

/// Arguments of `cpu-gateway simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CPU_SIM_LISTEN")]
    pub listen: std::net::SocketAddr,
}

/// Run the simulator until stopped.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("simulator not built yet: {}", args.listen)
}
