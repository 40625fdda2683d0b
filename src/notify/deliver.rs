//! Delivery: the outbox, the HTTP attempts, retries with backoff, and the log.
//!
//! Nothing here runs on a request's path. A write only wakes the notifier; the
//! notifier writes jobs to the outbox; [`Hub::run_outbox`] sends them, each in its own
//! task, bounded in number, each attempt bounded in time. A dead receiver therefore
//! holds one task for one timeout at a time and slows no submission.
//!
//! Delivery is at least once: a job leaves the outbox only after its attempt ends, so
//! a restart in the middle of one sends it again.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, NaiveTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{Notify, Semaphore};

use super::address::{find_refusal, AddressPolicy, Filtering, InternalAddress};
use super::message::{render, Event};
use super::reply::{excerpt, read_capped, robot_error, REPLY_CAP};
use super::webhook::{redact, EventKind, Format, Webhook};
use crate::store::{Delivery, DeliveryOutcome, Job, Store, StoreError};

/// Delivery metrics, exported by `/metrics` beside the request metrics.
pub struct Metrics {
    pub registry: prometheus::Registry,
    attempts: prometheus::IntCounterVec,
    pending: prometheus::IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process's delivery metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let registry = prometheus::Registry::new();
        let attempts = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "zhibiao_webhook_attempts_total",
                "Webhook delivery attempts, by receiver and outcome (delivered, retrying, failed).",
            ),
            &["webhook", "outcome"],
        )
        .expect("valid metric");
        let pending = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(
                "zhibiao_webhook_pending",
                "Webhook messages waiting to be delivered or retried, by receiver.",
            ),
            &["webhook"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(attempts.clone()))
            .expect("register");
        registry
            .register(Box::new(pending.clone()))
            .expect("register");
        Metrics {
            registry,
            attempts,
            pending,
        }
    })
}

use crate::clock::Clock;

/// How deliveries and reminders behave.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Wait before the first retry; each later one waits twice as long.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Attempts per message, the first included.
    pub max_attempts: u32,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// When the daily digests and 催报 notices go out, in the clock's zone.
    pub remind_at: NaiveTime,
    /// How many days ahead a digest looks for figures falling due.
    pub remind_days: u32,
    /// `--allow-internal-webhooks`: receivers at loopback, link-local and the server's
    /// own addresses are allowed (see [`super::address`]).
    pub allow_internal: bool,
    /// Where the server listens, once it does: receivers there are refused too.
    pub listening: Option<SocketAddr>,
}

impl NotifyConfig {
    /// The same settings, for a server listening on `addr`.
    pub fn listening_on(self, addr: SocketAddr) -> NotifyConfig {
        NotifyConfig {
            listening: Some(addr),
            ..self
        }
    }

    /// Which receiver addresses are refused.
    pub fn addresses(&self) -> AddressPolicy {
        AddressPolicy {
            allow_internal: self.allow_internal,
            listening: self.listening,
        }
    }
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            concurrency: 16,
            remind_at: NaiveTime::from_hms_opt(8, 30, 0).expect("08:30 is a time"),
            remind_days: 3,
            allow_internal: false,
            listening: None,
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub ok: bool,
    /// A failure that another attempt cannot mend (a 4xx other than 408 and 429).
    pub permanent: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
}

/// Sends deliveries. One per server, shared by the notifier and the API.
pub struct Hub {
    pub config: NotifyConfig,
    client: reqwest::Client,
    wake: Notify,
    /// Wakes the daily run (a receiver was registered).
    pub daily: Notify,
    inflight: Mutex<HashSet<u64>>,
    permits: Semaphore,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("config", &self.config).finish()
    }
}

impl Hub {
    pub fn new(config: NotifyConfig) -> Hub {
        let mut client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("zhibiao/", env!("CARGO_PKG_VERSION")))
            // A receiver's redirect would carry the body somewhere nobody registered.
            .redirect(reqwest::redirect::Policy::none());
        if !config.allow_internal {
            // Every name is looked up through the policy, at the moment of connecting.
            client = client.dns_resolver(Filtering::new(config.addresses()));
        }
        let client = client.build().expect("an HTTP client with rustls");
        Hub {
            permits: Semaphore::new(config.concurrency.max(1)),
            config,
            client,
            wake: Notify::new(),
            daily: Notify::new(),
            inflight: Mutex::new(HashSet::new()),
        }
    }

    /// Checks where a receiver about to be registered is: its literal address, or every
    /// address its name resolves to now (see [`super::address`]).
    pub async fn admit(&self, url: &str) -> Result<(), InternalAddress> {
        match reqwest::Url::parse(url) {
            Ok(u) => {
                self.config
                    .addresses()
                    .check_url(&u, self.config.timeout)
                    .await
            }
            // Not a URL: the receiver's validation says so.
            Err(_) => Ok(()),
        }
    }

    /// Renders `event` for every receiver that subscribes to its kind and whose filter
    /// leaves something, and writes the jobs to the outbox. Returns how many.
    pub fn enqueue(
        &self,
        s: &Store,
        hooks: &[Webhook],
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for h in hooks.iter().filter(|h| h.events.contains(&event.kind)) {
            let Some(e) = event.filtered(&h.filter) else {
                continue;
            };
            let body = serde_json::to_vec(&render(&e, h.format, &h.name, &h.url))
                .map_err(|e| StoreError::Codec(e.to_string()))?;
            let job = Job {
                id: s.next_job_id()?,
                webhook: h.name.clone(),
                event: e.kind,
                title: e.title(),
                body,
                attempts: 0,
                next_at: now,
                created_at: now,
            };
            s.put_job(&job)?;
            n += 1;
        }
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    /// One attempt to deliver `body` to `hook`.
    pub async fn attempt(&self, hook: &Webhook, body: Vec<u8>, now: DateTime<Utc>) -> Attempt {
        let started = Instant::now();
        let url = match signed_url(hook, now).and_then(|u| {
            // A literal address is never looked up, so the resolver cannot refuse it.
            self.config
                .addresses()
                .check_literal(&u)
                .map(|()| u)
                .map_err(|e| e.to_string())
        }) {
            Ok(u) => u,
            Err(e) => {
                return Attempt {
                    ok: false,
                    permanent: true,
                    status: None,
                    error: Some(e),
                    duration: started.elapsed(),
                }
            }
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => {
                // Refused by the resolver: no later attempt would be let through.
                if let Some(r) = find_refusal(&e) {
                    return Attempt {
                        ok: false,
                        permanent: true,
                        status: None,
                        error: Some(r.to_string()),
                        duration: started.elapsed(),
                    };
                }
                return Attempt {
                    ok: false,
                    permanent: false,
                    status: None,
                    error: Some(describe(e)),
                    duration: started.elapsed(),
                };
            }
        };
        let status = resp.status();
        // At most REPLY_CAP bytes; the rest is never read, and the connection goes with
        // `resp` at the end of this function.
        let reply = read_capped(&mut resp).await;
        drop(resp);
        let mut out = Attempt {
            ok: status.is_success(),
            permanent: status.is_client_error()
                && status != reqwest::StatusCode::REQUEST_TIMEOUT
                && status != reqwest::StatusCode::TOO_MANY_REQUESTS,
            status: Some(status.as_u16()),
            error: None,
            duration: started.elapsed(),
        };
        if !out.ok {
            let shown = excerpt(&reply.bytes, reply.cut);
            let cut = if reply.cut {
                format!(" (reply cut at {REPLY_CAP} bytes)")
            } else {
                String::new()
            };
            out.error = Some(if shown.is_empty() {
                format!("the receiver answered {status}{cut}")
            } else {
                format!("the receiver answered {status}: {shown}{cut}")
            });
        } else if matches!(hook.format, Format::Wecom | Format::Dingtalk) {
            // Both robots answer 200 and put the verdict in the body.
            if let Some((code, msg)) = robot_error(&reply) {
                out.ok = false;
                out.error = Some(if msg.is_empty() {
                    format!("errcode {code}")
                } else {
                    format!("errcode {code}: {msg}")
                });
            }
        }
        out
    }

    /// Sends a test message to `hook` now, once, and logs it.
    pub async fn test_send(
        &self,
        s: &Store,
        hook: &Webhook,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let event = super::message::test_message(&hook.name, now);
        let body = serde_json::to_vec(&render(&event, hook.format, &hook.name, &hook.url))
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let a = self.attempt(hook, body, now).await;
        let d = Delivery {
            id: s.next_job_id()?,
            event: EventKind::Test,
            title: event.title(),
            attempt: 1,
            at: now,
            outcome: if a.ok {
                DeliveryOutcome::Delivered
            } else {
                DeliveryOutcome::Failed
            },
            status: a.status,
            error: a.error,
            duration_ms: a.duration.as_millis() as u64,
            next_attempt_at: None,
        };
        metrics()
            .attempts
            .with_label_values(&[hook.name.as_str(), d.outcome.as_str()])
            .inc();
        s.log_delivery(&hook.name, &d)?;
        Ok(d)
    }

    /// The wait after `attempts` failed attempts.
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.config
            .backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    /// Sends whatever the outbox holds, when it is due, forever. Jobs left by an
    /// earlier run are picked up on start.
    pub async fn run_outbox(self: Arc<Self>, store: Store, clock: Clock) {
        loop {
            let now = clock.now();
            let s = store.clone();
            let jobs = tokio::task::spawn_blocking(move || s.outbox())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let mut next: Option<DateTime<Utc>> = None;
            let m = metrics();
            m.pending.reset();
            for job in &jobs {
                m.pending.with_label_values(&[job.webhook.as_str()]).inc();
            }
            for job in jobs {
                if job.next_at > now {
                    next = Some(next.map_or(job.next_at, |n| n.min(job.next_at)));
                    continue;
                }
                let fresh = self
                    .inflight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(job.id);
                if fresh {
                    let task = self.clone().deliver(store.clone(), clock.clone(), job);
                    tokio::spawn(async move {
                        task.await;
                    });
                }
            }
            let wait = next
                .and_then(|n| (n - now).to_std().ok())
                .unwrap_or(Duration::from_secs(60))
                .min(Duration::from_secs(60));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One attempt of one job, then its bookkeeping: removed when delivered or given
    /// up, rescheduled otherwise; logged either way.
    async fn deliver(
        self: Arc<Self>,
        store: Store,
        clock: Clock,
        job: Job,
    ) -> Option<DeliveryOutcome> {
        let _permit = self.permits.acquire().await;
        let id = job.id;
        let s = store.clone();
        let name = job.webhook.clone();
        // The job as it stands now: the runner's list may predate its last attempt
        // (delivered and removed, or rescheduled), and it must not be sent again.
        let current = tokio::task::spawn_blocking(move || {
            Ok::<_, StoreError>((s.job(id)?, s.webhook(&name)?))
        })
        .await
        .ok()
        .and_then(Result::ok);
        let (mut job, hook) = match current {
            Some((Some(job), hook)) if job.next_at <= clock.now() => (job, hook),
            _ => {
                self.release(id);
                return None;
            }
        };
        let mut ended = None;
        let result = match hook {
            None => {
                // The receiver was removed: its jobs go with it.
                let _ = store.remove_job(job.id);
                Ok(())
            }
            Some(hook) => {
                let a = self.attempt(&hook, job.body.clone(), clock.now()).await;
                job.attempts += 1;
                let now = clock.now();
                let outcome = if a.ok {
                    DeliveryOutcome::Delivered
                } else if a.permanent || job.attempts >= self.config.max_attempts {
                    DeliveryOutcome::Failed
                } else {
                    DeliveryOutcome::Retrying
                };
                ended = Some(outcome);
                metrics()
                    .attempts
                    .with_label_values(&[hook.name.as_str(), outcome.as_str()])
                    .inc();
                let next_attempt_at = (outcome == DeliveryOutcome::Retrying).then(|| {
                    now + chrono::Duration::from_std(self.backoff_after(job.attempts))
                        .unwrap_or_else(|_| chrono::Duration::hours(1))
                });
                if let Some(e) = &a.error {
                    tracing::warn!(
                        webhook = %hook.name,
                        url = %redact(&hook.url),
                        attempt = job.attempts,
                        outcome = ?outcome,
                        "webhook delivery failed: {e}"
                    );
                }
                let d = Delivery {
                    id: job.id,
                    event: job.event,
                    title: job.title.clone(),
                    attempt: job.attempts,
                    at: now,
                    outcome,
                    status: a.status,
                    error: a.error,
                    duration_ms: a.duration.as_millis() as u64,
                    next_attempt_at,
                };
                let s = store.clone();
                tokio::task::spawn_blocking(move || {
                    match next_attempt_at {
                        Some(at) => {
                            job.next_at = at;
                            s.put_job(&job)?;
                        }
                        None => s.remove_job(job.id)?,
                    }
                    s.log_delivery(&hook.name, &d)
                })
                .await
                .unwrap_or(Ok(()))
            }
        };
        if let Err(e) = result {
            tracing::error!("webhook bookkeeping failed: {e}");
        }
        self.release(id);
        ended
    }

    /// Ends a job's turn in flight, and lets the runner look again.
    fn release(&self, id: u64) {
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.wake.notify_one();
    }

    /// Makes one attempt at every job that is due now and waits for them all: for the
    /// command line, which has no server to keep retrying. What fails stays in the
    /// outbox for the next `zhibiao serve`.
    pub async fn drain(self: Arc<Self>, store: Store, clock: Clock) -> Vec<DeliveryOutcome> {
        let now = clock.now();
        let jobs = store.outbox().unwrap_or_default();
        let mut tasks = Vec::new();
        for job in jobs.into_iter().filter(|j| j.next_at <= now) {
            tasks.push(tokio::spawn(self.clone().deliver(
                store.clone(),
                clock.clone(),
                job,
            )));
        }
        let mut out = Vec::new();
        for t in tasks {
            if let Ok(Some(o)) = t.await {
                out.push(o);
            }
        }
        out
    }
}

/// The URL to post to: as registered, plus `timestamp` and `sign` for a signed 钉钉
/// robot (HMAC-SHA256 of "timestamp\nsecret", Base64, as 钉钉 documents 加签).
fn signed_url(hook: &Webhook, now: DateTime<Utc>) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(&hook.url)
        .map_err(|_| format!("'{}' is not a URL", redact(&hook.url)))?;
    if let Some(secret) = &hook.secret {
        let ts = now.timestamp_millis();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| format!("signing secret: {e}"))?;
        mac.update(format!("{ts}\n{secret}").as_bytes());
        let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        url.query_pairs_mut()
            .append_pair("timestamp", &ts.to_string())
            .append_pair("sign", &sign);
    }
    Ok(url)
}

/// A transport error without its URL (which may hold a secret), with its causes.
fn describe(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    if timeout {
        s.push_str(" (timed out)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let hub = Hub::new(NotifyConfig {
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(200),
            ..NotifyConfig::default()
        });
        let waits: Vec<u64> = (1..=5).map(|n| hub.backoff_after(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 200, 200]);
    }

    #[test]
    fn a_signed_dingtalk_url_carries_timestamp_and_sign() {
        let hook = Webhook {
            name: "dd".into(),
            url: "https://oapi.dingtalk.com/robot/send?access_token=abc".into(),
            format: Format::Dingtalk,
            events: vec![EventKind::AlertRaised],
            filter: Default::default(),
            secret: Some("SECxyz".into()),
            // A fixed instant: the test does not depend on when it runs.
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            created_by: "admin".into(),
        };
        let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let url = signed_url(&hook, at).unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["access_token"], "abc");
        assert_eq!(pairs["timestamp"], "1700000000000");
        // HMAC-SHA256 of "1700000000000\nSECxyz" under the key "SECxyz", in Base64,
        // as computed by Python's hmac module.
        assert_eq!(
            pairs["sign"],
            "0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg="
        );
    }
}
