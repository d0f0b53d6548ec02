//! A webhook receiver on loopback, as an office's would be: it checks
//! each message's signature (`X-Siteward-Signature`) against its secret
//! and notes its `Idempotency-Key`, so that a test can tell a message
//! delivered once from one delivered twice. It can be taken down (it
//! answers 503) and brought back, to test retries, and slowed down, to
//! stop a sender mid-send.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::tls::TcpServer;
use super::web::serve_requests;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

/// One message the receiver accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub key: String,
    pub body: serde_json::Value,
    /// The signature matched the receiver's secret.
    pub signed: bool,
    /// Its key had been accepted before.
    pub repeat: bool,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<Received>,
    /// Requests answered 503 while down.
    refused: usize,
    down: bool,
    /// How long each answer waits: a slow receiver.
    delay: std::time::Duration,
}

/// The receiver; it stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: TcpServer,
}

impl Receiver {
    /// Listens on 127.0.0.1 (a free port); `secret` checks signatures.
    pub async fn start(secret: Option<String>) -> io::Result<Receiver> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let secret = Arc::new(secret);
        let server = serve_requests((std::net::Ipv4Addr::LOCALHOST, 0).into(), move |request| {
            let state = shared.clone();
            let secret = secret.clone();
            async move { answer(request, &state, &secret).await }
        })
        .await?;
        Ok(Receiver {
            addr: server.addr,
            state,
            _server: server,
        })
    }

    /// The URL of `path` here.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Down: every request is answered 503 and nothing is kept.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Each answer waits this long after the message was taken (a slow
    /// receiver, to stop a sender mid-send).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.lock().delay = delay;
    }

    /// What was accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// How many requests were refused while down.
    pub fn refused(&self) -> usize {
        self.lock().refused
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn answer(
    request: Request<Incoming>,
    state: &Mutex<State>,
    secret: &Option<String>,
) -> Response<Full<Bytes>> {
    let reply = |status: u16, text: &str| {
        let mut response = Response::new(Full::new(Bytes::from(text.to_string())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        response
    };
    if state.lock().unwrap_or_else(|e| e.into_inner()).down {
        state.lock().unwrap_or_else(|e| e.into_inner()).refused += 1;
        return reply(503, "down for maintenance");
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = request.uri().path().to_string();
    let key = header("idempotency-key");
    let signature = header("x-siteward-signature");
    let Ok(body) = request.into_body().collect().await else {
        return reply(400, "unreadable body");
    };
    let body = String::from_utf8_lossy(&body.to_bytes()).to_string();
    let Some(key) = key else {
        return reply(400, "no Idempotency-Key");
    };
    let signed = match (secret, &signature) {
        (Some(secret), Some(header)) => crate::alerts::webhook::verify(secret, header, &body),
        _ => false,
    };
    if secret.is_some() && !signed {
        return reply(401, "bad signature");
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
        return reply(400, "not JSON");
    };
    let (repeat, delay) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let repeat = state.received.iter().any(|r| r.key == key);
        state.received.push(Received {
            path,
            key,
            body: json,
            signed,
            repeat,
        });
        (repeat, state.delay)
    };
    // Slow to answer what it has already taken: the case where a sender
    // stopped now would not know the message arrived.
    tokio::time::sleep(delay).await;
    reply(200, if repeat { "ok (seen before)" } else { "ok" })
}

/// The name of the simulated organization `i`.
pub fn organization_name(i: usize) -> String {
    format!("测试单位 {i}")
}

/// `n` county organizations, each with its own webhook at `/org<i>` of
/// `receiver`; their ids.
pub fn organizations(
    store: &crate::store::Store,
    policy: &crate::policy::Policy,
    receiver: &Receiver,
    n: usize,
) -> Result<Vec<i64>, crate::store::StoreError> {
    add_organizations(store, policy, n, |i| {
        vec![receiver.url(&format!("/org{i}"))]
    })
}

/// `n` county organizations without webhooks of their own (they hear
/// through the configured sinks); their ids.
pub fn organizations_without_webhooks(
    store: &crate::store::Store,
    policy: &crate::policy::Policy,
    n: usize,
) -> Result<Vec<i64>, crate::store::StoreError> {
    add_organizations(store, policy, n, |_| Vec::new())
}

fn add_organizations(
    store: &crate::store::Store,
    policy: &crate::policy::Policy,
    n: usize,
    webhooks: impl Fn(usize) -> Vec<String>,
) -> Result<Vec<i64>, crate::store::StoreError> {
    (0..n)
        .map(|i| {
            let org = store.add_org(
                &crate::store::NewOrganization {
                    name: organization_name(i),
                    // 城关区, a county-level district of 兰州市.
                    division: "620102".parse()?,
                    level: crate::registry::OrgLevel::County,
                    parent: None,
                    emails: Vec::new(),
                    webhooks: webhooks(i),
                },
                policy,
                &crate::store::Change::now("sim"),
            )?;
            Ok(org.value.id)
        })
        .collect()
}

/// A round that finds `count` critical dangling CNAMEs, spread in turn
/// over the organizations `orgs`.
pub fn dangling_round(
    orgs: &[i64],
    count: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::findings::Evaluation {
    use crate::findings::{Evaluation, Finding, FindingKind, Severity};
    Evaluation {
        findings: (0..count)
            .map(|i| Finding {
                kind: FindingKind::DanglingCname,
                severity: Severity::Critical,
                subject: format!("h{i}.bench.gov.cn"),
                scope: format!("h{i}.bench.gov.cn"),
                site_id: None,
                org_id: orgs.get(i % orgs.len().max(1)).copied(),
                summary: format!("h{i}.bench.gov.cn 的 CNAME 指向不存在的域名"),
                action: "删除该 CNAME 记录".into(),
                evidence: Vec::new(),
                observed_at: now,
            })
            .collect(),
        measured: Default::default(),
        unjudged: Default::default(),
        failures: Vec::new(),
        ipv6_works: true,
    }
}
