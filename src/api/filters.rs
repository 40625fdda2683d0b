//! The filters every route is built from: the request parts handlers look at
//! ([`Req`]), the context, GET-or-HEAD, and the typed query parameters of a route
//! ([`params`]), so that no handler repeats a prelude.

use std::convert::Infallible;

use warp::Filter;

use super::body::Body;
use super::error::ApiError;
use super::input::Query;
use super::state::Ctx;
use crate::limits::Cap;

pub(super) type Resp = warp::reply::Response;

/// The parts of a request most handlers look at.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub query: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub accept_encoding: Option<String>,
    pub if_none_match: Option<String>,
    pub content_type: Option<String>,
    /// `Idempotency-Key`, as sent: its bytes are checked by the route that takes it,
    /// so that a key that is not visible UTF-8 is refused rather than ignored.
    pub idempotency_key: Option<Vec<u8>>,
    /// The connection's peer address.
    pub remote: Option<std::net::IpAddr>,
    /// `Forwarded` and `X-Forwarded-For`, read only when the peer is a trusted proxy.
    pub forwarded: Option<String>,
    pub x_forwarded_for: Option<String>,
}

impl Req {
    /// The client's address: the peer's, or the one a trusted proxy forwarded.
    pub fn client(&self, trusted: &[super::peer::IpNet]) -> Option<std::net::IpAddr> {
        super::peer::client_address(
            self.remote,
            trusted,
            self.forwarded.as_deref(),
            self.x_forwarded_for.as_deref(),
        )
    }
}

pub(super) fn opt_header(
    name: &'static str,
) -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>(name)
        .or(warp::any().map(|| None))
        .unify()
}

/// A header's raw bytes, whatever they hold.
fn raw_header(
    name: &'static str,
) -> impl Filter<Extract = (Option<Vec<u8>>,), Error = Infallible> + Clone {
    // `header::value` hands over the one value; `headers_cloned` would copy every
    // header of every request to read this one.
    warp::header::value(name)
        .map(|v: warp::http::HeaderValue| Some(v.as_bytes().to_vec()))
        .or(warp::any().map(|| None))
        .unify()
}

/// The peer address the server put into the request, or warp's own (its test
/// requests and `warp::serve`).
pub(super) fn peer(
) -> impl Filter<Extract = (Option<std::net::IpAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<super::peer::Peer>()
        .and(warp::addr::remote())
        .map(
            |p: Option<super::peer::Peer>, r: Option<std::net::SocketAddr>| {
                p.map(|p| p.0).or(r).map(|a| a.ip())
            },
        )
}

/// Extracts a [`Req`].
pub(super) fn req() -> impl Filter<Extract = (Req,), Error = Infallible> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .and(opt_header("authorization"))
        .and(opt_header("accept"))
        .and(opt_header("accept-encoding"))
        .and(opt_header("if-none-match"))
        .and(opt_header("content-type"))
        .and(raw_header("idempotency-key"))
        .and(peer())
        .and(opt_header("forwarded"))
        .and(opt_header("x-forwarded-for"))
        .map(
            |query,
             authorization,
             accept,
             accept_encoding,
             if_none_match,
             content_type,
             idempotency_key,
             remote,
             forwarded,
             x_forwarded_for| Req {
                query,
                authorization,
                accept,
                accept_encoding,
                if_none_match,
                content_type,
                idempotency_key,
                remote,
                forwarded,
                x_forwarded_for,
            },
        )
}

/// GET, or HEAD (answered like GET; hyper leaves the body out).
pub(super) fn get_or_head() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

pub(super) fn with_ctx(ctx: Ctx) -> impl Filter<Extract = (Ctx,), Error = Infallible> + Clone {
    warp::any().map(move || ctx.clone())
}

/// A route's typed query parameters: the names it takes and how each is parsed. Built
/// with [`params!`](crate::api::params); parsed through one [`Query`], which refuses
/// unknown and repeated names.
pub(super) trait Params: Sized + Send + 'static {
    /// Every name the route takes.
    const NAMES: &'static [&'static str];
    fn from_query(q: &Query) -> Result<Self, ApiError>;
}

/// The route's query parameters, parsed. The error is handed to the handler, so that a
/// route that authenticates first still answers 401 before it judges the query.
pub(super) fn params<P: Params>(
) -> impl Filter<Extract = (Result<P, ApiError>,), Error = Infallible> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .map(|raw: String| Query::parse(&raw, P::NAMES).and_then(|q| P::from_query(&q)))
}

/// A read: GET (or HEAD), the context and the request's parts.
pub(super) fn read(ctx: Ctx) -> impl Filter<Extract = (Ctx, Req), Error = warp::Rejection> + Clone {
    get_or_head().and(with_ctx(ctx)).and(req())
}

/// A write: the context, the request's parts and the unread [`Body`], to be read (up
/// to `limit` bytes, within the server's body timeout, out of its body budget) only
/// after the handler has checked the sender's rights. The method is the route's own
/// filter.
pub(super) fn write(
    ctx: Ctx,
    limit: u64,
) -> impl Filter<Extract = (Ctx, Req, Body), Error = warp::Rejection> + Clone {
    let timeout = ctx.body_timeout;
    let budget = ctx.body_budget.clone();
    let cap = if limit > super::state::MAX_BODY {
        Cap::BatchBody
    } else {
        Cap::Body
    };
    with_ctx(ctx)
        .and(req())
        .and(super::body::body(limit, cap, timeout, budget))
}

/// Declares a route's query parameters as a struct, each field with the function that
/// parses it from the [`Query`] (`fn(&Query, &str) -> Result<T, ApiError>`):
///
/// ```ignore
/// params! {
///     /// `GET /v1/attainment`
///     struct AttainmentParams {
///         as_of: Option<Period> = value::<Period>,
///         format: Option<String> = text,
///     }
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __zhibiao_api_params {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident : $ty:ty = $parse:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug)]
        struct $name {
            $($field: $ty),*
        }
        impl $crate::api::filters::Params for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];
            fn from_query(
                q: &$crate::api::input::Query,
            ) -> Result<Self, $crate::api::ApiError> {
                // A route without parameters reads nothing from the query.
                let _ = q;
                Ok($name {
                    $($field: ($parse)(q, stringify!($field))?),*
                })
            }
        }
    };
}

/// The parameters of a route that takes none: any query parameter is refused.
#[derive(Debug)]
pub(super) struct NoParams;

impl Params for NoParams {
    const NAMES: &'static [&'static str] = &[];
    fn from_query(_q: &Query) -> Result<Self, ApiError> {
        Ok(NoParams)
    }
}
