//! The home page (总览): what is wrong today, at a glance.

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::session::Person;
use super::view::{self, Frame, WebError};
use crate::api::ApiState;

/// This page's routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/", get(home))
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    msg: Option<String>,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct Home {
    frame: Frame,
}

async fn home(person: Person, Query(query): Query<Notice>) -> Result<Response, WebError> {
    view::page(&Home {
        frame: person.frame("/", "总览").with_notice(view::notice(query.msg)),
    })
}
