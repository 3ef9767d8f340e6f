//! `estrade-herd [CLIENTS] [DOWN_SECONDS]`: a class of CLIENTS (default 50)
//! `estrade-cli` clients on one real Janus, which is killed mid-class and
//! started again DOWN_SECONDS (default 5) later. Measures how the class comes
//! back by itself: each client's time from the server's return to being back
//! in class, and how spread out the arrivals were (the busiest second against
//! the mean rate), plus the attempts each made while the server was down.
//! Run through `scripts/herd` (release build, root). Not a test: it asserts
//! nothing, it measures and prints a Markdown report.
//!
//! The clients send and receive no media (a herd is a signaling load: a new
//! session, a room join); real media after a restart is covered by
//! `tests/reconnect.rs`. There is no comparison peer: janus.js does not get a
//! class back by itself after a restart (its session is gone; the page must
//! start again), so there is nothing to measure it against.

use std::time::Duration;

use estrade_tests::{LocalJanus, Outcome};
use serde_json::Value;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The `t_ms` of each of `o`'s events of this kind (and level, if given).
fn times(o: &Outcome, kind: &str, level: Option<&str>) -> Vec<u64> {
    let wanted = |l: &&Value| l["event"] == kind && level.is_none_or(|lv| l["level"] == lv);
    o.lines.iter().filter(wanted).filter_map(|l| l["t_ms"].as_u64()).collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50).clamp(1, 500);
    let down = Duration::from_secs_f64(args.next().and_then(|a| a.parse().ok()).unwrap_or(5.0_f64).clamp(0.0, 120.0));
    let janus = LocalJanus::start();
    // Everyone leaves at the same moment, once all had time to come back
    // (the rejoin windows reach 15 s).
    let arrivals = Duration::from_millis(50) * clients as u32;
    let end = std::time::Instant::now() + arrivals + Duration::from_secs(3) + down + Duration::from_secs(30);
    // Joined one after another (as pupils arrive), then all in class.
    let class: Vec<_> = (0..clients)
        .map(|i| {
            let stay = format!("{:.1}", end.saturating_duration_since(std::time::Instant::now()).as_secs_f64());
            let client = janus.join(&format!("Pupil{i}"), 1234, &["--send-audio", "none", "--send-video", "none", "--duration", &stay]);
            std::thread::sleep(Duration::from_millis(50));
            client
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let died = now_ms();
    janus.stop_server();
    std::thread::sleep(down);
    janus.restart_server();
    let back = now_ms();
    let outcomes: Vec<Outcome> = class.into_iter().map(|c| c.wait(Duration::from_secs(90))).collect();

    let mut returns = Vec::new();
    let mut tries_while_down = Vec::new();
    let mut lost = 0;
    for o in &outcomes {
        tries_while_down.push(times(o, "reconnecting", None).iter().filter(|&&t| t >= died && t < back).count() as f64);
        match times(o, "reconnected", Some("rejoin")).into_iter().find(|&t| t > died) {
            Some(t) => returns.push(t.saturating_sub(back) as f64),
            None => {
                lost += 1;
                eprintln!("{} did not come back: {:?}", o.name, o.lines.iter().filter(|l| l["event"].is_string()).collect::<Vec<_>>());
            }
        }
    }
    returns.sort_by(f64::total_cmp);
    tries_while_down.sort_by(f64::total_cmp);
    let window_s = returns.last().copied().unwrap_or(0.0) / 1000.0;
    let mut per_second = vec![0u32; window_s as usize + 1];
    for r in &returns {
        per_second[(r / 1000.0) as usize] += 1;
    }
    let busiest = f64::from(*per_second.iter().max().unwrap_or(&0));
    let mean = returns.len() as f64 / per_second.len() as f64;

    let cpu = std::process::Command::new("sh").args(["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).output().expect("sh");
    println!(
        "Machine: {} cores,{}; release build; one Janus in a private network namespace, killed with every client in class and started again {:.0} s later; {clients} `estrade-cli` clients, no media.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        String::from_utf8_lossy(&cpu.stdout).trim_end(),
        down.as_secs_f64()
    );
    println!("| back in class after the server's return, ms | p50 | p95 | max | not back |\n|---|---|---|---|---|");
    if returns.is_empty() {
        println!("| {clients} clients | | | | {lost} |");
    } else {
        println!(
            "| {clients} clients | {:.0} | {:.0} | {:.0} | {lost} |",
            percentile(&returns, 50.0),
            percentile(&returns, 95.0),
            returns[returns.len() - 1]
        );
    }
    println!("\n| arrivals per second after the return | busiest second | mean | busiest / mean |\n|---|---|---|---|");
    println!("| {:?} | {busiest} | {mean:.1} | {:.2} |", per_second, busiest / mean.max(f64::MIN_POSITIVE));
    if !tries_while_down.is_empty() {
        println!("\nAttempts per client while the server was down ({:.0} s): median {:.0}, most {:.0}.", down.as_secs_f64(), percentile(&tries_while_down, 50.0), tries_while_down[tries_while_down.len() - 1]);
    }
}
