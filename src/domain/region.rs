//! Regions (地区): the county whose plan is tracked, its peers, and the city and
//! province above them.
//!
//! A store can hold the plans of several regions. Indicators of different regions that
//! measure the same thing share a `code` (such as `gdp-growth`), so a county can be set
//! against its city's and province's figures (benchmarks) and ranked among the other
//! counties of its city. Regions are registered with their parent, which is what
//! "全市" in "居全市第3位" means.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest accepted region name, in characters.
pub const MAX_REGION_CHARS: usize = 32;

macro_rules! region_level {
    ($($variant:ident => $text:literal, $zh:literal),+ $(,)?) => {
        /// The administrative level of a region.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RegionLevel { $($variant),+ }

        impl RegionLevel {
            pub fn as_str(self) -> &'static str {
                match self { $(RegionLevel::$variant => $text),+ }
            }

            /// How a notice names the whole of a region of this level: 全省, 全市, 全县.
            pub fn whole_zh(self) -> &'static str {
                match self { $(RegionLevel::$variant => $zh),+ }
            }
        }

        impl std::str::FromStr for RegionLevel {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, DomainError> {
                match s {
                    $($text => Ok(RegionLevel::$variant),)+
                    other => Err(DomainError::invalid(
                        "level",
                        format!("'{other}' is not one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

region_level!(
    Province => "province", "全省",
    City => "city", "全市",
    County => "county", "全县",
);

/// One region, with the region it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// The canonical name, e.g. 桃江县.
    pub name: String,
    pub level: RegionLevel,
    /// e.g. 益阳市 for 桃江县; `None` at the top.
    pub parent: Option<String>,
}

impl Region {
    pub fn validate(&self) -> Result<(), DomainError> {
        region_name("name", &self.name)?;
        if let Some(p) = &self.parent {
            region_name("parent", p)?;
            if p == &self.name {
                return Err(DomainError::invalid(
                    "parent",
                    format!("'{p}' cannot be its own parent"),
                ));
            }
        }
        Ok(())
    }

    /// How a notice names this region when comparing against it: 全市 for a city,
    /// 全省 for a province, the name itself for a county.
    pub fn label_zh(&self) -> String {
        match self.level {
            RegionLevel::County => self.name.clone(),
            level => level.whole_zh().to_string(),
        }
    }
}

/// Longest 发文单位, 落款 or 机关代字, in characters.
pub const MAX_OFFICE_CHARS: usize = 40;

/// How a region's bulletins are issued, as a government document (公文) is: the
/// 发文单位 at the head, the 机关代字 of the 文号 when the office numbers its bulletins,
/// and the 落款 at the end. Kept in its own tree, beside the region, so that a
/// [`Region`] as stored keeps its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSettings {
    /// 发文单位: 桃江县统计局
    pub issuer: String,
    /// The 文号's 机关代字: 桃统通. The bulletin adds the year in 〔〕 and its number
    /// (桃统通〔2023〕6号), so the setting does not go stale with the year. `None`: the
    /// bulletin prints no 文号.
    pub doc_number_prefix: Option<String>,
    /// 落款: who signs at the end; `None` signs with the issuer.
    pub signature: Option<String>,
}

impl RegionSettings {
    /// Checked settings: the issuer is required; an empty prefix or signature is none.
    /// A refusal names the field (`issuer`, `doc_number_prefix`, `signature`) and says
    /// why in Chinese.
    pub fn new(
        issuer: &str,
        doc_number_prefix: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Self, DomainError> {
        let issuer = office_text("issuer", issuer)?.ok_or_else(|| {
            DomainError::invalid("issuer", "发文单位（issuer）不能为空，如：桃江县统计局")
        })?;
        let doc_number_prefix = match doc_number_prefix {
            None => None,
            Some(p) => office_text("doc_number_prefix", p)?,
        };
        if let Some(p) = &doc_number_prefix {
            if p.ends_with('号') || p.chars().any(|c| "〔〕[]［］()（）".contains(c)) {
                return Err(DomainError::invalid(
                    "doc_number_prefix",
                    format!(
                        "文号前缀（doc_number_prefix）只填机关代字，如“桃统通”；“{p}”带有年份或序号，年份〔2023〕和序号6号由通报按所报年月生成"
                    ),
                ));
            }
        }
        let signature = match signature {
            None => None,
            Some(s) => office_text("signature", s)?,
        };
        Ok(RegionSettings {
            issuer,
            doc_number_prefix,
            signature,
        })
    }

    /// The 落款: the signature, else the issuer.
    pub fn signature(&self) -> &str {
        self.signature.as_deref().unwrap_or(&self.issuer)
    }

    /// Checks settings read back or built by hand, as [`RegionSettings::new`] does.
    pub fn validate(&self) -> Result<(), DomainError> {
        let again = RegionSettings::new(
            &self.issuer,
            self.doc_number_prefix.as_deref(),
            self.signature.as_deref(),
        )?;
        if &again != self {
            return Err(DomainError::invalid(
                "issuer",
                "发文单位、文号前缀和落款的首尾不能有空格，也不能是空字符串",
            ));
        }
        Ok(())
    }
}

/// What a settings field is called in a message: “发文单位（issuer）”.
pub fn office_label(field: &str) -> &str {
    match field {
        "issuer" => "发文单位（issuer）",
        "doc_number_prefix" => "文号前缀（doc_number_prefix）",
        "signature" => "落款（signature）",
        other => other,
    }
}

/// A name of an office or a 机关代字: trimmed, `None` when blank, short, on one line,
/// nothing that disguises text.
fn office_text(field: &str, s: &str) -> Result<Option<String>, DomainError> {
    let label = office_label(field);
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let n = s.chars().count();
    if n > MAX_OFFICE_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("{label}最多{MAX_OFFICE_CHARS}个字，这里有{n}个字"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            format!("{label}只能写一行，不能含换行符或其他控制字符"),
        ));
    }
    if let Some((c, name)) = s
        .chars()
        .find_map(|c| super::text::is_disguising(c).map(|name| (c, name)))
    {
        return Err(DomainError::invalid(
            field,
            format!(
                "{label}含有不可见字符 U+{:04X}（{name}），会让文字显示得与实际不同，请删去",
                u32::from(c)
            ),
        ));
    }
    Ok(Some(s.to_string()))
}

/// Checks a region name: non-blank, short, no control characters or slashes, no bidi
/// controls or zero-width characters ([`super::text`]).
pub fn region_name(field: &str, s: &str) -> Result<(), DomainError> {
    if s.trim().is_empty() || s.trim() != s {
        return Err(DomainError::invalid(
            field,
            "a region name cannot be empty or start or end with spaces",
        ));
    }
    if s.chars().count() > MAX_REGION_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("a region name is at most {MAX_REGION_CHARS} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() || c == '/' || c == '\0') {
        return Err(DomainError::invalid(
            field,
            "a region name cannot hold control characters or '/'",
        ));
    }
    super::text::visible(field, s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_an_issuer_and_take_a_prefix_not_a_whole_number() {
        let s = RegionSettings::new(" 桃江县统计局 ", Some("桃统通"), Some("")).unwrap();
        assert_eq!(s.issuer, "桃江县统计局");
        assert_eq!(s.doc_number_prefix.as_deref(), Some("桃统通"));
        assert_eq!(s.signature, None);
        assert_eq!(s.signature(), "桃江县统计局");
        assert!(s.validate().is_ok());

        assert_eq!(
            RegionSettings::new("  ", None, None).unwrap_err().field(),
            "issuer"
        );
        for whole in [
            "桃统通〔2023〕6号",
            "桃统通〔2023〕",
            "桃统通[2023]",
            "桃统通6号",
        ] {
            let e = RegionSettings::new("桃江县统计局", Some(whole), None).unwrap_err();
            assert_eq!(e.field(), "doc_number_prefix", "{whole}");
            assert!(e.message().contains("只填机关代字"), "{}", e.message());
        }
        let e = RegionSettings::new("桃江县统计局", None, Some("县\u{202E}局")).unwrap_err();
        assert_eq!(e.field(), "signature");
        assert!(e.message().contains("U+202E"), "{}", e.message());
        let long = "局".repeat(MAX_OFFICE_CHARS + 1);
        assert_eq!(
            RegionSettings::new(&long, None, None).unwrap_err().field(),
            "issuer"
        );
        let e = RegionSettings::new("桃江县\n统计局", None, None).unwrap_err();
        assert_eq!(e.field(), "issuer");
    }
}
