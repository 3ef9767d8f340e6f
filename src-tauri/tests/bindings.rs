//! The committed TypeScript bindings must match the Rust IPC surface.
//! Regenerate with: ESTRADE_UPDATE_BINDINGS=1 cargo test -p estrade-app --test bindings

#[test]
fn typescript_bindings_are_up_to_date() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
    if std::env::var_os("ESTRADE_UPDATE_BINDINGS").is_some() {
        estrade_app::export_bindings(&committed).expect("write bindings");
        return;
    }
    let fresh = tempfile::NamedTempFile::new().expect("temp file");
    estrade_app::export_bindings(fresh.path()).expect("export bindings");
    let want = std::fs::read_to_string(fresh.path()).expect("read fresh bindings");
    let have = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        want == have,
        "ui/src/bindings.ts is out of date with src-tauri: run `ESTRADE_UPDATE_BINDINGS=1 cargo test -p estrade-app --test bindings` and commit it"
    );
}
