//! Which real services (PostgreSQL, Redis, Chromium) the tests may use on this machine.
//!
//! The README's test command must pass on a laptop without PostgreSQL or Redis, and say so: a test
//! that needs a missing service asks [`require`], which prints one `SKIPPED` line naming the test,
//! the service and the reason (written straight to stderr, so `cargo test`'s output capture does
//! not swallow it) and tells the test to return. `.ci/run` sets `CPU_GATEWAY_REQUIRE_SERVICES=1`:
//! there a missing service fails the test instead, so CI can never pass by skipping.
//!
//! Reachability is probed once per process with a short TCP connect, so a machine without the
//! service costs one timeout, not one per test.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::Duration;

/// Set to `1` (by `.ci/run`) to turn every skip into a failure.
pub const REQUIRE_ENV: &str = "CPU_GATEWAY_REQUIRE_SERVICES";

/// A service some tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// PostgreSQL; `CPU_GATEWAY_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
    Postgres,
    /// Redis; `CPU_GATEWAY_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).
    Redis,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Postgres => "PostgreSQL",
            Service::Redis => "Redis",
        }
    }

    /// The server URL the tests use.
    pub fn url(self) -> String {
        let (var, default) = match self {
            Service::Postgres => (
                "CPU_GATEWAY_TEST_PG_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Service::Redis => ("CPU_GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_owned())
    }

    /// `Err(reason)` when the tests must not use this service here.
    fn availability(self) -> Result<(), String> {
        static PG: OnceLock<Result<(), String>> = OnceLock::new();
        static REDIS: OnceLock<Result<(), String>> = OnceLock::new();
        let cell = match self {
            Service::Postgres => &PG,
            Service::Redis => &REDIS,
        };
        cell.get_or_init(|| {
            if self == Service::Postgres
                && std::env::var("CPU_GATEWAY_SKIP_PG").as_deref() == Ok("1")
            {
                return Err("CPU_GATEWAY_SKIP_PG=1 is set".to_owned());
            }
            probe(&self.url())
        })
        .clone()
    }
}

/// Whether `service` can be used: `true` if so; otherwise prints a `SKIPPED` line and returns
/// `false` (the test returns early), or panics when `CPU_GATEWAY_REQUIRE_SERVICES=1`.
pub fn require(service: Service) -> bool {
    match service.availability() {
        Ok(()) => true,
        Err(why) => {
            skip_or_fail(service.name(), &why);
            false
        }
    }
}

/// Report that the current test cannot run because `what` is missing (`why`): a visible `SKIPPED`
/// line, or a panic under `CPU_GATEWAY_REQUIRE_SERVICES=1`. For services probed elsewhere
/// (a browser binary, say).
pub fn skip_or_fail(what: &str, why: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    if required() {
        panic!("{test} needs {what}, which is unavailable: {why} ({REQUIRE_ENV}=1 is set)");
    }
    // Straight to the process's stderr: libtest captures only print!/eprint!.
    let line = format!(
        "SKIPPED {test}: {what} unavailable ({why}); set {REQUIRE_ENV}=1 to make this a failure\n"
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A fresh PostgreSQL schema for one test, as a database URL whose `search_path` is that
/// schema, or `None` (with a visible `SKIPPED` line, see [`require`]) when PostgreSQL is
/// unavailable here. Schemas are named `<prefix>_<unix seconds>_<uuid>`; those of the same
/// prefix older than an hour (earlier runs) are dropped on the way.
///
/// Panics when PostgreSQL answers the probe but refuses the connection or the `CREATE SCHEMA`:
/// a test cannot run then, and must not pass.
pub async fn postgres_schema(prefix: &str) -> Option<String> {
    if !require(Service::Postgres) {
        return None;
    }
    let base = Service::Postgres.url();
    let now = chrono::Utc::now().timestamp();
    let schema = format!("{prefix}_{now}_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = match sqlx::AnyPool::connect(&base).await {
        Ok(admin) => admin,
        Err(e) => panic!("PostgreSQL answered the probe but refused a connection: {e}"),
    };
    let old: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1")
            .bind(format!("{prefix}\\_%"))
            .fetch_all(&admin)
            .await
            .unwrap_or_default();
    for name in old {
        let created = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('_').nth(1))
            .and_then(|t| t.parse::<i64>().ok());
        if created.is_some_and(|created| now - created > 3600) {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .execute(&admin)
                .await;
        }
    }
    if let Err(e) = sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
    {
        panic!("create schema {schema}: {e}");
    }
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options[search_path]={schema}"))
}

fn required() -> bool {
    std::env::var(REQUIRE_ENV).as_deref() == Ok("1")
}

/// A TCP connect to the URL's host and port within one second.
fn probe(url: &str) -> Result<(), String> {
    let addr = host_port(url).ok_or_else(|| format!("cannot read host:port from {url}"))?;
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .collect();
    let mut last = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// `host:port` of a `scheme://[user@]host[:port]/...` URL (default ports of PostgreSQL and Redis).
fn host_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if host_port.is_empty() {
        return None;
    }
    if host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        return Some(host_port.to_owned());
    }
    let port = match scheme {
        "redis" | "rediss" => 6379,
        _ => 5432,
    };
    Some(format!("{host_port}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_reads_authority_with_defaults() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/test").as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(host_port("postgres://db/x").as_deref(), Some("db:5432"));
        assert_eq!(
            host_port("redis://127.0.0.1").as_deref(),
            Some("127.0.0.1:6379")
        );
        assert_eq!(host_port("not a url"), None);
    }

    #[test]
    fn an_unreachable_port_is_reported_not_hung() {
        // Port 1 on loopback: nothing listens there.
        let err = probe("postgres://127.0.0.1:1/x").expect_err("nothing listens on port 1");
        assert!(err.starts_with("127.0.0.1:1"), "{err}");
    }
}
