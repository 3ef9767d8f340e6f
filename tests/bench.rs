//! `estrade-bench`: join time and client cost against a real local Janus.
//! Run through `scripts/bench` (release build, root). Not a test: it asserts
//! nothing, it measures and prints a Markdown report.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use estrade_tests::{cli_binary, LocalJanus, Outcome};

const JOINS: usize = 20;
const RESOURCE_SECONDS: u64 = 20;

/// `/usr/bin/time -f` output: user s, system s, elapsed s, max RSS KiB.
struct Cost {
    cpu_percent: f64,
    peak_rss_mib: f64,
}

fn cost_of(o: &Outcome) -> Cost {
    let line = o.stderr.lines().rev().find(|l| l.starts_with("ESTRADE_TIME ")).unwrap_or_else(|| panic!("no timing from {}: {}", o.name, o.stderr));
    let f: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().expect("number")).collect();
    Cost { cpu_percent: (f[0] + f[1]) / f[2] * 100.0, peak_rss_mib: f[3] / 1024.0 }
}

fn timed_join(janus: &LocalJanus, name: &str, extra: &[&str]) -> estrade_tests::Client {
    let mut cmd = janus.command(Path::new("/usr/bin/time"));
    cmd.args(["-f", "ESTRADE_TIME %U %S %e %M"]).arg(cli_binary());
    cmd.args(["join", "--server", &janus.server, "--room", "1234", "--name", name, "--ice-addr", &janus.ice_addr]);
    cmd.args(extra);
    estrade_tests::Client::spawn_command(name, cmd)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let janus = LocalJanus::start();
    let total = (RESOURCE_SECONDS + JOINS as u64 * 3 + 15).to_string();
    let publisher = timed_join(&janus, "Teacher", &["--send-audio", "tone:440", "--send-video", "pattern", "--duration", &total]);
    std::thread::sleep(Duration::from_secs(2));

    // A receiving client alone with the publisher: its cost is decoding one
    // participant's Opus and 640x360 VP8.
    let secs = RESOURCE_SECONDS.to_string();
    let receiver = timed_join(&janus, "Receiver", &["--send-audio", "none", "--send-video", "none", "--duration", &secs])
        .wait(Duration::from_secs(RESOURCE_SECONDS + 20));
    let receiver_cost = cost_of(&receiver);
    let received = receiver.totals("Teacher");
    eprintln!("receiver done: {} video frames", received["video_frames"]);

    let mut join_ms = Vec::new();
    let mut spawn_ms = Vec::new();
    for i in 0..JOINS {
        let spawned_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
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
        join_ms.push((audio - started) as f64);
        spawn_ms.push((audio - spawned_at) as f64);
        eprintln!("join {i}: {} ms", audio - started);
    }
    let publisher = publisher.wait(Duration::from_secs(300));
    let publisher_cost = cost_of(&publisher);
    join_ms.sort_by(f64::total_cmp);
    spawn_ms.sort_by(f64::total_cmp);

    let cpu = Command::new("sh").args(["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).output().expect("sh");
    println!("### Join time and client cost ({})\n", env!("CARGO_PKG_VERSION"));
    println!("Machine: {} cores,{}; release build; Janus {} in a private network namespace on the same machine.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        String::from_utf8_lossy(&cpu.stdout).trim_end(),
        String::from_utf8_lossy(&Command::new("janus").arg("--version").output().expect("janus").stdout).lines().next().unwrap_or("?"));
    println!("| measure | p50 | p95 | min | max |\n|---|---|---|---|---|");
    println!("| join → first remote audio decoded, ms ({JOINS} joins) | {:.0} | {:.0} | {:.0} | {:.0} |",
        percentile(&join_ms, 50.0), percentile(&join_ms, 95.0), join_ms[0], join_ms[JOINS - 1]);
    println!("| process start → first remote audio decoded, ms | {:.0} | {:.0} | {:.0} | {:.0} |\n",
        percentile(&spawn_ms, 50.0), percentile(&spawn_ms, 95.0), spawn_ms[0], spawn_ms[JOINS - 1]);
    println!("| client | CPU (% of one core) | peak RSS (MiB) |\n|---|---|---|");
    println!("| publishing (Opus + VP8 640×360 15 fps, test pattern) | {:.1} | {:.1} |", publisher_cost.cpu_percent, publisher_cost.peak_rss_mib);
    println!("| receiving one participant (Opus + VP8 640×360, {} frames in {RESOURCE_SECONDS} s) | {:.1} | {:.1} |",
        received["video_frames"], receiver_cost.cpu_percent, receiver_cost.peak_rss_mib);
}
