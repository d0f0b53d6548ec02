//! The circulars page (通报): the stored quarterly circulars and
//! reconciliation runs (`/reports`), one circular with its figures and
//! files (`/reports/{id}`), and the files themselves: the printable page
//! (viewed in the browser or downloaded), the workbook, the Markdown, each
//! attached table as CSV, and a run's discrepancy files. Admins may
//! write a quarter's circular from here (`POST /reports`), as `siteward
//! report` does.
//!
//! Circulars and runs cover the whole province: a person limited to
//! organizations is refused every route here (403), as the API refuses
//! such a token ([`Auth::province_wide`]), whatever exists. The files'
//! bytes come from the same calls as the API's downloads
//! (`api::files::circular_bytes`, `run_bytes`): a download is the stored
//! circular rendered again, byte for byte.
//!
//! [`Auth::province_wide`]: crate::api::auth::Auth::province_wide

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::session::{Person, Posted};
use super::view::{self, Frame, WebError};
use crate::access::Role;
use crate::api::files::{STORED_RUNS, attachment, circular_bytes, content_type, run_bytes};
use crate::api::{ApiState, blocking};
use crate::reconcile::Quarter;
use crate::reconcile::output::{Report, Trigger};
use crate::report::{Circular, percent};

/// Rows a list shows at a time.
const PAGE: usize = 100;

/// The policy of a stored circular's page shown in the browser: its own
/// inline stylesheet and drawings, nothing else (no script, no request
/// anywhere), never framed.
const CIRCULAR_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                            base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/reports", get(list).post(make))
        .route("/reports/{id}", get(show))
        .route("/reports/{id}/circular.html", get(circular_html))
        .route("/reports/{id}/circular.xlsx", get(circular_xlsx))
        .route("/reports/{id}/circular.md", get(circular_md))
        .route("/reports/{id}/tables/{file}", get(table))
        .route("/reports/runs/{id}/{file}", get(run_file))
}

/// 403 unless the person sees every organization: circulars and runs
/// cover the whole province. The decision is the API's.
fn province_wide(person: &Person) -> Result<(), WebError> {
    person.auth().province_wide("circulars").map_err(|_| {
        WebError::new(
            StatusCode::FORBIDDEN,
            format!(
                "通报和对账记录覆盖全省：{} 仅能查看部分主办单位，无权查看。",
                person.caller.name
            ),
        )
    })
}

/// A number in a path: anything else is no such thing (404).
fn number(raw: &str, what: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| {
        WebError::new(
            StatusCode::NOT_FOUND,
            format!("没有编号为 {raw} 的{what}。"),
        )
    })
}

/// A quarter as an office says it ("2026年第四季度"); as stored if it
/// does not read as one.
fn quarter_zh(raw: &str) -> String {
    raw.parse::<Quarter>()
        .map(Quarter::label_zh)
        .unwrap_or_else(|_| raw.to_string())
}

fn trigger_zh(raw: &str) -> &'static str {
    if raw == Trigger::Scheduled.as_str() {
        "定时任务"
    } else {
        "手动"
    }
}

/// `?after=` (circulars), `?runs_after=` (runs), `?msg=`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    after: Option<String>,
    runs_after: Option<String>,
    msg: Option<String>,
}

/// A cursor: the id of the last row of the page before.
fn cursor(field: &str, raw: &Option<String>) -> Result<Option<i64>, WebError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                format!("{field}: `{raw}` 不是编号（请使用页面上的“下一页”链接）"),
            )
            .back("/reports")
        }),
    }
}

/// One page of `rows` (newest first) after `after`, and the cursor of the
/// next page if there is one.
fn page_of<T>(rows: Vec<T>, id: impl Fn(&T) -> i64, after: Option<i64>) -> (Vec<T>, Option<i64>) {
    let mut rest = rows
        .into_iter()
        .filter(|r| after.is_none_or(|after| id(r) < after));
    let taken: Vec<T> = rest.by_ref().take(PAGE).collect();
    let next = match rest.next() {
        Some(_) => taken.last().map(&id),
        None => None,
    };
    (taken, next)
}

struct CircularRow {
    id: i64,
    quarter: String,
    generated_at: String,
    as_of: String,
    complete: bool,
    trigger: &'static str,
    actor: String,
    reconcile_run: Option<i64>,
    sites: i64,
    sites_failed: i64,
}

struct RunRow {
    id: i64,
    quarter: String,
    ran_at: String,
    as_of: String,
    complete: bool,
    trigger: &'static str,
    actor: String,
    discrepancies: i64,
    fixes: i64,
}

#[derive(Template)]
#[template(path = "web/reports.html")]
struct ReportsPage {
    frame: Frame,
    circulars: Vec<CircularRow>,
    next_circulars: Option<i64>,
    runs: Vec<RunRow>,
    next_runs: Option<i64>,
    /// The quarter the form suggests: the one the day before belongs to,
    /// as the daemon's job writes.
    suggested: String,
    /// The files a run has.
    run_files: [&'static str; 3],
    /// `&runs_after=…` kept by the circulars' next page, and the other
    /// way round.
    keep_runs: String,
    keep_circulars: String,
}

async fn list(
    person: Person,
    State(state): State<ApiState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    province_wide(&person)?;
    let after = cursor("after", &q.after)?;
    let runs_after = cursor("runs_after", &q.runs_after)?;
    // Circulars and runs are a handful a quarter: every one there will
    // ever be is a small read of their summaries (never their bodies).
    let (circulars, runs) = blocking(&state, move |app| {
        Ok((
            app.store.report_runs(STORED_RUNS)?,
            app.store.reconcile_runs(STORED_RUNS)?,
        ))
    })
    .await?;
    let (circulars, next_circulars) = page_of(circulars, |r| r.id, after);
    let (runs, next_runs) = page_of(runs, |r| r.id, runs_after);
    let keep = |field: &str, value: Option<i64>| {
        value.map(|v| format!("&{field}={v}")).unwrap_or_default()
    };
    view::page(&ReportsPage {
        frame: person
            .frame("/reports", "通报")
            .with_notice(view::notice(q.msg)),
        circulars: circulars
            .into_iter()
            .map(|r| CircularRow {
                id: r.id,
                quarter: quarter_zh(&r.quarter),
                generated_at: view::time(&r.generated_at),
                as_of: view::time(&r.as_of),
                complete: r.complete,
                trigger: trigger_zh(&r.trigger),
                actor: r.actor,
                reconcile_run: r.reconcile_run,
                sites: r.sites,
                sites_failed: r.sites_failed,
            })
            .collect(),
        next_circulars,
        runs: runs
            .into_iter()
            .map(|r| RunRow {
                id: r.id,
                quarter: quarter_zh(&r.quarter),
                ran_at: view::time(&r.ran_at),
                as_of: view::time(&r.as_of),
                complete: r.complete,
                trigger: trigger_zh(&r.trigger),
                actor: r.actor,
                discrepancies: r.discrepancies,
                fixes: r.fixes,
            })
            .collect(),
        next_runs,
        suggested: crate::app::reconcile::scheduled_quarter(chrono::Utc::now()).to_string(),
        run_files: Report::FILES,
        keep_runs: keep("runs_after", runs_after),
        keep_circulars: keep("after", after),
    })
}

/// A figure as the page shows it: label, value, and what it counts.
struct Fig {
    label: &'static str,
    value: String,
}

/// A file of the circular to download.
struct FileLink {
    href: String,
    label: String,
    /// What it is ("工作簿（Excel）").
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "web/report.html")]
struct ReportPage {
    frame: Frame,
    id: i64,
    c: Circular,
    quarter: String,
    as_of: String,
    generated_at: String,
    figures: Vec<Fig>,
    files: Vec<FileLink>,
}

impl ReportPage {
    fn rows(&self, table: &crate::report::Table) -> usize {
        table.rows.len()
    }
}

/// A circular's number from its path, the person allowed.
fn circular_id(person: &Person, raw: &str) -> Result<i64, WebError> {
    province_wide(person)?;
    number(raw, "通报")
}

/// What a missing circular is called on a page.
fn not_found(error: crate::api::error::ApiError, id: i64) -> WebError {
    let error = WebError::from(error);
    if error.status == StatusCode::NOT_FOUND {
        WebError::new(
            StatusCode::NOT_FOUND,
            format!("没有编号为 {id} 的通报，或其中没有这个文件。"),
        )
        .back("/reports")
    } else {
        error
    }
}

/// The base of a circular's downloads' names: "2026Q4通报".
fn file_base(c: &Circular) -> String {
    format!("{}通报", c.quarter)
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    msg: Option<String>,
}

async fn show(
    person: Person,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Query(q): Query<Notice>,
) -> Result<Response, WebError> {
    let id = circular_id(&person, &raw)?;
    let c = blocking(&state, move |app| Ok(app.store.report_run(id)?))
        .await
        .map_err(|e| not_found(e, id))?;
    let f = &c.figures;
    let optional = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let figures = vec![
        Fig {
            label: "在运行网站",
            value: f.sites.to_string(),
        },
        Fig {
            label: "检查网站",
            value: f.sites_checked.to_string(),
        },
        Fig {
            label: "不合格网站",
            value: f.sites_failed.to_string(),
        },
        Fig {
            label: "网站合格率",
            value: percent(f.site_pass_rate),
        },
        Fig {
            label: "因无法访问单项否决",
            value: f.sites_unreachable.to_string(),
        },
        Fig {
            label: "政务新媒体",
            value: f.accounts.to_string(),
        },
        Fig {
            label: "检查政务新媒体",
            value: f.accounts_checked.to_string(),
        },
        Fig {
            label: "不合格政务新媒体",
            value: f.accounts_failed.to_string(),
        },
        Fig {
            label: "政务新媒体合格率",
            value: percent(f.account_pass_rate),
        },
        Fig {
            label: "检查次数",
            value: f.checks.to_string(),
        },
        Fig {
            label: "“我为政府网站找错”留言",
            value: optional(f.messages_received),
        },
        Fig {
            label: "留言按时办结率",
            value: percent(f.messages_on_time_rate),
        },
        Fig {
            label: "逾期未整改问题",
            value: f.overdue.to_string(),
        },
    ];
    let base = file_base(&c);
    let mut files = vec![
        FileLink {
            href: format!("/reports/{id}/circular.html?download=1"),
            label: format!("{base}.html"),
            kind: "可打印网页（A4）",
        },
        FileLink {
            href: format!("/reports/{id}/circular.xlsx"),
            label: format!("{base}.xlsx"),
            kind: "工作簿（Excel）",
        },
        FileLink {
            href: format!("/reports/{id}/circular.md"),
            label: format!("{base}.md"),
            kind: "Markdown 文本",
        },
    ];
    for t in &c.tables {
        let encoded: String =
            url::form_urlencoded::byte_serialize(format!("{}.csv", t.id).as_bytes()).collect();
        files.push(FileLink {
            href: format!("/reports/{id}/tables/{encoded}"),
            label: format!("{base}{}.csv", t.id),
            kind: "附表（CSV）",
        });
    }
    view::page(&ReportPage {
        frame: person
            .frame("/reports", c.quarter.label_zh() + "通报")
            .with_notice(view::notice(q.msg)),
        id,
        quarter: c.quarter.label_zh(),
        as_of: view::time(&c.as_of),
        generated_at: view::time(&c.generated_at),
        figures,
        files,
        c,
    })
}

/// `?download=1`: as an attachment rather than shown.
#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    download: Option<String>,
}

/// A circular's file `name` as a response named `download`.
async fn circular_file(
    state: &ApiState,
    id: i64,
    name: &str,
    download: impl FnOnce(&Circular) -> String,
) -> Result<Response, WebError> {
    let (bytes, c) = circular_bytes(state, id, name.to_string())
        .await
        .map_err(|e| not_found(e, id))?;
    Ok(attachment(bytes, content_type(name), &download(&c)))
}

/// The printable page: shown in the browser under its own policy (its
/// inline stylesheet, nothing else), or downloaded with `?download=1`.
async fn circular_html(
    person: Person,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let id = circular_id(&person, &raw)?;
    let mut response = circular_file(&state, id, "circular.html", |c| {
        format!("{}.html", file_base(c))
    })
    .await?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CIRCULAR_CSP),
    );
    if q.download.is_none() {
        // Shown, under the same name should the person save it.
        if let Some(disposition) = headers.get(header::CONTENT_DISPOSITION).cloned() {
            let inline = disposition
                .to_str()
                .ok()
                .and_then(|d| d.strip_prefix("attachment"))
                .and_then(|rest| HeaderValue::from_str(&format!("inline{rest}")).ok());
            if let Some(inline) = inline {
                headers.insert(header::CONTENT_DISPOSITION, inline);
            }
        }
    }
    Ok(response)
}

async fn circular_xlsx(
    person: Person,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = circular_id(&person, &raw)?;
    circular_file(&state, id, "circular.xlsx", |c| {
        format!("{}.xlsx", file_base(c))
    })
    .await
}

async fn circular_md(
    person: Person,
    State(state): State<ApiState>,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = circular_id(&person, &raw)?;
    circular_file(&state, id, "circular.md", |c| {
        format!("{}.md", file_base(c))
    })
    .await
}

/// An attached table as CSV (UTF-8 with BOM, for Excel): `附件1.csv`.
async fn table(
    person: Person,
    State(state): State<ApiState>,
    Path((raw, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = circular_id(&person, &raw)?;
    let name = format!("tables/{file}");
    circular_file(&state, id, &name, |c| format!("{}{file}", file_base(c))).await
}

/// A reconciliation run's file: `discrepancies.csv`,
/// `discrepancies.json` or `national-fixes.csv`.
async fn run_file(
    person: Person,
    State(state): State<ApiState>,
    Path((raw, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    province_wide(&person)?;
    let id = number(&raw, "对账记录")?;
    let bytes = run_bytes(&state, id, file.clone()).await.map_err(|e| {
        let error = WebError::from(e);
        if error.status == StatusCode::NOT_FOUND {
            WebError::new(
                StatusCode::NOT_FOUND,
                format!("没有编号为 {id} 的对账记录，或其中没有这个文件。"),
            )
            .back("/reports")
        } else {
            error
        }
    })?;
    Ok(attachment(
        bytes,
        content_type(&file),
        &format!("对账{id}-{file}"),
    ))
}

/// The quarter of a circular to write.
#[derive(Debug, Deserialize)]
struct MakeForm {
    #[serde(default)]
    quarter: String,
}

/// Writes and stores a quarter's circular now, as `siteward report
/// QUARTER` does (with the quarter's newest reconciliation run), under
/// the person's name. Admins only: a circular is what the office
/// publishes.
async fn make(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    posted.person.require(Role::Admin)?;
    province_wide(&posted.person)?;
    let form: MakeForm = posted.form()?;
    let quarter: Quarter = form
        .quarter
        .trim()
        .parse()
        .map_err(|e: crate::registry::Invalid| WebError::from(e).back("/reports"))?;
    let app = state.app.clone();
    let actor = posted.person.caller.name.clone();
    // Its own task: a browser that goes away does not cut it short.
    let circular = tokio::spawn(async move {
        crate::app::report::report(
            &app,
            crate::app::report::Request {
                quarter,
                reconcile: None,
                trigger: Trigger::Manual,
                actor,
                now: chrono::Utc::now(),
            },
        )
        .await
    })
    .await
    .map_err(|e| WebError::internal(&anyhow::anyhow!("a circular's task stopped: {e}")))?
    .map_err(|e| WebError::from(e).back("/reports"))?;
    tracing::info!(user = %posted.person.caller.name, report = circular.id, quarter = %circular.quarter, "web: circular written");
    Ok(view::done(
        &format!("/reports/{}", circular.id),
        &format!(
            "已生成{}通报（编号 {}）。",
            circular.quarter.label_zh(),
            circular.id
        ),
    ))
}
