//! Readings: writing them (one or a batch, with an idempotency key), withdrawing them,
//! and reading them back as they stand, as they stood at an earlier time, by period,
//! and the flagged ones.

use chrono::{DateTime, Utc};
use sled::transaction::{Transactional, TransactionalTree};

use super::audit::{audit_tx, AuditRecord, Change};
use super::writer::{AnswerFn, Applied, Basis, ReadingWrite, SeriesRead};
use super::{abort, codec, dec, enc, keys, tx_err, Outcome, Store, StoreError, TxResult};
use crate::domain::{IndicatorId, Period, PeriodNote, QualityNote, Reading, ReadingInput};

/// What each row of a batch did, in order.
pub type RowOutcomes = Vec<(Outcome, Reading)>;

/// The rows' outcomes, or, when the idempotency key was already taken, the answer
/// stored under it (and nothing written).
pub type BatchResult = (RowOutcomes, Option<Vec<u8>>);

/// An idempotency key and the function that renders the answer to store under it.
pub type Idempotency = (Vec<u8>, AnswerFn);

/// One row of a batch, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub indicator: IndicatorId,
    pub period: Period,
    pub input: ReadingInput,
    /// Set when the row failed quality checks and was submitted with an explanation:
    /// the reading is stored and flagged.
    pub quality: Option<QualityNote>,
}

/// A note on an indicator's period sent without a figure: kept as an audited note.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteRow {
    pub indicator: IndicatorId,
    pub period: Period,
    pub note: String,
    pub status: Option<crate::domain::ObsStatus>,
}

impl Store {
    /// Records a reading. Unchanged values write nothing; anything else writes the
    /// reading, its revision index entry and its audit row in one transaction.
    pub fn put_reading(
        &self,
        id: &IndicatorId,
        period: Period,
        input: &ReadingInput,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Reading), StoreError> {
        let rows = [BatchRow {
            indicator: id.clone(),
            period,
            input: input.clone(),
            quality: None,
        }];
        let (mut out, _) = self.put_readings(&rows, actor, now, None)?;
        Ok(out.remove(0))
    }

    /// Records many readings in ONE transaction: all of them land, or none do.
    ///
    /// With `idempotency = Some((key, answer))`, the answer is stored under the key in
    /// the same transaction, so a retry can be answered without writing twice. If the
    /// key is already taken, nothing is written and the stored answer is returned.
    pub fn put_readings(
        &self,
        rows: &[BatchRow],
        actor: &str,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
    ) -> Result<BatchResult, StoreError> {
        self.put_readings_expecting(rows, actor, now, idempotency, &[])
    }

    /// [`Store::put_readings`], in the same transaction checking that each reading of
    /// `expect` is still at the revision given (`None`: no reading), else writing
    /// nothing and answering [`StoreError::Stale`]: a batch confirmed after a preview
    /// writes what the preview showed or nothing.
    pub fn put_readings_expecting(
        &self,
        rows: &[BatchRow],
        actor: &str,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
        expect: &[(IndicatorId, Period, Option<u32>)],
    ) -> Result<BatchResult, StoreError> {
        self.put_batch(rows, &[], actor, now, idempotency, expect)
    }

    /// [`Store::put_readings_expecting`] with the batch's notes sent without a figure,
    /// each kept as an audited note of its indicator's period in the same transaction.
    ///
    /// The write goes through the writer thread ([`super::writer`]) like every other
    /// write of readings, unvetted ([`Basis::UNCHECKED`]); it returns once applied, and
    /// is durable after [`Store::flush`] or [`Store::durable`].
    pub fn put_batch(
        &self,
        rows: &[BatchRow],
        notes: &[NoteRow],
        actor: &str,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
        expect: &[(IndicatorId, Period, Option<u32>)],
    ) -> Result<BatchResult, StoreError> {
        let write = ReadingWrite {
            rows: rows.to_vec(),
            notes: notes.to_vec(),
            actor: actor.to_string(),
            now,
            idempotency,
            expect: expect.to_vec(),
            recheck: None,
        };
        match self.inner.writer.write_blocking(write, false)? {
            Applied::Done(result) => Ok(result),
            Applied::Refused => unreachable!("a write without a recheck is never vetted again"),
        }
    }

    /// The generation of reading changes the store stands at: taken by a writer before
    /// it vets its rows against the store, and sent with them ([`super::writer`]).
    pub fn basis(&self) -> Basis {
        self.inner.generations.basis()
    }

    /// Queues a vetted write to the writer thread and waits until it is applied and on
    /// disk. [`Applied::Moved`] means readings it was vetted against have changed:
    /// vet it again (with a new [`Store::basis`]) and send it again.
    pub async fn write(&self, write: ReadingWrite) -> Result<Applied, StoreError> {
        self.inner.writer.write(write).await
    }

    /// The answer stored under an idempotency key, if any.
    pub fn idempotent_answer(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.idempotency.get(key)?.map(|v| v.to_vec()))
    }

    /// Withdraws a reading (sent to the wrong period or indicator). The history keeps
    /// it: a tombstone revision records who, when and why.
    pub fn withdraw_reading(
        &self,
        id: &IndicatorId,
        period: Period,
        actor: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Reading, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        // Held across the change, so that the writer thread never applies a write
        // vetted against the reading withdrawn here (see `writer`).
        let mut generations = i.generations.lock();
        let rkey = keys::reading(id, period);
        let withdrawn = (
            &i.readings,
            &i.revisions,
            &i.by_period,
            &i.audit,
            &i.withdrawn,
            &i.flagged,
        )
            .transaction(
                |(readings, revisions, by_period, audit, withdrawn, flagged)| {
                    let Some(old) = readings.get(&rkey)? else {
                        return abort(StoreError::UnknownReading(id.clone(), period));
                    };
                    let old: Reading = dec(&old)?;
                    readings.remove(rkey.as_slice())?;
                    flagged.remove(rkey.as_slice())?;
                    withdrawn.insert(rkey.as_slice(), enc(&old.revision)?)?;
                    by_period.remove(keys::by_period(period, id))?;
                    let seq = audit_tx(
                        audit,
                        actor,
                        now,
                        (reason.clone(), None),
                        Change::Reading {
                            indicator: id.clone(),
                            period,
                            old: Some(old.clone()),
                            new: None,
                        },
                    )?;
                    revisions.insert(keys::revision(id, period, seq), &[])?;
                    Ok(old)
                },
            )
            .map_err(tx_err)?;
        i.generations.advance(&mut generations, [id]);
        Ok(withdrawn)
    }

    pub fn reading(&self, id: &IndicatorId, period: Period) -> Result<Option<Reading>, StoreError> {
        self.inner
            .readings
            .get(keys::reading(id, period))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// One indicator's current readings from `from` to `to` (inclusive), in period order.
    pub fn readings(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        series_in(&self.inner.readings, id, from, to)
    }

    /// The values of one indicator's readings in one year, for the engine.
    pub fn year_values(
        &self,
        id: &IndicatorId,
        year: u16,
    ) -> Result<Vec<(Period, f64)>, StoreError> {
        let from = Period::new(year, 1).ok();
        let to = Period::new(year, 12).ok();
        Ok(self
            .readings(id, from, to)?
            .into_iter()
            .map(|(p, r)| (p, r.value))
            .collect())
    }

    /// The latest period that holds any reading: the default `as_of`.
    /// The latest period of `year` that holds a reading.
    pub fn latest_period_in(&self, year: u16) -> Result<Option<Period>, StoreError> {
        let (start, end) = year_bounds(year);
        Ok(match self.inner.by_period.range(start..end).next_back() {
            Some(kv) => keys::period_of_by_period_key(&kv?.0),
            None => None,
        })
    }

    /// The latest period of `year` that holds a reading of an indicator `keep` accepts
    /// (by id): a scan of the year's `by_period` keys from the end, stopping at the
    /// first kept one.
    pub fn latest_period_in_where(
        &self,
        year: u16,
        mut keep: impl FnMut(&IndicatorId) -> Result<bool, StoreError>,
    ) -> Result<Option<Period>, StoreError> {
        let (start, end) = year_bounds(year);
        for kv in self.inner.by_period.range(start..end).rev() {
            let (k, _) = kv?;
            let id = k
                .get(3..)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| IndicatorId::parse(s).ok());
            if let Some(id) = id {
                if keep(&id)? {
                    return Ok(keys::period_of_by_period_key(&k));
                }
            }
        }
        Ok(None)
    }

    pub fn latest_period(&self) -> Result<Option<Period>, StoreError> {
        Ok(match self.inner.by_period.last()? {
            Some((k, _)) => keys::period_of_by_period_key(&k),
            None => None,
        })
    }

    /// The notes kept for an indicator's periods (sent without a figure), from `from`
    /// to `to`, oldest first.
    pub fn notes(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<PeriodNote>, StoreError> {
        let mut out = Vec::new();
        for (_, rec) in self.indexed_audit(&self.inner.revisions, keys::series_prefix(id))? {
            if let Change::Note {
                period,
                note,
                status,
                ..
            } = rec.change
            {
                if from.is_none_or(|f| period >= f) && to.is_none_or(|t| period <= t) {
                    out.push(PeriodNote {
                        period,
                        note,
                        status,
                        by: rec.actor,
                        at: rec.at,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The audit rows of one reading, oldest first, with their sequence numbers.
    pub fn revisions(
        &self,
        id: &IndicatorId,
        period: Period,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        self.indexed_audit(&self.inner.revisions, keys::reading(id, period))
    }

    /// One indicator's readings as the store stood at `at`, from `from` to `to`: for
    /// each period, the value of its last change made at or before `at` (withdrawn
    /// readings are absent). Built from the audit trail, the way ALFRED serves vintages.
    pub fn readings_as_known_at(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        let mut latest: std::collections::BTreeMap<Period, Option<Reading>> = Default::default();
        for (_, rec) in self.indexed_audit(&self.inner.revisions, keys::series_prefix(id))? {
            if rec.at > at {
                continue;
            }
            if let Change::Reading { period, new, .. } = rec.change {
                if from.is_none_or(|f| period >= f) && to.is_none_or(|t| period <= t) {
                    // Keys are in period then sequence order: the last one seen wins.
                    latest.insert(period, new);
                }
            }
        }
        Ok(latest
            .into_iter()
            .filter_map(|(p, r)| r.map(|r| (p, r)))
            .collect())
    }

    /// The flagged readings (accepted despite failing quality checks, with an
    /// explanation): each with the audit row of its flagged revision.
    pub fn flagged(&self) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.flagged.iter() {
            let (_, v) = kv?;
            let seq = u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Codec("a flag is not 8 bytes".into()))?,
            );
            if let Some(rec) = self.inner.audit.get(keys::audit(seq))? {
                out.push((seq, codec::decode(&rec)?));
            }
        }
        Ok(out)
    }
}

/// The trees a write of readings changes, inside its transaction.
pub(super) struct ReadingTrees<'a> {
    pub indicators: &'a TransactionalTree,
    pub readings: &'a TransactionalTree,
    pub revisions: &'a TransactionalTree,
    pub by_period: &'a TransactionalTree,
    pub audit: &'a TransactionalTree,
    pub withdrawn: &'a TransactionalTree,
    pub flagged: &'a TransactionalTree,
}

/// Writes one row: its reading, the indexes, its audit row and its flag.
pub(super) fn put_reading_tx(
    t: &ReadingTrees<'_>,
    row: &BatchRow,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<(Outcome, Reading)> {
    let (id, period, input) = (&row.indicator, row.period, &row.input);
    let rkey = keys::reading(id, period);
    let old: Option<Reading> = t.readings.get(&rkey)?.map(|v| dec(&v)).transpose()?;
    if let Some(old) = &old {
        if old.same_as(input) {
            return Ok((Outcome::Unchanged, old.clone()));
        }
    }
    // After a withdrawal, numbering goes on from the withdrawn revision.
    // A reading that exists was not withdrawn since; only a new one needs the look
    // (a read is cheaper than a remove, which writes even when there is nothing).
    let last_withdrawn: u32 = match &old {
        Some(_) => 0,
        None => match t.withdrawn.get(&rkey)? {
            Some(v) => {
                t.withdrawn.remove(rkey.as_slice())?;
                dec(&v)?
            }
            None => 0,
        },
    };
    let new = Reading {
        value: input.value,
        status: input.status,
        note: input.note.clone(),
        form: input.form,
        recorded_at: now,
        recorded_by: actor.to_string(),
        revision: old.as_ref().map_or(last_withdrawn, |o| o.revision) + 1,
    };
    t.readings.insert(rkey.as_slice(), enc(&new)?)?;
    if old.is_none() {
        // A reading that exists is already indexed.
        t.by_period.insert(keys::by_period(period, id), &[])?;
    }
    let seq = audit_tx(
        t.audit,
        actor,
        now,
        (None, row.quality.clone()),
        Change::Reading {
            indicator: id.clone(),
            period,
            old: old.clone(),
            new: Some(new.clone()),
        },
    )?;
    t.revisions.insert(keys::revision(id, period, seq), &[])?;
    // A revision that passes the checks clears the flag of the one before.
    if row.quality.is_some() {
        t.flagged.insert(rkey.as_slice(), &keys::audit(seq))?;
    } else if old.is_some() {
        t.flagged.remove(rkey.as_slice())?;
    }
    let outcome = Outcome::of_write(old.is_some());
    Ok((outcome, new))
}

impl SeriesRead for Store {
    fn series(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        self.readings(id, from, to)
    }
}

/// [`Store::readings`] over the `readings` tree.
pub(super) fn series_in(
    readings: &sled::Tree,
    id: &IndicatorId,
    from: Option<Period>,
    to: Option<Period>,
) -> Result<Vec<(Period, Reading)>, StoreError> {
    let prefix = keys::series_prefix(id);
    let start = from.map_or_else(|| prefix.clone(), |p| keys::reading(id, p));
    let mut end = to.map_or_else(
        || {
            let mut e = prefix.clone();
            e.push(0xff);
            e
        },
        |p| keys::reading(id, p),
    );
    end.push(0xff);
    let mut out = Vec::new();
    for kv in readings.range(start..end) {
        let (k, v) = kv?;
        if let Some(p) = keys::period_of_reading_key(&k) {
            out.push((p, codec::decode(&v)?));
        }
    }
    Ok(out)
}

/// The `by_period` keys of one year lie in `start..end`.
fn year_bounds(year: u16) -> (Vec<u8>, Vec<u8>) {
    let start = year.to_be_bytes().to_vec();
    let end = match year.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        None => vec![0xff; 3],
    };
    (start, end)
}
