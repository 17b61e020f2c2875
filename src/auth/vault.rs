//! Where tokens rest between calls: the [`SecretStore`] trait and its stores.
//!
//! The OS keychain (keyring 4: Credential Manager, Keychain, Secret Service) holds only a 32-byte key; the tokens
//! are sealed with it (AES-256-GCM) in a file in the app's state folder. That keeps every keychain entry far below
//! Windows Credential Manager's size limit (a refresh token alone can exceed it). Without a keychain (headless
//! Linux, a locked store) tokens live in memory only and the app says so. Nothing here logs a value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyring_core::api::CredentialStore;

use crate::secret::Secret;

/// Where secrets end up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// Sealed on disk with a key in the OS keychain: kept across runs.
    Keychain { store: String },
    /// In this process only.
    MemoryOnly { why: String },
}

/// A failed store operation. The value itself never appears in it.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the OS keychain refused: {0}")]
    Keychain(#[from] keyring_core::Error),
    #[error("could not use the token file {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {path} cannot be opened with the key in the keychain; it will be replaced")]
    Unreadable { path: PathBuf },
}

/// Stores named secrets.
pub trait SecretStore: Send + Sync + std::fmt::Debug + 'static {
    fn load(&self, name: &str) -> Result<Option<Secret>, VaultError>;
    fn save(&self, name: &str, value: &Secret) -> Result<(), VaultError>;
    fn remove(&self, name: &str) -> Result<(), VaultError>;
    fn durability(&self) -> Durability;
}

/// Secrets in this process only.
#[derive(Debug)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, Secret>>,
    why: String,
}

impl MemoryStore {
    /// An empty store; `why` says why nothing is kept across runs.
    pub fn new(why: impl Into<String>) -> Self {
        Self { map: Mutex::new(BTreeMap::new()), why: why.into() }
    }
}

impl SecretStore for MemoryStore {
    fn load(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        Ok(self.map.lock().unwrap_or_else(PoisonError::into_inner).get(name).cloned())
    }

    fn save(&self, name: &str, value: &Secret) -> Result<(), VaultError> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_owned(), value.clone());
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), VaultError> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
        Ok(())
    }

    fn durability(&self) -> Durability {
        Durability::MemoryOnly { why: self.why.clone() }
    }
}

/// The keychain entry that holds the file key.
const KEY_ENTRY: &str = "token-cache-key";
/// Bound into every seal, so a file from another program or version does not open.
const AAD: &[u8] = b"mspbots-setup token cache v1";

/// A key in the OS keychain, tokens sealed in `file`.
pub struct KeychainStore {
    store: Arc<CredentialStore>,
    service: String,
    file: PathBuf,
    lock: Mutex<()>,
}

impl std::fmt::Debug for KeychainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeychainStore")
            .field("service", &self.service)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl KeychainStore {
    /// A store using `store` (a keyring-core credential store) under `service`, sealing into `file`.
    pub fn new(store: Arc<CredentialStore>, service: &str, file: PathBuf) -> Self {
        Self { store, service: service.to_owned(), file, lock: Mutex::new(()) }
    }

    fn key_entry(&self) -> Result<keyring_core::Entry, VaultError> {
        Ok(keyring_core::Entry::new_in_store(&self.store, &self.service, KEY_ENTRY)?)
    }

    /// The file key, created on first use when `create` is set.
    fn key(&self, create: bool) -> Result<Option<LessSafeKey>, VaultError> {
        let entry = self.key_entry()?;
        let raw = match entry.get_password() {
            Ok(text) => STANDARD.decode(text.trim()).ok(),
            Err(keyring_core::Error::NoEntry) => None,
            Err(e) => return Err(e.into()),
        };
        let raw = match raw {
            Some(raw) if raw.len() == 32 => raw,
            _ if create => {
                let mut fresh = [0u8; 32];
                aws_lc_rs::rand::fill(&mut fresh).map_err(|_| VaultError::Unreadable { path: self.file.clone() })?;
                entry.set_password(&STANDARD.encode(fresh))?;
                fresh.to_vec()
            }
            _ => return Ok(None),
        };
        let unbound =
            UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| VaultError::Unreadable { path: self.file.clone() })?;
        Ok(Some(LessSafeKey::new(unbound)))
    }

    fn read_map(&self) -> Result<BTreeMap<String, String>, VaultError> {
        let sealed = match std::fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => return Err(VaultError::File { path: self.file.clone(), source }),
        };
        let Some(key) = self.key(false)? else {
            return Err(VaultError::Unreadable { path: self.file.clone() });
        };
        open(&key, sealed).ok_or_else(|| VaultError::Unreadable { path: self.file.clone() })
    }

    fn write_map(&self, map: &BTreeMap<String, String>) -> Result<(), VaultError> {
        let Some(key) = self.key(true)? else {
            return Err(VaultError::Unreadable { path: self.file.clone() });
        };
        let sealed = seal(&key, map).ok_or_else(|| VaultError::Unreadable { path: self.file.clone() })?;
        crate::fsutil::write_atomic_private(&self.file, &sealed)
            .map_err(|source| VaultError::File { path: self.file.clone(), source })
    }

    /// The map, or an empty one when the file cannot be opened (it is then replaced on the next save).
    fn map_or_fresh(&self) -> Result<BTreeMap<String, String>, VaultError> {
        match self.read_map() {
            Err(VaultError::Unreadable { .. }) => Ok(BTreeMap::new()),
            other => other,
        }
    }
}

fn seal(key: &LessSafeKey, map: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).ok()?;
    let mut data = serde_json::to_vec(map).ok()?;
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut data).ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Some(out)
}

fn open(key: &LessSafeKey, mut sealed: Vec<u8>) -> Option<BTreeMap<String, String>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let mut data = sealed.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
    let plain = key.open_in_place(nonce, Aad::from(AAD), &mut data).ok()?;
    serde_json::from_slice(plain).ok()
}

impl SecretStore for KeychainStore {
    fn load(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(self.read_map()?.remove(name).map(Secret::new))
    }

    fn save(&self, name: &str, value: &Secret) -> Result<(), VaultError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = self.map_or_fresh()?;
        map.insert(name.to_owned(), value.expose().to_owned());
        self.write_map(&map)
    }

    fn remove(&self, name: &str) -> Result<(), VaultError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = self.map_or_fresh()?;
        if map.remove(name).is_some() {
            self.write_map(&map)?;
        }
        Ok(())
    }

    fn durability(&self) -> Durability {
        Durability::Keychain { store: self.store.vendor() }
    }
}

/// The platform's keychain, or memory when there is none. May block (keychain prompts): call it off the UI thread.
pub fn open_platform_store(state_dir: &Path) -> Arc<dyn SecretStore> {
    match platform_store() {
        Ok(store) => {
            // A store that exists but cannot be used (no Secret Service daemon, a locked keychain) shows itself
            // on the first read; probe once so the app can say so up front.
            let probe =
                keyring_core::Entry::new_in_store(&store, SERVICE, "probe").and_then(|e| match e.get_password() {
                    Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                    Err(e) => Err(e),
                });
            match probe {
                Ok(()) => Arc::new(KeychainStore::new(store, SERVICE, state_dir.join("tokens.sealed"))),
                Err(e) => Arc::new(MemoryStore::new(format!("the OS keychain cannot be used ({e})"))),
            }
        }
        Err(e) => Arc::new(MemoryStore::new(format!("no OS keychain is available ({e})"))),
    }
}

/// The keychain service name entries are filed under.
pub const SERVICE: &str = crate::APP_ID;

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(not(any(unix, windows)))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mspbots-vault-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("tokens.sealed")
    }

    fn mock() -> Arc<CredentialStore> {
        keyring_core::mock::Store::new().unwrap()
    }

    #[test]
    fn keychain_store_seals_tokens_on_disk_with_a_small_key_entry() {
        let file = temp_file("seal");
        let store = mock();
        let vault = KeychainStore::new(store.clone(), SERVICE, file.clone());
        let big = Secret::new("x".repeat(10_000));
        vault.save("refresh-token", &big).unwrap();
        assert_eq!(vault.load("refresh-token").unwrap().unwrap().expose().len(), 10_000);
        let on_disk = std::fs::read(&file).unwrap();
        assert!(!on_disk.windows(100).any(|w| w == "x".repeat(100).as_bytes()), "the file holds ciphertext only");
        let key = keyring_core::Entry::new_in_store(&store, SERVICE, KEY_ENTRY).unwrap().get_password().unwrap();
        assert!(key.len() < 64, "the keychain holds only the key, well under Credential Manager's limit");
        vault.remove("refresh-token").unwrap();
        assert!(vault.load("refresh-token").unwrap().is_none());
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_without_its_key_is_replaced_not_fatal() {
        let file = temp_file("lost-key");
        let vault = KeychainStore::new(mock(), SERVICE, file.clone());
        vault.save("a", &Secret::new("1")).unwrap();
        // Another keychain (the key is gone): the old file cannot be read, a save starts over.
        let vault = KeychainStore::new(mock(), SERVICE, file.clone());
        assert!(matches!(vault.load("a"), Err(VaultError::Unreadable { .. })));
        vault.save("b", &Secret::new("2")).unwrap();
        assert_eq!(vault.load("b").unwrap().unwrap().expose(), "2");
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }

    #[test]
    fn keychain_errors_surface_as_errors() {
        let file = temp_file("locked");
        let store = mock();
        let vault = KeychainStore::new(store.clone(), SERVICE, file.clone());
        vault.save("a", &Secret::new("1")).unwrap();
        let entry = keyring_core::Entry::new_in_store(&store, SERVICE, KEY_ENTRY).unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        assert!(matches!(vault.load("a"), Err(VaultError::Keychain(_))));
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }

    #[test]
    fn memory_store_says_why_it_forgets() {
        let m = MemoryStore::new("no keychain");
        m.save("a", &Secret::new("hunter2")).unwrap();
        assert_eq!(m.load("a").unwrap().unwrap().expose(), "hunter2");
        assert_eq!(m.durability(), Durability::MemoryOnly { why: "no keychain".into() });
        assert!(!format!("{m:?}").contains("hunter2"), "Debug output never shows a stored secret");
    }

    #[test]
    fn platform_store_falls_back_to_memory_when_unavailable() {
        // On a CI box without a session bus this is the memory store; on a desktop, the keychain. Either way it
        // must answer without panicking.
        let dir = temp_file("platform");
        let store = open_platform_store(dir.parent().unwrap());
        match store.durability() {
            Durability::MemoryOnly { why } => assert!(!why.is_empty()),
            Durability::Keychain { store } => assert!(!store.is_empty()),
        }
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
