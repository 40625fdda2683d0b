//! Webhook receivers (admin only: their URLs carry secrets), their delivery logs and
//! test messages, and the daily digests (`/v1/reminders`) they are sent.
//!
//! URLs are stored as given and only ever shown redacted; the 钉钉 signing secret is
//! never shown at all (`signed: true`).

use serde::Serialize;
use warp::http::StatusCode;
use warp::Filter;

use super::input::{body_bytes, decode_segment, Query};
use super::{
    error, get_or_head, json, req, require_admin, with_ctx, ApiError, Ctx, Req, Resp, MAX_BODY,
};
use crate::notify::webhook::{Webhook, WebhookError, WebhookInput, WebhookView};

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
    ApiError::NotFound(format!(
        "no webhook named '{name}' (GET /v1/webhooks lists them)"
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
pub fn create(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks")
        .and(warp::post())
        .and(req())
        .and(body_bytes(MAX_BODY, ctx.body_timeout))
        .and(with_ctx(ctx))
        .then(
            |req: Req, body: Result<bytes::Bytes, ApiError>, ctx: Ctx| async move {
                error::reply(
                    async {
                        let token = require_admin(&ctx, &req).await?;
                        Query::parse(&req.query, &[])?;
                        let v = super::indicators::parse_json_body(
                            req.content_type.as_deref(),
                            &body?,
                        )?;
                        let input = parse_input(v)?;
                        let mut hook = input.validate(&token.name, ctx.clock.now())?;
                        let hook = ctx
                            .blocking(move |qs| {
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
                                let first_for_alerts = crate::notify::notifier::wants_alerts(&hook)
                                    && !s.webhooks()?.iter().any(crate::notify::notifier::wants_alerts);
                                if !s.add_webhook(&hook)? {
                                    return Err(ApiError::Conflict(format!(
                                        "a webhook named '{}' already exists; DELETE it first or choose another name",
                                        hook.name
                                    )));
                                }
                                // Receivers hear of what changes from now on.
                                crate::notify::notifier::establish_baseline(qs, first_for_alerts)?;
                                Ok(hook)
                            })
                            .await?;
                        ctx.store.durable().await?;
                        // A day's run that found no receiver can go out now.
                        ctx.notify.daily.notify_one();
                        tracing::info!(webhook = %hook.name, url = %crate::notify::webhook::redact(&hook.url), format = hook.format.as_str(), "webhook registered");
                        Ok(json(StatusCode::CREATED, &WebhookView::from(&hook)))
                    }
                    .await,
                )
            },
        )
}

#[derive(Serialize)]
struct WebhookList {
    count: usize,
    webhooks: Vec<WebhookView>,
}

/// GET /v1/webhooks (admin)
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    require_admin(&ctx, &req).await?;
                    Query::parse(&req.query, &[])?;
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
                .await,
            )
        })
}

/// GET /v1/webhooks/{name} (admin)
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String)
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|name: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let hook = named(&ctx, &req, &name).await?;
                    Query::parse(&req.query, &[])?;
                    Ok(json(StatusCode::OK, &WebhookView::from(&hook)))
                }
                .await,
            )
        })
}

/// DELETE /v1/webhooks/{name} (admin): the receiver, its pending deliveries and its log.
pub fn delete(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String)
        .and(warp::delete())
        .and(req())
        .and(with_ctx(ctx))
        .then(|name: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    require_admin(&ctx, &req).await?;
                    let name = decode_segment("name", &name)?;
                    Query::parse(&req.query, &[])?;
                    ctx.blocking(move |qs| {
                        let s = qs.store();
                        if s.remove_webhook(&name)? {
                            Ok(())
                        } else {
                            Err(unknown(&name))
                        }
                    })
                    .await?;
                    ctx.store.durable().await?;
                    Ok(
                        warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT)
                            .into_response(),
                    )
                }
                .await,
            )
        })
}

use warp::Reply as _;

#[derive(Serialize)]
struct DeliveryList {
    webhook: String,
    count: usize,
    /// Messages still to be delivered or retried.
    pending: usize,
    deliveries: Vec<crate::store::Delivery>,
}

/// GET /v1/webhooks/{name}/deliveries?limit= (admin)
///
/// The latest attempts, newest first (default 50, at most the 500 kept), and how many
/// messages are still pending.
pub fn deliveries(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String / "deliveries")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|name: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let hook = named(&ctx, &req, &name).await?;
                    let q = Query::parse(&req.query, &["limit"])?;
                    let limit = q.value::<usize>("limit")?.unwrap_or(50);
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
                .await,
            )
        })
}

/// POST /v1/webhooks/{name}/test (admin)
///
/// Sends a test message now, once, and answers with how it went (200 either way: the
/// request worked; the receiver's verdict is in `outcome`, `status` and `error`).
pub fn test(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "webhooks" / String / "test")
        .and(warp::post())
        .and(req())
        .and(with_ctx(ctx))
        .then(|name: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let hook = named(&ctx, &req, &name).await?;
                    Query::parse(&req.query, &[])?;
                    let d = ctx
                        .notify
                        .test_send(&ctx.store, &hook, ctx.clock.now())
                        .await?;
                    Ok(json(StatusCode::OK, &d))
                }
                .await,
            )
        })
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

use crate::notify::MAX_REMIND_DAYS;

/// GET /v1/reminders?on=&days=&lead_unit=
///
/// The daily digest of each lead unit on `on` (default: today in China): its overdue
/// figures and those falling due within `days` days (default: the server's setting).
pub fn reminders(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "reminders")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["on", "days", "lead_unit"])?;
                    let on = super::input::date(&q, "on")?.unwrap_or_else(|| ctx.clock.today());
                    let days = q
                        .value::<u32>("days")?
                        .unwrap_or(ctx.notify.config.remind_days);
                    if days > MAX_REMIND_DAYS {
                        return Err(ApiError::invalid(
                            "days",
                            format!("days must be at most {MAX_REMIND_DAYS}"),
                        ));
                    }
                    let unit = q.get("lead_unit").map(str::to_string);
                    let at = ctx.clock.now();
                    let body = ctx
                        .blocking(move |qs| {
                            let s = qs.store();
                            let registry = s.units()?;
                            let unit = unit.map(|u| registry.resolve(&u).to_string());
                            let digests = crate::notify::digests(s, on, days, unit.as_deref(), at)?;
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
                .await,
            )
        })
}
