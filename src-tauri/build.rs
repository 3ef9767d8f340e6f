fn main() {
    // The UI is embedded at compile time: say plainly how to build it if it is missing.
    if !std::path::Path::new("../ui/dist/index.html").exists() {
        println!("cargo::warning=ui/dist is missing: build the UI first (cd ui && npm ci && npm run build), or run scripts/test");
    }
    // Only the app's own commands exist; the capability grants them to the main window alone.
    const COMMANDS: &[&str] = &[
        "startup",
        "save_settings",
        "devices",
        "test_microphone",
        "test_connection",
        "join",
        "cancel_join",
        "leave",
        "set_microphone",
        "set_camera",
        "watch_video",
        "set_video_tiles",
        "video_frame_painted",
        "share_targets",
        "share_screen",
        "stop_screen_share",
    ];
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
