//! Scenario files and their runner (`cpu-gateway scenario run`).
//!
//! QA describes a CPu situation in YAML (who does what, in which order, what each party must
//! then see) and runs a folder of such files, in parallel, against the embedded simulator or a
//! running one. The format is documented for QA in `scenarios/README.md`.
//!
//! Design constraints:
//! - Scenarios are data: QA adds a file, not Rust. Unknown keys and malformed files are errors
//!   naming the file and line ([`load`]).
//! - Isolation: each scenario creates its own simulator world and uses only that world's
//!   credentials, so parallel scenarios (and repeated container numbers) never interfere ([`exec`]).
//! - One code path: shorthand verbs build the same HTTP requests a terminal operating system
//!   would send ([`verbs`]); `given` stages are expanded into those same verbs.
//! - Failures say where (file, line, step) and what differed, with a diff ([`matcher`]).
//!
//! Modules: [`model`] (the file format), [`load`] (files, includes, errors), [`template`]
//! (`{{vars}}`), [`matcher`] (paths, matchers, diffs), [`verbs`] (requests), [`exec`] (one
//! scenario), [`runner`] (many, in parallel), [`report`] (text, JUnit, JSON), [`coverage`].

pub mod coverage;
pub mod embedded;
pub mod exec;
pub mod load;
pub mod matcher;
pub mod model;
pub mod report;
pub mod runner;
pub mod template;
pub mod verbs;

use std::path::PathBuf;

pub use runner::{run, Progress, RunOptions, RunReport, ScenarioResult, Status, Target};

/// Arguments of `cpu-gateway scenario`.
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

/// Subcommands of `cpu-gateway scenario`.
#[derive(Debug, clap::Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files (files or folders; default `scenarios/`).
    Run(RunArgs),
}

/// Arguments of `cpu-gateway scenario run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or folders (folders are walked; `groups/` and `pending/` are skipped).
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Scenarios run at the same time (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Only scenarios whose name contains this text or that carry this tag (`tag:x` for tags
    /// only); repeat to widen.
    #[arg(long, short = 'f')]
    pub filter: Vec<String>,
    /// Base URL of a running simulator (default: start one in this process).
    #[arg(long, env = "CPU_SCENARIO_TARGET")]
    pub target: Option<String>,
    /// Write a JUnit XML report to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a JSON report to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Print which lights, values, statuses, events and error responses the run exercised.
    #[arg(long)]
    pub coverage: bool,
    /// Run the selection this many times (for benchmarks and isolation checks).
    #[arg(long, default_value_t = 1, hide = true)]
    pub repeat: usize,
    /// Print one line per scenario instead of a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `cpu-gateway scenario ...`: run, print failures and the summary, write reports; an error
/// (non-zero exit) when any scenario failed.
pub async fn cli(args: ScenarioArgs) -> anyhow::Result<()> {
    let ScenarioCommand::Run(args) = args.command;
    let opts = RunOptions {
        paths: args.paths,
        jobs: args.jobs.unwrap_or_else(runner::default_jobs),
        filters: args.filter,
        target: match args.target {
            Some(url) => Target::Url(url),
            None => Target::Embedded,
        },
        repeat: args.repeat,
        progress: if args.no_progress {
            Progress::Lines
        } else {
            Progress::Auto
        },
    };
    // The scenarios get a multi-threaded runtime of their own, whatever runtime called us.
    let handle = std::thread::spawn(move || -> anyhow::Result<RunReport> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(rt.block_on(run(&opts))?)
    });
    let report = tokio::task::spawn_blocking(move || handle.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the scenario runner thread panicked"))??;
    print!("{}", report::text(&report));
    if args.coverage {
        println!("\ncoverage:\n{}", report.coverage().report().text());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&report)?)?;
    }
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&report::json(&report, args.coverage))?,
        )?;
    }
    if report.failed() > 0 {
        // The summary line says it all; exit non-zero without an error trace.
        std::process::exit(1);
    }
    Ok(())
}
