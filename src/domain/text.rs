//! Characters that make text read differently from what it holds.
//!
//! Bidi controls reorder what follows them: `U+202E` makes `"报告\u{202E}fdp.exe"` display as
//! "报告exe.pdf", and a note or a region name carrying one reads one way in a bulletin
//! and means another in a filter. Zero-width characters make two names that look the
//! same differ (`桃江县` and `桃江\u{200B}县`), so a filter or a ranking silently
//! misses one. Neither has any use in a statistic's name, unit, note or region, so
//! they are refused where such text comes in, with the code point named.

use super::DomainError;

/// Full-width digits, signs and letters as their ASCII forms, and the ideographic
/// space as a space: "１２.５" is "12.5", "－3" is "-3". Spreadsheets typed with a
/// Chinese input method are full of them.
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// `s` cut to `max` characters, with `…` where it was cut: for messages that quote
/// what was sent.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// The name of `c` when it is a bidi control or a zero-width character.
pub fn is_disguising(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        _ => return None,
    })
}

/// Refuses text holding a bidi control or a zero-width character, naming the field
/// and the first such code point.
pub fn visible(field: &str, s: &str) -> Result<(), DomainError> {
    match s
        .chars()
        .find_map(|c| is_disguising(c).map(|name| (c, name)))
    {
        None => Ok(()),
        Some((c, name)) => Err(DomainError::invalid(
            field,
            format!(
                "{field} contains U+{:04X} {name}, which can disguise text",
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_zero_width_characters_are_named() {
        let e = visible("note", "正常\u{202E}txt").unwrap_err();
        assert_eq!(e.field(), "note");
        assert_eq!(
            e.message(),
            "note contains U+202E RIGHT-TO-LEFT OVERRIDE, which can disguise text"
        );
        let e = visible("region", "桃江\u{200B}县").unwrap_err();
        assert_eq!(
            e.message(),
            "region contains U+200B ZERO WIDTH SPACE, which can disguise text"
        );
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200E}', '\u{200F}', '\u{061C}'])
            .chain('\u{200B}'..='\u{200D}')
            .chain(['\u{2060}', '\u{FEFF}'])
        {
            assert!(
                visible("name", &format!("a{c}b")).is_err(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn ordinary_text_of_every_script_passes() {
        for s in [
            "桃江县",
            "规上工业增加值增速",
            "万元/人",
            "同比增长 8%（初步数）",
            "Ünïcödé — “quotes”",
            "العربية",
            "emoji 📈",
        ] {
            assert!(visible("name", s).is_ok(), "{s}");
        }
    }
}
