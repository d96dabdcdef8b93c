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
/// cap), lend horizon ms (0: no borrowing), 1 for an interactive caller, hold ms (a grant is
/// scored `now + hold` until [`SETTLE`] re-scores it at the call's completion; 0: scored `now`),
/// now in ms or `-` for Redis's `TIME` (tests inject a clock).
const TAKE: &str = r#"
local now = tonumber(ARGV[8])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local hold = tonumber(ARGV[7])
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
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + hold + 1000)
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
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + hold + 1000)
  return 0
end
wait = wait - lend
if full > wait then wait = full end
if wait < 1 then wait = 1 end
return wait
"#;

/// A granted call completed: its grant now counts from this instant (Redis's `TIME`), so it
/// stays in the window until `window` after the answer came back. KEYS: window. ARGV: member,
/// now in ms or `-` for Redis's `TIME`.
const SETTLE: &str = r#"
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
end
return 0
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
    settle: redis::Script,
    pause: redis::Script,
    prefix: String,
    timeout: Duration,
    last_error: Mutex<Option<String>>,
    clock: Option<Clock>,
}

/// An injected clock for the windows (unix ms); without one, Redis's own `TIME`.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

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
        Self::build(url, prefix, timeout, None).map(Arc::new)
    }

    /// [`Self::new`] whose windows run on `clock` instead of Redis's `TIME` (tests: time moved
    /// by hand, nothing sleeps). Pauses (an upstream 429) still expire on Redis's time.
    pub fn with_clock(
        url: &str,
        prefix: &str,
        timeout: Duration,
        clock: Clock,
    ) -> Result<Arc<Self>, String> {
        Self::build(url, prefix, timeout, Some(clock)).map(Arc::new)
    }

    fn build(
        url: &str,
        prefix: &str,
        timeout: Duration,
        clock: Option<Clock>,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        Ok(Self {
            client,
            manager: tokio::sync::Mutex::new(None),
            take: redis::Script::new(TAKE),
            settle: redis::Script::new(SETTLE),
            pause: redis::Script::new(PAUSE),
            prefix: prefix.to_owned(),
            timeout,
            last_error: Mutex::new(None),
            clock,
        })
    }

    /// The injected time, or `-` (Redis's `TIME`).
    fn now_arg(&self) -> String {
        self.clock
            .as_ref()
            .map_or_else(|| "-".to_owned(), |clock| clock().to_string())
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

    /// Take a slot for `priority` now (`Ok(member)`, the grant's name in the window), or learn
    /// how long to wait (`Err`). With a non-zero `hold` the grant counts as `hold` in the future
    /// until [`Self::settle`] re-scores it at the call's completion.
    pub async fn try_take(
        &self,
        key_id: &str,
        config: &BudgetConfig,
        priority: Priority,
        hold: Duration,
    ) -> Result<Result<String, Duration>, BudgetError> {
        let mut conn = self.connection().await?;
        let member = format!("{:032x}", rand::thread_rng().gen::<u128>());
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
            .arg(&member)
            .arg(config.calls)
            .arg(lend)
            .arg(u8::from(priority == Priority::Interactive))
            .arg(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX))
            .arg(self.now_arg());
        let answer: i64 = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| self.failed("no answer in time".into()))?
            .map_err(|e| self.failed(e.to_string()))?;
        *self.last_error.lock() = None;
        if answer > 0 {
            return Ok(Err(Duration::from_millis(answer.unsigned_abs())));
        }
        Ok(Ok(member))
    }

    /// The call of grant `member` completed: from now on it counts from this instant. Best
    /// effort: a grant never settled keeps its `hold` (it leaves the window later, never
    /// earlier).
    pub async fn settle(&self, key_id: &str, member: &str) {
        let Ok(mut conn) = self.connection().await else {
            return;
        };
        let mut invocation = self.settle.prepare_invoke();
        invocation
            .key(self.key(key_id, "window"))
            .arg(member)
            .arg(self.now_arg());
        let result: Result<Result<i64, _>, _> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await;
        if !matches!(result, Ok(Ok(_))) {
            tracing::debug!("could not settle a grant of the shared budget (it leaves later)");
        }
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
