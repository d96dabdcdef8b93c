//! The vault's cryptography: the master key ([`VaultKey`]) and the AES-256-GCM sealing of one
//! row's secret fields under the current key, bound to its entity and kind (associated data).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Row_, SecretFields, Vault, VaultError};
use crate::store::StoreError;

/// A 256-bit master key (redacted in `Debug`).
#[derive(Clone)]
pub struct VaultKey(Arc<Aes256Gcm>);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

impl VaultKey {
    /// Decode base64 (standard or URL-safe) of exactly 32 bytes.
    pub fn from_base64(b64: &SecretString) -> Result<Self, VaultError> {
        let text = b64.expose_secret().trim();
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| VaultError::BadKey("is not valid base64".into()))?,
        );
        Self::from_bytes(&bytes)
    }

    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!(
                "must decode to 32 bytes, got {}",
                bytes.len()
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(bytes)
            .map_err(|_| VaultError::BadKey("must decode to 32 bytes".into()))?;
        Ok(Self(Arc::new(cipher)))
    }

    /// A fresh random key and its base64 form (for first-run generation).
    pub fn generate() -> (Self, SecretString) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let b64 = SecretString::from(base64::engine::general_purpose::STANDARD.encode(*bytes));
        // 32 bytes is always a valid AES-256 key.
        let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(bytes.as_ref()));
        (Self(Arc::new(cipher)), b64)
    }
}

fn aad(entity_id: &str, kind: &str) -> Vec<u8> {
    // Length-prefixed so ("ab","c") and ("a","bc") differ.
    let mut v = Vec::with_capacity(entity_id.len() + kind.len() + 24);
    v.extend_from_slice(b"cpu-gateway/vault/v1");
    v.extend_from_slice(&(entity_id.len() as u32).to_be_bytes());
    v.extend_from_slice(entity_id.as_bytes());
    v.extend_from_slice(kind.as_bytes());
    v
}

impl Vault {
    pub(super) fn encrypt(
        &self,
        entity_id: &str,
        kind: &str,
        secrets: &SecretFields,
    ) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
        let key = self
            .keys
            .get(&self.current)
            .ok_or(VaultError::UnknownKeyVersion(self.current))?;
        let plain: BTreeMap<&str, &str> = secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plaintext = Zeroizing::new(
            serde_json::to_vec(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad(entity_id, kind);
        let ct = key
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_slice(),
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Tampered {
                kind: kind.to_owned(),
            })?;
        Ok((ct, nonce.to_vec()))
    }

    pub(super) fn open(
        &self,
        entity_id: &str,
        kind: &str,
        row: &Row_,
    ) -> Result<SecretFields, VaultError> {
        let key = self
            .keys
            .get(&row.key_version)
            .ok_or(VaultError::UnknownKeyVersion(row.key_version))?;
        let tampered = || VaultError::Tampered {
            kind: kind.to_owned(),
        };
        if row.nonce.len() != 12 {
            return Err(tampered());
        }
        let aad = aad(entity_id, kind);
        let plain = Zeroizing::new(
            key.0
                .decrypt(
                    Nonce::from_slice(&row.nonce),
                    Payload {
                        msg: &row.secret_blob,
                        aad: &aad,
                    },
                )
                .map_err(|_| tampered())?,
        );
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| tampered())?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect())
    }
}
