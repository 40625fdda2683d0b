//! Group commit: one thread flushes sled on behalf of every waiting writer.
//!
//! A writer applies its transaction, then calls [`GroupCommit::wait`]. The request goes
//! on a channel; the flusher takes the first request and every other one already
//! queued, calls `Db::flush()` once, and answers them all. Any transaction applied
//! before its request was queued is covered by that flush, because the flush starts
//! after the request was received. Under load many writers share each flush, so
//! durability costs one sync per batch of writers rather than one per write.
//!
//! **A flush is not yet durable.** sled 0.34 ends its flush with `sync_file_range`,
//! which writes the pages but flushes neither the disk's cache nor the file's size
//! (upstream #1351). A process kill loses nothing after it; a power cut can. So each
//! group's flush is followed by [`Disk::sync`]: `fdatasync` of sled's log file and
//! `fsync` of the store directory, whose entries sled changes behind our back
//! (snapshots renamed into place, `conf`, blobs). Only then is a writer answered. The
//! power-cut test (`tests/crash.rs`, `tests/lazyfs`) loses acknowledged readings without
//! it.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::StoreError;

/// A writer's answer: done, or the error's kind and text (an `io::Error` is not `Clone`).
type Waiter = oneshot::Sender<Result<(), (std::io::ErrorKind, String)>>;

/// Handle to the flusher thread. Dropping it stops the thread and waits for it, so
/// that the database is closed (and its lock released) when the store is dropped.
#[derive(Debug)]
pub struct GroupCommit {
    tx: Option<mpsc::Sender<Waiter>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The files whose sync makes a flushed store durable. A temporary store has none.
#[derive(Debug)]
pub struct Disk {
    log: Option<File>,
    dir: Option<File>,
}

impl Disk {
    /// The sync handles of the store at `path` (`None`: a temporary store). Also makes
    /// the store directory's own entry durable in its parent, once, for a new store.
    pub fn open(path: Option<&Path>) -> std::io::Result<Disk> {
        let Some(path) = path else {
            return Ok(Disk {
                log: None,
                dir: None,
            });
        };
        // sled's log: one file, never replaced, only written and truncated.
        let log = File::open(path.join("db"))?;
        log.sync_all()?;
        // sled writes `conf` once, when it creates the store, and never syncs it.
        File::open(path.join("conf"))?.sync_all()?;
        let dir = File::open(path)?;
        dir.sync_all()?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)?.sync_all()?;
        }
        Ok(Disk {
            log: Some(log),
            dir: Some(dir),
        })
    }

    /// Flushes sled and makes what it wrote durable: after this, a power cut loses
    /// nothing written before the call. An error keeps its kind (a full disk is
    /// `StorageFull`), so that it can be told apart where it is answered.
    pub fn sync(&self, db: &sled::Db) -> std::io::Result<()> {
        let step =
            |what: &str, e: std::io::Error| std::io::Error::new(e.kind(), format!("{what}: {e}"));
        db.flush().map_err(|e| match e {
            sled::Error::Io(io) => step("sled's flush", io),
            other => std::io::Error::other(format!("sled's flush: {other}")),
        })?;
        // The control run of the power-cut test builds without it, to show the test
        // catches the loss (`scripts/crash-test --power-cut --without-fsync`).
        if cfg!(feature = "no-fsync") {
            return Ok(());
        }
        if let Some(f) = &self.log {
            f.sync_data()
                .map_err(|e| step("fdatasync of the store's log", e))?;
        }
        if let Some(d) = &self.dir {
            d.sync_all()
                .map_err(|e| step("fsync of the store's directory", e))?;
        }
        Ok(())
    }
}

impl GroupCommit {
    pub fn start(db: sled::Db, disk: std::sync::Arc<Disk>) -> GroupCommit {
        let (tx, rx) = mpsc::channel::<Waiter>();
        let thread = thread::Builder::new()
            .name("zhibiao-flush".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let result = disk.sync(&db).map_err(|e| (e.kind(), e.to_string()));
                    if let Err(e) = &result {
                        tracing::error!(error = %e.1, "flush failed; writes not acknowledged");
                    }
                    for w in waiters {
                        // A writer that gave up waiting (its request was dropped) is fine.
                        let _ = w.send(result.clone());
                    }
                }
            })
            .expect("spawn the flusher thread");
        GroupCommit {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Resolves once everything written before the call is durable.
    pub async fn wait(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or(StoreError::CommitStopped)?
            .send(tx)
            .map_err(|_| StoreError::CommitStopped)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, e))) => Err(StoreError::Sled(sled::Error::Io(std::io::Error::new(
                kind, e,
            )))),
            Err(_) => Err(StoreError::CommitStopped),
        }
    }
}
