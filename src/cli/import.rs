//! `zhibiao import FILE`: a plan loaded into the store, from an office's 指标库
//! spreadsheet (XLSX, or CSV in UTF-8 or GBK) or a catalogue TOML file; with
//! `--dry-run`, what each row would do. Also `zhibiao template plan` (the blank sheet),
//! `zhibiao plan draft` (next year's sheet from this year's plan) and `zhibiao plan list`.

use std::path::Path;

use super::{open, CliResult};
use crate::catalogue::sheet::{RowAction, SheetOptions};
use crate::catalogue::Catalogue;
use crate::ingest::plan_sheet::{read_plan, SheetFormat};
use crate::ingest::{Cancel, Charset, Limits};
use crate::query::plans::SheetRefusal;
use crate::query::Queries;

/// How a sheet is imported.
pub(super) struct SheetArgs {
    pub dry_run: bool,
    pub opts: SheetOptions,
    pub english: bool,
}

/// What kind of file an import is given: by its first bytes, then its name.
enum FileKind {
    Xlsx,
    Csv,
    Toml,
}

fn kind_of(path: &Path, bytes: &[u8]) -> FileKind {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if bytes.starts_with(b"PK\x03\x04") {
        return FileKind::Xlsx;
    }
    match ext.as_deref() {
        Some("toml") => FileKind::Toml,
        Some("csv") | Some("txt") => FileKind::Csv,
        // A TOML catalogue starts with comments or `[catalogue]`; anything else that
        // is text is taken for CSV.
        _ if String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).contains("[catalogue]") => {
            FileKind::Toml
        }
        _ => FileKind::Csv,
    }
}

pub(super) fn import(file: &Path, db: &Path, sheet: SheetArgs, json: bool) -> CliResult {
    let bytes = std::fs::read(file).map_err(|e| format!("无法读取 {}：{e}", file.display()))?;
    match kind_of(file, &bytes) {
        FileKind::Toml => {
            if sheet.dry_run {
                return Err(
                    "--dry-run 用于指标库表格（.xlsx 或 .csv）；TOML 目录请先用 zhibiao check 检查"
                        .into(),
                );
            }
            import_toml(file, db, &bytes, json)
        }
        FileKind::Xlsx => import_sheet(file, db, SheetFormat::Xlsx, &bytes, sheet, json),
        FileKind::Csv => import_sheet(
            file,
            db,
            SheetFormat::Csv(Charset::Detect),
            &bytes,
            sheet,
            json,
        ),
    }
}

fn import_toml(file: &Path, db: &Path, bytes: &[u8], json: bool) -> CliResult {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("{} 不是 UTF-8 编码的 TOML 目录", file.display()))?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("validating {}", file.display()));
    let cat = Catalogue::parse(text)?;
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
        "已导入 {}（方案 {}）：新建指标{}个，更新{}个，不变{}个；写入目标{}个",
        file.display(),
        cat.plan.id,
        report.indicators_created,
        report.indicators_replaced,
        report.indicators_unchanged,
        report.targets_written
    );
    Ok(())
}

fn import_sheet(
    file: &Path,
    db: &Path,
    format: SheetFormat,
    bytes: &[u8],
    args: SheetArgs,
    json: bool,
) -> CliResult {
    let sheet = read_plan(format, bytes, &Limits::DEFAULT, &Cancel::new())
        .map_err(|e| format!("{}：{e}", file.display()))?;
    let queries = Queries::new(open(db)?);
    let now = crate::clock::Clock::default().now();
    let answer = match queries.import_sheet(sheet, &args.opts, args.dry_run, "import", now) {
        Ok(a) => a,
        Err(SheetRefusal::Rows(errors)) => {
            if json {
                outln!("{}", serde_json::to_string_pretty(&errors)?);
            } else {
                for e in &errors {
                    let at = if e.row == 0 {
                        "方案".to_string()
                    } else {
                        format!("第{}行", e.row)
                    };
                    outln!("{at}“{}”：{}", e.field, e.message);
                }
            }
            return Err(if args.english {
                format!(
                    "{}: {} error(s); nothing was imported",
                    file.display(),
                    errors.len()
                )
            } else {
                format!(
                    "{}：共{}处错误，未导入任何内容；请按行号和列名改正后重新导入",
                    file.display(),
                    errors.len()
                )
            }
            .into());
        }
        Err(SheetRefusal::Query(e)) => return Err(e.into()),
    };
    queries.store().flush()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let p = &answer.plan.plan;
    let (create, add, change, same) = (
        answer.counts.create,
        answer.counts.add_target,
        answer.counts.change,
        answer.counts.unchanged,
    );
    if args.english {
        outln!(
            "{} plan {} ({} {}, {}): {} new indicators, {} targets added, {} changed, {} unchanged",
            if answer.dry_run {
                "would import"
            } else {
                "imported"
            },
            p.id,
            p.region,
            p.year,
            p.document(),
            create,
            add,
            change,
            same
        );
    } else {
        outln!(
            "{}方案 {}（{}{}年，{}）：新建指标{create}个，新增年度目标{add}个，修改{change}个，不变{same}个",
            if answer.dry_run { "试导入（未写入）" } else { "已导入" },
            p.id,
            p.region,
            p.year,
            p.document(),
        );
    }
    let mut t = super::table::Table::new(
        &["行", "指标代码", "指标名称", "处理", "变化"],
        &[true, false, false, false, false],
    );
    for r in &answer.rows {
        let action = match r.action {
            RowAction::Create => "新建",
            RowAction::AddTarget => "新增年度目标",
            RowAction::Change => "修改",
            RowAction::Unchanged => "不变",
        };
        t.row(vec![
            (r.row.to_string(), None),
            (
                if r.id_generated {
                    format!("{}（生成）", r.indicator)
                } else {
                    r.indicator.clone()
                },
                None,
            ),
            (r.name.clone(), None),
            (action.to_string(), None),
            (r.changes.join("、"), None),
        ]);
    }
    outln!("{}", t.render());
    if !answer.new_units.is_empty() {
        outln!("新登记的单位：{}", answer.new_units.join("、"));
    }
    if !answer.new_regions.is_empty() {
        outln!("新登记的地区：{}", answer.new_regions.join("、"));
    }
    Ok(())
}

/// `zhibiao template plan`: the blank 指标库 sheet.
pub(super) fn template(out: &Path) -> CliResult {
    let bytes = crate::ingest::plan_template::blank_workbook()?;
    write_new(out, &bytes)?;
    outln!(
        "已写入空白指标库模板：{}（填好后用 zhibiao import 导入）",
        out.display()
    );
    Ok(())
}

/// `zhibiao plan draft --from 2023 --year 2024`.
pub(super) fn draft(
    db: &Path,
    from: u16,
    year: Option<u16>,
    region: Option<&str>,
    out: Option<&Path>,
) -> CliResult {
    let queries = Queries::new(open(db)?);
    let plan = queries.plan_of(region, from)?;
    let year = year.unwrap_or(from.saturating_add(1));
    if year <= from {
        return Err(format!("--year {year} 应晚于 --from {from}").into());
    }
    let bytes = queries.draft(&plan, year)?;
    let default = format!("{}{year}年指标库（草稿）.xlsx", plan.region);
    let out = out.map_or_else(|| Path::new(&default).to_path_buf(), Path::to_path_buf);
    write_new(&out, &bytes)?;
    outln!(
        "已写入{}{year}年指标库草稿：{}（{}个指标，上年目标和上年实际已列出；填好“年度目标”后用 zhibiao import 导入）",
        plan.region,
        out.display(),
        queries.plan_view(&plan.id)?.rows.len()
    );
    Ok(())
}

/// `zhibiao plan list`.
pub(super) fn list(db: &Path, json: bool) -> CliResult {
    let queries = Queries::new(open(db)?);
    let plans = queries.plan_list()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&plans)?);
        return Ok(());
    }
    let mut t = super::table::Table::new(
        &["方案代码", "地区", "年度", "指标数", "文件"],
        &[false, false, true, true, false],
    );
    for p in &plans {
        t.row(vec![
            (p.plan.id.to_string(), None),
            (p.plan.region.clone(), None),
            (p.plan.year.to_string(), None),
            (p.indicators.to_string(), None),
            (p.document.clone(), None),
        ]);
    }
    outln!("{}", t.render());
    Ok(())
}

/// Writes a file that must not exist yet, so that a filled-in sheet is never
/// overwritten by a blank one.
fn write_new(path: &Path, bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("无法写入 {}：{e}（已存在的文件不会被覆盖）", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
