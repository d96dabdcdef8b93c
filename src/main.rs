use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A returned error is the user's (a bad flag value, a missing file, an unknown entity): one
/// line with its cause chain and exit code 1, whatever `RUST_BACKTRACE` says. A bug panics, and
/// a panic still prints its backtrace when asked to.
#[actix_web::main]
async fn main() -> ExitCode {
    match cpu_gateway::cli::run(cpu_gateway::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
