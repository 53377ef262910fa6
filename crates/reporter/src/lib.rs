//! The reporter turns a sweep's stored runs into the tables, figures and markdown report
//! a researcher reads: `reports/<name>/`.
//!
//! The data flows one way. [`from_store`] reads the runner's records into the reporter's own
//! model, a [`Sweep`] of [`RunRow`]s ([`sweep`]), so everything after it can be tested on
//! synthetic runs. [`aggregate`] puts the runs in a polars frame and groups them by cell
//! (every axis but the seed) into means, medians, deviations, Student-t intervals
//! ([`stats`]) and counts of failed and exploded runs; [`compare`] answers the
//! experiment's `[[compare]]` questions with paired intervals over the same seeds (Welch's
//! where the seeds differ), at 95% or Bonferroni's level, with raw and Holm-adjusted
//! p-values, and a verdict. [`table`] shapes the tables a reader sees, and the exporters in [`export`]
//! write them as CSV, Parquet and markdown. [`plot`] draws the figures (PNG and SVG, with a
//! bundled font), reading samples, loss curves and weights through [`RunArtifacts`]
//! ([`artifacts`]). [`document`] writes `report.md` around all of it, and [`html`] the
//! same report as one interactive, self-contained `index.html`.
//!
//! A report is a pure function of the store: rows, cells and comparisons are sorted, and
//! no table holds a timestamp, so regenerating it gives the same tables and verdicts.

pub mod aggregate;
pub mod artifacts;
pub mod compare;
pub mod document;
pub mod export;
pub mod from_store;
pub mod html;
pub mod plot;
pub mod query;
pub mod stats;
pub mod sweep;
pub mod table;

use runner::words::{agree, counted};
use std::path::{Path, PathBuf};

pub use artifacts::RunArtifacts;
pub use compare::{Comparison, Question, Verdict};
pub use from_store::report;
pub use sweep::{AxisValue, RunRow, RunStatus, Selector, Sweep, Timings};

use document::{Document, FigureEntry};
use export::{write_table, CsvExporter, MarkdownExporter, ParquetExporter};

/// Everything that can go wrong while reporting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot write {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause, in the message (not chained, so it is printed once).
        error: std::io::Error,
    },
    /// The run store could not be read.
    #[error("run store: {0}")]
    Store(String),
    /// A sweep without any stored run.
    #[error("sweep `{0}` has no stored runs: run `diffsweep sweep` first")]
    Empty(String),
    /// A sweep whose every stored run is corrupt: its name and the reasons.
    #[error(
        "sweep `{0}` has no usable stored run: {n} stored {runs} corrupt (`diffsweep fsck` \
         names them; a sweep sets them aside and runs them again); the first: {first}",
        n = .1.len(),
        runs = if .1.len() == 1 { "run is" } else { "runs are" },
        first = .1.first().map(String::as_str).unwrap_or("")
    )]
    AllCorrupt(String, Vec<String>),
    /// A selector in the experiment file that does not pick what it must.
    #[error("{0}")]
    Selector(String),
    /// A table operation failed.
    #[error("table: {0}")]
    Table(#[from] polars::prelude::PolarsError),
    /// A figure could not be drawn.
    #[error("figure: {0}")]
    Plot(String),
}

/// The reporter's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// What to report on: the sweep, the questions it asks, and the run to feature.
#[derive(Clone, Debug)]
pub struct ReportInput {
    /// Every stored run of the sweep.
    pub sweep: Sweep,
    /// The experiment's `[[compare]]` entries.
    pub questions: Vec<Question>,
    /// `[report] featured`: the run drawn in the single-model figures.
    pub featured: Option<Selector>,
    /// `[report] correction`: the level of the comparisons' intervals.
    pub correction: compare::Correction,
    /// Cells of the experiment with no stored run yet; the report says so.
    pub pending_cells: usize,
    /// Stored runs whose record is corrupt, described: left out, and listed.
    pub corrupt: Vec<String>,
}

/// What a report run produced.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    /// `report.md`.
    pub report: PathBuf,
    /// Number of cells.
    pub cells: usize,
    /// Number of runs.
    pub runs: usize,
    /// Runs that diverged or failed.
    pub failures: usize,
    /// The answered comparisons.
    pub comparisons: Vec<Comparison>,
    /// Every file written, sorted.
    pub files: Vec<PathBuf>,
    /// Figures that could not be drawn, and why (also listed in the report).
    pub warnings: Vec<String>,
}

/// The pages of the sample grid, and whether it was cut down to the cells the
/// comparisons and the featured run name (when every cell would take more than
/// [`plot::samples::MAX_PAGES`] pages).
fn sample_pages(
    sweep: &Sweep,
    artifacts: &dyn RunArtifacts,
    seed: u64,
    questions: &[Question],
    featured: Option<&sweep::RunRow>,
) -> Result<(Vec<plot::samples::SampleGrid>, bool)> {
    let all = plot::samples::SampleGrid::new(sweep, artifacts, seed)?;
    let pages = all.pages();
    if pages.len() <= plot::samples::MAX_PAGES {
        return Ok((pages, false));
    }
    let mut keys: Vec<Vec<sweep::AxisValue>> = Vec::new();
    for question in questions {
        for selector in [&question.a, &question.b] {
            if let Ok(key) = sweep.select_cell(selector) {
                keys.push(key);
            }
        }
    }
    keys.extend(featured.map(|r| r.cell_key(&sweep.axes)));
    let named = plot::samples::SampleGrid::of_cells(sweep, artifacts, seed, &keys)?;
    let mut pages = named.pages();
    pages.truncate(plot::samples::MAX_PAGES);
    Ok((pages, true))
}

/// The folder of figures inside the report folder.
pub const FIGURES_DIR: &str = "figures";

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Writes the report of `input` into `out_dir`: tables, figures and `report.md`.
/// Figures that need artifacts the store lacks are skipped with a warning; bad selectors
/// and unwritable files are errors.
pub fn render(
    input: &ReportInput,
    artifacts: &dyn RunArtifacts,
    out_dir: &Path,
) -> Result<ReportSummary> {
    let sweep = &input.sweep;
    let figures_dir = out_dir.join(FIGURES_DIR);
    create_dir(&figures_dir)?;

    let aggregate = aggregate::aggregate(sweep)?;
    let comparisons = compare::answer(sweep, &aggregate, &input.questions, input.correction)?;
    let featured = sweep.featured_run(input.featured.as_ref())?;

    let mut files = Vec::new();
    files.extend(write_table(
        out_dir,
        "runs",
        &aggregate.runs,
        &[&CsvExporter, &ParquetExporter],
    )?);
    files.extend(write_table(
        out_dir,
        "summary",
        &aggregate.summary,
        &[&CsvExporter, &ParquetExporter],
    )?);
    let summary_table = table::summary_table(sweep, &aggregate)?;
    files.extend(write_table(
        out_dir,
        "summary",
        &summary_table,
        &[&MarkdownExporter],
    )?);
    let comparison_table = table::comparison_table(&comparisons)?;
    if !comparisons.is_empty() {
        files.extend(write_table(
            out_dir,
            "comparisons",
            &table::comparison_frame(&comparisons)?,
            &[&CsvExporter],
        )?);
        files.extend(write_table(
            out_dir,
            "comparisons",
            &comparison_table,
            &[&MarkdownExporter],
        )?);
    }

    let mut figures = Vec::new();
    let mut warnings = Vec::new();
    let mut late_warnings = Vec::new();
    // The featured run's reverse process, drawn below and animated again in index.html.
    let mut page_reverse = None;
    let mut keep = |heading: &str, caption: String, result: Result<Vec<PathBuf>>| match result {
        Ok(paths) => {
            let relative = paths
                .iter()
                .filter_map(|p| p.strip_prefix(out_dir).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            files.extend(paths);
            figures.push(FigureEntry {
                heading: heading.to_string(),
                caption,
                files: relative,
            });
        }
        Err(e) => warnings.push(format!("{heading}: {e}")),
    };

    // A sweep over samplers is drawn against K instead, where T is one of the lines.
    let over_samplers = plot::facets::against_k(sweep);
    for metric in sweep::metric_names().iter().filter(|_| !over_samplers) {
        let heading = format!("{metric} against T");
        match plot::metric::MetricFigure::new(sweep, &aggregate, metric) {
            Some(figure) => keep(
                &heading,
                format!(
                    "Mean `{metric}` over completed seeds with its 95% interval as a band, one \
                     line per schedule, one panel per scaling; the dashed line is the noise \
                     floor. Bands reaching past the axes (two seeds give t = 12.7) are cut \
                     at them."
                ),
                plot::save(&figure, &figures_dir, &format!("{metric}_vs_T")),
            ),
            None => keep(
                &heading,
                String::new(),
                Err(Error::Plot("`T` is not an axis of the grid".into())),
            ),
        }
    }
    for metric in sweep::metric_names() {
        let pages = plot::metric::MetricFigure::against_sampling_steps(sweep, &aggregate, metric);
        let paged = pages.len() > 1;
        for figure in pages {
            let heading = if paged {
                format!("{metric} against the sampling steps K, {}", figure.page)
            } else {
                format!("{metric} against the sampling steps K")
            };
            keep(
                &heading,
                format!(
                    "Mean `{metric}` over completed seeds with its 95% interval as a band, \
                     against the number of reverse steps K the sampler takes (`sampling.steps`), \
                     one panel per schedule, each on its own y scale, one line per training T, \
                     sampler and other axes{}; the dashed line is the noise floor. A cross with \
                     k/n marks a cell where k of its n seeds diverged, had non-finite samples \
                     or exploded (a metric above {} times its floor); a cross at the top of a \
                     panel is a cell with no mean in range.",
                    if paged {
                        ", one figure per prediction target and clipping"
                    } else {
                        ""
                    },
                    aggregate::EXPLODED_RATIO
                ),
                plot::save(
                    &figure,
                    &figures_dir,
                    &format!("{metric}_vs_K{}", figure.page_slug()),
                ),
            );
        }
    }
    let seed = featured.map_or(0, |r| r.seed);
    match sample_pages(sweep, artifacts, seed, &input.questions, featured) {
        Ok((pages, selected)) => {
            if let Some(first) = pages.first() {
                for reason in &first.unreadable {
                    late_warnings.push(format!(
                        "Samples: {reason}; its cell shows another seed or none"
                    ));
                }
            }
            let count = pages.len();
            for (i, page) in pages.iter().enumerate() {
                let (heading, stem) = if count == 1 {
                    ("Samples".to_string(), "samples".to_string())
                } else {
                    (
                        format!("Samples, page {} of {count}", i + 1),
                        format!("samples-{}", i + 1),
                    )
                };
                let which = if selected {
                    "One run per cell that a comparison or the featured run names (the grid \
                     has too many cells to draw them all)"
                } else {
                    "One run per cell"
                };
                let result = if count == 1 {
                    plot::save(page, &figures_dir, &stem)
                } else {
                    // Pages are for reading: PNG only, so a large sweep's report stays small.
                    plot::save_png(page, &figures_dir, &stem)
                };
                keep(
                    &heading,
                    format!(
                        "{which} (seed {seed} where it completed), samples in colour over the \
                         training data in grey, the same axes in every panel{}.",
                        if count > 1 {
                            format!("; at most {} panels a page", plot::samples::PANELS_PER_PAGE)
                        } else {
                            String::new()
                        }
                    ),
                    result,
                );
            }
        }
        Err(e) => keep("Samples", String::new(), Err(e)),
    }
    let loss = plot::loss::LossFigure::new(sweep, artifacts);
    if let Ok(figure) = &loss {
        for reason in &figure.unreadable {
            late_warnings.push(format!(
                "Training loss: {reason}; the mean is over the other seeds"
            ));
        }
    }
    keep(
        "Training loss",
        "Loss per epoch, the mean over completed seeds, log scale; one panel per T.".into(),
        loss.and_then(|f| plot::save(&f, &figures_dir, "loss")),
    );
    keep(
        "Schedules",
        "The noise level 1 − ᾱ_t and the step variance β_t against t/T for every schedule and \
         T of the grid; markers show each step of short chains."
            .into(),
        plot::schedules::ScheduleFigure::new(sweep, artifacts)
            .and_then(|f| plot::save(&f, &figures_dir, "schedules")),
    );
    match featured {
        Some(run) => {
            let label = plot::facets::run_label(sweep, run);
            let trained = artifacts
                .config(&run.run_id)
                .and_then(|config| Ok((config, artifacts.weights(&run.run_id)?)))
                .and_then(|(config, weights)| {
                    ddpm::LoadedModel::from_weights(&config, &weights)
                        .map_err(|e| Error::Store(format!("run {}: {e}", run.run_id)))
                });
            match trained {
                Ok(trained) => {
                    keep(
                        "Predicted noise field",
                        format!(
                            "The direction −ε_θ(x_t, t) in which the sampler moves a point at x_t, \
                             on a grid over the data, for {label}; one length scale for every panel."
                        ),
                        plot::save(&plot::field::FieldFigure::new(&label, &trained), &figures_dir, "field"),
                    );
                    let n = trained.config().sample_count().min(1000);
                    let reverse = plot::reverse::ReverseProcess::new(&label, &trained, n, run.seed);
                    let mut strip = plot::save(&reverse, &figures_dir, "reverse");
                    if let Ok(paths) = &mut strip {
                        match reverse.save_gif(&figures_dir, "reverse") {
                            Ok(gif) => paths.push(gif),
                            Err(e) => late_warnings.push(format!("reverse process animation: {e}")),
                        }
                    }
                    keep(
                        "Reverse process",
                        format!(
                            "{n} samples of {label} from pure noise x_T to x_0 over the training \
                             data; the animation shows every step (or 60 evenly spaced ones)."
                        ),
                        strip,
                    );
                    page_reverse = Some(reverse);
                }
                Err(e) => {
                    keep("Predicted noise field", String::new(), Err(e));
                }
            }
        }
        None => keep(
            "Predicted noise field",
            String::new(),
            Err(Error::Plot("no completed run to feature".into())),
        ),
    }

    warnings.extend(late_warnings);
    if input.pending_cells > 0 {
        warnings.push(format!(
            "{} of the experiment {} no stored run yet; the report covers the others",
            counted(input.pending_cells, "cell", "cells"),
            agree(input.pending_cells, "has", "have")
        ));
    }
    if !input.corrupt.is_empty() {
        warnings.push(format!(
            "{} {} corrupt and left out (the next sweep sets {} aside and runs {} again): {}",
            counted(input.corrupt.len(), "stored run", "stored runs"),
            agree(input.corrupt.len(), "is", "are"),
            agree(input.corrupt.len(), "it", "them"),
            agree(input.corrupt.len(), "it", "them"),
            input.corrupt.join("; ")
        ));
    }
    let featured_text = featured.map(|r| sweep.describe_run(r));
    let text = Document {
        sweep,
        summary_markdown: document::markdown(&summary_table),
        comparison_markdown: document::markdown(&comparison_table),
        comparisons: &comparisons,
        figures: &figures,
        warnings: &warnings,
        featured: featured_text,
        pending_cells: input.pending_cells,
        corrupt: &input.corrupt,
    }
    .render();
    let report = out_dir.join("report.md");
    std::fs::write(&report, &text).map_err(|error| Error::Io {
        path: report.clone(),
        error,
    })?;
    files.push(report.clone());
    let page = html::PageInput {
        input,
        aggregate: &aggregate,
        comparisons: &comparisons,
        featured,
        reverse: page_reverse.as_ref(),
        report_markdown: &text,
        warnings: &warnings,
    };
    files.push(html::write(&page, artifacts, out_dir)?);
    files.sort();
    Ok(ReportSummary {
        report,
        cells: aggregate.cells.len(),
        runs: sweep.rows.len(),
        failures: sweep
            .rows
            .iter()
            .filter(|r| r.status != RunStatus::Completed)
            .count(),
        comparisons,
        files,
        warnings,
    })
}
