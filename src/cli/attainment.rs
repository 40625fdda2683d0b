//! `zhibiao attainment`: the attainment table, through the same query as
//! `GET /v1/attainment`.

use std::path::Path;

use super::{open, table, CliResult};
use crate::domain::Period;
use crate::query::views::{AttainmentList, AttainmentView, RowText};
use crate::query::{Asked, Queries};

pub(super) fn attainment(
    db: &Path,
    as_of: Option<&str>,
    battle: Option<&str>,
    json: bool,
) -> CliResult {
    let as_of: Option<Period> = as_of.map(str::parse).transpose()?;
    let queries = Queries::new(open(db)?);
    if as_of.is_none() && queries.default_as_of()?.is_none() {
        return Err("the store holds no readings and no targets; give --as-of".into());
    }
    // As `GET /v1/attainment` without `region`: the home region's rows.
    let asked = Asked {
        battle: battle.map(|b| vec![b.to_string()]).unwrap_or_default(),
        ..Asked::default()
    };
    let sel = queries.selection(&asked, None)?;
    let (as_of, rows) = queries.attainment_list(as_of, None, &sel, &[], None)?;
    if json {
        let text = RowText::new(queries.store().plans()?);
        let views: Vec<_> = rows
            .iter()
            .map(|(i, a)| AttainmentView::new(i, a, &text))
            .collect();
        let out = AttainmentList {
            as_of,
            year: as_of.year(),
            count: views.len(),
            attainment: &views,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!("as_of {as_of}  ({} indicators)", rows.len());
    let mut t = table::Table::new(
        &["指标", "实际", "目标", "完成率", "序时", "状态", "牵头单位"],
        &[false, true, true, true, true, false, false],
    );
    let num = |v: Option<f64>| v.map_or("-".to_string(), crate::engine::alerts::fmt_num);
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    for (ind, a) in &rows {
        t.row(vec![
            (ind.name.clone(), None),
            (num(a.actual), None),
            (num(a.target.as_ref().and_then(|t| t.value)), None),
            (pct(a.attainment), None),
            (pct(a.scheduled_pace), None),
            (
                a.status.label_zh().to_string(),
                Some(table::status_style(a.status)),
            ),
            (ind.lead_units.join("、"), None),
        ]);
    }
    out!("{}", t.render());
    Ok(())
}
