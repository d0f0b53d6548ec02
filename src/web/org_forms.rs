//! The organizations' forms (admins): a new organization from the list
//! (`POST /orgs`), and an organization corrected from its page (`POST
//! /orgs/{org}/edit`), with `org add` and `org edit`'s rules and the
//! API's checks of what a person limited to organizations may do.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::session::Posted;
use super::view::{self, WebError, given};
use crate::access::Role;
use crate::api::orgs::{CheckedOrgEdit, add_checked_org, checked_org};
use crate::api::{ApiState, blocking};
use crate::dto::registry::{OrgAddBody, OrgEditBody};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/orgs", post(add))
        .route("/orgs/{org}/edit", post(edit))
}

/// Contacts typed into one field: separated by spaces, commas or new
/// lines.
fn contacts(raw: &Option<String>) -> Vec<String> {
    raw.as_deref()
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、' || c == ';')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
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

/// Registers an organization, as `org add` and `POST /api/v1/orgs` do
/// (the form read into the API's body, checked and added by the same
/// code). A person limited to organizations adds one only under one of
/// them.
async fn add(State(state): State<ApiState>, posted: Posted) -> Result<Response, WebError> {
    const BACK: &str = "/orgs";
    posted.person.require(Role::Admin)?;
    let form: AddForm = posted.form().map_err(|e| e.back(BACK))?;
    let body = OrgAddBody {
        name: given(&form.name).unwrap_or_default(),
        division: given(&form.division).unwrap_or_default(),
        level: given(&form.level).unwrap_or_default(),
        parent: given(&form.parent),
        emails: contacts(&form.emails),
        webhooks: contacts(&form.webhooks),
    };
    let auth = posted.person.auth();
    let new = checked_org(&body, &auth).map_err(|e| WebError::from(e).back(BACK))?;
    let org = blocking(&state, move |app| add_checked_org(app, &auth, new))
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
/// do (the same checks and code): blank fields stay as they are.
async fn edit(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.person.require(Role::Admin)?;
    let back = format!("/orgs/{}", view::segment(&key));
    let form: EditForm = posted.form().map_err(|e| e.back(back.clone()))?;
    let body = OrgEditBody {
        name: given(&form.name),
        division: given(&form.division),
        level: given(&form.level),
        parent: given(&form.parent),
        no_parent: given(&form.no_parent).is_some(),
        add_emails: contacts(&form.add_emails),
        add_webhooks: contacts(&form.add_webhooks),
        remove_emails: contacts(&form.remove_emails),
        remove_webhooks: contacts(&form.remove_webhooks),
        reason: given(&form.reason),
        at: given(&form.at),
    };
    let edit = CheckedOrgEdit::of(&body).map_err(|e| WebError::from(e).back(back.clone()))?;
    if edit.is_empty() {
        return Err(WebError::nothing_to_change().back(back));
    }
    let auth = posted.person.auth();
    let detail = blocking(&state, move |app| edit.apply(app, &auth, &key))
        .await
        .map_err(|e| WebError::from(e).back(back.clone()))?;
    tracing::info!(user = %posted.person.caller.name, org = %detail.org.name, "web: organization edited");
    Ok(view::done(
        &format!("/orgs/{}", detail.org.id),
        &format!("已修改主办单位“{}”。", detail.org.name),
    ))
}
