//! Any string as a period: `Period::parse_with_form` must answer Ok or Err, never panic,
//! and whatever it accepts must survive its own display: parsing `display_as(form)`
//! names the same period, and displaying that again gives the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zhibiao::domain::{Period, PeriodForm, MAX_YEAR, MIN_YEAR};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((period, form)) = Period::parse_with_form(input) else {
        return;
    };
    assert!((MIN_YEAR..=MAX_YEAR).contains(&period.year()), "{input:?}");
    assert!((1..=12).contains(&period.month()), "{input:?}");

    let shown = period.display_as(form);
    let (again, again_form) = Period::parse_with_form(&shown)
        .unwrap_or_else(|e| panic!("{input:?} displays as {shown:?}, which does not parse: {e}"));
    assert_eq!(again, period, "{input:?} displays as {shown:?}");
    assert_eq!(again.display_as(again_form), shown, "{input:?}");
    // A form that cannot show this month falls back to the month, and says so.
    if shown == period.to_string() {
        assert_eq!(again_form, PeriodForm::Month, "{input:?}");
    }

    let canonical = period.to_string();
    assert_eq!(canonical.parse::<Period>().ok(), Some(period), "{input:?}");
});
