//! The TLS probe: connects to one address with SNI = the host name and
//! captures the whole chain the server sends, even when it is invalid,
//! through a verifier that wraps the real one (webpki, public roots plus
//! the configured extra roots), records its verdict, and returns it: no
//! signature check is ever skipped. The verdict says what a person needs:
//! valid, expired, not yet valid, wrong host name, untrusted, self-signed,
//! weak, SM2 (国密, recognised, not "broken"), or why the handshake failed.
//!
//! One crypto provider (ring) is passed explicitly everywhere, so the
//! process default is never consulted.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    DistinguishedName, Error as TlsError, InvalidMessage, PeerIncompatible, RootCertStore,
    SignatureScheme,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::cert::{CertInfo, analyze_in_chain};
use super::{ProbeStream, words};
use crate::registry::Hostname;

/// The crypto provider of the whole binary: ring, with AES-128-GCM/SHA-256
/// offered first. A probe reads public pages: the 256-bit suites add
/// nothing to a verdict, and their SHA-384 transcript hashing is measurably
/// slower per handshake (bench/RESULTS.md).
pub fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|suite| {
        !matches!(
            suite.suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    Arc::new(provider)
}

#[derive(Debug, Error)]
pub enum TlsSetupError {
    /// The reason in words and not chained, so that it is said once.
    #[error("cannot read extra root {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("extra root {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// Why a handshake failed before a certificate could be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeFailure {
    /// Nothing speaks TLS there: refused, closed, or not TLS bytes.
    NoTls,
    /// The server speaks only SSL 3, TLS 1.0 or 1.1.
    ProtocolTooOld,
    /// The server sent a fatal alert.
    Alert,
    /// No handshake within the deadline.
    Timeout,
    /// A handshake message over 64 KiB (an absurd chain).
    Oversized,
    /// This machine could not try: no route to the address's network, no
    /// free socket. A failure to measure, not a fact about the server.
    Local,
    Other,
}

/// The TLS probe's judgement of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum TlsVerdict {
    Valid,
    Expired,
    NotYetValid,
    HostnameMismatch,
    Untrusted {
        reason: String,
    },
    SelfSigned,
    Weak {
        reason: String,
    },
    /// An SM2 (国密) chain: common TLS stacks cannot verify it; reported
    /// as such, never as broken.
    Sm2,
    HandshakeFailed {
        reason: HandshakeFailure,
        detail: String,
    },
}

impl TlsVerdict {
    pub fn name(&self) -> &'static str {
        match self {
            TlsVerdict::Valid => "valid",
            TlsVerdict::Expired => "expired",
            TlsVerdict::NotYetValid => "not_yet_valid",
            TlsVerdict::HostnameMismatch => "hostname_mismatch",
            TlsVerdict::Untrusted { .. } => "untrusted",
            TlsVerdict::SelfSigned => "self_signed",
            TlsVerdict::Weak { .. } => "weak",
            TlsVerdict::Sm2 => "sm2",
            TlsVerdict::HandshakeFailed { .. } => "handshake_failed",
        }
    }
}

/// What the TLS probe saw at one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsObservation {
    #[serde(flatten)]
    pub verdict: TlsVerdict,
    pub protocol: Option<String>,
    pub cipher_suite: Option<String>,
    /// End entity first, as the server sent it.
    pub chain: Vec<CertInfo>,
    /// The port the handshake was tried on (443 unless configured
    /// otherwise), so that evidence names it; absent in observations
    /// stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Not part of what is stored: it changes on every probe.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// What the verifier saw; shared with it, so it survives a failed
/// handshake.
#[derive(Debug, Default, Clone)]
struct Captured {
    chain: Vec<CertificateDer<'static>>,
    verdict: Option<Result<(), TlsError>>,
}

/// Wraps the real verifier: records the chain and the verdict, returns the
/// verdict unchanged, and delegates every signature check.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    captured: Arc<Mutex<Captured>>,
    /// Record the verdict but let the handshake go on, so that the page
    /// can be read over the same connection. Signatures are still checked.
    lenient: bool,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut captured) = self.captured.lock() {
            captured.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|der| der.clone().into_owned())
                .collect();
            captured.verdict = Some(verdict.as_ref().map(|_| ()).map_err(Clone::clone));
        }
        if self.lenient {
            return Ok(ServerCertVerified::assertion());
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// Why a handshake attempt ended.
#[derive(Debug)]
enum Failure {
    Connect(io::Error),
    Timeout,
    Eof,
    Io(io::Error),
    Tls(TlsError),
}

/// The TLS probe: a trust store built once, a deadline per handshake.
#[derive(Clone)]
pub struct TlsProbe {
    verifier: Arc<WebPkiServerVerifier>,
    deadline: Duration,
    limit: super::AddressLimit,
}

impl std::fmt::Debug for TlsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsProbe")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl TlsProbe {
    /// Trusts the public roots (webpki-roots) plus the PEM files given.
    pub fn new(extra_roots: &[PathBuf], deadline: Duration) -> Result<TlsProbe, TlsSetupError> {
        let mut pems = Vec::new();
        for path in extra_roots {
            let text = std::fs::read_to_string(path).map_err(|e| TlsSetupError::Read {
                path: path.clone(),
                reason: words::io_error(&e),
            })?;
            pems.push((path.display().to_string(), text));
        }
        TlsProbe::with_roots(&pems, true, deadline)
    }

    /// Trusts the given PEM roots (named for errors), and the public roots
    /// when `public` is set.
    pub fn with_roots(
        pems: &[(String, String)],
        public: bool,
        deadline: Duration,
    ) -> Result<TlsProbe, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        if public {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for (name, pem) in pems {
            let invalid = |reason: String| TlsSetupError::Invalid {
                path: name.clone(),
                reason,
            };
            let mut found = false;
            for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let der = der.map_err(|e| invalid(e.to_string()))?;
                roots.add(der).map_err(|e| invalid(e.to_string()))?;
                found = true;
            }
            if !found {
                return Err(invalid("holds no PEM certificate".into()));
            }
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| TlsSetupError::Invalid {
                path: "(trust store)".into(),
                reason: e.to_string(),
            })?;
        Ok(TlsProbe {
            verifier,
            deadline,
            limit: super::AddressLimit::default(),
        })
    }

    /// The same probe, sharing `limit` (connections per address) with the
    /// other probes.
    pub fn with_limit(mut self, limit: super::AddressLimit) -> TlsProbe {
        self.limit = limit;
        self
    }

    /// Handshakes with `address` as `host` and judges what it saw.
    pub async fn probe(&self, address: SocketAddr, host: &Hostname) -> TlsObservation {
        let started = Instant::now();
        let captured = Arc::new(Mutex::new(Captured::default()));
        let server_name = ServerName::try_from(host.as_str().to_string())
            .unwrap_or_else(|_| ServerName::try_from("invalid.invalid").expect("valid name"));
        let config = self.client_config(captured.clone());
        let mut connection = match ClientConnection::new(config, server_name) {
            Ok(connection) => connection,
            Err(e) => {
                return TlsObservation {
                    verdict: TlsVerdict::HandshakeFailed {
                        reason: HandshakeFailure::Other,
                        detail: words::handshake_failed(address, &words::tls_error(&e)),
                    },
                    protocol: None,
                    cipher_suite: None,
                    chain: Vec::new(),
                    port: Some(address.port()),
                    elapsed: started.elapsed(),
                };
            }
        };
        let outcome = tokio::time::timeout(self.deadline, async {
            let mut tcp = super::connect(address, &self.limit)
                .await
                .map_err(Failure::Connect)?;
            handshake(&mut connection, &mut tcp).await
        })
        .await;
        let failure = match outcome {
            Err(_) => Some(Failure::Timeout),
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
        };
        observation(
            &captured,
            failure.as_ref(),
            Some(&connection),
            started,
            address,
        )
    }

    fn client_config(&self, captured: Arc<Mutex<Captured>>) -> Arc<ClientConfig> {
        self.config(captured, false)
    }

    fn config(&self, captured: Arc<Mutex<Captured>>, lenient: bool) -> Arc<ClientConfig> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordingVerifier {
                inner: self.verifier.clone(),
                captured,
                lenient,
            }))
            .with_no_client_auth();
        // A resumed session would skip the verifier, and capture nothing.
        config.resumption = Resumption::disabled();
        Arc::new(config)
    }
}

/// A TLS connection whose handshake was judged, ready to carry a request.
pub type JudgedStream = tokio_rustls::client::TlsStream<ProbeStream>;

impl TlsProbe {
    /// Handshakes with `address` as `host`, judges the chain exactly as
    /// [`TlsProbe::probe`] does, and hands back the connection (whatever
    /// the verdict, when the handshake itself succeeded) so that the page
    /// is read over it: one handshake per address instead of two.
    pub async fn probe_and_keep(
        &self,
        address: SocketAddr,
        host: &Hostname,
    ) -> (TlsObservation, Option<JudgedStream>) {
        let started = Instant::now();
        let captured = Arc::new(Mutex::new(Captured::default()));
        let connector = tokio_rustls::TlsConnector::from(self.config(captured.clone(), true));
        let server_name = ServerName::try_from(host.as_str().to_string())
            .unwrap_or_else(|_| ServerName::try_from("invalid.invalid").expect("valid name"));
        let outcome = tokio::time::timeout(self.deadline, async {
            let tcp = super::connect(address, &self.limit)
                .await
                .map_err(Failure::Connect)?;
            connector.connect(server_name, tcp).await.map_err(|e| {
                match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<TlsError>())
                {
                    Some(tls) => Failure::Tls(tls.clone()),
                    None if e.kind() == io::ErrorKind::UnexpectedEof => Failure::Eof,
                    None => Failure::Io(e),
                }
            })
        })
        .await;
        let (stream, failure) = match outcome {
            Err(_) => (None, Some(Failure::Timeout)),
            Ok(Ok(stream)) => (Some(stream), None),
            Ok(Err(failure)) => (None, Some(failure)),
        };
        let connection = stream.as_ref().map(|s| s.get_ref().1);
        let observed = observation(&captured, failure.as_ref(), connection, started, address);
        (observed, stream)
    }
}

/// What one handshake showed: the captured chain read and judged, and
/// what was negotiated, if anything.
fn observation(
    captured: &Mutex<Captured>,
    failure: Option<&Failure>,
    connection: Option<&ClientConnection>,
    started: Instant,
    address: SocketAddr,
) -> TlsObservation {
    let captured = captured.lock().map(|c| c.clone()).unwrap_or_default();
    let chain: Vec<CertInfo> = captured
        .chain
        .iter()
        .enumerate()
        .filter_map(|(position, der)| analyze_in_chain(der, position).ok())
        .collect();
    TlsObservation {
        verdict: judge(&captured, &chain, failure, address),
        protocol: connection
            .and_then(|c| c.protocol_version())
            // As people write it (`TLSv1.3`), not rustls's variant
            // (`TLSv1_3`).
            .map(|v| named(v.as_str(), u16::from(v)).replace('_', ".")),
        cipher_suite: connection
            .and_then(|c| c.negotiated_cipher_suite())
            .map(|s| named(s.suite().as_str(), u16::from(s.suite()))),
        chain,
        port: Some(address.port()),
        elapsed: started.elapsed(),
    }
}

async fn flush(connection: &mut ClientConnection, tcp: &mut ProbeStream) -> Result<(), Failure> {
    let mut out = Vec::new();
    while connection.wants_write() {
        connection.write_tls(&mut out).map_err(Failure::Io)?;
    }
    if !out.is_empty() {
        tcp.write_all(&out).await.map_err(Failure::Io)?;
    }
    Ok(())
}

/// Drives the handshake by hand rather than through tokio-rustls, so the
/// negotiated version and suite remain readable after a failure.
async fn handshake(
    connection: &mut ClientConnection,
    tcp: &mut ProbeStream,
) -> Result<(), Failure> {
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        flush(connection, tcp).await?;
        if !connection.is_handshaking() {
            return Ok(());
        }
        let read = tcp.read(&mut buffer).await.map_err(Failure::Io)?;
        if read == 0 {
            return Err(Failure::Eof);
        }
        let mut data = &buffer[..read];
        while !data.is_empty() {
            match connection.read_tls(&mut data) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(Failure::Io(e)),
            }
            if let Err(e) = connection.process_new_packets() {
                // Send our alert before giving up.
                let _ = flush(connection, tcp).await;
                return Err(Failure::Tls(e));
            }
        }
    }
}

fn failed(reason: HandshakeFailure, address: SocketAddr, why: &str) -> TlsVerdict {
    TlsVerdict::HandshakeFailed {
        reason,
        detail: words::handshake_failed(address, why),
    }
}

/// A connect error that is about this machine: [`super::connect`] says
/// so by the kind `NetworkUnreachable`.
fn is_local(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NetworkUnreachable
}

/// Why the handshake failed, with the address and port it was tried on
/// (the probes may use another port than 443), in words.
fn failure_verdict(failure: &Failure, address: SocketAddr) -> TlsVerdict {
    let connect = |e: &io::Error| format!("cannot connect: {}", words::io_error(e));
    match failure {
        Failure::Timeout => failed(
            HandshakeFailure::Timeout,
            address,
            "no handshake within the deadline",
        ),
        Failure::Connect(e) if is_local(e) => failed(HandshakeFailure::Local, address, &connect(e)),
        Failure::Connect(e) => failed(HandshakeFailure::NoTls, address, &connect(e)),
        Failure::Eof => failed(
            HandshakeFailure::NoTls,
            address,
            "the server closed the connection during the handshake",
        ),
        // rustls refuses to buffer a handshake message over 64 KiB.
        Failure::Io(e) if e.kind() == io::ErrorKind::InvalidData => failed(
            HandshakeFailure::Oversized,
            address,
            "a handshake message is larger than 64 KiB",
        ),
        Failure::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ) =>
        {
            failed(HandshakeFailure::NoTls, address, &words::io_error(e))
        }
        Failure::Io(e) => failed(HandshakeFailure::Other, address, &words::io_error(e)),
        Failure::Tls(e) => match e {
            TlsError::InvalidMessage(
                InvalidMessage::InvalidContentType
                | InvalidMessage::UnknownProtocolVersion
                | InvalidMessage::MessageTooLarge
                | InvalidMessage::InvalidEmptyPayload,
            ) => failed(
                HandshakeFailure::NoTls,
                address,
                "the server does not speak TLS",
            ),
            TlsError::InvalidMessage(
                InvalidMessage::HandshakePayloadTooLarge
                | InvalidMessage::CertificatePayloadTooLarge,
            ) => failed(
                HandshakeFailure::Oversized,
                address,
                "a handshake message is larger than 64 KiB",
            ),
            TlsError::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13)
            | TlsError::AlertReceived(AlertDescription::ProtocolVersion) => failed(
                HandshakeFailure::ProtocolTooOld,
                address,
                "the server supports neither TLS 1.2 nor TLS 1.3",
            ),
            TlsError::AlertReceived(_) => {
                failed(HandshakeFailure::Alert, address, &words::tls_error(e))
            }
            other => failed(HandshakeFailure::Other, address, &words::tls_error(other)),
        },
    }
}

/// The verdict, from the real verifier's result and the chain it saw.
fn judge(
    captured: &Captured,
    chain: &[CertInfo],
    failure: Option<&Failure>,
    address: SocketAddr,
) -> TlsVerdict {
    let Some(verdict) = &captured.verdict else {
        // The verifier was never reached: there is no chain to judge.
        return match failure {
            Some(failure) => failure_verdict(failure, address),
            None => failed(
                HandshakeFailure::Other,
                address,
                "the server presented no certificate",
            ),
        };
    };
    if chain.iter().any(CertInfo::is_sm2) {
        return TlsVerdict::Sm2;
    }
    let weakness = chain.iter().find_map(CertInfo::weakness);
    let leaf_self_signed = chain.first().is_some_and(|leaf| leaf.self_signed);
    match verdict {
        Ok(()) => match (weakness, failure) {
            (Some(reason), _) => TlsVerdict::Weak { reason },
            (None, None) => TlsVerdict::Valid,
            (None, Some(failure)) => failure_verdict(failure, address),
        },
        Err(TlsError::InvalidCertificate(error)) => match error {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsVerdict::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsVerdict::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsVerdict::HostnameMismatch
            }
            _ if weakness.is_some() => TlsVerdict::Weak {
                reason: weakness.unwrap_or_default(),
            },
            CertificateError::UnknownIssuer | CertificateError::BadSignature
                if leaf_self_signed =>
            {
                TlsVerdict::SelfSigned
            }
            other => TlsVerdict::Untrusted {
                reason: words::CertProblem::of(other).words().to_string(),
            },
        },
        Err(other) => TlsVerdict::Untrusted {
            reason: words::tls_error(other),
        },
    }
}

/// A TLS registry value (version, cipher suite, alert) by its IANA name,
/// or its number when rustls does not know it.
fn named(name: Option<&'static str>, number: u16) -> String {
    name.map_or_else(|| format!("0x{number:04x}"), str::to_string)
}
