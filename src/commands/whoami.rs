//! `assume whoami`: who the credentials in this environment are (GetCallerIdentity), which
//! profile `assume` put there, and how long they have left.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::json;

use crate::cache::unix_now;
use crate::cli::{Output, WhoamiArgs};
use crate::config::Env;
use crate::error::Result;

pub fn run(args: &WhoamiArgs, env: &Env) -> Result<()> {
    let no_region = env.get("AWS_REGION").is_none() && env.get("AWS_DEFAULT_REGION").is_none();
    let identity = crate::sts::caller_identity(no_region)?;
    let expiration = env.get("AWS_CREDENTIAL_EXPIRATION");
    let seconds_left = expiration
        .as_deref()
        .and_then(|text| DateTime::from_str(text, Format::DateTime).ok())
        .map(|at| at.secs() - unix_now() as i64);
    let profile = env.get("ASSUME_PROFILE");
    if args.output == Output::Json {
        let value = json!({
            "arn": identity.arn,
            "account": identity.account,
            "user_id": identity.user_id,
            "profile": profile,
            "expiration": expiration,
            "seconds_left": seconds_left,
        });
        return super::emit(&format!("{value:#}\n"));
    }
    let expires = match (expiration, seconds_left) {
        (Some(at), Some(left)) if left > 0 => format!("{at} (in {} min)", left / 60),
        (Some(at), Some(_)) => format!("{at} (expired)"),
        _ => "- (no AWS_CREDENTIAL_EXPIRATION)".to_string(),
    };
    super::emit(&format!(
        "arn       {}\naccount   {}\nprofile   {}\nexpires   {expires}\n",
        identity.arn.as_deref().unwrap_or("-"),
        identity.account.as_deref().unwrap_or("-"),
        profile.as_deref().unwrap_or("- (not set by assume)"),
    ))
}
