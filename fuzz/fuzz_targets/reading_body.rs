//! Any bytes as the body of `PUT /v1/indicators/{id}/readings/{period}`: accepted or
//! refused with a reason, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(why) = zhibiao::api::parse_reading_body(data) {
        assert!(!why.is_empty());
    }
});
