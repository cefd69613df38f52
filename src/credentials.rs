//! Running a plan: the base credentials, then each hop in turn, asking for MFA codes as the
//! hops need them.

use aws_credential_types::Credentials;

use crate::config::{Base, Plan};
use crate::error::{Error, Result};
use crate::mfa::Mfa;
use crate::sts::{self, Sts};

/// The role credentials at the end of `plan`.
pub fn obtain(plan: &Plan, mfa: &mut Mfa, verbose: bool) -> Result<Credentials> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        if verbose {
            eprintln!("assume: {}", describe_base(&plan.base));
        }
        let mut credentials = sts::base_credentials(plan).await?;
        let client = Sts::new(plan);
        for (index, hop) in plan.hops.iter().enumerate() {
            let session_name = sts::session_name(hop.role_session_name.as_deref());
            let code = match &hop.mfa_serial {
                Some(serial) => Some((serial.as_str(), mfa.code(serial, &hop.profile)?)),
                None => None,
            };
            if verbose {
                eprintln!(
                    "assume: hop {}/{}: [{}] AssumeRole {} as {session_name}{}{}",
                    index + 1,
                    plan.hops.len(),
                    hop.profile,
                    hop.role_arn,
                    hop.duration_seconds
                        .map(|s| format!(" for {s}s"))
                        .unwrap_or_default(),
                    hop.mfa_serial
                        .as_deref()
                        .map(|s| format!(" with MFA {s}"))
                        .unwrap_or_default(),
                );
            }
            credentials = client
                .assume_role(
                    credentials,
                    hop,
                    &session_name,
                    hop.duration_seconds,
                    code.as_ref().map(|(serial, code)| (*serial, code.as_str())),
                )
                .await?;
        }
        Ok(credentials)
    })
}

/// Where the chain starts, in words; names the access key id, never the secret.
pub fn describe_base(base: &Base) -> String {
    match base {
        Base::Static {
            profile,
            credentials,
        } => format!(
            "source: static keys {} of profile '{profile}'",
            credentials.access_key_id()
        ),
        Base::CredentialSource { profile, source } => {
            format!("source: credential_source {source} of profile '{profile}'")
        }
        Base::WebIdentity {
            profile,
            role_arn,
            token_file,
            ..
        } => {
            format!("source: web identity token {token_file} for {role_arn} (profile '{profile}')")
        }
        Base::Sdk { profile, via } => {
            format!("source: {via} credentials of profile '{profile}', loaded by the AWS SDK")
        }
    }
}
