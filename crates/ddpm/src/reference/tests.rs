//! Tests of the dfdx reference network: its size, its weights by name, its time feature.

use dfdx::prelude::*;

use super::*;
use crate::{ModelConfig, TimeEncoding};

#[test]
fn one_hot_network_has_the_posts_parameter_count() {
    // Linear(T,1) + Linear(3,100) + 2 Linear(100,100) + Linear(100,20) + Linear(20,2).
    let steps = 10;
    let want =
        (steps + 1) + (3 * 100 + 100) + 2 * (100 * 100 + 100) + (100 * 20 + 20) + (20 * 2 + 2);
    let model = NoisePredictor::new(&ModelConfig::default(), steps, 0);
    assert_eq!(model.parameter_count(), want);
}

#[test]
fn weights_round_trip_through_named_tensors() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let config = ModelConfig {
            time_encoding: encoding,
            ..ModelConfig::default()
        };
        let source = NoisePredictor::new(&config, 10, 1);
        let mut target = NoisePredictor::new(&config, 10, 2);
        target.load_named_tensors(&source.named_tensors()).unwrap();
        assert_eq!(source.named_tensors(), target.named_tensors());
        let x = source
            .device()
            .tensor_from_vec(vec![0.1, -0.2, 0.3, 0.4], (2, Const::<2>));
        let ts = [1, 10];
        assert_eq!(
            source.forward(x.clone(), &ts).as_vec(),
            target.forward(x, &ts).as_vec()
        );
        let mut wrong = NoisePredictor::new(&config, 20, 2);
        assert!(
            wrong.load_named_tensors(&source.named_tensors()).is_err()
                || encoding == TimeEncoding::Sinusoidal
        );
    }
}

#[test]
fn the_time_feature_selects_its_step() {
    // Rows with the same x and different t must differ only through the table entry.
    let model = NoisePredictor::new(&ModelConfig::default(), 5, 0);
    let x = model
        .device()
        .tensor_from_vec(vec![0.3f32, 0.3, 0.3, 0.3], (2, Const::<2>));
    let out = model.forward(x, &[1, 5]).as_vec();
    assert_ne!(out[0..2], out[2..4]);
    let x = model
        .device()
        .tensor_from_vec(vec![0.3f32, 0.3, 0.3, 0.3], (2, Const::<2>));
    let same = model.forward(x, &[3, 3]).as_vec();
    assert_eq!(same[0..2], same[2..4]);
}
