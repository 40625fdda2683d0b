//! The one place that knows how values are encoded on disk.
//!
//! Values are bincode 2.0.1 (serde mode, standard config) behind a format-version byte.
//! bincode does not describe the structs it stores, so a change to a stored type must
//! bump [`FORMAT_VERSION`] and teach [`decode`] to read the older layout. Keeping bincode
//! behind this module means a move to another codec (postcard, or a maintained bincode
//! successor) touches this file and a migration, nothing else. See `docs/decisions.md`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// The layout version written in front of every stored value.
pub const FORMAT_VERSION: u8 = 3;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a value with its format-version byte.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    encode_version(value, FORMAT_VERSION)
}

/// Encodes a value under an older version byte: a migration step writes the layout of
/// the format it converts to, and a later step takes it from there.
pub(super) fn encode_version<T: Serialize>(value: &T, version: u8) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![version];
    let body = bincode::serde::encode_to_vec(value, config())
        .map_err(|e| StoreError::Codec(format!("encode: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a value written by [`encode`], refusing versions this build does not know.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    decode_version(bytes, FORMAT_VERSION)
}

/// Decodes a value that must carry `expected` as its version byte, as `T`. Migrations
/// use it to read an older layout into the older type.
pub(super) fn decode_version<T: DeserializeOwned>(
    bytes: &[u8],
    expected: u8,
) -> Result<T, StoreError> {
    let (value, used, body) = decode_prefix(bytes, expected)?;
    if used != body.len() {
        return Err(StoreError::Codec(format!(
            "decode: {} trailing bytes",
            body.len() - used
        )));
    }
    Ok(value)
}

/// Decodes a value written by [`encode`] at the head of `bytes`, and returns what
/// follows it: for the values that carry raw data after their encoded part (a reading
/// and the audit sequence numbers of its revisions, see `keys`).
pub fn decode_head<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), StoreError> {
    let (value, used, body) = decode_prefix(bytes, FORMAT_VERSION)?;
    Ok((value, &body[used..]))
}

/// Checks the version byte is `expected` and decodes the value at the head of the
/// body: the value, the bytes it used, and the body.
fn decode_prefix<T: DeserializeOwned>(
    bytes: &[u8],
    expected: u8,
) -> Result<(T, usize, &[u8]), StoreError> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| StoreError::Codec("empty value".into()))?;
    if version != expected {
        return Err(StoreError::UnsupportedFormat {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| StoreError::Codec(format!("decode: {e}")))?;
    Ok((value, used, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ObsStatus, PeriodForm, Reading};

    #[test]
    fn values_round_trip_behind_a_version_byte() {
        let r = Reading {
            value: 63.5,
            status: ObsStatus::Provisional,
            note: Some("快报".into()),
            form: PeriodForm::Quarter,
            recorded_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            recorded_by: "admin".into(),
            revision: 2,
        };
        let bytes = encode(&r).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<Reading>(&bytes).unwrap(), r);
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused_not_misread() {
        let mut bytes = encode(&1.5f64).unwrap();
        bytes[0] = 99;
        assert!(matches!(
            decode::<f64>(&bytes),
            Err(StoreError::UnsupportedFormat { found: 99, .. })
        ));
        assert!(decode::<f64>(&[]).is_err());
        assert!(decode::<f64>(&[FORMAT_VERSION, 1]).is_err());
    }
}
