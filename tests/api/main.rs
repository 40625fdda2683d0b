//! Integration tests: each starts the real server on port 0 with a temporary store.
//! One binary for all of them, so the crate is linked once.

#[path = "../common/mod.rs"]
mod common;
mod helpers;
#[path = "../common/xlsx_bomb.rs"]
mod xlsx_bomb;

mod alerts;
mod bad_input;
mod batch;
mod batch_names;
mod bulletin_settings;
mod calendar;
mod catalogue;
mod clerk;
mod compare;
mod docs;
mod hostile;
mod ingest_caps;
mod limits;
mod lists;
mod login;
mod methodology;
mod misleading_input;
mod notify;
mod openapi;
mod outbound;
mod pages;
mod plans;
mod readings;
mod release;
mod restart;
mod roles;
mod submit_pages;
mod vintages;
