//! The 数据报送 pages a signed-in submitter works in: the month's page (download the
//! template of its own units, upload it, or enter one figure by hand, and see its
//! indicators' statuses), the preview of an upload row by row with a 说明 box for each
//! row a quality check refuses, and the result of a confirm.
//!
//! Pure renderers of view models the API fills in ([`crate::api::submit`]); written in
//! maud, so every figure, name and message is escaped by construction. The forms are
//! `data-csrf` forms: `/assets/session.js` sends them with the session's CSRF token.

use maud::{html, Markup};

use super::html::{form_page, status_badge, Viewer};
use crate::domain::Period;
use crate::engine::Status;
use crate::text::{self, Lang};

/// One of the unit's indicators for the month: what it stands at.
#[derive(Debug, Clone)]
pub struct UnitRow {
    pub id: String,
    pub name: String,
    /// The target as the plan writes it (≥150家).
    pub target: String,
    /// The month's figure with its unit, if reported.
    pub value: Option<String>,
    /// Whether a figure is expected for the month (a quarterly figure is not, in October).
    pub due: bool,
    pub status: Status,
}

/// An indicator the one-figure form offers.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: String,
    pub name: String,
    pub unit: String,
}

/// A message at the top of a page.
#[derive(Debug, Clone)]
pub struct Notice {
    /// `ok`, `warning` or `error` (the CSS class `alert-…`).
    pub kind: &'static str,
    pub text: String,
    /// Row by row, when the message is about rows.
    pub details: Vec<String>,
}

impl Notice {
    pub fn error(text: impl Into<String>, details: Vec<String>) -> Notice {
        Notice {
            kind: "error",
            text: text.into(),
            details,
        }
    }
    pub fn warning(text: impl Into<String>) -> Notice {
        Notice {
            kind: "warning",
            text: text.into(),
            details: Vec::new(),
        }
    }
    pub fn ok(text: impl Into<String>) -> Notice {
        Notice {
            kind: "ok",
            text: text.into(),
            details: Vec::new(),
        }
    }
}

/// The 数据报送 page of one month.
#[derive(Debug, Clone)]
pub struct SubmitView<'a> {
    pub viewer: &'a Viewer,
    /// The month being reported.
    pub period: Period,
    /// The months the page offers, latest first.
    pub periods: Vec<Period>,
    /// The units the person writes for (县科工局), or empty for the whole region.
    pub units: String,
    pub choices: Vec<Choice>,
    pub statuses: Vec<UnitRow>,
    pub notice: Option<Notice>,
}

/// One row of an upload's preview.
#[derive(Debug, Clone)]
pub struct PreviewLine {
    pub row: usize,
    pub indicator: String,
    pub name: String,
    pub period: String,
    /// `created`, `replaced`, `unchanged`, `skipped`, `error`, `failed_checks` or `note`
    /// (no figure; the note is kept on the period).
    pub action: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
    pub messages: Vec<String>,
    /// The checks refused, as the bureau names them (累计值回落).
    pub checks: Vec<String>,
    pub explanation: Option<String>,
}

/// The preview of an upload.
#[derive(Debug, Clone)]
pub struct PreviewView<'a> {
    pub viewer: &'a Viewer,
    pub period: Period,
    pub file_name: String,
    /// The stashed file's id and the preview's confirm token, sent back by 确认提交.
    pub upload: String,
    pub confirm: String,
    pub lines: Vec<PreviewLine>,
    pub notice: Option<Notice>,
}

/// A row written by a confirm.
#[derive(Debug, Clone)]
pub struct WrittenLine {
    pub row: usize,
    pub name: String,
    pub period: String,
    pub outcome: String,
    pub revision: Option<u32>,
    /// The checks it was stored flagged for, with its 说明.
    pub flagged: Vec<String>,
    /// For a row kept as a note (`outcome` `note`): the note.
    pub note: Option<String>,
}

/// What a confirm (or the one-figure form) wrote.
#[derive(Debug, Clone)]
pub struct ResultView<'a> {
    pub viewer: &'a Viewer,
    pub period: Period,
    pub written: Vec<WrittenLine>,
    /// Rows left out: (row, indicator as named, why).
    pub skipped: Vec<(usize, String, String)>,
    pub statuses: Vec<UnitRow>,
}

/// An action of a preview as the page words it.
pub fn action_zh(action: &str) -> &'static str {
    match action {
        "created" => "新增",
        "replaced" => "更新",
        "unchanged" => "未变",
        "skipped" => "跳过",
        "failed_checks" => "未通过审核",
        "note" => "备注",
        _ => "错误",
    }
}

fn month(p: Period) -> String {
    text::year_month(Lang::Zh, p)
}

/// A notice above a page's content (also the 审核与发布 page's).
pub(super) fn notice(n: &Option<Notice>) -> Markup {
    html! {
        @if let Some(n) = n {
            div class={ "alert alert-" (n.kind) } role="alert" {
                p { (n.text) }
                @if !n.details.is_empty() {
                    ul { @for d in &n.details { li { (d) } } }
                }
            }
        }
    }
}

fn upload_form(period: Period, label: &str) -> Markup {
    html! {
        form.upload method="post" action={ "/submit/preview?period=" (period) }
            enctype="multipart/form-data" data-csrf {
            label for="file" { "填好的报送表（Excel .xlsx 或 CSV）" }
            input type="file" id="file" name="file" accept=".xlsx,.csv" required;
            button type="submit" { (label) }
        }
    }
}

fn statuses_table(period: Period, rows: &[UnitRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p { "没有由您负责报送的指标。" }
        } @else {
            div.table-wrap {
                table.unit-status {
                    caption { "本单位指标 · " (month(period)) }
                    thead { tr {
                        th scope="col" { "指标" }
                        th scope="col" { "目标" }
                        th scope="col" { (month(period)) "数据" }
                        th scope="col" { "状态" }
                    } }
                    tbody {
                        @for r in rows {
                            tr data-indicator=(r.id) {
                                td { a href={ "/indicators/" (r.id) "?as_of=" (period) } { (r.name) } }
                                td { (r.target) }
                                td.num {
                                    @match &r.value {
                                        Some(v) => (v),
                                        None if r.due => span.missing { "未报" },
                                        None => span.missing title="本指标本月不报送" { "本月不报" },
                                    }
                                }
                                td { (status_badge(r.status)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The 数据报送 page of a month.
pub fn submit_page(v: &SubmitView<'_>) -> String {
    let title = format!("数据报送 · {}", month(v.period));
    let body = html! {
        header.page-header {
            h1 { "数据报送" }
            p.meta {
                @if v.units.is_empty() { "全部指标" } @else { "报送单位：" (v.units) }
                " · 报告期 " (month(v.period))
            }
            nav { a href={ "/?as_of=" (v.period) } { "← 指标监测总览" } }
        }
        main.submit {
            (notice(&v.notice))
            section aria-labelledby="step-period" {
                h2 #step-period { "报告期" }
                form.period method="get" action="/submit" {
                    label for="period" { "报告期" }
                    select #period name="period" {
                        @for p in &v.periods {
                            option value=(p) selected[*p == v.period] { (month(*p)) }
                        }
                    }
                    button type="submit" { "切换" }
                }
            }
            section aria-labelledby="step-template" {
                h2 #step-template { "第一步：下载报送模板" }
                p { "模板只列出由您负责报送的指标，已填好指标编码、名称、目标和上期数；在“本期数”一列填写" (month(v.period)) "的累计数。" }
                p { a.button #template href={ "/submit/template.xlsx?period=" (v.period) } download { "下载" (month(v.period)) "报送模板（.xlsx）" } }
            }
            section aria-labelledby="step-upload" {
                h2 #step-upload { "第二步：上传并预览" }
                p { "上传后先显示预览：每一行将新增、更新、跳过还是有错误，以及未通过审核的行。确认之前不会写入任何数据。" }
                (upload_form(v.period, "上传并预览"))
            }
            section aria-labelledby="one-figure" {
                h2 #one-figure { "单项填报" }
                @if v.choices.is_empty() {
                    p { "没有可填报的指标。" }
                } @else {
                    form.figure method="post" action="/submit/figure" data-csrf {
                        input type="hidden" name="period" value=(v.period);
                        p {
                            label for="indicator" { "指标" }
                            select #indicator name="indicator" required {
                                @for c in &v.choices {
                                    option value=(c.id) { (c.name) "（" (c.unit) "）" }
                                }
                            }
                        }
                        p {
                            label for="value" { (month(v.period)) "累计数" }
                            input #value name="value" type="text" inputmode="decimal" required;
                        }
                        p {
                            label for="status" { "数据状态" }
                            select #status name="status" {
                                option value="A" { "正式数" }
                                option value="P" { "快报/初步数" }
                                option value="E" { "估计数" }
                            }
                        }
                        p {
                            label for="note" { "备注" }
                            input #note name="note" type="text" maxlength="500";
                        }
                        p {
                            label for="explanation" { "强制上报说明（数据未通过审核但确实无误时填写）" }
                            textarea #explanation name="explanation" rows="2" maxlength="2000" {}
                        }
                        p { button type="submit" { "提交" } }
                    }
                }
            }
            section aria-labelledby="unit-status" {
                h2 #unit-status { "本单位指标状态" }
                (statuses_table(v.period, &v.statuses))
            }
        }
    };
    form_page(&title, "submit-page", v.viewer, body).into_string()
}

/// The preview of an upload, with 确认提交 when nothing stands in the way.
pub fn preview_page(v: &PreviewView<'_>) -> String {
    let count = |a: &str| v.lines.iter().filter(|l| l.action == a).count();
    let (errors, failed) = (count("error"), count("failed_checks"));
    let notes = count("note");
    let writes = count("created") + count("replaced") + count("failed_checks") + notes;
    let title = format!("预览 · 数据报送 · {}", month(v.period));
    let body = html! {
        header.page-header {
            h1 { "报送预览" }
            p.meta { "文件 " (v.file_name) " · 报告期 " (month(v.period)) }
            nav { a href={ "/submit?period=" (v.period) } { "← 返回数据报送" } }
        }
        main.submit.preview {
            (notice(&v.notice))
            p.counts {
                "新增 " strong { (count("created")) } " 行，更新 " strong { (count("replaced")) }
                " 行，未变 " strong { (count("unchanged")) } " 行，跳过 " strong { (count("skipped")) }
                " 行，错误 " strong { (errors) } " 行，未通过审核 " strong { (failed) } " 行"
                @if notes > 0 { "，只有备注 " strong { (notes) } " 行（备注将保存，数据仍须补报）" }
                "。确认之前不会写入任何数据。"
            }
            form.confirm method="post" action={ "/submit/confirm?period=" (v.period) } data-csrf {
                input type="hidden" name="upload" value=(v.upload);
                input type="hidden" name="confirm" value=(v.confirm);
                div.table-wrap {
                    table.preview {
                        thead { tr {
                            th scope="col" { "行" }
                            th scope="col" { "指标" }
                            th scope="col" { "报告期" }
                            th scope="col" { "处理" }
                            th scope="col" { "原值" }
                            th scope="col" { "新值" }
                            th scope="col" { "说明" }
                        } }
                        tbody {
                            @for l in &v.lines {
                                tr class={ "action-" (l.action) } data-row=(l.row) {
                                    td.num { (l.row) }
                                    td {
                                        @if l.name.is_empty() { (l.indicator) } @else { (l.name) }
                                    }
                                    td { (l.period) }
                                    td { span class={ "action action-" (l.action) } { (action_zh(l.action)) } }
                                    td.num { (l.old.as_deref().unwrap_or(text::DASH)) }
                                    td.num {
                                        @if l.action == "replaced" {
                                            (l.old.as_deref().unwrap_or(text::DASH)) " → "
                                        }
                                        (l.new.as_deref().unwrap_or(text::DASH))
                                    }
                                    td {
                                        @for m in &l.messages { p.message { (m) } }
                                        @if l.action == "failed_checks" {
                                            label for={ "explanation-" (l.row) } {
                                                "强制上报说明（" (l.checks.join("、")) "）"
                                            }
                                            textarea id={ "explanation-" (l.row) } name={ "explanation." (l.row) }
                                                rows="2" maxlength="2000" required
                                                placeholder="说明数据为何无误，如：新增企业入统" {
                                                (l.explanation.as_deref().unwrap_or(""))
                                            }
                                        } @else if let Some(e) = &l.explanation {
                                            p.explained { "强制上报说明：" (e) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if errors > 0 {
                    p.alert.alert-error role="alert" {
                        "有 " (errors) " 行错误，本表不能提交。请在 Excel 中改正后重新上传。"
                    }
                } @else if writes == 0 {
                    p.alert.alert-warning role="alert" { "本表没有要写入的数据。" }
                } @else {
                    p {
                        button type="submit" #confirm-submit { "确认提交" }
                        @if failed > 0 {
                            " " span.hint { "未通过审核的行须先填写强制上报说明，数据将带标记保存。" }
                        }
                    }
                }
            }
            section aria-labelledby="again" {
                h2 #again { "重新上传" }
                (upload_form(v.period, "上传并预览"))
            }
        }
    };
    form_page(&title, "submit-page", v.viewer, body).into_string()
}

/// What was written, and the unit's indicators' statuses after it.
pub fn result_page(v: &ResultView<'_>) -> String {
    let title = format!("已报送 · 数据报送 · {}", month(v.period));
    let body = html! {
        header.page-header {
            h1 { "报送结果" }
            p.meta { "报告期 " (month(v.period)) }
            nav { a href={ "/submit?period=" (v.period) } { "← 返回数据报送" } }
        }
        main.submit.result {
            div.alert.alert-ok role="status" {
                p { "已写入 " strong { (v.written.iter().filter(|w| w.outcome != "unchanged" && w.outcome != "note").count()) } " 行"
                    @let same = v.written.iter().filter(|w| w.outcome == "unchanged").count();
                    @if same > 0 { "，" (same) " 行与已有数据相同" }
                    @let notes = v.written.iter().filter(|w| w.outcome == "note").count();
                    @if notes > 0 { "，保存备注 " (notes) " 行（数据仍须补报）" }
                    @if !v.skipped.is_empty() { "，跳过 " (v.skipped.len()) " 行" }
                    "。" }
            }
            div.table-wrap {
                table.written {
                    caption { "本次报送" }
                    thead { tr {
                        th scope="col" { "行" }
                        th scope="col" { "指标" }
                        th scope="col" { "报告期" }
                        th scope="col" { "结果" }
                        th scope="col" { "版本" }
                        th scope="col" { "审核标记" }
                    } }
                    tbody {
                        @for w in &v.written {
                            tr class={ "outcome-" (w.outcome) } {
                                td.num { (w.row) }
                                td { (w.name) }
                                td { (w.period) }
                                td {
                                    (action_zh(&w.outcome))
                                    @if let Some(n) = &w.note { "：" (n) }
                                }
                                td.num { @if let Some(r) = w.revision { "第" (r) "版" } }
                                td { (w.flagged.join("、")) }
                            }
                        }
                    }
                }
            }
            @if !v.skipped.is_empty() {
                details.skipped {
                    summary { "跳过的行（" (v.skipped.len()) "行）" }
                    ul {
                        @for (row, ind, why) in &v.skipped {
                            li { "第" (row) "行 " (ind) "：" (why) }
                        }
                    }
                }
            }
            section aria-labelledby="unit-status" {
                h2 #unit-status { "本单位指标状态" }
                (statuses_table(v.period, &v.statuses))
            }
            p { a href={ "/?as_of=" (v.period) } { "查看指标监测总览" } }
        }
    };
    form_page(&title, "submit-page", v.viewer, body).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer() -> Viewer {
        Viewer {
            who: "科工局（填报员）".into(),
            csrf: "c5".into(),
        }
    }

    fn line(action: &'static str) -> PreviewLine {
        PreviewLine {
            row: 3,
            indicator: "tech-sme-registered".into(),
            name: "<科技型中小企业>".into(),
            period: "2023-06".into(),
            action,
            old: Some("60家".into()),
            new: Some("63家".into()),
            messages: vec!["累计值回落：比上月少".into()],
            checks: vec!["累计值回落".into()],
            explanation: None,
        }
    }

    #[test]
    fn a_refused_row_gets_a_required_explanation_box_named_by_its_row() {
        let v = viewer();
        let html = preview_page(&PreviewView {
            viewer: &v,
            period: Period::new(2023, 6).unwrap(),
            file_name: "a.xlsx".into(),
            upload: "u1".into(),
            confirm: "t1".into(),
            lines: vec![line("failed_checks"), line("replaced")],
            notice: None,
        });
        assert!(html.contains(r#"name="explanation.3""#));
        assert!(html.contains("required"));
        assert!(html.contains("&lt;科技型中小企业&gt;") && !html.contains("<科技"));
        assert!(html.contains("60家 → 63家"));
        assert!(html.contains(r#"name="confirm" value="t1""#));
        assert!(html.contains("确认提交"));
        assert!(html.contains(r#"<meta name="csrf-token" content="c5">"#));
        assert!(
            !html.contains("dashboard.js"),
            "no auto-refresh on a form page"
        );
    }

    #[test]
    fn an_error_row_stops_the_confirm() {
        let v = viewer();
        let html = preview_page(&PreviewView {
            viewer: &v,
            period: Period::new(2023, 6).unwrap(),
            file_name: "a.xlsx".into(),
            upload: "u1".into(),
            confirm: "t1".into(),
            lines: vec![line("error"), line("created")],
            notice: None,
        });
        assert!(!html.contains("确认提交"));
        assert!(html.contains("有 1 行错误，本表不能提交"));
    }
}
