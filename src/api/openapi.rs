//! The OpenAPI 3 document of the whole API, served at `GET /openapi.json`.
//!
//! It is written by hand in `openapi.json` beside this file and compiled in. A test
//! checks that its paths and methods are exactly those of [`super::ROUTES`], and CI runs
//! schemathesis against a live server to check every answer against it.

use warp::{Filter, Rejection, Reply};

use super::filters::{get_or_head, params, NoParams, Resp};
use super::ApiError;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// GET /openapi.json
pub fn route() -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("openapi.json")
        .and(get_or_head())
        .and(params::<NoParams>())
        .map(document)
        .map(Reply::into_response)
}

fn document(p: Result<NoParams, ApiError>) -> Result<Resp, ApiError> {
    p?;
    let mut res = warp::reply::Response::new(DOCUMENT.into());
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    Ok(res)
}
