//! Accounts for people, and the record of who looked.
//!
//! - The `users` tree holds one [`User`] per person, by name: a role and units like a
//!   token's, and an argon2id hash of the password (a PHC string, salt and parameters
//!   included). A user's `stamp` changes whenever the password is set or reset, which
//!   ends the sessions opened before.
//! - The `access_log` tree holds one [`AccessEvent`] per sign-in, failed sign-in,
//!   sign-out, download, review and release, keyed by a sequence from sled's id
//!   generator, so the log reads in order. It is carried by backups, and never edited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Role, Store, StoreError};

/// A person who signs in with a password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub units: Vec<String>,
    /// The region the user reports for; empty: the home region.
    pub region: String,
    /// argon2id, as a PHC string.
    pub password_hash: String,
    /// Changes with every new password: a session opened under another stamp is over.
    pub stamp: u64,
    pub created_at: DateTime<Utc>,
    pub password_set_at: DateTime<Utc>,
}

/// What an access event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    SignIn,
    SignInFailed,
    SignOut,
    Download,
    Review,
    Return,
    Release,
    ReleaseCancelled,
    PasswordChanged,
    UserCreated,
    UserRemoved,
}

impl AccessAction {
    pub const ALL: [AccessAction; 11] = [
        AccessAction::SignIn,
        AccessAction::SignInFailed,
        AccessAction::SignOut,
        AccessAction::Download,
        AccessAction::Review,
        AccessAction::Return,
        AccessAction::Release,
        AccessAction::ReleaseCancelled,
        AccessAction::PasswordChanged,
        AccessAction::UserCreated,
        AccessAction::UserRemoved,
    ];

    /// The machine key (`sign_in`).
    pub fn key(self) -> &'static str {
        match self {
            AccessAction::SignIn => "sign_in",
            AccessAction::SignInFailed => "sign_in_failed",
            AccessAction::SignOut => "sign_out",
            AccessAction::Download => "download",
            AccessAction::Review => "review",
            AccessAction::Return => "return",
            AccessAction::Release => "release",
            AccessAction::ReleaseCancelled => "release_cancelled",
            AccessAction::PasswordChanged => "password_changed",
            AccessAction::UserCreated => "user_created",
            AccessAction::UserRemoved => "user_removed",
        }
    }

    /// As an office says it.
    pub fn zh(self) -> &'static str {
        match self {
            AccessAction::SignIn => "登录",
            AccessAction::SignInFailed => "登录失败",
            AccessAction::SignOut => "退出",
            AccessAction::Download => "下载",
            AccessAction::Review => "审核通过",
            AccessAction::Return => "退回",
            AccessAction::Release => "发布",
            AccessAction::ReleaseCancelled => "撤销定时发布",
            AccessAction::PasswordChanged => "修改密码",
            AccessAction::UserCreated => "新建用户",
            AccessAction::UserRemoved => "删除用户",
        }
    }

    pub fn parse(s: &str) -> Option<AccessAction> {
        AccessAction::ALL
            .into_iter()
            .find(|a| a.key() == s || a.zh() == s)
    }
}

/// One entry of the access log: who, when, from where, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessEvent {
    pub at: DateTime<Utc>,
    /// `user:张三`, `token:kgj`, or empty for someone not signed in.
    pub who: String,
    /// The client's address, as the server judged it (through `--trust-proxy`).
    pub address: Option<String>,
    pub action: AccessAction,
    /// What was looked at or done: a path, a period, a user's name.
    pub what: String,
}

impl Store {
    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.inner
            .users
            .get(name.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every user, by name (hashes included; callers must not show them).
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.inner
            .users
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Stores a user; with `create`, refuses a name already taken. Flushed before it
    /// returns.
    pub fn put_user(&self, user: &User, create: bool) -> Result<(), StoreError> {
        {
            let _writing = self.writing();
            let new = codec::encode(user)?;
            let key = user.name.as_bytes();
            if create {
                self.inner
                    .users
                    .compare_and_swap(key, None as Option<&[u8]>, Some(new))?
                    .map_err(|_| StoreError::UserExists(user.name.clone()))?;
            } else {
                self.inner.users.insert(key, new)?;
            }
        }
        self.flush()
    }

    /// Removes a user. Returns whether there was one.
    pub fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let gone = {
            let _writing = self.writing();
            self.inner.users.remove(name.as_bytes())?.is_some()
        };
        self.flush()?;
        Ok(gone)
    }

    /// Appends to the access log. Not flushed here: the next durable write or sled's
    /// own flush carries it (a sign-in is not held up by a disk sync).
    pub fn log_access(&self, event: &AccessEvent) -> Result<(), StoreError> {
        let seq = self.inner.db.generate_id()?;
        self.inner
            .access_log
            .insert(seq.to_be_bytes(), codec::encode(event)?)?;
        Ok(())
    }

    /// The access log, newest first, keeping the events `keep` accepts, at most
    /// `limit` of them.
    pub fn access_log(
        &self,
        keep: impl Fn(&AccessEvent) -> bool,
        limit: usize,
    ) -> Result<Vec<(u64, AccessEvent)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.access_log.iter().rev() {
            let (k, v) = kv?;
            let e: AccessEvent = codec::decode(&v)?;
            if keep(&e) {
                let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
                out.push((seq, e));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Period;
    use crate::store::PeriodRelease;

    #[test]
    fn users_releases_and_the_access_log_are_carried_by_a_backup() {
        let s = Store::temporary().unwrap();
        let at: DateTime<Utc> = "2023-07-15T01:00:00Z".parse().unwrap();
        let user = User {
            name: "张三".into(),
            role: Role::Submitter,
            units: vec!["县人社局".into()],
            region: String::new(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            stamp: 7,
            created_at: at,
            password_set_at: at,
        };
        s.put_user(&user, true).unwrap();
        assert!(matches!(
            s.put_user(&user, true),
            Err(StoreError::UserExists(_))
        ));
        let mut rec = PeriodRelease::new("桃江县", Period::new(2023, 6).unwrap());
        rec.release_at = Some(at);
        s.put_period_release(&rec).unwrap();
        let event = AccessEvent {
            at,
            who: "user:张三".into(),
            address: Some("127.0.0.1".into()),
            action: AccessAction::SignIn,
            what: "密码登录".into(),
        };
        s.log_access(&event).unwrap();
        let mut out = Vec::new();
        s.backup(&mut out).unwrap();
        let t = Store::temporary().unwrap();
        t.restore(&out[..], None).unwrap();
        assert_eq!(t.user("张三").unwrap(), Some(user));
        assert_eq!(t.all_period_releases().unwrap(), vec![rec]);
        let log = t.access_log(|_| true, 10).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].1, event);
        // Backed up again: the same bytes.
        let mut again = Vec::new();
        t.backup(&mut again).unwrap();
        assert_eq!(out, again);
    }
}
