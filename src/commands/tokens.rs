//! `token create|list|revoke`: the HTTP API's bearer tokens
//! (`app::tokens`).

use std::io::Write;

use anyhow::Result;

use super::{Context, print_list};
use crate::cli::TokenCommand;
use crate::output::{self, json_line};

pub(super) fn run(context: &Context, command: TokenCommand, out: &mut impl Write) -> Result<()> {
    match command {
        TokenCommand::Create {
            name,
            role,
            org,
            with_subordinates,
        } => {
            let made = crate::app::tokens::create(
                context.store(),
                &name,
                role,
                &org,
                with_subordinates,
                &context.change(None)?,
            )?;
            if context.json {
                json_line(
                    out,
                    &crate::dto::registry::NewTokenDto {
                        token: crate::dto::registry::TokenDto::from(&made.token),
                        secret: made.secret.clone(),
                    },
                )?;
            } else {
                let limit = if made.token.orgs.is_empty() {
                    "every organization".to_string()
                } else {
                    format!(
                        "{} organization(s){}",
                        made.token.orgs.len(),
                        if with_subordinates {
                            " and those within their divisions"
                        } else {
                            ""
                        }
                    )
                };
                writeln!(
                    out,
                    "token `{}` made: role {}, sees {limit}. It is shown once, now; keep it secret:",
                    output::escape(&made.token.name),
                    made.token.role
                )?;
                writeln!(out, "{}", made.secret)?;
            }
        }
        TokenCommand::List => {
            let tokens = context.store().tokens()?;
            print_list(
                context,
                &tokens,
                output::token_json,
                output::tokens_table,
                out,
            )?;
        }
        TokenCommand::Revoke { name } => {
            let token = context
                .store()
                .revoke_token(&name, &context.change(None)?)?;
            if context.json {
                json_line(out, &output::token_json(&token))?;
            } else {
                writeln!(
                    out,
                    "token `{}` revoked: it no longer works",
                    output::escape(&token.name)
                )?;
            }
        }
    }
    Ok(())
}
