//! The PyTorch reference: the post's loop (`pytorch/post_loop.py`) in a child process that
//! the benchmark drives one command at a time, so its samples interleave with ours.
//!
//! It needs `python3` with `torch` and `numpy` (`pip install torch numpy`); where either is
//! missing the benchmark says so and skips the comparison. CI does not need it.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Where the reference script lives in the repository.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pytorch/post_loop.py")
}

/// A running reference process.
pub struct Reference {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `torch.__version__` as the process reports it.
    pub version: String,
}

#[derive(Deserialize)]
struct Info {
    torch: String,
    threads: usize,
}

#[derive(Deserialize)]
struct Timed {
    seconds: f64,
}

impl Reference {
    /// Starts `python` on the reference script. `Err` says why it cannot run here.
    pub fn start(python: &str) -> anyhow::Result<Reference> {
        let probe = Command::new(python)
            .args(["-c", "import torch, numpy"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("cannot run `{python}`"))?;
        if !probe.status.success() {
            let stderr = String::from_utf8_lossy(&probe.stderr);
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            bail!("`{python} -c 'import torch, numpy'` failed ({last}); install them with `pip install torch numpy`");
        }
        let mut child = Command::new(python)
            .arg(script())
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", script().display()))?;
        let stdin = child.stdin.take().context("the reference has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the reference has no stdout")?);
        let mut reference = Reference {
            child,
            stdin,
            stdout,
            version: String::new(),
        };
        let info: Info = reference.ask(r#"{"op": "info"}"#)?;
        if info.threads != 1 {
            bail!("the reference runs {} threads, not 1", info.threads);
        }
        reference.version = info.torch;
        Ok(reference)
    }

    fn ask<T: for<'de> Deserialize<'de>>(&mut self, command: &str) -> anyhow::Result<T> {
        writeln!(self.stdin, "{command}").context("cannot write to the reference")?;
        self.stdin
            .flush()
            .context("cannot write to the reference")?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .context("cannot read from the reference")?;
        if line.is_empty() {
            bail!("the reference exited while running `{command}`");
        }
        serde_json::from_str(&line)
            .with_context(|| format!("unexpected reply from the reference: {line}"))
    }

    /// Milliseconds per epoch of `epochs` epochs of the post's loop at `n` points and `T`
    /// steps (the model and optimiser persist between calls, as in one long run).
    pub fn train_ms(&mut self, n: usize, steps: usize, epochs: usize) -> anyhow::Result<f64> {
        let command = format!(r#"{{"op": "train", "n": {n}, "T": {steps}, "epochs": {epochs}}}"#);
        let timed: Timed = self.ask(&command)?;
        Ok(timed.seconds * 1e3 / epochs as f64)
    }

    /// Milliseconds to draw `n` samples with `T` reverse steps.
    pub fn sample_ms(&mut self, n: usize, steps: usize) -> anyhow::Result<f64> {
        let command = format!(r#"{{"op": "sample", "n": {n}, "T": {steps}}}"#);
        let timed: Timed = self.ask(&command)?;
        Ok(timed.seconds * 1e3)
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        // Closing stdin ends the server's loop; wait so no process is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
