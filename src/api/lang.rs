//! The language of the request being answered.
//!
//! Messages about what was sent are written in Chinese and English side by side
//! ([`crate::domain::messages::Msg`]); the one that goes out is picked when the answer
//! is rendered, from the request's `Accept-Language`. The server reads the header once
//! per request and runs the request's whole future inside [`scope`], so every answer
//! and every refusal (including warp's own rejections) renders in the request's
//! language without each handler passing it along.

use std::future::Future;

use tokio::task::futures::TaskLocalFuture;

pub use crate::text::Lang;

tokio::task_local! {
    static LANG: Lang;
}

/// Runs `fut` with `lang` as the language of its answer.
pub fn scope<F: Future>(lang: Lang, fut: F) -> TaskLocalFuture<Lang, F> {
    LANG.scope(lang, fut)
}

/// The language of the request being answered: Chinese outside a request.
pub fn current() -> Lang {
    LANG.try_with(|l| *l).unwrap_or_default()
}

/// The language a request's headers ask for.
pub fn of_headers(headers: &warp::http::HeaderMap) -> Lang {
    headers
        .get(warp::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Zh, Lang::from_accept_language)
}
