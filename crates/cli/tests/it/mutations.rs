//! Random mutations and truncations of the committed experiment files, fed to `diffsweep
//! plan`: every one is accepted (exit 0) or refused with exit code 2, never a panic, and
//! each answers within 5 seconds.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::diffsweep;

const FILES: [&str; 3] = [
    include_str!("../../../../experiments/quick.toml"),
    include_str!("../../../../experiments/schedules-small.toml"),
    include_str!("../../../../experiments/schedules.toml"),
];

/// Tokens that stress the parser and the limits when spliced in.
const TOKENS: [&str; 18] = [
    "9223372036854775807",
    "-9223372036854775808",
    "4611686018427387904",
    "-1",
    "1e308",
    "nan",
    "inf",
    "1979-05-27T07:32:00Z",
    "\"",
    "[",
    "]]",
    "{",
    "=",
    "\n[[include]]\nT = 1\n",
    "\nseeds = 100000\n",
    "\n[grid]\nseed = [1, 2]\n",
    "\"dataset.n\" = [0]",
    "",
];

/// A mutation of a file: cut it, splice a token in, or drop or repeat a line.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Splice { at: usize, len: usize, token: usize },
    DropLine(usize),
    RepeatLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..12, 0..TOKENS.len())
            .prop_map(|(at, len, token)| Mutation::Splice { at, len, token }),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::RepeatLine),
    ]
}

/// The byte offset of the char boundary at or before `at % len`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() && !matches!(mutation, Mutation::Splice { .. }) {
        return text.to_string();
    }
    match *mutation {
        Mutation::Truncate(at) => text[..boundary(text, at)].to_string(),
        Mutation::Splice { at, len, token } => {
            let start = boundary(text, at);
            let end = boundary(text, (start + len).min(text.len()));
            let end = end.max(start);
            format!("{}{}{}", &text[..start], TOKENS[token], &text[end..])
        }
        Mutation::DropLine(i) => {
            let i = i % lines.len();
            lines
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != i)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        }
        Mutation::RepeatLine(i) => {
            let i = i % lines.len();
            let mut out = lines.clone();
            out.insert(i, lines[i]);
            out.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_experiment_files_are_planned_or_refused(
        file in 0..FILES.len(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut text = FILES[file].to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("mutated.toml");
        std::fs::write(&path, &text).expect("write the file");
        let results = dir.path().join("results");
        let started = Instant::now();
        let (code, _, stderr) = diffsweep(&[
            "plan",
            path.to_str().expect("utf-8"),
            "--results",
            results.to_str().expect("utf-8"),
        ]);
        let took = started.elapsed();
        prop_assert!(code == 0 || code == 2, "exit {code}: {stderr}\n--- file ---\n{text}");
        prop_assert!(!stderr.contains("panicked"), "{stderr}");
        if code == 2 {
            prop_assert!(stderr.contains("mutated.toml"), "the message names the file: {stderr}");
        }
        prop_assert!(took < Duration::from_secs(5), "took {took:?}");
    }
}
