//! Which cells of a workbook's first sheet are formatted as percentages.
//!
//! A person who types `7.2%` into Excel gets a cell that *holds* 0.072 and *shows* 7.2%.
//! calamine returns the held number and not the format, so without this a rate would be
//! stored a hundred times too small. We read the sheet's style indexes and the
//! workbook's number formats directly (the file is a zip of XML parts) and report the
//! cells whose format is a percentage; the decoder multiplies those by 100, which is
//! what the person saw.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

fn part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<String> {
    let mut f = zip.by_name(name).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name || a.key.local_name().as_ref() == name)
        .map(|a| a.value.into_owned())
}

/// Calls `f` on every start or empty element of `xml`.
fn each_element(xml: &str, mut f: impl FnMut(&BytesStart<'_>, bool)) {
    let mut r = Reader::from_str(xml);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => f(&e, false),
            Ok(Event::Empty(e)) => f(&e, true),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
}

/// Whether an Excel number format shows a percentage (a `%` outside quotes).
fn is_percent_code(code: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in code.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// The path of the first sheet, in workbook order.
fn first_sheet(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Option<String> {
    let wb = part(zip, "xl/workbook.xml")?;
    let mut rid = None;
    each_element(&wb, |e, _| {
        if rid.is_none() && e.local_name().as_ref() == "sheet" {
            rid = attr(e, "id");
        }
    });
    let rid = rid?;
    let rels = part(zip, "xl/_rels/workbook.xml.rels")?;
    let mut target = None;
    each_element(&rels, |e, _| {
        if e.local_name().as_ref() == "Relationship" && attr(e, "Id").as_deref() == Some(&rid) {
            target = attr(e, "Target");
        }
    });
    let t = target?;
    Some(match t.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("xl/{t}"),
    })
}

/// Excel's limits: 1,048,576 rows and 16,384 columns (A to XFD).
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: u32 = 16_384;

/// Zero-based (row, column) of a cell reference such as `I12`, or `None` when it is
/// malformed or outside Excel's grid.
fn cell_ref(r: &str) -> Option<(u32, u32)> {
    let split = r.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = r.split_at(split);
    if letters.is_empty() || letters.len() > 3 || digits.len() > 7 {
        return None;
    }
    let mut col = 0u32;
    for c in letters.chars() {
        if !c.is_ascii_uppercase() {
            return None;
        }
        col = col * 26 + (c as u32 - 'A' as u32 + 1);
    }
    let row: u32 = digits.parse().ok()?;
    if row == 0 || row > MAX_ROWS || col > MAX_COLS {
        return None;
    }
    Some((row - 1, col - 1))
}

/// Refuses a first sheet whose dimension or cell references are impossible (reversed
/// ranges, columns past XFD, rows past 1,048,576). calamine 0.38 overflows on those
/// (tafia/calamine#692), so they are caught before it reads the sheet. Found by fuzzing.
pub fn check_references(body: &[u8]) -> Result<(), String> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(body)) else {
        return Ok(()); // not a zip: calamine says so itself
    };
    // Every part that could be read as a worksheet, not only the one the workbook
    // names first: a damaged workbook may lead calamine elsewhere.
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.ends_with(".xml") && l.contains("sheet") && !l.contains("_rels")
        })
        .collect();
    for name in names {
        let Ok(mut f) = zip.by_name(&name) else {
            continue;
        };
        let mut bytes = Vec::new();
        if f.read_to_end(&mut bytes).is_err() {
            return Err(format!("{name}: cannot be read"));
        }
        // Excel writes UTF-8; anything else is damage, not a dialect to guess at.
        let xml = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8"))?;
        check_sheet_xml(&xml).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn check_sheet_xml(xml: &str) -> Result<(), String> {
    let mut r = Reader::from_str(xml);
    loop {
        let e = match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(format!("malformed XML ({e})")),
        };
        match e.local_name().as_ref() {
            "dimension" => {
                if let Some(r) = attr(&e, "ref") {
                    let mut ends = r.split(':');
                    let a = ends.next().and_then(cell_ref);
                    let b = ends.next().map(cell_ref);
                    let ok = match (a, b, ends.next()) {
                        (Some(_), None, None) => true,
                        (Some(a), Some(Some(b)), None) => a.0 <= b.0 && a.1 <= b.1,
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("the dimension '{r}' is not a valid range"));
                    }
                }
            }
            "c" => {
                if let Some(r) = attr(&e, "r") {
                    if cell_ref(&r).is_none() {
                        return Err(format!("cell reference '{r}' is outside a worksheet"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The zero-based (row, column) of every percentage-formatted cell of the first sheet.
/// An unreadable part yields an empty set: the values are then taken as they are held.
pub fn percent_cells(body: &[u8]) -> HashSet<(u32, u32)> {
    let mut out = HashSet::new();
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(body)) else {
        return out;
    };
    let Some(sheet_path) = first_sheet(&mut zip) else {
        return out;
    };
    let Some(styles) = part(&mut zip, "xl/styles.xml") else {
        return out;
    };
    // Built-in formats 9 ("0%") and 10 ("0.00%"), plus custom ones with a `%`.
    let mut percent_formats: HashSet<u32> = [9, 10].into_iter().collect();
    let mut in_cell_xfs = false;
    let mut xf_formats: Vec<u32> = Vec::new();
    let mut r = Reader::from_str(&styles);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "numFmt" => {
                    if let (Some(id), Some(code)) = (attr(&e, "numFmtId"), attr(&e, "formatCode")) {
                        if let Ok(id) = id.parse() {
                            if is_percent_code(&code) {
                                percent_formats.insert(id);
                            }
                        }
                    }
                }
                "cellXfs" => in_cell_xfs = true,
                "xf" if in_cell_xfs => {
                    xf_formats.push(
                        attr(&e, "numFmtId")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0),
                    );
                }
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    let percent_styles: HashMap<usize, ()> = xf_formats
        .iter()
        .enumerate()
        .filter(|(_, f)| percent_formats.contains(f))
        .map(|(i, _)| (i, ()))
        .collect();
    if percent_styles.is_empty() {
        return out;
    }
    let Some(sheet) = part(&mut zip, &sheet_path) else {
        return out;
    };
    each_element(&sheet, |e, _| {
        if e.local_name().as_ref() == "c" {
            let style = attr(e, "s").and_then(|s| s.parse::<usize>().ok());
            if style.is_some_and(|s| percent_styles.contains_key(&s)) {
                if let Some(rc) = attr(e, "r").as_deref().and_then(cell_ref) {
                    out.insert(rc);
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_codes_and_cell_references() {
        assert!(is_percent_code("0.0%"));
        assert!(!is_percent_code("0.00\\%"));
        assert!(!is_percent_code("\"%\"0.0"));
        assert_eq!(cell_ref("A1"), Some((0, 0)));
        assert_eq!(cell_ref("I12"), Some((11, 8)));
        assert_eq!(cell_ref("AA3"), Some((2, 26)));
        assert_eq!(cell_ref("3A"), None);
        assert_eq!(cell_ref("XFD1048576"), Some((1_048_575, 16_383)));
        // Found by fuzzing: these overflowed u32 (debug panic, wrong cell in release).
        assert_eq!(cell_ref("AAAAAAAAA1"), None);
        assert_eq!(cell_ref("XFE1"), None);
        assert_eq!(cell_ref("A99999999999"), None);
    }

    #[test]
    fn a_workbook_with_a_percent_cell_reports_it() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let s = wb.add_worksheet();
        let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
        s.write_string(0, 0, "value").unwrap();
        s.write_number_with_format(1, 0, 0.072, &pct).unwrap();
        s.write_number(2, 0, 7.2).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let cells = percent_cells(&bytes);
        assert!(cells.contains(&(1, 0)));
        assert!(!cells.contains(&(2, 0)));
    }
}
