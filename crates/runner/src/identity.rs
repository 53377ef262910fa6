//! Identity: a run is named by the sha256 of its canonical config, a model by the sha256
//! of its config's model part.

use std::fmt;

use ddpm::RunConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What runs and models have in common as entries of the store: a name of 64 lowercase
/// hex digits, which names their directory, their lock file and their temporary
/// directories. The store's locks, atomic writes and stale cleanup work on either.
pub trait EntryId: Clone + fmt::Display + Sized {
    /// Parses a full id: 64 lowercase hex digits.
    fn parse(text: &str) -> Option<Self>;
    /// The hex digits.
    fn as_str(&self) -> &str;
    /// The first twelve digits, enough to tell entries apart in tables.
    fn short(&self) -> &str {
        &self.as_str()[..12]
    }
}

/// The content address of a run: lowercase hex sha256 of
/// `diffsweep-run-v{SEMANTICS_VERSION}\n` followed by [`canonical_json`] of its config.
///
/// Everything that can change a result is in the hash (every config value, defaults
/// filled in, and the version of the training semantics); nothing else is (the sweep's
/// name, comments, key order, `4` versus `4.0`, parameters the schedule ignores).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

/// The content address of a trained model: the same hash over the config's model part
/// ([`RunConfig::model_part`]) under another prefix, `diffsweep-model-v{SEMANTICS_VERSION}\n`,
/// so runs that differ only in how they sample share one model. Written in records and
/// folder names exactly as a [`RunId`] is (64 hex digits), but never mistaken for one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelId(String);

/// The sha256 in hex of `diffsweep-{kind}-v{SEMANTICS_VERSION}\n` followed by
/// [`canonical_json`] of `config`, written into this thread's reused buffer (the prefix is
/// hashed in pieces: the same bytes, the same digest).
fn content_address(kind: &str, config: &RunConfig) -> String {
    thread_local! {
        static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let mut hasher = Sha256::new();
    hasher.update("diffsweep-");
    hasher.update(kind);
    hasher.update("-v");
    hasher.update(itoa::Buffer::new().format(ddpm::SEMANTICS_VERSION));
    hasher.update("\n");
    TEXT.with(|text| {
        let mut text = text.borrow_mut();
        text.clear();
        write_canonical(config, &mut text);
        hasher.update(text.as_bytes());
    });
    let mut digits = [0u8; 64];
    hex::encode_to_slice(hasher.finalize(), &mut digits)
        .expect("a sha256 is 32 bytes, 64 hex digits");
    String::from_utf8(digits.to_vec()).expect("hex digits are ASCII")
}

/// Whether `text` is a full id: 64 lowercase hex digits.
fn is_full_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl RunId {
    /// The id of the run that `config` describes.
    pub fn of(config: &RunConfig) -> RunId {
        RunId(content_address("run", config))
    }

    /// Parses a full id: 64 lowercase hex digits.
    pub fn parse(text: &str) -> Option<RunId> {
        is_full_id(text).then(|| RunId(text.to_string()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first twelve digits, enough to tell runs apart in tables.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl ModelId {
    /// The id of the trained model behind `config`.
    pub fn of(config: &RunConfig) -> ModelId {
        ModelId(content_address("model", &config.model_part()))
    }

    /// Parses a full id: 64 lowercase hex digits.
    pub fn parse(text: &str) -> Option<ModelId> {
        is_full_id(text).then(|| ModelId(text.to_string()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first twelve digits, enough to tell models apart in tables.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl EntryId for RunId {
    fn parse(text: &str) -> Option<RunId> {
        RunId::parse(text)
    }

    fn as_str(&self) -> &str {
        RunId::as_str(self)
    }
}

impl EntryId for ModelId {
    fn parse(text: &str) -> Option<ModelId> {
        ModelId::parse(text)
    }

    fn as_str(&self) -> &str {
        ModelId::as_str(self)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = String;

    fn try_from(text: String) -> Result<RunId, String> {
        RunId::parse(&text).ok_or_else(|| format!("`{text}` is not a run id (64 hex digits)"))
    }
}

impl TryFrom<String> for ModelId {
    type Error = String;

    /// The message is the one records gave before model ids had a type of their own
    /// (`"model"` in a `record.json` was read as a run id), kept word for word.
    fn try_from(text: String) -> Result<ModelId, String> {
        ModelId::parse(&text).ok_or_else(|| format!("`{text}` is not a run id (64 hex digits)"))
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl From<ModelId> for String {
    fn from(id: ModelId) -> String {
        id.0
    }
}

/// The canonical text of a config: [`RunConfig::canonical`] as compact JSON with object
/// keys sorted at every level and numbers in one normal form ([`normalize`]).
///
/// Keys are sorted here rather than by `serde_json`'s map, whose order depends on
/// whether any crate in the build enables its `preserve_order` feature.
pub fn canonical_json(config: &RunConfig) -> String {
    let mut out = String::with_capacity(1024);
    write_canonical(config, &mut out);
    out
}

/// Appends [`canonical_json`] of `config` to `out`.
fn write_canonical(config: &RunConfig, out: &mut String) {
    crate::canonical::write(&config.canonical(), out)
        .expect("a RunConfig is plain data and always serializes");
}

/// Puts every number into one form: a float with an integral value below 2^53 becomes
/// that integer (so `4` and `4.0` agree), `-0.0` becomes `0`, and other floats keep
/// `serde_json`'s shortest round-trip representation.
pub fn normalize(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().expect("checked is_f64");
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            if x.fract() == 0.0 && x.abs() < EXACT {
                Value::from(x as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_one_form() {
        use serde_json::json;
        assert_eq!(normalize(json!(4.0)), json!(4));
        assert_eq!(normalize(json!(-0.0)), json!(0));
        assert_eq!(normalize(json!(0.25)), json!(0.25));
        assert_eq!(
            normalize(json!({"a": [1.0, 1e300]})),
            json!({"a": [1, 1e300]})
        );
    }

    /// The direct writer gives the text of normalising first and then writing sorted,
    /// escapes included.
    #[test]
    fn the_one_pass_writer_matches_normalise_then_sort() {
        use serde_json::json;
        let value = json!({
            "b": [1.0, -0.0, 0.25, 1e300, 9007199254740993.0, -3, 18446744073709551615u64],
            "a": {"z": "plain", "y": "quote \" and \\ and \n and é", "x": null, "w": true},
            "": {"nested": [{"k2": 2.5, "k1": "v"}]}
        });
        let mut ours = String::new();
        crate::canonical::write(&value, &mut ours).unwrap();
        let mut before = String::new();
        write_sorted_as_before(&normalize(value), &mut before);
        assert_eq!(ours, before);
        assert!(ours.starts_with(r#"{"":{"nested":[{"k1":"v","k2":2.5}]},"a":{"w":true"#));
        assert!(ours.contains(r#""b":[1,0,0.25,1e+300,"#), "{ours}");
    }

    /// The writer canonical ids were made with until the one-pass writer replaced it.
    fn write_sorted_as_before(value: &serde_json::Value, out: &mut String) {
        use serde_json::Value;
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write_sorted_as_before(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_sorted_as_before(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    /// Every cell of every committed experiment (and each cell's model part) gets the
    /// text the value-tree writer gives: the ids of every stored run stay.
    #[test]
    fn committed_experiments_keep_their_canonical_text() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let experiment = crate::Experiment::load(&path).unwrap();
            for cell in experiment.cells() {
                for value in [cell.config.canonical(), cell.config.model_part()] {
                    let mut before = String::new();
                    write_sorted_as_before(
                        &normalize(serde_json::to_value(&value).unwrap()),
                        &mut before,
                    );
                    let mut ours = String::new();
                    crate::canonical::write(&value, &mut ours).unwrap();
                    assert_eq!(ours, before, "{}", path.display());
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "only {checked} configs checked");
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let text = canonical_json(&RunConfig::default());
        assert!(text.starts_with("{\"T\":10,\"dataset\":{\"kind\":\"moons\",\"n\":1000"));
    }

    /// The canonical JSON and id of the default config before the sampler keys
    /// (`sampling.method`, `steps`, `spacing`, `eta`) existed.
    const DEFAULT_JSON_BEFORE_SAMPLERS: &str = r#"{"T":10,"dataset":{"kind":"moons","n":1000,"noise":0.05},"model":{"leaky_slope":0.01,"time_encoding":"one_hot"},"sampling":{"n_samples":0,"variance":"posterior"},"scaling":"minmax","schedule":{"beta_end":0.02,"beta_start":0.0001,"cosine_s":0.008,"kind":"polynomial","max_beta":0.99,"power":4,"rescale_to_t":false,"sigmoid_end":3,"sigmoid_start":-3,"sigmoid_tau":1,"zero_terminal_snr":false},"seed":0,"training":{"beta1":0.9,"beta2":0.999,"epochs":5000,"eps":1e-8,"loss_every":10,"lr":0.01,"weight_decay":0.0001}}"#;
    const DEFAULT_ID_BEFORE_SAMPLERS: &str =
        "00806c4a538b342167846699588ec16a9e9edf37392bfb6ded5b2848d8a99c54";

    #[test]
    fn sampler_keys_at_their_defaults_keep_every_id() {
        use ddpm::{SamplerMethod, SamplerVariance, Spacing};
        let default = RunConfig::default();
        assert_eq!(canonical_json(&default), DEFAULT_JSON_BEFORE_SAMPLERS);
        assert_eq!(RunId::of(&default).as_str(), DEFAULT_ID_BEFORE_SAMPLERS);
        // Written out, or chosen so that the sampler ignores them, they change nothing.
        let mut same = Vec::new();
        let mut c = default.clone();
        c.sampling.method = SamplerMethod::Ancestral;
        c.sampling.steps = 0;
        c.sampling.spacing = Spacing::Linspace;
        c.sampling.eta = 0.0;
        same.push(c.clone());
        c.sampling.eta = 0.7; // ancestral sampling has no eta
        same.push(c.clone());
        c.sampling.steps = c.steps; // K = T is every step, whatever the spacing
        c.sampling.spacing = Spacing::Trailing;
        same.push(c.clone());
        for config in same {
            assert_eq!(
                canonical_json(&config),
                DEFAULT_JSON_BEFORE_SAMPLERS,
                "{config:?}"
            );
        }
        // DDIM ignores the ancestral variance.
        let mut a = default.clone();
        a.sampling.method = SamplerMethod::Ddim;
        let mut b = a.clone();
        b.sampling.variance = SamplerVariance::Beta;
        assert_eq!(RunId::of(&a), RunId::of(&b));
        assert_ne!(RunId::of(&a), RunId::of(&default));
    }

    #[test]
    fn ids_parse_and_display() {
        let id = RunId::of(&RunConfig::default());
        assert_eq!(RunId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.to_string().len(), 64);
        assert_eq!(RunId::parse("ABC"), None);
    }
}
