//! What people and Prometheus look at: the dashboard pages, the SVG chart, the
//! bulletins (月通报 / 季总结) and `/metrics`. The renderers live in [`crate::report`];
//! these routes assemble the board and pick the format.

use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{get_or_head, params, read, Req, Resp};
use super::input::{date, decode_segment, many, parse_id, text, value};
use super::session::{private_answer, session, viewer, Session};
use super::sight::{self, Sight};
use super::{metrics, ApiError, Ctx};
use crate::domain::{IndicatorId, Period};
use crate::query::Queries;
use crate::report::bulletin::{self, Format, Kind};
use crate::report::{chart, web};

fn body(content_type: &'static str, status: StatusCode, bytes: Vec<u8>) -> Resp {
    let mut res = warp::reply::Response::new(bytes.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static(content_type),
    );
    res
}

const HTML: &str = "text/html; charset=utf-8";

/// An HTML page rendered for the person signed in (if any, see [`viewer`]), whose
/// answer no shared cache may keep.
fn page(who: &Option<Session>, status: StatusCode, html: String) -> Resp {
    let mut res = body(HTML, status, html.into_bytes());
    private_answer(who.as_ref(), &mut res);
    res
}

/// The sight of a page request: the signed-in person's, else a bearer token's.
async fn page_sight(
    ctx: &Ctx,
    req: &Req,
    who: &Option<Session>,
    region: Option<&str>,
) -> Result<Sight, ApiError> {
    match who {
        Some(s) => sight::sight_of(ctx, Some(&s.token), region),
        None => sight::sight(ctx, req, region).await,
    }
}

/// What a public page says while a later month is under review.
fn release_notice(sight: &Sight) -> Option<String> {
    let Sight::Released {
        through,
        pending: Some(pending),
        ..
    } = sight
    else {
        return None;
    };
    let month = |p: Period| crate::text::year_month(crate::text::Lang::Zh, p);
    Some(match through {
        Some(t) => format!(
            "已发布至{}；{}数据待发布，县统计局审核发布后显示。",
            month(*t),
            month(*pending)
        ),
        None => format!("{}数据待发布，县统计局审核发布后显示。", month(*pending)),
    })
}

/// A page asked for a month the person may not see yet: an HTML page saying so (403);
/// any other error as it is.
fn unreleased(who: &Option<Session>, e: ApiError) -> Resp {
    match &e {
        ApiError::Unreleased(_) => page(
            who,
            StatusCode::FORBIDDEN,
            crate::report::review::unreleased_page(&e.detail_in(false)),
        ),
        _ => e.to_response(),
    }
}

fn noticed(html: String, notice: &Option<String>) -> String {
    match notice {
        Some(n) => web::with_release_notice(html, n),
        None => html,
    }
}

super::params! {
    /// `GET /`: `as_of` as `2023-06` (the month choice sends it so),
    /// or any period spelling; `group` (or its synonym `battle`), `status`, `sort` and
    /// `show` are checked by the dashboard's own filter.
    struct DashboardParams {
        as_of: Option<Period> = value::<Period>,
        group: Option<String> = text,
        battle: Option<String> = text,
        lead_unit: Option<String> = text,
        status: Option<String> = text,
        sort: Option<String> = text,
        show: Option<String> = text,
        on: Option<chrono::NaiveDate> = date,
    }
}

/// GET /?as_of=&group=&lead_unit=&status=&sort=&show=&on=
///
/// The dashboard: the plan's groups in order (one alone with `group=`), one row per
/// indicator in the plan's order or lagging first.
pub fn dashboard(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path::end()
        .and(read(ctx.clone()))
        .and(params::<DashboardParams>())
        .and(session(ctx))
        .then(dashboard_handler)
        .map(Reply::into_response)
}

async fn dashboard_handler(
    ctx: Ctx,
    req: Req,
    p: Result<DashboardParams, ApiError>,
    who: Option<Session>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let sight = page_sight(&ctx, &req, &who, None).await?;
    let as_of = match sight.as_of(p.as_of) {
        Ok(a) => a,
        Err(e) => return Ok(unreleased(&who, e)),
    };
    let notice = release_notice(&sight);
    let on = p.on.unwrap_or_else(|| ctx.clock.today());
    // Validate before touching the store; the unit and the group are resolved below.
    let group = p.group.clone().or_else(|| p.battle.clone());
    web::DashboardQuery::parse(group.as_deref(), None, p.status.as_deref())?
        .with_view(p.sort.as_deref(), p.show.as_deref())?;
    ctx.blocking(move |qs| {
        let viewer = viewer(who.as_ref());
        // An alias (县交通局) filters like its canonical name (县交通运输局).
        let lead = p
            .lead_unit
            .as_deref()
            .map(|u| qs.lead_unit_filter(u))
            .transpose()?;
        let as_of = qs.resolve_as_of(as_of)?;
        // 逾期未报 and 未到报送期 are judged on the day the 催报 list is counted on.
        let b = qs.board_reported_on(qs.home_board(as_of)?, on)?;
        let mut parsed =
            web::DashboardQuery::parse(group.as_deref(), lead.as_deref(), p.status.as_deref())?
                .with_view(p.sort.as_deref(), p.show.as_deref())?;
        parsed.on = p.on;
        let Ok(filter) = parsed.resolve(&b) else {
            // A group the plan does not have: say so, in a page that links to its groups.
            let given = group.as_deref().unwrap_or_default();
            return Ok(page(
                &who,
                StatusCode::BAD_REQUEST,
                web::unknown_group_page(&b, given, viewer.as_ref()),
            ));
        };
        let mut units: Vec<String> = b
            .rows
            .iter()
            .flat_map(|r| r.indicator.lead_units.iter().cloned())
            .collect();
        units.sort();
        units.dedup();
        let home: Vec<_> = b.rows.iter().map(|r| r.indicator.clone()).collect();
        let mut periods = qs.reading_periods(as_of.year(), home.iter().map(|i| &i.id))?;
        // The month choice offers only months this person may see.
        periods.retain(|p| sight.shows(*p));
        let overdue = web::OverdueMarks {
            on: Some(on),
            items: qs.overdue_of(&home, on)?,
        };
        let html = web::dashboard(&b, &filter, &units, &periods, &overdue, viewer.as_ref());
        Ok(page(&who, StatusCode::OK, noticed(html, &notice)))
    })
    .await
}

super::params! {
    /// `GET /indicators/{id}` and `GET /v1/indicators/{id}/chart.svg`
    struct AsOfParams {
        as_of: Option<Period> = value::<Period>,
    }
}

/// GET /indicators/:id?as_of=
///
/// One indicator: its figures, its readings and its chart.
pub fn indicator(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("indicators" / String)
        .and(read(ctx.clone()))
        .and(params::<AsOfParams>())
        .and(session(ctx))
        .then(indicator_handler)
        .map(Reply::into_response)
}

async fn indicator_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    p: Result<AsOfParams, ApiError>,
    who: Option<Session>,
) -> Result<Resp, ApiError> {
    let as_of = p?.as_of;
    let id = decode_segment("id", &id)?;
    let tz = ctx.clock.tz();
    // The indicator's own units see its figures; others, its region's released months.
    let token = match &who {
        Some(s) => Some(s.token.clone()),
        None => sight::bearer(&ctx, &req).await?,
    };
    let ind = match id.parse::<IndicatorId>() {
        Ok(i) => ctx.inline(|qs| Ok(qs.store().indicator(&i)?))?,
        Err(_) => None,
    };
    let sight = match &ind {
        Some(ind) => sight::sight_for_token(&ctx, token.as_ref(), ind)?,
        None => sight::sight_of(&ctx, token.as_ref(), None)?,
    };
    let as_of = match sight.as_of(as_of) {
        Ok(a) => a,
        Err(e) => return Ok(unreleased(&who, e)),
    };
    let notice = release_notice(&sight);
    ctx.blocking(move |qs| {
        let as_of = qs.resolve_as_of(as_of)?;
        let b = qs.board(as_of)?;
        let viewer = viewer(who.as_ref());
        let notes = year_notes(qs, &id, as_of, tz)?;
        Ok(
            match web::indicator_page(&b, &id, &notes, viewer.as_ref()) {
                Some(html) => page(&who, StatusCode::OK, noticed(html, &notice)),
                None => page(
                    &who,
                    StatusCode::NOT_FOUND,
                    web::not_found_page(&b, &id, viewer.as_ref()),
                ),
            },
        )
    })
    .await
}

/// The notes sent without a figure for `id`'s periods of `as_of`'s year, up to
/// `as_of`, dated in the configured time zone. An id that is not an indicator has none.
fn year_notes(
    qs: &Queries,
    id: &str,
    as_of: Period,
    tz: chrono_tz::Tz,
) -> Result<Vec<web::NoteLine>, ApiError> {
    let Ok(id) = id.parse::<IndicatorId>() else {
        return Ok(Vec::new());
    };
    let from =
        Period::new(as_of.year(), 1).map_err(|e| ApiError::invalid("as_of", e.to_string()))?;
    Ok(qs
        .store()
        .notes(&id, Some(from), Some(as_of))?
        .into_iter()
        .map(|n| web::NoteLine {
            period: n.period,
            note: n.note,
            by: n.by,
            on: n.at.with_timezone(&tz).date_naive(),
        })
        .collect())
}

/// GET /assets/dashboard.css, /assets/dashboard.js and /assets/session.js, compiled
/// into the binary.
pub fn assets() -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    let css = warp::path!("assets" / "dashboard.css")
        .and(get_or_head())
        .map(|| {
            body(
                "text/css; charset=utf-8",
                StatusCode::OK,
                web::CSS.as_bytes().to_vec(),
            )
        });
    let js = warp::path!("assets" / "dashboard.js")
        .and(get_or_head())
        .map(|| {
            body(
                "text/javascript; charset=utf-8",
                StatusCode::OK,
                web::JS.as_bytes().to_vec(),
            )
        });
    let session_js = warp::path!("assets" / "session.js")
        .and(get_or_head())
        .map(|| {
            body(
                "text/javascript; charset=utf-8",
                StatusCode::OK,
                web::SESSION_JS.as_bytes().to_vec(),
            )
        });
    css.or(js).unify().or(session_js).unify()
}

/// GET /v1/indicators/:id/chart.svg?as_of=
///
/// Cumulative actual against the scheduled-pace line and the target, as SVG.
pub fn chart_svg(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "chart.svg")
        .and(read(ctx))
        .and(params::<AsOfParams>())
        .then(chart_svg_handler)
        .map(Reply::into_response)
}

async fn chart_svg_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    p: Result<AsOfParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = parse_id(&id)?;
    let as_of = p?.as_of;
    let as_of = sight::indicator_sight(&ctx, &req, &id)
        .await?
        .as_of(as_of)?;
    ctx.blocking(move |qs| {
        qs.indicator(&id)?;
        let as_of = qs.resolve_as_of(as_of)?;
        let b = qs.board(as_of)?;
        let row = b
            .rows
            .iter()
            .find(|r| r.indicator.id == id)
            .ok_or_else(|| ApiError::NotFound(super::error::no_indicator(&id)))?;
        let svg = chart::indicator_chart(row, row.attainment.target.as_ref());
        Ok(body(
            "image/svg+xml",
            StatusCode::OK,
            svg.into_string().into_bytes(),
        ))
    })
    .await
}

super::params! {
    /// `GET /v1/reports/{kind}`
    struct ReportParams {
        as_of: Option<Period> = value::<Period>,
        format: Option<String> = text,
        date: Option<chrono::NaiveDate> = date,
    }
}

/// The characters RFC 5987 lets stand in an `ext-value` (attr-char); every other byte
/// of the UTF-8 name is percent-encoded.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` value (RFC 6266): the ASCII name in `filename` for the
/// clients that read only that, and the office's Chinese name in `filename*`.
pub(crate) fn content_disposition(disposition: &str, ascii: &str, name: &str) -> String {
    format!(
        "{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(name, ATTR_CHAR)
    )
}

/// GET /v1/reports/:kind?as_of=&format=&date=
///
/// The monthly bulletin (`monthly`, 月通报) or the quarter-end summary (`quarterly`,
/// 季总结) as md, html, csv, docx or xlsx (default html), issued on `date` (default:
/// today in the configured zone).
pub fn report(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "reports" / String)
        .and(read(ctx))
        .and(params::<ReportParams>())
        .then(report_handler)
        .map(Reply::into_response)
}

async fn report_handler(
    kind: String,
    ctx: Ctx,
    req: Req,
    p: Result<ReportParams, ApiError>,
) -> Result<Resp, ApiError> {
    let kind: Kind = kind.parse().map_err(|e: bulletin::BulletinError| {
        ApiError::NotFound(crate::domain::messages::Msg::new(
            format!("没有这种报告：{e}"),
            format!("no such report: {e}"),
        ))
    })?;
    let p = p?;
    let format: Format = match p.format.as_deref() {
        None => Format::Html,
        Some(f) => f
            .parse()
            .map_err(|e: bulletin::BulletinError| ApiError::invalid("format", e.to_string()))?,
    };
    let date = p.date.unwrap_or_else(|| ctx.clock.today());
    let token = sight::bearer(&ctx, &req).await?;
    let as_of = sight::sight_of(&ctx, token.as_ref(), None)?.as_of(p.as_of)?;
    let log = super::access::Who::of(&ctx, &req, token.as_ref());
    let asked = format!("/v1/reports/{}?{}", kind.as_str(), req.query);
    let ctx2 = ctx.clone();
    ctx.blocking(move |qs| {
        let as_of = qs.resolve_as_of(as_of)?;
        let file = qs.bulletin(kind, as_of, format, date)?;
        log.record(
            &ctx2,
            crate::store::AccessAction::Download,
            format!("{}（{asked}）", file.file_name),
        )?;
        let mut res = body(format.content_type(), StatusCode::OK, file.bytes);
        let disposition = if format == Format::Html {
            "inline"
        } else {
            "attachment"
        };
        let value = content_disposition(disposition, &file.ascii_file_name, &file.file_name);
        if let Ok(v) = value.parse() {
            res.headers_mut()
                .insert(warp::http::header::CONTENT_DISPOSITION, v);
        }
        Ok(res)
    })
    .await
}

super::params! {
    /// `GET /metrics`
    struct MetricsParams {
        as_of: Option<Period> = value::<Period>,
        group: Vec<String> = many,
        battle: Vec<String> = many,
        lead_unit: Vec<String> = many,
        region: Vec<String> = many,
        kind: Vec<String> = many,
    }
}

/// GET /metrics?as_of=&group=&lead_unit=&region=&kind=
///
/// Prometheus text exposition: each indicator's attainment, pace, deviation, gap and
/// status at the default `as_of` (or the one given), and the server's request metrics.
/// The home region's indicators (or the token's region's) unless `region` names others
/// (`region=*`: every region).
pub fn metrics_route(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(read(ctx))
        .and(params::<MetricsParams>())
        .then(metrics_handler)
        .map(Reply::into_response)
}

async fn metrics_handler(
    ctx: Ctx,
    req: Req,
    p: Result<MetricsParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let asked = crate::query::Asked::new(p.group, p.battle, p.lead_unit, p.region, p.kind);
    let (sight, home) = sight::list_sight(&ctx, &req, &asked).await?;
    // Nothing released: the request metrics only.
    let released = match sight.as_of(p.as_of) {
        Ok(as_of) => Some(as_of),
        Err(ApiError::Unreleased(_)) if p.as_of.is_none() => None,
        Err(e) => return Err(e),
    };
    ctx.blocking(move |qs| {
        let sel = qs.selection(&asked, home.as_deref())?;
        let as_of = match released {
            Some(Some(p)) => Some(p),
            Some(None) => qs.default_as_of()?,
            None => None,
        };
        let keep = |i: &crate::domain::Indicator| sel.keeps(i);
        let text = match as_of {
            Some(p) => metrics::render(&*qs.board(p)?, qs.store().change_seq()?, keep)?,
            None => metrics::render_http_only()?,
        };
        Ok(body(
            "text/plain; version=0.0.4; charset=utf-8",
            StatusCode::OK,
            text.into_bytes(),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disposition_carries_an_ascii_name_and_the_utf8_name() {
        assert_eq!(
            content_disposition(
                "attachment",
                "bulletin-2023-06.docx",
                "桃江县2023年6月重点指标监测通报.docx"
            ),
            "attachment; filename=\"bulletin-2023-06.docx\"; filename*=UTF-8''%E6%A1%83%E6%B1%9F%E5%8E%BF2023%E5%B9%B46%E6%9C%88%E9%87%8D%E7%82%B9%E6%8C%87%E6%A0%87%E7%9B%91%E6%B5%8B%E9%80%9A%E6%8A%A5.docx"
        );
        // A space, quote or percent sign is encoded, never written bare.
        assert!(content_disposition("inline", "a.md", "a b\"%.md").ends_with("a%20b%22%25.md"));
    }
}
