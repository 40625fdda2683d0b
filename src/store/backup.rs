//! Backup and restore (the check they end with is in `check.rs`).
//!
//! A backup is JSON Lines, one record per line, in a fixed order (documented in
//! `docs/reliability.md`):
//!
//! 1. a header `{"zhibiao_backup": 3, "format": <value format version>}`;
//! 2. `meta` (the catalogue's region, document and year), then every `unit`,
//!    `region`, `region_settings` (how a region's bulletins are issued), `plan`, `indicator`, `target`, `reading`, `withdrawn`, `audit` row, `token`,
//!    `idempotency` answer, `due` rule and `webhook` receiver, each tree in key order
//!    (the outbox and the delivery log are not backed up);
//! 3. an `end` record with the counts, so that a backup cut short (even at a line
//!    boundary) is refused on restore instead of restoring part of the store;
//! 4. a `digest` trailer: the SHA-256 of every byte before it, and, when a key was
//!    given at backup time, their HMAC-SHA256 under that key. The counts catch a cut;
//!    the digest catches any change (a token's role or hash edited, a row dropped);
//!    only the HMAC catches a change by someone who also recomputed the digest.
//!
//! Only primary data is written; the indexes (`revisions`, `target_history`,
//! `by_period`, `token_hashes`, `codes`, `flagged`) are rebuilt on restore. A backup
//! written before regions existed restores with every indicator in the catalogue's
//! region, as the format-2 migration does. Nothing in a backup depends on
//! when it was taken, so backup → restore → backup gives the same bytes (with the
//! same key, or none).
//!
//! # Older backups
//!
//! Every backup version this build has ever written keeps restoring: version 1 (no
//! trailer) restores with [`Verified::Nothing`], which the command line reports as a
//! warning. The records themselves are the same in versions 1 and 2, so a version-2
//! backup without its last line and with `"zhibiao_backup":1` in its header is the
//! version-1 backup of the same store, for a release that only reads version 1.
//! Version 3 made plans data: it adds `plan` records, indicators name their `group`
//! (older backups say `battle`, read as the same), and targets carry their plan entry.
//! A backup of version 1 or 2 restores with its plans made from its targets, as the
//! store's format-4 migration makes them. Version 4 adds `region_settings` records
//! (the `region_settings` tree: 发文单位, 文号 prefix and 落款 of a region's bulletins);
//! older backups have none, and restore with none. `tests/fixtures/backup-v1.jsonl` was written
//! by the last build of version 1.
//!
//! # What restore refuses
//!
//! Besides lines that do not parse: a digest or HMAC that does not match, a keyed
//! backup restored without its key (or an unkeyed one with a key), a header of a
//! version this build does not know, a missing `end` record or wrong counts, and a
//! record whose key repeats or comes before the previous key of its tree (every tree
//! is written in key order, so a duplicated audit `seq`, which would overwrite a row,
//! or a token listed twice, cannot come from `backup`). [`Store::restore`] checks the
//! digest only when it reaches the trailer, after writing the records it read into the
//! store it was given: callers restore into a scratch store and keep it only when the
//! restore returned `Ok` (the command line does; see `cli/backup.rs`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{codec, keys, AuditRecord, CatalogueTitle, Change, Store, StoreError, Token};
use crate::domain::{
    DueRule, Indicator, IndicatorId, Period, Plan, Reading, Region, RegionLevel, RegionSettings,
    Target, UnitEntry, Webhook,
};

/// The backup format's version (the header's `zhibiao_backup`). Version 2 added the
/// `digest` trailer; version 3, plans (`plan` records, indicators' `group`, targets'
/// plan entries); version 4, regions' bulletin settings (`region_settings` records);
/// version 5, months' 审核 and 发布 (`release`), accounts (`user`) and the access log
/// (`access`). This build restores versions 1 to 5.
pub const BACKUP_VERSION: u32 = 5;

/// The oldest backup version this build restores. It stays 1: every later version
/// keeps restoring every older backup.
const OLDEST_BACKUP_VERSION: u32 = 1;

/// The shortest backup key, in bytes (after trailing whitespace is trimmed): the same
/// floor as the admin secret's.
pub const MIN_BACKUP_KEY_BYTES: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The key of a backup's HMAC (`zhibiao backup --hmac-key-file`). Its bytes never
/// appear in `Debug` output or in errors.
#[derive(Clone)]
pub struct BackupKey(Vec<u8>);

impl BackupKey {
    /// A key from the bytes of a key file. Trailing whitespace (the newline an editor
    /// or `echo` adds) is not part of the key, so the same key typed two ways agrees;
    /// a key shorter than [`MIN_BACKUP_KEY_BYTES`] is refused.
    pub fn new(bytes: &[u8]) -> Result<BackupKey, StoreError> {
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        if end < MIN_BACKUP_KEY_BYTES {
            return Err(StoreError::Backup(format!(
                "the backup key is {end} bytes long; it must be at least {MIN_BACKUP_KEY_BYTES} \
                 (e.g. `head -c 32 /dev/urandom | base64 > backup.key`)"
            )));
        }
        Ok(BackupKey(bytes[..end].to_vec()))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKey(..)")
    }
}

/// What a restore could verify about the backup it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// A version-1 backup: no digest, so a change to it cannot be detected.
    Nothing,
    /// The SHA-256 of the content matched: the file is as it was written, unless
    /// someone changed it and recomputed the digest.
    Sha256,
    /// The HMAC under the given key matched too: the file is as written by someone
    /// holding the key.
    HmacSha256,
}

/// What [`Store::restore`] loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    #[serde(flatten)]
    pub counts: BackupCounts,
    /// The header's `zhibiao_backup`.
    pub backup_version: u32,
    pub verified: Verified,
}

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// One record is held at a time, as a line is written or read.
#[allow(clippy::large_enum_variant)]
enum Record {
    Meta {
        catalogue: Option<CatalogueTitle>,
    },
    Unit(UnitEntry),
    Region(Region),
    /// A region's bulletin settings (backup version 4 on), after the regions.
    RegionSettings {
        region: String,
        #[serde(flatten)]
        settings: RegionSettings,
    },
    /// A plan (format 4 on); older backups have none, and restore makes them from the
    /// targets as the format-4 migration does.
    Plan(Plan),
    Indicator(Indicator),
    Target {
        indicator: IndicatorId,
        #[serde(flatten)]
        target: Target,
    },
    Reading {
        indicator: IndicatorId,
        period: Period,
        #[serde(flatten)]
        reading: Reading,
    },
    Withdrawn {
        indicator: IndicatorId,
        period: Period,
        last_revision: u32,
    },
    Audit {
        seq: u64,
        #[serde(flatten)]
        record: AuditRecord,
    },
    Token(Token),
    Idempotency {
        key: String,
        answer: String,
    },
    /// An indicator's due rule, where the catalogue sets one.
    Due {
        indicator: IndicatorId,
        rule: DueRule,
    },
    /// A webhook receiver (its URL and signing secret included, like a token's hash:
    /// keep backups as private as the store).
    Webhook(Webhook),
    /// A region's month: its 审核 verdicts and release (version 5 on). A backup
    /// without any is restored with each region's latest month released, as the store
    /// that wrote it showed every figure.
    Release(super::PeriodRelease),
    /// A person's account (version 5 on), password hash included.
    User(super::User),
    /// One entry of the access log (version 5 on).
    Access {
        seq: u64,
        #[serde(flatten)]
        event: super::AccessEvent,
    },
    End {
        #[serde(flatten)]
        counts: BackupCounts,
    },
    /// The trailer (version 2 on): hex SHA-256 of every byte before this line, and
    /// their hex HMAC-SHA256 when the backup was written with a key.
    Digest {
        sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hmac_sha256: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    zhibiao_backup: u32,
    format: u8,
}

/// What a backup or restore moved.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCounts {
    pub indicators: usize,
    pub targets: usize,
    pub readings: usize,
    pub audit: usize,
    pub tokens: usize,
}

/// The digest, and the HMAC when there is a key, of the bytes before the trailer.
struct Seal {
    sha: Sha256,
    mac: Option<HmacSha256>,
}

impl Seal {
    fn new(key: Option<&BackupKey>) -> Seal {
        Seal {
            sha: Sha256::new(),
            mac: key.map(BackupKey::mac),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        if let Some(mac) = &mut self.mac {
            mac.update(bytes);
        }
    }

    /// The trailer of what was sealed.
    fn trailer(self) -> Record {
        Record::Digest {
            sha256: hex::encode(self.sha.finalize()),
            hmac_sha256: self.mac.map(|m| hex::encode(m.finalize().into_bytes())),
        }
    }
}

/// A writer that seals what passes through it.
struct Sealing<'a, W: Write> {
    out: &'a mut W,
    seal: Seal,
}

impl<W: Write> Write for Sealing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.seal.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The last key seen in each tree, so that a record repeated or moved is refused:
/// `backup` writes every tree in key order, and a repeated key would silently
/// overwrite the row before it (a duplicated audit `seq` loses a row).
#[derive(Default)]
struct KeyOrder(HashMap<&'static str, Vec<u8>>);

impl KeyOrder {
    /// `what` names the record for the message, e.g. "audit seq 12".
    fn next(
        &mut self,
        tree: &'static str,
        key: Vec<u8>,
        what: impl FnOnce() -> String,
    ) -> Result<(), String> {
        match self.0.get(tree) {
            Some(last) if *last == key => Err(format!(
                "{} is listed twice; a backup lists each {tree} once",
                what()
            )),
            Some(last) if *last > key => Err(format!(
                "{} is out of order; a backup lists {tree} records in key order, so it \
                 was edited or put together by hand",
                what()
            )),
            _ => {
                self.0.insert(tree, key);
                Ok(())
            }
        }
    }
}

/// A line without its line ending.
/// Adds an audit row's number to the history of the reading (or tombstone) at `key`.
/// Readings and tombstones are restored before the audit rows, which come in order.
fn add_history(i: &super::Inner, key: &[u8], seq: u64) -> Result<(), StoreError> {
    use super::readings::{decode_reading, decode_withdrawn, encode_reading, encode_withdrawn};
    if let Some(v) = i.readings.get(key)? {
        let (r, mut h) = decode_reading(&v)?;
        h.push(seq);
        i.readings.insert(key, encode_reading(&r, &h)?)?;
    } else if let Some(v) = i.withdrawn.get(key)? {
        let (r, mut h) = decode_withdrawn(&v)?;
        h.push(seq);
        i.withdrawn.insert(key, encode_withdrawn(r, &h)?)?;
    }
    Ok(())
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn hex_digest(name: &str, hex_text: &str) -> Result<Vec<u8>, String> {
    match hex::decode(hex_text) {
        Ok(b) if b.len() == 32 => Ok(b),
        _ => Err(format!("the digest record's {name} is not 64 hex digits")),
    }
}

/// Splits a series key (`id 0x00 rest`) into the id and the rest.
pub(super) fn split_series(key: &[u8]) -> Result<(IndicatorId, &[u8]), StoreError> {
    let pos = key
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| StoreError::Codec("a series key without its separator".into()))?;
    let id = std::str::from_utf8(&key[..pos])
        .ok()
        .and_then(|s| IndicatorId::parse(s).ok())
        .ok_or_else(|| StoreError::Codec("a series key with a bad id".into()))?;
    Ok((id, &key[pos + 1..]))
}

pub(super) fn period_of(rest: &[u8]) -> Result<Period, StoreError> {
    if rest.len() < 3 {
        return Err(StoreError::Codec("a reading key without its period".into()));
    }
    Period::new(u16::from_be_bytes([rest[0], rest[1]]), rest[2])
        .map_err(|e| StoreError::Codec(format!("a reading key with a bad period: {e}")))
}

fn line<W: Write>(out: &mut W, r: &impl Serialize) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, r).map_err(|e| StoreError::Codec(e.to_string()))?;
    out.write_all(b"\n")
        .map_err(|e| StoreError::Sled(sled::Error::Io(e)))
}

impl Store {
    /// Writes a consistent snapshot as JSON Lines, sealed with the SHA-256 of its
    /// content (no key: see [`Store::backup_with_key`]).
    pub fn backup<W: Write>(&self, out: &mut W) -> Result<BackupCounts, StoreError> {
        self.backup_with_key(out, None)
    }

    /// Writes a consistent snapshot as JSON Lines. The trees are read while writers
    /// are held off by a store-wide read lock, so the snapshot is one point in time.
    /// The trailer carries the SHA-256 of everything before it and, with a key, their
    /// HMAC-SHA256 as well.
    pub fn backup_with_key<W: Write>(
        &self,
        out: &mut W,
        key: Option<&BackupKey>,
    ) -> Result<BackupCounts, StoreError> {
        let _guard = self.inner.gate.alone();
        let mut sealing = Sealing {
            out: &mut *out,
            seal: Seal::new(key),
        };
        let n = self.write_records(&mut sealing)?;
        let trailer = sealing.seal.trailer();
        line(out, &trailer)?;
        out.flush()
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(n)
    }

    /// Everything of a backup before its trailer.
    fn write_records<W: Write>(&self, out: &mut W) -> Result<BackupCounts, StoreError> {
        let i = &self.inner;
        let mut n = BackupCounts::default();
        line(
            out,
            &Header {
                zhibiao_backup: BACKUP_VERSION,
                format: codec::FORMAT_VERSION,
            },
        )?;
        line(
            out,
            &Record::Meta {
                catalogue: self.catalogue_title()?,
            },
        )?;
        for kv in i.units.iter() {
            line(out, &Record::Unit(codec::decode(&kv?.1)?))?;
        }
        for kv in i.regions.iter() {
            line(out, &Record::Region(codec::decode(&kv?.1)?))?;
        }
        for kv in i.region_settings.iter() {
            let (k, v) = kv?;
            line(
                out,
                &Record::RegionSettings {
                    region: String::from_utf8_lossy(&k).into_owned(),
                    settings: codec::decode(&v)?,
                },
            )?;
        }
        for kv in i.plans.iter() {
            line(out, &Record::Plan(codec::decode(&kv?.1)?))?;
        }
        for kv in i.indicators.iter() {
            line(out, &Record::Indicator(codec::decode(&kv?.1)?))?;
            n.indicators += 1;
        }
        for kv in i.targets.iter() {
            let (k, v) = kv?;
            let (indicator, _) = split_series(&k)?;
            line(
                out,
                &Record::Target {
                    indicator,
                    target: codec::decode(&v)?,
                },
            )?;
            n.targets += 1;
        }
        for kv in i.readings.iter() {
            let (k, v) = kv?;
            let (indicator, rest) = split_series(&k)?;
            line(
                out,
                &Record::Reading {
                    indicator,
                    period: period_of(rest)?,
                    reading: super::readings::decode_reading(&v)?.0,
                },
            )?;
            n.readings += 1;
        }
        for kv in i.withdrawn.iter() {
            let (k, v) = kv?;
            let (indicator, rest) = split_series(&k)?;
            line(
                out,
                &Record::Withdrawn {
                    indicator,
                    period: period_of(rest)?,
                    last_revision: super::readings::decode_withdrawn(&v)?.0,
                },
            )?;
        }
        for kv in i.audit.iter() {
            let (k, v) = kv?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Codec("an audit key is not 8 bytes".into()))?,
            );
            line(
                out,
                &Record::Audit {
                    seq,
                    record: codec::decode(&v)?,
                },
            )?;
            n.audit += 1;
        }
        for kv in i.tokens.iter() {
            line(out, &Record::Token(codec::decode(&kv?.1)?))?;
            n.tokens += 1;
        }
        for kv in i.idempotency.iter() {
            let (k, v) = kv?;
            line(
                out,
                &Record::Idempotency {
                    key: hex::encode(&k),
                    answer: hex::encode(&v),
                },
            )?;
        }
        for (indicator, rule) in self.due_rules()? {
            line(out, &Record::Due { indicator, rule })?;
        }
        for kv in i.webhooks.iter() {
            line(out, &Record::Webhook(codec::decode(&kv?.1)?))?;
        }
        for kv in i.releases.iter() {
            line(out, &Record::Release(codec::decode(&kv?.1)?))?;
        }
        for kv in i.users.iter() {
            line(out, &Record::User(codec::decode(&kv?.1)?))?;
        }
        for kv in i.access_log.iter() {
            let (k, v) = kv?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Codec("an access log key is not 8 bytes".into()))?,
            );
            line(
                out,
                &Record::Access {
                    seq,
                    event: codec::decode(&v)?,
                },
            )?;
        }
        line(out, &Record::End { counts: n.clone() })?;
        Ok(n)
    }

    /// Loads a backup into this store, which must be empty. Indexes are rebuilt and
    /// the audit sequence continues after the restored rows. No audit rows are added:
    /// the backup carries the history itself.
    ///
    /// `key` is the key the backup was written with: a backup with an HMAC is refused
    /// without it or with another, and one without an HMAC is refused when a key is
    /// given (someone may have removed the HMAC and recomputed the digest).
    ///
    /// The digest is checked at the trailer, after the records before it were written
    /// into this store: on an error, the store holds part of the backup. Restore into a
    /// scratch store and discard it unless this returns `Ok` (the command line does).
    pub fn restore<R: BufRead>(
        &self,
        mut input: R,
        key: Option<&BackupKey>,
    ) -> Result<Restored, StoreError> {
        let i = &self.inner;
        if !i.indicators.is_empty() || !i.readings.is_empty() || !i.audit.is_empty() {
            return Err(StoreError::Backup(
                "restore needs an empty store; this one already holds data".into(),
            ));
        }
        let bad = |no: usize, e: String| StoreError::Backup(format!("line {}: {e}", no + 1));
        // Lines are read raw: the digest covers every byte as written.
        let mut buf = Vec::new();
        let mut no = 0usize;
        let mut read_line = |buf: &mut Vec<u8>| -> Result<Option<usize>, StoreError> {
            buf.clear();
            let n = input
                .read_until(b'\n', buf)
                .map_err(|e| StoreError::Backup(format!("line {}: {e}", no + 1)))?;
            no += 1;
            Ok((n > 0).then_some(no - 1))
        };
        let Some(first) = read_line(&mut buf)? else {
            return Err(StoreError::Backup("the file is empty".into()));
        };
        let mut seal = Seal::new(key);
        let header: Header = serde_json::from_slice(trim_eol(&buf))
            .map_err(|e| bad(first, format!("not a zhibiao backup header ({e})")))?;
        let version = header.zhibiao_backup;
        if !(OLDEST_BACKUP_VERSION..=BACKUP_VERSION).contains(&version) {
            return Err(bad(
                first,
                format!(
                    "backup version {version} is not supported (this build reads versions \
                     {OLDEST_BACKUP_VERSION} to {BACKUP_VERSION}; a newer release wrote it)"
                ),
            ));
        }
        // Version 1 has no trailer, so a key cannot be checked against anything.
        if version < 2 && key.is_some() {
            return Err(bad(
                first,
                "a key was given, but this is a version-1 backup, which carries no digest: \
                 restore it without a key, knowing that a change to it cannot be detected"
                    .into(),
            ));
        }
        seal.update(&buf);
        let mut n = BackupCounts::default();
        let mut order = KeyOrder::default();
        let mut token_hashes: HashMap<Vec<u8>, String> = HashMap::new();
        let mut max_seq = None::<u64>;
        let mut ended = false;
        let mut verified = None::<Verified>;
        let mut home = String::new();
        let mut releases = false;
        // Reading key → the audit row of its latest revision, when that one was flagged.
        let mut flags: BTreeMap<Vec<u8>, Option<u64>> = BTreeMap::new();
        // Indicator → its region, and each region's count of readings per period.
        let mut regions: BTreeMap<IndicatorId, String> = BTreeMap::new();
        let mut counts: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        while let Some(no) = read_line(&mut buf)? {
            let text = trim_eol(&buf);
            let blank = text.iter().all(u8::is_ascii_whitespace);
            if verified.is_some() {
                if blank {
                    continue;
                }
                return Err(bad(no, "data after the digest record".into()));
            }
            if ended && version >= 2 && !blank {
                // The trailer: not part of what it seals.
                let Ok(Record::Digest {
                    sha256,
                    hmac_sha256,
                }) = serde_json::from_slice::<Record>(text)
                else {
                    return Err(bad(
                        no,
                        "after the end record comes the digest record, and this line is not one"
                            .into(),
                    ));
                };
                let want = hex_digest("sha256", &sha256).map_err(|e| bad(no, e))?;
                if seal.sha.clone().finalize().as_slice() != want.as_slice() {
                    return Err(bad(
                        no,
                        "the SHA-256 of the backup does not match its digest record: the file \
                         was changed or damaged after it was written"
                            .into(),
                    ));
                }
                verified = Some(match (hmac_sha256, &seal.mac) {
                    (None, None) => Verified::Sha256,
                    (Some(_), None) => {
                        return Err(bad(
                            no,
                            "this backup was written with a key (it carries an HMAC): give \
                             the same key to restore it (--hmac-key-file)"
                                .into(),
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(bad(
                            no,
                            "a key was given, but this backup carries no HMAC: it was written \
                             without a key, or its HMAC was removed (and its digest \
                             recomputed); restore it without the key only if you trust it"
                                .into(),
                        ))
                    }
                    (Some(h), Some(m)) => {
                        let h = hex_digest("hmac_sha256", &h).map_err(|e| bad(no, e))?;
                        if m.clone().verify_slice(&h).is_err() {
                            return Err(bad(
                                no,
                                "the HMAC does not match: the backup was changed after it was \
                                 written, or the key is not the one it was written with"
                                    .into(),
                            ));
                        }
                        Verified::HmacSha256
                    }
                });
                continue;
            }
            seal.update(&buf);
            if blank {
                continue;
            }
            if ended {
                return Err(bad(no, "data after the end record".into()));
            }
            let rec: Record = serde_json::from_slice(text).map_err(|e| bad(no, e.to_string()))?;
            let mut key_order = |tree: &'static str, key: Vec<u8>, what: &dyn Fn() -> String| {
                order.next(tree, key, what).map_err(|e| bad(no, e))
            };
            match rec {
                Record::End { counts } => {
                    if counts != n {
                        return Err(bad(
                            no,
                            format!("the end record counts {counts:?} but the backup held {n:?}"),
                        ));
                    }
                    ended = true;
                }
                Record::Digest { .. } => {
                    return Err(bad(
                        no,
                        if version < 2 {
                            "a version-1 backup has no digest record".into()
                        } else {
                            "a digest record before the end record".into()
                        },
                    ));
                }
                Record::Meta { catalogue } => {
                    key_order("meta", Vec::new(), &|| "the meta record".into())?;
                    if let Some(c) = catalogue {
                        home = c.region.clone();
                        i.meta.insert(b"catalogue", codec::encode(&c)?)?;
                    }
                    i.meta.insert(b"seeded", &[1u8])?;
                }
                Record::Unit(u) => {
                    key_order("unit", u.name.as_bytes().to_vec(), &|| {
                        format!("unit '{}'", u.name)
                    })?;
                    i.units.insert(u.name.as_bytes(), codec::encode(&u)?)?;
                }
                Record::Region(r) => {
                    r.validate().map_err(|e| bad(no, e.to_string()))?;
                    key_order("region", r.name.as_bytes().to_vec(), &|| {
                        format!("region '{}'", r.name)
                    })?;
                    i.regions.insert(r.name.as_bytes(), codec::encode(&r)?)?;
                }
                Record::RegionSettings { region, settings } => {
                    settings.validate().map_err(|e| bad(no, e.to_string()))?;
                    if !i.regions.contains_key(region.as_bytes())? {
                        return Err(bad(
                            no,
                            format!("settings of region '{region}', which the backup does not list before them"),
                        ));
                    }
                    key_order("region settings", region.as_bytes().to_vec(), &|| {
                        format!("the settings of region '{region}'")
                    })?;
                    i.region_settings
                        .insert(region.as_bytes(), codec::encode(&settings)?)?;
                }
                Record::Plan(p) => {
                    p.validate().map_err(|e| bad(no, e.to_string()))?;
                    key_order("plan", p.id.as_str().as_bytes().to_vec(), &|| {
                        format!("plan '{}'", p.id)
                    })?;
                    i.plans
                        .insert(p.id.as_str().as_bytes(), codec::encode(&p)?)?;
                }
                Record::Indicator(mut ind) => {
                    key_order("indicator", keys::indicator(&ind.id), &|| {
                        format!("indicator {}", ind.id)
                    })?;
                    ind.fill_region(&home);
                    regions.insert(ind.id.clone(), ind.region.clone());
                    i.codes.insert(keys::code(&ind.code, &ind.id), &[])?;
                    i.indicators
                        .insert(keys::indicator(&ind.id), codec::encode(&ind)?)?;
                    n.indicators += 1;
                }
                Record::Target { indicator, target } => {
                    let key = keys::target(&indicator, target.year);
                    key_order("target", key.clone(), &|| {
                        format!("the {} target of {indicator}", target.year)
                    })?;
                    i.targets.insert(key, codec::encode(&target)?)?;
                    n.targets += 1;
                }
                Record::Reading {
                    indicator,
                    period,
                    reading,
                } => {
                    let key = keys::reading(&indicator, period);
                    key_order("reading", key.clone(), &|| {
                        format!("reading {indicator} {period}")
                    })?;
                    // Its history is added as its audit rows are restored.
                    i.readings
                        .insert(key, super::readings::encode_reading(&reading, &[])?)?;
                    let region = regions
                        .get(&indicator)
                        .map_or(home.as_str(), String::as_str);
                    *counts
                        .entry(keys::period_count(region, period.year(), period.month()))
                        .or_insert(0u32) += 1;
                    n.readings += 1;
                }
                Record::Withdrawn {
                    indicator,
                    period,
                    last_revision,
                } => {
                    let key = keys::reading(&indicator, period);
                    key_order("withdrawn", key.clone(), &|| {
                        format!("withdrawn reading {indicator} {period}")
                    })?;
                    i.withdrawn
                        .insert(key, super::readings::encode_withdrawn(last_revision, &[])?)?;
                }
                Record::Audit { seq, mut record } => {
                    key_order("audit", keys::audit(seq).to_vec(), &|| {
                        format!("audit seq {seq}")
                    })?;
                    match &mut record.change {
                        Change::Reading {
                            indicator,
                            period,
                            new,
                            ..
                        } => {
                            add_history(i, &keys::reading(indicator, *period), seq)?;
                            let flagged = new.is_some() && record.quality.is_some();
                            flags.insert(keys::reading(indicator, *period), flagged.then_some(seq));
                        }
                        Change::Target {
                            indicator, year, ..
                        } => {
                            i.target_history
                                .insert(keys::target_history(indicator, *year, seq), &[])?;
                        }
                        Change::Indicator { old, new, .. } => {
                            for ind in old.iter_mut().chain(new.iter_mut()) {
                                ind.fill_region(&home);
                            }
                        }
                        Change::Note {
                            indicator, period, ..
                        } => {
                            i.revisions
                                .insert(keys::revision(indicator, *period, seq), &[])?;
                        }
                        Change::Region { .. }
                        | Change::Plan { .. }
                        | Change::RegionSettings { .. } => {}
                    }
                    i.audit.insert(keys::audit(seq), codec::encode(&record)?)?;
                    max_seq = max_seq.max(Some(seq));
                    n.audit += 1;
                }
                Record::Token(t) => {
                    key_order("token", t.name.as_bytes().to_vec(), &|| {
                        format!("token '{}'", t.name)
                    })?;
                    let hash = t.hash_bytes();
                    if hash.len() != 32 {
                        return Err(bad(
                            no,
                            format!("token '{}': its hash is not 64 hex digits", t.name),
                        ));
                    }
                    // One secret, two tokens: the hash index could name only one of them.
                    if let Some(other) = token_hashes.insert(hash.clone(), t.name.clone()) {
                        return Err(bad(
                            no,
                            format!("token '{}' has the same hash as token '{other}'", t.name),
                        ));
                    }
                    i.token_hashes.insert(hash, t.name.as_bytes())?;
                    i.tokens.insert(t.name.as_bytes(), codec::encode(&t)?)?;
                    n.tokens += 1;
                }
                Record::Idempotency { key, answer } => {
                    let k = hex::decode(&key).map_err(|e| bad(no, e.to_string()))?;
                    let v = hex::decode(&answer).map_err(|e| bad(no, e.to_string()))?;
                    key_order("idempotency", k.clone(), &|| {
                        format!("idempotency answer {key}")
                    })?;
                    i.idempotency.insert(k, v)?;
                }
                Record::Due { indicator, rule } => {
                    key_order("due", keys::indicator(&indicator), &|| {
                        format!("the due rule of {indicator}")
                    })?;
                    i.schedules
                        .insert(indicator.as_str().as_bytes(), codec::encode(&rule)?)?;
                }
                Record::Webhook(w) => {
                    key_order("webhook", w.name.as_bytes().to_vec(), &|| {
                        format!("webhook '{}'", w.name)
                    })?;
                    i.webhooks.insert(w.name.as_bytes(), codec::encode(&w)?)?;
                }
                Record::Release(r) => {
                    let key = keys::period_count(&r.region, r.period.year(), r.period.month());
                    key_order("release", key.clone(), &|| {
                        format!("the release of {} {}", r.region, r.period)
                    })?;
                    i.releases.insert(key, codec::encode(&r)?)?;
                    releases = true;
                }
                Record::User(u) => {
                    key_order("user", u.name.as_bytes().to_vec(), &|| {
                        format!("user '{}'", u.name)
                    })?;
                    i.users.insert(u.name.as_bytes(), codec::encode(&u)?)?;
                }
                Record::Access { seq, event } => {
                    key_order("access", seq.to_be_bytes().to_vec(), &|| {
                        format!("access log entry {seq}")
                    })?;
                    i.access_log
                        .insert(seq.to_be_bytes(), codec::encode(&event)?)?;
                    max_seq = max_seq.max(Some(seq));
                }
            }
        }
        if !ended {
            return Err(StoreError::Backup(
                "no end record: the file was cut short, so nothing is restored".into(),
            ));
        }
        let verified = match verified {
            Some(v) => v,
            None if version < 2 => Verified::Nothing,
            None => {
                return Err(StoreError::Backup(
                    "no digest record after the end record: the file was cut short or its \
                     digest removed, so nothing is restored"
                        .into(),
                ))
            }
        };
        for (key, seq) in flags {
            if let Some(seq) = seq {
                i.flagged.insert(key, &keys::audit(seq))?;
            }
        }
        for (key, n) in counts {
            i.periods.insert(key, &n.to_be_bytes())?;
        }
        if !home.is_empty() && !i.regions.contains_key(home.as_bytes())? {
            let region = Region {
                name: home.clone(),
                level: RegionLevel::County,
                parent: None,
            };
            i.regions.insert(home.as_bytes(), codec::encode(&region)?)?;
        }
        if i.plans.is_empty() {
            super::migrate::attach_plans(i)?;
        }
        if !releases && version < 5 {
            super::release::release_what_is_there(self)?;
        }
        // New audit rows must sort after the restored ones: move sled's id generator
        // past the largest restored sequence.
        if let Some(max) = max_seq {
            while i.db.generate_id()? <= max {}
        }
        i.sync()?;
        i.gate.refresh();
        i.release_version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(Restored {
            counts: n,
            backup_version: version,
            verified,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version-1 backup fixture (see `tests/fixtures/README.md`).
    const BACKUP_V1: &[u8] = include_bytes!("../../tests/fixtures/backup-v1.jsonl");

    fn fixture() -> Store {
        let s = Store::temporary().unwrap();
        let r = s.restore(BACKUP_V1, None).unwrap();
        assert_eq!(r.verified, Verified::Nothing);
        assert!(s.check().unwrap().ok());
        s
    }

    fn key(k: &str) -> BackupKey {
        BackupKey::new(k.as_bytes()).unwrap()
    }

    #[test]
    fn a_note_sent_without_a_figure_survives_a_backup_and_restore() {
        let s = fixture();
        let gdp = IndicatorId::parse("gdp-growth").unwrap();
        let july: Period = "2023-07".parse().unwrap();
        let at = "2023-08-12T02:00:00Z".parse().unwrap();
        let note = super::super::NoteRow {
            indicator: gdp.clone(),
            period: july,
            note: "数据待财政局核实后补报".into(),
            status: Some(crate::domain::ObsStatus::Provisional),
        };
        s.put_batch(&[], &[note], "kgj", at, None, &[]).unwrap();
        let kept = s.notes(&gdp, Some(july), Some(july)).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].by.as_str(), kept[0].at), ("kgj", at));
        // A note is no reading, and the store stays consistent.
        assert!(s.reading(&gdp, july).unwrap().is_none());
        assert!(s.check().unwrap().ok());
        let mut b = Vec::new();
        s.backup(&mut b).unwrap();
        let t = Store::temporary().unwrap();
        t.restore(&b[..], None).unwrap();
        assert_eq!(t.notes(&gdp, None, None).unwrap(), kept);
        assert!(t.check().unwrap().ok());
    }

    #[test]
    fn a_backup_key_ignores_trailing_whitespace_and_needs_16_bytes() {
        assert!(BackupKey::new(b"0123456789abcde").is_err());
        assert!(BackupKey::new(b"0123456789abcde\n\n  ").is_err());
        assert!(BackupKey::new(b"").is_err());
        // The same key with and without the newline `echo` adds seals alike.
        let s = fixture();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        s.backup_with_key(&mut a, Some(&key("0123456789abcdef")))
            .unwrap();
        s.backup_with_key(&mut b, Some(&key("0123456789abcdef\r\n")))
            .unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        s.backup_with_key(&mut c, Some(&key("0123456789abcdeF")))
            .unwrap();
        assert_ne!(a, c);
        // Never printed.
        let dbg = format!("{:?}", key("a-secret-key-never-printed"));
        assert!(!dbg.contains("secret"), "{dbg}");
    }

    #[test]
    fn a_keyed_backup_restores_only_with_its_key() {
        let s = fixture();
        let mut b = Vec::new();
        s.backup_with_key(&mut b, Some(&key("the-right-key-0123")))
            .unwrap();
        let restore = |k: Option<&BackupKey>| Store::temporary().unwrap().restore(&b[..], k);
        assert_eq!(
            restore(Some(&key("the-right-key-0123"))).unwrap().verified,
            Verified::HmacSha256
        );
        for k in [None, Some(key("the-wrong-key-0123"))] {
            let e = restore(k.as_ref()).expect_err("refused").to_string();
            assert!(e.contains("key"), "{e}");
        }
        // An unkeyed backup with a key: refused, as one whose HMAC was removed.
        let mut plain = Vec::new();
        s.backup(&mut plain).unwrap();
        let e = Store::temporary()
            .unwrap()
            .restore(&plain[..], Some(&key("the-right-key-0123")))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("carries no HMAC"), "{e}");
    }

    /// A change made to a store's trees behind its back.
    type Corruption = Box<dyn Fn(&super::super::Inner)>;

    /// `check` finds an index that disagrees with its primary rows, in each direction.
    #[test]
    fn check_finds_each_index_out_of_step_with_its_rows() {
        let june: Period = "2023-06".parse().unwrap();
        let cases: Vec<(&str, &str, Corruption)> = vec![
            (
                "a token missing from the hash index",
                "token 'kgj' is missing from the hash index",
                Box::new(|i| {
                    let t: Token = codec::decode(&i.tokens.get("kgj").unwrap().unwrap()).unwrap();
                    i.token_hashes.remove(t.hash_bytes()).unwrap();
                }),
            ),
            (
                "a hash index entry for a secret the token no longer has",
                "hash index entry for 'kgj'",
                Box::new(|i| {
                    i.token_hashes.insert([7u8; 32], "kgj").unwrap();
                }),
            ),
            (
                "a reading whose history lost its audit rows",
                "reading gdp-growth 2023-06 keeps the history [], but its audit rows are [",
                Box::new(move |i| {
                    use super::super::readings::{decode_reading, encode_reading};
                    let gdp = IndicatorId::parse("gdp-growth").unwrap();
                    let k = keys::reading(&gdp, june);
                    let (r, h) = decode_reading(&i.readings.get(&k).unwrap().unwrap()).unwrap();
                    assert_eq!(h.len(), 2, "created, then revised");
                    i.readings
                        .insert(k, encode_reading(&r, &[]).unwrap())
                        .unwrap();
                }),
            ),
            (
                "a period counted without its reading",
                "the count of 桃江县's readings in 2023-10 is 1, but 0 readings are stored",
                Box::new(move |i| {
                    i.periods
                        .insert(keys::period_count("桃江县", 2023, 10), &1u32.to_be_bytes())
                        .unwrap();
                }),
            ),
            (
                "a reading both stored and withdrawn",
                "reading gdp-growth 2023-06 is both stored and withdrawn",
                Box::new({
                    let gdp = IndicatorId::parse("gdp-growth").unwrap();
                    move |i| {
                        i.withdrawn
                            .insert(keys::reading(&gdp, june), codec::encode(&1u32).unwrap())
                            .unwrap();
                    }
                }),
            ),
            (
                "an indicator missing from the code index",
                "indicator cpi is missing from the code index",
                Box::new(|i| {
                    i.codes.remove(b"cpi/cpi").unwrap();
                }),
            ),
            (
                "a code index entry naming another code",
                "code index entry gdp/cpi",
                Box::new(|i| {
                    i.codes.insert(b"gdp/cpi", &[]).unwrap();
                }),
            ),
            (
                "a flag on no audit row",
                "flag on gdp-growth 2023-06 points at no audit row",
                Box::new({
                    let gdp = IndicatorId::parse("gdp-growth").unwrap();
                    move |i| {
                        i.flagged
                            .insert(keys::reading(&gdp, june), &keys::audit(999_999))
                            .unwrap();
                    }
                }),
            ),
            (
                "a target history entry on no audit row",
                "target history entry",
                Box::new({
                    let gdp = IndicatorId::parse("gdp-growth").unwrap();
                    move |i| {
                        i.target_history
                            .insert(keys::target_history(&gdp, 2023, 999_999), &[])
                            .unwrap();
                    }
                }),
            ),
        ];
        for (what, want, corrupt) in cases {
            let s = fixture();
            corrupt(&s.inner);
            let r = s.check().unwrap();
            assert!(
                r.problems.iter().any(|p| p.contains(want)),
                "{what}: {:?}",
                r.problems
            );
        }
    }
}
