use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cpu_gateway::cli::run(cpu_gateway::cli::Cli::parse()).await
}
