//! Any bytes as a JSON-array batch: rows or a body error, never a panic. Rows are the
//! array's elements, numbered 1, 2, 3, … in order.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zhibiao::ingest::{decode, Cancel, Charset, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = decode(Format::Json, Charset::Detect, data, &Cancel::never()) else {
        return;
    };
    for (i, row) in rows.iter().enumerate() {
        let n = match row {
            Ok(r) => {
                assert!(r.json);
                r.row
            }
            Err(e) => e.row,
        };
        assert_eq!(n, i + 1, "{row:?}");
    }
});
