"""Batched Bayesian optimisation in a latent space (minimisation).

Kusner et al.'s protocol with a full GP on a subsample instead of their
sparse GP: the surrogate is scikit-learn's `GaussianProcessRegressor`,

    k(z, z') = c * Matern_5/2(||z - z'|| / l) + white noise,

fitted (marginal likelihood, L-BFGS) to the codes and objective values of a
random subsample of the training strings. One length scale l for all
dimensions: an ARD kernel (one per dimension) took 13 s to fit on 200 codes
of dimension 25 on a busy 2-core CPU, every BO round. Each iteration
proposes a batch of q points by expected improvement with the kriging
believer heuristic (Ginsbourger et al. 2010): pick x_1 = argmax EI, pretend
f(x_1) = mu(x_1), condition the GP on it (kernel hyperparameters fixed),
pick x_2, ... The EI maximiser is a random search over the box spanning
the codes followed by L-BFGS-B from the best candidates. The batch is then evaluated (decoded and
scored by the caller) and added to the data; invalid points (NaN values)
are added with the worst value seen so far, so the GP learns to avoid them.

    EI(z) = E[max(y_best - f(z), 0)] = s (u Phi(u) + phi(u)),
    u = (y_best - m(z)) / s,  m, s: the GP's posterior mean and std.

`run_bayesopt` is this protocol on a trained GrammarRAE: codes are decoded
and scored by the task, several seeds, every proposal written to
bayesopt.json and summarised (`summarise_proposals`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from typing import Callable

import keras
import numpy as np
from absl import logging
from scipy import optimize as scipy_optimize
from scipy import stats
from sklearn import exceptions
from sklearn import gaussian_process
from sklearn.gaussian_process import kernels

from rae_tf import files
from rae_tf.grammar import config as config_lib
from rae_tf.grammar.decoding import stack as decoding
from rae_tf.grammar import tasks

# evaluate(codes (q, d)) -> (values (q,) to minimise, NaN = invalid;
#                            labels: q objects recorded with them, e.g. strings)
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, list]]


@dataclasses.dataclass(frozen=True)
class Batch:
  """One iteration's proposals and what the evaluation returned."""

  codes: np.ndarray  # (q, d)
  values: np.ndarray  # (q,) objective values, NaN for invalid points
  labels: list  # (q,) e.g. the decoded strings


def expected_improvement(mean: np.ndarray, std: np.ndarray,
                         best: float) -> np.ndarray:
  """EI for minimisation, s (u Phi(u) + phi(u)) with u = (best - m) / s."""
  std = np.maximum(std, 1e-12)
  u = (best - mean) / std
  return std * (u * stats.norm.cdf(u) + stats.norm.pdf(u))


def fit_gp(inputs: np.ndarray, targets: np.ndarray,
           seed: int) -> gaussian_process.GaussianProcessRegressor:
  """A GP of the noise-free objective, hyperparameters fitted by ML.

  The kernel c * Matern + white noise is fitted to the data; the returned GP
  models the latent function (kernel c * Matern, the fitted noise as
  `alpha`), so its std shrinks at observed points, which the kriging
  believer relies on.
  """
  scale = max(float(inputs.std(axis=0).mean()), 1e-3)
  kernel = (kernels.ConstantKernel(1.0, (1e-3, 1e3))
            * kernels.Matern(length_scale=scale,
                             length_scale_bounds=(1e-3, 1e4), nu=2.5)
            + kernels.WhiteKernel(1e-2, (1e-6, 1e1)))
  gp = gaussian_process.GaussianProcessRegressor(
      kernel, normalize_y=True, random_state=seed)
  with warnings.catch_warnings():
    # Hyperparameters at their bounds (e.g. a near-constant objective).
    warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
    gp.fit(inputs, targets)
  logging.debug("GP on %d points of dimension %d: %s", len(inputs),
                inputs.shape[1], gp.kernel_)
  return _condition(gp.kernel_.k1, gp.kernel_.k2.noise_level, inputs,
                    targets)


def _condition(kernel, noise: float, inputs: np.ndarray, targets: np.ndarray):
  """A GP with fixed `kernel` and observation noise, conditioned on data."""
  gp = gaussian_process.GaussianProcessRegressor(
      kernel, alpha=max(noise, 1e-8), normalize_y=True, optimizer=None)
  return gp.fit(inputs, targets)


def maximise_expected_improvement(gp, best: float, lower: np.ndarray,
                                  upper: np.ndarray, rng: np.random.Generator,
                                  num_candidates: int = 1000,
                                  num_starts: int = 2,
                                  max_iterations: int = 20) -> np.ndarray:
  """argmax EI over the box [lower, upper]: random search, then L-BFGS-B.

  The gradient is a forward difference computed in one GP call on the d + 1
  points z, z + h e_1, ..., z + h e_d.

  Returns:
    (d,) the best point found.
  """
  dim = len(lower)
  candidates = rng.uniform(lower, upper, size=(num_candidates, dim))
  mean, std = gp.predict(candidates, return_std=True)
  ei = expected_improvement(mean, std, best)
  step = 1e-4 * np.maximum(upper - lower, 1e-6)
  points = np.concatenate([np.zeros((1, dim)), np.diag(step)])  # (d+1, d)

  def negative_ei(z):
    m, s = gp.predict(z[None] + points, return_std=True)
    values = -expected_improvement(m, s, best)
    return values[0], (values[1:] - values[0]) / step

  best_point, best_value = candidates[np.argmax(ei)], -ei.max()
  for start in candidates[np.argsort(-ei)[:num_starts]]:
    result = scipy_optimize.minimize(
        negative_ei, start, jac=True, method="L-BFGS-B",
        bounds=list(zip(lower, upper)),
        options={"maxiter": max_iterations})
    if result.fun < best_value:
      best_point, best_value = result.x, result.fun
  return np.clip(best_point, lower, upper)


def propose_batch(gp, inputs: np.ndarray, targets: np.ndarray,
                  batch_size: int, lower: np.ndarray, upper: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
  """q points by EI with the kriging believer (fantasy y = m(x)).

  Args:
    gp: the GP fitted to (inputs, targets) by `fit_gp`.
    inputs: (n, d) observed codes.
    targets: (n,) observed values (finite).
    batch_size: q.
    lower, upper: (d,) the search box.
    rng: random-search candidates.

  Returns:
    (q, d) proposals.
  """
  proposals = []
  for _ in range(batch_size):
    point = maximise_expected_improvement(gp, float(targets.min()), lower,
                                          upper, rng)
    proposals.append(point)
    believed = float(gp.predict(point[None])[0])
    inputs = np.concatenate([inputs, point[None]])
    targets = np.append(targets, believed)  # the fantasy counts as data
    gp = _condition(gp.kernel, gp.alpha, inputs, targets)
  return np.stack(proposals)


def optimise(evaluate: Evaluate, codes: np.ndarray, values: np.ndarray,
             iterations: int, batch_size: int, seed: int,
             max_points: int = 500) -> list[Batch]:
  """Runs batched BO from known (codes, values); returns every batch.

  Args:
    evaluate: scores a (q, d) batch of codes, see `Evaluate`.
    codes: (N, d) codes of training strings.
    values: (N,) their objective values (NaN entries are dropped).
    iterations: BO rounds.
    batch_size: q, points per round.
    seed: subsample, random search and GP seed.
    max_points: the GP starts from at most this many of the N codes.

  Returns:
    `iterations` Batches, in order.

  Raises:
    ValueError: fewer than 2 finite starting values.
  """
  codes = np.asarray(codes, np.float64)
  values = np.asarray(values, np.float64)
  finite = np.flatnonzero(np.isfinite(values))
  if len(finite) < 2:
    raise ValueError(
        f"Bayesian optimisation needs at least 2 valid starting points; got "
        f"{len(finite)} of {len(values)}")
  rng = np.random.default_rng(seed)
  chosen = rng.choice(finite, size=min(max_points, len(finite)),
                      replace=False)
  inputs, targets = codes[chosen], values[chosen]
  lower, upper = codes.min(axis=0), codes.max(axis=0)
  batches = []
  for iteration in range(iterations):
    gp = fit_gp(inputs, targets, seed)
    proposals = propose_batch(gp, inputs, targets, batch_size, lower, upper,
                              rng)
    new_values, labels = evaluate(proposals)
    new_values = np.asarray(new_values, np.float64)
    batches.append(Batch(proposals, new_values, list(labels)))
    valid = np.isfinite(new_values)
    logging.info("BO iteration %d/%d: %d of %d valid, best %.4g (so far "
                 "%.4g)", iteration + 1, iterations, valid.sum(),
                 len(new_values),
                 np.min(new_values[valid]) if valid.any() else np.nan,
                 min(targets.min(), np.min(new_values[valid], initial=np.inf)))
    inputs = np.concatenate([inputs, proposals])
    targets = np.append(targets,
                        np.where(valid, new_values, targets.max()))
  return batches


def _natural(task: tasks.Task, values: np.ndarray) -> np.ndarray:
  """Objective values (minimised) to the task's scores, and back."""
  return -values if task.higher_is_better else values


def summarise_proposals(strings: list, values: np.ndarray,
                        task: tasks.Task) -> dict:
  """Valid share, average score and top-3 distinct strings of BO proposals.

  Args:
    strings: decoded strings (None if unfinished).
    values: their objective values (NaN if invalid).
    task: for validity and the score's direction.
  """
  valid = [i for i, s in enumerate(strings) if task.is_valid(s)]
  scores = _natural(task, np.asarray(values, np.float64))
  best = {}
  for i in sorted(valid, key=lambda i: values[i]):
    best.setdefault(strings[i], float(scores[i]))
  return {
      "proposals": len(strings),
      "valid_share": len(valid) / max(len(strings), 1),
      "average_score": (float(np.mean(scores[valid])) if valid else None),
      "top3": [{"string": s, "score": v} for s, v in list(best.items())[:3]],
  }


def run_bayesopt(model: keras.Model, symbols, task: tasks.Task,
                 config: config_lib.GrammarConfig, strings: list,
                 codes: np.ndarray, workdir: str) -> dict:
  """BO from a subsample of training codes, `config.bo_seeds` times.

  Writes bayesopt.json (every proposal) and returns the summaries.
  """
  rng = np.random.default_rng(config.seed)
  chosen = rng.choice(len(strings), min(config.bo_train_points, len(strings)),
                      replace=False)
  start_values = np.array([task.objective(strings[i]) for i in chosen])

  def evaluate(batch_codes):
    _, decoded = decoding.decode_codes(model.decoder, batch_codes, symbols)
    return np.array([task.objective(s) for s in decoded]), decoded

  proposals, per_seed = [], []
  for offset in range(config.bo_seeds):
    seed = config.seed + offset
    batches = optimise(
        evaluate, codes[chosen], start_values, config.bo_iterations,
        config.bo_batch, seed=seed, max_points=config.bo_train_points)
    seed_strings = [s for b in batches for s in b.labels]
    seed_values = np.concatenate([b.values for b in batches])
    per_seed.append({"seed": seed, **summarise_proposals(
        seed_strings, seed_values, task)})
    for iteration, batch in enumerate(batches):
      for string, value in zip(batch.labels, batch.values):
        proposals.append({
            "seed": seed, "iteration": iteration + 1, "string": string,
            "score": (None if not np.isfinite(value)
                      else float(_natural(task, value)))})
  files.atomic_write_text(os.path.join(workdir, "bayesopt.json"),
                          json.dumps(proposals, indent=1))
  pooled_values = _natural(task, np.array(
      [np.nan if p["score"] is None else p["score"] for p in proposals]))
  return {"seeds": per_seed,
          "pooled": summarise_proposals([p["string"] for p in proposals],
                                        pooled_values, task),
          "start_points": len(chosen),
          "start_best_score": float(_natural(task, np.nanmin(start_values)))}
