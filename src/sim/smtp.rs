//! A mail relay on loopback, as an office's submission server would be,
//! for the email sink's tests and the demo: real SMTP over real TLS
//! (STARTTLS on a plain connection, or implicit TLS as `smtps`), AUTH
//! PLAIN and LOGIN checked against its credentials, and every accepted
//! mail kept with its subject and bodies decoded (RFC 2047 words, Base64
//! and quoted-printable parts) so that a test compares what a person
//! would read. It can be told to refuse messages with a given reply, to
//! test transient and permanent failures. Lines, messages and idle time
//! are bounded: a hostile client cannot exhaust its memory or its tasks.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rustls::ServerConfig;
use tokio::io::BufReader;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};
use tokio_rustls::TlsAcceptor;

use super::tls::{Chain, TcpServer, accept_loop};
use crate::probe::tls::provider;

/// How the relay speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain greeting, `STARTTLS` required before AUTH and MAIL (port 587).
    StartTls,
    /// TLS from the first byte (`smtps`, port 465).
    Implicit,
}

/// One mail the relay accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope's sender (`MAIL FROM`).
    pub from: String,
    /// The envelope's recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as received, dots unstuffed.
    pub raw: String,
    /// The `Subject` header, encoded words decoded.
    pub subject: String,
    /// The `Message-ID` header as written (`<…@…>`); empty if none.
    pub message_id: String,
    /// The first `text/plain` part, decoded; empty if none.
    pub text: String,
    /// The first `text/html` part, decoded; empty if none.
    pub html: String,
    /// The mail came over TLS.
    pub over_tls: bool,
}

/// The longest line read (commands and message lines alike; RFC 5321
/// allows 1,000 with the CRLF).
const MAX_LINE: usize = 1024;
/// The largest message accepted (advertised as `SIZE`).
const MAX_MESSAGE: usize = 1 << 20;
/// Recipients per transaction.
const MAX_RECIPIENTS: usize = 100;
/// A client silent this long is dropped.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    received: Vec<Mail>,
    /// Given instead of acceptance at the end of DATA.
    reply: Option<(u16, String)>,
}

struct Shared {
    mode: Mode,
    acceptor: TlsAcceptor,
    credentials: Option<(String, String)>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The relay; it stops when dropped.
pub struct SmtpServer {
    mode: Mode,
    shared: Arc<Shared>,
    server: TcpServer,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("mode", &self.mode)
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpServer {
    /// Listens on 127.0.0.1 (a free port), presenting `chain` (issue it
    /// for `127.0.0.1`, the name a client checks when given the address).
    /// With `credentials`, AUTH is offered and required before MAIL.
    pub async fn start(
        mode: Mode,
        chain: &Chain,
        credentials: Option<(String, String)>,
    ) -> io::Result<SmtpServer> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(chain.certs.clone(), chain.key.clone_key())
            .map_err(io::Error::other)?;
        let shared = Arc::new(Shared {
            mode,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            credentials,
            state: Mutex::new(State::default()),
        });
        let serving = shared.clone();
        let server = accept_loop((std::net::Ipv4Addr::LOCALHOST, 0).into(), move |socket| {
            let shared = serving.clone();
            async move {
                // Whatever ends a connection (a hang-up, a failed
                // handshake, an idle client) ends only that connection.
                let _ = connection(socket, &shared).await;
            }
        })
        .await?;
        Ok(SmtpServer {
            mode,
            shared,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The sink URL for this relay: `smtp://` or `smtps://` by its mode,
    /// the credentials percent-encoded.
    pub fn url(&self, user: &str, password: &str) -> String {
        let scheme = match self.mode {
            Mode::StartTls => "smtp",
            Mode::Implicit => "smtps",
        };
        let mut url = match url::Url::parse(&format!("{scheme}://{}", self.addr())) {
            Ok(url) => url,
            Err(_) => return format!("{scheme}://{user}:{password}@{}", self.addr()),
        };
        // Setting the user of a URL with a host cannot fail.
        let _ = url.set_username(user);
        let _ = url.set_password(Some(password));
        url.to_string()
    }

    /// What was accepted so far, in order.
    pub fn received(&self) -> Vec<Mail> {
        self.shared.lock().received.clone()
    }

    /// With `Some((code, text))`, every message is answered `code text`
    /// at the end of its DATA instead of being accepted (451: try later;
    /// 550: refused), until set back to `None`.
    pub fn set_reply(&self, reply: Option<(u16, String)>) {
        self.shared.lock().reply = reply;
    }
}

/// How a conversation ended.
enum End<S> {
    Closed,
    /// The client asked for STARTTLS: the bare stream, for the handshake.
    StartTls(S),
}

async fn connection(socket: tokio::net::TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = socket.set_nodelay(true);
    let handshake = |socket| async move {
        tokio::time::timeout(IDLE, shared.acceptor.accept(socket))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    };
    match shared.mode {
        Mode::Implicit => {
            let tls = handshake(socket).await?;
            conversation(tls, true, true, shared).await?;
        }
        Mode::StartTls => {
            if let End::StartTls(plain) = conversation(socket, false, true, shared).await? {
                let tls = handshake(plain).await?;
                // No greeting after STARTTLS: the client speaks first.
                conversation(tls, true, false, shared).await?;
            }
        }
    }
    Ok(())
}

/// One line read, bounded.
enum Line {
    Text(String),
    /// Longer than `MAX_LINE`: read to its end and dropped.
    TooLong,
    Eof,
}

async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Line> {
    let idle = |_| io::Error::from(io::ErrorKind::TimedOut);
    let mut buffer = Vec::new();
    let mut bounded = (&mut *reader).take(MAX_LINE as u64);
    let read = bounded.read_until(b'\n', &mut buffer);
    let n = tokio::time::timeout(IDLE, read).await.map_err(idle)??;
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
        if buffer.last() == Some(&b'\r') {
            buffer.pop();
        }
        return Ok(Line::Text(String::from_utf8_lossy(&buffer).into_owned()));
    }
    if n < MAX_LINE {
        // End of stream, possibly mid-line: nothing more will come.
        return Ok(Line::Eof);
    }
    // The rest of the line is read and dropped a buffer at a time, so
    // that the dialogue goes on at the next line.
    loop {
        let chunk = tokio::time::timeout(IDLE, reader.fill_buf())
            .await
            .map_err(idle)??;
        if chunk.is_empty() {
            return Ok(Line::Eof);
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(Line::TooLong);
            }
            None => {
                let all = chunk.len();
                reader.consume(all);
            }
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) -> io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await?;
    writer.flush().await
}

/// One transaction's envelope.
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

/// The SMTP dialogue on one stream (plain or TLS). Returns the stream
/// when the client asked for STARTTLS.
async fn conversation<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: bool,
    greet: bool,
    shared: &Shared,
) -> io::Result<End<S>> {
    let mut stream = BufReader::new(stream);
    if greet {
        reply(&mut stream, "220 relay.sim.test ESMTP siteward-sim").await?;
    }
    let mut greeted = false;
    let mut authenticated = shared.credentials.is_none();
    let mut envelope = Envelope::default();
    loop {
        let line = match read_line(&mut stream).await? {
            Line::Text(line) => line,
            Line::TooLong => {
                reply(&mut stream, "500 5.5.2 Line too long").await?;
                continue;
            }
            Line::Eof => return Ok(End::Closed),
        };
        let (verb, argument) = match line.split_once(' ') {
            Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim()),
            None => (line.trim().to_ascii_uppercase(), ""),
        };
        // Before STARTTLS nothing but the handshake's own commands: no
        // password or mail crosses in clear.
        let needs_tls = matches!(verb.as_str(), "AUTH" | "MAIL" | "RCPT" | "DATA");
        if needs_tls && !tls {
            reply(&mut stream, "530 5.7.0 Must issue a STARTTLS command first").await?;
            continue;
        }
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                envelope = Envelope::default();
                let mut lines = vec![format!("relay.sim.test greets {argument}")];
                if tls {
                    if shared.credentials.is_some() {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    lines.push("8BITMIME".into());
                    lines.push(format!("SIZE {MAX_MESSAGE}"));
                } else {
                    lines.push("STARTTLS".into());
                }
                let last = lines.len() - 1;
                let text: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect();
                reply(&mut stream, &text.join("\r\n")).await?;
            }
            "HELO" => {
                greeted = true;
                envelope = Envelope::default();
                reply(&mut stream, "250 relay.sim.test").await?;
            }
            "STARTTLS" if shared.mode == Mode::StartTls && !tls => {
                reply(&mut stream, "220 2.0.0 Ready to start TLS").await?;
                // Anything the client sent after STARTTLS in clear is
                // dropped with the buffer (RFC 3207: no command injection
                // across the upgrade).
                return Ok(End::StartTls(stream.into_inner()));
            }
            "STARTTLS" => reply(&mut stream, "503 5.5.1 TLS already active").await?,
            "AUTH" => match &shared.credentials {
                None => reply(&mut stream, "503 5.5.1 AUTH not offered").await?,
                Some(_) if authenticated => {
                    reply(&mut stream, "503 5.5.1 Already authenticated").await?
                }
                Some(_) if !greeted => reply(&mut stream, "503 5.5.1 EHLO first").await?,
                Some(credentials) => match login(&mut stream, argument, credentials).await? {
                    Auth::Accepted => {
                        authenticated = true;
                        reply(&mut stream, "235 2.7.0 Authentication successful").await?;
                    }
                    Auth::Refused => {
                        reply(&mut stream, "535 5.7.8 Authentication credentials invalid").await?
                    }
                    Auth::Unsupported => {
                        reply(&mut stream, "504 5.5.4 Unrecognized authentication type").await?
                    }
                    Auth::Gone => return Ok(End::Closed),
                },
            },
            "MAIL" => {
                if !greeted {
                    reply(&mut stream, "503 5.5.1 EHLO first").await?;
                } else if !authenticated {
                    reply(&mut stream, "530 5.7.0 Authentication required").await?;
                } else if envelope.from.is_some() {
                    reply(&mut stream, "503 5.5.1 Nested MAIL command").await?;
                } else if let Some(address) = path(argument, "FROM:") {
                    envelope.from = Some(address);
                    reply(&mut stream, "250 2.1.0 Ok").await?;
                } else {
                    reply(&mut stream, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if envelope.from.is_none() {
                    reply(&mut stream, "503 5.5.1 Need MAIL before RCPT").await?;
                } else if envelope.to.len() >= MAX_RECIPIENTS {
                    reply(&mut stream, "452 4.5.3 Too many recipients").await?;
                } else if let Some(address) = path(argument, "TO:").filter(|a| !a.is_empty()) {
                    envelope.to.push(address);
                    reply(&mut stream, "250 2.1.5 Ok").await?;
                } else {
                    reply(&mut stream, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
                }
            }
            "DATA" => {
                if envelope.to.is_empty() {
                    reply(&mut stream, "503 5.5.1 Need RCPT before DATA").await?;
                    continue;
                }
                reply(&mut stream, "354 End data with <CR><LF>.<CR><LF>").await?;
                let transaction = std::mem::take(&mut envelope);
                let raw = match data(&mut stream).await? {
                    Data::Message(raw) => raw,
                    Data::TooBig => {
                        reply(&mut stream, "552 5.3.4 Message too big").await?;
                        continue;
                    }
                    Data::Gone => return Ok(End::Closed),
                };
                let answer = {
                    let mut state = shared.lock();
                    match &state.reply {
                        Some((code, text)) => format!("{code} {text}"),
                        None => {
                            state.received.push(mail(transaction, raw, tls));
                            format!("250 2.0.0 Ok: queued as SIM{:05}", state.received.len())
                        }
                    }
                };
                reply(&mut stream, &answer).await?;
            }
            "RSET" => {
                envelope = Envelope::default();
                reply(&mut stream, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut stream, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut stream, "221 2.0.0 Bye").await?;
                return Ok(End::Closed);
            }
            _ => reply(&mut stream, "502 5.5.2 Command not recognized").await?,
        }
    }
}

/// `FROM:<a@b> SIZE=…` → `a@b`; none when malformed.
fn path(argument: &str, prefix: &str) -> Option<String> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

/// How an AUTH exchange ended.
enum Auth {
    Accepted,
    Refused,
    Unsupported,
    /// The client went away mid-exchange.
    Gone,
}

/// AUTH PLAIN or LOGIN, with or without an initial response.
async fn login<S: AsyncBufRead + AsyncWrite + Unpin>(
    stream: &mut S,
    argument: &str,
    credentials: &(String, String),
) -> io::Result<Auth> {
    let (mechanism, initial) = match argument.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
        None => (argument.to_ascii_uppercase(), None),
    };
    // One challenge's answer, Base64-decoded; `*` cancels.
    async fn answer<S: AsyncBufRead + AsyncWrite + Unpin>(
        stream: &mut S,
        challenge: &str,
    ) -> io::Result<Option<String>> {
        reply(stream, &format!("334 {challenge}")).await?;
        match read_line(stream).await? {
            Line::Text(line) => Ok(Some(line)),
            _ => Ok(None),
        }
    }
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    };
    let (user, password) = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => i,
                None => match answer(stream, "").await? {
                    Some(line) => line,
                    None => return Ok(Auth::Gone),
                },
            };
            // authzid NUL authcid NUL password.
            let Some(decoded) = decode(&response) else {
                return Ok(Auth::Refused);
            };
            let mut parts = decoded.split('\0');
            let (_authzid, user, password) = (parts.next(), parts.next(), parts.next());
            (
                user.unwrap_or_default().to_string(),
                password.unwrap_or_default().to_string(),
            )
        }
        "LOGIN" => {
            let user = match initial {
                Some(i) => i,
                // "Username:" and "Password:", as the clients expect.
                None => match answer(stream, "VXNlcm5hbWU6").await? {
                    Some(line) => line,
                    None => return Ok(Auth::Gone),
                },
            };
            let Some(password) = answer(stream, "UGFzc3dvcmQ6").await? else {
                return Ok(Auth::Gone);
            };
            (
                decode(&user).unwrap_or_default(),
                decode(&password).unwrap_or_default(),
            )
        }
        _ => return Ok(Auth::Unsupported),
    };
    Ok(if user == credentials.0 && password == credentials.1 {
        Auth::Accepted
    } else {
        Auth::Refused
    })
}

/// What followed `354`.
enum Data {
    Message(String),
    /// Larger than allowed: read to its end and dropped.
    TooBig,
    /// The client went away mid-message.
    Gone,
}

/// The message after `354`, up to the line holding a single dot, dots
/// unstuffed.
async fn data<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Data> {
    let mut message = String::new();
    let mut too_big = false;
    loop {
        let line = match read_line(reader).await? {
            Line::Text(line) => line,
            // RFC 5321 forbids it; the message is refused whole.
            Line::TooLong => {
                too_big = true;
                continue;
            }
            Line::Eof => return Ok(Data::Gone),
        };
        if line == "." {
            return Ok(if too_big {
                Data::TooBig
            } else {
                Data::Message(message)
            });
        }
        let line = line.strip_prefix('.').unwrap_or(&line);
        if message.len() + line.len() + 2 > MAX_MESSAGE {
            too_big = true;
        }
        if !too_big {
            message.push_str(line);
            message.push_str("\r\n");
        }
    }
}

fn mail(envelope: Envelope, raw: String, over_tls: bool) -> Mail {
    let (headers, body) = split(&raw);
    let subject = header(&headers, "subject")
        .map(decode_words)
        .unwrap_or_default();
    let message_id = header(&headers, "message-id")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    collect_parts(&headers, body, &mut text, &mut html, 0);
    Mail {
        from: envelope.from.unwrap_or_default(),
        to: envelope.to,
        subject,
        message_id,
        text,
        html,
        over_tls,
        raw,
    }
}

/// A message's or part's headers (unfolded) and body.
fn split(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (raw.find("\r\n\r\n"), raw.find("\n\n")) {
        (Some(i), _) => (&raw[..i], &raw[i + 4..]),
        (None, Some(i)) => (&raw[..i], &raw[i + 2..]),
        (None, None) => (raw, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // A folded line continues the previous header; unfolding
            // removes only the line break.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `text/plain; charset="utf-8"` → (`text/plain`, the parameter `name`).
fn parameter(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Finds the first text/plain and text/html parts, through nested
/// multiparts (a bounded depth: hostile nesting cannot recurse far).
fn collect_parts(
    headers: &[(String, String)],
    body: &str,
    text: &mut String,
    html: &mut String,
    depth: usize,
) {
    let content_type = header(headers, "content-type").unwrap_or("text/plain");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let Some(boundary) = parameter(content_type, "boundary") else {
            return;
        };
        if depth >= 4 {
            return;
        }
        for part in parts(body, &boundary) {
            let (headers, body) = split(part);
            collect_parts(&headers, body, text, html, depth + 1);
        }
        return;
    }
    let target = match mime.as_str() {
        "text/plain" if text.is_empty() => text,
        "text/html" if html.is_empty() => html,
        _ => return,
    };
    let bytes = match header(headers, "content-transfer-encoding")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("base64") => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default()
        }
        Some("quoted-printable") => quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    *target = charset_decode(parameter(content_type, "charset").as_deref(), &bytes);
}

/// The parts between `--boundary` lines, up to `--boundary--`.
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let close = format!("{delimiter}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == delimiter || bare == close {
            if let Some(s) = start {
                // The line break before a delimiter belongs to it.
                let part = &body[s..offset];
                parts.push(
                    part.strip_suffix('\n')
                        .map_or(part, |p| p.strip_suffix('\r').unwrap_or(p)),
                );
            }
            if bare != delimiter {
                break;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

fn charset_decode(charset: Option<&str>, bytes: &[u8]) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

/// Quoted-printable: `=XX` bytes, `=` at a line's end a soft break;
/// anything malformed kept as written.
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// A header's value with its RFC 2047 encoded words (`=?utf-8?b?…?=`,
/// `=?utf-8?q?…?=`) decoded. The space between two words is folding,
/// not text, and their bytes are decoded together, so a character split
/// between two words survives.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    // Bytes of consecutive encoded words, and their charset.
    let mut pending: Vec<u8> = Vec::new();
    let mut charset = String::new();
    let mut after_word = false;
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        match encoded_word(&rest[start..]) {
            Some(word) => {
                let joins = after_word && between.trim().is_empty();
                if !(joins && word.charset == charset) {
                    flush(&mut out, &mut pending, &charset);
                }
                if !joins {
                    out.push_str(between);
                }
                charset = word.charset;
                pending.extend(word.bytes);
                rest = &rest[start + word.length..];
                after_word = true;
            }
            None => {
                // Not a word after all: literal text, past the `=?`.
                flush(&mut out, &mut pending, &charset);
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                after_word = false;
            }
        }
    }
    flush(&mut out, &mut pending, &charset);
    out.push_str(rest);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u8>, charset: &str) {
    if !pending.is_empty() {
        out.push_str(&charset_decode(Some(charset), pending));
        pending.clear();
    }
}

struct Word {
    charset: String,
    bytes: Vec<u8>,
    /// How many bytes of the header the word took.
    length: usize,
}

/// `=?charset?b|q?text?=` at the start of `text`.
fn encoded_word(text: &str) -> Option<Word> {
    let inner = text.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let payload = &rest[..end];
    if payload.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        "q" | "Q" => quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    Some(Word {
        // RFC 2231 allows a language after `*`.
        charset: charset
            .split('*')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        bytes,
        length: 2 + charset.len() + 1 + encoding.len() + 1 + end + 2,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;
    use crate::alerts::NotificationKind;
    use crate::alerts::email::{self, SendError};
    use crate::alerts::message::{Item, Message};
    use crate::findings::{FindingKind, FindingStatus, Severity};
    use crate::sim::tls::TestCa;

    const USER: &str = "alerts@gsb.gov.cn";
    const PASSWORD: &str = "s3cret:密码 1";
    const KEY: &str = "5e0c1d2f8a9b4c3d";
    const TIMEOUT: Duration = Duration::from_secs(10);

    fn body() -> serde_json::Value {
        let message = Message::new(
            KEY,
            NotificationKind::Opened,
            Some("兰州市人民政府".into()),
            vec![Item {
                id: 7,
                kind: FindingKind::DanglingCname,
                severity: Severity::Critical,
                status: FindingStatus::Open,
                subject: "old.lanzhou.gov.cn".into(),
                site: Some("兰州市人民政府网".into()),
                site_code: Some("6201000001".into()),
                since: "2026-12-01T10:00:00+08:00".into(),
                summary: "old.lanzhou.gov.cn 的 CNAME 指向不存在的域名，可被他人接管".into(),
                action: "删除该 CNAME 记录，或恢复其指向的服务".into(),
            }],
        );
        serde_json::from_str(&message.to_json()).expect("json")
    }

    fn email() -> lettre::Message {
        email::render(
            &body(),
            KEY,
            USER,
            &[
                "ops@lanzhou.gov.cn".to_string(),
                "duty@gsb.gov.cn".to_string(),
            ],
            "gsb.gov.cn",
        )
        .expect("render")
    }

    /// A relay with a certificate from its own CA, and that CA's PEM.
    async fn relay(mode: Mode) -> (SmtpServer, Vec<u8>) {
        let ca = TestCa::new("siteward mail CA").expect("ca");
        let chain = ca.valid(&["127.0.0.1", "localhost"]).expect("chain");
        let server = SmtpServer::start(mode, &chain, Some((USER.into(), PASSWORD.into())))
            .await
            .expect("start");
        (server, ca.pem().into_bytes())
    }

    async fn send_to(
        server: &SmtpServer,
        password: &str,
        roots: &[Vec<u8>],
    ) -> Result<String, SendError> {
        let target = email::parse_url(&server.url(USER, password)).expect("url");
        email::send(&target, email(), roots, TIMEOUT).await
    }

    fn check_delivered(server: &SmtpServer) {
        let received = server.received();
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert!(mail.over_tls);
        assert_eq!(mail.from, USER);
        assert_eq!(mail.to, ["ops@lanzhou.gov.cn", "duty@gsb.gov.cn"]);
        assert_eq!(
            mail.subject,
            "【网站监测】兰州市人民政府：新确认 1 项问题，请及时整改"
        );
        assert_eq!(mail.message_id, format!("<{KEY}@gsb.gov.cn>"));
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("兰州市人民政府"), "{body}");
            assert!(body.contains("【严重】"), "{body}");
            assert!(body.contains("兰州市人民政府网（6201000001）"), "{body}");
            assert!(
                body.contains("old.lanzhou.gov.cn 的 CNAME 指向不存在的域名，可被他人接管"),
                "{body}"
            );
            assert!(
                body.contains("处理建议：删除该 CNAME 记录，或恢复其指向的服务"),
                "{body}"
            );
            assert!(body.contains("2026-12-01 10:00（北京时间）"), "{body}");
        }
        assert!(mail.html.contains("<li>"));
        assert!(mail.raw.is_ascii());
    }

    #[tokio::test]
    async fn an_email_over_starttls_arrives_intact() {
        let (server, root) = relay(Mode::StartTls).await;
        let answer = send_to(&server, PASSWORD, &[root]).await.expect("sent");
        assert!(
            answer.starts_with("250 ") && answer.contains("queued as"),
            "{answer}"
        );
        check_delivered(&server);
    }

    #[tokio::test]
    async fn an_email_over_implicit_tls_arrives_intact() {
        let (server, root) = relay(Mode::Implicit).await;
        assert!(server.url(USER, PASSWORD).starts_with("smtps://"));
        send_to(&server, PASSWORD, &[root]).await.expect("sent");
        check_delivered(&server);
    }

    #[tokio::test]
    async fn a_wrong_password_is_permanent() {
        let (server, root) = relay(Mode::StartTls).await;
        let error = send_to(&server, "wrong", &[root])
            .await
            .expect_err("refused");
        assert!(error.is_permanent(), "{error}");
        assert!(
            error.to_string().contains("refused the login: 535"),
            "{error}"
        );
        assert!(server.received().is_empty());
    }

    #[tokio::test]
    async fn a_4xx_reply_is_transient_and_a_5xx_permanent() {
        let (server, root) = relay(Mode::Implicit).await;
        let roots = [root];
        server.set_reply(Some((451, "4.3.0 Queue full, try later".into())));
        let error = send_to(&server, PASSWORD, &roots).await.expect_err("451");
        assert!(matches!(error, SendError::Transient(_)), "{error}");
        assert!(
            error.to_string().contains("451 4.3.0 Queue full"),
            "{error}"
        );
        server.set_reply(Some((550, "5.7.1 Relaying denied".into())));
        let error = send_to(&server, PASSWORD, &roots).await.expect_err("550");
        assert!(error.is_permanent(), "{error}");
        assert!(
            error.to_string().contains("refused the email: 550"),
            "{error}"
        );
        assert!(server.received().is_empty());
        server.set_reply(None);
        send_to(&server, PASSWORD, &roots).await.expect("sent");
        assert_eq!(server.received().len(), 1);
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_refused_before_the_password() {
        for mode in [Mode::StartTls, Mode::Implicit] {
            let (server, _root) = relay(mode).await;
            let other = TestCa::new("someone else").expect("ca").pem().into_bytes();
            let error = send_to(&server, PASSWORD, &[other])
                .await
                .expect_err("untrusted");
            assert!(error.is_permanent(), "{error}");
            assert!(
                error.to_string().contains("is not trusted (UnknownIssuer)"),
                "{error}"
            );
            assert!(server.received().is_empty());
        }
    }

    #[tokio::test]
    async fn no_relay_listening_is_transient() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let target = email::parse_url(&format!("smtps://u:p@127.0.0.1:{port}")).expect("url");
        let error = email::send(&target, email(), &[], TIMEOUT)
            .await
            .expect_err("refused");
        assert!(matches!(error, SendError::Transient(_)), "{error}");
        assert!(
            !error.to_string().contains("Kind"),
            "no Debug text: {error}"
        );
    }

    /// Reads one reply (all its lines); returns them joined.
    async fn answer<S: AsyncRead + Unpin>(stream: &mut BufReader<S>, code: &str) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.expect("read");
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return all;
            }
        }
    }

    async fn say<S: AsyncRead + AsyncWrite + Unpin>(
        stream: &mut BufReader<S>,
        line: &str,
        code: &str,
    ) -> String {
        stream
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
        answer(stream, code).await
    }

    /// A TLS client handshake trusting `ca` only.
    async fn handshake(
        ca: &TestCa,
        tcp: tokio::net::TcpStream,
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(crate::sim::tls::cert_from_pem(&ca.pem()).expect("pem"))
            .expect("root");
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("handshake")
    }

    #[tokio::test]
    async fn the_protocol_by_hand() {
        let ca = TestCa::new("siteward mail CA").expect("ca");
        let chain = ca.valid(&["127.0.0.1"]).expect("chain");
        let server = SmtpServer::start(Mode::StartTls, &chain, Some(("u".into(), "p".into())))
            .await
            .expect("start");
        let tcp = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connect");
        let mut plain = BufReader::new(tcp);
        answer(&mut plain, "220").await;
        let ehlo = say(&mut plain, "EHLO client.test", "250").await;
        assert!(
            ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
            "{ehlo}"
        );
        say(
            &mut plain,
            "MAIL FROM:<a@b.c>",
            "530 5.7.0 Must issue a STARTTLS",
        )
        .await;
        say(&mut plain, "AUTH PLAIN AHUAcA==", "530").await;
        say(&mut plain, "VRFY root", "502").await;
        say(&mut plain, "NOOP", "250").await;
        say(&mut plain, "STARTTLS", "220").await;

        let mut tls = BufReader::new(handshake(&ca, plain.into_inner()).await);
        let ehlo = say(&mut tls, "EHLO client.test", "250").await;
        assert!(
            ehlo.contains("AUTH PLAIN LOGIN") && ehlo.contains("8BITMIME"),
            "{ehlo}"
        );
        assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
        say(
            &mut tls,
            "MAIL FROM:<a@b.c>",
            "530 5.7.0 Authentication required",
        )
        .await;
        // LOGIN, the wrong password then the right one.
        say(&mut tls, "AUTH LOGIN", "334 VXNlcm5hbWU6").await;
        say(&mut tls, "dQ==", "334 UGFzc3dvcmQ6").await;
        say(&mut tls, "eA==", "535").await;
        say(&mut tls, "AUTH LOGIN dQ==", "334 UGFzc3dvcmQ6").await;
        say(&mut tls, "cA==", "235").await;
        say(&mut tls, "AUTH PLAIN AHUAcA==", "503").await;
        say(&mut tls, "DATA", "503").await;
        say(&mut tls, "MAIL FROM:<a@b.c> BODY=8BITMIME", "250").await;
        say(&mut tls, "RCPT TO:<x@y.z>", "250").await;
        say(&mut tls, "DATA", "354").await;
        let message = "Subject: =?utf-8?q?=E5=91=8A=E8=AD=A6_?= =?utf-8?b?5rWL6K+V?= plain\r\n\
                       Message-ID: <k@b.c>\r\n\
                       Content-Type: text/plain; charset=utf-8\r\n\
                       Content-Transfer-Encoding: quoted-printable\r\n\
                       \r\n\
                       =E5=A4=84=E7=90=86=E5=BB=BA=E8=AE=AE=EF=BC=9A soft=\r\n\
                       break\r\n\
                       ..a line that began with a dot\r\n\
                       .";
        say(&mut tls, message, "250").await;
        say(&mut tls, "RSET", "250").await;
        say(&mut tls, "QUIT", "221").await;

        let mail = &server.received()[0];
        assert_eq!(mail.subject, "告警 测试 plain");
        assert_eq!(mail.message_id, "<k@b.c>");
        assert_eq!(mail.to, ["x@y.z"]);
        assert_eq!(
            mail.text,
            "处理建议： softbreak\r\n.a line that began with a dot\r\n"
        );
        assert!(mail.raw.contains("\r\n.a line"));
    }

    #[tokio::test]
    async fn long_lines_and_big_messages_are_bounded() {
        let ca = TestCa::new("siteward mail CA").expect("ca");
        let chain = ca.valid(&["127.0.0.1"]).expect("chain");
        let server = SmtpServer::start(Mode::Implicit, &chain, None)
            .await
            .expect("start");
        let tcp = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connect");
        let mut tls = BufReader::new(handshake(&ca, tcp).await);
        answer(&mut tls, "220").await;
        say(&mut tls, &"X".repeat(5000), "500 5.5.2 Line too long").await;
        say(&mut tls, "HELO client.test", "250").await;
        say(&mut tls, "MAIL FROM:<>", "250").await;
        say(&mut tls, "RCPT TO:<x@y.z>", "250").await;
        say(&mut tls, "DATA", "354").await;
        let line = format!("{}\r\n", "y".repeat(998));
        for _ in 0..(MAX_MESSAGE / line.len() + 10) {
            tls.get_mut()
                .write_all(line.as_bytes())
                .await
                .expect("write");
        }
        say(&mut tls, ".", "552").await;
        say(&mut tls, "NOOP", "250").await;
        assert!(server.received().is_empty());
    }
}
