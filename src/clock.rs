//! The one clock: "now", "today" and "this month" in one configured time zone.
//!
//! A county's day starts at midnight where the county is, not in UTC: a figure for
//! June may be submitted from 1 July 00:00 in Asia/Shanghai, which is still 30 June
//! in UTC, and the 催报 list of 11 July is the list of 11 July in the county. Before
//! this module, three places each had their own idea of today (UTC for future
//! periods, a hard-coded UTC+8 for the calendar, `--remind-tz` for the daily run);
//! now every route, the calendar, the notices and the daily run ask one [`Clock`],
//! set from one `--tz` (default Asia/Shanghai).
//!
//! The engine never reads it: its functions take the day or the `as_of` as a
//! parameter. Tests build a [`Clock::fixed`] clock, so no test decides what it
//! asserts from the wall clock.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::{DomainError, Period};

/// The default zone: where the plans zhibiao carries are made.
pub const DEFAULT_TZ: Tz = chrono_tz::Asia::Shanghai;

/// Where "now" comes from.
#[derive(Clone)]
enum Source {
    /// The system's wall clock.
    System,
    /// A fixed instant (tests, replays).
    Fixed(DateTime<Utc>),
    /// Any function (tests that move time forward).
    Func(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>),
}

/// "Now" and the zone that turns it into a local day and month. Cheap to clone.
#[derive(Clone)]
pub struct Clock {
    source: Source,
    tz: Tz,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::System => "system".to_string(),
            Source::Fixed(t) => format!("fixed at {t}"),
            Source::Func(_) => "function".to_string(),
        };
        f.debug_struct("Clock")
            .field("source", &source)
            .field("tz", &self.tz)
            .finish()
    }
}

impl Default for Clock {
    /// The wall clock in [`DEFAULT_TZ`].
    fn default() -> Clock {
        Clock::system(DEFAULT_TZ)
    }
}

impl Clock {
    /// The wall clock, read in `tz`.
    pub fn system(tz: Tz) -> Clock {
        Clock {
            source: Source::System,
            tz,
        }
    }

    /// A clock that always says `at`.
    pub fn fixed(at: DateTime<Utc>, tz: Tz) -> Clock {
        Clock {
            source: Source::Fixed(at),
            tz,
        }
    }

    /// A clock that asks `f` each time.
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static, tz: Tz) -> Clock {
        Clock {
            source: Source::Func(Arc::new(f)),
            tz,
        }
    }

    /// The same source in another zone.
    pub fn with_tz(mut self, tz: Tz) -> Clock {
        self.tz = tz;
        self
    }

    /// Parses an IANA zone name, with an error that names the option.
    pub fn parse_tz(name: &str) -> Result<Tz, String> {
        name.parse::<Tz>()
            .map_err(|_| format!("'{name}' is not a time zone name such as Asia/Shanghai"))
    }

    /// The configured zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The current instant (audit rows, delivery times).
    pub fn now(&self) -> DateTime<Utc> {
        match &self.source {
            Source::System => Utc::now(),
            Source::Fixed(t) => *t,
            Source::Func(f) => f(),
        }
    }

    /// The current instant in the configured zone.
    pub fn local_now(&self) -> DateTime<Tz> {
        self.now().with_timezone(&self.tz)
    }

    /// Today, in the configured zone.
    pub fn today(&self) -> NaiveDate {
        self.local_now().date_naive()
    }

    /// The current month, in the configured zone. It has not ended yet, so no
    /// figure can be reported for it.
    pub fn this_month(&self) -> Period {
        month_of(self.today())
    }

    /// Refuses periods that have not ended yet: the current month and later, saying
    /// when the period ends.
    pub fn check_ended(&self, p: Period) -> Result<(), DomainError> {
        check_ended(p, self.today())
    }
}

/// The month of a day, as a period (years outside 1990–9999 are clamped).
fn month_of(day: NaiveDate) -> Period {
    Period::new(day.year().clamp(1990, 9999) as u16, day.month() as u8)
        .unwrap_or_else(|_| Period::new(1990, 1).expect("1990-01 is a valid period"))
}

/// Refuses `p` when it has not ended by `today`, that is, when it is the month of
/// `today` or later: a year-to-date figure cannot be reported before its period ends.
pub fn check_ended(p: Period, today: NaiveDate) -> Result<(), DomainError> {
    let current = month_of(today);
    if p >= current {
        let end = last_day(p);
        return Err(DomainError::said(
            "period",
            crate::domain::messages::Msg::new(
                format!(
                    "{}年{}月还没有结束（{}结束，今天是{}）：数据在报告期结束后报送",
                    p.year(),
                    p.month(),
                    end.format("%Y年%-m月%-d日"),
                    today.format("%Y年%-m月%-d日")
                ),
                format!("{p} has not ended yet: it ends on {end} (today is {today}); readings are submitted after the period ends"),
            ),
        ));
    }
    Ok(())
}

/// The last day of a period's month.
fn last_day(p: Period) -> NaiveDate {
    let (y, m) = (i32::from(p.year()), u32::from(p.month()));
    let first_of_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    first_of_next
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn today_is_the_local_day_of_the_configured_zone() {
        // 16:30 UTC on 30 June is 00:30 on 1 July in Shanghai, still 30 June in Berlin.
        let at = utc("2023-06-30T16:30:00Z");
        assert_eq!(
            Clock::fixed(at, chrono_tz::Asia::Shanghai).today(),
            NaiveDate::from_ymd_opt(2023, 7, 1).unwrap()
        );
        assert_eq!(
            Clock::fixed(at, chrono_tz::Europe::Berlin).today(),
            NaiveDate::from_ymd_opt(2023, 6, 30).unwrap()
        );
        assert_eq!(
            Clock::fixed(at, chrono_tz::Asia::Shanghai).this_month(),
            "2023-07".parse::<Period>().unwrap()
        );
    }

    #[test]
    fn the_current_month_and_later_are_refused_saying_when_they_end() {
        let c = Clock::fixed(utc("2023-07-15T02:00:00Z"), DEFAULT_TZ);
        assert!(c.check_ended("2023-06".parse().unwrap()).is_ok());
        let e = c.check_ended("2023-07".parse().unwrap()).unwrap_err();
        assert!(e.message().contains("2023年7月31日结束"), "{e}");
        assert!(e.message_en().contains("ends on 2023-07-31"), "{e}");
        let e = c.check_ended("2023-08".parse().unwrap()).unwrap_err();
        assert!(e.message().contains("2023年8月还没有结束"), "{e}");
        // A quarter ends with its last month.
        let e = c.check_ended("2023-Q3".parse().unwrap()).unwrap_err();
        assert!(e.message().contains("2023年9月30日结束"), "{e}");
        let dec = Clock::fixed(utc("2023-12-31T15:00:00Z"), DEFAULT_TZ);
        // 23:00 on 31 December in Shanghai: December has not ended.
        assert!(dec.check_ended("2023-12".parse().unwrap()).is_err());
        assert!(dec.check_ended("2023-11".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_bad_zone_name_is_an_error_naming_it() {
        assert!(Clock::parse_tz("Asia/Shanghai").is_ok());
        let e = Clock::parse_tz("Mars/Olympus").unwrap_err();
        assert!(e.contains("Mars/Olympus"));
    }
}
