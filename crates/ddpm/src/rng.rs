//! Independent random streams derived from a run's one seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator every part of a run draws from.
pub type StreamRng = ChaCha8Rng;

/// The purposes that get their own stream, so that changing how much one part draws
/// (say, more sampling points) leaves every other part's numbers unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The training set.
    Data,
    /// The initial weights.
    Weights,
    /// The steps `t` and noise `eps` drawn during training.
    Training,
    /// The initial noise `x_T` and the noise of every reverse step.
    Sampling,
    /// The second draw of the data set that defines the noise floor.
    NoiseFloor,
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Data => 1,
            Stream::Weights => 2,
            Stream::Training => 3,
            Stream::Sampling => 4,
            Stream::NoiseFloor => 5,
        }
    }
}

/// The generator of `stream` under `seed`: ChaCha8 keyed by the seed, on the stream's own
/// 64-bit ChaCha stream number, so streams never overlap.
pub fn stream(seed: u64, stream: Stream) -> StreamRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream.id());
    rng
}

/// A 64-bit seed for libraries that take one (dfdx's device), drawn from `stream`.
pub fn derived_seed(seed: u64, which: Stream) -> u64 {
    use rand::RngCore;
    stream(seed, which).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, Stream::Data), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, Stream::Data), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, Stream::Training), |r, _| Some(r.next_u64()))
            .collect();
        let d: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(8, Stream::Data), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
