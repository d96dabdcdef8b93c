//! The console's long lists in a real browser: the audit log paged with the API's filters
//! (action, actor, impersonation, time; a bad one named at its input), and the notifications
//! newest first, paged older / newer with the seed's filters kept across pages.

use super::support::{signed_in, Browser};

/// The texts of column `col` (1-based) of the rows of the table `table`.
async fn column(b: &Browser, table: &str, col: usize) -> Vec<String> {
    b.eval(
        "const [t, c] = arguments; return [...document.querySelectorAll(t + ' tbody tr')].filter(r => r.cells.length > 1).map(r => r.cells[c - 1].textContent.trim());",
        vec![serde_json::json!(table), serde_json::json!(col)],
    )
    .await
}

#[tokio::test]
async fn audit_page_is_paged_and_filtered_like_the_api() {
    let Some((b, gw)) = signed_in("audit_page_is_paged_and_filtered_like_the_api").await else {
        return;
    };
    let actor = cpu_gateway::store::Actor {
        token_id: None,
        actor_entity_id: None,
        entity_id: gw.entity_id.clone(),
        impersonation: false,
    };
    let actions: Vec<String> = (1..=25).map(|i| format!("paging.n{i:02}")).collect();
    for a in &actions {
        cpu_gateway::store::AuditLog::record(
            &gw.state.store,
            &actor,
            &cpu_gateway::store::AuditRecord {
                action: a,
                target: "t",
                outcome: "ok",
                detail: None,
            },
        )
        .await
        .expect("record");
    }
    b.click("nav.side a[href='/console/audit']").await;
    b.wait_text("#audit-filters").await;
    // The action family filter; the empty inputs do not reach the URL.
    b.fill("#a-action", "paging.*").await;
    b.click("#a-filter").await;
    b.wait_url("action=paging").await;
    let url = b.client.current_url().await.expect("url").to_string();
    assert!(!url.contains("actor="), "empty filters are dropped: {url}");
    let shown = column(&b, "#audit", 2).await;
    assert_eq!(shown.len(), 25, "{shown:?}");
    assert_eq!(
        shown.first().map(String::as_str),
        Some("paging.n25"),
        "newest first"
    );
    assert!(b.text("#a-older").await.is_none(), "one page");
    assert_eq!(b.value("#a-action").await.as_deref(), Some("paging.*"));

    // Pages of 10 (the API's `limit`): older, older, then back to the newest, filter kept.
    b.open(&format!(
        "{}/console/audit?action=paging.*&limit=10",
        gw.base
    ))
    .await;
    let first = column(&b, "#audit", 2).await;
    assert_eq!(first.len(), 10);
    assert_eq!(first[0], "paging.n25");
    assert!(b.text("#a-newest").await.is_none());
    b.click("#a-older").await;
    b.wait_url("cursor=").await;
    let second = column(&b, "#audit", 2).await;
    assert_eq!(
        second.first().map(String::as_str),
        Some("paging.n15"),
        "{second:?}"
    );
    assert_eq!(
        b.value("#a-action").await.as_deref(),
        Some("paging.*"),
        "filter kept"
    );
    b.click("#a-older").await;
    b.wait_text_is("#audit tbody tr td:nth-child(2)", "paging.n05")
        .await;
    let third = column(&b, "#audit", 2).await;
    assert_eq!(third.len(), 5);
    assert!(b.text("#a-older").await.is_none(), "the last page");
    b.screenshot("console-audit-paged").await;
    b.click("#a-newest").await;
    b.wait_text_is("#audit tbody tr td:nth-child(2)", "paging.n25")
        .await;
    assert!(!b
        .client
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains("cursor"));

    // Actor `system` finds them; a token id that did nothing finds none.
    b.open(&format!(
        "{}/console/audit?action=paging.*&actor=system",
        gw.base
    ))
    .await;
    assert_eq!(column(&b, "#audit", 2).await.len(), 25);
    b.select("#a-impersonation", "true").await;
    b.click("#a-filter").await;
    b.wait_url("impersonation=true").await;
    assert!(column(&b, "#audit", 2).await.is_empty(), "no support acts");

    // Refusals of the API's parsing, at their input, the value as typed; HTML stays text.
    for (input, typed) in [("#a-action", "<b>Bad</b>"), ("#a-from", "yesterday")] {
        b.open(&format!("{}/console/audit", gw.base)).await;
        b.fill(input, typed).await;
        b.click("#a-filter").await;
        b.assert_refused_at(input, typed).await;
        assert!(column(&b, "#audit", 2).await.is_empty());
    }
    // A cursor that is not one: above the form.
    b.open(&format!("{}/console/audit?cursor=abc", gw.base))
        .await;
    assert!(b.text("#audit-filters [data-form-error]").await.is_some());
}

#[tokio::test]
async fn notifications_paged_newest_first_keeping_filters() {
    let Some((b, gw)) = signed_in("notifications_paged_newest_first_keeping_filters").await else {
        return;
    };
    // 60 GateOut notifications a minute apart, and 5 TerminalRelease ones later than all of them.
    let start = chrono::DateTime::parse_from_rfc3339("2024-05-01T06:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let envelope = |i: i64, event: &str| {
        serde_json::json!({
            "id": "MSCU1234565",
            "publicReferenceId": format!("ref-{event}-{i:03}"),
            "receiverId": "NXT1",
            "timestamp": (start + chrono::Duration::minutes(i)).to_rfc3339(),
            "type": "GateOperation",
            "event": event,
            "errors": [],
            "warnings": [],
            "body": {}
        })
    };
    for (i, event) in (1..=60)
        .map(|i| (i, "GateOut"))
        .chain((100..105).map(|i| (i, "TerminalRelease")))
    {
        let n = cpu_gateway::store::notifications::NewNotification {
            entity_id: gw.entity_id.clone(),
            source: "webhook",
            envelope: envelope(i, event),
        };
        gw.state
            .store
            .insert_notification(&n)
            .await
            .expect("insert");
    }
    b.open(&format!("{}/console/notifications", gw.base)).await;
    let all = column(&b, "#notifications", 5).await;
    assert_eq!(all.len(), 50, "a page");
    assert_eq!(
        all[0], "ref-TerminalRelease-104",
        "the newest first, not the oldest"
    );

    // Filtered: the newest GateOut first; older, then newer, with the filter kept.
    b.select("#n-event", "GateOut").await;
    b.click("#n-filter").await;
    b.wait_url("event=GateOut").await;
    let first = column(&b, "#notifications", 5).await;
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], "ref-GateOut-060");
    assert_eq!(first[49], "ref-GateOut-011");
    assert!(b.text("#n-newer").await.is_none(), "nothing newer");
    b.click("#n-older").await;
    b.wait_url("before=").await;
    let older = column(&b, "#notifications", 5).await;
    let want: Vec<String> = (1..=10)
        .rev()
        .map(|i| format!("ref-GateOut-{i:03}"))
        .collect();
    assert_eq!(older, want);
    assert!(b.text("#n-older").await.is_none(), "the oldest page");
    assert!(b
        .client
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains("event=GateOut"));
    assert_eq!(
        b.value("#n-event").await.as_deref(),
        Some("GateOut"),
        "filter kept"
    );
    b.screenshot("console-notifications-paged").await;
    b.click("#n-newer").await;
    b.wait_url("after=").await;
    assert_eq!(
        column(&b, "#notifications", 5).await,
        first,
        "back to the first page"
    );
    assert!(b.text("#n-newer").await.is_none());
    assert!(b.text("#n-older").await.is_some());

    // A page link that is not one: said above the form, not a server error.
    b.open(&format!("{}/console/notifications?before=nope", gw.base))
        .await;
    assert!(b
        .text("#notification-filters [data-form-error]")
        .await
        .is_some());
}
