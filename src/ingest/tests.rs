//! Row numbers, caps and cancellation of the batch decoders.

use proptest::prelude::*;

use super::*;

#[path = "../../tests/common/xlsx_bomb.rs"]
mod xlsx_bomb;

use xlsx_bomb::{sheet_xml, Part, SHEET_START};

fn decode_ok(format: Format, body: &[u8]) -> Rows {
    decode(format, Charset::Detect, body, &Cancel::never())
        .unwrap_or_else(|e| panic!("{format:?} refused: {e}"))
}

fn numbers(rows: &Rows) -> Vec<usize> {
    rows.iter()
        .map(|r| match r {
            Ok(r) => r.row,
            Err(e) => e.row,
        })
        .collect()
}

fn csv_numbers(text: &str) -> Vec<usize> {
    numbers(&decode_ok(Format::Csv, text.as_bytes()))
}

/// The cap a decode was refused by, insisting it was one.
fn over_cap(r: Result<Rows, DecodeError>) -> OverCap {
    match r {
        Err(DecodeError::OverCap(o)) => o,
        Err(other) => panic!("refused, but not by a cap: {other}"),
        Ok(rows) => panic!("accepted {} rows", rows.len()),
    }
}

fn malformed(r: Result<Rows, DecodeError>) -> RowError {
    match r {
        Err(DecodeError::Malformed(e)) => e,
        Err(other) => panic!("refused, but not as malformed: {other}"),
        Ok(rows) => panic!("accepted {} rows", rows.len()),
    }
}

fn with(limits: Limits, format: Format, body: &[u8]) -> Result<Rows, DecodeError> {
    decode_with(format, Charset::Detect, body, &limits, &Cancel::never())
}

// ── CSV row numbers ──────────────────────────────────────────────────────

#[test]
fn csv_rows_are_numbered_by_the_line_they_start_on() {
    let cases: &[(&str, &str, &[usize])] = &[
        // The header is row 1, so the first data row is row 2.
        (
            "plain",
            "indicator,period,value\na,2023-01,1\nb,2023-02,2\n",
            &[2, 3],
        ),
        // Empty lines keep their numbers: the row is the one the spreadsheet shows.
        (
            "empty lines",
            "indicator,period,value\n\na,2023-01,1\n\n\nb,2023-02,2\n",
            &[3, 6],
        ),
        (
            "crlf",
            "indicator,period,value\r\na,2023-01,1\r\n\r\nb,2023-02,2\r\n",
            &[2, 4],
        ),
        // Old Mac line ends: a lone CR ends a line too.
        (
            "lone cr",
            "indicator,period,value\ra,2023-01,1\r\rb,2023-02,2\r",
            &[2, 4],
        ),
        (
            "mixed",
            "indicator,period,value\r\na,2023-01,1\rb,2023-02,2\nc,2023-03,3",
            &[2, 3, 4],
        ),
        // A line break inside a quoted cell is a line of the text.
        (
            "quoted newline",
            "indicator,period,value,note\na,2023-01,1,\"two\nlines\"\nb,2023-02,2\n",
            &[2, 4],
        ),
        (
            "quoted crlf",
            "indicator,period,value,note\r\na,2023-01,1,\"x\r\ny\"\r\nb,2023-02,2\r\n",
            &[2, 4],
        ),
        ("bom", "\u{feff}indicator,period,value\na,2023-01,1\n", &[2]),
        (
            "no final line end",
            "indicator,period,value\na,2023-01,1",
            &[2],
        ),
        (
            "empty lines before the header",
            "\n\nindicator,period,value\na,2023-01,1\n",
            &[4],
        ),
        // A line with no indicator, period or value is skipped, not numbered.
        (
            "blank cells",
            "indicator,period,value,note\n,,,x\na,2023-01,1\n",
            &[3],
        ),
    ];
    for (what, text, want) in cases {
        assert_eq!(csv_numbers(text), *want, "{what}");
    }
}

/// Every byte of the text is looked at a bounded number of times however many
/// records there are: the counter never goes back to byte 0.
#[test]
fn csv_line_counting_looks_at_each_byte_at_most_twice() {
    let mut text = String::from("indicator,period,value\n");
    for i in 0..5_000 {
        text.push_str(&format!("ind-{i},2023-01,{i}\n\n\r\n"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = Lines::new(&text);
    let mut last = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        let line = lines.of_record(rec.position().unwrap().byte() as usize);
        assert!(line > last);
        last = line;
    }
    assert_eq!(last, 1 + 5_000 * 3 - 2);
    assert!(
        lines.looked_at <= 2 * text.len(),
        "{} byte looks for {} bytes",
        lines.looked_at,
        text.len()
    );
}

/// One line of generated CSV: a blank line, or a record, and how it ends.
#[derive(Debug, Clone)]
enum Line {
    Blank(&'static str),
    Record([String; 4], &'static str),
}

fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
}

/// A cell: plain, or quoted with commas, quotes and line breaks of every kind.
fn cell() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just(","),
        Just("\n"),
        Just("\r\n"),
        Just("\r"),
        Just("\"\"")
    ];
    prop_oneof![
        "[a-z0-9]{0,4}",
        prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat())),
    ]
}

/// An indicator cell, never blank, so that every record is a row.
fn indicator_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,4}",
        cell().prop_map(|c| match c.strip_prefix('"') {
            Some(quoted) => format!("\"x{quoted}"),
            None => format!("x{c}"),
        }),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        line_end().prop_map(Line::Blank),
        (indicator_cell(), cell(), cell(), cell(), line_end())
            .prop_map(|(a, b, c, d, end)| Line::Record([a, b, c, d], end)),
    ]
}

/// Line breaks as a text editor counts them: "\r\n", "\n" or a lone "\r".
fn breaks(text: &[u8]) -> usize {
    (0..text.len())
        .filter(|&i| text[i] == b'\n' || (text[i] == b'\r' && text.get(i + 1) != Some(&b'\n')))
        .count()
}

proptest! {
    /// The decoder numbers every record with the line it starts on, as a naive count
    /// of the line breaks before it (from byte 0, for every record) says.
    #[test]
    fn csv_row_numbers_match_a_naive_count_of_line_breaks(
        before in prop::collection::vec(line_end(), 0..3),
        header_end in line_end(),
        lines in prop::collection::vec(line(), 0..12),
        last_ends in any::<bool>(),
    ) {
        let mut text = before.concat();
        text.push_str("indicator,period,value,note");
        text.push_str(header_end);
        let mut want = Vec::new();
        let n = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let end = |e: &'static str| if i + 1 == n && !last_ends { "" } else { e };
            match line {
                Line::Blank(e) => text.push_str(end(e)),
                Line::Record(cells, e) => {
                    want.push(1 + breaks(text.as_bytes()));
                    text.push_str(&cells.join(","));
                    text.push_str(end(e));
                }
            }
        }
        prop_assert_eq!(csv_numbers(&text), want, "{:?}", text);
    }
}

// ── JSON ─────────────────────────────────────────────────────────────────

#[test]
fn json_bodies_keep_their_messages() {
    let body_error = |body: &str| {
        malformed(decode(
            Format::Json,
            Charset::Detect,
            body.as_bytes(),
            &Cancel::never(),
        ))
    };
    assert!(body_error(r#"{"indicator":"a"}"#)
        .message
        .contains("must be a JSON array"));
    assert!(body_error("42").message.contains("must be a JSON array"));
    assert!(body_error("[{").message.starts_with("malformed JSON"));
    assert!(body_error("[] []").message.starts_with("malformed JSON"));
    let e = body_error(r#"[{"indicator":"a","period":"2023-01","value":1e999}]"#);
    assert_eq!((e.row, e.field.as_str()), (0, "value"));
    let rows = decode_ok(
        Format::Json,
        br#"[{"indicator":"a","period":"2023-01","value":1}, 7, {"indicator":"b","period":"2023-02"}]"#,
    );
    assert_eq!(numbers(&rows), [1, 2, 3]);
    assert!(rows[1].is_err());
    assert_eq!(rows[2].as_ref().unwrap().value, RawValue::Missing);
}

// ── the row cap ──────────────────────────────────────────────────────────

fn csv_body(n: usize) -> Vec<u8> {
    let mut s = String::from("indicator,period,value\n");
    for i in 0..n {
        s.push_str(&format!("ind-{i},2023-01,{i}\n"));
    }
    s.into_bytes()
}

fn json_body(n: usize) -> Vec<u8> {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"indicator":"ind-{i}","period":"2023-01","value":{i}}}"#))
        .collect();
    format!("[{}]", items.join(",")).into_bytes()
}

fn ndjson_body(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{{\"indicator\":\"ind-{i}\",\"period\":\"2023-01\",\"value\":{i}}}\n\n"))
        .collect::<String>()
        .into_bytes()
}

/// A sheet's XML from rows of (row number, cells from column A), as inline strings.
fn sheet(rows: &[(u32, &[&str])]) -> String {
    let mut xml = String::from(SHEET_START);
    for (r, cells) in rows {
        xml.push_str(&format!("<row r=\"{r}\">"));
        for (c, text) in cells.iter().enumerate() {
            let col = (b'A' + c as u8) as char;
            xml.push_str(&format!(
                "<c r=\"{col}{r}\" t=\"inlineStr\"><is><t>{text}</t></is></c>"
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

const HEADER: &[&str] = &["indicator", "period", "value"];

fn xlsx_body(n: usize) -> Vec<u8> {
    let data: Vec<[String; 3]> = (0..n)
        .map(|i| [format!("ind-{i}"), "2023-01".into(), i.to_string()])
        .collect();
    let mut rows: Vec<(u32, Vec<&str>)> = vec![(1, HEADER.to_vec())];
    for (i, d) in data.iter().enumerate() {
        rows.push((i as u32 + 2, d.iter().map(String::as_str).collect()));
    }
    let rows: Vec<(u32, &[&str])> = rows.iter().map(|(r, c)| (*r, c.as_slice())).collect();
    sheet_xml(&sheet(&rows), None, None)
}

#[test]
fn every_format_refuses_a_batch_over_the_row_cap_and_takes_one_at_it() {
    let limits = Limits {
        batch_rows: 3,
        ..Limits::DEFAULT
    };
    type Body = fn(usize) -> Vec<u8>;
    let bodies: [(Format, Body); 4] = [
        (Format::Csv, csv_body),
        (Format::Json, json_body),
        (Format::Ndjson, ndjson_body),
        (Format::Xlsx, xlsx_body),
    ];
    for (format, body) in bodies {
        let rows = with(limits, format, &body(3)).unwrap();
        assert_eq!(rows.len(), 3, "{format:?}");
        let o = over_cap(with(limits, format, &body(4)));
        assert_eq!((o.cap, o.limit), (Cap::BatchRows, 3), "{format:?}");
        assert!(o.detail.contains("batch_rows"), "{}", o.detail);
    }
}

#[test]
fn a_csv_of_200_001_rows_is_refused_by_the_default_row_cap() {
    assert_eq!(MAX_BATCH_ROWS, 200_000);
    let rows = decode_ok(Format::Csv, &csv_body(MAX_BATCH_ROWS));
    assert_eq!(rows.len(), MAX_BATCH_ROWS);
    assert_eq!(numbers(&rows).last(), Some(&(MAX_BATCH_ROWS + 1)));
    let o = over_cap(decode(
        Format::Csv,
        Charset::Detect,
        &csv_body(MAX_BATCH_ROWS + 1),
        &Cancel::never(),
    ));
    assert_eq!((o.cap, o.limit), (Cap::BatchRows, 200_000));
}

// ── cancellation ─────────────────────────────────────────────────────────

#[test]
fn a_raised_cancel_flag_stops_every_decoder_and_never_raises_nothing() {
    let cancel = Cancel::new();
    let clone = cancel.clone();
    assert!(!cancel.is_cancelled());
    for (format, body) in [
        (Format::Csv, csv_body(10)),
        (Format::Json, json_body(10)),
        (Format::Ndjson, ndjson_body(10)),
        (Format::Xlsx, xlsx_body(10)),
    ] {
        assert_eq!(
            decode(format, Charset::Detect, &body, &cancel)
                .unwrap()
                .len(),
            10
        );
    }
    clone.cancel();
    assert!(cancel.is_cancelled());
    // Each decoder's own loop looks at the flag, not only `decode` before it starts.
    let limits = Limits::DEFAULT;
    let text = String::from_utf8(csv_body(10)).unwrap();
    assert_eq!(
        decode_csv(&text, &limits, &cancel),
        Err(DecodeError::Cancelled)
    );
    assert_eq!(
        decode_json(&json_body(10), &limits, &cancel),
        Err(DecodeError::Cancelled)
    );
    assert_eq!(
        decode_ndjson(&ndjson_body(10), &limits, &cancel),
        Err(DecodeError::Cancelled)
    );
    assert_eq!(
        xlsx::decode(&xlsx_body(10), &limits, &cancel),
        Err(DecodeError::Cancelled)
    );
    assert_eq!(
        decode(Format::Csv, Charset::Detect, &csv_body(10), &cancel),
        Err(DecodeError::Cancelled)
    );
    let never = Cancel::never();
    never.cancel();
    assert!(!never.is_cancelled());
}

// ── XLSX: bytes and parts ────────────────────────────────────────────────

const MIB: u64 = 1024 * 1024;

/// The small parts around a bomb weigh less than this.
const SMALL_PARTS: u64 = 8 * 1024;

#[test]
fn an_xlsx_part_that_inflates_past_its_cap_is_refused_once_the_cap_is_passed() {
    // 16 MiB of spaces in 105 KB.
    let body = xlsx_bomb::sheet_bomb(16 * MIB);
    assert!(body.len() < 120_000, "{} bytes", body.len());
    let limits = Limits {
        xlsx_part_bytes: MIB,
        ..Limits::DEFAULT
    };
    let mut meter = xlsx_scan::Meter::default();
    let o = match xlsx_scan::scan(&body, &limits, &Cancel::never(), &mut meter) {
        Err(DecodeError::OverCap(o)) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!((o.cap, o.limit), (Cap::XlsxPartBytes, MIB));
    assert!(
        o.detail.contains("xl/worksheets/sheet1.xml"),
        "{}",
        o.detail
    );
    // One byte past the cap was inflated, not the 16 MiB.
    assert!(meter.inflated > MIB, "{}", meter.inflated);
    assert!(
        meter.inflated <= MIB + 1 + SMALL_PARTS,
        "{}",
        meter.inflated
    );
    // And `decode` answers the same before calamine is asked anything.
    let o = over_cap(with(limits, Format::Xlsx, &body));
    assert_eq!((o.cap, o.limit), (Cap::XlsxPartBytes, MIB));
}

/// The zip reader itself refuses a part that inflates past the size its directory
/// declares, so a bomb must declare what it is; the caps count what is inflated.
#[test]
fn an_xlsx_part_that_inflates_past_its_declared_size_is_unreadable() {
    let body = xlsx_bomb::workbook(
        Part::bomb(
            "xl/worksheets/sheet1.xml",
            SHEET_START.as_bytes(),
            b' ',
            4 * MIB,
            1024,
        ),
        &[],
    );
    let mut meter = xlsx_scan::Meter::default();
    let e = match xlsx_scan::scan(&body, &Limits::DEFAULT, &Cancel::never(), &mut meter) {
        Err(DecodeError::Malformed(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(e.message.contains("declared"), "{}", e.message);
    assert!(
        meter.inflated < 1024 + SMALL_PARTS + 64 * 1024,
        "{}",
        meter.inflated
    );
}

#[test]
fn xlsx_parts_under_their_own_cap_are_refused_by_the_cap_on_all_of_them() {
    let parts: Vec<Part> = (0..4)
        .map(|i| {
            Part::bomb(
                &format!("xl/media/image{i}.bin"),
                b"",
                0,
                600 * 1024,
                600 * 1024,
            )
        })
        .collect();
    let mut all = parts;
    all.push(Part::stored(
        "xl/worksheets/sheet1.xml",
        sheet(&[(1, HEADER)]).as_bytes(),
    ));
    let body = xlsx_bomb::zip(&all);
    let limits = Limits {
        xlsx_part_bytes: MIB,
        xlsx_inflated_bytes: 3 * MIB / 2,
        ..Limits::DEFAULT
    };
    let mut meter = xlsx_scan::Meter::default();
    let o = match xlsx_scan::scan(&body, &limits, &Cancel::never(), &mut meter) {
        Err(DecodeError::OverCap(o)) => o,
        other => panic!("{other:?} after {meter:?}"),
    };
    assert_eq!((o.cap, o.limit), (Cap::XlsxInflatedBytes, 3 * MIB / 2));
    assert_eq!(meter.parts, 3, "refused at the third part");
    assert_eq!(meter.inflated, 3 * MIB / 2 + 1);
}

#[test]
fn an_xlsx_of_too_many_parts_is_refused_before_its_directory_is_read() {
    let parts: Vec<Part> = (0..11)
        .map(|i| Part::stored(&format!("part{i}.xml"), b"<a/>"))
        .collect();
    let limits = Limits {
        xlsx_parts: 10,
        ..Limits::DEFAULT
    };
    let mut meter = xlsx_scan::Meter::default();
    let r = xlsx_scan::scan(
        &xlsx_bomb::zip(&parts),
        &limits,
        &Cancel::never(),
        &mut meter,
    );
    match r {
        Err(DecodeError::OverCap(o)) => assert_eq!((o.cap, o.limit), (Cap::XlsxParts, 10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(meter.parts, 0, "no part was opened");
    assert!(with(limits, Format::Xlsx, &xlsx_bomb::zip(&parts[..10]))
        .is_err_and(|e| !matches!(e, DecodeError::OverCap(_))));
}

// ── XLSX: what calamine holds ────────────────────────────────────────────

fn shared_strings(strings: &[String], declared: Option<u64>) -> String {
    let declared = declared.unwrap_or(strings.len() as u64);
    let items: String = strings
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{declared}" uniqueCount="{declared}">{items}</sst>"#
    )
}

/// A sheet whose rows name shared strings: `(row, [indexes of columns A, B, C])`.
fn shared_sheet(rows: &[(u32, [usize; 3])]) -> String {
    let mut xml = String::from(SHEET_START);
    for (r, idx) in rows {
        xml.push_str(&format!("<row r=\"{r}\">"));
        for (c, i) in idx.iter().enumerate() {
            let col = (b'A' + c as u8) as char;
            xml.push_str(&format!("<c r=\"{col}{r}\" t=\"s\"><v>{i}</v></c>"));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

#[test]
fn xlsx_shared_strings_over_the_cap_are_refused_counted_or_declared() {
    let strings: Vec<String> = ["indicator", "period", "value", "a", "2023-01", "1"]
        .map(String::from)
        .to_vec();
    let sheet = shared_sheet(&[(1, [0, 1, 2]), (2, [3, 4, 5])]);
    let body = sheet_xml(&sheet, None, Some(&shared_strings(&strings, None)));
    let rows = decode_ok(Format::Xlsx, &body);
    assert_eq!(rows[0].as_ref().unwrap().indicator, "a");
    let limits = Limits {
        xlsx_shared_strings: 5,
        ..Limits::DEFAULT
    };
    let o = over_cap(with(limits, Format::Xlsx, &body));
    assert_eq!((o.cap, o.limit), (Cap::XlsxSharedStrings, 5));
    // calamine reserves room for as many strings as the table declares.
    let lying = sheet_xml(
        &sheet,
        None,
        Some(&shared_strings(&strings, Some(4_000_000_000))),
    );
    let o = over_cap(with(Limits::DEFAULT, Format::Xlsx, &lying));
    assert_eq!((o.cap, o.limit), (Cap::XlsxSharedStrings, 1_000_000));
}

fn styles(cell_formats: usize, format_code: &str) -> String {
    let xfs: String = (0..cell_formats)
        .map(|_| r#"<xf numFmtId="164" fontId="0"/>"#)
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="{format_code}"/></numFmts><fonts count="1"><font><name val="Arial"/></font></fonts><cellXfs count="{cell_formats}">{xfs}</cellXfs></styleSheet>"#
    )
}

#[test]
fn xlsx_styles_that_calamine_would_copy_without_bound_are_refused() {
    let sheet = sheet(&[(1, HEADER), (2, &["a", "2023-01", "1"])]);
    let body = sheet_xml(&sheet, Some(&styles(100, "0.0")), None);
    assert_eq!(decode_ok(Format::Xlsx, &body).len(), 1);
    let limits = Limits {
        xlsx_records: 50,
        ..Limits::DEFAULT
    };
    let o = over_cap(with(limits, Format::Xlsx, &body));
    assert_eq!((o.cap, o.limit), (Cap::XlsxRecords, 50));
    // calamine copies a format's code into every cell format that names it.
    let long = "0".repeat(300);
    let e = malformed(with(
        Limits::DEFAULT,
        Format::Xlsx,
        &sheet_xml(&sheet, Some(&styles(2, &long)), None),
    ));
    assert!(e.message.contains("number format code"), "{}", e.message);
}

#[test]
fn xlsx_rows_and_cells_over_their_caps_are_refused() {
    let limits = Limits {
        xlsx_rows: 5,
        xlsx_cells: 15,
        ..Limits::DEFAULT
    };
    // The header and four rows: five rows, fifteen cells.
    assert_eq!(with(limits, Format::Xlsx, &xlsx_body(4)).unwrap().len(), 4);
    let o = over_cap(with(limits, Format::Xlsx, &xlsx_body(5)));
    assert_eq!((o.cap, o.limit), (Cap::XlsxCells, 15));
    let o = over_cap(with(
        Limits {
            xlsx_cells: 100,
            ..limits
        },
        Format::Xlsx,
        &xlsx_body(5),
    ));
    assert_eq!((o.cap, o.limit), (Cap::XlsxRows, 5));
}

#[test]
fn one_long_shared_string_named_by_every_row_is_refused_by_the_text_cap() {
    let strings = vec![
        "indicator".to_string(),
        "period".into(),
        "value".into(),
        "x".repeat(10_000),
        "2023-01".into(),
    ];
    let rows: Vec<(u32, [usize; 3])> = std::iter::once((1, [0, 1, 2]))
        .chain((2..22).map(|r| (r, [3, 4, 3])))
        .collect();
    let body = sheet_xml(
        &shared_sheet(&rows),
        None,
        Some(&shared_strings(&strings, None)),
    );
    assert_eq!(decode_ok(Format::Xlsx, &body).len(), 20);
    let limits = Limits {
        xlsx_cell_text_bytes: 100_000,
        ..Limits::DEFAULT
    };
    let o = over_cap(with(limits, Format::Xlsx, &body));
    assert_eq!((o.cap, o.limit), (Cap::XlsxCellText, 100_000));
}

// ── XLSX: the sheet's shape ──────────────────────────────────────────────

/// calamine's dense `Range` would span A1 to XFD1048576 here: seventeen billion
/// cells. The sheet is streamed instead, so the far cell costs one cell.
#[test]
fn a_sheet_with_cells_at_a1_and_xfd1048576_is_read_without_a_dense_grid() {
    let mut xml = sheet(&[(1, HEADER), (2, &["a", "2023-01", "1"])]);
    let end = xml.rfind("</sheetData>").unwrap();
    xml.insert_str(
        end,
        r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
    );
    let xml = xml.replacen(
        "<sheetData>",
        r#"<dimension ref="A1:XFD1048576"/><sheetData>"#,
        1,
    );
    let rows = decode_ok(Format::Xlsx, &sheet_xml(&xml, None, None));
    assert_eq!(numbers(&rows), [2]);
}

#[test]
fn xlsx_sheets_calamine_cannot_place_are_refused_as_malformed() {
    let cases: &[(&str, String, &str)] = &[
        (
            "rows out of order",
            sheet(&[
                (1, HEADER),
                (3, &["a", "2023-01", "1"]),
                (2, &["b", "2023-02", "2"]),
            ]),
            "out of order",
        ),
        (
            "a cell past XFD by counting",
            {
                let mut xml = sheet(&[(1, HEADER)]);
                let cells: String = (0..16_385).map(|_| "<c><v>1</v></c>").collect();
                let end = xml.rfind("</sheetData>").unwrap();
                xml.insert_str(end, &format!("<row r=\"2\">{cells}</row>"));
                xml
            },
            "outside a worksheet",
        ),
        (
            "a reversed dimension",
            sheet(&[(1, HEADER)]).replacen(
                "<sheetData>",
                r#"<dimension ref="C3:A1"/><sheetData>"#,
                1,
            ),
            "not a valid range",
        ),
        (
            "a row number past the grid",
            sheet(&[(1, HEADER)]).replace("<row r=\"1\">", "<row r=\"99999999999\">"),
            "outside a worksheet",
        ),
    ];
    for (what, xml, says) in cases {
        let e = malformed(with(
            Limits::DEFAULT,
            Format::Xlsx,
            &sheet_xml(xml, None, None),
        ));
        assert!(e.message.contains(says), "{what}: {}", e.message);
        assert_eq!(e.row, 0, "{what}");
    }
}

#[test]
fn an_xlsx_header_may_start_right_of_column_a_and_below_row_1() {
    let xml = sheet(&[
        (3, &["", "indicator", "period", "value"]),
        (5, &["x", "a", "2023-01", "1"]),
    ]);
    // The columns are found by their names, wherever the header starts.
    let rows = decode_ok(Format::Xlsx, &sheet_xml(&xml, None, None));
    assert_eq!(numbers(&rows), [5]);
    let r = rows[0].as_ref().unwrap();
    assert_eq!((r.indicator.as_str(), r.period.as_str()), ("a", "2023-01"));
    assert_eq!(r.value, RawValue::Text("1".into()));
}

#[test]
fn a_percent_formatted_cell_is_read_as_it_shows() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    for (c, h) in HEADER.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    s.write_string(1, 0, "a").unwrap();
    s.write_string(1, 1, "2023-01").unwrap();
    s.write_number_with_format(1, 2, 0.072, &pct).unwrap();
    s.write_string(2, 0, "b").unwrap();
    s.write_string(2, 1, "2023-01").unwrap();
    s.write_number(2, 2, 7.2).unwrap();
    let rows = decode_ok(Format::Xlsx, &wb.save_to_buffer().unwrap());
    let values: Vec<RawValue> = rows
        .iter()
        .map(|r| r.as_ref().unwrap().value.clone())
        .collect();
    assert_eq!(values, [RawValue::Number(7.2), RawValue::Number(7.2)]);
}

#[test]
fn a_row_message_quoting_a_huge_cell_is_cut() {
    let header = "x".repeat(1_000_000);
    let e = malformed(decode(
        Format::Csv,
        Charset::Detect,
        format!("{header}\n").as_bytes(),
        &Cancel::never(),
    ));
    assert!(
        e.message.chars().count() <= MAX_MESSAGE_CHARS + 1,
        "{}",
        e.message.len()
    );
    assert!(e.message.ends_with('…'));
    assert!(
        e.message.starts_with("表头中没有“指标编码或指标名称”列"),
        "{}",
        e.message
    );
    let en = e.english.as_deref().unwrap();
    assert!(en.chars().count() <= MAX_MESSAGE_CHARS + 1);
    assert!(en.starts_with("the header has no 'indicator' column"));
}

#[test]
fn headers_are_read_in_english_and_as_offices_write_them() {
    let cases = [
        ("indicator", Some(Column::Indicator)),
        ("指标", Some(Column::Indicator)),
        ("指标代码", Some(Column::Indicator)),
        ("指标名称", Some(Column::Name)),
        (" 指标名称 ", Some(Column::Name)),
        ("\u{feff}指标名称", Some(Column::Name)),
        ("\u{3000}指标名称", Some(Column::Name)),
        ("时期", Some(Column::Period)),
        ("期别", Some(Column::Period)),
        ("月份", Some(Column::Period)),
        ("报告期", Some(Column::Period)),
        ("统计期", Some(Column::Period)),
        ("Period", Some(Column::Period)),
        ("数值", Some(Column::Value)),
        ("数值（亿元）", Some(Column::Value)),
        ("本年累计(万元)", Some(Column::Value)),
        ("本期累计", Some(Column::Value)),
        ("本年累计", Some(Column::Value)),
        ("累计值（%）", Some(Column::Value)),
        ("本月止累计", Some(Column::Value)),
        ("状态", Some(Column::Status)),
        ("数据状态", Some(Column::Status)),
        ("备注", Some(Column::Note)),
        ("说明", Some(Column::Explanation)),
        ("情况说明", Some(Column::Explanation)),
        ("地区", Some(Column::Region)),
        ("region", Some(Column::Region)),
        // The template's columns for the person filling it in.
        ("name", None),
        ("unit", None),
        ("last_value", None),
        // A bracket alone is not a unit suffix of anything.
        ("（亿元）", None),
        ("计量单位", None),
    ];
    for (header, want) in cases {
        assert_eq!(column_of(header), want, "{header:?}");
    }
}

#[test]
fn a_gbk_csv_with_a_name_column_gives_names_as_indicators() {
    let text =
        "指标名称,时期,本年累计（家）,备注,地区\n科技型中小企业入库,2023年1-6月,63,快报,桃江县\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    let rows = decode_ok(Format::Csv, &gbk);
    let r = rows[0].as_ref().unwrap();
    assert_eq!(r.row, 2);
    assert_eq!(r.indicator, "科技型中小企业入库");
    assert_eq!(r.period, "2023年1-6月");
    assert_eq!(r.value, RawValue::Text("63".into()));
    assert_eq!(r.note.as_deref(), Some("快报"));
    assert_eq!(r.region.as_deref(), Some("桃江县"));
}

#[test]
fn the_id_column_wins_over_the_name_column_unless_it_is_empty() {
    let text = "指标名称,指标代码,报告期,数值\n地区生产总值增长,gdp-growth,2023-06,5\n科技型中小企业入库,,2023-06,63\n";
    let rows = decode_ok(Format::Csv, text.as_bytes());
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.as_ref().unwrap().indicator.as_str())
        .collect();
    assert_eq!(ids, ["gdp-growth", "科技型中小企业入库"]);
}

#[test]
fn a_sheet_without_an_id_or_a_name_column_is_refused() {
    let e = malformed(decode(
        Format::Csv,
        Charset::Detect,
        "名称,时期,数值\nx,2023-06,1\n".as_bytes(),
        &Cancel::never(),
    ));
    assert_eq!((e.row, e.field.as_str()), (1, "indicator"));
}

#[test]
fn an_xlsx_with_chinese_headers_reads_names_and_regions() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["地区", "指标名称", "统计期", "数值（家）", "情况说明"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "桃江县").unwrap();
    ws.write_string(1, 1, "科技型中小企业入库").unwrap();
    ws.write_string(1, 2, "2023年第二季度").unwrap();
    ws.write_number(1, 3, 63.0).unwrap();
    ws.write_string(1, 4, "新入库企业集中认定").unwrap();
    let rows = decode_ok(Format::Xlsx, &wb.save_to_buffer().unwrap());
    let r = rows[0].as_ref().unwrap();
    assert_eq!(r.indicator, "科技型中小企业入库");
    assert_eq!(r.period, "2023年第二季度");
    assert_eq!(r.value, RawValue::Number(63.0));
    assert_eq!(r.region.as_deref(), Some("桃江县"));
    assert_eq!(r.explanation.as_deref(), Some("新入库企业集中认定"));
}

#[test]
fn a_json_row_may_name_its_region() {
    let rows = decode_ok(
        Format::Json,
        r#"[{"indicator": "科技型中小企业入库", "period": "2023-06", "value": 63, "region": "桃江县"}]"#
            .as_bytes(),
    );
    assert_eq!(rows[0].as_ref().unwrap().region.as_deref(), Some("桃江县"));
}
