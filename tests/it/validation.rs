//! Validation of values that enter from outside, as tables of cases with
//! real codes and the placeholders seen in the wild.

use siteward::policy::Policy;
use siteward::registry::{DivisionCode, Hostname, SiteCode, check_icp, check_psb};

#[test]
fn site_codes() {
    // (input, accepted, the rule a rejection must name)
    let cases: &[(&str, bool, &str)] = &[
        ("bm01000001", true, ""),
        ("2109000022", true, ""),
        ("6200000001", true, ""),
        ("4412910009", true, ""),
        ("6190000001", true, ""),
        (" 6200000001 ", true, ""),
        ("1234567890", false, "placeholder"),
        ("0000000000", false, "placeholder"),
        ("bm12345678", false, "placeholder"),
        ("32010000XX", false, "must be 10 digits"),
        ("500xxxxxxx", false, "must be 10 digits"),
        ("3610782", false, "10 digits"),
        ("bm236554412", false, "exactly 8 digits"),
        ("BM01000001", false, "must be 10 digits"),
        ("", false, "10 digits"),
    ];
    for (input, accepted, rule) in cases {
        match input.parse::<SiteCode>() {
            Ok(code) => {
                assert!(accepted, "{input:?} was accepted");
                assert_eq!(code.as_str(), input.trim());
            }
            Err(e) => {
                assert!(!accepted, "{input:?} was rejected: {e}");
                assert_eq!(e.field, "code");
                assert_eq!(e.value, *input);
                assert!(
                    e.to_string().contains(rule),
                    "{input:?}: `{e}` lacks `{rule}`"
                );
            }
        }
    }
}

#[test]
fn site_code_advisories() {
    let policy = Policy::built_in();
    let table = &policy.divisions;
    let division = |d: &str| d.parse::<DivisionCode>().expect("division");
    // (code, organizer division, expected warning substring or none)
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("6200000001", Some("620000"), None),
        ("6200000001", None, None),
        ("bm01000001", Some("110000"), None),
        ("2109000022", Some("210900"), None),
        // Development zones carry prefixes in no official list.
        ("4412910009", Some("441200"), Some("in no division table")),
        ("6190000001", None, Some("in no division table")),
        // A statistics-bureau code (a development zone) is known.
        ("1301710001", Some("130171"), None),
        (
            "6200000001",
            Some("110000"),
            Some("does not match the organizer's division 110000"),
        ),
        // 崇文区 (110103) was merged into 东城区 (110101) in 2010: an old
        // code keeps its prefix and still matches its successor.
        ("1101030001", Some("110101"), None),
        ("1101030001", Some("110102"), Some("does not match")),
    ];
    for (code, org_division, expected) in cases {
        let code: SiteCode = code.parse().expect("valid code");
        let warnings = code.advisories(table, org_division.map(division).as_ref());
        match expected {
            None => assert!(warnings.is_empty(), "{code}: unexpected {warnings:?}"),
            Some(text) => {
                assert_eq!(warnings.len(), 1, "{code}: {warnings:?}");
                assert!(
                    warnings[0].message.contains(text),
                    "{code}: {:?}",
                    warnings[0]
                );
            }
        }
    }
}

#[test]
fn division_codes() {
    for good in ["620000", "110101", "130171"] {
        assert!(good.parse::<DivisionCode>().is_ok(), "{good}");
    }
    for bad in ["62000", "6200001", "62000a", "000000", ""] {
        let e = bad.parse::<DivisionCode>().expect_err(bad);
        assert_eq!(e.field, "division");
    }
    let table = &Policy::built_in().divisions;
    assert!(
        table.len() > 6_000,
        "the division table has {} codes",
        table.len()
    );
    assert_eq!(table.name(&"620000".parse().expect("code")), Some("甘肃省"));
}

#[test]
fn hostnames() {
    let cases: &[(&str, Option<&str>)] = &[
        ("www.gansu.gov.cn", Some("www.gansu.gov.cn")),
        ("WWW.Gansu.GOV.CN.", Some("www.gansu.gov.cn")),
        ("中国政府网.政务", Some("xn--fiqs8sirgfmhq98a.xn--zfr164b")),
        ("slj.bd.gov.cn", Some("slj.bd.gov.cn")),
        ("", None),
        ("a..gov.cn", None),
        ("-a.gov.cn", None),
        ("a-.gov.cn", None),
        ("a_b.gov.cn", None),
        ("localhost", None),
        ("1.2.3.4", None),
        ("www.gansu.gov.cn:8080", None),
        ("https://www.gansu.gov.cn/", None),
    ];
    for (input, expected) in cases {
        match (input.parse::<Hostname>(), expected) {
            (Ok(host), Some(expected)) => assert_eq!(host.as_str(), *expected),
            (Err(e), None) => {
                assert_eq!(e.field, "hostname");
                assert_eq!(e.value, *input);
            }
            (result, _) => panic!("{input:?}: {result:?}"),
        }
    }
    let from_url = |raw: &str| Hostname::from_url_or_host(raw).map(|h| h.to_string());
    assert_eq!(
        from_url("https://www.gansu.gov.cn/col/index.html").as_deref(),
        Ok("www.gansu.gov.cn")
    );
    assert_eq!(
        from_url("www.gansu.gov.cn/index.html").as_deref(),
        Ok("www.gansu.gov.cn")
    );
    assert!(from_url("http://").is_err());
}

#[test]
fn allowed_suffixes() {
    let policy = Policy::built_in();
    let cases: &[(&str, bool)] = &[
        ("www.gansu.gov.cn", true),
        ("slj.bd.gov.cn", true),
        ("中国政府网.政务", true),
        ("gov.cn", false),
        ("xgov.cn", false),
        ("www.jinan.cn", false),
        ("www.gansu.gov.cn.evil.com", false),
        ("www.example.com", false),
    ];
    for (host, allowed) in cases {
        let host: Hostname = host.parse().expect("valid host name");
        assert_eq!(policy.allowed_suffixes.allows(&host), *allowed, "{host}");
    }
}

#[test]
fn filings() {
    for good in [
        "陇ICP备05001234号",
        "京ICP备05070218号-1",
        "甘ICP备2021000123号",
    ] {
        assert_eq!(check_icp(good), None, "{good}");
    }
    for bad in ["ICP备05001234号", "陇ICP备号", "陇ICP05001234号", "abc"] {
        let warning = check_icp(bad).expect(bad);
        assert_eq!(warning.field, "icp");
        assert!(warning.message.contains("stored as given"));
    }
    assert_eq!(check_psb("甘公网安备62010202000001号"), None);
    for bad in [
        "甘公网安备6201号",
        "公网安备62010202000001号",
        "甘公网安备62010202000001",
    ] {
        assert_eq!(check_psb(bad).expect(bad).field, "psb");
    }
}
