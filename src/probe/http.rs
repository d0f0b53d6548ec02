//! HTTP over one connection: a GET whose body is read up to a cap, with the
//! status, the headers that matter and the time it took. The connection is
//! made by the caller (plain TCP, or TLS after the TLS probe's handshake),
//! so that every address of a host is fetched from itself.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

/// The body cap: enough for any homepage, bounded against hostile servers.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The User-Agent siteward sends, so that site operators can tell its
/// checks from visitors.
pub const AGENT: &str = concat!("siteward/", env!("CARGO_PKG_VERSION"), " (government website registry check)");

/// A response, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// Where a redirect points.
    pub location: Option<String>,
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
/// within `deadline`. Returns the response and its body (at most
/// [`MAX_BODY`] bytes).
pub async fn get<S>(
    stream: S,
    host: &str,
    path: &str,
    deadline: Duration,
) -> Result<(Response, Vec<u8>), HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    match tokio::time::timeout(deadline, exchange(stream, host, path, started)).await {
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
    started: Instant,
) -> Result<(Response, Vec<u8>), HttpFailure>
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
        .header(USER_AGENT, AGENT)
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("Connection", "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| protocol(&e))?;
    let response = sender.send_request(request).await.map_err(|e| protocol(&e))?;
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
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| protocol(&e))?;
        if let Some(data) = frame.data_ref() {
            let room = MAX_BODY - bytes.len();
            if data.len() > room {
                bytes.extend_from_slice(&data[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(data);
        }
    }
    driver.abort();
    Ok((
        Response {
            status,
            content_type,
            location,
            elapsed_ms: started.elapsed().as_millis() as u64,
            body_bytes: bytes.len(),
            truncated,
        },
        bytes,
    ))
}
