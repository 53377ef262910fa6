"""The post's training loop and sampler in PyTorch: the reference `diffsweep-bench` races.

A faithful copy of the loop in "A practical guide to Diffusion models" (Elflein, 2022):
the same network (one-hot time through Linear(T, 1), then 3-100-100-100-20-2 with
LeakyReLU), full-batch AdamW (lr 1e-2, betas (0.9, 0.999), weight decay 1e-4), the
simplified DDPM loss, and the ancestral sampler, on two moons scaled into [-1, 1] with
the post's polynomial schedule (linspace(0, 0.99, T + 1) ** 4).

It runs as a server so the benchmark can interleave it with diffsweep's own code in one
run: it reads one JSON command per line on stdin and answers one JSON line on stdout.

  {"op": "train", "n": 1000, "T": 10, "epochs": 100}
      -> {"seconds": ...}   wall time of `epochs` epochs of the loop (model kept per n, T)
  {"op": "sample", "n": 1000, "T": 1000}
      -> {"seconds": ...}   wall time of drawing n samples (T reverse steps)
  {"op": "info"}
      -> {"torch": "2.x", "threads": 1}

Install: `pip install torch numpy` (CPU is enough). One thread, as diffsweep runs one
model per core; set before anything else runs.
"""

import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.manual_seed(0)


def moons(n, noise=0.05, seed=0):
    """scikit-learn's make_moons, min-max scaled per axis into [-1, 1]."""
    rng = np.random.default_rng(seed)
    outer = n // 2
    inner = n - outer
    a = np.linspace(0, math.pi, outer)
    b = np.linspace(0, math.pi, inner)
    x = np.concatenate([np.cos(a), 1 - np.cos(b)])
    y = np.concatenate([np.sin(a), 1 - np.sin(b) - 0.5])
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    low, high = points.min(axis=0), points.max(axis=0)
    points = 2 * (points - low) / (high - low) - 1
    return torch.tensor(points, dtype=torch.float32)


class ForwardProcess:
    def __init__(self, betas):
        self.beta = betas
        self.alphas = 1.0 - betas
        self.alpha_bar = torch.cumprod(self.alphas, dim=-1)

    def get_x_t(self, x_0, t):
        eps_0 = torch.randn_like(x_0).to(x_0)
        alpha_bar = self.alpha_bar[t, None]
        mean = (alpha_bar**0.5) * x_0
        std = (1.0 - alpha_bar) ** 0.5
        return eps_0, mean + std * eps_0


class NoisePredictor(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.T = T
        self.t_encoder = nn.Linear(T, 1)
        self.model = nn.Sequential(
            nn.Linear(2 + 1, 100),
            nn.LeakyReLU(inplace=True),
            nn.Linear(100, 100),
            nn.LeakyReLU(inplace=True),
            nn.Linear(100, 100),
            nn.LeakyReLU(inplace=True),
            nn.Linear(100, 20),
            nn.LeakyReLU(inplace=True),
            nn.Linear(20, 2),
        )

    def forward(self, x_t, t):
        t_embedding = self.t_encoder(
            nn.functional.one_hot(t - 1, num_classes=self.T).to(torch.float)
        )
        inp = torch.cat([x_t, t_embedding], dim=1)
        return self.model(inp)


class ReverseProcess(ForwardProcess):
    def __init__(self, betas, model):
        super().__init__(betas)
        self.model = model
        self.T = len(betas) - 1
        self.sigma = (
            (1 - self.alphas)
            * (1 - torch.roll(self.alpha_bar, 1))
            / (1 - self.alpha_bar)
        ) ** 0.5
        self.sigma[1] = 0.0

    def get_x_t_minus_one(self, x_t, t):
        with torch.no_grad():
            t_vector = torch.full(size=(len(x_t),), fill_value=t, dtype=torch.long)
            eps = self.model(x_t, t=t_vector)
            eps *= (1 - self.alphas[t]) / ((1 - self.alpha_bar[t]) ** 0.5)
            mean = 1 / (self.alphas[t] ** 0.5) * (x_t - eps)
            return mean + self.sigma[t] * torch.randn_like(x_t)

    def sample(self, n_samples=1):
        x_t = torch.randn(n_samples, 2)
        for t in range(self.T, 0, -1):
            x_t = self.get_x_t_minus_one(x_t, t=t)
        return x_t


def polynomial_betas(T):
    return torch.linspace(0, 0.99, T + 1) ** 4


class Run:
    """One model, optimiser and data set, kept between commands."""

    def __init__(self, n, T):
        self.X = moons(n)
        self.T = T
        self.fp = ForwardProcess(polynomial_betas(T))
        self.model = NoisePredictor(T=T)
        self.optimizer = torch.optim.AdamW(
            params=self.model.parameters(), lr=1e-2, betas=(0.9, 0.999), weight_decay=1e-4
        )

    def train(self, epochs):
        N = self.X.shape[0]
        for _ in range(epochs):
            with torch.no_grad():
                t = torch.randint(low=1, high=self.T + 1, size=(N,))
                eps_0, x_t = self.fp.get_x_t(self.X, t=t)
            pred_eps = self.model(x_t, t)
            loss = torch.nn.functional.mse_loss(pred_eps, eps_0)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()
        return float(loss.detach())

    def sample(self, n):
        rp = ReverseProcess(polynomial_betas(self.T), self.model)
        return rp.sample(n)


def main():
    runs = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        command = json.loads(line)
        op = command["op"]
        if op == "info":
            reply = {"torch": torch.__version__, "threads": torch.get_num_threads()}
        else:
            key = (command["n"], command["T"])
            if key not in runs:
                runs[key] = Run(*key)
            run = runs[key]
            started = time.perf_counter()
            if op == "train":
                loss = run.train(command["epochs"])
            elif op == "sample":
                loss = float(run.sample(command["n"]).abs().mean())
            else:
                raise ValueError(f"unknown op {op!r}")
            seconds = time.perf_counter() - started
            # The value keeps the work from being skipped; JSON has no NaN.
            reply = {"seconds": seconds, "value": loss if math.isfinite(loss) else None}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
