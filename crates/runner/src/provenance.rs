//! Which code, compiler, CPU and system trained a run, recorded with it. Nothing here
//! fails: what cannot be found out (no git, not a checkout) is "unknown".

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Where a run came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Provenance {
    /// The commit of the diffsweep checkout the binary was built from, or "unknown".
    pub git_commit: String,
    /// Whether that checkout had uncommitted changes to tracked files when the run was
    /// trained; absent when unknown.
    pub git_dirty: Option<bool>,
    /// `rustc --version` of the compiler that built the binary.
    pub rustc: String,
    /// The CPU model.
    pub cpu: String,
    /// The operating system and kernel.
    pub os: String,
}

impl Provenance {
    /// This process's provenance (looked up once).
    pub fn current() -> &'static Provenance {
        static CURRENT: OnceLock<Provenance> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let git = |args: &[&str]| -> Option<String> {
                let out = Command::new("git")
                    .arg("-C")
                    .arg(&checkout)
                    .args(args)
                    .output()
                    .ok()?;
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            };
            let git_commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
            let git_dirty = if git_commit == "unknown" {
                None
            } else {
                git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty())
            };
            Provenance {
                git_commit,
                git_dirty,
                rustc: env!("DIFFSWEEP_RUSTC").to_string(),
                cpu: cpu_model(),
                os: os_name(),
            }
        })
    }

    /// The commit in short form with its dirty flag, e.g. `3f2a9c1d0b7e (dirty)`.
    pub fn commit_label(&self) -> String {
        let short: String = self.git_commit.chars().take(12).collect();
        match self.git_dirty {
            Some(true) => format!("{short} (dirty)"),
            _ => short,
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    match (pretty, kernel) {
        (Some(p), Some(k)) => format!("{p}, kernel {k}"),
        (Some(p), None) => p,
        (None, Some(k)) => format!("{} {k}", std::env::consts::OS),
        (None, None) => std::env::consts::OS.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_never_fails_and_names_a_compiler() {
        let p = Provenance::current();
        assert!(
            p.rustc.starts_with("rustc ") || p.rustc == "unknown",
            "{}",
            p.rustc
        );
        assert!(!p.cpu.is_empty() && !p.os.is_empty());
        // In this repository's checkout the commit is a 40-digit hash.
        if p.git_commit != "unknown" {
            assert_eq!(p.git_commit.len(), 40, "{}", p.git_commit);
            assert!(p.git_dirty.is_some());
        }
    }
}
