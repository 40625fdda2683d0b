//! The one wrapper for tests that must run the real `zhibiao` as a process: to kill it
//! with SIGKILL or SIGTERM, to read what it writes to stderr, or to see how it exits.
//! Everything else starts the server inside the test process (`tests/api/helpers.rs`).
//!
//! Shared by the test binaries and `benches/province.rs`; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

/// What `zhibiao serve` prints on stdout before the address, once it listens.
pub const LISTENING: &str = "zhibiao listening on ";

/// Held while this process spawns a child, and while it closes a store it had open.
///
/// sled locks its store with `flock`, which belongs to the open file, and a child
/// shares every open file from its fork until its exec closes them. A store closed
/// while another test is forking can therefore stay locked (by a child about to exec)
/// when it, or the CLI run next, opens it again.
static FORK: Mutex<()> = Mutex::new(());

pub fn fork_guard() -> MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns `cmd` while no store is being closed in this process.
pub fn spawn(cmd: &mut Command) -> Child {
    let _g = fork_guard();
    cmd.spawn().expect("spawn zhibiao")
}

/// Runs `cmd` to the end (spawned under [`fork_guard`]) and returns its output.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn(cmd).wait_with_output().expect("wait for zhibiao")
}

/// `zhibiao ARGS` with warnings-only logs.
pub fn zhibiao(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhibiao"));
    cmd.args(args).env("RUST_LOG", "warn");
    cmd
}

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
    // Figures are read back as soon as they are acknowledged (no review step), unless
    // the test asks otherwise.
    .args(if args.contains(&"--publish") {
        &[][..]
    } else {
        &["--publish", "immediate"][..]
    })
    .env("ZHIBIAO_ADMIN_TOKEN", admin)
    .env("RUST_LOG", "warn")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// The base URL in one line of `serve`'s stdout: `zhibiao listening on URL`, or with
/// `--json`, `{"listening": URL, …}`.
fn address_in(line: &str) -> Option<String> {
    if let Some(addr) = line.strip_prefix(LISTENING) {
        return Some(addr.trim().to_string());
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v["listening"].as_str().map(str::to_string)
}

/// Reads the child's stdout on a thread; the receiver gets the base URL once the
/// server prints it. For tests that may kill the server before it does.
pub fn address_receiver(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout must be piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = address_in(&line) {
                let _ = tx.send(addr);
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

/// Waits up to `limit` for `child` to exit; kills it (and says so) if it does not.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Ok(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the process did not exit within {limit:?}"));
        }
        // Polling for an exit that is coming; try_wait has no blocking form with a limit.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A running `zhibiao serve` process. Dropping it kills the process (SIGKILL).
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    log: Arc<Mutex<String>>,
    log_thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Spawns `cmd` (a `serve` command line with stdout piped) and waits up to 30 s for
    /// its address. With stderr piped, what it writes there is kept for [`Self::log`].
    pub fn spawn(cmd: &mut Command) -> ServerProcess {
        let mut child = spawn(cmd);
        let log = Arc::new(Mutex::new(String::new()));
        let log_thread = child.stderr.take().map(|stderr| {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            })
        });
        let base = base_url(&mut child);
        ServerProcess {
            base,
            child,
            log,
            log_thread,
        }
    }

    /// `zhibiao serve` on `db` with `admin` as the admin token and `args` after the
    /// usual ones; stderr passed through.
    pub fn start(db: &Path, admin: &str, args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(&mut serve_command(db, admin, args))
    }

    /// A process already spawned whose address is known.
    pub fn from_child(child: Child, base: String) -> ServerProcess {
        ServerProcess {
            base,
            child,
            log: Arc::default(),
            log_thread: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (`Child::kill` sends SIGKILL on Unix): no chance to flush or clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `limit` for the graceful shutdown (which flushes and
    /// releases the store). Killed, and an error, if it does not stop in time.
    pub fn terminate(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Ok(st);
        }
        #[cfg(unix)]
        {
            let _ = output(Command::new("kill").arg(self.child.id().to_string()));
        }
        #[cfg(not(unix))]
        {
            let _ = self.child.kill();
        }
        wait_exit(&mut self.child, limit)
            .map_err(|_| format!("the server did not stop within {limit:?} of SIGTERM"))
    }

    /// Everything written to stderr so far (when it was piped); after [`Self::terminate`]
    /// or [`Self::kill`], everything it wrote.
    pub fn log(&mut self) -> String {
        if self.child.try_wait().ok().flatten().is_some() {
            if let Some(t) = self.log_thread.take() {
                let _ = t.join();
            }
        }
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
