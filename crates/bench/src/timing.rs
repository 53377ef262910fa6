//! How the benchmark times things: warm-up, repeated samples, medians, and competitors
//! interleaved sample by sample so a change in background load hits them alike.

use std::time::Instant;

use serde::Serialize;

/// How much repetition a figure gets.
#[derive(Clone, Copy, Debug)]
pub struct Repeats {
    /// Unmeasured rounds before the first sample.
    pub warmup: usize,
    /// Samples; a figure reports their median and minimum.
    pub samples: usize,
}

/// The median and minimum of one operation's time.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Median over the samples, milliseconds per operation.
    pub median_ms: f64,
    /// Fastest sample, milliseconds per operation.
    pub min_ms: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Timing {
    /// The median and minimum of `samples_ms`.
    pub fn of(mut samples_ms: Vec<f64>) -> Timing {
        samples_ms.sort_by(f64::total_cmp);
        let k = samples_ms.len();
        let median_ms = if k == 0 {
            f64::NAN
        } else if k % 2 == 1 {
            samples_ms[k / 2]
        } else {
            (samples_ms[k / 2 - 1] + samples_ms[k / 2]) / 2.0
        };
        Timing {
            median_ms,
            min_ms: samples_ms.first().copied().unwrap_or(f64::NAN),
            samples: k,
        }
    }
}

/// One competitor: runs one sample and returns how many milliseconds each of the
/// operations it ran took on average. A competitor may time itself (a child process that
/// reports its own clock) or be timed here ([`timed`]).
pub type Task<'a> = Box<dyn FnMut() -> anyhow::Result<f64> + 'a>;

/// Wraps `work`, which runs `operations` operations, into a task timed by this process.
pub fn timed<'a>(operations: usize, mut work: impl FnMut() + 'a) -> Task<'a> {
    Box::new(move || {
        let started = Instant::now();
        work();
        Ok(started.elapsed().as_secs_f64() * 1e3 / operations as f64)
    })
}

/// Times every task, interleaved: each round runs every task once, in turn.
pub fn interleaved(repeats: Repeats, tasks: &mut [Task<'_>]) -> anyhow::Result<Vec<Timing>> {
    for _ in 0..repeats.warmup {
        for task in tasks.iter_mut() {
            task()?;
        }
    }
    let mut samples = vec![Vec::with_capacity(repeats.samples); tasks.len()];
    for _ in 0..repeats.samples {
        for (task, out) in tasks.iter_mut().zip(&mut samples) {
            out.push(task()?);
        }
    }
    Ok(samples.into_iter().map(Timing::of).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_takes_the_median_and_the_minimum() {
        let cases: [(&[f64], f64, f64); 3] = [
            (&[3.0, 1.0, 2.0], 2.0, 1.0),
            (&[4.0, 1.0, 3.0, 2.0], 2.5, 1.0),
            (&[7.0], 7.0, 7.0),
        ];
        for (samples, median, min) in cases {
            let t = Timing::of(samples.to_vec());
            assert_eq!(
                (t.median_ms, t.min_ms, t.samples),
                (median, min, samples.len())
            );
        }
    }

    #[test]
    fn interleaving_runs_every_task_once_per_round() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut tasks: Vec<Task<'_>> = vec![
            Box::new(|| {
                order.borrow_mut().push('a');
                Ok(1.0)
            }),
            Box::new(|| {
                order.borrow_mut().push('b');
                Ok(2.0)
            }),
        ];
        let timings = interleaved(
            Repeats {
                warmup: 1,
                samples: 2,
            },
            &mut tasks,
        )
        .unwrap();
        drop(tasks);
        assert_eq!(order.into_inner(), vec!['a', 'b', 'a', 'b', 'a', 'b']);
        assert_eq!(timings[1].median_ms, 2.0);
    }
}
