//! The import page (导入): organizations, sites or accounts from a CSV or
//! Excel workbook, as `siteward import orgs|sites|accounts FILE` and
//! `POST /api/v1/import/{entity}` do, in two steps: the file is uploaded
//! and checked by a dry run (`POST /import`: nothing stored; how many
//! rows would be added, changed or left alone, and every bad row with
//! its line, field, value and the command line's reason), then, only if
//! no row is bad, imported for real when the person confirms
//! (`POST /import/confirm`), all or nothing, audited under their name.
//!
//! Between the two steps the file stays on the server (see [`Pending`]):
//! the person confirms exactly the bytes they saw checked. Imports need
//! an admin who sees every organization (a file may touch any of them),
//! as the API's imports do.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;

use super::session::{Person, Posted, same_origin};
use super::view::{self, Frame, WebError};
use crate::access::Role;
use crate::api::error::ApiError;
use crate::api::files::UPLOAD_LIMIT;
use crate::api::{ApiState, blocking};
use crate::app::registry::ImportFile;
use crate::store::{ImportSummary, StoreError};
use crate::transfer::{Entity, FileInfo, RowError};

/// How long a checked file waits for its confirmation.
const PENDING_TTL: Duration = Duration::from_secs(30 * 60);
/// The most bytes of checked files kept waiting at once, all people
/// together; the oldest go first (and must be uploaded again).
const PENDING_BYTES: usize = 2 * UPLOAD_LIMIT;
/// The most bad rows or warnings a page lists (the count says the rest).
const SHOWN_ROWS: usize = 500;

/// This page's routes; uploads may be as large as the API's.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/import", get(form).post(dry_run))
        .route("/import/confirm", post(confirm))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
}

/// What can be imported, as the command line names it, and as an office
/// says it.
const ENTITIES: [(&str, &str); 3] = [
    ("orgs", "主办单位"),
    ("sites", "网站"),
    ("accounts", "政务新媒体账号"),
];

fn entity_zh(entity: Entity) -> &'static str {
    match entity {
        Entity::Orgs => "主办单位",
        Entity::Sites => "网站",
        Entity::Accounts => "政务新媒体账号",
    }
}

fn entity_key(entity: Entity) -> &'static str {
    match entity {
        Entity::Orgs => "orgs",
        Entity::Sites => "sites",
        Entity::Accounts => "accounts",
    }
}

/// Whether the person may import: an admin who sees every organization,
/// as the API decides it; otherwise why not, in Chinese.
fn may_import(person: &Person) -> Result<(), WebError> {
    person.require(Role::Admin)?;
    person.auth().province_wide("imports").map_err(|_| {
        WebError::new(
            StatusCode::FORBIDDEN,
            format!(
                "导入的文件可能涉及全省任一主办单位：{} 仅能管理部分主办单位，无权导入。",
                person.caller.name
            ),
        )
    })
}

// ------------------------------------------------------ files waiting

/// A file checked by a dry run, waiting for its confirmation.
///
/// Kept on the server, in memory, under a random id bound to the person
/// and their session, until it is confirmed (once) or expires: the
/// confirmation imports exactly the bytes the dry run checked, whatever
/// the browser sends, and the person need not choose the file again
/// (re-sending it and comparing digests would rely on them picking the
/// same file). Memory rather than a temporary directory: no office's
/// registry data is left on disk after a crash, there is nothing shared
/// in `/tmp` to guard, and it is bounded ([`PENDING_BYTES`], one file per
/// session). A restart forgets them: the file is uploaded again.
struct Pending {
    user: String,
    /// The SHA-256 of the session's form token: another session of the
    /// same person cannot confirm it.
    session: Vec<u8>,
    entity: Entity,
    name: String,
    bytes: Bytes,
    /// Hex SHA-256 of `bytes`, shown with the dry run.
    sha256: String,
    expires: Instant,
}

static PENDING: LazyLock<Mutex<HashMap<String, Pending>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

fn random_id() -> Result<String, WebError> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        WebError::internal(&anyhow::anyhow!(
            "the system's random number generator failed"
        ))
    })?;
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Keeps `pending` until confirmed; its id. The session's earlier file,
/// if any, is forgotten (its dry run is out of date).
fn keep(pending: Pending) -> Result<String, WebError> {
    let id = random_id()?;
    let now = Instant::now();
    let mut all = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|_, p| p.expires > now && p.session != pending.session);
    let mut total: usize = all.values().map(|p| p.bytes.len()).sum();
    while total + pending.bytes.len() > PENDING_BYTES {
        let oldest = all
            .iter()
            .min_by_key(|(_, p)| p.expires)
            .map(|(id, _)| id.clone());
        match oldest.and_then(|id| all.remove(&id)) {
            Some(gone) => total -= gone.bytes.len(),
            None => break,
        }
    }
    all.insert(id.clone(), pending);
    Ok(id)
}

/// The file `id` kept for this person's session, taken (a confirmation
/// is used once) if `digest` names it; refused, and left as it was,
/// when it expired, was used, is not theirs, or is not what they saw.
fn take(id: &str, digest: &str, person: &Person) -> Result<Pending, WebError> {
    let mut all = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    let session = sha256(person.csrf.as_bytes());
    let theirs = all.get(id).filter(|p| {
        p.user == person.caller.name && p.session == session && p.expires > Instant::now()
    });
    let Some(pending) = theirs else {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "这次预检的文件已过期（30 分钟）、已导入过，或不属于当前登录，未作任何更改。请重新选择文件预检。",
        )
        .back("/import"));
    };
    // The digest the person confirms must name the bytes kept, and they
    // must still be those checked.
    if digest != pending.sha256
        || crate::probe::http::hex(&sha256(&pending.bytes)) != pending.sha256
    {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "sha256: 确认的文件校验值与预检的文件不符，未作任何更改。请重新选择文件预检。",
        )
        .back("/import"));
    }
    all.remove(id)
        .ok_or_else(|| WebError::internal(&anyhow::anyhow!("a kept file vanished")))
}

// ------------------------------------------------------------- pages

#[derive(Debug, Default, Deserialize)]
struct Notice {
    msg: Option<String>,
}

#[derive(Template)]
#[template(path = "web/import.html")]
struct ImportPage {
    frame: Frame,
    /// Why the person may not import; the form otherwise.
    refused: Option<String>,
    entities: [(&'static str, &'static str); 3],
    limit_mb: usize,
}

async fn form(person: Person, Query(q): Query<Notice>) -> Result<Response, WebError> {
    view::page(&ImportPage {
        frame: person
            .frame("/import", "导入")
            .with_notice(view::notice(q.msg)),
        refused: may_import(&person).err().map(|e| e.message),
        entities: ENTITIES,
        limit_mb: UPLOAD_LIMIT / (1024 * 1024),
    })
}

/// A bad row as the page lists it.
struct BadRow {
    line: u64,
    field: String,
    value: String,
    /// The command line's words.
    reason: String,
}

impl From<&RowError> for BadRow {
    fn from(e: &RowError) -> BadRow {
        BadRow {
            line: e.line,
            field: e.field.clone().unwrap_or_default(),
            value: e.value.clone().unwrap_or_default(),
            reason: e.message.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/import_result.html")]
struct ResultPage {
    frame: Frame,
    entity: &'static str,
    entity_key: &'static str,
    name: String,
    sha256: String,
    encoding: &'static str,
    ignored_columns: Vec<String>,
    /// The counts, when no row is bad.
    summary: Option<ImportSummary>,
    warnings: Vec<BadRow>,
    bad: Vec<BadRow>,
    /// Bad rows in all (more than listed when very many).
    bad_total: usize,
    /// The kept file's id, when it may be confirmed.
    upload: Option<String>,
    /// Refused at confirmation: the registry changed since the dry run.
    at_confirmation: bool,
}

impl ResultPage {
    fn changes(&self) -> bool {
        self.summary
            .as_ref()
            .is_some_and(|s| s.created + s.updated + s.orgs_created > 0)
    }
}

/// What a dry run or an import found: the counts, or every bad row.
type Outcome = (FileInfo, Result<ImportSummary, Vec<RowError>>);

/// Parses `bytes` and imports them (or only checks, with `dry_run`), as
/// the API's import does; bad rows are an outcome, not an error.
async fn run(
    state: &ApiState,
    person: &Person,
    entity: Entity,
    name: String,
    bytes: Bytes,
    dry_run: bool,
) -> Result<Outcome, WebError> {
    let change = person.caller.change();
    blocking(state, move |app| {
        let file = ImportFile::from_bytes(entity, &name, &bytes)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{name}: {e}")))?;
        let outcome =
            crate::app::registry::import(&app.store, &app.policy(), &file, dry_run, &change);
        match outcome {
            Ok(report) => Ok((report.info, Ok(report.summary))),
            Err(StoreError::Import(rows)) => Ok((file.info, Err(rows))),
            Err(e) => Err(e.into()),
        }
    })
    .await
    .map_err(|e| WebError::from(e).back("/import"))
}

fn result_page(
    person: &Person,
    entity: Entity,
    name: String,
    sha256: String,
    (info, outcome): Outcome,
    upload: Option<String>,
) -> ResultPage {
    let (summary, bad, bad_total) = match outcome {
        Ok(summary) => (Some(summary), Vec::new(), 0),
        Err(rows) => (
            None,
            rows.iter().take(SHOWN_ROWS).map(BadRow::from).collect(),
            rows.len(),
        ),
    };
    let warnings = summary
        .as_ref()
        .map(|s| {
            s.warnings
                .iter()
                .take(SHOWN_ROWS)
                .map(|(line, w)| BadRow {
                    line: *line,
                    field: w.field.clone(),
                    value: w.value.clone(),
                    reason: w.message.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    ResultPage {
        frame: person.frame("/import", "导入预检结果"),
        entity: entity_zh(entity),
        entity_key: entity_key(entity),
        name,
        sha256,
        encoding: info.encoding,
        ignored_columns: info.ignored_columns,
        summary,
        warnings,
        bad,
        bad_total,
        upload,
        at_confirmation: false,
    }
}

/// A multipart body that could not be read.
fn unreadable(status: StatusCode) -> WebError {
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "文件超过 {} MB，未作任何更改。",
            UPLOAD_LIMIT / (1024 * 1024)
        )
    } else {
        "表单未能读完（应以 multipart/form-data 提交，含所选文件），未作任何更改。".to_string()
    };
    WebError::new(status, message).back("/import")
}

/// The dry run: the form's token checked before the file is read, the
/// file parsed and every row checked as the import would, nothing
/// stored; the result page, with the confirmation form when no row is
/// bad.
async fn dry_run(
    person: Person,
    State(state): State<ApiState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    // Who, and from where, before anything of the body is read.
    may_import(&person)?;
    same_origin(&headers)?;
    let mut multipart = multipart.map_err(|e| unreadable(e.status()))?;
    // The form's token comes first (the form puts it first; browsers
    // send fields in order): nothing else is read before it is checked.
    let first = multipart
        .next_field()
        .await
        .map_err(|e| unreadable(e.status()))?;
    let token = match first {
        Some(field) if field.name() == Some("csrf") => {
            field.text().await.map_err(|e| unreadable(e.status()))?
        }
        _ => String::new(),
    };
    person.check_csrf(&token)?;
    let mut entity_raw = None;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable(e.status()))?
    {
        match field.name() {
            Some("entity") => {
                entity_raw = Some(field.text().await.map_err(|e| unreadable(e.status()))?);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| unreadable(e.status()))?;
                file = Some((name, bytes));
            }
            // Anything else is not ours: skipped.
            _ => {}
        }
    }
    let entity_raw = entity_raw.unwrap_or_default();
    let entity = crate::api::files::entity(entity_raw.trim())
        .map_err(|e| WebError::from(e).back("/import"))?;
    let (name, bytes) = match file {
        Some((name, bytes)) if !(name.is_empty() && bytes.is_empty()) => (name, bytes),
        _ => {
            return Err(WebError::new(
                StatusCode::BAD_REQUEST,
                "file: 请选择要导入的文件（CSV 或 Excel 工作簿），未作任何更改。",
            )
            .back("/import"));
        }
    };
    let name = if name.trim().is_empty() {
        "上传的文件".to_string()
    } else {
        crate::registry::text::name("file", &name).map_err(|e| WebError::from(e).back("/import"))?
    };
    let digest = crate::probe::http::hex(&sha256(&bytes));
    let outcome = run(&state, &person, entity, name.clone(), bytes.clone(), true).await?;
    // Only a clean file may be confirmed: it is kept for that.
    let upload = match &outcome.1 {
        Ok(_) => Some(keep(Pending {
            user: person.caller.name.clone(),
            session: sha256(person.csrf.as_bytes()),
            entity,
            name: name.clone(),
            bytes,
            sha256: digest.clone(),
            expires: Instant::now() + PENDING_TTL,
        })?),
        Err(_) => None,
    };
    tracing::info!(
        user = %person.caller.name,
        file = %name,
        entity = entity_key(entity),
        clean = outcome.1.is_ok(),
        "web: import checked (dry run)"
    );
    view::page(&result_page(&person, entity, name, digest, outcome, upload))
}

/// The confirmation of a clean dry run.
#[derive(Debug, Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    upload: String,
    /// The digest the person was shown: what they confirm.
    #[serde(default)]
    sha256: String,
}

/// Imports the file the dry run checked, all or nothing, audited under
/// the person; a row refused now (the registry changed meanwhile) shows
/// the rows again and changes nothing.
async fn confirm(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    may_import(&posted.person)?;
    let form: ConfirmForm = posted.form()?;
    let person = &posted.person;
    let pending = take(form.upload.trim(), form.sha256.trim(), person)?;
    let Pending {
        entity,
        name,
        bytes,
        sha256: digest,
        ..
    } = pending;
    let outcome = run(&state, person, entity, name.clone(), bytes, false).await?;
    match outcome.1 {
        Ok(summary) => {
            tracing::info!(
                user = %person.caller.name,
                file = %name,
                entity = entity_key(entity),
                created = summary.created,
                updated = summary.updated,
                "web: imported"
            );
            Ok(view::done(
                "/import",
                &format!(
                    "已导入 {name}（{}）：新增 {} 条，更新 {} 条，未变 {} 条{}。",
                    entity_zh(entity),
                    summary.created,
                    summary.updated,
                    summary.unchanged,
                    if summary.orgs_created > 0 {
                        format!("，新建主办单位 {} 个", summary.orgs_created)
                    } else {
                        String::new()
                    }
                ),
            ))
        }
        Err(_) => {
            let mut page = result_page(person, entity, name, digest, outcome, None);
            page.at_confirmation = true;
            let mut response = view::page(&page)?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
    }
}
