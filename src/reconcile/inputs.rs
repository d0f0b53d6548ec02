//! The reconciliation's input files turned into validated records: the
//! national reporting system's export of sites, the national new-media
//! system's export of accounts, the 找错 platform's export of messages
//! (each read by [`super::table`], headers in Chinese in any order), and
//! zones. A bad cell is an [`InputError`] naming the file, the row and
//! the column; a file with any is refused whole.

use std::fmt;

use chrono::{DateTime, Utc};

use super::table::{InputError, Table, normalise_header};
use crate::probe::zone::ZoneContents;
use crate::registry::{AccountStatus, Hostname, Platform, SiteCode, SiteKind};

/// At most this many bad cells are told; the count says the rest.
const MAX_ERRORS: usize = 50;

/// The errors of the input files: nothing was reconciled or stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub Vec<InputError>);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        if n == 1 {
            return write!(f, "{}", self.0[0]);
        }
        write!(f, "{n} problems in the input files:")?;
        for e in self.0.iter().take(MAX_ERRORS) {
            write!(f, "\n  {e}")?;
        }
        if n > MAX_ERRORS {
            write!(f, "\n  … and {} more", n - MAX_ERRORS)?;
        }
        Ok(())
    }
}

impl std::error::Error for BadInput {}

impl From<InputError> for BadInput {
    fn from(e: InputError) -> BadInput {
        BadInput(vec![e])
    }
}

/// A column: the field, and the header names that mean it (the first is
/// the one messages use).
struct Column {
    field: &'static str,
    names: &'static [&'static str],
    required: bool,
}

const fn col(field: &'static str, names: &'static [&'static str], required: bool) -> Column {
    Column {
        field,
        names,
        required,
    }
}

const SITE_COLUMNS: &[Column] = &[
    col("code", &["网站标识码", "标识码"], true),
    col("name", &["网站名称", "名称"], true),
    col(
        "url",
        &["首页网址", "网站首页网址", "网址", "网站地址", "首页地址"],
        true,
    ),
    col("organizer", &["主办单位", "主办单位名称"], true),
    col("kind", &["网站类型", "类型"], true),
    col("status", &["运行状态", "网站运行状态", "状态"], true),
];

const ACCOUNT_COLUMNS: &[Column] = &[
    col("organizer", &["主办单位", "主办单位名称"], true),
    col(
        "platform",
        &["平台/类型", "平台类型", "平台", "类型", "账号类型"],
        true,
    ),
    col("name", &["账号名称", "名称"], true),
    col("account_id", &["账号ID", "账号id", "账号", "ID"], true),
    col("status", &["状态", "账号状态", "运行状态"], true),
];

const MESSAGE_COLUMNS: &[Column] = &[
    col("number", &["留言编号", "编号"], true),
    col("site_name", &["网站名称"], true),
    col("code", &["网站标识码", "标识码"], true),
    col("received_at", &["留言时间"], true),
    col("passed_on_at", &["转办时间"], true),
    col("answered_at", &["答复时间", "回复时间"], true),
    col("true_report", &["是否属实"], true),
    col("state", &["办理状态", "状态"], true),
];

/// Every header name an export uses, as written (the table reader
/// normalises them): what tells the header row from a title above it.
/// Each column's own name first, then the other names, so that a message
/// listing the first few names the columns the file should have.
fn known(columns: &[Column]) -> Vec<&'static str> {
    let first = columns.iter().map(|c| c.names[0]);
    let others = columns.iter().flat_map(|c| c.names[1..].iter().copied());
    first.chain(others).collect()
}

/// Where each field's column is.
struct Columns<'a> {
    table: &'a Table,
    at: Vec<(&'static str, &'static str, usize)>,
}

impl<'a> Columns<'a> {
    fn find(table: &'a Table, columns: &[Column]) -> Result<Columns<'a>, BadInput> {
        let mut at = Vec::new();
        let mut missing = Vec::new();
        for column in columns {
            let names: Vec<String> = column.names.iter().map(|n| normalise_header(n)).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            match table.column(&names) {
                Some(index) => at.push((column.field, column.names[0], index)),
                None if column.required => missing.push(column),
                None => {}
            }
        }
        if let Some(first) = missing.first() {
            let wanted: Vec<String> = missing
                .iter()
                .map(|c| match &c.names[1..] {
                    [] => c.names[0].to_string(),
                    others => format!("{} (or {})", c.names[0], others.join(", ")),
                })
                .collect();
            return Err(InputError {
                file: table.file.clone(),
                row: Some(table.header_row),
                column: Some(first.names[0].to_string()),
                message: format!(
                    "the header row has no column {}; it has: {}. Is this the right file?",
                    wanted.join("; "),
                    table.raw_headers.join(", ")
                ),
            }
            .into());
        }
        if table.rows.is_empty() {
            return Err(InputError {
                file: table.file.clone(),
                row: Some(table.header_row),
                column: None,
                message: "the file has a header row but no rows under it".into(),
            }
            .into());
        }
        Ok(Columns { table, at })
    }

    fn index(&self, field: &str) -> usize {
        self.at
            .iter()
            .find(|(f, _, _)| *f == field)
            .map(|(_, _, i)| *i)
            .expect("a required column was found")
    }

    fn cell<'r>(&self, cells: &'r [String], field: &str) -> &'r str {
        cells
            .get(self.index(field))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn error(&self, row: u64, field: &str, message: String) -> InputError {
        let header = self
            .at
            .iter()
            .find(|(f, _, _)| *f == field)
            .and_then(|(_, _, i)| self.table.headers.get(*i).cloned());
        InputError {
            file: self.table.file.clone(),
            row: Some(row),
            column: header,
            message,
        }
    }

    /// A required cell: an error when empty.
    fn required<'r>(
        &self,
        cells: &'r [String],
        row: u64,
        field: &str,
        errors: &mut Vec<InputError>,
    ) -> Option<&'r str> {
        let value = self.cell(cells, field);
        if value.is_empty() {
            let name = self
                .at
                .iter()
                .find(|(f, _, _)| *f == field)
                .map(|(_, n, _)| *n)
                .unwrap_or(field);
            errors.push(self.error(row, field, format!("{name} is empty")));
            None
        } else {
            Some(value)
        }
    }
}

/// A site's 运行状态 in the national system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NationalStatus {
    /// 正常运行
    Running,
    /// 关停: permanently offline.
    Closed,
    /// 例外: exempted from inspection.
    Exception,
    /// 临时下线
    TemporarilyOffline,
}

const NATIONAL_STATUSES: &[(NationalStatus, &[&str])] = &[
    (
        NationalStatus::Running,
        &["正常运行", "运行", "正常", "running"],
    ),
    (
        NationalStatus::Closed,
        &["关停", "已关停", "永久下线", "closed"],
    ),
    (NationalStatus::Exception, &["例外", "exception"]),
    (
        NationalStatus::TemporarilyOffline,
        &["临时下线", "temporarily_offline", "temporarily offline"],
    ),
];

fn lookup<T: Copy>(table: &[(T, &[&str])], raw: &str) -> Option<T> {
    table
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(raw.trim())))
        .map(|(value, _)| *value)
}

fn accepted<T>(table: &[(T, &[&str])]) -> String {
    table
        .iter()
        .flat_map(|(_, names)| names.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

impl NationalStatus {
    /// The national system's word for it.
    pub fn label(self) -> &'static str {
        lookup_label(NATIONAL_STATUSES, self)
    }
}

fn lookup_label<T: Copy + PartialEq>(table: &[(T, &[&'static str])], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, names)| names[0])
        .unwrap_or("")
}

/// One row of the national export of sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalSite {
    pub row: u64,
    pub code: SiteCode,
    pub name: String,
    pub url: String,
    pub host: Hostname,
    pub organizer: String,
    pub kind: SiteKind,
    pub status: NationalStatus,
    /// The row as it was, for the fix list.
    pub cells: Vec<String>,
}

/// The national export of sites, with its own columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteExport {
    pub file: String,
    pub format: String,
    pub headers: Vec<String>,
    /// Where the fix list writes a name, a URL, an organizer, a type, a
    /// status.
    pub name_col: usize,
    pub url_col: usize,
    pub organizer_col: usize,
    pub kind_col: usize,
    pub status_col: usize,
    pub sites: Vec<NationalSite>,
}

/// One row of the national new-media system's export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalAccount {
    pub row: u64,
    pub organizer: String,
    pub platform: Platform,
    pub name: String,
    pub account_id: String,
    pub status: AccountStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountExport {
    pub file: String,
    pub format: String,
    pub accounts: Vec<NationalAccount>,
}

/// One "我为政府网站找错" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub row: u64,
    pub number: String,
    pub site_name: String,
    pub code: Option<SiteCode>,
    pub received_at: DateTime<Utc>,
    /// When it was passed on to the office (转办): its 3 working days
    /// count from then.
    pub passed_on_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// 是否属实: `None` while not judged.
    pub true_report: Option<bool>,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExport {
    pub file: String,
    pub format: String,
    pub messages: Vec<Message>,
}

/// A zone, from a file or a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneInput {
    /// The file's name, or `AXFR zone`.
    pub source: String,
    pub contents: ZoneContents,
}

/// Everything given to compare the registry against; each source may be
/// left out (and is then not compared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub sites: Option<SiteExport>,
    pub accounts: Option<AccountExport>,
    pub messages: Option<MessageExport>,
    pub zones: Vec<ZoneInput>,
}

/// Reads the national export of sites.
pub fn national_sites(file: &str, bytes: &[u8]) -> Result<SiteExport, BadInput> {
    let known = known(SITE_COLUMNS);
    let table = read(file, bytes, &known)?;
    let columns = Columns::find(&table, SITE_COLUMNS)?;
    let mut errors = Vec::new();
    let mut sites = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let (n, cells) = (row.number, row.cells.as_slice());
        let code = columns
            .required(cells, n, "code", &mut errors)
            .and_then(|raw| match raw.parse::<SiteCode>() {
                Ok(code) => Some(code),
                Err(e) => {
                    errors.push(columns.error(n, "code", e.to_string()));
                    None
                }
            });
        let name = columns.required(cells, n, "name", &mut errors);
        let url = columns.required(cells, n, "url", &mut errors);
        let host = url.and_then(|url| match Hostname::from_url_or_host(url) {
            Ok(host) => Some(host),
            Err(e) => {
                errors.push(columns.error(n, "url", e.to_string()));
                None
            }
        });
        let organizer = columns.required(cells, n, "organizer", &mut errors);
        let kind = columns
            .required(cells, n, "kind", &mut errors)
            .and_then(|raw| {
                crate::transfer::parse_kind(raw)
                    .map_err(|e| errors.push(columns.error(n, "kind", e.to_string())))
                    .ok()
            });
        let status = columns
            .required(cells, n, "status", &mut errors)
            .and_then(|raw| {
                let status = lookup(NATIONAL_STATUSES, raw);
                if status.is_none() {
                    errors.push(columns.error(
                        n,
                        "status",
                        format!(
                            "`{raw}` is not a 运行状态 (accepted: {})",
                            accepted(NATIONAL_STATUSES)
                        ),
                    ));
                }
                status
            });
        if let (
            Some(code),
            Some(name),
            Some(url),
            Some(host),
            Some(organizer),
            Some(kind),
            Some(status),
        ) = (code, name, url, host, organizer, kind, status)
        {
            sites.push(NationalSite {
                row: n,
                code,
                name: name.to_string(),
                url: url.to_string(),
                host,
                organizer: organizer.to_string(),
                kind,
                status,
                cells: cells.to_vec(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(BadInput(errors));
    }
    Ok(SiteExport {
        name_col: columns.index("name"),
        url_col: columns.index("url"),
        organizer_col: columns.index("organizer"),
        kind_col: columns.index("kind"),
        status_col: columns.index("status"),
        file: table.file.clone(),
        format: table.format.clone(),
        headers: table.raw_headers.clone(),
        sites,
    })
}

/// Reads the national new-media system's export of accounts.
pub fn national_accounts(file: &str, bytes: &[u8]) -> Result<AccountExport, BadInput> {
    let known = known(ACCOUNT_COLUMNS);
    let table = read(file, bytes, &known)?;
    let columns = Columns::find(&table, ACCOUNT_COLUMNS)?;
    let mut errors = Vec::new();
    let mut accounts = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let (n, cells) = (row.number, row.cells.as_slice());
        let organizer = columns.required(cells, n, "organizer", &mut errors);
        let platform = columns
            .required(cells, n, "platform", &mut errors)
            .and_then(|raw| {
                crate::transfer::parse_platform(raw)
                    .map_err(|e| errors.push(columns.error(n, "platform", e.to_string())))
                    .ok()
            });
        let name = columns.required(cells, n, "name", &mut errors);
        let account_id = columns.required(cells, n, "account_id", &mut errors);
        let status = columns
            .required(cells, n, "status", &mut errors)
            .and_then(|raw| {
                crate::transfer::parse_account_status(raw)
                    .map_err(|e| errors.push(columns.error(n, "status", e.to_string())))
                    .ok()
            });
        if let (Some(organizer), Some(platform), Some(name), Some(account_id), Some(status)) =
            (organizer, platform, name, account_id, status)
        {
            accounts.push(NationalAccount {
                row: n,
                organizer: organizer.to_string(),
                platform,
                name: name.to_string(),
                account_id: account_id.to_string(),
                status,
            });
        }
    }
    if !errors.is_empty() {
        return Err(BadInput(errors));
    }
    Ok(AccountExport {
        file: table.file.clone(),
        format: table.format.clone(),
        accounts,
    })
}

/// Reads the "我为政府网站找错" platform's export of messages.
pub fn messages(file: &str, bytes: &[u8]) -> Result<MessageExport, BadInput> {
    let known = known(MESSAGE_COLUMNS);
    let table = read(file, bytes, &known)?;
    let columns = Columns::find(&table, MESSAGE_COLUMNS)?;
    let mut errors = Vec::new();
    let mut messages = Vec::with_capacity(table.rows.len());
    let mut seen: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for row in &table.rows {
        let (n, cells) = (row.number, row.cells.as_slice());
        let time = |field: &str, required: bool, errors: &mut Vec<InputError>| {
            let raw = columns.cell(cells, field);
            if raw.is_empty() {
                if required {
                    errors.push(columns.error(n, field, "the time is empty".into()));
                }
                return None;
            }
            match crate::clock::parse_time(field, raw) {
                Ok(t) => Some(Some(t)),
                Err(_) => {
                    errors.push(columns.error(
                        n,
                        field,
                        format!(
                            "`{raw}` is not a time (write YYYY-MM-DD HH:MM[:SS], China Standard Time)"
                        ),
                    ));
                    None
                }
            }
        };
        let received_at = time("received_at", true, &mut errors).flatten();
        let passed_on_at = time("passed_on_at", false, &mut errors).flatten();
        let answered_at = time("answered_at", false, &mut errors).flatten();
        let number = columns.required(cells, n, "number", &mut errors);
        let site_name = columns.cell(cells, "site_name");
        let code = match columns.cell(cells, "code") {
            "" => Ok(None),
            raw => raw.parse::<SiteCode>().map(Some).map_err(|e| {
                errors.push(columns.error(n, "code", e.to_string()));
            }),
        };
        let true_report = match columns.cell(cells, "true_report") {
            "" | "待核实" | "未核实" => Ok(None),
            "是" | "属实" | "true" => Ok(Some(true)),
            "否" | "不属实" | "false" => Ok(Some(false)),
            raw => {
                errors.push(columns.error(
                    n,
                    "true_report",
                    format!("`{raw}` is not 是 or 否 (属实, 不属实, or empty while not judged)"),
                ));
                Err(())
            }
        };
        if let (Some(passed), Some(answered)) = (passed_on_at, answered_at)
            && answered < passed
        {
            errors.push(columns.error(
                n,
                "answered_at",
                format!(
                    "answered at {} before it was passed on ({})",
                    crate::clock::show(answered),
                    crate::clock::show(passed)
                ),
            ));
        }
        if let Some(number) = number
            && let Some(first) = seen.insert(number, n)
        {
            errors.push(columns.error(
                n,
                "number",
                format!("留言编号 {number} is also on row {first}"),
            ));
        }
        if let (Some(number), Some(received_at), Ok(code), Ok(true_report)) =
            (number, received_at, code, true_report)
        {
            messages.push(Message {
                row: n,
                number: number.to_string(),
                site_name: site_name.to_string(),
                code,
                received_at,
                passed_on_at,
                answered_at,
                true_report,
                state: columns.cell(cells, "state").to_string(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(BadInput(errors));
    }
    Ok(MessageExport {
        file: table.file.clone(),
        format: table.format.clone(),
        messages,
    })
}

fn read(file: &str, bytes: &[u8], known: &[&str]) -> Result<Table, BadInput> {
    Ok(super::table::read(file, bytes, known)?)
}

/// Reads a BIND zone file; its origin from `$ORIGIN`, else from the file
/// name (`gansu.gov.cn.zone`, `db.gansu.gov.cn`) or `ORIGIN=FILE`.
pub fn zone(file: &str, origin: Option<&str>, text: &str) -> Result<ZoneInput, BadInput> {
    let has_origin = text
        .lines()
        .any(|l| l.trim_start().to_ascii_uppercase().starts_with("$ORIGIN"));
    let guessed = origin.map(str::to_string).or_else(|| {
        if has_origin {
            return None;
        }
        let base = std::path::Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let base = base.strip_prefix("db.").unwrap_or(&base);
        let base = [".zone", ".db", ".txt"]
            .iter()
            .fold(base.to_string(), |b, ext| {
                b.strip_suffix(ext).map(str::to_string).unwrap_or(b)
            });
        base.parse::<Hostname>().ok().map(|h| h.to_string())
    });
    if !has_origin && guessed.is_none() {
        return Err(InputError {
            file: file.to_string(),
            row: None,
            column: None,
            message: "the zone file has no $ORIGIN and its name is not the zone's: give it as ZONE=FILE (gansu.gov.cn=FILE)".into(),
        }
        .into());
    }
    let contents =
        crate::probe::zone::zone_file(text, guessed.as_deref()).map_err(|message| InputError {
            file: file.to_string(),
            row: None,
            column: None,
            message,
        })?;
    Ok(ZoneInput {
        source: file.to_string(),
        contents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zhaocuo_export_reads_with_its_bom_times_and_judgements() {
        let bytes = include_bytes!("../../tests/fixtures/reconcile/zhaocuo-bom.csv");
        let export = messages("zhaocuo-bom.csv", bytes).expect("reads");
        assert_eq!(export.format, "UTF-8");
        assert_eq!(export.messages.len(), 5);
        let first = &export.messages[0];
        assert_eq!(first.row, 2);
        assert_eq!(first.number, "ZC2026100001");
        assert_eq!(first.code.as_ref().map(|c| c.as_str()), Some("6201000001"));
        assert_eq!(
            crate::clock::show(first.passed_on_at.expect("valid")),
            "2026-09-30 16:00:00"
        );
        assert_eq!(first.true_report, Some(true));
        assert_eq!(export.messages[2].answered_at, None);
        assert_eq!(export.messages[2].true_report, None);
    }

    #[test]
    fn every_site_type_and_running_status_the_national_export_uses_is_read() {
        use crate::registry::SiteKind as S;
        // Headers in another order; each 网站类型 and 运行状态 the national
        // system writes, and the English words.
        let text = "运行状态,网站类型,主办单位,首页网址,网站名称,网站标识码\n\
                    正常运行,门户网站,甲,http://a.gansu.gov.cn/,a,6200000001\n\
                    关停,政府门户网站,甲,http://b.gansu.gov.cn/,b,6200000002\n\
                    例外,部门网站,甲,http://c.gansu.gov.cn/,c,6200000003\n\
                    临时下线,专项网站,甲,http://d.gansu.gov.cn/,d,6200000004\n\
                    running,portal,甲,http://e.gansu.gov.cn/,e,6200000005\n\
                    Closed,department,甲,http://f.gansu.gov.cn/,f,6200000006\n\
                    exception,special,甲,http://g.gansu.gov.cn/,g,6200000007\n\
                    temporarily offline,Special,甲,http://h.gansu.gov.cn/,h,6200000008\n";
        let export = national_sites("sites.csv", text.as_bytes()).expect("reads");
        let read: Vec<(S, NationalStatus)> =
            export.sites.iter().map(|s| (s.kind, s.status)).collect();
        use NationalStatus as N;
        assert_eq!(
            read,
            [
                (S::Portal, N::Running),
                (S::Portal, N::Closed),
                (S::Department, N::Exception),
                (S::Special, N::TemporarilyOffline),
                (S::Portal, N::Running),
                (S::Department, N::Closed),
                (S::Special, N::Exception),
                (S::Special, N::TemporarilyOffline),
            ]
        );
        // The fix list writes into the export's own columns.
        assert_eq!(
            (export.status_col, export.kind_col, export.name_col),
            (0, 1, 4)
        );
        // Unknown values: the file, the row and the column named, each.
        let text = "网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态\n\
                    6200000001,a,http://a.gansu.gov.cn/,甲,门户网站,正常运行\n\
                    6200000002,b,http://b.gansu.gov.cn/,甲,博客,停运\n";
        let e = national_sites("sites.csv", text.as_bytes()).expect_err("refused");
        let told: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(
            told[0].starts_with("sites.csv, row 3, column 网站类型: ") && told[0].contains("博客"),
            "{}",
            told[0]
        );
        assert!(
            told[1].starts_with("sites.csv, row 3, column 运行状态: `停运` is not a 运行状态")
                && told[1].contains("正常运行, 运行, 正常, running, 关停"),
            "{}",
            told[1]
        );
    }
}
