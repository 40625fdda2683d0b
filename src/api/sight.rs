//! What a request may see of the figures: everything, or only released months.
//!
//! With `--publish reviewed` (the default), a month's figures leave the server only to
//! the units that report them, the county statistics bureau and admins until the bureau
//! releases the month (see [`crate::store::PeriodRelease`]). Everyone else (no token, a
//! reader's token, another unit's token, a signed-out browser) gets a [`Sight::Released`]:
//! their `as_of` defaults to the latest released month and may not go past it, and the
//! lists of readings stop there. Because every answer derived from figures is taken at
//! an `as_of`, and an answer at `as_of` reads no figure after it, capping the `as_of`
//! is what keeps a later month's figures out of attainment, alerts, summaries,
//! rankings, charts, bulletins, pages, `/metrics`, the alert stream and webhooks.
//!
//! Every cached answer's key carries the sight ([`Sight::key`]), so a body rendered for
//! the bureau is never served to the public, and a release that takes effect at its set
//! time (without a write) changes the key of every public answer at that moment.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::auth::authenticate;
use super::error::ApiError;
use super::filters::Req;
use super::state::Ctx;
use crate::domain::messages::Msg;
use crate::domain::{Indicator, Period, STATS_BUREAU};
use crate::store::{Role, Store, Token};

/// When figures become public (`serve --publish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Publish {
    /// Once the bureau has reviewed and released their month.
    #[default]
    Reviewed,
    /// As soon as they are acknowledged.
    Immediate,
}

/// What one request may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sight {
    /// Every figure acknowledged.
    All,
    /// The figures of `region`'s released months: through `through`, none when it is
    /// `None`. `pending` is a later month under review or set to be released (待发布).
    Released {
        region: String,
        through: Option<Period>,
        pending: Option<Period>,
    },
}

/// What a list says of the months it leaves out: `{"released_through": "2023-06",
/// "pending": "2023-07", "pending_label": "待发布"}`.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseNote {
    pub region: String,
    pub released_through: Option<Period>,
    pub pending: Option<Period>,
    pub pending_label: Option<&'static str>,
}

/// A list answer, with what it says of the months it leaves out (only for a sight of
/// released months).
#[derive(Debug, Serialize)]
pub struct Noted<T> {
    #[serde(flatten)]
    pub body: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseNote>,
}

impl Sight {
    /// The `as_of` an answer is taken at: for the public, the latest released month by
    /// default, and never a later one (403 `unreleased`).
    pub fn as_of(&self, given: Option<Period>) -> Result<Option<Period>, ApiError> {
        match self {
            Sight::All => Ok(given),
            Sight::Released { through: None, .. } => Err(ApiError::Unreleased(Msg::new(
                "尚无已发布的数据：本期数据待发布，县统计局审核发布后即可查看",
                "no figures have been released yet: they are pending release (待发布) until the county statistics bureau reviews and releases them",
            ))),
            Sight::Released {
                through: Some(t), ..
            } => match given {
                None => Ok(Some(*t)),
                Some(p) if p <= *t => Ok(Some(p)),
                Some(p) => Err(unreleased(p, *t)),
            },
        }
    }

    /// Whether a figure of `period` may be shown.
    pub fn shows(&self, period: Period) -> bool {
        match self {
            Sight::All => true,
            Sight::Released { through, .. } => through.is_some_and(|t| period <= t),
        }
    }

    /// [`Sight::shows`], as a 403 naming the month.
    pub fn check(&self, period: Period) -> Result<(), ApiError> {
        match self {
            Sight::Released {
                through: Some(t), ..
            } if period > *t => Err(unreleased(period, *t)),
            Sight::Released { through: None, .. } => self.as_of(None).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Part of the key of a cached answer.
    pub fn key(&self) -> String {
        match self {
            Sight::All => "all".into(),
            Sight::Released {
                region,
                through,
                pending,
            } => format!(
                "released:{region}:{}:{}",
                through.map_or_else(String::new, |p| p.to_string()),
                pending.map_or_else(String::new, |p| p.to_string())
            ),
        }
    }

    /// What a list answer says of the months it leaves out; `None` for a full sight.
    pub fn note(&self) -> Option<ReleaseNote> {
        match self {
            Sight::All => None,
            Sight::Released {
                region,
                through,
                pending,
            } => Some(ReleaseNote {
                region: region.clone(),
                released_through: *through,
                pending: *pending,
                pending_label: pending.map(|_| {
                    if super::lang::current().is_en() {
                        "pending release"
                    } else {
                        "待发布"
                    }
                }),
            }),
        }
    }
}

fn unreleased(p: Period, through: Period) -> ApiError {
    ApiError::Unreleased(Msg::new(
        format!("{p}的数据待发布（已发布至{through}）：县统计局审核发布后即可查看"),
        format!("the figures of {p} are pending release (released through {through}); they can be seen once the county statistics bureau releases them"),
    ))
}

/// Whether a token sees every figure: admins, and the statistics bureau that reviews.
pub fn insider(t: &Token) -> bool {
    t.role == Role::Admin || t.units.iter().any(|u| u == STATS_BUREAU)
}

/// The public's sight of `region` (the home region when empty) at `now`.
pub fn released(store: &Store, region: &str, now: DateTime<Utc>) -> Result<Sight, ApiError> {
    let region = if region.is_empty() {
        store.home_region()?
    } else {
        region.to_string()
    };
    let through = store.released_through(&region, now)?;
    let latest = store.latest_period_of_region(&region)?;
    let scheduled = store
        .period_releases(&region)?
        .into_iter()
        .filter(|r| r.release_at.is_some_and(|at| at > now))
        .map(|r| r.period)
        .max();
    let pending = latest.max(scheduled).filter(|p| Some(*p) > through);
    Ok(Sight::Released {
        region,
        through,
        pending,
    })
}

/// The public's sight of each region, kept: working it out reads the region's release
/// records, and every public read needs it. A kept sight holds while the store's change
/// sequence and its count of release writes are those it was worked out at, and until
/// the next release set for a later time.
#[derive(Debug, Default)]
pub struct Sights(std::sync::Mutex<std::collections::HashMap<String, Kept>>);

#[derive(Debug, Clone)]
struct Kept {
    seq: u64,
    version: u64,
    until: Option<DateTime<Utc>>,
    sight: Sight,
}

impl Sights {
    /// The public's sight of `region` (empty: the home region) at `now`.
    fn of(&self, store: &Store, region: &str, now: DateTime<Utc>) -> Result<Sight, ApiError> {
        let seq = store.change_seq()?;
        let version = store.release_version();
        let kept = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(region)
            .filter(|k| k.seq == seq && k.version == version && k.until.is_none_or(|u| now < u))
            .map(|k| k.sight.clone());
        if let Some(s) = kept {
            return Ok(s);
        }
        let sight = released(store, region, now)?;
        let until = store.next_release_after(now)?;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 1_000 {
            map.clear();
        }
        map.insert(
            region.to_string(),
            Kept {
                seq,
                version,
                until,
                sight: sight.clone(),
            },
        );
        Ok(sight)
    }
}

/// The sight of someone holding `token` (or nobody), over `region`'s figures.
pub(super) fn sight_of(
    ctx: &Ctx,
    token: Option<&Token>,
    region: Option<&str>,
) -> Result<Sight, ApiError> {
    if ctx.publish == Publish::Immediate || token.is_some_and(insider) {
        return Ok(Sight::All);
    }
    let region = match region {
        Some(r) => ctx.queries.region_filter(Some(r))?.unwrap_or_default(),
        None => String::new(),
    };
    ctx.sights.of(&ctx.store, &region, ctx.clock.now())
}

/// The token a request presented, if any (a wrong one is 401, as for any route).
pub(super) async fn bearer(ctx: &Ctx, req: &Req) -> Result<Option<Token>, ApiError> {
    if req.authorization.is_none() {
        return Ok(None);
    }
    authenticate(ctx, req).await.map(Some)
}

/// The sight of a catalogue-wide read over `region` (the home region by default).
pub(super) async fn sight(ctx: &Ctx, req: &Req, region: Option<&str>) -> Result<Sight, ApiError> {
    if ctx.publish == Publish::Immediate {
        return Ok(Sight::All);
    }
    let token = bearer(ctx, req).await?;
    sight_of(ctx, token.as_ref(), region)
}

/// The sight of a catalogue-wide list (`/v1/attainment`, `/v1/alerts`, …) asked with
/// `asked`'s filters, and the region it answers for when none is asked: the token's
/// own region, if it has one (`None`: the home region).
pub(super) async fn list_sight(
    ctx: &Ctx,
    req: &Req,
    asked: &crate::query::Asked,
) -> Result<(Sight, Option<String>), ApiError> {
    let token = bearer(ctx, req).await?;
    let default = token
        .as_ref()
        .map(|t| t.region.clone())
        .filter(|r| !r.is_empty());
    let sight = sight_of(ctx, token.as_ref(), asked.sight_region(default.as_deref()))?;
    Ok((sight, default))
}

/// The region a list answers for when none is asked: the token's own region, if it
/// has one (`None`: the home region).
pub(super) async fn caller_region(ctx: &Ctx, req: &Req) -> Result<Option<String>, ApiError> {
    Ok(bearer(ctx, req)
        .await?
        .map(|t| t.region)
        .filter(|r| !r.is_empty()))
}

/// The sight of a read of one indicator: its own units see its figures too.
pub(super) fn sight_for_token(
    ctx: &Ctx,
    token: Option<&Token>,
    ind: &Indicator,
) -> Result<Sight, ApiError> {
    if token.is_some_and(|t| super::auth::may_write(t, ind)) {
        return Ok(Sight::All);
    }
    sight_of(
        ctx,
        token,
        Some(&ind.region)
            .filter(|r| !r.is_empty())
            .map(|r| r.as_str()),
    )
}

/// The sight of a read of one indicator, by id (404 for an unknown id): its own units
/// see its figures too. The indicator is looked up in the memo's map, and only when the
/// token alone does not decide.
pub(super) async fn indicator_sight(
    ctx: &Ctx,
    req: &Req,
    id: &crate::domain::IndicatorId,
) -> Result<Sight, ApiError> {
    if ctx.publish == Publish::Immediate {
        return Ok(Sight::All);
    }
    let token = bearer(ctx, req).await?;
    if token.as_ref().is_some_and(insider) {
        return Ok(Sight::All);
    }
    let map = ctx.queries.indicators_shared()?;
    match map.get(id) {
        Some(ind) => sight_for_token(ctx, token.as_ref(), ind),
        None => Err(ctx
            .inline(|qs| Ok(qs.indicator(id)?))
            .err()
            .unwrap_or_else(|| ApiError::NotFound(super::error::no_indicator(id)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn the_public_as_of_defaults_to_the_release_and_stops_there() {
        let s = Sight::Released {
            region: "桃江县".into(),
            through: Some(p("2023-06")),
            pending: Some(p("2023-07")),
        };
        assert_eq!(s.as_of(None).unwrap(), Some(p("2023-06")));
        assert_eq!(s.as_of(Some(p("2023-03"))).unwrap(), Some(p("2023-03")));
        let e = s.as_of(Some(p("2023-07"))).unwrap_err();
        assert_eq!(e.status(), warp::http::StatusCode::FORBIDDEN);
        assert!(
            e.detail_in(false).contains("待发布"),
            "{}",
            e.detail_in(false)
        );
        assert!(s.shows(p("2023-06")) && !s.shows(p("2023-07")));
        assert!(s.check(p("2023-07")).is_err());
        let none = Sight::Released {
            region: "桃江县".into(),
            through: None,
            pending: Some(p("2023-01")),
        };
        assert!(none.as_of(None).is_err());
        assert!(!none.shows(p("2020-01")));
        assert_eq!(Sight::All.as_of(None).unwrap(), None);
        assert_ne!(s.key(), none.key());
        assert_ne!(s.key(), Sight::All.key());
    }
}
