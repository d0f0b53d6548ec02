//! The HTTP API end to end: the API served on loopback over a temporary
//! database (SQLite, and PostgreSQL when CI gives one), called over real
//! HTTP with bearer tokens made as `siteward token create` makes them.
//! One module per area of the API.

pub mod core;
mod files;
mod ops;
mod registry;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use siteward::access::Role;
use siteward::app::App;
use siteward::config::Config;
use siteward::store::{Change, Store};
use tokio_util::sync::CancellationToken;

use crate::support::{TestDb, policy};

/// The API serving a test database on a loopback port; stopped when
/// dropped.
pub struct Api {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    runtime: tokio::runtime::Runtime,
    shutdown: CancellationToken,
}

/// An answer: its status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; panics (showing it) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs; returns self.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "body: {}", self.text());
        self
    }
}

impl Api {
    /// Serves the API over `db` with the built-in policy.
    pub fn start(db: &TestDb) -> Api {
        let mut config = Config::default();
        config.database.url = db.url.clone();
        Api::with_config(config)
    }

    /// Serves the API with `config` (its database already set).
    pub fn with_config(config: Config) -> Api {
        let store = Store::open(&config.database.url).expect("store opens");
        Api::serving(Arc::new(App::new(config, None, policy(), store)))
    }

    pub fn store(&self) -> &Store {
        &self.app.store
    }

    /// A token with `role` seeing every organization.
    pub fn token(&self, name: &str, role: Role) -> String {
        self.scoped_token(name, role, &[], false)
    }

    /// A token with `role` limited to `orgs` (names).
    pub fn scoped_token(
        &self,
        name: &str,
        role: Role,
        orgs: &[&str],
        with_subordinates: bool,
    ) -> String {
        let orgs: Vec<String> = orgs.iter().map(|o| o.to_string()).collect();
        siteward::app::tokens::create(
            self.store(),
            name,
            role,
            &orgs,
            with_subordinates,
            &Change::now("tester"),
        )
        .expect("token made")
        .secret
    }

    /// Sends one request; `body` with its content type.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        self.send_with(method, path, token, None, body)
    }

    /// Sends one request with a bearer token or a `Cookie` header (the
    /// web page's session), or neither.
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        cookie: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        use http_body_util::BodyExt;
        let addr = self.addr;
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let bytes = match body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                bytes
            }
            None => Vec::new(),
        };
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(bytes)))
            .expect("request");
        self.runtime.block_on(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .expect("connects");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(connection);
            let response = sender.send_request(request).await.expect("response");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec();
            Reply {
                status,
                headers,
                body,
            }
        })
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, json: &Value) -> Reply {
        self.send(
            "POST",
            path,
            Some(token),
            Some(("application/json", json.to_string().into_bytes())),
        )
    }

    pub fn patch(&self, path: &str, token: &str, json: &Value) -> Reply {
        self.send(
            "PATCH",
            path,
            Some(token),
            Some(("application/json", json.to_string().into_bytes())),
        )
    }

    /// The audit trail's length: a refused request must leave it as it was.
    pub fn audit_len(&self) -> usize {
        self.store()
            .audit(&siteward::store::AuditFilter::default())
            .expect("audit reads")
            .len()
    }

    /// Serves the API with the configuration of `file` (as `--config`),
    /// which a reload reads again.
    pub fn with_config_file(file: &std::path::Path) -> Api {
        let config = Config::load(Some(file), std::iter::empty()).expect("config loads");
        let store = Store::open(&config.database.url).expect("store opens");
        let app = Arc::new(App::new(config, Some(file.to_path_buf()), policy(), store));
        Api::serving(app)
    }

    /// Serves `app` on a loopback port.
    fn serving(app: Arc<App>) -> Api {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shutdown = CancellationToken::new();
        let listener = runtime
            .block_on(siteward::api::serve::bind("127.0.0.1:0"))
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        runtime.spawn(siteward::api::serve::serve(
            app.clone(),
            listener,
            shutdown.clone(),
        ));
        Api {
            addr,
            app,
            runtime,
            shutdown,
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
