//! Slurm's client commands, as diffsweep calls them: `sbatch` to submit an array,
//! `squeue` for what is still queued or running, `scontrol` for the cluster's
//! MaxArraySize and for a task to requeue itself. Never `sacct`: many clusters run
//! without accounting storage, and the store already knows what finished.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

/// Job ids asked of `squeue` at once.
const SQUEUE_BATCH: usize = 500;

/// Where a task stands in the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueState {
    /// Waiting to start (pending, requeued, held); the reason is Slurm's.
    Queued(String),
    /// Started and not yet gone from the queue.
    Running,
}

/// The array tasks in the queue, by (array job id, array index).
pub type Queue = HashMap<(u64, usize), QueueState>;

fn run(program: &str, args: &[String]) -> Result<Output, String> {
    Command::new(program)
        .args(args)
        .output()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => format!(
                "`{program}` was not found: Slurm's client commands must be on PATH (run this on a cluster's login node)"
            ),
            _ => format!("cannot run `{program}`: {err}"),
        })
}

fn failure(program: &str, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    format!(
        "`{program}` failed ({}): {}",
        output.status,
        stderr.trim().lines().last().unwrap_or("no message")
    )
}

/// Whether `sbatch` can be run here at all.
pub fn check_available() -> Result<(), String> {
    run("sbatch", &["--version".to_string()]).and_then(|output| {
        if output.status.success() {
            Ok(())
        } else {
            Err(failure("sbatch", &output))
        }
    })
}

/// The cluster's MaxArraySize: an array's indices must stay below it.
pub fn max_array_size() -> Result<usize, String> {
    let output = run("scontrol", &["show".to_string(), "config".to_string()])?;
    if !output.status.success() {
        return Err(failure("scontrol", &output));
    }
    parse_max_array_size(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| "`scontrol show config` names no MaxArraySize".to_string())
}

fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Submits `script` as an array of `len` tasks (`0..len`, at most `throttle` at once),
/// passing `first` to the script; returns the array's job id.
pub fn submit(
    script: &Path,
    options: &[String],
    len: usize,
    throttle: Option<u32>,
    first: usize,
) -> Result<u64, String> {
    let mut array = format!("--array=0-{}", len - 1);
    if let Some(k) = throttle {
        array.push_str(&format!("%{k}"));
    }
    let mut args = vec!["--parsable".to_string(), array];
    args.extend(options.iter().cloned());
    args.push(script.to_string_lossy().into_owned());
    args.push(first.to_string());
    let output = run("sbatch", &args)?;
    if !output.status.success() {
        return Err(failure("sbatch", &output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `<job id>` or `<job id>;<cluster>`.
    stdout
        .trim()
        .split(';')
        .next()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| format!("`sbatch` printed no job id: {:?}", stdout.trim()))
}

/// The tasks of these arrays that are still queued or running.
pub fn queue(job_ids: &[u64]) -> Result<Queue, String> {
    let mut queue = Queue::new();
    for batch in job_ids.chunks(SQUEUE_BATCH) {
        let ids: Vec<String> = batch.iter().map(u64::to_string).collect();
        let args = [
            "--noheader".to_string(),
            "--array".to_string(),
            format!("--jobs={}", ids.join(",")),
            "--format=%F|%K|%T|%r".to_string(),
        ];
        let output = run("squeue", &args)?;
        if !output.status.success() {
            // Every id of the batch has left the queue (and Slurm's memory).
            if String::from_utf8_lossy(&output.stderr).contains("Invalid job id") {
                continue;
            }
            return Err(failure("squeue", &output));
        }
        parse_queue(&String::from_utf8_lossy(&output.stdout), &mut queue);
    }
    Ok(queue)
}

fn parse_queue(text: &str, queue: &mut Queue) {
    for line in text.lines() {
        let fields: Vec<&str> = line.trim().split('|').collect();
        let [job, index, state, reason] = fields[..] else {
            continue;
        };
        let (Ok(job), Ok(index)) = (job.parse(), index.parse()) else {
            continue;
        };
        let state = match state {
            "RUNNING" | "COMPLETING" | "SIGNALING" | "STAGE_OUT" | "SUSPENDED" | "STOPPED"
            | "CONFIGURING" => QueueState::Running,
            other => QueueState::Queued(if reason.is_empty() || reason == "None" {
                other.to_lowercase()
            } else {
                format!("{}, {reason}", other.to_lowercase())
            }),
        };
        queue.insert((job, index), state);
    }
}

/// Requeues this task (`SLURM_JOB_ID`): Slurm stops it and starts it again later.
pub fn requeue_self() -> Result<(), String> {
    let id = std::env::var("SLURM_JOB_ID")
        .map_err(|_| "SLURM_JOB_ID is not set: not a Slurm task".to_string())?;
    let output = run("scontrol", &["requeue".to_string(), id])?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failure("scontrol", &output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_array_size_is_read_from_the_config() {
        let config = "MailProg                = /bin/mail\nMaxArraySize            = 1001\nMaxJobCount = 10000\n";
        assert_eq!(parse_max_array_size(config), Some(1001));
        assert_eq!(parse_max_array_size("MaxJobCount = 3"), None);
    }

    #[test]
    fn queue_lines_become_task_states() {
        let text = "12|0|RUNNING|None\n12|3|PENDING|JobArrayTaskLimit\n13|1|PENDING|BeginTime\n14|N/A|PENDING|None\nnoise\n";
        let mut queue = Queue::new();
        parse_queue(text, &mut queue);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue[&(12, 0)], QueueState::Running);
        assert_eq!(
            queue[&(12, 3)],
            QueueState::Queued("pending, JobArrayTaskLimit".into())
        );
        assert_eq!(
            queue[&(13, 1)],
            QueueState::Queued("pending, BeginTime".into())
        );
    }
}
