//! The pages of the bureau's month and of a person's password: `GET /review` (审核与发布)
//! with its two form posts, and `GET /account` (修改密码) with its one. Each needs a
//! signed-in session; each form post passes the CSRF check before its body is read.
//! They do what `POST /v1/periods/{period}/review`, `…/release` do, through the same
//! functions ([`super::periods`]), for the person signed in.

use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::access::Who;
use super::body::Body;
use super::filters::{params, read, write, Req, Resp};
use super::input::value;
use super::periods::{period_view, release_period, review_period, ReleaseInput, ReviewInput};
use super::session::{csrf, require_session, viewer, Session};
use super::sight::insider;
use super::state::{Ctx, MAX_BODY};
use super::submit::{field, form_fields, html};
use super::ApiError;
use crate::domain::Period;
use crate::report::review::{self, FigureLine, MonthLine, ReviewView};
use crate::report::submit::Notice;
use crate::store::AccessAction;

/// The routes of these pages, for the 405 fallback, metrics and private mode.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/review", &["GET", "HEAD"]),
    ("/review/verdicts", &["POST"]),
    ("/review/release", &["POST"]),
    ("/account", &["GET", "HEAD"]),
    ("/account/password", &["POST"]),
];

fn redirect(location: &str) -> Resp {
    let mut res = Resp::new(Default::default());
    *res.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = location.parse() {
        res.headers_mut().insert(warp::http::header::LOCATION, v);
    }
    res
}

super::params! {
    /// `GET /review`
    struct ReviewParams {
        period: Option<Period> = value::<Period>,
    }
}

/// GET /review?period=
pub fn page(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("review")
        .and(read(ctx.clone()))
        .and(params::<ReviewParams>())
        .and(require_session(ctx))
        .then(page_handler)
        .map(Reply::into_response)
}

async fn page_handler(
    ctx: Ctx,
    _req: Req,
    p: Result<ReviewParams, ApiError>,
    s: Session,
) -> Result<Resp, ApiError> {
    let period = p?.period;
    render(&ctx, &s, period, StatusCode::OK, None).await
}

/// The page of `period` (by default the earliest month not yet released that holds
/// figures, else the latest), with `notice` on top.
async fn render(
    ctx: &Ctx,
    s: &Session,
    period: Option<Period>,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Resp, ApiError> {
    let v = viewer(Some(s)).expect("a session has a viewer");
    if !insider(&s.token) {
        let page = review::account_page(
            &v,
            None,
            Some(Notice::error(
                "审核与发布由县统计局或管理员操作；您可以在“数据报送”页报送本单位数据，并在那里看到被退回的数据及原因。",
                Vec::new(),
            )),
        );
        return Ok(html(s, StatusCode::FORBIDDEN, page));
    }
    let region = ctx.store.home_region()?;
    let now = ctx.clock.now();
    let tz = ctx.clock.tz();
    let (months, through, shown) = ctx
        .blocking(move |qs| {
            let st = qs.store();
            let through = st.released_through(&region, now)?;
            let mut ps: Vec<Period> = match st.latest_period_of_region(&region)? {
                Some(last) => st.periods_of_region(&region, None, last)?,
                None => Vec::new(),
            };
            ps.extend(st.period_releases(&region)?.into_iter().map(|r| r.period));
            ps.sort();
            ps.dedup();
            let mut months = Vec::new();
            for m in ps.iter().rev() {
                let pv = period_view(qs, &region, *m, now, |_| true)?;
                months.push(MonthLine {
                    period: *m,
                    state_label: pv.state_label.to_string(),
                    figures: pv.figures,
                    to_review: pv.to_review,
                    returned: pv.returned,
                    release_at: pv
                        .release_at
                        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
                });
            }
            let shown = period
                .or_else(|| ps.iter().copied().find(|p| Some(*p) > through))
                .or_else(|| ps.last().copied());
            let shown = match shown {
                Some(p) => Some(period_view(qs, &region, p, now, |_| true)?),
                None => None,
            };
            Ok((months, through, shown))
        })
        .await?;
    let figures: Vec<FigureLine> = shown
        .iter()
        .flat_map(|pv| pv.items.iter().flatten())
        .map(|f| FigureLine {
            indicator: f.indicator.clone(),
            name: f.name.clone(),
            lead_units: f.lead_units.join("、"),
            value: format!("{}{}", crate::text::fmt_num(f.value), f.unit),
            revision: f.revision,
            state: serde_json::to_value(f.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            state_label: f.state_label.to_string(),
            note: f.note.clone(),
        })
        .collect();
    let region = ctx.store.home_region()?;
    let page = review::review_page(&ReviewView {
        region: &region,
        released_through: through,
        months: &months,
        period: shown.as_ref().map(|pv| pv.period),
        state_label: shown.as_ref().map_or("", |pv| pv.state_label),
        released: shown
            .as_ref()
            .is_some_and(|pv| pv.state == super::periods::PeriodState::Released),
        figures: &figures,
        notice,
        viewer: &v,
    });
    Ok(html(s, status, page))
}

/// The month a form post is about.
fn form_period(fields: &[(String, String)]) -> Result<Period, ApiError> {
    field(fields, "period")
        .ok_or_else(|| ApiError::invalid("period", "the form names no month"))?
        .parse::<Period>()
        .map_err(|e| ApiError::invalid("period", e.to_string()))
}

/// POST /review/verdicts (CSRF-checked): rows with a 退回原因 are returned, checked
/// rows pass.
pub fn verdicts(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("review" / "verdicts")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BODY))
        .then(verdicts_handler)
        .map(Reply::into_response)
}

async fn verdicts_handler(s: Session, ctx: Ctx, req: Req, body: Body) -> Result<Resp, ApiError> {
    let bytes = body.read().await?;
    let fields = form_fields(&req, &bytes)?;
    let period = form_period(&fields)?;
    if !insider(&s.token) {
        return render(&ctx, &s, Some(period), StatusCode::FORBIDDEN, None).await;
    }
    let returned: Vec<super::periods::ReturnInput> = fields
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("return_")?;
            let note = v.trim();
            (!note.is_empty()).then(|| super::periods::ReturnInput {
                indicator: id.to_string(),
                note: note.to_string(),
            })
        })
        .collect();
    let passed: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "pass")
        .map(|(_, v)| v.clone())
        .filter(|id| !returned.iter().any(|r| r.indicator == *id))
        .collect();
    if passed.is_empty() && returned.is_empty() {
        let n = Notice::error("没有勾选通过的数据，也没有填写退回原因", Vec::new());
        return render(&ctx, &s, Some(period), StatusCode::BAD_REQUEST, Some(n)).await;
    }
    let who = Who::of(&ctx, &req, Some(&s.token));
    let (n_pass, n_ret) = (passed.len(), returned.len());
    let input = ReviewInput {
        region: None,
        indicators: Some(passed),
        returned,
    };
    match review_period(&ctx, &s.token, &who, period, input).await {
        Ok(_) => {
            let n = Notice {
                kind: "ok",
                text: format!("已审核通过{n_pass}项，退回{n_ret}项"),
                details: Vec::new(),
            };
            render(&ctx, &s, Some(period), StatusCode::OK, Some(n)).await
        }
        Err(e) => {
            let status = e.status();
            let n = Notice::error(format!("未保存：{}", e.detail_in(false)), Vec::new());
            render(&ctx, &s, Some(period), status, Some(n)).await
        }
    }
}

/// POST /review/release (CSRF-checked): now, or at the form's `at` (local time).
pub fn release(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("review" / "release")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BODY))
        .then(release_handler)
        .map(Reply::into_response)
}

async fn release_handler(s: Session, ctx: Ctx, req: Req, body: Body) -> Result<Resp, ApiError> {
    let bytes = body.read().await?;
    let fields = form_fields(&req, &bytes)?;
    let period = form_period(&fields)?;
    if !insider(&s.token) {
        return render(&ctx, &s, Some(period), StatusCode::FORBIDDEN, None).await;
    }
    let who = Who::of(&ctx, &req, Some(&s.token));
    let input = ReleaseInput {
        region: None,
        at: field(&fields, "at").map(str::to_string),
    };
    match release_period(&ctx, &s.token, &who, period, input).await {
        Ok(v) => {
            let text = match v.state {
                super::periods::PeriodState::Scheduled => format!(
                    "{}数据将于{}发布",
                    crate::text::year_month(crate::text::Lang::Zh, period),
                    v.release_at
                        .map(|t| t
                            .with_timezone(&ctx.clock.tz())
                            .format("%Y-%m-%d %H:%M")
                            .to_string())
                        .unwrap_or_default()
                ),
                _ => format!(
                    "{}数据已发布",
                    crate::text::year_month(crate::text::Lang::Zh, period)
                ),
            };
            let n = Notice {
                kind: "ok",
                text,
                details: Vec::new(),
            };
            render(&ctx, &s, Some(period), StatusCode::OK, Some(n)).await
        }
        Err(e) => {
            let status = e.status();
            let n = Notice::error(format!("未发布：{}", e.detail_in(false)), Vec::new());
            render(&ctx, &s, Some(period), status, Some(n)).await
        }
    }
}

/// GET /account
pub fn account(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("account")
        .and(super::filters::get_or_head())
        .and(require_session(ctx))
        .then(|s: Session| async move {
            let v = viewer(Some(&s)).expect("a session has a viewer");
            let user = s.token.hash.is_empty().then_some(s.token.name.as_str());
            Ok::<_, ApiError>(html(
                &s,
                StatusCode::OK,
                review::account_page(&v, user, None),
            ))
        })
        .map(Reply::into_response)
}

/// POST /account/password (CSRF-checked): the person's own password, given the
/// current one. Every session of the account ends, this one too: 303 to 登录.
pub fn password(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("account" / "password")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(write(ctx, MAX_BODY))
        .then(password_handler)
        .map(Reply::into_response)
}

async fn password_handler(s: Session, ctx: Ctx, req: Req, body: Body) -> Result<Resp, ApiError> {
    let v = viewer(Some(&s)).expect("a session has a viewer");
    if !s.token.hash.is_empty() {
        return Ok(html(
            &s,
            StatusCode::BAD_REQUEST,
            review::account_page(&v, None, None),
        ));
    }
    let name = s.token.name.clone();
    let bytes = body.read().await?;
    let fields = form_fields(&req, &bytes)?;
    let again = |status: StatusCode, text: String| {
        html(
            &s,
            status,
            review::account_page(&v, Some(&name), Some(Notice::error(text, Vec::new()))),
        )
    };
    let current = field(&fields, "current").unwrap_or("").to_string();
    let new = field(&fields, "new").unwrap_or("").to_string();
    if field(&fields, "confirm").unwrap_or("") != new {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            "两次输入的新密码不一致".into(),
        ));
    }
    let n = name.clone();
    let user = ctx.inline(|qs| Ok(qs.store().user(&n)?))?;
    let Some(user) = user else {
        return Ok(again(StatusCode::NOT_FOUND, "此账户已不存在".into()));
    };
    let phc = user.password_hash.clone();
    let right = ctx
        .blocking(move |_| Ok(super::users::verify_password(&phc, &current)))
        .await?;
    if !right {
        return Ok(again(StatusCode::UNAUTHORIZED, "当前密码不正确".into()));
    }
    if let Err(e) = super::users::set_password(&ctx, &name, &new).await {
        return Ok(again(e.status(), e.detail_in(false)));
    }
    Who::of(&ctx, &req, Some(&s.token)).record(
        &ctx,
        AccessAction::PasswordChanged,
        format!("{name}（本人修改）"),
    )?;
    Ok(redirect("/login"))
}
