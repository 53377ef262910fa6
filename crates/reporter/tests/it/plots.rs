//! Every figure renders to a PNG of its declared size that is not blank.

use std::path::Path;

use reporter::aggregate::aggregate;
use reporter::plot::field::FieldFigure;
use reporter::plot::loss::LossFigure;
use reporter::plot::metric::MetricFigure;
use reporter::plot::reverse::ReverseProcess;
use reporter::plot::samples::SampleGrid;
use reporter::plot::schedules::ScheduleFigure;
use reporter::plot::{save, Figure};
use reporter::RunArtifacts;

use crate::fixture;

/// The run whose tiny model the single-run figures use.
pub const FEATURED: &str = "polynomial-minmax-10-0";

/// Decodes `path` and checks its size and that it holds a drawing: many pixels that are
/// not background, and more than two colours.
fn assert_drawn(path: &Path, size: (u32, u32)) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(image.dimensions(), size, "{}", path.display());
    let white = image.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    let total = (size.0 * size.1) as usize;
    assert!(white < total * 99 / 100, "{} is blank", path.display());
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 20,
        "{} has {} colours",
        path.display(),
        colours.len()
    );
}

fn check(figure: &impl Figure, stem: &str) {
    let dir = tempfile::tempdir().unwrap();
    let paths = save(figure, dir.path(), stem).unwrap();
    assert_drawn(&paths[0], figure.size());
    let svg = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<text"),
        "{stem}.svg has no text"
    );
}

#[test]
fn metric_against_steps() {
    let sweep = fixture::sweep();
    let aggregate = aggregate(&sweep).unwrap();
    for metric in ddpm::Metrics::NAMES {
        let figure = MetricFigure::new(&sweep, &aggregate, metric).unwrap();
        assert_eq!(figure.panels.len(), 2, "one panel per scaling");
        assert_eq!(figure.panels[0].lines.len(), 2, "one line per schedule");
        check(&figure, metric);
    }
}

/// A sweep over T and the sampler's steps K with the given values, two seeds a cell.
fn over_t_and_k(ts: &[i64], ks: &[i64]) -> reporter::Sweep {
    use reporter::AxisValue;
    let mut rows = Vec::new();
    for &t in ts {
        for &k in ks {
            for seed in 0..2u64 {
                let axes = [
                    ("T", AxisValue::Int(t)),
                    ("sampling.steps", AxisValue::Int(k)),
                ];
                let c = 0.1 + 1.0 / t as f64 + 0.01 * seed as f64;
                rows.push(fixture::row(
                    &format!("{t}-{k}-{seed}"),
                    &axes,
                    seed,
                    [c; 3],
                ));
            }
        }
    }
    let axes = ["T", "sampling.steps", "seed"].map(String::from);
    reporter::Sweep::new("k", "T and K.", &axes, rows)
}

#[test]
fn one_sampling_step_count_over_several_t_is_drawn_against_t() {
    use reporter::plot::facets::against_k;
    for (ts, ks, k) in [
        (&[10, 100][..], &[3][..], false),
        (&[10, 100], &[3, 10], true),
        (&[100], &[3, 10], true),
        (&[100], &[3], true),
    ] {
        let sweep = over_t_and_k(ts, ks);
        let aggregate = aggregate(&sweep).unwrap();
        assert_eq!(against_k(&sweep), k, "T {ts:?}, K {ks:?}");
        let by_k = MetricFigure::against_sampling_steps(&sweep, &aggregate, "chamfer");
        assert_eq!(by_k.len(), usize::from(k), "T {ts:?}, K {ks:?}");
        if !k {
            let figure = MetricFigure::new(&sweep, &aggregate, "chamfer").unwrap();
            let points: Vec<usize> = figure.panels[0]
                .lines
                .iter()
                .map(|line| line.points.len())
                .collect();
            assert_eq!(points, [2], "one line of both T");
        }
    }
}

#[test]
fn sample_grid() {
    let sweep = fixture::sweep();
    let artifacts = fixture::artifacts(&sweep, "");
    let figure = SampleGrid::new(&sweep, &artifacts, 0).unwrap();
    assert_eq!(figure.rows.len(), 4);
    assert_eq!(figure.columns, vec!["T\u{2002}= 10", "T\u{2002}= 1000"]);
    // One data set in every row: shared axes.
    assert!(figure.row_bounds.is_none());
    check(&figure, "samples");
}

#[test]
fn a_run_whose_samples_do_not_read_gives_its_cell_to_the_next_seed() {
    let sweep = fixture::sweep();
    let mut artifacts = fixture::artifacts(&sweep, "");
    // Seed 0 of (polynomial, minmax, T = 10) has no readable samples; seed 1 has.
    artifacts.samples.remove("polynomial-minmax-10-0");
    let figure = SampleGrid::new(&sweep, &artifacts, 0).unwrap();
    let seeds: Vec<Vec<Option<u64>>> = figure
        .cells
        .iter()
        .map(|row| row.iter().map(|c| c.as_ref().map(|c| c.seed)).collect())
        .collect();
    assert_eq!(seeds.iter().flatten().filter(|s| **s == Some(1)).count(), 1);
    assert!(seeds.iter().flatten().all(Option::is_some), "{seeds:?}");
    assert_eq!(figure.unreadable.len(), 1, "{:?}", figure.unreadable);
    assert!(figure.unreadable[0].contains("polynomial-minmax-10-0"));
    check(&figure, "samples");
}

#[test]
fn a_loss_curve_that_does_not_read_leaves_the_mean_of_the_other_seeds() {
    let sweep = fixture::sweep();
    let mut artifacts = fixture::artifacts(&sweep, "");
    let whole = LossFigure::new(&sweep, &artifacts).unwrap();
    assert!(whole.unreadable.is_empty());
    artifacts.losses.remove("polynomial-minmax-10-0");
    let figure = LossFigure::new(&sweep, &artifacts).unwrap();
    assert_eq!(figure.unreadable.len(), 1, "{:?}", figure.unreadable);
    assert!(figure.unreadable[0].contains("polynomial-minmax-10-0"));
    let seeds = |f: &LossFigure| -> Vec<usize> {
        f.panels
            .iter()
            .flat_map(|(_, c)| c.iter().map(|c| c.seeds))
            .collect()
    };
    let (before, after) = (seeds(&whole), seeds(&figure));
    assert_eq!(
        before.iter().sum::<usize>(),
        after.iter().sum::<usize>() + 1
    );
    check(&figure, "loss");
}

#[test]
fn sample_grid_rows_of_different_data_sets_get_their_own_axes() {
    let sweep = fixture::sweep();
    let mut artifacts = fixture::artifacts(&sweep, "");
    // The standardised runs are made to learn circles: a data set of another size.
    for run in &sweep.rows {
        if run.axes.get("scaling") == Some(&fixture::text("standardize")) {
            let config = artifacts.configs.get_mut(&run.run_id).expect("a config");
            config.dataset.kind = ddpm::DatasetKind::Circles;
            config.dataset.noise = 0.0;
        }
    }
    let figure = SampleGrid::new(&sweep, &artifacts, 0).unwrap();
    let rows = figure.row_bounds.as_ref().expect("per-row axes");
    assert_eq!(rows.len(), figure.rows.len());
    let (moons, circles): (Vec<_>, Vec<_>) = figure
        .rows
        .iter()
        .zip(rows)
        .partition(|(label, _)| !label.contains("standardize"));
    let width = |b: &&reporter::plot::Bounds| b.x_max - b.x_min;
    let (m, c) = (width(&moons[0].1), width(&circles[0].1));
    assert!(
        m > 1.3 * c,
        "moons span {m}, circles {c}: each row at its own scale"
    );
    check(&figure, "samples_by_data_set");
}

#[test]
fn loss_curves() {
    let sweep = fixture::sweep();
    let artifacts = fixture::artifacts(&sweep, "");
    let figure = LossFigure::new(&sweep, &artifacts).unwrap();
    assert_eq!(figure.panels.len(), 2);
    check(&figure, "loss");
}

#[test]
fn schedules() {
    let sweep = fixture::sweep();
    let artifacts = fixture::artifacts(&sweep, "");
    let figure = ScheduleFigure::new(&sweep, &artifacts).unwrap();
    assert_eq!(figure.curves.len(), 4, "two schedules at two T");
    assert_eq!(figure.steps, vec![10, 1000]);
    check(&figure, "schedules");
    // A run whose config does not read is passed over for another of its cell.
    let mut artifacts = artifacts;
    artifacts.configs.remove("ddpm-minmax-10-0");
    assert_eq!(ScheduleFigure::new(&sweep, &artifacts).unwrap(), figure);
}

#[test]
fn field_and_reverse_process_of_a_tiny_model() {
    let sweep = fixture::sweep();
    let artifacts = fixture::artifacts(&sweep, FEATURED);
    let config = artifacts.config(FEATURED).unwrap();
    let weights = artifacts.weights(FEATURED).unwrap();
    let trained = ddpm::LoadedModel::from_weights(&config, &weights).unwrap();

    let field = FieldFigure::new("tiny", &trained);
    assert_eq!(
        field.frames.iter().map(|f| f.step).collect::<Vec<_>>(),
        vec![10, 5, 1]
    );
    check(&field, "field");

    let reverse = ReverseProcess::new("tiny", &trained, 200, 0);
    assert_eq!(reverse.trajectory.len(), 11);
    check(&reverse, "reverse");
    let dir = tempfile::tempdir().unwrap();
    let gif = reverse.save_gif(dir.path(), "reverse").unwrap();
    let bytes = std::fs::read(&gif).unwrap();
    assert!(
        bytes.starts_with(b"GIF89a") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}
