//! Request bodies, read only once the sender is known to have the right to send them.
//!
//! A write route's filter hands its handler an unread [`Body`]. The handler
//! authenticates and checks the token's rights from the headers first, and only then
//! calls [`Body::read`], so a request without the right to write is answered without
//! reading a byte of its body, and costs no more memory than its headers.
//!
//! Reading a body takes its size out of one server-wide [`BodyBudget`] (bytes of
//! bodies held in memory at once) for as long as the request runs. When the budget is
//! spent, a new body waits a short while for room, then is refused with 503 and
//! `Retry-After`; so however many writers arrive at once, bodies in memory stay under
//! the budget.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use warp::Filter;

use super::ApiError;
use crate::limits::{self, Cap, OverCap};

/// Bytes of request bodies the server holds at once, by default: eight full batches.
pub const DEFAULT_BODY_BUDGET: u64 = 64 * 1024 * 1024;
/// How long a body waits for room in a spent budget before it is refused with 503.
pub const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// The server-wide budget of body bytes in memory.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: u64,
    permits: Arc<Semaphore>,
}

impl BodyBudget {
    pub fn new(bytes: u64) -> BodyBudget {
        BodyBudget {
            bytes,
            permits: Arc::new(Semaphore::new(to_permits(bytes) as usize)),
        }
    }

    /// The budget, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes of the budget not taken now.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64 * PERMIT
    }

    async fn take(&self, bytes: u64) -> Result<OwnedSemaphorePermit, ApiError> {
        let n = to_permits(bytes).max(1);
        if n > to_permits(self.bytes) {
            // A single body larger than the whole budget could never get room.
            return Err(OverCap::new(
                Cap::BodyBudget,
                self.bytes,
                format!(
                    "the body is larger than the server's budget of {} bytes for bodies in memory",
                    self.bytes
                ),
            )
            .into());
        }
        let wait = self.permits.clone().acquire_many_owned(n);
        match tokio::time::timeout(BUDGET_WAIT, wait).await {
            Ok(Ok(p)) => Ok(p),
            _ => {
                limits::refused(Cap::BodyBudget);
                Err(ApiError::Busy {
                    retry_after: 2,
                    detail: crate::domain::messages::Msg::new(
                        "服务器正在读取的请求已达上限，请稍后再试",
                        format!(
                            "the server is reading as many request bodies as its budget of {} bytes allows; try again shortly",
                            self.bytes
                        ),
                    ),
                })
            }
        }
    }
}

impl Default for BodyBudget {
    fn default() -> BodyBudget {
        BodyBudget::new(DEFAULT_BODY_BUDGET)
    }
}

/// The budget is counted in KiB, so that a semaphore's `u32` permits cover it.
const PERMIT: u64 = 1024;

fn to_permits(bytes: u64) -> u32 {
    bytes.div_ceil(PERMIT).min(u64::from(u32::MAX >> 4)) as u32
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

/// A request body not read yet: its declared length, its stream, and the limits it will
/// be read under.
pub struct Body {
    declared: Option<u64>,
    /// `None` once read (or handed to the drain).
    stream: Option<Chunks>,
    limit: u64,
    cap: Cap,
    timeout: Duration,
    budget: BodyBudget,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("declared", &self.declared)
            .field("limit", &self.limit)
            .finish()
    }
}

/// A body read into memory, holding its share of the budget until it is dropped.
#[derive(Debug)]
pub struct ReadBody {
    bytes: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for ReadBody {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.bytes
    }
}

impl ReadBody {
    /// Bytes already held elsewhere under their own bound (a file kept between a
    /// preview and its confirm), as a body outside the request budget.
    pub fn kept(bytes: Bytes) -> ReadBody {
        ReadBody {
            bytes,
            _permit: None,
        }
    }

    /// The same budget share holding other bytes: the file part of a form upload,
    /// which is a slice of the body it was read from.
    pub fn replaced(self, bytes: Bytes) -> ReadBody {
        ReadBody {
            bytes,
            _permit: self._permit,
        }
    }
}

impl AsRef<[u8]> for ReadBody {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Body {
    /// The length the sender declared (`Content-Length`), if any.
    pub fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// Reads the body: refused at once when its declared length is over the limit,
    /// else read chunk by chunk up to the limit within the server's body timeout,
    /// after taking its size out of the server's budget.
    pub async fn read(mut self) -> Result<ReadBody, ApiError> {
        let (declared, limit, cap, timeout) = (self.declared, self.limit, self.cap, self.timeout);
        if declared.is_some_and(|l| l > limit) {
            return Err(too_large(cap, limit));
        }
        if declared == Some(0) {
            return Ok(ReadBody {
                bytes: Bytes::new(),
                _permit: None,
            });
        }
        // A chunked body of unknown length may grow to the limit: room for all of it.
        let permit = self.budget.take(declared.unwrap_or(limit)).await?;
        let mut stream = self.stream.take().expect("a body is read once");
        let read = async {
            let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit) as usize);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::invalid("body", format!("could not read the body: {e}"))
                })?;
                if buf.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large(cap, limit));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(r) => r.map(|bytes| ReadBody {
                bytes,
                _permit: Some(permit),
            }),
            Err(_) => Err(ApiError::Timeout(crate::domain::messages::Msg::new(
                format!("请求内容未在{}秒内传完，请重新提交", timeout.as_secs_f64()),
                format!("the body did not arrive within {} s", timeout.as_secs_f64()),
            ))),
        }
    }
}

/// How long a refused request's unread body is drained for.
const DRAIN_WINDOW: Duration = Duration::from_secs(5);

impl Drop for Body {
    /// A body left unread (its request refused before it was needed) is drained in the
    /// background: read and thrown away, never held, for at most [`DRAIN_WINDOW`] and
    /// the route's limit. A server that closed the connection with the body still
    /// arriving would make the kernel reset it, and the sender would see a broken
    /// pipe instead of the 401 or 403 that says why. A body declared over the limit
    /// is not drained: the connection closes after the answer.
    fn drop(&mut self) {
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        if self.declared == Some(0) || self.declared.is_some_and(|l| l > self.limit) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let limit = self.limit;
        rt.spawn(async move {
            let _ = tokio::time::timeout(DRAIN_WINDOW, async {
                let mut seen = 0u64;
                while let Some(Ok(chunk)) = stream.next().await {
                    seen += chunk.len() as u64;
                    if seen > limit {
                        break;
                    }
                }
            })
            .await;
        });
    }
}

fn too_large(cap: Cap, limit: u64) -> ApiError {
    OverCap::new(
        cap,
        limit,
        format!("the body is over the limit of {limit} bytes"),
    )
    .into()
}

/// The unread body of a request, to be read up to `limit` bytes (refusals counted
/// under `cap`) within `timeout`, out of `budget`.
pub fn body(
    limit: u64,
    cap: Cap,
    timeout: Duration,
    budget: BodyBudget,
) -> impl Filter<Extract = (Body,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .map(move |declared: Option<u64>, stream| Body {
            declared,
            stream: Some(chunks(stream)),
            limit,
            cap,
            timeout,
            budget: budget.clone(),
        })
}

/// warp's body stream as owned chunks, boxed so that [`Body`] has a name.
fn chunks<S, B>(stream: S) -> Chunks
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    Box::pin(stream.map(|c| {
        c.map(|mut b| {
            let n = b.remaining();
            b.copy_to_bytes(n)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spent_budget_refuses_with_503_and_gives_room_back_when_a_body_is_dropped() {
        let budget = BodyBudget::new(8 * 1024);
        let first = budget.take(8 * 1024).await.unwrap();
        assert_eq!(budget.available(), 0);
        let before = limits::refusals(Cap::BodyBudget);
        tokio::time::pause();
        let refused = budget.take(1).await.unwrap_err();
        assert!(matches!(refused, ApiError::Busy { .. }), "{refused:?}");
        assert_eq!(limits::refusals(Cap::BodyBudget), before + 1);
        drop(first);
        assert_eq!(budget.available(), 8 * 1024);
        assert!(budget.take(4 * 1024).await.is_ok());
    }

    #[tokio::test]
    async fn a_body_larger_than_the_whole_budget_is_refused_at_once() {
        let budget = BodyBudget::new(4 * 1024);
        let e = budget.take(5 * 1024).await.unwrap_err();
        match e {
            ApiError::OverCap(o) => assert_eq!(o.cap, Cap::BodyBudget),
            other => panic!("{other:?}"),
        }
    }
}
