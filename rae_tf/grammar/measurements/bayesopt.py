"""Bayesian optimisation in a trained model's latent space, as Kusner et al.

One trial (their `run_bo.py`, minimising the task's objective):
  * the GP's data: the codes and objective values of a random subset of
    `train_points` training strings (each trial its own seed and subset);
  * `iterations` rounds: fit the ARD GP (`gp.fit`; hyperparameters warm-
    started from the previous round), propose `batch_size` codes
    (`acquisition.propose_batch`, in the box of the GP's inputs), decode each
    code `draws` times (500 for molecules, 25 for expressions) and keep the
    most frequent valid string (`draws.most_frequent_valid`), score it; a code
    with no valid draw gets the worst objective value of the whole training
    set (molecules) or the task's worst score (expressions, log 1001), as
    theirs; the proposals join the GP's data.
Every proposal is written to bayesopt.json (trial, iteration, code, string,
valid draws, score), and `summarise_trials` computes what their
`get_final_results.py` reports, per trial then across trials:
  % valid        valid proposals / (iterations x batch size);
  average score  mean score of the valid proposals;
  top 3          the three best of the per-trial best scores.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable, Optional

import keras
import numpy as np
from absl import logging

from rae_tf import files
from rae_tf.grammar.decoding import draws as draws_lib
from rae_tf.grammar.measurements import acquisition
from rae_tf.grammar.measurements import gp as gp_lib
from rae_tf.grammar.measurements import intervals

FIRST_FIT_ITERATIONS = 100  # L-BFGS-B iterations of the first GP fit
REFIT_ITERATIONS = 20  # of the warm-started refits

# evaluate(codes (q, d)) -> (objective values (q,), NaN = invalid; per
# proposal dicts recorded with them, e.g. {"string", "valid_draws"}).
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, list[dict]]]


def run_trial(evaluate: Evaluate, codes: np.ndarray, values: np.ndarray,
              iterations: int, batch_size: int, worst_value: float,
              rng: np.random.Generator) -> list[dict]:
  """One BO trial from known (codes, values); returns every proposal.

  Args:
    evaluate: scores a (q, d) batch of codes, see `Evaluate`.
    codes: (n, d) the GP's starting codes.
    values: (n,) their objective values (finite).
    iterations: rounds.
    batch_size: q, proposals per round.
    worst_value: the objective value an invalid proposal is given.
    rng: the trial's generator (grid, likelihood subset).

  Returns:
    iterations * q dicts: {"iteration", "code", "objective" (None if
    invalid), **what evaluate recorded}.
  """
  inputs = np.asarray(codes, np.float64)
  targets = np.asarray(values, np.float64)
  surrogate, proposals = None, []
  for iteration in range(1, iterations + 1):
    surrogate = gp_lib.fit(
        inputs, targets, rng, start=surrogate,
        max_iterations=(FIRST_FIT_ITERATIONS if surrogate is None
                        else REFIT_ITERATIONS))
    batch = acquisition.propose_batch(surrogate, batch_size,
                                      inputs.min(axis=0), inputs.max(axis=0),
                                      rng)
    objective, records = evaluate(batch)
    valid = np.isfinite(objective)
    for code, value, record in zip(batch, objective, records):
      proposals.append({"iteration": iteration, "code": code.tolist(),
                        "objective": float(value) if np.isfinite(value)
                        else None, **record})
    logging.info("BO round %d/%d: %d of %d valid, best %.4g", iteration,
                 iterations, valid.sum(), len(valid),
                 np.min(objective[valid]) if valid.any() else np.nan)
    inputs = np.concatenate([inputs, batch])
    targets = np.append(targets, np.where(valid, objective, worst_value))
  return proposals


def summarise_trials(trials: list[list[dict]], proposals_per_trial: int,
                     higher_is_better: bool) -> dict:
  """Kusner et al.'s `get_final_results.py` metrics, with 95% intervals.

  Args:
    trials: per trial, its proposals with "score" (None if invalid) and
      "string".
    proposals_per_trial: iterations x batch size.
    higher_is_better: the direction of the scores.

  Returns:
    {"valid_share", "average_score": mean_interval over trials (the
    average only over trials with a valid proposal), "top3": the three
    best per-trial bests [{"trial", "string", "score"}], "per_trial"}.
  """
  sign = 1.0 if higher_is_better else -1.0
  per_trial = []
  for index, proposals in enumerate(trials):
    valid = [p for p in proposals if p["score"] is not None]
    best = max(valid, key=lambda p: sign * p["score"]) if valid else None
    per_trial.append({
        "trial": index,
        "valid_share": len(valid) / proposals_per_trial,
        "average_score": (float(np.mean([p["score"] for p in valid]))
                          if valid else None),
        "best": ({"string": best["string"], "score": best["score"]}
                 if best else None)})
  bests = sorted((t for t in per_trial if t["best"]),
                 key=lambda t: -sign * t["best"]["score"])
  return {
      "valid_share": intervals.mean_interval(
          [t["valid_share"] for t in per_trial]),
      "average_score": intervals.mean_interval(
          [t["average_score"] for t in per_trial]),
      "top3": [{"trial": t["trial"], **t["best"]} for t in bests[:3]],
      "per_trial": per_trial,
  }


def run_bayesopt(decoder: keras.Model, symbols, task, train_strings: list,
                 train_codes: np.ndarray, workdir: str, trials: int,
                 iterations: int, batch_size: int, train_points: int,
                 seed: int, train_objective: Optional[np.ndarray] = None
                 ) -> tuple[dict, list[dict]]:
  """`trials` BO trials on a trained decoder; writes bayesopt.json.

  Args:
    decoder: (B, d) -> (B, T, S) logits.
    symbols: decodes logits (`symbols.RuleSymbols`, ...).
    task: a `tasks.Task` (validity, objective, draws, worst score).
    train_strings: the training strings (their objective values are the
      GP's targets; the worst of them is the invalid penalty for molecules).
    train_codes: (N, d) their codes.
    workdir: where bayesopt.json goes.
    trials, iterations, batch_size, train_points: the protocol.
    seed: trial t uses the generator seeded (seed, t).
    train_objective: (N,) precomputed objective values of train_strings.

  Returns:
    (`summarise_trials` of the trials, plus "seconds_per_trial",
    "start_points" and the protocol's numbers; every proposal, as in
    bayesopt.json).
  """
  if train_objective is None:
    train_objective = np.array([task.objective(s) for s in train_strings])
  worst_value = (task.objective_of_score(task.worst_score)
                 if task.worst_score is not None
                 else float(np.nanmax(train_objective)))
  all_trials, seconds = [], []
  for trial in range(trials):
    start = time.perf_counter()
    rng = np.random.default_rng([seed, trial])
    decode_rng = np.random.default_rng([seed, trial, 1])

    def evaluate(codes):
      strings = draws_lib.decode_codes(decoder, codes, symbols, decode_rng,
                                       task.draws)
      chosen = [draws_lib.most_frequent_valid(row, task.is_valid)
                for row in strings]
      objective = np.array([np.nan if s is None else task.objective(s)
                            for s, _ in chosen])
      return objective, [{"string": s, "valid_draws": n} for s, n in chosen]

    subset = rng.choice(len(train_strings),
                        min(train_points, len(train_strings)), replace=False)
    proposals = run_trial(evaluate, train_codes[subset],
                          train_objective[subset], iterations, batch_size,
                          worst_value, rng)
    for proposal in proposals:
      proposal["trial"] = trial
      proposal["score"] = (None if proposal["objective"] is None
                           else task.score_of_objective(proposal["objective"]))
    all_trials.append(proposals)
    seconds.append(time.perf_counter() - start)
    logging.info("BO trial %d/%d: %.0f s", trial + 1, trials, seconds[-1])
  proposals = [p for trial_proposals in all_trials for p in trial_proposals]
  files.atomic_write_text(os.path.join(workdir, "bayesopt.json"),
                          json.dumps(proposals, indent=1))
  summary = summarise_trials(all_trials, iterations * batch_size,
                             task.higher_is_better)
  return {**summary, "seconds_per_trial": seconds,
          "start_points": int(min(train_points, len(train_strings))),
          "trials": trials, "iterations": iterations,
          "batch_size": batch_size, "draws": task.draws,
          "invalid_objective": worst_value}, proposals
