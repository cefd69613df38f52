//! Robustness and security: whatever the input or fault, `assume` says one clear
//! line, exits with the right code, prints nothing on stdout, never panics, never loses good
//! cached credentials and never shows a secret.
//!
//! * [`CATALOGUE`]: one table of bad inputs (config text, files, flags, environment, STS
//!   answers, network faults, cache faults), each with its exit code and a stderr fragment;
//!   [`bad_input_catalogue`] runs every row and checks the common promise for each.
//! * Faults: SIGKILL during a refresh, a refresh that fails, a full disk under the file store.
//!   (Cache faults that end in success — fallbacks, a corrupt entry — are in `cache`.)
//! * Secrets: every command with `-v` and `RUST_LOG=trace`, grepping every output, every file
//!   (the file store's entries aside) and the argv of a running `exec`; `Debug` of a plan;
//!   passwords in endpoint URLs.
//! * Hardening: control characters on stderr, overlong values.
//!
//! Real parts only: moto (with and without auth mode), real processes and signals, a real
//! tmpfs. STS answers moto cannot produce (`ExpiredToken`, `Throttling`, a silent endpoint)
//! come from the harness' [`FakeServer`].

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    self, FakeServer, Mode, Moto, RUN_TIMEOUT, TestEnv, all_entries_parse, assume_bin,
    auth_credentials, check_failure, entry_files, files_under, key_id, moto, moto_with_auth,
    plain_env, proxy_port, refused_endpoint, sts_error_body, succeed, text, venv_bin,
};

// ---------------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------------

/// The product's own bound on STS (connect 3 s, attempt 5 s, 12 s in all), plus slack for two
/// busy cores.
const STS_BOUND: Duration = Duration::from_secs(20);

/// The home directory of this uid in the passwd database (what `dirs` falls back to).
fn passwd_home() -> String {
    let uid = std::fs::metadata("/proc/self").unwrap();
    let uid = std::os::unix::fs::MetadataExt::uid(&uid);
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2] == uid.to_string())
        .map(|f| f[5].to_string())
        .unwrap_or_else(|| panic!("uid {uid} is not in /etc/passwd"))
}

/// What a case needs besides its files, flags and variables.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// moto without auth (through the TestEnv's recording proxy).
    Moto,
    /// moto with auth mode on (signatures, identity and trust policies).
    Auth,
    /// `AWS_ENDPOINT_URL` → a server answering every request with this STS error (status 400).
    StsError(&'static str, &'static str),
    /// `AWS_ENDPOINT_URL` → a server answering every request with this status and body.
    Answer(u16, &'static str),
    /// `AWS_ENDPOINT_URL` → a server that accepts connections and never answers.
    Silent,
    /// `AWS_ENDPOINT_URL` → a port where nothing listens.
    Refused,
    /// The config file is a directory.
    ConfigIsDir,
    /// The config file holds exactly these bytes (the `config` text is ignored).
    ConfigBytes(&'static [u8]),
    /// The credentials file holds exactly these bytes (the `credentials` text is ignored).
    CredentialsBytes(&'static [u8]),
    /// The config file is `config`, then 100 MB of comment lines, then this tail.
    HugeConfig(&'static str),
    /// `HOME` unset; `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` still set when `true`.
    HomeUnset { files_set: bool },
    /// `ASSUME_CACHE=file` with `XDG_CACHE_HOME` a regular file.
    CacheHomeIsFile,
    /// `ASSUME_CACHE=file` with `XDG_CACHE_HOME` a read-only directory (a read-only tmpfs,
    /// since root writes through any mode bits).
    CacheHomeReadOnly,
}

struct Case {
    name: &'static str,
    setup: Setup,
    /// Placeholders: {ADMIN} {ALICEONLY} (role ARNs), {MFA} (alice's MFA serial), {ALICE_ID},
    /// {ALICE_SECRET}, {HOME}, {PASSWD_HOME}.
    config: &'static str,
    /// `{ALICE}` alone means alice's keys as `[alice]`; `{AUTH}` the auth-mode set.
    credentials: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    code: i32,
    stderr: &'static str,
}

/// alice (keys in the credentials file), admin (role, MFA), plain (role, no MFA).
macro_rules! std_config {
    () => {
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {ADMIN}\nsource_profile = alice\nmfa_serial = {MFA}\n\
         [profile plain]\nrole_arn = {ADMIN}\nsource_profile = alice\n"
    };
}

/// A role over alice with MFA and this `mfa_process`.
macro_rules! mfa_process {
    ($command:literal) => {
        concat!(
            std_config!(),
            "[profile proc]\nrole_arn = {ADMIN}\nsource_profile = alice\nmfa_serial = {MFA}\nmfa_process = ",
            $command,
            "\n"
        )
    };
}

const STD: &str = std_config!();

const ALICE: &str = "{ALICE}";

const NONE: &[(&str, &str)] = &[];

const fn case(
    name: &'static str,
    setup: Setup,
    config: &'static str,
    args: &'static [&'static str],
    code: i32,
    stderr: &'static str,
) -> Case {
    Case {
        name,
        setup,
        config,
        credentials: ALICE,
        args,
        env: NONE,
        code,
        stderr,
    }
}

static CATALOGUE: &[Case] = &[
    // --- The config file's syntax --------------------------------------------------------------
    case(
        "property without '='",
        Setup::Moto,
        "[profile a]\nrole_arn\n",
        &["a"],
        3,
        "line 2: Expected an '=' sign",
    ),
    case(
        "unterminated section",
        Setup::Moto,
        "[profile a\nregion = x\n",
        &["a"],
        3,
        "line 1: Profile definition must end with ']'",
    ),
    case(
        "property before any section",
        Setup::Moto,
        "region = eu-west-1\n[profile a]\n",
        &["a"],
        3,
        "line 1: Expected a profile definition",
    ),
    case(
        "continuation with no property",
        Setup::Moto,
        "[profile a]\n  continued = x\n",
        &["a"],
        3,
        "line 2: Expected a property definition, found continuation",
    ),
    case(
        "property without a name",
        Setup::Moto,
        "[profile a]\n= value\n",
        &["a"],
        3,
        "line 2: Property did not have a name",
    ),
    case(
        "unterminated section in explain",
        Setup::Moto,
        concat!(std_config!(), "[profile x\n"),
        &["explain", "plain"],
        3,
        "line 10: Profile definition must end with ']'",
    ),
    Case {
        name: "malformed credentials file",
        setup: Setup::Moto,
        config: STD,
        credentials: "[alice\naws_access_key_id = x\n",
        args: &["plain"],
        env: NONE,
        code: 3,
        stderr: "credentials line 1: Profile definition must end with ']'",
    },
    // --- Chains ----------------------------------------------------------------------------------
    case(
        "cycle of two",
        Setup::Moto,
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = a\n",
        &["a"],
        3,
        "infinite loop: a -> b -> a",
    ),
    case(
        "cycle of three",
        Setup::Moto,
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = c\n[profile c]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = a\n",
        &["credential-process", "a"],
        3,
        "infinite loop: a -> b -> c -> a",
    ),
    case(
        "missing source profile",
        Setup::Moto,
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = ghost\n",
        &["a"],
        3,
        "could not find source profile ghost",
    ),
    case(
        "source_profile and credential_source",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile both]\nrole_arn = {ADMIN}\nsource_profile = alice\ncredential_source = Environment\n"
        ),
        &["both"],
        3,
        "both source_profile and credential_source",
    ),
    case(
        "role with no source",
        Setup::Moto,
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\n",
        &["a"],
        3,
        "neither were defined",
    ),
    Case {
        name: "partial keys: no secret",
        setup: Setup::Moto,
        config: STD,
        credentials: "[alice]\naws_access_key_id = AKIAIOSFODNN7PARTIAL\n",
        args: &["plain"],
        env: NONE,
        code: 3,
        stderr: "missing aws_secret_access_key",
    },
    Case {
        name: "partial keys: no key id",
        setup: Setup::Moto,
        config: STD,
        credentials: "[alice]\naws_secret_access_key = s3cr3t-partial\n",
        args: &["plain"],
        env: NONE,
        code: 3,
        stderr: "missing aws_access_key_id",
    },
    case(
        "profile without credentials",
        Setup::Moto,
        "[profile a]\nregion = eu-west-1\n",
        &["credential-process", "a"],
        3,
        "did not contain credential information",
    ),
    case(
        "unsupported credential_source",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile cs]\nrole_arn = {ADMIN}\ncredential_source = Bogus\n"
        ),
        &["cs"],
        3,
        "credential_source 'Bogus' is not supported",
    ),
    case(
        "web identity without role_arn",
        Setup::Moto,
        "[profile w]\nweb_identity_token_file = /tmp/token\n",
        &["w"],
        3,
        "`role_arn` was missing",
    ),
    // --- Values of the wrong shape ---------------------------------------------------------------
    case(
        "role ARN with a short account",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile bad]\nrole_arn = arn:aws:iam::123:role/R\nsource_profile = alice\n"
        ),
        &["bad"],
        3,
        "role_arn 'arn:aws:iam::123:role/R' is not an IAM role ARN",
    ),
    case(
        "role ARN of a user",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile bad]\nrole_arn = arn:aws:iam::123456789012:user/alice\nsource_profile = alice\n"
        ),
        &["bad"],
        3,
        "is not an IAM role ARN",
    ),
    case(
        "empty role ARN",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile bad]\nrole_arn =\nsource_profile = alice\n"
        ),
        &["bad"],
        3,
        "is not an IAM role ARN",
    ),
    case(
        "duration_seconds too short",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = 899\n"
        ),
        &["d"],
        3,
        "duration 899s is out of range",
    ),
    case(
        "duration_seconds too long",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = 43201\n"
        ),
        &["d"],
        3,
        "duration 43201s is out of range",
    ),
    case(
        "duration_seconds not a number",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = 1h\n"
        ),
        &["d"],
        3,
        "duration_seconds '1h' is not a number",
    ),
    case(
        "duration_seconds negative",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = -900\n"
        ),
        &["d"],
        3,
        "duration_seconds '-900' is not a number",
    ),
    case(
        "duration_seconds overflows",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = 99999999999999999999\n"
        ),
        &["d"],
        3,
        "is not a number",
    ),
    case(
        "mfa_serial of the wrong shape",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile m]\nrole_arn = {ADMIN}\nsource_profile = alice\nmfa_serial = x y\n"
        ),
        &["m"],
        3,
        "mfa_serial 'x y'",
    ),
    case(
        "region of the wrong shape",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile r]\nrole_arn = {ADMIN}\nsource_profile = alice\nregion = EU West\n"
        ),
        &["r"],
        3,
        "region 'EU West' is not an AWS region name",
    ),
    Case {
        name: "STS endpoint without http(s)",
        setup: Setup::Moto,
        config: STD,
        credentials: ALICE,
        args: &["plain"],
        env: &[("AWS_ENDPOINT_URL_STS", "ftp://sts.example")],
        code: 3,
        stderr: "STS endpoint 'ftp://sts.example' must start with https://",
    },
    case(
        "role_session_name with a space",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile s]\nrole_arn = {ADMIN}\nsource_profile = alice\nrole_session_name = a b\n"
        ),
        &["s"],
        3,
        "role_session_name 'a b'",
    ),
    case(
        "external_id too short",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile x]\nrole_arn = {ADMIN}\nsource_profile = alice\nexternal_id = x\n"
        ),
        &["x"],
        3,
        "external_id must be 2 to 1224",
    ),
    case(
        "mfa_session_duration of the wrong shape",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile ms]\nrole_arn = {ADMIN}\nsource_profile = alice\nmfa_session_duration = forever\n"
        ),
        &["ms"],
        3,
        "mfa_session_duration 'forever'",
    ),
    // --- Which profile ---------------------------------------------------------------------------
    case(
        "profile not found, close names",
        Setup::Moto,
        concat!(
            std_config!(),
            "[profile admins]\nrole_arn = {ADMIN}\nsource_profile = alice\n"
        ),
        &["admn"],
        3,
        "did you mean 'admin' or 'admins'?",
    ),
    case(
        "profile not found, one close name",
        Setup::Moto,
        STD,
        &["credential-process", "plian"],
        3,
        "did you mean 'plain'?",
    ),
    case(
        "profile not found, nothing close",
        Setup::Moto,
        STD,
        &["zzzzzz"],
        3,
        "profile 'zzzzzz' not found",
    ),
    Case {
        name: "no profiles at all",
        setup: Setup::Moto,
        config: "",
        credentials: "",
        args: &["admin"],
        env: NONE,
        code: 3,
        stderr: "No profiles were defined",
    },
    Case {
        name: "AWS_PROFILE names a missing profile",
        setup: Setup::Moto,
        config: STD,
        credentials: ALICE,
        args: &["exec", "--", "true"],
        env: &[("AWS_PROFILE", "admim")],
        code: 3,
        stderr: "did you mean 'admin'?",
    },
    // --- The MFA code ----------------------------------------------------------------------------
    case(
        "--token-code empty",
        Setup::Moto,
        STD,
        &["admin", "--token-code", ""],
        2,
        "--token-code must be the 6 digits",
    ),
    case(
        "--token-code not digits",
        Setup::Moto,
        STD,
        &["admin", "--token-code", "abcdef"],
        2,
        "--token-code must be the 6 digits",
    ),
    case(
        "--token-code 7 digits",
        Setup::Moto,
        STD,
        &["admin", "--token-code", "1234567"],
        2,
        "--token-code must be the 6 digits",
    ),
    case(
        "--token-code 2 digits",
        Setup::Moto,
        STD,
        &["credential-process", "admin", "--token-code", "12"],
        2,
        "--token-code must be the 6 digits",
    ),
    case(
        "no terminal and no code",
        Setup::Moto,
        STD,
        &["admin"],
        4,
        "--token-code",
    ),
    case(
        "no terminal and no code, credential-process",
        Setup::Moto,
        STD,
        &["credential-process", "admin", "--no-cache"],
        4,
        "pass --token-code",
    ),
    case(
        "mfa_process fails",
        Setup::Moto,
        mfa_process!("exit 3"),
        &["proc"],
        4,
        "profile 'proc': mfa_process failed",
    ),
    case(
        "mfa_process prints garbage",
        Setup::Moto,
        mfa_process!("echo 'hello; rm -rf /'"),
        &["proc"],
        4,
        "profile 'proc': mfa_process did not print a 6-digit code",
    ),
    case(
        "mfa_process prints 7 digits",
        Setup::Moto,
        mfa_process!("echo 1234567"),
        &["proc"],
        4,
        "did not print a 6-digit code",
    ),
    case(
        "mfa_process prints nothing",
        Setup::Moto,
        mfa_process!("true"),
        &["proc"],
        4,
        "did not print a 6-digit code",
    ),
    // --- The command line ------------------------------------------------------------------------
    case(
        "unknown --shell",
        Setup::Moto,
        STD,
        &["plain", "--shell", "tcsh"],
        2,
        "tcsh",
    ),
    case(
        "--duration not a duration",
        Setup::Moto,
        STD,
        &["plain", "--duration", "soon"],
        2,
        "'soon' is not a duration",
    ),
    case(
        "unknown option",
        Setup::Moto,
        STD,
        &["plain", "--no-such-option"],
        2,
        "--no-such-option",
    ),
    Case {
        name: "ASSUME_CACHE not a store",
        setup: Setup::Moto,
        config: STD,
        credentials: ALICE,
        args: &["plain"],
        env: &[("ASSUME_CACHE", "bogus")],
        code: 2,
        stderr: "ASSUME_CACHE=bogus is not a cache store",
    },
    Case {
        name: "ASSUME_KEYRING_COPY not a switch",
        setup: Setup::Moto,
        config: STD,
        credentials: ALICE,
        args: &["plain"],
        env: &[("ASSUME_KEYRING_COPY", "sometimes")],
        code: 2,
        stderr: "ASSUME_KEYRING_COPY=sometimes is not a switch: use 1 or 0",
    },
    case(
        "exec without a command",
        Setup::Moto,
        STD,
        &["exec", "plain"],
        2,
        "command",
    ),
    case(
        "exec with nothing after --",
        Setup::Moto,
        STD,
        &["exec", "plain", "--"],
        2,
        "command",
    ),
    case(
        "exec of a missing binary",
        Setup::Moto,
        STD,
        &["exec", "plain", "--", "no-such-command-4711"],
        127,
        "command not found: no-such-command-4711",
    ),
    case(
        "exec of a directory",
        Setup::Moto,
        STD,
        &["exec", "plain", "--", "/"],
        126,
        "cannot run /",
    ),
    case(
        "console with long-term keys",
        Setup::Moto,
        STD,
        &["console", "alice", "--print"],
        2,
        "use a role profile",
    ),
    // --- The cache -------------------------------------------------------------------------------
    case(
        "forced file store, cache home is a file",
        Setup::CacheHomeIsFile,
        STD,
        &["plain"],
        6,
        "ASSUME_CACHE=file but 0600 files cannot be used",
    ),
    case(
        "forced file store, cache home read-only",
        Setup::CacheHomeReadOnly,
        STD,
        &["plain"],
        6,
        "ASSUME_CACHE=file but 0600 files cannot be used",
    ),
    // --- STS -------------------------------------------------------------------------------------
    Case {
        name: "AccessDenied (trust policy)",
        setup: Setup::Auth,
        config: concat!(
            std_config!(),
            "[profile mallory-admin]\nrole_arn = {ALICEONLY}\nsource_profile = mallory\n"
        ),
        credentials: "{AUTH}",
        args: &["mallory-admin"],
        env: NONE,
        code: 4,
        stderr: "AccessDenied",
    },
    Case {
        name: "InvalidClientTokenId (unknown key)",
        setup: Setup::Auth,
        config: concat!(
            std_config!(),
            "[profile bogus-key]\nrole_arn = {ADMIN}\nsource_profile = bogus\n"
        ),
        credentials: "{AUTH}",
        args: &["bogus-key"],
        env: NONE,
        code: 4,
        stderr: "InvalidClientTokenId",
    },
    Case {
        name: "SignatureDoesNotMatch (wrong secret)",
        setup: Setup::Auth,
        config: concat!(
            std_config!(),
            "[profile wrong-secret]\nrole_arn = {ADMIN}\nsource_profile = wrong-secret\n"
        ),
        credentials: "{AUTH}",
        args: &["wrong-secret"],
        env: NONE,
        code: 4,
        stderr: "SignatureDoesNotMatch",
    },
    case(
        "ExpiredToken",
        Setup::StsError(
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        STD,
        &["plain"],
        4,
        "ExpiredToken",
    ),
    case(
        "ExpiredToken on GetSessionToken",
        Setup::StsError(
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        STD,
        &["admin", "--token-code", "123456"],
        4,
        "ExpiredToken",
    ),
    case(
        "Throttling",
        Setup::StsError("Throttling", "Rate exceeded"),
        STD,
        &["plain"],
        5,
        "Throttling",
    ),
    case(
        "another STS error",
        Setup::StsError("ValidationError", "1 validation error detected"),
        STD,
        &["plain"],
        5,
        "ValidationError",
    ),
    case(
        "STS message spanning lines",
        Setup::StsError(
            "InvalidParameterValue",
            "first line\nsecond line\r\nthird line",
        ),
        STD,
        &["plain"],
        5,
        "InvalidParameterValue",
    ),
    case(
        "STS answers 200 with garbage",
        Setup::Answer(200, "this is not XML <<<"),
        STD,
        &["plain"],
        5,
        "HTTP 200",
    ),
    case(
        "STS answers 500 with HTML",
        Setup::Answer(
            503,
            "<html><body>\n<h1>Service Unavailable</h1>\n</body></html>",
        ),
        STD,
        &["plain"],
        5,
        "503",
    ),
    case(
        "endpoint refuses connections",
        Setup::Refused,
        STD,
        &["plain"],
        5,
        "cannot reach",
    ),
    case(
        "endpoint accepts and never answers",
        Setup::Silent,
        STD,
        &["plain"],
        5,
        "did not answer in time",
    ),
    // --- The files themselves --------------------------------------------------------------------
    case(
        "config not UTF-8",
        Setup::ConfigBytes(b"[profile a]\nregion = \xff\xfe\xfd\n"),
        "",
        &["a"],
        3,
        "it is not UTF-8",
    ),
    case(
        "config UTF-16 with BOM",
        Setup::ConfigBytes(b"\xff\xfe[\x00p\x00r\x00o\x00f\x00"),
        "",
        &["a"],
        3,
        "it is not UTF-8",
    ),
    case(
        "credentials not UTF-8",
        Setup::CredentialsBytes(b"[alice]\naws_access_key_id = \xc3\x28\n"),
        STD,
        &["plain"],
        3,
        "it is not UTF-8",
    ),
    case(
        "config is a directory",
        Setup::ConfigIsDir,
        "",
        &["plain"],
        3,
        "it is a directory",
    ),
    case(
        "100 MB config with a broken last line",
        Setup::HugeConfig("[profile tail\n"),
        STD,
        &["plain"],
        3,
        "Profile definition must end with ']'",
    ),
    case(
        "HOME unset, AWS_CONFIG_FILE set, bad profile",
        Setup::HomeUnset { files_set: true },
        concat!(
            std_config!(),
            "[profile d]\nrole_arn = {ADMIN}\nsource_profile = alice\nduration_seconds = 5\n"
        ),
        &["d"],
        3,
        "duration 5s is out of range",
    ),
    case(
        "HOME unset, no AWS_CONFIG_FILE: not found in the passwd home",
        Setup::HomeUnset { files_set: false },
        STD,
        &["plain"],
        3,
        "{PASSWD_HOME}/.aws/config",
    ),
];

/// A read-only tmpfs, unmounted on drop.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(Mount {
                dir: dir.to_path_buf(),
            })
        } else {
            Err(text(&out.stderr))
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).output();
    }
}

fn fill(template: &str, env: &TestEnv, moto: &Moto) -> String {
    let (alice_id, alice_secret) = moto.keys("alice");
    template
        .replace("{ADMIN}", &moto.role_arn("Administrators"))
        .replace("{ALICEONLY}", &moto.role_arn("AliceOnly"))
        .replace("{MFA}", &moto.mfa_serial("alice"))
        .replace("{ALICE_ID}", &alice_id)
        .replace("{ALICE_SECRET}", &alice_secret)
        .replace("{HOME}", &env.home().display().to_string())
        .replace("{PASSWD_HOME}", &passwd_home())
}

/// Runs one case; the problems found (empty: it passed).
fn run_case(case: &Case) -> Vec<String> {
    let moto = match case.setup {
        Setup::Auth => moto_with_auth(),
        _ => moto(),
    };
    let env = TestEnv::new(moto);
    env.write_config(&fill(case.config, &env, moto));
    let credentials = match case.credentials {
        "{ALICE}" => env.user_credentials_section("alice", "alice"),
        "{AUTH}" => auth_credentials(&env, moto),
        other => fill(other, &env, moto),
    };
    env.write_credentials(&credentials);

    let mut cmd = env.cmd();
    cmd.args(case.args)
        .env("SHELL", "/bin/bash")
        .env("RUST_BACKTRACE", "0")
        .timeout(RUN_TIMEOUT);
    let mut _server = None;
    let mut _mount = None;
    match case.setup {
        Setup::Moto | Setup::Auth => {}
        Setup::StsError(code, message) => {
            let server = FakeServer::sts_error(code, message);
            cmd.env("AWS_ENDPOINT_URL", server.endpoint());
            _server = Some(server);
        }
        Setup::Answer(status, body) => {
            let server = FakeServer::start(Mode::Respond(status, "text/html", body.to_string()));
            cmd.env("AWS_ENDPOINT_URL", server.endpoint());
            _server = Some(server);
        }
        Setup::Silent => {
            let server = FakeServer::start(Mode::Silent);
            cmd.env("AWS_ENDPOINT_URL", server.endpoint());
            _server = Some(server);
        }
        Setup::Refused => {
            cmd.env("AWS_ENDPOINT_URL", refused_endpoint());
        }
        Setup::ConfigIsDir => {
            std::fs::remove_file(env.config_path()).unwrap();
            std::fs::create_dir(env.config_path()).unwrap();
        }
        Setup::ConfigBytes(bytes) => std::fs::write(env.config_path(), bytes).unwrap(),
        Setup::CredentialsBytes(bytes) => std::fs::write(env.credentials_path(), bytes).unwrap(),
        Setup::HugeConfig(tail) => {
            write_huge_config(&env.config_path(), &fill(case.config, &env, moto), tail)
        }
        Setup::HomeUnset { files_set } => {
            cmd.env_remove("HOME");
            if !files_set {
                cmd.env_remove("AWS_CONFIG_FILE");
            }
        }
        Setup::CacheHomeIsFile => {
            let file = env.root().join("cache-is-a-file");
            std::fs::write(&file, "not a directory").unwrap();
            cmd.env("ASSUME_CACHE", "file").env("XDG_CACHE_HOME", &file);
        }
        Setup::CacheHomeReadOnly => {
            let dir = env.root().join("read-only-cache");
            match Mount::tmpfs(&dir, "ro,size=64k") {
                Ok(mount) => _mount = Some(mount),
                Err(why) => {
                    // Not root with mount rights: mode bits do the job for anyone else.
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
                    assert!(
                        std::fs::write(dir.join("probe"), "x").is_err(),
                        "cannot make a read-only directory here: mount failed ({why}) and \
                         mode 0555 does not stop this user"
                    );
                }
            }
            cmd.env("ASSUME_CACHE", "file").env("XDG_CACHE_HOME", &dir);
        }
    }
    for (k, v) in case.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = started.elapsed();
    let fragment = fill(case.stderr, &env, moto);
    let mut problems = check_failure(&out, case.code, &fragment);
    let bound = match case.setup {
        Setup::Silent | Setup::StsError(..) | Setup::Answer(..) | Setup::Refused => STS_BOUND,
        _ => Duration::from_secs(10),
    };
    if elapsed > bound {
        problems.push(format!("took {elapsed:?}, more than {bound:?}"));
    }
    if !problems.is_empty() {
        problems.push(format!(
            "stdout: {:?}\n      stderr: {:?}",
            text(&out.stdout),
            text(&out.stderr)
        ));
    }
    problems
}

/// `head`, then 100 MB of comment lines (one `write_all` of a repeated buffer), then `tail`.
fn write_huge_config(path: &Path, head: &str, tail: &str) {
    let line = b"# a comment line, repeated to make a 100 MB config file ..................\n";
    let lines = 100 * 1024 * 1024 / line.len();
    let mut bytes = Vec::with_capacity(head.len() + lines * line.len() + tail.len());
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(&line.repeat(lines));
    bytes.extend_from_slice(tail.as_bytes());
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(&bytes).unwrap();
}

#[test]
fn bad_input_catalogue() {
    assert!(
        CATALOGUE.len() >= 40,
        "the catalogue has {} cases",
        CATALOGUE.len()
    );
    let mut names: Vec<&str> = CATALOGUE.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CATALOGUE.len(), "case names must be unique");

    // Four at a time: most cases take milliseconds, a few wait on the STS bound.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = CATALOGUE.get(i) else { break };
                    let problems = run_case(case);
                    if !problems.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "[{i}] {} (assume {}):\n      {}",
                            case.name,
                            case.args.join(" "),
                            problems.join("\n      ")
                        ));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} catalogue cases failed:\n{}",
        failures.len(),
        CATALOGUE.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/// SIGKILL while a refresh holds the lock (an `mfa_process` that sleeps): the next call does
/// not wait for the dead holder, and no entry is half-written. Then 20 runs killed at
/// staggered moments of a real refresh and write: every entry still parses.
#[test]
fn kill_9_during_refresh_leaves_no_stuck_lock_or_half_entry() {
    let env = TestEnv::new(moto());
    env.write_config(&fill(
        concat!(
            std_config!(),
            "[profile slow]\nrole_arn = {ADMIN}\nsource_profile = alice\nmfa_serial = {MFA}\n\
             mfa_process = sleep 10; echo 123456\n"
        ),
        &env,
        moto(),
    ));
    env.alice_credentials();
    let cache_home = env.root().join("file-cache");
    let locks = cache_home.join("assume").join("locks");
    let mut child = env
        .std_cmd()
        .arg("slow")
        .env("ASSUME_CACHE", "file")
        .env("XDG_CACHE_HOME", &cache_home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id();
    // The refresh is under way once a lock file exists and the mfa_process runs.
    assert!(
        harness::wait_until(Duration::from_secs(10), || !files_under(&locks).is_empty()),
        "no lock file appeared under {}",
        locks.display()
    );
    thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // The orphaned `sleep` of the mfa_process: ours, by process group.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();

    let started = Instant::now();
    let mut cmd = env.cmd();
    cmd.args(["slow", "--token-code", "123456"])
        .env("ASSUME_CACHE", "file")
        .env("XDG_CACHE_HOME", &cache_home);
    succeed(&mut cmd);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the next call waited {:?} (a stuck lock?)",
        started.elapsed()
    );
    all_entries_parse(&cache_home);

    // Kills at staggered moments of refreshes that do write (the entry cleared first).
    for i in 0..20u64 {
        let cleared = env
            .std_cmd()
            .args(["clear", "plain"])
            .env("ASSUME_CACHE", "file")
            .env("XDG_CACHE_HOME", &cache_home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(cleared.status.success(), "{}", text(&cleared.stderr));
        let mut child = env
            .std_cmd()
            .arg("plain")
            .env("ASSUME_CACHE", "file")
            .env("XDG_CACHE_HOME", &cache_home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(5 + i * 7));
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        all_entries_parse(&cache_home);
    }
    let started = Instant::now();
    let mut cmd = env.cmd();
    cmd.arg("plain")
        .env("ASSUME_CACHE", "file")
        .env("XDG_CACHE_HOME", &cache_home);
    succeed(&mut cmd);
    assert!(started.elapsed() < Duration::from_secs(5));
    all_entries_parse(&cache_home);
}

/// A refresh that fails with an STS error (same endpoint, so the same entry): the cached entry
/// is left byte for byte, and served again once the refresh is not forced.
#[test]
fn failed_refresh_keeps_the_old_entry() {
    let env = plain_env();
    let server = FakeServer::start(Mode::Forward(proxy_port(&env)));
    let cache_home = env.root().join("file-cache");
    let cmd = |args: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", server.endpoint())
            .env("ASSUME_CACHE", "file")
            .env("XDG_CACHE_HOME", &cache_home)
            .timeout(RUN_TIMEOUT);
        cmd
    };
    let (first, _) = succeed(&mut cmd(&["plain"]));
    let entries = entry_files(&cache_home);
    assert_eq!(entries.len(), 1, "{entries:?}");
    // Time passes: 20 min left, so a 30 min minimum asks for a refresh of this very entry.
    harness::age_file_entry(&entries[0], 20 * 60);
    let before = std::fs::read(&entries[0]).unwrap();

    for (code, fault, expected) in [
        (4, "ExpiredToken", "ExpiredToken"),
        (5, "Throttling", "Throttling"),
    ] {
        server.set(Mode::Respond(
            400,
            "text/xml",
            sts_error_body(fault, "injected"),
        ));
        let out = cmd(&["plain", "--min-ttl", "30m"]).output().unwrap();
        let problems = check_failure(&out, code, expected);
        assert!(
            problems.is_empty(),
            "{fault}: {problems:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            std::fs::read(&entries[0]).unwrap(),
            before,
            "{fault}: entry changed"
        );
    }
    server.set(Mode::Silent);
    let out = cmd(&["plain", "--min-ttl", "30m"]).output().unwrap();
    assert!(
        check_failure(&out, 5, "did not answer in time").is_empty(),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&entries[0]).unwrap(), before);

    // STS still down, default min TTL: the old entry, the same credentials.
    let (again, stderr) = succeed(&mut cmd(&["plain"]));
    assert_eq!(key_id(&again), key_id(&first), "{stderr:?}");
}

/// A full disk under the file store: an error (forced store: exit 6) or a warning, never a
/// truncated entry; the old entry file stays intact.
#[test]
fn full_disk_is_an_error_not_corruption() {
    let env = plain_env();
    let cache_home = env.root().join("small-disk");
    let mount = match Mount::tmpfs(&cache_home, "size=64k") {
        Ok(mount) => mount,
        Err(why) => panic!(
            "SKIPPED FOR REAL: cannot mount a small tmpfs here ({why}); this case needs root \
             with mount rights — it is not silently passed"
        ),
    };
    let cmd = |args: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(args)
            .env("ASSUME_CACHE", "file")
            .env("XDG_CACHE_HOME", &cache_home)
            .timeout(RUN_TIMEOUT);
        cmd
    };
    let (first, _) = succeed(&mut cmd(&["plain"]));
    let entries = entry_files(&cache_home);
    assert_eq!(entries.len(), 1, "{entries:?}");
    // Time passes: 20 min left, so a 30 min minimum asks for a refresh (which must write).
    harness::age_file_entry(&entries[0], 20 * 60);
    let before = std::fs::read(&entries[0]).unwrap();
    // Fill the disk.
    let mut filler = std::fs::File::create(cache_home.join("filler")).unwrap();
    let block = vec![b'x'; 4096];
    while filler.write_all(&block).is_ok() {}
    drop(filler);

    let out = cmd(&["plain", "--min-ttl", "30m"]).output().unwrap();
    let stderr = text(&out.stderr);
    eprintln!("full disk: exit {:?}, stderr {stderr:?}", out.status.code());
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "{stderr}"
    );
    match out.status.code() {
        Some(6) => {
            let problems = check_failure(&out, 6, "ASSUME_CACHE=file");
            assert!(problems.is_empty(), "{problems:?}");
        }
        Some(0) => assert!(stderr.contains("assume: "), "a warning: {stderr}"),
        other => panic!("exit {other:?}: {stderr}"),
    }
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        before,
        "the entry changed"
    );
    all_entries_parse(&cache_home);
    // Space again: the old entry is still served.
    std::fs::remove_file(cache_home.join("filler")).unwrap();
    let (again, _) = succeed(&mut cmd(&["plain"]));
    assert_eq!(key_id(&again), key_id(&first));
    drop(mount);
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// Which secrets appear in `haystack`, by name.
fn leaked<'a>(haystack: &[u8], secrets: &[(&'a str, &str)]) -> Vec<&'a str> {
    let haystack = text(haystack);
    secrets
        .iter()
        .filter(|(_, secret)| haystack.contains(secret))
        .map(|(name, _)| *name)
        .collect()
}

/// Every command with `-v` and `RUST_LOG=trace`: no secret in stderr, in stdout (where stdout is
/// not the credentials themselves), in any file under the test's root (HOME, cache dir) but the
/// file store's entries and the credentials file the secret came from, nor in the argv of a
/// running `exec`.
#[test]
fn no_secret_in_outputs_files_or_argv() {
    let env = plain_env();
    let cache_home = env.root().join("file-cache");
    let fed = FakeServer::start(Mode::Respond(
        200,
        "application/json",
        r#"{"SigninToken":"fake-signin-token"}"#.to_string(),
    ));
    let cmd = || {
        let mut cmd = env.cmd();
        cmd.env("ASSUME_CACHE", "file")
            .env("XDG_CACHE_HOME", &cache_home)
            .env("RUST_LOG", "trace")
            .env("SHELL", "/bin/bash")
            .env(
                "ASSUME_FEDERATION_ENDPOINT",
                format!("{}/federation", fed.endpoint()),
            )
            .timeout(RUN_TIMEOUT);
        cmd
    };
    let out = cmd()
        .args(["credential-process", "plain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let role_secret = json["SecretAccessKey"].as_str().unwrap().to_string();
    let role_token = json["SessionToken"].as_str().unwrap().to_string();
    let alice_secret = moto().keys("alice").1;
    let secrets = [
        ("alice's secret key", alice_secret.as_str()),
        ("the role's secret key", role_secret.as_str()),
        ("the role's session token", role_token.as_str()),
    ];

    let aws = venv_bin("aws");
    let probe = format!(
        "env > \"$HOME/probe-env\"; exec {} sts get-caller-identity --region us-east-1",
        harness::sh_quote(&aws.display().to_string())
    );
    let whoami = format!(
        "eval \"$({bin} plain)\" && {bin} whoami -v && {bin} whoami -v --output json",
        bin = harness::sh_quote(&assume_bin().display().to_string())
    );
    // (args, whether stdout is the credentials themselves)
    let runs: Vec<(Vec<&str>, bool)> = vec![
        (vec!["-v", "plain"], true),
        (vec!["-v", "plain", "--shell", "fish"], true),
        (vec!["-v", "--unset"], false),
        (vec!["explain", "-v", "plain"], false),
        (vec!["explain", "-v", "plain", "--output", "json"], false),
        (vec!["explain", "-v", "alice", "--output", "json"], false),
        (vec!["list", "-v"], false),
        (vec!["list", "-v", "--output", "json"], false),
        (vec!["credential-process", "-v", "plain"], true),
        (vec!["credential-process", "-v", "alice"], true),
        (vec!["exec", "-v", "plain", "--", "true"], false),
        (
            vec!["exec", "-v", "--server", "plain", "--", "sh", "-c", &probe],
            false,
        ),
        (vec!["console", "-v", "plain", "--print"], false),
        // A refresh that writes the entry, under -v.
        (vec!["clear", "plain"], false),
        (vec!["-v", "plain"], true),
        (vec!["clear", "-v", "plain"], false),
        (vec!["clear", "-v", "--all"], false),
    ];
    let mut problems = Vec::new();
    for (args, stdout_is_credentials) in &runs {
        let out = cmd().args(args).output().unwrap();
        if out.status.code() != Some(0) {
            problems.push(format!("assume {args:?} failed: {}", text(&out.stderr)));
        }
        for name in leaked(&out.stderr, &secrets) {
            problems.push(format!("assume {args:?}: {name} on stderr"));
        }
        if !stdout_is_credentials {
            for name in leaked(&out.stdout, &secrets) {
                problems.push(format!("assume {args:?}: {name} on stdout"));
            }
        }
    }
    // whoami in a shell that evaluated the exports.
    let out = env
        .command("bash")
        .args(["-c", &whoami])
        .env("ASSUME_CACHE", "file")
        .env("XDG_CACHE_HOME", &cache_home)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    if out.status.code() != Some(0) {
        problems.push(format!("whoami after eval failed: {}", text(&out.stderr)));
    }
    for name in leaked(&out.stdout, &secrets)
        .into_iter()
        .chain(leaked(&out.stderr, &secrets))
    {
        problems.push(format!("whoami: {name} in its output"));
    }
    // The probe of `exec --server` ran (its environment, in HOME, is grepped below).
    if !env.home().join("probe-env").is_file() {
        problems.push("the exec --server probe did not run".into());
    }
    // Every file but the store's entries and the credentials file (the input).
    let entries = cache_home.join("assume").join("entries");
    for path in files_under(env.root()) {
        if path.starts_with(&entries) || path == env.credentials_path() {
            continue;
        }
        for name in leaked(&std::fs::read(&path).unwrap_or_default(), &secrets) {
            problems.push(format!("{name} in {}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "secrets leaked:\n{}",
        problems.join("\n")
    );
}

/// `/proc/PID/cmdline` of a running `assume exec plain -- sleep 5` never holds a secret.
#[test]
fn no_secret_in_argv_of_a_running_exec() {
    let env = plain_env();
    let cache_home = env.root().join("file-cache");
    let mut child = env
        .std_cmd()
        .args(["exec", "-v", "plain", "--", "sleep", "5"])
        .env("ASSUME_CACHE", "file")
        .env("XDG_CACHE_HOME", &cache_home)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let alice_secret = moto().keys("alice").1;
    let cmdline = format!("/proc/{}/cmdline", child.id());
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(&cmdline)
            && !seen.contains(&bytes)
        {
            seen.push(bytes);
        }
        thread::sleep(Duration::from_millis(10));
    }
    // The role's keys, read from the environment of the (exec'd) command.
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    let role_secret = environ.split(|b| *b == 0).find_map(|v| {
        v.strip_prefix(b"AWS_SECRET_ACCESS_KEY=".as_slice())
            .map(<[u8]>::to_vec)
    });
    let role_token = environ.split(|b| *b == 0).find_map(|v| {
        v.strip_prefix(b"AWS_SESSION_TOKEN=".as_slice())
            .map(<[u8]>::to_vec)
    });
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let role_secret = text(&role_secret.expect("the command got AWS_SECRET_ACCESS_KEY"));
    let role_token = text(&role_token.expect("the command got AWS_SESSION_TOKEN"));
    assert!(
        seen.iter().any(|c| c.starts_with(b"sleep\x005")),
        "never saw sleep running: {seen:?}"
    );
    for argv in &seen {
        let argv = text(argv);
        for secret in [&alice_secret, &role_secret, &role_token] {
            assert!(
                !argv.contains(secret.as_str()),
                "a secret in argv: {argv:?}"
            );
        }
    }
}

/// `Debug` of a plan built from static keys shows neither the secret key nor the token.
#[test]
fn plan_debug_hides_static_secrets() {
    use assume::config::{Env, FileKind, Overrides, Plan, ProfileSet, resolve_chain};
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY";
    let token = "FwoGZXIvYXdzSESSIONTOKENxyz";
    let mut set = ProfileSet::default();
    set.merge_file(
        FileKind::Config,
        "config",
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = keys\n",
    )
    .unwrap();
    set.merge_file(
        FileKind::Credentials,
        "credentials",
        &format!(
            "[keys]\naws_access_key_id = AKIAIOSFODNN7DEBUG00\naws_secret_access_key = {secret}\n\
             aws_session_token = {token}\n"
        ),
    )
    .unwrap();
    let env = Env::from_pairs([("AWS_REGION", "eu-west-1")]);
    for profile in ["admin", "keys"] {
        let chain = resolve_chain(&set, profile).unwrap();
        let plan = Plan::build(&set, &chain, &Overrides::default(), &env).unwrap();
        let debug = format!("{plan:?} {:?} {plan:#?}", plan.base);
        assert!(debug.contains("AKIAIOSFODNN7DEBUG00"), "{debug}");
        assert!(!debug.contains(secret), "secret key in Debug: {debug}");
        assert!(!debug.contains(token), "session token in Debug: {debug}");
    }
}

/// The password of a `user:pass@` endpoint URL shows neither in an error nor in `explain`.
#[test]
fn endpoint_url_passwords_are_redacted() {
    let env = plain_env();
    let port = refused_endpoint();
    let url = port.replace("http://", "http://bob:hunter2@");
    let out = env
        .cmd()
        .arg("plain")
        .env("AWS_ENDPOINT_URL_STS", &url)
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    let problems = check_failure(&out, 5, &port.replace("http://", "http://***@"));
    assert!(problems.is_empty(), "{problems:?}: {}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("hunter2"));
    for format in ["text", "json"] {
        let out = env
            .cmd()
            .args(["explain", "plain", "--output", format])
            .env("AWS_ENDPOINT_URL_STS", &url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(
            !shown.contains("hunter2") && shown.contains("***@"),
            "{shown}"
        );
    }
    // A URL that is refused outright (no scheme) is quoted without its password too.
    let out = env
        .cmd()
        .arg("plain")
        .env("AWS_ENDPOINT_URL_STS", "ftp://bob:hunter2@example")
        .output()
        .unwrap();
    let problems = check_failure(&out, 3, "ftp://***@example");
    assert!(problems.is_empty(), "{problems:?}: {}", text(&out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Hardening: control characters, lengths
// ---------------------------------------------------------------------------------------------

/// Escape sequences from an argument, a config value or an STS message reach stderr escaped:
/// none can clear the screen, retitle the terminal or write the clipboard (OSC 52).
#[test]
fn control_characters_are_escaped_on_stderr() {
    let env = plain_env();
    let osc52 = "\x1b]52;c;cHduZWQ=\x07";
    let check = |out: &Output, code: i32| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr:?}");
        assert!(out.stdout.is_empty());
        assert!(
            !stderr.contains('\x1b') && !stderr.contains('\x07'),
            "{stderr:?}"
        );
        assert!(stderr.contains("\\x1b]52;c;cHduZWQ=\\x07"), "{stderr:?}");
    };
    // An argument.
    check(
        &env.cmd().arg(format!("no{osc52}such")).output().unwrap(),
        3,
    );
    // clap's own errors (it strips escape sequences itself when stderr is not a terminal).
    let out = env
        .cmd()
        .args(["--duration", osc52, "plain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !text(&out.stderr).contains('\x1b'),
        "{:?}",
        text(&out.stderr)
    );
    // A config value.
    env.write_config(&format!(
        "{}[profile evil]\nrole_arn = arn:aws:iam::123456789012:role/{osc52}\nsource_profile = alice\n",
        fill(STD, &env, moto())
    ));
    check(&env.cmd().arg("evil").output().unwrap(), 3);
    // In the partition too (it used to pass the check, then reach the spinner and explain).
    env.write_config(&format!(
        "{}[profile evil]\nrole_arn = arn:aws{osc52}:iam::123456789012:role/Admin\nsource_profile = alice\n",
        fill(STD, &env, moto())
    ));
    check(&env.cmd().arg("evil").output().unwrap(), 3);
    check(&env.cmd().args(["explain", "evil"]).output().unwrap(), 3);
    // An STS message.
    let server = FakeServer::sts_error("InvalidParameterValue", &format!("bad {osc52} value"));
    // --no-cache: another test's entry for `plain` made at an endpoint on the same (reused)
    // port would otherwise be a hit, and no STS message would be shown.
    let out = env
        .cmd()
        .args(["plain", "--no-cache"])
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap();
    check(&out, 5);
}

/// A 10 000-character region or role ARN is a configuration error (exit 3) found before any
/// request, in a line of readable length.
#[test]
fn overlong_region_and_role_arn_are_config_errors() {
    let env = plain_env();
    let long_region = "a".repeat(10_000);
    let long_role = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(10_000));
    env.write_config(&format!(
        "{}[profile long-region]\nrole_arn = {{ADMIN}}\nsource_profile = alice\nregion = {long_region}\n\
         [profile long-role]\nrole_arn = {long_role}\nsource_profile = alice\n\
         [profile long-name]\nrole_arn = arn:aws:iam::123456789012:role/{}\nsource_profile = alice\n",
        fill(STD, &env, moto()),
        "n".repeat(65),
    ).replace("{ADMIN}", &moto().role_arn("Administrators")));
    let cases: [(&[&str], &str); 4] = [
        (&["long-region"], "is not an AWS region name"),
        (
            &["plain", "--region", &long_region],
            "is not an AWS region name",
        ),
        (&["long-role"], "is not an IAM role ARN"),
        (&["long-name"], "is not an IAM role ARN"),
    ];
    for (args, fragment) in cases {
        let requests = harness::recorded_requests(&env, || {
            let out = env.cmd().args(args).output().unwrap();
            let problems = check_failure(&out, 3, fragment);
            assert!(problems.is_empty(), "{:?}: {problems:?}", &args[0]);
            assert!(
                out.stderr.len() < 400,
                "{} bytes of stderr",
                out.stderr.len()
            );
        });
        assert!(requests.is_empty(), "{:?} reached STS", &args[0]);
    }
}
