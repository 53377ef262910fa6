//! Confidence intervals over seeds: Student t for one cell; for a difference, the paired
//! t interval when both sides have the same seeds, Welch's t interval otherwise.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The confidence level of every interval in a report.
pub const CONFIDENCE: f64 = 0.95;

/// The two-sided quantile `t_{1 - (1 - level)/2, df}` of Student's t distribution with
/// `df` degrees of freedom (`df` may be fractional, as Welch's is). `None` unless
/// `df > 0` and finite.
pub fn t_quantile(level: f64, df: f64) -> Option<f64> {
    if !(df.is_finite() && df > 0.0) {
        return None;
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(dist.inverse_cdf(1.0 - (1.0 - level) / 2.0))
}

/// The mean of a sample with its spread and a confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The number of finite values.
    pub n: usize,
    /// Their mean; NaN when `n = 0`.
    pub mean: f64,
    /// The sample standard deviation `s = sqrt(sum (x - mean)^2 / (n - 1))`; NaN when `n < 2`.
    pub std: f64,
    /// Half the width of the 95% interval, `t_{0.975, n-1} s / sqrt(n)`; NaN when `n < 2`.
    pub half_width: f64,
}

impl Estimate {
    /// Builds the estimate from a mean and sample standard deviation of `n` values.
    pub fn from_moments(n: usize, mean: f64, std: f64) -> Estimate {
        let half_width = if n >= 2 {
            t_quantile(CONFIDENCE, (n - 1) as f64).map_or(f64::NAN, |t| t * std / (n as f64).sqrt())
        } else {
            f64::NAN
        };
        Estimate {
            n,
            mean: if n == 0 { f64::NAN } else { mean },
            std: if n >= 2 { std } else { f64::NAN },
            half_width,
        }
    }

    /// The estimate of `values` (non-finite values are skipped).
    pub fn of(values: &[f64]) -> Estimate {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = finite.len();
        if n == 0 {
            return Estimate::from_moments(0, f64::NAN, f64::NAN);
        }
        let mean = finite.iter().sum::<f64>() / n as f64;
        let std = if n >= 2 {
            (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            f64::NAN
        };
        Estimate::from_moments(n, mean, std)
    }

    /// The lower end of the interval.
    pub fn lower(&self) -> f64 {
        self.mean - self.half_width
    }

    /// The upper end of the interval.
    pub fn upper(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// The difference of two means `mean_a - mean_b` with Welch's interval, which does not
/// assume equal variances:
/// `se = sqrt(s_a^2/n_a + s_b^2/n_b)`,
/// `df = se^4 / ((s_a^2/n_a)^2/(n_a - 1) + (s_b^2/n_b)^2/(n_b - 1))` (Welch-Satterthwaite),
/// `CI = diff ± t_{0.975, df} se`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    /// `mean_a - mean_b`.
    pub diff: f64,
    /// Lower end of the 95% interval.
    pub lower: f64,
    /// Upper end of the 95% interval.
    pub upper: f64,
    /// Degrees of freedom: Welch-Satterthwaite's, or `n - 1` for a paired interval;
    /// infinite when the difference is known exactly.
    pub df: f64,
    /// Which interval it is.
    pub method: Interval,
    /// The standard error of `diff` (0 when it is known exactly).
    pub se: f64,
    /// The confidence level of `lower..upper` ([`CONFIDENCE`] unless widened).
    pub level: f64,
}

/// How the interval of a difference was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// Welch's t interval of two independent samples.
    Welch,
    /// The t interval of the per-seed differences `a_s - b_s` (both sides have the same
    /// seeds, which share the data draw, initial weights and sampling noise).
    Paired,
}

impl Interval {
    /// The name in tables: `welch` or `paired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Welch => "welch",
            Interval::Paired => "paired",
        }
    }
}

impl Difference {
    /// Welch's interval for `a - b`; `None` unless both sides have at least two values.
    pub fn welch(a: &Estimate, b: &Estimate) -> Option<Difference> {
        if a.n < 2 || b.n < 2 {
            return None;
        }
        let va = a.std.powi(2) / a.n as f64;
        let vb = b.std.powi(2) / b.n as f64;
        let diff = a.mean - b.mean;
        let se = (va + vb).sqrt();
        if se == 0.0 {
            // Both sides are constant across seeds: the difference is known exactly.
            return Some(Difference {
                diff,
                lower: diff,
                upper: diff,
                df: f64::INFINITY,
                method: Interval::Welch,
                se: 0.0,
                level: CONFIDENCE,
            });
        }
        let df =
            (va + vb).powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
        let t = t_quantile(CONFIDENCE, df)?;
        Some(Difference {
            diff,
            lower: diff - t * se,
            upper: diff + t * se,
            df,
            method: Interval::Welch,
            se,
            level: CONFIDENCE,
        })
    }

    /// The paired interval of `a - b` from `(a_s, b_s)` pairs of the same seeds: the
    /// Student t interval of the differences `d_s = a_s - b_s`,
    /// `mean(d) ± t_{0.975, n-1} s_d / sqrt(n)`; `None` with fewer than two pairs or a
    /// non-finite value.
    pub fn paired(pairs: &[(f64, f64)]) -> Option<Difference> {
        let d: Vec<f64> = pairs.iter().map(|(a, b)| a - b).collect();
        let estimate = Estimate::of(&d);
        if estimate.n < 2 || estimate.n != pairs.len() {
            return None;
        }
        let exact = estimate.std == 0.0;
        Some(Difference {
            diff: estimate.mean,
            lower: if exact {
                estimate.mean
            } else {
                estimate.lower()
            },
            upper: if exact {
                estimate.mean
            } else {
                estimate.upper()
            },
            df: if exact {
                f64::INFINITY
            } else {
                (estimate.n - 1) as f64
            },
            method: Interval::Paired,
            se: estimate.std / (estimate.n as f64).sqrt(),
            level: CONFIDENCE,
        })
    }

    /// The same difference with its interval at confidence `level`: `diff ± t_{1 - (1 -
    /// level)/2, df} se` (an exactly known difference keeps its zero-width interval).
    pub fn at_level(&self, level: f64) -> Difference {
        let half = if self.se == 0.0 {
            0.0
        } else {
            t_quantile(level, self.df).map_or(f64::NAN, |t| t * self.se)
        };
        Difference {
            lower: self.diff - half,
            upper: self.diff + half,
            level,
            ..*self
        }
    }

    /// The two-sided p-value of `diff = 0`: `2 (1 - F_t(|diff| / se; df))`; 0 for an exactly
    /// known non-zero difference, 1 for an exactly known zero.
    pub fn p_value(&self) -> f64 {
        if self.se == 0.0 {
            return if self.diff == 0.0 { 1.0 } else { 0.0 };
        }
        match StudentsT::new(0.0, 1.0, self.df) {
            Ok(dist) => (2.0 * (1.0 - dist.cdf((self.diff / self.se).abs()))).clamp(0.0, 1.0),
            Err(_) => f64::NAN,
        }
    }
}

/// Holm's step-down adjustment of `p` (Holm 1979): with the p-values sorted ascending,
/// `p'_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`, `m` the number of values. NaN
/// values (no test) keep NaN and do not count in `m`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Holm by hand: p = (0.01, 0.04, 0.03, 0.2), m = 4: sorted 0.01, 0.03, 0.04, 0.2 give
    /// 4 * 0.01 = 0.04, 3 * 0.03 = 0.09, max(0.09, 2 * 0.04) = 0.09, max(0.09, 0.2) = 0.2.
    #[test]
    fn holm_adjusts_by_hand() {
        let got = holm(&[0.01, 0.04, 0.03, 0.2, f64::NAN]);
        let want = [0.04, 0.09, 0.09, 0.2];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        assert!(got[4].is_nan());
        // 2 * 0.6 caps at 1, and the step-down keeps the second at least that: 1, 1.
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.2, 0.9]), vec![0.4, 0.9]);
    }

    /// A paired difference with t = 2.776 at 4 degrees of freedom has p = 0.05 (the
    /// printed two-sided 95% critical value), and widening to 99% uses t = 4.604.
    #[test]
    fn p_values_and_wider_levels_follow_the_t_table() {
        let d = Difference {
            diff: 2.776,
            lower: f64::NAN,
            upper: f64::NAN,
            df: 4.0,
            method: Interval::Paired,
            se: 1.0,
            level: CONFIDENCE,
        };
        assert!((d.p_value() - 0.05).abs() < 2e-4, "{}", d.p_value());
        let wide = d.at_level(0.99);
        assert!((wide.upper - wide.diff - 4.604).abs() < 1e-3, "{wide:?}");
        assert_eq!(wide.level, 0.99);
    }

    #[test]
    fn t_quantiles_match_the_printed_tables() {
        // Two-sided 95% critical values from any statistics textbook.
        let table = [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (9.0, 2.262),
            (30.0, 2.042),
        ];
        for (df, expected) in table {
            let t = t_quantile(0.95, df).unwrap();
            assert!(close(t, expected, 1e-3), "df {df}: {t} vs {expected}");
        }
        assert_eq!(t_quantile(0.95, 0.0), None);
    }

    #[test]
    fn estimate_of_five_values_by_hand() {
        // mean 3, sum of squares 10, s = sqrt(10/4) = 1.5811, t(4) = 2.7764,
        // half width = 2.7764 * 1.5811 / sqrt(5) = 1.9632.
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.n, 5);
        assert!(close(e.mean, 3.0, 1e-12));
        assert!(close(e.std, 1.581_138_830, 1e-9));
        assert!(close(e.half_width, 1.963_243, 1e-5), "{}", e.half_width);
    }

    #[test]
    fn one_value_has_no_interval() {
        let e = Estimate::of(&[2.0, f64::NAN]);
        assert_eq!(e.n, 1);
        assert_eq!(e.mean, 2.0);
        assert!(e.std.is_nan() && e.half_width.is_nan());
        assert!(Difference::welch(&e, &Estimate::of(&[1.0, 2.0])).is_none());
    }

    #[test]
    fn welch_interval_by_hand() {
        // a = [1, 2, 3]: mean 2, s^2 = 1, n 3; b = [3, 3, 7, 7]: mean 5, s^2 = 16/3, n 4.
        // va = 1/3, vb = 4/3, se = sqrt(5/3);
        // df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/3) = (25/9) / (35/54) = 30/7 = 4.2857.
        let a = Estimate::of(&[1.0, 2.0, 3.0]);
        let b = Estimate::of(&[3.0, 3.0, 7.0, 7.0]);
        let d = Difference::welch(&a, &b).unwrap();
        assert!(close(d.diff, -3.0, 1e-12));
        assert!(close(d.df, 30.0 / 7.0, 1e-12), "{}", d.df);
        let t = t_quantile(0.95, d.df).unwrap();
        assert!(t > 2.571 && t < 2.776, "between t(5) and t(4): {t}");
        let se = (5.0f64 / 3.0).sqrt();
        assert!(close(d.upper, -3.0 + t * se, 1e-12));
        assert!(close(d.lower, -3.0 - t * se, 1e-12));
    }

    #[test]
    fn constant_samples_give_an_exact_difference() {
        let d = Difference::welch(&Estimate::of(&[1.0, 1.0]), &Estimate::of(&[0.5, 0.5])).unwrap();
        assert_eq!((d.lower, d.diff, d.upper), (0.5, 0.5, 0.5));
    }

    #[test]
    fn paired_interval_matches_a_hand_computation() {
        // d = (0.1, 0.3, 0.2, 0.4): mean 0.25, s = sqrt(0.05/3) = 0.129099,
        // t_{0.975, 3} = 3.182446, half width = 3.182446 * 0.129099 / 2 = 0.205426.
        let pairs = [(1.1, 1.0), (2.3, 2.0), (0.7, 0.5), (1.4, 1.0)];
        let d = Difference::paired(&pairs).unwrap();
        assert_eq!(d.method, Interval::Paired);
        assert!(close(d.diff, 0.25, 1e-12));
        assert!(close(d.df, 3.0, 0.0));
        assert!(close(d.upper - d.diff, 0.205_426, 1e-6), "{d:?}");
        assert!(close(d.diff - d.lower, 0.205_426, 1e-6));
        // The same values unpaired: Welch is far wider, the seeds' shared part dominates.
        let welch = Difference::welch(
            &Estimate::of(&[1.1, 2.3, 0.7, 1.4]),
            &Estimate::of(&[1.0, 2.0, 0.5, 1.0]),
        )
        .unwrap();
        assert!(welch.upper - welch.lower > 5.0 * (d.upper - d.lower));
        // A constant difference is known exactly; one pair gives no interval.
        let exact = Difference::paired(&[(1.0, 0.5), (2.0, 1.5)]).unwrap();
        assert_eq!((exact.lower, exact.upper), (0.5, 0.5));
        assert!(Difference::paired(&[(1.0, 0.5)]).is_none());
        assert!(Difference::paired(&[(1.0, 0.5), (f64::NAN, 1.0)]).is_none());
    }
}
