//! The reporting calendar (报送时间表): when each period's figure falls due, and which
//! are overdue (催报) on a given day.
//!
//! Pure, like the rest of the engine: the day is a parameter, never the clock. An
//! indicator's `frequency` says which periods are expected (every month, each quarter's
//! last month, December); a [`DueRule`] says how long after the period the figure is due.
//! The defaults follow the usual bureau practice: monthly figures by day 10 of the
//! following month, quarterly ones 15 days after the quarter, annual ones 60 days after
//! the year.

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::domain::{Frequency, Period};

pub use crate::domain::DueRule;

/// The last day of a period's month.
pub fn period_end(p: Period) -> NaiveDate {
    first_of_next_month(p)
        .pred_opt()
        .expect("a month after 1990 has a last day")
}

fn first_of_next_month(p: Period) -> NaiveDate {
    let (y, m) = if p.month() == 12 {
        (i32::from(p.year()) + 1, 1)
    } else {
        (i32::from(p.year()), u32::from(p.month()) + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("a valid first of month")
}

/// When the figure of `period` falls due under `rule`.
pub fn due_date(period: Period, rule: DueRule) -> NaiveDate {
    match rule {
        DueRule::DayOfNextMonth(d) => first_of_next_month(period)
            .with_day(u32::from(d.clamp(1, 28)))
            .expect("days 1 to 28 exist in every month"),
        DueRule::DaysAfterPeriodEnd(n) => period_end(period)
            .checked_add_days(Days::new(u64::from(n)))
            .expect("a due date within chrono's range"),
    }
}

/// Whether a figure is expected for `period` at this frequency: every month, each
/// quarter's last month, or December.
pub fn expected(frequency: Frequency, period: Period) -> bool {
    match frequency {
        Frequency::Monthly => true,
        Frequency::Quarterly => period.month() % 3 == 0,
        Frequency::Annual => period.month() == 12,
    }
}

/// One expected figure and its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Due {
    pub period: Period,
    pub due: NaiveDate,
}

/// The expected periods whose due date lies in `from..=to`, in due-date order.
pub fn due_between(
    frequency: Frequency,
    rule: DueRule,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Due> {
    let mut out = Vec::new();
    if from > to {
        return out;
    }
    // A figure is due at most this long after its period began; periods that began
    // earlier than that before `from` cannot fall due in the window.
    let reach = match rule {
        DueRule::DayOfNextMonth(_) => 62,
        DueRule::DaysAfterPeriodEnd(n) => u64::from(n) + 31,
    };
    let earliest = from.checked_sub_days(Days::new(reach)).unwrap_or(from);
    let first_year = u16::try_from(earliest.year()).unwrap_or(crate::domain::MIN_YEAR);
    let Ok(mut p) = Period::new(
        first_year.max(crate::domain::MIN_YEAR),
        earliest.month() as u8,
    ) else {
        return out;
    };
    // A figure is due on or after its period's last day, so no period ending after `to`
    // counts.
    while period_end(p) <= to {
        if expected(frequency, p) {
            let due = due_date(p, rule);
            if (from..=to).contains(&due) {
                out.push(Due { period: p, due });
            }
        }
        match next_month(p) {
            Some(n) => p = n,
            None => break,
        }
    }
    out.sort_by_key(|d| (d.due, d.period));
    out
}

fn next_month(p: Period) -> Option<Period> {
    if p.month() == 12 {
        Period::new(p.year().checked_add(1)?, 1).ok()
    } else {
        Period::new(p.year(), p.month() + 1).ok()
    }
}

/// Whether an answer's figure is in, overdue (逾期未报) or not yet due (未到报送期) on
/// the reporting date. Absent figures are not all missing: in a June bulletin the
/// quarterly figures of Q2 are due on 7-15 and the annual ones next year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// The latest figure due by the reporting date is in.
    Received,
    /// The latest figure due by the reporting date is not in: 逾期未报.
    Overdue,
    /// No figure of the year is due yet on the reporting date: 未到报送期.
    NotDue,
}

impl ReportState {
    pub fn label_zh(self) -> &'static str {
        match self {
            ReportState::Received => "已报送",
            ReportState::Overdue => "逾期未报",
            ReportState::NotDue => "未到报送期",
        }
    }
}

/// Where an indicator stands in the reporting calendar on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reporting {
    /// The reporting date it is judged on.
    pub on: NaiveDate,
    /// The figure in question: the latest expected period at or before `as_of` that is
    /// due by `on`, or, when none is, the year's first expected period.
    pub period: Period,
    /// When that figure is (or was) due.
    pub due: NaiveDate,
    pub state: ReportState,
}

/// Whether a figure due on `due` is past due on `on`. One rule for every answer that
/// tells received from 逾期未报 (attainment rows, summaries, bulletins, the 催报 list
/// and its notices): a figure may still be sent on its due day, so it is overdue from
/// the day after.
pub fn past_due(due: NaiveDate, on: NaiveDate) -> bool {
    due < on
}

/// The reporting date an answer about `as_of` is judged on when none is given: the
/// first day a monthly figure for `as_of` is overdue, the day after it falls due
/// (2023-07-11 for 2023-06, due 2023-07-10).
pub fn default_reporting_date(as_of: Period) -> NaiveDate {
    let due = due_date(as_of, DueRule::default_for(Frequency::Monthly));
    due.succ_opt().unwrap_or(due)
}

/// The reporting state of an indicator of `frequency` due under `rule`, for an answer
/// about `as_of` judged on `on`, whose latest reading of `as_of`'s year at or before
/// `as_of` is `latest`.
pub fn reporting(
    frequency: Frequency,
    rule: DueRule,
    as_of: Period,
    on: NaiveDate,
    latest: Option<Period>,
) -> Reporting {
    let year = as_of.year();
    let expected_in_year: Vec<Period> = (1..=12u8)
        .filter_map(|m| Period::new(year, m).ok())
        .filter(|p| expected(frequency, *p))
        .collect();
    let due_now = expected_in_year
        .iter()
        .copied()
        .filter(|p| *p <= as_of && past_due(due_date(*p, rule), on))
        .max();
    match due_now {
        Some(p) => Reporting {
            on,
            period: p,
            due: due_date(p, rule),
            state: if latest.is_some_and(|l| l >= p) {
                ReportState::Received
            } else {
                ReportState::Overdue
            },
        },
        None => {
            let p = expected_in_year.first().copied().unwrap_or(as_of);
            Reporting {
                on,
                period: p,
                due: due_date(p, rule),
                state: if latest.is_some() {
                    ReportState::Received
                } else {
                    ReportState::NotDue
                },
            }
        }
    }
}

/// An expected figure not received by its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overdue {
    pub period: Period,
    pub due: NaiveDate,
    /// Whole days between the due date and `on`.
    pub days_overdue: i64,
}

/// The expected periods from `since` on whose figure was due before `on` and is not
/// among `reported`, oldest first. A figure due on `on` itself is not yet overdue.
pub fn overdue(
    frequency: Frequency,
    rule: DueRule,
    since: Period,
    on: NaiveDate,
    reported: &[Period],
) -> Vec<Overdue> {
    let mut out = Vec::new();
    let mut p = Some(since);
    while let Some(cur) = p {
        if period_end(cur) >= on {
            break;
        }
        if expected(frequency, cur) && !reported.contains(&cur) {
            let due = due_date(cur, rule);
            if past_due(due, on) {
                out.push(Overdue {
                    period: cur,
                    due,
                    days_overdue: (on - due).num_days(),
                });
            }
        }
        p = next_month(cur);
    }
    out
}

/// One figure due in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueItem {
    pub indicator: String,
    pub name: String,
    pub region: String,
    pub frequency: Frequency,
    pub period: Period,
    pub due: NaiveDate,
    pub lead_units: Vec<String>,
    /// Whether a reading of the period is already stored.
    pub received: bool,
}

/// One overdue figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueItem {
    pub indicator: String,
    pub name: String,
    pub region: String,
    pub period: Period,
    pub due: NaiveDate,
    pub days_overdue: i64,
    pub lead_units: Vec<String>,
    /// The last note a submitter sent for the period without a figure (数据待财政局核实后
    /// 补报), if any: the figure is still overdue, but the 催报 list says why.
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn default_due_dates_follow_bureau_practice() {
        let monthly = DueRule::default_for(Frequency::Monthly);
        assert_eq!(due_date(p("2023-06"), monthly), d("2023-07-10"));
        assert_eq!(due_date(p("2023-12"), monthly), d("2024-01-10"));
        let quarterly = DueRule::default_for(Frequency::Quarterly);
        assert_eq!(due_date(p("2023-06"), quarterly), d("2023-07-15"));
        assert_eq!(due_date(p("2023-09"), quarterly), d("2023-10-15"));
        let annual = DueRule::default_for(Frequency::Annual);
        assert_eq!(
            due_date(p("2023-12"), annual),
            d("2024-02-29"),
            "2024 is a leap year"
        );
        assert_eq!(period_end(p("2024-02")), d("2024-02-29"));
    }

    #[test]
    fn a_window_lists_what_falls_due_in_it() {
        let monthly = DueRule::default_for(Frequency::Monthly);
        let july = due_between(
            Frequency::Monthly,
            monthly,
            d("2023-07-01"),
            d("2023-07-31"),
        );
        assert_eq!(
            july,
            [Due {
                period: p("2023-06"),
                due: d("2023-07-10")
            }]
        );
        let quarterly = DueRule::default_for(Frequency::Quarterly);
        let q = due_between(
            Frequency::Quarterly,
            quarterly,
            d("2023-07-01"),
            d("2023-12-31"),
        );
        assert_eq!(
            q.iter().map(|x| x.period).collect::<Vec<_>>(),
            [p("2023-06"), p("2023-09")]
        );
        let annual = DueRule::default_for(Frequency::Annual);
        assert!(
            due_between(Frequency::Annual, annual, d("2023-07-01"), d("2023-07-31")).is_empty()
        );
        assert_eq!(
            due_between(Frequency::Annual, annual, d("2024-01-01"), d("2024-03-31")),
            [Due {
                period: p("2023-12"),
                due: d("2024-02-29")
            }]
        );
        assert!(due_between(
            Frequency::Monthly,
            monthly,
            d("2023-08-01"),
            d("2023-07-01")
        )
        .is_empty());
    }

    #[test]
    fn overdue_figures_are_those_past_due_and_not_received() {
        let monthly = DueRule::default_for(Frequency::Monthly);
        let got = overdue(
            Frequency::Monthly,
            monthly,
            p("2023-01"),
            d("2023-07-20"),
            &[p("2023-01"), p("2023-02"), p("2023-03"), p("2023-05")],
        );
        // April (due 10 May) and June (due 10 July) are missing; July is not over yet.
        assert_eq!(
            got,
            [
                Overdue {
                    period: p("2023-04"),
                    due: d("2023-05-10"),
                    days_overdue: 71
                },
                Overdue {
                    period: p("2023-06"),
                    due: d("2023-07-10"),
                    days_overdue: 10
                },
            ]
        );
        // Due today is not overdue yet.
        let on_due = overdue(
            Frequency::Monthly,
            monthly,
            p("2023-06"),
            d("2023-07-10"),
            &[],
        );
        assert!(on_due.is_empty());
        let quarterly = DueRule::default_for(Frequency::Quarterly);
        let q = overdue(
            Frequency::Quarterly,
            quarterly,
            p("2023-01"),
            d("2023-07-20"),
            &[p("2023-03")],
        );
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].period, q[0].days_overdue), (p("2023-06"), 5));
    }
}
