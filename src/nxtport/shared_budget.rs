//! The NxtPort budget shared by every gateway replica: one sliding window per subscription key
//! in Redis.
//!
//! # Why Redis, and why a Lua script
//! Several replicas must together stay under 500 calls in any 60 s window per key, and a
//! restart must not forget the calls of the last minute. The window is a sorted set of grant
//! times per key; one Lua script (run atomically by Redis: no other command interleaves)
//! trims it, counts it and adds the grant, so two replicas can never both take the last slot.
//! The time is Redis's own (`TIME`), so replicas with skewed clocks share one timeline. We use
//! the `redis` crate's [`ConnectionManager`] (a well-kept client that reconnects by itself) and
//! its `Script` (EVALSHA, falling back to EVAL once after a Redis restart), rather than a
//! rate-limit crate, because none of those offered an exact sliding window with a per-priority
//! reserve and an upstream-driven pause.
//!
//! # Rule
//! Same as the in-process limiter ([`super::limiter`]): a background call is granted while fewer
//! than `calls - interactive_reserve` grants lie in the last `period + safety_margin`; an
//! interactive call while fewer than `calls`. An upstream 429 writes a pause key that holds every
//! replica for the `Retry-After`. With the reserve lent ([`BudgetConfig::reserve_lend`]) a
//! background call also takes a reserved slot whose stand-in leaves the window within the lend
//! horizon, unless the key's *gate* mark is set: an interactive call that has to wait sets it
//! (until its next try), so while a truck waits on any replica no replica borrows.
//!
//! # Redis unreachable
//! [`RedisBudgetStore::try_take`] fails after a short timeout; no call goes out unbudgeted.
//! Callers decide: background deliveries wait and retry, synchronous calls answer 503 with
//! `Retry-After`. The last error is kept for `/ready`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::limiter::{BudgetConfig, BudgetError, Priority};

/// Grants `0` or answers how many milliseconds to wait. Atomic (one script).
/// KEYS: window, pause, gate. ARGV: limit of this priority, window ms, member, calls (the hard
/// cap), lend horizon ms (0: no borrowing), 1 for an interactive caller.
const TAKE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[1])
local calls = tonumber(ARGV[4])
local lend = tonumber(ARGV[5])
local interactive = ARGV[6] == '1'
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  if interactive then redis.call('DEL', KEYS[3]) end
  return 0
end
local leaving = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
local wait = tonumber(leaving[2]) + window - now
if interactive or lend == 0 then
  if interactive then
    -- an interactive caller waits: nobody borrows a reserved slot until its next try
    local mark = wait
    if mark > 1000 then mark = 1000 end
    redis.call('SET', KEYS[3], '1', 'PX', mark + 250)
  end
  if wait < 1 then wait = 1 end
  return wait
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  if wait < 1 then wait = 1 end
  return wait
end
local full = 0
if n >= calls then
  local oldest = redis.call('ZRANGE', KEYS[1], n - calls, n - calls, 'WITHSCORES')
  full = tonumber(oldest[2]) + window - now
end
if full <= 0 and wait <= lend then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return 0
end
wait = wait - lend
if full > wait then wait = full end
if wait < 1 then wait = 1 end
return wait
"#;

/// Extends (never shortens) the pause of a key.
const PAUSE: &str = r#"
local current = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if current < wanted then redis.call('SET', KEYS[1], '1', 'PX', wanted) end
return 0
"#;

/// Where the shared windows live.
pub struct RedisBudgetStore {
    client: redis::Client,
    manager: tokio::sync::Mutex<Option<ConnectionManager>>,
    take: redis::Script,
    pause: redis::Script,
    prefix: String,
    timeout: Duration,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for RedisBudgetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("RedisBudgetStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisBudgetStore {
    /// A store at `url` (`redis://host:port/db`), keys under `prefix`. Does not connect yet:
    /// a gateway starts while Redis is down (and says so in `/ready`).
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Arc<Self>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        Ok(Arc::new(Self {
            client,
            manager: tokio::sync::Mutex::new(None),
            take: redis::Script::new(TAKE),
            pause: redis::Script::new(PAUSE),
            prefix: prefix.to_owned(),
            timeout,
            last_error: Mutex::new(None),
        }))
    }

    async fn connection(&self) -> Result<ConnectionManager, BudgetError> {
        let mut slot = self.manager.lock().await;
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            self.timeout * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| self.failed("connect timed out".into()))?
        .map_err(|e| self.failed(e.to_string()))?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    fn failed(&self, message: String) -> BudgetError {
        *self.last_error.lock() = Some(message.clone());
        BudgetError::Unavailable(message)
    }

    fn key(&self, key_id: &str, what: &str) -> String {
        format!("{}{key_id}:{what}", self.prefix)
    }

    /// Take a slot for `priority` now (`None`), or learn how long to wait (`Some`).
    pub async fn try_take(
        &self,
        key_id: &str,
        config: &BudgetConfig,
        priority: Priority,
    ) -> Result<Option<Duration>, BudgetError> {
        let mut conn = self.connection().await?;
        let member: u128 = rand::thread_rng().gen();
        let window = u64::try_from(config.window().as_millis()).unwrap_or(u64::MAX);
        let lend = match priority {
            Priority::Interactive => 0,
            Priority::Background => u64::try_from(config.reserve_lend().as_millis()).unwrap_or(0),
        };
        let mut invocation = self.take.prepare_invoke();
        invocation
            .key(self.key(key_id, "window"))
            .key(self.key(key_id, "pause"))
            .key(self.key(key_id, "gate"))
            .arg(config.limit(priority).max(1))
            .arg(window)
            .arg(format!("{member:032x}"))
            .arg(config.calls)
            .arg(lend)
            .arg(u8::from(priority == Priority::Interactive));
        let answer: i64 = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| self.failed("no answer in time".into()))?
            .map_err(|e| self.failed(e.to_string()))?;
        *self.last_error.lock() = None;
        Ok((answer > 0).then(|| Duration::from_millis(answer.unsigned_abs())))
    }

    /// Hold every replica's calls of this key for `duration` (an upstream 429).
    pub async fn pause(&self, key_id: &str, duration: Duration) {
        let Ok(mut conn) = self.connection().await else {
            return;
        };
        let ms = u64::try_from(duration.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut invocation = self.pause.prepare_invoke();
        invocation.key(self.key(key_id, "pause")).arg(ms);
        let result: Result<Result<i64, _>, _> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await;
        if !matches!(result, Ok(Ok(_))) {
            tracing::warn!("could not record a NxtPort pause in the shared budget");
        }
    }

    /// One round trip (readiness). The error says why.
    pub async fn ping(&self) -> Result<(), BudgetError> {
        let mut conn = self.connection().await?;
        let pong: String =
            tokio::time::timeout(self.timeout, redis::cmd("PING").query_async(&mut conn))
                .await
                .map_err(|_| self.failed("no answer in time".into()))?
                .map_err(|e| self.failed(e.to_string()))?;
        if pong != "PONG" {
            return Err(self.failed(format!("unexpected answer to PING: {pong}")));
        }
        *self.last_error.lock() = None;
        Ok(())
    }

    /// The last error talking to Redis, cleared by the next success.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }
}
