//! The server's integration tests: one binary, one module per concern.

mod cdp;
mod measure;
