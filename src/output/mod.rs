//! What the faces print: aligned tables for people (CJK characters count
//! two columns), JSON for scripts. The JSON field names are a stable
//! interface: scripts and the API rely on them, and exports in JSON use
//! them too. Renderers take the use cases' typed results and write to any
//! writer; none of them reads the store.
//!
//! This file holds what every renderer uses; [`registry`] renders the
//! registry (organizations, sites, accounts, the audit trail, imports,
//! code checks) and [`watch`] the watch (findings, probes, discovered
//! host names, policy, schedules, the benchmark). Everything is
//! re-exported here.
//!
//! Stored text is never printed raw: table cells and the free text of
//! detail views go through [`escape`], so no control or direction
//! character reaches a terminal.

mod registry;
mod watch;

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

pub use crate::registry::text::escape;

pub use registry::*;
pub use watch::*;

/// A table with a header row, printed with columns aligned.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row. Every cell is shown through `registry::text::escape`:
    /// text stored before the checks at the edge, or sent by a hostile
    /// server (a page's title), can neither break a row in two nor turn
    /// the table around.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|cell| match escape(&cell) {
                    std::borrow::Cow::Borrowed(_) => cell,
                    std::borrow::Cow::Owned(escaped) => escaped,
                })
                .collect(),
        );
    }

    pub fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(index) {
                    *width = (*width).max(cell.width());
                }
            }
        }
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                let last = index + 1 == row.len();
                line.push_str(cell);
                if !last {
                    let pad = widths[index].saturating_sub(cell.width()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// An error as JSON, for `--json` (stderr) and the API's 400 bodies:
/// `{"error": MESSAGE}`, with `field`, `value` and `rule` when a value
/// was refused.
pub fn error_json(message: &str, invalid: Option<&crate::registry::Invalid>) -> Value {
    let mut value = serde_json::json!({ "error": message });
    if let Some(invalid) = invalid {
        value["field"] = Value::from(invalid.field.as_str());
        value["value"] = Value::from(invalid.value.as_str());
        value["rule"] = Value::from(invalid.rule.as_str());
    }
    value
}

/// A refused import as JSON: `{"error": MESSAGE, "file": FILE, "rows":
/// [{"line": N, "message": …, and field, value, rule where known}]}`.
pub fn import_error_json(
    message: &str,
    file: &std::path::Path,
    rows: &[crate::transfer::RowError],
) -> Value {
    serde_json::json!({
        "error": message,
        "file": file.display().to_string(),
        "rows": rows,
    })
}

/// Prints one JSON object on its own line.
pub fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

pub fn time(value: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    value.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}
