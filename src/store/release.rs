//! 审核 and 发布: the state of each region's month of figures on its way from the units
//! that report them to the public.
//!
//! The `releases` tree holds one [`PeriodRelease`] per region and month the bureau has
//! acted on: its verdict on each figure (审核通过, or 退回 with a note, each against the
//! revision it saw) and, once ordered, the instant of its release. A figure is public
//! when its month is at or before the region's latest month whose release instant has
//! passed ([`Store::released_through`]): releasing June releases every earlier month
//! as well, as bureaus release January and February together. "Has passed" is judged
//! against the instant the caller gives (the one clock's now), so a release set for
//! 09:00 takes effect at 09:00 without a write.
//!
//! Releases are not audit rows: they change who sees the figures, not the figures, so
//! they leave the change sequence (and the memo it keys) alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{codec, keys, Store, StoreError};
use crate::domain::Period;

/// The bureau's verdict on one figure of a month.
// Stored with bincode, which reads neither internally tagged enums nor flattened
// fields: both are plain here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 审核通过.
    Passed,
    /// 退回: sent back to its unit for correction, with what to correct.
    Returned { note: String },
}

/// A verdict, with the revision of the figure it was given on: a figure corrected
/// since is judged again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub verdict: Verdict,
    pub revision: u32,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One region's month: the verdicts given on its figures, and its release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodRelease {
    pub region: String,
    pub period: Period,
    /// By indicator id.
    pub reviews: BTreeMap<String, Review>,
    /// When the month is (or was) released; `None` while it is not ordered.
    pub release_at: Option<DateTime<Utc>>,
    /// Who ordered the release, and when.
    pub released_by: Option<String>,
    pub ordered_at: Option<DateTime<Utc>>,
}

impl PeriodRelease {
    pub fn new(region: &str, period: Period) -> PeriodRelease {
        PeriodRelease {
            region: region.to_string(),
            period,
            reviews: BTreeMap::new(),
            release_at: None,
            released_by: None,
            ordered_at: None,
        }
    }

    /// Whether the month is public at `now`.
    pub fn released(&self, now: DateTime<Utc>) -> bool {
        self.release_at.is_some_and(|at| at <= now)
    }
}

impl Store {
    /// The record of a region's month, if the bureau has acted on it.
    pub fn period_release(
        &self,
        region: &str,
        period: Period,
    ) -> Result<Option<PeriodRelease>, StoreError> {
        self.inner
            .releases
            .get(keys::period_count(region, period.year(), period.month()))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every record of a region, oldest month first.
    pub fn period_releases(&self, region: &str) -> Result<Vec<PeriodRelease>, StoreError> {
        self.inner
            .releases
            .scan_prefix(keys::region_prefix(region))
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Every record of every region.
    pub fn all_period_releases(&self) -> Result<Vec<PeriodRelease>, StoreError> {
        self.inner
            .releases
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Stores a region's month. Flushed before it returns: a release the bureau was
    /// told of is not lost.
    pub fn put_period_release(&self, rec: &PeriodRelease) -> Result<(), StoreError> {
        {
            let _writing = self.writing();
            self.inner.releases.insert(
                keys::period_count(&rec.region, rec.period.year(), rec.period.month()),
                codec::encode(rec)?,
            )?;
            self.inner
                .release_version
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        self.flush()
    }

    /// Counts the writes to releases made through this handle's store since it was
    /// opened (with [`Store::change_seq`], what keys a kept sight of the public).
    pub fn release_version(&self) -> u64 {
        self.inner
            .release_version
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The latest month of `region` released at `now` (every earlier month is
    /// released with it), if any.
    pub fn released_through(
        &self,
        region: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Period>, StoreError> {
        for kv in self
            .inner
            .releases
            .scan_prefix(keys::region_prefix(region))
            .rev()
        {
            let rec: PeriodRelease = codec::decode(&kv?.1)?;
            if rec.released(now) {
                return Ok(Some(rec.period));
            }
        }
        Ok(None)
    }

    /// The earliest release still to come after `now`, of any region: when what the
    /// public sees changes next without a write.
    pub fn next_release_after(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for kv in self.inner.releases.iter() {
            let rec: PeriodRelease = codec::decode(&kv?.1)?;
            if let Some(at) = rec.release_at.filter(|at| *at > now) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }
}

/// A store made by a release before 审核 and 发布 existed showed every figure to
/// everyone: on its first open by this one, each region's months that hold readings are
/// recorded as released, at the time of the last change the store recorded, so that
/// nothing public before becomes hidden. A store that starts empty starts with nothing
/// released. Runs once (the `release_begun` mark in `meta`).
pub(super) fn begin(store: &Store) -> Result<(), StoreError> {
    let i = &store.inner;
    // An older store left as it was (for `zhibiao migrate`) is begun once upgraded.
    if i.meta.contains_key(b"release_begun")? || !super::migrate::is_current(&i.meta)? {
        return Ok(());
    }
    release_what_is_there(store)?;
    i.meta.insert(b"release_begun", &[1])?;
    Ok(())
}

/// Records each region's latest month holding readings as released (see [`begin`]);
/// also used when restoring a backup written before releases were kept.
pub(super) fn release_what_is_there(store: &Store) -> Result<(), StoreError> {
    let i = &store.inner;
    let Some((_, last)) = i.audit.last()? else {
        return Ok(());
    };
    let at = codec::decode::<super::AuditRecord>(&last).map(|r| r.at)?;
    for region in store.regions_with_readings()? {
        let Some(latest) = store.latest_period_of_region(&region)? else {
            continue;
        };
        if store.released_through(&region, at)? >= Some(latest) {
            continue;
        }
        let mut rec = store
            .period_release(&region, latest)?
            .unwrap_or_else(|| PeriodRelease::new(&region, latest));
        rec.release_at = Some(at);
        rec.ordered_at = Some(at);
        rec.released_by = Some("(before 审核 and 发布 were kept)".into());
        i.releases.insert(
            keys::period_count(&region, latest.year(), latest.month()),
            codec::encode(&rec)?,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_is_released_through_once_its_instant_has_passed() {
        let s = Store::temporary().unwrap();
        let june = Period::new(2023, 6).unwrap();
        let july = Period::new(2023, 7).unwrap();
        assert_eq!(
            s.released_through("桃江县", t("2023-08-01T00:00:00Z"))
                .unwrap(),
            None
        );
        let mut r = PeriodRelease::new("桃江县", june);
        r.release_at = Some(t("2023-07-15T01:00:00Z"));
        s.put_period_release(&r).unwrap();
        let mut r = PeriodRelease::new("桃江县", july);
        r.release_at = Some(t("2023-08-15T01:00:00Z"));
        s.put_period_release(&r).unwrap();
        // Another region's release is its own.
        assert_eq!(
            s.released_through("益阳市", t("2023-09-01T00:00:00Z"))
                .unwrap(),
            None
        );
        assert_eq!(
            s.released_through("桃江县", t("2023-07-15T00:59:59Z"))
                .unwrap(),
            None
        );
        assert_eq!(
            s.released_through("桃江县", t("2023-07-15T01:00:00Z"))
                .unwrap(),
            Some(june)
        );
        assert_eq!(
            s.released_through("桃江县", t("2023-08-15T01:00:00Z"))
                .unwrap(),
            Some(july)
        );
        assert_eq!(
            s.next_release_after(t("2023-07-20T00:00:00Z")).unwrap(),
            Some(t("2023-08-15T01:00:00Z"))
        );
        assert_eq!(
            s.next_release_after(t("2023-08-20T00:00:00Z")).unwrap(),
            None
        );
    }
}
