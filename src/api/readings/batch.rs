//! `POST /v1/readings`: a batch of readings from the bureau's spreadsheets. The body is
//! decoded into numbered rows, the indicators it names are read, each row is checked
//! and authorised (`rows`), the valid rows are vetted in order by the query layer's
//! quality checks, and the batch is either refused whole (400, 403 or 422 listing the
//! rows) or written in one transaction. With `Idempotency-Key`, the first answer is
//! stored beside the rows and replayed to a retry.

use crate::api::body::{Body, ReadBody};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::finding_error;
use super::rows::{validate_rows, Checked};
use crate::api::error::RowsProblem;
use crate::api::filters::{params, write, Req, Resp};
use crate::api::input::Query;
use crate::api::{authenticate, json, ApiError, Ctx, MAX_BATCH_BODY};
use crate::domain::messages::Msg;
use crate::domain::{looks_like_formula, Check, Indicator, IndicatorId, Reading};
use crate::ingest::{self, Charset, Format, RowError};
use crate::query::names::Refusal;
use crate::query::quality::Vetter;
use crate::query::tokens::token_region;
use crate::query::Queries;
use crate::store::{
    codec, AnswerFn, Applied, BatchRow, NoteRow, Outcome, ReadingWrite, Recheck, Revet, Role,
    SeriesRead, Store, Token,
};

/// What happened to one row of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowResult {
    pub row: usize,
    /// The indicator's id, whether the row named it by id or by 指标名称.
    pub indicator: String,
    /// The indicator's Chinese name (指标名称).
    #[serde(default)]
    pub name: String,
    pub period: String,
    pub outcome: String,
    pub revision: Option<u32>,
    /// The quality checks the row failed and was stored flagged for, with its
    /// explanation.
    #[serde(default)]
    pub flagged: Vec<Check>,
}

/// A row of a batch left out, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkippedRow {
    pub row: usize,
    /// The indicator as the row named it (an id or a 指标名称).
    pub indicator: String,
    pub reason: String,
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
    /// Each row left out, with why (in the request's language).
    #[serde(default)]
    pub skipped_rows: Vec<SkippedRow>,
    pub rejected: usize,
    pub rows: Vec<RowResult>,
    pub errors: Vec<RowError>,
    /// Rows with a note but no figure, each kept as an audited note on its
    /// indicator's period (shown on the 催报 list and the indicator page).
    #[serde(default)]
    pub notes: usize,
    #[serde(default)]
    pub noted_rows: Vec<NotedRow>,
}

/// A row kept as a note on its indicator's period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotedRow {
    pub row: usize,
    pub indicator: String,
    #[serde(default)]
    pub name: String,
    pub period: String,
    pub note: String,
}

/// The stored first answer of an idempotent batch.
#[derive(Debug, Serialize, Deserialize)]
struct StoredAnswer {
    fingerprint: String,
    status: u16,
    body: Vec<u8>,
}

/// `?atomic=`: `true` (the default) or `false`.
fn atomic(q: &Query, name: &str) -> Result<bool, ApiError> {
    match q.get(name) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::invalid(
            name,
            format!("atomic '{other}' is not true or false"),
        )),
    }
}

crate::api::params! {
    /// `POST /v1/readings`
    struct BatchParams {
        atomic: bool = atomic,
        preview: Option<bool> = crate::api::input::value::<bool>,
        confirm: Option<String> = crate::api::input::text,
    }
}

/// What a batch request asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mode {
    /// Write it.
    Write,
    /// Say what writing it would do, row by row, and write nothing.
    Preview,
    /// Write it if what a preview showed still holds (its `confirm` token).
    Confirm(String),
}

/// POST /v1/readings?atomic=
///
/// A batch of readings as a JSON array, NDJSON, CSV (UTF-8 or GBK/GB18030) or XLSX, each
/// row `indicator, period, value[, status, note, explanation, region]`, the indicator
/// by id or by 指标名称 within the row's region (the submitter's by default), the
/// headers in English or as offices write them (指标名称, 报告期, 本年累计…). Atomic by default: one bad row
/// refuses the batch with a 400 listing every bad row. `?atomic=false` stores the good
/// rows and reports the bad ones. With `Idempotency-Key`, a retry gets the first answer
/// and writes nothing twice.
pub fn route(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "readings")
        .and(warp::post())
        .and(write(ctx, MAX_BATCH_BODY))
        .and(params::<BatchParams>())
        .then(batch_handler)
        .map(Reply::into_response)
}

async fn batch_handler(
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<BatchParams, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, &req).await?;
    // Rights before work: a token that can write nothing is refused before a byte of
    // the batch is read; a submitter's rows are checked one by one once decoded.
    if token.role == Role::Reader {
        return Err(ApiError::Forbidden(crate::domain::messages::Msg::new(
            format!("令牌“{}”是只读令牌，不能报送数据", token.name),
            format!("token '{}' is a reader and cannot write", token.name),
        )));
    }
    let BatchParams {
        atomic,
        preview,
        confirm,
    } = p?;
    let mode = match (preview.unwrap_or(false), confirm) {
        (true, Some(_)) => {
            return Err(ApiError::invalid(
                "confirm",
                Msg::new(
                    "preview 与 confirm 不能同时使用：先预览，再用预览给出的 confirm 提交",
                    "preview and confirm cannot be used together: preview first, then send the confirm it gave",
                ),
            ))
        }
        (true, None) => Mode::Preview,
        (false, Some(t)) => Mode::Confirm(t),
        (false, None) => Mode::Write,
    };
    let arrival = super::upload::arrival(req.content_type.as_deref())?;
    let idem = req
        .idempotency_key
        .as_deref()
        .map(|k| idempotency_key(&token, k))
        .transpose()?;
    let body = body.read().await?;
    let fp = fingerprint(&req, &body);
    let upload = super::upload::unwrap(arrival, body).await?;
    let (format, charset, body) = (upload.format, upload.charset, upload.body);
    let submission = Submission {
        mode,
        explanations: upload.explanations,
        lang: crate::api::lang::current(),
        token,
        atomic,
        idem,
        fingerprint: fp.clone(),
        format,
        charset,
        body,
    };
    // Decoding, checking and writing all run in one job on the batch threads: an 8 MiB
    // workbook must not hold an async worker, one hand-off per batch is the least, and
    // batches take turns for the cores, which also bounds their working memory.
    match run_and_write(&ctx, submission).await? {
        Batch::Replayed(stored) => {
            // Stored by an earlier request (or a concurrent one that got there first).
            ctx.store.durable().await?;
            replay(&stored, &fp)
        }
        Batch::Written(answer) => Ok(json(StatusCode::OK, &answer)),
        Batch::Ready(..) => unreachable!("run_and_write writes what is ready"),
        Batch::Previewed(preview) => Ok(json(StatusCode::OK, &preview)),
        Batch::Stale(preview) => Err(ApiError::StalePreview {
            detail: stale_message(),
            preview: serde_json::to_value(&preview).unwrap_or_default(),
        }),
    }
}

/// What a preview says of a row kept as a note.
fn kept_note(note: &str) -> Msg {
    Msg::new(
        format!("本期没有数字，备注“{note}”将作为本期的说明保存（显示在催报清单和指标页上），不计为已报送"),
        format!("no figure this period: the note '{note}' will be kept as the period's note (shown on the 催报 list and the indicator page); the figure is still due"),
    )
}

fn stale_message() -> Msg {
    Msg::new(
        "预览之后，本表中有数据已被修改（或文件已变），未写入任何内容。请核对下面的新预览后再确认",
        "figures of this sheet changed since the preview (or the file did); nothing was written. Check the new preview and confirm again",
    )
}

/// A spreadsheet sent from the 数据报送 page by the person signed in: decoded, checked
/// and previewed or written exactly as `POST /v1/readings` would with the session's
/// token (atomic, no idempotency key: the page's confirm token already makes a second
/// confirm of the same preview write nothing new).
pub(crate) struct PageBatch {
    pub token: Token,
    pub mode: Mode,
    pub format: Format,
    pub body: ReadBody,
    pub explanations: HashMap<usize, String>,
}

/// How a page's batch ended.
pub(crate) enum PageOutcome {
    /// What confirming would do; nothing written.
    Previewed(Preview),
    /// The confirm token no longer matches: nothing written; the preview as it stands now.
    Stale(Preview),
    /// Written and durable.
    Written(BatchAnswer),
}

/// Runs a [`PageBatch`] on the batch threads, as [`route`] runs a posted one.
pub(crate) async fn run_page_batch(ctx: &Ctx, b: PageBatch) -> Result<PageOutcome, ApiError> {
    let submission = Submission {
        mode: b.mode,
        explanations: b.explanations,
        lang: crate::api::lang::Lang::Zh,
        token: b.token,
        atomic: true,
        idem: None,
        fingerprint: String::new(),
        format: b.format,
        charset: Charset::Detect,
        body: b.body,
    };
    Ok(match run_and_write(ctx, submission).await? {
        Batch::Replayed(_) => unreachable!("a page's batch has no idempotency key"),
        Batch::Ready(..) => unreachable!("run_and_write writes what is ready"),
        Batch::Written(answer) => PageOutcome::Written(answer),
        Batch::Previewed(p) => PageOutcome::Previewed(p),
        Batch::Stale(p) => PageOutcome::Stale(p),
    })
}

/// A batch as it was posted, judged at the edge: who sends it, how, and its bytes.
struct Submission {
    mode: Mode,
    /// 强制上报说明 given beside the file (a form's `explanation.<row>` fields), by row.
    explanations: HashMap<usize, String>,
    /// The language of the answer, read before the batch leaves the request's task.
    lang: crate::api::lang::Lang,
    token: Token,
    atomic: bool,
    /// The stored key of its `Idempotency-Key`, if it has one.
    idem: Option<Vec<u8>>,
    /// Its request's [`fingerprint`].
    fingerprint: String,
    format: Format,
    charset: Charset,
    /// The body, holding its share of the server's body budget until the batch ends.
    body: ReadBody,
}

/// Decodes, checks and vets a batch on the batch threads, then hands what is to be
/// written to the store's writer and waits until it is on disk. When readings it was
/// vetted against changed meanwhile (another request wrote the same indicators), the
/// writer vets it again against the store as it then stands (`store::writer`).
async fn run_and_write(ctx: &Ctx, submission: Submission) -> Result<Batch, ApiError> {
    let sub = std::sync::Arc::new(submission);
    let ctx2 = ctx.clone();
    let done = ctx
        .batches
        .run(move || run_batch(&ctx2, &ctx2.queries, &sub))
        .await?;
    let Batch::Ready(write, written, second) = done else {
        return Ok(done);
    };
    let applied = ctx.store.write(write).await?;
    let second = second.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (applied, second) {
        (Applied::Done((_, Some(stored))), _) => Ok(Batch::Replayed(stored)),
        (Applied::Done((results, None)), second) => {
            ctx.changed();
            let written = match second {
                Some(Ok(w)) => w,
                _ => written,
            };
            Ok(Batch::Written(written.answer(&results)))
        }
        (Applied::Refused, Some(Err(e))) => Err(e),
        (Applied::Refused, _) => Err(ApiError::internal(std::io::Error::other(
            "the writer refused a batch without saying why",
        ))),
    }
}

/// What the store's writer found when it vetted a batch again: the rows it wrote, or
/// why it refused them.
type Second = std::sync::Arc<std::sync::Mutex<Option<Result<std::sync::Arc<Written>, ApiError>>>>;

/// How a batch ended, inside its blocking task.
enum Batch {
    /// The Idempotency-Key's stored answer.
    Replayed(Vec<u8>),
    /// Vetted, to be written by the store's writer; the answer is rendered from what
    /// the writer reports, and from the rows it vetted again if it did.
    Ready(ReadingWrite, std::sync::Arc<Written>, Second),
    /// Written and durable.
    Written(BatchAnswer),
    /// What writing it would do; nothing written.
    Previewed(Preview),
    /// A confirm whose preview no longer holds: nothing written; the new preview.
    Stale(Preview),
}

/// The blocking part of a batch: the stored answer of its key, or its rows decoded,
/// checked, vetted and written.
fn run_batch(ctx: &Ctx, qs: &Queries, sub: &std::sync::Arc<Submission>) -> Result<Batch, ApiError> {
    let s = qs.store();
    // Taken before any reading is read for the checks (see `store::writer`).
    let basis = s.basis();
    if let Some(key) = sub.idem.as_ref().filter(|_| sub.mode != Mode::Preview) {
        if let Some(stored) = s.idempotent_answer(key)? {
            return Ok(Batch::Replayed(stored));
        }
    }
    let mut rows = ingest::decode(sub.format, sub.charset, &sub.body, &ctx.cancel)?;
    for raw in rows.iter_mut().flatten() {
        if let Some(text) = sub.explanations.get(&raw.row) {
            raw.explanation = Some(text.clone());
        }
    }
    if matches!(sub.format, Format::Json | Format::Ndjson) {
        // The decoder made 1e-400 a 0; the body's text says otherwise.
        crate::domain::number::json_numbers(&sub.body)?;
    }
    if rows.is_empty() {
        return Err(ApiError::invalid(
            "body",
            Msg::new(
                "本批没有任何数据行：表头下面是空的",
                "the batch holds no rows",
            ),
        ));
    }
    let named: HashMap<usize, String> = rows
        .iter()
        .flatten()
        .map(|r| (r.row, r.indicator.clone()))
        .collect();
    let resolved = resolve_indicators(qs, &sub.token, &rows)?;
    let checked = validate_rows(ctx, &sub.token, &resolved, rows);
    let unvetted = checked.clone();
    let checked = vet_rows(s, &resolved.indicators, checked)?;
    let expect = match &sub.mode {
        Mode::Write => Vec::new(),
        Mode::Preview | Mode::Confirm(_) => {
            let preview = preview(s, sub, &resolved.indicators, &named, &checked)?;
            match &sub.mode {
                Mode::Confirm(token) if *token == preview.confirm => preview.expected,
                Mode::Confirm(_) => return Ok(Batch::Stale(preview)),
                _ => return Ok(Batch::Previewed(preview)),
            }
        }
    };
    let ready = write_batch(
        ctx,
        sub,
        &resolved.indicators,
        &named,
        checked,
        expect.clone(),
    )?;
    let Batch::Ready(mut write, written, second) = ready else {
        return Ok(ready);
    };
    let revet: Revet = {
        let (ctx, sub, second) = (ctx.clone(), sub.clone(), second.clone());
        let indicators = resolved.indicators;
        Box::new(move |readings| {
            let again = vet_rows(readings, &indicators, unvetted.clone()).and_then(|checked| {
                write_batch(&ctx, &sub, &indicators, &named, checked, expect.clone())
            });
            let (write, found) = match again {
                Ok(Batch::Ready(write, written, _)) => (Some(write), Ok(written)),
                Ok(_) => (
                    None,
                    Err(ApiError::internal(std::io::Error::other(
                        "a batch vetted again was not ready to write",
                    ))),
                ),
                Err(e) => (None, Err(e)),
            };
            *second.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
            write
        })
    };
    write.recheck = Some(Recheck { basis, revet });
    Ok(Batch::Ready(write, written, second))
}

/// One row of a preview: what confirming the batch would do with it.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewRow {
    pub row: usize,
    /// The indicator's id, or the text the row named it with when it names none.
    pub indicator: String,
    pub name: String,
    pub period: Option<String>,
    /// `created` (新增), `replaced` (更新), `unchanged` (未变), `skipped` (跳过),
    /// `error` (错误), `failed_checks` (未通过审核: written flagged once the row has a
    /// 强制上报说明) or `note` (备注: no figure, the note kept on the period).
    pub action: &'static str,
    /// The stored value it would replace, and its revision.
    pub old: Option<f64>,
    pub revision: Option<u32>,
    /// The value the row gives.
    pub new: Option<f64>,
    /// Why it is skipped, what is wrong, or what the checks found.
    pub messages: Vec<String>,
    pub checks: Vec<Check>,
    /// The row's 强制上报说明, when it has one.
    pub explanation: Option<String>,
}

/// What writing a batch would do, row by row, and the token that confirms it.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub preview: bool,
    /// Send the same file with `?confirm=` this token to write exactly what this
    /// preview shows; it no longer matches once the file or a row's stored reading
    /// changes.
    pub confirm: String,
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub errors: usize,
    pub failed_checks: usize,
    /// Rows with a note but no figure, to be kept as notes.
    pub notes: usize,
    pub rows: Vec<PreviewRow>,
    /// Each row to be written and the revision it stands at (`None`: no reading yet).
    #[serde(skip)]
    expected: Vec<(IndicatorId, crate::domain::Period, Option<u32>)>,
}

/// The preview of checked rows against the store as it stands.
fn preview(
    s: &Store,
    sub: &Submission,
    indicators: &HashMap<IndicatorId, Indicator>,
    named: &HashMap<usize, String>,
    checked: &[(usize, Checked)],
) -> Result<Preview, ApiError> {
    use sha2::{Digest, Sha256};
    let en = sub.lang.is_en();
    let mut h = Sha256::new();
    h.update(Sha256::digest(&sub.body[..]));
    let mut p = Preview {
        preview: true,
        confirm: String::new(),
        created: 0,
        replaced: 0,
        unchanged: 0,
        skipped: 0,
        errors: 0,
        failed_checks: 0,
        notes: 0,
        rows: Vec::with_capacity(checked.len()),
        expected: Vec::new(),
    };
    for (row, c) in checked {
        let named_as = named.get(row).cloned().unwrap_or_default();
        let mut r = PreviewRow {
            row: *row,
            indicator: named_as,
            name: String::new(),
            period: None,
            action: "error",
            old: None,
            revision: None,
            new: None,
            messages: Vec::new(),
            checks: Vec::new(),
            explanation: sub.explanations.get(row).cloned(),
        };
        // A row left out or refused still names its indicator as the plan does, when
        // the row's id or name resolved (a skipped template row, a bad value).
        if let Some(ind) = crate::domain::IndicatorId::parse(&r.indicator)
            .ok()
            .and_then(|id| indicators.get(&id))
            .or_else(|| indicators.values().find(|i| i.name == r.indicator))
        {
            r.name = ind.name.clone();
        }
        let batch_row = match c {
            Checked::Good(b, e) => {
                r.explanation = e.clone().or(r.explanation);
                Some(b)
            }
            Checked::Failed(b, errs) => {
                r.action = "failed_checks";
                r.messages = errs.iter().map(|e| e.in_lang(en).message).collect();
                r.checks = errs.iter().filter_map(|e| e.check).collect();
                Some(b)
            }
            Checked::Skipped(why) => {
                r.action = "skipped";
                r.messages.push(why.get(en).to_string());
                None
            }
            Checked::Bad(errs) => {
                r.messages = errs.iter().map(|e| e.in_lang(en).message).collect();
                None
            }
            Checked::Forbidden(e) => {
                r.messages.push(e.in_lang(en).message);
                None
            }
            Checked::Note(n) => {
                r.action = "note";
                r.indicator = n.indicator.to_string();
                if let Some(i) = indicators.get(&n.indicator) {
                    r.name = i.name.clone();
                }
                r.period = Some(n.period.to_string());
                r.messages.push(kept_note(&n.note).get(en).to_string());
                None
            }
        };
        if let Some(b) = batch_row {
            let old = s.reading(&b.indicator, b.period)?;
            r.indicator = b.indicator.to_string();
            r.name = indicators
                .get(&b.indicator)
                .map(|i| i.name.clone())
                .unwrap_or_default();
            r.period = Some(b.period.display_as(b.input.form));
            r.new = Some(b.input.value);
            r.old = old.as_ref().map(|o| o.value);
            r.revision = old.as_ref().map(|o| o.revision);
            if r.action != "failed_checks" {
                r.action = match &old {
                    None => "created",
                    Some(o) if o.same_as(&b.input) => "unchanged",
                    Some(_) => "replaced",
                };
            }
            h.update(format!("{}\0{}\0{:?}\0", b.indicator, b.period, r.revision));
            p.expected.push((b.indicator.clone(), b.period, r.revision));
        }
        match r.action {
            "created" => p.created += 1,
            "replaced" => p.replaced += 1,
            "unchanged" => p.unchanged += 1,
            "skipped" => p.skipped += 1,
            "failed_checks" => p.failed_checks += 1,
            "note" => p.notes += 1,
            _ => p.errors += 1,
        }
        p.rows.push(r);
    }
    p.confirm = hex::encode(&h.finalize()[..16]);
    Ok(p)
}

/// The longest `Idempotency-Key`, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// The stored key of an `Idempotency-Key`: any visible UTF-8 (letters of any script,
/// digits, punctuation, inner spaces) of 1 to [`MAX_IDEMPOTENCY_KEY_CHARS`] characters.
/// Anything else is refused, never dropped: a retry whose key was silently ignored
/// would be stored twice.
fn idempotency_key(token: &Token, raw: &[u8]) -> Result<Vec<u8>, ApiError> {
    let refuse = |why: &str| {
        ApiError::invalid(
            "Idempotency-Key",
            format!(
                "Idempotency-Key {why}; it must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible characters (UTF-8)"
            ),
        )
    };
    let key = std::str::from_utf8(raw).map_err(|_| refuse("is not UTF-8"))?;
    if key.trim().is_empty() {
        return Err(refuse("is empty"));
    }
    if key.trim() != key {
        return Err(refuse("begins or ends with a space"));
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(refuse("is too long"));
    }
    if let Some(c) = key
        .chars()
        .find(|c| c.is_control() || crate::domain::text::is_disguising(*c).is_some())
    {
        return Err(refuse(&format!(
            "holds the invisible character U+{:04X}",
            c as u32
        )));
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

/// The indicators a batch's rows name, each row resolved once.
pub(super) struct Resolved {
    /// Every indicator some row names, by id.
    pub(super) indicators: HashMap<IndicatorId, Indicator>,
    /// Each decoded row's indicator, or why it names none, by row number.
    pub(super) rows: HashMap<usize, Result<IndicatorId, RowError>>,
}

/// Resolves the indicator of every decoded row: an id that exists, else a 指标名称
/// among the indicators of the row's 地区, or of the token's region when the row names
/// none (the home region for an admin). Indicators are read one by one (a batch
/// touches a few of them, while the catalogue may hold a province's hundred thousand);
/// names go through the query layer's index, built once per store change.
fn resolve_indicators(
    qs: &Queries,
    token: &Token,
    rows: &ingest::Rows,
) -> Result<Resolved, ApiError> {
    let home = qs.store().home_region()?;
    let region = match token.role {
        Role::Admin => home,
        Role::Submitter | Role::Reader => token_region(token, &home),
    };
    let mut resolver = qs.resolver(region);
    // Rows that name the same indicator the same way are resolved once.
    let mut seen: HashMap<(&str, Option<&str>), Result<IndicatorId, Refusal>> = HashMap::new();
    let mut out = Resolved {
        indicators: HashMap::new(),
        rows: HashMap::new(),
    };
    for raw in rows.iter().flatten() {
        if looks_like_formula(&raw.indicator) {
            continue; // refused as a formula, never looked up
        }
        let key = (raw.indicator.as_str(), raw.region.as_deref());
        let found = match seen.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let found = resolver
                    .resolve(&raw.indicator, raw.region.as_deref())?
                    .map(|ind| {
                        let id = ind.id.clone();
                        out.indicators.insert(id.clone(), ind);
                        id
                    });
                e.insert(found)
            }
        };
        let found = match found {
            Ok(id) => Ok(id.clone()),
            Err(r) => Err(RowError::said(raw.row, r.field, r.message.clone())),
        };
        out.rows.insert(raw.row, found);
    }
    Ok(out)
}

/// Runs the quality checks over a batch's valid rows, in order: a row is checked
/// against the store and against the rows before it in the batch. A row refused by
/// them becomes [`Checked::Failed`]; one stored flagged carries its note.
fn vet_rows(
    readings: &dyn SeriesRead,
    indicators: &HashMap<IndicatorId, Indicator>,
    checked: Vec<(usize, Checked)>,
) -> Result<Vec<(usize, Checked)>, ApiError> {
    let mut vetter = Vetter::new(readings);
    let mut out = Vec::with_capacity(checked.len());
    for (raw_row, c) in checked {
        let c = vet_row(&mut vetter, indicators, raw_row, c)?;
        out.push((raw_row, c));
    }
    Ok(out)
}

/// [`vet_rows`] for one row; rows that are not valid pass through.
fn vet_row(
    vetter: &mut Vetter<'_>,
    indicators: &HashMap<IndicatorId, Indicator>,
    raw_row: usize,
    c: Checked,
) -> Result<Checked, ApiError> {
    let Checked::Good(mut row, explanation) = c else {
        return Ok(c);
    };
    let Some(ind) = indicators.get(&row.indicator) else {
        return Ok(Checked::Good(row, explanation));
    };
    match vetter.vet(ind, &row, explanation.as_deref())?.into_result() {
        Ok(q) => {
            row.quality = q;
            Ok(Checked::Good(row, explanation))
        }
        Err(findings) => Ok(Checked::Failed(
            row,
            findings.iter().map(|f| finding_error(raw_row, f)).collect(),
        )),
    }
}

/// Rows refused as `kind`.
fn refused(
    kind: RowsProblem,
    detail: crate::domain::messages::Msg,
    errors: Vec<RowError>,
) -> ApiError {
    ApiError::Rows {
        kind,
        detail,
        errors,
    }
}

/// Sorts checked rows into an answer: refused (400/403/422, nothing written) or ready
/// to be written in one transaction, with the idempotency answer stored beside them.
fn write_batch(
    ctx: &Ctx,
    sub: &Submission,
    indicators: &HashMap<IndicatorId, Indicator>,
    named: &HashMap<usize, String>,
    checked: Vec<(usize, Checked)>,
    expect: Vec<(IndicatorId, crate::domain::Period, Option<u32>)>,
) -> Result<Batch, ApiError> {
    let (token, atomic) = (&sub.token, sub.atomic);
    let en = sub.lang.is_en();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let mut forbidden = Vec::new();
    let mut failed = Vec::new();
    let mut skipped: Vec<(usize, Msg)> = Vec::new();
    let mut notes: Vec<(usize, NoteRow)> = Vec::new();
    for (raw_row, r) in checked {
        match r {
            Checked::Note(n) => notes.push((raw_row, n)),
            Checked::Good(b, _) => good.push((raw_row, b)),
            Checked::Skipped(why) => skipped.push((raw_row, why)),
            Checked::Bad(e) => errors.extend(e),
            Checked::Forbidden(e) => forbidden.push(e),
            Checked::Failed(_, e) => failed.extend(e),
        }
    }
    if atomic && !forbidden.is_empty() {
        return Err(refused(
            RowsProblem::Forbidden,
            Msg::new(
                format!(
                    "有{}行不属于令牌“{}”负责的单位，本批均未写入",
                    forbidden.len(),
                    token.name
                ),
                format!(
                    "{} row(s) are outside the units of token '{}'; nothing was written",
                    forbidden.len(),
                    token.name
                ),
            ),
            forbidden,
        ));
    }
    if good.is_empty()
        && notes.is_empty()
        && errors.is_empty()
        && failed.is_empty()
        && !forbidden.is_empty()
    {
        // Nothing but rows the token may not write: that is a 403, atomic or not.
        return Err(refused(
            RowsProblem::Forbidden,
            Msg::new(
                format!("每一行都不属于令牌“{}”负责的单位，均未写入", token.name),
                format!(
                    "every row is outside the units of token '{}'; nothing was written",
                    token.name
                ),
            ),
            forbidden,
        ));
    }
    let nothing_good = good.is_empty() && notes.is_empty();
    if errors.is_empty() && !failed.is_empty() && (atomic || nothing_good) {
        // Well-formed, refused only by quality checks: 422, in the same row shape.
        let rows: BTreeSet<usize> = failed.iter().map(|e| e.row).collect();
        return Err(refused(
            RowsProblem::FailedChecks,
            Msg::new(
                format!(
                    "有{}行未通过数据审核，本批均未写入。errors 逐条列出未通过的审核（行号、列、审核项、说明）；数据确实无误的，请在该行填写强制上报说明后重新提交，数据将带标记保存",
                    rows.len()
                ),
                format!(
                    "{} row(s) failed quality checks; nothing was written. Each failed check is listed in errors as {{row, field, check, message}}; add an explanation (强制上报说明) to a row to store it flagged",
                    rows.len()
                ),
            ),
            failed,
        ));
    }
    errors.extend(forbidden);
    errors.extend(failed);
    errors.sort_by_key(|e| e.row);
    if (atomic || nothing_good) && !errors.is_empty() {
        return Err(refused(
            RowsProblem::Invalid,
            Msg::new(
                format!(
                    "有{}处错误，本批均未写入。errors 逐条列出（行号、列、说明），请改正后重新提交",
                    errors.len()
                ),
                format!(
                    "{} bad row(s); nothing was written. Each is listed in errors as {{row, field, message}}",
                    errors.len()
                ),
            ),
            errors,
        ));
    }
    if nothing_good && errors.is_empty() {
        // Every row left out: a 200 with `created: 0` would read as done.
        let layout = ingest::layout::layout(sub.format, sub.charset, &sub.body, &ctx.cancel);
        return Err(refused(
            RowsProblem::NothingStored,
            ingest::layout::nothing_stored(skipped.len(), layout.as_ref()),
            skipped
                .into_iter()
                .map(|(row, why)| RowError::said(row, "value", why))
                .collect(),
        ));
    }
    let skipped_rows: Vec<SkippedRow> = skipped
        .iter()
        .map(|(row, why)| SkippedRow {
            row: *row,
            indicator: named.get(row).cloned().unwrap_or_default(),
            reason: why.get(en).to_string(),
        })
        .collect();
    let errors: Vec<RowError> = errors.iter().map(|e| e.in_lang(en)).collect();
    let now = ctx.clock.now();
    let batch: Vec<BatchRow> = good.iter().map(|(_, b)| b.clone()).collect();
    let note_rows: Vec<NoteRow> = notes.iter().map(|(_, n)| n.clone()).collect();
    let names = good
        .iter()
        .map(|(_, b)| &b.indicator)
        .chain(notes.iter().map(|(_, n)| &n.indicator))
        .filter_map(|id| indicators.get(id).map(|i| (id.clone(), i.name.clone())))
        .collect();
    let written = std::sync::Arc::new(Written {
        atomic,
        names,
        skipped: skipped_rows,
        good,
        notes,
        errors,
        fingerprint: sub.fingerprint.clone(),
    });
    let idempotency = sub.idem.clone().map(|k| {
        let w = written.clone();
        let answer: AnswerFn = Box::new(move |results: &[(Outcome, Reading)]| w.stored(results));
        (k, answer)
    });
    let write = ReadingWrite {
        rows: batch,
        notes: note_rows,
        actor: token.name.clone(),
        now,
        idempotency,
        expect,
        recheck: None,
    };
    Ok(Batch::Ready(write, written, Default::default()))
}

/// The rows of a batch about to be written, and what its answer reports beside them.
struct Written {
    atomic: bool,
    /// The names of the indicators of the rows.
    names: HashMap<IndicatorId, String>,
    skipped: Vec<SkippedRow>,
    /// The rows written, with their numbers in the body.
    good: Vec<(usize, BatchRow)>,
    /// The rows kept as notes.
    notes: Vec<(usize, NoteRow)>,
    /// The rows refused (only when the batch is not atomic).
    errors: Vec<RowError>,
    /// The request's [`fingerprint`], stored with an idempotent answer.
    fingerprint: String,
}

impl Written {
    /// The answer, from the outcome of each good row.
    fn answer(&self, results: &[(Outcome, Reading)]) -> BatchAnswer {
        let mut a = BatchAnswer {
            atomic: self.atomic,
            created: 0,
            replaced: 0,
            unchanged: 0,
            skipped: self.skipped.len(),
            skipped_rows: self.skipped.clone(),
            rejected: self.errors.len(),
            rows: Vec::with_capacity(results.len()),
            errors: self.errors.to_vec(),
            notes: self.notes.len(),
            noted_rows: self
                .notes
                .iter()
                .map(|(row, n)| NotedRow {
                    row: *row,
                    indicator: n.indicator.to_string(),
                    name: self.names.get(&n.indicator).cloned().unwrap_or_default(),
                    period: n.period.to_string(),
                    note: n.note.clone(),
                })
                .collect(),
        };
        for ((row, b), (outcome, reading)) in self.good.iter().zip(results) {
            match outcome {
                Outcome::Created => a.created += 1,
                Outcome::Replaced => a.replaced += 1,
                Outcome::Unchanged => a.unchanged += 1,
            }
            a.rows.push(RowResult {
                row: *row,
                indicator: b.indicator.to_string(),
                name: self.names.get(&b.indicator).cloned().unwrap_or_default(),
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
    }

    /// The answer as stored under the batch's Idempotency-Key, for a retry to replay.
    fn stored(&self, results: &[(Outcome, Reading)]) -> Vec<u8> {
        let body = serde_json::to_vec(&self.answer(results)).unwrap_or_default();
        codec::encode(&StoredAnswer {
            fingerprint: self.fingerprint.clone(),
            status: 200,
            body,
        })
        .unwrap_or_default()
    }
}
