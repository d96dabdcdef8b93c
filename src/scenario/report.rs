//! Reports: the failure text shown on the terminal, JUnit XML and JSON.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{json, Value};

use super::runner::{RunReport, ScenarioResult, Status};

/// The failure block of one scenario: file, step, what was expected and what came, the diff.
pub fn failure_text(result: &ScenarioResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "FAILED {} ({})", result.name, result.file);
    if let Some(f) = &result.failure {
        let _ = write!(out, "  at {f}");
    }
    out
}

/// Every failure block, then the summary line.
pub fn text(report: &RunReport) -> String {
    let mut out = String::new();
    for r in report.results.iter().filter(|r| !r.passed()) {
        out.push_str(&failure_text(r));
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

/// JUnit XML: one test suite per scenario file folder, one test case per scenario.
pub fn junit(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("cpu-gateway scenarios");
    junit.set_time(report.wall);
    let mut suites: Vec<(String, TestSuite)> = Vec::new();
    for r in &report.results {
        let suite_name = std::path::Path::new(&r.file)
            .parent()
            .map(|p| p.display().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ".".to_owned());
        let status = match (&r.status, &r.failure) {
            (Status::Failed, Some(f)) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(f.message.lines().next().unwrap_or_default().to_owned());
                s.set_description(f.to_string());
                s
            }
            (Status::Failed, None) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(r.file.clone());
        case.set_time(r.duration);
        case.set_assertions(r.steps_run);
        let idx = match suites.iter().position(|(n, _)| *n == suite_name) {
            Some(i) => i,
            None => {
                suites.push((suite_name.clone(), TestSuite::new(suite_name.clone())));
                suites.len() - 1
            }
        };
        suites[idx].1.add_test_case(case);
    }
    junit.add_test_suites(suites.into_iter().map(|(_, s)| s));
    junit.to_string()
}

/// The JSON report; includes coverage when asked.
pub fn json(report: &RunReport, with_coverage: bool) -> Value {
    let mut v = json!({
        "summary": {
            "passed": report.passed(),
            "failed": report.failed(),
            "total": report.results.len(),
            "durationMs": report.wall.as_millis() as u64,
        },
        "scenarios": report.results,
    });
    if with_coverage {
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "coverage".to_owned(),
                serde_json::to_value(report.coverage().report()).unwrap_or(Value::Null),
            );
        }
    }
    v
}
