//! Output paths checked before any work: a results or report folder that cannot be
//! created or written is the user's to fix (exit code 2), found before anything trains.

use std::path::Path;

use crate::bad_input::BadInput;

/// Checks that `dir` is, or can be created as, a folder that accepts new files, without
/// creating anything: the nearest existing folder on its path must take a probe file.
/// `flag` names where the path came from in the message.
pub fn writable_dir(dir: &Path, flag: &str) -> anyhow::Result<()> {
    let refuse = |why: String| {
        anyhow::Error::new(BadInput(format!(
            "cannot write to {} ({flag}): {why}",
            dir.display()
        )))
    };
    let mut existing = dir;
    while !existing.exists() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Err(refuse(format!("{} is not a folder", existing.display())));
    }
    let probe = existing.join(format!(".diffsweep-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|err| refuse(err.to_string()))?;
    std::fs::remove_file(&probe).map_err(|err| refuse(err.to_string()))
}

/// Opens the store at `root` (`--results`), refusing as bad input (exit 2) a path that
/// exists but is not a folder, whatever the command.
pub fn open_store(root: &Path) -> anyhow::Result<runner::RunStore> {
    if root.exists() && !root.is_dir() {
        return Err(anyhow::Error::new(BadInput(format!(
            "--results {} is not a folder: name the store's folder (a sweep creates it when missing)",
            root.display()
        ))));
    }
    // A root that cannot be created or read is the user's to fix, like a bad flag.
    runner::RunStore::open(root).map_err(|err| match err {
        runner::Error::Io { .. } => anyhow::Error::new(BadInput(format!(
            "cannot open the store {} (--results): {err}",
            root.display()
        ))),
        other => {
            anyhow::Error::new(other).context(format!("cannot open the store {}", root.display()))
        }
    })
}
