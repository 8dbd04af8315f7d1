"""Kusner et al.'s measurement protocol on one model, each figure labelled.

`measure` fills results.json's measurement sections:
  reconstruction  token, greedy and sampled (10 encodes x 100 draws)
                  accuracy on `reconstruction_strings` test strings
                  (`reconstruction.py`);
  samples[source] for N(0, I) ("prior") and the ex-post GMM ("gmm"):
                  validity (greedy and per draw, `num_samples` codes x the
                  task's draws) and the metrics of a sample set of
                  `metric_samples` valid strings, one sampled decoding per
                  code (molecules: MOSES's metrics and the FCD against the
                  test split; expressions: valid and unique shares);
  real            molecules: the same metrics of `metric_samples` real
                  validation molecules against the same reference, the
                  floor that real data gives;
  bayesopt        `bo_trials` trials (`bayesopt.py`), the metrics of the
                  valid proposals, and "training_scores": the average and
                  the three best scores of the training strings, what the
                  data give before any optimisation.
Each column draws from its own random stream, seeded (seed, column).
`describe` is the protocol line results.json and the tables print.
"""

from __future__ import annotations

import os
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import files
from rae_tf.baselines import prior
from rae_tf.grammar.measurements import bayesopt
from rae_tf.grammar.measurements import molecule_metrics
from rae_tf.grammar.measurements import reconstruction
from rae_tf.grammar.measurements import samples as samples_lib

# Codes drawn per valid sample wanted, at most (a 2% valid share suffices).
CODES_PER_VALID_SAMPLE = 50
SAMPLES_WRITTEN = 1000
INVALID = "<invalid>"
# Random streams, one per column: np.random.default_rng((seed, stream)).
STREAMS = {"reconstruction": 1, "prior": 2, "gmm": 3}


def describe(config, task, test_strings: int) -> dict:
  """The protocol of every measured figure, in words with its numbers."""
  strings = min(test_strings, config.reconstruction_strings or test_strings)
  lines = {
      "reconstruction": (
          f"{strings} test strings x {config.reconstruction_encodes} "
          f"encodings x {config.reconstruction_draws} sampled decodings "
          "(Kusner et al.); greedy and token accuracy on the same strings"),
      "validity": (
          f"{config.num_samples} codes per density: greedy decodings, and "
          f"{task.draws} sampled decodings per code (per-draw share)"),
      "sample_metrics": (
          f"one sampled decoding per code until {config.metric_samples} are "
          f"valid (at most {CODES_PER_VALID_SAMPLE * config.metric_samples} "
          "codes)" + (f"; MOSES metrics and FCD against the {test_strings} "
                      "test molecules" if task.molecules else "")),
      "bayesopt": (
          f"{config.bo_trials} trials x {config.bo_iterations} rounds x "
          f"{config.bo_batch} proposals; exact ARD GP on "
          f"{config.bo_train_points} random training codes per trial; "
          f"{task.draws} sampled decodings per proposal, the most frequent "
          "valid string kept; no valid draw: the worst "
          + ("training value" if task.worst_score is None else
             f"score ({task.worst_score:.3f})")),
  }
  if not config.bo_iterations or not config.bo_trials:
    lines["bayesopt"] = "not run"
  return lines


def losses(model: keras.Model, sequences: np.ndarray,
           batch_size: int) -> dict:
  """Inference-mode loss terms of the model on (N, T, S) sequences."""
  batches = tf.data.Dataset.from_tensor_slices(sequences).batch(batch_size)
  return {name: float(value) for name, value in
          model.evaluate(batches, verbose=0, return_dict=True).items()}


def sample_metrics(strings: list, task, reference) -> dict:
  """MOSES's metrics and the FCD (molecules), or valid / unique shares."""
  if reference is not None:
    return molecule_metrics.metrics_against(strings, reference)
  valid = [s for s in strings if task.is_valid(s)]
  return {"samples": len(strings), "valid_samples": len(valid),
          "valid": len(valid) / max(len(strings), 1),
          "unique": len(set(valid)) / len(valid) if valid else None}


def _write_samples(path: str, strings: list) -> None:
  files.atomic_write_text(path, "".join(
      f"{INVALID if s is None else s}\n" for s in strings[:SAMPLES_WRITTEN]))


def measure_samples(config, workdir: str, data, task, decoder: keras.Model,
                    mixtures: dict, reference) -> dict:
  """{source: {"validity", "metrics"}} for N(0, I) and the ex-post GMM."""
  os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)
  sources = {"prior": prior.standard_normal(config.latent_dim),
             "gmm": mixtures["gmm"]}
  measured = {}
  for name, density in sources.items():
    rng = np.random.default_rng((config.seed, STREAMS[name]))
    codes = samples_lib.draw_codes(density, config.num_samples, config.seed)
    validity = samples_lib.validity(decoder, codes, data.symbols,
                                    task.is_valid, task.draws, rng)
    pool = samples_lib.draw_codes(
        density, CODES_PER_VALID_SAMPLE * config.metric_samples,
        config.seed + 1)
    drawn = samples_lib.sample_set(decoder, pool, data.symbols, task.is_valid,
                                   config.metric_samples, rng)
    _write_samples(os.path.join(workdir, "samples", f"{name}.txt"), drawn)
    measured[name] = {"validity": validity,
                      "metrics": sample_metrics(drawn, task, reference)}
  return measured


def measure_bayesopt(config, workdir: str, data, task, decoder: keras.Model,
                     codes: np.ndarray, reference) -> Optional[dict]:
  """BO trials, the metrics of their valid proposals, the training scores."""
  if not config.bo_iterations or not config.bo_trials:
    return None
  train_strings = data.strings_of(data.train)
  objective = np.array([task.objective(s) for s in train_strings])
  scores = np.array([task.score_of_objective(v) for v in objective])
  best = np.argsort(-scores if task.higher_is_better else scores)
  result, proposals = bayesopt.run_bayesopt(
      decoder, data.symbols, task, train_strings, codes, workdir,
      config.bo_trials, config.bo_iterations, config.bo_batch,
      config.bo_train_points, config.seed, train_objective=objective)
  result["proposal_metrics"] = sample_metrics(
      [p["string"] for p in proposals], task, reference)
  result["training_scores"] = {
      "strings": len(train_strings), "average": float(np.nanmean(scores)),
      "top3": [{"string": train_strings[i], "score": float(scores[i])}
               for i in best[:3]]}
  return result


def measure(config, workdir: str, data, task, model: keras.Model,
            codes: np.ndarray, mixtures: dict, reference) -> dict:
  """Every measurement of the module docstring, as results.json sections,
  with the seconds each took ("measure_seconds")."""
  test = data.sequences[data.test][:config.reconstruction_strings]
  rng = np.random.default_rng((config.seed, STREAMS["reconstruction"]))
  seconds = {}
  start = time.perf_counter()
  measured = {
      "protocol": describe(config, task, len(data.test)),
      "reconstruction": {
          "strings": len(test),
          "token_accuracy": reconstruction.token_accuracy(model, test,
                                                          data.symbols),
          "greedy_accuracy": reconstruction.greedy_accuracy(model, test,
                                                            data.symbols),
          "sampled_accuracy": reconstruction.sampled_accuracy(
              model, test, data.symbols, config.reconstruction_encodes,
              config.reconstruction_draws, rng)},
  }
  seconds["reconstruction"] = time.perf_counter() - start
  logging.info("reconstruction: %s (%.0f s)", measured["reconstruction"],
               seconds["reconstruction"])
  start = time.perf_counter()
  measured["samples"] = measure_samples(config, workdir, data, task,
                                        model.decoder, mixtures, reference)
  measured["real"] = (molecule_metrics.metrics_against(
      data.strings_of(data.validation)[:config.metric_samples], reference)
                      if reference is not None else None)
  seconds["samples"] = time.perf_counter() - start
  logging.info("samples (%.0f s): %s", seconds["samples"],
               {name: sample["validity"]
                for name, sample in measured["samples"].items()})
  start = time.perf_counter()
  measured["bayesopt"] = measure_bayesopt(config, workdir, data, task,
                                          model.decoder, codes, reference)
  seconds["bayesopt"] = time.perf_counter() - start
  measured["measure_seconds"] = seconds
  return measured
