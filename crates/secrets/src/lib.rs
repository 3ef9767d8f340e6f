//! Where Estrade keeps class PINs.
//!
//! Secrets live only in the OS keychain (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows), reached through the `keyring` crate.
//! When the keychain is locked or absent, storing fails with a clear error and
//! the secret is simply not kept: there is no fallback to a file, ever.
//!
//! [`MemoryStore`] is for unit tests of the logic that uses a store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// A value that must never be printed: its `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What names a secret: a class on a server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey {
    /// The server address, as the user typed or the link gave it.
    pub server: String,
    /// The class number.
    pub room: u64,
}

impl SecretKey {
    /// The account name under which the keychain files this PIN.
    fn account(&self) -> String {
        format!("{}#{}", self.server, self.room)
    }
}

/// The keychain could not do what was asked. Nothing was written anywhere else.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No keychain service runs (no Secret Service on D-Bus, for example).
    /// Retrying will not help until one is installed or started.
    #[error("no keychain is available: {0}")]
    Unavailable(String),
    /// The keychain is there but locked, not set up, or refused access.
    /// Retry after unlocking it.
    #[error("the keychain is locked, not set up, or refused access: {0}")]
    Locked(String),
    /// Any other keychain failure. Retrying may help.
    #[error("the keychain failed: {0}")]
    Failed(String),
}

/// A place for secrets. Implementations must never fall back to disk.
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// The PIN kept for `key`, if any.
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, SecretError>;
    /// Keeps `pin` for `key`, replacing any older one.
    fn set(&self, key: &SecretKey, pin: &Sensitive<String>) -> Result<(), SecretError>;
    /// Forgets the PIN for `key`; forgetting nothing is not an error.
    fn delete(&self, key: &SecretKey) -> Result<(), SecretError>;
}

/// The OS keychain, through `keyring`.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// A store filing its entries under `service` (e.g. "fr.estrade.app").
    pub fn new(service: impl Into<String>) -> Self {
        Self { service: service.into() }
    }

    fn entry(&self, key: &SecretKey) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &key.account()).map_err(map_error)
    }
}

fn map_error(e: keyring::Error) -> SecretError {
    let text = match &e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => inner.to_string(),
        other => return SecretError::Failed(other.to_string()),
    };
    // keyring reports a missing session bus, a keychain that is locked and one
    // never set up through the same two variants: tell them apart by the text,
    // so the user is told the right thing to do. (Where gnome-keyring is
    // installed, D-Bus starts it on demand, so "no keychain service" shows up
    // as a keychain with no unlocked collection: "no result found".)
    let lower = text.to_lowercase();
    let no_bus = ["autolaunch", "failed to connect", "no session bus", "dbus_session_bus_address", "serviceunknown", "not provided by any"];
    if no_bus.iter().any(|needle| lower.contains(needle)) {
        SecretError::Unavailable(text)
    } else if matches!(e, keyring::Error::NoStorageAccess(_))
        || ["locked", "prompt", "dismissed", "no result found", "does not exist"].iter().any(|needle| lower.contains(needle))
    {
        SecretError::Locked(text)
    } else {
        SecretError::Failed(text)
    }
}

impl CredentialStore for KeyringStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, SecretError> {
        match self.entry(key)?.get_password() {
            Ok(pin) => Ok(Some(Sensitive(pin))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn set(&self, key: &SecretKey, pin: &Sensitive<String>) -> Result<(), SecretError> {
        self.entry(key)?.set_password(pin.expose()).map_err(map_error)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

/// Secrets in memory, for unit tests of code that uses a store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<SecretKey, Sensitive<String>>>,
}

impl CredentialStore for MemoryStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, SecretError> {
        Ok(self.entries.lock().map_err(|_| SecretError::Failed("poisoned".into()))?.get(key).cloned())
    }

    fn set(&self, key: &SecretKey, pin: &Sensitive<String>) -> Result<(), SecretError> {
        self.entries.lock().map_err(|_| SecretError::Failed("poisoned".into()))?.insert(key.clone(), pin.clone());
        Ok(())
    }

    fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
        self.entries.lock().map_err(|_| SecretError::Failed("poisoned".into()))?.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_never_prints() {
        let pin = Sensitive("2468".to_owned());
        assert_eq!(format!("{pin:?}"), "<redacted>");
        assert!(!format!("{:?}", Some(pin)).contains("2468"));
    }

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::default();
        let key = SecretKey { server: "wss://a/janus".into(), room: 7 };
        assert!(store.get(&key).unwrap().is_none());
        store.set(&key, &Sensitive("1".into())).unwrap();
        assert_eq!(store.get(&key).unwrap(), Some(Sensitive("1".into())));
        store.delete(&key).unwrap();
        store.delete(&key).unwrap();
        assert!(store.get(&key).unwrap().is_none());
    }
}
