//! Webhook receivers: what an admin registers with `POST /v1/webhooks`.
//!
//! The receiver, its events, format and filter, and their validation are domain types
//! ([`crate::domain::webhook`]), so that the store can keep them without depending on
//! the notifier; they are re-exported here. What an answer shows of a receiver is
//! defined here: a URL only ever leaves the store through [`redact`].

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::domain::webhook::{
    redact, EventKind, Format, Webhook, WebhookError, WebhookFilter, WebhookInput, MAX_NAME,
};

/// What answers show of a receiver: the URL redacted, the secret only as present.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub name: String,
    pub url: String,
    pub format: Format,
    pub events: Vec<EventKind>,
    pub filter: WebhookFilter,
    pub signed: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> WebhookView {
        WebhookView {
            name: w.name.clone(),
            url: redact(&w.url),
            format: w.format,
            events: w.events.clone(),
            filter: w.filter.clone(),
            signed: w.secret.is_some(),
            created_at: w.created_at,
            created_by: w.created_by.clone(),
        }
    }
}
