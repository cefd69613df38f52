//! The credential cache: entries in the first store that answers (or the one `ASSUME_CACHE`
//! names), an index of what is cached (no secrets) for `list` and `clear`, and one OS file
//! lock per entry so that concurrent refreshes of one chain make one STS call. The cache
//! directory is used only while it is this user's alone (see [`dir`]), and an entry only while
//! the clock can be trusted to say it is still good.

pub mod dir;
mod store;

use std::cell::{Cell, OnceCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use dir::Dir;
pub use store::{CredentialStore, FileStore, KernelStore, KeyringStore, StoreError, StoreKind};

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
        keyring_copy(env)?;
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

/// `ASSUME_KEYRING_COPY`: whether OS keyring entries get a kernel copy (default yes).
fn keyring_copy(env: &Env) -> Result<bool> {
    match env.get("ASSUME_KEYRING_COPY").as_deref() {
        None | Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(Error::Usage(format!(
            "ASSUME_KEYRING_COPY={other} is not a switch: use 1 or 0"
        ))),
    }
}

/// Whether an entry holds a role's credentials or an MFA (GetSessionToken) session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    Role,
    MfaSession,
}

/// A cached entry as stored: the credentials, their absolute expiration, and when it was
/// written.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    kind: EntryKind,
    profile: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    /// Seconds since the Unix epoch, as STS said.
    expires_at: u64,
    /// Seconds since the Unix epoch by this machine's clock when the entry was written. A clock
    /// that reads earlier was set back since, and cannot say how much is really left: a miss.
    /// Missing in entries of older versions, which are then a miss too.
    #[serde(default)]
    written_at: Option<u64>,
}

const ENTRY_VERSION: u32 = 1;

impl Stored {
    /// An entry of this version, or `None`.
    fn parse(bytes: &[u8]) -> Option<Stored> {
        serde_json::from_slice::<Stored>(bytes)
            .ok()
            .filter(|stored| stored.version == ENTRY_VERSION)
    }

    /// What the clock says of this entry now.
    fn age(&self, min_ttl: Duration) -> Age {
        age(self.expires_at, self.written_at, clock(), min_ttl.as_secs())
    }

    fn into_credentials(self) -> Credentials {
        Credentials::new(
            self.access_key_id,
            self.secret_access_key.as_str(),
            self.session_token.as_ref().map(|t| t.to_string()),
            Some(UNIX_EPOCH + Duration::from_secs(self.expires_at)),
            "assume-cache",
        )
    }
}

/// What the index records of one entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexEntry {
    pub profile: String,
    pub kind: EntryKind,
    pub store: StoreKind,
    pub expires_at: u64,
}

/// Seconds since the Unix epoch by the system clock; `None` when it reads before 1970, when
/// no cache entry can be judged.
pub fn clock() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// [`clock`], 0 before 1970: for showing times, never for judging an entry.
pub fn unix_now() -> u64 {
    clock().unwrap_or_default()
}

/// What the clock says of an entry that expires at `expires_at` and was written at
/// `written_at`, when it is `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Lives longer than the minimum: reused. The seconds left.
    Fresh(u64),
    /// Lives no longer than the minimum: refreshed. The seconds left.
    TooShort(u64),
    /// The clock reads before 1970: it cannot tell what is left.
    NoClock,
    /// Written this many seconds "after now": the clock was set back since, so what is left
    /// by it may be more than what is really left.
    WrittenLater(u64),
    /// Written by an older `assume`, which did not record when.
    Undated,
}

fn age(expires_at: u64, written_at: Option<u64>, now: Option<u64>, min_ttl: u64) -> Age {
    let Some(now) = now else {
        return Age::NoClock;
    };
    let Some(written_at) = written_at else {
        return Age::Undated;
    };
    if now < written_at {
        return Age::WrittenLater(written_at - now);
    }
    let left = expires_at.saturating_sub(now);
    if left <= min_ttl {
        Age::TooShort(left)
    } else {
        Age::Fresh(left)
    }
}

pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Creates `dir` (and the missing parents) with mode 0700, or checks the one there: it must
/// be this user's alone, not a link (it is then made 0700 if others could read it).
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    Dir::open(dir, true).map(drop)
}

/// The most of the index that is read.
const MAX_INDEX: u64 = 1024 * 1024;
/// The most of the fallback marker that is read.
const MAX_MARKER: u64 = 64;

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

/// An entry's bytes, or why they cannot be read (a miss that is said, like a corrupt entry).
type Found = std::result::Result<Zeroizing<Vec<u8>>, String>;

pub struct Cache {
    mode: Mode,
    dir: Option<PathBuf>,
    /// The store in use once one answered; `None` before the first access or with no cache.
    store: Option<Box<dyn CredentialStore>>,
    /// Stores passed over in this run, and why (for the fallback notice).
    passed_over: Vec<(StoreKind, String)>,
    /// Set when no store works at all (automatic mode): the cache is then off for this run.
    broken: bool,
    /// Set once a refusal of the cache directory was said (once per run is enough).
    refusal_said: Cell<bool>,
    /// Whether OS keyring entries have a read-through copy in the kernel keyring.
    copies: bool,
    /// That copy's store, opened on first use (`None` inside when it cannot be).
    copy: OnceCell<Option<KernelStore>>,
}

/// The service name of the kernel keyring's copies of OS keyring entries.
const COPY_SERVICE: &str = "assume-copy";

impl Cache {
    pub fn new(mode: Mode, env: &Env) -> Cache {
        Cache {
            mode,
            dir: cache_dir(env),
            store: None,
            passed_over: Vec::new(),
            broken: false,
            refusal_said: Cell::new(false),
            copies: keyring_copy(env).unwrap_or(true),
            copy: OnceCell::new(),
        }
    }

    /// The kernel keyring that holds copies of OS keyring entries, when they are kept.
    fn copy(&self) -> Option<&KernelStore> {
        if !self.copies {
            return None;
        }
        self.copy_store()
    }

    /// The copies' store, when the OS keyring is one of the stores, whether or not copies
    /// are kept in this run (`clear` removes them either way).
    fn copy_store(&self) -> Option<&KernelStore> {
        if !cfg!(target_os = "linux")
            || !matches!(self.mode, Mode::Auto | Mode::Only(StoreKind::Keyring))
        {
            return None;
        }
        self.copy
            .get_or_init(|| match KernelStore::session(COPY_SERVICE) {
                Ok(store) => Some(store),
                Err(e) => {
                    crate::verbose!("cache: no kernel copy of the keyring ({e})");
                    None
                }
            })
            .as_ref()
    }

    /// The kernel's copy of the entry under `key`, when there is one that lives longer than
    /// `min_ttl`: a hit that opens no D-Bus session. Anything else is no answer, and the OS
    /// keyring is asked as before.
    fn copy_hit(&self, key: &str, min_ttl: Duration) -> Option<Credentials> {
        let bytes = self.copy()?.get(key).ok()??;
        let stored = Stored::parse(&bytes)?;
        let Age::Fresh(left) = stored.age(min_ttl) else {
            return None;
        };
        // Only while the index still lists this very entry in the keyring: `clear` (from any
        // session) and every refresh change the index, so a copy they left behind in some
        // session keyring answers nothing.
        if !self.listed(key, stored.expires_at) {
            crate::verbose!("cache: the kernel copy is not the indexed entry; asking the keyring");
            return None;
        }
        crate::verbose!("cache hit (keyring, its kernel copy), {left}s left");
        Some(stored.into_credentials())
    }

    /// Whether the index lists the OS keyring entry under `key`, expiring at `expires_at`.
    fn listed(&self, key: &str, expires_at: u64) -> bool {
        self.index().get(key).is_some_and(|entry| {
            entry.store == StoreKind::Keyring && entry.expires_at == expires_at
        })
    }

    /// Keeps (or renews) the kernel's copy of an OS keyring entry, which the kernel drops when
    /// the credentials expire.
    fn keep_copy(&self, key: &str, bytes: &[u8], expires_at: u64) {
        let (Some(copy), Some(now)) = (self.copy(), clock()) else {
            return;
        };
        if expires_at <= now {
            return;
        }
        if !copy.has_room_for(bytes.len() + key.len() + COPY_SERVICE.len()) {
            crate::verbose!("cache: no kernel copy kept (it would take over half the key quota)");
            return;
        }
        match copy.put(key, bytes, Some(Duration::from_secs(expires_at - now))) {
            Ok(()) => crate::verbose!("kept a copy in the kernel keyring until it expires"),
            Err(e) => crate::verbose!("cache: no kernel copy kept ({e})"),
        }
    }

    pub fn enabled(&self) -> bool {
        self.mode != Mode::None
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
            StoreKind::Keyutils => Box::new(KernelStore::session(store::SERVICE)?),
            StoreKind::File => {
                let dir = self.dir.as_deref().ok_or_else(|| {
                    StoreError::Unavailable("no cache directory (set XDG_CACHE_HOME)".into())
                })?;
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

    /// A store that failed: an error when forced, else noted and skipped from now on. A cache
    /// directory that is not this user's alone is an error when the file store is forced or
    /// is the only one left: it says what to do, and nothing is cached until that is done.
    fn pass_over(&mut self, kind: StoreKind, error: &StoreError) -> Result<()> {
        if let StoreError::Unsafe(why) = error
            && (self.mode != Mode::Auto || self.usable() == [kind])
        {
            self.refusal_said.set(true);
            return Err(Error::Cache(why.clone()));
        }
        if self.mode != Mode::Auto {
            return Err(cache_error(kind, error));
        }
        crate::verbose!("cache: {} unavailable: {error}", kind.describe());
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

    /// The cache directory, opened and checked afresh; `None` when there is none (yet).
    fn cache_dir(&self, create: bool) -> Result<Option<Dir>, StoreError> {
        match &self.dir {
            Some(path) => Dir::open(path, create),
            None => Ok(None),
        }
    }

    /// A directory for the locks, the index or the fallback marker, or `None` (a refusal of
    /// the cache directory said once on stderr: it costs the lock and the index).
    fn trusted<T>(&self, dir: Result<Option<T>, StoreError>) -> Option<T> {
        match dir {
            Ok(dir) => dir,
            Err(StoreError::Unsafe(why)) => {
                if !self.refusal_said.replace(true) {
                    crate::say!("{why}");
                }
                None
            }
            Err(e) => {
                crate::verbose!("cache: {e}");
                None
            }
        }
    }

    /// The store an earlier automatic fallback settled on, as recorded in the cache directory
    /// (not when the directory cannot be trusted: a planted marker could lead anywhere).
    fn recorded_fallback(&self) -> Option<StoreKind> {
        let dir = self.cache_dir(false).ok()??;
        let text = dir.read("fallback", MAX_MARKER).ok()??;
        let text = String::from_utf8_lossy(&text);
        [StoreKind::Keyutils, StoreKind::File]
            .into_iter()
            .find(|kind| kind.name() == text.trim())
    }

    /// The raw entry under `key` (or why it cannot be read). Stores are asked in order; the
    /// first that answers is where new entries go. A later store is asked too when an earlier
    /// run fell back to it (a keyring that answers lookups but refuses writes, as a locked one
    /// does).
    fn read(&mut self, key: &str) -> Result<Option<Found>> {
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
                    return Ok(Some(Ok(bytes)));
                }
                Err(StoreError::BadEntry(why)) => {
                    self.store = Some(store);
                    return Ok(Some(Err(why)));
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
    fn write(&mut self, key: &str, bytes: &[u8], lifetime: Duration) -> Result<bool> {
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
            match store.put(key, bytes, Some(lifetime)) {
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
            crate::say!(
                "no credential store works ({}); credentials are not cached",
                reasons.join("; ")
            );
            self.broken = true;
        }
        Ok(false)
    }

    /// Says once (per cache directory) that an automatic fallback happened, and why; forgets
    /// it when the first store works again.
    fn settled(&self, kind: StoreKind) {
        if self.mode != Mode::Auto || self.candidates().first() == Some(&kind) {
            if let Some(dir) = self.trusted(self.cache_dir(false)) {
                let _ = dir.remove("fallback");
            }
            return;
        }
        if self.recorded_fallback() != Some(kind) || crate::message::verbose() {
            let reasons: Vec<&str> = self.passed_over.iter().map(|(_, r)| r.as_str()).collect();
            let why = if reasons.is_empty() {
                "the preferred store failed before".to_string()
            } else {
                reasons.join("; ")
            };
            crate::say!("{why}; caching in {} instead", kind.describe());
        }
        if let Some(dir) = self.trusted(self.cache_dir(true))
            && let Some(staging) = self.trusted(dir.subdir("staging", true))
        {
            let _ = dir.write("fallback", kind.name().as_bytes(), &staging);
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
        if let Some(credentials) = self.copy_hit(key, min_ttl) {
            return Ok(Some(credentials));
        }
        let Some(found) = self.read(key)? else {
            if announce {
                crate::verbose!("cache miss ({})", self.store_name());
            }
            return Ok(None);
        };
        let parsed = match &found {
            Ok(bytes) => Stored::parse(bytes).ok_or(None),
            Err(why) => Err(Some(why.as_str())),
        };
        let stored = match parsed {
            Ok(stored) => stored,
            Err(why) => {
                if !announce {
                    return Ok(None); // said on the first lookup of this run
                }
                crate::say!(
                    "ignoring an unreadable cache entry in {} ({}it will be replaced)",
                    self.store
                        .as_ref()
                        .map_or("the cache", |s| s.kind().describe()),
                    why.map(|why| format!("{why}; ")).unwrap_or_default()
                );
                return Ok(None);
            }
        };
        let store = self.store_name();
        let miss = match stored.age(min_ttl) {
            Age::Fresh(left) => {
                crate::verbose!("cache hit ({store}), {left}s left");
                None
            }
            Age::TooShort(left) => Some(format!(
                "cache entry ({store}) has {left}s left, not more than the minimum {}s: refreshing",
                min_ttl.as_secs()
            )),
            Age::NoClock => Some(format!(
                "the system clock reads before 1970, so no cache entry ({store}) can be judged: \
                 refreshing"
            )),
            Age::WrittenLater(by) => Some(format!(
                "cache entry ({store}) written {by}s later than the clock reads now (the clock \
                 was set back): refreshing"
            )),
            Age::Undated => Some(format!(
                "cache entry ({store}) from an older assume, with no time written: refreshing"
            )),
        };
        if let Some(why) = miss {
            if announce {
                crate::verbose!("{why}");
            }
            return Ok(None);
        }
        if let Ok(bytes) = &found
            && self.store.as_ref().map(|s| s.kind()) == Some(StoreKind::Keyring)
            && self.copy().is_some()
            && self.listed(key, stored.expires_at)
        {
            self.keep_copy(key, bytes, stored.expires_at);
        }
        Ok(Some(stored.into_credentials()))
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
        let Some(now) = clock() else {
            crate::verbose!("cache: the system clock reads before 1970; not caching");
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
            written_at: Some(now),
        };
        let bytes = Zeroizing::new(
            serde_json::to_vec(&stored)
                .map_err(|e| Error::Internal(format!("cannot encode a cache entry: {e}")))?,
        );
        let lifetime = Duration::from_secs(stored.expires_at.saturating_sub(now));
        if self.write(key, &bytes, lifetime)?
            && let Some(store) = self.store.as_ref().map(|s| s.kind())
        {
            crate::verbose!("cached in {}", store.name());
            if store == StoreKind::Keyring {
                self.keep_copy(key, &bytes, stored.expires_at);
            }
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
    /// and from the index; with `everything`, also every entry a store can list, and whatever
    /// killed writers left in `staging/`. Returns how many entries were found and removed. A
    /// cache directory that is not this user's alone is an error when the file store is forced,
    /// and said otherwise.
    pub fn forget(&mut self, keys: &[String], everything: bool) -> Result<usize> {
        let mut stores = Vec::new();
        for kind in self.candidates() {
            match self.open(kind) {
                Ok(store) => stores.push(store),
                Err(StoreError::Unsafe(why)) if self.mode != Mode::Auto => {
                    return Err(Error::Cache(why));
                }
                Err(e @ StoreError::Unsafe(_)) => {
                    self.trusted::<()>(Err(e));
                }
                Err(_) => {}
            }
        }
        let mut removed = 0;
        let mut found = std::collections::BTreeSet::new();
        for store in &stores {
            removed += remove_from(store.as_ref(), keys, everything, &mut found);
        }
        // The kernel's copies of OS keyring entries go too; one whose entry was already gone
        // counts as an entry.
        if let Some(copy) = self.copy_store() {
            let before = found.len();
            remove_from(copy, keys, everything, &mut found);
            removed += found.len() - before;
        }
        if everything
            && let Some(dir) = self.trusted(self.cache_dir(false))
            && let Some(staging) = self.trusted(dir.subdir("staging", false))
        {
            staging.sweep(None);
        }
        self.update_index(|index| {
            if everything {
                index.clear();
            }
            for key in keys {
                index.remove(key);
            }
        });
        Ok(removed)
    }

    /// What is cached, by key. Entries there may have expired or been removed by hand.
    pub fn index(&self) -> BTreeMap<String, IndexEntry> {
        self.trusted(self.cache_dir(false))
            .and_then(|dir| dir.read("index.json", MAX_INDEX).ok().flatten())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn update_index(&self, change: impl FnOnce(&mut BTreeMap<String, IndexEntry>)) {
        let Some(dir) = self.trusted(self.cache_dir(true)) else {
            return;
        };
        let _lock = self.lock("index");
        let mut index = self.index();
        if let Some(now) = clock() {
            index.retain(|_, entry| entry.expires_at > now);
        }
        change(&mut index);
        if let Ok(bytes) = serde_json::to_vec_pretty(&index)
            && let Some(staging) = self.trusted(dir.subdir("staging", true))
        {
            let _ = dir.write("index.json", &bytes, &staging);
        }
    }

    /// Takes the refresh lock for `key`, waiting for another process that holds it. Without a
    /// usable cache directory there is no lock (and no single flight), which is said under -v
    /// (and always when the directory is refused).
    pub fn lock(&self, key: &str) -> Lock {
        let file = self
            .trusted(self.cache_dir(true))
            .and_then(|dir| self.trusted(dir.subdir("locks", true)))
            .map(|locks| locks.lock_file(&format!("{key}.lock")));
        let file = match file {
            Some(Ok(file)) => file,
            Some(Err(e)) => {
                crate::verbose!(
                    "cache: cannot create a lock file ({e}); concurrent refreshes are not merged"
                );
                return Lock { _file: None };
            }
            None => {
                crate::verbose!("cache: no lock directory; concurrent refreshes are not merged");
                return Lock { _file: None };
            }
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                crate::verbose!("another assume is refreshing these credentials; waiting for it");
                if file.lock().is_err() {
                    return Lock { _file: None };
                }
            }
            Err(std::fs::TryLockError::Error(_)) => return Lock { _file: None },
        }
        Lock { _file: Some(file) }
    }
}

/// Removes `keys` (with `everything`, also every key the store lists) from `store`; each key
/// removed is added to `found`. Returns how many were removed.
fn remove_from(
    store: &dyn CredentialStore,
    keys: &[String],
    everything: bool,
    found: &mut std::collections::BTreeSet<String>,
) -> usize {
    let mut keys = keys.to_vec();
    if everything {
        keys.extend(store.keys());
        keys.sort();
        keys.dedup();
    }
    let mut removed = 0;
    for key in keys {
        // An entry that cannot be read (a link, a FIFO …) goes too.
        if matches!(store.get(&key), Ok(Some(_)) | Err(StoreError::BadEntry(_)))
            && store.delete(&key).is_ok()
        {
            removed += 1;
            found.insert(key);
        }
    }
    removed
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;
    /// 2026-12-02, when these were written.
    const T: u64 = 1_796_000_000;

    #[test]
    fn an_entry_lives_until_its_minimum() {
        let written = Some(T);
        assert_eq!(age(T + HOUR, written, Some(T), 300), Age::Fresh(HOUR));
        assert_eq!(
            age(T + HOUR, written, Some(T + HOUR - 301), 300),
            Age::Fresh(301)
        );
        assert_eq!(
            age(T + HOUR, written, Some(T + HOUR - 300), 300),
            Age::TooShort(300)
        );
        assert_eq!(
            age(T + HOUR, written, Some(T + 2 * HOUR), 300),
            Age::TooShort(0)
        );
    }

    #[test]
    fn a_clock_before_1970_judges_nothing() {
        assert_eq!(age(T + HOUR, Some(T), None, 300), Age::NoClock);
    }

    #[test]
    fn a_clock_set_back_since_the_write_is_a_miss() {
        // Written at T; the clock now reads an hour earlier. By it, two hours would be left of
        // an entry that really has at most one.
        assert_eq!(
            age(T + HOUR, Some(T), Some(T - HOUR), 300),
            Age::WrittenLater(HOUR)
        );
        assert_eq!(
            age(T + HOUR, Some(T), Some(T - 1), 300),
            Age::WrittenLater(1)
        );
        // Read in the second it was written: fine.
        assert_eq!(age(T + HOUR, Some(T), Some(T), 300), Age::Fresh(HOUR));
    }

    #[test]
    fn an_entry_without_a_write_time_is_a_miss() {
        assert_eq!(age(T + HOUR, None, Some(T), 300), Age::Undated);
    }
}
