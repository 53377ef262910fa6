//! Stored weights back into the dfdx network, checking names and shapes.

use dfdx::prelude::*;

use crate::{
    config::MAX_STEPS,
    init::{Body, DfdxNetwork, NoisePredictor},
    named_tensor::NamedTensor,
    Error, Result,
};

impl<const F: usize> Body<F, f32, Cpu> {
    /// Overwrites every layer's parameters from `named`.
    fn load_named_tensors(&mut self, named: &[NamedTensor]) -> Result<()> {
        load(named, "input_x.weight", &mut self.input_x.weight)?;
        load(named, "input_x.bias", &mut self.input_x.bias)?;
        load(named, "input_t.weight", &mut self.input_t)?;
        load(named, "l2.weight", &mut self.l2.weight)?;
        load(named, "l2.bias", &mut self.l2.bias)?;
        load(named, "l3.weight", &mut self.l3.weight)?;
        load(named, "l3.bias", &mut self.l3.bias)?;
        load(named, "l4.weight", &mut self.l4.weight)?;
        load(named, "l4.bias", &mut self.l4.bias)?;
        load(named, "l5.weight", &mut self.l5.weight)?;
        load(named, "l5.bias", &mut self.l5.bias)
    }
}

/// Overwrites `t` with the tensor `name` of `named`, checking its shape.
fn load<S: Shape>(named: &[NamedTensor], name: &str, t: &mut Tensor<S, f32, Cpu>) -> Result<()> {
    let shape: Vec<usize> = t.shape().concrete().into_iter().collect();
    let found = named
        .iter()
        .find(|n| n.name == name)
        .ok_or_else(|| Error::WeightMismatch(format!("missing tensor `{name}`")))?;
    if found.shape != shape || found.data.len() != t.shape().num_elements() {
        return Err(Error::WeightMismatch(format!(
            "`{name}` has shape {:?}, the model needs {shape:?}",
            found.shape
        )));
    }
    t.copy_from(&found.data);
    Ok(())
}

impl NoisePredictor {
    /// Overwrites every parameter from `named`, checking names and shapes.
    pub fn load_named_tensors(&mut self, named: &[NamedTensor]) -> Result<()> {
        let steps = self.steps;
        match &mut self.network {
            DfdxNetwork::OneHot(net) => {
                let table = named
                    .iter()
                    .find(|n| n.name == "time.weight")
                    .ok_or_else(|| Error::WeightMismatch("missing tensor `time.weight`".into()))?;
                if table.shape != [steps] || table.data.len() != steps {
                    return Err(Error::WeightMismatch(format!(
                        "`time.weight` has shape {:?}, the model needs [{steps}]",
                        table.shape
                    )));
                }
                let mut full = vec![0.0f32; MAX_STEPS];
                full[..steps].copy_from_slice(&table.data);
                net.time_table.copy_from(&full);
                load(named, "time.bias", &mut net.time_bias)?;
                net.body.load_named_tensors(named)
            }
            DfdxNetwork::Sinusoidal(net) => net.body.load_named_tensors(named),
        }
    }

    /// The number of trainable parameters the run actually uses.
    pub fn parameter_count(&self) -> usize {
        self.named_tensors().iter().map(|t| t.data.len()).sum()
    }
}
