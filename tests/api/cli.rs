//! The command line as a user meets it: one-line user errors, `serve --help`, and the go-live
//! check (`cpu-gateway check`) with good and broken NxtPort credentials.

use super::gateway::{connection_body, Db, Gw};
use super::sim_helpers::Sim;
use cpu_gateway::gateway::check::{check, CheckArgs, Status};
use cpu_gateway::gateway::StoreArgs;
use cpu_gateway::store::Role;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;
use std::process::{Command, Stdio};

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpu-gateway"));
    cmd.env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn a_user_error_is_one_line_without_a_backtrace_even_with_rust_backtrace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    let out = binary()
        .env("RUST_BACKTRACE", "full")
        .args(["token", "list", "--entity", "nosuch", "--database-url", &db])
        .output()
        .expect("run cpu-gateway");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains("nosuch"), "names the entity: {stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}

#[test]
fn serve_help_points_to_the_example_configuration() {
    let out = binary()
        .args(["serve", "--help"])
        .output()
        .expect("run cpu-gateway");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("docs/cpu-gateway.example.toml"), "{help}");
    assert!(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/cpu-gateway.example.toml")
            .exists(),
        "the file the help names is in the repository"
    );
}

/// `cpu-gateway check` on a fresh folder in sim mode: connects the demo entity to a simulator
/// of its own and passes.
#[test]
fn check_passes_out_of_the_box_in_sim_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = binary()
        .current_dir(dir.path())
        .env("CPU_GATEWAY_SIMULATOR_LISTEN", "127.0.0.1:0")
        .args(["check"])
        .output()
        .expect("run cpu-gateway check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for line in [
        "[ok]   entity 'demo' password grant",
        "[ok]   entity 'demo' subscription key",
        "[ok]   entity 'demo' ingestion id",
        "failed: ready.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Against a simulator in the UAT code path: a good connection passes every probe; each broken
/// credential fails its own probe with what to fix, and the exit status says so.
#[tokio::test]
async fn check_names_each_broken_credential_and_what_to_fix() {
    let sim = Sim::start().await;
    let Some(gw) = Gw::start(&sim, Db::Sqlite, |_| {}).await else {
        return;
    };
    let broken = [
        ("good", json!({})),
        ("badpass", json!({"password": "wrong"})),
        ("badkey", json!({"apiKey": "wrong-key"})),
        (
            "badingest",
            json!({"ingestionId": "00000000-0000-0000-0000-000000000001"}),
        ),
    ];
    for (name, change) in &broken {
        let (_, token) = gw.token(name, Role::Editor).await;
        let body = super::sim_helpers::merge(connection_body(&sim, "psa"), change.clone());
        let (status, answer) = Gw::send(
            gw.req(Method::PUT, "/v1/connections/nxtport", &token)
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let s = &gw.state.settings;
    let config = gw.dir.path().join("check.toml");
    std::fs::write(
        &config,
        format!(
            "mode = \"uat\"\nmaster_key = \"{}\"\ndatabase_url = \"{}\"\n\
             public_url = \"https://localhost:1\"\n[nxtport]\napi_base_url = \"{}\"\ntoken_url = \"{}\"\n\
             [retry]\nmax_retries = 0\n",
            s.master_key.as_ref().expect("key").expose_secret(),
            s.database_url(),
            sim.base,
            format_args!("{}/connect/token", sim.base),
        ),
    )
    .expect("config");
    let args = |entity: &str| CheckArgs {
        store: StoreArgs {
            config: Some(config.clone()),
            database_url: None,
        },
        entity: Some(entity.to_owned()),
    };
    let find = |report: &cpu_gateway::gateway::check::Report, what: &str| {
        report
            .items
            .iter()
            .find(|i| i.what.contains(what))
            .unwrap_or_else(|| panic!("no item {what:?} in {report:?}"))
            .status
            .clone()
    };

    let good = check(&args("good")).await;
    for what in ["password grant", "subscription key", "ingestion id"] {
        assert!(
            matches!(find(&good, what), Status::Ok(_)),
            "{what}: {good:?}"
        );
    }
    // The webhook address is local: NxtPort could not reach it.
    assert!(matches!(find(&good, "webhook URL"), Status::Fail { .. }));

    for (entity, what, fix) in [
        ("badpass", "password grant", "username and password"),
        ("badkey", "subscription key", "apiKey"),
        ("badingest", "ingestion id", "ingestionId"),
    ] {
        let report = check(&args(entity)).await;
        match find(&report, what) {
            Status::Fail { fix: f, .. } => assert!(f.contains(fix), "{entity}: {f}"),
            other => panic!("{entity}: {what} should fail, got {other:?}"),
        }
        assert!(report.failures() >= 1);
    }
    // No entity of that name: one failure that says how to connect.
    let none = check(&args("nosuch")).await;
    assert!(matches!(
        find(&none, "NxtPort connections"),
        Status::Fail { .. }
    ));
}
