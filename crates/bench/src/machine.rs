//! The machine a benchmark ran on and how busy it was.

use std::time::Duration;

use serde::Serialize;

/// The machine and its load.
#[derive(Serialize, Debug)]
pub struct Machine {
    /// The CPU model, from /proc/cpuinfo.
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cpus: usize,
    /// The instruction-set path the fused kernels take here.
    pub kernel_isa: &'static str,
    /// Every path this CPU supports (the product figures time each).
    pub available_isas: Vec<&'static str>,
    /// 1, 5 and 15-minute load averages before the benchmark started.
    pub load_before: [f64; 3],
    /// The same, after it finished.
    pub load_after: [f64; 3],
    /// Share of all CPUs busy (with other processes) over one second before the start.
    pub busy_before: Option<f64>,
    /// The caches of CPU 0, as the kernel reports them (empty where it does not).
    pub caches: Vec<runner::caches::Cache>,
}

impl Machine {
    /// Describes this machine, watching its load for one second.
    pub fn observe() -> Machine {
        Machine {
            cpu: runner::Provenance::current().cpu.clone(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel_isa: ddpm::fused::Isa::detect().name(),
            available_isas: ddpm::fused::Isa::available()
                .iter()
                .map(|i| i.name())
                .collect(),
            load_before: load_average(),
            load_after: [f64::NAN; 3],
            busy_before: busy_share(Duration::from_secs(1)),
            caches: runner::caches::of_cpu0(),
        }
    }

    /// Records the load at the end.
    pub fn finish(&mut self) {
        self.load_after = load_average();
    }

    /// Whether the figures were measured while something else ran.
    pub fn under_load(&self) -> bool {
        self.load_before[0] > 1.0 || self.busy_before.is_some_and(|b| b > 0.25)
    }
}

fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN));
    [(); 3].map(|_| fields.next().unwrap_or(f64::NAN))
}

/// `(busy, total)` jiffies of all CPUs since boot, from /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total.checked_sub(idle)?, total))
}

fn busy_share(over: Duration) -> Option<f64> {
    let (busy0, total0) = cpu_jiffies()?;
    std::thread::sleep(over);
    let (busy1, total1) = cpu_jiffies()?;
    let total = total1.checked_sub(total0)?;
    (total > 0).then(|| busy1.saturating_sub(busy0) as f64 / total as f64)
}
