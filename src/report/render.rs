//! Rendering a [`Circular`]: the printable page (HTML from the askama
//! template `templates/circular.html`, with the pass-rate chart as SVG
//! drawn here), the same text as Markdown, a CSV per attached table, one
//! Excel workbook, and writing them all to a directory. Every renderer is
//! pure and deterministic: a stored circular gives the same bytes each
//! time it is rendered, so a re-render can be compared with what was
//! published. Times shown are China Standard Time.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use askama::Template;
use chrono::{DateTime, Datelike, Timelike, Utc};
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
};
use unicode_width::UnicodeWidthStr;

use super::{Bar, Block, Cell, Circular, Figures, Table, percent};
use crate::clock;

/// The chart's caption, in the page and in the Markdown.
const CHART_CAPTION: &str = "图1　各地区、各部门政府网站检查合格率";
/// The chart's columns in the Markdown.
const CHART_HEADERS: [&str; 2] = ["地区、部门", "合格率"];
/// Widest column of a sheet, in Excel's character units: wider text wraps.
const MAX_COLUMN_WIDTH: f64 = 60.0;
/// Excel's A4 paper size code.
const PAPER_A4: u8 = 9;

// ---------------------------------------------------------------- HTML

/// The circular as a standalone printable page: A4, no external
/// resources, no script.
pub fn html(c: &Circular) -> String {
    let page = Page {
        c,
        date: document_date(c.generated_at),
        generated: clock::show(c.generated_at),
        chart: chart_svgs(&c.chart),
        chart_caption: CHART_CAPTION,
        tables: c.tables.iter().map(TableView::new).collect(),
    };
    // The template is checked at compile time and writes into a String;
    // rendering fails only if a Display impl does, and ours do not.
    page.render()
        .expect("the circular template renders into a String")
}

#[derive(Template)]
#[template(path = "circular.html")]
struct Page<'a> {
    c: &'a Circular,
    /// The document's date (成文日期), "2026年12月31日".
    date: String,
    /// When it was generated, CST.
    generated: String,
    /// Inline SVG drawings, already escaped; none when there is no bar.
    chart: Vec<String>,
    chart_caption: &'static str,
    tables: Vec<TableView<'a>>,
}

/// A table as the page shows it: each cell's text and whether it is a
/// number (right-aligned).
struct TableView<'a> {
    table: &'a Table,
    rows: Vec<Vec<CellView>>,
    /// The note under a table that has rows, introduced by "注：".
    note_below: Option<String>,
}

struct CellView {
    text: String,
    numeric: bool,
    /// A short token never split across lines: an identifier code, a
    /// date ("6201000001" broken as "62010000 / 01" misreads).
    token: bool,
}

fn is_token(text: &str) -> bool {
    (1..=12).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl<'a> TableView<'a> {
    fn new(table: &'a Table) -> TableView<'a> {
        TableView {
            table,
            rows: table
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|cell| {
                            let text = cell.text();
                            CellView {
                                token: is_token(&text),
                                numeric: !matches!(cell, Cell::Text(_)),
                                text,
                            }
                        })
                        .collect()
                })
                .collect(),
            note_below: table.note.as_deref().map(note_below),
        }
    }
}

/// A note under a table's rows, introduced by "注：" unless it is already.
fn note_below(note: &str) -> String {
    if note.starts_with('注') {
        note.to_string()
    } else {
        format!("注：{note}")
    }
}

/// The document's date as a circular prints it: "2026年12月31日", in CST:
/// the day it was generated (the day it is issued). A midnight is taken
/// as the end of the day before, as a quarter's end is.
fn document_date(as_of: DateTime<Utc>) -> String {
    let local = as_of.with_timezone(&clock::china());
    let date = if local.num_seconds_from_midnight() == 0 && local.nanosecond() == 0 {
        local.date_naive().pred_opt().unwrap_or(local.date_naive())
    } else {
        local.date_naive()
    };
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// The chart's drawing, in SVG units; the page's text is 156 mm wide, so
/// 560 units keep the 12-unit labels near 9pt when printed.
const CHART_WIDTH: f64 = 560.0;
const CHART_FONT: f64 = 12.0;
/// A bar's row, with a label on one line.
const CHART_ROW: f64 = 22.0;
const CHART_LINE: f64 = 14.0;
const CHART_BAR: f64 = 14.0;
/// Room above the bars for the axis labels, and below them.
const CHART_TOP: f64 = 26.0;
const CHART_BOTTOM: f64 = 8.0;
/// The tallest drawing, about 170 mm printed: more bars go on in another
/// drawing, which may start a new page.
const CHART_MAX_HEIGHT: f64 = 610.0;
/// Room right of a full bar for its value.
const CHART_VALUE_ROOM: f64 = 56.0;
/// The widest label line, in display columns (a CJK character is two);
/// longer labels wrap.
const CHART_LABEL_COLUMNS: usize = 32;

/// The pass rate per city or department as horizontal bar charts: one
/// drawing per page's worth of bars, each with its axis (0 to 100%) and
/// each as tall as its bars need. Labels are escaped here: the template
/// inserts the SVG as it is.
fn chart_svgs(bars: &[Bar]) -> Vec<String> {
    if bars.is_empty() {
        return Vec::new();
    }
    // A CJK character is about one em wide, two display columns.
    let column = CHART_FONT / 2.0;
    let labels: Vec<Vec<String>> = bars
        .iter()
        .map(|b| wrap(&b.label, CHART_LABEL_COLUMNS))
        .collect();
    let widest = labels
        .iter()
        .flatten()
        .map(|line| line.width())
        .max()
        .unwrap_or(0);
    let label_width = (widest as f64 * column).max(4.0 * CHART_FONT);
    let x0 = 4.0 + label_width + 8.0;
    let plot = CHART_WIDTH - x0 - CHART_VALUE_ROOM;
    let row_height = |lines: usize| CHART_ROW.max(lines as f64 * CHART_LINE + 8.0);

    // Bars split into drawings no taller than a page holds.
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut height = CHART_TOP + CHART_BOTTOM;
    for (i, lines) in labels.iter().enumerate() {
        let h = row_height(lines.len());
        if !current.is_empty() && height + h > CHART_MAX_HEIGHT {
            chunks.push(std::mem::take(&mut current));
            height = CHART_TOP + CHART_BOTTOM;
        }
        height += h;
        current.push(i);
    }
    chunks.push(current);

    chunks
        .iter()
        .map(|chunk| {
            let rows: f64 = chunk.iter().map(|&i| row_height(labels[i].len())).sum();
            let bottom = CHART_TOP + rows;
            let height = bottom + CHART_BOTTOM;
            let mut svg = String::new();
            let _ = writeln!(
                svg,
                "<svg viewBox=\"0 0 {CHART_WIDTH} {height}\" width=\"{CHART_WIDTH}\" height=\"{height}\" \
                 role=\"img\" aria-label=\"{CHART_CAPTION}\" font-size=\"{CHART_FONT}\" \
                 font-family=\"&quot;Noto Sans CJK SC&quot;, &quot;Source Han Sans SC&quot;, \
                 &quot;Microsoft YaHei&quot;, &quot;PingFang SC&quot;, sans-serif\">\n\
                 <title>{CHART_CAPTION}</title>",
            );
            // The axis, 0 to 100% every 20%, labelled above the bars.
            for step in 0..=5 {
                let x = x0 + f64::from(step) * 0.2 * plot;
                let stroke = if step == 0 { "#333" } else { "#ccc" };
                let _ = writeln!(
                    svg,
                    "<line x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{stroke}\" stroke-width=\"0.8\"/>\
                     <text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\" fill=\"#333\">{label}%</text>",
                    y1 = CHART_TOP - 4.0,
                    ty = CHART_TOP - 9.0,
                    label = step * 20,
                );
            }
            let mut y = CHART_TOP;
            for &i in chunk {
                let lines = &labels[i];
                let h = row_height(lines.len());
                let middle = y + h / 2.0;
                // The label's lines centred on the bar.
                let first = middle - (lines.len() as f64 - 1.0) * CHART_LINE / 2.0;
                for (n, line) in lines.iter().enumerate() {
                    let _ = writeln!(
                        svg,
                        "<text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\" dominant-baseline=\"central\">{text}</text>",
                        lx = x0 - 6.0,
                        ly = first + n as f64 * CHART_LINE,
                        text = xml_escape(line),
                    );
                }
                match bars[i].share {
                    Some(share) => {
                        let w = share.clamp(0.0, 1.0) * plot;
                        let _ = writeln!(
                            svg,
                            "<rect x=\"{x0:.1}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{CHART_BAR}\" fill=\"#2f5597\"/>\
                             <text x=\"{vx:.1}\" y=\"{middle:.1}\" dominant-baseline=\"central\">{value}</text>",
                            by = middle - CHART_BAR / 2.0,
                            vx = x0 + w + 4.0,
                            value = xml_escape(&percent(Some(share))),
                        );
                    }
                    None => {
                        let _ = writeln!(
                            svg,
                            "<text x=\"{vx:.1}\" y=\"{middle:.1}\" dominant-baseline=\"central\" fill=\"#666\">—</text>",
                            vx = x0 + 4.0,
                        );
                    }
                }
                y += h;
            }
            svg.push_str("</svg>");
            svg
        })
        .collect()
}

/// Splits text into lines of at most `columns` display columns (a CJK
/// character counts two), between characters: labels are Chinese names.
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut width = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if width + w > columns && width > 0 {
            lines.push(String::new());
            width = 0;
        }
        if let Some(line) = lines.last_mut() {
            line.push(ch);
        }
        width += w;
    }
    lines
}

/// Escapes text for XML content and attribute values (the circular's
/// chart and the web page's).
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

// ------------------------------------------------------------ Markdown

/// The circular as Markdown: the same content as the page, tables as
/// GFM tables, the chart as a table of labels and rates.
pub fn markdown(c: &Circular) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", md_inline(&c.title));
    let _ = writeln!(md, "{}\n", md_block(&c.salutation));
    let _ = writeln!(md, "{}\n", md_block(&c.preamble));
    for (i, section) in c.sections.iter().enumerate() {
        let _ = writeln!(md, "## {}\n", md_inline(&section.heading));
        for block in &section.blocks {
            match block {
                Block::Heading(h) => {
                    let _ = writeln!(md, "### {}\n", md_inline(h));
                }
                Block::Paragraph(p) => {
                    let _ = writeln!(md, "{}\n", md_block(p));
                }
                Block::List(items) => {
                    md_list(&mut md, items);
                }
            }
        }
        if i == 0 {
            md_chart(&mut md, &c.chart);
        }
    }
    if c.sections.is_empty() {
        md_chart(&mut md, &c.chart);
    }
    if !c.notes.is_empty() {
        md.push_str("说明：\n\n");
        md_list(&mut md, &c.notes);
    }
    if !c.tables.is_empty() {
        md.push_str("附件：\n\n");
        for (i, t) in c.tables.iter().enumerate() {
            let _ = writeln!(md, "{}. {}", i + 1, md_inline(&t.title));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "{}  \n{}\n",
        md_block(&c.issuer),
        document_date(c.generated_at)
    );
    for t in &c.tables {
        let _ = writeln!(md, "## {}　{}\n", md_inline(&t.id), md_inline(&t.title));
        if t.rows.is_empty() && t.note.is_some() {
            if let Some(note) = &t.note {
                let _ = writeln!(md, "{}\n", md_block(note));
            }
            continue;
        }
        let rows: Vec<Vec<(String, bool)>> = t
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| (cell.text(), !matches!(cell, Cell::Text(_))))
                    .collect()
            })
            .collect();
        md_table(&mut md, &t.headers, &rows);
        if t.rows.is_empty() {
            md.push_str("无\n\n");
        }
        if let Some(note) = &t.note {
            let _ = writeln!(md, "{}\n", md_block(&note_below(note)));
        }
    }
    let _ = writeln!(
        md,
        "---\n\n生成时间：{}（北京时间）",
        clock::show(c.generated_at)
    );
    md
}

fn md_chart(md: &mut String, bars: &[Bar]) {
    if bars.is_empty() {
        return;
    }
    let _ = writeln!(md, "**{CHART_CAPTION}**\n");
    let headers = CHART_HEADERS.map(String::from);
    let rows: Vec<Vec<(String, bool)>> = bars
        .iter()
        .map(|b| vec![(b.label.clone(), false), (percent(b.share), true)])
        .collect();
    md_table(md, &headers, &rows);
}

/// A GFM table; numeric columns (every cell a number) right-aligned.
fn md_table(md: &mut String, headers: &[String], rows: &[Vec<(String, bool)>]) {
    let columns = headers
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|row| row.get(i).is_none_or(|(_, numeric)| *numeric))
        })
        .collect();
    let line = |md: &mut String, cells: &mut dyn Iterator<Item = String>| {
        md.push('|');
        for cell in cells {
            let _ = write!(md, " {} |", cell);
        }
        md.push('\n');
    };
    line(
        md,
        &mut (0..columns).map(|i| md_cell(headers.get(i).map_or("", String::as_str))),
    );
    line(
        md,
        &mut numeric
            .iter()
            .map(|n| if *n { "---:" } else { "---" }.to_string()),
    );
    for row in rows {
        line(
            md,
            &mut (0..columns).map(|i| md_cell(row.get(i).map_or("", |(text, _)| text.as_str()))),
        );
    }
    md.push('\n');
}

/// Text in a table cell: escaped, on one line (a line break as `<br>`).
fn md_cell(s: &str) -> String {
    let lines: Vec<String> = s.lines().map(|l| md_inline(l.trim())).collect();
    lines.join("<br>")
}

/// An ordered list; an item's further lines are indented under it.
fn md_list(md: &mut String, items: &[String]) {
    for (i, item) in items.iter().enumerate() {
        let marker = format!("{}. ", i + 1);
        let indent = " ".repeat(marker.len());
        for (j, line) in item.lines().enumerate() {
            if j == 0 {
                let _ = writeln!(md, "{marker}{}", md_inline(line));
            } else {
                let _ = writeln!(md, "{indent}{}", md_line(line));
            }
        }
        if item.is_empty() {
            let _ = writeln!(md, "{}", marker.trim_end());
        }
    }
    md.push('\n');
}

/// A paragraph: each line escaped, including what would start a heading,
/// a list or a quote.
fn md_block(s: &str) -> String {
    s.lines().map(md_line).collect::<Vec<_>>().join("\n")
}

fn md_line(line: &str) -> String {
    let line = line.trim_start();
    let escaped = md_inline(line);
    // A line that would start a block: "# x", "- x", "> x", "1. x".
    if line.starts_with(['#', '-', '+', '=', '>']) {
        return format!("\\{escaped}");
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(['.', ')']) {
        return format!("{}\\{}", &escaped[..digits], &escaped[digits..]);
    }
    escaped
}

/// Escapes what Markdown would read as emphasis, code, links, HTML,
/// entities or table cell boundaries.
fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(if ch == '\n' || ch == '\r' { ' ' } else { ch });
    }
    out
}

// ----------------------------------------------------------------- CSV

/// An attached table as CSV for Excel: UTF-8 with a BOM (or Excel reads
/// it as the local code page), CRLF, the header row then the rows,
/// percentages as Excel shows them ("85.09%").
pub fn table_csv(t: &Table) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        // Writing into a Vec fails only on a record of a different
        // length, which `flexible` allows.
        w.write_record(t.headers.iter().map(|h| csv_text(h)))
            .expect("a CSV record is written into memory");
        for row in &t.rows {
            w.write_record(row.iter().map(|cell| match cell {
                Cell::Text(s) => csv_text(s),
                other => other.text(),
            }))
            .expect("a CSV record is written into memory");
        }
        w.flush().expect("a CSV is written into memory");
    }
    out
}

/// Text that Excel would take for a formula ("=…", "+…", "-…", "@…")
/// is kept as text with a leading apostrophe: a registry's names come
/// from forms and imports, and opening a CSV must not run anything.
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------- XLSX

/// The workbook: a sheet "概况" with the headline figures, then a sheet
/// per attached table named by its id. The same circular gives the same
/// bytes: the document's creation time is `as_of`, not now.
pub fn xlsx(c: &Circular) -> anyhow::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_timestamp(c.as_of.timestamp())
        .context("the circular's date as an Excel time")?;
    book.set_properties(
        &DocProperties::new()
            .set_title(&c.title)
            .set_author(&c.issuer)
            .set_creation_datetime(&created),
    );
    let styles = Styles::new();

    let sheet = book.add_worksheet();
    sheet.set_name("概况")?;
    summary_sheet(sheet, c, &styles)?;

    for t in &c.tables {
        let sheet = book.add_worksheet();
        sheet
            .set_name(&t.id)
            .with_context(|| format!("the sheet name {}", t.id))?;
        table_sheet(sheet, t, &styles)?;
    }
    Ok(book.save_to_buffer()?)
}

struct Styles {
    title: Format,
    header: Format,
    text: Format,
    int: Format,
    percent: Format,
    none: Format,
    note: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(14)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(0xE6E6E6),
            text: cell.clone().set_text_wrap(),
            int: cell.clone(),
            percent: cell.clone().set_num_format("0.00%"),
            none: cell.set_align(FormatAlign::Right),
            note: Format::new().set_italic(),
        }
    }
}

/// The headline figures, one per row, rates as numbers shown "0.00%".
fn summary_sheet(sheet: &mut Worksheet, c: &Circular, s: &Styles) -> anyhow::Result<()> {
    sheet.set_paper_size(PAPER_A4);
    sheet.write_string_with_format(0, 0, "指标", &s.header)?;
    sheet.write_string_with_format(0, 1, "数值", &s.header)?;
    sheet.set_freeze_panes(1, 0)?;
    let mut labels = vec!["指标".width()];
    let mut values = vec!["数值".width()];
    let mut row = 1;
    let texts = [
        ("标题", c.title.clone()),
        ("发文单位", c.issuer.clone()),
        ("季度", c.quarter.label_zh()),
        ("数据截至（北京时间）", clock::show(c.as_of)),
        (
            "季度已结束",
            if c.complete { "是" } else { "否" }.to_string(),
        ),
        ("生成时间（北京时间）", clock::show(c.generated_at)),
    ];
    for (label, value) in texts {
        sheet.write_string_with_format(row, 0, label, &s.text)?;
        sheet.write_string_with_format(row, 1, &value, &s.text)?;
        labels.push(label.width());
        values.push(value.width());
        row += 1;
    }
    for (label, value) in figure_rows(&c.figures) {
        sheet.write_string_with_format(row, 0, label, &s.text)?;
        write_cell(sheet, row, 1, &value, s)?;
        labels.push(label.width());
        values.push(value.text().width());
        row += 1;
    }
    sheet.set_column_width(0, column_width(labels))?;
    // The title is long: its cell wraps rather than widening the column.
    sheet.set_column_width(1, column_width(values).min(40.0))?;
    Ok(())
}

/// The figures with their names, in the order the circular gives them.
fn figure_rows(f: &Figures) -> Vec<(&'static str, Cell)> {
    let count = |n: usize| Cell::Int(i64::try_from(n).unwrap_or(i64::MAX));
    vec![
        ("运行网站数", count(f.sites)),
        ("检查网站数", count(f.sites_checked)),
        ("不合格网站数", count(f.sites_failed)),
        ("网站合格率", Cell::Percent(f.site_pass_rate)),
        ("访问可用性不达标网站数", count(f.sites_unreachable)),
        ("政务新媒体账号数", count(f.accounts)),
        ("检查账号数", count(f.accounts_checked)),
        ("不合格账号数", count(f.accounts_failed)),
        ("政务新媒体合格率", Cell::Percent(f.account_pass_rate)),
        ("检查次数", count(f.checks)),
        (
            "网民留言数",
            f.messages_received
                .map_or_else(|| Cell::Text("—".to_string()), count),
        ),
        ("留言按时答复率", Cell::Percent(f.messages_on_time_rate)),
        ("超过整改期限问题数", count(f.overdue)),
    ]
}

/// A table: its title merged across the columns, the header row frozen
/// under it (and repeated on each printed page), then the rows.
fn table_sheet(sheet: &mut Worksheet, t: &Table, s: &Styles) -> anyhow::Result<()> {
    let columns = t
        .headers
        .len()
        .max(t.rows.iter().map(Vec::len).max().unwrap_or(0))
        .max(1);
    let last_col = u16::try_from(columns - 1).context("too many columns for a sheet")?;
    sheet.set_paper_size(PAPER_A4);
    sheet.set_print_fit_to_pages(1, 0);
    let title = format!("{}　{}", t.id, t.title);
    if last_col > 0 {
        sheet.merge_range(0, 0, 0, last_col, &title, &s.title)?;
    } else {
        sheet.write_string_with_format(0, 0, &title, &s.title)?;
    }
    sheet.set_row_height(0, 24)?;
    for (col, header) in t.headers.iter().enumerate() {
        sheet.write_string_with_format(1, col_num(col)?, header, &s.header)?;
    }
    sheet.set_freeze_panes(2, 0)?;
    sheet.set_repeat_rows(0, 1)?;

    let mut widths: Vec<Vec<usize>> = (0..columns)
        .map(|col| vec![t.headers.get(col).map_or(0, |h| h.width())])
        .collect();
    let mut row: u32 = 2;
    for cells in &t.rows {
        for (col, cell) in cells.iter().enumerate() {
            write_cell(sheet, row, col_num(col)?, cell, s)?;
            widths[col].push(cell.text().width());
        }
        row += 1;
    }
    if !t.rows.is_empty() {
        sheet.autofilter(1, 0, row - 1, last_col)?;
    }
    if let Some(note) = &t.note {
        // Under the rows, past a blank line; alone when there is none.
        let at = if t.rows.is_empty() { row } else { row + 1 };
        sheet.write_string_with_format(at, 0, note, &s.note)?;
    }
    for (col, w) in widths.into_iter().enumerate() {
        sheet.set_column_width(col_num(col)?, column_width(w))?;
    }
    Ok(())
}

fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    s: &Styles,
) -> anyhow::Result<()> {
    match cell {
        Cell::Text(text) => sheet.write_string_with_format(row, col, text, &s.text)?,
        // Counts are far below 2^53: exact as Excel's doubles.
        Cell::Int(n) => sheet.write_number_with_format(row, col, *n as f64, &s.int)?,
        Cell::Percent(Some(share)) => {
            sheet.write_number_with_format(row, col, *share, &s.percent)?
        }
        Cell::Percent(None) => sheet.write_string_with_format(row, col, "—", &s.none)?,
    };
    Ok(())
}

fn col_num(col: usize) -> anyhow::Result<u16> {
    u16::try_from(col).context("too many columns for a sheet")
}

/// A column's width in Excel's units from its cells' display widths
/// (a CJK character counts two): the widest plus a margin, capped.
fn column_width(widths: impl IntoIterator<Item = usize>) -> f64 {
    let widest = widths.into_iter().max().unwrap_or(0);
    (widest as f64 + 2.0).clamp(6.0, MAX_COLUMN_WIDTH)
}

// --------------------------------------------------------------- files

/// Writes the circular's files into `dir` (created if need be):
/// `circular.html`, `circular.md`, `circular.xlsx` and `tables/<id>.csv`
/// per attached table. Each file is written under a temporary name and
/// renamed into place, so a reader never sees half a file.
pub fn write(c: &Circular, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let tables_dir = dir.join("tables");
    fs::create_dir_all(&tables_dir)
        .with_context(|| format!("creating {}", tables_dir.display()))?;
    // Check every name before writing anything.
    for t in &c.tables {
        if !is_file_name(&t.id) {
            bail!("the table id 「{}」 cannot name a file", t.id);
        }
    }
    let mut written = Vec::new();
    for name in file_names(c) {
        let bytes = file(c, &name).context("a listed file renders")??;
        let path = dir.join(&name);
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The files of a circular, as [`write`] names them under its directory:
/// `circular.html`, `circular.md`, `circular.xlsx`, `tables/<id>.csv`.
pub fn file_names(c: &Circular) -> Vec<String> {
    let mut names: Vec<String> = ["circular.html", "circular.md", "circular.xlsx"]
        .map(String::from)
        .into();
    names.extend(c.tables.iter().map(|t| format!("tables/{}.csv", t.id)));
    names
}

/// The file called `name` (one of [`file_names`]), rendered; `None` when
/// the circular has no such file.
pub fn file(c: &Circular, name: &str) -> Option<anyhow::Result<Vec<u8>>> {
    match name {
        "circular.html" => Some(Ok(html(c).into_bytes())),
        "circular.md" => Some(Ok(markdown(c).into_bytes())),
        "circular.xlsx" => Some(xlsx(c)),
        _ => {
            let id = name.strip_prefix("tables/")?.strip_suffix(".csv")?;
            let table = c.tables.iter().find(|t| t.id == id)?;
            Some(Ok(table_csv(table)))
        }
    }
}

/// A table id fit to name a file in `tables/`: no separator, not hidden,
/// no control character.
fn is_file_name(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && !id
            .chars()
            .any(|ch| matches!(ch, '/' | '\\' | ':') || ch.is_control())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .context("a file path has a name")?
        .to_string_lossy();
    // Unique to this process and call: two writers never share one.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx};
    use chrono::TimeZone;

    use super::*;
    use crate::reconcile::Quarter;
    use crate::report::Section;

    const HOSTILE: &str = "<script>alert(1)</script>某局 | 管道";

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    fn sample() -> Circular {
        let quarter = Quarter {
            year: 2026,
            number: 4,
        };
        Circular {
            id: 7,
            quarter,
            as_of: quarter.end(),
            complete: true,
            generated_at: Utc
                .with_ymd_and_hms(2027, 1, 5, 2, 30, 0)
                .single()
                .expect("a time"),
            reconcile_run: Some(3),
            title: "关于2026年第四季度全省政府网站和政务新媒体检查情况的通报".to_string(),
            issuer: "甘肃省人民政府办公厅".to_string(),
            salutation: "各市州人民政府，省政府各部门：".to_string(),
            preamble: "为持续提升全省政府网站和政务新媒体规范化水平，省政府办公厅对2026年第四季度全省政府网站和政务新媒体运行情况进行了检查。现将有关情况通报如下：".to_string(),
            sections: vec![
                Section {
                    heading: "一、总体情况".to_string(),
                    blocks: vec![Block::Paragraph(
                        "本季度全省共运行政府网站120个，检查114个，合格率为85.09%。".to_string(),
                    )],
                },
                Section {
                    heading: "二、存在的问题".to_string(),
                    blocks: vec![
                        Block::Heading("（一）证书已过期".to_string()),
                        Block::Paragraph("部分网站HTTPS证书已过期，访问时浏览器提示不安全。".to_string()),
                        Block::List(vec![
                            HOSTILE.to_string(),
                            "兰州市某局网站（www.lanzhou-example-department.gansu.gov.cn）".to_string(),
                        ]),
                    ],
                },
            ],
            chart: vec![
                Bar {
                    label: "兰州市".to_string(),
                    share: Some(0.8509),
                },
                Bar {
                    label: HOSTILE.to_string(),
                    share: Some(1.0),
                },
                Bar {
                    label: "省直某部门".to_string(),
                    share: None,
                },
            ],
            tables: vec![
                Table {
                    id: "附件1".to_string(),
                    title: "各市州及省直部门检查情况".to_string(),
                    headers: ["序号", "地区、部门", "主机名", "检查网站数", "不合格网站数", "合格率"]
                        .map(String::from)
                        .to_vec(),
                    rows: vec![
                        vec![
                            Cell::Int(1),
                            text("兰州市"),
                            text("www.a-very-long-subdomain-name-for-testing.lanzhou.gansu.gov.cn"),
                            Cell::Int(20),
                            Cell::Int(3),
                            Cell::Percent(Some(0.85)),
                        ],
                        vec![
                            Cell::Int(2),
                            text(HOSTILE),
                            text("x.gansu.gov.cn"),
                            Cell::Int(0),
                            Cell::Int(0),
                            Cell::Percent(None),
                        ],
                    ],
                    note: Some("合格率＝（检查网站数－不合格网站数）÷检查网站数。".to_string()),
                },
                Table {
                    id: "附件2".to_string(),
                    title: "证书已过期的网站".to_string(),
                    headers: ["序号", "网站名称", "主办单位"].map(String::from).to_vec(),
                    rows: vec![],
                    note: Some("本季度无此类情况".to_string()),
                },
            ],
            notes: vec![
                "本通报数据截至2026年12月31日24时。".to_string(),
                "合格率按检查的网站计算，未检查的网站不计入。".to_string(),
            ],
            figures: Figures {
                sites: 120,
                sites_checked: 114,
                sites_failed: 17,
                site_pass_rate: Some(0.8509),
                sites_unreachable: 2,
                accounts: 300,
                accounts_checked: 280,
                accounts_failed: 10,
                account_pass_rate: Some(0.9643),
                checks: 4000,
                messages_received: None,
                messages_on_time_rate: None,
                overdue: 1,
            },
        }
    }

    #[test]
    fn the_page_escapes_and_loads_nothing() {
        let page = html(&sample());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<html lang=\"zh-CN\">"));
        assert!(page.contains("<meta charset=\"utf-8\">"));
        // Escaped in the text, the tables and the chart alike.
        assert!(!page.contains("<script"), "unescaped script");
        assert!(page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"));
        // Nothing from outside: no link, source, import or URL.
        for bad in [
            "http://", "https://", "src=", "href=", "<link", "@import", "url(", "<img",
        ] {
            assert!(!page.contains(bad), "the page has {bad}");
        }
        assert!(page.contains("@page"));
        assert!(page.contains("thead { display: table-header-group; }"));
        assert!(page.contains("tr { break-inside: avoid; }"));
        assert!(page.contains("break-before: page;"));
        assert!(page.contains("<thead>"));
        assert!(page.contains("<svg"));
        assert!(page.contains("<td class=\"num\">85.00%</td>"));
        assert!(page.contains("<td class=\"num\">—</td>"));
        // The empty table is its note, alone; the other has its note under it.
        assert_eq!(page.matches("<table>").count(), 1);
        assert!(page.contains("本季度无此类情况"));
        assert!(page.contains("注：合格率"));
        assert!(page.contains("<h2>一、总体情况</h2>"));
        assert!(page.contains("<h3>（一）证书已过期</h3>"));
        // Dated the day it was generated.
        assert!(page.contains("<div>2027年1月5日</div>"));
        assert!(page.contains("生成时间：2027-01-05 10:30:00"));
        assert_eq!(page, html(&sample()));
    }

    #[test]
    fn the_chart_draws_a_bar_per_rate_and_grows_with_them() {
        let c = sample();
        let drawings = chart_svgs(&c.chart);
        assert_eq!(drawings.len(), 1);
        let svg = &drawings[0];
        assert_eq!(svg.matches("<rect").count(), 2, "no bar for None");
        assert!(svg.contains(">85.09%</text>"));
        assert!(svg.contains(">100.00%</text>"));
        assert!(svg.contains(">—</text>"));
        assert!(svg.contains(">0%</text>") && svg.contains(">100%</text>"));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"));
        let height = |svg: &str| -> f64 {
            let at = svg.find("height=\"").expect("a height") + 8;
            svg[at..]
                .split('"')
                .next()
                .and_then(|h| h.parse().ok())
                .expect("a number")
        };
        let more: Vec<Bar> = c.chart.iter().cycle().take(9).cloned().collect();
        assert!(height(&chart_svgs(&more)[0]) > height(svg));
        // Past a page's worth, bars go on in another drawing, with its axis.
        let many: Vec<Bar> = c.chart.iter().cycle().take(60).cloned().collect();
        let parts = chart_svgs(&many);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| height(p) <= CHART_MAX_HEIGHT));
        assert!(parts.iter().all(|p| p.contains(">100%</text>")));
        let bars: usize = parts
            .iter()
            .map(|p| p.matches("<rect").count() + p.matches(">—</text>").count())
            .sum();
        assert_eq!(bars, 60);
        assert!(chart_svgs(&[]).is_empty());
    }

    #[test]
    fn a_long_label_wraps_between_characters() {
        let label = "中国（甘肃）自由贸易试验区兰州片区管理委员会办公室";
        let lines = wrap(label, CHART_LABEL_COLUMNS);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines.concat(), label);
        assert!(lines.iter().all(|l| l.width() <= CHART_LABEL_COLUMNS));
        assert_eq!(wrap("兰州市", CHART_LABEL_COLUMNS), ["兰州市"]);
    }

    #[test]
    fn the_markdown_has_the_same_content_escaped() {
        let md = markdown(&sample());
        assert!(md.starts_with("# 关于2026年第四季度"));
        assert!(md.contains("\n## 一、总体情况\n"));
        assert!(md.contains("\n### （一）证书已过期\n"));
        assert!(md.contains("\n1. \\<script\\>alert(1)\\</script\\>某局 \\| 管道\n"));
        assert!(!md.replace("\\<", "").contains("<script"));
        assert!(md.contains("| 序号 | 地区、部门 | 主机名 | 检查网站数 | 不合格网站数 | 合格率 |"));
        assert!(md.contains("| ---: | --- | --- | ---: | ---: | ---: |"));
        assert!(md.contains("| 2 | \\<script\\>alert(1)\\</script\\>某局 \\| 管道 |"));
        assert!(md.contains("| 兰州市 | 85.09% |"));
        assert!(md.contains("| 省直某部门 | — |"));
        assert!(md.contains("## 附件2　证书已过期的网站\n\n本季度无此类情况\n"));
        assert!(md.contains("说明：\n\n1. 本通报数据截至"));
        assert!(md.contains("2026年12月31日"));
        assert_eq!(md, markdown(&sample()));
    }

    #[test]
    fn markdown_cells_stay_on_one_line_and_lines_start_no_block() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(md_line("# 不是标题"), "\\# 不是标题");
        assert_eq!(md_line("1. 不是列表"), "1\\. 不是列表");
        assert_eq!(md_line("2026年"), "2026年");
    }

    #[test]
    fn the_csv_opens_in_excel() {
        let c = sample();
        let bytes = table_csv(&c.tables[0]);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let body = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
        let mut lines = body.split("\r\n");
        assert_eq!(
            lines.next(),
            Some("序号,地区、部门,主机名,检查网站数,不合格网站数,合格率")
        );
        assert_eq!(
            lines.next(),
            Some(
                "1,兰州市,www.a-very-long-subdomain-name-for-testing.lanzhou.gansu.gov.cn,20,3,85.00%"
            )
        );
        assert!(body.contains(",0,0,—\r\n"));
        let empty = table_csv(&c.tables[1]);
        assert_eq!(empty, "\u{FEFF}序号,网站名称,主办单位\r\n".as_bytes());
        // A name Excel would run as a formula stays text.
        let formula = Table {
            rows: vec![vec![text("=HYPERLINK(\"x\")"), Cell::Int(-1)]],
            ..c.tables[1].clone()
        };
        let body = String::from_utf8(table_csv(&formula)).expect("UTF-8");
        assert!(body.contains("\"'=HYPERLINK(\"\"x\"\")\",-1\r\n"), "{body}");
    }

    #[test]
    fn the_workbook_is_the_same_bytes_and_reads_back() {
        let c = sample();
        let bytes = xlsx(&c).expect("a workbook");
        assert_eq!(bytes, xlsx(&c).expect("a workbook again"));

        let mut book = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
        assert_eq!(book.sheet_names(), ["概况", "附件1", "附件2"]);
        let table = book.worksheet_range("附件1").expect("附件1");
        assert_eq!(
            table.get_value((0, 0)),
            Some(&Data::String("附件1　各市州及省直部门检查情况".to_string()))
        );
        assert_eq!(
            table.get_value((1, 5)),
            Some(&Data::String("合格率".to_string()))
        );
        assert_eq!(table.get_value((2, 5)), Some(&Data::Float(0.85)));
        assert_eq!(table.get_value((2, 3)), Some(&Data::Float(20.0)));
        assert_eq!(
            table.get_value((3, 5)),
            Some(&Data::String("—".to_string()))
        );
        assert_eq!(
            table.get_value((3, 1)),
            Some(&Data::String(HOSTILE.to_string()))
        );
        let empty = book.worksheet_range("附件2").expect("附件2");
        assert_eq!(
            empty.get_value((2, 0)),
            Some(&Data::String("本季度无此类情况".to_string()))
        );
        let summary = book.worksheet_range("概况").expect("概况");
        let rate = summary
            .rows()
            .find(|row| row.first() == Some(&Data::String("网站合格率".to_string())))
            .expect("the site pass rate");
        assert_eq!(rate.get(1), Some(&Data::Float(0.8509)));
    }

    #[test]
    fn a_workbook_is_created_at_as_of_not_now() {
        let c = sample();
        let bytes = xlsx(&c).expect("a workbook");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let mut core = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("docProps/core.xml").expect("core.xml"),
            &mut core,
        )
        .expect("UTF-8");
        // as_of is 2027-01-01 00:00 in China.
        assert!(
            core.contains(">2026-12-31T16:00:00Z</dcterms:created>"),
            "{core}"
        );
    }

    #[test]
    fn the_document_date_is_the_day_as_of_closes() {
        let q = Quarter {
            year: 2026,
            number: 4,
        };
        assert_eq!(document_date(q.end()), "2026年12月31日");
        let noon = clock::parse_time("t", "2026-11-03 12:00").expect("a time");
        assert_eq!(document_date(noon), "2026年11月3日");
        // 20:00 UTC is the next morning in China.
        let evening = Utc
            .with_ymd_and_hms(2026, 11, 3, 20, 0, 0)
            .single()
            .expect("a time");
        assert_eq!(document_date(evening), "2026年11月4日");
    }

    #[test]
    fn writing_puts_every_file_in_place() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("2026Q4");
        let written = write(&sample(), &out).expect("written");
        let names: Vec<String> = written
            .iter()
            .map(|p| {
                p.strip_prefix(&out)
                    .expect("under the directory")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "circular.html",
                "circular.md",
                "circular.xlsx",
                "tables/附件1.csv",
                "tables/附件2.csv"
            ]
        );
        for path in &written {
            assert!(path.is_file(), "{}", path.display());
        }
        // No temporary file is left behind; writing again replaces.
        write(&sample(), &out).expect("written again");
        let leftovers = fs::read_dir(&out)
            .expect("the directory")
            .chain(fs::read_dir(out.join("tables")).expect("tables"))
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0);

        let mut bad = sample();
        bad.tables[0].id = "../附件1".to_string();
        assert!(write(&bad, &dir.path().join("bad")).is_err());
    }
}
