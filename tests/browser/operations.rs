//! The operations page (status filter; Retry and Cancel of failed operations with the buttons,
//! and the audit rows they leave) and the notifications page (the seed's filters, a field's
//! message on bad input), in a real browser.

use std::time::Duration;

use fantoccini::Locator;

use super::keyboard::assert_tab_reaches_every_control;
use super::support::{sign_in, Browser, Gateway};

/// Post a discharge through the `/v1` API; the operation id.
async fn discharge(gw: &Gateway, equipment: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/discharges", gw.base))
        .bearer_auth(&gw.token)
        .json(
            &serde_json::json!({"equipmentNumber": equipment, "timestamp": "2024-05-01T08:00:00Z"}),
        )
        .send()
        .await
        .expect("discharge");
    assert_eq!(resp.status(), 202);
    let body: serde_json::Value = resp.json().await.expect("json");
    body["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned()
}

/// The operation's public status through the `/v1` API.
async fn status_of(gw: &Gateway, id: &str) -> String {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/operations/{id}", gw.base))
        .bearer_auth(&gw.token)
        .send()
        .await
        .expect("operation")
        .json()
        .await
        .expect("json");
    body["status"].as_str().unwrap_or_default().to_owned()
}

async fn wait_status(gw: &Gateway, id: &str, want: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = status_of(gw, id).await;
        if want.contains(&s.as_str()) {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "operation {id} stayed {s}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fault(gw: &Gateway, method: reqwest::Method, body: Option<serde_json::Value>) {
    let mut req =
        reqwest::Client::new().request(method, format!("{}/simulator/v1/faults", gw.simulator));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("fault");
    assert!(resp.status().is_success(), "fault: {}", resp.status());
}

/// The ids of the rows the operations table shows.
async fn rows(b: &Browser) -> Vec<(String, String)> {
    let v = b
        .client
        .execute(
            "return [...document.querySelectorAll('#operations tr[data-op-id]')].map(r => [r.dataset.opId, r.dataset.opStatus]);",
            vec![],
        )
        .await
        .expect("rows");
    serde_json::from_value(v).expect("pairs")
}

#[tokio::test]
async fn operations_filter_retry_and_cancel_with_the_buttons_audited() {
    let Some(b) =
        Browser::start("operations_filter_retry_and_cancel_with_the_buttons_audited").await
    else {
        return;
    };
    // One attempt: an outage fails an operation at once.
    let gw = Gateway::start_with(|s| s.delivery.max_attempts = 1).await;
    fault(
        &gw,
        reqwest::Method::POST,
        Some(serde_json::json!({"path": "/ingestion", "status": 503})),
    )
    .await;
    let first = discharge(&gw, "MSCU1234566").await;
    wait_status(&gw, &first, &["failed"]).await;
    let second = discharge(&gw, "CSQU3054383").await;
    wait_status(&gw, &second, &["failed"]).await;
    fault(&gw, reqwest::Method::DELETE, None).await;

    sign_in(&b, &gw, &gw.token).await;
    b.click("nav.side a[href='/console/operations']").await;
    b.until("the operations page", |c| async move {
        c.find(Locator::Css("#operations")).await.ok().map(|_| ())
    })
    .await;
    let all = rows(&b).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|(_, s)| s == "failed"), "{all:?}");

    // The status filter: Completed shows none, Failed shows both with their buttons.
    b.select("#status", "completed").await;
    b.click("#op-filter").await;
    b.wait_url("status=completed").await;
    assert!(rows(&b).await.is_empty(), "nothing completed yet");
    assert_eq!(
        b.attr("#status option[selected]", "value").await.as_deref(),
        Some("completed"),
        "the filter stays selected"
    );
    b.select("#status", "failed").await;
    b.click("#op-filter").await;
    b.wait_url("status=failed").await;
    assert_eq!(rows(&b).await.len(), 2);
    let error = b
        .text(&format!("tr[data-op-id='{first}'] td:nth-child(7)"))
        .await
        .unwrap_or_default();
    assert!(!error.is_empty(), "the failure's message is shown");
    b.screenshot("console-operations-failed").await;
    assert_tab_reaches_every_control(&b, "operations with buttons").await;

    // Retry the first with its button: queued again, then sent by the worker; the list keeps
    // its filter and no longer shows it.
    b.click(&format!("tr[data-op-id='{first}'] [data-op-action=retry]"))
        .await;
    let notice = b.wait_text("[data-notice]").await;
    assert_eq!(notice, "Operation queued again.");
    let left = rows(&b).await;
    assert_eq!(
        left.len(),
        1,
        "the filter still shows failed only: {left:?}"
    );
    assert_eq!(left[0].0, second);
    wait_status(&gw, &first, &["sent", "completed"]).await;

    // Cancel the second with its button.
    b.click(&format!(
        "tr[data-op-id='{second}'] [data-op-action=cancel]"
    ))
    .await;
    // The previous page had a notice too: wait for the new one (the URL says which).
    b.wait_url("done=cancelled").await;
    let notice = b.wait_text("[data-notice]").await;
    assert_eq!(notice, "Operation cancelled: it will not be sent.");
    assert!(rows(&b).await.is_empty());
    assert_eq!(status_of(&gw, &second).await, "cancelled");
    b.client
        .goto(&format!("{}/console/operations?status=cancelled", gw.base))
        .await
        .expect("cancelled");
    let cancelled = rows(&b).await;
    assert_eq!(cancelled, vec![(second.clone(), "cancelled".to_owned())]);
    assert!(
        b.text("[data-op-action]").await.is_none(),
        "a cancelled operation has no button"
    );

    // Acting on an operation that is no longer failed changes nothing and says why.
    let status = b
        .client
        .execute_async(
            "const [id, done] = [arguments[0], arguments[1]];
             const csrf = document.querySelector('input[name=csrf]').value;
             fetch('/console/operations/' + id + '/retry', {method: 'POST',
               headers: {'Content-Type': 'application/x-www-form-urlencoded'},
               body: new URLSearchParams({csrf})}).then(r => done(r.status));",
            vec![serde_json::json!(second)],
        )
        .await
        .expect("script");
    assert_eq!(status, serde_json::json!(409));
    assert_eq!(status_of(&gw, &second).await, "cancelled");

    // The audit log shows both acts, by this token.
    b.click("nav.side a[href='/console/audit']").await;
    b.until("the audit page", |c| async move {
        let t = c.find(Locator::Css("h1")).await.ok()?.text().await.ok()?;
        (t == "Audit log").then_some(())
    })
    .await;
    let audit = b
        .client
        .execute(
            "return [...document.querySelectorAll('main tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()));",
            vec![],
        )
        .await
        .expect("audit rows");
    let audit: Vec<Vec<String>> = serde_json::from_value(audit).expect("rows");
    for (action, target, outcome) in [
        ("operation.retry", &first, "ok"),
        ("operation.cancel", &second, "ok"),
        ("operation.retry", &second, "invalid"),
    ] {
        assert!(
            audit
                .iter()
                .any(|r| r.get(1).map(String::as_str) == Some(action)
                    && r.get(2) == Some(target)
                    && r.get(3).map(String::as_str) == Some(outcome)
                    && r.get(4).is_some_and(|by| by.starts_with("token "))),
            "no audit row {action} {target} {outcome}: {audit:?}"
        );
    }
    b.screenshot("console-audit-operations").await;

    // A viewer sees the operations but no button.
    let viewer = gw.token(cpu_gateway::store::Role::Viewer).await;
    b.client.delete_all_cookies().await.expect("cookies");
    sign_in(&b, &gw, &viewer).await;
    b.client
        .goto(&format!("{}/console/operations", gw.base))
        .await
        .expect("operations");
    assert_eq!(rows(&b).await.len(), 2);
    assert!(b
        .client
        .find_all(Locator::Css("[data-op-action]"))
        .await
        .expect("find")
        .is_empty());
}

#[tokio::test]
async fn notifications_filter_by_the_seeds_fields() {
    let Some(b) = Browser::start("notifications_filter_by_the_seeds_fields").await else {
        return;
    };
    let gw = Gateway::start().await;
    let op = discharge(&gw, "MSCU1234566").await;
    wait_status(&gw, &op, &["completed"]).await;
    sign_in(&b, &gw, &gw.token).await;
    b.click("nav.side a[href='/console/notifications']").await;
    let first_event = b
        .until("a notification", |c| async move {
            let row = c
                .find(Locator::Css("#notifications tr[data-event]"))
                .await
                .ok()?;
            row.attr("data-event").await.ok()?
        })
        .await;
    let count = |b: &Browser| {
        let c = b.client.clone();
        async move {
            c.find_all(Locator::Css("#notifications tr[data-event]"))
                .await
                .expect("rows")
                .len()
        }
    };
    let all = count(&b).await;
    assert!(all >= 1);

    // The event filter (a list of the CPu events) and the container.
    b.select("#n-event", &first_event).await;
    b.fill("#n-equipment", "MSCU1234566").await;
    b.click("#n-filter").await;
    b.wait_url("equipment=MSCU1234566").await;
    let events = b
        .client
        .execute(
            "return [...document.querySelectorAll('#notifications tr[data-event]')].map(r => r.dataset.event);",
            vec![],
        )
        .await
        .expect("events");
    let events: Vec<String> = serde_json::from_value(events).expect("list");
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| *e == first_event), "{events:?}");
    assert_eq!(
        b.attr("#n-equipment", "value").await.as_deref(),
        Some("MSCU1234566")
    );
    b.screenshot("console-notifications").await;

    // Another container: none.
    b.fill("#n-equipment", "CSQU3054383").await;
    b.click("#n-filter").await;
    b.wait_url("CSQU3054383").await;
    assert_eq!(count(&b).await, 0);

    // Bad input: the field's message, marked invalid, and HTML comes back as text.
    b.client
        .goto(&format!("{}/console/notifications", gw.base))
        .await
        .expect("page");
    b.fill("#n-equipment", "<b>nope</b>").await;
    b.click("#n-filter").await;
    b.assert_refused_at("#n-equipment", "<b>nope</b>").await;
    // A time window needs its day.
    b.client
        .goto(&format!(
            "{}/console/notifications?from=07:30&to=19:25",
            gw.base
        ))
        .await
        .expect("page");
    assert!(
        b.text("#n-stored-on-error").await.is_some(),
        "storedOn is named"
    );
    // The day stored and a window on it: today's window over the whole day finds them again.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    b.client
        .goto(&format!(
            "{}/console/notifications?storedOn={today}&from=00:00&to=23:59",
            gw.base
        ))
        .await
        .expect("page");
    assert_eq!(count(&b).await, all);
    assert_eq!(
        b.attr("#n-stored-on", "value").await.as_deref(),
        Some(today.as_str())
    );
}
