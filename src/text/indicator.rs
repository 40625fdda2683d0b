//! How an indicator's parts read: the unit of a difference (个百分点 for rates in %),
//! lists of units (县科工局、县人社局), targets in the bulletin's symbols (≥150家) or in
//! the plan's words (150家以上), and the kind, direction and reporting frequency.

use super::lang::Lang;
use super::number::fmt_num;
use crate::domain::{Comparator, Direction, Frequency, Kind, Target};

/// The unit of a difference: percentage points for rates in %, else the unit itself.
pub fn diff_unit(lang: Lang, unit: &str) -> &str {
    if unit == "%" {
        super::number::point_unit(lang)
    } else {
        unit
    }
}

/// Names in a list, as a notice runs them together: “县科工局、县人社局”.
pub fn list(lang: Lang, items: &[String]) -> String {
    match lang {
        Lang::Zh | Lang::En => items.join("、"),
    }
}

/// A list after a name, in full-width parentheses: “（县科工局、县人社局）”; nothing when
/// the list is empty.
pub fn in_parens(lang: Lang, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        match lang {
            Lang::Zh | Lang::En => format!("（{}）", list(lang, items)),
        }
    }
}

/// A relative target still awaiting its figure: “待定”, or “待定（note）”.
fn pending(lang: Lang, note: Option<&str>) -> String {
    match (lang, note) {
        (Lang::Zh | Lang::En, Some(n)) => format!("待定（{n}）"),
        (Lang::Zh | Lang::En, None) => "待定".to_string(),
    }
}

/// The target as a bulletin's table states it, in symbols: “≥150家”, “8%左右”, “≤3%”,
/// “4–8次”; a relative target awaiting its figure says what the plan says, “待定（…）”.
pub fn target_symbols(lang: Lang, t: &Target, unit: &str) -> String {
    let Some(v) = t.value else {
        let note = t
            .baseline
            .as_ref()
            .map(|b| b.note.trim())
            .filter(|n| !n.is_empty());
        return pending(lang, note);
    };
    let n = fmt_num(v);
    match lang {
        Lang::Zh | Lang::En => match t.comparator {
            Comparator::AtLeast => format!("≥{n}{unit}"),
            Comparator::MoreThan => format!(">{n}{unit}"),
            Comparator::AtMost => format!("≤{n}{unit}"),
            Comparator::LessThan => format!("<{n}{unit}"),
            Comparator::About => format!("{n}{unit}左右"),
            Comparator::Between => match t.upper {
                Some(u) => format!("{n}–{}{unit}", fmt_num(u)),
                None => format!("≥{n}{unit}"),
            },
        },
    }
}

/// The target in the plan's words: “150家以上”, “8%左右”, “3%以内”, “4–8次”. A
/// relative target still awaiting its figure reads “待定（note）”; no target reads
/// “未设目标”.
pub fn target_words(lang: Lang, target: Option<&Target>, unit: &str) -> String {
    let Some(t) = target else {
        return match lang {
            Lang::Zh | Lang::En => "未设目标".into(),
        };
    };
    let Some(v) = t.value else {
        let note = t
            .baseline
            .as_ref()
            .filter(|b| !b.note.trim().is_empty())
            .map(|b| b.note.as_str());
        return pending(lang, note);
    };
    let v = fmt_num(v);
    match lang {
        Lang::Zh | Lang::En => match t.comparator {
            Comparator::AtLeast => format!("{v}{unit}以上"),
            Comparator::MoreThan => format!("超过{v}{unit}"),
            Comparator::AtMost => format!("{v}{unit}以内"),
            Comparator::LessThan => format!("低于{v}{unit}"),
            Comparator::About => format!("{v}{unit}左右"),
            Comparator::Between => match t.upper {
                Some(u) => format!("{v}–{}{unit}", fmt_num(u)),
                None => format!("{v}{unit}以上"),
            },
        },
    }
}

/// What kind of figure an indicator is.
pub fn kind(lang: Lang, k: Kind) -> &'static str {
    match (lang, k) {
        (Lang::Zh | Lang::En, Kind::Cumulative) => "累计值（年内逐月累计）",
        (Lang::Zh | Lang::En, Kind::Rate) => "比率（累计增速、占比）",
        (Lang::Zh | Lang::En, Kind::Growth) => "增速",
        (Lang::Zh | Lang::En, Kind::Level) => "水平（期末达到的数值）",
        (Lang::Zh | Lang::En, Kind::Milestone) => "清单（N个项目中已开工或完成的个数）",
        (Lang::Zh | Lang::En, Kind::Ordinal) => "等级（类别、排名，只论是否达到）",
    }
}

/// Which way is better.
pub fn direction(lang: Lang, d: Direction) -> &'static str {
    match (lang, d) {
        (Lang::Zh | Lang::En, Direction::Up) => "越高越好",
        (Lang::Zh | Lang::En, Direction::Down) => "越低越好（控制类）",
    }
}

/// How often figures are reported.
pub fn frequency(lang: Lang, f: Frequency) -> &'static str {
    match (lang, f) {
        (Lang::Zh | Lang::En, Frequency::Monthly) => "按月",
        (Lang::Zh | Lang::En, Frequency::Quarterly) => "按季",
        (Lang::Zh | Lang::En, Frequency::Annual) => "按年",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Baseline;

    fn target(comparator: Comparator, value: Option<f64>, upper: Option<f64>) -> Target {
        Target {
            year: 2023,
            value,
            comparator,
            upper,
            tolerance: None,
            baseline: None,
            plan: None,
            parts: Vec::new(),
            duty: None,
        }
    }

    #[test]
    fn differences_of_rates_are_in_points() {
        assert_eq!(diff_unit(Lang::Zh, "%"), "个百分点");
        assert_eq!(diff_unit(Lang::Zh, "家"), "家");
        assert_eq!(diff_unit(Lang::Zh, "亿元"), "亿元");
        assert_eq!(
            list(Lang::Zh, &["县科工局".into(), "县人社局".into()]),
            "县科工局、县人社局"
        );
        assert_eq!(list(Lang::Zh, &[]), "");
        assert_eq!(in_parens(Lang::Zh, &["县科工局".into()]), "（县科工局）");
        assert_eq!(in_parens(Lang::Zh, &[]), "");
    }

    #[test]
    fn targets_in_symbols_and_in_words() {
        use Comparator::*;
        // (comparator, value, upper, unit, symbols, words)
        let cases = [
            (AtLeast, 150.0, None, "家", "≥150家", "150家以上"),
            (MoreThan, 2.0, None, "%", ">2%", "超过2%"),
            (AtMost, 3.0, None, "%", "≤3%", "3%以内"),
            (LessThan, 0.5, None, "起", "<0.5起", "低于0.5起"),
            (About, 8.0, None, "%", "8%左右", "8%左右"),
            (Between, 4.0, Some(8.0), "次", "4–8次", "4–8次"),
            (Between, 15.0, None, "%", "≥15%", "15%以上"),
        ];
        for (c, v, u, unit, symbols, words) in cases {
            let t = target(c, Some(v), u);
            assert_eq!(target_symbols(Lang::Zh, &t, unit), symbols, "{c:?}");
            assert_eq!(target_words(Lang::Zh, Some(&t), unit), words, "{c:?}");
        }
        assert_eq!(target_words(Lang::Zh, None, "家"), "未设目标");
    }

    #[test]
    fn pending_targets_say_what_the_plan_says() {
        let mut t = target(Comparator::AtMost, None, None);
        assert_eq!(target_symbols(Lang::Zh, &t, "%"), "待定");
        assert_eq!(target_words(Lang::Zh, Some(&t), "%"), "待定");
        t.baseline = Some(Baseline {
            reference: "external".into(),
            note: " 控制在省定目标以内 ".into(),
        });
        // The bulletin trims the note; the dashboard keeps it as written.
        assert_eq!(
            target_symbols(Lang::Zh, &t, "%"),
            "待定（控制在省定目标以内）"
        );
        assert_eq!(
            target_words(Lang::Zh, Some(&t), "%"),
            "待定（ 控制在省定目标以内 ）"
        );
        t.baseline.as_mut().unwrap().note = "  ".into();
        assert_eq!(target_symbols(Lang::Zh, &t, "%"), "待定");
        assert_eq!(target_words(Lang::Zh, Some(&t), "%"), "待定");
    }

    #[test]
    fn kinds_directions_and_frequencies() {
        assert_eq!(kind(Lang::Zh, Kind::Rate), "比率（累计增速、占比）");
        assert_eq!(direction(Lang::Zh, Direction::Down), "越低越好（控制类）");
        assert_eq!(frequency(Lang::Zh, Frequency::Quarterly), "按季");
    }
}
