//! The bulletin's model: everything a bulletin says, computed once from a [`Board`] and
//! shared by the formats: the title, the overview counts and sentence, one section per
//! battle with its table cells and lists of lagging indicators, and the quarterly
//! comparison.
//!
//! Separate from the formats so that what the bulletin says is decided in one place; the
//! formats (Markdown, HTML, CSV, Word, Excel) only lay it out. Figures, periods, targets
//! and the clauses of lagging sentences are worded by [`crate::text`].

use crate::domain::{Comparator, Group, Indicator, Kind as IndicatorKind, Period};
use crate::engine::{headline, tidy, Attainment, Headline, Status};
use crate::report::{Board, BoardRow};
use crate::text::{self, bulletin as words, sentence, Lang, DASH};

/// The statuses in the order a bulletin counts them.
pub(super) const OVERVIEW_ORDER: [Status; 7] = [
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

/// Everything a bulletin says, shared by the formats.
pub(super) struct Model<'a> {
    /// The reader's language.
    pub(super) lang: Lang,
    pub(super) as_of: Period,
    pub(super) title: String,
    pub(super) document: String,
    /// 发文单位
    pub(super) issuer: String,
    /// 文号, when the office numbers its bulletins.
    pub(super) doc_number: Option<String>,
    /// 落款
    pub(super) signature: String,
    /// The issue date (成文日期).
    pub(super) date: chrono::NaiveDate,
    /// The issue date as written: 2023年7月12日
    pub(super) date_line: String,
    /// 数据截至2023年6月
    pub(super) as_of_line: String,
    pub(super) total: usize,
    /// Counts over all indicators, in `OVERVIEW_ORDER`.
    pub(super) counts: [usize; 7],
    pub(super) overview_sentence: String,
    pub(super) sections: Vec<Section<'a>>,
    /// Present for a quarterly bulletin.
    pub(super) comparison: Option<Comparison>,
}

/// One battle's part of the bulletin.
pub(super) struct Section<'a> {
    pub(super) group: Group,
    /// （一）经济增长主动仗
    pub(super) heading: String,
    pub(super) total: usize,
    pub(super) counts: [usize; 7],
    pub(super) rows: Vec<Row<'a>>,
    /// (status, lines) for each non-empty list, in `LIST_ORDER`.
    pub(super) lists: Vec<(Status, Vec<String>)>,
}

/// One indicator's line of a battle table.
pub(super) struct Row<'a> {
    pub(super) row: &'a BoardRow,
    /// The table cells, under [`words::table_headings`].
    pub(super) cells: [String; 8],
    /// The lagging sentence (empty when not lagging).
    pub(super) situation: String,
    /// The previous quarter end's row, when a comparison board was given.
    pub(super) previous: Option<Option<&'a BoardRow>>,
}

/// The quarterly comparison with the previous quarter end.
pub(super) struct Comparison {
    /// None when no previous board was given.
    pub(super) previous_as_of: Option<Period>,
    pub(super) previous_counts: [usize; 7],
    pub(super) previous_total: usize,
    pub(super) improved: Vec<String>,
    pub(super) worsened: Vec<String>,
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
    /// The model of the bulletin of `board`: the quarter-end summary when `quarterly`,
    /// compared with `previous` when it is given.
    pub(super) fn new(
        board: &'a Board,
        quarterly: bool,
        previous: Option<&'a Board>,
        issue: &super::Issue,
        lang: Lang,
    ) -> Model<'a> {
        let as_of = board.as_of;
        let summary = board.summary();
        let counts: [usize; 7] =
            std::array::from_fn(|i| *summary.counts.get(OVERVIEW_ORDER[i].as_str()).unwrap_or(&0));
        let find_previous = |r: &BoardRow| {
            previous.map(|p| {
                p.rows
                    .iter()
                    .find(|pr| pr.indicator.id == r.indicator.id)
                    .map(|pr| &**pr)
            })
        };
        let sections = board
            .groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let in_battle: Vec<&BoardRow> = board
                    .rows
                    .iter()
                    .filter(|r| r.indicator.group == group.key)
                    .map(|r| &**r)
                    .collect();
                let (total, counts) = count_statuses(in_battle.iter().copied());
                let rows: Vec<Row> = in_battle
                    .iter()
                    .map(|r| Row {
                        row: r,
                        cells: table_cells(lang, &r.indicator, &r.attainment),
                        situation: if r.attainment.status.is_lagging() {
                            situation(lang, &r.indicator, &r.attainment)
                        } else {
                            String::new()
                        },
                        previous: find_previous(r),
                    })
                    .collect();
                let lists = LIST_ORDER
                    .iter()
                    .filter_map(|&status| {
                        // Of the figures not in, a bulletin asks units only for those
                        // past their due date; 未到报送期 is not missing.
                        let lines: Vec<String> = rows
                            .iter()
                            .filter(|r| {
                                if status == Status::NoData {
                                    past_due(&r.row.attainment)
                                } else {
                                    r.row.attainment.status == status
                                }
                            })
                            .map(|r| list_line(lang, r))
                            .collect();
                        (!lines.is_empty()).then_some((status, lines))
                    })
                    .collect();
                Section {
                    heading: words::sub_numbered(lang, i + 1, unnumbered(&group.name)),
                    group: group.clone(),
                    total,
                    counts,
                    rows,
                    lists,
                }
            })
            .collect();
        let comparison = quarterly.then(|| comparison(lang, board, previous));
        let title = if quarterly {
            words::quarterly_title(lang, &board.region, as_of)
        } else {
            words::monthly_title(lang, &board.region, as_of)
        };
        Model {
            lang,
            as_of,
            title,
            document: board.document.trim().to_string(),
            issuer: issue.issuer.clone(),
            doc_number: issue.doc_number.clone(),
            signature: issue.signature.clone(),
            date: issue.date,
            date_line: words::issue_date(lang, issue.date),
            as_of_line: words::data_as_of(lang, as_of),
            total: summary.total,
            counts,
            overview_sentence: overview_sentence(lang, summary.total, &counts),
            sections,
            comparison,
        }
    }

    /// A numbered top-level heading: “一、总体情况”.
    pub(super) fn top_heading(&self, n: usize, title: &str) -> String {
        words::numbered(self.lang, n, title)
    }

    /// The year and month of a period: “2023年6月”.
    pub(super) fn year_month(&self, p: Period) -> String {
        text::year_month(self.lang, p)
    }

    /// The plan the bulletin follows: “依据：…”.
    pub(super) fn basis(&self) -> String {
        words::basis(self.lang, &self.document)
    }

    pub(super) fn quarterly_column(&self) -> bool {
        self.comparison
            .as_ref()
            .is_some_and(|c| c.previous_as_of.is_some())
    }

    /// The headings of the attainment table, with the quarterly column when there is one.
    pub(super) fn headings(&self) -> Vec<&'static str> {
        let mut h = words::table_headings(self.lang).to_vec();
        if self.quarterly_column() {
            h.push(words::previous_heading(self.lang));
        }
        h
    }

    /// A row's cells, with the quarterly column when there is one.
    pub(super) fn row_cells(&self, r: &Row) -> Vec<String> {
        let mut cells = r.cells.to_vec();
        if self.quarterly_column() {
            cells.push(previous_cell(r.previous.flatten()));
        }
        cells
    }

    /// The per-battle counts table: heading, then one line per battle and a total line.
    pub(super) fn battle_count_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut head: Vec<String> = words::count_table_headings(self.lang)
            .iter()
            .map(|h| h.to_string())
            .collect();
        head.extend(OVERVIEW_ORDER.iter().map(|s| s.label_zh().to_string()));
        let mut lines: Vec<Vec<String>> = self
            .sections
            .iter()
            .map(|s| {
                let mut l = vec![unnumbered(&s.group.name).to_string(), s.total.to_string()];
                l.extend(s.counts.iter().map(|c| c.to_string()));
                l
            })
            .collect();
        let mut total = vec![words::total(self.lang).to_string(), self.total.to_string()];
        total.extend(self.counts.iter().map(|c| c.to_string()));
        lines.push(total);
        (head, lines)
    }
}

fn comparison(lang: Lang, board: &Board, previous: Option<&Board>) -> Comparison {
    let Some(p) = previous else {
        return Comparison {
            previous_as_of: None,
            previous_counts: [0; 7],
            previous_total: 0,
            improved: vec![],
            worsened: vec![],
        };
    };
    let (previous_total, previous_counts) = count_statuses(p.rows.iter().map(|r| &**r));
    let mut improved = vec![];
    let mut worsened = vec![];
    for group in &board.groups {
        for r in board.rows.iter().filter(|r| r.indicator.group == group.key) {
            let Some(pr) = p.rows.iter().find(|pr| pr.indicator.id == r.indicator.id) else {
                continue;
            };
            let (before, now) = (pr.attainment.status, r.attainment.status);
            if let (Some(b), Some(n)) = (rank(before), rank(now)) {
                let line = words::status_moved(
                    lang,
                    &r.indicator.name,
                    &units(lang, &r.indicator),
                    before.label_zh(),
                    now.label_zh(),
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

fn overview_sentence(lang: Lang, total: usize, counts: &[usize; 7]) -> String {
    let counts: Vec<(&str, usize)> = OVERVIEW_ORDER
        .iter()
        .zip(counts)
        .map(|(s, c)| (s.label_zh(), *c))
        .collect();
    words::overview_sentence(lang, total, &counts)
}

// ---------------------------------------------------------------------------------
// The cells and sentences of the model (worded with `crate::text`).
// ---------------------------------------------------------------------------------

/// A fraction as a percentage with one decimal (0.42 → "42.0%"), or a dash.
fn pct(x: Option<f64>) -> String {
    match tidy(x) {
        Some(v) => text::percent(v),
        None => DASH.to_string(),
    }
}

/// The lead units of an indicator: “县科工局、县人社局”.
pub(super) fn units(lang: Lang, ind: &Indicator) -> String {
    text::list(lang, &ind.lead_units)
}

/// The target as a bulletin states it: "≥150家", "8%左右", "≤3%", "4–8次".
pub(super) fn target_text(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    match &a.target {
        // A class or a rank in its own numerals: Ⅱ类, 前5位.
        Some(t) if ind.kind == IndicatorKind::Ordinal && t.value.is_some() => {
            headline::ordinal_target(ind, t)
        }
        Some(t) => text::target_symbols(lang, t, &ind.unit),
        None => DASH.to_string(),
    }
}

/// The actual figure with the span it covers: "63家（1-6月）".
fn actual_text(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    match (a.actual, a.actual_period) {
        (Some(v), Some(p)) => format!(
            "{}（{}）",
            if ind.kind == IndicatorKind::Ordinal {
                text::ordinal(v, &ind.unit)
            } else {
                text::with_unit(v, &ind.unit)
            },
            text::span(lang, p, ind.kind)
        ),
        (Some(v), None) => text::with_unit(v, &ind.unit),
        _ => DASH.to_string(),
    }
}

/// The 偏差 column: the pace gap in points beside a 完成率 (counts, amounts and lists),
/// else the deviation in the unit (points for rates in %).
fn gap_text(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    // A pace gap exists only beside a 完成率 (a count, an amount or a list).
    if let Some(g) = tidy(a.pace_gap) {
        return text::points(lang, g);
    }
    match tidy(a.deviation) {
        Some(d) => format!("{}{}", text::signed(d), text::diff_unit(lang, &ind.unit)),
        None => DASH.to_string(),
    }
}

fn table_cells(lang: Lang, ind: &Indicator, a: &Attainment) -> [String; 8] {
    [
        ind.name.clone(),
        units(lang, ind),
        target_text(lang, ind, a),
        actual_text(lang, ind, a),
        pct(a.attainment),
        // The scheduled pace means something for cumulative indicators only: a rate or
        // a level is judged against the full-year target from the first month.
        if a.headline == Some(Headline::Completion) {
            pct(a.scheduled_pace)
        } else {
            DASH.to_string()
        },
        gap_text(lang, ind, a),
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
/// "完成42.0%，低于序时进度8.0个百分点；全年还需87家，下半年需月均14.5家": the headline
/// of its kind ([`crate::engine::headline`]), then the benchmark and rank clauses a county
/// bulletin adds.
fn situation(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    let actual = a.actual.unwrap_or(0.0);
    let at_year_end = a.actual_period.is_some_and(|p| p.month() == 12);
    if a.status == Status::Missed {
        let target = target_text(lang, ind, a);
        let between = a
            .target
            .as_ref()
            .is_some_and(|t| t.comparator == Comparator::Between);
        if at_year_end {
            return sentence::year_missed_stated(lang, actual, &ind.unit, &target);
        }
        if between {
            return sentence::band_exceeded(lang, actual, &ind.unit, &target);
        }
    }
    let mut s = headline::sentence(lang, ind, a).unwrap_or_else(|| DASH.to_string());
    // What county bulletins add: 低于全市平均0.3个百分点，居全市第3位（共7个）.
    let benchmark = a.benchmarks.first().and_then(|b| b.message.clone());
    for extra in benchmark
        .into_iter()
        .chain(a.rank.as_ref().map(|r| r.label.clone()))
    {
        s.push_str(sentence::comma(lang));
        s.push_str(&extra);
    }
    let needs = headline::needs(lang, ind, a);
    if !needs.is_empty() {
        s.push_str(sentence::semicolon(lang));
        s.push_str(&needs.join(sentence::comma(lang)));
    }
    s
}

/// Whether the figure due by the bulletin's reporting date is missing (逾期未报): a
/// row with no data for the year, or one whose latest figure is older than the one
/// due. A row without a reporting state (a board built without one) counts when it
/// has no data, as bulletins did before the calendar was consulted.
fn past_due(a: &Attainment) -> bool {
    match a.reporting {
        Some(r) => r.state == crate::engine::calendar::ReportState::Overdue,
        None => a.status == Status::NoData,
    }
}

/// One line of a list under a battle table:
/// "科技型中小企业入库（县科工局）：完成42.0%，低于序时进度8.0个百分点；全年还需87家，…。"
fn list_line(lang: Lang, r: &Row) -> String {
    let ind = &r.row.indicator;
    words::indicator_line(lang, &ind.name, &units(lang, ind), &r.situation)
}

/// The heading of a list: "未达序时进度（2项）".
pub(super) fn list_heading(lang: Lang, status: Status, n: usize) -> String {
    match status {
        Status::NoData => words::no_data_heading(lang, n),
        s => words::counted(lang, s.label_zh(), n),
    }
}

/// Which attainment-table columns are right-aligned numbers.
pub(super) fn numeric_columns(n: usize) -> Vec<bool> {
    let mut r = vec![false, false, false, false, true, true, true, false];
    r.resize(n, false);
    r
}

pub(super) fn comparison_table(m: &Model, c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let head = words::comparison_headings(m.lang)
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
                text::signed(now as f64 - before as f64),
            ]
        })
        .collect();
    lines.push(vec![
        words::total(m.lang).to_string(),
        m.total.to_string(),
        c.previous_total.to_string(),
        text::signed(m.total as f64 - c.previous_total as f64),
    ]);
    (head, lines)
}

pub(super) fn comparison_lists<'c>(
    m: &Model,
    c: &'c Comparison,
) -> [(&'static str, &'c Vec<String>); 2] {
    let [improved, worsened] = words::improved_worsened(m.lang);
    [(improved, &c.improved), (worsened, &c.worsened)]
}

/// A group's name without the numbering the document gave it (一、经济发展 → 经济发展),
/// since the bulletin numbers its sections itself.
pub(super) fn unnumbered(name: &str) -> &str {
    let rest = name.trim_start_matches(|c: char| "一二三四五六七八九十0123456789".contains(c));
    match rest
        .strip_prefix('、')
        .or_else(|| rest.strip_prefix('.'))
        .or_else(|| rest.strip_prefix('．'))
    {
        Some(r) if rest.len() < name.len() && !r.trim().is_empty() => r.trim(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(y: u16, m: u8) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn percentages_and_signed_figures() {
        assert_eq!(pct(Some(0.42)), "42.0%");
        assert_eq!(pct(Some(-0.0000000000001)), "0.0%");
        assert_eq!(pct(None), "—");
        assert_eq!(text::signed(5.0), "+5");
        assert_eq!(text::signed(-0.8), "-0.8");
        assert_eq!(text::signed(0.0), "0");
        assert_eq!(text::signed1(-8.0), "-8.0");
        assert_eq!(text::signed1(0.04), "0.0");
        assert_eq!(text::signed1(13.87), "+13.9");
    }

    #[test]
    fn periods_read_as_a_bulletin_writes_them() {
        let z = Lang::Zh;
        assert_eq!(text::year_month(z, period(2023, 6)), "2023年6月");
        assert_eq!(
            text::span(z, period(2023, 6), IndicatorKind::Cumulative),
            "1-6月"
        );
        assert_eq!(text::span(z, period(2023, 1), IndicatorKind::Rate), "1月");
        assert_eq!(text::span(z, period(2023, 6), IndicatorKind::Level), "6月");
    }

    #[test]
    fn the_overview_sentence_lists_only_the_statuses_present() {
        let mut counts = [0; 7];
        counts[index_of(Status::OnTrack)] = 3;
        counts[index_of(Status::Missed)] = 1;
        assert_eq!(
            overview_sentence(Lang::Zh, 4, &counts),
            "纳入监测的主要指标共4项。其中，符合序时进度3项，未完成1项。"
        );
        assert_eq!(
            overview_sentence(Lang::Zh, 0, &[0; 7]),
            "本期无纳入监测的指标。"
        );
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
        assert_eq!(target_text(Lang::Zh, &i, &a), "8%左右");
        let (i, a) = eval("tech-sme-registered", &[], june);
        assert_eq!(target_text(Lang::Zh, &i, &a), "≥150家");
        let (i, a) = eval("cpi", &[], june);
        assert_eq!(target_text(Lang::Zh, &i, &a), "≤3%");
        let (i, a) = eval("primary-care-drug-reserve-population-share", &[], june);
        assert_eq!(target_text(Lang::Zh, &i, &a), "15–20%");
        let (i, a) = eval("tech-contract-turnover-to-gdp-ratio", &[], june);
        assert_eq!(target_text(Lang::Zh, &i, &a), ">2%");
        let (i, a) = eval("urban-surveyed-unemployment-rate", &[], june);
        assert_eq!(
            target_text(Lang::Zh, &i, &a),
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
            situation(Lang::Zh, &i, &a),
            "完成42.0%，低于序时进度8.0个百分点；全年还需87家，下半年需月均14.5家"
        );
        assert_eq!(gap_text(Lang::Zh, &i, &a), "-8.0个百分点");
        assert_eq!(actual_text(Lang::Zh, &i, &a), "63家（1-6月）");
        let (i, a) = eval("gdp-growth", &[(period(2023, 6), 7.2)], period(2023, 6));
        assert_eq!(
            situation(Lang::Zh, &i, &a),
            "增长7.2%，低于目标0.8个百分点；下半年需达8.8%"
        );
        assert_eq!(gap_text(Lang::Zh, &i, &a), "-0.8个百分点");
        // A price growth with a ceiling: the rest of the year has a maximum, not a
        // minimum, and no percentage of progress.
        let (i, a) = eval("cpi", &[(period(2023, 8), 4.2)], period(2023, 8));
        assert_eq!(
            situation(Lang::Zh, &i, &a),
            "上涨4.2%，高于控制目标1.2个百分点；后4个月需控制在0.6%以内"
        );
        assert_eq!(a.attainment, None);
        // A cap breached during the year.
        let (i, a) = eval(
            "major-accidents",
            &[(period(2023, 7), 1.0)],
            period(2023, 7),
        );
        assert_eq!(
            situation(Lang::Zh, &i, &a),
            "累计1起，已突破全年控制目标0起"
        );
        assert_eq!(gap_text(Lang::Zh, &i, &a), "+1起");
        // The year end settles it.
        let (i, a) = eval(
            "tech-sme-registered",
            &[(period(2023, 12), 140.0)],
            period(2023, 12),
        );
        assert_eq!(
            situation(Lang::Zh, &i, &a),
            "全年140家，未完成目标（≥150家）"
        );
        assert_eq!(actual_text(Lang::Zh, &i, &a), "140家（1-12月）");
    }
}
