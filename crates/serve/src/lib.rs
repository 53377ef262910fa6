//! A read-only HTTP server over a results store.
