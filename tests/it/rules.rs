//! The rules of `siteward::findings`, without a network. For every finding
//! kind, rounds that raise it (with the right subject, scope and severity)
//! and near misses that must not; the false alarms the rules exist to
//! avoid; and the confirmation bookkeeping of `plan`.
//!
//! Rounds are built from probe observations and grouped with
//! `findings::view::group`, as the checker groups them, so that the rules
//! read exactly what they read in production.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use siteward::findings::view::{HostView, group};
use siteward::findings::{
    Change, Current, Evaluation, Finding, FindingKind, FindingStatus, Inputs, Ipv6Tally, Judge,
    Registry, Severity, evaluate, plan,
};
use siteward::policy::Policy;
use siteward::probe::cert::CertInfo;
use siteward::probe::delegation::{Delegation, ServerCheck, ServerStatus, WildcardLevel};
use siteward::probe::dns::{CnameHop, DnsOutcome, DnsRecord, HostDns, RegistrableCheck};
use siteward::probe::feed::{FeedPoll, FeedRead, FeedResult};
use siteward::probe::http::PageOutcome;
use siteward::probe::ipv6::{Ipv6Reach, Level};
use siteward::probe::page::Page;
use siteward::probe::tls::{HandshakeFailure, TlsObservation, TlsVerdict};
use siteward::probe::{DelegationResult, Observation, ObservationData};
use siteward::registry::{
    Account, AccountStatus, Domain, DomainRole, DomainState, Hostname, OrgLevel, Organization,
    Platform, Site, SiteKind, SiteStatus, SiteTimes,
};

// --- names and times -----------------------------------------------------

/// The provincial government's office: it runs the portal.
const ORG: &str = "甘肃省人民政府办公厅";
/// The portal's host name (site 1).
const WWW: &str = "www.gansu.gov.cn";
/// Every site's identifier code: the rules never compare codes between
/// sites, only a site's page against its own.
const CODE: &str = "6200000001";
/// The addresses healthy sites are served from, inside the region's own
/// networks (see `Policies::load`).
const V4: &str = "203.0.113.10";
const V6: &str = "2001:db8:1::10";
/// An address outside the region's own networks.
const FOREIGN: &str = "198.51.100.7";
/// The address a random name under gansu.gov.cn resolves to.
const WILDCARD: &str = "203.0.113.80";
/// Host names the cases share.
const OLD: &str = "old.gansu.gov.cn";
const NEW: &str = "new.gansu.gov.cn";
const DATA: &str = "data.gansu.gov.cn";
const PROMO: &str = "promo.gansu.gov.cn";
const OSS_HOST: &str = "img.gansu.gov.cn";
const FASTLY_HOST: &str = "static.gansu.gov.cn";
const ALIAS: &str = "gansu.gov.cn";
const FEED: &str = "https://feeds.gansu.gov.cn/gansufabu.xml";

/// The moment every round is evaluated at.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0)
        .single()
        .expect("a valid instant")
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// When this round's probes looked: a few minutes before the evaluation.
fn seen() -> DateTime<Utc> {
    now() - Duration::minutes(10)
}

fn host(name: &str) -> Hostname {
    name.parse().expect("a valid host name")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("a valid address")
}

/// Changes a value in place and hands it back, so that a case can say how
/// it differs from the usual builder's value in one expression.
trait With: Sized {
    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

impl<T> With for T {}

// --- the registry ----------------------------------------------------------

fn org(id: i64, name: &str, level: OrgLevel, parent: Option<&str>) -> Organization {
    Organization {
        id,
        name: name.to_string(),
        division: "620000".parse().expect("a division code"),
        level,
        parent: parent.map(str::to_string),
        emails: vec![],
        webhooks: vec![],
    }
}

fn domain(name: &str, role: DomainRole, state: DomainState) -> Domain {
    Domain {
        id: 0,
        hostname: host(name),
        role,
        state,
        release_deadline: None,
        released_at: None,
    }
}

/// A portal of `ORG` with one primary host name and its code, in `status`
/// for a year.
fn site(id: i64, status: SiteStatus, primary: &str) -> Site {
    let since = now() - days(365);
    Site {
        id,
        code: Some(CODE.parse().expect("a site code")),
        name: "甘肃省人民政府门户网站".to_string(),
        kind: SiteKind::Portal,
        org: ORG.to_string(),
        status,
        domains: vec![domain(primary, DomainRole::Primary, DomainState::Active)],
        icp_filing: None,
        psb_filing: None,
        approval_ref: None,
        retirement_ref: None,
        successor_url: None,
        status_reason: None,
        times: SiteTimes {
            live_at: (status == SiteStatus::Live).then_some(since),
            ..SiteTimes::default()
        },
        status_changed_at: since,
    }
}

/// The portal, live: the site most cases are about.
fn portal() -> Site {
    site(1, SiteStatus::Live, WWW)
}

/// A department site of `ORG` (so that it is not a second portal).
fn department(id: i64, status: SiteStatus, primary: &str) -> Site {
    site(id, status, primary).with(|s| s.kind = SiteKind::Department)
}

/// A site without an identifier code (not filed yet).
fn uncoded(site: Site) -> Site {
    site.with(|s| s.code = None)
}

/// A department site taken offline, its host name releasing by `deadline`
/// (the lifecycle sets it to the offline time plus the release grace).
fn offline(id: i64, name: &str, deadline: DateTime<Utc>) -> Site {
    department(id, SiteStatus::Offline, name).with(|s| {
        s.times.offline_at = Some(deadline - days(30));
        s.status_changed_at = deadline - days(30);
        s.domains[0].state = DomainState::Releasing;
        s.domains[0].release_deadline = Some(deadline);
    })
}

/// A department site closed at `closed_at`, its host name released then.
fn closed(id: i64, name: &str, closed_at: DateTime<Utc>) -> Site {
    department(id, SiteStatus::Closed, name).with(|s| {
        s.times.offline_at = Some(closed_at - days(30));
        s.times.closed_at = Some(closed_at);
        s.status_changed_at = closed_at;
        s.domains[0].state = DomainState::Released;
        s.domains[0].release_deadline = Some(closed_at);
        s.domains[0].released_at = Some(closed_at);
    })
}

/// The office's Weibo account, which posted yesterday.
fn account(status: AccountStatus) -> Account {
    Account {
        id: 1,
        platform: Platform::Weibo,
        account_id: "gansufabu".to_string(),
        name: "甘肃发布".to_string(),
        org: ORG.to_string(),
        status,
        feed_url: None,
        last_post_at: Some(now() - days(1)),
        status_reason: None,
        status_changed_at: now() - days(365),
    }
}

/// The account, read through its feed, with no post recorded by hand.
fn fed_account(status: AccountStatus) -> Account {
    account(status).with(|a| {
        a.feed_url = Some(FEED.to_string());
        a.last_post_at = None;
    })
}

fn feed_read(latest: DateTime<Utc>) -> FeedResult {
    FeedResult::Read(FeedRead {
        format: "rss".to_string(),
        entries: 5,
        latest_post_at: Some(latest),
        undated: 0,
        future_dated: 0,
    })
}

// --- observations ----------------------------------------------------------

fn answer(name: &str, addresses: &[&str]) -> DnsOutcome {
    if addresses.is_empty() {
        return DnsOutcome::NoData;
    }
    DnsOutcome::Answer {
        records: addresses
            .iter()
            .map(|address| DnsRecord {
                name: name.to_string(),
                ttl: 300,
                value: address.to_string(),
            })
            .collect(),
    }
}

fn nx(name: &str) -> DnsOutcome {
    DnsOutcome::NxDomain {
        name: name.to_string(),
    }
}

fn host_dns(name: &str, a: DnsOutcome, aaaa: DnsOutcome) -> HostDns {
    HostDns {
        host: host(name),
        cname_chain: vec![],
        a,
        aaaa,
        registrable: None,
    }
}

/// A name with A and AAAA records: IPv4 addresses in A, the rest in AAAA.
fn resolved(name: &str, addresses: &[&str]) -> HostDns {
    let (v4, v6): (Vec<&str>, Vec<&str>) =
        addresses.iter().partition(|address| ip(address).is_ipv4());
    host_dns(name, answer(name, &v4), answer(name, &v6))
}

/// A name that does not exist.
fn nxdomain(name: &str) -> HostDns {
    host_dns(name, nx(name), nx(name))
}

/// A name that is a CNAME to `target`, with what A and AAAA said there.
fn cnamed(name: &str, target: &str, a: DnsOutcome, aaaa: DnsOutcome) -> HostDns {
    host_dns(name, a, aaaa).with(|dns| {
        dns.cname_chain = vec![CnameHop {
            name: name.to_string(),
            target: target.to_string(),
            ttl: 300,
        }]
    })
}

/// A CNAME to `target`, which does not exist.
fn dangling(name: &str, target: &str) -> HostDns {
    cnamed(name, target, nx(target), nx(target))
}

/// The portal's homepage as a healthy portal serves it: it names its
/// organizer and shows its code in the footer.
fn homepage() -> Page {
    Page {
        encoding: "utf-8".to_string(),
        title: Some("甘肃省人民政府门户网站".to_string()),
        footer_codes: vec![CODE.to_string()],
        organizer: Some(ORG.to_string()),
        mentions: vec!["甘肃省人民政府".to_string()],
        ..Page::default()
    }
}

/// A prohibited term quoted from a page.
fn quote(term: &str, text: &str, host: Option<&str>) -> siteward::probe::page::Quote {
    siteward::probe::page::Quote {
        term: term.to_string(),
        text: text.to_string(),
        host: host.map(str::to_string),
    }
}

/// Some page that names no registered site.
fn plain(title: &str) -> Page {
    Page {
        encoding: "utf-8".to_string(),
        title: Some(title.to_string()),
        ..Page::default()
    }
}

/// The homepage with a link to `target`.
fn linking(target: &str) -> Page {
    homepage().with(|page| {
        page.links = vec![format!("https://{target}/notice.html")];
        page.link_hosts = BTreeSet::from([target.to_string()]);
    })
}

fn loaded(status: u16, url: &str, page: Page) -> PageOutcome {
    PageOutcome::Loaded {
        status,
        final_url: url.to_string(),
        hops: vec![],
        redirected_to: None,
        body_bytes: 2048,
        truncated: false,
        page: Box::new(page),
        server: None,
        takeover: vec![],
        elapsed_ms: 120,
    }
}

/// A hosting service's "nothing here" answer, recognised as `service`'s.
fn unclaimed(status: u16, url: &str, server: &str, service: &str) -> PageOutcome {
    PageOutcome::Loaded {
        status,
        final_url: url.to_string(),
        hops: vec![],
        redirected_to: None,
        body_bytes: 300,
        truncated: false,
        page: Box::new(Page::default()),
        server: Some(server.to_string()),
        takeover: vec![service.to_string()],
        elapsed_ms: 80,
    }
}

fn timeout() -> PageOutcome {
    PageOutcome::Timeout { after_ms: 15_000 }
}

fn unreachable() -> PageOutcome {
    PageOutcome::Unreachable {
        https: "connection refused".to_string(),
        http: "connection refused".to_string(),
    }
}

fn no_tls() -> TlsVerdict {
    TlsVerdict::HandshakeFailed {
        reason: HandshakeFailure::NoTls,
        detail: "connection refused".to_string(),
    }
}

fn leaf(not_after: DateTime<Utc>) -> CertInfo {
    CertInfo {
        subject: format!("CN={WWW}"),
        issuer: "CN=Test CA".to_string(),
        dns_names: vec![WWW.to_string()],
        serial: "01".to_string(),
        not_before: not_after - days(365),
        not_after,
        signature_algorithm: "sha256WithRSA".to_string(),
        signature_oid: "1.2.840.113549.1.1.11".to_string(),
        key_algorithm: "rsa".to_string(),
        key_bits: Some(2048),
        curve: None,
        is_ca: false,
        self_signed: false,
    }
}

/// The zone gansu.gov.cn as its name servers describe it.
fn zone(servers: &[(&str, ServerStatus)]) -> Delegation {
    Delegation {
        zone: "gansu.gov.cn".to_string(),
        nameservers: servers.iter().map(|(name, _)| name.to_string()).collect(),
        servers: servers
            .iter()
            .map(|(name, status)| ServerCheck {
                name: name.to_string(),
                address: (*status != ServerStatus::NoAddress).then(|| ip("203.0.113.53")),
                status: status.clone(),
            })
            .collect(),
        wildcard: Some(false),
        wildcard_addresses: vec![],
        levels: vec![],
    }
}

fn serves() -> ServerStatus {
    ServerStatus::Serves { serial: 2026060101 }
}

/// The zone, healthy, answering every name with `addresses`.
fn wildcard_zone(addresses: &[&str]) -> Delegation {
    zone(&[("ns1.gansu.gov.cn", serves())]).with(|z| {
        z.wildcard = Some(true);
        z.wildcard_addresses = addresses.iter().map(|a| ip(a)).collect();
    })
}

/// IPv6 reachability of inner pages: `v6` of the `v4` that load over IPv4
/// also load over IPv6.
fn reach(v4: usize, v6: usize) -> Ipv6Reach {
    Ipv6Reach {
        address: ip(V6),
        ports: vec![],
        homepage_v6: true,
        second_level: Level {
            sampled: v4,
            loaded_v4: v4,
            loaded_v6: v6,
        },
        third_level: Level::default(),
    }
}

// --- rounds ----------------------------------------------------------------

/// The registry and one round of observations.
#[derive(Debug, Clone)]
struct Round {
    sites: Vec<Site>,
    orgs: Vec<Organization>,
    accounts: Vec<Account>,
    observations: Vec<Observation>,
    /// Page history over the window, per host: (visits, failed).
    availability: Vec<(&'static str, (u64, u64))>,
}

impl Round {
    /// The provincial office, and nothing else.
    fn new() -> Round {
        Round {
            sites: vec![],
            orgs: vec![org(1, ORG, OrgLevel::Province, None)],
            accounts: vec![],
            observations: vec![],
            availability: vec![],
        }
    }

    /// The store's page history of `name` over the window.
    fn history(mut self, name: &'static str, visits: u64, failed: u64) -> Round {
        self.availability.push((name, (visits, failed)));
        self
    }

    /// The office with its live portal, not observed yet.
    fn portal() -> Round {
        Round::new().site(portal())
    }

    fn site(mut self, site: Site) -> Round {
        self.sites.push(site);
        self
    }

    fn org(mut self, org: Organization) -> Round {
        self.orgs.push(org);
        self
    }

    fn account(mut self, account: Account) -> Round {
        self.accounts.push(account);
        self
    }

    /// One observation. Later observations of the same probe and address
    /// replace earlier ones, as in a round.
    fn see(mut self, name: &str, address: Option<&str>, data: ObservationData) -> Round {
        self.observations.push(Observation {
            host: host(name),
            address: address.map(ip),
            at: seen(),
            data,
        });
        self
    }

    fn dns(self, dns: HostDns) -> Round {
        let name = dns.host.to_string();
        self.see(&name, None, ObservationData::Dns(dns))
    }

    fn resolves(self, name: &str, addresses: &[&str]) -> Round {
        self.dns(resolved(name, addresses))
    }

    fn page(self, name: &str, address: &str, outcome: PageOutcome) -> Round {
        self.see(name, Some(address), ObservationData::Page(outcome))
    }

    fn tls_until(
        self,
        name: &str,
        address: &str,
        verdict: TlsVerdict,
        not_after: DateTime<Utc>,
    ) -> Round {
        let tls = TlsObservation {
            verdict,
            protocol: Some("TLSv1.3".to_string()),
            cipher_suite: None,
            chain: vec![leaf(not_after)],
            port: Some(8443),
            elapsed: std::time::Duration::from_millis(40),
        };
        self.see(name, Some(address), ObservationData::Tls(tls))
    }

    /// A TLS verdict on a certificate valid for another year.
    fn tls(self, name: &str, address: &str, verdict: TlsVerdict) -> Round {
        self.tls_until(name, address, verdict, now() + days(365))
    }

    fn delegation(self, name: &str, delegation: Delegation) -> Round {
        self.see(
            name,
            None,
            ObservationData::Delegation(DelegationResult::Found(delegation)),
        )
    }

    fn ipv6(self, name: &str, reach: Ipv6Reach) -> Round {
        self.see(name, Some(V6), ObservationData::Ipv6(reach))
    }

    fn feed(self, result: FeedResult) -> Round {
        let poll = FeedPoll {
            url: FEED.to_string(),
            result,
        };
        self.see("feeds.gansu.gov.cn", None, ObservationData::Feed(poll))
    }

    /// `name` served as a healthy site serves it, with `page` as its
    /// homepage: at `V4` and `V6`, over HTTPS with a certificate valid for
    /// a year.
    fn serving_page(self, name: &str, page: Page) -> Round {
        let url = format!("https://{name}/");
        self.resolves(name, &[V4, V6])
            .page(name, V4, loaded(200, &url, page.clone()))
            .page(name, V6, loaded(200, &url, page))
            .tls(name, V4, TlsVerdict::Valid)
            .tls(name, V6, TlsVerdict::Valid)
            // Every inner page sampled loads over both.
            .ipv6(name, reach(10, 10))
    }

    fn serving(self, name: &str) -> Round {
        self.serving_page(name, homepage())
    }

    fn evaluate(&self, policy: &Policy) -> Evaluation {
        let (hosts, feeds) = self.views();
        let inputs = Inputs {
            now: now(),
            sites: &self.sites,
            orgs: &self.orgs,
            accounts: &self.accounts,
            hosts: &hosts,
            feeds: &feeds,
            ipv6_works: None,
            partial: false,
        };
        evaluate(&inputs, policy)
    }

    /// Judges as the daemon judges a province: one host name at a time,
    /// in order (a page links to names of later slices, a zone is seen
    /// again in a later slice), with IPv6 judged as the whole round shows
    /// it.
    fn evaluate_by_host(&self, policy: &Policy) -> Evaluation {
        let (hosts, feeds) = self.views();
        let registry = Registry {
            sites: &self.sites,
            orgs: &self.orgs,
            accounts: &self.accounts,
        };
        let ipv6_works = Ipv6Tally::of(&hosts).works();
        let mut judge = Judge::new(registry, policy, now(), ipv6_works, false);
        for (name, view) in hosts {
            judge.hosts(&BTreeMap::from([(name, view)]));
        }
        assert_eq!(judge.ipv6().works(), ipv6_works);
        judge.finish(&feeds)
    }

    fn views(&self) -> (BTreeMap<Hostname, HostView>, BTreeMap<String, FeedPoll>) {
        let (mut hosts, feeds) = group(self.observations.clone());
        for (name, counts) in &self.availability {
            if let Some(view) = hosts.get_mut(&host(name)) {
                view.availability = Some(*counts);
            }
        }
        (hosts, feeds)
    }
}

/// A discovered name under the managed zone: a CNAME to Fastly, which
/// answers its "unknown domain" page (500) there.
fn fastly_round() -> Round {
    let target = "gansu.global.fastly.net";
    Round::new()
        .dns(cnamed(
            FASTLY_HOST,
            target,
            answer(target, &["203.0.113.90"]),
            DnsOutcome::NoData,
        ))
        .page(
            FASTLY_HOST,
            "203.0.113.90",
            unclaimed(500, "https://static.gansu.gov.cn/", "Varnish", "Fastly"),
        )
}

/// A discovered name under the managed zone: a CNAME to an Alibaba Cloud
/// OSS bucket that nobody owns any more.
fn oss_round() -> Round {
    let target = "gansu-img.oss-cn-hangzhou.aliyuncs.com";
    Round::new()
        .dns(cnamed(
            OSS_HOST,
            target,
            answer(target, &["203.0.113.91"]),
            DnsOutcome::NoData,
        ))
        .page(
            OSS_HOST,
            "203.0.113.91",
            unclaimed(
                404,
                "https://img.gansu.gov.cn/",
                "AliyunOSS",
                "Alibaba Cloud/OSS",
            ),
        )
}

/// A discovered name under the managed zone: a CNAME to a name whose
/// registrable domain outside the region nobody holds.
fn unregistered_round() -> Round {
    let target = "gansu-2019.campaign-vendor.com";
    Round::new().dns(dangling(PROMO, target).with(|dns| {
        dns.registrable = Some(RegistrableCheck {
            domain: "campaign-vendor.com".to_string(),
            unregistered: true,
        })
    }))
}

/// `DATA`, under the managed zone (which has no wildcard), registered to
/// no site, answering `outcome` at its one address.
fn data_answering(outcome: PageOutcome) -> Round {
    Round::new()
        .resolves(DATA, &["203.0.113.20"])
        .delegation(DATA, zone(&[("ns1.gansu.gov.cn", serves())]))
        .page(DATA, "203.0.113.20", outcome)
}

/// A name whose CNAME points at a cloud service's name that no longer
/// exists, its registrable domain told `unregistered` or not (the
/// service's verdict decides before that).
fn claimed_round(target: &str, unregistered: bool) -> Round {
    Round::new().dns(dangling(PROMO, target).with(|dns| {
        dns.registrable = Some(RegistrableCheck {
            domain: target.to_string(),
            unregistered,
        })
    }))
}

/// The portal's name is a CNAME to a vendor's name that no longer exists;
/// whether the vendor's domain is registered is unknown.
fn vendor_gone_round() -> Round {
    Round::portal().dns(dangling(WWW, "gansu.old-vendor.com"))
}

// --- policies ----------------------------------------------------------------

/// Which policy a case runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Under {
    /// The built-in policy: no own networks configured.
    BuiltIn,
    /// The repository's policy with the region's own networks: `V4` and
    /// `V6` are inside them, `FOREIGN` is not.
    OwnNetworks,
}

struct Policies {
    built_in: Policy,
    own_networks: Policy,
}

impl Policies {
    fn load() -> Policies {
        let shipped = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/siteward.toml"
        ))
        .expect("the repository's policy");
        let text = shipped.replace(
            "own_networks = []",
            "own_networks = [\"203.0.113.0/24\", \"2001:db8:1::/48\"]",
        );
        assert_ne!(text, shipped, "the policy names own_networks = []");
        let dir = tempfile::tempdir().expect("temp dir");
        siteward::policy::write_built_in(dir.path()).expect("the built-in policy's files");
        std::fs::write(dir.path().join("siteward.toml"), text).expect("write the policy");
        let own_networks = Policy::load(Some(dir.path())).expect("the policy with own networks");
        assert!(own_networks.is_own_address(ip(V4)) && !own_networks.is_own_address(ip(FOREIGN)));
        Policies {
            built_in: Policy::built_in(),
            own_networks,
        }
    }

    fn get(&self, under: Under) -> &Policy {
        match under {
            Under::BuiltIn => &self.built_in,
            Under::OwnNetworks => &self.own_networks,
        }
    }
}

// --- reading an evaluation -------------------------------------------------

/// The findings about a host name: on it, on one of its addresses, or in
/// its scope.
fn about<'a>(evaluation: &'a Evaluation, name: &str) -> Vec<&'a Finding> {
    evaluation
        .findings
        .iter()
        .filter(|f| {
            f.subject == name || f.scope == name || f.subject.starts_with(&format!("{name} "))
        })
        .collect()
}

fn listing(evaluation: &Evaluation) -> String {
    let lines: Vec<String> = evaluation
        .findings
        .iter()
        .map(|f| format!("  {} {} {} [{}]", f.severity, f.kind, f.subject, f.scope))
        .collect();
    if lines.is_empty() {
        "  (nothing)".to_string()
    } else {
        lines.join("\n")
    }
}

// --- every kind, raised and spared -----------------------------------------

/// A round that must raise `kind` about `subject`, in `scope`, at
/// `severity`.
struct Raised {
    case: &'static str,
    kind: FindingKind,
    subject: String,
    scope: String,
    severity: Severity,
    under: Under,
    round: Round,
}

fn raised(
    case: &'static str,
    kind: FindingKind,
    (subject, scope): (&str, &str),
    severity: Severity,
    round: Round,
) -> Raised {
    Raised {
        case,
        kind,
        subject: subject.to_string(),
        scope: scope.to_string(),
        severity,
        under: Under::BuiltIn,
        round,
    }
}

/// A near miss: a round that must not raise `kind` at all.
struct Spared {
    case: &'static str,
    kind: FindingKind,
    under: Under,
    round: Round,
    /// The round measured what the kind is judged from (so the rule ran
    /// and decided); when not, the case is a failure to measure, and the
    /// kind must be judged nowhere.
    measured: bool,
}

fn spared(case: &'static str, kind: FindingKind, round: Round) -> Spared {
    Spared {
        case,
        kind,
        under: Under::BuiltIn,
        round,
        measured: true,
    }
}

/// A finding about a host name, in the host name's scope.
fn on(name: &str) -> (&str, &str) {
    (name, name)
}

/// A finding about the registry.
fn in_registry(subject: &str) -> (&str, &str) {
    (subject, "registry")
}

fn raised_cases() -> Vec<Raised> {
    use FindingKind::*;
    use Severity::*;
    let portal_with_page = |page: Page| Round::portal().serving_page(WWW, page);
    let portal_with_tls = |verdict: TlsVerdict| Round::portal().serving(WWW).tls(WWW, V4, verdict);
    let expiring = |left: i64| {
        Round::portal()
            .serving(WWW)
            .tls_until(WWW, V4, TlsVerdict::Valid, now() + days(left))
    };
    vec![
        raised(
            "a name under the managed zone that serves pages and belongs to no site",
            UnapprovedSite,
            on(DATA),
            Critical,
            data_answering(loaded(
                200,
                "https://data.gansu.gov.cn/",
                plain("开放数据平台"),
            )),
        ),
        raised(
            "a requested site that already serves pages",
            UnapprovedSite,
            on(NEW),
            Critical,
            Round::new()
                .site(uncoded(department(2, SiteStatus::Requested, NEW)))
                .resolves(NEW, &["203.0.113.21"])
                .delegation(NEW, zone(&[("ns1.gansu.gov.cn", serves())]))
                .page(
                    NEW,
                    "203.0.113.21",
                    loaded(200, "https://new.gansu.gov.cn/", plain("新平台")),
                ),
        ),
        raised(
            "a name under the managed zone that redirects elsewhere serves pages too",
            UnapprovedSite,
            on(DATA),
            Critical,
            data_answering(PageOutcome::Loaded {
                status: 302,
                final_url: "https://data.gansu.gov.cn/".to_string(),
                hops: vec![],
                redirected_to: Some("https://casino.example.com/".to_string()),
                body_bytes: 0,
                truncated: false,
                page: Box::new(Page::default()),
                server: None,
                takeover: vec![],
                elapsed_ms: 30,
            }),
        ),
        raised(
            "an offline site's name still resolves a day past its release deadline",
            OfflineStillResolving,
            on(OLD),
            Critical,
            Round::new()
                .site(offline(3, OLD, now() - days(1)))
                .resolves(OLD, &["203.0.113.30"]),
        ),
        raised(
            "a closed site's released name still resolves and serves pages",
            OfflineStillResolving,
            on(OLD),
            Critical,
            Round::new()
                .site(closed(3, OLD, now() - days(60)))
                .resolves(OLD, &["203.0.113.30"])
                .page(
                    OLD,
                    "203.0.113.30",
                    loaded(
                        200,
                        "https://old.gansu.gov.cn/",
                        plain("娱乐城").with(|p| p.prohibited_terms = vec!["娱乐城".into()]),
                    ),
                ),
        ),
        raised(
            "a live site that resolves but whose homepage times out at every address",
            UnreachableButResolving,
            on(WWW),
            Critical,
            Round::portal()
                .resolves(WWW, &[V4, V6])
                .page(WWW, V4, timeout())
                .page(WWW, V6, timeout()),
        ),
        raised(
            "a server error is no answer",
            UnreachableButResolving,
            on(WWW),
            Critical,
            Round::portal()
                .serving(WWW)
                .page(
                    WWW,
                    V4,
                    loaded(503, "https://www.gansu.gov.cn/", plain("503")),
                )
                .page(
                    WWW,
                    V6,
                    loaded(503, "https://www.gansu.gov.cn/", plain("503")),
                ),
        ),
        raised(
            "a live site's primary name is NXDOMAIN",
            NotResolving,
            on(WWW),
            Critical,
            Round::portal().dns(nxdomain(WWW)),
        ),
        raised(
            "a live site's primary name has neither A nor AAAA records",
            NotResolving,
            on(WWW),
            Critical,
            Round::portal().dns(host_dns(WWW, DnsOutcome::NoData, DnsOutcome::NoData)),
        ),
        raised(
            "a CNAME to a vendor's name that no longer exists, outside the region",
            DanglingCname,
            on(WWW),
            Critical,
            vendor_gone_round(),
        ),
        raised(
            "an unclaimed Alibaba Cloud OSS bucket is worth fixing, not waking anyone",
            DanglingCname,
            on(OSS_HOST),
            Warning,
            oss_round(),
        ),
        raised(
            "a CNAME whose registrable domain nobody holds",
            DanglingCname,
            on(PROMO),
            Critical,
            unregistered_round(),
        ),
        raised(
            "a deleted CloudFront distribution: the service cannot be claimed, a record to clean up",
            DanglingCname,
            on(PROMO),
            Warning,
            claimed_round("e2k4x9.cloudfront.net", true),
        ),
        raised(
            "a CNAME to a removed AWS load balancer: not vulnerable on NXDOMAIN",
            DanglingCname,
            on(PROMO),
            Warning,
            claimed_round("gansu-1234.cn-north-1.elb.amazonaws.com", true),
        ),
        raised(
            "a CNAME to a removed Aliyun bucket: ownership is proved to bind a name",
            DanglingCname,
            on(PROMO),
            Warning,
            claimed_round("gansu-img.oss-cn-hangzhou.aliyuncs.com", false),
        ),
        raised(
            "a CNAME to a deleted Azure web app: claimable on NXDOMAIN",
            DanglingCname,
            on(PROMO),
            Critical,
            claimed_round("gansu-promo.azurewebsites.net", false),
        ),
        raised(
            "a dangling CNAME inside the region's own zone cannot be registered by others",
            DanglingCname,
            on("cdn.gansu.gov.cn"),
            Warning,
            Round::new().dns(dangling("cdn.gansu.gov.cn", "gone.gansu.gov.cn")),
        ),
        raised(
            "a zone that answers every name",
            WildcardRecord,
            ("*.gansu.gov.cn", "ns:gansu.gov.cn"),
            Info,
            Round::portal()
                .serving(WWW)
                .delegation(WWW, wildcard_zone(&[WILDCARD])),
        ),
        raised(
            "a wildcard one label below the apex",
            WildcardRecord,
            ("*.bm.gansu.gov.cn", "ns:gansu.gov.cn"),
            Info,
            Round::portal().serving(WWW).delegation(
                WWW,
                zone(&[("ns1.gansu.gov.cn", serves())]).with(|z| {
                    z.levels = vec![WildcardLevel {
                        parent: "bm.gansu.gov.cn".into(),
                        wildcard: Some(true),
                        addresses: vec![ip(WILDCARD)],
                    }];
                }),
            ),
        ),
        raised(
            "a zone delegated to a name server whose host name does not exist",
            DanglingNs,
            ("gansu.gov.cn", "ns:gansu.gov.cn"),
            Critical,
            Round::portal().serving(WWW).delegation(
                WWW,
                zone(&[
                    ("ns1.gansu.gov.cn", serves()),
                    ("ns.old-dns.com", ServerStatus::NoAddress),
                ]),
            ),
        ),
        raised(
            "a zone whose every name server is lame",
            DanglingNs,
            ("gansu.gov.cn", "ns:gansu.gov.cn"),
            Critical,
            Round::portal().serving(WWW).delegation(
                WWW,
                zone(&[
                    (
                        "ns1.gansu.gov.cn",
                        ServerStatus::Lame {
                            reason: "REFUSED".into(),
                        },
                    ),
                    (
                        "ns2.gansu.gov.cn",
                        ServerStatus::Lame {
                            reason: "no SOA".into(),
                        },
                    ),
                ]),
            ),
        ),
        Raised {
            under: Under::OwnNetworks,
            ..raised(
                "a name pointing outside the region's networks at an address where nothing answers",
                StaleAddress,
                (&format!("{WWW} {FOREIGN}"), WWW),
                Warning,
                Round::portal()
                    .resolves(WWW, &[FOREIGN])
                    .tls(WWW, FOREIGN, no_tls())
                    .page(WWW, FOREIGN, unreachable()),
            )
        },
        raised(
            "a live site's homepage links to a closed site's released name",
            LinkToRetiredDomain,
            (&format!("{WWW} -> {OLD}"), WWW),
            Critical,
            Round::portal()
                .site(closed(3, OLD, now() - days(60)))
                .serving_page(WWW, linking(OLD)),
        ),
        raised(
            "a live site's homepage links to a name found dangling this round",
            LinkToRetiredDomain,
            (&format!("{WWW} -> {PROMO}"), WWW),
            Critical,
            Round::portal()
                .serving_page(WWW, linking(PROMO))
                .dns(dangling(PROMO, "gansu-promo.campaign-vendor.com")),
        ),
        raised(
            "prohibited terms in a live site's title",
            SuspectedTampering,
            on(WWW),
            Critical,
            portal_with_page(homepage().with(|p| {
                p.title = Some("甘肃省人民政府 百家乐".into());
                p.identity_terms = vec!["百家乐".into()];
            })),
        ),
        raised(
            "prohibited terms in a hidden element (暗链)",
            SuspectedTampering,
            on(WWW),
            Critical,
            portal_with_page(homepage().with(|p| {
                p.hidden_terms = vec![quote("百家乐", "澳门金沙娱乐城 百家乐", None)];
            })),
        ),
        raised(
            "prohibited terms in a link to a host outside the government suffixes",
            SuspectedTampering,
            on(WWW),
            Critical,
            portal_with_page(homepage().with(|p| {
                p.link_terms = vec![quote(
                    "体育投注",
                    "体育投注 官方网站",
                    Some("www.ylg-bet.example"),
                )];
            })),
        ),
        raised(
            "a script that sends visitors to a host outside the government suffixes",
            SuspectedTampering,
            on(WWW),
            Critical,
            portal_with_page(homepage().with(|p| {
                p.client_redirect = Some("http://www.bc8888.example/".into());
            })),
        ),
        raised(
            "an anti-fraud notice names a prohibited term: quoted for a person",
            ProhibitedTermMentioned,
            on(WWW),
            Info,
            portal_with_page(homepage().with(|p| {
                p.mentioned = vec![quote("刷单返利", "警惕刷单返利诈骗", None)];
            })),
        ),
        raised(
            "a homepage that names neither the site nor its organizer",
            SuspectedTampering,
            on(WWW),
            Critical,
            portal_with_page(homepage().with(|p| {
                p.mentions.clear();
                p.organizer = None;
                p.title = Some("澳门金沙娱乐城".into());
            })),
        ),
        raised(
            "no code in the footer nor in the SiteIDCode meta tag",
            SiteCodeMissingOnPage,
            on(WWW),
            Warning,
            portal_with_page(homepage().with(|p| p.footer_codes.clear())),
        ),
        raised(
            "the footer shows another site's code",
            SiteCodeMismatch,
            on(WWW),
            Warning,
            portal_with_page(homepage().with(|p| p.footer_codes = vec!["6205000001".into()])),
        ),
        raised(
            "the footer shows the code but the SiteIDCode meta tag another",
            SiteCodeMismatch,
            on(WWW),
            Warning,
            portal_with_page(homepage().with(|p| p.meta_site_code = Some("6205000001".into()))),
        ),
        raised(
            "a live site without an identifier code",
            LiveWithoutCode,
            in_registry(WWW),
            Warning,
            Round::new().site(uncoded(portal())),
        ),
        raised(
            "a live site with neither a code nor a host name is named by its id",
            LiveWithoutCode,
            in_registry("site:1"),
            Warning,
            Round::new().site(uncoded(portal()).with(|s| s.domains.clear())),
        ),
        raised(
            "a live portal with no AAAA record",
            Ipv6Missing,
            on(WWW),
            Warning,
            Round::portal().serving(WWW).resolves(WWW, &[V4]),
        ),
        raised(
            "an IPv4-mapped AAAA record is no IPv6",
            Ipv6Missing,
            on(WWW),
            Warning,
            Round::portal()
                .serving(WWW)
                .resolves(WWW, &[V4, "::ffff:203.0.113.10"]),
        ),
        raised(
            "the homepage loads over IPv4 but not over IPv6",
            Ipv6Unreachable,
            on(WWW),
            Warning,
            Round::portal().serving(WWW).page(WWW, V6, timeout()),
        ),
        raised(
            "inner pages load over IPv6 half as often as over IPv4",
            Ipv6Partial,
            on(WWW),
            Warning,
            Round::portal().serving(WWW).ipv6(WWW, reach(10, 5)),
        ),
        raised(
            "an expired certificate",
            CertExpired,
            on(WWW),
            Critical,
            Round::portal()
                .serving(WWW)
                .tls_until(WWW, V4, TlsVerdict::Expired, now() - days(3)),
        ),
        raised(
            "a certificate that expires in 20 days",
            CertExpiring,
            on(WWW),
            Warning,
            expiring(20),
        ),
        raised(
            "a certificate that expires in exactly 30 days is inside the warning window",
            CertExpiring,
            on(WWW),
            Warning,
            expiring(30),
        ),
        raised(
            "a certificate that expires in 5 days is critical",
            CertExpiring,
            on(WWW),
            Critical,
            expiring(5),
        ),
        raised(
            "a certificate that is not valid yet",
            CertNotYetValid,
            on(WWW),
            Critical,
            portal_with_tls(TlsVerdict::NotYetValid),
        ),
        raised(
            "a certificate for another name",
            CertHostnameMismatch,
            on(WWW),
            Critical,
            portal_with_tls(TlsVerdict::HostnameMismatch),
        ),
        raised(
            "a certificate from an unknown issuer",
            CertUntrusted,
            on(WWW),
            Warning,
            portal_with_tls(TlsVerdict::Untrusted {
                reason: "unknown issuer".into(),
            }),
        ),
        raised(
            "a self-signed certificate",
            CertUntrusted,
            on(WWW),
            Warning,
            portal_with_tls(TlsVerdict::SelfSigned),
        ),
        raised(
            "a certificate with a 1024-bit key",
            CertWeak,
            on(WWW),
            Warning,
            portal_with_tls(TlsVerdict::Weak {
                reason: "RSA 1024".into(),
            }),
        ),
        raised(
            "a server that speaks only TLS 1.0",
            TlsHandshakeFailed,
            on(WWW),
            Warning,
            portal_with_tls(TlsVerdict::HandshakeFailed {
                reason: HandshakeFailure::ProtocolTooOld,
                detail: "TLS 1.0 only".into(),
            }),
        ),
        raised(
            "one address serves HTTPS and the other does not",
            TlsHandshakeFailed,
            on(WWW),
            Warning,
            portal_with_tls(no_tls()),
        ),
        raised(
            "no address serves HTTPS while the pages load over HTTP",
            HttpsMissing,
            on(WWW),
            Warning,
            Round::portal()
                .serving(WWW)
                .tls(WWW, V4, no_tls())
                .tls(WWW, V6, no_tls()),
        ),
        raised(
            "an SM2 certificate",
            CertSm2,
            on(WWW),
            Info,
            portal_with_tls(TlsVerdict::Sm2),
        ),
        raised(
            "a live site on a commercial domain",
            DomainNotAllowed,
            in_registry("www.gansu-tour.com"),
            Warning,
            Round::new().site(department(5, SiteStatus::Live, "www.gansu-tour.com")),
        ),
        raised(
            "a requested site on the bare suffix, which is nobody's site",
            DomainNotAllowed,
            in_registry("gov.cn"),
            Warning,
            Round::new().site(uncoded(department(6, SiteStatus::Requested, "gov.cn"))),
        ),
        raised(
            "two live sites claim one host name",
            RegistryConflict,
            in_registry(WWW),
            Warning,
            Round::portal().site(department(2, SiteStatus::Live, WWW)),
        ),
        raised(
            "a township runs a site",
            RegistryConflict,
            in_registry("cgz.gansu.gov.cn (org)"),
            Warning,
            Round::new()
                .org(org(
                    2,
                    "榆中县城关镇人民政府",
                    OrgLevel::Township,
                    Some("榆中县人民政府"),
                ))
                .site(
                    site(7, SiteStatus::Live, "cgz.gansu.gov.cn")
                        .with(|s| s.org = "榆中县城关镇人民政府".into()),
                ),
        ),
        raised(
            "a county department runs a site of its own",
            RegistryConflict,
            in_registry("lyj.gansu.gov.cn (org)"),
            Warning,
            Round::new()
                .org(org(
                    2,
                    "榆中县林业局",
                    OrgLevel::County,
                    Some("榆中县人民政府"),
                ))
                .site(
                    department(7, SiteStatus::Live, "lyj.gansu.gov.cn")
                        .with(|s| s.org = "榆中县林业局".into()),
                ),
        ),
        raised(
            "one organization runs two portals",
            RegistryConflict,
            in_registry(&format!("{ORG} (portals)")),
            Warning,
            Round::portal().site(site(8, SiteStatus::Live, "portal.gansu.gov.cn")),
        ),
        raised(
            "an active account silent for 20 days",
            AccountStale,
            ("weibo:gansufabu", "account:1"),
            Warning,
            Round::new().account(
                account(AccountStatus::Active).with(|a| a.last_post_at = Some(now() - days(20))),
            ),
        ),
        raised(
            "an active account whose feed's newest post is 30 days old",
            AccountStale,
            ("weibo:gansufabu", "account:1"),
            Warning,
            Round::new()
                .account(fed_account(AccountStatus::Active))
                .feed(feed_read(now() - days(30))),
        ),
        raised(
            "an active account registered 20 days ago that never posted",
            AccountStale,
            ("weibo:gansufabu", "account:1"),
            Warning,
            Round::new().account(account(AccountStatus::Active).with(|a| {
                a.last_post_at = None;
                a.status_changed_at = now() - days(20);
            })),
        ),
        raised(
            "a closed account whose feed posted after it closed",
            AccountClosedButActive,
            ("weibo:gansufabu", "account:1"),
            Warning,
            Round::new()
                .account(
                    fed_account(AccountStatus::Closed)
                        .with(|a| a.status_changed_at = now() - days(30)),
                )
                .feed(feed_read(now() - days(2))),
        ),
    ]
}

fn spared_cases() -> Vec<Spared> {
    use FindingKind::*;
    let portal_with_page = |page: Page| Round::portal().serving_page(WWW, page);
    let portal_with_tls = |verdict: TlsVerdict| Round::portal().serving(WWW).tls(WWW, V4, verdict);
    let sm2 = || portal_with_tls(TlsVerdict::Sm2);
    vec![
        spared(
            "a name under the managed zone that answers 404 serves nothing",
            UnapprovedSite,
            // The zone has no wildcard: the rule gets as far as the page.
            data_answering(loaded(404, "https://data.gansu.gov.cn/", plain("404"))),
        ),
        spared(
            "a name outside the managed zones is not this office's to approve",
            UnapprovedSite,
            Round::new()
                .resolves("data.lanzhou.gov.cn", &["203.0.113.20"])
                .page(
                    "data.lanzhou.gov.cn",
                    "203.0.113.20",
                    loaded(200, "https://data.lanzhou.gov.cn/", plain("开放数据")),
                ),
        ),
        spared(
            "an approved site that serves pages before it goes live",
            UnapprovedSite,
            Round::new()
                .site(uncoded(department(2, SiteStatus::Approved, NEW)))
                .serving(NEW),
        ),
        spared(
            "an offline site inside its release grace",
            OfflineStillResolving,
            Round::new()
                .site(offline(3, OLD, now() + days(10)))
                .resolves(OLD, &["203.0.113.30"]),
        ),
        spared(
            "an offline site past its deadline whose name no longer resolves",
            OfflineStillResolving,
            Round::new()
                .site(offline(3, OLD, now() - days(1)))
                .dns(nxdomain(OLD)),
        ),
        spared(
            "an offline site past its deadline whose name resolves only through the wildcard",
            OfflineStillResolving,
            Round::new()
                .site(offline(3, OLD, now() - days(1)))
                .resolves(OLD, &[WILDCARD])
                .delegation(OLD, wildcard_zone(&[WILDCARD])),
        ),
        spared(
            "a homepage that answers 404 still loads in the inspection's sense",
            UnreachableButResolving,
            Round::portal()
                .serving(WWW)
                .page(
                    WWW,
                    V4,
                    loaded(404, "https://www.gansu.gov.cn/", plain("404")),
                )
                .page(
                    WWW,
                    V6,
                    loaded(404, "https://www.gansu.gov.cn/", plain("404")),
                ),
        ),
        spared(
            "one address answering is enough",
            UnreachableButResolving,
            Round::portal().serving(WWW).page(WWW, V6, timeout()),
        ),
        spared(
            "a round that fetched no page proves nothing about pages",
            UnreachableButResolving,
            Round::portal().resolves(WWW, &[V4, V6]),
        ),
        spared(
            "an alias that does not resolve is not the site's name",
            NotResolving,
            Round::new()
                .site(portal().with(|s| {
                    s.domains
                        .push(domain(ALIAS, DomainRole::Alias, DomainState::Active))
                }))
                .serving(WWW)
                .dns(nxdomain(ALIAS)),
        ),
        spared(
            "a primary name that dangles through a CNAME is dangling, not unresolved",
            NotResolving,
            vendor_gone_round(),
        ),
        spared(
            "a CNAME to a target that answers",
            DanglingCname,
            Round::portal().serving(WWW).dns(cnamed(
                WWW,
                "gansu.cdn-provider.com",
                answer("gansu.cdn-provider.com", &[V4]),
                answer("gansu.cdn-provider.com", &[V6]),
            )),
        ),
        spared(
            "a CNAME to Fastly, whose unknown-domain page nobody can claim",
            DanglingCname,
            fastly_round(),
        ),
        spared(
            "a zone where a name that does not exist does not resolve",
            WildcardRecord,
            Round::portal()
                .serving(WWW)
                .delegation(WWW, zone(&[("ns1.gansu.gov.cn", serves())])),
        ),
        spared(
            "every name server serves the zone",
            DanglingNs,
            Round::portal().serving(WWW).delegation(
                WWW,
                zone(&[
                    ("ns1.gansu.gov.cn", serves()),
                    ("ns2.gansu.gov.cn", serves()),
                ]),
            ),
        ),
        spared(
            "a name server whose address could not be looked up is a failure to measure",
            DanglingNs,
            Round::portal().serving(WWW).delegation(
                WWW,
                zone(&[
                    ("ns1.gansu.gov.cn", serves()),
                    (
                        "ns2.gansu.gov.cn",
                        ServerStatus::Unknown {
                            reason: "SERVFAIL".into(),
                        },
                    ),
                ]),
            ),
        ),
        Spared {
            under: Under::OwnNetworks,
            ..spared(
                "a silent address inside the region's own networks",
                StaleAddress,
                Round::portal()
                    .resolves(WWW, &[V4])
                    .tls(WWW, V4, no_tls())
                    .page(WWW, V4, unreachable()),
            )
        },
        Spared {
            under: Under::OwnNetworks,
            ..spared(
                "an address outside the region's networks that still answers over HTTP",
                StaleAddress,
                Round::portal()
                    .resolves(WWW, &[FOREIGN])
                    .tls(WWW, FOREIGN, no_tls())
                    .page(
                        WWW,
                        FOREIGN,
                        loaded(200, "http://www.gansu.gov.cn/", homepage()),
                    ),
            )
        },
        spared(
            "a link to a live site",
            LinkToRetiredDomain,
            Round::portal()
                .site(department(2, SiteStatus::Live, "jyt.gansu.gov.cn"))
                .serving_page(WWW, linking("jyt.gansu.gov.cn")),
        ),
        spared(
            "a link to a name a live site holds again after a closed site released it",
            LinkToRetiredDomain,
            Round::portal()
                .site(closed(3, OLD, now() - days(400)))
                .site(department(5, SiteStatus::Live, OLD))
                .serving_page(WWW, linking(OLD)),
        ),
        spared(
            "an anti-fraud notice in visible text is no tampering",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.mentioned = vec![
                    quote("刷单返利", "警惕刷单返利诈骗", None),
                    quote("裸聊", "谨防裸聊敲诈", None),
                ];
            })),
        ),
        spared(
            "a reporting link to 12377.cn whose words name the crimes",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.link_terms = vec![quote(
                    "色情",
                    "举报色情、赌博等违法有害信息",
                    Some("www.12377.cn"),
                )];
            })),
        ),
        spared(
            "a prohibited term in a link to a government host",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.link_terms = vec![quote(
                    "刷单返利",
                    "刷单返利类诈骗案例",
                    Some("gaj.gansu.gov.cn"),
                )];
            })),
        ),
        spared(
            "a script that sends visitors to another government site",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.client_redirect = Some("https://www.gov.cn/".into());
            })),
        ),
        spared(
            "a page a script renders names nothing yet: not a replaced identity",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.title = None;
                p.mentions.clear();
                p.organizer = None;
            })),
        ),
        spared(
            "a homepage that mentions no prohibited term",
            ProhibitedTermMentioned,
            portal_with_page(homepage()),
        ),
        spared(
            "a homepage that names its organizer only in the SiteName meta tag",
            SuspectedTampering,
            portal_with_page(homepage().with(|p| {
                p.mentions.clear();
                p.meta_site_name = Some("甘肃省人民政府".into());
            })),
        ),
        spared(
            "a code shown only in the SiteIDCode meta tag",
            SiteCodeMissingOnPage,
            portal_with_page(homepage().with(|p| {
                p.footer_codes.clear();
                p.meta_site_code = Some(CODE.into());
            })),
        ),
        spared(
            "a site without a code has no code to show",
            SiteCodeMissingOnPage,
            Round::new()
                .site(uncoded(portal()))
                .serving_page(WWW, homepage().with(|p| p.footer_codes.clear())),
        ),
        spared(
            "footer and SiteIDCode meta tag both show the registered code",
            SiteCodeMismatch,
            portal_with_page(homepage().with(|p| p.meta_site_code = Some(CODE.into()))),
        ),
        spared(
            "an approved site without a code is not live yet",
            LiveWithoutCode,
            Round::new().site(uncoded(department(2, SiteStatus::Approved, NEW))),
        ),
        spared(
            "an alias without AAAA",
            Ipv6Missing,
            Round::new()
                .site(portal().with(|s| {
                    s.domains
                        .push(domain(ALIAS, DomainRole::Alias, DomainState::Active))
                }))
                .serving(WWW)
                .serving(ALIAS)
                .resolves(ALIAS, &[V4]),
        ),
        spared(
            "an IPv6-only portal does not miss IPv6",
            Ipv6Missing,
            Round::portal().serving(WWW).resolves(WWW, &[V6]),
        ),
        spared(
            "a homepage that answers 404 over IPv6 still answers",
            Ipv6Unreachable,
            Round::portal().serving(WWW).page(
                WWW,
                V6,
                loaded(404, "https://www.gansu.gov.cn/", plain("404")),
            ),
        ),
        spared(
            "inner pages at exactly the threshold",
            Ipv6Partial,
            Round::portal().serving(WWW).ipv6(WWW, reach(10, 9)),
        ),
        spared(
            "an expired certificate at an address the name no longer resolves to",
            CertExpired,
            Round::portal().serving(WWW).tls_until(
                WWW,
                "203.0.113.99",
                TlsVerdict::Expired,
                now() - days(3),
            ),
        ),
        spared(
            "a certificate with 31 days left",
            CertExpiring,
            Round::portal()
                .serving(WWW)
                .tls_until(WWW, V4, TlsVerdict::Valid, now() + days(31)),
        ),
        spared(
            "a site that is not live yet is not judged on its certificate",
            CertNotYetValid,
            Round::new()
                .site(uncoded(department(2, SiteStatus::Approved, NEW)))
                .serving(NEW)
                .tls(NEW, V4, TlsVerdict::NotYetValid),
        ),
        spared(
            "a name outside the managed zones that nobody registered",
            CertHostnameMismatch,
            Round::new().serving("www.gansu-mirror.com").tls(
                "www.gansu-mirror.com",
                V4,
                TlsVerdict::HostnameMismatch,
            ),
        ),
        spared(
            "an SM2 certificate is recognised, not untrusted",
            CertUntrusted,
            sm2(),
        ),
        spared("an SM2 certificate is not weak", CertWeak, sm2()),
        spared(
            "no HTTPS at any address is missing HTTPS, not a failed handshake",
            TlsHandshakeFailed,
            Round::portal()
                .serving(WWW)
                .tls(WWW, V4, no_tls())
                .tls(WWW, V6, no_tls()),
        ),
        spared(
            "no HTTPS and no page either: the site is unreachable",
            HttpsMissing,
            Round::portal()
                .resolves(WWW, &[V4, V6])
                .tls(WWW, V4, no_tls())
                .tls(WWW, V6, no_tls())
                .page(WWW, V4, timeout())
                .page(WWW, V6, timeout()),
        ),
        spared(
            "HTTPS at one address of two",
            HttpsMissing,
            portal_with_tls(no_tls()),
        ),
        spared(
            "a certificate of the usual kind",
            CertSm2,
            Round::portal().serving(WWW),
        ),
        spared(
            "a released alias on a commercial domain",
            DomainNotAllowed,
            Round::new().site(portal().with(|s| {
                s.domains.push(domain(
                    "www.gansu-tour.com",
                    DomainRole::Alias,
                    DomainState::Released,
                ))
            })),
        ),
        spared(
            "a live site and the closed site that held its name before",
            RegistryConflict,
            Round::portal().site(closed(3, WWW, now() - days(400))),
        ),
        spared(
            "a county government runs its own portal",
            RegistryConflict,
            Round::new()
                .org(org(2, "榆中县人民政府", OrgLevel::County, None))
                .site(
                    site(7, SiteStatus::Live, "www.yuzhong.gov.cn")
                        .with(|s| s.org = "榆中县人民政府".into()),
                ),
        ),
        spared(
            "one portal and one department site of one organization",
            RegistryConflict,
            Round::portal().site(department(8, SiteStatus::Live, "zwfw.gansu.gov.cn")),
        ),
        spared(
            "an account that posted 10 days ago",
            AccountStale,
            Round::new().account(
                account(AccountStatus::Active).with(|a| a.last_post_at = Some(now() - days(10))),
            ),
        ),
        spared(
            "a feed newer than the recorded last post",
            AccountStale,
            Round::new()
                .account(
                    fed_account(AccountStatus::Active)
                        .with(|a| a.last_post_at = Some(now() - days(40))),
                )
                .feed(feed_read(now() - days(3))),
        ),
        Spared {
            measured: false,
            ..spared(
                "a feed that could not be read is a failure to measure",
                AccountStale,
                Round::new()
                    .account(
                        fed_account(AccountStatus::Active)
                            .with(|a| a.last_post_at = Some(now() - days(40))),
                    )
                    .feed(FeedResult::Failed {
                        reason: "HTTP 502".into(),
                    }),
            )
        },
        spared(
            "a closed account whose feed last posted before it closed",
            AccountClosedButActive,
            Round::new()
                .account(
                    fed_account(AccountStatus::Closed)
                        .with(|a| a.status_changed_at = now() - days(30)),
                )
                .feed(feed_read(now() - days(40))),
        ),
        Spared {
            measured: false,
            ..spared(
                "a closed account whose feed was not polled this round",
                AccountClosedButActive,
                Round::new().account(
                    fed_account(AccountStatus::Closed)
                        .with(|a| a.status_changed_at = now() - days(30)),
                ),
            )
        },
    ]
}

#[test]
fn every_kind_has_a_case_each_way() {
    let raised = raised_cases();
    let spared = spared_cases();
    // `registry_tampered` is judged from the audit trail's verification,
    // not from observations: its cases are in `findings::integrity` and
    // `tests/it/audit.rs`.
    for kind in FindingKind::ALL
        .iter()
        .filter(|k| **k != FindingKind::RegistryTampered)
    {
        assert!(
            raised.iter().any(|case| case.kind == *kind),
            "no case raises {kind}"
        );
        assert!(
            spared.iter().any(|case| case.kind == *kind),
            "no near miss for {kind}"
        );
    }
}

#[test]
fn each_kind_is_raised_with_its_subject_scope_and_severity() {
    let policies = Policies::load();
    let mut wrong = Vec::new();
    for case in raised_cases() {
        let evaluation = case.round.evaluate(policies.get(case.under));
        let found = evaluation
            .findings
            .iter()
            .find(|f| f.kind == case.kind && f.subject == case.subject);
        match found {
            None => wrong.push(format!(
                "{}: no {} about `{}`; raised:\n{}",
                case.case,
                case.kind,
                case.subject,
                listing(&evaluation)
            )),
            Some(finding) => {
                if (finding.scope.as_str(), finding.severity)
                    != (case.scope.as_str(), case.severity)
                {
                    wrong.push(format!(
                        "{}: {} about `{}` is {} in `{}`, expected {} in `{}`",
                        case.case,
                        case.kind,
                        case.subject,
                        finding.severity,
                        finding.scope,
                        case.severity,
                        case.scope
                    ));
                }
                if finding.evidence.is_empty() || finding.summary.is_empty() {
                    wrong.push(format!("{}: a finding without evidence", case.case));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn near_misses_raise_nothing_of_their_kind() {
    let policies = Policies::load();
    let mut wrong = Vec::new();
    // The kinds about the registry itself: judged there, every round.
    let registry_kinds: BTreeSet<FindingKind> = raised_cases()
        .iter()
        .filter(|c| c.scope == "registry")
        .map(|c| c.kind)
        .collect();
    for case in spared_cases() {
        let evaluation = case.round.evaluate(policies.get(case.under));
        if evaluation.findings.iter().any(|f| f.kind == case.kind) {
            wrong.push(format!(
                "{}: raised {}:\n{}",
                case.case,
                case.kind,
                listing(&evaluation)
            ));
        }
        // Sparing by not looking is no near miss: some scope was measured
        // and the kind judged there.
        let judged = evaluation.measured.iter().any(|scope| {
            (scope != "registry" || registry_kinds.contains(&case.kind))
                && evaluation.judged(case.kind, scope)
        });
        if judged != case.measured {
            wrong.push(format!(
                "{}: {} {} (measured: {:?}, unjudged: {:?})",
                case.case,
                case.kind,
                if case.measured {
                    "was not judged anywhere"
                } else {
                    "was judged from a failure to measure"
                },
                evaluation.measured,
                evaluation.unjudged
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An evaluation in an order that does not depend on how it was sliced.
fn canonical(evaluation: &Evaluation) -> Vec<String> {
    let mut lines: Vec<String> = evaluation
        .findings
        .iter()
        .map(|f| format!("finding {f:?}"))
        .chain(evaluation.measured.iter().map(|m| format!("measured {m}")))
        .chain(
            evaluation
                .unjudged
                .iter()
                .map(|(kind, scope)| format!("unjudged {kind} {scope}")),
        )
        .chain(
            evaluation
                .failures
                .iter()
                .map(|f| format!("failed {} {}", f.scope, f.reason)),
        )
        .collect();
    lines.push(format!("ipv6 {}", evaluation.ipv6_works));
    lines.sort();
    lines
}

/// The daemon judges a province's names in slices: every case, raised
/// and spared, judged one host name at a time gives what judging the
/// round at once gives.
#[test]
fn judging_by_slices_gives_what_judging_at_once_gives() {
    let policies = Policies::load();
    let cases = raised_cases()
        .into_iter()
        .map(|c| (c.case, c.under, c.round))
        .chain(
            spared_cases()
                .into_iter()
                .map(|c| (c.case, c.under, c.round)),
        );
    let (mut several, mut links) = (0, 0);
    let mut wrong = Vec::new();
    let province = [
        (
            "a province, IPv6 answering",
            Under::BuiltIn,
            province_round(false),
        ),
        (
            "a province, IPv6 silent everywhere",
            Under::BuiltIn,
            province_round(true),
        ),
        (
            "a province, own networks",
            Under::OwnNetworks,
            province_round(false),
        ),
    ];
    for (case, under, round) in province.into_iter().chain(cases) {
        let policy = policies.get(under);
        let whole = round.evaluate(policy);
        let sliced = round.evaluate_by_host(policy);
        if canonical(&whole) != canonical(&sliced) {
            wrong.push(format!(
                "{case}: at once:\n{}\nby host:\n{}",
                listing(&whole),
                listing(&sliced)
            ));
        }
        several += usize::from(round.views().0.len() > 1);
        links += usize::from(
            whole
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::LinkToRetiredDomain),
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The cases that cross host names are there to be sliced.
    assert!(
        several >= 6 && links >= 4,
        "{several} cases with several hosts, {links} with links"
    );
    // What the province's names carry to each other was judged.
    let policy = policies.get(Under::BuiltIn);
    let sliced = province_round(false).evaluate_by_host(policy);
    for subject in [
        format!("{WWW} -> {OLD}"),
        format!("{WWW} -> {PROMO}"),
        format!("{DATA} -> {PROMO}"),
        ALIAS.to_string(),
    ] {
        assert!(
            sliced.findings.iter().any(|f| f.subject == subject),
            "no finding about {subject}:\n{}",
            listing(&sliced)
        );
    }
    assert!(
        sliced
            .unjudged
            .contains(&(FindingKind::LinkToRetiredDomain, DATA.to_string())),
        "a link to a name not measured is not judged"
    );
    let silent = province_round(true).evaluate_by_host(policy);
    assert!(!silent.ipv6_works);
    assert!(
        !silent
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Ipv6Unreachable),
        "{}",
        listing(&silent)
    );
}

/// Several sites whose findings cross host names: the portal links to a
/// closed site's name and to a name found dangling; a department links
/// to that name too (found dangling in a later slice) and to a name that
/// could not be measured; two names share a zone with a
/// lame name server. With `v6_silent`, no page loads over IPv6 on any of
/// three names (each alone would not tell that this machine has no IPv6).
fn province_round(v6_silent: bool) -> Round {
    let lame = zone(&[
        ("ns1.gansu.gov.cn", serves()),
        (
            "ns2.gansu.gov.cn",
            ServerStatus::Lame {
                reason: "REFUSED".into(),
            },
        ),
    ]);
    let mut round = Round::portal()
        .site(closed(3, OLD, now() - days(60)))
        .site(department(4, SiteStatus::Live, DATA))
        .site(department(5, SiteStatus::Live, NEW))
        .serving_page(
            WWW,
            linking(OLD).with(|page| {
                page.links.push(format!("https://{PROMO}/a.html"));
                page.link_hosts.insert(PROMO.to_string());
            }),
        )
        .delegation(WWW, lame.clone())
        .serving_page(
            DATA,
            linking(NEW).with(|page| {
                page.links.push(format!("https://{PROMO}/b.html"));
                page.link_hosts.insert(PROMO.to_string());
            }),
        )
        .delegation(DATA, lame)
        .dns(dangling(PROMO, "gansu-promo.campaign-vendor.com"))
        .dns(host_dns(NEW, DnsOutcome::Timeout, DnsOutcome::Timeout))
        .serving(OSS_HOST);
    if v6_silent {
        for name in [WWW, DATA, OSS_HOST] {
            round = round.page(name, V6, timeout());
        }
    }
    round
}

/// The baseline the cases start from: a healthy portal raises nothing,
/// under either policy, and counts as measured.
#[test]
fn a_healthy_portal_raises_nothing() {
    let policies = Policies::load();
    for under in [Under::BuiltIn, Under::OwnNetworks] {
        let evaluation = Round::portal()
            .serving(WWW)
            .delegation(WWW, zone(&[("ns1.gansu.gov.cn", serves())]))
            .evaluate(policies.get(under));
        assert!(
            evaluation.findings.is_empty(),
            "{under:?}:\n{}",
            listing(&evaluation)
        );
        for scope in [WWW, "registry", "ns:gansu.gov.cn"] {
            assert!(evaluation.measured.contains(scope), "{under:?}: {scope}");
        }
        assert!(evaluation.failures.is_empty(), "{under:?}");
        // Without own networks in policy, no address can be called outside
        // them: stale addresses are not judged at all.
        let unjudged: Vec<_> = evaluation.unjudged.iter().cloned().collect();
        match under {
            Under::BuiltIn => assert_eq!(
                unjudged,
                vec![(FindingKind::StaleAddress, WWW.to_string())],
                "{under:?}"
            ),
            Under::OwnNetworks => assert!(unjudged.is_empty(), "{under:?}"),
        }
    }
}

// --- false alarms ------------------------------------------------------------

/// A stored finding about the portal's host name, open since yesterday.
fn stored_on_www(id: i64, kind: FindingKind) -> Current {
    Current {
        id,
        kind,
        subject: WWW.to_string(),
        scope: WWW.to_string(),
        severity: kind.default_severity(),
        status: FindingStatus::Open,
        org_id: None,
        acknowledged: false,
        confirmations: 2,
        last_seen: now() - days(1),
    }
}

/// Asserts that a round could not measure the portal: nothing about it,
/// its scope unmeasured, a failure reported, and the findings stored about
/// it neither confirmed nor resolved.
fn assert_unmeasured(case: &str, evaluation: &Evaluation) {
    assert!(
        about(evaluation, WWW).is_empty(),
        "{case}:\n{}",
        listing(evaluation)
    );
    assert!(!evaluation.measured.contains(WWW), "{case}: measured");
    assert!(
        evaluation.failures.iter().any(|f| f.scope == WWW),
        "{case}: no failure reported: {:?}",
        evaluation.failures
    );
    let stored = [
        stored_on_www(1, FindingKind::NotResolving),
        stored_on_www(2, FindingKind::UnreachableButResolving),
        stored_on_www(3, FindingKind::DanglingCname),
    ];
    let changes = plan(&stored, evaluation, |_, _| false, 2, now());
    assert!(changes.is_empty(), "{case}: {changes:?}");
}

#[test]
fn dns_that_could_not_be_measured_is_no_finding() {
    let cases = [
        ("SERVFAIL", DnsOutcome::ServFail, DnsOutcome::ServFail),
        ("a timeout", DnsOutcome::Timeout, DnsOutcome::Timeout),
        (
            "a resolver that is down",
            DnsOutcome::Failed {
                reason: "no connections available".into(),
            },
            DnsOutcome::Failed {
                reason: "no connections available".into(),
            },
        ),
        ("REFUSED", DnsOutcome::Refused, DnsOutcome::Refused),
        (
            "A answered, AAAA timed out",
            answer(WWW, &[V4]),
            DnsOutcome::Timeout,
        ),
    ];
    let policy = Policy::built_in();
    for (case, a, aaaa) in cases {
        // The page that timed out would make the site unreachable, were
        // its DNS known.
        let evaluation = Round::portal()
            .dns(host_dns(WWW, a, aaaa))
            .page(WWW, V4, timeout())
            .evaluate(&policy);
        assert_unmeasured(case, &evaluation);
    }
}

#[test]
fn a_host_that_hit_its_deadline_is_no_finding() {
    let policy = Policy::built_in();
    // What was observed before the deadline would otherwise say the
    // portal does not resolve.
    let evaluation = Round::portal()
        .dns(nxdomain(WWW))
        .see(WWW, None, ObservationData::Deadline { after_ms: 30_000 })
        .evaluate(&policy);
    assert_unmeasured("deadline", &evaluation);
    // A probe that failed on our side (a panicked task) is the same.
    let evaluation = Round::portal()
        .dns(nxdomain(WWW))
        .see(
            WWW,
            None,
            ObservationData::Failed {
                reason: "a probe failed on our side: index out of range".into(),
            },
        )
        .evaluate(&policy);
    assert_unmeasured("probe failed", &evaluation);
    assert!(
        evaluation
            .failures
            .iter()
            .any(|f| f.scope == WWW && f.reason.contains("index out of range")),
        "the failure names the panic: {:?}",
        evaluation.failures
    );
}

#[test]
fn a_name_that_exists_only_through_the_wildcard_is_not_a_site() {
    let policy = Policy::built_in();
    let oa = "oa.gansu.gov.cn";
    let cases = [
        ("the wildcard's address", WILDCARD, false),
        ("an address of its own", "203.0.113.81", true),
    ];
    for (case, address, unapproved) in cases {
        let evaluation = Round::new()
            .resolves(oa, &[address])
            .delegation(oa, wildcard_zone(&[WILDCARD]))
            .page(
                oa,
                address,
                loaded(200, "https://oa.gansu.gov.cn/", plain("办公系统")),
            )
            .evaluate(&policy);
        let raised = evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnapprovedSite && f.subject == oa);
        assert_eq!(raised, unapproved, "{case}:\n{}", listing(&evaluation));
        if !unapproved {
            assert!(
                about(&evaluation, oa).is_empty(),
                "{case}:\n{}",
                listing(&evaluation)
            );
        }
    }

    // Wildcards below the apex (`*.bm.gansu.gov.cn`), one or two labels
    // down: the nearest level decides, the apex having none.
    let level = |parent: &str, wildcard: Option<bool>, addresses: &[&str]| WildcardLevel {
        parent: parent.to_string(),
        wildcard,
        addresses: addresses.iter().map(|a| ip(a)).collect(),
    };
    // (case, name, levels, the name's address, whether unapproved; None:
    // not judged)
    type Case = (
        &'static str,
        &'static str,
        Vec<WildcardLevel>,
        &'static str,
        Option<bool>,
    );
    let cases: Vec<Case> = vec![
        (
            "one label down, the wildcard's address",
            "xxgk.bm.gansu.gov.cn",
            vec![level("bm.gansu.gov.cn", Some(true), &[WILDCARD])],
            WILDCARD,
            Some(false),
        ),
        (
            "two labels down, the wildcard's address",
            "a.b.zt.gansu.gov.cn",
            vec![
                level("b.zt.gansu.gov.cn", Some(true), &[WILDCARD]),
                level("zt.gansu.gov.cn", Some(true), &[WILDCARD]),
            ],
            WILDCARD,
            Some(false),
        ),
        (
            "one label down, an address of its own",
            "xxgk.bm.gansu.gov.cn",
            vec![level("bm.gansu.gov.cn", Some(true), &[WILDCARD])],
            "203.0.113.81",
            Some(true),
        ),
        (
            "a wildcard higher up, none next to the name",
            "a.b.zt.gansu.gov.cn",
            vec![
                level("b.zt.gansu.gov.cn", Some(false), &[]),
                level("zt.gansu.gov.cn", Some(true), &[WILDCARD]),
            ],
            WILDCARD,
            Some(true),
        ),
        (
            "the level next to the name could not be asked",
            "xxgk.bm.gansu.gov.cn",
            vec![level("bm.gansu.gov.cn", None, &[])],
            WILDCARD,
            None,
        ),
    ];
    for (case, name, levels, address, unapproved) in cases {
        let evaluation = Round::new()
            .resolves(name, &[address])
            .delegation(
                name,
                zone(&[("ns1.gansu.gov.cn", serves())]).with(|z| z.levels = levels),
            )
            .page(
                name,
                address,
                loaded(200, &format!("https://{name}/"), plain("网站建设中")),
            )
            .evaluate(&policy);
        let raised = evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnapprovedSite && f.subject == name);
        let unjudged = evaluation
            .unjudged
            .contains(&(FindingKind::UnapprovedSite, name.to_string()));
        match unapproved {
            Some(expected) => {
                assert_eq!(raised, expected, "{case}:\n{}", listing(&evaluation));
                assert!(!unjudged, "{case}: judged");
            }
            None => assert!(!raised && unjudged, "{case}:\n{}", listing(&evaluation)),
        }
    }
}

/// A wildcard is reported once, at the level it answers from: a level
/// below that answers the same is the apex's wildcard reaching down, and
/// one that answers something else is a wildcard of its own.
#[test]
fn each_wildcard_is_reported_once_where_it_is() {
    let policy = Policy::built_in();
    let level = |parent: &str, addresses: &[&str]| WildcardLevel {
        parent: parent.to_string(),
        wildcard: Some(true),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
    };
    let name = "a.b.zt.gansu.gov.cn";
    let cases = [
        (
            "the apex's wildcard reaching down",
            vec![
                level("b.zt.gansu.gov.cn", &[WILDCARD]),
                level("zt.gansu.gov.cn", &[WILDCARD]),
            ],
            vec!["*.gansu.gov.cn"],
        ),
        (
            "a wildcard of its own below the apex's",
            vec![
                level("b.zt.gansu.gov.cn", &["203.0.113.81"]),
                level("zt.gansu.gov.cn", &["203.0.113.81"]),
            ],
            vec!["*.gansu.gov.cn", "*.zt.gansu.gov.cn"],
        ),
    ];
    for (case, levels, expected) in cases {
        let evaluation = Round::portal()
            .serving(WWW)
            .delegation(WWW, wildcard_zone(&[WILDCARD]))
            .resolves(name, &[WILDCARD])
            .delegation(name, wildcard_zone(&[WILDCARD]).with(|z| z.levels = levels))
            .evaluate(&policy);
        let found: Vec<&str> = evaluation
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::WildcardRecord)
            .map(|f| f.subject.as_str())
            .collect();
        assert_eq!(found, expected, "{case}:\n{}", listing(&evaluation));
    }
}

/// The consolidated platform's default virtual host answers any Host
/// header with one of its sites' homepages: a discovered name that serves
/// a registered site's own homepage (same title and code) from that
/// site's address is no new site. Judged whichever slice sees the site.
#[test]
fn the_platforms_default_virtual_host_is_no_new_site() {
    let policy = Policy::built_in();
    let name = "yq.gansu.gov.cn";
    let url = format!("https://{name}/");
    let other_page = homepage().with(|p| p.title = Some("甘肃省应急管理厅".into()));
    let cases = [
        (
            "the portal's homepage at the portal's address",
            V4,
            homepage(),
            false,
        ),
        (
            "the portal's homepage from another address",
            "203.0.113.81",
            homepage(),
            true,
        ),
        (
            "a page of its own at the portal's address",
            V4,
            other_page,
            true,
        ),
    ];
    for (case, address, page, raised) in cases {
        let round = Round::portal()
            .serving(WWW)
            .resolves(name, &[address])
            .delegation(name, zone(&[("ns1.gansu.gov.cn", serves())]))
            .page(name, address, loaded(200, &url, page));
        let evaluation = round.evaluate(&policy);
        let found = evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnapprovedSite && f.subject == name);
        assert_eq!(found, raised, "{case}:\n{}", listing(&evaluation));
        assert!(evaluation.measured.contains(name), "{case}");
        assert!(
            !evaluation
                .unjudged
                .contains(&(FindingKind::UnapprovedSite, name.to_string())),
            "{case}: judged"
        );
        // The same, one host name at a time, the discovered name first.
        let (hosts, feeds) = round.views();
        let registry = siteward::findings::Registry {
            sites: &round.sites,
            orgs: &round.orgs,
            accounts: &round.accounts,
        };
        let mut judge = siteward::findings::Judge::new(registry, &policy, now(), true, false);
        for (host, view) in hosts.iter().rev() {
            judge.hosts(&BTreeMap::from([(host.clone(), view.clone())]));
        }
        let sliced = judge.finish(&feeds);
        let found = sliced
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnapprovedSite && f.subject == name);
        assert_eq!(found, raised, "{case}, in slices");
    }
}

/// How likely a takeover is decides how loud a dangling CNAME is.
#[test]
fn takeover_likelihood_sets_the_severity() {
    let policy = Policy::built_in();
    let cases = [
        (
            "a CNAME to Fastly answering its unknown-domain page",
            fastly_round(),
            FASTLY_HOST,
            None,
        ),
        (
            "an unclaimed Alibaba Cloud OSS bucket",
            oss_round(),
            OSS_HOST,
            Some(("low", Severity::Warning)),
        ),
        (
            "an NXDOMAIN target whose registrable domain nobody holds, outside the region",
            unregistered_round(),
            PROMO,
            Some(("high", Severity::Critical)),
        ),
        (
            "an NXDOMAIN target outside the region, registration unknown",
            vendor_gone_round(),
            WWW,
            Some(("medium", Severity::Critical)),
        ),
        (
            "a deleted CloudFront distribution, its own name told unregistered",
            claimed_round("e2k4x9.cloudfront.net", true),
            PROMO,
            Some(("low", Severity::Warning)),
        ),
    ];
    for (case, round, name, expected) in cases {
        let evaluation = round.evaluate(&policy);
        let dangling: Vec<&Finding> = evaluation
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::DanglingCname && f.subject == name)
            .collect();
        match expected {
            None => assert!(
                about(&evaluation, name).is_empty(),
                "{case}:\n{}",
                listing(&evaluation)
            ),
            Some((likelihood, severity)) => {
                assert_eq!(dangling.len(), 1, "{case}:\n{}", listing(&evaluation));
                let finding = dangling[0];
                assert_eq!(finding.severity, severity, "{case}");
                assert!(
                    finding
                        .evidence
                        .iter()
                        .any(|e| e.probe == "policy" && e.outcome == likelihood),
                    "{case}: likelihood {likelihood} not in {:?}",
                    finding.evidence
                );
            }
        }
    }
}

/// A broken record that others cannot claim reads as a record to clean
/// up; a registrable domain that answers NXDOMAIN "may be" registrable
/// (a `.cn` name on serverHold answers NXDOMAIN too), never "is".
#[test]
fn takeover_wording_says_what_is_known() {
    let policy = Policy::built_in();
    let summary = |round: Round| {
        round
            .evaluate(&policy)
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::DanglingCname)
            .map(|f| f.summary.clone())
            .expect("a dangling CNAME")
    };
    for target in [
        "e2k4x9.cloudfront.net",
        "gansu-1234.cn-north-1.elb.amazonaws.com",
        "gansu-img.oss-cn-hangzhou.aliyuncs.com",
    ] {
        let text = summary(claimed_round(target, true));
        assert!(text.contains("应予清理"), "{target}: {text}");
        assert!(!text.contains("注册"), "{target}: {text}");
    }
    let text = summary(unregistered_round());
    assert!(text.contains("可能尚未注册"), "{text}");
    assert!(text.contains("可能被他人注册"), "{text}");
    assert!(!text.contains("未被注册"), "{text}");
}

#[test]
fn a_retired_name_may_resolve_until_its_release_deadline() {
    let policy = Policy::built_in();
    let without_deadline = |offline_days: i64| {
        offline(3, OLD, now()).with(|s| {
            s.domains[0].release_deadline = None;
            s.times.offline_at = Some(now() - days(offline_days));
        })
    };
    // The built-in release grace is 30 days.
    let cases = [
        (
            "the deadline is ten days away",
            offline(3, OLD, now() + days(10)),
            false,
        ),
        ("the deadline is now", offline(3, OLD, now()), false),
        (
            "the deadline passed yesterday",
            offline(3, OLD, now() - days(1)),
            true,
        ),
        (
            "no recorded deadline, offline for 29 days",
            without_deadline(29),
            false,
        ),
        (
            "no recorded deadline, offline for 31 days",
            without_deadline(31),
            true,
        ),
    ];
    for (case, retired, expected) in cases {
        let evaluation = Round::new()
            .site(retired)
            .resolves(OLD, &["203.0.113.30"])
            .evaluate(&policy);
        let raised = evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::OfflineStillResolving && f.subject == OLD);
        assert_eq!(raised, expected, "{case}:\n{}", listing(&evaluation));
        if !expected {
            assert!(
                about(&evaluation, OLD).is_empty(),
                "{case}:\n{}",
                listing(&evaluation)
            );
        }
    }
}

/// A machine without IPv6 would find every site's IPv6 unreachable: when
/// three or more IPv6 homepages were tried and none answered, IPv6
/// reachability is not judged at all.
#[test]
fn ipv6_is_not_judged_when_no_ipv6_address_answered() {
    let policy = Policy::built_in();
    let names = ["www.gansu.gov.cn", "jyt.gansu.gov.cn", "wsjkw.gansu.gov.cn"];
    // (case, hosts observed, of which the first `failing` fail over IPv6,
    // whether IPv6 is judged)
    let cases = [
        ("three tried, none answered", 3, 3, false),
        ("three tried, one answered", 3, 2, true),
        ("only two tried", 2, 2, true),
    ];
    for (case, observed, failing, judged) in cases {
        let mut round = Round::new();
        for (i, name) in names.iter().take(observed).enumerate() {
            let id = i as i64 + 1;
            round = round
                .site(if id == 1 {
                    portal()
                } else {
                    department(id, SiteStatus::Live, name)
                })
                .serving(name);
            if i < failing {
                round = round.page(name, V6, timeout());
            }
        }
        let evaluation = round.evaluate(&policy);
        for name in names.iter().take(failing) {
            let raised = evaluation
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::Ipv6Unreachable && f.subject == *name);
            assert_eq!(raised, judged, "{case}: {name}\n{}", listing(&evaluation));
            assert!(evaluation.measured.contains(*name), "{case}: {name}");
            for kind in [FindingKind::Ipv6Unreachable, FindingKind::Ipv6Partial] {
                assert_eq!(
                    evaluation.judged(kind, name),
                    judged,
                    "{case}: {kind} on {name}"
                );
                assert_eq!(
                    evaluation.unjudged.contains(&(kind, name.to_string())),
                    !judged,
                    "{case}: {kind} on {name}"
                );
            }
        }
    }
}

// --- bugs --------------------------------------------------------------------

/// The lifecycle releases a rejected request's host names (`Reject` sets
/// them `released`), so the rules must still see a rejected request whose
/// name serves pages as an unapproved site, as their `Rejected` arm says.
#[test]
fn a_rejected_request_that_serves_pages_is_an_unapproved_site() {
    let rejected = uncoded(department(9, SiteStatus::Rejected, NEW)).with(|s| {
        s.times.rejected_at = Some(now() - days(30));
        s.status_changed_at = now() - days(30);
        s.status_reason = Some("重复建设".into());
        s.domains[0].state = DomainState::Released;
        s.domains[0].released_at = Some(now() - days(30));
    });
    let evaluation = Round::new()
        .site(rejected)
        .resolves(NEW, &["203.0.113.21"])
        .delegation(NEW, zone(&[("ns1.gansu.gov.cn", serves())]))
        .page(
            NEW,
            "203.0.113.21",
            loaded(200, "https://new.gansu.gov.cn/", plain("新平台")),
        )
        .evaluate(&Policy::built_in());
    let kinds: Vec<FindingKind> = about(&evaluation, NEW).iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![FindingKind::UnapprovedSite],
        "{}",
        listing(&evaluation)
    );
}

/// "A site that does not load says so; its IPv6 and its pages cannot be
/// judged until it does": what was found on its pages must be left as it
/// is, not resolved because the pages could not be read.
#[test]
fn an_unreachable_site_leaves_its_page_findings_as_they_are() {
    let evaluation = Round::portal()
        .resolves(WWW, &[V4, V6])
        .page(WWW, V4, timeout())
        .page(WWW, V6, timeout())
        .evaluate(&Policy::built_in());
    assert!(
        evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnreachableButResolving),
        "{}",
        listing(&evaluation)
    );
    let stored = [
        stored_on_www(1, FindingKind::SuspectedTampering),
        stored_on_www(2, FindingKind::SiteCodeMissingOnPage),
        stored_on_www(3, FindingKind::SiteCodeMismatch),
        Current {
            subject: format!("{WWW} -> {OLD}"),
            ..stored_on_www(4, FindingKind::LinkToRetiredDomain)
        },
    ];
    let changes = plan(&stored, &evaluation, |_, _| false, 2, now());
    let resolved: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::Resolve { .. }))
        .collect();
    assert!(resolved.is_empty(), "{resolved:?}");
}

// --- plan ------------------------------------------------------------------

/// What a change says, without the finding it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Insert(FindingKind, FindingStatus, u32),
    Update(i64, FindingStatus, u32),
    Resolve(i64),
}

fn expect_of(change: &Change) -> Expect {
    match change {
        Change::Insert {
            finding,
            status,
            confirmations,
        } => Expect::Insert(finding.kind, *status, *confirmations),
        Change::Update {
            was,
            status,
            confirmations,
            ..
        } => Expect::Update(was.id, *status, *confirmations),
        Change::Resolve { was, at } => {
            assert_eq!(*at, now(), "resolved now");
            Expect::Resolve(was.id)
        }
    }
}

/// The round before this one.
fn earlier() -> DateTime<Utc> {
    seen() - Duration::minutes(15)
}

/// A finding about the portal's host name, observed at `at`.
fn found(kind: FindingKind, at: DateTime<Utc>) -> Finding {
    Finding {
        kind,
        severity: kind.default_severity(),
        subject: WWW.to_string(),
        scope: WWW.to_string(),
        site_id: Some(1),
        org_id: Some(1),
        summary: format!("{kind} on {WWW}"),
        action: String::new(),
        evidence: vec![],
        observed_at: at,
    }
}

/// What the store holds about the portal's host name: finding 7.
fn holds(
    kind: FindingKind,
    status: FindingStatus,
    confirmations: u32,
    last_seen: DateTime<Utc>,
) -> Current {
    Current {
        id: 7,
        kind,
        subject: WWW.to_string(),
        scope: WWW.to_string(),
        severity: kind.default_severity(),
        acknowledged: status == FindingStatus::Acknowledged,
        status,
        org_id: None,
        confirmations,
        last_seen,
    }
}

struct PlanCase {
    case: &'static str,
    stored: Vec<Current>,
    found: Vec<Finding>,
    measured: bool,
    unjudged: Vec<FindingKind>,
    /// The kind an exception in force waives on the portal's host name.
    waived: Option<FindingKind>,
    needed: u32,
    expect: Vec<Expect>,
}

/// A round that measured the portal's host name and found `found`, against
/// what the store holds, two confirmations needed, no exception.
fn planned(
    case: &'static str,
    stored: Vec<Current>,
    found: Vec<Finding>,
    expect: Vec<Expect>,
) -> PlanCase {
    PlanCase {
        case,
        stored,
        found,
        measured: true,
        unjudged: vec![],
        waived: None,
        needed: 2,
        expect,
    }
}

#[test]
fn plan_confirms_opens_suppresses_and_resolves() {
    use FindingKind::{CertExpired, DanglingCname, Ipv6Unreachable};
    use FindingStatus::{Acknowledged, Open, Pending, Suppressed};
    let cases = vec![
        planned(
            "a new accusing finding waits for a second observation",
            vec![],
            vec![found(DanglingCname, seen())],
            vec![Expect::Insert(DanglingCname, Pending, 1)],
        ),
        planned(
            "seen again in a later round, it opens",
            vec![holds(DanglingCname, Pending, 1, earlier())],
            vec![found(DanglingCname, seen())],
            vec![Expect::Update(7, Open, 2)],
        ),
        planned(
            "the same observations evaluated twice confirm nothing",
            vec![holds(DanglingCname, Pending, 1, seen())],
            vec![found(DanglingCname, seen())],
            vec![Expect::Update(7, Pending, 1)],
        ),
        planned(
            "an open finding evaluated twice stays open",
            vec![holds(DanglingCname, Open, 2, seen())],
            vec![found(DanglingCname, seen())],
            vec![Expect::Update(7, Open, 2)],
        ),
        planned(
            "a finding that accuses nobody opens at once",
            vec![],
            vec![found(CertExpired, seen())],
            vec![Expect::Insert(CertExpired, Open, 1)],
        ),
        PlanCase {
            needed: 1,
            ..planned(
                "with one confirmation needed, an accusing finding opens at once",
                vec![],
                vec![found(DanglingCname, seen())],
                vec![Expect::Insert(DanglingCname, Open, 1)],
            )
        },
        planned(
            "a finding raised twice in one round counts once",
            vec![],
            vec![found(DanglingCname, seen()), found(DanglingCname, seen())],
            vec![Expect::Insert(DanglingCname, Pending, 1)],
        ),
        planned(
            "a stored finding absent from a round that measured its scope resolves",
            vec![holds(CertExpired, Open, 1, earlier())],
            vec![],
            vec![Expect::Resolve(7)],
        ),
        PlanCase {
            measured: false,
            ..planned(
                "a stored finding absent from a round that did not measure its scope stays",
                vec![holds(DanglingCname, Open, 2, earlier())],
                vec![],
                vec![],
            )
        },
        PlanCase {
            unjudged: vec![Ipv6Unreachable],
            ..planned(
                "a stored finding whose kind could not be judged stays",
                vec![holds(Ipv6Unreachable, Open, 2, earlier())],
                vec![],
                vec![],
            )
        },
        PlanCase {
            waived: Some(DanglingCname),
            ..planned(
                "an exception in force suppresses a confirmed finding",
                vec![holds(DanglingCname, Pending, 1, earlier())],
                vec![found(DanglingCname, seen())],
                vec![Expect::Update(7, Suppressed, 2)],
            )
        },
        PlanCase {
            waived: Some(CertExpired),
            ..planned(
                "an exception in force suppresses a new finding that accuses nobody",
                vec![],
                vec![found(CertExpired, seen())],
                vec![Expect::Insert(CertExpired, Suppressed, 1)],
            )
        },
        PlanCase {
            waived: Some(DanglingCname),
            ..planned(
                "an exception does not skip confirmation",
                vec![],
                vec![found(DanglingCname, seen())],
                vec![Expect::Insert(DanglingCname, Pending, 1)],
            )
        },
        PlanCase {
            waived: Some(CertExpired),
            ..planned(
                "an exception waives only its own kind",
                vec![],
                vec![found(DanglingCname, seen())],
                vec![Expect::Insert(DanglingCname, Pending, 1)],
            )
        },
        planned(
            "an acknowledged finding seen again stays acknowledged",
            vec![holds(DanglingCname, Acknowledged, 3, earlier())],
            vec![found(DanglingCname, seen())],
            vec![Expect::Update(7, Acknowledged, 4)],
        ),
        planned(
            "an acknowledged finding that stops holding resolves",
            vec![holds(CertExpired, Acknowledged, 1, earlier())],
            vec![],
            vec![Expect::Resolve(7)],
        ),
    ];
    for case in cases {
        let evaluation = Evaluation {
            findings: case.found.clone(),
            measured: if case.measured {
                BTreeSet::from([WWW.to_string(), "registry".to_string()])
            } else {
                BTreeSet::from(["registry".to_string()])
            },
            unjudged: case
                .unjudged
                .iter()
                .map(|kind| (*kind, WWW.to_string()))
                .collect(),
            failures: vec![],
            ipv6_works: true,
        };
        let waived = case.waived;
        let changes = plan(
            &case.stored,
            &evaluation,
            |kind, subject| Some(kind) == waived && subject == WWW,
            case.needed,
            now(),
        );
        let got: Vec<Expect> = changes.iter().map(expect_of).collect();
        assert_eq!(got, case.expect, "{}", case.case);
        // An insert or update carries this round's finding as it is.
        for change in &changes {
            if let Change::Insert { finding, .. } | Change::Update { finding, .. } = change {
                assert!(case.found.contains(finding), "{}", case.case);
            }
        }
    }
}

/// A round's evaluation feeds `plan` as the checker feeds it: a dangling
/// CNAME waits after the first round, stays waiting when the same
/// observations are evaluated again, and opens after a later round.
#[test]
fn a_dangling_name_opens_on_the_second_round() {
    let policy = Policy::built_in();
    let evaluation = vendor_gone_round().evaluate(&policy);
    let first = plan(&[], &evaluation, |_, _| false, 2, now());
    let inserted: Vec<Expect> = first.iter().map(expect_of).collect();
    assert_eq!(
        inserted,
        vec![Expect::Insert(
            FindingKind::DanglingCname,
            FindingStatus::Pending,
            1
        )],
        "{}",
        listing(&evaluation)
    );
    let stored = holds(
        FindingKind::DanglingCname,
        FindingStatus::Pending,
        1,
        seen(),
    );
    let mut later = evaluation.clone();
    for finding in &mut later.findings {
        finding.observed_at = seen() + Duration::minutes(1);
    }
    for (case, evaluation, expect) in [
        ("the same round again", &evaluation, FindingStatus::Pending),
        ("a later round", &later, FindingStatus::Open),
    ] {
        let changes = plan(
            std::slice::from_ref(&stored),
            evaluation,
            |_, _| false,
            2,
            now(),
        );
        let statuses: Vec<FindingStatus> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Update { status, .. } => Some(*status),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, vec![expect], "{case}");
    }
}

/// The inspection's standard: a site fails when 5% or more of a week's
/// visits do not load, even if it loads right now.
#[test]
fn a_site_that_often_fails_over_the_week_is_unreachable() {
    let policy = Policy::built_in();
    let cases: &[(u64, u64, bool)] = &[
        (140, 7, true),
        (140, 30, true),
        (140, 6, false),
        (10, 9, false),
        (0, 0, false),
    ];
    for (visits, failed, raised) in cases {
        let evaluation = Round::portal()
            .serving(WWW)
            .history(WWW, *visits, *failed)
            .evaluate(&policy);
        let found = evaluation
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::UnreachableButResolving);
        assert_eq!(
            found.is_some(),
            *raised,
            "{failed} of {visits}:\n{}",
            listing(&evaluation)
        );
        if let Some(found) = found {
            assert!(found.summary.contains("过去 7 天"), "{}", found.summary);
            assert_eq!(found.subject, WWW);
        }
    }
}

/// A machine with no route to IPv6 (ENETUNREACH, or "no route to host"
/// where it has no route at all) cannot tell anything about a site's
/// IPv6: IPv6 is unjudged for the whole round, even when only one host
/// was tried, and what was open stays open. A host whose every address
/// was out of reach is unmeasured.
#[test]
fn ipv6_unreachable_from_here_judges_no_ipv6() {
    use FindingKind::*;
    let policy = Policy::built_in();
    let url = format!("https://{WWW}/");
    let local = || {
        PageOutcome::Local {
        reason: "connect [2001:db8::10]:443: no way from this machine to [2001:db8::10]:443: Network is unreachable (os error 101)".into(),
    }
    };
    let round = Round::portal()
        .resolves(WWW, &[V4, V6])
        .page(WWW, V4, loaded(200, &url, homepage()))
        .page(WWW, V6, local())
        .tls(WWW, V4, TlsVerdict::Valid)
        .tls(
            WWW,
            V6,
            TlsVerdict::HandshakeFailed {
                reason: siteward::probe::tls::HandshakeFailure::Local,
                detail: "connect: Network is unreachable (os error 101)".into(),
            },
        )
        .ipv6(WWW, reach(10, 0));
    let evaluation = round.evaluate(&policy);
    for kind in [Ipv6Unreachable, Ipv6Partial, UnreachableButResolving] {
        assert!(
            !evaluation.findings.iter().any(|f| f.kind == kind),
            "{kind} raised:\n{}",
            listing(&evaluation)
        );
    }
    for kind in [Ipv6Unreachable, Ipv6Partial] {
        assert!(
            evaluation.unjudged.contains(&(kind, WWW.to_string())),
            "{kind} judged"
        );
    }
    assert!(evaluation.measured.contains(WWW), "IPv4 was measured");
    let stored = [
        stored_on_www(1, Ipv6Unreachable),
        stored_on_www(2, Ipv6Partial),
    ];
    let changes = plan(&stored, &evaluation, |_, _| false, 2, now());
    assert!(changes.is_empty(), "{changes:?}");

    // Every address out of reach from here: the host is unmeasured.
    let evaluation = Round::portal()
        .resolves(WWW, &[V4, V6])
        .page(WWW, V4, local())
        .page(WWW, V6, local())
        .evaluate(&policy);
    assert_unmeasured("no route to any address", &evaluation);
}

/// What this machine or a deadline kept from being seen is no finding, and
/// what was found before stands (the review of the first version found
/// each of these raising or resolving something).
#[test]
fn failures_on_our_side_judge_nothing() {
    use FindingKind::*;
    let policy = Policy::built_in();
    let local = || TlsVerdict::HandshakeFailed {
        reason: siteward::probe::tls::HandshakeFailure::Local,
        detail: "connect: Network is unreachable (os error 101)".into(),
    };
    let tls_timeout = || TlsVerdict::HandshakeFailed {
        reason: siteward::probe::tls::HandshakeFailure::Timeout,
        detail: "no handshake within the deadline".into(),
    };
    let url = format!("https://{WWW}/");
    // (case, round, kinds that must not be raised, kinds that must be unjudged on WWW)
    let cases: Vec<(&str, Round, Vec<FindingKind>, Vec<FindingKind>)> = vec![
        (
            "no route to the IPv6 address: no TLS verdict there",
            Round::portal()
                .resolves(WWW, &[V4, V6])
                .page(WWW, V4, loaded(200, &url, homepage()))
                .tls(WWW, V4, TlsVerdict::Valid)
                .tls(WWW, V6, local()),
            vec![TlsHandshakeFailed, HttpsMissing],
            vec![CertExpired, TlsHandshakeFailed],
        ),
        (
            "a handshake that timed out: the certificate was not seen",
            Round::portal()
                .resolves(WWW, &[V4])
                .page(WWW, V4, loaded(200, &url, homepage()))
                .tls(WWW, V4, tls_timeout()),
            vec![CertExpired, HttpsMissing],
            vec![CertExpired, CertExpiring],
        ),
        (
            "an SM2-only site our TLS stack cannot read is not unreachable",
            Round::portal()
                .resolves(WWW, &[V4])
                .page(WWW, V4, unreachable())
                .tls(WWW, V4, TlsVerdict::Sm2),
            vec![UnreachableButResolving],
            vec![UnreachableButResolving, SuspectedTampering],
        ),
        (
            "a page cut before its footer: its code and organizer were never read",
            Round::portal().serving_page(
                WWW,
                homepage().with(|p| {
                    p.footer_codes.clear();
                    p.organizer = None;
                    p.mentions.clear();
                    p.title = Some("首页".into());
                    p.incomplete = true;
                }),
            ),
            vec![SiteCodeMissingOnPage, SuspectedTampering],
            vec![SiteCodeMissingOnPage],
        ),
        (
            "no inner page loaded over IPv4: no rate to compare",
            Round::portal().serving(WWW).ipv6(WWW, reach(0, 0)),
            vec![Ipv6Partial],
            vec![Ipv6Partial],
        ),
        (
            "the inner-page sample ran out of time: no rate at all",
            Round::portal()
                .resolves(WWW, &[V4, V6])
                .page(WWW, V4, loaded(200, &url, homepage()))
                .page(WWW, V6, loaded(200, &url, homepage()))
                .tls(WWW, V4, TlsVerdict::Valid)
                .tls(WWW, V6, TlsVerdict::Valid),
            vec![Ipv6Partial],
            vec![Ipv6Partial],
        ),
    ];
    for (case, round, not_raised, unjudged) in cases {
        let evaluation = round.evaluate(&policy);
        for kind in &not_raised {
            assert!(
                !evaluation.findings.iter().any(|f| f.kind == *kind),
                "{case}: {kind} raised:\n{}",
                listing(&evaluation)
            );
        }
        for kind in &unjudged {
            assert!(
                evaluation.unjudged.contains(&(*kind, WWW.to_string())),
                "{case}: {kind} judged"
            );
        }
    }

    // A name server that does not answer may be filtered from here.
    let silent = ServerStatus::Unreachable {
        reason: "no answer".into(),
    };
    let evaluation = Round::portal()
        .serving(WWW)
        .delegation(
            WWW,
            zone(&[("ns1.gansu.gov.cn", serves()), ("ns2.gansu.gov.cn", silent)]),
        )
        .evaluate(&policy);
    assert!(
        !evaluation.findings.iter().any(|f| f.kind == DanglingNs),
        "{}",
        listing(&evaluation)
    );
    assert!(!evaluation.measured.contains("ns:gansu.gov.cn"));

    // Whether the zone has a wildcard is unknown: no unapproved site.
    let unknown = zone(&[("ns1.gansu.gov.cn", serves())]).with(|d| d.wildcard = None);
    let evaluation = Round::new()
        .resolves(DATA, &["203.0.113.20"])
        .delegation(DATA, unknown)
        .page(
            DATA,
            "203.0.113.20",
            loaded(200, "https://data.gansu.gov.cn/", plain("平台")),
        )
        .evaluate(&policy);
    assert!(evaluation.findings.iter().all(|f| f.kind != UnapprovedSite));
    assert!(
        evaluation
            .unjudged
            .contains(&(UnapprovedSite, DATA.to_string()))
    );

    // A feed with no dated entries says nothing about the account.
    let evaluation = Round::new()
        .account(fed_account(AccountStatus::Active))
        .feed(FeedResult::Read(FeedRead {
            format: "rss".into(),
            entries: 0,
            latest_post_at: None,
            undated: 0,
            future_dated: 0,
        }))
        .evaluate(&policy);
    assert!(evaluation.findings.iter().all(|f| f.kind != AccountStale));
    assert_eq!(evaluation.failures.len(), 1, "{:?}", evaluation.failures);
}

/// A homepage that sends visitors to a host outside the government
/// suffixes is suspected of tampering; one that moves within them is not.
#[test]
fn a_homepage_redirecting_off_government_domains_is_suspect() {
    let redirect = |to: &str| PageOutcome::Loaded {
        status: 302,
        final_url: format!("https://{WWW}/"),
        hops: vec![],
        redirected_to: Some(to.to_string()),
        body_bytes: 0,
        truncated: false,
        page: Box::new(Page::default()),
        server: None,
        takeover: vec![],
        elapsed_ms: 20,
    };
    for (to, raised) in [
        ("https://www.jinsha-casino.example/", true),
        ("https://www.gansu.gov.cn.evil.example/", true),
        ("https://gansu.gov.cn/portal/", false),
        ("https://www.gov.cn/", false),
    ] {
        let evaluation = Round::portal()
            .resolves(WWW, &[V4])
            .page(WWW, V4, redirect(to))
            .tls(WWW, V4, TlsVerdict::Valid)
            .evaluate(&Policy::built_in());
        let found = evaluation
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::SuspectedTampering && f.subject == WWW);
        assert_eq!(found, raised, "{to}:\n{}", listing(&evaluation));
    }
}

/// A finding's scope is written and read in one place; every form reads
/// back as what was written, and the registry's constant is its form.
#[test]
fn scopes_round_trip() {
    use siteward::findings::Scope;
    let scopes = [
        Scope::Host("www.gansu.gov.cn".parse().expect("host")),
        Scope::Zone("oldcounty.gansu.gov.cn".into()),
        Scope::Account(42),
        Scope::Registry,
    ];
    for scope in scopes {
        assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope.clone()));
    }
    assert_eq!(Scope::Registry.to_string(), siteward::findings::REGISTRY);
    assert!("account:x".parse::<Scope>().is_err());
}

/// Finding summaries tell why a certificate or a handshake failed in
/// Chinese, never in the probe's English or as Rust values; the evidence
/// keeps the English words (with the address and port of a failed
/// handshake); words stored by an older version read as a chain that is
/// not valid.
#[test]
fn certificate_and_handshake_summaries_are_chinese_words() {
    use siteward::probe::words::CertProblem;
    let policy = Policy::built_in();
    let finding = |verdict: TlsVerdict, kind: FindingKind| {
        Round::portal()
            .serving(WWW)
            .tls(WWW, V4, verdict)
            .evaluate(&policy)
            .findings
            .into_iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?}"))
    };
    // ASCII in a summary: the host name, and TLS or CA as an office
    // writes them; nothing else.
    let foreign = |summary: &str| {
        summary
            .replace(WWW, "")
            .replace("TLS", "")
            .replace("CA", "")
            .chars()
            .any(|c| c.is_ascii_alphabetic() || c == '{' || c == '(')
    };
    let ca = CertProblem::CaUsedAsEndEntity.words();
    let untrusted = finding(
        TlsVerdict::Untrusted { reason: ca.into() },
        FindingKind::CertUntrusted,
    );
    assert!(
        untrusted
            .summary
            .contains("服务器把 CA 证书当作自身证书使用"),
        "{}",
        untrusted.summary
    );
    assert!(!foreign(&untrusted.summary), "{}", untrusted.summary);
    assert!(
        untrusted
            .evidence
            .iter()
            .any(|e| e.detail.contains(ca) && e.address.as_deref() == Some("203.0.113.10:8443")),
        "{:?}",
        untrusted.evidence
    );
    let old = finding(
        TlsVerdict::Untrusted {
            reason: "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))".into(),
        },
        FindingKind::CertUntrusted,
    );
    assert!(old.summary.contains("证书链无效"), "{}", old.summary);
    assert!(!foreign(&old.summary), "{}", old.summary);

    let detail =
        "TLS handshake with 203.0.113.10:8443 failed: the server sent the alert handshake_failure";
    let failed = finding(
        TlsVerdict::HandshakeFailed {
            reason: HandshakeFailure::Alert,
            detail: detail.into(),
        },
        FindingKind::TlsHandshakeFailed,
    );
    assert!(
        failed.summary.contains("服务器拒绝了握手"),
        "{}",
        failed.summary
    );
    assert!(!foreign(&failed.summary), "{}", failed.summary);
    assert!(
        failed.evidence.iter().any(|e| e.detail.contains(detail)),
        "{:?}",
        failed.evidence
    );
}

/// An unreachable homepage is summarised in Chinese (无法连接、超时), not
/// by the probe's outcome names (`unreachable`, `timeout`).
#[test]
fn an_unreachable_homepage_is_summarised_in_chinese() {
    let policy = Policy::built_in();
    let round = Round::portal()
        .resolves(WWW, &[V4, V6])
        .page(WWW, V4, unreachable())
        .page(WWW, V6, timeout());
    let evaluation = round.evaluate(&policy);
    let finding = evaluation
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::UnreachableButResolving)
        .expect("unreachable but resolving");
    assert!(
        finding.summary.contains("无法连接") && finding.summary.contains("超时"),
        "{}",
        finding.summary
    );
    for english in ["unreachable", "timeout"] {
        assert!(!finding.summary.contains(english), "{}", finding.summary);
    }
}

/// A primary name that does not resolve is summarised with the DNS
/// outcomes in Chinese (the DNS term beside them), not the probe's
/// identifiers (`nxdomain`, `nodata`).
#[test]
fn a_name_that_does_not_resolve_is_summarised_in_chinese() {
    let policy = Policy::built_in();
    let evaluation = Round::portal()
        .dns(host_dns(WWW, DnsOutcome::NoData, DnsOutcome::NoData))
        .evaluate(&policy);
    let finding = evaluation
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::NotResolving)
        .expect("not resolving");
    assert!(
        finding
            .summary
            .contains("A：无此类型记录（NODATA），AAAA：无此类型记录（NODATA）"),
        "{}",
        finding.summary
    );
    assert!(!finding.summary.contains("nodata"), "{}", finding.summary);
}
