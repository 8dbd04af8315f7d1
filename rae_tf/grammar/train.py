"""Orchestration of one GrammarRAE run, into a work directory.

strings -> one-hot sequences -> fit -> ex-post GMM -> metrics -> BO.

The work directory of a run holds:
  config.json, flags.txt         the configuration (flags.txt is a flagfile)
  checkpoints/best.weights.h5    the best-validation weights (restored)
  samplers/{gaussian,gmm}.npz    ex-post densities of the training codes
  samples/{prior,gmm}.txt        decoded samples, one per line ("<invalid>"
                                 marks an unfinished derivation)
  bayesopt.json                  every BO proposal: seed, iteration, string,
                                 score
  results.json                   losses, reconstruction accuracy, valid
                                 shares, molecule metrics, BO summary,
                                 timings (written last)

Metrics:
  reconstruction_accuracy  share of held-out strings whose greedy decoding
                           reproduces the string exactly;
  valid[source]            share of greedy decodings of `num_samples` codes
                           drawn from N(0, I) ("prior") or from the ex-post
                           GMM ("gmm") that are valid strings of the task;
  molecule_metrics[source] molecules only (else None): MOSES's valid,
                           unique, unique@1000/10000, novelty (against the
                           training strings), IntDiv1/2 and the W1 distances
                           of logP, SA, QED and weight to the held-out
                           strings, of the same samples (`molecule_metrics`);
  bayesopt                 per seed: the valid share of the proposals, their
                           average score and the top 3 distinct strings;
                           pooled over seeds: the same.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import callbacks as callbacks_lib
from rae_tf import errors
from rae_tf import files
from rae_tf import precision
from rae_tf.baselines import prior
from rae_tf import sampler as sampler_lib
from rae_tf.grammar.measurements import bayesopt
from rae_tf.grammar import config as config_lib
from rae_tf.grammar.decoding import stack as decoding
from rae_tf.grammar.measurements import learning_curve
from rae_tf.grammar.models import autoencoders as models
from rae_tf.grammar.languages import sequence_length
from rae_tf.grammar import tasks

_ENCODE_BATCH = 500
_SAMPLES_WRITTEN = 100
_INVALID = "<invalid>"


class EncodingError(errors.UserError, ValueError):
  """Too few of the input strings can be encoded to train on."""


def encode_all(model: keras.Model, sequences: np.ndarray) -> np.ndarray:
  """(N, d) float32 codes of (N, T, S) one-hot sequences (VAEs: the means)."""
  return np.concatenate(
      [model.encode(sequences[i:i + _ENCODE_BATCH], training=False).numpy()
       for i in range(0, len(sequences), _ENCODE_BATCH)])


def split(count: int, test_fraction: float,
          seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Shuffled (train, test) index arrays; each split gets at least one."""
  order = np.random.default_rng(seed).permutation(count)
  test_count = min(max(1, round(count * test_fraction)), count - 1)
  return order[test_count:], order[:test_count]


def reconstruction_accuracy(model: keras.Model, sequences: np.ndarray,
                            symbols) -> float:
  """Share of (N, T, S) sequences whose codes decode (greedily) to their
  own string; the truth is the one-hot input decoded the same way."""
  _, truth = symbols.decode(sequences)
  _, decoded = decoding.decode_codes(model.decoder,
                                     encode_all(model, sequences), symbols)
  return float(np.mean([d == t for d, t in zip(decoded, truth)]))


def _source(config: config_lib.GrammarConfig) -> str:
  """Where the strings came from, for messages: " in <file>" or ""."""
  return f" in {config.smiles_file}" if config.smiles_file else ""


def _batches(sequences: np.ndarray, batch_size: int) -> tf.data.Dataset:
  return tf.data.Dataset.from_tensor_slices(sequences).batch(batch_size)


def valid_share(strings: list, task: tasks.Task) -> float:
  return float(np.mean([task.is_valid(s) for s in strings]))


def _write_samples(path: str, strings: list) -> None:
  files.atomic_write_text(path, "".join(
      f"{_INVALID if s is None else s}\n" for s in strings[:_SAMPLES_WRITTEN]))


def run(config: config_lib.GrammarConfig, workdir: str,
        overwrite: bool = False) -> dict:
  """Trains `config` into `workdir` and returns what results.json holds.

  Raises:
    errors.UserError subclasses: bad work directory, unreadable data, too
      few encodable strings, a density fit failure, a non-finite loss.
  """
  start = time.perf_counter()
  precision.use_policy(config.precision)
  files.prepare_workdir(workdir, overwrite)
  files.atomic_write_text(os.path.join(workdir, "config.json"),
                          config.to_json())
  files.atomic_write_text(os.path.join(workdir, "flags.txt"),
                          config.to_flagfile())
  keras.utils.set_random_seed(config.seed)
  task = tasks.TASKS[config.task]
  symbols = tasks.SYMBOLS[models.MODELS[config.model].symbols](config.task)

  raw = task.load(config)
  length_choice = None
  if config.length_percentile is not None:
    try:
      symbols, length_choice = sequence_length.choose(
          symbols, raw, config.length_percentile)
    except ValueError:
      raise EncodingError(
          f"none of the {len(raw)} {config.task} strings{_source(config)} "
          f"can be encoded for --model={config.model}; give other strings"
      ) from None
    logging.info(
        "sequence length %d: percentile %g of %d strings' lengths (longest "
        "%d); %d longer strings are dropped", length_choice.length,
        length_choice.percentile, length_choice.measured,
        length_choice.longest, length_choice.dropped)
  sequences, kept = symbols.one_hot(raw)
  strings = [raw[i] for i in kept]
  logging.info("%s: encoded %d of %d strings as %s sequences of length %d",
               config.task, len(strings), len(raw),
               models.MODELS[config.model].symbols, symbols.sequence_length)
  if len(strings) < 2:
    raise EncodingError(
        f"only {len(strings)} of {len(raw)} {config.task} strings"
        f"{_source(config)} can be encoded for --model={config.model} as "
        f"sequences of {symbols.sequence_length} symbols (see the warning "
        "above); give more or other strings")
  train_index, test_index = split(len(strings), config.test_fraction,
                                  config.seed)
  train, test = sequences[train_index], sequences[test_index]

  model = models.build_model(config, symbols.sequence_length, symbols.allowed)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
  best = callbacks_lib.BestWeightsCheckpoint(
      os.path.join(workdir, "checkpoints", "best.weights.h5"))
  os.makedirs(os.path.join(workdir, "checkpoints"), exist_ok=True)
  curve = learning_curve.ValidShareCurve(
      train, symbols, task.is_valid, config.gmm_components,
      config.curve_samples, config.seed) if config.curve_samples else None
  fit_start = time.perf_counter()
  history = model.fit(
      train, batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
      validation_data=_batches(test, config.batch_size),
      verbose=1 if sys.stdout.isatty() else 2,
      callbacks=[callbacks_lib.NonFiniteLossGuard(),
                 keras.callbacks.ReduceLROnPlateau(
                     monitor="val_loss", factor=0.5, patience=5, verbose=1),
                 best, *([curve] if curve else [])])
  fit_seconds = time.perf_counter() - fit_start
  if best.best_epoch is None:
    raise errors.NonFiniteLossError(
        "the validation loss was never finite; lower --learning_rate and run "
        "again")
  model.load_weights(best.path)

  codes = encode_all(model, train)
  densities = model.ex_post_densities(
      codes, min(config.gmm_components, len(codes)), config.seed)
  os.makedirs(os.path.join(workdir, "samplers"), exist_ok=True)
  for name, mixture in densities.items():
    mixture.save(os.path.join(workdir, "samplers", f"{name}.npz"))
  sources = {"prior": prior.standard_normal(config.latent_dim),
             "gmm": densities["gmm"]}
  os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)
  valid, decoded = {}, {}
  for name, mixture in sources.items():
    sampled = sampler_lib.MixtureSampler.from_mixture(mixture).sample(
        config.num_samples, config.seed).numpy()
    _, decoded[name] = decoding.decode_codes(model.decoder, sampled, symbols)
    valid[name] = valid_share(decoded[name], task)
    _write_samples(os.path.join(workdir, "samples", f"{name}.txt"),
                   decoded[name])
  logging.info("valid decodings: %s", valid)
  train_strings = [strings[i] for i in train_index]
  sample_metrics = None
  if task.molecule_metrics is not None:
    sample_metrics = task.molecule_metrics(
        decoded, train_strings, [strings[i] for i in test_index])
    logging.info("molecule metrics: %s", sample_metrics)

  accuracy = reconstruction_accuracy(model, test, symbols)
  test_losses = {name: float(value) for name, value in model.evaluate(
      _batches(test, config.batch_size), verbose=0, return_dict=True).items()}
  bo = None
  if config.bo_iterations:
    bo = bayesopt.run_bayesopt(model, symbols, task, config, train_strings,
                               codes, workdir)

  results = {
      "run_name": config.run_name,
      "config": json.loads(config.to_json()),
      "strings": {"read": len(raw), "encoded": len(strings),
                  "train": len(train), "test": len(test)},
      "sequence_length": symbols.sequence_length,
      "sequence_length_choice": (dataclasses.asdict(length_choice)
                                 if length_choice else None),
      "symbols": len(symbols.allowed),
      "parameters": int(model.count_params()),
      "best_epoch": best.best_epoch + 1,
      "final_train": {k: float(v[-1]) for k, v in history.history.items()
                      if not k.startswith("val_") and k != "learning_rate"},
      "test": test_losses,
      "reconstruction_accuracy": accuracy,
      "valid": valid,
      "molecule_metrics": sample_metrics,
      "bayesopt": bo,
      "learning_curve": curve.points if curve else None,
      "fit_seconds": fit_seconds,
      "wall_time_seconds": time.perf_counter() - start,
  }
  files.atomic_write_text(os.path.join(workdir, "results.json"),
                          json.dumps(results, indent=2, sort_keys=True))
  return results


