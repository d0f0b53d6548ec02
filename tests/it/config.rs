//! The configuration file and its environment overrides.

use std::path::PathBuf;

use siteward::config::{Config, ConfigError};

fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("siteward.toml");
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults() {
    let config = Config::load(None, env(&[])).expect("defaults");
    assert_eq!(config.database.url, "sqlite://siteward.db");
    assert_eq!(config.policies.dir, None);
}

#[test]
fn file_and_environment() {
    let (_dir, path) = write(
        "[database]\nurl = \"sqlite:///var/lib/siteward/siteward.db\"\n\n[policies]\ndir = \"/etc/siteward/policies\"\n\n[resolver]\nnameservers = [\"127.0.0.1:5353\"]\n",
    );
    let config = Config::load(Some(&path), env(&[])).expect("file");
    assert_eq!(
        config.database.url,
        "sqlite:///var/lib/siteward/siteward.db"
    );
    assert_eq!(config.resolver.nameservers, ["127.0.0.1:5353"]);
    let config = Config::load(
        Some(&path),
        env(&[
            ("SITEWARD_DATABASE_URL", "postgres://siteward@db/siteward"),
            ("SITEWARD_PROBE_CONCURRENCY", "64"),
            ("SITEWARD_RESOLVER_NAMESERVERS", "10.0.0.1:53, 10.0.0.2:53"),
            // Not configuration: ignored.
            ("SITEWARD_CONFIG", "/elsewhere.toml"),
            ("SITEWARD_TEST_POSTGRES_URL", "postgres://x"),
        ]),
    )
    .expect("env");
    assert_eq!(config.database.url, "postgres://siteward@db/siteward");
    assert_eq!(config.probe.concurrency, 64);
    assert_eq!(config.resolver.nameservers, ["10.0.0.1:53", "10.0.0.2:53"]);
}

#[test]
fn unknown_keys_are_errors_with_file_and_line() {
    let (_dir, path) = write("[database]\nurl = \"sqlite://x.db\"\n\n[probe]\nconcurency = 5\n");
    let error = Config::load(Some(&path), env(&[])).expect_err("typo");
    let message = error.to_string();
    assert!(matches!(error, ConfigError::Parse { .. }));
    assert!(message.contains("siteward.toml"), "{message}");
    assert!(message.contains("line 5"), "{message}");
    assert!(message.contains("concurency"), "{message}");
    let error =
        Config::load(None, env(&[("SITEWARD_PROBE_CONCURENCY", "5")])).expect_err("env typo");
    assert!(
        error.to_string().contains("SITEWARD_PROBE_CONCURENCY"),
        "{error}"
    );
    let error = Config::load(None, env(&[("SITEWARD_PROBE_CONCURRENCY", "many")]))
        .expect_err("not a number");
    assert!(error.to_string().contains("not a whole number"), "{error}");
}
