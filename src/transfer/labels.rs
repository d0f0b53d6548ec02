//! The Chinese and English labels of the registry's values in files:
//! files from offices say 门户网站 and 运行中, scripts say `portal` and
//! `live`; both are read, and exports write the language of their headers.

use crate::registry::{AccountStatus, Invalid, OrgLevel, Platform, SiteKind, SiteStatus};

/// The language of an export's headers and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLang {
    Zh,
    En,
}

/// Each value with its Chinese export label first, then other accepted
/// Chinese spellings.
const KINDS: &[(SiteKind, &[&str])] = &[
    (SiteKind::Portal, &["门户网站", "政府门户网站", "门户"]),
    (SiteKind::Department, &["部门网站", "部门"]),
    (SiteKind::Special, &["专项网站", "专项", "专题网站"]),
];

const STATUSES: &[(SiteStatus, &[&str])] = &[
    (SiteStatus::Requested, &["申请中", "待审核", "待核准"]),
    (SiteStatus::Approved, &["已核准", "已批准"]),
    (SiteStatus::Rejected, &["已驳回", "未通过"]),
    (
        SiteStatus::Live,
        &["运行中", "正常运行", "运行", "正常", "在运行"],
    ),
    (SiteStatus::Suspended, &["暂停运行", "临时关停", "暂停"]),
    (SiteStatus::Retiring, &["关停公示中", "关停公示"]),
    (
        SiteStatus::Offline,
        &["已下线", "永久下线", "下线", "关停", "已关停"],
    ),
    (SiteStatus::Closed, &["已注销", "注销", "已关闭"]),
];

const LEVELS: &[(OrgLevel, &[&str])] = &[
    (OrgLevel::Central, &["中央", "国家级", "中央部门"]),
    (OrgLevel::Province, &["省级", "省"]),
    (OrgLevel::Prefecture, &["地级", "市级", "地市级"]),
    (OrgLevel::County, &["县级", "区县级"]),
    (OrgLevel::Township, &["乡级", "乡镇", "街道"]),
];

const PLATFORMS: &[(Platform, &[&str])] = &[
    (Platform::WechatService, &["微信服务号"]),
    (
        Platform::WechatSubscription,
        &["微信订阅号", "微信公众号", "微信"],
    ),
    (Platform::WechatChannels, &["微信视频号", "视频号"]),
    (Platform::Weibo, &["微博", "新浪微博"]),
    (Platform::Douyin, &["抖音"]),
    (Platform::Toutiao, &["今日头条", "头条号", "头条"]),
    (Platform::Kuaishou, &["快手"]),
    (Platform::Bilibili, &["哔哩哔哩", "B站", "b站"]),
    (Platform::App, &["移动客户端", "客户端", "APP"]),
    (Platform::Other, &["其他", "其它"]),
];

const ACCOUNT_STATUSES: &[(AccountStatus, &[&str])] = &[
    (AccountStatus::Active, &["正常", "运行中", "正常运行"]),
    (AccountStatus::Suspended, &["暂停", "暂停更新", "已暂停"]),
    (
        AccountStatus::Closed,
        &["已关闭", "关闭", "注销", "已注销", "关停", "已关停"],
    ),
];

fn parse_with<T: Copy + std::str::FromStr<Err = Invalid>>(
    table: &[(T, &[&str])],
    raw: &str,
) -> Result<T, Invalid> {
    let value = raw.trim();
    if let Some((item, _)) = table
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(value)))
    {
        return Ok(*item);
    }
    value.parse::<T>().map_err(|mut e| {
        let chinese: Vec<&str> = table.iter().map(|(_, names)| names[0]).collect();
        e.rule = format!("{} (or in Chinese: {})", e.rule, chinese.join(", "));
        e.value = raw.to_string();
        e
    })
}

fn label<T: PartialEq + Copy>(
    table: &[(T, &[&'static str])],
    value: T,
    english: &'static str,
    lang: HeaderLang,
) -> &'static str {
    match lang {
        HeaderLang::En => english,
        HeaderLang::Zh => table
            .iter()
            .find(|(item, _)| *item == value)
            .map(|(_, names)| names[0])
            .unwrap_or(english),
    }
}

pub fn parse_kind(raw: &str) -> Result<SiteKind, Invalid> {
    parse_with(KINDS, raw)
}
pub fn parse_status(raw: &str) -> Result<SiteStatus, Invalid> {
    parse_with(STATUSES, raw)
}
pub fn parse_level(raw: &str) -> Result<OrgLevel, Invalid> {
    parse_with(LEVELS, raw)
}
pub fn parse_platform(raw: &str) -> Result<Platform, Invalid> {
    parse_with(PLATFORMS, raw)
}
pub fn parse_account_status(raw: &str) -> Result<AccountStatus, Invalid> {
    parse_with(ACCOUNT_STATUSES, raw)
}

pub fn kind_label(value: SiteKind, lang: HeaderLang) -> &'static str {
    label(KINDS, value, value.as_str(), lang)
}
pub fn status_label(value: SiteStatus, lang: HeaderLang) -> &'static str {
    label(STATUSES, value, value.as_str(), lang)
}
pub fn level_label(value: OrgLevel, lang: HeaderLang) -> &'static str {
    label(LEVELS, value, value.as_str(), lang)
}
pub fn platform_label(value: Platform, lang: HeaderLang) -> &'static str {
    label(PLATFORMS, value, value.as_str(), lang)
}
pub fn account_status_label(value: AccountStatus, lang: HeaderLang) -> &'static str {
    label(ACCOUNT_STATUSES, value, value.as_str(), lang)
}
