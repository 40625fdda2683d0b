//! `zhibiao backup`, `restore` and `check`: a store written to one file, created
//! again from it, and verified.

use std::path::Path;

use super::{open, open_existing, CliResult};

pub(super) fn backup(db: &Path, out: &Path, json: bool) -> CliResult {
    let store = open_existing(db)?;
    let counts = if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        store.backup(&mut w)?
    } else {
        // Write beside the target, then rename: a failed backup never leaves a
        // truncated file under the final name.
        let tmp = out.with_extension("partial");
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?,
        );
        let counts = store.backup(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, out)?;
        counts
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else if out != Path::new("-") {
        eprintln!(
            "backed up {} indicators, {} targets, {} readings, {} audit rows, {} tokens to {}",
            counts.indicators,
            counts.targets,
            counts.readings,
            counts.audit,
            counts.tokens,
            out.display()
        );
    }
    Ok(())
}

pub(super) fn restore(file: &Path, db: &Path, json: bool) -> CliResult {
    if db.exists() && std::fs::read_dir(db)?.next().is_some() {
        return Err(format!(
            "{} is not empty: restore creates a new store; give a path with no store",
            db.display()
        )
        .into());
    }
    let input = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?,
    );
    let store = open(db)?;
    let counts = match store.restore(input) {
        Ok(c) => c,
        Err(e) => {
            drop(store);
            let _ = std::fs::remove_dir_all(db);
            return Err(format!("restore failed, nothing kept: {e}").into());
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else {
        outln!(
            "restored {} indicators, {} targets, {} readings, {} audit rows, {} tokens into {}",
            counts.indicators,
            counts.targets,
            counts.readings,
            counts.audit,
            counts.tokens,
            db.display()
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
