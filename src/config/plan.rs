//! A resolved chain made ready to run: every value validated, region and endpoint chosen,
//! durations capped where AWS would refuse them. `explain` prints this; `sts` executes it.

use aws_credential_types::Credentials;
use serde::Serialize;

use super::chain::{BaseProvider, ProfileChain, SdkSource};
use super::parse::{ProfileSet, Section, VaultEntry};
use super::{ConfigError, Env};

/// AWS caps a session assumed with role credentials ("role chaining") at one hour.
pub const ROLE_CHAINING_MAX_SECONDS: u32 = 3600;
pub const MIN_DURATION_SECONDS: u32 = 900;
pub const MAX_DURATION_SECONDS: u32 = 43200;
pub const DEFAULT_REGION: &str = "us-east-1";
/// A region names one DNS label of the STS host.
pub const MAX_REGION_LENGTH: usize = 63;
/// IAM's limits for a role ARN and a role name.
pub const MAX_ROLE_ARN_LENGTH: usize = 2048;
pub const MAX_ROLE_NAME_LENGTH: usize = 64;
pub const MAX_ROLE_PATH_LENGTH: usize = 512;
/// GetSessionToken's bounds for an IAM user, and `assume`'s default MFA session (8 h).
pub const MFA_SESSION_RANGE: std::ops::RangeInclusive<u32> = 900..=129_600;
pub const DEFAULT_MFA_SESSION_SECONDS: u32 = 8 * 3600;

/// What the command line says over the config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--duration`, for the last hop (the role the user asked for).
    pub duration_seconds: Option<u32>,
    /// `--region`.
    pub region: Option<String>,
}

/// `credential_source`: where an instance or container finds credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`).
    Environment,
    /// The EC2 instance metadata service.
    Ec2InstanceMetadata,
    /// The ECS container credentials endpoint.
    EcsContainer,
}

impl CredentialSource {
    /// The value as the config file spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "Environment" => Some(CredentialSource::Environment),
            "Ec2InstanceMetadata" => Some(CredentialSource::Ec2InstanceMetadata),
            "EcsContainer" => Some(CredentialSource::EcsContainer),
            _ => None,
        }
    }
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// The base credentials, owned. `Credentials` redacts its secret in `Debug`.
#[derive(Debug, Clone)]
pub enum Base {
    Static {
        profile: String,
        credentials: Credentials,
    },
    CredentialSource {
        profile: String,
        source: CredentialSource,
    },
    WebIdentity {
        profile: String,
        role_arn: String,
        token_file: String,
        role_session_name: Option<String>,
    },
    Sdk {
        profile: String,
        via: SdkSource,
    },
    /// Long-term keys in the vault: the index names them; the secret is read from the store
    /// only when STS is to be called.
    Vault {
        profile: String,
        access_key_id: String,
        store: crate::vault::VaultKind,
        /// The access key id of keys the files also hold for this profile, which the vault's
        /// override.
        shadowed: Option<String>,
    },
}

impl Base {
    pub fn profile(&self) -> &str {
        match self {
            Base::Static { profile, .. }
            | Base::CredentialSource { profile, .. }
            | Base::WebIdentity { profile, .. }
            | Base::Sdk { profile, .. }
            | Base::Vault { profile, .. } => profile,
        }
    }

    /// The `kind` of `explain`'s JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Base::Static { .. } => "static",
            Base::CredentialSource { .. } => "credential_source",
            Base::WebIdentity { .. } => "web_identity",
            Base::Sdk { .. } => "sdk",
            Base::Vault { .. } => "vault",
        }
    }

    /// Whether these credentials are themselves a role session, so that a role assumed with
    /// them is role chaining (one hour at most). SSO, instance and container credentials are
    /// role sessions; keys and `credential_process` output are taken to be a user's; an
    /// `aws login` session is a role's when its ARN is an assumed role's.
    fn is_role_session(&self, profile: &Section) -> bool {
        match self {
            Base::WebIdentity { .. } => true,
            Base::CredentialSource { source, .. } => *source != CredentialSource::Environment,
            Base::Sdk { via, .. } => match via {
                SdkSource::Sso => true,
                SdkSource::Login => profile
                    .get("login_session")
                    .is_some_and(|arn| arn.contains(":assumed-role/")),
                SdkSource::CredentialProcess => false,
            },
            Base::Static { .. } | Base::Vault { .. } => false,
        }
    }
}

/// One AssumeRole call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<u32>,
    /// A command whose output is the MFA code (`mfa_process`), for a hop with `mfa_serial`.
    pub mfa_process: Option<String>,
}

/// Where the region came from, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionSource {
    Flag,
    Profile(String),
    Env(String),
    Default,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The selected profile.
    pub profile: String,
    pub region: String,
    pub region_source: RegionSource,
    /// An STS endpoint override (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, profile
    /// `services` or `endpoint_url`); `None` means the regional endpoint.
    pub endpoint_url: Option<String>,
    pub base: Base,
    /// In call order.
    pub hops: Vec<Hop>,
    /// Adjustments to tell the user about on stderr (e.g. a capped duration).
    pub notices: Vec<String>,
    /// How long a cached MFA (GetSessionToken) session lasts: `mfa_session_duration`,
    /// `ASSUME_MFA_SESSION_DURATION`, else 8 h.
    pub mfa_session_seconds: u32,
    /// Who the base credentials are, for the cache key (never a secret): the access key id,
    /// the SSO start URL, account and role, the `credential_process` command, the container
    /// endpoint … all known without loading anything.
    pub base_identity: String,
}

impl Plan {
    pub fn build(
        set: &ProfileSet,
        chain: &ProfileChain<'_>,
        overrides: &Overrides,
        env: &Env,
    ) -> Result<Plan, ConfigError> {
        let base = owned_base(set, &chain.base)?;
        // Non-credential settings come from the selected profile, else the nearest source
        // profile that has them.
        let mut lookup: Vec<&Section> = chain.hops.iter().rev().map(|hop| hop.profile).collect();
        lookup.push(chain.base.profile());
        let selected = lookup[0].name.clone();
        let setting = |key: &str| {
            lookup
                .iter()
                .find_map(|profile| profile.get(key).map(|value| (profile, value)))
        };

        let (region, region_source) = choose_region(overrides, &setting, env);
        check_region(&selected, &region)?;
        let endpoint_url = endpoint_url(set, &setting, env);
        check_endpoint(&selected, endpoint_url.as_deref())?;
        let mfa_session_seconds = mfa_session_seconds(&selected, &setting, env)?;

        let mut notices = Vec::new();
        let last = chain.hops.len().saturating_sub(1);
        let mut hops = Vec::with_capacity(chain.hops.len());
        for (index, hop) in chain.hops.iter().enumerate() {
            let profile = hop.profile;
            let configured = match profile.get("duration_seconds") {
                Some(text) => Some(parse_duration_seconds(&profile.name, text)?),
                None => None,
            };
            let mut duration = if index == last {
                overrides.duration_seconds.or(configured)
            } else {
                configured
            };
            if let Some(seconds) = duration {
                check_duration(&profile.name, seconds)?;
                let chained = index > 0 || base.is_role_session(chain.base.profile());
                if chained && seconds > ROLE_CHAINING_MAX_SECONDS {
                    notices.push(format!(
                        "profile '{}': duration {seconds}s capped to {ROLE_CHAINING_MAX_SECONDS}s, the most AWS allows for a role assumed with role credentials",
                        profile.name
                    ));
                    duration = Some(ROLE_CHAINING_MAX_SECONDS);
                }
            }
            hops.push(Hop {
                profile: profile.name.clone(),
                role_arn: {
                    validate_role_arn(&profile.name, hop.role_arn())?;
                    hop.role_arn().to_string()
                },
                mfa_serial: optional(profile, "mfa_serial", validate_mfa_serial)?,
                mfa_process: profile
                    .get("mfa_process")
                    .or_else(|| setting("mfa_process").map(|(_, command)| command))
                    .map(str::to_string),
                external_id: optional(profile, "external_id", validate_external_id)?,
                role_session_name: optional(profile, "role_session_name", validate_session_name)?,
                duration_seconds: duration,
            });
        }
        if let Base::WebIdentity {
            profile,
            role_arn,
            role_session_name,
            ..
        } = &base
        {
            validate_role_arn(profile, role_arn)?;
            if let Some(name) = role_session_name {
                validate_session_name(profile, name)?;
            }
        }
        let base_identity = base_identity(set, &base, chain.base.profile(), env);
        Ok(Plan {
            base_identity,
            profile: selected,
            region,
            region_source,
            endpoint_url,
            base,
            hops,
            notices,
            mfa_session_seconds,
        })
    }
}

/// Looks a setting up in the selected profile, else the nearest source profile that has it:
/// that profile and the value.
type Setting<'a> = dyn Fn(&str) -> Option<(&'a &'a Section, &'a str)> + 'a;

/// The region: `--region`, else the nearest profile's `region`, else the environment's, else
/// the default.
fn choose_region<'a>(
    overrides: &Overrides,
    setting: &Setting<'a>,
    env: &Env,
) -> (String, RegionSource) {
    if let Some(region) = &overrides.region {
        (region.clone(), RegionSource::Flag)
    } else if let Some((profile, region)) = setting("region") {
        (
            region.to_string(),
            RegionSource::Profile(profile.name.clone()),
        )
    } else if let Some((var, region)) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|var| env.get(var).map(|value| (var, value)))
    {
        (region, RegionSource::Env(var.to_string()))
    } else {
        (DEFAULT_REGION.to_string(), RegionSource::Default)
    }
}

/// A region is one DNS label of the STS host name, as botocore checks it.
fn check_region(selected: &str, region: &str) -> Result<(), ConfigError> {
    if (1..=MAX_REGION_LENGTH).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Ok(());
    }
    Err(invalid(
        selected,
        format!(
            "region '{}' is not an AWS region name (like eu-west-1: at most {MAX_REGION_LENGTH} lower-case letters, digits and -)",
            excerpt(region)
        ),
    ))
}

fn check_endpoint(selected: &str, endpoint_url: Option<&str>) -> Result<(), ConfigError> {
    match endpoint_url {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(invalid(
            selected,
            format!(
                "STS endpoint '{}' must start with https:// or http://",
                excerpt(&crate::message::redact_urls(url))
            ),
        )),
        _ => Ok(()),
    }
}

/// How long a cached MFA session lasts: the nearest `mfa_session_duration`, else
/// `ASSUME_MFA_SESSION_DURATION`, else 8 h.
fn mfa_session_seconds<'a>(
    selected: &str,
    setting: &Setting<'a>,
    env: &Env,
) -> Result<u32, ConfigError> {
    let Some((profile, text)) = setting("mfa_session_duration")
        .map(|(profile, value)| (profile.name.clone(), value.to_string()))
        .or_else(|| {
            env.get("ASSUME_MFA_SESSION_DURATION")
                .map(|value| (selected.to_string(), value))
        })
    else {
        return Ok(DEFAULT_MFA_SESSION_SECONDS);
    };
    parse_human_seconds(&text)
        .filter(|seconds| MFA_SESSION_RANGE.contains(seconds))
        .ok_or_else(|| {
            invalid(
                &profile,
                format!("mfa_session_duration '{text}' must be 15 min to 36 h (e.g. 8h or 28800)"),
            )
        })
}

/// What `list` shows of a plan, when [`Summaries::summary`] can vouch for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    /// From the config when a profile there sets it (the common case: nothing is copied).
    pub region: std::borrow::Cow<'a, str>,
    /// Whether a hop has `mfa_serial`.
    pub mfa: bool,
}

/// `list`'s summaries of many plans of one set and environment: what the environment says of
/// every plan (region, endpoint, MFA session length) is read and checked once, and each hop
/// profile's own values are checked once, not once for every profile on top of it.
pub struct Summaries<'a> {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    env_region: Option<String>,
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, when set: whether it says `true`.
    env_ignores_endpoints: Option<bool>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`: whether it is a usable endpoint.
    env_endpoint_ok: Option<bool>,
    /// `ASSUME_MFA_SESSION_DURATION`: whether it is a usable length.
    env_mfa_session_ok: Option<bool>,
    /// Hop profiles whose own values passed their checks, by where they are.
    checked: rustc_hash::FxHashSet<usize>,
    /// The chain being summarised, from the selected profile down to the base.
    lookup: Vec<&'a Section>,
    env: &'a Env,
}

/// The settings a summary reads, from the nearest profile that has each.
#[derive(Clone, Copy, Default)]
struct Settings<'a> {
    region: Option<&'a str>,
    ignore_configured_endpoint_urls: Option<&'a str>,
    services: Option<&'a str>,
    endpoint_url: Option<&'a str>,
    mfa_session_duration: Option<&'a str>,
}

impl<'a> Settings<'a> {
    fn of(profile: &'a Section) -> Self {
        Settings {
            region: profile.get("region"),
            ignore_configured_endpoint_urls: profile.get("ignore_configured_endpoint_urls"),
            services: profile.get("services"),
            endpoint_url: profile.get("endpoint_url"),
            mfa_session_duration: profile.get("mfa_session_duration"),
        }
    }

    /// These settings, each falling back to `below`'s.
    fn over(self, below: Settings<'a>) -> Self {
        Settings {
            region: self.region.or(below.region),
            ignore_configured_endpoint_urls: self
                .ignore_configured_endpoint_urls
                .or(below.ignore_configured_endpoint_urls),
            services: self.services.or(below.services),
            endpoint_url: self.endpoint_url.or(below.endpoint_url),
            mfa_session_duration: self.mfa_session_duration.or(below.mfa_session_duration),
        }
    }
}

impl<'a> Summaries<'a> {
    pub fn new(env: &'a Env) -> Self {
        Summaries {
            env_region: env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION")),
            env_ignores_endpoints: env
                .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                .map(|value| value.eq_ignore_ascii_case("true")),
            env_endpoint_ok: env
                .get("AWS_ENDPOINT_URL_STS")
                .or_else(|| env.get("AWS_ENDPOINT_URL"))
                .map(|url| check_endpoint("", Some(&url)).is_ok()),
            env_mfa_session_ok: env
                .get("ASSUME_MFA_SESSION_DURATION")
                .map(|text| mfa_session_ok(&text)),
            checked: rustc_hash::FxHashSet::default(),
            lookup: Vec::new(),
            env,
        }
    }

    /// Room for summaries of `profiles` profiles, so that the tables grow no more as they go.
    pub fn reserve(&mut self, profiles: usize) {
        self.checked.reserve(profiles);
    }

    /// The region and MFA of the plan [`Plan::build`] makes of `chain` with no overrides, when
    /// it can be said that the build succeeds without building it. `None` when the base is not
    /// static keys, or anything would fail: the plan is then built, and says why.
    pub fn summary(&mut self, set: &ProfileSet, chain: &ProfileChain<'a>) -> Option<Summary<'a>> {
        let BaseProvider::AccessKey(base) = chain.base else {
            return None;
        };
        // The nearest profile's values: the selected profile's, then down the chain to the
        // base. What a chain's lower part says is known from an earlier profile on it.
        self.lookup.clear();
        self.lookup
            .extend(chain.hops.iter().rev().map(|hop| hop.profile));
        self.lookup.push(base);
        // At most `MAX_HOPS` + 1 profiles: read afresh, as a table of what lower parts say would
        // cost more (in memory touched) than it saves.
        let settings = self
            .lookup
            .iter()
            .rev()
            .fold(Settings::default(), |below, profile| {
                Settings::of(profile).over(below)
            });
        let region = match (settings.region, &self.env_region) {
            (Some(region), _) => std::borrow::Cow::Borrowed(region),
            (None, Some(region)) => std::borrow::Cow::Owned(region.clone()),
            (None, None) => std::borrow::Cow::Borrowed(DEFAULT_REGION),
        };
        check_region("", &region).ok()?;
        let ignores_endpoints = self.env_ignores_endpoints.unwrap_or_else(|| {
            settings
                .ignore_configured_endpoint_urls
                .is_some_and(|value| value.eq_ignore_ascii_case("true"))
        });
        if !ignores_endpoints {
            let endpoint_ok = match self.env_endpoint_ok {
                Some(ok) => ok,
                // A `services` section: as the plan reads it (rare, so not made faster).
                None if settings.services.is_some() => {
                    let lookup = &self.lookup;
                    let setting = |key: &str| {
                        lookup
                            .iter()
                            .find_map(|profile| profile.get(key).map(|value| (profile, value)))
                    };
                    check_endpoint("", endpoint_url(set, &setting, self.env).as_deref()).is_ok()
                }
                None => check_endpoint("", settings.endpoint_url).is_ok(),
            };
            if !endpoint_ok {
                return None;
            }
        }
        let mfa_session_ok = match settings.mfa_session_duration {
            Some(text) => mfa_session_ok(text),
            None => self.env_mfa_session_ok.unwrap_or(true),
        };
        if !mfa_session_ok {
            return None;
        }
        let mut mfa = false;
        for hop in &chain.hops {
            let profile = hop.profile;
            let at = profile as *const Section as usize;
            if !self.checked.contains(&at) {
                check_hop(profile).ok()?;
                self.checked.insert(at);
            }
            mfa |= profile.get("mfa_serial").is_some();
        }
        Some(Summary { region, mfa })
    }
}

/// Whether `text` is a length [`mfa_session_seconds`] accepts.
fn mfa_session_ok(text: &str) -> bool {
    parse_human_seconds(text).is_some_and(|seconds| MFA_SESSION_RANGE.contains(&seconds))
}

/// A hop profile's own values, checked as [`Plan::build`] checks them (with no `--duration`).
fn check_hop(profile: &Section) -> Result<(), ConfigError> {
    if let Some(text) = profile.get("duration_seconds") {
        check_duration(&profile.name, parse_duration_seconds(&profile.name, text)?)?;
    }
    validate_role_arn(&profile.name, profile.get("role_arn").unwrap_or_default())?;
    optional(profile, "mfa_serial", validate_mfa_serial)?;
    optional(profile, "external_id", validate_external_id)?;
    optional(profile, "role_session_name", validate_session_name)?;
    Ok(())
}

/// `28800`, `8h`, `90m`: seconds.
pub fn parse_human_seconds(text: &str) -> Option<u32> {
    let seconds = match text.parse::<u64>() {
        Ok(seconds) => seconds,
        Err(_) => humantime::parse_duration(text).ok()?.as_secs(),
    };
    u32::try_from(seconds).ok()
}

fn invalid(profile: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        profile: profile.to_string(),
        message,
    }
}

fn owned_base(set: &ProfileSet, base: &BaseProvider<'_>) -> Result<Base, ConfigError> {
    let profile = base.profile();
    let name = profile.name.clone();
    Ok(match base {
        BaseProvider::Vault(_) => {
            let entry = set.vault.get(&name).cloned().unwrap_or_else(|| VaultEntry {
                access_key_id: String::new(),
                store: crate::vault::VaultKind::Keyring,
            });
            Base::Vault {
                profile: name,
                access_key_id: entry.access_key_id,
                store: entry.store,
                shadowed: profile.get("aws_access_key_id").map(str::to_string),
            }
        }
        BaseProvider::AccessKey(_) => {
            let key = |k: &str| profile.get(k).unwrap_or_default().to_string();
            Base::Static {
                profile: name,
                credentials: Credentials::new(
                    key("aws_access_key_id"),
                    key("aws_secret_access_key"),
                    profile.get("aws_session_token").map(str::to_string),
                    None,
                    "profile",
                ),
            }
        }
        BaseProvider::NamedSource { source, .. } => Base::CredentialSource {
            source: CredentialSource::from_name(source).ok_or_else(|| {
                invalid(
                    &name,
                    format!(
                        "credential_source '{source}' is not supported; use Environment, Ec2InstanceMetadata or EcsContainer"
                    ),
                )
            })?,
            profile: name,
        },
        BaseProvider::WebIdentity(_) => Base::WebIdentity {
            profile: name,
            role_arn: profile.get("role_arn").unwrap_or_default().to_string(),
            token_file: profile
                .get("web_identity_token_file")
                .unwrap_or_default()
                .to_string(),
            role_session_name: profile.get("role_session_name").map(str::to_string),
        },
        BaseProvider::Sdk { via, .. } => Base::Sdk {
            profile: name,
            via: *via,
        },
    })
}

/// Who `base` is, as far as the files and the environment tell without loading anything.
fn base_identity(set: &ProfileSet, base: &Base, profile: &Section, env: &Env) -> String {
    let var = |name: &str| env.get(name).unwrap_or_default();
    match base {
        Base::Static { credentials, .. } => format!("key:{}", credentials.access_key_id()),
        // The same as for the same keys in a file: moving them into the vault keeps the cache.
        Base::Vault { access_key_id, .. } => format!("key:{access_key_id}"),
        Base::CredentialSource { source, .. } => match source {
            CredentialSource::Environment => format!("env:{}", var("AWS_ACCESS_KEY_ID")),
            CredentialSource::EcsContainer => format!(
                "ecs:{}:{}",
                var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
                var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            ),
            CredentialSource::Ec2InstanceMetadata => {
                format!("imds:{}", var("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
            }
        },
        Base::WebIdentity {
            role_arn,
            token_file,
            ..
        } => format!("web:{role_arn}:{token_file}"),
        Base::Sdk {
            via: SdkSource::Sso,
            ..
        } => {
            let session = profile.get("sso_session");
            let start_url = profile.get("sso_start_url").or_else(|| {
                set.other_sections
                    .get(&("sso-session".to_string(), session?.to_string()))?
                    .get("sso_start_url")
            });
            serde_json::json!([
                "sso",
                start_url,
                session,
                profile.get("sso_account_id"),
                profile.get("sso_role_name"),
            ])
            .to_string()
        }
        // Who a process returns is what its command line says; running it on every cache
        // hit just to find out would prompt (op, aws-vault, a YubiKey touch) each time.
        Base::Sdk {
            via: SdkSource::CredentialProcess,
            ..
        } => serde_json::json!(["process", profile.get("credential_process")]).to_string(),
        // One `aws login` session per principal: the aws CLI caches it by this ARN.
        Base::Sdk {
            via: SdkSource::Login,
            ..
        } => serde_json::json!(["login", profile.get("login_session")]).to_string(),
    }
}

/// The STS endpoint override, in the SDKs' order: service variable, global variable,
/// the profile's `services` section, the profile's `endpoint_url`.
fn endpoint_url<'a>(set: &ProfileSet, setting: &Setting<'a>, env: &Env) -> Option<String> {
    service_endpoint_url(set, setting, env, "sts")
}

/// A service's endpoint override (`service` as in a `services` section: `sts`, `iam`), in the
/// SDKs' order: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services`
/// section, the profile's `endpoint_url`.
fn service_endpoint_url<'a>(
    set: &ProfileSet,
    setting: &Setting<'a>,
    env: &Env,
    service: &str,
) -> Option<String> {
    let ignore = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| setting("ignore_configured_endpoint_urls").map(|(_, v)| v.to_string()))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    env.get(&format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_ascii_uppercase()
    ))
    .or_else(|| env.get("AWS_ENDPOINT_URL"))
    .or_else(|| {
        let (_, services) = setting("services")?;
        set.other_sections
            .get(&("services".to_string(), services.to_string()))?
            .sub_properties(service)
            .remove("endpoint_url")
    })
    .or_else(|| setting("endpoint_url").map(|(_, v)| v.to_string()))
}

/// Where one profile's own calls to `service` go (`keys rotate`: `iam`, `sts`), from that
/// profile's settings alone and the environment: `None` is the service's own endpoint.
pub fn profile_endpoint_url(
    set: &ProfileSet,
    profile: &str,
    env: &Env,
    service: &str,
) -> Option<String> {
    let section = set.profile(profile);
    let section = section.as_ref();
    let setting = |key: &str| {
        let section = section?;
        section.get(key).map(|value| (section, value))
    };
    service_endpoint_url(set, &setting, env, service)
}

/// One profile's region, from its own settings and the environment (`keys rotate`).
pub fn profile_region(set: &ProfileSet, profile: &str, env: &Env) -> String {
    set.profile(profile)
        .and_then(|section| section.get("region").map(str::to_string))
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}

fn optional(
    profile: &Section,
    key: &str,
    validate: fn(&str, &str) -> Result<String, ConfigError>,
) -> Result<Option<String>, ConfigError> {
    profile
        .get(key)
        .map(|value| validate(&profile.name, value))
        .transpose()
}

fn parse_duration_seconds(profile: &str, text: &str) -> Result<u32, ConfigError> {
    text.parse().map_err(|_| {
        invalid(
            profile,
            format!(
                "duration_seconds '{text}' is not a number of seconds; use {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS}"
            ),
        )
    })
}

fn check_duration(profile: &str, seconds: u32) -> Result<(), ConfigError> {
    if (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(invalid(
            profile,
            format!(
                "duration {seconds}s is out of range; AWS accepts {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds (15 min to 12 h)"
            ),
        ))
    }
}

/// STS's character set for names and ids: letters, digits and `+=,.@-_`.
fn sts_chars(value: &str, extra: &[u8]) -> bool {
    value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'-' | b'_')
            || extra.contains(&b)
    })
}

/// `text` cut at its first `:`, the `:` left out.
fn cut_colon(text: &str) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == b':')?;
    // `:` is ASCII: its position is a character boundary.
    Some((&text[..at], &text[at + 1..]))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` as IAM defines them: the path `/` or `/…/`
/// of printable ASCII (`!` to `~`) at most 512 characters, the name 1 to 64 of
/// `A-Za-z0-9+=,.@-_`, the ARN at most 2048 characters.
fn validate_role_arn(profile: &str, arn: &str) -> Result<(), ConfigError> {
    let is_role_arn = || {
        let (partition, rest) = cut_colon(arn.strip_prefix("arn:")?)?;
        let (account, resource) = cut_colon(rest.strip_prefix("iam::")?)?;
        Some(
            arn.len() <= MAX_ROLE_ARN_LENGTH
                && is_partition(partition)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(is_role_path_and_name),
        )
    };
    if is_role_arn() == Some(true) {
        Ok(())
    } else {
        Err(invalid(
            profile,
            format!(
                "role_arn '{}' is not an IAM role ARN; expected arn:aws:iam::123456789012:role/[PATH/]NAME (a path of printable ASCII, at most {MAX_ROLE_PATH_LENGTH} characters; a name of 1 to {MAX_ROLE_NAME_LENGTH} letters, digits or +=,.@-_)",
                excerpt(arn)
            ),
        ))
    }
}

/// What follows `role/` in a role ARN: `[PATH/]NAME`, the path without its leading `/`.
fn is_role_path_and_name(rest: &str) -> bool {
    let (inner, name) = match rest.bytes().rposition(|b| b == b'/') {
        Some(cut) => (&rest[..=cut], &rest[cut + 1..]),
        None => ("", rest),
    };
    // The whole path is `/` + inner: `/`, or `/`, one or more printable characters, `/`.
    let path_length = 1 + inner.len();
    let path_ok = inner.is_empty()
        || ((3..=MAX_ROLE_PATH_LENGTH).contains(&path_length)
            && inner.bytes().all(|b| (b'!'..=b'~').contains(&b)));
    path_ok && (1..=MAX_ROLE_NAME_LENGTH).contains(&name.len()) && sts_chars(name, b"")
}

/// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b` …: `aws` and lower-case words joined by `-`.
fn is_partition(partition: &str) -> bool {
    partition.strip_prefix("aws").is_some_and(|rest| {
        (rest.is_empty() || rest.starts_with('-'))
            && rest
                .split('-')
                .skip(1)
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
    })
}

/// A value quoted in an error line: the first 80 characters of it, so that a 10 000-character
/// mistake still makes a readable line.
fn excerpt(value: &str) -> String {
    const SHOWN: usize = 80;
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} characters)", &value[..cut], value.chars().count()),
        None => value.to_string(),
    }
}

/// An MFA device ARN or a hardware token's serial number.
fn validate_mfa_serial(profile: &str, serial: &str) -> Result<String, ConfigError> {
    if (9..=256).contains(&serial.len()) && sts_chars(serial, b"/:") {
        Ok(serial.to_string())
    } else {
        Err(invalid(
            profile,
            format!(
                "mfa_serial '{serial}' is not an MFA device ARN (arn:aws:iam::123456789012:mfa/NAME) or serial number"
            ),
        ))
    }
}

fn validate_external_id(profile: &str, id: &str) -> Result<String, ConfigError> {
    if (2..=1224).contains(&id.len()) && sts_chars(id, b":/") {
        Ok(id.to_string())
    } else {
        Err(invalid(
            profile,
            "external_id must be 2 to 1224 letters, digits or +=,.@:/-_".to_string(),
        ))
    }
}

fn validate_session_name(profile: &str, name: &str) -> Result<String, ConfigError> {
    if (2..=64).contains(&name.len()) && sts_chars(name, b"") {
        Ok(name.to_string())
    } else {
        Err(invalid(
            profile,
            format!("role_session_name '{name}' must be 2 to 64 letters, digits or +=,.@-_"),
        ))
    }
}

/// The session name used when a profile sets none: `assume-USER-UNIXTIME`, which CloudTrail
/// readers can trace to a person and a moment.
pub fn default_session_name(user: &str, unix_time: u64) -> String {
    let user: String = user
        .chars()
        .map(|c| {
            if sts_chars(c.encode_utf8(&mut [0; 4]), b"") {
                c
            } else {
                '-'
            }
        })
        .collect();
    let suffix = format!("-{unix_time}");
    let room = 64 - "assume-".len() - suffix.len();
    let user: String = user.chars().take(room).collect();
    format!("assume-{user}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_endpoint_for_iam_follows_the_sdks_order() {
        let mut set = ProfileSet::default();
        let config = "[profile u]\nservices = local\nendpoint_url = http://profile\n\n[services local]\niam =\n  endpoint_url = http://services-iam\n\n[profile plain]\nregion = eu-west-1\n";
        set.merge_file(super::super::FileKind::Config, "config", config)
            .unwrap();
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        let at = |profile: &str, vars: &[(&str, &str)]| {
            profile_endpoint_url(&set, profile, &env(vars), "iam")
        };
        assert_eq!(at("u", &[]).as_deref(), Some("http://services-iam"));
        // The services section names IAM's endpoint only: STS falls back to endpoint_url.
        assert_eq!(
            profile_endpoint_url(&set, "u", &env(&[]), "sts").as_deref(),
            Some("http://profile")
        );
        assert_eq!(
            at("u", &[("AWS_ENDPOINT_URL", "http://global")]).as_deref(),
            Some("http://global")
        );
        assert_eq!(
            at(
                "u",
                &[
                    ("AWS_ENDPOINT_URL", "http://global"),
                    ("AWS_ENDPOINT_URL_IAM", "http://iam")
                ]
            )
            .as_deref(),
            Some("http://iam")
        );
        assert_eq!(
            at("u", &[("AWS_ENDPOINT_URL_STS", "http://sts")]).as_deref(),
            Some("http://services-iam")
        );
        assert_eq!(at("plain", &[]), None);
        assert_eq!(at("vault-only", &[]), None);
        assert_eq!(
            at("u", &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]),
            None
        );
        assert_eq!(
            profile_region(&set, "plain", &env(&[("AWS_REGION", "x")])),
            "eu-west-1"
        );
        assert_eq!(
            profile_region(&set, "u", &env(&[("AWS_REGION", "ap-south-1")])),
            "ap-south-1"
        );
        assert_eq!(
            profile_region(&set, "vault-only", &env(&[])),
            DEFAULT_REGION
        );
    }

    #[test]
    fn role_arns() {
        for good in [
            "arn:aws:iam::123456789012:role/Admin",
            "arn:aws-us-gov:iam::123456789012:role/path/to/R_1+=,.@-",
            // IAM paths are any printable ASCII.
            "arn:aws:iam::123456789012:role/my~path/R",
            "arn:aws:iam::123456789012:role/a!b\"#$%&'()*/[]^`{|}/R",
            "arn:aws:iam::123456789012:role///R",
        ] {
            assert!(validate_role_arn("p", good).is_ok(), "{good}");
        }
        for bad in [
            "arn:foo",
            "arn:aws:iam::12345:role/Admin",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:role/Admin",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam::123456789012:role/p a/R",
            "arn:aws:iam::123456789012:role//R",
            "arn:aws:iam::123456789012:role/path/",
            "arn:aws:iam::123456789012:role/path/R~",
            "arn:aws:iam::123456789012:role/p\u{e9}/R",
        ] {
            assert!(validate_role_arn("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arn_lengths_are_iams() {
        let arn = |path: &str, name: &str| format!("arn:aws:iam::123456789012:role/{path}{name}");
        let name64 = "N".repeat(64);
        assert!(validate_role_arn("p", &arn("", &name64)).is_ok());
        assert!(validate_role_arn("p", &arn("", &"N".repeat(65))).is_err());
        // The path `/` + 510 characters + `/` is 512: the most IAM allows.
        let inner = |n: usize| format!("{}/", "p".repeat(n));
        assert!(validate_role_arn("p", &arn(&inner(510), "R")).is_ok());
        assert!(validate_role_arn("p", &arn(&inner(511), "R")).is_err());
    }

    #[test]
    fn partitions() {
        for good in ["aws", "aws-cn", "aws-us-gov", "aws-iso-b"] {
            assert!(is_partition(good), "{good}");
        }
        for bad in [
            "",
            "aw",
            "awsx",
            "aws-",
            "aws--cn",
            "aws-CN",
            "aws\x1b]0;x\x07",
            "aws-cn1",
        ] {
            assert!(!is_partition(bad), "{bad:?}");
        }
    }

    #[test]
    fn default_session_names_fit_sts() {
        let name = default_session_name("jo doe/ü", 1_700_000_000);
        assert_eq!(name, "assume-jo-doe---1700000000");
        let long = default_session_name(&"x".repeat(100), 1_700_000_000);
        assert_eq!(long.len(), 64);
        assert!(validate_session_name("p", &long).is_ok());
    }
}
