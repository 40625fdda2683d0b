//! Operator routes.

use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, NoParams, Req, Resp};
use super::{require_admin, ApiError, Ctx};

/// GET /v1/admin/backup (admin)
///
/// A consistent snapshot of the store as JSON Lines, the same bytes `zhibiao backup`
/// writes. Restore it with `zhibiao restore FILE --db NEW_PATH`.
pub fn backup(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "admin" / "backup")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(backup_handler)
        .map(Reply::into_response)
}

async fn backup_handler(
    ctx: Ctx,
    req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = require_admin(&ctx, &req).await?;
    p?;
    super::access::Who::of(&ctx, &req, Some(&token)).record(
        &ctx,
        crate::store::AccessAction::Download,
        "/v1/admin/backup",
    )?;
    let bytes = ctx
        .blocking(|qs| {
            let mut out = Vec::new();
            qs.store().backup(&mut out)?;
            Ok(out)
        })
        .await?;
    let mut res = warp::reply::Response::new(bytes.into());
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(
        warp::http::header::CONTENT_DISPOSITION,
        warp::http::HeaderValue::from_static("attachment; filename=\"zhibiao-backup.jsonl\""),
    );
    Ok(res)
}
