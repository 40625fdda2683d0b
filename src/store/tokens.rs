//! API tokens. Only a SHA-256 hash of each secret is stored; the secret is shown once,
//! when it is created.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
            created_at: Utc::now(),
        };
        assert!(t.matches_hash(&hash_secret(&a)));
        assert!(!t.matches_hash(&hash_secret(&b)));
    }
}
