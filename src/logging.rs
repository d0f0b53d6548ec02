//! Where the daemon's logs go: to journald under systemd (`JOURNAL_STREAM`
//! set), else plain lines on stderr, or JSON lines with `--log-format
//! json`. Fields (job, run, host) travel as structured data. `RUST_LOG`
//! is not read: the level is `info`, or `debug` with `SITEWARD_DEBUG=1`.

use tracing::Level;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// How log lines are written when not under journald.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the process's logger; a second call does nothing.
pub fn init(format: LogFormat) {
    let level = if std::env::var_os("SITEWARD_DEBUG").is_some_and(|v| v == "1") {
        Level::DEBUG
    } else {
        Level::INFO
    };
    install(format, LevelFilter::from_level(level));
}

/// Warnings and errors only, as plain lines (the demo prints its own).
pub fn init_quiet() {
    install(LogFormat::Text, LevelFilter::WARN);
}

fn install(format: LogFormat, filter: LevelFilter) {
    // Under systemd, stderr is connected to the journal: write there with
    // fields kept, when the journal socket answers.
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        let _ = Registry::default()
            .with(
                journald
                    .with_syslog_identifier("siteward".into())
                    .with_filter(filter),
            )
            .try_init();
        return;
    }
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
    };
    let _ = Registry::default()
        .with(layer.with_filter(filter))
        .try_init();
}
