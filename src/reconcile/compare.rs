//! The comparison itself, pure: the registry as it stood at the end of
//! the quarter (or now, for a quarter not over), its findings during the
//! quarter, and the inputs given, into every discrepancy with the action
//! it calls for, the national system's fix list, and the counts a circular
//! needs. Each source left out is not compared, and the summary says so.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::inputs::{Inputs, NationalSite, NationalStatus};
use super::{Discrepancy, DiscrepancyKind as K, NationalFix, Quarter};
use crate::findings::{FindingKind, FindingStatus};
use crate::policy::holidays::{Calendar, MissingYear};
use crate::registry::{
    Account, AccountStatus, DivisionTable, DomainState, Hostname, Organization, Platform, Site,
    SiteStatus,
};
use crate::store::StoredFinding;

/// Working days a 找错 message must be answered within, from being
/// passed on (国办发〔2017〕47号).
pub const ANSWER_WORKING_DAYS: u32 = 3;

/// What the store knows, read once.
#[derive(Debug)]
pub struct Facts<'a> {
    pub sites: &'a [Site],
    pub orgs: &'a [Organization],
    pub accounts: &'a [Account],
    pub findings: &'a [StoredFinding],
    pub divisions: &'a DivisionTable,
    pub calendar: &'a Calendar,
    /// The sites changed after the end of the quarter, as they stood
    /// then (from their audit rows; `None`: not requested yet): status,
    /// name, organizer and code. The others are as they are now.
    pub earlier: &'a HashMap<i64, Option<crate::store::reconcile::SiteThen>>,
}

/// Why a comparison could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error(
        "{file}, row {row}: the 找错 message {number}'s deadline falls in {year}, which the holiday calendar does not hold: add policies/holidays/{year}.toml from the State Council's notice"
    )]
    MissingYear {
        file: String,
        row: u64,
        number: String,
        year: i32,
    },
}

/// The counts the summary and the circular show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub registry_sites: usize,
    pub registry_accounts: usize,
    pub national_sites: Option<usize>,
    pub national_accounts: Option<usize>,
    pub zones: Vec<String>,
    pub zone_records: usize,
    /// Registry host names under no zone given: not compared with zones.
    pub hosts_outside_zones: usize,
    pub messages: Option<MessageStats>,
}

/// The quarter's 找错 messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStats {
    /// Passed on to the office during the quarter.
    pub received: usize,
    pub true_reports: usize,
    pub on_time: usize,
    pub late: usize,
    pub unanswered: usize,
    /// Not answered, and not due yet.
    pub not_yet_due: usize,
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub discrepancies: Vec<Discrepancy>,
    pub fixes: Vec<NationalFix>,
    pub stats: Stats,
}

/// Whether a site in this status is operated (should be running and in
/// the national system).
fn operated(status: SiteStatus) -> bool {
    matches!(
        status,
        SiteStatus::Live | SiteStatus::Suspended | SiteStatus::Retiring
    )
}

fn retired(status: SiteStatus) -> bool {
    matches!(status, SiteStatus::Offline | SiteStatus::Closed)
}

fn kind_label(kind: crate::registry::SiteKind) -> &'static str {
    crate::transfer::kind_label(kind, crate::transfer::HeaderLang::Zh)
}

fn status_zh(status: SiteStatus) -> &'static str {
    crate::transfer::status_label(status, crate::transfer::HeaderLang::Zh)
}

/// Names compared as people write them: no spaces, full-width letters and
/// brackets as their ASCII forms.
fn same_text(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '（' => '(',
                '）' => ')',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            })
            .collect()
    }
    norm(a) == norm(b)
}

fn site_subject(site: &Site) -> String {
    match &site.code {
        Some(code) => format!("{}（{}）", site.name, code),
        None => site.name.clone(),
    }
}

/// A file as the office's people name it in a table: its name, without
/// the directories it was read from (the summary gives the path).
fn short(file: &str) -> String {
    std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().to_string())
}

fn at_row(file: &str, row: u64) -> String {
    format!("{} 第{row}行", short(file))
}

/// Whether a finding was open at some time in `[from, to)`.
fn open_during(f: &StoredFinding, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    f.status != FindingStatus::Suppressed
        && f.opened_at.is_some_and(|opened| opened < to)
        && f.resolved_at.is_none_or(|resolved| resolved >= from)
}

/// Compares. `as_of` is the end of the quarter, or now for a quarter not
/// over; `now` is when it runs (a 找错 message passed on in the quarter
/// is judged answered or not as of then). An error only when a message's
/// dates need a year the holiday calendar does not hold.
pub fn compare(
    quarter: Quarter,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
    facts: &Facts<'_>,
    inputs: &Inputs,
) -> Result<Comparison, CompareError> {
    let mut out = Vec::new();
    let mut fixes = Vec::new();
    // The registry as it stood: sites that existed by then, in the status
    // they had.
    let then: Vec<Site> = facts
        .sites
        .iter()
        .filter_map(|s| match facts.earlier.get(&s.id) {
            Some(Some(then)) => Some(Site {
                status: then.status,
                name: then.name.clone(),
                org: then.org.clone(),
                code: then.code.clone(),
                ..s.clone()
            }),
            _ => None,
        })
        .collect();
    let sites: Vec<(&Site, SiteStatus)> = facts
        .sites
        .iter()
        .filter(|s| !facts.earlier.contains_key(&s.id))
        .chain(&then)
        .map(|s| (s, s.status))
        .filter(|(_, status)| *status != SiteStatus::Rejected)
        .collect();
    let org_division: HashMap<&str, &Organization> =
        facts.orgs.iter().map(|o| (o.name.as_str(), o)).collect();
    let mut stats = Stats {
        registry_sites: sites.len(),
        registry_accounts: facts.accounts.len(),
        ..Stats::default()
    };

    registry_codes(&sites, &org_division, facts.divisions, &mut out);
    if let Some(export) = &inputs.sites {
        stats.national_sites = Some(export.sites.len());
        national_sites(&sites, export, &mut out, &mut fixes);
    }
    if !inputs.zones.is_empty() {
        zones(&sites, inputs, &mut stats, &mut out);
    }
    let (from, to) = (quarter.start(), as_of);
    for f in facts.findings.iter().filter(|f| open_during(f, from, to)) {
        let site = site_of(facts.sites, f.site_id);
        let source = format!(
            "发现问题 #{}（{}）",
            f.id,
            crate::clock::show_date(f.opened_at.unwrap_or(f.first_seen))
        );
        match f.kind {
            FindingKind::OfflineStillResolving => out.push(Discrepancy {
                kind: K::RetiredResolving,
                subject: f.subject.clone(),
                code: site.and_then(|s| s.code.as_ref().map(ToString::to_string)),
                organization: site.map(|s| s.org.clone()),
                here: site
                    .map(|s| format!("{}：{}", site_subject(s), status_zh(s.status)))
                    .unwrap_or_default(),
                there: f.summary.clone(),
                action: "注销该域名或删除其解析记录，并确认不再指向任何服务器".into(),
                source,
            }),
            FindingKind::AccountStale => out.push(Discrepancy {
                kind: K::AccountStale,
                // `platform:id` as people name the account.
                subject: facts
                    .accounts
                    .iter()
                    .find(|a| format!("{}:{}", a.platform, a.account_id) == f.subject)
                    .map(|a| format!("{}：{}", platform_zh(a.platform), a.name))
                    .unwrap_or_else(|| f.subject.clone()),
                code: None,
                organization: f
                    .org_id
                    .and_then(|id| facts.orgs.iter().find(|o| o.id == id))
                    .map(|o| o.name.clone()),
                here: f.summary.clone(),
                there: String::new(),
                action: "督促主办单位恢复更新；确无力维护的，按程序关停整合".into(),
                source,
            }),
            _ => {}
        }
    }
    if let Some(export) = &inputs.accounts {
        stats.national_accounts = Some(export.accounts.len());
        accounts(facts.accounts, export, &mut out);
    }
    if let Some(export) = &inputs.messages {
        stats.messages = Some(messages(quarter, now, facts, export, &mut out)?);
    }
    // By kind, then subject: what a person scans.
    out.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    fixes.sort_by(|a: &NationalFix, b| a.code.cmp(&b.code));
    Ok(Comparison {
        discrepancies: out,
        fixes,
        stats,
    })
}

fn site_of(sites: &[Site], id: Option<i64>) -> Option<&Site> {
    id.and_then(|id| sites.iter().find(|s| s.id == id))
}

/// Checks of the registry's own codes: live without one, one on two
/// sites, a prefix not the organizer's division.
fn registry_codes(
    sites: &[(&Site, SiteStatus)],
    orgs: &HashMap<&str, &Organization>,
    divisions: &DivisionTable,
    out: &mut Vec<Discrepancy>,
) {
    for (site, status) in sites {
        match &site.code {
            None if operated(*status) => out.push(Discrepancy {
                kind: K::LiveWithoutCode,
                subject: site.name.clone(),
                code: None,
                organization: Some(site.org.clone()),
                here: format!("{}，无网站标识码", status_zh(*status)),
                there: String::new(),
                action: "在全国政府网站信息报送系统完成填报，取得网站标识码后录入注册库".into(),
                source: "注册库".into(),
            }),
            None => {}
            Some(code) => {
                let (Some(prefix), Some(org)) =
                    (code.division_prefix(), orgs.get(site.org.as_str()))
                else {
                    continue;
                };
                if !divisions.same_division(&prefix, &org.division) {
                    let name = |c| {
                        divisions
                            .name(c)
                            .map(|n| format!("（{n}）"))
                            .unwrap_or_default()
                    };
                    out.push(Discrepancy {
                        kind: K::CodePrefixMismatch,
                        subject: site_subject(site),
                        code: Some(code.to_string()),
                        organization: Some(site.org.clone()),
                        here: format!("主办单位区划 {}{}", org.division, name(&org.division)),
                        there: format!("标识码区划 {prefix}{}", name(&prefix)),
                        action: "核实网站标识码与主办单位：标识码录入有误的更正；主办单位变更的，在国家系统办理变更".into(),
                        source: "注册库".into(),
                    });
                }
            }
        }
    }
    // One code on two sites cannot happen here: the store holds a code
    // on one site not closed (a unique index). The national export can.
}

/// The national export of sites against the registry.
fn national_sites(
    sites: &[(&Site, SiteStatus)],
    export: &super::inputs::SiteExport,
    out: &mut Vec<Discrepancy>,
    fixes: &mut Vec<NationalFix>,
) {
    let file = export.file.as_str();
    // A closed site may share its code, and a released host name be held
    // again, by another site: the one in use is the match.
    let rank = |status: SiteStatus| {
        if operated(status) {
            2
        } else if retired(status) {
            0
        } else {
            1
        }
    };
    let mut by_code: HashMap<&str, usize> = HashMap::new();
    let mut by_host: HashMap<&Hostname, (usize, (DomainState, u8))> = HashMap::new();
    for (i, (site, status)) in sites.iter().enumerate() {
        if let Some(code) = &site.code {
            let slot = by_code.entry(code.as_str()).or_insert(i);
            if rank(sites[*slot].1) < rank(*status) {
                *slot = i;
            }
        }
        for d in &site.domains {
            let key = (d.state, rank(*status));
            let better = |old: (DomainState, u8)| {
                (old.0 != DomainState::Active && d.state == DomainState::Active)
                    || (old.0 == d.state && old.1 < key.1)
            };
            match by_host.get(&d.hostname) {
                Some((_, old)) if !better(*old) => {}
                _ => {
                    by_host.insert(&d.hostname, (i, key));
                }
            }
        }
    }
    let mut matched = vec![false; sites.len()];
    let mut rows_of_code: BTreeMap<&str, Vec<&NationalSite>> = BTreeMap::new();
    for row in &export.sites {
        rows_of_code.entry(row.code.as_str()).or_default().push(row);
        let found = by_code
            .get(row.code.as_str())
            .copied()
            .or_else(|| by_host.get(&row.host).map(|(i, _)| *i));
        let Some(i) = found else {
            let closed = row.status == NationalStatus::Closed;
            out.push(Discrepancy {
                kind: K::NotInRegistry,
                subject: format!("{}（{}）", row.name, row.code),
                code: Some(row.code.to_string()),
                organization: Some(row.organizer.clone()),
                here: String::new(),
                there: format!("{}，{}，{}", row.status.label(), row.url, row.organizer),
                action: if closed {
                    "在注册库补录该网站（已关停）及其域名，以便监测域名是否注销".into()
                } else {
                    "核实该网站：属本地区的，补录注册库；已不存在的，在国家系统设为关停".into()
                },
                source: at_row(file, row.row),
            });
            continue;
        };
        matched[i] = true;
        let (site, status) = sites[i];
        let subject = format!("{}（{}）", site.name, row.code);
        let mut push = |kind, here: String, there: String, action: &str| {
            out.push(Discrepancy {
                kind,
                subject: subject.clone(),
                code: Some(row.code.to_string()),
                organization: Some(site.org.clone()),
                here,
                there,
                action: action.to_string(),
                source: at_row(file, row.row),
            });
        };
        let mut fix = row.cells.clone();
        let mut changed = Vec::new();
        let mut set = |col: usize, value: String, changed: &mut Vec<String>| {
            if let Some(cell) = fix.get_mut(col) {
                *cell = value;
                changed.push(export.headers.get(col).cloned().unwrap_or_default());
            }
        };
        match &site.code {
            Some(code) if code != &row.code => push(
                K::CodeDiffers,
                code.to_string(),
                row.code.to_string(),
                "核实网站标识码，以国家系统核发的为准更正注册库",
            ),
            _ => {}
        }
        // Status. The fix list sets what the registry is sure of: a
        // retired site 关停, a live one's 临时下线 back to 正常运行, a
        // suspended one 临时下线; a site closed there but running here is
        // to be checked first.
        use NationalStatus as N;
        let there = row.status;
        let (kind, action, fix_status) = if retired(status) {
            match there {
                N::Closed => (None, "", None),
                N::Running => (
                    Some(K::OfflineHereRunningThere),
                    "在全国政府网站信息报送系统将该网站设为关停（永久下线），否则检查时将按无法访问判为不合格",
                    Some(N::Closed),
                ),
                N::TemporarilyOffline | N::Exception => (
                    Some(K::StatusDiffers),
                    "网站已下线：在全国政府网站信息报送系统将其设为关停（永久下线）",
                    Some(N::Closed),
                ),
            }
        } else if operated(status) {
            match (status, there) {
                (_, N::Exception) => (None, "", None),
                (SiteStatus::Suspended, N::TemporarilyOffline) => (None, "", None),
                (SiteStatus::Suspended, N::Running) => (
                    Some(K::StatusDiffers),
                    "网站暂停运行：在国家系统设为临时下线，恢复后改回正常运行",
                    Some(N::TemporarilyOffline),
                ),
                (SiteStatus::Suspended, N::Closed) => (
                    Some(K::StatusDiffers),
                    "核实：网站暂停运行，国家系统已关停；确已关停的，在注册库办理下线",
                    None,
                ),
                (_, N::Running) => (None, "", None),
                (_, N::Closed) => (
                    Some(K::RunningHereClosedThere),
                    "核实：网站仍在运行的，在国家系统恢复为正常运行；已关停的，在注册库办理下线",
                    None,
                ),
                (_, N::TemporarilyOffline) => (
                    Some(K::StatusDiffers),
                    "网站运行中：在国家系统恢复为正常运行",
                    Some(N::Running),
                ),
            }
        } else if there == N::Running {
            (
                Some(K::StatusDiffers),
                "注册库中该网站尚未上线，国家系统已为运行：核实是否未经核准上线，补办核准并更新注册库",
                None,
            )
        } else {
            (None, "", None)
        };
        if let Some(kind) = kind {
            push(
                kind,
                status_zh(status).to_string(),
                there.label().to_string(),
                action,
            );
        }
        if let Some(wanted) = fix_status {
            set(export.status_col, wanted.label().to_string(), &mut changed);
        }
        if !same_text(&site.name, &row.name) {
            push(
                K::NameDiffers,
                site.name.clone(),
                row.name.clone(),
                "以核准的网站名称为准，更正国家系统或注册库",
            );
            set(export.name_col, site.name.clone(), &mut changed);
        }
        if let Some(primary) = site.primary()
            && primary.hostname != row.host
        {
            let url = home_url(&row.url, &primary.hostname);
            push(
                K::UrlDiffers,
                url.clone(),
                row.url.clone(),
                if site.has_host(&row.host) {
                    "国家系统填报的是备用域名：改为主域名的首页网址"
                } else {
                    "核实首页网址，更正国家系统或注册库"
                },
            );
            set(export.url_col, url, &mut changed);
        }
        if !same_text(&site.org, &row.organizer) {
            push(
                K::OrganizerDiffers,
                site.org.clone(),
                row.organizer.clone(),
                "核实主办单位：机构改革更名的，在国家系统办理变更",
            );
            set(export.organizer_col, site.org.clone(), &mut changed);
        }
        if site.kind != row.kind {
            push(
                K::KindDiffers,
                kind_label(site.kind).to_string(),
                kind_label(row.kind).to_string(),
                "核实网站类型，更正国家系统或注册库",
            );
            set(
                export.kind_col,
                kind_label(site.kind).to_string(),
                &mut changed,
            );
        }
        if !changed.is_empty() {
            fixes.push(NationalFix {
                code: row.code.to_string(),
                cells: fix,
                changed,
            });
        }
    }
    for (code, rows) in rows_of_code.into_iter().filter(|(_, r)| r.len() > 1) {
        out.push(Discrepancy {
            kind: K::DuplicateCode,
            subject: code.to_string(),
            code: Some(code.to_string()),
            organization: None,
            here: String::new(),
            there: rows
                .iter()
                .map(|r| format!("第{}行 {}", r.row, r.name))
                .collect::<Vec<_>>()
                .join("；"),
            action: "国家系统中一个标识码对应多个网站：核实后删除或更正重复的填报".into(),
            source: short(file),
        });
    }
    for ((site, status), _) in sites.iter().zip(&matched).filter(|(_, m)| !**m) {
        if operated(*status) {
            out.push(Discrepancy {
                kind: K::NotInNational,
                subject: site_subject(site),
                code: site.code.as_ref().map(|c| c.to_string()),
                organization: Some(site.org.clone()),
                here: format!(
                    "{}，{}",
                    status_zh(*status),
                    site.primary()
                        .map(|d| d.hostname.to_string())
                        .unwrap_or_default()
                ),
                there: String::new(),
                action: "在全国政府网站信息报送系统填报该网站；未经核准开设的，责令整改".into(),
                source: "注册库".into(),
            });
        }
    }
}

/// The home URL with `host`, keeping the scheme the national system had.
fn home_url(national: &str, host: &Hostname) -> String {
    let scheme = if national.trim().to_ascii_lowercase().starts_with("https://") {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/")
}

/// The zones against the registry's host names.
fn zones(
    sites: &[(&Site, SiteStatus)],
    inputs: &Inputs,
    stats: &mut Stats,
    out: &mut Vec<Discrepancy>,
) {
    // Every host name the registry knows, held or released.
    let known: HashSet<&Hostname> = sites
        .iter()
        .flat_map(|(s, _)| s.domains.iter().map(|d| &d.hostname))
        .collect();
    let origin_of = |z: &super::inputs::ZoneInput| {
        z.contents
            .origin
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    for zone in &inputs.zones {
        stats.zones.push(origin_of(zone));
        stats.zone_records += zone.contents.records;
        let z = &zone.contents;
        for host in z
            .web
            .iter()
            .filter(|h| !known.contains(h) && !z.infrastructure.contains(*h) && z.covers(h))
        {
            out.push(Discrepancy {
                kind: K::ZoneHostUnregistered,
                subject: host.to_string(),
                code: None,
                organization: None,
                here: String::new(),
                there: format!("区域 {} 中有解析记录", origin_of(zone)),
                action: "核实该主机名：属网站的，补录注册库（经核准）；已不用的，删除解析记录"
                    .into(),
                source: short(&zone.source),
            });
        }
    }
    // Each registry host name, judged by the deepest zone given that
    // holds it (a name delegated away belongs to the zone below).
    for (site, status) in sites {
        for d in &site.domains {
            let zone = inputs
                .zones
                .iter()
                .filter(|z| z.contents.covers(&d.hostname))
                .max_by_key(|z| z.contents.origin.as_ref().map_or(0, |o| o.as_str().len()));
            let gone = retired(*status) || d.state == DomainState::Released;
            let Some(zone) = zone else {
                if !gone && d.state == DomainState::Active && operated(*status) {
                    stats.hosts_outside_zones += 1;
                }
                continue;
            };
            let answers = zone.contents.answers(&d.hostname);
            let kind = if gone && answers {
                K::RetiredInZone
            } else if !gone && !answers && d.state == DomainState::Active && operated(*status) {
                K::HostNotInZone
            } else {
                continue;
            };
            let by_wildcard = !zone.contents.web.contains(&d.hostname);
            out.push(Discrepancy {
                kind,
                subject: d.hostname.to_string(),
                code: site.code.as_ref().map(|c| c.to_string()),
                organization: Some(site.org.clone()),
                here: if retired(*status) || !gone {
                    format!("{}：{}", site_subject(site), status_zh(*status))
                } else {
                    format!("{}：该域名已释放", site_subject(site))
                },
                there: match (kind, by_wildcard) {
                    (K::RetiredInZone, false) => format!("区域 {} 中仍有解析记录", origin_of(zone)),
                    (K::RetiredInZone, true) => {
                        format!("区域 {} 的通配符记录仍解析该主机名", origin_of(zone))
                    }
                    _ => format!("区域 {} 中没有该主机名", origin_of(zone)),
                },
                action: if kind == K::RetiredInZone {
                    "删除该主机名的解析记录（通配符的，收窄通配符）并注销域名，防止被他人接管"
                        .into()
                } else {
                    "核实：网站仍在运行的，补全解析记录；已不用该域名的，在注册库释放".into()
                },
                source: short(&zone.source),
            });
        }
    }
}

/// A platform as the two systems agree on it: WeChat's kinds of official
/// account are one family (exports do not always say which).
fn family(p: Platform) -> Platform {
    match p {
        Platform::WechatService => Platform::WechatSubscription,
        p => p,
    }
}

fn platform_zh(p: Platform) -> &'static str {
    crate::transfer::platform_label(p, crate::transfer::HeaderLang::Zh)
}

fn account_status_zh(s: AccountStatus) -> &'static str {
    crate::transfer::account_status_label(s, crate::transfer::HeaderLang::Zh)
}

/// The national new-media export against the registry's accounts.
fn accounts(
    registry: &[Account],
    export: &super::inputs::AccountExport,
    out: &mut Vec<Discrepancy>,
) {
    let key = |p: Platform, id: &str| (family(p), id.trim().to_lowercase());
    let by_id: HashMap<(Platform, String), usize> = registry
        .iter()
        .enumerate()
        .map(|(i, a)| (key(a.platform, &a.account_id), i))
        .collect();
    // Without the same id, the same name of the same organizer.
    let by_name: HashMap<(Platform, &str, &str), usize> = registry
        .iter()
        .enumerate()
        .map(|(i, a)| ((family(a.platform), a.name.as_str(), a.org.as_str()), i))
        .collect();
    let mut matched = BTreeSet::new();
    for row in &export.accounts {
        let subject = format!("{}：{}", platform_zh(row.platform), row.name);
        let found = by_id
            .get(&key(row.platform, &row.account_id))
            .or_else(|| {
                by_name.get(&(
                    family(row.platform),
                    row.name.as_str(),
                    row.organizer.as_str(),
                ))
            })
            .copied();
        let Some(i) = found else {
            if row.status != AccountStatus::Closed {
                out.push(Discrepancy {
                    kind: K::AccountNotInRegistry,
                    subject,
                    code: None,
                    organization: Some(row.organizer.clone()),
                    here: String::new(),
                    there: format!(
                        "{}，账号ID {}",
                        account_status_zh(row.status),
                        row.account_id
                    ),
                    action:
                        "核实该账号：属本地区政务新媒体的，补录注册库；已停用的，在国家系统注销"
                            .into(),
                    source: at_row(&export.file, row.row),
                });
            }
            continue;
        };
        matched.insert(i);
        let account = &registry[i];
        if account.status != row.status
            && (account.status == AccountStatus::Closed || row.status == AccountStatus::Closed)
        {
            out.push(Discrepancy {
                kind: K::AccountStatusDiffers,
                subject,
                code: None,
                organization: Some(account.org.clone()),
                here: account_status_zh(account.status).to_string(),
                there: account_status_zh(row.status).to_string(),
                action: "按账号实际状态更正国家新媒体系统或注册库".into(),
                source: at_row(&export.file, row.row),
            });
        }
    }
    for (i, account) in registry.iter().enumerate() {
        if !matched.contains(&i) && account.status != AccountStatus::Closed {
            out.push(Discrepancy {
                kind: K::AccountNotInNational,
                subject: format!("{}：{}", platform_zh(account.platform), account.name),
                code: None,
                organization: Some(account.org.clone()),
                here: format!(
                    "{}，账号ID {}",
                    account_status_zh(account.status),
                    account.account_id
                ),
                there: String::new(),
                action: "在全国政务新媒体信息报送系统填报该账号".into(),
                source: "注册库".into(),
            });
        }
    }
}

/// When a message passed on at `at` must be answered by: the end of the
/// third working day after.
pub fn answer_due(calendar: &Calendar, at: DateTime<Utc>) -> Result<DateTime<Utc>, MissingYear> {
    let day = calendar.add_working_days(at, ANSWER_WORKING_DAYS)?;
    let local = day.with_timezone(&crate::clock::china()).date_naive();
    let next = local
        .succ_opt()
        .unwrap_or(local)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    Ok(next.and_utc() - Duration::hours(8))
}

/// One site's messages answered late, and not answered, and its code.
type SiteMessages = (Vec<String>, Vec<String>, Option<String>);

/// The quarter's 找错 messages: those passed on during it, answered late
/// or not at all, one discrepancy per site naming the messages.
fn messages(
    quarter: Quarter,
    now: DateTime<Utc>,
    facts: &Facts<'_>,
    export: &super::inputs::MessageExport,
    out: &mut Vec<Discrepancy>,
) -> Result<MessageStats, CompareError> {
    let mut stats = MessageStats::default();
    // Per site (its code, else its name): late and unanswered.
    let mut by_site: BTreeMap<String, SiteMessages> = BTreeMap::new();
    for m in &export.messages {
        let Some(passed) = m.passed_on_at else {
            continue;
        };
        if passed < quarter.start() || passed >= quarter.end() || passed > now {
            continue;
        }
        let missing = |MissingYear(year)| CompareError::MissingYear {
            file: export.file.clone(),
            row: m.row,
            number: m.number.clone(),
            year,
        };
        stats.received += 1;
        if m.true_report == Some(true) {
            stats.true_reports += 1;
        }
        let due = answer_due(facts.calendar, passed).map_err(missing)?;
        let key = match &m.code {
            Some(code) => format!("{}（{}）", m.site_name, code),
            None => m.site_name.clone(),
        };
        match m.answered_at {
            Some(answered) if answered <= due => stats.on_time += 1,
            Some(answered) => {
                stats.late += 1;
                let over = facts
                    .calendar
                    .working_days_between(due - Duration::seconds(1), answered)
                    .map_err(missing)?;
                let entry = by_site.entry(key).or_default();
                entry.0.push(format!(
                    "{}（{}转办，{}答复，超期{}个工作日）",
                    m.number,
                    crate::clock::show_date(passed),
                    crate::clock::show_date(answered),
                    over.max(1)
                ));
                entry.2 = m.code.as_ref().map(ToString::to_string);
            }
            None if due < now => {
                stats.unanswered += 1;
                let entry = by_site.entry(key).or_default();
                entry.1.push(format!(
                    "{}（{}转办，应于{}前答复）",
                    m.number,
                    crate::clock::show_date(passed),
                    crate::clock::show_date(due - Duration::seconds(1))
                ));
                entry.2 = m.code.as_ref().map(ToString::to_string);
            }
            None => stats.not_yet_due += 1,
        }
    }
    let org_of_code: HashMap<&str, &str> = facts
        .sites
        .iter()
        .filter_map(|s| s.code.as_ref().map(|c| (c.as_str(), s.org.as_str())))
        .collect();
    for (subject, (late, unanswered, code)) in by_site {
        let mut there = Vec::new();
        if !late.is_empty() {
            there.push(format!("超期答复{}条：{}", late.len(), late.join("；")));
        }
        if !unanswered.is_empty() {
            there.push(format!(
                "未答复{}条：{}",
                unanswered.len(),
                unanswered.join("；")
            ));
        }
        out.push(Discrepancy {
            kind: K::MessagesLate,
            organization: code
                .as_deref()
                .and_then(|c| org_of_code.get(c))
                .map(|o| o.to_string()),
            subject,
            code,
            here: String::new(),
            there: there.join("。"),
            action: format!(
                "督促主办单位在转办后{ANSWER_WORKING_DAYS}个工作日内答复；未答复的立即办理"
            ),
            source: short(&export.file),
        });
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst(s: &str) -> DateTime<Utc> {
        crate::clock::parse_time("t", s).expect("valid")
    }

    fn finding(
        id: i64,
        kind: FindingKind,
        status: FindingStatus,
        opened: Option<&str>,
        resolved: Option<&str>,
    ) -> StoredFinding {
        StoredFinding {
            id,
            kind,
            severity: crate::findings::Severity::Warning,
            status,
            subject: format!("host{id}.gansu.gov.cn"),
            scope: String::new(),
            site_id: None,
            org_id: None,
            summary: "仍可解析".into(),
            action: String::new(),
            evidence: Vec::new(),
            confirmations: 2,
            first_seen: cst("2026-01-01 00:00"),
            last_seen: cst("2026-12-01 00:00"),
            resolved_at: resolved.map(cst),
            ack_actor: None,
            ack_note: None,
            ack_at: None,
            opened_at: opened.map(cst),
            notified_at: None,
            overdue_at: None,
        }
    }

    /// A finding is the quarter's when it was open at some time during
    /// it: not one resolved before it began, opened after its end, never
    /// confirmed, or suppressed; nor a finding of another kind.
    #[test]
    fn the_quarters_findings_are_those_open_at_some_time_during_it() {
        use FindingStatus as S;
        let q3: Quarter = "2026Q3".parse().expect("valid");
        let stale = FindingKind::AccountStale;
        let resolving = FindingKind::OfflineStillResolving;
        let findings = [
            finding(1, resolving, S::Open, Some("2026-05-01 00:00"), None),
            finding(
                2,
                resolving,
                S::Resolved,
                Some("2026-05-01 00:00"),
                Some("2026-06-30 23:59"),
            ),
            finding(
                3,
                resolving,
                S::Resolved,
                Some("2026-05-01 00:00"),
                Some("2026-07-02 00:00"),
            ),
            finding(4, resolving, S::Open, Some("2026-10-01 00:00"), None),
            finding(5, resolving, S::Pending, None, None),
            finding(6, resolving, S::Suppressed, Some("2026-08-01 00:00"), None),
            finding(7, stale, S::Acknowledged, Some("2026-09-30 23:59"), None),
            finding(
                8,
                FindingKind::DanglingCname,
                S::Open,
                Some("2026-08-01 00:00"),
                None,
            ),
        ];
        let calendar = Calendar::built_in();
        let (divisions, earlier) = (DivisionTable::default(), HashMap::new());
        let facts = Facts {
            sites: &[],
            orgs: &[],
            accounts: &[],
            findings: &findings,
            divisions: &divisions,
            calendar: &calendar,
            earlier: &earlier,
        };
        let found = compare(q3, q3.end(), q3.end(), &facts, &Inputs::default()).expect("compares");
        let kinds: Vec<(K, &str)> = found
            .discrepancies
            .iter()
            .map(|d| (d.kind, d.subject.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (K::RetiredResolving, "host1.gansu.gov.cn"),
                (K::RetiredResolving, "host3.gansu.gov.cn"),
                (K::AccountStale, "host7.gansu.gov.cn"),
            ]
        );
        assert!(
            found.discrepancies[0]
                .source
                .starts_with("发现问题 #1（2026-05-01")
        );
        assert!(found.fixes.is_empty());
    }

    #[test]
    fn a_message_is_due_by_the_end_of_its_third_working_day_across_holidays() {
        let calendar = Calendar::built_in();
        // Passed on the Friday before the 2026 Spring Festival (15-23
        // February off; Saturday 14 February worked): Saturday 14 is the
        // first working day, then the holiday, then 24 and 25 February.
        let due = answer_due(&calendar, cst("2026-02-13 10:00")).expect("valid");
        assert_eq!(crate::clock::show(due), "2026-02-26 00:00:00");
        // National Day 2026 (1-7 October off; Saturday 10 October
        // worked): passed on 30 September, the 8th, 9th and the
        // Saturday 10th count; due by the end of the 10th.
        let due = answer_due(&calendar, cst("2026-09-30 16:00")).expect("valid");
        assert_eq!(crate::clock::show(due), "2026-10-11 00:00:00");
        // An ordinary week: Monday, due by the end of Thursday.
        let due = answer_due(&calendar, cst("2026-11-02 09:00")).expect("valid");
        assert_eq!(crate::clock::show(due), "2026-11-06 00:00:00");
        // A year with no calendar is an error naming it.
        assert_eq!(
            answer_due(&calendar, cst("2031-03-03 09:00")).expect_err("fails"),
            MissingYear(2031)
        );
    }
}
