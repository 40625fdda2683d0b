//! The words of the monthly bulletin (月通报) and the quarter-end summary (季总结): the
//! title, the headings, the overview sentence, the lines of the lists under each battle
//! table, the table headings and the quarterly comparison.
//!
//! The bulletin's model decides what is said and each format lays it out; every format
//! takes its words from here, so the Markdown, HTML, Word and Excel files say the same.

use super::lang::Lang;
use super::number::numeral;
use super::{period, sentence};
use crate::domain::Period;

/// The monthly bulletin's title, as an office titles its 通报: the region, the month
/// and what it is: “桃江县2023年6月重点指标监测通报”. The plan is cited on its own line
/// ([`basis`]), not in the title.
pub fn monthly_title(lang: Lang, region: &str, as_of: Period) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{region}{}重点指标监测通报",
            period::year_month(lang, as_of)
        ),
    }
}

/// The quarter-end summary's title: “桃江县2023年第2季度重点指标监测总结”.
pub fn quarterly_title(lang: Lang, region: &str, as_of: Period) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{region}{}年{}重点指标监测总结",
            as_of.year(),
            period::quarter(lang, as_of)
        ),
    }
}

/// The issue date (成文日期) as GB/T 9704 writes it, in Arabic numerals with its year:
/// “2023年7月12日”.
pub fn issue_date(lang: Lang, d: chrono::NaiveDate) -> String {
    period::date(lang, d, None)
}

/// A bulletin's 文号 as GB/T 9704 writes one: the office's 机关代字, the year in 〔〕 and
/// the number, “桃统通〔2023〕6号”.
pub fn doc_number(lang: Lang, prefix: &str, year: u16, n: u32) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{prefix}〔{year}〕{n}号"),
    }
}

/// The issuer a region's bulletin falls back to when none is set: “桃江县统计局”.
pub fn default_issuer(lang: Lang, region: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{region}统计局"),
    }
}

/// The plan the bulletin follows: “依据：…”.
pub fn basis(lang: Lang, document: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("依据：{document}"),
    }
}

/// How recent the figures are: “数据截至2023年6月”.
pub fn data_as_of(lang: Lang, as_of: Period) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("数据截至{}", period::year_month(lang, as_of)),
    }
}

/// A numbered top-level heading: “一、总体情况”.
pub fn numbered(lang: Lang, n: usize, title: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{}、{title}", numeral(lang, n)),
    }
}

/// A numbered second-level heading: “（一）经济增长主动仗”.
pub fn sub_numbered(lang: Lang, n: usize, title: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("（{}）{title}", numeral(lang, n)),
    }
}

/// The first section: 总体情况.
pub fn overview(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "总体情况",
    }
}

/// The second section: 分战役情况.
pub fn by_battle(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "分板块情况",
    }
}

/// The quarterly section: 与上季末比较.
pub fn comparison(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "与上季末比较",
    }
}

/// The overview sentence from the counts by status (label, count), those with none
/// left out: “纳入监测的主要指标共4项。其中，符合序时进度3项，未完成1项。”.
pub fn overview_sentence(lang: Lang, total: usize, counts: &[(&str, usize)]) -> String {
    if total == 0 {
        return none_monitored(lang).to_string();
    }
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, c)| *c > 0)
        .map(|(label, c)| count(lang, label, *c))
        .collect();
    match lang {
        Lang::Zh | Lang::En => format!(
            "纳入监测的主要指标共{total}项。其中，{}。",
            parts.join(sentence::comma(lang))
        ),
    }
}

/// A label and how many: “未完成1项”.
fn count(lang: Lang, label: &str, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{label}{n}项"),
    }
}

/// A heading with its count: “状态好转（2项）”, “未达序时进度（2项）”.
pub fn counted(lang: Lang, label: &str, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{label}（{n}项）"),
    }
}

/// The heading of the list of figures past their due date, with a request to the
/// units: figures not yet due are not listed.
pub fn no_data_heading(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("逾期未报（{n}项，请牵头单位及时报送）"),
    }
}

/// A period or battle without indicators.
pub fn none_monitored(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "本期无纳入监测的指标。",
    }
}

/// A battle without lagging indicators.
pub fn none_lagging(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "本板块无滞后指标。",
    }
}

/// A quarterly summary without the previous quarter end's board.
pub fn no_previous(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "未提供上季末数据，本期不作比较。",
    }
}

/// An empty list.
pub fn none(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "无。",
    }
}

/// The two quarter ends compared: “上季末为2023年3月（纳入监测15项），本季末为2023年6月
/// （纳入监测15项）。”.
pub fn quarters_compared(
    lang: Lang,
    previous: Period,
    previous_total: usize,
    now: Period,
    total: usize,
) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "上季末为{}（纳入监测{previous_total}项），本季末为{}（纳入监测{total}项）。",
            period::year_month(lang, previous),
            period::year_month(lang, now)
        ),
    }
}

/// An indicator in a list, with its lead units and, when it lags, what its figures say:
/// “科技型中小企业入库（县科工局）：完成42.0%，…。”, “新增城镇就业（县人社局）”.
pub fn indicator_line(lang: Lang, name: &str, units: &str, situation: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => {
            if situation.is_empty() {
                format!("{name}（{units}）")
            } else {
                format!("{name}（{units}）：{situation}。")
            }
        }
    }
}

/// An indicator whose status moved between the quarter ends:
/// “地区生产总值增速（县发改局）：严重滞后 → 未达序时进度”.
pub fn status_moved(lang: Lang, name: &str, units: &str, before: &str, now: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{name}（{units}）：{before} → {now}"),
    }
}

/// The headings of the attainment table.
pub fn table_headings(lang: Lang) -> [&'static str; 8] {
    match lang {
        Lang::Zh | Lang::En => [
            "指标",
            "牵头单位",
            "目标",
            "实际",
            "完成率",
            "序时进度",
            "偏差",
            "状态",
        ],
    }
}

/// The heading of the quarterly column of the attainment table.
pub fn previous_heading(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "上季末完成率/状态",
    }
}

/// The first two headings of the table of counts per battle: 战役, 指标数.
pub fn count_table_headings(lang: Lang) -> [&'static str; 2] {
    match lang {
        Lang::Zh | Lang::En => ["板块", "指标数"],
    }
}

/// The label of a total line: 合计.
pub fn total(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "合计",
    }
}

/// The headings of the quarterly comparison table.
pub fn comparison_headings(lang: Lang) -> [&'static str; 4] {
    match lang {
        Lang::Zh | Lang::En => ["状态", "本季末", "上季末", "增减"],
    }
}

/// The lists of the quarterly comparison: indicators whose status improved, worsened.
pub fn improved_worsened(lang: Lang) -> [&'static str; 2] {
    match lang {
        Lang::Zh | Lang::En => ["状态好转", "状态后退"],
    }
}

/// The name of the workbook's first sheet: 概览.
pub fn overview_sheet(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "概览",
    }
}

/// The column headings of a battle's sheet in the workbook.
pub fn sheet_headings(lang: Lang) -> [&'static str; 15] {
    match lang {
        Lang::Zh | Lang::En => [
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
        ],
    }
}

/// The quarterly columns of a battle's sheet: 上季末完成率, 上季末状态.
pub fn sheet_previous_headings(lang: Lang) -> [&'static str; 2] {
    match lang {
        Lang::Zh | Lang::En => ["上季末完成率", "上季末状态"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(y: u16, m: u8) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn titles_headings_and_lines() {
        let z = Lang::Zh;
        let cases: Vec<(String, &str)> = vec![
            (
                monthly_title(z, "桃江县", p(2023, 6)),
                "桃江县2023年6月重点指标监测通报",
            ),
            (
                quarterly_title(z, "桃江县", p(2023, 6)),
                "桃江县2023年第2季度重点指标监测总结",
            ),
            (
                quarterly_title(z, "桃江县", p(2023, 12)),
                "桃江县2023年第4季度重点指标监测总结",
            ),
            (basis(z, "桃政办发〔2023〕4号"), "依据：桃政办发〔2023〕4号"),
            (data_as_of(z, p(2023, 6)), "数据截至2023年6月"),
            (
                issue_date(z, chrono::NaiveDate::from_ymd_opt(2023, 7, 12).unwrap()),
                "2023年7月12日",
            ),
            (doc_number(z, "桃统通", 2023, 6), "桃统通〔2023〕6号"),
            (default_issuer(z, "临湘市"), "临湘市统计局"),
            (numbered(z, 1, overview(z)), "一、总体情况"),
            (numbered(z, 2, by_battle(z)), "二、分板块情况"),
            (numbered(z, 3, comparison(z)), "三、与上季末比较"),
            (sub_numbered(z, 6, "重点民生保障仗"), "（六）重点民生保障仗"),
            (counted(z, "状态好转", 0), "状态好转（0项）"),
            (no_data_heading(z, 2), "逾期未报（2项，请牵头单位及时报送）"),
            (
                quarters_compared(z, p(2023, 3), 14, p(2023, 6), 15),
                "上季末为2023年3月（纳入监测14项），本季末为2023年6月（纳入监测15项）。",
            ),
            (
                indicator_line(z, "指标a", "县科工局", ""),
                "指标a（县科工局）",
            ),
            (
                indicator_line(z, "指标a", "县科工局", "完成42.0%"),
                "指标a（县科工局）：完成42.0%。",
            ),
            (
                status_moved(z, "指标a", "县科工局", "严重滞后", "未达序时进度"),
                "指标a（县科工局）：严重滞后 → 未达序时进度",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn the_overview_sentence_counts_only_what_is_there() {
        let z = Lang::Zh;
        type Case<'a> = (usize, &'a [(&'a str, usize)], &'a str);
        let cases: &[Case] = &[
            (0, &[], "本期无纳入监测的指标。"),
            (
                4,
                &[("达成目标", 0), ("符合序时进度", 3), ("未完成", 1)],
                "纳入监测的主要指标共4项。其中，符合序时进度3项，未完成1项。",
            ),
            (
                1,
                &[("暂无数据", 1)],
                "纳入监测的主要指标共1项。其中，暂无数据1项。",
            ),
        ];
        for (total, counts, want) in cases {
            assert_eq!(overview_sentence(z, *total, counts), *want);
        }
    }

    #[test]
    fn the_tables_have_their_headings() {
        let z = Lang::Zh;
        assert_eq!(table_headings(z)[0], "指标");
        assert_eq!(table_headings(z)[7], "状态");
        assert_eq!(sheet_headings(z)[14], "情况说明");
        assert_eq!(comparison_headings(z), ["状态", "本季末", "上季末", "增减"]);
        assert_eq!(improved_worsened(z), ["状态好转", "状态后退"]);
        assert_eq!(total(z), "合计");
    }
}
