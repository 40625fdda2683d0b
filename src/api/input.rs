//! Turning raw request parts into validated values, with errors that name the field.

use percent_encoding::percent_decode_str;

use chrono::{DateTime, Utc};

use super::state::Ctx;
use super::ApiError;
use crate::domain::{IndicatorId, ObsStatus, Period};
use crate::engine::Status;

/// Percent-decodes one path segment (`2023%E5%B9%B46%E6%9C%88` → `2023年6月`).
pub fn decode_segment(field: &str, raw: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::invalid(field, format!("{field} is not valid UTF-8 once decoded")))
}

/// The query parameters that take several values, as a comma list (`status=behind,
/// severely_behind`, with `,`, `，` or `、`), by repeating the name, or both: several
/// values of one name are alternatives (OR), several names narrow together (AND).
/// Every other name may be given once.
pub const LIST_PARAMS: &[&str] = &[
    "status",
    "group",
    "battle",
    "lead_unit",
    "region",
    "kind",
    "severity",
    "action",
];

/// Query parameters, checked against the names a route accepts. An unknown name is an
/// error rather than silently ignored: `?asof=` must not quietly mean "no as_of".
#[derive(Debug)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| ApiError::invalid("query", format!("malformed query string: {e}")))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                let expected = if allowed.is_empty() {
                    "this route takes no query parameters".to_string()
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                };
                return Err(ApiError::invalid(
                    k.clone(),
                    format!("unknown query parameter '{k}' ({expected})"),
                ));
            }
            if !LIST_PARAMS.contains(&k.as_str()) && pairs[..i].iter().any(|(k2, _)| k2 == k) {
                return Err(ApiError::invalid(
                    k.clone(),
                    format!("query parameter '{k}' is given twice"),
                ));
            }
        }
        Ok(Query(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of a list parameter ([`LIST_PARAMS`]): each occurrence split at
    /// `,`, `，` and `、`, trimmed, empty parts dropped, repeats kept once.
    pub fn values(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == name) {
            for part in v.split([',', '，', '、']).map(str::trim) {
                if !part.is_empty() && !out.iter().any(|o| o == part) {
                    out.push(part.to_string());
                }
            }
        }
        out
    }

    /// The one value of a parameter that takes one: a list name ([`LIST_PARAMS`]) given
    /// twice where a route reads it once is refused, not cut to its first value.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        if self.0.iter().filter(|(k, _)| k == name).count() > 1 {
            return Err(ApiError::invalid(
                name,
                format!("query parameter '{name}' is given twice"),
            ));
        }
        Ok(self.get(name))
    }

    /// Parses a parameter with `FromStr`, reporting errors under the parameter's name.
    pub fn value<T>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.one(name)?
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
            })
            .transpose()
    }
}

/// Accepts `application/json` (any charset parameter naming UTF-8) or no content type.
pub fn require_json(ct: Option<&str>) -> Result<(), ApiError> {
    let Some(ct) = ct else { return Ok(()) };
    let mut parts = ct.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("").to_ascii_lowercase();
    let json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            crate::domain::messages::Msg::new(
                format!("此处不接受“{ct}”格式的内容，请发送 application/json"),
                format!("content type '{ct}' is not accepted here; send application/json"),
            ),
        ));
    }
    for p in parts {
        if let Some(cs) = p.to_ascii_lowercase().strip_prefix("charset=") {
            let cs = cs.trim_matches('"');
            if cs != "utf-8" && cs != "utf8" {
                return Err(ApiError::UnsupportedMediaType(
                    crate::domain::messages::Msg::new(
                        format!("JSON 不接受“{cs}”字符集，请用 UTF-8"),
                        format!("charset '{cs}' is not accepted for JSON; send UTF-8"),
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The body of `PUT …/readings/:period`.
#[derive(Debug)]
pub struct ReadingBody {
    pub value: f64,
    pub status: ObsStatus,
    pub note: Option<String>,
    /// 强制上报说明, for a figure that fails a quality check.
    pub explanation: Option<String>,
}

impl ReadingBody {
    pub fn parse(body: &[u8]) -> Result<ReadingBody, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid(
                "body",
                "the body is empty; send {\"value\": <number>}",
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(body).map_err(json_error)?;
        // serde_json made 1e-400 a 0 without a word: the text says otherwise.
        crate::domain::number::json_numbers(body)?;
        let obj = v.as_object().ok_or_else(|| {
            ApiError::invalid(
                "body",
                "the body must be a JSON object like {\"value\": 63}",
            )
        })?;
        for k in obj.keys() {
            if !["value", "status", "note", "explanation"].contains(&k.as_str()) {
                return Err(ApiError::invalid(
                    k.clone(),
                    format!("unknown field '{k}' (expected value, status, note, explanation)"),
                ));
            }
        }
        let value = match obj.get("value") {
            None | Some(serde_json::Value::Null) => {
                return Err(ApiError::invalid("value", "value is required"))
            }
            Some(serde_json::Value::Number(n)) => {
                n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                    ApiError::invalid("value", format!("value {n} is not a finite number"))
                })?
            }
            Some(other) => {
                return Err(ApiError::invalid(
                    "value",
                    format!("value must be a finite number, not {other}"),
                ))
            }
        };
        let status = match obj.get("status") {
            None | Some(serde_json::Value::Null) => ObsStatus::default(),
            Some(serde_json::Value::String(s)) => s.parse()?,
            Some(other) => {
                return Err(ApiError::invalid(
                    "status",
                    format!("status must be a string, not {other}"),
                ))
            }
        };
        let text = |field: &str| match obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ApiError::invalid(
                field,
                format!("{field} must be a string, not {other}"),
            )),
        };
        Ok(ReadingBody {
            value,
            status,
            note: text("note")?,
            explanation: text("explanation")?,
        })
    }
}

/// Explains a JSON syntax error. JSON has no NaN or Infinity, and serde_json refuses
/// numbers beyond f64 (1e400) while parsing, so those are reported against `value`.
fn json_error(e: serde_json::Error) -> ApiError {
    let msg = e.to_string();
    if msg.contains("number out of range") {
        return ApiError::invalid("value", format!("value is not a finite number ({msg})"));
    }
    ApiError::invalid("body", format!("malformed JSON: {msg}"))
}

pub(super) fn parse_id(raw: &str) -> Result<IndicatorId, ApiError> {
    let s = decode_segment("id", raw)?;
    IndicatorId::parse(&s).map_err(ApiError::from)
}

pub(super) fn parse_status(s: &str) -> Result<Status, ApiError> {
    Status::ALL
        .into_iter()
        .find(|st| st.as_str() == s || st.label_zh() == s)
        .ok_or_else(|| {
            ApiError::invalid(
                "status",
                crate::domain::messages::Msg::new(
                    format!("状态“{s}”不存在，可选：lagging（滞后，即behind与severely_behind）、severely_behind、missed、behind、on_track、achieved、no_data、no_target"),
                    format!("'{s}' is not one of: lagging (behind or severely_behind), severely_behind, missed, behind, on_track, achieved, no_data, no_target"),
                ),
            )
        })
}

/// Parses an RFC 3339 `as_known_at`.
pub(super) fn parse_known_at(q: &Query) -> Result<Option<DateTime<Utc>>, ApiError> {
    q.get("as_known_at")
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::invalid(
                        "as_known_at",
                        format!("as_known_at '{s}' is not an RFC 3339 time such as 2023-07-15T09:00:00+08:00 ({e})"),
                    )
                })
        })
        .transpose()
}

/// Refuses periods after the current month (in the configured zone): a figure cannot
/// be reported before its period ends.
pub(super) fn not_in_future(ctx: &Ctx, p: Period) -> Result<(), crate::domain::DomainError> {
    ctx.clock.check_ended(p)
}

/// Parses a period path segment for a write, refusing periods after the current month.
pub(super) fn parse_period_segment(
    ctx: &Ctx,
    raw: &str,
) -> Result<(Period, crate::domain::PeriodForm), ApiError> {
    let (p, form) = Period::parse_with_form(&decode_segment("period", raw)?)?;
    not_in_future(ctx, p)?;
    Ok((p, form))
}

/// Parses the body of `PUT /v1/indicators/{id}/readings/{period}` as the handler does,
/// without a store: `Err` carries the reason it is refused. The entry point of the
/// `reading_body` fuzz target (`fuzz/`); the parser itself is private to the API.
pub fn parse_reading_body(body: &[u8]) -> Result<(), String> {
    ReadingBody::parse(body)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

// ── field parsers for `params!` ───────────────────────────────────────────
// Each takes the query and the parameter's name, and answers the field's value or an
// error naming the parameter.

/// Any `FromStr` value (`?as_of=2023-06`, `?battle=growth`).
pub(super) fn value<T>(q: &Query, name: &str) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    q.value::<T>(name)
}

/// Free text (a unit, a region, a code), empty meaning absent.
pub(super) fn text(q: &Query, name: &str) -> Result<Option<String>, ApiError> {
    Ok(q.one(name)?.map(str::to_string))
}

/// An RFC 3339 time (`?as_known_at=`).
pub(super) fn known_at(q: &Query, _name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    parse_known_at(q)
}

/// A list of values (`?lead_unit=县发改局,县科工局`, or the name repeated); empty when
/// absent. See [`LIST_PARAMS`].
pub(super) fn many(q: &Query, name: &str) -> Result<Vec<String>, ApiError> {
    Ok(q.values(name))
}

/// Status words (`?status=behind,severely_behind`; `lagging` is both, and the Chinese
/// labels are read too): empty when absent, meaning any status.
pub(super) fn statuses(q: &Query, name: &str) -> Result<Vec<Status>, ApiError> {
    let mut out: Vec<Status> = Vec::new();
    for v in q.values(name) {
        let add: Vec<Status> = if v == "lagging" || v == "滞后" {
            vec![Status::Behind, Status::SeverelyBehind]
        } else {
            vec![parse_status(&v)?]
        };
        for st in add {
            if !out.contains(&st) {
                out.push(st);
            }
        }
    }
    Ok(out)
}

/// A day (`?on=2023-07-20`).
pub(super) fn date(q: &Query, name: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    q.get(name)
        .map(|v| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::invalid(name, format!("'{v}' is not a date such as 2023-07-20"))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_bodies_name_the_bad_field() {
        let cases: &[(&str, &str)] = &[
            (r#"{"value": "12"}"#, "value"),
            (r#"{"value": null}"#, "value"),
            (r#"{}"#, "value"),
            (r#"{"value": 1e400}"#, "value"),
            (r#"{"value": 1, "status": "R"}"#, "status"),
            (r#"{"value": 1, "note": 5}"#, "note"),
            (r#"{"value": 1, "valeu": 2}"#, "valeu"),
            (r#"{"value": NaN}"#, "body"),
            (r#"{"value": 1"#, "body"),
            (r#"[1]"#, "body"),
            ("", "body"),
        ];
        for (body, field) in cases {
            match ReadingBody::parse(body.as_bytes()) {
                Err(ApiError::Invalid { field: f, .. }) => assert_eq!(&f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let ok = ReadingBody::parse(r#"{"value": 63, "status": "P", "note": "快报"}"#.as_bytes())
            .unwrap();
        assert_eq!((ok.value, ok.status), (63.0, ObsStatus::Provisional));
    }

    #[test]
    fn only_json_content_types_pass() {
        assert!(require_json(None).is_ok());
        assert!(require_json(Some("application/json; charset=UTF-8")).is_ok());
        assert!(require_json(Some("text/plain")).is_err());
        assert!(require_json(Some("application/x-www-form-urlencoded")).is_err());
        assert!(require_json(Some("application/json; charset=gbk")).is_err());
    }

    #[test]
    fn unknown_and_repeated_query_parameters_are_refused() {
        assert!(Query::parse("as_of=2023-06", &["as_of"]).is_ok());
        assert!(Query::parse("asof=2023-06", &["as_of"]).is_err());
        assert!(Query::parse("as_of=2023-06&as_of=2023-07", &["as_of"]).is_err());
        // List parameters take repeats and comma lists, alike.
        let q = Query::parse(
            "status=behind&status=severely_behind%EF%BC%8Cmissed,,behind",
            &["status"],
        )
        .unwrap();
        assert_eq!(q.values("status"), ["behind", "severely_behind", "missed"]);
        // A list name read once by its route is still refused twice.
        let twice = Query::parse("region=a&region=b", &["region"]).unwrap();
        assert!(text(&twice, "region").is_err());
        assert_eq!(
            statuses(&q, "status").unwrap(),
            [Status::Behind, Status::SeverelyBehind, Status::Missed]
        );
        let q = Query::parse(
            "status=lagging,%E4%B8%A5%E9%87%8D%E6%BB%9E%E5%90%8E",
            &["status"],
        )
        .unwrap();
        assert_eq!(
            statuses(&q, "status").unwrap(),
            [Status::Behind, Status::SeverelyBehind]
        );
        let q = Query::parse("status=behind,slow", &["status"]).unwrap();
        match statuses(&q, "status") {
            Err(ApiError::Invalid { field, detail }) => {
                assert_eq!(field, "status");
                assert!(detail.to_string().contains("slow"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let q = Query::parse(
            "lead_unit=%E5%8E%BF%E7%BB%9F%E8%AE%A1%E5%B1%80",
            &["lead_unit"],
        )
        .unwrap();
        assert_eq!(q.get("lead_unit"), Some("县统计局"));
    }
}
