//! Regions, rankings among peer regions, and the list of flagged readings.
//!
//! A store may hold the plans of several regions; indicators that measure the same
//! thing share a `code`. `/v1/rankings` sets the regions that share a code against one
//! another, the way a city's bulletin ranks its counties (居全市第3位). `/v1/quality`
//! lists the readings accepted despite failed quality checks, with their explanations
//! (强制上报说明), for the bureau's review.

use serde::Serialize;
use warp::Filter;

use super::input::{body_bytes, decode_segment, Query};
use super::{
    created_or_ok, error, get_or_head, json, list_reply, parse_id, req, require_admin, wants_csv,
    with_ctx, ApiError, Ctx, Req, Resp, MAX_BODY,
};
use crate::catalogue::{check_parents, RawRegion};
use crate::domain::{Check, Period, Region};
use crate::store::{Change, Outcome};

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

/// GET /v1/regions
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "regions")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["format"])?;
                    let csv = wants_csv(&q, &req)?;
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
                .await,
            )
        })
}

/// PUT /v1/regions/:name (admin), body `{"level": "county", "parent": "益阳市"}`.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "regions" / String)
        .and(warp::put())
        .and(req())
        .and(body_bytes(MAX_BODY, ctx.body_timeout))
        .and(with_ctx(ctx))
        .then(
            |name: String, req: Req, body: Result<bytes::Bytes, ApiError>, ctx: Ctx| async move {
                error::reply(put_handler(ctx, name, req, body).await)
            },
        )
}

async fn put_handler(
    ctx: Ctx,
    name: String,
    req: Req,
    body: Result<bytes::Bytes, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let name = decode_segment("name", &name)?;
    Query::parse(&req.query, &[])?;
    let mut v = super::indicators::parse_json_body(req.content_type.as_deref(), &body?)?;
    super::indicators::path_key_in_body(&mut v, "name", &name)?;
    let raw: RawRegion = serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        ApiError::invalid(super::indicators::serde_field(&msg), msg)
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

/// GET /v1/rankings?code=&as_of=&parent=&format=
///
/// The regions whose indicators share `code`, best first by the indicator's
/// direction, dense-ranked (ties share a place). With `parent`, only the regions
/// directly under it (a city's counties); the parent's own figure is not ranked.
pub fn rankings(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "rankings")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["code", "as_of", "parent", "format"])?;
                    let code = q
                        .get("code")
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "code",
                                "code is required, e.g. ?code=gdp-growth (see GET /v1/indicators)",
                            )
                        })?
                        .to_string();
                    parse_id(&code).map_err(|_| {
                        ApiError::invalid("code", format!("'{code}' is not an indicator code"))
                    })?;
                    let as_of = q.value::<Period>("as_of")?;
                    let parent = q.get("parent").map(str::to_string);
                    let csv = wants_csv(&q, &req)?;
                    ctx.blocking(move |qs| {
                        let body = qs.ranking(&code, as_of, parent.as_deref())?;
                        list_reply(csv, &body, &body.rankings)
                    })
                    .await
                }
                .await,
            )
        })
}

/// One failed check of a flagged reading.
#[derive(Debug, Serialize)]
struct CheckView<'a> {
    check: Check,
    label: &'static str,
    message: &'a str,
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

/// GET /v1/quality?as_of=&region=&indicator=&format=
///
/// The current readings of the year of `as_of`, up to `as_of`, that were accepted
/// despite failed quality checks, with the checks and the explanation given.
pub fn quality(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "quality")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["as_of", "region", "indicator", "format"])?;
                    let as_of = q.value::<Period>("as_of")?;
                    let indicator = q.get("indicator").map(parse_id).transpose()?;
                    let region = q.get("region").map(str::to_string);
                    let csv = wants_csv(&q, &req)?;
                    ctx.blocking(move |qs| {
                        let s = qs.store();
                        let region = qs.region_filter(region.as_deref())?;
                        let as_of = qs.resolve_as_of(as_of)?;
                        let flagged = s.flagged()?;
                        let mut views = Vec::new();
                        for (seq, rec) in &flagged {
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
                                continue;
                            };
                            if period.year() != as_of.year()
                                || *period > as_of
                                || indicator.as_ref().is_some_and(|i| i != id)
                            {
                                continue;
                            }
                            let Some(ind) = s.indicator(id)? else {
                                continue;
                            };
                            if region.as_ref().is_some_and(|r| *r != ind.region) {
                                continue;
                            }
                            views.push(FlaggedView {
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
                                seq: *seq,
                            });
                        }
                        views.sort_by(|a, b| {
                            (a.period_key, &a.indicator).cmp(&(b.period_key, &b.indicator))
                        });
                        let body = FlaggedList {
                            as_of,
                            count: views.len(),
                            flagged: &views,
                        };
                        list_reply(csv, &body, &views)
                    })
                    .await
                }
                .await,
            )
        })
}
