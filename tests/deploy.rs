//! The production template in deploy/janus/production boots on stock Janus
//! and serves a class to Estrade clients (with ICE Lite and ICE-TCP on).

use std::time::Duration;

use estrade_tests::{root, scratch, LocalJanus};

#[test]
fn the_production_template_serves_a_class() {
    let config = scratch("prod-config");
    for entry in std::fs::read_dir(root().join("deploy/janus/production")).expect("template folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "jcfg") {
            std::fs::copy(&path, config.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    // The template defines no class; borrow the test profile's.
    std::fs::copy(root().join("deploy/janus/test/janus.plugin.videoroom.jcfg"), config.join("janus.plugin.videoroom.jcfg")).expect("copy");
    let janus = LocalJanus::start_with(&config);
    let log = std::fs::read_to_string(&janus.log).expect("log");
    assert!(log.contains("Lite mode, ICE-TCP candidates enabled"), "ICE settings not applied:\n{log}");

    let a = janus.join("Prof", 1234, &["--send-audio", "tone:440", "--duration", "5"]);
    std::thread::sleep(Duration::from_millis(500));
    let b = janus.join("Eleve", 1234, &["--send-audio", "tone:550", "--duration", "4"]).wait(Duration::from_secs(20));
    let a = a.wait(Duration::from_secs(20));
    assert!(a.status.success() && b.status.success(), "{}\n{}", a.stderr, b.stderr);
    let hz = b.totals("Prof")["tone_hz"].as_f64().expect("audio through the production template");
    assert!((hz - 440.0).abs() <= 2.0, "{hz}");
    assert!(b.totals("Prof")["numbered_frames"].as_u64().unwrap_or(0) > 20);
    let _ = std::fs::remove_dir_all(config);
}
