//! Where the two AWS files are, reading them, and turning a profile into a validated [`Plan`].
//! Everything here is pure but for reading the two files (and `edit::replace_file`, which
//! `keys import` uses to write one back): no network, no prompts.

mod chain;
pub mod edit;
mod parse;
pub mod plan;

use rustc_hash::FxHashMap as HashMap;
use std::io::ErrorKind;

pub use chain::{
    BaseProvider, ChainError, MAX_HOPS, ProfileChain, Resolver, RoleHop, SdkSource, resolve_chain,
};
pub use parse::{
    FileKind, ParseError, ProfileSet, Section, VaultEntry, is_identifier, parse_sub_properties,
};
pub use plan::{
    Base, CredentialSource, Hop, Overrides, Plan, RegionSource, Summaries, default_session_name,
    parse_human_seconds,
};

/// A snapshot of the process environment (or one a test hands in): a lookup is a hash
/// probe, not a scan of `environ`, which matters when `list` plans 5 000 profiles.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// The real process environment, as it is now.
    pub fn real() -> Self {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    /// A variable's value; set-but-empty counts as unset, as it does for the AWS CLI.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

/// The platform whose path rules apply; a parameter so both are testable anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Unix,
    Windows,
}

impl Os {
    pub fn current() -> Self {
        if cfg!(windows) { Os::Windows } else { Os::Unix }
    }

    fn separator(self) -> char {
        match self {
            Os::Unix => '/',
            Os::Windows => '\\',
        }
    }
}

/// The two files, after `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` and `~` expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub config: String,
    pub credentials: String,
}

/// The home directory as the AWS SDKs find it: `HOME`, and on Windows then `USERPROFILE`,
/// then `HOMEDRIVE` + `HOMEPATH`.
pub fn home_dir(env: &Env, os: Os) -> Option<String> {
    env.get("HOME").or_else(|| match os {
        Os::Unix => None,
        Os::Windows => env.get("USERPROFILE").or_else(|| {
            let drive = env.get("HOMEDRIVE")?;
            let path = env.get("HOMEPATH")?;
            Some(format!("{drive}{path}"))
        }),
    })
}

/// Where the config and credentials files are. `home` is the directory `~` stands for.
pub fn locate(env: &Env, os: Os, home: Option<&str>) -> Locations {
    let find = |variable: &str, default: &str| {
        let path = env.get(variable).unwrap_or_else(|| default.to_string());
        expand_home(&path, home, os)
    };
    Locations {
        config: find("AWS_CONFIG_FILE", "~/.aws/config"),
        credentials: find("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    }
}

/// `~/x/y` → `HOME/x/y` with the platform's separators; other paths are left as given.
fn expand_home(path: &str, home: Option<&str>, os: Os) -> String {
    let rest = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with(['/', '\\']) => rest,
        _ => return path.to_string(),
    };
    let Some(home) = home else {
        return path.to_string();
    };
    let mut expanded = home.trim_end_matches(['/', '\\']).to_string();
    for part in rest.split(['/', '\\']).filter(|p| !p.is_empty()) {
        expanded.push(os.separator());
        expanded.push_str(part);
    }
    expanded
}

/// The profile a command line or the environment names: `--profile` or the positional name,
/// then `AWS_PROFILE`, then `AWS_DEFAULT_PROFILE`.
pub fn named_profile(explicit: Option<&str>, env: &Env) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| env.get("AWS_PROFILE"))
        .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
}

/// The profile the AWS SDKs would use: [`named_profile`], else `default`.
pub fn selected_profile(explicit: Option<&str>, env: &Env) -> String {
    named_profile(explicit, env).unwrap_or_else(|| "default".to_string())
}

/// The parsed, merged files and where they were found.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Never freed: a command loads the files once and ends soon after, and freeing a
    /// million sections at exit costs more than reading them did.
    pub profiles: std::mem::ManuallyDrop<ProfileSet>,
    pub locations: Locations,
}

impl Loaded {
    /// Finds, reads and parses both files. A file that does not exist is an empty one (as
    /// for the SDKs); one that exists but cannot be read, or is not UTF-8, is an error here
    /// (the SDKs would quietly treat it as empty, which hides the mistake).
    pub fn load(env: &Env) -> Result<Self, ConfigError> {
        let os = Os::current();
        let home = home_dir(env, os)
            .or_else(|| dirs::home_dir().map(|path| path.to_string_lossy().into_owned()));
        let locations = locate(env, os, home.as_deref());
        let mut profiles = ProfileSet::default();
        for (kind, path) in [
            (FileKind::Config, &locations.config),
            (FileKind::Credentials, &locations.credentials),
        ] {
            if let Some(text) = read_file(path)? {
                profiles.merge_text(kind, path, text)?;
            }
        }
        // The vault's profiles: a static-keys source each, with a section of its own even
        // when the files have none.
        for (name, listed) in crate::vault::index(env) {
            profiles.profiles.entry(&name);
            profiles.vault.insert(
                name,
                VaultEntry {
                    access_key_id: listed.access_key_id,
                    store: listed.store,
                },
            );
        }
        Ok(Loaded {
            profiles: std::mem::ManuallyDrop::new(profiles),
            locations,
        })
    }
}

/// One of the two files' text; `None` when it does not exist (see [`Loaded::load`]).
pub fn read_file(path: &str) -> Result<Option<String>, ConfigError> {
    let unreadable = |reason: String| ConfigError::Unreadable {
        path: path.to_string(),
        reason,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == ErrorKind::IsADirectory || std::path::Path::new(path).is_dir() => {
            return Err(unreadable("it is a directory, not a file".into()));
        }
        Err(e) => return Err(unreadable(e.to_string())),
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| unreadable("it is not UTF-8 text; save it as UTF-8".into()))
}

/// Everything that can be wrong with the files or the selected profile.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0}; fix that line")]
    Parse(#[from] ParseError),
    #[error("profile '{profile}' not found in {config} or {credentials}; {suggestion}")]
    ProfileNotFound {
        profile: String,
        config: String,
        credentials: String,
        suggestion: String,
    },
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("profile '{profile}': {message}")]
    Invalid { profile: String, message: String },
}
