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

use crate::domain::messages::Msg;
use crate::domain::DomainError;
pub use crate::ingest::RowError;
use crate::store::StoreError;

/// Everything a request can fail with. Each detail is written in Chinese and, where
/// a clerk or a script meets it, in English too ([`Msg`]); the answer picks the
/// request's language ([`super::lang`]) when it is rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{detail}")]
    Invalid { field: String, detail: Msg },
    #[error("{0}")]
    NotFound(Msg),
    #[error("{0}")]
    Unauthorized(Msg),
    #[error("{0}")]
    Forbidden(Msg),
    /// Figures of a month not yet released (待发布), asked for by someone who may see
    /// only released ones: 403 `unreleased`.
    #[error("{0}")]
    Unreleased(Msg),
    #[error("{0}")]
    UnsupportedMediaType(Msg),
    #[error("{0}")]
    PayloadTooLarge(Msg),
    #[error("{0}")]
    Timeout(Msg),
    #[error("{0}")]
    Unprocessable(Msg),
    #[error("{0}")]
    Conflict(Msg),
    #[error("{detail}")]
    TooManyRequests { retry_after: u64, detail: Msg },
    /// The server is at one of its budgets (bodies in memory): 503 with `Retry-After`.
    #[error("{detail}")]
    Busy { retry_after: u64, detail: Msg },
    /// Rows of a batch (or the one reading of a PUT) refused, each named with its
    /// row, field and message: the same problem+json with an `errors` list.
    #[error("{detail}")]
    Rows {
        kind: RowsProblem,
        detail: Msg,
        errors: Vec<RowError>,
    },
    /// A batch confirmed after its preview no longer matches it (the file or a row's
    /// stored reading changed): 409, with the new preview beside the detail.
    #[error("{detail}")]
    StalePreview {
        detail: Msg,
        preview: serde_json::Value,
    },
    /// An input refused by one of the caps in [`crate::limits`]: 413 for a byte cap,
    /// 422 for a count; counted in `zhibiao_refusals_total`.
    #[error("{0}")]
    OverCap(#[from] crate::limits::OverCap),
    /// The store's disk is full: 507, nothing of the request acknowledged.
    #[error("{0}")]
    DiskFull(Msg),
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
    /// Every row left out (no figure in any): 422, each row listed with why.
    NothingStored,
}

impl warp::Reply for ApiError {
    fn into_response(self) -> warp::reply::Response {
        self.to_response()
    }
}

impl Reject for ApiError {}

impl ApiError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<Msg>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    /// The detail in English when `en`, else in Chinese.
    pub fn detail_in(&self, en: bool) -> String {
        match self {
            ApiError::Invalid { detail, .. }
            | ApiError::TooManyRequests { detail, .. }
            | ApiError::Busy { detail, .. }
            | ApiError::Rows { detail, .. }
            | ApiError::StalePreview { detail, .. }
            | ApiError::NotFound(detail)
            | ApiError::Unauthorized(detail)
            | ApiError::Forbidden(detail)
            | ApiError::Unreleased(detail)
            | ApiError::UnsupportedMediaType(detail)
            | ApiError::PayloadTooLarge(detail)
            | ApiError::Timeout(detail)
            | ApiError::Unprocessable(detail)
            | ApiError::Conflict(detail)
            | ApiError::DiskFull(detail) => detail.get(en).to_string(),
            other => other.to_string(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::Unreleased(_) => (StatusCode::FORBIDDEN, "unreleased", "Not yet released"),
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
            ApiError::StalePreview { .. } => {
                (StatusCode::CONFLICT, "stale-preview", "Stale preview")
            }
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "Service busy"),
            ApiError::DiskFull(_) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "disk-full",
                "Insufficient storage",
            ),
            ApiError::Rows { kind, .. } => match kind {
                RowsProblem::Invalid => (StatusCode::BAD_REQUEST, "invalid-rows", "Invalid rows"),
                RowsProblem::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
                RowsProblem::FailedChecks => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "failed-checks",
                    "Failed quality checks",
                ),
                RowsProblem::NothingStored => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "nothing-stored",
                    "Nothing stored",
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
        let en = super::lang::current().is_en();
        let detail = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = %chain(e.as_ref()), "request failed");
                Msg::new(
                    "服务器未能完成请求，原因已记入服务器日志",
                    "the server could not complete the request; the cause is in its log",
                )
                .get(en)
                .to_string()
            }
            other => other.detail_in(en),
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
            let errors: Vec<RowError> = errors.iter().map(|e| e.in_lang(en)).collect();
            return rows_problem(status, slug, title, detail, &errors);
        }
        if let ApiError::StalePreview { preview, .. } = self {
            let body = serde_json::json!({
                "type": format!("urn:zhibiao:problem:{slug}"),
                "title": title,
                "status": status.as_u16(),
                "detail": detail,
                "preview": preview,
            });
            let mut res = warp::reply::Response::new(body.to_string().into());
            *res.status_mut() = status;
            res.headers_mut().insert(
                warp::http::header::CONTENT_TYPE,
                warp::http::HeaderValue::from_static("application/problem+json"),
            );
            return res;
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
            detail: e.detail(),
        }
    }
}

impl From<crate::ingest::DecodeError> for ApiError {
    fn from(e: crate::ingest::DecodeError) -> Self {
        use crate::ingest::DecodeError;
        match e {
            DecodeError::Malformed(e) => ApiError::Invalid {
                detail: Msg::new(
                    format!("第{}行：{}", e.row, e.message),
                    format!(
                        "row {}: {}",
                        e.row,
                        e.english.as_deref().unwrap_or(&e.message)
                    ),
                ),
                field: e.field,
            },
            DecodeError::OverCap(o) => ApiError::OverCap(o),
            // Only a shutdown cancels a decode: nothing was written, send it again.
            DecodeError::Cancelled => ApiError::Busy {
                retry_after: 10,
                detail: Msg::new(
                    "服务器正在停止；本批数据均未写入，请在服务恢复后重新提交",
                    "the server is stopping; nothing of this batch was written, send it again once it is back",
                ),
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
            StoreError::UnknownIndicator(id) => ApiError::NotFound(no_indicator(&id)),
            StoreError::UnknownRegion(name) => ApiError::NotFound(Msg::new(
                format!("没有名为“{name}”的地区（请先用 PUT /v1/regions/{{name}} 登记）"),
                format!("no region '{name}' (register it with PUT /v1/regions/{{name}})"),
            )),
            StoreError::UnknownReading(id, p) => ApiError::NotFound(no_reading(&id, p)),
            StoreError::Stale(id, p) => ApiError::Conflict(Msg::new(
                format!("确认写入时，指标“{id}”{p}的数据刚被修改，未写入任何内容。请重新预览后再确认"),
                format!("the reading of '{id}' for {p} changed as the batch was confirmed; nothing was written. Preview again and confirm"),
            )),
            full if full.is_disk_full() => {
                tracing::error!(error = %full, "the store's disk is full; writes are refused");
                ApiError::DiskFull(Msg::new(
                    "服务器存储空间已满，本次提交未能保存，不计为已报送。请联系系统管理员清理磁盘空间并重启服务后重新提交",
                    "the server's disk is full: this submission was not saved and does not count as submitted. Ask the administrator to free disk space and restart the server, then send it again",
                ))
            }
            other => ApiError::internal(other),
        }
    }
}

/// No indicator with this id.
pub fn no_indicator(id: &impl std::fmt::Display) -> Msg {
    crate::domain::messages::no_indicator(id)
}

/// No reading of an indicator for a period.
pub fn no_reading(id: &impl std::fmt::Display, p: impl std::fmt::Display) -> Msg {
    Msg::new(
        format!("指标“{id}”没有{p}的数据"),
        format!("no reading of '{id}' for {p}"),
    )
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
    if let Some(s) = r.find::<super::session::SignInFirst>() {
        return Ok(s.to_response());
    }
    let (status, slug, title, detail) = if r.is_not_found() {
        (
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            Msg::new(
                "没有这个地址（GET /v1/indicators 列出全部指标）",
                "no such resource; see GET /v1/indicators",
            ),
        )
    } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            Msg::new(
                "这个地址不接受这种请求方法",
                "this resource does not accept that method",
            ),
        )
    } else if r.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            Msg::new("请求内容超过了上限", "the body is over the limit"),
        )
    } else if let Some(e) = r.find::<warp::reject::InvalidQuery>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "Invalid input",
            Msg::new(format!("查询参数有误：{e}"), format!("query string: {e}")),
        )
    } else if let Some(e) = r.find::<warp::filters::cors::CorsForbidden>() {
        (
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            Msg::new(
                format!("{e}；服务器的 --cors-origin 列表中没有这个来源"),
                format!("{e}; the server's --cors-origin list does not include this origin"),
            ),
        )
    } else if let Some(e) = r.find::<warp::reject::InvalidHeader>() {
        (
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "Invalid input",
            Msg::from(e.to_string()),
        )
    } else {
        tracing::error!(rejection = ?r, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            Msg::new(
                "服务器未能完成请求",
                "the server could not complete the request",
            ),
        )
    };
    let detail = detail.get(super::lang::current().is_en()).to_string();
    Ok(problem(status, slug, title, detail, None))
}
