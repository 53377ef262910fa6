//! What `diffsweep-bench` found, and its two formats: markdown tables to paste into
//! BENCHMARKS.md, and one JSON object.

use std::fmt::Write;

use anyhow::Context;
use serde::Serialize;

use ddpm::fused::peak::FmaPeak;

use crate::{machine::Machine, sweep::SweepFigures, timing::Timing};

/// Training figures at one `(n, T)`.
#[derive(Serialize, Debug)]
pub struct TrainFigures {
    /// Training points.
    pub n: usize,
    /// Diffusion steps.
    pub steps: usize,
    /// Epochs per sample.
    pub epochs_per_sample: usize,
    /// Floating-point operations of one epoch's matrix products (2 per multiply-add).
    pub flops: u64,
    /// `ddpm::train::train`, in this process: ms per epoch.
    pub ours: Timing,
    /// `diffsweep train` in a child process, ms per epoch as it reports it.
    pub ours_cli: Option<Timing>,
    /// The PyTorch reference, ms per epoch.
    pub pytorch: Option<Timing>,
    /// The previous production path (dfdx autodiff and AdamW), ms per epoch.
    pub dfdx: Option<Timing>,
}

/// Sampling figures.
#[derive(Serialize, Debug)]
pub struct SampleFigures {
    /// Points drawn at once.
    pub n: usize,
    /// Reverse steps.
    pub steps: usize,
    /// `ddpm::sample::sample`: ms for the whole draw.
    pub ours: Timing,
    /// The PyTorch reference: ms for the whole draw.
    pub pytorch: Option<Timing>,
}

/// One training epoch and its matrix products alone, on one instruction set under one
/// tile-height rule.
#[derive(Serialize, Debug)]
pub struct ProductFigures {
    /// The instruction-set path.
    pub isa: &'static str,
    /// The tile-height rule ([`ddpm::fused::gemm::Tiling::name`]).
    pub tiles: &'static str,
    /// Whether this is the rule this core chose (on the path a run takes).
    pub chosen: bool,
    /// Training points (T = 10).
    pub n: usize,
    /// ms per training epoch.
    pub epoch: Timing,
    /// ms for the epoch's products.
    pub timing: Timing,
    /// Floating-point operations of the products.
    pub flops: u64,
}

/// One epoch with the training step cut into blocks of `rows` rows.
#[derive(Serialize, Debug)]
pub struct BlockFigures {
    /// Rows per block.
    pub rows: usize,
    /// Training points.
    pub n: usize,
    /// A block's buffers, KB (rows x `BYTES_PER_ROW`).
    pub working_set_kb: usize,
    /// Whether this is the size chosen for this core's L2.
    pub chosen: bool,
    /// ms per epoch.
    pub timing: Timing,
    /// Floating-point operations of the epoch's products.
    pub flops: u64,
}

/// Everything one `diffsweep-bench` run measured.
#[derive(Serialize, Debug)]
pub struct BenchReport {
    /// The machine.
    pub machine: Machine,
    /// The command that produced it.
    pub command: String,
    /// The FMA peak of one core on each vector path.
    pub fma_peaks: Vec<FmaPeak>,
    /// Why the products take the tile rule they take on this core.
    pub tiling_reason: String,
    /// PyTorch's version, or why the reference was skipped.
    pub pytorch: Result<String, String>,
    /// Training epochs.
    pub training: Vec<TrainFigures>,
    /// Whole sampling runs.
    pub sampling: Vec<SampleFigures>,
    /// One epoch and its products, per instruction set and tile rule.
    pub products: Vec<ProductFigures>,
    /// One epoch per block size.
    pub blocks: Vec<BlockFigures>,
    /// All three metrics at 1000 points, as a run scores its samples.
    pub metrics_ms: Timing,
    /// The throughput sweeps.
    pub sweep: Vec<SweepFigures>,
    /// Peak resident memory of one run, MB.
    pub peak_rss_mb: Option<f64>,
}

fn gflops(flops: u64, t: Timing) -> f64 {
    flops as f64 / (t.median_ms * 1e-3) / 1e9
}

impl BenchReport {
    /// The FMA peak of the path `isa`, GFLOP/s.
    pub fn peak_of(&self, isa: &str) -> Option<f64> {
        self.fma_peaks
            .iter()
            .find(|p| p.isa == isa)
            .map(|p| p.gflops)
    }

    /// `gflops` as a share of the peak of `isa`, as `78%`; `–` where the peak is unknown.
    fn share_of_peak(&self, gflops: f64, isa: &str) -> String {
        self.peak_of(isa).map_or("–".into(), |peak| {
            format!("{:.0}%", 100.0 * gflops / peak)
        })
    }
}

fn cell(t: Option<Timing>) -> String {
    t.map_or("–".into(), |t| {
        format!("{:.3} ({:.3})", t.median_ms, t.min_ms)
    })
}

fn ratio(reference: Option<Timing>, ours: Timing) -> String {
    reference.map_or("–".into(), |r| {
        format!("{:.2}x", r.median_ms / ours.median_ms)
    })
}

/// An output format.
pub trait Exporter {
    /// The report as text.
    fn export(&self, report: &BenchReport) -> anyhow::Result<String>;
}

/// The report as one JSON object.
pub struct Json;

impl Exporter for Json {
    fn export(&self, report: &BenchReport) -> anyhow::Result<String> {
        let mut text = serde_json::to_string_pretty(report).context("cannot encode the report")?;
        text.push('\n');
        Ok(text)
    }
}

/// Markdown tables to paste into BENCHMARKS.md.
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, r: &BenchReport) -> anyhow::Result<String> {
        let mut out = String::new();
        let m = &r.machine;
        let loads = |l: [f64; 3]| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]);
        let busy = m
            .busy_before
            .map_or("unknown".into(), |b| format!("{:.0}%", 100.0 * b));
        writeln!(
            out,
            "Machine: {}, {} logical CPUs; fused kernels on `{}` (available: {}).  ",
            m.cpu,
            m.cpus,
            m.kernel_isa,
            m.available_isas.join(", ")
        )?;
        writeln!(
            out,
            "Load average before: {} (CPUs busy in the second before: {busy}); after: {}.  ",
            loads(m.load_before),
            loads(m.load_after)
        )?;
        let caches: Vec<String> = m
            .caches
            .iter()
            .map(|c| format!("{} {} KB", c.name(), c.bytes / 1024))
            .collect();
        writeln!(
            out,
            "Caches of CPU 0 (/sys/devices/system/cpu/cpu0/cache): {}.  ",
            if caches.is_empty() {
                "unknown".to_string()
            } else {
                caches.join(", ")
            }
        )?;
        let peaks: Vec<String> = r
            .fma_peaks
            .iter()
            .map(|p| {
                format!(
                    "`{}` {:.1} GFLOP/s ({} f32 lanes)",
                    p.isa, p.gflops, p.lanes
                )
            })
            .collect();
        writeln!(
            out,
            "FMA peak of one core ({} independent FMA chains): {}.  ",
            ddpm::fused::peak::CHAINS,
            if peaks.is_empty() {
                "no vector path".to_string()
            } else {
                peaks.join(", ")
            }
        )?;
        if m.under_load() {
            writeln!(
                out,
                "**Measured under load**: other processes were running.  "
            )?;
        }
        match &r.pytorch {
            Ok(version) => writeln!(out, "PyTorch reference: torch {version}, 1 thread.  ")?,
            Err(why) => writeln!(out, "PyTorch reference skipped: {why}.  ")?,
        }
        writeln!(
            out,
            "Command: `{}`. Everything runs on one core; competitors run interleaved, one \
             sample each in turn; cells give the median (minimum) over the samples.",
            r.command
        )?;

        writeln!(out)?;
        writeln!(out, "### Training (the post's network and loop: moons, polynomial, minmax, full-batch AdamW)")?;
        writeln!(out)?;
        writeln!(
            out,
            "| n | T | diffsweep ms/epoch | `diffsweep train` ms/epoch | PyTorch ms/epoch | dfdx autodiff (before) ms/epoch | PyTorch / diffsweep | before / after | GFLOP/s | of FMA peak | samples x epochs |"
        )?;
        writeln!(
            out,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for t in &r.training {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} x {} |",
                t.n,
                t.steps,
                cell(Some(t.ours)),
                cell(t.ours_cli),
                cell(t.pytorch),
                cell(t.dfdx),
                ratio(t.pytorch, t.ours),
                ratio(t.dfdx, t.ours),
                gflops(t.flops, t.ours),
                r.share_of_peak(gflops(t.flops, t.ours), m.kernel_isa),
                t.ours.samples,
                t.epochs_per_sample
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "GFLOP/s counts the matrix products only, 2 flops per multiply-add (66,820 per point \
             and epoch: forward, weight gradients, and the input gradients that are read). \
             `diffsweep train` is the CLI in a child process, 1000 epochs, its own \
             `seconds_per_epoch`. \"Of FMA peak\" divides that rate by the peak of the path \
             the kernels took (`{}`), measured above on this core.",
            m.kernel_isa
        )?;

        writeln!(out)?;
        writeln!(out, "### Sampling (ancestral, posterior variance)")?;
        writeln!(out)?;
        writeln!(out, "| points | reverse steps | diffsweep ms | PyTorch ms | PyTorch / diffsweep | samples |")?;
        writeln!(out, "|---:|---:|---:|---:|---:|---:|")?;
        for s in &r.sampling {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                s.n,
                s.steps,
                cell(Some(s.ours)),
                cell(s.pytorch),
                ratio(s.pytorch, s.ours),
                s.ours.samples
            )?;
        }

        writeln!(out)?;
        writeln!(
            out,
            "### One epoch and its matrix products, per instruction set and tile height (n = {}, T = 10)",
            r.products.first().map_or(0, |p| p.n)
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| path | tiles | epoch ms | epoch GFLOP/s | epoch of FMA peak | products ms | products GFLOP/s | products of FMA peak |"
        )?;
        writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
        for p in &r.products {
            writeln!(
                out,
                "| {} | {}{} | {} | {:.1} | {} | {} | {:.1} | {} |",
                p.isa,
                p.tiles,
                if p.chosen { " (chosen)" } else { "" },
                cell(Some(p.epoch)),
                gflops(p.flops, p.epoch),
                r.share_of_peak(gflops(p.flops, p.epoch), p.isa),
                cell(Some(p.timing)),
                gflops(p.flops, p.timing),
                r.share_of_peak(gflops(p.flops, p.timing), p.isa)
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "Each path trains the same bits; a run takes `{}` with the tile rule marked chosen, \
             which this core's FMA rates decided ({}). Each share of peak divides by its own \
             path's peak.",
            m.kernel_isa, r.tiling_reason
        )?;

        writeln!(out)?;
        writeln!(
            out,
            "### Blocks of a training step (n = 10,000, T = 10; rows chosen for this L2: {})",
            r.blocks
                .iter()
                .find(|b| b.chosen)
                .map_or("–".to_string(), |b| b.rows.to_string())
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| rows per block | block buffers KB | ms/epoch | GFLOP/s | of FMA peak |"
        )?;
        writeln!(out, "|---:|---:|---:|---:|---:|")?;
        for b in &r.blocks {
            let rate = gflops(b.flops, b.timing);
            writeln!(
                out,
                "| {}{} | {} | {} | {:.1} | {} |",
                b.rows,
                if b.chosen { " (chosen)" } else { "" },
                b.working_set_kb,
                cell(Some(b.timing)),
                rate,
                r.share_of_peak(rate, m.kernel_isa)
            )?;
        }

        writeln!(out)?;
        writeln!(out, "### Sweeps and memory")?;
        writeln!(out)?;
        writeln!(
            out,
            "- All three metrics of 1000 samples: {} ms.",
            cell(Some(r.metrics_ms))
        )?;
        if let [one, two] = &r.sweep[..] {
            writeln!(
                out,
                "- Throughput sweep ({} runs of {} points, {} epochs, T = 10, fresh store): \
                 `--jobs 1` {:.1} s, `--jobs 2` {:.1} s; ratio {:.2} (target at least 1.9).",
                one.runs,
                crate::sweep::SWEEP_POINTS,
                crate::sweep::SWEEP_EPOCHS,
                one.seconds,
                two.seconds,
                two.runs_per_minute() / one.runs_per_minute()
            )?;
        }
        match r.peak_rss_mb {
            Some(mb) => writeln!(
                out,
                "- Peak memory (VmHWM) of one whole run at n = {} ({} epochs, T = 10, fresh \
                 process): {mb:.1} MB.",
                crate::sweep::RSS_POINTS,
                crate::sweep::RSS_EPOCHS
            )?,
            None => writeln!(out, "- Peak memory: unavailable (no /proc/self/status).")?,
        }
        Ok(out)
    }
}
