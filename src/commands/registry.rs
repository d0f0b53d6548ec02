//! The registry's verbs: `org`, `site`, `account`, `audit`, `exception`
//! and `code`. A change is one store call (which checks the lifecycle and
//! writes the audit row); reads that join or filter are `app::registry`.

use std::io::Write;

use anyhow::Result;

use super::{Context, print_list, warn};
use crate::app::registry::{self as use_case, AuditQuery};
use crate::cli::{
    AccountCommand, AuditArgs, AuditCommand, CodeArgs, ExceptionArgs, ExceptionCommand, OrgCommand,
    SiteCommand,
};
use crate::config::Config;
use crate::output::{self, json_line};
use crate::policy::Policy;
use crate::registry::Site;
use crate::registry::lifecycle::{AccountAction, SiteAction, SiteEdit};
use crate::store::{
    AccountEdit, ExceptionGrant, NewAccount, NewOrganization, OrgEdit, SiteFilter, SiteRequest,
    Store,
};

pub(super) fn org(context: &Context, command: OrgCommand, out: &mut impl Write) -> Result<()> {
    match command {
        OrgCommand::Add {
            name,
            division,
            level,
            parent,
            email,
            webhook,
        } => {
            let outcome = context.store().add_org(
                &NewOrganization {
                    name,
                    division,
                    level,
                    parent,
                    emails: email,
                    webhooks: webhook,
                },
                &context.app.policy(),
                &context.change(None)?,
            )?;
            warn(&outcome.warnings);
            let org = &outcome.value;
            if context.json {
                json_line(out, &output::org_json(org))?;
            } else {
                writeln!(
                    out,
                    "organization {} `{}` added ({} {})",
                    org.id, org.name, org.level, org.division
                )?;
            }
        }
        OrgCommand::Edit {
            org,
            name,
            division,
            level,
            parent,
            no_parent,
            email,
            webhook,
            remove_email,
            remove_webhook,
            reason,
            when,
        } => {
            let edit = OrgEdit {
                name,
                division,
                level,
                parent: if no_parent {
                    Some(None)
                } else {
                    parent.map(Some)
                },
                add_emails: email,
                add_webhooks: webhook,
                remove_emails: remove_email,
                remove_webhooks: remove_webhook,
                reason,
            };
            let outcome = use_case::edit_org(
                context.store(),
                &context.app.policy(),
                &org,
                &edit,
                &context.change(when.at)?,
            )?;
            warn(&outcome.warnings);
            if context.json {
                json_line(out, &output::org_detail_json(&outcome.value))?;
            } else {
                output::org_detail(&outcome.value, out)?;
            }
        }
        OrgCommand::List => print_list(
            context,
            &context.store().orgs()?,
            output::org_json,
            output::orgs_table,
            out,
        )?,
        OrgCommand::Show { name } => {
            let detail = use_case::org_detail(context.store(), &name)?;
            if context.json {
                json_line(out, &output::org_detail_json(&detail))?;
            } else {
                output::org_detail(&detail, out)?;
            }
        }
    }
    Ok(())
}

/// The exception given with `--exception` and `--until` (clap requires
/// both or neither).
fn grant(args: &ExceptionArgs) -> Option<ExceptionGrant> {
    match (&args.exception, args.until) {
        (Some(reason), Some(until)) => Some(ExceptionGrant {
            reason: reason.clone(),
            until,
        }),
        _ => None,
    }
}

fn print_site(context: &Context, site: &Site, out: &mut impl Write) -> Result<()> {
    if context.json {
        json_line(out, &output::site_json(site))?;
    } else {
        output::site_detail(site, out)?;
    }
    Ok(())
}

pub(super) fn site(context: &Context, command: SiteCommand, out: &mut impl Write) -> Result<()> {
    let policy = context.app.policy();
    let (key, action, at) = match command {
        SiteCommand::Request {
            name,
            org,
            kind,
            domains,
            code,
            icp,
            psb,
            exception,
            when,
        } => {
            let outcome = context.store().request_site(
                &SiteRequest {
                    name,
                    org,
                    kind,
                    domains,
                    code,
                    icp_filing: icp,
                    psb_filing: psb,
                    exception: grant(&exception),
                },
                &policy,
                &context.change(when.at)?,
            )?;
            warn(&outcome.warnings);
            return print_site(context, &outcome.value, out);
        }
        SiteCommand::Correct {
            site,
            event,
            at,
            void,
            reason,
        } => {
            use crate::registry::correct::Correction;
            let correction = match (at, void) {
                (Some(at), false) => Correction::Redate(at),
                _ => Correction::Void,
            };
            let corrected = context.store().correct_site(
                &site,
                event,
                correction,
                &reason,
                &policy,
                &context.change(None)?,
            )?;
            return print_site(context, &corrected, out);
        }
        SiteCommand::Show { site } => {
            let shown = context.store().site(&site)?;
            print_site(context, &shown, out)?;
            // A code or host name reused: say who else holds, or held, it.
            if !context.json {
                for (shared, other) in context.store().site_namesakes(&shown)? {
                    let when = if other.id > shown.id {
                        "is now held"
                    } else {
                        "was held before"
                    };
                    writeln!(
                        out,
                        "note: {shared} {when} by site {} `{}` ({}): siteward site show {}",
                        other.id,
                        output::escape(&other.name),
                        other.status,
                        other.id
                    )?;
                }
            }
            return Ok(());
        }
        SiteCommand::List { status, org, kind } => {
            let sites = context.store().sites(&SiteFilter { status, org, kind })?;
            return print_list(context, &sites, output::site_json, output::sites_table, out);
        }
        SiteCommand::Edit {
            site,
            name,
            kind,
            org,
            code,
            icp,
            psb,
            successor,
            add_domain,
            release_domain,
            primary,
            reason,
            reference,
            exception,
            when,
        } => {
            let reason = match (reference, reason) {
                (Some(reference), Some(reason)) => Some(format!("{reference}: {reason}")),
                (reference, reason) => reference.or(reason),
            };
            let edit = SiteEdit {
                reason,
                name,
                kind,
                org,
                code,
                icp_filing: icp,
                psb_filing: psb,
                successor_url: successor,
                approval_ref: None,
                add_aliases: add_domain,
                release: release_domain,
                primary,
            };
            let outcome = context.store().edit_site(
                &site,
                &edit,
                grant(&exception).as_ref(),
                &policy,
                &context.change(when.at)?,
            )?;
            warn(&outcome.warnings);
            return print_site(context, &outcome.value, out);
        }
        SiteCommand::Approve {
            site,
            reference,
            when,
        } => (site, SiteAction::Approve { reference }, when.at),
        SiteCommand::Reject { site, reason, when } => {
            (site, SiteAction::Reject { reason }, when.at)
        }
        SiteCommand::GoLive { site, code, when } => (site, SiteAction::GoLive { code }, when.at),
        SiteCommand::Suspend { site, reason, when } => {
            (site, SiteAction::Suspend { reason }, when.at)
        }
        SiteCommand::Resume { site, when } => (site, SiteAction::Resume, when.at),
        SiteCommand::Retire {
            site,
            reference,
            successor,
            when,
        } => (
            site,
            SiteAction::Retire {
                reference,
                successor_url: successor,
            },
            when.at,
        ),
        SiteCommand::Offline { site, when } => (site, SiteAction::Offline, when.at),
        SiteCommand::Close { site, when } => (site, SiteAction::Close, when.at),
    };
    let outcome = context
        .store()
        .transition_site(&key, &action, &policy, &context.change(at)?)?;
    warn(&outcome.warnings);
    let site = &outcome.value;
    if context.json {
        json_line(out, &output::site_json(site))?;
        return Ok(());
    }
    writeln!(
        out,
        "site {} ({}) is now {}",
        site.id,
        output::primary(site),
        site.status
    )?;
    // What the next step is, and when it may be taken.
    if let Some(until) = site
        .times
        .notice_until
        .filter(|_| matches!(action, SiteAction::Retire { .. }))
    {
        writeln!(
            out,
            "the closure notice must stay up until {} (China Standard Time); then: siteward site offline {}",
            crate::clock::show(until),
            site.id
        )?;
    }
    if matches!(action, SiteAction::Offline)
        && let Some(deadline) = site.domains.iter().find_map(|d| d.release_deadline)
    {
        writeln!(
            out,
            "its domains must be deregistered by {} (China Standard Time); then: siteward site close {}",
            crate::clock::show(deadline),
            site.id
        )?;
    }
    Ok(())
}

pub(super) fn account(
    context: &Context,
    command: AccountCommand,
    out: &mut impl Write,
) -> Result<()> {
    let store = context.store();
    let account = match command {
        AccountCommand::Add {
            platform,
            handle,
            name,
            org,
            feed,
            when,
        } => store.add_account(
            &NewAccount {
                platform,
                account_id: handle,
                name,
                org,
                feed_url: feed,
            },
            &context.change(when.at)?,
        )?,
        AccountCommand::Suspend {
            account,
            reason,
            when,
        } => store.transition_account(
            &account,
            &AccountAction::Suspend { reason },
            &context.change(when.at)?,
        )?,
        AccountCommand::Resume { account, when } => {
            store.transition_account(&account, &AccountAction::Resume, &context.change(when.at)?)?
        }
        AccountCommand::Close {
            account,
            reason,
            when,
        } => store.transition_account(
            &account,
            &AccountAction::Close { reason },
            &context.change(when.at)?,
        )?,
        AccountCommand::Edit {
            account,
            name,
            org,
            feed,
            no_feed,
            reason,
            when,
        } => use_case::edit_account(
            store,
            &account,
            &AccountEdit {
                name,
                org,
                feed_url: if no_feed { Some(None) } else { feed.map(Some) },
                reason,
            },
            &context.change(when.at)?,
        )?,
        AccountCommand::Seen { account, at } => {
            store.account_seen(&account, &context.change(at)?)?
        }
        AccountCommand::Show { account } => store.account(&account)?,
        AccountCommand::List { status } => {
            let accounts = use_case::accounts(store, status)?;
            return print_list(
                context,
                &accounts,
                output::account_json,
                output::accounts_table,
                out,
            );
        }
    };
    print_list(
        context,
        std::slice::from_ref(&account),
        output::account_json,
        output::accounts_table,
        out,
    )
}

pub(super) fn audit(context: &Context, args: AuditArgs, out: &mut impl Write) -> Result<u8> {
    if let Some(AuditCommand::Verify) = args.command {
        return verify(context, out);
    }
    let entries = use_case::audit(
        context.store(),
        &AuditQuery {
            site: args.site,
            account: args.account,
            org: args.org,
            last: args.last,
            ..AuditQuery::default()
        },
    )?;
    print_list(
        context,
        &entries,
        output::audit_json,
        output::audit_table,
        out,
    )?;
    if !context.json {
        writeln!(out, "(times in China Standard Time, UTC+8)")?;
    }
    Ok(0)
}

/// `audit verify`: every break on its own line, then the head to keep.
fn verify(context: &Context, out: &mut impl Write) -> Result<u8> {
    let verification = crate::app::integrity::verify(context.store())?;
    if context.json {
        json_line(out, &verification)?;
    } else {
        for b in &verification.breaks {
            writeln!(out, "BREAK {}", output::escape(&b.to_string()))?;
        }
        writeln!(
            out,
            "{} audit rows walked, {} records compared with their last audited state: {}",
            verification.rows,
            verification.entities,
            match verification.breaks.len() {
                0 => "no break".to_string(),
                1 => "1 break".to_string(),
                n => format!("{n} breaks"),
            }
        )?;
        if let Some(head) = &verification.head {
            writeln!(out, "head: row {} {}", head.row, head.hash)?;
        }
    }
    Ok(if verification.breaks.is_empty() {
        0
    } else {
        super::TAMPERED
    })
}

pub(super) fn exception(
    context: &Context,
    command: ExceptionCommand,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        ExceptionCommand::Add {
            kind,
            subject,
            reason,
            until,
        } => {
            let record = context.store().add_exception(
                &kind,
                &subject,
                &ExceptionGrant { reason, until },
                &context.app.policy(),
                &context.change(None)?,
            )?;
            if context.json {
                json_line(out, &record)?;
            } else {
                writeln!(
                    out,
                    "exception {}: {} waived for {} until {}",
                    record.id,
                    record.kind,
                    record.subject,
                    crate::clock::show(record.until)
                )?;
            }
        }
        ExceptionCommand::End { id, reason } => {
            let record = context
                .store()
                .end_exception(id, &reason, &context.change(None)?)?;
            if context.json {
                json_line(out, &record)?;
            } else {
                writeln!(
                    out,
                    "exception {}: {} for {} ended at {} (China Standard Time)",
                    record.id,
                    record.kind,
                    record.subject,
                    crate::clock::show(record.until)
                )?;
            }
        }
        ExceptionCommand::List => {
            let exceptions = context.store().exceptions()?;
            if context.json {
                for exception in &exceptions {
                    json_line(out, exception)?;
                }
            } else {
                output::exceptions_table(&exceptions).print(out)?;
            }
        }
    }
    Ok(())
}

/// `code`: needs the store only to look up the organizer.
pub(super) fn code(
    config: &Config,
    args: &CodeArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let policy = Policy::load(config.policies.dir.as_deref())?;
    let store = match &args.org {
        Some(_) => Some(Store::open(&config.database.url)?),
        None => None,
    };
    let organizer = store.as_ref().zip(args.org.as_deref());
    let check = use_case::check_code(&args.code, organizer, &policy)?;
    if json {
        json_line(out, &output::code_json(&check))?;
    } else {
        output::code_detail(&check, out)?;
        // The verdict first, then the advice about it.
        out.flush()?;
        warn(&check.warnings);
    }
    Ok(())
}
