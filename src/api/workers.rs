//! A small pool of threads of its own for batches: decoding, checking and writing a
//! spreadsheet of readings.
//!
//! A batch's working memory is a few times its body (the text, the decoded rows, their
//! errors). On tokio's blocking pool every batch could land on a different thread, and
//! the allocator keeps what a thread freed in that thread's arena: thirty 8 MiB batches
//! sent back to back left the server at 422 MB. With one thread per core, batches take
//! turns for the cores (they would only share them otherwise) and at most that many
//! arenas ever hold a batch's leftovers.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::ApiError;

type Job = Box<dyn FnOnce() + Send>;

/// The batch threads. Dropping the last handle lets them end once their queue is
/// empty.
#[derive(Clone)]
pub struct Workers {
    jobs: mpsc::Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.threads)
            .finish()
    }
}

impl Workers {
    /// `threads` threads (at least one), named `zhibiao-batch-N`.
    pub fn new(threads: usize) -> Workers {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("zhibiao-batch-{n}"))
                .spawn(move || loop {
                    // The lock is held only to take the next job, not to run it.
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("a batch thread starts");
        }
        Workers { jobs: tx, threads }
    }

    /// One thread per core.
    pub fn per_core() -> Workers {
        Workers::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `f` on a batch thread once one is free, and waits for its answer. A panic
    /// in `f` is an internal error, and the thread goes on to the next job.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        });
        self.jobs.send(job).map_err(|_| {
            ApiError::internal(std::io::Error::other("the batch threads have ended"))
        })?;
        match rx.await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_panic)) => Err(ApiError::internal(std::io::Error::other(
                "a batch panicked; nothing of it was written",
            ))),
            Err(_) => Err(ApiError::internal(std::io::Error::other(
                "a batch thread ended before answering",
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pool_threads_and_a_panic_is_an_error() {
        let w = Workers::new(2);
        let name = w
            .run(|| Ok(std::thread::current().name().map(str::to_string)))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("zhibiao-batch-"));
        let e = w.run::<(), _>(|| panic!("boom")).await.unwrap_err();
        assert!(matches!(e, ApiError::Internal(_)), "{e:?}");
        // The thread that caught the panic still serves.
        for _ in 0..4 {
            assert_eq!(w.run(|| Ok(1)).await.unwrap(), 1);
        }
    }

    #[tokio::test]
    async fn no_more_jobs_run_at_once_than_there_are_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let w = Workers::new(2);
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let runs = (0..8).map(|_| {
            let (now, most) = (now.clone(), most.clone());
            w.run(move || {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        for r in futures_util::future::join_all(runs).await {
            r.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
    }
}
