//! How many rows of `C` one micro-kernel call computes: chosen once per process from the
//! core's measured FMA rates, never changing a result (each output's sum runs in the same
//! order whatever the tile height; the tests run every product with both).
//!
//! AVX2 has 16 vector registers: 6 rows x 2 vectors = 12 accumulators, with the two `B`
//! vectors and one broadcast. AVX-512 has 32, room for 8 rows x 2 vectors = 16
//! accumulators: on a core with two 512-bit FMA units (an Intel Xeon) they give the FMAs
//! more independent sums per broadcast, and the one-vector tail panels 8 sums instead of
//! 6, but they move through the stack once per call, which short sums do not repay (at
//! n = 1000 on an Intel Xeon: 8-11% faster at 100 and 1000 terms, 15-117% slower at 2 to
//! 20), so below 64 terms it is 6 rows there too. On a core that splits each 512-bit FMA
//! into two 256-bit halves (AMD Zen 4) the 6-row tiles already keep its FMA pipes busy and
//! the 8-row ones measured 10-15% slower, so it is 6 rows throughout (BENCHMARKS.md,
//! "8-row tiles on AVX-512" and "tile height from the FMA rates").

use std::{cell::Cell, sync::OnceLock};

use super::super::{isa::Isa, peak};

/// The tile height rule of the AVX-512 path (the AVX2 and scalar paths always use 6 rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tiling {
    /// 6 rows for every product.
    SixRows,
    /// 8 rows for sums of 64 terms or more, 6 below.
    EightRows,
}

/// The shortest sum that 8-row tiles take under [`Tiling::EightRows`].
const EIGHT_ROWS_FROM: usize = 64;

/// A 512-bit FMA rate at least this many times the 256-bit one means two full-width
/// 512-bit FMA units (about 1.9 measured on an Intel Xeon, 1.0 on AMD Zen 4).
const FULL_WIDTH_RATIO: f64 = 1.5;

/// FMA-chain rounds per timing of the probe: about 0.1-0.2 ms per path.
const PROBE_ROUNDS: usize = 1 << 16;

/// What the probe of this core found, and the rule it chose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileChoice {
    /// The rule.
    pub tiling: Tiling,
    /// The AVX-512 FMA rate over the AVX2 one, when the core has both paths.
    pub wide_over_narrow: Option<f64>,
}

impl TileChoice {
    /// The rule for a core whose 512-bit FMA rate is `ratio` times its 256-bit one.
    fn from_ratio(ratio: Option<f64>) -> TileChoice {
        let full_width = ratio.is_some_and(|r| r >= FULL_WIDTH_RATIO);
        TileChoice {
            tiling: if full_width {
                Tiling::EightRows
            } else {
                Tiling::SixRows
            },
            wide_over_narrow: ratio,
        }
    }

    /// One line saying what was measured and what it decided, for the bench.
    pub fn describe(&self) -> String {
        match self.wide_over_narrow {
            Some(ratio) => format!(
                "AVX-512 FMA rate {ratio:.2}x the AVX2 one in a 2 ms probe; 8-row tiles from \
                 {FULL_WIDTH_RATIO}x: {}",
                self.tiling.name()
            ),
            None => format!("no AVX-512 path: {}", self.tiling.name()),
        }
    }
}

static THIS_CORE: OnceLock<TileChoice> = OnceLock::new();

thread_local! {
    static CHOSEN: Cell<Option<Tiling>> = const { Cell::new(None) };
}

impl Tiling {
    /// Both rules.
    pub const ALL: [Tiling; 2] = [Tiling::SixRows, Tiling::EightRows];

    /// The rule for this core, measured once per process (about 2 ms): 8-row tiles where
    /// the AVX-512 FMA rate is at least 1.5 times the AVX2 one.
    pub fn for_this_core() -> Tiling {
        Tiling::choice().tiling
    }

    /// What the probe found (run on first use, once per process).
    pub fn choice() -> TileChoice {
        *THIS_CORE.get_or_init(|| {
            let peaks = peak::measure(PROBE_ROUNDS, 5);
            let rate = |name: &str| peaks.iter().find(|p| p.isa == name).map(|p| p.gflops);
            let ratio = rate(Isa::Avx512.name())
                .zip(rate(Isa::Avx2Fma.name()))
                .map(|(wide, narrow)| wide / narrow);
            TileChoice::from_ratio(ratio)
        })
    }

    /// The rule products on this thread use now: the one [`use_tiling`] set, else
    /// [`Tiling::for_this_core`].
    pub fn now() -> Tiling {
        CHOSEN.with(Cell::get).unwrap_or_else(Tiling::for_this_core)
    }

    /// The name the bench prints.
    pub fn name(self) -> &'static str {
        match self {
            Tiling::SixRows => "6 rows",
            Tiling::EightRows => "8 rows from 64 terms, else 6",
        }
    }

    /// Rows of `C` per micro-kernel call on a path with `lanes` lanes, for a sum of
    /// `depth` terms.
    pub(super) fn rows(self, lanes: usize, depth: usize) -> usize {
        if self == Tiling::EightRows && lanes >= 16 && depth >= EIGHT_ROWS_FROM {
            8
        } else {
            6
        }
    }
}

/// Until the returned guard drops, products on this thread use `tiling` (the bench
/// compares the rules with it, the tests run every product under both).
pub fn use_tiling(tiling: Tiling) -> TilingGuard {
    TilingGuard(CHOSEN.with(|chosen| chosen.replace(Some(tiling))))
}

/// Restores the thread's previous rule when dropped.
#[must_use = "the rule holds only while the guard lives"]
pub struct TilingGuard(Option<Tiling>);

impl Drop for TilingGuard {
    fn drop(&mut self) {
        CHOSEN.with(|chosen| chosen.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_rows_only_on_avx512_for_long_sums_under_that_rule() {
        assert_eq!(Tiling::EightRows.rows(16, 64), 8);
        assert_eq!(Tiling::EightRows.rows(16, 63), 6);
        assert_eq!(Tiling::EightRows.rows(8, 1000), 6);
        assert_eq!(Tiling::SixRows.rows(16, 1000), 6);
    }

    #[test]
    fn eight_rows_only_where_512_bit_fmas_run_at_full_width() {
        assert_eq!(TileChoice::from_ratio(Some(1.9)).tiling, Tiling::EightRows);
        assert_eq!(TileChoice::from_ratio(Some(1.5)).tiling, Tiling::EightRows);
        assert_eq!(TileChoice::from_ratio(Some(1.02)).tiling, Tiling::SixRows);
        assert_eq!(TileChoice::from_ratio(None).tiling, Tiling::SixRows);
        let probed = Tiling::choice();
        assert_eq!(probed, TileChoice::from_ratio(probed.wide_over_narrow));
        assert!(probed.describe().contains(probed.tiling.name()));
    }

    #[test]
    fn a_guard_sets_the_rule_for_its_lifetime_only() {
        let before = Tiling::now();
        for tiling in Tiling::ALL {
            let outer = use_tiling(tiling);
            assert_eq!(Tiling::now(), tiling);
            {
                let _inner = use_tiling(Tiling::SixRows);
                assert_eq!(Tiling::now(), Tiling::SixRows);
            }
            assert_eq!(Tiling::now(), tiling);
            drop(outer);
        }
        assert_eq!(Tiling::now(), before);
    }
}
