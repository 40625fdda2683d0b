//! The bulletins (月通报 and 季总结) from the store: the home region's board at `as_of`,
//! and for a quarter-end summary the board at the previous quarter end of the same
//! year, rendered in the format asked. The API's `/v1/reports/{kind}` and the CLI's
//! `report` both come here.

use super::{Queries, QueryError, Result};
use crate::domain::Period;
use crate::report::bulletin::{self, BulletinError, Format, Kind};

impl Queries {
    /// The bulletin's bytes and its file name.
    pub fn bulletin(&self, kind: Kind, as_of: Period, format: Format) -> Result<(Vec<u8>, String)> {
        let b = self.home_board(as_of)?;
        let previous = match kind {
            Kind::Quarterly if as_of.month() > 3 => {
                Some(self.home_board(Period::new(as_of.year(), as_of.month() - 3)?)?)
            }
            _ => None,
        };
        let bytes =
            bulletin::render(&b, kind, previous.as_deref(), format).map_err(|e| match e {
                BulletinError::NotQuarterEnd { .. } => QueryError::invalid("as_of", e.to_string()),
                other => QueryError::Internal(Box::new(other)),
            })?;
        Ok((bytes, bulletin::file_name(&b, kind, format)))
    }
}
