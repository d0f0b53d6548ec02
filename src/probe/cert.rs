//! Certificates as the TLS probe reports them: the facts x509-parser reads
//! from each certificate of a chain (names, validity, algorithms, key
//! size), and the judgements built on them (self-signed, weak, SM2).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::public_key::PublicKey;

/// SM2 signature with SM3 (国密).
pub const OID_SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
/// The SM2 elliptic curve.
pub const OID_SM2_CURVE: &str = "1.2.156.10197.1.301";

/// What one certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub dns_names: Vec<String>,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub signature_algorithm: String,
    pub signature_oid: String,
    pub key_algorithm: String,
    pub key_bits: Option<usize>,
    pub curve: Option<String>,
    pub is_ca: bool,
    /// Issuer equals subject and the signature verifies (or cannot be
    /// checked, as with SM2).
    pub self_signed: bool,
}

fn signature_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSA",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSA",
        "1.2.840.113549.1.1.11" => "sha256WithRSA",
        "1.2.840.113549.1.1.12" => "sha384WithRSA",
        "1.2.840.113549.1.1.13" => "sha512WithRSA",
        "1.2.840.113549.1.1.10" => "rsassa-pss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ed25519",
        OID_SM2_WITH_SM3 => "SM2-with-SM3",
        _ => "unknown",
    }
}

fn key_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.1" => "rsa",
        "1.2.840.10045.2.1" => "ec",
        "1.3.101.112" => "ed25519",
        // Some SM2 certificates name the curve as the key algorithm.
        OID_SM2_CURVE => "sm2",
        _ => "unknown",
    }
}

fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256".into(),
        "1.3.132.0.34" => "P-384".into(),
        "1.3.132.0.35" => "P-521".into(),
        OID_SM2_CURVE => "SM2".into(),
        other => other.to_string(),
    }
}

/// RSA modulus bits, counted from the bytes: x509-parser's `key_size()`
/// gives 0 for a modulus without a leading zero byte.
fn modulus_bits(modulus: &[u8]) -> usize {
    match modulus.iter().position(|b| *b != 0) {
        Some(start) => {
            let m = &modulus[start..];
            (m.len() - 1) * 8 + (8 - m[0].leading_zeros() as usize)
        }
        None => 0,
    }
}

fn time(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(value, 0).unwrap_or_default()
}

/// Intermediates and roots read so far, by their DER bytes. A region's
/// sites share a handful of CAs: reading (and, for a self-issued root,
/// verifying) the same CA certificate on every handshake was a tenth of a
/// probe cycle's CPU (bench/RESULTS.md).
static CA_CACHE: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<Vec<u8>, CertInfo>>,
> = std::sync::LazyLock::new(Default::default);

/// The most CA certificates remembered; the cache starts over beyond it,
/// so a hostile server sending a new chain each time costs only memory
/// this big.
const CA_CACHE_SIZE: usize = 4096;

/// Reads one DER certificate of a chain; `position` 0 is the end entity,
/// which is read every time, the rest are remembered.
pub fn analyze_in_chain(der: &[u8], position: usize) -> Result<CertInfo, X509Error> {
    if position == 0 {
        return analyze(der);
    }
    if let Ok(cache) = CA_CACHE.lock()
        && let Some(info) = cache.get(der)
    {
        return Ok(info.clone());
    }
    let info = analyze(der)?;
    if let Ok(mut cache) = CA_CACHE.lock() {
        if cache.len() >= CA_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(der.to_vec(), info.clone());
    }
    Ok(info)
}

/// Reads one DER certificate.
pub fn analyze(der: &[u8]) -> Result<CertInfo, X509Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| match e {
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
        x509_parser::nom::Err::Incomplete(_) => X509Error::InvalidCertificate,
    })?;
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let raw = cert.raw_serial();
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    let serial = raw[start..].iter().map(|b| format!("{b:02x}")).collect();
    let signature_oid = cert.signature_algorithm.algorithm.to_id_string();
    let spki = cert.public_key();
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| curve_name(&o.to_id_string()))
        .or_else(|| (key_oid == OID_SM2_CURVE).then(|| "SM2".to_string()));
    let key_bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(modulus_bits(rsa.modulus)),
        Ok(key) => Some(key.key_size()).filter(|b| *b > 0),
        Err(_) => None,
    };
    let issuer_is_subject = cert.issuer().as_raw() == cert.subject().as_raw();
    let self_signed = issuer_is_subject
        && !matches!(
            cert.verify_signature(None),
            Err(e) if e != X509Error::SignatureUnsupportedAlgorithm
        );
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        dns_names,
        serial,
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
        signature_algorithm: signature_name(&signature_oid).to_string(),
        signature_oid,
        key_algorithm: key_name(&key_oid).to_string(),
        key_bits,
        curve,
        is_ca: cert.is_ca(),
        self_signed,
    })
}

impl CertInfo {
    /// SM2 (国密): an SM2-with-SM3 signature or a key on the SM2 curve.
    pub fn is_sm2(&self) -> bool {
        self.signature_oid == OID_SM2_WITH_SM3 || self.curve.as_deref() == Some("SM2")
    }

    /// A SHA-1 or MD5 signature (except on a self-signed root, whose
    /// signature nobody checks), or an RSA key under 2048 bits.
    pub fn weakness(&self) -> Option<String> {
        self.weak().map(|weak| match weak {
            Weakness::Signature(algorithm) => {
                format!("{algorithm} signature on {}", self.subject)
            }
            Weakness::ShortKey(bits) => format!("RSA-{bits} key on {}", self.subject),
        })
    }

    /// What makes the certificate weak, if anything: a SHA-1 or MD5
    /// signature (but on a self-signed root, whose signature nobody
    /// checks), or an RSA key under 2048 bits.
    pub fn weak(&self) -> Option<Weakness<'_>> {
        if !self.self_signed
            && matches!(
                self.signature_algorithm.as_str(),
                "sha1WithRSA" | "ecdsa-with-SHA1" | "md5WithRSA"
            )
        {
            return Some(Weakness::Signature(&self.signature_algorithm));
        }
        match self.key_bits {
            Some(bits) if self.key_algorithm == "rsa" && bits < 2048 => {
                Some(Weakness::ShortKey(bits))
            }
            _ => None,
        }
    }
}

/// Why a certificate is weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness<'a> {
    /// Signed with SHA-1 or MD5 (the algorithm's name).
    Signature(&'a str),
    /// An RSA key of this many bits, under 2048.
    ShortKey(usize),
}
