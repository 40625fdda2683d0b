//! Integration tests: each starts the real server on port 0 with a temporary store.
//! One binary for all of them, so the crate is linked once.

mod helpers;

mod bad_input;
mod catalogue;
mod methodology;
mod readings;
mod restart;
