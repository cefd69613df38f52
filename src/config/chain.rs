//! From a selected profile to the chain the AWS SDKs would build: the base credentials and
//! the role hops on top of them, in call order. Pinned by the SDKs' `assume-role-tests.json`.
//!
//! [`resolve_chain`] walks one profile's chain; [`Resolver`] resolves many profiles of one set
//! (`list`), working out each profile's chain as a source profile once, so that resolving
//! every profile is linear in the number of profiles however deep the chains are.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::rc::Rc;

use super::parse::{ProfileSet, Section};

/// The most AssumeRole calls one chain may make. No real organisation chains more than a few
/// roles; a deeper chain is a mistake (or a generated file) and is refused before any call.
pub const MAX_HOPS: usize = 64;

/// The five keys whose presence makes a profile an IAM Identity Center (SSO) profile.
const SSO_KEYS: [&str; 5] = [
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
];

/// What the AWS SDK for Rust loads for a profile that `assume` does not load itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SdkSource {
    /// IAM Identity Center: `sso_*` keys or `sso_session`.
    Sso,
    /// `credential_process`.
    CredentialProcess,
    /// `login_session`: the session of `aws login` (the console's sign-in, cached by the aws CLI).
    Login,
}

impl std::fmt::Display for SdkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SdkSource::Sso => "sso",
            SdkSource::CredentialProcess => "credential_process",
            SdkSource::Login => "login_session",
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
    /// Anything else the AWS SDK for Rust loads for a profile: SSO, `login_session`,
    /// `credential_process`.
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
    #[error(
        "profile '{profile}': its role chain has more than {MAX_HOPS} hops (source_profile after source_profile), the most assume follows; end the chain at a profile with its own credentials"
    )]
    TooDeep { profile: String },
}

/// Resolves `selected` into a chain, exactly as the AWS SDK for Rust does:
/// * a profile with `role_arn` is a hop; its `source_profile` (or `credential_source`) names
///   where its credentials come from; `source_profile` naming itself means "my own keys";
/// * after the first profile, static keys win over a `role_arn` in the same profile;
/// * `web_identity_token_file` makes a profile a base, not a hop;
/// * at most [`MAX_HOPS`] hops.
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
        let step = step(set, profile, visited.len() == 1)?;
        if !matches!(step, Step::Base(_)) {
            hops.push(RoleHop { profile });
            if hops.len() > MAX_HOPS {
                return Err(ChainError::TooDeep {
                    profile: selected.to_string(),
                });
            }
        }
        match step {
            Step::Base(base) | Step::HopOn(base) => break base,
            Step::Next(next) => name = next,
        }
    };
    hops.reverse();
    Ok(ProfileChain { base, hops })
}

/// What one profile of a chain is.
enum Step<'a> {
    /// The end of the chain: these credentials, no role.
    Base(BaseProvider<'a>),
    /// A role assumed with these credentials (its own keys, or `credential_source`).
    HopOn(BaseProvider<'a>),
    /// A role assumed with the credentials of the profile named.
    Next(&'a str),
}

/// One profile, first in its chain (the selected profile) or not (a source profile).
fn step<'a>(
    set: &'a ProfileSet,
    profile: &'a Section,
    first: bool,
) -> Result<Step<'a>, ChainError> {
    if !first && set.vault.contains_key(&profile.name) {
        return Ok(Step::Base(BaseProvider::Vault(profile)));
    }
    if !first && has_static_keys(profile) {
        return Ok(Step::Base(BaseProvider::AccessKey(profile)));
    }
    if profile.get("role_arn").is_none() || profile.get("web_identity_token_file").is_some() {
        return base_provider(set, profile).map(Step::Base).map_err(|err| {
            if first {
                err
            } else {
                ChainError::InvalidCredentialSource {
                    profile: profile.name.clone(),
                    message: format!("could not load source profile: {err}"),
                }
            }
        });
    }
    match (
        profile.get("source_profile"),
        profile.get("credential_source"),
    ) {
        (Some(_), Some(_)) => Err(invalid(
            profile,
            "profile contained both source_profile and credential_source; keep only one",
        )),
        (None, None) => Err(invalid(
            profile,
            "profile must contain `source_profile` or `credential_source` but neither were defined",
        )),
        // Self-reference: this profile's own keys are the base.
        (Some(source), None) if source == profile.name => {
            Ok(Step::HopOn(base_provider(set, profile)?))
        }
        (Some(source), None) => Ok(Step::Next(source)),
        (None, Some(source)) => Ok(Step::HopOn(BaseProvider::NamedSource { profile, source })),
    }
}

/// What a [`Resolver`] knows of a profile as a source profile.
#[derive(Clone)]
enum AsSource<'a> {
    Chain(Rc<ProfileChain<'a>>),
    /// Its chain has [`MAX_HOPS`] hops or more: a profile on top of it is too deep.
    TooDeep,
    /// It cannot be a source; [`resolve_chain`] tells why, from the selected profile.
    Fails,
}

/// Resolves any number of profiles of one set, each profile's chain as a source profile worked
/// out once and shared by every profile on top of it. Agrees with [`resolve_chain`] on every
/// profile (its errors are [`resolve_chain`]'s own: a profile that fails is walked again by it).
pub struct Resolver<'a> {
    set: &'a ProfileSet,
    sources: HashMap<&'a str, AsSource<'a>>,
    visits: usize,
    /// [`Resolver::source`]'s walk: the profiles on the way down, kept for the next walk.
    stack: Vec<&'a Section>,
    on_stack: HashSet<&'a str>,
}

impl<'a> Resolver<'a> {
    pub fn new(set: &'a ProfileSet) -> Self {
        Resolver {
            set,
            sources: HashMap::default(),
            visits: 0,
            stack: Vec::new(),
            on_stack: HashSet::default(),
        }
    }

    /// How many times a profile has been looked at so far (the work done, for tests).
    pub fn visits(&self) -> usize {
        self.visits
    }

    pub fn resolve(&mut self, selected: &str) -> Result<ProfileChain<'a>, ChainError> {
        match self.set.profile(selected) {
            Some(profile) => self.resolve_profile(profile),
            None => resolve_chain(self.set, selected),
        }
    }

    /// [`Resolver::resolve`] of a profile of the set, found already.
    pub fn resolve_profile(
        &mut self,
        profile: &'a Section,
    ) -> Result<ProfileChain<'a>, ChainError> {
        match self.selected(profile) {
            Some(Ok(chain)) => Ok(chain),
            Some(Err(err)) => Err(err),
            None => resolve_chain(self.set, &profile.name),
        }
    }

    /// The chain of the selected profile from what is known of its source; `None` when
    /// [`resolve_chain`] must say what is wrong.
    fn selected(&mut self, profile: &'a Section) -> Option<Result<ProfileChain<'a>, ChainError>> {
        let selected = profile.name.as_str();
        self.visits += 1;
        let next = match step(self.set, profile, true).ok()? {
            Step::Base(base) => {
                return Some(Ok(ProfileChain {
                    base,
                    hops: Vec::new(),
                }));
            }
            Step::HopOn(base) => {
                return Some(Ok(ProfileChain {
                    base,
                    hops: vec![RoleHop { profile }],
                }));
            }
            Step::Next(next) => next,
        };
        match self.source(next) {
            AsSource::Fails => None,
            AsSource::TooDeep => Some(Err(ChainError::TooDeep {
                profile: selected.to_string(),
            })),
            AsSource::Chain(chain) if chain.hops.len() >= MAX_HOPS => {
                Some(Err(ChainError::TooDeep {
                    profile: selected.to_string(),
                }))
            }
            AsSource::Chain(chain) if chain.involves(selected) => None,
            AsSource::Chain(chain) => Some(Ok(chain.with_hop(profile))),
        }
    }

    /// What `start` is as a source profile: walked down to a profile already known (or the end
    /// of its chain), then every profile on the way is known, from the bottom up.
    fn source(&mut self, start: &'a str) -> AsSource<'a> {
        let mut stack = std::mem::take(&mut self.stack);
        let mut on_stack = std::mem::take(&mut self.on_stack);
        on_stack.clear();
        let mut name = start;
        let mut below = loop {
            if let Some(known) = self.sources.get(name) {
                break known.clone();
            }
            if !on_stack.insert(name) {
                break AsSource::Fails;
            }
            self.visits += 1;
            let Some(profile) = self.set.profile(name) else {
                break AsSource::Fails;
            };
            let known = match step(self.set, profile, false) {
                Err(_) => AsSource::Fails,
                Ok(Step::Base(base)) => AsSource::Chain(Rc::new(ProfileChain {
                    base,
                    hops: Vec::new(),
                })),
                Ok(Step::HopOn(base)) => AsSource::Chain(Rc::new(ProfileChain {
                    base,
                    hops: vec![RoleHop { profile }],
                })),
                Ok(Step::Next(next)) => {
                    stack.push(profile);
                    name = next;
                    continue;
                }
            };
            self.sources.insert(&profile.name, known.clone());
            break known;
        };
        while let Some(profile) = stack.pop() {
            below = match below {
                AsSource::Chain(chain) if chain.hops.len() >= MAX_HOPS => AsSource::TooDeep,
                AsSource::Chain(chain) if chain.involves(&profile.name) => AsSource::Fails,
                AsSource::Chain(chain) => AsSource::Chain(Rc::new(chain.with_hop(profile))),
                other => other,
            };
            self.sources.insert(&profile.name, below.clone());
        }
        (self.stack, self.on_stack) = (stack, on_stack);
        below
    }
}

impl<'a> ProfileChain<'a> {
    /// Whether `name` is one of the chain's profiles.
    fn involves(&self, name: &str) -> bool {
        self.base.profile().name == name || self.hops.iter().any(|hop| hop.profile.name == name)
    }

    /// This chain with one more hop on top.
    fn with_hop(&self, profile: &'a Section) -> ProfileChain<'a> {
        let mut hops = Vec::with_capacity(self.hops.len() + 1);
        hops.extend(self.hops.iter().cloned());
        hops.push(RoleHop { profile });
        ProfileChain {
            base: self.base.clone(),
            hops,
        }
    }
}

fn invalid(profile: &Section, message: &str) -> ChainError {
    ChainError::InvalidCredentialSource {
        profile: profile.name.clone(),
        message: message.to_string(),
    }
}

/// A profile that ends the chain: it must say where credentials come from. The order is the
/// AWS SDK for Rust's: `credential_source`, web identity, SSO (any of the five `sso_*` keys),
/// `login_session`, `credential_process`, static keys. (The vault comes first: it is where
/// `keys add` and `keys import` put a profile's keys on purpose.)
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
    if SSO_KEYS.iter().any(|key| profile.get(key).is_some()) {
        check_sso(set, profile)?;
        return Ok(BaseProvider::Sdk {
            profile,
            via: SdkSource::Sso,
        });
    }
    let via = if profile.get("login_session").is_some() {
        SdkSource::Login
    } else if profile.get("credential_process").is_some() {
        SdkSource::CredentialProcess
    } else {
        static_credentials(profile)?;
        return Ok(BaseProvider::AccessKey(profile));
    };
    Ok(BaseProvider::Sdk { profile, via })
}

/// An SSO profile must name everything the SDK's SSO provider needs: `sso_account_id` and
/// `sso_role_name`, and `sso_start_url` and `sso_region` — in the profile, or, with
/// `sso_session`, in that `[sso-session NAME]` section and only there (as the AWS SDK for
/// Rust requires). Every missing key is named at once.
fn check_sso(set: &ProfileSet, profile: &Section) -> Result<(), ChainError> {
    let mut missing: Vec<String> = ["sso_account_id", "sso_role_name"]
        .into_iter()
        .filter(|key| profile.get(key).is_none())
        .map(str::to_string)
        .collect();
    match profile.get("sso_session") {
        None => missing.extend(
            ["sso_start_url", "sso_region"]
                .into_iter()
                .filter(|key| profile.get(key).is_none())
                .map(str::to_string),
        ),
        Some(session_name) => {
            if let Some(key) = ["sso_start_url", "sso_region"]
                .into_iter()
                .find(|key| profile.get(key).is_some())
            {
                return Err(invalid(
                    profile,
                    &format!(
                        "`{key}` belongs in [sso-session {session_name}] when the profile names sso_session; remove it from the profile"
                    ),
                ));
            }
            let Some(session) = set.sso_sessions.get(session_name) else {
                return Err(invalid(
                    profile,
                    &format!(
                        "sso_session names [sso-session {session_name}], which is not in the config file; add it with sso_start_url and sso_region"
                    ),
                ));
            };
            missing.extend(
                ["sso_start_url", "sso_region"]
                    .into_iter()
                    .filter(|key| session.get(key).is_none())
                    .map(|key| format!("{key} (in [sso-session {session_name}])")),
            );
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(invalid(
            profile,
            &format!(
                "the profile is set up for IAM Identity Center (SSO) but is missing {}; add {} or remove its sso_* keys",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            ),
        ))
    }
}

/// Whether `profile` has the keys [`static_credentials`] asks for.
fn has_static_keys(profile: &Section) -> bool {
    profile.get("aws_access_key_id").is_some() && profile.get("aws_secret_access_key").is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileKind;

    fn set(config: &str) -> ProfileSet {
        let mut set = ProfileSet::default();
        set.merge_file(FileKind::Config, "config", config)
            .expect("parses");
        set
    }

    /// `[profile p0]` with keys, then `p1` … `p{depth}`, each a role on the one before.
    fn deep(depth: usize) -> String {
        let mut config = String::from(
            "[profile p0]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n",
        );
        for n in 1..=depth {
            config.push_str(&format!(
                "[profile p{n}]\nrole_arn = arn:aws:iam::123456789012:role/R{n}\nsource_profile = p{}\n",
                n - 1
            ));
        }
        config
    }

    #[test]
    fn a_chain_of_the_cap_resolves_and_one_more_is_refused() {
        let set = set(&deep(MAX_HOPS + 1));
        let chain = resolve_chain(&set, &format!("p{MAX_HOPS}")).expect("64 hops");
        assert_eq!(chain.hops.len(), MAX_HOPS);
        let err = resolve_chain(&set, &format!("p{}", MAX_HOPS + 1)).unwrap_err();
        assert_eq!(
            err,
            ChainError::TooDeep {
                profile: format!("p{}", MAX_HOPS + 1)
            }
        );
        assert!(err.to_string().contains("more than 64 hops"), "{err}");
    }

    #[test]
    fn resolving_every_profile_looks_at_each_profile_a_bounded_number_of_times() {
        // 2 000 profiles in one chain: walking each from scratch looks at ~130 000 (or, without
        // the cap, 2 million); the resolver at most twice each, in either order.
        let profiles = 2000;
        let set = set(&deep(profiles - 1));
        let names: Vec<String> = (0..profiles).map(|n| format!("p{n}")).collect();
        for order in [names.clone(), names.iter().rev().cloned().collect()] {
            let mut resolver = Resolver::new(&set);
            let mut deep_errors = 0;
            for name in &order {
                match resolver.resolve(name) {
                    Ok(chain) => assert_eq!(chain.hops.len().to_string(), name[1..]),
                    Err(ChainError::TooDeep { .. }) => deep_errors += 1,
                    Err(other) => panic!("{name}: {other}"),
                }
            }
            assert_eq!(deep_errors, profiles - MAX_HOPS - 1);
            assert!(
                resolver.visits() <= 2 * profiles,
                "{} visits for {profiles} profiles",
                resolver.visits()
            );
        }
    }

    #[test]
    fn the_resolver_reports_a_loop_as_the_walk_does() {
        // b as a source has keys, so b's chain as a source ends there; from b itself it loops.
        let set = set(
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:aws:iam::123456789012:role/B\nsource_profile = a\n\
             aws_access_key_id = AKID\naws_secret_access_key = s\n",
        );
        let mut resolver = Resolver::new(&set);
        for name in ["a", "b", "a", "b"] {
            assert_eq!(resolver.resolve(name), resolve_chain(&set, name), "{name}");
        }
        assert!(matches!(
            resolve_chain(&set, "b"),
            Err(ChainError::CredentialLoop { .. })
        ));
        assert_eq!(resolve_chain(&set, "a").expect("a").hops.len(), 1);
    }

    /// The base of profile `p` of `config`, or its error.
    fn base(config: &str) -> Result<String, String> {
        let set = set(config);
        resolve_chain(&set, "p")
            .map(|chain| match chain.base {
                BaseProvider::AccessKey(_) => "keys".to_string(),
                BaseProvider::Vault(_) => "vault".to_string(),
                BaseProvider::NamedSource { source, .. } => format!("source {source}"),
                BaseProvider::WebIdentity(_) => "web identity".to_string(),
                BaseProvider::Sdk { via, .. } => via.to_string(),
            })
            .map_err(|err| err.to_string())
    }

    const SSO: &str = "sso_start_url = https://d.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = R\n";

    #[test]
    fn any_sso_key_makes_a_profile_sso_and_it_must_be_complete() {
        assert_eq!(base(&format!("[profile p]\n{SSO}")), Ok("sso".into()));
        // botocore: "The profile "p" is configured to use SSO but is missing required
        // configuration: sso_role_name, sso_start_url, sso_region"; the Rust SDK refuses it too.
        let only_account = base("[profile p]\nsso_account_id = 123456789012\n").unwrap_err();
        assert!(
            only_account.contains("missing sso_role_name, sso_start_url, sso_region"),
            "{only_account}"
        );
        let only_url =
            base("[profile p]\nsso_start_url = https://d.awsapps.com/start\n").unwrap_err();
        assert!(
            only_url.contains("missing sso_account_id, sso_role_name, sso_region"),
            "{only_url}"
        );
        // The SDK for Rust takes any sso_* key as SSO, credential_process or not (botocore
        // only sso_account_id / sso_role_name, and then SSO before credential_process too).
        let beside_process =
            base("[profile p]\nsso_role_name = R\ncredential_process = /bin/creds\n").unwrap_err();
        assert!(
            beside_process.contains("IAM Identity Center"),
            "{beside_process}"
        );
    }

    #[test]
    fn sso_session_needs_its_section_with_url_and_region() {
        let profile =
            "[profile p]\nsso_session = dev\nsso_account_id = 123456789012\nsso_role_name = R\n";
        assert_eq!(
            base(&format!(
                "{profile}[sso-session dev]\nsso_start_url = https://d.awsapps.com/start\nsso_region = eu-west-1\n"
            )),
            Ok("sso".into())
        );
        let no_section = base(profile).unwrap_err();
        assert!(
            no_section.contains("[sso-session dev], which is not in the config file"),
            "{no_section}"
        );
        let no_region = base(&format!(
            "{profile}[sso-session dev]\nsso_start_url = https://x\n"
        ))
        .unwrap_err();
        assert!(
            no_region.contains("missing sso_region (in [sso-session dev])"),
            "{no_region}"
        );
        // The SDK for Rust refuses sso_start_url / sso_region in the profile beside sso_session
        // (botocore accepts them when they equal the section's).
        let both = base(&format!("{profile}sso_region = eu-west-1\n[sso-session dev]\nsso_start_url = https://x\nsso_region = eu-west-1\n")).unwrap_err();
        assert!(
            both.contains("`sso_region` belongs in [sso-session dev]"),
            "{both}"
        );
    }

    #[test]
    fn sources_follow_the_rust_sdks_order() {
        let keys = "aws_access_key_id = AKID\naws_secret_access_key = s\n";
        let process = "credential_process = /bin/creds\n";
        let login = "login_session = arn:aws:iam::123456789012:user/alice\n";
        let web = "role_arn = arn:aws:iam::123456789012:role/W\nweb_identity_token_file = /t\n";
        let cases = [
            (format!("{keys}{process}"), "credential_process"),
            (format!("{keys}{login}"), "login_session"),
            (format!("{process}{login}"), "login_session"),
            (format!("{login}{SSO}"), "sso"),
            (format!("{SSO}{web}"), "web identity"),
            (
                format!("{web}credential_source = Environment\n"),
                "source Environment",
            ),
            (keys.to_string(), "keys"),
        ];
        for (profile, expected) in cases {
            assert_eq!(
                base(&format!("[profile p]\n{profile}")),
                Ok(expected.to_string()),
                "{profile}"
            );
        }
    }
}
