//! One error type for the HTTP layer, mapped once to `application/problem+json`
//! (RFC 9457): `{type, title, status, detail}`, plus `field` when one field is at fault.
//!
//! Handlers return [`ApiError`]; warp's own rejections (no route, wrong method, body
//! too large) are turned into the same shape by [`recover`]. 5xx answers log the cause
//! chain and return an opaque body.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::Rejection;

use crate::domain::DomainError;
pub use crate::ingest::RowError;
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{detail}")]
    Invalid { field: String, detail: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    TooManyRequests { retry_after: u64, detail: String },
    /// The server is at one of its budgets (bodies in memory): 503 with `Retry-After`.
    #[error("{detail}")]
    Busy { retry_after: u64, detail: String },
    /// Rows of a batch (or the one reading of a PUT) refused, each named with its
    /// row, field and message: the same problem+json with an `errors` list.
    #[error("{detail}")]
    Rows {
        kind: RowsProblem,
        detail: String,
        errors: Vec<RowError>,
    },
    /// An input refused by one of the caps in [`crate::limits`]: 413 for a byte cap,
    /// 422 for a count; counted in `zhibiao_refusals_total`.
    #[error("{0}")]
    OverCap(#[from] crate::limits::OverCap),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why rows were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsProblem {
    /// Malformed rows: 400.
    Invalid,
    /// Rows outside the token's rights: 403.
    Forbidden,
    /// Well-formed rows refused only by quality checks: 422.
    FailedChecks,
}

impl warp::Reply for ApiError {
    fn into_response(self) -> warp::reply::Response {
        self.to_response()
    }
}

impl Reject for ApiError {}

impl ApiError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout", "Request timeout"),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable request",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "Service busy"),
            ApiError::Rows { kind, .. } => match kind {
                RowsProblem::Invalid => (StatusCode::BAD_REQUEST, "invalid-rows", "Invalid rows"),
                RowsProblem::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
                RowsProblem::FailedChecks => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "failed-checks",
                    "Failed quality checks",
                ),
            },
            ApiError::OverCap(o) if o.cap.is_bytes() => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::OverCap(_) => (StatusCode::UNPROCESSABLE_ENTITY, "over-cap", "Over a cap"),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The problem+json response for this error.
    pub fn to_response(&self) -> warp::reply::Response {
        let (status, slug, title) = self.parts();
        let detail = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = %chain(e.as_ref()), "request failed");
                "the server could not complete the request; the cause is in its log".to_string()
            }
            other => other.to_string(),
        };
        let field = match self {
            ApiError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        if let ApiError::OverCap(o) = self {
            crate::limits::refused(o.cap);
            return over_cap_problem(status, slug, title, o);
        }
        if let ApiError::Rows { errors, .. } = self {
            return rows_problem(status, slug, title, detail, errors);
        }
        let mut res = problem(status, slug, title, detail, field);
        if let ApiError::TooManyRequests { retry_after, .. } | ApiError::Busy { retry_after, .. } =
            self
        {
            if let Ok(v) = retry_after.to_string().parse() {
                res.headers_mut().insert(warp::http::header::RETRY_AFTER, v);
            }
        }
        res
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::Invalid {
            field: e.field().to_string(),
            detail: e.to_string(),
        }
    }
}

impl From<crate::ingest::DecodeError> for ApiError {
    fn from(e: crate::ingest::DecodeError) -> Self {
        use crate::ingest::DecodeError;
        match e {
            DecodeError::Malformed(e) => ApiError::Invalid {
                detail: format!("row {}: {}", e.row, e.message),
                field: e.field,
            },
            DecodeError::OverCap(o) => ApiError::OverCap(o),
            // Only a shutdown cancels a decode: nothing was written, send it again.
            DecodeError::Cancelled => ApiError::Busy {
                retry_after: 10,
                detail: "the server is stopping; nothing of this batch was written, send it again once it is back".into(),
            },
        }
    }
}

impl From<crate::query::QueryError> for ApiError {
    fn from(e: crate::query::QueryError) -> Self {
        use crate::query::QueryError;
        match e {
            QueryError::Store(e) => e.into(),
            QueryError::Invalid { field, detail } => ApiError::Invalid { field, detail },
            QueryError::NotFound(m) => ApiError::NotFound(m),
            QueryError::Unanswerable(m) => ApiError::Unprocessable(m),
            QueryError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::notify::NotifyError> for ApiError {
    fn from(e: crate::notify::NotifyError) -> Self {
        use crate::notify::NotifyError;
        match e {
            NotifyError::Store(e) => e.into(),
            NotifyError::Query(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownIndicator(id) => ApiError::NotFound(format!("no indicator '{id}'")),
            StoreError::UnknownRegion(name) => ApiError::NotFound(format!(
                "no region '{name}' (register it with PUT /v1/regions/{{name}})"
            )),
            StoreError::UnknownReading(id, p) => {
                ApiError::NotFound(format!("no reading of '{id}' for {p}"))
            }
            other => ApiError::internal(other),
        }
    }
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// With a refusal by a cap: its machine name and number.
    #[serde(skip_serializing_if = "Option::is_none")]
    cap: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
}

/// Builds a problem+json response.
pub fn problem(
    status: StatusCode,
    slug: &str,
    title: &'static str,
    detail: String,
    field: Option<String>,
) -> warp::reply::Response {
    problem_of(
        status,
        Problem {
            kind: format!("urn:zhibiao:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field,
            cap: None,
            limit: None,
        },
    )
}

fn problem_of(status: StatusCode, body: Problem) -> warp::reply::Response {
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut res = warp::reply::Response::new(json.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/problem+json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            warp::http::header::WWW_AUTHENTICATE,
            warp::http::HeaderValue::from_static("Bearer realm=\"zhibiao\""),
        );
    }
    res
}

/// A problem+json for a cap: the cap's machine name and its number beside the detail.
fn over_cap_problem(
    status: StatusCode,
    slug: &str,
    title: &'static str,
    o: &crate::limits::OverCap,
) -> warp::reply::Response {
    problem_of(
        status,
        Problem {
            kind: format!("urn:zhibiao:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: o.detail.clone(),
            field: None,
            cap: Some(o.cap.name()),
            limit: Some(o.limit),
        },
    )
}

/// A problem+json that lists the refused rows (`errors`), with no single `field`.
fn rows_problem(
    status: StatusCode,
    slug: &str,
    title: &'static str,
    detail: String,
    errors: &[RowError],
) -> warp::reply::Response {
    #[derive(Serialize)]
    struct P<'a> {
        #[serde(rename = "type")]
        kind: String,
        title: &'static str,
        status: u16,
        detail: String,
        errors: &'a [RowError],
    }
    let body = serde_json::to_vec(&P {
        kind: format!("urn:zhibiao:problem:{slug}"),
        title,
        status: status.as_u16(),
        detail,
        errors,
    })
    .unwrap_or_default();
    let mut res = warp::reply::Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// Turns every rejection, ours or warp's, into problem+json.
pub async fn recover(r: Rejection) -> Result<warp::reply::Response, Infallible> {
    if let Some(e) = r.find::<ApiError>() {
        return Ok(e.to_response());
    }
    let (status, slug, title, detail) = if r.is_not_found() {
        (
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such resource; see GET /v1/indicators".to_string(),
        )
    } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this resource does not accept that method".to_string(),
        )
    } else if r.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            "the body is over the limit".into(),
        )
    } else if let Some(e) = r.find::<warp::reject::InvalidQuery>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "Invalid input",
            format!("query string: {e}"),
        )
    } else if let Some(e) = r.find::<warp::filters::cors::CorsForbidden>() {
        (
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!("{e}; the server's --cors-origin list does not include this origin"),
        )
    } else if let Some(e) = r.find::<warp::reject::InvalidHeader>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "Invalid input",
            e.to_string(),
        )
    } else {
        tracing::error!(rejection = ?r, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server could not complete the request".into(),
        )
    };
    Ok(problem(status, slug, title, detail, None))
}
