//! `assume explain PROFILE`: the resolved chain, without calling AWS. Never prints a secret.

use serde_json::json;

use crate::cli::{ExplainArgs, Output};
use crate::config::{Base, Env, Plan, RegionSource};
use crate::credentials::describe_base;
use crate::error::Result;

pub fn run(args: &ExplainArgs, env: &Env) -> Result<()> {
    let profile = crate::profile::choose(&args.profile, env, crate::profile::Asking::Sdk)?;
    let plan = super::plan(&profile, &args.chain, env)?;
    match args.output {
        Output::Json => super::emit_json(&to_json(&plan)),
        Output::Text => super::emit(&format!("{}\n", to_text(&plan))),
    }
}

fn region_source(plan: &Plan) -> String {
    match &plan.region_source {
        RegionSource::Flag => "--region".into(),
        RegionSource::Profile(profile) => format!("profile {profile}"),
        RegionSource::Env(var) => var.clone(),
        RegionSource::Default => "default".into(),
    }
}

/// The STS endpoint, without the password of a `user:pass@` URL.
fn endpoint(plan: &Plan) -> String {
    let configured = plan
        .endpoint_url
        .as_deref()
        .map(crate::message::redact_urls);
    configured.map(String::from).unwrap_or_else(|| {
        let suffix = if plan.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://sts.{}.{suffix}", plan.region)
    })
}

fn to_json(plan: &Plan) -> serde_json::Value {
    let mut source = json!({ "profile": plan.base.profile(), "kind": plan.base.kind() });
    let extra = match &plan.base {
        Base::Static { credentials, .. } => json!({ "access_key_id": credentials.access_key_id() }),
        Base::CredentialSource { source, .. } => json!({ "credential_source": source }),
        Base::WebIdentity {
            role_arn,
            token_file,
            role_session_name,
            ..
        } => json!({
            "role_arn": role_arn,
            "web_identity_token_file": token_file,
            "role_session_name": role_session_name,
        }),
        Base::Sdk { via, .. } => json!({ "via": via }),
        Base::Vault {
            access_key_id,
            store,
            shadowed,
            ..
        } => json!({
            "access_key_id": access_key_id,
            "store": store,
            "shadows_file_keys": shadowed,
        }),
    };
    if let (Some(source), serde_json::Value::Object(extra)) = (source.as_object_mut(), extra) {
        source.extend(extra);
    }
    json!({
        "profile": plan.profile,
        "region": plan.region,
        "region_source": region_source(plan),
        "endpoint": endpoint(plan),
        "endpoint_overridden": plan.endpoint_url.is_some(),
        "source": source,
        "hops": plan.hops,
        "notices": plan.notices,
        "mfa_session_seconds": plan.mfa_session_seconds,
        "cache_key": crate::credentials::role_key(plan),
    })
}

fn to_text(plan: &Plan) -> String {
    let mut lines = vec![
        format!("profile   {}", plan.profile),
        format!("region    {} (from {})", plan.region, region_source(plan)),
        format!(
            "endpoint  {}{}",
            endpoint(plan),
            if plan.endpoint_url.is_some() {
                " (override)"
            } else {
                " (regional)"
            }
        ),
        describe_base(&plan.base).replacen("source: ", "source    ", 1),
    ];
    for (index, hop) in plan.hops.iter().enumerate() {
        lines.push(format!(
            "hop {}     [{}] {}",
            index + 1,
            hop.profile,
            hop.role_arn
        ));
        let mut details = vec![
            format!(
                "session name {}",
                hop.role_session_name
                    .as_deref()
                    .unwrap_or("assume-USER-UNIXTIME (default)")
            ),
            match hop.duration_seconds {
                Some(seconds) => format!("duration {seconds}s"),
                None => "duration 3600s (default)".into(),
            },
        ];
        if let Some(serial) = &hop.mfa_serial {
            details.push(format!("MFA {serial}"));
        }
        if hop.external_id.is_some() {
            details.push("external id set".into());
        }
        lines.push(format!("          {}", details.join(", ")));
    }
    if plan.hops.is_empty() {
        lines.push("hops      none: the profile's own credentials are used as they are".into());
    }
    for notice in &plan.notices {
        lines.push(format!("note      {notice}"));
    }
    lines.join("\n")
}
