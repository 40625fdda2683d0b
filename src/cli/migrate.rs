//! `zhibiao migrate`: upgrade a store written by an earlier release to this release's
//! format, after backing it up; or, with `--dry-run`, say what that would do.
//!
//! `serve` and the other commands upgrade a store on open in the same way; this
//! command lets an operator do it, and see it, before starting the new release.

use std::io::Write;
use std::path::PathBuf;

use crate::store::migrate::{self, StepSurvey};

/// Arguments of `zhibiao migrate`.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// Store directory.
    #[arg(long, default_value = "./zhibiao-data")]
    db: PathBuf,
    /// Say what an upgrade would do (stored format, target format, each step and what
    /// it converts), and write nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

fn steps(out: &mut impl Write, steps: &[StepSurvey]) -> std::io::Result<()> {
    for s in steps {
        writeln!(out, "  format {} → {}: {}", s.from, s.to, s.what)?;
        for d in &s.details {
            writeln!(out, "      {d}")?;
        }
    }
    Ok(())
}

/// Runs `zhibiao migrate`.
pub fn run(args: MigrateArgs) -> Result<(), Box<dyn std::error::Error>> {
    let db = &args.db;
    if !migrate::store_exists(db) {
        return Err(format!("no store at {}", db.display()).into());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.dry_run {
        let survey = migrate::survey(db)?;
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&survey)?)?;
        } else if survey.steps.is_empty() {
            writeln!(
                out,
                "{}: store format {}, this release's format: nothing to do",
                db.display(),
                survey.stored
            )?;
        } else {
            writeln!(
                out,
                "{}: store format {}; this release writes format {}. An upgrade would:",
                db.display(),
                survey.stored,
                survey.current
            )?;
            if let Some(b) = &survey.backup {
                writeln!(
                    out,
                    "  first back the store up, as it is, to {} (or a name like it)",
                    b.display()
                )?;
            }
            steps(&mut out, &survey.steps)?;
            writeln!(out, "Nothing was written (--dry-run).")?;
        }
        return Ok(());
    }
    let done = migrate::upgrade(db, 64 * 1024 * 1024)?;
    match (done, args.json) {
        (None, true) => writeln!(
            out,
            "{}",
            serde_json::json!({"upgraded": false, "format": migrate::STORE_FORMAT})
        )?,
        (None, false) => writeln!(
            out,
            "{}: already at format {}: nothing to do",
            db.display(),
            migrate::STORE_FORMAT
        )?,
        (Some(up), true) => writeln!(out, "{}", serde_json::to_string_pretty(&up)?)?,
        (Some(up), false) => {
            writeln!(
                out,
                "{}: upgraded from format {} to {} in {} ms.",
                db.display(),
                up.from,
                up.to,
                up.elapsed_ms
            )?;
            match &up.copied_instead {
                None => writeln!(
                    out,
                    "  backup of the store as it was: {} ({} indicators, {} readings, {} audit rows)",
                    up.backup.display(),
                    up.backup_counts.indicators,
                    up.backup_counts.readings,
                    up.backup_counts.audit
                )?,
                Some(why) => writeln!(
                    out,
                    "  {why}: copy of the store as it was: {}",
                    up.backup.display()
                )?,
            }
            steps(&mut out, &up.steps)?;
            if up.copied_instead.is_none() {
                writeln!(
                    out,
                    "To go back to the previous release, restore the backup with that release's \
                     `zhibiao restore` into a new directory (see docs/reliability.md)."
                )?;
            } else {
                writeln!(
                    out,
                    "To go back to the previous release, run it on the copy (see \
                     docs/reliability.md)."
                )?;
            }
        }
    }
    Ok(())
}
