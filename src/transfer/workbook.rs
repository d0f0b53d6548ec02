//! Workbooks read as rows of text: the one reader of XLSX (and legacy XLS)
//! files, for imports (`siteward import`) and the reconciliation's inputs
//! alike.
//!
//! What a workbook is comes from its first bytes, never its name: the ZIP
//! magic for XLSX, the OLE2 compound-file magic for XLS. The sheet read is
//! the first visible worksheet; each merged region is filled with its
//! top-left value (an export merges an organizer's cell over its sites);
//! every cell becomes text as Excel shows it in a General cell: whole
//! numbers without `.0` (an identifier code stored as a number stays
//! `6200000001`), dates as `YYYY-MM-DD hh:mm:ss`. Rows are numbered as the
//! spreadsheet numbers them (1-based), so a message can name the row a
//! person sees.

use std::io::Cursor;

use calamine::{Data, Dimensions, Range, Reader, SheetType, SheetVisible, Xls, Xlsx};

/// A ZIP archive's local file header: XLSX (and XLSB, ODS, DOCX...).
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An OLE2 compound file: legacy XLS (and DOC, or an encrypted XLSX).
pub const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Which kind of workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xls,
}

impl Format {
    /// The workbook format `bytes` start with, or `None` for anything else
    /// (text, to be read as CSV).
    pub fn of(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(ZIP_MAGIC) {
            Some(Format::Xlsx)
        } else if bytes.starts_with(OLE_MAGIC) {
            Some(Format::Xls)
        } else {
            None
        }
    }

    /// Its name, as messages and summaries show it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Xlsx => "XLSX",
            Format::Xls => "XLS",
        }
    }
}

/// A workbook that cannot be read, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkbookError {
    #[error("cannot read the XLSX workbook: {0}")]
    Xlsx(String),
    #[error(
        "cannot read the file as an Excel 97-2003 workbook (XLS): {0}; save it as XLSX (without a password) or as CSV"
    )]
    Xls(String),
}

/// The sheet a workbook is read from, its merged regions filled.
#[derive(Debug)]
pub struct Sheet {
    range: Range<Data>,
}

/// Opens the workbook in `bytes` and reads its first visible worksheet.
pub fn open(format: Format, bytes: &[u8]) -> Result<Sheet, WorkbookError> {
    let (range, merged) = match format {
        Format::Xlsx => open_xlsx(bytes).map_err(WorkbookError::Xlsx)?,
        Format::Xls => open_xls(bytes).map_err(WorkbookError::Xls)?,
    };
    Ok(Sheet {
        range: filled(range, &merged),
    })
}

impl Sheet {
    /// Whether the sheet holds no cell at all.
    pub fn is_empty(&self) -> bool {
        self.range.start().is_none()
    }

    /// Every row of the sheet with its number (1-based, as the spreadsheet
    /// shows it), blank rows included, each cell as text (trimmed). The
    /// cells' strings are moved out, not copied.
    pub fn rows(&mut self) -> impl Iterator<Item = (u64, Vec<String>)> + '_ {
        let first_row = self.range.start().map_or(1, |(top, _)| u64::from(top) + 1);
        let (height, _) = self.range.get_size();
        let range = &mut self.range;
        (0..height).map(move |r| {
            let cells = range[r].iter_mut().map(text).collect();
            (first_row + r as u64, cells)
        })
    }
}

/// The first worksheet that is not hidden (else the first worksheet).
fn first_sheet(sheets: &[calamine::Sheet]) -> Result<String, String> {
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
        .ok_or_else(|| "the workbook has no worksheet".to_string())
}

/// The first worksheet's values and merged regions. The regions follow the
/// data in the sheet's XML: finding them is a second pass over it, about a
/// third of the time on a large sheet. (Doing it on a second thread over
/// its own reader did not pay on two busy cores.)
fn open_xlsx(bytes: &[u8]) -> Result<(Range<Data>, Vec<Dimensions>), String> {
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let name = first_sheet(book.sheets_metadata())?;
    let range = book.worksheet_range(&name).map_err(|e| e.to_string())?;
    let merged = book
        .merge_cells_by_sheet_name(&name)
        .map_err(|e| e.to_string())?;
    Ok((range, merged))
}

fn open_xls(bytes: &[u8]) -> Result<(Range<Data>, Vec<Dimensions>), String> {
    let mut book = Xls::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let name = first_sheet(book.sheets_metadata())?;
    let range = book.worksheet_range(&name).map_err(|e| e.to_string())?;
    let merged = book
        .merge_cells_by_sheet_name(&name)
        .map_err(|e| e.to_string())?;
    Ok((range, merged))
}

/// The range with each merged region filled with its top-left value.
fn filled(mut range: Range<Data>, merged: &[Dimensions]) -> Range<Data> {
    let Some((top, left)) = range.start() else {
        return range;
    };
    let (height, width) = range.get_size();
    // Absolute sheet coordinates -> the range's, clipped to it.
    let clip = |(row, col): (u32, u32)| {
        (
            (row.saturating_sub(top) as usize).min(height - 1),
            (col.saturating_sub(left) as usize).min(width - 1),
        )
    };
    for region in merged {
        let inside = region.start.0 <= region.end.0
            && region.start.1 <= region.end.1
            && region.start.0 >= top
            && region.start.1 >= left
            && ((region.start.0 - top) as usize) < height
            && ((region.start.1 - left) as usize) < width;
        if !inside {
            continue; // its top-left cell holds no value: nothing to fill
        }
        let (r0, c0) = clip(region.start);
        let (r1, c1) = clip(region.end);
        let value = range[(r0, c0)].clone();
        if value == Data::Empty {
            continue;
        }
        for r in r0..=r1 {
            for c in c0..=c1 {
                if (r, c) != (r0, c0) {
                    range[(r, c)] = value.clone();
                }
            }
        }
    }
    range
}

/// A cell's value as text (trimmed), taking its string rather than copying.
fn text(cell: &mut Data) -> String {
    match std::mem::take(cell) {
        Data::String(s) => {
            if s.trim().len() == s.len() {
                s
            } else {
                s.trim().to_string()
            }
        }
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_duration() => {
            let seconds = (dt.as_f64() * 86_400.0).round() as i64;
            let sign = if seconds < 0 { "-" } else { "" };
            let seconds = seconds.abs();
            format!(
                "{sign}{}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            )
        }
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (0.0..1.0).contains(&dt.as_f64()) {
                // A time of day alone (Excel's day 0 is no date).
                format!("{h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTimeIso(s) => iso_datetime(s.trim()),
        Data::DurationIso(s) => s.trim().to_string(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// A number as Excel shows it in a General cell, for whole numbers at
/// least: `6200000001`, never `6200000001.0` nor `6.2e9`.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // Exact: a whole number below 2^53; `as` keeps `-0.0` from showing.
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

/// An ISO 8601 date or datetime (`2026-11-03T09:15:00.000`) in the form
/// [`text`] gives Excel datetimes (`2026-11-03 09:15:00`); a time alone or
/// anything else as it is.
fn iso_datetime(s: &str) -> String {
    let b = s.as_bytes();
    let date = b.len() >= 10 && b[4] == b'-' && b[7] == b'-';
    if date && b.len() == 10 {
        format!("{s} 00:00:00")
    } else if date && b.len() >= 19 && b[10] == b'T' && b[13] == b':' && b[16] == b':' {
        format!("{} {}", &s[..10], &s[11..19])
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_content() {
        assert_eq!(Format::of(b"PK\x03\x04rest"), Some(Format::Xlsx));
        assert_eq!(Format::of(OLE_MAGIC), Some(Format::Xls));
        assert_eq!(Format::of(b"name,url\n"), None);
        assert_eq!(Format::of(b"PK"), None);
    }

    #[test]
    fn cell_text() {
        assert_eq!(text(&mut Data::Float(6_200_000_001.0)), "6200000001");
        assert_eq!(text(&mut Data::Float(-0.0)), "0");
        assert_eq!(text(&mut Data::Float(1.5)), "1.5");
        assert_eq!(text(&mut Data::Float(1e20)), "100000000000000000000");
        assert_eq!(text(&mut Data::Int(42)), "42");
        assert_eq!(text(&mut Data::Bool(true)), "true");
        assert_eq!(text(&mut Data::String("  a b \n".into())), "a b");
        assert_eq!(text(&mut Data::Empty), "");
        assert_eq!(
            text(&mut Data::DateTimeIso("2026-11-03T09:15:00.000".into())),
            "2026-11-03 09:15:00"
        );
        assert_eq!(
            text(&mut Data::DateTimeIso("2026-11-03".into())),
            "2026-11-03 00:00:00"
        );
        assert_eq!(text(&mut Data::DateTimeIso("09:15:00".into())), "09:15:00");
        let dt = calamine::ExcelDateTime::new(
            45964.385416666664,
            calamine::ExcelDateTimeType::DateTime,
            false,
        );
        assert_eq!(text(&mut Data::DateTime(dt)), "2025-11-03 09:15:00");
        let midnight =
            calamine::ExcelDateTime::new(45964.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&mut Data::DateTime(midnight)), "2025-11-03 00:00:00");
        let time = calamine::ExcelDateTime::new(
            0.385416666666667,
            calamine::ExcelDateTimeType::DateTime,
            false,
        );
        assert_eq!(text(&mut Data::DateTime(time)), "09:15:00");
        let duration =
            calamine::ExcelDateTime::new(1.5, calamine::ExcelDateTimeType::TimeDelta, false);
        assert_eq!(text(&mut Data::DateTime(duration)), "36:00:00");
    }
}
