//! The worked examples of `docs/methodology.md`, each one a test: the figures and the
//! words a county 统计局 would write for them. When a formula or a sentence changes,
//! the document and this file change together.

use zhibiao::domain::{
    Comparator, Direction, Duty, Frequency, Indicator, IndicatorId, Kind, Period, Profile, Source,
    Target, TargetPart, Thresholds,
};
use zhibiao::engine::calendar::{reporting, DueRule, ReportState};
use zhibiao::engine::{evaluate, evaluate_with, headline, CatchUp, Headline, Inputs, Status};
use zhibiao::text::Lang;

fn indicator(name: &str, kind: Kind, unit: &str, direction: Direction) -> Indicator {
    Indicator {
        id: IndicatorId::parse("x").unwrap(),
        name: name.into(),
        name_en: String::new(),
        group: "growth".into(),
        kind,
        unit: unit.into(),
        direction,
        frequency: Frequency::Quarterly,
        lead_units: vec!["县统计局".into()],
        co_units: vec![],
        source: Source {
            document: "d".into(),
            section: "s".into(),
            quote: "q".into(),
        },
        also_in: vec![],
        profile: None,
        thresholds: Thresholds::default(),
        region: "临湘市".into(),
        code: "x".into(),
        benchmarks: vec![],
        status_rule: Default::default(),
        escalate_after: 2,
        quality: Default::default(),
        base_indicator: None,
        base_shares: None,
    }
}

fn target(value: f64, comparator: Comparator) -> Target {
    Target {
        year: 2023,
        value: Some(value),
        comparator,
        tolerance: None,
        upper: None,
        baseline: None,
        plan: None,
        parts: Vec::new(),
        duty: None,
    }
}

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn situation(ind: &Indicator, a: &zhibiao::engine::Attainment) -> String {
    headline::situation(Lang::Zh, ind, a).unwrap()
}

/// Revenue target +9%, first half +5%, and the first half was 58% of last year's
/// total: the second half needs (9 − 0.58 × 5) / 0.42 = 14.52%, not the 13.0% of
/// the time-weighted rule.
#[test]
fn base_weighted_catch_up_of_revenue() {
    let mut ind = indicator("地方一般公共预算收入增长", Kind::Growth, "%", Direction::Up);
    ind.frequency = Frequency::Monthly;
    let t = target(9.0, Comparator::AtLeast);
    let r = [(p("2023-06"), 5.0)];

    let time = evaluate(&ind, Some(&t), &r, p("2023-06"));
    assert!(close(time.required_rest_of_year, 13.0), "{time:?}");
    assert_eq!(time.catch_up_method, Some(CatchUp::TimeWeighted));

    let mut shares = [0.0; 12];
    for (i, s) in shares.iter_mut().enumerate() {
        *s = (i as f64 + 1.0) / 12.0;
    }
    shares[5] = 0.58;
    let base = evaluate_with(
        &ind,
        Some(&t),
        &r,
        p("2023-06"),
        Inputs {
            base_shares: Some(shares),
        },
    );
    assert!(close(base.required_rest_of_year, (9.0 - 0.58 * 5.0) / 0.42));
    assert_eq!(base.catch_up_method, Some(CatchUp::BaseWeighted));
    assert_eq!(base.attainment, None, "a growth rate has no 完成率");
    assert_eq!(
        situation(&ind, &base),
        "增长5%，低于目标4个百分点；下半年需达14.5%"
    );
}

/// 临湘市's GDP in 2023 against "about 8%": 6.0 in Q1, 4.7 in the first half, 5.0 in
/// the first three quarters, 6.5 for the year.
#[test]
fn linxiang_gdp_2023_quarter_by_quarter() {
    let ind = indicator("地区生产总值增长", Kind::Growth, "%", Direction::Up);
    let t = target(8.0, Comparator::About);
    let series = [
        (p("2023-03"), 6.0),
        (p("2023-06"), 4.7),
        (p("2023-09"), 5.0),
        (p("2023-12"), 6.5),
    ];
    let at = |m: &str| evaluate(&ind, Some(&t), &series, p(m));

    let q1 = at("2023-03");
    assert_eq!(q1.headline, Some(Headline::Deviation));
    assert_eq!(q1.attainment, None);
    assert!(close(q1.deviation, -2.0));
    assert_eq!(q1.status, Status::SeverelyBehind);
    assert!(close(q1.required_rest_of_year, (8.0 - 0.25 * 6.0) / 0.75));
    assert_eq!(q1.reachable, Some(true));
    assert_eq!(
        situation(&ind, &q1),
        "增长6%，低于目标2个百分点；后三季度需达8.7%"
    );

    let h1 = at("2023-06");
    assert!(close(h1.deviation, -3.3));
    assert_eq!(h1.status, Status::SeverelyBehind);
    assert!(close(h1.required_rest_of_year, 11.3));
    assert_eq!(h1.reachable, Some(true));
    assert_eq!(
        situation(&ind, &h1),
        "增长4.7%，低于目标3.3个百分点；下半年需达11.3%"
    );

    // Q4 would need 17%, more than twice the target: beyond reach.
    let q3 = at("2023-09");
    assert!(close(q3.deviation, -3.0));
    assert!(close(q3.required_rest_of_year, 17.0));
    assert_eq!(q3.reachable, Some(false));
    assert_eq!(
        situation(&ind, &q3),
        "增长5%，低于目标3个百分点；四季度需达17%，按目前进度全年目标已难以完成"
    );

    let year = at("2023-12");
    assert_eq!(year.status, Status::Missed);
    assert!(close(year.deviation, -1.5));
    assert_eq!(year.required_rest_of_year, None);
    assert_eq!(situation(&ind, &year), "增长6.5%，低于目标1.5个百分点");
}

/// CPI against "within 3%": 3.6 is over the ceiling by 0.6 points, 1.2 is within it;
/// neither is a percentage of anything.
#[test]
fn cpi_against_a_ceiling() {
    let ind = indicator("居民消费价格指数涨幅", Kind::Growth, "%", Direction::Down);
    let ind = Indicator {
        name: "居民消费价格上涨".into(),
        ..ind
    };
    let t = target(3.0, Comparator::AtMost);

    let over = evaluate(&ind, Some(&t), &[(p("2023-06"), 3.6)], p("2023-06"));
    assert_eq!(over.attainment, None);
    assert_eq!(over.status, Status::Behind);
    assert!(close(over.required_rest_of_year, 2.4));
    assert_eq!(
        situation(&ind, &over),
        "上涨3.6%，高于控制目标0.6个百分点；下半年需控制在2.4%以内"
    );

    let within = evaluate(&ind, Some(&t), &[(p("2023-06"), 1.2)], p("2023-06"));
    assert_eq!(within.attainment, None);
    assert_eq!(within.status, Status::OnTrack);
    assert_eq!(
        situation(&ind, &within),
        "上涨1.2%，控制在目标以内；下半年需控制在4.8%以内"
    );
}

/// Water quality against class Ⅱ: class Ⅲ is not attained; nothing reads 150%.
#[test]
fn water_class_against_class_two() {
    let ind = indicator("断面水质", Kind::Ordinal, "类", Direction::Down);
    let t = target(2.0, Comparator::AtMost);
    let a = evaluate(&ind, Some(&t), &[(p("2023-06"), 3.0)], p("2023-06"));
    assert_eq!(a.headline, Some(Headline::Attained));
    assert_eq!(a.attained, Some(false));
    assert_eq!(a.attainment, None);
    assert_eq!(a.status, Status::Behind);
    assert_eq!(situation(&ind, &a), "Ⅲ类，未达到目标（Ⅱ类）");

    let ok = evaluate(&ind, Some(&t), &[(p("2023-12"), 2.0)], p("2023-12"));
    assert_eq!(ok.attained, Some(true));
    assert_eq!(ok.status, Status::Achieved);
    assert_eq!(situation(&ind, &ok), "Ⅱ类，达到目标（Ⅱ类）");
}

/// A list of 66 first-batch projects, 40 started by June: 60.6% against a scheduled
/// 50%; its parts (38 industrial, 28 government) break the 66 down and are not
/// targets of their own.
#[test]
fn a_list_of_66_projects_at_40_started() {
    let ind = indicator(
        "第一批县级重点项目开工",
        Kind::Milestone,
        "个",
        Direction::Up,
    );
    let mut t = target(66.0, Comparator::AtLeast);
    t.parts = vec![
        TargetPart {
            name: "实施产业类项目".into(),
            value: 38.0,
        },
        TargetPart {
            name: "政府类投资项目".into(),
            value: 28.0,
        },
    ];
    let a = evaluate(&ind, Some(&t), &[(p("2023-06"), 40.0)], p("2023-06"));
    assert_eq!(a.headline, Some(Headline::Completion));
    assert!(close(a.attainment, 40.0 / 66.0));
    assert!(close(a.scheduled_pace, 0.5));
    assert_eq!(a.status, Status::OnTrack);
    assert_eq!(
        situation(&ind, &a),
        "完成60.6%，高于序时进度10.6个百分点；全年还需26个，下半年需月均4.33个"
    );

    // With the plan's schedule (half of them started by the end of March, three
    // quarters by June), the same 40 in June is 9.5 short of the 49.5 due: more than
    // 10% of the list, so severely behind.
    let mut scheduled = ind.clone();
    let shares = [
        0.2, 0.35, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0,
    ];
    scheduled.profile = Some(Profile::new(&shares).unwrap());
    let a = evaluate(&scheduled, Some(&t), &[(p("2023-06"), 40.0)], p("2023-06"));
    assert!(close(a.scheduled_pace, 0.75));
    assert!(close(a.deviation, -9.5));
    assert_eq!(a.status, Status::SeverelyBehind);
    // The schedule drives the catch-up too: of the 26 still needed, the third quarter
    // carries (0.9 − 0.75) / (1 − 0.75) = 60%, 15.6, where an even spread gives 13.
    assert_eq!(a.next_period, Some(p("2023-09")));
    assert!(close(a.required_next_period, 15.6));
    assert_eq!(a.catch_up_method, Some(CatchUp::ProfileWeighted));
    assert_eq!(
        situation(&scheduled, &a),
        "完成60.6%，低于序时进度14.4个百分点；全年还需26个，按进度安排，三季度需完成15.6个"
    );
    let even = evaluate(&ind, Some(&t), &[(p("2023-06"), 40.0)], p("2023-06"));
    assert!(close(even.required_next_period, 13.0));
    assert_eq!(even.catch_up_method, Some(CatchUp::TimeWeighted));
}

/// 每季度至少1次: one meeting in Q1, none in Q2, two in Q3. Summed over the year (3
/// of 4) it looks on pace; per quarter, Q2 was missed and so is the year.
#[test]
fn a_quarterly_duty_missed_in_q2_and_made_up_in_q3() {
    let ind = indicator(
        "专题研究安全生产工作",
        Kind::Cumulative,
        "次",
        Direction::Up,
    );
    let mut t = target(4.0, Comparator::AtLeast);
    t.duty = Some(Duty {
        per: Frequency::Quarterly,
        min: 1.0,
        max: Some(2.0),
    });
    let series = [
        (p("2023-03"), 1.0),
        (p("2023-06"), 1.0),
        (p("2023-09"), 3.0),
    ];
    let q1 = evaluate(&ind, Some(&t), &series, p("2023-03"));
    assert_eq!(q1.headline, Some(Headline::Duty));
    assert_eq!(q1.status, Status::OnTrack);

    let q3 = evaluate(&ind, Some(&t), &series, p("2023-09"));
    let counts: Vec<(Option<f64>, Option<bool>)> =
        q3.duty.iter().map(|d| (d.count, d.met)).collect();
    assert_eq!(
        counts,
        vec![
            (Some(1.0), Some(true)),
            (Some(0.0), Some(false)),
            (Some(2.0), Some(true))
        ]
    );
    assert_eq!(q3.status, Status::Missed);
    assert_eq!(q3.attainment, None);
    assert_eq!(situation(&ind, &q3), "第2季度0次，未达到每季度至少1次");
}

/// A band of 15–20%: from below the catch-up aims at 15, from above at 20, inside at
/// where the year stands.
#[test]
fn a_between_band_aims_at_its_nearest_bound() {
    let mut ind = indicator("储备覆盖人口比例", Kind::Rate, "%", Direction::Up);
    ind.frequency = Frequency::Monthly;
    let mut t = target(15.0, Comparator::Between);
    t.upper = Some(20.0);
    let at = |v: f64| evaluate(&ind, Some(&t), &[(p("2023-06"), v)], p("2023-06"));

    let below = at(13.0);
    assert!(close(below.required_rest_of_year, 17.0));
    assert!(close(below.deviation, -2.0));
    assert_eq!(
        situation(&ind, &below),
        "13%，低于目标区间2个百分点；下半年需达17%"
    );

    let above = at(22.0);
    assert!(close(above.required_rest_of_year, 18.0));
    assert_eq!(
        situation(&ind, &above),
        "22%，高于目标区间2个百分点；下半年需控制在18%以内"
    );

    let inside = at(17.0);
    assert!(close(inside.required_rest_of_year, 17.0));
    assert_eq!(inside.status, Status::OnTrack);
}

/// Due vs not due in the June bulletin (reporting date 2023-07-11): a monthly figure
/// for June was due the day before; a quarterly Q2 figure on 7-15 is not yet due; an
/// annual one is due next year.
#[test]
fn due_and_not_due_on_the_june_reporting_date() {
    let on = zhibiao::engine::calendar::default_reporting_date(p("2023-06"));
    assert_eq!(on.to_string(), "2023-07-11");
    let monthly = reporting(
        Frequency::Monthly,
        DueRule::default_for(Frequency::Monthly),
        p("2023-06"),
        on,
        None,
    );
    assert_eq!(monthly.state, ReportState::Overdue);
    assert_eq!(monthly.period, p("2023-06"));

    // Q1 was due on 4-15 and is in; Q2 is due on 7-15.
    let quarterly = reporting(
        Frequency::Quarterly,
        DueRule::default_for(Frequency::Quarterly),
        p("2023-06"),
        on,
        Some(p("2023-03")),
    );
    assert_eq!(quarterly.state, ReportState::Received);
    assert_eq!(quarterly.period, p("2023-03"));
    // Without Q1 it is overdue; on 7-20 the missing Q2 would be too.
    let missing = reporting(
        Frequency::Quarterly,
        DueRule::default_for(Frequency::Quarterly),
        p("2023-06"),
        on,
        None,
    );
    assert_eq!(missing.state, ReportState::Overdue);
    assert_eq!(missing.period, p("2023-03"));

    let annual = reporting(
        Frequency::Annual,
        DueRule::default_for(Frequency::Annual),
        p("2023-06"),
        on,
        None,
    );
    assert_eq!(annual.state, ReportState::NotDue);
    assert_eq!(annual.period, p("2023-12"));
}

/// One rule for the due day, in the attainment rows and the 催报 list alike: a figure
/// may still be sent on its due day (7-10 for June), so it is past due from 7-11.
#[test]
fn a_figure_is_past_due_from_the_day_after_its_due_date() {
    let rule = DueRule::default_for(Frequency::Monthly);
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2023, 7, d).unwrap();
    for (on, overdue) in [(day(10), false), (day(11), true)] {
        let row = reporting(
            Frequency::Monthly,
            rule,
            p("2023-06"),
            on,
            Some(p("2023-05")),
        );
        let list =
            zhibiao::engine::calendar::overdue(Frequency::Monthly, rule, p("2023-06"), on, &[]);
        assert_eq!(row.state == ReportState::Overdue, overdue, "{on}: {row:?}");
        assert_eq!(!list.is_empty(), overdue, "{on}: {list:?}");
        assert_eq!(zhibiao::engine::calendar::past_due(day(10), on), overdue);
    }
}

/// A cumulative ceiling is never progress: 2 accidents under a cap of 5 leave 3.
#[test]
fn a_cumulative_ceiling_reads_as_allowance_left() {
    let mut ind = indicator("较大事故", Kind::Cumulative, "起", Direction::Down);
    ind.frequency = Frequency::Monthly;
    let t = target(5.0, Comparator::AtMost);
    let a = evaluate(&ind, Some(&t), &[(p("2023-06"), 2.0)], p("2023-06"));
    assert_eq!(a.headline, Some(Headline::Allowance));
    assert_eq!(a.attainment, None);
    assert!(close(a.allowance, 3.0));
    assert_eq!(
        situation(&ind, &a),
        "累计2起，控制在5起以内，尚余3起；下半年月均不超过0.5起"
    );
}
