//! Standard output that a closed pipe ends quietly. Rust ignores SIGPIPE, so once the
//! reader of `diffsweep plan FILE | head` has its lines every later write fails with
//! `BrokenPipe`, and `println!` would panic with a backtrace; through these the process
//! ends with status 0 instead, as `head`'s writer would in a C tool. Any other write error
//! is said on stderr and ends the process with status 1.

use std::io::{self, Write};

/// Writes `args` and a newline to stdout ([`outln!`]).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(err) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        finish(err);
    }
}

/// Writes `args` to stdout ([`out!`]).
pub fn text(args: std::fmt::Arguments<'_>) {
    if let Err(err) = io::stdout().lock().write_fmt(args) {
        finish(err);
    }
}

/// Ends the process after a failed write to stdout: quietly on a closed pipe.
pub fn finish(err: io::Error) -> ! {
    if err.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {err}");
    std::process::exit(1);
}

/// Whether `err` comes from a write to a closed pipe (commands that write through their
/// own handle return it as an error; `main` then ends quietly too).
pub fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
