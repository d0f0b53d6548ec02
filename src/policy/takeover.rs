//! Takeover fingerprints (`policies/takeover.toml`): per service, the CNAME
//! suffixes that point at it, whether a CNAME to it that is NXDOMAIN can be
//! claimed, what an unclaimed resource answers (body text, status, Server
//! header), and the verdict of the people who tried. The probes use the
//! fingerprints to look; the rules use the verdicts to judge.

use regex::Regex;
use serde::Deserialize;

use super::{PolicyError, line_of};

/// Whether a service's unclaimed resources can be claimed by anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Vulnerable,
    Edge,
    NotVulnerable,
}

/// How likely a takeover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    Low,
    Medium,
    High,
}

impl Likelihood {
    pub fn as_str(self) -> &'static str {
        match self {
            Likelihood::Low => "low",
            Likelihood::Medium => "medium",
            Likelihood::High => "high",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Likelihood::Low => "低",
            Likelihood::Medium => "中",
            Likelihood::High => "高",
        }
    }
}

/// One service's fingerprint.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// CNAME target suffixes, lower case, without a trailing dot.
    pub cname: Vec<String>,
    /// A CNAME to the service whose target is NXDOMAIN can be claimed.
    pub nxdomain: bool,
    pub body: Option<Regex>,
    pub status: Option<u16>,
    /// A substring the `Server` header must contain.
    pub server: Option<String>,
    pub verdict: Verdict,
    pub likelihood: Likelihood,
}

impl Service {
    /// Whether a CNAME target points at this service.
    pub fn matches_target(&self, target: &str) -> bool {
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        self.cname
            .iter()
            .any(|suffix| target == *suffix || target.ends_with(&format!(".{suffix}")))
    }

    /// Whether a response is this service's "nothing here" page. A
    /// service without a body or status fingerprint never matches a
    /// response (only NXDOMAIN can show it unclaimed).
    pub fn matches_response(&self, status: u16, server: Option<&str>, body: &str) -> bool {
        if self.body.is_none() && self.status.is_none() {
            return false;
        }
        self.status.is_none_or(|s| s == status)
            && self.body.as_ref().is_none_or(|re| re.is_match(body))
            && self.server.as_deref().is_none_or(|want| {
                server.is_some_and(|got| got.to_lowercase().contains(&want.to_lowercase()))
            })
    }

    /// The likelihood a finding may claim: a service the people who tried
    /// found not vulnerable is never more than low.
    pub fn claimed_likelihood(&self) -> Likelihood {
        match self.verdict {
            Verdict::NotVulnerable => Likelihood::Low,
            Verdict::Edge => self.likelihood.min(Likelihood::Medium),
            Verdict::Vulnerable => self.likelihood,
        }
    }
}

/// Every service's fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Takeover {
    pub services: Vec<Service>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeoverFile {
    #[serde(default)]
    service: Vec<toml::Spanned<ServiceEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    name: String,
    cname: Vec<String>,
    #[serde(default)]
    nxdomain: bool,
    body: Option<String>,
    status: Option<u16>,
    server: Option<String>,
    verdict: Verdict,
    likelihood: Likelihood,
    #[serde(default)]
    source: Option<String>,
}

impl Takeover {
    pub fn parse(path: &str, text: &str) -> Result<Takeover, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: TakeoverFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut services = Vec::new();
        for spanned in file.service {
            let line = line_of(text, spanned.span().start);
            let entry = spanned.into_inner();
            let at = |message: String| {
                invalid(format!("line {line}: service `{}`: {message}", entry.name))
            };
            if entry.cname.is_empty() {
                return Err(at("names no CNAME suffix".into()));
            }
            let body = entry
                .body
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| at(format!("bad body regex: {e}")))?;
            let _ = entry.source;
            services.push(Service {
                cname: entry
                    .cname
                    .iter()
                    .map(|c| c.trim().trim_end_matches('.').to_ascii_lowercase())
                    .collect(),
                name: entry.name,
                nxdomain: entry.nxdomain,
                body,
                status: entry.status,
                server: entry.server,
                verdict: entry.verdict,
                likelihood: entry.likelihood,
            });
        }
        Ok(Takeover { services })
    }

    /// The services a CNAME target points at.
    pub fn for_target<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.services
            .iter()
            .filter(move |s| s.matches_target(target))
    }

    pub fn get(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}
