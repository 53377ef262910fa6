//! The reporter's integration tests: one binary, one module per concern.

mod fixture;

mod aggregate;
mod compare;
mod plots;
mod report;
mod store;
