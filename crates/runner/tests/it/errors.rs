//! Bad experiment files and the exact messages they get, as one reviewed snapshot.

use crate::parse;

const CASES: &[(&str, &str)] = &[
    ("invalid TOML", "name = \"x\"\n[grid\nT = [1]\n"),
    ("unknown top-level key", "name = \"x\"\nseed = 3\n[grid]\nT = [10]\n"),
    ("missing name", "[grid]\nT = [10]\n"),
    ("name that is not a file name", "name = \"a/b\"\n[grid]\nT = [10]\n"),
    ("seeds not positive", "name = \"x\"\nseeds = 0\n"),
    ("unknown path in the grid", "name = \"x\"\n[grid]\n\"schedule.powr\" = [1, 2]\n"),
    ("unknown nested path in base", "name = \"x\"\n[base.training]\nepoch = 10\n[grid]\nT = [10]\n"),
    ("unknown section in base", "name = \"x\"\n[base]\nsampler = { variance = \"beta\" }\n[grid]\nT = [10]\n"),
    ("a table where a value belongs", "name = \"x\"\n[grid]\nschedule = [1, 2]\n"),
    ("wrong type", "name = \"x\"\n[grid]\nT = [10, \"ten\"]\n"),
    ("unknown enum value", "name = \"x\"\n[grid]\n\"schedule.kind\" = [\"linear\", \"cosin\"]\n"),
    ("out of range", "name = \"x\"\n[grid]\nT = [0, 10]\n"),
    ("out of range in base", "name = \"x\"\nseeds = 2\n[base]\ndataset.noise = -0.1\n"),
    ("grid value not a list", "name = \"x\"\n[grid]\nT = 10\n"),
    ("empty list", "name = \"x\"\n[grid]\nT = []\n"),
    ("no cells", "name = \"x\"\ndescription = \"nothing\"\n"),
    ("duplicate cells", "name = \"x\"\n[grid]\n\"schedule.kind\" = [\"cosine\"]\n\"schedule.power\" = [2, 4]\n"),
    ("zip of unequal lists", "name = \"x\"\n[[zip]]\nT = [10, 1000]\n\"schedule.power\" = [4]\n"),
    ("axis in two places", "name = \"x\"\n[grid]\nT = [10]\n[[zip]]\nT = [10, 20]\n\"schedule.power\" = [1, 2]\n"),
    ("seeds and a seed axis", "name = \"x\"\nseeds = 2\n[grid]\nseed = [0, 1]\n"),
    ("include with an invalid combination", "name = \"x\"\n[grid]\nT = [10]\n[[include]]\nT = 1\n\"schedule.zero_terminal_snr\" = true\n"),
    ("exclude that matches nothing", "name = \"x\"\n[grid]\nT = [10, 100]\n[[exclude]]\nT = 20\n"),
    ("exclude on a non-axis", "name = \"x\"\n[grid]\nT = [10, 100]\n[[exclude]]\nscaling = \"minmax\"\n"),
    ("compare with an unknown metric", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { T = 100 }\nmetric = \"wasserstein\"\n"),
    ("compare without a metric", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { T = 100 }\n"),
    ("compare with a negative margin", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { T = 100 }\nmetric = \"mmd\"\nmargin = -1\n"),
    ("compare with an unknown key", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { T = 100 }\nmetric = \"mmd\"\nlower_better = false\n"),
    ("selector on a non-axis", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10, scaling = \"minmax\" }\nb = { T = 100 }\nmetric = \"mmd\"\n"),
    ("selector that matches nothing", "name = \"x\"\n[grid]\nT = [10, 100]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { T = 1000 }\nmetric = \"mmd\"\n"),
    ("selectors that overlap", "name = \"x\"\n[grid]\nT = [10, 100]\nscaling = [\"minmax\", \"standardize\"]\n[[compare]]\nname = \"c\"\na = { T = 10 }\nb = { scaling = \"minmax\" }\nmetric = \"mmd\"\n"),
    ("featured that matches nothing", "name = \"x\"\n[grid]\nT = [10, 100]\n[report]\nfeatured = { T = 5 }\n"),
    ("unknown report option", "name = \"x\"\n[grid]\nT = [10, 100]\n[report]\nfeature = { T = 10 }\n"),
    ("include as a plain table", "name = \"x\"\n[include]\nT = 10\n"),
    ("a number for a choice", "name = \"x\"\n[grid]\nscaling = [3]\n"),
    ("a datetime for a number", "name = \"x\"\n[grid]\nT = [1979-05-27T07:32:00Z]\n"),
    ("too many seeds", "name = \"x\"\nseeds = 1000000000\n"),
    ("unknown top-level config key", "name = \"x\"\n[grid]\nfoo = [1]\n"),
    ("unknown config key with a value not a list", "name = \"x\"\n[grid]\nfoo = 3\n"),
    ("a seed in base beside seeds", "name = \"x\"\nseeds = 2\n[base]\nseed = 3\n"),
];

#[test]
fn bad_experiment_files_get_exact_messages() {
    let mut report = String::new();
    for (name, text) in CASES {
        let message = match parse(text) {
            Ok(experiment) => panic!("`{name}` was accepted with {} cells", experiment.len()),
            Err(err) => {
                assert!(err.is_bad_input(), "{name}: {err}");
                err.to_string()
            }
        };
        report.push_str(&format!("## {name}\n{}\n=> {message}\n\n", text.trim_end()));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn a_missing_file_is_bad_input_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let err = runner::Experiment::load(&path).unwrap_err();
    assert!(err.is_bad_input());
    let tmp = regex_lite_escape(&dir.path().display().to_string());
    insta::with_settings!({ filters => vec![(tmp.as_str(), "[TMP]")] }, {
        insta::assert_snapshot!(err.to_string());
    });
}

/// `insta` filters are regular expressions; a temporary path is matched literally.
fn regex_lite_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
