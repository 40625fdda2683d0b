//! 数据报送 in the browser: the pages a signed-in submitter sends the month from, and
//! their form routes. They are the same batch and the same single write as
//! `POST /v1/readings` and `PUT …/readings/{period}`, run with the session's token.
//!
//! - `GET /submit?period=`: the month's page (template, upload, one-figure form, the
//!   unit's statuses);
//! - `GET /submit/template.xlsx?period=`: the template of the person's own units;
//! - `POST /submit/preview?period=`: a form upload (one file part); the file is kept
//!   ([`super::stash`]) and the preview shown, with a 说明 box for each row a quality
//!   check refuses; nothing is written;
//! - `POST /submit/confirm?period=`: `upload`, `confirm` and `explanation.<row>`; writes
//!   exactly what the preview showed, atomically, or nothing when a previewed row's
//!   reading changed meanwhile (the new preview is shown, saying so);
//! - `POST /submit/figure`: one figure by hand.
//!
//! Every page needs a session (a signed-out browser goes to `/login?next=…`); every
//! post passes the CSRF check from its headers before its body is read.

use std::collections::HashMap;

use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::body::{Body, ReadBody};
use super::filters::{params, read, write, Req, Resp};
use super::input::value;
use super::readings::batch::{self, Mode, PageBatch, PageOutcome, Preview};
use super::readings::upload::{self, Arrival};
use super::readings::{put_one, Put};
use super::session::{csrf, private_answer, require_session, Session};
use super::{may_write, ApiError, Ctx, MAX_BATCH_BODY, MAX_BODY};
use crate::domain::messages::Msg;
use crate::domain::number::{parse_cell, Cell};
use crate::domain::{Indicator, ObsStatus, Period, ReadingInput};
use crate::ingest;
use crate::report::html::Viewer;
use crate::report::submit::{
    self as page, Choice, Notice, PreviewLine, PreviewView, ResultView, SubmitView, UnitRow,
    WrittenLine,
};
use crate::store::{BatchRow, Outcome, Role, Token};
use crate::text::{self, Lang};

/// The page routes of 数据报送, with their methods (for 405s and metrics).
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/submit", &["GET", "HEAD"]),
    ("/submit/template.xlsx", &["GET", "HEAD"]),
    ("/submit/preview", &["POST"]),
    ("/submit/confirm", &["POST"]),
    ("/submit/figure", &["POST"]),
];

super::params! {
    /// The 数据报送 routes: the month being reported.
    struct PeriodParams {
        period: Option<Period> = value::<Period>,
    }
}

fn viewer(s: &Session) -> Viewer {
    Viewer {
        who: s.who(),
        csrf: s.csrf.clone(),
    }
}

/// A page of a signed-in person (no shared cache may keep it).
pub(super) fn html(s: &Session, status: StatusCode, page: String) -> Resp {
    let mut res = warp::reply::Response::new(page.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    private_answer(Some(s), &mut res);
    res
}

/// The month a clerk reports by default: the last one ended.
fn last_ended(ctx: &Ctx) -> Period {
    let now = ctx.clock.this_month();
    if now.month() == 1 {
        Period::new(now.year() - 1, 12).unwrap_or(now)
    } else {
        Period::new(now.year(), now.month() - 1).unwrap_or(now)
    }
}

/// The months the page offers: the two years up to the last ended one, latest first,
/// with `chosen` among them.
fn months(last: Period, chosen: Period) -> Vec<Period> {
    let mut out = Vec::with_capacity(25);
    let (mut y, mut m) = (last.year(), last.month());
    for _ in 0..24 {
        if let Ok(p) = Period::new(y, m) {
            out.push(p);
        }
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    if !out.contains(&chosen) {
        out.push(chosen);
        out.sort_by(|a, b| b.cmp(a));
    }
    out
}

/// A reader's session sends nothing: said on the page rather than as a bare 403.
fn may_submit(s: &Session) -> Option<Notice> {
    (s.token.role == Role::Reader).then(|| {
        Notice::error(
            format!(
                "“{}”是查阅用户，不能报送数据。如需报送，请向管理员申请填报令牌。",
                s.token.name
            ),
            Vec::new(),
        )
    })
}

/// What the pages show of the person's indicators for `period`: the one-figure form's
/// choices and each indicator's status, in the plan's order.
struct Unit {
    choices: Vec<Choice>,
    statuses: Vec<UnitRow>,
    /// Each indicator's unit of measure, by id.
    units: HashMap<String, String>,
    /// Each indicator's name, by id.
    names: HashMap<String, String>,
}

fn unit_of(ctx: &Ctx, token: &Token, period: Period) -> Result<Unit, ApiError> {
    let qs = &ctx.queries;
    let board = qs.board_reported_on(qs.home_board(period)?, ctx.clock.today())?;
    let mut u = Unit {
        choices: Vec::new(),
        statuses: Vec::new(),
        units: HashMap::new(),
        names: HashMap::new(),
    };
    for r in board.rows.iter().filter(|r| may_write(token, &r.indicator)) {
        let ind = &r.indicator;
        u.units.insert(ind.id.to_string(), ind.unit.clone());
        u.names.insert(ind.id.to_string(), ind.name.clone());
        u.choices.push(Choice {
            id: ind.id.to_string(),
            name: ind.name.clone(),
            unit: ind.unit.clone(),
        });
        u.statuses.push(UnitRow {
            id: ind.id.to_string(),
            name: ind.name.clone(),
            target: text::target_words(Lang::Zh, r.attainment.target.as_ref(), &ind.unit),
            value: r
                .series
                .iter()
                .find(|(p, _)| *p == period)
                .map(|(_, v)| with_unit(*v, &ind.unit)),
            due: crate::engine::calendar::expected(ind.frequency, period),
            status: r.attainment.status,
        });
    }
    Ok(u)
}

/// A row's period as the pages word it: 2023年10月 for a month (the rows carry it as the
/// file wrote it).
fn period_words(raw: &str) -> String {
    match Period::parse_with_form(raw) {
        Ok((p, crate::domain::PeriodForm::Month)) => text::year_month(Lang::Zh, p),
        _ => raw.to_string(),
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    format!("{}{unit}", text::fmt_num(v))
}

/// The 数据报送 page of `period`, with a message on top.
async fn submit_page(
    ctx: &Ctx,
    s: &Session,
    period: Period,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Resp, ApiError> {
    let v = viewer(s);
    let reader = may_submit(s);
    let token = s.token.clone();
    let ctx2 = ctx.clone();
    let unit = ctx
        .blocking(move |_| unit_of(&ctx2, &token, period))
        .await?;
    let readonly = reader.is_some();
    let html_page = page::submit_page(&SubmitView {
        viewer: &v,
        period,
        periods: months(last_ended(ctx), period),
        units: s.token.units.join("、"),
        choices: if readonly { Vec::new() } else { unit.choices },
        statuses: unit.statuses,
        notice: reader.or(notice),
    });
    Ok(html(s, status, html_page))
}

/// GET /submit?period=
///
/// The month's 数据报送 page (the last ended month by default).
pub fn page_route(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("submit")
        .and(read(ctx.clone()))
        .and(params::<PeriodParams>())
        .and(require_session(ctx))
        .then(page_handler)
        .map(Reply::into_response)
}

async fn page_handler(
    ctx: Ctx,
    _req: Req,
    p: Result<PeriodParams, ApiError>,
    s: Session,
) -> Result<Resp, ApiError> {
    let period = p?.period.unwrap_or_else(|| last_ended(&ctx));
    submit_page(&ctx, &s, period, StatusCode::OK, None).await
}

/// GET /submit/template.xlsx?period=
///
/// The template of the signed-in person's own indicators.
pub fn template(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("submit" / "template.xlsx")
        .and(read(ctx.clone()))
        .and(params::<PeriodParams>())
        .and(require_session(ctx))
        .then(template_handler)
        .map(Reply::into_response)
}

async fn template_handler(
    ctx: Ctx,
    req: Req,
    p: Result<PeriodParams, ApiError>,
    s: Session,
) -> Result<Resp, ApiError> {
    if let Some(n) = may_submit(&s) {
        return Err(ApiError::Forbidden(Msg::new(
            n.text,
            "a reader cannot submit",
        )));
    }
    let period = p?.period.unwrap_or_else(|| last_ended(&ctx));
    let who = super::access::Who::of(&ctx, &req, Some(&s.token));
    let mut res =
        super::readings::template::template_reply(&ctx, s.token.clone(), period, who).await?;
    private_answer(Some(&s), &mut res);
    Ok(res)
}

/// POST /submit/preview?period=
///
/// A form upload (`multipart/form-data`, one file part): kept for the confirm, and
/// previewed row by row. Nothing is written.
pub fn preview(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("submit" / "preview")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BATCH_BODY))
        .and(params::<PeriodParams>())
        .then(preview_handler)
        .map(Reply::into_response)
}

async fn preview_handler(
    s: Session,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<PeriodParams, ApiError>,
) -> Result<Resp, ApiError> {
    let period = p?.period.unwrap_or_else(|| last_ended(&ctx));
    if let Some(n) = may_submit(&s) {
        return submit_page(&ctx, &s, period, StatusCode::FORBIDDEN, Some(n)).await;
    }
    let arrival = upload::arrival(req.content_type.as_deref())?;
    if !matches!(arrival, Arrival::Form { .. }) {
        return Err(ApiError::UnsupportedMediaType(Msg::new(
            "请通过页面上的表单上传文件（multipart/form-data）",
            "send the file with the page's form (multipart/form-data)",
        )));
    }
    let up = upload::unwrap(arrival, body.read().await?).await?;
    let name = up.name.clone().unwrap_or_default();
    let file = bytes::Bytes::clone(&up.body);
    let id = ctx.uploads.keep(super::stash::Upload {
        owner: s.token.name.clone(),
        format: up.format,
        file: file.clone(),
        name: name.clone(),
    });
    let format = up.format;
    let run = PageBatch {
        token: s.token.clone(),
        mode: Mode::Preview,
        format,
        body: up.body,
        explanations: up.explanations,
    };
    match batch::run_page_batch(&ctx, run).await {
        Ok(PageOutcome::Previewed(pv)) => {
            let notice = nothing_to_write(&ctx, &pv, format, &file);
            preview_reply(&ctx, &s, period, &name, &id, pv, notice, StatusCode::OK).await
        }
        Ok(_) => unreachable!("a preview writes nothing"),
        // The file could not be read as a batch at all: say why on the month's page.
        Err(e) => {
            ctx.uploads.forget(&id);
            file_refused(&ctx, &s, period, &e).await
        }
    }
}

/// When a preview would write nothing, why: every value blank, or the figures in
/// another column or on another sheet (read from the file's layout).
fn nothing_to_write(
    ctx: &Ctx,
    pv: &Preview,
    format: ingest::Format,
    file: &[u8],
) -> Option<Notice> {
    let writes = pv.created + pv.replaced + pv.unchanged + pv.failed_checks + pv.notes;
    if writes > 0 || pv.errors > 0 {
        return None;
    }
    let layout = ingest::layout::layout(format, ingest::Charset::Detect, file, &ctx.cancel);
    let why = ingest::layout::nothing_stored(pv.skipped, layout.as_ref());
    Some(Notice::warning(why.get(false).to_string()))
}

/// The month's page saying why a file was refused whole.
async fn file_refused(
    ctx: &Ctx,
    s: &Session,
    period: Period,
    e: &ApiError,
) -> Result<Resp, ApiError> {
    let details = match e {
        ApiError::Rows { errors, .. } => errors
            .iter()
            .map(|r| format!("第{}行：{}", r.row, r.message))
            .collect(),
        _ => Vec::new(),
    };
    let status = e.status();
    submit_page(
        ctx,
        s,
        period,
        status,
        Some(Notice::error(
            format!("文件未能读取，未写入任何数据：{}", e.detail_in(false)),
            details,
        )),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn preview_reply(
    ctx: &Ctx,
    s: &Session,
    period: Period,
    name: &str,
    id: &str,
    pv: Preview,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Resp, ApiError> {
    let token = s.token.clone();
    let ctx2 = ctx.clone();
    let units = ctx
        .blocking(move |_| Ok(unit_of(&ctx2, &token, period)?.units))
        .await?;
    let fmt = |v: Option<f64>, id: &str| {
        v.map(|v| with_unit(v, units.get(id).map_or("", String::as_str)))
    };
    let lines = pv
        .rows
        .iter()
        .map(|r| PreviewLine {
            row: r.row,
            indicator: r.indicator.clone(),
            name: r.name.clone(),
            period: r.period.as_deref().map(period_words).unwrap_or_default(),
            action: r.action,
            old: fmt(r.old, &r.indicator),
            new: fmt(r.new, &r.indicator),
            messages: r.messages.clone(),
            checks: r.checks.iter().map(|c| c.label_zh().to_string()).collect(),
            explanation: r.explanation.clone(),
        })
        .collect();
    let v = viewer(s);
    let html_page = page::preview_page(&PreviewView {
        viewer: &v,
        period,
        file_name: name.to_string(),
        upload: id.to_string(),
        confirm: pv.confirm.clone(),
        lines,
        notice,
    });
    Ok(html(s, status, html_page))
}

/// The fields of an urlencoded form, refused when unreadable.
pub(super) fn form_fields(req: &Req, bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let urlencoded = req
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| {
            c.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !urlencoded {
        return Err(ApiError::UnsupportedMediaType(Msg::new(
            "表单应以 application/x-www-form-urlencoded 提交",
            "the form is sent as application/x-www-form-urlencoded",
        )));
    }
    serde_urlencoded::from_bytes(bytes)
        .map_err(|_| ApiError::invalid("body", Msg::new("表单无法读取", "the form cannot be read")))
}

pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// POST /submit/confirm?period=
///
/// Form `upload`, `confirm`, `explanation.<row>`: writes the kept file as previewed.
pub fn confirm(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("submit" / "confirm")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BODY))
        .and(params::<PeriodParams>())
        .then(confirm_handler)
        .map(Reply::into_response)
}

async fn confirm_handler(
    s: Session,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<PeriodParams, ApiError>,
) -> Result<Resp, ApiError> {
    let period = p?.period.unwrap_or_else(|| last_ended(&ctx));
    if let Some(n) = may_submit(&s) {
        return submit_page(&ctx, &s, period, StatusCode::FORBIDDEN, Some(n)).await;
    }
    let body = body.read().await?;
    let fields = form_fields(&req, &body)?;
    let (Some(id), Some(token)) = (field(&fields, "upload"), field(&fields, "confirm")) else {
        return Err(ApiError::invalid(
            "confirm",
            Msg::new(
                "确认表单缺少 upload 或 confirm：请从预览页面提交",
                "the confirm form needs upload and confirm: send it from the preview page",
            ),
        ));
    };
    let Some(kept) = ctx.uploads.get(id, &s.token.name) else {
        return submit_page(
            &ctx,
            &s,
            period,
            StatusCode::CONFLICT,
            Some(Notice::warning(
                "预览已过期（超过1小时，或服务已重启），未写入任何数据。请重新上传文件。",
            )),
        )
        .await;
    };
    let mut explanations = HashMap::new();
    for (k, v) in &fields {
        if let Some(row) = k.strip_prefix("explanation.") {
            let row: usize = row.parse().map_err(|_| {
                ApiError::invalid(
                    k.as_str(),
                    Msg::new(
                        "说明字段应写成 explanation.<行号>",
                        "an explanation field is named explanation.<row>",
                    ),
                )
            })?;
            if !v.trim().is_empty() {
                explanations.insert(row, v.trim().to_string());
            }
        }
    }
    let (id, token) = (id.to_string(), token.to_string());
    let run = |mode: Mode, body| PageBatch {
        token: s.token.clone(),
        mode,
        format: kept.format,
        body,
        explanations: explanations.clone(),
    };
    drop(body);
    let file = ReadBody::kept(kept.file.clone());
    match batch::run_page_batch(&ctx, run(Mode::Confirm(token), file)).await {
        Ok(PageOutcome::Written(answer)) => {
            ctx.uploads.forget(&id);
            let mut written: Vec<WrittenLine> = answer
                .rows
                .iter()
                .map(|r| WrittenLine {
                    row: r.row,
                    name: if r.name.is_empty() {
                        r.indicator.clone()
                    } else {
                        r.name.clone()
                    },
                    period: period_words(&r.period),
                    outcome: r.outcome.clone(),
                    revision: r.revision,
                    flagged: r.flagged.iter().map(|c| c.label_zh().to_string()).collect(),
                    note: None,
                })
                .chain(answer.noted_rows.iter().map(|n| WrittenLine {
                    row: n.row,
                    name: if n.name.is_empty() {
                        n.indicator.clone()
                    } else {
                        n.name.clone()
                    },
                    period: period_words(&n.period),
                    outcome: "note".into(),
                    revision: None,
                    flagged: Vec::new(),
                    note: Some(n.note.clone()),
                }))
                .collect();
            written.sort_by_key(|w| w.row);
            let skipped = answer
                .skipped_rows
                .iter()
                .map(|r| (r.row, r.indicator.clone(), r.reason.clone()))
                .collect();
            result_reply(&ctx, &s, period, written, skipped).await
        }
        Ok(PageOutcome::Stale(pv)) => {
            let notice = Notice::warning(
                "预览之后，本表中有数据已被修改，未写入任何内容。下面是按现有数据重新生成的预览，请核对后再确认。",
            );
            preview_reply(
                &ctx,
                &s,
                period,
                &kept.name,
                &id,
                pv,
                Some(notice),
                StatusCode::CONFLICT,
            )
            .await
        }
        Ok(PageOutcome::Previewed(_)) => unreachable!("a confirm writes or goes stale"),
        Err(e @ ApiError::Rows { .. }) => {
            // Refused whole (a row still failing its checks without a 说明): the
            // preview again, with why on top.
            let details = match &e {
                ApiError::Rows { errors, .. } => errors
                    .iter()
                    .map(|r| format!("第{}行：{}", r.row, r.message))
                    .collect(),
                _ => Vec::new(),
            };
            let notice = Notice::error(e.detail_in(false), details);
            let again = run(Mode::Preview, ReadBody::kept(kept.file.clone()));
            match batch::run_page_batch(&ctx, again).await? {
                PageOutcome::Previewed(pv) => {
                    preview_reply(
                        &ctx,
                        &s,
                        period,
                        &kept.name,
                        &id,
                        pv,
                        Some(notice),
                        e.status(),
                    )
                    .await
                }
                _ => unreachable!("a preview writes nothing"),
            }
        }
        Err(e) => Err(e),
    }
}

async fn result_reply(
    ctx: &Ctx,
    s: &Session,
    period: Period,
    written: Vec<WrittenLine>,
    skipped: Vec<(usize, String, String)>,
) -> Result<Resp, ApiError> {
    let token = s.token.clone();
    let ctx2 = ctx.clone();
    let unit = ctx
        .blocking(move |_| unit_of(&ctx2, &token, period))
        .await?;
    let skipped = skipped
        .into_iter()
        .map(|(row, named, why)| {
            let name = unit.names.get(&named).cloned().unwrap_or(named);
            (row, name, why)
        })
        .collect();
    let v = viewer(s);
    let html_page = page::result_page(&ResultView {
        viewer: &v,
        period,
        written,
        skipped,
        statuses: unit.statuses,
    });
    Ok(html(s, StatusCode::OK, html_page))
}

/// POST /submit/figure
///
/// Form `indicator`, `period`, `value`, `status`, `note`, `explanation`: one figure by
/// hand, checked and written as `PUT …/readings/{period}` would.
pub fn figure(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("submit" / "figure")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BODY))
        .then(figure_handler)
        .map(Reply::into_response)
}

async fn figure_handler(s: Session, ctx: Ctx, req: Req, body: Body) -> Result<Resp, ApiError> {
    let body = body.read().await?;
    let fields = form_fields(&req, &body)?;
    let period = field(&fields, "period")
        .map(|p| Period::parse_with_form(p).map(|(p, _)| p))
        .transpose()?
        .unwrap_or_else(|| last_ended(&ctx));
    if let Some(n) = may_submit(&s) {
        return submit_page(&ctx, &s, period, StatusCode::FORBIDDEN, Some(n)).await;
    }
    match write_figure(&ctx, &s, &fields).await {
        Ok(Ok((line, p))) => result_reply(&ctx, &s, p, vec![line], Vec::new()).await,
        Ok(Err(notice)) | Err(notice) => {
            submit_page(
                &ctx,
                &s,
                period,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(notice),
            )
            .await
        }
    }
}

/// Writes the form's figure: the written line, or why not (as the page says it).
async fn write_figure(
    ctx: &Ctx,
    s: &Session,
    fields: &[(String, String)],
) -> Result<Result<(WrittenLine, Period), Notice>, Notice> {
    let refused =
        |e: ApiError| Notice::error(format!("未写入：{}", e.detail_in(false)), Vec::new());
    let id = field(fields, "indicator").ok_or_else(|| Notice::error("请选择指标", Vec::new()))?;
    let id = crate::domain::IndicatorId::parse(id).map_err(|e| refused(e.into()))?;
    let raw_period =
        field(fields, "period").ok_or_else(|| Notice::error("请选择报告期", Vec::new()))?;
    let (period, form) = Period::parse_with_form(raw_period).map_err(|e| refused(e.into()))?;
    ctx.clock
        .check_ended(period)
        .map_err(|e| refused(e.into()))?;
    let ind: Indicator = {
        let id = id.clone();
        let year = period.year();
        ctx.blocking(move |qs| Ok(qs.indicator_in_year(&id, year)?))
            .await
            .map_err(refused)?
    };
    if !may_write(&s.token, &ind) {
        return Err(Notice::error(
            format!("“{}”不由您的单位报送，未写入", ind.name),
            Vec::new(),
        ));
    }
    let raw_value = field(fields, "value").unwrap_or("");
    let value = match parse_cell(raw_value, &ind.unit) {
        Ok(Cell::Number(v)) => v,
        Ok(Cell::Blank) => {
            return Err(Notice::error(
                format!("“{raw_value}”表示无数据：请填写{}的数值", ind.name),
                Vec::new(),
            ))
        }
        Err(m) if raw_value.is_empty() => {
            let _ = m;
            return Err(Notice::error("请填写数值", Vec::new()));
        }
        Err(m) => {
            return Err(Notice::error(
                format!("未写入：{}", m.get(false)),
                Vec::new(),
            ))
        }
    };
    let status: ObsStatus = field(fields, "status")
        .unwrap_or("A")
        .parse()
        .map_err(|e: crate::domain::DomainError| refused(e.into()))?;
    let note = field(fields, "note").map(str::to_string);
    let input =
        ReadingInput::new(&ind, value, status, note, form).map_err(|e| refused(e.into()))?;
    let explanation = field(fields, "explanation")
        .map(crate::domain::quality::explanation)
        .transpose()
        .map_err(|e| refused(e.into()))?;
    let row = BatchRow {
        indicator: id.clone(),
        period,
        input,
        quality: None,
    };
    let now = ctx.clock.now();
    let actor = s.token.name.clone();
    let ind2 = ind.clone();
    let written = put_one(ctx, ind2, row, explanation, actor, now)
        .await
        .map_err(refused)?;
    match written {
        Put::Failed(findings) => Ok(Err(Notice::error(
            format!(
                "{}{}的数据未通过审核，未写入。如数据确实无误，请填写“强制上报说明”后重新提交，数据将带标记保存。",
                ind.name,
                text::year_month(Lang::Zh, period)
            ),
            findings
                .iter()
                .map(|f| format!("{}：{}", f.check.label_zh(), f.message))
                .collect(),
        ))),
        Put::Written(outcome, reading, quality) => {
            Ok(Ok((
                WrittenLine {
                    row: 1,
                    name: ind.name.clone(),
                    period: period_words(&period.display_as(form)),
                    outcome: match outcome {
                        Outcome::Created => "created",
                        Outcome::Replaced => "replaced",
                        Outcome::Unchanged => "unchanged",
                    }
                    .into(),
                    revision: Some(reading.revision),
                    flagged: quality
                        .filter(|_| outcome != Outcome::Unchanged)
                        .map(|q| q.findings.iter().map(|f| f.check.label_zh().to_string()).collect())
                        .unwrap_or_default(),
                    note: None,
                },
                period,
            )))
        }
    }
}
