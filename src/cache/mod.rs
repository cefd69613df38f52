//! The credential cache: entries in the first store that answers (or the one `ASSUME_CACHE`
//! names), an index of what is cached (no secrets) for `list` and `clear`, and one OS file
//! lock per entry so that concurrent refreshes of one chain make one STS call.

mod store;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use store::{CredentialStore, FileStore, KeyringStore, StoreError, StoreKind};

use crate::config::Env;
use crate::error::{Error, Result};

/// What `ASSUME_CACHE` (or `--no-cache`) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Only(StoreKind),
    None,
}

impl Mode {
    pub fn from_env(env: &Env, no_cache: bool) -> Result<Mode> {
        if no_cache {
            return Ok(Mode::None);
        }
        match env.get("ASSUME_CACHE").as_deref() {
            None | Some("auto") => Ok(Mode::Auto),
            Some("keyring") => Ok(Mode::Only(StoreKind::Keyring)),
            Some("keyutils") => Ok(Mode::Only(StoreKind::Keyutils)),
            Some("file") => Ok(Mode::Only(StoreKind::File)),
            Some("none") => Ok(Mode::None),
            Some(other) => Err(Error::Usage(format!(
                "ASSUME_CACHE={other} is not a cache store: use keyring, keyutils, file or none"
            ))),
        }
    }
}

/// Whether an entry holds a role's credentials or an MFA (GetSessionToken) session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    Role,
    MfaSession,
}

/// A cached entry as stored: the credentials and their absolute expiration.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    kind: EntryKind,
    profile: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    /// Seconds since the Unix epoch. Only the absolute time is trusted, so a clock that jumped
    /// can make an entry look older or younger but never reuses it past its real expiry.
    expires_at: u64,
}

const ENTRY_VERSION: u32 = 1;

/// What the index records of one entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexEntry {
    pub profile: String,
    pub kind: EntryKind,
    pub store: String,
    pub expires_at: u64,
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Creates `dir` (and parents) with mode 0700, and tightens it if it exists.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let fail = |e: std::io::Error| StoreError(format!("cannot use {}: {e}", dir.display()));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(fail)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(fail)?;
    Ok(())
}

/// The cache directory: `$XDG_CACHE_HOME/assume` (or the platform's cache directory).
pub fn cache_dir(env: &Env) -> Option<PathBuf> {
    env.get("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(dirs::cache_dir)
        .map(|dir| dir.join("assume"))
}

/// An exclusive OS lock on one entry, released when dropped or when the process dies
/// (including SIGKILL), so a killed holder never blocks the next caller.
pub struct Lock {
    _file: Option<File>,
}

pub struct Cache {
    mode: Mode,
    dir: Option<PathBuf>,
    /// The store in use once one answered; `None` before the first access or with no cache.
    store: Option<Box<dyn CredentialStore>>,
    /// Stores passed over in this run, and why (for the fallback notice).
    passed_over: Vec<(StoreKind, String)>,
    /// Set when no store works at all (automatic mode): the cache is then off for this run.
    broken: bool,
    pub verbose: bool,
}

impl Cache {
    pub fn new(mode: Mode, env: &Env, verbose: bool) -> Cache {
        Cache {
            mode,
            dir: cache_dir(env),
            store: None,
            passed_over: Vec::new(),
            broken: false,
            verbose,
        }
    }

    pub fn enabled(&self) -> bool {
        self.mode != Mode::None
    }

    fn say(&self, message: &str) {
        if self.verbose {
            eprintln!("assume: {message}");
        }
    }

    fn candidates(&self) -> Vec<StoreKind> {
        match self.mode {
            Mode::None => Vec::new(),
            Mode::Only(kind) => vec![kind],
            Mode::Auto => vec![StoreKind::Keyring, StoreKind::Keyutils, StoreKind::File],
        }
    }

    fn open(&self, kind: StoreKind) -> Result<Box<dyn CredentialStore>, StoreError> {
        Ok(match kind {
            StoreKind::Keyring => Box::new(KeyringStore::os()?),
            StoreKind::Keyutils => Box::new(KeyringStore::keyutils()?),
            StoreKind::File => {
                let dir = self
                    .dir
                    .as_deref()
                    .ok_or_else(|| StoreError("no cache directory (set XDG_CACHE_HOME)".into()))?;
                Box::new(FileStore::new(dir)?)
            }
        })
    }

    /// The store of `kind`: the one in use if it is that kind, else a newly opened one.
    fn take_or_open(&mut self, kind: StoreKind) -> Result<Box<dyn CredentialStore>, StoreError> {
        match self.store.take() {
            Some(store) if store.kind() == kind => Ok(store),
            other => {
                self.store = other;
                self.open(kind)
            }
        }
    }

    /// A store that failed: an error when forced, else noted and skipped from now on.
    fn pass_over(&mut self, kind: StoreKind, error: &StoreError) -> Result<()> {
        if self.mode != Mode::Auto {
            return Err(cache_error(kind, error));
        }
        self.say(&format!("cache: {} unavailable: {error}", kind.describe()));
        self.passed_over.push((kind, error.to_string()));
        Ok(())
    }

    /// A store's place in the order of preference.
    fn rank(&self, kind: StoreKind) -> usize {
        self.candidates()
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(usize::MAX)
    }

    fn usable(&self) -> Vec<StoreKind> {
        if self.broken {
            return Vec::new();
        }
        self.candidates()
            .into_iter()
            .filter(|kind| self.passed_over.iter().all(|(failed, _)| failed != kind))
            .collect()
    }

    /// The store an earlier automatic fallback settled on, as recorded in the cache directory.
    fn recorded_fallback(&self) -> Option<StoreKind> {
        let text = fs::read_to_string(self.dir.as_ref()?.join("fallback")).ok()?;
        [StoreKind::Keyutils, StoreKind::File]
            .into_iter()
            .find(|kind| kind.name() == text.trim())
    }

    /// The raw entry under `key`. Stores are asked in order; the first that answers is where
    /// new entries go. A later store is asked too when an earlier run fell back to it (a
    /// keyring that answers lookups but refuses writes, as a locked one does).
    fn read(&mut self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let fallback = self.recorded_fallback();
        let mut first_to_answer: Option<Box<dyn CredentialStore>> = None;
        for kind in self.usable() {
            let store = match self.take_or_open(kind) {
                Ok(store) => store,
                Err(e) => {
                    self.pass_over(kind, &e)?;
                    continue;
                }
            };
            match store.get(key) {
                Ok(Some(bytes)) => {
                    self.store = Some(store);
                    return Ok(Some(bytes));
                }
                Ok(None) => {
                    first_to_answer.get_or_insert(store);
                    if fallback.is_none_or(|f| self.rank(f) <= self.rank(kind)) {
                        break;
                    }
                }
                Err(e) => self.pass_over(kind, &e)?,
            }
        }
        if first_to_answer.is_some() {
            self.store = first_to_answer;
        }
        Ok(None)
    }

    /// Writes an entry to the store in use, or the next one that takes it. `false` when no
    /// store takes it (automatic mode: said once, and the run goes on uncached).
    fn write(&mut self, key: &str, bytes: &[u8]) -> Result<bool> {
        let mut kinds = self.usable();
        if let Some(current) = self.store.as_ref().map(|s| s.kind()) {
            kinds.retain(|kind| self.rank(*kind) >= self.rank(current));
        }
        for kind in kinds {
            let store = match self.take_or_open(kind) {
                Ok(store) => store,
                Err(e) => {
                    self.pass_over(kind, &e)?;
                    continue;
                }
            };
            match store.put(key, bytes) {
                Ok(()) => {
                    self.settled(kind);
                    self.store = Some(store);
                    return Ok(true);
                }
                Err(e) => self.pass_over(kind, &e)?,
            }
        }
        if self.enabled() && !self.broken {
            let reasons: Vec<&str> = self.passed_over.iter().map(|(_, r)| r.as_str()).collect();
            eprintln!(
                "assume: no credential store works ({}); credentials are not cached",
                reasons.join("; ")
            );
            self.broken = true;
        }
        Ok(false)
    }

    /// Says once (per cache directory) that an automatic fallback happened, and why; forgets
    /// it when the first store works again.
    fn settled(&self, kind: StoreKind) {
        let Some(dir) = &self.dir else {
            return;
        };
        let marker = dir.join("fallback");
        if self.mode != Mode::Auto || self.candidates().first() == Some(&kind) {
            let _ = fs::remove_file(marker);
            return;
        }
        if self.recorded_fallback() != Some(kind) || self.verbose {
            let reasons: Vec<&str> = self.passed_over.iter().map(|(_, r)| r.as_str()).collect();
            let why = if reasons.is_empty() {
                "the preferred store failed before".to_string()
            } else {
                reasons.join("; ")
            };
            eprintln!("assume: {why}; caching in {} instead", kind.describe());
        }
        if private_dir(dir).is_ok() {
            let _ = fs::write(marker, kind.name());
        }
    }

    pub fn store_name(&self) -> &'static str {
        self.store.as_ref().map_or("none", |s| s.kind().name())
    }

    /// The credentials cached under `key` if they live longer than `min_ttl`. A corrupt or
    /// foreign entry is a miss, with a warning.
    pub fn get(&mut self, key: &str, min_ttl: Duration) -> Result<Option<Credentials>> {
        self.lookup(key, min_ttl, true)
    }

    /// [`Cache::get`] again after taking the refresh lock: another process may have refreshed.
    pub fn recheck(&mut self, key: &str, min_ttl: Duration) -> Result<Option<Credentials>> {
        self.lookup(key, min_ttl, false)
    }

    fn lookup(
        &mut self,
        key: &str,
        min_ttl: Duration,
        announce: bool,
    ) -> Result<Option<Credentials>> {
        let Some(bytes) = self.read(key)? else {
            if announce {
                self.say(&format!("cache miss ({})", self.store_name()));
            }
            return Ok(None);
        };
        let stored: Stored = match serde_json::from_slice(&bytes) {
            Ok(
                stored @ Stored {
                    version: ENTRY_VERSION,
                    ..
                },
            ) => stored,
            Ok(_) | Err(_) => {
                if !announce {
                    return Ok(None); // said on the first lookup of this run
                }
                eprintln!(
                    "assume: ignoring an unreadable cache entry in {} (it will be replaced)",
                    self.store
                        .as_ref()
                        .map_or("the cache", |s| s.kind().describe())
                );
                return Ok(None);
            }
        };
        let now = unix_now();
        let left = stored.expires_at.saturating_sub(now);
        if left <= min_ttl.as_secs() {
            if announce {
                self.say(&format!(
                    "cache entry ({}) has {left}s left, not more than the minimum {}s: refreshing",
                    self.store_name(),
                    min_ttl.as_secs()
                ));
            }
            return Ok(None);
        }
        self.say(&format!("cache hit ({}), {left}s left", self.store_name()));
        Ok(Some(Credentials::new(
            stored.access_key_id,
            stored.secret_access_key.as_str(),
            stored.session_token.as_ref().map(|t| t.to_string()),
            Some(UNIX_EPOCH + Duration::from_secs(stored.expires_at)),
            "assume-cache",
        )))
    }

    /// Stores `credentials` (which must expire) under `key`, and records it in the index.
    pub fn put(
        &mut self,
        key: &str,
        kind: EntryKind,
        profile: &str,
        credentials: &Credentials,
    ) -> Result<()> {
        let Some(expiry) = credentials.expiry() else {
            return Ok(());
        };
        let stored = Stored {
            version: ENTRY_VERSION,
            kind,
            profile: profile.to_string(),
            access_key_id: credentials.access_key_id().to_string(),
            secret_access_key: Zeroizing::new(credentials.secret_access_key().to_string()),
            session_token: credentials
                .session_token()
                .map(|t| Zeroizing::new(t.to_string())),
            expires_at: unix_seconds(expiry),
        };
        let bytes = Zeroizing::new(
            serde_json::to_vec(&stored)
                .map_err(|e| Error::Internal(format!("cannot encode a cache entry: {e}")))?,
        );
        if self.write(key, &bytes)? {
            self.say(&format!("cached in {}", self.store_name()));
            let store = self.store_name().to_string();
            self.update_index(|index| {
                index.insert(
                    key.to_string(),
                    IndexEntry {
                        profile: profile.to_string(),
                        kind,
                        store,
                        expires_at: stored.expires_at,
                    },
                );
            });
        }
        Ok(())
    }

    /// Removes `keys` from every store that can be opened (so from whichever holds them)
    /// and from the index; with `everything`, also every entry a store can list. Returns how
    /// many entries were found and removed.
    pub fn forget(&mut self, keys: &[String], everything: bool) -> usize {
        let mut removed = 0;
        for kind in self.candidates() {
            let Ok(store) = self.open(kind) else {
                continue;
            };
            let mut keys = keys.to_vec();
            if everything {
                keys.extend(store.keys());
                keys.sort();
                keys.dedup();
            }
            for key in &keys {
                if matches!(store.get(key), Ok(Some(_))) && store.delete(key).is_ok() {
                    removed += 1;
                }
            }
        }
        self.update_index(|index| {
            if everything {
                index.clear();
            }
            for key in keys {
                index.remove(key);
            }
        });
        removed
    }

    fn index_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join("index.json"))
    }

    /// What is cached, by key. Entries there may have expired or been removed by hand.
    pub fn index(&self) -> BTreeMap<String, IndexEntry> {
        self.index_path()
            .and_then(|path| fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn update_index(&self, change: impl FnOnce(&mut BTreeMap<String, IndexEntry>)) {
        let (Some(dir), Some(path)) = (&self.dir, self.index_path()) else {
            return;
        };
        if private_dir(dir).is_err() {
            return;
        }
        let _lock = self.lock("index");
        let mut index = self.index();
        let now = unix_now();
        index.retain(|_, entry| entry.expires_at > now);
        change(&mut index);
        if let Ok(bytes) = serde_json::to_vec_pretty(&index)
            && let Ok(mut temp) = tempfile::NamedTempFile::new_in(dir)
        {
            use std::io::Write;
            if temp.write_all(&bytes).is_ok() {
                let _ = temp.persist(path);
            }
        }
    }

    /// Takes the refresh lock for `key`, waiting for another process that holds it. Without a
    /// usable cache directory there is no lock (and no single flight), which is said under -v.
    pub fn lock(&self, key: &str) -> Lock {
        let Some(dir) = &self.dir else {
            return Lock { _file: None };
        };
        let locks = dir.join("locks");
        let file = private_dir(&locks).ok().and_then(|()| {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(locks.join(format!("{key}.lock")))
                .ok()
        });
        let Some(file) = file else {
            self.say("cache: cannot create a lock file; concurrent refreshes are not merged");
            return Lock { _file: None };
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                self.say("another assume is refreshing these credentials; waiting for it");
                if file.lock().is_err() {
                    return Lock { _file: None };
                }
            }
            Err(std::fs::TryLockError::Error(_)) => return Lock { _file: None },
        }
        Lock { _file: Some(file) }
    }
}

fn cache_error(kind: StoreKind, error: &StoreError) -> Error {
    Error::Cache(format!(
        "ASSUME_CACHE={} but {} cannot be used: {error}; pick another store or unset ASSUME_CACHE",
        kind.name(),
        kind.describe()
    ))
}

/// A stable key from the parts that shape an entry: a short hash, so no input (an access key
/// id, a role name) is readable from the key itself.
pub fn key(prefix: &str, parts: &impl Serialize) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(parts).unwrap_or_default();
    let digest = Sha256::digest(&json);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}
