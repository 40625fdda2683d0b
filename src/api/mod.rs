//! The HTTP API (v1), on warp.
//!
//! HTTP only: a route translates a request into a call of the query layer (or a write
//! through the store) and the answer back. Nothing here reads a sled tree or calls the
//! engine.
//!
//! One filter function per route, documented with its method and path, grouped by
//! resource ([`indicators`], [`readings`], [`attainment`], [`compare`], [`calendar`],
//! [`webhooks`], [`tokens`], [`pages`], [`admin`]). A filter is the path, the shared
//! `read` or `write` filter and the route's typed parameters (`params!`), then a named
//! `async fn` handler returning `Result<Resp, ApiError>`. [`ApiError`] implements warp's
//! `Reply`, so a handler's error and warp's own rejections ([`error::recover`]) both come
//! out as `application/problem+json`.
//!
//! - `state.rs`: the shared context ([`Ctx`]): store, queries, the one clock, settings.
//! - `filters.rs`: `Req`, `read`, `write`, `params` and the [`Params`](filters::Params)
//!   of each route.
//! - `input.rs`: raw request parts to validated values, errors naming the field.
//! - `reply.rs`: JSON, 201-or-200, ETags and 304s, JSON or CSV.
//! - `auth.rs`: bearer tokens, the throttle, write rights.
//! - `cache.rs`: catalogue-wide bodies rendered once per store change.
//! - `routes.rs`: the route table, the 405 fallback, private mode, `/healthz`.
//! - `server.rs`: serving the routes under connection caps and a header-read timeout.
//! - `body.rs`: request bodies, read only after the sender's rights are checked, out of
//!   a server-wide budget.
//! - `peer.rs`: the client's address, directly or through a trusted proxy.
//! - `session.rs`: sign-in for people: the 登录 page, session cookies, CSRF checks of
//!   page forms.
//! - `workers.rs`: the threads batches run on, one per core.
//!
//! Handlers validate everything (ids, periods, bodies, query parameters) before they
//! touch the store, so a rejected request writes nothing. Store calls block, so they run
//! on `spawn_blocking`; writes then await group commit before the 2xx, and only then
//! notify alert streams.

pub mod access;
pub mod admin;
pub mod attainment;
mod auth;
pub mod body;
mod cache;
pub mod calendar;
pub mod compare;
mod csv;
pub mod error;
pub(crate) mod filters;
pub mod indicators;
pub(crate) mod input;
pub mod lang;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod peer;
pub mod periods;
pub mod plans;
pub mod readings;
mod reply;
pub mod review_page;
mod routes;
pub mod server;
pub mod session;
pub mod sight;
mod stash;
mod state;
pub mod submit;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workers;

pub use error::ApiError;
pub use input::parse_reading_body;
pub use routes::{allowed_methods, healthz, route_pattern, routes, PAGES, ROUTES, SESSION_ROUTES};
pub use server::{serve, ServeLimits};
pub use sight::Publish;
pub use state::{AccountLocks, Clock, Context, Ctx, Throttle, MAX_BATCH_BODY, MAX_BODY};

/// Declares a route's typed query parameters (see `filters::Params`).
pub(crate) use crate::__zhibiao_api_params as params;

// The pieces route modules share, reachable as `super::…` from each of them.
use auth::*;
use filters::*;
use input::*;
use reply::*;
