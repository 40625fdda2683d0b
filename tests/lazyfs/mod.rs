//! A FUSE file system that loses, at a simulated power cut, every write not yet made
//! durable: the power-cut half of the crash test (`ZHIBIAO_CRASH_POWER_CUT=1`).
//!
//! It passes a backing directory through, in the manner of LazyFS (dsrhaslab/lazyfs):
//!
//! - a `write` or a truncation is kept in memory, per file, in the order it came, and
//!   reads see it; only an `fsync`/`fdatasync` of that file applies the file's pending
//!   changes to the backing directory;
//! - [`LazyMount::cut`] is the power cut: every pending change is dropped, every later
//!   request fails with `EIO`, and the mount goes away. What is left in the backing
//!   directory is what a disk would hold after the cut. Mounting again serves it.
//!
//! What reaches the disk only with `sync_file_range` (how sled 0.34 makes its log
//! durable) never reaches this layer as an `FSYNC`, so it is lost at a cut, as data in
//! a disk's volatile cache can be.
//!
//! Creating, renaming and removing files and directories pass straight through: this
//! layer models lost data, not lost directory entries (LazyFS does the same by default).
//! Files are opened with `direct_io`, so that the kernel's page cache never serves a
//! page the cut has dropped.
//!
//! Built on `fuser` (pure Rust; mounting needs Debian's `fuse3` for `fusermount3`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    consts::FOPEN_DIRECT_IO, BackgroundSession, FileAttr, FileType, Filesystem, MountOption,
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen,
    ReplyWrite, Request, TimeOrNow,
};

const EIO: i32 = 5;
const ENOENT: i32 = 2;
/// Attributes change with every pending write: the kernel must not cache them.
const TTL: Duration = Duration::ZERO;

/// A change to a file not yet made durable.
#[derive(Debug, Clone)]
enum Op {
    Write(u64, Vec<u8>),
    Truncate(u64),
}

/// What a mount has seen, for the test's summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// `fsync`/`fdatasync` requests, and the pending changes they made durable.
    pub fsyncs: u64,
    pub synced_ops: u64,
    /// Pending changes (and their bytes) dropped at cuts.
    pub dropped_ops: u64,
    pub dropped_bytes: u64,
}

impl std::ops::Add for Stats {
    type Output = Stats;

    fn add(self, o: Stats) -> Stats {
        Stats {
            fsyncs: self.fsyncs + o.fsyncs,
            synced_ops: self.synced_ops + o.synced_ops,
            dropped_ops: self.dropped_ops + o.dropped_ops,
            dropped_bytes: self.dropped_bytes + o.dropped_bytes,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Set by the cut: from then on every request fails.
    dead: bool,
    pending: HashMap<u64, Vec<Op>>,
    stats: Stats,
}

/// The file system: inode numbers are handed out per path, for the mount's lifetime.
#[derive(Debug)]
struct LazyFs {
    backing: PathBuf,
    paths: HashMap<u64, PathBuf>,
    inodes: HashMap<PathBuf, u64>,
    next: u64,
    state: Arc<Mutex<State>>,
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(EIO)
}

/// `data`'s image after `ops`, over the backing file's `[offset, offset + size)`, and the
/// file's logical length.
fn overlay(file_len: u64, base: &[u8], offset: u64, size: usize, ops: &[Op]) -> (Vec<u8>, u64) {
    let mut buf = vec![0u8; size];
    let from_base = base.len().min(size);
    buf[..from_base].copy_from_slice(&base[..from_base]);
    let mut len = file_len;
    let end = offset + size as u64;
    for op in ops {
        match op {
            Op::Truncate(l) => {
                if *l < end {
                    let cut = l.saturating_sub(offset) as usize;
                    buf[cut.min(size)..].fill(0);
                }
                len = *l;
            }
            Op::Write(o, d) => {
                let (o, e) = (*o, o + d.len() as u64);
                if o < end && e > offset {
                    let from = o.max(offset);
                    let to = e.min(end);
                    buf[(from - offset) as usize..(to - offset) as usize]
                        .copy_from_slice(&d[(from - o) as usize..(to - o) as usize]);
                }
                len = len.max(e);
            }
        }
    }
    buf.truncate(len.saturating_sub(offset).min(size as u64) as usize);
    (buf, len)
}

impl LazyFs {
    fn real(&self, ino: u64) -> Option<PathBuf> {
        self.paths.get(&ino).map(|p| self.backing.join(p))
    }

    fn ino_of(&mut self, rel: PathBuf) -> u64 {
        if let Some(i) = self.inodes.get(&rel) {
            return *i;
        }
        self.next += 1;
        let ino = self.next;
        self.paths.insert(ino, rel.clone());
        self.inodes.insert(rel, ino);
        ino
    }

    fn child(&self, parent: u64, name: &OsStr) -> Option<PathBuf> {
        self.paths.get(&parent).map(|p| p.join(name))
    }

    /// The logical length of a file: its backing length after its pending changes.
    fn logical_len(&self, ino: u64, backing_len: u64) -> u64 {
        let st = self.state.lock().unwrap();
        st.pending.get(&ino).map_or(backing_len, |ops| {
            ops.iter().fold(backing_len, |len, op| match op {
                Op::Truncate(l) => *l,
                Op::Write(o, d) => len.max(o + d.len() as u64),
            })
        })
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, i32> {
        let path = self.real(ino).ok_or(ENOENT)?;
        let m = fs::symlink_metadata(&path).map_err(|e| errno(&e))?;
        let kind = if m.is_dir() {
            FileType::Directory
        } else if m.file_type().is_symlink() {
            FileType::Symlink
        } else {
            FileType::RegularFile
        };
        let size = if kind == FileType::RegularFile {
            self.logical_len(ino, m.len())
        } else {
            m.len()
        };
        let t = |s: i64, ns: i64| UNIX_EPOCH + Duration::new(s.max(0) as u64, ns as u32);
        Ok(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: t(m.atime(), m.atime_nsec()),
            mtime: t(m.mtime(), m.mtime_nsec()),
            ctime: t(m.ctime(), m.ctime_nsec()),
            crtime: t(m.ctime(), m.ctime_nsec()),
            kind,
            perm: (m.mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn dead(&self) -> bool {
        self.state.lock().unwrap().dead
    }

    /// Applies `ino`'s pending changes to its backing file: what `fsync` makes durable.
    fn sync(&mut self, ino: u64) -> Result<(), i32> {
        let path = self.real(ino).ok_or(ENOENT)?;
        let mut st = self.state.lock().unwrap();
        st.stats.fsyncs += 1;
        let Some(ops) = st.pending.remove(&ino) else {
            return Ok(());
        };
        st.stats.synced_ops += ops.len() as u64;
        drop(st);
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| errno(&e))?;
        for op in ops {
            match op {
                Op::Write(o, d) => f.write_all_at(&d, o).map_err(|e| errno(&e))?,
                Op::Truncate(l) => f.set_len(l).map_err(|e| errno(&e))?,
            }
        }
        Ok(())
    }

    fn entry(&mut self, rel: PathBuf, reply: ReplyEntry) {
        let ino = self.ino_of(rel);
        match self.attr(ino) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => {
                self.forget_path(ino);
                reply.error(e)
            }
        }
    }

    /// Removes `name` from `parent` with `how` (a file or an empty directory), straight
    /// through, and forgets its inode with any pending changes.
    fn remove(
        &mut self,
        parent: u64,
        name: &OsStr,
        how: fn(&Path) -> std::io::Result<()>,
        reply: ReplyEmpty,
    ) {
        let Some(rel) = self.child(parent, name) else {
            return reply.error(ENOENT);
        };
        match how(&self.backing.join(&rel)) {
            Ok(()) => {
                if let Some(ino) = self.inodes.get(&rel).copied() {
                    self.forget_path(ino);
                }
                reply.ok()
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn forget_path(&mut self, ino: u64) {
        if let Some(p) = self.paths.remove(&ino) {
            self.inodes.remove(&p);
        }
        self.state.lock().unwrap().pending.remove(&ino);
    }
}

/// Fails the request with EIO once the power is cut.
macro_rules! alive {
    ($fs:expr, $reply:expr) => {
        if $fs.dead() {
            $reply.error(EIO);
            return;
        }
    };
}

impl Filesystem for LazyFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        alive!(self, reply);
        match self.child(parent, name) {
            Some(rel) if self.backing.join(&rel).symlink_metadata().is_ok() => {
                self.entry(rel, reply)
            }
            _ => reply.error(ENOENT),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        alive!(self, reply);
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        alive!(self, reply);
        let Some(path) = self.real(ino) else {
            return reply.error(ENOENT);
        };
        if let Some(m) = mode {
            if let Err(e) = fs::set_permissions(&path, fs::Permissions::from_mode(m & 0o7777)) {
                return reply.error(errno(&e));
            }
        }
        if let Some(l) = size {
            // A truncation is a change to the file's data: pending until an fsync.
            self.state
                .lock()
                .unwrap()
                .pending
                .entry(ino)
                .or_default()
                .push(Op::Truncate(l));
        }
        match self.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        alive!(self, reply);
        let Some(rel) = self.child(parent, name) else {
            return reply.error(ENOENT);
        };
        let path = self.backing.join(&rel);
        if let Err(e) = fs::create_dir(&path) {
            return reply.error(errno(&e));
        }
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777));
        self.entry(rel, reply)
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        alive!(self, reply);
        self.remove(parent, name, |p| fs::remove_file(p), reply)
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        alive!(self, reply);
        self.remove(parent, name, |p| fs::remove_dir(p), reply)
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        alive!(self, reply);
        let (Some(from), Some(to)) = (self.child(parent, name), self.child(newparent, newname))
        else {
            return reply.error(ENOENT);
        };
        if let Err(e) = fs::rename(self.backing.join(&from), self.backing.join(&to)) {
            return reply.error(errno(&e));
        }
        // The file replaced, if any, is gone with its pending changes; every path under
        // the renamed one moves with it.
        if let Some(ino) = self.inodes.get(&to).copied() {
            self.forget_path(ino);
        }
        let moved: Vec<(PathBuf, u64)> = self
            .inodes
            .iter()
            .filter(|(p, _)| p.starts_with(&from))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (p, ino) in moved {
            let new = to.join(p.strip_prefix(&from).unwrap());
            self.inodes.remove(&p);
            self.inodes.insert(new.clone(), ino);
            self.paths.insert(ino, new);
        }
        reply.ok()
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        alive!(self, reply);
        if self.real(ino).is_none() {
            return reply.error(ENOENT);
        }
        reply.opened(0, FOPEN_DIRECT_IO)
    }

    #[allow(clippy::too_many_arguments)]
    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        alive!(self, reply);
        let Some(path) = self.real(ino) else {
            return reply.error(ENOENT);
        };
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) => return reply.error(errno(&e)),
        };
        let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let offset = offset.max(0) as u64;
        let mut base = vec![0u8; size as usize];
        let mut got = 0;
        while got < base.len() {
            match f.read_at(&mut base[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return reply.error(errno(&e)),
            }
        }
        base.truncate(got);
        let st = self.state.lock().unwrap();
        let ops = st.pending.get(&ino).map(Vec::as_slice).unwrap_or(&[]);
        let (data, _) = overlay(file_len, &base, offset, size as usize, ops);
        drop(st);
        reply.data(&data)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        alive!(self, reply);
        if self.real(ino).is_none() {
            return reply.error(ENOENT);
        }
        self.state
            .lock()
            .unwrap()
            .pending
            .entry(ino)
            .or_default()
            .push(Op::Write(offset.max(0) as u64, data.to_vec()));
        reply.written(data.len() as u32)
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _lo: u64, reply: ReplyEmpty) {
        // close() makes nothing durable.
        alive!(self, reply);
        reply.ok()
    }

    fn fsync(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _data: bool, reply: ReplyEmpty) {
        alive!(self, reply);
        match self.sync(ino) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _d: bool, reply: ReplyEmpty) {
        // Directory entries pass straight through (see the module docs).
        alive!(self, reply);
        reply.ok()
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        alive!(self, reply);
        let Some(rel) = self.paths.get(&ino).cloned() else {
            return reply.error(ENOENT);
        };
        let entries = match fs::read_dir(self.backing.join(&rel)) {
            Ok(e) => e,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut all = vec![
            (ino, FileType::Directory, ".".into()),
            (ino, FileType::Directory, "..".into()),
        ];
        for e in entries.flatten() {
            let kind = match e.file_type() {
                Ok(t) if t.is_dir() => FileType::Directory,
                Ok(t) if t.is_symlink() => FileType::Symlink,
                _ => FileType::RegularFile,
            };
            let name = e.file_name();
            let child = self.ino_of(rel.join(&name));
            all.push((child, kind, name));
        }
        for (i, (ino, kind, name)) in all.into_iter().enumerate().skip(offset.max(0) as usize) {
            if reply.add(ino, (i + 1) as i64, kind, &name) {
                break;
            }
        }
        reply.ok()
    }

    fn access(&mut self, _req: &Request<'_>, _ino: u64, _mask: i32, reply: ReplyEmpty) {
        alive!(self, reply);
        reply.ok()
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        alive!(self, reply);
        let Some(rel) = self.child(parent, name) else {
            return reply.error(ENOENT);
        };
        const O_EXCL: i32 = 0o200;
        let mut o = OpenOptions::new();
        o.write(true).mode(mode & 0o7777);
        if flags & O_EXCL != 0 {
            o.create_new(true);
        } else {
            o.create(true);
        }
        if let Err(e) = o.open(self.backing.join(&rel)) {
            return reply.error(errno(&e));
        }
        let ino = self.ino_of(rel);
        match self.attr(ino) {
            Ok(a) => reply.created(&TTL, &a, 0, 0, FOPEN_DIRECT_IO),
            Err(e) => reply.error(e),
        }
    }
}

/// A lazy mount of a backing directory.
#[derive(Debug)]
pub struct LazyMount {
    backing: PathBuf,
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
    state: Arc<Mutex<State>>,
    /// Totals over every mount before this one.
    past: Stats,
}

impl LazyMount {
    /// Mounts `backing` at `mountpoint` (both directories must exist).
    pub fn mount(backing: &Path, mountpoint: &Path) -> std::io::Result<LazyMount> {
        let mut m = LazyMount {
            backing: backing.to_path_buf(),
            mountpoint: mountpoint.to_path_buf(),
            session: None,
            state: Arc::default(),
            past: Stats::default(),
        };
        m.remount()?;
        Ok(m)
    }

    fn remount(&mut self) -> std::io::Result<()> {
        let state = Arc::new(Mutex::new(State::default()));
        let fs = LazyFs {
            backing: self.backing.clone(),
            paths: HashMap::from([(fuser::FUSE_ROOT_ID, PathBuf::new())]),
            inodes: HashMap::from([(PathBuf::new(), fuser::FUSE_ROOT_ID)]),
            next: fuser::FUSE_ROOT_ID,
            state: state.clone(),
        };
        let opts = [
            MountOption::FSName("zhibiao-lazyfs".into()),
            MountOption::RW,
        ];
        self.session = Some(fuser::spawn_mount2(fs, &self.mountpoint, &opts)?);
        self.state = state;
        Ok(())
    }

    /// The power cut: drops every change not yet fsynced, fails every later request,
    /// unmounts, and mounts the backing directory again (the machine boots). The
    /// processes using the mount must be dead (killed) first.
    pub fn cut(&mut self) -> std::io::Result<()> {
        {
            let mut st = self.state.lock().unwrap();
            st.dead = true;
            let pending = std::mem::take(&mut st.pending);
            for ops in pending.values() {
                st.stats.dropped_ops += ops.len() as u64;
                st.stats.dropped_bytes += ops
                    .iter()
                    .map(|o| match o {
                        Op::Write(_, d) => d.len() as u64,
                        Op::Truncate(_) => 0,
                    })
                    .sum::<u64>();
            }
        }
        self.unmount();
        self.remount()
    }

    fn unmount(&mut self) {
        let s = std::mem::take(&mut self.state.lock().unwrap().stats);
        self.past = self.past + s;
        // Dropping the session unmounts (fusermount3 -u) and joins its thread.
        drop(self.session.take());
    }

    /// Totals over this mount's life, cuts included.
    pub fn stats(&self) -> Stats {
        self.past + self.state.lock().unwrap().stats
    }
}

impl Drop for LazyMount {
    fn drop(&mut self) {
        self.unmount();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_applies_writes_and_truncations_in_order() {
        let base = b"abcdefgh";
        let ops = [
            Op::Write(2, b"XY".to_vec()),
            Op::Truncate(5),
            Op::Write(7, b"Z".to_vec()),
        ];
        let (data, len) = overlay(8, base, 0, 16, &ops);
        assert_eq!(len, 8);
        assert_eq!(data, b"abXYe\0\0Z");
        let (data, _) = overlay(8, &base[3..], 3, 2, &ops);
        assert_eq!(data, b"Ye");
    }
}
