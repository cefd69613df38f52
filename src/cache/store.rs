//! Where cached credentials live: the OS keyring (Secret Service, Keychain, Credential
//! Manager), the Linux kernel keyring (keyutils), or 0600 files. One trait, three stores.
//! The kernel keyring also holds the read-through copies of OS keyring entries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::dir::{Dir, ReadError};

/// Every store is addressed by this service name and the entry's key.
pub const SERVICE: &str = "assume";

/// Where an entry is kept; serialized by its [`name`](StoreKind::name) (`index.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    Keyutils,
    File,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::Keyutils => "keyutils",
            StoreKind::File => "file",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            StoreKind::Keyring => "the OS keyring",
            StoreKind::Keyutils => "the kernel keyring (keyutils)",
            StoreKind::File => "0600 files",
        }
    }
}

/// Why a store, or one entry in it, cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Not right now: no D-Bus, locked, denied, unwritable …
    #[error("{0}")]
    Unavailable(String),
    /// The cache directory is not this user's alone; the message says what to do.
    #[error("{0}")]
    Unsafe(String),
    /// The store works but this entry cannot be read (not a regular file, too big …): like a
    /// corrupt entry, a miss that the refresh replaces.
    #[error("{0}")]
    BadEntry(String),
}

/// The most of one entry that is read: a real one is well under 4 KiB.
const MAX_ENTRY: u64 = 64 * 1024;

pub trait CredentialStore {
    fn kind(&self) -> StoreKind;
    /// The entry under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError>;
    /// Stores `value` under `key`; a store that can drop it by itself does so after
    /// `lifetime` (the credentials' expiry), others keep it until replaced or removed.
    fn put(&self, key: &str, value: &[u8], lifetime: Option<Duration>) -> Result<(), StoreError>;
    /// Removes the entry; a missing one is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key of `assume`'s in this store, where the store can list them (keyutils can't).
    fn keys(&self) -> Vec<String>;
}

/// A keyring-core store: Secret Service, Keychain, Credential Manager or keyutils.
pub struct KeyringStore {
    kind: StoreKind,
    store: Arc<keyring_core::CredentialStore>,
    /// The service name its entries are under: [`SERVICE`] unless [`Self::service`] says.
    service: &'static str,
}

fn keyring_error(error: keyring_core::Error) -> StoreError {
    StoreError::Unavailable(match error {
        keyring_core::Error::NoStorageAccess(e) => format!("no access to the keyring ({e})"),
        keyring_core::Error::PlatformFailure(e) => e.to_string(),
        other => other.to_string(),
    })
}

impl KeyringStore {
    /// The platform's own keyring.
    pub fn os() -> Result<Self, StoreError> {
        #[cfg(target_os = "macos")]
        let store: Arc<keyring_core::CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(keyring_error)?;
        #[cfg(target_os = "windows")]
        let store: Arc<keyring_core::CredentialStore> =
            windows_native_keyring_store::Store::new().map_err(keyring_error)?;
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        let store: Arc<keyring_core::CredentialStore> =
            zbus_secret_service_keyring_store::Store::new().map_err(|e| {
                StoreError::Unavailable(format!("no Secret Service ({})", keyring_error(e)))
            })?;
        #[cfg(not(any(
            target_os = "macos",
            target_os = "windows",
            all(
                unix,
                not(any(target_os = "macos", target_os = "ios", target_os = "android"))
            )
        )))]
        return Err(StoreError::Unavailable(
            "no OS keyring on this platform".into(),
        ));
        #[allow(unreachable_code)]
        Ok(KeyringStore {
            kind: StoreKind::Keyring,
            store,
            service: SERVICE,
        })
    }

    /// The same store, its entries under another service name (the vault's long-term keys
    /// are not cache entries: `clear` never sees them).
    pub fn service(self, service: &'static str) -> Self {
        KeyringStore { service, ..self }
    }

    fn entry(&self, key: &str) -> Result<keyring_core::Entry, StoreError> {
        self.store
            .build(self.service, key, None)
            .map_err(keyring_error)
    }
}

impl CredentialStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        self.kind
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        match self.entry(key)?.get_secret() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn put(&self, key: &str, value: &[u8], _: Option<Duration>) -> Result<(), StoreError> {
        self.entry(key)?.set_secret(value).map_err(keyring_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn keys(&self) -> Vec<String> {
        let spec = std::collections::HashMap::from([("service", self.service)]);
        self.store
            .search(&spec)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| entry.get_attributes().ok()?.remove("username"))
            .collect()
    }
}

/// The Linux kernel keyring: `user` keys in the session keyring (`@s`; for a process with
/// none, the kernel's per-user session keyring), each described as `keyring:KEY@SERVICE` and
/// given a kernel timeout equal to its credentials' lifetime, so that the kernel drops it at
/// expiry, and it is gone with the session. Nothing is linked into the persistent keyring.
pub struct KernelStore {
    #[cfg(target_os = "linux")]
    ring: linux_keyutils::KeyRing,
    service: &'static str,
}

#[cfg(target_os = "linux")]
fn kernel_error(error: linux_keyutils::KeyError) -> StoreError {
    StoreError::Unavailable(format!("the kernel keyring refused: {error:?}"))
}

impl KernelStore {
    /// The session keyring, its entries under `service`.
    pub fn session(service: &'static str) -> Result<Self, StoreError> {
        #[cfg(target_os = "linux")]
        {
            use linux_keyutils::{KeyRing, KeyRingIdentifier};
            let ring = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
                .map_err(kernel_error)?;
            // A revoked keyring still has an id: it is refused here, before any use.
            ring.metadata().map_err(kernel_error)?;
            Ok(KernelStore { ring, service })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = service;
            Err(StoreError::Unavailable(
                "keyutils exists only on Linux".into(),
            ))
        }
    }

    /// Whether `bytes` more would leave at least half of this user's kernel key quota
    /// (`/proc/key-users`: keys and bytes) to everyone else: the quota is small (200 keys,
    /// 20 000 bytes by default) and shared with the user's other programs (Kerberos caches,
    /// for one). An unreadable quota is room: the kernel still refuses what does not fit.
    pub fn has_room_for(&self, bytes: usize) -> bool {
        #[cfg(target_os = "linux")]
        {
            let uid = rustix::process::getuid().as_raw();
            let Ok(text) = std::fs::read_to_string("/proc/key-users") else {
                return true;
            };
            let Some(fields) = text.lines().find_map(|line| {
                let (owner, rest) = line.trim_start().split_once(':')?;
                (owner.parse::<u32>().ok()? == uid)
                    .then(|| rest.split_whitespace().collect::<Vec<_>>())
            }) else {
                return true;
            };
            // usage, nkeys/nikeys, qnkeys/maxkeys, qnbytes/maxbytes
            let used_of = |field: Option<&&str>| -> Option<(usize, usize)> {
                let (used, max) = field?.split_once('/')?;
                Some((used.parse().ok()?, max.parse().ok()?))
            };
            match (used_of(fields.get(2)), used_of(fields.get(3))) {
                (Some((keys, max_keys)), Some((used, max_bytes))) => {
                    keys < max_keys / 2 && used + bytes <= max_bytes / 2
                }
                _ => true,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = bytes;
            false
        }
    }

    #[cfg(target_os = "linux")]
    fn description(&self, key: &str) -> String {
        format!("keyring:{key}@{}", self.service)
    }

    /// The key under `key`, searched in the session keyring and the keyrings linked to it.
    #[cfg(target_os = "linux")]
    fn find(&self, key: &str) -> Result<Option<linux_keyutils::Key>, StoreError> {
        use linux_keyutils::KeyError;
        match self.ring.search(&self.description(key)) {
            Ok(found) => Ok(Some(found)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired) => Ok(None),
            // Also what a key invalidated a moment ago (`clear`) gives until the kernel has
            // collected it; a revoked keyring (which no longer describes itself) is an error.
            Err(KeyError::KeyRevoked) if self.ring.metadata().is_ok() => Ok(None),
            Err(e) => Err(kernel_error(e)),
        }
    }
}

#[cfg(target_os = "linux")]
impl CredentialStore for KernelStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyutils
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        use linux_keyutils::KeyError;
        let Some(found) = self.find(key)? else {
            return Ok(None);
        };
        match found.read_to_vec() {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            // Expired or removed between the search and the read.
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(kernel_error(e)),
        }
    }

    fn put(&self, key: &str, value: &[u8], lifetime: Option<Duration>) -> Result<(), StoreError> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        // Made in this thread's own keyring and given its timeout there, then linked into the
        // session keyring (which displaces an older key of that description): a process killed
        // halfway leaves no key without a timeout behind, only one that dies with the thread.
        let thread =
            KeyRing::from_special_id(KeyRingIdentifier::Thread, true).map_err(kernel_error)?;
        let added = thread
            .add_key(&self.description(key), value)
            .map_err(kernel_error)?;
        let placed = match lifetime {
            Some(lifetime) => {
                let seconds = lifetime.as_secs().max(1);
                added.set_timeout(usize::try_from(seconds).unwrap_or(usize::MAX))
            }
            None => Ok(()),
        }
        .and_then(|()| self.ring.link_key(added));
        let _ = thread.unlink_key(added);
        if let Err(e) = placed {
            let _ = added.invalidate();
            return Err(kernel_error(e));
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        // Each key found is invalidated (gone from every keyring that links it), until none
        // is left: one in the session keyring may hide an older one in a linked keyring.
        for _ in 0..8 {
            let Some(found) = self.find(key)? else {
                return Ok(());
            };
            found.invalidate().map_err(kernel_error)?;
        }
        Ok(())
    }

    /// Not listed: reading a keyring's links through linux-keyutils is unsound past the
    /// buffer it is given, and every key `assume` writes is in the index (and times out).
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(not(target_os = "linux"))]
impl CredentialStore for KernelStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyutils
    }
    fn get(&self, _: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(None)
    }
    fn put(&self, _: &str, _: &[u8], _: Option<Duration>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(
            "keyutils exists only on Linux".into(),
        ))
    }
    fn delete(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
}

/// One file per entry in `entries/` of the cache directory (0700), each 0600, written in
/// `staging/` and renamed into place. The directories are opened and checked afresh for every
/// use, so a store opened earlier in a run (the look after the refresh lock) trusts nothing
/// it saw then.
pub struct FileStore {
    cache_dir: PathBuf,
}

impl FileStore {
    pub fn new(cache_dir: &Path) -> Result<Self, StoreError> {
        let store = FileStore {
            cache_dir: cache_dir.to_path_buf(),
        };
        // Made and checked now, so that an unusable one is passed over before any STS call.
        store.dirs(true)?;
        Ok(store)
    }

    /// The cache directory and its `entries/`; `None` when missing and not `create`.
    fn dirs(&self, create: bool) -> Result<Option<(Dir, Dir)>, StoreError> {
        let Some(root) = Dir::open(&self.cache_dir, create)? else {
            return Ok(None);
        };
        let entries = root.subdir("entries", create)?;
        Ok(entries.map(|entries| (root, entries)))
    }

    fn name(key: &str) -> String {
        format!("{key}.json")
    }
}

impl CredentialStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let Some((_, entries)) = self.dirs(false)? else {
            return Ok(None);
        };
        let name = Self::name(key);
        let path = || entries.path().join(&name).display().to_string();
        match entries.read(&name, MAX_ENTRY) {
            Ok(bytes) => Ok(bytes),
            Err(ReadError::Refused(why)) => {
                Err(StoreError::BadEntry(format!("{} is {why}", path())))
            }
            Err(ReadError::Io(e)) => Err(StoreError::Unavailable(format!(
                "cannot read {}: {e}",
                path()
            ))),
        }
    }

    fn put(&self, key: &str, value: &[u8], _: Option<Duration>) -> Result<(), StoreError> {
        let missing = || StoreError::Unavailable("the cache directory vanished".into());
        let (root, entries) = self.dirs(true)?.ok_or_else(missing)?;
        // Written beside `entries/`, not in it, so that `entries/` only ever holds whole
        // entries, even when a writer is killed mid-write.
        let staging = root.subdir("staging", true)?.ok_or_else(missing)?;
        let name = Self::name(key);
        entries.write(&name, value, &staging).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot write {}: {e}",
                entries.path().join(&name).display()
            ))
        })
    }

    fn keys(&self) -> Vec<String> {
        let Ok(Some((_, entries))) = self.dirs(false) else {
            return Vec::new();
        };
        entries
            .names()
            .into_iter()
            .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
            .collect()
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let Some((_, entries)) = self.dirs(false)? else {
            return Ok(());
        };
        let name = Self::name(key);
        entries.remove(&name).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot remove {}: {e}",
                entries.path().join(&name).display()
            ))
        })
    }
}
