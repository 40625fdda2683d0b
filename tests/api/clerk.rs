//! What a 统计局 clerk's spreadsheet holds, read as the clerk meant it: numbers and
//! periods as Excel and a Chinese input method write them, blank marks, messages in
//! Chinese (English on request), and no upload that stores nothing answered 200.

use reqwest::blocking::Response;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Measured in 家.
const COUNT: &str = "tech-sme-registered";
/// Measured in %.
const RATE: &str = "gdp-growth";

fn post(s: &TestServer, content_type: &str, body: Vec<u8>, lang: Option<&str>) -> Response {
    let mut rb = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body);
    if let Some(l) = lang {
        rb = rb.header("accept-language", l);
    }
    rb.send().expect("POST /v1/readings")
}

fn answer(r: Response) -> (u16, Value) {
    let st = r.status().as_u16();
    (st, r.json().expect("a JSON answer"))
}

fn csv(rows: &[[&str; 3]]) -> Vec<u8> {
    let mut t = String::from("指标编码,报告期,本期数\n");
    for r in rows {
        t.push_str(&format!("{},{},\"{}\"\n", r[0], r[1], r[2]));
    }
    t.into_bytes()
}

fn value_of(s: &TestServer, id: &str, period: &str) -> Option<f64> {
    let r = s.get(&format!("/v1/indicators/{id}/readings/{period}"));
    match r.status().as_u16() {
        200 => r.json::<Value>().unwrap()["value"].as_f64(),
        404 => None,
        other => panic!("GET reading of {id} {period}: {other}"),
    }
}

#[test]
fn numbers_are_read_as_excel_and_a_chinese_input_method_write_them() {
    let s = TestServer::start();
    // One figure per indicator, so that no month-on-month check is in play.
    let cases: [(&str, &str, &str, f64); 7] = [
        (COUNT, "2023-06", "１２", 12.0),
        ("tax-revenue", "2023-06", "1,234", 1234.0),
        ("import-export-value", "2023-06", "１，２３４.５", 1234.5),
        (RATE, "2023-06", "－3", -3.0),
        ("fixed-asset-investment-growth", "2023-06", "8%", 8.0),
        ("retail-sales-growth", "2023-06", "７．２％", 7.2),
        ("tax-share-of-revenue", "2023-06", "\u{3000}６5 ", 65.0),
    ];
    let rows: Vec<[&str; 3]> = cases.iter().map(|(i, p, v, _)| [*i, *p, *v]).collect();
    let (st, a) = answer(post(&s, "text/csv", csv(&rows), None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["created"], 7, "{a}");
    for (id, period, text, want) in cases {
        assert_eq!(value_of(&s, id, period), Some(want), "{text}");
    }
}

#[test]
fn blank_marks_are_skipped_with_their_reason_and_listed() {
    let s = TestServer::start();
    let body = csv(&[
        [COUNT, "2023-06", "63"],
        [RATE, "2023-06", "—"],
        ["tax-revenue", "2023-06", "无"],
        ["tax-share-of-revenue", "2023-06", "/"],
        ["industrial-value-added-growth", "2023-06", "－"],
    ]);
    let (st, a) = answer(post(&s, "text/csv", body, None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["created"], 1, "{a}");
    assert_eq!(a["skipped"], 4, "{a}");
    let skipped = a["skipped_rows"].as_array().expect("skipped_rows");
    let rows: Vec<u64> = skipped.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [3, 4, 5, 6], "{a}");
    assert_eq!(skipped[0]["indicator"], RATE);
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("“—”") && reason.contains("按空白处理"),
        "{reason}"
    );
    assert!(value_of(&s, RATE, "2023-06").is_none());
    // In English on request.
    let body = csv(&[[COUNT, "2023-05", "50"], [RATE, "2023-05", "—"]]);
    let (_, a) = answer(post(&s, "text/csv", body, Some("en-US,en;q=0.9")));
    let reason = a["skipped_rows"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("means no figure"), "{reason}");
}

#[test]
fn periods_are_read_as_excel_writes_them() {
    let s = TestServer::start();
    let forms = [
        ("2023/1", 1),
        ("2023.02", 2),
        ("2023/3/31", 3),
        ("2023-04-30", 4),
        ("2023年1-5月", 5),
        ("2023年二季度", 6),
        ("2023年7月", 7),
        ("45169", 8), // the serial of 2023-08-31, as a date cell pasted as text shows
    ];
    let rows: Vec<[String; 3]> = forms
        .iter()
        .map(|(p, m)| [COUNT.to_string(), p.to_string(), format!("{}", m * 10)])
        .collect();
    let rows: Vec<[&str; 3]> = rows.iter().map(|r| [&*r[0], &*r[1], &*r[2]]).collect();
    let (st, a) = answer(post(&s, "text/csv", csv(&rows), None));
    assert_eq!(st, 200, "{a}");
    for (text, m) in forms {
        let p = format!("2023-{m:02}");
        assert_eq!(value_of(&s, COUNT, &p), Some(f64::from(m * 10)), "{text}");
    }
}

#[test]
fn a_date_typed_period_cell_names_its_month() {
    let s = TestServer::start();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["指标编码", "报告期", "本期数"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy/m/d");
    let month = Format::new().set_num_format("yyyy\"年\"m\"月\"");
    ws.write_string(1, 0, COUNT).unwrap();
    ws.write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(2023, 6, 30).unwrap(), &date)
        .unwrap();
    ws.write_number(1, 2, 63).unwrap();
    ws.write_string(2, 0, RATE).unwrap();
    ws.write_datetime_with_format(2, 1, ExcelDateTime::from_ymd(2023, 6, 1).unwrap(), &month)
        .unwrap();
    ws.write_number(2, 2, 5.5).unwrap();
    let (st, a) = answer(post(&s, XLSX, wb.save_to_buffer().unwrap(), None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(value_of(&s, COUNT, "2023-06"), Some(63.0));
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.5));
    // A date in the middle of a month names no month: said in Chinese, quoting it.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["指标编码", "报告期", "本期数"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, COUNT).unwrap();
    ws.write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(2023, 6, 15).unwrap(), &date)
        .unwrap();
    ws.write_number(1, 2, 70).unwrap();
    let (st, a) = answer(post(&s, XLSX, wb.save_to_buffer().unwrap(), None));
    assert_eq!(st, 400, "{a}");
    let e = &a["errors"][0];
    assert_eq!(e["field"], "period");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("“2023-06-15”") && m.contains("既不是月初也不是月末"),
        "{m}"
    );
}

#[test]
fn row_errors_are_chinese_by_default_and_english_on_request() {
    let s = TestServer::start();
    let body = || csv(&[[COUNT, "2023/6/15", "１２.５x"], [RATE, "2099-03", "5"]]);
    let (st, zh) = answer(post(&s, "text/csv", body(), None));
    assert_eq!(st, 400, "{zh}");
    assert_eq!(zh["type"], "urn:zhibiao:problem:invalid-rows");
    assert!(
        zh["detail"].as_str().unwrap().contains("本批均未写入"),
        "{zh}"
    );
    let (st, en) = answer(post(&s, "text/csv", body(), Some("en")));
    assert_eq!(st, 400, "{en}");
    // The machine keys do not change with the language.
    assert_eq!(en["type"], zh["type"]);
    let keys = |v: &Value| -> Vec<(u64, String)> {
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["row"].as_u64().unwrap(),
                    e["field"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(keys(&zh), keys(&en));
    assert_eq!(
        keys(&zh),
        [
            (2, "period".into()),
            (2, "value".into()),
            (3, "period".into())
        ]
    );
    let msg = |v: &Value, i: usize| v["errors"][i]["message"].as_str().unwrap().to_string();
    assert!(
        msg(&zh, 0).contains("报送期“2023/6/15”无法识别"),
        "{}",
        msg(&zh, 0)
    );
    assert!(
        msg(&zh, 1).contains("“１２.５x”不是数字"),
        "{}",
        msg(&zh, 1)
    );
    assert!(msg(&zh, 2).contains("还没有结束"), "{}", msg(&zh, 2));
    assert!(msg(&en, 0).contains("is not a period"), "{}", msg(&en, 0));
    assert!(msg(&en, 1).contains("is not a number"), "{}", msg(&en, 1));
    assert!(msg(&en, 2).contains("has not ended yet"), "{}", msg(&en, 2));
    assert!(
        en["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{en}"
    );
    // A single problem too: an unknown indicator's 404.
    let r = s.get("/v1/indicators/no-such-thing");
    let (st, v) = answer(r);
    assert_eq!(st, 404);
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("没有编号为“no-such-thing”的指标"),
        "{v}"
    );
    let r = s
        .client
        .get(s.url("/v1/indicators/no-such-thing"))
        .header("accept-language", "en")
        .send()
        .unwrap();
    let (_, v) = answer(r);
    assert_eq!(
        v["detail"],
        "no indicator 'no-such-thing'; see GET /v1/indicators"
    );
}

/// The template for June with `fill` run over its sheet before it is saved.
fn filled_template(
    s: &TestServer,
    fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet, usize),
    second_sheet: Option<&str>,
) -> Vec<u8> {
    use calamine::{Data, Reader, Xlsx};
    let bytes = s
        .client
        .get(s.url("/v1/templates/readings.xlsx?period=2023-06"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let mut out = Workbook::new();
    let ws = out.add_worksheet();
    let mut rows = 0;
    for (r, row) in range.rows().enumerate() {
        rows = r;
        for (c, d) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match d {
                Data::String(t) => {
                    ws.write_string(r, c, t).unwrap();
                }
                Data::Float(f) => {
                    ws.write_number(r, c, *f).unwrap();
                }
                Data::Int(n) => {
                    ws.write_number(r, c, *n as f64).unwrap();
                }
                _ => {}
            }
        }
    }
    fill(ws, rows);
    if let Some(name) = second_sheet {
        let ws2 = out.add_worksheet();
        ws2.set_name(name).unwrap();
        ws2.write_string(0, 0, "指标名称").unwrap();
        ws2.write_string(0, 1, "本期数").unwrap();
        ws2.write_string(1, 0, "科技型中小企业").unwrap();
        ws2.write_number(1, 1, 63).unwrap();
    }
    out.save_to_buffer().unwrap()
}

#[test]
fn figures_typed_into_the_last_value_column_are_refused_with_why() {
    let s = TestServer::start();
    // 上期数 is the seventh column, 本期数 the ninth: the clerk typed into the former.
    let body = filled_template(
        &s,
        |ws, _| {
            for r in 1..=20 {
                ws.write_number(r, 6, 10.0 + f64::from(r)).unwrap();
            }
        },
        None,
    );
    let (st, a) = answer(post(&s, XLSX, body, None));
    assert_eq!(st, 422, "{a}");
    assert_eq!(a["type"], "urn:zhibiao:problem:nothing-stored");
    let d = a["detail"].as_str().unwrap();
    assert!(
        d.contains("没有写入任何内容") && d.contains("“上期数”列里有数字"),
        "{d}"
    );
    // Every row is listed with why it was left out.
    let errors = a["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 203, "{a}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("本期数为空"));
}

#[test]
fn figures_on_a_second_sheet_are_refused_with_why() {
    let s = TestServer::start();
    let body = filled_template(&s, |_, _| {}, Some("填报"));
    let (st, a) = answer(post(&s, XLSX, body, None));
    assert_eq!(st, 422, "{a}");
    let d = a["detail"].as_str().unwrap();
    assert!(d.contains("工作表“填报”里有数字"), "{d}");
    let r = post(
        &s,
        XLSX,
        filled_template(&s, |_, _| {}, Some("填报")),
        Some("en"),
    );
    let (_, a) = answer(r);
    let d = a["detail"].as_str().unwrap();
    assert!(
        d.contains("Only the first sheet") && d.contains("填报"),
        "{d}"
    );
}

#[test]
fn a_note_without_a_value_is_kept_as_the_periods_note_never_dropped() {
    let s = TestServer::start();
    // 备注 is the eleventh column, 数据状态 the tenth.
    let body = filled_template(
        &s,
        |ws, _| {
            ws.write_number(1, 8, 5.5).unwrap();
            ws.write_string(2, 9, "P").unwrap();
            ws.write_string(2, 10, "数据待财政局核实后补报").unwrap();
        },
        None,
    );
    // The preview says what becomes of the row before anything is written.
    let (st, p) = post_q(&s, "?preview=true", XLSX, body.clone());
    assert_eq!(st, 200, "{p}");
    assert_eq!(action_of(&p, 3), "note", "{p}");
    assert_eq!(p["notes"], 1, "{p}");
    let said = p["rows"][1]["messages"][0].as_str().unwrap();
    assert!(
        said.contains("备注“数据待财政局核实后补报”将作为本期的说明保存"),
        "{said}"
    );

    let (st, a) = answer(post(&s, XLSX, body, None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        (a["created"].as_u64(), a["notes"].as_u64()),
        (Some(1), Some(1)),
        "{a}"
    );
    let noted = &a["noted_rows"][0];
    assert_eq!(noted["row"], 3, "{a}");
    assert_eq!(noted["period"], "2023-06", "{a}");
    assert_eq!(noted["note"], "数据待财政局核实后补报", "{a}");
    let id = noted["indicator"].as_str().unwrap().to_string();
    // The good first row is written; the noted row is still no reading.
    assert_eq!(value_of(&s, "gdp-growth", "2023-06"), Some(5.5));
    assert_eq!(value_of(&s, &id, "2023-06"), None);

    // The figure is still overdue, and the 催报 list says why.
    let list: Value = s.get("/v1/overdue?on=2023-08-01").json().unwrap();
    let item = list["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["indicator"] == id.as_str() && o["period"] == "2023-06")
        .unwrap_or_else(|| panic!("{id} 2023-06 is not on the overdue list: {list}"));
    assert_eq!(item["note"], "数据待财政局核实后补报", "{item}");
    // A figure without a note has none.
    assert!(list["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["indicator"] != id.as_str() && o["note"].is_null()));

    // The indicator page lists it under 报送说明, the figure 未报.
    let page = s
        .get(&format!("/indicators/{id}?as_of=2023-06"))
        .text()
        .unwrap();
    let notes = &page[page
        .find("<table class=\"notes\">")
        .expect("a 报送说明 table")..];
    assert!(notes.contains("数据待财政局核实后补报"), "{notes}");
    assert!(notes.contains("<td>未报</td>"), "{notes}");

    // A later figure for the period: the note stays in the history, the page says 已报送.
    s.submit(&id, "2023-06", 7.0);
    let page = s
        .get(&format!("/indicators/{id}?as_of=2023-06"))
        .text()
        .unwrap();
    assert!(page.contains("<td>已报送</td>"), "{page}");
}

#[test]
fn a_status_or_an_explanation_without_a_value_or_a_note_is_refused() {
    let s = TestServer::start();
    let body = filled_template(
        &s,
        |ws, _| {
            ws.write_number(1, 8, 5.5).unwrap();
            ws.write_string(2, 9, "P").unwrap();
        },
        None,
    );
    let (st, a) = answer(post(&s, XLSX, body, None));
    assert_eq!(st, 400, "{a}");
    assert_eq!(a["errors"][0]["row"], 3, "{a}");
    let m = a["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("数据状态“P”") && m.contains("备注栏写明原因"),
        "{m}"
    );
    // Nothing of the batch was written, the good first row included.
    assert!(value_of(&s, "gdp-growth", "2023-06").is_none());
}

// ── uploads as a browser and a desktop tool send them ──────────────────────

/// A `multipart/form-data` body of `parts`: (field name, file name, content type, bytes).
fn form(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----zhibiaoFormBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, file, ct, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => {
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn one_row_workbook(id: &str, value: f64) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["指标编码", "报告期", "本期数"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, id).unwrap();
    ws.write_string(1, 1, "2023年6月").unwrap();
    ws.write_number(1, 2, value).unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_browser_form_upload_is_read_from_its_one_file_part() {
    let s = TestServer::start();
    let xlsx = one_row_workbook(COUNT, 63.0);
    // A browser sends the month field beside the file, and names the file.
    let (ct, body) = form(&[
        ("period", None, "text/plain", b"2023-06"),
        ("file", Some("桃江县2023年6月报送表.xlsx"), XLSX, &xlsx),
    ]);
    let (st, a) = answer(post(&s, &ct, body, None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["created"], 1, "{a}");
    assert_eq!(value_of(&s, COUNT, "2023-06"), Some(63.0));
    // A CSV that Windows labels application/vnd.ms-excel, in a form.
    let csv_bytes = "指标编码,报告期,本期数\ngdp-growth,2023/6,5.5\n".as_bytes();
    let (ct, body) = form(&[(
        "file",
        Some("june.csv"),
        "application/vnd.ms-excel",
        csv_bytes,
    )]);
    let (st, a) = answer(post(&s, &ct, body, None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.5));
}

#[test]
fn octets_and_vague_types_are_read_by_what_they_hold() {
    let s = TestServer::start();
    let (st, a) = answer(post(
        &s,
        "application/octet-stream",
        one_row_workbook(COUNT, 63.0),
        None,
    ));
    assert_eq!(st, 200, "{a}");
    assert_eq!(value_of(&s, COUNT, "2023-06"), Some(63.0));
    let csv_bytes = "指标编码,报告期,本期数\ngdp-growth,2023-06,5.5\n"
        .as_bytes()
        .to_vec();
    let (st, a) = answer(post(&s, "application/vnd.ms-excel", csv_bytes, None));
    assert_eq!(st, 200, "{a}");
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.5));
}

#[test]
fn a_form_without_one_readable_file_is_refused_saying_why() {
    let s = TestServer::start();
    let xlsx = one_row_workbook(COUNT, 63.0);
    // No file.
    let (ct, body) = form(&[("period", None, "text/plain", b"2023-06")]);
    let (st, a) = answer(post(&s, &ct, body, None));
    assert_eq!((st, a["field"].as_str()), (400, Some("file")), "{a}");
    assert!(
        a["detail"].as_str().unwrap().contains("表单里没有文件"),
        "{a}"
    );
    // Two files.
    let (ct, body) = form(&[
        ("file", Some("a.xlsx"), XLSX, &xlsx),
        ("file2", Some("b.xlsx"), XLSX, &xlsx),
    ]);
    let (st, a) = answer(post(&s, &ct, body, None));
    assert_eq!((st, a["field"].as_str()), (400, Some("file")), "{a}");
    // An old .xls (an OLE file): 415, saying what to do.
    let ole = [0xD0u8, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];
    let (ct, body) = form(&[("file", Some("june.xls"), "application/vnd.ms-excel", &ole)]);
    let (st, a) = answer(post(&s, &ct, body, None));
    assert_eq!(st, 415, "{a}");
    assert!(a["detail"].as_str().unwrap().contains("另存为"), "{a}");
    // A multipart type without its boundary.
    let (st, a) = answer(post(&s, "multipart/form-data", xlsx.clone(), None));
    assert_eq!(
        (st, a["field"].as_str()),
        (400, Some("Content-Type")),
        "{a}"
    );
    // Nothing of these was written.
    assert!(value_of(&s, COUNT, "2023-06").is_none());
}

// ── preview, then confirm ───────────────────────────────────────────────────

fn post_q(s: &TestServer, query: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(&format!("/v1/readings{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    answer(r)
}

fn action_of(p: &Value, row: u64) -> String {
    p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"] == row)
        .unwrap_or_else(|| panic!("row {row} in {p}"))["action"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_preview_says_row_by_row_what_confirming_would_do_and_writes_nothing() {
    let s = TestServer::start();
    s.submit(COUNT, "2023-05", 60.0);
    s.submit(RATE, "2023-06", 5.5);
    s.submit("tax-revenue", "2023-05", 30000.0);
    let file = csv(&[
        [COUNT, "2023-06", "63"],                  // row 2: 新增
        [RATE, "2023-06", "5.8"],                  // row 3: 更新 5.5 → 5.8
        [COUNT, "2023-05", "60"],                  // row 4: 未变
        ["retail-sales-growth", "2023-06", "—"],   // row 5: 跳过
        ["tax-share-of-revenue", "2023-06", "x1"], // row 6: 错误
        ["tax-revenue", "2023-06", "20000"],       // row 7: 累计值回落
    ]);
    let (st, p) = post_q(&s, "?preview=true", "text/csv", file.clone());
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["preview"], true);
    let actions: Vec<String> = (2..=7).map(|r| action_of(&p, r)).collect();
    assert_eq!(
        actions,
        [
            "created",
            "replaced",
            "unchanged",
            "skipped",
            "error",
            "failed_checks"
        ],
        "{p}"
    );
    let row = |n: usize| &p["rows"][n];
    assert_eq!(
        (row(1)["old"].as_f64(), row(1)["new"].as_f64()),
        (Some(5.5), Some(5.8))
    );
    assert_eq!(row(1)["revision"], 1);
    assert!(
        row(3)["messages"][0]
            .as_str()
            .unwrap()
            .contains("按空白处理"),
        "{p}"
    );
    assert!(
        row(4)["messages"][0].as_str().unwrap().contains("不是数字"),
        "{p}"
    );
    assert_eq!(row(5)["checks"][0], "cumulative_fall", "{p}");
    assert_eq!(
        (
            p["created"].as_u64(),
            p["replaced"].as_u64(),
            p["errors"].as_u64(),
            p["failed_checks"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert!(p["confirm"].as_str().unwrap().len() >= 16);
    // Nothing was written.
    assert_eq!(value_of(&s, COUNT, "2023-06"), None);
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.5));
    // Preview and confirm together make no sense.
    let (st, v) = post_q(&s, "?preview=true&confirm=abc", "text/csv", file);
    assert_eq!((st, v["field"].as_str()), (400, Some("confirm")), "{v}");
}

#[test]
fn confirming_writes_what_the_preview_showed_with_the_explanations_written_in_its_boxes() {
    let s = TestServer::start();
    s.submit(RATE, "2023-06", 5.5);
    s.submit("tax-revenue", "2023-05", 30000.0);
    let xlsx = {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["指标编码", "报告期", "本期数"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, (id, v)) in [(COUNT, 63.0), (RATE, 5.8), ("tax-revenue", 20000.0)]
            .iter()
            .enumerate()
        {
            ws.write_string(r as u32 + 1, 0, *id).unwrap();
            ws.write_string(r as u32 + 1, 1, "2023-06").unwrap();
            ws.write_number(r as u32 + 1, 2, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    };
    let (ct, body) = form(&[("file", Some("june.xlsx"), XLSX, &xlsx)]);
    let (st, p) = post_q(&s, "?preview=true", &ct, body);
    assert_eq!(st, 200, "{p}");
    assert_eq!(action_of(&p, 4), "failed_checks", "{p}");
    let token = p["confirm"].as_str().unwrap().to_string();
    // A write to an indicator the sheet does not hold does not void the preview.
    s.submit("retail-sales-growth", "2023-06", 6.0);
    // The 说明 box of row 4, sent beside the same file.
    let (ct, body) = form(&[
        ("file", Some("june.xlsx"), XLSX, &xlsx),
        (
            "explanation.4",
            None,
            "text/plain",
            "减税降费政策影响，已核实".as_bytes(),
        ),
    ]);
    let (st, a) = post_q(&s, &format!("?confirm={token}"), &ct, body);
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        (a["created"].as_u64(), a["replaced"].as_u64()),
        (Some(2), Some(1)),
        "{a}"
    );
    assert_eq!(value_of(&s, COUNT, "2023-06"), Some(63.0));
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.8));
    assert_eq!(value_of(&s, "tax-revenue", "2023-06"), Some(20000.0));
    let flagged = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"] == 4)
        .unwrap();
    assert_eq!(flagged["flagged"][0], "cumulative_fall", "{a}");
}

#[test]
fn a_confirm_after_a_previewed_row_changed_writes_nothing_and_shows_the_new_preview() {
    let s = TestServer::start();
    s.submit(RATE, "2023-06", 5.5);
    let file = csv(&[[COUNT, "2023-06", "63"], [RATE, "2023-06", "5.8"]]);
    let (_, p) = post_q(&s, "?preview=true", "text/csv", file.clone());
    let token = p["confirm"].as_str().unwrap().to_string();
    // Someone else revises a row of the sheet meanwhile.
    s.submit(RATE, "2023-06", 5.6);
    let (st, v) = post_q(&s, &format!("?confirm={token}"), "text/csv", file.clone());
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["type"], "urn:zhibiao:problem:stale-preview");
    assert!(v["detail"].as_str().unwrap().contains("预览之后"), "{v}");
    let new = &v["preview"];
    assert_eq!(new["rows"][1]["old"].as_f64(), Some(5.6), "{v}");
    assert_eq!(new["rows"][1]["revision"], 2, "{v}");
    assert_ne!(new["confirm"], p["confirm"]);
    // Nothing of the sheet was written, the untouched row included.
    assert_eq!(value_of(&s, COUNT, "2023-06"), None);
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.6));
    // The new preview's token confirms it.
    let token = new["confirm"].as_str().unwrap();
    let (st, a) = post_q(&s, &format!("?confirm={token}"), "text/csv", file);
    assert_eq!(st, 200, "{a}");
    assert_eq!(value_of(&s, RATE, "2023-06"), Some(5.8));
    // A token of another file does not confirm this one.
    let other = csv(&[[COUNT, "2023-07", "70"]]);
    let (st, v) = post_q(&s, &format!("?confirm={token}"), "text/csv", other);
    assert_eq!(st, 409, "{v}");
    assert_eq!(value_of(&s, COUNT, "2023-07"), None);
}
