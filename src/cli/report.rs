//! `zhibiao report`: the monthly bulletin (月通报) or the quarter-end summary (季总结)
//! from the store, through the same query as `GET /v1/reports/{kind}`.

use std::io::Write;
use std::path::Path;

use super::{open, CliResult};
use crate::domain::Period;
use crate::query::Queries;

pub(super) fn report(
    db: &Path,
    as_of: Option<&str>,
    format: &str,
    kind: &str,
    out: Option<&Path>,
    json: bool,
) -> CliResult {
    use crate::report::bulletin::{Format, Kind};
    use std::io::IsTerminal;
    let format: Format = format.parse()?;
    let kind: Kind = kind.parse()?;
    let as_of: Option<Period> = as_of.map(str::parse).transpose()?;
    let queries = Queries::new(open(db)?);
    let as_of = match as_of {
        Some(p) => p,
        None => queries
            .default_as_of()?
            .ok_or("the store holds no readings and no targets; give --as-of")?,
    };
    let (bytes, name) = queries.bulletin(kind, as_of, format)?;
    match out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            if json {
                let v = serde_json::json!({"as_of": as_of, "kind": kind.as_str(), "format": format.extension(), "path": path, "bytes": bytes.len()});
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                eprintln!(
                    "wrote {} ({} bytes; suggested name {name})",
                    path.display(),
                    bytes.len()
                );
            }
        }
        None => {
            let binary = matches!(format, Format::Docx | Format::Xlsx);
            if binary && std::io::stdout().is_terminal() {
                return Err(format!(
                    "a {} bulletin is binary: give --out {name}",
                    format.extension()
                )
                .into());
            }
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}
