//! Figures as the county's texts print them: up to two decimals without trailing zeros,
//! one-decimal percentages, signed differences and percentage points, and the Chinese
//! numerals of headings (一、二、三).
//!
//! Digits and signs are the same in every language, so only the functions that add a
//! word (percentage points, numerals) take a [`Lang`].

use super::lang::Lang;

/// `v` rounded to `places` decimals the way Chinese texts round (四舍五入): half away
/// from zero on the number as written, so 13.85 → 13.9 and 2.675 → 2.68, where
/// `format!("{:.1}")` rounds the binary value (13.8499…) down.
pub fn round_half_up(v: f64, places: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    // The shortest decimal that reads back as `v`: what was typed, for figures as
    // published.
    let written = format!("{}", v.abs());
    let (int, frac) = written.split_once('.').unwrap_or((&written, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let int_len = int.len();
    let keep = int_len + places;
    let round_up = frac.len() > places && digits[keep] >= 5;
    digits.truncate(keep.min(digits.len()));
    digits.resize(keep, 0);
    let mut int_len = int_len;
    if round_up {
        let mut i = keep;
        loop {
            if i == 0 {
                digits.insert(0, 1);
                int_len += 1;
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let (i, f) = text.split_at(int_len);
    let body = if places == 0 {
        i.to_string()
    } else {
        format!("{i}.{f}")
    };
    let zero = digits.iter().all(|d| *d == 0);
    if v < 0.0 && !zero {
        format!("-{body}")
    } else {
        body
    }
}

/// A number as a bulletin prints it: up to two decimals (四舍五入), no trailing zeros,
/// never "-0".
pub fn fmt_num(v: f64) -> String {
    let s = round_half_up(v, 2);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// One decimal (四舍五入), never "-0.0".
pub fn fixed1(v: f64) -> String {
    let s = round_half_up(v, 1);
    if s == "-0.0" {
        "0.0".to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with one decimal: 0.42 → "42.0%".
pub fn percent(f: f64) -> String {
    format!("{}%", fixed1(f * 100.0))
}

/// A signed number as a difference is printed: "+5", "-0.8", "0".
pub fn signed(v: f64) -> String {
    let s = fmt_num(v);
    if s != "0" && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s
    }
}

/// A signed one-decimal figure: "+5.0", "-8.0", "0.0".
pub fn signed1(v: f64) -> String {
    let s = fixed1(v);
    if s != "0.0" && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s
    }
}

/// An ordinal level as bulletins write it: water classes in Roman numerals (“Ⅱ类”),
/// ranks as places (“第3位”), anything else with its unit.
pub fn ordinal(v: f64, unit: &str) -> String {
    const ROMAN: [&str; 6] = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"];
    let whole = v.fract() == 0.0 && (1.0..=6.0).contains(&v);
    match unit {
        "类" if whole => format!("{}类", ROMAN[v as usize - 1]),
        "位" | "名" => format!("第{}{unit}", fmt_num(v)),
        _ => with_unit(v, unit),
    }
}

/// The word of a difference between two percentages: 个百分点.
pub fn point_unit(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "个百分点",
        Lang::En => "points",
    }
}

/// A difference of two fractions in percentage points, signed, with one decimal:
/// -0.087 → "-8.7个百分点".
pub fn points(lang: Lang, gap: f64) -> String {
    match lang {
        Lang::Zh => format!("{}{}", signed1(gap * 100.0), point_unit(lang)),
        Lang::En => format!("{} {}", signed1(gap * 100.0), point_unit(lang)),
    }
}

/// A value with its unit: "150家", "8%".
pub fn with_unit(v: f64, unit: &str) -> String {
    format!("{}{unit}", fmt_num(v))
}

/// The numeral of a heading or list position: 1 → "一", 6 → "六", 10 → "十"; other
/// numbers in digits.
pub fn numeral(lang: Lang, n: usize) -> String {
    const ZH: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    match lang {
        Lang::Zh | Lang::En => match n {
            1..=10 => ZH[n - 1].to_string(),
            _ => n.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_a_bulletin_prints_them() {
        let cases: &[(f64, &str)] = &[
            (150.0, "150"),
            (14.5, "14.5"),
            (14.666_666, "14.67"),
            (0.1 + 0.2, "0.3"),
            (7.2 - 8.0, "-0.8"),
            (-0.001, "0"),
            (-0.0, "0"),
            (0.0, "0"),
            (1e6, "1000000"),
            // 四舍五入 on the figure as written, not on its binary value.
            (2.675, "2.68"),
            (-2.675, "-2.68"),
            (9.995, "10"),
            (1.005, "1.01"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_num(*v), *want, "fmt_num({v})");
        }
    }

    #[test]
    fn one_decimal_rounds_half_up_as_bulletins_do() {
        let cases: &[(f64, &str)] = &[
            (13.87, "13.9"),
            (13.85, "13.9"),
            (13.84, "13.8"),
            (0.05, "0.1"),
            (99.95, "100.0"),
            (-0.04, "0.0"),
            (-1.25, "-1.3"),
            (42.0, "42.0"),
        ];
        for (v, want) in cases {
            assert_eq!(fixed1(*v), *want, "fixed1({v})");
        }
    }

    #[test]
    fn percentages_and_signed_figures() {
        let pct: &[(f64, &str)] = &[
            (0.42, "42.0%"),
            (0.413_333, "41.3%"),
            (1.0, "100.0%"),
            (-0.000_000_1, "0.0%"),
            (-0.25, "-25.0%"),
        ];
        for (v, want) in pct {
            assert_eq!(percent(*v), *want, "percent({v})");
        }
        let signs: &[(f64, &str, &str)] = &[
            (5.0, "+5", "+5.0"),
            (-0.8, "-0.8", "-0.8"),
            (0.0, "0", "0.0"),
            (-0.0, "0", "0.0"),
            (0.04, "+0.04", "0.0"),
            (-0.04, "-0.04", "0.0"),
            (13.87, "+13.87", "+13.9"),
        ];
        for (v, two, one) in signs {
            assert_eq!(signed(*v), *two, "signed({v})");
            assert_eq!(signed1(*v), *one, "signed1({v})");
        }
        assert_eq!(fixed1(-0.04), "0.0");
        assert_eq!(fixed1(8.0), "8.0");
        assert_eq!(with_unit(87.0, "家"), "87家");
        assert_eq!(with_unit(8.8, "%"), "8.8%");
    }

    #[test]
    fn percentage_points() {
        let cases: &[(f64, &str)] = &[
            (-0.087, "-8.7个百分点"),
            (-0.08, "-8.0个百分点"),
            (0.05, "+5.0个百分点"),
            (0.0, "0.0个百分点"),
            (-0.0004, "0.0个百分点"),
        ];
        for (g, want) in cases {
            assert_eq!(points(Lang::Zh, *g), *want, "points({g})");
        }
        assert_eq!(point_unit(Lang::default()), "个百分点");
    }

    #[test]
    fn heading_numerals() {
        let cases: &[(usize, &str)] = &[
            (1, "一"),
            (2, "二"),
            (3, "三"),
            (6, "六"),
            (10, "十"),
            (11, "11"),
            (0, "0"),
        ];
        for (n, want) in cases {
            assert_eq!(numeral(Lang::Zh, *n), *want, "numeral({n})");
        }
    }
}
