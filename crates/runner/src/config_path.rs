//! Dotted config paths (`T`, `schedule.kind`, `dataset.noise`): which exist, and how a
//! value is set at one.
//!
//! A path is whatever key the serialized [`RunConfig`] has, so the set of valid paths
//! follows the core's config types without a list to keep in sync. The one exception is
//! [`OMITTED_AT_DEFAULT`]: keys added after the first studies, which the core leaves out
//! of a serialized config while they hold their default (so older run ids stay); every
//! function here treats them as present, with the value the config has.

use std::sync::OnceLock;

use ddpm::RunConfig;

/// The paths a serialized config leaves out while they hold their default value.
pub const OMITTED_AT_DEFAULT: [&str; 8] = [
    "sampling.method",
    "sampling.steps",
    "sampling.spacing",
    "sampling.eta",
    "sampling.clip",
    "sampling.clip_quantile",
    "model.prediction",
    "schedule.zero_terminal_snr_exact",
];

/// The value `config` has at each of [`OMITTED_AT_DEFAULT`], in that order.
fn omitted_values(config: &RunConfig) -> [serde_json::Value; 8] {
    fn json(value: impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(value).expect("config values are plain data")
    }
    let s = &config.sampling;
    [
        json(s.method),
        json(s.steps),
        json(s.spacing),
        json(s.eta),
        json(s.clip),
        json(s.clip_quantile),
        json(config.model.prediction),
        json(config.schedule.zero_terminal_snr_exact),
    ]
}

/// `config` as JSON with every key written out, [`OMITTED_AT_DEFAULT`] included.
pub fn to_json(config: &RunConfig) -> serde_json::Value {
    let mut json = serde_json::to_value(config).expect("a RunConfig is plain data");
    for (path, value) in OMITTED_AT_DEFAULT.into_iter().zip(omitted_values(config)) {
        let (parent, key) = path.split_once('.').expect("omitted keys are in a table");
        if let Some(table) = json.get_mut(parent).and_then(|t| t.as_object_mut()) {
            table.entry(key).or_insert(value);
        }
    }
    json
}

/// The default config with every key written out.
fn defaults() -> &'static serde_json::Value {
    static DEFAULTS: OnceLock<serde_json::Value> = OnceLock::new();
    DEFAULTS.get_or_init(|| to_json(&RunConfig::default()))
}

/// Every leaf path of a config, in the order the config serializes.
pub fn leaf_paths() -> Vec<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = join(prefix, key);
            match value {
                toml::Value::Table(inner) => walk(&path, inner, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    walk("", &to_table(&RunConfig::default()), &mut out);
    out
}

/// Whether `path` names a key of a config: a value, or a table of them.
pub fn is_known(path: &str) -> bool {
    leaf_paths().iter().any(|p| {
        p == path
            || p.strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The paths of `config` whose values its run never reads, each with that value: what
/// [`RunConfig::canonical`] resets because the chosen schedule or sampler ignores it (a
/// DDIM `eta` under DPM-Solver++, a cosine offset under a linear schedule), so that the
/// run's identity leaves it out. Values canonical form only rewrites in another spelling
/// (`sampling.steps = T` as 0, `n_samples = n` as 0) are not ignored and not listed.
pub fn ignored(config: &RunConfig) -> Vec<(String, serde_json::Value)> {
    let given = to_json(config);
    let canonical = to_json(&config.canonical());
    leaf_paths()
        .into_iter()
        .filter(|path| path != "sampling.steps" && path != "sampling.n_samples")
        .filter_map(|path| {
            let value = get(&given, &path)?;
            (Some(value) != get(&canonical, &path)).then(|| (path, value.clone()))
        })
        .collect()
}

/// A config as a TOML table, the form paths are set in, with every key written out
/// ([`OMITTED_AT_DEFAULT`] included).
pub fn to_table(config: &RunConfig) -> toml::Table {
    toml::Table::try_from(to_json(config))
        .expect("a RunConfig is plain data and always serializes to TOML")
}

/// Sets `path` in `table` (a serialized config) to `value`. The error explains what the
/// path may be instead.
pub fn set(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments
        .split_last()
        .expect("split yields at least one segment");
    let mut current = table;
    let mut walked = String::new();
    for segment in parents {
        walked = join(&walked, segment);
        current = match current.get_mut(*segment) {
            Some(toml::Value::Table(inner)) => inner,
            Some(_) => {
                return Err(format!(
                    "`{walked}` is a value, not a table, so `{path}` does not exist"
                ))
            }
            None => return Err(unknown(path)),
        };
    }
    match current.get_mut(*last) {
        None => Err(unknown(path)),
        Some(toml::Value::Table(inner)) => {
            let keys: Vec<String> = inner
                .keys()
                .map(|k| format!("`{}`", join(path, k)))
                .collect();
            Err(format!(
                "`{path}` is a table; set one of its keys instead: {}",
                keys.join(", ")
            ))
        }
        Some(slot) => {
            *slot = value;
            Ok(())
        }
    }
}

/// Whether `path` is a leaf of a config; the error explains what it may be instead.
pub fn check(path: &str) -> Result<(), String> {
    set(
        &mut to_table(&RunConfig::default()),
        path,
        toml::Value::Boolean(false),
    )
}

/// `PATH=VALUE` as `diffsweep runs --where` and the server's `where` read it: a path of
/// the config and a value of the type that path holds, as JSON (`10`, `0.5`, `true`, or
/// else a string such as `minmax`). The error says what the path or the value may be
/// instead, so a typo is reported, not answered with no runs.
pub fn condition(text: &str) -> Result<(String, serde_json::Value), String> {
    let (path, value) = text
        .split_once('=')
        .ok_or_else(|| "expected PATH=VALUE, e.g. T=10".to_string())?;
    let path = path.trim();
    check(path)?;
    let value = value.trim();
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(value));
    check_value(path, &value)?;
    Ok((path.to_string(), value))
}

/// Whether a config can hold `value` at `path` (its type, or one of its choices; ranges
/// and the rules between keys are the cells' validation, not this).
fn check_value(path: &str, value: &serde_json::Value) -> Result<(), String> {
    let shown = crate::limits::shorten(&value.to_string());
    let mut table = to_table(&RunConfig::default());
    let result = toml::Value::try_from(value)
        .map_err(|_| "not a value a config holds".to_string())
        .and_then(|value| set(&mut table, path, value))
        .and_then(|()| deserialize(table).map(drop));
    result.map_err(|message| {
        let mut message = format!("invalid value {shown} for `{path}`: {message}");
        if let Some(allowed) = choices(path) {
            message.push_str(&format!("; allowed: {}", allowed.join(", ")));
        }
        message
    })
}

/// A config from its table, with serde's messages in the words of an experiment file
/// (`expected a non-negative integer`, not `expected usize`) and the closest choice for an
/// unknown one.
pub fn deserialize(table: toml::Table) -> Result<RunConfig, String> {
    toml::Value::Table(table)
        .try_into::<RunConfig>()
        .map_err(|err| {
            let message = err
                .message()
                .trim_end()
                .replace("expected usize", "expected a non-negative integer")
                .replace("expected u64", "expected a non-negative integer")
                .replace("expected f64", "expected a number");
            match variant_hint(&message) {
                Some(hint) => format!("{message} (did you mean `{hint}`?)"),
                None => message,
            }
        })
}

/// For serde's "unknown variant `cosin`, expected one of `linear`, ...", the closest variant.
fn variant_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (found, rest) = rest.split_once('`')?;
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    suggest(found, candidates).map(str::to_string)
}

/// Reads `path` from a config serialized as JSON. A key of [`OMITTED_AT_DEFAULT`] that
/// the JSON leaves out holds its default, and reads as that.
pub fn get<'a>(json: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let lookup = |json: &'a serde_json::Value| {
        path.split('.')
            .try_fold(json, |value, segment| value.get(segment))
    };
    lookup(json).or_else(|| {
        if OMITTED_AT_DEFAULT.contains(&path) {
            lookup(defaults())
        } else {
            None
        }
    })
}

/// The message for a path no config has, with the closest valid path as a hint and the
/// keys of the table it was looked up in.
pub fn unknown(path: &str) -> String {
    let paths = leaf_paths();
    let mut message = format!("unknown config key `{}`", crate::limits::shorten(path));
    if path.chars().count() <= crate::limits::MAX_KEY_CHARS {
        if let Some(hint) = suggest(path, paths.iter().map(String::as_str)) {
            message.push_str(&format!(" (did you mean `{hint}`?)"));
        }
    }
    let parent = path.rsplit_once('.').map(|(parent, _)| parent);
    let siblings: Vec<&str> = paths
        .iter()
        .filter(|p| p.rsplit_once('.').map(|(parent, _)| parent) == parent)
        .map(|p| p.as_str())
        .collect();
    match parent {
        Some(_) if !siblings.is_empty() => {
            message.push_str(&format!("; allowed: {}", siblings.join(", ")));
        }
        _ => {
            // At the top: the plain keys and the tables, whose keys are dotted.
            let mut tables: Vec<&str> = paths
                .iter()
                .filter_map(|p| p.split_once('.').map(|(table, _)| table))
                .collect();
            tables.dedup();
            let plain: Vec<&str> = paths
                .iter()
                .filter(|p| !p.contains('.'))
                .map(String::as_str)
                .collect();
            message.push_str(&format!(
                "; allowed: {}, and the keys of the tables {} (as `table.key`, e.g. `{}`)",
                plain.join(", "),
                tables.join(", "),
                paths
                    .iter()
                    .find(|p| p.contains('.'))
                    .map_or("schedule.kind", String::as_str)
            ));
        }
    }
    message
}

/// The values a key with a fixed set of choices accepts, as written in a file.
pub fn choices(path: &str) -> Option<Vec<String>> {
    fn names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_string))
            .collect()
    }
    use ddpm::{
        Clip, DatasetKind, Prediction, SamplerMethod, SamplerVariance, Scaling, ScheduleKind,
        Spacing, TimeEncoding,
    };
    Some(match path {
        "dataset.kind" => names(&DatasetKind::ALL),
        "schedule.kind" => names(&ScheduleKind::ALL),
        "scaling" => names(&[Scaling::MinMax, Scaling::Standardize, Scaling::None]),
        "model.time_encoding" => names(&[TimeEncoding::OneHot, TimeEncoding::Sinusoidal]),
        "sampling.variance" => names(&[SamplerVariance::Posterior, SamplerVariance::Beta]),
        "sampling.method" => names(&SamplerMethod::ALL),
        "sampling.spacing" => names(&Spacing::ALL),
        "sampling.clip" => names(&Clip::ALL),
        "model.prediction" => names(&Prediction::ALL),
        _ => return None,
    })
}

/// The candidate closest to `word`, if any is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&lower, &candidate.to_lowercase()),
                *candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate);
    // A part of a longer name (`wasserstein` for `sliced_wasserstein`) is a likely slip too.
    close.or_else(|| {
        candidates
            .into_iter()
            .find(|candidate| lower.len() >= 3 && candidate.to_lowercase().contains(&lower))
    })
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_config() {
        let paths = leaf_paths();
        assert!(paths.contains(&"T".to_string()));
        assert!(paths.contains(&"schedule.kind".to_string()));
        assert!(paths.contains(&"training.epochs".to_string()));
        assert!(!paths.contains(&"schedule".to_string()));
    }

    #[test]
    fn the_values_a_run_ignores_are_listed_with_what_was_given() {
        use ddpm::{SamplerMethod, ScheduleKind, Spacing};
        let mut config = RunConfig::default();
        assert_eq!(ignored(&config), []);
        // Other spellings of the same run are not ignored values.
        config.sampling.steps = config.steps;
        config.sampling.n_samples = config.dataset.n;
        assert_eq!(ignored(&config), []);
        config.sampling.method = SamplerMethod::DpmSolverPp2m;
        config.sampling.eta = 0.5;
        config.schedule.kind = ScheduleKind::Linear;
        config.schedule.cosine_s = 0.1;
        // Every step visited: the spacing picks nothing.
        config.sampling.spacing = Spacing::Trailing;
        let paths: Vec<(String, serde_json::Value)> = ignored(&config);
        assert_eq!(
            paths,
            [
                ("sampling.eta".to_string(), serde_json::json!(0.5)),
                (
                    "sampling.spacing".to_string(),
                    serde_json::json!("trailing")
                ),
                ("schedule.cosine_s".to_string(), serde_json::json!(0.1)),
            ]
        );
        // DDIM reads eta, and a respaced sampler its spacing.
        config.sampling.method = SamplerMethod::Ddim;
        config.sampling.steps = 5;
        assert_eq!(ignored(&config).len(), 1, "{:?}", ignored(&config));
    }

    #[test]
    fn keys_left_out_at_their_default_are_still_paths() {
        use ddpm::{SamplerMethod, Spacing};
        let paths = leaf_paths();
        for path in OMITTED_AT_DEFAULT {
            assert!(paths.contains(&path.to_string()), "{path}");
            check(path).unwrap();
        }
        // The serialized default leaves them out; `get` reads them as their defaults.
        let json = serde_json::to_value(RunConfig::default()).unwrap();
        assert_eq!(json["sampling"].get("method"), None);
        assert_eq!(get(&json, "sampling.method"), Some(&"ancestral".into()));
        assert_eq!(get(&json, "sampling.steps"), Some(&0.into()));
        assert_eq!(get(&json, "sampling.spacing"), Some(&"linspace".into()));
        assert_eq!(get(&json, "sampling.eta"), Some(&0.0.into()));
        assert_eq!(get(&json, "sampling.nope"), None);
        // Set through a table and read back.
        let mut table = to_table(&RunConfig::default());
        set(&mut table, "sampling.method", "ddim".into()).unwrap();
        set(&mut table, "sampling.spacing", "trailing".into()).unwrap();
        set(&mut table, "sampling.steps", toml::Value::Integer(4)).unwrap();
        set(&mut table, "sampling.eta", toml::Value::Float(0.5)).unwrap();
        let config: RunConfig = table.try_into().unwrap();
        assert_eq!(config.sampling.method, SamplerMethod::Ddim);
        assert_eq!(config.sampling.spacing, Spacing::Trailing);
        assert_eq!((config.sampling.steps, config.sampling.eta), (4, 0.5));
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(get(&json, "sampling.method"), Some(&"ddim".into()));
        assert_eq!(
            choices("sampling.method").unwrap(),
            vec!["ancestral", "ddim", "dpmpp_2m"]
        );
        assert_eq!(
            choices("sampling.spacing").unwrap(),
            vec!["linspace", "leading", "trailing"]
        );
    }

    #[test]
    fn set_reaches_leaves_only() {
        let mut table = to_table(&RunConfig::default());
        set(&mut table, "schedule.power", toml::Value::Float(2.0)).unwrap();
        let config: RunConfig = table.clone().try_into().unwrap();
        assert_eq!(config.schedule.power, 2.0);
        assert!(set(&mut table, "schedule", toml::Value::Integer(1))
            .unwrap_err()
            .contains("is a table"));
        assert!(set(&mut table, "T.x", toml::Value::Integer(1))
            .unwrap_err()
            .contains("not a table"));
        let err = set(&mut table, "schedule.powr", toml::Value::Integer(1)).unwrap_err();
        assert!(err.contains("did you mean `schedule.power`?"), "{err}");
    }

    #[test]
    fn conditions_take_values_of_the_paths_type_only() {
        assert_eq!(condition("T=10").unwrap(), ("T".into(), 10.into()));
        assert_eq!(
            condition(" scaling = minmax ").unwrap(),
            ("scaling".into(), "minmax".into())
        );
        // An integer where the config holds a float is a number, as in a file.
        assert_eq!(
            condition("schedule.power=4").unwrap(),
            ("schedule.power".into(), 4.into())
        );
        assert_eq!(
            condition("schedule.zero_terminal_snr=true").unwrap().1,
            serde_json::Value::Bool(true)
        );
        // Ranges are the cells' validation, not the filter's: no run has T = 0, and that
        // is an answer, not a typo.
        condition("T=0").unwrap();
        let err = condition("T=abc").unwrap_err();
        assert!(err.contains("invalid value \"abc\" for `T`"), "{err}");
        assert!(err.contains("expected a non-negative integer"), "{err}");
        let err = condition("scaling=minmx").unwrap_err();
        assert!(err.contains("did you mean `minmax`?"), "{err}");
        assert!(err.contains("allowed: minmax, standardize, none"), "{err}");
        let err = condition("T=[1,2]").unwrap_err();
        assert!(err.contains("sequence"), "{err}");
        assert!(condition("T=null").unwrap_err().contains("not a value"));
        assert!(condition("T").unwrap_err().contains("expected PATH=VALUE"));
        let err = condition("schedule.kindd=cosine").unwrap_err();
        assert!(err.contains("did you mean `schedule.kind`?"), "{err}");
    }
}
