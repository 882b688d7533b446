//! The device store's encryption key, kept in the platform's secret store and
//! nowhere else: the Secret Service (GNOME Keyring, KWallet) on Linux, the
//! login keychain on macOS, the data-protection keychain on iOS, the Credential Manager on
//! Windows, a SharedPreferences entry encrypted by an Android Keystore key on
//! Android. The key is made on first launch (256 random bits), written there,
//! read back to prove it was kept, and only then used to create the store.
//!
//! Losing the key must never lose data silently: if the secret store has no
//! key but an encrypted store exists, the app refuses to start with a message
//! that says so, and the file is left as it is (a restored keyring opens it).
//! The Android and Apple paths are written against their crates' documented
//! APIs but cannot be built on the Linux CI machine.

use std::path::Path;

use app_core::{FileState, StoreKey, file_state};

/// The secret store's service name (the app's bundle identifier).
const SERVICE: &str = "org.fieldvoice.app";
/// The entry's user name: one key per install.
const ENTRY: &str = "device-store-key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the platform's secret store is not available ({0}): the device store cannot be opened without it"
    )]
    Unavailable(String),
    #[error(
        "the key of the encrypted device store is missing from the platform's secret store; the store is left untouched (restore the keyring or the device backup)"
    )]
    Missing,
    #[error(
        "the secret store did not keep the new key: refusing to create a store it could not reopen"
    )]
    NotKept,
    #[error("the key in the secret store is unusable: {0}")]
    Bad(String),
}

fn platform_store() -> Result<(), keyring_core::Error> {
    if keyring_core::get_default_store().is_some() {
        return Ok(());
    }
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    keyring_core::set_default_store(zbus_secret_service_keyring_store::Store::new()?);
    #[cfg(target_os = "macos")]
    keyring_core::set_default_store(apple_native_keyring_store::keychain::Store::new()?);
    #[cfg(target_os = "ios")]
    keyring_core::set_default_store(apple_native_keyring_store::protected::Store::new()?);
    #[cfg(target_os = "windows")]
    keyring_core::set_default_store(windows_native_keyring_store::Store::new()?);
    #[cfg(target_os = "android")]
    keyring_core::set_default_store(android_native_keyring_store::Store::new()?);
    Ok(())
}

/// The key of the store at `store_path`: read from the secret store, or made
/// and kept there when this install has neither key nor encrypted store.
pub fn store_key(store_path: &Path) -> Result<StoreKey, KeyError> {
    platform_store().map_err(|e| KeyError::Unavailable(e.to_string()))?;
    let entry = keyring_core::Entry::new(SERVICE, ENTRY)
        .map_err(|e| KeyError::Unavailable(e.to_string()))?;
    match entry.get_secret() {
        Ok(bytes) => StoreKey::from_bytes(&bytes).map_err(|e| KeyError::Bad(e.to_string())),
        Err(keyring_core::Error::NoEntry) => {
            let state = file_state(store_path).map_err(|e| KeyError::Bad(e.to_string()))?;
            if state == FileState::Encrypted {
                return Err(KeyError::Missing);
            }
            let key = StoreKey::generate();
            entry
                .set_secret(key.as_bytes())
                .map_err(|e| KeyError::Unavailable(e.to_string()))?;
            match entry.get_secret() {
                Ok(back) if back.as_slice() == key.as_bytes() => {
                    tracing::info!("made the device store key and kept it in the secret store");
                    Ok(key)
                }
                _ => Err(KeyError::NotKept),
            }
        }
        Err(e) => Err(KeyError::Unavailable(e.to_string())),
    }
}
