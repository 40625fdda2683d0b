//! Operator routes.

use warp::http::StatusCode;
use warp::Filter;

use super::get_or_head;
use super::input::Query;
use super::{error, req, require_admin, with_ctx, ApiError, Ctx, Req, Resp};

/// GET /v1/admin/backup (admin)
///
/// A consistent snapshot of the store as JSON Lines, the same bytes `zhibiao backup`
/// writes. Restore it with `zhibiao restore FILE --db NEW_PATH`.
pub fn backup(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "admin" / "backup")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    require_admin(&ctx, &req).await?;
                    Query::parse(&req.query, &[])?;
                    let bytes = ctx
                        .blocking(|qs| {
                            let s = qs.store();
                            let mut out = Vec::new();
                            s.backup(&mut out)?;
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
                        warp::http::HeaderValue::from_static(
                            "attachment; filename=\"zhibiao-backup.jsonl\"",
                        ),
                    );
                    Ok::<_, ApiError>(res)
                }
                .await,
            )
        })
}
