//! `GET /v1/templates/readings.xlsx`: the monthly workbook a unit fills in and posts
//! back to `POST /v1/readings`.

use warp::{Filter, Rejection, Reply};

use crate::api::filters::{params, read, Req, Resp};
use crate::api::input::value;
use crate::api::{authenticate, may_write, ApiError, Ctx};
use crate::domain::Period;

use crate::store::Token;

crate::api::params! {
    /// `GET /v1/templates/readings.xlsx`
    struct TemplateParams {
        period: Option<Period> = value::<Period>,
    }
}

/// GET /v1/templates/readings.xlsx?period=2023-06
///
/// A workbook with one row for each indicator the caller's token may write: id, name,
/// unit, lead units, target, the latest earlier value, the period, and an empty value
/// column. Filled in and posted back to `POST /v1/readings`, it is the monthly round trip.
pub fn route(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "templates" / "readings.xlsx")
        .and(read(ctx))
        .and(params::<TemplateParams>())
        .then(template_handler)
        .map(Reply::into_response)
}

async fn template_handler(
    ctx: Ctx,
    req: Req,
    p: Result<TemplateParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    if token.role == crate::store::Role::Reader {
        return Err(ApiError::Forbidden(crate::domain::messages::Msg::new(
            format!(
                "令牌“{}”是只读令牌：报送模板只发给能报送数据的令牌",
                token.name
            ),
            format!(
                "token '{}' is a reader: a submission template is for tokens that can write",
                token.name
            ),
        )));
    }
    let period = p?
        .period
        .ok_or_else(|| ApiError::invalid("period", "period is required, e.g. ?period=2023-06"))?;
    let who = crate::api::access::Who::of(&ctx, &req, Some(&token));
    template_reply(&ctx, token, period, who).await
}

/// The workbook of `token`'s indicators for `period`, as an attachment named as the
/// office names the form (县科工局2023年6月数据报送表.xlsx). The API route and the
/// 数据报送 page both answer with it.
pub(crate) async fn template_reply(
    ctx: &Ctx,
    token: Token,
    period: Period,
    log: crate::api::access::Who,
) -> Result<Resp, ApiError> {
    let who = if token.units.is_empty() {
        None
    } else {
        Some(token.units.join("、"))
    };
    let (bytes, home) = ctx
        .blocking(move |qs| {
            let home = qs.store().home_region()?;
            Ok::<_, ApiError>((template_rows(qs, &token, period)?, home))
        })
        .await?;
    // As the office names the form: 县科工局2023年6月数据报送表.xlsx.
    let name = format!(
        "{}{}年{}月数据报送表.xlsx",
        who.unwrap_or(home),
        period.year(),
        period.month()
    );
    log.record(ctx, crate::store::AccessAction::Download, name.clone())?;
    let mut res = warp::reply::Response::new(bytes.into());
    let h = res.headers_mut();
    h.insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    let ascii = format!("zhibiao-readings-{period}.xlsx");
    if let Ok(v) = crate::api::pages::content_disposition("attachment", &ascii, &name).parse() {
        h.insert(warp::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The template's rows: every indicator the token may write, with its target for the
/// period's year and its latest earlier reading of that year.
fn template_rows(
    qs: &crate::query::Queries,
    token: &Token,
    period: Period,
) -> Result<Vec<u8>, ApiError> {
    use crate::ingest::template::{workbook, TemplateRow};
    let s = qs.store();
    // Each indicator as the plan of the period's year has it (its lead units decide
    // who writes it), in that plan's order.
    let mut named = Vec::new();
    for ind in s.indicators()? {
        let target = s.target(&ind.id, period.year())?;
        let ind = ind.in_plan(target.as_ref().and_then(|t| t.plan.as_ref()));
        if may_write(token, &ind) {
            named.push((ind, target));
        }
    }
    let order = qs.plan_order(period.year())?;
    named.sort_by_cached_key(|(i, t)| order.key_of(i, t.as_ref()));
    let mut rows = Vec::new();
    for (ind, target) in named {
        // As the plan writes it: ≥150家, 8%左右, ≤3%.
        let target = crate::text::target_words(crate::text::Lang::Zh, target.as_ref(), &ind.unit);
        let from = Period::new(period.year(), 1).ok();
        let last = s
            .readings(&ind.id, from, Some(period))?
            .into_iter()
            .rfind(|(p, _)| *p < period);
        rows.push(TemplateRow {
            indicator: ind.id.to_string(),
            name: ind.name.clone(),
            unit: ind.unit.clone(),
            lead_units: ind.lead_units.join("、"),
            target,
            last_period: last
                .as_ref()
                .map(|(p, r)| p.display_as(r.form))
                .unwrap_or_default(),
            last_value: last.map(|(_, r)| r.value),
        });
    }
    workbook(&rows, period).map_err(ApiError::internal)
}
