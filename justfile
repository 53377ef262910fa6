# diffsweep's tasks. `just --list` shows them with these comments.
# Everything runs in the dev profile, which optimises the numeric crates (see Cargo.toml),
# so tests and sweeps share one build and polars is compiled once.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Results store used by sweep, status and report.
results := "results"

# List the recipes.
default:
    @just --list

# Train every pending cell of an experiment, then write its report (exit code: the sweep's).
# The report gets the sweep's `--set` overrides, so it is the report of what was swept.
sweep FILE *FLAGS:
    status=0; cargo run --bin diffsweep -- sweep {{FILE}} --results {{results}} {{FLAGS}} || status=$?; \
    sets=(); set -- {{FLAGS}}; \
    while [ $# -gt 0 ]; do case "$1" in --set) sets+=(--set "${2-}"); shift $(( $# > 1 ? 2 : 1 )); continue;; --set=*) sets+=("$1");; esac; shift; done; \
    cargo run --bin diffsweep -- report {{FILE}} --results {{results}} "${sets[@]}"; exit $status

# Show an experiment's cells, which are cached, and an estimated time.
plan FILE:
    cargo run --bin diffsweep -- plan {{FILE}} --results {{results}}

# Count an experiment's done, failed and pending cells.
status FILE:
    cargo run --bin diffsweep -- status {{FILE}} --results {{results}}

# Write the report of an experiment from the stored runs.
report FILE:
    cargo run --bin diffsweep -- report {{FILE}} --results {{results}}

# Serve the store read-only in the browser: live counts, each experiment's page, every run.
serve *FLAGS:
    cargo run --bin diffsweep -- serve --results {{results}} {{FLAGS}}

# Train one model with the post's defaults (pass flags, e.g. --T 1000 --schedule ddpm).
train *FLAGS:
    cargo run --bin diffsweep -- train {{FLAGS}}

# Start (up), stop (down) or show (status) a one-node Slurm cluster here (root, Debian 12).
slurm-cluster ACTION:
    scripts/slurm-cluster {{ACTION}}

# Run the test suite (the same command CI runs).
test:
    cargo test --workspace

# Measure epoch, matmul, sampling, metric and sweep speed with diffsweep-bench (see BENCHMARKS.md).
bench *FLAGS:
    cargo build --bin diffsweep
    cargo run --bin diffsweep-bench -- {{FLAGS}}

# What CI checks: formatting, lints, tests.
ci:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
