//! Browser sessions: who signed in on the 登录 page, until when.
//!
//! The `sessions` tree holds one [`SessionRecord`] per signed-in browser, keyed by the
//! SHA-256 of the session id the browser keeps in its cookie, so that what is on disk
//! cannot be replayed as a cookie. Sessions are ephemeral: they are not in backups, a
//! restore starts with none, `check` does not count them, and a record that no longer
//! decodes (after a format change) is simply a signed-out browser. Expired records are
//! removed lazily: when a sign-in scans for them, and when one is presented.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Role, Store, StoreError};

/// What the server keeps of one signed-in browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The token signed in with, by name (what a page shows) ...
    pub token_name: String,
    /// ... and by the hash of its secret: each use looks the token up by it, so a
    /// revoked or replaced token ends its sessions.
    pub token_hash: Vec<u8>,
    /// Role, units and region as they were at sign-in (pages show the token's current
    /// ones; these say what the session was opened for).
    pub role: Role,
    pub units: Vec<String>,
    pub region: String,
    pub created_at: DateTime<Utc>,
    /// The last request that used it, updated at most every few minutes: idle expiry
    /// counts from here.
    pub last_seen: DateTime<Utc>,
    /// The secret a page sends back in `X-CSRF-Token` with every form post (hex).
    pub csrf: String,
    /// For a person signed in with a password: the user's stamp at sign-in (a new
    /// password changes it, ending this session). `None`: signed in with a token.
    pub user_stamp: Option<u64>,
}

impl Store {
    /// The session whose id hashes to `key`. A record that no longer decodes is
    /// removed and reads as none.
    pub fn session(&self, key: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        let Some(v) = self.inner.sessions.get(key)? else {
            return Ok(None);
        };
        match codec::decode(&v) {
            Ok(rec) => Ok(Some(rec)),
            Err(_) => {
                self.inner.sessions.remove(key)?;
                Ok(None)
            }
        }
    }

    /// Stores (or updates) a session. Not flushed here: a session lost in a crash
    /// only means signing in again.
    pub fn put_session(&self, key: &[u8; 32], rec: &SessionRecord) -> Result<(), StoreError> {
        self.inner.sessions.insert(key, codec::encode(rec)?)?;
        Ok(())
    }

    /// Ends a session. Returns whether there was one.
    pub fn delete_session(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.inner.sessions.remove(key)?.is_some())
    }

    /// Removes every session for which `expired` holds (and every one that no longer
    /// decodes). Returns how many went.
    pub fn prune_sessions(
        &self,
        expired: impl Fn(&SessionRecord) -> bool,
    ) -> Result<usize, StoreError> {
        let mut gone = 0;
        for kv in self.inner.sessions.iter() {
            let (k, v) = kv?;
            let drop = codec::decode::<SessionRecord>(&v).map_or(true, |r| expired(&r));
            if drop {
                self.inner.sessions.remove(k)?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// How many sessions are stored (expired ones not yet removed included).
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, at: i64) -> SessionRecord {
        let t = DateTime::from_timestamp(at, 0).unwrap();
        SessionRecord {
            token_name: name.into(),
            token_hash: vec![7; 32],
            role: Role::Submitter,
            units: vec!["县科工局".into()],
            region: String::new(),
            created_at: t,
            last_seen: t,
            csrf: "00".into(),
            user_stamp: None,
        }
    }

    #[test]
    fn sessions_are_kept_by_key_and_pruned_by_the_caller_s_rule() {
        let s = Store::temporary().unwrap();
        s.put_session(&[1; 32], &rec("a", 1_700_000_000)).unwrap();
        s.put_session(&[2; 32], &rec("b", 1_800_000_000)).unwrap();
        assert_eq!(s.session(&[1; 32]).unwrap().unwrap().token_name, "a");
        assert!(s.session(&[3; 32]).unwrap().is_none());
        let cut = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        assert_eq!(s.prune_sessions(|r| r.last_seen < cut).unwrap(), 1);
        assert!(s.session(&[1; 32]).unwrap().is_none());
        assert!(s.delete_session(&[2; 32]).unwrap());
        assert_eq!(s.session_count(), 0);
    }

    #[test]
    fn a_record_that_does_not_decode_is_a_signed_out_browser() {
        let s = Store::temporary().unwrap();
        s.inner.sessions.insert([9; 32], &[0xff, 1, 2][..]).unwrap();
        assert!(s.session(&[9; 32]).unwrap().is_none());
        assert_eq!(s.session_count(), 0);
    }
}
