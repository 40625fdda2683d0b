//! Workbooks that inflate far past what they weigh, for the tests of the XLSX caps.
//!
//! The deflate stream is written by hand, so that a bomb costs next to nothing to
//! build even in a debug test: the first bytes as literals, then back-references of
//! 258 bytes at distance 1 (13 bits each with deflate's fixed codes), so that 64 MiB
//! of spaces weigh 420 KB. The zip around it is written by hand too, and may declare
//! any size for the part (the zip reader refuses a part that inflates past what it
//! declares; the caps count what is inflated, whatever is declared). The part's CRC
//! is left 0: a reader that stops at its cap never gets to check it.
//!
//! Shared by the unit tests of `src/ingest` and the API tests.
#![allow(dead_code)]

/// Deflate's bits, least significant first.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which deflate writes most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len);
    }

    fn literal(&mut self, b: u8) {
        match b {
            0..=143 => self.code(0x30 + u32::from(b), 8),
            _ => self.code(0x190 + u32::from(b) - 144, 9),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A raw deflate stream that inflates to `prefix`, then `fill` repeated up to `len`
/// bytes in all.
pub fn deflate_run(prefix: &[u8], fill: u8, len: u64) -> Vec<u8> {
    assert!(len > prefix.len() as u64);
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    for &b in prefix {
        bits.literal(b);
    }
    bits.literal(fill);
    let mut left = len - prefix.len() as u64 - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length code 285: 258 bytes
        bits.code(0, 5); // distance code 0: 1 byte back
        left -= 258;
    }
    for _ in 0..left {
        bits.literal(fill);
    }
    bits.code(0, 7); // end of block
    bits.finish()
}

/// One part of a hand-written zip.
pub struct Part {
    pub name: String,
    /// The bytes stored in the zip.
    pub data: Vec<u8>,
    /// Whether `data` is deflated (else stored).
    pub deflated: bool,
    /// The inflated size the zip declares.
    pub declared: u32,
}

impl Part {
    /// A part stored as it is.
    pub fn stored(name: &str, data: &[u8]) -> Part {
        Part {
            name: name.to_string(),
            data: data.to_vec(),
            deflated: false,
            declared: data.len() as u32,
        }
    }

    /// A part that inflates to `prefix` and then `fill` up to `len` bytes, declaring
    /// `declared` bytes.
    pub fn bomb(name: &str, prefix: &[u8], fill: u8, len: u64, declared: u32) -> Part {
        Part {
            name: name.to_string(),
            data: deflate_run(prefix, fill, len),
            deflated: true,
            declared,
        }
    }
}

/// A zip of `parts`, with CRCs of 0.
pub fn zip(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for p in parts {
        let offset = out.len() as u32;
        let method = if p.deflated { 8 } else { 0 };
        let crc = if p.deflated { 0 } else { crc32(&p.data) };
        le32(&mut out, 0x0403_4b50);
        le16(&mut out, 20); // version needed
        le16(&mut out, 0); // flags
        le16(&mut out, method);
        le16(&mut out, 0); // time
        le16(&mut out, 0x21); // date: 1980-01-01
        le32(&mut out, crc);
        le32(&mut out, p.data.len() as u32);
        le32(&mut out, p.declared);
        le16(&mut out, p.name.len() as u16);
        le16(&mut out, 0); // extra
        out.extend_from_slice(p.name.as_bytes());
        out.extend_from_slice(&p.data);

        le32(&mut directory, 0x0201_4b50);
        le16(&mut directory, 20); // made by
        le16(&mut directory, 20); // needed
        le16(&mut directory, 0);
        le16(&mut directory, method);
        le16(&mut directory, 0);
        le16(&mut directory, 0x21);
        le32(&mut directory, crc);
        le32(&mut directory, p.data.len() as u32);
        le32(&mut directory, p.declared);
        le16(&mut directory, p.name.len() as u16);
        le16(&mut directory, 0); // extra
        le16(&mut directory, 0); // comment
        le16(&mut directory, 0); // disk
        le16(&mut directory, 0); // internal attributes
        le32(&mut directory, 0); // external attributes
        le32(&mut directory, offset);
        directory.extend_from_slice(p.name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&directory);
    le32(&mut out, 0x0605_4b50);
    le16(&mut out, 0);
    le16(&mut out, 0);
    le16(&mut out, parts.len() as u16);
    le16(&mut out, parts.len() as u16);
    le32(&mut out, directory.len() as u32);
    le32(&mut out, at);
    le16(&mut out, 0);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

pub const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

pub const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

pub const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="2023-06" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

/// The start of a worksheet, up to its cells.
pub const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;

/// A workbook of one sheet, `sheet`, with the other parts given (by name and bytes,
/// stored), around the parts every workbook has.
pub fn workbook(sheet: Part, others: &[(&str, &str)]) -> Vec<u8> {
    let mut parts = vec![
        Part::stored("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        Part::stored("_rels/.rels", ROOT_RELS.as_bytes()),
        Part::stored("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        Part::stored("xl/workbook.xml", WORKBOOK.as_bytes()),
    ];
    for (name, text) in others {
        parts.push(Part::stored(name, text.as_bytes()));
    }
    parts.push(sheet);
    zip(&parts)
}

/// A workbook whose sheet inflates to `len` bytes (the start of a worksheet, then
/// spaces), as its zip declares.
pub fn sheet_bomb(len: u64) -> Vec<u8> {
    workbook(
        Part::bomb(
            "xl/worksheets/sheet1.xml",
            SHEET_START.as_bytes(),
            b' ',
            len,
            u32::try_from(len).expect("a bomb under 4 GiB"),
        ),
        &[],
    )
}

/// A workbook whose sheet is `xml`, stored, with optional styles and shared strings.
pub fn sheet_xml(xml: &str, styles: Option<&str>, shared: Option<&str>) -> Vec<u8> {
    let mut others = Vec::new();
    if let Some(s) = styles {
        others.push(("xl/styles.xml", s));
    }
    if let Some(s) = shared {
        others.push(("xl/sharedStrings.xml", s));
    }
    workbook(
        Part::stored("xl/worksheets/sheet1.xml", xml.as_bytes()),
        &others,
    )
}
