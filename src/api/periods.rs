//! 报送 → 审核 → 发布: the bureau's routes over a region's months.
//!
//! - `GET /v1/periods?region=`: each month holding figures, with its state (报送中,
//!   审核中, 已审核, 定时发布, 已发布) and counts.
//! - `GET /v1/periods/{period}?region=`: each figure of the month with its review
//!   state (待审核, 已审核, 已退回 with the note, 已重报 when corrected after 退回). A
//!   unit's token sees its own indicators' figures.
//! - `POST /v1/periods/{period}/review`: `{"indicators": [...], "returned":
//!   [{"indicator", "note"}]}`: passes the figures named (all not yet judged when none
//!   are named) and sends back the returned ones. A verdict holds for the revision it
//!   was given on: a corrected figure is judged again.
//! - `POST /v1/periods/{period}/release`: `{"at": "2023-07-15 09:00"}` (in the one
//!   clock's zone; at once without `at`). Every figure from the last released month
//!   through this one must have passed review at its current revision; otherwise 409
//!   names each one that has not.
//! - `DELETE /v1/periods/{period}/release`: takes back a release still to come. A
//!   release that has happened stays: a correction after it is a revision.
//!
//! Reviewing and releasing need an admin token or one of the statistics bureau.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::access::{label, Who};
use super::auth::authenticate;
use super::body::Body;
use super::filters::{params, read, write, Req, Resp};
use super::indicators::json_input;
use super::input::{text, value};
use super::reply::json;
use super::sight::insider;
use super::state::{Ctx, MAX_BODY};
use super::ApiError;
use crate::domain::messages::Msg;
use crate::domain::{Indicator, Period};
use crate::store::{AccessAction, PeriodRelease, Review, Token, Verdict};

/// Where a month stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodState {
    /// Figures coming in; none judged yet.
    Reporting,
    /// Some figures judged, or some still to judge after others.
    Reviewing,
    /// Every figure passed; not yet released.
    Reviewed,
    /// Set to be released at a later time.
    Scheduled,
    Released,
}

impl PeriodState {
    pub fn zh(self) -> &'static str {
        match self {
            PeriodState::Reporting => "报送中",
            PeriodState::Reviewing => "审核中",
            PeriodState::Reviewed => "已审核，待发布",
            PeriodState::Scheduled => "定时发布",
            PeriodState::Released => "已发布",
        }
    }
}

/// Where one figure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureState {
    /// 待审核: submitted, not judged.
    Submitted,
    Passed,
    Returned,
    /// 已重报: corrected after it was returned (or after it passed), to judge again.
    Resubmitted,
}

impl FigureState {
    pub fn zh(self) -> &'static str {
        match self {
            FigureState::Submitted => "待审核",
            FigureState::Passed => "已审核",
            FigureState::Returned => "已退回",
            FigureState::Resubmitted => "已重报，待审核",
        }
    }
}

/// One figure of a month, as the bureau reviews it.
#[derive(Debug, Clone, Serialize)]
pub struct FigureView {
    pub indicator: String,
    pub name: String,
    pub lead_units: Vec<String>,
    pub value: f64,
    pub unit: String,
    pub revision: u32,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub state: FigureState,
    pub state_label: &'static str,
    /// The note of a 退回.
    pub note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A month of a region, with its figures.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    pub region: String,
    pub period: Period,
    pub state: PeriodState,
    pub state_label: &'static str,
    pub figures: usize,
    pub passed: usize,
    pub returned: usize,
    pub to_review: usize,
    pub release_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<FigureView>>,
}

fn figure_state(review: Option<&Review>, revision: u32) -> FigureState {
    match review {
        None => FigureState::Submitted,
        Some(r) if r.revision != revision => FigureState::Resubmitted,
        Some(r) => match r.verdict {
            Verdict::Passed => FigureState::Passed,
            Verdict::Returned { .. } => FigureState::Returned,
        },
    }
}

/// The indicators of `region` (the home region's have its name, or none).
fn of_region<'a>(
    inds: &'a std::collections::BTreeMap<crate::domain::IndicatorId, Indicator>,
    region: &'a str,
) -> impl Iterator<Item = &'a Indicator> + 'a {
    inds.values().filter(move |i| i.region == region)
}

/// A month of `region`, worked out from its figures and its record, at `now`.
pub(crate) fn period_view(
    qs: &crate::query::Queries,
    region: &str,
    period: Period,
    now: DateTime<Utc>,
    keep: impl Fn(&Indicator) -> bool,
) -> Result<PeriodView, ApiError> {
    let s = qs.store();
    let rec = s
        .period_release(region, period)?
        .unwrap_or_else(|| PeriodRelease::new(region, period));
    let inds = qs.indicators_shared()?;
    let mut items = Vec::new();
    for ind in of_region(&inds, region).filter(|i| keep(i)) {
        let Some(r) = s.reading(&ind.id, period)? else {
            continue;
        };
        let review = rec.reviews.get(ind.id.as_str());
        let state = figure_state(review, r.revision);
        items.push(FigureView {
            indicator: ind.id.to_string(),
            name: ind.name.clone(),
            lead_units: ind.lead_units.clone(),
            value: r.value,
            unit: ind.unit.clone(),
            revision: r.revision,
            recorded_by: r.recorded_by.clone(),
            recorded_at: r.recorded_at,
            state,
            state_label: state.zh(),
            note: review.and_then(|r| match &r.verdict {
                Verdict::Returned { note } => Some(note.clone()),
                Verdict::Passed => None,
            }),
            reviewed_by: review.map(|r| r.by.clone()),
            reviewed_at: review.map(|r| r.at),
        });
    }
    let count = |st: FigureState| items.iter().filter(|f| f.state == st).count();
    let (passed, returned) = (count(FigureState::Passed), count(FigureState::Returned));
    let to_review = items.len() - passed - returned;
    let released_through = s.released_through(region, now)?;
    let state = if released_through >= Some(period) {
        PeriodState::Released
    } else if rec.release_at.is_some() {
        PeriodState::Scheduled
    } else if !items.is_empty() && passed == items.len() {
        PeriodState::Reviewed
    } else if rec.reviews.is_empty() {
        PeriodState::Reporting
    } else {
        PeriodState::Reviewing
    };
    Ok(PeriodView {
        region: region.to_string(),
        period,
        state,
        state_label: state.zh(),
        figures: items.len(),
        passed,
        returned,
        to_review,
        // A month released with a later one has no release of its own.
        release_at: rec.release_at,
        released_by: rec.released_by,
        items: Some(items),
    })
}

/// Admins and the statistics bureau review and release.
fn require_reviewer(t: &Token) -> Result<(), ApiError> {
    if insider(t) {
        return Ok(());
    }
    Err(ApiError::Forbidden(Msg::new(
        format!(
            "“{}”不能审核或发布：审核、发布由县统计局或管理员操作",
            t.name
        ),
        format!(
            "'{}' cannot review or release: that is for the county statistics bureau or an admin",
            t.name
        ),
    )))
}

/// The region asked for, canonical; the home region by default.
fn region_of(ctx: &Ctx, given: Option<&str>) -> Result<String, ApiError> {
    match given {
        Some(r) => Ok(ctx.queries.region_filter(Some(r))?.unwrap_or_default()),
        None => Ok(ctx.store.home_region()?),
    }
}

fn period_segment(s: &str) -> Result<Period, ApiError> {
    let s = super::input::decode_segment("period", s)?;
    s.parse::<Period>()
        .map_err(|e| ApiError::invalid("period", e.to_string()))
}

super::params! {
    /// `GET /v1/periods` and the routes of one month
    struct RegionParams {
        region: Option<String> = text,
    }
}

super::params! {
    /// `GET /v1/periods`
    struct ListParams {
        region: Option<String> = text,
        year: Option<u16> = value::<u16>,
    }
}

/// GET /v1/periods?region=&year=
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "periods")
        .and(read(ctx))
        .and(params::<ListParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

#[derive(Serialize)]
struct PeriodList {
    region: String,
    released_through: Option<Period>,
    periods: Vec<PeriodView>,
}

async fn list_handler(
    ctx: Ctx,
    req: Req,
    p: Result<ListParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    require_reviewer(&token)?;
    let p = p?;
    let region = region_of(&ctx, p.region.as_deref())?;
    let now = ctx.clock.now();
    let body = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let mut months: Vec<Period> = match s.latest_period_of_region(&region)? {
                Some(last) => s.periods_of_region(&region, None, last)?,
                None => Vec::new(),
            };
            months.extend(s.period_releases(&region)?.into_iter().map(|r| r.period));
            months.sort();
            months.dedup();
            if let Some(y) = p.year {
                months.retain(|m| m.year() == y);
            }
            let mut periods = Vec::new();
            for m in months.into_iter().rev() {
                let mut v = period_view(qs, &region, m, now, |_| true)?;
                v.items = None;
                periods.push(v);
            }
            Ok(PeriodList {
                released_through: s.released_through(&region, now)?,
                region,
                periods,
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// GET /v1/periods/:period?region=
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "periods" / String)
        .and(read(ctx))
        .and(params::<RegionParams>())
        .then(get_handler)
        .map(Reply::into_response)
}

async fn get_handler(
    period: String,
    ctx: Ctx,
    req: Req,
    p: Result<RegionParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let period = period_segment(&period)?;
    let region = region_of(&ctx, p?.region.as_deref())?;
    let now = ctx.clock.now();
    // A unit sees its own indicators' figures (and what was sent back to it).
    let view = ctx
        .blocking(move |qs| {
            period_view(qs, &region, period, now, |i| {
                insider(&token) || super::auth::may_write(&token, i)
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &view))
}

/// The body of `POST /v1/periods/{period}/review`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    #[serde(default)]
    pub region: Option<String>,
    /// Figures passed; none named and none returned: every figure not yet judged.
    #[serde(default)]
    pub indicators: Option<Vec<String>>,
    #[serde(default)]
    pub returned: Vec<ReturnInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    pub indicator: String,
    pub note: String,
}

/// POST /v1/periods/:period/review
pub fn review(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "periods" / String / "review")
        .and(warp::post())
        .and(write(ctx, MAX_BODY))
        .and(params::<super::filters::NoParams>())
        .then(review_handler)
        .map(Reply::into_response)
}

async fn review_handler(
    period: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<super::filters::NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    require_reviewer(&token)?;
    p?;
    let period = period_segment(&period)?;
    let input: ReviewInput = json_input(req.content_type.as_deref(), &body.read().await?)?;
    let who = Who::of(&ctx, &req, Some(&token));
    let view = review_period(&ctx, &token, &who, period, input).await?;
    Ok(json(StatusCode::OK, &view))
}

/// Gives the verdicts of `input` on `period`'s figures; the page's form does the same.
pub(crate) async fn review_period(
    ctx: &Ctx,
    token: &Token,
    who: &Who,
    period: Period,
    input: ReviewInput,
) -> Result<PeriodView, ApiError> {
    let region = region_of(ctx, input.region.as_deref())?;
    let now = ctx.clock.now();
    let by = label(token);
    let c = ctx.clone();
    let (view, passed, returned) = ctx
        .blocking(move |qs| {
            let s = qs.store();
            if s.released_through(&region, now)? >= Some(period) {
                return Err(ApiError::Conflict(Msg::new(
                    format!("{region}{period}已发布，不能再审核；发布后的更正作为修订记录"),
                    format!("{region} {period} is released and cannot be reviewed again; a correction after release is a revision"),
                )));
            }
            let view = period_view(qs, &region, period, now, |_| true)?;
            let items: std::collections::BTreeMap<&str, &FigureView> =
                view.items.iter().flatten().map(|f| (f.indicator.as_str(), f)).collect();
            let known = |id: &str, field: &str| -> Result<&FigureView, ApiError> {
                items.get(id).copied().ok_or_else(|| {
                    ApiError::invalid(
                        field,
                        format!("'{id}' has no figure for {period} in {region}; see GET /v1/periods/{period}"),
                    )
                })
            };
            let mut verdicts: Vec<(String, u32, Verdict)> = Vec::new();
            for r in &input.returned {
                let note = r.note.trim();
                if note.is_empty() {
                    return Err(ApiError::invalid(
                        "returned.note",
                        Msg::new(
                            format!("退回“{}”须写明退回原因，告诉填报单位改什么", r.indicator),
                            format!("returning '{}' needs a note saying what to correct", r.indicator),
                        ),
                    ));
                }
                let f = known(&r.indicator, "returned.indicator")?;
                verdicts.push((f.indicator.clone(), f.revision, Verdict::Returned { note: note.to_string() }));
            }
            match &input.indicators {
                Some(ids) => {
                    for id in ids {
                        let f = known(id, "indicators")?;
                        verdicts.push((f.indicator.clone(), f.revision, Verdict::Passed));
                    }
                }
                None if input.returned.is_empty() => {
                    for f in view.items.iter().flatten() {
                        if matches!(f.state, FigureState::Submitted | FigureState::Resubmitted) {
                            verdicts.push((f.indicator.clone(), f.revision, Verdict::Passed));
                        }
                    }
                }
                None => {}
            }
            let mut rec = s
                .period_release(&region, period)?
                .unwrap_or_else(|| PeriodRelease::new(&region, period));
            let (mut passed, mut returned) = (Vec::new(), Vec::new());
            for (id, revision, verdict) in verdicts {
                match &verdict {
                    Verdict::Passed => passed.push(id.clone()),
                    Verdict::Returned { note } => returned.push(format!("{id}：{note}")),
                }
                rec.reviews.insert(
                    id,
                    Review {
                        verdict,
                        revision,
                        by: by.clone(),
                        at: now,
                    },
                );
            }
            s.put_period_release(&rec)?;
            let _ = &c;
            Ok((period_view(qs, &region, period, now, |_| true)?, passed, returned))
        })
        .await?;
    if !passed.is_empty() {
        who.record(
            ctx,
            AccessAction::Review,
            format!("{} {period}：{}", view.region, passed.join("、")),
        )?;
    }
    for r in returned {
        who.record(
            ctx,
            AccessAction::Return,
            format!("{} {period} {r}", view.region),
        )?;
    }
    Ok(view)
}

/// The body of `POST /v1/periods/{period}/release`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInput {
    #[serde(default)]
    pub region: Option<String>,
    /// When: RFC 3339, or a local `YYYY-MM-DD HH:MM` in the one clock's zone.
    #[serde(default)]
    pub at: Option<String>,
}

/// Reads a release time: RFC 3339, or local date and time in `tz`.
pub(crate) fn release_time(s: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, ApiError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            if let Some(t) = tz.from_local_datetime(&n).earliest() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    Err(ApiError::invalid(
        "at",
        Msg::new(
            format!("发布时间“{s}”无法识别：请写成 2023-07-15 09:00（{tz}时间）"),
            format!("'{s}' is not a time: write it as 2023-07-15 09:00 ({tz} time) or RFC 3339"),
        ),
    ))
}

/// POST /v1/periods/:period/release
pub fn release(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "periods" / String / "release")
        .and(warp::post())
        .and(write(ctx, MAX_BODY))
        .and(params::<super::filters::NoParams>())
        .then(release_handler)
        .map(Reply::into_response)
}

async fn release_handler(
    period: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<super::filters::NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    require_reviewer(&token)?;
    p?;
    let period = period_segment(&period)?;
    let bytes = body.read().await?;
    let input: ReleaseInput = if bytes.iter().all(u8::is_ascii_whitespace) {
        ReleaseInput::default()
    } else {
        json_input(req.content_type.as_deref(), &bytes)?
    };
    let who = Who::of(&ctx, &req, Some(&token));
    let view = release_period(&ctx, &token, &who, period, input).await?;
    Ok(json(StatusCode::OK, &view))
}

/// Releases `period` (with every earlier month not yet released), at once or at the
/// time given; the page's form does the same.
pub(crate) async fn release_period(
    ctx: &Ctx,
    token: &Token,
    who: &Who,
    period: Period,
    input: ReleaseInput,
) -> Result<PeriodView, ApiError> {
    let region = region_of(ctx, input.region.as_deref())?;
    let now = ctx.clock.now();
    let at = match input.at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => release_time(s, ctx.clock.tz())?.max(now),
        None => now,
    };
    let by = label(token);
    let view = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let through = s.released_through(&region, now)?;
            if through >= Some(period) {
                return Err(ApiError::Conflict(Msg::new(
                    format!(
                        "{region}已发布至{}，{period}已在其中",
                        through.map(|p| p.to_string()).unwrap_or_default()
                    ),
                    format!(
                        "{region} is released through {}, which includes {period}",
                        through.map(|p| p.to_string()).unwrap_or_default()
                    ),
                )));
            }
            // Every figure from the month after the last release through this one.
            let mut problems = Vec::new();
            let mut months = s.periods_of_region(&region, through, period)?;
            if !months.contains(&period) {
                months.push(period);
            }
            for m in months {
                let v = period_view(qs, &region, m, now, |_| true)?;
                for f in v.items.iter().flatten() {
                    if f.state != FigureState::Passed {
                        problems.push(format!(
                            "{m} {}（{}）：{}",
                            f.name, f.indicator, f.state_label
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                let n = problems.len();
                problems.truncate(20);
                return Err(ApiError::Conflict(Msg::new(
                    format!("还有{n}项数据未审核通过，不能发布：{}", problems.join("；")),
                    format!(
                        "{n} figures have not passed review, so nothing is released: {}",
                        problems.join("; ")
                    ),
                )));
            }
            let mut rec = s
                .period_release(&region, period)?
                .unwrap_or_else(|| PeriodRelease::new(&region, period));
            rec.release_at = Some(at);
            rec.released_by = Some(by.clone());
            rec.ordered_at = Some(now);
            s.put_period_release(&rec)?;
            period_view(qs, &region, period, now, |_| true)
        })
        .await?;
    let when = if at <= now {
        "立即发布".to_string()
    } else {
        format!(
            "定时发布于 {}",
            at.with_timezone(&ctx.clock.tz()).format("%Y-%m-%d %H:%M")
        )
    };
    who.record(
        ctx,
        AccessAction::Release,
        format!("{} {period} {when}", view.region),
    )?;
    // Streams and the notifier look again: the public's month has moved.
    let _ = ctx.changes.send(ctx.store.change_seq().unwrap_or(0));
    Ok(view)
}

/// DELETE /v1/periods/:period/release?region=
pub fn cancel(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "periods" / String / "release")
        .and(warp::delete())
        .and(super::filters::with_ctx(ctx))
        .and(super::filters::req())
        .and(params::<RegionParams>())
        .then(cancel_handler)
        .map(Reply::into_response)
}

async fn cancel_handler(
    period: String,
    ctx: Ctx,
    req: Req,
    p: Result<RegionParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    require_reviewer(&token)?;
    let period = period_segment(&period)?;
    let region = region_of(&ctx, p?.region.as_deref())?;
    let now = ctx.clock.now();
    let view = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let rec = s.period_release(&region, period)?;
            let Some(mut rec) = rec.filter(|r| r.release_at.is_some_and(|at| at > now)) else {
                return Err(ApiError::Conflict(Msg::new(
                    format!("{region}{period}没有待执行的定时发布；已发布的数据不能撤回，更正请提交修订"),
                    format!("{region} {period} has no release still to come; a release that happened stays (correct a figure with a revision)"),
                )));
            };
            rec.release_at = None;
            rec.released_by = None;
            rec.ordered_at = None;
            s.put_period_release(&rec)?;
            period_view(qs, &region, period, now, |_| true)
        })
        .await?;
    Who::of(&ctx, &req, Some(&token)).record(
        &ctx,
        AccessAction::ReleaseCancelled,
        format!("{} {period}", view.region),
    )?;
    Ok(json(StatusCode::OK, &view))
}
