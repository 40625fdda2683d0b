//! `zhibiao report`: the monthly bulletin (月通报) or the quarter-end summary (季总结)
//! from the store, through the same query as `GET /v1/reports/{kind}`, issued on
//! `--date` (default: today in `--tz`, from the one clock).
//!
//! The file takes the name an office would give it, the bulletin's title
//! (桃江县2023年6月重点指标监测通报.docx): `--out` naming a directory writes it there
//! under that name, and a binary format asked for on a terminal is refused with that
//! name suggested.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;

use super::{open, CliResult};
use crate::domain::Period;
use crate::query::Queries;

/// What `zhibiao report` was asked for.
pub(super) struct ReportOptions<'a> {
    pub(super) as_of: Option<&'a str>,
    pub(super) format: &'a str,
    pub(super) kind: &'a str,
    pub(super) out: Option<&'a Path>,
    /// The issue date (成文日期).
    pub(super) date: NaiveDate,
    pub(super) json: bool,
}

pub(super) fn report(db: &Path, o: ReportOptions<'_>) -> CliResult {
    use crate::report::bulletin::{Format, Kind};
    use std::io::IsTerminal;
    let format: Format = o.format.parse()?;
    let kind: Kind = o.kind.parse()?;
    let as_of: Option<Period> = o.as_of.map(str::parse).transpose()?;
    let queries = Queries::new(open(db)?);
    let as_of = match as_of {
        Some(p) => p,
        None => queries
            .default_as_of()?
            .ok_or("the store holds no readings and no targets; give --as-of")?,
    };
    let file = queries.bulletin(kind, as_of, format, o.date)?;
    let name = &file.file_name;
    match o.out {
        Some(out) => {
            let path = if out.is_dir() {
                out.join(name)
            } else {
                out.to_path_buf()
            };
            std::fs::write(&path, &file.bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            if o.json {
                let v = serde_json::json!({"as_of": as_of, "kind": kind.as_str(), "format": format.extension(), "date": o.date, "path": path, "file_name": name, "bytes": file.bytes.len()});
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                eprintln!(
                    "wrote {} ({} bytes; suggested name {name})",
                    path.display(),
                    file.bytes.len()
                );
            }
        }
        None => {
            let binary = matches!(format, Format::Docx | Format::Xlsx);
            if binary && std::io::stdout().is_terminal() {
                return Err(format!(
                    "a {} bulletin is binary: give --out {name} (or --out . to write it here under that name)",
                    format.extension()
                )
                .into());
            }
            std::io::stdout().write_all(&file.bytes)?;
        }
    }
    Ok(())
}
