//! API tokens: admins create, list and revoke them. Each route is a filter (path, the
//! shared `read` or `write` filter, its typed parameters) and a named handler.

use crate::api::body::Body;
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, write, NoParams, Req, Resp};
use super::input::{decode_segment, require_json, text};
use super::reply::{csv_wanted, json, list_reply};
use super::{require_admin, ApiError, Ctx, MAX_BODY};
use crate::query::tokens::{mint, parse_role, resolve_units, valid_name, TokenView};
use crate::store::{Role, StoreError};

/// POST /v1/tokens (admin)
///
/// Body `{"name": "kgj", "role": "submitter", "units": ["县科工局"]}`. Answers 201 with
/// the secret, shown this once; the store keeps only its hash.
pub fn create(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "tokens")
        .and(warp::post())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(create_handler)
        .map(Reply::into_response)
}

/// The body of `POST /v1/tokens`: the name, the role and the units as given.
fn parse_new_token(body: &[u8]) -> Result<(String, Role, Vec<String>, String), ApiError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "the body must be a JSON object"))?;
    for k in obj.keys() {
        if !["name", "role", "units", "region"].contains(&k.as_str()) {
            return Err(ApiError::invalid(
                k.clone(),
                format!("unknown field '{k}' (expected name, role, units, region)"),
            ));
        }
    }
    let name = obj
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| ApiError::invalid("name", "name is required (a string)"))?
        .to_string();
    valid_name(&name)?;
    let role = parse_role(obj.get("role").and_then(|v| v.as_str()).ok_or_else(|| {
        ApiError::invalid("role", "role is required: admin, submitter or reader")
    })?)?;
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
        Some(_) => {
            return Err(ApiError::invalid(
                "units",
                "units must be an array of unit names",
            ))
        }
    };
    let region = match obj.get("region") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(r)) => r.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "region",
                "region must be a region's name, e.g. 临湘市",
            ))
        }
    };
    Ok((name, role, units, region))
}

async fn create_handler(
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    require_admin(&ctx, &req).await?;
    p?;
    require_json(req.content_type.as_deref())?;
    let (name, role, units, region) = parse_new_token(&body.read().await?)?;
    let now = ctx.clock.now();
    let (token, secret) = ctx
        .blocking(move |qs| {
            let s = qs.store();
            let units = resolve_units(&s.units()?, role, &units)?;
            if !region.is_empty() {
                qs.known_region("region", &region)?;
            }
            let (token, secret) = mint(&name, role, units, region, now);
            s.put_token(&token, false).map_err(|e| match e {
                StoreError::TokenExists(n) => {
                    ApiError::Conflict(crate::domain::messages::Msg::new(
                        format!("已有名为“{n}”的令牌；请先吊销它，或换一个名称"),
                        format!(
                        "a token named '{n}' already exists; revoke it first or choose another name"
                    ),
                    ))
                }
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

super::params! {
    /// `GET /v1/tokens`
    struct ListParams {
        format: Option<String> = text,
    }
}

/// GET /v1/tokens (admin): names, roles and units; never secrets.
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "tokens")
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
    require_admin(&ctx, &req).await?;
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    ctx.blocking(move |qs| {
        let tokens = qs.store().tokens()?;
        let views: Vec<TokenView> = tokens.iter().map(TokenView::from).collect();
        list_reply(csv, &views, &views)
    })
    .await
}

/// DELETE /v1/tokens/:name (admin)
pub fn revoke(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    // No body is taken: the limit of 0 refuses one without reading it, and the
    // handler ignores that refusal, as it always ignored a body.
    warp::path!("v1" / "tokens" / String)
        .and(warp::delete())
        .and(write(ctx, 0))
        .and(params::<NoParams>())
        .then(revoke_handler)
        .map(Reply::into_response)
}

async fn revoke_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    _body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let me = require_admin(&ctx, &req).await?;
    p?;
    let name = decode_segment("name", &name)?;
    valid_name(&name)?;
    if name == me.name {
        return Err(ApiError::Conflict(
            "a token cannot revoke itself; use another admin token".into(),
        ));
    }
    let gone = ctx
        .blocking(move |qs| {
            qs.store().revoke_token(&name)?.ok_or_else(|| {
                ApiError::NotFound(crate::domain::messages::Msg::new(
                    format!("没有名为“{name}”的令牌"),
                    format!("no token named '{name}'"),
                ))
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
