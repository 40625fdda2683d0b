//! Files uploaded on the 数据报送 page, kept between their preview and the confirm.
//!
//! A browser cannot attach the same file to the confirm form that it sent to the
//! preview, so the server keeps it: in memory, under a random id, for the person who
//! uploaded it, for an hour. The confirm names the id and the preview's confirm token;
//! the token covers the file's hash and the stored rows' revisions, so the file
//! written is the file previewed. The stash is bounded (entries and bytes, oldest out
//! first) and lost on restart, which costs the clerk one more upload and nothing else:
//! nothing is written before a confirm.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ingest::Format;

/// How long an uploaded file waits for its confirm.
pub const TTL: Duration = Duration::from_secs(60 * 60);
/// At most this many files are kept at once.
const MAX_ENTRIES: usize = 64;
/// At most this many bytes are kept at once.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One kept file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Who uploaded it (the session's token name); only they may confirm it.
    pub owner: String,
    pub format: Format,
    pub file: Bytes,
    /// The file's name as the browser gave it, for the pages.
    pub name: String,
}

struct Entry {
    id: String,
    at: Instant,
    upload: Upload,
}

/// The kept files, oldest first.
#[derive(Default)]
pub struct Uploads {
    entries: Mutex<VecDeque<Entry>>,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads").finish_non_exhaustive()
    }
}

impl Uploads {
    /// Keeps a file; returns its id. The oldest files go when the stash is full.
    pub fn keep(&self, upload: Upload) -> String {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the system's random source works");
        let id = hex::encode(id);
        let mut q = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|e| e.at.elapsed() < TTL);
        let size = upload.file.len();
        while !q.is_empty()
            && (q.len() >= MAX_ENTRIES
                || q.iter().map(|e| e.upload.file.len()).sum::<usize>() + size > MAX_BYTES)
        {
            q.pop_front();
        }
        q.push_back(Entry {
            id: id.clone(),
            at: Instant::now(),
            upload,
        });
        id
    }

    /// The file kept under `id` for `owner`, if it is still there.
    pub fn get(&self, id: &str, owner: &str) -> Option<Upload> {
        let q = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .find(|e| e.id == id && e.upload.owner == owner && e.at.elapsed() < TTL)
            .map(|e| e.upload.clone())
    }

    /// Forgets the file kept under `id` (once it is written).
    pub fn forget(&self, id: &str) {
        let mut q = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|e| e.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(owner: &str, n: usize) -> Upload {
        Upload {
            owner: owner.into(),
            format: Format::Csv,
            file: Bytes::from(vec![b'x'; n]),
            name: "a.csv".into(),
        }
    }

    #[test]
    fn a_file_is_found_by_its_owner_only_until_forgotten() {
        let s = Uploads::default();
        let id = s.keep(up("kgj", 3));
        assert_eq!(id.len(), 32);
        assert!(s.get(&id, "other").is_none());
        assert_eq!(s.get(&id, "kgj").unwrap().file.len(), 3);
        s.forget(&id);
        assert!(s.get(&id, "kgj").is_none());
    }

    #[test]
    fn the_oldest_go_when_the_stash_is_full() {
        let s = Uploads::default();
        let first = s.keep(up("a", MAX_BYTES / 2));
        let second = s.keep(up("a", MAX_BYTES / 2));
        let third = s.keep(up("a", 10));
        assert!(s.get(&first, "a").is_none());
        assert!(s.get(&second, "a").is_some() && s.get(&third, "a").is_some());
        let ids: Vec<String> = (0..MAX_ENTRIES).map(|_| s.keep(up("a", 1))).collect();
        assert!(s.get(&second, "a").is_none());
        assert!(ids.iter().all(|id| s.get(id, "a").is_some()));
    }
}
