//! Sign-in for people: the 登录 page takes a token once and the browser keeps a
//! session in a cookie; the pages and their own form routes read it, `/v1/*` never does.
//!
//! - **The session.** `POST /login` checks the token as a bearer token is checked (by
//!   the hash of its secret, counting wrong ones against the client's address in the
//!   same throttle) and stores a [`SessionRecord`] under the SHA-256 of a new random
//!   256-bit id; only the browser has the id, in `zhibiao_session` (`HttpOnly;
//!   SameSite=Strict; Path=/`, `Secure` when the request came over HTTPS through a
//!   `--trust-proxy`). A session ends after [`IDLE`] without use, [`ABSOLUTE`] after
//!   sign-in, at `POST /logout`, or when its token is revoked or replaced: every use
//!   looks the token up again by its hash.
//! - **CSRF.** A form post of a page ([`csrf`]) needs, from its headers alone and so
//!   before its body is read: `Sec-Fetch-Site` absent or `same-origin`, `Origin`
//!   absent or this server's own, and `X-CSRF-Token` equal to the session's secret
//!   (compared in constant time). A cross-site form cannot set a header; the pages'
//!   script (`/assets/session.js`) sends it. `POST /login` has no session yet, so it
//!   checks the origin only.
//! - **Pages.** [`session`] gives a page handler the signed-in person, if any;
//!   [`require_session`] sends a signed-out browser to `/login?next=…` (303).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};
use warp::{Filter, Rejection, Reply};

use super::access::Who;
use super::body::Body;
use super::filters::{params, read, with_ctx, write, Req, Resp};
use super::input::text;
use super::state::AccountLocks;
use super::state::Ctx;
use super::ApiError;
use crate::domain::messages::Msg;
use crate::report::web;
use crate::store::{hash_secret, AccessAction, Role, SessionRecord, Token};

/// The cookie that carries the session id.
pub const COOKIE: &str = "zhibiao_session";
/// A session unused this long is over: a clerk who leaves the office for the night
/// signs in again in the morning.
pub const IDLE: chrono::Duration = chrono::Duration::hours(8);
/// A session is over this long after sign-in, used or not: a working day, so a
/// cookie taken from a shared machine is worth at most that.
pub const ABSOLUTE: chrono::Duration = chrono::Duration::hours(12);
/// How stale `last_seen` may get before a use writes it again: a page load does not
/// write to the store every time.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(5);
/// Largest body of `POST /login`: one token in a form.
const LOGIN_BODY: u64 = 4 * 1024;

/// A signed-in browser: its token as it stands now, and its CSRF secret.
#[derive(Debug, Clone)]
pub struct Session {
    key: [u8; 32],
    pub token: Token,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
}

impl Session {
    /// Who is signed in, as a page says it: `kgj（填报员，负责单位：县科工局）`.
    pub fn who(&self) -> String {
        let t = &self.token;
        let mut parts = vec![role_zh(t.role).to_string()];
        if !t.units.is_empty() {
            parts.push(format!("负责单位：{}", t.units.join("、")));
        }
        if !t.region.is_empty() {
            parts.push(format!("地区：{}", t.region));
        }
        format!("{}（{}）", t.name, parts.join("，"))
    }
}

/// A role as a clerk calls it.
pub fn role_zh(r: Role) -> &'static str {
    match r {
        Role::Admin => "管理员",
        Role::Submitter => "填报员",
        Role::Reader => "查阅员",
    }
}

// ── the request as the session code reads it ─────────────────────────────

/// The headers and peer address of a request: what sessions, CSRF and the cookie's
/// `Secure` flag are judged on.
#[derive(Debug, Clone)]
pub(super) struct Browser {
    headers: HeaderMap,
    remote: Option<IpAddr>,
}

pub(super) fn browser(
) -> impl Filter<Extract = (Browser,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned()
        .and(super::filters::peer())
        .map(|headers, remote| Browser { headers, remote })
}

impl Browser {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The session id the browser sent, if it has the form of one.
    fn session_id(&self) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v.trim())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// Whether the peer is one of the `--trust-proxy` addresses, whose forwarding
    /// headers are believed.
    fn via_trusted_proxy(&self, ctx: &Ctx) -> bool {
        self.remote
            .is_some_and(|ip| ctx.trusted_proxies.iter().any(|n| n.contains(ip)))
    }

    /// Whether the browser reached us over HTTPS. zhibiao serves plain HTTP, so only
    /// a trusted proxy can say so: `X-Forwarded-Proto: https`, or `proto=https` in the
    /// nearest `Forwarded` element.
    pub(super) fn https(&self, ctx: &Ctx) -> bool {
        if !self.via_trusted_proxy(ctx) {
            return false;
        }
        if let Some(p) = self.header("x-forwarded-proto") {
            // The last proxy appends: the first value is what the browser used.
            return p
                .split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        }
        self.header("forwarded")
            .and_then(|f| forwarded_param(f, "proto"))
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// This server's origin as the browser sees it: scheme and host (the host a
    /// trusted proxy forwarded, else `Host`).
    fn own_origin(&self, ctx: &Ctx) -> Option<(&'static str, String)> {
        let forwarded_host = if self.via_trusted_proxy(ctx) {
            self.header("x-forwarded-host")
                .and_then(|h| h.split(',').next())
                .map(|h| h.trim().to_string())
                .or_else(|| {
                    self.header("forwarded")
                        .and_then(|f| forwarded_param(f, "host"))
                })
        } else {
            None
        };
        let host = forwarded_host.or_else(|| self.header("host").map(str::to_string))?;
        let scheme = if self.https(ctx) { "https" } else { "http" };
        Some((scheme, host.to_ascii_lowercase()))
    }

    /// The checks a form post passes on its headers before anything else: not sent
    /// by another site (`Sec-Fetch-Site`), and from this server's own origin when the
    /// browser names one (`Origin`). An `https` origin of this host is this server
    /// behind a TLS proxy not named by `--trust-proxy`: no other site can serve pages
    /// from it, so it passes too.
    pub(super) fn check_origin(&self, ctx: &Ctx) -> Result<(), ApiError> {
        if let Some(site) = self.header("sec-fetch-site") {
            if !site.eq_ignore_ascii_case("same-origin") {
                return Err(ApiError::Forbidden(Msg::new(
                    format!("请求来自其他网站（Sec-Fetch-Site: {site}），已拒绝：请在本系统的页面上操作"),
                    format!("refused: the request was sent by another site (Sec-Fetch-Site: {site}); use zhibiao's own pages"),
                )));
            }
        }
        if let Some(origin) = self.headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
            let own = self.own_origin(ctx);
            let ok = own.as_ref().is_some_and(|(scheme, host)| {
                origin
                    .split_once("://")
                    .is_some_and(|(s, h)| h == host && (s == *scheme || s == "https"))
            });
            if !ok {
                let own = own.map_or_else(|| "?".into(), |(s, h)| format!("{s}://{h}"));
                return Err(ApiError::Forbidden(Msg::new(
                    format!("请求来源“{origin}”不是本站（{own}），已拒绝：请在本系统的页面上操作"),
                    format!("refused: the request's origin '{origin}' is not this server's ({own}); use zhibiao's own pages"),
                )));
            }
        }
        Ok(())
    }

    fn client(&self, ctx: &Ctx) -> Option<IpAddr> {
        super::peer::client_address(
            self.remote,
            &ctx.trusted_proxies,
            self.header("forwarded"),
            self.header("x-forwarded-for"),
        )
    }
}

/// A parameter (`proto`, `host`) of the first element of a `Forwarded` header.
fn forwarded_param(h: &str, name: &str) -> Option<String> {
    h.split(',').next()?.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

// ── sessions ──────────────────────────────────────────────────────────────

/// What the store keys a session by: the SHA-256 of its id, never the id.
fn key_of(id: &str) -> [u8; 32] {
    hash_secret(id)
}

/// 32 random bytes, hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex::encode(bytes)
}

fn expired(rec: &SessionRecord, now: DateTime<Utc>) -> bool {
    now - rec.last_seen >= IDLE || now - rec.created_at >= ABSOLUTE || now < rec.created_at
}

/// The browser's session, if it sent a live one. A session that has expired, or whose
/// token is gone, is removed and reads as none. A few point reads by key, on the async
/// worker.
pub(super) fn lookup(ctx: &Ctx, b: &Browser) -> Result<Option<Session>, ApiError> {
    let Some(id) = b.session_id() else {
        return Ok(None);
    };
    let key = key_of(id);
    let now = ctx.clock.now();
    ctx.inline(|qs| {
        let s = qs.store();
        let Some(mut rec) = s.session(&key)? else {
            return Ok(None);
        };
        if expired(&rec, now) {
            s.delete_session(&key)?;
            return Ok(None);
        }
        let token = match rec.user_stamp {
            // A person: the user as they stand now, while the password is unchanged.
            Some(stamp) => s
                .user(&rec.token_name)?
                .filter(|u| u.stamp == stamp)
                .map(|u| user_token(&u)),
            None => {
                let hash: Option<[u8; 32]> = rec.token_hash.as_slice().try_into().ok();
                match hash {
                    Some(h) => s.token_by_hash(&h)?,
                    None => None,
                }
            }
        };
        let Some(token) = token.filter(|t| t.name == rec.token_name) else {
            // Revoked or replaced: the session goes with it.
            s.delete_session(&key)?;
            return Ok(None);
        };
        if now - rec.last_seen >= TOUCH_EVERY {
            rec.last_seen = now;
            s.put_session(&key, &rec)?;
        }
        Ok(Some(Session {
            key,
            token,
            csrf: rec.csrf,
            created_at: rec.created_at,
        }))
    })
}

/// What a person signed in with a password may do, as a token: their role, units and
/// region, with no secret (an empty hash, which no bearer token can match).
pub(super) fn user_token(u: &crate::store::User) -> Token {
    Token {
        name: u.name.clone(),
        role: u.role,
        units: u.units.clone(),
        hash: String::new(),
        created_at: u.created_at,
        region: u.region.clone(),
    }
}

/// The signed-in person of a page request, if any.
pub(super) fn session(
    ctx: Ctx,
) -> impl Filter<Extract = (Option<Session>,), Error = Rejection> + Clone {
    browser()
        .and(with_ctx(ctx))
        .and_then(
            |b: Browser, ctx: Ctx| async move { lookup(&ctx, &b).map_err(warp::reject::custom) },
        )
}

/// A signed-out browser asking for a page that needs a sign-in: answered with a 303 to
/// the 登录 page, which brings it back to `next` afterwards.
#[derive(Debug)]
pub(super) struct SignInFirst {
    next: String,
}

impl warp::reject::Reject for SignInFirst {}

impl SignInFirst {
    pub(super) fn new(path: &str, query: &str) -> SignInFirst {
        let next = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        SignInFirst { next }
    }

    pub(super) fn to_response(&self) -> Resp {
        let next = safe_next(Some(&self.next));
        let location = if next == "/" {
            "/login".to_string()
        } else {
            format!(
                "/login?next={}",
                percent_encoding::utf8_percent_encode(&next, QUERY_VALUE)
            )
        };
        redirect(&location)
    }
}

/// Characters left as they are in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'/');

/// The signed-in person, for a page that needs one; a signed-out browser is sent to
/// the 登录 page.
#[cfg_attr(not(test), allow(dead_code))] // for the pages that need a sign-in (数据报送)
pub(super) fn require_session(
    ctx: Ctx,
) -> impl Filter<Extract = (Session,), Error = Rejection> + Clone {
    warp::path::full()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(session(ctx))
        .and_then(
            |path: warp::path::FullPath, query: String, s: Option<Session>| async move {
                s.ok_or_else(|| warp::reject::custom(SignInFirst::new(path.as_str(), &query)))
            },
        )
}

/// The CSRF check of a page's form post, from its headers alone: the origin checks,
/// a live session, and `X-CSRF-Token` equal to the session's secret. Yields the
/// session; refuses with 403 before the body is touched.
pub(super) fn csrf(ctx: Ctx) -> impl Filter<Extract = (Session,), Error = Rejection> + Clone {
    browser()
        .and(with_ctx(ctx))
        .and_then(|b: Browser, ctx: Ctx| async move {
            check_csrf(&ctx, &b).map_err(warp::reject::custom)
        })
}

fn check_csrf(ctx: &Ctx, b: &Browser) -> Result<Session, ApiError> {
    b.check_origin(ctx)?;
    let Some(s) = lookup(ctx, b)? else {
        return Err(ApiError::Forbidden(Msg::new(
            "未登录或登录已过期，请重新登录后再提交",
            "not signed in, or the session has expired: sign in again, then send it again",
        )));
    };
    let Some(sent) = b.headers.get("x-csrf-token") else {
        return Err(ApiError::Forbidden(Msg::new(
            "请求缺少 X-CSRF-Token 请求头，已拒绝：请在本系统的页面上提交（页面需启用脚本）",
            "refused: the request has no X-CSRF-Token header; send the form from zhibiao's own page (with its script on)",
        )));
    };
    if !bool::from(sent.as_bytes().ct_eq(s.csrf.as_bytes())) {
        return Err(ApiError::Forbidden(Msg::new(
            "X-CSRF-Token 与当前登录不符，已拒绝：请刷新页面后重试",
            "refused: X-CSRF-Token does not match this session; reload the page and try again",
        )));
    }
    Ok(s)
}

// ── answers ───────────────────────────────────────────────────────────────

/// Where a sign-in may send the browser: a path of this site (`/…`, not `//…` or
/// `/\…`, which browsers read as another host), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 2048
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn redirect(location: &str) -> Resp {
    let mut res = Resp::new(Default::default());
    *res.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn html(status: StatusCode, page: String) -> Resp {
    let mut res = Resp::new(page.into());
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The session cookie; `None` clears it.
fn cookie(id: Option<&str>, secure: bool) -> HeaderValue {
    let (value, age) = match id {
        Some(id) => (id, ABSOLUTE.num_seconds()),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}"
    ))
    .expect("a cookie of hex digits is a valid header")
}

/// Who a page is rendered for: the person signed in, worded, with the CSRF token the
/// page's forms send (the page then shows who, and 退出). Signed out, none: the page is
/// the same for everyone.
pub(super) fn viewer(s: Option<&Session>) -> Option<web::Viewer> {
    s.map(|s| web::Viewer {
        who: s.who(),
        csrf: s.csrf.clone(),
    })
}

/// A signed-in page holds its session's CSRF token: no cache may keep it.
pub(super) fn private_answer(s: Option<&Session>, res: &mut Resp) {
    if s.is_some() {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
}

// ── routes ────────────────────────────────────────────────────────────────

super::params! {
    /// `GET /login` and `POST /login`
    struct LoginParams {
        next: Option<String> = text,
    }
}

/// GET /login?next=
///
/// The 登录 page: one password field for the token.
pub fn login_page(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("login")
        .and(read(ctx.clone()))
        .and(params::<LoginParams>())
        .and(session(ctx))
        .then(login_page_handler)
        .map(Reply::into_response)
}

async fn login_page_handler(
    _ctx: Ctx,
    _req: Req,
    p: Result<LoginParams, ApiError>,
    s: Option<Session>,
) -> Result<Resp, ApiError> {
    let next = safe_next(p?.next.as_deref());
    let who = s.as_ref().map(Session::who);
    Ok(html(
        StatusCode::OK,
        web::login_page(&web::LoginView {
            next: &next,
            error: None,
            signed_in_as: who.as_deref(),
        }),
    ))
}

/// POST /login?next=
///
/// Form `token=…` (`application/x-www-form-urlencoded`). A good token opens a session:
/// 303 to `next` (a path of this site, else `/`) with the cookie. A wrong one answers
/// the page again with why (401), and counts against the address like a wrong bearer
/// token (429 once over the limit). The origin is checked before the body is read.
pub fn login(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("login")
        .and(warp::post())
        .and(browser())
        .and(write(ctx, LOGIN_BODY))
        .and(params::<LoginParams>())
        .then(login_handler)
        .map(Reply::into_response)
}

async fn login_handler(
    b: Browser,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<LoginParams, ApiError>,
) -> Result<Resp, ApiError> {
    b.check_origin(&ctx)?;
    let next = safe_next(p?.next.as_deref());
    let form = req
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| {
            c.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::UnsupportedMediaType(Msg::new(
            "登录表单应以 application/x-www-form-urlencoded 提交",
            "the sign-in form is sent as application/x-www-form-urlencoded",
        )));
    }
    let bytes = body.read().await?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
        ApiError::invalid(
            "body",
            Msg::new("登录表单无法读取", "the form cannot be read"),
        )
    })?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    let secret = field("token").trim().to_string();
    let user_name = field("name").trim().to_string();
    let password = field("password");
    let again = |status: StatusCode, error: Msg| {
        let en = super::lang::current().is_en();
        html(
            status,
            web::login_page(&web::LoginView {
                next: &next,
                error: Some(error.get(en)),
                signed_in_as: None,
            }),
        )
    };
    if secret.is_empty() && !user_name.is_empty() {
        return user_login(&ctx, &b, &user_name, &password, &next, again).await;
    }
    if secret.is_empty() {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            Msg::new(
                "请填写用户名和密码（或令牌）",
                "enter your name and password (or a token)",
            ),
        ));
    }
    let hash = hash_secret(&secret);
    let token = ctx.inline(|qs| Ok(qs.store().token_by_hash(&hash)?))?;
    let Some(token) = token else {
        if let Some(ip) = b.client(&ctx) {
            if let Some(retry) = ctx.throttle.blocked(ip) {
                crate::limits::refused(crate::limits::Cap::AuthThrottle);
                let mut res = again(
                    StatusCode::TOO_MANY_REQUESTS,
                    Msg::new(
                        format!("此地址输错令牌的次数过多，请{retry}秒后再试"),
                        format!("too many wrong tokens from this address; try again in {retry} s"),
                    ),
                );
                if let Ok(v) = retry.to_string().parse() {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Ok(res);
            }
            ctx.throttle.fail(ip);
        }
        let mut res = again(
            StatusCode::UNAUTHORIZED,
            Msg::new(
                "令牌不正确，或已被吊销：请核对后重新输入，或向县统计局（管理员）索取新令牌",
                "the token is wrong or has been revoked: check it, or ask the county statistics bureau (the administrator) for a new one",
            ),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"zhibiao\""),
        );
        Who::named(String::new(), b.client(&ctx)).record(
            &ctx,
            AccessAction::SignInFailed,
            "令牌不正确",
        )?;
        return Ok(res);
    };
    Who::named(super::access::label(&token), b.client(&ctx)).record(
        &ctx,
        AccessAction::SignIn,
        "令牌登录",
    )?;
    open_session(&ctx, &b, &token, None, &next).await
}

/// Opens a session for `token` (a person's, with their stamp, or a token's): 303 to
/// `next` with the cookie.
async fn open_session(
    ctx: &Ctx,
    b: &Browser,
    token: &Token,
    user_stamp: Option<u64>,
    next: &str,
) -> Result<Resp, ApiError> {
    let now = ctx.clock.now();
    let id = random_hex();
    let key = key_of(&id);
    let rec = SessionRecord {
        token_name: token.name.clone(),
        token_hash: token.hash_bytes(),
        role: token.role,
        units: token.units.clone(),
        region: token.region.clone(),
        created_at: now,
        last_seen: now,
        csrf: random_hex(),
        user_stamp,
    };
    // A session this browser had before is replaced, not left behind.
    let old = b.session_id().map(key_of);
    ctx.blocking(move |qs| {
        let s = qs.store();
        if let Some(old) = old {
            s.delete_session(&old)?;
        }
        s.prune_sessions(|r| expired(r, now))?;
        s.put_session(&key, &rec)?;
        Ok(())
    })
    .await?;
    tracing::info!(who = %super::access::label(token), "signed in");
    let mut res = redirect(next);
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie(Some(&id), b.https(ctx)));
    Ok(res)
}

/// A person's sign-in with a name and password. A wrong password counts against the
/// account (locked after [`AccountLocks::LIMIT`] within its window, whatever the
/// address) and against the address, in the same throttle as wrong tokens; every
/// attempt is in the access log.
async fn user_login(
    ctx: &Ctx,
    b: &Browser,
    name: &str,
    password: &str,
    next: &str,
    again: impl Fn(StatusCode, Msg) -> Resp,
) -> Result<Resp, ApiError> {
    let now = ctx.clock.now();
    let ip = b.client(ctx);
    let log = Who::named(format!("user:{name}"), ip);
    let refuse = |retry: u64, msg: Msg| {
        let mut res = again(StatusCode::TOO_MANY_REQUESTS, msg);
        if let Ok(v) = retry.to_string().parse() {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    };
    if let Some(retry) = ip.and_then(|ip| ctx.throttle.blocked(ip)) {
        crate::limits::refused(crate::limits::Cap::AuthThrottle);
        log.record(ctx, AccessAction::SignInFailed, "此地址尝试次数过多")?;
        return Ok(refuse(
            retry,
            Msg::new(
                format!("此地址登录失败次数过多，请{retry}秒后再试"),
                format!("too many failed sign-ins from this address; try again in {retry} s"),
            ),
        ));
    }
    if let Some(until) = ctx.accounts.locked_until(name, now) {
        let retry = (until - now).num_seconds().max(1) as u64;
        let minutes = retry.div_ceil(60);
        log.record(ctx, AccessAction::SignInFailed, "账户已锁定")?;
        return Ok(refuse(
            retry,
            Msg::new(
                format!("此账户密码连续输错{}次，已锁定，请{minutes}分钟后再试，或请管理员重置密码", AccountLocks::LIMIT),
                format!("this account is locked after {} wrong passwords; try again in {minutes} min, or ask an admin to reset the password", AccountLocks::LIMIT),
            ),
        ));
    }
    let n = name.to_string();
    let user = ctx.inline(|qs| Ok(qs.store().user(&n)?))?;
    let pw = password.to_string();
    let phc = user.as_ref().map_or_else(
        || super::users::decoy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let right = ctx
        .blocking(move |_| Ok(super::users::verify_password(&phc, &pw)))
        .await?;
    let Some(user) = user.filter(|_| right) else {
        ctx.accounts.fail(name, now);
        if let Some(ip) = ip {
            ctx.throttle.fail(ip);
        }
        log.record(ctx, AccessAction::SignInFailed, "用户名或密码不正确")?;
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            Msg::new(
                "用户名或密码不正确；连续输错5次账户将锁定15分钟",
                "wrong name or password; 5 wrong passwords in a row lock the account for 15 minutes",
            ),
        ));
    };
    ctx.accounts.clear(name);
    log.record(ctx, AccessAction::SignIn, "密码登录")?;
    open_session(ctx, b, &user_token(&user), Some(user.stamp), next).await
}

/// POST /logout (CSRF-checked)
///
/// Ends the session and clears the cookie: 303 to the 登录 page.
pub fn logout(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("logout")
        .and(warp::post())
        .and(csrf(ctx.clone()))
        .and(browser())
        .and(with_ctx(ctx))
        .then(logout_handler)
        .map(Reply::into_response)
}

async fn logout_handler(s: Session, b: Browser, ctx: Ctx) -> Result<Resp, ApiError> {
    let key = s.key;
    Who::named(super::access::label(&s.token), b.client(&ctx)).record(
        &ctx,
        AccessAction::SignOut,
        "",
    )?;
    ctx.blocking(move |qs| Ok(qs.store().delete_session(&key)?))
        .await?;
    let mut res = redirect("/login");
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie(None, b.https(&ctx)));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_of_this_site_or_the_dashboard() {
        for (given, want) in [
            (None, "/"),
            (
                Some("/indicators/a?as_of=2023-06"),
                "/indicators/a?as_of=2023-06",
            ),
            // Another host, however spelled.
            (Some("//evil.example"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("evil"), "/"),
            (Some("/a\nb"), "/"),
        ] {
            assert_eq!(safe_next(given), want, "{given:?}");
        }
    }

    #[test]
    fn the_cookie_has_its_flags_and_clearing_it_expires_it() {
        let c = cookie(Some("ab"), false);
        assert_eq!(
            c.to_str().unwrap(),
            "zhibiao_session=ab; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
        );
        assert!(cookie(Some("ab"), true)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
        assert!(cookie(None, false).to_str().unwrap().contains("Max-Age=0"));
    }

    #[tokio::test]
    async fn a_page_that_needs_a_sign_in_sends_a_signed_out_browser_to_login_and_back() {
        let ctx = Ctx::new(crate::store::Store::temporary().unwrap());
        let filter = require_session(ctx);
        let refused = warp::test::request()
            .path("/upload?period=2023-06")
            .header("cookie", format!("{COOKIE}={}", "ab".repeat(32)))
            .filter(&filter)
            .await
            .expect_err("no such session");
        let res = refused
            .find::<SignInFirst>()
            .expect("a sign-in redirect")
            .to_response();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()[header::LOCATION],
            "/login?next=/upload%3Fperiod%3D2023-06"
        );
    }

    #[test]
    fn forwarded_parameters_come_from_the_nearest_element() {
        assert_eq!(
            forwarded_param("for=1.2.3.4;proto=https;host=\"a.b\", proto=http", "proto"),
            Some("https".into())
        );
        assert_eq!(
            forwarded_param("for=1.2.3.4;host=\"a.b\"", "host"),
            Some("a.b".into())
        );
        assert_eq!(forwarded_param("for=1.2.3.4", "proto"), None);
    }
}
