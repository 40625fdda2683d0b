//! Plans: the list, one plan with its rows in order, its own record (PUT), importing an
//! office's 指标库 sheet (with a dry run), the blank sheet, and next year's draft.

use chrono::{DateTime, Utc};
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::body::Body;
use super::error::RowsProblem;
use super::filters::{params, read, write, NoParams, Req, Resp};
use super::indicators::{parse_json_body, path_key_in_body, serde_field};
use super::input::{text, value};
use super::reply::created_or_ok;
use super::{authenticate, json, require_admin, ApiError, Ctx, MAX_BATCH_BODY};
use crate::catalogue::sheet::SheetOptions;
use crate::domain::{Group, Plan, PlanId};
use crate::ingest::plan_sheet::{read_plan, SheetFormat};
use crate::ingest::{self, Format, Limits};
use crate::query::plans::SheetRefusal;

/// The media type of the workbooks answered here.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn plan_id(s: &str) -> Result<PlanId, ApiError> {
    PlanId::parse(s).map_err(|e| ApiError::invalid("plan", e.message().to_string()))
}

fn workbook(bytes: Vec<u8>, file: &str) -> Resp {
    let mut res = warp::reply::Response::new(bytes.into());
    let h = res.headers_mut();
    h.insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static(XLSX),
    );
    // The file name is ASCII, and a Chinese one follows in RFC 5987 form.
    if let Ok(v) = format!(
        "attachment; filename=\"{file}.xlsx\"; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(file, percent_encoding::NON_ALPHANUMERIC)
    )
    .parse()
    {
        h.insert(warp::http::header::CONTENT_DISPOSITION, v);
    }
    res
}

/// GET /v1/plans
///
/// Every plan, by region and year, with how many indicators each holds.
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "plans")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(
    ctx: Ctx,
    _req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    p?;
    ctx.blocking(|qs| {
        #[derive(Serialize)]
        struct Answer {
            count: usize,
            plans: Vec<crate::query::plans::PlanSummary>,
        }
        let plans = qs.plan_list()?;
        Ok(json(
            StatusCode::OK,
            &Answer {
                count: plans.len(),
                plans,
            },
        ))
    })
    .await
}

/// GET /v1/plans/:id
///
/// One plan with every indicator it sets a target for, in the document's order: the
/// group, 序号, target, lead and co-units and source of each for the plan's year.
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "plans" / String)
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(get_handler)
        .map(Reply::into_response)
}

async fn get_handler(
    id: String,
    ctx: Ctx,
    _req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = plan_id(&id)?;
    p?;
    ctx.blocking(move |qs| Ok(json(StatusCode::OK, &qs.plan_view(&id)?)))
        .await
}

/// The body of `PUT /v1/plans/{id}`: the plan's own record. What GET answers beside it
/// (`document`, `rows`) may be sent back: ignored when it agrees, refused when not.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    #[serde(rename = "id")]
    _id: String,
    region: String,
    year: u16,
    title: String,
    #[serde(default)]
    doc_number: String,
    #[serde(default)]
    issuer: String,
    groups: Vec<Group>,
    document: Option<String>,
    rows: Option<serde_json::Value>,
}

/// PUT /v1/plans/:id (admin)
///
/// Creates or replaces a plan's own record: its title, 文号, issuer and groups in order.
/// A plan's region and year are fixed once it holds targets; a group that targets use
/// cannot be dropped.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "plans" / String)
        .and(warp::put())
        .and(write(ctx, super::MAX_BODY))
        .and(params::<NoParams>())
        .then(put_handler)
        .map(Reply::into_response)
}

async fn put_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let id = plan_id(&id)?;
    p?;
    let mut v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    path_key_in_body(&mut v, "id", id.as_str())?;
    let b: PlanBody = serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        ApiError::invalid(serde_field(&msg), msg)
    })?;
    let plan = Plan {
        id: id.clone(),
        region: b.region,
        year: b.year,
        title: b.title,
        doc_number: b.doc_number,
        issuer: b.issuer,
        groups: b.groups,
    };
    plan.validate()?;
    if let Some(d) = &b.document {
        if *d != plan.document() {
            return Err(ApiError::invalid(
                "document",
                format!(
                    "document is computed from the title and 文号 ('{}'), and the body says '{d}': \
                     leave it out, or send it as GET answers it",
                    plan.document()
                ),
            ));
        }
    }
    let now: DateTime<Utc> = ctx.clock.now();
    let sent_rows = b.rows;
    let (outcome, view) = ctx
        .blocking(move |qs| {
            let s = qs.store();
            qs.known_region("region", &plan.region)?;
            let old = s.plan(&plan.id)?;
            if let Some(old) = &old {
                let view = qs.plan_view(&old.id)?;
                if (old.region != plan.region || old.year != plan.year) && !view.rows.is_empty() {
                    return Err(ApiError::invalid(
                        "region",
                        format!(
                            "plan {} holds the targets of {} {}: its region and year cannot change",
                            old.id, old.region, old.year
                        ),
                    ));
                }
                if let Some(r) = view.rows.iter().find(|r| plan.group(&r.group).is_none()) {
                    return Err(ApiError::invalid(
                        "groups",
                        format!(
                            "group '{}' is used by {} (and perhaps others): keep it",
                            r.group, r.indicator
                        ),
                    ));
                }
                if let Some(sent) = &sent_rows {
                    let now_rows = serde_json::to_value(&view.rows).unwrap_or_default();
                    if *sent != now_rows {
                        return Err(ApiError::invalid(
                            "rows",
                            "rows are the plan's targets, set by importing the plan or by \
                             PUT /v1/indicators/{id}; send them as GET answers them, or leave \
                             them out",
                        ));
                    }
                }
            } else if sent_rows
                .as_ref()
                .is_some_and(|r| r.as_array().is_none_or(|a| !a.is_empty()))
            {
                return Err(ApiError::invalid(
                    "rows",
                    "a new plan has no rows: import its sheet to add them",
                ));
            }
            if let Some(other) = s.plan_for(&plan.region, plan.year)? {
                if other.id != plan.id {
                    return Err(ApiError::invalid(
                        "year",
                        format!(
                            "{} already has the plan {} for {}: one plan per region and year",
                            plan.region, other.id, plan.year
                        ),
                    ));
                }
            }
            let outcome = s.put_plan(&plan, &token.name, now)?;
            Ok((outcome, qs.plan_view(&plan.id)?))
        })
        .await?;
    ctx.commit().await?;
    Ok(json(created_or_ok(outcome), &view))
}

crate::api::params! {
    /// `POST /v1/plans/import`
    struct ImportParams {
        dry_run: Option<bool> = value::<bool>,
        region: Option<String> = text,
        year: Option<u16> = value::<u16>,
        document: Option<String> = text,
        parent: Option<String> = text,
        plan: Option<String> = text,
    }
}

/// POST /v1/plans/import?dry_run=&region=&year=&document=&parent=&plan= (admin)
///
/// An office's 指标库 as XLSX or CSV (UTF-8 or GBK): the 指标 sheet's rows, the 方案
/// sheet's facts (or the parameters). With `dry_run=true`, answers what each row would
/// do and writes nothing. A sheet with any bad cell is refused whole (400, every error
/// with its row and column, in Chinese).
pub fn import(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "plans" / "import")
        .and(warp::post())
        .and(write(ctx, MAX_BATCH_BODY))
        .and(params::<ImportParams>())
        .then(import_handler)
        .map(Reply::into_response)
}

async fn import_handler(
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<ImportParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let p = p?;
    let (format, charset) = ingest::format_of(req.content_type.as_deref())
        .map_err(|m| ApiError::UnsupportedMediaType(m.into()))?;
    let format = match format {
        Format::Xlsx => SheetFormat::Xlsx,
        Format::Csv => SheetFormat::Csv(charset),
        Format::Json | Format::Ndjson => {
            return Err(ApiError::UnsupportedMediaType(
                "a plan sheet is an XLSX workbook or a CSV file (text/csv, UTF-8 or GBK); \
                 a plan in JSON is sent by PUT /v1/plans/{id} and PUT /v1/indicators/{id}"
                    .into(),
            ))
        }
    };
    let opts = SheetOptions {
        region: p.region,
        year: p.year,
        title: p.document,
        parent: p.parent,
        plan_id: p.plan,
    };
    let dry_run = p.dry_run.unwrap_or(false);
    let body = body.read().await?;
    let now = ctx.clock.now();
    let ctx2 = ctx.clone();
    let answer = ctx
        .batches
        .run(move || {
            let sheet = read_plan(format, &body, &Limits::DEFAULT, &ctx2.cancel)?;
            ctx2.queries
                .import_sheet(sheet, &opts, dry_run, &token.name, now)
                .map_err(|e| match e {
                    SheetRefusal::Rows(errors) => ApiError::Rows {
                        kind: RowsProblem::Invalid,
                        detail: crate::domain::messages::Msg::new(
                            format!(
                                "方案表有{}处错误，未导入任何内容；请按行号和列名改正后重新上传",
                                errors.len()
                            ),
                            format!(
                                "the plan sheet has {} errors and nothing was imported; correct them by row and column and upload it again",
                                errors.len()
                            ),
                        ),
                        errors,
                    },
                    SheetRefusal::Query(q) => q.into(),
                })
        })
        .await?;
    if !dry_run {
        ctx.commit().await?;
    }
    let status = if dry_run || answer.plan_action != "create" {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, &answer))
}

/// GET /v1/templates/plan.xlsx
///
/// The blank 指标库 sheet: the 指标 and 方案 sheets with their headers, drop-down lists
/// of the words the import takes, and a 填表说明 sheet.
pub fn template(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "templates" / "plan.xlsx")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(template_handler)
        .map(Reply::into_response)
}

async fn template_handler(
    ctx: Ctx,
    req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    p?;
    let bytes =
        crate::ingest::plan_template::blank_workbook().map_err(|e| ApiError::Internal(e.into()))?;
    let token = crate::api::sight::bearer(&ctx, &req).await?;
    crate::api::access::Who::of(&ctx, &req, token.as_ref()).record(
        &ctx,
        crate::store::AccessAction::Download,
        "指标库模板.xlsx",
    )?;
    Ok(workbook(bytes, "指标库模板"))
}

crate::api::params! {
    /// `GET /v1/plans/{id}/draft.xlsx`
    struct DraftParams {
        year: Option<u16> = value::<u16>,
    }
}

/// GET /v1/plans/:id/draft.xlsx?year=
///
/// Next year's plan drafted from this one (`year`, by default the plan's next): every
/// indicator with this year's target and last figure beside an empty target column,
/// ready to fill in and import.
pub fn draft(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "plans" / String / "draft.xlsx")
        .and(read(ctx))
        .and(params::<DraftParams>())
        .then(draft_handler)
        .map(Reply::into_response)
}

async fn draft_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    p: Result<DraftParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let id = plan_id(&id)?;
    let DraftParams { year } = p?;
    crate::api::access::Who::of(&ctx, &req, Some(&token)).record(
        &ctx,
        crate::store::AccessAction::Download,
        format!("/v1/plans/{id}/draft.xlsx?{}", req.query),
    )?;
    let (bytes, name) = ctx
        .blocking(move |qs| {
            let from = qs.plan(&id)?;
            let year = year.unwrap_or(from.year.saturating_add(1));
            if year <= from.year {
                return Err(ApiError::invalid(
                    "year",
                    format!(
                        "a draft is for a year after the plan's {} (got {year})",
                        from.year
                    ),
                ));
            }
            let name = format!("{}{year}年指标库（草稿）", from.region);
            Ok((qs.draft(&from, year)?, name))
        })
        .await?;
    Ok(workbook(bytes, &name))
}
