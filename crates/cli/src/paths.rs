//! Output paths checked before any work: a results or report folder that cannot be
//! created or written is the user's to fix (exit code 2), found before anything trains.

use std::path::Path;

use crate::BadInput;

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
