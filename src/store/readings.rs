//! Readings: writing them (one or a batch, with an idempotency key), withdrawing them,
//! and reading them back as they stand, as they stood at an earlier time, by period,
//! and the flagged ones.

use chrono::{DateTime, Utc};
use sled::transaction::{Transactional, TransactionalTree};

use super::audit::{audit_tx, AuditRecord, Change};
use super::writer::{AnswerFn, Applied, Basis, ReadingWrite, SeriesRead};
use super::{abort, aborting, codec, dec, keys, tx_err, Outcome, Store, StoreError, TxResult};
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
            &i.indicators,
            &i.readings,
            &i.periods,
            &i.audit,
            &i.withdrawn,
            &i.flagged,
        )
            .transaction(
                |(indicators, readings, periods, audit, withdrawn, flagged)| {
                    let Some(old) = readings.get(&rkey)? else {
                        return abort(StoreError::UnknownReading(id.clone(), period));
                    };
                    let (old, mut history) = decode_reading(&old).map_err(aborting)?;
                    readings.remove(rkey.as_slice())?;
                    flagged.remove(rkey.as_slice())?;
                    let region = region_tx(indicators, id)?;
                    count_tx(periods, &region, period, -1)?;
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
                    history.push(seq);
                    withdrawn.insert(
                        rkey.as_slice(),
                        encode_withdrawn(old.revision, &history).map_err(aborting)?,
                    )?;
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
            .map(|v| Ok(codec::decode_head(&v)?.0))
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

    /// The latest period of `year` that holds a reading, in any region.
    pub fn latest_period_in(&self, year: u16) -> Result<Option<Period>, StoreError> {
        let mut latest = None;
        for region in self.counted_regions()? {
            latest = latest.max(self.latest_period_of(&region, year)?);
        }
        Ok(latest)
    }

    /// The latest period of `year` that holds a reading of an indicator of `region`:
    /// one step back from the end of the region's year in `periods`.
    pub fn latest_period_of(&self, region: &str, year: u16) -> Result<Option<Period>, StoreError> {
        let start = keys::period_count(region, year, 0);
        let end = keys::period_count(region, year, 0xff);
        Ok(match self.inner.periods.range(start..end).next_back() {
            Some(kv) => keys::period_of_count_key(&kv?.0),
            None => None,
        })
    }

    /// The latest period that holds any reading, in any region.
    pub fn latest_period(&self) -> Result<Option<Period>, StoreError> {
        let mut latest = None;
        for region in self.counted_regions()? {
            let last = self
                .inner
                .periods
                .scan_prefix(keys::region_prefix(&region))
                .next_back();
            if let Some(kv) = last {
                latest = latest.max(keys::period_of_count_key(&kv?.0));
            }
        }
        Ok(latest)
    }

    /// The latest period holding a reading of an indicator of `region`, in any year.
    pub fn latest_period_of_region(&self, region: &str) -> Result<Option<Period>, StoreError> {
        Ok(
            match self
                .inner
                .periods
                .scan_prefix(keys::region_prefix(region))
                .next_back()
            {
                Some(kv) => keys::period_of_count_key(&kv?.0),
                None => None,
            },
        )
    }

    /// The periods of `region` holding readings, from `after` (exclusive) to `through`
    /// (inclusive).
    pub fn periods_of_region(
        &self,
        region: &str,
        after: Option<Period>,
        through: Period,
    ) -> Result<Vec<Period>, StoreError> {
        let start = match after {
            Some(p) => keys::period_count(region, p.year(), p.month() + 1),
            None => keys::region_prefix(region),
        };
        let end = keys::period_count(region, through.year(), through.month() + 1);
        self.inner
            .periods
            .range(start..end)
            .map(|kv| {
                let (k, _) = kv?;
                keys::period_of_count_key(&k)
                    .ok_or_else(|| StoreError::Codec("a periods key without its period".into()))
            })
            .collect()
    }

    /// The regions that have readings.
    pub fn regions_with_readings(&self) -> Result<Vec<String>, StoreError> {
        self.counted_regions()
    }

    /// The regions that have readings: one seek per region in `periods`.
    fn counted_regions(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut from = Vec::new();
        while let Some(kv) = self.inner.periods.range(from.clone()..).next() {
            let (k, _) = kv?;
            let Some(end) = k.iter().position(|b| *b == 0) else {
                break;
            };
            out.push(String::from_utf8_lossy(&k[..end]).into_owned());
            from = k[..end].to_vec();
            from.push(1);
        }
        Ok(out)
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

    /// The audit rows of one reading, oldest first, with their sequence numbers: its
    /// changes (their numbers kept with the reading, or with its tombstone once
    /// withdrawn) and the notes sent for its period.
    pub fn revisions(
        &self,
        id: &IndicatorId,
        period: Period,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let key = keys::reading(id, period);
        let mut seqs = self.history(&key)?;
        for kv in self.inner.revisions.scan_prefix(&key) {
            seqs.extend(keys::seq_of_revision_key(&kv?.0));
        }
        seqs.sort_unstable();
        self.audit_rows(seqs)
    }

    /// The audit sequence numbers of every change of one reading's period.
    fn history(&self, key: &[u8]) -> Result<Vec<u64>, StoreError> {
        if let Some(v) = self.inner.readings.get(key)? {
            return Ok(decode_reading(&v)?.1);
        }
        if let Some(v) = self.inner.withdrawn.get(key)? {
            return Ok(decode_withdrawn(&v)?.1);
        }
        Ok(Vec::new())
    }

    fn audit_rows(&self, seqs: Vec<u64>) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(v) = self.inner.audit.get(keys::audit(seq))? {
                out.push((seq, codec::decode(&v)?));
            }
        }
        Ok(out)
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
        let wanted = |p: Period| from.is_none_or(|f| p >= f) && to.is_none_or(|t| p <= t);
        // Every change of every period of the series: kept with its reading, or with
        // its tombstone.
        let mut changes: Vec<(Period, u64)> = Vec::new();
        let prefix = keys::series_prefix(id);
        for kv in self.inner.readings.scan_prefix(&prefix) {
            let (k, v) = kv?;
            if let Some(p) = keys::period_of_reading_key(&k).filter(|p| wanted(*p)) {
                changes.extend(decode_reading(&v)?.1.into_iter().map(|s| (p, s)));
            }
        }
        for kv in self.inner.withdrawn.scan_prefix(&prefix) {
            let (k, v) = kv?;
            if let Some(p) = keys::period_of_reading_key(&k).filter(|p| wanted(*p)) {
                changes.extend(decode_withdrawn(&v)?.1.into_iter().map(|s| (p, s)));
            }
        }
        changes.sort_unstable();
        let mut latest: std::collections::BTreeMap<Period, Option<Reading>> = Default::default();
        for (_, rec) in self.audit_rows(changes.into_iter().map(|(_, s)| s).collect())? {
            if rec.at > at {
                continue;
            }
            if let Change::Reading { period, new, .. } = rec.change {
                // In period then sequence order: the last one seen wins.
                latest.insert(period, new);
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
    /// Notes sent without a figure, by period (`keys::revision`).
    pub revisions: &'a TransactionalTree,
    pub periods: &'a TransactionalTree,
    pub audit: &'a TransactionalTree,
    pub withdrawn: &'a TransactionalTree,
    pub flagged: &'a TransactionalTree,
}

/// Writes one row: its reading with the history of its period, its period's count
/// (a new reading's indicator's region read through `regions`, once per write), its
/// audit row and its flag.
pub(super) fn put_reading_tx(
    t: &ReadingTrees<'_>,
    row: &BatchRow,
    regions: &mut super::writer::Regions,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<(Outcome, Reading)> {
    let (id, period, input) = (&row.indicator, row.period, &row.input);
    let rkey = keys::reading(id, period);
    let old = t
        .readings
        .get(&rkey)?
        .map(|v| decode_reading(&v))
        .transpose()
        .map_err(aborting)?;
    if let Some((old, _)) = &old {
        if old.same_as(input) {
            return Ok((Outcome::Unchanged, old.clone()));
        }
    }
    // After a withdrawal, numbering goes on from the withdrawn revision, and the
    // period's history from the tombstone's. A reading that exists was not withdrawn
    // since; only a new one needs the look (a read is cheaper than a remove, which
    // writes even when there is nothing).
    let (last_revision, mut history) = match old {
        Some((ref o, ref h)) => (o.revision, h.clone()),
        None => match t.withdrawn.get(&rkey)? {
            Some(v) => {
                t.withdrawn.remove(rkey.as_slice())?;
                decode_withdrawn(&v).map_err(aborting)?
            }
            None => (0, Vec::new()),
        },
    };
    let old = old.map(|(o, _)| o);
    let new = Reading {
        value: input.value,
        status: input.status,
        note: input.note.clone(),
        form: input.form,
        recorded_at: now,
        recorded_by: actor.to_string(),
        revision: last_revision + 1,
    };
    if old.is_none() {
        // A reading that exists is already counted.
        let region = match regions.get(id) {
            Some(r) => r.clone(),
            None => {
                let r = region_tx(t.indicators, id)?;
                regions.insert(id.clone(), r.clone());
                r
            }
        };
        count_tx(t.periods, &region, period, 1)?;
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
    history.push(seq);
    t.readings.insert(
        rkey.as_slice(),
        encode_reading(&new, &history).map_err(aborting)?,
    )?;
    // A revision that passes the checks clears the flag of the one before.
    if row.quality.is_some() {
        t.flagged.insert(rkey.as_slice(), &keys::audit(seq))?;
    } else if old.is_some() {
        t.flagged.remove(rkey.as_slice())?;
    }
    let outcome = Outcome::of_write(old.is_some());
    Ok((outcome, new))
}

/// The region of indicator `id`, read inside a transaction.
pub(super) fn region_tx(indicators: &TransactionalTree, id: &IndicatorId) -> TxResult<String> {
    match indicators.get(keys::indicator(id))? {
        Some(v) => Ok(dec::<crate::domain::Indicator>(&v)?.region),
        None => abort(StoreError::UnknownIndicator(id.clone())),
    }
}

/// Adds `by` to the count of readings of `region` in `period`; a count that reaches
/// zero is removed, so that the latest key of a region is its latest period.
pub(super) fn count_tx(
    periods: &TransactionalTree,
    region: &str,
    period: Period,
    by: i64,
) -> TxResult<()> {
    let key = keys::period_count(region, period.year(), period.month());
    let now = periods.get(&key)?.map_or(0, |v| count_of(&v));
    let next = (i64::from(now) + by).max(0);
    if next == 0 {
        periods.remove(key)?;
    } else {
        periods.insert(key, &(next as u32).to_be_bytes())?;
    }
    Ok(())
}

/// A `periods` value: a raw `u32`.
pub(super) fn count_of(v: &[u8]) -> u32 {
    v.try_into().map(u32::from_be_bytes).unwrap_or(0)
}

/// A value followed by a history: the audit sequence numbers of every change of a
/// reading's period, oldest first, as raw `u64`s after the value's encoding (see `keys`).
fn encode_with_history<T: serde::Serialize>(
    value: &T,
    history: &[u64],
) -> Result<Vec<u8>, StoreError> {
    let mut v = codec::encode(value)?;
    for seq in history {
        v.extend_from_slice(&seq.to_be_bytes());
    }
    Ok(v)
}

fn decode_with_history<T: serde::de::DeserializeOwned>(
    v: &[u8],
) -> Result<(T, Vec<u64>), StoreError> {
    let (value, rest) = codec::decode_head(v)?;
    Ok((value, seqs(rest)?))
}

/// A `readings` value: the reading, then its period's history.
pub(super) fn encode_reading(r: &Reading, history: &[u64]) -> Result<Vec<u8>, StoreError> {
    encode_with_history(r, history)
}

pub(super) fn decode_reading(v: &[u8]) -> Result<(Reading, Vec<u64>), StoreError> {
    decode_with_history(v)
}

/// A `withdrawn` value: the last revision number, then the period's history.
pub(super) fn encode_withdrawn(revision: u32, history: &[u64]) -> Result<Vec<u8>, StoreError> {
    encode_with_history(&revision, history)
}

pub(super) fn decode_withdrawn(v: &[u8]) -> Result<(u32, Vec<u64>), StoreError> {
    decode_with_history(v)
}

fn seqs(raw: &[u8]) -> Result<Vec<u64>, StoreError> {
    if raw.len() % 8 != 0 {
        return Err(StoreError::Codec(format!(
            "a reading's history is {} bytes, not whole sequence numbers",
            raw.len()
        )));
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
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
            out.push((p, codec::decode_head(&v)?.0));
        }
    }
    Ok(out)
}
