//! The vault: IAM users' long-term access keys, kept where no plaintext file holds them — the
//! OS keyring (service [`SERVICE`], one entry per profile) or, where there is none, one file
//! encrypted with a passphrase (`$XDG_DATA_HOME/assume/vault.age`, age's scrypt recipient).
//!
//! The index (`keys.json` beside it, no secret in it) says which profiles have keys, their
//! access key id and the store: config resolution and the cache keys read only the index, so
//! a cache hit opens no store; the secret is read when STS is to be called.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cache::dir::{Dir, ReadError};
use crate::cache::{CredentialStore, KeyringStore, StoreError};
use crate::config::Env;
use crate::error::{Class, Result};

/// The OS keyring's service name for the vault's entries (the cache's is `assume`).
pub const SERVICE: &str = "assume-keys";
/// The encrypted file store, in [`data_dir`].
pub const FILE_NAME: &str = "vault.age";
/// The index, in [`data_dir`].
pub const INDEX_NAME: &str = "keys.json";
/// Forces a store: `keyring` or `file`.
pub const STORE_VARIABLE: &str = "ASSUME_VAULT";
/// The file store's passphrase, instead of a prompt.
pub const PASSPHRASE_VARIABLE: &str = "ASSUME_VAULT_PASSPHRASE";

/// The most of the index or of the vault file that is read.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// A profile's long-term keys. Debug redacts the secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Where a profile's keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultKind {
    Keyring,
    File,
}

impl VaultKind {
    pub fn name(self) -> &'static str {
        match self {
            VaultKind::Keyring => "keyring",
            VaultKind::File => "file",
        }
    }

    /// As `explain` and messages say it: "static keys AKIA… from the keyring".
    pub fn describe(self) -> &'static str {
        match self {
            VaultKind::Keyring => "the keyring",
            VaultKind::File => "the encrypted vault file",
        }
    }
}

/// What `keys list` shows and config resolution uses: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listed {
    pub access_key_id: String,
    pub store: VaultKind,
    pub added_at: u64,
    pub rotated_at: Option<u64>,
}

/// Why the vault cannot be used. None carries a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VaultError {
    #[error("{STORE_VARIABLE}='{value}' is not a vault store: set it to keyring or file")]
    BadStore { value: String },
    #[error(
        "the vault file {path} needs its passphrase and there is no terminal to ask on: set {PASSPHRASE_VARIABLE}"
    )]
    NoPassphrase { path: String },
    #[error("could not read the vault passphrase: {0}")]
    Unreadable(String),
    #[error("the vault passphrase is empty: choose one, or set {PASSPHRASE_VARIABLE}")]
    EmptyPassphrase,
    #[error(
        "wrong passphrase for the vault file {path}: nothing was changed; check {PASSPHRASE_VARIABLE} or what you typed"
    )]
    WrongPassphrase { path: String },
    #[error(
        "the vault file {path} is corrupt ({why}): nothing was changed; restore it from a backup, or move it away and add the keys again"
    )]
    Corrupt { path: String, why: String },
    #[error("the OS keyring cannot hold the keys ({why}): unlock it, or set {STORE_VARIABLE}=file")]
    Keyring { why: String },
    #[error("the vault store cannot be used: {0}")]
    Unavailable(String),
    #[error(
        "the index says profile '{profile}' has keys in {store}, but they are not there: add them again with `assume keys add {profile}`"
    )]
    Missing {
        profile: String,
        store: &'static str,
    },
}

impl VaultError {
    /// A passphrase that is missing or wrong is an authentication failure; a bad setting a
    /// usage one; a store that cannot be used (corrupt, locked, unwritable) a cache one.
    pub fn class(&self) -> Class {
        match self {
            VaultError::BadStore { .. } => Class::Usage,
            VaultError::NoPassphrase { .. }
            | VaultError::Unreadable(_)
            | VaultError::EmptyPassphrase
            | VaultError::WrongPassphrase { .. }
            | VaultError::Missing { .. } => Class::Auth,
            VaultError::Corrupt { .. }
            | VaultError::Keyring { .. }
            | VaultError::Unavailable(_) => Class::Cache,
        }
    }
}

/// `$XDG_DATA_HOME/assume` (or the platform's data directory).
pub fn data_dir(env: &Env) -> Option<PathBuf> {
    env.get("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(dirs::data_dir)
        .map(|dir| dir.join("assume"))
}

fn store_error(error: StoreError) -> VaultError {
    VaultError::Unavailable(error.to_string())
}

/// The data directory, checked (this user's alone, 0700), made when missing and `create`.
fn open_dir(env: &Env, create: bool) -> Result<Option<Dir>, VaultError> {
    let path = data_dir(env)
        .ok_or_else(|| VaultError::Unavailable("no data directory (set XDG_DATA_HOME)".into()))?;
    Dir::open(&path, create).map_err(store_error)
}

fn read(dir: &Dir, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    dir.read(name, MAX_FILE).map_err(|e| {
        let path = dir.path().join(name).display().to_string();
        match e {
            ReadError::Refused(why) => VaultError::Corrupt { path, why },
            ReadError::Io(e) => VaultError::Unavailable(format!("cannot read {path}: {e}")),
        }
    })
}

/// Writes `name` in the data directory whole (0600, renamed into place).
fn write(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
    let staging = dir
        .subdir("staging", true)
        .map_err(store_error)?
        .ok_or_else(|| VaultError::Unavailable("the data directory vanished".into()))?;
    dir.write(name, bytes, &staging).map_err(|e| {
        VaultError::Unavailable(format!(
            "cannot write {}: {e}",
            dir.path().join(name).display()
        ))
    })
}

/// The index ($XDG_DATA_HOME/assume/keys.json, 0600 in 0700): profile → Listed. Cheap: no
/// store is opened. An index that cannot be read is empty.
pub fn index(env: &Env) -> BTreeMap<String, Listed> {
    open_dir(env, false)
        .ok()
        .flatten()
        .and_then(|dir| read(&dir, INDEX_NAME).ok().flatten())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn write_index(env: &Env, index: &BTreeMap<String, Listed>) -> Result<(), VaultError> {
    let dir = open_dir(env, true)?
        .ok_or_else(|| VaultError::Unavailable("the data directory vanished".into()))?;
    let json = serde_json::to_vec_pretty(index)
        .map_err(|e| VaultError::Unavailable(format!("cannot write the index: {e}")))?;
    write(&dir, INDEX_NAME, &json)
}

/// The encrypted file, once decrypted: every profile's keys, and the passphrase to write it
/// back with.
struct FileVault {
    passphrase: Option<Zeroizing<String>>,
    keys: BTreeMap<String, Keys>,
}

pub struct Vault {
    kind: VaultKind,
    env: Env,
    keyring: Option<KeyringStore>,
    file: Option<FileVault>,
}

impl Vault {
    /// ASSUME_VAULT=keyring|file forces one; else the OS keyring when it answers, else the file.
    pub fn open(env: &Env) -> Result<Vault> {
        let keyring = |forced: bool| -> Result<Option<KeyringStore>, VaultError> {
            match KeyringStore::os() {
                Ok(store) => {
                    let store = store.service(SERVICE);
                    // A store that cannot even say it has no such entry does not answer.
                    match store.get("\u{1}probe") {
                        Ok(_) => Ok(Some(store)),
                        Err(e) if forced => Err(VaultError::Keyring { why: e.to_string() }),
                        Err(_) => Ok(None),
                    }
                }
                Err(e) if forced => Err(VaultError::Keyring { why: e.to_string() }),
                Err(_) => Ok(None),
            }
        };
        let (kind, keyring) = match env.get(STORE_VARIABLE).as_deref() {
            Some("keyring") => (VaultKind::Keyring, keyring(true)?),
            Some("file") => (VaultKind::File, None),
            Some(other) => {
                return Err(VaultError::BadStore {
                    value: other.to_string(),
                }
                .into());
            }
            None => match keyring(false)? {
                Some(store) => (VaultKind::Keyring, Some(store)),
                None => (VaultKind::File, None),
            },
        };
        Ok(Vault {
            kind,
            env: env.clone(),
            keyring,
            file: None,
        })
    }

    /// Where `put` stores keys.
    pub fn kind(&self) -> VaultKind {
        self.kind
    }

    /// The store `profile`'s keys are in, by the index; else the one `put` uses.
    fn kind_of(&self, profile: &str) -> VaultKind {
        index(&self.env)
            .get(profile)
            .map_or(self.kind, |listed| listed.store)
    }

    fn keyring(&mut self) -> Result<&KeyringStore, VaultError> {
        if self.keyring.is_none() {
            let store = KeyringStore::os()
                .map_err(|e| VaultError::Keyring { why: e.to_string() })?
                .service(SERVICE);
            self.keyring = Some(store);
        }
        self.keyring.as_ref().ok_or_else(|| VaultError::Keyring {
            why: "not open".into(),
        })
    }

    fn file_path(&self) -> String {
        data_dir(&self.env)
            .map(|dir| dir.join(FILE_NAME).display().to_string())
            .unwrap_or_else(|| FILE_NAME.to_string())
    }

    /// The passphrase: [`PASSPHRASE_VARIABLE`], else asked on the terminal (twice when the
    /// file is to be created).
    fn passphrase(&self, creating: bool) -> Result<Zeroizing<String>, VaultError> {
        if let Some(passphrase) = self.env.get(PASSPHRASE_VARIABLE) {
            return Ok(Zeroizing::new(passphrase));
        }
        let Some(term) = crate::mfa::terminal() else {
            return Err(VaultError::NoPassphrase {
                path: self.file_path(),
            });
        };
        let mut prompt = dialoguer::Password::new()
            .with_prompt(if creating {
                format!("New passphrase for {}", self.file_path())
            } else {
                format!("Passphrase for {}", self.file_path())
            })
            .report(false);
        if creating {
            prompt = prompt.with_confirmation("Repeat it", "the two passphrases differ; again");
        }
        let passphrase = prompt
            .interact_on(&term)
            .map(Zeroizing::new)
            .map_err(|e| VaultError::Unreadable(e.to_string()))?;
        if passphrase.is_empty() {
            return Err(VaultError::EmptyPassphrase);
        }
        Ok(passphrase)
    }

    /// The file's contents, decrypted once per run (no file: none, and no passphrase yet).
    fn file(&mut self) -> Result<&mut FileVault, VaultError> {
        if self.file.is_none() {
            self.file = Some(self.load_file()?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| VaultError::Unavailable("not open".into()))
    }

    fn load_file(&self) -> Result<FileVault, VaultError> {
        let path = self.file_path();
        let Some(bytes) = open_dir(&self.env, false)?
            .map(|dir| read(&dir, FILE_NAME))
            .transpose()?
            .flatten()
        else {
            return Ok(FileVault {
                passphrase: None,
                keys: BTreeMap::new(),
            });
        };
        let corrupt = |why: &str| VaultError::Corrupt {
            path: path.clone(),
            why: why.to_string(),
        };
        let decryptor = age::Decryptor::new_buffered(&bytes[..])
            .map_err(|e| corrupt(&format!("not an age file: {e}")))?;
        if !decryptor.is_scrypt() {
            return Err(corrupt("not encrypted with a passphrase"));
        }
        let passphrase = self.passphrase(false)?;
        let identity = age::scrypt::Identity::new(passphrase.to_string().into());
        let mut reader = match decryptor.decrypt(std::iter::once(&identity as _)) {
            Ok(reader) => reader,
            Err(age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys) => {
                return Err(VaultError::WrongPassphrase { path });
            }
            Err(e) => return Err(corrupt(&e.to_string())),
        };
        let mut plain = Zeroizing::new(Vec::new());
        std::io::Read::read_to_end(&mut reader, &mut plain)
            .map_err(|e| corrupt(&format!("cannot decrypt: {e}")))?;
        let keys = serde_json::from_slice(&plain).map_err(|_| corrupt("not the vault's JSON"))?;
        Ok(FileVault {
            passphrase: Some(passphrase),
            keys,
        })
    }

    /// Encrypts and writes the file (asking for a new passphrase when it is created).
    fn save_file(&mut self) -> Result<(), VaultError> {
        let creating = self.file.as_ref().is_some_and(|f| f.passphrase.is_none());
        if creating {
            let passphrase = self.passphrase(true)?;
            self.file()?.passphrase = Some(passphrase);
        }
        let file = self.file()?;
        let plain = Zeroizing::new(
            serde_json::to_vec(&file.keys)
                .map_err(|e| VaultError::Unavailable(format!("cannot encode the keys: {e}")))?,
        );
        let passphrase = file.passphrase.clone().unwrap_or_default();
        let encryptor = age::Encryptor::with_user_passphrase(passphrase.to_string().into());
        let mut cipher = Vec::new();
        let encrypt = |cipher: &mut Vec<u8>| -> std::io::Result<()> {
            let mut writer = encryptor.wrap_output(cipher)?;
            std::io::Write::write_all(&mut writer, &plain)?;
            writer.finish().map(drop)
        };
        encrypt(&mut cipher)
            .map_err(|e| VaultError::Unavailable(format!("cannot encrypt the keys: {e}")))?;
        let dir = open_dir(&self.env, true)?
            .ok_or_else(|| VaultError::Unavailable("the data directory vanished".into()))?;
        write(&dir, FILE_NAME, &cipher)
    }

    fn get_from(&mut self, kind: VaultKind, profile: &str) -> Result<Option<Keys>, VaultError> {
        match kind {
            VaultKind::Keyring => {
                let Some(bytes) = self
                    .keyring()?
                    .get(profile)
                    .map_err(|e| VaultError::Keyring { why: e.to_string() })?
                else {
                    return Ok(None);
                };
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|_| VaultError::Keyring {
                        why: format!("its entry for profile '{profile}' is not the vault's JSON"),
                    })
            }
            VaultKind::File => Ok(self.file()?.keys.get(profile).cloned()),
        }
    }

    fn remove_from(&mut self, kind: VaultKind, profile: &str) -> Result<bool, VaultError> {
        match kind {
            VaultKind::Keyring => {
                let store = self.keyring()?;
                let there = store
                    .get(profile)
                    .map_err(|e| VaultError::Keyring { why: e.to_string() })?
                    .is_some();
                store
                    .delete(profile)
                    .map_err(|e| VaultError::Keyring { why: e.to_string() })?;
                Ok(there)
            }
            VaultKind::File => {
                if self.file()?.keys.remove(profile).is_none() {
                    return Ok(false);
                }
                self.save_file()?;
                Ok(true)
            }
        }
    }

    pub fn get(&mut self, profile: &str) -> Result<Option<Keys>> {
        let kind = self.kind_of(profile);
        Ok(self.get_from(kind, profile)?)
    }

    /// An exclusive lock on changing the vault (the index and the file), held until dropped,
    /// so that two `keys` commands at once do not lose each other's index entries.
    fn lock(&self) -> Result<std::fs::File, VaultError> {
        let dir = open_dir(&self.env, true)?
            .ok_or_else(|| VaultError::Unavailable("the data directory vanished".into()))?;
        let path = dir.path().join("keys.lock").display().to_string();
        let file = dir
            .lock_file("keys.lock")
            .map_err(|e| VaultError::Unavailable(format!("cannot open {path}: {e}")))?;
        file.lock()
            .map_err(|e| VaultError::Unavailable(format!("cannot lock {path}: {e}")))?;
        Ok(file)
    }

    /// Stores (replacing) and updates the index; `rotated` sets rotated_at.
    pub fn put(&mut self, profile: &str, keys: &Keys, rotated: bool) -> Result<()> {
        let _lock = self.lock()?;
        let kind = self.kind;
        match kind {
            VaultKind::Keyring => {
                let json = Zeroizing::new(
                    serde_json::to_vec(keys)
                        .map_err(|e| VaultError::Unavailable(format!("cannot encode: {e}")))?,
                );
                self.keyring()?
                    .put(profile, &json, None)
                    .map_err(|e| VaultError::Keyring { why: e.to_string() })?;
            }
            VaultKind::File => {
                self.file()?.keys.insert(profile.to_string(), keys.clone());
                self.save_file()?;
            }
        }
        let mut index = index(&self.env);
        let before = index.get(profile).cloned();
        // Keys moved from the other store are forgotten there.
        if let Some(before) = &before
            && before.store != kind
        {
            let _ = self.remove_from(before.store, profile);
        }
        let now = crate::cache::unix_now();
        let listed = Listed {
            access_key_id: keys.access_key_id.clone(),
            store: kind,
            added_at: match (&before, rotated) {
                (Some(before), true) => before.added_at,
                _ => now,
            },
            rotated_at: rotated.then_some(now),
        };
        index.insert(profile.to_string(), listed);
        write_index(&self.env, &index)?;
        Ok(())
    }

    /// Forgets; false when there was nothing. Updates the index.
    pub fn remove(&mut self, profile: &str) -> Result<bool> {
        let _lock = self.lock()?;
        let mut index = index(&self.env);
        let kind = index.get(profile).map_or(self.kind, |listed| listed.store);
        let removed = self.remove_from(kind, profile)?;
        if index.remove(profile).is_some() {
            write_index(&self.env, &index)?;
            return Ok(true);
        }
        Ok(removed)
    }
}

/// The credentials of `profile`'s keys in the vault, for an STS call (the one time the
/// secret is read).
pub fn credentials(env: &Env, profile: &str) -> Result<aws_credential_types::Credentials> {
    let mut vault = Vault::open(env)?;
    let keys = vault.get(profile)?.ok_or_else(|| VaultError::Missing {
        profile: profile.to_string(),
        store: vault.kind_of(profile).describe(),
    })?;
    Ok(aws_credential_types::Credentials::new(
        keys.access_key_id,
        keys.secret_access_key.as_str(),
        keys.session_token.as_deref().map(|token| token.to_string()),
        None,
        "vault",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret_and_the_token() {
        let keys = Keys {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Zeroizing::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: Some(Zeroizing::new("FwoGZXIvYXdzEXAMPLETOKEN".into())),
        };
        let shown = format!("{keys:?}");
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"), "{shown}");
        assert!(
            !shown.contains("wJalr") && !shown.contains("FwoG"),
            "{shown}"
        );
    }

    #[test]
    fn the_index_has_no_secret_and_reads_back() {
        let listed = Listed {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            store: VaultKind::File,
            added_at: 1,
            rotated_at: None,
        };
        let json = serde_json::to_string(&listed).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"access_key_id":"AKIAIOSFODNN7EXAMPLE","store":"file","added_at":1,"rotated_at":null}"#
        );
    }
}
