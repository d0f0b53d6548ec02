//! The organizations' forms (admins): a new organization from the list
//! (`POST /orgs`), and an organization corrected from its page (`POST
//! /orgs/{org}/edit`), with `org add` and `org edit`'s rules and the
//! API's checks of what a person limited to organizations may do.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::session::Posted;
use super::view::{self, WebError};
use crate::access::Role;
use crate::api::error::ApiError;
use crate::api::sites::{at, maybe_name, maybe_note, maybe_parsed, name, parsed};
use crate::api::{ApiState, blocking};
use crate::registry::{DivisionCode, OrgLevel};
use crate::store::{NewOrganization, OrgEdit};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/orgs", post(add))
        .route("/orgs/{org}/edit", post(edit))
}

/// A form's field: blank is none.
fn given(raw: &Option<String>) -> Option<String> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Contacts typed into one field: separated by spaces, commas or new
/// lines, each checked as a name.
fn contacts(field: &str, raw: &Option<String>) -> Result<Vec<String>, ApiError> {
    raw.as_deref()
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、' || c == ';')
        .filter(|c| !c.is_empty())
        .map(|c| name(field, c))
        .collect()
}

#[derive(Debug, Default, Deserialize)]
struct AddForm {
    name: Option<String>,
    division: Option<String>,
    level: Option<String>,
    parent: Option<String>,
    emails: Option<String>,
    webhooks: Option<String>,
}

/// Registers an organization, as `org add` and `POST /api/v1/orgs` do.
/// A person limited to organizations adds one only under one of them.
async fn add(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    const BACK: &str = "/orgs";
    posted.person.require(Role::Admin)?;
    let form: AddForm = posted.form().map_err(|e| e.back(BACK))?;
    let checked = (|| -> Result<_, ApiError> {
        Ok(NewOrganization {
            name: name("name", &given(&form.name).unwrap_or_default())?,
            division: parsed::<DivisionCode>(
                "division",
                &given(&form.division).unwrap_or_default(),
            )?,
            level: parsed::<OrgLevel>("level", &given(&form.level).unwrap_or_default())?,
            parent: maybe_name("parent", given(&form.parent).as_ref())?,
            emails: contacts("emails", &form.emails)?,
            webhooks: contacts("webhooks", &form.webhooks)?,
        })
    })();
    let mut new = checked.map_err(|e| WebError::from(e).back(BACK))?;
    if new.parent.is_none() && !posted.person.caller.visible.all() {
        return Err(WebError::new(
            StatusCode::FORBIDDEN,
            "您的账号仅限部分主办单位：新增主办单位时须填写上级单位（您可见的单位之一）。",
        )
        .back(BACK));
    }
    let auth = posted.person.auth();
    let org = blocking(&state, move |app| {
        let change = auth.change();
        if let Some(key) = new.parent.take() {
            new.parent = Some(auth.org(&key, app.store.org_by_key(&key))?.name);
        }
        Ok(app.store.add_org(&new, &app.policy(), &change)?.value)
    })
    .await
    .map_err(|e| WebError::from(e).back(BACK))?;
    tracing::info!(user = %posted.person.caller.name, org = %org.name, "web: organization added");
    Ok(view::done(
        &format!("/orgs/{}", org.id),
        &format!("已新增主办单位“{}”。", org.name),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct EditForm {
    name: Option<String>,
    division: Option<String>,
    level: Option<String>,
    parent: Option<String>,
    /// A checkbox: leave it without a parent.
    no_parent: Option<String>,
    add_emails: Option<String>,
    remove_emails: Option<String>,
    add_webhooks: Option<String>,
    remove_webhooks: Option<String>,
    reason: Option<String>,
    at: Option<String>,
}

/// Corrects an organization, as `org edit` and `PATCH /api/v1/orgs/{org}`
/// do: blank fields stay as they are.
async fn edit(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Admin)?;
    let back = format!(
        "/orgs/{}",
        url::form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
    );
    let form: EditForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let no_parent = given(&form.no_parent).is_some();
    let checked = (|| -> Result<_, ApiError> {
        let parent = maybe_name("parent", given(&form.parent).as_ref())?;
        if no_parent && parent.is_some() {
            return Err(ApiError::field(
                "no_parent",
                "on",
                "cannot be given with `parent`",
            ));
        }
        let edit = OrgEdit {
            name: maybe_name("name", given(&form.name).as_ref())?,
            division: maybe_parsed("division", given(&form.division).as_ref())?,
            level: maybe_parsed("level", given(&form.level).as_ref())?,
            parent: no_parent.then_some(None),
            add_emails: contacts("add_emails", &form.add_emails)?,
            add_webhooks: contacts("add_webhooks", &form.add_webhooks)?,
            remove_emails: contacts("remove_emails", &form.remove_emails)?,
            remove_webhooks: contacts("remove_webhooks", &form.remove_webhooks)?,
            reason: maybe_note("reason", given(&form.reason).as_ref())?,
        };
        Ok((edit, parent, at(given(&form.at).as_ref())?))
    })();
    let (mut edit, parent, at) = checked.map_err(|e| WebError::from(e).back(back.clone()))?;
    let unchanged = OrgEdit {
        reason: None,
        ..edit.clone()
    } == OrgEdit::default()
        && parent.is_none();
    if unchanged {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "没有填写要修改的内容：留空的项目保持不变。",
        )
        .back(back));
    }
    let auth = posted.person.auth();
    let detail = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        auth.org(&key, app.store.org_by_key(&key))?;
        if let Some(parent) = parent {
            edit.parent = Some(Some(auth.org(&parent, app.store.org_by_key(&parent))?.name));
        }
        Ok(crate::app::registry::edit_org(&app.store, &app.policy(), &key, &edit, &change)?.value)
    })
    .await
    .map_err(|e| WebError::from(e).back(back.clone()))?;
    tracing::info!(user = %posted.person.caller.name, org = %detail.org.name, "web: organization edited");
    Ok(view::done(
        &format!("/orgs/{}", detail.org.id),
        &format!("已修改主办单位“{}”。", detail.org.name),
    ))
}
