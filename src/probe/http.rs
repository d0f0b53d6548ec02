//! The page probe: GET a host's homepage from one of its addresses, over
//! HTTPS (HTTP when nothing speaks TLS there), following redirects within
//! the host (bounded, every hop recorded), reading the body up to a cap,
//! decoding it by its charset and reading what the page says. Redirects to
//! another host are recorded, not followed: that host is probed on its own.
//!
//! The certificate is not judged here (the TLS probe does that): a page is
//! read whatever its certificate, as a visitor clicking through would.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use url::Url;

use super::ProbeStream;
use super::page::{self, Page};
use super::tls::provider;
use crate::registry::Hostname;

/// The body cap of a document read whole (a feed): bounded against
/// hostile servers.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// How far a page is read: big portals put their identifier code in the
/// footer, at the very end of several megabytes.
pub const MAX_PAGE: usize = 8 * 1024 * 1024;

/// What is kept of a page's beginning (the head, the title, the menus and
/// most links)…
pub const PAGE_HEAD: usize = 2 * 1024 * 1024;

/// …and of its end (the footer), while the rest streams through: memory
/// stays bounded however big the page.
pub const PAGE_TAIL: usize = 512 * 1024;

/// The pieces a big page's middle is read in: each parsed, what the rules
/// need kept, the bytes dropped.
pub const PAGE_SEGMENT: usize = 1024 * 1024;

/// How much of a body to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep<'a> {
    /// The whole body, up to [`MAX_BODY`] (a feed is read as one piece).
    Whole,
    /// A page, up to [`MAX_PAGE`] read: its first [`PAGE_HEAD`] and last
    /// [`PAGE_TAIL`] bytes kept, the middle read in segments of
    /// [`PAGE_SEGMENT`] as it streams through (links and terms resolved
    /// against `url`, `prohibited` looked for).
    Page {
        url: &'a Url,
        prohibited: &'a [String],
    },
}

/// A body as far as it was read and kept.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub head: Vec<u8>,
    /// The last bytes, when more than the head was read.
    pub tail: Vec<u8>,
    /// What the middle's segments showed.
    pub middle: Option<Box<Page>>,
    /// SHA-256 of every byte read, in hex.
    pub hash: String,
}

/// The User-Agent siteward sends, so that site operators can tell its
/// checks from visitors, and reach whoever runs it (`contact`, from the
/// configuration: an e-mail address or a URL).
pub fn user_agent(contact: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match contact.trim() {
        "" => format!("siteward/{version} (government website registry check)"),
        contact => format!("siteward/{version} (government website registry check; +{contact})"),
    }
}

/// SHA-256 of `body`, in lowercase hex.
pub fn content_hash(body: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, body).as_ref())
}

/// A digest (or MAC tag) in lowercase hex.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A response, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// Where a redirect points.
    pub location: Option<String>,
    /// The `Server` header (takeover fingerprints name some services by it).
    pub server: Option<String>,
    /// Time from sending the request to the end of the body.
    pub elapsed_ms: u64,
    pub body_bytes: usize,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum HttpFailure {
    /// The server did not speak HTTP/1 (or closed the connection).
    Protocol { reason: String },
    /// The whole exchange did not end within the deadline.
    Timeout { after_ms: u64 },
}

/// Sends `GET path` for `host` over `stream` and reads the response, all
/// within `deadline`. Returns the response and its body, kept as `keep`
/// says.
pub async fn get<S>(
    stream: S,
    host: &str,
    path: &str,
    agent: &str,
    deadline: Duration,
    keep: Keep<'_>,
) -> Result<(Response, Body), HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    match tokio::time::timeout(deadline, exchange(stream, host, path, agent, started, keep)).await {
        Ok(result) => result,
        Err(_) => Err(HttpFailure::Timeout {
            after_ms: deadline.as_millis() as u64,
        }),
    }
}

async fn exchange<S>(
    stream: S,
    host: &str,
    path: &str,
    agent: &str,
    started: Instant,
    keep: Keep<'_>,
) -> Result<(Response, Body), HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: &dyn std::fmt::Display| HttpFailure::Protocol {
        reason: e.to_string(),
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| protocol(&e))?;
    // The connection task ends when the response is read or the request
    // is dropped (at the deadline).
    let driver = tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, host)
        .header(USER_AGENT, agent)
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("Connection", "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| protocol(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| protocol(&e))?;
    let status = response.status().as_u16();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let location = header(LOCATION);
    let server = header(hyper::header::SERVER);
    let mut body = response.into_body();
    let mut kept = Kept::new(keep, content_type.as_deref());
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| protocol(&e))?;
        if let Some(data) = frame.data_ref()
            && kept.take(data)
        {
            truncated = true;
            break;
        }
    }
    driver.abort();
    let (body_bytes, body) = kept.finish();
    Ok((
        Response {
            status,
            content_type,
            location,
            server,
            elapsed_ms: started.elapsed().as_millis() as u64,
            body_bytes,
            truncated,
        },
        body,
    ))
}

/// A body being read: the head kept, the middle parsed a segment at a
/// time and dropped, the tail kept, every byte hashed and counted.
struct Kept<'a> {
    keep: Keep<'a>,
    content_type: Option<String>,
    head_cap: usize,
    limit: usize,
    read: usize,
    head: Vec<u8>,
    /// Read after the head, not yet parsed: at most a segment and a tail.
    pending: Vec<u8>,
    /// The head's encoding, told once the first segment needs it.
    encoding: Option<&'static encoding_rs::Encoding>,
    middle: Option<Box<Page>>,
    hash: ring::digest::Context,
}

impl<'a> Kept<'a> {
    fn new(keep: Keep<'a>, content_type: Option<&str>) -> Kept<'a> {
        let (head_cap, limit) = match keep {
            Keep::Whole => (MAX_BODY, MAX_BODY),
            Keep::Page { .. } => (PAGE_HEAD, MAX_PAGE),
        };
        Kept {
            keep,
            content_type: content_type.map(str::to_string),
            head_cap,
            limit,
            read: 0,
            head: Vec::new(),
            pending: Vec::new(),
            encoding: None,
            middle: None,
            hash: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    /// Takes a chunk; `true` when the limit was reached (the body is cut).
    fn take(&mut self, data: &[u8]) -> bool {
        let room = self.limit - self.read;
        let cut = data.len() > room;
        let data = &data[..data.len().min(room)];
        self.hash.update(data);
        self.read += data.len();
        let into_head = data.len().min(self.head_cap - self.head.len());
        self.head.extend_from_slice(&data[..into_head]);
        self.pending.extend_from_slice(&data[into_head..]);
        while self.pending.len() > PAGE_SEGMENT + PAGE_TAIL {
            let segment: Vec<u8> = self.pending.drain(..PAGE_SEGMENT).collect();
            self.skim(&segment);
        }
        cut
    }

    /// Parses a segment of the middle and keeps what it showed.
    fn skim(&mut self, segment: &[u8]) {
        let Keep::Page { url, prohibited } = self.keep else {
            return;
        };
        let encoding = *self
            .encoding
            .get_or_insert_with(|| page::encoding_of(&self.head, self.content_type.as_deref()));
        let (text, _, _) = encoding.decode(segment);
        let html = format!("{}{text}", page::SPLICE);
        let (more, _) = page::parse(&html, url, prohibited);
        match &mut self.middle {
            Some(middle) => page::merge(middle, more),
            None => self.middle = Some(Box::new(more)),
        }
    }

    /// How many bytes were read, and what was kept.
    fn finish(mut self) -> (usize, Body) {
        if self.pending.len() > PAGE_TAIL {
            let rest: Vec<u8> = self
                .pending
                .drain(..self.pending.len() - PAGE_TAIL)
                .collect();
            self.skim(&rest);
        }
        let hash = hex(self.hash.finish().as_ref());
        (
            self.read,
            Body {
                head: self.head,
                tail: self.pending,
                middle: self.middle,
                hash,
            },
        )
    }
}

/// Accepts any certificate, but still checks the handshake signatures
/// against it: the page is read as a visitor clicking through a warning
/// would read it; the TLS probe judges the certificate.
#[derive(Debug)]
struct ReadAnyway(Arc<CryptoProvider>);

impl ServerCertVerifier for ReadAnyway {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One step of a fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
}

/// What the page probe saw at one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PageOutcome {
    /// A final response (any status) within the deadline.
    Loaded {
        status: u16,
        final_url: String,
        hops: Vec<Hop>,
        /// Where a redirect to another host pointed (not followed).
        redirected_to: Option<String>,
        body_bytes: usize,
        truncated: bool,
        page: Box<Page>,
        /// The `Server` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// Takeover services whose "nothing here" answer this is.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        takeover: Vec<String>,
        /// Not stored: it changes on every probe.
        #[serde(skip)]
        elapsed_ms: u64,
    },
    /// Neither HTTPS nor HTTP answered.
    Unreachable { https: String, http: String },
    /// The homepage did not load within the deadline.
    Timeout { after_ms: u64 },
    /// The server answered something that is not HTTP, or too many
    /// redirects.
    Failed { reason: String },
    /// This machine could not try: no route to the address (no IPv6
    /// here), no socket left. A failure to measure, never a fact about
    /// the site.
    Local { reason: String },
}

impl PageOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            PageOutcome::Loaded { .. } => "loaded",
            PageOutcome::Unreachable { .. } => "unreachable",
            PageOutcome::Timeout { .. } => "timeout",
            PageOutcome::Failed { .. } => "failed",
            PageOutcome::Local { .. } => "local",
        }
    }
}

/// Settings of the page probe.
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// The inspection threshold: a page that takes longer does not load.
    pub deadline: Duration,
    pub max_redirects: usize,
    pub https_port: u16,
    pub http_port: u16,
    /// Prohibited terms (policy).
    pub prohibited: Vec<String>,
    /// Sent with every request (see [`user_agent`]).
    pub user_agent: String,
    /// Connections per address, shared with the other probes.
    pub limit: super::AddressLimit,
}

impl Default for PageSettings {
    fn default() -> PageSettings {
        PageSettings {
            deadline: Duration::from_secs(15),
            max_redirects: 5,
            https_port: 443,
            http_port: 80,
            prohibited: Vec::new(),
            user_agent: user_agent(""),
            limit: super::AddressLimit::default(),
        }
    }
}

/// What to look for on one host's pages beyond what every page is read
/// for: the registered names (to tell a tampered page), and the takeover
/// fingerprints of the services the host's CNAME points at.
#[derive(Debug, Clone, Default)]
pub struct PageChecks {
    pub names: Vec<String>,
    pub services: Vec<crate::policy::takeover::Service>,
}

#[derive(Clone)]
pub struct PageProbe {
    settings: Arc<PageSettings>,
    tls: TlsConnector,
}

impl std::fmt::Debug for PageProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageProbe")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A final response, as [`PageProbe::follow`] reached it.
struct Fetched {
    url: Url,
    hops: Vec<Hop>,
    response: Response,
    body: Body,
    /// Where a redirect to another host pointed.
    redirected_to: Option<Url>,
}

enum Connected {
    Tls(Box<tokio_rustls::client::TlsStream<ProbeStream>>),
    Plain(ProbeStream),
}

impl PageProbe {
    pub fn new(settings: PageSettings) -> PageProbe {
        let provider = provider();
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ReadAnyway(provider)))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        PageProbe {
            settings: Arc::new(settings),
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Connects for `url`; an error says whether it was on this machine's
    /// side, and why.
    async fn connect(&self, url: &Url, address: IpAddr) -> Result<Connected, (bool, String)> {
        let https = url.scheme() == "https";
        let port = url.port().unwrap_or(if https {
            self.settings.https_port
        } else {
            self.settings.http_port
        });
        let target = SocketAddr::new(address, port);
        let tcp = super::connect(target, &self.settings.limit)
            .await
            .map_err(|e| {
                (
                    e.kind() == std::io::ErrorKind::NetworkUnreachable,
                    format!("cannot connect to {target}: {}", super::words::io_error(&e)),
                )
            })?;
        if !https {
            return Ok(Connected::Plain(tcp));
        }
        let name = ServerName::try_from(url.host_str().unwrap_or_default().to_string())
            .map_err(|e| (false, e.to_string()))?;
        self.tls
            .connect(name, tcp)
            .await
            .map(|stream| Connected::Tls(Box::new(stream)))
            .map_err(|e| {
                (
                    false,
                    super::words::handshake_failed(target, &super::words::io_error(&e)),
                )
            })
    }

    /// Fetches `host`'s homepage from `address`: HTTPS, else HTTP.
    pub async fn homepage(&self, host: &Hostname, address: IpAddr) -> PageOutcome {
        self.homepage_checked(host, address, &PageChecks::default())
            .await
    }

    /// As [`PageProbe::homepage`], looking for `checks` too.
    pub async fn homepage_checked(
        &self,
        host: &Hostname,
        address: IpAddr,
        checks: &PageChecks,
    ) -> PageOutcome {
        let https = Url::parse(&format!("https://{host}/")).expect("a host name makes a URL");
        let http = Url::parse(&format!("http://{host}/")).expect("a host name makes a URL");
        self.within_deadline(host, address, vec![https, http], checks)
            .await
    }

    /// Fetches `host`'s homepage over a TLS connection the TLS probe has
    /// already made (and judged) at `address`; over HTTP when it has none.
    pub async fn homepage_over(
        &self,
        host: &Hostname,
        address: IpAddr,
        stream: Option<super::tls::JudgedStream>,
        checks: &PageChecks,
    ) -> PageOutcome {
        match stream {
            Some(stream) => {
                let https =
                    Url::parse(&format!("https://{host}/")).expect("a host name makes a URL");
                let started = Instant::now();
                let deadline = self.settings.deadline;
                let first = Some((https, Connected::Tls(Box::new(stream))));
                match tokio::time::timeout(
                    deadline,
                    self.fetch(host, address, started, first, Vec::new(), checks),
                )
                .await
                {
                    Ok(outcome) => outcome,
                    Err(_) => PageOutcome::Timeout {
                        after_ms: deadline.as_millis() as u64,
                    },
                }
            }
            None => {
                let http = Url::parse(&format!("http://{host}/")).expect("a host name makes a URL");
                self.within_deadline(host, address, vec![http], checks)
                    .await
            }
        }
    }

    /// Fetches `url` from `address` and returns the response and its raw
    /// body (at most [`MAX_BODY`]), within the page deadline; redirects on
    /// the same host are followed. For feeds and other non-HTML documents.
    pub async fn document(
        &self,
        url: &Url,
        address: IpAddr,
    ) -> Result<(Response, Vec<u8>), String> {
        let host: Hostname = url
            .host_str()
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::registry::Invalid| e.to_string())?;
        let deadline = self.settings.deadline;
        let follow = self.follow(
            &host,
            address,
            Instant::now(),
            None,
            vec![url.clone()],
            Keep::Whole,
        );
        match tokio::time::timeout(deadline, follow).await {
            Ok(Ok(fetched)) => Ok((fetched.response, fetched.body.head)),
            Ok(Err(PageOutcome::Unreachable { https, http })) => {
                Err([https, http].join(" ").trim().to_string())
            }
            Ok(Err(PageOutcome::Failed { reason } | PageOutcome::Local { reason })) => Err(reason),
            Ok(Err(_)) | Err(_) => Err(format!("no answer within {} ms", deadline.as_millis())),
        }
    }

    /// Fetches one page of `host` (a link found on its pages) from
    /// `address`.
    pub async fn page(&self, host: &Hostname, address: IpAddr, url: &Url) -> PageOutcome {
        self.within_deadline(host, address, vec![url.clone()], &PageChecks::default())
            .await
    }

    async fn within_deadline(
        &self,
        host: &Hostname,
        address: IpAddr,
        starts: Vec<Url>,
        checks: &PageChecks,
    ) -> PageOutcome {
        let started = Instant::now();
        let deadline = self.settings.deadline;
        match tokio::time::timeout(
            deadline,
            self.fetch(host, address, started, None, starts, checks),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => PageOutcome::Timeout {
                after_ms: deadline.as_millis() as u64,
            },
        }
    }

    async fn fetch(
        &self,
        host: &Hostname,
        address: IpAddr,
        started: Instant,
        first: Option<(Url, Connected)>,
        starts: Vec<Url>,
        checks: &PageChecks,
    ) -> PageOutcome {
        // A big page's middle is read against where the walk starts.
        let base = first
            .as_ref()
            .map(|(url, _)| url.clone())
            .or_else(|| starts.first().cloned())
            .unwrap_or_else(|| {
                Url::parse(&format!("http://{host}/")).expect("a host name makes a URL")
            });
        let keep = Keep::Page {
            url: &base,
            prohibited: &self.settings.prohibited,
        };
        let Fetched {
            url,
            hops,
            response,
            body,
            redirected_to,
        } = match self
            .follow(host, address, started, first, starts, keep)
            .await
        {
            Ok(fetched) => fetched,
            Err(outcome) => return outcome,
        };
        let (mut text, encoding) = page::decode(&body.head, response.content_type.as_deref());
        if !body.tail.is_empty() {
            // The middle streamed through: what follows is the page's end,
            // read in the head's encoding, after whatever the cut left open
            // (a comment, a script, a style) is closed.
            let (tail, _, _) = encoding.decode(&body.tail);
            text.push_str(page::SPLICE);
            text.push_str(&tail);
        }
        let (mut read, visible) = page::parse(&text, &url, &self.settings.prohibited);
        if let Some(middle) = body.middle {
            page::merge(&mut read, *middle);
        }
        read.incomplete |= response.truncated;
        read.encoding = encoding.name().to_string();
        read.content_hash = Some(body.hash);
        read.mentions = page::matching_terms(
            read.title.as_deref().unwrap_or_default(),
            &visible,
            &checks.names,
        );
        let takeover = checks
            .services
            .iter()
            .filter(|service| {
                service.matches_response(response.status, response.server.as_deref(), &text)
            })
            .map(|service| service.name.clone())
            .collect();
        PageOutcome::Loaded {
            status: response.status,
            final_url: url.to_string(),
            hops,
            redirected_to: redirected_to.map(|u| u.to_string()),
            body_bytes: response.body_bytes,
            truncated: response.truncated,
            page: Box::new(read),
            server: response.server,
            takeover,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Connects (HTTPS, else HTTP, unless `first` is already connected),
    /// sends GET, and follows redirects within the host; a redirect to
    /// another host ends the walk and is returned, not followed. Anything
    /// short of a final response is the outcome that says why.
    async fn follow(
        &self,
        host: &Hostname,
        address: IpAddr,
        started: Instant,
        first: Option<(Url, Connected)>,
        starts: Vec<Url>,
        keep: Keep<'_>,
    ) -> Result<Fetched, PageOutcome> {
        let mut errors = Vec::new();
        let mut connected = first;
        for start in starts.into_iter().filter(|_| connected.is_none()) {
            match self.connect(&start, address).await {
                Ok(connection) => {
                    connected = Some((start, connection));
                    break;
                }
                Err(error) => errors.push(error),
            }
        }
        let Some((mut url, mut connection)) = connected else {
            if !errors.is_empty() && errors.iter().all(|(local, _)| *local) {
                return Err(PageOutcome::Local {
                    reason: errors
                        .into_iter()
                        .map(|(_, reason)| reason)
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
            let mut errors = errors.into_iter().map(|(_, reason)| reason);
            return Err(PageOutcome::Unreachable {
                https: errors.next().unwrap_or_default(),
                http: errors.next().unwrap_or_default(),
            });
        };
        let mut hops = Vec::new();
        let agent = self.settings.user_agent.as_str();
        loop {
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            };
            let remaining = self.settings.deadline.saturating_sub(started.elapsed());
            let result = match connection {
                Connected::Tls(stream) => {
                    get(*stream, host.as_str(), &path, agent, remaining, keep).await
                }
                Connected::Plain(stream) => {
                    get(stream, host.as_str(), &path, agent, remaining, keep).await
                }
            };
            let (response, body) = match result {
                Ok(done) => done,
                Err(HttpFailure::Timeout { .. }) => {
                    return Err(PageOutcome::Timeout {
                        after_ms: self.settings.deadline.as_millis() as u64,
                    });
                }
                Err(HttpFailure::Protocol { reason }) => {
                    return Err(PageOutcome::Failed { reason });
                }
            };
            hops.push(Hop {
                url: url.to_string(),
                status: response.status,
            });
            let next = response
                .location
                .as_deref()
                .filter(|_| (300..400).contains(&response.status))
                .and_then(|location| url.join(location).ok());
            match next {
                Some(next) if next.host_str() == Some(host.as_str()) => {
                    if hops.len() > self.settings.max_redirects {
                        return Err(PageOutcome::Failed {
                            reason: format!("more than {} redirects", self.settings.max_redirects),
                        });
                    }
                    connection = self
                        .connect(&next, address)
                        .await
                        .map_err(|(_, reason)| PageOutcome::Failed { reason })?;
                    url = next;
                }
                redirected_to => {
                    return Ok(Fetched {
                        url,
                        hops,
                        response,
                        body,
                        redirected_to,
                    });
                }
            }
        }
    }
}
