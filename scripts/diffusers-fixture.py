#!/usr/bin/env python3
"""Reference fixture from Hugging Face diffusers for the ddpm crate's tests.

Writes crates/ddpm/tests/it/fixtures/diffusers.json (relative to the repository root,
whatever the current directory is): diffusers' own numbers for the pieces of our samplers
that have a diffusers counterpart, so the Rust integration test can compare with them
without Python.

Run it (versions pinned to the ones that produced the committed fixture; only PyPI is
needed, torch's default wheel pulls ~3 GB of nvidia libraries, none of which is used):

    python3 -m venv /tmp/dfx
    /tmp/dfx/bin/pip install diffusers==0.42.1 torch==2.15.0 numpy==2.4.6
    /tmp/dfx/bin/python scripts/diffusers-fixture.py

Everything runs on the CPU and is deterministic (fixed numpy RandomState seeds, sorted
keys, floats written by json as Python's repr, which round-trips float64). Rerunning with
the same versions rewrites the same bytes. One line per chain is printed.

Conventions
-----------
* diffusers' timesteps are 0-based (0..T-1) and are written as they are; our Rust code
  numbers steps 1..T, so the Rust test adds 1.
* Betas are written in diffusers order (index 0 = diffusers timestep 0) as float64.
* Every tensor we pass in (x, model outputs) is torch.float64. diffusers casts
  `trained_betas` to float32 and keeps betas / alphas_cumprod (and, for DPM-Solver, the
  sigmas) in float32, so each chain also records the scheduler's own `alphas_cumprod`
  (widened to float64) to tell a schedule mismatch from a stepping mismatch. The Rust test
  compares with a float32-sized tolerance.
* The "model" is not a network: at step i the model output is model_outputs[i] whatever
  x is. x_T = RandomState(0).standard_normal((6, 2)); model outputs are drawn step by step
  from a fresh RandomState(1), one (6, 2) array per step, scaled by 1.6 for prediction
  "sample" (so some predicted x0 lie outside [-1, 1] and clipping bites), 1.0 otherwise.
  Every chain restarts both generators, so all chains share the same draws.

Top-level keys
--------------
generator, diffusers, torch, numpy: provenance.
zero_snr: {name, betas_in, betas, alphas_cumprod}: betas = diffusers'
    `rescale_zero_terminal_snr` (diffusers.schedulers.scheduling_ddim) of a float64 tensor
    of betas_in, alphas_cumprod = cumprod(1 - betas) in float64. Cases: DDPM linear betas
    np.linspace(1e-4, 0.02, T) for T = 10 and 1000, and the cosine schedule of diffusers'
    `betas_for_alpha_bar(100, alpha_transform_type="cosine")`. That function returns a
    float32 tensor (no dtype argument), so for the cosine case betas_in holds those float32
    values widened to float64 (within ~6e-8 relative of the float64 cosine betas), and the
    rescale is done on exactly those values.
timesteps: {T, K, spacing, timesteps}: DDIMScheduler(num_train_timesteps=T,
    timestep_spacing=spacing, steps_offset=0).set_timesteps(K).timesteps.
schedules: {"ddpm": S, "ddpm_zero_snr": S}, S = {betas, alphas_cumprod: {ddim, dpmpp_2m}}:
    betas (T = 1000, float64) is the list handed to the scheduler as trained_betas in every
    chain of that schedule; alphas_cumprod[scheduler] is that scheduler's own (float32)
    alphas_cumprod after construction, widened to float64. They are kept here once rather
    than in each chain to keep the file small (~0.9 MB otherwise).
chains: {scheduler, prediction, clip, schedule, T, K, spacing, timesteps,
    alphas_cumprod_at, x_T, model_outputs, states, orders, and for dpmpp_2m sigmas}: one
    full K = 10 step chain each; its betas / alphas_cumprod are schedules[schedule].
    timesteps are the 0-based timesteps visited, descending; alphas_cumprod_at the
    scheduler's alphas_cumprod at them; states[i] the sample after step i (states[-1] is
    the final x_0); orders the solver order diffusers used at each step (always 1 for
    DDIM); sigmas (DPM only) the scheduler's K + 1 float32 sigmas sqrt((1 - ab) / ab) it
    steps with, the last one 0.

Schedules: "ddpm" = np.linspace(1e-4, 0.02, 1000); "ddpm_zero_snr" = rescale_zero_terminal_snr
of that in float64 (last beta exactly 1, alphas_cumprod[-1] = 0).

DDIM: DDIMScheduler(num_train_timesteps=1000, trained_betas=betas, prediction_type=p,
clip_sample=clip, clip_sample_range=1.0, set_alpha_to_one=True, steps_offset=0,
thresholding=False, rescale_betas_zero_snr=False, timestep_spacing=S), set_timesteps(10),
then x = step(out_i, t, x, eta=0.0).prev_sample. S = "leading" for "ddpm" (900, ..., 0),
"trailing" for "ddpm_zero_snr" (999, 899, ..., 99; its first step is where alpha_bar = 0).

With clip_sample, DDIM clamps the predicted x0 but (use_clipped_model_output=False, the
default) keeps the epsilon derived from the UNclipped prediction (the model output itself
for "epsilon", (x - sqrt(ab) x0_raw) / sqrt(1 - ab) for "sample", sqrt(ab) v + sqrt(1 - ab) x
for "v_prediction") in the direction term: x_prev = sqrt(ab_prev) clamp(x0) + sqrt(1 -
ab_prev) eps_raw. The final step goes to ab_prev = 1 (set_alpha_to_one).

DPM-Solver++(2M): DPMSolverMultistepScheduler(num_train_timesteps=1000,
trained_betas=betas, solver_order=2, algorithm_type="dpmsolver++", solver_type="midpoint",
lower_order_final=True, prediction_type=p, thresholding=clip, dynamic_thresholding_ratio=0.995,
sample_max_value=1.0, final_sigmas_type="zero", use_karras_sigmas=False,
rescale_betas_zero_snr=(schedule == "ddpm_zero_snr")).
* Clipping: with sample_max_value=1.0 diffusers' dynamic thresholding clamps its s to
  [1, 1], so it is a plain clamp of the predicted x0 to [-1, 1]: what our Rust "static"
  clipping does for min-max scaled data. diffusers' `_threshold_sample` cannot reshape a
  2-D (6, 2) tensor (np.prod of the empty trailing shape is the float 1.0, which
  torch.reshape refuses), so the thresholding chains pass x and model outputs as (6, 2, 1)
  tensors and squeeze the results; the arithmetic is elementwise and unchanged.
* Timesteps: set_timesteps(timesteps=[...]) takes custom timesteps, so our tables are
  passed directly (diffusers then interpolates its sigmas at them, final sigma 0):
  for "ddpm" the linspace table np.round(np.linspace(0, 999, 10)) descending (999, 888,
  ..., 111, 0; DPM's own "linspace" spacing would differ), for "ddpm_zero_snr" the
  trailing table np.round(np.arange(1000, 0, -100)) - 1 (999, 899, ..., 99).
* With rescale_betas_zero_snr=True diffusers rescales (again, in float32; idempotent for
  betas that already end in 1) and then sets alphas_cumprod[-1] = 2**-24 so the first
  sigma is finite; the recorded alphas_cumprod shows it. Orders: 1 at the first step
  (no history), 2 in between, 1 at the last (final_sigmas_type="zero" forces it).
* DPMSolverMultistepScheduler.step casts the sample to float32 before the update (the
  converted model output stays float64), so its chains carry float32 rounding per step.

Precision: a float64 reimplementation of both samplers fed with the scheduler's own
alphas_cumprod (schedules[...].alphas_cumprod) reproduces every state to ~5e-7 relative
(to max(1, |x|)); fed with float64 cumprod(1 - betas) it is within ~2e-5 (DPM, whose
float32 sigmas and logs cost more) and ~5e-6 (DDIM). The zero-SNR tail of the float32
alphas_cumprod is ~1e-6 relative off the float64 one.

Skipped: prediction "epsilon" with "ddpm_zero_snr" (x0 = (x - eps) / 0 at the first
step; our tool refuses that combination). 2 schedulers x (3 x 2 + 2 x 2) = 20 chains.
Every state is checked to be finite; the script fails loudly if one is not.
"""

import json
import math
import os
import sys

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_ddim import betas_for_alpha_bar, rescale_zero_terminal_snr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "ddpm", "tests", "it", "fixtures", "diffusers.json")

N = 6
T = 1000
K = 10
F64 = torch.float64


def floats(a):
    """A (nested) list of Python floats from a tensor or array, widened to float64."""
    if isinstance(a, torch.Tensor):
        a = a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64).tolist()


def zero_snr(betas_np):
    """diffusers' rescale_zero_terminal_snr applied to a float64 tensor."""
    return rescale_zero_terminal_snr(torch.tensor(betas_np, dtype=F64))


def alphas_cumprod64(betas):
    return np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))


def zero_snr_cases():
    cases = []
    inputs = [
        ("ddpm_linear_T10", np.linspace(1e-4, 0.02, 10)),
        ("ddpm_linear_T1000", np.linspace(1e-4, 0.02, 1000)),
        # float32 tensor (the function has no dtype argument), widened to float64.
        ("cosine_T100", betas_for_alpha_bar(100, alpha_transform_type="cosine").to(F64).numpy()),
    ]
    for name, betas_in in inputs:
        betas = zero_snr(betas_in).numpy()
        cases.append(
            {
                "name": name,
                "betas_in": floats(betas_in),
                "betas": floats(betas),
                "alphas_cumprod": floats(alphas_cumprod64(betas)),
            }
        )
    return cases


def timestep_tables():
    tables = []
    for t_train, k in [(1000, 10), (1000, 20), (1000, 50), (100, 7), (10, 10), (1000, 3)]:
        for spacing in ["linspace", "leading", "trailing"]:
            s = DDIMScheduler(num_train_timesteps=t_train, timestep_spacing=spacing, steps_offset=0)
            s.set_timesteps(k)
            tables.append(
                {"T": t_train, "K": k, "spacing": spacing, "timesteps": [int(v) for v in s.timesteps]}
            )
    return tables


def schedule_betas(schedule):
    base = np.linspace(1e-4, 0.02, T)
    if schedule == "ddpm":
        return base
    if schedule == "ddpm_zero_snr":
        return zero_snr(base).numpy()
    raise ValueError(schedule)


def draws(prediction):
    x_t = np.random.RandomState(0).standard_normal((N, 2))
    rs = np.random.RandomState(1)
    scale = 1.6 if prediction == "sample" else 1.0
    outs = [scale * rs.standard_normal((N, 2)) for _ in range(K)]
    return x_t, outs


def ddim_chain(prediction, clip, schedule):
    betas = schedule_betas(schedule)
    spacing = "leading" if schedule == "ddpm" else "trailing"
    s = DDIMScheduler(
        num_train_timesteps=T,
        trained_betas=betas,
        prediction_type=prediction,
        clip_sample=clip,
        clip_sample_range=1.0,
        set_alpha_to_one=True,
        steps_offset=0,
        thresholding=False,
        rescale_betas_zero_snr=False,
        timestep_spacing=spacing,
    )
    s.set_timesteps(K)
    x_t, outs = draws(prediction)
    x = torch.tensor(x_t, dtype=F64)
    states = []
    timesteps = [int(v) for v in s.timesteps]
    for out, t in zip(outs, s.timesteps):
        x = s.step(torch.tensor(out, dtype=F64), t, x, eta=0.0).prev_sample
        assert x.dtype == F64
        states.append(x.clone())
    return {
        "scheduler": "ddim",
        "prediction": prediction,
        "clip": clip,
        "schedule": schedule,
        "T": T,
        "K": K,
        "spacing": spacing,
        "alphas_cumprod_at": floats(s.alphas_cumprod[timesteps]),
        "timesteps": timesteps,
        "x_T": floats(x_t),
        "model_outputs": [floats(o) for o in outs],
        "states": [floats(v) for v in states],
        "orders": [1] * K,
    }, s.alphas_cumprod


def dpm_table(schedule):
    if schedule == "ddpm":
        # "linspace": numpy rounds half to even.
        return np.round(np.linspace(0, T - 1, K))[::-1].astype(np.int64), "linspace"
    # "trailing"
    return (np.round(np.arange(T, 0, -T / K)) - 1).astype(np.int64), "trailing"


def dpm_chain(prediction, clip, schedule):
    betas = schedule_betas(schedule)
    table, spacing = dpm_table(schedule)
    s = DPMSolverMultistepScheduler(
        num_train_timesteps=T,
        trained_betas=betas,
        solver_order=2,
        algorithm_type="dpmsolver++",
        solver_type="midpoint",
        lower_order_final=True,
        prediction_type=prediction,
        thresholding=clip,
        dynamic_thresholding_ratio=0.995,
        sample_max_value=1.0,
        final_sigmas_type="zero",
        use_karras_sigmas=False,
        rescale_betas_zero_snr=(schedule == "ddpm_zero_snr"),
    )
    s.set_timesteps(timesteps=[int(v) for v in table])
    timesteps = [int(v) for v in s.timesteps]
    sigmas = floats(s.sigmas)  # float32, K + 1 values, the last one 0
    assert timesteps == [int(v) for v in table], (timesteps, table)
    if schedule == "ddpm_zero_snr":
        assert float(s.alphas_cumprod[-1]) == 2.0**-24, float(s.alphas_cumprod[-1])
    # _threshold_sample cannot reshape 2-D tensors; a trailing unit axis avoids that.
    shape = (N, 2, 1) if clip else (N, 2)
    x_t, outs = draws(prediction)
    x = torch.tensor(x_t, dtype=F64).reshape(shape)
    states, orders = [], []
    for out, t in zip(outs, s.timesteps):
        orders.append(dpm_order(s))
        x = s.step(torch.tensor(out, dtype=F64).reshape(shape), t, x).prev_sample
        assert x.dtype == F64
        states.append(x.reshape(N, 2).clone())
    return {
        "scheduler": "dpmpp_2m",
        "prediction": prediction,
        "clip": clip,
        "schedule": schedule,
        "T": T,
        "K": K,
        "spacing": spacing,
        "alphas_cumprod_at": floats(s.alphas_cumprod[timesteps]),
        "sigmas": sigmas,
        "timesteps": timesteps,
        "x_T": floats(x_t),
        "model_outputs": [floats(o) for o in outs],
        "states": [floats(v) for v in states],
        "orders": orders,
    }, s.alphas_cumprod


def dpm_order(s):
    """The order DPMSolverMultistepScheduler.step is about to use (mirrors its logic)."""
    c = s.config
    n = len(s.timesteps)
    idx = 0 if s.step_index is None else s.step_index  # first step: index of timesteps[0]
    lower_order_final = idx == n - 1 and (
        c.euler_at_final or (c.lower_order_final and n < 15) or c.final_sigmas_type == "zero"
    )
    lower_order_second = idx == n - 2 and c.lower_order_final and n < 15
    if c.solver_order == 1 or s.lower_order_nums < 1 or lower_order_final:
        return 1
    if c.solver_order == 2 or s.lower_order_nums < 2 or lower_order_second:
        return 2
    return 3


def chains_and_schedules():
    """The chains, and per schedule its float64 betas and each scheduler's alphas_cumprod.

    The 1000-long arrays are kept once per (schedule, scheduler) instead of in every chain
    (that alone would be ~0.9 MB); all chains of one (schedule, scheduler) construct the
    scheduler from the same betas, and the script checks they end with equal alphas_cumprod.
    """
    out = []
    schedules = {}
    for name, make in (("ddim", ddim_chain), ("dpmpp_2m", dpm_chain)):
        for schedule in ("ddpm", "ddpm_zero_snr"):
            entry = schedules.setdefault(
                schedule, {"betas": floats(schedule_betas(schedule)), "alphas_cumprod": {}}
            )
            for prediction in ("epsilon", "sample", "v_prediction"):
                if schedule == "ddpm_zero_snr" and prediction == "epsilon":
                    continue
                for clip in (False, True):
                    chain, acp = make(prediction, clip, schedule)
                    acp = floats(acp)
                    seen = entry["alphas_cumprod"].setdefault(name, acp)
                    assert seen == acp, (name, schedule)
                    out.append(chain)
    return out, schedules


def main():
    torch.set_num_threads(1)
    fixture = {
        "generator": "scripts/diffusers-fixture.py",
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "zero_snr": zero_snr_cases(),
        "timesteps": timestep_tables(),
    }
    fixture["chains"], fixture["schedules"] = chains_and_schedules()
    bad = []
    for c in fixture["chains"]:
        flat = np.asarray(c["states"], dtype=np.float64)
        finite = bool(np.isfinite(flat).all())
        peak = float(np.nanmax(np.abs(flat))) if np.isfinite(flat).any() else math.nan
        print(
            f"{c['scheduler']:8} {c['prediction']:12} clip={str(c['clip']):5} "
            f"{c['schedule']:13} {c['spacing']:8} orders={''.join(map(str, c['orders']))} "
            f"max|state|={peak:.6g}{'' if finite else '  NON-FINITE'}"
        )
        if not finite:
            bad.append(c)
    for z in fixture["zero_snr"]:
        if not np.isfinite(np.asarray(z["betas"])).all():
            bad.append(z["name"])
    if bad:
        sys.exit(f"diffusers-fixture: {len(bad)} chain(s) or case(s) with non-finite values; not written")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, sort_keys=True, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes, {len(fixture['chains'])} chains)")


if __name__ == "__main__":
    main()
