//! What every request can reach: one shared [`Context`] (the store, the queries, the
//! one clock, the settings) behind a single reference count ([`Ctx`]), and the
//! throttle of failed authentications.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::error::ApiError;
use crate::query::Queries;
use crate::store::Store;

/// Largest accepted body of a single-reading or definition request.
pub const MAX_BODY: u64 = 1024 * 1024;
/// Largest accepted batch body (a spreadsheet of a month's readings).
pub const MAX_BATCH_BODY: u64 = 8 * 1024 * 1024;

pub use crate::clock::Clock;

/// What every handler can reach: a handle on one shared [`Context`]. Every matched
/// route clones it, so it is a single reference count, not a copy of each field
/// (cloning the store, the channel and the settings one by one cost several
/// contended atomic operations per request).
#[derive(Clone)]
pub struct Ctx(Arc<Context>);

impl std::ops::Deref for Ctx {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

impl From<Context> for Ctx {
    fn from(c: Context) -> Ctx {
        Ctx(Arc::new(c))
    }
}

/// The store and the server's settings, shared by every request.
pub struct Context {
    /// The store, for writes and plain listings.
    pub store: Store,
    /// Every question that evaluates (attainment, boards, alerts, rankings, the
    /// calendar) goes through here, with its memo.
    pub queries: crate::query::Queries,
    /// "Now", "today" and "this month" in the configured zone: the one clock.
    pub clock: Clock,
    /// When set, reads need a token too (any role).
    pub private: bool,
    /// When figures become public (see [`super::sight`]).
    pub publish: super::sight::Publish,
    /// Wrong passwords per account (see [`AccountLocks`]).
    pub accounts: AccountLocks,
    /// The public's sight of each region, kept (see [`super::sight::Sights`]).
    pub sights: super::sight::Sights,
    /// Fed after each durable write, with the store's change sequence; alert streams
    /// listen to it. An in-process channel, not sled's `watch_prefix`, which fires before
    /// the write is durable.
    pub changes: broadcast::Sender<u64>,
    /// How long a client may take to send a body (slow senders get 408).
    pub body_timeout: std::time::Duration,
    /// Origins allowed to call the API from a browser (CORS). Empty: CORS is off.
    pub cors_origins: Vec<String>,
    /// Failed authentications per client address.
    pub throttle: Arc<Throttle>,
    /// Catalogue-wide answers already rendered for the store as it stands.
    pub bodies: super::cache::BodyCache,
    /// One-indicator answers already rendered for the store as it stands.
    pub one_bodies: super::cache::BodyCache,
    /// What `/healthz` last answered, with the change sequence it was counted at.
    pub health: std::sync::Mutex<Option<(u64, bytes::Bytes)>>,
    /// Webhook deliveries and their settings (see [`notifier`]).
    pub notify: Arc<crate::notify::deliver::Hub>,
    /// Bytes of request bodies held in memory at once, server-wide.
    pub body_budget: super::body::BodyBudget,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client
    /// (`--trust-proxy`). Empty: the peer address is the client.
    pub trusted_proxies: Vec<super::peer::IpNet>,
    /// Raised when the server stops, so that a long decode ends rather than holds the
    /// process (see [`crate::ingest::Cancel`]).
    pub cancel: crate::ingest::Cancel,
    /// The threads batches are decoded, judged and written on, one per core (see
    /// [`super::workers`]).
    pub batches: super::workers::Workers,
    /// Files uploaded on the 数据报送 page, kept from their preview to the confirm.
    pub uploads: super::stash::Uploads,
}

/// Slows down token guessing: after `limit` tokens presented and found wrong from one
/// address within `window`, that address gets 429 for every wrong token until the
/// window ends. A request without a token is not a failed login (a page load behind a
/// proxy must not lock everyone out), and a valid token is never refused.
#[derive(Debug)]
pub struct Throttle {
    limit: u32,
    window: std::time::Duration,
    failures:
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl Throttle {
    pub fn new(limit: u32, window: std::time::Duration) -> Throttle {
        Throttle {
            limit,
            window,
            failures: Default::default(),
        }
    }

    /// Seconds until `ip` may try again, if it is blocked now.
    pub(super) fn blocked(&self, ip: std::net::IpAddr) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (start, n) = map.get(&ip)?;
        let left = self.window.checked_sub(start.elapsed())?;
        // Rounded up: a client that waits exactly this long must not be refused again.
        (*n >= self.limit).then(|| left.as_millis().div_ceil(1000).max(1) as u64)
    }

    pub(super) fn fail(&self, ip: std::net::IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget expired windows so the map cannot grow without bound.
        if map.len() > 10_000 {
            let window = self.window;
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = map.entry(ip).or_insert((std::time::Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (std::time::Instant::now(), 0);
        }
        e.1 += 1;
    }
}

/// Locks an account after [`AccountLocks::LIMIT`] wrong passwords within
/// [`AccountLocks::WINDOW`], for [`AccountLocks::LOCKED_FOR`] from the last of them,
/// whichever address they came from; the address's other accounts are not touched
/// (the address throttle counts separately, with a higher limit). Times come from the
/// one clock. Kept in memory: a restart unlocks.
#[derive(Debug, Default)]
pub struct AccountLocks {
    failures:
        std::sync::Mutex<std::collections::HashMap<String, Vec<chrono::DateTime<chrono::Utc>>>>,
}

impl AccountLocks {
    pub const LIMIT: usize = 5;
    pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);
    pub const LOCKED_FOR: chrono::Duration = chrono::Duration::minutes(15);

    /// Until when `name` is locked at `now`, if it is.
    pub fn locked_until(
        &self,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = map.get(name)?;
        let recent: Vec<_> = times.iter().filter(|t| now - **t < Self::WINDOW).collect();
        if recent.len() < Self::LIMIT {
            return None;
        }
        let until = *recent[recent.len() - 1] + Self::LOCKED_FOR;
        (until > now).then_some(until)
    }

    /// Counts a wrong password for `name`.
    pub fn fail(&self, name: &str, now: chrono::DateTime<chrono::Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, t| t.iter().any(|t| now - *t < Self::WINDOW));
        }
        let times = map.entry(name.to_string()).or_default();
        times.retain(|t| now - *t < Self::WINDOW);
        times.push(now);
    }

    /// Forgets the wrong passwords of `name` (after a right one, or a reset).
    pub fn clear(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("store", &self.store)
            .field("private", &self.private)
            .finish()
    }
}

impl Context {
    /// Default settings: public reads, 30 s body timeout, CORS off.
    pub fn new(store: Store) -> Context {
        Context {
            queries: crate::query::Queries::new(store.clone()),
            store,
            clock: Clock::default(),
            private: false,
            publish: Default::default(),
            accounts: Default::default(),
            sights: Default::default(),
            changes: broadcast::channel(64).0,
            body_timeout: std::time::Duration::from_secs(30),
            cors_origins: Vec::new(),
            throttle: Arc::new(Throttle::new(20, std::time::Duration::from_secs(60))),
            bodies: Default::default(),
            one_bodies: super::cache::BodyCache::new(
                super::cache::MAX_ONE_BODIES,
                super::cache::MAX_ONE_BYTES,
            ),
            health: Default::default(),
            notify: Arc::new(crate::notify::deliver::Hub::new(Default::default())),
            body_budget: Default::default(),
            trusted_proxies: Vec::new(),
            cancel: crate::ingest::Cancel::new(),
            batches: super::workers::Workers::per_core(),
            uploads: Default::default(),
        }
    }
}

impl Ctx {
    /// A context with default settings (see [`Context::new`]).
    pub fn new(store: Store) -> Ctx {
        Context::new(store).into()
    }

    /// Runs store work that is bounded and small (a handful of point reads and one
    /// short range scan, as for one indicator) directly on the async worker. Handing
    /// such work to the blocking pool costs two thread switches, more than the work
    /// itself; sled serves these reads from its page cache. Anything that walks the
    /// catalogue, or writes, goes through [`Ctx::blocking`].
    pub(super) fn inline<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Queries) -> Result<T, ApiError>,
    {
        f(&self.queries)
    }

    /// Runs blocking store work off the async workers.
    pub(super) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Queries) -> Result<T, ApiError> + Send + 'static,
    {
        let queries = self.queries.clone();
        tokio::task::spawn_blocking(move || f(&queries))
            .await
            .map_err(ApiError::internal)?
    }

    /// Waits for the flush that makes a write durable, then tells alert streams.
    pub(super) async fn commit(&self) -> Result<(), ApiError> {
        self.store.durable().await?;
        self.changed();
        Ok(())
    }

    /// Tells alert streams of a write already durable (one the store's writer
    /// answered: it answers once the write is on disk).
    pub(super) fn changed(&self) {
        let seq = self.store.change_seq().unwrap_or(0);
        // No receivers is fine: nobody is streaming.
        let _ = self.changes.send(seq);
    }
}
