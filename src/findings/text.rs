//! The Chinese words findings are told in: the suggested action per kind,
//! and the names of states and platforms as the office says them.

use super::FindingKind;
use crate::probe::dns::DnsOutcome;
use crate::probe::http::PageOutcome;
use crate::probe::tls::HandshakeFailure;
use crate::probe::words::CertProblem;
use crate::registry::{Platform, SiteStatus};

/// What the office should do about a finding of this kind.
pub fn action(kind: FindingKind) -> &'static str {
    use FindingKind::*;
    match kind {
        UnapprovedSite => {
            "核实该网站是否经过核准；未经核准的立即关停，确需开设的补办核准、备案并在信息报送系统填报"
        }
        OfflineStillResolving => {
            "立即删除该域名的解析记录并向注册服务机构申请注销域名；检查并清理指向该域名的链接"
        }
        UnreachableButResolving => "联系主办单位恢复访问；如网站已关停，在登记中办理下线并注销域名",
        NotResolving => "核实网站是否已停止运行：恢复解析，或在登记及信息报送系统中办理永久下线",
        DanglingCname => "立即删除或更正该 CNAME 记录，或重新认领其指向的资源，防止域名被他人接管",
        DanglingNs => "更正该区域的 NS 委派，删除不提供解析的域名服务器",
        StaleAddress => "删除或更正指向该地址的解析记录，该地址可能已被他人使用",
        LinkToRetiredDomain => "立即删除或更正页面上指向已下线、已注销或悬挂域名的链接",
        WildcardRecord => {
            "确认泛解析是否必要：任何名称都会解析，未登记的子域名也会显示网页；如无必要，删除该记录"
        }
        SuspectedTampering => "立即核查网站是否被篡改或被仿冒，必要时断开访问并按网络安全事件处置",
        ProhibitedTermMentioned => {
            "核对引用的语句：反诈、举报等提示语无需处理；如为违规内容，立即删除并核查来源"
        }
        SiteCodeMissingOnPage => "在首页页脚和 SiteIDCode 元标签中标注登记的网站标识码",
        SiteCodeMismatch => "更正页面上的网站标识码，使其与信息报送系统登记的一致",
        LiveWithoutCode => "在信息报送系统填报该网站，取得网站标识码后登记",
        Ipv6Missing => "为该域名配置 AAAA 记录并开通 IPv6 访问",
        Ipv6Unreachable => "检查 IPv6 地址、防火墙和服务监听，使首页可通过 IPv6 访问",
        Ipv6Partial => "排查二、三级页面的 IPv6 访问，使其与 IPv4 一致",
        CertExpired => "立即更换有效证书",
        CertExpiring => "在到期前更换证书",
        CertNotYetValid => "检查证书生效时间和服务器时钟，更换为已生效的证书",
        CertHostnameMismatch => "更换包含该域名的证书",
        CertUntrusted => "更换为受信任机构签发的证书，并配置完整的证书链",
        CertWeak => "更换为 SHA-256 以上签名、2048 位以上密钥（或国密）的证书",
        TlsHandshakeFailed => "检查 HTTPS 服务配置，启用 TLS 1.2 及以上版本",
        HttpsMissing => "建议部署 HTTPS",
        CertSm2 => "无需处理：使用国密证书，浏览器需支持国密算法",
        DomainNotAllowed => {
            "改用 .gov.cn 或 .政务 域名，或登记有期限的例外说明（siteward exception add）"
        }
        RegistryConflict => "核实登记信息，按“一个单位一个网站”的要求整合或关停",
        AccountStale => "督促主办单位及时更新；确已停止运营的，按程序办理关停注销",
        AccountClosedButActive => "核实账号是否被他人继续使用，督促平台或主办单位完成注销",
        RegistryTampered => {
            "核查数据库的访问和操作记录，查明登记库被绕过系统修改的原因，经审批后通过系统恢复或重新登记正确信息，并收紧数据库权限"
        }
    }
}

pub fn site_status(status: SiteStatus) -> &'static str {
    match status {
        SiteStatus::Requested => "已申请",
        SiteStatus::Approved => "已核准",
        SiteStatus::Rejected => "已驳回",
        SiteStatus::Live => "运行中",
        SiteStatus::Suspended => "暂停",
        SiteStatus::Retiring => "关停公示中",
        SiteStatus::Offline => "已下线",
        SiteStatus::Closed => "已关停",
    }
}

pub fn platform(platform: Platform) -> &'static str {
    match platform {
        Platform::WechatService => "微信服务号",
        Platform::WechatSubscription => "微信订阅号",
        Platform::WechatChannels => "微信视频号",
        Platform::Weibo => "微博",
        Platform::Douyin => "抖音",
        Platform::Toutiao => "今日头条",
        Platform::Kuaishou => "快手",
        Platform::Bilibili => "哔哩哔哩",
        Platform::App => "移动客户端",
        Platform::Other => "其他平台",
    }
}

/// The kind's name in Chinese, as an office says it (beside the stable
/// identifier in lists and alerts).
pub fn kind_name(kind: FindingKind) -> &'static str {
    use FindingKind::*;
    match kind {
        UnapprovedSite => "未经核准开设网站",
        OfflineStillResolving => "已下线网站域名仍在解析",
        UnreachableButResolving => "网站无法访问",
        NotResolving => "域名无法解析",
        DanglingCname => "悬空 CNAME 记录",
        DanglingNs => "悬空 NS 委派",
        WildcardRecord => "泛解析记录",
        StaleAddress => "解析指向失效地址",
        LinkToRetiredDomain => "链接指向已下线域名",
        SuspectedTampering => "疑似被篡改",
        ProhibitedTermMentioned => "页面提及违禁词",
        SiteCodeMissingOnPage => "首页未标注网站标识码",
        SiteCodeMismatch => "网站标识码与登记不符",
        LiveWithoutCode => "运行网站无标识码",
        Ipv6Missing => "未支持 IPv6",
        Ipv6Unreachable => "IPv6 无法访问",
        Ipv6Partial => "IPv6 深度不足",
        CertExpired => "证书已过期",
        CertExpiring => "证书即将过期",
        CertNotYetValid => "证书尚未生效",
        CertHostnameMismatch => "证书与域名不符",
        CertUntrusted => "证书不受信任",
        CertWeak => "证书强度不足",
        TlsHandshakeFailed => "HTTPS 握手失败",
        HttpsMissing => "未部署 HTTPS",
        CertSm2 => "使用国密证书",
        DomainNotAllowed => "域名不合规",
        RegistryConflict => "登记冲突",
        AccountStale => "政务新媒体长期未更新",
        AccountClosedButActive => "已关停账号仍在更新",
        RegistryTampered => "登记库被篡改",
    }
}

/// The severity as an office says it.
pub fn severity_name(severity: super::Severity) -> &'static str {
    match severity {
        super::Severity::Critical => "严重",
        super::Severity::Warning => "警告",
        super::Severity::Info => "提示",
    }
}

/// Why a certificate is not trusted, as an office says it. Stored
/// observations hold the English words ([`CertProblem::words`]); words
/// from an older version, which are not among them, read as the chain
/// not being valid.
pub fn cert_problem(english: &str) -> &'static str {
    match CertProblem::from_words(english).unwrap_or(CertProblem::Invalid) {
        CertProblem::UnknownIssuer => "签发机构不受信任",
        CertProblem::BadSignature => "证书链中的签名无法验证",
        CertProblem::CaUsedAsEndEntity => "服务器把 CA 证书当作自身证书使用",
        CertProblem::EndEntityUsedAsCa => "证书链中的服务器证书被用来签发其他证书",
        CertProblem::Expired => "证书链中有证书已过期",
        CertProblem::NotYetValid => "证书链中有证书尚未生效",
        CertProblem::NotValidForName => "证书不包含该域名",
        CertProblem::Revoked => "证书已被吊销",
        CertProblem::RevocationUnknown => "无法确定证书是否已被吊销",
        CertProblem::BadEncoding => "证书链中有证书格式错误",
        CertProblem::UnsupportedAlgorithm => "证书链使用了不受支持的签名算法",
        CertProblem::WrongPurpose => "证书不是为 TLS 服务器签发的",
        CertProblem::NameConstraints => "证书链违反签发机构的名称约束",
        CertProblem::ChainTooLong => "证书链超过签发机构允许的长度",
        CertProblem::UnsupportedExtension => "证书含有不受支持的关键扩展",
        CertProblem::Distrusted => "证书的签发机构已被停止信任",
        CertProblem::Invalid => "证书链无效",
    }
}

/// Why a TLS handshake failed, as an office says it.
pub fn handshake_failure(reason: HandshakeFailure) -> &'static str {
    match reason {
        HandshakeFailure::NoTls => "该地址不提供 HTTPS",
        HandshakeFailure::ProtocolTooOld => "服务器仅支持 TLS 1.1 及以下的过时版本",
        HandshakeFailure::Alert => "服务器拒绝了握手",
        HandshakeFailure::Timeout => "握手超时",
        HandshakeFailure::Oversized => "服务器发送的握手消息过大",
        HandshakeFailure::Local => "本机无法连接该地址",
        HandshakeFailure::Other => "握手过程出错",
    }
}

/// Why a certificate is weak, as an office says it, naming the
/// certificate by its subject.
pub fn weakness(cert: &crate::probe::cert::CertInfo) -> Option<String> {
    use crate::probe::cert::Weakness;
    cert.weak().map(|weak| match weak {
        Weakness::Signature(algorithm) => {
            format!("{} 使用已不安全的 {algorithm} 签名", cert.subject)
        }
        Weakness::ShortKey(bits) => format!("{} 的 RSA 密钥仅 {bits} 位", cert.subject),
    })
}

/// What a homepage fetch came to, as an office says it (the evidence
/// keeps the probe's English, with the addresses and ports tried).
pub fn page_outcome(outcome: &PageOutcome) -> String {
    match outcome {
        PageOutcome::Loaded { status, .. } => format!("返回 HTTP {status}"),
        PageOutcome::Unreachable { .. } => "无法连接".to_string(),
        PageOutcome::Timeout { .. } => "超时".to_string(),
        PageOutcome::Failed { .. } => "响应异常".to_string(),
        PageOutcome::Local { .. } => "本机无法测量".to_string(),
    }
}

/// What a DNS query came to, as an office says it, with the DNS term
/// operators know beside it.
pub fn dns_outcome(outcome: &DnsOutcome) -> &'static str {
    match outcome {
        DnsOutcome::Answer { .. } => "有解析记录",
        DnsOutcome::NoData => "无此类型记录（NODATA）",
        DnsOutcome::NxDomain { .. } => "域名不存在（NXDOMAIN）",
        DnsOutcome::ServFail => "解析服务器故障（SERVFAIL）",
        DnsOutcome::Refused => "解析服务器拒绝查询（REFUSED）",
        DnsOutcome::Timeout => "查询超时",
        DnsOutcome::Failed { .. } => "查询失败",
    }
}
