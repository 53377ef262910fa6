//! The reporter's integration tests: one binary, one module per concern.

mod fixture;
mod page;

mod aggregate;
mod compare;
mod plots;
mod report;
mod store;
