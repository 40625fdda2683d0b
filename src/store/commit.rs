//! Making a flushed store durable.
//!
//! Writes are applied and synced by the writer thread ([`super::writer`]), which ends
//! each round with one [`Disk::sync`] for every write and waiter of the round.
//!
//! **A flush is not yet durable.** sled 0.34 ends its flush with `sync_file_range`,
//! which writes the pages but flushes neither the disk's cache nor the file's size
//! (upstream #1351). A process kill loses nothing after it; a power cut can. So each
//! flush is followed by `fdatasync` of sled's log file and `fsync` of the store
//! directory, whose entries sled changes behind our back (snapshots renamed into place,
//! `conf`, blobs). Only then is a writer answered. The power-cut test (`tests/crash.rs`,
//! `tests/lazyfs`) loses acknowledged readings without it.

use std::fs::File;
use std::path::Path;

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
