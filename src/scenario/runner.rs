//! The runner: load files, filter, run scenarios in parallel (one world each), collect results.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::coverage::Coverage;
use super::exec::{run_scenario, Client, Failure};
use super::load::{discover, load_file, Loaded};

/// Where scenarios run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start the simulator in this process on 127.0.0.1:0 for the run.
    Embedded,
    /// A running simulator (base URL).
    Url(String),
}

/// How progress is shown while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    Auto,
    Bar,
    Lines,
    Silent,
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    /// Keep scenarios whose name contains one of these (case-insensitive) or that carry one as a tag.
    pub filters: Vec<String>,
    pub target: Target,
    /// Run the selection this many times (benchmarks, isolation tests).
    pub repeat: usize,
    pub progress: Progress,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            paths: vec![PathBuf::from("scenarios")],
            jobs: default_jobs(),
            filters: Vec::new(),
            target: Target::Embedded,
            repeat: 1,
            progress: Progress::Auto,
        }
    }
}

/// Number of cores, the default `--jobs`.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read scenarios: {0}")]
    Discover(#[from] std::io::Error),
    #[error("no scenario matched (paths: {paths}; filters: {filters})")]
    Empty { paths: String, filters: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot start the embedded simulator: {0}")]
    Embedded(String),
}

/// Result of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// Failed as its `expected_failure` said: counts as passed.
    FailedAsExpected,
    Failed,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Position in the run (stable across runs of the same selection).
    pub id: usize,
    pub name: String,
    pub file: String,
    pub tags: Vec<String>,
    pub status: Status,
    #[serde(rename = "durationMs", serialize_with = "millis")]
    pub duration: Duration,
    pub steps_run: usize,
    /// The failure (also kept for scenarios that failed as expected).
    pub failure: Option<Failure>,
    pub expected_failure: Option<String>,
    /// The world the scenario ran in.
    pub world: Option<String>,
    #[serde(skip)]
    pub coverage: Coverage,
}

impl ScenarioResult {
    pub fn passed(&self) -> bool {
        self.status != Status::Failed
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub results: Vec<ScenarioResult>,
    pub wall: Duration,
}

impl RunReport {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// `N passed, N failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// Coverage of the whole run.
    pub fn coverage(&self) -> Coverage {
        let mut c = Coverage::default();
        for r in &self.results {
            c.merge(&r.coverage);
        }
        c
    }
}

fn selected(loaded: &Loaded, file: &str, filters: &[String]) -> bool {
    if filters.is_empty() {
        return true;
    }
    filters.iter().any(|f| {
        let f_lower = f.to_lowercase();
        let tag = f.strip_prefix("tag:");
        match loaded {
            Loaded::Ok(s) => {
                let by_tag = s.tags.iter().any(|t| Some(t.as_str()) == tag || t == f);
                let by_name = tag.is_none() && s.name.to_lowercase().contains(&f_lower);
                by_tag || by_name
            }
            Loaded::Err { .. } => tag.is_none() && file.to_lowercase().contains(&f_lower),
        }
    })
}

/// Compare a failure with the scenario's expected failure.
fn judge(failure: Option<Failure>, expected: Option<&String>) -> (Status, Option<Failure>) {
    match (failure, expected) {
        (None, None) => (Status::Passed, None),
        (Some(f), None) => (Status::Failed, Some(f)),
        (Some(f), Some(text)) => {
            let full = f.to_string();
            if full.contains(text.as_str()) {
                (Status::FailedAsExpected, Some(f))
            } else {
                let message = format!(
                    "expected the failure to mention `{text}`, but it failed with:\n{full}"
                );
                (
                    Status::Failed,
                    Some(Failure {
                        step: f.step.clone(),
                        description: f.description.clone(),
                        location: f.location.clone(),
                        message,
                        diff: None,
                    }),
                )
            }
        }
        (None, Some(text)) => (
            Status::Failed,
            Some(Failure {
                step: None,
                description: None,
                location: None,
                message: format!("expected this scenario to fail with `{text}`, but it passed"),
                diff: None,
            }),
        ),
    }
}

async fn run_one(
    id: usize,
    loaded: Arc<Loaded>,
    file: String,
    client: Arc<Client>,
) -> ScenarioResult {
    let started = Instant::now();
    match &*loaded {
        Loaded::Err {
            error,
            expected_failure,
        } => {
            let failure = Failure {
                step: None,
                description: Some("load".to_owned()),
                location: None,
                message: error.to_string(),
                diff: None,
            };
            let (status, failure) = judge(Some(failure), expected_failure.as_ref());
            ScenarioResult {
                id,
                name: file.clone(),
                file,
                tags: Vec::new(),
                status,
                duration: started.elapsed(),
                steps_run: 0,
                failure,
                expected_failure: expected_failure.clone(),
                world: None,
                coverage: Coverage::default(),
            }
        }
        Loaded::Ok(scenario) => {
            let outcome = run_scenario(&client, scenario).await;
            let (status, failure) = judge(outcome.result.err(), scenario.expected_failure.as_ref());
            ScenarioResult {
                id,
                name: scenario.name.clone(),
                file: scenario.file.clone(),
                tags: scenario.tags.clone(),
                status,
                duration: started.elapsed(),
                steps_run: outcome.steps_run,
                failure,
                expected_failure: scenario.expected_failure.clone(),
                world: outcome.world,
                coverage: outcome.coverage,
            }
        }
    }
}

/// Load the selection (paths + filters) without running it.
pub fn load_selection(opts: &RunOptions) -> Result<Vec<(String, Arc<Loaded>)>, RunError> {
    let files = discover(&opts.paths)?;
    let selection: Vec<(String, Arc<Loaded>)> = files
        .iter()
        .map(|f| (f.display().to_string(), Arc::new(load_file(f))))
        .filter(|(file, loaded)| selected(loaded, file, &opts.filters))
        .collect();
    if selection.is_empty() {
        return Err(RunError::Empty {
            paths: opts
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            filters: if opts.filters.is_empty() {
                "none".to_owned()
            } else {
                opts.filters.join(", ")
            },
        });
    }
    Ok(selection)
}

/// Run the selection against a simulator at `base_url`.
pub async fn run_against(opts: &RunOptions, base_url: &str) -> Result<RunReport, RunError> {
    let selection = load_selection(opts)?;
    let client = Arc::new(Client::new(base_url)?);
    let started = Instant::now();
    let total = selection.len() * opts.repeat.max(1);
    let progress = match opts.progress {
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
        Progress::Auto => Progress::Lines,
        other => other,
    };
    let bar = (progress == Progress::Bar).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut id = 0;
    for _ in 0..opts.repeat.max(1) {
        for (file, loaded) in &selection {
            let (file, loaded, client, semaphore) = (
                file.clone(),
                loaded.clone(),
                client.clone(),
                semaphore.clone(),
            );
            let this = id;
            id += 1;
            set.spawn(async move {
                let _permit = semaphore.acquire_owned().await.ok();
                run_one(this, loaded, file, client).await
            });
        }
    }
    let mut results = Vec::with_capacity(total);
    let mut failed = 0usize;
    while let Some(joined) = set.join_next().await {
        let result = match joined {
            Ok(r) => r,
            Err(e) => ScenarioResult {
                id: usize::MAX,
                name: "runner task".to_owned(),
                file: String::new(),
                tags: Vec::new(),
                status: Status::Failed,
                duration: Duration::ZERO,
                steps_run: 0,
                failure: Some(Failure {
                    step: None,
                    description: None,
                    location: None,
                    message: format!("the scenario task crashed: {e}"),
                    diff: None,
                }),
                expected_failure: None,
                world: None,
                coverage: Coverage::default(),
            },
        };
        if !result.passed() {
            failed += 1;
        }
        match (&bar, progress) {
            (Some(bar), _) => {
                bar.inc(1);
                bar.set_message(format!("{failed} failed"));
                if !result.passed() {
                    bar.println(format!("FAIL {} ({})", result.name, result.file));
                }
            }
            (None, Progress::Lines) => {
                let word = match result.status {
                    Status::Passed => "ok  ",
                    Status::FailedAsExpected => "ok  ",
                    Status::Failed => "FAIL",
                };
                println!(
                    "{word} {} ({} ms)",
                    result.name,
                    result.duration.as_millis()
                );
            }
            _ => {}
        }
        results.push(result);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results.sort_by_key(|r| r.id);
    Ok(RunReport {
        results,
        wall: started.elapsed(),
    })
}

/// Run the selection on the target the options name (starting the embedded simulator if asked).
pub async fn run(opts: &RunOptions) -> Result<RunReport, RunError> {
    match &opts.target {
        Target::Url(url) => run_against(opts, url).await,
        Target::Embedded => {
            let embedded = super::embedded::Embedded::start().await?;
            let report = run_against(opts, &embedded.base_url()).await;
            embedded.stop().await;
            report
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(msg: &str) -> Failure {
        Failure {
            step: Some("2".into()),
            description: Some("psa: discharge".into()),
            location: Some("f.yaml:7".into()),
            message: msg.into(),
            diff: None,
        }
    }

    #[test]
    fn expected_failures_are_judged() {
        assert_eq!(judge(None, None).0, Status::Passed);
        assert_eq!(judge(Some(failure("x")), None).0, Status::Failed);
        let want = "expected status 200".to_owned();
        assert_eq!(
            judge(Some(failure("expected status 200, got 202")), Some(&want)).0,
            Status::FailedAsExpected
        );
        let (status, f) = judge(Some(failure("other")), Some(&want));
        assert_eq!(status, Status::Failed);
        assert!(f
            .unwrap()
            .message
            .contains("expected the failure to mention"));
        let (status, f) = judge(None, Some(&want));
        assert_eq!(status, Status::Failed);
        assert!(f.unwrap().message.contains("but it passed"));
    }
}
