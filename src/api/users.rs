//! Accounts for people: admins create them and reset passwords (`/v1/users`), people
//! sign in on the 登录 page with their name and password and change their own password
//! there (`/account/password`). Scripts keep using tokens.
//!
//! Passwords are hashed with argon2id (the `argon2` crate's defaults: 19 MiB, two
//! passes), each with its own random salt, as a PHC string. A new password must have at
//! least [`MIN_PASSWORD`] characters and must not be the user's name.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::access::Who;
use super::auth::require_admin;
use super::body::Body;
use super::filters::{params, read, write, NoParams, Req, Resp};
use super::indicators::json_input;
use super::reply::json;
use super::state::{Ctx, MAX_BODY};
use super::ApiError;
use crate::domain::messages::Msg;
use crate::store::{AccessAction, Role, StoreError, User};

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(e.to_string().into()))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string().into()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ApiError::Internal(e.to_string().into()))?
        .to_string())
}

/// Whether `password` is the one `phc` was made from. A hash that does not parse
/// matches nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the name is unknown, so that a wrong name takes as
/// long as a wrong password.
pub(super) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("zhibiao decoy password").unwrap_or_default())
}

/// Checks a new password for `name`.
pub fn check_password(name: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::invalid(
            "password",
            Msg::new(
                format!("密码至少{MIN_PASSWORD}个字符"),
                format!("a password has at least {MIN_PASSWORD} characters"),
            ),
        ));
    }
    if password == name {
        return Err(ApiError::invalid(
            "password",
            Msg::new(
                "密码不能与用户名相同",
                "the password must not be the user's name",
            ),
        ));
    }
    Ok(())
}

/// A new stamp for a user's sessions.
fn new_stamp() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the operating system's random source");
    u64::from_le_bytes(b)
}

/// A user as listed: no hash.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub units: Vec<String>,
    pub region: String,
    pub created_at: DateTime<Utc>,
    pub password_set_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            name: u.name.clone(),
            role: u.role,
            role_label: super::session::role_zh(u.role),
            units: u.units.clone(),
            region: u.region.clone(),
            created_at: u.created_at,
            password_set_at: u.password_set_at,
        }
    }
}

/// The body of `POST /v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    password: String,
    role: Role,
    #[serde(default)]
    units: Vec<String>,
    #[serde(default)]
    region: String,
}

/// POST /v1/users (admin)
pub fn create(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "users")
        .and(warp::post())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(create_handler)
        .map(Reply::into_response)
}

async fn create_handler(
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let admin = require_admin(&ctx, &req).await?;
    p?;
    let u: NewUser = json_input(req.content_type.as_deref(), &body.read().await?)?;
    let name = u.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            Msg::new(
                "用户名须为1至64个字符，不含控制字符",
                "a user name has 1 to 64 characters, none of them control characters",
            ),
        ));
    }
    check_password(&name, &u.password)?;
    if u.role == Role::Submitter && u.units.is_empty() {
        return Err(ApiError::invalid(
            "units",
            Msg::new(
                "填报员须指定所在单位（units），才知道能报送哪些指标",
                "a submitter needs units: they say which indicators it reports",
            ),
        ));
    }
    let now = ctx.clock.now();
    let password = u.password.clone();
    let hash = ctx.blocking(move |_| hash_password(&password)).await?;
    let region = u.region.clone();
    let user = ctx
        .blocking(move |qs| {
            let units_known = qs.store().units()?;
            let units = u
                .units
                .iter()
                .map(|x| units_known.resolve(x).to_string())
                .collect();
            if !region.is_empty() {
                qs.known_region("region", &region)?;
            }
            let user = User {
                name: name.clone(),
                role: u.role,
                units,
                region,
                password_hash: hash,
                stamp: new_stamp(),
                created_at: now,
                password_set_at: now,
            };
            qs.store().put_user(&user, true).map_err(|e| match e {
                StoreError::UserExists(n) => ApiError::Conflict(Msg::new(
                    format!("用户“{n}”已存在"),
                    format!("a user named '{n}' already exists"),
                )),
                e => e.into(),
            })?;
            Ok(user)
        })
        .await?;
    Who::of(&ctx, &req, Some(&admin)).record(&ctx, AccessAction::UserCreated, &user.name)?;
    Ok(json(StatusCode::CREATED, &UserView::from(&user)))
}

/// GET /v1/users (admin)
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "users")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(ctx: Ctx, req: Req, p: Result<NoParams, ApiError>) -> Result<Resp, ApiError> {
    require_admin(&ctx, &req).await?;
    p?;
    let users = ctx.inline(|qs| Ok(qs.store().users()?))?;
    let views: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// DELETE /v1/users/:name (admin)
pub fn remove(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "users" / String)
        .and(warp::delete())
        .and(super::filters::with_ctx(ctx))
        .and(super::filters::req())
        .and(params::<NoParams>())
        .then(remove_handler)
        .map(Reply::into_response)
}

fn no_user(name: &str) -> ApiError {
    ApiError::NotFound(Msg::new(
        format!("没有用户“{name}”（GET /v1/users 列出全部用户）"),
        format!("no user '{name}'; see GET /v1/users"),
    ))
}

async fn remove_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let admin = require_admin(&ctx, &req).await?;
    p?;
    let name = super::input::decode_segment("name", &name)?;
    let n = name.clone();
    let gone = ctx
        .blocking(move |qs| Ok(qs.store().remove_user(&n)?))
        .await?;
    if !gone {
        return Err(no_user(&name));
    }
    Who::of(&ctx, &req, Some(&admin)).record(&ctx, AccessAction::UserRemoved, &name)?;
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

/// The body of `PUT /v1/users/{name}/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// PUT /v1/users/:name/password (admin): a reset. The user's sessions end, and a lock
/// after wrong passwords is lifted.
pub fn reset(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "users" / String / "password")
        .and(warp::put())
        .and(write(ctx, MAX_BODY))
        .and(params::<NoParams>())
        .then(reset_handler)
        .map(Reply::into_response)
}

async fn reset_handler(
    name: String,
    ctx: Ctx,
    req: Req,
    body: Body,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    let admin = require_admin(&ctx, &req).await?;
    p?;
    let name = super::input::decode_segment("name", &name)?;
    let np: NewPassword = json_input(req.content_type.as_deref(), &body.read().await?)?;
    let user = set_password(&ctx, &name, &np.password).await?;
    Who::of(&ctx, &req, Some(&admin)).record(
        &ctx,
        AccessAction::PasswordChanged,
        format!("{name}（管理员重置）"),
    )?;
    Ok(json(StatusCode::OK, &UserView::from(&user)))
}

/// Sets `name`'s password: checked, hashed, with a new stamp (the sessions opened
/// before end) and the lock lifted.
pub(super) async fn set_password(ctx: &Ctx, name: &str, password: &str) -> Result<User, ApiError> {
    check_password(name, password)?;
    let n = name.to_string();
    let Some(mut user) = ctx.inline(|qs| Ok(qs.store().user(&n)?))? else {
        return Err(no_user(name));
    };
    let pw = password.to_string();
    user.password_hash = ctx.blocking(move |_| hash_password(&pw)).await?;
    user.stamp = new_stamp();
    user.password_set_at = ctx.clock.now();
    let u = user.clone();
    ctx.blocking(move |qs| Ok(qs.store().put_user(&u, false)?))
        .await?;
    ctx.accounts.clear(name);
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let h = hash_password("县统计局2023").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "县统计局2023"));
        assert!(!verify_password(&h, "县统计局2024"));
        assert!(!verify_password("not a hash", "x"));
        // Each hash has its own salt.
        assert_ne!(h, hash_password("县统计局2023").unwrap());
        assert!(check_password("zhang", "short").is_err());
        assert!(check_password("zhangsan1", "zhangsan1").is_err());
        assert!(check_password("zhang", "long enough").is_ok());
    }
}
