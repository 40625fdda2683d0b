//! Readings: single submissions, withdrawals, lists, revisions and vintages here; the
//! batches from the bureau's spreadsheets in [`batch`] (their rows checked in `rows`);
//! the monthly workbook in [`template`]. Each route is a filter (path, method, the
//! shared `read` or `write` filter, its typed parameters) and a named handler. The
//! quality checks a new figure passes are the query layer's (`query::quality`); here
//! their findings become refused rows.

pub mod batch;
mod rows;
pub mod template;
pub(crate) mod upload;

use crate::api::body::Body;
use chrono::{DateTime, Utc};
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::error::RowsProblem;
use super::filters::{params, read, write, NoParams, Req, Resp};
use super::input::{decode_segment, known_at, require_json, text, value, ReadingBody};
use super::{
    authenticate, authorize_write, created_or_ok, csv_wanted, json, list_reply, parse_id,
    parse_period_segment, ApiError, Ctx, MAX_BODY,
};
use crate::domain::{Finding, Indicator, IndicatorId, Period, QualityNote, Reading, ReadingInput};
use crate::ingest::RowError;
use crate::query::quality::vet_against;
use crate::query::views::{ReadingView, RevisionView};
use crate::query::Queries;
use crate::query::QueryError;
use crate::store::{Applied, BatchRow, Outcome, ReadingWrite, Recheck, Revet};

pub use batch::{BatchAnswer, RowResult};

/// PUT /v1/indicators/:id/readings/:period
///
/// Body `{"value": 63, "status": "provisional", "note": "…"}`; `Authorization: Bearer`.
/// 201 when created, 200 when replaced or unchanged. Acknowledged only once flushed.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(put_handler)
        .map(Reply::into_response)
}

async fn put_handler(
    id: String,
    period: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let id = parse_id(&id)?;
    let (period, form) = parse_period_segment(&ctx, &period)?;
    p?;
    require_json(req.content_type.as_deref())?;
    // The plan of the period's year names the units that lead it, and so who may write.
    // A few point reads: on the async worker (`Ctx::inline`).
    let ind = ctx.inline(|qs| Ok(qs.indicator_in_year(&id, period.year())?))?;
    // Rights before work: the body is read only for a token that may write here.
    authorize_write(&token, &ind)?;
    let body = ReadingBody::parse(&body.read().await?)?;
    let input = ReadingInput::new(&ind, body.value, body.status, body.note, form)?;
    let explanation = body
        .explanation
        .as_deref()
        .map(crate::domain::quality::explanation)
        .transpose()?;
    let row = BatchRow {
        indicator: id.clone(),
        period,
        input,
        quality: None,
    };
    let now = ctx.clock.now();
    // Even an unchanged answer comes after a sync: the identical value may belong to a
    // concurrent write that is not yet on disk, and must not be acknowledged before it is.
    let written = put_one(&ctx, ind, row, explanation, token.name.clone(), now).await?;
    let (outcome, reading, quality) = match written {
        Put::Written(outcome, reading, quality) => (outcome, reading, quality),
        Put::Failed(findings) => return Err(failed_checks(&id, period, &findings)),
    };
    let mut res = json(
        created_or_ok(outcome),
        &PutAnswer {
            outcome,
            reading: ReadingView::new(&id, period, &reading),
            quality: quality.filter(|_| outcome != Outcome::Unchanged),
        },
    );
    if let Ok(loc) = format!("/v1/indicators/{id}/readings/{period}").parse() {
        res.headers_mut().insert(warp::http::header::LOCATION, loc);
    }
    Ok(res)
}

/// How a single reading's write ended, inside its blocking task.
pub(crate) enum Put {
    /// Written (or unchanged), with the note it was stored flagged with.
    Written(Outcome, Reading, Option<QualityNote>),
    /// Refused by the quality checks, unexplained: nothing was written.
    Failed(Vec<Finding>),
}

/// Vets one row against the store, then has the store's writer write it, and waits
/// until it is on disk. When the indicator's readings changed between the checks and
/// the write (a concurrent write of the same indicator), the writer vets it again
/// against them (`store::writer`), and its answer is what that found.
pub(crate) async fn put_one(
    ctx: &Ctx,
    ind: Indicator,
    row: BatchRow,
    explanation: Option<String>,
    actor: String,
    now: DateTime<Utc>,
) -> Result<Put, ApiError> {
    let ind = std::sync::Arc::new(ind);
    // The checks read one indicator's readings of two years: bounded and small, so on
    // the async worker (`Ctx::inline`); the write itself is the writer thread's.
    let vetted = ctx.inline(|qs| {
        // Taken before the readings the checks compare with are read.
        let basis = qs.store().basis();
        let mut row = row.clone();
        Ok(
            match qs.vet(&ind, &row, explanation.as_deref())?.into_result() {
                Err(findings) => Err(findings),
                Ok(q) => {
                    row.quality = q;
                    Ok((row, basis))
                }
            },
        )
    })?;
    let (vetted_row, basis) = match vetted {
        Err(findings) => return Ok(Put::Failed(findings)),
        Ok(v) => v,
    };
    // What the writer's second look found, when it took one.
    type Second = Result<std::result::Result<Option<QualityNote>, Vec<Finding>>, QueryError>;
    let second: std::sync::Arc<std::sync::Mutex<Option<Second>>> = Default::default();
    let revet: Revet = {
        let (second, actor) = (second.clone(), actor.clone());
        Box::new(move |readings| {
            let found =
                vet_against(readings, &ind, &row, explanation.as_deref()).map(|v| v.into_result());
            let again = match &found {
                Ok(Ok(q)) => Some(ReadingWrite {
                    rows: vec![BatchRow {
                        quality: q.clone(),
                        ..row.clone()
                    }],
                    notes: Vec::new(),
                    actor: actor.clone(),
                    now,
                    idempotency: None,
                    expect: Vec::new(),
                    recheck: None,
                }),
                _ => None,
            };
            *second.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
            again
        })
    };
    let first_quality = vetted_row.quality.clone();
    let write = ReadingWrite {
        rows: vec![vetted_row],
        notes: Vec::new(),
        actor,
        now,
        idempotency: None,
        expect: Vec::new(),
        recheck: Some(Recheck { basis, revet }),
    };
    let applied = ctx.store.write(write).await?;
    let second = second.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (applied, second) {
        (Applied::Done((mut out, _)), second) => {
            ctx.changed();
            let quality = match second {
                Some(Ok(Ok(q))) => q,
                _ => first_quality,
            };
            let (outcome, reading) = out.remove(0);
            Ok(Put::Written(outcome, reading, quality))
        }
        (Applied::Refused, Some(Ok(Err(findings)))) => Ok(Put::Failed(findings)),
        (Applied::Refused, Some(Err(e))) => Err(e.into()),
        (Applied::Refused, _) => Err(ApiError::internal(std::io::Error::other(
            "the writer refused a reading without saying why",
        ))),
    }
}

/// A single reading refused by the quality checks: 422, its findings as row 0.
fn failed_checks(id: &IndicatorId, period: Period, findings: &[Finding]) -> ApiError {
    ApiError::Rows {
        kind: RowsProblem::FailedChecks,
        detail: crate::domain::messages::Msg::new(
            format!(
                "{} {period}：{}；未写入。如数据无误，请填写“强制上报说明”（explanation）后重新提交，数据将带标记保存",
                id,
                labels(findings)
            ),
            format!(
                "{} {period}: {}; nothing was written. Resubmit with \"explanation\" (强制上报说明) to store it flagged",
                id,
                labels(findings)
            ),
        ),
        errors: findings.iter().map(|f| finding_error(0, f)).collect(),
    }
}

/// The answer of `PUT …/readings/:period`.
#[derive(Serialize)]
struct PutAnswer<'a> {
    outcome: Outcome,
    #[serde(flatten)]
    reading: ReadingView<'a>,
    /// Present when the reading was stored despite failed checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<QualityNote>,
}

/// A failed check as a row error.
fn finding_error(row: usize, f: &Finding) -> RowError {
    RowError {
        row,
        field: "value".into(),
        message: format!("{}：{}", f.check.label_zh(), f.message),
        check: Some(f.check),
        english: f
            .message_en
            .as_ref()
            .map(|en| format!("{}: {en}", f.check.as_str())),
    }
}

/// The failed checks' names, for a detail line: "累计值回落、环比异常".
fn labels(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| f.check.label_zh())
        .collect::<Vec<_>>()
        .join("、")
}

/// A period path segment of a read: any period, even one not yet ended.
fn period_segment(raw: &str) -> Result<Period, ApiError> {
    let (period, _) = Period::parse_with_form(&decode_segment("period", raw)?)?;
    Ok(period)
}

/// GET /v1/indicators/:id/readings/:period
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(get_handler)
        .map(Reply::into_response)
}

async fn get_handler(
    id: String,
    period: String,
    ctx: Ctx,
    req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = parse_id(&id)?;
    p?;
    let period = period_segment(&period)?;
    super::sight::indicator_sight(&ctx, &req, &id)
        .await?
        .check(period)?;
    ctx.blocking(move |qs| one_reading(qs, &id, period)).await
}

fn one_reading(qs: &Queries, id: &IndicatorId, period: Period) -> Result<Resp, ApiError> {
    qs.indicator(id)?;
    let Some(r) = qs.store().reading(id, period)? else {
        return Err(ApiError::NotFound(super::error::no_reading(id, period)));
    };
    Ok(json(StatusCode::OK, &ReadingView::new(id, period, &r)))
}

super::params! {
    /// `DELETE /v1/indicators/{id}/readings/{period}`
    struct DeleteParams {
        reason: Option<String> = text,
    }
}

/// DELETE /v1/indicators/:id/readings/:period?reason=
///
/// Withdraws a reading sent to the wrong period or indicator. Its history is kept.
pub fn delete(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    // A withdrawal takes no body: none is read (limit 0), and none is judged.
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::delete())
        .and(write(ctx, 0))
        .and(params::<DeleteParams>())
        .then(delete_handler)
        .map(Reply::into_response)
}

async fn delete_handler(
    id: String,
    period: String,
    ctx: Ctx,
    req: Req,
    _body: Body,
    p: Result<DeleteParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let id = parse_id(&id)?;
    let (period, _) = parse_period_segment(&ctx, &period)?;
    let DeleteParams { reason } = p?;
    // The plan of the period's year names the units that lead it, and so who may write.
    let ind = {
        let id = id.clone();
        let year = period.year();
        ctx.blocking(move |qs| Ok(qs.indicator_in_year(&id, year)?))
            .await?
    };
    authorize_write(&token, &ind)?;
    let now = ctx.clock.now();
    let old = {
        let id = id.clone();
        ctx.blocking(move |qs| {
            Ok(qs
                .store()
                .withdraw_reading(&id, period, &token.name, reason, now)?)
        })
        .await?
    };
    ctx.commit().await?;
    Ok(json(
        StatusCode::OK,
        &Withdrawn {
            outcome: "withdrawn",
            withdrawn: ReadingView::new(&id, period, &old),
        },
    ))
}

/// The answer of `DELETE …/readings/:period`.
#[derive(Serialize)]
struct Withdrawn<'a> {
    outcome: &'static str,
    withdrawn: ReadingView<'a>,
}

super::params! {
    /// `GET /v1/indicators/{id}/readings`
    struct ListParams {
        from: Option<Period> = value::<Period>,
        to: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        format: Option<String> = text,
    }
}

/// GET /v1/indicators/:id/readings?from=&to=&as_known_at=&format=
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings")
        .and(read(ctx))
        .and(params::<ListParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    p: Result<ListParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = parse_id(&id)?;
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    if let (Some(f), Some(t)) = (p.from, p.to) {
        if f > t {
            return Err(ApiError::invalid(
                "from",
                format!("from {f} is after to {t}"),
            ));
        }
    }
    let sight = super::sight::indicator_sight(&ctx, &req, &id).await?;
    ctx.blocking(move |qs| reading_list(qs, &id, &p, csv, &sight))
        .await
}

fn reading_list(
    qs: &Queries,
    id: &IndicatorId,
    p: &ListParams,
    csv: bool,
    sight: &super::sight::Sight,
) -> Result<Resp, ApiError> {
    let s = qs.store();
    qs.indicator(id)?;
    let rows = match p.as_known_at {
        None => s.readings(id, p.from, p.to)?,
        Some(at) => s.readings_as_known_at(id, p.from, p.to, at)?,
    };
    // Months not yet released are left out for those who may see only released ones.
    let out: Vec<_> = rows
        .iter()
        .filter(|(period, _)| sight.shows(*period))
        .map(|(period, r)| ReadingView::new(id, *period, r))
        .collect();
    list_reply(csv, &out, &out)
}

super::params! {
    /// `GET /v1/indicators/{id}/readings/{period}/revisions`
    struct RevisionParams {
        format: Option<String> = text,
    }
}

/// GET /v1/indicators/:id/readings/:period/revisions?format=
pub fn revisions(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String / "revisions")
        .and(read(ctx))
        .and(params::<RevisionParams>())
        .then(revisions_handler)
        .map(Reply::into_response)
}

async fn revisions_handler(
    id: String,
    period: String,
    ctx: Ctx,
    req: Req,
    p: Result<RevisionParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = parse_id(&id)?;
    let period = period_segment(&period)?;
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    super::sight::indicator_sight(&ctx, &req, &id)
        .await?
        .check(period)?;
    ctx.blocking(move |qs| revision_list(qs, &id, period, csv))
        .await
}

fn revision_list(
    qs: &Queries,
    id: &IndicatorId,
    period: Period,
    csv: bool,
) -> Result<Resp, ApiError> {
    qs.indicator(id)?;
    let rows = qs.store().revisions(id, period)?;
    let out: Vec<_> = rows
        .iter()
        .filter_map(|(seq, r)| RevisionView::new(*seq, r))
        .collect();
    list_reply(csv, &out, &out)
}
