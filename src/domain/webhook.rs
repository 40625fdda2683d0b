//! Webhook receivers: what an admin registers with `POST /v1/webhooks`, validated here
//! before anything is stored. The store keeps [`Webhook`] as it is defined here, so
//! its serde layout is part of the store format.
//!
//! A receiver's URL often carries its secret (企业微信's `key=`, 钉钉's
//! `access_token=`, a path segment of a chat bot). The URL is kept as given, because
//! deliveries need it, but it only ever leaves the store through [`redact`]: answers,
//! the delivery log and the server's logs all show the redacted form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Severity;

/// The shape of the body a receiver gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// zhibiao's own JSON (see docs/notifications.md).
    Generic,
    /// Alertmanager's webhook payload (version 4); to a URL ending in
    /// `/api/v2/alerts`, the list of alerts Alertmanager's own API takes.
    Alertmanager,
    /// A 企业微信 group robot's markdown message.
    Wecom,
    /// A 钉钉 robot's markdown message.
    Dingtalk,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Generic => "generic",
            Format::Alertmanager => "alertmanager",
            Format::Wecom => "wecom",
            Format::Dingtalk => "dingtalk",
        }
    }

    /// The events a format can carry. Alertmanager only knows alerts: a submission or a
    /// digest is not one.
    pub fn carries(self, kind: EventKind) -> bool {
        match self {
            Format::Alertmanager => matches!(
                kind,
                EventKind::AlertRaised
                    | EventKind::AlertChanged
                    | EventKind::AlertResolved
                    | EventKind::Overdue
                    | EventKind::Test
            ),
            _ => true,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An indicator fell behind its scheduled pace.
    AlertRaised,
    /// A lagging indicator's severity or status changed.
    AlertChanged,
    /// A lagging indicator is back on pace.
    AlertResolved,
    /// Figures passed their due date without a reading (催报), per lead unit.
    Overdue,
    /// Readings were accepted.
    ReadingSubmitted,
    /// The daily digest per lead unit: what is overdue and what falls due soon.
    Reminder,
    /// A test message (`POST /v1/webhooks/{name}/test`); never subscribed to.
    Test,
}

impl EventKind {
    pub const SUBSCRIBABLE: [EventKind; 6] = [
        EventKind::AlertRaised,
        EventKind::AlertChanged,
        EventKind::AlertResolved,
        EventKind::Overdue,
        EventKind::ReadingSubmitted,
        EventKind::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AlertRaised => "alert_raised",
            EventKind::AlertChanged => "alert_changed",
            EventKind::AlertResolved => "alert_resolved",
            EventKind::Overdue => "overdue",
            EventKind::ReadingSubmitted => "reading_submitted",
            EventKind::Reminder => "reminder",
            EventKind::Test => "test",
        }
    }
}

/// Which items of an event a receiver wants. An empty list keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFilter {
    /// Group keys of the plans (`growth`; `battles` is read as a synonym).
    #[serde(default, alias = "battles")]
    pub groups: Vec<String>,
    /// Canonical unit names (aliases are resolved when the receiver is registered).
    #[serde(default)]
    pub lead_units: Vec<String>,
    /// Applies to alerts; overdue notices, submissions and digests have no severity.
    #[serde(default)]
    pub severities: Vec<Severity>,
}

impl WebhookFilter {
    /// Whether an item of an event passes.
    pub fn keeps(&self, group: &str, lead_units: &[String], severity: Option<Severity>) -> bool {
        (self.groups.is_empty() || self.groups.iter().any(|g| g == group))
            && (self.lead_units.is_empty()
                || lead_units.iter().any(|u| self.lead_units.contains(u)))
            && match severity {
                Some(s) => self.severities.is_empty() || self.severities.contains(&s),
                None => true,
            }
    }
}

/// A registered receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub name: String,
    /// As given, secrets included. Show only [`redact`]ed.
    pub url: String,
    pub format: Format,
    pub events: Vec<EventKind>,
    pub filter: WebhookFilter,
    /// 钉钉's 加签 secret: each delivery's URL gets `timestamp` and `sign`.
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub name: String,
    pub url: String,
    pub format: Format,
    /// Default: alerts raised, changed and resolved, overdue notices and the daily
    /// digest (the last not for Alertmanager).
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
    #[serde(default)]
    pub filter: WebhookFilter,
    #[serde(default)]
    pub secret: Option<String>,
}

/// Why a receiver was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WebhookError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> WebhookError {
    WebhookError {
        field,
        message: message.into(),
    }
}

/// The longest receiver name.
pub const MAX_NAME: usize = 64;

impl WebhookInput {
    /// Checks everything but the lead unit names (the API resolves those against the
    /// unit registry) and builds the receiver.
    pub fn validate(self, by: &str, at: DateTime<Utc>) -> Result<Webhook, WebhookError> {
        let name = self.name.trim().to_string();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(bad(
                "name",
                format!("'{name}' must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"),
            ));
        }
        let url = reqwest::Url::parse(self.url.trim()).map_err(|e| {
            bad(
                "url",
                format!("'{}' is not a URL: {e}", redact(self.url.trim())),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad(
                "url",
                format!(
                    "'{}' must be an http:// or https:// URL with a host",
                    redact(url.as_str())
                ),
            ));
        }
        let events = match self.events {
            Some(e) if e.is_empty() => {
                return Err(bad("events", "name at least one event"));
            }
            Some(e) => e,
            None => [
                EventKind::AlertRaised,
                EventKind::AlertChanged,
                EventKind::AlertResolved,
                EventKind::Overdue,
                EventKind::Reminder,
            ]
            .into_iter()
            .filter(|k| self.format.carries(*k))
            .collect(),
        };
        let mut events: Vec<EventKind> = events;
        events.sort();
        events.dedup();
        if events.contains(&EventKind::Test) {
            return Err(bad(
                "events",
                "'test' is not an event to subscribe to; POST /v1/webhooks/{name}/test sends one",
            ));
        }
        if let Some(k) = events.iter().find(|k| !self.format.carries(**k)) {
            return Err(bad(
                "events",
                format!(
                    "the {} format carries alerts and overdue notices, not '{}'",
                    self.format.as_str(),
                    k.as_str()
                ),
            ));
        }
        for g in &self.filter.groups {
            if super::group_key(g).is_err() {
                return Err(bad(
                    "filter.groups",
                    format!("'{g}' is not a group key (a-z, 0-9 and '-', such as growth)"),
                ));
            }
        }
        let secret = self.secret.filter(|s| !s.is_empty());
        if secret.is_some() && self.format != Format::Dingtalk {
            return Err(bad(
                "secret",
                "a signing secret is used only by the dingtalk format (钉钉 加签)",
            ));
        }
        Ok(Webhook {
            name,
            url: url.to_string(),
            format: self.format,
            events,
            filter: self.filter,
            secret,
            created_at: at,
            created_by: by.to_string(),
        })
    }
}

/// A URL with its secrets hidden: the user-info password, every query value, and any
/// path segment long enough to be a token (as in `/hook/<uuid>` or `/services/T0/B0/xyz`).
pub fn redact(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return "(not a URL)".to_string();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if v.is_empty() {
                String::new()
            } else {
                "***".into()
            };
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        let q = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        u.set_query(Some(&q));
    }
    let path: Vec<String> = u
        .path_segments()
        .map(|s| {
            s.map(|seg| {
                let long = seg.len() >= 16
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
                if long {
                    "***".to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    if !path.is_empty() {
        u.set_path(&path.join("/"));
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> Result<Webhook, WebhookError> {
        serde_json::from_value::<WebhookInput>(json)
            .unwrap()
            .validate("admin", DateTime::from_timestamp(1_700_000_000, 0).unwrap())
    }

    #[test]
    fn secrets_in_urls_are_redacted() {
        assert_eq!(
            redact("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
        );
        assert_eq!(
            redact("https://oapi.dingtalk.com/robot/send?access_token=abc123&x="),
            "https://oapi.dingtalk.com/robot/send?access_token=***&x="
        );
        assert_eq!(
            redact("https://user:pw@hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"),
            "https://user:***@hooks.example.com/services/T000/B000/***"
        );
        assert_eq!(
            redact("http://127.0.0.1:9093/api/v2/alerts"),
            "http://127.0.0.1:9093/api/v2/alerts"
        );
        assert_eq!(redact("nonsense"), "(not a URL)");
    }

    #[test]
    fn receivers_are_validated_field_by_field() {
        let ok = input(
            serde_json::json!({"name": "kgj", "url": "https://x.example/h", "format": "wecom"}),
        )
        .unwrap();
        assert!(ok.events.contains(&EventKind::Reminder));
        assert!(!ok.events.contains(&EventKind::ReadingSubmitted));
        let am = input(serde_json::json!({"name": "am", "url": "http://am:9093/api/v2/alerts", "format": "alertmanager"})).unwrap();
        assert!(!am.events.contains(&EventKind::Reminder));
        for (body, field) in [
            (
                serde_json::json!({"name": "a b", "url": "https://x.example", "format": "generic"}),
                "name",
            ),
            (
                serde_json::json!({"name": "a", "url": "ftp://x.example", "format": "generic"}),
                "url",
            ),
            (
                serde_json::json!({"name": "a", "url": "not a url", "format": "generic"}),
                "url",
            ),
            (
                serde_json::json!({"name": "a", "url": "https://x.example", "format": "generic", "events": []}),
                "events",
            ),
            (
                serde_json::json!({"name": "a", "url": "https://x.example", "format": "alertmanager", "events": ["reading_submitted"]}),
                "events",
            ),
            (
                serde_json::json!({"name": "a", "url": "https://x.example", "format": "generic", "events": ["test"]}),
                "events",
            ),
            (
                serde_json::json!({"name": "a", "url": "https://x.example", "format": "wecom", "secret": "SEC1"}),
                "secret",
            ),
        ] {
            assert_eq!(input(body.clone()).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn filters_keep_matching_items_and_ignore_severity_where_there_is_none() {
        let f = WebhookFilter {
            groups: vec!["innovation".into()],
            lead_units: vec!["县科工局".into()],
            severities: vec![Severity::Critical],
        };
        let kgj = vec!["县科工局".to_string()];
        assert!(f.keeps("innovation", &kgj, Some(Severity::Critical)));
        assert!(f.keeps("innovation", &kgj, None));
        assert!(!f.keeps("innovation", &kgj, Some(Severity::Warning)));
        assert!(!f.keeps("growth", &kgj, None));
        assert!(!f.keeps("innovation", &["县统计局".to_string()], None));
        assert!(WebhookFilter::default().keeps("growth", &[], Some(Severity::Warning)));
    }
}
