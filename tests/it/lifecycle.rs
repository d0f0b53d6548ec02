//! Every allowed and forbidden transition of sites and accounts, on every
//! backend, with the audit row each change writes (and a refused change
//! does not).

use siteward::registry::lifecycle::{AccountAction, SiteAction, SiteEdit};
use siteward::registry::{
    AccountStatus, DomainState, Hostname, OrgLevel, Platform, SiteKind, SiteStatus,
};
use siteward::store::{AuditFilter, ExceptionGrant, NewAccount, SiteRequest, Store, StoreError};

use crate::support::{self, add_org, backends, change, day, policy};

const ORG: &str = "甘肃省人民政府";

fn host(name: &str) -> Hostname {
    name.parse().expect("host name")
}

fn request(store: &mut Store, domain: &str, day_n: i64) -> i64 {
    store
        .request_site(
            &SiteRequest {
                name: format!("{domain} 网站"),
                org: ORG.to_string(),
                kind: SiteKind::Department,
                domains: vec![host(domain)],
                code: None,
                icp_filing: None,
                psb_filing: None,
                exception: None,
            },
            &policy(),
            &change(day_n),
        )
        .expect("request")
        .value
        .id
}

/// The actions that lead from `requested` to `status`, with their days.
fn path_to(status: SiteStatus, code: &str) -> Vec<(SiteAction, i64)> {
    let approve = (
        SiteAction::Approve {
            reference: "甘政办函〔2026〕12号".into(),
        },
        1,
    );
    let live = (
        SiteAction::GoLive {
            code: Some(code.parse().expect("code")),
        },
        2,
    );
    let retire = (
        SiteAction::Retire {
            reference: "甘政办函〔2026〕40号".into(),
            successor_url: None,
        },
        4,
    );
    let offline = (SiteAction::Offline, 40);
    match status {
        SiteStatus::Requested => vec![],
        SiteStatus::Approved => vec![approve],
        SiteStatus::Rejected => vec![(
            SiteAction::Reject {
                reason: "重复建设".into(),
            },
            1,
        )],
        SiteStatus::Live => vec![approve, live],
        SiteStatus::Suspended => vec![
            approve,
            live,
            (
                SiteAction::Suspend {
                    reason: "整改".into(),
                },
                3,
            ),
        ],
        SiteStatus::Retiring => vec![approve, live, retire],
        SiteStatus::Offline => vec![approve, live, retire, offline],
        SiteStatus::Closed => vec![approve, live, retire, offline, (SiteAction::Close, 50)],
    }
}

fn actions(code: &str) -> Vec<SiteAction> {
    vec![
        SiteAction::Approve {
            reference: "甘政办函〔2026〕99号".into(),
        },
        SiteAction::Reject {
            reason: "不符合集约化要求".into(),
        },
        SiteAction::GoLive {
            code: Some(code.parse().expect("code")),
        },
        SiteAction::Suspend {
            reason: "安全整改".into(),
        },
        SiteAction::Resume,
        SiteAction::Retire {
            reference: "甘政办函〔2026〕98号".into(),
            successor_url: Some("https://www.gansu.gov.cn/".into()),
        },
        SiteAction::Offline,
        SiteAction::Close,
    ]
}

/// The lifecycle table: from which states each action is allowed,
/// and where it leads.
fn expected(status: SiteStatus, action: &SiteAction) -> Option<SiteStatus> {
    use SiteStatus::*;
    match (action, status) {
        (SiteAction::Approve { .. }, Requested) => Some(Approved),
        (SiteAction::Reject { .. }, Requested) => Some(Rejected),
        (SiteAction::GoLive { .. }, Approved) => Some(Live),
        (SiteAction::Suspend { .. }, Live) => Some(Suspended),
        (SiteAction::Resume, Suspended) => Some(Live),
        (SiteAction::Retire { .. }, Live | Suspended) => Some(Retiring),
        (SiteAction::Offline, Retiring) => Some(Offline),
        (SiteAction::Close, Offline) => Some(Closed),
        _ => None,
    }
}

#[test]
fn every_site_transition() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, ORG, "620000", OrgLevel::Province);
        let mut counter = 10;
        for status in SiteStatus::ALL {
            for action in actions(&format!("62010000{}", counter + 1)) {
                counter += 1;
                let domain = format!("s{counter}.gansu.gov.cn");
                let code = format!("62000000{counter}");
                let id = request(&mut store, &domain, 0);
                for (step, day_n) in path_to(*status, &code) {
                    store
                        .transition_site(&id.to_string(), &step, &policy(), &change(day_n))
                        .unwrap_or_else(|e| panic!("{}: path to {status}: {e}", db.backend));
                }
                let before = store.site(&id.to_string()).expect("site");
                assert_eq!(before.status, *status);
                let audit_before = store.audit(&AuditFilter::default()).expect("audit").len();
                let result = store.transition_site(&domain, &action, &policy(), &change(100));
                let audit_after = store.audit(&AuditFilter::default()).expect("audit");
                match (expected(*status, &action), result) {
                    (Some(next), Ok(outcome)) => {
                        assert_eq!(
                            outcome.value.status,
                            next,
                            "{status} --{}-->",
                            action.name()
                        );
                        assert_eq!(store.site(&domain).expect("site").status, next);
                        assert_eq!(audit_after.len(), audit_before + 1);
                        let row = audit_after.last().expect("audit row");
                        assert_eq!(row.action, action.name());
                        assert_eq!(row.actor, "tester");
                        assert_eq!(row.entity_id, id);
                        assert_eq!(row.effective_at, day(100));
                        assert_eq!(row.reason.as_deref(), action.reason());
                        assert_eq!(
                            row.before.as_ref().expect("before")["status"],
                            status.as_str()
                        );
                        assert_eq!(row.after.as_ref().expect("after")["status"], next.as_str());
                    }
                    (None, Err(e)) => {
                        assert!(e.is_user_error(), "{}: {e}", db.backend);
                        let message = e.to_string();
                        assert!(
                            message.contains(&format!("it is {status}")),
                            "{status} --{}--> message `{message}` lacks the state",
                            action.name()
                        );
                        // Nothing changed, and nothing was audited.
                        assert_eq!(store.site(&id.to_string()).expect("site"), before);
                        assert_eq!(audit_after.len(), audit_before, "{message}");
                    }
                    (expected, result) => panic!(
                        "{}: {status} --{}--> expected {expected:?}, got {result:?}",
                        db.backend,
                        action.name()
                    ),
                }
            }
        }
    }
}

#[test]
fn forbidden_transition_names_state_and_allowed_actions() {
    let db = support::sqlite();
    let mut store = db.open();
    add_org(&mut store, ORG, "620000", OrgLevel::Province);
    request(&mut store, "www.gansu.gov.cn", 0);
    let error = store
        .transition_site(
            "www.gansu.gov.cn",
            &SiteAction::Close,
            &policy(),
            &change(1),
        )
        .expect_err("close from requested");
    assert_eq!(
        error.to_string(),
        "cannot close site 1 (www.gansu.gov.cn): it is requested; allowed from requested: approve, reject, edit"
    );
}

#[test]
fn go_live_needs_a_code_and_keeps_it_unique() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, ORG, "620000", OrgLevel::Province);
        let first = request(&mut store, "www.gansu.gov.cn", 0);
        let second = request(&mut store, "data.gansu.gov.cn", 0);
        for id in [first, second] {
            store
                .transition_site(
                    &id.to_string(),
                    &SiteAction::Approve {
                        reference: "甘政办函〔2026〕12号".into(),
                    },
                    &policy(),
                    &change(1),
                )
                .expect("approve");
        }
        let error = store
            .transition_site(
                &first.to_string(),
                &SiteAction::GoLive { code: None },
                &policy(),
                &change(2),
            )
            .expect_err("no code");
        assert!(error.to_string().contains("identifier code"), "{error}");
        let code = || Some("6200000001".parse().expect("code"));
        store
            .transition_site(
                &first.to_string(),
                &SiteAction::GoLive { code: code() },
                &policy(),
                &change(2),
            )
            .expect("go live");
        let error = store
            .transition_site(
                &second.to_string(),
                &SiteAction::GoLive { code: code() },
                &policy(),
                &change(2),
            )
            .expect_err("code in use");
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");
        assert!(
            error.to_string().contains("already used by site 1"),
            "{error}"
        );
        // The site is found by its code, its host name and its id.
        for key in [
            "6200000001",
            "www.gansu.gov.cn",
            "WWW.GANSU.GOV.CN",
            "1",
            "https://www.gansu.gov.cn/",
        ] {
            assert_eq!(store.site(key).expect(key).id, first, "{key}");
        }
        // A code whose prefix is not the organizer's division is accepted
        // with a warning.
        let outcome = store
            .transition_site(
                &second.to_string(),
                &SiteAction::GoLive {
                    code: Some("1100000002".parse().expect("code")),
                },
                &policy(),
                &change(2),
            )
            .expect("mismatched prefix is a warning");
        assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
        let audit = store
            .audit(&AuditFilter {
                site: Some(second.to_string()),
                ..AuditFilter::default()
            })
            .expect("audit");
        assert_eq!(audit.last().expect("row").warnings, outcome.warnings);
    }
}

#[test]
fn retirement_notice_release_and_reuse() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, ORG, "620000", OrgLevel::Province);
        let id = request(&mut store, "old.gansu.gov.cn", 0);
        for (action, day_n) in path_to(SiteStatus::Retiring, "6200000005") {
            store
                .transition_site(&id.to_string(), &action, &policy(), &change(day_n))
                .expect("path");
        }
        let site = store.site("old.gansu.gov.cn").expect("site");
        assert_eq!(site.times.notice_until, Some(day(4 + 30)));
        // The closure notice stays up 30 days: offline on day 20 is refused.
        let error = store
            .transition_site(
                "old.gansu.gov.cn",
                &SiteAction::Offline,
                &policy(),
                &change(20),
            )
            .expect_err("notice period");
        assert!(error.to_string().contains("notice"), "{error}");
        assert!(error.is_user_error());
        // Events are recorded in order.
        let error = store
            .transition_site(
                "old.gansu.gov.cn",
                &SiteAction::Offline,
                &policy(),
                &change(3),
            )
            .expect_err("out of order");
        assert!(error.to_string().contains("before"), "{error}");
        store
            .transition_site(
                "old.gansu.gov.cn",
                &SiteAction::Offline,
                &policy(),
                &change(34),
            )
            .expect("offline");
        let site = store.site("old.gansu.gov.cn").expect("site");
        assert_eq!(site.domains[0].state, DomainState::Releasing);
        assert_eq!(site.domains[0].release_deadline, Some(day(34 + 30)));
        // A releasing host name still belongs to its site.
        let error = store
            .request_site(&new_request("old.gansu.gov.cn"), &policy(), &change(35))
            .expect_err("host name held");
        assert!(
            error
                .to_string()
                .contains("already held (releasing) by site"),
            "{error}"
        );
        store
            .transition_site(
                "old.gansu.gov.cn",
                &SiteAction::Close,
                &policy(),
                &change(60),
            )
            .expect("close");
        let site = store.site(&id.to_string()).expect("site");
        assert_eq!(site.domains[0].state, DomainState::Released);
        assert_eq!(site.domains[0].released_at, Some(day(60)));
        // Once released, the name and the code may be used again.
        let reused = store
            .request_site(&new_request("old.gansu.gov.cn"), &policy(), &change(61))
            .expect("reuse");
        assert_ne!(reused.value.id, id);
        assert_eq!(
            store.site("old.gansu.gov.cn").expect("held one wins").id,
            reused.value.id
        );
        // The closed site is still there: nothing is deleted.
        assert_eq!(
            store.site(&id.to_string()).expect("closed site").status,
            SiteStatus::Closed
        );
    }
}

fn new_request(domain: &str) -> SiteRequest {
    SiteRequest {
        name: "新网站".into(),
        org: ORG.into(),
        kind: SiteKind::Special,
        domains: vec![host(domain)],
        code: None,
        icp_filing: None,
        psb_filing: None,
        exception: None,
    }
}

#[test]
fn rejected_request_releases_its_host_names() {
    let db = support::sqlite();
    let mut store = db.open();
    add_org(&mut store, ORG, "620000", OrgLevel::Province);
    request(&mut store, "new.gansu.gov.cn", 0);
    store
        .transition_site(
            "new.gansu.gov.cn",
            &SiteAction::Reject {
                reason: "重复建设".into(),
            },
            &policy(),
            &change(1),
        )
        .expect("reject");
    assert_eq!(
        store.site("new.gansu.gov.cn").expect("site").domains[0].state,
        DomainState::Released
    );
    store
        .request_site(&new_request("new.gansu.gov.cn"), &policy(), &change(2))
        .expect("name free again");
}

#[test]
fn host_names_outside_allowed_suffixes_need_an_exception() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, "济南市人民政府", "370100", OrgLevel::Prefecture);
        let mut request = SiteRequest {
            name: "济南市人民政府门户网站".into(),
            org: "济南市人民政府".into(),
            kind: SiteKind::Portal,
            domains: vec![host("www.jinan.cn")],
            code: None,
            icp_filing: None,
            psb_filing: None,
            exception: None,
        };
        let error = store
            .request_site(&request, &policy(), &change(0))
            .expect_err("not allowed");
        assert_eq!(
            error.to_string(),
            "hostname `www.jinan.cn` is not under an allowed suffix (.gov.cn, .政务 (xn--zfr164b)); \
             to register it anyway, record a comply-or-explain exception with --exception REASON --until DATE"
        );
        assert!(store.sites(&Default::default()).expect("sites").is_empty());
        // An exception that has already expired waives nothing.
        request.exception = Some(ExceptionGrant {
            reason: "历史域名".into(),
            until: day(-1),
        });
        let now = siteward::store::Change::at("tester", day(0));
        assert!(store.request_site(&request, &policy(), &now).is_err());
        request.exception = Some(ExceptionGrant {
            reason: "历史域名，迁移至 www.jinan.gov.cn 前保留".into(),
            until: chrono::Utc::now() + chrono::Duration::days(180),
        });
        store
            .request_site(&request, &policy(), &change(0))
            .expect("with exception");
        let exceptions = store.exceptions().expect("exceptions");
        assert_eq!(exceptions.len(), 1);
        assert_eq!(exceptions[0].subject, "www.jinan.cn");
        assert_eq!(exceptions[0].actor, "tester");
        let audit = store.audit(&AuditFilter::default()).expect("audit");
        assert!(
            audit
                .iter()
                .any(|row| row.entity == "exception" && row.action == "add")
        );
    }
}

#[test]
fn site_edit_domains() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, ORG, "620000", OrgLevel::Province);
        request(&mut store, "www.gansu.gov.cn", 0);
        let edit = SiteEdit {
            add_aliases: vec![host("gansu.gov.cn"), host("甘肃省.政务")],
            ..SiteEdit::default()
        };
        let site = store
            .edit_site("www.gansu.gov.cn", &edit, None, &policy(), &change(1))
            .expect("edit")
            .value;
        assert_eq!(site.domains.len(), 3);
        // The primary cannot be released before another is primary.
        let release_primary = SiteEdit {
            release: vec![host("www.gansu.gov.cn")],
            ..SiteEdit::default()
        };
        let error = store
            .edit_site(
                "gansu.gov.cn",
                &release_primary,
                None,
                &policy(),
                &change(2),
            )
            .expect_err("primary");
        assert!(error.to_string().contains("primary"), "{error}");
        let swap = SiteEdit {
            primary: Some(host("gansu.gov.cn")),
            release: vec![host("www.gansu.gov.cn")],
            ..SiteEdit::default()
        };
        let site = store
            .edit_site("gansu.gov.cn", &swap, None, &policy(), &change(2))
            .expect("swap")
            .value;
        assert_eq!(
            site.primary().expect("primary").hostname.as_str(),
            "gansu.gov.cn"
        );
        let released = site
            .domains
            .iter()
            .find(|d| d.hostname.as_str() == "www.gansu.gov.cn")
            .expect("kept");
        assert_eq!(released.state, DomainState::Released);
        // An edit that changes nothing writes no audit row.
        let count = store.audit(&AuditFilter::default()).expect("audit").len();
        let noop = SiteEdit {
            name: Some(site.name.clone()),
            ..SiteEdit::default()
        };
        store
            .edit_site("gansu.gov.cn", &noop, None, &policy(), &change(3))
            .expect("no-op");
        assert_eq!(
            store.audit(&AuditFilter::default()).expect("audit").len(),
            count
        );
    }
}

#[test]
fn every_account_transition() {
    for db in backends() {
        let mut store = db.open();
        add_org(&mut store, ORG, "620000", OrgLevel::Province);
        let new = |handle: &str| NewAccount {
            platform: Platform::Weibo,
            account_id: handle.into(),
            name: "甘肃发布".into(),
            org: ORG.into(),
            feed_url: None,
        };
        let cases: &[(AccountStatus, &str, bool)] = &[
            (AccountStatus::Active, "suspend", true),
            (AccountStatus::Active, "resume", false),
            (AccountStatus::Active, "close", true),
            (AccountStatus::Suspended, "suspend", false),
            (AccountStatus::Suspended, "resume", true),
            (AccountStatus::Suspended, "close", true),
            (AccountStatus::Closed, "suspend", false),
            (AccountStatus::Closed, "resume", false),
            (AccountStatus::Closed, "close", false),
        ];
        let action = |name: &str| match name {
            "suspend" => AccountAction::Suspend {
                reason: "整改".into(),
            },
            "resume" => AccountAction::Resume,
            _ => AccountAction::Close {
                reason: "账号整合".into(),
            },
        };
        for (index, (status, name, allowed)) in cases.iter().enumerate() {
            let handle = format!("gansufabu{index}");
            let account = store.add_account(&new(&handle), &change(0)).expect("add");
            let key = format!("weibo:{handle}");
            match status {
                AccountStatus::Active => {}
                AccountStatus::Suspended => {
                    store
                        .transition_account(&key, &action("suspend"), &change(1))
                        .expect("suspend");
                }
                AccountStatus::Closed => {
                    store
                        .transition_account(&key, &action("close"), &change(1))
                        .expect("close");
                }
            }
            let audit_before = store.audit(&AuditFilter::default()).expect("audit").len();
            let result =
                store.transition_account(&account.id.to_string(), &action(name), &change(5));
            let audit_after = store.audit(&AuditFilter::default()).expect("audit").len();
            match result {
                Ok(_) => {
                    assert!(allowed, "{status} --{name}--> was allowed");
                    assert_eq!(audit_after, audit_before + 1);
                }
                Err(e) => {
                    assert!(!allowed, "{status} --{name}-->: {e}");
                    assert!(e.to_string().contains(&format!("it is {status}")), "{e}");
                    assert_eq!(audit_after, audit_before);
                }
            }
        }
        // One platform account id belongs to one account that is not closed.
        store.add_account(&new("gansu"), &change(0)).expect("add");
        let error = store
            .add_account(&new("gansu"), &change(0))
            .expect_err("duplicate");
        assert!(error.to_string().contains("already registered"), "{error}");
        store
            .transition_account("gansu", &action("close"), &change(1))
            .expect("close by handle");
        store
            .add_account(&new("gansu"), &change(2))
            .expect("a closed account frees its id");
        // Posts: only a newer one moves the last-post time.
        store
            .account_seen("weibo:gansu", &change(10))
            .expect("seen");
        store
            .account_seen("weibo:gansu", &change(8))
            .expect("older post");
        assert_eq!(
            store.account("weibo:gansu").expect("account").last_post_at,
            Some(day(10))
        );
    }
}

#[test]
fn postgres_refuses_deletes_too() {
    use diesel::{Connection, RunQueryDsl, pg::PgConnection};
    let Some(db) = support::postgres() else {
        return;
    };
    let mut store = db.open();
    add_org(&mut store, ORG, "620000", OrgLevel::Province);
    request(&mut store, "www.gansu.gov.cn", 0);
    let mut conn = PgConnection::establish(&db.url).expect("connect");
    for statement in [
        "DELETE FROM audit",
        "UPDATE audit SET actor = 'x'",
        "DELETE FROM domains",
        "DELETE FROM sites",
    ] {
        let error = diesel::sql_query(statement)
            .execute(&mut conn)
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only")
                || error.to_string().contains("never deleted"),
            "{error}"
        );
    }
}
