//! API tokens: admins create, list and revoke them.

use serde::Serialize;
use warp::http::StatusCode;
use warp::Filter;

use super::get_or_head;
use super::input::{body_bytes, decode_segment, require_json, Query};
use super::{
    error, json, list_reply, req, require_admin, wants_csv, with_ctx, ApiError, Ctx, Req, Resp,
    MAX_BODY,
};
use crate::query::tokens::{mint, parse_role, resolve_units, valid_name, TokenView};

/// POST /v1/tokens (admin)
///
/// Body `{"name": "kgj", "role": "submitter", "units": ["县科工局"]}`. Answers 201 with
/// the secret, shown this once; the store keeps only its hash.
pub fn create(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "tokens")
        .and(warp::post())
        .and(req())
        .and(body_bytes(MAX_BODY, ctx.body_timeout))
        .and(with_ctx(ctx))
        .then(|req: Req, body: Result<bytes::Bytes, ApiError>, ctx: Ctx| async move {
            error::reply(
                async {
                    require_admin(&ctx, &req).await?;
                    Query::parse(&req.query, &[])?;
                    require_json(req.content_type.as_deref())?;
                    let body = body?;
                    let v: serde_json::Value = serde_json::from_slice(&body)
                        .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?;
                    let obj = v
                        .as_object()
                        .ok_or_else(|| ApiError::invalid("body", "the body must be a JSON object"))?;
                    for k in obj.keys() {
                        if !["name", "role", "units"].contains(&k.as_str()) {
                            return Err(ApiError::invalid(k.clone(), format!("unknown field '{k}' (expected name, role, units)")));
                        }
                    }
                    let name = obj
                        .get("name")
                        .and_then(|v| v.as_str())
                        .ok_or_else(|| ApiError::invalid("name", "name is required (a string)"))?
                        .to_string();
                    valid_name(&name)?;
                    let role = parse_role(
                        obj.get("role")
                            .and_then(|v| v.as_str())
                            .ok_or_else(|| ApiError::invalid("role", "role is required: admin, submitter or reader"))?,
                    )?;
                    let units: Vec<String> = match obj.get("units") {
                        None | Some(serde_json::Value::Null) => vec![],
                        Some(serde_json::Value::Array(a)) => a
                            .iter()
                            .map(|u| {
                                u.as_str()
                                    .map(str::to_string)
                                    .ok_or_else(|| ApiError::invalid("units", "units must be strings"))
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => return Err(ApiError::invalid("units", "units must be an array of unit names")),
                    };
                    let now = ctx.clock.now();
                    let (token, secret) = ctx
                        .blocking(move |qs| {
 let s = qs.store();
                            let units = resolve_units(&s.units()?, role, &units)?;
                            let (token, secret) = mint(&name, role, units, now);
                            s.put_token(&token, false).map_err(|e| match e {
                                crate::store::StoreError::TokenExists(n) => ApiError::Conflict(format!(
                                    "a token named '{n}' already exists; revoke it first or choose another name"
                                )),
                                other => other.into(),
                            })?;
                            Ok((token, secret))
                        })
                        .await?;
                    ctx.store.durable().await?;
                    #[derive(Serialize)]
                    struct Created<'a> {
                        token: &'a str,
                        #[serde(flatten)]
                        view: TokenView<'a>,
                    }
                    Ok(json(
                        StatusCode::CREATED,
                        &Created {
                            token: &secret,
                            view: TokenView::from(&token),
                        },
                    ))
                }
                .await,
            )
        })
}

/// GET /v1/tokens (admin): names, roles and units; never secrets.
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "tokens")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    require_admin(&ctx, &req).await?;
                    let q = Query::parse(&req.query, &["format"])?;
                    let csv = wants_csv(&q, &req)?;
                    ctx.blocking(move |qs| {
                        let s = qs.store();
                        let tokens = s.tokens()?;
                        let views: Vec<TokenView> = tokens.iter().map(TokenView::from).collect();
                        list_reply(csv, &views, &views)
                    })
                    .await
                }
                .await,
            )
        })
}

/// DELETE /v1/tokens/:name (admin)
pub fn revoke(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "tokens" / String)
        .and(warp::delete())
        .and(req())
        .and(with_ctx(ctx))
        .then(|name: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let me = require_admin(&ctx, &req).await?;
                    Query::parse(&req.query, &[])?;
                    let name = decode_segment("name", &name)?;
                    valid_name(&name)?;
                    if name == me.name {
                        return Err(ApiError::Conflict(
                            "a token cannot revoke itself; use another admin token".into(),
                        ));
                    }
                    let gone = ctx
                        .blocking(move |qs| {
                            let s = qs.store();
                            s.revoke_token(&name)?.ok_or_else(|| {
                                ApiError::NotFound(format!("no token named '{name}'"))
                            })
                        })
                        .await?;
                    ctx.store.durable().await?;
                    #[derive(Serialize)]
                    struct Revoked<'a> {
                        revoked: TokenView<'a>,
                    }
                    Ok(json(
                        StatusCode::OK,
                        &Revoked {
                            revoked: TokenView::from(&gone),
                        },
                    ))
                }
                .await,
            )
        })
}
