//! The registry's entities: organizations, sites with their domains, and
//! new-media accounts. Plain data; the rules that change them live in
//! [`super::lifecycle`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DivisionCode, Hostname, SiteCode};

/// Declares a closed set of values with their stable lower-case names, used
/// alike by the CLI, the JSON output, the CSV files and the database.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::registry::Invalid;
            fn from_str(raw: &str) -> Result<Self, $crate::registry::Invalid> {
                match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::registry::Invalid::new(
                        // In words (`org level`), never the Rust type's name.
                        &$crate::registry::words_of(stringify!($name)),
                        raw,
                        &format!("must be one of: {}", $name::names()),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

/// A type's name as words for people: `OrgLevel` is `org level`.
pub(crate) fn words_of(type_name: &str) -> String {
    let mut words = String::with_capacity(type_name.len() + 4);
    for (i, c) in type_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                words.push(' ');
            }
            words.push(c.to_ascii_lowercase());
        } else {
            words.push(c);
        }
    }
    words
}

named_enum!(
    /// An organization's administrative level.
    OrgLevel {
        Central = "central",
        Province = "province",
        Prefecture = "prefecture",
        County = "county",
        Township = "township",
    }
);

named_enum!(
    /// 门户网站 / 部门网站 / 专项网站.
    SiteKind {
        Portal = "portal",
        Department = "department",
        Special = "special",
    }
);

named_enum!(
    /// Where a site is in its life; see [`super::lifecycle`].
    SiteStatus {
        Requested = "requested",
        Approved = "approved",
        Rejected = "rejected",
        Live = "live",
        Suspended = "suspended",
        Retiring = "retiring",
        Offline = "offline",
        Closed = "closed",
    }
);

named_enum!(
    DomainRole {
        Primary = "primary",
        Alias = "alias",
    }
);

named_enum!(
    /// `releasing` has a deadline by which the registrar must have
    /// deregistered the name; `released` names belong to nobody.
    DomainState {
        Active = "active",
        Releasing = "releasing",
        Released = "released",
    }
);

named_enum!(
    /// 政务新媒体 platforms.
    Platform {
        WechatService = "wechat_service",
        WechatSubscription = "wechat_subscription",
        WechatChannels = "wechat_channels",
        Weibo = "weibo",
        Douyin = "douyin",
        Toutiao = "toutiao",
        Kuaishou = "kuaishou",
        Bilibili = "bilibili",
        App = "app",
        Other = "other",
    }
);

named_enum!(
    AccountStatus {
        Active = "active",
        Suspended = "suspended",
        Closed = "closed",
    }
);

/// 主办单位: the unit that runs sites and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub division: DivisionCode,
    pub level: OrgLevel,
    /// The parent organization's name.
    pub parent: Option<String>,
    pub emails: Vec<String>,
    pub webhooks: Vec<String>,
}

/// One host name of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// The store's row id; 0 for a host name not stored yet.
    #[serde(skip)]
    pub id: i64,
    pub hostname: Hostname,
    pub role: DomainRole,
    pub state: DomainState,
    /// For `releasing`: when the name must be deregistered by.
    pub release_deadline: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
}

/// The time of each transition a site went through (effective times).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiteTimes {
    pub requested_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub live_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub retiring_at: Option<DateTime<Utc>>,
    /// End of the closure-notice period that starts at retirement.
    pub notice_until: Option<DateTime<Utc>>,
    pub offline_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A government website.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: i64,
    pub code: Option<SiteCode>,
    pub name: String,
    pub kind: SiteKind,
    /// The organizer's name (unique among organizations).
    pub org: String,
    pub status: SiteStatus,
    pub domains: Vec<Domain>,
    pub icp_filing: Option<String>,
    pub psb_filing: Option<String>,
    pub approval_ref: Option<String>,
    pub retirement_ref: Option<String>,
    pub successor_url: Option<String>,
    /// Why the site is suspended or was rejected.
    pub status_reason: Option<String>,
    #[serde(flatten)]
    pub times: SiteTimes,
    /// Effective time of the latest transition.
    pub status_changed_at: DateTime<Utc>,
}

impl Site {
    pub fn primary(&self) -> Option<&Domain> {
        self.domains
            .iter()
            .find(|d| d.role == DomainRole::Primary && d.state != DomainState::Released)
            .or_else(|| self.domains.iter().find(|d| d.role == DomainRole::Primary))
    }

    /// Since when the site is in the registry's history: the earliest of
    /// its recorded times (its request, or for an imported site the time
    /// it was imported as of).
    pub fn since(&self) -> DateTime<Utc> {
        let t = &self.times;
        [
            t.requested_at,
            t.approved_at,
            t.rejected_at,
            t.live_at,
            t.suspended_at,
            t.retiring_at,
            t.offline_at,
            t.closed_at,
        ]
        .into_iter()
        .flatten()
        .chain(std::iter::once(self.status_changed_at))
        .min()
        .unwrap_or(self.status_changed_at)
    }

    pub fn has_host(&self, host: &Hostname) -> bool {
        self.domains.iter().any(|d| &d.hostname == host)
    }
}

/// A government new-media account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: i64,
    pub platform: Platform,
    /// The account's id on its platform.
    pub account_id: String,
    pub name: String,
    pub org: String,
    pub status: AccountStatus,
    pub feed_url: Option<String>,
    pub last_post_at: Option<DateTime<Utc>>,
    pub status_reason: Option<String>,
    pub status_changed_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value not in the set is named with the set's name in words, not
    /// the Rust type's (`OrgLevel`).
    #[test]
    fn a_bad_value_names_the_set_in_words() {
        let error = "mayor".parse::<OrgLevel>().expect_err("not a level");
        assert_eq!(error.field, "org level");
        assert_eq!(
            error.to_string(),
            "org level `mayor` must be one of: central, province, prefecture, county, township"
        );
        let error = "blog".parse::<SiteKind>().expect_err("not a kind");
        assert_eq!(error.field, "site kind");
        let error = "qq".parse::<AccountStatus>().expect_err("not a status");
        assert_eq!(error.field, "account status");
    }
}
