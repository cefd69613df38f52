//! `assume list [--output json]`: one row per profile, with until when it is cached.

use std::io::IsTerminal;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::cache::{Cache, EntryKind, Mode, unix_now};
use crate::cli::{ListArgs, Output};
use crate::config::{Env, Loaded, Overrides, Resolver, Summaries};
use crate::credentials::role_key;
use crate::error::Result;

#[derive(Serialize)]
struct Row<'a> {
    profile: &'a str,
    role_arn: Option<&'a str>,
    account: Option<&'a str>,
    region: Option<std::borrow::Cow<'a, str>>,
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
    summaries.reserve(loaded.profiles.profiles.len());
    let json = match args.output {
        Some(Output::Json) => true,
        Some(Output::Text) => false,
        None => !std::io::stdout().is_terminal(),
    };
    let rows = loaded.profiles.profiles.iter().map(|(name, section)| {
        let role_arn = section.get("role_arn");
        let account = role_arn.and_then(account_of);
        // A profile that is not cached needs no cache key: when its plan can be vouched
        // for, its row is the summary's.
        if !cached_profiles.contains(name)
            && let Ok(chain) = resolver.resolve_profile(section)
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
                region: Some(plan.region.clone().into()),
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
                region: section.get("region").map(Into::into),
                mfa: section.get("mfa_serial").is_some(),
                cached_until: None,
                error: Some(error.to_string()),
            },
        }
    });
    // JSON rows are written as they are made; a table needs them all for its widths.
    let result = if json {
        super::emit_json(&Streamed(std::cell::Cell::new(Some(rows))))
    } else {
        super::emit(&table(&rows.collect::<Vec<_>>()))
    };
    // What a big config made is left for the exit to reclaim, not freed piece by piece.
    std::mem::forget((resolver, summaries));
    std::mem::forget((index, loaded));
    result
}

/// The items of an iterator, serialized as a sequence as they come (once).
struct Streamed<I>(std::cell::Cell<Option<I>>);

impl<I> Serialize for Streamed<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.take().into_iter().flatten())
    }
}

/// The account of `arn:PARTITION:SERVICE:REGION:ACCOUNT:…`, when one is written.
fn account_of(arn: &str) -> Option<&str> {
    let mut fields = arn
        .as_bytes()
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b':');
    let start = fields.nth(3)?.0 + 1;
    let end = fields.next().map_or(arn.len(), |(at, _)| at);
    // `:` is ASCII: both ends are character boundaries.
    Some(&arn[start..end]).filter(|account| !account.is_empty())
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
                row.region.as_deref().unwrap_or("-").to_string(),
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
