//! The Slurm flags of `diffsweep sweep` (`--partition`, `--time`, ...): each overrides
//! the experiment's `[slurm]` table, and a local sweep refuses them.

use runner::slurm::{OptionValue, SlurmOptions};

use crate::bad_input::BadInput;

/// The Slurm options of `diffsweep sweep`; each overrides the experiment's `[slurm]`.
#[derive(clap::Args, Debug, Default)]
pub struct SlurmArgs {
    /// With `--on slurm`: follow the sweep until every cell is stored or failed (Ctrl-C
    /// stops following, not the jobs).
    #[arg(long)]
    pub wait: bool,
    /// With `--on slurm`: the partition (sbatch --partition).
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// With `--on slurm`: each task's time limit, e.g. 30, 1:00:00, 1-12 (sbatch --time).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// With `--on slurm`: CPUs per task [default: 1] (sbatch --cpus-per-task).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cpus_per_task: Option<i64>,
    /// With `--on slurm`: memory per task, e.g. 2G (sbatch --mem).
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,
    /// With `--on slurm`: the account to charge (sbatch --account).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// With `--on slurm`: the quality of service (sbatch --qos).
    #[arg(long, value_name = "NAME")]
    pub qos: Option<String>,
    /// With `--on slurm`: at most K tasks of an array at once (--array=...%K).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub throttle: Option<i64>,
    /// With `--on slurm`: one more sbatch argument, passed as it is (repeatable), e.g.
    /// --sbatch-arg=--constraint=avx512.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// With `--on slurm`: requeueable tasks; a task signalled before its time limit (or
    /// preempted) abandons its run, stores nothing and trains it again when it restarts.
    #[arg(long)]
    pub requeue: bool,
    /// With `--requeue`: signal a task this many seconds before its time limit [default: 60].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub signal_before: Option<i64>,
}

impl SlurmArgs {
    /// The flags given, as options (values checked), and their names.
    pub(super) fn options(&self) -> Result<(SlurmOptions, Vec<&'static str>), String> {
        let mut options = SlurmOptions::default();
        let mut given = Vec::new();
        let texts = [
            ("partition", "--partition", &self.partition),
            ("time", "--time", &self.time),
            ("mem", "--mem", &self.mem),
            ("account", "--account", &self.account),
            ("qos", "--qos", &self.qos),
        ];
        for (key, flag, value) in texts {
            if let Some(value) = value {
                options
                    .set(key, OptionValue::Text(value.clone()))
                    .map_err(|m| format!("{flag}: {m}"))?;
                given.push(flag);
            }
        }
        let numbers = [
            ("cpus_per_task", "--cpus-per-task", self.cpus_per_task),
            ("throttle", "--throttle", self.throttle),
            ("signal_before", "--signal-before", self.signal_before),
        ];
        for (key, flag, value) in numbers {
            if let Some(value) = value {
                options
                    .set(key, OptionValue::Integer(value))
                    .map_err(|m| format!("{flag}: {m}"))?;
                given.push(flag);
            }
        }
        if !self.sbatch_args.is_empty() {
            options
                .set("sbatch_args", OptionValue::List(self.sbatch_args.clone()))
                .map_err(|m| format!("--sbatch-arg: {m}"))?;
            given.push("--sbatch-arg");
        }
        if self.requeue {
            options.requeue = Some(true);
            given.push("--requeue");
        }
        if self.wait {
            given.push("--wait");
        }
        Ok((options, given))
    }

    /// Refuses Slurm flags on a local sweep.
    pub fn check_local(&self) -> anyhow::Result<()> {
        let (_, given) = self
            .options()
            .map_err(|m| anyhow::Error::new(BadInput(m)))?;
        match given.first() {
            Some(flag) => Err(anyhow::Error::new(BadInput(format!(
                "{flag} is an option of Slurm sweeps: add `--on slurm`"
            )))),
            None => Ok(()),
        }
    }
}
