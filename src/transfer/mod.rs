//! Import and export formats: CSV with English or Chinese headers, in
//! UTF-8 (with or without BOM), UTF-16 or GB18030 (what Excel on a Chinese
//! office's desktop writes). Parsing turns each row into a validated record
//! or a [`RowError`] naming its line; the store applies the records all or
//! nothing. Exports are encoded by [`encode`]: UTF-8, with or without BOM,
//! or GB18030.

mod labels;

use std::io::Write;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::registry::{
    Account, AccountStatus, DivisionCode, Hostname, Invalid, OrgLevel, Organization, Platform,
    Site, SiteCode, SiteKind, SiteStatus,
};
pub use labels::{
    HeaderLang, account_status_label, kind_label, level_label, parse_account_status, parse_kind,
    parse_platform, platform_label, status_label,
};

/// A bad row: its line in the file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub message: String,
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

/// A CSV row, read by field name.
struct Row<'a> {
    record: &'a csv::StringRecord,
    positions: &'a [(&'static str, usize)],
}

impl Row<'_> {
    fn get(&self, field: &str) -> Option<&str> {
        self.positions
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, index)| self.record.get(*index))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, field: &str) -> Result<&str, String> {
        self.get(field).ok_or_else(|| format!("{field} is empty"))
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

/// Reads a CSV with the given columns, calling `parse` on each row.
fn read<T>(
    text: &str,
    columns: &[Column],
    parse: impl Fn(&Row<'_>) -> Result<T, String>,
) -> Result<(Vec<Parsed<T>>, Vec<String>), FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError::Csv(e.to_string()))?
        .clone();
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
                        first: headers.get(*first).unwrap_or_default().to_string(),
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
    let mut lines = CsvLines::new(text);
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                parsed.push(Err(RowError {
                    line,
                    message: format!("unreadable CSV: {e}"),
                }));
                continue;
            }
        };
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let row = Row {
            record: &record,
            positions: &positions,
        };
        parsed.push(match parse(&row) {
            Ok(value) => Ok(Line {
                line,
                record: value,
            }),
            Err(message) => Err(RowError { line, message }),
        });
    }
    Ok((parsed, ignored))
}

fn invalid(e: Invalid) -> String {
    e.to_string()
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

pub fn parse_sites(text: &str) -> Result<(Records, Vec<String>), FileError> {
    let (rows, ignored) = read(text, SITE_COLUMNS, |row| {
        let name = row.required("name")?.to_string();
        let primary = Hostname::from_url_or_host(row.required("url")?).map_err(invalid)?;
        let mut aliases = Vec::new();
        for alias in split_list(row.get("aliases")) {
            let host = Hostname::from_url_or_host(&alias).map_err(invalid)?;
            if host != primary && !aliases.contains(&host) {
                aliases.push(host);
            }
        }
        Ok(SiteRecord {
            name,
            code: row
                .get("code")
                .map(str::parse)
                .transpose()
                .map_err(invalid)?,
            primary,
            aliases,
            org: row.required("org")?.to_string(),
            division: row
                .get("division")
                .map(str::parse)
                .transpose()
                .map_err(invalid)?,
            kind: labels::parse_kind(row.required("kind")?).map_err(invalid)?,
            status: row
                .get("status")
                .map(labels::parse_status)
                .transpose()
                .map_err(invalid)?
                .unwrap_or(SiteStatus::Live),
            icp_filing: row.get("icp").map(str::to_string),
            psb_filing: row.get("psb").map(str::to_string),
            approval_ref: row.get("approval_ref").map(str::to_string),
            successor_url: row.get("successor_url").map(str::to_string),
        })
    })?;
    Ok((Records::Sites(rows), ignored))
}

pub fn parse_orgs(text: &str) -> Result<(Records, Vec<String>), FileError> {
    let (rows, ignored) = read(text, ORG_COLUMNS, |row| {
        let division: DivisionCode = row.required("division")?.parse().map_err(invalid)?;
        let level = match row.get("level") {
            Some(level) => labels::parse_level(level).map_err(invalid)?,
            None => division.implied_level(),
        };
        let mut webhooks = Vec::new();
        for hook in split_list(row.get("webhooks")) {
            webhooks.push(hook);
        }
        Ok(OrgRecord {
            name: row.required("name")?.to_string(),
            division,
            level,
            parent: row.get("parent").map(str::to_string),
            emails: split_list(row.get("emails")),
            webhooks,
        })
    })?;
    Ok((Records::Orgs(rows), ignored))
}

pub fn parse_accounts(text: &str) -> Result<(Records, Vec<String>), FileError> {
    let (rows, ignored) = read(text, ACCOUNT_COLUMNS, |row| {
        Ok(AccountRecord {
            platform: labels::parse_platform(row.required("platform")?).map_err(invalid)?,
            account_id: row.required("account_id")?.to_string(),
            name: row.required("name")?.to_string(),
            org: row.required("org")?.to_string(),
            division: row
                .get("division")
                .map(str::parse)
                .transpose()
                .map_err(invalid)?,
            status: row
                .get("status")
                .map(labels::parse_account_status)
                .transpose()
                .map_err(invalid)?
                .unwrap_or(AccountStatus::Active),
            feed_url: row.get("feed_url").map(str::to_string),
            last_post_at: row
                .get("last_post_at")
                .map(|t| crate::clock::parse_time("last_post_at", t))
                .transpose()
                .map_err(invalid)?,
        })
    })?;
    Ok((Records::Accounts(rows), ignored))
}

/// Which kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Orgs,
    Sites,
    Accounts,
}

/// Decodes and parses a file of `entity`.
pub fn parse(entity: Entity, bytes: &[u8]) -> Result<(Records, FileInfo), FileError> {
    let (text, encoding) = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let (records, ignored_columns) = match entity {
        Entity::Orgs => parse_orgs(&text)?,
        Entity::Sites => parse_sites(&text)?,
        Entity::Accounts => parse_accounts(&text)?,
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
