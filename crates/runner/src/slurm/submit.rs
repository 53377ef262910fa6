//! Submitting cells: the manifest and the one script first, then one `sbatch` per array
//! of at most MaxArraySize tasks, the manifest rewritten after each.

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::commands;
use super::manifest::{ArrayJob, Manifest, Submission, Task};
use super::options::SlurmOptions;
use crate::experiment::Cell;
use crate::store::{replace_file, RunStore};
use crate::{Error, Result};

/// What to submit.
pub struct Request<'a> {
    /// The sweep's name.
    pub sweep: &'a str,
    /// The cells to train.
    pub cells: &'a [&'a Cell],
    /// The sbatch options.
    pub options: &'a SlurmOptions,
    /// The diffsweep binary the tasks run (an absolute path every node can reach).
    pub program: PathBuf,
    /// Tasks replace stored failed runs.
    pub retry_failed: bool,
    /// Tasks replace every stored run.
    pub force: bool,
}

/// A submission that stopped part way: the arrays submitted so far stay submitted.
#[derive(Debug)]
pub struct PartialSubmission {
    /// What was submitted before the failure (arrays may be empty).
    pub submission: Submission,
    /// Why the next array was not submitted.
    pub error: String,
}

/// Paths go into the script and into Slurm's `--output` pattern, which reads `%` and `\`.
fn check_path(path: &Path, what: &str) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::InvalidOption(format!("{what} {} is not UTF-8", path.display())))?;
    if text
        .chars()
        .any(|c| c.is_control() || c == '%' || c == '\\')
    {
        return Err(Error::InvalidOption(format!(
            "{what} {text:?} has a control character, `%` or `\\`, which Slurm's file names cannot carry; use another path"
        )));
    }
    Ok(text.to_string())
}

/// A word for a POSIX shell, single-quoted.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The script every array of a submission runs; its one argument is the submission's
/// task at array index 0.
pub fn script(submission: &Submission) -> Result<String> {
    let program = check_path(&submission.manifest.program, "the diffsweep binary")?;
    let dir = check_path(&submission.dir, "the submission folder")?;
    let manifest = &submission.manifest;
    Ok(format!(
        "#!/bin/sh\n\
         # diffsweep {version}: sweep `{sweep}`, submission {name}, {cells} cells in {tasks} tasks.\n\
         # Submitted by `diffsweep sweep --on slurm` as arrays of this script, each with\n\
         # the options in manifest.json and, as its argument, the task at its index 0.\n\
         # Each array task runs the manifest's task $1 + SLURM_ARRAY_TASK_ID: it trains one\n\
         # model and evaluates its cells into the store, as a local sweep would (locks,\n\
         # temporary directories, renames).\n\
         exec {program} slurm-task {dir} \"$1\"\n",
        version = env!("CARGO_PKG_VERSION"),
        sweep = manifest.sweep,
        name = manifest.submission,
        tasks = manifest.tasks.len(),
        cells = manifest.cell_count(),
        program = shell_quote(&program),
        dir = shell_quote(&dir),
    ))
}

/// Writes the manifest and the script, then submits the cells as arrays of at most
/// `max_array_size` tasks each.
pub fn submit(
    store: &RunStore,
    request: &Request<'_>,
    max_array_size: usize,
) -> Result<std::result::Result<Submission, PartialSubmission>> {
    let root = std::path::absolute(store.root())
        .map_err(|err| Error::io("cannot resolve", store.root(), err))?;
    check_path(&root, "the store")?;
    check_path(&request.program, "the diffsweep binary")?;
    let store = RunStore::open(root)?;
    let created_at = Utc::now();
    let manifest = Manifest {
        submission: format!(
            "{}-{}-{}",
            request.sweep,
            created_at.format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        ),
        sweep: request.sweep.to_string(),
        created_at,
        program: request.program.clone(),
        retry_failed: request.retry_failed,
        force: request.force,
        options: request.options.clone(),
        tasks: Task::group(request.cells),
        arrays: Vec::new(),
    };
    let mut submission = Submission::create(&store, manifest)?;
    let script_path = submission.script_path();
    replace_file(&script_path, script(&submission)?.as_bytes())?;

    let output = submission.logs_dir().join("%A_%a.log");
    let mut options = vec![
        format!("--job-name=diffsweep-{}", request.sweep),
        format!("--output={}", output.display()),
        // A requeued task appends to its log instead of replacing it.
        "--open-mode=append".to_string(),
    ];
    options.extend(request.options.sbatch_arguments());
    let total = submission.manifest.tasks.len();
    let chunk = max_array_size.max(1);
    let mut first = 0;
    while first < total {
        let len = chunk.min(total - first);
        match commands::submit(&script_path, &options, len, request.options.throttle, first) {
            Ok(job_id) => {
                submission
                    .manifest
                    .arrays
                    .push(ArrayJob { job_id, first, len });
                submission.save()?;
            }
            Err(error) => return Ok(Err(PartialSubmission { submission, error })),
        }
        first += len;
    }
    Ok(Ok(submission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn paths_slurm_cannot_name_are_refused() {
        assert!(check_path(Path::new("/store/ok dir"), "the store").is_ok());
        for bad in ["/a%b", "/a\\b", "/a\nb"] {
            let err = check_path(Path::new(bad), "the store").unwrap_err();
            assert!(err.is_bad_input(), "{bad:?}");
        }
    }
}
