//! Where cached credentials live: the OS keyring (Secret Service, Keychain, Credential
//! Manager), the Linux kernel keyring (keyutils), or 0600 files. One trait, three stores.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

/// Every store is addressed by this service name and the entry's key.
pub const SERVICE: &str = "assume";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A store that cannot be used right now (no D-Bus, locked, denied, unwritable …).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

pub trait CredentialStore {
    fn kind(&self) -> StoreKind;
    /// The entry under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError>;
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes the entry; a missing one is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key of `assume`'s in this store, where the store can list them (keyutils can't).
    fn keys(&self) -> Vec<String>;
}

/// A keyring-core store: Secret Service, Keychain, Credential Manager or keyutils.
pub struct KeyringStore {
    kind: StoreKind,
    store: Arc<keyring_core::CredentialStore>,
}

fn keyring_error(error: keyring_core::Error) -> StoreError {
    StoreError(match error {
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
            zbus_secret_service_keyring_store::Store::new()
                .map_err(|e| StoreError(format!("no Secret Service ({})", keyring_error(e))))?;
        #[cfg(not(any(
            target_os = "macos",
            target_os = "windows",
            all(
                unix,
                not(any(target_os = "macos", target_os = "ios", target_os = "android"))
            )
        )))]
        return Err(StoreError("no OS keyring on this platform".into()));
        #[allow(unreachable_code)]
        Ok(KeyringStore {
            kind: StoreKind::Keyring,
            store,
        })
    }

    /// The Linux kernel keyring, in the session keyring.
    pub fn keyutils() -> Result<Self, StoreError> {
        #[cfg(target_os = "linux")]
        {
            let store: Arc<keyring_core::CredentialStore> =
                linux_keyutils_keyring_store::Store::new().map_err(keyring_error)?;
            Ok(KeyringStore {
                kind: StoreKind::Keyutils,
                store,
            })
        }
        #[cfg(not(target_os = "linux"))]
        Err(StoreError("keyutils exists only on Linux".into()))
    }

    fn entry(&self, key: &str) -> Result<keyring_core::Entry, StoreError> {
        self.store.build(SERVICE, key, None).map_err(keyring_error)
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

    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entry(key)?.set_secret(value).map_err(keyring_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn keys(&self) -> Vec<String> {
        let spec = std::collections::HashMap::from([("service", SERVICE)]);
        self.store
            .search(&spec)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| entry.get_attributes().ok()?.remove("username"))
            .collect()
    }
}

/// One file per entry in a 0700 directory, each 0600 and written atomically.
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(cache_dir: &Path) -> Result<Self, StoreError> {
        let dir = cache_dir.join("entries");
        super::private_dir(&dir)?;
        Ok(FileStore { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

impl CredentialStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        match fs::read(self.path(key)) {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError(format!(
                "cannot read {}: {e}",
                self.path(key).display()
            ))),
        }
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        let fail = |e: std::io::Error| StoreError(format!("cannot write {}: {e}", path.display()));
        // Written beside `entries/`, not in it, so that `entries/` only ever holds whole
        // entries, even when a writer is killed mid-write.
        let staging = self.dir.with_file_name("staging");
        super::private_dir(&staging).map_err(|e| StoreError(e.0))?;
        let mut temp = tempfile::NamedTempFile::new_in(&staging).map_err(fail)?;
        // NamedTempFile is created 0600; the rename keeps that mode.
        temp.write_all(value).map_err(fail)?;
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(())
    }

    fn keys(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| {
                        let name = entry.ok()?.file_name().into_string().ok()?;
                        name.strip_suffix(".json").map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError(format!(
                "cannot remove {}: {e}",
                self.path(key).display()
            ))),
        }
    }
}
