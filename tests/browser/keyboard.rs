//! Keyboard: on every page of the console and the sandbox, pressing Tab from the top reaches
//! every visible button, link, input and select, once each, in document order (no positive
//! tabindex, nothing skipped, nothing unreachable), and every control has a name (a label
//! for inputs and selects, text or aria-label for buttons and links). The modal's focus trap
//! and Escape are tested in `console.rs`.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use super::support::{sign_in, Browser, Gateway};

/// Numbers every control a keyboard user must reach (visible, enabled), in document order,
/// and returns their descriptions; focus goes back to the top of the page.
const MARK_CONTROLS: &str = r#"
const sel = 'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]';
const els = [...document.querySelectorAll(sel)].filter(el =>
  !el.disabled && el.getClientRects().length > 0 && !el.closest('dialog:not([open])')
  && el.getAttribute('tabindex') !== '-1');
els.forEach((el, i) => el.setAttribute('data-kb', String(i)));
// Start from the top: focus a marker before everything (not itself a tab stop).
let start = document.getElementById('kb-start');
if (!start) {
  start = document.createElement('span');
  start.id = 'kb-start';
  start.tabIndex = -1;
  document.body.prepend(start);
}
start.focus();
return els.map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
  + ' "' + (el.getAttribute('aria-label') || el.textContent || el.name || '').trim().slice(0, 40) + '"');
"#;

/// Controls without a name a screen reader could read.
const UNLABELLED: &str = r#"
const named = el => {
  if ((el.getAttribute('aria-label') || '').trim()) return true;
  const by = el.getAttribute('aria-labelledby');
  if (by && by.split(/\s+/).some(id => (document.getElementById(id)?.textContent || '').trim())) return true;
  if (/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) return [...(el.labels || [])].some(l => l.textContent.trim());
  return el.textContent.trim().length > 0;
};
return [...document.querySelectorAll('[data-kb]')].filter(el => !named(el))
  .map(el => el.outerHTML.slice(0, 120));
"#;

/// What has focus: its `data-kb` number, or a description when it is not a marked control.
const FOCUSED: &str = r#"
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement || el.id === 'kb-start') return null;
return el.getAttribute('data-kb') ?? ('unmarked ' + el.outerHTML.slice(0, 120));
"#;

async fn press_tab(b: &Browser) {
    let tab: char = Key::Tab.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: tab })
        .then(KeyAction::Up { value: tab });
    b.client.perform_actions(keys).await.expect("press Tab");
}

/// Tab through the page open in `b`: every control is reached once, in document order, and
/// every control is labelled.
pub async fn assert_tab_reaches_every_control(b: &Browser, page: &str) {
    let controls: Vec<String> = serde_json::from_value(
        b.client
            .execute(MARK_CONTROLS, vec![])
            .await
            .expect("mark controls"),
    )
    .expect("descriptions");
    assert!(!controls.is_empty(), "{page}: no controls found");
    let unlabelled = b.client.execute(UNLABELLED, vec![]).await.expect("labels");
    assert_eq!(
        unlabelled,
        serde_json::json!([]),
        "{page}: controls without a label"
    );
    let mut reached: Vec<usize> = Vec::new();
    // Date and time inputs take one Tab per part (day, month, year): at most 3 per control.
    for _ in 0..controls.len() * 3 + 5 {
        press_tab(b).await;
        let focused = b.client.execute(FOCUSED, vec![]).await.expect("focus");
        match focused {
            serde_json::Value::Null if !reached.is_empty() => break,
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => match s.parse::<usize>() {
                Ok(i) if reached.first() == Some(&i) => break,
                // Still inside a control with parts (a date's day, month and year).
                Ok(i) if reached.last() == Some(&i) => continue,
                Ok(i) => reached.push(i),
                Err(_) => panic!("{page}: Tab reached something that is not a control: {s}"),
            },
            other => panic!("{page}: unexpected focus {other}"),
        }
    }
    let expected: Vec<usize> = (0..controls.len()).collect();
    let named = |ix: &[usize]| -> Vec<String> {
        ix.iter()
            .map(|i| controls.get(*i).cloned().unwrap_or_default())
            .collect()
    };
    assert_eq!(
        named(&reached),
        named(&expected),
        "{page}: Tab order differs from the document order of the controls"
    );
}

#[tokio::test]
async fn tab_reaches_every_control_of_every_console_page() {
    let Some(b) = Browser::start("tab_reaches_every_control_of_every_console_page").await else {
        return;
    };
    let gw = Gateway::start().await;
    // Enough audit entries and notifications for the pagers to show.
    let actor = cpu_gateway::store::Actor::system(gw.entity_id.clone());
    for _ in 0..2 {
        let record = cpu_gateway::store::AuditRecord {
            action: "keyboard.test",
            target: "t",
            outcome: "ok",
            detail: None,
        };
        cpu_gateway::store::AuditLog::record(&gw.state.store, &actor, &record)
            .await
            .expect("audit");
    }
    for i in 0..51 {
        let n = cpu_gateway::store::notifications::NewNotification {
            entity_id: gw.entity_id.clone(),
            source: "poll",
            envelope: serde_json::json!({
                "id": "MSCU1234565", "publicReferenceId": format!("kb-{i}"),
                "timestamp": format!("2024-05-01T10:{i:02}:00Z"), "event": "GateOut",
                "errors": [], "warnings": [], "body": {}
            }),
        };
        gw.state
            .store
            .insert_notification(&n)
            .await
            .expect("notification");
    }
    let support = gw.token(cpu_gateway::store::Role::Support).await;
    sign_in(&b, &gw, &support).await;
    let session = b
        .client
        .get_named_cookie("cgw_console")
        .await
        .expect("session cookie")
        .value()
        .to_owned();
    for (page, path) in [
        ("data sources", "/console/data-sources"),
        ("sync history", "/console/data-sources/psa"),
        ("containers", "/console/containers?equipment=NOTACONTAINER"),
        ("operations", "/console/operations"),
        ("notifications", "/console/notifications?equipment=bad"),
        (
            "notifications paged",
            "/console/notifications?event=GateOut",
        ),
        ("audit", "/console/audit"),
        ("audit paged", "/console/audit?limit=1"),
        ("audit refused", "/console/audit?action=Bad&from=never"),
    ] {
        b.client
            .goto(&format!("{}{path}", gw.base))
            .await
            .expect("page");
        assert_tab_reaches_every_control(&b, page).await;
        // No page shows a secret: not the token signed in with, not the session.
        let src = b.client.source().await.expect("source");
        assert!(!src.contains(&support), "{page} shows the token");
        assert!(!src.contains(&session), "{page} shows the session cookie");
    }
    b.screenshot("console-keyboard").await;
    // The sign-in page too.
    b.client.delete_all_cookies().await.expect("cookies");
    b.client
        .goto(&format!("{}/console/login", gw.base))
        .await
        .expect("login");
    assert_tab_reaches_every_control(&b, "sign in").await;
}

#[tokio::test]
async fn tab_reaches_every_control_of_every_sandbox_page() {
    let Some(b) = Browser::start("tab_reaches_every_control_of_every_sandbox_page").await else {
        return;
    };
    // A frozen clock: the page reloads itself when the clock's minute changes.
    let config = cpu_gateway::simulate::SimConfig {
        frozen_clock: Some(chrono::Utc::now()),
        ..Default::default()
    };
    let sim = cpu_gateway::simulate::Application::build(config, "127.0.0.1:0")
        .await
        .expect("simulator");
    let base = format!("http://127.0.0.1:{}", sim.port());
    tokio::spawn(sim.run_until_stopped());
    // A container to show.
    b.client.goto(&format!("{base}/")).await.expect("sandbox");
    b.click("[data-act=release]").await;
    b.until("the container page", |c| async move {
        c.find(fantoccini::Locator::Css("[data-light]"))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    assert_tab_reaches_every_control(&b, "sandbox container").await;
    // A refused form: its message sits between its controls, which all stay reachable.
    b.select("#rr-party", "agent").await;
    b.select("#rr-action", "transfer").await;
    b.select("#rr-to", "agent").await;
    b.click("[data-act=rights]").await;
    b.wait_text("#rr-to-error").await;
    assert_tab_reaches_every_control(&b, "sandbox container, refused form").await;
    for (page, path) in [
        ("sandbox index", "/"),
        ("sandbox faults", "/sandbox/faults"),
        ("sandbox deliveries", "/sandbox/deliveries"),
    ] {
        b.client.goto(&format!("{base}{path}")).await.expect("page");
        assert_tab_reaches_every_control(&b, page).await;
    }
    b.screenshot("sandbox-keyboard").await;
}
