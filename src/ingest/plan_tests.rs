//! Reading plan spreadsheets (指标库), and the workbooks zhibiao writes for them.

use super::plan_sheet::*;
use super::plan_template::*;
use super::{Cancel, Charset, DecodeError, Limits, RowError};
use crate::domain::{Comparator, Direction, Frequency, Kind};
use crate::limits::Cap;

/// A workbook of `sheets`. A cell "" is left empty, "=7.2" is the number 7.2,
/// "pct:0.072" is 0.072 formatted as a percentage (it shows 7.2%), anything else a string.
fn book(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    for (name, rows) in sheets {
        let s = wb.add_worksheet();
        s.set_name(*name).unwrap();
        for (r, cells) in rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                if v.is_empty() {
                } else if let Some(n) = v.strip_prefix('=') {
                    s.write_number(r, c, n.parse::<f64>().unwrap()).unwrap();
                } else if let Some(n) = v.strip_prefix("pct:") {
                    s.write_number_with_format(r, c, n.parse::<f64>().unwrap(), &pct)
                        .unwrap();
                } else {
                    s.write_string(r, c, *v).unwrap();
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn read(format: SheetFormat, body: &[u8]) -> PlanSheet {
    read_plan(format, body, &Limits::DEFAULT, &Cancel::never())
        .unwrap_or_else(|e| panic!("refused: {e}"))
}

fn xlsx(sheets: &[(&str, &[&[&str]])]) -> PlanSheet {
    read(SheetFormat::Xlsx, &book(sheets))
}

fn csv(text: &str) -> PlanSheet {
    read(SheetFormat::Csv(Charset::Detect), text.as_bytes())
}

fn malformed(r: Result<PlanSheet, DecodeError>) -> RowError {
    match r {
        Err(DecodeError::Malformed(e)) => e,
        Err(other) => panic!("refused, but not as malformed: {other}"),
        Ok(s) => panic!("accepted {} rows", s.rows.len()),
    }
}

const CN_HEADER: &[&str] = &[
    "序号",
    "指标代码",
    "指标名称",
    "单位",
    "年度目标（2024）",
    "目标类型",
    "指标类型",
    "报送频率",
    "牵头单位",
    "责任单位",
    "所属板块",
    "出处章节",
    "出处原文",
    "上年目标",
    "备注",
    "联系人",
];

#[test]
fn chinese_headers_are_read_and_unknown_columns_listed() {
    let sheet = xlsx(&[
        ("说明", &[&["这张表不是指标"]]),
        (
            "指标",
            &[
                CN_HEADER,
                &[
                    "=1",
                    "gdp-growth",
                    "地区生产总值增长",
                    "%",
                    "=6.5",
                    "以上",
                    "",
                    "季",
                    "县发改局、县统计局",
                    "各乡镇, 县财政局",
                    "经济增长",
                    "一、主要目标",
                    "地区生产总值增长6.5%以上",
                    "≥6",
                    "备注",
                    "张三",
                ],
                &[
                    "=2",
                    "",
                    "新增市场主体",
                    "户",
                    "=5000",
                    "",
                    "累计",
                    "",
                    "县市场监管局",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "=3",
                    "",
                    "城镇调查失业率",
                    "%",
                    "=5.5",
                    "以内",
                    "",
                    "",
                    "县人社局",
                ],
            ],
        ),
    ]);
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    assert_eq!(sheet.ignored_columns, ["联系人"]);
    assert_eq!(sheet.facts, PlanFacts::default());
    let [gdp, firms, jobless] = &sheet.rows[..] else {
        panic!("{:?}", sheet.rows)
    };
    assert_eq!(
        gdp,
        &PlanRow {
            row: 2,
            seq: Some(1),
            id: Some("gdp-growth".into()),
            name: "地区生产总值增长".into(),
            unit: "%".into(),
            value: Some(6.5),
            upper: None,
            tolerance: None,
            comparator: Comparator::AtLeast,
            kind: Kind::Growth,
            direction: Direction::Up,
            frequency: Frequency::Quarterly,
            lead_units: vec!["县发改局".into(), "县统计局".into()],
            co_units: vec!["各乡镇".into(), "县财政局".into()],
            group: Some("经济增长".into()),
            section: Some("一、主要目标".into()),
            quote: Some("地区生产总值增长6.5%以上".into()),
            code: None,
            name_en: None,
            duty: None,
            parts: vec![],
            profile: None,
            base: None,
            base_shares: None,
        }
    );
    assert_eq!(
        (firms.row, firms.kind, firms.frequency, firms.comparator),
        (3, Kind::Cumulative, Frequency::Monthly, Comparator::AtLeast)
    );
    assert_eq!((firms.id.as_deref(), firms.group.as_deref()), (None, None));
    // An unsaid kind with unit % is a rate; 以内 is at most, and less is better.
    assert_eq!(
        (jobless.kind, jobless.comparator, jobless.direction),
        (Kind::Rate, Comparator::AtMost, Direction::Down)
    );
}

#[test]
fn english_headers_are_read() {
    let sheet = csv(
        "seq,id,name,unit,target,comparator,kind,frequency,lead_units,co_units,group,direction,tolerance,code,name_en,section,quote\n\
         1,gdp-growth,地区生产总值增长,%,6,about,rate,annual,县发改局,县统计局,经济,down,0.5,gdp-growth,GDP growth,一,原文\n",
    );
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    assert!(sheet.ignored_columns.is_empty());
    let r = &sheet.rows[0];
    assert_eq!(r.row, 2);
    assert_eq!(
        (r.comparator, r.kind, r.frequency, r.direction),
        (
            Comparator::About,
            Kind::Rate,
            Frequency::Annual,
            Direction::Down
        )
    );
    assert_eq!((r.value, r.tolerance), (Some(6.0), Some(0.5)));
    assert_eq!(r.code.as_deref(), Some("gdp-growth"));
    assert_eq!(r.name_en.as_deref(), Some("GDP growth"));
    assert_eq!(r.co_units, ["县统计局"]);
    assert_eq!(
        (r.section.as_deref(), r.quote.as_deref()),
        (Some("一"), Some("原文"))
    );
}

#[test]
fn the_plan_sheet_gives_the_facts_and_its_groups_in_order() {
    let sheet = xlsx(&[
        (
            "指标",
            &[
                &["指标名称", "单位", "目标值", "牵头单位", "板块"],
                &["新增市场主体", "户", "=5000", "县市场监管局", "经济增长"],
            ],
        ),
        (
            "方案",
            &[
                &["项目", "内容"],
                &["方案代码", "taojiang-2024"],
                &["地区", "桃江县"],
                &["上级地区", "益阳市"],
                &["年度", "2024年"],
                &["文件名称", "2024年全县经济社会发展主要目标"],
                &["文号", "桃政发〔2024〕1号"],
                &["发文单位", "桃江县人民政府"],
                &["板块", "经济增长"],
                &["板块", "科技创新"],
                &["板块", "民生保障、安全生产，科技创新"],
                &["负责人", "李四"],
                &["region_code", ""],
            ],
        ),
    ]);
    let f = &sheet.facts;
    assert_eq!(f.plan_id.as_deref(), Some("taojiang-2024"));
    assert_eq!(f.region.as_deref(), Some("桃江县"));
    assert_eq!(f.parent.as_deref(), Some("益阳市"));
    assert_eq!(f.year, Some(2024));
    assert_eq!(f.title.as_deref(), Some("2024年全县经济社会发展主要目标"));
    assert_eq!(f.doc_number.as_deref(), Some("桃政发〔2024〕1号"));
    assert_eq!(f.issuer.as_deref(), Some("桃江县人民政府"));
    assert_eq!(f.groups, ["经济增长", "科技创新", "民生保障", "安全生产"]);
    // Unknown keys are errors on their own row, even when their content is empty.
    let fields: Vec<(usize, &str)> = sheet
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str()))
        .collect();
    assert_eq!(fields, [(12, "负责人"), (13, "region_code")]);
    assert!(
        sheet.errors[0].message.contains("“方案”表第12行"),
        "{}",
        sheet.errors[0].message
    );
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].group.as_deref(), Some("经济增长"));
}

#[test]
fn plan_facts_in_english_and_a_bad_year() {
    let sheet = xlsx(&[
        ("指标库", &[&["指标名称", "单位", "年度目标", "牵头单位"]]),
        (
            "方案",
            &[
                &["region", "桃江县"],
                &["year", "=2025"],
                &["groups", "A；B"],
                &["region", "益阳市"],
            ],
        ),
    ]);
    assert_eq!(sheet.facts.region.as_deref(), Some("桃江县"));
    assert_eq!(sheet.facts.year, Some(2025));
    assert_eq!(sheet.facts.groups, ["A", "B"]);
    assert_eq!(sheet.errors.len(), 1);
    assert_eq!(
        (sheet.errors[0].row, sheet.errors[0].field.as_str()),
        (4, "region")
    );
    assert!(sheet.errors[0].message.contains("与第1行重复"));

    let bad = xlsx(&[
        ("指标", &[&["指标名称", "单位", "年度目标", "牵头单位"]]),
        ("方案", &[&["年度", "明年"]]),
    ]);
    assert_eq!(bad.facts.year, None);
    assert_eq!(bad.errors[0].field, "年度");
    assert!(bad.errors[0].message.contains("写的是“明年”"));
}

#[test]
fn a_gbk_csv_is_read() {
    let text = "序号,指标名称,单位,年度目标,牵头单位\n1,规模工业增加值增长,%,≥8,县工信局\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    for charset in [Charset::Detect, Charset::Gb18030] {
        let sheet = read(SheetFormat::Csv(charset), &gbk);
        assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
        let r = &sheet.rows[0];
        assert_eq!(r.name, "规模工业增加值增长");
        assert_eq!(r.lead_units, ["县工信局"]);
        assert_eq!((r.value, r.comparator), (Some(8.0), Comparator::AtLeast));
        assert_eq!(r.kind, Kind::Growth);
    }
    // Declared UTF-8, it is refused as a body.
    let e = malformed(read_plan(
        SheetFormat::Csv(Charset::Utf8),
        &gbk,
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert_eq!(e.row, 0);
}

/// A target cell, the 目标类型 beside it and the unit; what they read as.
type TargetCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
    Option<f64>,
    Comparator,
);

#[test]
fn targets_written_as_text() {
    let cases: &[TargetCase] = &[
        ("≥150", "", "家", Some(150.0), None, Comparator::AtLeast),
        (">=150", "", "家", Some(150.0), None, Comparator::AtLeast),
        ("150以上", "", "家", Some(150.0), None, Comparator::AtLeast),
        (
            "150家以上",
            "",
            "家",
            Some(150.0),
            None,
            Comparator::AtLeast,
        ),
        (
            "不低于１５０",
            "",
            "家",
            Some(150.0),
            None,
            Comparator::AtLeast,
        ),
        ("超过2%", "", "%", Some(2.0), None, Comparator::MoreThan),
        ("8左右", "", "%", Some(8.0), None, Comparator::About),
        ("约8", "", "%", Some(8.0), None, Comparator::About),
        ("3以内", "", "%", Some(3.0), None, Comparator::AtMost),
        ("控制在3%以内", "", "%", Some(3.0), None, Comparator::AtMost),
        ("低于 1", "", "人", Some(1.0), None, Comparator::LessThan),
        ("5%", "", "%", Some(5.0), None, Comparator::AtLeast),
        ("1,200", "", "亿元", Some(1200.0), None, Comparator::AtLeast),
        ("-1.5", "", "%", Some(-1.5), None, Comparator::AtLeast),
        (
            "区间 2–3",
            "",
            "%",
            Some(2.0),
            Some(3.0),
            Comparator::Between,
        ),
        ("2-3", "", "%", Some(2.0), Some(3.0), Comparator::Between),
        ("2~3", "", "%", Some(2.0), Some(3.0), Comparator::Between),
        ("2—3", "", "%", Some(2.0), Some(3.0), Comparator::Between),
        ("2%-3%", "", "%", Some(2.0), Some(3.0), Comparator::Between),
        (
            "2–3",
            "区间",
            "%",
            Some(2.0),
            Some(3.0),
            Comparator::Between,
        ),
        ("150", "以上", "家", Some(150.0), None, Comparator::AtLeast),
        ("≥150", "≥", "家", Some(150.0), None, Comparator::AtLeast),
        ("6", "左右", "%", Some(6.0), None, Comparator::About),
        ("", "以内", "%", None, None, Comparator::AtMost),
        ("", "", "%", None, None, Comparator::AtLeast),
    ];
    let mut text = String::from("指标名称,单位,年度目标,目标类型,牵头单位\n");
    for (i, (target, cmp, unit, ..)) in cases.iter().enumerate() {
        text.push_str(&format!("指标{i},{unit},\"{target}\",{cmp},县统计局\n"));
    }
    let sheet = csv(&text);
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    assert_eq!(sheet.rows.len(), cases.len());
    for (r, (target, cmp, _, value, upper, comparator)) in sheet.rows.iter().zip(cases) {
        assert_eq!(
            (r.value, r.upper, r.comparator),
            (*value, *upper, *comparator),
            "{target:?} with {cmp:?}"
        );
    }
}

#[test]
fn an_upper_bound_column_makes_a_band() {
    let sheet =
        csv("指标名称,单位,年度目标,上限,目标类型,牵头单位\n物价涨幅,%,2,3,区间,县发改局\n");
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    assert_eq!(
        (sheet.rows[0].value, sheet.rows[0].upper),
        (Some(2.0), Some(3.0))
    );
}

#[test]
fn every_bad_cell_is_reported_with_its_row_and_column() {
    let sheet = xlsx(&[(
        "指标",
        &[
            &[
                "序号",
                "指标名称",
                "单位",
                "年度目标",
                "指标类型",
                "目标类型",
                "牵头单位",
            ],
            &["=1", "好指标", "家", "=150", "", "", "县统计局"],
            &["=2", "坏目标", "家", "约八", "", "", "县统计局"],
            &["=3", "坏类型", "%", "=5", "百分比", "", "县统计局"],
            &["=4", "", "", "", "", "", ""],
            &["=5", "缺单位", "", "=5", "", "", "县统计局"],
            &["=6", "矛盾", "%", "≥6", "", "以内", "县统计局"],
            &["=7", "两处错", "元", "=5", "存货", "等于", ""],
            &["=8", "坏区间", "%", "3-2", "", "", "县统计局"],
            &["=9", "区间缺上限", "%", "=3", "", "区间", "县统计局"],
        ],
    )]);
    let got: Vec<(usize, &str, &str)> = sheet
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "年度目标", "第3行“年度目标”不是数字：“约八”"),
            (
                4,
                "指标类型",
                "第4行“指标类型”应为 累计、增速、比率、存量、清单、等级 之一（写的是“百分比”）"
            ),
            (6, "单位", "第6行“单位”未填写"),
            (7, "年度目标", "第7行“年度目标”写的是“≥6”，与“目标类型”的“以内”矛盾"),
            (8, "牵头单位", "第8行“牵头单位”未填写"),
            (
                8,
                "目标类型",
                "第8行“目标类型”应为 ≥、>、≤、<、左右、区间（或 以上、超过、以内、低于） 之一（写的是“等于”）"
            ),
            (
                8,
                "指标类型",
                "第8行“指标类型”应为 累计、增速、比率、存量、清单、等级 之一（写的是“存货”）"
            ),
            (9, "年度目标", "第9行“年度目标”的区间上限 2 应大于下限 3"),
            (10, "年度目标", "第10行“年度目标”是区间目标，应写出上下限，如“2–3”"),
        ]
    );
    // Only the good row is read; the row with only its 序号 is skipped.
    let names: Vec<&str> = sheet.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["好指标"]);
}

#[test]
fn a_missing_required_column_refuses_the_sheet() {
    let e = malformed(read_plan(
        SheetFormat::Xlsx,
        &book(&[(
            "指标",
            &[&["序号", "指标名称", "目标值"], &["=1", "x", "=1"]],
        )]),
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert_eq!((e.row, e.field.as_str()), (1, "表头"), "{}", e.message);
    assert!(
        e.message.starts_with("缺少必填列：单位、牵头单位"),
        "{}",
        e.message
    );
    // The header is the first row with a value.
    let e = malformed(read_plan(
        SheetFormat::Csv(Charset::Utf8),
        "\n\nname,unit,value\n".as_bytes(),
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert_eq!(e.row, 3);
    assert!(
        e.message.starts_with("缺少必填列：牵头单位"),
        "{}",
        e.message
    );
    // Two columns for one field are ambiguous.
    let e = malformed(read_plan(
        SheetFormat::Csv(Charset::Utf8),
        "指标名称,名称,单位,年度目标,牵头单位\n".as_bytes(),
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert!(
        e.message.contains("“指标名称”和“名称”是同一列"),
        "{}",
        e.message
    );
    // An empty sheet has no header.
    let e = malformed(read_plan(
        SheetFormat::Csv(Charset::Utf8),
        b"\n\n",
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert_eq!(e.field, "表头");
}

#[test]
fn a_percent_formatted_target_is_read_as_it_shows() {
    let sheet = xlsx(&[(
        "指标",
        &[
            &["指标名称", "单位", "年度目标", "牵头单位"],
            &["研发投入强度", "%", "pct:0.072", "县科工局"],
            &["规上工业增加值增长", "%", "=7.2", "县工信局"],
        ],
    )]);
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    let values: Vec<Option<f64>> = sheet.rows.iter().map(|r| r.value).collect();
    assert_eq!(values, [Some(7.2), Some(7.2)]);
}

#[test]
fn a_duplicate_name_names_the_earlier_row() {
    let sheet = csv("指标名称,单位,年度目标,牵头单位\n\
         新增市场主体,户,5000,县市场监管局\n\
         \n\
         新增市场主体,户,6000,县市场监管局\n");
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].value, Some(5000.0));
    assert_eq!(sheet.errors.len(), 1);
    let e = &sheet.errors[0];
    assert_eq!((e.row, e.field.as_str()), (4, "指标名称"));
    assert_eq!(e.message, "第4行“指标名称”“新增市场主体”与第2行重复");
}

#[test]
fn reading_stops_at_the_row_cap_and_on_cancel() {
    let body = "指标名称,单位,年度目标,牵头单位\na,户,1,u\nb,户,2,u\nc,户,3,u\n";
    let limits = Limits {
        batch_rows: 2,
        ..Limits::DEFAULT
    };
    match read_plan(
        SheetFormat::Csv(Charset::Utf8),
        body.as_bytes(),
        &limits,
        &Cancel::never(),
    ) {
        Err(DecodeError::OverCap(o)) => assert_eq!(o.cap, Cap::BatchRows),
        other => panic!("{other:?}"),
    }
    let limits = Limits {
        batch_rows: 3,
        ..Limits::DEFAULT
    };
    assert!(read_plan(
        SheetFormat::Csv(Charset::Utf8),
        body.as_bytes(),
        &limits,
        &Cancel::never()
    )
    .is_ok());
    let cancel = Cancel::new();
    cancel.cancel();
    assert_eq!(
        read_plan(SheetFormat::Xlsx, &book(&[]), &Limits::DEFAULT, &cancel),
        Err(DecodeError::Cancelled)
    );
    // A workbook passes the same caps as a batch.
    let limits = Limits {
        xlsx_cells: 5,
        ..Limits::DEFAULT
    };
    let wb = book(&[(
        "指标",
        &[
            &["指标名称", "单位", "年度目标", "牵头单位"],
            &["a", "户", "=1", "u"],
        ],
    )]);
    match read_plan(SheetFormat::Xlsx, &wb, &limits, &Cancel::never()) {
        Err(DecodeError::OverCap(o)) => assert_eq!(o.cap, Cap::XlsxCells),
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_a_workbook_is_malformed() {
    let e = malformed(read_plan(
        SheetFormat::Xlsx,
        b"not a zip",
        &Limits::DEFAULT,
        &Cancel::never(),
    ));
    assert_eq!(e.row, 0);
}

// ── The workbooks zhibiao writes ─────────────────────────────────────────

fn draft_rows() -> Vec<DraftRow> {
    let row = |seq: u32, id: &str, name: &str, unit: &str, comparator, kind, frequency| DraftRow {
        seq,
        id: id.into(),
        name: name.into(),
        unit: unit.into(),
        comparator,
        kind,
        frequency,
        lead_units: vec!["县发改局".into(), "县统计局".into()],
        co_units: vec![],
        group: "经济增长".into(),
        section: "一、主要目标".into(),
        quote: format!("{name}原文"),
        last_target: Some("≥150".into()),
        last_actual: Some(6.8),
        duty: (kind == Kind::Cumulative).then(|| "每季度1—2次".to_string()),
    };
    use Comparator::*;
    vec![
        row(
            1,
            "gdp-growth",
            "地区生产总值增长",
            "%",
            AtLeast,
            Kind::Growth,
            Frequency::Quarterly,
        ),
        row(
            2,
            "new-firms",
            "新增市场主体",
            "户",
            MoreThan,
            Kind::Cumulative,
            Frequency::Monthly,
        ),
        row(
            3,
            "jobless",
            "城镇调查失业率",
            "%",
            AtMost,
            Kind::Rate,
            Frequency::Annual,
        ),
        row(
            4,
            "accidents",
            "生产安全事故起数",
            "起",
            LessThan,
            Kind::Level,
            Frequency::Monthly,
        ),
        row(
            5,
            "cpi",
            "居民消费价格涨幅",
            "%",
            About,
            Kind::Rate,
            Frequency::Monthly,
        ),
        row(
            6,
            "band",
            "物价涨幅区间",
            "%",
            Between,
            Kind::Rate,
            Frequency::Quarterly,
        ),
    ]
}

#[test]
fn a_draft_reads_back_as_it_was_written_with_its_targets_empty() {
    let facts = PlanFacts {
        plan_id: Some("taojiang-2025".into()),
        region: Some("桃江县".into()),
        parent: Some("益阳市".into()),
        year: Some(2025),
        title: Some("2025年全县经济社会发展主要目标".into()),
        doc_number: Some("桃政发〔2025〕1号".into()),
        issuer: Some("桃江县人民政府".into()),
        groups: vec!["经济增长".into(), "科技创新".into(), "民生保障".into()],
    };
    let rows = draft_rows();
    let body = draft_workbook(&facts, &rows).unwrap();
    let sheet = read(SheetFormat::Xlsx, &body);
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    // 上年目标 and 上年实际 are known and skipped.
    assert!(
        sheet.ignored_columns.is_empty(),
        "{:?}",
        sheet.ignored_columns
    );
    assert_eq!(sheet.facts, facts);
    assert_eq!(sheet.rows.len(), rows.len());
    for (got, want) in sheet.rows.iter().zip(&rows) {
        assert_eq!(got.seq, Some(want.seq));
        assert_eq!(got.id.as_deref(), Some(want.id.as_str()));
        assert_eq!((&got.name, &got.unit), (&want.name, &want.unit));
        assert_eq!(
            (got.comparator, got.kind, got.frequency),
            (want.comparator, want.kind, want.frequency),
            "{}",
            want.name
        );
        assert_eq!(got.lead_units, want.lead_units);
        assert!(got.co_units.is_empty());
        assert_eq!(got.group.as_deref(), Some(want.group.as_str()));
        assert_eq!(got.section.as_deref(), Some(want.section.as_str()));
        assert_eq!(got.quote.as_deref(), Some(want.quote.as_str()));
        assert_eq!((got.value, got.upper), (None, None));
    }
    assert_eq!(sheet.rows[0].row, 2);
}

#[test]
fn a_blank_template_reads_as_no_rows_and_no_errors() {
    let body = blank_workbook().unwrap();
    let sheet = read(SheetFormat::Xlsx, &body);
    assert_eq!(sheet, PlanSheet::default());
}

/// The XML of the workbook part `name`.
fn part(body: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let mut xml = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

#[test]
fn the_workbooks_have_their_sheets_lists_and_notes() {
    for (body, extra) in [
        (blank_workbook().unwrap(), false),
        (
            draft_workbook(&PlanFacts::default(), &draft_rows()).unwrap(),
            true,
        ),
    ] {
        let limits = Limits::DEFAULT;
        let never = Cancel::never();
        let mut book = super::xlsx::open(&body, &limits, &never).unwrap();
        assert_eq!(book.sheet_names(), ["指标", "方案", "填表说明"]);
        let mut header = Vec::new();
        book.rows("指标", |row, cells| {
            if row == 1 {
                header = cells.into_iter().map(|c| c.text).collect();
            }
            Ok(())
        })
        .unwrap();
        let mut want: Vec<&str> = HEADERS.to_vec();
        if extra {
            want.splice(5..5, DRAFT_EXTRA);
        }
        assert_eq!(header, want);
        let mut keys = Vec::new();
        book.rows("方案", |_, cells| {
            keys.push(cells[0].text.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            keys,
            [
                "项目",
                "方案代码",
                "地区",
                "上级地区",
                "年度",
                "方案名称",
                "文号",
                "发文单位",
                "板块"
            ]
        );
        let mut explained = String::new();
        book.rows("填表说明", |_, cells| {
            explained.push_str(&cells[0].text);
            explained.push('\n');
            Ok(())
        })
        .unwrap();
        for h in HEADERS.iter().chain(FACT_KEYS.iter()) {
            assert!(explained.contains(h), "填表说明 does not explain {h}");
        }
        // Three drop-down lists on the 指标 sheet, with the words the reader takes.
        let xml = part(&body, "xl/worksheets/sheet1.xml");
        assert_eq!(xml.matches("<dataValidation ").count(), 3, "{xml}");
        for list in ["累计,增速,比率,存量", "月,季,年", "区间"] {
            assert!(xml.contains(list), "{list}");
        }
        assert!(xml.contains("<pane ") && xml.contains("state=\"frozen\""));
    }
}

#[test]
fn the_words_the_draft_writes_are_the_ones_the_reader_takes() {
    let mut text = String::from("指标名称,单位,年度目标,目标类型,指标类型,报送频率,牵头单位\n");
    let mut want = Vec::new();
    for (i, c) in [
        Comparator::AtLeast,
        Comparator::MoreThan,
        Comparator::AtMost,
        Comparator::LessThan,
        Comparator::About,
    ]
    .into_iter()
    .enumerate()
    {
        for k in Kind::ALL {
            for f in Frequency::ALL {
                text.push_str(&format!(
                    "指标{i}{k}{f},家,5,{},{},{},县统计局\n",
                    comparator_text(c),
                    kind_text(*k),
                    frequency_text(*f)
                ));
                want.push((c, *k, *f));
            }
        }
    }
    let sheet = csv(&text);
    assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
    let got: Vec<_> = sheet
        .rows
        .iter()
        .map(|r| (r.comparator, r.kind, r.frequency))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_huge_header_is_cut_where_it_names_a_column() {
    let huge = "年度目标".to_string() + &"x".repeat(100_000);
    let other = "y".repeat(100_000);
    let sheet = csv(&format!(
        "指标名称,单位,{huge},牵头单位,{other}\na,户,约八,u,z\n"
    ));
    assert_eq!(sheet.errors.len(), 1);
    let e = &sheet.errors[0];
    assert!(
        e.field.starts_with("年度目标xx") && e.field.chars().count() <= 41,
        "{}",
        e.field.len()
    );
    assert!(e.message.chars().count() <= super::MAX_MESSAGE_CHARS + 1);
    assert_eq!(sheet.ignored_columns[0].chars().count(), 41);
}

#[test]
fn a_duty_per_period_is_read_from_its_column_and_a_bad_one_named() {
    use crate::domain::Duty;
    let quarter = |min, max| Duty {
        per: Frequency::Quarterly,
        min,
        max,
    };
    assert_eq!(duty_words("每季度1次"), Some(quarter(1.0, None)));
    assert_eq!(duty_words("每季度1—2次"), Some(quarter(1.0, Some(2.0))));
    assert_eq!(duty_words("每季1-2场"), Some(quarter(1.0, Some(2.0))));
    assert_eq!(
        duty_words("每月至少2次"),
        Some(Duty {
            per: Frequency::Monthly,
            min: 2.0,
            max: None
        })
    );
    for bad in [
        "一季度1次",
        "每季度",
        "每季度2—1次",
        "每季度0次",
        "每季度1次2次",
    ] {
        assert_eq!(duty_words(bad), None, "{bad}");
    }

    let sheet = csv("指标名称,单位,年度目标,牵头单位,每期要求\n\
         专题研究安全生产,次,4,县应急管理局,每季度1—2次\n\
         政企交流活动,次,4,县优办,每季度若干次\n");
    assert_eq!(sheet.rows[0].duty, Some(quarter(1.0, Some(2.0))));
    assert_eq!(sheet.errors.len(), 1, "{:?}", sheet.errors);
    assert_eq!(sheet.errors[0].row, 3);
    assert!(
        sheet.errors[0].message.contains("每季度若干次"),
        "{:?}",
        sheet.errors
    );
}

#[test]
fn schedules_and_parts_are_read_as_clerks_write_them() {
    use super::plan_sheet::{parts_words, shares_words};
    let twelve = "0.05,0.1,0.2,0.3,0.4,0.55,0.6,0.65,0.75,0.85,0.92,1";
    assert_eq!(shares_words(twelve).unwrap()[5], 0.55);
    // Percentages, with or without the sign, and full-width commas.
    let pct = shares_words("20%、50%、80%、100%").unwrap();
    assert_eq!(pct.len(), 12);
    assert!((pct[2] - 0.2).abs() < 1e-12 && (pct[4] - 0.4).abs() < 1e-12);
    assert_eq!(shares_words("20，50，80，100").unwrap(), pct);
    for (bad, why) in [
        ("0.2,0.5,1", "写了3个"),
        ("0.5,0.4,0.8,1", "不能比前一期小"),
        ("0.2,0.5,0.8,0.9", "最后一期应为全年"),
        ("0.2,半,0.8,1", "“半”不是数字"),
        ("20%,50%,80%,120%", "0到1之间"),
    ] {
        let e = shares_words(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }

    let parts = parts_words("其中：产业类项目38个、政府类项目28个").unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.name.as_str(), p.value))
            .collect::<Vec<_>>(),
        [("产业类项目", 38.0), ("政府类项目", 28.0)]
    );
    assert_eq!(parts_words("风电3个，光伏2个").unwrap().len(), 2);
    for bad in ["38个", "产业类项目", "产业类38个28个", ""] {
        assert_eq!(parts_words(bad), None, "{bad}");
    }
}
