//! `siteward reconcile`: the quarterly reconciliation, its stored runs.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::parsed;
use crate::app::reconcile::ZoneFile;
use crate::reconcile::Quarter;

/// Reconcile the registry with the national systems' exports, the 找错
/// messages and the zones for a quarter; or list and show stored runs.
///
/// Every input is optional; what is not given is not compared (the
/// summary says so). Tables are CSV (UTF-8, UTF-8 with BOM, GB18030,
/// UTF-16) or XLSX (first sheet; a title row and merged header cells are
/// fine), headers in Chinese in any order. Exit status 0 when the run
/// completed, whatever it found; 2 on bad input (nothing is stored).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    pub command: Option<ReconcileCommand>,
    #[command(flatten)]
    pub run: ReconcileRun,
}

#[derive(Debug, Args)]
pub struct ReconcileRun {
    /// The quarter, as 2026Q4. A quarter not over is reconciled as of now.
    #[arg(long, value_parser = parsed::<Quarter>, required = true)]
    pub quarter: Option<Quarter>,
    /// The national reporting system's export of sites (网站标识码,
    /// 网站名称, 首页网址, 主办单位, 网站类型, 运行状态).
    #[arg(long, value_name = "FILE")]
    pub national_sites: Option<PathBuf>,
    /// The national new-media system's export of accounts (主办单位,
    /// 平台/类型, 账号名称, 账号ID, 状态).
    #[arg(long, value_name = "FILE")]
    pub national_accounts: Option<PathBuf>,
    /// The 我为政府网站找错 platform's export of messages (留言编号,
    /// 网站名称, 网站标识码, 留言时间, 转办时间, 答复时间, 是否属实,
    /// 办理状态).
    #[arg(long, value_name = "FILE")]
    pub zhaocuo: Option<PathBuf>,
    /// A BIND zone file of a managed zone; repeat for several. Its zone
    /// is its $ORIGIN, else its name (gansu.gov.cn.zone, db.gansu.gov.cn);
    /// else give it as ZONE=FILE.
    #[arg(long = "zone", value_name = "[ZONE=]FILE", value_parser = zone_file)]
    pub zones: Vec<ZoneFile>,
    /// Also transfer every zone policy allows ([discovery] axfr).
    #[arg(long)]
    pub axfr: bool,
    /// Where to write discrepancies.csv, discrepancies.json and
    /// national-fixes.csv (made if missing).
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// The stored runs, newest first.
    List {
        /// At most this many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// A stored run: its summary and discrepancies; --out DIR writes its
    /// files again.
    Show {
        /// The run's id (`reconcile list`).
        id: i64,
        /// Write its files again into this directory (made if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn zone_file(raw: &str) -> Result<ZoneFile, String> {
    if let Some((zone, path)) = raw.split_once('=')
        && !zone.contains('/')
    {
        let zone = crate::registry::Hostname::from_url_or_host(zone)
            .map_err(|e| format!("`{zone}` is not a zone: {e}"))?;
        return Ok(ZoneFile {
            origin: Some(zone.to_string()),
            path: PathBuf::from(path),
        });
    }
    Ok(ZoneFile {
        origin: None,
        path: PathBuf::from(raw),
    })
}
