//! The sandbox in a real browser: release a container by clicking as each party until its
//! lights are green and the gate's validation says valid, then gate it out.

use fantoccini::Locator;

use super::support::{sandbox, Browser};

/// Fill a form's selects, submit it, and wait for the page its answer loads: a new document
/// (the old one's marker gone), loaded, with the container's status. The old page has a status
/// too, so waiting for that alone could read the old page.
async fn act(b: &Browser, form: &str, fields: &[(&str, &str)]) {
    for (css, value) in fields {
        b.select(css, value).await;
    }
    let _: bool = b
        .eval("window.__beforeAct = true; return true;", vec![])
        .await;
    b.click(&format!("[data-act={form}]")).await;
    b.until(&format!("the page after {form}"), |c| async move {
        let loaded = c
            .execute(
                "return window.__beforeAct === undefined && document.readyState === 'complete' \
                 && document.querySelector('[data-status]') !== null;",
                vec![],
            )
            .await
            .ok()?;
        (loaded.as_bool() == Some(true)).then_some(())
    })
    .await;
    if let Some(e) = b
        .text("[data-error], [data-field-error], [data-form-error]")
        .await
    {
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
    // A frozen clock: the page's reload at the clock's next minute would race the clicks.
    let Some((b, base)) =
        sandbox("release_a_container_by_clicking_until_the_gate_says_valid").await
    else {
        return;
    };
    assert!(
        b.text("tr[data-party=agent]").await.is_some(),
        "parties listed"
    );
    b.fill("#nr-equipment", "MSCU1234566").await;
    b.select("#nr-party", "agent").await;
    b.select("#nr-terminal", "psa").await;
    b.select("#nr-to", "forwarder").await;
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

    // A refused action re-displays the page with the core's message, above its form (no
    // input of it is at fault).
    act(&b, "validate", &[("#ga-alfapass", "AP1000001")]).await;
    b.select("#rr-party", "trucker2").await;
    b.select("#rr-action", "accept").await;
    b.click("[data-act=rights]").await;
    let msg = b
        .wait_text("form[data-form=rights] [data-form-error]")
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
