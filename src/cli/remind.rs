//! `zhibiao remind`: the day's digests per lead unit, printed (`--dry-run`) or sent
//! to the registered receivers.

use std::path::Path;

use super::{open_existing, CliResult};
use crate::clock::Clock;

/// `zhibiao remind`: the digests of `on`, printed (`--dry-run`) or sent.
pub(super) fn remind(
    db: &Path,
    on: Option<chrono::NaiveDate>,
    lead_unit: Option<&str>,
    dry_run: bool,
    json: bool,
    cfg: crate::notify::deliver::NotifyConfig,
    tz: chrono_tz::Tz,
) -> CliResult {
    use crate::notify::message::render;
    use crate::notify::webhook::{redact, EventKind};
    let store = open_existing(db)?;
    let clock = Clock::system(tz);
    let now = clock.now();
    let on = on.unwrap_or_else(|| clock.today());
    let unit = match lead_unit {
        Some(u) => Some(store.units()?.resolve(u).to_string()),
        None => None,
    };
    let days = cfg.remind_days;
    let digests = crate::notify::digests(&store, on, days, unit.as_deref(), now)?;
    let hooks: Vec<_> = store
        .webhooks()?
        .into_iter()
        .filter(|h| h.events.contains(&EventKind::Reminder))
        .collect();
    if json {
        let list: Vec<serde_json::Value> = digests
            .iter()
            .map(|e| {
                let to: Vec<serde_json::Value> = hooks
                    .iter()
                    .filter_map(|h| {
                        e.filtered(&h.filter).map(|f| {
                            serde_json::json!({
                                "webhook": h.name,
                                "format": h.format,
                                "url": redact(&h.url),
                                "body": render(&f, h.format, &h.name, &h.url),
                            })
                        })
                    })
                    .collect();
                serde_json::json!({
                    "lead_unit": e.to,
                    "title": e.title(),
                    "text": e.text(),
                    "items": e.items,
                    "receivers": to,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "on": on,
                "days": days,
                "dry_run": dry_run,
                "count": list.len(),
                "digests": list,
            }))?
        );
    } else {
        if digests.is_empty() {
            outln!("{on}: no lead unit has an overdue figure or one due within {days} days.");
        }
        for e in &digests {
            outln!("── {} ──", e.to.as_deref().unwrap_or(""));
            outln!("{}", e.text());
            let to: Vec<String> = hooks
                .iter()
                .filter(|h| e.filtered(&h.filter).is_some())
                .map(|h| format!("{} ({})", h.name, h.format.as_str()))
                .collect();
            if to.is_empty() {
                outln!("→ no receiver takes this digest");
            } else {
                outln!("→ {}", to.join(", "));
            }
            outln!();
        }
    }
    if dry_run {
        return Ok(());
    }
    let hub = std::sync::Arc::new(crate::notify::deliver::Hub::new(cfg));
    let mut queued = 0;
    for e in &digests {
        queued += hub.enqueue(&store, &hooks, e, now)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes = rt.block_on(hub.drain(store.clone(), clock.clone()));
    store.flush()?;
    let delivered = outcomes
        .iter()
        .filter(|o| **o == crate::store::DeliveryOutcome::Delivered)
        .count();
    let msg = format!(
        "sent {delivered} of {queued} messages; the rest stay queued for `zhibiao serve` to retry (GET /v1/webhooks/{{name}}/deliveries shows why)"
    );
    if json {
        eprintln!("{msg}");
    } else {
        outln!("{msg}");
    }
    Ok(())
}
