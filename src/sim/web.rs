//! The simulated world's web servers: HTTP and HTTPS on loopback answering
//! by Host header and path with configured pages (any status, any bytes,
//! any charset, redirects), and an HTTP server that streams forever.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::tls::{SniResolver, TcpServer, accept_loop};
use crate::probe::tls::provider;

/// One page: status, content type, body and an optional redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub location: Option<String>,
    /// More response headers (`Server: AliyunOSS`).
    pub headers: Vec<(String, String)>,
}

impl PageSpec {
    pub fn html(body: impl Into<Vec<u8>>, charset: &str) -> PageSpec {
        PageSpec {
            status: 200,
            content_type: format!("text/html; charset={charset}"),
            body: body.into(),
            location: None,
            headers: Vec::new(),
        }
    }

    /// Any status and content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> PageSpec {
        PageSpec {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
            location: None,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> PageSpec {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn redirect(status: u16, location: &str) -> PageSpec {
        PageSpec {
            status,
            content_type: "text/html".into(),
            body: Vec::new(),
            location: Some(location.to_string()),
            headers: Vec::new(),
        }
    }
}

/// Pages by (host name, path), and what any other host gets (a catch-all
/// virtual host, as behind a wildcard record).
#[derive(Debug, Clone, Default)]
pub struct Pages(HashMap<(String, String), PageSpec>, Option<PageSpec>);

impl Pages {
    pub fn add(&mut self, host: &str, path: &str, page: PageSpec) -> &mut Self {
        self.0
            .insert((host.to_ascii_lowercase(), path.to_string()), page);
        self
    }

    /// What a host with no page of its own gets at any path.
    pub fn fallback(&mut self, page: PageSpec) -> &mut Self {
        self.1 = Some(page);
        self
    }

    /// Removes a page (an IPv6 server that lacks some of the IPv4 one's).
    pub fn remove(&mut self, host: &str, path: &str) -> &mut Self {
        self.0
            .remove(&(host.to_ascii_lowercase(), path.to_string()));
        self
    }

    fn has_host(&self, host: &str) -> bool {
        self.0.keys().any(|(h, _)| h == host)
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let host = request
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
            .unwrap_or_default();
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        // The catch-all answers only hosts with no page at all, checked
        // lazily: the scan is for misses only.
        let page = self
            .0
            .get(&(host.clone(), path))
            .or_else(|| self.1.as_ref().filter(|_| !self.has_host(&host)));
        match page {
            Some(page) => {
                let mut response = Response::builder()
                    .status(page.status)
                    .header(hyper::header::CONTENT_TYPE, page.content_type.as_str());
                if let Some(location) = &page.location {
                    response = response.header(hyper::header::LOCATION, location.as_str());
                }
                for (name, value) in &page.headers {
                    response = response.header(name.as_str(), value.as_str());
                }
                response
                    .body(Full::new(Bytes::from(page.body.clone())))
                    .unwrap_or_default()
            }
            None => {
                let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
                *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                response
            }
        }
    }
}

/// Serves `pages` on `addr`: HTTPS when `tls` is given (chains by SNI),
/// plain HTTP otherwise.
/// Pages and resolvers may be shared by several servers (IPv4 and IPv6
/// of one site): pass them in an `Arc` or by value.
pub async fn serve_web(
    addr: SocketAddr,
    pages: impl Into<Arc<Pages>>,
    tls: Option<impl Into<Arc<SniResolver>>>,
) -> io::Result<TcpServer> {
    let acceptor = match tls {
        Some(resolver) => {
            let mut config = ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| io::Error::other(e.to_string()))?
                .with_no_client_auth()
                .with_cert_resolver(resolver.into());
            // The probes never resume a session (a resumed handshake shows
            // no chain), so tickets would only be encrypted, sent and
            // thrown away.
            config.send_tls13_tickets = 0;
            Some(TlsAcceptor::from(Arc::new(config)))
        }
        None => None,
    };
    let pages: Arc<Pages> = pages.into();
    accept_loop(addr, move |tcp| {
        let pages = pages.clone();
        let acceptor = acceptor.clone();
        async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let pages = pages.clone();
                async move { Ok::<_, Infallible>(pages.answer(&request)) }
            });
            match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                }
                None => {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                }
            }
        }
    })
    .await
}

/// A plain-HTTP server on `addr` answering each request with `answer`:
/// the shape of the simulated receivers (webhooks, robots).
pub(crate) async fn serve_requests<F, Fut>(addr: SocketAddr, answer: F) -> io::Result<TcpServer>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    accept_loop(addr, move |tcp| {
        let answer = answer.clone();
        async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let answer = answer.clone();
                async move { Ok::<_, Infallible>(answer(request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        }
    })
    .await
}

/// A body fed by a channel: the endless server's.
struct ReceiverBody(tokio::sync::mpsc::Receiver<Frame<Bytes>>);

impl hyper::body::Body for ReceiverBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

/// An HTTP server whose every response streams a body forever (a chunk
/// every 10 ms, for at most a minute).
pub async fn serve_endless(addr: SocketAddr) -> io::Result<TcpServer> {
    accept_loop(addr, |tcp| async move {
        let service = service_fn(|_request: Request<Incoming>| async {
            let (sender, receiver) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                for _ in 0..6000 {
                    let chunk = Frame::data(Bytes::from_static(b"<p>still loading</p>\n"));
                    if sender.send(chunk).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
            Ok::<_, Infallible>(Response::new(ReceiverBody(receiver)))
        });
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service)
            .await;
    })
    .await
}
