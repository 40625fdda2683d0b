//! The monthly bulletin (月通报) and its quarter-end variant (季总结).
//!
//! [`render`] turns a [`Board`] into a bulletin in Markdown, HTML, CSV, Word or Excel.
//! Every format carries the same content, in Chinese:
//!
//! - the title ("桃江县打好发展“六仗”主要指标2023年6月通报", or "…2023年第2季度总结"),
//!   the plan document and "数据截至2023年6月";
//! - an overview: counts by status over all indicators, and per group of the plan;
//! - one section per group of the plan (the 六仗 of Taojiang's), in the plan's order: the
//!   attainment table (指标, 牵头单位, 目标, 实际, 完成率, 序时进度, 偏差, 状态), then the
//!   lists of indicators 未达序时进度, 严重滞后, 未完成 and 暂无数据 with their lead units
//!   and what the rest of the year needs;
//! - for the quarterly variant, given the board at the previous quarter end, a column
//!   "上季末完成率/状态" and a section comparing the two.
//!
//! Rendering is pure and deterministic: no clock, no random ids. The Word and Excel
//! files carry a fixed creation date (the last day of `as_of`'s month), so the same
//! board always gives the same bytes.
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

use super::Board;
use crate::domain::Period;
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

/// Renders the bulletin of `board`.
///
/// `previous` is the board at the previous quarter end; only the quarterly variant uses
/// it (for the "上季末完成率/状态" column and the comparison section). A quarterly bulletin
/// needs an `as_of` at a quarter end (March, June, September or December).
pub fn render(
    board: &Board,
    kind: Kind,
    previous: Option<&Board>,
    format: Format,
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
    let model = Model::new(board, kind == Kind::Quarterly, previous, Lang::default());
    match format {
        Format::Markdown => Ok(markdown::render(&model).into_bytes()),
        Format::Html => Ok(html::render(&model).into_bytes()),
        Format::Csv => csv_table::render(&model).map_err(BulletinError::Csv),
        Format::Docx => word::render(&model).map_err(BulletinError::Docx),
        Format::Xlsx => excel::render(&model).map_err(BulletinError::from),
    }
}

/// A file name for the bulletin: `bulletin-2023-06.md`, `bulletin-2023-Q2.xlsx`.
/// ASCII only, so it fits a `Content-Disposition` header as is.
pub fn file_name(board: &Board, kind: Kind, format: Format) -> String {
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

    #[test]
    fn file_names_are_ascii() {
        let board = Board {
            as_of: period(2023, 6),
            region: "桃江县".into(),
            document: String::new(),
            plan: None,
            groups: crate::domain::six_battles(),
            rows: vec![],
        };
        assert_eq!(
            file_name(&board, Kind::Monthly, Format::Docx),
            "bulletin-2023-06.docx"
        );
        assert_eq!(
            file_name(&board, Kind::Quarterly, Format::Markdown),
            "bulletin-2023-Q2.md"
        );
    }
}
