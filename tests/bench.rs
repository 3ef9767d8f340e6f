//! `estrade-bench`: join time and client cost against a real local Janus, with
//! Chromium running Janus's own client (janus.js) measured in the same run as
//! the comparison peer. Run through `scripts/bench` (release build, root). Not
//! a test: it asserts nothing, it measures and prints a Markdown report.

use std::process::Command;
use std::time::Duration;

use estrade_tests::browser::{chromium, chromium_result, stop};
use estrade_tests::cost::measure;
use estrade_tests::LocalJanus;

const JOINS: usize = 20;
const WINDOW: Duration = Duration::from_secs(20);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let janus = LocalJanus::start();
    let publisher = janus.join("Teacher", 1234, &["--send-audio", "tone:440", "--send-video", "pattern", "--duration", "600"]);
    std::thread::sleep(Duration::from_secs(2));

    // Join time, Estrade: from the start of the join to the first decoded remote audio.
    let mut estrade_ms = Vec::new();
    for i in 0..JOINS {
        let o = janus
            .join(&format!("Pupil{i}"), 1234, &["--send-audio", "none", "--send-video", "none", "--duration", "1.5"])
            .wait(Duration::from_secs(20));
        let started = o.event("joined").and_then(|e| e["join_started_ms"].as_u64()).expect("joined");
        let audio = o
            .lines
            .iter()
            .find(|l| l["event"] == "media_flowing" && l["kind"] == "audio")
            .and_then(|l| l["t_ms"].as_u64())
            .unwrap_or_else(|| panic!("join {i} decoded no audio: {:?}", o.lines));
        estrade_ms.push((audio - started) as f64);
        eprintln!("estrade join {i}: {} ms", audio - started);
    }
    // Join time, janus.js in Chromium: the same, measured in the page with getStats.
    let mut browser = chromium(&janus, &format!("mode=joins&count={JOINS}"));
    let result = chromium_result(&mut browser, "joins");
    stop(browser);
    let mut chromium_ms: Vec<f64> = result["ms"].as_array().expect("ms list").iter().filter_map(|v| v.as_f64()).collect();
    eprintln!("chromium joins: {chromium_ms:?}");
    estrade_ms.sort_by(f64::total_cmp);
    chromium_ms.sort_by(f64::total_cmp);

    // Cost of receiving one participant (Opus + VP8 640x360 15 fps), each alone with the publisher.
    let receiver = janus.join("Receiver", 1234, &["--send-audio", "none", "--send-video", "none", "--duration", "40"]);
    std::thread::sleep(Duration::from_secs(3));
    let estrade_rx = measure(receiver.pid(), WINDOW);
    let publisher_cost = measure(publisher.pid(), WINDOW);
    drop(receiver);
    let mut browser = chromium(&janus, "mode=receive&seconds=120");
    chromium_result(&mut browser, "receiving");
    std::thread::sleep(Duration::from_secs(2));
    let chromium_rx = measure(browser.id(), WINDOW);
    stop(browser);
    drop(publisher);

    let cpu = Command::new("sh").args(["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).output().expect("sh");
    let janus_version = Command::new("janus").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("?").to_owned()).unwrap_or_default();
    let chromium_version = Command::new("chromium").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    println!("Machine: {} cores,{}; release build; {janus_version} in a private network namespace on the same machine; comparison peer: {chromium_version}, headless, running Janus's janus.js.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), String::from_utf8_lossy(&cpu.stdout).trim_end());
    println!("| join → first remote audio decoded, ms ({JOINS} joins) | p50 | p95 | min | max |\n|---|---|---|---|---|");
    for (who, v) in [("estrade-cli", &estrade_ms), ("Chromium + janus.js", &chromium_ms)] {
        println!("| {who} | {:.0} | {:.0} | {:.0} | {:.0} |", percentile(v, 50.0), percentile(v, 95.0), v[0], v[v.len() - 1]);
    }
    println!("| **ratio Estrade / Chromium** | **{:.2}** | **{:.2}** | | |\n",
        percentile(&estrade_ms, 50.0) / percentile(&chromium_ms, 50.0), percentile(&estrade_ms, 95.0) / percentile(&chromium_ms, 95.0));
    println!("| client, over {} s | CPU (% of one core) | peak RSS, summed over processes (MiB) | PSS (MiB) |\n|---|---|---|---|", WINDOW.as_secs());
    println!("| estrade-cli publishing (Opus + VP8 640×360 15 fps) | {:.1} | {:.1} | {:.1} |", publisher_cost.cpu_percent, publisher_cost.peak_rss_mib, publisher_cost.pss_mib);
    println!("| estrade-cli receiving one participant | {:.1} | {:.1} | {:.1} |", estrade_rx.cpu_percent, estrade_rx.peak_rss_mib, estrade_rx.pss_mib);
    println!("| Chromium + janus.js receiving one participant | {:.1} | {:.1} | {:.1} |", chromium_rx.cpu_percent, chromium_rx.peak_rss_mib, chromium_rx.pss_mib);
    println!("| **ratio Estrade / Chromium, receiving** | **{:.2}** | **{:.2}** | **{:.2}** |",
        estrade_rx.cpu_percent / chromium_rx.cpu_percent, estrade_rx.peak_rss_mib / chromium_rx.peak_rss_mib, estrade_rx.pss_mib / chromium_rx.pss_mib);
}
