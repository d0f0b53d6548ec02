//! The daemon's configuration file, resolved and validated once.
//!
//! Sources, later ones winning: built-in defaults, the TOML file
//! (`--config FILE` or `SITEWARD_CONFIG`), environment variables
//! `SITEWARD_<SECTION>_<KEY>`, then command-line flags (`--db`). Unknown
//! keys are errors that name the file and line, or the variable.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub policies: PoliciesConfig,
    pub resolver: ResolverConfig,
    pub probe: ProbeConfig,
    pub api: ApiConfig,
    pub web: WebConfig,
    pub daemon: DaemonConfig,
    pub alerts: AlertsConfig,
    pub reconcile: ReconcileConfig,
    pub report: ReportConfig,
}

/// The quarterly reconciliation the daemon runs on policy's `reconcile`
/// schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileConfig {
    /// Where the office drops the national systems' exports, the 找错
    /// export and zone files: the newest file of each kind is read (see
    /// `app::reconcile::inbox`; made if missing). Unset: the scheduled run
    /// fails, saying so.
    pub inbox: Option<PathBuf>,
    /// Where each scheduled run also writes its files, in a directory
    /// named after the quarter and run (`2026Q4-run-7`). Unset: stored
    /// only (`siteward reconcile show ID --out DIR`).
    pub out: Option<PathBuf>,
    /// Also transfer the zones policy allows (`[discovery] axfr`).
    pub axfr: bool,
}

/// The quarterly circular the daemon writes on policy's `report`
/// schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Where each scheduled circular is also written, in a directory
    /// named after the quarter and report (`2026Q4-report-3`). Unset:
    /// stored only (`siteward report show ID --out DIR`).
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; default
    /// [`default_database_url`].
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// The policy directory, holding every file of
    /// `policy::REQUIRED_FILES`; unset: the built-in defaults (no
    /// directory is looked for).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverConfig {
    /// `ip:port` of recursive resolvers; empty uses the system resolver.
    pub nameservers: Vec<String>,
    pub timeout_ms: u64,
    pub attempts: u32,
    /// The port delegated name servers are asked on (53; tests use others).
    pub authoritative_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    pub concurrency: usize,
    pub deadline_ms: u64,
    pub https_port: u16,
    pub http_port: u16,
    /// PEM files trusted beside the public roots.
    pub extra_roots: Vec<PathBuf>,
    /// Connections open to one address at a time, at most.
    pub per_address_connections: std::num::NonZeroUsize,
    /// Who runs this siteward (an e-mail address or a URL), sent in the
    /// User-Agent so that a site's operator can reach them.
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `host:port` the API listens on (`127.0.0.1:0`: any free port).
    pub listen: String,
    /// The server certificate chain (PEM) for HTTPS; with `tls_key`.
    /// Unset or empty: plain HTTP (keep it on loopback or behind a
    /// proxy). Read again on SIGHUP.
    #[serde(deserialize_with = "empty_is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(deserialize_with = "empty_is_none")]
    pub tls_key: Option<PathBuf>,
    /// Requests served at once; more wait their turn.
    pub max_concurrent: std::num::NonZeroUsize,
    /// How long one request may take before it is answered 503.
    pub request_timeout_secs: std::num::NonZeroU64,
    /// The largest request body, in bytes (imports allow more on their
    /// own routes).
    pub max_body_bytes: std::num::NonZeroUsize,
}

/// The administrators' web page, served on the API's listener: its
/// sessions and how many wrong passwords it takes before a login waits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// A session not used for this long ends (its next request goes to
    /// the login page).
    pub session_idle_secs: std::num::NonZeroU64,
    /// A session ends this long after its login, used or not.
    pub session_max_secs: std::num::NonZeroU64,
    /// Failed logins allowed per user name, and per client address,
    /// within `login_window_secs`; then logins from it wait.
    pub login_attempts: std::num::NonZeroU32,
    pub login_window_secs: std::num::NonZeroU64,
}

impl Default for WebConfig {
    fn default() -> Self {
        let secs = |n| std::num::NonZeroU64::new(n).expect("not zero");
        WebConfig {
            session_idle_secs: secs(30 * 60),
            session_max_secs: secs(12 * 3600),
            login_attempts: std::num::NonZeroU32::new(5).expect("5 is not zero"),
            login_window_secs: secs(15 * 60),
        }
    }
}

/// What `siteward serve` needs beyond the other sections.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// After SIGTERM, how long in-flight probes may finish before they
    /// are abandoned and the run is recorded as interrupted.
    pub shutdown_grace_secs: u64,
    /// Host names an instance claims at a time from a probe run.
    pub claim_batch: std::num::NonZeroUsize,
    /// How long a claimed batch is held before another instance may take
    /// it over (its owner crashed, or is stuck).
    pub lease_secs: std::num::NonZeroU64,
}

/// Where alerts go (`[[alerts.sink]]`) and how the sender delivers them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub sink: Vec<SinkConfig>,
    /// How often the sender looks for messages due.
    pub poll_ms: u64,
    /// How long a receiver has to answer.
    pub timeout_secs: u64,
    /// The first retry's delay; each next one doubles, up to `retry_max_secs`.
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    /// Attempts before a message is marked failed (`alerts retry` sends
    /// it again).
    pub max_attempts: u32,
    /// Signs what goes to organizations' own webhooks (`org add
    /// --webhook`); unsigned when empty.
    pub org_webhook_secret: Secret,
    /// The window a sink's `rate_per_minute` is counted over, in seconds
    /// (60; tests scale it down). A robot's own per-second limit (Feishu's
    /// 5 a second) and the waits robots ask for scale with it.
    pub rate_window_secs: u64,
    /// Signing secrets of organizations' own robots (`org add --webhook`
    /// with a DingTalk or Feishu URL), by organization name: the secret,
    /// or `{ secret_env = "VAR" }`.
    pub org_secrets: std::collections::BTreeMap<String, OrgSecret>,
}

/// An organization's robot secret: written out, or read from the
/// environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OrgSecret {
    Value(Secret),
    Env { secret_env: String },
}

impl OrgSecret {
    pub fn resolve(&self, org: &str) -> Result<Secret, String> {
        match self {
            OrgSecret::Value(secret) => Ok(secret.clone()),
            OrgSecret::Env { secret_env } => match std::env::var(secret_env) {
                Ok(value) if !value.is_empty() => Ok(Secret(value)),
                _ => Err(format!(
                    "[alerts.org_secrets] `{org}`: the environment variable {secret_env} is not set"
                )),
            },
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            sink: Vec::new(),
            poll_ms: 1000,
            timeout_secs: 10,
            retry_base_ms: 5000,
            retry_max_secs: 900,
            // About a day and a half of retrying at the largest delay.
            max_attempts: 150,
            org_webhook_secret: Secret::default(),
            rate_window_secs: 60,
            org_secrets: std::collections::BTreeMap::new(),
        }
    }
}

/// The kinds of sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// siteward's own JSON, signed with `X-Siteward-Signature`.
    Webhook,
    /// A WeCom (企业微信) group robot.
    Wecom,
    /// A DingTalk (钉钉) custom robot; its secret signs the URL.
    Dingtalk,
    /// A Feishu (飞书) custom bot; its secret signs the body.
    Feishu,
    /// Email over SMTP with STARTTLS (`smtp://`) or TLS (`smtps://`).
    Email,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Wecom => "wecom",
            SinkKind::Dingtalk => "dingtalk",
            SinkKind::Feishu => "feishu",
            SinkKind::Email => "email",
        }
    }

    /// The group robot this kind is, if it is one.
    pub fn robot(self) -> Option<crate::alerts::robots::Robot> {
        use crate::alerts::robots::Robot;
        match self {
            SinkKind::Webhook | SinkKind::Email => None,
            SinkKind::Wecom => Some(Robot::Wecom),
            SinkKind::Dingtalk => Some(Robot::Dingtalk),
            SinkKind::Feishu => Some(Robot::Feishu),
        }
    }
}

/// One sink: a name routes use, where it is, and its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    pub url: String,
    /// Signs each message; or `secret_env`, the variable holding it.
    #[serde(default)]
    pub secret: Option<Secret>,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Messages a window (`[alerts] rate_window_secs`) at most; default
    /// the robot's own limit (WeCom and DingTalk 20, Feishu 100), none
    /// for a webhook or email.
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
    /// Email: the sender's address.
    #[serde(default)]
    pub from: Option<String>,
    /// Email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Warnings wait while the sink is quiet: a daily span in China
    /// Standard Time, `22:00-08:00`.
    #[serde(default)]
    pub quiet_hours: Option<String>,
    /// Whole quiet days: weekdays (`sat`, `sun`) and dates
    /// (`2026-10-01`, for public holidays).
    #[serde(default)]
    pub quiet_days: Vec<String>,
    /// Critical findings wait for the quiet to end too (by default they
    /// go out at once).
    #[serde(default)]
    pub quiet_holds_critical: bool,
}

impl SinkConfig {
    /// A sink with every optional setting left out.
    pub fn new(name: &str, kind: SinkKind, url: &str) -> SinkConfig {
        SinkConfig {
            name: name.to_string(),
            kind,
            url: url.to_string(),
            secret: None,
            secret_env: None,
            rate_per_minute: None,
            from: None,
            to: Vec::new(),
            quiet_hours: None,
            quiet_days: Vec::new(),
            quiet_holds_critical: false,
        }
    }

    /// The rate limits in force for this sink: its per-minute limit (or
    /// the robot's own), and Feishu's 5 a second, each over the window
    /// scaled from a minute to `window`.
    pub fn rate_limits(&self, window: std::time::Duration) -> Vec<crate::alerts::rate::RateLimit> {
        crate::alerts::rate::limits(self.kind.robot(), self.rate_per_minute, window)
    }

    /// The sink's quiet hours, if it has any.
    pub fn quiet(&self) -> Result<Option<crate::alerts::quiet::Quiet>, String> {
        crate::alerts::quiet::Quiet::parse(
            self.quiet_hours.as_deref(),
            &self.quiet_days,
            self.quiet_holds_critical,
        )
        .map_err(|e| format!("sink `{}`: {e}", self.name))
    }

    /// The secret, from the file or from the environment.
    pub fn secret(&self) -> Result<Option<Secret>, String> {
        match (&self.secret, &self.secret_env) {
            (Some(_), Some(_)) => Err(format!(
                "sink `{}`: give secret or secret_env, not both",
                self.name
            )),
            (Some(secret), None) => Ok(Some(secret.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Some(Secret(value))),
                _ => Err(format!(
                    "sink `{}`: the environment variable {var} (secret_env) is not set",
                    self.name
                )),
            },
            (None, None) => Ok(None),
        }
    }
}

/// A secret: never printed, not even by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(secret)")
    }
}

/// A path where `""` means none (as the example file writes an unset
/// one).
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let path = Option::<PathBuf>::deserialize(d)?;
    Ok(path.filter(|p| !p.as_os_str().is_empty()))
}

impl ApiConfig {
    /// HTTPS needs both the certificate and its key.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                Err("[api] tls_cert is set without tls_key: HTTPS needs both".into())
            }
            (None, Some(_)) => {
                Err("[api] tls_key is set without tls_cert: HTTPS needs both".into())
            }
            _ => Ok(()),
        }
    }
}

impl AlertsConfig {
    /// Checks what serde cannot: names unique and not reserved, URLs that
    /// are http or https, secrets present where named.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for sink in &self.sink {
            let name = sink.name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) || name.contains(':') {
                return Err(format!(
                    "[[alerts.sink]] name `{}`: a sink's name is one word without `:`",
                    sink.name
                ));
            }
            if !seen.insert(name) {
                return Err(format!("[[alerts.sink]] `{name}` is defined twice"));
            }
            if sink.kind == SinkKind::Email {
                crate::alerts::email::EmailSink::check(&sink.url, sink.from.as_deref(), &sink.to)
                    .map_err(|e| format!("[[alerts.sink]] `{name}`: {e}"))?;
            } else {
                match url::Url::parse(&sink.url) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                    }
                    _ => {
                        return Err(format!(
                            "[[alerts.sink]] `{name}`: url `{}` is not an http or https URL",
                            crate::alerts::mask_url(&sink.url)
                        ));
                    }
                }
                if sink.from.is_some() || !sink.to.is_empty() {
                    return Err(format!(
                        "[[alerts.sink]] `{name}`: from and to are for kind = \"email\""
                    ));
                }
            }
            sink.secret()?;
            sink.quiet()?;
        }
        for (org, secret) in &self.org_secrets {
            secret.resolve(org)?;
        }
        if self.sink.iter().any(|s| s.rate_per_minute == Some(0)) {
            return Err("[[alerts.sink]]: rate_per_minute must be at least 1".into());
        }
        if self.poll_ms == 0
            || self.timeout_secs == 0
            || self.max_attempts == 0
            || self.rate_window_secs == 0
        {
            return Err("[alerts]: poll_ms, timeout_secs, max_attempts and rate_window_secs must be positive".into());
        }
        Ok(())
    }

    /// The sink named `name`.
    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sink.iter().find(|s| s.name == name)
    }

    pub fn sink_names(&self) -> Vec<String> {
        self.sink.iter().map(|s| s.name.clone()).collect()
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            shutdown_grace_secs: 10,
            // About a second or two of probing: several instances share
            // a cycle finely, and a crash loses little.
            claim_batch: std::num::NonZeroUsize::new(500).expect("not zero"),
            // Far longer than a batch takes; a crashed instance's batch
            // waits this long.
            lease_secs: std::num::NonZeroU64::new(300).expect("not zero"),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: default_database_url(|var| std::env::var(var).ok()),
        }
    }
}

/// The database used when neither `--db` nor the configuration names one:
/// a SQLite file in a directory that belongs to whoever runs siteward,
/// never the working directory (a read-only command run from anywhere
/// must not leave a database behind).
///
/// - under systemd, `StateDirectory=siteward` (the shipped unit) puts the
///   state directory, `/var/lib/siteward`, in `STATE_DIRECTORY`;
/// - else `$XDG_DATA_HOME/siteward/siteward.db` (an absolute path, as the
///   XDG Base Directory specification requires; a relative one is
///   ignored);
/// - else `$HOME/.local/share/siteward/siteward.db`;
/// - else, with no home at all, `siteward.db` in the working directory.
///
/// `env` reads a variable (tests pass their own).
pub fn default_database_url(env: impl Fn(&str) -> Option<String>) -> String {
    let set = |var: &str| env(var).filter(|v| !v.is_empty());
    let file = if let Some(dirs) = set("STATE_DIRECTORY") {
        // Several directories are separated by colons; the first is ours.
        let first = dirs.split(':').next().unwrap_or_default().to_string();
        Path::new(&first).join("siteward.db")
    } else if let Some(data) = set("XDG_DATA_HOME").filter(|d| Path::new(d).is_absolute()) {
        Path::new(&data).join("siteward").join("siteward.db")
    } else if let Some(home) = set("HOME") {
        Path::new(&home)
            .join(".local/share/siteward")
            .join("siteward.db")
    } else {
        PathBuf::from("siteward.db")
    };
    format!("sqlite://{}", file.display())
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            nameservers: Vec::new(),
            timeout_ms: 2000,
            attempts: 2,
            authoritative_port: 53,
        }
    }
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            // Measured (bench/RESULTS.md): beyond about 64 probes in flight,
            // the resolver's per-query UDP sockets and 333 ms re-sends slow
            // everything down on a 2-core machine.
            concurrency: 64,
            // The page deadline (15 s) plus a handshake's share: a
            // blackholed address must end in an outcome, not the deadline.
            deadline_ms: 40_000,
            https_port: 443,
            http_port: 80,
            extra_roots: Vec::new(),
            // A browser opens about six to one server; a few more keep
            // a platform of hundreds of sites moving without looking
            // like a flood.
            per_address_connections: std::num::NonZeroUsize::new(8).expect("8 is not zero"),
            contact: String::new(),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:8750".to_string(),
            tls_cert: None,
            tls_key: None,
            max_concurrent: std::num::NonZeroUsize::new(64).expect("64 is not zero"),
            request_timeout_secs: std::num::NonZeroU64::new(30).expect("30 is not zero"),
            max_body_bytes: std::num::NonZeroUsize::new(1024 * 1024).expect("1 MiB is not zero"),
        }
    }
}

/// How an environment value becomes a TOML value.
#[derive(Clone, Copy)]
enum EnvKind {
    Text,
    Integer,
    /// Comma-separated.
    List,
}

/// Every key that may be set, with its kind; the environment may set only
/// these (the file is checked by serde against the same structs).
const KEYS: &[(&str, &str, EnvKind)] = &[
    ("database", "url", EnvKind::Text),
    ("policies", "dir", EnvKind::Text),
    ("resolver", "nameservers", EnvKind::List),
    ("resolver", "timeout_ms", EnvKind::Integer),
    ("resolver", "attempts", EnvKind::Integer),
    ("resolver", "authoritative_port", EnvKind::Integer),
    ("probe", "concurrency", EnvKind::Integer),
    ("probe", "deadline_ms", EnvKind::Integer),
    ("probe", "https_port", EnvKind::Integer),
    ("probe", "http_port", EnvKind::Integer),
    ("probe", "extra_roots", EnvKind::List),
    ("probe", "per_address_connections", EnvKind::Integer),
    ("probe", "contact", EnvKind::Text),
    ("api", "listen", EnvKind::Text),
    ("api", "tls_cert", EnvKind::Text),
    ("api", "tls_key", EnvKind::Text),
    ("api", "max_concurrent", EnvKind::Integer),
    ("api", "request_timeout_secs", EnvKind::Integer),
    ("api", "max_body_bytes", EnvKind::Integer),
    ("web", "session_idle_secs", EnvKind::Integer),
    ("web", "session_max_secs", EnvKind::Integer),
    ("web", "login_attempts", EnvKind::Integer),
    ("web", "login_window_secs", EnvKind::Integer),
    ("daemon", "shutdown_grace_secs", EnvKind::Integer),
    ("daemon", "claim_batch", EnvKind::Integer),
    ("daemon", "lease_secs", EnvKind::Integer),
    ("alerts", "poll_ms", EnvKind::Integer),
    ("alerts", "timeout_secs", EnvKind::Integer),
    ("alerts", "retry_base_ms", EnvKind::Integer),
    ("alerts", "retry_max_secs", EnvKind::Integer),
    ("alerts", "max_attempts", EnvKind::Integer),
    ("alerts", "org_webhook_secret", EnvKind::Text),
    ("alerts", "rate_window_secs", EnvKind::Integer),
    ("reconcile", "inbox", EnvKind::Text),
    ("reconcile", "out", EnvKind::Text),
    ("report", "out", EnvKind::Text),
];

impl Config {
    /// Loads the file (if any) and applies the environment `env` (pass
    /// `std::env::vars()`; tests pass their own).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, path) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                // Check the file alone first, so that its errors carry lines.
                toml::from_str::<Config>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                (table, Some(path.to_path_buf()))
            }
            None => (toml::Table::new(), None),
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        let sections: Vec<&str> = KEYS.iter().map(|(s, _, _)| *s).collect();
        for (var, value) in env.iter().cloned() {
            let Some(rest) = var.strip_prefix("SITEWARD_") else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            // Only variables naming a known section are configuration;
            // SITEWARD_CONFIG and SITEWARD_TEST_* are not.
            let Some(section) = sections.iter().find(|s| rest.starts_with(&format!("{s}_"))) else {
                continue;
            };
            let key = &rest[section.len() + 1..];
            let Some((_, _, kind)) = KEYS.iter().find(|(s, k, _)| s == section && *k == key) else {
                let known: Vec<&str> = KEYS
                    .iter()
                    .filter(|(s, _, _)| s == section)
                    .map(|(_, k, _)| *k)
                    .collect();
                return Err(ConfigError::Env {
                    var,
                    message: format!(
                        "unknown key `{key}` in [{section}]; known keys: {}",
                        known.join(", ")
                    ),
                });
            };
            let parsed = match kind {
                EnvKind::Text => toml::Value::String(value.clone()),
                EnvKind::Integer => value
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| ConfigError::Env {
                        var: var.clone(),
                        message: format!("`{value}` is not a whole number"),
                    })?,
                EnvKind::List => toml::Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_string()))
                        .collect(),
                ),
            };
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(section_table) = entry {
                section_table.insert(key.to_string(), parsed);
            }
            // Validate now, so the error names this variable.
            Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                ConfigError::Env {
                    var: var.clone(),
                    message: e.to_string(),
                }
            })?;
        }
        let path = path.unwrap_or_else(|| PathBuf::from("(environment)"));
        let url_given = table.get("database").and_then(|d| d.get("url")).is_some();
        let mut config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if !url_given {
            // From the environment given, not the process's: the same
            // inputs give the same configuration.
            config.database.url = default_database_url(|var| {
                env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
            });
        }
        config
            .alerts
            .validate()
            .and_then(|()| config.api.validate())
            .map_err(|message| ConfigError::Parse { path, message })?;
        Ok(config)
    }
}
