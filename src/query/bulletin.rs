//! The bulletins (月通报 and 季总结) from the store: the home region's board at `as_of`,
//! and for a quarter-end summary the board at the previous quarter end of the same
//! year, rendered in the format asked, issued as the region's bulletin settings say
//! (发文单位, 文号, 落款; `region_settings`) on the date given. The API's
//! `/v1/reports/{kind}` and the CLI's `report` both come here; each passes the issue
//! date, asked for or today from the one clock.

use chrono::NaiveDate;

use super::{Queries, QueryError, Result};
use crate::domain::Period;
use crate::report::bulletin::{self, BulletinError, Format, Issue, Kind};

/// A rendered bulletin and the names to save it under.
#[derive(Debug, Clone)]
pub struct BulletinFile {
    pub bytes: Vec<u8>,
    /// The name an office would give it: 桃江县2023年6月重点指标监测通报.docx
    pub file_name: String,
    /// The ASCII name for clients that take no other: bulletin-2023-06.docx
    pub ascii_file_name: String,
}

impl Queries {
    /// The bulletin of `kind` at `as_of` in `format`, issued on `date`.
    pub fn bulletin(
        &self,
        kind: Kind,
        as_of: Period,
        format: Format,
        date: NaiveDate,
    ) -> Result<BulletinFile> {
        let b = self.home_board(as_of)?;
        let previous = match kind {
            Kind::Quarterly if as_of.month() > 3 => {
                Some(self.home_board(Period::new(as_of.year(), as_of.month() - 3)?)?)
            }
            _ => None,
        };
        let settings = self.store().region_settings(&b.region)?;
        let issue = Issue::new(&b, settings.as_ref(), date);
        let bytes = bulletin::render(&b, kind, previous.as_deref(), format, &issue).map_err(
            |e| match e {
                BulletinError::NotQuarterEnd { .. } => QueryError::invalid("as_of", e.to_string()),
                other => QueryError::Internal(Box::new(other)),
            },
        )?;
        Ok(BulletinFile {
            bytes,
            file_name: bulletin::file_name(&b, kind, format),
            ascii_file_name: bulletin::ascii_file_name(&b, kind, format),
        })
    }
}
