//! The ceiling for any warp endpoint on this machine: a minimal warp server that
//! answers `GET /` with a small JSON object, built with the same warp, tokio runtime
//! and release profile as zhibiao. `scripts/load` starts it beside the real server and
//! reports each zhibiao endpoint's requests per second as a ratio to this one, so the
//! figures compare like with like on a shared, noisy machine.
//!
//! Run with `cargo bench --bench hello -- [ADDR]` (default `127.0.0.1:0`). It prints
//! one line, `hello listening on http://HOST:PORT`, then serves until killed.

use std::io::Write;
use std::net::SocketAddr;

use warp::Filter;

fn main() {
    // `cargo bench` passes `--bench`; the only other argument taken is an address.
    let addr: SocketAddr = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .expect("hello: the argument must be an address such as 127.0.0.1:0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let local = listener.local_addr().expect("local address");
        println!("hello listening on http://{local}");
        let _ = std::io::stdout().flush();
        let route = warp::path::end()
            .and(warp::get())
            .map(|| warp::reply::json(&serde_json::json!({"hello": "world"})));
        warp::serve(route).incoming(listener).run().await;
    });
}
