//! Figure 2: a grid of sample scatter plots (rows: every axis but `T`, columns: `T`), one
//! seed per cell, samples over the faint training data, the same axes in every panel.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::facets::{distinct, Facets};
use super::{color, font, plot_err, scatter_panel, tick, title, Bounds, Figure, DATA_GREY};
use crate::artifacts::RunArtifacts;
use crate::sweep::{RunRow, RunStatus, Sweep};
use crate::Result;

/// The points of one panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The run's samples.
    pub samples: Vec<ddpm::Point>,
    /// The run's training data.
    pub data: Vec<ddpm::Point>,
    /// The seed drawn.
    pub seed: u64,
    /// The run's data set.
    pub dataset: ddpm::DatasetConfig,
}

/// Figure 2.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleGrid {
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Column labels, left to right.
    pub columns: Vec<String>,
    /// `cells[row][column]`; `None` where no completed run exists.
    pub cells: Vec<Vec<Option<Cell>>>,
    /// The axes of every panel when all rows show one data set.
    pub bounds: Bounds,
    /// The axes of each row when the data set varies between rows (each drawn at its own
    /// scale, so a small data set is not a speck beside a large one).
    pub row_bounds: Option<Vec<Bounds>>,
    /// The seed shown where available.
    pub seed: u64,
    /// Runs whose samples or config could not be read (a corrupt artifact), each with
    /// why: their cells show another completed seed, or none.
    pub unreadable: Vec<String>,
}

/// The runs of a cell that could be shown, best first: the preferred seed if it
/// completed, then the other completed seeds from the lowest.
fn candidates<'a>(runs: &[&'a RunRow], seed: u64) -> Vec<&'a RunRow> {
    let mut completed: Vec<&RunRow> = runs
        .iter()
        .copied()
        .filter(|r| r.status == RunStatus::Completed)
        .collect();
    completed.sort_by_key(|r| (r.seed != seed, r.seed));
    completed
}

/// The most panels on one page of samples; a larger grid is cut into pages of whole rows.
pub const PANELS_PER_PAGE: usize = 12;

/// The most pages of samples a report draws; a grid that needs more shows only the cells
/// its comparisons and featured run name.
pub const MAX_PAGES: usize = 12;

impl SampleGrid {
    /// Loads one run per cell (seed `seed` where it completed).
    pub fn new(sweep: &Sweep, artifacts: &dyn RunArtifacts, seed: u64) -> Result<SampleGrid> {
        SampleGrid::of_cells(sweep, artifacts, seed, &sweep.cells())
    }

    /// Like [`SampleGrid::new`], over the cells `keys` only (in the sweep's order).
    pub fn of_cells(
        sweep: &Sweep,
        artifacts: &dyn RunArtifacts,
        seed: u64,
        keys: &[Vec<crate::sweep::AxisValue>],
    ) -> Result<SampleGrid> {
        let facets = Facets::of(sweep);
        let cells: Vec<Vec<crate::sweep::AxisValue>> = sweep
            .cells()
            .into_iter()
            .filter(|cell| keys.contains(cell))
            .collect();
        let rows = distinct(cells.iter().map(|k| facets.row_of(sweep, k)));
        let steps = distinct(cells.iter().map(|k| facets.steps_of(k)));
        let columns: Vec<String> = steps
            .iter()
            .map(|t| t.map_or(String::new(), super::steps_label))
            .collect();
        let mut grid: Vec<Vec<Option<Cell>>> = vec![vec![None; steps.len()]; rows.len()];
        let mut unreadable = Vec::new();
        for key in &cells {
            let row = rows.iter().position(|r| *r == facets.row_of(sweep, key));
            let column = steps.iter().position(|t| *t == facets.steps_of(key));
            let (Some(row), Some(column)) = (row, column) else {
                continue;
            };
            // A run whose artifacts do not read back is passed over for the cell's next
            // completed seed, and named.
            for run in candidates(&sweep.runs_of(key), seed) {
                let read = artifacts
                    .config(&run.run_id)
                    .and_then(|config| Ok((artifacts.samples(&run.run_id)?, config)));
                match read {
                    Ok((samples, config)) => {
                        grid[row][column] = Some(Cell {
                            samples,
                            data: ddpm::training_data(&config),
                            seed: run.seed,
                            dataset: config.dataset.clone(),
                        });
                        break;
                    }
                    Err(err) => unreadable.push(err.to_string()),
                }
            }
        }
        let unit = Bounds {
            x_min: -1.0,
            x_max: 1.0,
            y_min: -1.0,
            y_max: 1.0,
        };
        let data_bounds =
            Bounds::of(grid.iter().flatten().flatten().flat_map(|c| &c.data)).unwrap_or(unit);
        let mut datasets = grid.iter().flatten().flatten().map(|c| &c.dataset);
        let first = datasets.next();
        let varies = datasets.any(|d| Some(d) != first);
        let row_bounds = varies.then(|| {
            grid.iter()
                .map(|row| {
                    Bounds::of(row.iter().flatten().flat_map(|c| &c.data))
                        .unwrap_or(unit)
                        .padded_square(0.12)
                })
                .collect()
        });
        Ok(SampleGrid {
            rows,
            columns,
            cells: grid,
            unreadable,
            bounds: data_bounds.padded_square(0.12),
            row_bounds,
            seed,
        })
    }
}

impl SampleGrid {
    /// The grid cut into pages of whole rows, at most [`PANELS_PER_PAGE`] panels each (one
    /// page when it fits).
    pub fn pages(&self) -> Vec<SampleGrid> {
        let columns = self.columns.len().max(1);
        let rows_per_page = (PANELS_PER_PAGE / columns).max(1);
        if self.rows.len() <= rows_per_page {
            return vec![self.clone()];
        }
        (0..self.rows.len())
            .step_by(rows_per_page)
            .map(|start| {
                let end = (start + rows_per_page).min(self.rows.len());
                SampleGrid {
                    rows: self.rows[start..end].to_vec(),
                    columns: self.columns.clone(),
                    cells: self.cells[start..end].to_vec(),
                    bounds: self.bounds,
                    row_bounds: self.row_bounds.as_ref().map(|b| b[start..end].to_vec()),
                    seed: self.seed,
                    unreadable: self.unreadable.clone(),
                }
            })
            .collect()
    }
}

const PANEL: u32 = 210;
/// Wide enough for the title and the footnote.
const MIN_WIDTH: u32 = 640;
const ROW_LABEL: u32 = 190;
const HEADER: u32 = 34;
const FOOTER: u32 = 26;

impl Figure for SampleGrid {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.len().max(1) as u32;
        let rows = self.rows.len().max(1) as u32;
        (
            (ROW_LABEL + PANEL * columns + 10).max(MIN_WIDTH),
            40 + HEADER + FOOTER + PANEL * rows,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let b = &self.bounds;
        let area = title(
            root,
            &format!(
                "Samples (seed {}, blue) over training data (grey)",
                self.seed
            ),
        )?;
        let (area, footer) = area.split_vertically(area.dim_in_pixel().1 - FOOTER);
        let footnote = match &self.row_bounds {
            Some(_) => "The data set varies between rows: each row has its own axes".to_string(),
            None => format!(
                "Every panel shows x ∈ [{}, {}], y ∈ [{}, {}]",
                tick(&b.x_min),
                tick(&b.x_max),
                tick(&b.y_min),
                tick(&b.y_max)
            ),
        };
        footer
            .draw(&Text::new(
                footnote,
                (ROW_LABEL as i32, 4),
                font(14).color(&BLACK.mix(0.7)),
            ))
            .map_err(plot_err)?;
        let (labels, body) = area.split_horizontally(ROW_LABEL);
        // Square panels whatever the width the title needs.
        let (body, _) = body.split_horizontally(PANEL * self.columns.len().max(1) as u32);
        let (_, labels) = labels.split_vertically(HEADER);
        let (header, grid) = body.split_vertically(HEADER);
        let (rows, columns) = (self.rows.len().max(1), self.columns.len().max(1));
        for (i, cell) in header.split_evenly((1, columns)).iter().enumerate() {
            if let Some(text) = self.columns.get(i) {
                centred_text(cell, text, 17)?;
            }
        }
        for (i, cell) in labels.split_evenly((rows, 1)).iter().enumerate() {
            if let Some(text) = self.rows.get(i) {
                centred_text(cell, text, 15)?;
            }
        }
        let panels = grid.split_evenly((rows, columns));
        let sample_colour = color(0).mix(0.55);
        for (row, cells) in self.cells.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                let area = &panels[row * columns + column];
                let b = self.row_bounds.as_ref().map_or(b, |rows| &rows[row]);
                match cell {
                    Some(cell) => {
                        let note = (cell.seed != self.seed).then(|| format!("seed {}", cell.seed));
                        scatter_panel(
                            area,
                            b,
                            note.as_deref(),
                            &[
                                (&cell.data, DATA_GREY.mix(0.35), 1),
                                (&cell.samples, sample_colour, 1),
                            ],
                        )?;
                    }
                    None => {
                        centred_text(area, "no completed run", 14)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes `text` centred in `area`, wrapping at " / " when it is too wide.
pub fn centred_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: u32,
) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = font(size).color(&BLACK);
    let fits = |line: &str| {
        area.estimate_text_size(line, &style)
            .map(|(tw, _)| tw + 8 <= w)
            .unwrap_or(true)
    };
    let lines: Vec<String> = if fits(text) {
        vec![text.to_string()]
    } else {
        text.split(" / ").map(str::to_string).collect()
    };
    let line_height = (size as f64 * 1.3) as i32;
    let top = h as i32 / 2 - line_height * lines.len() as i32 / 2;
    for (i, line) in lines.iter().enumerate() {
        let (tw, _) = area.estimate_text_size(line, &style).map_err(plot_err)?;
        area.draw(&Text::new(
            line.clone(),
            ((w as i32 - tw as i32) / 2, top + line_height * i as i32),
            style.clone(),
        ))
        .map_err(plot_err)?;
    }
    Ok(())
}
