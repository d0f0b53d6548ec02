//! `siteward serve` as a process, against the simulated province on
//! loopback: schedules fire and findings open and confirm; a restart
//! neither skips nor doubles a run; `kill -9` mid-cycle leaves an
//! interrupted run and nothing duplicated; one daemon per SQLite file;
//! SIGHUP reloads or refuses; SIGTERM drains within the grace period.
//! Jobs fire every few seconds (`--every`), never minutes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siteward::findings::FindingStatus;
use siteward::jobs::{Job, RunStatus};
use siteward::sim::region::{EXPECTED, Region, register};
use siteward::store::{Run, Store};

use crate::scenario::{Watch, runtime, watch};
use crate::support::{Siteward, backends};

/// A daemon process, its log (JSON lines) in a file; killed if the test
/// ends first.
pub(crate) struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    pub(crate) fn start(watch: &Watch, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(
            Command::new(env!("CARGO_BIN_EXE_siteward")),
            watch,
            extra,
            env,
        )
    }

    /// As systemd starts it: `WATCHDOG_PID` is the daemon's own pid
    /// (a shell sets it, then becomes the daemon with `exec`).
    fn start_as_systemd_does(watch: &Watch, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_siteward"),
        ]);
        Daemon::spawn(command, watch, extra, env)
    }

    fn spawn(mut command: Command, watch: &Watch, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let log = unique(watch._dir.path());
        let file = std::fs::File::create(&log).expect("log file");
        command
            .arg("--config")
            .arg(&watch.config_path)
            .args(["serve", "--log-format", "json"]);
        if !extra.contains(&"--tick-ms") {
            command.args(["--tick-ms", "100"]);
        }
        command
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .env_remove("JOURNAL_STREAM");
        for (key, value) in env {
            command.env(key, value);
        }
        Daemon {
            child: Some(command.spawn().expect("siteward serve starts")),
            log,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    /// Waits for the process to end; its exit status and how long it took.
    pub(crate) fn wait(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "the daemon did not stop within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn wait_until_serving(&self) {
        wait_for(Duration::from_secs(30), self, || {
            self.messages()
                .iter()
                .any(|m| m == "siteward is serving")
                .then_some(())
        });
    }

    /// Waits until no probe run is in progress, then stops the daemon
    /// with SIGTERM; it must exit 0.
    fn stop_between_runs(&mut self, store: &Store) {
        wait_for(Duration::from_secs(30), self, || {
            probe_runs(store)
                .iter()
                .all(|r| r.status != RunStatus::Running)
                .then_some(())
        });
        self.signal("TERM");
        assert!(self.wait(Duration::from_secs(15)).0.success());
    }

    /// The log's messages (JSON lines' `fields.message`).
    pub(crate) fn messages(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A new log file's path in `dir`.
fn unique(dir: &std::path::Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir.join(format!("daemon-{n}.log"))
}

/// Polls `what` until it returns `Some`, for at most `limit`.
pub(crate) fn wait_for<T>(
    limit: Duration,
    daemon: &Daemon,
    mut what: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = what() {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "not reached within {limit:?}; daemon log:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The province on loopback, an SQLite database with its registry, and
/// what siteward needs to watch it.
pub(crate) struct Province {
    pub(crate) store: Store,
    pub(crate) watch: Watch,
    pub(crate) db: crate::support::TestDb,
    _region: Region,
    pub(crate) runtime: tokio::runtime::Runtime,
}

impl Province {
    pub(crate) fn start() -> Province {
        let runtime = runtime();
        let region = runtime.block_on(Region::start()).expect("region starts");
        let db = crate::support::sqlite();
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register");
        Province {
            store,
            watch,
            db,
            _region: region,
            runtime,
        }
    }
}

/// `--every` for the probe job every `probe` seconds, the others rarely.
fn every_secs(probe: u32) -> Vec<String> {
    [
        "--every".to_string(),
        format!("probe={probe}"),
        "--every".into(),
        format!("feeds={probe}"),
        "--every".into(),
        "discover=600".into(),
    ]
    .into()
}

fn probe_runs(store: &Store) -> Vec<Run> {
    let mut runs = store.runs(Some(Job::Probe), 1000).expect("runs");
    runs.reverse();
    runs
}

fn open_set(store: &Store) -> BTreeSet<(String, String)> {
    store
        .findings(&[FindingStatus::Open])
        .expect("findings")
        .into_iter()
        .map(|f| (f.subject, f.kind.to_string()))
        .collect()
}

fn expected() -> BTreeSet<(String, String)> {
    EXPECTED
        .iter()
        .map(|(s, k)| (s.to_string(), k.to_string()))
        .collect()
}

/// The province watched by a daemon whose probe job fires every 2 s:
/// every real case opens (confirmed), nothing else; then SIGTERM ends it
/// with status 0.
#[test]
fn the_daemon_flags_the_province_on_schedule() {
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    for db in backends() {
        let watch = watch(&region, &db.url);
        let store = db.open();
        register(&store, &watch.policy).expect("register");
        let mut daemon = Daemon::start(
            &watch,
            &[
                "--every",
                "probe=2",
                "--every",
                "feeds=3",
                "--every",
                "discover=5",
            ],
            &[],
        );
        let open = wait_for(Duration::from_secs(90), &daemon, || {
            let open = open_set(&store);
            expected().is_subset(&open).then_some(open)
        });
        let expected = expected();
        let unexpected: Vec<_> = open.difference(&expected).collect();
        assert!(unexpected.is_empty(), "{}: {unexpected:?}", db.backend);
        // Every job ran on its own schedule.
        wait_for(Duration::from_secs(30), &daemon, || {
            let jobs: BTreeSet<Job> = store
                .runs(None, 1000)
                .expect("runs")
                .into_iter()
                .filter(|r| r.status == RunStatus::Ok)
                .map(|r| r.job)
                .collect();
            [Job::Probe, Job::Feeds, Job::Discover]
                .iter()
                .all(|job| jobs.contains(job))
                .then_some(())
        });
        // Findings that accuse were confirmed by a second observation.
        let confirmed = store.findings(&[FindingStatus::Open]).expect("findings");
        assert!(
            confirmed
                .iter()
                .filter(|f| f.kind.accuses())
                .all(|f| f.confirmations >= watch.policy.confirmation.confirmations),
            "{}",
            db.backend
        );
        daemon.signal("TERM");
        let (status, _) = daemon.wait(Duration::from_secs(15));
        assert!(status.success(), "{}: exit {status}", db.backend);
        assert!(
            store
                .runs(None, 1000)
                .expect("runs")
                .iter()
                .all(|r| r.status != RunStatus::Running),
            "{}: no run left running",
            db.backend
        );
        let messages = daemon.messages();
        assert!(
            messages.iter().any(|m| m == "siteward is serving"),
            "{}",
            daemon.log()
        );
    }
}

/// Fire times live in the database: a restart before the next fire runs
/// nothing early and then that fire once; a fire missed while the daemon
/// was down runs once at start. No fire time ever runs twice.
#[test]
fn a_restart_neither_skips_nor_doubles_a_run() {
    let province = Province::start();
    let (watch, store) = (&province.watch, &province.store);
    let every = every_secs(4);
    let every = every.iter().map(String::as_str).collect::<Vec<_>>();
    let next_probe = |store: &Store| {
        store
            .schedules()
            .expect("schedules")
            .into_iter()
            .find(|s| s.job == Job::Probe)
            .expect("probe scheduled")
            .next_at
    };

    let mut daemon = Daemon::start(watch, &every, &[]);
    wait_for(Duration::from_secs(60), &daemon, || {
        probe_runs(store)
            .iter()
            .any(|r| r.status == RunStatus::Ok)
            .then_some(())
    });
    // Stop between runs, then start again at once: the stored fire time
    // is kept, and it runs once.
    daemon.stop_between_runs(store);
    let pending = next_probe(store);
    let before = probe_runs(store).len();
    let mut daemon = Daemon::start(watch, &every, &[]);
    let run = wait_for(Duration::from_secs(30), &daemon, || {
        probe_runs(store).into_iter().nth(before)
    });
    assert_eq!(run.fire_at, Some(pending), "the kept fire time runs");
    assert!(
        run.started_at >= pending,
        "nothing ran early: started {} for {}",
        run.started_at,
        pending
    );
    daemon.stop_between_runs(store);

    // Down past the next fire time: it is missed, and runs once at start.
    let missed = next_probe(store);
    while chrono::Utc::now() < missed + chrono::Duration::milliseconds(4500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = probe_runs(store).len();
    let restarted = chrono::Utc::now();
    let mut daemon = Daemon::start(watch, &every, &[]);
    let run = wait_for(Duration::from_secs(30), &daemon, || {
        probe_runs(store).into_iter().nth(before)
    });
    assert_eq!(run.fire_at, Some(missed), "the missed fire runs at start");
    assert!(run.started_at - restarted < chrono::Duration::seconds(5));
    // The fires missed in between are one run, not several.
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<Run> = probe_runs(store).into_iter().skip(before).collect();
    assert!(
        after
            .iter()
            .filter(|r| r.fire_at <= Some(restarted))
            .count()
            == 1,
        "{after:?}"
    );
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(15)).0.success());

    let fires: Vec<_> = probe_runs(store).iter().map(|r| r.fire_at).collect();
    let distinct: BTreeSet<_> = fires.iter().collect();
    assert_eq!(distinct.len(), fires.len(), "a fire ran twice: {fires:?}");
}

/// `kill -9` in the middle of a cycle: at the next start the cut run is
/// marked interrupted and its job runs again at once; that cycle
/// completes, and no finding exists twice.
#[test]
fn kill_9_mid_cycle_then_restart() {
    let province = Province::start();
    let (watch, store) = (&province.watch, &province.store);
    let every = every_secs(2);
    let every = every.iter().map(String::as_str).collect::<Vec<_>>();
    // One probe at a time: a cycle lasts long enough to be cut.
    let slow = [("SITEWARD_PROBE_CONCURRENCY", "1")];
    let mut daemon = Daemon::start(watch, &every, &slow);
    // A first cycle completes, so that findings exist.
    wait_for(Duration::from_secs(90), &daemon, || {
        probe_runs(store)
            .iter()
            .any(|r| r.status == RunStatus::Ok)
            .then_some(())
    });
    let cut = wait_for(Duration::from_secs(60), &daemon, || {
        probe_runs(store)
            .into_iter()
            .find(|r| r.status == RunStatus::Running)
    });
    daemon.signal("KILL");
    daemon.wait(Duration::from_secs(5));
    assert_eq!(
        store.runs(Some(Job::Probe), 1000).expect("runs")[0].status,
        RunStatus::Running,
        "left running by the crash"
    );

    let mut daemon = Daemon::start(watch, &every, &slow);
    let again = wait_for(Duration::from_secs(90), &daemon, || {
        probe_runs(store)
            .into_iter()
            .find(|r| r.id > cut.id && r.status == RunStatus::Ok)
    });
    let cut_now = probe_runs(store)
        .into_iter()
        .find(|r| r.id == cut.id)
        .expect("the cut run");
    assert_eq!(cut_now.status, RunStatus::Interrupted);
    assert!(again.fire_at > cut.fire_at);
    let messages = daemon.messages();
    assert!(
        messages.iter().any(|m| m.contains("cut short")),
        "{}",
        daemon.log()
    );
    // At most one current finding per kind and subject.
    let current = store
        .findings(&[
            FindingStatus::Pending,
            FindingStatus::Open,
            FindingStatus::Acknowledged,
            FindingStatus::Suppressed,
        ])
        .expect("findings");
    let mut seen = BTreeMap::new();
    for finding in &current {
        *seen
            .entry((finding.kind, finding.subject.clone()))
            .or_insert(0) += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    let open = open_set(store);
    let missing: Vec<_> = expected().difference(&open).cloned().collect();
    assert!(
        missing.is_empty(),
        "not open: {missing:?}\n{}",
        daemon.log()
    );
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(20)).0.success());
}

fn siteward(watch: &Watch, args: &[&str]) -> std::process::Output {
    Siteward::with_config(&watch.config_path)
        .without_actor()
        .env("USER", "tester")
        .run(args)
}

/// A second daemon on one SQLite file refuses to start and names the file
/// and the holder; CLI commands, writes included, go on; `check --once`
/// is refused while the daemon runs.
#[test]
fn one_daemon_per_sqlite_file() {
    let province = Province::start();
    let (db, watch, store) = (&province.db, &province.watch, &province.store);
    let every = every_secs(600);
    let every = every.iter().map(String::as_str).collect::<Vec<_>>();
    let mut first = Daemon::start(watch, &every, &[]);
    first.wait_until_serving();
    let second = Command::new(env!("CARGO_BIN_EXE_siteward"))
        .arg("--config")
        .arg(&watch.config_path)
        .args(["serve"])
        .stdin(Stdio::null())
        .output()
        .expect("second daemon runs");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    let file = db.url.trim_start_matches("sqlite://");
    assert!(stderr.contains(file), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.pid())), "{stderr}");
    assert!(stderr.contains("siteward serve"), "{stderr}");

    let added = siteward(
        watch,
        &[
            "org",
            "add",
            "--name",
            "金昌市永昌县人民政府办公室",
            "--division",
            "620321",
            "--level",
            "county",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let listed = siteward(watch, &["site", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("www.gansu.gov.cn"));
    let check = siteward(watch, &["check", "--once"]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("check --once is refused"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.pid())), "{stderr}");
    assert!(
        store.org("金昌市永昌县人民政府办公室").is_ok(),
        "the write went through"
    );

    first.signal("TERM");
    assert!(first.wait(Duration::from_secs(15)).0.success());
    // Once it is gone, the file is free.
    let check = siteward(watch, &["check", "--once", "--no-confirm"]);
    assert!(
        matches!(check.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

fn write_policy(watch: &Watch, text: &str) {
    let dir = watch
        .config
        .policies
        .dir
        .as_ref()
        .expect("a policy directory");
    std::fs::write(dir.join("siteward.toml"), text).expect("policy written");
}

/// SIGHUP with a broken policy is refused and counted, the old policy
/// stays; with a good one the new schedule is in force. SIGTERM in the
/// middle of a cycle drains within the grace period: exit 0, the run
/// recorded as interrupted.
#[test]
fn sighup_reloads_and_sigterm_drains() {
    let province = Province::start();
    let (watch, store) = (&province.watch, &province.store);
    let dir = watch.config.policies.dir.clone().expect("policy dir");
    let good = std::fs::read_to_string(dir.join("siteward.toml")).expect("policy");
    let grace = 2;
    let mut daemon = Daemon::start(
        watch,
        &["--every", "probe=600", "--every", "feeds=600"],
        &[
            ("SITEWARD_DAEMON_SHUTDOWN_GRACE_SECS", "2"),
            ("SITEWARD_PROBE_CONCURRENCY", "1"),
        ],
    );
    let discover = |store: &Store| {
        store
            .schedules()
            .expect("schedules")
            .into_iter()
            .find(|s| s.job == Job::Discover)
            .expect("discover scheduled")
    };
    daemon.wait_until_serving();
    assert_eq!(discover(store).expression, "30 3 * * *");

    // Broken: refused, the daemon goes on with the old policy.
    write_policy(
        watch,
        &good.replace("[schedules]", "[schedules]\nnot_a_job = \"* * * * *\""),
    );
    daemon.signal("HUP");
    wait_for(Duration::from_secs(20), &daemon, || {
        daemon
            .messages()
            .iter()
            .any(|m| m.contains("reload refused"))
            .then_some(())
    });
    let log = daemon.log();
    assert!(log.contains("not_a_job"), "the reason is logged: {log}");
    assert!(log.contains("\"failed_reloads\":1"), "counted: {log}");
    assert_eq!(discover(store).expression, "30 3 * * *");

    // Good: the new schedule is in force.
    write_policy(
        watch,
        &good.replace("discover = \"30 3 * * *\"", "discover = \"45 4 * * *\""),
    );
    daemon.signal("HUP");
    wait_for(Duration::from_secs(20), &daemon, || {
        (discover(store).expression == "45 4 * * *").then_some(())
    });
    let next = discover(store).next_at;
    let cst = next.with_timezone(&siteward::clock::china());
    assert_eq!(
        (chrono::Timelike::hour(&cst), chrono::Timelike::minute(&cst)),
        (4, 45)
    );
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(15)).0.success());

    // SIGTERM in the middle of a cycle.
    let mut daemon = Daemon::start(
        watch,
        &["--every", "probe=1", "--every", "feeds=600"],
        &[
            ("SITEWARD_DAEMON_SHUTDOWN_GRACE_SECS", "2"),
            ("SITEWARD_PROBE_CONCURRENCY", "1"),
        ],
    );
    let running = wait_for(Duration::from_secs(30), &daemon, || {
        probe_runs(store)
            .into_iter()
            .find(|r| r.status == RunStatus::Running)
    });
    daemon.signal("TERM");
    let (status, took) = daemon.wait(Duration::from_secs(30));
    assert!(status.success(), "exit {status}");
    // The grace period, plus the time to store and record; generous for
    // a shared machine (the benchmark measures it closely).
    assert!(took < Duration::from_secs(grace + 4), "drained in {took:?}");
    let ended = probe_runs(store)
        .into_iter()
        .find(|r| r.id == running.id)
        .expect("the run");
    assert!(
        matches!(ended.status, RunStatus::Interrupted | RunStatus::Ok),
        "{:?}",
        ended.status
    );
    assert!(
        store
            .runs(None, 1000)
            .expect("runs")
            .iter()
            .all(|r| r.status != RunStatus::Running)
    );
}

/// Under systemd (`Type=notify`, `WatchdogSec=`): READY=1 once serving,
/// WATCHDOG=1 at least twice per watchdog period even when the
/// scheduler's tick is longer, RELOADING=1 then READY=1 on SIGHUP, and
/// STOPPING=1 on SIGTERM, each a datagram on `NOTIFY_SOCKET` as systemd
/// receives it.
#[test]
fn systemd_hears_ready_watchdog_reload_and_stopping() {
    let province = Province::start();
    let watch = &province.watch;
    let socket_path = watch._dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let socket_env = socket_path.to_str().expect("utf-8 path").to_string();
    // A 400 ms watchdog against a 5 s tick: the daemon must ping every
    // 200 ms or less.
    let mut daemon = Daemon::start_as_systemd_does(
        watch,
        &[
            "--tick-ms",
            "5000",
            "--every",
            "probe=600",
            "--every",
            "feeds=600",
        ],
        &[("NOTIFY_SOCKET", &socket_env), ("WATCHDOG_USEC", "400000")],
    );
    // What systemd heard, and when.
    type Heard = Vec<(Instant, String)>;
    let mut heard: Heard = Vec::new();
    let listen = |heard: &mut Heard, until: &dyn Fn(&Heard) -> bool, limit: Duration| {
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        while !until(heard) {
            assert!(
                started.elapsed() < limit,
                "systemd heard only {:?}",
                heard.iter().map(|(_, m)| m).collect::<Vec<_>>()
            );
            if let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                heard.push((Instant::now(), text));
            }
        }
    };
    let count = |heard: &[(Instant, String)], what: &str| {
        heard.iter().filter(|(_, m)| m.contains(what)).count()
    };
    listen(
        &mut heard,
        &|h| count(h, "READY=1") == 1,
        Duration::from_secs(30),
    );
    assert!(
        daemon.messages().iter().any(|m| m == "siteward is serving"),
        "READY=1 comes once serving: {}",
        daemon.log()
    );
    listen(
        &mut heard,
        &|h| count(h, "WATCHDOG=1") >= 6,
        Duration::from_secs(10),
    );
    let pings: Vec<Instant> = heard
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(at, _)| *at)
        .collect();
    for pair in pings.windows(2).skip(1) {
        let gap = pair[1] - pair[0];
        assert!(
            gap < Duration::from_millis(400),
            "a watchdog ping came {gap:?} after the previous one"
        );
    }
    daemon.signal("HUP");
    listen(
        &mut heard,
        &|h| {
            h.iter()
                .position(|(_, m)| m.contains("RELOADING=1"))
                .is_some_and(|at| count(&h[at..], "READY=1") == 1)
        },
        Duration::from_secs(20),
    );
    daemon.signal("TERM");
    listen(
        &mut heard,
        &|h| count(h, "STOPPING=1") == 1,
        Duration::from_secs(20),
    );
    assert!(daemon.wait(Duration::from_secs(15)).0.success());
}

/// The province in a PostgreSQL database, for several daemons at once;
/// `None` when no PostgreSQL is configured (CI always has one).
fn shared_province() -> Option<Province> {
    let db = crate::support::postgres()?;
    let runtime = runtime();
    let region = runtime.block_on(Region::start()).expect("region starts");
    let watch = watch(&region, &db.url);
    let store = db.open();
    register(&store, &watch.policy).expect("register");
    Some(Province {
        store,
        watch,
        db,
        _region: region,
        runtime,
    })
}

/// The probe job every 3 s, the others rarely: the shared-cycle tests.
const SHARED_EVERY: [&str; 6] = [
    "--every",
    "probe=3",
    "--every",
    "feeds=600",
    "--every",
    "discover=600",
];

/// How runs name a daemon process.
fn instance_of(daemon: &Daemon) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    format!("{}:{}", host.trim(), daemon.pid())
}

/// Two daemons on one PostgreSQL database: one of them runs each probe
/// fire, both probe its host names, and no host name is probed twice.
#[test]
fn two_daemons_share_a_cycle_and_probe_no_host_twice() {
    let Some(province) = shared_province() else {
        return;
    };
    let (watch, store) = (&province.watch, &province.store);
    // Small batches and one probe at a time: both daemons get a share.
    let env = [
        ("SITEWARD_DAEMON_CLAIM_BATCH", "1"),
        ("SITEWARD_PROBE_CONCURRENCY", "1"),
        ("SITEWARD_DAEMON_LEASE_SECS", "30"),
    ];
    let first = Daemon::start(watch, &SHARED_EVERY, &env);
    let second = Daemon::start(watch, &SHARED_EVERY, &env);
    let names = BTreeSet::from([instance_of(&first), instance_of(&second)]);
    let run = wait_for(Duration::from_secs(90), &first, || {
        probe_runs(store)
            .into_iter()
            .find(|r| r.status == RunStatus::Ok)
    });
    assert!(
        names.contains(run.instance.as_deref().unwrap_or_default()),
        "{run:?}"
    );
    let work = store.work(run.id).expect("work");
    assert!(work.len() >= 15, "{work:?}");
    assert!(work.iter().all(|w| w.done), "{work:?}");
    assert!(
        work.iter().all(|w| w.claims == 1),
        "a host name was probed twice: {work:?}"
    );
    let owners: BTreeSet<String> = work.iter().filter_map(|w| w.owner.clone()).collect();
    assert_eq!(owners, names, "both daemons took a share: {work:?}");
    // Each scheduled fire ran once across both daemons.
    let fires: Vec<_> = probe_runs(store).iter().map(|r| r.fire_at).collect();
    let distinct: BTreeSet<_> = fires.iter().collect();
    assert_eq!(distinct.len(), fires.len(), "a fire ran twice: {fires:?}");
    // `status` lists both, alive.
    let output = siteward(watch, &["--json", "status"]);
    assert!(output.status.success());
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let alive: BTreeSet<String> = status["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter(|i| i["alive"] == true)
        .filter_map(|i| i["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.is_subset(&alive), "{status}");
    for mut daemon in [first, second] {
        daemon.signal("TERM");
        assert!(daemon.wait(Duration::from_secs(20)).0.success());
    }
}

/// Waits until every thread of a daemon sent SIGSTOP is stopped.
fn stopped(daemon: &Daemon) {
    let limit = Instant::now() + Duration::from_secs(5);
    let dir = format!("/proc/{}/task", daemon.pid());
    loop {
        let all = std::fs::read_dir(&dir).expect("tasks").all(|task| {
            let stat = task
                .ok()
                .and_then(|t| std::fs::read_to_string(t.path().join("stat")).ok())
                .unwrap_or_default();
            // The state follows the command name's closing parenthesis.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T') || rest.starts_with('t'))
        });
        if all {
            return;
        }
        assert!(
            Instant::now() < limit,
            "daemon {} did not stop",
            daemon.pid()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `kill -9` of a daemon holding a batch of another's run: once its
/// lease expires the batch is taken over, and the run completes.
#[test]
fn a_dead_daemons_batch_is_taken_over_after_its_lease() {
    let Some(province) = shared_province() else {
        return;
    };
    let (watch, store) = (&province.watch, &province.store);
    let env = [
        ("SITEWARD_DAEMON_CLAIM_BATCH", "2"),
        ("SITEWARD_PROBE_CONCURRENCY", "1"),
        ("SITEWARD_DAEMON_LEASE_SECS", "3"),
    ];
    let mut daemons = vec![
        Daemon::start(watch, &SHARED_EVERY, &env),
        Daemon::start(watch, &SHARED_EVERY, &env),
    ];
    // A run in progress, and the daemon that does not own it holding a
    // batch of it. The helper is frozen before it is judged to hold the
    // batch: a batch seen undone can otherwise finish before the kill.
    let holds_undone = |run: &Run, name: &str| {
        store.work(run.id).ok().is_some_and(|work| {
            work.iter()
                .any(|w| !w.done && w.owner.as_deref() == Some(name))
        })
    };
    let (run, helper) = wait_for(Duration::from_secs(90), &daemons[0], || {
        let run = probe_runs(store)
            .into_iter()
            .find(|r| r.status == RunStatus::Running)?;
        let helper = daemons.iter().position(|d| {
            let me = instance_of(d);
            run.instance.as_deref() != Some(me.as_str()) && holds_undone(&run, &me)
        })?;
        daemons[helper].signal("STOP");
        stopped(&daemons[helper]);
        // A commit already on its way to the database lands meanwhile.
        std::thread::sleep(Duration::from_millis(300));
        if holds_undone(&run, &instance_of(&daemons[helper])) {
            Some((run, helper))
        } else {
            daemons[helper].signal("CONT");
            None
        }
    });
    let mut dead = daemons.remove(helper);
    let dead_name = instance_of(&dead);
    dead.signal("KILL");
    dead.wait(Duration::from_secs(5));
    let ended = wait_for(Duration::from_secs(60), &daemons[0], || {
        probe_runs(store)
            .into_iter()
            .find(|r| r.id == run.id && r.status != RunStatus::Running)
    });
    assert_eq!(ended.status, RunStatus::Ok, "{}", daemons[0].log());
    let work = store.work(run.id).expect("work");
    assert!(work.iter().all(|w| w.done), "{work:?}");
    assert!(
        work.iter().any(|w| w.claims == 2),
        "the dead daemon's batch was taken over: {work:?}"
    );
    assert!(
        work.iter()
            .all(|w| w.owner.as_deref() != Some(dead_name.as_str()) || w.claims == 1),
        "{work:?}"
    );
    let mut survivor = daemons.remove(0);
    survivor.signal("TERM");
    assert!(survivor.wait(Duration::from_secs(20)).0.success());
}

/// PostgreSQL without TLS (libpq is built without OpenSSL): over a Unix
/// socket on the database's machine, and a URL that requires TLS is
/// refused with what to do instead.
#[test]
fn postgres_over_a_unix_socket_and_tls_refused_by_name() {
    let Some(db) = crate::support::postgres() else {
        return;
    };
    let url = url::Url::parse(&db.url).expect("url");
    let socket_dir = std::env::var("SITEWARD_TEST_POSTGRES_SOCKET_DIR")
        .unwrap_or_else(|_| "/var/run/postgresql".into());
    let over_socket = format!(
        "postgres://{}:{}@/{}?host={socket_dir}&port={}",
        url.username(),
        url.password().unwrap_or_default(),
        url.path().trim_start_matches('/'),
        url.port().unwrap_or(5432)
    );
    let store = Store::open(&over_socket).unwrap_or_else(|e| panic!("{e}"));
    store
        .heartbeat("over-the-socket", chrono::Utc::now())
        .expect("a write over the socket");
    let instances = store.instances().expect("a read over the socket");
    assert_eq!(instances[0].name, "over-the-socket");
    let refused = Store::open(&format!("{}?sslmode=verify-full", db.url))
        .expect_err("TLS asked for")
        .to_string();
    assert!(refused.contains("sslmode=verify-full"), "{refused}");
    assert!(refused.contains("Unix socket"), "{refused}");
    assert!(
        refused.contains(":***@"),
        "the password is not shown: {refused}"
    );
}
