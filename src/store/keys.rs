//! Key layout. Integers are big-endian so that sled's lexicographic order is numeric
//! order, and one indicator's series is a single ordered range scan.
//!
//! Every tree the store opens ([`Store::open`](super::Store::open)). Values named by
//! type go through the versioned codec ([`super::codec`]); "raw" values do not.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `indicators` | `id` | `Indicator` |
//! | `targets` | `id 0x00 year:u16` | `Target` |
//! | `readings` | `id 0x00 year:u16 month:u8` | `Reading`, then raw `seq:u64` × n: the audit rows of the period's changes, oldest first |
//! | `revisions` | `id 0x00 year:u16 month:u8 seq:u64` | empty (points at `audit/seq` of a note sent without a figure) |
//! | `withdrawn` | `id 0x00 year:u16 month:u8` | `u32`: last revision number of a withdrawn reading, then raw `seq:u64` × n as in `readings` |
//! | `target_history` | `id 0x00 year:u16 seq:u64` | empty (points at `audit/seq`) |
//! | `idempotency` | `token name 0x00 Idempotency-Key` | the stored answer (raw bytes of the response) |
//! | `periods` | `region 0x00 year:u16 month:u8` | raw `u32`: the region's current readings in that period (absent at 0) |
//! | `audit` | `seq:u64` | `AuditRecord` |
//! | `tokens` | `name` | `Token` |
//! | `token_hashes` | `sha256(secret)` (32 bytes) | `name` (raw UTF-8) |
//! | `units` | `canonical name` | `UnitEntry` |
//! | `meta` | see below | small values |
//! | `regions` | `name` (UTF-8) | `Region` |
//! | `codes` | `code / id` | empty (the indicators measuring one code, across regions) |
//! | `flagged` | `id 0x00 year:u16 month:u8` | raw `seq:u64` of the flagged revision's audit row |
//! | `webhooks` | receiver `name` (UTF-8) | `Webhook` |
//! | `outbox` | job `id:u64` | `Job` (a delivery still to make) |
//! | `deliveries` | receiver `name 0x00 seq:u64` (`seq` from `notify_job_seq`) | `Delivery` (the last [`DELIVERY_LOG_LIMIT`](super::DELIVERY_LOG_LIMIT) per receiver) |
//! | `schedules` | indicator `id` | `DueRule` |
//! | `plans` | plan `id` | `Plan` (a region's plan of one year, with its groups) |
//! | `releases` | `region 0x00 year:u16 month:u8` | `PeriodRelease` (a month's 审核 verdicts and release) |
//! | `users` | `name` (UTF-8) | `User` (a person's account, argon2id password hash) |
//! | `access_log` | `seq:u64` | `AccessEvent` (who signed in, downloaded, reviewed, released) |
//!
//! The `meta` tree's keys:
//!
//! | key | value |
//! | --- | --- |
//! | `format` | raw `u8`: the store format version ([`super::codec::FORMAT_VERSION`]) |
//! | `seeded` | raw `[1]`, once a catalogue has been loaded |
//! | `catalogue` | `CatalogueTitle`: region, document and year of the last catalogue loaded |
//! | `notify_job_seq` | raw `u64`: the last id given to an outbox job or a delivery log entry |
//! | `due_version` | raw `u64`: counts changes of due rules (they write no audit row) |
//! | `notify/cursor` | raw `u64`: the audit sequence the notifier has read up to |
//! | `notify/alerts` | JSON: the alerts the notifier last saw (empty until a receiver wants alerts) |
//! | `notify/remind_day` | UTF-8 date `YYYY-MM-DD`: the last day the daily digests ran |
//! | `release_begun` | raw `[1]`: releases are kept (a store from before them had its months released once) |
//!
//! Ids are `[a-z0-9-]`, so the `0x00` separator can never occur inside one.

use crate::domain::{IndicatorId, Period};

pub fn indicator(id: &IndicatorId) -> Vec<u8> {
    id.as_str().as_bytes().to_vec()
}

/// The prefix shared by every key of one indicator in `targets`, `readings` and `revisions`.
pub fn series_prefix(id: &IndicatorId) -> Vec<u8> {
    let mut k = id.as_str().as_bytes().to_vec();
    k.push(0);
    k
}

pub fn target(id: &IndicatorId, year: u16) -> Vec<u8> {
    let mut k = series_prefix(id);
    k.extend_from_slice(&year.to_be_bytes());
    k
}

pub fn target_history(id: &IndicatorId, year: u16, seq: u64) -> Vec<u8> {
    let mut k = target(id, year);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn reading(id: &IndicatorId, period: Period) -> Vec<u8> {
    let mut k = target(id, period.year());
    k.push(period.month());
    k
}

pub fn revision(id: &IndicatorId, period: Period, seq: u64) -> Vec<u8> {
    let mut k = reading(id, period);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// `periods` tree: `region 0x00 year month`. Region names never hold a 0 byte.
pub fn period_count(region: &str, year: u16, month: u8) -> Vec<u8> {
    let mut k = region_prefix(region);
    k.extend_from_slice(&year.to_be_bytes());
    k.push(month);
    k
}

/// The prefix of one region's keys in `periods`.
pub fn region_prefix(region: &str) -> Vec<u8> {
    let mut k = region.as_bytes().to_vec();
    k.push(0);
    k
}

/// Decodes the `year month` tail of a `periods` key.
pub fn period_of_count_key(key: &[u8]) -> Option<Period> {
    period_of_reading_key(key)
}

/// `codes` tree: `code/id`. Codes and ids use `[a-z0-9-]`, so `/` separates them.
pub fn code(code: &str, id: &IndicatorId) -> Vec<u8> {
    let mut k = code_prefix(code);
    k.extend_from_slice(id.as_str().as_bytes());
    k
}

pub fn code_prefix(code: &str) -> Vec<u8> {
    let mut k = code.as_bytes().to_vec();
    k.push(b'/');
    k
}

/// The indicator id of a `codes` key.
pub fn id_of_code_key(key: &[u8]) -> Option<IndicatorId> {
    let pos = key.iter().position(|b| *b == b'/')?;
    IndicatorId::parse(std::str::from_utf8(&key[pos + 1..]).ok()?).ok()
}

pub fn audit(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Decodes the `year month` tail of a `readings` key.
pub fn period_of_reading_key(key: &[u8]) -> Option<Period> {
    let n = key.len();
    if n < 4 {
        return None;
    }
    let year = u16::from_be_bytes([key[n - 3], key[n - 2]]);
    Period::new(year, key[n - 1]).ok()
}

/// Decodes the trailing sequence number of a `revisions` key.
pub fn seq_of_revision_key(key: &[u8]) -> Option<u64> {
    let n = key.len();
    let tail: [u8; 8] = key.get(n.checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_keys_sort_in_period_order_and_never_across_ids() {
        let a = IndicatorId::parse("a").unwrap();
        let ab = IndicatorId::parse("a-b").unwrap();
        let p = |s: &str| s.parse::<Period>().unwrap();
        let mut keys = [
            reading(&a, p("2024-01")),
            reading(&ab, p("2022-01")),
            reading(&a, p("2023-12")),
            reading(&a, p("2023-02")),
        ];
        keys.sort();
        assert_eq!(period_of_reading_key(&keys[0]), Some(p("2023-02")));
        assert_eq!(period_of_reading_key(&keys[1]), Some(p("2023-12")));
        assert_eq!(period_of_reading_key(&keys[2]), Some(p("2024-01")));
        assert!(keys[3].starts_with(&series_prefix(&ab)));
        assert!(!keys[3].starts_with(&series_prefix(&a)));
    }
}
