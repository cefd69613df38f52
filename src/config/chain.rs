//! From a selected profile to the chain the AWS SDKs would build: the base credentials and
//! the role hops on top of them, in call order. Pinned by the SDKs' `assume-role-tests.json`.

use super::parse::{ProfileSet, Section};

/// What the AWS SDK for Rust loads for a profile that `assume` does not load itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SdkSource {
    /// IAM Identity Center: `sso_*` keys or `sso_session`.
    Sso,
    /// `credential_process`.
    CredentialProcess,
}

impl std::fmt::Display for SdkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SdkSource::Sso => "sso",
            SdkSource::CredentialProcess => "credential_process",
        })
    }
}

/// Where the first credentials of a chain come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseProvider<'a> {
    /// `aws_access_key_id` / `aws_secret_access_key` (/ `aws_session_token`) in a profile.
    AccessKey(&'a Section),
    /// A profile whose long-term keys are in the vault: static keys too, and they win over
    /// whatever else the profile says of its credentials (keys, `credential_process`).
    Vault(&'a Section),
    /// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
    NamedSource {
        profile: &'a Section,
        source: &'a str,
    },
    /// `role_arn` + `web_identity_token_file` in one profile.
    WebIdentity(&'a Section),
    /// Anything else the AWS SDK for Rust loads for a profile: `credential_process`, SSO.
    Sdk {
        profile: &'a Section,
        via: SdkSource,
    },
}

impl<'a> BaseProvider<'a> {
    pub fn profile(&self) -> &'a Section {
        match self {
            BaseProvider::AccessKey(profile)
            | BaseProvider::Vault(profile)
            | BaseProvider::WebIdentity(profile) => profile,
            BaseProvider::NamedSource { profile, .. } | BaseProvider::Sdk { profile, .. } => {
                profile
            }
        }
    }
}

/// One AssumeRole call: the profile whose `role_arn` it assumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop<'a> {
    pub profile: &'a Section,
}

impl<'a> RoleHop<'a> {
    pub fn role_arn(&self) -> &'a str {
        self.profile.get("role_arn").unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChain<'a> {
    pub base: BaseProvider<'a>,
    /// In call order: `hops[0]` is assumed with the base credentials.
    pub hops: Vec<RoleHop<'a>>,
}

/// Why a profile cannot become a chain. The wording carries the SDKs' own phrases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("No profiles were defined: add a [profile NAME] section to the AWS config file")]
    NoProfilesDefined,
    #[error(
        "could not find source profile {profile} referenced from {from}: add [profile {profile}] or fix source_profile in [profile {from}]"
    )]
    MissingProfile { profile: String, from: String },
    /// The selected profile itself is missing (not a source profile).
    #[error("could not find profile {profile}")]
    MissingSelected { profile: String },
    #[error(
        "profile formed an infinite loop: {path} -> {next}; one source_profile in that cycle must name a profile with keys"
    )]
    CredentialLoop { path: String, next: String },
    #[error("profile '{profile}': {message}")]
    InvalidCredentialSource { profile: String, message: String },
}

/// Resolves `selected` into a chain, exactly as the AWS SDK for Rust does:
/// * a profile with `role_arn` is a hop; its `source_profile` (or `credential_source`) names
///   where its credentials come from; `source_profile` naming itself means "my own keys";
/// * after the first profile, static keys win over a `role_arn` in the same profile;
/// * `web_identity_token_file` makes a profile a base, not a hop.
pub fn resolve_chain<'a>(
    set: &'a ProfileSet,
    selected: &str,
) -> Result<ProfileChain<'a>, ChainError> {
    if set.profiles.is_empty() {
        return Err(ChainError::NoProfilesDefined);
    }
    let mut name = selected;
    let mut visited: Vec<&str> = Vec::new();
    let mut hops = Vec::new();
    let base = loop {
        let profile = set.profile(name).ok_or_else(|| match visited.last() {
            Some(from) => ChainError::MissingProfile {
                profile: name.to_string(),
                from: from.to_string(),
            },
            None => ChainError::MissingSelected {
                profile: name.to_string(),
            },
        })?;
        if visited.contains(&name) {
            return Err(ChainError::CredentialLoop {
                path: visited.join(" -> "),
                next: name.to_string(),
            });
        }
        visited.push(name);
        if visited.len() > 1 && set.vault.contains_key(name) {
            break BaseProvider::Vault(profile);
        }
        if visited.len() > 1 && static_credentials(profile).is_ok() {
            break BaseProvider::AccessKey(profile);
        }
        if profile.get("role_arn").is_none() || profile.get("web_identity_token_file").is_some() {
            break base_provider(set, profile).map_err(|err| {
                if visited.len() == 1 {
                    err
                } else {
                    ChainError::InvalidCredentialSource {
                        profile: profile.name.clone(),
                        message: format!("could not load source profile: {err}"),
                    }
                }
            })?;
        }
        hops.push(RoleHop { profile });
        match (
            profile.get("source_profile"),
            profile.get("credential_source"),
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    profile,
                    "profile contained both source_profile and credential_source; keep only one",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    profile,
                    "profile must contain `source_profile` or `credential_source` but neither were defined",
                ));
            }
            (Some(source), None) if source == profile.name => {
                // Self-reference: this profile's own keys are the base.
                break base_provider(set, profile)?;
            }
            (Some(source), None) => name = source,
            (None, Some(source)) => break BaseProvider::NamedSource { profile, source },
        }
    };
    hops.reverse();
    Ok(ProfileChain { base, hops })
}

fn invalid(profile: &Section, message: &str) -> ChainError {
    ChainError::InvalidCredentialSource {
        profile: profile.name.clone(),
        message: message.to_string(),
    }
}

/// A profile that ends the chain: it must say where credentials come from.
fn base_provider<'a>(
    set: &ProfileSet,
    profile: &'a Section,
) -> Result<BaseProvider<'a>, ChainError> {
    if set.vault.contains_key(&profile.name) {
        return Ok(BaseProvider::Vault(profile));
    }
    if let Some(source) = profile.get("credential_source") {
        return Ok(BaseProvider::NamedSource { profile, source });
    }
    match (
        profile.get("role_arn"),
        profile.get("web_identity_token_file"),
    ) {
        (Some(_), Some(_)) => return Ok(BaseProvider::WebIdentity(profile)),
        (None, Some(_)) => {
            return Err(invalid(
                profile,
                "`role_arn` was missing: web_identity_token_file needs a role_arn beside it",
            ));
        }
        _ => {}
    }
    if ["sso_session", "sso_start_url", "sso_account_id"]
        .iter()
        .any(|key| profile.get(key).is_some())
    {
        return Ok(BaseProvider::Sdk {
            profile,
            via: SdkSource::Sso,
        });
    }
    if profile.get("credential_process").is_some() {
        return Ok(BaseProvider::Sdk {
            profile,
            via: SdkSource::CredentialProcess,
        });
    }
    static_credentials(profile)?;
    Ok(BaseProvider::AccessKey(profile))
}

fn static_credentials(profile: &Section) -> Result<(), ChainError> {
    match (
        profile.get("aws_access_key_id"),
        profile.get("aws_secret_access_key"),
        profile.get("aws_session_token"),
    ) {
        (Some(_), Some(_), _) => Ok(()),
        (None, None, None) => Err(invalid(
            profile,
            "profile did not contain credential information: expected `aws_access_key_id` and `aws_secret_access_key` to be defined",
        )),
        (None, _, _) => Err(invalid(profile, "profile missing aws_access_key_id")),
        (Some(_), None, _) => Err(invalid(profile, "profile missing aws_secret_access_key")),
    }
}
