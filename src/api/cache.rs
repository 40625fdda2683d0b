//! Catalogue-wide answers (attainment, alerts, summary) rendered once per store change:
//! the bytes of each URL and representation, kept until the next write.
//!
//! The answers themselves come from the query layer and its memo; this cache only
//! saves re-serialising the same JSON or CSV for every dashboard that polls. It keys
//! on the store's change sequence, like the query memo, and is bounded the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{etag, not_modified, not_modified_response, with_etag, ApiError, Ctx, Req, Resp};
use crate::query::Queries;

/// How many rendered bodies are kept for one change sequence.
const MAX_BODIES: usize = 64;

/// How many bytes of rendered bodies are kept; a larger body is served and not kept.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// A catalogue-wide answer rendered once: the bytes and their content type.
#[derive(Debug)]
pub(super) struct Rendered {
    content_type: &'static str,
    body: bytes::Bytes,
}

/// Rendered bodies of one change sequence, by route, representation and query.
#[derive(Debug, Default)]
pub struct BodyCache {
    inner: Mutex<(u64, usize, HashMap<String, Arc<Rendered>>)>,
}

impl BodyCache {
    fn get(&self, seq: u64, key: &str) -> Option<Arc<Rendered>> {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (m.0 == seq).then(|| m.2.get(key).cloned()).flatten()
    }

    fn put(&self, seq: u64, key: String, r: Arc<Rendered>) {
        let weight = r.body.len() + 64;
        if weight > MAX_BODY_BYTES {
            return;
        }
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if seq < m.0 {
            return;
        }
        if m.0 != seq || m.2.len() >= MAX_BODIES || m.1 + weight > MAX_BODY_BYTES {
            *m = (seq, 0, HashMap::new());
        }
        if let Some(old) = m.2.insert(key, r) {
            m.1 -= old.body.len() + 64;
        }
        m.1 += weight;
    }
}

impl Rendered {
    /// A list endpoint's body: the JSON document, or its rows as CSV.
    pub(super) fn list<B: Serialize, R: Serialize>(
        csv: bool,
        body: &B,
        rows: &[R],
    ) -> Result<Self, ApiError> {
        Ok(if csv {
            Rendered {
                content_type: "text/csv; charset=utf-8",
                body: super::csv::render(rows)?.into(),
            }
        } else {
            Rendered::json(body)?
        })
    }

    pub(super) fn json<B: Serialize>(body: &B) -> Result<Self, ApiError> {
        Ok(Rendered {
            content_type: "application/json",
            body: serde_json::to_vec(body).map_err(ApiError::internal)?.into(),
        })
    }

    pub(super) fn response(&self) -> Resp {
        let mut res = warp::reply::Response::new(self.body.clone().into());
        res.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static(self.content_type),
        );
        res
    }
}

/// Every catalogue-wide GET (attainment, alerts, summary) takes the cheapest of three
/// paths:
/// 1. `If-None-Match` names the current ETag: 304, decided on the async worker from
///    the store's change counter (one sled read), with no evaluation at all;
/// 2. the body already rendered for this URL and representation since the last
///    write: served from the body cache, also without leaving the async worker;
/// 3. otherwise `render` runs on the blocking pool, and its answer is memoised.
///
/// The ETag covers the representation (JSON or CSV), since both share a URL.
pub(super) async fn catalogue_answer<F>(
    ctx: &Ctx,
    req: &Req,
    route: &str,
    csv: bool,
    render: F,
) -> Result<Resp, ApiError>
where
    F: FnOnce(&Queries) -> Result<Rendered, ApiError> + Send + 'static,
{
    let repr = if csv { "csv" } else { "json" };
    let seq = ctx.store.change_seq()?;
    let tag = etag(seq, &format!("{route}.{repr}"), &req.query);
    if not_modified(req, &tag) {
        return Ok(not_modified_response(&tag));
    }
    let key = format!("{route}.{repr}?{}", req.query);
    let rendered = match ctx.bodies.get(seq, &key) {
        Some(r) => r,
        None => {
            let r = std::sync::Arc::new(ctx.blocking(render).await?);
            ctx.bodies.put(seq, key, r.clone());
            r
        }
    };
    Ok(with_etag(rendered.response(), &tag))
}
