//! The real OS keychain: gnome-keyring's Secret Service on a private D-Bus
//! session started by the test (never the user's own). Each case runs in a
//! child process that has that bus in its environment.

use std::io::Write;
use std::process::{Command, Stdio};

use estrade_secrets::{CredentialStore, KeyringStore, SecretError, SecretKey, Sensitive};

const CHILD: &str = "ESTRADE_KEYCHAIN_CHILD";

/// What runs on the private bus before the test.
#[derive(Clone, Copy)]
enum Keychain {
    /// gnome-keyring with an unlocked login collection.
    Unlocked,
    /// gnome-keyring started but never unlocked (and no display to prompt on).
    Locked,
    /// No D-Bus session at all (a bare server, a minimal container).
    NoBus,
}

/// Runs `test` again in a child under `dbus-run-session`, with `keychain`.
fn in_private_session(test: &str, keychain: Keychain) {
    let exe = std::env::current_exe().expect("test binary path");
    let setup = match keychain {
        Keychain::Unlocked => "printf estrade-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null;",
        Keychain::Locked => "gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1;",
        Keychain::NoBus => "unset DBUS_SESSION_BUS_ADDRESS;",
    };
    let home = tempfile::tempdir().expect("temp home");
    let script = format!("{setup} exec \"$0\" --exact {test} --nocapture");
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .arg(&exe)
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .output()
        .expect("dbus-run-session runs (package dbus-daemon)");
    let _ = std::io::stderr().write_all(&out.stderr);
    assert!(out.status.success(), "{test} failed in its private session:\n{}", String::from_utf8_lossy(&out.stdout));
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

#[test]
fn pins_round_trip_through_gnome_keyring() {
    if !is_child() {
        return in_private_session("pins_round_trip_through_gnome_keyring", Keychain::Unlocked);
    }
    let store = KeyringStore::new("fr.estrade.test");
    let key = SecretKey { server: "wss://classe.example.fr/janus".into(), room: 4321 };
    assert!(store.get(&key).expect("read").is_none());
    store.set(&key, &Sensitive("2468".into())).expect("write");
    assert_eq!(store.get(&key).expect("read back"), Some(Sensitive("2468".into())));
    // Another class on the same server is another entry.
    assert!(store.get(&SecretKey { room: 1234, ..key.clone() }).expect("read").is_none());
    store.delete(&key).expect("delete");
    store.delete(&key).expect("deleting nothing is fine");
    assert!(store.get(&key).expect("read").is_none());
}

/// Storing a PIN fails, and the error is the one `expected` accepts.
fn storing_fails_with(expected: fn(&SecretError) -> bool, what: &str) {
    let store = KeyringStore::new("fr.estrade.test");
    let key = SecretKey { server: "wss://a/janus".into(), room: 1 };
    match store.set(&key, &Sensitive("1".into())) {
        Err(e) if expected(&e) => {}
        other => panic!("expected {what}, got {other:?}"),
    }
}

#[test]
fn no_session_bus_is_a_clear_error() {
    if !is_child() {
        return in_private_session("no_session_bus_is_a_clear_error", Keychain::NoBus);
    }
    storing_fails_with(|e| matches!(e, SecretError::Unavailable(_)), "Unavailable");
}

#[test]
fn a_locked_keychain_is_a_clear_error() {
    if !is_child() {
        return in_private_session("a_locked_keychain_is_a_clear_error", Keychain::Locked);
    }
    storing_fails_with(|e| matches!(e, SecretError::Locked(_)), "Locked");
}
