//! The caps that keep every input's memory and work bounded, and the count of what each
//! one refused.
//!
//! A cap is named once here, with a stable machine name (the `cap` label of
//! `zhibiao_refusals_total` in `/metrics`, and the `cap` field of a refusal's
//! problem+json) and whether it bounds bytes (answered 413) or a count (422). The
//! numbers themselves live next to the code that enforces them; `docs/reliability.md`
//! lists them all. This module sits at the bottom, beside [`crate::domain`], so that
//! decoding, the store, delivery and the HTTP layer can all name their caps and count
//! their refusals in one place.

use std::sync::OnceLock;

use prometheus::{IntCounterVec, Opts, Registry};

/// Every cap that can refuse an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cap {
    /// Bytes of a single-reading or definition request body.
    Body,
    /// Bytes of a batch body.
    BatchBody,
    /// Bytes of request bodies being read by the whole server at once.
    BodyBudget,
    /// Open connections to the server.
    Connections,
    /// Open connections from one client address.
    ConnectionsPerAddress,
    /// Failed authentications from one client address within the throttle window.
    AuthThrottle,
    /// Rows of one batch.
    BatchRows,
    /// Inflated bytes of one part of an XLSX workbook.
    XlsxPartBytes,
    /// Inflated bytes of all the parts of an XLSX workbook that are read.
    XlsxInflatedBytes,
    /// Parts (files) inside an XLSX workbook.
    XlsxParts,
    /// Rows of an XLSX worksheet.
    XlsxRows,
    /// Cells of an XLSX worksheet.
    XlsxCells,
    /// Entries of an XLSX workbook's shared-string table.
    XlsxSharedStrings,
    /// Bytes of a webhook receiver's reply that are read (the rest is never read).
    WebhookReplyBytes,
    /// Records an XLSX reader holds in memory besides the shared strings
    /// (relationships, sheets, defined names, styles).
    XlsxRecords,
    /// Bytes of text kept from an XLSX worksheet's cells, shared strings expanded.
    XlsxCellText,
}

impl Cap {
    /// The stable machine name.
    pub fn name(self) -> &'static str {
        match self {
            Cap::Body => "body_bytes",
            Cap::BatchBody => "batch_body_bytes",
            Cap::BodyBudget => "body_budget_bytes",
            Cap::Connections => "connections",
            Cap::ConnectionsPerAddress => "connections_per_address",
            Cap::AuthThrottle => "auth_throttle",
            Cap::BatchRows => "batch_rows",
            Cap::XlsxPartBytes => "xlsx_part_bytes",
            Cap::XlsxInflatedBytes => "xlsx_inflated_bytes",
            Cap::XlsxParts => "xlsx_parts",
            Cap::XlsxRows => "xlsx_rows",
            Cap::XlsxCells => "xlsx_cells",
            Cap::XlsxSharedStrings => "xlsx_shared_strings",
            Cap::WebhookReplyBytes => "webhook_reply_bytes",
            Cap::XlsxRecords => "xlsx_records",
            Cap::XlsxCellText => "xlsx_cell_text_bytes",
        }
    }

    /// Whether the cap bounds bytes (a refusal is 413) rather than a count (422).
    pub fn is_bytes(self) -> bool {
        matches!(
            self,
            Cap::Body
                | Cap::BatchBody
                | Cap::BodyBudget
                | Cap::XlsxPartBytes
                | Cap::XlsxInflatedBytes
                | Cap::WebhookReplyBytes
                | Cap::XlsxCellText
        )
    }
}

/// An input refused by a cap: which one, its number, and what went over it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{detail}")]
pub struct OverCap {
    pub cap: Cap,
    /// The cap's number, in bytes or in items.
    pub limit: u64,
    /// A sentence for the sender, naming the cap.
    pub detail: String,
}

impl OverCap {
    pub fn new(cap: Cap, limit: u64, detail: impl Into<String>) -> OverCap {
        OverCap {
            cap,
            limit,
            detail: detail.into(),
        }
    }
}

struct Counters {
    registry: Registry,
    refusals: IntCounterVec,
}

fn counters() -> &'static Counters {
    static C: OnceLock<Counters> = OnceLock::new();
    C.get_or_init(|| {
        let registry = Registry::new();
        let refusals = IntCounterVec::new(
            Opts::new(
                "zhibiao_refusals_total",
                "Inputs refused by a cap or a throttle, by cap.",
            ),
            &["cap"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(refusals.clone()))
            .expect("register");
        Counters { registry, refusals }
    })
}

/// Counts one refusal by `cap`.
pub fn refused(cap: Cap) {
    counters().refusals.with_label_values(&[cap.name()]).inc();
}

/// How many inputs `cap` has refused since the process started.
pub fn refusals(cap: Cap) -> u64 {
    counters().refusals.with_label_values(&[cap.name()]).get()
}

/// The registry `/metrics` gathers the refusal counters from.
pub fn registry() -> &'static Registry {
    &counters().registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_counted_under_its_cap() {
        let before = refusals(Cap::XlsxCells);
        refused(Cap::XlsxCells);
        assert_eq!(refusals(Cap::XlsxCells), before + 1);
        let text = {
            use prometheus::Encoder;
            let mut out = Vec::new();
            prometheus::TextEncoder::new()
                .encode(&registry().gather(), &mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(
            text.contains("zhibiao_refusals_total{cap=\"xlsx_cells\"}"),
            "{text}"
        );
    }

    #[test]
    fn byte_caps_and_count_caps_differ() {
        assert!(Cap::BatchBody.is_bytes());
        assert!(!Cap::XlsxCells.is_bytes());
    }
}
