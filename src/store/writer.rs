//! The one writer of readings: true group commit.
//!
//! Every write of readings (a single `PUT`, a batch, a page's upload, the CLI's
//! `submit`) is a [`ReadingWrite`] handed to one thread. The thread takes the first
//! write queued and every other one already waiting, applies them in **one** sled
//! transaction, makes the result durable with **one** [`Disk::sync`], and only then
//! answers each writer with its own result. Under load, sixty-four `PUT`s cost one
//! transaction and one fsync instead of sixty-four of each; a lone write costs what it
//! did before. Waiters that only need what was already written to be durable
//! ([`Store::durable`](super::Store::durable)) queue on the same thread and share the
//! same sync.
//!
//! # What each write sees
//!
//! The quality checks of a figure compare it with the stored readings of its indicator,
//! so a write must be vetted against the store as the writes before it left it. Writers
//! vet on their own threads, in parallel, against the committed store, after taking a
//! [`Basis`] (the generation of reading changes they read). The writer keeps, per
//! indicator, the generation that last changed its readings:
//!
//! - A group never holds two writes that touch the same indicator. The second of them
//!   starts the next group, which is applied (though not yet synced) after the first.
//! - A write whose basis is older than the last change of one of its indicators was
//!   vetted against readings that have since changed. The writer vets it again itself,
//!   with the write's own [`Recheck`], against the store as the groups before it left
//!   it, and applies what that gives (or answers [`Applied::Refused`]).
//!
//! So each request's checks see every write queued before it, two writes that share no
//! indicator never wait for each other, and checks run on the writer thread only where
//! two writes of one indicator meet.
//!
//! # Errors
//!
//! A write's own failure (an idempotency key already used, a previewed reading that
//! has changed, an unknown indicator) is found by reads before the write touches
//! anything, and fails that write alone; the rest of its group is applied. A failure
//! of the storage itself (a full disk) fails every write of the group and of the sync,
//! and none of them is acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};
use sled::Tree;
use tokio::sync::oneshot;

use super::audit::{audit_tx, Change};
use super::commit::Disk;
use super::readings::{put_reading_tx, BatchResult, BatchRow, NoteRow, ReadingTrees};
use super::{keys, tx_err, Outcome, StoreError};
use crate::domain::{IndicatorId, Period, Reading};

/// The most rows one group applies in its transaction; a larger queue is split.
const GROUP_ROWS: usize = 20_000;

/// The stored answer of a write with an `Idempotency-Key`, rendered from its rows'
/// outcomes inside the transaction that writes them.
pub type AnswerFn = Box<dyn Fn(&[(Outcome, Reading)]) -> Vec<u8> + Send>;

/// The generation of reading changes a writer vetted against ([`Store::basis`]).
///
/// [`Store::basis`]: super::Store::basis
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basis(u64);

/// Vets a write again against readings as they now stand (`SeriesRead`): the write to
/// apply instead, or `None` when the checks now refuse it (the closure keeps why, for
/// its caller).
pub type Revet = Box<dyn FnMut(&dyn SeriesRead) -> Option<ReadingWrite> + Send>;

/// How a write was vetted: the basis its checks read, and how to vet it again.
pub struct Recheck {
    pub basis: Basis,
    pub revet: Revet,
}

impl std::fmt::Debug for Recheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recheck")
            .field("basis", &self.basis)
            .finish_non_exhaustive()
    }
}

/// Reads of one indicator's current readings, from the store or from inside the
/// writer thread: what the quality checks read.
pub trait SeriesRead {
    /// One indicator's current readings from `from` to `to` (inclusive), in period
    /// order.
    fn series(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<(Period, Reading)>, StoreError>;
}

/// The committed readings, as the writer thread reads them.
struct Committed<'a>(&'a Tree);

impl SeriesRead for Committed<'_> {
    fn series(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        super::readings::series_in(self.0, id, from, to)
    }
}

/// One write of readings and notes, all of it applied or none.
pub struct ReadingWrite {
    pub rows: Vec<BatchRow>,
    pub notes: Vec<NoteRow>,
    pub actor: String,
    pub now: DateTime<Utc>,
    /// The key and the answer to store under it; a key already taken writes nothing
    /// and returns its stored answer.
    pub idempotency: Option<(Vec<u8>, AnswerFn)>,
    /// Readings that must still stand at the revision given (`None`: absent), else
    /// [`StoreError::Stale`] and nothing written: a confirmed preview.
    pub expect: Vec<(IndicatorId, Period, Option<u32>)>,
    /// `None` for a write not vetted against the store (restores, the command line's
    /// loads, tests).
    pub recheck: Option<Recheck>,
}

impl std::fmt::Debug for ReadingWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadingWrite")
            .field("rows", &self.rows)
            .field("notes", &self.notes)
            .field("actor", &self.actor)
            .field("now", &self.now)
            .field("idempotency", &self.idempotency.as_ref().map(|(k, _)| k))
            .field("expect", &self.expect)
            .field("basis", &self.recheck.as_ref().map(|r| r.basis))
            .finish()
    }
}

impl ReadingWrite {
    /// The indicators whose readings this write reads and changes.
    fn touches(&self) -> HashSet<IndicatorId> {
        self.rows
            .iter()
            .map(|r| &r.indicator)
            .chain(self.notes.iter().map(|n| &n.indicator))
            .chain(self.expect.iter().map(|e| &e.0))
            .cloned()
            .collect()
    }
}

/// What became of a write.
#[derive(Debug)]
pub enum Applied {
    /// Applied (and durable, when asked): each row's outcome, or the answer stored
    /// under the idempotency key when it was taken.
    Done(BatchResult),
    /// Vetted again, because readings of its indicators changed after its basis, and
    /// refused by the checks this time: nothing written. Its [`Recheck`] kept why.
    Refused,
}

type Answer = Result<Applied, StoreError>;

/// Where a write's answer goes: to an async request, or to a thread that blocks.
enum Reply {
    Async(oneshot::Sender<Answer>),
    Blocking(mpsc::Sender<Answer>),
}

impl Reply {
    fn send(self, a: Answer) {
        // A writer that gave up waiting (its request was dropped) is fine.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(a);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(a);
            }
        }
    }
}

struct Job {
    write: ReadingWrite,
    touches: HashSet<IndicatorId>,
    /// Answered only once the write is on disk.
    durable: bool,
    reply: Reply,
}

/// A durability waiter's answer: done, or the error's kind and text.
type Waiter = oneshot::Sender<Result<(), (std::io::ErrorKind, String)>>;

enum Msg {
    Write(Box<Job>),
    Sync(Waiter),
}

/// The trees a group's transaction writes.
#[derive(Clone)]
pub(super) struct WriterTrees {
    pub indicators: Tree,
    pub readings: Tree,
    pub revisions: Tree,
    pub periods: Tree,
    pub audit: Tree,
    pub withdrawn: Tree,
    pub idempotency: Tree,
    pub flagged: Tree,
}

/// What the writer thread and the store's other reading changes share.
#[derive(Debug, Default)]
pub(super) struct Generations {
    /// Counts the changes of readings applied so far.
    current: AtomicU64,
    /// The generation that last changed each indicator's readings.
    last: Mutex<HashMap<IndicatorId, u64>>,
}

impl Generations {
    pub(super) fn basis(&self) -> Basis {
        Basis(self.current.load(Ordering::SeqCst))
    }

    /// Holds off other changes of readings while one is checked, applied and recorded.
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IndicatorId, u64>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a change of `ids`, under the lock.
    pub(super) fn advance<'a>(
        &self,
        last: &mut HashMap<IndicatorId, u64>,
        ids: impl IntoIterator<Item = &'a IndicatorId>,
    ) {
        let g = self.current.load(Ordering::SeqCst) + 1;
        for id in ids {
            last.insert(id.clone(), g);
        }
        self.current.store(g, Ordering::SeqCst);
    }

    fn moved(
        last: &HashMap<IndicatorId, u64>,
        write: &ReadingWrite,
        touches: &HashSet<IndicatorId>,
    ) -> bool {
        match &write.recheck {
            None => false,
            Some(r) => touches
                .iter()
                .any(|id| last.get(id).is_some_and(|g| *g > r.basis.0)),
        }
    }
}

/// Handle to the writer thread. Dropping it stops the thread and waits for it, so
/// that the database is closed (and its lock released) when the store is dropped.
#[derive(Debug)]
pub struct Writer {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Write(_) => "Write",
            Msg::Sync(_) => "Sync",
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Writer {
    pub(super) fn start(
        db: sled::Db,
        disk: Arc<Disk>,
        trees: WriterTrees,
        generations: Arc<Generations>,
        gate: Arc<super::Gate>,
    ) -> Writer {
        let (tx, rx) = mpsc::channel::<Msg>();
        let thread = thread::Builder::new()
            .name("zhibiao-writer".into())
            .spawn(move || {
                let w = Thread {
                    db,
                    disk,
                    trees,
                    generations,
                    gate,
                };
                while let Ok(first) = rx.recv() {
                    let mut msgs = vec![first];
                    msgs.extend(rx.try_iter());
                    w.round(msgs);
                }
            })
            .expect("spawn the writer thread");
        Writer {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn send(&self, m: Msg) -> Result<(), StoreError> {
        self.tx
            .as_ref()
            .ok_or(StoreError::CommitStopped)?
            .send(m)
            .map_err(|_| StoreError::CommitStopped)
    }

    /// Queues a write; the answer comes once it is applied and on disk.
    pub(super) async fn write(&self, write: ReadingWrite) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.queue(write, true, Reply::Async(tx))?;
        rx.await.map_err(|_| StoreError::CommitStopped)?
    }

    /// Queues a write and blocks until it is applied (durable when `durable`).
    pub(super) fn write_blocking(&self, write: ReadingWrite, durable: bool) -> Answer {
        let (tx, rx) = mpsc::channel();
        self.queue(write, durable, Reply::Blocking(tx))?;
        rx.recv().map_err(|_| StoreError::CommitStopped)?
    }

    fn queue(&self, write: ReadingWrite, durable: bool, reply: Reply) -> Result<(), StoreError> {
        let touches = write.touches();
        self.send(Msg::Write(Box::new(Job {
            write,
            touches,
            durable,
            reply,
        })))
    }

    /// Resolves once everything written before the call is durable.
    pub(super) async fn durable(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Sync(tx))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, e))) => Err(io_error(kind, e)),
            Err(_) => Err(StoreError::CommitStopped),
        }
    }
}

fn io_error(kind: std::io::ErrorKind, text: String) -> StoreError {
    StoreError::Sled(sled::Error::Io(std::io::Error::new(kind, text)))
}

/// The writer thread's own state.
struct Thread {
    db: sled::Db,
    disk: Arc<Disk>,
    trees: WriterTrees,
    generations: Arc<Generations>,
    gate: Arc<super::Gate>,
}

impl Thread {
    /// One round: apply every queued write, in groups, then one sync, then the answers.
    fn round(&self, msgs: Vec<Msg>) {
        let mut waiters = Vec::new();
        let mut jobs = std::collections::VecDeque::new();
        for m in msgs {
            match m {
                Msg::Write(j) => jobs.push_back(*j),
                Msg::Sync(w) => waiters.push(w),
            }
        }
        // Answered after the sync: (reply, answer).
        let mut after_sync: Vec<(Reply, Answer)> = Vec::new();
        // Answered once the groups are applied and the change counter has moved, so
        // that a caller who has its answer reads the new counter (and ETags).
        let mut at_once: Vec<(Reply, Answer)> = Vec::new();
        {
            // A backup never sees half a group, and the change counter moves when the
            // groups are applied (see `Gate`).
            let _writing = self.gate.enter();
            while !jobs.is_empty() {
                let group = next_group(&mut jobs);
                for (job, answer) in self.apply(group) {
                    let Job { durable, reply, .. } = job;
                    match answer {
                        Ok(Applied::Done(_)) if durable => after_sync.push((reply, answer)),
                        other => at_once.push((reply, other)),
                    }
                }
            }
        }
        for (reply, answer) in at_once {
            reply.send(answer);
        }
        if after_sync.is_empty() && waiters.is_empty() {
            return;
        }
        let synced = self
            .disk
            .sync(&self.db)
            .map_err(|e| (e.kind(), e.to_string()));
        if let Err(e) = &synced {
            tracing::error!(error = %e.1, "flush failed; writes not acknowledged");
        }
        for (reply, answer) in after_sync {
            reply.send(match &synced {
                Ok(()) => answer,
                Err((kind, e)) => Err(io_error(*kind, e.clone())),
            });
        }
        for w in waiters {
            let _ = w.send(synced.clone());
        }
    }

    /// Applies one group in one transaction. A write vetted against readings that have
    /// changed since is vetted again first (see the module's documentation).
    fn apply(&self, group: Vec<Job>) -> Vec<(Job, Answer)> {
        let mut last = self.generations.lock();
        let mut out: Vec<(Job, Answer)> = Vec::new();
        let mut ready = Vec::with_capacity(group.len());
        for mut job in group {
            if !Generations::moved(&last, &job.write, &job.touches) {
                ready.push(job);
                continue;
            }
            let Some(mut recheck) = job.write.recheck.take() else {
                ready.push(job);
                continue;
            };
            // The groups before this one are applied, and none of this group shares
            // an indicator with it: the committed store is what it must be checked
            // against.
            match (recheck.revet)(&Committed(&self.trees.readings)) {
                Some(mut again) => {
                    again.recheck = None;
                    job.touches.extend(again.touches());
                    job.write = again;
                    ready.push(job);
                }
                None => out.push((job, Ok(Applied::Refused))),
            }
        }
        if ready.is_empty() {
            return out;
        }
        let writes: Vec<&ReadingWrite> = ready.iter().map(|j| &j.write).collect();
        match self.transaction(&writes) {
            Ok(answers) => {
                let changed = ready
                    .iter()
                    .zip(&answers)
                    .filter(|(_, a)| matches!(a, Ok((_, None))))
                    .flat_map(|(j, _)| j.touches.iter());
                self.generations.advance(&mut last, changed);
                for (j, a) in ready.into_iter().zip(answers) {
                    out.push((j, a.map(Applied::Done)));
                }
            }
            Err(e) => {
                let (kind, text) = match &e {
                    StoreError::Sled(sled::Error::Io(io)) => (io.kind(), io.to_string()),
                    other => (std::io::ErrorKind::Other, other.to_string()),
                };
                tracing::error!(error = %text, "a group of writes failed; none acknowledged");
                for j in ready {
                    out.push((j, Err(io_error(kind, text.clone()))));
                }
            }
        }
        out
    }

    /// The group's transaction: each write's checks, then its rows. A write whose
    /// checks fail is left out and answered with its error.
    fn transaction(
        &self,
        writes: &[&ReadingWrite],
    ) -> Result<Vec<Result<BatchResult, StoreError>>, StoreError> {
        let t = &self.trees;
        (
            &t.indicators,
            &t.readings,
            &t.revisions,
            &t.periods,
            &t.audit,
            &t.withdrawn,
            &t.idempotency,
            &t.flagged,
        )
            .transaction(
                |(indicators, readings, revisions, periods, audit, withdrawn, idem, flagged)| {
                    let trees = ReadingTrees {
                        indicators,
                        readings,
                        revisions,
                        periods,
                        audit,
                        withdrawn,
                        flagged,
                    };
                    let mut answers = Vec::with_capacity(writes.len());
                    for w in writes {
                        answers.push(match checks(&trees, idem, w)? {
                            Err(e) => Err(e),
                            Ok(Some(stored)) => Ok((Vec::new(), Some(stored))),
                            Ok(None) => Ok((write_tx(&trees, idem, w)?, None)),
                        });
                    }
                    Ok(answers)
                },
            )
            .map_err(tx_err)
    }
}

/// Takes the next group off the queue: writes in order, up to the first that shares an
/// indicator with one already taken, within [`GROUP_ROWS`].
fn next_group(jobs: &mut std::collections::VecDeque<Job>) -> Vec<Job> {
    let mut group = Vec::new();
    let mut taken: HashSet<IndicatorId> = HashSet::new();
    let mut rows = 0;
    while let Some(j) = jobs.front() {
        let size = j.write.rows.len() + j.write.notes.len();
        let clash = j.touches.iter().any(|id| taken.contains(id));
        if !group.is_empty() && (clash || rows + size > GROUP_ROWS) {
            break;
        }
        rows += size;
        taken.extend(j.touches.iter().cloned());
        group.extend(jobs.pop_front());
    }
    group
}

type Tx<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// The region of each indicator a write creates a reading of, read once per write and
/// only when it is needed (for the period's count).
pub(super) type Regions = HashMap<IndicatorId, String>;

/// A write's checks, all reads: `Ok(Err(_))` fails the write alone; `Ok(Ok(Some))` is
/// the answer stored under its idempotency key.
fn checks(
    t: &ReadingTrees<'_>,
    idem: &TransactionalTree,
    w: &ReadingWrite,
) -> Tx<Result<Option<Vec<u8>>, StoreError>> {
    if let Some((key, _)) = &w.idempotency {
        if let Some(stored) = idem.get(key)? {
            return Ok(Ok(Some(stored.to_vec())));
        }
    }
    for (id, period, revision) in &w.expect {
        let now_at = match t.readings.get(keys::reading(id, *period))? {
            Some(v) => Some(
                super::codec::decode_head::<Reading>(&v)
                    .map_err(super::aborting)?
                    .0
                    .revision,
            ),
            None => None,
        };
        if now_at != *revision {
            return Ok(Err(StoreError::Stale(id.clone(), *period)));
        }
    }
    // Each indicator is looked up once per write, not once per row.
    let mut known = HashSet::new();
    let ids = w
        .rows
        .iter()
        .map(|r| &r.indicator)
        .chain(w.notes.iter().map(|n| &n.indicator));
    for id in ids {
        if known.insert(id) && t.indicators.get(keys::indicator(id))?.is_none() {
            return Ok(Err(StoreError::UnknownIndicator(id.clone())));
        }
    }
    Ok(Ok(None))
}

/// Writes a checked write's rows and notes, and its idempotency answer.
fn write_tx(
    t: &ReadingTrees<'_>,
    idem: &TransactionalTree,
    w: &ReadingWrite,
) -> Tx<Vec<(Outcome, Reading)>> {
    let mut out = Vec::with_capacity(w.rows.len());
    let mut regions = Regions::new();
    for r in &w.rows {
        out.push(put_reading_tx(t, r, &mut regions, &w.actor, w.now)?);
    }
    for n in &w.notes {
        let seq = audit_tx(
            t.audit,
            &w.actor,
            w.now,
            (None, None),
            Change::Note {
                indicator: n.indicator.clone(),
                period: n.period,
                note: n.note.clone(),
                status: n.status,
            },
        )?;
        t.revisions
            .insert(keys::revision(&n.indicator, n.period, seq), &[])?;
    }
    if let Some((key, answer)) = &w.idempotency {
        idem.insert(key.as_slice(), answer(&out))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::domain::{ObsStatus, PeriodForm, ReadingInput};
    use crate::store::Store;

    /// When every write of these tests happens: a fixed instant, so that nothing in
    /// them depends on the wall clock.
    fn at() -> DateTime<Utc> {
        "2023-07-10T02:00:00Z".parse().unwrap()
    }

    fn store() -> Store {
        let s = Store::temporary().unwrap();
        s.import_catalogue(&Catalogue::builtin().unwrap(), "test", at())
            .unwrap();
        s
    }

    fn row(id: &str, period: &str, value: f64) -> BatchRow {
        let cat = Catalogue::builtin().unwrap();
        let ind = cat.find(id).unwrap().0.clone();
        BatchRow {
            indicator: ind.id.clone(),
            period: period.parse().unwrap(),
            input: ReadingInput::new(
                &ind,
                value,
                ObsStatus::default(),
                None,
                PeriodForm::default(),
            )
            .unwrap(),
            quality: None,
        }
    }

    fn write(rows: Vec<BatchRow>) -> ReadingWrite {
        ReadingWrite {
            rows,
            notes: Vec::new(),
            actor: "test".into(),
            now: at(),
            idempotency: None,
            expect: Vec::new(),
            recheck: None,
        }
    }

    /// A write vetted at `basis`, whose second look counts its calls and, given the
    /// readings as they stand, writes `rows` when the indicator has fewer than
    /// `refuse_at` readings and refuses otherwise.
    fn checked(
        rows: Vec<BatchRow>,
        basis: Basis,
        refuse_at: usize,
        calls: Arc<AtomicU64>,
    ) -> ReadingWrite {
        let again = rows.clone();
        let revet: Revet = Box::new(move |readings| {
            calls.fetch_add(1, Ordering::SeqCst);
            let seen = readings.series(&again[0].indicator, None, None).unwrap();
            (seen.len() < refuse_at).then(|| write(again.clone()))
        });
        ReadingWrite {
            recheck: Some(Recheck { basis, revet }),
            ..write(rows)
        }
    }

    /// The writer thread's state for `s`, to run rounds by hand: what one round
    /// groups is then known, not left to timing.
    fn thread_of(s: &Store) -> Thread {
        let i = &s.inner;
        Thread {
            db: i.db.clone(),
            disk: i.disk.clone(),
            trees: WriterTrees {
                indicators: i.indicators.clone(),
                readings: i.readings.clone(),
                revisions: i.revisions.clone(),
                periods: i.periods.clone(),
                audit: i.audit.clone(),
                withdrawn: i.withdrawn.clone(),
                idempotency: i.idempotency.clone(),
                flagged: i.flagged.clone(),
            },
            generations: i.generations.clone(),
            gate: i.gate.clone(),
        }
    }

    /// Runs one round of `writes` and returns each one's answer, in order.
    fn round(t: &Thread, writes: Vec<ReadingWrite>) -> Vec<Answer> {
        let mut rxs = Vec::new();
        let msgs = writes
            .into_iter()
            .map(|w| {
                let (tx, rx) = mpsc::channel();
                rxs.push(rx);
                Msg::Write(Box::new(Job {
                    touches: w.touches(),
                    write: w,
                    durable: true,
                    reply: Reply::Blocking(tx),
                }))
            })
            .collect();
        t.round(msgs);
        rxs.into_iter().map(|rx| rx.recv().unwrap()).collect()
    }

    fn done(a: &Answer) -> &BatchResult {
        match a {
            Ok(Applied::Done(r)) => r,
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn writes_of_different_indicators_share_one_group_and_each_gets_its_own_answer() {
        let s = store();
        let t = thread_of(&s);
        let before = s.change_seq().unwrap();
        let basis = s.basis();
        let calls = Arc::new(AtomicU64::new(0));
        let answers = round(
            &t,
            vec![
                checked(
                    vec![row("gdp-growth", "2023-03", 8.1)],
                    basis,
                    9,
                    calls.clone(),
                ),
                checked(
                    vec![row("cpi", "2023-03", 2.1), row("cpi", "2023-06", 2.4)],
                    basis,
                    9,
                    calls.clone(),
                ),
            ],
        );
        assert_eq!(done(&answers[0]).0.len(), 1);
        assert_eq!(done(&answers[1]).0.len(), 2);
        assert_eq!(done(&answers[1]).0[1].0, Outcome::Created);
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was vetted again");
        // One group: one generation for both writes.
        assert_eq!(s.basis(), Basis(basis.0 + 1));
        assert_eq!(s.change_seq().unwrap(), before + 3, "three audit rows");
    }

    #[test]
    fn a_write_failing_its_own_checks_fails_alone_and_writes_nothing() {
        let s = store();
        let t = thread_of(&s);
        let mut stale = write(vec![row("gdp-growth", "2023-06", 8.5)]);
        // Confirmed against a preview that saw a reading of 2023-03 at revision 1:
        // there is none.
        stale.expect = vec![(
            row("gdp-growth", "2023-03", 0.0).indicator,
            "2023-03".parse().unwrap(),
            Some(1),
        )];
        let mut unknown = write(vec![row("cpi", "2023-03", 2.0)]);
        unknown.rows[0].indicator = IndicatorId::parse("no-such-indicator").unwrap();
        let answers = round(
            &t,
            vec![stale, write(vec![row("cpi", "2023-03", 2.1)]), unknown],
        );
        assert!(
            matches!(answers[0], Err(StoreError::Stale(..))),
            "{:?}",
            answers[0]
        );
        assert_eq!(done(&answers[1]).0[0].0, Outcome::Created);
        assert!(
            matches!(answers[2], Err(StoreError::UnknownIndicator(_))),
            "{:?}",
            answers[2]
        );
        let gdp = IndicatorId::parse("gdp-growth").unwrap();
        assert!(
            s.readings(&gdp, None, None).unwrap().is_empty(),
            "the stale write wrote nothing"
        );
        assert_eq!(
            s.audit_log()
                .unwrap()
                .iter()
                .filter(|(_, r)| matches!(r.change, Change::Reading { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn a_write_vetted_before_a_change_of_its_indicator_is_vetted_again_against_it() {
        let s = store();
        let t = thread_of(&s);
        let old = s.basis();
        let calls = Arc::new(AtomicU64::new(0));
        let sme = |p: &str, v: f64| vec![row("tech-sme-registered", p, v)];
        // Three writes of one indicator and one of another, all vetted at once. The
        // first is applied as vetted. The second was vetted without seeing it: it is
        // vetted again, sees one reading, and is written. The third, vetted again,
        // sees two and is refused. The write of the other indicator is applied as it
        // was vetted.
        let answers = round(
            &t,
            vec![
                checked(sme("2023-03", 60.0), old, 2, calls.clone()),
                checked(sme("2023-06", 70.0), old, 2, calls.clone()),
                checked(sme("2023-09", 80.0), old, 2, calls.clone()),
                checked(vec![row("cpi", "2023-03", 2.1)], old, 0, calls.clone()),
            ],
        );
        done(&answers[0]);
        done(&answers[1]);
        assert!(
            matches!(answers[2], Ok(Applied::Refused)),
            "{:?}",
            answers[2]
        );
        done(&answers[3]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let id = IndicatorId::parse("tech-sme-registered").unwrap();
        assert_eq!(s.readings(&id, None, None).unwrap().len(), 2);
        // Vetted after the change, a write is applied as it was vetted.
        let fresh = round(
            &t,
            vec![checked(sme("2023-12", 90.0), s.basis(), 0, calls.clone())],
        );
        done(&fresh[0]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_withdrawal_has_a_write_vetted_before_it_vetted_again() {
        let s = store();
        let t = thread_of(&s);
        let id = IndicatorId::parse("cpi").unwrap();
        s.put_reading(
            &id,
            "2023-03".parse().unwrap(),
            &row("cpi", "2023-03", 2.0).input,
            "t",
            at(),
        )
        .unwrap();
        let basis = s.basis();
        s.withdraw_reading(&id, "2023-03".parse().unwrap(), "t", None, at())
            .unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let answers = round(
            &t,
            vec![checked(
                vec![row("cpi", "2023-06", 2.2)],
                basis,
                9,
                calls.clone(),
            )],
        );
        done(&answers[0]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn groups_split_where_two_writes_share_an_indicator() {
        let job = |ids: &[&str]| {
            let w = write(ids.iter().map(|id| row(id, "2023-03", 1.0)).collect());
            let (tx, _) = mpsc::channel();
            Job {
                touches: w.touches(),
                write: w,
                durable: false,
                reply: Reply::Blocking(tx),
            }
        };
        let mut q: std::collections::VecDeque<Job> = [
            job(&["gdp-growth"]),
            job(&["cpi"]),
            job(&["cpi", "tech-sme-registered"]),
            job(&["gdp-growth"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(next_group(&mut q).len(), 2);
        assert_eq!(
            next_group(&mut q).len(),
            2,
            "the second cpi write starts the next group"
        );
        assert!(q.is_empty());
    }

    #[test]
    fn two_writes_with_one_idempotency_key_in_one_group_write_once() {
        let s = store();
        let t = thread_of(&s);
        let keyed = |id: &str| {
            let mut w = write(vec![row(id, "2023-03", 2.0)]);
            let answer: AnswerFn = Box::new(|out: &[(Outcome, Reading)]| vec![out.len() as u8]);
            w.idempotency = Some((b"k".to_vec(), answer));
            w
        };
        let answers = round(&t, vec![keyed("cpi"), keyed("gdp-growth")]);
        assert_eq!(done(&answers[0]).1, None);
        assert_eq!(
            done(&answers[1]).1,
            Some(vec![1]),
            "the second replays the first's answer"
        );
        let gdp = IndicatorId::parse("gdp-growth").unwrap();
        assert!(s.readings(&gdp, None, None).unwrap().is_empty());
    }
}
