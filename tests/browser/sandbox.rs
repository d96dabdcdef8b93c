//! The sandbox in a real browser: release a container by clicking as each party until its
//! lights are green and the gate's validation says valid, then gate it out.

use fantoccini::Locator;

use super::support::Browser;

async fn select(b: &Browser, css: &str, value: &str) {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no select {css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("no option {value} in {css}: {e}"));
}

async fn act(b: &Browser, form: &str, fields: &[(&str, &str)]) {
    for (css, value) in fields {
        select(b, css, value).await;
    }
    b.click(&format!("[data-act={form}]")).await;
    b.until(&format!("the page after {form}"), |c| async move {
        c.find(Locator::Css("[data-status]")).await.ok().map(|_| ())
    })
    .await;
    if let Some(e) = b.text("[data-error]").await {
        panic!("{form} refused: {e}");
    }
}

async fn light(b: &Browser, name: &str) -> String {
    b.attr(&format!("[data-light={name}]"), "data-color")
        .await
        .unwrap_or_default()
}

#[tokio::test]
async fn release_a_container_by_clicking_until_the_gate_says_valid() {
    let Some(b) = Browser::start("release_a_container_by_clicking_until_the_gate_says_valid").await
    else {
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

    b.client.goto(&format!("{base}/")).await.expect("sandbox");
    assert!(
        b.text("tr[data-party=agent]").await.is_some(),
        "parties listed"
    );
    b.fill("#nr-equipment", "MSCU1234566").await;
    select(&b, "#nr-party", "agent").await;
    select(&b, "#nr-terminal", "psa").await;
    select(&b, "#nr-to", "forwarder").await;
    b.click("[data-act=release]").await;
    b.until("the container page", |c| async move {
        c.find(Locator::Css("[data-light]")).await.ok().map(|_| ())
    })
    .await;
    assert_eq!(light(&b, "CommercialRelease").await, "green");
    assert_eq!(
        b.text("[data-status]").await.as_deref(),
        Some("NOTRELEASED")
    );

    act(
        &b,
        "rights",
        &[("#rr-party", "forwarder"), ("#rr-action", "accept")],
    )
    .await;
    act(
        &b,
        "rights",
        &[
            ("#rr-party", "forwarder"),
            ("#rr-action", "transfer"),
            ("#rr-to", "trucker"),
        ],
    )
    .await;
    act(
        &b,
        "rights",
        &[("#rr-party", "trucker"), ("#rr-action", "accept")],
    )
    .await;
    act(
        &b,
        "pickup",
        &[("#pk-party", "trucker"), ("#pk-alfapass", "AP1000001")],
    )
    .await;
    assert!(b
        .text("[data-pickup]")
        .await
        .unwrap_or_default()
        .contains("AP1000001"));

    // Not released yet: the gate says so.
    act(&b, "validate", &[("#ga-alfapass", "AP1000001")]).await;
    assert!(b.text("[data-validation=invalid]").await.is_some());

    act(
        &b,
        "terminal",
        &[("#te-party", "psa"), ("#te-action", "discharge")],
    )
    .await;
    act(&b, "customs", &[("#cu-value", "RELEASED")]).await;
    act(
        &b,
        "terminal",
        &[("#te-party", "psa"), ("#te-action", "terminal_release")],
    )
    .await;
    for name in [
        "CommercialRelease",
        "Customs",
        "TerminalOperation",
        "TerminalRelease",
    ] {
        assert_eq!(light(&b, name).await, "green", "{name}");
    }
    assert_eq!(b.text("[data-status]").await.as_deref(), Some("RELEASED"));

    act(&b, "validate", &[("#ga-alfapass", "AP1000001")]).await;
    assert!(
        b.text("[data-validation=valid]").await.is_some(),
        "the gate's validation says valid"
    );
    // Another driver is refused.
    act(&b, "validate", &[("#ga-alfapass", "AP1000002")]).await;
    assert!(b.text("[data-validation=invalid]").await.is_some());

    act(
        &b,
        "terminal",
        &[("#te-party", "psa"), ("#te-action", "gate_out")],
    )
    .await;
    for name in [
        "CommercialRelease",
        "Customs",
        "TerminalOperation",
        "TerminalRelease",
        "GateOperation",
    ] {
        assert_eq!(light(&b, name).await, "green", "{name} after gate out");
    }
    b.screenshot("sandbox-container-released").await;

    // A refused action re-displays the page with the core's message.
    act(&b, "validate", &[("#ga-alfapass", "AP1000001")]).await;
    select(&b, "#rr-party", "trucker2").await;
    select(&b, "#rr-action", "accept").await;
    b.click("[data-act=rights]").await;
    let msg = b
        .until("the refusal", |c| async move {
            c.find(Locator::Css("[data-error]"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        })
        .await;
    assert!(!msg.is_empty());

    // The list shows the container's lights.
    b.client.goto(&format!("{base}/")).await.expect("index");
    assert_eq!(
        b.text("tr[data-container=MSCU1234566] [data-status]")
            .await
            .as_deref(),
        Some("RELEASED")
    );
    b.screenshot("sandbox-index").await;
}
