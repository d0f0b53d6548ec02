//! The policy directory: the shipped policy is valid, a broken one is
//! refused with file and line, a custom one changes what is allowed.

use siteward::policy::{Policy, PolicySource};
use siteward::registry::Hostname;

use crate::support::{ADD_PROVINCE, Siteward};

fn dir_with(policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    siteward::policy::write_built_in(dir.path()).expect("the built-in policy's files");
    std::fs::write(dir.path().join("siteward.toml"), policy).expect("write");
    dir
}

#[test]
fn the_shipped_policy_is_valid() {
    let repo = Policy::load(Some(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies"
    ))))
    .expect("policies/");
    assert_eq!(repo.lifecycle.notice_days, 30);
    assert_eq!(repo.lifecycle.release_grace_days, 30);
    assert_eq!(repo.thresholds.max_exception_days, 365);
    let built_in = Policy::built_in();
    assert_eq!(built_in.source, PolicySource::BuiltIn);
    assert_eq!(built_in.divisions.len(), repo.divisions.len());
}

#[test]
fn broken_policies_name_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n[domains]\nallowed_suffixes = [\"gov..cn\"]\n",
            "line 5",
        ),
        (
            "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\nsurprise = 1\n[domains]\nallowed_suffixes = [\"gov.cn\"]\n",
            "surprise",
        ),
        (
            "[lifecycle]\nnotice_days = -3\nrelease_grace_days = 30\n[domains]\nallowed_suffixes = [\"gov.cn\"]\n",
            "line 2",
        ),
        (
            "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n[domains]\nallowed_suffixes = []\n",
            "at least one suffix",
        ),
    ];
    for (text, expected) in cases {
        let dir = dir_with(text);
        let error = Policy::load(Some(dir.path())).expect_err(expected);
        let message = error.to_string();
        assert!(message.contains("siteward.toml"), "{message}");
        assert!(message.contains(expected), "`{message}` lacks `{expected}`");
    }
    let error =
        Policy::load(Some(std::path::Path::new("/nonexistent/policies"))).expect_err("missing");
    assert!(error.to_string().contains("does not exist"));
}

#[test]
fn a_policy_that_allows_us_government_domains() {
    let dir = dir_with(
        "[lifecycle]\nnotice_days = 14\nrelease_grace_days = 3\n[domains]\nallowed_suffixes = [\"gov\"]\n",
    );
    let policy = Policy::load(Some(dir.path())).expect("policy");
    assert_eq!(policy.lifecycle.notice_days, 14);
    let host: Hostname = "29palms.gov".parse().expect("host");
    assert!(policy.allowed_suffixes.allows(&host));
    assert!(
        !policy
            .allowed_suffixes
            .allows(&"www.gansu.gov.cn".parse().expect("host"))
    );
    // The division table is the directory's (a copy of the shipped one).
    assert!(policy.divisions.len() > 6_000);
}

const MINIMAL: &str = "[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n[domains]\nallowed_suffixes = [\"gov.cn\"]\n";

#[test]
fn every_section_is_validated_with_its_line() {
    let cases: &[(&str, &str)] = &[
        ("managed_zones = [\"gansu..gov.cn\"]\n", "line 6"),
        ("own_networks = [\"10.0.0.0/33\"]\n", "not a CIDR range"),
        (
            "[thresholds]\ncert_warning_days = 7\ncert_critical_days = 30\n",
            "cert_critical_days",
        ),
        ("[thresholds]\nipv6_partial_percent = 140\n", "line 7"),
        ("[thresholds]\nsurprise = 1\n", "surprise"),
        (
            "[thresholds]\nmax_exception_days = 0\n",
            "max_exception_days = 0 must be between 1 and 3650",
        ),
        ("[thresholds]\nmax_exception_days = 5000\n", "line 7"),
        ("[confirmation]\nconfirmations = 0\n", "at least 1"),
        (
            "[severity]\nunapproved_site = \"urgent\"\n",
            "critical, warning, info",
        ),
        (
            "[severity]\nsite_on_fire = \"critical\"\n",
            "not a finding kind",
        ),
        ("[schedules]\nprobe = \"*/15 * * *\"\n", "5 fields"),
        ("[schedules]\nprobe = \"*/15 * * * * *\"\n", "5 fields"),
        ("[schedules]\nprobe = \"61 * * * *\"\n", "line 7"),
        // In the user's own 5 fields, naming the job.
        (
            "[schedules]\nprobe = \"61 * * * *\"\n",
            "[schedules] probe = `61 * * * *`: minute 61 is out of range 0–59",
        ),
        (
            "[schedules]\nreport = \"0 9 * * 8\"\n",
            "[schedules] report = `0 9 * * 8`: day-of-week 8 is out of range 0–7",
        ),
        ("[schedules]\nbrew_tea = \"0 * * * *\"\n", "not a job"),
        (
            "[discovery]\naxfr = [{ zone = \"gansu.gov.cn\", primary = \"nowhere\" }]\n",
            "ip:port",
        ),
        (
            "managed_zones = [\"gansu.gov.cn\"]\n[monitor]\ncanaries = [\"www.gansu.gov.cn\"]\n",
            "a canary must be outside the region",
        ),
        ("[monitor]\ncanaries = [\"not a host\"]\n", "line 7"),
        ("[monitor]\nsurprise = 1\n", "surprise"),
        (
            "managed_zones = [\"gansu.gov.cn\", \"gansu.example.com\"]\n",
            "gansu.example.com is not under an allowed suffix (.gov.cn)",
        ),
        (
            "managed_zones = [\"gov.cn\"]\n",
            "gov.cn is not under an allowed suffix",
        ),
    ];
    for (extra, expected) in cases {
        // Keys without a section land in [domains], the last one.
        let dir = dir_with(&format!("{MINIMAL}{extra}"));
        let error = Policy::load(Some(dir.path())).expect_err(expected);
        let message = error.to_string();
        assert!(message.contains("siteward.toml"), "{message}");
        assert!(message.contains(expected), "`{message}` lacks `{expected}`");
    }
    // A section left out keeps the defaults.
    let dir = dir_with(MINIMAL);
    let policy = Policy::load(Some(dir.path())).expect("minimal policy");
    assert_eq!(policy.thresholds.cert_warning_days, 30);
    assert_eq!(policy.thresholds.max_exception_days, 365);
    assert_eq!(policy.confirmation.confirmations, 2);
    assert!(policy.takeover.services.len() > 30);
}

#[test]
fn takeover_fingerprints_are_validated() {
    let dir = dir_with(MINIMAL);
    std::fs::write(
        dir.path().join("takeover.toml"),
        "[[service]]\nname = \"ok\"\ncname = [\"ok.example\"]\nbody = \"fine\"\nverdict = \"vulnerable\"\nlikelihood = \"high\"\n\n\
         [[service]]\nname = \"broken\"\ncname = [\"x.example\"]\nbody = \"(unclosed\"\nverdict = \"vulnerable\"\nlikelihood = \"high\"\n",
    )
    .expect("write");
    let message = Policy::load(Some(dir.path()))
        .expect_err("bad regex")
        .to_string();
    assert!(message.contains("takeover.toml"), "{message}");
    assert!(message.contains("line 8"), "{message}");
    assert!(message.contains("broken"), "{message}");

    // The shipped fingerprints: upstream's verdicts are kept, and a service
    // found not vulnerable is never more than a low likelihood.
    use siteward::policy::takeover::{Likelihood, Verdict};
    let policy = Policy::built_in();
    let fastly = policy.takeover.get("Fastly").expect("Fastly is listed");
    assert_eq!(fastly.verdict, Verdict::NotVulnerable);
    assert_eq!(fastly.claimed_likelihood(), Likelihood::Low);
    let oss = policy
        .takeover
        .for_target("bucket.oss-cn-hangzhou.aliyuncs.com")
        .next()
        .expect("Alibaba OSS");
    assert_eq!(oss.claimed_likelihood(), Likelihood::Low);
    assert!(oss.matches_response(404, Some("AliyunOSS"), "<Code>NoSuchBucket</Code>"));
    assert!(!oss.matches_response(404, Some("nginx"), "<Code>NoSuchBucket</Code>"));
    assert!(
        policy
            .takeover
            .services
            .iter()
            .filter(|s| s.verdict == Verdict::NotVulnerable)
            .all(|s| s.claimed_likelihood() == Likelihood::Low)
    );
    // The Public Suffix List: gov.cn is a public suffix.
    assert_eq!(
        policy.registrable_domain("www.gansu.gov.cn").as_deref(),
        Some("gansu.gov.cn")
    );
    assert_eq!(
        policy.registrable_domain("a.b.example.co.uk").as_deref(),
        Some("example.co.uk")
    );
    // The list's Unicode rules match the A-labels host names are stored
    // as: under `公司.cn` the registrable domain has three labels, not two.
    for (name, registrable) in [
        ("www.gansu.xn--zfr164b", "gansu.xn--zfr164b"), // 政务
        ("www.example.xn--55qx5d.cn", "example.xn--55qx5d.cn"), // 公司.cn
        ("a.b.example.xn--io0a7i.cn", "example.xn--io0a7i.cn"), // 网络.cn
    ] {
        assert_eq!(
            policy.registrable_domain(name).as_deref(),
            Some(registrable),
            "{name}"
        );
    }
}

/// `siteward policy check [DIR]`: the values in force, or the error with
/// file and line and exit status 2.
#[test]
fn policy_check_from_the_command_line() {
    let sw = Siteward::without_registry();
    let run = |dir: &std::path::Path| {
        sw.run(&["policy", "check", dir.to_str().expect("utf-8"), "--json"])
    };
    let shipped = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies"));
    let output = run(shipped);
    assert!(output.status.success(), "{output:?}");
    let values: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(values["thresholds"]["cert_warning_days"], 30);
    assert_eq!(values["severity"]["cert_sm2"], "info");
    assert_eq!(values["schedules"]["probe"], "*/15 * * * *");
    assert!(values["takeover_services"].as_u64().expect("count") > 30);

    let broken = dir_with(&format!("{MINIMAL}own_networks = [\"10.0.0.0/33\"]\n"));
    let output = run(broken.path());
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("siteward.toml"), "{message}");
    assert!(message.contains("line 6"), "{message}");
}

/// Rectification deadlines count the working days of the holiday
/// calendar: the shipped years, and a year a policy directory adds in
/// `holidays/`; a year not held falls back to Monday to Friday; a broken
/// year file is refused with its name and the fault.
#[test]
fn deadlines_count_the_holiday_calendars_working_days() {
    use siteward::findings::{FindingKind, Severity};
    let cst = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&chrono::Utc)
    };
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/siteward.toml"
    ))
    .expect("shipped policy");
    let dir = dir_with(&shipped);
    let due = |policy: &Policy, opened: &str| {
        policy
            .alerts
            .deadlines
            .due(FindingKind::DanglingCname, Severity::Warning, cst(opened))
            .expect("a deadline")
    };
    let policy = Policy::load(Some(dir.path())).expect("policy");
    // Five working days from the eve of the 2025 National Day holiday
    // (10-1..10-8 off, Saturday 10-11 worked): 10-9, 10-10, 10-11,
    // 10-13, 10-14.
    assert_eq!(
        due(&policy, "2025-09-30T10:00:00+08:00"),
        cst("2025-10-14T10:00:00+08:00")
    );
    // 2027 is not held: Monday to Friday.
    assert_eq!(
        due(&policy, "2026-12-31T10:00:00+08:00"),
        cst("2027-01-07T10:00:00+08:00")
    );
    // A directory adds 2027 (here made-up holidays on Friday 1-1 and
    // Monday 1-4): 1-5, 1-6, 1-7, 1-8, 1-11.
    let holidays = dir.path().join("holidays");
    std::fs::create_dir_all(&holidays).expect("dir");
    std::fs::write(
        holidays.join("2027.toml"),
        "year = 2027\nsource = \"测试用\"\nholidays = [\"2027-01-01\", \"2027-01-04\"]\n",
    )
    .expect("written");
    let policy = Policy::load(Some(dir.path())).expect("policy");
    assert_eq!(
        due(&policy, "2026-12-31T10:00:00+08:00"),
        cst("2027-01-11T10:00:00+08:00")
    );
    std::fs::write(
        holidays.join("2028.toml"),
        "year = 2028\nsource = \"x\"\nholidays = []\nworkdays = [\"2028-01-03\"]\n",
    )
    .expect("written");
    let error = Policy::load(Some(dir.path())).expect_err("a Monday is no made-up working day");
    let message = error.to_string();
    assert!(
        message.contains("2028.toml") && message.contains("2028-01-03"),
        "{message}"
    );
}

/// `siteward policy check DIR` as a process, with the configuration and
/// the environment out of the way.
fn policy_check(dir: &std::path::Path) -> std::process::Output {
    Siteward::without_registry().run(&["policy", "check", dir.to_str().expect("utf-8")])
}

/// A directory that is given is the whole policy: each file missing from
/// it is an error naming the file (exit 2), never the built-in copy
/// silently; `holidays/` alone may be left out.
#[test]
fn a_given_directory_must_hold_every_file() {
    for (name, what) in siteward::policy::REQUIRED_FILES {
        let dir = dir_with(MINIMAL);
        std::fs::remove_file(dir.path().join(name)).expect("remove");
        let error = Policy::load(Some(dir.path())).expect_err(name);
        assert!(
            matches!(error, siteward::policy::PolicyError::MissingFile { .. }),
            "{name}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(name) && message.contains(what) && message.contains("missing"),
            "{message}"
        );
        let output = policy_check(dir.path());
        assert_eq!(output.status.code(), Some(2), "{name}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.matches(name).count(), 1, "{stderr}");
    }
    let dir = dir_with(MINIMAL);
    assert!(!dir.path().join("holidays").exists());
    Policy::load(Some(dir.path())).expect("holidays/ is optional");
}

/// A broken Public Suffix List, whether not text at all or not a list, is
/// the user's error: exit 2, and the reason said once.
#[test]
fn a_broken_suffix_list_exits_2_and_says_so_once() {
    let cases: &[(&[u8], &str)] = &[
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (
            b"// ===BEGIN ICANN DOMAINS===\n!!!\n",
            "not a Public Suffix List",
        ),
        (b"", "not a Public Suffix List"),
    ];
    for (bytes, expected) in cases {
        let dir = dir_with(MINIMAL);
        std::fs::write(dir.path().join("public_suffix_list.dat"), bytes).expect("write");
        let output = policy_check(dir.path());
        assert_eq!(output.status.code(), Some(2), "{expected}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(
            stderr.matches("public_suffix_list.dat").count(),
            1,
            "{stderr}"
        );
        assert_eq!(stderr.matches(expected).count(), 1, "{stderr}");
    }
}

/// Policies come from configuration or the built-in defaults only: a
/// broken `policies/` lying in the current directory is not read, by
/// `site list` or by `policy check` without a directory.
#[test]
fn a_policies_directory_in_the_current_directory_is_not_read() {
    let sw = Siteward::new().without_actor();
    let broken = sw.dir().join("policies");
    std::fs::create_dir_all(&broken).expect("dir");
    std::fs::write(broken.join("siteward.toml"), "this is not TOML [").expect("write");
    // A change first (so that the database exists whatever read-only
    // commands do about a missing one), then the listing.
    let output = sw.run(&[&["--actor", "张三"][..], &ADD_PROVINCE].concat());
    assert!(output.status.success(), "{output:?}");
    let output = sw.run(&["site", "list", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let output = sw.run(&["policy", "check", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let values: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(values["source"], "built-in defaults", "{values}");
    // Named, the same directory is read, and refused.
    let output = sw.run(&["policy", "check", "policies"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// Bad values on the command line are named in words: the set a value
/// must belong to, never a Rust type's name (`OrgLevel`, `SiteKind`).
#[test]
fn bad_values_name_no_rust_types() {
    let sw = Siteward::new().without_actor();
    for (args, words) in [
        (
            &[
                "org",
                "add",
                "--name",
                "测试",
                "--division",
                "620000",
                "--level",
                "mayor",
            ][..],
            "--level `mayor` must be one of",
        ),
        (
            &[
                "site",
                "request",
                "--name",
                "测试网站",
                "--org",
                "测试",
                "--kind",
                "blog",
                "--domain",
                "www.test.gov.cn",
            ][..],
            "--kind `blog` must be one of",
        ),
    ] {
        let output = sw.run(args);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(words), "{stderr}");
        for rust in ["OrgLevel", "SiteKind"] {
            assert!(!stderr.contains(rust), "{stderr}");
        }
    }
}
