//! What went wrong in a handshake or a connection, in words a person
//! reads. rustls's own `Display` prints its enums with `Debug`
//! (`received fatal alert: HandshakeFailure`, `invalid peer certificate:
//! Other(OtherError(CaUsedAsEndEntity))`), and webpki's errors arrive
//! wrapped in an opaque `Other`: both are matched here, variant by
//! variant, so that no evidence, table or summary shows a Rust type.
//! English for the command line and evidence; the findings' Chinese is
//! in `findings::text`, keyed by [`CertProblem`].

use std::io;
use std::net::SocketAddr;

use rustls::{AlertDescription, CertificateError, Error as TlsError, PeerIncompatible};

/// Why a certificate was not accepted: a closed set, so that the words
/// of each (English here, Chinese in `findings::text`) are written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProblem {
    UnknownIssuer,
    BadSignature,
    CaUsedAsEndEntity,
    EndEntityUsedAsCa,
    Expired,
    NotYetValid,
    NotValidForName,
    Revoked,
    RevocationUnknown,
    BadEncoding,
    UnsupportedAlgorithm,
    WrongPurpose,
    NameConstraints,
    ChainTooLong,
    UnsupportedExtension,
    Distrusted,
    /// Anything else webpki or rustls refuses a chain for.
    Invalid,
}

impl CertProblem {
    /// Every problem, for the reverse look-up of stored words.
    pub const ALL: [CertProblem; 17] = [
        CertProblem::UnknownIssuer,
        CertProblem::BadSignature,
        CertProblem::CaUsedAsEndEntity,
        CertProblem::EndEntityUsedAsCa,
        CertProblem::Expired,
        CertProblem::NotYetValid,
        CertProblem::NotValidForName,
        CertProblem::Revoked,
        CertProblem::RevocationUnknown,
        CertProblem::BadEncoding,
        CertProblem::UnsupportedAlgorithm,
        CertProblem::WrongPurpose,
        CertProblem::NameConstraints,
        CertProblem::ChainTooLong,
        CertProblem::UnsupportedExtension,
        CertProblem::Distrusted,
        CertProblem::Invalid,
    ];

    /// The problem rustls reports (webpki's own error looked into when
    /// rustls wraps it as `Other`).
    pub fn of(error: &CertificateError) -> CertProblem {
        use CertificateError as E;
        match error {
            E::UnknownIssuer => CertProblem::UnknownIssuer,
            E::BadSignature => CertProblem::BadSignature,
            E::Expired | E::ExpiredContext { .. } => CertProblem::Expired,
            E::NotValidYet | E::NotValidYetContext { .. } => CertProblem::NotYetValid,
            E::NotValidForName | E::NotValidForNameContext { .. } => CertProblem::NotValidForName,
            E::Revoked => CertProblem::Revoked,
            E::UnknownRevocationStatus
            | E::ExpiredRevocationList
            | E::ExpiredRevocationListContext { .. } => CertProblem::RevocationUnknown,
            E::BadEncoding => CertProblem::BadEncoding,
            #[allow(deprecated)]
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                CertProblem::UnsupportedAlgorithm
            }
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => CertProblem::WrongPurpose,
            E::UnhandledCriticalExtension => CertProblem::UnsupportedExtension,
            E::Other(other) => {
                let inner: &(dyn std::error::Error + 'static) = &*other.0;
                inner
                    .downcast_ref::<webpki::Error>()
                    .map_or(CertProblem::Invalid, CertProblem::of_webpki)
            }
            _ => CertProblem::Invalid,
        }
    }

    fn of_webpki(error: &webpki::Error) -> CertProblem {
        use webpki::Error as W;
        #[allow(deprecated)]
        match error {
            W::UnknownIssuer => CertProblem::UnknownIssuer,
            W::CaUsedAsEndEntity => CertProblem::CaUsedAsEndEntity,
            W::EndEntityUsedAsCa => CertProblem::EndEntityUsedAsCa,
            W::CertExpired { .. } | W::InvalidCertValidity => CertProblem::Expired,
            W::CertNotValidYet { .. } => CertProblem::NotYetValid,
            W::CertNotValidForName(_) => CertProblem::NotValidForName,
            W::CertRevoked => CertProblem::Revoked,
            W::CertDistrusted => CertProblem::Distrusted,
            W::UnknownRevocationStatus | W::CrlExpired { .. } => CertProblem::RevocationUnknown,
            W::BadDer | W::BadDerTime | W::TrailingData(_) | W::UnsupportedCertVersion => {
                CertProblem::BadEncoding
            }
            W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => {
                CertProblem::BadSignature
            }
            W::UnsupportedSignatureAlgorithm
            | W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKey
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                CertProblem::UnsupportedAlgorithm
            }
            W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
                CertProblem::WrongPurpose
            }
            W::NameConstraintViolation
            | W::MalformedNameConstraint
            | W::InvalidNetworkMaskConstraint
            | W::MaximumNameConstraintComparisonsExceeded => CertProblem::NameConstraints,
            W::PathLenConstraintViolated
            | W::MaximumPathDepthExceeded
            | W::MaximumPathBuildCallsExceeded
            | W::MaximumSignatureChecksExceeded => CertProblem::ChainTooLong,
            W::UnsupportedCriticalExtension | W::MalformedExtensions | W::ExtensionValueInvalid => {
                CertProblem::UnsupportedExtension
            }
            _ => CertProblem::Invalid,
        }
    }

    /// The problem in English, as evidence and the command line show it
    /// (and as `TlsVerdict::Untrusted` stores it).
    pub fn words(self) -> &'static str {
        match self {
            CertProblem::UnknownIssuer => "issued by an authority that is not trusted",
            CertProblem::BadSignature => "a signature in the chain does not verify",
            CertProblem::CaUsedAsEndEntity => {
                "the server presents a CA certificate as its own certificate"
            }
            CertProblem::EndEntityUsedAsCa => {
                "a server certificate in the chain is used to issue others"
            }
            CertProblem::Expired => "a certificate in the chain has expired",
            CertProblem::NotYetValid => "a certificate in the chain is not valid yet",
            CertProblem::NotValidForName => "the certificate does not name this host",
            CertProblem::Revoked => "the certificate has been revoked",
            CertProblem::RevocationUnknown => "whether the certificate is revoked is unknown",
            CertProblem::BadEncoding => "a certificate in the chain is malformed",
            CertProblem::UnsupportedAlgorithm => {
                "the chain is signed with an algorithm that is not supported"
            }
            CertProblem::WrongPurpose => "the certificate is not issued for TLS servers",
            CertProblem::NameConstraints => "the chain breaks its issuer's name constraints",
            CertProblem::ChainTooLong => "the chain is longer than its issuers allow",
            CertProblem::UnsupportedExtension => {
                "a certificate has a critical extension that is not supported"
            }
            CertProblem::Distrusted => "the certificate's authority is distrusted",
            CertProblem::Invalid => "the certificate chain is not valid",
        }
    }

    /// The problem whose [`CertProblem::words`] these are: stored
    /// observations hold the words, the findings' Chinese is keyed by the
    /// problem.
    pub fn from_words(words: &str) -> Option<CertProblem> {
        CertProblem::ALL.into_iter().find(|p| p.words() == words)
    }
}

/// A rustls error in words.
pub fn tls_error(error: &TlsError) -> String {
    match error {
        TlsError::InvalidCertificate(e) => {
            format!("certificate refused: {}", CertProblem::of(e).words())
        }
        TlsError::AlertReceived(alert) => {
            format!("the server sent the alert {}", alert_name(*alert))
        }
        TlsError::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13) => {
            "the server supports neither TLS 1.2 nor TLS 1.3".to_string()
        }
        TlsError::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => {
            "no cipher suite in common with the server".to_string()
        }
        TlsError::PeerIncompatible(PeerIncompatible::NoSignatureSchemesInCommon) => {
            "no signature scheme in common with the server".to_string()
        }
        TlsError::PeerIncompatible(_) => {
            "the server's TLS settings are incompatible with ours".to_string()
        }
        TlsError::PeerMisbehaved(_) => "the server broke the TLS protocol".to_string(),
        TlsError::InvalidMessage(_) => "the server sent a malformed TLS message".to_string(),
        TlsError::InappropriateMessage { .. } | TlsError::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of order".to_string()
        }
        TlsError::NoCertificatesPresented => "the server presented no certificate".to_string(),
        TlsError::DecryptError => "a message from the server could not be decrypted".to_string(),
        TlsError::PeerSentOversizedRecord => "the server sent an oversized TLS record".to_string(),
        TlsError::NoApplicationProtocol => {
            "no application protocol in common with the server".to_string()
        }
        TlsError::HandshakeNotComplete => "the handshake did not complete".to_string(),
        _ => "the TLS handshake failed".to_string(),
    }
}

/// A TLS alert by its IANA name (`handshake_failure`), which rustls
/// spells as its Rust variant (`HandshakeFailure`); its number when
/// rustls does not know it.
pub fn alert_name(alert: AlertDescription) -> String {
    let Some(variant) = alert.as_str() else {
        return format!("number {}", u8::from(alert));
    };
    let mut name = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

/// An I/O error in words: the rustls error inside one (as tokio-rustls
/// hands them on) told by [`tls_error`], else the system's message.
pub fn io_error(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
    {
        Some(tls) => tls_error(tls),
        None => match error.kind() {
            io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            io::ErrorKind::ConnectionReset => "connection reset by the server".to_string(),
            io::ErrorKind::TimedOut => "timed out".to_string(),
            io::ErrorKind::NotFound => "no such file".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
            _ => error.to_string(),
        },
    }
}

/// A DNS error in words. hickory's `Display` of "no records" prints its
/// query with `Debug` (`Query { name: Name(..), .. }`).
pub fn dns_error(error: &hickory_net::NetError) -> String {
    use hickory_net::{DnsError, NetError};
    match error {
        NetError::Timeout => "no answer (timeout)".to_string(),
        NetError::NoConnections => "no connection to the server available".to_string(),
        NetError::Busy => "the resolver is too busy".to_string(),
        NetError::Io(e) => io_error(e),
        NetError::Dns(DnsError::ResponseCode(code)) => format!("the server answered {code}"),
        NetError::Dns(DnsError::NoRecordsFound(records)) => format!(
            "no {} record for {} (the server answered {})",
            records.query.query_type(),
            records.query.name(),
            records.response_code
        ),
        NetError::Dns(_) => "the answer failed validation".to_string(),
        NetError::Proto(e) => format!("malformed DNS message: {e}"),
        NetError::Message(text) => text.to_string(),
        NetError::Msg(text) => text.clone(),
        _ => "the DNS query failed".to_string(),
    }
}

/// Why a zone file could not be read, in words: hickory prints an
/// unexpected token with `Debug` (`CharData("x")`) and names its own
/// type (`unknown RecordType`).
pub fn zone_parse_error(error: &hickory_proto::serialize::txt::ParseError) -> String {
    use hickory_proto::serialize::txt::{ParseError, Token};
    match error {
        ParseError::UnexpectedToken(token) => {
            let token = match token {
                Token::Blank => "blank owner field".to_string(),
                Token::List(items) => format!("list `({})`", items.join(" ")),
                Token::CharData(text) => format!("`{text}`"),
                Token::At => "`@`".to_string(),
                Token::Include => "`$INCLUDE`".to_string(),
                Token::Origin => "`$ORIGIN`".to_string(),
                Token::Ttl => "`$TTL`".to_string(),
                Token::EOL => "end of line".to_string(),
            };
            format!("unexpected {token}")
        }
        ParseError::UnknownRecordType(number) => format!("unknown record type {number}"),
        ParseError::UnsupportedRecordType(kind) => format!("unsupported record type {kind}"),
        ParseError::CharToInt(c) => format!("`{c}` where a number belongs"),
        ParseError::Io(e) => io_error(e),
        other => other.to_string(),
    }
}

/// A failed handshake with the address and port it was tried on.
pub fn handshake_failed(address: SocketAddr, why: &str) -> String {
    format!("TLS handshake with {address} failed: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_by_their_iana_names() {
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(alert_name(AlertDescription::BadRecordMac), "bad_record_mac");
        assert_eq!(alert_name(AlertDescription::Unknown(200)), "number 200");
    }

    #[test]
    fn dns_errors_in_words() {
        use hickory_net::{DnsError, NetError, NoRecords};
        use hickory_proto::op::{Query, ResponseCode};
        use hickory_proto::rr::{Name, RecordType};
        let name = Name::from_ascii("www.gansu.gov.cn.").expect("name");
        let none = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name, RecordType::AAAA),
            ResponseCode::NXDomain,
        )));
        // hickory's own: "no records found for Query { name: Name(...) ..."
        assert!(none.to_string().contains('{'), "{none}");
        let words = dns_error(&none);
        assert!(
            words.starts_with("no AAAA record for www.gansu.gov.cn."),
            "{words}"
        );
        assert!(!words.contains('{') && !words.contains("Query"), "{words}");
        let refused = dns_error(&NetError::Dns(DnsError::ResponseCode(
            ResponseCode::Refused,
        )));
        assert!(refused.starts_with("the server answered "), "{refused}");
        assert_eq!(dns_error(&NetError::Timeout), "no answer (timeout)");
    }

    #[test]
    fn every_problem_has_its_own_words() {
        for problem in CertProblem::ALL {
            assert_eq!(CertProblem::from_words(problem.words()), Some(problem));
        }
    }
}
