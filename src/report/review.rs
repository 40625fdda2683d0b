//! The 审核与发布 page (`/review`), where the 县统计局 reviews a month's figures, sends
//! back what is wrong (退回) and releases the month, and the 修改密码 page (`/account`).
//!
//! Both are form pages of a signed-in person: their forms carry `data-csrf`, so the
//! session script sends them with the session's CSRF token.

use maud::html;

use super::html::{form_page, Viewer};
use super::submit::{notice, Notice};
use crate::domain::Period;
use crate::text::{self, Lang};

/// One month in the list.
#[derive(Debug, Clone)]
pub struct MonthLine {
    pub period: Period,
    pub state_label: String,
    pub figures: usize,
    pub to_review: usize,
    pub returned: usize,
    /// When a scheduled or past release is (local time), if any.
    pub release_at: Option<String>,
}

/// One figure of the month shown.
#[derive(Debug, Clone)]
pub struct FigureLine {
    pub indicator: String,
    pub name: String,
    pub lead_units: String,
    pub value: String,
    pub revision: u32,
    pub state: String,
    pub state_label: String,
    pub note: Option<String>,
}

/// What the 审核与发布 page shows.
#[derive(Debug, Clone)]
pub struct ReviewView<'a> {
    pub region: &'a str,
    pub released_through: Option<Period>,
    pub months: &'a [MonthLine],
    /// The month shown, with its state, and its figures.
    pub period: Option<Period>,
    pub state_label: &'a str,
    /// Whether the month shown is released: its figures are listed, not judged again.
    pub released: bool,
    pub figures: &'a [FigureLine],
    pub notice: Option<Notice>,
    pub viewer: &'a Viewer,
}

fn month(p: Period) -> String {
    text::year_month(Lang::Zh, p)
}

/// The 审核与发布 page.
pub fn review_page(v: &ReviewView<'_>) -> String {
    let released = v.released_through.map_or_else(
        || "尚未发布".to_string(),
        |p| format!("已发布至{}", month(p)),
    );
    let body = html! {
        header.page-header {
            h1 { "审核与发布" }
            p.meta { (v.region) " · " (released) }
            nav { a href="/" { "← 指标监测总览" } }
        }
        main.submit.review {
            (notice(&v.notice))
            section aria-labelledby="months-h" {
                h2 id="months-h" { "各月数据" }
                @if v.months.is_empty() {
                    p { "还没有报送的数据。" }
                } @else {
                    table.months {
                        thead { tr { th { "月份" } th { "状态" } th { "数据项" } th { "待审核" } th { "已退回" } th { "发布时间" } } }
                        tbody {
                            @for m in v.months {
                                tr data-period=(m.period) {
                                    td { a href={ "/review?period=" (m.period) } { (month(m.period)) } }
                                    td.state { (m.state_label) }
                                    td { (m.figures) }
                                    td { (m.to_review) }
                                    td { (m.returned) }
                                    td { (m.release_at.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(p) = v.period {
                section aria-labelledby="month-h" {
                    h2 id="month-h" { (month(p)) "数据 · " span.period-state { (v.state_label) } }
                    @if v.figures.is_empty() {
                        p { "本月没有报送的数据。" }
                    } @else if v.released {
                        p.hint { "本月已发布。发布后的更正由填报单位重新报送，作为修订记录，公众即时可见。" }
                        table.figures {
                            thead { tr { th { "指标" } th { "牵头单位" } th { "本期数" } th { "版本" } } }
                            tbody {
                                @for f in v.figures {
                                    tr data-indicator=(f.indicator) {
                                        td { (f.name) } td { (f.lead_units) } td.value { (f.value) } td { (f.revision) }
                                    }
                                }
                            }
                        }
                    } @else {
                        form #verdicts method="post" action="/review/verdicts" data-csrf {
                            input type="hidden" name="period" value=(p);
                            p.hint { "勾选核对无误的数据审核通过；有问题的数据填写退回原因，退回填报单位修改。" }
                            table.figures {
                                thead { tr { th { "通过" } th { "指标" } th { "牵头单位" } th { "本期数" } th { "版本" } th { "状态" } th { "退回原因" } } }
                                tbody {
                                    @for f in v.figures {
                                        tr data-indicator=(f.indicator) data-state=(f.state) {
                                            td {
                                                input type="checkbox" name="pass" value=(f.indicator)
                                                    checked[f.state == "submitted" || f.state == "resubmitted"]
                                                    aria-label={ "通过：" (f.name) };
                                            }
                                            td { (f.name) }
                                            td { (f.lead_units) }
                                            td.value { (f.value) }
                                            td { (f.revision) }
                                            td.state { (f.state_label) }
                                            td {
                                                @if let Some(n) = &f.note { span.note { (n) } br; }
                                                input type="text" name={ "return_" (f.indicator) }
                                                    placeholder="退回原因（填写即退回）"
                                                    aria-label={ "退回原因：" (f.name) };
                                            }
                                        }
                                    }
                                }
                            }
                            p { button type="submit" #submit-verdicts { "提交审核结果" } }
                        }
                    }
                    @if !v.released {
                    form #release method="post" action="/review/release" data-csrf {
                        input type="hidden" name="period" value=(p);
                        p.hint { "发布后，本月及此前各月的数据对公众可见。须本月（及上次发布后各月）全部数据审核通过。" }
                        label for="at" { "定时发布（不填则立即发布）" }
                        input type="datetime-local" id="at" name="at";
                        p { button type="submit" #release-now { "发布" } }
                    }
                    }
                }
            }
        }
    };
    form_page(
        &format!("审核与发布 · {}", v.region),
        "review-page",
        v.viewer,
        body,
    )
    .into_string()
}

/// The public's page for a month not yet released (or before any release): says so,
/// and links to the dashboard of what is released.
pub fn unreleased_page(detail: &str) -> String {
    html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                link rel="icon" href="data:,";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "数据待发布 · 指标监测" }
                link rel="stylesheet" href="/assets/dashboard.css";
            }
            body.unreleased-page {
                div.signed-in.signed-out { a href="/login" { "登录" } }
                main {
                    h1 { "数据待发布" }
                    p.release-note role="status" { (detail) }
                    p { a href="/" { "查看已发布的数据" } }
                }
            }
        }
    }
    .into_string()
}

/// The 修改密码 page.
pub fn account_page(viewer: &Viewer, user: Option<&str>, notice_: Option<Notice>) -> String {
    let body = html! {
        header.page-header {
            h1 { "修改密码" }
            nav { a href="/" { "← 指标监测总览" } }
        }
        main.submit.account {
            (notice(&notice_))
            @if let Some(name) = user {
                form #password method="post" action="/account/password" data-csrf {
                    p { "用户：" (name) }
                    label for="current" { "当前密码" }
                    input type="password" id="current" name="current" autocomplete="current-password" required;
                    label for="new" { "新密码（至少8个字符）" }
                    input type="password" id="new" name="new" autocomplete="new-password" required;
                    label for="confirm" { "再次输入新密码" }
                    input type="password" id="confirm" name="confirm" autocomplete="new-password" required;
                    p { button type="submit" { "修改密码" } }
                }
                p.hint { "修改后，此前的登录全部失效，请用新密码重新登录。" }
            } @else {
                p { "您是用令牌登录的：令牌没有密码。需要新令牌请联系管理员。" }
            }
        }
    };
    form_page("修改密码", "account-page", viewer, body).into_string()
}
