//! `assume list [--output json]`: one row per profile, with until when it is cached.

use std::io::IsTerminal;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::cache::{Cache, EntryKind, Mode, unix_now};
use crate::cli::{ListArgs, Output};
use crate::config::{Env, Loaded, Overrides, Resolver, Summaries};
use crate::credentials::role_key;
use crate::error::{Error, Result};

#[derive(Serialize)]
struct Row<'a> {
    profile: &'a str,
    role_arn: Option<&'a str>,
    account: Option<&'a str>,
    region: Option<String>,
    mfa: bool,
    cached_until: Option<String>,
    /// Why this profile cannot be used as it is, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: &ListArgs, env: &Env) -> Result<()> {
    let loaded = Loaded::load(env)?;
    let index = Cache::new(Mode::from_env(env, false)?, env).index();
    let now = unix_now();
    // Only profiles the index names can be cached: the others need no cache key.
    let cached_profiles: std::collections::HashSet<&str> = index
        .values()
        .filter(|entry| entry.kind == EntryKind::Role && entry.expires_at > now)
        .map(|entry| entry.profile.as_str())
        .collect();
    let overrides = Overrides::default();
    let mut resolver = Resolver::new(&loaded.profiles);
    let mut summaries = Summaries::new(env);
    let rows: Vec<Row> = loaded
        .profiles
        .profiles
        .iter()
        .map(|(name, section)| {
            let role_arn = section.get("role_arn");
            let account = role_arn
                .and_then(|arn| arn.split(':').nth(4))
                .filter(|account| !account.is_empty());
            // A profile that is not cached needs no cache key: when its plan can be vouched
            // for, its row is the summary's.
            if !cached_profiles.contains(name)
                && let Ok(chain) = resolver.resolve(name)
                && let Some(summary) = summaries.summary(&loaded.profiles, &chain)
            {
                return Row {
                    profile: name,
                    account,
                    region: Some(summary.region),
                    mfa: summary.mfa,
                    cached_until: None,
                    role_arn: (!chain.hops.is_empty()).then_some(role_arn).flatten(),
                    error: None,
                };
            }
            match super::plan_in(&mut resolver, &loaded, name, &overrides, env) {
                Ok(plan) => Row {
                    profile: name,
                    account,
                    region: Some(plan.region.clone()),
                    mfa: plan.hops.iter().any(|hop| hop.mfa_serial.is_some()),
                    cached_until: cached_profiles
                        .contains(name)
                        .then(|| index.get(&role_key(&plan)))
                        .flatten()
                        .filter(|entry| entry.kind == EntryKind::Role && entry.expires_at > now)
                        .and_then(|entry| {
                            DateTime::from_secs(entry.expires_at as i64)
                                .fmt(Format::DateTime)
                                .ok()
                        }),
                    role_arn: (!plan.hops.is_empty()).then_some(role_arn).flatten(),
                    error: None,
                },
                Err(error) => Row {
                    profile: name,
                    role_arn,
                    account,
                    region: section.get("region").map(str::to_string),
                    mfa: section.get("mfa_serial").is_some(),
                    cached_until: None,
                    error: Some(error.to_string()),
                },
            }
        })
        .collect();
    let json = match args.output {
        Some(Output::Json) => true,
        Some(Output::Text) => false,
        None => !std::io::stdout().is_terminal(),
    };
    if json {
        // About 200 bytes a row: one allocation, not a doubling series.
        let mut text = Vec::with_capacity(256 * rows.len() + 16);
        serde_json::to_writer_pretty(&mut text, &rows)
            .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
        text.push(b'\n');
        super::emit_bytes(&text)?;
    } else {
        super::emit(&table(&rows))?;
    }
    Ok(())
}

/// The rows as a table with aligned columns.
fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            let role = match (&row.error, &row.role_arn) {
                (Some(_), _) => "(invalid: see `assume explain`)".to_string(),
                (None, Some(arn)) => arn.rsplit(":role/").next().unwrap_or(arn).to_string(),
                (None, None) => "source".to_string(),
            };
            [
                row.profile.to_string(),
                role,
                row.account.unwrap_or("-").to_string(),
                row.region.clone().unwrap_or_else(|| "-".into()),
                if row.mfa { "yes" } else { "no" }.to_string(),
                row.cached_until.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "PROFILE",
        "ROLE",
        "ACCOUNT",
        "REGION",
        "MFA",
        "CACHED UNTIL",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
