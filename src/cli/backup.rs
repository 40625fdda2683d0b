//! `zhibiao backup`, `restore` and `check`: a store written to one file, created
//! again from it, and verified.
//!
//! # How a restore stays all or nothing
//!
//! [`Store::restore`](crate::store::Store::restore) learns whether a backup is intact
//! only at its trailer, after it has written the records before it. So the store is
//! built in a scratch directory, restored, verified and checked (`zhibiao check`)
//! there, closed, and only then moved to the path asked for:
//!
//! - a path that does not exist: the scratch directory is a hidden sibling
//!   (`.<name>.restoring-<pid>`) and is renamed to it, one atomic step;
//! - an empty directory the operator made (with its owner and mode, perhaps a mount
//!   point): the scratch directory is a hidden child of it (`.restoring-<pid>`), and
//!   its entries are moved up one by one at the end. The directory itself is never
//!   removed or replaced.
//!
//! On any failure the scratch directory is removed and the path is as it was: absent,
//! or the same empty directory. Directories created on the way to a missing path are
//! removed too.

use std::path::{Path, PathBuf};

use super::{open, open_existing, CliResult};
use crate::store::{BackupKey, Verified};

/// Environment variable naming the backup key file (the default of
/// `--hmac-key-file`).
pub const BACKUP_KEY_FILE_ENV: &str = "ZHIBIAO_BACKUP_KEY_FILE";

/// Reads the key of `--hmac-key-file`.
fn read_key(path: Option<&Path>) -> Result<Option<BackupKey>, Box<dyn std::error::Error>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the backup key file {}: {e}", path.display()))?;
    Ok(Some(
        BackupKey::new(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
    ))
}

pub(super) fn backup(db: &Path, out: &Path, key_file: Option<&Path>, json: bool) -> CliResult {
    let key = read_key(key_file)?;
    let store = open_existing(db)?;
    let counts = if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        store.backup_with_key(&mut w, key.as_ref())?
    } else {
        // Write beside the target, then rename: a failed backup never leaves a
        // truncated file under the final name.
        let tmp = out.with_extension("partial");
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?,
        );
        let counts = store.backup_with_key(&mut w, key.as_ref())?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, out)?;
        counts
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else if out != Path::new("-") {
        eprintln!(
            "backed up {} indicators, {} targets, {} readings, {} audit rows, {} tokens to {}{}",
            counts.indicators,
            counts.targets,
            counts.readings,
            counts.audit,
            counts.tokens,
            out.display(),
            if key.is_some() {
                " (with an HMAC: restore it with the same key)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Where the store is built before it is moved into place, and what to undo.
struct Scratch {
    /// The store being built.
    dir: PathBuf,
    /// The path asked for.
    target: PathBuf,
    /// The target is an empty directory that was there before: keep it, fill it.
    into_existing: bool,
    /// The first directory created on the way to a missing target's parent, removed
    /// again on failure.
    created_parent: Option<PathBuf>,
    /// Set once the store is in place: nothing to undo.
    done: bool,
}

impl Scratch {
    fn new(target: &Path) -> Result<Scratch, Box<dyn std::error::Error>> {
        let pid = std::process::id();
        match std::fs::metadata(target) {
            Ok(m) if m.is_dir() => {
                if std::fs::read_dir(target)?.next().is_some() {
                    return Err(not_empty(target));
                }
                let dir = target.join(format!(".restoring-{pid}"));
                std::fs::create_dir(&dir)
                    .map_err(|e| format!("cannot write into {}: {e}", target.display()))?;
                Ok(Scratch {
                    dir,
                    target: target.to_path_buf(),
                    into_existing: true,
                    created_parent: None,
                    done: false,
                })
            }
            Ok(_) => Err(not_empty(target)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = target
                    .file_name()
                    .ok_or_else(|| format!("{} names no directory", target.display()))?;
                let parent = match target.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let mut created_parent = None;
                let mut p = parent.as_path();
                while !p.exists() {
                    created_parent = Some(p.to_path_buf());
                    match p.parent() {
                        Some(up) if !up.as_os_str().is_empty() => p = up,
                        _ => break,
                    }
                }
                std::fs::create_dir_all(&parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                let mut scratch_name = std::ffi::OsString::from(".");
                scratch_name.push(name);
                scratch_name.push(format!(".restoring-{pid}"));
                let scratch = Scratch {
                    dir: parent.join(scratch_name),
                    target: target.to_path_buf(),
                    into_existing: false,
                    created_parent,
                    done: false,
                };
                std::fs::create_dir(&scratch.dir)
                    .map_err(|e| format!("cannot write beside {}: {e}", target.display()))?;
                Ok(scratch)
            }
            Err(e) => Err(format!("cannot read {}: {e}", target.display()).into()),
        }
    }

    /// Moves the closed store into place.
    fn finish(mut self) -> std::io::Result<()> {
        if self.into_existing {
            for e in std::fs::read_dir(&self.dir)? {
                let e = e?;
                std::fs::rename(e.path(), self.target.join(e.file_name()))?;
            }
            std::fs::remove_dir(&self.dir)?;
            sync_dir(&self.target)?;
        } else {
            std::fs::rename(&self.dir, &self.target)?;
            if let Some(parent) = self.target.parent() {
                sync_dir(parent)?;
            }
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(p) = &self.created_parent {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn not_empty(db: &Path) -> Box<dyn std::error::Error> {
    format!(
        "{} is not empty: restore creates a new store; give a path with no store",
        db.display()
    )
    .into()
}

pub(super) fn restore(file: &Path, db: &Path, key_file: Option<&Path>, json: bool) -> CliResult {
    let key = read_key(key_file)?;
    let input = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?,
    );
    let scratch = Scratch::new(db)?;
    let restored = {
        let store = open(&scratch.dir)?;
        let restored = store
            .restore(input, key.as_ref())
            .map_err(|e| format!("restore failed, nothing kept: {e}"))?;
        let report = store.check()?;
        if !report.ok() {
            let mut msg = format!(
                "restore failed, nothing kept: the restored store fails its check ({} problems)",
                report.problem_count
            );
            for p in report.problems.iter().take(10) {
                msg.push_str("\n  ");
                msg.push_str(p);
            }
            return Err(msg.into());
        }
        store.flush()?;
        restored
    };
    scratch.finish().map_err(|e| {
        format!("restore failed, nothing kept: cannot move the store into place: {e}")
    })?;
    if restored.verified == Verified::Nothing {
        eprintln!(
            "zhibiao: warning: this backup (version {}) has no digest; it cannot be checked for changes",
            restored.backup_version
        );
    }
    let c = &restored.counts;
    if json {
        outln!("{}", serde_json::to_string_pretty(&restored)?);
    } else {
        outln!(
            "restored {} indicators, {} targets, {} readings, {} audit rows, {} tokens into {} ({}); check: ok",
            c.indicators,
            c.targets,
            c.readings,
            c.audit,
            c.tokens,
            db.display(),
            match restored.verified {
                Verified::Nothing => "no digest to verify",
                Verified::Sha256 => "digest verified",
                Verified::HmacSha256 => "digest and HMAC verified",
            }
        );
    }
    Ok(())
}

pub(super) fn check(db: &Path, json: bool) -> CliResult {
    let store = open_existing(db)?;
    let report = store.check()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "checked {} indicators, {} targets, {} readings, {} audit rows, {} units, {} tokens: {}",
            report.indicators,
            report.targets,
            report.readings,
            report.audit,
            report.units,
            report.tokens,
            if report.ok() { "ok".to_string() } else { format!("{} problems", report.problem_count) }
        );
        for p in &report.problems {
            outln!("  {p}");
        }
    }
    if report.ok() {
        Ok(())
    } else {
        Err(format!("{} problems found", report.problem_count).into())
    }
}
