//! What a process tree costs: CPU over a window, memory, from /proc. For the benchmarks.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100.0)
}

/// A process and all its descendants.
pub fn tree(root_pid: u32) -> Vec<u32> {
    let mut parent_of: HashMap<u32, u32> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a.to_owned()) else { continue };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parent_of.insert(pid, ppid);
        }
    }
    let mut all = vec![root_pid];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        all.extend(parent_of.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    all
}

/// CPU ticks used so far by a process tree.
pub fn cpu_ticks(root_pid: u32) -> u64 {
    tree(root_pid)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            let after = stat.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = after.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// (summed peak RSS, summed PSS) of a process tree, in MiB.
pub fn memory_mib(root_pid: u32) -> (f64, f64) {
    let field = |text: &str, key: &str| -> f64 {
        text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    let (mut hwm, mut pss) = (0.0, 0.0);
    for pid in tree(root_pid) {
        hwm += std::fs::read_to_string(format!("/proc/{pid}/status")).map(|s| field(&s, "VmHWM:")).unwrap_or(0.0);
        pss += std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).map(|s| field(&s, "Pss:")).unwrap_or(0.0);
    }
    (hwm / 1024.0, pss / 1024.0)
}

/// What a process tree cost over a window.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// CPU, in % of one core.
    pub cpu_percent: f64,
    /// Peak RSS summed over the processes, MiB.
    pub peak_rss_mib: f64,
    /// PSS summed over the processes, MiB.
    pub pss_mib: f64,
}

/// Measures a running process tree over `window`.
pub fn measure(pid: u32, window: Duration) -> Cost {
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(window);
    let (c1, elapsed) = (cpu_ticks(pid), t0.elapsed().as_secs_f64());
    let (peak_rss_mib, pss_mib) = memory_mib(pid);
    Cost { cpu_percent: (c1.saturating_sub(c0)) as f64 / ticks_per_second() / elapsed * 100.0, peak_rss_mib, pss_mib }
}

