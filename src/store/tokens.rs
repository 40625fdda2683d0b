//! API tokens. Only a SHA-256 hash of each secret is stored; the secret is shown once,
//! when it is created. The `tokens` tree holds them by name, `token_hashes` indexes
//! them by the hash of their secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::Transactional;
use subtle::ConstantTimeEq;

use super::{abort, codec, dec, enc, tx_err, Store, StoreError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages indicators, targets and tokens; writes any reading.
    Admin,
    /// Writes readings for the indicators its units lead.
    Submitter,
    /// Reads, when reads are private.
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Submitter => "submitter",
            Role::Reader => "reader",
        }
    }
}

/// A stored token: its name, role, units and the hash of its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub name: String,
    pub role: Role,
    pub units: Vec<String>,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// The region the token submits for: its indicators, named by id or 指标名称, are
    /// the ones it may write. Empty: the home region.
    #[serde(default)]
    pub region: String,
}

impl Token {
    pub fn hash_bytes(&self) -> Vec<u8> {
        hex::decode(&self.hash).unwrap_or_default()
    }

    /// Compares in constant time, so response timing says nothing about the secret.
    pub fn matches_hash(&self, hash: &[u8; 32]) -> bool {
        self.hash_bytes().ct_eq(hash).into()
    }
}

/// SHA-256 of a secret. Secrets are 256 random bits, so a plain hash is enough; a slow
/// password hash would only slow every request.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new random secret: `zb_` and 64 hex digits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    format!("zb_{}", hex::encode(bytes))
}

impl Store {
    /// The token whose secret hashes to `hash`, if any.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
        let Some(name) = self.inner.token_hashes.get(hash)? else {
            return Ok(None);
        };
        let Some(tok) = self.inner.tokens.get(&name)? else {
            return Ok(None);
        };
        let tok: Token = codec::decode(&tok)?;
        // The hash index is only a lookup: confirm against the token itself.
        Ok(tok.matches_hash(hash).then_some(tok))
    }

    pub fn token(&self, name: &str) -> Result<Option<Token>, StoreError> {
        self.inner
            .tokens
            .get(name.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every token, by name (hashes included; callers must not show them).
    pub fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.inner
            .tokens
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Revokes a token. Returns it, or `None` when no token has that name.
    pub fn revoke_token(&self, name: &str) -> Result<Option<Token>, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.tokens, &i.token_hashes)
            .transaction(|(tokens, hashes)| {
                let Some(old) = tokens.remove(name.as_bytes())? else {
                    return Ok(None);
                };
                let old: Token = dec(&old)?;
                hashes.remove(old.hash_bytes().as_slice())?;
                Ok(Some(old))
            })
            .map_err(tx_err)
    }

    /// Stores a token, replacing one of the same name when `replace` is set.
    pub fn put_token(&self, token: &Token, replace: bool) -> Result<(), StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.tokens, &i.token_hashes)
            .transaction(|(tokens, hashes)| {
                if let Some(old) = tokens.get(token.name.as_bytes())? {
                    if !replace {
                        return abort(StoreError::TokenExists(token.name.clone()));
                    }
                    let old: Token = dec(&old)?;
                    hashes.remove(old.hash_bytes().as_slice())?;
                }
                tokens.insert(token.name.as_bytes(), enc(token)?)?;
                hashes.insert(token.hash_bytes().as_slice(), token.name.as_bytes())?;
                Ok(())
            })
            .map_err(tx_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_match_only_their_secret() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        let t = Token {
            name: "admin".into(),
            role: Role::Admin,
            units: vec![],
            hash: hex::encode(hash_secret(&a)),
            // A fixed instant: the test does not depend on when it runs.
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            region: String::new(),
        };
        assert!(t.matches_hash(&hash_secret(&a)));
        assert!(!t.matches_hash(&hash_secret(&b)));
    }
}
