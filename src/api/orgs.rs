//! `/api/v1/orgs` and `/api/v1/accounts`: organizations (listed, shown
//! with their sites and accounts, added, corrected) and the new-media
//! accounts they run (listed, added, corrected, taken through their
//! lifecycle, and their posts recorded), as `siteward org` and `siteward
//! account` do. An account is seen by whoever sees its organization.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Auth;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::page::{Page, PageQuery};
use super::sites::{at, field, maybe_name, maybe_note, maybe_parsed, name, note, parsed};
use super::{ApiState, blocking};
use crate::access::Role;
use crate::dto::registry::{
    AccountAddBody, AccountDto, AccountEditBody, AtBody, OrgAddBody, OrgDetailDto, OrgDto,
    OrgEditBody, ReasonBody,
};
use crate::registry::lifecycle::AccountAction;
use crate::registry::{Account, AccountStatus, DivisionCode, OrgLevel};
use crate::store::{AccountEdit, NewAccount, NewOrganization, OrgEdit, StoreError};

/// This module's routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, add_org))
        .routes(routes!(get_org, edit_org))
        .routes(routes!(list_accounts, add_account))
        .routes(routes!(get_account, edit_account))
        .routes(routes!(suspend_account))
        .routes(routes!(resume_account))
        .routes(routes!(close_account))
        .routes(routes!(record_post))
}

/// Names (e-mail addresses, webhook URLs) each checked as a name.
fn names(field_name: &str, raw: &[String]) -> Result<Vec<String>, ApiError> {
    raw.iter().map(|r| name(field_name, r)).collect()
}

/// The organizations the caller sees, by id.
#[utoipa::path(
    get,
    path = "/api/v1/orgs",
    tag = "orgs",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of organizations", body = Page<OrgDto>),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
    )
)]
async fn list_orgs(
    State(state): State<ApiState>,
    auth: Auth,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<OrgDto>>, ApiError> {
    let window = paging.window()?;
    let page = blocking(&state, move |app| {
        let orgs = crate::app::registry::visible_orgs(&app.store, &auth.0.visible)?;
        Ok(window.page(orgs, |o| o.id, |o| OrgDto::from(&o)))
    })
    .await?;
    Ok(Json(page))
}

/// An organization (by name or id) with its sites and accounts, as `org
/// show` gives it.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}",
    tag = "orgs",
    params(("org" = String, Path, description = "Name or id")),
    responses(
        (status = 200, description = "The organization", body = OrgDetailDto),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such organization, or not the caller's", body = ErrorBody),
    )
)]
async fn get_org(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<OrgDetailDto>, ApiError> {
    let detail = blocking(&state, move |app| {
        let org = auth.org(&key, app.store.org_by_key(&key))?;
        Ok(crate::app::registry::org_detail(&app.store, &org.name)?)
    })
    .await?;
    Ok(Json(OrgDetailDto::from(&detail)))
}

/// Registers an organization, as `org add` does. A token limited to
/// organizations adds one only under an organization it sees.
#[utoipa::path(
    post,
    path = "/api/v1/orgs",
    tag = "orgs",
    request_body = OrgAddBody,
    responses(
        (status = 201, description = "The organization, added", body = OrgDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token, or a limited one adding at the top", body = ErrorBody),
        (status = 404, description = "No such parent, or not the caller's", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
async fn add_org(
    State(state): State<ApiState>,
    auth: Auth,
    super::extract::Json(body): super::extract::Json<OrgAddBody>,
) -> Result<(StatusCode, Json<OrgDto>), ApiError> {
    auth.require(Role::Admin)?;
    let new = checked_org(&body, &auth)?;
    let org = blocking(&state, move |app| add_checked_org(app, &auth, new)).await?;
    Ok((StatusCode::CREATED, Json(OrgDto::from(&org))))
}

/// A new organization's fields checked as `org add` checks them; a caller
/// limited to organizations must name a parent (the web page's form is
/// read into the same body).
pub(crate) fn checked_org(body: &OrgAddBody, auth: &Auth) -> Result<NewOrganization, ApiError> {
    let new = NewOrganization {
        name: name("name", &body.name)?,
        division: parsed::<DivisionCode>("division", &body.division)?,
        level: parsed::<OrgLevel>("level", &body.level)?,
        parent: maybe_name("parent", body.parent.as_ref())?,
        emails: names("emails", &body.emails)?,
        webhooks: names("webhooks", &body.webhooks)?,
    };
    if new.parent.is_none() && !auth.0.visible.all() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a token or user limited to organizations adds organizations only under one of them: give `parent`",
        ));
    }
    Ok(new)
}

/// Adds a checked organization under a parent the caller sees.
pub(crate) fn add_checked_org(
    app: &crate::app::App,
    auth: &Auth,
    mut new: NewOrganization,
) -> Result<crate::registry::Organization, ApiError> {
    let change = auth.change();
    if let Some(key) = new.parent.take() {
        new.parent = Some(auth.org(&key, app.store.org_by_key(&key))?.name);
    }
    Ok(app.store.add_org(&new, &app.policy(), &change)?.value)
}

/// Corrects an organization, as `org edit` does: only the fields given
/// change; its sites, accounts and children stay attached.
#[utoipa::path(
    patch,
    path = "/api/v1/orgs/{org}",
    tag = "orgs",
    params(("org" = String, Path, description = "Name or id")),
    request_body = OrgEditBody,
    responses(
        (status = 200, description = "The organization, changed, with its sites and accounts", body = OrgDetailDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such organization or parent, or not the caller's", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
async fn edit_org(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<OrgEditBody>,
) -> Result<Json<OrgDetailDto>, ApiError> {
    auth.require(Role::Admin)?;
    let edit = CheckedOrgEdit::of(&body)?;
    let detail = blocking(&state, move |app| edit.apply(app, &auth, &key)).await?;
    Ok(Json(OrgDetailDto::from(&detail)))
}

/// An organization's correction checked as `org edit` checks it (the web
/// page's form is read into the same body).
pub(crate) struct CheckedOrgEdit {
    edit: OrgEdit,
    /// The new parent, resolved against what the caller sees.
    parent: Option<String>,
    at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CheckedOrgEdit {
    pub(crate) fn of(body: &OrgEditBody) -> Result<CheckedOrgEdit, ApiError> {
        if body.no_parent && body.parent.is_some() {
            return Err(ApiError::field(
                "no_parent",
                "true",
                "cannot be given with `parent`",
            ));
        }
        Ok(CheckedOrgEdit {
            edit: OrgEdit {
                name: maybe_name("name", body.name.as_ref())?,
                division: maybe_parsed("division", body.division.as_ref())?,
                level: maybe_parsed("level", body.level.as_ref())?,
                parent: body.no_parent.then_some(None),
                add_emails: names("add_emails", &body.add_emails)?,
                add_webhooks: names("add_webhooks", &body.add_webhooks)?,
                remove_emails: names("remove_emails", &body.remove_emails)?,
                remove_webhooks: names("remove_webhooks", &body.remove_webhooks)?,
                reason: maybe_note("reason", body.reason.as_ref())?,
            },
            parent: maybe_name("parent", body.parent.as_ref())?,
            at: at(body.at.as_ref())?,
        })
    }

    /// Whether it asks for no change at all (a reason alone is none).
    pub(crate) fn is_empty(&self) -> bool {
        self.parent.is_none()
            && OrgEdit {
                reason: None,
                ..self.edit.clone()
            } == OrgEdit::default()
    }

    /// Corrects the organization `key` if the caller sees it (and the
    /// parent it moves under), under the caller's name.
    pub(crate) fn apply(
        self,
        app: &crate::app::App,
        auth: &Auth,
        key: &str,
    ) -> Result<crate::app::registry::OrgDetail, ApiError> {
        let change = auth.change_at(self.at)?;
        auth.org(key, app.store.org_by_key(key))?;
        let mut edit = self.edit;
        if let Some(parent) = self.parent {
            edit.parent = Some(Some(auth.org(&parent, app.store.org_by_key(&parent))?.name));
        }
        Ok(crate::app::registry::edit_org(&app.store, &app.policy(), key, &edit, &change)?.value)
    }
}

/// The account if the caller sees its organization; 404 otherwise, as if
/// it did not exist (the web page asks the same).
pub(crate) fn visible_account(
    auth: &Auth,
    key: &str,
    account: Result<Account, StoreError>,
) -> Result<Account, ApiError> {
    match account {
        Ok(account) if auth.0.visible.org_name(&account.org) => Ok(account),
        Ok(_) => Err(ApiError::not_found("account", key)),
        Err(e) => Err(e.into()),
    }
}

/// Filters of the account list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only accounts in this status: `active`, `suspended` or `closed`.
    pub status: Option<String>,
    /// Only the accounts of this organization (name or id).
    pub org: Option<String>,
}

/// The accounts the caller sees, by id.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    params(AccountQuery, PageQuery),
    responses(
        (status = 200, description = "A page of accounts", body = Page<AccountDto>),
        (status = 400, description = "A bad filter or cursor", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such organization, or not the caller's", body = ErrorBody),
    )
)]
async fn list_accounts(
    State(state): State<ApiState>,
    auth: Auth,
    Query(query): Query<AccountQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<Json<Page<AccountDto>>, ApiError> {
    let window = paging.window()?;
    let status: Option<AccountStatus> = maybe_parsed("status", query.status.as_ref())?;
    let page = blocking(&state, move |app| {
        let org = match &query.org {
            Some(key) => Some(auth.org(key, app.store.org_by_key(key))?.name),
            None => None,
        };
        let accounts = crate::app::registry::visible_accounts(
            &app.store,
            &auth.0.visible,
            &crate::app::registry::AccountFilter {
                status,
                org,
                platform: None,
            },
        )?;
        Ok(window.page(accounts, |a| a.id, |a| AccountDto::from(&a)))
    })
    .await?;
    Ok(Json(page))
}

/// An account: its id, or `PLATFORM:ACCOUNT_ID` (`weibo:gansufabu`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account}",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    responses(
        (status = 200, description = "The account", body = AccountDto),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 404, description = "No such account, or not the caller's", body = ErrorBody),
    )
)]
async fn get_account(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<AccountDto>, ApiError> {
    let account = blocking(&state, move |app| {
        visible_account(&auth, &key, app.store.account(&key))
    })
    .await?;
    Ok(Json(AccountDto::from(&account)))
}

/// Registers an account (→ active), as `account add` does.
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    request_body = AccountAddBody,
    responses(
        (status = 201, description = "The account, added", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such organization, or not the caller's", body = ErrorBody),
        (status = 409, description = "The account is already registered", body = ErrorBody),
    )
)]
async fn add_account(
    State(state): State<ApiState>,
    auth: Auth,
    super::extract::Json(body): super::extract::Json<AccountAddBody>,
) -> Result<(StatusCode, Json<AccountDto>), ApiError> {
    auth.require(Role::Admin)?;
    let platform = field("platform", crate::transfer::parse_platform(&body.platform))?;
    let account_id = name("account_id", &body.account_id)?;
    let account_name = name("name", &body.name)?;
    let org = name("org", &body.org)?;
    let feed_url = maybe_note("feed_url", body.feed_url.as_ref())?;
    let at = at(body.at.as_ref())?;
    let account = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        let org = auth.org(&org, app.store.org_by_key(&org))?;
        Ok(app.store.add_account(
            &NewAccount {
                platform,
                account_id,
                name: account_name,
                org: org.name,
                feed_url,
            },
            &change,
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(AccountDto::from(&account))))
}

/// Corrects an account's display name, organization or feed, as `account
/// edit` does.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account}",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    request_body = AccountEditBody,
    responses(
        (status = 200, description = "The account, changed", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such account or organization, or not the caller's", body = ErrorBody),
    )
)]
async fn edit_account(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AccountEditBody>,
) -> Result<Json<AccountDto>, ApiError> {
    auth.require(Role::Admin)?;
    if body.no_feed && body.feed_url.is_some() {
        return Err(ApiError::field(
            "no_feed",
            "true",
            "cannot be given with `feed_url`",
        ));
    }
    let org = maybe_name("org", body.org.as_ref())?;
    let feed = maybe_note("feed_url", body.feed_url.as_ref())?;
    let mut edit = AccountEdit {
        name: maybe_name("name", body.name.as_ref())?,
        org: None,
        feed_url: if body.no_feed {
            Some(None)
        } else {
            feed.map(Some)
        },
        reason: maybe_note("reason", body.reason.as_ref())?,
    };
    let at = at(body.at.as_ref())?;
    let account = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        visible_account(&auth, &key, app.store.account(&key))?;
        if let Some(org) = org {
            edit.org = Some(auth.org(&org, app.store.org_by_key(&org))?.name);
        }
        Ok(crate::app::registry::edit_account(
            &app.store, &key, &edit, &change,
        )?)
    })
    .await?;
    Ok(Json(AccountDto::from(&account)))
}

/// Takes an account the caller sees through `action`, effective `at`.
async fn account_transition(
    state: ApiState,
    auth: Auth,
    key: String,
    action: AccountAction,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Json<AccountDto>, ApiError> {
    let account = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        visible_account(&auth, &key, app.store.account(&key))?;
        Ok(app.store.transition_account(&key, &action, &change)?)
    })
    .await?;
    Ok(Json(AccountDto::from(&account)))
}

/// Suspends an active account (→ suspended), with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account}/suspend",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The account, suspended", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such account, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn suspend_account(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<ReasonBody>,
) -> Result<Json<AccountDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = AccountAction::Suspend {
        reason: note("reason", &body.reason)?,
    };
    let at = at(body.at.as_ref())?;
    account_transition(state, auth, key, action, at).await
}

/// Resumes a suspended account (→ active).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account}/resume",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    request_body = AtBody,
    responses(
        (status = 200, description = "The account, active again", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such account, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn resume_account(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AtBody>,
) -> Result<Json<AccountDto>, ApiError> {
    auth.require(Role::Admin)?;
    let at = at(body.at.as_ref())?;
    account_transition(state, auth, key, AccountAction::Resume, at).await
}

/// Closes an account for good (→ closed), with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account}/close",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The account, closed", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such account, or not the caller's", body = ErrorBody),
        (status = 409, description = "Not allowed from its status", body = ErrorBody),
    )
)]
async fn close_account(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<ReasonBody>,
) -> Result<Json<AccountDto>, ApiError> {
    auth.require(Role::Admin)?;
    let action = AccountAction::Close {
        reason: note("reason", &body.reason)?,
    };
    let at = at(body.at.as_ref())?;
    account_transition(state, auth, key, action, at).await
}

/// Records a post seen on the account, now or `at` (as `account seen`);
/// operators may.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account}/posts",
    tag = "accounts",
    params(("account" = String, Path, description = "Id, or PLATFORM:ACCOUNT_ID")),
    request_body = AtBody,
    responses(
        (status = 200, description = "The account, its last post recorded", body = AccountDto),
        (status = 400, description = "A value refused; nothing changed", body = ErrorBody),
        (status = 401, description = "No token in use", body = ErrorBody),
        (status = 403, description = "A viewer token", body = ErrorBody),
        (status = 404, description = "No such account, or not the caller's", body = ErrorBody),
    )
)]
async fn record_post(
    State(state): State<ApiState>,
    auth: Auth,
    Path(key): Path<String>,
    super::extract::Json(body): super::extract::Json<AtBody>,
) -> Result<Json<AccountDto>, ApiError> {
    auth.require(Role::Operator)?;
    let at = at(body.at.as_ref())?;
    let account = blocking(&state, move |app| {
        let change = auth.change_at(at)?;
        visible_account(&auth, &key, app.store.account(&key))?;
        Ok(app.store.account_seen(&key, &change)?)
    })
    .await?;
    Ok(Json(AccountDto::from(&account)))
}
