//! The executor: resume, failures, and parallel runs equal to sequential ones.

use std::sync::{Arc, Mutex};

use ddpm::{Evaluation, Progress, RunConfig, TrainedModel};
use runner::executor::{CellJob, CellOutcome, Silent};
use runner::{Backend, Executor, ModelId, RunStore, Status};

use crate::{fake_evaluation, fake_model, parse, TINY_BASE};

/// A backend that stands in for `ddpm`: it answers at once, deterministically from the
/// config, and notes the seed of every model it trains.
#[derive(Clone, Default)]
struct FakeBackend {
    /// Whether seed 1 panics and seed 2 fails with an error.
    failing: bool,
    /// The seed of every model trained, in order.
    trained: Arc<Mutex<Vec<u64>>>,
}

impl FakeBackend {
    fn calls(&self) -> usize {
        self.trained.lock().unwrap().len()
    }
}

impl Backend for FakeBackend {
    fn train(
        &self,
        models: &[&RunConfig],
        progress: &mut dyn FnMut(usize, Progress),
    ) -> Vec<ddpm::Result<TrainedModel>> {
        models
            .iter()
            .enumerate()
            .map(|(i, config)| {
                self.trained.lock().unwrap().push(config.seed);
                progress(
                    i,
                    Progress::Epoch {
                        epoch: 1,
                        epochs: 1,
                        loss: 0.5,
                    },
                );
                match config.seed {
                    1 if self.failing => panic!("seed one always panics"),
                    2 if self.failing => Err(ddpm::Error::WeightMismatch(
                        "seed two always fails".to_string(),
                    )),
                    _ => Ok(fake_model(config)),
                }
            })
            .collect()
    }

    fn evaluate(&self, cells: &[CellJob<'_>]) -> Vec<ddpm::Result<Evaluation>> {
        cells
            .iter()
            .map(|cell| Ok(fake_evaluation(cell.config)))
            .collect()
    }
}

fn fake_executor(jobs: usize, backend: &FakeBackend) -> Executor {
    Executor::new(jobs).unwrap().with_backend(backend.clone())
}

#[test]
fn a_second_sweep_trains_nothing_and_failures_wait_for_retry() {
    let experiment = parse("name = \"r\"\nseeds = 4\n[grid]\nT = [10, 20]\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let backend = FakeBackend {
        failing: true,
        ..FakeBackend::default()
    };

    let first = fake_executor(2, &backend)
        .execute(&store, experiment.cells(), &Silent)
        .unwrap();
    assert_eq!(backend.calls(), 8);
    assert_eq!(first.trained(), 8);
    // A panic and an error are recorded as failures; the other runs go on.
    let failures = first.failures();
    assert_eq!(failures.len(), 4);
    assert!(failures
        .iter()
        .any(|(_, o)| o.error() == Some("panicked: seed one always panics")));
    assert!(failures
        .iter()
        .any(|(_, o)| o.error() == Some("weights do not match the model: seed two always fails")));
    assert_eq!(first.with_status(Status::Completed).len(), 4);

    let second = fake_executor(2, &backend)
        .execute(&store, experiment.cells(), &Silent)
        .unwrap();
    assert_eq!(backend.calls(), 8, "a second sweep must train nothing");
    assert_eq!(second.cached(), 8);
    assert_eq!(second.failures().len(), 4);
    for ((_, a), (_, b)) in first.cells.iter().zip(&second.cells) {
        assert_eq!(a.record(), b.record(), "stored records are not rewritten");
    }

    let mut retry = fake_executor(2, &backend);
    retry.retry_failed = true;
    let third = retry.execute(&store, experiment.cells(), &Silent).unwrap();
    assert_eq!(backend.calls(), 12, "only the failed cells are retried");
    assert_eq!(third.trained(), 4);

    let mut force = fake_executor(1, &backend);
    force.force = true;
    force.execute(&store, experiment.cells(), &Silent).unwrap();
    assert_eq!(backend.calls(), 20, "--force trains everything");
}

#[test]
fn a_leftover_temporary_directory_does_not_count_as_a_run() {
    let experiment = parse("name = \"r\"\n[grid]\nT = [10]\n").unwrap();
    let cell = &experiment.cells()[0];
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let tmp = dir.path().join(format!("runs/.tmp-{}-4000000", cell.id));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("record.json"), "{").unwrap();

    let backend = FakeBackend::default();
    let report = fake_executor(1, &backend)
        .execute(&store, experiment.cells(), &Silent)
        .unwrap();
    assert_eq!(backend.calls(), 1);
    assert!(matches!(report.cells[0].1, CellOutcome::Trained(_)));
    assert!(!tmp.exists());
}

/// Slow test: trains four tiny runs twice.
#[test]
fn slow_parallel_sweep_is_bit_identical_to_sequential() {
    let text = format!("name = \"p\"\nseeds = 2\n{TINY_BASE}\n[grid]\nT = [5, 20]\n");
    let experiment = parse(&text).unwrap();
    let cells = experiment.cells();
    let sequential = tempfile::tempdir().unwrap();
    let parallel = tempfile::tempdir().unwrap();
    let a = RunStore::open(sequential.path()).unwrap();
    let b = RunStore::open(parallel.path()).unwrap();
    let report_a = Executor::new(1)
        .unwrap()
        .execute(&a, cells, &Silent)
        .unwrap();
    let report_b = Executor::new(2)
        .unwrap()
        .execute(&b, cells, &Silent)
        .unwrap();
    assert_eq!(
        report_a.with_status(Status::Completed).len(),
        4,
        "{:?}",
        report_a.failures()
    );
    assert_eq!(report_b.trained(), 4);

    for cell in cells {
        let (ra, rb) = (
            a.record(&cell.id).unwrap().unwrap(),
            b.record(&cell.id).unwrap().unwrap(),
        );
        assert_eq!(ra.metrics, rb.metrics, "{}", cell.label);
        assert_eq!(ra.noise_floor, rb.noise_floor);
        assert_eq!(
            ra.final_loss.map(f64::to_bits),
            rb.final_loss.map(f64::to_bits)
        );
        for file in [
            "samples.csv",
            "loss.csv",
            "weights.safetensors",
            "config.toml",
        ] {
            // A run's loss curve and weights live with its model, which the record names.
            let bytes = |store: &RunStore| {
                let record = store.record(&cell.id).unwrap().unwrap();
                let dir = match file {
                    "loss.csv" | "weights.safetensors" => {
                        store.model_dir(record.model.as_ref().expect("a model"))
                    }
                    _ => store.run_dir(&cell.id),
                };
                std::fs::read(dir.join(file)).unwrap()
            };
            assert_eq!(bytes(&a), bytes(&b), "{file} of {}", cell.label);
            assert_eq!(ra.artifacts[file], rb.artifacts[file]);
        }
        // What the reporter reads back is what the run produced.
        assert_eq!(a.samples(&cell.id).unwrap().len(), 100);
        assert_eq!(a.config(&cell.id).unwrap(), cell.config.canonical());
        assert!(!a.weights(&cell.id).unwrap().is_empty());
        assert_eq!(a.loss_curve(&cell.id).unwrap().last().unwrap().0, 100);
    }
}

/// A cell whose lock another process holds is passed over: the free cells train first,
/// and the held one is trained once its lock is released.
#[test]
fn a_locked_cell_is_passed_over_and_trained_at_the_end() {
    let experiment = parse("name = \"l\"\nseeds = 3\n[grid]\nT = [10]\n").unwrap();
    let cells = experiment.cells();
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let held = store.lock(&cells[0].id).unwrap();

    let backend = FakeBackend::default();
    let executor = fake_executor(1, &backend);
    let releaser = {
        let store = RunStore::open(dir.path()).unwrap();
        let ids: Vec<_> = cells[1..].iter().map(|c| c.id.clone()).collect();
        std::thread::spawn(move || {
            // Release the lock once the free cells are stored, as the other process would
            // (or after 10 s, so an executor that waits first fails instead of hanging).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !ids.iter().all(|id| store.record(id).unwrap().is_some())
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            drop(held);
        })
    };
    let report = executor.execute(&store, cells, &Silent).unwrap();
    releaser.join().unwrap();
    assert_eq!(report.trained(), 3);
    assert_eq!(*backend.trained.lock().unwrap(), vec![1, 2, 0]);
}

/// Cells that differ only in how they sample share one model: a sweep trains it once and
/// evaluates it per cell, and a later sweep loads it instead of training it again; every
/// evaluation is bit-identical to the whole run `ddpm::run` makes of its config.
#[test]
fn cells_that_share_a_model_train_it_once() {
    let text = format!(
        "name = \"m\"\nseeds = 2\n{TINY_BASE}[grid]\nT = [10]\n\"sampling.variance\" = [\"posterior\"]\n"
    );
    let experiment = parse(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let first = Executor::new(2)
        .unwrap()
        .execute(&store, experiment.cells(), &Silent)
        .unwrap();
    assert_eq!((first.models_trained, first.models_loaded), (2, 0));

    // The same models sampled another way: loaded, not trained.
    let wider = parse(&text.replace("[\"posterior\"]", "[\"posterior\", \"beta\"]")).unwrap();
    let cells = wider.cells();
    let second = Executor::new(2)
        .unwrap()
        .execute(&store, cells, &Silent)
        .unwrap();
    assert_eq!(second.trained(), 2, "only the two beta cells are new");
    assert_eq!((second.models_trained, second.models_loaded), (0, 2));

    // From an empty store: two models for four cells.
    let other = tempfile::tempdir().unwrap();
    let fresh_store = RunStore::open(other.path()).unwrap();
    let fresh = Executor::new(1)
        .unwrap()
        .execute(&fresh_store, cells, &Silent)
        .unwrap();
    assert_eq!((fresh.trained(), fresh.models_trained), (4, 2));

    for cell in cells {
        let stored = store.record(&cell.id).unwrap().unwrap();
        let again = fresh_store.record(&cell.id).unwrap().unwrap();
        let whole = ddpm::run(&cell.config, &mut |_| {}).unwrap();
        for record in [&stored, &again] {
            assert_eq!(record.metrics, whole.metrics, "{}", cell.label);
            assert_eq!(record.artifacts, again.artifacts, "{}", cell.label);
            assert_eq!(record.model, Some(ModelId::of(&cell.config)));
        }
        assert_eq!(store.samples(&cell.id).unwrap(), whole.samples);
        assert_eq!(store.weights(&cell.id).unwrap(), whole.weights);
    }
    let (posterior, beta) = (&cells[0], &cells[2]);
    assert_eq!(posterior.config.seed, beta.config.seed);
    assert_eq!(
        store.record(&posterior.id).unwrap().unwrap().model,
        store.record(&beta.id).unwrap().unwrap().model
    );
    assert_ne!(
        store.samples(&posterior.id).unwrap(),
        store.samples(&beta.id).unwrap()
    );
}

/// The CPU backend given a group trains each model as it trains it alone, in order, and
/// reports each one's progress under its place in the group.
#[test]
fn the_cpu_backend_trains_a_group_model_by_model() {
    let text = format!("name = \"g\"\nseeds = 2\n{TINY_BASE}[grid]\nT = [10]\n");
    let experiment = parse(&text).unwrap();
    let configs: Vec<&RunConfig> = experiment.cells().iter().map(|c| &c.config).collect();
    let mut reported = Vec::new();
    let group = runner::executor::CpuBackend.train(&configs, &mut |i, progress| {
        if let Progress::Epoch { epoch, epochs, .. } = progress {
            if epoch == epochs {
                reported.push(i);
            }
        }
    });
    assert_eq!(reported, [0, 1]);
    assert_eq!(group.len(), 2);
    for (config, trained) in configs.iter().zip(group) {
        let trained = trained.unwrap();
        let alone = ddpm::train_model(config, &mut |_| {}).unwrap();
        assert_eq!(trained.weights, alone.weights);
        assert_eq!(trained.loss_curve, alone.loss_curve);
    }
}
