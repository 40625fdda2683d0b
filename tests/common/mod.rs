//! Shared by the test binaries that start the real `zhibiao serve` on port 0: the
//! command line, and waiting for the one stdout line that says where it listens.
//! (Each binary uses part of it.)
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::blocking::Client;

/// What `zhibiao serve` prints on stdout before the address, once it listens.
pub const LISTENING: &str = "zhibiao listening on ";

/// `zhibiao serve --db DB --addr 127.0.0.1:0 ARGS` with `admin` as the admin token,
/// warnings-only logs, stdout piped (for the address) and stderr passed through.
pub fn serve_command(db: &Path, admin: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhibiao"));
    cmd.args([
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
    ])
    .args(args)
    .env("ZHIBIAO_ADMIN_TOKEN", admin)
    .env("RUST_LOG", "warn")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// Reads the child's stdout on a thread; the receiver gets the base URL once the
/// server prints it. For tests that may kill the server before it does.
pub fn address_receiver(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout must be piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix(LISTENING) {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    rx
}

/// The base URL the server reports, waiting up to 30 s for it.
pub fn base_url(child: &mut Child) -> String {
    address_receiver(child)
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not report its address")
}

/// An HTTP client whose requests give up after `timeout`.
pub fn client(timeout: Duration) -> Client {
    Client::builder().timeout(timeout).build().unwrap()
}
