//! The cache keys of what a plan makes: a hash of every input that shapes it and of who the
//! base credentials are, never a secret.

use serde::Serialize;

use crate::cache;
use crate::config::{Base, Plan};

/// The cache key of a plan's final credentials: every input that shapes them, and who the
/// base credentials are.
pub fn role_key(plan: &Plan) -> String {
    #[derive(Serialize)]
    struct HopInputs<'a> {
        role_arn: &'a str,
        role_session_name: Option<&'a str>,
        external_id: Option<&'a str>,
        duration_seconds: Option<u32>,
        mfa_serial: Option<&'a str>,
    }
    let hops: Vec<HopInputs<'_>> = plan
        .hops
        .iter()
        .map(|hop| HopInputs {
            role_arn: &hop.role_arn,
            role_session_name: hop.role_session_name.as_deref(),
            external_id: hop.external_id.as_deref(),
            duration_seconds: hop.duration_seconds,
            mfa_serial: hop.mfa_serial.as_deref(),
        })
        .collect();
    cache::key(
        "role",
        &(
            &plan.profile,
            &plan.base_identity,
            &plan.region,
            &plan.endpoint_url,
            hops,
        ),
    )
}

/// The cache key of the MFA session a plan would use: per access key id, MFA device, region
/// and endpoint. `None` when the plan cannot use one.
pub fn mfa_key(plan: &Plan) -> Option<String> {
    let serial = plan.hops.first()?.mfa_serial.as_deref()?;
    let access_key_id = match &plan.base {
        Base::Static { credentials, .. } => credentials.access_key_id(),
        Base::Vault { access_key_id, .. } => access_key_id,
        _ => return None,
    };
    Some(mfa_key_of(
        access_key_id,
        serial,
        &plan.region,
        &plan.endpoint_url,
    ))
}

/// The cache key of the MFA session of access key `access_key_id` with MFA device `serial`,
/// made in `region` at `endpoint_url`.
pub fn mfa_key_of(
    access_key_id: &str,
    serial: &str,
    region: &str,
    endpoint_url: &Option<String>,
) -> String {
    cache::key("mfa", &(access_key_id, serial, region, endpoint_url))
}
