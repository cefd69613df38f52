//! The only module that talks to AWS: base credentials through aws-config's providers, then
//! one STS AssumeRole per hop; and IAM's access-key calls for `keys rotate`. Every failure
//! becomes one line naming the profile, the role or key and what to check.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{Region, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::config::{Base, CredentialSource, Hop, Plan, SdkSource};
use crate::error::{Class, Error, Result};

/// What went wrong talking to AWS. [`AwsError::class`] says whether it was the credentials
/// (authentication) or STS and the network.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// AssumeRole denied: the caller, the role and the likely causes, in one line.
    #[error("{0}")]
    AccessDenied(String),
    /// STS answered with an error code.
    #[error("{what}: {code}: {message}; {hint}")]
    Refused {
        what: String,
        code: String,
        message: String,
        hint: String,
    },
    #[error(
        "{what}: {endpoint} did not answer in time; check the network and {variable} / endpoint_url"
    )]
    TimedOut {
        what: String,
        endpoint: String,
        variable: &'static str,
    },
    #[error(
        "{what}: cannot reach {endpoint} ({detail}); check the network and {variable} / endpoint_url"
    )]
    Unreachable {
        what: String,
        endpoint: String,
        detail: String,
        variable: &'static str,
    },
    #[error("{what}: {detail}")]
    Other { what: String, detail: String },
    /// An answer whose credentials lack a part, or have already expired.
    #[error(
        "profile '{profile}': STS answered {what}; check that AWS_ENDPOINT_URL_STS / endpoint_url is a real STS endpoint"
    )]
    Incomplete { profile: String, what: String },
    /// The source credentials (credential_process, SSO, web identity, …) could not be loaded.
    #[error("profile '{profile}': could not load its {kind} credentials{next}: {detail}")]
    SourceNotLoaded {
        profile: String,
        kind: String,
        /// What to do about it, when there is one thing to do (`; run aws sso login …`).
        next: String,
        detail: String,
    },
    /// IAM refused an access-key call (its AccessDenied): who, what and the policy to check.
    #[error("{0}")]
    IamDenied(String),
    /// CreateAccessKey refused: the user already has the two keys IAM allows.
    #[error(
        "profile '{profile}': IAM user {user} already has two access keys ({}), the most IAM allows; delete the one not in use (aws iam delete-access-key --access-key-id {spare} --user-name {user}) and rotate again",
        keys.join(", ")
    )]
    KeyLimit {
        profile: String,
        user: String,
        keys: Vec<String>,
        /// The key that is not the profile's: the one to delete.
        spare: String,
    },
    /// The new key never worked: it was deleted again and the old one kept.
    #[error(
        "profile '{profile}': the new access key {new_key} was not accepted by STS ({detail}); it was deleted again and {old_key} is still the profile's key"
    )]
    NewKeyRejected {
        profile: String,
        new_key: String,
        old_key: String,
        detail: String,
    },
    /// The new key is stored but the old one could not be deleted: how to delete it by hand.
    #[error("{0}")]
    OldKeyNotDeleted(Box<OldKeyLeft>),
    /// `whoami` found no credentials that STS accepts.
    #[error("cannot tell who you are ({why}); switch to a role first: eval \"$(assume PROFILE)\"")]
    NoIdentity { why: String },
}

/// A rotation whose new key is stored while the old one could not be deleted.
#[derive(Debug, thiserror::Error)]
#[error(
    "profile '{profile}': the new access key {new_key} is stored and works, but deleting the old one failed ({detail}); delete it by hand: aws iam delete-access-key --access-key-id {old_key} --user-name {user}"
)]
pub struct OldKeyLeft {
    pub profile: String,
    pub new_key: String,
    pub old_key: String,
    pub user: String,
    pub detail: String,
    /// The class of the failed DeleteAccessKey.
    pub class: Class,
}

impl AwsError {
    pub fn class(&self) -> Class {
        match self {
            AwsError::AccessDenied(_)
            | AwsError::IamDenied(_)
            | AwsError::NewKeyRejected { .. }
            | AwsError::SourceNotLoaded { .. }
            | AwsError::NoIdentity { .. } => Class::Auth,
            AwsError::Refused { code, .. }
                if matches!(
                    code.as_str(),
                    "AccessDenied"
                        | "InvalidClientTokenId"
                        | "ExpiredToken"
                        | "ExpiredTokenException"
                        | "SignatureDoesNotMatch"
                ) =>
            {
                Class::Auth
            }
            AwsError::OldKeyNotDeleted(left) => left.class,
            _ => Class::Sts,
        }
    }
}

/// Bounds every call, so an endpoint that accepts and never answers is an error, not a hang.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(12))
        .build()
}

/// The HTTP client for an endpoint: a plain-HTTP one for an `http://` URL (a local STS, a
/// test double), which sets up no TLS and reads no CA certificates; `None` for the SDK's
/// default HTTPS client.
fn http_client(
    endpoint_url: Option<&str>,
) -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient> {
    let url = endpoint_url?;
    // That client knows no proxy: with one set, the SDK's own client takes it as before.
    let proxied = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|value| !value.is_empty()));
    let plain = url
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
    (plain && !proxied).then(|| aws_smithy_http_client::Builder::new().build_http())
}

/// An STS client for one plan's region and endpoint.
pub struct Sts {
    region: Region,
    endpoint_url: Option<String>,
}

impl Sts {
    pub fn new(plan: &Plan) -> Self {
        Sts::at(&plan.region, plan.endpoint_url.clone())
    }

    /// A client for `region`, at `endpoint_url` when one overrides the regional endpoint.
    pub fn at(region: &str, endpoint_url: Option<String>) -> Self {
        Sts {
            region: Region::new(region.to_string()),
            endpoint_url,
        }
    }

    fn client(&self, credentials: Credentials) -> aws_sdk_sts::Client {
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region.clone())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .timeout_config(timeouts());
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if let Some(client) = http_client(self.endpoint_url.as_deref()) {
            config = config.http_client(client);
        }
        aws_sdk_sts::Client::from_conf(config.build())
    }

    /// One AssumeRole call for `hop`, made with `credentials`.
    pub async fn assume_role(
        &self,
        credentials: Credentials,
        hop: &Hop,
        session_name: &str,
        duration_seconds: Option<u32>,
        mfa: Option<(&str, &str)>,
    ) -> Result<Credentials> {
        let client = self.client(credentials);
        let mut request = client
            .assume_role()
            .role_arn(&hop.role_arn)
            .role_session_name(session_name)
            .set_external_id(hop.external_id.clone())
            .set_duration_seconds(duration_seconds.map(|s| s as i32));
        if let Some((serial, code)) = mfa {
            request = request.serial_number(serial).token_code(code);
        }
        match request.send().await {
            Ok(output) => converted(output.credentials, &hop.profile),
            Err(SdkError::ServiceError(e))
                if code_and_message(e.err(), e.raw()).0 == "AccessDenied" =>
            {
                let (_, message) = code_and_message(e.err(), e.raw());
                // Who the caller really is: the first thing to know about a denial.
                let caller = client
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|identity| identity.arn);
                Err(AwsError::AccessDenied(access_denied(
                    hop,
                    caller.as_deref(),
                    &message,
                    mfa.is_some(),
                ))
                .into())
            }
            Err(e) => {
                let what = format!("profile '{}': assuming {}", hop.profile, hop.role_arn);
                Err(call_error(e, &what, mfa.is_some(), self))
            }
        }
    }

    /// An MFA session: GetSessionToken with the long-term keys of `profile` and an MFA code.
    pub async fn get_session_token(
        &self,
        credentials: Credentials,
        profile: &str,
        duration_seconds: u32,
        serial: &str,
        code: &str,
    ) -> Result<Credentials> {
        let output = self
            .client(credentials)
            .get_session_token()
            .duration_seconds(duration_seconds as i32)
            .serial_number(serial)
            .token_code(code)
            .send()
            .await
            .map_err(|e| {
                let what = format!("profile '{profile}': starting an MFA session with {serial}");
                call_error(e, &what, true, self)
            })?;
        converted(output.credentials, profile)
    }

    /// The IAM user whose long-term keys `credentials` are (GetCallerIdentity): its name.
    pub async fn user_name(&self, credentials: Credentials, profile: &str) -> Result<String> {
        let what = format!("profile '{profile}': asking STS whose keys these are");
        let arn = self
            .client(credentials)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| call_error(e, &what, false, self))?
            .arn
            .unwrap_or_default();
        // arn:aws:iam::123456789012:user/some/path/NAME
        match arn.split_once(":user/") {
            Some((_, path)) if !path.is_empty() => {
                Ok(path.rsplit('/').next().unwrap_or(path).to_string())
            }
            _ => Err(AwsError::Other {
                what: format!("profile '{profile}'"),
                detail: format!(
                    "its keys are {}, not an IAM user's: only an IAM user's access keys can be rotated",
                    if arn.is_empty() { "unknown to STS" } else { &arn }
                ),
            }
            .into()),
        }
    }

    /// Whether a new key works: GetCallerIdentity with it, asked again while IAM propagates
    /// it (a new key may be unknown to STS for a few seconds), for at most `KEY_PROPAGATION`.
    pub async fn key_works(&self, credentials: Credentials, profile: &str) -> Result<()> {
        let what = format!(
            "profile '{profile}': checking the new key {}",
            credentials.access_key_id()
        );
        let deadline = tokio::time::Instant::now() + KEY_PROPAGATION;
        let mut pause = Duration::from_millis(250);
        loop {
            match self
                .client(credentials.clone())
                .get_caller_identity()
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(e))
                    if code_and_message(e.err(), e.raw()).0 == "InvalidClientTokenId"
                        && tokio::time::Instant::now() + pause < deadline =>
                {
                    crate::verbose!("the new key is not known to STS yet; asking again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(call_error(e, &what, false, self)),
            }
        }
    }
}

/// How long a new access key may take to reach STS (IAM is eventually consistent).
const KEY_PROPAGATION: Duration = Duration::from_secs(10);

/// IAM's access-key calls, made as an IAM user on its own keys. IAM is global: its one
/// endpoint (`iam.amazonaws.com`, signed for us-east-1) unless `AWS_ENDPOINT_URL_IAM`,
/// `AWS_ENDPOINT_URL` or the profile's `services` / `endpoint_url` name another.
pub struct Iam {
    profile: String,
    endpoint_url: Option<String>,
}

impl Iam {
    pub fn new(profile: &str, endpoint_url: Option<String>) -> Self {
        Iam {
            profile: profile.to_string(),
            endpoint_url,
        }
    }

    fn client(&self, credentials: Credentials) -> aws_sdk_iam::Client {
        let mut config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .timeout_config(timeouts());
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if let Some(client) = http_client(self.endpoint_url.as_deref()) {
            config = config.http_client(client);
        }
        aws_sdk_iam::Client::from_conf(config.build())
    }

    fn endpoint(&self) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| "the IAM endpoint (iam.amazonaws.com)".into())
    }

    /// A new access key for `user` (CreateAccessKey). IAM's two-key limit is
    /// [`AwsError::KeyLimit`], naming both keys; `current` is the profile's own.
    pub async fn create_access_key(
        &self,
        credentials: Credentials,
        user: &str,
        current: &str,
    ) -> Result<Credentials> {
        let what = format!(
            "profile '{}': creating a new access key for IAM user {user}",
            self.profile
        );
        let result = self
            .client(credentials.clone())
            .create_access_key()
            .user_name(user)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(SdkError::ServiceError(e))
                if code_and_message(e.err(), e.raw()).0 == "LimitExceeded" =>
            {
                let keys = self.list_access_keys(credentials, user).await?;
                let spare = keys
                    .iter()
                    .find(|key| *key != current)
                    .cloned()
                    .unwrap_or_else(|| "ID".into());
                return Err(AwsError::KeyLimit {
                    profile: self.profile.clone(),
                    user: user.to_string(),
                    keys,
                    spare,
                }
                .into());
            }
            Err(e) => return Err(self.error(e, &what, "iam:CreateAccessKey", user)),
        };
        let key = output.access_key.ok_or_else(|| AwsError::Other {
            what: what.clone(),
            detail: "IAM answered without the new key; check that AWS_ENDPOINT_URL_IAM / endpoint_url is a real IAM endpoint".into(),
        })?;
        if key.access_key_id.is_empty() || key.secret_access_key.is_empty() {
            return Err(AwsError::Other {
                what,
                detail: "IAM answered a key without an id or a secret".into(),
            }
            .into());
        }
        Ok(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "assume-iam",
        ))
    }

    /// The ids of `user`'s access keys (ListAccessKeys).
    pub async fn list_access_keys(
        &self,
        credentials: Credentials,
        user: &str,
    ) -> Result<Vec<String>> {
        let what = format!(
            "profile '{}': listing the access keys of IAM user {user}",
            self.profile
        );
        let output = self
            .client(credentials)
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.error(e, &what, "iam:ListAccessKeys", user))?;
        Ok(output
            .access_key_metadata
            .into_iter()
            .filter_map(|key| key.access_key_id)
            .collect())
    }

    /// Deletes `user`'s access key `id` (DeleteAccessKey).
    pub async fn delete_access_key(
        &self,
        credentials: Credentials,
        user: &str,
        id: &str,
    ) -> Result<()> {
        let what = format!(
            "profile '{}': deleting access key {id} of IAM user {user}",
            self.profile
        );
        self.client(credentials)
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .map_err(|e| self.error(e, &what, "iam:DeleteAccessKey", user))?;
        Ok(())
    }

    fn error<E>(
        &self,
        error: SdkError<E, HttpResponse>,
        what: &str,
        action: &str,
        user: &str,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if let SdkError::ServiceError(service) = &error {
            let (code, message) = code_and_message(service.err(), service.raw());
            if code == "AccessDenied" {
                return AwsError::IamDenied(format!(
                    "{what}: AccessDenied: IAM user {user} may not call {action} on its own keys; allow iam:CreateAccessKey, iam:ListAccessKeys and iam:DeleteAccessKey on arn:aws:iam::*:user/${{aws:username}}, and if that policy wants MFA set mfa_serial in [profile {}] (AWS: {message})",
                    self.profile
                ))
                .into();
            }
        }
        transport_error(error, what, self.endpoint(), "AWS_ENDPOINT_URL_IAM")
    }
}

/// STS's credentials as the SDK's type, refused unless whole and still valid: the SDK fills a
/// missing `SessionToken` with "" and a missing `Expiration` with 1970, which must not be
/// handed on as if they worked.
fn converted(
    credentials: Option<aws_sdk_sts::types::Credentials>,
    profile: &str,
) -> Result<Credentials> {
    let incomplete = |what: &str| -> Error {
        AwsError::Incomplete {
            profile: profile.to_string(),
            what: what.to_string(),
        }
        .into()
    };
    let Some(c) = credentials else {
        return Err(incomplete("without credentials"));
    };
    for (field, value) in [
        ("AccessKeyId", c.access_key_id.as_str()),
        ("SecretAccessKey", c.secret_access_key.as_str()),
        ("SessionToken", c.session_token.as_str()),
    ] {
        if value.is_empty() {
            return Err(incomplete(&format!("credentials without a {field}")));
        }
    }
    let expiry = std::time::SystemTime::try_from(c.expiration)
        .ok()
        .filter(|expiry| *expiry > std::time::UNIX_EPOCH)
        .ok_or_else(|| incomplete("credentials without an Expiration"))?;
    if expiry <= std::time::SystemTime::now() {
        return Err(incomplete(&format!(
            "credentials that expired at {} (if that is wrong, check this machine's clock)",
            aws_smithy_types::DateTime::from(expiry)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default()
        )));
    }
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        Some(expiry),
        "assume",
    ))
}

/// Who the credentials of this environment are, as the AWS SDK's default chain finds them
/// (for `whoami`): GetCallerIdentity's ARN, account and user id.
pub fn caller_identity(
    no_region: bool,
) -> Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput> {
    let no_credentials = |why: String| -> Error { AwsError::NoIdentity { why }.into() };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts());
        if no_region {
            loader = loader.region(Region::new(crate::config::plan::DEFAULT_REGION));
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
                    None => AwsError::Unreachable {
                        what: "asking STS who you are".into(),
                        endpoint: "STS".into(),
                        detail: detail.lines().next().unwrap_or_default().to_string(),
                        variable: "AWS_ENDPOINT_URL_STS",
                    }
                    .into(),
                }
            })
    })
}

/// The credentials the first hop is made with.
pub async fn base_credentials(plan: &Plan) -> Result<Credentials> {
    let region = Some(Region::new(plan.region.clone()));
    let provider_config =
        aws_config::provider_config::ProviderConfig::default().with_region(region.clone());
    let provider: SharedCredentialsProvider = match &plan.base {
        Base::Static { credentials, .. } => return Ok(credentials.clone()),
        Base::Vault { profile, .. } => {
            return crate::vault::credentials(&crate::config::Env::real(), profile);
        }
        Base::CredentialSource { source, .. } => match source {
            CredentialSource::Environment => SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
            CredentialSource::Ec2InstanceMetadata => SharedCredentialsProvider::new(
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            ),
            CredentialSource::EcsContainer => SharedCredentialsProvider::new(
                aws_config::ecs::EcsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build(),
            ),
        },
        Base::WebIdentity {
            role_arn,
            token_file,
            role_session_name,
            ..
        } => SharedCredentialsProvider::new(
            aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                .configure(&provider_config)
                .static_configuration(aws_config::web_identity_token::StaticConfiguration {
                    web_identity_token_file: token_file.into(),
                    role_arn: role_arn.clone(),
                    session_name: role_session_name
                        .clone()
                        .unwrap_or_else(|| session_name(None)),
                })
                .build(),
        ),
        Base::Sdk { profile, .. } => SharedCredentialsProvider::new(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(profile)
                .build(),
        ),
    };
    let profile = plan.base.profile();
    let (kind, next) = match &plan.base {
        Base::Sdk { via, .. } => (
            via.to_string(),
            match via {
                SdkSource::Sso => format!("; sign in with `aws sso login --profile {profile}`"),
                SdkSource::Login => format!("; sign in with `aws login --profile {profile}`"),
                SdkSource::CredentialProcess => String::new(),
            },
        ),
        other => (other.kind().to_string(), String::new()),
    };
    provider.provide_credentials().await.map_err(|e| {
        AwsError::SourceNotLoaded {
            profile: profile.to_string(),
            kind,
            next,
            detail: DisplayErrorContext(&e).to_string(),
        }
        .into()
    })
}

/// The session name for a hop: the profile's `role_session_name`, else `assume-USER-TIME`.
pub fn session_name(configured: Option<&str>) -> String {
    if let Some(name) = configured {
        return name.to_string();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    crate::config::default_session_name(&user_name(), now)
}

/// Who runs `assume`, for the session name CloudTrail shows: `USER` / `USERNAME`, else the
/// account the OS runs this process as (cron, containers and `env -i` set neither).
fn user_name() -> String {
    if let Some(name) = ["USER", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|name| !name.is_empty()))
    {
        return name;
    }
    #[cfg(unix)]
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::current()) {
        return user.name;
    }
    "user".into()
}

/// The error code and message of a service error. When the SDK could not parse them (an
/// STS-compatible endpoint with another XML error shape), they are read from the raw body.
fn code_and_message(err: &impl ProvideErrorMetadata, raw: &HttpResponse) -> (String, String) {
    let tag = |name: &str| {
        let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
        let start = body.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + body[start..].find(&format!("</{name}>"))?;
        Some(body[start..end].to_string())
    };
    let code = err.code().map(str::to_string).or_else(|| tag("Code"));
    let message = err.message().map(str::to_string).or_else(|| tag("Message"));
    (
        code.unwrap_or_else(|| format!("HTTP {}", raw.status().as_u16())),
        message.unwrap_or_else(|| "no message".into()),
    )
}

/// Why AssumeRole was denied, in one line: who asked, for what, and the usual causes for
/// this hop, most likely first.
/// `code_sent`: whether this AssumeRole carried an MFA code (a hop with `mfa_serial` assumed
/// from a cached MFA session carries none).
fn access_denied(hop: &Hop, caller: Option<&str>, message: &str, code_sent: bool) -> String {
    let who = caller.unwrap_or("the source credentials");
    let third = match (&hop.external_id, &hop.mfa_serial) {
        (Some(_), _) => format!(
            "external_id in [profile {}] does not match the sts:ExternalId the trust policy wants",
            hop.profile
        ),
        (None, None) => format!(
            "the trust policy requires MFA (aws:MultiFactorAuthPresent) or an sts:ExternalId: add mfa_serial or external_id to [profile {}]",
            hop.profile
        ),
        (None, Some(_)) if code_sent => {
            "the MFA code was stale or already used, or the trust policy wants an sts:ExternalId (external_id)".to_string()
        }
        (None, Some(_)) => {
            "the cached MFA session this was asked from is older than the trust policy's aws:MultiFactorAuthAge allows (`assume clear --all` forgets it), or the trust policy wants an sts:ExternalId (external_id)".to_string()
        }
    };
    format!(
        "profile '{}': AccessDenied: {who} may not assume {}. Usual causes, most likely first: 1) the role's trust policy does not name {who} as a principal; 2) {who}'s own policies do not allow sts:AssumeRole on the role; 3) {third}. (AWS: {message})",
        hop.profile, hop.role_arn
    )
}

/// One line for a failed STS call: what was attempted, AWS's code and message, what to check.
/// `code_sent`: whether the call carried an MFA code.
fn call_error<E>(error: SdkError<E, HttpResponse>, what: &str, code_sent: bool, sts: &Sts) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let endpoint = sts
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("the STS endpoint of {}", sts.region));
    match &error {
        SdkError::ServiceError(service) => {
            let (code, message) = code_and_message(service.err(), service.raw());
            let hint = match code.as_str() {
                "AccessDenied" => {
                    let mfa = if code_sent {
                        "the MFA code was current"
                    } else {
                        "the role needs no MFA code (else set mfa_serial in the profile)"
                    };
                    format!(
                        "check that the role's trust policy names your identity, that your identity may call sts:AssumeRole on it, that {mfa}, and that external_id matches if the role wants one"
                    )
                }
                "InvalidClientTokenId" => {
                    "the source access key is unknown to AWS: check it or create a new one".into()
                }
                "ExpiredToken" | "ExpiredTokenException" => {
                    "the source credentials have expired: refresh them and try again".into()
                }
                "SignatureDoesNotMatch" => {
                    "the secret key is wrong, or this machine's clock is off: check both".into()
                }
                "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                    "STS is throttling requests: wait a little and try again".into()
                }
                "RegionDisabledException" => format!(
                    "STS is not activated in {}: use another region or activate it",
                    sts.region
                ),
                "ValidationError" => {
                    "check duration_seconds against the role's maximum session duration".into()
                }
                _ => "see the AWS message".into(),
            };
            AwsError::Refused {
                what: what.to_string(),
                code,
                message,
                hint,
            }
            .into()
        }
        _ => transport_error(error, what, endpoint, "AWS_ENDPOINT_URL_STS"),
    }
}

/// One line for a call that failed on the way (or with an error code nobody expected).
fn transport_error<E>(
    error: SdkError<E, HttpResponse>,
    what: &str,
    endpoint: String,
    variable: &'static str,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let (code, message) = code_and_message(service.err(), service.raw());
            AwsError::Refused {
                what: what.to_string(),
                code,
                message,
                hint: "see the AWS message".into(),
            }
            .into()
        }
        SdkError::TimeoutError(_) => AwsError::TimedOut {
            what: what.to_string(),
            endpoint,
            variable,
        }
        .into(),
        SdkError::DispatchFailure(_) => AwsError::Unreachable {
            what: what.to_string(),
            endpoint,
            detail: DisplayErrorContext(&error).to_string(),
            variable,
        }
        .into(),
        _ => AwsError::Other {
            what: what.to_string(),
            detail: DisplayErrorContext(&error).to_string(),
        }
        .into(),
    }
}
