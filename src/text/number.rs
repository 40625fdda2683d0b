//! Figures as the county's texts print them: up to two decimals without trailing zeros,
//! one-decimal percentages, signed differences and percentage points, and the Chinese
//! numerals of headings (一、二、三).
//!
//! Digits and signs are the same in every language, so only the functions that add a
//! word (percentage points, numerals) take a [`Lang`].

use super::lang::Lang;

/// A number as a bulletin prints it: up to two decimals, no trailing zeros, never "-0".
pub fn fmt_num(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// One decimal, never "-0.0".
pub fn fixed1(v: f64) -> String {
    let s = format!("{v:.1}");
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

/// The word of a difference between two percentages: 个百分点.
pub fn point_unit(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "个百分点",
    }
}

/// A difference of two fractions in percentage points, signed, with one decimal:
/// -0.087 → "-8.7个百分点".
pub fn points(lang: Lang, gap: f64) -> String {
    format!("{}{}", signed1(gap * 100.0), point_unit(lang))
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
        ];
        for (v, want) in cases {
            assert_eq!(fmt_num(*v), *want, "fmt_num({v})");
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
