//! The quarterly reconciliation's use cases: `siteward reconcile` (the
//! files given, read and checked whole before anything is compared or
//! stored), a run from the newest files of each kind in `[reconcile]
//! inbox` (the daemon's `reconcile` job, and the API's runs started now),
//! an export put into the inbox (checked first, named so that the next
//! run takes it), and the stored runs (`reconcile list`, `reconcile
//! show`). The comparison itself is `crate::reconcile`'s.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};

use super::{App, InvalidInput, db};
use crate::jobs::RunStatus;
use crate::reconcile::inputs::{self, BadInput, Inputs, ZoneInput};
use crate::reconcile::output::{InputInfo, Report, Trigger};
use crate::reconcile::table::InputError;
use crate::reconcile::{Facts, Quarter, compare};
use crate::store::Run;
use crate::store::reconcile::RunSummary;

/// A zone file given, with the zone it holds when the file does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFile {
    pub origin: Option<String>,
    pub path: PathBuf,
}

/// The files a run reads; each may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    pub national_sites: Option<PathBuf>,
    pub national_accounts: Option<PathBuf>,
    pub zhaocuo: Option<PathBuf>,
    pub zones: Vec<ZoneFile>,
    /// Also transfer every zone policy allows.
    pub axfr: bool,
}

/// What to reconcile.
#[derive(Debug, Clone)]
pub struct Request {
    pub quarter: Quarter,
    pub files: Files,
    pub trigger: Trigger,
    pub actor: String,
    pub now: DateTime<Utc>,
}

fn bad_file(path: &Path, message: String) -> BadInput {
    InputError {
        file: path.display().to_string(),
        row: None,
        column: None,
        message,
    }
    .into()
}

fn read(path: &Path) -> Result<Vec<u8>, BadInput> {
    std::fs::read(path).map_err(|e| bad_file(path, format!("cannot read the file: {e}")))
}

/// Reads and checks every file given; all errors at once.
fn read_inputs(files: &Files) -> Result<(Inputs, Vec<InputInfo>), BadInput> {
    let mut errors = Vec::new();
    let mut inputs = Inputs::default();
    let mut infos = Vec::new();
    let mut info = |role: &str, source: &str, format: &str, rows: usize| {
        infos.push(InputInfo {
            role: role.to_string(),
            source: source.to_string(),
            format: format.to_string(),
            rows,
        });
    };
    let name = |p: &Path| p.display().to_string();
    if let Some(path) = &files.national_sites {
        match read(path).and_then(|b| inputs::national_sites(&name(path), &b)) {
            Ok(export) => {
                info(
                    "national_sites",
                    &export.file,
                    &export.format,
                    export.sites.len(),
                );
                inputs.sites = Some(export);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if let Some(path) = &files.national_accounts {
        match read(path).and_then(|b| inputs::national_accounts(&name(path), &b)) {
            Ok(export) => {
                info(
                    "national_accounts",
                    &export.file,
                    &export.format,
                    export.accounts.len(),
                );
                inputs.accounts = Some(export);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if let Some(path) = &files.zhaocuo {
        match read(path).and_then(|b| inputs::messages(&name(path), &b)) {
            Ok(export) => {
                info(
                    "zhaocuo",
                    &export.file,
                    &export.format,
                    export.messages.len(),
                );
                inputs.messages = Some(export);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    for zone in &files.zones {
        let text = read(&zone.path).and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| bad_file(&zone.path, "a zone file must be ASCII or UTF-8 text".into()))
        });
        match text.and_then(|t| inputs::zone(&name(&zone.path), zone.origin.as_deref(), &t)) {
            Ok(z) => {
                info("zone", &z.source, "zone", z.contents.records);
                inputs.zones.push(z);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok((inputs, infos))
    } else {
        Err(BadInput(errors))
    }
}

/// The quarter a scheduled run reconciles: the one the day before it
/// belongs to (a run on the first day of a quarter reconciles the quarter
/// just ended).
pub fn scheduled_quarter(now: DateTime<Utc>) -> Quarter {
    Quarter::containing(now - Duration::days(1))
}

/// Reconciles: reads and checks every file (a bad one refuses the run:
/// nothing is compared or stored), transfers the zones asked for,
/// compares, and stores the run. Returns the report, numbered.
pub async fn reconcile(app: &App, request: Request) -> Result<Report> {
    let files = request.files.clone();
    let (mut inputs, mut infos) = tokio::task::spawn_blocking(move || read_inputs(&files))
        .await
        .context("reading the input files stopped unexpectedly")??;
    if request.files.axfr {
        for allowed in app.policy().axfr.clone() {
            let (dns, primary, port) = super::discovery::transfer_from(app, &allowed.zone)?;
            let contents = crate::probe::zone::transfer_zone(&dns, &allowed.zone, primary, port)
                .await
                // The zone could not be read: a failure to measure, never
                // taken for an empty zone.
                .map_err(|e| anyhow::anyhow!("zone transfer of {}: {e}", allowed.zone))?;
            let source = format!("AXFR {}", allowed.zone);
            infos.push(InputInfo {
                role: "zone".into(),
                source: source.clone(),
                format: "AXFR".into(),
                rows: contents.records,
            });
            inputs.zones.push(ZoneInput { source, contents });
        }
    }
    let quarter = request.quarter;
    if quarter.start() > request.now {
        return Err(InvalidInput(format!(
            "{quarter} has not begun: a quarter is reconciled during it (as of now) or after it"
        ))
        .into());
    }
    let complete = quarter.end() <= request.now;
    let as_of = if complete { quarter.end() } else { request.now };
    let policy = app.policy();
    let national_headers = inputs
        .sites
        .as_ref()
        .map(|s| s.headers.clone())
        .unwrap_or_default();
    let store = app.store.clone();
    let now = request.now;
    let comparison = tokio::task::spawn_blocking(move || -> Result<_> {
        let sites = store.sites(&crate::store::SiteFilter::default())?;
        let orgs = store.orgs()?;
        let accounts = store.accounts()?;
        let findings = store.findings(crate::findings::FindingStatus::ALL)?;
        // Sites changed since the quarter's end: as they stood then.
        let earlier = store.sites_as_of(as_of)?;
        let facts = Facts {
            sites: &sites,
            orgs: &orgs,
            accounts: &accounts,
            findings: &findings,
            divisions: &policy.divisions,
            calendar: &policy.alerts.deadlines.calendar,
            earlier: &earlier,
        };
        compare(quarter, as_of, now, &facts, &inputs)
            .map_err(|e| InvalidInput(e.to_string()).into())
    })
    .await
    .context("the comparison stopped unexpectedly")??;
    let report = Report {
        id: 0,
        quarter,
        as_of,
        complete,
        ran_at: request.now,
        trigger: request.trigger,
        actor: request.actor,
        inputs: infos,
        national_headers,
        comparison,
    };
    let (id, mut report) = db(&app.store, move |s| {
        s.add_reconcile_run(&report).map(|id| (id, report))
    })
    .await?;
    report.id = id;
    Ok(report)
}

/// The kinds of file an inbox holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// The national reporting system's export of sites.
    Sites,
    /// The national new-media system's export of accounts.
    Accounts,
    /// The 找错 platform's export of messages.
    Messages,
    /// A BIND zone file.
    Zone,
}

impl InboxKind {
    /// As the API names it: `sites`, `accounts`, `zhaocuo`, `zone`.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Sites => "sites",
            InboxKind::Accounts => "accounts",
            InboxKind::Messages => "zhaocuo",
            InboxKind::Zone => "zone",
        }
    }
}

impl std::str::FromStr for InboxKind {
    type Err = crate::registry::Invalid;
    fn from_str(raw: &str) -> Result<InboxKind, Self::Err> {
        [
            InboxKind::Sites,
            InboxKind::Accounts,
            InboxKind::Messages,
            InboxKind::Zone,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
        .ok_or_else(|| {
            crate::registry::Invalid::new("kind", raw, "must be sites, accounts, zhaocuo or zone")
        })
    }
}

/// What a file in the inbox is, by its name.
fn inbox_kind(name: &str) -> Option<InboxKind> {
    let lower = name.to_lowercase();
    // Hidden files, and the lock file Excel keeps beside a workbook open.
    if lower.starts_with('.') || lower.starts_with("~$") {
        return None;
    }
    if lower.ends_with(".zone") || lower.starts_with("db.") {
        return Some(InboxKind::Zone);
    }
    let table = [".csv", ".xlsx", ".xls"].iter().any(|e| lower.ends_with(e));
    if !table {
        return None;
    }
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["找错", "zhaocuo", "留言", "message"]) {
        Some(InboxKind::Messages)
    } else if has(&["新媒体", "账号", "account"]) {
        Some(InboxKind::Accounts)
    } else if has(&["网站", "site"]) {
        Some(InboxKind::Sites)
    } else {
        None
    }
}

/// The newest file of each kind in `dir` (by modification time; zone
/// files: the newest of each name), and the files it did not recognise.
pub fn inbox(dir: &Path) -> Result<(Files, Vec<String>)> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the reconcile inbox {}", dir.display()))?;
    let mut newest: Vec<(InboxKind, String, SystemTime, PathBuf)> = Vec::new();
    let mut ignored = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(kind) = inbox_kind(&name) else {
            if !name.starts_with('.') {
                ignored.push(name);
            }
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Zones are told apart by name; the other kinds are one each.
        let key = if kind == InboxKind::Zone {
            name.clone()
        } else {
            String::new()
        };
        match newest
            .iter_mut()
            .find(|(k, n, _, _)| *k == kind && *n == key)
        {
            Some(slot) if slot.2 < modified => *slot = (kind, key, modified, path),
            Some(_) => {}
            None => newest.push((kind, key, modified, path)),
        }
    }
    let mut files = Files::default();
    let pick = |kind| {
        newest
            .iter()
            .find(|(k, _, _, _)| *k == kind)
            .map(|(_, _, _, p)| p.clone())
    };
    files.national_sites = pick(InboxKind::Sites);
    files.national_accounts = pick(InboxKind::Accounts);
    files.zhaocuo = pick(InboxKind::Messages);
    files.zones = newest
        .iter()
        .filter(|(k, _, _, _)| *k == InboxKind::Zone)
        .map(|(_, _, _, p)| ZoneFile {
            origin: None,
            path: p.clone(),
        })
        .collect();
    files.zones.sort_by(|a, b| a.path.cmp(&b.path));
    ignored.sort();
    Ok((files, ignored))
}

/// The daemon's `reconcile` job: the quarter the day before belongs to,
/// from the newest files in the inbox ([`reconcile_inbox`]). Bad files
/// fail the run (and name the file, row and column in its failure);
/// nothing is stored then.
pub async fn reconcile_job(app: &App, mut run: Run) -> Result<Run> {
    let outcome = reconcile_inbox(
        app,
        scheduled_quarter(Utc::now()),
        Trigger::Scheduled,
        "siteward",
    )
    .await;
    if let Ok(report) = &outcome {
        run.hosts = report.comparison.discrepancies.len();
        run.status = RunStatus::Ok;
    }
    super::finish(&app.store, run, outcome)
        .await
        .map(|(run, _)| run)
}

/// Reconciles `quarter` from the newest files of each kind in `[reconcile]
/// inbox` (and the zone transfers `[reconcile] axfr` asks for), as the
/// daemon's job does and as `POST /api/v1/reconcile/runs` asks; the run's
/// files are written under `[reconcile] out` when set. Refused when no
/// inbox is configured ([`NoInbox`]).
pub async fn reconcile_inbox(
    app: &App,
    quarter: Quarter,
    trigger: Trigger,
    actor: &str,
) -> Result<Report> {
    let config = app.config();
    let Some(dir) = config.reconcile.inbox.clone() else {
        return Err(NoInbox.into());
    };
    // Made if missing: a new installation's first run reconciles the
    // registry and the quarter's findings alone.
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the reconcile inbox {}", dir.display()))?;
    let (mut files, ignored) = inbox(&dir)?;
    if !ignored.is_empty() {
        tracing::warn!(inbox = %dir.display(), files = %ignored.join(", "), "files in the reconcile inbox not recognised by their names");
    }
    files.axfr = config.reconcile.axfr;
    let now = Utc::now();
    // An export saved before the quarter began is last quarter's, most
    // likely: read, and said.
    let paths = files
        .national_sites
        .iter()
        .chain(&files.national_accounts)
        .chain(&files.zhaocuo)
        .chain(files.zones.iter().map(|z| &z.path));
    for path in paths {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from);
        if let Ok(modified) = modified
            && modified < quarter.start()
        {
            tracing::warn!(file = %path.display(), modified = %crate::clock::show(modified), quarter = %quarter, "an inbox file older than the quarter it is read for");
        }
    }
    let report = reconcile(
        app,
        Request {
            quarter,
            files,
            trigger,
            actor: actor.to_string(),
            now,
        },
    )
    .await?;
    if let Some(out) = &config.reconcile.out {
        let dir = out.join(format!("{}-run-{}", report.quarter, report.id));
        report
            .write(&dir)
            .with_context(|| format!("cannot write the run's files into {}", dir.display()))?;
    }
    tracing::info!(quarter = %report.quarter, reconcile_run = report.id, discrepancies = report.comparison.discrepancies.len(), fixes = report.comparison.fixes.len(), "reconciled");
    Ok(report)
}

/// No `[reconcile] inbox` is configured: there is nowhere to read the
/// exports from, or to put one.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no [reconcile] inbox is configured: the scheduled reconciliation has no files to read")]
pub struct NoInbox;

/// A file put into the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFile {
    pub kind: InboxKind,
    /// Its name in the inbox.
    pub name: String,
    /// XLSX, XLS, the CSV's encoding, or `zone`.
    pub format: String,
    pub rows: usize,
}

/// Puts `bytes`, an export of `kind` (a zone file of `zone`), into the
/// inbox under a name that the next run takes as the newest file of its
/// kind (a zone's file replaces that zone's). The file is read and
/// checked first as a run would read it: a bad one ([`BadInput`]) is not
/// put there, so that it cannot fail every scheduled run.
pub fn put_in_inbox(
    app: &App,
    kind: InboxKind,
    zone: Option<&str>,
    bytes: &[u8],
) -> Result<InboxFile> {
    let Some(dir) = app.config().reconcile.inbox.clone() else {
        return Err(NoInbox.into());
    };
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%3fZ");
    let extension = match crate::transfer::workbook::Format::of(bytes) {
        Some(crate::transfer::workbook::Format::Xlsx) => "xlsx",
        Some(crate::transfer::workbook::Format::Xls) => "xls",
        None => "csv",
    };
    let (name, format, rows) = match kind {
        InboxKind::Sites => {
            let name = format!("national-sites-{stamp}.{extension}");
            let export = inputs::national_sites(&name, bytes)?;
            (name, export.format, export.sites.len())
        }
        InboxKind::Accounts => {
            let name = format!("national-accounts-{stamp}.{extension}");
            let export = inputs::national_accounts(&name, bytes)?;
            (name, export.format, export.accounts.len())
        }
        InboxKind::Messages => {
            let name = format!("zhaocuo-{stamp}.{extension}");
            let export = inputs::messages(&name, bytes)?;
            (name, export.format, export.messages.len())
        }
        InboxKind::Zone => {
            let Some(zone) = zone else {
                return Err(crate::registry::Invalid::new(
                    "zone",
                    "",
                    "is needed for a zone file: the zone it holds (gansu.gov.cn)",
                )
                .into());
            };
            let zone = crate::registry::Hostname::from_url_or_host(zone)?.to_string();
            let name = format!("{zone}.zone");
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                bad_file(
                    Path::new(&name),
                    "a zone file must be ASCII or UTF-8 text".into(),
                )
            })?;
            let parsed = inputs::zone(&name, Some(&zone), &text)?;
            (name, "zone".to_string(), parsed.contents.records)
        }
    };
    // The name must read back as its kind, or the run would not take it.
    if inbox_kind(&name) != Some(kind) {
        anyhow::bail!("the inbox name {name} does not read back as its kind");
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the reconcile inbox {}", dir.display()))?;
    // Written under a hidden name (never read) and renamed: a run never
    // reads half a file.
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, dir.join(&name))
        .with_context(|| format!("cannot put {name} into {}", dir.display()))?;
    Ok(InboxFile {
        kind,
        name,
        format,
        rows,
    })
}

/// The newest stored runs.
pub fn list(app: &App, limit: usize) -> Result<Vec<RunSummary>> {
    Ok(app.store.reconcile_runs(limit)?)
}

/// A stored run's report.
pub fn show(app: &App, id: i64) -> Result<Report> {
    Ok(app.store.reconcile_run(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_files_are_told_apart_by_name() {
        assert_eq!(
            inbox_kind("2026Q4 全国政府网站信息报送系统导出.xlsx"),
            Some(InboxKind::Sites)
        );
        assert_eq!(
            inbox_kind("我为政府网站找错留言.csv"),
            Some(InboxKind::Messages)
        );
        assert_eq!(inbox_kind("政务新媒体账号.csv"), Some(InboxKind::Accounts));
        assert_eq!(inbox_kind("gansu.gov.cn.zone"), Some(InboxKind::Zone));
        assert_eq!(inbox_kind("db.lanzhou.gov.cn"), Some(InboxKind::Zone));
        assert_eq!(inbox_kind("notes.txt"), None);
        assert_eq!(inbox_kind(".网站.csv.partial"), None);
        assert_eq!(inbox_kind("~$2026Q4 网站列表.xlsx"), None);
    }

    #[test]
    fn uploaded_names_read_back_as_their_kind() {
        for (name, kind) in [
            ("national-sites-20261205T080000000Z.xlsx", InboxKind::Sites),
            (
                "national-accounts-20261205T080000000Z.csv",
                InboxKind::Accounts,
            ),
            ("zhaocuo-20261205T080000000Z.xls", InboxKind::Messages),
            ("gansu.gov.cn.zone", InboxKind::Zone),
        ] {
            assert_eq!(inbox_kind(name), Some(kind), "{name}");
            assert_eq!(kind.as_str().parse::<InboxKind>().ok(), Some(kind));
        }
        assert!(
            ".national-sites-1.csv.partial"
                .parse::<InboxKind>()
                .is_err()
        );
        assert_eq!(inbox_kind(".national-sites-1.csv.partial"), None);
    }

    #[test]
    fn a_scheduled_run_reconciles_the_quarter_the_day_before_belongs_to() {
        let at = |s| crate::clock::parse_time("t", s).expect("valid");
        assert_eq!(
            scheduled_quarter(at("2027-01-01 02:00")).to_string(),
            "2026Q4"
        );
        assert_eq!(
            scheduled_quarter(at("2026-11-01 02:00")).to_string(),
            "2026Q4"
        );
    }
}
