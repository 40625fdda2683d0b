//! Regions, rankings among peer regions, and the list of flagged readings.
//!
//! A store may hold the plans of several regions; indicators that measure the same
//! thing share a `code`. `/v1/rankings` sets the regions that share a code against one
//! another, the way a city's bulletin ranks its counties (居全市第3位). `/v1/quality`
//! lists the readings accepted despite failed quality checks, with their explanations
//! (强制上报说明), for the bureau's review.

use crate::api::body::Body;
use serde::Serialize;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, write, NoParams, Req, Resp};
use super::indicators::{parse_json_body, path_key_in_body, serde_field};
use super::input::{decode_segment, many, parse_id, text, value, Query};
use super::reply::{created_or_ok, csv_wanted, json, list_reply};
use super::{require_admin, ApiError, Ctx, MAX_BODY};
use crate::catalogue::{check_parents, RawRegion};
use crate::domain::{Check, IndicatorId, Period, Region, RegionSettings};
use crate::store::{AuditRecord, Change, Outcome};

#[derive(Serialize)]
struct RegionView<'a> {
    #[serde(flatten)]
    region: &'a Region,
    /// How many indicators belong to it.
    indicators: usize,
}

#[derive(Serialize)]
struct RegionList<'a> {
    count: usize,
    regions: &'a [RegionView<'a>],
}

super::params! {
    /// `GET /v1/regions`
    struct ListParams {
        format: Option<String> = text,
    }
}

/// GET /v1/regions
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "regions")
        .and(read(ctx))
        .and(params::<ListParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(
    ctx: Ctx,
    req: Req,
    p: Result<ListParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    ctx.blocking(move |qs| {
        let s = qs.store();
        let regions = s.regions()?;
        let inds = s.indicators()?;
        let views: Vec<RegionView<'_>> = regions
            .iter()
            .map(|r| RegionView {
                region: r,
                indicators: inds.iter().filter(|i| i.region == r.name).count(),
            })
            .collect();
        let body = RegionList {
            count: views.len(),
            regions: &views,
        };
        list_reply(csv, &body, &views)
    })
    .await
}

/// PUT /v1/regions/:name (admin), body `{"level": "county", "parent": "益阳市"}`.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "regions" / String)
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(put_handler)
        .map(Reply::into_response)
}

async fn put_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let name = decode_segment("name", &name)?;
    p?;
    let mut v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    path_key_in_body(&mut v, "name", &name)?;
    let raw: RawRegion = serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        ApiError::invalid(serde_field(&msg), msg)
    })?;
    let region = raw.build()?;
    let now = ctx.clock.now();
    let (outcome, region) = ctx
        .blocking(move |qs| {
            let s = qs.store();
            check_parents(&region, |n| {
                if n == region.name {
                    Some(region.clone())
                } else {
                    s.region(n).ok().flatten()
                }
            })?;
            Ok((s.put_region(&region, &token.name, now)?, region))
        })
        .await?;
    ctx.commit().await?;
    #[derive(Serialize)]
    struct Answer {
        outcome: Outcome,
        #[serde(flatten)]
        region: Region,
    }
    Ok(json(created_or_ok(outcome), &Answer { outcome, region }))
}

/// What `GET` and `PUT /v1/regions/{region}/settings` answer.
#[derive(Serialize)]
struct SettingsView {
    region: String,
    /// Whether the region has settings of its own; without, the bulletin falls back
    /// (the plan's issuer, else “{region}统计局”; no 文号) and these fields are null.
    configured: bool,
    issuer: Option<String>,
    doc_number_prefix: Option<String>,
    signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
}

impl SettingsView {
    fn new(region: String, s: Option<RegionSettings>, outcome: Option<Outcome>) -> Self {
        SettingsView {
            region,
            configured: s.is_some(),
            signature: s.as_ref().map(|s| s.signature().to_string()),
            issuer: s.as_ref().map(|s| s.issuer.clone()),
            doc_number_prefix: s.and_then(|s| s.doc_number_prefix),
            outcome,
        }
    }
}

/// GET /v1/regions/:region/settings: how the region's bulletins are issued.
pub fn settings_get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "regions" / String / "settings")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(settings_get_handler)
        .map(Reply::into_response)
}

async fn settings_get_handler(
    region: String,
    ctx: Ctx,
    _req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let region = decode_segment("region", &region)?;
    p?;
    let view = ctx
        .blocking(move |qs| {
            let s = qs.store();
            if s.region(&region)?.is_none() {
                return Err(crate::store::StoreError::UnknownRegion(region).into());
            }
            let settings = s.region_settings(&region)?;
            Ok(SettingsView::new(region, settings, None))
        })
        .await?;
    Ok(json(warp::http::StatusCode::OK, &view))
}

/// PUT /v1/regions/:region/settings (admin), body
/// `{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": null}`: the
/// whole settings, replacing what was set (a member left out is none). A refusal
/// writes nothing.
pub fn settings_put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "regions" / String / "settings")
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(settings_put_handler)
        .map(Reply::into_response)
}

/// The settings in a body: `issuer` (a string), `doc_number_prefix` and `signature`
/// (a string or null); any other member is refused by name. Every refusal names its
/// field and says why in Chinese.
fn settings_from_body(v: &serde_json::Value) -> Result<RegionSettings, ApiError> {
    const FIELDS: [&str; 3] = ["issuer", "doc_number_prefix", "signature"];
    let obj = v.as_object().ok_or_else(|| {
        ApiError::invalid(
            "body",
            "请求体须是JSON对象，如 {\"issuer\": \"桃江县统计局\", \"doc_number_prefix\": \"桃统通\", \"signature\": null}",
        )
    })?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            k,
            format!("没有“{k}”这一项设置；可设置的是 {}", FIELDS.join("、")),
        ));
    }
    let text = |name: &str, required: bool| -> Result<Option<&str>, ApiError> {
        match obj.get(name) {
            None | Some(serde_json::Value::Null) if required => Err(ApiError::invalid(
                name,
                "发文单位（issuer）不能为空，如：桃江县统计局",
            )),
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(
                name,
                format!(
                    "{}须是字符串{}",
                    crate::domain::office_label(name),
                    if required { "" } else { "或 null" }
                ),
            )),
        }
    };
    let issuer = text("issuer", true)?.unwrap_or_default();
    RegionSettings::new(
        issuer,
        text("doc_number_prefix", false)?,
        text("signature", false)?,
    )
    .map_err(|e| ApiError::invalid(e.field(), e.message()))
}

async fn settings_put_handler(
    region: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let region = decode_segment("region", &region)?;
    p?;
    let v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    let settings = settings_from_body(&v)?;
    let now = ctx.clock.now();
    let view = ctx
        .blocking(move |qs| {
            let outcome = qs
                .store()
                .put_region_settings(&region, &settings, &token.name, now)?;
            Ok(SettingsView::new(region, Some(settings), Some(outcome)))
        })
        .await?;
    ctx.commit().await?;
    let status = created_or_ok(view.outcome.unwrap_or(Outcome::Unchanged));
    Ok(json(status, &view))
}

/// `?code=`: required, and spelled like an indicator id.
fn code(q: &Query, name: &str) -> Result<String, ApiError> {
    let code = q
        .get(name)
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                "code is required, e.g. ?code=gdp-growth (see GET /v1/indicators)",
            )
        })?
        .to_string();
    parse_id(&code)
        .map_err(|_| ApiError::invalid(name, format!("'{code}' is not an indicator code")))?;
    Ok(code)
}

super::params! {
    /// `GET /v1/rankings`
    struct RankingParams {
        code: String = code,
        as_of: Option<Period> = value::<Period>,
        parent: Option<String> = text,
        format: Option<String> = text,
    }
}

/// GET /v1/rankings?code=&as_of=&parent=&format=
///
/// The regions whose indicators share `code`, best first by the indicator's
/// direction, dense-ranked (ties share a place). With `parent`, only the regions
/// directly under it (a city's counties); the parent's own figure is not ranked.
pub fn rankings(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "rankings")
        .and(read(ctx))
        .and(params::<RankingParams>())
        .then(rankings_handler)
        .map(Reply::into_response)
}

async fn rankings_handler(
    ctx: Ctx,
    req: Req,
    p: Result<RankingParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    // Figures of other regions are ranked with the home region's released months.
    let as_of = super::sight::sight(&ctx, &req, None)
        .await?
        .as_of(p.as_of)?;
    ctx.blocking(move |qs| {
        let body = qs.ranking(&p.code, as_of, p.parent.as_deref())?;
        list_reply(csv, &body, &body.rankings)
    })
    .await
}

/// One failed check of a flagged reading.
#[derive(Debug, Serialize)]
struct CheckView<'a> {
    check: Check,
    label: &'static str,
    message: &'a str,
}

impl super::csv::CsvRow for RegionView<'_> {
    const COLUMNS: &'static [&'static str] = &["name", "level", "parent", "indicators"];
}

impl super::csv::CsvRow for FlaggedView<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "indicator",
        "name",
        "region",
        "lead_units",
        "period",
        "period_key",
        "value",
        "revision",
        "checks",
        "explanation",
        "recorded_by",
        "recorded_at",
        "seq",
    ];
}

/// A reading accepted despite failed checks.
#[derive(Debug, Serialize)]
struct FlaggedView<'a> {
    indicator: String,
    name: String,
    region: String,
    lead_units: Vec<String>,
    period: String,
    period_key: Period,
    value: f64,
    revision: u32,
    checks: Vec<CheckView<'a>>,
    explanation: &'a str,
    recorded_by: &'a str,
    recorded_at: chrono::DateTime<chrono::Utc>,
    /// The audit row of the flagged revision.
    seq: u64,
}

#[derive(Debug, Serialize)]
struct FlaggedList<'a> {
    as_of: Period,
    count: usize,
    flagged: &'a [FlaggedView<'a>],
}

/// `?indicator=`: an indicator id.
fn indicator_id(q: &Query, name: &str) -> Result<Option<IndicatorId>, ApiError> {
    q.get(name).map(parse_id).transpose()
}

super::params! {
    /// `GET /v1/quality`
    struct QualityParams {
        as_of: Option<Period> = value::<Period>,
        region: Vec<String> = many,
        indicator: Option<IndicatorId> = indicator_id,
        format: Option<String> = text,
    }
}

/// GET /v1/quality?as_of=&region=&indicator=&format=
///
/// The current readings of the year of `as_of`, up to `as_of`, that were accepted
/// despite failed quality checks, with the checks and the explanation given: of the
/// caller's region (the home region by default), of `region` when given, `*` for all.
pub fn quality(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "quality")
        .and(read(ctx))
        .and(params::<QualityParams>())
        .then(quality_handler)
        .map(Reply::into_response)
}

async fn quality_handler(
    ctx: Ctx,
    req: Req,
    p: Result<QualityParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    let asked = crate::query::Asked {
        region: p.region,
        ..crate::query::Asked::default()
    };
    let (sight, home) = super::sight::list_sight(&ctx, &req, &asked).await?;
    let as_of = sight.as_of(p.as_of)?;
    ctx.blocking(move |qs| {
        let s = qs.store();
        let sel = qs.selection(&asked, home.as_deref())?;
        let as_of = qs.resolve_as_of(as_of)?;
        let flagged = s.flagged()?;
        let mut views = Vec::new();
        for (seq, rec) in &flagged {
            let Some(view) = flagged_view(s, *seq, rec, as_of, p.indicator.as_ref())? else {
                continue;
            };
            if sel
                .regions
                .as_ref()
                .is_some_and(|r| !r.contains(&view.region))
            {
                continue;
            }
            views.push(view);
        }
        views.sort_by(|a, b| (a.period_key, &a.indicator).cmp(&(b.period_key, &b.indicator)));
        let body = FlaggedList {
            as_of,
            count: views.len(),
            flagged: &views,
        };
        list_reply(csv, &body, &views)
    })
    .await
}

/// A flagged audit row as listed, if it is a current reading of the year of `as_of`,
/// up to `as_of`, of `indicator` when one is asked for, and of a known indicator.
fn flagged_view<'a>(
    s: &crate::store::Store,
    seq: u64,
    rec: &'a AuditRecord,
    as_of: Period,
    indicator: Option<&IndicatorId>,
) -> Result<Option<FlaggedView<'a>>, ApiError> {
    let (
        Change::Reading {
            indicator: id,
            period,
            new: Some(reading),
            ..
        },
        Some(note),
    ) = (&rec.change, &rec.quality)
    else {
        return Ok(None);
    };
    if period.year() != as_of.year() || *period > as_of || indicator.is_some_and(|i| i != id) {
        return Ok(None);
    }
    let Some(ind) = s.indicator(id)? else {
        return Ok(None);
    };
    Ok(Some(FlaggedView {
        indicator: id.to_string(),
        name: ind.name,
        region: ind.region,
        lead_units: ind.lead_units,
        period: period.display_as(reading.form),
        period_key: *period,
        value: reading.value,
        revision: reading.revision,
        checks: note
            .findings
            .iter()
            .map(|f| CheckView {
                check: f.check,
                label: f.check.label_zh(),
                message: &f.message,
            })
            .collect(),
        explanation: &note.explanation,
        recorded_by: &reading.recorded_by,
        recorded_at: reading.recorded_at,
        seq,
    }))
}
