//! The reconciliation benchmark's data: a registry of N sites (a SQLite
//! database, filled through the import) and the files a quarter brings,
//! at the scale the issue names: the national export of the same N sites
//! with the differences an office sees (renamed, moved, closed there,
//! missing on either side), a zone of 100,000 records, 50,000 找错
//! messages and the accounts. `siteward reconcile` is then timed on it as
//! a user runs it (see bench/RESULTS.md).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::store::{Change, Store};
use crate::transfer::{self, Entity};

/// What was written, and the command that reconciles it.
#[derive(Debug, Serialize)]
pub struct Prepared {
    pub database: String,
    pub sites: usize,
    pub export_rows: usize,
    pub zone_records: usize,
    pub messages: usize,
    pub accounts: usize,
    pub command: String,
}

/// A deterministic spread: the same data on every run.
fn pick(i: usize, every: usize) -> bool {
    (i.wrapping_mul(2_654_435_761) >> 7).is_multiple_of(every)
}

/// The code of site `i`: 200 divisions (organizers), 4-digit sequences.
fn code(i: usize) -> (String, String) {
    let division = format!("62{:02}{:02}", 1 + (i % 200) / 20, 1 + (i % 200) % 20);
    (division.clone(), format!("{division}{:04}", i / 200 + 1))
}

fn org(i: usize) -> String {
    format!("单位{:03}", i % 200)
}

fn host(i: usize) -> String {
    format!("s{i}.bench.gansu.gov.cn")
}

/// Writes the registry and the files into `dir`.
pub fn prepare(dir: &Path, sites: usize, zone_records: usize, messages: usize) -> Result<Prepared> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db = dir.join("registry.db");
    if db.exists() {
        anyhow::bail!("{} exists: give an empty directory", db.display());
    }
    let url = format!("sqlite://{}", db.display());
    let store = Store::open(&url)?;
    let policy = crate::policy::Policy::built_in();
    let change = Change::now("bench");
    let import = |entity, text: String| -> Result<()> {
        let (records, _) = transfer::parse(entity, text.as_bytes())?;
        store.import(&records, &policy, &change)?;
        Ok(())
    };
    let mut orgs = String::from("name,division,level\n");
    for i in 0..200 {
        writeln!(orgs, "{},{},county", org(i), code(i).0)?;
    }
    import(Entity::Orgs, orgs)?;
    // The registry: most live, some offline or closed (retired).
    let mut registry = String::from("name,code,url,org,kind,status\n");
    for i in 0..sites {
        let status = if pick(i, 20) {
            "offline"
        } else if pick(i + 1, 20) {
            "closed"
        } else {
            "live"
        };
        writeln!(
            registry,
            "网站{i},{},{},{},department,{status}",
            code(i).1,
            host(i),
            org(i)
        )?;
    }
    import(Entity::Sites, registry)?;
    let mut accounts = String::from("platform,account_id,name,org,status\n");
    for i in 0..sites / 2 {
        writeln!(accounts, "weibo,acct{i},账号{i},{},active", org(i))?;
    }
    import(Entity::Accounts, accounts)?;
    drop(store);

    // The national export: the same sites, a few per cent different.
    let mut export = String::from("网站标识码,网站名称,首页网址,主办单位,网站类型,运行状态\n");
    let mut export_rows = 0;
    for i in 0..sites {
        if pick(i, 97) {
            continue; // not filed there
        }
        let name = if pick(i, 50) {
            format!("网站{i}（旧名）")
        } else {
            format!("网站{i}")
        };
        let url = if pick(i, 70) {
            format!("http://old{i}.bench.gansu.gov.cn/")
        } else {
            format!("http://{}/", host(i))
        };
        // Retired sites still running there, as in real case 3.
        let status = if pick(i, 20) && !pick(i, 3) {
            "关停"
        } else {
            "正常运行"
        };
        writeln!(
            export,
            "{},{name},{url},{},部门网站,{status}",
            code(i).1,
            org(i)
        )?;
        export_rows += 1;
    }
    for j in 0..sites / 100 {
        writeln!(
            export,
            "63{:08},未登记网站{j},http://x{j}.bench.gansu.gov.cn/,单位X,专项网站,正常运行",
            j
        )?;
        export_rows += 1;
    }
    write(dir, "national-sites.csv", &export)?;

    let mut national_accounts = String::from("主办单位,平台/类型,账号名称,账号ID,状态\n");
    for i in 0..sites / 2 {
        if !pick(i, 40) {
            writeln!(national_accounts, "{},微博,账号{i},acct{i},正常", org(i))?;
        }
    }
    write(dir, "national-accounts.csv", &national_accounts)?;

    // The zone: every site's host, then other names up to the count.
    let mut zone = String::from(
        "$ORIGIN bench.gansu.gov.cn.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 604800 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n",
    );
    let mut records = 3;
    for i in 0..sites {
        if records >= zone_records {
            break;
        }
        if !pick(i, 30) {
            writeln!(zone, "s{i} IN A 192.0.2.{}", i % 250 + 1)?;
            records += 1;
        }
    }
    let mut n = 0;
    while records < zone_records {
        writeln!(zone, "h{n} IN A 198.51.100.{}", n % 250 + 1)?;
        n += 1;
        records += 1;
    }
    write(dir, "bench.gansu.gov.cn.zone", &zone)?;

    // 找错 messages over the quarter: most answered in a day, some late,
    // some not at all.
    let mut text =
        String::from("留言编号,网站名称,网站标识码,留言时间,转办时间,答复时间,是否属实,办理状态\n");
    for m in 0..messages {
        let i = m % sites.max(1);
        let day = 1 + m % 60;
        let (month, day) = if day > 30 { (11, day - 30) } else { (10, day) };
        let passed = format!("2026-{month:02}-{day:02} 09:00");
        let answered = if pick(m, 25) {
            String::new()
        } else if pick(m + 1, 15) {
            format!("2026-{month:02}-{:02} 18:00", (day + 9).min(30))
        } else {
            format!("2026-{month:02}-{day:02} 17:00")
        };
        writeln!(
            text,
            "ZC{m:08},网站{i},{},2026-{month:02}-{day:02} 08:00,{passed},{answered},{},已办结",
            code(i).1,
            if pick(m, 3) { "是" } else { "否" }
        )?;
    }
    write(dir, "zhaocuo.csv", &text)?;
    let path = |name: &str| dir.join(name).display().to_string();
    Ok(Prepared {
        database: url.clone(),
        sites,
        export_rows,
        zone_records: records,
        messages,
        accounts: sites / 2,
        command: format!(
            "siteward --db {url} reconcile --quarter 2026Q4 --national-sites {} --national-accounts {} --zhaocuo {} --zone {} --out {}",
            path("national-sites.csv"),
            path("national-accounts.csv"),
            path("zhaocuo.csv"),
            path("bench.gansu.gov.cn.zone"),
            path("out")
        ),
    })
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
