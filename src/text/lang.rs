//! The reader's language, and the one mark every language shares. Its own file so that
//! every wording file imports it from here and none imports the module that re-exports
//! them.

use serde::{Deserialize, Serialize};

/// The reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Simplified Chinese (zh-CN), every text's language today.
    #[default]
    Zh,
    /// English: messages about what was sent (errors, row errors, skips) are written
    /// in it; reports and sentences read as Chinese until their texts are written.
    En,
}

impl Lang {
    /// The language an `Accept-Language` header prefers among the two zhibiao writes:
    /// English only when an `en` tag outranks every `zh` tag (by q, then by order);
    /// Chinese otherwise, and for a missing or unreadable header.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") || tag == "*" {
                Lang::Zh
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    /// Whether texts are to be written in English.
    pub fn is_en(self) -> bool {
        self == Lang::En
    }
}

/// The placeholder for a figure that is missing or undefined.
pub const DASH: &str = "—";

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn accept_language_picks_english_only_when_it_is_preferred() {
        assert_eq!(Lang::from_accept_language("en"), Lang::En);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("fr, en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.3, zh;q=0.7"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::Zh);
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Zh);
    }
}
