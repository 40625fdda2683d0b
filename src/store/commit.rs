//! Group commit: one thread flushes sled on behalf of every waiting writer.
//!
//! A writer applies its transaction, then calls [`GroupCommit::wait`]. The request goes
//! on a channel; the flusher takes the first request and every other one already
//! queued, calls `Db::flush()` once, and answers them all. Any transaction applied
//! before its request was queued is covered by that flush, because the flush starts
//! after the request was received. Under load many writers share each flush, so
//! durability costs one `sync_file_range` per batch of writers rather than one per write.

use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::StoreError;

type Waiter = oneshot::Sender<Result<(), String>>;

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

impl GroupCommit {
    pub fn start(db: sled::Db) -> GroupCommit {
        let (tx, rx) = mpsc::channel::<Waiter>();
        let thread = thread::Builder::new()
            .name("zhibiao-flush".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "flush failed; writes not acknowledged");
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

    /// Resolves once everything written before the call is flushed to disk.
    pub async fn wait(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or(StoreError::CommitStopped)?
            .send(tx)
            .map_err(|_| StoreError::CommitStopped)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(e)))),
            Err(_) => Err(StoreError::CommitStopped),
        }
    }
}
