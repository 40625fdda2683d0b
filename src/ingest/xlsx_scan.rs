//! Bounds on an XLSX upload, checked before anything reads it for real.
//!
//! An XLSX file is a zip of XML parts, and zip is a compression format: a 1 MB upload
//! can inflate to a gigabyte, and the sizes a zip's directory declares are whatever
//! its sender wrote. calamine holds some parts in memory whole (the shared strings,
//! the styles, the relationships, the workbook), reserves room for as many shared
//! strings as the table *declares*, and copies a number format's code into every cell
//! format that names it. So before calamine opens the workbook, every part is streamed
//! once through the decompressor behind a counter that stops one byte past the cap,
//! none of it kept, and its XML is scanned for:
//!
//! - the records calamine will hold: shared strings (and the count their table
//!   declares), relationships, sheets, defined names and styles;
//! - cell references and dimensions outside Excel's grid, on which calamine 0.38
//!   overflows (tafia/calamine#692; found by fuzzing);
//! - number format codes and font names longer than Excel allows.
//!
//! Every part is scanned, not only those a well-formed workbook names: calamine
//! follows the workbook's own relationships, and a damaged or hostile workbook may
//! lead it anywhere. A part that is not XML (an image) is still inflated, to count its
//! bytes, but nothing in it is refused.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::xlsx::{MAX_COLS, MAX_ROWS};
use super::{Cancel, DecodeError, Limits, RowError};
use crate::limits::{Cap, OverCap};

/// What a scan did: the parts it opened and the bytes it inflated, so that a test can
/// see that a refusal came at the cap and not after the whole bomb went off.
#[derive(Debug, Default)]
pub(super) struct Meter {
    pub parts: usize,
    pub inflated: u64,
}

/// The longest number format code or font name. Excel's own limits are 255 and 31
/// characters; calamine copies both into every cell format that uses them.
const MAX_STYLE_TEXT: usize = 255;

/// XML events between two looks at the cancel flag.
const EVENTS_PER_CHECK: usize = 65_536;

/// Refuses a workbook over one of `limits`' caps, or one whose sheets calamine cannot
/// read safely. A body that is not a zip at all passes: calamine says so itself.
pub(super) fn scan(
    body: &[u8],
    limits: &Limits,
    cancel: &Cancel,
    meter: &mut Meter,
) -> Result<(), DecodeError> {
    // Every entry of a zip's central directory starts with this signature, so its
    // count bounds the entries the zip reader will allocate for, before it does.
    let entries = body.windows(4).filter(|w| *w == b"PK\x01\x02").count();
    if entries > limits.xlsx_parts {
        return Err(too_many_parts(limits));
    }
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(body)) else {
        return Ok(());
    };
    if zip.len() > limits.xlsx_parts {
        return Err(too_many_parts(limits));
    }
    let mut tally = Tally::default();
    for i in 0..zip.len() {
        cancel.check()?;
        // A part the zip reader cannot open (encrypted, an unknown compression) is
        // one calamine cannot read either.
        let Ok(part) = zip.by_index(i) else {
            continue;
        };
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        let room = limits
            .xlsx_part_bytes
            .min(limits.xlsx_inflated_bytes.saturating_sub(meter.inflated));
        let mut counted = Counted {
            inner: part.take(room + 1),
            read: 0,
        };
        let scanned = scan_xml(
            BufReader::new(&mut counted),
            is_sheet_name(&name),
            &mut tally,
            limits,
            cancel,
        );
        if !matches!(scanned, Err(Halt::Refused(_))) {
            // The rest of a part the scan stopped reading early still counts.
            let _ = io::copy(&mut counted, &mut io::sink());
        }
        meter.parts += 1;
        meter.inflated += counted.read;
        if counted.read > limits.xlsx_part_bytes {
            return Err(OverCap::new(
                Cap::XlsxPartBytes,
                limits.xlsx_part_bytes,
                format!(
                    "the workbook's part {name} inflates to more than {} bytes (cap {})",
                    limits.xlsx_part_bytes,
                    Cap::XlsxPartBytes.name()
                ),
            )
            .into());
        }
        if meter.inflated > limits.xlsx_inflated_bytes {
            return Err(OverCap::new(
                Cap::XlsxInflatedBytes,
                limits.xlsx_inflated_bytes,
                format!(
                    "the workbook's parts inflate to more than {} bytes together (cap {})",
                    limits.xlsx_inflated_bytes,
                    Cap::XlsxInflatedBytes.name()
                ),
            )
            .into());
        }
        match scanned {
            Ok(()) => {}
            Err(Halt::Refused(e)) => return Err(e),
            Err(Halt::Bad(why)) => {
                return Err(RowError::new(
                    0,
                    "body",
                    format!("not a readable XLSX workbook: {name}: {why}"),
                )
                .into())
            }
        }
    }
    Ok(())
}

fn too_many_parts(limits: &Limits) -> DecodeError {
    OverCap::new(
        Cap::XlsxParts,
        limits.xlsx_parts as u64,
        format!(
            "the workbook holds more than {} parts (cap {})",
            limits.xlsx_parts,
            Cap::XlsxParts.name()
        ),
    )
    .into()
}

/// A part whose name says it is a worksheet: its XML must be well formed. Other parts
/// may be anything, as long as no sheet data in them is damaged.
fn is_sheet_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.ends_with(".xml") && l.contains("sheet") && !l.contains("_rels")
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// What the parts scanned so far hold.
#[derive(Debug, Default)]
struct Tally {
    shared_strings: usize,
    records: usize,
}

/// Why a part's scan stopped short.
enum Halt {
    /// A cap, or the cancel flag.
    Refused(DecodeError),
    /// Damage calamine must not see.
    Bad(String),
}

fn refused(cap: Cap, limit: usize, detail: String) -> Halt {
    Halt::Refused(OverCap::new(cap, limit as u64, detail).into())
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name || a.key.local_name().as_ref() == name)
        .map(|a| a.value.into_owned())
}

fn scan_xml(
    input: impl BufRead,
    strict: bool,
    tally: &mut Tally,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<(), Halt> {
    let mut xml = Reader::from_reader(input);
    // As calamine reads: `<c/>` is `<c></c>`, and end tags are not matched to starts.
    let config = xml.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut in_sheet_data = false;
    let mut in_font = false;
    for events in 1usize.. {
        if events % EVENTS_PER_CHECK == 0 {
            cancel.check().map_err(Halt::Refused)?;
        }
        buf.clear();
        let e = match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => e,
            Ok(Event::End(e)) => {
                match e.local_name().as_ref() {
                    "sheetData" => in_sheet_data = false,
                    "font" => in_font = false,
                    _ => {}
                }
                continue;
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => continue,
            Err(quick_xml::Error::Io(e)) if strict => {
                return Err(Halt::Bad(format!("cannot be read ({e})")))
            }
            Err(e) if strict || in_sheet_data => {
                return Err(Halt::Bad(format!("malformed XML ({e})")))
            }
            // Not XML (an image, say): calamine can find no sheet data in it either.
            Err(_) => return Ok(()),
        };
        let record = match e.local_name().as_ref() {
            "sheetData" => {
                in_sheet_data = true;
                false
            }
            "dimension" => {
                check_dimension(&e).map_err(Halt::Bad)?;
                false
            }
            "row" if in_sheet_data => {
                if let Some(r) = attr(&e, "r") {
                    if row_ref(&r).is_none() {
                        return Err(Halt::Bad(format!(
                            "row number '{r}' is outside a worksheet"
                        )));
                    }
                }
                false
            }
            "c" if in_sheet_data => {
                if let Some(r) = attr(&e, "r") {
                    if cell_ref(&r).is_none() {
                        return Err(Halt::Bad(format!(
                            "cell reference '{r}' is outside a worksheet"
                        )));
                    }
                }
                false
            }
            "sst" => {
                // calamine reserves room for the count the table declares.
                let declared = attr(&e, "uniqueCount").and_then(|n| n.trim().parse::<u64>().ok());
                if declared.is_some_and(|n| n > limits.xlsx_shared_strings as u64) {
                    return Err(too_many_strings(limits));
                }
                false
            }
            "si" => {
                tally.shared_strings += 1;
                if tally.shared_strings > limits.xlsx_shared_strings {
                    return Err(too_many_strings(limits));
                }
                false
            }
            "font" => {
                in_font = true;
                true
            }
            "name" if in_font => {
                style_text(attr(&e, "val"), "font name")?;
                false
            }
            "numFmt" => {
                style_text(attr(&e, "formatCode"), "number format code")?;
                true
            }
            "fill" | "border" | "xf" | "Relationship" | "sheet" | "definedName" => true,
            _ => false,
        };
        if record {
            tally.records += 1;
            if tally.records > limits.xlsx_records {
                return Err(refused(
                    Cap::XlsxRecords,
                    limits.xlsx_records,
                    format!(
                        "the workbook holds more than {} styles, relationships, sheets and defined names (cap {})",
                        limits.xlsx_records,
                        Cap::XlsxRecords.name()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn too_many_strings(limits: &Limits) -> Halt {
    refused(
        Cap::XlsxSharedStrings,
        limits.xlsx_shared_strings,
        format!(
            "the workbook holds more than {} shared strings (cap {})",
            limits.xlsx_shared_strings,
            Cap::XlsxSharedStrings.name()
        ),
    )
}

fn style_text(text: Option<String>, what: &str) -> Result<(), Halt> {
    match text {
        Some(t) if t.chars().count() > MAX_STYLE_TEXT => Err(Halt::Bad(format!(
            "a {what} of {} characters is longer than {MAX_STYLE_TEXT}",
            t.chars().count()
        ))),
        _ => Ok(()),
    }
}

fn check_dimension(e: &BytesStart<'_>) -> Result<(), String> {
    let Some(r) = attr(e, "ref") else {
        return Ok(());
    };
    let mut ends = r.split(':');
    let a = ends.next().and_then(cell_ref);
    let b = ends.next().map(cell_ref);
    let ok = match (a, b, ends.next()) {
        (Some(_), None, None) => true,
        (Some(a), Some(Some(b)), None) => a.0 <= b.0 && a.1 <= b.1,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("the dimension '{r}' is not a valid range"))
    }
}

/// Zero-based (row, column) of a cell reference such as `I12`, or `None` when it is
/// malformed or outside Excel's grid.
pub(super) fn cell_ref(r: &str) -> Option<(u32, u32)> {
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
    let row = row_ref(digits)?;
    if col > MAX_COLS {
        return None;
    }
    Some((row, col - 1))
}

/// Zero-based row of a row number such as `12`, or `None` when it is malformed or
/// outside Excel's grid.
fn row_ref(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let row: u32 = digits.parse().ok()?;
    (1..=MAX_ROWS).contains(&row).then(|| row - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref("A1"), Some((0, 0)));
        assert_eq!(cell_ref("I12"), Some((11, 8)));
        assert_eq!(cell_ref("AA3"), Some((2, 26)));
        assert_eq!(cell_ref("3A"), None);
        assert_eq!(cell_ref("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell_ref("A0"), None);
        assert_eq!(cell_ref("A1048577"), None);
        // Found by fuzzing: these overflowed u32 (debug panic, wrong cell in release).
        assert_eq!(cell_ref("AAAAAAAAA1"), None);
        assert_eq!(cell_ref("XFE1"), None);
        assert_eq!(cell_ref("A99999999999"), None);
        assert_eq!(row_ref("12"), Some(11));
        assert_eq!(row_ref("0"), None);
        assert_eq!(row_ref("99999999999"), None);
        assert_eq!(row_ref("+1"), None);
    }
}
