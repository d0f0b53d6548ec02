//! The simulated world's TLS: a test CA and the certificates it issues
//! (valid, expired, not yet valid, for another name, self-signed), fixture
//! chains rcgen cannot make (SM2, RSA-1024, SHA-1), the `SniResolver` that
//! lets a server (`web::serve_web`) present any chain by SNI, servers that
//! misbehave below TLS, and `accept_loop`, the shape of every simulated
//! TCP server.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Chains made with the OpenSSL command line (see `fixtures/README.md`).
pub mod fixtures {
    pub const SM2_CA: &str = include_str!("fixtures/sm2-ca.pem");
    /// For `sm2.gov.test`.
    pub const SM2_LEAF: &str = include_str!("fixtures/sm2-leaf.pem");
    pub const RSA_CA: &str = include_str!("fixtures/rsa-ca.pem");
    /// For `weak-rsa.gov.test`, a 1024-bit key.
    pub const RSA1024_LEAF: &str = include_str!("fixtures/rsa1024-leaf.pem");
    /// For `sha1.gov.test`, signed sha1WithRSA.
    pub const SHA1_LEAF: &str = include_str!("fixtures/sha1-leaf.pem");
    pub const SHA1_LEAF_KEY: &str = include_str!("fixtures/sha1-leaf.key");
    /// For `rsa.gov.test`.
    pub const RSA2048_LEAF: &str = include_str!("fixtures/rsa2048-leaf.pem");
    pub const RSA2048_LEAF_KEY: &str = include_str!("fixtures/rsa2048-leaf.key");
}

pub fn cert_from_pem(pem: &str) -> io::Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| io::Error::other(e.to_string()))
}

pub fn key_from_pem(pem: &str) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| io::Error::other(e.to_string()))
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// `days` from now (negative: in the past).
pub fn days_from_now(days: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn name(common: &str, organization: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "CN");
    name.push(DnType::OrganizationName, organization);
    name.push(DnType::CommonName, common);
    name
}

/// A certificate chain and the key that signs the handshake.
#[derive(Debug, Clone)]
pub struct Chain {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
}

/// A self-signed test CA (P-256).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn leaf_params(
    names: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> io::Result<CertificateParams> {
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(other)?;
    params.distinguished_name = name(names.first().copied().unwrap_or("leaf"), "Test Gov");
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn pkcs8(key: &KeyPair) -> Arc<PrivateKeyDer<'static>> {
    Arc::new(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.serialize_der(),
    )))
}

impl TestCa {
    pub fn new(common_name: &str) -> io::Result<TestCa> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name, "siteward test PKI");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = days_from_now(-2);
        params.not_after = days_from_now(3650);
        let key = KeyPair::generate().map_err(other)?;
        Ok(TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).map_err(other)?,
        })
    }

    /// The CA certificate in PEM, to trust it.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names`, valid from `not_before` to `not_after`, with
    /// the CA after it in the chain.
    pub fn issue(
        &self,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> io::Result<Chain> {
        let key = KeyPair::generate().map_err(other)?;
        let cert = leaf_params(names, not_before, not_after)?
            .signed_by(&key, &self.issuer)
            .map_err(other)?;
        Ok(Chain {
            certs: vec![cert.der().clone(), self.issuer.der().clone()],
            key: pkcs8(&key),
        })
    }

    /// A leaf valid from yesterday for 90 days.
    pub fn valid(&self, names: &[&str]) -> io::Result<Chain> {
        self.issue(names, days_from_now(-1), days_from_now(90))
    }

    /// A CA certificate (basic constraints CA:true) for `names`, signed by
    /// this CA and presented as the server's own: webpki refuses it as a
    /// CA used as an end entity, which rustls hands on only as an opaque
    /// `Other` error.
    pub fn ca_as_leaf(&self, names: &[&str]) -> io::Result<Chain> {
        let key = KeyPair::generate().map_err(other)?;
        let mut params = leaf_params(names, days_from_now(-1), days_from_now(90))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ];
        let cert = params.signed_by(&key, &self.issuer).map_err(other)?;
        Ok(Chain {
            certs: vec![cert.der().clone(), self.issuer.der().clone()],
            key: pkcs8(&key),
        })
    }
}

/// A self-signed leaf (no CA at all).
pub fn self_signed(names: &[&str]) -> io::Result<Chain> {
    let key = KeyPair::generate().map_err(other)?;
    let cert = leaf_params(names, days_from_now(-1), days_from_now(90))?
        .self_signed(&key)
        .map_err(other)?;
    Ok(Chain {
        certs: vec![cert.der().clone()],
        key: pkcs8(&key),
    })
}

/// A chain of `count` padding certificates of about `pad` bytes each after
/// a valid leaf: the hostile server's absurd chain.
pub fn padded_chain(leaf: &Chain, count: usize, pad: usize) -> io::Result<Chain> {
    let mut certs = leaf.certs.clone();
    for i in 0..count {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&format!("padding {i}"), "Padding");
        // An OCTET STRING of `pad` bytes in a private, non-critical extension.
        let pad = pad.min(0xFFFF);
        let mut content = vec![0x04, 0x82, (pad >> 8) as u8, pad as u8];
        content.extend(std::iter::repeat_n(0x5a, pad));
        params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 99999, 1],
            content,
        )];
        let key = KeyPair::generate().map_err(other)?;
        certs.push(params.self_signed(&key).map_err(other)?.der().clone());
    }
    Ok(Chain {
        certs,
        key: leaf.key.clone(),
    })
}

/// A chain from PEM certificates, presented with a fresh P-256 signing
/// key: for chains rustls cannot sign with (SM2, RSA-1024). The client
/// judges the chain; the handshake then fails on the signature.
pub fn foreign_chain(pems: &[&str]) -> io::Result<Chain> {
    let certs = pems
        .iter()
        .map(|p| cert_from_pem(p))
        .collect::<io::Result<_>>()?;
    let key = KeyPair::generate().map_err(other)?;
    Ok(Chain {
        certs,
        key: pkcs8(&key),
    })
}

/// A chain from PEM certificates and their own PEM key.
pub fn pem_chain(pems: &[&str], key: &str) -> io::Result<Chain> {
    Ok(Chain {
        certs: pems
            .iter()
            .map(|p| cert_from_pem(p))
            .collect::<io::Result<_>>()?,
        key: Arc::new(key_from_pem(key)?),
    })
}

/// SNI → chain, serving whatever it is given (rustls' own SNI resolver
/// refuses a chain that does not match its name).
#[derive(Debug, Default)]
pub struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl SniResolver {
    pub fn add(&mut self, sni: &str, chain: &Chain) -> io::Result<()> {
        let signer = rustls::crypto::ring::sign::any_supported_type(&chain.key).map_err(other)?;
        // `CertifiedKey::new` does not check that the key matches the
        // leaf: that is what lets a foreign chain be presented.
        self.by_name.insert(
            sni.to_ascii_lowercase(),
            Arc::new(CertifiedKey::new(chain.certs.clone(), signer)),
        );
        Ok(())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.by_name.get(n))
            .cloned()
    }
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct TcpServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

/// Binds `addr` and hands every accepted connection to `serve`, each in
/// a task of its own: the shape of every simulated TCP server.
pub(crate) async fn accept_loop<F, Fut>(addr: SocketAddr, serve: F) -> io::Result<TcpServer>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            if let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket));
            }
        }
    });
    Ok(TcpServer { addr, task })
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a hostile server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// Accepts, reads, never writes (for at most a minute).
    Silent,
    /// Answers with plain HTTP.
    PlainHttp,
    /// Answers with a TLS 1.0 ServerHello.
    Tls10,
    /// Accepts and closes at once.
    Close,
}

/// A TLS 1.0 ServerHello record (TLS_RSA_WITH_AES_128_CBC_SHA).
fn tls10_server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01];
    body.extend([0x11u8; 32]);
    body.push(0);
    body.extend([0x00, 0x2f]);
    body.push(0);
    let mut handshake = vec![0x02, 0, 0, body.len() as u8];
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, 0, handshake.len() as u8];
    record.extend(handshake);
    record
}

pub async fn serve_hostile(addr: SocketAddr, behaviour: Hostile) -> io::Result<TcpServer> {
    accept_loop(addr, move |mut socket| async move {
        let mut buffer = [0u8; 4096];
        match behaviour {
            Hostile::Close => {}
            Hostile::Silent => {
                let _ = socket.read(&mut buffer).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Hostile::PlainHttp => {
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            }
            Hostile::Tls10 => {
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(&tls10_server_hello()).await;
                let _ = socket.read(&mut buffer).await;
            }
        }
    })
    .await
}
