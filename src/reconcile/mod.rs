//! Quarterly reconciliation, pure: the registry (with its history, and
//! the quarter's findings) against the national reporting system's export
//! of sites, the national new-media system's export of accounts, the
//! "我为政府网站找错" platform's messages and the region's DNS zones. It
//! owns the quarter ([`Quarter`]), the kinds of discrepancy
//! ([`DiscrepancyKind`]: an identifier and its Chinese name), reading the
//! input files ([`table`], [`inputs`]), the comparison ([`compare`]) and
//! the files a run writes ([`output`]). Reading files from disk, the
//! store and the schedule are `app::reconcile`'s.

pub mod compare;
pub mod inputs;
pub mod output;
pub mod table;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::china;
use crate::registry::Invalid;

pub use compare::{CompareError, Comparison, Facts, Stats, compare};
pub use inputs::{BadInput, Inputs};

/// A calendar quarter, `2026Q4`, in China Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub number: u8,
}

impl Quarter {
    /// The quarter `at` falls in (China Standard Time).
    pub fn containing(at: DateTime<Utc>) -> Quarter {
        let local = at.with_timezone(&china());
        Quarter {
            year: local.year(),
            number: (local.month0() / 3 + 1) as u8,
        }
    }

    /// The quarter before this one.
    pub fn previous(self) -> Quarter {
        if self.number == 1 {
            Quarter {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number - 1,
            }
        }
    }

    fn first_day(year: i32, number: u8) -> DateTime<Utc> {
        let month = u32::from(number - 1) * 3 + 1;
        let day = NaiveDate::from_ymd_opt(year, month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("the first day of a quarter exists");
        china()
            .from_local_datetime(&day)
            .single()
            .expect("+08:00 has no gaps")
            .with_timezone(&Utc)
    }

    /// Its first instant.
    pub fn start(self) -> DateTime<Utc> {
        Quarter::first_day(self.year, self.number)
    }

    /// The first instant after it.
    pub fn end(self) -> DateTime<Utc> {
        if self.number == 4 {
            Quarter::first_day(self.year + 1, 1)
        } else {
            Quarter::first_day(self.year, self.number + 1)
        }
    }

    /// How people write it in a circular: `2026年第四季度`.
    pub fn label_zh(self) -> String {
        let n = ["一", "二", "三", "四"][usize::from(self.number - 1)];
        format!("{}年第{n}季度", self.year)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.number)
    }
}

impl FromStr for Quarter {
    type Err = Invalid;

    /// `2026Q4`, `2026q4`, `2026-Q4` or `2026 Q4`.
    fn from_str(raw: &str) -> Result<Quarter, Invalid> {
        let bad = || Invalid::new("quarter", raw, "is not a quarter: write it as 2026Q4");
        let text = raw.trim().to_ascii_uppercase();
        let (year, number) = text.split_once('Q').ok_or_else(bad)?;
        let year: i32 = year
            .trim_end_matches(['-', ' '])
            .parse()
            .map_err(|_| bad())?;
        let number: u8 = number.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&number) || !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, number })
    }
}

impl Serialize for Quarter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Quarter, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(|e: Invalid| serde::de::Error::custom(e))
    }
}

macro_rules! kinds {
    ($($variant:ident = $id:literal, $zh:literal;)+) => {
        /// What differs. Each has a stable identifier (in files and
        /// JSON) and a Chinese name (for the office).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DiscrepancyKind { $($variant),+ }

        impl DiscrepancyKind {
            pub const ALL: &'static [DiscrepancyKind] = &[$(DiscrepancyKind::$variant),+];

            pub fn id(self) -> &'static str {
                match self { $(DiscrepancyKind::$variant => $id),+ }
            }

            pub fn zh(self) -> &'static str {
                match self { $(DiscrepancyKind::$variant => $zh),+ }
            }
        }

        impl FromStr for DiscrepancyKind {
            type Err = String;
            fn from_str(raw: &str) -> Result<DiscrepancyKind, String> {
                match raw {
                    $($id => Ok(DiscrepancyKind::$variant),)+
                    _ => Err(format!("`{raw}` is not a kind of discrepancy")),
                }
            }
        }
    };
}

kinds! {
    NotInRegistry = "not_in_registry", "国家系统有、注册库无";
    NotInNational = "not_in_national", "注册库在运行、国家系统无";
    OfflineHereRunningThere = "offline_here_running_there", "本地已下线、国家系统仍为运行";
    RunningHereClosedThere = "running_here_closed_there", "本地运行、国家系统已关停";
    StatusDiffers = "status_differs", "运行状态不一致";
    NameDiffers = "name_differs", "网站名称不一致";
    UrlDiffers = "url_differs", "首页网址不一致";
    OrganizerDiffers = "organizer_differs", "主办单位不一致";
    KindDiffers = "kind_differs", "网站类型不一致";
    CodeDiffers = "code_differs", "网站标识码不一致";
    LiveWithoutCode = "live_without_code", "运行网站无网站标识码";
    DuplicateCode = "duplicate_code", "一个标识码对应多个网站";
    CodePrefixMismatch = "code_prefix_mismatch", "标识码区划与主办单位不符";
    ZoneHostUnregistered = "zone_host_unregistered", "区域文件中的主机名不属于任何网站";
    HostNotInZone = "host_not_in_zone", "注册库主机名不在区域文件中";
    RetiredInZone = "retired_in_zone", "已下线网站的记录仍在区域文件中";
    RetiredResolving = "retired_resolving", "已下线网站的域名仍可解析";
    AccountNotInRegistry = "account_not_in_registry", "国家新媒体系统有、注册库无的账号";
    AccountNotInNational = "account_not_in_national", "注册库有、国家新媒体系统无的账号";
    AccountStatusDiffers = "account_status_differs", "账号状态不一致";
    AccountStale = "account_stale", "季度内账号长期未更新";
    MessagesLate = "messages_late", "找错留言超期答复或未答复";
}

impl fmt::Display for DiscrepancyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for DiscrepancyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for DiscrepancyKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DiscrepancyKind, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One difference the office must look at: what it is about, the value
/// here (the registry) and there (the other source), and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    /// The site, host name, account or zone it is about, in words.
    pub subject: String,
    /// The site identifier code it concerns, when there is one.
    pub code: Option<String>,
    /// The organizer it concerns, when known.
    pub organization: Option<String>,
    pub here: String,
    pub there: String,
    /// What to do, in Chinese.
    pub action: String,
    /// Where the other value was read: `FILE row N`, a zone, or a
    /// finding's number.
    pub source: String,
}

/// One row of the national system to change: the export's own columns
/// (as its header row named them), with the registry's values where they
/// differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NationalFix {
    pub code: String,
    pub cells: Vec<String>,
    /// Which columns changed, by header.
    pub changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_and_bound_in_china_standard_time() {
        let q: Quarter = "2026q4".parse().expect("valid");
        assert_eq!(
            q,
            Quarter {
                year: 2026,
                number: 4
            }
        );
        assert_eq!(q.to_string(), "2026Q4");
        assert_eq!("2026-Q1".parse::<Quarter>().expect("valid").number, 1);
        assert_eq!(q.start().to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!(q.end().to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert_eq!(q.label_zh(), "2026年第四季度");
        assert_eq!(Quarter::containing(q.end()).to_string(), "2027Q1");
        assert_eq!(Quarter::containing(q.end()).previous(), q);
        for bad in ["2026Q5", "2026", "Q4", "26Q4", "2026Q0"] {
            let e = bad.parse::<Quarter>().expect_err("fails");
            assert!(e.to_string().contains("2026Q4"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_kind_has_a_unique_identifier_and_a_chinese_name() {
        let mut ids: Vec<&str> = DiscrepancyKind::ALL.iter().map(|k| k.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), DiscrepancyKind::ALL.len());
        for kind in DiscrepancyKind::ALL {
            assert_eq!(kind.id().parse::<DiscrepancyKind>().expect("valid"), *kind);
            assert!(kind.zh().chars().any(|c| c > '\u{2E80}'));
        }
    }
}
