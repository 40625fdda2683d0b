//! `zhibiao import FILE`: a catalogue TOML loaded into the store.

use std::path::Path;

use super::{open, CliResult};
use crate::catalogue::Catalogue;

pub(super) fn import(file: &Path, db: &Path, json: bool) -> CliResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("validating {}", file.display()));
    let cat = Catalogue::parse(&text)?;
    let store = open(db)?;
    bar.set_message(format!("writing {} indicators", cat.entries.len()));
    let report = store.import_catalogue(&cat, "import", crate::clock::Clock::default().now())?;
    store.flush()?;
    bar.finish_and_clear();
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    outln!(
        "imported {}: {} indicators created, {} replaced, {} unchanged; {} targets written",
        file.display(),
        report.indicators_created,
        report.indicators_replaced,
        report.indicators_unchanged,
        report.targets_written
    );
    Ok(())
}
