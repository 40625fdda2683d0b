//! What zhibiao reads of a receiver's reply, and what of it the delivery log keeps.
//!
//! A receiver is not trusted to answer briefly: one that answered a delivery with a
//! gigabyte of error page once took the server's memory with it. So a reply is read
//! chunk by chunk up to [`REPLY_CAP`] bytes, and the connection is dropped there; the
//! status alone decides success, and the 企业微信 and 钉钉 robots' verdicts
//! (`{"errcode":0,"errmsg":"ok"}`, a few dozen bytes) fit well within the cap.
//!
//! The log keeps at most [`EXCERPT_CHARS`] characters of a failed reply, redacted:
//! receivers echo tokens, signatures and URLs back in their errors, and the log is read
//! by more people than the receiver's owner. Control, bidi and zero-width characters
//! are removed, so that an excerpt cannot disguise itself in a terminal or a page.

use crate::domain::text::is_disguising;

/// The most bytes of a reply that are read.
pub const REPLY_CAP: usize = 4096;

/// The most characters of a reply that the delivery log keeps.
pub const EXCERPT_CHARS: usize = 200;

/// The start of a reply, at most [`REPLY_CAP`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    /// More followed that was not read.
    pub cut: bool,
}

/// Reads `resp`'s body up to [`REPLY_CAP`] bytes and stops; whatever follows is never
/// read, and dropping the response then closes the connection. A body that fails part
/// way keeps what came before.
pub async fn read_capped(resp: &mut reqwest::Response) -> Reply {
    let mut out = Reply::default();
    // A reply that declares its length as over the cap is cut without waiting for it.
    if resp.content_length().is_some_and(|n| n > REPLY_CAP as u64) {
        out.cut = true;
    }
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = REPLY_CAP - out.bytes.len();
        if chunk.len() > room {
            out.bytes.extend_from_slice(&chunk[..room]);
            out.cut = true;
            break;
        }
        out.bytes.extend_from_slice(&chunk);
        if out.bytes.len() == REPLY_CAP && out.cut {
            break;
        }
    }
    if out.cut {
        crate::limits::refused(crate::limits::Cap::WebhookReplyBytes);
    }
    out
}

/// The robots' verdict in a 200 reply: `errcode` and `errmsg`, when the reply is a JSON
/// object that has a nonzero `errcode`. A reply cut at the cap is not JSON any more:
/// its `errcode`, if it comes first, is still read.
pub fn robot_error(reply: &Reply) -> Option<(i64, String)> {
    match serde_json::from_slice::<serde_json::Value>(&reply.bytes) {
        Ok(v) => {
            let code = v["errcode"].as_i64().unwrap_or(0);
            (code != 0).then(|| {
                (
                    code,
                    excerpt(v["errmsg"].as_str().unwrap_or("").as_bytes(), false),
                )
            })
        }
        Err(_) if reply.cut => leading_errcode(&reply.bytes)
            .filter(|c| *c != 0)
            .map(|c| (c, String::new())),
        Err(_) => None,
    }
}

/// `"errcode": <integer>` near the start of a cut JSON object.
fn leading_errcode(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(&bytes[..bytes.len().min(256)])
        .or_else(|e| std::str::from_utf8(&bytes[..e.valid_up_to()]))
        .ok()?;
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"errcode\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let end = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok()
}

/// A reply's start for the log: UTF-8 (invalid bytes replaced), control, bidi and
/// zero-width characters gone and runs of white space made one space, secrets
/// redacted, at most [`EXCERPT_CHARS`] characters (and `…` when there was more).
/// `cut` says the text itself was cut off, so that its last word may be a secret's
/// start: that word is dropped.
pub fn excerpt(bytes: &[u8], cut: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut clean = String::with_capacity(text.len().min(REPLY_CAP));
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() || is_disguising(c).is_some() {
            if !clean.ends_with(' ') {
                clean.push(' ');
            }
        } else {
            clean.push(c);
        }
    }
    let mut words: Vec<&str> = clean.split(' ').filter(|w| !w.is_empty()).collect();
    if cut && !clean.ends_with(' ') {
        words.pop();
    }
    let mut out = String::new();
    let mut redact_next = false;
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        // "Authorization: Bearer <token>", "token: <token>".
        let lower = w.to_ascii_lowercase();
        let bare = lower.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let scheme = bare == "bearer" || bare == "basic";
        if redact_next && !scheme {
            out.push_str("***");
            redact_next = false;
            continue;
        }
        redact_next = scheme || (lower.ends_with(':') && names_secret(bare));
        out.push_str(&redact_word(w));
    }
    let n = out.chars().count();
    if n > EXCERPT_CHARS || (cut && n > 0) {
        let mut t: String = out.chars().take(EXCERPT_CHARS).collect();
        t.push('…');
        t
    } else {
        out
    }
}

/// Whether a key names something secret: `access_token`, `key`, `sign`, `password`…
fn names_secret(key: &str) -> bool {
    const SECRET: [&str; 12] = [
        "token",
        "secret",
        "key",
        "sign",
        "signature",
        "password",
        "passwd",
        "pwd",
        "auth",
        "authorization",
        "credential",
        "session",
    ];
    let k = key.to_ascii_lowercase();
    SECRET.iter().any(|s| k.contains(s))
}

/// One white-space-separated word with its secrets hidden: a URL's query values and
/// long path segments, the value of `key=value` or `"key":"value"` where the key names a
/// secret, and any long run of letters and digits that looks like a token.
fn redact_word(w: &str) -> String {
    if let Some(i) = w.find("://") {
        // A URL, possibly wrapped in quotes or brackets.
        let start = w[..i]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '-' && c != '.')
            .map_or(0, |j| j + 1);
        let end = w[start..]
            .find(['"', '\'', '<', '>', '`', ')', ']', '}', ','])
            .map_or(w.len(), |j| start + j);
        let url = &w[start..end];
        let shown = match reqwest::Url::parse(url) {
            Ok(_) => crate::domain::webhook::redact(url),
            Err(_) => "(a URL)".to_string(),
        };
        return format!("{}{shown}{}", &w[..start], redact_pairs(&w[end..]));
    }
    redact_pairs(w)
}

/// `key=value` and `"key":"value"` pairs in a word, and long token-like runs.
fn redact_pairs(w: &str) -> String {
    let is_tok =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '.' | '%');
    let mut out = String::with_capacity(w.len());
    // The run of token characters before the separators since, so that a value can be
    // judged by its key.
    let mut key: Option<&str> = None;
    let mut sep = String::new();
    let mut rest = w;
    while let Some(c) = rest.chars().next() {
        if is_tok(c) {
            let end = rest.find(|d: char| !is_tok(d)).unwrap_or(rest.len());
            let run = &rest[..end];
            let assigned = sep.contains('=') || sep.contains(':');
            if (assigned && key.is_some_and(names_secret)) || looks_like_token(run) {
                out.push_str("***");
            } else {
                out.push_str(run);
            }
            key = Some(run);
            sep.clear();
            rest = &rest[end..];
        } else {
            out.push(c);
            sep.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A run of at least 20 letters, digits and `_-+/=` with both letters and digits: an
/// API key, a signature, a session id. Words of a sentence never look like that.
fn looks_like_token(run: &str) -> bool {
    let run = run.trim_end_matches('=');
    run.len() >= 20
        && run.bytes().any(|b| b.is_ascii_digit())
        && run.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_hides_secrets_urls_and_control_characters() {
        for (reply, hidden, kept) in [
            (
                r#"{"error":"invalid access_token=abc123secret"}"#,
                vec!["abc123secret"],
                vec!["invalid", "access_token=***"],
            ),
            (
                r#"{"token":"s3cr3t-value","msg":"denied"}"#,
                vec!["s3cr3t-value"],
                vec!["denied"],
            ),
            (
                "see https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx for help",
                vec!["693a91f6"],
                vec!["qyapi.weixin.qq.com", "key=***", "for help"],
            ),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9 refused",
                vec!["eyJhbGciOiJIUzI1NiJ9"],
                vec!["Bearer ***", "refused"],
            ),
            (
                "sign mismatch: 0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg=",
                vec!["0PUR1j8g85Xg3vlFV"],
                vec!["sign mismatch"],
            ),
            (
                "bad\u{1b}[31m red\u{202e}txt\u{200b}here\r\nnext\u{0}line",
                vec!["\u{1b}", "\u{202e}", "\u{200b}", "\r", "\n", "\u{0}"],
                vec!["bad [31m red txt here next line"],
            ),
            (
                "机器人已停用，请联系管理员 errcode 93000",
                vec![],
                vec!["机器人已停用，请联系管理员 errcode 93000"],
            ),
        ] {
            let e = excerpt(reply.as_bytes(), false);
            for h in hidden {
                assert!(!e.contains(h), "{reply:?} → {e:?} shows {h:?}");
            }
            for k in kept {
                assert!(e.contains(k), "{reply:?} → {e:?} lacks {k:?}");
            }
        }
    }

    #[test]
    fn an_excerpt_is_at_most_its_cap_and_drops_a_cut_last_word() {
        let long = "word ".repeat(1000);
        let e = excerpt(long.as_bytes(), false);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        // The reply was cut inside what might be a secret: its start is not shown.
        let e = excerpt(b"failed: sk_live_4eC39HqLyjWD", true);
        assert_eq!(e, "failed:…");
        // Bytes cut inside a character are replaced, not a panic.
        let e = excerpt(&"错误".as_bytes()[..4], false);
        assert!(e.starts_with('错'), "{e}");
    }

    #[test]
    fn the_robots_verdict_is_read_whole_or_from_a_cut_reply() {
        let whole = |s: &str| Reply {
            bytes: s.as_bytes().to_vec(),
            cut: false,
        };
        assert_eq!(robot_error(&whole(r#"{"errcode":0,"errmsg":"ok"}"#)), None);
        assert_eq!(
            robot_error(&whole(
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#
            )),
            Some((93000, "invalid webhook url".to_string()))
        );
        assert_eq!(robot_error(&whole("<html>ok</html>")), None);
        let cut = Reply {
            bytes: format!(r#"{{ "errcode" : -1, "errmsg": "{}"#, "x".repeat(5000)).into_bytes(),
            cut: true,
        };
        assert_eq!(robot_error(&cut), Some((-1, String::new())));
        let cut_ok = Reply {
            bytes: format!(r#"{{"errcode":0,"errmsg":"{}"#, "x".repeat(5000)).into_bytes(),
            cut: true,
        };
        assert_eq!(robot_error(&cut_ok), None);
    }
}
