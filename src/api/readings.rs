//! Readings: single submissions, batches from the bureau's spreadsheets, the monthly
//! template, withdrawals, lists, revisions and vintages.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::Filter;

use super::error::RowsProblem;
use super::input::{body_bytes, decode_segment, require_json, Query, ReadingBody};
use super::{
    authenticate, authorize_write, error, forbidden_message, json, list_reply, may_write,
    not_in_future, parse_id, parse_known_at, parse_period_segment, req, wants_csv, with_ctx,
    ApiError, Ctx, Req, Resp, MAX_BATCH_BODY, MAX_BODY,
};
use super::{created_or_ok, get_or_head};
use crate::domain::{
    looks_like_formula, Check, Finding, Indicator, IndicatorId, ObsStatus, Period, QualityNote,
    Reading, ReadingInput,
};
use crate::engine::quality;
use crate::ingest::{self, RawRow, RawValue, RowError};
use crate::query::views::{ReadingView, RevisionView};
use crate::store::{codec, BatchRow, Idempotency, Outcome, Store, Token};

/// PUT /v1/indicators/:id/readings/:period
///
/// Body `{"value": 63, "status": "provisional", "note": "…"}`; `Authorization: Bearer`.
/// 201 when created, 200 when replaced or unchanged. Acknowledged only once flushed.
pub fn put(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::put())
        .and(req())
        .and(body_bytes(MAX_BODY, ctx.body_timeout))
        .and(with_ctx(ctx))
        .then(
            |id: String,
             period: String,
             req: Req,
             body: Result<bytes::Bytes, ApiError>,
             ctx: Ctx| async move {
                error::reply(put_handler(ctx, id, period, req, body).await)
            },
        )
}

async fn put_handler(
    ctx: Ctx,
    id: String,
    period: String,
    req: Req,
    body: Result<bytes::Bytes, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let id = parse_id(&id)?;
    let (period, form) = parse_period_segment(&ctx, &period)?;
    Query::parse(&req.query, &[])?;
    require_json(req.content_type.as_deref())?;
    let body = ReadingBody::parse(&body?)?;
    let ind = {
        let id = id.clone();
        ctx.blocking(move |qs| Ok(qs.indicator(&id)?)).await?
    };
    authorize_write(&token, &ind)?;
    let input = ReadingInput::new(&ind, body.value, body.status, body.note, form)?;
    let explanation = body
        .explanation
        .as_deref()
        .map(crate::domain::quality::explanation)
        .transpose()?;
    let now = ctx.clock.now();
    let actor = token.name.clone();
    let written = {
        let id = id.clone();
        ctx.blocking(move |qs| {
            let s = qs.store();
            let stored = stored_around(s, &id, period)?;
            let mut row = BatchRow {
                indicator: id,
                period,
                input,
                quality: None,
            };
            match vet_row(&ind, &row, explanation.as_deref(), &stored, &[]) {
                Err(findings) => return Ok(Err(findings)),
                Ok(q) => row.quality = q,
            }
            let (mut out, _) = s.put_readings(std::slice::from_ref(&row), &actor, now, None)?;
            Ok(Ok((out.remove(0), row.quality)))
        })
        .await?
    };
    let ((outcome, reading), quality) = match written {
        Ok(w) => w,
        Err(findings) => {
            let errors: Vec<RowError> = findings.iter().map(|f| finding_error(0, f)).collect();
            return Err(rows_problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{} {period}: {}; nothing was written. Resubmit with \"explanation\" (强制上报说明) to store it flagged",
                    id,
                    labels(&findings)
                ),
                &errors,
            ));
        }
    };
    // Even an unchanged answer waits for the flush: the identical value may belong to a
    // concurrent write that is not yet on disk, and must not be acknowledged before it is.
    ctx.commit().await?;
    let status = created_or_ok(outcome);
    #[derive(Serialize)]
    struct Answer<'a> {
        outcome: Outcome,
        #[serde(flatten)]
        reading: ReadingView<'a>,
        /// Present when the reading was stored despite failed checks.
        #[serde(skip_serializing_if = "Option::is_none")]
        quality: Option<QualityNote>,
    }
    let mut res = json(
        status,
        &Answer {
            outcome,
            reading: ReadingView::new(&id, period, &reading),
            quality: quality.filter(|_| outcome != Outcome::Unchanged),
        },
    );
    if let Ok(loc) = format!("/v1/indicators/{id}/readings/{period}").parse() {
        res.headers_mut().insert(warp::http::header::LOCATION, loc);
    }
    Ok(res)
}

/// GET /v1/indicators/:id/readings/:period
pub fn get(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(
            |id: String, period: String, req: Req, ctx: Ctx| async move {
                error::reply(
                    async {
                        let id = parse_id(&id)?;
                        Query::parse(&req.query, &[])?;
                        let (period, _) =
                            Period::parse_with_form(&decode_segment("period", &period)?)?;
                        ctx.blocking(move |qs| {
                            let s = qs.store();
                            qs.indicator(&id)?;
                            let r = s.reading(&id, period)?.ok_or_else(|| {
                                ApiError::NotFound(format!("no reading of '{id}' for {period}"))
                            })?;
                            Ok(json(StatusCode::OK, &ReadingView::new(&id, period, &r)))
                        })
                        .await
                    }
                    .await,
                )
            },
        )
}

/// DELETE /v1/indicators/:id/readings/:period?reason=
///
/// Withdraws a reading sent to the wrong period or indicator. Its history is kept.
pub fn delete(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::delete())
        .and(req())
        .and(with_ctx(ctx))
        .then(
            |id: String, period: String, req: Req, ctx: Ctx| async move {
                error::reply(
                    async {
                        let token = authenticate(&ctx, &req).await?;
                        let id = parse_id(&id)?;
                        let (period, _) = parse_period_segment(&ctx, &period)?;
                        let q = Query::parse(&req.query, &["reason"])?;
                        let reason = q.get("reason").map(str::to_string);
                        let ind = {
                            let id = id.clone();
                            ctx.blocking(move |qs| Ok(qs.indicator(&id)?)).await?
                        };
                        authorize_write(&token, &ind)?;
                        let now = ctx.clock.now();
                        let old = {
                            let id = id.clone();
                            ctx.blocking(move |qs| {
                                let s = qs.store();
                                Ok(s.withdraw_reading(&id, period, &token.name, reason, now)?)
                            })
                            .await?
                        };
                        ctx.commit().await?;
                        #[derive(Serialize)]
                        struct Answer<'a> {
                            outcome: &'static str,
                            withdrawn: ReadingView<'a>,
                        }
                        Ok(json(
                            StatusCode::OK,
                            &Answer {
                                outcome: "withdrawn",
                                withdrawn: ReadingView::new(&id, period, &old),
                            },
                        ))
                    }
                    .await,
                )
            },
        )
}

/// GET /v1/indicators/:id/readings?from=&to=&as_known_at=&format=
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|id: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let q = Query::parse(&req.query, &["from", "to", "as_known_at", "format"])?;
                    let from = q.value::<Period>("from")?;
                    let to = q.value::<Period>("to")?;
                    let known_at = parse_known_at(&q)?;
                    let csv = wants_csv(&q, &req)?;
                    if let (Some(f), Some(t)) = (from, to) {
                        if f > t {
                            return Err(ApiError::invalid(
                                "from",
                                format!("from {f} is after to {t}"),
                            ));
                        }
                    }
                    ctx.blocking(move |qs| {
                        let s = qs.store();
                        qs.indicator(&id)?;
                        let rows = match known_at {
                            None => s.readings(&id, from, to)?,
                            Some(at) => s.readings_as_known_at(&id, from, to, at)?,
                        };
                        let out: Vec<_> = rows
                            .iter()
                            .map(|(p, r)| ReadingView::new(&id, *p, r))
                            .collect();
                        list_reply(csv, &out, &out)
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/indicators/:id/readings/:period/revisions?format=
pub fn revisions(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String / "revisions")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(
            |id: String, period: String, req: Req, ctx: Ctx| async move {
                error::reply(
                    async {
                        let id = parse_id(&id)?;
                        let (period, _) =
                            Period::parse_with_form(&decode_segment("period", &period)?)?;
                        let q = Query::parse(&req.query, &["format"])?;
                        let csv = wants_csv(&q, &req)?;
                        ctx.blocking(move |qs| {
                            let s = qs.store();
                            qs.indicator(&id)?;
                            let rows = s.revisions(&id, period)?;
                            let out: Vec<_> = rows
                                .iter()
                                .filter_map(|(seq, r)| RevisionView::new(*seq, r))
                                .collect();
                            list_reply(csv, &out, &out)
                        })
                        .await
                    }
                    .await,
                )
            },
        )
}

// ── batches ───────────────────────────────────────────────────────────────

/// What happened to one row of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowResult {
    pub row: usize,
    pub indicator: String,
    pub period: String,
    pub outcome: String,
    pub revision: Option<u32>,
    /// The quality checks the row failed and was stored flagged for, with its
    /// explanation.
    #[serde(default)]
    pub flagged: Vec<Check>,
}

/// The answer to a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchAnswer {
    pub atomic: bool,
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    /// Spreadsheet rows left with an empty value (e.g. template rows not filled in).
    pub skipped: usize,
    pub rejected: usize,
    pub rows: Vec<RowResult>,
    pub errors: Vec<RowError>,
}

/// The stored first answer of an idempotent batch.
#[derive(Debug, Serialize, Deserialize)]
struct StoredAnswer {
    fingerprint: String,
    status: u16,
    body: Vec<u8>,
}

/// POST /v1/readings?atomic=
///
/// A batch of readings as a JSON array, NDJSON, CSV (UTF-8 or GBK/GB18030) or XLSX, each
/// row `indicator, period, value[, status, note]`. Atomic by default: one bad row
/// refuses the batch with a 400 listing every bad row. `?atomic=false` stores the good
/// rows and reports the bad ones. With `Idempotency-Key`, a retry gets the first answer
/// and writes nothing twice.
pub fn batch(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "readings")
        .and(warp::post())
        .and(req())
        .and(body_bytes(MAX_BATCH_BODY, ctx.body_timeout))
        .and(with_ctx(ctx))
        .then(
            |req: Req, body: Result<bytes::Bytes, ApiError>, ctx: Ctx| async move {
                error::reply(batch_handler(ctx, req, body).await)
            },
        )
}

/// Refused rows as an error: 400, 403 or 422 by `status`.
fn rows_problem(status: StatusCode, detail: String, errors: &[RowError]) -> ApiError {
    let kind = if status == StatusCode::FORBIDDEN {
        RowsProblem::Forbidden
    } else if status == StatusCode::UNPROCESSABLE_ENTITY {
        RowsProblem::FailedChecks
    } else {
        RowsProblem::Invalid
    };
    ApiError::Rows {
        kind,
        detail,
        errors: errors.to_vec(),
    }
}

fn idempotency_key(token: &Token, key: &str) -> Result<Vec<u8>, ApiError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    let mut k = token.name.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    Ok(k)
}

fn fingerprint(req: &Req, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(req.query.as_bytes());
    h.update([0]);
    h.update(req.content_type.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// Replays a stored answer, or refuses a key reused for a different request.
fn replay(stored: &[u8], fp: &str) -> Result<Resp, ApiError> {
    let s: StoredAnswer = codec::decode(stored)?;
    if s.fingerprint != fp {
        return Err(ApiError::Unprocessable(
            "this Idempotency-Key was already used for a different request; use a new key".into(),
        ));
    }
    let mut res = warp::reply::Response::new(s.body.into());
    *res.status_mut() = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    res.headers_mut().insert(
        "idempotent-replayed",
        warp::http::HeaderValue::from_static("true"),
    );
    Ok(res)
}

async fn batch_handler(
    ctx: Ctx,
    req: Req,
    body: Result<bytes::Bytes, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    let q = Query::parse(&req.query, &["atomic"])?;
    let atomic = match q.get("atomic") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "atomic",
                format!("atomic '{other}' is not true or false"),
            ))
        }
    };
    let (format, charset) =
        ingest::format_of(req.content_type.as_deref()).map_err(ApiError::UnsupportedMediaType)?;
    let body = body?;
    let fp = fingerprint(&req, &body);
    let idem = req
        .idempotency_key
        .as_deref()
        .map(|k| idempotency_key(&token, k))
        .transpose()?;
    // Decoding, checking and writing all run in one blocking task: an 8 MiB workbook
    // must not hold an async worker, and one hand-off per batch is the least.
    let ctx2 = ctx.clone();
    let fp2 = fp.clone();
    let done = ctx
        .blocking(move |qs| {
            let s = qs.store();
            if let Some(key) = &idem {
                if let Some(stored) = s.idempotent_answer(key)? {
                    return Ok(Batch::Replayed(stored));
                }
            }
            let rows = ingest::decode(format, charset, &body).map_err(|e| {
                ApiError::invalid(e.field.clone(), format!("row {}: {}", e.row, e.message))
            })?;
            if rows.is_empty() {
                return Err(ApiError::invalid("body", "the batch holds no rows"));
            }
            let indicators = named_indicators(s, &rows)?;
            let checked = validate_rows(&ctx2, &token, &indicators, rows);
            let checked = vet_rows(s, &indicators, checked)?;
            write_batch(&ctx2, s, &token, atomic, idem, &fp2, checked)
        })
        .await?;
    match done {
        Batch::Replayed(stored) => {
            // Stored by an earlier request (or a concurrent one that got there first).
            ctx.store.durable().await?;
            replay(&stored, &fp)
        }
        Batch::Written(answer) => {
            ctx.commit().await?;
            Ok(json(StatusCode::OK, &answer))
        }
    }
}

/// How a batch ended, inside its blocking task.
enum Batch {
    /// The Idempotency-Key's stored answer.
    Replayed(Vec<u8>),
    /// Written; durable once the commit is awaited.
    Written(BatchAnswer),
}

/// The indicators a batch names, read one by one: a batch touches a few of them,
/// while the catalogue may hold a province's hundred thousand.
fn named_indicators(
    s: &Store,
    rows: &ingest::Rows,
) -> Result<HashMap<String, Indicator>, ApiError> {
    let mut out = HashMap::new();
    for raw in rows.iter().flatten() {
        if out.contains_key(raw.indicator.as_str()) {
            continue;
        }
        if let Ok(id) = IndicatorId::parse(&raw.indicator) {
            if let Some(ind) = s.indicator(&id)? {
                out.insert(raw.indicator.clone(), ind);
            }
        }
    }
    Ok(out)
}

/// Sorts checked rows into an answer: refused (400/403, nothing written) or written
/// in one transaction, with the idempotency answer stored beside them.
fn write_batch(
    ctx: &Ctx,
    s: &Store,
    token: &Token,
    atomic: bool,
    idem: Option<Vec<u8>>,
    fp: &str,
    checked: Vec<(usize, Checked)>,
) -> Result<Batch, ApiError> {
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let mut forbidden = Vec::new();
    let mut failed = Vec::new();
    let mut skipped = 0;
    for (raw_row, r) in checked {
        match r {
            Checked::Good(b, _) => good.push((raw_row, b)),
            Checked::Skipped => skipped += 1,
            Checked::Bad(e) => errors.extend(e),
            Checked::Forbidden(e) => forbidden.push(e),
            Checked::Failed(e) => failed.extend(e),
        }
    }
    if atomic && !forbidden.is_empty() {
        return Err(rows_problem(
            StatusCode::FORBIDDEN,
            format!(
                "{} row(s) are outside the units of token '{}'; nothing was written",
                forbidden.len(),
                token.name
            ),
            &forbidden,
        ));
    }
    if good.is_empty() && errors.is_empty() && failed.is_empty() && !forbidden.is_empty() {
        // Nothing but rows the token may not write: that is a 403, atomic or not.
        return Err(rows_problem(
            StatusCode::FORBIDDEN,
            format!(
                "every row is outside the units of token '{}'; nothing was written",
                token.name
            ),
            &forbidden,
        ));
    }
    if errors.is_empty() && !failed.is_empty() && (atomic || good.is_empty()) {
        // Well-formed, refused only by quality checks: 422, in the same row shape.
        let rows: std::collections::BTreeSet<usize> = failed.iter().map(|e| e.row).collect();
        return Err(rows_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{} row(s) failed quality checks; nothing was written. Each failed check is listed in errors as {{row, field, check, message}}; add an explanation (强制上报说明) to a row to store it flagged",
                rows.len()
            ),
            &failed,
        ));
    }
    errors.extend(forbidden);
    errors.extend(failed);
    errors.sort_by_key(|e| e.row);
    if (atomic && !errors.is_empty()) || (good.is_empty() && !errors.is_empty()) {
        return Err(rows_problem(
            StatusCode::BAD_REQUEST,
            format!(
                "{} bad row(s); nothing was written. Each is listed in errors as {{row, field, message}}",
                errors.len()
            ),
            &errors,
        ));
    }
    let now = ctx.clock.now();
    let rejected = errors.len();
    let batch: Vec<BatchRow> = good.iter().map(|(_, b)| b.clone()).collect();
    let answer = |results: &[(Outcome, Reading)]| -> BatchAnswer {
        let mut a = BatchAnswer {
            atomic,
            created: 0,
            replaced: 0,
            unchanged: 0,
            skipped,
            rejected,
            rows: Vec::with_capacity(results.len()),
            errors: errors.clone(),
        };
        for ((row, b), (outcome, reading)) in good.iter().zip(results) {
            match outcome {
                Outcome::Created => a.created += 1,
                Outcome::Replaced => a.replaced += 1,
                Outcome::Unchanged => a.unchanged += 1,
            }
            a.rows.push(RowResult {
                row: *row,
                indicator: b.indicator.to_string(),
                period: b.period.display_as(b.input.form),
                outcome: match outcome {
                    Outcome::Created => "created",
                    Outcome::Replaced => "replaced",
                    Outcome::Unchanged => "unchanged",
                }
                .into(),
                revision: Some(reading.revision),
                flagged: match (outcome, &b.quality) {
                    (Outcome::Unchanged, _) | (_, None) => Vec::new(),
                    (_, Some(q)) => q.findings.iter().map(|f| f.check).collect(),
                },
            });
        }
        a
    };
    let encode = |results: &[(Outcome, Reading)]| -> Vec<u8> {
        let body = serde_json::to_vec(&answer(results)).unwrap_or_default();
        codec::encode(&StoredAnswer {
            fingerprint: fp.to_string(),
            status: 200,
            body,
        })
        .unwrap_or_default()
    };
    let idem_arg: Option<Idempotency<'_>> = idem
        .as_deref()
        .map(|k| (k, &encode as &dyn Fn(&[(Outcome, Reading)]) -> Vec<u8>));
    let (results, replayed) = s.put_readings(&batch, &token.name, now, idem_arg)?;
    Ok(match replayed {
        Some(stored) => Batch::Replayed(stored),
        None => Batch::Written(answer(&results)),
    })
}

enum Checked {
    /// Valid, with the row's explanation (if it gave one) for the quality checks.
    Good(BatchRow, Option<String>),
    Skipped,
    Bad(Vec<RowError>),
    Forbidden(RowError),
    /// Valid, but failed quality checks without an explanation.
    Failed(Vec<RowError>),
}

/// A failed check as a row error.
fn finding_error(row: usize, f: &Finding) -> RowError {
    RowError {
        row,
        field: "value".into(),
        message: format!("{}: {}", f.check.label_zh(), f.message),
        check: Some(f.check),
    }
}

/// The failed checks' names, for a detail line: "累计值回落、环比异常".
fn labels(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| f.check.label_zh())
        .collect::<Vec<_>>()
        .join("、")
}

/// One indicator's stored readings of the year of `period` and the year before: what
/// the quality checks compare a new figure with.
fn stored_around(
    s: &Store,
    id: &IndicatorId,
    period: Period,
) -> Result<Vec<(Period, Reading)>, ApiError> {
    let from = Period::new(period.year().saturating_sub(1), 1).ok();
    let to = Period::new(period.year(), 12).ok();
    Ok(s.readings(id, from, to)?)
}

/// Runs the quality checks on one row: `Ok(None)` when it passes (or changes
/// nothing), `Ok(Some(note))` when it fails but is explained, `Err` with what failed
/// otherwise. `earlier` holds figures from earlier rows of the same batch, which take
/// the place of stored ones.
fn vet_row(
    ind: &Indicator,
    row: &BatchRow,
    explanation: Option<&str>,
    stored: &[(Period, Reading)],
    earlier: &[(Period, f64)],
) -> Result<Option<QualityNote>, Vec<Finding>> {
    let unchanged = !earlier.iter().any(|(p, _)| *p == row.period)
        && stored
            .iter()
            .any(|(p, r)| *p == row.period && r.same_as(&row.input));
    if unchanged {
        return Ok(None);
    }
    let mut others: Vec<(Period, f64)> = stored
        .iter()
        .filter(|(p, _)| !earlier.iter().any(|(q, _)| q == p))
        .map(|(p, r)| (*p, r.value))
        .collect();
    others.extend_from_slice(earlier);
    let findings = quality::check(ind, row.period, row.input.value, &others);
    if findings.is_empty() {
        return Ok(None);
    }
    match explanation {
        Some(e) => Ok(Some(QualityNote {
            findings,
            explanation: e.to_string(),
        })),
        None => Err(findings),
    }
}

/// Runs the quality checks over a batch's valid rows, in order: a row is checked
/// against the store and against the rows before it in the batch.
fn vet_rows(
    s: &Store,
    indicators: &HashMap<String, Indicator>,
    checked: Vec<(usize, Checked)>,
) -> Result<Vec<(usize, Checked)>, ApiError> {
    let mut stored: HashMap<(IndicatorId, u16), Vec<(Period, Reading)>> = HashMap::new();
    let mut earlier: HashMap<IndicatorId, Vec<(Period, f64)>> = HashMap::new();
    let mut out = Vec::with_capacity(checked.len());
    for (raw_row, c) in checked {
        let Checked::Good(mut row, explanation) = c else {
            out.push((raw_row, c));
            continue;
        };
        let Some(ind) = indicators.get(row.indicator.as_str()) else {
            out.push((raw_row, Checked::Good(row, explanation)));
            continue;
        };
        let key = (row.indicator.clone(), row.period.year());
        if !stored.contains_key(&key) {
            let v = stored_around(s, &row.indicator, row.period)?;
            stored.insert(key.clone(), v);
        }
        let before = earlier.entry(row.indicator.clone()).or_default();
        match vet_row(ind, &row, explanation.as_deref(), &stored[&key], before) {
            Ok(q) => {
                row.quality = q;
                before.push((row.period, row.input.value));
                out.push((raw_row, Checked::Good(row, explanation)));
            }
            Err(findings) => {
                let errors = findings.iter().map(|f| finding_error(raw_row, f)).collect();
                out.push((raw_row, Checked::Failed(errors)));
            }
        }
    }
    Ok(out)
}

/// Parses a number as spreadsheets write it: `1,234.5`, ` 63 `, `7.2%` (for % units).
fn parse_number(text: &str, unit: &str) -> Option<f64> {
    let t = text.trim();
    let t = if unit == "%" {
        t.strip_suffix('%').unwrap_or(t).trim()
    } else {
        t
    };
    let plain: String = if t.contains(',') {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = int.trim_start_matches(['-', '+']);
        let groups: Vec<&str> = digits.split(',').collect();
        let ok = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return None;
        }
        let sign = &int[..int.len() - digits.len()];
        let mut s = format!("{sign}{}", groups.concat());
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        s
    } else {
        t.to_string()
    };
    plain.parse::<f64>().ok()
}

fn validate_rows(
    ctx: &Ctx,
    token: &Token,
    indicators: &HashMap<String, Indicator>,
    rows: ingest::Rows,
) -> Vec<(usize, Checked)> {
    let mut seen: HashMap<(String, Period), usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let raw = match r {
            Ok(raw) => raw,
            Err(e) => {
                out.push((e.row, Checked::Bad(vec![e])));
                continue;
            }
        };
        let row = raw.row;
        let checked = check_row(ctx, token, indicators, &raw, &mut seen);
        out.push((row, checked));
    }
    out
}

fn check_row(
    ctx: &Ctx,
    token: &Token,
    indicators: &HashMap<String, Indicator>,
    raw: &RawRow,
    seen: &mut HashMap<(String, Period), usize>,
) -> Checked {
    let row = raw.row;
    let mut errs = Vec::new();
    let err = |field: &str, msg: String| RowError::new(row, field, msg);
    for (field, text) in [
        ("indicator", Some(raw.indicator.as_str())),
        ("period", Some(raw.period.as_str())),
        ("status", raw.status.as_deref()),
        ("note", raw.note.as_deref()),
    ] {
        if let Some(t) = text.filter(|t| looks_like_formula(t)) {
            errs.push(err(
                field,
                format!(
                    "'{}' looks like a spreadsheet formula; refused",
                    t.chars().take(30).collect::<String>()
                ),
            ));
        }
    }
    // Checking goes on after a formula, so that every bad field of the row is listed.
    let formula_fields: Vec<String> = errs.iter().map(|e| e.field.clone()).collect();
    if matches!(raw.value, RawValue::Missing) && raw.period.is_empty() && raw.indicator.is_empty() {
        return Checked::Skipped;
    }
    let ind = match IndicatorId::parse(&raw.indicator) {
        _ if formula_fields.iter().any(|f| f == "indicator") => None,
        Err(e) => {
            errs.push(err("indicator", e.message().to_string()));
            None
        }
        Ok(id) => match indicators.get(id.as_str()) {
            None => {
                errs.push(err("indicator", format!("no indicator '{id}'")));
                None
            }
            Some(i) => Some(i),
        },
    };
    let period = match Period::parse_with_form(&raw.period) {
        _ if formula_fields.iter().any(|f| f == "period") => None,
        Err(e) => {
            errs.push(err("period", e.message().to_string()));
            None
        }
        Ok((p, f)) => match not_in_future(ctx, p) {
            Err(e) => {
                errs.push(err("period", e.message().to_string()));
                None
            }
            Ok(()) => Some((p, f)),
        },
    };
    let status = match raw.status.as_deref().map(str::parse::<ObsStatus>) {
        _ if formula_fields.iter().any(|f| f == "status") => ObsStatus::default(),
        None => ObsStatus::default(),
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            errs.push(err("status", e.message().to_string()));
            ObsStatus::default()
        }
    };
    let unit = ind.map_or("", |i| i.unit.as_str());
    let value = match &raw.value {
        RawValue::Number(v) => Some(*v),
        RawValue::Missing => {
            // An empty value cell is a template row nobody filled in: skip it.
            if errs.is_empty() && !raw.indicator.is_empty() && !raw.json {
                return Checked::Skipped;
            }
            errs.push(err("value", "value is required".into()));
            None
        }
        RawValue::Text(t) => match parse_number(t, unit) {
            Some(v) => Some(v),
            None => {
                errs.push(err(
                    "value",
                    format!(
                        "'{}' is not a number",
                        t.chars().take(30).collect::<String>()
                    ),
                ));
                None
            }
        },
    };
    let (Some(ind), Some((period, form)), Some(value)) = (ind, period, value) else {
        return Checked::Bad(errs);
    };
    if !errs.is_empty() {
        return Checked::Bad(errs);
    }
    let input = match ReadingInput::new(ind, value, status, raw.note.clone(), form) {
        Ok(i) => i,
        Err(e) => return Checked::Bad(vec![err(e.field(), e.message().to_string())]),
    };
    if let Some(first) = seen.insert((ind.id.to_string(), period), row) {
        return Checked::Bad(vec![err(
            "period",
            format!(
                "duplicates row {first}: {} {period} appears twice in this batch",
                ind.id
            ),
        )]);
    }
    if !may_write(token, ind) {
        return Checked::Forbidden(err("indicator", forbidden_message(token, ind)));
    }
    let explanation = match raw
        .explanation
        .as_deref()
        .map(crate::domain::quality::explanation)
        .transpose()
    {
        Ok(e) => e,
        Err(e) => return Checked::Bad(vec![err(e.field(), e.message().to_string())]),
    };
    Checked::Good(
        BatchRow {
            indicator: ind.id.clone(),
            period,
            input,
            quality: None,
        },
        explanation,
    )
}

// ── the monthly template ──────────────────────────────────────────────────

/// GET /v1/templates/readings.xlsx?period=2023-06
///
/// A workbook with one row for each indicator the caller's token may write: id, name,
/// unit, lead units, target, the latest earlier value, the period, and an empty value
/// column. Filled in and posted back to `POST /v1/readings`, it is the monthly round trip.
pub fn template(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "templates" / "readings.xlsx")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let token = authenticate(&ctx, &req).await?;
                    let q = Query::parse(&req.query, &["period"])?;
                    let period = q.value::<Period>("period")?.ok_or_else(|| {
                        ApiError::invalid("period", "period is required, e.g. ?period=2023-06")
                    })?;
                    let bytes = ctx
                        .blocking(move |qs| template_rows(qs.store(), &token, period))
                        .await?;
                    let mut res = warp::reply::Response::new(bytes.into());
                    let h = res.headers_mut();
                    h.insert(
                        warp::http::header::CONTENT_TYPE,
                        warp::http::HeaderValue::from_static(
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ),
                    );
                    if let Ok(v) =
                        format!("attachment; filename=\"zhibiao-readings-{period}.xlsx\"").parse()
                    {
                        h.insert(warp::http::header::CONTENT_DISPOSITION, v);
                    }
                    Ok(res)
                }
                .await,
            )
        })
}

/// The template's rows: every indicator the token may write, with its target for the
/// period's year and its latest earlier reading of that year.
fn template_rows(s: &Store, token: &Token, period: Period) -> Result<Vec<u8>, ApiError> {
    use crate::ingest::template::{workbook, TemplateRow};
    let mut rows = Vec::new();
    for ind in s.indicators()?.into_iter().filter(|i| may_write(token, i)) {
        let target = s.target(&ind.id, period.year())?;
        let target = match target.as_ref().and_then(|t| t.value.map(|v| (t, v))) {
            Some((t, v)) => match t.upper {
                Some(u) => format!("{}–{}", ingest::format_number(v), ingest::format_number(u)),
                None => format!("{} {}", t.comparator, ingest::format_number(v)),
            },
            None => String::new(),
        };
        let from = Period::new(period.year(), 1).ok();
        let last = s
            .readings(&ind.id, from, Some(period))?
            .into_iter()
            .rfind(|(p, _)| *p < period);
        rows.push(TemplateRow {
            indicator: ind.id.to_string(),
            name: ind.name.clone(),
            unit: ind.unit.clone(),
            lead_units: ind.lead_units.join("、"),
            target,
            last_period: last
                .as_ref()
                .map(|(p, r)| p.display_as(r.form))
                .unwrap_or_default(),
            last_value: last.map(|(_, r)| r.value),
        });
    }
    workbook(&rows, period).map_err(ApiError::internal)
}
