//! Property tests of the engine's invariants, driven directly (the engine is pure).

use proptest::prelude::*;

use zhibiao::domain::{
    Comparator, Direction, Frequency, Indicator, IndicatorId, Kind, Period, Profile, Source,
    Target, Thresholds,
};
use zhibiao::engine::{evaluate, headline, scheduled_pace, Headline, Status};
use zhibiao::text::Lang;

fn indicator(kind: Kind, direction: Direction, profile: Option<Profile>) -> Indicator {
    Indicator {
        id: IndicatorId::parse("p").unwrap(),
        name: "性质".into(),
        name_en: "property".into(),
        group: "growth".into(),
        kind,
        unit: "个".into(),
        direction,
        frequency: Frequency::Monthly,
        lead_units: vec!["县统计局".into()],
        co_units: vec![],
        source: Source {
            document: "d".into(),
            section: "s".into(),
            quote: "q".into(),
        },
        also_in: vec![],
        profile,
        thresholds: Thresholds::default(),
        region: "测试县".into(),
        code: "p".into(),
        benchmarks: vec![],
        status_rule: Default::default(),
        escalate_after: 2,
        quality: Default::default(),
        base_indicator: None,
        base_shares: None,
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Cumulative),
        Just(Kind::Rate),
        Just(Kind::Growth),
        Just(Kind::Level),
        Just(Kind::Milestone),
        Just(Kind::Ordinal)
    ]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Up), Just(Direction::Down)]
}

fn comparator() -> impl Strategy<Value = Comparator> {
    prop_oneof![
        Just(Comparator::AtLeast),
        Just(Comparator::MoreThan),
        Just(Comparator::AtMost),
        Just(Comparator::LessThan),
        Just(Comparator::About),
        Just(Comparator::Between),
    ]
}

/// A valid cumulative profile: sorted random shares ending at 1.
fn profile() -> impl Strategy<Value = Option<Profile>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(0.0f64..=1.0, 11).prop_map(|mut v| {
            v.sort_by(f64::total_cmp);
            v.push(1.0);
            Some(Profile::new(&v).unwrap())
        })
    ]
}

fn target() -> impl Strategy<Value = Target> {
    (
        comparator(),
        -50.0f64..10_000.0,
        0.0f64..100.0,
        prop::option::of(0.0f64..5.0),
    )
        .prop_map(|(comparator, value, width, tol)| Target {
            year: 2023,
            value: Some(value),
            comparator,
            tolerance: if comparator == Comparator::About {
                tol
            } else {
                None
            },
            upper: (comparator == Comparator::Between).then_some(value + width + 0.001),
            baseline: None,
            plan: None,
            parts: Vec::new(),
            duty: None,
        })
}

fn readings() -> impl Strategy<Value = Vec<(Period, f64)>> {
    prop::collection::vec((1u8..=12, -100.0f64..20_000.0), 0..6).prop_map(|rs| {
        rs.into_iter()
            .map(|(m, v)| (Period::new(2023, m).unwrap(), v))
            .collect()
    })
}

fn as_of() -> impl Strategy<Value = Period> {
    (1u8..=12).prop_map(|m| Period::new(2023, m).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn year_end_gap_is_never_negative(k in kind(), d in direction(), p in profile(), t in target(), rs in readings(), a in as_of()) {
        let ind = indicator(k, d, p);
        let out = evaluate(&ind, Some(&t), &rs, a);
        if let Some(g) = out.year_end_gap {
            prop_assert!(g >= 0.0, "gap {g} in {out:?}");
        }
    }

    #[test]
    fn cumulative_up_is_never_on_track_while_behind_expected(p in profile(), t in target(), rs in readings(), a in as_of()) {
        let ind = indicator(Kind::Cumulative, Direction::Up, p);
        let out = evaluate(&ind, Some(&t), &rs, a);
        if let Some(dev) = out.deviation {
            if dev < 0.0 {
                prop_assert_ne!(out.status, Status::OnTrack, "{:?}", out);
            }
        }
    }

    #[test]
    fn scheduled_pace_never_falls_as_months_pass(k in kind(), p in profile()) {
        let ind = indicator(k, Direction::Up, p);
        let paces: Vec<f64> = (1..=12).map(|m| scheduled_pace(&ind, m)).collect();
        for w in paces.windows(2) {
            prop_assert!(w[0] <= w[1], "{paces:?}");
        }
        prop_assert!((paces[11] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn every_figure_is_finite_and_null_when_undefined(k in kind(), d in direction(), p in profile(), t in target(), rs in readings(), a in as_of()) {
        let ind = indicator(k, d, p);
        let out = evaluate(&ind, Some(&t), &rs, a);
        for (name, v) in [
            ("scheduled_pace", out.scheduled_pace), ("expected", out.expected),
            ("attainment", out.attainment), ("deviation", out.deviation),
            ("pace_gap", out.pace_gap), ("year_end_gap", out.year_end_gap),
            ("required_rest_of_year", out.required_rest_of_year), ("projection", out.projection),
        ] {
            if let Some(v) = v {
                prop_assert!(v.is_finite(), "{name} = {v}");
            }
        }
        if out.actual.is_none() {
            prop_assert_eq!(out.status, Status::NoData);
        }
        if out.actual_period.map(|p| p.month()) == Some(12) {
            prop_assert!(matches!(out.status, Status::Achieved | Status::Missed), "{:?}", out.status);
            prop_assert!(out.required_rest_of_year.is_none());
        }
        if !matches!(k, Kind::Cumulative | Kind::Milestone) {
            prop_assert!(out.pace_gap.is_none());
        }
    }

    /// No answer or sentence ever shows a 完成率 for a growth rate, or a percentage of
    /// progress for a ceiling or an ordinal level: their `attainment` and `pace_gap`
    /// are null, their headline is not `completion`, and their sentence never says
    /// “完成N%” nor “完成率”.
    #[test]
    fn growth_ceilings_and_ordinals_never_read_as_progress(k in kind(), d in direction(), t in target(), rs in readings(), a in as_of()) {
        let ind = indicator(k, d, None);
        let out = evaluate(&ind, Some(&t), &rs, a);
        let progress_free = matches!(k, Kind::Growth | Kind::Rate | Kind::Level | Kind::Ordinal)
            || d == Direction::Down;
        if progress_free {
            prop_assert!(out.attainment.is_none(), "{out:?}");
            prop_assert!(out.pace_gap.is_none(), "{out:?}");
            prop_assert_ne!(out.headline, Some(Headline::Completion));
            let text = headline::situation(Lang::Zh, &ind, &out).unwrap_or_default();
            prop_assert!(!text.contains("完成率"), "{text}");
            let progress = text
                .match_indices("完成")
                .any(|(i, w)| text[i + w.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '-'));
            prop_assert!(!progress, "{text}");
            prop_assert!(!text.contains("序时进度"), "{text}");
        }
    }

    #[test]
    fn attainment_times_target_gives_back_the_actual(k in kind(), t in target(), rs in readings(), a in as_of()) {
        let ind = indicator(k, Direction::Up, None);
        let out = evaluate(&ind, Some(&t), &rs, a);
        if let (Some(att), Some(actual), Some(v)) = (out.attainment, out.actual, t.value) {
            prop_assert!((att * v - actual).abs() <= 1e-9 * actual.abs().max(1.0));
        }
    }

    #[test]
    fn readings_after_as_of_change_nothing(k in kind(), d in direction(), t in target(), rs in readings(), a in as_of(), later in -100.0f64..20_000.0) {
        let ind = indicator(k, d, None);
        let before = evaluate(&ind, Some(&t), &rs, a);
        if a.month() < 12 {
            let mut more = rs.clone();
            more.push((Period::new(2023, a.month() + 1).unwrap(), later));
            let after = evaluate(&ind, Some(&t), &more, a);
            prop_assert_eq!(before, after);
        }
    }
}

fn frequency() -> impl Strategy<Value = Frequency> {
    prop_oneof![
        Just(Frequency::Monthly),
        Just(Frequency::Quarterly),
        Just(Frequency::Annual)
    ]
}

fn due_rule() -> impl Strategy<Value = zhibiao::engine::calendar::DueRule> {
    use zhibiao::engine::calendar::DueRule;
    prop_oneof![
        (1u8..=28).prop_map(DueRule::DayOfNextMonth),
        (0u16..=120).prop_map(DueRule::DaysAfterPeriodEnd),
    ]
}

proptest! {
    /// The calendar lists exactly the expected periods whose figure falls due in the
    /// window: checked against every month of the years around it, one by one.
    #[test]
    fn a_calendar_window_lists_exactly_what_falls_due_in_it(
        freq in frequency(),
        rule in due_rule(),
        start in 0i64..3000,
        len in 0i64..200,
    ) {
        use zhibiao::engine::calendar::{due_between, due_date, expected, period_end};
        let base = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        let from = base + chrono::Duration::days(start);
        let to = from + chrono::Duration::days(len);
        let got = due_between(freq, rule, from, to);
        let mut want = Vec::new();
        for y in 2013..=2025u16 {
            for m in 1..=12u8 {
                let p = Period::new(y, m).unwrap();
                let due = due_date(p, rule);
                prop_assert!(due >= period_end(p));
                if expected(freq, p) && due >= from && due <= to {
                    want.push((due, p));
                }
            }
        }
        want.sort();
        let got: Vec<_> = got.into_iter().map(|d| (d.due, d.period)).collect();
        prop_assert_eq!(got, want);
    }
}
