//! Loads and validates the policy directory (`policies/`): the rules an
//! office may tune (lifecycle windows, suffixes, managed zones and own
//! networks, thresholds, confirmations, prohibited terms, severities,
//! schedules, zone transfers), the alert routes and deadlines, the
//! takeover fingerprints, the division
//! table and the Public Suffix List. Every error names the file and the
//! line; a policy is used only once all of it is valid. A directory comes
//! only from configuration (`--policies`, `[policies] dir`, the
//! environment) and must hold every file ([`REQUIRED_FILES`]); when none is
//! configured, the defaults compiled into the binary (the repository's own
//! `policies/`) apply, so that a bare binary works. No directory is looked
//! for: a `policies/` lying in the current directory is not read.

pub mod alerts;
pub mod cron;
pub mod holidays;
pub mod report;
pub mod takeover;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use self::cron::CronSchedule;
use crate::findings::{FindingKind, Severity};
use crate::registry::lifecycle::LifecycleWindows;
use crate::registry::{AllowedSuffixes, DivisionTable, Hostname};
use alerts::Alerts;
use takeover::Takeover;

const DEFAULT_POLICY: &str = include_str!("../../policies/siteward.toml");
const DEFAULT_DIVISIONS: &str = include_str!("../../policies/divisions.csv");
const DEFAULT_TAKEOVER: &str = include_str!("../../policies/takeover.toml");
const DEFAULT_ALERTS: &str = include_str!("../../policies/alerts.toml");
const DEFAULT_REPORT: &str = include_str!("../../policies/report.toml");
const DEFAULT_PSL: &str = include_str!("../../policies/public_suffix_list.dat");

/// The main policy file's name inside the directory.
pub const POLICY_FILE: &str = "siteward.toml";
/// The division table's name inside the directory.
pub const DIVISIONS_FILE: &str = "divisions.csv";
/// The takeover fingerprints' name inside the directory.
pub const TAKEOVER_FILE: &str = "takeover.toml";
/// The alert routes' name inside the directory.
pub const ALERTS_FILE: &str = "alerts.toml";
/// The circular's policy inside the directory.
pub const REPORT_FILE: &str = "report.toml";
/// The Public Suffix List's name inside the directory.
pub const PSL_FILE: &str = "public_suffix_list.dat";

#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("policy directory {0} does not exist")]
    MissingDir(PathBuf),
    /// A file every policy directory must hold (see [`REQUIRED_FILES`]).
    #[error(
        "{path} is missing: a policy directory holds {what}, which is not taken from the built-in defaults when a directory is given (copy it from the shipped policies/)"
    )]
    MissingFile { path: PathBuf, what: &'static str },
    /// The file could not be read; the reason in words, not chained, so
    /// that it is printed once.
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl PolicyError {
    /// Whether the error is the user's to fix (a directory or file that is
    /// missing or wrong): exit status 2.
    pub fn is_user_error(&self) -> bool {
        match self {
            PolicyError::MissingDir(_)
            | PolicyError::MissingFile { .. }
            | PolicyError::Invalid { .. } => true,
            PolicyError::Read { .. } => false,
        }
    }
}

/// The files a policy directory must hold, with what each is. A directory
/// is the whole policy: none of them falls back to the built-in copy, so
/// that what an office runs under is what its directory says. Only
/// `holidays/` is optional: its years are added to the shipped ones.
pub const REQUIRED_FILES: &[(&str, &str)] = &[
    (POLICY_FILE, "the policy"),
    (DIVISIONS_FILE, "the division table"),
    (TAKEOVER_FILE, "the takeover fingerprints"),
    (ALERTS_FILE, "the alert routes and deadlines"),
    (REPORT_FILE, "the circular's policy"),
    (PSL_FILE, "the Public Suffix List"),
];

/// Writes the built-in policy's files into `dir` (created if need be), as
/// a starting point an office edits; tests and the benchmark use it for a
/// complete directory.
pub fn write_built_in(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in [
        (POLICY_FILE, DEFAULT_POLICY),
        (DIVISIONS_FILE, DEFAULT_DIVISIONS),
        (TAKEOVER_FILE, DEFAULT_TAKEOVER),
        (ALERTS_FILE, DEFAULT_ALERTS),
        (REPORT_FILE, DEFAULT_REPORT),
        (PSL_FILE, DEFAULT_PSL),
    ] {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// Why a file could not be read, in words (an I/O error's own text may
/// repeat itself or name Rust's kinds).
fn read_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::NotFound => "no such file".to_string(),
        ErrorKind::IsADirectory => "it is a directory, not a file".to_string(),
        _ => error.to_string(),
    }
}

/// Where the policy in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    Dir(PathBuf),
    BuiltIn,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Dir(dir) => write!(f, "{}", dir.display()),
            PolicySource::BuiltIn => f.write_str("built-in defaults"),
        }
    }
}

/// Thresholds and windows of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub cert_warning_days: u32,
    pub cert_critical_days: u32,
    pub page_deadline_secs: u64,
    pub unreachable_failed_percent: u32,
    pub unreachable_window_days: u32,
    pub account_stale_days: u32,
    pub ipv6_sample: usize,
    pub ipv6_partial_percent: u32,
    /// A stored observation older than this is not a fact any more: its
    /// host is unmeasured until it is observed again.
    pub max_observation_age_mins: u32,
    /// The longest a comply-or-explain exception may last, from when it
    /// is recorded.
    pub max_exception_days: u32,
}

/// How findings that accuse are confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    pub confirmations: u32,
    pub delay_secs: u64,
}

/// How long history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Observations last seen longer ago than this are pruned by the
    /// `retain` job, but for each fact's latest row and what a finding
    /// refers to.
    pub observation_days: u32,
}

/// A job's schedule: the 5-field crontab expression as written, and the
/// parsed schedule (China Standard Time; see [`cron`]).
#[derive(Debug, Clone)]
pub struct JobSchedule {
    pub expression: String,
    pub schedule: CronSchedule,
}

/// A zone this office may transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AxfrSource {
    pub zone: Hostname,
    pub primary: Option<SocketAddr>,
}

/// The validated policy in force.
#[derive(Debug, Clone)]
pub struct Policy {
    pub source: PolicySource,
    pub lifecycle: LifecycleWindows,
    pub allowed_suffixes: AllowedSuffixes,
    pub managed_zones: Vec<Hostname>,
    pub own_networks: Vec<IpNet>,
    pub thresholds: Thresholds,
    pub confirmation: Confirmation,
    pub retention: Retention,
    pub prohibited_terms: Vec<String>,
    /// Words that make a link's text a notice (举报, 警惕…) rather than an
    /// advertisement.
    pub notice_words: Vec<String>,
    /// Host names outside the region that should always load: probed
    /// first in each round, to tell our own outage from the sites'.
    pub canaries: Vec<Hostname>,
    pub severity: BTreeMap<FindingKind, Severity>,
    pub schedules: BTreeMap<String, JobSchedule>,
    pub axfr: Vec<AxfrSource>,
    pub takeover: Takeover,
    pub alerts: Alerts,
    /// The circular: who publishes it and what it requires.
    pub report: report::ReportPolicy,
    pub divisions: DivisionTable,
    pub suffixes: Arc<publicsuffix::List>,
}

/// The jobs a schedule may name.
pub const JOBS: &[&str] = &[
    "probe",
    "feeds",
    "discover",
    "retain",
    "reconcile",
    "report",
    "audit",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    lifecycle: LifecycleSection,
    domains: DomainsSection,
    // Sections an office may leave out: their keys keep the defaults
    // below (the values of the shipped policies/siteward.toml).
    #[serde(default)]
    thresholds: ThresholdsSection,
    #[serde(default)]
    confirmation: ConfirmationSection,
    #[serde(default)]
    retention: RetentionSection,
    #[serde(default)]
    content: ContentSection,
    #[serde(default)]
    monitor: MonitorSection,
    #[serde(default)]
    severity: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default)]
    schedules: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default)]
    discovery: DiscoverySection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleSection {
    notice_days: toml::Spanned<u32>,
    release_grace_days: toml::Spanned<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsSection {
    allowed_suffixes: toml::Spanned<Vec<String>>,
    #[serde(default)]
    managed_zones: Vec<toml::Spanned<String>>,
    #[serde(default)]
    own_networks: Vec<toml::Spanned<String>>,
}

/// A value as written (with where), or its default (at the file's start).
fn or_default<T: Copy>(value: &Option<toml::Spanned<T>>, default: T) -> toml::Spanned<T> {
    value
        .clone()
        .unwrap_or_else(|| toml::Spanned::new(0..0, default))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsSection {
    cert_warning_days: Option<toml::Spanned<u32>>,
    cert_critical_days: Option<toml::Spanned<u32>>,
    page_deadline_secs: Option<toml::Spanned<u64>>,
    unreachable_failed_percent: Option<toml::Spanned<u32>>,
    unreachable_window_days: Option<toml::Spanned<u32>>,
    account_stale_days: Option<toml::Spanned<u32>>,
    ipv6_sample: Option<toml::Spanned<usize>>,
    ipv6_partial_percent: Option<toml::Spanned<u32>>,
    max_observation_age_mins: Option<toml::Spanned<u32>>,
    max_exception_days: Option<toml::Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmationSection {
    confirmations: Option<toml::Spanned<u32>>,
    delay_secs: Option<toml::Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionSection {
    observation_days: Option<toml::Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentSection {
    #[serde(default)]
    prohibited_terms: Vec<String>,
    #[serde(default)]
    notice_words: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorSection {
    #[serde(default)]
    canaries: Vec<toml::Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoverySection {
    #[serde(default)]
    axfr: Vec<toml::Spanned<AxfrEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxfrEntry {
    zone: String,
    #[serde(default)]
    primary: String,
}

/// The thresholds with where each was written.
struct ThresholdsSpans {
    cert_warning_days: toml::Spanned<u32>,
    cert_critical_days: toml::Spanned<u32>,
    page_deadline_secs: toml::Spanned<u64>,
    unreachable_failed_percent: toml::Spanned<u32>,
    unreachable_window_days: toml::Spanned<u32>,
    account_stale_days: toml::Spanned<u32>,
    ipv6_sample: toml::Spanned<usize>,
    ipv6_partial_percent: toml::Spanned<u32>,
    max_observation_age_mins: toml::Spanned<u32>,
    max_exception_days: toml::Spanned<u32>,
}

/// The texts a policy is read from, each with the name errors use.
struct Sources<'a> {
    /// The directory's `holidays/*.toml`, added to the shipped years.
    holidays: Vec<(String, String)>,
    policy: (&'a str, &'a str),
    divisions: (&'a str, &'a str),
    takeover: (&'a str, &'a str),
    alerts: (&'a str, &'a str),
    report: (&'a str, &'a str),
    psl: (&'a str, &'a str),
}

impl Policy {
    /// Loads the policy: from `dir` when given (it must exist and hold
    /// every file of [`REQUIRED_FILES`]), else the built-in defaults.
    /// There is no search: a `policies/` in the current directory is
    /// never read unless it is named (`--policies`, `[policies] dir`,
    /// `SITEWARD_POLICIES_DIR`).
    pub fn load(dir: Option<&Path>) -> Result<Policy, PolicyError> {
        match dir {
            Some(dir) if dir.is_dir() => Policy::load_dir(dir),
            Some(dir) => Err(PolicyError::MissingDir(dir.to_path_buf())),
            None => Ok(Policy::built_in()),
        }
    }

    /// The built-in defaults (the repository's `policies/`).
    pub fn built_in() -> Policy {
        Policy::parse(
            PolicySource::BuiltIn,
            Sources {
                holidays: Vec::new(),
                policy: ("(built-in) siteward.toml", DEFAULT_POLICY),
                divisions: ("(built-in) divisions.csv", DEFAULT_DIVISIONS),
                takeover: ("(built-in) takeover.toml", DEFAULT_TAKEOVER),
                alerts: ("(built-in) alerts.toml", DEFAULT_ALERTS),
                report: ("(built-in) report.toml", DEFAULT_REPORT),
                psl: ("(built-in) public_suffix_list.dat", DEFAULT_PSL),
            },
        )
        .expect("the built-in policy is valid (tested)")
    }

    fn load_dir(dir: &Path) -> Result<Policy, PolicyError> {
        let read = |name: &str| -> Result<(String, String), PolicyError> {
            let path = dir.join(name);
            let what = REQUIRED_FILES
                .iter()
                .find(|(file, _)| *file == name)
                .map_or("this file", |(_, what)| *what);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((path.display().to_string(), text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(PolicyError::MissingFile { path, what })
                }
                // Not text: the file is wrong, not the machine.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    Err(PolicyError::Invalid {
                        path: path.display().to_string(),
                        message: read_reason(&e),
                    })
                }
                Err(e) => Err(PolicyError::Read {
                    path,
                    reason: read_reason(&e),
                }),
            }
        };
        let policy = read(POLICY_FILE)?;
        let divisions = read(DIVISIONS_FILE)?;
        let takeover = read(TAKEOVER_FILE)?;
        let alerts = read(ALERTS_FILE)?;
        let report = read(REPORT_FILE)?;
        let psl = read(PSL_FILE)?;
        let mut holidays = Vec::new();
        let holidays_dir = dir.join("holidays");
        if holidays_dir.is_dir() {
            let entries = std::fs::read_dir(&holidays_dir).map_err(|e| PolicyError::Read {
                path: holidays_dir.clone(),
                reason: read_reason(&e),
            })?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        PolicyError::Invalid {
                            path: path.display().to_string(),
                            message: read_reason(&e),
                        }
                    } else {
                        PolicyError::Read {
                            path: path.clone(),
                            reason: read_reason(&e),
                        }
                    }
                })?;
                holidays.push((path.display().to_string(), text));
            }
        }
        Policy::parse(
            PolicySource::Dir(dir.to_path_buf()),
            Sources {
                holidays,
                policy: (&policy.0, &policy.1),
                divisions: (&divisions.0, &divisions.1),
                takeover: (&takeover.0, &takeover.1),
                alerts: (&alerts.0, &alerts.1),
                report: (&report.0, &report.1),
                psl: (&psl.0, &psl.1),
            },
        )
    }

    fn parse(source: PolicySource, sources: Sources<'_>) -> Result<Policy, PolicyError> {
        let (policy_path, policy_text) = sources.policy;
        let invalid = |path: &str, message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: PolicyFile =
            toml::from_str(policy_text).map_err(|e| invalid(policy_path, e.to_string()))?;
        let at_line = |span: Range<usize>, message: String| {
            invalid(
                policy_path,
                format!("line {}: {message}", line_of(policy_text, span.start)),
            )
        };
        let suffixes = &file.domains.allowed_suffixes;
        if suffixes.get_ref().is_empty() {
            return Err(at_line(
                suffixes.span(),
                "[domains] allowed_suffixes must name at least one suffix".into(),
            ));
        }
        let allowed_suffixes = AllowedSuffixes::parse(suffixes.get_ref())
            .map_err(|e| at_line(suffixes.span(), format!("[domains] allowed_suffixes: {e}")))?;
        let mut managed_zones = Vec::new();
        for zone in &file.domains.managed_zones {
            let parsed: Hostname = zone
                .get_ref()
                .parse()
                .map_err(|e| at_line(zone.span(), format!("[domains] managed_zones: {e}")))?;
            // A managed zone holds the region's sites; one outside the
            // allowed suffixes would have every name in it found not
            // allowed, and the suffix itself is nobody's zone.
            if !allowed_suffixes.allows(&parsed) {
                return Err(at_line(
                    zone.span(),
                    format!(
                        "[domains] managed_zones: {parsed} is not under an allowed suffix ({})",
                        allowed_suffixes.describe()
                    ),
                ));
            }
            managed_zones.push(parsed);
        }
        let mut canaries = Vec::new();
        for canary in &file.monitor.canaries {
            let parsed: Hostname = canary
                .get_ref()
                .parse()
                .map_err(|e| at_line(canary.span(), format!("[monitor] canaries: {e}")))?;
            // A canary inside the region goes down with it, and would
            // hide the region's own outage.
            if let Some(zone) = managed_zones
                .iter()
                .find(|zone| crate::registry::name_within(parsed.as_str(), zone.as_str()))
            {
                return Err(at_line(
                    canary.span(),
                    format!(
                        "[monitor] canaries: {parsed} is under the managed zone {zone}; a canary must be outside the region"
                    ),
                ));
            }
            canaries.push(parsed);
        }
        let mut own_networks = Vec::new();
        for network in &file.domains.own_networks {
            let parsed: IpNet = network.get_ref().trim().parse().map_err(|e| {
                at_line(
                    network.span(),
                    format!(
                        "[domains] own_networks: `{}` is not a CIDR range ({e})",
                        network.get_ref()
                    ),
                )
            })?;
            own_networks.push(parsed.trunc());
        }
        let lifecycle = &file.lifecycle;
        let raw = &file.thresholds;
        let t = ThresholdsSpans {
            cert_warning_days: or_default(&raw.cert_warning_days, 30),
            cert_critical_days: or_default(&raw.cert_critical_days, 7),
            page_deadline_secs: or_default(&raw.page_deadline_secs, 15),
            unreachable_failed_percent: or_default(&raw.unreachable_failed_percent, 5),
            unreachable_window_days: or_default(&raw.unreachable_window_days, 7),
            account_stale_days: or_default(&raw.account_stale_days, 14),
            ipv6_sample: or_default(&raw.ipv6_sample, 10),
            ipv6_partial_percent: or_default(&raw.ipv6_partial_percent, 90),
            max_observation_age_mins: or_default(&raw.max_observation_age_mins, 180),
            max_exception_days: or_default(&raw.max_exception_days, 365),
        };
        let t = &t;
        let confirmations = or_default(&file.confirmation.confirmations, 2);
        let delay_secs = or_default(&file.confirmation.delay_secs, 20);
        let days: [(&str, &toml::Spanned<u32>, u32); 7] = [
            ("[lifecycle] notice_days", &lifecycle.notice_days, 3650),
            (
                "[lifecycle] release_grace_days",
                &lifecycle.release_grace_days,
                3650,
            ),
            ("[thresholds] cert_warning_days", &t.cert_warning_days, 3650),
            (
                "[thresholds] cert_critical_days",
                &t.cert_critical_days,
                3650,
            ),
            (
                "[thresholds] unreachable_window_days",
                &t.unreachable_window_days,
                3650,
            ),
            (
                "[thresholds] account_stale_days",
                &t.account_stale_days,
                3650,
            ),
            ("[confirmation] confirmations", &confirmations, 10),
        ];
        for (name, value, most) in days {
            if *value.get_ref() > most {
                return Err(at_line(
                    value.span(),
                    format!("{name} = {} is more than {most}", value.get_ref()),
                ));
            }
        }
        for (name, value) in [
            (
                "[thresholds] unreachable_failed_percent",
                &t.unreachable_failed_percent,
            ),
            ("[thresholds] ipv6_partial_percent", &t.ipv6_partial_percent),
        ] {
            if *value.get_ref() > 100 {
                return Err(at_line(
                    value.span(),
                    format!("{name} = {} is not a percentage", value.get_ref()),
                ));
            }
        }
        if t.cert_critical_days.get_ref() > t.cert_warning_days.get_ref() {
            return Err(at_line(
                t.cert_critical_days.span(),
                "[thresholds] cert_critical_days must not exceed cert_warning_days".into(),
            ));
        }
        if !(1..=300).contains(t.page_deadline_secs.get_ref()) {
            return Err(at_line(
                t.page_deadline_secs.span(),
                "[thresholds] page_deadline_secs must be between 1 and 300".into(),
            ));
        }
        if *t.ipv6_sample.get_ref() > 100 {
            return Err(at_line(
                t.ipv6_sample.span(),
                "[thresholds] ipv6_sample must be at most 100 pages a level".into(),
            ));
        }
        if !(1..=7 * 24 * 60).contains(t.max_observation_age_mins.get_ref()) {
            return Err(at_line(
                t.max_observation_age_mins.span(),
                format!(
                    "[thresholds] max_observation_age_mins = {} must be between 1 and 10080 (a week)",
                    t.max_observation_age_mins.get_ref()
                ),
            ));
        }
        if !(1..=3650).contains(t.max_exception_days.get_ref()) {
            return Err(at_line(
                t.max_exception_days.span(),
                format!(
                    "[thresholds] max_exception_days = {} must be between 1 and 3650",
                    t.max_exception_days.get_ref()
                ),
            ));
        }
        let observation_days = or_default(&file.retention.observation_days, 400);
        if !(92..=3650).contains(observation_days.get_ref()) {
            return Err(at_line(
                observation_days.span(),
                format!(
                    "[retention] observation_days = {} must be between 92 (a quarter's reports must stay reproducible) and 3650",
                    observation_days.get_ref()
                ),
            ));
        }
        if *confirmations.get_ref() == 0 {
            return Err(at_line(
                confirmations.span(),
                "[confirmation] confirmations must be at least 1".into(),
            ));
        }
        if *delay_secs.get_ref() > 3600 {
            return Err(at_line(
                delay_secs.span(),
                "[confirmation] delay_secs must be at most 3600".into(),
            ));
        }
        let mut severity: BTreeMap<FindingKind, Severity> = FindingKind::ALL
            .iter()
            .map(|kind| (*kind, kind.default_severity()))
            .collect();
        for (kind, value) in &file.severity {
            let kind: FindingKind = kind.parse().map_err(|_| {
                at_line(
                    value.span(),
                    format!(
                        "[severity] `{kind}` is not a finding kind; kinds: {}",
                        FindingKind::names()
                    ),
                )
            })?;
            let level: Severity = value.get_ref().parse().map_err(|_| {
                at_line(
                    value.span(),
                    format!(
                        "[severity] {kind} = `{}`: must be one of {}",
                        value.get_ref(),
                        Severity::names()
                    ),
                )
            })?;
            severity.insert(kind, level);
        }
        let mut schedules = BTreeMap::new();
        for (job, expression) in &file.schedules {
            if !JOBS.contains(&job.as_str()) {
                return Err(at_line(
                    expression.span(),
                    format!(
                        "[schedules] `{job}` is not a job; jobs: {}",
                        JOBS.join(", ")
                    ),
                ));
            }
            let schedule = parse_cron(expression.get_ref()).map_err(|e| {
                at_line(
                    expression.span(),
                    format!("[schedules] {job} = `{}`: {e}", expression.get_ref()),
                )
            })?;
            schedules.insert(
                job.clone(),
                JobSchedule {
                    expression: expression.get_ref().clone(),
                    schedule,
                },
            );
        }
        let mut axfr = Vec::new();
        for entry in &file.discovery.axfr {
            let at =
                |message: String| at_line(entry.span(), format!("[discovery] axfr: {message}"));
            let zone: Hostname = entry
                .get_ref()
                .zone
                .parse()
                .map_err(|e| at(format!("{e}")))?;
            let primary = match entry.get_ref().primary.trim() {
                "" => None,
                raw => Some(
                    raw.parse::<SocketAddr>()
                        .map_err(|_| at(format!("primary `{raw}` is not ip:port")))?,
                ),
            };
            axfr.push(AxfrSource { zone, primary });
        }
        // Words as written, blanks dropped.
        let words = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|word| word.trim().to_string())
                .filter(|word| !word.is_empty())
                .collect()
        };
        let prohibited_terms = words(&file.content.prohibited_terms);
        let notice_words = words(&file.content.notice_words);
        let divisions = DivisionTable::from_csv(sources.divisions.1)
            .map_err(|e| invalid(sources.divisions.0, e))?;
        if divisions.is_empty() {
            return Err(invalid(
                sources.divisions.0,
                "the division table is empty".into(),
            ));
        }
        let takeover = Takeover::parse(sources.takeover.0, sources.takeover.1)?;
        let mut alerts = Alerts::parse(sources.alerts.0, sources.alerts.1)?;
        let report = report::ReportPolicy::parse(sources.report.0, sources.report.1)?;
        if !sources.holidays.is_empty() {
            let mut calendar = holidays::Calendar::built_in();
            for (path, text) in &sources.holidays {
                calendar.add(text).map_err(|message| PolicyError::Invalid {
                    path: path.clone(),
                    message,
                })?;
            }
            alerts.deadlines.calendar = Arc::new(calendar);
        }
        let suffixes: publicsuffix::List = sources
            .psl
            .1
            .parse()
            .map_err(|e| invalid(sources.psl.0, format!("not a Public Suffix List: {e}")))?;
        Ok(Policy {
            source,
            lifecycle: LifecycleWindows {
                notice_days: *lifecycle.notice_days.get_ref(),
                release_grace_days: *lifecycle.release_grace_days.get_ref(),
            },
            allowed_suffixes,
            managed_zones,
            own_networks,
            thresholds: Thresholds {
                cert_warning_days: *t.cert_warning_days.get_ref(),
                cert_critical_days: *t.cert_critical_days.get_ref(),
                page_deadline_secs: *t.page_deadline_secs.get_ref(),
                unreachable_failed_percent: *t.unreachable_failed_percent.get_ref(),
                unreachable_window_days: *t.unreachable_window_days.get_ref(),
                account_stale_days: *t.account_stale_days.get_ref(),
                ipv6_sample: *t.ipv6_sample.get_ref(),
                ipv6_partial_percent: *t.ipv6_partial_percent.get_ref(),
                max_observation_age_mins: *t.max_observation_age_mins.get_ref(),
                max_exception_days: *t.max_exception_days.get_ref(),
            },
            confirmation: Confirmation {
                confirmations: *confirmations.get_ref(),
                delay_secs: *delay_secs.get_ref(),
            },
            retention: Retention {
                observation_days: *observation_days.get_ref(),
            },
            prohibited_terms,
            notice_words,
            canaries,
            severity,
            schedules,
            axfr,
            takeover,
            alerts,
            report,
            divisions,
            suffixes: Arc::new(suffixes),
        })
    }

    /// The severity policy gives a kind.
    pub fn severity_of(&self, kind: FindingKind) -> Severity {
        self.severity
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_severity())
    }

    /// Whether a host name is under one of the region's managed zones.
    pub fn is_managed(&self, host: &str) -> bool {
        self.managed_zones
            .iter()
            .any(|zone| crate::registry::name_within(host, zone.as_str()))
    }

    /// Whether an address is in the region's own ranges.
    pub fn is_own_address(&self, address: IpAddr) -> bool {
        self.own_networks.iter().any(|net| net.contains(&address))
    }

    /// The registrable domain of a name (Public Suffix List): `gov.cn` is a
    /// public suffix, so `www.gansu.gov.cn` gives `gansu.gov.cn`.
    pub fn registrable_domain(&self, name: &str) -> Option<String> {
        use publicsuffix::Psl;
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.suffixes
            .domain(name.as_bytes())
            .and_then(|d| std::str::from_utf8(d.as_bytes()).ok().map(str::to_string))
    }
}

/// A standard 5-field crontab expression (see [`cron::CronSchedule`]).
pub fn parse_cron(expression: &str) -> Result<CronSchedule, String> {
    expression.parse()
}

/// The 1-based line of a byte offset, for error messages.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
