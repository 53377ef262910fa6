//! A run config on its own, as `diffsweep train --config` reads it: the `[base]` table of
//! an experiment file as a file of its own, each mistake reported at its line and column
//! with what is allowed, as in an experiment file.

use std::path::Path;

use ddpm::RunConfig;

use super::{with_parser, TOP_LEVEL_KEYS};
use crate::location::{Aim, Segment};
use crate::{config_path, Error, Result};

/// The run config `text` describes (nested tables or dotted keys; keys left out keep the
/// post's defaults), read as `source`. Ranges and the rules between keys are
/// [`RunConfig::validate`]'s, which the caller runs once its own changes are made.
pub fn parse_run_config(text: &str, source: &Path) -> Result<RunConfig> {
    with_parser(text, source, |parser| {
        if let Some((key, _)) = parser
            .doc
            .as_table()
            .iter()
            .find(|(key, _)| TOP_LEVEL_KEYS.contains(key))
        {
            return Err(parser.error(
                &[Segment::Key(key.to_string())],
                Aim::Key,
                format!(
                    "`{key}` belongs to an experiment file (for `diffsweep sweep`): a run config \
                     is what an experiment's [base] table holds, without the [base] header"
                ),
            ));
        }
        let entries = parser.flatten(parser.doc.as_table(), &Vec::new(), "")?;
        let mut table = config_path::to_table(&RunConfig::default());
        let mut config = RunConfig::default();
        for entry in &entries {
            config = parser.apply(&mut table, entry)?;
        }
        Ok(config)
    })
}

/// The error of a run config `text` (read as `source`) whose value of `key` (a dotted
/// path) is not allowed: `message`, placed at that value's line and column when the file
/// sets it.
pub fn run_config_error(text: &str, source: &Path, key: &str, message: &str) -> Error {
    let placed = with_parser(text, source, |parser| {
        let doc: Vec<Segment> = key
            .split('.')
            .map(|k| Segment::Key(k.to_string()))
            .collect();
        Err::<(), Error>(parser.error(&doc, Aim::Value, message))
    });
    placed.err().unwrap_or_else(|| Error::Experiment {
        file: source.display().to_string(),
        location: None,
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn error(text: &str) -> String {
        match parse_run_config(text, Path::new("c.toml")) {
            Err(err @ Error::Experiment { .. }) => err.to_string(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn a_value_the_config_may_not_hold_is_placed_at_its_line() {
        for text in [
            "T = 0\n",
            "[training]\nepochs = 0\n",
            "dataset = { n = 0 }\n",
        ] {
            let key = if text.starts_with('T') {
                "T"
            } else if text.contains("epochs") {
                "training.epochs"
            } else {
                "dataset.n"
            };
            let err = run_config_error(text, Path::new("c.toml"), key, "bad").to_string();
            let line = if key == "training.epochs" { 2 } else { 1 };
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{text}: {err}");
        }
        let unset = run_config_error("T = 10\n", Path::new("c.toml"), "training.lr", "bad");
        assert_eq!(unset.to_string(), "c.toml: bad");
    }

    #[test]
    fn a_config_file_reads_like_an_experiments_base() {
        let config = parse_run_config(
            "T = 10\nscaling = \"standardize\"\n[training]\nepochs = 20\n[schedule]\nkind = \"cosine\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(config.steps, 10);
        assert_eq!(config.training.epochs, 20);
        assert_eq!(config.scaling, ddpm::Scaling::Standardize);
        assert_eq!(config.schedule.kind, ddpm::ScheduleKind::Cosine);
        let dotted =
            parse_run_config("T = 10\ntraining.epochs = 20\n", Path::new("c.toml")).unwrap();
        assert_eq!(dotted.training.epochs, 20);
        assert_eq!(
            parse_run_config("", Path::new("c.toml")).unwrap(),
            RunConfig::default()
        );
    }

    #[test]
    fn each_mistake_is_placed_at_its_line_with_what_is_allowed() {
        let err = error("T = 10\n[training]\nepochs = 20\nlrr = 0.1\n");
        assert!(
            err.starts_with("c.toml:4:1: ")
                && err.contains("`training.lrr`")
                && err.contains("did you mean `training.lr`"),
            "{err}"
        );
        let err = error("T = 10\nscaling = \"minmx\"\n");
        assert!(
            err.starts_with("c.toml:2:11: ")
                && err.contains("did you mean `minmax`")
                && err.contains("allowed: minmax, standardize, none"),
            "{err}"
        );
        let err = error("T = \"ten\"\n");
        assert!(
            err.starts_with("c.toml:1:5: ") && err.contains("`T`"),
            "{err}"
        );
        let err = error("[base]\nT = 10\n");
        assert!(
            err.starts_with("c.toml:1:2: `base` belongs to an experiment file"),
            "{err}"
        );
        let err = error("T = [10\n");
        assert!(
            err.starts_with("c.toml:") && err.contains("invalid TOML"),
            "{err}"
        );
    }
}
