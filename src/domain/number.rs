//! Numbers as they are written, and the ones f64 cannot keep.
//!
//! Every parser zhibiao uses (Rust's, serde_json's, the TOML and XLSX readers') turns a
//! number too close to zero for f64 into 0 without a word: `1e-400` is stored as 0, a
//! figure nobody sent. Between 0 and 2.2250738585072014e-308 lie the subnormal
//! numbers, which keep fewer digits than they were given. Neither is a figure any
//! statistic has, so both are refused, naming the field: subnormal values by
//! [`super::finite`], which every constructor of a value, a target or a threshold
//! calls, and zeros that were not written as zero here, wherever the text is still at
//! hand ([`parse`] for a CSV cell or an argument, [`json_numbers`] for a JSON body).

use super::DomainError;

/// Whether `text`, a number as written, names a nonzero value that `parsed` (what a
/// parser made of it) does not hold as a normal f64: it came out as 0 (`1e-400`) or as
/// a subnormal (`1e-310`).
pub fn underflows(text: &str, parsed: f64) -> bool {
    parsed.is_subnormal() || (parsed == 0.0 && nonzero_mantissa(text))
}

/// Whether the digits before any exponent hold something other than zeros.
fn nonzero_mantissa(text: &str) -> bool {
    let t = text.trim();
    let mantissa = t.split(['e', 'E']).next().unwrap_or("");
    mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// The refusal of a number too close to zero.
pub fn too_small(field: &str, text: &str) -> DomainError {
    DomainError::invalid(
        field,
        format!(
            "{field} {text} is too close to zero to be stored exactly (the smallest is {:e}); refused rather than rounded",
            f64::MIN_POSITIVE
        ),
    )
}

/// Checks what a parser made of `text`: a finite number, not an underflow.
pub fn checked(field: &str, text: &str, parsed: f64) -> Result<f64, DomainError> {
    if underflows(text, parsed) {
        return Err(too_small(field, text.trim()));
    }
    super::finite(field, parsed)
}

/// Parses a number in Rust's syntax (`63`, `-1.5`, `2.1e3`), refusing what is not a
/// finite number or underflows.
pub fn parse(field: &str, text: &str) -> Result<f64, DomainError> {
    let v: f64 = text.trim().parse().map_err(|_| {
        DomainError::invalid(
            field,
            format!(
                "'{}' is not a number",
                text.chars().take(30).collect::<String>()
            ),
        )
    })?;
    checked(field, text, v)
}

/// Refuses a JSON text holding a number that underflows, naming the key it is the
/// value of (or of whose array it is part). One pass over the bytes: strings are
/// skipped, and outside them only numbers have digits. Malformed JSON is left to the
/// JSON parser to report.
pub fn json_numbers(json: &[u8]) -> Result<(), DomainError> {
    let n = json.len();
    let mut i = 0;
    let mut last_string = (0, 0);
    let mut key = None;
    while i < n {
        match json[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < n && json[i] != b'"' {
                    if json[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_string = (start, i.min(n));
                i += 1;
            }
            b':' => {
                key = Some(last_string);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < n && matches!(json[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                // Only ASCII was taken.
                let text = std::str::from_utf8(&json[start..i]).unwrap_or("");
                if let Ok(v) = text.parse::<f64>() {
                    if underflows(text, v) {
                        let field = key.map_or_else(
                            || "value".to_string(),
                            |(a, b)| String::from_utf8_lossy(&json[a..b]).into_owned(),
                        );
                        return Err(too_small(&field, text));
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// What a value cell of a spreadsheet says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// A number, as the cell shows it (8% in a cell of a % indicator is 8).
    Number(f64),
    /// A mark offices write for "no figure" (—, －, /, 无): the row has no value.
    Blank,
}

/// The marks offices write in a cell that has no figure.
const BLANK_MARKS: [&str; 11] = [
    "—", "——", "–", "-", "--", "/", "\\", "无", "暂无", "空", "…",
];

/// Reads a value cell as Excel and a Chinese input method write it: full-width digits
/// and signs (`１２.５`, `－3`), thousands separators (`1,234.5`, `1，234`), a trailing
/// `%` for an indicator measured in % (8% is 8), and the blank marks of
/// [`BLANK_MARKS`]. Anything else is refused with a message naming what was written.
pub fn parse_cell(text: &str, unit: &str) -> Result<Cell, super::messages::Msg> {
    use super::messages::{self, Msg};
    let normal = super::text::half_width(text);
    let t = normal.trim();
    if BLANK_MARKS.contains(&t) {
        return Ok(Cell::Blank);
    }
    let t = match t.strip_suffix('%') {
        Some(body) if unit == "%" => body.trim(),
        Some(_) => {
            let shown = text.trim();
            return Err(Msg::new(
                format!("“{shown}”带百分号，但本指标的计量单位是“{unit}”：请只填数字"),
                format!("'{shown}' has a percent sign, but this indicator is measured in {unit}: write the number alone"),
            ));
        }
        None => t,
    };
    // Digits, a sign, a point and an exponent only: Rust would also read "inf" and "NaN".
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b',' | b'e' | b'E'))
    {
        return Err(messages::not_a_number(text));
    }
    let plain: String = if t.contains(',') {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = int.trim_start_matches(['-', '+']);
        let groups: Vec<&str> = digits.split(',').collect();
        let ok = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(messages::not_a_number(text));
        }
        let sign = &int[..int.len() - digits.len()];
        let mut s = format!("{sign}{}", groups.concat());
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        s
    } else {
        t.to_string()
    };
    match plain.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Cell::Number(v)),
        _ => Err(messages::not_a_number(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_as_excel_and_a_chinese_input_method_write_them() {
        let n = |t: &str, unit: &str| parse_cell(t, unit).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(n("12.5", "亿元"), Cell::Number(12.5));
        assert_eq!(n("１２.５", "亿元"), Cell::Number(12.5));
        assert_eq!(n("１２．５", "亿元"), Cell::Number(12.5));
        assert_eq!(n("－3", "%"), Cell::Number(-3.0));
        assert_eq!(n("-3", "%"), Cell::Number(-3.0));
        assert_eq!(n("+4.5", "%"), Cell::Number(4.5));
        assert_eq!(n("1,234.5", "万元"), Cell::Number(1234.5));
        assert_eq!(n("１，２３４", "万元"), Cell::Number(1234.0));
        assert_eq!(n("-12,345,678", "万元"), Cell::Number(-12_345_678.0));
        assert_eq!(n("8%", "%"), Cell::Number(8.0));
        assert_eq!(n("8 ％", "%"), Cell::Number(8.0));
        assert_eq!(n(" 63 ", "家"), Cell::Number(63.0));
        assert_eq!(n("\u{3000}63\u{3000}", "家"), Cell::Number(63.0));
        assert_eq!(n("2.1e3", "人"), Cell::Number(2100.0));
        for blank in ["—", "——", "－", "-", "--", "/", "／", "无", "暂无", " — "] {
            assert_eq!(n(blank, "%"), Cell::Blank, "{blank}");
        }
    }

    #[test]
    fn a_cell_that_is_not_a_number_says_what_was_written() {
        for bad in [
            "abc", "12.5亿", "1,23", "1,2345", "inf", "NaN", "1..2", "约8", "8%%",
        ] {
            let e = parse_cell(bad, "%").unwrap_err();
            assert!(e.zh.contains("不是数字"), "{bad}: {}", e.zh);
            assert!(e.en.contains("is not a number"), "{bad}: {}", e.en);
            assert!(e.zh.contains(bad.trim()), "{bad}: {}", e.zh);
        }
        let e = parse_cell("8%", "亿元").unwrap_err();
        assert!(
            e.zh.contains("带百分号") && e.zh.contains("亿元"),
            "{}",
            e.zh
        );
    }

    #[test]
    fn underflowing_and_subnormal_numbers_are_refused_and_zero_is_not() {
        // Each of these would be stored as 0 or as fewer digits than were written.
        for text in [
            "1e-400",
            "-1e-400",
            "0.5e-330",
            "1e-310",
            "2.2e-308",
            "4.9e-324",
            "0.000000000000000000000000000000000001e-300",
        ] {
            let e = parse("value", text).unwrap_err();
            assert_eq!(e.field(), "value");
            assert!(e.message().contains("too close to zero"), "{text}: {e}");
        }
        // Zeros however written, the smallest normal number, and ordinary figures.
        for (text, want) in [
            ("0", 0.0),
            ("-0", -0.0),
            ("0.000", 0.0),
            ("0e-400", 0.0),
            ("00.0E5", 0.0),
            ("2.2250738585072014e-308", f64::MIN_POSITIVE),
            ("63", 63.0),
            ("1e-300", 1e-300),
            ("-2.5", -2.5),
        ] {
            assert_eq!(parse("value", text).unwrap(), want, "{text}");
        }
        assert!(parse("value", "1e400").is_err());
        assert!(parse("value", "NaN").is_err());
        assert!(parse("value", "x").is_err());
    }

    #[test]
    fn a_json_number_that_underflows_is_refused_under_its_key() {
        let e = json_numbers(br#"{"note": "1e-400 in a string is text", "value": 1e-400}"#)
            .unwrap_err();
        assert_eq!(e.field(), "value");
        assert!(
            e.message().starts_with("value 1e-400 is too close to zero"),
            "{e}"
        );
        let e = json_numbers(br#"[{"indicator":"a","value":1},{"value":-4e-320}]"#).unwrap_err();
        assert_eq!(e.field(), "value");
        let e = json_numbers(br#"{"profile": [0.1, 1e-999, 1.0]}"#).unwrap_err();
        assert_eq!(e.field(), "profile");
        let e = json_numbers(br#"{"target": {"value": 5e-324}}"#).unwrap_err();
        assert_eq!(e.field(), "value");
        for ok in [
            &br#"{"value": 0, "x": -0.0, "y": 1e-300, "z": "1e-400", "w\"1e-400": 2}"#[..],
            br#"{"value": 0e-999}"#,
            b"[1, 2, 3]",
            b"{\"broken\": ",
            b"",
        ] {
            assert!(json_numbers(ok).is_ok(), "{}", String::from_utf8_lossy(ok));
        }
    }
}
