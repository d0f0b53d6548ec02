//! The TLS probe against real TLS servers on loopback: every verdict, the
//! chain captured even when invalid, and hostile servers that end at the
//! deadline with a clear outcome.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use siteward::probe::tls::{HandshakeFailure, TlsProbe, TlsVerdict};
use siteward::registry::Hostname;
use siteward::sim::tls::{
    Hostile, SniResolver, TestCa, days_from_now, fixtures, foreign_chain, pem_chain, self_signed,
    serve_hostile,
};
use siteward::sim::web::{Pages, serve_web};

const ANY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

fn host(name: &str) -> Hostname {
    name.parse().expect("host name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict() {
    let ca = TestCa::new("siteward test root").expect("ca");
    let rogue = TestCa::new("rogue root").expect("rogue");
    let mut resolver = SniResolver::default();
    let mut add = |sni: &str, chain| resolver.add(sni, &chain).expect(sni);
    add(
        "valid.gov.test",
        ca.valid(&["valid.gov.test"]).expect("valid"),
    );
    add(
        "expired.gov.test",
        ca.issue(&["expired.gov.test"], days_from_now(-90), days_from_now(-1))
            .expect("expired"),
    );
    add(
        "future.gov.test",
        ca.issue(&["future.gov.test"], days_from_now(1), days_from_now(90))
            .expect("future"),
    );
    add(
        "wrong.gov.test",
        ca.valid(&["other.gov.test"]).expect("wrong"),
    );
    add(
        "untrusted.gov.test",
        rogue.valid(&["untrusted.gov.test"]).expect("untrusted"),
    );
    add(
        "selfsigned.gov.test",
        self_signed(&["selfsigned.gov.test"]).expect("self-signed"),
    );
    add(
        "sm2.gov.test",
        foreign_chain(&[fixtures::SM2_LEAF, fixtures::SM2_CA]).expect("sm2"),
    );
    add(
        "sha1.gov.test",
        pem_chain(
            &[fixtures::SHA1_LEAF, fixtures::RSA_CA],
            fixtures::SHA1_LEAF_KEY,
        )
        .expect("sha1"),
    );
    add(
        "weak-rsa.gov.test",
        foreign_chain(&[fixtures::RSA1024_LEAF, fixtures::RSA_CA]).expect("rsa1024"),
    );
    add(
        "rsa.gov.test",
        pem_chain(
            &[fixtures::RSA2048_LEAF, fixtures::RSA_CA],
            fixtures::RSA2048_LEAF_KEY,
        )
        .expect("rsa"),
    );
    let server = serve_web(ANY, Pages::default(), Some(resolver))
        .await
        .expect("tls server");
    let roots = vec![
        ("test root".to_string(), ca.pem()),
        ("rsa root".to_string(), fixtures::RSA_CA.to_string()),
    ];
    let probe = TlsProbe::with_roots(&roots, true, Duration::from_secs(5)).expect("probe");
    let cases: &[(&str, &str)] = &[
        ("valid.gov.test", "valid"),
        ("rsa.gov.test", "valid"),
        ("expired.gov.test", "expired"),
        ("future.gov.test", "not_yet_valid"),
        ("wrong.gov.test", "hostname_mismatch"),
        ("untrusted.gov.test", "untrusted"),
        ("selfsigned.gov.test", "self_signed"),
        ("sm2.gov.test", "sm2"),
        ("sha1.gov.test", "weak"),
        ("weak-rsa.gov.test", "weak"),
        // No certificate for this name: the server refuses the handshake.
        ("nobody.gov.test", "handshake_failed"),
    ];
    for (name, verdict) in cases {
        let observed = probe.probe(server.addr, &host(name)).await;
        assert_eq!(
            observed.verdict.name(),
            *verdict,
            "{name}: {:?}",
            observed.verdict
        );
        // The handshake that keeps its connection for the page judges the
        // same, and keeps it only when the handshake itself succeeded.
        let (kept, stream) = probe.probe_and_keep(server.addr, &host(name)).await;
        assert_eq!(kept.verdict, observed.verdict, "{name}");
        assert_eq!(kept.chain, observed.chain, "{name}");
        let usable = matches!(
            *verdict,
            "valid"
                | "expired"
                | "not_yet_valid"
                | "hostname_mismatch"
                | "untrusted"
                | "self_signed"
        ) || *name == "sha1.gov.test";
        assert_eq!(stream.is_some(), usable, "{name}");
        if *verdict != "handshake_failed" {
            // The chain is captured even when the verdict is bad.
            assert!(!observed.chain.is_empty(), "{name}: no chain");
        }
    }
    let valid = probe.probe(server.addr, &host("valid.gov.test")).await;
    let leaf = &valid.chain[0];
    assert_eq!(leaf.dns_names, ["valid.gov.test"]);
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(leaf.curve.as_deref(), Some("P-256"));
    assert!(leaf.not_after > chrono::Utc::now() + chrono::Duration::days(80));
    assert_eq!(valid.chain.len(), 2);
    assert!(
        valid.protocol.as_deref().is_some_and(|p| p == "TLSv1.3"),
        "{:?}",
        valid.protocol
    );
    let sm2 = probe.probe(server.addr, &host("sm2.gov.test")).await;
    assert_eq!(sm2.chain[0].signature_algorithm, "SM2-with-SM3");
    assert_eq!(sm2.chain[0].curve.as_deref(), Some("SM2"));
    let weak = probe.probe(server.addr, &host("weak-rsa.gov.test")).await;
    assert!(
        matches!(&weak.verdict, TlsVerdict::Weak { reason } if reason.contains("RSA-1024")),
        "{:?}",
        weak.verdict
    );
    let sha1 = probe.probe(server.addr, &host("sha1.gov.test")).await;
    assert!(
        matches!(&sha1.verdict, TlsVerdict::Weak { reason } if reason.contains("sha1WithRSA")),
        "{:?}",
        sha1.verdict
    );
    // A 100 KB chain: refused by rustls before any verdict, reported.
    let leaf = ca.valid(&["big.gov.test"]).expect("leaf");
    let mut big_resolver = SniResolver::default();
    big_resolver
        .add(
            "big.gov.test",
            &siteward::sim::tls::padded_chain(&leaf, 10, 10_000).expect("100 KB chain"),
        )
        .expect("add");
    let big_server = serve_web(ANY, Pages::default(), Some(big_resolver))
        .await
        .expect("big server");
    let big = probe.probe(big_server.addr, &host("big.gov.test")).await;
    assert!(
        matches!(
            big.verdict,
            TlsVerdict::HandshakeFailed {
                reason: HandshakeFailure::Oversized,
                ..
            }
        ),
        "{:?}",
        big.verdict
    );
    // Without the test root, the same valid chain is untrusted.
    let public_only = TlsProbe::with_roots(&[], true, Duration::from_secs(5)).expect("probe");
    let untrusted = public_only
        .probe(server.addr, &host("valid.gov.test"))
        .await;
    assert_eq!(untrusted.verdict.name(), "untrusted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_end_with_a_clear_outcome() {
    let probe = TlsProbe::with_roots(&[], true, Duration::from_millis(400)).expect("probe");
    let cases = [
        (Hostile::Silent, HandshakeFailure::Timeout),
        (Hostile::PlainHttp, HandshakeFailure::NoTls),
        (Hostile::Close, HandshakeFailure::NoTls),
        (Hostile::Tls10, HandshakeFailure::ProtocolTooOld),
    ];
    for (behaviour, expected) in cases {
        let server = serve_hostile(ANY, behaviour).await.expect("hostile server");
        let started = Instant::now();
        let observed = probe.probe(server.addr, &host("www.gansu.gov.cn")).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{behaviour:?} took {:?}",
            started.elapsed()
        );
        match observed.verdict {
            TlsVerdict::HandshakeFailed { reason, .. } => {
                assert_eq!(reason, expected, "{behaviour:?}")
            }
            other => panic!("{behaviour:?}: {other:?}"),
        }
    }
    // A port where nothing listens.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let observed = probe.probe(closed, &host("www.gansu.gov.cn")).await;
    assert!(
        matches!(
            observed.verdict,
            TlsVerdict::HandshakeFailed {
                reason: HandshakeFailure::NoTls,
                ..
            }
        ),
        "{:?}",
        observed.verdict
    );
}

/// Text that shows a Rust value rather than words: a struct or an enum
/// with fields (`{`, `Other(`), or a variant name (`CaUsedAsEndEntity`,
/// `HandshakeFailure`: a lower-case letter followed by a capital).
fn debug_shaped(text: &str) -> bool {
    text.contains('{')
        || text.contains("Other(")
        || text.contains("Error(")
        || text
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
}

/// Why a handshake failed or a chain is not trusted is told in words,
/// never as rustls's or webpki's enums: a CA certificate presented as
/// the server's own (which rustls reports as
/// `Other(OtherError(CaUsedAsEndEntity))`), a refused handshake (an
/// alert rustls prints as `HandshakeFailure`), and every hostile server;
/// and a failed handshake names the address and port it was tried on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_told_in_words_with_the_port_used() {
    use siteward::probe::words::CertProblem;
    let ca = TestCa::new("siteward test root").expect("ca");
    let mut resolver = SniResolver::default();
    resolver
        .add(
            "ca-leaf.gov.test",
            &ca.ca_as_leaf(&["ca-leaf.gov.test"]).expect("CA as leaf"),
        )
        .expect("add");
    let server = serve_web(ANY, Pages::default(), Some(resolver))
        .await
        .expect("tls server");
    let roots = vec![("test root".to_string(), ca.pem())];
    let probe = TlsProbe::with_roots(&roots, true, Duration::from_secs(5)).expect("probe");

    let observed = probe.probe(server.addr, &host("ca-leaf.gov.test")).await;
    assert_eq!(observed.port, Some(server.addr.port()));
    match &observed.verdict {
        TlsVerdict::Untrusted { reason } => {
            assert_eq!(reason, CertProblem::CaUsedAsEndEntity.words());
            assert!(!debug_shaped(reason), "{reason}");
        }
        other => panic!("a CA as the leaf: {other:?}"),
    }
    let (kept, _) = probe
        .probe_and_keep(server.addr, &host("ca-leaf.gov.test"))
        .await;
    assert_eq!(kept.verdict, observed.verdict);

    // No certificate for the name: the server refuses with an alert.
    let refused = probe.probe(server.addr, &host("nobody.gov.test")).await;
    let expected = format!("TLS handshake with {} failed: ", server.addr);
    match &refused.verdict {
        TlsVerdict::HandshakeFailed { detail, .. } => {
            assert!(detail.starts_with(&expected), "{detail}");
            assert!(!debug_shaped(detail), "{detail}");
        }
        other => panic!("no certificate for the name: {other:?}"),
    }

    let quick = TlsProbe::with_roots(&[], true, Duration::from_millis(400)).expect("probe");
    for behaviour in [
        Hostile::Silent,
        Hostile::PlainHttp,
        Hostile::Close,
        Hostile::Tls10,
    ] {
        let hostile = serve_hostile(ANY, behaviour).await.expect("hostile server");
        for observed in [
            quick.probe(hostile.addr, &host("www.gansu.gov.cn")).await,
            quick
                .probe_and_keep(hostile.addr, &host("www.gansu.gov.cn"))
                .await
                .0,
        ] {
            let TlsVerdict::HandshakeFailed { detail, .. } = &observed.verdict else {
                panic!("{behaviour:?}: {:?}", observed.verdict);
            };
            let expected = format!("TLS handshake with {} failed: ", hostile.addr);
            assert!(detail.starts_with(&expected), "{behaviour:?}: {detail}");
            assert!(!debug_shaped(detail), "{behaviour:?}: {detail}");
        }
    }
}

/// A homepage that cannot be fetched says, for HTTPS and HTTP, the
/// address and port tried and why in words: the simulated world's ports
/// are not 443 and 80, and neither may be an office's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_page_names_the_ports_tried() {
    use siteward::probe::http::{PageOutcome, PageProbe, PageSettings};
    let closed = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let http = closed();
    for behaviour in [Hostile::Tls10, Hostile::Close, Hostile::PlainHttp] {
        let https = serve_hostile(ANY, behaviour).await.expect("hostile server");
        let probe = PageProbe::new(PageSettings {
            deadline: Duration::from_secs(2),
            https_port: https.addr.port(),
            http_port: http.port(),
            ..PageSettings::default()
        });
        match probe
            .homepage(&host("www.gansu.gov.cn"), IpAddr::V4(Ipv4Addr::LOCALHOST))
            .await
        {
            PageOutcome::Unreachable {
                https: https_why,
                http: http_why,
            } => {
                assert!(
                    https_why.starts_with(&format!("TLS handshake with {} failed: ", https.addr)),
                    "{behaviour:?}: {https_why}"
                );
                assert!(!debug_shaped(&https_why), "{behaviour:?}: {https_why}");
                assert_eq!(
                    http_why,
                    format!("cannot connect to {http}: connection refused"),
                    "{behaviour:?}"
                );
            }
            other => panic!("{behaviour:?}: {other:?}"),
        }
    }
}

/// An extra root that cannot be read is named with the reason in words,
/// said once.
#[test]
fn an_unreadable_extra_root_is_named() {
    let missing = std::path::PathBuf::from("/nonexistent/region-ca.pem");
    let error = TlsProbe::new(std::slice::from_ref(&missing), Duration::from_secs(1))
        .expect_err("no such file");
    assert_eq!(
        error.to_string(),
        "cannot read extra root /nonexistent/region-ca.pem: no such file"
    );
    assert!(std::error::Error::source(&error).is_none());
}

/// A webhook whose server presents a CA certificate as its own is
/// refused in words, for the outbox's last error: not rustls's
/// `Other(OtherError(CaUsedAsEndEntity))`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhooks_tls_failure_is_told_in_words() {
    let ca = TestCa::new("siteward test root").expect("ca");
    let mut resolver = SniResolver::default();
    resolver
        .add(
            "localhost",
            &ca.ca_as_leaf(&["localhost"]).expect("CA as leaf"),
        )
        .expect("add");
    let server = serve_web(ANY, Pages::default(), Some(resolver))
        .await
        .expect("tls server");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("ca.pem");
    std::fs::write(&root, ca.pem()).expect("write");
    let client = siteward::alerts::webhook::Client::new(
        std::slice::from_ref(&root),
        "siteward-test".into(),
        Duration::from_secs(5),
    )
    .expect("client");
    let url = format!("https://localhost:{}/hook", server.addr.port());
    let error = client
        .post(&url, "{}", "key-1", None)
        .await
        .expect_err("no usable certificate");
    assert_eq!(
        error,
        format!(
            "TLS with localhost:{} failed: certificate refused: {}",
            server.addr.port(),
            siteward::probe::words::CertProblem::CaUsedAsEndEntity.words()
        )
    );
    assert!(!debug_shaped(&error), "{error}");
}
