//! The scenario runner, end to end: the whole library through the runner (embedded simulator),
//! the failure output and reports pinned by snapshots, and isolation under `--jobs 8`.

use std::path::PathBuf;

use cpu_gateway::scenario::{report, run, Progress, RunOptions, RunReport, Status, Target};

fn options(paths: &[&str], jobs: usize, repeat: usize) -> RunOptions {
    RunOptions {
        paths: paths.iter().map(PathBuf::from).collect(),
        jobs,
        filters: Vec::new(),
        target: Target::Embedded,
        repeat,
        progress: Progress::Silent,
    }
}

async fn run_ok(opts: RunOptions) -> RunReport {
    match run(&opts).await {
        Ok(report) => report,
        Err(e) => panic!("the run did not start: {e}"),
    }
}

/// Every failure block of a report, for assertion messages.
fn failures(report: &RunReport) -> String {
    report::text(report)
}

/// UUIDs, world ids and timings differ per run.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r#"time="[0-9.]+""#, r#"time="[time]""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z",
            "[datetime]",
        ),
        (r#""(durationMs)": \d+"#, r#""$1": "[ms]""#),
        (r"NXT\d{11}", "[nxt-entity-id]"),
        (r"AP\d{7}", "[alfapass]"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_library_passes_and_every_fail_scenario_fails_with_its_message() {
    let report = run_ok(options(&["scenarios"], 4, 1)).await;
    assert_eq!(report.failed(), 0, "{}", failures(&report));
    let fail_dir: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.file.starts_with("scenarios/fail/"))
        .collect();
    assert!(
        fail_dir.len() >= 10,
        "only {} fail scenarios ran",
        fail_dir.len()
    );
    for r in &fail_dir {
        assert_eq!(r.status, Status::FailedAsExpected, "{}", r.name);
        let text = r
            .failure
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let expected = r.expected_failure.clone().unwrap_or_default();
        assert!(!expected.is_empty(), "{} has no expected failure", r.file);
        assert!(text.contains(&expected), "{}: {text}", r.file);
    }
    let passing = report.results.len() - fail_dir.len();
    assert!(passing >= 45, "only {passing} passing scenarios");
    // Pending scenarios are not part of a folder run.
    assert!(report.results.iter().all(|r| !r.file.contains("/pending/")));
    // The summary line QA reads in CI.
    assert_eq!(
        report.summary(),
        format!("{} passed, 0 failed", report.results.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_output_is_pinned() {
    let report = run_ok(options(&["scenarios/fail"], 4, 1)).await;
    let mut results = report.results.clone();
    results.sort_by(|a, b| a.file.cmp(&b.file));
    let text: String = results
        .iter()
        .map(report::failure_text)
        .collect::<Vec<_>>()
        .join("\n");
    insta::with_settings!({ snapshot_path => "../snapshots", filters => filters() }, {
        insta::assert_snapshot!("scenario_failure_output", text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_and_json_reports_are_pinned() {
    let report = run_ok(options(
        &[
            "scenarios/truck/validation-valid.yaml",
            "scenarios/fail/wrong-status.yaml",
            "scenarios/fail/unknown-key.yaml",
        ],
        1,
        1,
    ))
    .await;
    // Expected failures count as passed; make one real failure by dropping its expectation.
    let mut report = report;
    if let Some(r) = report
        .results
        .iter_mut()
        .find(|r| r.file.ends_with("wrong-status.yaml"))
    {
        r.status = Status::Failed;
    }
    let junit = report::junit(&report).unwrap_or_else(|e| panic!("junit: {e}"));
    let json = serde_json::to_string_pretty(&report::json(&report, true))
        .unwrap_or_else(|e| panic!("json: {e}"));
    insta::with_settings!({ snapshot_path => "../snapshots", filters => filters() }, {
        insta::assert_snapshot!("scenario_junit", junit);
        insta::assert_snapshot!("scenario_json", json);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_name_file_and_line_and_the_run_fails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        "name: typo\nsteps:\n  - as: psa\n    validate_alfapass: { alfapas: \"1\" }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = file.display().to_string();
    let report = run_ok(options(&[path.as_str()], 1, 1)).await;
    assert_eq!(report.summary(), "0 passed, 1 failed");
    let failure = report.results[0]
        .failure
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        failure.contains(&format!("{path}:4:")) && failure.contains("unknown field `alfapas`"),
        "{failure}"
    );
}

/// Two scenarios use the same container number with contradicting expectations: one releases
/// it fully, the other expects it unknown. Run many times at once, each must see only its world.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_do_not_see_each_other_under_jobs_8() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("a-releases.yaml"),
        r#"
name: A releases the shared container
given:
  containers:
    - { equipment: TCLU8000371, stage: released }
steps:
  - expect_container: { equipment: "{{equipment}}", status: RELEASED }
  - expect_notifications: { party: agent, where: { event: Release }, count: 1 }
  - as: psa
    gate_out: { equipment: "{{equipment}}", modeOfTransport: 1 }
  - expect_container: { equipment: "{{equipment}}", lights: { GateOperation: GATEOUTRECEIVED } }
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("b-never-heard-of-it.yaml"),
        r#"
name: B never heard of the shared container
steps:
  - expect_container: { equipment: TCLU8000371, found: false }
  - as: agent
    notifications: { equipmentNumber: TCLU8000371 }
    expect: { status: 405 }
  - as: psa
    discharge: { equipment: TCLU8000371 }
  - expect_container: { equipment: TCLU8000371, status: NOTRELEASED, lights: { CommercialRelease: UNKNOWN } }
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().display().to_string();
    for _ in 0..3 {
        let report = run_ok(options(&[path.as_str()], 8, 20)).await;
        assert_eq!(report.results.len(), 40);
        assert_eq!(report.failed(), 0, "{}", failures(&report));
        let mut worlds: Vec<&str> = report
            .results
            .iter()
            .filter_map(|r| r.world.as_deref())
            .collect();
        worlds.sort_unstable();
        worlds.dedup();
        assert_eq!(worlds.len(), 40, "every scenario ran in a world of its own");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_repeated_with_jobs_8_has_no_cross_talk() {
    let report = run_ok(options(&["scenarios"], 8, 2)).await;
    assert_eq!(report.failed(), 0, "{}", failures(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_by_name_or_tag() {
    let mut opts = options(&["scenarios"], 2, 1);
    opts.filters = vec!["tag:ownership".to_owned()];
    let report = run_ok(opts.clone()).await;
    assert!(report.results.len() >= 8);
    assert!(report
        .results
        .iter()
        .all(|r| r.tags.iter().any(|t| t == "ownership")));
    opts.filters = vec!["Barge import lifecycle".to_owned()];
    let report = run_ok(opts.clone()).await;
    assert_eq!(report.results.len(), 1);
    opts.filters = vec!["no such scenario".to_owned()];
    assert!(run(&opts).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_reports_what_the_library_exercised() {
    let report = run_ok(options(&["scenarios"], 4, 1)).await;
    let coverage = report.coverage().report();
    for status in [
        "RELEASED",
        "BLOCKED",
        "SELECTEDFORSCAN",
        "FAVV",
        "TRANSHIPMENT",
        "PORTEQUALISATION",
        "NOTRELEASED",
    ] {
        assert!(
            coverage.statuses.exercised.iter().any(|s| s == status),
            "status {status} untested"
        );
    }
    for error in [
        "truck-validation 401",
        "truck-validation 429",
        "truck-validation 500",
        "notifications 403",
        "notifications 405",
        "registry 400",
        "registry 405",
        "ownership-validation 500",
    ] {
        assert!(
            coverage.errors.exercised.iter().any(|s| s == error),
            "{error} untested: {}",
            coverage.text()
        );
    }
    assert!(
        coverage.text().contains("overall statuses: 7/7"),
        "{}",
        coverage.text()
    );
}
