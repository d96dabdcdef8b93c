//! Console sessions: a gateway token (`cgw_...`) is exchanged once for a random session id in
//! an HttpOnly, SameSite=Strict, expiring cookie. The token itself is never kept: the session
//! remembers the token's id, entity and role, and a per-session CSRF secret that every form
//! carries back.
//!
//! Sessions live in this process's memory (a restart signs everyone out; several replicas need
//! sticky sessions, see docs/ASSUMPTIONS.md). They are keyed by the SHA-256 of the cookie value,
//! so the map never holds a usable cookie either.

use std::time::{Duration, Instant};

use dashmap::DashMap;

pub use crate::http_edge::csrf::{random_token, same_secret};
use crate::store::{hash_secret, Role, TokenInfo};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "cgw_console";
/// Name of the cookie holding the sign-in form's CSRF value (double submit: no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "cgw_console_login";
/// Default session lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept at once; expired ones are swept first, then the oldest go.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// Token id (never the token).
    pub token_id: String,
    /// Entity owning the token.
    pub token_entity_id: String,
    /// Role of the token.
    pub role: Role,
    /// Entity the pages show and act for (support may pick another one).
    pub acting_entity_id: String,
    /// Secret every form of this session must carry.
    pub csrf: String,
    expires_at: Instant,
}

impl Session {
    /// Support acting for an entity other than its own.
    pub fn impersonating(&self) -> bool {
        self.acting_entity_id != self.token_entity_id
    }

    /// The audit actor of this session's acts.
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor {
            token_id: Some(self.token_id.clone()),
            actor_entity_id: Some(self.token_entity_id.clone()),
            entity_id: self.acting_entity_id.clone(),
            impersonation: self.impersonating(),
        }
    }

    /// May this session change data?
    pub fn can_write(&self) -> bool {
        self.role.can_write()
    }
}

/// The sessions of this process. Build once (outside `HttpServer::new`).
#[derive(Debug)]
pub struct Sessions {
    map: DashMap<String, Session>,
    ttl: Duration,
}

impl Sessions {
    /// Sessions living `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            map: DashMap::new(),
            ttl,
        }
    }

    /// Session lifetime (the cookie's Max-Age).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Open a session for an authenticated token; returns the cookie value.
    pub fn open(&self, token: &TokenInfo) -> String {
        if self.map.len() >= MAX_SESSIONS {
            let now = Instant::now();
            self.map.retain(|_, s| s.expires_at > now);
            if self.map.len() >= MAX_SESSIONS {
                let oldest = self
                    .map
                    .iter()
                    .min_by_key(|e| e.value().expires_at)
                    .map(|e| e.key().clone());
                if let Some(k) = oldest {
                    self.map.remove(&k);
                }
            }
        }
        let cookie = random_token();
        self.map.insert(
            hash_secret(&cookie),
            Session {
                token_id: token.id.clone(),
                token_entity_id: token.entity_id.clone(),
                role: token.role,
                acting_entity_id: token.entity_id.clone(),
                csrf: random_token(),
                expires_at: Instant::now() + self.ttl,
            },
        );
        cookie
    }

    /// The live session behind a cookie value.
    pub fn get(&self, cookie: &str) -> Option<Session> {
        let key = hash_secret(cookie);
        let s = self.map.get(&key)?.clone();
        if s.expires_at <= Instant::now() {
            self.map.remove(&key);
            return None;
        }
        Some(s)
    }

    /// Support: act for another entity from now on.
    pub fn set_acting(&self, cookie: &str, entity_id: &str) -> bool {
        match self.map.get_mut(&hash_secret(cookie)) {
            Some(mut s) => {
                s.acting_entity_id = entity_id.to_owned();
                true
            }
            None => false,
        }
    }

    /// Sign out.
    pub fn close(&self, cookie: &str) {
        self.map.remove(&hash_secret(cookie));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(role: Role) -> TokenInfo {
        TokenInfo {
            id: "t1".into(),
            entity_id: "e1".into(),
            role,
            label: None,
            created_at: chrono::Utc::now(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_session_expires_and_closes() {
        let live = Sessions::new(Duration::from_secs(60));
        let cookie = live.open(&token(Role::Viewer));
        let s = live.get(&cookie).expect("session");
        assert_eq!(s.role, Role::Viewer);
        assert!(!s.can_write());
        assert!(live.get("other").is_none());
        live.close(&cookie);
        assert!(live.get(&cookie).is_none());

        let dead = Sessions::new(Duration::ZERO);
        let cookie = dead.open(&token(Role::Editor));
        assert!(dead.get(&cookie).is_none(), "a zero ttl session is expired");
    }

    #[test]
    fn support_acting_for_another_entity_is_impersonation() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let cookie = sessions.open(&token(Role::Support));
        assert!(!sessions.get(&cookie).expect("s").impersonating());
        assert!(sessions.set_acting(&cookie, "e2"));
        let s = sessions.get(&cookie).expect("s");
        assert!(s.impersonating());
        let actor = s.actor();
        assert_eq!(actor.entity_id, "e2");
        assert!(actor.impersonation);
    }
}
