//! Any bytes as a CSV batch, in each charset `text/csv` may declare (none: UTF-8 or GBK
//! detected; utf-8; gbk): the decoder answers rows or a body error, never panics, and
//! every row it reads is numbered as the spreadsheet shows it: the header is row 1, so
//! data rows start at 2, and each row comes after the one before.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zhibiao::ingest::{decode, Cancel, Charset, Format};

fuzz_target!(|data: &[u8]| {
    for charset in [Charset::Detect, Charset::Utf8, Charset::Gb18030] {
        let Ok(rows) = decode(Format::Csv, charset, data, &Cancel::never()) else {
            continue;
        };
        let mut last = 1;
        for row in &rows {
            let n = match row {
                Ok(r) => {
                    assert!(!r.json);
                    r.row
                }
                Err(e) => e.row,
            };
            assert!(n > last, "{charset:?}: row {n} after row {last}: {row:?}");
            last = n;
        }
    }
});
