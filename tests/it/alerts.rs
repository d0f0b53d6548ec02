//! Alerts end to end: the daemon watches the simulated province and
//! delivers to a real webhook receiver on loopback (`sim::webhook`),
//! which checks each message's signature and key.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use siteward::findings::{FindingStatus, Severity};
use siteward::registry::SiteKind;
use siteward::registry::lifecycle::SiteAction;
use siteward::sim::region::EXPECTED;
use siteward::sim::webhook::{Received, Receiver};
use siteward::store::{Change, SiteRequest};

use crate::daemon::{Daemon, Province, wait_for};
use crate::support::Siteward;

/// Adds `[alerts]` and webhook sinks (name, URL, a `secret…` line) to
/// the province's configuration, and writes `alerts.toml` beside its
/// policy.
fn configure(province: &Province, sinks: &[(&str, String, Option<&str>)], alerts_toml: &str) {
    let sections: String = sinks
        .iter()
        .map(|(name, url, secret)| {
            format!(
                "\n[[alerts.sink]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\n{}",
                secret.map(|s| format!("{s}\n")).unwrap_or_default()
            )
        })
        .collect();
    configure_raw(province, &sections, alerts_toml);
}

/// `n` unsigned webhook sinks `office0…` to `receiver`, each its own path.
fn offices(province: &Province, receiver: &Receiver, n: usize, alerts_toml: &str) {
    let sinks: Vec<(String, String)> = (0..n)
        .map(|i| (format!("office{i}"), receiver.url(&format!("/office{i}"))))
        .collect();
    let sinks: Vec<(&str, String, Option<&str>)> = sinks
        .iter()
        .map(|(name, url)| (name.as_str(), url.clone(), None))
        .collect();
    configure(province, &sinks, alerts_toml);
}

/// Adds `[alerts]` with raw `[[alerts.sink]]` sections (and any more
/// `[alerts]` keys before them), and writes `alerts.toml`.
pub(crate) fn configure_raw(province: &Province, sinks: &str, alerts_toml: &str) {
    let mut config = std::fs::read_to_string(&province.watch.config_path).expect("config");
    config.push_str(
        "\n[alerts]\npoll_ms = 100\nretry_base_ms = 200\nretry_max_secs = 1\ntimeout_secs = 3\n",
    );
    config.push_str(sinks);
    std::fs::write(&province.watch.config_path, config).expect("config written");
    let dir = province
        .watch
        .config
        .policies
        .dir
        .as_ref()
        .expect("policy dir");
    std::fs::write(dir.join("alerts.toml"), alerts_toml).expect("alerts.toml");
}

/// The daemon over the province: probes every 2 s, feeds every 3,
/// discovery rarely.
pub(crate) fn watching(province: &Province) -> Daemon {
    watching_with(province, &[])
}

/// The daemon's schedule in these tests.
const WATCH_ARGS: [&str; 6] = [
    "--every",
    "probe=2",
    "--every",
    "feeds=3",
    "--every",
    "discover=600",
];

/// [`watching`], with variables in the daemon's environment.
fn watching_with(province: &Province, env: &[(&str, &str)]) -> Daemon {
    Daemon::start(&province.watch, &WATCH_ARGS, env)
}

/// The critical findings open (or acknowledged) in the store, by id.
fn critical_open(province: &Province) -> BTreeMap<i64, siteward::store::StoredFinding> {
    province
        .store
        .findings(&[FindingStatus::Open, FindingStatus::Acknowledged])
        .expect("findings")
        .into_iter()
        .filter(|f| f.severity == Severity::Critical)
        .map(|f| (f.id, f))
        .collect()
}

/// Whether every real case of the province is open (confirmed).
pub(crate) fn all_cases_open(province: &Province) -> bool {
    let open: BTreeSet<(String, String)> = province
        .store
        .findings(&[FindingStatus::Open, FindingStatus::Acknowledged])
        .expect("findings")
        .into_iter()
        .map(|f| (f.subject, f.kind.to_string()))
        .collect();
    EXPECTED
        .iter()
        .all(|(subject, kind)| open.contains(&(subject.to_string(), kind.to_string())))
}

fn ids(message: &Received) -> Vec<i64> {
    message.body["findings"]
        .as_array()
        .expect("findings listed")
        .iter()
        .map(|f| f["id"].as_i64().expect("id"))
        .collect()
}

pub(crate) fn of_kind<'a>(received: &'a [Received], path: &str, kind: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.path == path && r.body["kind"] == kind)
        .collect()
}

/// The office hears of each critical finding once, grouped per
/// organization, signed and keyed; again after the repeat interval until
/// someone acknowledges it; when it resolves; and when it is past its
/// deadline, when the supervising office (an escalation route) hears of
/// it too, and of nothing else.
#[test]
fn offices_hear_once_then_again_until_acknowledged_then_resolved_and_escalated() {
    let province = Province::start();
    let receiver = province
        .runtime
        .block_on(Receiver::start(Some("s3cret".into())))
        .expect("receiver");
    configure(
        &province,
        &[
            (
                "office",
                receiver.url("/office"),
                Some("secret = \"s3cret\""),
            ),
            (
                "supervisor",
                receiver.url("/supervisor"),
                Some("secret_env = \"SUPERVISOR_SECRET\""),
            ),
        ],
        r#"
[[route]]
severities = ["critical"]
sinks = ["office"]

[[route]]
severities = ["critical"]
sinks = ["supervisor"]
escalation = true

[timing]
group_wait_secs = 1
group_interval_secs = 2
repeat_interval_secs = 4

[deadlines]
unit = "seconds"
critical = 10
"#,
    );
    let daemon = watching_with(&province, &[("SUPERVISOR_SECRET", "s3cret")]);
    // Every critical case confirmed, and told.
    let opened: BTreeMap<i64, siteward::store::StoredFinding> =
        wait_for(Duration::from_secs(120), &daemon, || {
            let open = critical_open(&province);
            let received = receiver.received();
            let told: BTreeSet<i64> = of_kind(&received, "/office", "opened")
                .iter()
                .flat_map(|m| ids(m))
                .collect();
            (all_cases_open(&province) && open.keys().all(|id| told.contains(id))).then_some(open)
        });
    let org_names: BTreeMap<i64, String> = province
        .store
        .orgs()
        .expect("orgs")
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let received = receiver.received();
    let told = of_kind(&received, "/office", "opened");
    let mut seen = BTreeSet::new();
    for message in &told {
        assert!(message.signed, "signed: {}", message.body);
        assert!(!message.repeat, "a key delivered twice: {}", message.key);
        for id in ids(message) {
            assert!(seen.insert(id), "finding {id} told as opened twice");
            // One message per organization: its findings are all that
            // organization's.
            let org = opened
                .get(&id)
                .and_then(|f| f.org_id)
                .and_then(|org| org_names.get(&org).cloned());
            assert_eq!(
                message.body["organization"].as_str().map(str::to_string),
                org,
                "{}",
                message.body
            );
        }
    }
    assert!(
        told.iter().any(|m| ids(m).len() >= 2),
        "findings of one organization confirmed together arrive in one message: {:?}",
        told.iter().map(|m| ids(m)).collect::<Vec<_>>()
    );
    let first = &told[0].body["findings"][0];
    for field in [
        "id", "kind", "severity", "status", "subject", "since", "summary", "action",
    ] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    assert!(
        first["since"]
            .as_str()
            .is_some_and(|s| s.ends_with("+08:00")),
        "{first}"
    );

    // Repeated while open; an acknowledgement stops it.
    let acked = *opened.keys().next().expect("a finding");
    wait_for(Duration::from_secs(30), &daemon, || {
        of_kind(&receiver.received(), "/office", "repeat")
            .iter()
            .any(|m| ids(m).contains(&acked))
            .then_some(())
    });
    province
        .store
        .acknowledge_finding(acked, &siteward::store::Change::now("tester"), "on it")
        .expect("ack");
    // A message claimed before the acknowledgement may still arrive.
    std::thread::sleep(Duration::from_millis(1500));
    let mark = receiver.received().len();
    wait_for(Duration::from_secs(30), &daemon, || {
        (of_kind(&receiver.received()[mark..], "/office", "repeat").len() >= 2).then_some(())
    });
    for message in of_kind(&receiver.received()[mark..], "/office", "repeat") {
        assert!(
            !ids(message).contains(&acked),
            "finding {acked} repeated after its acknowledgement: {}",
            message.body
        );
    }

    // Past the deadline: the office and the supervisor hear of it; the
    // supervisor heard of nothing before.
    wait_for(Duration::from_secs(60), &daemon, || {
        let received = receiver.received();
        let overdue: BTreeSet<i64> = of_kind(&received, "/supervisor", "overdue")
            .iter()
            .flat_map(|m| ids(m))
            .collect();
        opened.keys().all(|id| overdue.contains(id)).then_some(())
    });
    let received = receiver.received();
    assert!(
        received
            .iter()
            .filter(|r| r.path == "/supervisor")
            .all(|r| r.body["kind"] == "overdue" && r.signed),
        "the supervisor hears only of overdue findings"
    );
    assert!(!of_kind(&received, "/office", "overdue").is_empty());

    // Resolved: the open-data site is approved and goes live.
    let unapproved = opened
        .values()
        .find(|f| f.subject == "data.lanzhou.gov.cn")
        .expect("the unapproved site is critical and open")
        .id;
    let at = Change::now("tester");
    let policy = &province.watch.policy;
    province
        .store
        .request_site(
            &SiteRequest {
                name: "兰州市政府数据开放平台".into(),
                org: "兰州市人民政府办公室".into(),
                kind: SiteKind::Special,
                domains: vec!["data.lanzhou.gov.cn".parse().expect("host")],
                code: None,
                icp_filing: None,
                psb_filing: None,
                exception: None,
            },
            policy,
            &at,
        )
        .expect("requested");
    province
        .store
        .transition_site(
            "data.lanzhou.gov.cn",
            &SiteAction::Approve {
                reference: "兰政办函〔2026〕9号".into(),
            },
            policy,
            &at,
        )
        .expect("approved");
    province
        .store
        .transition_site(
            "data.lanzhou.gov.cn",
            &SiteAction::GoLive {
                code: Some("6201000012".parse().expect("code")),
            },
            policy,
            &at,
        )
        .expect("live");
    wait_for(Duration::from_secs(60), &daemon, || {
        of_kind(&receiver.received(), "/office", "resolved")
            .iter()
            .any(|m| ids(m).contains(&unapproved))
            .then_some(())
    });
    let all = receiver.received();
    let keys: BTreeSet<&str> = all.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys.len(), all.len(), "no key delivered twice");

    // The commands, as an administrator uses them beside the daemon.
    let sw = Siteward::with_config(&province.watch.config_path)
        .without_actor()
        .env("SUPERVISOR_SECRET", "s3cret");
    let cli = |args: &[&str]| {
        let output = sw.run(args);
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let mark = receiver.received().len();
    let (ok, stdout, stderr) = cli(&["alerts", "test", "supervisor"]);
    assert!(
        ok && stdout.contains("answered (accepted): 200"),
        "{stdout}{stderr}"
    );
    // The daemon keeps running beside the command and may deliver its own
    // messages meanwhile: pick the test message out, not the last one.
    let tests = of_kind(&receiver.received()[mark..], "/supervisor", "test")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(tests.len(), 1, "one test message");
    assert!(tests[0].signed, "{}", tests[0].body);
    let (ok, _, stderr) = cli(&["alerts", "test", "nosuch"]);
    assert!(
        !ok && stderr.contains("no sink `nosuch`") && stderr.contains("office, supervisor"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = cli(&["--json", "alerts", "list", "--status", "delivered"]);
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
    let listed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(!listed.is_empty() && listed.iter().all(|n| n["status"] == "delivered"));
    let delivered = listed[0]["id"].as_i64().expect("id").to_string();
    let (ok, _, stderr) = cli(&["alerts", "retry", &delivered]);
    assert!(!ok && stderr.contains("was delivered"), "{stderr}");
    let (ok, stdout, stderr) = cli(&["findings", "show", &acked.to_string()]);
    assert!(ok, "{stderr}");
    for word in [
        "opened",
        "acknowledged",
        "tester",
        "on it",
        "events:",
        "evidence:",
    ] {
        assert!(stdout.contains(word), "`{word}` in:\n{stdout}");
    }
    // Evidence in words, not a JSON or Rust value.
    let evidence = stdout
        .split("evidence:")
        .nth(1)
        .and_then(|rest| rest.split("events:").next())
        .unwrap_or_default();
    assert!(
        !evidence.trim().is_empty() && !evidence.contains('{'),
        "{stdout}"
    );
    let (ok, stdout, stderr) = cli(&["--json", "findings", "--overdue"]);
    assert!(ok, "{stderr}");
    let overdue: BTreeSet<i64> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .inspect(|f| assert!(f["deadline"].is_string(), "{f}"))
        .map(|f| f["id"].as_i64().expect("id"))
        .collect();
    assert!(
        opened
            .keys()
            .filter(|id| **id != unapproved)
            .all(|id| overdue.contains(id)),
        "{overdue:?}"
    );
    // The findings no route sends anywhere (here: all but the critical
    // ones) are counted.
    let (ok, stdout, stderr) = cli(&["--json", "status"]);
    assert!(ok, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    let not_critical = province
        .store
        .findings(&[FindingStatus::Open, FindingStatus::Acknowledged])
        .expect("findings")
        .iter()
        .filter(|f| f.severity != Severity::Critical)
        .count();
    assert!(not_critical > 0);
    assert_eq!(
        status["alerts"]["unrouted"], not_critical as u64,
        "{status}"
    );
    assert_eq!(status["alerts"]["failed"], 0, "{status}");
    drop(daemon);
}

/// The receiver is down: messages are retried with backoff, none lost.
/// `kill -9` with over 100 undelivered, the receiver back, a restart:
/// every message is delivered, none twice.
#[test]
fn kill_9_with_undelivered_messages_then_all_delivered_once() {
    let province = Province::start();
    let receiver = province
        .runtime
        .block_on(Receiver::start(None))
        .expect("receiver");
    receiver.set_down(true);
    // No route: every sink hears of every critical finding.
    offices(
        &province,
        &receiver,
        20,
        "[timing]\ngroup_wait_secs = 0\ngroup_interval_secs = 1\n",
    );
    let args = WATCH_ARGS;
    let mut daemon = Daemon::start(&province.watch, &args, &[]);
    let before = wait_for(Duration::from_secs(120), &daemon, || {
        let outbox = province.store.notifications(None, 10_000).expect("outbox");
        (outbox.len() >= 100 && outbox.iter().all(|n| n.attempts >= 2)).then_some(outbox.len())
    });
    assert!(
        receiver.refused() >= 2 * before,
        "each message was tried at least twice"
    );
    daemon.signal("KILL");
    daemon.wait(Duration::from_secs(10));
    let pending = province
        .store
        .notifications(Some(siteward::alerts::NotificationStatus::Pending), 10_000)
        .expect("outbox");
    assert!(pending.len() >= 100, "{} undelivered", pending.len());
    assert!(receiver.received().is_empty());

    receiver.set_down(false);
    let started = Instant::now();
    let daemon = Daemon::start(&province.watch, &args, &[]);
    let outbox = wait_for(Duration::from_secs(60), &daemon, || {
        let outbox = province.store.notifications(None, 10_000).expect("outbox");
        outbox
            .iter()
            .all(|n| n.status == siteward::alerts::NotificationStatus::Delivered)
            .then_some(outbox)
    });
    let received = receiver.received();
    let keys: BTreeSet<&str> = received.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys.len(), received.len(), "a message delivered twice");
    for n in &outbox {
        assert!(
            keys.contains(n.key.as_str()),
            "message {} not received",
            n.id
        );
    }
    assert!(received.len() >= pending.len());
    eprintln!(
        "{} messages delivered {:.1} s after the restart",
        received.len(),
        started.elapsed().as_secs_f64()
    );
    drop(daemon);
}

/// SIGTERM while messages are in flight to a slow receiver: the daemon
/// finishes those sends and records them before it exits, so the next
/// start sends nothing twice.
#[test]
fn a_clean_stop_mid_send_sends_nothing_twice() {
    let province = Province::start();
    let receiver = province
        .runtime
        .block_on(Receiver::start(None))
        .expect("receiver");
    receiver.set_delay(Duration::from_millis(700));
    offices(
        &province,
        &receiver,
        12,
        "[timing]\ngroup_wait_secs = 0\ngroup_interval_secs = 1\n",
    );
    let args = WATCH_ARGS;
    let mut daemon = Daemon::start(&province.watch, &args, &[]);
    // Sending has begun: some accepted, more in flight.
    wait_for(Duration::from_secs(120), &daemon, || {
        (!receiver.received().is_empty()).then_some(())
    });
    daemon.signal("TERM");
    assert!(
        daemon.wait(Duration::from_secs(30)).0.success(),
        "{}",
        daemon.log()
    );
    let outbox = province.store.notifications(None, 10_000).expect("outbox");
    let leased_or_unrecorded = outbox
        .iter()
        .filter(|n| n.status == siteward::alerts::NotificationStatus::Pending && n.attempts > 0)
        .count();
    assert_eq!(leased_or_unrecorded, 0, "every send in flight was recorded");
    let delivered_before = outbox
        .iter()
        .filter(|n| n.status == siteward::alerts::NotificationStatus::Delivered)
        .count();
    assert_eq!(delivered_before, receiver.received().len());

    receiver.set_delay(Duration::ZERO);
    let daemon = Daemon::start(&province.watch, &args, &[]);
    wait_for(Duration::from_secs(60), &daemon, || {
        let outbox = province.store.notifications(None, 10_000).expect("outbox");
        outbox
            .iter()
            .all(|n| n.status == siteward::alerts::NotificationStatus::Delivered)
            .then_some(())
    });
    let received = receiver.received();
    assert!(
        received.iter().all(|r| !r.repeat),
        "a message sent twice after a clean stop"
    );
    drop(daemon);
}

/// Two senders (two instances' worth) deliver one outbox at once: each
/// message is claimed by one of them and delivered once. A sender that
/// claimed and died holds its messages only until its lease expires.
#[test]
fn two_senders_claim_each_message_once_and_a_dead_ones_lease_expires() {
    let runtime = crate::scenario::runtime();
    for db in crate::support::backends() {
        let receiver = runtime.block_on(Receiver::start(None)).expect("receiver");
        let store = db.open();
        let mut policy = siteward::policy::Policy::built_in();
        policy.alerts.timing.group_wait = Duration::ZERO;
        let orgs =
            siteward::sim::webhook::organizations(&store, &policy, &receiver, 40).expect("orgs");
        let now = chrono::Utc::now();
        let evaluation = siteward::sim::webhook::dangling_round(&orgs, 200, now);
        let mut config = siteward::config::Config::default();
        config.database.url = db.url.clone();
        let app = std::sync::Arc::new(siteward::app::App::new(config, None, policy, store.clone()));
        let (_, planned) = store
            .record_evaluation(&evaluation, 1, &app.alerting(), now)
            .expect("recorded");
        assert!(planned.unrouted.is_empty());
        let outbox = store.notifications(None, 1000).expect("outbox");
        assert_eq!(
            outbox.len(),
            40,
            "{}: one message per organization",
            db.backend
        );

        // A sender claims five and dies: its lease is a second.
        let dead = store
            .claim_notifications(
                "dead:1",
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::seconds(1),
                5,
            )
            .expect("claimed");
        assert_eq!(dead.len(), 5);
        let deliver = |owner: &'static str| {
            let app = app.clone();
            async move {
                while siteward::app::alerts::deliver_due(&app, owner)
                    .await
                    .expect("delivers")
                    > 0
                {}
            }
        };
        runtime.block_on(async {
            tokio::join!(deliver("a:1"), deliver("b:2"));
        });
        assert_eq!(
            receiver.received().len(),
            35,
            "{}: the dead sender's five wait",
            db.backend
        );
        std::thread::sleep(Duration::from_millis(1100));
        runtime.block_on(deliver("a:1"));
        let received = receiver.received();
        let keys: BTreeSet<&str> = received.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(received.len(), 40, "{}", db.backend);
        assert_eq!(keys.len(), 40, "{}: a message delivered twice", db.backend);
        let told: BTreeSet<i64> = received.iter().flat_map(ids).collect();
        assert_eq!(told.len(), 200, "{}: every finding told once", db.backend);
        assert!(
            store
                .notifications(None, 1000)
                .expect("outbox")
                .iter()
                .all(
                    |n| n.status == siteward::alerts::NotificationStatus::Delivered
                        && n.attempts == 1
                )
        );
    }
}

/// WeCom, DingTalk and Feishu robots on loopback (signatures, formats and
/// limits checked as theirs are): each hears of every critical finding,
/// DingTalk's and Feishu's signed; a robot that was removed (WeCom
/// `93000`) fails its messages at once with the reason, and the others
/// are still delivered.
#[test]
fn group_robots_hear_each_critical_finding_and_a_removed_one_is_broken() {
    use siteward::sim::robots::Robots;
    let province = Province::start();
    let robots = province
        .runtime
        .block_on(Robots::start("SEC1234567890abcdef"))
        .expect("robots");
    robots.answer_with("/wecom/removed", 93000);
    let sink = |name: &str, kind: &str, path: &str, secret: bool| {
        format!(
            "\n[[alerts.sink]]\nname = \"{name}\"\nkind = \"{kind}\"\nurl = \"{}\"\n{}",
            robots.url(path),
            if secret {
                "secret = \"SEC1234567890abcdef\"\n"
            } else {
                ""
            }
        )
    };
    let sinks = [
        sink("wecom", "wecom", "/wecom/office?key=k1", false),
        sink(
            "dingtalk",
            "dingtalk",
            "/dingtalk/office?access_token=t1",
            true,
        ),
        sink("feishu", "feishu", "/feishu/office", true),
        sink("removed", "wecom", "/wecom/removed?key=k2", false),
    ]
    .concat();
    configure_raw(
        &province,
        &sinks,
        "[timing]\ngroup_wait_secs = 0\ngroup_interval_secs = 1\n",
    );
    let daemon = watching(&province);
    let subjects = |posted: &[siteward::sim::robots::Posted], prefix: &str| -> String {
        posted
            .iter()
            .filter(|p| p.path.starts_with(prefix))
            .map(|p| p.body.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    wait_for(Duration::from_secs(120), &daemon, || {
        if !all_cases_open(&province) {
            return None;
        }
        let open = critical_open(&province);
        let posted = robots.posted();
        let all_told = ["/wecom/office", "/dingtalk/office", "/feishu/office"]
            .iter()
            .all(|prefix| {
                let text = subjects(&posted, prefix);
                open.values().all(|f| text.contains(&f.subject))
            });
        all_told.then_some(())
    });
    let posted = robots.posted();
    assert!(posted.iter().all(|p| !p.path.starts_with("/wecom/removed")));
    let wecom = posted
        .iter()
        .find(|p| p.path == "/wecom/office")
        .expect("wecom");
    assert_eq!(wecom.body["msgtype"], "markdown");
    assert!(
        wecom.body["markdown"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("【网站监测】"))
    );
    let feishu = posted
        .iter()
        .find(|p| p.path == "/feishu/office")
        .expect("feishu");
    assert_eq!(feishu.body["msg_type"], "post");
    let outbox = province.store.notifications(None, 10_000).expect("outbox");
    let removed: Vec<_> = outbox.iter().filter(|n| n.sink == "removed").collect();
    assert!(!removed.is_empty());
    for n in &removed {
        assert_eq!(
            n.status,
            siteward::alerts::NotificationStatus::Failed,
            "{n:?}"
        );
        assert_eq!(n.attempts, 1, "not retried");
        assert!(
            n.last_error
                .as_deref()
                .is_some_and(|e| e.contains("removed or disabled") && e.contains("93000")),
            "{:?}",
            n.last_error
        );
    }
    // `alerts test` works for every kind.
    let sw = Siteward::with_config(&province.watch.config_path).without_actor();
    for (name, accepted) in [
        ("wecom", true),
        ("dingtalk", true),
        ("feishu", true),
        ("removed", false),
    ] {
        let output = sw.run(&["alerts", "test", name]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.success(),
            accepted,
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if !accepted {
            assert!(stdout.contains("93000"), "{stdout}");
        }
    }
    // The broken sink, shown as such with the reason; the others ok.
    let sinks = sw.ok(&["alerts", "sinks"]);
    let line = |name: &str| {
        sinks
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} listed: {sinks}"))
            .to_string()
    };
    assert!(
        line("removed").contains("broken: the robot was removed or disabled (errcode 93000"),
        "{sinks}"
    );
    for name in ["wecom ", "dingtalk", "feishu"] {
        assert!(line(name).contains(" ok "), "{sinks}");
    }
    assert!(!sinks.contains("key=k"), "secrets hidden: {sinks}");
    let status = sw.ok(&["status"]);
    assert!(
        status.contains("Sinks not ok") && status.contains("removed") && status.contains("93000"),
        "{status}"
    );
    drop(daemon);
}

/// A robot's rate limit is kept, not waited out: with 3 messages per
/// 2-second window (the 20 a minute of WeCom, scaled down), the province's
/// messages to one robot arrive no faster, and all arrive.
#[test]
fn a_robots_rate_limit_is_kept_and_nothing_is_lost() {
    use siteward::sim::robots::Robots;
    let province = Province::start();
    let robots = province
        .runtime
        .block_on(Robots::start("unused"))
        .expect("robots");
    let sinks = format!(
        "rate_window_secs = 2\n\n[[alerts.sink]]\nname = \"wecom\"\nkind = \"wecom\"\nurl = \"{}\"\nrate_per_minute = 3\n",
        robots.url("/wecom/office?key=k")
    );
    configure_raw(
        &province,
        &sinks,
        "[timing]\ngroup_wait_secs = 0\ngroup_interval_secs = 1\n",
    );
    let daemon = watching(&province);
    let outbox = wait_for(Duration::from_secs(120), &daemon, || {
        if !all_cases_open(&province) {
            return None;
        }
        let outbox = province.store.notifications(None, 1000).expect("outbox");
        (outbox.len() >= 7
            && outbox
                .iter()
                .all(|n| n.status == siteward::alerts::NotificationStatus::Delivered))
        .then_some(outbox)
    });
    let posted = robots.posted();
    assert_eq!(posted.len(), outbox.len(), "each message once, none lost");
    for four in posted.windows(4) {
        let span = four[3].at - four[0].at;
        assert!(
            span >= Duration::from_millis(1950),
            "four messages within {span:?}: the limit is 3 per 2 s"
        );
    }
    drop(daemon);
}
