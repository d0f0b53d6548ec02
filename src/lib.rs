//! siteward keeps the authoritative registry of a region's government
//! websites (each with its identifier code, 网站标识码) and government
//! new-media accounts, and watches their domains.
//!
//! Modules in reading order:
//! - [`registry`]: the domain model and its lifecycles; pure.
//! - [`policy`]: the validated policy directory (`policies/`).
//! - [`config`]: the daemon's configuration, resolved once.
//! - [`store`]: the only module that knows SQL (SQLite or PostgreSQL).
//! - [`transfer`]: CSV import and export formats.
//! - [`probe`]: network in, observations out (DNS, delegations, TLS,
//!   pages, IPv6, feeds).
//! - [`findings`]: pure rules: registry + observations + policy → findings.
//! - [`reconcile`]: the quarterly reconciliation against the national
//!   systems' exports, the 找错 messages and the zones; pure.
//! - [`jobs`]: what the daemon runs and when (jobs, schedules, run states).
//! - [`app`]: the application shared by every face, and its use cases:
//!   the registry's reads, imports and exports, findings, the check
//!   cycle, discovery, the daemon's scheduler.
//! - [`access`]: roles and organization scopes of the API's tokens; pure.
//! - [`api`]: the HTTP API the daemon serves, on the use cases of [`app`],
//!   answering the typed JSON of [`dto`] (which `--json` prints too).
//! - [`logging`]: the daemon's logs (journald, text or JSON lines).
//! - [`clock`]: times as people give and read them (China Standard Time).
//! - [`sim`]: the simulated world on loopback (feature `sim`), and [`bench`].
//! - [`cli`], [`commands`], [`output`]: the command line: clap types, the
//!   commands that call the use cases, and how their results are shown.

pub mod access;
pub mod alerts;
pub mod api;
pub mod app;
#[cfg(feature = "sim")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
#[cfg(feature = "sim")]
pub mod demo;
pub mod dto;
pub mod findings;
pub mod jobs;
pub mod logging;
pub mod output;
pub mod policy;
pub mod probe;
pub mod reconcile;
pub mod registry;
pub mod report;
#[cfg(feature = "sim")]
pub mod sim;
pub mod store;
pub mod transfer;
pub mod web;

pub use commands::run;

/// The process exit status for an error: 2 for invalid input or a
/// forbidden transition, 1 for anything else.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let user_error = error.chain().any(|cause| {
        cause
            .downcast_ref::<store::StoreError>()
            .is_some_and(store::StoreError::is_user_error)
            || cause.is::<registry::Invalid>()
            || cause.is::<registry::lifecycle::TransitionError>()
            || cause.is::<commands::InvalidInput>()
            || cause.is::<reconcile::BadInput>()
            || cause.is::<config::ConfigError>()
            || cause.is::<app::lock::LockError>()
            || cause
                .downcast_ref::<policy::PolicyError>()
                .is_some_and(policy::PolicyError::is_user_error)
    });
    if user_error { 2 } else { 1 }
}
