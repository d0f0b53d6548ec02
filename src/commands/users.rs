//! `user add|list|disable|passwd`: the people who log in to the web page
//! (`app::users`). A password is read here, from a prompt without echo on
//! a terminal or as two lines of stdin, and never from the command line
//! (where `ps` and the shell's history would show it).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use serde_json::{Value, json};

use super::{Context, InvalidInput, print_list};
use crate::app::users::{self, User};
use crate::cli::UserCommand;
use crate::clock;
use crate::output::{self, Table, json_line};

pub(super) fn run(context: &Context, command: UserCommand, out: &mut impl Write) -> Result<()> {
    match command {
        UserCommand::Add {
            name,
            role,
            org,
            with_subordinates,
        } => {
            let password = password(&name)?;
            let user = users::add(
                context.store(),
                &name,
                role,
                &org,
                with_subordinates,
                &password,
                &context.change(None)?,
            )?;
            if context.json {
                json_line(out, &user_json(&user))?;
            } else {
                let limit = if user.orgs.is_empty() {
                    "every organization".to_string()
                } else {
                    format!(
                        "{} organization(s){}",
                        user.orgs.len(),
                        if user.with_subordinates {
                            " and those within their divisions"
                        } else {
                            ""
                        }
                    )
                };
                writeln!(
                    out,
                    "user `{}` made: role {}, sees {limit}; they log in to the web page with the password given",
                    output::escape(&user.name),
                    user.role
                )?;
            }
        }
        UserCommand::List => {
            let users = users::list(context.store())?;
            print_list(context, &users, user_json, users_table, out)?;
        }
        UserCommand::Disable { name } => {
            let user = users::disable(context.store(), &name, &context.change(None)?)?;
            if context.json {
                json_line(out, &user_json(&user))?;
            } else {
                writeln!(
                    out,
                    "user `{}` disabled: their sessions have ended and they can no longer log in",
                    output::escape(&user.name)
                )?;
            }
        }
        UserCommand::Passwd { name } => {
            let password = password(&name)?;
            let user =
                users::set_password(context.store(), &name, &password, &context.change(None)?)?;
            if context.json {
                json_line(out, &user_json(&user))?;
            } else {
                writeln!(
                    out,
                    "user `{}` has a new password: their sessions have ended",
                    output::escape(&user.name)
                )?;
            }
        }
    }
    Ok(())
}

/// The new password for user `name`, asked twice: at a prompt without
/// echo when stdin is a terminal, else as the first two lines of stdin.
/// The two must match.
fn password(name: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let (first, second) = if stdin.is_terminal() {
        let first = rpassword::prompt_password(format!(
            "new password for `{}` (at least {} characters): ",
            output::escape(name),
            users::MIN_PASSWORD
        ))?;
        let second = rpassword::prompt_password("the same again: ")?;
        (first, second)
    } else {
        let mut lines = stdin.lock().lines();
        let mut line = |which: &str| -> Result<String> {
            match lines.next() {
                Some(line) => Ok(line?.trim_end_matches('\r').to_string()),
                None => Err(InvalidInput(format!(
                    "stdin ended before the {which}: give the password on two lines of stdin, \
                     the second repeating the first (or run the command at a terminal to be asked); \
                     nothing was stored"
                ))
                .into()),
            }
        };
        (line("password")?, line("password's repetition")?)
    };
    if first != second {
        return Err(
            InvalidInput("the two passwords given differ; nothing was stored".to_string()).into(),
        );
    }
    Ok(first)
}

/// A user as `user list --json` gives it (never the password's hash).
fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "orgs": user.orgs,
        "with_subordinates": user.with_subordinates,
        "created_at": crate::dto::time(user.created_at),
        "created_by": user.created_by,
        "disabled_at": crate::dto::maybe_time(user.disabled_at),
    })
}

fn users_table(users: &[User]) -> Table {
    let mut table = Table::new(&["NAME", "ROLE", "ORGS", "CREATED", "BY", "DISABLED"]);
    for u in users {
        table.row(vec![
            u.name.clone(),
            u.role.to_string(),
            if u.orgs.is_empty() {
                "all".to_string()
            } else {
                let ids: Vec<String> = u.orgs.iter().map(i64::to_string).collect();
                format!(
                    "{}{}",
                    ids.join(","),
                    if u.with_subordinates { " +within" } else { "" }
                )
            },
            clock::show(u.created_at),
            u.created_by.clone(),
            u.disabled_at.map(clock::show).unwrap_or_default(),
        ]);
    }
    table
}
