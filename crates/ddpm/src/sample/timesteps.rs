//! Which steps a reverse process of `K` steps over `T` visits: diffusers' timestep
//! spacings.

use crate::config::Spacing;

/// The 1-based steps `t` that a reverse process of `k` steps over `t_max = T` visits, in
/// the order it visits them (descending). These are diffusers' `timestep_spacing` tables
/// (`steps_offset = 0`) plus one, since diffusers counts steps from 0:
///
/// - `linspace`: `round(linspace(0, T - 1, K))`, numpy's rounding (half to even);
/// - `leading`: `arange(0, K) * (T div K)`;
/// - `trailing`: `round(arange(T, 0, -T / K)) - 1`, the first `K` values.
///
/// Each is strictly monotone for `1 <= k <= T` (consecutive values are at least one
/// apart before rounding), so no step repeats; `k = T` gives `T, T - 1, ..., 1` for
/// every spacing. Panics unless `1 <= k <= t_max`, which [`crate::RunConfig::validate`]
/// guarantees.
pub fn timesteps(t_max: usize, k: usize, spacing: Spacing) -> Vec<usize> {
    assert!(
        (1..=t_max).contains(&k),
        "a reverse process of {k} steps over T = {t_max} steps"
    );
    let zero_based: Vec<usize> = match spacing {
        Spacing::Linspace => {
            // numpy's linspace: i * step, with the last point exactly the end point, and a
            // single point at the start.
            let end = (t_max - 1) as f64;
            if k == 1 {
                vec![0]
            } else {
                let step = end / (k - 1) as f64;
                (0..k)
                    .map(|i| {
                        let value = if i == k - 1 { end } else { i as f64 * step };
                        value.round_ties_even() as usize
                    })
                    .collect()
            }
        }
        Spacing::Leading => {
            let ratio = t_max / k;
            (0..k).map(|i| i * ratio).collect()
        }
        Spacing::Trailing => {
            // numpy's arange: the first two values, then start + i * (second - first).
            let start = t_max as f64;
            let delta = (start - start / k as f64) - start;
            (0..k)
                .map(|i| (start + i as f64 * delta).round_ties_even() as usize - 1)
                .collect()
        }
    };
    let mut steps: Vec<usize> = zero_based.into_iter().map(|t| t + 1).collect();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps
}
