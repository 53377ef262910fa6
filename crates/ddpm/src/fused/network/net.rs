//! The fused network's parameters: one flat vector, where each layer sits in it, and the
//! named tensors that go in and come out in PyTorch's layout.

use crate::{
    config::{ModelConfig, TimeEncoding},
    fused::isa::Isa,
    named_tensor::NamedTensor,
    time_encoding::{sinusoidal_features, SINUSOIDAL_FEATURES},
    Error, Result,
};

/// Widths of the layers' outputs.
pub(super) const WIDTHS: [usize; 5] = [100, 100, 100, 20, 2];
/// Names of the trunk layers as [`crate::init`] stores them (layer 0 is split).
const TRUNK_NAMES: [&str; 4] = ["l2", "l3", "l4", "l5"];

/// Where one linear layer's parameters sit in the flat vector.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layer {
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    /// Offset of the weight, `inputs x outputs`, row-major (the transpose of PyTorch's).
    pub(super) weight: usize,
    /// Offset of the bias, `outputs` values.
    pub(super) bias: usize,
}

/// The time encoding, with what it needs precomputed.
#[derive(Clone, Debug)]
pub(super) enum Encoding {
    /// The post's `Linear(T, 1)` over `one_hot(t - 1)`: parameters `table` (T entries at
    /// `table`) and a bias (at `table + T`).
    OneHot { table: usize },
    /// Fixed sinusoidal features; row `t` of `features` is step `t`'s (row 0 unused).
    Sinusoidal { features: Vec<f32> },
}

/// The network's parameters in one flat vector, and how to run it.
#[derive(Clone, Debug)]
pub struct FusedNet {
    pub(super) isa: Isa,
    pub(super) slope: f32,
    pub(super) steps: usize,
    pub(super) encoding: Encoding,
    pub(super) layers: [Layer; 5],
    pub(super) params: Vec<f32>,
}

impl FusedNet {
    /// The network for `T = steps` with the parameters in `named` (as
    /// [`crate::init::initial_weights`] draws them), on this CPU's best
    /// instruction set.
    pub fn from_named(config: &ModelConfig, steps: usize, named: &[NamedTensor]) -> Result<Self> {
        Self::from_named_on(Isa::detect(), config, steps, named)
    }

    /// Like [`FusedNet::from_named`], on a chosen instruction set (tests compare them).
    pub fn from_named_on(
        isa: Isa,
        config: &ModelConfig,
        steps: usize,
        named: &[NamedTensor],
    ) -> Result<Self> {
        let features = match config.time_encoding {
            TimeEncoding::OneHot => 1,
            TimeEncoding::Sinusoidal => SINUSOIDAL_FEATURES,
        };
        let mut layers = [Layer {
            inputs: 0,
            outputs: 0,
            weight: 0,
            bias: 0,
        }; 5];
        let mut offset = 0;
        let mut inputs = 2 + features;
        for (layer, outputs) in layers.iter_mut().zip(WIDTHS) {
            *layer = Layer {
                inputs,
                outputs,
                weight: offset,
                bias: offset + inputs * outputs,
            };
            offset += inputs * outputs + outputs;
            inputs = outputs;
        }
        let encoding = match config.time_encoding {
            TimeEncoding::OneHot => {
                let table = offset;
                offset += steps + 1;
                Encoding::OneHot { table }
            }
            TimeEncoding::Sinusoidal => {
                let mut table = vec![0.0; (steps + 1) * SINUSOIDAL_FEATURES];
                for t in 1..=steps {
                    table[t * SINUSOIDAL_FEATURES..][..SINUSOIDAL_FEATURES]
                        .copy_from_slice(&sinusoidal_features(t));
                }
                Encoding::Sinusoidal { features: table }
            }
        };
        let mut net = FusedNet {
            isa,
            slope: config.leaky_slope as f32,
            steps,
            encoding,
            layers,
            params: vec![0.0; offset],
        };
        net.load(named)?;
        Ok(net)
    }

    /// The instruction set the kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The number of diffusion steps the network was built for.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Every parameter in one vector (what AdamW updates).
    pub fn parameter_count(&self) -> usize {
        self.params.len()
    }

    fn load(&mut self, named: &[NamedTensor]) -> Result<()> {
        let find = |name: &str, shape: &[usize]| -> Result<&[f32]> {
            let found = named
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| Error::WeightMismatch(format!("missing tensor `{name}`")))?;
            let count: usize = shape.iter().product();
            if found.shape != shape || found.data.len() != count {
                return Err(Error::WeightMismatch(format!(
                    "`{name}` has shape {:?}, the model needs {shape:?}",
                    found.shape
                )));
            }
            Ok(&found.data)
        };
        let first = self.layers[0];
        let features = first.inputs - 2;
        let (width, x_w, t_w) = (
            first.outputs,
            find("input_x.weight", &[100, 2])?,
            find("input_t.weight", &[100, features])?,
        );
        for j in 0..width {
            self.params[first.weight + j] = x_w[j * 2];
            self.params[first.weight + width + j] = x_w[j * 2 + 1];
            for f in 0..features {
                self.params[first.weight + (2 + f) * width + j] = t_w[j * features + f];
            }
        }
        self.params[first.bias..][..width].copy_from_slice(find("input_x.bias", &[100])?);
        for (layer, name) in self.layers[1..].iter().zip(TRUNK_NAMES) {
            let w = find(&format!("{name}.weight"), &[layer.outputs, layer.inputs])?;
            transpose_into(
                w,
                layer.outputs,
                layer.inputs,
                &mut self.params[layer.weight..],
            );
            self.params[layer.bias..][..layer.outputs]
                .copy_from_slice(find(&format!("{name}.bias"), &[layer.outputs])?);
        }
        if let Encoding::OneHot { table } = self.encoding {
            let steps = self.steps;
            self.params[table..][..steps].copy_from_slice(find("time.weight", &[steps])?);
            self.params[table + steps] = find("time.bias", &[])?[0];
        }
        Ok(())
    }

    /// Every parameter by name, in the layout [`crate::init`] uses (PyTorch's: weights
    /// `(outputs, inputs)`), so stored weights do not depend on the kernels.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let tensor = |name: &str, shape: Vec<usize>, data: Vec<f32>| NamedTensor {
            name: name.to_string(),
            shape,
            data,
        };
        let mut out = Vec::new();
        if let Encoding::OneHot { table } = self.encoding {
            let steps = self.steps;
            out.push(tensor(
                "time.weight",
                vec![steps],
                self.params[table..][..steps].to_vec(),
            ));
            out.push(tensor(
                "time.bias",
                vec![],
                vec![self.params[table + steps]],
            ));
        }
        let first = self.layers[0];
        let (width, features) = (first.outputs, first.inputs - 2);
        let column = |input: usize| -> Vec<f32> {
            (0..width)
                .map(|j| self.params[first.weight + input * width + j])
                .collect()
        };
        let (c0, c1) = (column(0), column(1));
        let x_w = (0..width).flat_map(|j| [c0[j], c1[j]]).collect();
        out.push(tensor("input_x.weight", vec![width, 2], x_w));
        out.push(tensor(
            "input_x.bias",
            vec![width],
            self.params[first.bias..][..width].to_vec(),
        ));
        let mut t_w = vec![0.0; width * features];
        for f in 0..features {
            for (j, v) in column(2 + f).into_iter().enumerate() {
                t_w[j * features + f] = v;
            }
        }
        out.push(tensor("input_t.weight", vec![width, features], t_w));
        for (layer, name) in self.layers[1..].iter().zip(TRUNK_NAMES) {
            let mut w = vec![0.0; layer.inputs * layer.outputs];
            transpose_into(
                &self.params[layer.weight..],
                layer.inputs,
                layer.outputs,
                &mut w,
            );
            out.push(tensor(
                &format!("{name}.weight"),
                vec![layer.outputs, layer.inputs],
                w,
            ));
            let bias = self.params[layer.bias..][..layer.outputs].to_vec();
            out.push(tensor(&format!("{name}.bias"), vec![layer.outputs], bias));
        }
        out
    }
}

/// `out = m^T` for a row-major `rows x cols` matrix `m`.
fn transpose_into(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = m[i * cols + j];
        }
    }
}
