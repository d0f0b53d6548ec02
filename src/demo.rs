//! `siteward demo`: the README's first command. It starts the simulated
//! province of `sim::region` (healthy portals among the six real cases,
//! accounts, dangling records), a temporary SQLite database and the
//! daemon on a schedule of seconds, and prints each finding as it opens
//! and resolves, then a summary of what was found. An office's webhook
//! receiver, a WeCom and a DingTalk group robot (signatures, formats and
//! limits checked) and an SMTP relay (STARTTLS under a demo CA) run on
//! loopback: the critical findings are routed to all four, and the demo
//! prints what each receives. The daemon serves the HTTP API and the web
//! page too: the demo prints their address, an admin token it made with
//! a `curl` line, and a web login it made.
//! Ctrl-C (or `--seconds`) stops it; its temporary files are removed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::app::daemon::{ServeOptions, serve};
use crate::app::{App, db, load_config};
use crate::findings::text::{kind_name, severity_name};
use crate::findings::{FindingKind, FindingStatus};
use crate::jobs::Job;
use crate::output::Table;
use crate::policy::Policy;
use crate::sim::region::{EXPECTED, Region, register};
use crate::store::{SiteFilter, Store, StoredFinding};

/// The demo's temporary directory, removed however the demo ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How often the demo's daemon probes the province.
const PROBE_EVERY: Duration = Duration::from_secs(10);

pub fn run(limit: Option<Duration>) -> Result<()> {
    // Warnings of the daemon only: the demo prints the findings itself.
    crate::logging::init_quiet();
    let runtime = crate::commands::runtime()?;
    let dir = TempDir(std::env::temp_dir().join(format!("siteward-demo-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)
        .with_context(|| format!("cannot create {}", dir.0.display()))?;
    runtime.block_on(demo(&dir.0, limit))
}

async fn demo(dir: &std::path::Path, limit: Option<Duration>) -> Result<()> {
    let started = Instant::now();
    let mut out = std::io::stdout();
    let region = Region::start()
        .await
        .context("cannot start the simulated province")?;
    let url = format!("sqlite://{}", dir.join("siteward.db").display());
    let config_file = region.write_config(dir, &url)?;
    let mut config = load_config(Some(&config_file), None)?;
    // Ctrl-C must end the demo within seconds.
    config.daemon.shutdown_grace_secs = 2;
    // An office's webhook, on loopback: every critical finding goes to it.
    let receiver = crate::sim::webhook::Receiver::start(Some(DEMO_SECRET.to_string()))
        .await
        .context("cannot start the webhook receiver")?;
    config.alerts.sink.push(crate::config::SinkConfig {
        secret: Some(crate::config::Secret::new(DEMO_SECRET.to_string())),
        ..crate::config::SinkConfig::new(
            "office",
            crate::config::SinkKind::Webhook,
            &receiver.url("/hook"),
        )
    });
    // A WeCom and a DingTalk group robot, and an office's mailbox behind
    // an SMTP relay that requires STARTTLS.
    let robots = crate::sim::robots::Robots::start(DEMO_SECRET)
        .await
        .context("cannot start the simulated robots")?;
    let ca = crate::sim::tls::TestCa::new("siteward demo mail CA")
        .context("cannot make the demo mail CA")?;
    let relay_chain = ca
        .valid(&["127.0.0.1", "localhost"])
        .context("cannot issue the relay's certificate")?;
    let relay = crate::sim::smtp::SmtpServer::start(
        crate::sim::smtp::Mode::StartTls,
        &relay_chain,
        Some(("alerts".into(), DEMO_SECRET.into())),
    )
    .await
    .context("cannot start the SMTP relay")?;
    let ca_file = dir.join("mail-ca.pem");
    std::fs::write(&ca_file, ca.pem())?;
    config.probe.extra_roots.push(ca_file);
    config.alerts.sink.push(crate::config::SinkConfig::new(
        "wecom",
        crate::config::SinkKind::Wecom,
        &robots.url("/wecom/office?key=demo"),
    ));
    config.alerts.sink.push(crate::config::SinkConfig {
        secret: Some(crate::config::Secret::new(DEMO_SECRET.to_string())),
        ..crate::config::SinkConfig::new(
            "dingtalk",
            crate::config::SinkKind::Dingtalk,
            &robots.url("/dingtalk/office?access_token=demo"),
        )
    });
    config.alerts.sink.push(crate::config::SinkConfig {
        from: Some("网站监测 <siteward@gsb.gov.cn>".into()),
        to: vec!["office@gsb.gov.cn".into()],
        ..crate::config::SinkConfig::new(
            "mail",
            crate::config::SinkKind::Email,
            &relay.url("alerts", DEMO_SECRET),
        )
    });
    config.alerts.poll_ms = 250;
    // The API on the README's port when it is free, else on any.
    config.api.listen = api_address()?;
    let mut policy = Policy::load(config.policies.dir.as_deref())?;
    // Seconds, not Alertmanager's half minute: the demo is short.
    policy.alerts.timing.group_wait = Duration::from_secs(2);
    policy.alerts.timing.group_interval = Duration::from_secs(5);
    let store = Store::open(&url)?;
    let registered = store.clone();
    let register_policy = policy.clone();
    tokio::task::spawn_blocking(move || register(&registered, &register_policy)).await??;
    let sites = store.sites(&SiteFilter::default())?;
    let orgs = store.orgs()?;
    let names = crate::output::Names::new(&sites, &orgs);
    writeln!(
        out,
        "siteward demo: a simulated province on loopback (DNS {}, HTTPS port {}), {} sites, {} organizations",
        region.dns,
        region.https_port,
        sites.len(),
        orgs.len()
    )?;
    writeln!(
        out,
        "the daemon probes every host name every {} s; findings appear as they are confirmed, and critical ones are sent to a webhook at {}, a WeCom and a DingTalk robot at {}, and by email through an SMTP relay at {} (Ctrl-C stops)\n",
        PROBE_EVERY.as_secs(),
        receiver.url("/hook"),
        robots.addr,
        relay.addr()
    )?;

    let token = crate::app::tokens::create(
        &store,
        "demo",
        crate::access::Role::Admin,
        &[],
        false,
        &crate::store::Change::now("siteward demo"),
    )?;
    let api = format!("http://{}", config.api.listen);
    writeln!(
        out,
        "the HTTP API is at {api} (/api/v1/openapi.json lists it; /healthz, /readyz and /metrics need no token), with an admin token made for the demo:\n  curl -H 'Authorization: Bearer {}' {api}/api/v1/sites\n",
        token.secret
    )?;

    // A person for the web page, with a password made for this demo.
    let mut bytes = [0u8; 9];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    use base64::Engine;
    let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    crate::app::users::add(
        &store,
        "demo",
        crate::access::Role::Admin,
        &[],
        false,
        &password,
        &crate::store::Change::now("siteward demo"),
    )?;
    writeln!(
        out,
        "the administrators' web page is at {api}/ : log in as `demo` with the password `{password}`\n"
    )?;

    let app = Arc::new(App::new(config, Some(config_file), policy, store.clone()));
    let shutdown = CancellationToken::new();
    let options = ServeOptions {
        intervals: [
            (Job::Probe, PROBE_EVERY),
            (Job::Feeds, PROBE_EVERY),
            (Job::Discover, Duration::from_secs(60)),
        ]
        .into_iter()
        .collect(),
        tick: Duration::from_millis(250),
        confirm: true,
    };
    let daemon = tokio::spawn(serve(app, options, shutdown.clone()));
    if let Some(limit) = limit {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            stop.cancel();
        });
    }

    // Print what changes, until the daemon stops (Ctrl-C reaches it).
    let mut seen: BTreeMap<i64, FindingStatus> = BTreeMap::new();
    let mut all_flagged_at: Option<Duration> = None;
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(subject, kind)| (subject.to_string(), kind.to_string()))
        .collect();
    let mut last: Vec<StoredFinding>;
    let mut heard = 0;
    let (mut posted, mut mailed) = (0, 0);
    loop {
        let stopping = shutdown.is_cancelled() || daemon.is_finished();
        let findings = db(&store, |s| s.findings(&[])).await?;
        for finding in &findings {
            let before = seen.insert(finding.id, finding.status);
            if before == Some(finding.status) {
                continue;
            }
            match finding.status {
                FindingStatus::Open => print_change(&mut out, "发现", finding, &names)?,
                FindingStatus::Resolved if before.is_some() => {
                    print_change(&mut out, "已解决", finding, &names)?
                }
                _ => {}
            }
        }
        let received = receiver.received();
        for message in &received[heard..] {
            print_message(&mut out, message)?;
        }
        heard = received.len();
        posted = print_posts(&mut out, &robots, posted)?;
        mailed = print_mails(&mut out, &relay, mailed)?;
        let open: BTreeSet<(String, String)> = findings
            .iter()
            .filter(|f| f.status == FindingStatus::Open)
            .map(|f| (f.subject.clone(), f.kind.to_string()))
            .collect();
        if all_flagged_at.is_none() && expected.is_subset(&open) {
            let at = started.elapsed();
            all_flagged_at = Some(at);
            writeln!(
                out,
                "\nall {} expected findings of the province's real cases are open, {:.0} s after the start\n",
                expected.len(),
                at.as_secs_f64()
            )?;
        }
        last = findings;
        if stopping {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    daemon.await.context("the daemon stopped unexpectedly")??;
    for message in &receiver.received()[heard..] {
        print_message(&mut out, message)?;
    }
    print_posts(&mut out, &robots, posted)?;
    print_mails(&mut out, &relay, mailed)?;
    summary(&mut out, &last, &expected, all_flagged_at)?;
    let posts = robots.posted();
    writeln!(
        out,
        "the webhook received {} message(s), each signed and keyed; the WeCom robot {}, the DingTalk robot {} (signed), none refused: {}; the mailbox {} email(s) over STARTTLS",
        receiver.received().len(),
        posts
            .iter()
            .filter(|p| p.path.starts_with("/wecom/"))
            .count(),
        posts
            .iter()
            .filter(|p| p.path.starts_with("/dingtalk/"))
            .count(),
        robots.refused().is_empty(),
        relay.received().len()
    )?;
    Ok(())
}

/// What the robots received since `from`, as a group would read it;
/// returns how many have been printed.
fn print_posts(
    out: &mut impl Write,
    robots: &crate::sim::robots::Robots,
    from: usize,
) -> Result<usize> {
    let posts = robots.posted();
    for post in posts.iter().skip(from) {
        let (who, text) = if post.path.starts_with("/wecom/") {
            ("企业微信机器人", post.body["markdown"]["content"].as_str())
        } else {
            ("钉钉机器人", post.body["markdown"]["title"].as_str())
        };
        let first = text.unwrap_or_default().lines().next().unwrap_or_default();
        writeln!(out, "    ↳ {who}收到：{}", first.trim_matches('*'))?;
    }
    Ok(posts.len())
}

/// The emails the relay accepted since `from`.
fn print_mails(
    out: &mut impl Write,
    relay: &crate::sim::smtp::SmtpServer,
    from: usize,
) -> Result<usize> {
    let mails = relay.received();
    for mail in mails.iter().skip(from) {
        writeln!(
            out,
            "    ↳ 邮件送达 {}{}：{}",
            mail.to.join("、"),
            if mail.over_tls {
                "（TLS 加密）"
            } else {
                ""
            },
            mail.subject
        )?;
    }
    Ok(mails.len())
}

/// The secret the demo's webhook checks signatures with.
const DEMO_SECRET: &str = "demo-secret";

/// One message the webhook received, as its office would read it.
fn print_message(out: &mut impl Write, message: &crate::sim::webhook::Received) -> Result<()> {
    let subjects: Vec<&str> = message.body["findings"]
        .as_array()
        .map(|items| items.iter().filter_map(|f| f["subject"].as_str()).collect())
        .unwrap_or_default();
    writeln!(
        out,
        "    ↳ webhook 收到{}: {}\n      {}",
        if message.signed {
            "（签名有效）"
        } else {
            "（签名无效）"
        },
        message.body["title"].as_str().unwrap_or_default(),
        subjects.join("、")
    )?;
    Ok(())
}

fn print_change(
    out: &mut impl Write,
    what: &str,
    finding: &StoredFinding,
    names: &crate::output::Names,
) -> Result<()> {
    let time = if finding.status == FindingStatus::Resolved {
        finding.resolved_at.unwrap_or(finding.last_seen)
    } else {
        finding.last_seen
    };
    let site = finding
        .site_id
        .and_then(|id| names.sites.get(&id))
        .map_or("-", |(name, _)| name.as_str());
    let org = finding
        .org_id
        .and_then(|id| names.orgs.get(&id))
        .map_or("-", String::as_str);
    writeln!(
        out,
        "{} {what} [{}] {} {}  {}\n    网站: {site}  主办单位: {org}\n    {}",
        crate::clock::show(time),
        severity_name(finding.severity),
        finding.kind,
        kind_name(finding.kind),
        finding.subject,
        finding.summary
    )?;
    Ok(())
}

fn summary(
    out: &mut impl Write,
    findings: &[StoredFinding],
    expected: &BTreeSet<(String, String)>,
    all_flagged_at: Option<Duration>,
) -> Result<()> {
    let current: Vec<&StoredFinding> = findings
        .iter()
        .filter(|f| matches!(f.status, FindingStatus::Open | FindingStatus::Acknowledged))
        .collect();
    let mut by_kind: BTreeMap<(u8, FindingKind), (crate::findings::Severity, Vec<&str>)> =
        BTreeMap::new();
    for finding in &current {
        let rank = match finding.severity {
            crate::findings::Severity::Critical => 0,
            crate::findings::Severity::Warning => 1,
            crate::findings::Severity::Info => 2,
        };
        by_kind
            .entry((rank, finding.kind))
            .or_insert_with(|| (finding.severity, Vec::new()))
            .1
            .push(&finding.subject);
    }
    writeln!(out, "\nsummary: {} open findings", current.len())?;
    let mut table = Table::new(&["SEVERITY", "KIND", "问题", "COUNT", "SUBJECTS"]);
    for ((_, kind), (severity, subjects)) in &by_kind {
        table.row(vec![
            format!("{severity} {}", severity_name(*severity)),
            kind.to_string(),
            kind_name(*kind).to_string(),
            subjects.len().to_string(),
            subjects.join(", "),
        ]);
    }
    table.print(out)?;
    let open: BTreeSet<(String, String)> = current
        .iter()
        .map(|f| (f.subject.clone(), f.kind.to_string()))
        .collect();
    let missed: Vec<String> = expected
        .difference(&open)
        .map(|(subject, kind)| format!("{kind} {subject}"))
        .collect();
    let unexpected = open.difference(expected).count();
    match all_flagged_at {
        Some(at) => writeln!(
            out,
            "the province's {} expected findings: all flagged ({:.0} s after the start); {unexpected} other finding(s)",
            expected.len(),
            at.as_secs_f64()
        )?,
        None => writeln!(
            out,
            "the province's {} expected findings: {} not flagged yet ({}); {unexpected} other finding(s)",
            expected.len(),
            missed.len(),
            missed.join("; ")
        )?,
    }
    Ok(())
}

/// Where the demo's API listens: the README's `127.0.0.1:8750` when it is
/// free, else a free port (chosen here and released just before the
/// daemon binds it).
fn api_address() -> Result<String> {
    if std::net::TcpListener::bind("127.0.0.1:8750").is_ok() {
        return Ok("127.0.0.1:8750".to_string());
    }
    let any = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot find a free port for the API")?;
    Ok(any.local_addr()?.to_string())
}
