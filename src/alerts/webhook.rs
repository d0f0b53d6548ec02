//! Delivers one message to a webhook: `POST` of its JSON body over HTTP
//! or HTTPS (the public roots plus `[probe] extra_roots`), with
//! `Idempotency-Key: <key>` and, when the sink has a secret,
//! `X-Siteward-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of
//! "<t>.<body>">`. A 2xx answer is acceptance; anything else, or no
//! answer within the timeout, is a failure to retry.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;

/// What a receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of its body, as text.
    pub body: String,
}

impl Answer {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The signature header's value for `body` at `t` (Unix seconds).
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{t}.{body}").as_bytes());
    format!("t={t},sha256={}", crate::probe::http::hex(tag.as_ref()))
}

/// Whether `header` is a valid signature of `body` with `secret` (the
/// receiver's side: the simulated receiver, and anyone's example).
pub fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut mac = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("sha256", v)) => mac = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(mac)) = (t, mac) else {
        return false;
    };
    let Some(bytes) = unhex(mac) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, format!("{t}.{body}").as_bytes(), &bytes).is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Sends webhooks: one client configuration for all of them.
#[derive(Debug, Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    agent: String,
    timeout: Duration,
    /// The `[probe] extra_roots` files' bytes, read once: the email sink
    /// trusts them too.
    extra_roots: Arc<Vec<Vec<u8>>>,
}

impl Client {
    /// Trusts the public roots plus `extra_roots` (PEM files).
    pub fn new(
        extra_roots: &[std::path::PathBuf],
        agent: String,
        timeout: Duration,
    ) -> Result<Client, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut pems = Vec::new();
        for path in extra_roots {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for der in CertificateDer::pem_slice_iter(&pem) {
                let der = der.map_err(|e| format!("{}: {e}", path.display()))?;
                roots
                    .add(der)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            pems.push(pem);
        }
        let tls = rustls::ClientConfig::builder_with_provider(crate::probe::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client {
            tls: Arc::new(tls),
            agent,
            timeout,
            extra_roots: Arc::new(pems),
        })
    }

    /// The extra roots' PEM bytes, one entry per file.
    pub fn extra_roots(&self) -> Arc<Vec<Vec<u8>>> {
        self.extra_roots.clone()
    }

    /// POSTs `body` to `url`; the error says why nothing was accepted,
    /// in words for the outbox's `last_error`.
    pub async fn post(
        &self,
        url: &str,
        body: &str,
        key: &str,
        secret: Option<&str>,
    ) -> Result<Answer, String> {
        match tokio::time::timeout(self.timeout, self.exchange(url, body, key, secret)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs_f64())),
        }
    }

    async fn exchange(
        &self,
        url: &str,
        body: &str,
        key: &str,
        secret: Option<&str>,
    ) -> Result<Answer, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let host = parsed.host_str().ok_or("the URL has no host")?.to_string();
        let port = parsed
            .port_or_known_default()
            .ok_or("the URL has no port")?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tcp = TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let mut path = parsed.path().to_string();
        if let Some(query) = parsed.query() {
            path.push('?');
            path.push_str(query);
        }
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut request = Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, &self.agent)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .header("Idempotency-Key", key)
            .header(hyper::header::CONNECTION, "close");
        if let Some(secret) = secret {
            request = request.header(
                "X-Siteward-Signature",
                signature(secret, chrono::Utc::now().timestamp(), body),
            );
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        match parsed.scheme() {
            "http" => send(tcp, request).await,
            "https" => {
                let name =
                    ServerName::try_from(bare).map_err(|e| format!("not a server name: {e}"))?;
                let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                    .connect(name, tcp)
                    .await
                    // rustls's own Display prints its enums with Debug.
                    .map_err(|e| {
                        format!(
                            "TLS with {host}:{port} failed: {}",
                            crate::probe::words::io_error(&e)
                        )
                    })?;
                send(tls, request).await
            }
            other => Err(format!("scheme `{other}` is neither http nor https")),
        }
    }
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Answer, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = response.status().as_u16();
    // The answer's first 2 KiB are kept for `alerts list`; a receiver
    // that streams more is not read further.
    let mut body = response.into_body();
    let mut kept = Vec::new();
    while kept.len() < 2048 {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    kept.extend_from_slice(data);
                }
            }
            Some(Err(e)) => return Err(format!("HTTP: {e}")),
            None => break,
        }
    }
    driver.abort();
    kept.truncate(2048);
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&kept).trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_signature() {
        assert_eq!(
            super::signature("s3cret", 1_700_000_000, "{\"test\":1}"),
            "t=1700000000,sha256=dc00b70c2698a237ef19053a4a5f96452577657b240017a6c3eb6a7ae8e5ad32"
        );
        assert!(super::verify(
            "s3cret",
            "t=1700000000,sha256=dc00b70c2698a237ef19053a4a5f96452577657b240017a6c3eb6a7ae8e5ad32",
            "{\"test\":1}"
        ));
        assert!(!super::verify(
            "other",
            "t=1700000000,sha256=dc00b70c2698a237ef19053a4a5f96452577657b240017a6c3eb6a7ae8e5ad32",
            "{\"test\":1}"
        ));
    }
}

/// A webhook as a sink: the frozen body whole, in one part, signed when
/// it has a secret; rate-limited only when configured so.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    pub client: Client,
    pub url: String,
    pub secret: Option<crate::config::Secret>,
    pub limits: Vec<super::rate::RateLimit>,
}

impl super::sink::Sink for WebhookSink {
    type Payload = String;

    fn limits(&self) -> Vec<super::rate::RateLimit> {
        self.limits.clone()
    }

    fn parts(
        &self,
        body: &str,
        _from: usize,
        _shrink: u32,
    ) -> Result<Vec<super::sink::Part<String>>, String> {
        // The same bytes at every attempt, whatever was delivered before:
        // a webhook takes a message whole or not at all.
        Ok(vec![super::sink::Part {
            payload: body.to_string(),
            findings: super::sink::findings_in(body),
        }])
    }

    async fn send(&self, body: String, key: &str) -> super::sink::Verdict {
        use super::sink::Verdict;
        let secret = self.secret.as_ref().map(crate::config::Secret::expose);
        match self.client.post(&self.url, &body, key, secret).await {
            Ok(answer) if answer.accepted() => Verdict::Accepted {
                answer: format!("{} {}", answer.status, answer.body),
            },
            Ok(answer) => Verdict::Retry {
                reason: format!("the receiver answered {}", answer.status),
                answer: Some(format!("{} {}", answer.status, answer.body)),
                after: None,
            },
            Err(reason) => Verdict::Retry {
                reason,
                answer: None,
                after: None,
            },
        }
    }
}
