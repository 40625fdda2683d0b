//! The monthly bulletin (月通报) and its quarter-end variant (季总结).
//!
//! [`render`] turns a [`Board`] into a bulletin in Markdown, HTML, CSV, Word or Excel.
//! Every format carries the same content, in Chinese:
//!
//! - the head of a government document (公文): the 发文单位, the 文号 when the office
//!   numbers its bulletins, and the issue date (成文日期); then the title
//!   ("桃江县2023年6月重点指标监测通报", or "桃江县2023年第2季度重点指标监测总结"), the plan
//!   document in a 依据 line and "数据截至2023年6月";
//! - an overview: counts by status over all indicators, and per group of the plan;
//! - one section per group of the plan (the 六仗 of Taojiang's), in the plan's order: the
//!   attainment table (指标, 牵头单位, 目标, 实际, 完成率, 序时进度, 偏差, 状态), then the
//!   lists of indicators 未达序时进度, 严重滞后, 未完成 and 暂无数据 with their lead units
//!   and what the rest of the year needs;
//! - for the quarterly variant, given the board at the previous quarter end, a column
//!   "上季末完成率/状态" and a section comparing the two;
//! - at the end, the 落款 and the issue date.
//!
//! Who issues the bulletin and when is an [`Issue`]: the caller gives the date (the
//! query layer takes today from the one clock unless a date is asked for). Rendering
//! is pure and deterministic: no clock, no random ids. The Word and Excel files carry
//! the issue date as their creation date, so the same board and issue always give the
//! same bytes.
//!
//! This file is the bulletin's entry: its formats, kinds and errors, and [`render`],
//! which builds the *model* once (`model.rs`: what the bulletin says, from a [`Board`]:
//! titles, counts, table cells, the sentences of lagging indicators, the quarterly
//! comparison) and hands it to one output format, each in its own file: `markdown.rs`,
//! `html.rs`, `csv_table.rs`, `word.rs` (docx) and `excel.rs` (xlsx). A format never
//! decides what the bulletin says, so the formats cannot drift apart; they import the
//! model and nothing above it. Numbers, periods, targets and the clauses of lagging
//! sentences are worded in [`crate::text`].

use std::str::FromStr;

use chrono::NaiveDate;

use super::Board;
use crate::domain::{Period, RegionSettings};
use crate::text::bulletin as words;
use crate::text::Lang;

mod csv_table;
mod excel;
mod html;
mod markdown;
mod model;
mod word;

use model::Model;

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

/// Who issues a bulletin and when: what the head and the end of the document say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// 发文单位: 桃江县统计局.
    pub issuer: String,
    /// The whole 文号 (桃统通〔2023〕6号), or none: no 文号 line is printed.
    pub doc_number: Option<String>,
    /// 落款: who signs at the end.
    pub signature: String,
    /// The issue date (成文日期), at the head and under the 落款.
    pub date: NaiveDate,
}

impl Issue {
    /// The issue of `board`'s bulletin on `date`. With the region's `settings`: their
    /// issuer and 落款, and a 文号 when they give a 机关代字: the 代字, the year of
    /// `as_of` in 〔〕 and the month as the number (the bulletin of June 2023 is
    /// 桃统通〔2023〕6号; the quarter-end summary stands in for its month's bulletin and
    /// takes its number). Without: “{region}统计局”, the office that keeps the figures,
    /// signed by itself, and no 文号 (a number nobody assigned would be false). The plan's
    /// own issuer is not borrowed: the office that issued the plan did not issue the
    /// bulletin, and the plan appears only in the 依据 line.
    pub fn new(board: &Board, settings: Option<&RegionSettings>, date: NaiveDate) -> Issue {
        let lang = Lang::default();
        match settings {
            Some(s) => Issue {
                issuer: s.issuer.clone(),
                doc_number: s.doc_number_prefix.as_deref().map(|p| {
                    words::doc_number(lang, p, board.as_of.year(), u32::from(board.as_of.month()))
                }),
                signature: s.signature().to_string(),
                date,
            },
            None => {
                let issuer = words::default_issuer(lang, &board.region);
                Issue {
                    signature: issuer.clone(),
                    issuer,
                    doc_number: None,
                    date,
                }
            }
        }
    }
}

/// Renders the bulletin of `board`.
///
/// `previous` is the board at the previous quarter end; only the quarterly variant uses
/// it (for the "上季末完成率/状态" column and the comparison section). A quarterly bulletin
/// needs an `as_of` at a quarter end (March, June, September or December). `issue`
/// names the issuer, 文号, 落款 and date.
pub fn render(
    board: &Board,
    kind: Kind,
    previous: Option<&Board>,
    format: Format,
    issue: &Issue,
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
    let model = Model::new(
        board,
        kind == Kind::Quarterly,
        previous,
        issue,
        Lang::default(),
    );
    match format {
        Format::Markdown => Ok(markdown::render(&model).into_bytes()),
        Format::Html => Ok(html::render(&model).into_bytes()),
        Format::Csv => csv_table::render(&model).map_err(BulletinError::Csv),
        Format::Docx => word::render(&model).map_err(BulletinError::Docx),
        Format::Xlsx => excel::render(&model).map_err(BulletinError::from),
    }
}

/// The bulletin's title: “桃江县2023年6月重点指标监测通报”, “桃江县2023年第2季度重点指标监测总结”.
pub fn title(board: &Board, kind: Kind) -> String {
    let lang = Lang::default();
    match kind {
        Kind::Quarterly => words::quarterly_title(lang, &board.region, board.as_of),
        Kind::Monthly => words::monthly_title(lang, &board.region, board.as_of),
    }
}

/// The file name an office would give the bulletin: its title and the format's
/// extension, “桃江县2023年6月重点指标监测通报.docx”. Characters that no file system
/// takes (`/ \ : * ? " < > |`, control characters) become `_`.
pub fn file_name(board: &Board, kind: Kind, format: Format) -> String {
    let name: String = title(board, kind)
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    format!("{name}.{}", format.extension())
}

/// An ASCII file name for the bulletin: `bulletin-2023-06.md`, `bulletin-2023-Q2.xlsx`,
/// for the plain `filename=` of a `Content-Disposition` header and the clients that
/// read no other.
pub fn ascii_file_name(board: &Board, kind: Kind, format: Format) -> String {
    let y = board.as_of.year();
    let m = board.as_of.month();
    match kind {
        Kind::Quarterly if m % 3 == 0 => {
            format!("bulletin-{y}-Q{}.{}", m / 3, format.extension())
        }
        _ => format!("bulletin-{y}-{m:02}.{}", format.extension()),
    }
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

    fn board(region: &str) -> Board {
        Board {
            as_of: period(2023, 6),
            region: region.into(),
            document: String::new(),
            plan: None,
            groups: crate::domain::six_battles(),
            rows: vec![],
        }
    }

    #[test]
    fn file_names_are_the_title_and_an_ascii_fallback() {
        let board = board("桃江县");
        assert_eq!(
            file_name(&board, Kind::Monthly, Format::Docx),
            "桃江县2023年6月重点指标监测通报.docx"
        );
        assert_eq!(
            file_name(&board, Kind::Quarterly, Format::Markdown),
            "桃江县2023年第2季度重点指标监测总结.md"
        );
        assert_eq!(
            ascii_file_name(&board, Kind::Monthly, Format::Docx),
            "bulletin-2023-06.docx"
        );
        assert_eq!(
            ascii_file_name(&board, Kind::Quarterly, Format::Markdown),
            "bulletin-2023-Q2.md"
        );
        assert_eq!(
            file_name(&self::board("a/b:县"), Kind::Monthly, Format::Html),
            "a_b_县2023年6月重点指标监测通报.html"
        );
    }

    #[test]
    fn an_issue_without_settings_says_nothing_it_does_not_know() {
        let date = NaiveDate::from_ymd_opt(2023, 7, 12).unwrap();
        let mut b = board("临湘市");
        let issue = Issue::new(&b, None, date);
        assert_eq!(issue.issuer, "临湘市统计局");
        assert_eq!(issue.signature, "临湘市统计局");
        assert_eq!(issue.doc_number, None);

        b.plan = Some(crate::domain::Plan {
            id: crate::domain::PlanId::parse("linxiang-2023").unwrap(),
            region: "临湘市".into(),
            year: 2023,
            title: "临湘市2023年主要指标责任分解方案".into(),
            doc_number: String::new(),
            issuer: "临湘市人民政府办公室".into(),
            groups: vec![],
        });
        // The plan's issuer did not issue the bulletin: it is not borrowed.
        assert_eq!(Issue::new(&b, None, date).issuer, "临湘市统计局");

        let s = RegionSettings::new("临湘市统计局", Some("临统通"), Some("临湘市统计局办公室"))
            .unwrap();
        let issue = Issue::new(&b, Some(&s), date);
        assert_eq!(issue.issuer, "临湘市统计局");
        assert_eq!(issue.doc_number.as_deref(), Some("临统通〔2023〕6号"));
        assert_eq!(issue.signature, "临湘市统计局办公室");
        assert_eq!(issue.date, date);
    }
}
