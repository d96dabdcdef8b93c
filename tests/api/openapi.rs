//! OpenAPI drift: the documents generated from code must equal the files checked in under
//! `openapi/`. After an intended API change, regenerate them with
//! `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit the diff.

use std::path::PathBuf;

/// Every generated document, as (file stem under `openapi/`, document).
///
/// To add a document (e.g. the gateway's), add one line here:
/// `("gateway", cpu_gateway::gateway::openapi_document()),`
/// then run `UPDATE_OPENAPI=1 cargo test --test api openapi` to create `openapi/gateway.json`.
fn documents() -> Vec<(&'static str, utoipa::openapi::OpenApi)> {
    vec![
        ("simulator", cpu_gateway::simulate::openapi_document()),
        ("gateway", cpu_gateway::gateway::openapi_document()),
    ]
}

fn file_of(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("openapi")
        .join(format!("{name}.json"))
}

fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let mut json = doc
        .to_pretty_json()
        .expect("serialize the OpenAPI document");
    json.push('\n');
    json
}

#[test]
fn openapi_documents_match_the_checked_in_files() {
    let update = std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1");
    let mut drifted = Vec::new();
    for (name, doc) in documents() {
        let path = file_of(name);
        let generated = render(&doc);
        if update {
            std::fs::create_dir_all(path.parent().expect("openapi dir")).expect("mkdir openapi");
            std::fs::write(&path, &generated).expect("write the OpenAPI file");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            let diff = similar::TextDiff::from_lines(&committed, &generated)
                .unified_diff()
                .context_radius(2)
                .header(&format!("{} (committed)", path.display()), "generated")
                .to_string();
            let shown: String = diff.lines().take(80).collect::<Vec<_>>().join("\n");
            drifted.push(format!("{name}:\n{shown}"));
        }
    }
    assert!(
        drifted.is_empty(),
        "OpenAPI drift (rerun with UPDATE_OPENAPI=1 to accept):\n{}",
        drifted.join("\n\n")
    );
}

#[test]
fn openapi_documents_are_deterministic_and_name_every_path() {
    for (name, doc) in documents() {
        assert_eq!(render(&doc), render(&doc), "{name}");
        assert!(!doc.paths.paths.is_empty(), "{name} has no paths");
    }
    let sim = cpu_gateway::simulate::openapi_document();
    for path in [
        "/connect/token",
        "/certified-pickup/v1/{locode}/containers/{equipment}/import/terminal-release",
        "/ingestion/v1/ingestion/{ingestionId}",
        "/certified-pickup/v1/notifications",
        "/simulator/v1/worlds",
        "/emulations/{terminal}/accounts",
    ] {
        assert!(sim.paths.paths.contains_key(path), "{path} missing");
    }
}
