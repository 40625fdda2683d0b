//! Any bytes as an NDJSON batch: rows or a body error, never a panic. Rows are numbered
//! by their line, so the numbers are at least 1 and strictly increasing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zhibiao::ingest::{decode, Cancel, Charset, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = decode(Format::Ndjson, Charset::Detect, data, &Cancel::never()) else {
        return;
    };
    let mut last = 0;
    for row in &rows {
        let n = match row {
            Ok(r) => {
                assert!(r.json);
                r.row
            }
            Err(e) => e.row,
        };
        assert!(n > last, "row {n} after row {last}: {row:?}");
        last = n;
    }
});
