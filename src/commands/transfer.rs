//! `import` and `export`: files in and out of the registry. Everything a
//! person needs to fix a refused file goes to stderr with the file's name
//! and each line, the way compilers report (`FILE:line N: …`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::{Context, InvalidInput};
use crate::app::registry::{self as use_case, Export, ExportFormat, ImportFile};
use crate::cli::{EntityArg, ExportArgs, Format, Headers, ImportArgs, OutputEncoding};
use crate::output::{self, json_line};
use crate::store::StoreError;
use crate::transfer::{Encoding, Entity, HeaderLang, RowError};

/// A file refused row by row: its name and bad rows, which
/// [`super::print_error`] shows (each as `FILE:line N: …`, or as JSON).
#[derive(Debug, thiserror::Error)]
#[error("{}", file.display())]
pub struct ImportRefused {
    pub file: PathBuf,
    pub rows: Vec<RowError>,
    /// What the store said, which makes it the user's error (exit 2).
    source: StoreError,
}

fn entity(arg: EntityArg) -> Entity {
    match arg {
        EntityArg::Orgs => Entity::Orgs,
        EntityArg::Sites => Entity::Sites,
        EntityArg::Accounts => Entity::Accounts,
    }
}

pub(super) fn import(context: &Context, args: &ImportArgs, out: &mut impl Write) -> Result<()> {
    let file = ImportFile::read(entity(args.entity), &args.file)?;
    // Before the verdict: an ignored column may be why rows are refused.
    if !file.info.ignored_columns.is_empty() {
        eprintln!(
            "note: ignored columns: {}",
            file.info.ignored_columns.join(", ")
        );
    }
    let path = args.file.display();
    let change = context.change(args.when.at)?;
    let report = match super::with_spinner(context.json, "importing", || {
        use_case::import(
            context.store(),
            &context.app.policy(),
            &file,
            args.dry_run,
            &change,
        )
    }) {
        Ok(report) => report,
        Err(StoreError::Import(rows)) => {
            return Err(ImportRefused {
                file: args.file.clone(),
                rows: rows.clone(),
                source: StoreError::Import(rows),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    for (line, warning) in &report.summary.warnings {
        eprintln!("{path}:line {line}: warning: {warning}");
    }
    if context.json {
        json_line(out, &output::import_json(&args.file, &report))?;
    } else {
        writeln!(out, "{}", output::import_line(&args.file, &report))?;
    }
    Ok(())
}

pub(super) fn export(context: &Context, args: &ExportArgs, out: &mut impl Write) -> Result<()> {
    // --json is honoured here as everywhere: the records as JSON lines.
    let format = match (args.format, context.json) {
        (Some(Format::Csv), true) => {
            return Err(InvalidInput(
                "--format csv and --json contradict each other: leave one out".into(),
            )
            .into());
        }
        (Some(Format::Json), _) | (None, true) => ExportFormat::Json,
        (Some(Format::Csv), false) | (None, false) => ExportFormat::Csv,
    };
    let bytes = use_case::export(
        context.store(),
        &Export {
            entity: entity(args.entity),
            format,
            headers: match args.headers {
                Headers::Zh => HeaderLang::Zh,
                Headers::En => HeaderLang::En,
            },
            encoding: match args.encoding {
                OutputEncoding::Utf8 => Encoding::Utf8,
                OutputEncoding::Utf8Bom => Encoding::Utf8Bom,
                OutputEncoding::Gb18030 => Encoding::Gb18030,
            },
        },
        &crate::access::Visible::All,
    )?;
    match &args.output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(&bytes)?,
    }
    Ok(())
}
