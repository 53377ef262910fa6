//! `report.md`: what was run, the summary table, the comparisons with their verdicts, the
//! figures and the runs that did not complete. Everything in it is derived from the
//! stored runs and sorted, so regenerating it gives the same text.

use runner::words::{agree, counted};
use std::fmt::Write as _;

use crate::compare::{fmt_num, Comparison};
use crate::export::MarkdownExporter;
use crate::sweep::{RunStatus, Sweep};
use crate::table::fmt_estimate;

/// A figure written to the report folder.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureEntry {
    /// The section it belongs to.
    pub heading: String,
    /// What it shows, one or two sentences.
    pub caption: String,
    /// Paths relative to the report folder (the first is embedded, the rest linked).
    pub files: Vec<String>,
}

/// Everything the document shows.
pub struct Document<'a> {
    /// The sweep.
    pub sweep: &'a Sweep,
    /// The summary table, already rendered as markdown.
    pub summary_markdown: String,
    /// The comparison table, already rendered as markdown (empty without comparisons).
    pub comparison_markdown: String,
    /// The answered comparisons.
    pub comparisons: &'a [Comparison],
    /// The figures drawn.
    pub figures: &'a [FigureEntry],
    /// Figures that could not be drawn, and why.
    pub warnings: &'a [String],
    /// The run drawn in the single-model figures, described.
    pub featured: Option<String>,
    /// Cells of the experiment not run yet.
    pub pending_cells: usize,
    /// Stored runs whose record is corrupt, described.
    pub corrupt: &'a [String],
}

fn minutes(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

impl Document<'_> {
    /// The markdown text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let sweep = self.sweep;
        let _ = writeln!(out, "# Report: {}\n", sweep.name);
        if !sweep.description.trim().is_empty() {
            let _ = writeln!(out, "{}\n", sweep.description.trim());
        }
        self.what_was_run(&mut out);
        let _ = writeln!(out, "## Summary\n");
        let _ = writeln!(
            out,
            "Each cell is one combination of the grid's axes over its seeds. A metric is the \
             mean over the completed seeds ± the half-width of its 95% Student-t interval \
             (n − 1 degrees of freedom); `/ floor` divides the mean by the mean noise floor, \
             the score of a fresh draw of the data set against the training set, so 1 is as \
             good as a perfect model can expect. Diverged runs, runs whose samples are not \
             finite (`non_finite`) and failed runs are counted in `failed` and left out of \
             the statistics. A completed run is counted as `exploded` when any of its \
             metrics exceeds {} times its noise floor; exploded runs stay in the means, so \
             read the `median` beside each mean. Full precision: `summary.csv`, \
             `summary.parquet`; one row per run: `runs.csv`, `runs.parquet`.\n",
            crate::aggregate::EXPLODED_RATIO
        );
        out.push_str(&self.summary_markdown);
        out.push('\n');
        self.comparisons_section(&mut out);
        self.figures_section(&mut out);
        self.failures_section(&mut out);
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "## Notes\n");
            for warning in self.warnings {
                let _ = writeln!(out, "- {warning}");
            }
            out.push('\n');
        }
        out
    }

    fn what_was_run(&self, out: &mut String) {
        let sweep = self.sweep;
        let _ = writeln!(out, "## What was run\n");
        for axis in &sweep.axes {
            let values: Vec<String> = sweep
                .values_of(axis)
                .iter()
                .map(|v| v.to_string())
                .collect();
            let _ = writeln!(out, "- `{axis}`: {}", values.join(", "));
        }
        let mut seeds: Vec<u64> = sweep.rows.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let seed_text: Vec<String> = seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "- seeds: {}", seed_text.join(", "));
        let count = |status: RunStatus| sweep.rows.iter().filter(|r| r.status == status).count();
        let _ = writeln!(
            out,
            "- {}, {}: {} completed, {} diverged, {} non-finite, {} failed",
            counted(sweep.cells().len(), "cell", "cells"),
            counted(sweep.rows.len(), "run", "runs"),
            count(RunStatus::Completed),
            count(RunStatus::Diverged),
            count(RunStatus::NonFinite),
            count(RunStatus::Failed)
        );
        let sum = |f: fn(&crate::sweep::Timings) -> f64| -> f64 {
            sweep.rows.iter().map(|r| f(&r.timings)).sum()
        };
        let models = sweep.model_count();
        let _ = writeln!(
            out,
            "- compute time summed over runs: {} (training {}{}, sampling {}, metrics {})",
            minutes(sweep.total_seconds()),
            minutes(sweep.training_seconds()),
            if models < sweep.rows.len() {
                format!(
                    " for {}, each counted once",
                    counted(models, "model", "models")
                )
            } else {
                String::new()
            },
            minutes(sum(|t| t.sample_seconds)),
            minutes(sum(|t| t.metric_seconds))
        );
        let mut versions: Vec<&str> = sweep
            .rows
            .iter()
            .filter_map(|r| r.version.as_deref())
            .collect();
        versions.sort_unstable();
        versions.dedup();
        if !versions.is_empty() {
            let quoted: Vec<String> = versions.iter().map(|v| format!("`{v}`")).collect();
            let _ = writeln!(out, "- code version: {}", quoted.join(", "));
        }
        if self.pending_cells > 0 {
            let _ = writeln!(
                out,
                "- **{} no stored run yet**: this report covers only the cells above",
                counted(self.pending_cells, "cell has", "cells have")
            );
        }
        if !self.corrupt.is_empty() {
            let _ = writeln!(
                out,
                "- **{} {} corrupt** and left out of every table and figure (the next sweep \
                 sets {} aside and runs {} again):",
                counted(self.corrupt.len(), "stored run", "stored runs"),
                agree(self.corrupt.len(), "is", "are"),
                agree(self.corrupt.len(), "it", "them"),
                agree(self.corrupt.len(), "it", "them")
            );
            for entry in self.corrupt {
                let _ = writeln!(out, "  - {}", entry.replace('|', "\\|"));
            }
        }
        if let Some(featured) = &self.featured {
            let _ = writeln!(out, "- run drawn in the single-model figures: {featured}");
        }
        out.push('\n');
    }

    fn comparisons_section(&self, out: &mut String) {
        if self.comparisons.is_empty() {
            return;
        }
        let _ = writeln!(out, "## Comparisons\n");
        let level = crate::table::level_text(self.comparisons);
        let correction = if level == "95" {
            String::new()
        } else {
            format!(
                " This report asks {m} questions and widens every interval to {level}% \
                 (Bonferroni, 1 − 0.05/{m}), so that all {m} cover together with probability \
                 at least 95%; the verdicts read these wider intervals.",
                m = self.comparisons.len()
            )
        };
        let _ = writeln!(
            out,
            "Each comparison asks whether cell a beats cell b on a metric by more than a \
             margin (in the metric's units). The difference of means a − b gets a {level}% interval: \
             when both cells have the same seeds, all completed, the paired t interval of \
             the per-seed differences (a seed fixes the data draw, the initial weights and \
             the sampling noise, so pairing removes what the seeds share); otherwise Welch's \
             interval, which does not assume equal variances. Each comparison says which. For a metric where lower is \
             better, a is **better** when the whole interval lies below −margin, **worse** \
             when it lies above +margin, **equivalent** when it lies within ±margin (any \
             difference is smaller than the margin), **better (worse), size uncertain** when \
             it excludes 0 but crosses ±margin (a real difference whose size the seeds cannot \
             place against the margin), and **no detectable difference** when it contains 0 \
             and crosses ±margin (more seeds could decide). Fewer than two completed seeds on \
             a side gives no interval. `p` is the two-sided p-value of a − b = 0 from the \
             same t statistic, `p (Holm)` the same after Holm's step-down adjustment over \
             every comparison of the report; `lost seeds` names the runs of either cell \
             that diverged, had non-finite samples or failed, which no statistic \
             includes.{correction}\n"
        );
        out.push_str(&self.comparison_markdown);
        out.push('\n');
        for c in self.comparisons {
            let q = &c.question;
            let _ = writeln!(out, "### {} ({})\n", q.name, q.metric);
            let direction = if q.lower_is_better { "lower" } else { "higher" };
            let _ = writeln!(
                out,
                "Is a = `{}` better than b = `{}` on `{}` ({direction} is better), by more than {}?\n",
                c.cell_a,
                c.cell_b,
                q.metric,
                fmt_num(q.margin)
            );
            let _ = writeln!(
                out,
                "- a: {} over {}{}",
                fmt_estimate(&c.a),
                counted(c.a.n, "seed", "seeds"),
                failed_note(c.failures_a)
            );
            let _ = writeln!(
                out,
                "- b: {} over {}{}",
                fmt_estimate(&c.b),
                counted(c.b.n, "seed", "seeds"),
                failed_note(c.failures_b)
            );
            match &c.difference {
                Some(d) => {
                    let df = if d.df.is_finite() {
                        format!("{:.1}", d.df)
                    } else {
                        "∞".to_string()
                    };
                    let _ = writeln!(
                        out,
                        "- a − b = {}, {}% CI [{}, {}] ({}, df = {df}, half-width {}); p = {}, \
                         Holm-adjusted {}; noise floor {}",
                        fmt_num(d.diff),
                        level,
                        fmt_num(d.lower),
                        fmt_num(d.upper),
                        match d.method {
                            crate::stats::Interval::Paired => "paired over the same seeds",
                            crate::stats::Interval::Welch => "Welch",
                        },
                        fmt_num((d.upper - d.lower) / 2.0),
                        crate::table::fmt_p(c.p_value),
                        crate::table::fmt_p(c.p_holm),
                        fmt_num(c.floor)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "- a − b = {}, no interval",
                        fmt_num(c.a.mean - c.b.mean)
                    );
                }
            }
            let _ = writeln!(out, "- verdict: **{}**\n", c.verdict.describe(q.margin));
        }
    }

    fn figures_section(&self, out: &mut String) {
        if self.figures.is_empty() {
            return;
        }
        let _ = writeln!(out, "## Figures\n");
        for figure in self.figures {
            let _ = writeln!(out, "### {}\n", figure.heading);
            let _ = writeln!(out, "{}\n", figure.caption);
            if let Some(first) = figure.files.first() {
                let _ = writeln!(out, "![{}]({first})\n", figure.heading);
            }
            if figure.files.len() > 1 {
                let links: Vec<String> = figure.files[1..]
                    .iter()
                    .map(|f| format!("[{}]({f})", f.rsplit('.').next().unwrap_or(f)))
                    .collect();
                let _ = writeln!(out, "Also as {}.\n", links.join(", "));
            }
        }
    }

    fn failures_section(&self, out: &mut String) {
        let sweep = self.sweep;
        let _ = writeln!(out, "## Diverged, non-finite and failed runs\n");
        let failed: Vec<_> = sweep
            .rows
            .iter()
            .filter(|r| r.status != RunStatus::Completed)
            .collect();
        if failed.is_empty() {
            let _ = writeln!(out, "None: every run completed.\n");
            return;
        }
        let _ = writeln!(out, "| cell | seed | status | detail | run |");
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        for r in failed {
            let detail = match (r.status, r.diverged_epoch, &r.error) {
                (RunStatus::Diverged, Some(epoch), _) => {
                    format!("loss not finite at epoch {epoch}")
                }
                (_, _, Some(error)) => error.lines().next().unwrap_or("").replace('|', "\\|"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | `{}` |",
                sweep.describe_cell(&r.cell_key(&sweep.axes)),
                r.seed,
                r.status.as_str(),
                detail,
                r.run_id
            );
        }
        out.push('\n');
    }
}

fn failed_note(failures: usize) -> String {
    if failures == 0 {
        String::new()
    } else {
        format!(" ({failures} more diverged or failed, not counted)")
    }
}

/// Renders a markdown table with the crate's exporter (kept here so the document has one
/// way to format tables).
pub fn markdown(table: &polars::prelude::DataFrame) -> String {
    MarkdownExporter.render(table)
}
