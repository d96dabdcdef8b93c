//! T-Mining SCR's webhook signature: `X-Scr-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"`. The emulation signs its `onRelease` deliveries with [`sign`]; the Data Sources
//! intake verifies them against the same definition.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header of the signed form of a delivery.
pub const SIGNATURE_HEADER: &str = "X-Scr-Signature";

type HmacSha256 = Hmac<Sha256>;

/// The HMAC of `"<t>.<body>"` under `secret`, ready to finalize or verify.
pub fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header value for `body` at `t` (what a sender computes).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}
