//! Identifier codes (网站标识码) and administrative division codes (行政区划代码).
//!
//! Both are validated once, here, at the edge: a function that takes a
//! [`SiteCode`] or a [`DivisionCode`] never checks it again. Checks that are
//! advisory by the rules (an unknown prefix, a prefix that is not the
//! organizer's division) come back as [`Warning`]s, never as rejections:
//! development zones and new areas carry prefixes in no official list.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Invalid, Warning};

/// A site identifier code: `bm` + 8 digits (central departments) or a
/// 6-digit division prefix + a 4-digit sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteCode(String);

impl SiteCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit division prefix, or `None` for a central department's
    /// `bm` code.
    pub fn division_prefix(&self) -> Option<DivisionCode> {
        if self.is_central() {
            None
        } else {
            Some(DivisionCode(self.0[..6].to_string()))
        }
    }

    pub fn is_central(&self) -> bool {
        self.0.starts_with("bm")
    }

    /// Advisory checks of a well-formed code against the division table and
    /// the organizer's division. Each returned warning names the rule.
    pub fn advisories(
        &self,
        table: &DivisionTable,
        organizer_division: Option<&DivisionCode>,
    ) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let Some(prefix) = self.division_prefix() else {
            return warnings;
        };
        if !table.is_known(&prefix) {
            warnings.push(Warning::new(
                "code",
                self.as_str(),
                format!(
                    "prefix {prefix} is in no division table, current or historical \
                     (accepted: development zones and new areas carry such prefixes)"
                ),
            ));
            return warnings;
        }
        if let Some(division) = organizer_division
            && !table.same_division(&prefix, division)
        {
            warnings.push(Warning::new(
                "code",
                self.as_str(),
                format!(
                    "prefix {prefix} ({}) does not match the organizer's division {division} ({})",
                    table.name(&prefix).unwrap_or("?"),
                    table.name(division).unwrap_or("unknown division"),
                ),
            ));
        }
        warnings
    }
}

impl FromStr for SiteCode {
    type Err = Invalid;

    fn from_str(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        let invalid = |rule: &str| Err(Invalid::new("code", raw, rule));
        let digits = if let Some(rest) = value.strip_prefix("bm") {
            if rest.len() != 8 || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return invalid(
                    "must be 10 digits (division prefix + sequence) or `bm` + 8 digits: `bm` is followed by exactly 8 digits",
                );
            }
            rest
        } else {
            if value.len() != 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return invalid(
                    "must be 10 digits (division prefix + sequence) or `bm` + 8 digits",
                );
            }
            value
        };
        if let Some(reason) = placeholder_reason(digits) {
            return invalid(&format!("is a placeholder, not an issued code: {reason}"));
        }
        Ok(SiteCode(value.to_string()))
    }
}

/// Placeholders seen in the wild are well formed but were never issued:
/// `1234567890`, `0000000000`. Nothing else is guessed at: rejecting a real
/// code would stop an administrator from registering a real site.
fn placeholder_reason(digits: &str) -> Option<&'static str> {
    let bytes = digits.as_bytes();
    if bytes.iter().all(|&b| b == bytes[0]) {
        return Some("every digit is the same");
    }
    let ascending = bytes
        .windows(2)
        .all(|w| (w[0] - b'0' + 1) % 10 == w[1] - b'0');
    let descending = bytes
        .windows(2)
        .all(|w| (w[1] - b'0' + 1) % 10 == w[0] - b'0');
    if ascending || descending {
        return Some("the digits run in sequence");
    }
    None
}

impl TryFrom<String> for SiteCode {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        value.parse()
    }
}

impl From<SiteCode> for String {
    fn from(code: SiteCode) -> String {
        code.0
    }
}

impl fmt::Display for SiteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 6-digit administrative division code (GB/T 2260 or the statistics
/// bureau's list). Well-formedness only: whether the table knows it is
/// advisory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level a division code implies by its shape: `xx0000` is a
    /// province, `xxxx00` a prefecture, anything else a county.
    pub fn implied_level(&self) -> super::OrgLevel {
        if self.0.ends_with("0000") {
            super::OrgLevel::Province
        } else if self.0.ends_with("00") {
            super::OrgLevel::Prefecture
        } else {
            super::OrgLevel::County
        }
    }
}

impl FromStr for DivisionCode {
    type Err = Invalid;
    fn from_str(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "division",
                raw,
                "must be 6 digits (GB/T 2260)",
            ));
        }
        if value.starts_with("00") {
            return Err(Invalid::new(
                "division",
                raw,
                "province part 00 does not exist (GB/T 2260 provinces are 11 to 82)",
            ));
        }
        Ok(DivisionCode(value.to_string()))
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        value.parse()
    }
}

impl From<DivisionCode> for String {
    fn from(code: DivisionCode) -> String {
        code.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row of the division table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub name: String,
    /// `current`, `changed` or `abolished`.
    pub status: String,
    /// Codes this one was changed into, where it was.
    pub successors: Vec<String>,
}

/// The division table: current and historical GB/T 2260 codes plus the
/// statistics bureau's codes (development zones). Built from
/// `policies/divisions.csv`.
#[derive(Debug, Clone, Default)]
pub struct DivisionTable {
    by_code: HashMap<String, Division>,
}

impl DivisionTable {
    /// Parses the CSV written by `scripts/build_divisions.py`: columns
    /// code, name, level, status, start, end, successor, source.
    pub fn from_csv(text: &str) -> Result<Self, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut by_code: HashMap<String, Division> = HashMap::new();
        for (index, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("row {}: {e}", index + 2))?;
            let code = record.get(0).unwrap_or_default().to_string();
            let name = record.get(1).unwrap_or_default().to_string();
            let status = record.get(3).unwrap_or_default().to_string();
            let successor = record.get(6).unwrap_or_default();
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("row {}: `{code}` is not a 6-digit code", index + 2));
            }
            // A code reused over the years appears once per period; the
            // current period wins the name, successors accumulate.
            let entry = by_code.entry(code).or_insert_with(|| Division {
                name: name.clone(),
                status: status.clone(),
                successors: Vec::new(),
            });
            if status == "current" {
                entry.name = name;
                entry.status = status;
            }
            for successor in successor.split(['/', ';', ' ']).filter(|s| !s.is_empty()) {
                if !entry.successors.iter().any(|s| s == successor) {
                    entry.successors.push(successor.to_string());
                }
            }
        }
        Ok(DivisionTable { by_code })
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    pub fn is_known(&self, code: &DivisionCode) -> bool {
        self.by_code.contains_key(code.as_str())
    }

    pub fn get(&self, code: &DivisionCode) -> Option<&Division> {
        self.by_code.get(code.as_str())
    }

    pub fn name(&self, code: &DivisionCode) -> Option<&str> {
        self.get(code).map(|d| d.name.as_str())
    }

    /// Whether a code prefix denotes the organizer's division: the same
    /// code, or a historical code that was changed (perhaps in several
    /// steps) into it. Codes issued years ago keep their old prefix.
    pub fn same_division(&self, prefix: &DivisionCode, division: &DivisionCode) -> bool {
        let mut frontier = vec![prefix.as_str()];
        let mut seen: Vec<&str> = Vec::new();
        while let Some(code) = frontier.pop() {
            if code == division.as_str() {
                return true;
            }
            if seen.contains(&code) || seen.len() > 32 {
                continue;
            }
            seen.push(code);
            if let Some(entry) = self.by_code.get(code) {
                frontier.extend(entry.successors.iter().map(String::as_str));
            }
        }
        false
    }
}
