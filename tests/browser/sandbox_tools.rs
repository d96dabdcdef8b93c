//! The sandbox's tools in a real browser: the world picker (new, switch, reset, delete), the
//! fault-injection form, and the webhook-delivery page; both pages follow changes made
//! elsewhere (an API caller) without a manual reload.

use fantoccini::Locator;

use super::support::{sandbox_form_token, simulator, Browser};

async fn world_id(b: &Browser) -> String {
    b.text("[data-world]").await.unwrap_or_default()
}

/// Click, then wait until the page shows the world `want` (or any world but `not`).
async fn click_and_wait_world(b: &Browser, css: &str, not: &str) -> String {
    b.click(css).await;
    let not = not.to_owned();
    b.until("another world", |c| {
        let not = not.clone();
        async move {
            let id = c
                .find(Locator::Css("[data-world]"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (id != not).then_some(id)
        }
    })
    .await
}

async fn release(b: &Browser, equipment: &str) {
    b.fill("#nr-equipment", equipment).await;
    b.click("[data-act=release]").await;
    b.until("the container page", |c| async move {
        c.find(Locator::Css("[data-light]")).await.ok().map(|_| ())
    })
    .await;
}

async fn listed(b: &Browser, equipment: &str) -> bool {
    b.text(&format!("tr[data-container={equipment}]"))
        .await
        .is_some()
}

#[tokio::test]
async fn sandbox_world_picker_new_switch_reset_delete() {
    let Some(b) = Browser::start("sandbox_world_picker_new_switch_reset_delete").await else {
        return;
    };
    let base = simulator(cpu_gateway::simulate::SimConfig::default()).await;
    b.client.goto(&format!("{base}/")).await.expect("sandbox");
    assert_eq!(world_id(&b).await, "default");
    let default_key = b
        .text("tr[data-party=agent] td:nth-child(7)")
        .await
        .expect("agent's key");
    assert!(
        b.text("#world-delete").await.is_none(),
        "the default world cannot be deleted"
    );

    // A new world: its own credentials; a container released there stays there.
    let fresh = click_and_wait_world(&b, "#world-new", "default").await;
    let fresh_key = b
        .text("tr[data-party=agent] td:nth-child(7)")
        .await
        .expect("agent's key");
    assert_ne!(fresh_key, default_key, "a new world has new credentials");
    release(&b, "MSCU1234566").await;
    b.client.goto(&format!("{base}/")).await.expect("index");
    assert!(listed(&b, "MSCU1234566").await);
    b.screenshot("sandbox-new-world").await;

    // Switch back to the default world with the picker: the container is not there.
    b.select("#world", "default").await;
    click_and_wait_world(&b, "#world-switch", &fresh).await;
    assert!(!listed(&b, "MSCU1234566").await);
    // And to the new one again.
    b.select("#world", &fresh).await;
    click_and_wait_world(&b, "#world-switch", "default").await;
    assert!(listed(&b, "MSCU1234566").await);

    // Advance this world's clock by a day.
    let before = b.text("[data-clock]").await.expect("clock");
    b.fill("#hours", "24").await;
    b.click("form[action='/sandbox/clock'] button").await;
    let after = b
        .until("the clock to move", |c| {
            let before = before.clone();
            async move {
                let t = c
                    .find(Locator::Css("[data-clock]"))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                (t != before).then_some(t)
            }
        })
        .await;
    let day = |t: &str| {
        chrono::NaiveDate::parse_from_str(&t[..10], "%Y-%m-%d").expect("a date on the clock")
    };
    assert_eq!(day(&after) - day(&before), chrono::Duration::days(1));

    // Reset: same world, no container, same credentials, the clock back to now.
    b.click("#world-reset").await;
    b.until("the reset world", |c| async move {
        c.find(Locator::Css("tr[data-container]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert_eq!(world_id(&b).await, fresh);
    let reset_clock = b.text("[data-clock]").await.expect("clock");
    assert_eq!(day(&reset_clock), day(&before), "{reset_clock}");
    assert_eq!(
        b.text("tr[data-party=agent] td:nth-child(7)")
            .await
            .as_deref(),
        Some(fresh_key.as_str())
    );

    // Delete: back to the default world; the deleted one is no longer offered.
    let back = click_and_wait_world(&b, "#world-delete", &fresh).await;
    assert_eq!(back, "default");
    assert!(b
        .client
        .find(Locator::Css(&format!("#world option[value='{fresh}']")))
        .await
        .is_err());
    let resp = reqwest::Client::new()
        .get(format!("{base}/simulator/v1/parties"))
        .header("X-Sim-World", &fresh)
        .send()
        .await
        .expect("parties");
    assert_eq!(resp.status(), 404, "the world is gone for API callers too");
}

#[tokio::test]
async fn sandbox_faults_and_webhook_deliveries_follow_changes() {
    let Some(b) = Browser::start("sandbox_faults_and_webhook_deliveries_follow_changes").await
    else {
        return;
    };
    let base = simulator(cpu_gateway::simulate::SimConfig {
        webhook_attempts: 1,
        frozen_clock: Some(chrono::Utc::now()),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    b.client
        .goto(&format!("{base}/sandbox/faults"))
        .await
        .expect("faults");
    assert!(b.text("tr[data-fault]").await.is_none(), "no fault yet");

    // A bad status: the form again with the field's message, nothing injected.
    b.fill("#f-path", "/certified-pickup/v1/notifications")
        .await;
    b.fill("#f-status", "99").await;
    b.click("#add-fault-submit").await;
    let msg = b.wait_text("#f-status-error").await;
    assert!(msg.contains("HTTP status"), "{msg}");
    assert_eq!(
        b.attr("#f-status", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.attr("#f-path", "value").await.as_deref(),
        Some("/certified-pickup/v1/notifications"),
        "what was typed stays"
    );
    assert!(b.text("tr[data-fault]").await.is_none());

    // A 503 on the notification list for the next call.
    b.fill("#f-status", "503").await;
    b.fill("#f-count", "1").await;
    b.click("#add-fault-submit").await;
    let row = b
        .until("the fault", |c| async move {
            c.find(Locator::Css(
                "tr[data-fault='/certified-pickup/v1/notifications']",
            ))
            .await
            .ok()?
            .text()
            .await
            .ok()
        })
        .await;
    assert!(
        row.contains("answer 503") && row.contains("next 1 calls"),
        "{row}"
    );
    b.screenshot("sandbox-faults").await;
    // An authenticated NxtPort call of the agent meets it once.
    let parties: serde_json::Value = http
        .get(format!("{base}/simulator/v1/parties"))
        .send()
        .await
        .expect("parties")
        .json()
        .await
        .expect("json");
    let agent = parties
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["key"] == "agent"))
        .expect("agent")
        .clone();
    let field = |k: &str| agent[k].as_str().expect(k).to_owned();
    let token: serde_json::Value = http
        .post(format!("{base}/connect/token"))
        .form(&[
            ("grant_type", "password".to_owned()),
            ("username", field("username")),
            ("password", field("password")),
            ("client_id", field("clientId")),
            ("client_secret", field("clientSecret")),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let call = || {
        http.get(format!(
            "{base}/certified-pickup/v1/notifications?equipmentNumber=MSCU1234566"
        ))
        .bearer_auth(&access)
        .header("Ocp-Apim-Subscription-Key", field("subscriptionKey"))
        .send()
    };
    assert_eq!(call().await.expect("call").status(), 503);
    assert_ne!(call().await.expect("call").status(), 503, "used up");
    // The page follows: the fault is gone without a reload.
    b.until("the used-up fault to leave the page", |c| async move {
        c.find(Locator::Css("tr[data-fault]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;

    // Webhook deliveries: a receiver that refuses; its secrets never show.
    for party in ["agent", "forwarder"] {
        let resp = http
            .put(format!("{base}/simulator/v1/parties/{party}/webhooks"))
            .json(&serde_json::json!({
                "url": format!("{base}/health?token=s3cret-query"),
                "headers": {"Authorization": "Bearer s3cret-header"}
            }))
            .send()
            .await
            .expect("webhook");
        assert_eq!(resp.status(), 200);
    }
    b.click("nav.side a[href='/sandbox/deliveries']").await;
    b.until("the deliveries page", |c| async move {
        c.find(Locator::Css("#deliveries")).await.ok().map(|_| ())
    })
    .await;
    assert!(b.text("tr[data-delivery]").await.is_none());
    // Another party acts (a form posted from outside the browser, with the token and the
    // cookie of its own page): the page follows.
    let (cookie, csrf) = sandbox_form_token(&base).await;
    let resp = http
        .post(format!("{base}/sandbox/act"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "release"),
            ("party", "agent"),
            ("equipment", "MSCU1234566"),
            ("locode", "BEANR"),
            ("terminal", "psa"),
            ("to", "forwarder"),
        ])
        .send()
        .await
        .expect("release");
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let row = b.wait_text("tr[data-delivery=failed]").await;
    assert!(row.contains("MSCU1234566"), "{row}");
    let page = b.client.source().await.expect("source");
    assert!(!page.contains("s3cret"), "webhook secrets are never shown");
    assert!(page.contains("[REDACTED]"));
    assert!(
        b.text("#calls tr[data-call-status]").await.is_some(),
        "the calls journal is shown"
    );
    b.screenshot("sandbox-deliveries").await;
}
