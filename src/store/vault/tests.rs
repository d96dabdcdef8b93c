use super::*;
use crate::store::test_support::{postgres_store, sqlite_store};
use secrecy::ExposeSecret;

fn secrets(pairs: &[(&str, &str)]) -> SecretFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
        .collect()
}

async fn setup() -> (Vault, Actor, Actor, tempfile::TempDir) {
    let (store, dir) = sqlite_store().await;
    let (a, _) = store.ensure_entity("a").await.expect("a");
    let (b, _) = store.ensure_entity("b").await.expect("b");
    let (key, _) = VaultKey::generate();
    let vault = Vault::new(store, 1, key, vec![]);
    (vault, Actor::system(a.id), Actor::system(b.id), dir)
}

#[tokio::test]
async fn round_trip_keeps_secrets_out_of_public_view_and_the_file() {
    let (vault, a, _b, dir) = setup().await;
    let stored = vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({"clientId": "psa-client", "username": "ops@psa"}),
            secrets(&[
                ("password", "hunter2-very-secret"),
                ("apiKey", "key-123456"),
            ]),
            SecretMerge::Replace,
        )
        .await
        .expect("put");
    assert_eq!(stored.secret_fields_set, vec!["apiKey", "password"]);
    let public = vault
        .get_public(&a.entity_id, "nxtport")
        .await
        .expect("get")
        .expect("exists");
    let text = format!("{public:?}");
    assert!(text.contains("psa-client"));
    assert!(
        !text.contains("hunter2") && !text.contains("key-123456"),
        "{text}"
    );
    let (_, s) = vault
        .decrypt(&a.entity_id, "nxtport")
        .await
        .expect("decrypt")
        .expect("exists");
    assert_eq!(s["password"].expose_secret(), "hunter2-very-secret");
    assert!(!format!("{s:?}").contains("hunter2"));
    // Nothing in clear text on disk (db + wal). The last connection can finish closing (in
    // its worker thread) just after `close()` returns, checkpointing the -wal file into the
    // database and removing it: a file that vanishes mid-scan means "scan again".
    vault.store().close().await;
    'scan: for _ in 0..50 {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir.path()).expect("dir") {
            match std::fs::read(entry.expect("entry").path()) {
                Ok(bytes) => files.push(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue 'scan;
                }
                Err(e) => panic!("read: {e}"),
            }
        }
        for bytes in files {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains("hunter2-very-secret") && !hay.contains("key-123456"));
        }
        return;
    }
    panic!("the database files kept changing");
}

#[tokio::test]
async fn keep_missing_merges_and_replace_drops() {
    let (vault, a, _b, _dir) = setup().await;
    let j = serde_json::json!({});
    vault
        .put(
            &a,
            "psa",
            j.clone(),
            secrets(&[("password", "p1"), ("pin", "1")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put");
    vault
        .put(
            &a,
            "psa",
            j.clone(),
            secrets(&[("password", "p2")]),
            SecretMerge::KeepMissing,
        )
        .await
        .expect("update");
    let (_, s) = vault
        .decrypt(&a.entity_id, "psa")
        .await
        .expect("d")
        .expect("e");
    assert_eq!(s["password"].expose_secret(), "p2");
    assert_eq!(s["pin"].expose_secret(), "1");
    vault
        .put(
            &a,
            "psa",
            j,
            secrets(&[("password", "p3")]),
            SecretMerge::Replace,
        )
        .await
        .expect("replace");
    let (_, s) = vault
        .decrypt(&a.entity_id, "psa")
        .await
        .expect("d")
        .expect("e");
    assert_eq!(s.len(), 1);
}

#[tokio::test]
async fn tampered_ciphertext_is_detected() {
    let (vault, a, _b, _dir) = setup().await;
    vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({}),
            secrets(&[("password", "pw")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put");
    let blob: Vec<u8> = sqlx::query_scalar("SELECT secret_blob FROM credentials")
        .fetch_one(vault.store().pool())
        .await
        .expect("blob");
    let mut bad = blob.clone();
    bad[0] ^= 1;
    sqlx::query("UPDATE credentials SET secret_blob = $1")
        .bind(bad)
        .execute(vault.store().pool())
        .await
        .expect("tamper");
    let err = vault
        .decrypt(&a.entity_id, "nxtport")
        .await
        .expect_err("must fail");
    assert!(matches!(err, VaultError::Tampered { .. }), "{err}");
    assert!(!err.to_string().contains("pw"));
}

#[tokio::test]
async fn ciphertext_moved_to_another_entity_or_kind_fails() {
    let (vault, a, b, _dir) = setup().await;
    vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({}),
            secrets(&[("password", "a-secret")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put a");
    vault
        .put(
            &b,
            "nxtport",
            serde_json::json!({}),
            secrets(&[("password", "b-secret")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put b");
    // Copy A's blob and nonce into B's row: B must not decrypt A's secret.
    sqlx::query(
            "UPDATE credentials SET secret_blob = (SELECT secret_blob FROM credentials WHERE entity_id = $1), \
             nonce = (SELECT nonce FROM credentials WHERE entity_id = $1) WHERE entity_id = $2",
        )
        .bind(a.entity_id.clone())
        .bind(b.entity_id.clone())
        .execute(vault.store().pool())
        .await
        .expect("move");
    assert!(matches!(
        vault.decrypt(&b.entity_id, "nxtport").await,
        Err(VaultError::Tampered { .. })
    ));
    // And under another kind (wrong AAD).
    sqlx::query("UPDATE credentials SET kind = 'psa' WHERE entity_id = $1")
        .bind(a.entity_id.clone())
        .execute(vault.store().pool())
        .await
        .expect("rename");
    assert!(matches!(
        vault.decrypt(&a.entity_id, "psa").await,
        Err(VaultError::Tampered { .. })
    ));
}

#[tokio::test]
async fn wrong_key_fails_and_rotation_reencrypts() {
    let (vault, a, _b, _dir) = setup().await;
    vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({}),
            secrets(&[("password", "pw")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put");
    let (other, _) = VaultKey::generate();
    let wrong = Vault::new(vault.store().clone(), 1, other.clone(), vec![]);
    assert!(matches!(
        wrong.decrypt(&a.entity_id, "nxtport").await,
        Err(VaultError::Tampered { .. })
    ));
    // Version 2 with version 1 retired: old rows still decrypt, rotate rewrites them.
    let old_key = vault.keys[&1].clone();
    let v2 = Vault::new(vault.store().clone(), 2, other.clone(), vec![(1, old_key)]);
    let (_, s) = v2
        .decrypt(&a.entity_id, "nxtport")
        .await
        .expect("d")
        .expect("e");
    assert_eq!(s["password"].expose_secret(), "pw");
    // A row read for rotation and then written again (a replica still on version 1) is
    // not overwritten with the secrets read before that write.
    let read = Vault::load(vault.store().pool(), &a.entity_id, "nxtport")
        .await
        .expect("load")
        .expect("row");
    vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({}),
            secrets(&[("password", "pw-new")]),
            SecretMerge::KeepMissing,
        )
        .await
        .expect("put");
    assert!(!v2
        .rotate_row(&a.entity_id, "nxtport", &read)
        .await
        .expect("stale row"));
    let (_, s) = v2
        .decrypt(&a.entity_id, "nxtport")
        .await
        .expect("d")
        .expect("e");
    assert_eq!(s["password"].expose_secret(), "pw-new");
    assert_eq!(v2.rotate().await.expect("rotate"), 1);
    assert_eq!(v2.rotate().await.expect("rotate again"), 0);
    let audit = AuditLog::list(vault.store(), &a.entity_id, 50)
        .await
        .expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "credentials.rotate")
            .count(),
        1
    );
    let only_v2 = Vault::new(vault.store().clone(), 2, other, vec![]);
    let (c, s) = only_v2
        .decrypt(&a.entity_id, "nxtport")
        .await
        .expect("d")
        .expect("e");
    assert_eq!(c.key_version, 2);
    assert_eq!(s["password"].expose_secret(), "pw-new");
    // The old vault (only version 1) can no longer read it.
    assert!(matches!(
        vault.decrypt(&a.entity_id, "nxtport").await,
        Err(VaultError::UnknownKeyVersion(2))
    ));
}

#[tokio::test]
async fn writes_and_deletes_are_audited_without_secrets() {
    let (vault, a, _b, _dir) = setup().await;
    vault
        .put(
            &a,
            "nxtport",
            serde_json::json!({"username": "u"}),
            secrets(&[("password", "s3cr3t-value")]),
            SecretMerge::Replace,
        )
        .await
        .expect("put");
    assert!(vault.delete(&a, "nxtport").await.expect("delete"));
    assert!(!vault.delete(&a, "nxtport").await.expect("delete again"));
    let log = AuditLog::list(vault.store(), &a.entity_id, 10)
        .await
        .expect("list");
    let actions: Vec<_> = log
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("credentials.delete", "not_found"),
            ("credentials.delete", "ok"),
            ("credentials.create", "ok")
        ]
    );
    let text = serde_json::to_string(&log).expect("json");
    assert!(
        !text.contains("s3cr3t-value") && text.contains("password"),
        "{text}"
    );
}

/// Concurrent saves of one credential that does not exist yet (`ROUNDS` kinds, `N` saves
/// each, all at once): every save succeeds, one row per kind, one `credentials.create` and
/// `N - 1` `credentials.update` per kind, and the stored secret is one of the submitted ones.
async fn concurrent_first_puts(store: Store) {
    const N: usize = 8;
    const ROUNDS: usize = 4;
    let (e, _) = store.ensure_entity("racer").await.expect("entity");
    let (key, _) = VaultKey::generate();
    let vault = Vault::new(store, 1, key, vec![]);
    let actor = Actor::system(e.id.clone());
    for round in 0..ROUNDS {
        let kind = format!("race-{round}");
        let results = futures::future::join_all((0..N).map(|i| {
            let (vault, actor, kind) = (vault.clone(), actor.clone(), kind.clone());
            tokio::spawn(async move {
                vault
                    .put(
                        &actor,
                        &kind,
                        serde_json::json!({"username": format!("user-{i}")}),
                        secrets(&[("password", format!("pw-{round}-{i}").as_str())]),
                        SecretMerge::KeepMissing,
                    )
                    .await
            })
        }))
        .await;
        for r in results {
            r.expect("task")
                .expect("every concurrent first save succeeds");
        }
        let rows: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM credentials WHERE entity_id = $1 AND kind = $2",
        )
        .bind(e.id.clone())
        .bind(kind.clone())
        .fetch_one(vault.store().pool())
        .await
        .expect("count");
        assert_eq!(rows, 1, "{kind}");
        let (_, s) = vault
            .decrypt(&e.id, &kind)
            .await
            .expect("decrypts")
            .expect("exists");
        let pw = s["password"].expose_secret();
        assert!(
            (0..N).any(|i| pw == format!("pw-{round}-{i}")),
            "{kind}: stored password is none of the submitted ones"
        );
    }
    let log = AuditLog::list(vault.store(), &e.id, 1000)
        .await
        .expect("audit");
    for round in 0..ROUNDS {
        let kind = format!("race-{round}");
        let count = |action: &str| {
            log.iter()
                .filter(|l| l.target == kind && l.action == action && l.outcome == "ok")
                .count()
        };
        assert_eq!(
            (count("credentials.create"), count("credentials.update")),
            (1, N - 1),
            "{kind}"
        );
    }
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains("pw-"), "secret in the audit log: {text}");
}

/// Concurrent partial updates (`SecretMerge::KeepMissing`), each of a different secret field
/// of one existing credential: every change survives (no lost update).
async fn concurrent_partial_updates(store: Store) {
    const N: usize = 8;
    const ROUNDS: usize = 4;
    let (e, _) = store.ensure_entity("merger").await.expect("entity");
    let (key, _) = VaultKey::generate();
    let vault = Vault::new(store, 1, key, vec![]);
    let actor = Actor::system(e.id.clone());
    let field = |i: usize| format!("field{i}");
    let initial: SecretFields = (0..N)
        .map(|i| (field(i), SecretString::from("old".to_owned())))
        .collect();
    vault
        .put(
            &actor,
            "merge",
            serde_json::json!({}),
            initial,
            SecretMerge::Replace,
        )
        .await
        .expect("first save");
    for round in 0..ROUNDS {
        let results = futures::future::join_all((0..N).map(|i| {
            let (vault, actor, name) = (vault.clone(), actor.clone(), field(i));
            tokio::spawn(async move {
                vault
                    .put(
                        &actor,
                        "merge",
                        serde_json::json!({}),
                        secrets(&[(name.as_str(), format!("new-{round}-{i}").as_str())]),
                        SecretMerge::KeepMissing,
                    )
                    .await
            })
        }))
        .await;
        for r in results {
            r.expect("task").expect("every partial update succeeds");
        }
        let (_, s) = vault
            .decrypt(&e.id, "merge")
            .await
            .expect("decrypts")
            .expect("exists");
        let lost: Vec<String> = (0..N)
            .filter(|&i| s[&field(i)].expose_secret() != format!("new-{round}-{i}"))
            .map(field)
            .collect();
        assert!(lost.is_empty(), "round {round}: lost updates of {lost:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_puts_sqlite() {
    let (store, _dir) = sqlite_store().await;
    concurrent_first_puts(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_puts_postgres() {
    let Some(store) = postgres_store().await else {
        return;
    };
    concurrent_first_puts(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_partial_updates_sqlite() {
    let (store, _dir) = sqlite_store().await;
    concurrent_partial_updates(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_partial_updates_postgres() {
    let Some(store) = postgres_store().await else {
        return;
    };
    concurrent_partial_updates(store).await;
}

#[test]
fn key_parsing_rejects_wrong_length_and_redacts() {
    assert!(VaultKey::from_base64(&SecretString::from("AAAA".to_owned())).is_err());
    assert!(VaultKey::from_base64(&SecretString::from("not base64!".to_owned())).is_err());
    let (k, b64) = VaultKey::generate();
    assert!(VaultKey::from_base64(&b64).is_ok());
    assert_eq!(format!("{k:?}"), "VaultKey([redacted])");
}
