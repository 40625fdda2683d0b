//! A spreadsheet as a browser or a desktop tool sends it: a form upload
//! (`multipart/form-data` with one file part), or the bytes alone under a vague type
//! (`application/octet-stream`, `application/vnd.ms-excel`, which Windows gives a
//! `.csv`). Each is unwrapped to the file and its format, so that a batch is decoded
//! the same however it came. The format is read from the file's first bytes (an XLSX
//! is a zip), then from its name; the type a browser guessed is not trusted.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::stream;

use crate::api::body::ReadBody;
use crate::api::ApiError;
use crate::domain::messages::Msg;
use crate::ingest::{self, Charset, Format};

/// How a batch body arrived.
pub(crate) enum Arrival {
    /// A batch type (JSON, NDJSON, CSV, XLSX): decoded as it is.
    Typed(Format, Charset),
    /// A form upload: its one file part is the batch.
    Form { boundary: String },
    /// Bytes under a type that names no format: the format is read from them.
    Sniffed,
}

/// What the `Content-Type` of a batch says about how it arrived.
pub(crate) fn arrival(content_type: Option<&str>) -> Result<Arrival, ApiError> {
    let ct = content_type.unwrap_or("application/json");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "multipart/form-data" => multer::parse_boundary(ct)
            .map(|boundary| Arrival::Form { boundary })
            .map_err(|_| {
                ApiError::invalid(
                    "Content-Type",
                    Msg::new(
                        "multipart/form-data 缺少 boundary 参数",
                        "multipart/form-data needs a boundary parameter",
                    ),
                )
            }),
        "application/octet-stream" | "application/vnd.ms-excel" => Ok(Arrival::Sniffed),
        _ => ingest::format_of(content_type)
            .map(|(f, c)| Arrival::Typed(f, c))
            .map_err(|m| ApiError::UnsupportedMediaType(unsupported(m))),
    }
}

fn unsupported(english: String) -> Msg {
    Msg::new(
        format!(
            "不支持这种格式。请上传 Excel 工作簿（.xlsx）或 CSV 文件，或发送 JSON（{english}）"
        ),
        english,
    )
}

/// A batch unwrapped from how it arrived.
pub(crate) struct Upload {
    pub format: Format,
    pub charset: Charset,
    /// The batch itself: the body, or a form's file part.
    pub body: ReadBody,
    /// 强制上报说明 written beside the file, by row: a form's `explanation.<row>`
    /// fields (the boxes of the preview page).
    pub explanations: HashMap<usize, String>,
    /// The file's name, when a form gave one.
    pub name: Option<String>,
}

/// The batch in `body` and its format, unwrapped from how it arrived. A form must hold
/// exactly one file part; of its text fields only `explanation.<row>` is read.
pub(crate) async fn unwrap(how: Arrival, body: ReadBody) -> Result<Upload, ApiError> {
    match how {
        Arrival::Typed(format, charset) => Ok(Upload {
            format,
            charset,
            body,
            explanations: HashMap::new(),
            name: None,
        }),
        Arrival::Sniffed => Ok(Upload {
            format: sniff(&body, None)?,
            charset: Charset::Detect,
            body,
            explanations: HashMap::new(),
            name: None,
        }),
        Arrival::Form { boundary } => {
            let form = read_form(Bytes::clone(&body), &boundary).await?;
            Ok(Upload {
                format: sniff(&form.file, form.name.as_deref())?,
                charset: Charset::Detect,
                body: body.replaced(form.file),
                explanations: form.explanations,
                name: form.name,
            })
        }
    }
}

/// What a form holds: its one file, the file's name, and the explanations by row.
struct Form {
    file: Bytes,
    name: Option<String>,
    explanations: HashMap<usize, String>,
}

/// The longest text field of a form read, in bytes (a 强制上报说明 is at most a few
/// hundred characters).
const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Reads a form body: its one file part and its `explanation.<row>` fields.
async fn read_form(body: Bytes, boundary: &str) -> Result<Form, ApiError> {
    let malformed = |e: multer::Error| {
        ApiError::invalid(
            "body",
            Msg::new(
                format!("表单内容无法读取：{e}"),
                format!("the form could not be read: {e}"),
            ),
        )
    };
    let chunks = stream::iter([Ok::<Bytes, std::convert::Infallible>(body)]);
    let mut form = multer::Multipart::new(chunks, boundary);
    let mut found: Option<(Bytes, Option<String>)> = None;
    let mut explanations = HashMap::new();
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        if field.file_name().is_none() {
            let row = field
                .name()
                .and_then(|n| n.strip_prefix("explanation."))
                .map(|r| r.parse::<usize>());
            match row {
                None => continue, // another text field of the form
                Some(Err(_)) => {
                    return Err(ApiError::invalid(
                        field.name().unwrap_or("explanation"),
                        Msg::new(
                            "说明字段应写成 explanation.<行号>，如 explanation.12",
                            "an explanation field is named explanation.<row>, e.g. explanation.12",
                        ),
                    ))
                }
                Some(Ok(row)) => {
                    let text = field.bytes().await.map_err(malformed)?;
                    if text.len() > MAX_FIELD_BYTES {
                        return Err(ApiError::invalid(
                            format!("explanation.{row}"),
                            Msg::new("说明太长", "the explanation is too long"),
                        ));
                    }
                    let text = String::from_utf8_lossy(&text).trim().to_string();
                    if !text.is_empty() {
                        explanations.insert(row, text);
                    }
                    continue;
                }
            }
        }
        if found.is_some() {
            return Err(ApiError::invalid(
                "file",
                Msg::new(
                    "一次只能上传一个文件",
                    "a form upload holds one file; send one at a time",
                ),
            ));
        }
        let name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(malformed)?;
        found = Some((bytes, name));
    }
    let (file, name) = found.ok_or_else(|| {
        ApiError::invalid(
            "file",
            Msg::new(
                "表单里没有文件：请选择要上传的 Excel（.xlsx）或 CSV 文件",
                "the form holds no file: choose the .xlsx or .csv file to upload",
            ),
        )
    })?;
    Ok(Form {
        file,
        name,
        explanations,
    })
}

/// The format of a spreadsheet file, from its first bytes and then its name.
pub(crate) fn sniff(bytes: &[u8], name: Option<&str>) -> Result<Format, ApiError> {
    let lower = name.map(str::to_lowercase).unwrap_or_default();
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || lower.ends_with(".xls") {
        return Err(ApiError::UnsupportedMediaType(Msg::new(
            "这是旧版 Excel 文件（.xls）：请在 Excel 或 WPS 中“另存为” Excel 工作簿（.xlsx）后再上传",
            "this is an old Excel file (.xls): save it as an Excel workbook (.xlsx) and upload that",
        )));
    }
    if lower.ends_with(".xlsx") {
        // Named a workbook, but not a zip: say so rather than read it as CSV.
        return Err(ApiError::invalid(
            "file",
            Msg::new(
                format!(
                    "文件“{}”不是可读的 Excel 工作簿（.xlsx）",
                    name.unwrap_or("")
                ),
                format!(
                    "'{}' is not a readable Excel workbook (.xlsx)",
                    name.unwrap_or("")
                ),
            ),
        ));
    }
    let trimmed = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .trim_ascii_start();
    if lower.ends_with(".json") || trimmed.starts_with(b"[") {
        return Ok(Format::Json);
    }
    Ok(Format::Csv)
}
