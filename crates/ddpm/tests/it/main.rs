//! End-to-end tests of the diffusion core: it learns, and it is deterministic.

mod determinism;
mod diffusers;
mod learning;
