//! The policy directory: the shipped policy is valid, a broken one is
//! refused with file and line, a custom one changes what is allowed.

use siteward::policy::{Policy, PolicySource};
use siteward::registry::Hostname;

fn dir_with(policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
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
    // The division table falls back to the built-in one.
    assert!(policy.divisions.len() > 6_000);
}
