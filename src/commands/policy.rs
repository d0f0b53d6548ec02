//! `policy check`: validates a policy directory and shows the values in
//! force, with each job's next fire times. Needs no database.

use std::io::Write;

use anyhow::Result;

use crate::cli::PolicyCommand;
use crate::config::Config;
use crate::output::{self, json_line};
use crate::policy::Policy;

pub(super) fn run(
    config: &Config,
    command: PolicyCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let PolicyCommand::Check { dir } = command;
    let dir = dir.or_else(|| config.policies.dir.clone());
    let policy = Policy::load(dir.as_deref())?;
    let now = chrono::Utc::now();
    if json {
        json_line(out, &output::policy_json(&policy, now))?;
    } else {
        output::policy_detail(&policy, now, out)?;
    }
    Ok(())
}
