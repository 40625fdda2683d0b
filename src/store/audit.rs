//! The audit trail: one row per accepted change, under a sequence number that only
//! grows, and the reads over it. The write methods of the other modules add their row
//! with `audit_tx` inside their own transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;
use sled::Tree;

use super::{codec, enc, keys, Store, StoreError, TxResult};
use crate::domain::{
    Indicator, IndicatorId, ObsStatus, Period, Plan, PlanId, QualityNote, Reading, Region,
    RegionSettings, Target,
};

/// One change, as kept in the audit tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// The name of the token that made the change.
    pub actor: String,
    pub change: Change,
    pub reason: Option<String>,
    /// For a reading accepted despite failing quality checks: what they found and
    /// the submitter's explanation (强制上报说明).
    #[serde(default)]
    pub quality: Option<QualityNote>,
}

/// The old and new value of whatever changed. `None` on one side means created or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// A change is built, encoded and decoded one at a time; boxing the larger variants
// would save nothing worth the noise at every construction.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    Reading {
        indicator: IndicatorId,
        period: Period,
        old: Option<Reading>,
        new: Option<Reading>,
    },
    Target {
        indicator: IndicatorId,
        year: u16,
        old: Option<Target>,
        new: Option<Target>,
    },
    Indicator {
        id: IndicatorId,
        old: Option<Box<Indicator>>,
        new: Option<Box<Indicator>>,
    },
    /// A region registered or changed. Audited like the rest, so that it moves the
    /// change counter: ranks and benchmark labels depend on regions.
    Region {
        name: String,
        old: Option<Region>,
        new: Option<Region>,
    },
    /// A plan created or changed: its title, 文号 and groups.
    Plan {
        id: PlanId,
        old: Option<Plan>,
        new: Option<Plan>,
    },
    /// A region's bulletin settings (发文单位, 文号 prefix, 落款) set or changed. Last
    /// of the variants, so that the rows written before it decode as they were.
    RegionSettings {
        region: String,
        old: Option<RegionSettings>,
        new: Option<RegionSettings>,
    },
    /// A note on an indicator's period sent without a figure (数据待财政局核实后补报):
    /// kept and shown on the 催报 list and the indicator page, never a reading. Indexed
    /// with the period's revisions. Last of the variants, so that the rows written
    /// before it decode as they were.
    Note {
        indicator: IndicatorId,
        period: Period,
        note: String,
        /// The status the row gave, if any (P: a figure to come as 快报).
        status: Option<ObsStatus>,
    },
}

impl Store {
    /// A number that changes with every accepted write: the sequence of the latest
    /// audit row, kept in memory (see `Gate`). Used for ETags and the memo.
    pub fn change_seq(&self) -> Result<u64, StoreError> {
        Ok(self.inner.gate.change())
    }

    /// The whole audit trail, oldest first.
    pub fn audit_log(&self) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        self.inner
            .audit
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
                Ok((seq, codec::decode(&v)?))
            })
            .collect()
    }

    /// The audit rows after `seq`, oldest first.
    pub fn audit_after(&self, seq: u64) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        self.inner
            .audit
            .range((seq.saturating_add(1)).to_be_bytes()..)
            .map(|kv| {
                let (k, v) = kv?;
                let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
                Ok((seq, codec::decode(&v)?))
            })
            .collect()
    }

    /// The audit rows after `seq`, oldest first, if there are at most `limit` of them
    /// (`None` when there are more: the caller starts afresh rather than read them).
    pub fn audit_after_at_most(
        &self,
        seq: u64,
        limit: usize,
    ) -> Result<Option<Vec<(u64, AuditRecord)>>, StoreError> {
        let mut out = Vec::new();
        for kv in self
            .inner
            .audit
            .range((seq.saturating_add(1)).to_be_bytes()..)
        {
            if out.len() == limit {
                return Ok(None);
            }
            let (k, v) = kv?;
            let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
            out.push((seq, codec::decode(&v)?));
        }
        Ok(Some(out))
    }

    /// The audit rows that an index (`revisions` or `target_history`, whose keys end in
    /// an audit sequence number) points at under `prefix`, in key order.
    pub(super) fn indexed_audit(
        &self,
        index: &Tree,
        prefix: Vec<u8>,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let mut out = Vec::new();
        for kv in index.scan_prefix(prefix) {
            let (k, _) = kv?;
            let Some(seq) = keys::seq_of_revision_key(&k) else {
                continue;
            };
            if let Some(v) = self.inner.audit.get(keys::audit(seq))? {
                out.push((seq, codec::decode(&v)?));
            }
        }
        Ok(out)
    }
}

/// Writes one audit row; `notes` are its reason and quality note.
pub(super) fn audit_tx(
    audit: &TransactionalTree,
    actor: &str,
    now: DateTime<Utc>,
    notes: (Option<String>, Option<QualityNote>),
    change: Change,
) -> TxResult<u64> {
    let (reason, quality) = notes;
    // generate_id is monotonic across restarts, so audit keys sort in commit order.
    // It must be the transactional one: Db::generate_id inside a transaction deadlocks.
    let seq = audit.generate_id()?;
    let rec = AuditRecord {
        at: now,
        actor: actor.to_string(),
        change,
        reason,
        quality,
    };
    audit.insert(&keys::audit(seq), enc(&rec)?)?;
    Ok(seq)
}
