use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cpu_gateway::cli::run(cpu_gateway::cli::Cli::parse()).await
}
