//! The monthly bulletin (月通报) and its quarter-end variant (季总结).
//!
//! [`render`] turns a [`Board`] into a bulletin in Markdown, HTML, CSV, Word or Excel.
//! Every format carries the same content, in Chinese:
//!
//! - the title ("桃江县打好发展“六仗”主要指标2023年6月通报", or "…2023年第2季度总结"),
//!   the plan document and "数据截至2023年6月";
//! - an overview: counts by status over all indicators, and per battle;
//! - one section per battle (六仗, in [`Battle`] order): the attainment table (指标, 牵头单位,
//!   目标, 实际, 完成率, 序时进度, 偏差, 状态), then the lists of indicators 未达序时进度,
//!   严重滞后, 未完成 and 暂无数据 with their lead units and what the rest of the year needs;
//! - for the quarterly variant, given the board at the previous quarter end, a column
//!   "上季末完成率/状态" and a section comparing the two.
//!
//! Rendering is pure and deterministic: no clock, no random ids. The Word and Excel
//! files carry a fixed creation date (the last day of `as_of`'s month), so the same
//! board always gives the same bytes.

use std::fmt::Write as _;
use std::str::FromStr;

use super::web::escape;
use super::{Board, BoardRow};
use crate::domain::{Battle, Comparator, Direction, Indicator, Kind as IndicatorKind, Period};
use crate::engine::alerts::fmt_num;
use crate::engine::{tidy, Attainment, Status};

/// The placeholder for a figure that is missing or undefined.
const DASH: &str = "—";

/// Output format of a bulletin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Markdown,
    Html,
    Csv,
    Docx,
    Xlsx,
}

impl Format {
    pub const NAMES: &'static str = "md, markdown, html, csv, docx, xlsx";

    /// The media type of the rendered bytes.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
        }
    }
}

impl FromStr for Format {
    type Err = BulletinError;
    fn from_str(s: &str) -> Result<Self, BulletinError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Format::Markdown,
            "html" => Format::Html,
            "csv" => Format::Csv,
            "docx" => Format::Docx,
            "xlsx" => Format::Xlsx,
            _ => return Err(BulletinError::UnknownFormat(s.to_string())),
        })
    }
}

/// Which bulletin: the monthly one (月通报) or the quarter-end summary (季总结).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Monthly,
    Quarterly,
}

impl Kind {
    pub const NAMES: &'static str = "monthly, quarterly";

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Monthly => "monthly",
            Kind::Quarterly => "quarterly",
        }
    }

    /// 月通报 or 季总结.
    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::Monthly => "月通报",
            Kind::Quarterly => "季总结",
        }
    }
}

impl FromStr for Kind {
    type Err = BulletinError;
    fn from_str(s: &str) -> Result<Self, BulletinError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "monthly" => Ok(Kind::Monthly),
            "quarterly" => Ok(Kind::Quarterly),
            _ => Err(BulletinError::UnknownKind(s.to_string())),
        }
    }
}

/// Why a bulletin could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulletinError {
    /// The caller asked for a format that does not exist (a client error).
    #[error("'{0}' is not a bulletin format (use one of: {names})", names = Format::NAMES)]
    UnknownFormat(String),
    /// The caller asked for a kind that does not exist (a client error).
    #[error("'{0}' is not a bulletin kind (use one of: {names})", names = Kind::NAMES)]
    UnknownKind(String),
    /// A quarterly bulletin at a month that does not end a quarter (a client error).
    #[error(
        "a quarterly bulletin (季总结) needs an as_of at a quarter end (month 3, 6, 9 or 12); {as_of} is not one"
    )]
    NotQuarterEnd { as_of: Period },
    /// The comparison board is not earlier than the bulletin's (a caller error).
    #[error("the previous board ({previous}) must be earlier than the bulletin's as_of ({as_of})")]
    PreviousNotEarlier { as_of: Period, previous: Period },
    /// Writing the CSV failed (an internal error).
    #[error("could not write the CSV bulletin: {0}")]
    Csv(String),
    /// Writing the Word document failed (an internal error).
    #[error("could not write the Word bulletin: {0}")]
    Docx(String),
    /// Writing the Excel workbook failed (an internal error).
    #[error("could not write the Excel bulletin: {0}")]
    Xlsx(String),
}

impl From<rust_xlsxwriter::XlsxError> for BulletinError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        BulletinError::Xlsx(e.to_string())
    }
}

/// Renders the bulletin of `board`.
///
/// `previous` is the board at the previous quarter end; only the quarterly variant uses
/// it (for the "上季末完成率/状态" column and the comparison section). A quarterly bulletin
/// needs an `as_of` at a quarter end (March, June, September or December).
pub fn render(
    board: &Board,
    kind: Kind,
    previous: Option<&Board>,
    format: Format,
) -> Result<Vec<u8>, BulletinError> {
    let previous = match kind {
        Kind::Monthly => None,
        Kind::Quarterly => {
            if board.as_of.month() % 3 != 0 {
                return Err(BulletinError::NotQuarterEnd { as_of: board.as_of });
            }
            if let Some(p) = previous {
                if p.as_of >= board.as_of {
                    return Err(BulletinError::PreviousNotEarlier {
                        as_of: board.as_of,
                        previous: p.as_of,
                    });
                }
            }
            previous
        }
    };
    let model = Model::new(board, kind, previous);
    match format {
        Format::Markdown => Ok(markdown(&model).into_bytes()),
        Format::Html => Ok(html(&model).into_bytes()),
        Format::Csv => csv_bytes(&model),
        Format::Docx => docx(&model),
        Format::Xlsx => xlsx(&model),
    }
}

/// A file name for the bulletin: `bulletin-2023-06.md`, `bulletin-2023-Q2.xlsx`.
/// ASCII only, so it fits a `Content-Disposition` header as is.
pub fn file_name(board: &Board, kind: Kind, format: Format) -> String {
    let y = board.as_of.year();
    let m = board.as_of.month();
    match kind {
        Kind::Quarterly if m % 3 == 0 => {
            format!("bulletin-{y}-Q{}.{}", m / 3, format.extension())
        }
        _ => format!("bulletin-{y}-{m:02}.{}", format.extension()),
    }
}

// ---------------------------------------------------------------------------------
// The model: everything a bulletin says, computed once and shared by the formats.
// ---------------------------------------------------------------------------------

/// The statuses in the order a bulletin counts them.
const OVERVIEW_ORDER: [Status; 7] = [
    Status::Achieved,
    Status::OnTrack,
    Status::Behind,
    Status::SeverelyBehind,
    Status::Missed,
    Status::NoData,
    Status::NoTarget,
];

/// The lists under each battle table, in this order.
const LIST_ORDER: [Status; 4] = [
    Status::Behind,
    Status::SeverelyBehind,
    Status::Missed,
    Status::NoData,
];

const TOP_NUMERALS: [&str; 3] = ["一", "二", "三"];
const BATTLE_NUMERALS: [&str; 6] = ["一", "二", "三", "四", "五", "六"];

/// The column headings of the attainment table (without the quarterly column).
const TABLE_HEADINGS: [&str; 8] = [
    "指标",
    "牵头单位",
    "目标",
    "实际",
    "完成率",
    "序时进度",
    "偏差",
    "状态",
];
const PREVIOUS_HEADING: &str = "上季末完成率/状态";

struct Model<'a> {
    as_of: Period,
    title: String,
    document: String,
    /// 数据截至2023年6月
    as_of_line: String,
    total: usize,
    /// Counts over all indicators, in `OVERVIEW_ORDER`.
    counts: [usize; 7],
    overview_sentence: String,
    sections: Vec<Section<'a>>,
    /// Present for a quarterly bulletin.
    comparison: Option<Comparison>,
}

struct Section<'a> {
    battle: Battle,
    /// （一）经济增长主动仗
    heading: String,
    total: usize,
    counts: [usize; 7],
    rows: Vec<Row<'a>>,
    /// (status, lines) for each non-empty list, in `LIST_ORDER`.
    lists: Vec<(Status, Vec<String>)>,
}

struct Row<'a> {
    row: &'a BoardRow,
    /// The table cells, as in `TABLE_HEADINGS`.
    cells: [String; 8],
    /// The lagging sentence (empty when not lagging).
    situation: String,
    /// The previous quarter end's row, when a comparison board was given.
    previous: Option<Option<&'a BoardRow>>,
}

struct Comparison {
    /// None when no previous board was given.
    previous_as_of: Option<Period>,
    previous_counts: [usize; 7],
    previous_total: usize,
    improved: Vec<String>,
    worsened: Vec<String>,
}

fn index_of(status: Status) -> usize {
    OVERVIEW_ORDER
        .iter()
        .position(|s| *s == status)
        .unwrap_or(OVERVIEW_ORDER.len() - 1)
}

fn count_statuses<'r>(rows: impl Iterator<Item = &'r BoardRow>) -> (usize, [usize; 7]) {
    let mut counts = [0; 7];
    let mut total = 0;
    for r in rows {
        counts[index_of(r.attainment.status)] += 1;
        total += 1;
    }
    (total, counts)
}

impl<'a> Model<'a> {
    fn new(board: &'a Board, kind: Kind, previous: Option<&'a Board>) -> Model<'a> {
        let as_of = board.as_of;
        let summary = board.summary();
        let counts: [usize; 7] =
            std::array::from_fn(|i| *summary.counts.get(OVERVIEW_ORDER[i].as_str()).unwrap_or(&0));
        let find_previous = |r: &BoardRow| {
            previous.map(|p| p.rows.iter().find(|pr| pr.indicator.id == r.indicator.id))
        };
        let sections = Battle::ALL
            .iter()
            .enumerate()
            .map(|(i, &battle)| {
                let in_battle: Vec<&BoardRow> = board
                    .rows
                    .iter()
                    .filter(|r| r.indicator.battle == battle)
                    .collect();
                let (total, counts) = count_statuses(in_battle.iter().copied());
                let rows: Vec<Row> = in_battle
                    .iter()
                    .map(|r| Row {
                        row: r,
                        cells: table_cells(&r.indicator, &r.attainment),
                        situation: if r.attainment.status.is_lagging() {
                            situation(&r.indicator, &r.attainment)
                        } else {
                            String::new()
                        },
                        previous: find_previous(r),
                    })
                    .collect();
                let lists = LIST_ORDER
                    .iter()
                    .filter_map(|&status| {
                        let lines: Vec<String> = rows
                            .iter()
                            .filter(|r| r.row.attainment.status == status)
                            .map(|r| list_line(r))
                            .collect();
                        (!lines.is_empty()).then_some((status, lines))
                    })
                    .collect();
                Section {
                    battle,
                    heading: format!("（{}）{}", BATTLE_NUMERALS[i], battle.name_zh()),
                    total,
                    counts,
                    rows,
                    lists,
                }
            })
            .collect();
        let comparison = (kind == Kind::Quarterly).then(|| comparison(board, previous));
        let title = match kind {
            Kind::Monthly => format!(
                "{}打好发展“六仗”主要指标{}年{}月通报",
                board.region,
                as_of.year(),
                as_of.month()
            ),
            Kind::Quarterly => format!(
                "{}打好发展“六仗”主要指标{}年第{}季度总结",
                board.region,
                as_of.year(),
                as_of.month().div_ceil(3)
            ),
        };
        Model {
            as_of,
            title,
            document: board.document.trim().to_string(),
            as_of_line: format!("数据截至{}", year_month(as_of)),
            total: summary.total,
            counts,
            overview_sentence: overview_sentence(summary.total, &counts),
            sections,
            comparison,
        }
    }

    fn quarterly_column(&self) -> bool {
        self.comparison
            .as_ref()
            .is_some_and(|c| c.previous_as_of.is_some())
    }

    /// The headings of the attainment table, with the quarterly column when there is one.
    fn headings(&self) -> Vec<&'static str> {
        let mut h = TABLE_HEADINGS.to_vec();
        if self.quarterly_column() {
            h.push(PREVIOUS_HEADING);
        }
        h
    }

    /// A row's cells, with the quarterly column when there is one.
    fn row_cells(&self, r: &Row) -> Vec<String> {
        let mut cells = r.cells.to_vec();
        if self.quarterly_column() {
            cells.push(previous_cell(r.previous.flatten()));
        }
        cells
    }

    /// The per-battle counts table: heading, then one line per battle and a total line.
    fn battle_count_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut head = vec!["战役".to_string(), "指标数".to_string()];
        head.extend(OVERVIEW_ORDER.iter().map(|s| s.label_zh().to_string()));
        let mut lines: Vec<Vec<String>> = self
            .sections
            .iter()
            .map(|s| {
                let mut l = vec![s.battle.name_zh().to_string(), s.total.to_string()];
                l.extend(s.counts.iter().map(|c| c.to_string()));
                l
            })
            .collect();
        let mut total = vec!["合计".to_string(), self.total.to_string()];
        total.extend(self.counts.iter().map(|c| c.to_string()));
        lines.push(total);
        (head, lines)
    }
}

fn comparison(board: &Board, previous: Option<&Board>) -> Comparison {
    let Some(p) = previous else {
        return Comparison {
            previous_as_of: None,
            previous_counts: [0; 7],
            previous_total: 0,
            improved: vec![],
            worsened: vec![],
        };
    };
    let (previous_total, previous_counts) = count_statuses(p.rows.iter());
    let mut improved = vec![];
    let mut worsened = vec![];
    for battle in Battle::ALL {
        for r in board.rows.iter().filter(|r| r.indicator.battle == *battle) {
            let Some(pr) = p.rows.iter().find(|pr| pr.indicator.id == r.indicator.id) else {
                continue;
            };
            let (before, now) = (pr.attainment.status, r.attainment.status);
            if let (Some(b), Some(n)) = (rank(before), rank(now)) {
                let line = format!(
                    "{}（{}）：{} → {}",
                    r.indicator.name,
                    units(&r.indicator),
                    before.label_zh(),
                    now.label_zh()
                );
                if n > b {
                    improved.push(line);
                } else if n < b {
                    worsened.push(line);
                }
            }
        }
    }
    Comparison {
        previous_as_of: Some(p.as_of),
        previous_counts,
        previous_total,
        improved,
        worsened,
    }
}

/// How good a status is, for comparing two quarters; `None` when there is nothing to judge.
fn rank(s: Status) -> Option<u8> {
    match s {
        Status::Missed => Some(0),
        Status::SeverelyBehind => Some(1),
        Status::Behind => Some(2),
        Status::OnTrack => Some(3),
        Status::Achieved => Some(4),
        Status::NoData | Status::NoTarget => None,
    }
}

fn overview_sentence(total: usize, counts: &[usize; 7]) -> String {
    if total == 0 {
        return "本期无纳入监测的指标。".to_string();
    }
    let parts: Vec<String> = OVERVIEW_ORDER
        .iter()
        .zip(counts)
        .filter(|(_, c)| **c > 0)
        .map(|(s, c)| format!("{}{c}项", s.label_zh()))
        .collect();
    format!(
        "纳入监测的主要指标共{total}项。其中，{}。",
        parts.join("，")
    )
}

// ---------------------------------------------------------------------------------
// Formatting helpers.
// ---------------------------------------------------------------------------------

/// 2023年6月
fn year_month(p: Period) -> String {
    format!("{}年{}月", p.year(), p.month())
}

/// The span a reading covers, as a bulletin writes it: year-to-date figures are "1-6月"
/// (January alone is "1月"); a level is the standing at the end of the month, "6月".
fn period_span(p: Period, kind: IndicatorKind) -> String {
    match (kind, p.month()) {
        (IndicatorKind::Level, m) | (_, m @ 1) => format!("{m}月"),
        (_, m) => format!("1-{m}月"),
    }
}

/// A fraction as a percentage with one decimal: 0.42 → "42.0%".
fn pct(x: Option<f64>) -> String {
    match tidy(x) {
        Some(v) => format!("{}%", fixed1(v * 100.0)),
        None => DASH.to_string(),
    }
}

/// One decimal, never "-0.0".
fn fixed1(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" {
        "0.0".to_string()
    } else {
        s
    }
}

/// A signed number as a bulletin prints a difference: "+5", "-0.8", "0".
fn signed(v: f64) -> String {
    let s = fmt_num(v);
    if s != "0" && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s
    }
}

/// A signed one-decimal figure: "+5.0", "-8.0", "0.0".
fn signed1(v: f64) -> String {
    let s = fixed1(v);
    if s != "0.0" && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s
    }
}

/// The unit of a difference: 个百分点 for rates in %, else the indicator's unit.
fn diff_unit(ind: &Indicator) -> &str {
    if ind.unit == "%" {
        "个百分点"
    } else {
        &ind.unit
    }
}

/// A value with its unit: "150家", "8%".
fn with_unit(v: f64, unit: &str) -> String {
    format!("{}{unit}", fmt_num(v))
}

fn units(ind: &Indicator) -> String {
    ind.lead_units.join("、")
}

/// The target as a bulletin states it: "≥150家", "8%左右", "≤3%", "4–8次".
fn target_text(ind: &Indicator, a: &Attainment) -> String {
    let Some(t) = &a.target else {
        return DASH.to_string();
    };
    let unit = ind.unit.as_str();
    let Some(v) = t.value else {
        // A relative target awaiting its figure: say what the plan says.
        return t
            .baseline
            .as_ref()
            .map(|b| b.note.trim())
            .filter(|n| !n.is_empty())
            .map_or_else(|| "待定".to_string(), |n| format!("待定（{n}）"));
    };
    let n = fmt_num(v);
    match t.comparator {
        Comparator::AtLeast => format!("≥{n}{unit}"),
        Comparator::MoreThan => format!(">{n}{unit}"),
        Comparator::AtMost => format!("≤{n}{unit}"),
        Comparator::LessThan => format!("<{n}{unit}"),
        Comparator::About => format!("{n}{unit}左右"),
        Comparator::Between => match t.upper {
            Some(u) => format!("{n}–{}{unit}", fmt_num(u)),
            None => format!("≥{n}{unit}"),
        },
    }
}

/// The actual figure with the span it covers: "63家（1-6月）".
fn actual_text(ind: &Indicator, a: &Attainment) -> String {
    match (a.actual, a.actual_period) {
        (Some(v), Some(p)) => format!(
            "{}（{}）",
            with_unit(v, &ind.unit),
            period_span(p, ind.kind)
        ),
        (Some(v), None) => with_unit(v, &ind.unit),
        _ => DASH.to_string(),
    }
}

/// The 偏差 column: the pace gap in points for cumulative indicators with an attainment,
/// else the deviation in the unit (points for rates in %).
fn gap_text(ind: &Indicator, a: &Attainment) -> String {
    if let (IndicatorKind::Cumulative, Some(g)) = (ind.kind, tidy(a.pace_gap)) {
        return format!("{}个百分点", signed1(g * 100.0));
    }
    match tidy(a.deviation) {
        Some(d) => format!("{}{}", signed(d), diff_unit(ind)),
        None => DASH.to_string(),
    }
}

fn table_cells(ind: &Indicator, a: &Attainment) -> [String; 8] {
    [
        ind.name.clone(),
        units(ind),
        target_text(ind, a),
        actual_text(ind, a),
        pct(a.attainment),
        // The scheduled pace means something for cumulative indicators only: a rate or
        // a level is judged against the full-year target from the first month.
        if ind.kind == IndicatorKind::Cumulative {
            pct(a.scheduled_pace)
        } else {
            DASH.to_string()
        },
        gap_text(ind, a),
        a.status.label_zh().to_string(),
    ]
}

/// "20.0% / 符合序时进度", for the quarterly comparison column.
fn previous_cell(previous: Option<&BoardRow>) -> String {
    match previous {
        Some(p) => format!(
            "{} / {}",
            pct(p.attainment.attainment),
            p.attainment.status.label_zh()
        ),
        None => DASH.to_string(),
    }
}

/// What a lagging indicator's figures say, and what the rest of the year needs, e.g.
/// "完成42.0%，低于序时进度8.0个百分点；全年还需87家，其余月份需月均14.5家".
fn situation(ind: &Indicator, a: &Attainment) -> String {
    let unit = ind.unit.as_str();
    let actual = a.actual.unwrap_or(0.0);
    let value = a.target.as_ref().and_then(|t| t.value).unwrap_or(0.0);
    let between = a
        .target
        .as_ref()
        .is_some_and(|t| t.comparator == Comparator::Between);
    let at_year_end = a.actual_period.is_some_and(|p| p.month() == 12);
    let dev = tidy(a.deviation).unwrap_or(0.0);
    let need = tidy(a.required_rest_of_year);
    let year_gap = tidy(a.year_end_gap).filter(|g| *g > 0.0);

    if a.status == Status::Missed {
        let target = target_text(ind, a);
        return if at_year_end {
            format!("全年{}，未完成目标（{target}）", with_unit(actual, unit))
        } else if between {
            format!(
                "累计{}，已超出全年目标区间（{target}）",
                with_unit(actual, unit)
            )
        } else {
            format!(
                "累计{}，已突破全年控制目标{}",
                with_unit(actual, unit),
                with_unit(value, unit)
            )
        };
    }
    let mut s;
    let mut needs: Vec<String> = vec![];
    match ind.kind {
        IndicatorKind::Cumulative => {
            match (between, ind.direction, tidy(a.attainment), tidy(a.pace_gap)) {
                (false, Direction::Up, Some(att), Some(gap)) => {
                    s = format!(
                        "完成{}%，低于序时进度{}个百分点",
                        fixed1(att * 100.0),
                        fixed1(-gap * 100.0)
                    );
                }
                (false, Direction::Down, _, _) => {
                    s = format!(
                        "累计{}，超出序时进度{}",
                        with_unit(actual, unit),
                        with_unit(dev.abs(), unit)
                    );
                }
                _ => {
                    s = format!(
                        "累计{}，低于序时进度{}",
                        with_unit(actual, unit),
                        with_unit(dev.abs(), unit)
                    );
                }
            }
            if ind.direction == Direction::Down && !between {
                if let Some(n) = need {
                    needs.push(format!("其余月份月均不超过{}", with_unit(n, unit)));
                }
            } else {
                if let Some(g) = year_gap {
                    needs.push(format!("全年还需{}", with_unit(g, unit)));
                }
                if let Some(n) = need.filter(|n| *n > 0.0) {
                    needs.push(format!("其余月份需月均{}", with_unit(n, unit)));
                }
            }
        }
        IndicatorKind::Rate | IndicatorKind::Level => {
            let word = match (between, dev < 0.0) {
                (true, true) => "低于目标区间",
                (true, false) => "高于目标区间",
                (false, true) => "低于目标",
                (false, false) => "高于目标",
            };
            s = format!(
                "{}，{word}{}{}",
                with_unit(actual, unit),
                fmt_num(dev.abs()),
                diff_unit(ind)
            );
            if let (IndicatorKind::Rate, Some(n)) = (ind.kind, need) {
                needs.push(if ind.direction == Direction::Down && !between {
                    format!("其余月份需控制在{}以内", with_unit(n, unit))
                } else {
                    format!("其余月份需达{}", with_unit(n, unit))
                });
            }
        }
    }
    // What county bulletins add: 低于全市平均0.3个百分点，居全市第3位（共7个）.
    let benchmark = a.benchmarks.first().and_then(|b| b.message.clone());
    for extra in benchmark
        .into_iter()
        .chain(a.rank.as_ref().map(|r| r.label.clone()))
    {
        s.push('，');
        s.push_str(&extra);
    }
    if !needs.is_empty() {
        s.push('；');
        s.push_str(&needs.join("，"));
    }
    s
}

/// One line of a list under a battle table:
/// "科技型中小企业入库（县科工局）：完成42.0%，低于序时进度8.0个百分点；全年还需87家，…。"
fn list_line(r: &Row) -> String {
    let ind = &r.row.indicator;
    if r.situation.is_empty() {
        format!("{}（{}）", ind.name, units(ind))
    } else {
        format!("{}（{}）：{}。", ind.name, units(ind), r.situation)
    }
}

/// The heading of a list: "未达序时进度（2项）".
fn list_heading(status: Status, n: usize) -> String {
    match status {
        Status::NoData => format!("暂无数据（{n}项，请牵头单位及时报送）"),
        s => format!("{}（{n}项）", s.label_zh()),
    }
}

/// The last day of `as_of`'s month: the fixed creation date of the Word and Excel files.
fn last_day(p: Period) -> (u16, u8, u8) {
    let y = p.year();
    let m = p.month();
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let d = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (y, m, d)
}

// ---------------------------------------------------------------------------------
// Markdown.
// ---------------------------------------------------------------------------------

/// Escapes text for a Markdown paragraph or table cell.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn md_table(out: &mut String, head: &[String], right: &[bool], lines: &[Vec<String>]) {
    let cells = |l: &[String]| l.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(out, "| {} |", cells(head));
    let rule: Vec<&str> = right
        .iter()
        .map(|r| if *r { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for l in lines {
        let _ = writeln!(out, "| {} |", cells(l));
    }
    out.push('\n');
}

/// Which attainment-table columns are right-aligned numbers.
fn numeric_columns(n: usize) -> Vec<bool> {
    let mut r = vec![false, false, false, false, true, true, true, false];
    r.resize(n, false);
    r
}

fn markdown(m: &Model) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md(&m.title));
    if !m.document.is_empty() {
        let _ = writeln!(out, "依据：{}\n", md(&m.document));
    }
    let _ = writeln!(out, "{}\n", m.as_of_line);

    let _ = writeln!(out, "## {}、总体情况\n", TOP_NUMERALS[0]);
    let _ = writeln!(out, "{}\n", md(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let mut right = vec![true; head.len()];
    right[0] = false;
    md_table(&mut out, &head, &right, &lines);

    let _ = writeln!(out, "## {}、分战役情况\n", TOP_NUMERALS[1]);
    let head: Vec<String> = m.headings().iter().map(|h| h.to_string()).collect();
    let right = numeric_columns(head.len());
    for s in &m.sections {
        let _ = writeln!(out, "### {}\n", md(&s.heading));
        if s.rows.is_empty() {
            out.push_str("本期无纳入监测的指标。\n\n");
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        md_table(&mut out, &head, &right, &lines);
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            out.push_str("本战役无滞后指标。\n\n");
        }
        for (status, items) in &s.lists {
            let _ = writeln!(out, "**{}**\n", md(&list_heading(*status, items.len())));
            for (i, item) in items.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, md(item));
            }
            out.push('\n');
        }
    }

    if let Some(c) = &m.comparison {
        let _ = writeln!(out, "## {}、与上季末比较\n", TOP_NUMERALS[2]);
        match c.previous_as_of {
            None => out.push_str("未提供上季末数据，本期不作比较。\n"),
            Some(p) => {
                let _ = writeln!(
                    out,
                    "上季末为{}（纳入监测{}项），本季末为{}（纳入监测{}项）。\n",
                    year_month(p),
                    c.previous_total,
                    year_month(m.as_of),
                    m.total
                );
                let (head, lines) = comparison_table(m, c);
                md_table(&mut out, &head, &[false, true, true, true], &lines);
                for (label, items) in comparison_lists(c) {
                    let _ = writeln!(out, "**{}（{}项）**\n", label, items.len());
                    if items.is_empty() {
                        out.push_str("无。\n\n");
                        continue;
                    }
                    for (i, item) in items.iter().enumerate() {
                        let _ = writeln!(out, "{}. {}", i + 1, md(item));
                    }
                    out.push('\n');
                }
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn comparison_table(m: &Model, c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let head = ["状态", "本季末", "上季末", "增减"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut lines: Vec<Vec<String>> = OVERVIEW_ORDER
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (now, before) = (m.counts[i], c.previous_counts[i]);
            vec![
                s.label_zh().to_string(),
                now.to_string(),
                before.to_string(),
                signed(now as f64 - before as f64),
            ]
        })
        .collect();
    lines.push(vec![
        "合计".to_string(),
        m.total.to_string(),
        c.previous_total.to_string(),
        signed(m.total as f64 - c.previous_total as f64),
    ]);
    (head, lines)
}

fn comparison_lists(c: &Comparison) -> [(&'static str, &Vec<String>); 2] {
    [("状态好转", &c.improved), ("状态后退", &c.worsened)]
}

// ---------------------------------------------------------------------------------
// HTML.
// ---------------------------------------------------------------------------------

const CSS: &str = r#"@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 190mm; padding: 8mm 0; color: #000; background: #fff;
  font-family: "FangSong", "仿宋", "STFangsong", "SimSun", "Songti SC", "Noto Serif CJK SC", serif;
  font-size: 11pt; line-height: 1.6; }
h1, h2, h3 { font-family: "SimHei", "黑体", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-weight: bold; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 4pt; line-height: 1.4; }
h2 { font-size: 14pt; margin: 14pt 0 6pt; }
h3 { font-size: 12pt; margin: 12pt 0 6pt; }
h4 { font-size: 11pt; margin: 8pt 0 2pt; }
p.meta { text-align: center; margin: 0; }
p.note { color: #333; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 9pt; line-height: 1.35; }
table.fixed { table-layout: fixed; }
th, td { border: 0.75pt solid #000; padding: 2pt 4pt; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
th { background: #e8e8e8; font-weight: bold; }
tbody th { background: none; font-weight: normal; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
ol { margin: 2pt 0 8pt; padding-left: 2em; }
li { margin: 1pt 0; }
td.status { font-weight: bold; }
.s-achieved { background: #d5ecd4; color: #14532d; }
.s-on_track { background: #e6f4e4; color: #166534; }
.s-behind { background: #fdf1c7; color: #7c4a03; }
.s-severely_behind { background: #fad4cf; color: #8f1d12; }
.s-missed { background: #f1b6ae; color: #6b0f07; }
.s-no_data { background: #eeeeee; color: #444444; }
.s-no_target { background: #f6f6f6; color: #555555; }
@media print {
  body { max-width: none; padding: 0; }
  h2.battles, section.battle + section.battle, section.comparison { break-before: page; page-break-before: always; }
  th, td.status { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Column widths (percent) of the attainment table, without and with the quarterly column.
const HTML_WIDTHS: [u32; 8] = [20, 12, 11, 13, 8, 8, 14, 14];
const HTML_WIDTHS_QUARTERLY: [u32; 9] = [16, 10, 10, 11, 7, 7, 13, 13, 13];

fn html_table(
    out: &mut String,
    head: &[&str],
    numeric: &[bool],
    lines: &[Vec<String>],
    status_col: Option<(usize, &[Status])>,
    widths: Option<&[u32]>,
) {
    let class = |i: usize| {
        if numeric.get(i) == Some(&true) {
            " class=\"num\""
        } else {
            ""
        }
    };
    match widths {
        Some(w) => {
            out.push_str("<table class=\"fixed\">\n<colgroup>");
            for w in w {
                let _ = write!(out, "<col style=\"width: {w}%\">");
            }
            out.push_str("</colgroup>\n<thead><tr>");
        }
        None => out.push_str("<table>\n<thead><tr>"),
    }
    for (i, h) in head.iter().enumerate() {
        let _ = write!(out, "<th scope=\"col\"{}>{}</th>", class(i), escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (row, l) in lines.iter().enumerate() {
        out.push_str("<tr>");
        for (i, c) in l.iter().enumerate() {
            match status_col {
                Some((col, statuses)) if col == i => {
                    let _ = write!(
                        out,
                        "<td class=\"status s-{}\">{}</td>",
                        statuses[row].as_str(),
                        escape(c)
                    );
                }
                _ if i == 0 => {
                    let _ = write!(out, "<th scope=\"row\">{}</th>", escape(c));
                }
                _ => {
                    let _ = write!(out, "<td{}>{}</td>", class(i), escape(c));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_list(out: &mut String, heading: &str, items: &[String]) {
    let _ = writeln!(out, "<h4>{}</h4>", escape(heading));
    out.push_str("<ol>\n");
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape(item));
    }
    out.push_str("</ol>\n");
}

fn html(m: &Model) -> String {
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&m.title));
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    out.push_str("<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&m.title));
    if !m.document.is_empty() {
        let _ = writeln!(out, "<p class=\"meta\">依据：{}</p>", escape(&m.document));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&m.as_of_line));
    out.push_str("</header>\n");

    out.push_str("<section class=\"overview\">\n");
    let _ = writeln!(out, "<h2>{}、总体情况</h2>", TOP_NUMERALS[0]);
    let _ = writeln!(out, "<p>{}</p>", escape(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut numeric = vec![true; head.len()];
    numeric[0] = false;
    html_table(&mut out, &head, &numeric, &lines, None, None);
    out.push_str("</section>\n");

    let _ = writeln!(
        out,
        "<h2 class=\"battles\">{}、分战役情况</h2>",
        TOP_NUMERALS[1]
    );
    let head = m.headings();
    let numeric = numeric_columns(head.len());
    for s in &m.sections {
        let _ = writeln!(
            out,
            "<section class=\"battle\" id=\"battle-{}\">",
            s.battle.as_str()
        );
        let _ = writeln!(out, "<h3>{}</h3>", escape(&s.heading));
        if s.rows.is_empty() {
            out.push_str("<p class=\"note\">本期无纳入监测的指标。</p>\n</section>\n");
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        let statuses: Vec<Status> = s.rows.iter().map(|r| r.row.attainment.status).collect();
        let widths: &[u32] = if m.quarterly_column() {
            &HTML_WIDTHS_QUARTERLY
        } else {
            &HTML_WIDTHS
        };
        html_table(
            &mut out,
            &head,
            &numeric,
            &lines,
            Some((7, &statuses)),
            Some(widths),
        );
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            out.push_str("<p class=\"note\">本战役无滞后指标。</p>\n");
        }
        for (status, items) in &s.lists {
            html_list(&mut out, &list_heading(*status, items.len()), items);
        }
        out.push_str("</section>\n");
    }

    if let Some(c) = &m.comparison {
        out.push_str("<section class=\"comparison\">\n");
        let _ = writeln!(out, "<h2>{}、与上季末比较</h2>", TOP_NUMERALS[2]);
        match c.previous_as_of {
            None => out.push_str("<p class=\"note\">未提供上季末数据，本期不作比较。</p>\n"),
            Some(p) => {
                let _ = writeln!(
                    out,
                    "<p>上季末为{}（纳入监测{}项），本季末为{}（纳入监测{}项）。</p>",
                    year_month(p),
                    c.previous_total,
                    year_month(m.as_of),
                    m.total
                );
                let (head, lines) = comparison_table(m, c);
                let head: Vec<&str> = head.iter().map(String::as_str).collect();
                html_table(
                    &mut out,
                    &head,
                    &[false, true, true, true],
                    &lines,
                    None,
                    None,
                );
                for (label, items) in comparison_lists(c) {
                    if items.is_empty() {
                        let _ = writeln!(out, "<h4>{label}（0项）</h4>\n<p>无。</p>");
                    } else {
                        html_list(&mut out, &format!("{label}（{}项）", items.len()), items);
                    }
                }
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

// ---------------------------------------------------------------------------------
// CSV.
// ---------------------------------------------------------------------------------

const CSV_COLUMNS: [&str; 18] = [
    "battle",
    "battle_name",
    "indicator",
    "name",
    "lead_units",
    "unit",
    "target",
    "comparator",
    "actual",
    "actual_period",
    "attainment",
    "scheduled_pace",
    "pace_gap",
    "deviation",
    "year_end_gap",
    "required_rest_of_year",
    "status",
    "status_label",
];

/// Neutralises text a spreadsheet would run as a formula, with a leading `'`.
fn csv_text(s: &str) -> String {
    let risky = matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A number as CSV text ("" when missing), rounded like every answer (`tidy`).
fn csv_num(v: Option<f64>) -> String {
    tidy(v).map(|x| x.to_string()).unwrap_or_default()
}

fn csv_bytes(m: &Model) -> Result<Vec<u8>, BulletinError> {
    let err = |e: csv::Error| BulletinError::Csv(e.to_string());
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let mut head: Vec<&str> = CSV_COLUMNS.to_vec();
    if m.quarterly_column() {
        head.extend([
            "previous_attainment",
            "previous_status",
            "previous_status_label",
        ]);
    }
    w.write_record(&head).map_err(err)?;
    for s in &m.sections {
        for r in &s.rows {
            let ind = &r.row.indicator;
            let a = &r.row.attainment;
            let (target, comparator) = match &a.target {
                Some(t) => (
                    match (t.comparator, t.value, t.upper) {
                        (Comparator::Between, Some(v), Some(u)) => {
                            format!("{}–{}", fmt_num(v), fmt_num(u))
                        }
                        (_, v, _) => csv_num(v),
                    },
                    t.comparator.as_str().to_string(),
                ),
                None => (String::new(), String::new()),
            };
            let mut rec = vec![
                ind.battle.as_str().to_string(),
                csv_text(ind.battle.name_zh()),
                ind.id.to_string(),
                csv_text(&ind.name),
                csv_text(&units(ind)),
                csv_text(&ind.unit),
                target,
                comparator,
                csv_num(a.actual),
                a.actual_period.map(|p| p.to_string()).unwrap_or_default(),
                csv_num(a.attainment),
                csv_num(a.scheduled_pace),
                csv_num(a.pace_gap),
                csv_num(a.deviation),
                csv_num(a.year_end_gap),
                csv_num(a.required_rest_of_year),
                a.status.as_str().to_string(),
                a.status.label_zh().to_string(),
            ];
            if m.quarterly_column() {
                match r.previous.flatten() {
                    Some(p) => rec.extend([
                        csv_num(p.attainment.attainment),
                        p.attainment.status.as_str().to_string(),
                        p.attainment.status.label_zh().to_string(),
                    ]),
                    None => rec.extend([String::new(), String::new(), String::new()]),
                }
            }
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| BulletinError::Csv(e.to_string()))
}

// ---------------------------------------------------------------------------------
// Word (docx-rs).
// ---------------------------------------------------------------------------------

/// A4 in twentieths of a point, and a 15 mm margin.
const A4_TWIPS: (u32, u32) = (11906, 16838);
const MARGIN_TWIPS: i32 = 850;

/// Background fills of the status cells (the label is always written too).
fn status_fill(s: Status) -> &'static str {
    match s {
        Status::Achieved => "D5ECD4",
        Status::OnTrack => "E6F4E4",
        Status::Behind => "FDF1C7",
        Status::SeverelyBehind => "FAD4CF",
        Status::Missed => "F1B6AE",
        Status::NoData => "EEEEEE",
        Status::NoTarget => "F6F6F6",
    }
}

fn docx(m: &Model) -> Result<Vec<u8>, BulletinError> {
    use docx_rs::{
        AlignmentType, Docx, PageMargin, Paragraph, Run, RunFonts, Shading, Table, TableCell,
        TableLayoutType, TableRow, WidthType,
    };

    let body_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("仿宋");
    let heading_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("黑体");
    let table_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("宋体");
    let para = |text: &str| Paragraph::new().add_run(Run::new().add_text(text));
    let heading = |text: &str, size: usize| {
        Paragraph::new().keep_next(true).add_run(
            Run::new()
                .add_text(text)
                .bold()
                .size(size)
                .fonts(heading_fonts.clone()),
        )
    };
    let width = (A4_TWIPS.0 as usize) - 2 * (MARGIN_TWIPS as usize);
    let table = |head: &[&str],
                 weights: &[usize],
                 lines: &[Vec<String>],
                 statuses: Option<(usize, &[Status])>| {
        let total: usize = weights.iter().sum();
        let grid: Vec<usize> = weights.iter().map(|w| w * width / total).collect();
        let cell = |text: &str, w: usize, bold: bool, fill: Option<&str>| {
            let mut run = Run::new()
                .add_text(text)
                .size(18)
                .fonts(table_fonts.clone());
            if bold {
                run = run.bold();
            }
            let mut c = TableCell::new()
                .width(w, WidthType::Dxa)
                .add_paragraph(Paragraph::new().add_run(run));
            if let Some(f) = fill {
                c = c.shading(Shading::new().fill(f));
            }
            c
        };
        let mut rows = vec![TableRow::new(
            head.iter()
                .zip(&grid)
                .map(|(h, w)| cell(h, *w, true, Some("E8E8E8")))
                .collect(),
        )
        .cant_split()];
        for (ri, l) in lines.iter().enumerate() {
            let cells = l
                .iter()
                .zip(&grid)
                .enumerate()
                .map(|(ci, (text, w))| match statuses {
                    Some((col, st)) if col == ci => cell(text, *w, true, Some(status_fill(st[ri]))),
                    _ => cell(text, *w, false, None),
                })
                .collect();
            rows.push(TableRow::new(cells).cant_split());
        }
        Table::new(rows)
            .set_grid(grid.clone())
            .layout(TableLayoutType::Fixed)
            .width(width, WidthType::Dxa)
    };

    let (y, mo, d) = last_day(m.as_of);
    let stamp = format!("{y:04}-{mo:02}-{d:02}T00:00:00Z");
    let mut doc = Docx::new()
        .page_size(A4_TWIPS.0, A4_TWIPS.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TWIPS)
                .bottom(MARGIN_TWIPS)
                .left(MARGIN_TWIPS)
                .right(MARGIN_TWIPS)
                .header(MARGIN_TWIPS / 2)
                .footer(MARGIN_TWIPS / 2),
        )
        .default_fonts(body_fonts.clone())
        .default_size(24)
        .created_at(&stamp)
        .updated_at(&stamp);

    doc = doc.add_paragraph(
        Paragraph::new().align(AlignmentType::Center).add_run(
            Run::new()
                .add_text(&m.title)
                .bold()
                .size(36)
                .fonts(heading_fonts.clone()),
        ),
    );
    if !m.document.is_empty() {
        doc =
            doc.add_paragraph(para(&format!("依据：{}", m.document)).align(AlignmentType::Center));
    }
    doc = doc.add_paragraph(para(&m.as_of_line).align(AlignmentType::Center));

    doc = doc.add_paragraph(heading(&format!("{}、总体情况", TOP_NUMERALS[0]), 32));
    doc = doc.add_paragraph(para(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut weights = vec![4; head.len()];
    weights[0] = 8;
    doc = doc.add_table(table(&head, &weights, &lines, None));

    doc = doc.add_paragraph(heading(&format!("{}、分战役情况", TOP_NUMERALS[1]), 32));
    let head = m.headings();
    let mut weights = vec![24, 13, 12, 14, 9, 9, 12, 11];
    if m.quarterly_column() {
        weights.push(14);
    }
    for s in &m.sections {
        doc = doc.add_paragraph(heading(&s.heading, 28));
        if s.rows.is_empty() {
            doc = doc.add_paragraph(para("本期无纳入监测的指标。"));
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        let statuses: Vec<Status> = s.rows.iter().map(|r| r.row.attainment.status).collect();
        doc = doc.add_table(table(&head, &weights, &lines, Some((7, &statuses))));
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            doc = doc.add_paragraph(para("本战役无滞后指标。"));
        }
        for (status, items) in &s.lists {
            doc = doc.add_paragraph(
                Paragraph::new().keep_next(true).add_run(
                    Run::new()
                        .add_text(list_heading(*status, items.len()))
                        .bold(),
                ),
            );
            for (i, item) in items.iter().enumerate() {
                doc = doc.add_paragraph(para(&format!("{}. {item}", i + 1)));
            }
        }
    }

    if let Some(c) = &m.comparison {
        doc = doc.add_paragraph(heading(&format!("{}、与上季末比较", TOP_NUMERALS[2]), 32));
        match c.previous_as_of {
            None => doc = doc.add_paragraph(para("未提供上季末数据，本期不作比较。")),
            Some(p) => {
                doc = doc.add_paragraph(para(&format!(
                    "上季末为{}（纳入监测{}项），本季末为{}（纳入监测{}项）。",
                    year_month(p),
                    c.previous_total,
                    year_month(m.as_of),
                    m.total
                )));
                let (head, lines) = comparison_table(m, c);
                let head: Vec<&str> = head.iter().map(String::as_str).collect();
                doc = doc.add_table(table(&head, &[8, 4, 4, 4], &lines, None));
                for (label, items) in comparison_lists(c) {
                    doc = doc.add_paragraph(
                        Paragraph::new().keep_next(true).add_run(
                            Run::new()
                                .add_text(format!("{label}（{}项）", items.len()))
                                .bold(),
                        ),
                    );
                    if items.is_empty() {
                        doc = doc.add_paragraph(para("无。"));
                    }
                    for (i, item) in items.iter().enumerate() {
                        doc = doc.add_paragraph(para(&format!("{}. {item}", i + 1)));
                    }
                }
            }
        }
    }

    let mut cursor = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut cursor)
        .map_err(|e| BulletinError::Docx(e.to_string()))?;
    Ok(cursor.into_inner())
}

// ---------------------------------------------------------------------------------
// Excel (rust_xlsxwriter).
// ---------------------------------------------------------------------------------

/// The paper size code of A4 in Excel's page setup.
const XLSX_A4: u8 = 9;

fn xlsx(m: &Model) -> Result<Vec<u8>, BulletinError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, FormatAlign, Workbook};

    let (y, mo, d) = last_day(m.as_of);
    let created = ExcelDateTime::from_ymd(y, mo, d)?;
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(&m.title)
            .set_creation_datetime(&created),
    );

    let bold = XFormat::new().set_bold();
    let header = XFormat::new()
        .set_bold()
        .set_background_color(0xE8E8E8)
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let title_fmt = XFormat::new().set_bold().set_font_size(14);
    let percent = XFormat::new().set_num_format("0.0%");
    let signed_percent = XFormat::new().set_num_format("+0.0%;-0.0%;0.0%");
    // Plain numbers keep Excel's General format (no trailing "63." as "0.##" would give).
    let number = XFormat::new();
    let wrap = XFormat::new().set_text_wrap().set_align(FormatAlign::Top);

    // 概览
    {
        let ws = wb.add_worksheet();
        ws.set_name("概览")?;
        ws.set_paper_size(XLSX_A4);
        ws.write_string_with_format(0, 0, &m.title, &title_fmt)?;
        let mut row = 1;
        if !m.document.is_empty() {
            ws.write_string(row, 0, format!("依据：{}", m.document))?;
            row += 1;
        }
        ws.write_string(row, 0, &m.as_of_line)?;
        row += 1;
        ws.write_string(row, 0, &m.overview_sentence)?;
        row += 2;
        let (head, lines) = m.battle_count_table();
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, h, &header)?;
        }
        ws.set_freeze_panes(row + 1, 1)?;
        for l in &lines {
            row += 1;
            let is_total = l[0] == "合计";
            for (c, v) in l.iter().enumerate() {
                match (c, v.parse::<f64>()) {
                    (0, _) | (_, Err(_)) => {
                        if is_total {
                            ws.write_string_with_format(row, c as u16, v, &bold)?;
                        } else {
                            ws.write_string(row, c as u16, v)?;
                        }
                    }
                    (_, Ok(n)) => {
                        if is_total {
                            ws.write_number_with_format(row, c as u16, n, &bold)?;
                        } else {
                            ws.write_number(row, c as u16, n)?;
                        }
                    }
                }
            }
        }
        if let Some(c) = m.comparison.as_ref().filter(|c| c.previous_as_of.is_some()) {
            row += 2;
            ws.write_string_with_format(row, 0, "与上季末比较", &bold)?;
            let (head, lines) = comparison_table(m, c);
            row += 1;
            for (ci, h) in head.iter().enumerate() {
                ws.write_string_with_format(row, ci as u16, h, &header)?;
            }
            for l in &lines {
                row += 1;
                ws.write_string(row, 0, &l[0])?;
                for (ci, v) in l.iter().enumerate().skip(1) {
                    let n: f64 = v.trim_start_matches('+').parse().unwrap_or(0.0);
                    ws.write_number(row, ci as u16, n)?;
                }
            }
            for (label, items) in comparison_lists(c) {
                row += 2;
                ws.write_string_with_format(
                    row,
                    0,
                    format!("{label}（{}项）", items.len()),
                    &bold,
                )?;
                for item in items {
                    row += 1;
                    ws.write_string(row, 0, item)?;
                }
            }
        }
        ws.set_column_width(0, 22)?;
        for c in 1..head.len() as u16 {
            ws.set_column_width(c, 12)?;
        }
    }

    // One sheet per battle.
    let mut head: Vec<&str> = vec![
        "指标",
        "牵头单位",
        "单位",
        "目标",
        "目标值",
        "实际",
        "实际期别",
        "完成率",
        "序时进度",
        "进度偏差",
        "偏差",
        "全年差距",
        "其余月份需",
        "状态",
        "情况说明",
    ];
    let quarterly = m.quarterly_column();
    if quarterly {
        head.extend(["上季末完成率", "上季末状态"]);
    }
    let widths: [f64; 17] = [
        34.0, 18.0, 8.0, 16.0, 9.0, 10.0, 10.0, 9.0, 9.0, 9.0, 9.0, 9.0, 10.0, 13.0, 48.0, 12.0,
        13.0,
    ];
    for s in &m.sections {
        let ws = wb.add_worksheet();
        ws.set_name(s.battle.name_zh())?;
        ws.set_paper_size(XLSX_A4);
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(0, 0)?;
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &header)?;
            ws.set_column_width(c as u16, widths[c])?;
        }
        ws.set_freeze_panes(1, 1)?;
        for (i, r) in s.rows.iter().enumerate() {
            let row = (i + 1) as u32;
            let ind = &r.row.indicator;
            let a = &r.row.attainment;
            ws.write_string(row, 0, &ind.name)?;
            ws.write_string(row, 1, units(ind))?;
            ws.write_string(row, 2, &ind.unit)?;
            ws.write_string(row, 3, target_text(ind, a))?;
            let nums: [(u16, Option<f64>, &XFormat); 9] = [
                (4, a.target.as_ref().and_then(|t| t.value), &number),
                (5, a.actual, &number),
                (7, tidy(a.attainment), &percent),
                // As in the printed table: the pace means something for cumulative
                // indicators only.
                (
                    8,
                    tidy(a.scheduled_pace).filter(|_| ind.kind == IndicatorKind::Cumulative),
                    &percent,
                ),
                (9, tidy(a.pace_gap), &signed_percent),
                (10, tidy(a.deviation), &number),
                (11, tidy(a.year_end_gap), &number),
                (12, tidy(a.required_rest_of_year), &number),
                (
                    15,
                    r.previous
                        .flatten()
                        .and_then(|p| tidy(p.attainment.attainment)),
                    &percent,
                ),
            ];
            for (col, v, f) in nums {
                if col == 15 && !quarterly {
                    continue;
                }
                if let Some(v) = v {
                    ws.write_number_with_format(row, col, v, f)?;
                }
            }
            if let Some(p) = a.actual_period {
                ws.write_string(row, 6, year_month(p))?;
            }
            ws.write_string(row, 13, a.status.label_zh())?;
            if !r.situation.is_empty() {
                ws.write_string_with_format(row, 14, &r.situation, &wrap)?;
            }
            if quarterly {
                if let Some(p) = r.previous.flatten() {
                    ws.write_string(row, 16, p.attainment.status.label_zh())?;
                }
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(y: u16, m: u8) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn formats_and_kinds_parse_and_name_themselves() {
        assert_eq!("md".parse::<Format>().unwrap(), Format::Markdown);
        assert_eq!("markdown".parse::<Format>().unwrap(), Format::Markdown);
        assert_eq!("HTML".parse::<Format>().unwrap(), Format::Html);
        for f in [Format::Html, Format::Csv, Format::Docx, Format::Xlsx] {
            assert_eq!(f.extension().parse::<Format>().unwrap(), f);
        }
        assert!(matches!(
            "pdf".parse::<Format>(),
            Err(BulletinError::UnknownFormat(s)) if s == "pdf"
        ));
        assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!("quarterly".parse::<Kind>().unwrap(), Kind::Quarterly);
        assert_eq!("monthly".parse::<Kind>().unwrap(), Kind::Monthly);
        assert!("weekly".parse::<Kind>().is_err());
    }

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("科技型中小企业"), "科技型中小企业");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
        assert_eq!(md("*x*"), "\\*x\\*");
    }

    #[test]
    fn csv_text_neutralises_formulas_but_numbers_are_written_as_numbers() {
        assert_eq!(csv_text("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-x"), "'-x");
        assert_eq!(csv_text("@cmd"), "'@cmd");
        assert_eq!(csv_text("县科工局"), "县科工局");
        assert_eq!(csv_num(Some(-0.08)), "-0.08");
        assert_eq!(csv_num(Some(7.2 - 8.0)), "-0.8");
        assert_eq!(csv_num(None), "");
    }

    #[test]
    fn percentages_and_signed_figures() {
        assert_eq!(pct(Some(0.42)), "42.0%");
        assert_eq!(pct(Some(-0.0000000000001)), "0.0%");
        assert_eq!(pct(None), "—");
        assert_eq!(signed(5.0), "+5");
        assert_eq!(signed(-0.8), "-0.8");
        assert_eq!(signed(0.0), "0");
        assert_eq!(signed1(-8.0), "-8.0");
        assert_eq!(signed1(0.04), "0.0");
        assert_eq!(signed1(13.87), "+13.9");
    }

    #[test]
    fn periods_read_as_a_bulletin_writes_them() {
        assert_eq!(year_month(period(2023, 6)), "2023年6月");
        assert_eq!(
            period_span(period(2023, 6), IndicatorKind::Cumulative),
            "1-6月"
        );
        assert_eq!(period_span(period(2023, 1), IndicatorKind::Rate), "1月");
        assert_eq!(period_span(period(2023, 6), IndicatorKind::Level), "6月");
        assert_eq!(last_day(period(2024, 2)), (2024, 2, 29));
        assert_eq!(last_day(period(2023, 2)), (2023, 2, 28));
        assert_eq!(last_day(period(2023, 6)), (2023, 6, 30));
        assert_eq!(last_day(period(2023, 12)), (2023, 12, 31));
    }

    #[test]
    fn the_overview_sentence_lists_only_the_statuses_present() {
        let mut counts = [0; 7];
        counts[index_of(Status::OnTrack)] = 3;
        counts[index_of(Status::Missed)] = 1;
        assert_eq!(
            overview_sentence(4, &counts),
            "纳入监测的主要指标共4项。其中，符合序时进度3项，未完成1项。"
        );
        assert_eq!(overview_sentence(0, &[0; 7]), "本期无纳入监测的指标。");
    }

    /// An indicator of the built-in catalogue, evaluated on `readings` at `as_of`.
    fn eval(id: &str, readings: &[(Period, f64)], as_of: Period) -> (Indicator, Attainment) {
        let cat = crate::catalogue::Catalogue::builtin().unwrap();
        let (ind, target) = cat.find(id).unwrap();
        let a = crate::engine::evaluate(ind, target, readings, as_of);
        (ind.clone(), a)
    }

    #[test]
    fn targets_read_with_their_comparator_words() {
        let june = period(2023, 6);
        let (i, a) = eval("gdp-growth", &[], june);
        assert_eq!(target_text(&i, &a), "8%左右");
        let (i, a) = eval("tech-sme-registered", &[], june);
        assert_eq!(target_text(&i, &a), "≥150家");
        let (i, a) = eval("cpi", &[], june);
        assert_eq!(target_text(&i, &a), "≤3%");
        let (i, a) = eval("primary-care-drug-reserve-population-share", &[], june);
        assert_eq!(target_text(&i, &a), "15–20%");
        let (i, a) = eval("tech-contract-turnover-to-gdp-ratio", &[], june);
        assert_eq!(target_text(&i, &a), ">2%");
        let (i, a) = eval("urban-surveyed-unemployment-rate", &[], june);
        assert_eq!(
            target_text(&i, &a),
            "待定（城镇调查失业率控制在省定目标以内）"
        );
    }

    #[test]
    fn lagging_sentences_say_what_the_rest_of_the_year_needs() {
        let (i, a) = eval(
            "tech-sme-registered",
            &[(period(2023, 6), 63.0)],
            period(2023, 6),
        );
        assert_eq!(
            situation(&i, &a),
            "完成42.0%，低于序时进度8.0个百分点；全年还需87家，其余月份需月均14.5家"
        );
        assert_eq!(gap_text(&i, &a), "-8.0个百分点");
        assert_eq!(actual_text(&i, &a), "63家（1-6月）");
        let (i, a) = eval("gdp-growth", &[(period(2023, 6), 7.2)], period(2023, 6));
        assert_eq!(
            situation(&i, &a),
            "7.2%，低于目标0.8个百分点；其余月份需达8.8%"
        );
        assert_eq!(gap_text(&i, &a), "-0.8个百分点");
        // A rate with a ceiling: the rest of the year has a maximum, not a minimum.
        let (i, a) = eval("cpi", &[(period(2023, 8), 4.2)], period(2023, 8));
        assert_eq!(
            situation(&i, &a),
            "4.2%，高于目标1.2个百分点；其余月份需控制在0.6%以内"
        );
        // A cap breached during the year.
        let (i, a) = eval(
            "major-accidents",
            &[(period(2023, 7), 1.0)],
            period(2023, 7),
        );
        assert_eq!(situation(&i, &a), "累计1起，已突破全年控制目标0起");
        assert_eq!(gap_text(&i, &a), "+1起");
        // The year end settles it.
        let (i, a) = eval(
            "tech-sme-registered",
            &[(period(2023, 12), 140.0)],
            period(2023, 12),
        );
        assert_eq!(situation(&i, &a), "全年140家，未完成目标（≥150家）");
        assert_eq!(actual_text(&i, &a), "140家（1-12月）");
    }

    #[test]
    fn file_names_are_ascii() {
        let board = Board {
            as_of: period(2023, 6),
            region: "桃江县".into(),
            document: String::new(),
            rows: vec![],
        };
        assert_eq!(
            file_name(&board, Kind::Monthly, Format::Docx),
            "bulletin-2023-06.docx"
        );
        assert_eq!(
            file_name(&board, Kind::Quarterly, Format::Markdown),
            "bulletin-2023-Q2.md"
        );
    }
}
