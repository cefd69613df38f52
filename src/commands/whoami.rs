//! `assume whoami`: who the credentials in this environment are (GetCallerIdentity), which
//! profile `assume` put there, and how long they have left.

use aws_config::BehaviorVersion;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::json;

use crate::cache::unix_now;
use crate::cli::{Output, WhoamiArgs};
use crate::config::Env;
use crate::error::{Error, Result};

pub fn run(args: &WhoamiArgs, env: &Env) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let identity = runtime.block_on(async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if env.get("AWS_REGION").is_none() && env.get("AWS_DEFAULT_REGION").is_none() {
            loader = loader.region(aws_config::Region::new(crate::config::plan::DEFAULT_REGION));
        }
        let config = loader.load().await;
        if config.credentials_provider().is_none() {
            return Err(no_credentials("no credentials provider".into()));
        }
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                let detail = DisplayErrorContext(&e).to_string();
                match e.as_service_error().and_then(|s| s.meta().code()) {
                    Some(code) => no_credentials(format!("STS answered {code}")),
                    None if detail.contains("credential") => {
                        no_credentials("no credentials in this environment".into())
                    }
                    None => Error::Sts(format!(
                        "cannot reach STS to ask who you are ({}); check the network and AWS_ENDPOINT_URL",
                        detail.lines().next().unwrap_or_default()
                    )),
                }
            })
    })?;
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
        println!("{value:#}");
        return Ok(());
    }
    println!("arn       {}", identity.arn.as_deref().unwrap_or("-"));
    println!("account   {}", identity.account.as_deref().unwrap_or("-"));
    println!(
        "profile   {}",
        profile.as_deref().unwrap_or("- (not set by assume)")
    );
    match (expiration, seconds_left) {
        (Some(at), Some(left)) if left > 0 => {
            println!("expires   {at} (in {} min)", left / 60);
        }
        (Some(at), Some(_)) => println!("expires   {at} (expired)"),
        _ => println!("expires   - (no AWS_CREDENTIAL_EXPIRATION)"),
    }
    Ok(())
}

fn no_credentials(why: String) -> Error {
    Error::Auth(format!(
        "cannot tell who you are ({why}); switch to a role first: eval \"$(assume PROFILE)\""
    ))
}
