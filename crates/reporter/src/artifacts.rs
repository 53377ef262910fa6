//! Where the figures get what a run left behind besides its record: its config, samples,
//! loss curve and weights. The runner's store is one source; tests use an in-memory one.

use ddpm::{NamedTensor, Point, RunConfig};

use crate::Result;

/// Read access to the stored artifacts of runs, by run id.
pub trait RunArtifacts {
    /// The run's resolved config.
    fn config(&self, run_id: &str) -> Result<RunConfig>;
    /// The run's samples in data space (empty unless completed).
    fn samples(&self, run_id: &str) -> Result<Vec<Point>>;
    /// The run's `(epoch, loss)` curve.
    fn loss_curve(&self, run_id: &str) -> Result<Vec<(usize, f64)>>;
    /// The run's trained weights.
    fn weights(&self, run_id: &str) -> Result<Vec<NamedTensor>>;
    /// The run's whole record as JSON (versions, kernel path, provenance, host, times),
    /// when the source keeps one; `index.html` shows it in a run's view.
    fn record_json(&self, run_id: &str) -> Result<Option<serde_json::Value>> {
        let _ = run_id;
        Ok(None)
    }
}
