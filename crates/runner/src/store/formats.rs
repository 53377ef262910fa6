//! The store's file formats: CSV tables (`samples.csv`, `loss.csv`), safetensors weights,
//! JSON files read whole, and the non-finite floats that JSON numbers cannot hold.
//! Everything written here reads back bit for bit.

use std::collections::HashMap;
use std::path::Path;

use ddpm::NamedTensor;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `samples.csv`: `x,y` in data space, one sample a line.
pub(crate) fn samples_csv(samples: &[[f64; 2]]) -> String {
    let mut out = String::from("x,y\n");
    for [x, y] in samples {
        out.push_str(&format!("{x},{y}\n"));
    }
    out
}

/// `loss.csv`: `epoch,loss`, one recorded epoch a line.
pub(crate) fn loss_csv(curve: &[(usize, f64)]) -> String {
    let mut out = String::from("epoch,loss\n");
    for (epoch, loss) in curve {
        out.push_str(&format!("{epoch},{loss}\n"));
    }
    out
}

/// A float as written by `{}` (shortest round trip), with the text in its error.
pub(crate) fn parse_f64(text: &str) -> std::result::Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|err| format!("`{text}`: {err}"))
}

/// A two-column CSV table with its `header`, each line read by `row`; a bad line is
/// [`Error::Corrupt`] with its line number.
pub(crate) fn parse_csv<T>(
    path: &Path,
    text: &str,
    header: &str,
    row: impl Fn(&[&str]) -> std::result::Result<T, String>,
) -> Result<Vec<T>> {
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        return Err(Error::corrupt(
            path,
            format!("the header is not `{header}`"),
        ));
    }
    lines
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != 2 {
                return Err(Error::corrupt(
                    path,
                    format!("line {}: expected 2 fields", i + 2),
                ));
            }
            row(&fields)
                .map_err(|message| Error::corrupt(path, format!("line {}: {message}", i + 2)))
        })
        .collect()
}

/// The safetensors bytes of `weights` (f32, little-endian), with the core's tensor order
/// kept in the header's metadata as `order`.
pub(crate) fn encode_weights(weights: &[NamedTensor]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = weights
        .iter()
        .map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView)> = weights
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            let view = TensorView::new(Dtype::F32, t.shape.clone(), data)
                .expect("a NamedTensor's data has the length its shape implies");
            (t.name.clone(), view)
        })
        .collect();
    let order: Vec<&str> = weights.iter().map(|t| t.name.as_str()).collect();
    let metadata = HashMap::from([(
        "order".to_string(),
        serde_json::to_string(&order).expect("names serialize"),
    )]);
    safetensors::serialize(views, &Some(metadata))
        .expect("in-memory serialization of valid views cannot fail")
}

/// The weights of safetensors `bytes`, in the order `encode_weights` kept (by name for
/// files without it).
pub(crate) fn decode_weights(bytes: &[u8]) -> std::result::Result<Vec<NamedTensor>, String> {
    use safetensors::tensor::{Dtype, SafeTensors};
    let tensors = SafeTensors::deserialize(bytes).map_err(|err| format!("{err:?}"))?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|err| format!("{err:?}"))?;
    let order: Vec<String> = match metadata.metadata().as_ref().and_then(|m| m.get("order")) {
        Some(order) => serde_json::from_str(order).map_err(|err| err.to_string())?,
        None => {
            let mut names: Vec<String> = tensors.names().into_iter().cloned().collect();
            names.sort();
            names
        }
    };
    order
        .into_iter()
        .map(|name| {
            let view = tensors
                .tensor(&name)
                .map_err(|err| format!("{name}: {err:?}"))?;
            if view.dtype() != Dtype::F32 {
                return Err(format!("{name}: expected F32, found {:?}", view.dtype()));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(NamedTensor {
                name,
                shape: view.shape().to_vec(),
                data,
            })
        })
        .collect()
}

/// `loss.csv` (`epoch,loss`) read back exactly as written.
pub(crate) fn parse_loss_csv(path: &Path, text: &str) -> Result<Vec<(usize, f64)>> {
    parse_csv(path, text, "epoch,loss", |fields| {
        let epoch = fields[0].parse::<usize>().map_err(|err| err.to_string())?;
        Ok((epoch, parse_f64(fields[1])?))
    })
}

/// The JSON file at `path`, or `None` when there is none (a run or model not stored).
pub(crate) fn read_json_if_present<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>> {
    let Some(text) = super::reading::read_text_bounded(path, super::reading::MAX_RECORD_BYTES)?
    else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| Error::corrupt(path, err))
}

/// An `f64` that may be non-finite, as JSON: a number, or `"NaN"`, `"inf"`, `"-inf"`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JsonFloat {
    Number(f64),
    Text(String),
}

impl From<f64> for JsonFloat {
    fn from(x: f64) -> JsonFloat {
        if x.is_finite() {
            JsonFloat::Number(x)
        } else {
            JsonFloat::Text(x.to_string())
        }
    }
}

impl JsonFloat {
    fn value<E: serde::de::Error>(self) -> std::result::Result<f64, E> {
        match self {
            JsonFloat::Number(x) => Ok(x),
            JsonFloat::Text(text) => text
                .parse()
                .map_err(|_| E::custom(format!("`{text}` is not a number"))),
        }
    }
}

pub(crate) mod lenient_float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::JsonFloat;

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        value.map(JsonFloat::from).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<JsonFloat>::deserialize(d)?
            .map(JsonFloat::value)
            .transpose()
    }
}

pub(crate) mod lenient_metrics {
    use ddpm::Metrics;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::JsonFloat;

    #[derive(Serialize, Deserialize)]
    struct Stored {
        chamfer: JsonFloat,
        sliced_wasserstein: JsonFloat,
        mmd: JsonFloat,
    }

    pub fn serialize<S: Serializer>(value: &Option<Metrics>, s: S) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|m| Stored {
                chamfer: m.chamfer.into(),
                sliced_wasserstein: m.sliced_wasserstein.into(),
                mmd: m.mmd.into(),
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Metrics>, D::Error> {
        Option::<Stored>::deserialize(d)?
            .map(|m| {
                Ok(Metrics {
                    chamfer: m.chamfer.value()?,
                    sliced_wasserstein: m.sliced_wasserstein.value()?,
                    mmd: m.mmd.value()?,
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_in_order() {
        let weights = vec![
            NamedTensor {
                name: "z.weight".into(),
                shape: vec![2, 2],
                data: vec![1.0, -2.5, f32::MIN_POSITIVE, 4.0],
            },
            NamedTensor {
                name: "a.bias".into(),
                shape: vec![2],
                data: vec![0.5, 7.0],
            },
        ];
        assert_eq!(decode_weights(&encode_weights(&weights)).unwrap(), weights);
    }

    #[test]
    fn non_finite_numbers_survive_json() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Loss(#[serde(with = "lenient_float")] Option<f64>);
        for x in [1.5, f64::INFINITY, f64::NEG_INFINITY] {
            let json = serde_json::to_string(&Loss(Some(x))).unwrap();
            assert_eq!(serde_json::from_str::<Loss>(&json).unwrap(), Loss(Some(x)));
        }
        let nan: Loss =
            serde_json::from_str(&serde_json::to_string(&Loss(Some(f64::NAN))).unwrap()).unwrap();
        assert!(nan.0.unwrap().is_nan());
    }

    #[test]
    fn csv_round_trips_exactly() {
        let samples = vec![[0.1 + 0.2, -1e-300], [f64::MAX, 3.0]];
        let text = samples_csv(&samples);
        let parsed = parse_csv(Path::new("s.csv"), &text, "x,y", |f| {
            Ok([parse_f64(f[0])?, parse_f64(f[1])?])
        })
        .unwrap();
        assert_eq!(parsed, samples);
    }
}
