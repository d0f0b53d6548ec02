//! Import and export formats: CSV with English or Chinese headers, in
//! UTF-8 (with or without BOM), UTF-16 or GB18030 (what Excel on a Chinese
//! office's desktop writes), and XLSX or XLS workbooks (told by their
//! content, read by [`workbook`], the reader the reconciliation uses too).
//! Parsing turns each row into a validated record or a [`RowError`] naming
//! its line (a CSV's line, a workbook's row number), the field, the value
//! and the rule; every name and note goes through
//! [`crate::registry::text`]. Rows of one file that contradict each other
//! (one new organizer with two division codes) are refused here, naming
//! both lines; the store checks the rest against the registry and applies
//! the records all or nothing. Exports are encoded by [`encode`]: UTF-8,
//! with or without BOM, or GB18030.

mod labels;
pub mod workbook;

use std::io::Write;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::registry::lifecycle;
use crate::registry::text;
use crate::registry::{
    Account, AccountStatus, DivisionCode, Hostname, Invalid, OrgLevel, Organization, Platform,
    Site, SiteCode, SiteKind, SiteStatus,
};
pub use labels::{
    HeaderLang, account_status_label, kind_label, level_label, parse_account_status, parse_kind,
    parse_platform, platform_label, status_label,
};

/// A bad row: its line in the file and what is wrong with it; where the
/// fault is one field's value, that field, the value and the rule it
/// breaks, for scripts (`None` when the fault is the row's as a whole).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub message: String,
    pub field: Option<String>,
    pub value: Option<String>,
    pub rule: Option<String>,
}

impl RowError {
    /// A fault of the row as a whole.
    pub fn new(line: u64, message: impl Into<String>) -> RowError {
        RowError {
            line,
            message: message.into(),
            ..RowError::default()
        }
    }

    /// A field's value refused: the message as [`Invalid`] says it (an
    /// empty value as `url is empty`).
    pub fn invalid(line: u64, e: &Invalid) -> RowError {
        let message = if e.value.is_empty() {
            format!("{} {}", e.field, e.rule)
        } else {
            e.to_string()
        };
        RowError {
            line,
            message,
            field: Some(e.field.clone()),
            value: Some(e.value.clone()),
            rule: Some(e.rule.clone()),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A problem with the file as a whole.
#[derive(Debug, Error)]
pub enum FileError {
    #[error(
        "the file is neither UTF-8 nor GB18030 text (checked byte by byte); save it as UTF-8 or GB18030 CSV"
    )]
    Encoding,
    #[error("the file is empty")]
    Empty,
    #[error("the header row lacks a column for {field} (accepted names: {accepted})")]
    MissingColumn {
        field: &'static str,
        accepted: String,
    },
    #[error("the header row names {field} twice: `{first}` and `{second}`")]
    DuplicateColumn {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("cannot read the CSV: {0}")]
    Csv(String),
    #[error("{0}")]
    Workbook(#[from] workbook::WorkbookError),
}

/// A parsed record and the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<T> {
    pub line: u64,
    pub record: T,
}

pub type Parsed<T> = Result<Line<T>, RowError>;

#[derive(Debug, Clone, PartialEq)]
pub struct OrgRecord {
    pub name: String,
    pub division: DivisionCode,
    pub level: OrgLevel,
    pub parent: Option<String>,
    pub emails: Vec<String>,
    pub webhooks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteRecord {
    pub name: String,
    pub code: Option<SiteCode>,
    pub primary: Hostname,
    pub aliases: Vec<Hostname>,
    pub org: String,
    /// Lets the import create an organizer the registry does not have.
    pub division: Option<DivisionCode>,
    pub kind: SiteKind,
    pub status: SiteStatus,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub approval_ref: Option<String>,
    pub successor_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub platform: Platform,
    pub account_id: String,
    pub name: String,
    pub org: String,
    pub division: Option<DivisionCode>,
    pub status: AccountStatus,
    pub feed_url: Option<String>,
    pub last_post_at: Option<DateTime<Utc>>,
}

/// A parsed file of one kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Records {
    Orgs(Vec<Parsed<OrgRecord>>),
    Sites(Vec<Parsed<SiteRecord>>),
    Accounts(Vec<Parsed<AccountRecord>>),
}

/// What a file held besides its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub encoding: &'static str,
    /// Header names that map to no field (ignored).
    pub ignored_columns: Vec<String>,
}

/// Decodes a file's bytes: BOM first (UTF-8, UTF-16), then strict UTF-8,
/// then strict GB18030 (a superset of GBK and GB2312).
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), FileError> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(FileError::Encoding);
        }
        return Ok((text.into_owned(), encoding.name()));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), "UTF-8"));
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| (text.into_owned(), "GB18030"))
        .ok_or(FileError::Encoding)
}

/// How an export's text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// UTF-8 with a byte-order mark: what Excel needs to see UTF-8.
    Utf8Bom,
    /// What Excel on a Chinese office's desktop reads and writes.
    Gb18030,
}

/// Encodes an export's text.
pub fn encode(text: String, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.into_bytes(),
        Encoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        Encoding::Gb18030 => encoding_rs::GB18030.encode(&text).0.into_owned(),
    }
}

/// One field of a file: its canonical name and the header names accepted.
struct Column {
    field: &'static str,
    names: &'static [&'static str],
    required: bool,
}

const SITE_COLUMNS: &[Column] = &[
    Column {
        field: "name",
        names: &["网站名称", "name", "site_name"],
        required: true,
    },
    Column {
        field: "code",
        names: &["网站标识码", "code", "site_code", "标识码"],
        required: false,
    },
    Column {
        field: "url",
        names: &[
            "首页网址",
            "url",
            "homepage",
            "网址",
            "域名",
            "hostname",
            "domain",
        ],
        required: true,
    },
    Column {
        field: "org",
        names: &["主办单位", "organizer", "org", "主办单位名称"],
        required: true,
    },
    Column {
        field: "division",
        names: &["行政区划代码", "division", "区划代码"],
        required: false,
    },
    Column {
        field: "kind",
        names: &["网站类型", "kind", "type"],
        required: true,
    },
    Column {
        field: "status",
        names: &["运行状态", "status", "网站状态"],
        required: false,
    },
    Column {
        field: "icp",
        names: &["ICP备案号", "icp", "icp_filing"],
        required: false,
    },
    Column {
        field: "psb",
        names: &["公安机关备案号", "psb", "psb_filing", "公安备案号"],
        required: false,
    },
    Column {
        field: "aliases",
        names: &["域名别名", "aliases", "其他域名"],
        required: false,
    },
    Column {
        field: "approval_ref",
        names: &["核准文号", "approval_ref"],
        required: false,
    },
    Column {
        field: "successor_url",
        names: &["后继网址", "successor_url", "整合后网址"],
        required: false,
    },
];

const ORG_COLUMNS: &[Column] = &[
    Column {
        field: "name",
        names: &["单位名称", "主办单位", "name", "org"],
        required: true,
    },
    Column {
        field: "division",
        names: &["行政区划代码", "division", "区划代码"],
        required: true,
    },
    Column {
        field: "level",
        names: &["层级", "级别", "level"],
        required: false,
    },
    Column {
        field: "parent",
        names: &["上级单位", "parent"],
        required: false,
    },
    Column {
        field: "emails",
        names: &["联系邮箱", "email", "emails", "邮箱"],
        required: false,
    },
    Column {
        field: "webhooks",
        names: &["webhook", "webhooks", "回调地址"],
        required: false,
    },
];

const ACCOUNT_COLUMNS: &[Column] = &[
    Column {
        field: "platform",
        names: &["平台", "platform", "平台类型"],
        required: true,
    },
    Column {
        field: "account_id",
        names: &["账号", "账号ID", "account_id", "handle"],
        required: true,
    },
    Column {
        field: "name",
        names: &["账号名称", "name"],
        required: true,
    },
    Column {
        field: "org",
        names: &["主办单位", "organizer", "org"],
        required: true,
    },
    Column {
        field: "division",
        names: &["行政区划代码", "division"],
        required: false,
    },
    Column {
        field: "status",
        names: &["状态", "status", "运行状态"],
        required: false,
    },
    Column {
        field: "feed_url",
        names: &["订阅地址", "feed", "feed_url"],
        required: false,
    },
    Column {
        field: "last_post_at",
        names: &["最近发布时间", "last_post_at"],
        required: false,
    },
];

fn normalise_header(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '_', '-'], "")
}

/// A row, read by field name.
struct Row<'a> {
    cells: &'a [String],
    positions: &'a [(&'static str, usize)],
}

impl Row<'_> {
    /// The field's cell, trimmed; `None` when there is no such column or
    /// the cell is blank.
    fn get(&self, field: &str) -> Option<&str> {
        self.positions
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, index)| self.cells.get(*index))
            .map(|cell| cell.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, field: &str) -> Result<&str, Invalid> {
        self.get(field)
            .ok_or_else(|| Invalid::new(field, "", "is empty"))
    }

    /// A required name, checked by [`text::name`].
    fn name(&self, field: &str) -> Result<String, Invalid> {
        text::name(field, self.required(field)?)
    }

    /// A name that may be absent, checked by [`text::name`].
    fn optional_name(&self, field: &str) -> Result<Option<String>, Invalid> {
        self.get(field).map(|v| text::name(field, v)).transpose()
    }

    /// A note or reference that may be absent, checked by [`text::note`].
    fn note(&self, field: &str) -> Result<Option<String>, Invalid> {
        self.get(field).map(|v| text::note(field, v)).transpose()
    }

    /// A cell parsed into a value, its error naming the column's field
    /// (whatever the parser calls it).
    fn parse<T>(
        &self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Result<Option<T>, Invalid> {
        self.get(field).map(parse).transpose().map_err(named(field))
    }

    fn parse_required<T>(
        &self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Result<T, Invalid> {
        parse(self.required(field)?).map_err(named(field))
    }
}

/// An error renamed to the column it came from.
fn named(field: &str) -> impl Fn(Invalid) -> Invalid + '_ {
    move |mut e| {
        e.field = field.to_string();
        e
    }
}

/// Line numbers of CSV records. The csv crate's `Position::line` is where
/// the parser stood when the record began: before the `\n` of a CRLF that
/// ended the previous record and before any empty lines it skips. So the
/// record's start is found from its byte offset, past line breaks, and its
/// line counted from there (a CR alone counts as a line break, as for the
/// csv crate).
pub(crate) struct CsvLines<'a> {
    text: &'a [u8],
    /// Where counting stopped (a record's first byte), and its line.
    at: usize,
    line: u64,
}

impl<'a> CsvLines<'a> {
    pub(crate) fn new(text: &'a str) -> CsvLines<'a> {
        CsvLines {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the record whose position is `byte` (increasing from one
    /// call to the next).
    pub(crate) fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.at {
            let breaks = self.text[self.at..start]
                .iter()
                .enumerate()
                .filter(|&(i, &b)| {
                    b == b'\n' || (b == b'\r' && self.text.get(self.at + i + 1) != Some(&b'\n'))
                })
                .count();
            self.line += breaks as u64;
            self.at = start;
        }
        self.line
    }
}

/// A row of a file before its columns are read: its line (a CSV's line, a
/// workbook's row number) and its cells, or why it cannot be read.
type RawRow = Result<(u64, Vec<String>), RowError>;

/// The line where the quoted field still open at the end of `text` opened
/// (as the csv crate reads quotes: a `"` opens a field only at the field's
/// start, `""` inside is a quote), or `None` when every quote is closed.
/// The csv crate reads such a field to the end of the file without
/// complaint, so the rest of the file would vanish into one cell.
fn unclosed_quote(text: &[u8]) -> Option<usize> {
    let (mut in_quotes, mut field_start, mut open) = (false, true, 0);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if in_quotes {
            if b == b'"' {
                if text.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else {
            match b {
                b',' | b'\n' | b'\r' => {
                    field_start = true;
                    i += 1;
                    continue;
                }
                b'"' if field_start => {
                    in_quotes = true;
                    open = i;
                }
                _ => {}
            }
            field_start = false;
        }
        i += 1;
    }
    in_quotes.then_some(open)
}

/// The line of byte `at` in `text` (1-based; CRLF, LF and a CR alone each
/// end a line).
fn line_of(text: &[u8], at: usize) -> u64 {
    let before = &text[..at.min(text.len())];
    let breaks = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')))
        .count();
    breaks as u64 + 1
}

/// A CSV's header row and its data rows. A row with fewer fields than the
/// header names columns, or with values beyond them, is a row error that
/// says so (not a confusing "url is empty" about the column its fields
/// fell short of); a quote never closed is named at the line it opened.
fn csv_rows(text: &str) -> Result<(Vec<String>, impl Iterator<Item = RawRow> + '_), FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let unclosed = unclosed_quote(text.as_bytes());
    let mut header = csv::StringRecord::new();
    let mut lines = CsvLines::new(text);
    // The header: the first record (the csv crate skips empty lines).
    if !reader
        .read_record(&mut header)
        .map_err(|e| FileError::Csv(e.to_string()))?
    {
        return Err(FileError::Empty);
    }
    let header_end = reader.position().byte();
    if let Some(open) = unclosed
        && (open as u64) < header_end
    {
        return Err(FileError::Csv(format!(
            "the quote (\") opened on line {} of the header is never closed",
            line_of(text.as_bytes(), open)
        )));
    }
    let headers: Vec<String> = header.iter().map(str::to_string).collect();
    // The columns the header names: an empty header cell after the last
    // named one (Excel's trailing comma) is no column.
    let width = headers
        .iter()
        .rposition(|h| !h.trim().is_empty())
        .map_or(0, |last| last + 1);
    let mut records = reader.into_records().peekable();
    let rows = std::iter::from_fn(move || {
        loop {
            let result = records.next()?;
            let last = records.peek().is_none();
            let record = match result {
                Ok(record) => record,
                Err(e) => {
                    let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                    return Some(Err(RowError::new(line, format!("unreadable CSV: {e}"))));
                }
            };
            let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
            if last && let Some(open) = unclosed {
                let opened = line_of(text.as_bytes(), open);
                return Some(Err(RowError::new(
                    opened,
                    "a quote (\") opens a field on this line and is never closed, so the rest \
                     of the file would be that one field: close the quote or remove it",
                )));
            }
            if record.iter().all(|field| field.trim().is_empty()) {
                continue;
            }
            let fields = record.len();
            let beyond = record.iter().skip(width).any(|f| !f.trim().is_empty());
            if fields < width || beyond {
                return Some(Err(RowError::new(
                    line,
                    format!(
                        "has {fields} field{}; the header has {width}{}",
                        if fields == 1 { "" } else { "s" },
                        if fields < width {
                            " (a missing comma or an unquoted line break?)"
                        } else {
                            " (an unquoted comma in a value?)"
                        }
                    ),
                )));
            }
            return Some(Ok((line, record.iter().map(str::to_string).collect())));
        }
    });
    Ok((headers, rows))
}

/// A workbook's header row (its first non-blank row) and its data rows.
fn sheet_rows(
    sheet: &mut workbook::Sheet,
) -> Result<(Vec<String>, impl Iterator<Item = RawRow> + '_), FileError> {
    let mut rows = sheet
        .rows()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let (_, headers) = rows.next().ok_or(FileError::Empty)?;
    Ok((headers, rows.map(Ok)))
}

/// Reads a file's rows with the given columns, calling `parse` on each.
fn read<T>(
    headers: &[String],
    rows: impl Iterator<Item = RawRow>,
    columns: &[Column],
    parse: impl Fn(&Row<'_>) -> Result<T, Invalid>,
) -> Result<(Vec<Parsed<T>>, Vec<String>), FileError> {
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::Empty);
    }
    let mut positions: Vec<(&'static str, usize)> = Vec::new();
    let mut ignored = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let normalised = normalise_header(header);
        match columns
            .iter()
            .find(|c| c.names.iter().any(|n| normalise_header(n) == normalised))
        {
            Some(column) => {
                if let Some((_, first)) = positions.iter().find(|(f, _)| *f == column.field) {
                    return Err(FileError::DuplicateColumn {
                        field: column.field,
                        first: headers[*first].clone(),
                        second: header.to_string(),
                    });
                }
                positions.push((column.field, index));
            }
            None if header.trim().is_empty() => {}
            None => ignored.push(header.trim().to_string()),
        }
    }
    for column in columns.iter().filter(|c| c.required) {
        if !positions.iter().any(|(f, _)| *f == column.field) {
            return Err(FileError::MissingColumn {
                field: column.field,
                accepted: column.names.join(", "),
            });
        }
    }
    let mut parsed = Vec::new();
    for row in rows {
        let (line, cells) = match row {
            Ok(row) => row,
            Err(e) => {
                parsed.push(Err(e));
                continue;
            }
        };
        if cells.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let row = Row {
            cells: &cells,
            positions: &positions,
        };
        parsed.push(match parse(&row) {
            Ok(value) => Ok(Line {
                line,
                record: value,
            }),
            Err(e) => Err(RowError::invalid(line, &e)),
        });
    }
    Ok((parsed, ignored))
}

/// Refuses the rows that give an organizer (not yet known, or known: the
/// registry is the store's to check) another division than an earlier row
/// of the file, naming both lines: the first row would silently win.
fn one_division_per_organizer<T>(
    rows: &mut [Parsed<T>],
    organizer: impl Fn(&T) -> (&str, Option<&DivisionCode>),
) {
    let mut first: std::collections::HashMap<String, (u64, DivisionCode)> =
        std::collections::HashMap::new();
    for row in rows.iter_mut() {
        let Ok(line) = row else { continue };
        let (name, Some(division)) = organizer(&line.record) else {
            continue;
        };
        match first.get(name) {
            Some((first_line, first_division)) if first_division != division => {
                let rule = format!(
                    "differs from line {first_line}, which gives organizer `{}` division {first_division}: \
                     one organizer has one division",
                    text::escape(name)
                );
                *row = Err(RowError::invalid(
                    line.line,
                    &Invalid::new("division", division.as_str(), &rule),
                ));
            }
            Some(_) => {}
            None => {
                first.insert(name.to_string(), (line.line, division.clone()));
            }
        }
    }
}

/// Splits a multi-valued cell: `;`, `；`, `、`, `,` or whitespace.
fn split_list(cell: Option<&str>) -> Vec<String> {
    cell.map(|c| {
        c.split([';', '；', '、', ',', '，', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn site_record(row: &Row<'_>) -> Result<SiteRecord, Invalid> {
    let name = row.name("name")?;
    let primary = row.parse_required("url", Hostname::from_url_or_host)?;
    let mut aliases = Vec::new();
    for alias in split_list(row.get("aliases")) {
        let host = Hostname::from_url_or_host(&alias).map_err(named("aliases"))?;
        if host != primary && !aliases.contains(&host) {
            aliases.push(host);
        }
    }
    let code: Option<SiteCode> = row.parse("code", str::parse)?;
    // A site is live only under an identifier code (the rule `go-live`
    // applies): a row that says live without one is refused; a row that
    // says nothing is live with a code, else approved (not yet filed).
    let status = match row.parse("status", labels::parse_status)? {
        Some(SiteStatus::Live) => {
            if let Err(e) = lifecycle::live_code(code.as_ref()) {
                return Err(Invalid::new(
                    "code",
                    "",
                    &format!("is empty, and the row's status is live: {e}"),
                ));
            }
            SiteStatus::Live
        }
        Some(status) => status,
        None if code.is_some() => SiteStatus::Live,
        None => SiteStatus::Approved,
    };
    Ok(SiteRecord {
        name,
        code,
        primary,
        aliases,
        org: row.name("org")?,
        division: row.parse("division", str::parse)?,
        kind: row.parse_required("kind", labels::parse_kind)?,
        status,
        icp_filing: row.note("icp")?,
        psb_filing: row.note("psb")?,
        approval_ref: row.note("approval_ref")?,
        successor_url: row.note("successor_url")?,
    })
}

fn org_record(row: &Row<'_>) -> Result<OrgRecord, Invalid> {
    let name = row.name("name")?;
    let division: DivisionCode = row.parse_required("division", str::parse)?;
    let level = match row.parse("level", labels::parse_level)? {
        Some(level) => level,
        None => division.implied_level(),
    };
    Ok(OrgRecord {
        name,
        division,
        level,
        parent: row.optional_name("parent")?,
        // The store checks each is an address; the characters are text's.
        emails: split_list(row.get("emails"))
            .iter()
            .map(|email| text::name("emails", email))
            .collect::<Result<_, _>>()?,
        webhooks: split_list(row.get("webhooks")),
    })
}

fn account_record(row: &Row<'_>) -> Result<AccountRecord, Invalid> {
    Ok(AccountRecord {
        platform: row.parse_required("platform", labels::parse_platform)?,
        account_id: row.name("account_id")?,
        name: row.name("name")?,
        org: row.name("org")?,
        division: row.parse("division", str::parse)?,
        status: row
            .parse("status", labels::parse_account_status)?
            .unwrap_or(AccountStatus::Active),
        feed_url: row.note("feed_url")?,
        last_post_at: row.parse("last_post_at", |t| {
            crate::clock::parse_time("last_post_at", t)
        })?,
    })
}

/// Parses the rows of a file of `entity` given its header and rows.
fn records(
    entity: Entity,
    headers: &[String],
    rows: impl Iterator<Item = RawRow>,
) -> Result<(Records, Vec<String>), FileError> {
    Ok(match entity {
        Entity::Sites => {
            let (mut rows, ignored) = read(headers, rows, SITE_COLUMNS, site_record)?;
            one_division_per_organizer(&mut rows, |r: &SiteRecord| {
                (r.org.as_str(), r.division.as_ref())
            });
            (Records::Sites(rows), ignored)
        }
        Entity::Orgs => {
            let (rows, ignored) = read(headers, rows, ORG_COLUMNS, org_record)?;
            (Records::Orgs(rows), ignored)
        }
        Entity::Accounts => {
            let (mut rows, ignored) = read(headers, rows, ACCOUNT_COLUMNS, account_record)?;
            one_division_per_organizer(&mut rows, |r: &AccountRecord| {
                (r.org.as_str(), r.division.as_ref())
            });
            (Records::Accounts(rows), ignored)
        }
    })
}

/// Parses CSV text of `entity`.
fn parse_text(entity: Entity, text: &str) -> Result<(Records, Vec<String>), FileError> {
    let (headers, rows) = csv_rows(text)?;
    records(entity, &headers, rows)
}

pub fn parse_sites(text: &str) -> Result<(Records, Vec<String>), FileError> {
    parse_text(Entity::Sites, text)
}

pub fn parse_orgs(text: &str) -> Result<(Records, Vec<String>), FileError> {
    parse_text(Entity::Orgs, text)
}

pub fn parse_accounts(text: &str) -> Result<(Records, Vec<String>), FileError> {
    parse_text(Entity::Accounts, text)
}

/// Which kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Orgs,
    Sites,
    Accounts,
}

/// Decodes and parses a file of `entity`: a workbook (XLSX or XLS, told
/// by its first bytes) or CSV text in any encoding [`decode`] knows.
pub fn parse(entity: Entity, bytes: &[u8]) -> Result<(Records, FileInfo), FileError> {
    let ((records, ignored_columns), encoding) = match workbook::Format::of(bytes) {
        Some(format) => {
            let mut sheet = workbook::open(format, bytes)?;
            let (headers, rows) = sheet_rows(&mut sheet)?;
            (records(entity, &headers, rows)?, format.name())
        }
        None => {
            let (text, encoding) = decode(bytes)?;
            if text.trim().is_empty() {
                return Err(FileError::Empty);
            }
            (parse_text(entity, &text)?, encoding)
        }
    };
    Ok((
        records,
        FileInfo {
            encoding,
            ignored_columns,
        },
    ))
}

/// Header names of each export, in order, per language (the first two
/// names of each column are the Chinese and English ones).
fn header_row(columns: &[Column], lang: HeaderLang, skip: &[&str]) -> Vec<&'static str> {
    columns
        .iter()
        .filter(|c| !skip.contains(&c.field))
        .map(|c| {
            let chinese = c.names[0];
            let english = c.field;
            match lang {
                HeaderLang::Zh => chinese,
                HeaderLang::En => english,
            }
        })
        .collect()
}

fn csv_error(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

pub fn write_sites(
    sites: &[Site],
    divisions: &std::collections::HashMap<String, String>,
    lang: HeaderLang,
    out: impl Write,
) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer
        .write_record(header_row(SITE_COLUMNS, lang, &[]))
        .map_err(csv_error)?;
    for site in sites {
        let host = |h: &Hostname| match lang {
            HeaderLang::Zh => h.to_unicode(),
            HeaderLang::En => h.as_str().to_string(),
        };
        let primary = site
            .primary()
            .map(|d| host(&d.hostname))
            .unwrap_or_default();
        let aliases: Vec<String> = site
            .domains
            .iter()
            .filter(|d| {
                d.role == crate::registry::DomainRole::Alias
                    && d.state != crate::registry::DomainState::Released
            })
            .map(|d| host(&d.hostname))
            .collect();
        writer
            .write_record([
                site.name.as_str(),
                site.code.as_ref().map(SiteCode::as_str).unwrap_or_default(),
                &primary,
                &site.org,
                divisions
                    .get(&site.org)
                    .map(String::as_str)
                    .unwrap_or_default(),
                kind_label(site.kind, lang),
                status_label(site.status, lang),
                site.icp_filing.as_deref().unwrap_or_default(),
                site.psb_filing.as_deref().unwrap_or_default(),
                &aliases.join(";"),
                site.approval_ref.as_deref().unwrap_or_default(),
                site.successor_url.as_deref().unwrap_or_default(),
            ])
            .map_err(csv_error)?;
    }
    writer.flush()
}

pub fn write_orgs(orgs: &[Organization], lang: HeaderLang, out: impl Write) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer
        .write_record(header_row(ORG_COLUMNS, lang, &[]))
        .map_err(csv_error)?;
    for org in orgs {
        writer
            .write_record([
                org.name.as_str(),
                org.division.as_str(),
                level_label(org.level, lang),
                org.parent.as_deref().unwrap_or_default(),
                &org.emails.join(";"),
                // Masked: an export is handed around; a webhook's path
                // and query carry its secret.
                &org.webhooks
                    .iter()
                    .map(|w| crate::alerts::mask_url(w))
                    .collect::<Vec<_>>()
                    .join(";"),
            ])
            .map_err(csv_error)?;
    }
    writer.flush()
}

pub fn write_accounts(
    accounts: &[Account],
    lang: HeaderLang,
    out: impl Write,
) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer
        .write_record(header_row(ACCOUNT_COLUMNS, lang, &["division"]))
        .map_err(csv_error)?;
    for account in accounts {
        writer
            .write_record([
                platform_label(account.platform, lang),
                &account.account_id,
                &account.name,
                &account.org,
                account_status_label(account.status, lang),
                account.feed_url.as_deref().unwrap_or_default(),
                &account
                    .last_post_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
            ])
            .map_err(csv_error)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITES: &str = "name,code,url,organizer,division,kind\n";

    fn site_rows(file: &str) -> Vec<Parsed<SiteRecord>> {
        match parse(Entity::Sites, file.as_bytes()).expect("parses").0 {
            Records::Sites(rows) => rows,
            other => panic!("sites expected, got {other:?}"),
        }
    }

    fn errors<T>(rows: &[Parsed<T>]) -> Vec<(u64, String)> {
        rows.iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.line, e.message.clone()))
            .collect()
    }

    fn lines<T>(rows: &[Parsed<T>]) -> Vec<u64> {
        rows.iter()
            .map(|r| match r {
                Ok(line) => line.line,
                Err(e) => e.line,
            })
            .collect()
    }

    #[test]
    fn crlf_lines_are_the_lines_an_editor_shows() {
        let file = format!(
            "{SITES}好,6200000011,a.gansu.gov.cn,某单位,620000,portal\n\
             坏,500xxxxxxx,b.gansu.gov.cn,某单位,620000,portal\n\
             好,6200000012,c.gansu.gov.cn,某单位,620000,portal\n"
        )
        .replace('\n', "\r\n");
        let rows = site_rows(&file);
        assert_eq!(lines(&rows), [2, 3, 4]);
        assert_eq!(errors(&rows)[0].0, 3);
    }

    #[test]
    fn a_row_of_the_wrong_shape_says_so() {
        let file = format!(
            "{SITES}短,6200000011,a.gansu.gov.cn\n\
             长,6200000012,b.gansu.gov.cn,某单位,620000,portal,extra,more\n\
             尾随空列,6200000013,c.gansu.gov.cn,某单位,620000,portal,,\n\
             一,6200000014,d.gansu.gov.cn,某单位,620000,portal\n"
        );
        let rows = site_rows(&file);
        assert_eq!(
            errors(&rows),
            [
                (
                    2,
                    "has 3 fields; the header has 6 (a missing comma or an unquoted line break?)"
                        .to_string()
                ),
                (
                    3,
                    "has 8 fields; the header has 6 (an unquoted comma in a value?)".to_string()
                ),
            ]
        );
        // Empty fields after the last column are Excel's, not a fault.
        assert!(rows[2].is_ok() && rows[3].is_ok(), "{rows:?}");
        // A header ending in an empty cell names no column there.
        let file = "name,code,url,organizer,division,kind,\n\
                    一,6200000014,d.gansu.gov.cn,某单位,620000,portal\n";
        assert!(site_rows(file)[0].is_ok());
    }

    #[test]
    fn an_unclosed_quote_is_named_where_it_opened() {
        // Line 3 holds a closed multi-line field; the quote that never
        // closes opens on line 5, in the third field of the row.
        let file = "name,code,url,organizer,division,kind,aliases\n\
             好,6200000011,a.gansu.gov.cn,某单位,620000,portal,\n\
             二,6200000012,b.gansu.gov.cn,某单位,620000,portal,\"b2.gansu.gov.cn\nb3.gansu.gov.cn\"\n\
             坏,6200000013,\"c.gansu.gov.cn,某单位,620000,portal,\n\
             后,6200000014,d.gansu.gov.cn,某单位,620000,portal,\n";
        let rows = site_rows(file);
        assert!(rows[0].is_ok() && rows[1].is_ok(), "{rows:?}");
        let errors = errors(&rows);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 5);
        assert!(errors[0].1.contains("never closed"), "{}", errors[0].1);
        // `""` inside a quoted field and a quote inside an unquoted one
        // are no opening quotes.
        assert_eq!(unclosed_quote(b"a,\"b\"\"c\",d\ne\"f,g\n"), None);
        assert_eq!(unclosed_quote(b"a,b\n\"c,d\n"), Some(4));
        // In the header: the file is refused as a whole.
        let e = parse(Entity::Sites, b"name,\"url,organizer,kind\nx,y,z,w\n").expect_err("header");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn names_and_notes_are_checked_with_the_field_named() {
        let long = "政".repeat(500);
        let file = format!(
            "name,code,url,organizer,division,kind,icp\n\
             a\u{202E}b,6200000011,a.gansu.gov.cn,某单位,620000,portal,\n\
             {long},6200000012,b.gansu.gov.cn,某单位,620000,portal,\n\
             好,6200000013,c.gansu.gov.cn,某\u{0}单位,620000,portal,\n\
             好,6200000014,d.gansu.gov.cn,某单位,620000,portal,ICP\u{7}1\n"
        );
        let rows = site_rows(&file);
        let fields: Vec<(u64, Option<&str>)> = rows
            .iter()
            .map(|r| {
                let e = r.as_ref().expect_err("refused");
                (e.line, e.field.as_deref())
            })
            .collect();
        assert_eq!(
            fields,
            [
                (2, Some("name")),
                (3, Some("name")),
                (4, Some("org")),
                (5, Some("icp"))
            ]
        );
        let e = rows[0].as_ref().expect_err("bidi");
        assert_eq!(e.value.as_deref(), Some("a\u{202E}b"));
        assert!(e.rule.as_deref().is_some_and(|r| r.contains("U+202E")));
        // The message a person reads shows the character escaped.
        assert!(
            !e.to_string().contains('\u{202E}') && e.to_string().starts_with("line 2: name `"),
            "{e}"
        );
        let e = rows[1].as_ref().expect_err("long");
        assert!(e.message.contains("500 characters"), "{}", e.message);

        let orgs = "name,division,parent\n某单位,620000,上级\u{1b}[31m单位\n";
        let Records::Orgs(rows) = parse(Entity::Orgs, orgs.as_bytes()).expect("parses").0 else {
            panic!("orgs")
        };
        let e = rows[0].as_ref().expect_err("parent");
        assert_eq!(e.field.as_deref(), Some("parent"));
        let orgs = "name,division,emails\n某单位,620000,ok@x.gov.cn;a\u{202E}b@x.gov.cn\n";
        let Records::Orgs(rows) = parse(Entity::Orgs, orgs.as_bytes()).expect("parses").0 else {
            panic!("orgs")
        };
        let e = rows[0].as_ref().expect_err("email");
        assert_eq!(e.field.as_deref(), Some("emails"));
        let accounts = "platform,account_id,name,org\nweibo,id\u{85}1,名称,某单位\n";
        let Records::Accounts(rows) = parse(Entity::Accounts, accounts.as_bytes())
            .expect("parses")
            .0
        else {
            panic!("accounts")
        };
        assert_eq!(
            rows[0].as_ref().expect_err("id").field.as_deref(),
            Some("account_id")
        );
    }

    #[test]
    fn row_errors_carry_field_value_and_rule_and_print_as_before() {
        let rows = site_rows(&format!(
            "{SITES}坏,500xxxxxxx,b.gansu.gov.cn,某单位,620000,portal\n\
             空,6200000012,,某单位,620000,portal\n"
        ));
        let e = rows[0].as_ref().expect_err("code");
        assert_eq!(
            (e.field.as_deref(), e.value.as_deref()),
            (Some("code"), Some("500xxxxxxx"))
        );
        assert!(e.rule.is_some());
        assert!(
            e.to_string().starts_with("line 2: code `500xxxxxxx` "),
            "{e}"
        );
        let e = rows[1].as_ref().expect_err("url");
        assert_eq!(e.to_string(), "line 3: url is empty");
        assert_eq!(e.field.as_deref(), Some("url"));
        let json = serde_json::to_value(e).expect("json");
        assert_eq!(json["line"], 3);
        assert_eq!(json["field"], "url");
        assert_eq!(json["rule"], "is empty");
        // A fault of the row as a whole names no field.
        let rows = site_rows(&format!("{SITES}短,1\n"));
        let e = rows[0].as_ref().expect_err("short");
        assert_eq!((e.field.as_ref(), e.rule.as_ref()), (None, None));
    }

    #[test]
    fn one_new_organizer_has_one_division() {
        let rows = site_rows(&format!(
            "{SITES}一,6200000011,a.gansu.gov.cn,新单位,620000,portal\n\
             二,6200000012,b.gansu.gov.cn,新单位,620000,portal\n\
             三,6200000013,c.gansu.gov.cn,新单位,620100,portal\n\
             四,6200000014,d.gansu.gov.cn,新单位,,portal\n"
        ));
        let errors = errors(&rows);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 4);
        assert!(
            errors[0].1.contains("line 2") && errors[0].1.contains("620100"),
            "{}",
            errors[0].1
        );
        let accounts = "platform,account_id,name,org,division\n\
                        weibo,a,甲,新单位,620000\nweibo,b,乙,新单位,620100\n";
        let Records::Accounts(rows) = parse(Entity::Accounts, accounts.as_bytes())
            .expect("parses")
            .0
        else {
            panic!("accounts")
        };
        assert_eq!(errors_of(&rows), [3]);
    }

    fn errors_of<T>(rows: &[Parsed<T>]) -> Vec<u64> {
        errors(rows).into_iter().map(|(line, _)| line).collect()
    }

    #[test]
    fn a_live_site_needs_a_code() {
        let rows = site_rows(
            "name,code,url,organizer,division,kind,status\n\
             上线无码,,a.gansu.gov.cn,某单位,620000,portal,运行中\n\
             上线有码,6200000012,b.gansu.gov.cn,某单位,620000,portal,live\n\
             核准无码,,c.gansu.gov.cn,某单位,620000,portal,approved\n\
             未说无码,,d.gansu.gov.cn,某单位,620000,portal,\n\
             未说有码,6200000015,e.gansu.gov.cn,某单位,620000,portal,\n",
        );
        let e = rows[0].as_ref().expect_err("live without a code");
        assert_eq!(e.field.as_deref(), Some("code"));
        assert!(
            e.message.contains("go-live needs an identifier code"),
            "{e}"
        );
        let statuses: Vec<SiteStatus> = rows[1..]
            .iter()
            .map(|r| r.as_ref().expect("accepted").record.status)
            .collect();
        assert_eq!(
            statuses,
            [
                SiteStatus::Live,
                SiteStatus::Approved,
                SiteStatus::Approved,
                SiteStatus::Live
            ]
        );
    }

    #[test]
    fn a_url_with_a_port_is_refused_in_its_column() {
        let rows = site_rows(
            "name,code,url,organizer,division,kind,aliases\n\
             一,6200000011,https://a.gansu.gov.cn:8443/,某单位,620000,portal,\n\
             二,6200000012,b.gansu.gov.cn,某单位,620000,portal,http://b2.gansu.gov.cn:8080/\n",
        );
        let e = rows[0].as_ref().expect_err("port");
        assert_eq!(
            e.to_string(),
            "line 2: url `https://a.gansu.gov.cn:8443/` has a port (8443); siteward probes the \
             standard ports 80 and 443 only — register the host name"
        );
        let e = rows[1].as_ref().expect_err("alias port");
        assert_eq!(e.field.as_deref(), Some("aliases"));
    }
}
