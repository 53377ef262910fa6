//! `index.html`: the report as one self-contained, interactive page (Apache ECharts,
//! vendored), written next to `report.md` by every report and built on request by
//! `diffsweep serve`.
//!
//! [`model`] turns the sweep, its comparisons and its metric figures into the page's
//! data (runs column by column); [`inline`] adds what the page carries from the store
//! (configs and provenance of every run; samples, training data and loss curves of a
//! bounded set; the featured run's reverse process); [`header`] converts the head of
//! `report.md`; [`template`] inlines the chart library, the page's script and the data
//! into one file. The page is a pure function of the store, like the rest of the report.

pub mod header;
pub mod inline;
pub mod model;
pub mod template;

use runner::words::{agree, counted};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::aggregate::Aggregate;
use crate::artifacts::RunArtifacts;
use crate::compare::Comparison;
use crate::plot::reverse::ReverseProcess;
use crate::sweep::{metric_names, RunRow};
use crate::{Error, ReportInput, Result};

/// The page's file name in the report folder.
pub const PAGE_FILE: &str = "index.html";

/// What a report has computed that the page shows.
pub struct PageInput<'a> {
    /// The sweep and its questions.
    pub input: &'a ReportInput,
    /// The sweep aggregated.
    pub aggregate: &'a Aggregate,
    /// The answered comparisons.
    pub comparisons: &'a [Comparison],
    /// The featured run.
    pub featured: Option<&'a RunRow>,
    /// The featured run's reverse process, when it could be computed.
    pub reverse: Option<&'a ReverseProcess>,
    /// `report.md`, whose head the page shows.
    pub report_markdown: &'a str,
    /// The report's notes (figures not drawn, pending cells, corrupt runs).
    pub warnings: &'a [String],
}

/// How the page reaches what it does not carry.
#[derive(Clone, Debug, Default)]
pub struct PageOptions {
    /// A URL with `{id}` that answers a run's samples, training data, loss curve, config
    /// and record as JSON (`diffsweep serve` gives one); the static file has none and
    /// says which runs it carries.
    pub run_url: Option<String>,
    /// Carry no artifacts, configs or records at all (a served run list, which fetches
    /// each run's from `run_url` when it is opened).
    pub light: bool,
    /// The view the page opens on (`overview`, `metrics`, `explore`); the overview when
    /// `None`.
    pub start_view: Option<String>,
}

/// The limits the page was built under, so it can say what it left out.
#[derive(Serialize)]
struct Limits {
    sampled_runs: usize,
    points_per_run: usize,
    loss_curves: usize,
}

#[derive(Serialize)]
struct PageData<'a> {
    name: &'a str,
    description: &'a str,
    header_html: String,
    warnings: &'a [String],
    axes: Vec<model::AxisData>,
    metrics: &'static [&'static str],
    exploded_ratio: f64,
    runs: model::RunsData,
    models: Vec<String>,
    versions: Vec<String>,
    configs: inline::ConfigsData,
    records: inline::RecordsData,
    comparisons: Vec<model::ComparisonData>,
    level: String,
    charts: Vec<model::ChartData>,
    featured: Option<usize>,
    samples: Vec<inline::SampleSet>,
    datasets: Vec<Vec<[f64; 2]>>,
    losses: Vec<inline::LossData>,
    reverse: Option<inline::ReverseData>,
    limits: Limits,
    run_url: Option<String>,
    start_view: Option<String>,
}

/// The page's HTML.
pub fn render(
    page: &PageInput,
    artifacts: &dyn RunArtifacts,
    options: &PageOptions,
) -> Result<String> {
    let sweep = &page.input.sweep;
    let (axes, runs, models, versions) = model::runs(sweep);
    let featured = page
        .featured
        .and_then(|f| sweep.rows.iter().position(|r| r.run_id == f.run_id));
    let mut priority = Vec::new();
    for question in &page.input.questions {
        for selector in [&question.a, &question.b] {
            if let Ok(key) = sweep.select_cell(selector) {
                priority.push(key);
            }
        }
    }
    let (samples, datasets, losses, configs, records) = if options.light {
        Default::default()
    } else {
        let sampled = inline::sampled_runs(sweep, featured, &priority);
        let (samples, datasets) = inline::samples(sweep, artifacts, &sampled, featured);
        let losses = inline::losses(sweep, artifacts, &models, &runs.model, &sampled);
        let (configs, records) = inline::configs_and_records(sweep, artifacts);
        (samples, datasets, losses, configs, records)
    };
    let data = PageData {
        name: &sweep.name,
        description: sweep.description.trim(),
        header_html: header::to_html(header::what_was_run(page.report_markdown)),
        warnings: page.warnings,
        axes,
        metrics: metric_names(),
        exploded_ratio: crate::aggregate::EXPLODED_RATIO,
        runs,
        models,
        versions,
        configs,
        records,
        comparisons: model::comparisons(page.comparisons),
        level: crate::table::level_text(page.comparisons),
        charts: model::charts(sweep, page.aggregate),
        featured,
        samples,
        datasets,
        losses,
        reverse: page
            .reverse
            .zip(featured)
            .filter(|_| !options.light)
            .map(|(reverse, run)| inline::reverse(reverse, run)),
        limits: Limits {
            sampled_runs: inline::MAX_SAMPLED_RUNS,
            points_per_run: inline::POINTS_PER_RUN,
            loss_curves: inline::MAX_LOSS_CURVES,
        },
        run_url: options.run_url.clone(),
        start_view: options.start_view.clone(),
    };
    let json = serde_json::to_string(&data).map_err(|e| Error::Plot(format!("page data: {e}")))?;
    Ok(template::page(
        &format!("diffsweep report: {}", sweep.name),
        &json,
    ))
}

/// Writes `index.html` into `out_dir`.
pub fn write(page: &PageInput, artifacts: &dyn RunArtifacts, out_dir: &Path) -> Result<PathBuf> {
    let html = render(page, artifacts, &PageOptions::default())?;
    let path = out_dir.join(PAGE_FILE);
    std::fs::write(&path, html).map_err(|error| Error::Io {
        path: path.clone(),
        error,
    })?;
    Ok(path)
}

/// The featured run's reverse process, as the report draws it, or `None` when its
/// weights cannot be read.
pub fn reverse_process(
    sweep: &crate::Sweep,
    run: &RunRow,
    artifacts: &dyn RunArtifacts,
) -> Option<ReverseProcess> {
    let config = artifacts.config(&run.run_id).ok()?;
    let weights = artifacts.weights(&run.run_id).ok()?;
    let trained = ddpm::LoadedModel::from_weights(&config, &weights).ok()?;
    let n = trained.config().sample_count().min(1000);
    Some(ReverseProcess::new(
        &crate::plot::facets::run_label(sweep, run),
        &trained,
        n,
        run.seed,
    ))
}

/// The page of `input` from scratch, as the store holds it now: the aggregate, the
/// comparisons, the head of `report.md` and the featured run's reverse process computed
/// as a report computes them (`diffsweep serve` calls this; a report calls [`write`]).
pub fn build(
    input: &ReportInput,
    artifacts: &dyn RunArtifacts,
    options: &PageOptions,
) -> Result<String> {
    let sweep = &input.sweep;
    let aggregate = crate::aggregate::aggregate(sweep)?;
    let comparisons =
        crate::compare::answer(sweep, &aggregate, &input.questions, input.correction)?;
    let featured = sweep.featured_run(input.featured.as_ref())?;
    let reverse = featured
        .filter(|_| !options.light)
        .and_then(|run| reverse_process(sweep, run, artifacts));
    let mut warnings = Vec::new();
    if input.pending_cells > 0 {
        warnings.push(format!(
            "{} of the experiment {} no stored run yet; the page covers the others",
            counted(input.pending_cells, "cell", "cells"),
            agree(input.pending_cells, "has", "have")
        ));
    }
    if !input.corrupt.is_empty() {
        warnings.push(format!(
            "{} {} corrupt and left out: {}",
            counted(input.corrupt.len(), "stored run", "stored runs"),
            agree(input.corrupt.len(), "is", "are"),
            input.corrupt.join("; ")
        ));
    }
    let featured_text = featured.map(|r| sweep.describe_run(r));
    let report_markdown = crate::document::Document {
        sweep,
        summary_markdown: String::new(),
        comparison_markdown: String::new(),
        comparisons: &[],
        figures: &[],
        warnings: &[],
        featured: featured_text,
        pending_cells: input.pending_cells,
        corrupt: &input.corrupt,
    }
    .render();
    render(
        &PageInput {
            input,
            aggregate: &aggregate,
            comparisons: &comparisons,
            featured,
            reverse: reverse.as_ref(),
            report_markdown: &report_markdown,
            warnings: &warnings,
        },
        artifacts,
        options,
    )
}
