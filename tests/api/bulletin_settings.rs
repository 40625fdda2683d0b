//! How a region's bulletins are issued: `GET`/`PUT /v1/regions/{region}/settings`
//! (发文单位, 文号's 机关代字, 落款), `serve --issuer`, and what the bulletins under
//! `/v1/reports/…` carry of them: the head and end of the document, the issue date
//! (`date=`, else today from the server's clock), the Word file's properties and the
//! office's file name in `Content-Disposition`.

use std::io::{Cursor, Read};

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

fn put_settings(s: &TestServer, token: Option<&str>, region: &str, body: &str) -> Response {
    let mut req = s
        .client
        .put(s.url(&format!("/v1/regions/{region}/settings")))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().expect("PUT settings")
}

fn settings(s: &TestServer, region: &str) -> Value {
    s.get_json(&format!("/v1/regions/{region}/settings"))
}

fn report(s: &TestServer, query: &[(&str, &str)]) -> Response {
    s.client
        .get(s.url("/v1/reports/monthly"))
        .query(query)
        .send()
        .expect("GET report")
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("no {name}: {e}"))
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// A problem+json answer: its status, content type and body.
fn problem(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "application/problem+json", "status {status}");
    (status, r.json().expect("a problem body"))
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn settings_round_trip_through_the_api_and_are_audited() {
    let s = TestServer::start();
    // Nothing set: the bulletin's fallbacks, said as such.
    let v = settings(&s, "桃江县");
    assert_eq!(
        v,
        json!({"region": "桃江县", "configured": false, "issuer": null, "doc_number_prefix": null, "signature": null})
    );

    let body = r#"{"issuer": " 桃江县统计局 ", "doc_number_prefix": "桃统通", "signature": null}"#;
    let r = put_settings(&s, Some(ADMIN_TOKEN), "桃江县", body);
    assert_eq!(r.status(), 201);
    let a: Value = r.json().unwrap();
    assert_eq!(a["outcome"], "created");
    assert_eq!(a["issuer"], "桃江县统计局", "trimmed");
    assert_eq!(
        a["signature"], "桃江县统计局",
        "the 落款 defaults to the issuer"
    );
    let v = settings(&s, "桃江县");
    assert_eq!(
        v,
        json!({"region": "桃江县", "configured": true, "issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局"})
    );
    // The same again changes nothing; another 落款 updates.
    let r = put_settings(&s, Some(ADMIN_TOKEN), "桃江县", body);
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["outcome"], "unchanged");
    let r = put_settings(
        &s,
        Some(ADMIN_TOKEN),
        "桃江县",
        r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局办公室"}"#,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["outcome"], "replaced");
    assert_eq!(settings(&s, "桃江县")["signature"], "桃江县统计局办公室");

    // Another registered region has its own; an unknown one is 404.
    let r = put_settings(
        &s,
        Some(ADMIN_TOKEN),
        "资阳区",
        r#"{"issuer": "益阳市资阳区统计局"}"#,
    );
    assert_eq!(r.status(), 201);
    assert_eq!(settings(&s, "资阳区")["issuer"], "益阳市资阳区统计局");
    assert_eq!(settings(&s, "桃江县")["issuer"], "桃江县统计局");
    let (st, p) = problem(put_settings(
        &s,
        Some(ADMIN_TOKEN),
        "某县",
        r#"{"issuer": "某县统计局"}"#,
    ));
    assert_eq!(st, 404, "{p}");
    assert_eq!(s.get("/v1/regions/某县/settings").status(), 404);

    // Each change is in the audit trail, by the token that made it.
    let log = s.store().audit_log().unwrap();
    let changes: Vec<Value> = log
        .iter()
        .map(|(_, r)| serde_json::to_value(r).unwrap())
        .filter(|r| r.to_string().contains("桃江县统计局"))
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().all(|c| c["actor"] == "admin"), "{changes:?}");
}

#[test]
fn only_an_admin_sets_them() {
    let s = TestServer::start();
    let body = r#"{"issuer": "桃江县统计局"}"#;
    let (st, _) = problem(put_settings(&s, None, "桃江县", body));
    assert_eq!(st, 401);
    let (st, _) = problem(put_settings(
        &s,
        Some("not-a-token-0123456789"),
        "桃江县",
        body,
    ));
    assert_eq!(st, 401);
    for role in ["submitter", "reader"] {
        let units: &[&str] = if role == "submitter" {
            &["县统计局"]
        } else {
            &[]
        };
        let t = s.token(&format!("a-{role}"), role, units);
        let (st, p) = problem(put_settings(&s, Some(&t), "桃江县", body));
        assert_eq!(st, 403, "{role}: {p}");
    }
    assert_eq!(
        settings(&s, "桃江县")["configured"],
        false,
        "nothing written"
    );
}

#[test]
fn a_bad_body_is_refused_naming_the_field_in_chinese_and_writes_nothing() {
    let s = TestServer::start();
    let good = r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通"}"#;
    assert_eq!(
        put_settings(&s, Some(ADMIN_TOKEN), "桃江县", good).status(),
        201
    );
    let before = settings(&s, "桃江县");
    let audit_before = s.store().audit_log().unwrap().len();
    let long = format!(r#"{{"issuer": "{}"}}"#, "局".repeat(41));
    for (body, field) in [
        (r#"{"doc_number_prefix": "桃统通"}"#, "issuer"),
        (r#"{"issuer": null}"#, "issuer"),
        (r#"{"issuer": "   "}"#, "issuer"),
        (r#"{"issuer": 3}"#, "issuer"),
        (long.as_str(), "issuer"),
        (r#"{"issuer": "桃江县\n统计局"}"#, "issuer"),
        (
            r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通〔2023〕6号"}"#,
            "doc_number_prefix",
        ),
        (
            r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通〔2023〕"}"#,
            "doc_number_prefix",
        ),
        (
            r#"{"issuer": "桃江县统计局", "doc_number_prefix": ["桃统通"]}"#,
            "doc_number_prefix",
        ),
        (
            r#"{"issuer": "桃江县统计局", "signature": "桃江\u202e县统计局"}"#,
            "signature",
        ),
        (r#"{"issuer": "桃江县统计局", "seal": "公章"}"#, "seal"),
        (r#"["桃江县统计局"]"#, "body"),
        (r#"{"issuer": "#, "body"),
    ] {
        let (st, p) = problem(put_settings(&s, Some(ADMIN_TOKEN), "桃江县", body));
        assert_eq!(st, 400, "{body}: {p}");
        assert_eq!(p["field"], field, "{body}: {p}");
        assert_eq!(
            p["type"], "urn:zhibiao:problem:invalid-input",
            "{body}: {p}"
        );
        // The settings' own refusals are in Chinese; a body that is not JSON at all
        // is refused by the reader every JSON route shares.
        if field != "body" {
            let d = p["detail"].as_str().unwrap();
            assert!(has_chinese(d), "{body}: {d}");
        }
    }
    let (_, p) = problem(put_settings(
        &s,
        Some(ADMIN_TOKEN),
        "桃江县",
        r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通〔2023〕6号"}"#,
    ));
    assert!(
        p["detail"].as_str().unwrap().contains("只填机关代字"),
        "{p}"
    );
    // Nothing was written by any of them.
    assert_eq!(settings(&s, "桃江县"), before);
    assert_eq!(s.store().audit_log().unwrap().len(), audit_before);
}

#[test]
fn the_bulletin_is_issued_as_the_settings_say_in_every_format() {
    let s = TestServer::start();
    let r = put_settings(
        &s,
        Some(ADMIN_TOKEN),
        "桃江县",
        r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局办公室"}"#,
    );
    assert_eq!(r.status(), 201);
    let q = [("as_of", "2023-06"), ("date", "2023-07-12")];
    for format in ["md", "html"] {
        let r = report(&s, &[q[0], q[1], ("format", format)]);
        assert_eq!(r.status(), 200, "{format}");
        let body = r.text().unwrap();
        for want in [
            "桃江县统计局",
            "桃统通〔2023〕6号",
            "桃江县2023年6月重点指标监测通报",
            "桃江县统计局办公室",
        ] {
            assert!(body.contains(want), "{format}: {want}");
        }
        assert_eq!(
            body.matches("2023年7月12日").count(),
            2,
            "{format}: head and end"
        );
        // The plan's document only in the 依据 line.
        assert_eq!(body.matches("打好发展“六仗”").count(), 1, "{format}");
        assert!(body.contains("依据："), "{format}");
    }

    let r = report(&s, &[q[0], q[1], ("format", "docx")]);
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        cd,
        "attachment; filename=\"bulletin-2023-06.docx\"; filename*=UTF-8''%E6%A1%83%E6%B1%9F%E5%8E%BF2023%E5%B9%B46%E6%9C%88%E9%87%8D%E7%82%B9%E6%8C%87%E6%A0%87%E7%9B%91%E6%B5%8B%E9%80%9A%E6%8A%A5.docx"
    );
    // The percent-encoded name is the office's.
    let encoded = cd.split("filename*=UTF-8''").nth(1).unwrap();
    assert_eq!(
        percent_decode(encoded),
        "桃江县2023年6月重点指标监测通报.docx"
    );
    let docx = r.bytes().unwrap().to_vec();
    let core = unzip(&docx, "docProps/core.xml");
    assert!(
        core.contains("<dc:creator>桃江县统计局</dc:creator>"),
        "{core}"
    );
    assert!(
        core.contains("<dc:title>桃江县2023年6月重点指标监测通报</dc:title>"),
        "{core}"
    );
    assert!(core.contains("2023-07-12T00:00:00Z"), "{core}");
    let xml = unzip(&docx, "word/document.xml");
    assert!(xml.contains("桃统通〔2023〕6号"));
    assert!(xml.contains("桃江县统计局办公室"));
    assert!(xml.contains(r#"<w:sz w:val="44" />"#) || xml.contains(r#"w:sz w:val="44""#));
    assert!(xml.contains(r#"w:sz w:val="32""#));

    // The workbook names the issuer as author; the 落款 under the last line.
    let r = report(&s, &[q[0], q[1], ("format", "xlsx")]);
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"bulletin-2023-06.xlsx\"; filename*=UTF-8''"));
    let xlsx = r.bytes().unwrap().to_vec();
    assert!(unzip(&xlsx, "docProps/core.xml").contains("<dc:creator>桃江县统计局</dc:creator>"));
    let shared = unzip(&xlsx, "xl/sharedStrings.xml");
    for want in ["桃统通〔2023〕6号", "2023年7月12日", "桃江县统计局办公室"] {
        assert!(shared.contains(want), "xlsx: {want}");
    }

    // The HTML is shown inline, under the same names.
    let r = report(&s, &[q[0], q[1], ("format", "html")]);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline; filename=\"bulletin-2023-06.html\"; filename*=UTF-8''"));
}

#[test]
fn the_issue_date_defaults_to_today_on_the_servers_clock_and_a_bad_one_is_400() {
    let s = TestServer::start();
    let today = s.today();
    let written = format!(
        "{}年{}月{}日",
        chrono::Datelike::year(&today),
        chrono::Datelike::month(&today),
        chrono::Datelike::day(&today)
    );
    let r = report(&s, &[("as_of", "2023-06"), ("format", "md")]);
    assert_eq!(r.status(), 200);
    let md = r.text().unwrap();
    // Nothing set: the region's statistics bureau, no 文号.
    assert!(
        md.starts_with(&format!("**桃江县统计局**\n\n{written}\n")),
        "{md}"
    );
    assert!(
        md.ends_with(&format!("桃江县统计局  \n{written}\n")),
        "{md}"
    );
    let (st, p) = problem(report(
        &s,
        &[
            ("as_of", "2023-06"),
            ("format", "md"),
            ("date", "2023-13-01"),
        ],
    ));
    assert_eq!((st, &p["field"]), (400, &json!("date")), "{p}");
}

#[test]
fn serve_issuer_sets_the_home_regions_issuer_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    {
        let s = TestServer::start_at(&dir);
        let r = put_settings(
            &s,
            Some(ADMIN_TOKEN),
            "桃江县",
            r#"{"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局办公室"}"#,
        );
        assert_eq!(r.status(), 201);
        s.stop();
    }
    let s = TestServer::start_at_with(&dir, &["--issuer", "桃江县人民政府督查室"]);
    let v = settings(&s, "桃江县");
    assert_eq!(v["issuer"], "桃江县人民政府督查室");
    assert_eq!(v["doc_number_prefix"], "桃统通", "kept");
    assert_eq!(v["signature"], "桃江县统计局办公室", "kept");
    let md = report(
        &s,
        &[
            ("as_of", "2023-06"),
            ("format", "md"),
            ("date", "2023-07-12"),
        ],
    )
    .text()
    .unwrap();
    assert!(md.starts_with("**桃江县人民政府督查室**\n"), "{md}");
    let audit = s.store().audit_log().unwrap();
    let (_, last) = audit.last().unwrap();
    assert_eq!(last.actor, "serve --issuer");
    let n = audit.len();
    s.stop();
    // Started again with the same issuer: nothing to change, nothing audited.
    let s = TestServer::start_at_with(&dir, &["--issuer", "桃江县人民政府督查室"]);
    assert_eq!(s.store().audit_log().unwrap().len(), n);
    s.stop();
    drop(tmp);
}

#[test]
fn a_bad_serve_issuer_is_refused_at_startup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let args = [
        "--db",
        dir.to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--issuer",
        "桃江县\u{202E}统计局",
    ];
    let cfg = zhibiao::cli::serve::ServeConfig::from_args(args, Some(ADMIN_TOKEN)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(zhibiao::cli::serve::start(cfg))
        .expect_err("refused");
    assert!(e.to_string().starts_with("--issuer: 发文单位"), "{e}");
}

/// Decodes `%XX` escapes into UTF-8.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
