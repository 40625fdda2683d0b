//! The 指标库 workbooks zhibiao hands a county office: a blank one to fill in, and
//! next year's plan drafted from this year's.
//!
//! Both are what [`super::plan_sheet::read_plan`] reads, so a filled-in copy imports
//! as it is: the 指标 sheet's header uses the reader's own column names, the words
//! written in 目标类型, 指标类型 and 报送频率 are among those it accepts (and are
//! offered as drop-down lists), and the 方案 sheet has one 项目 | 内容 pair a row. The
//! draft adds 上年目标 and 上年实际 beside 年度目标, for the clerk setting the new
//! figure; the reader knows those columns and skips them. A third sheet, 填表说明,
//! says in Chinese what each column takes.
//!
//! The draft leaves 年度目标 empty: next year's figure is the office's to decide, and
//! a row read back with an empty target has `value: None`, for the importer to ask
//! about.

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

use super::plan_sheet::{PlanFacts, FACTS_SHEET, FACT_KEYS, NOTES_SHEET};
use crate::domain::{Comparator, Frequency, Kind};

/// One indicator of this year's plan, as the draft of next year's writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRow {
    pub seq: u32,
    pub id: String,
    pub name: String,
    pub unit: String,
    pub comparator: Comparator,
    pub kind: Kind,
    pub frequency: Frequency,
    pub lead_units: Vec<String>,
    pub co_units: Vec<String>,
    pub group: String,
    pub section: String,
    pub quote: String,
    /// This year's target as the plan wrote it, e.g. "≥150".
    pub last_target: Option<String>,
    /// This year's latest figure.
    pub last_actual: Option<f64>,
    /// This year's per-period duty, as 每期要求 writes it (“每季度1—2次”): a duty is
    /// usually set again, so the draft carries it over for the clerk to keep or clear.
    pub duty: Option<String>,
}

/// The name of the indicator sheet.
pub const SHEET: &str = "指标";

/// The indicator sheet's columns, in order, in the blank template.
pub const HEADERS: [&str; 14] = [
    "序号",
    "指标代码",
    "指标名称",
    "单位",
    "年度目标",
    "目标类型",
    "指标类型",
    "报送频率",
    "牵头单位",
    "责任单位",
    "所属板块",
    "出处章节",
    "出处原文",
    "每期要求",
];

/// The columns the draft adds right after 年度目标.
pub const DRAFT_EXTRA: [&str; 2] = ["上年目标", "上年实际"];

/// The last spreadsheet row the drop-down lists reach in a blank template.
const LIST_ROWS: u32 = 1000;

/// What 目标类型 offers: the short forms. The reader takes more (不低于, 超过, 低于,
/// 控制在 …), which 填表说明 lists.
const COMPARATOR_LIST: [&str; 8] = ["≥", ">", "≤", "<", "以上", "以内", "左右", "区间"];
const KIND_LIST: [&str; 6] = ["累计", "增速", "比率", "存量", "清单", "等级"];
const FREQUENCY_LIST: [&str; 3] = ["月", "季", "年"];

/// How the draft writes a comparator in 目标类型.
pub fn comparator_text(c: Comparator) -> &'static str {
    match c {
        Comparator::AtLeast => "≥",
        Comparator::MoreThan => ">",
        Comparator::AtMost => "≤",
        Comparator::LessThan => "<",
        Comparator::About => "左右",
        Comparator::Between => "区间",
    }
}

/// How the draft writes a kind in 指标类型.
pub fn kind_text(k: Kind) -> &'static str {
    match k {
        Kind::Cumulative => "累计",
        Kind::Growth => "增速",
        Kind::Rate => "比率",
        Kind::Level => "存量",
        Kind::Milestone => "清单",
        Kind::Ordinal => "等级",
    }
}

/// How the draft writes a duty in 每期要求, as the reader takes it back: “每季度1—2次”,
/// “每月至少1次”.
pub fn duty_text(d: &crate::domain::Duty, unit: &str) -> String {
    let per = match d.per {
        Frequency::Monthly => "月",
        Frequency::Quarterly => "季度",
        Frequency::Annual => "年",
    };
    let min = crate::text::fmt_num(d.min);
    match d.max {
        Some(max) if max > d.min => {
            format!("每{per}{min}—{}{unit}", crate::text::fmt_num(max))
        }
        _ => format!("每{per}至少{min}{unit}"),
    }
}

/// How the draft writes a frequency in 报送频率.
pub fn frequency_text(f: Frequency) -> &'static str {
    match f {
        Frequency::Monthly => "月",
        Frequency::Quarterly => "季",
        Frequency::Annual => "年",
    }
}

/// A blank 指标库 workbook: the header, the drop-down lists, an empty 方案 sheet and
/// 填表说明.
pub fn blank_workbook() -> Result<Vec<u8>, String> {
    build(&PlanFacts::default(), &[], false).map_err(|e| e.to_string())
}

/// Next year's 指标库 drafted from this year's: `facts` on the 方案 sheet (one 板块
/// row per group), and one row per indicator with 年度目标 empty and this year's
/// target and figure beside it.
pub fn draft_workbook(facts: &PlanFacts, rows: &[DraftRow]) -> Result<Vec<u8>, String> {
    build(facts, rows, true).map_err(|e| e.to_string())
}

fn build(facts: &PlanFacts, rows: &[DraftRow], draft: bool) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let fill = Format::new()
        .set_background_color(Color::RGB(0xFFF2CC))
        .set_border(FormatBorder::Thin);
    let wrap = Format::new().set_text_wrap();

    let mut headers: Vec<&str> = HEADERS.to_vec();
    if draft {
        let at = headers.iter().position(|h| *h == "年度目标").unwrap_or(4) + 1;
        headers.splice(at..at, DRAFT_EXTRA);
    }
    let col = |name: &str| headers.iter().position(|h| *h == name).unwrap_or(0) as u16;

    let sheet = wb.add_worksheet();
    sheet.set_name(SHEET)?;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
        sheet.set_column_width(c as u16, width(h))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_number(row, col("序号"), f64::from(r.seq))?;
        sheet.write_string(row, col("指标代码"), &r.id)?;
        sheet.write_string(row, col("指标名称"), &r.name)?;
        sheet.write_string(row, col("单位"), &r.unit)?;
        sheet.write_blank(row, col("年度目标"), &fill)?;
        if let Some(t) = &r.last_target {
            sheet.write_string(row, col("上年目标"), t)?;
        }
        if let Some(v) = r.last_actual {
            sheet.write_number(row, col("上年实际"), v)?;
        }
        sheet.write_string(row, col("目标类型"), comparator_text(r.comparator))?;
        sheet.write_string(row, col("指标类型"), kind_text(r.kind))?;
        sheet.write_string(row, col("报送频率"), frequency_text(r.frequency))?;
        sheet.write_string(row, col("牵头单位"), r.lead_units.join("、"))?;
        sheet.write_string(row, col("责任单位"), r.co_units.join("、"))?;
        sheet.write_string(row, col("所属板块"), &r.group)?;
        sheet.write_string(row, col("出处章节"), &r.section)?;
        sheet.write_string_with_format(row, col("出处原文"), &r.quote, &wrap)?;
        if let Some(d) = &r.duty {
            sheet.write_string(row, col("每期要求"), d)?;
        }
    }
    let last = LIST_ROWS.max(rows.len() as u32 + 200) - 1;
    list(
        sheet,
        col("目标类型"),
        last,
        &COMPARATOR_LIST,
        "≥ 以上、> 超过、≤ 以内、< 低于、左右、区间。也可把词直接写在年度目标里，如“150以上”“2–3”。",
    )?;
    list(
        sheet,
        col("指标类型"),
        last,
        &KIND_LIST,
        "累计：全年累加的数量；增速：同比增长率；比率：占比、比例；存量：水平或存量；清单：N个项目中已开工或完成的个数；等级：水质类别、排名等，只论是否达到。",
    )?;
    list(
        sheet,
        col("报送频率"),
        last,
        &FREQUENCY_LIST,
        "月、季或年；不填为按月报送。",
    )?;

    let plan = wb.add_worksheet();
    plan.set_name(FACTS_SHEET)?;
    plan.write_string_with_format(0, 0, "项目", &head)?;
    plan.write_string_with_format(0, 1, "内容", &head)?;
    plan.set_column_width(0, 14)?;
    plan.set_column_width(1, 48)?;
    plan.set_freeze_panes(1, 0)?;
    let year = facts.year.map(|y| y.to_string());
    let values = [
        &facts.plan_id,
        &facts.region,
        &facts.parent,
        &year,
        &facts.title,
        &facts.doc_number,
        &facts.issuer,
    ];
    let mut row = 1u32;
    for (key, value) in FACT_KEYS.iter().zip(values) {
        plan.write_string(row, 0, *key)?;
        if let Some(v) = value {
            plan.write_string(row, 1, v)?;
        }
        row += 1;
    }
    let groups: Vec<&str> = if facts.groups.is_empty() {
        vec![""]
    } else {
        facts.groups.iter().map(String::as_str).collect()
    };
    for g in groups {
        plan.write_string(row, 0, "板块")?;
        if !g.is_empty() {
            plan.write_string(row, 1, g)?;
        }
        row += 1;
    }

    let notes = wb.add_worksheet();
    notes.set_name(NOTES_SHEET)?;
    let notes_head = ["工作表 / 列", "是否必填", "填写说明", "示例"];
    for (c, h) in notes_head.iter().enumerate() {
        notes.write_string_with_format(0, c as u16, *h, &head)?;
    }
    for (c, w) in [16.0, 10.0, 80.0, 30.0].iter().enumerate() {
        notes.set_column_width(c as u16, *w)?;
    }
    notes.set_freeze_panes(1, 0)?;
    for (i, line) in NOTES.iter().enumerate() {
        for (c, text) in line.iter().enumerate() {
            notes.write_string_with_format(i as u32 + 1, c as u16, *text, &wrap)?;
        }
    }
    wb.save_to_buffer()
}

/// A drop-down list on a column's data rows. Other words the reader accepts may still
/// be typed: a word outside the list only warns.
fn list(
    sheet: &mut Worksheet,
    col: u16,
    last: u32,
    words: &[&str],
    hint: &str,
) -> Result<(), XlsxError> {
    let v = DataValidation::new()
        .allow_list_strings(words)?
        .ignore_blank(true)
        .set_input_message(hint)?
        .set_error_title("不在下拉列表中")?
        .set_error_message("这个词不在下拉列表中。请看“填表说明”中可写的词；仍要使用请点“是”。")?
        .set_error_style(DataValidationErrorStyle::Warning);
    sheet.add_data_validation(1, col, last, col, &v)?;
    Ok(())
}

fn width(header: &str) -> f64 {
    match header {
        "序号" => 6.0,
        "单位" | "目标类型" | "指标类型" | "报送频率" => 10.0,
        "年度目标" | "上年目标" | "上年实际" => 12.0,
        "指标代码" => 20.0,
        "指标名称" => 34.0,
        "牵头单位" | "责任单位" => 24.0,
        "所属板块" | "出处章节" => 16.0,
        "出处原文" => 48.0,
        _ => 14.0,
    }
}

/// 填表说明: one row a column of the 指标 sheet, then the 方案 sheet.
const NOTES: &[[&str; 4]] = &[
    [
        "指标 工作表",
        "",
        "每行一个指标，第一行是表头，列名不要改动（列的次序可以调整）。整行空白或只有序号的行不读。表头中不认识的列会被忽略并提示。",
        "",
    ],
    ["序号", "否", "行的序号，填正整数。", "1"],
    [
        "指标代码",
        "否",
        "指标在系统中的代码，用小写字母、数字和“-”。已有指标请保留原代码，新增指标可留空。",
        "gdp-growth",
    ],
    [
        "指标名称",
        "是",
        "指标的名称，按方案原文写。同一张表中名称不能重复。",
        "地区生产总值增长",
    ],
    ["单位", "是", "计量单位。比率、增速写 %。", "%、亿元、家"],
    [
        "年度目标",
        "是（列）",
        "本年度的目标数值，填数字。也可把目标类型写在数字旁边：“≥150”“150以上”“8左右”“3以内”；区间目标写上下限，如“2–3”或“区间 2–3”。百分数可写 5 或 5%。暂未确定的可留空，导入时会提示。",
        "6.5、≥150、2–3",
    ],
    [
        "上年目标、上年实际",
        "否",
        "只在根据上年方案生成的草稿中出现，供参考，导入时不读。",
        "≥6、6.8",
    ],
    [
        "目标类型",
        "否",
        "实际值与目标比较的方式：≥ 以上 不低于 达到 至少（不低于目标）；> 超过 高于（高于目标）；≤ 以内 以下 不超过 控制在（不高于目标）；< 低于 不满（低于目标）；左右 约（接近目标）；区间（在上下限之间）。不填按 ≥ 处理。与年度目标中写的词不一致时报错。",
        "≥",
    ],
    [
        "指标类型",
        "否",
        "累计：全年累加的数量或金额；增速：同比增长率；比率：占比、比例、率；存量：某一时点的水平或存量；清单：N个项目、点位等，按已开工或已完成的个数计；等级：类别、等级或位次（如水质Ⅱ类、排名前50位），只判断是否达到。不填时：名称以“增长”“增速”结尾或含“增长率”的按增速，单位为 % 的按比率，其余按累计。",
        "增速",
    ],
    [
        "报送频率",
        "否",
        "数据多久报送一次：月（月度）、季（季度）、年（年度）。不填按月。",
        "月",
    ],
    [
        "牵头单位",
        "是",
        "负责该指标的单位，多个单位用“、”或逗号分隔。",
        "县发改局、县统计局",
    ],
    [
        "责任单位",
        "否",
        "配合、参与的单位，多个单位用“、”或逗号分隔。",
        "各乡镇",
    ],
    [
        "所属板块",
        "否",
        "指标所属的板块，应与“方案”表中列出的板块一致。",
        "经济增长",
    ],
    [
        "出处章节",
        "否",
        "指标在方案文件中的章节。",
        "一、主要目标",
    ],
    [
        "出处原文",
        "否",
        "方案文件中写该指标的原句。",
        "地区生产总值增长6.5%以上",
    ],
    [
        "每期要求",
        "否",
        "按月或按季逐期考核的任务，每期单独判断是否完成，如“每季度1—2次”“每月至少1次”（上限只作提示，不算未完成）。",
        "每季度1—2次",
    ],
    [
        "可选列",
        "否",
        "还可加以下列：方向（越大越好 / 越小越好，不填时 ≤ 和 < 的目标按越小越好，其余越大越好）；容差（“左右”目标允许的偏差）；上限（区间目标的上限，也可写在年度目标中）；统计代码；英文名称；分项（清单的组成，如“其中：产业类项目38个、政府类项目28个”，不单独考核）；进度安排（累计、清单、增速指标的序时进度：12个月末或4个季度末的累计占比，如“20%、50%、80%、100%”）；基数指标（增速指标所增长的总量指标的名称或代码，如一般公共预算收入，用其上年各月累计数测算后几个月需达到的增速）；上年累计占比（没有基数指标时，上年各月累计占全年的比例，写法同进度安排）；备注（不读）。",
        "",
    ],
    [
        "方案 工作表",
        "",
        "每行一项，A 列写项目，B 列写内容，第一行“项目 | 内容”是表头。项目只能是下列几项，其他项目会报错。",
        "",
    ],
    ["方案代码", "否", "方案在系统中的代码。", "taojiang-2025"],
    ["地区", "否", "制定方案的地区。", "桃江县"],
    ["上级地区", "否", "上一级地区。", "益阳市"],
    ["年度", "否", "方案的年度，写 2025 或 2025年。", "2025"],
    [
        "方案名称",
        "否",
        "方案文件的名称（也可写作“文件名称”）。",
        "2025年全县经济社会发展主要目标",
    ],
    ["文号", "否", "发文字号。", "桃政发〔2025〕1号"],
    ["发文单位", "否", "印发方案的单位。", "桃江县人民政府"],
    [
        "板块",
        "否",
        "方案的板块，按顺序每行写一个；也可在一行中用“、”分隔写多个。",
        "经济增长",
    ],
];
