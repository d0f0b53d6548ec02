//! Operations: `/healthz`, `/readyz` (a complete cycle, fresh enough),
//! `/metrics` (checked by `promtool`, values matching the registry), the
//! OpenAPI document (checked by `openapi-spec-validator`), the body
//! limit, HTTPS with a certificate read again on reload, and the real
//! `siteward serve` binary listening where its log says, with an access
//! log that names no token. The external checkers are skipped, saying
//! so, when missing outside CI; in CI (`CI=true`) a missing one fails.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use siteward::access::Role;
use siteward::config::Config;
use siteward::jobs::{Job, RunStatus};
use siteward::store::{Change, Run, Store};

use super::Api;
use super::core::two_cities;
use crate::support::{backends, policy};

/// Whether `tool` can run; missing: skipped with a message, or a failure
/// in CI.
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{tool}` is missing, and CI must run it (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED: `{tool}` is not installed; this check runs in CI (.ci/run installs it)"
        );
    }
    found
}

/// The samples of an exposition: (series with labels, value).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the one series that starts with `name{` and holds every
/// one of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|(series, _)| {
            (series == name || series.starts_with(&format!("{name}{{")))
                && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| v)
}

/// Records a probe run that ended `status` at `finished`.
fn cycle(store: &Store, status: RunStatus, finished: chrono::DateTime<chrono::Utc>) -> i64 {
    let mut run = Run::start(Job::Probe, None);
    run.started_at = finished - chrono::Duration::seconds(42);
    let id = store.start_run(&run).expect("run started");
    run.id = id;
    run.finished_at = finished;
    run.status = status;
    run.hosts = 7;
    store.finish_run(&run).expect("run finished");
    id
}

#[test]
fn healthz_answers_and_readyz_wants_a_fresh_complete_cycle() {
    for db in backends() {
        let api = Api::start(&db);
        let health = api.send("GET", "/healthz", None, None).expect(200);
        assert_eq!(health.text(), "ok\n");

        let fresh = api.send("GET", "/readyz", None, None).expect(503);
        let body = fresh.json();
        assert_eq!(body["ready"], false);
        assert_eq!(body["reason"], "no complete probe cycle yet", "{body}");
        assert_eq!(body["checks"]["database"]["ok"], true);

        // A cycle that ended four hours ago is older than the policy's
        // 180 minutes; a newer interrupted one does not count.
        let now = chrono::Utc::now();
        cycle(api.store(), RunStatus::Ok, now - chrono::Duration::hours(4));
        cycle(api.store(), RunStatus::Interrupted, now);
        let stale = api.send("GET", "/readyz", None, None).expect(503).json();
        let reason = stale["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("max_observation_age_mins (180)"), "{stale}");
        assert_eq!(stale["checks"]["cycle"]["ok"], false);

        let id = cycle(api.store(), RunStatus::MeasurementFailed, now);
        let ready = api.send("GET", "/readyz", None, None).expect(200).json();
        assert_eq!(ready["ready"], true, "{ready}");
        assert_eq!(ready["checks"]["cycle"]["run"], id);
        assert!(ready["reason"].is_null());
    }
}

#[test]
fn metrics_pass_promtool_and_match_the_registry() {
    for db in backends() {
        let mut config = Config::default();
        config.database.url = db.url.clone();
        config.alerts.sink.push(siteward::config::SinkConfig::new(
            "office",
            siteward::config::SinkKind::Webhook,
            "http://127.0.0.1:9/hook",
        ));
        let api = Api::with_config(config);
        two_cities(&api);
        // A finding, open at once (one confirmation).
        let org = api
            .store()
            .orgs()
            .expect("orgs")
            .into_iter()
            .find(|o| o.name == "兰州市政府办公室")
            .expect("org");
        let now = chrono::Utc::now();
        let round = siteward::sim::webhook::dangling_round(&[org.id], 1, now);
        api.store()
            .record_evaluation(&round, 1, &api.app.alerting(), now)
            .expect("recorded");
        cycle(api.store(), RunStatus::Ok, now);
        // A certificate seen on two addresses of one host name: the
        // earlier expiry counts.
        let expires =
            chrono::DateTime::from_timestamp(now.timestamp() + 30 * 86_400, 0).expect("a time");
        let tls = |address: &str, not_after| siteward::probe::Observation {
            host: "www.lanzhou.gov.cn".parse().expect("host"),
            address: Some(address.parse().expect("address")),
            at: now,
            data: siteward::probe::ObservationData::Tls(siteward::probe::tls::TlsObservation {
                verdict: siteward::probe::tls::TlsVerdict::Valid,
                protocol: Some("TLSv1.3".into()),
                cipher_suite: None,
                chain: vec![siteward::probe::cert::CertInfo {
                    subject: "CN=www.lanzhou.gov.cn".into(),
                    issuer: "CN=test".into(),
                    dns_names: vec!["www.lanzhou.gov.cn".into()],
                    serial: "01".into(),
                    not_before: now - chrono::Duration::days(60),
                    not_after,
                    signature_algorithm: "ecdsa-with-SHA256".into(),
                    signature_oid: "1.2.840.10045.4.3.2".into(),
                    key_algorithm: "EC".into(),
                    key_bits: Some(256),
                    curve: Some("P-256".into()),
                    is_ca: false,
                    self_signed: false,
                }],
                port: Some(443),
                elapsed: Duration::from_millis(40),
            }),
        };
        api.store()
            .record_observations(&[
                tls("192.0.2.1", expires),
                tls("192.0.2.2", expires + chrono::Duration::days(300)),
            ])
            .expect("recorded");
        let token = api.token("reader", Role::Viewer);
        api.get("/api/v1/sites", &token).expect(200);
        api.get("/api/v1/sites", &token).expect(200);

        let reply = api.send("GET", "/metrics", None, None).expect(200);
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/plain; version=0.0.4"),
            "{:?}",
            reply.headers
        );
        let text = reply.text();
        // Every site is `requested`, as the registry says.
        let sites = api
            .store()
            .sites(&siteward::store::SiteFilter::default())
            .expect("sites");
        assert_eq!(sites.len(), 2);
        let requested = samples(&text)
            .into_iter()
            .filter(|(s, _)| s.starts_with("siteward_sites{") && s.contains("status=\"requested\""))
            .map(|(_, v)| v)
            .sum::<f64>();
        assert_eq!(requested, 2.0, "{text}");
        assert_eq!(
            value(
                &text,
                "siteward_findings",
                &[
                    "kind=\"dangling_cname\"",
                    "severity=\"critical\"",
                    "status=\"open\""
                ]
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(&text, "siteward_cycle_hosts", &[]),
            Some(7.0),
            "{text}"
        );
        assert_eq!(
            value(&text, "siteward_cycle_duration_seconds", &[]),
            Some(42.0),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                "siteward_tls_certificate_expiry_timestamp_seconds",
                &["host=\"www.lanzhou.gov.cn\""]
            ),
            Some(expires.timestamp() as f64),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                "siteward_cycle_observations",
                &["probe=\"tls\"", "outcome=\"valid\""]
            ),
            Some(2.0),
            "{text}"
        );
        let last = value(&text, "siteward_cycle_last_complete_timestamp_seconds", &[])
            .expect("last cycle's time");
        assert!((last - now.timestamp() as f64).abs() < 2.0, "{last}");
        // Counted by matched route, never the raw path.
        assert_eq!(
            value(
                &text,
                "siteward_api_requests_total",
                &[
                    "route=\"/api/v1/sites\"",
                    "method=\"GET\"",
                    "status=\"200\""
                ]
            ),
            Some(2.0),
            "{text}"
        );
        // The critical finding's message waits in the outbox (the
        // default route sends critical findings to every sink).
        assert_eq!(
            value(
                &text,
                "siteward_alert_messages",
                &["sink=\"office\"", "status=\"pending\""]
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(value(&text, "siteward_alert_outbox_depth", &[]), Some(1.0));
        // A configured sink shows, not broken.
        assert_eq!(
            value(&text, "siteward_alert_sink_broken", &["sink=\"office\""]),
            Some(0.0),
            "{text}"
        );
        for family in [
            "siteward_build_info",
            "siteward_policy_reloads_total",
            "siteward_policy_reload_failures_total",
            "siteward_alert_findings_unrouted_total",
            "siteward_alert_outbox_depth",
            "siteward_api_request_duration_seconds_bucket",
        ] {
            assert!(
                value(&text, family, &[]).is_some(),
                "{family} missing:\n{text}"
            );
        }
        // A family with no series yet is left out (no site has been
        // probed by this process): the probes' once a host is done.
        assert!(!text.contains("siteward_probe_observations"), "{text}");
        assert!(text.contains("# TYPE siteward_cycle_measurement_failures gauge"));
        // The request counter moves with each request.
        api.get("/api/v1/sites", &token).expect(200);
        let again = api.send("GET", "/metrics", None, None).expect(200).text();
        assert_eq!(
            value(
                &again,
                "siteward_api_requests_total",
                &["route=\"/api/v1/sites\"", "status=\"200\""]
            ),
            Some(3.0)
        );
        // A host probed (as the prober tells it when a host is done).
        use siteward::probe::run::Tally;
        let observed = siteward::probe::Observation {
            host: "www.lanzhou.gov.cn".parse().expect("host"),
            address: None,
            at: now,
            data: siteward::probe::ObservationData::Failed {
                reason: "test".into(),
            },
        };
        api.app
            .metrics
            .probed("host", &[observed], Duration::from_millis(300));
        let probed = api.send("GET", "/metrics", None, None).expect(200).text();
        assert_eq!(
            value(
                &probed,
                "siteward_probe_observations_total",
                &["probe=\"failed\"", "outcome=\"measurement_failed\""]
            ),
            Some(1.0),
            "{probed}"
        );
        assert_eq!(
            value(
                &probed,
                "siteward_probe_duration_seconds_bucket",
                &["target=\"host\"", "le=\"0.32\""]
            ),
            Some(1.0),
            "{probed}"
        );
        // A reload is counted.
        api.app.reload().expect("reloads");
        let reloaded = api.send("GET", "/metrics", None, None).expect(200).text();
        assert_eq!(
            value(&reloaded, "siteward_policy_reloads_total", &[]),
            Some(1.0)
        );

        if have("promtool") {
            let mut child = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("promtool runs");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("written");
            let out = child.wait_with_output().expect("promtool ends");
            assert!(
                out.status.success(),
                "promtool check metrics:\n{}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn the_openapi_document_passes_the_validator() {
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    let document = api
        .send("GET", "/api/v1/openapi.json", None, None)
        .expect(200)
        .json();
    assert_eq!(document["openapi"], "3.1.0");
    if !have("openapi-spec-validator") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).expect("written");
    let out = Command::new("openapi-spec-validator")
        .arg(&file)
        .output()
        .expect("the validator runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One request over a fresh connection: (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("head sent");
    // The server may answer before reading the whole body (413).
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4);
    (status, answer[at..].to_vec())
}

/// The API's layers over two routes that read a JSON body: one with the
/// default limit (1 MiB), one with its own of 50 MiB, as the import
/// routes set it.
#[test]
fn a_body_over_the_limit_is_413_json_and_a_route_may_allow_more() {
    use axum::routing::post;
    use siteward::api::extract::Json;
    let db = crate::support::sqlite();
    let api = Api::start(&db);
    let echo = |Json(v): Json<Value>| async move { axum::Json(v.as_array().map_or(0, Vec::len)) };
    let routes = axum::Router::new().route("/small", post(echo)).route(
        "/large",
        post(echo).layer(axum::extract::DefaultBodyLimit::max(50 * 1024 * 1024)),
    );
    let app = siteward::api::limited(routes, siteward::api::ApiState::new(api.app.clone()));
    let listener = api
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    api.runtime
        .spawn(async move { axum::serve(listener, app).await });

    // About 2 MiB of JSON.
    let big = serde_json::to_vec(&vec![123456789u32; 200_000]).expect("json");
    assert!(big.len() > 1024 * 1024);
    let json = ["Content-Type: application/json"];
    let (status, body) = http(addr, "POST", "/small", &json, &big);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("max_body_bytes"),
        "{error}"
    );
    let (status, body) = http(addr, "POST", "/large", &json, &big);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"200000");
    let (status, _) = http(addr, "POST", "/small", &json, b"[1,2]");
    assert_eq!(status, 200);
}

/// PEM of DER blocks.
fn pem(label: &str, ders: &[&[u8]]) -> String {
    use base64::Engine;
    let mut out = String::new();
    for der in ders {
        let encoded = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for line in encoded.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
    }
    out
}

fn write_chain(dir: &Path, chain: &siteward::sim::tls::Chain) {
    let certs: Vec<&[u8]> = chain.certs.iter().map(|c| c.as_ref()).collect();
    std::fs::write(dir.join("api.crt"), pem("CERTIFICATE", &certs)).expect("cert written");
    std::fs::write(
        dir.join("api.key"),
        pem("PRIVATE KEY", &[chain.key.secret_der()]),
    )
    .expect("key written");
}

/// The leaf certificate the API presents, and the status of `/healthz`
/// over that connection.
fn leaf_over_https(api: &Api, roots: &rustls::RootCertStore) -> (Vec<u8>, u16) {
    use http_body_util::BodyExt;
    let config = rustls::ClientConfig::builder_with_provider(siteward::probe::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = api.addr;
    api.runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let tls = connector.connect(name, tcp).await.expect("TLS handshake");
        let leaf = tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .expect("HTTP handshake");
        tokio::spawn(connection);
        let request = axum::http::Request::builder()
            .uri("/healthz")
            .header("host", "localhost")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        (leaf, status)
    })
}

#[test]
fn https_serves_the_configured_certificate_and_a_reload_reads_a_new_one() {
    use siteward::sim::tls::TestCa;
    let db = crate::support::sqlite();
    let dir = tempfile::tempdir().expect("temp dir");
    let first_ca = TestCa::new("api test CA one").expect("CA");
    let second_ca = TestCa::new("api test CA two").expect("CA");
    let first = first_ca.valid(&["localhost"]).expect("cert");
    let second = second_ca.valid(&["localhost"]).expect("cert");
    let mut roots = rustls::RootCertStore::empty();
    for ca in [&first_ca, &second_ca] {
        roots
            .add(siteward::sim::tls::cert_from_pem(&ca.pem()).expect("pem"))
            .expect("root");
    }
    write_chain(dir.path(), &first);
    let config_file = dir.path().join("siteward.toml");
    std::fs::write(
        &config_file,
        format!(
            "[database]\nurl = {:?}\n[api]\nlisten = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            db.url,
            dir.path().join("api.crt"),
            dir.path().join("api.key"),
        ),
    )
    .expect("config written");
    let api = Api::with_config_file(&config_file);

    let (leaf, status) = leaf_over_https(&api, &roots);
    assert_eq!(status, 200);
    assert_eq!(leaf, first.certs[0].to_vec(), "the first certificate");

    // A new pair, then a reload (what SIGHUP does).
    write_chain(dir.path(), &second);
    api.app.reload().expect("reloads");
    let started = Instant::now();
    loop {
        let (leaf, status) = leaf_over_https(&api, &roots);
        assert_eq!(status, 200);
        if leaf == second.certs[0].to_vec() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new certificate was not picked up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A broken pair is refused; the one in force stays.
    std::fs::write(dir.path().join("api.crt"), "not a certificate").expect("written");
    api.app.reload().expect("the configuration itself is valid");
    std::thread::sleep(Duration::from_millis(200));
    let (leaf, status) = leaf_over_https(&api, &roots);
    assert_eq!(status, 200);
    assert_eq!(leaf, second.certs[0].to_vec(), "the second stays");

    // At start, a bad file is an error naming it.
    let mut config = Config::default();
    config.api.tls_cert = Some(dir.path().join("api.crt"));
    config.api.tls_key = Some(dir.path().join("api.key"));
    let error = siteward::api::serve::tls_acceptor(&config.api)
        .err()
        .expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("tls_cert") && message.contains("api.crt"),
        "{message}"
    );
}

/// The real binary: `[api] listen = "127.0.0.1:0"`, the address found in
/// its JSON log; `/healthz` answers there, and the access log names the
/// route and status, never the token (header or query string).
#[test]
fn siteward_serve_listens_where_its_log_says_and_logs_no_token() {
    use crate::daemon::{Daemon, wait_for};
    let db = crate::support::sqlite();
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("siteward.toml");
    std::fs::write(
        &config_path,
        format!(
            "[database]\nurl = {:?}\n[api]\nlisten = \"127.0.0.1:0\"\n",
            db.url
        ),
    )
    .expect("config written");
    let store = db.open();
    let token = siteward::app::tokens::create(
        &store,
        "reader",
        Role::Viewer,
        &[],
        false,
        &Change::now("tester"),
    )
    .expect("token")
    .secret;
    let config = Config::load(Some(&config_path), std::iter::empty()).expect("config loads");
    let watch = crate::scenario::Watch {
        config,
        policy: policy(),
        config_path,
        _dir: dir,
    };
    let mut daemon = Daemon::start(&watch, &[], &[]);
    let addr: SocketAddr = wait_for(Duration::from_secs(30), &daemon, || {
        daemon.log().lines().find_map(|line| {
            let line: Value = serde_json::from_str(line).ok()?;
            let message = line["fields"]["message"].as_str()?;
            if !message.starts_with("api: listening") {
                return None;
            }
            line["fields"]["address"].as_str()?.parse().ok()
        })
    });
    assert_ne!(addr.port(), 0);
    let (status, body) = http(addr, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(body, b"ok\n");
    let authorization = format!("Authorization: Bearer {token}");
    let (status, _) = http(addr, "GET", "/api/v1/sites", &[&authorization], b"");
    assert_eq!(status, 200);
    let (status, _) = http(
        addr,
        "GET",
        &format!("/api/v1/sites?token={token}"),
        &[],
        b"",
    );
    assert_eq!(status, 401);
    wait_for(Duration::from_secs(10), &daemon, || {
        let log = daemon.log();
        (log.matches("api: request").count() >= 3).then_some(())
    });
    let log = daemon.log();
    assert!(!log.contains(&token), "the token is in the log:\n{log}");
    let access: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "api: request")
        .collect();
    assert!(
        access
            .iter()
            .any(|l| l["fields"]["route"] == "/api/v1/sites"
                && l["fields"]["status"] == 401
                && l["fields"]["method"] == "GET"
                && l["fields"]["latency_ms"].is_number()),
        "{access:?}"
    );
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(20)).0.success());
}

/// Under systemd, READY=1 comes once the API's port is bound: whoever
/// hears it can connect at once.
#[test]
fn ready_is_told_once_the_api_port_is_bound() {
    use crate::daemon::Daemon;
    let db = crate::support::sqlite();
    let dir = tempfile::tempdir().expect("temp dir");
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // A port free now, for the daemon to bind.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let config_path = dir.path().join("siteward.toml");
    std::fs::write(
        &config_path,
        format!(
            "[database]\nurl = {:?}\n[api]\nlisten = \"{addr}\"\n",
            db.url
        ),
    )
    .expect("config written");
    let config = Config::load(Some(&config_path), std::iter::empty()).expect("config loads");
    let socket_env = socket_path.to_str().expect("utf-8 path").to_string();
    let watch = crate::scenario::Watch {
        config,
        policy: policy(),
        config_path,
        _dir: dir,
    };
    let mut daemon = Daemon::start(&watch, &[], &[("NOTIFY_SOCKET", &socket_env)]);
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no READY=1; log:\n{}",
            daemon.log()
        );
        if let Ok(n) = socket.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n]).contains("READY=1")
        {
            break;
        }
    }
    let (status, body) = http(addr, "GET", "/healthz", &[], b"");
    assert_eq!((status, body.as_slice()), (200, b"ok\n".as_slice()));
    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(20)).0.success());
}

/// A request that takes longer than `[api] request_timeout_secs` is
/// answered 503 in JSON, and counted under its route.
#[test]
fn a_request_over_the_timeout_is_503_json() {
    use axum::routing::get;
    let db = crate::support::sqlite();
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.api.request_timeout_secs = std::num::NonZeroU64::new(1).expect("1");
    let api = Api::with_config(config);
    let routes = axum::Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let app = siteward::api::limited(routes, siteward::api::ApiState::new(api.app.clone()));
    let listener = api
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    api.runtime
        .spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    let (status, body) = http(addr, "GET", "/slow", &[], b"");
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert!(started.elapsed() < Duration::from_secs(4));
    let error: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("request_timeout_secs"),
        "{error}"
    );
    let metrics = api.send("GET", "/metrics", None, None).expect(200).text();
    assert_eq!(
        value(
            &metrics,
            "siteward_api_requests_total",
            &["route=\"/slow\"", "status=\"503\""]
        ),
        Some(1.0),
        "{metrics}"
    );
}
