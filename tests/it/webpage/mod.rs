//! The web page end to end: served by the daemon's listener over a
//! temporary database (SQLite, and PostgreSQL when CI gives one), used
//! over real HTTP with a session cookie ([`Web::login`]) and in a real
//! Chromium driven over WebDriver ([`Browser`]). One module per page.

mod files;
mod findings;
mod home;
mod registry;
mod session;
mod sites;
mod validity;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siteward::access::Role;
use siteward::store::Change;

use crate::api::{Api, Reply};
use crate::support::TestDb;

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The daemon's listener serving the web page over a test database.
pub struct Web {
    pub api: Api,
}

/// A person logged in over HTTP: their session cookie and form token.
pub struct Session<'w> {
    web: &'w Web,
    pub cookie: String,
    pub csrf: String,
}

/// The value of `name="NAME" value="…"` in a page (the first one).
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// The cookie `name` a reply sets (`Set-Cookie`), if any.
pub fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.to_string())
}

fn urlencoded(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    form.finish().into_bytes()
}

impl Web {
    pub fn start(db: &TestDb) -> Web {
        Web {
            api: Api::start(db),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api.addr)
    }

    /// A user with `role` seeing every organization, password [`PASSWORD`].
    pub fn user(&self, name: &str, role: Role) {
        self.scoped_user(name, role, &[], false);
    }

    /// A user with `role` limited to `orgs` (names).
    pub fn scoped_user(&self, name: &str, role: Role, orgs: &[&str], with_subordinates: bool) {
        let orgs: Vec<String> = orgs.iter().map(|o| o.to_string()).collect();
        siteward::app::users::add(
            self.api.store(),
            name,
            role,
            &orgs,
            with_subordinates,
            PASSWORD,
            &Change::now("tester"),
        )
        .expect("user made");
    }

    /// Sends a request with `cookie` (none: anonymous).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        self.api.send_with(method, path, None, cookie, body)
    }

    /// Logs `name` in with `password` as a browser does: the login page
    /// (its form token and cookie), then the form. The reply of the form.
    pub fn try_login(&self, name: &str, password: &str) -> (Reply, Option<String>) {
        let page = self.send("GET", "/login", None, None).expect(200);
        let token = field_value(&page.text(), "csrf").expect("login form token");
        let login_cookie = set_cookie(&page, "siteward_login").expect("login cookie");
        let login_cookie = login_cookie
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let reply = self.send(
            "POST",
            "/login",
            Some(&login_cookie),
            Some((
                "application/x-www-form-urlencoded",
                urlencoded(&[("csrf", &token), ("user", name), ("password", password)]),
            )),
        );
        let session = set_cookie(&reply, "siteward_session")
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
            .filter(|c| c != "siteward_session=");
        (reply, session)
    }

    /// `name` logged in with [`PASSWORD`].
    pub fn login(&self, name: &str) -> Session<'_> {
        let (reply, cookie) = self.try_login(name, PASSWORD);
        let cookie = cookie.unwrap_or_else(|| panic!("{name} logs in: {}", reply.text()));
        let home = self.send("GET", "/", Some(&cookie), None).expect(200);
        let csrf = field_value(&home.text(), "csrf").expect("the page's form token");
        Session {
            web: self,
            cookie,
            csrf,
        }
    }
}

impl Session<'_> {
    pub fn get(&self, path: &str) -> Reply {
        self.web.send("GET", path, Some(&self.cookie), None)
    }

    /// Posts a form with the session's form token added.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all)
    }

    /// Posts exactly `fields` (a forged form carries no token, or a
    /// wrong one).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.web.send(
            "POST",
            path,
            Some(&self.cookie),
            Some(("application/x-www-form-urlencoded", urlencoded(fields))),
        )
    }
}

/// Where screenshots are kept: `target/web-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A headless Chromium driven over WebDriver (`chromedriver` from
/// Debian's chromium-driver); stopped when dropped.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    pub client: fantoccini::Client,
    driver: Child,
}

impl Browser {
    /// A browser, or `None` (saying why) when no driver is installed
    /// outside CI; in CI a missing driver fails the test.
    pub fn start() -> Option<Browser> {
        let driver = ["chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|d| {
                Command::new(d)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
        let Some(driver) = driver else {
            if std::env::var_os("CI").is_some() {
                panic!("CI must install chromium-driver for the web page's browser tests");
            }
            eprintln!(
                "no chromedriver (Debian: apt-get install chromium chromium-driver): the browser test is skipped"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // It says when it listens.
        if let Some(out) = child.stdout.take() {
            let mut lines = BufReader::new(out).lines();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                match lines.next() {
                    Some(Ok(line)) if line.contains("started successfully") => break,
                    Some(_) => {}
                    None => break,
                }
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,900",
                         "--lang=zh-CN"],
            }),
        );
        let client = runtime
            .block_on(async {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                let mut builder = fantoccini::ClientBuilder::new(connector);
                builder.capabilities(capabilities);
                builder.connect(&format!("http://127.0.0.1:{port}")).await
            })
            .expect("a WebDriver session");
        Some(Browser {
            runtime,
            client,
            driver: child,
        })
    }

    pub fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    pub fn goto(&self, url: &str) {
        self.block_on(self.client.goto(url)).expect("page opens");
    }

    /// The text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.block_on(async {
            self.client
                .find(fantoccini::Locator::Css(css))
                .await?
                .text()
                .await
        })
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
    }

    /// Whether an element matches `css`.
    pub fn has(&self, css: &str) -> bool {
        self.block_on(self.client.find_all(fantoccini::Locator::Css(css)))
            .map(|all| !all.is_empty())
            .unwrap_or(false)
    }

    /// Types `value` into the field matching `css` (cleared first).
    pub fn fill(&self, css: &str, value: &str) {
        self.block_on(async {
            let field = self.client.find(fantoccini::Locator::Css(css)).await?;
            field.clear().await?;
            field.send_keys(value).await
        })
        .unwrap_or_else(|e| panic!("cannot fill `{css}`: {e}"));
    }

    /// Chooses `value` in the select matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.block_on(async {
            self.client
                .find(fantoccini::Locator::Css(css))
                .await?
                .select_by_value(value)
                .await
        })
        .unwrap_or_else(|e| panic!("cannot select `{value}` in `{css}`: {e}"));
    }

    /// Clicks the link or submit button matching `css` (a confirmation
    /// the page asks is accepted) and waits until the page it leads to
    /// has loaded: WebDriver's click returns once the click is sent, and
    /// what follows must read the next page, not the one clicked on.
    pub fn click(&self, css: &str) {
        self.block_on(async {
            let element = self.client.find(fantoccini::Locator::Css(css)).await?;
            // Marks the page clicked on; the next page has no mark.
            self.client
                .execute("window.__sitewardClicked = true;", Vec::new())
                .await?;
            element.click().await?;
            if self.client.get_alert_text().await.is_ok() {
                self.client.accept_alert().await?;
            }
            let started = Instant::now();
            loop {
                // Fails while the next page replaces this one: not yet.
                let loaded = self
                    .client
                    .execute(
                        "return window.__sitewardClicked === undefined \
                         && document.readyState === 'complete';",
                        Vec::new(),
                    )
                    .await;
                if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "clicking `{css}` led to no new page within 20 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<(), fantoccini::error::CmdError>(())
        })
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    pub fn path(&self) -> String {
        let url = self.block_on(self.client.current_url()).expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub fn source(&self) -> String {
        self.block_on(self.client.source()).expect("source")
    }

    /// Logs in through the login form.
    pub fn login(&self, web: &Web, name: &str) {
        self.goto(&web.url("/login"));
        self.fill("#user", name);
        self.fill("#password", PASSWORD);
        self.click("form button[type=submit]");
    }

    /// Keeps a PNG of the page as `target/web-screenshots/NAME.png`,
    /// the whole page's height.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let height = self
            .block_on(self.client.execute(
                "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);",
                vec![],
            ))
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(900)
            .clamp(600, 8000);
        let _ = self.block_on(self.client.set_window_size(1366, height as u32));
        let png = self.block_on(self.client.screenshot()).expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot kept");
        let _ = self.block_on(self.client.set_window_size(1366, 900));
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let client = self.client.clone();
        let _ = self.runtime.block_on(client.close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
