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
    /// English: reads as Chinese until its texts are written.
    En,
}

/// The placeholder for a figure that is missing or undefined.
pub const DASH: &str = "—";
