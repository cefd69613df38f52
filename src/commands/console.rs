//! `assume console [PROFILE]`: the console's "Switch Role" in the browser. The role's
//! credentials are exchanged at the AWS federation endpoint for a sign-in token, which makes
//! a login URL for the partition's console.
//!
//! The secret key goes in a POST body, never in a URL (GovCloud's endpoint is asked with GET:
//! it is not known to take the POST); an error shows the status, never the answer, which may
//! quote the request.

use std::time::Duration;

use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::ConsoleArgs;
use crate::config::{Env, Plan};
use crate::error::{Error, Result};

/// The federation endpoint and the console of each partition.
fn partition_urls(partition: &str) -> (&'static str, &'static str) {
    match partition {
        "aws-us-gov" => (
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com",
        ),
        "aws-cn" => (
            "https://signin.amazonaws.cn/federation",
            "https://console.amazonaws.cn",
        ),
        _ => (
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com",
        ),
    }
}

fn partition(plan: &Plan) -> &str {
    plan.hops
        .last()
        .and_then(|hop| hop.role_arn.split(':').nth(1))
        .unwrap_or("aws")
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub fn run(args: &ConsoleArgs, verbose: bool, env: &Env) -> Result<()> {
    let credentials_args = super::with_profile(&args.credentials, env, "console PROFILE")?;
    let (plan, credentials) = super::credentials(&credentials_args, verbose, env)?;
    crate::picker::record(env, &plan.profile);
    let Some(session_token) = credentials.session_token() else {
        return Err(Error::Usage(format!(
            "profile '{}' has long-term keys, and the console sign-in needs a role's temporary credentials: use a role profile",
            plan.profile
        )));
    };
    let partition = partition(&plan);
    let (signin, console) = partition_urls(partition);
    let endpoint = env
        .get("ASSUME_FEDERATION_ENDPOINT")
        .unwrap_or_else(|| signin.to_string());
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| format!("{console}/console/home?region={}", plan.region));
    let session = Zeroizing::new(
        json!({
            "sessionId": credentials.access_key_id(),
            "sessionKey": credentials.secret_access_key(),
            "sessionToken": session_token,
        })
        .to_string(),
    );
    let method = if partition == "aws-us-gov" {
        Method::Get
    } else {
        Method::Post
    };
    let token = signin_token(&endpoint, &session, method)?;
    let url = Zeroizing::new(format!(
        "{endpoint}?Action=login&Issuer=assume&Destination={}&SigninToken={}",
        encode(&destination),
        encode(&token)
    ));
    if args.print {
        println!("{}", url.as_str());
        return Ok(());
    }
    open::that_detached(url.as_str()).map_err(|e| {
        Error::Internal(format!(
            "cannot open a browser ({e}); run `assume console {} --print` and open the URL yourself",
            plan.profile
        ))
    })?;
    eprintln!(
        "assume: opened the AWS console as '{}' in your browser",
        plan.profile
    );
    Ok(())
}

/// How getSigninToken is asked.
#[derive(Clone, Copy)]
enum Method {
    /// A form body: the secret stays out of the URL.
    Post,
    /// `?Action=getSigninToken&Session=…`, for an endpoint that takes only that.
    Get,
}

/// getSigninToken with the Session JSON → the `SigninToken` of the answer.
fn signin_token(endpoint: &str, session: &str, method: Method) -> Result<Zeroizing<String>> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into();
    let failed = |why: String| {
        Error::Sts(format!(
            "the federation endpoint {endpoint} {why}; check the network, or ASSUME_FEDERATION_ENDPOINT"
        ))
    };
    let sent = match method {
        Method::Post => {
            let body = Zeroizing::new(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("Action", "getSigninToken")
                    .append_pair("Session", session)
                    .finish(),
            );
            agent
                .post(endpoint)
                .content_type("application/x-www-form-urlencoded")
                .send(body.as_bytes())
        }
        Method::Get => agent
            .get(endpoint)
            .query("Action", "getSigninToken")
            .query("Session", session)
            .call(),
    };
    let mut response = sent.map_err(|e| failed(format!("cannot be reached ({})", describe(&e))))?;
    let status = response.status();
    // The body of an error may quote the request, Session and all: it is never shown.
    if !status.is_success() {
        return Err(failed(format!("answered {status}")));
    }
    let body = Zeroizing::new(
        response
            .body_mut()
            .read_to_string()
            .map_err(|e| failed(format!("sent an unreadable answer ({})", describe(&e))))?,
    );
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value["SigninToken"].as_str().map(str::to_string))
        .map(Zeroizing::new)
        .ok_or_else(|| failed("answered without a SigninToken".into()))
}

/// A ureq error in words, without the request's URI (which, for a GET, holds the Session).
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::BadUri(_) => "its URL is not valid".into(),
        ureq::Error::RequireHttpsOnly(_) => "it is not https".into(),
        other => other.to_string(),
    }
}
