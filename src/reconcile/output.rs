//! What a reconciliation run writes: `discrepancies.csv` (UTF-8 with BOM,
//! so that Excel opens it; Chinese headers), `discrepancies.json`,
//! `national-fixes.csv` (the national export's own columns) and the
//! summary a person reads. A stored run is this [`Report`], so `reconcile
//! show` writes the very same files again.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Comparison, DiscrepancyKind, Quarter};
use crate::clock;

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `siteward reconcile` by a person.
    Manual,
    /// The daemon's `reconcile` job, from the inbox.
    Scheduled,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
        }
    }
}

/// One input a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputInfo {
    /// `national_sites`, `national_accounts`, `zhaocuo` or `zone`.
    pub role: String,
    /// The file's name, or `AXFR zone`.
    pub source: String,
    /// XLSX, the CSV's encoding, or `zone`.
    pub format: String,
    pub rows: usize,
}

/// A run's whole result, as stored and as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The stored run's number (0 before it is stored).
    pub id: i64,
    pub quarter: Quarter,
    /// What the registry was compared as of: the quarter's end, or the
    /// run's time for a quarter not over.
    pub as_of: DateTime<Utc>,
    /// Whether the quarter was over when it ran.
    pub complete: bool,
    pub ran_at: DateTime<Utc>,
    pub trigger: Trigger,
    pub actor: String,
    pub inputs: Vec<InputInfo>,
    /// The national export's header row, for the fix list.
    pub national_headers: Vec<String>,
    #[serde(flatten)]
    pub comparison: Comparison,
}

const CSV_HEADERS: [&str; 9] = [
    "类型代码",
    "类型",
    "对象",
    "网站标识码",
    "主办单位",
    "本地（注册库）",
    "对方（国家系统、区域文件或平台）",
    "建议措施",
    "来源",
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn csv_bytes(headers: &[String], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(BOM.to_vec());
    // Writing to memory cannot fail.
    writer.write_record(headers).expect("CSV to memory");
    for row in rows {
        writer.write_record(&row).expect("CSV to memory");
    }
    writer.into_inner().expect("CSV to memory")
}

impl Report {
    /// `discrepancies.csv`: one row per discrepancy, UTF-8 with BOM.
    pub fn discrepancies_csv(&self) -> Vec<u8> {
        let headers: Vec<String> = CSV_HEADERS.iter().map(|h| h.to_string()).collect();
        csv_bytes(
            &headers,
            self.comparison.discrepancies.iter().map(|d| {
                vec![
                    d.kind.id().to_string(),
                    d.kind.zh().to_string(),
                    d.subject.clone(),
                    d.code.clone().unwrap_or_default(),
                    d.organization.clone().unwrap_or_default(),
                    d.here.clone(),
                    d.there.clone(),
                    d.action.clone(),
                    d.source.clone(),
                ]
            }),
        )
    }

    /// `discrepancies.json`: the whole report.
    pub fn json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a report serialises");
        bytes.push(b'\n');
        bytes
    }

    /// `national-fixes.csv`: the rows to change in the national system,
    /// in its export's own columns, UTF-8 with BOM.
    pub fn fixes_csv(&self) -> Vec<u8> {
        csv_bytes(
            &self.national_headers,
            self.comparison.fixes.iter().map(|f| f.cells.clone()),
        )
    }

    /// The names of the files a run writes.
    pub const FILES: [&'static str; 3] = [
        "discrepancies.csv",
        "discrepancies.json",
        "national-fixes.csv",
    ];

    /// The file called `name` (one of [`Report::FILES`]), as written.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        match name {
            "discrepancies.csv" => Some(self.discrepancies_csv()),
            "discrepancies.json" => Some(self.json()),
            "national-fixes.csv" => Some(self.fixes_csv()),
            _ => None,
        }
    }

    /// Writes the three files into `dir` (made if missing), returning
    /// their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for name in Report::FILES {
            let bytes = self.file(name).unwrap_or_default();
            let path = dir.join(name);
            // Written whole then renamed: a reader never sees half a file.
            let partial = dir.join(format!(".{name}.partial"));
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, &path)?;
            written.push(path);
        }
        Ok(written)
    }

    /// How many discrepancies of each kind, in the kinds' order.
    pub fn counts(&self) -> Vec<(DiscrepancyKind, usize)> {
        DiscrepancyKind::ALL
            .iter()
            .map(|k| {
                (
                    *k,
                    self.comparison
                        .discrepancies
                        .iter()
                        .filter(|d| d.kind == *k)
                        .count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The summary a person reads after a run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let stats = &self.comparison.stats;
        s.push_str(&format!(
            "Reconciliation {} ({}), run {}, {} by {}\n",
            self.quarter,
            self.quarter.label_zh(),
            self.id,
            self.trigger.as_str(),
            self.actor
        ));
        if self.complete {
            s.push_str(&format!(
                "As of the end of the quarter, {} (China Standard Time)\n",
                clock::show(self.as_of)
            ));
        } else {
            s.push_str(&format!(
                "The quarter is not over: reconciled as of now, {} (China Standard Time)\n",
                clock::show(self.as_of)
            ));
        }
        s.push_str(&format!(
            "Registry: {} sites, {} accounts\n",
            stats.registry_sites, stats.registry_accounts
        ));
        for input in &self.inputs {
            s.push_str(&format!(
                "Read {}: {} ({}, {} {})\n",
                input.role,
                input.source,
                input.format,
                input.rows,
                if input.role == "zone" {
                    "records"
                } else {
                    "rows"
                }
            ));
        }
        for (role, present) in [
            ("national_sites", stats.national_sites.is_some()),
            ("national_accounts", stats.national_accounts.is_some()),
            ("zhaocuo", stats.messages.is_some()),
            ("zone", !stats.zones.is_empty()),
        ] {
            if !present {
                s.push_str(&format!("Not compared: no {role} input given\n"));
            }
        }
        if stats.hosts_outside_zones > 0 && !stats.zones.is_empty() {
            s.push_str(&format!(
                "{} registry host names are under no zone given: not compared with zones\n",
                stats.hosts_outside_zones
            ));
        }
        if let Some(m) = &stats.messages {
            s.push_str(&format!(
                "找错 messages passed on in the quarter: {} ({} true); answered on time {}, late {}, unanswered {}, not yet due {}\n",
                m.received, m.true_reports, m.on_time, m.late, m.unanswered, m.not_yet_due
            ));
        }
        let total = self.comparison.discrepancies.len();
        s.push_str(&format!("Discrepancies: {total}\n"));
        let counts = self.counts();
        let width = counts.iter().map(|(k, _)| k.id().len()).max().unwrap_or(0);
        for (kind, n) in counts {
            s.push_str(&format!(
                "  {:<width$}  {:>6}  {}\n",
                kind.id(),
                n,
                kind.zh()
            ));
        }
        s.push_str(&format!(
            "Rows to change in the national system: {}\n",
            self.comparison.fixes.len()
        ));
        s
    }
}
