//! The quarterly circular (通报): what a supervising office publishes
//! about its region's sites and accounts each quarter, computed from what
//! the store held at the quarter's end (`compute`, pure) and rendered as
//! a printable page, Markdown, a CSV per attached table and one Excel
//! workbook (`render`). The model here is what is stored: a stored
//! circular renders to the same bytes whenever it is rendered again.

pub mod compute;
pub mod render;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reconcile::Quarter;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "t", content = "v")]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A share in 0..=1, shown as a percentage with two decimals;
    /// `None` when there was nothing to divide (shown as "—").
    Percent(Option<f64>),
}

impl Cell {
    /// The cell as a person reads it in a table: percentages as
    /// "85.09%", nothing to divide as "—".
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Percent(p) => percent(*p),
        }
    }
}

/// A share as the circulars print it: "85.09%", or "—".
pub fn percent(share: Option<f64>) -> String {
    match share {
        Some(p) => format!("{:.2}%", p * 100.0),
        None => "—".to_string(),
    }
}

/// An attached table (附件).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// "附件1": also the CSV file's and the workbook sheet's name.
    pub id: String,
    /// "各市州及省直部门检查情况".
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Said under the table, or instead of it when it has no rows
    /// ("本季度无此类情况").
    pub note: Option<String>,
}

/// A part of a section's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "t", content = "v")]
pub enum Block {
    /// A numbered sub-heading: "（一）证书已过期".
    Heading(String),
    Paragraph(String),
    /// Items, one per line ("1. …").
    List(Vec<String>),
}

/// A numbered part of the circular: "一、总体情况".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// One bar of the pass-rate chart: a city or department and its site
/// pass rate (`None`: no site checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub share: Option<f64>,
}

/// The headline figures, for scripts, the API and the next quarter's
/// comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Sites operated at the quarter's end (running, suspended, retiring).
    pub sites: usize,
    pub sites_checked: usize,
    pub sites_failed: usize,
    pub site_pass_rate: Option<f64>,
    /// Sites that failed the unreachable veto in some window of the quarter.
    pub sites_unreachable: usize,
    pub accounts: usize,
    pub accounts_checked: usize,
    pub accounts_failed: usize,
    pub account_pass_rate: Option<f64>,
    pub checks: usize,
    pub messages_received: Option<usize>,
    pub messages_on_time_rate: Option<f64>,
    pub overdue: usize,
}

/// The circular, whole: what is stored and rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Circular {
    /// The stored report's number; 0 until stored.
    #[serde(default)]
    pub id: i64,
    pub quarter: Quarter,
    /// The quarter's end, or when it was generated for a quarter not over.
    pub as_of: DateTime<Utc>,
    pub complete: bool,
    pub generated_at: DateTime<Utc>,
    /// The reconciliation run its discrepancies come from.
    pub reconcile_run: Option<i64>,
    /// "关于2026年第四季度全省政府网站和政务新媒体检查情况的通报".
    pub title: String,
    /// Who publishes it ("甘肃省人民政府办公厅").
    pub issuer: String,
    /// Addressed to ("各市州人民政府，省政府各部门：").
    pub salutation: String,
    /// The opening paragraph.
    pub preamble: String,
    pub sections: Vec<Section>,
    /// Pass rate per city and department.
    pub chart: Vec<Bar>,
    pub tables: Vec<Table>,
    /// 说明: what the figures do and do not cover, a quarter not over,
    /// a record corrected since, inputs left out.
    pub notes: Vec<String>,
    pub figures: Figures,
}

impl Circular {
    /// What the command line prints: the headline figures, in English
    /// like the rest of the command line (the circular itself is Chinese).
    pub fn summary(&self) -> String {
        let f = &self.figures;
        let mut s = format!(
            "Circular {} ({}), report {}\n",
            self.quarter,
            self.quarter.label_zh(),
            self.id
        );
        if self.complete {
            s += &format!(
                "As of the end of the quarter, {} (China Standard Time)\n",
                crate::clock::show(self.as_of)
            );
        } else {
            s += &format!(
                "The quarter is not over: reported as of now, {} (China Standard Time)\n",
                crate::clock::show(self.as_of)
            );
        }
        s += &format!(
            "Sites: {} operated, {} checked, {} failed, pass rate {} ({} unreachable by the availability veto)\n",
            f.sites,
            f.sites_checked,
            f.sites_failed,
            percent(f.site_pass_rate),
            f.sites_unreachable
        );
        s += &format!(
            "Accounts: {} active, {} checked, {} failed, pass rate {}\n",
            f.accounts,
            f.accounts_checked,
            f.accounts_failed,
            percent(f.account_pass_rate)
        );
        s += &format!(
            "Checks run: {}; overdue rectifications: {}\n",
            f.checks, f.overdue
        );
        match (f.messages_received, self.reconcile_run) {
            (Some(n), _) => {
                s += &format!(
                    "找错 messages: {n} received, answered on time {}\n",
                    percent(f.messages_on_time_rate)
                )
            }
            (None, _) => s += "找错 messages: none read (no reconciliation run with them)\n",
        }
        match self.reconcile_run {
            Some(id) => s += &format!("Discrepancies from reconciliation run {id}\n"),
            None => s += "No reconciliation run of the quarter: 附件3 is empty\n",
        }
        for table in &self.tables {
            s += &format!("{} {}: {} rows\n", table.id, table.title, table.rows.len());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_stored_as_json_read_back_to_the_same_bits() {
        for whole in 1..=300_u32 {
            for part in 0..=whole {
                let cell = Cell::Percent(Some(f64::from(part) / f64::from(whole)));
                let json = serde_json::to_string(&cell).expect("json");
                let back: Cell = serde_json::from_str(&json).expect("read");
                assert_eq!(back, cell, "{part}/{whole}");
            }
        }
    }
}
