//! Building answers: JSON with a status, 201-or-200, ETags and 304s from the store's
//! change counter, and JSON-or-CSV negotiation.

use serde::Serialize;
use warp::http::StatusCode;
use warp::Reply;

use super::error::ApiError;
use super::filters::{Req, Resp};

/// 201 for a write that created something, 200 for a replacement or no change.
pub(super) fn created_or_ok(outcome: crate::store::Outcome) -> StatusCode {
    if outcome == crate::store::Outcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

pub(super) fn json<T: Serialize>(status: StatusCode, v: &T) -> Resp {
    warp::reply::with_status(warp::reply::json(v), status).into_response()
}

/// A weak ETag from the store-wide change counter and the request's query. Any
/// accepted write changes it; until then a dashboard's poll costs a 304.
pub(super) fn etag(seq: u64, route: &str, query: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{route}?{query}").as_bytes());
    format!("W/\"{seq:x}-{}\"", hex::encode(&h[..6]))
}

/// Whether `If-None-Match` names `tag` (or is `*`).
pub(super) fn not_modified(req: &Req, tag: &str) -> bool {
    req.if_none_match.as_deref().is_some_and(|inm| {
        inm.split(',').map(str::trim).any(|t| {
            t == "*" || t == tag || t.trim_start_matches("W/") == tag.trim_start_matches("W/")
        })
    })
}

/// 304 with the ETag and no body.
pub(super) fn not_modified_response(tag: &str) -> Resp {
    let mut res = warp::reply::Response::new(Vec::new().into());
    *res.status_mut() = StatusCode::NOT_MODIFIED;
    with_etag(res, tag)
}

pub(super) fn with_etag(mut res: Resp, tag: &str) -> Resp {
    if let Ok(v) = tag.parse() {
        res.headers_mut().insert(warp::http::header::ETAG, v);
    }
    // The same URL answers JSON or CSV by Accept: caches must key on it.
    res.headers_mut().insert(
        warp::http::header::VARY,
        warp::http::HeaderValue::from_static("Accept"),
    );
    res
}

/// Whether the client asked for CSV: `?format=csv`, or `Accept: text/csv` without
/// `?format=json`.
pub(super) fn csv_wanted(format: Option<&str>, req: &Req) -> Result<bool, ApiError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("format '{other}' is not one of: json, csv"),
        )),
        None => Ok(req.accept.as_deref().is_some_and(prefers_csv)),
    }
}

/// Whether an `Accept` header prefers CSV to JSON, honouring `q` weights (`q=0`
/// refuses a type).
pub(super) fn prefers_csv(accept: &str) -> bool {
    let weight = |wanted: &[&str]| -> f64 {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let mime = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .find_map(|p| {
                        p.strip_prefix("q=")
                            .and_then(|q| q.trim().parse::<f64>().ok())
                    })
                    .unwrap_or(1.0);
                wanted.contains(&mime.as_str()).then_some(q)
            })
            .fold(0.0, f64::max)
    };
    let csv = weight(&["text/csv"]);
    csv > 0.0 && csv >= weight(&["application/json", "*/*", "application/*"])
}

/// Answers a list as JSON (`body`) or CSV (`rows`, one object per line).
pub(super) fn list_reply<B: Serialize, R: super::csv::CsvRow>(
    csv: bool,
    body: &B,
    rows: &[R],
) -> Result<Resp, ApiError> {
    if csv {
        super::csv::reply(rows)
    } else {
        Ok(json(StatusCode::OK, body))
    }
}
