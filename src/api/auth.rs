//! Who is asking, and what they may do: bearer tokens resolved through their hash,
//! throttled after repeated failures, and the write rights of each role.

use super::error::ApiError;
use super::filters::Req;
use super::state::Ctx;
use crate::domain::{Indicator, STATS_BUREAU};
use crate::store::{hash_secret, Role, Token};

/// Resolves a bearer token to its stored identity, or 401. A token presented and
/// found wrong counts against the client's address; an address with too many of those
/// gets 429 for every further wrong token until its window ends. A request without a
/// token is not counted, and a valid token always passes.
pub(super) async fn authenticate(ctx: &Ctx, req: &Req) -> Result<Token, ApiError> {
    let presented = req.authorization.is_some();
    let result = check_token(ctx, req.authorization.clone()).await;
    if !presented || !matches!(result, Err(ApiError::Unauthorized(_))) {
        return result;
    }
    let Some(ip) = req.client(&ctx.trusted_proxies) else {
        return result;
    };
    if let Some(retry) = ctx.throttle.blocked(ip) {
        crate::limits::refused(crate::limits::Cap::AuthThrottle);
        return Err(ApiError::TooManyRequests {
            retry_after: retry,
            detail: "too many wrong tokens from this address; try again later".into(),
        });
    }
    ctx.throttle.fail(ip);
    result
}

pub(super) async fn check_token(ctx: &Ctx, header: Option<String>) -> Result<Token, ApiError> {
    let Some(h) = header else {
        return Err(ApiError::Unauthorized(
            "this request needs 'Authorization: Bearer <token>'".into(),
        ));
    };
    let secret = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
        })?;
    let hash = hash_secret(secret);
    // One point read by hash.
    ctx.inline(move |qs| {
        let s = qs.store();
        s.token_by_hash(&hash)?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))
    })
}

/// Authenticates and requires the admin role.
pub(super) async fn require_admin(ctx: &Ctx, req: &Req) -> Result<Token, ApiError> {
    let t = authenticate(ctx, req).await?;
    if t.role != Role::Admin {
        return Err(ApiError::Forbidden(crate::domain::messages::Msg::new(
            format!(
                "令牌“{}”的角色是{}，此操作需要管理员令牌",
                t.name,
                t.role.as_str()
            ),
            format!(
                "token '{}' is a {}; this needs an admin token",
                t.name,
                t.role.as_str()
            ),
        )));
    }
    Ok(t)
}

/// Whether a token may write readings of this indicator: admins always; submitters
/// when one of their units leads it, or when they write for the statistics bureau.
pub(super) fn may_write(token: &Token, ind: &Indicator) -> bool {
    match token.role {
        Role::Admin => true,
        // A token made for one region writes that region's indicators only.
        Role::Submitter if !token.region.is_empty() && token.region != ind.region => false,
        Role::Submitter => token
            .units
            .iter()
            .any(|u| u == STATS_BUREAU || ind.lead_units.contains(u)),
        Role::Reader => false,
    }
}

/// [`may_write`], as a 403 naming the token, its units and the indicator's lead units.
pub(super) fn authorize_write(token: &Token, ind: &Indicator) -> Result<(), ApiError> {
    if may_write(token, ind) {
        return Ok(());
    }
    Err(ApiError::Forbidden(forbidden_message(token, ind).into()))
}

pub(super) fn forbidden_message(token: &Token, ind: &Indicator) -> String {
    match token.role {
        Role::Reader => format!("token '{}' is a reader and cannot write", token.name),
        _ if !token.region.is_empty() && token.region != ind.region => format!(
            "token '{}' writes for {} but '{}' is an indicator of {}",
            token.name, token.region, ind.id, ind.region
        ),
        _ => format!(
            "token '{}' writes for {} but '{}' is led by {}",
            token.name,
            token.units.join("、"),
            ind.id,
            ind.lead_units.join("、")
        ),
    }
}
