//! Tests of the config: its defaults, validation, canonical form and serialized keys.

use super::*;
use crate::Error;

#[test]
fn defaults_are_the_posts_setup() {
    let c = RunConfig::default();
    assert_eq!(c.dataset.kind, DatasetKind::Moons);
    assert_eq!(c.scaling, Scaling::MinMax);
    assert_eq!(c.schedule.kind, ScheduleKind::Polynomial);
    assert_eq!(c.schedule.power, 4.0);
    assert_eq!(c.training.epochs, 5000);
    assert_eq!(c.training.lr, 1e-2);
    assert_eq!(c.training.weight_decay, 1e-4);
    assert_eq!(c.model.leaky_slope, 0.01);
    c.validate().unwrap();
}

#[test]
fn invalid_values_name_their_key() {
    type Mutation = Box<dyn Fn(&mut RunConfig)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("T", Box::new(|c| c.steps = 0)),
        ("T", Box::new(|c| c.steps = MAX_STEPS + 1)),
        ("dataset.n", Box::new(|c| c.dataset.n = 1)),
        ("dataset.noise", Box::new(|c| c.dataset.noise = -1.0)),
        ("schedule.power", Box::new(|c| c.schedule.power = 0.0)),
        ("schedule.power", Box::new(|c| c.schedule.power = f64::NAN)),
        ("schedule.max_beta", Box::new(|c| c.schedule.max_beta = 1.0)),
        (
            "schedule.beta_end",
            Box::new(|c| c.schedule.beta_end = 1e-5),
        ),
        ("training.epochs", Box::new(|c| c.training.epochs = 0)),
        ("training.lr", Box::new(|c| c.training.lr = 0.0)),
        ("sampling.n_samples", Box::new(|c| c.sampling.n_samples = 1)),
        (
            "sampling.steps",
            Box::new(|c| c.sampling.steps = c.steps + 1),
        ),
        ("sampling.eta", Box::new(|c| c.sampling.eta = -0.1)),
        ("sampling.eta", Box::new(|c| c.sampling.eta = 1.5)),
        ("sampling.eta", Box::new(|c| c.sampling.eta = f64::NAN)),
    ];
    for (key, mutate) in cases {
        let mut c = RunConfig::default();
        mutate(&mut c);
        match c.validate() {
            Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}: expected an error, got {other:?}"),
        }
    }
}

#[test]
fn canonical_form_ignores_unused_schedule_parameters() {
    let mut a = RunConfig::default();
    a.schedule.kind = ScheduleKind::Cosine;
    let mut b = a.clone();
    b.schedule.power = 2.0;
    assert_ne!(a, b);
    assert_eq!(a.canonical(), b.canonical());
    let mut c = RunConfig::default();
    c.schedule.power = 2.0;
    assert_ne!(c.canonical(), RunConfig::default().canonical());
    let mut d = RunConfig::default();
    d.sampling.n_samples = d.dataset.n;
    assert_eq!(d.canonical(), RunConfig::default().canonical());
}

#[test]
fn canonical_form_resets_what_the_sampler_ignores() {
    let base = RunConfig::default();
    // Ancestral sampling has no eta; DDIM no ancestral variance.
    let mut a = base.clone();
    a.sampling.eta = 0.5;
    assert_eq!(a.canonical(), base.canonical());
    let mut ddim = base.clone();
    ddim.sampling.method = SamplerMethod::Ddim;
    let mut b = ddim.clone();
    b.sampling.variance = SamplerVariance::Beta;
    assert_eq!(b.canonical(), ddim.canonical());
    let mut c = ddim.clone();
    c.sampling.eta = 0.5;
    assert_ne!(c.canonical(), ddim.canonical());
    // K = T is every step, written out, whatever the spacing.
    let mut d = base.clone();
    d.sampling.steps = d.steps;
    d.sampling.spacing = Spacing::Trailing;
    assert_eq!(d.canonical(), base.canonical());
    assert_eq!(d.sampling_steps(), 10);
    // With fewer steps the spacing matters.
    let mut e = base.clone();
    e.sampling.steps = 3;
    let mut f = e.clone();
    f.sampling.spacing = Spacing::Leading;
    assert_ne!(e.canonical(), f.canonical());
    assert_eq!(e.sampling_steps(), 3);
}

#[test]
fn sampler_keys_are_left_out_at_their_defaults() {
    // The TOML of the default config, as it was before the sampler keys existed.
    let before = toml::to_string(&RunConfig::default()).unwrap();
    assert!(before.contains("[sampling]\nvariance = \"posterior\"\nn_samples = 0\n"));
    assert!(!before.contains("\nmethod =") && !before.contains("\neta ="));
    let mut c = RunConfig::default();
    c.sampling.method = SamplerMethod::Ddim;
    c.sampling.steps = 4;
    c.sampling.spacing = Spacing::Trailing;
    c.sampling.eta = 0.5;
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("method = \"ddim\"\nsteps = 4\nspacing = \"trailing\"\neta = 0.5\n"));
    assert_eq!(toml::from_str::<RunConfig>(&text).unwrap(), c);
}

#[test]
fn partial_toml_takes_defaults_and_rejects_unknown_keys() {
    let c: RunConfig = toml::from_str("T = 100\n[schedule]\nkind = \"cosine\"\n").unwrap();
    assert_eq!(c.steps, 100);
    assert_eq!(c.schedule.kind, ScheduleKind::Cosine);
    assert_eq!(c.training.epochs, 5000);
    assert!(toml::from_str::<RunConfig>("[schedule]\npowr = 2.0\n").is_err());
}
