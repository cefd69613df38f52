//! `assume credential-process PROFILE`: the role's credentials as the JSON the AWS SDKs and
//! CLI read from a `credential_process` (Version 1), and nothing else on stdout.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::CredentialArgs;
use crate::config::Env;
use crate::error::{Error, Result};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

pub fn run(args: CredentialArgs, env: &Env) -> Result<()> {
    let profile = crate::profile::choose(&args.profile, env, crate::profile::Asking::Sdk)?;
    let credentials = super::source(args, &profile, env)?.credentials()?;
    let output = Output {
        version: 1,
        access_key_id: credentials.access_key_id(),
        secret_access_key: credentials.secret_access_key(),
        session_token: credentials.session_token(),
        expiration: crate::credentials::expiration(&credentials),
    };
    let json = Zeroizing::new(
        serde_json::to_string(&output)
            .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?,
    );
    let line = Zeroizing::new(format!("{}\n", json.as_str()));
    super::emit(&line)
}
