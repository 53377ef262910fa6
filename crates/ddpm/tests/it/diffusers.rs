//! Conformance with Hugging Face diffusers: golden values that
//! `scripts/diffusers-fixture.py` wrote with diffusers 0.42.1 and torch (see its docstring
//! to rerun it) into `fixtures/diffusers.json`. This test needs no Python.
//!
//! diffusers keeps `alphas_cumprod` in float32 and runs DPM-Solver++ in float32, so values
//! agree to a float32 tolerance, not bit for bit.

use ddpm::sample::{timesteps, DataRange, ReverseProcess};
use ddpm::schedule::{rescale_zero_terminal_snr, Schedule};
use ddpm::{
    Clip, Point, Prediction, SamplerMethod, SamplingConfig, ScheduleConfig, ScheduleKind, Spacing,
};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/diffusers.json");

/// Relative to `max(1, |want|)`: float32 state after ten steps of float32 coefficients.
const TOLERANCE: f64 = 2e-4;

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("the fixture is JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn points(value: &Value) -> Vec<Point> {
    value
        .as_array()
        .expect("an array of points")
        .iter()
        .map(|p| {
            let p = floats(p);
            [p[0], p[1]]
        })
        .collect()
}

fn spacing(name: &str) -> Spacing {
    match name {
        "linspace" => Spacing::Linspace,
        "leading" => Spacing::Leading,
        "trailing" => Spacing::Trailing,
        other => panic!("unknown spacing {other}"),
    }
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs().max(1.0)
}

#[test]
fn timestep_tables_are_diffusers_plus_one() {
    let fixture = fixture();
    let tables = fixture["timesteps"].as_array().unwrap();
    assert!(tables.len() >= 18);
    for table in tables {
        let (t, k) = (
            table["T"].as_u64().unwrap() as usize,
            table["K"].as_u64().unwrap() as usize,
        );
        let s = spacing(table["spacing"].as_str().unwrap());
        let want: Vec<usize> = table["timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize + 1)
            .collect();
        assert_eq!(timesteps(t, k, s), want, "T={t} K={k} {s:?}");
    }
}

#[test]
fn zero_terminal_snr_rescale_matches_diffusers() {
    let fixture = fixture();
    for case in fixture["zero_snr"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut betas_in = vec![0.0];
        betas_in.extend(floats(&case["betas_in"]));
        let want = floats(&case["betas"]);
        let got = rescale_zero_terminal_snr(&betas_in, true);
        assert_eq!(got.len(), want.len() + 1, "{name}");
        assert_eq!(*want.last().unwrap(), 1.0, "{name}");
        for (t, (g, w)) in got[1..].iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 + 1e-9 * w.abs(),
                "{name} t={t}: {g} vs {w}"
            );
        }
        let schedule = Schedule::from_betas(got);
        assert_eq!(*schedule.alpha_bar.last().unwrap(), 0.0, "{name}");
    }
    // The DDPM cases go through the config as a run does.
    for (name, steps) in [("ddpm_linear_T10", 10), ("ddpm_linear_T1000", 1000)] {
        let case = fixture["zero_snr"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        let config = ScheduleConfig {
            kind: ScheduleKind::Ddpm,
            zero_terminal_snr: true,
            zero_terminal_snr_exact: true,
            ..ScheduleConfig::default()
        };
        let schedule = Schedule::new(&config, steps).unwrap();
        for (t, w) in floats(&case["betas"]).iter().enumerate() {
            let g = schedule.betas[t + 1];
            assert!(
                (g - w).abs() <= 1e-12 + 1e-9 * w.abs(),
                "{name} t={t}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn ddim_and_dpm_solver_chains_match_diffusers() {
    let fixture = fixture();
    let chains = fixture["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 20);
    let mut checked = 0;
    for chain in chains {
        let scheduler = chain["scheduler"].as_str().unwrap();
        let prediction = match chain["prediction"].as_str().unwrap() {
            "epsilon" => Prediction::Epsilon,
            "sample" => Prediction::Sample,
            "v_prediction" => Prediction::V,
            other => panic!("unknown prediction {other}"),
        };
        let clip = chain["clip"].as_bool().unwrap();
        let schedule_name = chain["schedule"].as_str().unwrap();
        let mut betas = vec![0.0];
        betas.extend(floats(&fixture["schedules"][schedule_name]["betas"]));
        let schedule = Schedule::from_betas(betas);
        let k = chain["K"].as_u64().unwrap() as usize;
        let sampling = SamplingConfig {
            method: match scheduler {
                "ddim" => SamplerMethod::Ddim,
                "dpmpp_2m" => SamplerMethod::DpmSolverPp2m,
                other => panic!("unknown scheduler {other}"),
            },
            steps: k,
            spacing: spacing(chain["spacing"].as_str().unwrap()),
            // diffusers' clip_sample (DDIM) and thresholding with sample_max_value = 1
            // (DPM-Solver++) both clamp x0 to [-1, 1]: static clipping of min-max data.
            clip: if clip { Clip::Static } else { Clip::None },
            ..SamplingConfig::default()
        };
        let label = format!("{scheduler} {prediction:?} clip={clip} {schedule_name}");
        let process = ReverseProcess::new(&schedule, &sampling, prediction, DataRange::UNIT);
        let visited: Vec<usize> = chain["timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize + 1)
            .collect();
        assert_eq!(process.timesteps(), visited, "{label}");
        let outputs: Vec<Vec<Point>> = chain["model_outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(points)
            .collect();
        let mut index = 0;
        let mut model = |x: &[Point], t: usize, out: &mut Vec<Point>| {
            assert_eq!(t, visited[index], "{label}: steps out of order");
            assert_eq!(x.len(), outputs[index].len());
            out.clear();
            out.extend_from_slice(&outputs[index]);
            index += 1;
        };
        let mut states = Vec::new();
        let mut rng = ddpm::rng::stream(0, ddpm::rng::Stream::Sampling);
        process.run(&mut model, points(&chain["x_T"]), &mut rng, |x| {
            states.push(x.to_vec())
        });
        let want: Vec<Vec<Point>> = chain["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(points)
            .collect();
        assert_eq!(states.len(), want.len(), "{label}");
        for (step, (got, want)) in states.iter().zip(&want).enumerate() {
            for (g, w) in got.iter().zip(want) {
                for axis in 0..2 {
                    assert!(
                        close(g[axis], w[axis], TOLERANCE),
                        "{label} step {step}: {g:?} vs {w:?}"
                    );
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 20);
}
