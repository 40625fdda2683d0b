//! Indicator definitions and targets. Each route is a filter (path, the shared `read`
//! or `write` filter, its typed parameters) and a named handler.

use crate::api::body::Body;
use chrono::{DateTime, Utc};
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, write, NoParams, Req, Resp};
use super::input::{many, parse_id, require_json, text};
use super::reply::{created_or_ok, csv_wanted, json, list_reply};
use super::{require_admin, ApiError, Ctx, MAX_BODY};
use crate::catalogue::{build_indicator, build_target, Defaults, RawIndicator, RawTarget};
use crate::domain::{Indicator, Target};
use crate::query::views::{IndicatorView, TargetView};
use crate::store::{Outcome, Store};

super::params! {
    /// `GET /v1/indicators`
    struct ListParams {
        group: Vec<String> = many,
        battle: Vec<String> = many,
        lead_unit: Vec<String> = many,
        region: Vec<String> = many,
        kind: Vec<String> = many,
        code: Option<String> = text,
        format: Option<String> = text,
    }
}

/// GET /v1/indicators?group=&lead_unit=&region=&kind=&code=&format=
///
/// The filters take lists as on `/v1/attainment`; without `region`, the indicators of
/// the caller's region (the token's, else the home region), `region=*` for all.
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators")
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
    let home = super::sight::caller_region(&ctx, &req).await?;
    ctx.blocking(move |qs| {
        let asked = crate::query::Asked::new(p.group, p.battle, p.lead_unit, p.region, p.kind);
        let sel = qs.selection(&asked, home.as_deref())?;
        let year = qs.default_as_of()?.map(|p| p.year());
        let mut list = qs.store().indicators()?;
        // In the order of the plan of the year shown: its groups, then 序号.
        if let Some(y) = year {
            let order = qs.plan_order(y)?;
            let mut keyed = Vec::with_capacity(list.len());
            for ind in list {
                let t = qs.store().target(&ind.id, y)?;
                let k = order.key_of(
                    &ind.in_plan(t.as_ref().and_then(|t| t.plan.as_ref())),
                    t.as_ref(),
                );
                keyed.push((k, ind));
            }
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            list = keyed.into_iter().map(|(_, i)| i).collect();
        }
        let mut out = Vec::new();
        for ind in list
            .iter()
            .filter(|i| sel.keeps(i) && p.code.as_ref().is_none_or(|c| i.code == *c))
        {
            out.push(view(qs.store(), ind, year)?);
        }
        list_reply(csv, &out, &out)
    })
    .await
}

/// GET /v1/indicators/:id
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String)
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
    let id = parse_id(&id)?;
    p?;
    ctx.blocking(move |qs| {
        let ind = qs.indicator(&id)?;
        let year = qs.default_as_of()?.map(|p| p.year());
        Ok(json(StatusCode::OK, &view(qs.store(), &ind, year)?))
    })
    .await
}

/// An indicator with its current target: the one for the year of the default `as_of`,
/// else its latest.
pub(super) fn view<'a>(
    s: &Store,
    ind: &'a Indicator,
    year: Option<u16>,
) -> Result<IndicatorView<'a>, ApiError> {
    let targets = s.targets(&ind.id)?;
    let current: Option<&Target> = year
        .and_then(|y| targets.iter().find(|t| t.year == y))
        .or_else(|| targets.last());
    let entry = current.and_then(|t| t.plan.as_ref());
    let plan = match entry {
        Some(e) => s.plan(&e.plan)?,
        None => None,
    };
    let shown = match entry {
        Some(e) => std::borrow::Cow::Owned(ind.in_plan(Some(e))),
        None => std::borrow::Cow::Borrowed(ind),
    };
    Ok(IndicatorView {
        group_name: plan
            .as_ref()
            .and_then(|p| p.group(&shown.group))
            .map_or_else(|| shown.group.clone(), |g| g.name.clone()),
        plan: plan.map(|p| p.id.to_string()),
        due: s.due_rule(&ind.id)?,
        target: current.map(|t| TargetView::new(ind, t)),
        target_years: targets.iter().map(|t| t.year).collect(),
        key: &ind.id,
        indicator: shown,
    })
}

/// The fields `GET /v1/indicators/{id}` answers that are not part of a definition.
/// A PUT may carry them: each is ignored when it agrees with what the store would
/// answer, and refused by name when it differs.
#[derive(Debug, Default)]
struct Computed {
    group_name: Option<serde_json::Value>,
    plan: Option<serde_json::Value>,
    target_years: Option<serde_json::Value>,
    target_plan: Option<serde_json::Value>,
    /// `target.position` (序号): a place in the plan, which a PUT may set.
    position: Option<u32>,
    bad_position: Option<serde_json::Value>,
}

fn take_computed(v: &mut serde_json::Value) -> Computed {
    let obj = v.as_object_mut().expect("checked object");
    let mut c = Computed {
        group_name: obj.remove("group_name"),
        plan: obj.remove("plan"),
        target_years: obj.remove("target_years"),
        ..Computed::default()
    };
    if let Some(t) = obj.get_mut("target").and_then(|t| t.as_object_mut()) {
        c.target_plan = t.remove("plan");
        if let Some(p) = t.remove("position") {
            match p
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
            {
                Some(n) => c.position = Some(n),
                None => c.bad_position = Some(p),
            }
        }
    }
    c
}

impl Computed {
    /// Checks each computed field against what the store would answer for `ind` with
    /// `target` (the body's) and `stored` (the year's stored target).
    fn check(
        &self,
        qs: &crate::query::Queries,
        ind: &Indicator,
        target: Option<&Target>,
        stored: Option<&Target>,
    ) -> Result<(), ApiError> {
        let differs = |field: &str, sent: &serde_json::Value, want: serde_json::Value| {
            if *sent == want {
                Ok(())
            } else {
                Err(ApiError::invalid(
                    field,
                    format!(
                        "{field} is computed by the server ({want}), and the body says {sent}:                          leave it out, or send it as GET answers it"
                    ),
                ))
            }
        };
        if let Some(p) = &self.bad_position {
            return Err(ApiError::invalid(
                "target.position",
                format!("target.position (序号) is a whole number from 1, not {p}"),
            ));
        }
        // The plan GET would name: that of the body's target's year, or, without a
        // target in the body, that of the target GET shows.
        let plan = match target {
            Some(t) => qs.store().plan_for(&ind.region, t.year)?,
            None => {
                let targets = qs.store().targets(&ind.id)?;
                let year = qs.default_as_of()?.map(|p| p.year());
                let current = year
                    .and_then(|y| targets.iter().find(|t| t.year == y))
                    .or_else(|| targets.last());
                match current.and_then(|t| t.plan.as_ref()) {
                    Some(e) => qs.store().plan(&e.plan)?,
                    None => None,
                }
            }
        };
        if let Some(sent) = &self.plan {
            differs(
                "plan",
                sent,
                plan.as_ref()
                    .map_or(serde_json::Value::Null, |p| p.id.as_str().into()),
            )?;
        }
        if let Some(sent) = &self.target_plan {
            differs(
                "target.plan",
                sent,
                plan.as_ref()
                    .map_or(serde_json::Value::Null, |p| p.id.as_str().into()),
            )?;
        }
        if let Some(sent) = &self.group_name {
            let name = plan
                .as_ref()
                .and_then(|p| p.group(&ind.group))
                .map_or_else(|| ind.group.clone(), |g| g.name.clone());
            differs("group_name", sent, name.into())?;
        }
        if let Some(sent) = &self.target_years {
            let mut years: Vec<u16> = qs
                .store()
                .targets(&ind.id)?
                .iter()
                .map(|t| t.year)
                .collect();
            let before = serde_json::json!(years);
            if let Some(t) = target {
                if stored.is_none() {
                    years.push(t.year);
                    years.sort_unstable();
                }
            }
            if *sent != before {
                differs("target_years", sent, serde_json::json!(years))?;
            }
        }
        Ok(())
    }
}

/// Names the field of a serde error message ("missing field `battle`").
pub(super) fn serde_field(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("body").to_string()
}

/// A JSON body read into `T` (its fields checked by `T`'s own `Deserialize`): 400 naming
/// the body when it does not fit.
pub(super) fn json_input<T: serde::de::DeserializeOwned>(
    ct: Option<&str>,
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_value(parse_json_body(ct, body)?)
        .map_err(|e| ApiError::invalid("body", e.to_string()))
}

pub(super) fn parse_json_body(
    ct: Option<&str>,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    require_json(ct)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "the body is empty"));
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?;
    // A target or threshold of 1e-400 would be stored as 0.
    crate::domain::number::json_numbers(body)?;
    if !v.is_object() {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    }
    Ok(v)
}

/// A body's `key` must name what the path names; when it is missing, the path's value
/// is filled in. `body` is a JSON object ([`parse_json_body`]).
pub(super) fn path_key_in_body(
    body: &mut serde_json::Value,
    key: &str,
    from_path: &str,
) -> Result<(), ApiError> {
    let obj = body.as_object_mut().expect("checked object");
    match obj.get(key) {
        None => {
            obj.insert(key.into(), from_path.into());
            Ok(())
        }
        Some(serde_json::Value::String(s)) if s == from_path => Ok(()),
        Some(other) => Err(ApiError::invalid(
            key,
            format!("the body's {key} {other} differs from the path's '{from_path}'"),
        )),
    }
}

#[derive(Serialize)]
struct Written<'a, T: Serialize> {
    outcome: Outcome,
    #[serde(flatten)]
    value: T,
    #[serde(skip)]
    _p: std::marker::PhantomData<&'a ()>,
}

/// PUT /v1/indicators/:id (admin)
///
/// Creates or replaces a definition. The body has the catalogue's fields (see
/// `docs/catalogue.md`), in JSON; an optional `target` sets that year's target too.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String)
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
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
    let id = parse_id(&id)?;
    p?;
    let mut v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    // `indicator` is the key answers name an indicator by, beside the definition's
    // older `id`: a definition read back carries both. Alone it is read as `id`; with
    // `id` (a copy given a new id), it is the echo of the old one and left out.
    if let Some(o) = v.as_object_mut() {
        if let Some(k) = o.remove("indicator") {
            o.entry("id").or_insert(k);
        }
    }
    path_key_in_body(&mut v, "id", id.as_str())?;
    // `due` is read on its own, so that its errors name it.
    let due_value = v
        .as_object_mut()
        .and_then(|o| o.remove("due"))
        .unwrap_or(serde_json::Value::Null);
    // What GET answers beside the definition: checked against the store below, then
    // dropped, so that a GET can be PUT back as it is.
    let computed = take_computed(&mut v);
    let mut raw: RawIndicator = serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        ApiError::invalid(serde_field(&msg), msg)
    })?;
    raw.due = serde_json::from_value(due_value)
        .map_err(|e| ApiError::invalid("due", format!("due: {e}")))?;
    let due = raw.take_due()?;
    let now: DateTime<Utc> = ctx.clock.now();
    let (outcome, ind, target) = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let units = s.units()?;
            // A target without a year belongs to the latest year that has targets.
            let year = s
                .latest_target_year()?
                .unwrap_or_else(|| chrono::Datelike::year(&now).clamp(1990, 9999) as u16);
            let home = s.home_region()?;
            let defaults = Defaults {
                document: "",
                year,
                region: &home,
            };
            let (ind, target) = build_indicator(raw, &defaults, &units)?;
            qs.known_region("region", &ind.region)?;
            let target = match target {
                Some(mut t) => {
                    let stored = s.target(&ind.id, t.year)?;
                    computed.check(qs, &ind, Some(&t), stored.as_ref())?;
                    // A GET answers the tolerance that applies; sent back unchanged, it
                    // stays the kind's default rather than becoming an explicit one.
                    if let (Some(old), Some(tol), Some(v)) = (&stored, t.tolerance, t.value) {
                        if old.tolerance.is_none()
                            && (crate::engine::tolerance(
                                &ind,
                                &Target {
                                    tolerance: None,
                                    ..t.clone()
                                },
                                v,
                            ) - tol)
                                .abs()
                                < 1e-12
                        {
                            t.tolerance = None;
                        }
                    }
                    t.plan = qs.plan_entry_for(&ind, t.year, computed.position)?;
                    Some(t)
                }
                None => {
                    computed.check(qs, &ind, None, None)?;
                    None
                }
            };
            for b in &ind.benchmarks {
                qs.known_region("benchmarks", b)?;
            }
            // A growth rate's base: a cumulative or level amount of its region.
            if let Some(b) = &ind.base_indicator {
                let base = s.indicator(b)?.ok_or_else(|| {
                    ApiError::invalid("base_indicator", format!("no indicator '{b}' in the store"))
                })?;
                if let Some(e) = ind.base_error(&base) {
                    return Err(ApiError::invalid("base_indicator", e));
                }
            }
            if let Some(other) = s
                .indicators_with_code(&ind.code)?
                .into_iter()
                .find(|o| o.region == ind.region && o.id != ind.id)
            {
                return Err(ApiError::invalid(
                    "code",
                    format!(
                        "'{}' already measures '{}' in {}: a code names one indicator per region",
                        other.id, ind.code, ind.region
                    ),
                ));
            }
            if ind.source.document.is_empty() {
                return Err(ApiError::invalid(
                    "source.document",
                    "source.document is required: the plan document the target comes from",
                ));
            }
            let outcome = s.put_indicator(&ind, &token.name, now)?;
            if let Some(t) = &target {
                s.put_target(&ind.id, t, &token.name, now)?;
            }
            // A body without `due` puts the indicator back on its frequency's default.
            s.set_due_rule(&ind.id, due)?;
            Ok((outcome, ind, target))
        })
        .await?;
    ctx.commit().await?;
    let status = created_or_ok(outcome);
    #[derive(Serialize)]
    struct Answer<'a> {
        outcome: Outcome,
        indicator: &'a Indicator,
        target: Option<TargetView>,
    }
    Ok(json(
        status,
        &Answer {
            outcome,
            indicator: &ind,
            target: target.as_ref().map(|t| TargetView::new(&ind, t)),
        },
    ))
}

/// PUT /v1/indicators/:id/targets/:year (admin)
///
/// Sets one year's target, e.g. 2024's, without touching 2023's. Mid-year amendments
/// are audited, and `as_known_at` answers with the target as it stood then.
pub fn put_target(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "targets" / String)
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(put_target_handler)
        .map(Reply::into_response)
}

async fn put_target_handler(
    id: String,
    year: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    let id = parse_id(&id)?;
    p?;
    let year: u16 = year
        .parse()
        .ok()
        .filter(|y| (crate::domain::MIN_YEAR..=crate::domain::MAX_YEAR).contains(y))
        .ok_or_else(|| ApiError::invalid("year", format!("'{year}' is not a year such as 2024")))?;
    let mut v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    let obj = v.as_object_mut().expect("checked object");
    match obj.get("year") {
        None => {}
        Some(y) if y.as_u64() == Some(u64::from(year)) => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "year",
                format!("the body's year {other} differs from the path's {year}"),
            ))
        }
    }
    obj.remove("year");
    let raw: RawTarget = serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        ApiError::invalid(serde_field(&msg), msg)
    })?;
    let target = build_target(raw, year)?;
    let now = ctx.clock.now();
    let (outcome, ind) = {
        let target = target.clone();
        ctx.blocking(move |qs| {
            let s = qs.store();
            let stored = qs.indicator(&id)?;
            // The target keeps its place in the year's plan, or joins that plan at
            // the end, with the units and source the plan already gives it.
            let ind = qs.indicator_in_year(&id, year)?;
            let mut target = target;
            target.plan = qs.plan_entry_for(&ind, year, None)?;
            let outcome = s.put_target(&stored.id, &target, &token.name, now)?;
            Ok((outcome, (ind, target)))
        })
        .await?
    };
    let (ind, target) = ind;
    ctx.commit().await?;
    let status = created_or_ok(outcome);
    Ok(json(
        status,
        &Written {
            outcome,
            value: TargetView::new(&ind, &target),
            _p: std::marker::PhantomData,
        },
    ))
}
