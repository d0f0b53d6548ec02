//! The configuration file and its environment overrides.

use std::path::PathBuf;

use siteward::config::{Config, ConfigError};

use crate::support::Siteward;

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
    assert_eq!(config.policies.dir, None);
}

/// The default database is the user's, never the working directory's
/// (while there is a home to put it in): the XDG data directory, else
/// ~/.local/share, and under systemd the unit's state directory.
#[test]
fn the_default_database_is_in_a_data_directory() {
    let url = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).expect("load").database.url;
    assert_eq!(
        url(&[("HOME", "/home/zhang")]),
        "sqlite:///home/zhang/.local/share/siteward/siteward.db"
    );
    assert_eq!(
        url(&[("HOME", "/home/zhang"), ("XDG_DATA_HOME", "/data/zhang")]),
        "sqlite:///data/zhang/siteward/siteward.db"
    );
    // A relative XDG_DATA_HOME is invalid, and ignored.
    assert_eq!(
        url(&[("HOME", "/home/zhang"), ("XDG_DATA_HOME", "data")]),
        "sqlite:///home/zhang/.local/share/siteward/siteward.db"
    );
    // The shipped unit's StateDirectory=siteward.
    assert_eq!(
        url(&[
            ("HOME", "/"),
            ("XDG_DATA_HOME", "/data"),
            ("STATE_DIRECTORY", "/var/lib/siteward")
        ]),
        "sqlite:///var/lib/siteward/siteward.db"
    );
    // Named, it wins over every default.
    assert_eq!(
        url(&[
            ("STATE_DIRECTORY", "/var/lib/siteward"),
            ("SITEWARD_DATABASE_URL", "sqlite:///srv/registry.db")
        ]),
        "sqlite:///srv/registry.db"
    );
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

/// The example installed as /etc/siteward/siteward.toml
/// (systemd/siteward.toml) loads, holds the defaults it documents, and sets
/// every key there is. The keys are not listed here, so that a key added to
/// src/config.rs without the example fails this test: the sections are the
/// ones the loader names when the file has an unknown section, and each
/// section's keys the ones it names for an unknown
/// `SITEWARD_<SECTION>_<KEY>` variable (its table of keys).
#[test]
fn example_config_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/siteward.toml");
    let config = Config::load(Some(&path), Vec::<(String, String)>::new()).expect("example loads");
    let text = std::fs::read_to_string(&path).expect("read the example");
    let example: toml::Table = toml::from_str(&text).expect("the example is TOML");
    let value = |section: &str, key: &str| {
        example
            .get(section)
            .and_then(|table| table.get(key))
            .cloned()
    };

    assert_eq!(
        value("daemon", "shutdown_grace_secs").and_then(|v| v.as_integer()),
        Some(10)
    );
    assert_eq!(config.daemon.shutdown_grace_secs, 10);
    // Production values where the default depends on the environment;
    // every other value is the default the example's comments give.
    let mut expected = Config::default();
    expected.database.url = "sqlite:///var/lib/siteward/siteward.db".to_string();
    expected.policies.dir = Some(PathBuf::from("/etc/siteward/policies"));
    expected.reconcile.inbox = Some(PathBuf::from("/var/lib/siteward/inbox"));
    expected.reconcile.out = Some(PathBuf::from("/var/lib/siteward/reconcile"));
    expected.report.out = Some(PathBuf::from("/var/lib/siteward/reports"));
    assert_eq!(config, expected);

    let (_dir, probe) = write("[no_such_section]\n");
    let error = Config::load(Some(&probe), env(&[]))
        .expect_err("unknown section")
        .to_string();
    // "unknown field `no_such_section`, expected one of `database`, …"
    let sections: Vec<String> = error
        .split_once("expected")
        .map(|(_, names)| {
            names
                .split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    assert!(sections.len() >= 6, "sections not found in: {error}");
    for section in &sections {
        assert!(
            text.contains(&format!("\n[{section}]\n")),
            "no [{section}] in {}",
            path.display()
        );
        let var = format!("SITEWARD_{}_NO_SUCH_KEY", section.to_ascii_uppercase());
        let Err(error) = Config::load(None, env(&[(var.as_str(), "1")])) else {
            panic!("{var} is not refused: [{section}] is missing from KEYS in src/config.rs");
        };
        let error = error.to_string();
        // "… unknown key `no_such_key` in [probe]; known keys: concurrency, …"
        let keys = error
            .split_once("known keys: ")
            .map(|(_, keys)| keys)
            .unwrap_or_else(|| panic!("keys of [{section}] not found in: {error}"));
        for key in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            assert!(
                value(section.as_str(), key).is_some(),
                "{} does not set [{section}] {key}",
                path.display()
            );
        }
    }
}

#[test]
fn a_limit_of_no_connections_per_address_is_refused() {
    let (_dir, path) = write("[probe]\nper_address_connections = 0\n");
    let err = Config::load(Some(&path), env(&[])).expect_err("zero connections");
    let message = err.to_string();
    assert!(message.contains("siteward.toml"), "{message}");
    assert!(message.contains("per_address_connections"), "{message}");
    assert!(message.contains("nonzero"), "{message}");
    let config = Config::load(
        None,
        env(&[
            ("SITEWARD_PROBE_PER_ADDRESS_CONNECTIONS", "3"),
            ("SITEWARD_PROBE_CONTACT", "mailto:ops@gansu.gov.cn"),
        ]),
    )
    .expect("overrides");
    assert_eq!(config.probe.per_address_connections.get(), 3);
    assert_eq!(config.probe.contact, "mailto:ops@gansu.gov.cn");
}

/// An error is told once: a missing configuration file names the file
/// and the system's reason, and the reason is not repeated after it (as
/// a cause chain printed whole would repeat it), in text and in JSON.
#[test]
fn a_missing_config_file_is_told_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere.toml");
    let sw = Siteward::with_config(&missing).without_actor();
    for json in [false, true] {
        let output = if json {
            sw.run(&["--json", "org", "list"])
        } else {
            sw.run(&["org", "list"])
        };
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("nowhere.toml"), "{stderr}");
        assert_eq!(
            stderr.matches("No such file or directory").count(),
            1,
            "{stderr}"
        );
    }
}
