//! The config and credentials files tests start from. Every test has its own [`TestEnv`]
//! (own `HOME`, config, cache dir and proxy); where MFA sessions are made, also its own
//! `mfa_serial` (moto never checks it), so that an MFA session cached in the Secret Service all
//! tests share is never another test's.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{ACCOUNT_ID, Moto, TestEnv, moto};

/// A process-wide unique suffix: a test's `mfa_serial` must not be any other test's.
pub fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// `arn:aws:iam::123456789012:mfa/LABEL-<unique>`: an MFA device of one test's own.
pub fn own_mfa_serial(label: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:mfa/{label}-{}", unique_suffix())
}

/// The standard profiles: `alice` (static keys), `admin` and `readonly` (two roles behind the
/// same MFA device), `plain` (a role without MFA).
pub fn standard_config(mfa: &str) -> String {
    let m = moto();
    format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile readonly]\nrole_arn = {readonly}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile plain]\nrole_arn = {admin}\nsource_profile = alice\n",
        admin = m.role_arn("Administrators"),
        readonly = m.role_arn("ReadOnly"),
    )
}

/// One test's world: its TestEnv (alice's keys in the credentials file) and its own MFA device.
pub struct Cx {
    pub env: TestEnv,
    pub mfa: String,
}

/// [`standard_config`] behind an MFA device of this test's own, plus `extra` appended
/// verbatim, with the role without MFA named `no_mfa`.
fn cx_named(label: &str, no_mfa: &str, extra: &str) -> Cx {
    let env = TestEnv::new(moto());
    let mfa = own_mfa_serial(label);
    let profiles = standard_config(&mfa).replace("[profile plain]", &format!("[profile {no_mfa}]"));
    env.write_config(&format!("{profiles}{extra}"));
    env.alice_credentials();
    Cx { env, mfa }
}

/// Profiles: `alice` (static keys, region eu-west-1), `admin` and `readonly` (roles behind
/// this test's MFA device), `plain` (a role without MFA).
pub fn plain_cx() -> Cx {
    plain_cx_with("")
}

/// [`plain_cx`] plus `extra` appended verbatim.
pub fn plain_cx_with(extra: &str) -> Cx {
    cx_named("plain", "plain", extra)
}

/// Profiles: `alice`, `admin` and `readonly` as in [`plain_cx`], and `zeta`, the role without
/// MFA, last of the roles in alphabetical order (as the picker lists them).
pub fn cx(label: &str) -> Cx {
    cx_with(label, "")
}

/// [`cx`] plus `extra` appended verbatim.
pub fn cx_with(label: &str, extra: &str) -> Cx {
    cx_named(label, "zeta", extra)
}

/// Profiles `alice` (static keys, region eu-west-1) and `admin` (the Administrators role over
/// alice, behind `mfa_serial` `arn:aws:iam::123456789012:mfa/<mfa>`), plus `extra`; alice's keys
/// in the credentials file.
pub fn admin_env(mfa: &str, extra: &str) -> TestEnv {
    let moto = moto();
    let env = TestEnv::new(moto);
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n{extra}",
        moto.role_arn("Administrators"),
        moto.mfa_serial(mfa),
    ));
    env.alice_credentials();
    env
}

/// [`admin_env`] (with alice's MFA device) plus `plain`, the Administrators role without MFA.
pub fn plain_env() -> TestEnv {
    admin_env(
        "alice",
        &format!(
            "[profile plain]\nrole_arn = {}\nsource_profile = alice\n",
            moto().role_arn("Administrators")
        ),
    )
}

/// Chains and sources: `alice` (static keys, eu-west-1), `admin` (a role behind alice's MFA
/// device), `chained` (a role over admin), `partner` (ExternalId, duration, session name,
/// MFA), `alice-proc` (alice's keys from a credential_process that prints `$HOME/alice.json`)
/// and `admin-proc` (a role over it).
pub fn chain_config(moto: &Moto) -> String {
    format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile chained]\nrole_arn = {chained}\nsource_profile = admin\nduration_seconds = 7200\n\
         [profile partner]\nrole_arn = {partner}\nsource_profile = alice\nexternal_id = partner-ext-id\n\
         duration_seconds = 1800\nmfa_serial = {mfa}\nrole_session_name = partner-audit\n\
         [profile alice-proc]\ncredential_process = {proc}\n\
         [profile admin-proc]\nrole_arn = {admin}\nsource_profile = alice-proc\n",
        admin = moto.role_arn("Administrators"),
        chained = moto.role_arn("Chained"),
        partner = moto.role_arn("Partner"),
        mfa = moto.mfa_serial("alice"),
        proc = "sh -c 'cat \"$HOME/alice.json\"'",
    )
}

/// A TestEnv on `moto` with [`chain_config`], alice's keys in the credentials file and in
/// `$HOME/alice.json` (for `alice-proc`).
pub fn chain_env(moto: &'static Moto) -> TestEnv {
    let env = TestEnv::new(moto);
    env.write_config(&chain_config(moto));
    env.alice_credentials();
    let (id, secret) = moto.keys("alice");
    std::fs::write(
        env.home().join("alice.json"),
        format!(r#"{{"Version": 1, "AccessKeyId": "{id}", "SecretAccessKey": "{secret}"}}"#),
    )
    .unwrap();
    env
}

/// The credentials of the auth-mode tests: alice's and mallory's keys, `bogus` (a key moto
/// does not know) and `wrong-secret` (alice's key id with another secret).
pub fn auth_credentials(env: &TestEnv, moto: &Moto) -> String {
    format!(
        "{}{}[bogus]\naws_access_key_id = AKIAIOSFODNN7BOGUS00\naws_secret_access_key = nope\n\
         [wrong-secret]\naws_access_key_id = {}\naws_secret_access_key = not-her-secret\n",
        env.user_credentials_section("alice", "alice"),
        env.user_credentials_section("mallory", "mallory"),
        moto.keys("alice").0,
    )
}

/// A profile of every kind of source and hop, for `assume explain` (which makes no STS call):
/// static keys, a role behind MFA, a two-hop chain with ExternalId, session name and duration,
/// web identity, a credential_source, SSO and a role over SSO.
pub const EXPLAIN_CONFIG: &str = "\
[profile alice]
region = eu-west-1
[profile admin]
role_arn = arn:aws:iam::123456789012:role/Administrators
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice
[profile chained]
role_arn = arn:aws:iam::123456789012:role/Chained
source_profile = admin
role_session_name = ops-session
external_id = partner-ext-id
duration_seconds = 7200
[profile web]
role_arn = arn:aws:iam::123456789012:role/Web
web_identity_token_file = /var/token.jwt
[profile on-ec2]
role_arn = arn:aws:iam::123456789012:role/Admin
credential_source = Ec2InstanceMetadata
[profile sso-user]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Dev
[profile via-sso]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = sso-user
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
";

/// A TestEnv with [`EXPLAIN_CONFIG`] and alice's keys.
pub fn explain_env() -> TestEnv {
    let env = TestEnv::new(moto());
    env.write_config(EXPLAIN_CONFIG);
    env.alice_credentials();
    env
}
