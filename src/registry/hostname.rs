//! Host names, normalised once: lower case, no trailing dot, IDNA to
//! punycode (so `中国政府网.政务` becomes `xn--fiqs8sirgfmhq98a.xn--zfr164b`).
//!
//! Whether a host name is *allowed* (ends in a permitted suffix) is policy,
//! checked by [`AllowedSuffixes`]; whether it is a well-formed DNS name is
//! checked here, when the [`Hostname`] is made.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A normalised, valid DNS host name (ASCII, punycode for IDNs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hostname(String);

impl Hostname {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name in Unicode, for people (`xn--zfr164b` shows as `政务`).
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    /// Whether this name is `suffix` or lies below it, label-wise
    /// (`x.gov.cn` is under `gov.cn`, `xgov.cn` is not).
    pub fn is_within(&self, suffix: &Hostname) -> bool {
        name_within(&self.0, &suffix.0)
    }

    /// Parses a host name that may be given as a URL (`https://x.gov.cn/a`),
    /// as the national system's exports and people often do. Every face
    /// that turns a URL into a host name comes here (imports, the command
    /// line, the reconciliation's inputs, site look-ups).
    ///
    /// A URL with a port (`https://x.gov.cn:8443/`) is refused: the probes
    /// look at the standard ports 80 and 443 only, so keeping the host name
    /// and dropping the port would register a site that is never looked at
    /// where it really serves.
    pub fn from_url_or_host(raw: &str) -> Result<Hostname, Invalid> {
        let trimmed = raw.trim();
        if trimmed.contains("://") {
            let url = url::Url::parse(trimmed)
                .map_err(|e| Invalid::new("url", raw, &format!("is not a valid URL: {e}")))?;
            let host = url
                .host_str()
                .ok_or_else(|| Invalid::new("url", raw, "has no host name"))?;
            if let Some(port) = url.port() {
                return Err(port_refused(raw, port));
            }
            return host.parse();
        }
        // `www.x.gov.cn/index.html` without a scheme: keep the host part.
        let host = trimmed.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((_, port)) = host.rsplit_once(':')
            && let Ok(port) = port.parse::<u16>()
        {
            return Err(port_refused(raw, port));
        }
        host.parse()
    }
}

/// Why a URL with a port is not registered.
fn port_refused(raw: &str, port: u16) -> Invalid {
    Invalid::new(
        "url",
        raw,
        &format!(
            "has a port ({port}); siteward probes the standard ports 80 and 443 only — register the host name"
        ),
    )
}

impl FromStr for Hostname {
    type Err = Invalid;

    fn from_str(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        let value = value.strip_suffix('.').unwrap_or(value);
        if value.is_empty() {
            return Err(Invalid::new("hostname", raw, "is empty"));
        }
        if value.contains(':') || value.contains('/') {
            return Err(Invalid::new(
                "hostname",
                raw,
                "must be a host name alone, without scheme, port or path",
            ));
        }
        let ascii = idna::domain_to_ascii(value).map_err(|_| {
            Invalid::new(
                "hostname",
                raw,
                "is not a valid internationalised domain name (IDNA)",
            )
        })?;
        validate_ldh(&ascii).map_err(|rule| Invalid::new("hostname", raw, rule))?;
        Ok(Hostname(ascii))
    }
}

/// RFC 1035/1123 rules on the ASCII form.
fn validate_ldh(name: &str) -> Result<(), &'static str> {
    if name.len() > 253 {
        return Err("is longer than 253 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("must have at least two labels (a name under a suffix)");
    }
    for label in &labels {
        if label.is_empty() {
            return Err("has an empty label (two dots in a row)");
        }
        if label.len() > 63 {
            return Err("has a label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("may contain only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a label that starts or ends with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("is an IP address or ends in a numeric label, not a host name");
    }
    Ok(())
}

impl TryFrom<String> for Hostname {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        value.parse()
    }
}

impl From<Hostname> for String {
    fn from(name: Hostname) -> String {
        name.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The suffixes under which government host names may be registered
/// (policy: `gov.cn` and `政务` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSuffixes(Vec<Hostname>);

impl AllowedSuffixes {
    /// Suffixes are DNS names too, but may be a single label (`政务`).
    pub fn parse(suffixes: &[String]) -> Result<Self, Invalid> {
        let mut parsed = Vec::with_capacity(suffixes.len());
        for suffix in suffixes {
            let trimmed = suffix.trim().trim_start_matches('.');
            let ascii = idna::domain_to_ascii(trimmed).map_err(|_| {
                Invalid::new("allowed_suffixes", suffix, "is not a valid domain suffix")
            })?;
            // Validate as if it had a label in front of it.
            validate_ldh(&format!("x.{ascii}"))
                .map_err(|rule| Invalid::new("allowed_suffixes", suffix, rule))?;
            parsed.push(Hostname(ascii));
        }
        Ok(AllowedSuffixes(parsed))
    }

    /// A host name is allowed when it lies strictly below a suffix: the
    /// suffix itself (`gov.cn`) is nobody's site.
    pub fn allows(&self, host: &Hostname) -> bool {
        self.0
            .iter()
            .any(|suffix| host != suffix && host.is_within(suffix))
    }

    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|s| {
                let unicode = s.to_unicode();
                if unicode == s.as_str() {
                    format!(".{s}")
                } else {
                    format!(".{unicode} ({s})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `name` is `suffix` or lies below it, label-wise, ignoring ASCII
/// case and a trailing dot: for names not (yet) parsed into [`Hostname`],
/// such as the host names links point at.
pub fn name_within(name: &str, suffix: &str) -> bool {
    let name = name.trim_end_matches('.').as_bytes();
    let suffix = suffix.trim_end_matches('.').as_bytes();
    name.eq_ignore_ascii_case(suffix)
        || (name.len() > suffix.len()
            && name[name.len() - suffix.len() - 1] == b'.'
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_a_port_is_refused_not_stripped() {
        for raw in [
            "https://x.gov.cn:8443/",
            "http://x.gov.cn:8080/index.html",
            "http://x.gov.cn:443/",
            "x.gov.cn:8443",
            "x.gov.cn:8443/index.html",
        ] {
            let e = Hostname::from_url_or_host(raw).expect_err(raw);
            assert_eq!((e.field.as_str(), e.value.as_str()), ("url", raw));
            assert!(
                e.to_string()
                    .contains("siteward probes the standard ports 80 and 443 only"),
                "{e}"
            );
        }
        // The scheme's own port is no port at all.
        for raw in [
            "https://x.gov.cn:443/",
            "http://x.gov.cn:80/",
            "https://x.gov.cn/",
        ] {
            assert_eq!(
                Hostname::from_url_or_host(raw).map(String::from).as_deref(),
                Ok("x.gov.cn"),
                "{raw}"
            );
        }
    }
}
