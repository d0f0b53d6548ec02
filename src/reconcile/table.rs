//! Tabular input files read as tables of text cells: the national systems'
//! XLSX exports (legacy XLS too) and CSV in any encoding
//! [`crate::transfer::decode`] knows.
//!
//! This module owns getting from bytes to a [`Table`]: the format (by the
//! file's magic bytes, never its name; workbooks through
//! [`crate::transfer::workbook`], the one reader that imports use too:
//! the first visible worksheet with its merged cells filled, cell values as
//! text), and which row is the header. An export
//! often starts with a title row and a two-row header; the header row is the
//! one among the first [`HEADER_SCAN`] non-blank rows that names the most
//! columns the caller knows. What the columns mean is the caller's business:
//! [`Table::column`] finds a column by its accepted names. Every problem is
//! an [`InputError`] naming the file and, where it can, the row and column.

use std::fmt;

use crate::transfer;
use crate::transfer::workbook;

/// How many non-blank rows at the top of a file may hold the header.
pub const HEADER_SCAN: usize = 30;

/// One input file read as a table of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The file's name as the user gave it (for messages).
    pub file: String,
    /// How it was read: "XLSX", "XLS", or the CSV's encoding as
    /// [`transfer::decode`] names it ("UTF-8", "UTF-16LE", "GB18030"...).
    pub format: String,
    /// The header row's number (1-based, as Excel and a text editor number
    /// rows and lines).
    pub header_row: u64,
    /// The header cell of each column, normalised by [`normalise_header`];
    /// empty columns after the last named one are left out.
    pub headers: Vec<String>,
    /// The same header cells as written (trimmed), for writing a file in
    /// the input's own columns.
    pub raw_headers: Vec<String>,
    /// The non-blank rows after the header row.
    pub rows: Vec<Row>,
}

/// A data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row's number in the sheet, or the line its record starts on in
    /// the CSV (1-based).
    pub number: u64,
    /// The cells, trimmed; as many as [`Table::headers`] (a short row is
    /// padded with "", cells beyond the last header are dropped).
    pub cells: Vec<String>,
}

/// A problem with an input file: the file, and where known the row and the
/// column (its header).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    pub file: String,
    pub row: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl InputError {
    fn new(file: &str, row: Option<u64>, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_string(),
            row,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

impl Table {
    /// Column index of the first header equal (after normalisation) to any
    /// of `names`.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        let names: Vec<String> = names.iter().map(|name| normalise_header(name)).collect();
        self.headers
            .iter()
            .position(|header| !header.is_empty() && names.contains(header))
    }
}

/// Normalises a header cell: trims, drops BOM, whitespace incl. newlines
/// and full-width spaces, asterisks (`*网站名称` marks required), and a
/// trailing parenthesised note in ASCII or full-width parentheses
/// (`网站标识码（必填）` -> `网站标识码`); lowercases ASCII.
pub fn normalise_header(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|&c| !c.is_whitespace() && !matches!(c, '\u{feff}' | '\u{200b}' | '*' | '＊'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // A trailing note, its parentheses balanced (`名称(注(1))`), unless it
    // is the whole header.
    while out.ends_with([')', '）']) {
        let mut depth = 0usize;
        let mut open = None;
        for (at, c) in out.char_indices().rev() {
            match c {
                ')' | '）' => depth += 1,
                '(' | '（' => {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(at);
                        break;
                    }
                }
                _ => {}
            }
        }
        match open {
            Some(at) if at > 0 => out.truncate(at),
            _ => break,
        }
    }
    out
}

/// Reads `bytes` (the content of the file named `file`): an XLSX workbook
/// when it starts with the ZIP magic, a legacy XLS workbook when it starts
/// with the OLE2 magic, else CSV decoded with [`transfer::decode`]. `known`
/// lists the header names (normalised) the caller understands; the header
/// row is the one naming most of them.
pub fn read(file: &str, bytes: &[u8], known: &[&str]) -> Result<Table, InputError> {
    if let Some(format) = workbook::Format::of(bytes) {
        let mut sheet = workbook::open(format, bytes)
            .map_err(|e| InputError::new(file, None, e.to_string()))?;
        if sheet.is_empty() {
            return Err(empty(file, known));
        }
        assemble(file, format.name().to_string(), known, sheet.rows().map(Ok))
    } else {
        let (text, encoding) =
            transfer::decode(bytes).map_err(|e| InputError::new(file, None, e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut lines = transfer::CsvLines::new(&text);
        let rows = std::iter::from_fn(|| match reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
                Some(Ok((line, record.iter().map(trimmed).collect())))
            }
            Err(e) => {
                let line = e.position().map(|p| lines.line_at(p.byte()));
                Some(Err(InputError::new(
                    file,
                    line,
                    format!("cannot read the CSV: {e}"),
                )))
            }
        });
        assemble(file, encoding.to_string(), known, rows)
    }
}

/// The first few header names the caller knows, for a message.
fn expected(known: &[&str]) -> String {
    let mut expected = known.iter().take(4).copied().collect::<Vec<_>>().join(", ");
    if known.len() > 4 {
        expected.push_str(", …");
    }
    expected
}

/// A file with nothing in it: named at its first row, where the header
/// should be, with the columns it should have.
fn empty(file: &str, known: &[&str]) -> InputError {
    InputError::new(
        file,
        Some(1),
        format!(
            "the file is empty: expected a header row with columns such as {}",
            expected(known)
        ),
    )
}

fn trimmed(cell: &str) -> String {
    cell.trim().to_string()
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(String::is_empty)
}

/// A column's letter as Excel names it: A, B, ..., Z, AA, AB...
fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        n -= 1;
        letters.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

/// Finds the header row among the first non-blank rows and takes the rows
/// after it as the data.
fn assemble(
    file: &str,
    format: String,
    known: &[&str],
    mut rows: impl Iterator<Item = Result<(u64, Vec<String>), InputError>>,
) -> Result<Table, InputError> {
    let accepted: Vec<String> = known.iter().map(|name| normalise_header(name)).collect();
    let mut head = Vec::with_capacity(HEADER_SCAN);
    while head.len() < HEADER_SCAN {
        let Some(row) = rows.next() else { break };
        let (number, cells) = row?;
        if !is_blank(&cells) {
            head.push((number, cells));
        }
    }
    if head.is_empty() {
        return Err(empty(file, known));
    }

    // The row naming most known columns; on a tie the later one (a merged
    // two-row header's lower row holds its sub-headers too).
    let mut best = (0usize, 0usize);
    for (at, (_, cells)) in head.iter().enumerate() {
        let matches = cells
            .iter()
            .filter(|cell| !cell.is_empty() && accepted.contains(&normalise_header(cell)))
            .count();
        if matches > 0 && matches >= best.1 {
            best = (at, matches);
        }
    }
    if best.1 < accepted.len().clamp(1, 2) {
        return Err(InputError::new(
            file,
            None,
            format!(
                "no header row found in the first {HEADER_SCAN} rows: expected columns such as {}",
                expected(known)
            ),
        ));
    }

    let mut head = head.into_iter().skip(best.0);
    let (header_row, header_cells) = head.next().expect("the header row is among them");
    let mut headers: Vec<String> = header_cells.iter().map(|h| normalise_header(h)).collect();
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    for (at, header) in headers.iter().enumerate() {
        if !accepted.contains(header) {
            continue;
        }
        if let Some(second) = headers[at + 1..].iter().position(|h| h == header) {
            return Err(InputError::new(
                file,
                Some(header_row),
                format!(
                    "the header names {header} twice (columns {} and {})",
                    column_letter(at),
                    column_letter(at + 1 + second)
                ),
            ));
        }
    }

    let width = headers.len();
    let mut raw_headers: Vec<String> = header_cells.iter().map(|h| trimmed(h)).collect();
    raw_headers.resize(width, String::new());
    let mut data = Vec::new();
    for row in head.map(Ok).chain(rows) {
        let (number, mut cells) = row?;
        cells.truncate(width);
        if is_blank(&cells) {
            continue;
        }
        cells.resize(width, String::new());
        data.push(Row { number, cells });
    }
    Ok(Table {
        file: file.to_string(),
        format,
        header_row,
        headers,
        raw_headers,
        rows: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::workbook::{OLE_MAGIC, ZIP_MAGIC};

    const SITE_HEADERS: &[&str] = &[
        "网站标识码",
        "网站名称",
        "首页网址",
        "主办单位",
        "网站类型",
        "运行状态",
    ];

    fn csv_bytes(text: &str) -> Vec<u8> {
        text.as_bytes().to_vec()
    }

    #[test]
    fn merged_xlsx_export() {
        let bytes = include_bytes!("../../tests/fixtures/reconcile/table-merged.xlsx");
        let table = read("网站列表.xlsx", bytes, SITE_HEADERS).expect("reads");
        assert_eq!(table.format, "XLSX");
        assert_eq!(table.header_row, 3);
        assert_eq!(table.headers, SITE_HEADERS);
        assert_eq!(table.rows.len(), 3);
        assert_eq!(table.rows[0].number, 4);
        assert_eq!(
            table.rows[0].cells,
            [
                "6200000001",
                "甘肃省人民政府",
                "http://www.gansu.gov.cn/",
                "甘肃省人民政府办公厅",
                "政府门户网站",
                "正常运行"
            ]
        );
        assert_eq!(table.rows[2].number, 6);
        assert_eq!(table.rows[2].cells[0], "6200000012");
        assert_eq!(table.column(&["网站名称"]), Some(1));
        assert_eq!(table.column(&["url", "*首页网址（必填）"]), Some(2));
        assert_eq!(table.column(&["网站基本信息"]), None);
    }

    #[test]
    fn xlsx_datetimes() {
        let bytes = include_bytes!("../../tests/fixtures/reconcile/table-messages.xlsx");
        let known = ["网站标识码", "网站名称", "留言标题", "留言时间", "答复时间"];
        let table = read("留言.xlsx", bytes, &known).expect("reads");
        // Every header merged over rows 2-3: the lower row wins the tie.
        assert_eq!(table.header_row, 3);
        assert_eq!(table.rows[0].number, 4);
        let at = table.column(&["留言时间"]).expect("column");
        assert_eq!(table.rows[0].cells[at], "2026-11-03 09:15:00");
        assert_eq!(table.rows[0].cells[at + 1], "2026-11-05 16:40:30");
        assert_eq!(table.rows[1].cells[at], "2026-11-20 14:02:00");
        assert_eq!(table.rows[1].cells[at + 1], "");
        assert_eq!(table.rows[1].cells[0], "6201000001");
    }

    #[test]
    fn gb18030_csv() {
        let text = "网站标识码,网站名称,首页网址\r\n6200000001,甘肃省人民政府,http://www.gansu.gov.cn/\r\n";
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        let table = read("sites.csv", &bytes, SITE_HEADERS).expect("reads");
        assert_eq!(table.format, "GB18030");
        assert_eq!(table.header_row, 1);
        assert_eq!(table.headers, ["网站标识码", "网站名称", "首页网址"]);
        assert_eq!(table.rows.len(), 1);
        assert_eq!(table.rows[0].number, 2);
        assert_eq!(table.rows[0].cells[1], "甘肃省人民政府");
    }

    #[test]
    fn utf8_bom_csv() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(csv_bytes(
            "网站名称,网站标识码\n 甘肃省人民政府 ,6200000001\n",
        ));
        let table = read("sites.csv", &bytes, SITE_HEADERS).expect("reads");
        assert_eq!(table.format, "UTF-8");
        assert_eq!(table.headers, ["网站名称", "网站标识码"]);
        assert_eq!(table.rows[0].cells, ["甘肃省人民政府", "6200000001"]);
    }

    #[test]
    fn utf16le_csv() {
        let text = "网站标识码,网站名称\n6200000001,甘肃省人民政府\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let table = read("sites.csv", &bytes, SITE_HEADERS).expect("reads");
        assert_eq!(table.format, "UTF-16LE");
        assert_eq!(table.rows[0].cells, ["6200000001", "甘肃省人民政府"]);
    }

    #[test]
    fn csv_title_lines_blank_and_ragged_rows() {
        let text = "全国政府网站信息报送系统 网站列表\n\
                    导出时间,2026-12-01\n\
                    \n\
                    *网站标识码（必填）,\"网站\n名称\",备注,\n\
                    6200000001,甘肃省人民政府,省政府门户,extra,cells\n\
                    ,,\n\
                    6201000001\n";
        let table = read("sites.csv", &csv_bytes(text), SITE_HEADERS).expect("reads");
        assert_eq!(table.header_row, 4);
        assert_eq!(table.headers, ["网站标识码", "网站名称", "备注"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].number, 6);
        assert_eq!(
            table.rows[0].cells,
            ["6200000001", "甘肃省人民政府", "省政府门户"]
        );
        assert_eq!(table.rows[1].number, 8);
        assert_eq!(table.rows[1].cells, ["6201000001", "", ""]);
    }

    #[test]
    fn csv_line_numbers() {
        // CRLF, empty lines (which the csv crate skips), a field over two
        // lines, a CR alone.
        let text =
            "标题\r\n\r\n网站标识码,网站名称\r\n1,a\r\n\r\n\r\n2,\"b\r\nb\"\r\n3,c\r4,d\n\n5,e";
        let table = read("lines.csv", &csv_bytes(text), SITE_HEADERS).expect("reads");
        assert_eq!(table.header_row, 3);
        let numbers: Vec<u64> = table.rows.iter().map(|row| row.number).collect();
        assert_eq!(numbers, [4, 7, 9, 10, 12]);
        assert_eq!(table.rows[1].cells[1], "b\r\nb");
    }

    #[test]
    fn empty_files() {
        for bytes in [&b""[..], b"\n\n  \n", b",,\n , \n", b"\xEF\xBB\xBF"] {
            let e = read("empty.csv", bytes, SITE_HEADERS).expect_err("empty");
            assert_eq!(e.row, Some(1));
            assert_eq!(
                e.to_string(),
                "empty.csv, row 1: the file is empty: expected a header row \
                 with columns such as 网站标识码, 网站名称, 首页网址, 主办单位, …"
            );
        }
    }

    #[test]
    fn no_header_row() {
        let text = "名称,地址\n甘肃省人民政府,http://www.gansu.gov.cn/\n";
        let e = read("x.csv", &csv_bytes(text), SITE_HEADERS).expect_err("no header");
        assert_eq!(e.row, None);
        assert_eq!(
            e.to_string(),
            "x.csv: no header row found in the first 30 rows: \
             expected columns such as 网站标识码, 网站名称, 首页网址, 主办单位, …"
        );
        // One known name is not enough.
        let text = "网站名称,地址\n甘肃省人民政府,http://www.gansu.gov.cn/\n";
        assert!(read("x.csv", &csv_bytes(text), SITE_HEADERS).is_err());
        // Beyond the first 30 non-blank rows.
        let text = format!("{}网站标识码,网站名称\n1,a\n", "title\n\n".repeat(30));
        assert!(read("x.csv", &csv_bytes(&text), SITE_HEADERS).is_err());
        let text = format!("{}网站标识码,网站名称\n1,a\n", "title\n\n".repeat(29));
        let table = read("x.csv", &csv_bytes(&text), SITE_HEADERS).expect("reads");
        assert_eq!(table.header_row, 59);
    }

    #[test]
    fn duplicate_header() {
        let text =
            "标题\n网站标识码,网站名称,首页网址,主办单位,备注,网站名称（简称）\n1,a,b,c,d,e\n";
        let e = read("dup.csv", &csv_bytes(text), SITE_HEADERS).expect_err("duplicate");
        assert_eq!(e.row, Some(2));
        assert_eq!(
            e.to_string(),
            "dup.csv, row 2: the header names 网站名称 twice (columns B and F)"
        );
        // Unknown headers may repeat.
        let text = "网站标识码,网站名称,备注,备注\n1,a,b,c\n";
        assert!(read("dup.csv", &csv_bytes(text), SITE_HEADERS).is_ok());
    }

    #[test]
    fn not_a_workbook() {
        let mut bytes = ZIP_MAGIC.to_vec();
        bytes.extend([0; 64]);
        let e = read("x.xlsx", &bytes, SITE_HEADERS).expect_err("not xlsx");
        assert!(
            e.message.starts_with("cannot read the XLSX workbook"),
            "{e}"
        );
        let mut bytes = OLE_MAGIC.to_vec();
        bytes.extend([0; 600]);
        let e = read("x.xls", &bytes, SITE_HEADERS).expect_err("not xls");
        assert!(e.message.contains("Excel 97-2003"), "{e}");
    }

    #[test]
    fn error_display() {
        let e = InputError {
            file: "a.xlsx".into(),
            row: Some(7),
            column: Some("网站标识码".into()),
            message: "not a site code".into(),
        };
        assert_eq!(
            e.to_string(),
            "a.xlsx, row 7, column 网站标识码: not a site code"
        );
        let e = InputError { row: None, ..e };
        assert_eq!(e.to_string(), "a.xlsx, column 网站标识码: not a site code");
    }

    #[test]
    fn header_normalisation() {
        for (raw, normal) in [
            ("网站标识码", "网站标识码"),
            ("\u{feff}网站标识码", "网站标识码"),
            (" *网站名称 ", "网站名称"),
            ("＊网站名称", "网站名称"),
            ("网站标识码（必填）", "网站标识码"),
            ("网站标识码(必填)", "网站标识码"),
            ("主办单位 (全称) ", "主办单位"),
            ("网站\n标识码", "网站标识码"),
            ("网站\u{3000}名称", "网站名称"),
            ("名称(注(1))", "名称"),
            ("名称（必填）（全称）", "名称"),
            ("(备注)", "(备注)"),
            ("Site_Code", "site_code"),
            ("ＡＢ", "ＡＢ"),
            ("", ""),
        ] {
            assert_eq!(normalise_header(raw), normal, "{raw:?}");
        }
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }
}
