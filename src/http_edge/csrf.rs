//! CSRF protection of the HTML forms of both servers, in one place: the random values, their
//! comparison, and the double-submit cookie (a random value in a SameSite=Strict, HttpOnly
//! cookie that every form of the page carries back in a hidden field).
//!
//! The console's sign-in form and every sandbox form use [`DoubleSubmit`]; the console's
//! signed-in forms carry their session's secret instead, compared with [`same_secret`].

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Name of the hidden form field that carries the value.
pub const FIELD: &str = "csrf";

/// 32 random bytes, URL-safe base64 (no padding): 43 characters.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Equal secrets, compared in constant time (over their SHA-256 digests, so neither the
/// length nor the first differing byte shows in the time taken). An empty secret never matches.
pub fn same_secret(a: &str, b: &str) -> bool {
    if a.is_empty() {
        return false;
    }
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// Does `v` look like a value of [`random_token`] (so a cookie set by someone else is not
/// echoed into a page)?
fn well_formed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A double-submit cookie: its name, path, lifetime and `Secure` flag.
#[derive(Debug, Clone, Copy)]
pub struct DoubleSubmit {
    /// Cookie name.
    pub cookie: &'static str,
    /// Cookie path (the pages whose forms carry it).
    pub path: &'static str,
    /// Max-Age in seconds (`None`: until the browser closes).
    pub max_age_secs: Option<i64>,
    /// Mark the cookie `Secure` (served over https).
    pub secure: bool,
}

impl DoubleSubmit {
    /// The cookie carrying `value` (HttpOnly, SameSite=Strict).
    pub fn cookie_of(&self, value: String) -> Cookie<'static> {
        let mut c = Cookie::build(self.cookie, value)
            .path(self.path)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .finish();
        if let Some(s) = self.max_age_secs {
            c.set_max_age(actix_web::cookie::time::Duration::seconds(s));
        }
        c
    }

    /// The cookie that removes it.
    pub fn removal(&self) -> Cookie<'static> {
        let mut c = self.cookie_of(String::new());
        c.make_removal();
        c
    }

    /// The value the browser holds, when it is one this server could have made.
    pub fn current(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.cookie)
            .map(|c| c.value().to_owned())
            .filter(|v| well_formed(v))
    }

    /// Does the posted field equal the browser's cookie?
    pub fn check(&self, req: &HttpRequest, posted: Option<&str>) -> bool {
        match (self.current(req), posted) {
            (Some(expected), Some(p)) => same_secret(&expected, p),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn secrets_compare_exactly() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &random_token()));
        assert!(!same_secret(&a, &a[..42]));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn double_submit_needs_the_cookie_and_the_same_field() {
        let ds = DoubleSubmit {
            cookie: "t_csrf",
            path: "/",
            max_age_secs: None,
            secure: false,
        };
        let v = random_token();
        let c = ds.cookie_of(v.clone());
        assert_eq!(c.same_site(), Some(SameSite::Strict));
        assert_eq!(c.http_only(), Some(true));
        let with = TestRequest::default().cookie(c.clone()).to_http_request();
        assert!(ds.check(&with, Some(&v)));
        assert!(!ds.check(&with, Some(&random_token())), "a wrong value");
        assert!(!ds.check(&with, None), "no field");
        let without = TestRequest::default().to_http_request();
        assert!(!ds.check(&without, Some(&v)), "no cookie");
        let odd = TestRequest::default()
            .cookie(Cookie::new("t_csrf", "<script>"))
            .to_http_request();
        assert_eq!(ds.current(&odd), None, "a cookie this server did not make");
        assert!(!ds.check(&odd, Some("<script>")));
    }
}
