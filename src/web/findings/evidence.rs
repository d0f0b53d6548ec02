//! The observations a finding was judged on, made readable: each stored
//! observation (DNS answers and the CNAME chain, a zone's name servers,
//! the certificate chain, what the homepage showed, IPv6 reach) as a
//! block of labelled facts and small tables in Chinese, with the
//! prohibited terms a page quote holds marked. Plain text only: the
//! template escapes it.

use crate::findings::text;
use crate::probe::delegation::{Delegation, ServerStatus};
use crate::probe::dns::{DnsOutcome, HostDns};
use crate::probe::http::PageOutcome;
use crate::probe::ipv6::Ipv6Reach;
use crate::probe::page::{Page, Quote};
use crate::probe::tls::{HandshakeFailure, TlsObservation, TlsVerdict};
use crate::probe::{DelegationResult, ObservationData};
use crate::store::StoredObservation;
use crate::web::view;

/// A piece of a value: plain, or marked (a matched term).
pub struct Segment {
    pub text: String,
    pub mark: bool,
}

/// One labelled fact of a block.
pub struct Fact {
    pub label: &'static str,
    pub value: Vec<Segment>,
}

/// A small table of a block.
pub struct Table {
    pub caption: &'static str,
    pub head: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// One observation, for people.
pub struct Block {
    pub title: String,
    /// When it was first and last seen so.
    pub seen: String,
    pub facts: Vec<Fact>,
    pub tables: Vec<Table>,
}

/// A probe's name as an office says it.
pub fn probe_name(probe: &str) -> String {
    match probe {
        "dns" => "DNS 解析".into(),
        "delegation" => "NS 委派".into(),
        "tls" => "HTTPS 证书".into(),
        "page" => "首页".into(),
        "ipv6" => "IPv6".into(),
        "feed" => "订阅源".into(),
        "registry" => "登记信息".into(),
        "audit" => "操作记录".into(),
        other => other.to_string(),
    }
}

/// `text` with every occurrence of `terms` marked.
pub fn marked(text: &str, terms: &[String]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = terms
            .iter()
            .filter(|t| !t.is_empty())
            .filter_map(|t| rest.find(t.as_str()).map(|at| (at, t.len())))
            .min_by_key(|(at, len)| (*at, std::cmp::Reverse(*len)));
        match next {
            Some((at, len)) => {
                if at > 0 {
                    out.push(Segment {
                        text: rest[..at].to_string(),
                        mark: false,
                    });
                }
                out.push(Segment {
                    text: rest[at..at + len].to_string(),
                    mark: true,
                });
                rest = &rest[at + len..];
            }
            None => {
                if !rest.is_empty() {
                    out.push(Segment {
                        text: rest.to_string(),
                        mark: false,
                    });
                }
                return out;
            }
        }
    }
}

fn plain(text: impl Into<String>) -> Vec<Segment> {
    vec![Segment {
        text: text.into(),
        mark: false,
    }]
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: plain(value),
    }
}

/// The prohibited terms the pages among `observations` hold: what their
/// quotes mark.
pub fn terms_of(observations: &[StoredObservation]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for o in observations {
        if let ObservationData::Page(PageOutcome::Loaded { page, .. }) = &o.observation.data {
            terms.extend(page.prohibited_terms.iter().cloned());
            terms.extend(page.identity_terms.iter().cloned());
            for quote in page
                .hidden_terms
                .iter()
                .chain(&page.link_terms)
                .chain(&page.mentioned)
            {
                terms.push(quote.term.clone());
            }
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// `stored` as blocks (one, or none for what says nothing readable).
pub fn blocks(stored: &StoredObservation, terms: &[String]) -> Vec<Block> {
    let o = &stored.observation;
    let at = match (o.address, &o.data) {
        (Some(address), ObservationData::Tls(tls)) => match tls.port {
            Some(port) => format!("（{}）", std::net::SocketAddr::new(address, port)),
            None => format!("（{address}）"),
        },
        (Some(address), _) => format!("（{address}）"),
        (None, _) => String::new(),
    };
    let host = o.host.to_unicode();
    let seen = if stored.first_seen == stored.last_seen {
        format!("观测于 {}", view::time(&stored.last_seen))
    } else {
        format!(
            "自 {} 至 {} 观测 {} 次结果相同",
            view::time(&stored.first_seen),
            view::time(&stored.last_seen),
            stored.seen_count
        )
    };
    let (title, facts, tables) = match &o.data {
        ObservationData::Dns(dns) => {
            let (facts, tables) = dns_block(dns);
            (format!("DNS 解析：{host}"), facts, tables)
        }
        ObservationData::Delegation(DelegationResult::Found(delegation)) => {
            let (facts, tables) = delegation_block(delegation);
            (format!("NS 委派：{}", delegation.zone), facts, tables)
        }
        ObservationData::Delegation(DelegationResult::Failed { reason }) => (
            format!("NS 委派：{host}"),
            vec![fact("结果", format!("未能测量：{reason}"))],
            Vec::new(),
        ),
        ObservationData::Tls(tls) => {
            let (facts, tables) = tls_block(tls);
            (format!("HTTPS 证书：{host}{at}"), facts, tables)
        }
        ObservationData::Page(page) => (
            format!("首页：{host}{at}"),
            page_facts(page, terms),
            Vec::new(),
        ),
        ObservationData::Ipv6(reach) => {
            let (facts, tables) = ipv6_block(reach);
            (format!("IPv6 访问：{host}{at}"), facts, tables)
        }
        ObservationData::Feed(poll) => (
            format!("订阅源：{}", poll.url),
            vec![fact(
                "结果",
                match &poll.result {
                    crate::probe::feed::FeedResult::Read(read) => format!(
                        "读取 {} 条，最近一条发布于 {}",
                        read.entries,
                        view::maybe_time(&read.latest_post_at)
                    ),
                    crate::probe::feed::FeedResult::Failed { reason } => {
                        format!("读取失败：{reason}")
                    }
                },
            )],
            Vec::new(),
        ),
        ObservationData::Deadline { after_ms } => (
            format!("未能测量：{host}"),
            vec![fact("原因", format!("探测在 {after_ms} 毫秒内未完成"))],
            Vec::new(),
        ),
        ObservationData::Failed { reason } => (
            format!("未能测量：{host}"),
            vec![fact("原因", reason.clone())],
            Vec::new(),
        ),
    };
    vec![Block {
        title,
        seen,
        facts,
        tables,
    }]
}

fn dns_outcome(outcome: &DnsOutcome) -> String {
    match outcome {
        DnsOutcome::NxDomain { name } => format!("{}：{name}", text::dns_outcome(outcome)),
        DnsOutcome::Failed { reason } => format!("{}：{reason}", text::dns_outcome(outcome)),
        other => text::dns_outcome(other).to_string(),
    }
}

fn dns_block(dns: &HostDns) -> (Vec<Fact>, Vec<Table>) {
    let mut facts = vec![
        fact("A 记录", dns_outcome(&dns.a)),
        fact("AAAA 记录", dns_outcome(&dns.aaaa)),
    ];
    if let Some(check) = &dns.registrable {
        facts.push(fact(
            "指向的注册域名",
            if check.unregistered {
                format!("{}（不存在，任何人都可注册）", check.domain)
            } else {
                format!("{}（已注册）", check.domain)
            },
        ));
    }
    let mut tables = Vec::new();
    if !dns.cname_chain.is_empty() {
        tables.push(Table {
            caption: "CNAME 链",
            head: &["名称", "指向", "TTL（秒）"],
            rows: dns
                .cname_chain
                .iter()
                .map(|hop| vec![hop.name.clone(), hop.target.clone(), hop.ttl.to_string()])
                .collect(),
        });
    }
    let mut records = Vec::new();
    for (kind, outcome) in [("A", &dns.a), ("AAAA", &dns.aaaa)] {
        if let DnsOutcome::Answer { records: answer } = outcome {
            for r in answer {
                records.push(vec![
                    kind.to_string(),
                    r.name.clone(),
                    r.value.clone(),
                    r.ttl.to_string(),
                ]);
            }
        }
    }
    if !records.is_empty() {
        tables.push(Table {
            caption: "解析记录",
            head: &["类型", "名称", "值", "TTL（秒）"],
            rows: records,
        });
    }
    (facts, tables)
}

fn server_status(status: &ServerStatus) -> String {
    match status {
        ServerStatus::Serves { serial } => format!("正常提供解析（SOA 序列号 {serial}）"),
        ServerStatus::Lame { reason } => format!("不为该区域提供解析：{reason}"),
        ServerStatus::NoAddress => "域名服务器的名称不存在（NXDOMAIN）".to_string(),
        ServerStatus::Unreachable { reason } => format!("无应答：{reason}"),
        ServerStatus::Unknown { reason } => format!("未能测量：{reason}"),
    }
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "是",
        Some(false) => "否",
        None => "未能测量",
    }
}

fn delegation_block(delegation: &Delegation) -> (Vec<Fact>, Vec<Table>) {
    let mut facts = vec![
        fact("NS 记录", delegation.nameservers.join("、")),
        fact("泛解析", yes_no(delegation.wildcard)),
    ];
    if !delegation.wildcard_addresses.is_empty() {
        facts.push(fact(
            "泛解析指向",
            delegation
                .wildcard_addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("、"),
        ));
    }
    for level in &delegation.levels {
        if level.wildcard == Some(true) {
            facts.push(fact("下级泛解析", format!("*.{}", level.parent)));
        }
    }
    let tables = vec![Table {
        caption: "域名服务器",
        head: &["名称", "地址", "状态"],
        rows: delegation
            .servers
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.address.map(|a| a.to_string()).unwrap_or_default(),
                    server_status(&s.status),
                ]
            })
            .collect(),
    }];
    (facts, tables)
}

fn verdict(verdict: &TlsVerdict) -> String {
    match verdict {
        TlsVerdict::Valid => "证书有效".into(),
        TlsVerdict::Expired => "证书已过期".into(),
        TlsVerdict::NotYetValid => "证书尚未生效".into(),
        TlsVerdict::HostnameMismatch => "证书不包含该域名".into(),
        TlsVerdict::Untrusted { reason } => format!("证书不受信任：{}", text::cert_problem(reason)),
        TlsVerdict::SelfSigned => "自签名证书".into(),
        TlsVerdict::Weak { reason } => format!("证书强度不足：{reason}"),
        TlsVerdict::Sm2 => "国密（SM2）证书".into(),
        TlsVerdict::HandshakeFailed { reason, detail } => {
            format!("握手失败：{}（{detail}）", text::handshake_failure(*reason))
        }
    }
}

fn tls_block(tls: &TlsObservation) -> (Vec<Fact>, Vec<Table>) {
    let mut facts = vec![fact("结论", verdict(&tls.verdict))];
    if let Some(protocol) = &tls.protocol {
        facts.push(fact("协议", protocol.clone()));
    }
    if let Some(suite) = &tls.cipher_suite {
        facts.push(fact("密码套件", suite.clone()));
    }
    if matches!(
        tls.verdict,
        TlsVerdict::HandshakeFailed {
            reason: HandshakeFailure::NoTls,
            ..
        }
    ) {
        return (facts, Vec::new());
    }
    let mut tables = Vec::new();
    if !tls.chain.is_empty() {
        tables.push(Table {
            caption: "证书链（服务器证书在前）",
            head: &[
                "序号",
                "主体",
                "签发者",
                "生效时间",
                "到期时间",
                "包含的域名",
                "密钥",
                "签名算法",
            ],
            rows: tls
                .chain
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let key = match (c.key_bits, &c.curve) {
                        (Some(bits), _) => format!("{} {bits} 位", c.key_algorithm),
                        (None, Some(curve)) => format!("{} {curve}", c.key_algorithm),
                        (None, None) => c.key_algorithm.clone(),
                    };
                    vec![
                        (i + 1).to_string(),
                        c.subject.clone(),
                        c.issuer.clone(),
                        view::time(&c.not_before),
                        view::time(&c.not_after),
                        c.dns_names.join(" "),
                        key,
                        c.signature_algorithm.clone(),
                    ]
                })
                .collect(),
        });
    }
    (facts, tables)
}

fn quotes(facts: &mut Vec<Fact>, label: &'static str, quotes: &[Quote], terms: &[String]) {
    for quote in quotes {
        let mut value = marked(&quote.text, terms);
        if let Some(host) = &quote.host {
            value.push(Segment {
                text: format!("（链接指向 {host}）"),
                mark: false,
            });
        }
        facts.push(Fact { label, value });
    }
}

fn page_facts(outcome: &PageOutcome, terms: &[String]) -> Vec<Fact> {
    let mut facts = vec![fact("结果", text::page_outcome(outcome))];
    match outcome {
        PageOutcome::Loaded {
            final_url,
            hops,
            redirected_to,
            page,
            takeover,
            truncated,
            ..
        } => {
            facts.push(fact("最终地址", final_url.clone()));
            if hops.len() > 1 {
                facts.push(fact(
                    "跳转经过",
                    hops.iter()
                        .map(|h| format!("{}（{}）", h.url, h.status))
                        .collect::<Vec<_>>()
                        .join(" → "),
                ));
            }
            if let Some(to) = redirected_to {
                facts.push(fact("跳转至其他域名", to.clone()));
            }
            if !takeover.is_empty() {
                facts.push(fact("云服务“无此资源”页面", takeover.join("、")));
            }
            page_read(&mut facts, page, terms);
            if *truncated {
                facts.push(fact("说明", "页面过大，只读取了前一部分"));
            }
        }
        PageOutcome::Unreachable { https, http } => {
            facts.push(fact("HTTPS", https.clone()));
            facts.push(fact("HTTP", http.clone()));
        }
        PageOutcome::Timeout { after_ms } => {
            facts.push(fact("说明", format!("{after_ms} 毫秒内未能打开首页")));
        }
        PageOutcome::Failed { reason } | PageOutcome::Local { reason } => {
            facts.push(fact("原因", reason.clone()));
        }
    }
    facts
}

fn page_read(facts: &mut Vec<Fact>, page: &Page, terms: &[String]) {
    if let Some(title) = &page.title {
        facts.push(Fact {
            label: "页面标题",
            value: marked(title, terms),
        });
    }
    if let Some(heading) = &page.heading {
        facts.push(Fact {
            label: "主标题",
            value: marked(heading, terms),
        });
    }
    if let Some(name) = &page.meta_site_name {
        facts.push(fact("SiteName 元标签", name.clone()));
    }
    facts.push(fact(
        "SiteIDCode 元标签",
        page.meta_site_code.clone().unwrap_or_else(|| "无".into()),
    ));
    facts.push(fact(
        "页脚网站标识码",
        if page.footer_codes.is_empty() {
            "无".to_string()
        } else {
            page.footer_codes.join("、")
        },
    ));
    if let Some(organizer) = &page.organizer {
        facts.push(fact("页面标注的主办单位", organizer.clone()));
    }
    if !page.icp_filings.is_empty() {
        facts.push(fact("ICP 备案号", page.icp_filings.join("、")));
    }
    if !page.psb_filings.is_empty() {
        facts.push(fact("公安备案号", page.psb_filings.join("、")));
    }
    if let Some(to) = &page.client_redirect {
        facts.push(fact("页面脚本跳转至", to.clone()));
    }
    if !page.prohibited_terms.is_empty() {
        facts.push(Fact {
            label: "页面中的违禁词",
            value: marked(&page.prohibited_terms.join("、"), terms),
        });
    }
    quotes(facts, "隐藏内容（暗链）", &page.hidden_terms, terms);
    quotes(facts, "链接文字", &page.link_terms, terms);
    quotes(facts, "正文摘录", &page.mentioned, terms);
    if !page.link_hosts.is_empty() {
        let hosts: Vec<&str> = page
            .link_hosts
            .iter()
            .map(String::as_str)
            .take(20)
            .collect();
        facts.push(fact("链接指向的域名", hosts.join(" ")));
    }
    if page.incomplete {
        facts.push(fact("说明", "页面未读完：页脚的标识码和主办单位可能未读到"));
    }
}

fn ipv6_block(reach: &Ipv6Reach) -> (Vec<Fact>, Vec<Table>) {
    let level = |l: &crate::probe::ipv6::Level| {
        format!(
            "抽查 {} 个，经 IPv4 打开 {} 个，经 IPv6 打开 {} 个",
            l.sampled, l.loaded_v4, l.loaded_v6
        )
    };
    let facts = vec![
        fact(
            "首页经 IPv6 可访问",
            if reach.homepage_v6 { "是" } else { "否" },
        ),
        fact("二级页面", level(&reach.second_level)),
        fact("三级页面", level(&reach.third_level)),
    ];
    let tables = vec![Table {
        caption: "端口",
        head: &["地址", "端口", "是否开放"],
        rows: reach
            .ports
            .iter()
            .map(|p| {
                vec![
                    p.address.to_string(),
                    p.port.to_string(),
                    if p.open { "开放" } else { "不通" }.to_string(),
                ]
            })
            .collect(),
    }];
    (facts, tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_marked_wherever_they_stand() {
        let terms = vec!["赌博".to_string(), "博彩".to_string()];
        let segments = marked("远离赌博，拒绝博彩。", &terms);
        let shown: Vec<(&str, bool)> = segments.iter().map(|s| (s.text.as_str(), s.mark)).collect();
        assert_eq!(
            shown,
            vec![
                ("远离", false),
                ("赌博", true),
                ("，拒绝", false),
                ("博彩", true),
                ("。", false)
            ]
        );
        assert_eq!(marked("", &terms).len(), 0);
        assert!(marked("无", &[]).iter().all(|s| !s.mark));
    }
}
