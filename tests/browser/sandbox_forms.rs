//! The sandbox's forms in a real browser: a post without this browser's CSRF token (or with
//! another one) is refused with a page saying so and changes nothing, while the forms
//! themselves still work; a refused party form comes back with the message next to the input
//! at fault, the values as chosen, and nothing saved.

use fantoccini::Locator;

use super::support::{sandbox, Browser};

/// POST a form from the page with `fetch` (same origin): (status, body text).
async fn post(b: &Browser, path: &str, fields: serde_json::Value) -> (u64, String) {
    let r = b
        .client
        .execute_async(
            "const [path, fields, done] = arguments;
             fetch(path, {method: 'POST', credentials: 'same-origin', redirect: 'manual',
                          body: new URLSearchParams(fields)})
               .then(async r => done([r.status, await r.text()]))
               .catch(e => done([0, String(e)]));",
            vec![serde_json::json!(path), fields],
        )
        .await
        .expect("fetch");
    let (status, body): (u64, String) = serde_json::from_value(r).expect("status and body");
    (status, body)
}

async fn containers(b: &Browser) -> usize {
    b.client
        .find_all(Locator::Css("tr[data-container]"))
        .await
        .expect("rows")
        .len()
}

#[tokio::test]
async fn sandbox_forms_need_the_csrf_token_of_the_browser() {
    let Some((b, base)) = sandbox("sandbox_forms_need_the_csrf_token_of_the_browser").await else {
        return;
    };
    let token = b
        .attr("#new-release input[name=csrf]", "value")
        .await
        .expect("the form carries a token");
    assert_eq!(token.len(), 43);
    // Every form of the page carries it.
    let forms: Vec<Option<String>> = b.eval("return [...document.querySelectorAll('form[method=post]')].map(f => f.querySelector('input[name=csrf]')?.value ?? null);", vec![]).await;
    assert!(forms.len() >= 4, "{forms:?}");
    assert!(
        forms.iter().all(|t| t.as_deref() == Some(token.as_str())),
        "{forms:?}"
    );
    // The cookie is not readable by the page's script (HttpOnly).
    let script_cookies = b
        .client
        .execute("return document.cookie;", vec![])
        .await
        .expect("cookies");
    assert!(!script_cookies.to_string().contains(&token));

    let release = |csrf: Option<&str>| {
        let mut f = serde_json::json!({
            "form": "release", "action": "release", "back": "index", "party": "agent",
            "equipment": "MSCU1234566", "locode": "BEANR", "terminal": "psa", "to": "forwarder"
        });
        if let Some(c) = csrf {
            f["csrf"] = serde_json::json!(c);
        }
        f
    };
    // Without a token, with a guessed one: 403, a page that says why, nothing changed.
    for (what, fields) in [
        ("no token", release(None)),
        (
            "a wrong token",
            release(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
        ),
    ] {
        let (status, body) = post(&b, "/sandbox/act", fields).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(
            body.contains("form token is missing or wrong"),
            "{what}: {body}"
        );
        assert!(body.contains("Nothing was changed"), "{what}");
    }
    for path in [
        "/sandbox/worlds",
        "/sandbox/world/reset",
        "/sandbox/clock",
        "/sandbox/faults/clear",
    ] {
        let (status, _) = post(&b, path, serde_json::json!({"hours": "1"})).await;
        assert_eq!(status, 403, "{path} without a token");
    }
    b.open(&format!("{base}/")).await;
    assert_eq!(containers(&b).await, 0, "nothing was released");
    assert_eq!(b.text("[data-world]").await.as_deref(), Some("default"));
    // The refusal page itself, in the browser.
    b.client
        .execute(
            "const f = document.getElementById('new-release'); f.querySelector('input[name=csrf]').value = 'forged'; f.submit();",
            vec![],
        )
        .await
        .expect("submit a forged token");
    let refused = b.wait_text("[data-refused]").await;
    assert!(refused.contains("Nothing was changed"), "{refused}");
    b.screenshot("sandbox-csrf-refused").await;

    // With the page's own token (a click), the form works.
    b.open(&format!("{base}/")).await;
    b.click("[data-act=release]").await;
    b.until("the container page", |c| async move {
        c.find(Locator::Css("[data-light]")).await.ok().map(|_| ())
    })
    .await;
    b.open(&format!("{base}/")).await;
    assert_eq!(containers(&b).await, 1);
    assert_eq!(
        b.attr("#new-release input[name=csrf]", "value")
            .await
            .as_deref(),
        Some(token.as_str()),
        "the browser keeps its token"
    );
}

#[tokio::test]
async fn a_refused_party_form_shows_the_message_at_its_field() {
    let Some((b, _)) = sandbox("a_refused_party_form_shows_the_message_at_its_field").await else {
        return;
    };

    // The index's release form: a bad container number, at the container input, as typed.
    b.fill("#nr-equipment", "MSCU123").await;
    b.fill("#nr-locode", "BEANR").await;
    b.select("#nr-to", "forwarder").await;
    b.click("[data-act=release]").await;
    b.assert_refused_at("#nr-equipment", "MSCU123").await;
    assert!(b.text("[data-error]").await.is_none(), "not above the page");
    assert_eq!(containers(&b).await, 0, "nothing released");

    // Released; then the agent transfers to itself: the core names releaseTo, shown at "Transfer to".
    b.fill("#nr-equipment", "MSCU1234566").await;
    b.click("[data-act=release]").await;
    b.until("the container page", |c| async move {
        c.find(Locator::Css("[data-light]")).await.ok().map(|_| ())
    })
    .await;
    let rights_before = b.text("main table tbody").await.unwrap_or_default();
    b.select("#rr-party", "agent").await;
    b.select("#rr-action", "transfer").await;
    b.select("#rr-to", "agent").await;
    b.click("[data-act=rights]").await;
    let msg = b.wait_text("form[data-form=rights] #rr-to-error").await;
    assert!(msg.contains("release party or transport operator"), "{msg}");
    assert!(
        !msg.contains("releaseTo"),
        "the JSON name is not the message: {msg}"
    );
    assert_eq!(
        b.attr("#rr-to", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert!(b.text("#rr-party-error").await.is_none());
    assert!(b.text("[data-error]").await.is_none(), "not above the page");
    // The choices stay as made.
    for (css, want) in [
        ("#rr-party", "agent"),
        ("#rr-action", "transfer"),
        ("#rr-to", "agent"),
    ] {
        assert_eq!(b.value(css).await.as_deref(), Some(want), "{css}");
    }
    // The other forms are not marked.
    assert!(b
        .text("form[data-form=pickup] [data-field-error]")
        .await
        .is_none());
    // Nothing saved: the release rights are as before.
    assert_eq!(
        b.text("main table tbody").await.unwrap_or_default(),
        rights_before
    );
    b.screenshot("sandbox-field-error").await;

    // Another terminal's operator: the acting party is at fault.
    terminal_event(&b, "dpworld", "discharge").await;
    let msg = b
        .wait_text("form[data-form=terminal] #te-party-error")
        .await;
    assert!(msg.contains("is at terminal"), "{msg}");
    assert!(b
        .text("form[data-form=rights] [data-field-error]")
        .await
        .is_none());

    // A refusal no input explains (the stay is final after gate out) goes above its form.
    terminal_event(&b, "psa", "gate_out").await;
    b.wait_text_is("[data-light=GateOperation] strong", "GATEOUTRECEIVED")
        .await;
    terminal_event(&b, "psa", "gate_out").await;
    let msg = b
        .wait_text("form[data-form=terminal] [data-form-error]")
        .await;
    assert!(msg.contains("already gated out"), "{msg}");
}

/// Send a terminal event from the container page's terminal form.
async fn terminal_event(b: &Browser, party: &str, action: &str) {
    b.select("#te-party", party).await;
    b.select("#te-action", action).await;
    b.click("[data-act=terminal]").await;
}
