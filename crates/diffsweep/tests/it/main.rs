//! The `diffsweep` binary end to end.

mod sweep;
mod train;
