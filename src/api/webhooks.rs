//! Webhook receivers (admin only: their URLs carry secrets), their delivery logs and
//! test messages, and the daily digests (`/v1/reminders`) they are sent.
//!
//! URLs are stored as given and only ever shown redacted; the 钉钉 signing secret is
//! never shown at all (`signed: true`).

use crate::api::body::Body;
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, write, NoParams, Req, Resp};
use super::indicators::parse_json_body;
use super::input::{date, decode_segment, text, value};
use super::reply::json;
use super::{require_admin, ApiError, Ctx, MAX_BODY};
use crate::notify::notifier::{establish_baseline, wants_alerts};
use crate::notify::webhook::{redact, Webhook, WebhookError, WebhookInput, WebhookView};
use crate::notify::MAX_REMIND_DAYS;
use crate::query::Queries;
use crate::store::DELIVERY_LOG_LIMIT;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> ApiError {
        ApiError::invalid(e.field, e.message)
    }
}

/// The receiver a `/v1/webhooks/{name}…` request names, once the caller is known to
/// be an admin: 404 when there is none.
async fn named(ctx: &Ctx, req: &Req, raw: &str) -> Result<Webhook, ApiError> {
    require_admin(ctx, req).await?;
    let name = decode_segment("name", raw)?;
    ctx.blocking(move |qs| qs.store().webhook(&name)?.ok_or_else(|| unknown(&name)))
        .await
}

fn unknown(name: &str) -> ApiError {
    ApiError::NotFound(crate::domain::messages::Msg::new(
        format!("没有名为“{name}”的推送（GET /v1/webhooks 列出全部）"),
        format!("no webhook named '{name}' (GET /v1/webhooks lists them)"),
    ))
}

/// Reads the body field by field, so that an error names the field it is about.
fn parse_input(v: serde_json::Value) -> Result<WebhookInput, ApiError> {
    const FIELDS: [&str; 6] = ["name", "url", "format", "events", "filter", "secret"];
    let serde_json::Value::Object(obj) = v else {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    };
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            k.clone(),
            format!("unknown field '{k}' (expected {})", FIELDS.join(", ")),
        ));
    }
    fn field<T: serde::de::DeserializeOwned>(
        obj: &serde_json::Map<String, serde_json::Value>,
        k: &'static str,
        required: bool,
    ) -> Result<Option<T>, ApiError> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) if required => {
                Err(ApiError::invalid(k, format!("{k} is required")))
            }
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| ApiError::invalid(k, format!("{k}: {e}"))),
        }
    }
    let required = |k| ApiError::invalid(k, format!("{k} is required"));
    Ok(WebhookInput {
        name: field(&obj, "name", true)?.ok_or_else(|| required("name"))?,
        url: field(&obj, "url", true)?.ok_or_else(|| required("url"))?,
        format: field(&obj, "format", true)?.ok_or_else(|| required("format"))?,
        events: field(&obj, "events", false)?,
        filter: field(&obj, "filter", false)?.unwrap_or_default(),
        secret: field(&obj, "secret", false)?,
    })
}

/// POST /v1/webhooks (admin)
///
/// Body `{"name", "url", "format", "events", "filter", "secret"}`; answers 201 with the
/// receiver as listed (URL redacted). A name already taken is a 409.
pub fn create(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "webhooks")
        .and(warp::post())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(create_handler)
        .map(Reply::into_response)
}

async fn create_handler(
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    p?;
    let v = parse_json_body(req.content_type.as_deref(), &body.read().await?)?;
    let input = parse_input(v)?;
    let hook = input.validate(&token.name, ctx.clock.now())?;
    // Loopback, link-local and the server's own address, unless the server allows them.
    ctx.notify
        .admit(&hook.url)
        .await
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    // Receivers hear only of released months when the server publishes reviewed ones.
    let released = match ctx.publish {
        super::Publish::Immediate => None,
        super::Publish::Reviewed => Some(
            ctx.store
                .released_through(&ctx.store.home_region()?, ctx.clock.now())?,
        ),
    };
    let hook = ctx.blocking(move |qs| register(qs, hook, released)).await?;
    ctx.store.durable().await?;
    // A day's run that found no receiver can go out now.
    ctx.notify.daily.notify_one();
    tracing::info!(webhook = %hook.name, url = %redact(&hook.url), format = hook.format.as_str(), "webhook registered");
    Ok(json(StatusCode::CREATED, &WebhookView::from(&hook)))
}

/// Stores a new receiver, its filter's units in their canonical names: a 409 when the
/// name is taken. Receivers hear of what changes from now on.
fn register(
    qs: &Queries,
    mut hook: Webhook,
    released: Option<Option<crate::domain::Period>>,
) -> Result<Webhook, ApiError> {
    let s = qs.store();
    let units = s.units()?;
    let mut canonical = Vec::new();
    for u in &hook.filter.lead_units {
        let c = units.canonical(u).ok_or_else(|| {
            ApiError::invalid(
                "filter.lead_units",
                format!("'{u}' is not a known unit (see the units of GET /v1/indicators)"),
            )
        })?;
        if !canonical.iter().any(|x: &String| x == c) {
            canonical.push(c.to_string());
        }
    }
    hook.filter.lead_units = canonical;
    let first_for_alerts = wants_alerts(&hook) && !s.webhooks()?.iter().any(wants_alerts);
    if !s.add_webhook(&hook)? {
        return Err(ApiError::Conflict(crate::domain::messages::Msg::new(
            format!("已有名为“{}”的推送；请先删除它，或换一个名称", hook.name),
            format!(
                "a webhook named '{}' already exists; DELETE it first or choose another name",
                hook.name
            ),
        )));
    }
    establish_baseline(qs, first_for_alerts, released)?;
    Ok(hook)
}

#[derive(Serialize)]
struct WebhookList {
    count: usize,
    webhooks: Vec<WebhookView>,
}

/// GET /v1/webhooks (admin)
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "webhooks")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(ctx: Ctx, req: Req, p: Result<NoParams, ApiError>) -> Result<Resp, ApiError> {
    require_admin(&ctx, &req).await?;
    p?;
    let hooks = ctx.blocking(|qs| Ok(qs.store().webhooks()?)).await?;
    let webhooks: Vec<WebhookView> = hooks.iter().map(WebhookView::from).collect();
    Ok(json(
        StatusCode::OK,
        &WebhookList {
            count: webhooks.len(),
            webhooks,
        },
    ))
}

/// GET /v1/webhooks/{name} (admin)
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String)
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(get_handler)
        .map(Reply::into_response)
}

async fn get_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let hook = named(&ctx, &req, &name).await?;
    p?;
    Ok(json(StatusCode::OK, &WebhookView::from(&hook)))
}

/// DELETE /v1/webhooks/{name} (admin): the receiver, its pending deliveries and its log.
pub fn delete(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    // No body is taken: the limit of 0 refuses one without reading it, and the
    // handler ignores that refusal, as it always ignored a body.
    warp::path!("v1" / "webhooks" / String)
        .and(warp::delete())
        .and(write(ctx, 0))
        .and(params::<NoParams>())
        .then(delete_handler)
        .map(Reply::into_response)
}

async fn delete_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    _body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    require_admin(&ctx, &req).await?;
    let name = decode_segment("name", &name)?;
    p?;
    ctx.blocking(move |qs| {
        if qs.store().remove_webhook(&name)? {
            Ok(())
        } else {
            Err(unknown(&name))
        }
    })
    .await?;
    ctx.store.durable().await?;
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

#[derive(Serialize)]
struct DeliveryList {
    webhook: String,
    count: usize,
    /// Messages still to be delivered or retried.
    pending: usize,
    deliveries: Vec<crate::store::Delivery>,
}

super::params! {
    /// `GET /v1/webhooks/{name}/deliveries`
    struct DeliveryParams {
        limit: Option<usize> = value::<usize>,
    }
}

/// GET /v1/webhooks/{name}/deliveries?limit= (admin)
///
/// The latest attempts, newest first (default 50, at most the 500 kept), and how many
/// messages are still pending.
pub fn deliveries(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String / "deliveries")
        .and(read(ctx))
        .and(params::<DeliveryParams>())
        .then(deliveries_handler)
        .map(Reply::into_response)
}

async fn deliveries_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    p: Result<DeliveryParams, ApiError>,
) -> Result<Resp, ApiError> {
    let hook = named(&ctx, &req, &name).await?;
    let limit = p?.limit.unwrap_or(50);
    if limit == 0 || limit > DELIVERY_LOG_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be from 1 to {DELIVERY_LOG_LIMIT}"),
        ));
    }
    let name = hook.name;
    let body = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let deliveries = s.deliveries(&name, limit)?;
            let pending = s.outbox()?.iter().filter(|j| j.webhook == name).count();
            Ok(DeliveryList {
                webhook: name,
                count: deliveries.len(),
                pending,
                deliveries,
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// POST /v1/webhooks/{name}/test (admin)
///
/// Sends a test message now, once, and answers with how it went (200 either way: the
/// request worked; the receiver's verdict is in `outcome`, `status` and `error`).
pub fn test(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    // No body is taken (limit 0; the handler ignores the refusal).
    warp::path!("v1" / "webhooks" / String / "test")
        .and(warp::post())
        .and(write(ctx, 0))
        .and(params::<NoParams>())
        .then(test_handler)
        .map(Reply::into_response)
}

async fn test_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    _body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let hook = named(&ctx, &req, &name).await?;
    p?;
    let d = ctx
        .notify
        .test_send(&ctx.store, &hook, ctx.clock.now())
        .await?;
    Ok(json(StatusCode::OK, &d))
}

#[derive(Serialize)]
struct Reminders {
    on: chrono::NaiveDate,
    days: u32,
    count: usize,
    digests: Vec<ReminderView>,
}

#[derive(Serialize)]
struct ReminderView {
    lead_unit: String,
    title: String,
    text: String,
    items: Vec<crate::notify::message::Item>,
}

super::params! {
    /// `GET /v1/reminders`
    struct ReminderParams {
        on: Option<chrono::NaiveDate> = date,
        days: Option<u32> = value::<u32>,
        lead_unit: Option<String> = text,
    }
}

/// GET /v1/reminders?on=&days=&lead_unit=
///
/// The daily digest of each lead unit on `on` (default: today in China): its overdue
/// figures and those falling due within `days` days (default: the server's setting).
pub fn reminders(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "reminders")
        .and(read(ctx))
        .and(params::<ReminderParams>())
        .then(reminders_handler)
        .map(Reply::into_response)
}

async fn reminders_handler(
    ctx: Ctx,
    _req: Req,
    p: Result<ReminderParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let on = p.on.unwrap_or_else(|| ctx.clock.today());
    let days = p.days.unwrap_or(ctx.notify.config.remind_days);
    if days > MAX_REMIND_DAYS {
        return Err(ApiError::invalid(
            "days",
            format!("days must be at most {MAX_REMIND_DAYS}"),
        ));
    }
    let at = ctx.clock.now();
    let body = ctx
        .blocking(move |qs| {
            let unit = p
                .lead_unit
                .as_deref()
                .map(|u| qs.lead_unit_filter(u))
                .transpose()?;
            let digests = crate::notify::digests(qs.store(), on, days, unit.as_deref(), at)?;
            Ok(Reminders {
                on,
                days,
                count: digests.len(),
                digests: digests
                    .into_iter()
                    .map(|e| ReminderView {
                        lead_unit: e.to.clone().unwrap_or_default(),
                        title: e.title(),
                        text: e.text(),
                        items: e.items,
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}
