//! The console in a real browser: sign in, connect / test / update / disconnect PSA against the
//! emulation's demo account, roles, CSRF, keyboard.

use fantoccini::Locator;

use super::support::{sign_in, Browser, Gateway};

async fn card_status(b: &Browser, terminal: &'static str, want: &'static str) {
    b.until(&format!("{terminal} to be {want}"), |c| async move {
        let el = c
            .find(Locator::Css(&format!("#card-{terminal}")))
            .await
            .ok()?;
        (el.attr("data-status").await.ok()??.as_str() == want).then_some(())
    })
    .await;
}

async fn dialog_open(b: &Browser, id: &str) -> bool {
    b.client
        .execute(
            "return document.getElementById(arguments[0]).open;",
            vec![serde_json::json!(id)],
        )
        .await
        .expect("script")
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test]
async fn connect_test_update_and_disconnect_psa() {
    let Some(b) = Browser::start("connect_test_update_and_disconnect_psa").await else {
        return;
    };
    let gw = Gateway::start().await;
    sign_in(&b, &gw, &gw.token).await;
    // Cards grouped by region, as the seed shows them.
    let page = b.client.source().await.expect("source");
    for heading in [
        "Belgium - Antwerp",
        "Netherlands - Rotterdam",
        "Additional Integrations",
    ] {
        assert!(page.contains(heading), "missing group {heading}");
    }
    assert!(
        !page.contains(&gw.token),
        "the token is never shown on a page"
    );
    assert_eq!(
        b.text("#card-psa [data-badge]").await.as_deref(),
        Some("Not Connected")
    );
    b.screenshot("console-data-sources").await;

    // Connect opens a modal with exactly PSA's fields; focus is inside; Escape closes it.
    b.click("#card-psa [data-action=connect]").await;
    assert!(dialog_open(&b, "connect-psa").await);
    let focus_inside: bool = b
        .client
        .execute(
            "return document.getElementById('connect-psa').contains(document.activeElement);",
            vec![],
        )
        .await
        .expect("script")
        .as_bool()
        .unwrap_or(false);
    assert!(focus_inside, "focus moves into the modal");
    let names = b
        .client
        .execute(
            "return [...document.querySelectorAll('#connect-psa input:not([type=hidden])')].map(i => i.name);",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(names, serde_json::json!(["username", "password"]));
    b.client
        .active_element()
        .await
        .expect("focus")
        .send_keys("\u{e00c}")
        .await
        .expect("escape");
    assert!(
        !dialog_open(&b, "connect-psa").await,
        "Escape closes the modal"
    );

    // Test connection with a wrong password: the terminal's error, nothing saved.
    b.click("#card-psa [data-action=connect]").await;
    b.fill("#psa-username", "  demo-psa ").await;
    b.fill("#psa-password", "wrong-password").await;
    b.click("#connect-psa [data-test]").await;
    let msg = b
        .until("the test result", |c| async move {
            let el = c
                .find(Locator::Css("#connect-psa .test-error"))
                .await
                .ok()?;
            el.text().await.ok().filter(|t| !t.is_empty())
        })
        .await;
    assert!(!msg.contains("wrong-password"));
    b.screenshot("console-test-failed").await;
    // Right password: the test passes, still nothing saved.
    b.fill("#psa-password", "psa-demo-password").await;
    b.click("#connect-psa [data-test]").await;
    b.until("a passing test", |c| async move {
        c.find(Locator::Css("#connect-psa .test-ok"))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    assert_eq!(
        gw.state
            .vault
            .public_fields(&gw.entity_id, "datasource:psa")
            .await
            .expect("vault"),
        None,
        "testing saves nothing"
    );

    // Save a wrong password: the card shows the terminal's error.
    b.fill("#psa-password", "wrong-password").await;
    b.click("#connect-psa [data-save]").await;
    card_status(&b, "psa", "error").await;
    let err = b.text("#card-psa [data-error]").await.expect("error text");
    assert!(!err.is_empty());
    assert!(!b
        .client
        .source()
        .await
        .expect("src")
        .contains("wrong-password"));

    // Update: the username is pre-filled, only the password is typed again.
    b.click("#card-psa [data-action=connect]").await;
    let username = b.attr("#psa-username", "value").await;
    assert_eq!(
        username.as_deref(),
        Some("demo-psa"),
        "username trimmed and pre-filled"
    );
    let password_value: String = b
        .client
        .find(Locator::Css("#psa-password"))
        .await
        .expect("password")
        .prop("value")
        .await
        .expect("prop")
        .unwrap_or_default();
    assert_eq!(password_value, "", "a secret is never shown again");
    b.fill("#psa-password", "psa-demo-password").await;
    b.click("#connect-psa [data-save]").await;
    card_status(&b, "psa", "connected").await;
    assert_eq!(
        b.text("#card-psa [data-identifier]").await.as_deref(),
        Some("demo-psa")
    );
    b.screenshot("console-connected").await;

    // Sync now, then its history.
    b.click("#card-psa [data-action=sync]").await;
    b.until("a finished sync run", |c| async move {
        let el = c
            .find(Locator::Css("tr[data-run-status=succeeded]"))
            .await
            .ok()?;
        el.text().await.ok()
    })
    .await;
    b.screenshot("console-sync-history").await;

    // A synced container's merged timeline, drawn as a picture.
    let equipment: String = gw
        .state
        .store
        .testing()
        .event_tallies(&gw.entity_id)
        .await
        .expect("tallies")
        .containers()
        .into_keys()
        .next()
        .expect("a synced event");
    b.client
        .goto(&format!(
            "{}/console/containers?equipment={equipment}",
            gw.base
        ))
        .await
        .expect("timeline");
    let dots = b
        .client
        .find_all(Locator::Css("figure.timeline svg circle"))
        .await
        .expect("find");
    assert!(
        !dots.is_empty(),
        "the timeline shows the container's events"
    );
    b.screenshot("console-timeline").await;
    b.client
        .goto(&format!(
            "{}/console/containers?equipment=NOTACONTAINER",
            gw.base
        ))
        .await
        .expect("bad number");
    assert!(b.text("#equipment-error").await.is_some());

    // Disconnect asks first; Cancel keeps it, Confirm disconnects.
    b.client
        .goto(&format!("{}/console/data-sources", gw.base))
        .await
        .expect("back");
    b.click("#card-psa [data-action=disconnect]").await;
    assert!(dialog_open(&b, "disconnect-psa").await);
    assert_eq!(
        b.text("#disconnect-psa p").await.as_deref(),
        Some("Are you sure you want to disconnect this terminal?")
    );
    b.click("#disconnect-psa [data-close-dialog]").await;
    assert!(!dialog_open(&b, "disconnect-psa").await);
    card_status(&b, "psa", "connected").await;
    b.click("#card-psa [data-action=disconnect]").await;
    b.click("#disconnect-psa [data-confirm]").await;
    card_status(&b, "psa", "not_connected").await;
    // History stays.
    b.client
        .goto(&format!("{}/console/data-sources/psa", gw.base))
        .await
        .expect("history");
    assert!(b.text("tr[data-run-status=succeeded]").await.is_some());
}

#[tokio::test]
async fn a_viewer_reads_and_a_forged_post_changes_nothing() {
    let Some(b) = Browser::start("a_viewer_reads_and_a_forged_post_changes_nothing").await else {
        return;
    };
    let gw = Gateway::start().await;
    let viewer = gw.token(cpu_gateway::store::Role::Viewer).await;
    sign_in(&b, &gw, &viewer).await;
    let buttons = b
        .client
        .find_all(Locator::Css("[data-action]"))
        .await
        .expect("find");
    assert!(
        buttons.is_empty(),
        "a viewer sees no Connect, Disconnect or Sync button"
    );
    assert!(b.text("#card-psa").await.is_some(), "but sees the cards");
    b.screenshot("console-viewer").await;

    // A viewer posting anyway (with its own CSRF value) is refused.
    let status = b
        .client
        .execute_async(
            "const done = arguments[0];
             const csrf = document.querySelector('input[name=csrf]').value;
             fetch('/console/data-sources/psa/connect', {method: 'POST',
               headers: {'Content-Type': 'application/x-www-form-urlencoded'},
               body: new URLSearchParams({csrf, username: 'demo-psa', password: 'psa-demo-password'})})
               .then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(status, serde_json::json!(403));

    // An editor's browser: a form posted without the CSRF value changes nothing.
    b.client.delete_all_cookies().await.expect("cookies");
    sign_in(&b, &gw, &gw.token).await;
    let forged = b
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/console/data-sources/psa/connect', {method: 'POST',
               headers: {'Content-Type': 'application/x-www-form-urlencoded'},
               body: new URLSearchParams({username: 'demo-psa', password: 'psa-demo-password'})})
               .then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(forged, serde_json::json!(403));
    let wrong = b
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/console/data-sources/psa/connect', {method: 'POST',
               headers: {'Content-Type': 'application/x-www-form-urlencoded'},
               body: new URLSearchParams({csrf: 'guessed', username: 'demo-psa', password: 'psa-demo-password'})})
               .then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(wrong, serde_json::json!(403));
    assert_eq!(
        gw.state
            .vault
            .public_fields(&gw.entity_id, "datasource:psa")
            .await
            .expect("vault"),
        None,
        "nothing was saved"
    );
    b.client.refresh().await.expect("reload");
    assert_eq!(
        b.text("#card-psa [data-badge]").await.as_deref(),
        Some("Not Connected")
    );

    // A 4xx re-displays the form with the field's message; HTML in values is escaped.
    b.click("#card-mpet [data-action=connect]").await;
    b.fill("#mpet-uuid", "<b>not-a-uuid</b>").await;
    b.fill("#mpet-token", "t").await;
    b.click("#connect-mpet [data-save]").await;
    let msg = b
        .until("the field's message", |c| async move {
            let el = c
                .find(Locator::Css("#connect-mpet .field-error"))
                .await
                .ok()?;
            el.text().await.ok()
        })
        .await;
    assert!(msg.contains("UUID"), "{msg}");
    assert_eq!(
        b.attr("#mpet-uuid", "value").await.as_deref(),
        Some("<b>not-a-uuid</b>"),
        "the value comes back as text"
    );
    assert!(b
        .client
        .find_all(Locator::Css("#connect-mpet b"))
        .await
        .expect("find")
        .is_empty());
    b.screenshot("console-field-error").await;

    // Sign out ends the session.
    b.client
        .goto(&format!("{}/console/data-sources", gw.base))
        .await
        .expect("page");
    b.click("#sign-out").await;
    b.until("the sign-in page", |c| async move {
        c.find(Locator::Css("#token")).await.ok().map(|_| ())
    })
    .await;
    b.client
        .goto(&format!("{}/console/data-sources", gw.base))
        .await
        .expect("page");
    assert!(b.text("#token").await.is_some() || b.attr("#token", "name").await.is_some());
}

#[tokio::test]
async fn support_acts_for_another_entity_audited_and_revocation_signs_out() {
    let Some(b) =
        Browser::start("support_acts_for_another_entity_audited_and_revocation_signs_out").await
    else {
        return;
    };
    let gw = Gateway::start().await;
    let (acme, _) = gw
        .state
        .store
        .ensure_entity("acme <b>&</b> co")
        .await
        .expect("entity");
    let (support_id, support) = gw.token_with_id(cpu_gateway::store::Role::Support).await;

    // A wrong token is refused and not shown back.
    b.client
        .goto(&format!("{}/console/login", gw.base))
        .await
        .expect("login");
    b.fill("#token", "cgw_not-a-real-token").await;
    b.click("#sign-in").await;
    let err = b
        .until("the sign-in error", |c| async move {
            c.find(Locator::Css("#token-error"))
                .await
                .ok()?
                .text()
                .await
                .ok()
        })
        .await;
    assert!(err.contains("unknown or revoked"), "{err}");
    assert!(!b
        .client
        .source()
        .await
        .expect("src")
        .contains("cgw_not-a-real-token"));

    sign_in(&b, &gw, &support).await;
    b.client
        .find(Locator::Css("#act-for"))
        .await
        .expect("entity picker")
        .select_by_value(&acme.id)
        .await
        .expect("acme");
    b.click("header form[action='/console/act-for'] button")
        .await;
    b.until("acting for acme", |c| async move {
        let t = c
            .find(Locator::Css("header .entity"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (t == "acme <b>&</b> co").then_some(())
    })
    .await;
    assert!(
        b.text("header .badge-warn").await.is_some(),
        "impersonation is visible"
    );

    b.click("#card-psa [data-action=connect]").await;
    b.fill("#psa-username", "demo-psa").await;
    b.fill("#psa-password", "psa-demo-password").await;
    b.click("#connect-psa [data-save]").await;
    card_status(&b, "psa", "connected").await;
    b.screenshot("console-support").await;

    let audit = cpu_gateway::store::AuditLog::list(&gw.state.store, &acme.id, 50)
        .await
        .expect("audit");
    let connect = audit
        .iter()
        .find(|a| a.action == "datasource.connect")
        .expect("connect audited");
    assert!(
        connect.impersonation,
        "support's act is audited as impersonation"
    );
    assert_eq!(connect.actor_token_id.as_deref(), Some(support_id.as_str()));
    assert!(audit.iter().any(|a| a.action == "console.act_for"));
    assert!(
        cpu_gateway::store::AuditLog::list(&gw.state.store, &gw.entity_id, 50)
            .await
            .expect("audit")
            .iter()
            .all(|a| a.action != "datasource.connect"),
        "nothing was done for support's own entity"
    );
    b.client
        .goto(&format!("{}/console/audit", gw.base))
        .await
        .expect("audit page");
    let page = b.client.source().await.expect("src");
    assert!(page.contains("datasource.connect") && page.contains("support token"));

    // Revoking the token signs the browser out at the next click.
    assert!(gw
        .state
        .store
        .revoke_token(&support_id)
        .await
        .expect("revoke"));
    b.client
        .goto(&format!("{}/console/data-sources", gw.base))
        .await
        .expect("page");
    assert!(
        b.attr("#token", "name").await.is_some(),
        "back at the sign-in form"
    );
}
