//! Catalogue-wide answers (attainment, alerts, summary) rendered once per store change:
//! the bytes of each URL and representation, kept until the next write.
//!
//! The answers themselves come from the query layer and its memo; this cache only
//! saves re-serialising the same JSON or CSV for every dashboard that polls. It keys
//! on the store's change sequence, like the query memo, and is bounded the same way.
//!
//! A whole catalogue's attainment is bound by its bytes (202 kB for the county at
//! 2023-06, the time spent in the kernel's send path; 20 kB with gzip, 17 kB with br),
//! so each body is also kept compressed, once per coding asked for: gzip, and br where
//! the client offers it (brotli packs JSON tighter at the same speed). The coding follows `Accept-Encoding`; every answer says
//! `Vary: Accept, Accept-Encoding, Accept-Language`, and each coding has its own ETag, so that a cache
//! never hands a gzip body to a client that did not ask for one.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use super::{etag, not_modified, not_modified_response, with_etag, ApiError, Ctx, Req, Resp};
use crate::query::Queries;

/// How many rendered bodies are kept for one change sequence.
const MAX_BODIES: usize = 64;

/// How many bytes of rendered bodies are kept; a larger body is served and not kept.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Bodies smaller than this are sent as they are: compressing them saves less than
/// the header it costs.
const MIN_COMPRESSED: usize = 1024;

/// gzip's level: 6 is zlib's default, and within a few per cent of 9 on JSON.
const GZIP_LEVEL: u32 = 6;

/// brotli's quality: 5 compresses about as fast as gzip at 6 and smaller; 11 is a
/// hundred times slower, and the first request after every write waits for it.
const BROTLI_QUALITY: u32 = 5;

/// A content coding an answer is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Identity,
    Gzip,
    Br,
}

impl Coding {
    /// The coding to answer in: br, else gzip, when `Accept-Encoding` offers it with a
    /// non-zero `q` (or `*` does); the body as it is otherwise.
    pub(super) fn negotiate(accept_encoding: Option<&str>) -> Coding {
        let Some(header) = accept_encoding else {
            return Coding::Identity;
        };
        let (mut br, mut gzip, mut star) = (None, None, None);
        for item in header.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let ok = q > 0.0;
            match name.as_str() {
                "br" => br = Some(ok),
                "gzip" | "x-gzip" => gzip = Some(ok),
                "*" => star = Some(ok),
                _ => {}
            }
        }
        if br.or(star).unwrap_or(false) {
            Coding::Br
        } else if gzip.or(star).unwrap_or(false) {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    /// The `Content-Encoding` token, and the ETag's suffix.
    fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Br => "br",
        }
    }
}

/// A catalogue-wide answer rendered once: the bytes and their content type, and the
/// same bytes compressed, each made the first time a client asks for it.
#[derive(Debug)]
pub(super) struct Rendered {
    content_type: &'static str,
    body: bytes::Bytes,
    gzip: OnceLock<bytes::Bytes>,
    br: OnceLock<bytes::Bytes>,
}

/// Rendered bodies of one change sequence, by route, representation and query.
#[derive(Debug)]
pub struct BodyCache {
    inner: Mutex<(u64, usize, HashMap<String, Arc<Rendered>>)>,
    max_bodies: usize,
    max_bytes: usize,
}

impl Default for BodyCache {
    /// The catalogue-wide answers: a few large bodies.
    fn default() -> Self {
        BodyCache::new(MAX_BODIES, MAX_BODY_BYTES)
    }
}

/// How many one-indicator answers are kept for one change sequence: a province's
/// dashboards open a few thousand indicator pages, each a kilobyte or two.
pub const MAX_ONE_BODIES: usize = 20_000;

/// The bytes of one-indicator answers kept.
pub const MAX_ONE_BYTES: usize = 64 * 1024 * 1024;

impl BodyCache {
    pub fn new(max_bodies: usize, max_bytes: usize) -> BodyCache {
        BodyCache {
            inner: Mutex::new((0, 0, HashMap::new())),
            max_bodies,
            max_bytes,
        }
    }

    fn get(&self, seq: u64, key: &str) -> Option<Arc<Rendered>> {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (m.0 == seq).then(|| m.2.get(key).cloned()).flatten()
    }

    fn put(&self, seq: u64, key: String, r: Arc<Rendered>) {
        // Room for the compressed copies too, which are never larger than the body.
        let weight = r.weight();
        if weight > self.max_bytes {
            return;
        }
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if seq < m.0 {
            return;
        }
        if m.0 != seq || m.2.len() >= self.max_bodies || m.1 + weight > self.max_bytes {
            *m = (seq, 0, HashMap::new());
        }
        if let Some(old) = m.2.insert(key, r) {
            m.1 -= old.weight();
        }
        m.1 += weight;
    }
}

impl Rendered {
    fn new(content_type: &'static str, body: bytes::Bytes) -> Rendered {
        Rendered {
            content_type,
            body,
            gzip: OnceLock::new(),
            br: OnceLock::new(),
        }
    }

    fn weight(&self) -> usize {
        2 * self.body.len() + 64
    }

    /// The coding this body is sent in for a client that asked for `wanted`: a small
    /// body goes as it is.
    fn coding_for(&self, wanted: Coding) -> Coding {
        if self.body.len() < MIN_COMPRESSED {
            Coding::Identity
        } else {
            wanted
        }
    }

    /// The body in `coding`, if it is made already.
    fn kept(&self, coding: Coding) -> Option<bytes::Bytes> {
        match coding {
            Coding::Identity => Some(self.body.clone()),
            Coding::Gzip => self.gzip.get().cloned(),
            Coding::Br => self.br.get().cloned(),
        }
    }

    /// The body in `coding`, compressed now if it was not before (and then kept).
    fn encoded(&self, coding: Coding) -> Result<bytes::Bytes, ApiError> {
        if let Some(b) = self.kept(coding) {
            return Ok(b);
        }
        let (cell, made) = match coding {
            Coding::Identity => return Ok(self.body.clone()),
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 4),
                    flate2::Compression::new(GZIP_LEVEL),
                );
                e.write_all(&self.body).map_err(ApiError::internal)?;
                (&self.gzip, e.finish().map_err(ApiError::internal)?)
            }
            Coding::Br => {
                let mut out = Vec::with_capacity(self.body.len() / 4);
                {
                    let mut w =
                        brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, 22);
                    w.write_all(&self.body).map_err(ApiError::internal)?;
                    w.flush().map_err(ApiError::internal)?;
                }
                (&self.br, out)
            }
        };
        Ok(cell.get_or_init(|| made.into()).clone())
    }

    /// A list endpoint's body: the JSON document, or its rows as CSV under the row
    /// type's columns and then `extra`.
    pub(super) fn list_with<B: Serialize, R: super::csv::CsvRow>(
        csv: bool,
        body: &B,
        rows: &[R],
        extra: &[&str],
    ) -> Result<Self, ApiError> {
        Ok(if csv {
            Rendered::new(
                "text/csv; charset=utf-8",
                super::csv::render(rows, extra)?.into(),
            )
        } else {
            Rendered::json(body)?
        })
    }

    pub(super) fn json<B: Serialize>(body: &B) -> Result<Self, ApiError> {
        Ok(Rendered::new(
            "application/json",
            serde_json::to_vec(body).map_err(ApiError::internal)?.into(),
        ))
    }

    /// The answer with `body`, already in `coding`.
    fn response(&self, body: bytes::Bytes, coding: Coding) -> Resp {
        let mut res = warp::reply::Response::new(body.into());
        let h = res.headers_mut();
        h.insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static(self.content_type),
        );
        if coding != Coding::Identity {
            h.insert(
                warp::http::header::CONTENT_ENCODING,
                warp::http::HeaderValue::from_static(coding.token()),
            );
        }
        res
    }
}

/// What a catalogue-wide answer varies by: the representation (`Accept`) and the
/// coding (`Accept-Encoding`).
fn vary(mut res: Resp) -> Resp {
    res.headers_mut().insert(
        warp::http::header::VARY,
        warp::http::HeaderValue::from_static("Accept, Accept-Encoding, Accept-Language"),
    );
    res
}

/// Every catalogue-wide GET (attainment, alerts, summary) takes the cheapest of three
/// paths:
/// 1. `If-None-Match` names the current ETag: 304, decided on the async worker from
///    the store's change counter (one sled read), with no evaluation at all;
/// 2. the body already rendered for this URL and representation since the last
///    write: served from the body cache, also without leaving the async worker;
/// 3. otherwise `render` runs on the blocking pool, and its answer is memoised.
///
/// The ETag covers the representation (JSON or CSV) and the coding asked for, since
/// all share a URL. A compressed copy is made on the blocking pool the first time a
/// coding is asked for after a write, and kept beside the body.
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
    cached_answer(
        ctx,
        &ctx.bodies,
        req,
        route,
        csv,
        Render::Blocking(Box::new(render)),
    )
    .await
}

/// How an answer missing from the cache is rendered: on the blocking pool (a whole
/// catalogue), or on the async worker (one indicator: a few point reads, or the memo).
pub(super) enum Render {
    Blocking(RenderFn),
    Inline(RenderFn),
}

/// Renders an answer from the store as it stands.
pub(super) type RenderFn = Box<dyn FnOnce(&Queries) -> Result<Rendered, ApiError> + Send>;

/// [`catalogue_answer`]'s three paths, with the cache and the way of rendering given.
/// The language of the request is part of the key, as answers may word their
/// messages in it.
pub(super) async fn cached_answer(
    ctx: &Ctx,
    cache: &BodyCache,
    req: &Req,
    route: &str,
    csv: bool,
    render: Render,
) -> Result<Resp, ApiError> {
    let repr = if csv { "csv" } else { "json" };
    let wanted = Coding::negotiate(req.accept_encoding.as_deref());
    let seq = ctx.store.change_seq()?;
    // The rows' sentences are in the request's language: each language has its tag.
    let lang = if super::lang::current().is_en() {
        "en"
    } else {
        "zh"
    };
    let tag = etag(
        seq,
        &format!("{route}.{repr}.{lang}.{}", wanted.token()),
        &req.query,
    );
    if not_modified(req, &tag) {
        return Ok(vary(not_modified_response(&tag)));
    }
    let key = format!("{route}.{repr}.{lang}?{}", req.query);
    let rendered = match cache.get(seq, &key) {
        Some(r) => r,
        None => {
            let r = Arc::new(match render {
                Render::Blocking(f) => ctx.blocking(f).await?,
                Render::Inline(f) => ctx.inline(f)?,
            });
            cache.put(seq, key, r.clone());
            r
        }
    };
    if csv {
        // An export: recorded, with who asked.
        let token = super::sight::bearer(ctx, req).await?;
        let name = route.split('@').next().unwrap_or(route);
        super::access::Who::of(ctx, req, token.as_ref()).record(
            ctx,
            crate::store::AccessAction::Download,
            format!("{name}.csv?{}", req.query),
        )?;
    }
    let coding = rendered.coding_for(wanted);
    let body = match rendered.kept(coding) {
        Some(b) => b,
        None => {
            let r = rendered.clone();
            ctx.blocking(move |_| r.encoded(coding)).await?
        }
    };
    Ok(vary(with_etag(rendered.response(body, coding), &tag)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_coding_follows_accept_encoding() {
        let n = Coding::negotiate;
        assert_eq!(n(None), Coding::Identity);
        assert_eq!(n(Some("")), Coding::Identity);
        assert_eq!(n(Some("gzip")), Coding::Gzip);
        assert_eq!(n(Some("gzip, deflate, br")), Coding::Br);
        assert_eq!(n(Some("br;q=0, gzip;q=0.5")), Coding::Gzip);
        assert_eq!(n(Some("GZIP;Q=1")), Coding::Gzip);
        assert_eq!(n(Some("gzip;q=0")), Coding::Identity);
        assert_eq!(n(Some("deflate")), Coding::Identity);
        assert_eq!(n(Some("*")), Coding::Br);
        assert_eq!(n(Some("*, br;q=0")), Coding::Gzip);
        assert_eq!(n(Some("identity")), Coding::Identity);
    }

    #[test]
    fn a_compressed_copy_decodes_to_the_body_and_is_kept() {
        let body: Vec<u8> = (0..5000)
            .map(|i| format!("{{\"indicator\":\"p{i:06}\",\"status\":\"on_track\"}},"))
            .collect::<String>()
            .into_bytes();
        let r = Rendered::new("application/json", body.clone().into());
        assert!(r.kept(Coding::Gzip).is_none(), "made only when asked for");
        let gz = r.encoded(Coding::Gzip).unwrap();
        assert!(
            gz.len() < body.len() / 5,
            "gzip packs repeated JSON: {}",
            gz.len()
        );
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        assert_eq!(
            r.kept(Coding::Gzip).unwrap(),
            gz,
            "kept for the next request"
        );
        let br = r.encoded(Coding::Br).unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        assert_eq!(r.coding_for(Coding::Br), Coding::Br);
        let small = Rendered::new("application/json", "{}".into());
        assert_eq!(small.coding_for(Coding::Gzip), Coding::Identity);
    }
}
