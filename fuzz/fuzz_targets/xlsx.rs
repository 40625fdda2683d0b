//! Any bytes as an XLSX batch: rows or a body error, never a panic, whatever the zip.
//!
//! Each input is tried twice:
//! 1. as the upload itself: garbage, truncated or bit-flipped zips;
//! 2. as the XML parts of a workbook, separated by NUL bytes (the first sheet, then
//!    `xl/styles.xml`, `xl/sharedStrings.xml` and `xl/workbook.xml`), zipped here with
//!    correct checksums. Mutating a real zip mostly breaks its CRCs, and the reader then
//!    refuses it before any XML is parsed; this way the fuzzer reaches calamine's sheet
//!    reader and zhibiao's own percentage-style scan (`ingest/xlsx_styles.rs`).

#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use zhibiao::ingest::{decode, Cancel, Charset, Format, RawRow};
use zip::write::SimpleFileOptions;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="2023-06" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

/// A workbook whose parts are the NUL-separated pieces of `data` (an absent or empty
/// piece leaves that part out, except the workbook part, which then has a default).
fn workbook_from_parts(data: &[u8]) -> Option<Vec<u8>> {
    if !data.contains(&0) {
        return None;
    }
    let mut pieces = data.splitn(4, |&b| b == 0);
    let sheet = pieces.next().unwrap_or_default();
    let styles = pieces.next().unwrap_or_default();
    let shared = pieces.next().unwrap_or_default();
    let workbook = pieces.next().filter(|w| !w.is_empty());
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut add = |name: &str, bytes: &[u8]| -> zip::result::ZipResult<()> {
        zip.start_file(name, opts)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    add("[Content_Types].xml", CONTENT_TYPES.as_bytes()).ok()?;
    add("_rels/.rels", ROOT_RELS.as_bytes()).ok()?;
    add("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()).ok()?;
    add("xl/workbook.xml", workbook.unwrap_or(WORKBOOK.as_bytes())).ok()?;
    add("xl/worksheets/sheet1.xml", sheet).ok()?;
    if !styles.is_empty() {
        add("xl/styles.xml", styles).ok()?;
    }
    if !shared.is_empty() {
        add("xl/sharedStrings.xml", shared).ok()?;
    }
    Some(zip.finish().ok()?.into_inner())
}

fn check(body: &[u8]) {
    let Ok(rows) = decode(Format::Xlsx, Charset::Detect, body, &Cancel::never()) else {
        return;
    };
    for row in &rows {
        let n = match row {
            Ok(RawRow { row, json, .. }) => {
                assert!(!json);
                *row
            }
            Err(e) => e.row,
        };
        assert!(n >= 2, "a data row numbered {n}: {row:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(workbook) = workbook_from_parts(data) {
        check(&workbook);
    }
});
