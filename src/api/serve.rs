//! The API's listener: accepts connections and serves the router over
//! HTTP/1.1, or HTTPS when `[api] tls_cert` and `tls_key` are set
//! (rustls with ring, the binary's one provider), until cancelled; then
//! it stops accepting and lets the requests in flight finish.
//!
//! The certificate is read at start (a file that cannot be read or
//! parsed is an error naming it) and again after each reload
//! (`App::reload`, on SIGHUP): a new pair that fails is refused with a
//! log line naming the file, and the one in force keeps serving.
//! Connections already open keep the certificate they were made with.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{ApiState, router};
use crate::app::App;
use crate::config::ApiConfig;

/// How long requests in flight may take to finish after shutdown.
const DRAIN: Duration = Duration::from_secs(10);

/// How long a client has to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Binds `[api] listen` (`host:port`); an address that cannot be bound
/// names itself and the reason.
pub async fn bind(listen: &str) -> Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("[api] listen = `{listen}`: cannot listen there"))
}

/// The TLS acceptor `[api]` asks for, or `None` for plain HTTP. Every
/// error names the file and what is wrong with it.
pub fn tls_acceptor(api: &ApiConfig) -> Result<Option<TlsAcceptor>> {
    let (cert, key) = match (&api.tls_cert, &api.tls_key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => return Ok(None),
        _ => anyhow::bail!("[api] tls_cert and tls_key go together: set both or neither"),
    };
    let certs = read_certs(cert)?;
    let key = read_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(crate::probe::tls::provider())
        .with_safe_default_protocol_versions()
        .context("the TLS provider offers no protocol version")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "[api] tls_key = {}: does not go with the certificate of tls_cert = {}",
                key_path_shown(api),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn key_path_shown(api: &ApiConfig) -> String {
    api.tls_key
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let shown = || format!("[api] tls_cert = {}", path.display());
    let pem = std::fs::read(path).with_context(|| format!("{}: cannot read it", shown()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: not a PEM certificate chain ({e})", shown()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: holds no certificate (PEM `CERTIFICATE`)", shown());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let shown = || format!("[api] tls_key = {}", path.display());
    let pem = std::fs::read(path).with_context(|| format!("{}: cannot read it", shown()))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        anyhow::anyhow!(
            "{}: holds no private key in PEM (PKCS#8, PKCS#1 or SEC1) ({e})",
            shown()
        )
    })
}

/// Serves the API on `listener` until `shutdown` is cancelled. HTTPS
/// when the configuration in force says so; the certificate is read
/// again after every reload of the application.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls =
        tls_acceptor(&app.config().api)?.map(|acceptor| Arc::new(ArcSwap::from_pointee(acceptor)));
    let mut reloaded = app.reloaded();
    let (router, _) = router(ApiState::new(app.clone()));
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %address, tls = tls.is_some(), "api: listening on {scheme}://{address}");
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            changed = reloaded.changed() => {
                if changed.is_ok() && let Some(tls) = &tls {
                    renew(&app, tls);
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment
                    // rather than spin.
                    tracing::warn!(error = %e, "api: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // The client's address reaches handlers as axum's `ConnectInfo`
        // (the web page's login limits count per address).
        let service = {
            let router = router.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let mut router = router.clone();
                async move {
                    use tower::Service;
                    router.call(request.map(axum::body::Body::new)).await
                }
            })
        };
        let stop = shutdown.clone();
        let acceptor = tls.as_ref().map(|tls| tls.load_full());
        connections.spawn(async move {
            match acceptor {
                None => connection(stream, service, stop, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, service, stop, peer).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "api: TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "api: TLS handshake timed out"),
                    }
                }
            }
        });
    }
    connections.close();
    let _ = tokio::time::timeout(DRAIN, connections.wait()).await;
    Ok(())
}

/// Reads the certificate again after a reload; a pair that fails keeps
/// the one in force. A configuration that turned TLS off, or on, needs a
/// restart (the listener's scheme does not change under its clients).
fn renew(app: &App, tls: &ArcSwap<TlsAcceptor>) {
    match tls_acceptor(&app.config().api) {
        Ok(Some(acceptor)) => {
            tls.store(Arc::new(acceptor));
            tracing::info!("api: certificate read again");
        }
        Ok(None) => tracing::warn!(
            "api: [api] tls_cert and tls_key were removed; HTTPS goes on with the certificate in force until a restart"
        ),
        Err(e) => tracing::error!(
            error = %format!("{e:#}"),
            "api: the new certificate is refused; the one in force stays"
        ),
    }
}

/// Serves one connection until it ends, or gracefully once `stop` fires.
async fn connection<S, H>(
    stream: S,
    service: H,
    stop: CancellationToken,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        >,
    H::Future: Send + 'static,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "api: connection ended");
            }
        }
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
