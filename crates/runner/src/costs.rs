//! Where a sweep's time goes outside the numbers: per-phase wall-clock totals that the
//! executor and the store add to as they work (locks, store reads, training, evaluation,
//! serialisation, file writes, fsyncs, renames, progress events). Process-wide counters,
//! a relaxed atomic add per timed call; `diffsweep-bench --overhead` prints them per cell.
//!
//! The phases do not overlap: a store write is counted as its file writes, fsyncs and
//! directory operations, and everything else it does (encoding the record, the config,
//! the samples and weights, and hashing them) as [`Phase::Serialise`].

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A part of a sweep's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Looking up each cell before the sweep starts (which are stored), apart from the
    /// record reads themselves, which are [`Phase::Read`].
    Plan,
    /// Taking a run's or a model's lock file.
    Lock,
    /// Reading a record, a model record or a model's weights back (checked).
    Read,
    /// Training a model (the backend).
    Train,
    /// Sampling and scoring a cell (the backend).
    Evaluate,
    /// Encoding what a store write holds, and hashing it.
    Serialise,
    /// Creating and writing files.
    Write,
    /// `fsync` of files and directories.
    Fsync,
    /// Creating, renaming and removing directories of a store write.
    Rename,
    /// The observer's events (progress lines, logs).
    Events,
}

impl Phase {
    /// Every phase, in the order a cell meets them.
    pub const ALL: [Phase; 10] = [
        Phase::Plan,
        Phase::Lock,
        Phase::Read,
        Phase::Train,
        Phase::Evaluate,
        Phase::Serialise,
        Phase::Write,
        Phase::Fsync,
        Phase::Rename,
        Phase::Events,
    ];

    /// The phase's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Plan => "pre-sweep lookups (less their reads)",
            Phase::Lock => "locks",
            Phase::Read => "store reads",
            Phase::Train => "training",
            Phase::Evaluate => "sampling and metrics",
            Phase::Serialise => "serialisation and hashing",
            Phase::Write => "file writes",
            Phase::Fsync => "fsyncs",
            Phase::Rename => "directories and renames",
            Phase::Events => "progress events",
        }
    }

    fn index(self) -> usize {
        Phase::ALL
            .iter()
            .position(|p| *p == self)
            .expect("ALL lists every phase")
    }
}

static NANOS: [AtomicU64; Phase::ALL.len()] = [const { AtomicU64::new(0) }; Phase::ALL.len()];
static CALLS: [AtomicU64; Phase::ALL.len()] = [const { AtomicU64::new(0) }; Phase::ALL.len()];

thread_local! {
    /// Nanoseconds every timed span of this thread took, nested ones included once.
    static COUNTED: Cell<u64> = const { Cell::new(0) };
    /// This thread's own totals per phase.
    static MINE: [Cell<u64>; Phase::ALL.len()] = const { [const { Cell::new(0) }; Phase::ALL.len()] };
}

/// Runs `work`, adding its wall-clock time to `phase`, less the time of the spans timed
/// inside it (on this thread), which count in their own phases: phases never overlap.
pub fn timed<T>(phase: Phase, work: impl FnOnce() -> T) -> T {
    let before = COUNTED.with(Cell::get);
    let started = Instant::now();
    let value = work();
    let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let inner = COUNTED.with(Cell::get).saturating_sub(before);
    let own = elapsed.saturating_sub(inner);
    COUNTED.with(|c| c.set(before.saturating_add(elapsed.max(inner))));
    MINE.with(|mine| {
        let cell = &mine[phase.index()];
        cell.set(cell.get().saturating_add(own));
    });
    NANOS[phase.index()].fetch_add(own, Ordering::Relaxed);
    CALLS[phase.index()].fetch_add(1, Ordering::Relaxed);
    value
}

/// This thread's own nanoseconds in `phase`.
pub fn this_thread(phase: Phase) -> u64 {
    MINE.with(|mine| mine[phase.index()].get())
}

/// One phase's totals since the process started (or the last [`reset`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Total {
    /// Wall-clock nanoseconds, summed over threads.
    pub nanos: u64,
    /// Timed calls.
    pub calls: u64,
}

/// The totals of `phase`.
pub fn total(phase: Phase) -> Total {
    Total {
        nanos: NANOS[phase.index()].load(Ordering::Relaxed),
        calls: CALLS[phase.index()].load(Ordering::Relaxed),
    }
}

/// Sets every total back to zero.
pub fn reset() {
    for (nanos, calls) in NANOS.iter().zip(&CALLS) {
        nanos.store(0, Ordering::Relaxed);
        calls.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times add up in their phase, and a span's inner spans are not counted twice.
    #[test]
    fn phases_add_up_without_overlap() {
        let sleep = |ms| std::thread::sleep(std::time::Duration::from_millis(ms));
        let (write0, serialise0) = (this_thread(Phase::Write), this_thread(Phase::Serialise));
        let calls0 = total(Phase::Write).calls;
        timed(Phase::Serialise, || {
            sleep(20);
            timed(Phase::Write, || sleep(30));
        });
        let write = this_thread(Phase::Write) - write0;
        let serialise = this_thread(Phase::Serialise) - serialise0;
        assert!(write >= 30_000_000, "{write}");
        assert!(
            (20_000_000..30_000_000).contains(&serialise),
            "the span's own 20 ms, not the 30 ms inside it: {serialise}"
        );
        assert!(total(Phase::Write).calls > calls0);
    }
}
