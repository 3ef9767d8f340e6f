//! Linux-only start-up settings for WebKitGTK.

/// Without a GPU, WebKitGTK's accelerated compositing runs OpenGL in software
/// (llvmpipe), and every painted video frame goes through it: measured with
/// `scripts/bench-paint` on a GPU-less machine, one 1280×720 + four 320×180
/// tiles painted at 5 fps with 385 ms latency composited, and at the full
/// 15 fps with 40 ms latency not composited, for half the WebKit CPU. So when
/// there is no render node (no usable GPU), turn compositing off, unless the
/// user or the IT admin already chose (the variable is set).
pub fn configure_webkit() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let has_render_node = std::fs::read_dir("/dev/dri")
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    if !has_render_node {
        // Called first thing in main, before any other thread exists.
        std::env::set_var(VAR, "1");
    }
}
