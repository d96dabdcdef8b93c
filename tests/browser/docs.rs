//! `/docs` renders offline: every request the page makes goes to the same origin.

use fantoccini::Locator;

use super::support::{Browser, Gateway};

#[tokio::test]
async fn gateway_docs_render_from_the_same_origin() {
    let Some(b) = Browser::start("gateway_docs_render_from_the_same_origin").await else {
        return;
    };
    let gw = Gateway::start().await;
    b.client
        .goto(&format!("{}/docs", gw.base))
        .await
        .expect("docs");
    b.until("the operations of the API", |c| async move {
        let ops = c.find_all(Locator::Css(".opblock")).await.ok()?;
        (ops.len() > 10).then_some(())
    })
    .await;
    let urls = b
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name);",
            vec![],
        )
        .await
        .expect("script");
    let urls = urls.as_array().cloned().unwrap_or_default();
    assert!(!urls.is_empty());
    for u in urls {
        let u = u.as_str().unwrap_or_default();
        assert!(u.starts_with(&gw.base), "request to another origin: {u}");
    }
    b.screenshot("gateway-docs").await;
}

#[tokio::test]
async fn simulator_docs_render_from_the_same_origin() {
    let Some(b) = Browser::start("simulator_docs_render_from_the_same_origin").await else {
        return;
    };
    let sim = cpu_gateway::simulate::Application::build(
        cpu_gateway::simulate::SimConfig::default(),
        "127.0.0.1:0",
    )
    .await
    .expect("simulator");
    let base = format!("http://127.0.0.1:{}", sim.port());
    tokio::spawn(sim.run_until_stopped());
    b.client.goto(&format!("{base}/docs")).await.expect("docs");
    b.until("the operations of the API", |c| async move {
        let ops = c.find_all(Locator::Css(".opblock")).await.ok()?;
        (ops.len() > 10).then_some(())
    })
    .await;
    let urls = b
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name);",
            vec![],
        )
        .await
        .expect("script");
    for u in urls.as_array().cloned().unwrap_or_default() {
        let u = u.as_str().unwrap_or_default();
        assert!(u.starts_with(&base), "request to another origin: {u}");
    }
}
