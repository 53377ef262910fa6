//! What the user got wrong (a flag, a file, a key): the error that exits with code 2,
//! and the runner's errors sorted into it or not.

/// An error in what the user asked for (a flag, a file, a key): exit code 2, and it is
/// raised before any run starts.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// A runner error as the CLI reports it: the user's mistakes exit with code 2.
pub fn classify(err: runner::Error) -> anyhow::Error {
    if err.is_bad_input() {
        anyhow::Error::new(BadInput(err.to_string()))
    } else {
        anyhow::Error::new(err)
    }
}
