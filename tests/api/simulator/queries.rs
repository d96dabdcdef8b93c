//! What a party reads: the release detail, the company registry and the notification service.

use super::ready_for_truck;
use crate::sim_helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Get release detail
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn release_detail_answers_202_then_a_get_release_detail_notification() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let eq = container(501);
    ready_for_truck(&sim, &c, &eq).await;
    let r = c
        .psa
        .request(Method::GET, &release_detail_path(&eq))
        .header("External-Reference-Id", "detail-1")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.headers()
            .get("External-Reference-Id")
            .and_then(|v| v.to_str().ok()),
        Some("detail-1")
    );
    let body: Value = r.json().await.expect("json");
    let reference = body["publicReferenceId"].as_str().expect("ref");
    let n = c
        .psa
        .notifications(&format!("publicReferenceId={reference}"))
        .await;
    n.expect(200);
    assert_eq!(n.body.as_array().map(Vec::len), Some(1));
    assert_eq!(n.body[0]["event"], json!("GetReleaseDetail"));
    let detail = envelope(&n.body[0])["body"].clone();
    assert_eq!(detail["equipmentNumber"], json!(eq));
    assert_eq!(detail["status"], json!("RELEASED"));
    assert_eq!(detail["terminalCode"], json!("869"));
    let lights = detail["lights"].as_array().expect("lights");
    assert_eq!(lights.len(), 5);
    assert!(lights
        .iter()
        .any(|l| l["greenLightName"] == json!("TerminalRelease") && l["color"] == json!("Green")));
    // The owner and the agent may ask too.
    c.trucker
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .reference();
    c.agent
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .reference();

    // An uninvolved party: 401, and no notification is created for it.
    let before = sim.snapshot(&eq).await;
    c.trucker2
        .call(Method::GET, &release_detail_path(&eq), None)
        .await
        .problem(401);
    c.trucker2
        .notifications(&format!("equipmentNumber={eq}"))
        .await
        .problem(405);
    Sim::same(&before, &sim.snapshot(&eq).await);
    // Bad container number: 400. Unknown container: 202 then NotValidated.
    c.psa
        .call(
            Method::GET,
            &release_detail_path(&bad_check_digit(&eq)),
            None,
        )
        .await
        .bad_field("equipmentNumber");
    let reference = c
        .psa
        .call(Method::GET, &release_detail_path(&container(502)), None)
        .await
        .reference();
    let n = c
        .psa
        .notifications(&format!("publicReferenceId={reference}"))
        .await;
    assert_eq!(n.expect(200).body[0]["event"], json!("NotValidated"));
}

// ---------------------------------------------------------------------------------------------
// Company registry
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn company_registry_filters_pages_and_refuses() {
    let sim = Sim::start().await;
    let agent = sim.login("agent").await;
    let psa = sim.party("psa").clone();
    let search = |q: String| {
        let agent = agent.clone();
        async move {
            agent
                .call(
                    Method::GET,
                    &format!("/certified-pickup/v1/entities?{q}"),
                    None,
                )
                .await
        }
    };

    // Each filter alone finds PSA.
    for q in [
        format!("EORI={}", psa.eori.clone().unwrap_or_default()),
        format!("DUNS={}", psa.duns.clone().unwrap_or_default()),
        format!("VAT={}", psa.vat.clone().unwrap_or_default()),
        format!("NxtEntityId={}", psa.nxt_entity_id),
        format!("apcsCode={}", psa.apcs_code.clone().unwrap_or_default()),
    ] {
        let r = search(q.clone()).await;
        r.expect(200);
        assert_eq!(r.body["totalRows"], json!(1), "{q}: {}", r.text);
        assert_eq!(
            r.body["phoneBookItems"][0]["nxtEntityId"],
            json!(psa.nxt_entity_id)
        );
        assert_eq!(r.body["phoneBookItems"][0]["name"], json!(psa.name));
    }
    // Partial, case-insensitive name.
    let r = search("entityName=aNtWeRp".into()).await;
    let names: Vec<&str> = r.body["phoneBookItems"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    let want: Vec<&str> = sim
        .parties
        .values()
        .filter(|p| p.name.to_lowercase().contains("antwerp"))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names.len(), want.len(), "{names:?}");
    assert!(names.len() >= 3);
    // Filters are ANDed.
    let r = search(format!(
        "VAT={}&entityName=PSA",
        psa.vat.clone().unwrap_or_default()
    ))
    .await;
    assert_eq!(r.expect(200).body["totalRows"], json!(1));
    let r = search(format!(
        "VAT={}&entityName=DP%20World",
        psa.vat.clone().unwrap_or_default()
    ))
    .await;
    assert_eq!(r.expect(200).body["totalRows"], json!(0));
    assert_eq!(r.body["phoneBookItems"], json!([]));
    // Paging: default page size 25; page 2 of size 3.
    let total = sim
        .parties
        .values()
        .filter(|p| p.name.to_lowercase().contains('a'))
        .count();
    assert!(total > 6);
    let r = search("entityName=a".into()).await;
    assert_eq!(r.body["searchFilter"]["pageSize"], json!(25));
    assert_eq!(r.body["searchFilter"]["page"], json!(1));
    assert_eq!(r.body["totalRows"], json!(total));
    let r = search("entityName=a&page=2&pageSize=3".into()).await;
    assert_eq!(r.body["phoneBookItems"].as_array().map(Vec::len), Some(3));
    assert_eq!(r.body["totalPages"], json!(total.div_ceil(3)));
    let r = search(format!(
        "entityName=a&page={}&pageSize=3",
        total.div_ceil(3)
    ))
    .await;
    assert_eq!(
        r.body["phoneBookItems"].as_array().map(Vec::len),
        Some(total - 3 * (total.div_ceil(3) - 1))
    );
    // 400: no filter at all; bad paging.
    search(String::new()).await.bad_field("query");
    search("page=1&pageSize=10".into()).await.bad_field("query");
    search("entityName=a&pageSize=0".into())
        .await
        .bad_field("pageSize");
    search("entityName=a&page=0".into()).await.bad_field("page");
    search("entityName=a&page=x".into()).await.problem(400);
    // 405 for another method; 401.
    agent
        .call(
            Method::POST,
            "/certified-pickup/v1/entities?entityName=a",
            None,
        )
        .await
        .problem(405);
    agent
        .with("", agent.key.as_deref())
        .call(
            Method::GET,
            "/certified-pickup/v1/entities?entityName=a",
            None,
        )
        .await
        .problem(401);
}

// ---------------------------------------------------------------------------------------------
// Notification service
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn notifications_filter_window_and_refusals() {
    let sim = Sim::start().await;
    let c = sim.cast().await;
    let (eq1, eq2) = (container(601), container(602));
    c.agent.release_to(&eq1, &c.trucker.party).await.reference();
    c.agent.release_to(&eq2, &c.trucker.party).await.reference();
    let tr = c.psa.terminal_release(&eq1, "Release").await.reference();
    let release_id = sim.state(&eq1).await["releaseRights"][0]["releaseId"]
        .as_str()
        .expect("releaseId")
        .to_owned();
    let events = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n["event"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    // Filters.
    let r = c.psa.notifications(&format!("equipmentNumber={eq1}")).await;
    r.expect(200);
    let ev = events(&r);
    assert!(ev.contains(&"Release".to_owned()) && ev.contains(&"TerminalRelease".to_owned()));
    assert!(r
        .body
        .as_array()
        .is_some_and(|a| a.iter().all(|n| n["equipmentNumber"] == json!(eq1)
            && n["nxtEntityId"] == json!(c.psa.party.nxt_entity_id))));
    let r = c
        .psa
        .notifications("notificationEvent=TerminalRelease")
        .await;
    assert_eq!(events(r.expect(200)), vec!["TerminalRelease"]);
    let r = c.psa.notifications("notificationEvent=Release").await;
    assert_eq!(events(r.expect(200)).len(), 2);
    let r = c
        .psa
        .notifications(&format!("notificationEvent=Release&equipmentNumber={eq2}"))
        .await;
    assert_eq!(events(r.expect(200)).len(), 1);
    let r = c
        .psa
        .notifications(&format!("publicReferenceId={tr}"))
        .await;
    assert!(r
        .expect(200)
        .body
        .as_array()
        .is_some_and(|a| a.iter().all(|n| n["publicReferenceId"] == json!(tr))));
    let r = c
        .agent
        .notifications(&format!("releaseId={release_id}"))
        .await;
    assert!(r
        .expect(200)
        .body
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|n| n["releaseId"] == json!(release_id))));
    // storedOn, with and without a time window (the clock stands at 10:00 UTC).
    c.psa.notifications("storedOn=2024-05-01").await.expect(200);
    c.psa
        .notifications("storedOn=2024-05-01T00:00:00Z")
        .await
        .expect(200);
    c.psa
        .notifications("storedOn=2024-05-01&timeWindowFrom=09:00&timeWindowTo=11:00")
        .await
        .expect(200);
    c.psa
        .notifications("storedOn=2024-05-01&timeWindowFrom=10:00&timeWindowTo=10:00:00")
        .await
        .expect(200);

    // 405: nothing matching, no parameters, window without storedOn, To < From, half a window.
    for q in [
        "storedOn=2024-05-02".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=10:30&timeWindowTo=11:00".to_owned(),
        format!("notificationEvent=TerminalRelease&equipmentNumber={eq2}"),
        format!("publicReferenceId={}", uuid::Uuid::new_v4()),
        String::new(),
        "timeWindowFrom=09:00&timeWindowTo=11:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=11:00&timeWindowTo=09:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=09:00".to_owned(),
        "storedOn=2024-05-01&timeWindowFrom=25:99&timeWindowTo=26:00".to_owned(),
        "storedOn=yesterday".to_owned(),
        "notificationEvent=Fireworks".to_owned(),
        "publicReferenceId=not-a-guid".to_owned(),
    ] {
        let r = c.psa.notifications(&q).await;
        assert_eq!(r.status, 405, "{q}: {}", r.text);
    }
    // 403: a notification sent to another company.
    let r = c
        .trucker2
        .notifications(&format!("publicReferenceId={tr}"))
        .await;
    r.problem(403);
    // 401.
    c.psa
        .with(&c.psa.token, None)
        .notifications(&format!("equipmentNumber={eq1}"))
        .await
        .problem(401);

    // Retention: 168 h.
    sim.advance(167 * 3600).await;
    let psa = sim.login("psa").await;
    psa.notifications(&format!("publicReferenceId={tr}"))
        .await
        .expect(200);
    sim.advance(2 * 3600).await;
    let psa = sim.login("psa").await;
    psa.notifications(&format!("publicReferenceId={tr}"))
        .await
        .problem(405);
    psa.notifications(&format!("equipmentNumber={eq1}"))
        .await
        .problem(405);
}
