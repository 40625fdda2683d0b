//! The HTTP API (v1), on warp.
//!
//! One filter function per route, each documented with its method and path, grouped by
//! resource: [`indicators`], [`readings`], [`attainment`] (with alerts and the
//! summary) and [`tokens`]. Every filter ends in [`error::reply`], so a handler's
//! `Err(ApiError)` and warp's own rejections both come out as `application/problem+json`.
//!
//! Handlers validate everything (ids, periods, bodies, query parameters) before they
//! touch the store, so a rejected request writes nothing. Store calls block, so they run
//! on `spawn_blocking`; writes then await group commit before the 2xx, and only then
//! notify alert streams.

pub mod admin;
pub mod attainment;
mod auth;
mod cache;
pub mod calendar;
pub mod compare;
mod csv;
pub mod error;
pub(crate) mod filters;
pub mod indicators;
pub(crate) mod input;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod readings;
mod reply;
mod routes;
mod state;
pub mod tokens;
pub mod webhooks;

pub use error::ApiError;
pub use input::parse_reading_body;
pub use routes::{allowed_methods, healthz, route_pattern, routes, serve, PAGES, ROUTES};
pub use state::{Clock, Context, Ctx, Throttle, MAX_BATCH_BODY, MAX_BODY};

/// Declares a route's typed query parameters (see `filters::Params`).
pub(crate) use crate::__zhibiao_api_params as params;

// The pieces route modules share, reachable as `super::…` from each of them.
use auth::*;
use filters::*;
use input::*;
use reply::*;
