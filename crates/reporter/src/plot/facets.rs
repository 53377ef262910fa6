//! How a sweep's axes are laid out in a figure: `T` along x, `scaling` as panels, every
//! other axis (schedule, its parameters, data noise, ...) as series.

use crate::sweep::{AxisValue, Sweep};

/// The axis drawn along x when present.
pub const STEPS_AXIS: &str = "T";
/// The axis that splits panels when present.
pub const PANEL_AXIS: &str = "scaling";

/// The axis of the sampler's step count, drawn along x in a figure of its own.
pub const SAMPLING_STEPS_AXIS: &str = "sampling.steps";

/// Whether the metric figures go against the sampler's steps K instead of T: when
/// `sampling.steps` is an axis that takes more than one value, or one value while `T`
/// takes at most one. A sweep over samplers drawn against T would bury its dozens of
/// sampler lines in each other; one K against several T is a figure against T.
pub fn against_k(sweep: &Sweep) -> bool {
    let values = |name: &str| {
        sweep.axes.iter().any(|a| a == name).then(|| {
            let mut seen: Vec<Option<&AxisValue>> = Vec::new();
            for value in sweep.rows.iter().map(|row| row.axes.get(name)) {
                if !seen.contains(&value) {
                    seen.push(value);
                }
            }
            seen.len()
        })
    };
    match values(SAMPLING_STEPS_AXIS) {
        None => false,
        Some(k) => k > 1 || values(STEPS_AXIS).unwrap_or(0) <= 1,
    }
}

/// The roles of a sweep's axes in a figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Facets {
    /// Index of the axis along x (`T` by default) in the sweep's axes.
    pub steps: Option<usize>,
    /// Index of the panel axis.
    pub panel: Option<usize>,
    /// Indices of the remaining axes, in the sweep's order.
    pub series: Vec<usize>,
}

impl Facets {
    /// The default layout for `sweep`: `T` along x, one panel per scaling.
    pub fn of(sweep: &Sweep) -> Facets {
        Facets::with(sweep, STEPS_AXIS, PANEL_AXIS)
    }

    /// `x` along x, one panel per value of `panel`, every other axis as series (either
    /// may be missing from the sweep).
    pub fn with(sweep: &Sweep, x: &str, panel: &str) -> Facets {
        let find = |name: &str| sweep.axes.iter().position(|a| a == name);
        let steps = find(x);
        let panel = find(panel);
        let cells = sweep.cells();
        // An axis whose value the panel already fixes (a scaling zipped with the schedule
        // drawn as panels) would only split one line into per-panel names.
        // One pass over the cells per axis, against the panels seen so far (few).
        let fixed_by_panel = |i: usize| {
            panel.is_some_and(|p| {
                let mut seen: Vec<(&AxisValue, &AxisValue)> = Vec::new();
                cells.iter().all(|cell| {
                    match seen
                        .iter()
                        .find(|(panel_value, _)| **panel_value == cell[p])
                    {
                        Some((_, value)) => **value == cell[i],
                        None => {
                            seen.push((&cell[p], &cell[i]));
                            true
                        }
                    }
                })
            })
        };
        let series = (0..sweep.axes.len())
            .filter(|i| Some(*i) != steps && Some(*i) != panel)
            .filter(|&i| x == STEPS_AXIS || !fixed_by_panel(i))
            .collect();
        Facets {
            steps,
            panel,
            series,
        }
    }

    /// The name of the panel axis, if any.
    pub fn panel_name<'s>(&self, sweep: &'s Sweep) -> Option<&'s str> {
        self.panel.map(|i| sweep.axes[i].as_str())
    }

    /// The value of the x axis in a cell, when it is an axis.
    pub fn steps_of(&self, key: &[AxisValue]) -> Option<f64> {
        self.steps.and_then(|i| key[i].as_f64())
    }

    /// The panel label of a cell (empty without a panel axis).
    pub fn panel_of(&self, sweep: &Sweep, key: &[AxisValue]) -> String {
        label(sweep, key, self.panel.as_slice())
    }

    /// The series label of a cell (empty without series axes).
    pub fn series_of(&self, sweep: &Sweep, key: &[AxisValue]) -> String {
        label(sweep, key, &self.series)
    }

    /// The row label of a cell in a grid with `T` as columns: panel and series together.
    pub fn row_of(&self, sweep: &Sweep, key: &[AxisValue]) -> String {
        let mut axes = self.series.clone();
        axes.extend(self.panel);
        compact_label(sweep, key, &axes)
    }
}

/// A run's label in figures: its cell on every axis and its seed.
pub fn run_label(sweep: &Sweep, run: &crate::RunRow) -> String {
    let all_axes: Vec<usize> = (0..sweep.axes.len()).collect();
    let cell = label(sweep, &run.cell_key(&sweep.axes), &all_axes);
    format!("{cell}, seed {}", run.seed)
}

/// Joins the values of `axes` of a cell with " / ". Text values stand alone (`ddpm`);
/// numbers and flags carry the last part of their axis name (`power=2`).
pub fn label(sweep: &Sweep, key: &[AxisValue], axes: &[usize]) -> String {
    axes.iter()
        .map(|&i| match &key[i] {
            AxisValue::Text(text) => text.clone(),
            other => {
                let name = sweep.axes[i].rsplit('.').next().unwrap_or(&sweep.axes[i]);
                format!("{name}={other}")
            }
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Like [`label`], shorter for figure titles and legends: a flag shows its name when true
/// and nothing when false (`ddpm / standardize / zero_terminal_snr`).
pub fn compact_label(sweep: &Sweep, key: &[AxisValue], axes: &[usize]) -> String {
    axes.iter()
        .filter_map(|&i| {
            let name = sweep.axes[i].rsplit('.').next().unwrap_or(&sweep.axes[i]);
            match &key[i] {
                AxisValue::Text(text) => Some(text.clone()),
                AxisValue::Bool(true) => Some(name.to_string()),
                AxisValue::Bool(false) => None,
                other => Some(format!("{name}={other}")),
            }
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Distinct values in first-seen order of a sorted input, i.e. sorted.
pub fn distinct<T: PartialEq + Clone>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}
