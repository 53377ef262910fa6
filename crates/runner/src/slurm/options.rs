//! The `sbatch` options of a Slurm sweep: from an experiment's `[slurm]` table and the
//! command line (which wins), each value checked before anything is submitted.

use serde::{Deserialize, Serialize};

/// Extra `sbatch` arguments a sweep may pass, and the characters each may have.
pub const MAX_EXTRA_ARGS: usize = 64;
const MAX_VALUE_CHARS: usize = 200;
/// Seconds before the time limit at which a requeueable task is signalled, by default.
pub const DEFAULT_SIGNAL_BEFORE: u32 = 60;

/// The keys of an experiment file's `[slurm]` table.
pub const KEYS: [&str; 10] = [
    "partition",
    "time",
    "cpus_per_task",
    "mem",
    "account",
    "qos",
    "throttle",
    "sbatch_args",
    "requeue",
    "signal_before",
];

/// How a sweep's array tasks are submitted. `None` leaves the choice to the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`, in one of Slurm's formats (`MM`, `HH:MM:SS`, `D-HH:MM`, ...).
    pub time: Option<String>,
    /// `--cpus-per-task` (1 when unset: a run trains on one thread).
    pub cpus_per_task: Option<u32>,
    /// `--mem`, e.g. `2G`.
    pub mem: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// At most this many tasks of an array run at once (`--array=...%K`).
    pub throttle: Option<u32>,
    /// Further `sbatch` arguments, passed as they are, after diffsweep's own.
    #[serde(default)]
    pub sbatch_args: Vec<String>,
    /// `--requeue`, and a signal `signal_before` seconds before the time limit on which a
    /// task abandons its run and requeues itself.
    pub requeue: Option<bool>,
    /// Seconds before the time limit for that signal (60 when unset).
    pub signal_before: Option<u32>,
}

/// One option's value, as either source gives it.
#[derive(Clone, Debug)]
pub enum OptionValue {
    /// A string.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
}

impl SlurmOptions {
    /// Sets option `key` (one of [`KEYS`]) to `value`, or says what is allowed.
    pub fn set(&mut self, key: &str, value: OptionValue) -> Result<(), String> {
        match (key, value) {
            ("partition" | "account" | "qos", OptionValue::Text(text)) => {
                check_name(key, &text)?;
                let slot = match key {
                    "partition" => &mut self.partition,
                    "account" => &mut self.account,
                    _ => &mut self.qos,
                };
                *slot = Some(text);
            }
            ("time", OptionValue::Text(text)) => {
                time_limit_seconds(&text)?;
                self.time = Some(text);
            }
            ("mem", OptionValue::Text(text)) => {
                check_memory(&text)?;
                self.mem = Some(text);
            }
            ("cpus_per_task", OptionValue::Integer(n)) => {
                self.cpus_per_task = Some(in_range(key, n, 1, 1024)?);
            }
            ("throttle", OptionValue::Integer(n)) => {
                self.throttle = Some(in_range(key, n, 1, 1_000_000)?);
            }
            ("signal_before", OptionValue::Integer(n)) => {
                self.signal_before = Some(in_range(key, n, 1, 65_535)?);
            }
            ("requeue", OptionValue::Bool(flag)) => self.requeue = Some(flag),
            ("sbatch_args", OptionValue::List(args)) => {
                if args.len() > MAX_EXTRA_ARGS {
                    return Err(format!(
                        "`sbatch_args` has {} arguments, more than the limit of {MAX_EXTRA_ARGS}",
                        args.len()
                    ));
                }
                for arg in &args {
                    check_extra_arg(arg)?;
                }
                self.sbatch_args = args;
            }
            (
                "partition" | "account" | "qos" | "time" | "mem",
                OptionValue::Integer(_) | OptionValue::Bool(_) | OptionValue::List(_),
            ) => return Err(format!("`{key}` must be a string")),
            ("cpus_per_task" | "throttle" | "signal_before", _) => {
                return Err(format!("`{key}` must be an integer"))
            }
            ("requeue", _) => return Err("`requeue` must be true or false".to_string()),
            ("sbatch_args", _) => {
                return Err("`sbatch_args` must be an array of strings".to_string())
            }
            (other, _) => {
                return Err(format!(
                    "unknown key `{}` in [slurm]; allowed: {}",
                    crate::limits::shorten(other),
                    KEYS.join(", ")
                ))
            }
        }
        Ok(())
    }

    /// These options with every option that `over` sets taken from `over` (the command
    /// line over the file); extra arguments of both are kept, the file's first.
    pub fn overlaid(&self, over: &SlurmOptions) -> SlurmOptions {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        let mut sbatch_args = self.sbatch_args.clone();
        sbatch_args.extend(over.sbatch_args.iter().cloned());
        SlurmOptions {
            partition: pick(&self.partition, &over.partition),
            time: pick(&self.time, &over.time),
            cpus_per_task: over.cpus_per_task.or(self.cpus_per_task),
            mem: pick(&self.mem, &over.mem),
            account: pick(&self.account, &over.account),
            qos: pick(&self.qos, &over.qos),
            throttle: over.throttle.or(self.throttle),
            sbatch_args,
            requeue: over.requeue.or(self.requeue),
            signal_before: over.signal_before.or(self.signal_before),
        }
    }

    /// Checks what only the options together can tell: the signal must come before the
    /// time limit, and the extra arguments must fit with the rest.
    pub fn check(&self) -> Result<(), String> {
        if self.sbatch_args.len() > MAX_EXTRA_ARGS {
            return Err(format!(
                "{} extra sbatch arguments, more than the limit of {MAX_EXTRA_ARGS}",
                self.sbatch_args.len()
            ));
        }
        if let (Some(time), true) = (&self.time, self.requeue()) {
            if let Some(limit) = time_limit_seconds(time)? {
                let before = self.signal_before();
                if u64::from(before) >= limit {
                    return Err(format!(
                        "`signal_before` = {before} s is not before the time limit `{time}` ({limit} s): a requeueable task is signalled that long before its limit"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether tasks are requeueable.
    pub fn requeue(&self) -> bool {
        self.requeue.unwrap_or(false)
    }

    /// Seconds before the time limit at which a requeueable task is signalled.
    pub fn signal_before(&self) -> u32 {
        self.signal_before.unwrap_or(DEFAULT_SIGNAL_BEFORE)
    }

    /// CPUs per task.
    pub fn cpus_per_task(&self) -> u32 {
        self.cpus_per_task.unwrap_or(1)
    }

    /// The `sbatch` arguments every array of the sweep gets (but `--array`), in order:
    /// diffsweep's own, then the free ones.
    pub fn sbatch_arguments(&self) -> Vec<String> {
        let mut args = vec![format!("--cpus-per-task={}", self.cpus_per_task())];
        for (flag, value) in [
            ("partition", &self.partition),
            ("time", &self.time),
            ("mem", &self.mem),
            ("account", &self.account),
            ("qos", &self.qos),
        ] {
            if let Some(value) = value {
                args.push(format!("--{flag}={value}"));
            }
        }
        if self.requeue() {
            args.push("--requeue".to_string());
            // B: the signal goes to the batch step, which is the diffsweep task itself.
            args.push(format!("--signal=B:USR1@{}", self.signal_before()));
        }
        args.extend(self.sbatch_args.iter().cloned());
        args
    }
}

fn in_range(key: &str, n: i64, low: u32, high: u32) -> Result<u32, String> {
    u32::try_from(n)
        .ok()
        .filter(|n| (low..=high).contains(n))
        .ok_or_else(|| format!("invalid `{key}` {n}: expected an integer from {low} to {high}"))
}

/// Partition, account and QOS names: what Slurm's names are made of.
fn check_name(key: &str, text: &str) -> Result<(), String> {
    let valid = !text.is_empty()
        && text.chars().count() <= MAX_VALUE_CHARS
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid `{key}` {:?}: expected a name of letters, digits, `-`, `_`, `.` (a list with `,`), at most {MAX_VALUE_CHARS} characters",
            crate::limits::shorten(text)
        ))
    }
}

fn check_memory(text: &str) -> Result<(), String> {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    let suffix = text.len() - digits.len();
    let valid = suffix <= 1
        && !digits.is_empty()
        && digits.len() <= 12
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n > 0);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid `mem` {:?}: expected a positive integer of megabytes, or with a unit K, M, G or T (e.g. 2G)",
            crate::limits::shorten(text)
        ))
    }
}

fn check_extra_arg(arg: &str) -> Result<(), String> {
    if arg.is_empty() || arg.chars().count() > MAX_VALUE_CHARS || arg.chars().any(char::is_control)
    {
        return Err(format!(
            "invalid sbatch argument {:?}: expected 1 to {MAX_VALUE_CHARS} characters without control characters",
            crate::limits::shorten(arg)
        ));
    }
    let sets_arrays =
        arg.starts_with("--array") || (arg.starts_with("-a") && !arg.starts_with("--"));
    if sets_arrays {
        return Err(format!(
            "sbatch argument {arg:?} is diffsweep's own: it sets the arrays (use `throttle` for `%K`)"
        ));
    }
    Ok(())
}

/// The seconds of a Slurm time limit (`None` for `UNLIMITED`/`INFINITE`), or what is
/// allowed. Slurm's formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
pub fn time_limit_seconds(text: &str) -> Result<Option<u64>, String> {
    let invalid = || {
        format!(
            "invalid `time` {:?}: expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (or UNLIMITED), above 0",
            crate::limits::shorten(text)
        )
    };
    if matches!(text, "UNLIMITED" | "INFINITE" | "unlimited" | "infinite") {
        return Ok(None);
    }
    let number = |part: &str| -> Result<u64, String> {
        if part.is_empty() || part.len() > 6 || !part.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        part.parse().map_err(|_| invalid())
    };
    let (days, rest) = match text.split_once('-') {
        Some((days, rest)) => (Some(number(days)?), rest),
        None => (None, text),
    };
    let parts = rest
        .split(':')
        .map(number)
        .collect::<Result<Vec<u64>, String>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86_400 + h * 3600,
        (Some(d), [h, m]) => d * 86_400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86_400 + h * 3600 + m * 60 + s,
        _ => return Err(invalid()),
    };
    if seconds == 0 {
        return Err(invalid());
    }
    Ok(Some(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_in_every_slurm_format() {
        let cases = [
            ("30", 1800),
            ("5:30", 330),
            ("1:02:03", 3723),
            ("2-3", 2 * 86_400 + 3 * 3600),
            ("2-3:04", 2 * 86_400 + 3 * 3600 + 240),
            ("1-00:00:01", 86_401),
        ];
        for (text, seconds) in cases {
            assert_eq!(time_limit_seconds(text), Ok(Some(seconds)), "{text}");
        }
        assert_eq!(time_limit_seconds("UNLIMITED"), Ok(None));
        for bad in [
            "",
            "0",
            "1:2:3:4",
            "a",
            "-5",
            "1-",
            "1-2:3:4:5",
            "1h",
            "99999999",
        ] {
            assert!(time_limit_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_checked_and_the_command_line_wins() {
        let mut file = SlurmOptions::default();
        file.set("partition", OptionValue::Text("gpu,cpu".into()))
            .unwrap();
        file.set("time", OptionValue::Text("10".into())).unwrap();
        file.set("sbatch_args", OptionValue::List(vec!["--exclusive".into()]))
            .unwrap();
        let mut cli = SlurmOptions::default();
        cli.set("partition", OptionValue::Text("debug".into()))
            .unwrap();
        cli.set("throttle", OptionValue::Integer(2)).unwrap();
        cli.set("requeue", OptionValue::Bool(true)).unwrap();
        let both = file.overlaid(&cli);
        assert_eq!(both.partition.as_deref(), Some("debug"));
        assert_eq!(both.time.as_deref(), Some("10"));
        assert_eq!(both.throttle, Some(2));
        both.check().unwrap();
        assert_eq!(
            both.sbatch_arguments(),
            [
                "--cpus-per-task=1",
                "--partition=debug",
                "--time=10",
                "--requeue",
                "--signal=B:USR1@60",
                "--exclusive"
            ]
        );

        let mut short = both.clone();
        short.time = Some("0:30".into());
        let err = short.check().unwrap_err();
        assert!(err.contains("not before the time limit"), "{err}");

        let mut bad = SlurmOptions::default();
        for (key, value, needle) in [
            (
                "partition",
                OptionValue::Text("a b".into()),
                "invalid `partition`",
            ),
            (
                "partition",
                OptionValue::Text("x\n#SBATCH".into()),
                "invalid",
            ),
            ("mem", OptionValue::Text("2GB".into()), "invalid `mem`"),
            ("mem", OptionValue::Text("0".into()), "invalid `mem`"),
            ("cpus_per_task", OptionValue::Integer(0), "from 1 to 1024"),
            (
                "throttle",
                OptionValue::Text("2".into()),
                "must be an integer",
            ),
            (
                "sbatch_args",
                OptionValue::List(vec!["--array=1-3".into()]),
                "diffsweep's own",
            ),
            (
                "sbatch_args",
                OptionValue::List(vec!["a\nb".into()]),
                "control",
            ),
            ("nodes", OptionValue::Integer(1), "allowed: partition"),
        ] {
            let err = bad.set(key, value).unwrap_err();
            assert!(err.contains(needle), "{key}: {err}");
        }
        assert_eq!(bad, SlurmOptions::default());
    }
}
