//! Serving the routes: accepting connections under caps, reading request heads under a
//! timeout, and stopping within a grace period.
//!
//! warp's own `serve` accepts every connection and waits for ever for a request's
//! head, so a few hundred stalled clients could hold the server's memory and sockets.
//! Here the warp filter is served through hyper's HTTP/1 connection builder with:
//!
//! - a cap on open connections, server-wide and per client address: a connection over
//!   either cap is answered `503` with `Retry-After` and closed at once;
//! - a header-read timeout, which also bounds how long a kept-alive connection may sit
//!   idle between requests (hyper starts it whenever it waits for a request head);
//! - a cap on the bytes hyper buffers for one request head;
//! - a grace period at shutdown: connections still busy when it ends are dropped, so a
//!   stalled client cannot keep the process from stopping.
//!
//! Request bodies are bounded separately, by the routes ([`super::body`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::peer::Peer;
use super::state::Ctx;
use crate::limits::{self, Cap};

/// The caps of the serving loop. [`Default`] gives the documented numbers.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Open connections, server-wide.
    pub max_connections: usize,
    /// Open connections from one client address (the peer's: a reverse proxy is one
    /// address, so give it room with `--max-connections-per-address`).
    pub max_connections_per_address: usize,
    /// Time to receive a request's head, and the longest idle time of a kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// How long a stop waits for requests in flight before it drops them.
    pub shutdown_grace: Duration,
}

/// Bytes hyper buffers for one request's head (request line and headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            max_connections: 1024,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of an address; dropping it closes the count.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn enter(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The answer to a connection over a cap, written before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\nContent-Length: 154\r\nConnection: close\r\n\r\n{\"type\":\"urn:zhibiao:problem:busy\",\"title\":\"Service busy\",\"status\":503,\"detail\":\"the server has as many connections open as it allows; try again shortly\"}";

/// Answers 503 on a connection over a cap, counts the refusal, and closes it; a
/// client that does not read the answer within a second is simply dropped.
fn refuse(mut stream: tokio::net::TcpStream, cap: Cap) {
    limits::refused(cap);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = stream.write_all(BUSY).await;
            let _ = stream.shutdown().await;
        })
        .await;
    });
}

/// Puts the connection's peer address into every request, for [`super::filters::req`],
/// and answers it in the language its `Accept-Language` asks for ([`super::lang`]).
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
    peer: SocketAddr,
}

impl<S, B> tower_service::Service<warp::http::Request<B>> for WithPeer<S>
where
    S: tower_service::Service<warp::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<super::lang::Lang, S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: warp::http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(Peer(self.peer));
        let lang = super::lang::of_headers(req.headers());
        super::lang::scope(lang, self.inner.call(req))
    }
}

/// Serves the routes on an already bound listener until `shutdown` resolves, then
/// waits up to the grace period for requests in flight.
pub async fn serve(
    ctx: Ctx,
    listener: tokio::net::TcpListener,
    caps: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let cancel = ctx.cancel.clone();
    let service = warp::service(super::routes::routes(ctx));
    let connections = Arc::new(Semaphore::new(caps.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(caps.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.as_mut() => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            refuse(stream, Cap::Connections);
            continue;
        };
        let Some(slot) = per_address.enter(peer.ip(), caps.max_connections_per_address) else {
            refuse(stream, Cap::ConnectionsPerAddress);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(WithPeer {
            inner: service.clone(),
            peer,
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    // Decodes still running stop at their next check, answering 503.
    cancel.cancel();
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(caps.shutdown_grace) => {
            tracing::warn!(
                grace_secs = caps.shutdown_grace.as_secs_f64(),
                "requests still running at the end of the shutdown grace period were dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_of_connections_and_its_slots_back_when_they_close() {
        let table = Arc::new(PerAddress::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let a = table.enter(ip, 2).unwrap();
        let _b = table.enter(ip, 2).unwrap();
        assert!(
            table.enter(ip, 2).is_none(),
            "a third connection is over the cap"
        );
        assert!(
            table.enter(other, 2).is_some(),
            "another address has its own count"
        );
        drop(a);
        assert!(table.enter(ip, 2).is_some());
    }

    #[test]
    fn the_busy_answer_declares_its_own_length() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(declared, body.len());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["status"], 503);
    }
}
