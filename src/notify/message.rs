//! Events and the messages they become: pure functions from what happened to the body
//! each format sends. No I/O and no clock (the time is part of the event), so every
//! shape is unit-tested and documented in docs/notifications.md from the same code.
//!
//! Messages read like a county notice: a bracketed kind, the indicator, its lead units
//! in full-width parentheses, then what the bulletin would say, e.g.
//! "【预警】科技型中小企业入库（县科工局）：完成42.0%，低于序时进度8.0个百分点，全年还需87家".

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::schedule::{DueItem, OverdueItem};
use super::webhook::{EventKind, Format, WebhookFilter};
use crate::domain::{Indicator, Period};
use crate::engine::alerts::{Alert, Severity};
use crate::text::{indicator::in_parens, notice, Lang};

/// Every message is in Chinese today; the words are in [`crate::text::notice`].
const LANG: Lang = Lang::Zh;

/// One indicator's part of an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub indicator: String,
    pub name: String,
    pub region: String,
    /// The key of the indicator's group in its plan.
    pub group: String,
    pub lead_units: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The item's line of the message, in Chinese.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_overdue: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The alert, for alert events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
}

impl Item {
    /// An item with its indicator's fields and its line, and nothing else set.
    fn about(
        indicator: &str,
        name: &str,
        region: &str,
        group: &str,
        lead_units: &[String],
        text: String,
    ) -> Item {
        Item {
            indicator: indicator.to_string(),
            name: name.to_string(),
            region: region.to_string(),
            group: group.to_string(),
            lead_units: lead_units.to_vec(),
            severity: None,
            period: None,
            text,
            due: None,
            days_overdue: None,
            value: None,
            alert: None,
        }
    }
}

/// Something that happened, with the items it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// The lead unit a 催报 notice or a digest is addressed to; the submitter of
    /// readings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The one-line summary after the bracketed kind.
    pub headline: String,
    /// The day a digest or 催报 notice is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<NaiveDate>,
    /// How many days ahead a digest looks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    pub items: Vec<Item>,
}

/// The bracketed kind that opens every message.
pub fn tag(kind: EventKind) -> &'static str {
    match kind {
        EventKind::AlertRaised => "【预警】",
        EventKind::AlertChanged => "【预警变化】",
        EventKind::AlertResolved => "【预警解除】",
        EventKind::Overdue => "【催报】",
        EventKind::ReadingSubmitted => "【数据报送】",
        EventKind::Reminder => "【报送提醒】",
        EventKind::Test => "【测试】",
    }
}

/// `2023年6月` (see [`crate::text::year_month`]).
pub fn period_zh(p: Period) -> String {
    crate::text::year_month(LANG, p)
}

fn leads(units: &[String]) -> String {
    in_parens(LANG, units)
}

/// An alert's line: its message with the lead units after the indicator's name.
fn alert_line(a: &Alert) -> String {
    let rest = a
        .message
        .strip_prefix(a.name.as_str())
        .unwrap_or(&a.message);
    format!("{}{}{}", a.name, leads(&a.lead_units), rest)
}

fn alert_item(a: &Alert, text: String) -> Item {
    Item {
        severity: Some(a.severity),
        period: a.actual_period,
        value: a.actual,
        alert: Some(a.clone()),
        ..Item::about(
            a.indicator.as_str(),
            &a.name,
            &a.region,
            &a.group,
            &a.lead_units,
            text,
        )
    }
}

fn headline_of(items: &[Item], many: fn(Lang, usize) -> String) -> String {
    match items {
        [one] => one.text.clone(),
        _ => many(LANG, items.len()),
    }
}

/// Alerts that appeared.
pub fn raised(alerts: &[Alert], at: DateTime<Utc>) -> Option<Event> {
    let items: Vec<Item> = alerts
        .iter()
        .map(|a| alert_item(a, alert_line(a)))
        .collect();
    (!items.is_empty()).then(|| Event {
        kind: EventKind::AlertRaised,
        at,
        to: None,
        on: None,
        days: None,
        headline: headline_of(&items, notice::many_lagging),
        items,
    })
}

/// Alerts whose severity or status changed: `(before, now)`.
pub fn changed(alerts: &[(Severity, Alert)], at: DateTime<Utc>) -> Option<Event> {
    let items: Vec<Item> = alerts
        .iter()
        .map(|(old, a)| {
            let text = if *old != a.severity {
                format!(
                    "{}{}",
                    alert_line(a),
                    notice::severity_changed(
                        LANG,
                        *old == Severity::Critical,
                        a.severity == Severity::Critical
                    )
                )
            } else {
                format!(
                    "{}{}",
                    alert_line(a),
                    notice::remark(LANG, a.status.label_zh())
                )
            };
            alert_item(a, text)
        })
        .collect();
    (!items.is_empty()).then(|| Event {
        kind: EventKind::AlertChanged,
        at,
        to: None,
        on: None,
        days: None,
        headline: headline_of(&items, notice::many_changed),
        items,
    })
}

/// Indicators that are back on pace (or gone from the catalogue).
pub fn resolved(indicators: &[Indicator], at: DateTime<Utc>) -> Option<Event> {
    let items: Vec<Item> = indicators
        .iter()
        .map(|i| {
            Item::about(
                i.id.as_str(),
                &i.name,
                &i.region,
                &i.group,
                &i.lead_units,
                notice::resolved(LANG, &i.name, &i.lead_units),
            )
        })
        .collect();
    (!items.is_empty()).then(|| Event {
        kind: EventKind::AlertResolved,
        at,
        to: None,
        on: None,
        days: None,
        headline: headline_of(&items, notice::many_resolved),
        items,
    })
}

/// The overdue figures of one indicator as one item: its missing periods, the oldest
/// due date and how late that is. Most overdue first.
fn overdue_items(overdue: &[(OverdueItem, String)]) -> Vec<Item> {
    let mut order: Vec<&str> = Vec::new();
    let mut per: BTreeMap<&str, Vec<&OverdueItem>> = BTreeMap::new();
    for (o, _) in overdue {
        if !per.contains_key(o.indicator.as_str()) {
            order.push(&o.indicator);
        }
        per.entry(&o.indicator).or_default().push(o);
    }
    let mut out: Vec<Item> = order
        .iter()
        .map(|id| {
            let mut list = per[id].clone();
            list.sort_by_key(|o| o.period);
            let (first, last) = (list[0], list[list.len() - 1]);
            let battle = overdue
                .iter()
                .find(|(o, _)| o.indicator == *id)
                .map_or("", |(_, b)| b.as_str());
            let periods = notice::missing_periods(LANG, first.period, last.period, list.len());
            // The latest period's note says most about the figures still to come.
            let said = list
                .iter()
                .rev()
                .find_map(|o| o.note.as_deref())
                .map(|n| notice::kept_note(LANG, n))
                .unwrap_or_default();
            Item {
                period: Some(first.period),
                due: Some(first.due),
                days_overdue: Some(first.days_overdue),
                ..Item::about(
                    &first.indicator,
                    &first.name,
                    &first.region,
                    battle,
                    &first.lead_units,
                    notice::overdue_line(
                        LANG,
                        &first.name,
                        &periods,
                        list.len() > 1,
                        first.due,
                        first.period.year(),
                        first.days_overdue,
                    ) + &said,
                )
            }
        })
        .collect();
    out.sort_by_key(|i| std::cmp::Reverse(i.days_overdue));
    out
}

fn due_item(d: &DueItem, battle: &str) -> Item {
    Item {
        period: Some(d.period),
        due: Some(d.due),
        ..Item::about(
            &d.indicator,
            &d.name,
            &d.region,
            battle,
            &d.lead_units,
            notice::due_line(LANG, &d.name, d.period, d.due),
        )
    }
}

fn overdue_headline(unit: &str, n: usize) -> String {
    notice::overdue_headline(LANG, unit, n)
}

fn digest_headline(unit: &str, on: NaiveDate, days: u32, items: &[Item]) -> String {
    let late = items.iter().filter(|i| i.days_overdue.is_some()).count();
    notice::digest_headline(LANG, unit, on, days, late, items.len() - late)
}

/// A 催报 notice to one lead unit: the figures that passed their due date.
pub fn overdue_notice(
    unit: &str,
    overdue: &[(OverdueItem, String)],
    at: DateTime<Utc>,
) -> Option<Event> {
    let items = overdue_items(overdue);
    (!items.is_empty()).then(|| Event {
        kind: EventKind::Overdue,
        at,
        to: Some(unit.to_string()),
        on: None,
        days: None,
        headline: overdue_headline(unit, items.len()),
        items,
    })
}

/// The daily digest of one lead unit: what is overdue and what falls due within
/// `days` days of `on`. `None` when there is nothing to say.
pub fn digest(
    unit: &str,
    on: NaiveDate,
    days: u32,
    overdue: &[(OverdueItem, String)],
    due: &[(DueItem, String)],
    at: DateTime<Utc>,
) -> Option<Event> {
    let mut items = overdue_items(overdue);
    items.extend(due.iter().map(|(d, b)| due_item(d, b)));
    (!items.is_empty()).then(|| Event {
        kind: EventKind::Reminder,
        at,
        to: Some(unit.to_string()),
        on: Some(on),
        days: Some(days),
        headline: digest_headline(unit, on, days, &items),
        items,
    })
}

/// Readings accepted from one submitter: `(indicator, period, value)`.
pub fn submitted(
    actor: &str,
    readings: &[(&Indicator, Period, f64)],
    at: DateTime<Utc>,
) -> Option<Event> {
    let items: Vec<Item> = readings
        .iter()
        .map(|(i, p, v)| Item {
            period: Some(*p),
            value: Some(*v),
            ..Item::about(
                i.id.as_str(),
                &i.name,
                &i.region,
                &i.group,
                &i.lead_units,
                notice::submitted_line(LANG, &i.name, *p, *v, &i.unit),
            )
        })
        .collect();
    (!items.is_empty()).then(|| Event {
        kind: EventKind::ReadingSubmitted,
        at,
        to: Some(actor.to_string()),
        on: None,
        days: None,
        headline: notice::submitted_headline(LANG, actor, items.len()),
        items,
    })
}

/// The message `POST /v1/webhooks/{name}/test` sends.
pub fn test_message(receiver: &str, at: DateTime<Utc>) -> Event {
    Event {
        kind: EventKind::Test,
        at,
        to: None,
        on: None,
        days: None,
        headline: notice::test_headline(LANG, receiver),
        items: Vec::new(),
    }
}

impl Event {
    /// The event as one receiver's filter leaves it, or `None` when nothing is left.
    /// A test message is never filtered.
    pub fn filtered(&self, f: &WebhookFilter) -> Option<Event> {
        if self.kind == EventKind::Test {
            return Some(self.clone());
        }
        // A notice or digest is addressed to one unit: the filter looks at that unit,
        // not at the other units leading an item with it.
        let addressed = matches!(self.kind, EventKind::Overdue | EventKind::Reminder);
        if addressed
            && !f.lead_units.is_empty()
            && !self.to.as_ref().is_some_and(|t| f.lead_units.contains(t))
        {
            return None;
        }
        let items: Vec<Item> = self
            .items
            .iter()
            .filter(|i| {
                if addressed {
                    f.groups.is_empty() || f.groups.contains(&i.group)
                } else {
                    f.keeps(&i.group, &i.lead_units, i.severity)
                }
            })
            .cloned()
            .collect();
        if items.is_empty() {
            return None;
        }
        if items.len() == self.items.len() {
            return Some(self.clone());
        }
        // Fewer items: the headline counts them again.
        let mut e = self.clone();
        e.headline = match e.kind {
            EventKind::AlertRaised => headline_of(&items, notice::many_lagging),
            EventKind::AlertChanged => headline_of(&items, notice::many_changed),
            EventKind::AlertResolved => headline_of(&items, notice::many_resolved),
            EventKind::ReadingSubmitted => {
                notice::submitted_headline(LANG, e.to.as_deref().unwrap_or(""), items.len())
            }
            EventKind::Overdue => overdue_headline(e.to.as_deref().unwrap_or(""), items.len()),
            EventKind::Reminder => match e.on {
                Some(on) => digest_headline(
                    e.to.as_deref().unwrap_or(""),
                    on,
                    e.days.unwrap_or(0),
                    &items,
                ),
                None => e.headline.clone(),
            },
            EventKind::Test => e.headline.clone(),
        };
        e.items = items;
        Some(e)
    }

    /// The item lines under the headline (none when the headline is the only item).
    fn lines(&self) -> Vec<&str> {
        if self.items.len() == 1 && self.headline == self.items[0].text {
            Vec::new()
        } else {
            self.items.iter().map(|i| i.text.as_str()).collect()
        }
    }

    /// The first line: bracketed kind and headline.
    pub fn title(&self) -> String {
        format!("{}{}", tag(self.kind), self.headline)
    }

    /// The whole message as plain text: the title, then one line per item.
    pub fn text(&self) -> String {
        let mut s = self.title();
        for l in self.lines() {
            s.push('\n');
            s.push_str(l);
        }
        s
    }
}

/// Largest markdown body of a 企业微信 robot message, in bytes.
pub const WECOM_MAX: usize = 4096;
/// Largest markdown body of a 钉钉 robot message we send, in bytes.
pub const DINGTALK_MAX: usize = 18_000;

/// Lines joined until `max` bytes, then a line saying how many were left out.
fn capped(head: String, lines: &[String], sep: &str, foot: &str, max: usize) -> String {
    let mut s = head;
    for (n, l) in lines.iter().enumerate() {
        let more = notice::more_items(LANG, lines.len() - n);
        if s.len() + sep.len() + l.len() + sep.len() + more.len() + foot.len() > max {
            s.push_str(sep);
            s.push_str(&more);
            break;
        }
        s.push_str(sep);
        s.push_str(l);
    }
    s.push_str(foot);
    s
}

fn local_time(at: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
}

/// The body a receiver gets. `receiver` is its name; `url` its address (Alertmanager's
/// own API, at `/api/v2/alerts`, takes a different shape from its receivers).
pub fn render(e: &Event, format: Format, receiver: &str, url: &str) -> Value {
    match format {
        Format::Generic => json!({
            "event": e.kind,
            "receiver": receiver,
            "at": e.at,
            "to": e.to,
            "title": e.title(),
            "text": e.text(),
            "items": e.items,
        }),
        Format::Wecom => {
            let lines: Vec<String> = e.lines().iter().map(|l| format!("> {l}")).collect();
            let content = capped(
                format!("**{}**", e.title()),
                &lines,
                "\n",
                &format!(
                    "\n<font color=\"comment\">zhibiao · {}</font>",
                    local_time(e.at)
                ),
                WECOM_MAX,
            );
            json!({"msgtype": "markdown", "markdown": {"content": content}})
        }
        Format::Dingtalk => {
            let lines: Vec<String> = e.lines().iter().map(|l| format!("- {l}")).collect();
            let text = capped(
                format!("#### {}", e.title()),
                &lines,
                "\n\n",
                &format!("\n\n###### zhibiao · {}", local_time(e.at)),
                DINGTALK_MAX,
            );
            // The title shows in the chat list and the notification; 钉钉 cuts it short.
            let title: String = e.title().chars().take(40).collect();
            json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
        }
        Format::Alertmanager => alertmanager(e, receiver, url),
    }
}

/// The Alertmanager labels and annotations of one item.
fn am_alert(e: &Event, item: Option<&Item>) -> (Value, Value) {
    let alertname = match e.kind {
        EventKind::Overdue => "ZhibiaoOverdue",
        EventKind::Test => "ZhibiaoTest",
        _ => "ZhibiaoLagging",
    };
    let mut labels = serde_json::Map::new();
    labels.insert("alertname".into(), json!(alertname));
    labels.insert(
        "severity".into(),
        json!(item
            .and_then(|i| i.severity)
            .map_or("warning", Severity::as_str)),
    );
    if let Some(i) = item {
        labels.insert("indicator".into(), json!(i.indicator));
        labels.insert("region".into(), json!(i.region));
        labels.insert("group".into(), json!(i.group));
        labels.insert(
            "lead_unit".into(),
            json!(crate::text::list(LANG, &i.lead_units)),
        );
        if e.kind == EventKind::Overdue {
            if let Some(p) = i.period {
                labels.insert("period".into(), json!(p));
            }
        }
    }
    let summary = match item {
        Some(i) => format!("{}{}", tag(e.kind), i.text),
        None => e.title(),
    };
    let annotations = json!({"summary": summary, "description": e.text()});
    (Value::Object(labels), annotations)
}

fn fingerprint(labels: &Value) -> String {
    let mut pairs: Vec<(String, String)> = labels
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let mut h = Sha256::new();
    for (k, v) in pairs {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Alertmanager: its webhook payload (version 4), as Alertmanager sends to its own
/// receivers; or, to a URL ending in `/api/v2/alerts`, the list of alerts its API
/// takes. A firing alert posted to the API ends 90 days on unless a resolution comes
/// first, so it does not lapse after Alertmanager's `resolve_timeout`.
fn alertmanager(e: &Event, receiver: &str, url: &str) -> Value {
    let resolved = e.kind == EventKind::AlertResolved;
    let status = if resolved { "resolved" } else { "firing" };
    let items: Vec<Option<&Item>> = if e.items.is_empty() {
        vec![None]
    } else {
        e.items.iter().map(Some).collect()
    };
    let alerts: Vec<(Value, Value)> = items.iter().map(|i| am_alert(e, *i)).collect();
    let to_api = reqwest::Url::parse(url)
        .map(|u| u.path().trim_end_matches('/').ends_with("/api/v2/alerts"))
        .unwrap_or(false);
    if to_api {
        let ends = if resolved {
            e.at
        } else {
            e.at + Duration::days(90)
        };
        return Value::Array(
            alerts
                .into_iter()
                .map(|(labels, annotations)| {
                    json!({
                        "labels": labels,
                        "annotations": annotations,
                        "startsAt": e.at,
                        "endsAt": ends,
                        "generatorURL": "",
                    })
                })
                .collect(),
        );
    }
    let alertname = alerts[0].0["alertname"].clone();
    let common_labels = {
        let mut common = alerts[0].0.as_object().cloned().unwrap_or_default();
        common.retain(|k, v| alerts.iter().all(|(l, _)| l.get(k) == Some(v)));
        Value::Object(common)
    };
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", alertname.as_str().unwrap_or_default()),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": alertname},
        "commonLabels": common_labels,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": alerts.iter().map(|(labels, annotations)| json!({
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": e.at,
            "endsAt": if resolved { json!(e.at) } else { json!("0001-01-01T00:00:00Z") },
            "generatorURL": "",
            "fingerprint": fingerprint(labels),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overdue(id: &str, month: u8, days: i64) -> (OverdueItem, String) {
        let period = Period::new(2023, month).unwrap();
        (
            OverdueItem {
                indicator: id.into(),
                name: format!("指标{id}"),
                region: "桃江县".into(),
                period,
                due: crate::engine::calendar::due_date(
                    period,
                    crate::engine::calendar::DueRule::DayOfNextMonth(10),
                ),
                days_overdue: days,
                lead_units: vec!["县人社局".into()],
                note: None,
            },
            "livelihood".to_string(),
        )
    }

    fn at() -> DateTime<Utc> {
        "2023-07-20T00:30:00Z".parse().unwrap()
    }

    #[test]
    fn a_notice_has_one_line_per_indicator_most_overdue_first() {
        let e = overdue_notice(
            "县人社局",
            &[
                overdue("a", 6, 10),
                overdue("b", 5, 40),
                overdue("b", 6, 10),
            ],
            at(),
        )
        .unwrap();
        assert_eq!(
            e.text(),
            "【催报】县人社局：2项指标数据逾期未报，请尽快报送\n\
             指标b：2023年5月至6月共2期数据未报，最早应于6月10日前报送，已逾期40天\n\
             指标a：2023年6月数据未报，应于7月10日前报送，已逾期10天"
        );
    }

    #[test]
    fn a_robot_message_stays_within_its_size_and_says_how_much_was_left_out() {
        let many: Vec<_> = (0..300)
            .map(|i| overdue(&format!("x{i:03}"), 6, 10))
            .collect();
        let e = overdue_notice("县人社局", &many, at()).unwrap();
        let wecom = render(&e, Format::Wecom, "w", "https://x/");
        let content = wecom["markdown"]["content"].as_str().unwrap();
        assert!(content.len() <= WECOM_MAX, "{} bytes", content.len());
        assert!(content.contains("……另有"), "the cut is announced");
        assert!(content.ends_with("</font>"), "the footer survives the cut");
        // 钉钉 takes more; the generic body keeps every item.
        let dd = render(&e, Format::Dingtalk, "d", "https://x/");
        assert!(dd["markdown"]["text"].as_str().unwrap().len() <= DINGTALK_MAX);
        let generic = render(&e, Format::Generic, "g", "https://x/");
        assert_eq!(generic["items"].as_array().unwrap().len(), 300);
    }

    #[test]
    fn a_filter_that_drops_items_recounts_the_headline() {
        let (growth, _) = overdue("b", 6, 10);
        let e = overdue_notice(
            "县人社局",
            &[overdue("a", 6, 10), (growth, "growth".to_string())],
            at(),
        )
        .unwrap();
        assert!(e.headline.contains("2项指标"));
        let mut f = WebhookFilter::default();
        assert_eq!(e.filtered(&f).unwrap(), e);
        f.groups = vec!["growth".into()];
        let kept = e.filtered(&f).unwrap();
        assert_eq!(kept.items.len(), 1);
        assert_eq!(kept.headline, "县人社局：1项指标数据逾期未报，请尽快报送");
        f.groups = vec!["safety".into()];
        assert!(e.filtered(&f).is_none(), "no item of that battle");
        f.groups = vec![];
        f.lead_units = vec!["县科工局".into()];
        assert!(e.filtered(&f).is_none(), "addressed to another unit");
        // A test message passes any filter.
        let t = test_message("w", at());
        assert_eq!(
            t.filtered(&f).unwrap().title(),
            "【测试】zhibiao 测试消息：接收端“w”已接通"
        );
    }
}
