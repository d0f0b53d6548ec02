//! The rules, one function per concern, each reading the registry, this
//! round's observations and the policy. Pure: the same inputs give the
//! same findings.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::text::{action, platform, site_status};
use super::view::HostView;
use super::{Evaluation, Evidence, Finding, FindingKind, MeasurementFailure, Severity};
use crate::clock::show_date;
use crate::policy::Policy;
use crate::policy::takeover::Likelihood;
use crate::probe::delegation::ServerStatus;
use crate::probe::dns::{DnsOutcome, HostDns};
use crate::probe::feed::{FeedPoll, FeedResult};
use crate::probe::http::PageOutcome;
use crate::probe::page::Page;
use crate::probe::tls::{HandshakeFailure, TlsVerdict};
use crate::registry::{
    Account, AccountStatus, Domain, DomainState, Hostname, OrgLevel, Organization, Site, SiteKind,
    SiteStatus,
};

/// What the rules read.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub now: DateTime<Utc>,
    pub sites: &'a [Site],
    pub orgs: &'a [Organization],
    pub accounts: &'a [Account],
    /// This round's observations, per host name.
    pub hosts: &'a BTreeMap<Hostname, HostView>,
    /// This round's feed polls, per URL.
    pub feeds: &'a BTreeMap<String, FeedPoll>,
    /// Whether this machine reaches IPv6, when an earlier round of the same
    /// check already told (a small confirmation round cannot).
    pub ipv6_works: Option<bool>,
    /// Only some host names were observed (a confirmation round): findings
    /// that depend on other hosts (links) are not judged.
    pub partial: bool,
}

/// Fewer visits than this over the window say nothing about a failure
/// rate (the inspection makes at least 20 a day).
const MIN_VISITS: u64 = 20;

/// The inspection's availability veto: at least `threshold_percent` of
/// `visits` failed, over enough visits to say so. The rules judge the
/// window ending now with it; the circular every window of a quarter.
pub fn fails_availability(visits: u64, failed: u64, threshold_percent: u32) -> bool {
    visits >= MIN_VISITS && failed * 100 >= u64::from(threshold_percent) * visits
}

/// The kinds read from a homepage's content.
const PAGE_KINDS: [FindingKind; 4] = [
    FindingKind::SuspectedTampering,
    FindingKind::ProhibitedTermMentioned,
    FindingKind::SiteCodeMissingOnPage,
    FindingKind::SiteCodeMismatch,
];

/// The kinds read from a site's IPv6 and its pages' links: not judged
/// while its homepage does not load.
const BEYOND_HOMEPAGE_KINDS: [FindingKind; 4] = [
    FindingKind::Ipv6Missing,
    FindingKind::Ipv6Unreachable,
    FindingKind::Ipv6Partial,
    FindingKind::LinkToRetiredDomain,
];

/// The kinds read from a certificate.
const CERT_KINDS: [FindingKind; 8] = [
    FindingKind::CertExpired,
    FindingKind::CertExpiring,
    FindingKind::CertNotYetValid,
    FindingKind::CertHostnameMismatch,
    FindingKind::CertUntrusted,
    FindingKind::CertWeak,
    FindingKind::CertSm2,
    FindingKind::HttpsMissing,
];

/// The scope of findings about the registry itself, as stored.
pub const REGISTRY: &str = "registry";

/// The names a site's homepage should mention: its registered name and its
/// organizer's, with the suffixes pages often drop ("门户网站", "办公厅").
pub fn expected_names(site: &Site) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |name: &str| {
        let name = name.trim();
        if name.chars().count() >= 4 && !names.iter().any(|n: &String| n == name) {
            names.push(name.to_string());
        }
    };
    push(&site.name);
    for suffix in ["门户网站", "官方网站", "政务网", "网站", "官网"] {
        if let Some(short) = site.name.strip_suffix(suffix) {
            push(short);
        }
    }
    push(&site.org);
    for suffix in ["办公厅", "办公室"] {
        if let Some(short) = site.org.strip_suffix(suffix) {
            push(short);
        }
    }
    names
}

/// Runs every rule.
pub fn evaluate(inputs: &Inputs<'_>, policy: &Policy) -> Evaluation {
    let registry = Registry {
        sites: inputs.sites,
        orgs: inputs.orgs,
        accounts: inputs.accounts,
    };
    let ipv6_works = inputs
        .ipv6_works
        .unwrap_or_else(|| Ipv6Tally::of(inputs.hosts).works());
    let mut judge = Judge::new(registry, policy, inputs.now, ipv6_works, inputs.partial);
    judge.hosts(inputs.hosts);
    judge.finish(inputs.feeds)
}

/// The registry the rules read.
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    pub sites: &'a [Site],
    pub orgs: &'a [Organization],
    pub accounts: &'a [Account],
}

/// Whether this machine reached anything over IPv6, tallied over the host
/// names of a round (or of several slices of one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv6Tally {
    /// Host names whose pages were tried over IPv6.
    pub tried: usize,
    /// Whether any page loaded over IPv6.
    pub answered: bool,
    /// Whether this machine found no route to some IPv6 address.
    pub local: bool,
}

impl Ipv6Tally {
    pub fn of(hosts: &BTreeMap<Hostname, HostView>) -> Ipv6Tally {
        let mut reach = Ipv6Tally::default();
        reach.add(hosts);
        reach
    }

    pub fn add(&mut self, hosts: &BTreeMap<Hostname, HostView>) {
        for view in hosts.values() {
            let mut v6 = view.pages.iter().filter(|(a, _)| a.is_ipv6()).peekable();
            if v6.peek().is_some() {
                self.tried += 1;
            }
            self.answered |= v6.any(|(_, outcome)| loads(outcome));
            self.local |= view.local.keys().any(IpAddr::is_ipv6);
        }
    }

    /// A machine without IPv6 would call every site's IPv6 unreachable:
    /// when it found no route to an IPv6 address, or not one IPv6 address
    /// answered, IPv6 is not judged at all this round.
    pub fn works(&self) -> bool {
        !self.local && (self.answered || self.tried < 3)
    }
}

/// The rules over a round fed in slices of host names, so that a
/// province's 100,000 names need not be in memory at once. What the rules
/// of one slice need from the others is carried here, compactly: the
/// zones already judged, the names found dangling or not measured, and
/// the links of live sites' homepages to names that may turn out retired
/// (judged in [`Judge::finish`], once every name has been seen).
///
/// IPv6 is judged under `ipv6_works` as given: a caller that cannot know
/// it beforehand tallies [`Judge::ipv6`] and judges again when it was
/// wrong.
#[derive(Debug)]
pub struct Judge<'a> {
    rules: Rules<'a>,
}

impl<'a> Judge<'a> {
    /// Starts a round; judges the registry itself.
    pub fn new(
        registry: Registry<'a>,
        policy: &'a Policy,
        now: DateTime<Utc>,
        ipv6_works: bool,
        partial: bool,
    ) -> Judge<'a> {
        let mut rules = Rules::new(registry, policy, now, ipv6_works, partial);
        rules.registry();
        Judge { rules }
    }

    /// Judges a slice of host names (each name in one slice only).
    pub fn hosts(&mut self, hosts: &BTreeMap<Hostname, HostView>) {
        self.rules.ipv6.add(hosts);
        self.rules.hosts(hosts);
        self.rules.zones(hosts);
        self.rules.keep_links(hosts);
    }

    /// What the slices so far showed of this machine's IPv6.
    pub fn ipv6(&self) -> Ipv6Tally {
        self.rules.ipv6
    }

    /// Judges the links and the accounts (from `feeds`, the latest poll
    /// of each feed); the round's evaluation.
    pub fn finish(mut self, feeds: &BTreeMap<String, FeedPoll>) -> Evaluation {
        self.rules.links();
        self.rules.serving();
        self.rules.accounts(feeds);
        self.rules.evaluation.ipv6_works = self.rules.ipv6_works;
        self.rules.evaluation
    }
}

#[derive(Debug)]
struct Rules<'a> {
    policy: &'a Policy,
    now: DateTime<Utc>,
    sites: &'a [Site],
    accounts: &'a [Account],
    /// Only some host names were observed (a confirmation round).
    partial: bool,
    /// Every site that holds or held a host name.
    holders: HashMap<&'a str, Vec<(&'a Site, &'a Domain)>>,
    org_ids: HashMap<&'a str, &'a Organization>,
    /// Zones judged by an earlier slice.
    zones_seen: BTreeSet<String>,
    /// Wildcards reported by an earlier slice (`*.parent`).
    wildcards_seen: BTreeSet<String>,
    /// Host names found dangling (links to them are findings).
    dangling: BTreeSet<String>,
    /// Host names observed but not measured (links to them stay unjudged).
    unmeasured: BTreeSet<String>,
    /// Live sites' homepages' links to names that may be retired.
    links: Vec<PageLinks<'a>>,
    /// What live registered sites' homepages show, by address: the
    /// consolidated platform's (集约化平台) default virtual host answers
    /// any Host header with one of them.
    platform: HashMap<IpAddr, HashSet<Fingerprint>>,
    /// Unregistered names that serve a page, judged once every
    /// registered site's homepage has been seen (see [`Rules::platform`]).
    serving: Vec<(IpAddr, Fingerprint, Finding)>,
    /// Whether IPv6 is judged.
    ipv6_works: bool,
    ipv6: Ipv6Tally,
    evaluation: Evaluation,
}

/// What tells one homepage from another on a shared platform: its title
/// and the identifier code it shows, hashed: every live site's homepage
/// is kept until the round ends, and a province has 100,000 of them.
/// Only fingerprints of one round are compared, within one process; 64
/// bits make a collision between two of them practically impossible.
type Fingerprint = u64;

/// A homepage's [`Fingerprint`]; `None` when it shows neither a title nor
/// a code (nothing to tell it by).
fn fingerprint(page: &Page) -> Option<Fingerprint> {
    use std::hash::{Hash, Hasher};
    let title = page.title.as_deref();
    let code = page
        .footer_codes
        .first()
        .or(page.meta_site_code.as_ref())
        .map(String::as_str);
    if title.is_none() && code.is_none() {
        return None;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (title, code).hash(&mut hasher);
    Some(hasher.finish())
}

/// A live site's homepage's links, kept for [`Rules::links`].
#[derive(Debug)]
struct PageLinks<'a> {
    host: Hostname,
    site: &'a Site,
    address: IpAddr,
    at: DateTime<Utc>,
    /// The linked host names, each with its links (up to
    /// `LINKS_KEPT_PER_HOST`), in the page's order.
    linked: Vec<(String, Vec<String>)>,
}

/// A site as a summary names it: its name and id.
fn site_label(site: &Site) -> String {
    format!("{}（{}）", site.name, site.id)
}

fn addresses(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A page that loaded as the host's own page: 2xx, not sent elsewhere.
/// `values`, each once, in order, joined by `separator`.
fn each_once(values: impl IntoIterator<Item = String>, separator: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept.join(separator)
}

/// The terms of some quotes, each once, in order.
fn terms_of(quotes: &[crate::probe::page::Quote]) -> String {
    each_once(quotes.iter().map(|q| q.term.clone()), "、")
}

/// Quotes as a person reads them: 「the sentence」, each once.
fn quoted(quotes: &[crate::probe::page::Quote]) -> String {
    each_once(quotes.iter().map(|q| format!("「{}」", q.text)), "；")
}

fn own_page(outcome: &PageOutcome) -> Option<&Page> {
    match outcome {
        PageOutcome::Loaded {
            status,
            redirected_to: None,
            page,
            ..
        } if (200..300).contains(status) => Some(page),
        _ => None,
    }
}

/// Whether a page outcome counts as "loads" (the inspection's sense): any
/// answer short of a server error, within the deadline.
fn loads(outcome: &PageOutcome) -> bool {
    matches!(outcome, PageOutcome::Loaded { status, .. } if *status < 500)
}

/// Whether a page outcome shows the host serving pages (for unapproved
/// sites): a success or a redirect.
fn serves(outcome: &PageOutcome) -> bool {
    matches!(outcome, PageOutcome::Loaded { status, .. } if *status < 400)
}

fn page_detail(outcome: &PageOutcome) -> String {
    match outcome {
        PageOutcome::Loaded {
            status,
            final_url,
            page,
            ..
        } => format!(
            "HTTP {status} {final_url} {}",
            page.title.as_deref().unwrap_or("(no title)")
        ),
        PageOutcome::Unreachable { https, http } => format!("https: {https}; http: {http}"),
        PageOutcome::Timeout { after_ms } => format!("no page within {after_ms} ms"),
        PageOutcome::Failed { reason } => reason.clone(),
        PageOutcome::Local { reason } => format!("not measured: {reason}"),
    }
}

fn dns_detail(dns: &HostDns) -> String {
    let mut parts: Vec<String> = dns
        .cname_chain
        .iter()
        .map(|hop| format!("CNAME {} -> {}", hop.name, hop.target))
        .collect();
    for (kind, outcome) in [("A", &dns.a), ("AAAA", &dns.aaaa)] {
        parts.push(match outcome {
            DnsOutcome::Answer { .. } => format!("{kind} {}", addresses(&outcome.addresses())),
            DnsOutcome::NxDomain { name } => format!("{kind} NXDOMAIN ({name})"),
            other => format!("{kind} {}", other.name()),
        });
    }
    parts.join("; ")
}

impl<'a> Rules<'a> {
    fn new(
        registry: Registry<'a>,
        policy: &'a Policy,
        now: DateTime<Utc>,
        ipv6_works: bool,
        partial: bool,
    ) -> Rules<'a> {
        let mut holders: HashMap<&str, Vec<(&Site, &Domain)>> =
            HashMap::with_capacity(registry.sites.len());
        for site in registry.sites {
            for domain in &site.domains {
                holders
                    .entry(domain.hostname.as_str())
                    .or_default()
                    .push((site, domain));
            }
        }
        // Most names have one holder: room for four each would be a
        // province's registry over again.
        for held in holders.values_mut() {
            held.shrink_to_fit();
        }
        Rules {
            policy,
            now,
            sites: registry.sites,
            accounts: registry.accounts,
            partial,
            holders,
            org_ids: registry.orgs.iter().map(|o| (o.name.as_str(), o)).collect(),
            zones_seen: BTreeSet::new(),
            wildcards_seen: BTreeSet::new(),
            dangling: BTreeSet::new(),
            unmeasured: BTreeSet::new(),
            links: Vec::new(),
            platform: HashMap::new(),
            serving: Vec::new(),
            ipv6_works,
            ipv6: Ipv6Tally::default(),
            evaluation: Evaluation::default(),
        }
    }

    // Each argument is a field of the finding the rule fills in; a builder
    // would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        kind: FindingKind,
        subject: String,
        scope: &str,
        site: Option<&Site>,
        summary: String,
        evidence: Vec<Evidence>,
        observed_at: DateTime<Utc>,
    ) -> Finding {
        Finding {
            kind,
            severity: self.policy.severity_of(kind),
            subject,
            scope: scope.to_string(),
            site_id: site.map(|s| s.id),
            org_id: site
                .and_then(|s| self.org_ids.get(s.org.as_str()))
                .map(|o| o.id),
            summary,
            action: action(kind).to_string(),
            evidence,
            observed_at,
        }
    }

    fn push(&mut self, finding: Finding) {
        self.evaluation.findings.push(finding);
    }

    /// Builds a finding (see [`Rules::finding`]) and adds it.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        kind: FindingKind,
        subject: String,
        scope: &str,
        site: Option<&Site>,
        summary: String,
        evidence: Vec<Evidence>,
        observed_at: DateTime<Utc>,
    ) {
        let finding = self.finding(kind, subject, scope, site, summary, evidence, observed_at);
        self.push(finding);
    }

    /// The share of visits that failed over the window, in words, when it
    /// reaches the policy's threshold over enough visits to say so.
    fn failure_rate(&self, view: &HostView) -> Option<String> {
        let (visits, failed) = view.availability?;
        let threshold = self.policy.thresholds.unreachable_failed_percent;
        if !fails_availability(visits, failed, threshold) {
            return None;
        }
        Some(format!(
            "过去 {} 天 {visits} 次访问中 {failed} 次未能打开（{:.1}%，标准为低于 {threshold}%）",
            self.policy.thresholds.unreachable_window_days,
            failed as f64 * 100.0 / visits as f64
        ))
    }

    /// Kinds this round could not judge for a host: what is stored about
    /// them stays as it is.
    fn unjudged(&mut self, host: &Hostname, kinds: &[FindingKind]) {
        for kind in kinds {
            self.evaluation.unjudged.insert((*kind, host.to_string()));
        }
    }

    fn failed(&mut self, scope: &str, reason: String) {
        self.evaluation.failures.push(MeasurementFailure {
            scope: scope.to_string(),
            reason,
        });
    }

    // --- the registry itself -------------------------------------------

    fn registry(&mut self) {
        let now = self.now;
        self.evaluation.measured.insert(REGISTRY.to_string());
        let sites = self.sites;
        let mut live_by_host: BTreeMap<&str, Vec<&Site>> = BTreeMap::new();
        let mut portals: BTreeMap<&str, Vec<&Site>> = BTreeMap::new();
        for site in sites {
            if matches!(site.status, SiteStatus::Closed | SiteStatus::Rejected) {
                continue;
            }
            for domain in site
                .domains
                .iter()
                .filter(|d| d.state != DomainState::Released)
            {
                if !self.policy.allowed_suffixes.allows(&domain.hostname) {
                    let summary = format!(
                        "{} 不在允许的域名后缀（{}）之内，且没有有效的例外说明",
                        domain.hostname.to_unicode(),
                        self.policy.allowed_suffixes.describe()
                    );
                    let evidence = vec![Evidence::new(
                        domain.hostname.as_str(),
                        "registry",
                        "not_allowed",
                        format!("site {} ({})", site.id, site.name),
                    )];
                    self.raise(
                        FindingKind::DomainNotAllowed,
                        domain.hostname.to_string(),
                        REGISTRY,
                        Some(site),
                        summary,
                        evidence,
                        now,
                    );
                }
            }
            if site.status != SiteStatus::Live {
                continue;
            }
            let subject = site
                .primary()
                .map(|d| d.hostname.to_string())
                .unwrap_or_else(|| format!("site:{}", site.id));
            if site.code.is_none() {
                let summary = format!("网站「{}」（{subject}）已上线但没有网站标识码", site.name);
                let evidence = vec![Evidence::new(
                    &subject,
                    "registry",
                    "no_code",
                    format!(
                        "site {} is live since {}",
                        site.id,
                        crate::clock::show_opt(site.times.live_at)
                    ),
                )];
                self.raise(
                    FindingKind::LiveWithoutCode,
                    subject.clone(),
                    REGISTRY,
                    Some(site),
                    summary,
                    evidence,
                    now,
                );
            }
            for domain in site
                .domains
                .iter()
                .filter(|d| d.state != DomainState::Released)
            {
                live_by_host
                    .entry(domain.hostname.as_str())
                    .or_default()
                    .push(site);
            }
            if site.kind == SiteKind::Portal {
                portals.entry(site.org.as_str()).or_default().push(site);
            }
            if let Some(org) = self.org_ids.get(site.org.as_str()).copied() {
                let runs_none = match org.level {
                    OrgLevel::Township => Some("乡镇（街道）原则上不开设网站"),
                    OrgLevel::County if org.parent.is_some() => {
                        Some("县级政府部门原则上不单独开设网站")
                    }
                    _ => None,
                };
                if let Some(rule) = runs_none {
                    let summary =
                        format!("{}运行网站「{}」（{subject}）：{rule}", org.name, site.name);
                    let evidence = vec![Evidence::new(
                        &org.name,
                        "registry",
                        "runs_site",
                        format!("level {}, site {} {}", org.level, site.id, site.name),
                    )];
                    self.raise(
                        FindingKind::RegistryConflict,
                        format!("{subject} (org)"),
                        REGISTRY,
                        Some(site),
                        summary,
                        evidence,
                        now,
                    );
                }
            }
        }
        for (host, claimants) in live_by_host.into_iter().filter(|(_, s)| s.len() > 1) {
            let names: Vec<String> = claimants.iter().map(|s| site_label(s)).collect();
            let summary = format!("{host} 同时登记在多个运行中的网站：{}", names.join("、"));
            let evidence = vec![Evidence::new(
                host,
                "registry",
                "claimed_twice",
                names.join(", "),
            )];
            self.raise(
                FindingKind::RegistryConflict,
                host.to_string(),
                REGISTRY,
                claimants.first().copied(),
                summary,
                evidence,
                now,
            );
        }
        for (org, sites) in portals.into_iter().filter(|(_, s)| s.len() > 1) {
            let names: Vec<String> = sites.iter().map(|s| site_label(s)).collect();
            let summary = format!(
                "{org} 运行多个门户网站：{}；一个单位只应有一个门户",
                names.join("、")
            );
            let evidence = vec![Evidence::new(
                org,
                "registry",
                "two_portals",
                names.join(", "),
            )];
            self.raise(
                FindingKind::RegistryConflict,
                format!("{org} (portals)"),
                REGISTRY,
                sites.first().copied(),
                summary,
                evidence,
                now,
            );
        }
    }

    // --- host names -----------------------------------------------------

    fn hosts(&mut self, hosts: &BTreeMap<Hostname, HostView>) {
        for (host, view) in hosts {
            let scope = host.as_str();
            if let Some(reason) = &view.failed {
                self.failed(scope, reason.clone());
                continue;
            }
            let Some(dns) = &view.dns else {
                continue;
            };
            if !dns.is_conclusive() {
                self.failed(
                    scope,
                    format!(
                        "DNS could not be measured: A {}, AAAA {}",
                        dns.a.name(),
                        dns.aaaa.name()
                    ),
                );
                continue;
            }
            // Every address's page was out of this machine's reach: the
            // pages say nothing, and neither does their absence.
            if view.pages.is_empty() && !view.local.is_empty() {
                self.failed(
                    scope,
                    format!(
                        "this machine could not try any address: {}",
                        view.local.values().cloned().collect::<Vec<_>>().join("; ")
                    ),
                );
                continue;
            }
            self.evaluation.measured.insert(scope.to_string());
            if !self.ipv6_works {
                for kind in [FindingKind::Ipv6Unreachable, FindingKind::Ipv6Partial] {
                    self.evaluation.unjudged.insert((kind, scope.to_string()));
                }
            }
            let at = view.at.unwrap_or(self.now);
            // A name that exists only through its zone's wildcard is not a
            // name anyone set up: what the wildcard points at is judged
            // once, on the zone's own names.
            if Self::wildcard_only(view, dns) {
                self.unjudged(
                    host,
                    &[FindingKind::DanglingCname, FindingKind::StaleAddress],
                );
            } else {
                self.dangling_cname(host, view, dns, at);
                self.stale_addresses(host, view, dns, at);
            }
            let holders = self.holders.get(host.as_str()).cloned().unwrap_or_default();
            let holder = holders
                .iter()
                .find(|(_, d)| d.state != DomainState::Released)
                .copied();
            if holder.is_some_and(|(site, _)| site.status == SiteStatus::Live) {
                for (address, outcome) in &view.pages {
                    if let Some(print) = own_page(outcome).and_then(fingerprint) {
                        self.platform.entry(*address).or_default().insert(print);
                    }
                }
            }
            match holder {
                Some((site, domain)) => match site.status {
                    SiteStatus::Live => self.live(host, view, dns, site, domain, at),
                    SiteStatus::Offline | SiteStatus::Closed => {
                        self.retired(host, view, dns, site, domain, at)
                    }
                    SiteStatus::Requested | SiteStatus::Rejected => {
                        self.unapproved(host, view, dns, Some(site), at)
                    }
                    _ => {}
                },
                // A rejected request's names were released without ever
                // going live: serving pages on them is unapproved, not
                // orphaned.
                None => match holders.last() {
                    Some((site, _))
                        if matches!(site.status, SiteStatus::Requested | SiteStatus::Rejected) =>
                    {
                        self.unapproved(host, view, dns, Some(site), at)
                    }
                    Some((site, domain)) => self.retired(host, view, dns, site, domain, at),
                    None => self.unapproved(host, view, dns, None, at),
                },
            }
        }
    }

    /// Whether the host resolves only because a wildcard answers every
    /// name next to it: its answer is what a name that does not exist
    /// there gets (the nearest wildcard, at its parent or up to the apex).
    fn wildcard_only(view: &HostView, dns: &HostDns) -> bool {
        let Some(delegation) = view.delegation() else {
            return false;
        };
        let (wildcard, wild) = delegation.nearest_wildcard();
        if wildcard != Some(true) {
            return false;
        }
        let mine: BTreeSet<IpAddr> = dns.addresses().into_iter().collect();
        let wild: BTreeSet<IpAddr> = wild.iter().copied().collect();
        !mine.is_empty() && mine.is_subset(&wild)
    }

    fn dangling_cname(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        at: DateTime<Utc>,
    ) {
        if dns.cname_chain.is_empty() {
            return;
        }
        let target = dns.canonical_name().to_string();
        let site = self.site_of(host);
        let nxdomain = matches!(&dns.a, DnsOutcome::NxDomain { name } if *name == target)
            || matches!(&dns.aaaa, DnsOutcome::NxDomain { name } if *name == target);
        let registrable = self.policy.registrable_domain(&target);
        let outside = !self.policy.is_managed(&target);
        let services: Vec<_> = self.policy.takeover.for_target(&target).collect();
        let mut evidence = vec![Evidence::new(
            host.as_str(),
            "dns",
            "cname",
            dns_detail(dns),
        )];
        let (likelihood, summary) = if nxdomain {
            let unregistered = dns.registrable.as_ref().is_some_and(|r| r.unregistered);
            // The service's verdict decides first: a service that others
            // cannot claim leaves a broken record to clean up, however
            // the registrable domain looks.
            let likelihood = match services.first() {
                Some(service) if service.nxdomain => service.claimed_likelihood(),
                Some(_) => Likelihood::Low,
                None if unregistered && outside => Likelihood::High,
                None if outside => Likelihood::Medium,
                None => Likelihood::Low,
            };
            let mut summary = format!(
                "{} 的 CNAME 指向 {target}，该域名不存在（NXDOMAIN）",
                host.to_unicode()
            );
            if let Some(service) = services.first() {
                summary.push_str(&format!("，指向服务 {}", service.name));
            }
            if let Some(registrable) = &registrable {
                // A `.cn` name on serverHold is NXDOMAIN without being
                // free: "may be", never "is".
                if unregistered && services.is_empty() {
                    summary.push_str(&format!(
                        "，其注册域名 {registrable} 查询不存在（可能尚未注册，也可能被注册局暂停解析）"
                    ));
                }
                evidence.push(Evidence::new(
                    &target,
                    "dns",
                    if unregistered {
                        "unregistered"
                    } else {
                        "registered_or_unknown"
                    },
                    format!(
                        "registrable domain {registrable} ({})",
                        if outside {
                            "outside the region"
                        } else {
                            "inside the region"
                        }
                    ),
                ));
            }
            summary.push_str(if !outside {
                "，该名称在本地区管理的区域内，该记录已失效，应予清理"
            } else if likelihood > Likelihood::Low {
                "，可能被他人注册或认领后接管"
            } else if !services.is_empty() {
                "，该服务绑定域名需验证所有权，他人难以接管；该记录已失效，应予清理"
            } else {
                "，被接管的可能性较低；该记录已失效，应予清理"
            });
            (likelihood, summary)
        } else {
            let matched = view
                .pages
                .iter()
                .find_map(|(address, outcome)| match outcome {
                    PageOutcome::Loaded { takeover, .. } if !takeover.is_empty() => {
                        Some((address, outcome, takeover.clone()))
                    }
                    _ => None,
                });
            let Some((address, outcome, names)) = matched else {
                // A page that did not answer shows nothing either way.
                if view
                    .pages
                    .values()
                    .any(|o| matches!(o, PageOutcome::Timeout { .. }))
                {
                    self.unjudged(host, &[FindingKind::DanglingCname]);
                }
                return;
            };
            let Some(service) = names.iter().find_map(|n| self.policy.takeover.get(n)) else {
                return;
            };
            // A service the people who tried found not vulnerable answers
            // "nothing here" without anyone being able to claim the name.
            if service.verdict == crate::policy::takeover::Verdict::NotVulnerable {
                return;
            }
            evidence.push(
                Evidence::new(
                    host.as_str(),
                    "page",
                    "takeover_fingerprint",
                    format!("{}: {}", service.name, page_detail(outcome)),
                )
                .at(address),
            );
            let likelihood = service.claimed_likelihood();
            let summary = format!(
                "{} 的 CNAME 指向 {target}（{}），该资源未被认领{}",
                host.to_unicode(),
                service.name,
                if likelihood == Likelihood::Low {
                    "；该服务绑定域名需验证所有权，被接管的可能性较低"
                } else {
                    "，可被他人认领接管"
                }
            );
            (likelihood, summary)
        };
        let summary = format!("{summary}（接管可能性：{}）", likelihood.zh());
        evidence.push(Evidence::new(
            &target,
            "policy",
            likelihood.as_str(),
            "takeover likelihood".into(),
        ));
        let mut finding = self.finding(
            FindingKind::DanglingCname,
            host.to_string(),
            host.as_str(),
            site,
            summary,
            evidence,
            at,
        );
        // A low likelihood is worth fixing, not worth waking anyone.
        if likelihood == Likelihood::Low && finding.severity == Severity::Critical {
            finding.severity = Severity::Warning;
        }
        self.dangling.insert(host.to_string());
        self.push(finding);
    }

    fn stale_addresses(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        at: DateTime<Utc>,
    ) {
        // Without the region's own ranges in policy, no address can be
        // called outside them.
        if self.policy.own_networks.is_empty() {
            self.unjudged(host, &[FindingKind::StaleAddress]);
            return;
        }
        let site = self.site_of(host);
        for address in dns.addresses() {
            if self.policy.is_own_address(address) {
                continue;
            }
            if address.is_ipv6() && !self.ipv6_works {
                continue;
            }
            let tls_silent = matches!(
                view.tls.get(&address).map(|t| &t.verdict),
                Some(TlsVerdict::HandshakeFailed {
                    reason: HandshakeFailure::NoTls | HandshakeFailure::Timeout,
                    ..
                })
            );
            let page = view.pages.get(&address);
            // A blackholed address times out; a refused one is unreachable.
            let page_silent = matches!(
                page,
                Some(PageOutcome::Unreachable { .. } | PageOutcome::Timeout { .. })
            );
            if !(tls_silent && page_silent) {
                continue;
            }
            let summary = format!(
                "{} 解析到本地区网段以外的地址 {address}，该地址的 HTTP、HTTPS 端口均无响应，可能已被他人使用",
                host.to_unicode()
            );
            let evidence = vec![
                Evidence::new(host.as_str(), "dns", "answer", dns_detail(dns)),
                Evidence::new(
                    host.as_str(),
                    "page",
                    "unreachable",
                    page.map(page_detail).unwrap_or_default(),
                )
                .at(address),
            ];
            self.raise(
                FindingKind::StaleAddress,
                format!("{host} {address}"),
                host.as_str(),
                site,
                summary,
                evidence,
                at,
            );
        }
    }

    /// The site that holds a host name now, if any.
    fn site_of(&self, host: &Hostname) -> Option<&'a Site> {
        let holders = self.holders.get(host.as_str())?;
        holders
            .iter()
            .find(|(_, d)| d.state != DomainState::Released)
            .or(holders.last())
            .map(|(s, _)| *s)
    }

    fn unapproved(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        site: Option<&Site>,
        at: DateTime<Utc>,
    ) {
        let Some(zone) = self.policy.managed_zones.iter().find(|z| host.is_within(z)) else {
            return;
        };
        if Self::wildcard_only(view, dns) {
            return;
        }
        // Whether the zone answers every name must be known before a name
        // can be called a site someone set up.
        if view
            .delegation()
            .and_then(|d| d.nearest_wildcard().0)
            .is_none()
        {
            self.unjudged(host, &[FindingKind::UnapprovedSite]);
            return;
        }
        let Some((address, outcome)) = view.pages.iter().find(|(_, o)| serves(o)) else {
            if view
                .pages
                .values()
                .any(|o| matches!(o, PageOutcome::Timeout { .. }))
            {
                self.unjudged(host, &[FindingKind::UnapprovedSite]);
            }
            return;
        };
        let summary = match site {
            None => format!(
                "{} 属于管理区域 {zone}，正在提供网页，但不属于任何已登记的网站",
                host.to_unicode()
            ),
            Some(site) => format!(
                "{} 正在提供网页，但其网站「{}」仍处于「{}」状态，未经核准上线",
                host.to_unicode(),
                site.name,
                site_status(site.status)
            ),
        };
        let evidence = vec![
            Evidence::new(host.as_str(), "dns", "answer", dns_detail(dns)),
            Evidence::new(host.as_str(), "page", "loaded", page_detail(outcome)).at(address),
        ];
        let finding = self.finding(
            FindingKind::UnapprovedSite,
            host.to_string(),
            host.as_str(),
            site,
            summary,
            evidence,
            at,
        );
        // A name nobody registered that serves a registered site's own
        // homepage from that site's address may be the platform's
        // default virtual host: decided once every site has been seen.
        match (site, own_page(outcome).and_then(fingerprint)) {
            (None, Some(print)) => self.serving.push((*address, print, finding)),
            _ => self.push(finding),
        }
    }

    /// Raises the unregistered names that serve pages, except those that
    /// serve a live registered site's homepage (same title and code) from
    /// an address where that site was seen: the consolidated platform's
    /// default virtual host answers any name it is given, and such a name
    /// is no new site.
    fn serving(&mut self) {
        for (address, print, finding) in std::mem::take(&mut self.serving) {
            let platform = self
                .platform
                .get(&address)
                .is_some_and(|prints| prints.contains(&print));
            if !platform {
                self.push(finding);
            }
        }
    }

    fn retired(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        site: &Site,
        domain: &Domain,
        at: DateTime<Utc>,
    ) {
        let grace = Duration::days(i64::from(self.policy.lifecycle.release_grace_days));
        let deadline = domain
            .release_deadline
            .or(domain.released_at.map(|t| t + grace))
            .or(site.times.offline_at.map(|t| t + grace))
            .or(site.times.closed_at.map(|t| t + grace));
        let Some(deadline) = deadline else {
            return;
        };
        if self.now <= deadline {
            return;
        }
        let resolved = dns.addresses();
        if resolved.is_empty() || Self::wildcard_only(view, dns) {
            return;
        }
        let mut summary = format!(
            "{} 所属网站「{}」已{}，域名注销期限（{}）已过，仍解析到 {}",
            host.to_unicode(),
            site.name,
            match site.status {
                SiteStatus::Closed => "关停",
                SiteStatus::Offline => "下线",
                // An alias removed from a site that still runs.
                _ => "不再使用该域名",
            },
            show_date(deadline),
            addresses(&resolved)
        );
        let mut evidence = vec![
            Evidence::new(host.as_str(), "dns", "answer", dns_detail(dns)),
            Evidence::new(
                host.as_str(),
                "registry",
                site.status.as_str(),
                format!(
                    "site {} {}; domain {} since the deadline {}",
                    site.id,
                    site.name,
                    domain.state,
                    crate::clock::show(deadline)
                ),
            ),
        ];
        for (address, outcome) in &view.pages {
            evidence.push(
                Evidence::new(host.as_str(), "page", outcome.name(), page_detail(outcome))
                    .at(address),
            );
            if let Some(page) = own_page(outcome)
                && !page.prohibited_terms.is_empty()
            {
                summary.push_str(&format!(
                    "，页面出现违禁内容：{}",
                    page.prohibited_terms.join("、")
                ));
            }
        }
        self.raise(
            FindingKind::OfflineStillResolving,
            host.to_string(),
            host.as_str(),
            Some(site),
            summary,
            evidence,
            at,
        );
    }

    fn live(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        site: &Site,
        domain: &Domain,
        at: DateTime<Utc>,
    ) {
        let resolved = dns.addresses();
        let primary = site
            .primary()
            .is_some_and(|p| p.hostname == domain.hostname);
        let dangles = matches!(&dns.a, DnsOutcome::NxDomain { name } if name != host.as_str());
        if resolved.is_empty() {
            if primary && !dangles {
                let summary = format!(
                    "网站「{}」的主域名 {} 无法解析（A：{}，AAAA：{}）；如网站已停止运行，应在登记和信息报送系统中办理下线",
                    site.name,
                    host.to_unicode(),
                    super::text::dns_outcome(&dns.a),
                    super::text::dns_outcome(&dns.aaaa)
                );
                let evidence = vec![Evidence::new(
                    host.as_str(),
                    "dns",
                    dns.a.name(),
                    dns_detail(dns),
                )];
                self.raise(
                    FindingKind::NotResolving,
                    host.to_string(),
                    host.as_str(),
                    Some(site),
                    summary,
                    evidence,
                    at,
                );
            }
            return;
        }
        // Without IPv6 here, only the IPv4 pages say anything.
        let considered: Vec<&PageOutcome> = view
            .pages
            .iter()
            .filter(|(a, _)| a.is_ipv4() || self.ipv6_works)
            .map(|(_, o)| o)
            .collect();
        // A site our TLS stack cannot speak to (SM2 only, an old protocol)
        // is not unreachable for its visitors.
        let unspeakable = view.tls.values().any(|t| {
            matches!(
                t.verdict,
                TlsVerdict::Sm2
                    | TlsVerdict::HandshakeFailed {
                        reason: HandshakeFailure::ProtocolTooOld,
                        ..
                    }
            )
        });
        if !considered.is_empty() && !considered.iter().any(|o| loads(o)) && unspeakable {
            self.certificates(host, view, site, at);
            self.unjudged(host, &[FindingKind::UnreachableButResolving]);
            self.unjudged(host, &BEYOND_HOMEPAGE_KINDS);
            self.unjudged(host, &PAGE_KINDS);
            return;
        }
        if !considered.is_empty() && !considered.iter().any(|o| loads(o)) {
            let summary = format!(
                "{} 可以解析，但首页在 {} 秒内无法访问（{}）",
                host.to_unicode(),
                self.policy.thresholds.page_deadline_secs,
                view.pages
                    .values()
                    .map(super::text::page_outcome)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("、")
            );
            let evidence = view
                .pages
                .iter()
                .map(|(address, outcome)| {
                    Evidence::new(host.as_str(), "page", outcome.name(), page_detail(outcome))
                        .at(address)
                })
                .collect();
            let mut finding = self.finding(
                FindingKind::UnreachableButResolving,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
            if let Some(rate) = self.failure_rate(view) {
                finding.summary.push_str(&format!("；{rate}"));
            }
            self.push(finding);
            // A site that does not load says so; its IPv6 and its pages
            // cannot be judged until it does, and what was found on them
            // stands meanwhile.
            self.certificates(host, view, site, at);
            self.unjudged(host, &BEYOND_HOMEPAGE_KINDS);
            self.unjudged(host, &PAGE_KINDS);
            return;
        }
        // It loads now, but the inspection counts the week: 5% of visits
        // failing fails the site.
        if let Some(rate) = self.failure_rate(view) {
            let summary = format!("{} 时常无法访问：{rate}", host.to_unicode());
            let (visits, failed) = view.availability.unwrap_or_default();
            let evidence = vec![Evidence::new(
                host.as_str(),
                "page",
                "failure_rate",
                format!(
                    "{failed} of {visits} visits failed over {} days",
                    self.policy.thresholds.unreachable_window_days
                ),
            )];
            self.raise(
                FindingKind::UnreachableButResolving,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
        }
        self.certificates(host, view, site, at);
        if primary {
            self.ipv6(host, view, dns, site, at);
        }
        self.content(host, view, site, at);
    }

    fn certificates(&mut self, host: &Hostname, view: &HostView, site: &Site, at: DateTime<Utc>) {
        let now = self.now;
        let mut by_kind: BTreeMap<FindingKind, (Vec<Evidence>, String)> = BTreeMap::new();
        let mut no_tls = 0;
        let mut expiring_critical = false;
        for (address, tls) in &view.tls {
            if address.is_ipv6() && !self.ipv6_works {
                continue;
            }
            match &tls.verdict {
                // This machine could not try: nothing to say about the
                // certificate at all.
                TlsVerdict::HandshakeFailed {
                    reason: HandshakeFailure::Local,
                    ..
                } => {
                    self.unjudged(host, &CERT_KINDS);
                    self.unjudged(host, &[FindingKind::TlsHandshakeFailed]);
                    continue;
                }
                // No handshake in time: the certificate was not seen, what
                // is known about it stands.
                TlsVerdict::HandshakeFailed {
                    reason: HandshakeFailure::Timeout,
                    ..
                } => self.unjudged(host, &CERT_KINDS),
                _ => {}
            }
            let leaf = tls.chain.first();
            let (kind, text) = match &tls.verdict {
                TlsVerdict::Valid => {
                    let Some(leaf) = leaf else { continue };
                    let left = leaf.not_after - now;
                    if left > Duration::days(i64::from(self.policy.thresholds.cert_warning_days)) {
                        continue;
                    }
                    expiring_critical |= left
                        <= Duration::days(i64::from(self.policy.thresholds.cert_critical_days));
                    (
                        FindingKind::CertExpiring,
                        format!(
                            "{} 的证书将于 {} 到期（剩余 {} 天）",
                            host.to_unicode(),
                            show_date(leaf.not_after),
                            left.num_days().max(0)
                        ),
                    )
                }
                TlsVerdict::Expired => (
                    FindingKind::CertExpired,
                    format!(
                        "{} 的证书已于 {} 过期",
                        host.to_unicode(),
                        leaf.map(|l| show_date(l.not_after)).unwrap_or_default()
                    ),
                ),
                TlsVerdict::NotYetValid => (
                    FindingKind::CertNotYetValid,
                    format!(
                        "{} 的证书尚未生效（{} 起生效）",
                        host.to_unicode(),
                        leaf.map(|l| show_date(l.not_before)).unwrap_or_default()
                    ),
                ),
                TlsVerdict::HostnameMismatch => (
                    FindingKind::CertHostnameMismatch,
                    format!(
                        "{} 的证书与域名不符（证书域名：{}）",
                        host.to_unicode(),
                        leaf.map(|l| l.dns_names.join("、")).unwrap_or_default()
                    ),
                ),
                TlsVerdict::Untrusted { reason } => (
                    FindingKind::CertUntrusted,
                    format!(
                        "{} 的证书不受信任（{}）",
                        host.to_unicode(),
                        super::text::cert_problem(reason)
                    ),
                ),
                TlsVerdict::SelfSigned => (
                    FindingKind::CertUntrusted,
                    format!("{} 使用自签名证书，不受信任", host.to_unicode()),
                ),
                TlsVerdict::Weak { .. } => (
                    FindingKind::CertWeak,
                    match tls.chain.iter().find_map(super::text::weakness) {
                        Some(why) => format!("{} 的证书强度不足（{why}）", host.to_unicode()),
                        None => format!("{} 的证书强度不足", host.to_unicode()),
                    },
                ),
                TlsVerdict::Sm2 => (
                    FindingKind::CertSm2,
                    format!(
                        "{} 使用国密 SM2 证书（常见浏览器需支持国密算法）",
                        host.to_unicode()
                    ),
                ),
                TlsVerdict::HandshakeFailed {
                    reason: HandshakeFailure::NoTls,
                    ..
                } => {
                    no_tls += 1;
                    continue;
                }
                TlsVerdict::HandshakeFailed { reason, .. } => (
                    FindingKind::TlsHandshakeFailed,
                    format!(
                        "{} 的 TLS 握手失败（{}）",
                        host.to_unicode(),
                        super::text::handshake_failure(*reason)
                    ),
                ),
            };
            // The evidence in English, with why where the verdict has a
            // reason (a failed handshake's names the address and port).
            let why = match &tls.verdict {
                TlsVerdict::Untrusted { reason } | TlsVerdict::Weak { reason } => {
                    format!(": {reason}")
                }
                TlsVerdict::HandshakeFailed { detail, .. } => format!(": {detail}"),
                _ => String::new(),
            };
            let detail = match leaf {
                Some(leaf) => format!(
                    "{}{why}; {}; not after {}",
                    tls.verdict.name(),
                    leaf.subject,
                    crate::clock::show(leaf.not_after)
                ),
                None => format!("{}{why}", tls.verdict.name()),
            };
            let entry = by_kind.entry(kind).or_insert_with(|| (Vec::new(), text));
            // The address with the port tried, when the observation kept it.
            let at = match tls.port {
                Some(port) => std::net::SocketAddr::new(*address, port).to_string(),
                None => address.to_string(),
            };
            entry
                .0
                .push(Evidence::new(host.as_str(), "tls", tls.verdict.name(), detail).at(at));
        }
        let judged = view
            .tls
            .iter()
            .filter(|(a, t)| {
                (a.is_ipv4() || self.ipv6_works)
                    && !matches!(
                        t.verdict,
                        TlsVerdict::HandshakeFailed {
                            reason: HandshakeFailure::Local,
                            ..
                        }
                    )
            })
            .count();
        if no_tls > 0 {
            if no_tls == judged {
                if view.pages.values().any(loads) {
                    by_kind.insert(
                        FindingKind::HttpsMissing,
                        (
                            vec![Evidence::new(
                                host.as_str(),
                                "tls",
                                "no_tls",
                                format!("no TLS on any of {} addresses", no_tls),
                            )],
                            format!("{} 未启用 HTTPS，仅能通过 HTTP 访问", host.to_unicode()),
                        ),
                    );
                }
            } else {
                let entry = by_kind
                    .entry(FindingKind::TlsHandshakeFailed)
                    .or_insert_with(|| {
                        (
                            Vec::new(),
                            format!("{} 的部分地址不提供 HTTPS", host.to_unicode()),
                        )
                    });
                for (address, tls) in view
                    .tls
                    .iter()
                    .filter(|(a, _)| a.is_ipv4() || self.ipv6_works)
                {
                    if matches!(
                        tls.verdict,
                        TlsVerdict::HandshakeFailed {
                            reason: HandshakeFailure::NoTls,
                            ..
                        }
                    ) {
                        entry.0.push(
                            Evidence::new(
                                host.as_str(),
                                "tls",
                                "no_tls",
                                "no TLS at this address".into(),
                            )
                            .at(address),
                        );
                    }
                }
            }
        }
        for (kind, (evidence, summary)) in by_kind {
            let mut finding = self.finding(
                kind,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
            if kind == FindingKind::CertExpiring && expiring_critical {
                finding.severity = Severity::Critical;
            }
            self.push(finding);
        }
    }

    /// Whether a redirect from `host` to `target` (a URL) sends visitors
    /// off the allowed suffixes: to another host that is not under them,
    /// or to a bare address. One judgement for HTTP redirects and those
    /// a page makes itself.
    fn leaves_government(&self, host: &Hostname, target: &str) -> bool {
        let Some(to) = url::Url::parse(target).ok().and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        }) else {
            return false;
        };
        to != host.as_str()
            && to
                .parse::<Hostname>()
                .map_or(true, |h| !self.policy.allowed_suffixes.allows(&h))
    }

    /// A homepage that sends visitors to a host outside the allowed
    /// suffixes: the most common shape of a hijacked government site.
    fn foreign_redirect(
        &mut self,
        host: &Hostname,
        view: &HostView,
        site: &Site,
        at: DateTime<Utc>,
    ) {
        for (address, outcome) in &view.pages {
            let PageOutcome::Loaded {
                redirected_to: Some(target),
                ..
            } = outcome
            else {
                continue;
            };
            if !self.leaves_government(host, target) {
                continue;
            }
            let summary = format!(
                "网站「{}」首页（{}）跳转到非政府域名 {target}，疑似被篡改或劫持",
                site.name,
                host.to_unicode()
            );
            let evidence = vec![
                Evidence::new(host.as_str(), "page", "redirect", page_detail(outcome)).at(address),
            ];
            self.raise(
                FindingKind::SuspectedTampering,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
            return;
        }
    }

    /// Whether a homepage that loaded shows tampering, raised if so:
    ///
    /// - its identity replaced: the title, main heading or `SiteName`
    ///   names something, and none of the registered names (site,
    ///   organizer) appear anywhere (real case 4);
    /// - prohibited terms in the title, main heading or `SiteName`;
    /// - prohibited terms in hidden elements (暗链);
    /// - prohibited terms in the words of a link to a host outside the
    ///   allowed suffixes, unless those words are a notice (举报…);
    /// - the page itself sending visitors outside the allowed suffixes
    ///   (a meta refresh, a script assigning `location` on load).
    ///
    /// Terms in ordinary visible text, the identity intact, are not
    /// tampering: a portal's anti-fraud notice names fraud.
    fn tampering(
        &mut self,
        host: &Hostname,
        page: &Page,
        site: &Site,
        page_evidence: &dyn Fn(&str, String) -> Evidence,
        at: DateTime<Utc>,
    ) -> bool {
        let title = page.title.as_deref().unwrap_or("（无标题）");
        let expected = expected_names(site);
        let named = !page.mentions.is_empty()
            || page
                .meta_site_name
                .as_deref()
                .is_some_and(|meta| expected.iter().any(|n| meta.contains(n.as_str())));
        let names_something = [&page.title, &page.heading, &page.meta_site_name]
            .iter()
            .any(|name| name.as_deref().is_some_and(|n| !n.trim().is_empty()));
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        // A page not read to its end may name its organizer in the footer.
        if !named && !expected.is_empty() && names_something && !page.incomplete {
            reasons.push(format!(
                "页面标识已被替换（标题：{title}{}），未出现登记的网站名称和主办单位",
                page.heading
                    .as_deref()
                    .map(|h| format!("，主标题：{h}"))
                    .unwrap_or_default()
            ));
            evidence.push(page_evidence(
                "names_missing",
                format!("looked for: {}; title: {title}", expected.join(", ")),
            ));
        }
        if !page.identity_terms.is_empty() {
            reasons.push(format!(
                "标题、主标题或网站名称中出现违禁内容：{}",
                page.identity_terms.join("、")
            ));
            evidence.push(page_evidence(
                "identity_terms",
                page.identity_terms.join(", "),
            ));
        }
        if !page.hidden_terms.is_empty() {
            reasons.push(format!(
                "隐藏元素中出现违禁内容（暗链）：{}",
                quoted(&page.hidden_terms)
            ));
            evidence.extend(
                page.hidden_terms
                    .iter()
                    .map(|q| page_evidence("hidden_terms", format!("{}: {}", q.term, q.text))),
            );
        }
        let notice = |text: &str| {
            self.policy
                .notice_words
                .iter()
                .any(|w| text.contains(w.as_str()))
        };
        let outside = |target: &str| {
            target
                .parse::<Hostname>()
                .map_or(true, |h| !self.policy.allowed_suffixes.allows(&h))
        };
        let advertised: Vec<&crate::probe::page::Quote> = page
            .link_terms
            .iter()
            .filter(|q| q.host.as_deref().is_some_and(outside) && !notice(&q.text))
            .collect();
        if !advertised.is_empty() {
            reasons.push(format!(
                "指向非政府域名的链接出现违禁内容：{}",
                advertised
                    .iter()
                    .map(|q| format!("「{}」→ {}", q.text, q.host.as_deref().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("；")
            ));
            evidence.extend(advertised.iter().map(|q| {
                page_evidence(
                    "link_terms",
                    format!(
                        "{}: {} -> {}",
                        q.term,
                        q.text,
                        q.host.as_deref().unwrap_or_default()
                    ),
                )
            }));
        }
        let sent_away = page
            .client_redirect
            .as_deref()
            .filter(|target| self.leaves_government(host, target));
        if let Some(target) = sent_away {
            reasons.push(format!("页面自动跳转到非政府域名 {target}"));
            evidence.push(page_evidence("client_redirect", target.to_string()));
        }
        if reasons.is_empty() {
            return false;
        }
        if !page.mentioned.is_empty() {
            evidence.extend(page.mentioned.iter().map(|q| {
                page_evidence(
                    "prohibited_term_mentioned",
                    format!("{}: {}", q.term, q.text),
                )
            }));
        }
        let summary = format!(
            "网站「{}」首页（{}）疑似被篡改或仿冒：{}",
            site.name,
            host.to_unicode(),
            reasons.join("；")
        );
        self.raise(
            FindingKind::SuspectedTampering,
            host.to_string(),
            host.as_str(),
            Some(site),
            summary,
            evidence,
            at,
        );
        true
    }

    fn ipv6(
        &mut self,
        host: &Hostname,
        view: &HostView,
        dns: &HostDns,
        site: &Site,
        at: DateTime<Utc>,
    ) {
        let v6: Vec<IpAddr> = dns.aaaa.addresses();
        if matches!(dns.a, DnsOutcome::Answer { .. }) && v6.is_empty() {
            let summary = format!(
                "网站「{}」的 {} 没有 AAAA 记录，不支持 IPv6 访问",
                site.name,
                host.to_unicode()
            );
            let evidence = vec![Evidence::new(
                host.as_str(),
                "dns",
                dns.aaaa.name(),
                dns_detail(dns),
            )];
            self.raise(
                FindingKind::Ipv6Missing,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
            return;
        }
        if v6.is_empty() || !self.ipv6_works {
            return;
        }
        let v4_loads = view.pages.iter().any(|(a, o)| a.is_ipv4() && loads(o));
        let v6_pages: Vec<_> = view.pages.iter().filter(|(a, _)| a.is_ipv6()).collect();
        if v4_loads && !v6_pages.is_empty() && !v6_pages.iter().any(|(_, o)| loads(o)) {
            let summary = format!(
                "{} 有 AAAA 记录（{}），但首页无法通过 IPv6 访问",
                host.to_unicode(),
                addresses(&v6)
            );
            let evidence = v6_pages
                .iter()
                .map(|(address, outcome)| {
                    Evidence::new(host.as_str(), "page", outcome.name(), page_detail(outcome))
                        .at(address)
                })
                .collect();
            self.raise(
                FindingKind::Ipv6Unreachable,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
            return;
        }
        // No sample (it ran out of its time) or no inner page that loads
        // over IPv4 to compare with: the rate was not measured, and
        // proves neither way.
        let rate = view
            .ipv6
            .as_ref()
            .and_then(|reach| Some((reach, reach.connectivity_percent()?)));
        let Some((reach, percent)) = rate else {
            self.unjudged(host, &[FindingKind::Ipv6Partial]);
            return;
        };
        let threshold = self.policy.thresholds.ipv6_partial_percent;
        if percent >= threshold {
            return;
        }
        let summary = format!(
            "{} 的二、三级页面 IPv6 连通率为 {percent}%，低于 {threshold}%（二级页面 {}/{}，三级页面 {}/{} 可通过 IPv6 访问）",
            host.to_unicode(),
            reach.second_level.loaded_v6,
            reach.second_level.loaded_v4,
            reach.third_level.loaded_v6,
            reach.third_level.loaded_v4
        );
        let evidence = vec![Evidence::new(
            host.as_str(),
            "ipv6",
            &format!("{percent}%"),
            format!(
                "second level: {} sampled, {} over IPv4, {} over IPv6; third level: {} sampled, {} over IPv4, {} over IPv6",
                reach.second_level.sampled,
                reach.second_level.loaded_v4,
                reach.second_level.loaded_v6,
                reach.third_level.sampled,
                reach.third_level.loaded_v4,
                reach.third_level.loaded_v6
            ),
        )
        .at(reach.address)];
        self.raise(
            FindingKind::Ipv6Partial,
            host.to_string(),
            host.as_str(),
            Some(site),
            summary,
            evidence,
            at,
        );
    }

    fn content(&mut self, host: &Hostname, view: &HostView, site: &Site, at: DateTime<Utc>) {
        // IPv4 first: the page most visitors see.
        let Some((address, page)) = view
            .pages
            .iter()
            .find_map(|(a, o)| own_page(o).map(|p| (a, p)))
        else {
            self.unjudged(host, &PAGE_KINDS);
            self.foreign_redirect(host, view, site, at);
            return;
        };
        let page_evidence = |outcome: &str, detail: String| {
            Evidence::new(host.as_str(), "page", outcome, detail).at(address)
        };
        let title = page.title.as_deref().unwrap_or("（无标题）");
        let tampered = self.tampering(host, page, site, &page_evidence, at);
        if !tampered && !page.mentioned.is_empty() {
            let summary = format!(
                "网站「{}」首页（{}）的正文提及违禁词（{}）：{}；请核对是否为反诈、举报等提示语",
                site.name,
                host.to_unicode(),
                terms_of(&page.mentioned),
                quoted(&page.mentioned)
            );
            let evidence = page
                .mentioned
                .iter()
                .map(|q| {
                    page_evidence(
                        "prohibited_term_mentioned",
                        format!("{}: {}", q.term, q.text),
                    )
                })
                .collect();
            self.raise(
                FindingKind::ProhibitedTermMentioned,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
        }
        let Some(code) = &site.code else { return };
        let mut shown: Vec<String> = page.footer_codes.clone();
        if let Some(meta) = &page.meta_site_code
            && !shown.contains(meta)
        {
            shown.push(meta.clone());
        }
        if shown.is_empty() && page.incomplete {
            // The footer, where the code sits, was never read.
            self.unjudged(host, &[FindingKind::SiteCodeMissingOnPage]);
        } else if shown.is_empty() {
            let summary = format!(
                "网站「{}」首页（{}）的页脚和 SiteIDCode 元标签均未显示网站标识码 {code}",
                site.name,
                host.to_unicode()
            );
            let evidence = vec![page_evidence("code_missing", format!("title: {title}"))];
            self.raise(
                FindingKind::SiteCodeMissingOnPage,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
        } else if shown.iter().any(|c| c != code.as_str()) {
            let others: Vec<&str> = shown
                .iter()
                .map(String::as_str)
                .filter(|c| *c != code.as_str())
                .collect();
            let summary = format!(
                "网站「{}」首页（{}）显示的网站标识码 {} 与登记的 {code} 不一致",
                site.name,
                host.to_unicode(),
                others.join("、")
            );
            let evidence = vec![page_evidence(
                "code_mismatch",
                format!(
                    "footer: {}; meta SiteIDCode: {}",
                    page.footer_codes.join(", "),
                    page.meta_site_code.as_deref().unwrap_or("-")
                ),
            )];
            self.raise(
                FindingKind::SiteCodeMismatch,
                host.to_string(),
                host.as_str(),
                Some(site),
                summary,
                evidence,
                at,
            );
        }
    }

    // --- zones ----------------------------------------------------------

    /// Reports each wildcard a host's delegation shows, once a round: the
    /// apex's, and each level's that is not the same answer as the level
    /// above (a random name under `zt` answering what one under the apex
    /// answers is the apex's wildcard reaching down, not another one).
    fn wildcards(&mut self, view: &HostView, delegation: &crate::probe::delegation::Delegation) {
        let mut chain: Vec<(&str, Option<bool>, &[IpAddr])> = vec![(
            delegation.zone.as_str(),
            delegation.wildcard,
            &delegation.wildcard_addresses,
        )];
        chain.extend(
            delegation
                .levels
                .iter()
                .rev()
                .map(|l| (l.parent.as_str(), l.wildcard, &l.addresses[..])),
        );
        let mut above: Option<&[IpAddr]> = None;
        for (parent, wildcard, answer) in chain {
            if wildcard != Some(true) {
                above = None;
                continue;
            }
            let same = above == Some(answer);
            above = Some(answer);
            let subject = format!("*.{parent}");
            if same || !self.wildcards_seen.insert(subject.clone()) {
                continue;
            }
            let shown: Vec<String> = answer.iter().map(ToString::to_string).collect();
            let summary = format!(
                "区域 {} 设有泛解析记录 {subject}：其下任何名称都会解析{}，未经登记的子域名也会显示网页",
                delegation.zone,
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("到 {}", shown.join("、"))
                }
            );
            let evidence = vec![Evidence::new(
                &subject,
                "delegation",
                "wildcard",
                format!(
                    "a random name under {parent} resolves{}",
                    if shown.is_empty() {
                        String::new()
                    } else {
                        format!(" to {}", shown.join(", "))
                    }
                ),
            )];
            let scope = super::Scope::Zone(delegation.zone.clone()).to_string();
            self.raise(
                FindingKind::WildcardRecord,
                subject,
                &scope,
                None,
                summary,
                evidence,
                view.at.unwrap_or(self.now),
            );
        }
    }

    fn zones(&mut self, hosts: &BTreeMap<Hostname, HostView>) {
        for (host, view) in hosts {
            let Some(delegation) = view.delegation() else {
                if let Some(crate::probe::DelegationResult::Failed { reason }) = &view.delegation {
                    self.failed(host.as_str(), format!("delegation: {reason}"));
                }
                continue;
            };
            self.wildcards(view, delegation);
            if !self.zones_seen.insert(delegation.zone.clone()) {
                continue;
            }
            let scope = super::Scope::Zone(delegation.zone.clone()).to_string();
            if delegation.servers.iter().all(|s| s.status.is_conclusive()) {
                self.evaluation.measured.insert(scope.clone());
            } else {
                self.failed(&scope, "some name servers could not be looked up".into());
            }
            let mut bad: BTreeMap<&str, Vec<Evidence>> = BTreeMap::new();
            for server in &delegation.servers {
                let (outcome, detail) = match &server.status {
                    ServerStatus::NoAddress => (
                        "no_address",
                        "the name server's host name is NXDOMAIN".to_string(),
                    ),
                    ServerStatus::Lame { reason } => ("lame", reason.clone()),
                    _ => continue,
                };
                let mut item = Evidence::new(&server.name, "delegation", outcome, detail);
                item.address = server.address.map(|a| a.to_string());
                bad.entry(server.name.as_str()).or_default().push(item);
            }
            if bad.is_empty() {
                continue;
            }
            let at = view.at.unwrap_or(self.now);
            let names: Vec<&str> = bad.keys().copied().collect();
            let all_bad = names.len() == delegation.nameservers.len();
            let summary = format!(
                "区域 {} 委派给的域名服务器 {} 不提供该区域的解析（{}）{}",
                delegation.zone,
                names.join("、"),
                bad.values()
                    .flatten()
                    .map(|e| e.outcome.as_str())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("、"),
                if bad.values().flatten().any(|e| e.outcome == "no_address") {
                    "；域名服务器的域名不存在，注册该域名者即可控制本区域"
                } else if all_bad {
                    "；该区域已无可用的域名服务器"
                } else {
                    ""
                }
            );
            let site = self.site_of(host);
            self.raise(
                FindingKind::DanglingNs,
                delegation.zone.clone(),
                &scope,
                site,
                summary,
                bad.into_values().flatten().collect(),
                at,
            );
        }
    }

    // --- links ----------------------------------------------------------

    /// Keeps what [`Rules::links`] reads of a slice's live sites'
    /// homepages: their links to names this round may find retired or
    /// dangling (names registered or under a managed zone; any other name
    /// is neither in the registry nor probed).
    fn keep_links(&mut self, hosts: &BTreeMap<Hostname, HostView>) {
        for (host, view) in hosts {
            if !self.evaluation.measured.contains(host.as_str()) {
                self.unmeasured.insert(host.to_string());
                continue;
            }
            let Some(site) = self.site_of(host) else {
                continue;
            };
            if site.status != SiteStatus::Live {
                continue;
            }
            let Some((address, page)) = view
                .pages
                .iter()
                .find_map(|(a, o)| own_page(o).map(|p| (*a, p)))
            else {
                self.unjudged(host, &[FindingKind::LinkToRetiredDomain]);
                continue;
            };
            let linked = page
                .link_hosts
                .iter()
                .filter(|linked| {
                    *linked != host.as_str()
                        && (self.holders.contains_key(linked.as_str())
                            || self.policy.is_managed(linked))
                })
                .map(|linked| {
                    let links = page
                        .links
                        .iter()
                        .filter(|l| {
                            url::Url::parse(l)
                                .ok()
                                .and_then(|u| u.host_str().map(|h| h == linked))
                                .unwrap_or(false)
                        })
                        .take(crate::probe::LINKS_KEPT_PER_HOST)
                        .cloned()
                        .collect();
                    (linked.clone(), links)
                })
                .collect();
            self.links.push(PageLinks {
                host: host.clone(),
                site,
                address,
                at: view.at.unwrap_or(self.now),
                linked,
            });
        }
    }

    /// Links of live sites' homepages to the names of retired sites,
    /// released domains and dangling names: judged once every slice was
    /// seen.
    fn links(&mut self) {
        // Host names of retired sites and released domains, unless a site
        // that is not retired holds them again.
        let mut retired: BTreeMap<String, String> = BTreeMap::new();
        for (host, holders) in &self.holders {
            let held = holders.iter().any(|(site, domain)| {
                domain.state != DomainState::Released
                    && !matches!(site.status, SiteStatus::Offline | SiteStatus::Closed)
            });
            if held {
                continue;
            }
            if let Some((site, _)) = holders.last()
                && !matches!(site.status, SiteStatus::Requested | SiteStatus::Rejected)
            {
                retired.insert(
                    host.to_string(),
                    format!("网站「{}」{}", site.name, site_status(site.status)),
                );
            }
        }
        for host in &self.dangling {
            retired
                .entry(host.clone())
                .or_insert_with(|| "悬挂域名".to_string());
        }
        for page in std::mem::take(&mut self.links) {
            let host = &page.host;
            for (linked, links) in &page.linked {
                let Some(what) = retired.get(linked) else {
                    // A linked host this round could not measure may be
                    // dangling still: its link findings stand.
                    if self.partial || self.unmeasured.contains(linked) {
                        self.unjudged(host, &[FindingKind::LinkToRetiredDomain]);
                    }
                    continue;
                };
                let summary = format!(
                    "网站「{}」的页面 {} 仍链接到 {linked}（{what}）",
                    page.site.name,
                    host.to_unicode()
                );
                let evidence = vec![
                    Evidence::new(host.as_str(), "page", "link", links.join(" ")).at(page.address),
                ];
                self.raise(
                    FindingKind::LinkToRetiredDomain,
                    format!("{host} -> {linked}"),
                    host.as_str(),
                    Some(page.site),
                    summary,
                    evidence,
                    page.at,
                );
            }
        }
    }

    // --- accounts -------------------------------------------------------

    fn accounts(&mut self, feeds: &BTreeMap<String, FeedPoll>) {
        let now = self.now;
        let window = Duration::days(i64::from(self.policy.thresholds.account_stale_days));
        for account in self.accounts {
            let scope = super::Scope::Account(account.id).to_string();
            let subject = format!("{}:{}", account.platform, account.account_id);
            let poll = match &account.feed_url {
                Some(url) => match feeds.get(url) {
                    Some(FeedPoll {
                        result: FeedResult::Read(read),
                        ..
                    }) if read.latest_post_at.is_none() => {
                        // An empty or undated feed (a bridge rate-limited,
                        // a broken export) tells nothing about the account.
                        let reason = match read.future_dated {
                            0 => format!("feed {url}: no dated entries"),
                            n => {
                                format!("feed {url}: no dated entries but {n} dated in the future")
                            }
                        };
                        self.failed(&scope, reason);
                        continue;
                    }
                    Some(FeedPoll {
                        result: FeedResult::Read(read),
                        ..
                    }) => Some(read),
                    Some(FeedPoll {
                        result: FeedResult::Failed { reason },
                        ..
                    }) => {
                        self.failed(&scope, format!("feed {url}: {reason}"));
                        continue;
                    }
                    // Not polled this round: nothing new to judge.
                    None => continue,
                },
                None => None,
            };
            self.evaluation.measured.insert(scope.clone());
            let org = self.org_ids.get(account.org.as_str()).copied();
            let feed_latest = poll.and_then(|read| read.latest_post_at);
            let latest = feed_latest.max(account.last_post_at);
            let kind_name = platform(account.platform);
            let evidence_of = |outcome: &str| {
                vec![Evidence::new(
                    &subject,
                    if poll.is_some() { "feed" } else { "registry" },
                    outcome,
                    format!(
                        "latest post {}; feed {}; recorded {}{}",
                        crate::clock::show_opt(latest),
                        crate::clock::show_opt(feed_latest),
                        crate::clock::show_opt(account.last_post_at),
                        match poll.map_or(0, |read| read.future_dated) {
                            0 => String::new(),
                            n => format!("; {n} entries dated in the future ignored"),
                        }
                    ),
                )]
            };
            // An account's finding belongs to its organizer, through no site.
            let finding = |rules: &Self, kind, summary, evidence| Finding {
                org_id: org.map(|o| o.id),
                ..rules.finding(kind, subject.clone(), &scope, None, summary, evidence, now)
            };
            match account.status {
                AccountStatus::Active => {
                    let since = latest.unwrap_or(account.status_changed_at);
                    if now - since <= window {
                        continue;
                    }
                    let summary = match latest {
                        Some(latest) => format!(
                            "{}的{}账号「{}」已 {} 天未发布内容（最后发布：{}）",
                            account.org,
                            kind_name,
                            account.name,
                            (now - latest).num_days(),
                            show_date(latest)
                        ),
                        None => format!(
                            "{}的{}账号「{}」自 {} 登记以来没有发布记录",
                            account.org,
                            kind_name,
                            account.name,
                            show_date(account.status_changed_at)
                        ),
                    };
                    let found = finding(
                        self,
                        FindingKind::AccountStale,
                        summary,
                        evidence_of("stale"),
                    );
                    self.push(found);
                }
                AccountStatus::Closed => {
                    let Some(posted) = feed_latest.filter(|t| *t > account.status_changed_at)
                    else {
                        continue;
                    };
                    let summary = format!(
                        "{}账号「{}」已于 {} 关停，但其订阅源在此之后仍有新发布（{}）",
                        kind_name,
                        account.name,
                        show_date(account.status_changed_at),
                        show_date(posted)
                    );
                    let found = finding(
                        self,
                        FindingKind::AccountClosedButActive,
                        summary,
                        evidence_of("posting"),
                    );
                    self.push(found);
                }
                AccountStatus::Suspended => {}
            }
        }
    }
}
