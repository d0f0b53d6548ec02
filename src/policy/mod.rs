//! Loads and validates the policy directory (`policies/`): the rules an
//! office may tune (lifecycle windows, allowed suffixes) and the division
//! table. Every error names the file and the line. When no directory is
//! configured and none is found, the defaults compiled into the binary
//! (the repository's own `policies/`) apply, so that a bare binary works.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::registry::lifecycle::LifecycleWindows;
use crate::registry::{AllowedSuffixes, DivisionTable};

const DEFAULT_POLICY: &str = include_str!("../../policies/siteward.toml");
const DEFAULT_DIVISIONS: &str = include_str!("../../policies/divisions.csv");

/// The main policy file's name inside the directory.
pub const POLICY_FILE: &str = "siteward.toml";
/// The division table's name inside the directory.
pub const DIVISIONS_FILE: &str = "divisions.csv";

#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("policy directory {0} does not exist")]
    MissingDir(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Where the policy in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    Dir(PathBuf),
    BuiltIn,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Dir(dir) => write!(f, "{}", dir.display()),
            PolicySource::BuiltIn => f.write_str("built-in defaults"),
        }
    }
}

/// The validated policy in force.
#[derive(Debug, Clone)]
pub struct Policy {
    pub source: PolicySource,
    pub lifecycle: LifecycleWindows,
    pub allowed_suffixes: AllowedSuffixes,
    pub divisions: DivisionTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    lifecycle: LifecycleSection,
    domains: DomainsSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleSection {
    notice_days: toml::Spanned<u32>,
    release_grace_days: toml::Spanned<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsSection {
    allowed_suffixes: toml::Spanned<Vec<String>>,
}

impl Policy {
    /// Loads the policy: from `dir` when given (it must exist), else from
    /// `./policies` or `/etc/siteward/policies` when present, else the
    /// built-in defaults.
    pub fn load(dir: Option<&Path>) -> Result<Policy, PolicyError> {
        let dir = match dir {
            Some(dir) if dir.is_dir() => Some(dir.to_path_buf()),
            Some(dir) => return Err(PolicyError::MissingDir(dir.to_path_buf())),
            None => ["policies", "/etc/siteward/policies"]
                .iter()
                .map(PathBuf::from)
                .find(|candidate| candidate.join(POLICY_FILE).is_file()),
        };
        match dir {
            Some(dir) => Policy::load_dir(&dir),
            None => Policy::parse(
                PolicySource::BuiltIn,
                ("(built-in) siteward.toml", DEFAULT_POLICY),
                ("(built-in) divisions.csv", DEFAULT_DIVISIONS),
            ),
        }
    }

    /// The built-in defaults (the repository's `policies/`).
    pub fn built_in() -> Policy {
        Policy::parse(
            PolicySource::BuiltIn,
            ("(built-in) siteward.toml", DEFAULT_POLICY),
            ("(built-in) divisions.csv", DEFAULT_DIVISIONS),
        )
        .expect("the built-in policy is valid (tested)")
    }

    fn load_dir(dir: &Path) -> Result<Policy, PolicyError> {
        let read = |name: &str| -> Result<Option<(String, String)>, PolicyError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((path.display().to_string(), text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(PolicyError::Read { path, source }),
            }
        };
        let policy = read(POLICY_FILE)?.ok_or_else(|| PolicyError::Read {
            path: dir.join(POLICY_FILE),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        })?;
        // The division table is reference data: a directory that does not
        // ship its own uses the built-in one.
        let divisions = read(DIVISIONS_FILE)?.unwrap_or_else(|| {
            (
                "(built-in) divisions.csv".to_string(),
                DEFAULT_DIVISIONS.to_string(),
            )
        });
        Policy::parse(
            PolicySource::Dir(dir.to_path_buf()),
            (&policy.0, &policy.1),
            (&divisions.0, &divisions.1),
        )
    }

    fn parse(
        source: PolicySource,
        (policy_path, policy_text): (&str, &str),
        (divisions_path, divisions_text): (&str, &str),
    ) -> Result<Policy, PolicyError> {
        let invalid = |path: &str, message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: PolicyFile =
            toml::from_str(policy_text).map_err(|e| invalid(policy_path, e.to_string()))?;
        let at_line = |span: Range<usize>, message: String| {
            invalid(
                policy_path,
                format!("line {}: {message}", line_of(policy_text, span.start)),
            )
        };
        let suffixes = &file.domains.allowed_suffixes;
        if suffixes.get_ref().is_empty() {
            return Err(at_line(
                suffixes.span(),
                "[domains] allowed_suffixes must name at least one suffix".into(),
            ));
        }
        let allowed_suffixes = AllowedSuffixes::parse(suffixes.get_ref())
            .map_err(|e| at_line(suffixes.span(), format!("[domains] allowed_suffixes: {e}")))?;
        for (name, value) in [
            ("notice_days", &file.lifecycle.notice_days),
            ("release_grace_days", &file.lifecycle.release_grace_days),
        ] {
            if *value.get_ref() > 3650 {
                return Err(at_line(
                    value.span(),
                    format!(
                        "[lifecycle] {name} = {} is more than ten years",
                        value.get_ref()
                    ),
                ));
            }
        }
        let divisions =
            DivisionTable::from_csv(divisions_text).map_err(|e| invalid(divisions_path, e))?;
        if divisions.is_empty() {
            return Err(invalid(
                divisions_path,
                "the division table is empty".into(),
            ));
        }
        Ok(Policy {
            source,
            lifecycle: LifecycleWindows {
                notice_days: *file.lifecycle.notice_days.get_ref(),
                release_grace_days: *file.lifecycle.release_grace_days.get_ref(),
            },
            allowed_suffixes,
            divisions,
        })
    }
}

/// The 1-based line of a byte offset, for error messages.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
