//! `diffsweep train`: one run from flags, printed as one JSON object.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context;
use ddpm::{
    DatasetKind, RunConfig, RunStatus, SamplerVariance, Scaling, ScheduleKind, TimeEncoding,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::bad_input::{classify, BadInput};

/// Arguments of `diffsweep train`. Unset flags keep the value of `--config`, or the post's
/// defaults.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// A TOML run config to start from (the `[base]` table of an experiment file; a regular
    /// file of at most 1 MiB).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data set: moons, circles, swiss_roll, eight_gaussians, checkerboard.
    #[arg(long)]
    dataset: Option<String>,
    /// Number of training points (2 to 1000000).
    #[arg(long, allow_negative_numbers = true)]
    n: Option<usize>,
    /// Standard deviation of the data's Gaussian noise.
    #[arg(long, allow_negative_numbers = true)]
    noise: Option<f64>,
    /// Number of diffusion steps T (1 to 10000).
    #[arg(long = "T", value_name = "T", allow_negative_numbers = true)]
    steps: Option<usize>,
    /// Beta schedule: linear, polynomial, ddpm, cosine, sigmoid.
    #[arg(long)]
    schedule: Option<String>,
    /// Exponent of the polynomial schedule (> 0).
    #[arg(long, allow_negative_numbers = true)]
    power: Option<f64>,
    /// Rescale the schedule to zero terminal SNR (Lin et al. 2024).
    #[arg(long)]
    zero_terminal_snr: bool,
    /// Data scaling: minmax, standardize, none.
    #[arg(long)]
    scaling: Option<String>,
    /// Time encoding of the network: one_hot, sinusoidal.
    #[arg(long)]
    time_encoding: Option<String>,
    /// Full-batch training epochs (1 to 1000000).
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// With --zero-terminal-snr, rescale exactly (alpha_bar_T = 0; needs --prediction v or
    /// sample).
    #[arg(long)]
    zero_terminal_snr_exact: bool,
    /// What the network predicts: epsilon (default), sample (x0), v.
    #[arg(long)]
    prediction: Option<String>,
    /// Reverse-step variance: posterior, beta.
    #[arg(long)]
    variance: Option<String>,
    /// Bound on the predicted x0 at every step: none (default), static, dynamic.
    #[arg(long)]
    clip: Option<String>,
    /// Sampler: ancestral (default), ddim, dpmpp_2m.
    #[arg(long)]
    sampler: Option<String>,
    /// Reverse steps K of the sampler, 1 to T, or 0 for every step [default: T].
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    sampling_steps: Option<usize>,
    /// Which K of the T steps: linspace (default), leading, trailing.
    #[arg(long)]
    spacing: Option<String>,
    /// DDIM's eta, 0 (deterministic, default) to 1.
    #[arg(long, allow_negative_numbers = true)]
    eta: Option<f64>,
    /// Number of samples (2 to 1000000, or 0 for as many as the data; default: as many as
    /// the data).
    #[arg(long, allow_negative_numbers = true)]
    samples: Option<usize>,
    /// The run's seed.
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Write the samples (data space) to this CSV file, header `x,y`.
    #[arg(long, value_name = "PATH")]
    samples_csv: Option<PathBuf>,
}

/// The JSON object `diffsweep train` prints.
#[derive(Serialize)]
struct TrainReport<'a> {
    config: &'a RunConfig,
    #[serde(flatten)]
    status: &'a RunStatus,
    final_loss: f64,
    metrics: Option<ddpm::Metrics>,
    noise_floor: ddpm::Metrics,
    train_seconds: f64,
    seconds_per_epoch: f64,
    sample_seconds: f64,
    metric_seconds: f64,
    /// The instruction-set path of the fused kernels (every path gives the same bits).
    kernel_isa: &'static str,
    /// The commit, compiler, CPU and system of this run.
    provenance: &'static runner::Provenance,
}

/// Parses `value` of `flag` into one of the `allowed` variants of a serde enum.
fn parse_choice<T: DeserializeOwned + Serialize>(
    flag: &str,
    value: &str,
    allowed: &[T],
) -> anyhow::Result<T> {
    let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value);
    T::deserialize(de).map_err(|_| {
        let names: Vec<String> = allowed
            .iter()
            .map(|v| serde_json::to_value(v).map(|j| j.as_str().unwrap_or_default().to_string()))
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        anyhow::Error::new(BadInput(format!(
            "invalid value `{value}` for `--{flag}`: expected one of {}",
            names.join(", ")
        )))
    })
}

/// Why the run does not read the value at `path` (one of [`runner::config_path::ignored`]).
fn reason_ignored(path: &str, config: &RunConfig) -> String {
    fn name(value: impl Serialize) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    match path {
        "sampling.eta" | "sampling.variance" => format!(
            "the {} sampler does not use it",
            name(config.sampling.method)
        ),
        "sampling.clip_quantile" => "only dynamic clipping uses it".into(),
        "sampling.spacing" => "every step is taken, so none is picked".into(),
        schedule if schedule.starts_with("schedule.") => format!(
            "the {} schedule does not use it",
            name(config.schedule.kind)
        ),
        _ => "nothing reads it".into(),
    }
}

/// The flag that sets a config key, and whether this command line gave it.
fn flag(key: &str, args: &TrainArgs) -> Option<(&'static str, bool)> {
    Some(match key {
        "T" => ("--T", args.steps.is_some()),
        "dataset.n" => ("--n", args.n.is_some()),
        "dataset.noise" => ("--noise", args.noise.is_some()),
        "schedule.power" => ("--power", args.power.is_some()),
        "training.epochs" => ("--epochs", args.epochs.is_some()),
        "sampling.n_samples" => ("--samples", args.samples.is_some()),
        "sampling.steps" => ("--sampling-steps", args.sampling_steps.is_some()),
        "sampling.eta" => ("--eta", args.eta.is_some()),
        "sampling.spacing" => ("--spacing", args.spacing.is_some()),
        "sampling.variance" => ("--variance", args.variance.is_some()),
        "schedule.zero_terminal_snr" => ("--zero-terminal-snr", args.zero_terminal_snr),
        "schedule.zero_terminal_snr_exact" => {
            ("--zero-terminal-snr-exact", args.zero_terminal_snr_exact)
        }
        _ => return None,
    })
}

/// What set a config key, for messages: the flag this command line gave, else the
/// `--config` file (or the flag that would set it, when there is no file).
fn setter_of(key: &str, args: &TrainArgs) -> String {
    match (flag(key, args), &args.config) {
        (Some((name, true)), _) | (Some((name, false)), None) => format!("`{name}`"),
        (_, Some(path)) => format!("`{key}` (from {})", path.display()),
        (None, None) => format!("`{key}`"),
    }
}

fn resolve(args: &TrainArgs) -> anyhow::Result<RunConfig> {
    let mut file_text = None;
    let mut config = match &args.config {
        Some(path) => {
            let text = runner::limits::read_text_file(path).map_err(|reason| {
                anyhow::Error::new(BadInput(format!(
                    "{}: cannot use it as a run config (--config): {reason}",
                    path.display()
                )))
            })?;
            let config = runner::parse_run_config(&text, path).map_err(classify)?;
            file_text = Some(text);
            config
        }
        None => RunConfig::default(),
    };
    if let Some(v) = &args.dataset {
        config.dataset.kind = parse_choice("dataset", v, &DatasetKind::ALL)?;
    }
    if let Some(v) = &args.schedule {
        config.schedule.kind = parse_choice("schedule", v, &ScheduleKind::ALL)?;
    }
    if let Some(v) = &args.scaling {
        config.scaling = parse_choice(
            "scaling",
            v,
            &[Scaling::MinMax, Scaling::Standardize, Scaling::None],
        )?;
    }
    if let Some(v) = &args.time_encoding {
        config.model.time_encoding = parse_choice(
            "time-encoding",
            v,
            &[TimeEncoding::OneHot, TimeEncoding::Sinusoidal],
        )?;
    }
    if let Some(v) = &args.variance {
        config.sampling.variance = parse_choice(
            "variance",
            v,
            &[SamplerVariance::Posterior, SamplerVariance::Beta],
        )?;
    }
    if let Some(v) = &args.prediction {
        config.model.prediction = parse_choice("prediction", v, &ddpm::Prediction::ALL)?;
    }
    if let Some(v) = &args.clip {
        config.sampling.clip = parse_choice("clip", v, &ddpm::Clip::ALL)?;
    }
    if let Some(v) = &args.sampler {
        config.sampling.method = parse_choice("sampler", v, &ddpm::config::SamplerMethod::ALL)?;
    }
    if let Some(v) = &args.spacing {
        config.sampling.spacing = parse_choice("spacing", v, &ddpm::config::Spacing::ALL)?;
    }
    if let Some(v) = args.sampling_steps {
        config.sampling.steps = v;
    }
    if let Some(v) = args.eta {
        config.sampling.eta = v;
    }
    if let Some(v) = args.n {
        config.dataset.n = v;
    }
    if let Some(v) = args.noise {
        config.dataset.noise = v;
    }
    if let Some(v) = args.steps {
        config.steps = v;
    }
    if let Some(v) = args.power {
        config.schedule.power = v;
    }
    if args.zero_terminal_snr {
        config.schedule.zero_terminal_snr = true;
    }
    if args.zero_terminal_snr_exact {
        config.schedule.zero_terminal_snr_exact = true;
    }
    if let Some(v) = args.epochs {
        config.training.epochs = v;
    }
    if let Some(v) = args.samples {
        config.sampling.n_samples = v;
    }
    if let Some(v) = args.seed {
        config.seed = v;
    }
    if let Err(ddpm::Error::InvalidConfig {
        key,
        value,
        allowed,
    }) = config.validate()
    {
        // A value the file set (no flag replaced it) is placed at its line in the file.
        if let (Some(path), Some(text), Some((_, false)) | None) =
            (&args.config, &file_text, flag(&key, args))
        {
            let message = format!("invalid value {value} for `{key}`: expected {allowed}");
            return Err(anyhow::Error::new(BadInput(
                runner::run_config_error(text, path, &key, &message).to_string(),
            )));
        }
        return Err(anyhow::Error::new(BadInput(format!(
            "invalid value {value} for {}: expected {allowed}",
            setter_of(&key, args)
        ))));
    }
    Ok(config)
}

/// Runs `diffsweep train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let config = resolve(&args)?;
    // A value the run never reads (DDIM's eta under another sampler, a schedule's unused
    // parameter) is said so, not silently dropped.
    for (path, value) in runner::config_path::ignored(&config) {
        eprintln!(
            "warning: {} = {value} has no effect on this run: {}",
            setter_of(&path, &args),
            reason_ignored(&path, &config)
        );
    }
    // The output file is opened before training, so a bad path costs nothing.
    let mut samples_file = match &args.samples_csv {
        Some(path) => Some(std::fs::File::create(path).map_err(|err| {
            anyhow::Error::new(BadInput(format!(
                "cannot write samples to {} (--samples-csv): {err}",
                path.display()
            )))
        })?),
        None => None,
    };
    let outcome = ddpm::run(&config, &mut |_| {}).context("the run failed")?;
    if let (Some(file), Some(path)) = (samples_file.as_mut(), &args.samples_csv) {
        let mut text = String::from("x,y\n");
        for p in &outcome.samples {
            text.push_str(&format!("{},{}\n", p[0], p[1]));
        }
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write samples to {}", path.display()))?;
    }
    let epochs_run = outcome.loss_curve.last().map_or(0, |(e, _)| *e).max(1);
    let report = TrainReport {
        config: &config,
        status: &outcome.status,
        final_loss: outcome.final_loss,
        metrics: outcome.metrics,
        noise_floor: outcome.noise_floor,
        train_seconds: outcome.train_seconds,
        seconds_per_epoch: outcome.train_seconds / epochs_run as f64,
        sample_seconds: outcome.sample_seconds,
        metric_seconds: outcome.metric_seconds,
        kernel_isa: outcome.kernel_isa.name(),
        provenance: runner::Provenance::current(),
    };
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &report).context("cannot write to stdout")?;
    writeln!(stdout).context("cannot write to stdout")?;
    Ok(match outcome.status {
        RunStatus::Completed => ExitCode::SUCCESS,
        RunStatus::Diverged { .. } | RunStatus::NonFinite => ExitCode::FAILURE,
    })
}
